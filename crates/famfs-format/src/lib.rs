//! The famfs on-media format: the superblock at offset 0 and the append-only
//! metadata log at 2 MiB, byte-compatible with the public famfs user space
//! (x86-64 layouts, native little-endian, zlib CRC-32).
//!
//! This crate only encodes and decodes bytes; it does no I/O. Layouts:
//!
//! - superblock, 200 bytes at offset 0 of a 2 MiB region: magic 0x87b282ff,
//!   version 48, log offset and length, allocation unit 2 MiB, format version
//!   2.2, file-system / device / system UUIDs, a CRC over the first 96 bytes,
//!   flags, and the device record (size, UUID, name);
//! - log header, 48 bytes at the log offset: magic 0xbadcafef00d, log length,
//!   last entry index, a CRC over the first 24 bytes, next sequence number,
//!   next entry index;
//! - log entries, 544 bytes each from log offset + 48: sequence number, type
//!   (file 0, mkdir 1, device 3), a 520-byte body, a CRC over the first 536
//!   bytes;
//! - a device label, on every device added to the file system after device
//!   0 (`famfs devadd`): the superblock structure at offset 0 of the device,
//!   flagged [`SB_FLAG_SECONDARY`], with no log, naming the file system and
//!   the device's UUID (the one its log entry records). Its 2 MiB region
//!   ([`LABEL_REGION`]) is never given to files.
//!
//! [`Log`] is the one reader and writer of the log, over any storage that
//! implements [`LogStore`] (a byte buffer here, the mapped `.meta/.log` in
//! the famfs tool). [`fsck`] checks a superblock and log together (CRCs,
//! paths, cross-linked or misplaced extents, free space).

use thiserror::Error;

pub mod fsck;
mod log;
pub use log::{check_header, read_log, slot_range, Log, LogError, LogRead, LogStore, Replay};
mod pud;
pub use pud::{pud_align_up, pud_aligned, pud_gibs, pud_mappable, PUD_SIZE};
use uuid::Uuid;

/// Superblock magic (also the statfs `f_type` of a famfs mount).
pub const SUPERBLOCK_MAGIC: u64 = famfs_abi::FAMFS_SUPER_MAGIC as u64;
/// Superblock version.
pub const SUPERBLOCK_VERSION: u64 = 48;
/// On-media format version.
pub const OMF_VER_MAJOR: u32 = 2;
/// On-media format version.
pub const OMF_VER_MINOR: u32 = 2;
/// Size of the superblock region (and offset of the log).
pub const SUPERBLOCK_REGION: u64 = 2 << 20;
/// Allocation unit.
pub const ALLOC_UNIT: u64 = 2 << 20;
/// Default and minimum log length.
pub const DEFAULT_LOG_LEN: u64 = 8 << 20;
/// Log magic.
pub const LOG_MAGIC: u64 = 0xbad_cafe_f00d;
/// Bytes of the superblock structure.
pub const SUPERBLOCK_SIZE: usize = 200;
/// Bytes of the log header.
pub const LOG_HEADER_SIZE: usize = 48;
/// Bytes of one log entry.
pub const LOG_ENTRY_SIZE: usize = 544;
/// Longest relative path in the log (bytes, including no terminator).
pub const MAX_PATHLEN: usize = 80;
/// Simple extents in a log file entry.
pub const MAX_SIMPLE_EXTENTS: usize = 16;
/// Strips of the interleaved extent in a log file entry.
pub const MAX_STRIPS: usize = 16;
/// Bytes of the device name in the superblock.
pub const DEVNAME_LEN: usize = 64;
/// Superblock flag: the file system's own superblock, on device 0.
pub const SB_FLAG_PRIMARY: u32 = 1 << 0;
/// Superblock flag: a device label, on a device added after device 0.
pub const SB_FLAG_SECONDARY: u32 = 1 << 1;
/// The region a device label reserves at the start of an added device.
pub const LABEL_REGION: u64 = 2 << 20;
/// Entries of a device table (the module's, and the log's indices).
pub const MAX_DEVICES: u32 = 64;

/// Why bytes could not be decoded.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum FormatError {
    /// Not a famfs superblock.
    #[error("bad superblock magic {0:#x}")]
    BadMagic(u64),
    /// A CRC did not match.
    #[error("{what}: CRC mismatch (stored {stored:#x}, computed {computed:#x})")]
    BadCrc {
        /// What was checked.
        what: &'static str,
        /// CRC in the bytes.
        stored: u64,
        /// CRC of the bytes.
        computed: u64,
    },
    /// Too few bytes.
    #[error("{0}: truncated")]
    Truncated(&'static str),
    /// A field out of range.
    #[error("{0}")]
    Invalid(&'static str),
    /// A log length that is not a power of two of at least 8 MiB.
    #[error("log length {0} is not a power of two of at least 8 MiB (8388608)")]
    LogLength(u64),
}

/// Checks a log length: a power of two of at least [`DEFAULT_LOG_LEN`].
pub fn check_log_len(len: u64) -> Result<(), FormatError> {
    if len < DEFAULT_LOG_LEN || !len.is_power_of_two() {
        return Err(FormatError::LogLength(len));
    }
    Ok(())
}

fn rd_u32(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(b[off..off + 4].try_into().expect("4 bytes"))
}

fn rd_u64(b: &[u8], off: usize) -> u64 {
    u64::from_le_bytes(b[off..off + 8].try_into().expect("8 bytes"))
}

fn wr_u32(b: &mut [u8], off: usize, v: u32) {
    b[off..off + 4].copy_from_slice(&v.to_le_bytes());
}

fn wr_u64(b: &mut [u8], off: usize, v: u64) {
    b[off..off + 8].copy_from_slice(&v.to_le_bytes());
}

fn rd_uuid(b: &[u8], off: usize) -> Uuid {
    Uuid::from_bytes(b[off..off + 16].try_into().expect("16 bytes"))
}

/// zlib CRC-32 of `bytes`, as famfs stores it (in a 64-bit field).
pub fn crc32(bytes: &[u8]) -> u64 {
    u64::from(crc32fast::hash(bytes))
}

/// The superblock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Superblock {
    /// Superblock version (`ts_version`): [`SUPERBLOCK_VERSION`] for what
    /// this tool makes; 47 for file systems of one device made by older
    /// tools.
    pub version: u64,
    /// On-media format version, major and minor (2.2 with device entries).
    pub omf: (u32, u32),
    /// Offset of the log on the device.
    pub log_offset: u64,
    /// Length of the log.
    pub log_len: u64,
    /// Allocation unit.
    pub alloc_unit: u64,
    /// File-system UUID (new at every mkfs).
    pub fs_uuid: Uuid,
    /// Device UUID.
    pub dev_uuid: Uuid,
    /// System UUID of the master host.
    pub system_uuid: Uuid,
    /// Flags.
    pub flags: u32,
    /// Device size.
    pub dev_size: u64,
    /// Device name (e.g. "dax0.0"), at most 63 bytes.
    pub dev_name: String,
}

impl Superblock {
    /// Encodes the 200-byte superblock structure, CRC included.
    pub fn encode(&self) -> Result<[u8; SUPERBLOCK_SIZE], FormatError> {
        if self.dev_name.len() >= DEVNAME_LEN {
            return Err(FormatError::Invalid("device name longer than 63 bytes"));
        }
        let mut b = [0u8; SUPERBLOCK_SIZE];
        wr_u64(&mut b, 0, SUPERBLOCK_MAGIC);
        wr_u64(&mut b, 8, self.version);
        wr_u64(&mut b, 16, self.log_offset);
        wr_u64(&mut b, 24, self.log_len);
        wr_u64(&mut b, 32, self.alloc_unit);
        wr_u32(&mut b, 40, self.omf.0);
        wr_u32(&mut b, 44, self.omf.1);
        b[48..64].copy_from_slice(self.fs_uuid.as_bytes());
        b[64..80].copy_from_slice(self.dev_uuid.as_bytes());
        b[80..96].copy_from_slice(self.system_uuid.as_bytes());
        let crc = crc32(&b[..96]);
        wr_u64(&mut b, 96, crc);
        wr_u32(&mut b, 104, self.flags);
        wr_u64(&mut b, 112, self.dev_size);
        b[120..136].copy_from_slice(self.dev_uuid.as_bytes());
        b[136..136 + self.dev_name.len()].copy_from_slice(self.dev_name.as_bytes());
        Ok(b)
    }

    /// The label of device `index`'s memory (`dev_size` bytes, known to every
    /// host as `dev_uuid`) in file system `fs` (whose superblock this is):
    /// the superblock structure flagged [`SB_FLAG_SECONDARY`], without a log.
    pub fn label(&self, dev_uuid: Uuid, dev_size: u64, dev_name: &str) -> Superblock {
        Superblock {
            version: SUPERBLOCK_VERSION,
            omf: (OMF_VER_MAJOR, OMF_VER_MINOR),
            log_offset: 0,
            log_len: 0,
            alloc_unit: self.alloc_unit,
            fs_uuid: self.fs_uuid,
            dev_uuid,
            system_uuid: self.system_uuid,
            flags: SB_FLAG_SECONDARY,
            dev_size,
            dev_name: dev_name.to_owned(),
        }
    }

    /// True when the file system's format has device entries in its log
    /// (version 48, format 2.2 or later): a file system of an older format
    /// is one device, and tools of its format would not read them.
    pub fn has_device_entries(&self) -> bool {
        self.version >= SUPERBLOCK_VERSION && self.omf >= (OMF_VER_MAJOR, OMF_VER_MINOR)
    }

    /// The same superblock in the format with device entries (version 48,
    /// format 2.2); nothing else changes.
    pub fn upgraded(&self) -> Superblock {
        Superblock {
            version: self.version.max(SUPERBLOCK_VERSION),
            omf: self.omf.max((OMF_VER_MAJOR, OMF_VER_MINOR)),
            ..self.clone()
        }
    }

    /// True for a device label (not a file system's superblock).
    pub fn is_label(&self) -> bool {
        self.flags & SB_FLAG_SECONDARY != 0
    }

    /// Decodes and checks a superblock (magic, CRC).
    pub fn decode(b: &[u8]) -> Result<Superblock, FormatError> {
        if b.len() < SUPERBLOCK_SIZE {
            return Err(FormatError::Truncated("superblock"));
        }
        let magic = rd_u64(b, 0);
        if magic != SUPERBLOCK_MAGIC {
            return Err(FormatError::BadMagic(magic));
        }
        let stored = rd_u64(b, 96);
        let computed = crc32(&b[..96]);
        if stored != computed {
            return Err(FormatError::BadCrc {
                what: "superblock",
                stored,
                computed,
            });
        }
        let name = &b[136..136 + DEVNAME_LEN];
        let end = name.iter().position(|&c| c == 0).unwrap_or(DEVNAME_LEN);
        Ok(Superblock {
            version: rd_u64(b, 8),
            omf: (rd_u32(b, 40), rd_u32(b, 44)),
            log_offset: rd_u64(b, 16),
            log_len: rd_u64(b, 24),
            alloc_unit: rd_u64(b, 32),
            fs_uuid: rd_uuid(b, 48),
            dev_uuid: rd_uuid(b, 64),
            system_uuid: rd_uuid(b, 80),
            flags: rd_u32(b, 104),
            dev_size: rd_u64(b, 112),
            dev_name: String::from_utf8_lossy(&name[..end]).into_owned(),
        })
    }
}

/// Number of entry slots of a log of `log_len` bytes.
pub const fn log_slots(log_len: u64) -> u64 {
    (log_len - LOG_HEADER_SIZE as u64) / LOG_ENTRY_SIZE as u64
}

/// The log header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogHeader {
    /// Log length in bytes.
    pub log_len: u64,
    /// Index of the last slot.
    pub last_index: u64,
    /// Sequence number of the next entry.
    pub next_seqnum: u64,
    /// Slot of the next entry.
    pub next_index: u64,
}

impl LogHeader {
    /// A new, empty log of `log_len` bytes.
    pub fn new(log_len: u64) -> Result<LogHeader, FormatError> {
        check_log_len(log_len)?;
        Ok(LogHeader {
            log_len,
            last_index: log_slots(log_len) - 1,
            next_seqnum: 0,
            next_index: 0,
        })
    }

    /// Encodes the 48-byte header, CRC included.
    pub fn encode(&self) -> [u8; LOG_HEADER_SIZE] {
        let mut b = [0u8; LOG_HEADER_SIZE];
        wr_u64(&mut b, 0, LOG_MAGIC);
        wr_u64(&mut b, 8, self.log_len);
        wr_u64(&mut b, 16, self.last_index);
        let crc = crc32(&b[..24]);
        wr_u64(&mut b, 24, crc);
        wr_u64(&mut b, 32, self.next_seqnum);
        wr_u64(&mut b, 40, self.next_index);
        b
    }

    /// Decodes and checks a log header.
    pub fn decode(b: &[u8]) -> Result<LogHeader, FormatError> {
        if b.len() < LOG_HEADER_SIZE {
            return Err(FormatError::Truncated("log header"));
        }
        if rd_u64(b, 0) != LOG_MAGIC {
            return Err(FormatError::Invalid("bad log magic"));
        }
        let stored = rd_u64(b, 24);
        let computed = crc32(&b[..24]);
        if stored != computed {
            return Err(FormatError::BadCrc {
                what: "log header",
                stored,
                computed,
            });
        }
        let h = LogHeader {
            log_len: rd_u64(b, 8),
            last_index: rd_u64(b, 16),
            next_seqnum: rd_u64(b, 32),
            next_index: rd_u64(b, 40),
        };
        // Checked: a header with a valid CRC may hold any last index.
        if h.log_len < LOG_HEADER_SIZE as u64 + LOG_ENTRY_SIZE as u64
            || h.last_index.checked_add(1) != Some(log_slots(h.log_len))
        {
            return Err(FormatError::Invalid("log length and last index disagree"));
        }
        Ok(h)
    }
}

/// The module's extent-map rules: its own `fmap.rs`, through famfs-fmap.
pub use famfs_fmap as fmap;
/// A device range (`famfs_simple_extent` in the log): the module's extent
/// type.
pub use famfs_fmap::Extent;

/// Where a logged file's bytes are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileMap {
    /// Simple extents (at most 16).
    Simple(Vec<Extent>),
    /// One interleaved extent.
    Interleaved {
        /// Chunk size.
        chunk_size: u64,
        /// Strips (at most 16).
        strips: Vec<Extent>,
    },
}

impl FileMap {
    /// The map the famfs tool gives the module for a file of `size` bytes
    /// with these extents (`FAMFSIOC_MAP_CREATE_V2`, see the tool's
    /// `sys::map_create`): a regular file, its simple extents, or one
    /// interleaved extent covering the whole file. A map with more extents
    /// or strips than the module takes keeps its count (and only the
    /// extents that fit), so that [`fmap::Fmap::validate`] refuses it as
    /// the module does.
    pub fn to_fmap(&self, size: u64) -> fmap::Fmap {
        fn copy<const N: usize>(from: &[Extent]) -> [Extent; N] {
            let mut to = [Extent::default(); N];
            for (d, s) in to.iter_mut().zip(from) {
                *d = *s;
            }
            to
        }
        let layout = match self {
            FileMap::Simple(x) => fmap::Layout::Simple {
                count: x.len(),
                extents: copy(x),
            },
            FileMap::Interleaved { chunk_size, strips } => {
                let mut extents = [fmap::Interleave::default(); fmap::MAX_INTERLEAVED_EXTENTS];
                extents[0] = fmap::Interleave {
                    chunk_size: *chunk_size,
                    nbytes: size,
                    nstrips: strips.len(),
                    strips: copy(strips),
                };
                fmap::Layout::Interleaved { count: 1, extents }
            }
        };
        fmap::Fmap {
            file_type: fmap::FileType::Regular,
            file_size: size,
            layout,
        }
    }

    /// The device ranges of the map (extents, or strips).
    pub fn ranges(&self) -> &[Extent] {
        match self {
            FileMap::Simple(x) => x,
            FileMap::Interleaved { strips, .. } => strips,
        }
    }

    /// The first device other than device 0 (the file system's own) that
    /// the map names, if any: this tool allocates, checks and instantiates
    /// files on device 0 only.
    pub fn other_device(&self) -> Option<u32> {
        self.ranges().iter().map(|x| x.dev).find(|&d| d != 0)
    }
}

/// The module's verdict on the map of a logged file of `size` bytes on a
/// device of `dev_size` bytes, in a file system whose allocation unit is
/// `unit` (the superblock's): what `FAMFSIOC_MAP_CREATE_V2` of it would
/// answer on a mount with that unit, by the module's own validation
/// (`fmap.rs`). Rules that involve more than the map (no overlap with
/// another file's map, the file being empty and unmapped) are not checked
/// here; fsck checks overlaps over the whole log.
pub fn check_map(
    map: &FileMap,
    size: u64,
    dev_size: u64,
    unit: u64,
) -> Result<(), fmap::FmapError> {
    let mut sizes = [0u64; fmap::MAX_DEVICES];
    sizes[0] = dev_size;
    check_map_devices(map, size, &sizes, unit)
}

/// [`check_map`] on a mount whose device table holds devices of these sizes
/// (by index; 0 where the table has no device).
pub fn check_map_devices(
    map: &FileMap,
    size: u64,
    dev_sizes: &[u64; fmap::MAX_DEVICES],
    unit: u64,
) -> Result<(), fmap::FmapError> {
    map.to_fmap(size).validate(&fmap::Limits {
        // The v2 ioctl: every length a multiple of the unit.
        unit,
        dev_sizes: *dev_sizes,
        ..fmap::Limits::new(0)
    })
}

/// What a log entry records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntryBody {
    /// A file (`famfs_log_file_meta`).
    File {
        /// Size.
        size: u64,
        /// Flags (all hosts read-only 1, read-write 2).
        flags: u32,
        /// Owner.
        uid: u32,
        /// Group.
        gid: u32,
        /// Mode bits.
        mode: u32,
        /// Path relative to the mount point.
        relpath: String,
        /// Its memory.
        map: FileMap,
    },
    /// A directory (`famfs_log_mkdir`).
    Mkdir {
        /// Owner.
        uid: u32,
        /// Group.
        gid: u32,
        /// Mode bits.
        mode: u32,
        /// Path relative to the mount point.
        relpath: String,
    },
    /// A device added to the file system (`famfs_log_add_daxdev`, format
    /// 2.2): extents with this index are in this device's memory.
    AddDevice {
        /// The device's size in bytes.
        size: u64,
        /// The device's identity (the UUID in its label).
        uuid: Uuid,
        /// Its index in the device table (1 to 63).
        index: u32,
    },
}

impl EntryBody {
    /// The path the entry records, relative to the mount point; empty for a
    /// device entry, which records none (see [`EntryBody::is_device`]).
    pub fn relpath(&self) -> &str {
        match self {
            EntryBody::File { relpath, .. } | EntryBody::Mkdir { relpath, .. } => relpath,
            EntryBody::AddDevice { .. } => "",
        }
    }

    /// True for a device entry (no path, nothing to instantiate).
    pub fn is_device(&self) -> bool {
        matches!(self, EntryBody::AddDevice { .. })
    }
}

/// A device the log records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct LoggedDevice {
    /// Its index in the device table.
    pub index: u32,
    /// Its size in bytes.
    pub size: u64,
    /// Its identity (the UUID in its label).
    pub uuid: Uuid,
    /// The log slot of its entry.
    pub slot: u64,
}

/// Why a device entry of the log is not used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeviceEntryError {
    /// Index 0 is the file system's own device, or the index is beyond the
    /// table.
    BadIndex(u32),
    /// An earlier entry gave the index to another device (or the same one).
    Again {
        /// The index.
        index: u32,
        /// The slot of the entry that holds it.
        first: u64,
    },
    /// An earlier entry already added this device (by UUID) at another
    /// index.
    SameDevice {
        /// The UUID.
        uuid: Uuid,
        /// The slot of the entry that holds it.
        first: u64,
    },
    /// A device without memory.
    Empty(u32),
}

impl std::fmt::Display for DeviceEntryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeviceEntryError::BadIndex(i) => write!(
                f,
                "device index {i} is not 1 to {} (0 is the file system's own device)",
                MAX_DEVICES - 1
            ),
            DeviceEntryError::Again { index, first } => {
                write!(
                    f,
                    "device {index} is logged again (first at slot {first}); ignored"
                )
            }
            DeviceEntryError::SameDevice { uuid, first } => write!(
                f,
                "device {uuid} is logged again at another index (first at slot {first}); ignored"
            ),
            DeviceEntryError::Empty(i) => write!(f, "device {i} is logged with size 0; ignored"),
        }
    }
}

/// The device table a log builds, with device 0 of `dev0_size` bytes (the
/// superblock's device) first: the first valid entry of each index wins.
/// Entries that are not used are returned with their slot and reason.
pub fn device_table(
    dev0_size: u64,
    dev0_uuid: Uuid,
    replay: &Replay,
) -> (Vec<LoggedDevice>, Vec<(u64, DeviceEntryError)>) {
    let mut table = vec![LoggedDevice {
        index: 0,
        size: dev0_size,
        uuid: dev0_uuid,
        slot: u64::MAX,
    }];
    let mut bad = Vec::new();
    for (e, &slot) in replay.entries.iter().zip(&replay.slots) {
        let EntryBody::AddDevice { size, uuid, index } = e.body else {
            continue;
        };
        let why = if index == 0 || index >= MAX_DEVICES {
            Some(DeviceEntryError::BadIndex(index))
        } else if let Some(d) = table.iter().find(|d| d.index == index) {
            Some(DeviceEntryError::Again {
                index,
                first: d.slot,
            })
        } else if let Some(d) = table.iter().find(|d| d.uuid == uuid) {
            Some(DeviceEntryError::SameDevice {
                uuid,
                first: d.slot,
            })
        } else if size == 0 {
            Some(DeviceEntryError::Empty(index))
        } else {
            None
        };
        match why {
            Some(w) => bad.push((slot, w)),
            None => table.push(LoggedDevice {
                index,
                size,
                uuid,
                slot,
            }),
        }
    }
    (table, bad)
}

/// A log entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEntry {
    /// Sequence number.
    pub seqnum: u64,
    /// What it records.
    pub body: EntryBody,
}

const ENTRY_FILE: u32 = 0;
const ENTRY_MKDIR: u32 = 1;
const ENTRY_ADD_DAXDEV: u32 = 3;
const BODY: usize = 16;

/// A `famfs_simple_extent` (device index, offset, len) at `off`. The
/// device index is kept as logged (an index beyond `u32` as `u32::MAX`),
/// so that a map on another device than 0 is never taken for device 0's
/// memory: the module's rules refuse a device the mount does not have.
fn rd_extent(b: &[u8], off: usize) -> Extent {
    let dev = u32::try_from(rd_u64(b, off)).unwrap_or(u32::MAX);
    Extent::on(dev, rd_u64(b, off + 8), rd_u64(b, off + 16))
}

fn wr_extent(b: &mut [u8], off: usize, e: &Extent) {
    wr_u64(b, off, u64::from(e.dev));
    wr_u64(b, off + 8, e.offset);
    wr_u64(b, off + 16, e.len);
}

fn put_path(b: &mut [u8], off: usize, p: &str) -> Result<(), FormatError> {
    if p.is_empty() || p.len() > MAX_PATHLEN || p.starts_with('/') || p.as_bytes().contains(&0) {
        return Err(FormatError::Invalid(
            "path must be relative, non-empty, at most 80 bytes",
        ));
    }
    b[off..off + p.len()].copy_from_slice(p.as_bytes());
    Ok(())
}

fn get_path(b: &[u8], off: usize) -> Result<String, FormatError> {
    let raw = &b[off..off + MAX_PATHLEN];
    let end = raw.iter().position(|&c| c == 0).unwrap_or(MAX_PATHLEN);
    let p =
        std::str::from_utf8(&raw[..end]).map_err(|_| FormatError::Invalid("path is not UTF-8"))?;
    if p.is_empty() || p.starts_with('/') {
        return Err(FormatError::Invalid("path must be relative and non-empty"));
    }
    Ok(p.to_owned())
}

impl LogEntry {
    /// Encodes the 544-byte entry, CRC included.
    pub fn encode(&self) -> Result<[u8; LOG_ENTRY_SIZE], FormatError> {
        let mut b = [0u8; LOG_ENTRY_SIZE];
        wr_u64(&mut b, 0, self.seqnum);
        match &self.body {
            EntryBody::File {
                size,
                flags,
                uid,
                gid,
                mode,
                relpath,
                map,
            } => {
                wr_u32(&mut b, 8, ENTRY_FILE);
                wr_u64(&mut b, BODY, *size);
                wr_u32(&mut b, BODY + 8, *flags);
                wr_u32(&mut b, BODY + 12, *uid);
                wr_u32(&mut b, BODY + 16, *gid);
                wr_u32(&mut b, BODY + 20, *mode);
                put_path(&mut b, BODY + 24, relpath)?;
                let fm = BODY + 104;
                match map {
                    FileMap::Simple(ext) => {
                        if ext.is_empty() || ext.len() > MAX_SIMPLE_EXTENTS {
                            return Err(FormatError::Invalid("1 to 16 simple extents"));
                        }
                        wr_u32(&mut b, fm, 0);
                        wr_u32(&mut b, fm + 8, ext.len() as u32);
                        for (i, e) in ext.iter().enumerate() {
                            wr_extent(&mut b, fm + 16 + 24 * i, e);
                        }
                    }
                    FileMap::Interleaved { chunk_size, strips } => {
                        if strips.is_empty() || strips.len() > MAX_STRIPS {
                            return Err(FormatError::Invalid("1 to 16 strips"));
                        }
                        wr_u32(&mut b, fm, 1);
                        wr_u32(&mut b, fm + 8, 1);
                        wr_u64(&mut b, fm + 16, strips.len() as u64);
                        wr_u64(&mut b, fm + 24, *chunk_size);
                        for (i, e) in strips.iter().enumerate() {
                            wr_extent(&mut b, fm + 32 + 24 * i, e);
                        }
                    }
                }
            }
            EntryBody::Mkdir {
                uid,
                gid,
                mode,
                relpath,
            } => {
                wr_u32(&mut b, 8, ENTRY_MKDIR);
                wr_u32(&mut b, BODY, *uid);
                wr_u32(&mut b, BODY + 4, *gid);
                wr_u32(&mut b, BODY + 8, *mode);
                put_path(&mut b, BODY + 12, relpath)?;
            }
            EntryBody::AddDevice { size, uuid, index } => {
                wr_u32(&mut b, 8, ENTRY_ADD_DAXDEV);
                wr_u64(&mut b, BODY, *size);
                b[BODY + 8..BODY + 24].copy_from_slice(uuid.as_bytes());
                wr_u32(&mut b, BODY + 24, *index);
            }
        }
        let crc = crc32(&b[..536]);
        wr_u64(&mut b, 536, crc);
        Ok(b)
    }

    /// Decodes and checks an entry (CRC, type, counts, path).
    pub fn decode(b: &[u8]) -> Result<LogEntry, FormatError> {
        if b.len() < LOG_ENTRY_SIZE {
            return Err(FormatError::Truncated("log entry"));
        }
        let stored = rd_u64(b, 536);
        let computed = crc32(&b[..536]);
        if stored != computed {
            return Err(FormatError::BadCrc {
                what: "log entry",
                stored,
                computed,
            });
        }
        let seqnum = rd_u64(b, 0);
        let body = match rd_u32(b, 8) {
            ENTRY_FILE => {
                let fm = BODY + 104;
                let map = match rd_u32(b, fm) {
                    0 => {
                        let n = rd_u32(b, fm + 8) as usize;
                        if n == 0 || n > MAX_SIMPLE_EXTENTS {
                            return Err(FormatError::Invalid("bad simple extent count"));
                        }
                        FileMap::Simple((0..n).map(|i| rd_extent(b, fm + 16 + 24 * i)).collect())
                    }
                    1 => {
                        if rd_u32(b, fm + 8) != 1 {
                            return Err(FormatError::Invalid(
                                "only one interleaved extent is supported",
                            ));
                        }
                        let n = rd_u64(b, fm + 16) as usize;
                        if n == 0 || n > MAX_STRIPS {
                            return Err(FormatError::Invalid("bad strip count"));
                        }
                        FileMap::Interleaved {
                            chunk_size: rd_u64(b, fm + 24),
                            strips: (0..n).map(|i| rd_extent(b, fm + 32 + 24 * i)).collect(),
                        }
                    }
                    _ => return Err(FormatError::Invalid("unknown extent type")),
                };
                EntryBody::File {
                    size: rd_u64(b, BODY),
                    flags: rd_u32(b, BODY + 8),
                    uid: rd_u32(b, BODY + 12),
                    gid: rd_u32(b, BODY + 16),
                    mode: rd_u32(b, BODY + 20),
                    relpath: get_path(b, BODY + 24)?,
                    map,
                }
            }
            ENTRY_MKDIR => EntryBody::Mkdir {
                uid: rd_u32(b, BODY),
                gid: rd_u32(b, BODY + 4),
                mode: rd_u32(b, BODY + 8),
                relpath: get_path(b, BODY + 12)?,
            },
            ENTRY_ADD_DAXDEV => EntryBody::AddDevice {
                size: rd_u64(b, BODY),
                uuid: rd_uuid(b, BODY + 8),
                index: rd_u32(b, BODY + 24),
            },
            _ => return Err(FormatError::Invalid("unknown log entry type")),
        };
        Ok(LogEntry { seqnum, body })
    }
}

/// The device's allocation bitmap, one bit per allocation unit, rebuilt from
/// the superblock, the log and the files it records.
#[derive(Clone)]
pub struct Allocator {
    unit: u64,
    /// The device index of the extents it hands out.
    dev: u32,
    used: Vec<bool>,
    /// Units not used (kept as units are taken, so that asking is cheap).
    free: usize,
    /// Every unit below this one is used: searches start here, so that
    /// filling a device file after file does not rescan what is full.
    low: usize,
    /// The device offset, modulo 1 GiB, where its memory is 1 GiB aligned
    /// (see [`pud_aligned`]); 0 unless told otherwise.
    pud_phase: u64,
}

impl Allocator {
    /// A device of `dev_size` bytes whose superblock region and log (at
    /// `log_offset`, `log_len` bytes) are in use, in 2 MiB units.
    pub fn new(dev_size: u64, log_offset: u64, log_len: u64) -> Allocator {
        Allocator::with_unit(dev_size, log_offset, log_len, ALLOC_UNIT)
    }

    /// [`Allocator::new`] in units of `unit` bytes (the superblock's
    /// allocation unit: 2 MiB or 4 KiB).
    pub fn with_unit(dev_size: u64, log_offset: u64, log_len: u64, unit: u64) -> Allocator {
        let unit = unit.max(1);
        let mut a = Allocator {
            unit,
            dev: 0,
            used: vec![false; (dev_size / unit) as usize],
            free: (dev_size / unit) as usize,
            low: 0,
            pud_phase: 0,
        };
        a.mark(0, SUPERBLOCK_REGION);
        a.mark(log_offset, log_len);
        a
    }

    /// The bitmap of device `index` (added after device 0) of `dev_size`
    /// bytes, in units of `unit` bytes: its label region is in use, and
    /// the extents it hands out name the device.
    pub fn for_device(index: u32, dev_size: u64, unit: u64) -> Allocator {
        let unit = unit.max(1);
        let mut a = Allocator {
            unit,
            dev: index,
            used: vec![false; (dev_size / unit) as usize],
            free: (dev_size / unit) as usize,
            low: 0,
            pud_phase: 0,
        };
        a.mark(0, LABEL_REGION);
        a
    }

    /// The same bitmap, for a device whose memory is 1 GiB aligned at
    /// device offsets of `phase` modulo 1 GiB (the module's `pud_phase`):
    /// where [`Allocator::alloc_file`] puts files of 1 GiB or more first.
    pub fn with_pud_phase(mut self, phase: u64) -> Allocator {
        self.pud_phase = phase % PUD_SIZE;
        self
    }

    /// The device's PUD phase (0 unless set).
    pub fn pud_phase(&self) -> u64 {
        self.pud_phase
    }

    /// The device index of this bitmap.
    pub fn device(&self) -> u32 {
        self.dev
    }

    /// The allocation unit in bytes.
    pub fn unit(&self) -> u64 {
        self.unit
    }

    fn advance_low(&mut self) {
        while self.low < self.used.len() && self.used[self.low] {
            self.low += 1;
        }
    }

    /// Marks `[offset, offset + len)` as used (clipped to the device).
    pub fn mark(&mut self, offset: u64, len: u64) {
        let first = offset / self.unit;
        let end = offset.saturating_add(len).div_ceil(self.unit);
        for u in first..end.min(self.used.len() as u64) {
            if !self.used[u as usize] {
                self.used[u as usize] = true;
                self.free -= 1;
            }
        }
        self.advance_low();
    }

    /// Marks the memory of every file of a replayed log that is on the
    /// device this bitmap describes.
    pub fn mark_log(&mut self, entries: &[LogEntry]) {
        let dev = self.dev;
        for e in entries {
            if let EntryBody::File { map, .. } = &e.body {
                for x in map.ranges().iter().filter(|x| x.dev == dev) {
                    self.mark(x.offset, x.len);
                }
            }
        }
    }

    /// First fit: the lowest free run of units holding `size` bytes (rounded
    /// up to the unit), marked used; `None` if no run is long enough. With
    /// units smaller than 2 MiB, a run of 2 MiB or more starts on a 2 MiB
    /// boundary, so that the file's 2 MiB pieces can be mapped with PMD
    /// faults.
    pub fn alloc(&mut self, size: u64) -> Option<Extent> {
        if self.unit < ALLOC_UNIT && size >= ALLOC_UNIT {
            return self.alloc_aligned(size, ALLOC_UNIT);
        }
        self.alloc_in(size, 0, self.dev_size())
    }

    /// First fit of `len` bytes (rounded up to the unit) starting on a
    /// multiple of `align` (a multiple of the unit), marked used.
    pub fn alloc_aligned(&mut self, len: u64, align: u64) -> Option<Extent> {
        let step = (align / self.unit).max(1) as usize;
        self.alloc_stepped(len, step, 0)
    }

    /// Where a file of `size` bytes that is to be contiguous on this device
    /// goes: a file of 1 GiB or more at the lowest free run that starts on a
    /// 1 GiB boundary of the device's memory ([`Allocator::alloc_pud`]), so
    /// that the module can map it with 1 GiB entries; if there is none, and
    /// for smaller files, first fit ([`Allocator::alloc`]).
    pub fn alloc_file(&mut self, size: u64) -> Option<Extent> {
        self.alloc_pud(size).or_else(|| self.alloc(size))
    }

    /// A file of at least 1 GiB (`size` bytes, rounded up to the unit) at
    /// the lowest free offset that is [`pud_aligned`] for this device's
    /// phase and leaves the whole file in free space, marked used; `None`
    /// for smaller files, when there is no such offset, or when the phase
    /// is not a multiple of the unit and of 2 MiB (memory that is not 2 MiB
    /// aligned at 2 MiB offsets has no use for 1 GiB placement).
    pub fn alloc_pud(&mut self, size: u64) -> Option<Extent> {
        let phase = self.pud_phase;
        if size < PUD_SIZE
            || PUD_SIZE % self.unit != 0
            || phase % self.unit != 0
            || phase % ALLOC_UNIT != 0
        {
            return None;
        }
        let step = (PUD_SIZE / self.unit) as usize;
        self.alloc_stepped(size, step, (phase / self.unit) as usize)
    }

    /// First fit of `len` bytes (rounded up to the unit) at a unit number
    /// that is `rem` modulo `step` (`rem < step`), marked used.
    fn alloc_stepped(&mut self, len: u64, step: usize, rem: usize) -> Option<Extent> {
        let n = len.max(1).div_ceil(self.unit) as usize;
        // The lowest unit number at or above `u` that is `rem` mod `step`.
        let next = |u: usize| u + (rem + step - u % step) % step;
        let mut start = next(self.low);
        while start + n <= self.used.len() {
            match self.used[start..start + n].iter().rposition(|u| *u) {
                // Past the last used unit of this window, to the next
                // allowed start.
                Some(k) => start = next(start + k + 1),
                None => {
                    self.used[start..start + n]
                        .iter_mut()
                        .for_each(|u| *u = true);
                    self.free -= n;
                    self.advance_low();
                    return Some(Extent::on(
                        self.dev,
                        start as u64 * self.unit,
                        n as u64 * self.unit,
                    ));
                }
            }
        }
        None
    }

    /// Free bytes.
    pub fn free_bytes(&self) -> u64 {
        self.free as u64 * self.unit
    }

    /// The longest run of free units, in bytes (the largest file that can
    /// still be allocated contiguously).
    pub fn largest_free(&self) -> u64 {
        let (mut best, mut run) = (0u64, 0u64);
        for u in &self.used {
            run = if *u { 0 } else { run + 1 };
            best = best.max(run);
        }
        best * self.unit
    }

    /// First fit of `len` bytes (a multiple of the unit) inside the device
    /// range `[lo, hi)`, marked used; `None` if no run there is long enough.
    pub fn alloc_in(&mut self, len: u64, lo: u64, hi: u64) -> Option<Extent> {
        let n = len.max(1).div_ceil(self.unit) as usize;
        let first = (lo.div_ceil(self.unit) as usize).max(self.low);
        let end = ((hi / self.unit) as usize).min(self.used.len());
        let mut run = 0;
        for i in first..end {
            run = if self.used[i] { 0 } else { run + 1 };
            if run == n {
                let start = i + 1 - n;
                self.used[start..=i].iter_mut().for_each(|u| *u = true);
                self.free -= n;
                self.advance_low();
                return Some(Extent::on(
                    self.dev,
                    start as u64 * self.unit,
                    n as u64 * self.unit,
                ));
            }
        }
        None
    }

    /// Interleaved allocation: the device is cut into `nbuckets` equal
    /// buckets (whole units); one strip of `strip_len(size, nstrips,
    /// chunk)` bytes is taken from each bucket in the order given by `order`
    /// (a permutation of the bucket numbers, e.g. shuffled by the caller)
    /// until `nstrips` strips are found. Nothing is marked if that fails.
    pub fn alloc_interleaved(
        &mut self,
        size: u64,
        nbuckets: u64,
        nstrips: u64,
        chunk: u64,
        order: &[u64],
    ) -> Result<Vec<Extent>, InterleaveError> {
        check_interleave(self.dev_size(), nbuckets, nstrips, chunk)?;
        let len = strip_len(size, nstrips, chunk);
        let bucket = (self.dev_size() / nbuckets) / self.unit * self.unit;
        let saved = (self.used.clone(), self.free, self.low);
        let mut strips = Vec::new();
        for &b in order.iter().filter(|b| **b < nbuckets) {
            if strips.len() as u64 == nstrips {
                break;
            }
            if let Some(x) = self.alloc_in(len, b * bucket, (b + 1) * bucket) {
                strips.push(x);
            }
        }
        if (strips.len() as u64) < nstrips {
            (self.used, self.free, self.low) = saved;
            return Err(InterleaveError::NoSpace {
                found: strips.len() as u64,
                nstrips,
                strip_len: len,
            });
        }
        Ok(strips)
    }

    /// The device size this allocator covers (whole units).
    pub fn dev_size(&self) -> u64 {
        self.used.len() as u64 * self.unit
    }
}

/// Smallest bucket size for interleaved allocation (as upstream famfs).
pub const MIN_BUCKET_SIZE: u64 = 1 << 30;
/// Most buckets.
pub const MAX_NBUCKETS: u64 = 64;

/// Why an interleaved allocation is not possible.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum InterleaveError {
    /// A parameter is out of range.
    #[error("{0}")]
    Param(String),
    /// Too few buckets have room for a strip.
    #[error("only {found} of {nstrips} buckets have {strip_len} contiguous free bytes")]
    NoSpace {
        /// Strips found.
        found: u64,
        /// Strips wanted.
        nstrips: u64,
        /// Bytes per strip.
        strip_len: u64,
    },
}

/// Checks interleave parameters: 1 <= nstrips <= nbuckets <= 64, strips at
/// most 16, buckets at least 1 GiB, chunk a power of two and a multiple of
/// the allocation unit.
pub fn check_interleave(
    dev_size: u64,
    nbuckets: u64,
    nstrips: u64,
    chunk: u64,
) -> Result<(), InterleaveError> {
    let p = |m: String| Err(InterleaveError::Param(m));
    if nbuckets == 0 || nbuckets > MAX_NBUCKETS {
        return p(format!(
            "nbuckets must be 1 to {MAX_NBUCKETS} (got {nbuckets})"
        ));
    }
    if nstrips == 0 || nstrips > nbuckets || nstrips > MAX_STRIPS as u64 {
        return p(format!(
            "nstrips must be 1 to min(nbuckets, {MAX_STRIPS}) (got {nstrips} with {nbuckets} buckets)"
        ));
    }
    if dev_size / nbuckets < MIN_BUCKET_SIZE {
        return p(format!(
            "{nbuckets} buckets of a {dev_size}-byte device are smaller than 1 GiB each"
        ));
    }
    if !chunk.is_power_of_two() || chunk % ALLOC_UNIT != 0 {
        return p(format!(
            "chunk size must be a power of two and a multiple of 2 MiB (got {chunk})"
        ));
    }
    Ok(())
}

/// Bytes of each strip of an interleaved file: the file's chunks dealt
/// round-robin over `nstrips` strips, so each holds ceil(chunks / nstrips)
/// chunks.
pub fn strip_len(size: u64, nstrips: u64, chunk: u64) -> u64 {
    let chunks = size.max(1).div_ceil(chunk);
    chunks.div_ceil(nstrips) * chunk
}

/// Checks a path for the log: relative, at most 80 bytes, no empty, `.` or
/// `..` component, not under the reserved `.meta` directory.
pub fn check_relpath(p: &str) -> Result<(), String> {
    if p.is_empty() {
        return Err("empty path".into());
    }
    if p.starts_with('/') {
        return Err(format!("'{p}' is not relative to the mount point"));
    }
    if p.len() > MAX_PATHLEN {
        return Err(format!(
            "'{p}' is {} bytes; famfs paths are at most {MAX_PATHLEN} bytes relative to the mount point",
            p.len()
        ));
    }
    if p.as_bytes().contains(&0) {
        return Err("path contains a NUL byte".into());
    }
    for c in p.split('/') {
        if c.is_empty() || c == "." || c == ".." {
            return Err(format!("'{p}' has an empty, '.' or '..' component"));
        }
    }
    if p.split('/').next() == Some(".meta") {
        return Err(format!("'{p}' is inside the reserved .meta directory"));
    }
    Ok(())
}
