// SPDX-License-Identifier: GPL-2.0

//! The safe layer between famfs and the C kernel: every call into the VFS,
//! DAX, iomap, fs_context and mm code famfs needs, and every C callback it
//! implements, wrapped once, with the C guarantee each `unsafe` relies on.
//!
//! The kernel crate of Linux 7.3 has no file-system abstractions, so this
//! layer is famfs's own, in the style of the kernel crate (typed references
//! over `Opaque` C structures, RAII lock guards, operation tables generated
//! from a trait, `from_result` at every boundary). The famfs logic files
//! (`mount.rs`, `inode.rs`, `file.rs`, `iomap.rs`, `dax.rs`, `ioctl.rs`,
//! `registry.rs`, `fmap.rs`) hold no `unsafe` code at all.
//!
//! Where each C API is wrapped:
//!
//! | file | wraps |
//! | --- | --- |
//! | [`fs`] | `file_system_type`, `fs_context` and its operations, `super_block` and `super_operations`, statfs, `seq_file` options |
//! | [`inode`] | `inode` (sizes, locks, per-file data, reference counts, iteration over a superblock's inodes), `dentry`, `inode_operations`, `iattr` |
//! | [`file`] | `file`, `kiocb`, `iov_iter`, `file_operations`, `vm_area_struct` at mmap time, `vm_fault` and `vm_operations_struct`, `address_space_operations` |
//! | [`iomap`] | `struct iomap` and `iomap_ops`, `dax_iomap_rw`, `dax_iomap_fault` |
//! | [`dax`] | claiming a dax device (`fs_dax_get`, `fs_dax_get_by_bdev`), `dax_holder_operations`, `mf_dax_kill_procs` |
//! | `famfs_glue.c` | what has no Rust form: static inlines and macros (`inode_lock`, `i_size_read`, `filemap_invalidate_lock`, `vm_flags_set`, `list_for_each_entry`...), rate-limit states, module parameters, the sysfs attribute tables |
//!
//! The famfs side implements one trait, [`fs::FileSystem`]; the layer builds
//! the C operation tables from it.

pub(crate) mod dax;
pub(crate) mod file;
pub(crate) mod fs;
pub(crate) mod inode;
pub(crate) mod iomap;

use crate::bindings as b;
use kernel::prelude::*;

/// Whether the current task may do privileged system administration
/// (`CAP_SYS_ADMIN`), as map creation requires.
pub(crate) fn capable_sys_admin() -> bool {
    // SAFETY: `capable()` only inspects the current task's credentials; it
    // may be called from any process context.
    unsafe { b::capable(b::CAP_SYS_ADMIN as kernel::ffi::c_int) }
}

/// Whether the current task has `CAP_SYS_RAWIO` (raw access to devices).
pub(crate) fn capable_sys_rawio() -> bool {
    // SAFETY: `capable()` only inspects the current task's credentials; it
    // may be called from any process context.
    unsafe { b::capable(b::CAP_SYS_RAWIO as kernel::ffi::c_int) }
}

/// Whether a message that user input can trigger may be logged now. Such
/// messages share one rate limit (the kernel's default: 10 lines per 5
/// seconds, after which the kernel logs how many were suppressed), so that a
/// loop of bad requests cannot flood the kernel log.
pub(crate) fn log_allowed() -> bool {
    // SAFETY: `famfs_glue_log_allowed()` tests a static ratelimit state
    // (`__ratelimit`), which takes its own spinlock; callable from any
    // context.
    unsafe { b::famfs_glue_log_allowed() }
}

/// Logs an error that user input can trigger, within [`log_allowed`]'s
/// rate limit.
macro_rules! pr_err_limited {
    ($($arg:tt)*) => {
        if $crate::vfs::log_allowed() {
            ::kernel::prelude::pr_err!($($arg)*);
        }
    };
}
pub(crate) use pr_err_limited;

/// Logs a warning that user input can trigger, within [`log_allowed`]'s
/// rate limit.
macro_rules! pr_warn_limited {
    ($($arg:tt)*) => {
        if $crate::vfs::log_allowed() {
            ::kernel::prelude::pr_warn!($($arg)*);
        }
    };
}
pub(crate) use pr_warn_limited;

/// Test-only fault injection, in the test build only (`make
/// FAMFS_TEST_HOOKS=1`), selected by its `test_inject` module parameter
/// (default 0: nothing happens). The test harness uses it to prove that a
/// kernel warning, a leak, a failing KUnit case, and (on the KASAN kernel)
/// an out-of-bounds access in C or in Rust and undefined behaviour in C each
/// fail a test run.
#[cfg(famfs_test_hooks)]
pub(crate) mod test_hooks {
    use crate::bindings as b;

    /// Acts on the injection bits that take effect at module load.
    pub(crate) fn at_load() {
        let bits = inject_bits();
        if bits & b::FAMFS_GLUE_INJECT_WARN != 0 {
            // SAFETY: `famfs_glue_inject_warn` only calls WARN().
            unsafe { b::famfs_glue_inject_warn() };
        }
        if bits & b::FAMFS_GLUE_INJECT_LEAK != 0 {
            // SAFETY: `famfs_glue_inject_leak` allocates 64 bytes and
            // forgets them (for kmemleak to find).
            unsafe { b::famfs_glue_inject_leak() };
        }
        if bits & b::FAMFS_GLUE_INJECT_OOB_C != 0 {
            // SAFETY: `famfs_glue_inject_oob` reads one byte past an 8-byte
            // allocation: a bug on purpose, harmless without KASAN (the byte
            // is in the slab object's padding), reported with it.
            unsafe { b::famfs_glue_inject_oob() };
        }
        if bits & b::FAMFS_GLUE_INJECT_SHIFT_C != 0 {
            // SAFETY: `famfs_glue_inject_shift` shifts an unsigned int by 40
            // in C: undefined behaviour on purpose, for UBSAN to report.
            unsafe { b::famfs_glue_inject_shift() };
        }
        if bits & b::FAMFS_GLUE_INJECT_OOB_RUST != 0 {
            oob_read_in_rust();
        }
    }

    /// Reads one byte past an 8-byte allocation from Rust code: KASAN must
    /// see Rust's accesses too. Not inlined, so that the report names it.
    #[inline(never)]
    fn oob_read_in_rust() {
        use kernel::alloc::{flags::GFP_KERNEL, KBox};
        let Ok(buf) = KBox::new([0u8; 8], GFP_KERNEL) else {
            return;
        };
        let past_end = core::hint::black_box(8usize);
        // SAFETY: none; this is the bug the KASAN self-test needs. The read
        // is one byte past an 8-byte kmalloc object, inside its slab slot,
        // so without KASAN it reads padding and nothing else happens.
        let v = unsafe { core::ptr::read_volatile(buf.as_ptr().add(past_end)) };
        kernel::pr_info!("test_inject: out-of-bounds read in Rust gave {}\n", v);
    }

    /// The current value of the `test_inject` module parameter.
    pub(crate) fn inject_bits() -> u32 {
        // SAFETY: `famfs_glue_test_inject` reads a module parameter.
        unsafe { b::famfs_glue_test_inject() }
    }

    #[kernel::prelude::kunit_tests(famfs_test_hooks)]
    mod tests {
        /// Fails on purpose when loaded with `test_inject=4`, so the harness
        /// can show that a failing KUnit case fails `make check`.
        #[test]
        fn injected_failure_switch_is_off() {
            assert_eq!(
                super::inject_bits() & crate::bindings::FAMFS_GLUE_INJECT_KUNIT_FAIL,
                0
            );
        }
    }
}

#[kunit_tests(famfs_vfs)]
mod tests {
    use crate::bindings as b;
    use core::mem::{offset_of, size_of};

    /// The structures bindgen generated (with clang's view of the kernel
    /// headers) agree with what GCC compiled for the C glue.
    #[test]
    fn bindgen_layouts_match_gcc() {
        let gcc = |item| {
            // SAFETY: `famfs_glue_layout` returns a compile-time constant.
            unsafe { b::famfs_glue_layout(item) }
        };
        assert_eq!(
            size_of::<b::fs_context>(),
            gcc(b::famfs_glue_layout_item_FAMFS_GLUE_LAYOUT_FS_CONTEXT)
        );
        assert_eq!(
            offset_of!(b::fs_context, s_fs_info),
            gcc(b::famfs_glue_layout_item_FAMFS_GLUE_LAYOUT_FS_CONTEXT_S_FS_INFO)
        );
        assert_eq!(
            offset_of!(b::fs_context, ops),
            gcc(b::famfs_glue_layout_item_FAMFS_GLUE_LAYOUT_FS_CONTEXT_OPS)
        );
        assert_eq!(
            size_of::<b::iomap>(),
            gcc(b::famfs_glue_layout_item_FAMFS_GLUE_LAYOUT_IOMAP)
        );
        assert_eq!(
            size_of::<b::iomap_ops>(),
            gcc(b::famfs_glue_layout_item_FAMFS_GLUE_LAYOUT_IOMAP_OPS)
        );
        assert_eq!(
            size_of::<b::dax_holder_operations>(),
            gcc(b::famfs_glue_layout_item_FAMFS_GLUE_LAYOUT_HOLDER_OPS)
        );
        assert_eq!(
            size_of::<b::famfs_ioc_get_fmap>(),
            gcc(b::famfs_glue_layout_item_FAMFS_GLUE_LAYOUT_IOC_GET_FMAP)
        );
    }
}
