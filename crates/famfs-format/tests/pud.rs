//! 1 GiB placement: the rule (`pud_aligned` and friends) with values worked
//! out by hand, the allocator placing files of 1 GiB or more where the
//! device's memory is 1 GiB aligned (phase 0 and others), its fallback to
//! the first fit of before, smaller files unchanged, and a property test
//! against a model of the device's free space.

use famfs_format::*;
use proptest::prelude::*;

const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;

#[test]
fn the_rule_by_hand() {
    assert_eq!(PUD_SIZE, GIB);
    assert!(pud_aligned(0, 0));
    assert!(pud_aligned(3 * GIB, 0));
    assert!(!pud_aligned(2 * MIB, 0));
    assert!(pud_aligned(512 * MIB, 512 * MIB));
    assert!(pud_aligned(GIB + 512 * MIB, 512 * MIB));
    assert!(!pud_aligned(GIB, 512 * MIB));
    // A phase is taken modulo 1 GiB.
    assert!(pud_aligned(2 * MIB, GIB + 2 * MIB));

    assert_eq!(pud_align_up(0, 0), Some(0));
    assert_eq!(pud_align_up(10 * MIB, 0), Some(GIB));
    assert_eq!(pud_align_up(GIB, 0), Some(GIB));
    assert_eq!(pud_align_up(10 * MIB, 512 * MIB), Some(512 * MIB));
    assert_eq!(pud_align_up(600 * MIB, 512 * MIB), Some(GIB + 512 * MIB));
    assert_eq!(pud_align_up(u64::MAX - 5, 0), None);

    // [10 MiB, 3 GiB + 10 MiB): aligned GiBs at 1 and 2 GiB.
    assert_eq!(pud_gibs(10 * MIB, 3 * GIB, 0), 2);
    // [1 GiB, 5 GiB): four.
    assert_eq!(pud_gibs(GIB, 4 * GIB, 0), 4);
    // Just short of a GiB.
    assert_eq!(pud_gibs(GIB, GIB - 2 * MIB, 0), 0);
    // Phase 512 MiB: [512 MiB, 2.5 GiB) holds two, [0, 2 GiB) one.
    assert_eq!(pud_gibs(512 * MIB, 2 * GIB, 512 * MIB), 2);
    assert_eq!(pud_gibs(0, 2 * GIB, 512 * MIB), 1);
    assert_eq!(pud_gibs(0, 0, 0), 0);
    assert_eq!(pud_gibs(u64::MAX - GIB, 2 * GIB, 0), 0);
}

#[test]
fn phase_zero_puts_big_files_on_gib_boundaries() {
    // Device 0 of 8 GiB: superblock and log take [0, 10 MiB).
    let mut a = Allocator::new(8 * GIB, 2 * MIB, 8 * MIB);
    assert_eq!(a.pud_phase(), 0);
    assert_eq!(a.alloc_file(GIB), Some(Extent::new(GIB, GIB)));
    // A small file is first fit, as before: right after the log.
    assert_eq!(a.alloc_file(3 * MIB), Some(Extent::new(10 * MIB, 4 * MIB)));
    // 2 GiB + 1 byte is 2 GiB + 2 MiB of units, from 2 GiB.
    assert_eq!(
        a.alloc_file(2 * GIB + 1),
        Some(Extent::new(2 * GIB, 2 * GIB + 2 * MIB))
    );
    // 4 GiB is taken by the unit above; the next boundary is 5 GiB.
    assert_eq!(a.alloc_file(GIB), Some(Extent::new(5 * GIB, GIB)));
    // The hole below 1 GiB still takes small files.
    assert_eq!(a.alloc_file(2 * MIB), Some(Extent::new(14 * MIB, 2 * MIB)));
}

#[test]
fn a_phase_moves_the_boundaries() {
    // An added device of 4 GiB whose memory is 1 GiB aligned at device
    // offsets 512 MiB, 1.5 GiB, 2.5 GiB, 3.5 GiB.
    let mut a = Allocator::for_device(1, 4 * GIB, 2 * MIB).with_pud_phase(512 * MIB);
    assert_eq!(a.pud_phase(), 512 * MIB);
    assert_eq!(a.alloc_file(GIB), Some(Extent::on(1, 512 * MIB, GIB)));
    // Small: first fit after the label.
    assert_eq!(
        a.alloc_file(100 * MIB),
        Some(Extent::on(1, 2 * MIB, 100 * MIB))
    );
    assert_eq!(
        a.alloc_file(GIB + 2 * MIB),
        Some(Extent::on(1, 1536 * MIB, GIB + 2 * MIB))
    );
    // 2.5 GiB is taken by that file's last unit, and 3.5 GiB + 1 GiB is
    // past the end: first fit, after that file.
    assert_eq!(
        a.alloc_file(GIB),
        Some(Extent::on(1, 2560 * MIB + 2 * MIB, GIB))
    );
    // A phase beyond 1 GiB is taken modulo 1 GiB.
    let b = Allocator::for_device(1, 4 * GIB, 2 * MIB).with_pud_phase(GIB + 512 * MIB);
    assert_eq!(b.pud_phase(), 512 * MIB);
}

#[test]
fn without_aligned_room_placement_is_first_fit_as_before() {
    // 1.5 GiB device, phase 0: the only boundary (1 GiB) leaves 512 MiB.
    let a = Allocator::for_device(2, 1536 * MIB, 2 * MIB);
    let (mut new, mut old) = (a.clone(), a);
    assert_eq!(new.alloc_pud(GIB), None);
    assert_eq!(new.alloc_file(GIB), Some(Extent::on(2, 2 * MIB, GIB)));
    assert_eq!(old.alloc(GIB), Some(Extent::on(2, 2 * MIB, GIB)));
    assert_eq!(new.free_bytes(), old.free_bytes());

    // Every boundary with room after it occupied (2 MiB at 1, 2 and 3 GiB
    // of a 4.5 GiB device): the only run of 1 GiB is [3 GiB + 2 MiB,
    // 4.5 GiB).
    let mut a = Allocator::new(4608 * MIB, 2 * MIB, 8 * MIB);
    for g in 1..4 {
        a.mark(g * GIB, 2 * MIB);
    }
    let mut old = a.clone();
    assert_eq!(a.alloc_pud(GIB), None);
    assert_eq!(a.alloc_file(GIB), Some(Extent::new(3 * GIB + 2 * MIB, GIB)));
    assert_eq!(old.alloc(GIB), Some(Extent::new(3 * GIB + 2 * MIB, GIB)));

    // A phase that is no multiple of 2 MiB: no aligned attempt at all.
    let mut a = Allocator::new(4 * GIB, 2 * MIB, 8 * MIB).with_pud_phase(MIB);
    assert_eq!(a.alloc_pud(GIB), None);
    assert_eq!(a.alloc_file(GIB), Some(Extent::new(10 * MIB, GIB)));
    // With 4 KiB units the same.
    let mut a = Allocator::with_unit(4 * GIB, 2 * MIB, 8 * MIB, 4096).with_pud_phase(4096);
    assert_eq!(a.alloc_pud(GIB), None);
    assert_eq!(a.alloc_file(GIB), Some(Extent::new(10 * MIB, GIB)));
}

#[test]
fn four_k_units_place_big_files_on_boundaries_too() {
    let mut a = Allocator::with_unit(4 * GIB, 2 * MIB, 8 * MIB, 4096).with_pud_phase(2 * MIB);
    // Phase 2 MiB: [2 MiB, 10 MiB) is the log, so the first boundary with
    // room is 1 GiB + 2 MiB.
    assert_eq!(a.alloc_file(GIB), Some(Extent::new(GIB + 2 * MIB, GIB)));
    // Small files stay first fit in 4 KiB units.
    assert_eq!(a.alloc_file(1), Some(Extent::new(10 * MIB, 4096)));
}

#[test]
fn files_under_1_gib_are_placed_as_before() {
    let sizes = [
        1,
        GIB - 2 * MIB,
        GIB - 1,
        3 * MIB,
        512 * MIB,
        2 * MIB,
        700 * MIB,
    ];
    for phase in [0, 2 * MIB, 512 * MIB, GIB - 2 * MIB] {
        let mut new = Allocator::new(6 * GIB, 2 * MIB, 8 * MIB).with_pud_phase(phase);
        let mut old = Allocator::new(6 * GIB, 2 * MIB, 8 * MIB);
        for s in sizes.iter().cycle().take(20) {
            assert_eq!(new.alloc_pud(*s), None);
            assert_eq!(new.alloc_file(*s), old.alloc(*s), "size {s}, phase {phase}");
        }
    }
}

#[test]
fn file_level_count_by_hand() {
    let zero = |_: u32| Some(0);
    // 4 GiB at 1 GiB: all four.
    let m = FileMap::Simple(vec![Extent::new(GIB, 4 * GIB)]);
    assert_eq!(pud_mappable(&m, 4 * GIB, zero), Ok(4));
    // A byte less: three whole GiBs, all mappable.
    assert_eq!(pud_mappable(&m, 4 * GIB - 1, zero), Ok(3));
    // Under 1 GiB: nothing to map, and no phase needed.
    assert_eq!(pud_mappable(&m, GIB - 1, |_| None), Ok(0));
    // Two extents: 512 MiB at 512 MiB, then 2 GiB at 2 GiB, a 2.5 GiB
    // file. File GiB 0 starts in the 512 MiB extent (too short); file GiB
    // 1 is at device 2.5 GiB, which is aligned for phase 512 MiB only.
    let m = FileMap::Simple(vec![
        Extent::new(512 * MIB, 512 * MIB),
        Extent::new(2 * GIB, 2 * GIB),
    ]);
    assert_eq!(pud_mappable(&m, 2560 * MIB, zero), Ok(0));
    assert_eq!(pud_mappable(&m, 2560 * MIB, |_| Some(512 * MIB)), Ok(1));
    // The second extent holds two aligned GiBs of memory at phase 0, but
    // the file does not use them on GiB boundaries of its own.
    assert_eq!(pud_gibs(2 * GIB, 2 * GIB, 0), 2);
    // Not mapped up to its size: the GiBs past the extents do not count.
    let m = FileMap::Simple(vec![Extent::new(GIB, GIB)]);
    assert_eq!(pud_mappable(&m, 3 * GIB, zero), Ok(1));
}

#[test]
fn file_level_count_of_interleaved_maps() {
    // Chunks of 1 GiB over two strips: file GiB 0 -> device 0 at 1 GiB,
    // 1 -> device 1 at 4 GiB, 2 -> device 0 at 2 GiB, 3 -> device 1 at
    // 5 GiB.
    let m = FileMap::Interleaved {
        chunk_size: GIB,
        strips: vec![Extent::on(0, GIB, 2 * GIB), Extent::on(1, 4 * GIB, 2 * GIB)],
    };
    assert_eq!(pud_mappable(&m, 4 * GIB, |_| Some(0)), Ok(4));
    // Device 1's memory aligned elsewhere: only device 0's GiBs.
    let phase = |d: u32| Some(if d == 1 { 2 * MIB } else { 0 });
    assert_eq!(pud_mappable(&m, 4 * GIB, phase), Ok(2));
    // Device 1's phase unknown: the answer is unknown, naming it.
    let phase = |d: u32| (d == 0).then_some(0);
    assert_eq!(pud_mappable(&m, 4 * GIB, phase), Err(1));
    // Chunks of 2 MiB: no GiB of the file is contiguous on a device, and
    // no phase is needed to say so.
    let m = FileMap::Interleaved {
        chunk_size: 2 * MIB,
        strips: vec![Extent::on(0, GIB, 2 * GIB), Extent::on(1, 4 * GIB, 2 * GIB)],
    };
    assert_eq!(pud_mappable(&m, 4 * GIB, |_| None), Ok(0));
}

/// The lowest offset `phase + k GiB` (k >= 0) where `len` bytes fit in
/// `[0, size)` without touching `used`: the model of aligned placement.
fn model_aligned(used: &[(u64, u64)], size: u64, phase: u64, len: u64) -> Option<u64> {
    let mut o = phase;
    while o + len <= size {
        if used.iter().all(|&(s, e)| o + len <= s || e <= o) {
            return Some(o);
        }
        o += GIB;
    }
    None
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Placements never overlap each other or what was in use, stay on
    /// the device, and a file of 1 GiB or more is at the lowest aligned
    /// offset where it fits (found by brute force over the taken ranges)
    /// or, when there is none, exactly where first fit put it before.
    #[test]
    fn placements_never_overlap_and_aligned_ones_are_aligned(
        units in 256u64..4096,
        phase_units in 0u64..512,
        odd_phase in any::<bool>(),
        marks in prop::collection::vec((0u64..4096, 1u64..600), 0..6),
        sizes in prop::collection::vec(prop_oneof![
            1u64..(64 * MIB),
            (GIB - 4 * MIB)..(GIB + 4 * MIB),
            GIB..(3 * GIB),
        ], 1..25),
    ) {
        let unit = 2 * MIB;
        let size = units * unit;
        // Phases are multiples of 2 MiB as real devices have; sometimes
        // not, which must turn aligned placement off.
        let phase = phase_units * unit + if odd_phase { 4096 } else { 0 };
        let mut a = Allocator::for_device(1, size, unit).with_pud_phase(phase);
        let mut used: Vec<(u64, u64)> = vec![(0, LABEL_REGION)];
        for (at, n) in marks {
            let (s, e) = (at * unit, ((at + n) * unit).min(size));
            if s < e {
                a.mark(s, e - s);
                used.push((s, e));
            }
        }
        for want in sizes {
            let len = want.div_ceil(unit) * unit;
            let mut old = a.clone();
            let got = a.alloc_file(want);
            let aligned = if want >= GIB && !odd_phase {
                model_aligned(&used, size, phase, len)
            } else {
                None
            };
            match aligned {
                Some(o) => {
                    prop_assert_eq!(got, Some(Extent::on(1, o, len)));
                    prop_assert!(pud_aligned(o, phase));
                    prop_assert_eq!(pud_gibs(o, len, phase), len / GIB);
                }
                None => prop_assert_eq!(got, old.alloc(want)),
            }
            if let Some(x) = got {
                prop_assert_eq!(x.dev, 1);
                prop_assert!(x.len == len && x.offset + x.len <= size);
                for &(s, e) in &used {
                    prop_assert!(x.offset + x.len <= s || e <= x.offset,
                        "{:?} overlaps [{:#x}, {:#x})", x, s, e);
                }
                used.push((x.offset, x.offset + x.len));
            }
            let taken: u64 = {
                // Units in use, counted from the model's ranges.
                let mut u = vec![false; units as usize];
                for &(s, e) in &used {
                    for k in s / unit..e.div_ceil(unit) {
                        u[k as usize] = true;
                    }
                }
                u.iter().filter(|b| **b).count() as u64
            };
            prop_assert_eq!(a.free_bytes(), size - taken * unit);
        }
    }
}
