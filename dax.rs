// SPDX-License-Identifier: GPL-2.0

//! The memory behind a mount: a dax device, claimed exclusively.
//!
//! Two kinds of source are accepted:
//! - `/dev/daxX.Y`, a device-dax character device bound to the `fsdev_dax`
//!   driver, claimed with `fs_dax_get()`;
//! - `/dev/pmemN`, an fsdax block device, opened exclusively and claimed with
//!   `fs_dax_get_by_bdev()`.
//!
//! Either way the mount becomes the dax device's holder and receives memory
//! failure notifications through [`HOLDER_OPS`].

use core::ffi::c_void;
use core::ptr;
use core::sync::atomic::Ordering;

use kernel::error::from_err_ptr;
use kernel::ffi::{c_char, c_int};
use kernel::page::PAGE_SHIFT;
use kernel::prelude::*;

use crate::bindings as b;
use crate::fmap::Extent;
use crate::mount::FsInfo;

/// What kind of device backs a mount.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Kind {
    /// A `/dev/daxX.Y` bound to `fsdev_dax`.
    DevDax,
    /// An fsdax `/dev/pmemN` block device.
    Pmem,
}

/// A claimed dax device.
///
/// # Invariants
///
/// `dax_dev` is non-null and this mount holds it: `holder` was registered as
/// its holder (with [`HOLDER_OPS`]) by `fs_dax_get()` or
/// `fs_dax_get_by_bdev()` and is released exactly once, in `drop`. If
/// `bdev_file` is non-null it is a block device file opened exclusively for
/// this mount, also released in `drop`.
pub(crate) struct Backing {
    dax_dev: *mut b::dax_device,
    holder: *mut c_void,
    bdev_file: *mut b::file,
    /// Byte offset of the device's data within the dax device (a partition
    /// offset for block devices, 0 for devdax).
    pub(crate) start_off: u64,
    /// Usable size in bytes.
    pub(crate) size: u64,
    /// Kind of device.
    pub(crate) kind: Kind,
    /// The device's own name (`dax0.0`, `pmem0`), NUL-terminated.
    name: [u8; NAME_LEN],
}

/// Room for a device name (the kernel's `BDEVNAME_SIZE`).
const NAME_LEN: usize = 32;

impl Backing {
    /// Claims the device at `source` for the superblock `holder`.
    ///
    /// Every refusal is reported (one kernel log line, and the fs_context log
    /// when the caller reads it) with its own errno.
    ///
    /// # Safety
    ///
    /// `fc` must be the valid fs_context of the mount in progress, `source`
    /// a valid NUL-terminated string, and `holder` the superblock being set
    /// up, which outlives the returned value.
    pub(crate) unsafe fn open(
        fc: *mut b::fs_context,
        source: *const c_char,
        holder: *mut b::super_block,
    ) -> Result<Backing> {
        let holder: *mut c_void = holder.cast();
        let report = |what: &CStr, err: Error| -> Error {
            // SAFETY: `fc` and `source` are valid (function contract) and
            // `what` is a NUL-terminated string.
            unsafe { b::famfs_glue_report(fc, source, what.as_char_ptr(), err.to_errno()) };
            err
        };

        let mut mode: b::umode_t = 0;
        // SAFETY: `source` is a valid string and `mode` a valid out pointer.
        let ret = unsafe { b::famfs_glue_path_mode(source, &mut mode) };
        if ret < 0 {
            return Err(report(c"cannot look up the source", Error::from_errno(ret)));
        }

        match u32::from(mode) & b::S_IFMT {
            b::S_IFCHR => {
                let mut dax_dev: *mut b::dax_device = ptr::null_mut();
                let mut name = [0u8; NAME_LEN];
                // SAFETY: `source` is valid; `dax_dev` and `name` are valid
                // out buffers (the glue writes at most `NAME_LEN` bytes,
                // NUL included).
                let ret = unsafe {
                    b::famfs_glue_open_dax_chrdev(
                        source,
                        &mut dax_dev,
                        name.as_mut_ptr().cast(),
                        NAME_LEN,
                    )
                };
                if ret == ENODEV.to_errno() {
                    return Err(report(c"character device is not a dax device", ENODEV));
                } else if ret == ENXIO.to_errno() {
                    // An unbound dax device has no character device behind
                    // its node any more.
                    return Err(report(
                        c"character device has no driver (an unbound dax device? bind it to fsdev_dax)",
                        ENXIO,
                    ));
                } else if ret < 0 {
                    return Err(report(
                        c"cannot open the dax device",
                        Error::from_errno(ret),
                    ));
                }
                // SAFETY: `dax_dev` was just found behind an open dax cdev;
                // `fs_dax_get()` checks it is alive before using it.
                let ret = unsafe { b::fs_dax_get(dax_dev, holder, &HOLDER_OPS) };
                if ret == EOPNOTSUPP.to_errno() {
                    return Err(report(
                        c"dax device is not bound to fsdev_dax (see /sys/bus/dax/drivers/fsdev_dax/new_id)",
                        EOPNOTSUPP,
                    ));
                } else if ret == ENODEV.to_errno() {
                    return Err(report(
                        c"dax device is not bound to any driver (bind it to fsdev_dax)",
                        ENODEV,
                    ));
                } else if ret == EBUSY.to_errno() {
                    return Err(report(c"dax device is in use (already mounted?)", EBUSY));
                } else if ret < 0 {
                    return Err(report(
                        c"cannot claim the dax device",
                        Error::from_errno(ret),
                    ));
                }
                // INVARIANT: `fs_dax_get()` succeeded, so `holder` holds it.
                let backing = Backing {
                    dax_dev,
                    holder,
                    bdev_file: ptr::null_mut(),
                    start_off: 0,
                    // SAFETY: We hold `dax_dev`.
                    size: unsafe { b::famfs_glue_devdax_size(dax_dev) },
                    kind: Kind::DevDax,
                    name,
                };
                if backing.size == 0 {
                    return Err(report(c"dax device has no memory", EINVAL));
                }
                Ok(backing)
            }
            b::S_IFBLK => {
                // SAFETY: `source` is valid; the holder is an opaque token.
                let file = unsafe { b::famfs_glue_bdev_open(source, holder) };
                let file = match from_err_ptr(file) {
                    Ok(f) => f,
                    Err(e) if e == EBUSY => {
                        return Err(report(c"block device is in use (already mounted?)", e))
                    }
                    Err(e) => return Err(report(c"cannot open the block device", e)),
                };
                let mut start_off: u64 = 0;
                // SAFETY: `file` is an open block device file.
                let dax_dev =
                    unsafe { b::famfs_glue_bdev_dax(file, &mut start_off, holder, &HOLDER_OPS) };
                if dax_dev.is_null() {
                    // SAFETY: `file` was opened above and is not used again.
                    unsafe { b::famfs_glue_bdev_release(file) };
                    return Err(report(c"block device does not support DAX", EOPNOTSUPP));
                }
                let mut name = [0u8; NAME_LEN];
                // SAFETY: `file` is an open block device file; `name` has
                // room for `NAME_LEN` bytes.
                unsafe { b::famfs_glue_bdev_name(file, name.as_mut_ptr().cast(), NAME_LEN) };
                // INVARIANT: the claim succeeded and `file` is ours.
                let backing = Backing {
                    dax_dev,
                    holder,
                    bdev_file: file,
                    start_off,
                    // SAFETY: `file` is an open block device file.
                    size: unsafe { b::famfs_glue_bdev_size(file) },
                    kind: Kind::Pmem,
                    name,
                };
                if backing.size == 0 {
                    return Err(report(c"block device is empty", EINVAL));
                }
                Ok(backing)
            }
            _ => Err(report(
                c"not a block device or a dax character device",
                ENOTBLK,
            )),
        }
    }
}

impl Backing {
    /// The claimed dax device (valid while `self` lives).
    pub(crate) fn dax_dev(&self) -> *mut b::dax_device {
        self.dax_dev
    }

    /// The device's own name, as the kernel calls it (`dax0.0`, `pmem0p1`).
    pub(crate) fn name(&self) -> &CStr {
        CStr::from_bytes_until_nul(&self.name).unwrap_or(c"famfs")
    }
}

impl Drop for Backing {
    fn drop(&mut self) {
        // SAFETY: By the type invariant we hold `dax_dev` as `holder`.
        unsafe { b::fs_put_dax(self.dax_dev, self.holder) };
        if !self.bdev_file.is_null() {
            // SAFETY: By the type invariant the file is ours to release.
            unsafe { b::famfs_glue_bdev_release(self.bdev_file) };
        }
    }
}

/// Called by the dax core when memory of a held device fails, or when the
/// device is going away (`MF_MEM_PRE_REMOVE`, e.g. unbound while mounted).
///
/// The mount stops serving data: from now on I/O fails with `EIO`, faults get
/// `SIGBUS` and no map can be created (`FAMFSIOC_NOP` still answers).
/// Processes that map the failed memory are signalled through
/// `mf_dax_kill_procs()`, as the other DAX file systems do; every other
/// mapping of the mount is torn down, so its next access faults and gets
/// `SIGBUS` too. Before a removal, the DAX entries are dropped so the device's
/// pages can go.
///
/// # Safety
///
/// Called by the dax core with a device this module holds.
unsafe extern "C" fn notify_failure(
    dax_dev: *mut b::dax_device,
    offset: u64,
    len: u64,
    mf_flags: c_int,
) -> c_int {
    // SAFETY: `dax_dev` is valid for the duration of the notification.
    let holder = unsafe { b::dax_holder(dax_dev) };
    if holder.is_null() {
        return EOPNOTSUPP.to_errno();
    }
    // SAFETY: The holder is the superblock that claimed the device. It stays
    // valid until `kill_sb` releases the claim, after evicting every inode.
    // A notification racing with that release is not excluded by the dax
    // core (no exported way to wait for it); see Documentation/famfs.rst.
    let info = unsafe { FsInfo::from_sb(holder.cast()) };
    let first = info.failed.swap(1, Ordering::AcqRel) == 0;
    pr_err!(
        "memory failure at device offset {:#x}, length {:#x} (flags {:#x}){}\n",
        offset,
        len,
        mf_flags,
        if first {
            ": the mount stops serving data"
        } else {
            ""
        }
    );
    let start_off = info.backing.as_ref().map_or(0, |b| b.start_off);
    let failed = Extent {
        offset: offset.saturating_sub(start_off),
        len,
    };

    // Take a reference on every mapped file, then work without the registry
    // lock (dropping a reference may evict an inode, which takes it).
    let mut victims: KVec<*mut b::inode> = KVec::new();
    {
        let ranges = info.ranges.lock();
        let mut last = core::ptr::null_mut();
        for r in ranges.iter() {
            if r.inode.0 == last {
                continue;
            }
            last = r.inode.0;
            // SAFETY: Registry entries are removed (under this lock) before
            // their inode is freed; `igrab` refuses inodes being evicted.
            let i = unsafe { b::igrab(r.inode.0) };
            if !i.is_null() && victims.push(i, GFP_KERNEL).is_err() {
                // SAFETY: Just grabbed.
                unsafe { b::iput(i) };
            }
        }
    }
    for inode in victims.iter().copied() {
        // SAFETY: We hold a reference on `inode`; its map stays until
        // eviction.
        unsafe {
            let mapping = (*inode).i_mapping;
            if let Some(meta) = crate::inode::meta(inode) {
                meta.fmap.file_ranges_in(&failed, |off, n| {
                    let first = off >> PAGE_SHIFT;
                    let last = off.saturating_add(n).saturating_sub(1) >> PAGE_SHIFT;
                    let _ = b::mf_dax_kill_procs(
                        mapping,
                        first as usize,
                        (last - first + 1) as usize,
                        mf_flags,
                    );
                });
            }
            // Under the invalidate lock, held exclusively: a fault that
            // found the mount healthy before `failed` was set holds it
            // shared, so it has installed its mapping by now and the zap
            // below removes it; later faults see `failed` and get SIGBUS.
            b::famfs_glue_invalidate_lock(inode);
            b::unmap_mapping_range(mapping, 0, 0, 1);
            if mf_flags & b::mf_flags_MF_MEM_PRE_REMOVE as c_int != 0 {
                b::famfs_glue_drop_dax_layout(inode);
            }
            b::famfs_glue_invalidate_unlock(inode);
            b::iput(inode);
        }
    }
    0
}

/// Holder operations registered with every claimed dax device.
pub(crate) static HOLDER_OPS: b::dax_holder_operations = b::dax_holder_operations {
    notify_failure: Some(notify_failure),
};
