//! Crash points for the guest tests, compiled only with the `test-hooks`
//! feature (`cargo build --profile test-hooks --features test-hooks`). The
//! shipped tool (`make tools`, `cargo build --release -p famfs`) is built
//! without it and has none of this code: setting `FAMFS_TEST_CRASH` does
//! nothing there.
//!
//! `FAMFS_TEST_CRASH=mid-append` aborts an append with half of the entry
//! stored and the header untouched; `after-append` aborts a file creation
//! after its entry is logged and before the file is instantiated.

/// Where to simulate a crash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrashPoint {
    /// Abort with half of a log entry written and the header not updated.
    MidAppend,
    /// Abort after an append, before the file is instantiated.
    AfterAppend,
}

/// The crash point asked for in the environment, if any.
pub fn crash_point() -> Option<CrashPoint> {
    match std::env::var("FAMFS_TEST_CRASH").as_deref() {
        Ok("mid-append") => Some(CrashPoint::MidAppend),
        Ok("after-append") => Some(CrashPoint::AfterAppend),
        _ => None,
    }
}

/// Simulates the crash: says where, then aborts (SIGABRT).
pub fn crash(what: &str) -> ! {
    eprintln!("famfs: FAMFS_TEST_CRASH={what}");
    std::process::abort();
}
