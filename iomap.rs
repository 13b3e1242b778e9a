// SPDX-License-Identifier: GPL-2.0

//! The iomap operations DAX calls to translate file offsets: every request
//! is answered from the file's validated extent map, never by allocating.

use kernel::ffi::{c_int, c_uint};
use kernel::prelude::*;

use crate::bindings as b;
use crate::inode;
use crate::mount::FsInfo;

const PAGE_MASK: i64 = kernel::page::PAGE_MASK as i64;
const PAGE_SIZE: u64 = kernel::page::PAGE_SIZE as u64;

/// `iomap_ops::iomap_begin`: the device range backing `pos`.
///
/// Files that cannot serve data get an error. Offsets past the extents get
/// an error for writes and faults (a hole there would let a write reach
/// memory the file does not own) and an empty hole for reads.
///
/// # Safety
///
/// Called by the DAX core with a live famfs inode and an iomap to fill.
unsafe extern "C" fn iomap_begin(
    inode: *mut b::inode,
    pos: b::loff_t,
    _length: b::loff_t,
    flags: c_uint,
    iomap: *mut b::iomap,
    _srcmap: *mut b::iomap,
) -> c_int {
    // SAFETY: The DAX core passes a live famfs inode with an open file or
    // mapping.
    let meta = match unsafe { inode::usable_meta(inode) } {
        Ok(m) => m,
        Err(e) => return e.to_errno(),
    };
    // SAFETY: The superblock outlives the inode.
    let info = unsafe { FsInfo::from_sb((*inode).i_sb) };
    let Some(backing) = info.backing.as_ref() else {
        return EIO.to_errno();
    };
    // Extents are page aligned, so the page holding `pos` is contiguous.
    let page_pos = pos & PAGE_MASK;
    let Ok(file_off) = u64::try_from(page_pos) else {
        return EINVAL.to_errno();
    };
    let Some(m) = meta.fmap.resolve(file_off) else {
        // Past the extents. DAX asks this of reads at the end of the file
        // (before clamping them to the size): answer with a hole, which
        // reads as nothing. Writes and faults never get one.
        if flags & (b::IOMAP_WRITE | b::IOMAP_FAULT) != 0 {
            return EIO.to_errno();
        }
        // SAFETY: `iomap` is ours to fill.
        unsafe {
            (*iomap).offset = page_pos;
            (*iomap).length = PAGE_SIZE;
            (*iomap).addr = b::IOMAP_NULL_ADDR as u64;
            (*iomap).type_ = b::IOMAP_HOLE as u16;
            (*iomap).flags = 0;
            (*iomap).bdev = core::ptr::null_mut();
            (*iomap).dax_dev = backing.dax_dev();
        }
        return 0;
    };
    let Some(addr) = m.dev_offset.checked_add(backing.start_off) else {
        return EIO.to_errno();
    };
    // SAFETY: `iomap` is ours to fill.
    unsafe {
        (*iomap).offset = page_pos;
        (*iomap).length = m.len;
        (*iomap).addr = addr;
        (*iomap).type_ = b::IOMAP_MAPPED as u16;
        (*iomap).flags = 0;
        (*iomap).bdev = core::ptr::null_mut();
        (*iomap).dax_dev = backing.dax_dev();
    }
    0
}

/// The iomap operations of famfs files.
pub(crate) static IOMAP_OPS: b::iomap_ops = b::iomap_ops {
    iomap_begin: Some(iomap_begin),
    ..pin_init::zeroed()
};
