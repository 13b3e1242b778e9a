//! Compiles a small C file that reports the sizes, offsets and ioctl numbers
//! of `uapi/famfs_ioctl.h` as GCC sees them; the crate's tests compare them
//! with the Rust definitions.

fn main() {
    println!("cargo:rerun-if-changed=layout.c");
    println!("cargo:rerun-if-changed=../../uapi/famfs_ioctl.h");
    cc::Build::new()
        .file("layout.c")
        .include("../../uapi")
        .warnings(true)
        .compile("famfs_abi_layout");
}
