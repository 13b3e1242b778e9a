// SPDX-License-Identifier: GPL-2.0

//! Inodes and the directory tree.
//!
//! Like ramfs, famfs keeps its namespace only in the dentry and inode caches:
//! every dentry is made persistent when created and lives until it is
//! unlinked or the file system is unmounted. Only regular files and
//! directories exist; links, symlinks and device nodes are refused by the VFS
//! (their operations are absent).

use core::ptr;

use kernel::ffi::{c_int, c_uint};
use kernel::prelude::*;

use crate::bindings as b;
use crate::file;

const S_IFMT: u32 = 0o170000;
const S_IFREG: u32 = 0o100000;
const S_IFDIR: u32 = 0o040000;

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
    ..pin_init::zeroed()
};
