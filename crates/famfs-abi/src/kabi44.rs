//! The famfs ioctl ABI, KABI 44 (`uapi/famfs_kabi44.h`): several dax
//! devices per mount, a self-describing map message, the mount's
//! permission bits.
//!
//! The names follow the header (which prefixes every macro with
//! `FAMFS44_`, so that nothing here shares a name with KABI 43). The
//! crate's tests compare every size, offset and number with what GCC makes
//! of the header, and with the values the reference documents.

use crate::ioc;

/// `FAMFS44_KABI_VERSION`.
pub const FAMFS44_KABI_VERSION: u32 = 44;
/// `FAMFS44_FMAP_VERSION`: the `fmap_version` of a map message.
pub const FAMFS44_FMAP_VERSION: u16 = 1;
/// `FAMFS44_FMAP_MSG_MAX`: the largest `fmap_size`.
pub const FAMFS44_FMAP_MSG_MAX: u32 = 4 << 20;
/// `FAMFS44_MAX_DAXDEVS`: entries of a mount's device table.
pub const FAMFS44_MAX_DAXDEVS: u32 = 64;
/// `FAMFS44_EXT_SIMPLE`: the message's records are simple extents.
pub const FAMFS44_EXT_SIMPLE: u32 = 0;
/// `FAMFS44_EXT_INTERLEAVE`: the records are interleaved extents, each
/// followed by its strips.
pub const FAMFS44_EXT_INTERLEAVE: u32 = 1;

/// `struct famfs_ioc_simple_ext`: one range of one device of the mount.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FamfsIocSimpleExt {
    /// Index in the mount's device table.
    pub se_devindex: u32,
    /// Zero.
    pub reserved: u32,
    /// Device offset.
    pub se_offset: u64,
    /// Length.
    pub se_len: u64,
}

/// `struct famfs_ioc_iext`: an interleaved extent (its strips follow it).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FamfsIocIext {
    /// Strips that follow.
    pub ie_nstrips: u32,
    /// Chunk size.
    pub ie_chunk_size: u32,
    /// File bytes this extent covers.
    pub ie_nbytes: u64,
    /// Zero.
    pub reserved: u64,
}

/// `struct famfs_ioc_fmap_header`: the start of a map message.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FamfsIocFmapHeader {
    /// `enum famfs_file_type`.
    pub file_type: u8,
    /// Zero.
    pub reserved: u8,
    /// [`FAMFS44_FMAP_VERSION`].
    pub fmap_version: u16,
    /// `FAMFS44_EXT_*`.
    pub ext_type: u32,
    /// Records.
    pub nextents: u32,
    /// Bytes of the whole message, header included.
    pub fmap_size: u32,
    /// File size.
    pub file_size: u64,
    /// Zero.
    pub reserved1: u64,
}

/// `struct famfs_ioc_daxdev`: the argument of `FAMFS44_IOC_DAXDEV_OPEN`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FamfsIocDaxdev {
    /// Slot in the mount's device table.
    pub daxdev_index: u64,
    /// User pointer to the device's path.
    pub daxdev_path: u64,
    /// Bytes at `daxdev_path`.
    pub daxdev_path_len: u32,
    /// Zero.
    pub flags: u32,
}

/// `struct famfs_ioc_opts`: the mount's permission bits.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FamfsIocOpts {
    /// `FAMFS44_OPT_*` bits.
    pub opts: u64,
}

/// `struct famfs_ioc_daxdev_info`: the argument of this project's
/// `FAMFS44_IOC_DAXDEV_GET`, one entry of the mount's device table.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FamfsIocDaxdevInfo {
    /// In: the table slot (below [`FAMFS44_MAX_DAXDEVS`]).
    pub index: u64,
    /// Out: the device's bytes; 0 for an empty slot.
    pub size: u64,
    /// Out: `FAMFS44_DAXDEV_*` bits; 0 for an empty slot.
    pub state: u32,
    /// Out: the device offset, modulo 1 GiB, at which the device's memory
    /// is 1 GiB aligned (0 when it starts on a physical GiB boundary, and
    /// from modules older than this field, which left it reserved and 0).
    pub pud_phase: u32,
    /// Out: the device's name, NUL-terminated and zero-filled.
    pub name: [u8; 32],
}

impl FamfsIocDaxdevInfo {
    /// The name's bytes, up to the first NUL.
    pub fn name_bytes(&self) -> &[u8] {
        let end = self
            .name
            .iter()
            .position(|&c| c == 0)
            .unwrap_or(self.name.len());
        &self.name[..end]
    }
}

/// `FAMFS44_DAXDEV_PRESENT`: the slot holds a device.
pub const FAMFS44_DAXDEV_PRESENT: u32 = 1 << 0;
/// `FAMFS44_DAXDEV_FAILED`: the device reported a memory failure (or was
/// removed while mounted).
pub const FAMFS44_DAXDEV_FAILED: u32 = 1 << 1;

/// `FAMFS44_OPT_CREATE`.
pub const FAMFS44_OPT_CREATE: u64 = 1 << 0;
/// `FAMFS44_OPT_MKDIR`.
pub const FAMFS44_OPT_MKDIR: u64 = 1 << 1;
/// `FAMFS44_OPT_MKNOD`.
pub const FAMFS44_OPT_MKNOD: u64 = 1 << 2;
/// `FAMFS44_OPT_SYMLINK`.
pub const FAMFS44_OPT_SYMLINK: u64 = 1 << 3;
/// `FAMFS44_OPT_LINK`.
pub const FAMFS44_OPT_LINK: u64 = 1 << 4;
/// `FAMFS44_OPT_UNLINK`: unlink of a mapped file.
pub const FAMFS44_OPT_UNLINK: u64 = 1 << 5;
/// `FAMFS44_OPT_RMDIR`.
pub const FAMFS44_OPT_RMDIR: u64 = 1 << 6;
/// `FAMFS44_OPT_RENAME`.
pub const FAMFS44_OPT_RENAME: u64 = 1 << 7;
/// `FAMFS44_OPT_CHMOD`.
pub const FAMFS44_OPT_CHMOD: u64 = 1 << 8;
/// `FAMFS44_OPT_CHOWN`.
pub const FAMFS44_OPT_CHOWN: u64 = 1 << 9;
/// `FAMFS44_OPT_TRUNCATE`.
pub const FAMFS44_OPT_TRUNCATE: u64 = 1 << 10;
/// `FAMFS44_OPT_UTIMES`.
pub const FAMFS44_OPT_UTIMES: u64 = 1 << 11;
/// `FAMFS44_OPT_WRITE`.
pub const FAMFS44_OPT_WRITE: u64 = 1 << 12;
/// `FAMFS44_OPT_XATTR` (reserved).
pub const FAMFS44_OPT_XATTR: u64 = 1 << 13;
/// `FAMFS44_OPT_MAP_CREATE`.
pub const FAMFS44_OPT_MAP_CREATE: u64 = 1 << 14;
/// `FAMFS44_OPT_DEFAULT`: what a new mount allows.
pub const FAMFS44_OPT_DEFAULT: u64 = FAMFS44_OPT_CREATE
    | FAMFS44_OPT_MKDIR
    | FAMFS44_OPT_CHMOD
    | FAMFS44_OPT_CHOWN
    | FAMFS44_OPT_UTIMES
    | FAMFS44_OPT_WRITE
    | FAMFS44_OPT_MAP_CREATE;

/// `FAMFS44_IOC_NOP`.
pub const FAMFS44_IOC_NOP: u32 = ioc(0, 0x50, 0);
/// `FAMFS44_IOC_MAP_CREATE` (encodes the header's size only).
pub const FAMFS44_IOC_MAP_CREATE: u32 = ioc(1, 0x51, core::mem::size_of::<FamfsIocFmapHeader>());
/// `FAMFS44_IOC_DAXDEV_OPEN`.
pub const FAMFS44_IOC_DAXDEV_OPEN: u32 = ioc(1, 0x52, core::mem::size_of::<FamfsIocDaxdev>());
/// `FAMFS44_IOC_GET_OPTS`.
pub const FAMFS44_IOC_GET_OPTS: u32 = ioc(2, 0x53, core::mem::size_of::<FamfsIocOpts>());
/// `FAMFS44_IOC_SET_OPTS`.
pub const FAMFS44_IOC_SET_OPTS: u32 = ioc(3, 0x54, core::mem::size_of::<FamfsIocOpts>());
/// `FAMFS44_IOC_CLEAR_OPTS`.
pub const FAMFS44_IOC_CLEAR_OPTS: u32 = ioc(3, 0x55, core::mem::size_of::<FamfsIocOpts>());
/// `FAMFS44_IOC_MAP_GET`: this project's addition, a file's map read back
/// as a message (the header's `fmap_size` is the buffer's size going in).
pub const FAMFS44_IOC_MAP_GET: u32 = ioc(3, 0x5a, core::mem::size_of::<FamfsIocFmapHeader>());
/// `FAMFS44_IOC_DAXDEV_GET`: this project's addition, one entry of the
/// mount's device table read back.
pub const FAMFS44_IOC_DAXDEV_GET: u32 = ioc(3, 0x5b, core::mem::size_of::<FamfsIocDaxdevInfo>());
