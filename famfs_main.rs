// SPDX-License-Identifier: GPL-2.0

//! famfs: the fabric-attached memory file system.
//!
//! famfs gives a pool of shared memory (a CXL or pmem dax device that several
//! hosts can map) a file-system face. The module keeps ephemeral, ramfs-like
//! inodes; user space tells it where each file's memory is, and the module
//! serves the data with DAX.
//!
//! This file is the crate root: the module entry point and the modules that
//! make up the file system. (Kbuild names the linked module `famfs.o`, so the
//! crate root cannot be `famfs.rs`.)

use kernel::prelude::*;

mod bindings;
mod dax;
mod file;
pub mod fmap;
mod fmap_kunit;
mod inode;
mod ioctl;
mod iomap;
mod mount;

module! {
    type: FamfsModule,
    name: "famfs",
    authors: ["The famfs-rs developers"],
    description: "famfs: fabric-attached memory file system (Rust implementation)",
    license: "GPL",
    alias: ["fs-famfs"],
}

/// Module state: the file system type stays registered while this lives.
struct FamfsModule {
    _fs: mount::Registration,
}

impl kernel::Module for FamfsModule {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        test_hooks::at_load();
        let fs = mount::Registration::new()?;
        pr_info!("registered (KABI {})\n", ioctl::FAMFS_KABI_VERSION);
        Ok(FamfsModule { _fs: fs })
    }
}

/// Test-only fault injection, selected by the `test_inject` module parameter
/// (default 0: nothing happens). The test harness uses it to prove that a
/// kernel warning, a leak or a failing KUnit case fails a test run.
mod test_hooks {
    use crate::bindings as b;

    /// Acts on the injection bits that take effect at module load.
    pub(crate) fn at_load() {
        let bits = inject_bits();
        if bits & b::FAMFS_GLUE_INJECT_WARN != 0 {
            // SAFETY: Plain C function without preconditions.
            unsafe { b::famfs_glue_inject_warn() };
        }
        if bits & b::FAMFS_GLUE_INJECT_LEAK != 0 {
            // SAFETY: Plain C function without preconditions.
            unsafe { b::famfs_glue_inject_leak() };
        }
    }

    /// The current value of the `test_inject` module parameter.
    pub(crate) fn inject_bits() -> u32 {
        // SAFETY: Reads a module parameter; no preconditions.
        unsafe { b::famfs_glue_test_inject() }
    }
}

#[kunit_tests(famfs_module)]
mod tests {
    use crate::bindings as b;
    use crate::ioctl;

    /// The KABI 43 ioctl numbers, as computed independently with the C
    /// macros' documented encoding (see uapi/famfs_ioctl.h).
    #[test]
    fn ioctl_numbers_match_kabi43() {
        assert_eq!(ioctl::FAMFSIOC_NOP, 0x7553);
        assert_eq!(ioctl::FAMFSIOC_MAP_CREATE, 0x4038_7550);
        assert_eq!(ioctl::FAMFSIOC_MAP_GET, 0x8038_7551);
        assert_eq!(ioctl::FAMFSIOC_MAP_GETEXT, 0x8010_7552);
        assert_eq!(ioctl::FAMFSIOC_MAP_CREATE_V2, 0x4020_7554);
        assert_eq!(ioctl::FAMFSIOC_MAP_GET_V2, 0x81c0_7555);
        assert_eq!(ioctl::FAMFS_KABI_VERSION, 43);
    }

    /// The structures bindgen generated agree with what GCC compiled.
    #[test]
    fn bindgen_layouts_match_gcc() {
        use core::mem::{offset_of, size_of};
        // SAFETY: Pure functions returning constants.
        let (fc, fc_fs_info, fc_ops, iomap, iomap_ops, hops) = unsafe {
            (
                b::famfs_glue_layout(b::famfs_glue_layout_item_FAMFS_GLUE_LAYOUT_FS_CONTEXT),
                b::famfs_glue_layout(
                    b::famfs_glue_layout_item_FAMFS_GLUE_LAYOUT_FS_CONTEXT_S_FS_INFO,
                ),
                b::famfs_glue_layout(b::famfs_glue_layout_item_FAMFS_GLUE_LAYOUT_FS_CONTEXT_OPS),
                b::famfs_glue_layout(b::famfs_glue_layout_item_FAMFS_GLUE_LAYOUT_IOMAP),
                b::famfs_glue_layout(b::famfs_glue_layout_item_FAMFS_GLUE_LAYOUT_IOMAP_OPS),
                b::famfs_glue_layout(b::famfs_glue_layout_item_FAMFS_GLUE_LAYOUT_HOLDER_OPS),
            )
        };
        assert_eq!(size_of::<b::fs_context>(), fc);
        assert_eq!(offset_of!(b::fs_context, s_fs_info), fc_fs_info);
        assert_eq!(offset_of!(b::fs_context, ops), fc_ops);
        assert_eq!(size_of::<b::iomap>(), iomap);
        assert_eq!(size_of::<b::iomap_ops>(), iomap_ops);
        assert_eq!(size_of::<b::dax_holder_operations>(), hops);
    }

    /// Fails on purpose when loaded with `test_inject=4`, so the harness can
    /// show that a failing KUnit case fails `make check`.
    #[test]
    fn injected_failure_switch_is_off() {
        assert_eq!(
            crate::test_hooks::inject_bits() & b::FAMFS_GLUE_INJECT_KUNIT_FAIL,
            0
        );
    }
}
