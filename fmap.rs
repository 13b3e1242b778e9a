// SPDX-License-Identifier: GPL-2.0

//! famfs extent maps: validation, and translation of file offsets to device
//! offsets.
//!
//! This file is plain `core` Rust with no allocation and no kernel
//! dependencies. The kernel module compiles it as `crate::fmap` (and tests it
//! with KUnit); the host crate `crates/famfs-fmap` compiles the very same file
//! for `cargo test` and property tests against an independent model.
//!
//! A map describes where a file's bytes live on the dax device, in one of two
//! layouts:
//! - *simple*: up to [`MAX_SIMPLE_EXTENTS`] extents, concatenated in order;
//! - *interleaved*: up to [`MAX_INTERLEAVED_EXTENTS`] interleaved extents,
//!   concatenated in order. An interleaved extent covers `nbytes` bytes of the
//!   file, cut into chunks of `chunk_size` bytes that are dealt round-robin to
//!   its strips: chunk `k` lives in strip `k % nstrips`, at offset
//!   `(k / nstrips) * chunk_size` within that strip.
//!
//! All arithmetic is checked: a map is either valid or rejected with an
//! [`FmapError`]; nothing here panics on any input.

/// famfs's default alignment and allocation unit: 2 MiB (a PMD on x86-64).
pub const FAMFS_ALIGN: u64 = 2 << 20;
/// The small allocation unit a mount may allow (`alloc_unit=4k`): 4 KiB,
/// one page. Files on it are served with PTE faults, and with PMD faults
/// where a 2 MiB piece of the file is 2 MiB aligned and contiguous.
pub const SMALL_UNIT: u64 = 4096;
/// The page size the data path maps with (x86-64).
pub const PAGE: u64 = 4096;
/// Most extents in a simple map.
pub const MAX_SIMPLE_EXTENTS: usize = 2;
/// Most interleaved extents in an interleaved map.
pub const MAX_INTERLEAVED_EXTENTS: usize = 4;
/// Most strips in one interleaved extent.
pub const MAX_STRIPS: usize = 16;
/// Most device ranges one map can use.
pub const MAX_RANGES: usize = MAX_INTERLEAVED_EXTENTS * MAX_STRIPS;
/// Most memory devices of one mount (the KABI 44 device table). Device 0 is
/// the mount's source; the others are added while mounted.
pub const MAX_DEVICES: usize = 64;
/// Device offsets are below 2^58 (256 PiB), so that a device index and an
/// offset fit one `u64` key ([`Extent::key`]); a larger device is used up to
/// that size.
pub const DEV_SHIFT: u32 = 58;

const EINVAL: i32 = 22;
const E2BIG: i32 = 7;
const ENODEV: i32 = 19;

/// A contiguous range of one of the mount's devices, in bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Extent {
    /// The device's index in the mount's device table (0: the source).
    pub dev: u32,
    /// Byte offset on the device.
    pub offset: u64,
    /// Length in bytes.
    pub len: u64,
}

impl Extent {
    /// A range of device 0.
    pub const fn new(offset: u64, len: u64) -> Extent {
        Extent::on(0, offset, len)
    }

    /// A range of device `dev`.
    pub const fn on(dev: u32, offset: u64, len: u64) -> Extent {
        Extent { dev, offset, len }
    }

    /// The first byte after the extent, if it does not overflow.
    pub const fn end(&self) -> Option<u64> {
        self.offset.checked_add(self.len)
    }

    /// Whether two (valid, non-overflowing) ranges share a byte: ranges of
    /// different devices never do.
    pub const fn overlaps(&self, other: &Extent) -> bool {
        if self.dev != other.dev {
            return false;
        }
        match (self.end(), other.end()) {
            (Some(a_end), Some(b_end)) => self.offset < b_end && other.offset < a_end,
            // An overflowing range reaches the end of the address space.
            _ => true,
        }
    }

    /// The range's first byte in one address space of all devices: the
    /// device index above [`DEV_SHIFT`], the offset below it. Ordered by
    /// device, then offset; a validated range's key plus its length stays
    /// within its device's part of that space.
    pub const fn key(&self) -> u64 {
        ((self.dev as u64) << DEV_SHIFT) | self.offset
    }
}

/// What a file is to famfs (`enum famfs_file_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileType {
    /// An ordinary data file.
    Regular,
    /// The superblock file: the only one that may map offset 0 of device 0.
    Superblock,
    /// The metadata log file.
    Log,
}

impl FileType {
    /// Decodes the ABI value (0, 1, 2).
    pub const fn from_raw(v: u32) -> Option<FileType> {
        match v {
            0 => Some(FileType::Regular),
            1 => Some(FileType::Superblock),
            2 => Some(FileType::Log),
            _ => None,
        }
    }

    /// The ABI value.
    pub const fn to_raw(self) -> u32 {
        match self {
            FileType::Regular => 0,
            FileType::Superblock => 1,
            FileType::Log => 2,
        }
    }
}

/// One interleaved extent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Interleave {
    /// Bytes per chunk.
    pub chunk_size: u64,
    /// File bytes this interleaved extent covers.
    pub nbytes: u64,
    /// Number of strips in use (`strips[..nstrips]`).
    pub nstrips: usize,
    /// The strips.
    pub strips: [Extent; MAX_STRIPS],
}

/// How a file's bytes are laid out.
///
/// Fixed-size on purpose: a map lives in one allocation per file, and a
/// simple map is no cheaper to keep than an interleaved one.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Extents concatenated in order (`extents[..count]`).
    Simple {
        /// Number of extents in use.
        count: usize,
        /// The extents.
        extents: [Extent; MAX_SIMPLE_EXTENTS],
    },
    /// Interleaved extents concatenated in order (`extents[..count]`).
    Interleaved {
        /// Number of interleaved extents in use.
        count: usize,
        /// The interleaved extents.
        extents: [Interleave; MAX_INTERLEAVED_EXTENTS],
    },
}

/// A file's extent map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fmap {
    /// Kind of file.
    pub file_type: FileType,
    /// File size in bytes.
    pub file_size: u64,
    /// Where the bytes are.
    pub layout: Layout,
}

/// Why a map was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FmapError {
    /// The map has no extents (or an interleaved extent no strips).
    NoExtents,
    /// More extents than the ABI allows.
    TooManyExtents,
    /// More strips than the ABI allows.
    TooManyStrips,
    /// An extent, strip or interleaved extent of length zero.
    ZeroLength,
    /// An offset or length that is not a multiple of the allocation unit
    /// (2 MiB, or 4 KiB on a mount that allows it).
    Misaligned,
    /// Device offset 0 (the superblock) in a file that is not the superblock.
    OffsetZero,
    /// A range that ends beyond the device.
    BeyondDevice,
    /// Arithmetic overflow in offsets or lengths.
    Overflow,
    /// Two ranges of the map share device memory.
    Overlap,
    /// The extents do not cover the file size.
    TooSmall,
    /// A chunk size that is zero or not a multiple of the allocation unit.
    BadChunkSize,
    /// A strip shorter than the chunks dealt to it.
    StripTooShort,
    /// A KABI 43 map with a device index other than 0 (that interface
    /// knows one device).
    BadDevIndex,
    /// A device index beyond the device table ([`MAX_DEVICES`]).
    DevIndexRange,
    /// A device index at which the mount has no device open.
    NoDevice,
    /// An unknown file type.
    BadFileType,
    /// An unknown extent type.
    BadExtentType,
}

impl FmapError {
    /// The (positive) errno reported to user space.
    pub const fn errno(self) -> i32 {
        match self {
            FmapError::TooManyExtents | FmapError::TooManyStrips => E2BIG,
            FmapError::NoDevice => ENODEV,
            _ => EINVAL,
        }
    }

    /// A short description for the kernel log.
    pub const fn describe(self) -> &'static str {
        match self {
            FmapError::NoExtents => "no extents",
            FmapError::TooManyExtents => "too many extents",
            FmapError::TooManyStrips => "too many strips",
            FmapError::ZeroLength => "zero-length extent",
            FmapError::Misaligned => "offset or length not a multiple of the allocation unit",
            FmapError::OffsetZero => "device offset 0 is reserved for the superblock",
            FmapError::BeyondDevice => "extent beyond the end of the device",
            FmapError::Overflow => "offset or length overflows",
            FmapError::Overlap => "extents overlap",
            FmapError::TooSmall => "extents do not cover the file size",
            FmapError::BadChunkSize => "chunk size not a non-zero multiple of the allocation unit",
            FmapError::StripTooShort => "strip too short for its chunks",
            FmapError::BadDevIndex => "device index must be 0",
            FmapError::DevIndexRange => "device index beyond the device table (64 entries)",
            FmapError::NoDevice => "no device is open at that index",
            FmapError::BadFileType => "unknown file type",
            FmapError::BadExtentType => "unknown extent type",
        }
    }
}

/// Where a file offset lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mapping {
    /// The device (index in the mount's device table).
    pub dev: u32,
    /// Device offset of the file offset.
    pub dev_offset: u64,
    /// Bytes that are contiguous on the device from there (to the end of the
    /// extent or chunk).
    pub len: u64,
}

/// Device-wide limits a map is validated against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Size in bytes of each device of the mount, by index; 0 where no
    /// device is open.
    pub dev_sizes: [u64; MAX_DEVICES],
    /// The v1 map ABI lets the last extent's length be unaligned.
    pub unaligned_last_len: bool,
    /// The mount's allocation unit: [`FAMFS_ALIGN`] (the default) or
    /// [`SMALL_UNIT`]. Every offset, length and chunk size must be a
    /// multiple of it.
    pub unit: u64,
}

impl Limits {
    /// Limits of a device of `dev_size` bytes with the default 2 MiB unit,
    /// every length aligned (the v2 ABI).
    pub const fn new(dev_size: u64) -> Limits {
        let mut dev_sizes = [0; MAX_DEVICES];
        dev_sizes[0] = dev_size;
        Limits {
            dev_sizes,
            unaligned_last_len: false,
            unit: FAMFS_ALIGN,
        }
    }

    /// The usable size of device `dev` ([`DEV_SHIFT`] at most), or why a
    /// map cannot use it.
    const fn dev_size(&self, dev: u32) -> Result<u64, FmapError> {
        if dev as usize >= MAX_DEVICES {
            return Err(FmapError::DevIndexRange);
        }
        let size = self.dev_sizes[dev as usize];
        if size == 0 {
            return Err(FmapError::NoDevice);
        }
        Ok(if size > 1 << DEV_SHIFT {
            1 << DEV_SHIFT
        } else {
            size
        })
    }

    /// Whether `v` is a multiple of the unit (an invalid unit of 0 or one
    /// that is not a power of two accepts nothing).
    const fn aligned(&self, v: u64) -> bool {
        self.unit.is_power_of_two() && v & (self.unit - 1) == 0
    }
}

/// Checks one device range against the device and the alignment rules.
fn check_range(
    e: &Extent,
    file_type: FileType,
    limits: &Limits,
    len_may_be_unaligned: bool,
) -> Result<(), FmapError> {
    let dev_size = limits.dev_size(e.dev)?;
    if e.len == 0 {
        return Err(FmapError::ZeroLength);
    }
    if !limits.aligned(e.offset) || (!len_may_be_unaligned && !limits.aligned(e.len)) {
        return Err(FmapError::Misaligned);
    }
    // Offset 0 of device 0 holds the superblock; another device's offset 0
    // is memory like any other.
    if e.dev == 0 && e.offset == 0 && file_type != FileType::Superblock {
        return Err(FmapError::OffsetZero);
    }
    let end = e.end().ok_or(FmapError::Overflow)?;
    if end > dev_size {
        return Err(FmapError::BeyondDevice);
    }
    Ok(())
}

impl Interleave {
    /// Number of chunks the interleaved extent has (the last may be partial).
    fn nchunks(&self) -> Option<u64> {
        let full = self.nbytes / self.chunk_size;
        Some(if self.nbytes % self.chunk_size == 0 {
            full
        } else {
            full.checked_add(1)?
        })
    }

    /// Bytes of strip `s` the chunks dealt to it need.
    fn strip_need(&self, s: usize) -> Option<u64> {
        let n = self.nstrips as u64;
        let chunks = self.nchunks()?;
        let mine = chunks / n + u64::from((s as u64) < chunks % n);
        mine.checked_mul(self.chunk_size)
    }
}

impl Fmap {
    /// A simple map of `extents` (`(offset, len)` pairs) for a file of
    /// `file_size` bytes. Its extent count is `extents.len()`, even above
    /// [`MAX_SIMPLE_EXTENTS`] (only that many are kept), so that
    /// validation can refuse it: for tests and tools.
    pub fn simple(file_type: FileType, file_size: u64, extents: &[(u64, u64)]) -> Fmap {
        let mut kept = [Extent::default(); MAX_SIMPLE_EXTENTS];
        for (k, (offset, len)) in kept.iter_mut().zip(extents) {
            *k = Extent::new(*offset, *len);
        }
        Fmap {
            file_type,
            file_size,
            layout: Layout::Simple {
                count: extents.len(),
                extents: kept,
            },
        }
    }

    /// Calls `f` with every device range the map uses.
    pub fn for_each_range(&self, mut f: impl FnMut(&Extent)) {
        match &self.layout {
            Layout::Simple { count, extents } => {
                extents.iter().take(*count).for_each(&mut f);
            }
            Layout::Interleaved { count, extents } => {
                for ie in extents.iter().take(*count) {
                    ie.strips.iter().take(ie.nstrips).for_each(&mut f);
                }
            }
        }
    }

    /// The devices the map uses, as a bit set of device indices (indices
    /// beyond [`MAX_DEVICES`], which validation refuses, are left out).
    pub fn devices(&self) -> u64 {
        let mut set: u64 = 0;
        self.for_each_range(|e| {
            if (e.dev as usize) < MAX_DEVICES {
                set |= 1 << e.dev;
            }
        });
        set
    }

    /// Total device bytes the map uses (saturating).
    pub fn mapped_bytes(&self) -> u64 {
        let mut total: u64 = 0;
        self.for_each_range(|e| total = total.saturating_add(e.len));
        total
    }

    /// Calls `f(file_offset, len)` for every part of the file stored in the
    /// device range `dev` (of device `dev.dev`; the reverse of
    /// [`Fmap::resolve`]), in no
    /// particular order. Used to find what a memory failure hit. The work is
    /// proportional to the number of chunks the range touches, so call it on
    /// validated maps only (whose ranges lie inside the device).
    pub fn file_ranges_in(&self, dev: &Extent, mut f: impl FnMut(u64, u64)) {
        let dev_end = dev.offset.saturating_add(dev.len);
        let mut base: u64 = 0;
        match &self.layout {
            Layout::Simple { count, extents } => {
                for e in extents.iter().take(*count) {
                    let end = e.offset.saturating_add(e.len);
                    let lo = e.offset.max(dev.offset);
                    let hi = end.min(dev_end);
                    if lo < hi && e.dev == dev.dev {
                        f(base.saturating_add(lo - e.offset), hi - lo);
                    }
                    base = base.saturating_add(e.len);
                }
            }
            Layout::Interleaved { count, extents } => {
                for ie in extents.iter().take(*count) {
                    if ie.chunk_size == 0 || ie.nstrips == 0 || ie.nstrips > MAX_STRIPS {
                        return;
                    }
                    let n = ie.nstrips as u64;
                    for (s, strip) in ie.strips.iter().take(ie.nstrips).enumerate() {
                        let end = strip.offset.saturating_add(strip.len);
                        let lo = strip.offset.max(dev.offset);
                        let hi = end.min(dev_end);
                        if lo >= hi || strip.dev != dev.dev {
                            continue;
                        }
                        // Chunks of this strip that the failed range touches.
                        let first = (lo - strip.offset) / ie.chunk_size;
                        let last = (hi - 1 - strip.offset) / ie.chunk_size;
                        for c in first..=last {
                            let Some(k) = c.checked_mul(n).and_then(|v| v.checked_add(s as u64))
                            else {
                                break;
                            };
                            let Some(chunk_file) = k.checked_mul(ie.chunk_size) else {
                                break;
                            };
                            if chunk_file >= ie.nbytes {
                                break;
                            }
                            let chunk_dev = strip.offset + c * ie.chunk_size;
                            let a = lo.max(chunk_dev);
                            let z = hi.min(chunk_dev.saturating_add(ie.chunk_size));
                            let off = chunk_file + (a - chunk_dev);
                            if off < ie.nbytes {
                                let len = (z - a).min(ie.nbytes - off);
                                f(base.saturating_add(off), len);
                            }
                        }
                    }
                    base = base.saturating_add(ie.nbytes);
                }
            }
        }
    }

    /// Checks every rule; `Ok` means the map is safe to serve.
    ///
    /// The rules: 1 to [`MAX_SIMPLE_EXTENTS`] simple extents, or 1 to
    /// [`MAX_INTERLEAVED_EXTENTS`] interleaved extents of 1 to [`MAX_STRIPS`]
    /// strips; no zero lengths; every offset and length a multiple of the
    /// allocation unit (`limits.unit`: 2 MiB, or 4 KiB) (except
    /// the last simple extent's length if `limits.unaligned_last_len`, and the
    /// file bytes of the last interleaved extent); every range on a device
    /// the mount has open (index below [`MAX_DEVICES`]) and inside it;
    /// offset 0 of device 0 only in the superblock file;
    /// chunk sizes non-zero multiples of the unit; every strip long enough for
    /// the chunks dealt to it; no two ranges of one device overlapping; the
    /// extents covering the file size; no arithmetic overflow anywhere.
    pub fn validate(&self, limits: &Limits) -> Result<(), FmapError> {
        let covered = match &self.layout {
            Layout::Simple { count, extents } => {
                if *count == 0 {
                    return Err(FmapError::NoExtents);
                }
                if *count > MAX_SIMPLE_EXTENTS {
                    return Err(FmapError::TooManyExtents);
                }
                let mut covered: u64 = 0;
                for (i, e) in extents.iter().take(*count).enumerate() {
                    let last = i + 1 == *count;
                    check_range(e, self.file_type, limits, last && limits.unaligned_last_len)?;
                    covered = covered.checked_add(e.len).ok_or(FmapError::Overflow)?;
                }
                covered
            }
            Layout::Interleaved { count, extents } => {
                if *count == 0 {
                    return Err(FmapError::NoExtents);
                }
                if *count > MAX_INTERLEAVED_EXTENTS {
                    return Err(FmapError::TooManyExtents);
                }
                let mut covered: u64 = 0;
                for (i, ie) in extents.iter().take(*count).enumerate() {
                    // Only the last interleaved extent may end off a unit
                    // boundary, so that later extents stay aligned in the file.
                    if i + 1 < *count && !limits.aligned(ie.nbytes) {
                        return Err(FmapError::Misaligned);
                    }
                    if ie.nstrips == 0 {
                        return Err(FmapError::NoExtents);
                    }
                    if ie.nstrips > MAX_STRIPS {
                        return Err(FmapError::TooManyStrips);
                    }
                    if ie.chunk_size == 0 || !limits.aligned(ie.chunk_size) {
                        return Err(FmapError::BadChunkSize);
                    }
                    if ie.nbytes == 0 {
                        return Err(FmapError::ZeroLength);
                    }
                    for (s, strip) in ie.strips.iter().take(ie.nstrips).enumerate() {
                        check_range(strip, self.file_type, limits, false)?;
                        let need = ie.strip_need(s).ok_or(FmapError::Overflow)?;
                        if strip.len < need {
                            return Err(FmapError::StripTooShort);
                        }
                    }
                    covered = covered.checked_add(ie.nbytes).ok_or(FmapError::Overflow)?;
                }
                covered
            }
        };
        if covered < self.file_size {
            return Err(FmapError::TooSmall);
        }
        // No two ranges may share memory: at most MAX_RANGES ranges, so a
        // pairwise check is cheap.
        let mut ranges = [Extent::default(); MAX_RANGES];
        let mut n = 0;
        self.for_each_range(|e| {
            if n < MAX_RANGES {
                ranges[n] = *e;
                n += 1;
            }
        });
        for i in 0..n {
            for j in (i + 1)..n {
                if ranges[i].overlaps(&ranges[j]) {
                    return Err(FmapError::Overlap);
                }
            }
        }
        Ok(())
    }

    /// The device memory of the file's `bytes` bytes at `pos`, if they lie
    /// in one run of one device (`len` is then at least `bytes`): what a
    /// fault may map with one entry of that size.
    pub fn resolve_run(&self, pos: u64, bytes: u64) -> Option<Mapping> {
        self.resolve(pos).filter(|m| m.len >= bytes)
    }

    /// Where file offset `pos` lives on the device, or `None` past the
    /// extents. Valid for validated maps; never panics on any map.
    pub fn resolve(&self, pos: u64) -> Option<Mapping> {
        let mut base: u64 = 0;
        match &self.layout {
            Layout::Simple { count, extents } => {
                for e in extents.iter().take(*count) {
                    let end = base.checked_add(e.len)?;
                    if pos < end {
                        let rel = pos - base;
                        // A v1 last extent may end inside a page: the
                        // mapping covers that whole page (the rest of its
                        // allocation unit, a page at least, can belong to
                        // no other file), so that
                        // it never ends before the position DAX asks next.
                        let len = e.len.checked_next_multiple_of(PAGE)? - rel;
                        return Some(Mapping {
                            dev: e.dev,
                            dev_offset: e.offset.checked_add(rel)?,
                            len,
                        });
                    }
                    base = end;
                }
                None
            }
            Layout::Interleaved { count, extents } => {
                for (i, ie) in extents.iter().take(*count).enumerate() {
                    let end = base.checked_add(ie.nbytes)?;
                    if pos < end {
                        if ie.chunk_size == 0 || ie.nstrips == 0 || ie.nstrips > MAX_STRIPS {
                            return None;
                        }
                        let rel = pos - base;
                        let chunk = rel / ie.chunk_size;
                        let within = rel % ie.chunk_size;
                        let n = ie.nstrips as u64;
                        let strip = &ie.strips[(chunk % n) as usize];
                        let strip_off = (chunk / n)
                            .checked_mul(ie.chunk_size)?
                            .checked_add(within)?;
                        if strip_off >= strip.len {
                            return None;
                        }
                        // To the end of the chunk, inside the strip (whole
                        // allocation units), and before the next interleaved
                        // extent (which starts unit aligned). The last
                        // extent is not cut at its unaligned end: a mapping
                        // ending inside a page, at the file size, would be
                        // asked for the position where it ends.
                        let mut len = (ie.chunk_size - within).min(strip.len - strip_off);
                        if i + 1 < *count {
                            len = len.min(end - pos);
                        }
                        return Some(Mapping {
                            dev: strip.dev,
                            dev_offset: strip.offset.checked_add(strip_off)?,
                            len,
                        });
                    }
                    base = end;
                }
                None
            }
        }
    }
}

/// The size of a PMD entry: 2 MiB.
pub const PMD_BYTES: u64 = 2 << 20;
/// The size of a PUD entry: 1 GiB.
pub const PUD_BYTES: u64 = 1 << 30;

/// Where a fault happened: the address, its mapping's range and the file
/// page of the address (as `struct vm_fault` gives them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FaultAt {
    /// The faulting address.
    pub address: u64,
    /// The mapping's first address.
    pub vm_start: u64,
    /// The address past the mapping's end.
    pub vm_end: u64,
    /// The file page that holds `address`.
    pub pgoff: u64,
}

/// The rule for one mapping entry of `bytes` bytes (a page, 2 MiB or 1 GiB)
/// serving a fault: the naturally aligned block of `bytes` that holds the
/// address must lie inside the mapping, start at a file offset that is a
/// multiple of `bytes` (the address and the file agree modulo the entry
/// size), and hold file bytes only: a page entry needs its first byte
/// below `file_size`, a larger one must end at or before it. Returns the
/// block's address and file offset; `None` sends the fault to a smaller
/// entry (or, for a page, past the end of the file: `SIGBUS`). Whether
/// the file's memory for the block is one aligned run is the caller's
/// next question ([`Fmap::resolve_run`]).
pub fn fault_block(at: FaultAt, bytes: u64, file_size: u64) -> Option<(u64, u64)> {
    if bytes == 0 || !bytes.is_power_of_two() || bytes < PAGE {
        return None;
    }
    let block = at.address & !(bytes - 1);
    if block < at.vm_start || block.checked_add(bytes)? > at.vm_end {
        return None;
    }
    let page = at.address & !(PAGE - 1);
    let off = at.pgoff.checked_mul(PAGE)?.checked_sub(page - block)?;
    if off % bytes != 0 {
        return None;
    }
    let fits = if bytes == PAGE {
        off < file_size
    } else {
        off.checked_add(bytes)? <= file_size
    };
    fits.then_some((block, off))
}
