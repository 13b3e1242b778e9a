//! The famfs ioctl ABI, KABI 43, for Rust user space; KABI 44 in [`kabi44`].
//!
//! The same structures, constants and ioctl numbers as `uapi/famfs_ioctl.h`
//! (x86-64), with the C names kept in the docs. The crate's tests compare
//! every size, offset and number with what GCC makes of the header.

#![no_std]

pub mod kabi44;

/// The ABI version (`FAMFS_KABI_VERSION`).
pub const FAMFS_KABI_VERSION: u32 = 43;
/// statfs `f_type` of a famfs mount, also the on-media superblock magic
/// (`FAMFS_SUPER_MAGIC`).
pub const FAMFS_SUPER_MAGIC: u32 = 0x87b2_82ff;
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

/// The simple arm of `famfs_ioc_fmap`'s union.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FamfsIocFmapSimple {
    /// Simple extents in use.
    pub fioc_nextents: u32,
    /// User pointer to the extents.
    pub kse: *const FamfsIocSimpleExtent,
}

/// The interleaved arm of `famfs_ioc_fmap`'s union.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FamfsIocFmapInterleave {
    /// Interleaved extents in use.
    pub fioc_niext: u32,
    /// User pointer to the interleaved extents.
    pub kie: *const FamfsIocInterleavedExt,
}

/// The anonymous union of `famfs_ioc_fmap`: one arm per extent type. Both
/// arms are a `u32` count and a pointer at the same offsets.
#[repr(C)]
#[derive(Clone, Copy)]
pub union FamfsIocFmapExtents {
    /// `FAMFS_IOC_EXT_SIMPLE`.
    pub simple: FamfsIocFmapSimple,
    /// `FAMFS_IOC_EXT_INTERLEAVE`.
    pub interleave: FamfsIocFmapInterleave,
}

/// `struct famfs_ioc_fmap` (v2).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct FamfsIocFmap {
    /// File size.
    pub fioc_file_size: u64,
    /// `enum famfs_file_type`.
    pub fioc_file_type: u32,
    /// `enum famfs_ioc_ext_type`.
    pub fioc_ext_type: u32,
    /// The extents, by extent type.
    pub ext: FamfsIocFmapExtents,
}

impl FamfsIocFmap {
    /// A simple map of `count` extents at user pointer `kse`.
    pub fn simple(size: u64, file_type: u32, count: u32, kse: *const FamfsIocSimpleExtent) -> Self {
        FamfsIocFmap {
            fioc_file_size: size,
            fioc_file_type: file_type,
            fioc_ext_type: FAMFS_IOC_EXT_SIMPLE,
            ext: FamfsIocFmapExtents {
                simple: FamfsIocFmapSimple {
                    fioc_nextents: count,
                    kse,
                },
            },
        }
    }

    /// An interleaved map of `count` interleaved extents at user pointer
    /// `kie`.
    pub fn interleave(
        size: u64,
        file_type: u32,
        count: u32,
        kie: *const FamfsIocInterleavedExt,
    ) -> Self {
        FamfsIocFmap {
            fioc_file_size: size,
            fioc_file_type: file_type,
            fioc_ext_type: FAMFS_IOC_EXT_INTERLEAVE,
            ext: FamfsIocFmapExtents {
                interleave: FamfsIocFmapInterleave {
                    fioc_niext: count,
                    kie,
                },
            },
        }
    }

    /// The extent count, whichever arm is in use.
    pub fn count(&self) -> u32 {
        // SAFETY: Both arms start with the `u32` count at offset 0, every
        // constructor initialises it, and any value is a valid `u32`.
        unsafe { self.ext.simple.fioc_nextents }
    }
}

impl Default for FamfsIocFmap {
    /// A simple map with no extents and a null pointer.
    fn default() -> Self {
        FamfsIocFmap::simple(0, 0, 0, core::ptr::null())
    }
}

/// The interleaved arm of `famfs_ioc_get_fmap`'s union (`ks`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FamfsIocGetFmapInterleaved {
    /// The interleaved extent (its strip pointer is not filled).
    pub ikie: FamfsIocInterleavedExt,
    /// Its strips.
    pub kie_strips: [FamfsIocSimpleExtent; FAMFS_MAX_STRIPS],
}

/// The union of `famfs_ioc_get_fmap`: the extents, inline.
#[repr(C)]
#[derive(Clone, Copy)]
pub union FamfsIocGetFmapBody {
    /// Simple extents.
    pub ikse: [FamfsIocSimpleExtent; FAMFS_MAX_EXTENTS],
    /// One interleaved extent and its strips.
    pub ks: FamfsIocGetFmapInterleaved,
}

/// `struct famfs_ioc_get_fmap`: what `FAMFSIOC_MAP_GET_V2` fills in.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct FamfsIocGetFmap {
    /// The map header (pointers not filled).
    pub iocmap: FamfsIocFmap,
    /// The extents.
    pub body: FamfsIocGetFmapBody,
}

impl FamfsIocGetFmap {
    /// The simple extents in use (at most `FAMFS_MAX_EXTENTS`).
    pub fn simple_extents(&self) -> &[FamfsIocSimpleExtent] {
        // SAFETY: The value is always fully initialised (`Default` zeroes
        // the larger arm, which covers the smaller; the kernel writes over
        // it), and both arms hold only integers and raw pointers, valid for
        // any bits.
        let all = unsafe { &self.body.ikse };
        &all[..(self.iocmap.count() as usize).min(FAMFS_MAX_EXTENTS)]
    }

    /// The interleaved extent and its strips in use (at most
    /// `FAMFS_MAX_STRIPS`).
    pub fn interleaved(&self) -> (&FamfsIocInterleavedExt, &[FamfsIocSimpleExtent]) {
        // SAFETY: As for `simple_extents`.
        let ks = unsafe { &self.body.ks };
        let n = (ks.ikie.ie_nstrips as usize).min(FAMFS_MAX_STRIPS);
        (&ks.ikie, &ks.kie_strips[..n])
    }
}

impl Default for FamfsIocGetFmap {
    /// All zeroes, with null pointers (what the ioctl is handed).
    fn default() -> Self {
        const ZERO: FamfsIocSimpleExtent = FamfsIocSimpleExtent {
            devindex: 0,
            offset: 0,
            len: 0,
        };
        FamfsIocGetFmap {
            iocmap: FamfsIocFmap::default(),
            body: FamfsIocGetFmapBody {
                ks: FamfsIocGetFmapInterleaved {
                    ikie: FamfsIocInterleavedExt {
                        ie_nstrips: 0,
                        ie_chunk_size: 0,
                        ie_nbytes: 0,
                        ie_strips: core::ptr::null(),
                    },
                    kie_strips: [ZERO; FAMFS_MAX_STRIPS],
                },
            },
        }
    }
}

/// An ioctl number of famfs (`'u'`): `_IOC(dir, 'u', nr, size)` on x86-64.
pub(crate) const fn ioc(dir: u32, nr: u32, size: usize) -> u32 {
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
