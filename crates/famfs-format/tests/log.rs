//! The in-memory log (append, replay, torn entries, full log) and the
//! allocator (first fit, full device), against simple models.

use famfs_format::*;

fn mkdir(p: &str) -> EntryBody {
    EntryBody::Mkdir {
        uid: 0,
        gid: 0,
        mode: 0o755,
        relpath: p.into(),
    }
}

fn file(p: &str, off: u64, len: u64) -> EntryBody {
    EntryBody::File {
        size: len,
        flags: 2,
        uid: 0,
        gid: 0,
        mode: 0o644,
        relpath: p.into(),
        map: FileMap::Simple(vec![Extent { offset: off, len }]),
    }
}

#[test]
fn append_then_replay_returns_every_entry_in_order() {
    let mut buf = vec![0u8; 8 << 20];
    {
        let mut log = Log::format(&mut buf).unwrap();
        for i in 0..100u64 {
            assert_eq!(log.append(mkdir(&format!("d{i}"))).unwrap(), i);
        }
    }
    let log = Log::open(&mut buf).unwrap();
    let r = log.replay();
    assert!(r.bad.is_empty());
    assert_eq!(r.entries.len(), 100);
    for (i, e) in r.entries.iter().enumerate() {
        assert_eq!(e.seqnum, i as u64);
        assert_eq!(e.body, mkdir(&format!("d{i}")));
    }
}

#[test]
fn a_full_log_refuses_and_keeps_its_entries() {
    let mut buf = vec![0u8; 8 << 20];
    let mut log = Log::format(&mut buf).unwrap();
    let slots = log.header().last_index + 1;
    assert_eq!(slots, 15420);
    for i in 0..slots {
        log.append(mkdir(&format!("{i}"))).unwrap();
    }
    assert_eq!(
        log.append(mkdir("one-too-many")),
        Err(LogError::Full(slots))
    );
    assert_eq!(log.replay().entries.len() as u64, slots);
}

#[test]
fn a_torn_entry_is_reported_and_skipped() {
    let mut buf = vec![0u8; 8 << 20];
    {
        let mut log = Log::format(&mut buf).unwrap();
        for i in 0..5 {
            log.append(mkdir(&format!("d{i}"))).unwrap();
        }
    }
    // Entry 2 half-written (a crash in the middle of its copy).
    let start = LOG_HEADER_SIZE + 2 * LOG_ENTRY_SIZE;
    buf[start + 100..start + LOG_ENTRY_SIZE].fill(0);
    let log = Log::open(&mut buf).unwrap();
    let r = log.replay();
    assert_eq!(r.bad.len(), 1);
    assert_eq!(r.bad[0].0, 2);
    let names: Vec<_> = r
        .entries
        .iter()
        .map(|e| match &e.body {
            EntryBody::Mkdir { relpath, .. } => relpath.clone(),
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(names, ["d0", "d1", "d3", "d4"]);
}

#[test]
fn an_append_cut_before_the_header_update_is_invisible() {
    let mut buf = vec![0u8; 8 << 20];
    Log::format(&mut buf)
        .unwrap()
        .append(mkdir("kept"))
        .unwrap();
    let header_before: Vec<u8> = buf[..LOG_HEADER_SIZE].to_vec();
    Log::open(&mut buf).unwrap().append(mkdir("lost")).unwrap();
    // Simulate the crash: the entry reached memory, the header did not.
    buf[..LOG_HEADER_SIZE].copy_from_slice(&header_before);
    let log = Log::open(&mut buf).unwrap();
    let r = log.replay();
    assert_eq!(r.entries.len(), 1);
    assert!(r.bad.is_empty());
}

#[test]
fn corrupt_headers_and_wrong_sizes_are_refused() {
    let mut buf = vec![0u8; 8 << 20];
    Log::format(&mut buf).unwrap();
    buf[3] ^= 1;
    assert!(matches!(Log::open(&mut buf), Err(LogError::Header(_))));
    let mut small = vec![0u8; 4 << 20];
    assert!(Log::format(&mut small).is_err());
    let mut buf = vec![0u8; 16 << 20];
    Log::format(&mut buf).unwrap();
    assert!(matches!(
        Log::open(&mut buf[..8 << 20]),
        Err(LogError::Size { .. })
    ));
}

#[test]
fn allocator_first_fit_skips_metadata_and_logged_files() {
    let g = 1u64 << 30;
    let mut a = Allocator::new(g, 2 << 20, 8 << 20);
    // Superblock (2 MiB) and log (8 MiB): the first free unit is at 10 MiB.
    assert_eq!(
        a.alloc(1).unwrap(),
        Extent {
            offset: 10 << 20,
            len: 2 << 20
        }
    );
    a.mark_log(&[LogEntry {
        seqnum: 0,
        body: file("f", 12 << 20, 4 << 20),
    }]);
    assert_eq!(
        a.alloc(3 << 20).unwrap(),
        Extent {
            offset: 16 << 20,
            len: 4 << 20
        }
    );
    assert_eq!(a.free_bytes(), g - (20 << 20));
}

#[test]
fn allocator_fills_the_device_exactly_then_refuses() {
    let dev = 64u64 << 20;
    let mut a = Allocator::new(dev, 2 << 20, 8 << 20);
    let mut got = 0;
    while let Some(x) = a.alloc(2 << 20) {
        assert!(x.offset >= 10 << 20 && x.offset + x.len <= dev);
        got += x.len;
    }
    assert_eq!(got, dev - (10 << 20));
    assert_eq!(a.free_bytes(), 0);
    assert!(a.alloc(1).is_none());
}

#[test]
fn allocations_never_overlap() {
    let mut a = Allocator::new(256 << 20, 2 << 20, 8 << 20);
    let mut taken: Vec<Extent> = Vec::new();
    let sizes = [1u64, 5 << 20, 2 << 20, 7 << 20, 3, 9 << 20, 2 << 20];
    for s in sizes.iter().cycle().take(60) {
        if let Some(x) = a.alloc(*s) {
            assert!(x.len >= *s && x.offset % (2 << 20) == 0 && x.len % (2 << 20) == 0);
            for t in &taken {
                assert!(x.offset + x.len <= t.offset || t.offset + t.len <= x.offset);
            }
            taken.push(x);
        }
    }
}
