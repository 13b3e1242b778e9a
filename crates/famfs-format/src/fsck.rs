//! Consistency check of a superblock and its log (no I/O): CRCs, entry
//! paths, file maps the module would refuse, extents that overlap the
//! metadata or each other (cross-links), duplicate paths, and space use.
//!
//! A file's map is judged by the module's own rules ([`crate::check_map`],
//! the kernel's `fmap.rs`), so fsck refuses exactly the maps the module
//! refuses; the one rule that spans files, no shared memory, is the
//! cross-link check over the whole log.

use std::collections::HashMap;
use std::fmt::Write;

use crate::fmap::FmapError;
use crate::{
    check_map, check_relpath, Allocator, EntryBody, FileMap, LogHeader, Replay, Superblock,
    ALLOC_UNIT, SUPERBLOCK_REGION,
};

/// One problem found.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Problem {
    /// Log slot, if the problem belongs to one entry.
    pub slot: Option<u64>,
    /// What is wrong.
    pub what: String,
    /// The module's rule the entry's map breaks, if that is the problem.
    #[cfg_attr(feature = "serde", serde(skip))]
    pub refused: Option<FmapError>,
}

/// The result of [`analyze`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Report {
    /// Entries that decoded.
    pub entries: u64,
    /// File entries.
    pub files: u64,
    /// Directory entries.
    pub dirs: u64,
    /// Slots the log has.
    pub log_slots: u64,
    /// Device size in bytes.
    pub dev_size: u64,
    /// Bytes used by the superblock, the log and the files.
    pub used_bytes: u64,
    /// Free bytes.
    pub free_bytes: u64,
    /// The largest contiguous free range.
    pub largest_free: u64,
    /// Everything wrong, in log order (cross-links last).
    pub problems: Vec<Problem>,
    /// Pairs of owners whose memory overlaps.
    pub crosslinks: Vec<(String, String)>,
}

impl Report {
    /// True when nothing is wrong.
    pub fn clean(&self) -> bool {
        self.problems.is_empty()
    }
}

fn problem(problems: &mut Vec<Problem>, slot: Option<u64>, what: String) {
    problems.push(Problem {
        slot,
        what,
        refused: None,
    });
}

struct Range {
    offset: u64,
    end: u64,
    owner: String,
}

/// Checks a decoded log against its superblock and a device of `dev_size`
/// bytes. Bad slots of the replay are reported as problems.
pub fn analyze(dev_size: u64, sb: &Superblock, header: &LogHeader, replay: &Replay) -> Report {
    let mut r = Report {
        log_slots: header.last_index + 1,
        dev_size,
        ..Default::default()
    };
    let mut problems: Vec<Problem> = Vec::new();
    for (slot, e) in &replay.bad {
        problem(&mut problems, Some(*slot), format!("unreadable entry: {e}"));
    }
    // The unit maps are checked against: the superblock's, if it is one
    // the module supports.
    let unit = if sb.alloc_unit == ALLOC_UNIT || sb.alloc_unit == crate::fmap::SMALL_UNIT {
        sb.alloc_unit
    } else {
        problem(
            &mut problems,
            None,
            format!(
                "superblock allocation unit {:#x} is neither 4 KiB nor 2 MiB; maps are checked \
                 against 2 MiB",
                sb.alloc_unit
            ),
        );
        ALLOC_UNIT
    };
    if sb.dev_size != 0 && sb.dev_size > dev_size {
        problem(
            &mut problems,
            None,
            format!(
                "superblock records a {}-byte device, the device has {dev_size}",
                sb.dev_size
            ),
        );
    }
    let mut ranges = vec![
        Range {
            offset: 0,
            end: SUPERBLOCK_REGION,
            owner: "superblock".into(),
        },
        Range {
            offset: sb.log_offset,
            end: sb.log_offset.saturating_add(sb.log_len),
            owner: "log".into(),
        },
    ];
    let mut alloc = Allocator::with_unit(dev_size, sb.log_offset, sb.log_len, unit);
    let mut paths: HashMap<&str, u64> = HashMap::new();
    let mut entries = 0;
    let mut files = 0;
    let mut dirs = 0;
    for (e, &this) in replay.entries.iter().zip(&replay.slots) {
        entries += 1;
        let path = e.body.relpath();
        if let Err(m) = check_relpath(path) {
            problem(&mut problems, Some(this), m);
        }
        if let Some(first) = paths.insert(path, this) {
            problem(
                &mut problems,
                Some(this),
                format!(
                    "'{path}' is logged again (first at slot {first}); replay ignores this one"
                ),
            );
        }
        match &e.body {
            EntryBody::Mkdir { .. } => dirs += 1,
            EntryBody::File { size, map, .. } => {
                files += 1;
                if let Err(e) = check_map(map, *size, dev_size, unit) {
                    problems.push(Problem {
                        slot: Some(this),
                        what: format!(
                            "'{path}': the module refuses its map: {} ({size} bytes, {}, on a \
                             {dev_size}-byte device)",
                            e.describe(),
                            describe_map(map)
                        ),
                        refused: Some(e),
                    });
                }
                // What lies inside the device is in use, valid or not.
                // (Ranges of other devices are not in this device's space:
                // check_map has refused them above.)
                for x in map.ranges().iter().filter(|x| x.dev == 0) {
                    if let Some(end) = x.end().filter(|&end| end <= dev_size) {
                        ranges.push(Range {
                            offset: x.offset,
                            end,
                            owner: path.to_owned(),
                        });
                        alloc.mark(x.offset, x.len);
                    }
                }
            }
        }
    }
    // Sweep the ranges in offset order: a range that starts before the
    // furthest end seen so far overlaps the range that reached that end.
    ranges.sort_by_key(|x| (x.offset, x.end));
    let mut reach: Option<(u64, usize)> = None;
    for (i, x) in ranges.iter().enumerate() {
        if let Some((end, j)) = reach {
            if x.offset < end {
                r.crosslinks
                    .push((ranges[j].owner.clone(), x.owner.clone()));
            }
            if x.end > end {
                reach = Some((x.end, i));
            }
        } else {
            reach = Some((x.end, i));
        }
    }
    for (a, b) in &r.crosslinks {
        problems.push(Problem {
            slot: None,
            what: format!("cross-linked: '{a}' and '{b}' share memory"),
            refused: None,
        });
    }
    r.problems = problems;
    r.entries = entries;
    r.files = files;
    r.dirs = dirs;
    r.free_bytes = alloc.free_bytes();
    r.used_bytes = alloc.dev_size() - r.free_bytes;
    r.largest_free = alloc.largest_free();
    r
}

/// "extents 0xa00000+0x200000, ..." or "chunk 0x200000, strips ...".
fn describe_map(map: &FileMap) -> String {
    let mut out = String::new();
    let list = |out: &mut String, what: &str, xs: &[crate::Extent]| {
        out.push_str(what);
        for (i, x) in xs.iter().enumerate() {
            let sep = if i == 0 { " " } else { ", " };
            let dev = if x.dev == 0 {
                String::new()
            } else {
                format!("device {} ", x.dev)
            };
            let _ = write!(out, "{sep}{dev}{:#x}+{:#x}", x.offset, x.len);
        }
    };
    match map {
        FileMap::Simple(x) => list(&mut out, "extents", x),
        FileMap::Interleaved { chunk_size, strips } => {
            let _ = write!(out, "chunk {chunk_size:#x}, ");
            list(&mut out, "strips", strips);
        }
    }
    out
}
