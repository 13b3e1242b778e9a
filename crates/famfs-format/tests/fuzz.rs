//! Randomised input for the on-media format: arbitrary and mutated
//! superblocks, log headers, entries and whole logs through the decoder, the
//! log reader and fsck. Nothing may panic, and nothing the decoder accepts
//! and fsck passes as clean may be a map the module would refuse or a path
//! replay would refuse. The module's verdict comes from the independent
//! model (`crates/famfs-model`), applied to the map as the famfs tool gives
//! it to `FAMFSIOC_MAP_CREATE_V2`, read from the entry's bytes at the
//! documented offsets (not through famfs-format's conversion).
//!
//! The last test runs the same property against a deliberately wrong model
//! and requires proptest to find a counterexample: the check can fail.

use famfs_format::fmap::{Extent as FExtent, FileType, Fmap, Interleave, Layout};
use famfs_format::fsck::analyze;
use famfs_format::*;
use famfs_model::{model_valid_in, Flaw};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

mod common;
use common::{GIB, MIB};

const DEV: u64 = GIB;

fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(b[off..off + 4].try_into().unwrap())
}

fn u64_at(b: &[u8], off: usize) -> u64 {
    u64::from_le_bytes(b[off..off + 8].try_into().unwrap())
}

fn fix_crc(b: &mut [u8], covered: usize) {
    let crc = crc32(&b[..covered]);
    b[covered..covered + 8].copy_from_slice(&crc.to_le_bytes());
}

/// The map a file entry's bytes describe, as the famfs tool hands it to the
/// module (a regular file, its simple extents, or one interleaved extent
/// covering the file), read at the documented offsets: the body at 16, the
/// size at body + 0, the map at body + 104 (type, count at + 8, then simple
/// extents of devindex, offset, length from + 16, or the strip count,
/// chunk size and strips from + 16).
fn module_map(b: &[u8]) -> Fmap {
    const FM: usize = 120;
    let size = u64_at(b, 16);
    let ext = |at: usize| FExtent::new(u64_at(b, at + 8), u64_at(b, at + 16));
    let layout = if u32_at(b, FM) == 0 {
        let n = u32_at(b, FM + 8) as usize;
        let mut extents = [FExtent::default(); 2];
        for (i, e) in extents.iter_mut().enumerate().take(n.min(2)) {
            *e = ext(FM + 16 + 24 * i);
        }
        Layout::Simple { count: n, extents }
    } else {
        let n = u64_at(b, FM + 16) as usize;
        let mut strips = [FExtent::default(); 16];
        for (i, e) in strips.iter_mut().enumerate().take(n.min(16)) {
            *e = ext(FM + 32 + 24 * i);
        }
        let mut extents = [Interleave::default(); 4];
        extents[0] = Interleave {
            chunk_size: u64_at(b, FM + 24),
            nbytes: size,
            nstrips: n,
            strips,
        };
        Layout::Interleaved { count: 1, extents }
    };
    Fmap {
        file_type: FileType::Regular,
        file_size: size,
        layout,
    }
}

/// The path rules of replay, restated: relative, non-empty, no empty, `.`
/// or `..` component, at most 80 bytes, not under `.meta`.
/// Whether every extent or strip the map uses names device 0: the v2 map
/// ioctl refuses any other index (and the log's index is handed to it as
/// logged). Read at the same offsets as [`module_map`].
fn on_device_0(b: &[u8]) -> bool {
    const FM: usize = 120;
    let (first, n) = if u32_at(b, FM) == 0 {
        (FM + 16, (u32_at(b, FM + 8) as usize).min(2))
    } else {
        (FM + 32, (u64_at(b, FM + 16) as usize).min(16))
    };
    (0..n).all(|i| u64_at(b, first + 24 * i) == 0)
}

fn path_ok(p: &str) -> bool {
    !p.is_empty()
        && !p.starts_with('/')
        && p.len() <= 80
        && p.split('/').all(|c| !c.is_empty() && c != "." && c != "..")
        && p.split('/').next() != Some(".meta")
}

fn overlaps(a: (u64, u64), b: (u64, u64)) -> bool {
    (a.0 as u128) < b.0 as u128 + b.1 as u128 && (b.0 as u128) < a.0 as u128 + a.1 as u128
}

/// The property for one decoded log: fsck never passes what the module or
/// replay would refuse, and flags every map the module refuses.
fn check_log(
    sb: &Superblock,
    h: &LogHeader,
    r: &Replay,
    raw: &[Vec<u8>],
    flaw: Flaw,
) -> Result<(), TestCaseError> {
    let report = analyze(DEV, sb, h, r);
    for ((e, &slot), bytes) in r.entries.iter().zip(&r.slots).zip(raw) {
        let mine: Vec<_> = report
            .problems
            .iter()
            .filter(|p| p.slot == Some(slot))
            .collect();
        let refused = mine.iter().any(|p| p.refused.is_some());
        if let EntryBody::File { .. } = &e.body {
            let fm = module_map(bytes);
            // The unit the module would be mounted with: the superblock's
            // when it is 4 KiB or 2 MiB (fsck checks against 2 MiB otherwise).
            let unit = if sb.alloc_unit == 4096 { 4096 } else { 2 << 20 };
            let valid = model_valid_in(&fm, DEV, false, unit, flaw) && on_device_0(bytes);
            prop_assert_eq!(
                refused,
                !valid,
                "slot {}: fsck refused {} but the model says valid {}: {:?}",
                slot,
                refused,
                valid,
                fm
            );
            if report.clean() {
                // Clean: the module would take the map next to the
                // superblock (0..2 MiB) and the log.
                for x in famfs_model::model_ranges(&fm) {
                    prop_assert!(!overlaps(x, (0, SUPERBLOCK_REGION)), "{:?}", x);
                    prop_assert!(!overlaps(x, (sb.log_offset, sb.log_len)), "{:?}", x);
                }
            }
        }
        if report.clean() {
            prop_assert!(path_ok(e.body.relpath()), "{:?}", e.body.relpath());
        }
        // What decodes, encodes to what decodes the same.
        let again = LogEntry::decode(&e.encode().expect("a decoded entry encodes")).unwrap();
        prop_assert_eq!(&again, e);
    }
    Ok(())
}

/// A device offset: mostly 2 MiB multiples in the device, sometimes
/// anything.
fn arb_off() -> impl Strategy<Value = u64> {
    prop_oneof![
        8 => (0u64..512).prop_map(|u| u * 2 * MIB),
        1 => (0u64..512).prop_map(|u| u * 2 * MIB + 4096),
        1 => any::<u64>(),
    ]
}

fn arb_len() -> impl Strategy<Value = u64> {
    prop_oneof![
        8 => (0u64..8).prop_map(|u| u * 2 * MIB),
        1 => 0u64..(4 * MIB),
        1 => any::<u64>(),
    ]
}

fn arb_path() -> impl Strategy<Value = String> {
    let comp = prop_oneof![
        Just("a".to_string()),
        Just("bb".to_string()),
        Just(".".to_string()),
        Just("..".to_string()),
        Just(String::new()),
        Just(".meta".to_string()),
        "[a-z0-9._-]{1,12}",
    ];
    prop::collection::vec(comp, 1..5).prop_map(|c| c.join("/"))
}

fn arb_body() -> impl Strategy<Value = EntryBody> {
    let map = prop_oneof![
        prop::collection::vec((arb_off(), arb_len()), 1..=16).prop_map(|x| FileMap::Simple(
            x.into_iter()
                .map(|(offset, len)| Extent::new(offset, len))
                .collect()
        )),
        (
            prop_oneof![Just(2 * MIB), Just(4 * MIB), any::<u64>()],
            prop::collection::vec((arb_off(), arb_len()), 1..=16)
        )
            .prop_map(|(chunk_size, x)| FileMap::Interleaved {
                chunk_size,
                strips: x
                    .into_iter()
                    .map(|(offset, len)| Extent::new(offset, len))
                    .collect()
            }),
    ];
    prop_oneof![
        4 => (prop_oneof![0u64..(16 * MIB), any::<u64>()], any::<u32>(), any::<u32>(), map)
            .prop_map(|(size, mode, uid, map)| EntryBody::File {
                size,
                flags: 2,
                uid,
                gid: 0,
                mode,
                relpath: "f".into(),
                map,
            }),
        1 => (any::<u32>(),).prop_map(|(mode,)| EntryBody::Mkdir {
            uid: 0,
            gid: 0,
            mode,
            relpath: "d".into(),
        }),
    ]
}

/// A 64-bit field value: the edges, small numbers, anything.
fn edge_u64() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(u64::MAX),
        Just(u64::MAX - 1),
        Just(0u64),
        Just(1u64 << 63),
        0u64..20000,
        any::<u64>(),
    ]
}

/// Patches of an entry's bytes: (offset, value) bytes, and fields set to
/// boundary values.
fn arb_patch() -> impl Strategy<Value = (usize, u8)> {
    (0usize..536, any::<u8>())
}

/// An encoded entry with a path (written raw: bad paths too), patched, its
/// CRC recomputed or not.
fn arb_entry_bytes() -> impl Strategy<Value = Vec<u8>> {
    (
        arb_body(),
        arb_path(),
        prop::collection::vec(arb_patch(), 0..6),
        prop::option::of((0usize..4, edge_u64())),
        prop::bool::weighted(0.8),
    )
        .prop_map(|(body, path, patches, field, crc)| {
            let mut b = LogEntry { seqnum: 0, body }.encode().unwrap().to_vec();
            // The path field: body + 24 for files, + 12 for directories.
            let at = if u32_at(&b, 8) == 0 { 40 } else { 28 };
            b[at..at + 80].fill(0);
            let p = path.as_bytes();
            b[at..at + p.len().min(80)].copy_from_slice(&p[..p.len().min(80)]);
            for (off, v) in patches {
                b[off] = v;
            }
            if let Some((which, v)) = field {
                // Map type, count, strip count, chunk size.
                let (off, wide) = [(120, false), (128, false), (136, true), (144, true)][which];
                if wide {
                    b[off..off + 8].copy_from_slice(&v.to_le_bytes());
                } else {
                    b[off..off + 4].copy_from_slice(&((v % 20) as u32).to_le_bytes());
                }
            }
            if crc {
                fix_crc(&mut b, 536);
            }
            b
        })
}

fn sb() -> Superblock {
    common::sb(DEV)
}

fn header(n: u64) -> LogHeader {
    let mut h = LogHeader::new(8 * MIB).unwrap();
    h.next_index = n;
    h.next_seqnum = n;
    h
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10000))]

    /// Arbitrary bytes: every decoder returns, never panics.
    #[test]
    fn arbitrary_bytes_never_panic(b in prop::collection::vec(any::<u8>(), 0..600), fix in any::<bool>()) {
        let mut b = b;
        let _ = Superblock::decode(&b);
        let _ = LogHeader::decode(&b);
        let _ = LogEntry::decode(&b);
        if fix && b.len() >= 544 {
            // With the CRCs right, the fields themselves are tried.
            fix_crc(&mut b, 536);
            let _ = LogEntry::decode(&b);
            fix_crc(&mut b, 24);
            let _ = LogHeader::decode(&b);
            fix_crc(&mut b, 96);
            if let Ok(s) = Superblock::decode(&b) {
                let _ = analyze(DEV, &s, &header(0), &Replay::default());
            }
        }
    }

    /// Mutated entries: what decodes is stable, and fsck refuses exactly
    /// the maps the module refuses and passes no bad path.
    #[test]
    fn mutated_entries_fsck_agrees_with_the_module(b in arb_entry_bytes()) {
        if let Ok(e) = LogEntry::decode(&b) {
            let r = Replay { entries: vec![e], slots: vec![0], bad: vec![] };
            check_log(&sb(), &header(1), &r, &[b], Flaw::None)?;
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// Mutated logs (header and entries, CRCs fixed or not) through the
    /// log reader and fsck: no panic; what is read is what the slots hold.
    #[test]
    fn mutated_logs_read_and_check(
        bodies in prop::collection::vec(arb_entry_bytes(), 0..12),
        header_patch in prop::option::of((prop::sample::select(vec![8usize, 16, 32, 40]), edge_u64(), any::<bool>())),
        sb_patch in prop::option::of((16usize..136, any::<u8>())),
    ) {
        let mut buf = vec![0u8; 8 << 20];
        let _ = Log::format(&mut buf).unwrap();
        for (i, b) in bodies.iter().enumerate() {
            buf[slot_range(i as u64)].copy_from_slice(b);
        }
        let mut h = header(bodies.len() as u64);
        let mut hb = h.encode();
        if let Some((off, v, small)) = header_patch {
            let v = if small { v % 20000 } else { v };
            hb[off..off + 8].copy_from_slice(&v.to_le_bytes());
            fix_crc(&mut hb, 24);
        }
        buf[..LOG_HEADER_SIZE].copy_from_slice(&hb);
        let mut sbb = sb().encode().unwrap();
        if let Some((off, v)) = sb_patch {
            sbb[off] = v;
            fix_crc(&mut sbb, 96);
        }
        let Ok(s) = Superblock::decode(&sbb) else { return Ok(()) };
        match read_log(&buf) {
            Err(_) => {}
            Ok((got_h, r)) => {
                h = got_h;
                prop_assert_eq!(r.entries.len() + r.bad.len(), h.next_index as usize);
                let raw: Vec<Vec<u8>> = r.slots.iter().map(|&i| buf[slot_range(i)].to_vec()).collect();
                for (e, bytes) in r.entries.iter().zip(&raw) {
                    prop_assert_eq!(&LogEntry::decode(bytes).unwrap(), e);
                }
                check_log(&s, &h, &r, &raw, Flaw::None)?;
            }
        }
    }
}

/// The check can fail: against a model that forgets the 2 MiB alignment of
/// offsets, the property must meet a counterexample.
#[test]
fn self_test_a_wrong_model_is_caught() {
    let mut runner = TestRunner::new_with_rng(
        Config {
            cases: 3000,
            failure_persistence: None,
            ..Config::default()
        },
        TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    );
    let r = runner.run(&arb_entry_bytes(), |b| {
        if let Ok(e) = LogEntry::decode(&b) {
            let r = Replay {
                entries: vec![e],
                slots: vec![0],
                bad: vec![],
            };
            check_log(&sb(), &header(1), &r, &[b], Flaw::OffsetAlignment)?;
        }
        Ok(())
    });
    assert!(
        r.is_err(),
        "the property held against a wrong model: it cannot fail"
    );
}
