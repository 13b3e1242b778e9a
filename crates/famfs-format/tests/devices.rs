//! Devices added to a file system: the log's device entry (type 3) at the
//! documented offsets, the device table a log builds, the label, the
//! allocator of an added device, and fsck's per-device checks.

mod common;

use common::*;
use famfs_format::fmap::FmapError;
use famfs_format::fsck::analyze;
use famfs_format::*;
use uuid::Uuid;

fn dev(index: u32, size: u64, uuid: u128) -> EntryBody {
    EntryBody::AddDevice {
        size,
        uuid: Uuid::from_u128(uuid),
        index,
    }
}

fn on(exts: &[(u32, u64, u64)]) -> FileMap {
    FileMap::Simple(
        exts.iter()
            .map(|&(d, offset, len)| Extent::on(d, offset, len))
            .collect(),
    )
}

fn log_of(bodies: Vec<EntryBody>) -> (LogHeader, Replay) {
    let mut buf = vec![0u8; 8 << 20];
    let mut log = Log::format(&mut buf).unwrap();
    for b in bodies {
        log.append(b).unwrap();
    }
    let h = log.header().unwrap();
    let (_, r) = log.replay().unwrap();
    (h, r)
}

fn run(dev0: u64, bodies: Vec<EntryBody>) -> fsck::Report {
    let (h, r) = log_of(bodies);
    analyze(dev0, &sb(dev0), &h, &r)
}

#[test]
fn the_device_entry_has_the_public_layout() {
    let u = Uuid::from_u128(0x0011_2233_4455_6677_8899_aabb_ccdd_eeff);
    let bytes = LogEntry {
        seqnum: 9,
        body: EntryBody::AddDevice {
            size: 3 * GIB,
            uuid: u,
            index: 5,
        },
    }
    .encode()
    .unwrap();
    // famfs_log_entry: seqnum @0, type @8 (FAMFS_LOG_ADD_DAXDEV = 3), the
    // famfs_log_add_daxdev body @16: u64 dd_size, uuid dd_uuid, u32
    // dd_index; the CRC of the first 536 bytes @536.
    assert_eq!(&bytes[0..8], &9u64.to_le_bytes());
    assert_eq!(&bytes[8..12], &3u32.to_le_bytes());
    assert_eq!(&bytes[16..24], &(3 * GIB).to_le_bytes());
    assert_eq!(&bytes[24..40], u.as_bytes());
    assert_eq!(&bytes[40..44], &5u32.to_le_bytes());
    assert!(bytes[44..536].iter().all(|&b| b == 0));
    let crc = u64::from(crc32fast::hash(&bytes[..536]));
    assert_eq!(&bytes[536..544], &crc.to_le_bytes());
    let back = LogEntry::decode(&bytes).unwrap();
    assert!(back.body.is_device());
    assert_eq!(back.body.relpath(), "");
    assert_eq!(
        back.body,
        EntryBody::AddDevice {
            size: 3 * GIB,
            uuid: u,
            index: 5
        }
    );
}

#[test]
fn the_label_is_a_secondary_superblock_without_a_log() {
    let fs = sb(GIB);
    let l = fs.label(Uuid::from_u128(77), 4 * GIB, "dax1.0");
    let b = l.encode().unwrap();
    // ts_log_offset @16 and ts_log_len @24 are 0; ts_sb_flags @104 holds
    // SECONDARY (1 << 1); the fs UUID @48 is the file system's.
    assert_eq!(&b[16..32], &[0u8; 16]);
    assert_eq!(&b[104..108], &2u32.to_le_bytes());
    assert_eq!(&b[48..64], fs.fs_uuid.as_bytes());
    assert_eq!(&b[64..80], Uuid::from_u128(77).as_bytes());
    let back = Superblock::decode(&b).unwrap();
    assert!(back.is_label());
    assert!(!fs.is_label());
    assert_eq!(back.dev_size, 4 * GIB);
    assert_eq!(back.fs_uuid, fs.fs_uuid);
}

#[test]
fn the_first_valid_entry_of_an_index_wins() {
    let (_, r) = log_of(vec![
        dev(1, 2 * GIB, 11),
        dev(0, GIB, 12),      // device 0 is the superblock's
        dev(64, GIB, 13),     // beyond the table
        dev(1, GIB, 14),      // index taken
        dev(2, GIB, 11),      // same device again
        dev(3, 0, 15),        // no memory
        dev(63, 8 * GIB, 16), // the last index
        file("f", &[(10 * MIB, 2 * MIB)], 1),
    ]);
    let (table, bad) = device_table(GIB, Uuid::from_u128(2), &r);
    let got: Vec<(u32, u64, u128)> = table
        .iter()
        .map(|d| (d.index, d.size, d.uuid.as_u128()))
        .collect();
    assert_eq!(got, vec![(0, GIB, 2), (1, 2 * GIB, 11), (63, 8 * GIB, 16)]);
    let slots: Vec<u64> = bad.iter().map(|(s, _)| *s).collect();
    assert_eq!(slots, vec![1, 2, 3, 4, 5]);
    assert!(matches!(bad[0].1, DeviceEntryError::BadIndex(0)));
    assert!(matches!(bad[1].1, DeviceEntryError::BadIndex(64)));
    assert!(matches!(
        bad[2].1,
        DeviceEntryError::Again { index: 1, first: 0 }
    ));
    assert!(matches!(
        bad[3].1,
        DeviceEntryError::SameDevice { first: 0, .. }
    ));
    assert!(matches!(bad[4].1, DeviceEntryError::Empty(3)));
}

#[test]
fn an_added_device_allocates_after_its_label_and_names_itself() {
    let mut a = Allocator::for_device(3, 64 * MIB, 2 * MIB);
    assert_eq!(a.device(), 3);
    assert_eq!(a.free_bytes(), 62 * MIB);
    let x = a.alloc(5 * MIB).unwrap();
    assert_eq!(x, Extent::on(3, LABEL_REGION, 6 * MIB));
    // mark_log takes this device's ranges only.
    let entries = vec![LogEntry {
        seqnum: 0,
        body: entry(
            "f",
            4 * MIB,
            on(&[(0, 20 * MIB, 2 * MIB), (3, 20 * MIB, 2 * MIB)]),
        ),
    }];
    let mut b = Allocator::for_device(3, 64 * MIB, 2 * MIB);
    b.mark_log(&entries);
    assert_eq!(b.free_bytes(), 60 * MIB);
    let mut z = Allocator::new(64 * MIB, 2 * MIB, 8 * MIB);
    let before = z.free_bytes();
    z.mark_log(&entries);
    assert_eq!(z.free_bytes(), before - 2 * MIB);
}

#[test]
fn fsck_checks_every_device_on_its_own() {
    let r = run(
        GIB,
        vec![
            dev(1, 256 * MIB, 11),
            // The same offsets on two devices: no cross-link.
            file("a", &[(20 * MIB, 4 * MIB)], 4 * MIB),
            entry("b", 4 * MIB, on(&[(1, 20 * MIB, 4 * MIB)])),
            // Across both devices.
            entry(
                "c",
                8 * MIB,
                FileMap::Interleaved {
                    chunk_size: 2 * MIB,
                    strips: vec![
                        Extent::on(0, 40 * MIB, 4 * MIB),
                        Extent::on(1, 40 * MIB, 4 * MIB),
                    ],
                },
            ),
        ],
    );
    assert!(r.clean(), "{:?}", r.problems);
    assert_eq!(r.files, 3);
    assert_eq!(r.devices.len(), 2);
    let d0 = &r.devices[0];
    let d1 = &r.devices[1];
    assert_eq!((d0.index, d0.size, d0.files), (0, GIB, 2));
    assert_eq!((d1.index, d1.size, d1.files), (1, 256 * MIB, 2));
    // Device 0: superblock 2 MiB + log 8 MiB + a 4 MiB + c's 4 MiB strip.
    assert_eq!(d0.used_bytes, 18 * MIB);
    assert_eq!(r.used_bytes, d0.used_bytes);
    // Device 1: label 2 MiB + b 4 MiB + c's 4 MiB strip.
    assert_eq!(d1.used_bytes, 10 * MIB);
    assert_eq!(d1.free_bytes, 246 * MIB);
    assert_eq!(d1.uuid, Uuid::from_u128(11).to_string());
}

#[test]
fn fsck_finds_cross_links_and_label_overlaps_per_device() {
    let r = run(
        GIB,
        vec![
            dev(1, 256 * MIB, 11),
            entry("b", 4 * MIB, on(&[(1, 20 * MIB, 4 * MIB)])),
            entry("b2", 2 * MIB, on(&[(1, 22 * MIB, 2 * MIB)])),
            entry("onlabel", 2 * MIB, on(&[(1, 0, 2 * MIB)])),
        ],
    );
    assert_eq!(
        r.crosslinks,
        vec![
            ("device 1 label".to_string(), "onlabel".to_string()),
            ("b".to_string(), "b2".to_string())
        ]
    );
}

#[test]
fn fsck_refuses_a_file_on_a_device_the_log_does_not_record() {
    let r = run(
        GIB,
        vec![
            dev(1, 256 * MIB, 11),
            entry("two", 2 * MIB, on(&[(2, 20 * MIB, 2 * MIB)])),
            // Beyond device 1's logged size.
            entry("far", 2 * MIB, on(&[(1, 256 * MIB, 2 * MIB)])),
        ],
    );
    let refused: Vec<(Option<u64>, Option<FmapError>)> =
        r.problems.iter().map(|p| (p.slot, p.refused)).collect();
    assert!(
        refused.contains(&(Some(1), Some(FmapError::NoDevice))),
        "{:?}",
        r.problems
    );
    assert!(
        r.problems
            .iter()
            .any(|p| p.slot == Some(2) && p.refused.is_some()),
        "{:?}",
        r.problems
    );
    assert!(r.crosslinks.is_empty());
}

#[test]
fn fsck_reports_unused_device_entries() {
    let r = run(GIB, vec![dev(1, 256 * MIB, 11), dev(1, 256 * MIB, 12)]);
    assert_eq!(r.problems.len(), 1, "{:?}", r.problems);
    assert_eq!(r.problems[0].slot, Some(1));
    assert!(r.problems[0].what.contains("device 1 is logged again"));
    assert_eq!(r.devices.len(), 2);
}

mod free_count {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    proptest! {
        /// The free count kept as units are taken equals a recount of a
        /// model bitmap, through marks, allocations and a failed
        /// (rolled back) interleaved allocation.
        #[test]
        fn free_bytes_matches_a_model(
            ops in prop::collection::vec((0u8..3, 0u64..64, 1u64..9), 1..40)
        ) {
            // 64 units of 32 MiB: two buckets of 1 GiB for the interleave.
            let unit = 32 * MIB;
            let size = 64 * unit;
            let mut a = Allocator::for_device(1, size, unit);
            let mut model: BTreeSet<u64> = BTreeSet::new();
            model.insert(0); // the label
            for (op, at, n) in ops {
                match op {
                    0 => {
                        a.mark(at * unit, n * unit);
                        for u in at..(at + n).min(64) {
                            model.insert(u);
                        }
                    }
                    1 => {
                        if let Some(x) = a.alloc(n * unit) {
                            prop_assert_eq!(x.dev, 1);
                            for u in x.offset / unit..(x.offset + x.len) / unit {
                                prop_assert!(model.insert(u), "unit {} given twice", u);
                            }
                        }
                    }
                    _ => {
                        // Two strips of 1 GiB: bucket 1 may fit one, bucket
                        // 0 (with the label) never does; what was taken in
                        // bucket 1 is given back.
                        let before = a.free_bytes();
                        prop_assert!(a.alloc_interleaved(2 * GIB, 2, 2, 2 * MIB, &[1, 0]).is_err());
                        prop_assert_eq!(a.free_bytes(), before);
                    }
                }
                prop_assert_eq!(a.free_bytes(), (64 - model.len() as u64) * unit);
            }
        }
    }
}

#[test]
fn a_format_47_superblock_is_kept_as_it_is_and_upgraded_only_on_request() {
    let mut old = sb(GIB);
    old.version = 47;
    old.omf = (2, 1);
    let b = old.encode().unwrap();
    // ts_version @8, ts_omf_ver_major @40, _minor @44, as they were.
    assert_eq!(&b[8..16], &47u64.to_le_bytes());
    assert_eq!(&b[40..48], &[2, 0, 0, 0, 1, 0, 0, 0]);
    let back = Superblock::decode(&b).unwrap();
    assert_eq!(back, old);
    assert!(!back.has_device_entries());
    let up = back.upgraded();
    assert!(up.has_device_entries());
    assert_eq!((up.version, up.omf), (48, (2, 2)));
    assert_eq!(
        Superblock {
            version: 47,
            omf: (2, 1),
            ..up.clone()
        },
        old,
        "nothing else changes"
    );
    assert!(sb(GIB).has_device_entries());
    // fsck: device entries in a log whose superblock has no such format.
    let (h, r) = log_of(vec![dev(1, GIB, 11)]);
    let rep = analyze(GIB, &old, &h, &r);
    assert!(
        rep.problems.iter().any(|p| p
            .what
            .contains("the log adds devices, but the superblock's format (47, 2.1)")),
        "{:?}",
        rep.problems
    );
    assert!(analyze(GIB, &up, &h, &r).clean());
    // A format-47 file system without device entries is clean.
    let (h, r) = log_of(vec![file("f", &[(10 * MIB, 2 * MIB)], 1)]);
    assert!(analyze(GIB, &old, &h, &r).clean());
}
