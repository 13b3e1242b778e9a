//! The crash points of the guest tests exist only in a build with the
//! `test-hooks` feature. Without it (what `make tools` and `cargo build
//! --release -p famfs` ship) the binary must not even know the name of the
//! environment variable that triggers them; with it, it must.

const TRIGGER: &[u8] = b"FAMFS_TEST_CRASH";

fn binary_mentions_the_trigger() -> bool {
    let bin = std::fs::read(env!("CARGO_BIN_EXE_famfs")).expect("the famfs binary");
    bin.windows(TRIGGER.len()).any(|w| w == TRIGGER)
}

#[test]
#[cfg(not(feature = "test-hooks"))]
fn the_default_build_has_no_crash_point() {
    assert!(
        !binary_mentions_the_trigger(),
        "{} has crash points: the test-hooks feature leaked into a default build",
        env!("CARGO_BIN_EXE_famfs")
    );
}

#[test]
#[cfg(feature = "test-hooks")]
fn the_test_hooks_build_has_its_crash_points() {
    assert!(binary_mentions_the_trigger());
}
