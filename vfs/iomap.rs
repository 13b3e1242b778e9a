// SPDX-License-Identifier: GPL-2.0

//! `struct iomap` and the `iomap_ops` the DAX core calls to translate file
//! offsets into device offsets.

use kernel::error::from_result;
use kernel::ffi::{c_int, c_uint};

use super::dax::DaxClaim;
use super::fs::{FileSystem, Tables};
use super::inode::Inode;
use crate::bindings as b;

/// What an `iomap_begin` call is for.
#[derive(Clone, Copy)]
pub(crate) struct IomapFlags(c_uint);

impl IomapFlags {
    /// A write (`IOMAP_WRITE`).
    pub(crate) fn is_write(self) -> bool {
        self.0 & b::IOMAP_WRITE != 0
    }

    /// A page fault (`IOMAP_FAULT`).
    pub(crate) fn is_fault(self) -> bool {
        self.0 & b::IOMAP_FAULT != 0
    }
}

/// The mapping an `iomap_begin` fills in.
///
/// # Invariants
///
/// `raw` is the iomap the DAX core passed to `iomap_begin`, ours to fill
/// for the call.
pub(crate) struct Iomap<'a> {
    raw: &'a mut b::iomap,
}

impl Iomap<'_> {
    /// File bytes `offset..offset + length` are device bytes at `addr` of
    /// the claimed device.
    pub(crate) fn set_mapped(&mut self, offset: i64, length: u64, addr: u64, dev: &DaxClaim) {
        self.set(offset, length, addr, b::IOMAP_MAPPED as u16, dev);
    }

    /// File bytes `offset..offset + length` are a hole (read as nothing).
    pub(crate) fn set_hole(&mut self, offset: i64, length: u64, dev: &DaxClaim) {
        self.set(
            offset,
            length,
            b::IOMAP_NULL_ADDR as u64,
            b::IOMAP_HOLE as u16,
            dev,
        );
    }

    fn set(&mut self, offset: i64, length: u64, addr: u64, type_: u16, dev: &DaxClaim) {
        self.raw.offset = offset;
        self.raw.length = length;
        self.raw.addr = addr;
        self.raw.type_ = type_;
        self.raw.flags = 0;
        self.raw.bdev = core::ptr::null_mut();
        self.raw.dax_dev = dev.dax_dev();
    }
}

impl<T: FileSystem> Tables<T> {
    /// # Safety
    ///
    /// Called by the DAX core as `iomap_ops::iomap_begin`.
    pub(super) unsafe extern "C" fn iomap_begin(
        inode: *mut b::inode,
        pos: b::loff_t,
        length: b::loff_t,
        flags: c_uint,
        iomap: *mut b::iomap,
        _srcmap: *mut b::iomap,
    ) -> c_int {
        from_result(|| {
            // SAFETY: The DAX core passes a live inode of ours (with an open
            // file or a mapping) and an iomap for us to fill.
            let (inode, iomap) = unsafe { (Inode::<T>::from_raw(inode), &mut *iomap) };
            T::iomap_begin(
                inode,
                pos,
                length,
                IomapFlags(flags),
                &mut Iomap { raw: iomap },
            )?;
            Ok(0)
        })
    }
}
