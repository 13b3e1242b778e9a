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
        map: FileMap::Simple(vec![Extent::new(off, len)]),
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
    let (_, r) = log.replay().unwrap();
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
    let slots = log.header().unwrap().last_index + 1;
    assert_eq!(slots, 15420);
    for i in 0..slots {
        log.append(mkdir(&format!("{i}"))).unwrap();
    }
    assert_eq!(
        log.append(mkdir("one-too-many")),
        Err(LogError::Full(slots))
    );
    assert_eq!(log.replay().unwrap().1.entries.len() as u64, slots);
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
    let (_, r) = log.replay().unwrap();
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
    let (_, r) = log.replay().unwrap();
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
    assert_eq!(a.alloc(1).unwrap(), Extent::new(10 << 20, 2 << 20));
    a.mark_log(&[LogEntry {
        seqnum: 0,
        body: file("f", 12 << 20, 4 << 20),
    }]);
    assert_eq!(a.alloc(3 << 20).unwrap(), Extent::new(16 << 20, 4 << 20));
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

/// A storage that records every store and flush.
#[derive(Default)]
struct Recorder {
    bytes: Vec<u8>,
    ops: Vec<Op>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Op {
    Write(std::ops::Range<usize>),
    Flush(std::ops::Range<usize>),
}

impl LogRead for Recorder {
    fn size(&self) -> usize {
        self.bytes.len()
    }
    fn read(&self, offset: usize, dst: &mut [u8]) {
        self.bytes.read(offset, dst)
    }
}

impl LogStore for Recorder {
    fn write(&mut self, offset: usize, src: &[u8]) {
        self.ops.push(Op::Write(offset..offset + src.len()));
        self.bytes.write(offset, src);
    }
    fn flush(&mut self, offset: usize, len: usize) {
        self.ops.push(Op::Flush(offset..offset + len));
    }
}

#[test]
fn an_append_stores_and_flushes_the_entry_before_the_header() {
    let mut log = Log::format(Recorder {
        bytes: vec![0u8; 8 << 20],
        ..Default::default()
    })
    .unwrap();
    let first = slot_range(0);
    assert_eq!(
        log.store().ops,
        [
            Op::Write(first.clone()),
            Op::Write(0..LOG_HEADER_SIZE),
            Op::Flush(0..first.end)
        ]
    );
    log.append(mkdir("a")).unwrap();
    log.append(mkdir("b")).unwrap();
    let ops = &log.store().ops[3..];
    let (s0, s1) = (slot_range(0), slot_range(1));
    let h = 0..LOG_HEADER_SIZE;
    assert_eq!(
        ops,
        [
            Op::Write(s0.clone()),
            Op::Flush(s0),
            Op::Write(h.clone()),
            Op::Flush(h.clone()),
            Op::Write(s1.clone()),
            Op::Flush(s1),
            Op::Write(h.clone()),
            Op::Flush(h),
        ]
    );
}

/// A storage that loses power after `budget` operations: the operation at
/// which it dies stores only the first half of its bytes, and nothing
/// after it happens. `medium` is what a flush guaranteed; `cache` also has
/// what was stored but not flushed (which may or may not have reached the
/// medium).
struct PowerCut {
    medium: Vec<u8>,
    cache: Vec<u8>,
    budget: usize,
}

impl LogRead for PowerCut {
    fn size(&self) -> usize {
        self.cache.len()
    }
    fn read(&self, offset: usize, dst: &mut [u8]) {
        self.cache.read(offset, dst)
    }
}

impl LogStore for PowerCut {
    fn write(&mut self, offset: usize, src: &[u8]) {
        match self.budget {
            0 => {}
            1 => {
                self.cache.write(offset, &src[..src.len() / 2]);
                self.budget = 0;
            }
            _ => {
                self.cache.write(offset, src);
                self.budget -= 1;
            }
        }
    }
    fn flush(&mut self, offset: usize, len: usize) {
        if self.budget > 0 {
            self.budget -= 1;
            self.medium[offset..offset + len].copy_from_slice(&self.cache[offset..offset + len]);
        }
    }
}

#[test]
fn an_append_cut_at_any_point_leaves_the_old_log_or_the_new_one() {
    let mut base = vec![0u8; 8 << 20];
    {
        let mut log = Log::format(&mut base).unwrap();
        for i in 0..3 {
            log.append(mkdir(&format!("old{i}"))).unwrap();
        }
    }
    let names = |buf: &[u8]| -> Vec<String> {
        let (_, r) = read_log(buf).expect("the header survives every cut");
        assert!(r.bad.is_empty(), "a published entry is torn: {:?}", r.bad);
        r.entries
            .iter()
            .map(|e| e.body.relpath().to_owned())
            .collect()
    };
    let old = names(&base);
    let mut new = old.clone();
    new.push("new".into());
    // An append is four operations; 5 lets it finish.
    for budget in 0..=5 {
        let mut log = Log::new(PowerCut {
            medium: base.clone(),
            cache: base.clone(),
            budget,
        });
        log.append(mkdir("new")).unwrap();
        let cut = log.into_store();
        for (what, survived) in [("flushed only", &cut.medium), ("all stores", &cut.cache)] {
            let got = names(survived);
            assert!(
                got == old || got == new,
                "cut after {budget} operations, {what}: {got:?}"
            );
        }
        if budget >= 4 {
            assert_eq!(names(&cut.medium), new, "a finished append is durable");
        }
    }
}

#[test]
fn replay_since_reads_only_new_slots_and_the_ones_asked_again() {
    let mut buf = vec![0u8; 8 << 20];
    {
        let mut log = Log::format(&mut buf).unwrap();
        for i in 0..10u64 {
            log.append(mkdir(&format!("d{i}"))).unwrap();
        }
    }
    // Slot 3 is torn.
    let torn = slot_range(3).start + 30;
    buf[torn] ^= 0xff;
    let log = Log::open(&buf[..]).unwrap();
    let (h, r) = log.replay_since(6, &[]).unwrap();
    assert_eq!(h.next_index, 10);
    assert_eq!(r.slots, [6, 7, 8, 9]);
    assert!(r.bad.is_empty());
    assert_eq!(r.entries[0].body, mkdir("d6"));
    // Again-slots come first, in slot order, once each; slots not below
    // `first` are not read twice, slots beyond the log not at all.
    let (_, r) = log.replay_since(8, &[3, 1, 1, 9, 500]).unwrap();
    assert_eq!(r.slots, [1, 8, 9]);
    assert_eq!(r.bad.iter().map(|b| b.0).collect::<Vec<_>>(), [3]);
    // Nothing new: nothing read.
    let (_, r) = log.replay_since(10, &[]).unwrap();
    assert!(r.entries.is_empty() && r.bad.is_empty());
    // A log shorter than what was followed (re-created): nothing read.
    let (h, r) = log.replay_since(50, &[2]).unwrap();
    assert_eq!(h.next_index, 10);
    assert!(r.entries.is_empty() && r.bad.is_empty());
    // Once repaired, the torn slot decodes when asked again.
    let mut fixed = buf.clone();
    fixed[torn] ^= 0xff;
    let (_, r) = Log::open(&fixed[..])
        .unwrap()
        .replay_since(10, &[3])
        .unwrap();
    assert_eq!(r.slots, [3]);
    assert_eq!(r.entries[0].body, mkdir("d3"));
}

#[test]
fn allocator_in_4k_units_packs_small_files_and_aligns_large_ones() {
    let dev = 64u64 << 20;
    let k4 = 4096u64;
    let mut a = Allocator::with_unit(dev, 2 << 20, 8 << 20, k4);
    assert_eq!(a.unit(), k4);
    // Small files one after another, each rounded up to 4 KiB.
    let x = a.alloc(1).unwrap();
    assert_eq!(x, Extent::new(10 << 20, k4));
    let y = a.alloc(5000).unwrap();
    assert_eq!(y, Extent::new((10 << 20) + k4, 2 * k4));
    // A file of 2 MiB or more starts on the next 2 MiB boundary (its
    // length stays a multiple of 4 KiB).
    let big = a.alloc((2 << 20) + 1).unwrap();
    assert_eq!(big, Extent::new(12 << 20, (2 << 20) + k4));
    // The space left below it is still used by small files.
    let z = a.alloc(k4).unwrap();
    assert_eq!(z.offset, (10 << 20) + 3 * k4);
    assert_eq!(a.free_bytes(), dev - (10 << 20) - 4 * k4 - big.len);
}

#[test]
fn allocator_in_4k_units_fills_the_device_exactly() {
    let dev = 16u64 << 20;
    let mut a = Allocator::with_unit(dev, 2 << 20, 8 << 20, 4096);
    let mut n = 0u64;
    let mut last_end = 0;
    while let Some(x) = a.alloc(4096) {
        // First fit fills in order.
        assert!(x.offset >= last_end);
        last_end = x.offset + x.len;
        n += 1;
    }
    assert_eq!(n, (dev - (10 << 20)) / 4096);
    assert_eq!(a.free_bytes(), 0);
    // A 2 MiB-aligned run is refused when the device is full, and on a
    // fresh device found after small files.
    assert!(a.alloc(2 << 20).is_none());
    let mut b = Allocator::with_unit(dev, 2 << 20, 8 << 20, 4096);
    b.alloc(4096).unwrap();
    assert_eq!(b.alloc(2 << 20).unwrap().offset, 12 << 20);
}
