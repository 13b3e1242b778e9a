//! Property tests of `famfs_fmap` against a reference model that shares no
//! code with it (`crates/famfs-model`, which the guest map fuzzer also
//! checks the real module against).
//!
//! The model builds, page by page, the device page of every file page by
//! *simulating* the layout (dealing chunks to strips one after another), and
//! validates maps with its own rules written from the ABI description, using
//! 128-bit arithmetic so that it cannot overflow.

use famfs_fmap::*;
use famfs_model::{model_pages, model_valid, model_valid_in, Flaw, MIB2, PAGE};
use proptest::prelude::*;

fn simple(file_size: u64, exts: &[(u64, u64)]) -> Fmap {
    Fmap::simple(FileType::Regular, file_size, exts)
}

/// Maps whose pieces are small multiples of 2 MiB on a 256 MiB device, so
/// that valid and invalid ones both come up often.
fn arb_piece(unit: u64) -> impl Strategy<Value = u64> {
    prop_oneof![
        8 => (0u64..128).prop_map(move |u| u * unit),
        2 => (0u64..128).prop_map(|u| u * MIB2),
        1 => any::<u64>(),
        1 => 0u64..1 << 28
    ]
}

fn arb_map() -> impl Strategy<Value = Fmap> {
    arb_map_in(MIB2)
}

/// Maps of pieces that are mostly multiples of `unit`.
fn arb_map_in(unit: u64) -> impl Strategy<Value = Fmap> {
    let simple_map = (
        prop::collection::vec((arb_piece(unit), arb_piece(unit)), 0..4),
        arb_piece(unit),
        0u32..3,
    )
        .prop_map(|(exts, size, ft)| {
            let mut extents = [Extent::default(); MAX_SIMPLE_EXTENTS];
            for (i, (o, l)) in exts.iter().enumerate().take(MAX_SIMPLE_EXTENTS) {
                extents[i] = Extent::new(*o, *l);
            }
            Fmap {
                file_type: FileType::from_raw(ft).unwrap(),
                file_size: size,
                layout: Layout::Simple {
                    count: exts.len(),
                    extents,
                },
            }
        });
    let ie = (
        1u64..4,
        arb_piece(unit),
        prop::collection::vec((arb_piece(unit), arb_piece(unit)), 0..5),
    )
        .prop_map(move |(chunk_units, nbytes, strips)| {
            let mut s = [Extent::default(); MAX_STRIPS];
            for (i, (o, l)) in strips.iter().enumerate().take(MAX_STRIPS) {
                s[i] = Extent::new(*o, *l);
            }
            Interleave {
                chunk_size: chunk_units * unit,
                nbytes,
                nstrips: strips.len(),
                strips: s,
            }
        });
    let inter_map = (prop::collection::vec(ie, 0..3), arb_piece(unit)).prop_map(|(ies, size)| {
        let mut extents = [Interleave::default(); MAX_INTERLEAVED_EXTENTS];
        for (i, ie) in ies.iter().enumerate().take(MAX_INTERLEAVED_EXTENTS) {
            extents[i] = *ie;
        }
        Fmap {
            file_type: FileType::Regular,
            file_size: size,
            layout: Layout::Interleaved {
                count: ies.len(),
                extents,
            },
        }
    });
    prop_oneof![simple_map, inter_map]
}

const DEV: u64 = 256 << 20;

/// Lays the ranges `lens` (in `unit`s) out on the device from unit 1, in
/// the physical order `order`, each preceded by its gap; returns them in
/// logical order.
fn place(lens: &[u64], gaps: &[u64], order: &[usize], unit: u64) -> Vec<Extent> {
    let mut at = 1u64;
    let mut placed = vec![Extent::default(); lens.len()];
    for &i in order {
        at += gaps[i];
        placed[i] = Extent::new(at * unit, lens[i] * unit);
        at += lens[i];
    }
    placed
}

/// Maps valid by construction (non-overlapping ranges inside the device).
fn arb_valid_map() -> impl Strategy<Value = Fmap> {
    arb_valid_map_in(MIB2)
}

/// Maps valid by construction on a mount whose allocation unit is `unit`.
fn arb_valid_map_in(unit: u64) -> impl Strategy<Value = Fmap> {
    let simple_map = (
        prop::collection::vec((1u64..20, 0u64..5), 1..=2),
        any::<bool>(),
        any::<u64>(),
    )
        .prop_map(move |(segs, swap, size_seed)| {
            let lens: Vec<u64> = segs.iter().map(|s| s.0).collect();
            let gaps: Vec<u64> = segs.iter().map(|s| s.1).collect();
            let order: Vec<usize> = if swap {
                (0..lens.len()).rev().collect()
            } else {
                (0..lens.len()).collect()
            };
            let exts = place(&lens, &gaps, &order, unit);
            let total: u64 = exts.iter().map(|e| e.len).sum();
            let v: Vec<(u64, u64)> = exts.iter().map(|e| (e.offset, e.len)).collect();
            simple(size_seed % (total + 1), &v)
        });
    let inter_map = (
        prop::collection::vec((1usize..5, 1u64..3, 1u64..4, 0u64..3), 1..=2),
        any::<u64>(),
    )
        .prop_map(move |(ies, size_seed)| {
            // Every strip of an interleaved extent holds m chunks.
            let mut lens = Vec::new();
            let mut gaps = Vec::new();
            for (n, chunk_units, m, gap) in &ies {
                for _ in 0..*n {
                    lens.push(chunk_units * m);
                    gaps.push(*gap);
                }
            }
            let order: Vec<usize> = (0..lens.len()).rev().collect();
            let ranges = place(&lens, &gaps, &order, unit);
            let mut extents = [Interleave::default(); MAX_INTERLEAVED_EXTENTS];
            let mut next = 0;
            let mut covered = 0;
            for (i, (n, chunk_units, m, _)) in ies.iter().enumerate() {
                let mut strips = [Extent::default(); MAX_STRIPS];
                strips[..*n].copy_from_slice(&ranges[next..next + n]);
                next += n;
                let cap = *n as u64 * m * chunk_units * unit;
                let last = i + 1 == ies.len();
                let nbytes = if last {
                    1 + (size_seed >> i) % cap
                } else {
                    unit * (1 + (size_seed >> i) % (cap / unit))
                };
                covered += nbytes;
                extents[i] = Interleave {
                    chunk_size: chunk_units * unit,
                    nbytes,
                    nstrips: *n,
                    strips,
                };
            }
            Fmap {
                file_type: FileType::Regular,
                file_size: size_seed % (covered + 1),
                layout: Layout::Interleaved {
                    count: ies.len(),
                    extents,
                },
            }
        });
    prop_oneof![simple_map, inter_map]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    /// The implementation accepts exactly the maps the model accepts.
    #[test]
    fn validate_agrees_with_model(map in arb_map(), unaligned_last in any::<bool>()) {
        let limits = Limits { unaligned_last_len: unaligned_last, ..Limits::new(DEV) };
        prop_assert_eq!(map.validate(&limits).is_ok(), model_valid(&map, DEV, unaligned_last), "{:?}", map);
    }

    /// For valid maps, every file page resolves to the page the simulation
    /// puts it on, and the reported run is really contiguous.
    #[test]
    fn resolve_agrees_with_model(map in arb_valid_map(), probe in any::<u64>()) {
        let pages = resolves_as_modelled(&map, &Limits::new(DEV))?;
        // Past the mapped pages nothing resolves; within a page offsets add up.
        let end = pages.len() as u64 * PAGE;
        prop_assert!(map.resolve(end).is_none());
        let pos = probe % end.max(1);
        if let Some(m) = map.resolve(pos) {
            prop_assert_eq!(m.dev_offset, pages[(pos / PAGE) as usize] + pos % PAGE);
        }
    }

    /// The reverse lookup finds exactly the file pages the model places in a
    /// device range.
    #[test]
    fn reverse_lookup_agrees_with_model(map in arb_valid_map(), a in 0u64..128, l in 1u64..64) {
        let pages = model_pages(&map);
        let dev = Extent::new(a * MIB2 + 4096, l * MIB2 / 3);
        let mut want: Vec<u64> = pages
            .iter()
            .enumerate()
            .filter(|(_, p)| **p + PAGE > dev.offset && **p < dev.offset + dev.len)
            .map(|(i, _)| i as u64)
            .collect();
        let mut got = Vec::new();
        map.file_ranges_in(&dev, |off, len| {
            let mut p = off / PAGE;
            while p * PAGE < off + len {
                got.push(p);
                p += 1;
            }
        });
        got.sort();
        got.dedup();
        want.sort();
        prop_assert_eq!(got, want);
    }

    /// Nothing panics on arbitrary input.
    #[test]
    fn arbitrary_input_never_panics(map in arb_map(), pos in any::<u64>(), dev in any::<u64>()) {
        let _ = map.validate(&Limits { unaligned_last_len: true, ..Limits::new(dev) });
        let _ = map.resolve(pos);
        let _ = map.mapped_bytes();
        // The reverse lookup walks chunks: it is meant for validated maps
        // (bounded by the device), like every map the kernel keeps.
        if map.validate(&Limits { unaligned_last_len: true, ..Limits::new(DEV) }).is_ok() {
            map.file_ranges_in(&Extent::new(pos, dev), |_, _| {});
        }
    }

    /// On a mount with the 4 KiB unit, the implementation accepts exactly
    /// the maps the model accepts for that unit.
    #[test]
    fn validate_agrees_with_model_4k(map in arb_map_in(SMALL_UNIT), unaligned_last in any::<bool>()) {
        let limits = Limits { unaligned_last_len: unaligned_last, unit: SMALL_UNIT, ..Limits::new(DEV) };
        prop_assert_eq!(
            map.validate(&limits).is_ok(),
            model_valid_in(&map, DEV, unaligned_last, SMALL_UNIT, Flaw::None),
            "{:?}", map
        );
    }

    /// Maps in 4 KiB units resolve page by page as the simulation places
    /// them, with runs that are really contiguous (what keeps a PMD fault
    /// from mapping memory beyond an extent: a run is never longer than
    /// its extent or chunk).
    #[test]
    fn resolve_agrees_with_model_4k(map in arb_valid_map_in(SMALL_UNIT)) {
        resolves_as_modelled(&map, &Limits { unit: SMALL_UNIT, ..Limits::new(DEV) })?;
    }
}

/// `map` is valid under `limits`, and every file page resolves to the page
/// the simulation puts it on, with a run that is really contiguous; gives
/// the simulated pages.
fn resolves_as_modelled(map: &Fmap, limits: &Limits) -> Result<Vec<u64>, TestCaseError> {
    prop_assert_eq!(map.validate(limits), Ok(()));
    let pages = model_pages(map);
    for (i, want) in pages.iter().enumerate() {
        let pos = i as u64 * PAGE;
        let got = map.resolve(pos).expect("a mapped page resolves");
        prop_assert_eq!(got.dev_offset, *want);
        // Runs are whole pages (the last page's run may reach past the
        // end of the file, inside the extent or strip chunk it is in).
        prop_assert!(got.len >= PAGE);
        // The claimed run is contiguous: checked pairwise, page by page.
        if got.len > PAGE && i + 1 < pages.len() {
            prop_assert_eq!(pages[i + 1], want + PAGE);
            prop_assert_eq!(map.resolve(pos + PAGE).unwrap().len, got.len - PAGE);
        }
    }
    Ok(pages)
}

#[test]
fn documented_examples() {
    let lim = Limits::new(1 << 30);
    // One 4 MiB extent at 2 MiB.
    let m = simple(4 << 20, &[(MIB2, 4 << 20)]);
    assert_eq!(m.validate(&lim), Ok(()));
    assert_eq!(
        m.resolve(0),
        Some(Mapping {
            dev: 0,
            dev_offset: MIB2,
            len: 4 << 20
        })
    );
    assert_eq!(
        m.resolve(MIB2 + 5),
        Some(Mapping {
            dev: 0,
            dev_offset: 2 * MIB2 + 5,
            len: MIB2 - 5
        })
    );
    assert_eq!(m.resolve(4 << 20), None);
    // Each rule's error.
    assert_eq!(simple(0, &[]).validate(&lim), Err(FmapError::NoExtents));
    assert_eq!(
        simple(0, &[(MIB2, MIB2); 3]).validate(&lim),
        Err(FmapError::TooManyExtents)
    );
    assert_eq!(
        simple(0, &[(MIB2, 0)]).validate(&lim),
        Err(FmapError::ZeroLength)
    );
    assert_eq!(
        simple(0, &[(MIB2 + 4096, MIB2)]).validate(&lim),
        Err(FmapError::Misaligned)
    );
    assert_eq!(
        simple(0, &[(MIB2, 4096)]).validate(&lim),
        Err(FmapError::Misaligned)
    );
    assert_eq!(
        simple(0, &[(0, MIB2)]).validate(&lim),
        Err(FmapError::OffsetZero)
    );
    assert_eq!(
        simple(0, &[(1 << 30, MIB2)]).validate(&lim),
        Err(FmapError::BeyondDevice)
    );
    assert_eq!(
        simple(0, &[(u64::MAX - MIB2 + 1, MIB2)]).validate(&lim),
        Err(FmapError::Overflow)
    );
    assert_eq!(
        simple(0, &[(MIB2, 4 << 20), (2 * MIB2, MIB2)]).validate(&lim),
        Err(FmapError::Overlap)
    );
    assert_eq!(
        simple(3 * MIB2, &[(MIB2, MIB2)]).validate(&lim),
        Err(FmapError::TooSmall)
    );
    // v1 maps may end with an unaligned length.
    let v1 = Limits {
        unaligned_last_len: true,
        ..lim
    };
    assert_eq!(
        simple(MIB2 + 4096, &[(MIB2, MIB2), (4 * MIB2, 4096)]).validate(&v1),
        Ok(())
    );
    assert_eq!(
        simple(0, &[(MIB2, 4096), (4 * MIB2, MIB2)]).validate(&v1),
        Err(FmapError::Misaligned)
    );
    // The superblock file may map offset 0.
    let mut sb = simple(MIB2, &[(0, MIB2)]);
    sb.file_type = FileType::Superblock;
    assert_eq!(sb.validate(&lim), Ok(()));
}

/// An interleaved file over two strips (device offsets 10 and 20 × 2 MiB,
/// `strip_len` bytes each) in 2 MiB chunks, `nbytes` long.
fn two_strips(strip_len: u64, nbytes: u64) -> Fmap {
    let mut strips = [Extent::default(); MAX_STRIPS];
    strips[0] = Extent::new(10 * MIB2, strip_len);
    strips[1] = Extent::new(20 * MIB2, strip_len);
    let mut extents = [Interleave::default(); MAX_INTERLEAVED_EXTENTS];
    extents[0] = Interleave {
        chunk_size: MIB2,
        nbytes,
        nstrips: 2,
        strips,
    };
    Fmap {
        file_type: FileType::Regular,
        file_size: nbytes,
        layout: Layout::Interleaved { count: 1, extents },
    }
}

/// Limits of a 1 GiB device.
fn gib_device(unaligned_last_len: bool) -> Limits {
    Limits {
        unaligned_last_len,
        ..Limits::new(1 << 30)
    }
}

#[test]
fn interleave_example() {
    // Two strips, 2 MiB chunks, 8 MiB of file: chunks 0,2 on strip 0 and 1,3 on strip 1.
    let m = two_strips(4 * MIB2, 8 * MIB2);
    let lim = gib_device(false);
    assert_eq!(m.validate(&lim), Ok(()));
    let dev = |pos| m.resolve(pos).unwrap().dev_offset;
    assert_eq!(dev(0), 10 * MIB2);
    assert_eq!(dev(MIB2), 20 * MIB2);
    assert_eq!(dev(2 * MIB2), 11 * MIB2);
    assert_eq!(dev(3 * MIB2 + 7), 21 * MIB2 + 7);
    assert_eq!(m.resolve(3 * MIB2 + 7).unwrap().len, MIB2 - 7);
    // A strip one chunk too short is refused.
    let mut short = m;
    if let Layout::Interleaved { extents, .. } = &mut short.layout {
        extents[0].strips[1].len = MIB2;
    }
    assert_eq!(short.validate(&lim), Err(FmapError::StripTooShort));
}

/// The mapping of the page holding an unaligned end of file reaches past
/// the end (DAX asks for the position right after what it was given: a
/// mapping ending exactly there triggers iomap's WARN in iomap_iter).
#[test]
fn mapping_at_an_unaligned_end_covers_its_page() {
    let size = 9_000_000u64; // 0x895440
    let m = two_strips(3 * MIB2, size);
    let lim = gib_device(false);
    assert_eq!(m.validate(&lim), Ok(()));
    let page = size & !(PAGE - 1);
    let r = m.resolve(page).unwrap();
    assert!(
        page + r.len > size,
        "run of {:#x} ends at or before the end",
        r.len
    );
    // Chunk 4 (file 8 MiB..) is strip 0's third chunk.
    assert_eq!(r.dev_offset, 10 * MIB2 + 2 * MIB2 + (page - 4 * MIB2));

    // v1: a last simple extent of unaligned length.
    let mut ext = [Extent::default(); MAX_SIMPLE_EXTENTS];
    ext[0] = Extent::new(4 * MIB2, 0x1440);
    let v1 = Fmap {
        file_type: FileType::Regular,
        file_size: 0x1440,
        layout: Layout::Simple {
            count: 1,
            extents: ext,
        },
    };
    let lim1 = gib_device(true);
    assert_eq!(v1.validate(&lim1), Ok(()));
    assert_eq!(v1.resolve(0x1000).unwrap().len, PAGE);
}
