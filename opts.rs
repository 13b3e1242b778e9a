// SPDX-License-Identifier: GPL-2.0

//! A mount's permission bits (KABI 44 `GET_OPTS`, `SET_OPTS`,
//! `CLEAR_OPTS`): one bit per operation that changes the namespace, a
//! file's attributes, its bytes through write(2), or gives it a map. A
//! cleared bit refuses that operation on the mount for everyone, root
//! included, with `EPERM`; nothing changes.
//!
//! Where a mount starts (the `kabi=` mount option):
//! - `kabi=43` (the default): every operation famfs has always served, so
//!   that KABI 43 user space sees no difference ([`KABI43_DEFAULT`]);
//! - `kabi=44`: the KABI 44 default ([`KABI44_DEFAULT`]): unlinking a
//!   mapped file, rmdir, rename and size changes are refused until a
//!   `SET_OPTS` allows them.
//!
//! Plain `core` Rust, no allocation and no kernel dependency: the module
//! compiles it as `crate::opts` (KUnit), the host crate `famfs-fmap`
//! compiles the same file for `cargo test`. The bit values are those of the
//! reference's KABI 44 header; the module checks them at compile time
//! against the ones bindgen makes of `uapi/famfs_kabi44.h`.

#![deny(unsafe_code)]

/// `FAMFS44_OPT_CREATE`: create a regular file.
pub const CREATE: u64 = 1 << 0;
/// `FAMFS44_OPT_MKDIR`.
pub const MKDIR: u64 = 1 << 1;
/// `FAMFS44_OPT_MKNOD` (famfs has no device nodes: never served).
pub const MKNOD: u64 = 1 << 2;
/// `FAMFS44_OPT_SYMLINK` (never served).
pub const SYMLINK: u64 = 1 << 3;
/// `FAMFS44_OPT_LINK` (never served).
pub const LINK: u64 = 1 << 4;
/// `FAMFS44_OPT_UNLINK`: unlink a file that has a map (also: replace one by
/// a rename). An empty file can always be unlinked.
pub const UNLINK: u64 = 1 << 5;
/// `FAMFS44_OPT_RMDIR`.
pub const RMDIR: u64 = 1 << 6;
/// `FAMFS44_OPT_RENAME`.
pub const RENAME: u64 = 1 << 7;
/// `FAMFS44_OPT_CHMOD`.
pub const CHMOD: u64 = 1 << 8;
/// `FAMFS44_OPT_CHOWN`.
pub const CHOWN: u64 = 1 << 9;
/// `FAMFS44_OPT_TRUNCATE`: any change of a file's size.
pub const TRUNCATE: u64 = 1 << 10;
/// `FAMFS44_OPT_UTIMES`: setting access or modification times.
pub const UTIMES: u64 = 1 << 11;
/// `FAMFS44_OPT_WRITE`: write(2) and its relatives (not stores through a
/// mapping).
pub const WRITE: u64 = 1 << 12;
/// `FAMFS44_OPT_XATTR` (reserved: famfs has no extended attributes).
pub const XATTR: u64 = 1 << 13;
/// `FAMFS44_OPT_MAP_CREATE`: give a file its map (any map ioctl).
pub const MAP_CREATE: u64 = 1 << 14;

/// Every bit the ABI defines; `SET_OPTS` and `CLEAR_OPTS` refuse others.
pub const KNOWN: u64 = (MAP_CREATE << 1) - 1;

/// `FAMFS44_OPT_DEFAULT`: where a `kabi=44` mount starts.
pub const KABI44_DEFAULT: u64 = CREATE | MKDIR | CHMOD | CHOWN | UTIMES | WRITE | MAP_CREATE;

/// Where a `kabi=43` (default) mount starts: everything famfs serves.
pub const KABI43_DEFAULT: u64 = KABI44_DEFAULT | UNLINK | RMDIR | RENAME | TRUNCATE;

/// The permission bits a new mount of ABI generation `kabi` starts with
/// (`None`: not a generation famfs serves).
pub const fn defaults(kabi: u32) -> Option<u64> {
    match kabi {
        43 => Some(KABI43_DEFAULT),
        44 => Some(KABI44_DEFAULT),
        _ => None,
    }
}

/// An operation a permission bit governs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// Create a regular file.
    Create,
    /// Make a directory.
    Mkdir,
    /// Unlink (or replace by a rename) a file that has a map.
    UnlinkMapped,
    /// Remove a directory.
    Rmdir,
    /// Rename.
    Rename,
    /// Change permission bits.
    Chmod,
    /// Change the owner or group.
    Chown,
    /// Change a file's size.
    Truncate,
    /// Set access or modification times.
    Utimes,
    /// write(2).
    Write,
    /// Give a file its map.
    MapCreate,
}

impl Op {
    /// The operation's bit.
    pub const fn bit(self) -> u64 {
        match self {
            Op::Create => CREATE,
            Op::Mkdir => MKDIR,
            Op::UnlinkMapped => UNLINK,
            Op::Rmdir => RMDIR,
            Op::Rename => RENAME,
            Op::Chmod => CHMOD,
            Op::Chown => CHOWN,
            Op::Truncate => TRUNCATE,
            Op::Utimes => UTIMES,
            Op::Write => WRITE,
            Op::MapCreate => MAP_CREATE,
        }
    }

    /// The operation and its bit, for the kernel log.
    pub const fn describe(self) -> &'static str {
        match self {
            Op::Create => "create (FAMFS44_OPT_CREATE)",
            Op::Mkdir => "mkdir (FAMFS44_OPT_MKDIR)",
            Op::UnlinkMapped => "unlink of a mapped file (FAMFS44_OPT_UNLINK)",
            Op::Rmdir => "rmdir (FAMFS44_OPT_RMDIR)",
            Op::Rename => "rename (FAMFS44_OPT_RENAME)",
            Op::Chmod => "chmod (FAMFS44_OPT_CHMOD)",
            Op::Chown => "chown (FAMFS44_OPT_CHOWN)",
            Op::Truncate => "size change (FAMFS44_OPT_TRUNCATE)",
            Op::Utimes => "setting times (FAMFS44_OPT_UTIMES)",
            Op::Write => "write (FAMFS44_OPT_WRITE)",
            Op::MapCreate => "map creation (FAMFS44_OPT_MAP_CREATE)",
        }
    }

    /// Whether `opts` allow the operation.
    pub const fn allowed(self, opts: u64) -> bool {
        opts & self.bit() != 0
    }
}

/// What a `setattr` asks to change, as far as the permission bits care.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AttrChange {
    /// The size, to another value than it has.
    pub size: bool,
    /// The permission bits.
    pub mode: bool,
    /// The owner or the group.
    pub owner: bool,
    /// The access or modification time, asked for by itself (not as part
    /// of a truncate, which sets them too).
    pub times: bool,
}

/// The first operation of a `setattr` that `opts` refuse, if any. The times
/// a size change sets by itself (truncate updates mtime and ctime) count as
/// part of the size change, not as setting times.
pub fn refused_setattr(opts: u64, c: AttrChange) -> Option<Op> {
    let ops = [
        (c.size, Op::Truncate),
        (c.mode, Op::Chmod),
        (c.owner, Op::Chown),
        (c.times && !c.size, Op::Utimes),
    ];
    ops.iter()
        .find(|(asked, op)| *asked && !op.allowed(opts))
        .map(|(_, op)| *op)
}

/// The first operation of a rename that `opts` refuse, if any: the rename
/// itself, and unlinking the mapped file it would replace (`replaces_mapped`;
/// an exchange replaces nothing).
pub fn refused_rename(opts: u64, replaces_mapped: bool) -> Option<Op> {
    if !Op::Rename.allowed(opts) {
        Some(Op::Rename)
    } else if replaces_mapped && !Op::UnlinkMapped.allowed(opts) {
        Some(Op::UnlinkMapped)
    } else {
        None
    }
}

/// Why `SET_OPTS` or `CLEAR_OPTS` was refused (`EINVAL`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnknownBits(pub u64);

/// The bits after `SET_OPTS` (`set`) or `CLEAR_OPTS` of `bits` on `opts`;
/// bits the ABI does not define are refused and change nothing.
pub const fn update(opts: u64, bits: u64, set: bool) -> Result<u64, UnknownBits> {
    if bits & !KNOWN != 0 {
        return Err(UnknownBits(bits & !KNOWN));
    }
    Ok(if set { opts | bits } else { opts & !bits })
}
