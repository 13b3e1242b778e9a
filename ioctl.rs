// SPDX-License-Identifier: GPL-2.0

//! The famfs ioctls (KABI 43), issued on any open file or directory of a
//! mount. See `uapi/famfs_ioctl.h` for the ABI and Documentation/famfs.rst
//! for every rule and errno.
//!
//! Everything read from user space is copied once into kernel memory, then
//! decoded into an [`Fmap`] and validated by the pure `fmap` component; only
//! a valid map is ever installed.

use kernel::ffi::{c_long, c_uint, c_ulong};
use kernel::ioctl::{_IO, _IOR, _IOW};
use kernel::prelude::*;
use kernel::transmute::{AsBytes, FromBytes};
use kernel::uaccess::{UserPtr, UserSlice};

use crate::bindings as b;
use crate::fmap::{
    Extent, FileType, Fmap, FmapError, Interleave, Layout, MAX_INTERLEAVED_EXTENTS,
    MAX_SIMPLE_EXTENTS, MAX_STRIPS,
};
use crate::inode;

/// The ioctl ABI version this module implements.
pub(crate) const FAMFS_KABI_VERSION: u32 = b::FAMFS_GLUE_KABI_VERSION;

const FAMFSIOC_MAGIC: u32 = b'u' as u32;

// ---- the ABI structures (uapi/famfs_ioctl.h), x86-64 layout ------------

/// `struct famfs_extent`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct IocExtent {
    offset: u64,
    len: u64,
}

/// `struct famfs_ioc_map` (v1).
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct IocMap {
    extent_type: u32,
    file_type: u32,
    file_size: u64,
    ext_list_count: u64,
    ext_list: [IocExtent; MAX_SIMPLE_EXTENTS],
}

/// `struct famfs_ioc_simple_extent`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct IocSimpleExtent {
    devindex: u64,
    offset: u64,
    len: u64,
}

/// `struct famfs_ioc_interleaved_ext`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct IocInterleavedExt {
    ie_nstrips: u64,
    ie_chunk_size: u64,
    ie_nbytes: u64,
    ie_strips: u64,
}

/// `struct famfs_ioc_fmap` (v2); the union's count is at offset 16 and its
/// user pointer at offset 24.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct IocFmap {
    fioc_file_size: u64,
    fioc_file_type: u32,
    fioc_ext_type: u32,
    fioc_nextents: u32,
    _pad: u32,
    fioc_ptr: u64,
}

/// `struct famfs_ioc_get_fmap`: the map, then a 416-byte union holding
/// either `ikse[2]` (simple) or `ikie` followed by `kie_strips[16]`
/// (interleaved), kept here as 64-bit words.
#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct IocGetFmap {
    iocmap: IocFmap,
    body: [u64; 52],
}

// SAFETY: Plain `repr(C)` structures of integers without padding holes
// (checked against the C header by the KUnit layout test): every byte
// pattern is a valid value and every byte is initialised.
unsafe impl FromBytes for IocExtent {}
// SAFETY: As above.
unsafe impl AsBytes for IocExtent {}
// SAFETY: As above.
unsafe impl FromBytes for IocMap {}
// SAFETY: As above.
unsafe impl AsBytes for IocMap {}
// SAFETY: As above.
unsafe impl FromBytes for IocSimpleExtent {}
// SAFETY: As above.
unsafe impl FromBytes for IocInterleavedExt {}
// SAFETY: As above.
unsafe impl FromBytes for IocFmap {}
// SAFETY: As above.
unsafe impl AsBytes for IocGetFmap {}

const SIMPLE_DAX_EXTENT: u32 = 0;
const INTERLEAVED_EXTENT: u32 = 1;
const EXT_SIMPLE: u32 = 0;
const EXT_INTERLEAVE: u32 = 1;

/// Give an empty file its extent map (v1 map).
pub(crate) const FAMFSIOC_MAP_CREATE: u32 = _IOW::<IocMap>(FAMFSIOC_MAGIC, 0x50);
/// Read a file's v1 map.
pub(crate) const FAMFSIOC_MAP_GET: u32 = _IOR::<IocMap>(FAMFSIOC_MAGIC, 0x51);
/// Read a file's v1 extents.
pub(crate) const FAMFSIOC_MAP_GETEXT: u32 = _IOR::<IocExtent>(FAMFSIOC_MAGIC, 0x52);
/// Does nothing and succeeds: tells user space this is a famfs file.
pub(crate) const FAMFSIOC_NOP: u32 = _IO(FAMFSIOC_MAGIC, 0x53);
/// Give an empty file its extent map (v2: simple or interleaved).
pub(crate) const FAMFSIOC_MAP_CREATE_V2: u32 = _IOW::<IocFmap>(FAMFSIOC_MAGIC, 0x54);
/// Read a file's v2 map.
pub(crate) const FAMFSIOC_MAP_GET_V2: u32 = _IOR::<IocGetFmap>(FAMFSIOC_MAGIC, 0x55);

/// An extent, strip or interleaved-extent count from user space: at least
/// one, at most `max`.
fn count(n: u64, max: usize, too_many: FmapError) -> Result<usize, FmapError> {
    match n {
        0 => Err(FmapError::NoExtents),
        n if n > max as u64 => Err(too_many),
        n => Ok(n as usize),
    }
}

/// The first `n` v2 simple extents, all of which must be on device 0.
fn simple_extents<const N: usize>(
    raw: &[IocSimpleExtent; N],
    n: usize,
) -> Result<[Extent; N], FmapError> {
    let mut out = [Extent::default(); N];
    for (dst, src) in out.iter_mut().zip(raw.iter()).take(n) {
        if src.devindex != 0 {
            return Err(FmapError::BadDevIndex);
        }
        *dst = Extent {
            offset: src.offset,
            len: src.len,
        };
    }
    Ok(out)
}

/// Decodes a v1 map.
fn decode_v1(m: &IocMap) -> Result<(Fmap, bool), FmapError> {
    if m.extent_type != SIMPLE_DAX_EXTENT {
        return Err(FmapError::BadExtentType);
    }
    let file_type = FileType::from_raw(m.file_type).ok_or(FmapError::BadFileType)?;
    let count = count(
        m.ext_list_count,
        MAX_SIMPLE_EXTENTS,
        FmapError::TooManyExtents,
    )?;
    let mut extents = [Extent::default(); MAX_SIMPLE_EXTENTS];
    for (dst, src) in extents.iter_mut().zip(m.ext_list.iter()).take(count) {
        *dst = Extent {
            offset: src.offset,
            len: src.len,
        };
    }
    let fmap = Fmap {
        file_type,
        file_size: m.file_size,
        layout: Layout::Simple { count, extents },
    };
    // The v1 map lets the last extent's length be unaligned.
    Ok((fmap, true))
}

/// Reads `n` records of `T` from the user array at `ptr`.
fn read_array<T: FromBytes + Copy + Default, const N: usize>(ptr: u64, n: usize) -> Result<[T; N]> {
    let mut out = [T::default(); N];
    let len = n.checked_mul(size_of::<T>()).ok_or(EINVAL)?;
    let mut reader = UserSlice::new(UserPtr::from_addr(ptr as usize), len).reader();
    for slot in out.iter_mut().take(n) {
        *slot = reader.read::<T>()?;
    }
    Ok(out)
}

/// Copies in and decodes a v2 map (extent arrays come by user pointer).
fn read_v2(arg: c_ulong) -> Result<core::result::Result<(Fmap, bool), FmapError>> {
    let hdr: IocFmap = UserSlice::new(UserPtr::from_addr(arg), size_of::<IocFmap>())
        .reader()
        .read()?;
    let Some(file_type) = FileType::from_raw(hdr.fioc_file_type) else {
        return Ok(Err(FmapError::BadFileType));
    };
    let n = u64::from(hdr.fioc_nextents);
    let layout = match hdr.fioc_ext_type {
        EXT_SIMPLE => {
            let n = match count(n, MAX_SIMPLE_EXTENTS, FmapError::TooManyExtents) {
                Ok(n) => n,
                Err(e) => return Ok(Err(e)),
            };
            let raw: [IocSimpleExtent; MAX_SIMPLE_EXTENTS] = read_array(hdr.fioc_ptr, n)?;
            match simple_extents(&raw, n) {
                Ok(extents) => Layout::Simple { count: n, extents },
                Err(e) => return Ok(Err(e)),
            }
        }
        EXT_INTERLEAVE => {
            let n = match count(n, MAX_INTERLEAVED_EXTENTS, FmapError::TooManyExtents) {
                Ok(n) => n,
                Err(e) => return Ok(Err(e)),
            };
            let raw: [IocInterleavedExt; MAX_INTERLEAVED_EXTENTS] = read_array(hdr.fioc_ptr, n)?;
            let mut extents = [Interleave::default(); MAX_INTERLEAVED_EXTENTS];
            for (dst, src) in extents.iter_mut().zip(raw.iter()).take(n) {
                let nstrips = match count(src.ie_nstrips, MAX_STRIPS, FmapError::TooManyStrips) {
                    Ok(n) => n,
                    Err(e) => return Ok(Err(e)),
                };
                let strips_raw: [IocSimpleExtent; MAX_STRIPS] = read_array(src.ie_strips, nstrips)?;
                let strips = match simple_extents(&strips_raw, nstrips) {
                    Ok(s) => s,
                    Err(e) => return Ok(Err(e)),
                };
                *dst = Interleave {
                    chunk_size: src.ie_chunk_size,
                    nbytes: src.ie_nbytes,
                    nstrips,
                    strips,
                };
            }
            Layout::Interleaved { count: n, extents }
        }
        _ => return Ok(Err(FmapError::BadExtentType)),
    };
    Ok(Ok((
        Fmap {
            file_type,
            file_size: hdr.fioc_file_size,
            layout,
        },
        false,
    )))
}

/// Installs a decoded map (or reports why it was refused).
///
/// # Safety
///
/// `file` must be an open famfs file.
unsafe fn map_create(
    file: *mut b::file,
    decoded: core::result::Result<(Fmap, bool), FmapError>,
) -> Result {
    // SAFETY: An open file has a live inode.
    let inode = unsafe { (*file).f_inode };
    let (fmap, unaligned_last_len) = decoded.map_err(|e| inode::map_refused(inode, e))?;
    // SAFETY: As above.
    unsafe { inode::install_map(inode, fmap, unaligned_last_len) }
}

/// Fills the v1 view of a map. Every mapped file answers: a simple map with
/// its extents, an interleaved one with its type, size and count of
/// interleaved extents only (the v1 structure has no room for strips; user
/// space reads those with MAP_GET_V2).
fn encode_v1(fmap: &Fmap, size: u64) -> IocMap {
    let mut m = IocMap {
        file_type: fmap.file_type.to_raw(),
        file_size: size,
        ..Default::default()
    };
    match &fmap.layout {
        Layout::Simple { count, extents } => {
            m.extent_type = SIMPLE_DAX_EXTENT;
            m.ext_list_count = *count as u64;
            for (dst, src) in m.ext_list.iter_mut().zip(extents.iter()).take(*count) {
                *dst = IocExtent {
                    offset: src.offset,
                    len: src.len,
                };
            }
        }
        Layout::Interleaved { count, .. } => {
            m.extent_type = INTERLEAVED_EXTENT;
            m.ext_list_count = *count as u64;
        }
    }
    m
}

/// Fills the v2 view of a map.
fn encode_v2(fmap: &Fmap, size: u64) -> Result<IocGetFmap> {
    let mut g = IocGetFmap {
        iocmap: IocFmap {
            fioc_file_size: size,
            fioc_file_type: fmap.file_type.to_raw(),
            ..Default::default()
        },
        body: [0; 52],
    };
    // A simple extent is three words: devindex (0), offset, len.
    let put = |body: &mut [u64; 52], word: usize, e: &Extent| {
        body[word + 1] = e.offset;
        body[word + 2] = e.len;
    };
    match &fmap.layout {
        Layout::Simple { count, extents } => {
            g.iocmap.fioc_ext_type = EXT_SIMPLE;
            g.iocmap.fioc_nextents = *count as u32;
            for (i, e) in extents.iter().take(*count).enumerate() {
                put(&mut g.body, 3 * i, e);
            }
        }
        Layout::Interleaved { count, extents } => {
            // The v2 get structure has room for one interleaved extent.
            if *count != 1 {
                return Err(EINVAL);
            }
            let ie = &extents[0];
            g.iocmap.fioc_ext_type = EXT_INTERLEAVE;
            g.iocmap.fioc_nextents = 1;
            // ikie: nstrips, chunk_size, nbytes, strips pointer (not filled).
            g.body[0] = ie.nstrips as u64;
            g.body[1] = ie.chunk_size;
            g.body[2] = ie.nbytes;
            for (i, e) in ie.strips.iter().take(ie.nstrips).enumerate() {
                put(&mut g.body, 4 + 3 * i, e);
            }
        }
    }
    Ok(g)
}

/// `unlocked_ioctl` for famfs files and directories.
///
/// # Safety
///
/// Called by the VFS with a valid open `file`.
pub(crate) unsafe extern "C" fn famfs_ioctl(
    file: *mut b::file,
    cmd: c_uint,
    arg: c_ulong,
) -> c_long {
    // SAFETY: The VFS passes a valid open file.
    let res = unsafe { ioctl(file, cmd, arg) };
    match res {
        Ok(()) => 0,
        Err(e) => e.to_errno() as c_long,
    }
}

/// # Safety
///
/// `file` must be a valid open famfs file.
unsafe fn ioctl(file: *mut b::file, cmd: c_uint, arg: c_ulong) -> Result {
    // SAFETY: An open file has a live inode.
    let inode = unsafe { (*file).f_inode };
    let user = |len: usize| UserSlice::new(UserPtr::from_addr(arg), len);
    match cmd {
        FAMFSIOC_NOP => Ok(()),
        FAMFSIOC_MAP_CREATE => {
            // SAFETY: `inode` is live.
            unsafe { inode::may_create_map(inode) }?;
            let m: IocMap = user(size_of::<IocMap>()).reader().read()?;
            // SAFETY: `file` is an open famfs file.
            unsafe { map_create(file, decode_v1(&m)) }
        }
        FAMFSIOC_MAP_CREATE_V2 => {
            // SAFETY: `inode` is live.
            unsafe { inode::may_create_map(inode) }?;
            let decoded = read_v2(arg)?;
            // SAFETY: `file` is an open famfs file.
            unsafe { map_create(file, decoded) }
        }
        FAMFSIOC_MAP_GET | FAMFSIOC_MAP_GETEXT | FAMFSIOC_MAP_GET_V2 => {
            // SAFETY: `inode` is live.
            let (fmap, size) = unsafe { inode::current_map(inode) }?;
            match cmd {
                FAMFSIOC_MAP_GET => user(size_of::<IocMap>())
                    .writer()
                    .write(&encode_v1(&fmap, size)),
                FAMFSIOC_MAP_GETEXT => {
                    // Simple maps only: an interleaved map has no v1 extents.
                    if !matches!(fmap.layout, Layout::Simple { .. }) {
                        return Err(EINVAL);
                    }
                    let m = encode_v1(&fmap, size);
                    let n = m.ext_list_count as usize;
                    let mut w = user(n * size_of::<IocExtent>()).writer();
                    for e in m.ext_list.iter().take(n) {
                        w.write(e)?;
                    }
                    Ok(())
                }
                _ => user(size_of::<IocGetFmap>())
                    .writer()
                    .write(&encode_v2(&fmap, size)?),
            }
        }
        _ => Err(ENOTTY),
    }
}

#[kunit_tests(famfs_ioctl)]
mod tests {
    use super::*;
    use core::mem::offset_of;

    /// The Rust encoding agrees with the C header compiled by GCC.
    #[test]
    fn rust_numbers_match_c_header() {
        let pairs = [
            (
                FAMFSIOC_MAP_CREATE,
                b::famfs_glue_ioctl_FAMFS_GLUE_IOC_MAP_CREATE,
            ),
            (FAMFSIOC_MAP_GET, b::famfs_glue_ioctl_FAMFS_GLUE_IOC_MAP_GET),
            (
                FAMFSIOC_MAP_GETEXT,
                b::famfs_glue_ioctl_FAMFS_GLUE_IOC_MAP_GETEXT,
            ),
            (FAMFSIOC_NOP, b::famfs_glue_ioctl_FAMFS_GLUE_IOC_NOP),
            (
                FAMFSIOC_MAP_CREATE_V2,
                b::famfs_glue_ioctl_FAMFS_GLUE_IOC_MAP_CREATE_V2,
            ),
            (
                FAMFSIOC_MAP_GET_V2,
                b::famfs_glue_ioctl_FAMFS_GLUE_IOC_MAP_GET_V2,
            ),
        ];
        for (rust, which) in pairs {
            // SAFETY: Pure function returning a constant.
            let c = unsafe { b::famfs_glue_ioctl_cmd(which) };
            assert_eq!(rust, c);
        }
    }

    /// The structures have the documented x86-64 sizes and offsets.
    #[test]
    fn abi_layouts() {
        assert_eq!(size_of::<IocMap>(), 56);
        assert_eq!(offset_of!(IocMap, file_size), 8);
        assert_eq!(offset_of!(IocMap, ext_list), 24);
        assert_eq!(size_of::<IocSimpleExtent>(), 24);
        assert_eq!(size_of::<IocInterleavedExt>(), 32);
        assert_eq!(size_of::<IocFmap>(), 32);
        assert_eq!(offset_of!(IocFmap, fioc_nextents), 16);
        assert_eq!(offset_of!(IocFmap, fioc_ptr), 24);
        assert_eq!(size_of::<IocGetFmap>(), 448);
        assert_eq!(offset_of!(IocGetFmap, body), 32);
    }
}
