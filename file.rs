// SPDX-License-Identifier: GPL-2.0

//! The DAX data path of regular files: open, read, write, mmap and page
//! faults, all served through the file's extent map.
//!
//! The rules owned here: who may open a file for writing (`strict_write`),
//! write(2) only where the mount's permission bits allow it, reads stop at
//! the end of the file, writes never extend it (a write that starts at or
//! past the end fails with `ENOSPC`, one that crosses it is short), only
//! files that can serve data are mapped, and every fault checks that under
//! the invalidate lock.

#![deny(unsafe_code)]

use kernel::prelude::*;
use kernel::sync::atomic::Relaxed;

use crate::fmap::{fault_block, PAGE, PMD_BYTES, PUD_BYTES};
use crate::inode::{usable_meta, usable_meta_in};
use crate::mount::{Famfs, FsInfo};
use crate::opts::Op;
use crate::vfs::file::{FaultGuard, FaultResult, File, IovIter, Kiocb, MapMode, NewVma, VmFault};
use crate::vfs::fs::Counter;
use crate::vfs::inode::Inode;

/// `open`. Ordinary VFS permission checks apply (root may write a file
/// without write bits, as on any file system). With the `strict_write`
/// mount option a file without any write permission bit cannot be opened
/// for writing by anyone, root included, except by the open that creates it
/// (`FMODE_CREATED`, for which the VFS checks no permission either), so that
/// such a file can only be given its map.
pub(crate) fn open(inode: &Inode<Famfs>, file: &File<Famfs>) -> Result {
    let strict = inode.super_block().info().strict_write();
    if strict && file.is_write() && !file.created_it() && inode.mode() & 0o222 == 0 {
        return Err(EACCES);
    }
    Ok(())
}

/// `read_iter`: a DAX copy, short at the end of the file.
pub(crate) fn read_iter(iocb: &mut Kiocb<'_, Famfs>, to: &mut IovIter) -> Result<usize> {
    let inode = iocb.file().inode();
    // Checked under the inode lock: a size change holds it exclusively while
    // it changes the size and invalidates the file, so a file usable here
    // keeps its size and map until the copy is done. (Checked before the
    // lock, a truncate in between made this a silent short read.)
    let lock = inode.lock_shared();
    usable_meta(inode)?;
    if to.count() == 0 {
        return Ok(0);
    }
    iocb.dax_read(&lock, to)
}

/// `write_iter`: writes never extend a file.
pub(crate) fn write_iter(iocb: &mut Kiocb<'_, Famfs>, from: &mut IovIter) -> Result<usize> {
    let inode = iocb.file().inode();
    // The mount's permission bits first: a refused write changes nothing.
    inode.super_block().info().may(Op::Write)?;
    // Under the lock, as for reads: checked before it, a truncate in between
    // turned this write into ENOSPC (past the new end) instead of the
    // invalid file's ENXIO.
    let lock = inode.lock();
    usable_meta(inode)?;
    if iocb.write_checks(&lock, from)? == 0 {
        return Ok(0);
    }
    let size = inode.size();
    let pos = iocb.pos();
    if pos >= size {
        return Err(ENOSPC);
    }
    from.truncate((size - pos) as u64);
    iocb.write_prepare(&lock)?;
    iocb.dax_write(&lock, from)
}

/// `mmap`: only files that can serve data (the layer then installs the
/// fault handlers, with huge pages wherever the extents allow). On a mount
/// with the `pfnmap` option a shared mapping is served with raw page-frame
/// entries, up to 1 GiB ([`pfn_fault`]); private mappings always go
/// through DAX.
pub(crate) fn mmap(file: &File<Famfs>, vma: &NewVma<'_>) -> Result<MapMode> {
    usable_meta(file.inode())?;
    if file.inode().super_block().info().pfnmap() && vma.is_shared() {
        Ok(MapMode::Pfn)
    } else {
        Ok(MapMode::Dax)
    }
}

/// Where mappings of a file are placed: on a `pfnmap` mount a file of at
/// least 1 GiB gets a 1 GiB-aligned address (so that its aligned GiBs can
/// be PUD entries); everything else 2 MiB, as THP files do.
pub(crate) fn map_align(file: &File<Famfs>) -> u64 {
    let inode = file.inode();
    let size = u64::try_from(inode.size()).unwrap_or(0);
    if inode.super_block().info().pfnmap() && size >= PUD_BYTES {
        PUD_BYTES
    } else {
        PMD_BYTES
    }
}

/// A fault of `order` (0, PMD or PUD) on a PFN-mode mapping: one map
/// lookup and one device lookup, under the invalidate lock as for DAX
/// faults. A huge entry needs the block inside the mapping and the file
/// ([`fault_block`]), the file's memory for it in one run of one device
/// ([`Fmap::resolve_run`]) and that memory aligned like the block;
/// otherwise the fault falls back to the next smaller size.
pub(crate) fn pfn_fault(vmf: &VmFault<'_, Famfs>, order: u32) -> FaultResult {
    let inode = vmf.inode();
    let info = inode.super_block().info();
    let lock = vmf.lock();
    let ret = pfn_fault_locked(&lock, info, inode, order);
    drop(lock);
    if ret.installed() {
        let counter = match order {
            0 => Counter::PteFaults,
            PMD_ORDER => Counter::PmdFaults,
            _ => Counter::PudFaults,
        };
        info.counters.get(counter).fetch_add(1, Relaxed);
    }
    ret
}

const PAGE_SHIFT: u32 = 12;
const PMD_ORDER: u32 = PMD_BYTES.trailing_zeros() - PAGE_SHIFT;
const PUD_ORDER: u32 = PUD_BYTES.trailing_zeros() - PAGE_SHIFT;

fn pfn_fault_locked(
    lock: &FaultGuard<'_, Famfs>,
    info: &FsInfo,
    inode: &Inode<Famfs>,
    order: u32,
) -> FaultResult {
    // A small entry that cannot be made is an error; a huge one falls back.
    let refuse = if order == 0 {
        FaultResult::SIGBUS
    } else {
        FaultResult::FALLBACK
    };
    if order != 0 && order != PMD_ORDER && order != PUD_ORDER {
        return FaultResult::FALLBACK;
    }
    let meta = match usable_meta_in(info, inode) {
        Ok(m) => m,
        Err(e) => return FaultResult::from_error(e),
    };
    let bytes = PAGE << order;
    let at = lock.geometry();
    let size = u64::try_from(inode.size()).unwrap_or(0);
    let Some((_, off)) = fault_block(at, bytes, size) else {
        return refuse;
    };
    let Some(m) = meta.fmap.resolve_run(off, bytes) else {
        return refuse;
    };
    let Some(dev) = info.device(m.dev) else {
        return FaultResult::SIGBUS;
    };
    let Some(dev_off) = m.dev_offset.checked_add(dev.start_off()) else {
        return FaultResult::SIGBUS;
    };
    let pages = bytes / PAGE;
    match dev.pfn(dev_off, pages) {
        Ok(pfn) if pfn.is_aligned(pages) => lock.insert_pfn(order, pfn),
        Ok(_) => refuse,
        Err(e) if e == ERANGE && order != 0 => FaultResult::FALLBACK,
        Err(e) => FaultResult::from_error(e),
    }
}

/// A fault of `order` (0: one page; the PMD order: 2 MiB) through DAX.
/// `new_mapping` says whether a successful fault counts as a new mapping
/// (faults do, write upgrades of a mapped page do not).
pub(crate) fn fault(vmf: &VmFault<'_, Famfs>, order: u32, new_mapping: bool) -> FaultResult {
    // One check, one map lookup: `iomap_begin` refuses a file that cannot
    // serve data (so the fault gets SIGBUS), and it runs under the
    // invalidate lock, held shared by this guard. Invalidation (a size
    // change, a memory failure) takes that lock exclusively before zapping
    // the mappings, so no fault can map the memory after the zap.
    let lock = vmf.lock();
    let ret = lock.dax_fault(order);
    drop(lock);
    if new_mapping && ret.installed() {
        let counter = if order == 0 {
            Counter::PteFaults
        } else {
            Counter::PmdFaults
        };
        vmf.inode()
            .super_block()
            .info()
            .counters
            .get(counter)
            .fetch_add(1, Relaxed);
    }
    ret
}
