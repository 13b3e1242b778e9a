//! Consistency check of a superblock and its log (no I/O): CRCs, entry
//! paths, file maps the module would refuse, extents that overlap the
//! metadata or each other (cross-links), duplicate paths, device entries,
//! and space use, for every device of the file system separately (device 0
//! holds the superblock and the log; every device the log adds holds its
//! label).
//!
//! A file's map is judged by the module's own rules ([`crate::check_map`],
//! the kernel's `fmap.rs`), so fsck refuses exactly the maps the module
//! refuses; the one rule that spans files, no shared memory, is the
//! cross-link check over the whole log.

use std::collections::HashMap;
use std::fmt::Write;

use crate::fmap::FmapError;
use crate::{
    check_map_devices, check_relpath, device_table, fmap, Allocator, EntryBody, FileMap, LogHeader,
    Replay, Superblock, ALLOC_UNIT, LABEL_REGION, SUPERBLOCK_REGION,
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

/// One device's space, as the log uses it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct DeviceSpace {
    /// Its index (0: the file system's own device).
    pub index: u32,
    /// Its size in bytes (device 0: the device's; others: as logged).
    pub size: u64,
    /// Its identity (device 0: the superblock's device UUID).
    pub uuid: String,
    /// Bytes used by metadata (superblock and log, or the label) and files.
    pub used_bytes: u64,
    /// Free bytes.
    pub free_bytes: u64,
    /// The largest contiguous free range.
    pub largest_free: u64,
    /// Files with memory on it.
    pub files: u64,
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
    /// Device size in bytes (device 0).
    pub dev_size: u64,
    /// Bytes of device 0 used by the superblock, the log and the files.
    pub used_bytes: u64,
    /// Free bytes of device 0.
    pub free_bytes: u64,
    /// The largest contiguous free range of device 0.
    pub largest_free: u64,
    /// Every device the log records, device 0 first, each with its space.
    pub devices: Vec<DeviceSpace>,
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
    dev: u32,
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
            dev: 0,
            offset: 0,
            end: SUPERBLOCK_REGION,
            owner: "superblock".into(),
        },
        Range {
            dev: 0,
            offset: sb.log_offset,
            end: sb.log_offset.saturating_add(sb.log_len),
            owner: "log".into(),
        },
    ];
    // The devices the log adds, each with its label and its own bitmap.
    let (table, bad_devices) = device_table(dev_size, sb.dev_uuid, replay);
    for (slot, why) in bad_devices {
        problem(&mut problems, Some(slot), why.to_string());
    }
    if table.len() > 1 && !sb.has_device_entries() {
        problem(
            &mut problems,
            None,
            format!(
                "the log adds devices, but the superblock's format ({}, {}.{}) has none: tools \
                 of that format do not read them",
                sb.version, sb.omf.0, sb.omf.1
            ),
        );
    }
    let mut dev_sizes = [0u64; fmap::MAX_DEVICES];
    let mut allocs: Vec<Allocator> = Vec::new();
    let mut space: Vec<DeviceSpace> = Vec::new();
    for d in &table {
        dev_sizes[d.index as usize] = d.size;
        space.push(DeviceSpace {
            index: d.index,
            size: d.size,
            uuid: d.uuid.to_string(),
            ..Default::default()
        });
        if d.index == 0 {
            allocs.push(Allocator::with_unit(
                dev_size,
                sb.log_offset,
                sb.log_len,
                unit,
            ));
        } else {
            allocs.push(Allocator::for_device(d.index, d.size, unit));
            ranges.push(Range {
                dev: d.index,
                offset: 0,
                end: LABEL_REGION,
                owner: format!("device {} label", d.index),
            });
        }
    }
    let slot_of = |dev: u32| table.iter().position(|d| d.index == dev);
    let mut paths: HashMap<&str, u64> = HashMap::new();
    let mut entries = 0;
    let mut files = 0;
    let mut dirs = 0;
    for (e, &this) in replay.entries.iter().zip(&replay.slots) {
        entries += 1;
        if e.body.is_device() {
            continue;
        }
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
            EntryBody::AddDevice { .. } => {}
            EntryBody::File { size, map, .. } => {
                files += 1;
                if let Err(e) = check_map_devices(map, *size, &dev_sizes, unit) {
                    let on = if map.other_device().is_some() {
                        "on the devices the log records".to_string()
                    } else {
                        format!("on a {dev_size}-byte device")
                    };
                    problems.push(Problem {
                        slot: Some(this),
                        what: format!(
                            "'{path}': the module refuses its map: {} ({size} bytes, {}, {on})",
                            e.describe(),
                            describe_map(map)
                        ),
                        refused: Some(e),
                    });
                }
                // What lies inside a device is in use, valid or not.
                // (Ranges of devices the log does not record are in no
                // device's space: check_map has refused them above.)
                let mut on: Vec<usize> = Vec::new();
                for x in map.ranges() {
                    let Some(k) = slot_of(x.dev) else { continue };
                    if let Some(end) = x.end().filter(|&end| end <= dev_sizes[x.dev as usize]) {
                        ranges.push(Range {
                            dev: x.dev,
                            offset: x.offset,
                            end,
                            owner: path.to_owned(),
                        });
                        allocs[k].mark(x.offset, x.len);
                        if !on.contains(&k) {
                            on.push(k);
                        }
                    }
                }
                for k in on {
                    space[k].files += 1;
                }
            }
        }
    }
    // Sweep the ranges in offset order: a range that starts before the
    // furthest end seen so far overlaps the range that reached that end.
    // Each device is its own address space.
    ranges.sort_by_key(|x| (x.dev, x.offset, x.end));
    let mut reach: Option<(u64, usize)> = None;
    for (i, x) in ranges.iter().enumerate() {
        if i > 0 && ranges[i - 1].dev != x.dev {
            reach = None;
        }
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
    for (d, a) in space.iter_mut().zip(&allocs) {
        d.free_bytes = a.free_bytes();
        d.used_bytes = a.dev_size() - d.free_bytes;
        d.largest_free = a.largest_free();
    }
    r.free_bytes = space[0].free_bytes;
    r.used_bytes = space[0].used_bytes;
    r.largest_free = space[0].largest_free;
    r.devices = space;
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
