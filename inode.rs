// SPDX-License-Identifier: GPL-2.0

//! Inodes, the directory tree and the files' extent maps.
//!
//! Like ramfs, famfs keeps its namespace only in the dentry and inode caches:
//! every dentry is made persistent when created and lives until it is
//! unlinked or the file system is unmounted. Only regular files and
//! directories exist; links, symlinks and device nodes are refused by the VFS
//! (their operations are absent).
//!
//! The rules owned here: a map is given once, to an empty regular file, by
//! a privileged caller on a healthy writable mount, after validation
//! (`fmap.rs`) and a claim of its memory (`registry.rs`); any size change
//! makes the file invalid for good; every namespace and attribute change
//! asks the mount's permission bits first (`opts.rs`).

#![deny(unsafe_code)]

use kernel::prelude::*;
use kernel::sync::atomic::{Acquire, Atomic, Relaxed};

use crate::fmap::{Fmap, FmapError, MAX_DEVICES};
use crate::mount::{Famfs, FsInfo};
use crate::opts::{self, AttrChange, Op};
use crate::registry::ClaimError;
use crate::vfs::fs::Counter;
use crate::vfs::inode::{new_inode, Attr, Inode, Kind, Locked, NewDentry};
use crate::vfs::{self, pr_err_limited, pr_warn_limited};

/// What famfs keeps for a regular file with a map (`i_private`).
pub(crate) struct FileMeta {
    /// The validated, immutable extent map.
    pub(crate) fmap: Fmap,
    /// Set when the file's size changed: the file serves no data any more.
    invalid: Atomic<bool>,
    /// The file's id in the mount's registry.
    id: u64,
    /// The devices the map uses (a bit set of device indices).
    devices: u64,
}

/// `create`: a new, empty regular file.
pub(crate) fn create(dir: &Locked<'_, Famfs>, dentry: NewDentry<'_, Famfs>, mode: u32) -> Result {
    info(dir).may(Op::Create)?;
    let inode = new_inode(dir.super_block(), Some(dir), Kind::File, mode)?;
    dentry.instantiate(inode);
    dir.dir_changed();
    Ok(())
}

/// `mkdir`.
pub(crate) fn mkdir(dir: &Locked<'_, Famfs>, dentry: NewDentry<'_, Famfs>, mode: u32) -> Result {
    info(dir).may(Op::Mkdir)?;
    let inode = new_inode(dir.super_block(), Some(dir), Kind::Dir, mode)?;
    dentry.instantiate(inode);
    dir.dir_changed();
    // The new directory's ".." links its parent.
    dir.inc_nlink();
    Ok(())
}

/// Unlink: a file with a map needs the permission bit (an empty file is
/// always removable, as the tools undo a failed create that way).
pub(crate) fn may_unlink(dir: &Locked<'_, Famfs>, victim: &Inode<Famfs>) -> Result {
    if victim.data().is_some() {
        info(dir).may(Op::UnlinkMapped)?;
    }
    Ok(())
}

/// rmdir.
pub(crate) fn may_rmdir(dir: &Locked<'_, Famfs>, _victim: &Inode<Famfs>) -> Result {
    info(dir).may(Op::Rmdir)
}

/// Rename of `source`, replacing `replaced` (an existing target that goes
/// away; `None` for a new name or an exchange).
pub(crate) fn may_rename(source: &Inode<Famfs>, replaced: Option<&Inode<Famfs>>) -> Result {
    let info = info(source);
    let mapped = replaced.is_some_and(|r| r.data().is_some());
    match opts::refused_rename(info.opts(), mapped) {
        Some(op) => info.refuse(op),
        None => Ok(()),
    }
}

/// The per-mount state of an inode's mount.
fn info(inode: &Inode<Famfs>) -> &FsInfo {
    inode.super_block().info()
}

/// The map of a file that can serve data now, or why not, as an errno: no
/// map (`ENODATA`), size changed (`ENXIO`), memory failure on the mount or
/// on a device the file uses (`EIO`). The one check every read, write,
/// mmap, fault and iomap lookup makes.
pub(crate) fn usable_meta(inode: &Inode<Famfs>) -> Result<&FileMeta> {
    usable_meta_in(info(inode), inode)
}

/// [`usable_meta`] for a caller that holds the mount's state already (the
/// fault and iomap paths: one superblock lookup each).
pub(crate) fn usable_meta_in<'a>(info: &FsInfo, inode: &'a Inode<Famfs>) -> Result<&'a FileMeta> {
    if info.has_failed() {
        return Err(EIO);
    }
    let m = inode.data().ok_or(ENODATA)?;
    if m.invalid.load(Acquire) {
        return Err(ENXIO);
    }
    if m.devices & info.failed_devices() != 0 {
        return Err(EIO);
    }
    Ok(m)
}

impl FileMeta {
    /// Whether the file has memory on device `dev`.
    pub(crate) fn uses_device(&self, dev: u32) -> bool {
        (dev as usize) < MAX_DEVICES && self.devices & (1u64 << dev) != 0
    }
}

/// Who and what may create a map: a privileged caller, on a regular file of
/// a writable, healthy mount.
pub(crate) fn may_create_map(inode: &Inode<Famfs>) -> Result {
    if !vfs::capable_sys_admin() {
        return Err(EPERM);
    }
    if !inode.is_reg() {
        return Err(EINVAL);
    }
    if inode.super_block().is_read_only() {
        return Err(EROFS);
    }
    if info(inode).has_failed() {
        return Err(EIO);
    }
    info(inode).may(Op::MapCreate)
}

/// Logs (rate-limited) why a map was refused and returns its errno.
pub(crate) fn map_refused(inode: &Inode<Famfs>, e: FmapError) -> Error {
    refused(inode, e.describe(), e.errno())
}

/// Logs (rate-limited) why a map for `inode` was refused and gives the
/// error for `errno` (positive): the one refusal line of every map ioctl.
pub(crate) fn refused(inode: &Inode<Famfs>, why: &str, errno: i32) -> Error {
    pr_err_limited!("map refused for inode {}: {}\n", inode.ino(), why);
    Error::from_errno(-errno)
}

/// Validates `fmap` and gives it to the empty file `inode`: the one install
/// path of every map ioctl.
pub(crate) fn install_map(inode: &Inode<Famfs>, fmap: Fmap, unaligned_last_len: bool) -> Result {
    let info = info(inode);
    let limits = info.limits(unaligned_last_len);
    fmap.validate(&limits).map_err(|e| map_refused(inode, e))?;
    // A device that failed serves no new file either.
    if fmap.devices() & info.failed_devices() != 0 {
        return Err(refused(
            inode,
            "a device of the map has failed",
            -EIO.to_errno(),
        ));
    }
    let file_size = i64::try_from(fmap.file_size).map_err(|_| EINVAL)?;
    let meta = KBox::new(
        FileMeta {
            fmap,
            invalid: Atomic::new(false),
            id: info.new_file_id(),
            devices: fmap.devices(),
        },
        GFP_KERNEL,
    )?;
    let ino = inode.ino();

    let locked = inode.lock();
    if inode.data().is_some() {
        pr_err_limited!("map refused for inode {ino}: the file already has a map\n");
        return Err(EEXIST);
    }
    if inode.size() != 0 {
        pr_err_limited!("map refused for inode {ino}: the file is not empty\n");
        return Err(EINVAL);
    }
    // No two files may map the same memory.
    match info.registry.claim(meta.id, ino, &meta.fmap) {
        Ok(()) => {}
        Err(ClaimError::Overlap(other)) => {
            pr_err_limited!("map refused for inode {ino}: overlaps the memory of inode {other}\n");
            return Err(EINVAL);
        }
        Err(ClaimError::NoMemory) => return Err(ENOMEM),
    }
    let bytes = meta.fmap.mapped_bytes();
    // Publish the map, then the size and the DAX flag, under the inode lock.
    if let Err(meta) = locked.set_data(meta) {
        // Not reached: checked above under the same lock.
        info.registry.release(meta.id, &meta.fmap);
        return Err(EEXIST);
    }
    info.counters.get(Counter::Mapped).fetch_add(bytes, Relaxed);
    locked.set_size(file_size);
    locked.set_dax();
    Ok(())
}

/// A copy of the file's map and its current size.
pub(crate) fn current_map(inode: &Inode<Famfs>) -> Result<(Fmap, u64)> {
    let m = inode.data().ok_or(ENODATA)?;
    Ok((m.fmap, inode.size().max(0) as u64))
}

/// Eviction: the file's memory goes back to the registry.
pub(crate) fn evict(inode: &Inode<Famfs>, meta: Option<KBox<FileMeta>>) {
    let Some(meta) = meta else {
        return;
    };
    let info = info(inode);
    info.registry.release(meta.id, &meta.fmap);
    info.counters
        .get(Counter::Mapped)
        .fetch_sub(meta.fmap.mapped_bytes(), Relaxed);
}

/// `setattr` of files and directories: first the permission bits (a
/// change the kernel makes by itself, such as dropping set-user-ID on a
/// write, is not asked about); then any size change makes a mapped file
/// invalid (it serves no data until remount), and existing mappings are
/// torn down so that their next access faults (and gets `SIGBUS`).
pub(crate) fn setattr(inode: &Locked<'_, Famfs>, attr: &Attr<'_>) -> Result {
    let new_size = attr.new_size().filter(|&s| s != inode.size());
    if !attr.is_forced() {
        let change = AttrChange {
            size: new_size.is_some(),
            mode: attr.changes_mode(),
            owner: attr.changes_owner(),
            // A truncate (also one to the same size, as O_TRUNC of an
            // empty file) sets the times itself: not a utimes.
            times: attr.changes_times() && attr.new_size().is_none(),
        };
        if let Some(op) = opts::refused_setattr(info(inode).opts(), change) {
            return info(inode).refuse(op);
        }
    }
    let Some(size) = new_size else {
        return Ok(());
    };
    if let Some(m) = inode.data() {
        // The invalidate lock, held exclusively, orders this against
        // faults: one that found the file valid holds it shared and has
        // installed its mapping before we get it, so the zap below removes
        // that mapping; every later fault sees the flag and gets SIGBUS.
        // Without the lock a fault could map the file's memory after the
        // zap.
        let guard = inode.invalidate_lock();
        let first = !m.invalid.xchg(true, Relaxed);
        guard.unmap_all();
        drop(guard);
        if first {
            pr_warn_limited!(
                "inode {}: size changed, the file is invalid until remount\n",
                inode.ino()
            );
        }
    }
    inode.set_size(size);
    Ok(())
}
