// SPDX-License-Identifier: GPL-2.0

//! The mount's registry of mapped device ranges: no two files of a mount
//! may map the same memory. The one home of that rule: map installation
//! claims a file's ranges here, eviction releases them.
//!
//! Memory-failure handling does not need a reverse lookup through this
//! registry: it walks the superblock's inodes (`vfs::inode::for_each_inode`)
//! and asks each file's own map which of its pages failed
//! (`Fmap::file_ranges_in`), which needs no allocation and no reference to
//! an inode kept here.

#![deny(unsafe_code)]

use kernel::new_mutex;
use kernel::prelude::*;
use kernel::sync::Mutex;

use crate::fmap::Fmap;

/// One device range of a mapped file.
struct MappedRange {
    /// First device byte.
    start: u64,
    /// First device byte after the range.
    end: u64,
    /// The file's registry id (unique for the mount's life).
    owner: u64,
    /// The file's inode number, for messages.
    ino: u64,
}

/// Why a claim was refused.
#[derive(Debug)]
pub(crate) enum ClaimError {
    /// A range overlaps the memory of the file with this inode number.
    Overlap(u64),
    /// No memory for the registry entries.
    NoMemory,
}

/// The registry.
#[pin_data]
pub(crate) struct Registry {
    #[pin]
    ranges: Mutex<KVec<MappedRange>>,
}

impl Registry {
    /// An empty registry.
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Registry {
            ranges <- new_mutex!(KVec::new()),
        })
    }

    /// Claims every range of `fmap` for the file `owner` (inode `ino`), or
    /// nothing: refused if any range overlaps another file's.
    pub(crate) fn claim(&self, owner: u64, ino: u64, fmap: &Fmap) -> Result<(), ClaimError> {
        let mut ranges = self.ranges.lock();
        let mut conflict = None;
        fmap.for_each_range(|e| {
            let end = e.offset.saturating_add(e.len);
            if conflict.is_none() {
                conflict = ranges
                    .iter()
                    .find(|r| e.offset < r.end && r.start < end)
                    .map(|r| r.ino);
            }
        });
        if let Some(other) = conflict {
            return Err(ClaimError::Overlap(other));
        }
        let before = ranges.len();
        let mut failed = false;
        fmap.for_each_range(|e| {
            if !failed {
                let r = MappedRange {
                    start: e.offset,
                    end: e.offset.saturating_add(e.len),
                    owner,
                    ino,
                };
                failed = ranges.push(r, GFP_KERNEL).is_err();
            }
        });
        if failed {
            ranges.truncate(before);
            return Err(ClaimError::NoMemory);
        }
        Ok(())
    }

    /// Releases every range of the file `owner`.
    pub(crate) fn release(&self, owner: u64) {
        self.ranges.lock().retain(|r| r.owner != owner);
    }
}
