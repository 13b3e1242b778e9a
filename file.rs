// SPDX-License-Identifier: GPL-2.0

//! File and directory operations, and the DAX data path: read, write, mmap
//! and page faults, all served through the file's extent map.

use core::ptr;
use core::sync::atomic::Ordering;

use kernel::ffi::{c_int, c_uint, c_ulong};
use kernel::prelude::*;

use crate::bindings as b;
use crate::inode;
use crate::ioctl;
use crate::iomap::IOMAP_OPS;
use crate::mount::FsInfo;

/// A static C operations table that points to the module (`owner`).
///
/// Raw pointers are not `Sync`, but the table is immutable and only read.
#[repr(transparent)]
pub(crate) struct OpsTable<T>(pub(crate) T);

// SAFETY: The wrapped tables are never written after initialisation.
unsafe impl<T> Sync for OpsTable<T> {}

const fn this_module() -> *mut b::module {
    kernel::module::this_module::<crate::FamfsModule>().as_ptr()
}

/// `file_operations::open`. Ordinary VFS permission checks apply (root may
/// write a file without write bits, as on any file system). With the
/// `strict_write` mount option a file without any write permission bit
/// cannot be opened for writing by anyone, root included, except by the open
/// that creates it (`FMODE_CREATED`, for which the VFS checks no permission
/// either), so that such a file can only be given its map.
///
/// # Safety
///
/// Called only by the VFS.
unsafe extern "C" fn open(inode: *mut b::inode, file: *mut b::file) -> c_int {
    // SAFETY: The VFS passes a live famfs inode and the file being opened.
    unsafe {
        let strict = FsInfo::from_sb((*inode).i_sb).strict_write();
        let f_mode = (*file).f_mode;
        if strict
            && f_mode & b::FAMFS_CONST_FMODE_WRITE != 0
            && f_mode & b::FAMFS_CONST_FMODE_CREATED == 0
            && u32::from((*inode).i_mode) & 0o222 == 0
        {
            return EACCES.to_errno();
        }
        b::generic_file_open(inode, file)
    }
}

/// `file_operations::read_iter`: DAX copy, short at the end of the file.
///
/// # Safety
///
/// Called only by the VFS.
unsafe extern "C" fn read_iter(iocb: *mut b::kiocb, to: *mut b::iov_iter) -> isize {
    // SAFETY: The VFS passes a valid kiocb of an open famfs file.
    let inode = unsafe { (*(*iocb).ki_filp).f_inode };
    // SAFETY: As above.
    if let Err(e) = unsafe { inode::usable_meta(inode) } {
        return e.to_errno() as isize;
    }
    // SAFETY: As above.
    if unsafe { b::famfs_glue_iov_iter_count(to) } == 0 {
        return 0;
    }
    // SAFETY: Shared inode lock around the DAX copy, as DAX requires.
    unsafe {
        b::famfs_glue_inode_lock_shared(inode);
        let ret = b::dax_iomap_rw(iocb, to, &IOMAP_OPS);
        b::famfs_glue_inode_unlock_shared(inode);
        ret
    }
}

/// `file_operations::write_iter`: writes never extend a file; a write that
/// starts at or beyond the end fails with `ENOSPC`, one that crosses it is
/// short.
///
/// # Safety
///
/// Called only by the VFS.
unsafe extern "C" fn write_iter(iocb: *mut b::kiocb, from: *mut b::iov_iter) -> isize {
    // SAFETY: The VFS passes a valid kiocb of an open famfs file.
    let (file, inode) = unsafe { ((*iocb).ki_filp, (*(*iocb).ki_filp).f_inode) };
    // SAFETY: As above.
    if let Err(e) = unsafe { inode::usable_meta(inode) } {
        return e.to_errno() as isize;
    }
    // SAFETY: The exclusive inode lock covers the checks and the copy.
    unsafe {
        b::famfs_glue_inode_lock(inode);
        let ret = write_locked(iocb, from, file, inode);
        b::famfs_glue_inode_unlock(inode);
        ret
    }
}

/// # Safety
///
/// As `write_iter`, with the inode locked.
unsafe fn write_locked(
    iocb: *mut b::kiocb,
    from: *mut b::iov_iter,
    file: *mut b::file,
    inode: *mut b::inode,
) -> isize {
    // SAFETY: Per the function contract.
    unsafe {
        let ret = b::generic_write_checks(iocb, from);
        if ret <= 0 {
            return ret;
        }
        let size = b::famfs_glue_i_size_read(inode);
        let pos = (*iocb).ki_pos;
        if pos >= size {
            return ENOSPC.to_errno() as isize;
        }
        b::famfs_glue_iov_iter_truncate(from, (size - pos) as u64);
        let err = b::file_remove_privs(file);
        if err != 0 {
            return err as isize;
        }
        let err = b::file_update_time(file);
        if err != 0 {
            return err as isize;
        }
        b::dax_iomap_rw(iocb, from, &IOMAP_OPS)
    }
}

/// `file_operations::mmap`: only files that can serve data, with huge pages
/// wherever the extents allow.
///
/// # Safety
///
/// Called only by the VFS.
unsafe extern "C" fn mmap(file: *mut b::file, vma: *mut b::vm_area_struct) -> c_int {
    // SAFETY: The VFS passes an open famfs file and the new VMA.
    unsafe {
        if let Err(e) = inode::usable_meta((*file).f_inode) {
            return e.to_errno();
        }
        b::famfs_glue_mmap_setup(file, vma, &VM_OPS.0);
    }
    0
}

const VM_FAULT_SIGBUS: c_uint = b::vm_fault_reason_VM_FAULT_SIGBUS;
const VM_FAULT_FALLBACK: c_uint = b::vm_fault_reason_VM_FAULT_FALLBACK;
/// The `VM_FAULT_ERROR` mask of `<linux/mm_types.h>`.
const VM_FAULT_ERROR: c_uint = b::vm_fault_reason_VM_FAULT_OOM
    | b::vm_fault_reason_VM_FAULT_SIGBUS
    | b::vm_fault_reason_VM_FAULT_SIGSEGV
    | b::vm_fault_reason_VM_FAULT_HWPOISON
    | b::vm_fault_reason_VM_FAULT_HWPOISON_LARGE
    | b::vm_fault_reason_VM_FAULT_FALLBACK;

/// Serves a fault of `order` (0: one page; PMD order: 2 MiB) through DAX.
/// `count` says whether a successful fault installs a new mapping (faults
/// do, `mkwrite` upgrades do not).
///
/// # Safety
///
/// `vmf` must be a fault on a famfs mapping.
unsafe fn fault(vmf: *mut b::vm_fault, order: c_uint, count: bool) -> b::vm_fault_t {
    // SAFETY: Per the function contract.
    let inode = unsafe { b::famfs_glue_vmf_inode(vmf) };
    // SAFETY: As above.
    let write = unsafe { b::famfs_glue_vmf_is_shared_write(vmf) };
    let mut pfn: c_ulong = 0;
    // SAFETY: The locking DAX faults need surrounds the DAX call. The check
    // that the file may serve data is made under the invalidate lock (taken
    // shared by `famfs_glue_fault_start`): invalidation (a size change, a
    // memory failure) takes it exclusively before zapping the mappings, so
    // no fault can map the memory after the zap. `iomap_begin` checks again
    // for the range it resolves.
    let ret = unsafe {
        b::famfs_glue_fault_start(vmf, write);
        let ret = if inode::usable_meta(inode).is_err() {
            VM_FAULT_SIGBUS
        } else {
            b::dax_iomap_fault(vmf, order, &mut pfn, ptr::null_mut(), &IOMAP_OPS)
        };
        b::famfs_glue_fault_end(vmf, write);
        ret
    };
    if count && ret & (VM_FAULT_ERROR | VM_FAULT_FALLBACK) == 0 {
        // SAFETY: The superblock outlives the mapping's inode.
        let info = unsafe { FsInfo::from_sb((*inode).i_sb) };
        let counter = if order == 0 {
            &info.pte_faults
        } else {
            &info.pmd_faults
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
    ret
}

/// `vm_operations_struct::fault`.
///
/// # Safety
///
/// Called only by the memory manager for a famfs mapping.
unsafe extern "C" fn vm_fault(vmf: *mut b::vm_fault) -> b::vm_fault_t {
    // SAFETY: Per the function contract.
    unsafe { fault(vmf, 0, true) }
}

/// `vm_operations_struct::huge_fault`.
///
/// # Safety
///
/// Called only by the memory manager for a famfs mapping.
unsafe extern "C" fn vm_huge_fault(vmf: *mut b::vm_fault, order: c_uint) -> b::vm_fault_t {
    // SAFETY: Per the function contract.
    unsafe { fault(vmf, order, true) }
}

/// `page_mkwrite` and `pfn_mkwrite`: a write to a page mapped read-only.
///
/// # Safety
///
/// Called only by the memory manager for a famfs mapping.
unsafe extern "C" fn vm_mkwrite(vmf: *mut b::vm_fault) -> b::vm_fault_t {
    // SAFETY: Per the function contract.
    unsafe { fault(vmf, 0, false) }
}

static VM_OPS: OpsTable<b::vm_operations_struct> = OpsTable(b::vm_operations_struct {
    fault: Some(vm_fault),
    huge_fault: Some(vm_huge_fault),
    page_mkwrite: Some(vm_mkwrite),
    pfn_mkwrite: Some(vm_mkwrite),
    ..pin_init::zeroed()
});

/// Regular files.
pub(crate) static FILE_FOPS: OpsTable<b::file_operations> = OpsTable(b::file_operations {
    owner: this_module(),
    llseek: Some(b::generic_file_llseek),
    open: Some(open),
    read_iter: Some(read_iter),
    write_iter: Some(write_iter),
    mmap: Some(mmap),
    get_unmapped_area: Some(b::thp_get_unmapped_area),
    splice_read: Some(b::copy_splice_read),
    splice_write: Some(b::iter_file_splice_write),
    unlocked_ioctl: Some(ioctl::famfs_ioctl),
    fsync: Some(b::noop_fsync),
    ..pin_init::zeroed()
});

/// Directories: the dcache-based libfs helpers, plus the famfs ioctls.
pub(crate) static DIR_FOPS: OpsTable<b::file_operations> = OpsTable(b::file_operations {
    owner: this_module(),
    open: Some(b::dcache_dir_open),
    release: Some(b::dcache_dir_close),
    llseek: Some(b::dcache_dir_lseek),
    read: Some(b::generic_read_dir),
    iterate_shared: Some(b::dcache_readdir),
    fsync: Some(b::noop_fsync),
    unlocked_ioctl: Some(ioctl::famfs_ioctl),
    ..pin_init::zeroed()
});

/// Address space operations: famfs never dirties page-cache folios, and all
/// I/O is direct (so `O_DIRECT` opens are accepted).
pub(crate) static AOPS: b::address_space_operations = b::address_space_operations {
    dirty_folio: Some(b::noop_dirty_folio),
    direct_IO: Some(b::noop_direct_IO),
    ..pin_init::zeroed()
};
