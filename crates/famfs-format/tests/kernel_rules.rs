//! fsck refuses what the module refuses: for every rule of the module's
//! validation (the table "Validation rules" in Documentation/famfs.rst), a
//! log entry that breaks it is reported by fsck; and, over random maps,
//! fsck reports an entry's map if and only if the module's own `validate`
//! (famfs-fmap, the kernel's fmap.rs) refuses the same map, built here
//! independently of famfs-format's conversion.

use famfs_format::fmap::{
    self, FileType, Fmap, FmapError, Interleave, Layout, Limits, MAX_INTERLEAVED_EXTENTS,
    MAX_SIMPLE_EXTENTS, MAX_STRIPS,
};
use famfs_format::fsck::{analyze, Report};
use famfs_format::*;
use proptest::prelude::*;

mod common;
use common::{GIB, MIB};

const DEV: u64 = GIB;

fn sb() -> Superblock {
    common::sb(DEV)
}

fn x(offset: u64, len: u64) -> Extent {
    Extent::new(offset, len)
}

fn simple(p: &str, size: u64, exts: &[(u64, u64)]) -> EntryBody {
    common::file(p, exts, size)
}

fn interleaved(p: &str, size: u64, chunk: u64, strips: &[(u64, u64)]) -> EntryBody {
    common::entry(
        p,
        size,
        FileMap::Interleaved {
            chunk_size: chunk,
            strips: strips.iter().map(|&(o, l)| x(o, l)).collect(),
        },
    )
}

/// Where a file entry's map starts, and its fields (the documented layout:
/// extent type, count, then simple extents of devindex, offset, length, or
/// an interleaved extent's strip count, chunk size and strips).
const FM: usize = 120;
const FM_TYPE: usize = FM;
const FM_COUNT: usize = FM + 8;
const FM_NSTRIPS: usize = FM + 16;

/// The bytes of `body`'s entry with `patch` applied, CRC recomputed: an
/// entry no writer of ours can produce, as another tool (or a bit flip
/// with a matching CRC) might.
fn raw(body: EntryBody, patch: impl FnOnce(&mut [u8])) -> Box<[u8; LOG_ENTRY_SIZE]> {
    let mut b = LogEntry { seqnum: 0, body }.encode().unwrap();
    patch(&mut b);
    let crc = crc32(&b[..536]);
    b[536..].copy_from_slice(&crc.to_le_bytes());
    Box::new(b)
}

fn put_u32(b: &mut [u8], off: usize, v: u32) {
    b[off..off + 4].copy_from_slice(&v.to_le_bytes());
}

fn put_u64(b: &mut [u8], off: usize, v: u64) {
    b[off..off + 8].copy_from_slice(&v.to_le_bytes());
}

/// What a case's log holds.
enum Entries {
    Bodies(Vec<EntryBody>),
    Raw(Box<[u8; LOG_ENTRY_SIZE]>),
}

/// What fsck must say.
#[derive(Debug)]
enum Verdict {
    /// The entry in slot 0 breaks this rule of the module.
    Refused(FmapError),
    /// The entry in slot 0 does not even decode (so it is never replayed).
    Unreadable,
    /// The two owners share memory.
    CrossLinked(&'static str, &'static str),
    /// Nothing wrong (the rule allows this).
    Clean,
}

fn fsck(entries: &Entries) -> Report {
    let mut buf = vec![0u8; 8 << 20];
    let mut log = Log::format(&mut buf).unwrap();
    match entries {
        Entries::Bodies(bodies) => {
            for b in bodies {
                log.append(b.clone()).unwrap();
            }
        }
        Entries::Raw(bytes) => {
            let mut h = log.header().unwrap();
            buf[slot_range(0)].copy_from_slice(&bytes[..]);
            h.next_index = 1;
            h.next_seqnum = 1;
            buf[..LOG_HEADER_SIZE].copy_from_slice(&h.encode());
        }
    }
    let (h, r) = read_log(&buf).unwrap();
    analyze(DEV, &sb(), &h, &r)
}

fn holds(r: &Report, v: &Verdict) -> bool {
    match v {
        Verdict::Refused(e) => r
            .problems
            .iter()
            .any(|p| p.slot == Some(0) && p.refused == Some(*e) && p.what.contains(e.describe())),
        Verdict::Unreadable => r
            .problems
            .iter()
            .any(|p| p.slot == Some(0) && p.what.starts_with("unreadable entry")),
        Verdict::CrossLinked(a, b) => r
            .problems
            .iter()
            .any(|p| p.what == format!("cross-linked: '{a}' and '{b}' share memory")),
        Verdict::Clean => r.clean(),
    }
}

/// A rule of the table, and either the entries that break it (or that it
/// lets through) with fsck's verdict, or why no log entry can break it.
struct Case {
    rule: &'static str,
    test: Result<(Entries, Verdict), &'static str>,
}

fn cases() -> Vec<Case> {
    use Entries::{Bodies, Raw};
    use FmapError::*;
    use Verdict::*;
    let one = |b: EntryBody| Bodies(vec![b]);
    let mut v = Vec::new();
    let mut case = |rule: &'static str, e: Entries, verdict: Verdict| {
        v.push(Case {
            rule,
            test: Ok((e, verdict)),
        })
    };

    let r = "1 or 2 simple extents; 1 to 4 interleaved extents";
    let three = [
        (20 * MIB, 2 * MIB),
        (24 * MIB, 2 * MIB),
        (28 * MIB, 2 * MIB),
    ];
    case(r, one(simple("f", MIB, &three)), Refused(TooManyExtents));
    case(r, one(simple("f", MIB, &three[..2])), Clean);
    let no_extents = raw(simple("f", MIB, &three[..1]), |b| put_u32(b, FM_COUNT, 0));
    case(r, Raw(no_extents), Unreadable);
    let il = interleaved(
        "f",
        8 * MIB,
        2 * MIB,
        &[(20 * MIB, 4 * MIB), (40 * MIB, 4 * MIB)],
    );
    case(
        r,
        Raw(raw(il.clone(), |b| put_u32(b, FM_COUNT, 0))),
        Unreadable,
    );
    case(
        r,
        Raw(raw(il.clone(), |b| put_u32(b, FM_COUNT, 2))),
        Unreadable,
    );

    let r = "1 to 16 strips per interleaved extent";
    case(
        r,
        Raw(raw(il.clone(), |b| put_u64(b, FM_NSTRIPS, 0))),
        Unreadable,
    );
    case(
        r,
        Raw(raw(il.clone(), |b| put_u64(b, FM_NSTRIPS, 17))),
        Unreadable,
    );
    let sixteen: Vec<(u64, u64)> = (0..16).map(|i| (20 * MIB + i * 2 * MIB, 2 * MIB)).collect();
    case(r, one(interleaved("f", 32 * MIB, 2 * MIB, &sixteen)), Clean);

    let r = "no zero-length extent, strip or interleaved extent";
    case(
        r,
        one(simple("f", MIB, &[(20 * MIB, 0)])),
        Refused(ZeroLength),
    );
    case(
        r,
        one(interleaved(
            "f",
            2 * MIB,
            2 * MIB,
            &[(20 * MIB, 2 * MIB), (30 * MIB, 0)],
        )),
        Refused(ZeroLength),
    );
    case(
        r,
        one(interleaved("f", 0, 2 * MIB, &[(20 * MIB, 2 * MIB)])),
        Refused(ZeroLength),
    );

    let r = "every offset and length a multiple of the allocation unit (2 MiB, or 4 KiB on a \
             mount with ``alloc_unit=4k``; the v1 map's last length, and the last interleaved \
             extent's byte count, may be unaligned)";
    case(
        r,
        one(simple("f", MIB, &[(20 * MIB + 4096, 2 * MIB)])),
        Refused(Misaligned),
    );
    // The tool maps files with the v2 call: even the last length must be
    // aligned (the check fsck lacked).
    case(
        r,
        one(simple("f", 4096, &[(20 * MIB, 4096)])),
        Refused(Misaligned),
    );
    case(
        r,
        one(interleaved(
            "f",
            4 * MIB,
            2 * MIB,
            &[(20 * MIB, 2 * MIB), (30 * MIB, 3 * MIB)],
        )),
        Refused(Misaligned),
    );
    case(
        r,
        one(interleaved(
            "f",
            4 * MIB,
            2 * MIB,
            &[(20 * MIB, 2 * MIB), (30 * MIB + 4096, 2 * MIB)],
        )),
        Refused(Misaligned),
    );
    case(
        r,
        one(interleaved(
            "f",
            3 * MIB + 5,
            2 * MIB,
            &[(20 * MIB, 2 * MIB), (30 * MIB, 2 * MIB)],
        )),
        Clean,
    );

    let r = "offset 0 of device 0 only in the superblock file";
    case(
        r,
        one(simple("f", MIB, &[(0, 2 * MIB)])),
        Refused(OffsetZero),
    );

    let r = "every extent and strip on an open device (``ENODEV`` if no device is open at its index) and inside that device";
    case(
        r,
        one(simple("f", MIB, &[(DEV - 2 * MIB, 4 * MIB)])),
        Refused(BeyondDevice),
    );
    case(
        r,
        one(interleaved(
            "f",
            4 * MIB,
            2 * MIB,
            &[(20 * MIB, 2 * MIB), (DEV, 2 * MIB)],
        )),
        Refused(BeyondDevice),
    );
    case(r, one(simple("f", MIB, &[(DEV - 2 * MIB, 2 * MIB)])), Clean);

    let r = "no arithmetic overflow";
    case(
        r,
        one(simple("f", MIB, &[(u64::MAX - 2 * MIB + 1, 4 * MIB)])),
        Refused(Overflow),
    );

    let r = "chunk size a non-zero multiple of the allocation unit";
    let two = [(20 * MIB, 4 * MIB), (40 * MIB, 4 * MIB)];
    case(
        r,
        one(interleaved("f", 8 * MIB, 0, &two)),
        Refused(BadChunkSize),
    );
    case(
        r,
        one(interleaved("f", 8 * MIB, MIB, &two)),
        Refused(BadChunkSize),
    );
    case(
        r,
        one(interleaved("f", 8 * MIB, 3 * MIB, &two)),
        Refused(BadChunkSize),
    );
    // Not a power of two, but a multiple of 2 MiB: the module takes it.
    let six = [(20 * MIB, 6 * MIB), (40 * MIB, 6 * MIB)];
    case(r, one(interleaved("f", 12 * MIB, 6 * MIB, &six)), Clean);

    let r = "every strip long enough for the chunks dealt to it";
    case(
        r,
        one(interleaved("f", 10 * MIB, 2 * MIB, &two)),
        Refused(StripTooShort),
    );

    let r = "no two ranges of the map overlap";
    case(
        r,
        one(simple(
            "f",
            4 * MIB,
            &[(20 * MIB, 4 * MIB), (22 * MIB, 2 * MIB)],
        )),
        Refused(Overlap),
    );
    case(
        r,
        one(interleaved(
            "f",
            8 * MIB,
            2 * MIB,
            &[(20 * MIB, 4 * MIB), (22 * MIB, 4 * MIB)],
        )),
        Refused(Overlap),
    );

    let r = "no range overlaps another file's map in the mount";
    case(
        r,
        Bodies(vec![
            simple("a", 4 * MIB, &[(20 * MIB, 4 * MIB)]),
            simple("b", 2 * MIB, &[(22 * MIB, 2 * MIB)]),
        ]),
        CrossLinked("a", "b"),
    );
    // The metadata files are files of the mount too.
    case(
        r,
        one(simple("f", 2 * MIB, &[(4 * MIB, 2 * MIB)])),
        CrossLinked("log", "f"),
    );

    let r = "the extents cover the file size";
    case(
        r,
        one(simple(
            "f",
            4 * MIB + 1,
            &[(20 * MIB, 2 * MIB), (30 * MIB, 2 * MIB)],
        )),
        Refused(TooSmall),
    );
    case(
        r,
        one(simple(
            "f",
            4 * MIB,
            &[(20 * MIB, 2 * MIB), (30 * MIB, 2 * MIB)],
        )),
        Clean,
    );

    let r = "known file type (regular, superblock, log) and extent type";
    // Every logged file is a regular file; an unknown extent type does not
    // decode.
    let bad_type = raw(simple("f", MIB, &three[..1]), |b| put_u32(b, FM_TYPE, 2));
    case(r, Raw(bad_type), Unreadable);

    v.push(Case {
        rule: "device index 0 (KABI 43) or below 64 (KABI 44)",
        test: Err("the tool passes device index 0 for every logged extent"),
    });
    v.push(Case {
        rule: "the file already has a map",
        test: Err("a state of the file on one host, not a property of its entry"),
    });
    v.push(Case {
        rule: "the file is not empty",
        test: Err("a state of the file on one host, not a property of its entry"),
    });
    v
}

/// The rules of the "Validation rules" table of Documentation/famfs.rst
/// (a row's text may span lines; its errno column ends it).
fn documented_rules() -> Vec<String> {
    let doc = include_str!("../../../Documentation/famfs.rst");
    let at = doc
        .find("\nValidation rules\n")
        .expect("a Validation rules section");
    let mut borders = 0;
    let mut col = 0;
    let mut rules = Vec::new();
    let mut text = String::new();
    for line in doc[at..].lines() {
        if line.starts_with("====") {
            borders += 1;
            col = line.find(" =").expect("two columns") + 1;
            if borders == 3 {
                break;
            }
            continue;
        }
        if borders != 2 || line.trim().is_empty() {
            continue;
        }
        let (rule, errno) = line.split_at(col.min(line.len()));
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(rule.trim());
        if !errno.trim().is_empty() {
            rules.push(std::mem::take(&mut text));
        }
    }
    assert_eq!(borders, 3, "the table was not found whole");
    rules
}

#[test]
fn every_documented_rule_has_a_case() {
    let doc = documented_rules();
    assert!(doc.len() >= 16, "{doc:#?}");
    let cases = cases();
    for rule in &doc {
        assert!(
            cases.iter().any(|c| c.rule == rule),
            "no fsck case for the module's rule '{rule}'"
        );
    }
    for c in &cases {
        assert!(
            doc.iter().any(|r| r == c.rule),
            "case for '{}', which the documentation does not list",
            c.rule
        );
    }
}

#[test]
fn fsck_reports_every_entry_that_breaks_a_rule() {
    let mut tested = 0;
    for c in cases() {
        let Ok((entries, verdict)) = &c.test else {
            continue;
        };
        let r = fsck(entries);
        assert!(
            holds(&r, verdict),
            "rule '{}': want {verdict:?}, fsck says {:#?}",
            c.rule,
            r.problems
        );
        // A refused map is one the module's validate refuses.
        if let (Entries::Bodies(b), Verdict::Refused(e)) = (entries, verdict) {
            let EntryBody::File { size, map, .. } = &b[0] else {
                unreachable!()
            };
            assert_eq!(
                check_map(map, *size, DEV, ALLOC_UNIT),
                Err(*e),
                "rule '{}'",
                c.rule
            );
        }
        tested += 1;
    }
    assert!(tested >= 30, "{tested} cases");
}

// ---- fsck and the module agree on random maps ----------------------------

/// An offset: mostly 2 MiB aligned inside (or just past) the device, some
/// unaligned, zero, or near the end of the address space.
fn offset() -> impl Strategy<Value = u64> {
    prop_oneof![
        6 => (5u64..520).prop_map(|u| u * 2 * MIB),
        1 => (5u64..520, 1u64..512).prop_map(|(u, p)| u * 2 * MIB + p * 4096),
        1 => Just(0u64),
        1 => (1u64..4).prop_map(|u| u64::MAX - u * 2 * MIB + 1),
    ]
}

/// A length: mostly whole 2 MiB units, some zero or unaligned.
fn length() -> impl Strategy<Value = u64> {
    prop_oneof![
        6 => (1u64..8).prop_map(|u| u * 2 * MIB),
        1 => Just(0u64),
        1 => (1u64..4096).prop_map(|p| p * 4096),
    ]
}

fn ranges(max: usize) -> impl Strategy<Value = Vec<(u64, u64)>> {
    proptest::collection::vec((offset(), length()), 1..=max)
}

/// The module's verdict on a map built directly from its parts (not with
/// famfs-format's conversion): what `FAMFSIOC_MAP_CREATE_V2` would say.
fn module_verdict(size: u64, chunk: Option<u64>, parts: &[(u64, u64)]) -> Result<(), FmapError> {
    let ext = |&(offset, len): &(u64, u64)| fmap::Extent::new(offset, len);
    let layout = match chunk {
        None => {
            // The ioctl refuses more extents than it has room for before
            // anything else.
            if parts.len() > MAX_SIMPLE_EXTENTS {
                return Err(FmapError::TooManyExtents);
            }
            let mut extents = [fmap::Extent::default(); MAX_SIMPLE_EXTENTS];
            for (d, p) in extents.iter_mut().zip(parts) {
                *d = ext(p);
            }
            Layout::Simple {
                count: parts.len(),
                extents,
            }
        }
        Some(chunk_size) => {
            assert!(parts.len() <= MAX_STRIPS);
            let mut ie = Interleave {
                chunk_size,
                nbytes: size,
                nstrips: parts.len(),
                ..Default::default()
            };
            for (d, p) in ie.strips.iter_mut().zip(parts) {
                *d = ext(p);
            }
            let mut extents = [Interleave::default(); MAX_INTERLEAVED_EXTENTS];
            extents[0] = ie;
            Layout::Interleaved { count: 1, extents }
        }
    };
    Fmap {
        file_type: FileType::Regular,
        file_size: size,
        layout,
    }
    .validate(&Limits::new(DEV))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// fsck reports a file entry's map exactly when the module refuses it,
    /// and for the same reason.
    #[test]
    fn fsck_accepts_a_map_iff_the_module_does(
        interleave in proptest::option::of(prop_oneof![
            4 => (1u64..4).prop_map(|c| c * 2 * MIB),
            1 => Just(0u64),
            1 => Just(MIB),
        ]),
        parts in ranges(4),
        size in prop_oneof![
            3 => (1u64..16).prop_map(|u| u * MIB),
            1 => 0u64..20 * MIB,
        ],
    ) {
        let body = match interleave {
            None => simple("f", size, &parts),
            Some(chunk) => interleaved("f", size, chunk, &parts),
        };
        let want = module_verdict(size, interleave, &parts);
        let r = fsck(&Entries::Bodies(vec![body]));
        let got: Vec<Option<FmapError>> = r
            .problems
            .iter()
            .filter(|p| p.slot == Some(0))
            .map(|p| p.refused)
            .collect();
        match want {
            Ok(()) => prop_assert!(got.is_empty(), "the module takes it, fsck says {:?}", r.problems),
            Err(e) => prop_assert_eq!(got, vec![Some(e)]),
        }
    }
}
