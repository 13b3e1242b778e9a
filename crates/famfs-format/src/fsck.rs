//! Consistency check of a superblock and its log (no I/O): CRCs, entry
//! paths, extents outside the device or misaligned, extents that overlap the
//! metadata or each other (cross-links), duplicate paths, and space use.

use std::collections::HashMap;

use crate::{
    check_relpath, Allocator, EntryBody, FileMap, LogHeader, Replay, Superblock, ALLOC_UNIT,
    SUPERBLOCK_REGION,
};

/// One problem found.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Problem {
    /// Log slot, if the problem belongs to one entry.
    pub slot: Option<u64>,
    /// What is wrong.
    pub what: String,
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
    let mut problem = |slot: Option<u64>, what: String| r.problems.push(Problem { slot, what });
    for (slot, e) in &replay.bad {
        problem(Some(*slot), format!("unreadable entry: {e}"));
    }
    if sb.dev_size != 0 && sb.dev_size > dev_size {
        problem(
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
    let mut alloc = Allocator::new(dev_size, sb.log_offset, sb.log_len);
    let mut paths: HashMap<&str, u64> = HashMap::new();
    let mut entries = 0;
    let mut files = 0;
    let mut dirs = 0;
    for (e, &this) in replay.entries.iter().zip(&replay.slots) {
        entries += 1;
        let path = match &e.body {
            EntryBody::File { relpath, .. } | EntryBody::Mkdir { relpath, .. } => relpath,
        };
        if let Err(m) = check_relpath(path) {
            problem(Some(this), m);
        }
        if let Some(first) = paths.insert(path.as_str(), this) {
            problem(
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
                let (exts, capacity) = match map {
                    FileMap::Simple(x) => (x, x.iter().map(|x| x.len).sum::<u64>()),
                    FileMap::Interleaved { chunk_size, strips } => {
                        if *chunk_size == 0 || chunk_size % ALLOC_UNIT != 0 {
                            problem(Some(this), format!("'{path}': bad chunk size {chunk_size}"));
                        }
                        let min = strips.iter().map(|x| x.len).min().unwrap_or(0);
                        (strips, min.saturating_mul(strips.len() as u64))
                    }
                };
                if capacity < *size {
                    problem(
                        Some(this),
                        format!("'{path}': {size} bytes but its extents hold {capacity}"),
                    );
                }
                for x in exts {
                    let end = x.offset.checked_add(x.len);
                    if x.len == 0 || x.offset % ALLOC_UNIT != 0 {
                        problem(
                            Some(this),
                            format!(
                                "'{path}': extent {:#x}+{:#x} is empty or not 2 MiB aligned",
                                x.offset, x.len
                            ),
                        );
                    }
                    match end {
                        Some(end) if end <= dev_size => {
                            ranges.push(Range {
                                offset: x.offset,
                                end,
                                owner: path.clone(),
                            });
                            alloc.mark(x.offset, x.len);
                        }
                        _ => problem(
                            Some(this),
                            format!(
                                "'{path}': extent {:#x}+{:#x} is beyond the {dev_size}-byte device",
                                x.offset, x.len
                            ),
                        ),
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
        r.problems.push(Problem {
            slot: None,
            what: format!("cross-linked: '{a}' and '{b}' share memory"),
        });
    }
    r.entries = entries;
    r.files = files;
    r.dirs = dirs;
    r.free_bytes = alloc.free_bytes();
    r.used_bytes = alloc.dev_size() - r.free_bytes;
    r.largest_free = alloc.largest_free();
    r
}
