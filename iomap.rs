// SPDX-License-Identifier: GPL-2.0

//! File offset to device offset, for DAX: every request is answered from
//! the file's validated extent map, never by allocating.

#![deny(unsafe_code)]

use kernel::prelude::*;

use crate::inode::usable_meta_in;
use crate::mount::Famfs;
use crate::vfs::inode::Inode;
use crate::vfs::iomap::{Iomap, IomapFlags};

const PAGE_MASK: i64 = kernel::page::PAGE_MASK as i64;
const PAGE_SIZE: u64 = kernel::page::PAGE_SIZE as u64;

/// `iomap_begin`: the device range backing `pos`.
///
/// Files that cannot serve data get an error. Offsets past the extents get
/// an error for writes and faults (a hole there would let a write reach
/// memory the file does not own) and an empty hole for reads.
pub(crate) fn iomap_begin(
    inode: &Inode<Famfs>,
    pos: i64,
    _length: i64,
    flags: IomapFlags,
    iomap: &mut Iomap<'_>,
) -> Result {
    let info = inode.super_block().info();
    let meta = usable_meta_in(info, inode)?;
    let Some(backing) = info.backing() else {
        return Err(EIO);
    };
    // Extents are page aligned, so the page holding `pos` is contiguous.
    let page_pos = pos & PAGE_MASK;
    let file_off = u64::try_from(page_pos).map_err(|_| EINVAL)?;
    let Some(m) = meta.fmap.resolve(file_off) else {
        // Past the extents. DAX asks this of reads at the end of the file
        // (before clamping them to the size): answer with a hole, which
        // reads as nothing. Writes and faults never get one.
        if flags.is_write() || flags.is_fault() {
            return Err(EIO);
        }
        iomap.set_hole(page_pos, PAGE_SIZE, backing);
        return Ok(());
    };
    // The extent's device: validation saw it open, and devices stay open
    // until the mount goes away.
    let dev = info.device(m.dev).ok_or(EIO)?;
    let addr = m.dev_offset.checked_add(dev.start_off()).ok_or(EIO)?;
    iomap.set_mapped(page_pos, m.len, addr, dev);
    Ok(())
}
