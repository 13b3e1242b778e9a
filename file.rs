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

use crate::inode::usable_meta;
use crate::mount::Famfs;
use crate::opts::Op;
use crate::vfs::file::{FaultResult, File, IovIter, Kiocb, VmFault};
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
/// fault handlers, with huge pages wherever the extents allow).
pub(crate) fn mmap(file: &File<Famfs>) -> Result {
    usable_meta(file.inode())?;
    Ok(())
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
