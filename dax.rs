// SPDX-License-Identifier: GPL-2.0

//! The memory behind a mount, and what happens when it fails.
//!
//! Two kinds of source are accepted: `/dev/daxX.Y`, a device-dax character
//! device bound to the `fsdev_dax` driver, and `/dev/pmemN`, an fsdax block
//! device. Either way the mount becomes the dax device's holder (see
//! `vfs::dax`) and receives memory-failure notifications.

#![deny(unsafe_code)]

use kernel::page::PAGE_SHIFT;
use kernel::prelude::*;

use crate::fmap::{Extent, MAX_DEVICES};
use crate::mount::Famfs;
use crate::vfs::dax::{
    source_kind, AddedDevice, ClaimStep, DaxClaim, DaxRef, FailureFlags, SourceKind,
};
use crate::vfs::fs::{FsContext, SuperBlock};
use crate::vfs::inode::for_each_inode;
use crate::vfs::pr_err_limited;

/// Claims the device at `source` for `sb`. Every refusal is reported (one
/// kernel log line, and the fs_context log) with its own errno.
pub(crate) fn claim(
    fc: &FsContext<'_, Famfs>,
    sb: &SuperBlock<Famfs>,
    source: &CStr,
) -> Result<DaxClaim> {
    let kind = source_kind(source).map_err(|e| fc.refuse(c"cannot look up the source", e))?;
    let backing = match kind {
        SourceKind::Char => DaxClaim::devdax(source, sb).map_err(|(step, e)| {
            let what = match (step, e) {
                (ClaimStep::Open, e) if e == ENODEV => c"character device is not a dax device",
                // An unbound dax device has no character device behind its
                // node any more.
                (ClaimStep::Open, e) if e == ENXIO => {
                    c"character device has no driver (an unbound dax device? bind it to fsdev_dax)"
                }
                (ClaimStep::Open, _) => c"cannot open the dax device",
                (ClaimStep::Claim, e) if e == EOPNOTSUPP => {
                    c"dax device is not bound to fsdev_dax (see /sys/bus/dax/drivers/fsdev_dax/new_id)"
                }
                (ClaimStep::Claim, e) if e == ENODEV => {
                    c"dax device is not bound to any driver (bind it to fsdev_dax)"
                }
                (ClaimStep::Claim, e) if e == EBUSY => c"dax device is in use (already mounted?)",
                (ClaimStep::Claim, _) => c"cannot claim the dax device",
            };
            fc.refuse(what, e)
        })?,
        SourceKind::Block => DaxClaim::pmem(source, sb).map_err(|(step, e)| {
            let what = match (step, e) {
                (ClaimStep::Open, e) if e == EBUSY => c"block device is in use (already mounted?)",
                (ClaimStep::Open, _) => c"cannot open the block device",
                (ClaimStep::Claim, _) => c"block device does not support DAX",
            };
            fc.refuse(what, e)
        })?,
        SourceKind::Other => {
            return Err(fc.refuse(c"not a block device or a dax character device", ENOTBLK))
        }
    };
    if backing.size() == 0 {
        return Err(fc.refuse(c"the device has no memory", EINVAL));
    }
    Ok(backing)
}

/// Why adding a device was refused: the errno, after one rate-limited log
/// line.
fn add_refused(index: u64, why: &str, e: Error) -> Error {
    pr_err_limited!("cannot add device {index}: {why}\n");
    e
}

/// KABI 44 `DAXDEV_OPEN`: opens the devdax device at `path` as device
/// `index` of the mount. Adding the device already at that index again
/// succeeds and changes nothing. Refused, each with one rate-limited log
/// line: an index beyond the table (`EINVAL`); an index that holds another
/// device (`EEXIST`); a device this mount has at another index, or that
/// another holder has (`EBUSY`); a path that is not a dax device
/// (`ENODEV`), has no driver (`ENXIO`) or whose device is not bound to
/// fsdev_dax (`EOPNOTSUPP`); a device without memory (`EINVAL`); a mount
/// that stopped serving data (`EIO`). The caller checked the caller's
/// privilege and the request's form.
pub(crate) fn add_device(sb: &SuperBlock<Famfs>, index: u64, path: &CStr) -> Result {
    let info = sb.info();
    let slot = match u32::try_from(index) {
        Ok(i) if (i as usize) < MAX_DEVICES => i,
        _ => {
            return Err(add_refused(
                index,
                "index beyond the device table (64 entries)",
                EINVAL,
            ))
        }
    };
    if info.has_failed() {
        return Err(add_refused(
            index,
            "the mount has stopped serving data",
            EIO,
        ));
    }
    let dax = DaxRef::open(path).map_err(|e| {
        let why = if e == ENODEV {
            "not a dax device"
        } else if e == ENXIO {
            "the dax device has no driver (bind it to fsdev_dax)"
        } else {
            "cannot open the path"
        };
        add_refused(index, why, e)
    })?;
    let _guard = info.dev_lock.lock();
    let mut held_at = None;
    info.for_each_device(|i, c| {
        if dax.is(c) {
            held_at = Some(i);
        }
    });
    match (held_at, info.device(slot)) {
        (Some(i), _) if i == slot => return Ok(()),
        (Some(_), _) => {
            return Err(add_refused(
                index,
                "the mount has this device at another index",
                EBUSY,
            ))
        }
        (None, Some(_)) => return Err(add_refused(index, "another device has that index", EEXIST)),
        (None, None) => {}
    }
    let added = AddedDevice::claim(dax, sb, slot).map_err(|e| {
        let why = if e == EOPNOTSUPP {
            "the dax device is not bound to fsdev_dax"
        } else if e == EBUSY {
            "the dax device is in use (mounted, or added to another mount?)"
        } else if e == ENODEV {
            "the dax device is not bound to any driver"
        } else {
            "cannot claim the dax device"
        };
        add_refused(index, why, e)
    })?;
    let size = added.claim_ref().size();
    if size == 0 {
        return Err(add_refused(index, "the device has no memory", EINVAL));
    }
    if !info.add_device(slot, added) {
        // Not reached: the slot was checked free under the same lock.
        return Err(add_refused(index, "another device has that index", EEXIST));
    }
    if let Some(c) = info.device(slot) {
        pr_info!("device {slot}: {} MiB ({})\n", size >> 20, c.name());
    }
    Ok(())
}

/// A memory failure in device `dev`, or its removal (`MF_MEM_PRE_REMOVE`,
/// e.g. unbound while mounted).
///
/// On device 0, which holds the metadata, the mount stops serving data:
/// from now on I/O fails with `EIO`, faults get `SIGBUS` and no map can be
/// created (`FAMFSIOC_NOP` still answers). On another device, only the files
/// with memory on it stop (the same way), and no new map may use it; files
/// wholly on other devices keep working. Either way the device's bit is set
/// in `failed_devices`.
/// Processes that map the failed memory are signalled (`mf_dax_kill_procs`),
/// as the other DAX file systems do; every mapping of the mount is torn
/// down, under each file's invalidate lock, so that its next access faults
/// and gets `SIGBUS` (a fault that saw the mount healthy finished before the
/// zap; later faults see the failure). Before a removal, every DAX entry is
/// dropped so the device's pages can go. Nothing here allocates, so the
/// handling cannot fail half way.
pub(crate) fn notify_failure(
    sb: &SuperBlock<Famfs>,
    dev: u32,
    offset: u64,
    len: u64,
    flags: FailureFlags,
) -> Result {
    let info = sb.info();
    let dev_first = info.set_device_failed(dev);
    let first = if dev == 0 {
        info.set_failed()
    } else {
        dev_first
    };
    pr_err!(
        "memory failure on device {} at offset {:#x}, length {:#x} (flags {:#x}){}\n",
        dev,
        offset,
        len,
        flags.raw(),
        match (first, dev) {
            (false, _) => "",
            (true, 0) => ": the mount stops serving data",
            (true, _) => ": its files stop serving data",
        }
    );
    let start_off = info.device(dev).map_or(0, |b| b.start_off());
    let failed = Extent::on(dev, offset.saturating_sub(start_off), len);
    for_each_inode(sb, |inode| {
        if !inode.is_reg() {
            return;
        }
        let meta = inode.data();
        // Another device's failure leaves the files without memory on it
        // alone.
        if dev != 0 && !meta.is_some_and(|m| m.uses_device(dev)) {
            return;
        }
        if let Some(meta) = meta {
            meta.fmap.file_ranges_in(&failed, |off, n| {
                let first = off >> PAGE_SHIFT;
                let last = off.saturating_add(n).saturating_sub(1) >> PAGE_SHIFT;
                inode.kill_procs(first, last - first + 1, flags.raw());
            });
        }
        let guard = inode.invalidate_lock();
        guard.unmap_all();
        if flags.pre_remove() {
            guard.drop_dax_layout();
        }
    });
    Ok(())
}
