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

use crate::fmap::Extent;
use crate::mount::Famfs;
use crate::vfs::dax::{source_kind, ClaimStep, DaxClaim, FailureFlags, SourceKind};
use crate::vfs::fs::{FsContext, SuperBlock};
use crate::vfs::inode::for_each_inode;

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

/// A memory failure in the device, or its removal (`MF_MEM_PRE_REMOVE`, e.g.
/// unbound while mounted).
///
/// The mount stops serving data: from now on I/O fails with `EIO`, faults
/// get `SIGBUS` and no map can be created (`FAMFSIOC_NOP` still answers).
/// Processes that map the failed memory are signalled (`mf_dax_kill_procs`),
/// as the other DAX file systems do; every mapping of the mount is torn
/// down, under each file's invalidate lock, so that its next access faults
/// and gets `SIGBUS` (a fault that saw the mount healthy finished before the
/// zap; later faults see the failure). Before a removal, every DAX entry is
/// dropped so the device's pages can go. Nothing here allocates, so the
/// handling cannot fail half way.
pub(crate) fn notify_failure(
    sb: &SuperBlock<Famfs>,
    offset: u64,
    len: u64,
    flags: FailureFlags,
) -> Result {
    let info = sb.info();
    let first = info.set_failed();
    pr_err!(
        "memory failure at device offset {:#x}, length {:#x} (flags {:#x}){}\n",
        offset,
        len,
        flags.raw(),
        if first {
            ": the mount stops serving data"
        } else {
            ""
        }
    );
    let start_off = info.backing().map_or(0, |b| b.start_off());
    let failed = Extent {
        offset: offset.saturating_sub(start_off),
        len,
    };
    for_each_inode(sb, |inode| {
        if !inode.is_reg() {
            return;
        }
        if let Some(meta) = inode.data() {
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
