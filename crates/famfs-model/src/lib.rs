//! An independent model of what the famfs module accepts, for tests.
//!
//! Two users check the module against it: the property tests of
//! `crates/famfs-fmap` (the module's `fmap.rs` on the host) and the guest
//! map fuzzer (`famfs-maptool fuzz-maps`, the real module through its
//! ioctls). The model shares no logic with the module: it takes
//! `famfs-fmap`'s data types only, and restates each rule from the ABI text
//! (`uapi/famfs_ioctl.h`) and the rule table of Documentation/famfs.rst:
//!
//! - [`model_pages`] places every file page by *simulating* the layout
//!   (dealing chunks to strips one after another);
//! - [`model_valid`] validates a decoded map with 128-bit arithmetic, so that
//!   it cannot overflow;
//! - [`ioctl`] decodes the raw KABI 43 structures from user memory the way
//!   the ABI describes them and gives the set of errnos a call may return.
//!
//! It is not the implementation and must not become it: nothing in the
//! module, `famfs-format` or the famfs tool depends on this crate.

use famfs_fmap::{Fmap, Layout};

/// 2 MiB, the famfs alignment.
pub const MIB2: u64 = 2 << 20;
/// The page size.
pub const PAGE: u64 = 4096;

/// Device page (byte offset) of every file page, by simulation.
pub fn model_pages(map: &Fmap) -> Vec<u64> {
    let mut pages = Vec::new();
    match &map.layout {
        Layout::Simple { count, extents } => {
            for e in &extents[..*count] {
                let mut off = 0;
                while off < e.len {
                    pages.push(e.offset + off);
                    off += PAGE;
                }
            }
        }
        Layout::Interleaved { count, extents } => {
            for ie in &extents[..*count] {
                let mut cursor = vec![0u64; ie.nstrips];
                let mut done = 0u64;
                let mut strip = 0usize;
                while done < ie.nbytes {
                    let this = ie.chunk_size.min(ie.nbytes - done);
                    let mut off = 0;
                    while off < this {
                        pages.push(ie.strips[strip].offset + cursor[strip] + off);
                        off += PAGE;
                    }
                    cursor[strip] += ie.chunk_size;
                    done += this;
                    strip = (strip + 1) % ie.nstrips;
                }
            }
        }
    }
    pages
}

/// A deliberately wrong rule, for the self-tests of the checkers that use
/// the model: a checker must report a disagreement when the model is wrong.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Flaw {
    /// The model as documented.
    #[default]
    None,
    /// Forgets that device offsets must be multiples of the unit.
    OffsetAlignment,
}

/// The validation rules, restated independently.
pub fn model_valid(map: &Fmap, dev_size: u64, unaligned_last: bool) -> bool {
    model_valid_with(map, dev_size, unaligned_last, Flaw::None)
}

/// [`model_valid`], optionally with a deliberate flaw.
pub fn model_valid_with(map: &Fmap, dev_size: u64, unaligned_last: bool, flaw: Flaw) -> bool {
    model_valid_in(map, dev_size, unaligned_last, MIB2, flaw)
}

/// The validation rules on a mount whose allocation unit is `unit` (2 MiB,
/// or 4 KiB on a mount made with the small unit): every offset, length
/// (but a v1 last one), chunk size and non-last interleaved extent's bytes
/// a multiple of it.
pub fn model_valid_in(
    map: &Fmap,
    dev_size: u64,
    unaligned_last: bool,
    unit: u64,
    flaw: Flaw,
) -> bool {
    let mut ranges: Vec<(u128, u128)> = Vec::new();
    let range_ok = |off: u64, len: u64, len_free: bool| -> bool {
        len > 0
            && (off % unit == 0 || flaw == Flaw::OffsetAlignment)
            && (len_free || len % unit == 0)
            && (off != 0 || map.file_type == famfs_fmap::FileType::Superblock)
            && off as u128 + len as u128 <= dev_size as u128
    };
    let covered: u128 = match &map.layout {
        Layout::Simple { count, extents } => {
            if *count < 1 || *count > 2 {
                return false;
            }
            for (i, e) in extents[..*count].iter().enumerate() {
                if !range_ok(e.offset, e.len, unaligned_last && i == count - 1) {
                    return false;
                }
                ranges.push((e.offset as u128, e.offset as u128 + e.len as u128));
            }
            extents[..*count]
                .iter()
                .map(|e| e.len as u128)
                .sum::<u128>()
        }
        Layout::Interleaved { count, extents } => {
            if *count < 1 || *count > 4 {
                return false;
            }
            for (i, ie) in extents[..*count].iter().enumerate() {
                if i + 1 < *count && ie.nbytes % unit != 0 {
                    return false;
                }
                if ie.nstrips < 1
                    || ie.nstrips > 16
                    || ie.chunk_size == 0
                    || ie.chunk_size % unit != 0
                    || ie.nbytes == 0
                {
                    return false;
                }
                // chunk k goes to strip k % n: count them one by one
                let nchunks = (ie.nbytes as u128).div_ceil(ie.chunk_size as u128);
                for (s, st) in ie.strips[..ie.nstrips].iter().enumerate() {
                    if !range_ok(st.offset, st.len, false) {
                        return false;
                    }
                    // chunks k with k % n == s and k < nchunks: s, s + n, s + 2n, ...
                    let n = ie.nstrips as u128;
                    let s = s as u128;
                    let mine = if s < nchunks {
                        (nchunks - 1 - s) / n + 1
                    } else {
                        0
                    };
                    if (st.len as u128) < mine * ie.chunk_size as u128 {
                        return false;
                    }
                    ranges.push((st.offset as u128, st.offset as u128 + st.len as u128));
                }
            }
            extents[..*count]
                .iter()
                .map(|ie| ie.nbytes as u128)
                .sum::<u128>()
        }
    };
    if covered < map.file_size as u128 {
        return false;
    }
    ranges.sort();
    ranges.windows(2).all(|w| w[0].1 <= w[1].0)
}

/// Every device range `(offset, len)` a map uses (extents or strips).
pub fn model_ranges(map: &Fmap) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    match &map.layout {
        Layout::Simple { count, extents } => {
            for e in extents.iter().take(*count) {
                out.push((e.offset, e.len));
            }
        }
        Layout::Interleaved { count, extents } => {
            for ie in extents.iter().take(*count) {
                for s in ie.strips.iter().take(ie.nstrips) {
                    out.push((s.offset, s.len));
                }
            }
        }
    }
    out
}

pub mod ioctl;
