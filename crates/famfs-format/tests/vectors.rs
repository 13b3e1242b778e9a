//! famfs-format against test vectors computed independently by
//! tests/gen_vectors.py (Python struct + zlib.crc32 from the documented
//! layouts), plus corruption checks.

use famfs_format::*;
use std::collections::HashMap;
use std::process::Command;
use uuid::Uuid;

fn vectors() -> HashMap<String, Vec<u8>> {
    let out = Command::new("python3")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/gen_vectors.py"))
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let (n, h) = l.split_once(' ').unwrap();
            let bytes = (0..h.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
                .collect();
            (n.to_owned(), bytes)
        })
        .collect()
}

fn sb() -> Superblock {
    Superblock {
        version: SUPERBLOCK_VERSION,
        omf: (OMF_VER_MAJOR, OMF_VER_MINOR),
        log_offset: 2 << 20,
        log_len: 8 << 20,
        alloc_unit: 2 << 20,
        fs_uuid: Uuid::parse_str("11111111-2222-3333-4444-555555555555").unwrap(),
        dev_uuid: Uuid::parse_str("66666666-7777-8888-9999-aaaaaaaaaaaa").unwrap(),
        system_uuid: Uuid::parse_str("bbbbbbbb-cccc-dddd-eeee-ffffffffffff").unwrap(),
        flags: 0,
        dev_size: 4 << 30,
        dev_name: "dax0.0".into(),
    }
}

fn entries() -> Vec<(&'static str, LogEntry)> {
    vec![
        (
            "file_simple",
            LogEntry {
                seqnum: 7,
                body: EntryBody::File {
                    size: 3 << 20,
                    flags: 2,
                    uid: 1000,
                    gid: 100,
                    mode: 0o644,
                    relpath: "dir/data.bin".into(),
                    map: FileMap::Simple(vec![
                        Extent::new(4 << 20, 2 << 20),
                        Extent::new(8 << 20, 2 << 20),
                    ]),
                },
            },
        ),
        (
            "file_interleaved",
            LogEntry {
                seqnum: 8,
                body: EntryBody::File {
                    size: 8 << 20,
                    flags: 2,
                    uid: 0,
                    gid: 0,
                    mode: 0o444,
                    relpath: "striped".into(),
                    map: FileMap::Interleaved {
                        chunk_size: 2 << 20,
                        strips: vec![
                            Extent::new(64 << 20, 4 << 20),
                            Extent::new(128 << 20, 4 << 20),
                        ],
                    },
                },
            },
        ),
        (
            "mkdir",
            LogEntry {
                seqnum: 9,
                body: EntryBody::Mkdir {
                    uid: 1000,
                    gid: 100,
                    mode: 0o755,
                    relpath: "a/b/c".into(),
                },
            },
        ),
    ]
}

#[test]
fn superblock_matches_vector() {
    let v = vectors();
    assert_eq!(
        sb().encode().unwrap().as_slice(),
        v["superblock"].as_slice()
    );
    assert_eq!(Superblock::decode(&v["superblock"]).unwrap(), sb());
}

#[test]
fn log_header_matches_vector() {
    let v = vectors();
    let mut h = LogHeader::new(8 << 20).unwrap();
    assert_eq!(h.last_index, 15419);
    h.next_seqnum = 5;
    h.next_index = 5;
    assert_eq!(h.encode().as_slice(), v["log_header"].as_slice());
    assert_eq!(LogHeader::decode(&v["log_header"]).unwrap(), h);
}

#[test]
fn entries_match_vectors() {
    let v = vectors();
    for (name, e) in entries() {
        assert_eq!(e.encode().unwrap().as_slice(), v[name].as_slice(), "{name}");
        assert_eq!(LogEntry::decode(&v[name]).unwrap(), e, "{name}");
    }
}

#[test]
fn every_corrupted_byte_is_detected() {
    let v = vectors();
    for (name, len) in [
        ("superblock", 96),
        ("log_header", 24),
        ("file_simple", 536),
        ("mkdir", 536),
    ] {
        for i in 0..len {
            let mut b = v[name].clone();
            b[i] ^= 0x40;
            let bad = match name {
                "superblock" => Superblock::decode(&b).is_err(),
                "log_header" => LogHeader::decode(&b).is_err(),
                _ => LogEntry::decode(&b).is_err(),
            };
            assert!(bad, "{name}: flipping byte {i} went unnoticed");
        }
    }
}

#[test]
fn bad_input_is_refused() {
    let long = "x".repeat(81);
    for p in ["", "/abs", long.as_str()] {
        let e = LogEntry {
            seqnum: 1,
            body: EntryBody::Mkdir {
                uid: 0,
                gid: 0,
                mode: 0o755,
                relpath: p.into(),
            },
        };
        assert!(e.encode().is_err(), "path {p:?}");
    }
    assert!(LogHeader::new(4 << 20).is_err());
    assert!(LogHeader::new(12 << 20).is_err());
    let mut s = sb();
    s.dev_name = "d".repeat(64);
    assert!(s.encode().is_err());
    assert_eq!(
        Superblock::decode(&[0u8; 200]),
        Err(FormatError::BadMagic(0))
    );
    assert!(Superblock::decode(&[0u8; 10]).is_err());
}
