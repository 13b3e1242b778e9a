//! Compiles small C files that report the sizes, offsets and ioctl numbers
//! of `uapi/famfs_ioctl.h` and `uapi/famfs_kabi44.h` as GCC sees them; the
//! crate's tests compare them with the Rust definitions.

fn main() {
    println!("cargo:rerun-if-changed=layout.c");
    println!("cargo:rerun-if-changed=layout44.c");
    println!("cargo:rerun-if-changed=layout.h");
    println!("cargo:rerun-if-changed=../../uapi/famfs_ioctl.h");
    println!("cargo:rerun-if-changed=../../uapi/famfs_kabi44.h");
    // Any warning (a macro defined twice by the two headers, say) fails
    // the build.
    cc::Build::new()
        .file("layout.c")
        .file("layout44.c")
        .include(".")
        .include("../../uapi")
        .warnings(true)
        .warnings_into_errors(true)
        .compile("famfs_abi_layout");
}
