// SPDX-License-Identifier: GPL-2.0

//! The KABI 44 map message (`FAMFS44_IOC_MAP_CREATE`, `uapi/famfs_kabi44.h`).
//!
//! A message is one 32-byte header followed by records: `nextents` simple
//! extents of 24 bytes each, or `nextents` interleaved extents of 24 bytes,
//! each followed by its `ie_nstrips` strips (simple extents). The header's
//! `fmap_size` counts every byte, header included; the ioctl number encodes
//! only the header's size.
//!
//! Decoding is pure, like `fmap.rs`: the module copies the header, asks
//! [`Header::parse`] how many bytes to copy next ([`Header::wanted`]),
//! copies them and calls [`decode`]. The result is an [`Fmap`], checked
//! afterwards by exactly the rules of the KABI 43 maps
//! ([`Fmap::validate`]). The host crate `famfs-fmap` compiles this file too
//! and tests it against an encoder of its own (famfs-abi's `repr(C)`
//! structures), so what `cargo test` checks is what the module runs.
//!
//! The message's own rules, checked here before any map rule:
//!
//! - `fmap_version` is 1; `fmap_size` is at least the header and at most
//!   4 MiB (larger: `EFBIG`); every reserved field is zero;
//! - the records lie inside `fmap_size` (a record past it is refused; bytes
//!   after the last record are ignored);
//! - `ext_type` is simple (0) or interleaved (1); `nextents` and every
//!   `ie_nstrips` at least 1, and at most what one famfs map holds (the
//!   KABI 43 limits: 2 simple extents, 4 interleaved extents of 16 strips;
//!   more is `E2BIG`);
//! - every device index is below 64 ([`FmapError::DevIndexRange`]); that
//!   the mount has a device open there is a rule of [`Fmap::validate`]
//!   ([`FmapError::NoDevice`]).

#![deny(unsafe_code)]

use crate::fmap::{
    Extent, FileType, Fmap, FmapError, Interleave, Layout, MAX_INTERLEAVED_EXTENTS,
    MAX_SIMPLE_EXTENTS, MAX_STRIPS,
};

/// `FAMFS44_FMAP_VERSION`.
pub const FMAP_VERSION: u16 = 1;
/// `FAMFS44_FMAP_MSG_MAX`: the largest `fmap_size`.
pub const MSG_MAX: u32 = 4 << 20;
/// `FAMFS44_MAX_DAXDEVS`: entries of a mount's device table.
pub const MAX_DAXDEVS: u32 = 64;
/// `FAMFS44_EXT_SIMPLE`.
pub const EXT_SIMPLE: u32 = 0;
/// `FAMFS44_EXT_INTERLEAVE`.
pub const EXT_INTERLEAVE: u32 = 1;

/// Bytes of `struct famfs_ioc_fmap_header`.
pub const HEADER_SIZE: usize = 32;
/// Bytes of `struct famfs_ioc_simple_ext`.
pub const SIMPLE_EXT_SIZE: usize = 24;
/// Bytes of `struct famfs_ioc_iext`.
pub const IEXT_SIZE: usize = 24;
/// The longest message a famfs map can need: the header and four
/// interleaved extents of 16 strips. Longer messages are read only this far.
pub const LONGEST_MAP: usize =
    HEADER_SIZE + MAX_INTERLEAVED_EXTENTS * (IEXT_SIZE + MAX_STRIPS * SIMPLE_EXT_SIZE);

/// Field offsets, as the reference documents them for x86-64 (the module
/// checks them at compile time against the structures bindgen makes of the
/// header).
pub mod off {
    /// `famfs_ioc_fmap_header.file_type` (u8).
    pub const H_FILE_TYPE: usize = 0;
    /// `famfs_ioc_fmap_header.reserved` (u8).
    pub const H_RESERVED: usize = 1;
    /// `famfs_ioc_fmap_header.fmap_version` (u16).
    pub const H_VERSION: usize = 2;
    /// `famfs_ioc_fmap_header.ext_type` (u32).
    pub const H_EXT_TYPE: usize = 4;
    /// `famfs_ioc_fmap_header.nextents` (u32).
    pub const H_NEXTENTS: usize = 8;
    /// `famfs_ioc_fmap_header.fmap_size` (u32).
    pub const H_FMAP_SIZE: usize = 12;
    /// `famfs_ioc_fmap_header.file_size` (u64).
    pub const H_FILE_SIZE: usize = 16;
    /// `famfs_ioc_fmap_header.reserved1` (u64).
    pub const H_RESERVED1: usize = 24;
    /// `famfs_ioc_simple_ext.se_devindex` (u32).
    pub const SE_DEVINDEX: usize = 0;
    /// `famfs_ioc_simple_ext.reserved` (u32).
    pub const SE_RESERVED: usize = 4;
    /// `famfs_ioc_simple_ext.se_offset` (u64).
    pub const SE_OFFSET: usize = 8;
    /// `famfs_ioc_simple_ext.se_len` (u64).
    pub const SE_LEN: usize = 16;
    /// `famfs_ioc_iext.ie_nstrips` (u32).
    pub const IE_NSTRIPS: usize = 0;
    /// `famfs_ioc_iext.ie_chunk_size` (u32).
    pub const IE_CHUNK_SIZE: usize = 4;
    /// `famfs_ioc_iext.ie_nbytes` (u64).
    pub const IE_NBYTES: usize = 8;
    /// `famfs_ioc_iext.reserved` (u64).
    pub const IE_RESERVED: usize = 16;
}

/// Why a message was refused before its map could be checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MsgError {
    /// `fmap_size` above [`MSG_MAX`] (`EFBIG`).
    TooBig,
    /// A malformed message (`EINVAL`): see [`MsgError::describe`].
    Bad(&'static str),
    /// The map it carries breaks a map rule.
    Map(FmapError),
}

const EINVAL: i32 = 22;
const EFBIG: i32 = 27;

impl MsgError {
    /// The (positive) errno reported to user space.
    pub const fn errno(self) -> i32 {
        match self {
            MsgError::TooBig => EFBIG,
            MsgError::Bad(_) => EINVAL,
            MsgError::Map(e) => e.errno(),
        }
    }

    /// A short description for the kernel log.
    pub const fn describe(self) -> &'static str {
        match self {
            MsgError::TooBig => "map message larger than 4 MiB",
            MsgError::Bad(why) => why,
            MsgError::Map(e) => e.describe(),
        }
    }
}

impl From<FmapError> for MsgError {
    fn from(e: FmapError) -> Self {
        MsgError::Map(e)
    }
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_ne_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

const PAST_END: MsgError = MsgError::Bad("a record lies past the end of the message (fmap_size)");
const RESERVED: MsgError = MsgError::Bad("a reserved field of the map message is not zero");

/// The header of a message, checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// The file type.
    pub file_type: FileType,
    /// [`EXT_SIMPLE`] or [`EXT_INTERLEAVE`].
    pub ext_type: u32,
    /// Records: extents or interleaved extents, 1 to the map's limit.
    pub nextents: usize,
    /// Bytes of the whole message.
    pub fmap_size: u32,
    /// The file size.
    pub file_size: u64,
}

impl Header {
    /// Checks the 32 header bytes (everything the header alone can show).
    pub fn parse(h: &[u8; HEADER_SIZE]) -> Result<Header, MsgError> {
        let version = u16_at(h, off::H_VERSION).ok_or(PAST_END)?;
        if version != FMAP_VERSION {
            return Err(MsgError::Bad("unknown map message version (fmap_version)"));
        }
        let fmap_size = u32_at(h, off::H_FMAP_SIZE).ok_or(PAST_END)?;
        if fmap_size > MSG_MAX {
            return Err(MsgError::TooBig);
        }
        if (fmap_size as usize) < HEADER_SIZE {
            return Err(MsgError::Bad("fmap_size smaller than the header"));
        }
        if h[off::H_RESERVED] != 0 || u64_at(h, off::H_RESERVED1) != Some(0) {
            return Err(RESERVED);
        }
        let file_type =
            FileType::from_raw(u32::from(h[off::H_FILE_TYPE])).ok_or(FmapError::BadFileType)?;
        let ext_type = u32_at(h, off::H_EXT_TYPE).ok_or(PAST_END)?;
        let max = match ext_type {
            EXT_SIMPLE => MAX_SIMPLE_EXTENTS,
            EXT_INTERLEAVE => MAX_INTERLEAVED_EXTENTS,
            _ => return Err(FmapError::BadExtentType.into()),
        };
        let nextents = u32_at(h, off::H_NEXTENTS).ok_or(PAST_END)?;
        let nextents = count(nextents, max, FmapError::TooManyExtents)?;
        Ok(Header {
            file_type,
            ext_type,
            nextents,
            fmap_size,
            file_size: u64_at(h, off::H_FILE_SIZE).ok_or(PAST_END)?,
        })
    }

    /// How many bytes of the message (header included) to copy in: all of
    /// it, or [`LONGEST_MAP`] if it is longer (nothing a famfs map can use
    /// lies further).
    pub fn wanted(&self) -> usize {
        (self.fmap_size as usize).min(LONGEST_MAP)
    }
}

/// A record count from the message: at least one, at most `max`.
fn count(n: u32, max: usize, too_many: FmapError) -> Result<usize, FmapError> {
    match n as usize {
        0 => Err(FmapError::NoExtents),
        n if n > max => Err(too_many),
        n => Ok(n),
    }
}

/// One simple extent at `at`, whose device index must fit the device table.
fn simple_at(msg: &[u8], at: usize) -> Result<Extent, MsgError> {
    let rec = msg.get(at..at + SIMPLE_EXT_SIZE).ok_or(PAST_END)?;
    if u32_at(rec, off::SE_RESERVED) != Some(0) {
        return Err(RESERVED);
    }
    let dev = u32_at(rec, off::SE_DEVINDEX).ok_or(PAST_END)?;
    if dev >= MAX_DAXDEVS {
        return Err(FmapError::DevIndexRange.into());
    }
    Ok(Extent::on(
        dev,
        u64_at(rec, off::SE_OFFSET).ok_or(PAST_END)?,
        u64_at(rec, off::SE_LEN).ok_or(PAST_END)?,
    ))
}

/// Decodes a whole message: `msg` holds its first [`Header::wanted`] bytes
/// (header included), `hdr` is its parsed header. The map still has to pass
/// [`Fmap::validate`].
pub fn decode(hdr: &Header, msg: &[u8]) -> Result<Fmap, MsgError> {
    // Records must lie inside fmap_size, and inside what was copied.
    let msg = msg.get(..hdr.wanted()).ok_or(PAST_END)?;
    let mut at = HEADER_SIZE;
    let layout = if hdr.ext_type == EXT_SIMPLE {
        let mut extents = [Extent::default(); MAX_SIMPLE_EXTENTS];
        for e in extents.iter_mut().take(hdr.nextents) {
            *e = simple_at(msg, at)?;
            at += SIMPLE_EXT_SIZE;
        }
        Layout::Simple {
            count: hdr.nextents,
            extents,
        }
    } else {
        let mut extents = [Interleave::default(); MAX_INTERLEAVED_EXTENTS];
        for ie in extents.iter_mut().take(hdr.nextents) {
            let rec = msg.get(at..at + IEXT_SIZE).ok_or(PAST_END)?;
            if u64_at(rec, off::IE_RESERVED) != Some(0) {
                return Err(RESERVED);
            }
            let nstrips = u32_at(rec, off::IE_NSTRIPS).ok_or(PAST_END)?;
            let nstrips = count(nstrips, MAX_STRIPS, FmapError::TooManyStrips)?;
            ie.chunk_size = u64::from(u32_at(rec, off::IE_CHUNK_SIZE).ok_or(PAST_END)?);
            ie.nbytes = u64_at(rec, off::IE_NBYTES).ok_or(PAST_END)?;
            ie.nstrips = nstrips;
            at += IEXT_SIZE;
            for s in ie.strips.iter_mut().take(nstrips) {
                *s = simple_at(msg, at)?;
                at += SIMPLE_EXT_SIZE;
            }
        }
        Layout::Interleaved {
            count: hdr.nextents,
            extents,
        }
    };
    Ok(Fmap {
        file_type: hdr.file_type,
        file_size: hdr.file_size,
        layout,
    })
}

/// Encodes `fmap` as a message into `out` (at least [`LONGEST_MAP`] bytes)
/// and returns its length: the KABI 44 form of a file's map, for reading
/// maps back. `file_size` is the file's size now.
pub fn encode(fmap: &Fmap, file_size: u64, out: &mut [u8]) -> Option<usize> {
    fn put(out: &mut [u8], at: usize, v: &[u8]) -> Option<()> {
        out.get_mut(at..at + v.len())?.copy_from_slice(v);
        Some(())
    }
    fn put_simple(out: &mut [u8], at: usize, e: &Extent) -> Option<()> {
        put(out, at + off::SE_DEVINDEX, &e.dev.to_ne_bytes())?;
        put(out, at + off::SE_RESERVED, &0u32.to_ne_bytes())?;
        put(out, at + off::SE_OFFSET, &e.offset.to_ne_bytes())?;
        put(out, at + off::SE_LEN, &e.len.to_ne_bytes())
    }
    out.get_mut(..LONGEST_MAP)?.fill(0);
    let mut at = HEADER_SIZE;
    let (ext_type, n) = match &fmap.layout {
        Layout::Simple { count, extents } => {
            for e in extents.iter().take(*count) {
                put_simple(out, at, e)?;
                at += SIMPLE_EXT_SIZE;
            }
            (EXT_SIMPLE, *count)
        }
        Layout::Interleaved { count, extents } => {
            for ie in extents.iter().take(*count) {
                put(
                    out,
                    at + off::IE_NSTRIPS,
                    &(ie.nstrips as u32).to_ne_bytes(),
                )?;
                let chunk = u32::try_from(ie.chunk_size).ok()?;
                put(out, at + off::IE_CHUNK_SIZE, &chunk.to_ne_bytes())?;
                put(out, at + off::IE_NBYTES, &ie.nbytes.to_ne_bytes())?;
                at += IEXT_SIZE;
                for s in ie.strips.iter().take(ie.nstrips) {
                    put_simple(out, at, s)?;
                    at += SIMPLE_EXT_SIZE;
                }
            }
            (EXT_INTERLEAVE, *count)
        }
    };
    put(out, off::H_FILE_TYPE, &[fmap.file_type.to_raw() as u8])?;
    put(out, off::H_VERSION, &FMAP_VERSION.to_ne_bytes())?;
    put(out, off::H_EXT_TYPE, &ext_type.to_ne_bytes())?;
    put(out, off::H_NEXTENTS, &(n as u32).to_ne_bytes())?;
    put(out, off::H_FMAP_SIZE, &(at as u32).to_ne_bytes())?;
    put(out, off::H_FILE_SIZE, &file_size.to_ne_bytes())?;
    Some(at)
}
