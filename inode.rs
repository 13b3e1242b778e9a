// SPDX-License-Identifier: GPL-2.0

//! Inodes and the directory tree.
//!
//! Like ramfs, famfs keeps its namespace only in the dentry and inode caches:
//! every dentry is made persistent when created and lives until it is
//! unlinked or the file system is unmounted. Only regular files and
//! directories exist; links, symlinks and device nodes are refused by the VFS
//! (their operations are absent).

use core::ptr;
use core::sync::atomic::{AtomicBool, AtomicPtr, Ordering};

use kernel::ffi::{c_int, c_uint};
use kernel::prelude::*;

use crate::bindings as b;
use crate::file;
use crate::fmap::{Fmap, FmapError, Limits};
use crate::mount::{FsInfo, InodeKey, MappedRange};

use b::FAMFS_CONST_SB_RDONLY as SB_RDONLY;

use b::{S_IFDIR, S_IFMT, S_IFREG};

/// Allocates and initialises a new inode of `mode` (a regular file or a
/// directory) in `dir`, or the root directory if `dir` is null.
///
/// # Safety
///
/// `sb` must be a famfs superblock and `dir`, if non-null, a directory inode
/// of it.
pub(crate) unsafe fn new_inode(
    sb: *mut b::super_block,
    dir: *mut b::inode,
    mode: b::umode_t,
) -> Result<*mut b::inode> {
    let kind = u32::from(mode) & S_IFMT;
    if kind != S_IFREG && kind != S_IFDIR {
        return Err(EPERM);
    }
    // SAFETY: `sb` is a valid superblock.
    let inode = unsafe { b::new_inode(sb) };
    if inode.is_null() {
        return Err(ENOMEM);
    }
    // SAFETY: `inode` is a new inode we own; `dir` is null or a directory.
    unsafe {
        (*inode).i_ino = u64::from(b::get_next_ino());
        b::inode_init_owner(&raw mut b::nop_mnt_idmap, inode, dir, mode);
        (*(*inode).i_mapping).a_ops = &file::AOPS;
        b::simple_inode_init_ts(inode);
        if kind == S_IFDIR {
            (*inode).i_op = &DIR_IOPS;
            (*inode).__bindgen_anon_3.i_fop = &file::DIR_FOPS.0;
            // A directory starts with two links: its entry and ".".
            b::inc_nlink(inode);
        } else {
            (*inode).i_op = &FILE_IOPS;
            (*inode).__bindgen_anon_3.i_fop = &file::FILE_FOPS.0;
        }
    }
    Ok(inode)
}

/// Creates an inode of `mode` for the negative `dentry` in `dir`.
///
/// # Safety
///
/// Called from the VFS directory operations with `dir` locked.
unsafe fn make_node(dir: *mut b::inode, dentry: *mut b::dentry, mode: b::umode_t) -> Result {
    // SAFETY: `dir` is a live famfs directory.
    let inode = unsafe { new_inode((*dir).i_sb, dir, mode) }?;
    // SAFETY: `dentry` is negative and `dir` is locked; the dentry takes
    // over our inode reference and stays until unlinked or unmounted.
    unsafe {
        b::d_make_persistent(dentry, inode);
        b::famfs_glue_dir_changed(dir);
    }
    Ok(())
}

/// `inode_operations::create`: a new, empty regular file.
///
/// # Safety
///
/// Called only by the VFS, with the arguments its contract for this
/// operation guarantees.
unsafe extern "C" fn create(
    _idmap: *mut b::mnt_idmap,
    dir: *mut b::inode,
    dentry: *mut b::dentry,
    mode: b::umode_t,
) -> c_int {
    let mode = (u32::from(mode) & !S_IFMT) | S_IFREG;
    // SAFETY: Called by the VFS with `dir` locked and `dentry` negative.
    match unsafe { make_node(dir, dentry, mode as b::umode_t) } {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// `inode_operations::mkdir`.
///
/// # Safety
///
/// Called only by the VFS, with the arguments its contract for this
/// operation guarantees.
unsafe extern "C" fn mkdir(
    _idmap: *mut b::mnt_idmap,
    dir: *mut b::inode,
    dentry: *mut b::dentry,
    mode: b::umode_t,
) -> *mut b::dentry {
    let mode = (u32::from(mode) & !S_IFMT) | S_IFDIR;
    // SAFETY: Called by the VFS with `dir` locked and `dentry` negative.
    match unsafe { make_node(dir, dentry, mode as b::umode_t) } {
        Ok(()) => {
            // SAFETY: `dir` is locked; the new directory's ".." links it.
            unsafe { b::inc_nlink(dir) };
            // Null: the VFS keeps using `dentry`.
            ptr::null_mut()
        }
        Err(e) => e.to_ptr(),
    }
}

static DIR_IOPS: b::inode_operations = b::inode_operations {
    lookup: Some(lookup),
    create: Some(create),
    mkdir: Some(mkdir),
    unlink: Some(b::simple_unlink),
    rmdir: Some(b::simple_rmdir),
    rename: Some(b::simple_rename),
    ..pin_init::zeroed()
};

/// `inode_operations::lookup`.
///
/// # Safety
///
/// Called only by the VFS, with the arguments its contract for this
/// operation guarantees.
unsafe extern "C" fn lookup(
    dir: *mut b::inode,
    dentry: *mut b::dentry,
    flags: c_uint,
) -> *mut b::dentry {
    // SAFETY: Forwarded unchanged from the VFS. Every existing name is a
    // persistent dentry, so a lookup that reaches us finds nothing.
    unsafe { b::simple_lookup(dir, dentry, flags) }
}

static FILE_IOPS: b::inode_operations = b::inode_operations {
    setattr: Some(file_setattr),
    ..pin_init::zeroed()
};

// ---- regular files: extent maps ------------------------------------------

/// What famfs keeps for a regular file with a map (`inode->i_private`).
pub(crate) struct FileMeta {
    /// The validated, immutable extent map.
    pub(crate) fmap: Fmap,
    /// Set when the file's size changed: the file serves no data any more.
    pub(crate) invalid: AtomicBool,
}

/// The `i_private` field as an atomic pointer (published once, with release
/// ordering, under the inode lock; read with acquire ordering).
///
/// # Safety
///
/// `inode` must be live.
unsafe fn private<'a>(inode: *mut b::inode) -> &'a AtomicPtr<FileMeta> {
    // SAFETY: `i_private` is a properly aligned pointer-sized field of a live
    // inode; all famfs accesses to it go through this atomic view.
    unsafe { AtomicPtr::from_ptr((&raw mut (*inode).i_private).cast()) }
}

/// The map of a file, if it has one.
///
/// # Safety
///
/// `inode` must be a live famfs inode. The returned reference is valid while
/// the inode is (the map is freed only when the inode is evicted).
pub(crate) unsafe fn meta<'a>(inode: *mut b::inode) -> Option<&'a FileMeta> {
    // SAFETY: Per the function contract.
    let p = unsafe { private(inode) }.load(Ordering::Acquire);
    // SAFETY: A non-null value was published by `install_map` and stays
    // valid until eviction.
    unsafe { p.as_ref() }
}

/// Why a file cannot serve data now, as an errno: no map (`ENODATA`), size
/// changed (`ENXIO`), memory failure on the mount (`EIO`).
///
/// # Safety
///
/// `inode` must be a live famfs inode.
pub(crate) unsafe fn usable_meta<'a>(inode: *mut b::inode) -> Result<&'a FileMeta> {
    // SAFETY: Per the function contract.
    let info = unsafe { FsInfo::from_sb((*inode).i_sb) };
    if info.has_failed() {
        return Err(EIO);
    }
    // SAFETY: Per the function contract.
    let m = unsafe { meta(inode) }.ok_or(ENODATA)?;
    if m.invalid.load(Ordering::Acquire) {
        return Err(ENXIO);
    }
    Ok(m)
}

/// Who and what may create a map: a privileged caller, on a regular file of a
/// writable, healthy mount.
///
/// # Safety
///
/// `inode` must be a live famfs inode.
pub(crate) unsafe fn may_create_map(inode: *mut b::inode) -> Result {
    // SAFETY: Plain capability check of the current task.
    if !unsafe { b::capable(b::CAP_SYS_ADMIN as c_int) } {
        return Err(EPERM);
    }
    // SAFETY: `inode` is live.
    let (mode, sb) = unsafe { (u32::from((*inode).i_mode), (*inode).i_sb) };
    if mode & S_IFMT != S_IFREG {
        return Err(EINVAL);
    }
    // SAFETY: `sb` is the live superblock of the inode.
    if unsafe { (*sb).s_flags } & SB_RDONLY != 0 {
        return Err(EROFS);
    }
    // SAFETY: As above.
    if unsafe { FsInfo::from_sb(sb) }.has_failed() {
        return Err(EIO);
    }
    Ok(())
}

/// Whether a message that user input can trigger may be logged now: such
/// messages share a rate limit (10 lines per 5 seconds), so that a loop of
/// bad requests cannot flood the kernel log.
pub(crate) fn log_allowed() -> bool {
    // SAFETY: Plain C function without preconditions (a static ratelimit
    // state).
    unsafe { b::famfs_glue_log_allowed() }
}

/// Logs (rate-limited) why a map was refused and returns its errno.
pub(crate) fn map_refused(inode: *mut b::inode, e: FmapError) -> Error {
    // SAFETY: Callers pass a live inode.
    let ino = unsafe { (*inode).i_ino };
    if log_allowed() {
        pr_err!("map refused for inode {}: {}\n", ino, e.describe());
    }
    Error::from_errno(-e.errno())
}

/// Validates `fmap` and gives it to the empty file `inode`.
///
/// # Safety
///
/// `inode` must be a live famfs regular file inode.
pub(crate) unsafe fn install_map(
    inode: *mut b::inode,
    fmap: Fmap,
    unaligned_last_len: bool,
) -> Result {
    // SAFETY: `inode` is live, so is its superblock.
    let info = unsafe { FsInfo::from_sb((*inode).i_sb) };
    let dev_size = info.dev_size.load(Ordering::Relaxed);
    let limits = Limits {
        dev_size,
        unaligned_last_len,
    };
    fmap.validate(&limits).map_err(|e| map_refused(inode, e))?;
    let meta = KBox::new(
        FileMeta {
            fmap,
            invalid: AtomicBool::new(false),
        },
        GFP_KERNEL,
    )?;

    // SAFETY: `inode` is live; the lock is released on every path below.
    unsafe { b::famfs_glue_inode_lock(inode) };
    // SAFETY: As above, under the inode lock.
    let res = unsafe { install_locked(inode, info, meta) };
    // SAFETY: Locked above.
    unsafe { b::famfs_glue_inode_unlock(inode) };
    res
}

/// # Safety
///
/// `inode` must be a live famfs regular file, locked by the caller.
unsafe fn install_locked(inode: *mut b::inode, info: &FsInfo, new_meta: KBox<FileMeta>) -> Result {
    // SAFETY: `inode` is live.
    let ino = unsafe { (*inode).i_ino };
    // SAFETY: As above.
    if unsafe { meta(inode) }.is_some() {
        if log_allowed() {
            pr_err!(
                "map refused for inode {}: the file already has a map\n",
                ino
            );
        }
        return Err(EEXIST);
    }
    // SAFETY: As above.
    if unsafe { b::famfs_glue_i_size_read(inode) } != 0 {
        if log_allowed() {
            pr_err!("map refused for inode {}: the file is not empty\n", ino);
        }
        return Err(EINVAL);
    }
    let file_size = i64::try_from(new_meta.fmap.file_size).map_err(|_| EINVAL)?;

    // No two files may map the same memory.
    let mut ranges = info.ranges.lock();
    let mut conflict = None;
    new_meta.fmap.for_each_range(|e| {
        let end = e.offset.saturating_add(e.len);
        if conflict.is_none() {
            conflict = ranges
                .iter()
                .find(|r| e.offset < r.end && r.start < end)
                .map(|r| r.inode);
        }
    });
    if let Some(other) = conflict {
        // SAFETY: Registry entries are live inodes (removed before eviction
        // completes, under this lock).
        let other_ino = unsafe { (*other.0).i_ino };
        if log_allowed() {
            pr_err!(
                "map refused for inode {}: overlaps the memory of inode {}\n",
                ino,
                other_ino
            );
        }
        return Err(EINVAL);
    }
    let before = ranges.len();
    let mut alloc_err = None;
    new_meta.fmap.for_each_range(|e| {
        if alloc_err.is_none() {
            let r = MappedRange {
                start: e.offset,
                end: e.offset.saturating_add(e.len),
                inode: InodeKey(inode),
            };
            if let Err(err) = ranges.push(r, GFP_KERNEL) {
                alloc_err = Some(err);
            }
        }
    });
    if let Some(err) = alloc_err {
        ranges.truncate(before);
        return Err(err.into());
    }
    drop(ranges);

    info.mapped_bytes
        .fetch_add(new_meta.fmap.mapped_bytes(), Ordering::Relaxed);
    // SAFETY: Under the inode lock: publish the map, then the size and the
    // DAX flag.
    unsafe {
        private(inode).store(KBox::into_raw(new_meta), Ordering::Release);
        b::famfs_glue_i_size_write(inode, file_size);
        b::famfs_glue_set_dax(inode);
    }
    Ok(())
}

/// A copy of the file's map and its current size.
///
/// # Safety
///
/// `inode` must be a live famfs inode.
pub(crate) unsafe fn current_map(inode: *mut b::inode) -> Result<(Fmap, u64)> {
    // SAFETY: Per the function contract.
    let m = unsafe { meta(inode) }.ok_or(ENODATA)?;
    // SAFETY: As above.
    let size = unsafe { b::famfs_glue_i_size_read(inode) };
    Ok((m.fmap, size.max(0) as u64))
}

/// `super_operations::evict_inode`: drops the DAX layout, then the map and
/// the file's entries in the mount's range registry.
///
/// # Safety
///
/// Called only by the VFS, for an inode being evicted.
pub(crate) unsafe extern "C" fn evict_inode(inode: *mut b::inode) {
    // SAFETY: The VFS passes an inode being evicted; nothing else uses it.
    unsafe { b::famfs_glue_evict(inode) };
    // SAFETY: As above; the map, if any, was published by `install_map`.
    let p = unsafe { private(inode) }.swap(ptr::null_mut(), Ordering::AcqRel);
    if p.is_null() {
        return;
    }
    // SAFETY: `p` came from `KBox::into_raw` and nothing else refers to it.
    let meta = unsafe { KBox::from_raw(p) };
    // SAFETY: The superblock outlives its inodes.
    let info = unsafe { FsInfo::from_sb((*inode).i_sb) };
    info.ranges.lock().retain(|r| r.inode != InodeKey(inode));
    info.mapped_bytes
        .fetch_sub(meta.fmap.mapped_bytes(), Ordering::Relaxed);
}

/// `inode_operations::setattr` for regular files: any size change makes a
/// mapped file invalid (it serves no data until remount), and existing
/// mappings are torn down so that their next access faults (and gets SIGBUS).
///
/// # Safety
///
/// Called only by the VFS, with the arguments its contract guarantees.
unsafe extern "C" fn file_setattr(
    idmap: *mut b::mnt_idmap,
    dentry: *mut b::dentry,
    attr: *mut b::iattr,
) -> c_int {
    // SAFETY: The VFS passes valid arguments and holds the inode lock.
    unsafe {
        let inode = (*dentry).d_inode;
        let err = b::setattr_prepare(idmap, dentry, attr);
        if err != 0 {
            return err;
        }
        if (*attr).ia_valid & b::ATTR_SIZE != 0
            && (*attr).ia_size != b::famfs_glue_i_size_read(inode)
        {
            if let Some(m) = meta(inode) {
                // The invalidate lock, held exclusively, orders this against
                // faults: one that found the file valid holds it shared and
                // has installed its mapping before we get it, so the zap
                // below removes that mapping; every later fault sees the
                // flag and gets SIGBUS. Without the lock a fault could map
                // the file's memory after the zap.
                b::famfs_glue_invalidate_lock(inode);
                let first = !m.invalid.swap(true, Ordering::AcqRel);
                b::unmap_mapping_range((*inode).i_mapping, 0, 0, 1);
                b::famfs_glue_invalidate_unlock(inode);
                if first && log_allowed() {
                    pr_warn!(
                        "inode {}: size changed, the file is invalid until remount\n",
                        (*inode).i_ino
                    );
                }
            }
            b::famfs_glue_i_size_write(inode, (*attr).ia_size);
        }
        b::setattr_copy(idmap, inode, attr);
    }
    0
}
