//! fsck analysis, interleaved allocation and path rules, against
//! independent models (brute-force overlap checks, hand-computed layouts).

use famfs_format::fmap::FmapError;
use famfs_format::fsck::analyze;
use famfs_format::*;
use proptest::prelude::*;

mod common;
use common::*;

fn run(dev: u64, bodies: Vec<EntryBody>) -> fsck::Report {
    let mut buf = vec![0u8; 8 << 20];
    let mut log = Log::format(&mut buf).unwrap();
    for b in bodies {
        log.append(b).unwrap();
    }
    let h = log.header().unwrap();
    let (_, r) = log.replay().unwrap();
    analyze(dev, &sb(dev), &h, &r)
}

#[test]
fn a_clean_log_is_clean_and_counts_space() {
    let r = run(
        GIB,
        vec![
            dir("d"),
            file("d/a", &[(10 * MIB, 4 * MIB)], 3 * MIB),
            file("b", &[(14 * MIB, 2 * MIB)], 1),
        ],
    );
    assert!(r.clean(), "{:?}", r.problems);
    assert_eq!((r.entries, r.files, r.dirs), (3, 2, 1));
    // superblock 2 MiB + log 8 MiB + files 6 MiB
    assert_eq!(r.used_bytes, 16 * MIB);
    assert_eq!(r.free_bytes, GIB - 16 * MIB);
    assert_eq!(r.largest_free, GIB - 16 * MIB);
    assert_eq!(r.log_slots, 15420);
}

#[test]
fn cross_links_are_found_in_pairs() {
    let r = run(
        GIB,
        vec![
            file("a", &[(10 * MIB, 4 * MIB)], 4 * MIB),
            file("b", &[(12 * MIB, 2 * MIB)], 2 * MIB),
            file("c", &[(4 * MIB, 2 * MIB)], 2 * MIB),
        ],
    );
    assert!(!r.clean());
    assert_eq!(
        r.crosslinks,
        vec![
            ("log".to_string(), "c".to_string()),
            ("a".to_string(), "b".to_string())
        ]
    );
}

#[test]
fn bad_extents_paths_and_duplicates_are_reported() {
    let r = run(
        GIB,
        vec![
            file("beyond", &[(GIB - 2 * MIB, 4 * MIB)], 4 * MIB),
            file("small", &[(20 * MIB, 2 * MIB)], 3 * MIB),
            file("unaligned", &[(30 * MIB + 4096, 2 * MIB)], 4096),
            file(".meta/x", &[(40 * MIB, 2 * MIB)], 1),
            dir("d"),
            dir("d"),
        ],
    );
    let text: Vec<String> = r.problems.iter().map(|p| p.what.clone()).collect();
    let has = |s: &str| text.iter().any(|t| t.contains(s));
    // Each map problem names the file, the module's rule it breaks, and
    // the map.
    let refused = |slot: u64, rule: FmapError, detail: &str| {
        r.problems.iter().any(|p| {
            p.slot == Some(slot)
                && p.refused == Some(rule)
                && p.what.contains(rule.describe())
                && p.what.contains(detail)
        })
    };
    assert!(
        refused(0, FmapError::BeyondDevice, "'beyond': "),
        "{text:?}"
    );
    assert!(has(
        "extents 0x3fe00000+0x400000, on a 1073741824-byte device"
    ));
    assert!(refused(
        1,
        FmapError::TooSmall,
        "'small': the module refuses its map: extents do not cover the file size (3145728 \
         bytes, extents 0x1400000+0x200000"
    ));
    assert!(refused(2, FmapError::Misaligned, "'unaligned': "));
    assert!(has("extents 0x1e01000+0x200000"));
    assert!(has("reserved .meta"));
    assert!(has("'d' is logged again (first at slot 4)"));
    assert_eq!(r.problems.iter().filter(|p| p.slot == Some(5)).count(), 1);
}

#[test]
fn unreadable_slots_are_problems_with_their_slot() {
    let mut buf = vec![0u8; 8 << 20];
    {
        let mut log = Log::format(&mut buf).unwrap();
        log.append(dir("a")).unwrap();
        log.append(dir("b")).unwrap();
        log.append(dir("c")).unwrap();
    }
    buf[slot_range(1).start + 100] ^= 0xff;
    let (h, r) = read_log(&buf).unwrap();
    assert_eq!(r.slots, vec![0, 2]);
    let rep = analyze(GIB, &sb(GIB), &h, &r);
    assert_eq!(rep.entries, 2);
    assert_eq!(rep.problems.len(), 1);
    assert_eq!(rep.problems[0].slot, Some(1));
    assert!(rep.problems[0].what.contains("CRC mismatch"));
}

#[test]
fn path_rules() {
    for ok in ["a", "a/b", "x.meta", "a/.meta", &"p".repeat(80)] {
        assert!(check_relpath(ok).is_ok(), "{ok}");
    }
    for bad in [
        "",
        "/a",
        "a//b",
        "a/",
        "./a",
        "a/../b",
        "..",
        ".meta",
        ".meta/x",
        "a\0b",
        &"p".repeat(81),
    ] {
        assert!(check_relpath(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn interleave_parameters() {
    let dev = 4 * GIB;
    assert!(check_interleave(dev, 4, 2, 2 * MIB).is_ok());
    assert!(check_interleave(dev, 0, 1, 2 * MIB).is_err());
    assert!(check_interleave(dev, 65, 1, 2 * MIB).is_err());
    assert!(check_interleave(dev, 2, 3, 2 * MIB).is_err());
    assert!(check_interleave(dev, 5, 2, 2 * MIB).is_err()); // buckets < 1 GiB
    assert!(check_interleave(dev, 2, 2, 3 * MIB).is_err());
    assert!(check_interleave(dev, 2, 2, MIB).is_err());
    assert!(check_interleave(64 * GIB, 64, 17, 2 * MIB).is_err()); // > 16 strips
                                                                   // 5 chunks of 2 MiB over 2 strips: 3 chunks per strip.
    assert_eq!(strip_len(9 * MIB, 2, 2 * MIB), 6 * MIB);
    assert_eq!(strip_len(1, 4, 4 * MIB), 4 * MIB);
}

#[test]
fn interleaved_strips_land_in_distinct_buckets_in_the_given_order() {
    let dev = 4 * GIB;
    let mut a = Allocator::new(dev, 2 * MIB, 8 * MIB);
    let s = a
        .alloc_interleaved(64 * MIB, 4, 3, 2 * MIB, &[2, 0, 3, 1])
        .unwrap();
    let bucket = dev / 4;
    let buckets: Vec<u64> = s.iter().map(|x| x.offset / bucket).collect();
    assert_eq!(buckets, vec![2, 0, 3]);
    // 32 chunks over 3 strips: 11 chunks of 2 MiB each.
    assert!(s.iter().all(|x| x.len == 22 * MIB));
    // Bucket 0 starts with the superblock and log: the strip follows them.
    assert_eq!(s[1].offset, 10 * MIB);
    assert_eq!(s[0].offset, 2 * bucket);
}

#[test]
fn a_failed_interleaved_allocation_takes_nothing() {
    let dev = 2 * GIB;
    let mut a = Allocator::new(dev, 2 * MIB, 8 * MIB);
    // Fill bucket 1 completely.
    a.mark(GIB, GIB);
    let free = a.free_bytes();
    let e = a
        .alloc_interleaved(8 * MIB, 2, 2, 2 * MIB, &[0, 1])
        .unwrap_err();
    assert!(
        matches!(e, InterleaveError::NoSpace { found: 1, .. }),
        "{e}"
    );
    assert_eq!(a.free_bytes(), free);
}

proptest! {
    /// Whatever mix of contiguous and interleaved allocations is made, no
    /// two ranges overlap, none touches the metadata, and fsck of the
    /// resulting log agrees (checked here against a brute-force model).
    #[test]
    fn allocations_never_overlap_and_fsck_agrees(
        reqs in proptest::collection::vec((1u64..40 * MIB, any::<bool>(), 1u64..4, any::<u64>()), 1..40)
    ) {
        let dev = 4 * GIB;
        let mut a = Allocator::new(dev, 2 * MIB, 8 * MIB);
        let mut ranges: Vec<(u64, u64)> = vec![(0, 10 * MIB)];
        let mut bodies = Vec::new();
        for (i, (size, il, nstrips, seed)) in reqs.into_iter().enumerate() {
            let mut order = vec![0u64, 1, 2, 3];
            order.rotate_left((seed % 4) as usize);
            let map = if il {
                match a.alloc_interleaved(size, 4, nstrips, 2 * MIB, &order) {
                    Ok(s) => FileMap::Interleaved { chunk_size: 2 * MIB, strips: s },
                    Err(_) => continue,
                }
            } else {
                match a.alloc(size) {
                    Some(x) => FileMap::Simple(vec![x]),
                    None => continue,
                }
            };
            // Every allocation is a map the module accepts.
            prop_assert_eq!(check_map(&map, size, dev, ALLOC_UNIT), Ok(()));
            let exts = map.ranges().to_vec();
            for x in &exts {
                prop_assert!(x.offset % (2 * MIB) == 0 && x.offset + x.len <= dev);
                for &(o, l) in &ranges {
                    prop_assert!(x.offset + x.len <= o || o + l <= x.offset);
                }
            }
            ranges.extend(exts.iter().map(|x| (x.offset, x.len)));
            bodies.push(EntryBody::File {
                size, flags: 2, uid: 0, gid: 0, mode: 0o644,
                relpath: format!("f{i}"), map,
            });
        }
        let used: u64 = ranges.iter().map(|r| r.1).sum();
        let r = run(dev, bodies);
        prop_assert!(r.clean(), "{:?}", r.problems);
        prop_assert_eq!(r.used_bytes, used);
    }
}

/// A file entry whose extent names device 1 (as a multi-device master
/// writes it; `se_devindex` is the first u64 of `famfs_simple_extent`):
/// the index survives decoding and encoding; fsck refuses its map (this
/// file system has device 0 only), counts none of its memory on device 0
/// and sees no cross-link with a device-0 file at the same offsets; the
/// allocator leaves those offsets free on device 0. (Before, the decoder
/// dropped the index, and the file was taken for device 0's memory.)
#[test]
fn a_file_on_another_device_is_not_device_0_memory() {
    let on1 = entry(
        "elsewhere",
        2 * MIB,
        FileMap::Simple(vec![Extent::on(1, 10 * MIB, 2 * MIB)]),
    );
    let bytes = LogEntry {
        seqnum: 7,
        body: on1.clone(),
    }
    .encode()
    .unwrap();
    // famfs_log_file_meta at 16, its fmap at 16 + 104, the first simple
    // extent at fmap + 16: se_devindex, se_offset, se_len.
    let se = 16 + 104 + 16;
    assert_eq!(&bytes[se..se + 8], &1u64.to_le_bytes());
    assert_eq!(&bytes[se + 8..se + 16], &(10 * MIB).to_le_bytes());
    let back = LogEntry::decode(&bytes).unwrap();
    assert_eq!(back.body, on1);
    assert_eq!(
        match &back.body {
            EntryBody::File { map, .. } => map.other_device(),
            _ => None,
        },
        Some(1)
    );

    let r = run(
        GIB,
        vec![on1.clone(), file("here", &[(10 * MIB, 2 * MIB)], 2 * MIB)],
    );
    assert!(r.crosslinks.is_empty(), "{:?}", r.crosslinks);
    assert!(
        r.problems
            .iter()
            .any(|p| p.refused == Some(FmapError::NoDevice)
                && p.what.contains("'elsewhere'")
                && p.what.contains("device 1 0xa00000+0x200000")),
        "{:?}",
        r.problems
    );
    assert_eq!(r.problems.len(), 1, "{:?}", r.problems);
    // superblock 2 MiB + log 8 MiB + "here" 2 MiB
    assert_eq!(r.used_bytes, 12 * MIB);

    let mut a = Allocator::new(GIB, SUPERBLOCK_REGION, 8 << 20);
    a.mark_log(&[LogEntry {
        seqnum: 0,
        body: on1,
    }]);
    assert_eq!(a.free_bytes(), GIB - 10 * MIB);
}
