//! Fixtures shared by famfs-format's integration tests: a superblock and
//! log entries built from plain numbers.

#![allow(dead_code)]

use famfs_format::*;
use uuid::Uuid;

pub const MIB: u64 = 1 << 20;
pub const GIB: u64 = 1 << 30;

/// A superblock of a device of `dev_size` bytes with the default 8 MiB log.
pub fn sb(dev_size: u64) -> Superblock {
    Superblock {
        version: SUPERBLOCK_VERSION,
        omf: (OMF_VER_MAJOR, OMF_VER_MINOR),
        log_offset: 2 * MIB,
        log_len: 8 * MIB,
        alloc_unit: 2 * MIB,
        fs_uuid: Uuid::from_u128(1),
        dev_uuid: Uuid::from_u128(2),
        system_uuid: Uuid::from_u128(3),
        flags: 0,
        dev_size,
        dev_name: "dax0.0".into(),
    }
}

/// A root-owned 0644 file entry of `size` bytes at path `p` with `map`.
pub fn entry(p: &str, size: u64, map: FileMap) -> EntryBody {
    EntryBody::File {
        size,
        flags: 2,
        uid: 0,
        gid: 0,
        mode: 0o644,
        relpath: p.into(),
        map,
    }
}

/// A file entry of `size` bytes over simple extents `(offset, len)`.
pub fn file(p: &str, exts: &[(u64, u64)], size: u64) -> EntryBody {
    entry(
        p,
        size,
        FileMap::Simple(
            exts.iter()
                .map(|&(offset, len)| Extent::new(offset, len))
                .collect(),
        ),
    )
}

/// A directory entry.
pub fn dir(p: &str) -> EntryBody {
    EntryBody::Mkdir {
        uid: 0,
        gid: 0,
        mode: 0o755,
        relpath: p.into(),
    }
}
