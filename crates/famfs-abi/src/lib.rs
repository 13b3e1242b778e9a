//! The famfs ioctl ABI, KABI 43, for Rust user space.
//!
//! The same structures, constants and ioctl numbers as `uapi/famfs_ioctl.h`
//! (x86-64), with the C names kept in the docs. The crate's tests compare
//! every size, offset and number with what GCC makes of the header.

#![no_std]

/// The ABI version (`FAMFS_KABI_VERSION`).
pub const FAMFS_KABI_VERSION: u32 = 43;
/// Extents in a v1 map (`FAMFS_MAX_EXTENTS`).
pub const FAMFS_MAX_EXTENTS: usize = 2;
/// Strips per interleaved extent (`FAMFS_MAX_STRIPS`).
pub const FAMFS_MAX_STRIPS: usize = 16;
/// Interleaved extents per file (`FAMFS_IOC_MAX_INTERLEAVED_EXTENTS`).
pub const FAMFS_IOC_MAX_INTERLEAVED_EXTENTS: usize = 4;

/// `enum famfs_file_type`: an ordinary file.
pub const FAMFS_REG: u32 = 0;
/// `enum famfs_file_type`: the superblock file.
pub const FAMFS_SUPERBLOCK: u32 = 1;
/// `enum famfs_file_type`: the log file.
pub const FAMFS_LOG: u32 = 2;
/// `enum famfs_extent_type`: a v1 simple extent list.
pub const SIMPLE_DAX_EXTENT: u32 = 0;
/// `enum famfs_ioc_ext_type`: simple extents.
pub const FAMFS_IOC_EXT_SIMPLE: u32 = 0;
/// `enum famfs_ioc_ext_type`: interleaved extents.
pub const FAMFS_IOC_EXT_INTERLEAVE: u32 = 1;

/// `struct famfs_extent`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FamfsExtent {
    /// Device offset.
    pub offset: u64,
    /// Length.
    pub len: u64,
}

/// `struct famfs_ioc_map` (v1).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FamfsIocMap {
    /// `enum famfs_extent_type`.
    pub extent_type: u32,
    /// `enum famfs_file_type`.
    pub file_type: u32,
    /// File size.
    pub file_size: u64,
    /// Extents in use.
    pub ext_list_count: u64,
    /// The extents.
    pub ext_list: [FamfsExtent; FAMFS_MAX_EXTENTS],
}

/// `struct famfs_ioc_simple_extent`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FamfsIocSimpleExtent {
    /// Device index (must be 0).
    pub devindex: u64,
    /// Device offset.
    pub offset: u64,
    /// Length.
    pub len: u64,
}

/// `struct famfs_ioc_interleaved_ext`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FamfsIocInterleavedExt {
    /// Strips in use.
    pub ie_nstrips: u64,
    /// Chunk size.
    pub ie_chunk_size: u64,
    /// File bytes covered.
    pub ie_nbytes: u64,
    /// User pointer to `ie_nstrips` strips.
    pub ie_strips: *const FamfsIocSimpleExtent,
}

/// `struct famfs_ioc_fmap` (v2). `fioc_count` is `fioc_nextents` or
/// `fioc_niext`, `fioc_ptr` is `kse` or `kie` (a union in C).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FamfsIocFmap {
    /// File size.
    pub fioc_file_size: u64,
    /// `enum famfs_file_type`.
    pub fioc_file_type: u32,
    /// `enum famfs_ioc_ext_type`.
    pub fioc_ext_type: u32,
    /// Number of simple or interleaved extents.
    pub fioc_count: u32,
    /// Padding (the union's pointer is 8-byte aligned).
    pub _pad: u32,
    /// User pointer to the extents.
    pub fioc_ptr: *const core::ffi::c_void,
}

impl Default for FamfsIocFmap {
    /// All zeroes, with a null pointer.
    fn default() -> Self {
        FamfsIocFmap {
            fioc_file_size: 0,
            fioc_file_type: 0,
            fioc_ext_type: 0,
            fioc_count: 0,
            _pad: 0,
            fioc_ptr: core::ptr::null(),
        }
    }
}

/// `struct famfs_ioc_get_fmap`: the map, then a 416-byte union of
/// `ikse[2]` or `{ ikie; kie_strips[16] }`, here as 64-bit words.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FamfsIocGetFmap {
    /// The map header (pointers not filled).
    pub iocmap: FamfsIocFmap,
    /// The union, as words.
    pub body: [u64; 52],
}

impl Default for FamfsIocGetFmap {
    /// All zeroes (what `FAMFSIOC_MAP_GET_V2` fills in).
    fn default() -> Self {
        FamfsIocGetFmap {
            iocmap: FamfsIocFmap::default(),
            body: [0; 52],
        }
    }
}

const fn ioc(dir: u32, nr: u32, size: usize) -> u32 {
    (dir << 30) | ((size as u32) << 16) | ((b'u' as u32) << 8) | nr
}

/// `FAMFSIOC_MAP_CREATE`.
pub const FAMFSIOC_MAP_CREATE: u32 = ioc(1, 0x50, core::mem::size_of::<FamfsIocMap>());
/// `FAMFSIOC_MAP_GET`.
pub const FAMFSIOC_MAP_GET: u32 = ioc(2, 0x51, core::mem::size_of::<FamfsIocMap>());
/// `FAMFSIOC_MAP_GETEXT`.
pub const FAMFSIOC_MAP_GETEXT: u32 = ioc(2, 0x52, core::mem::size_of::<FamfsExtent>());
/// `FAMFSIOC_NOP`.
pub const FAMFSIOC_NOP: u32 = ioc(0, 0x53, 0);
/// `FAMFSIOC_MAP_CREATE_V2`.
pub const FAMFSIOC_MAP_CREATE_V2: u32 = ioc(1, 0x54, core::mem::size_of::<FamfsIocFmap>());
/// `FAMFSIOC_MAP_GET_V2`.
pub const FAMFSIOC_MAP_GET_V2: u32 = ioc(2, 0x55, core::mem::size_of::<FamfsIocGetFmap>());
