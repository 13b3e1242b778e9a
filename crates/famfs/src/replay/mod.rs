//! Log replay: which logged entries are instantiated, in which order, and
//! what came of each. The engine decides and counts; a [`Target`] does the
//! work (the real one, [`host::HostTarget`], creates inodes and maps on this
//! host; tests use a recording one). Nothing here prints: the caller gets
//! [`Stats`] and the [`Event`] of every slot, and reports them as it likes.
//!
//! The rules:
//! - a slot that does not decode (torn or corrupt) is skipped; nothing
//!   before or after it is lost;
//! - an entry whose path breaks the log's path rules is refused;
//! - a device entry is not a path: it is counted and left to the caller,
//!   which opens the devices before replaying the files;
//! - the first entry of a path wins: later entries of the same path count as
//!   already present and are not given to the target;
//! - entries are instantiated by depth, shallowest first, so that every
//!   parent exists before its children; within a depth, in log order (when
//!   a depth is spread over several threads, its events still come back in
//!   log order).

pub mod host;

use std::collections::HashMap;

use famfs_format::{check_relpath, EntryBody, FormatError, Replay};

/// What instantiating one entry did (or, in a dry run, would do).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A directory was created.
    DirCreated,
    /// A file was created and given its map.
    FileCreated,
    /// A file that was present without a map (an interrupted creation) was
    /// given its map.
    FileMapped,
    /// Already present.
    Existing,
    /// Could not be instantiated, and why.
    Failed(String),
}

/// Where entries are instantiated. Called from several threads at once
/// for the entries of one depth.
pub trait Target: Sync {
    /// Instantiates one entry at `rel` (a valid relative path whose parent
    /// was handled before).
    fn instantiate(&self, rel: &str, entry: &EntryBody) -> Outcome;
}

/// What happened to one log slot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// The slot does not decode: skipped.
    Unreadable {
        /// The slot.
        slot: u64,
        /// Why it does not decode.
        error: &'a FormatError,
    },
    /// The entry's path breaks the path rules: refused.
    BadPath {
        /// The slot.
        slot: u64,
        /// The entry.
        entry: &'a EntryBody,
        /// Which rule.
        reason: String,
    },
    /// An earlier slot already recorded this path: ignored.
    Duplicate {
        /// The slot.
        slot: u64,
        /// The entry.
        entry: &'a EntryBody,
        /// The slot that won.
        first: u64,
    },
    /// The entry was given to the target.
    Replayed {
        /// The slot.
        slot: u64,
        /// The entry.
        entry: &'a EntryBody,
        /// What the target did.
        outcome: Outcome,
    },
}

/// What a replay did, in numbers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Entries that decoded.
    pub entries: u64,
    /// Directories created.
    pub dirs_created: u64,
    /// Files created (or given their missing map).
    pub files_created: u64,
    /// Entries already present, and later entries of a path replayed from
    /// an earlier one.
    pub existing: u64,
    /// Unreadable slots skipped.
    pub bad_entries: u64,
    /// Entries that could not be instantiated (bad paths included).
    pub errors: u64,
    /// Device entries (not instantiated here; see `crate::devices`).
    pub devices: u64,
}

/// The result of [`replay`].
#[derive(Debug, Default)]
pub struct Report<'a> {
    /// The counts.
    pub stats: Stats,
    /// Every slot's event: unreadable slots first, then refused paths and
    /// duplicates in log order, then the replayed entries in the order they
    /// were instantiated.
    pub events: Vec<Event<'a>>,
}

/// Spreads the entries of one depth over `threads` threads when there are
/// at least this many.
const PARALLEL_MIN: usize = 64;

/// The paths a follower has met so far, and the slot of the entry that
/// won each: what makes replaying a log in pieces ([`replay_more`]) decide
/// exactly as replaying it whole.
#[derive(Clone, Debug, Default)]
pub struct Seen {
    first: HashMap<String, u64>,
}

impl Seen {
    /// The slot whose entry won `rel`, if any did yet.
    pub fn winner(&self, rel: &str) -> Option<u64> {
        self.first.get(rel).copied()
    }

    /// How many paths are known.
    pub fn len(&self) -> usize {
        self.first.len()
    }

    /// True before anything was replayed.
    pub fn is_empty(&self) -> bool {
        self.first.is_empty()
    }
}

/// Replays a decoded log into `target`, on up to `threads` threads.
pub fn replay<'a, T: Target>(log: &'a Replay, target: &T, threads: usize) -> Report<'a> {
    replay_more(log, target, threads, &mut Seen::default())
}

/// Replays a piece of a log (new slots, and earlier slots given again to
/// retry them) into `target`, with the rules of [`replay`] applied across
/// pieces: a path won by an entry of an earlier piece is a duplicate here,
/// unless the entry given is that winner itself (a retry). `seen` learns
/// the paths of this piece.
pub fn replay_more<'a, T: Target>(
    log: &'a Replay,
    target: &T,
    threads: usize,
    seen: &mut Seen,
) -> Report<'a> {
    let mut st = Stats {
        entries: log.entries.len() as u64,
        bad_entries: log.bad.len() as u64,
        ..Default::default()
    };
    let mut events = Vec::with_capacity(log.entries.len() + log.bad.len());
    for (slot, error) in &log.bad {
        events.push(Event::Unreadable { slot: *slot, error });
    }
    // Check paths, keep the first entry of each path, group by depth.
    let first = &mut seen.first;
    let mut levels: Vec<Vec<(u64, &EntryBody)>> = Vec::new();
    for (e, &slot) in log.entries.iter().zip(&log.slots) {
        let entry = &e.body;
        // A device entry has no path and nothing to instantiate: the
        // devices are opened before the files (see `crate::devices`).
        if entry.is_device() {
            st.devices += 1;
            continue;
        }
        let rel = entry.relpath();
        if let Err(reason) = check_relpath(rel) {
            st.errors += 1;
            events.push(Event::BadPath {
                slot,
                entry,
                reason,
            });
            continue;
        }
        if let Some(&won) = first.get(rel).filter(|&&won| won != slot) {
            st.existing += 1;
            events.push(Event::Duplicate {
                slot,
                entry,
                first: won,
            });
            continue;
        }
        first.insert(rel.to_owned(), slot);
        let depth = rel.matches('/').count();
        if levels.len() <= depth {
            levels.resize_with(depth + 1, Vec::new);
        }
        levels[depth].push((slot, entry));
    }
    for level in &levels {
        for ((slot, entry), outcome) in level.iter().zip(run_level(level, target, threads)) {
            match &outcome {
                Outcome::DirCreated => st.dirs_created += 1,
                Outcome::FileCreated | Outcome::FileMapped => st.files_created += 1,
                Outcome::Existing => st.existing += 1,
                Outcome::Failed(_) => st.errors += 1,
            }
            events.push(Event::Replayed {
                slot: *slot,
                entry,
                outcome,
            });
        }
    }
    Report { stats: st, events }
}

/// The outcomes of one depth's entries, in their order.
fn run_level<T: Target>(level: &[(u64, &EntryBody)], target: &T, threads: usize) -> Vec<Outcome> {
    let one = |e: &EntryBody| target.instantiate(e.relpath(), e);
    if threads <= 1 || level.len() < PARALLEL_MIN {
        return level.iter().map(|(_, e)| one(e)).collect();
    }
    let mut out: Vec<Option<Outcome>> = vec![None; level.len()];
    std::thread::scope(|sc| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let one = &one;
                sc.spawn(move || {
                    level
                        .iter()
                        .enumerate()
                        .skip(t)
                        .step_by(threads)
                        .map(|(i, (_, e))| (i, one(e)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for w in workers {
            for (i, o) in w.join().expect("replay worker panicked") {
                out[i] = Some(o);
            }
        }
    });
    out.into_iter()
        .map(|o| o.expect("every entry of the level was replayed"))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::sync::Mutex;

    use famfs_format::{Extent, FileMap, LogEntry};

    use super::*;

    /// A target that records what it was asked, and (like a real tree)
    /// fails an entry whose parent it has not created.
    #[derive(Default)]
    struct Recorder {
        calls: Mutex<Vec<String>>,
        made: Mutex<BTreeSet<String>>,
        present: BTreeSet<String>,
        refuse: BTreeSet<String>,
    }

    impl Target for Recorder {
        fn instantiate(&self, rel: &str, entry: &EntryBody) -> Outcome {
            self.calls.lock().unwrap().push(rel.to_owned());
            let mut made = self.made.lock().unwrap();
            if let Some((parent, _)) = rel.rsplit_once('/') {
                if !made.contains(parent) && !self.present.contains(parent) {
                    return Outcome::Failed(format!("no parent for {rel}"));
                }
            }
            if self.present.contains(rel) {
                return Outcome::Existing;
            }
            if self.refuse.contains(rel) {
                return Outcome::Failed(format!("refused {rel}"));
            }
            made.insert(rel.to_owned());
            match entry {
                EntryBody::Mkdir { .. } => Outcome::DirCreated,
                EntryBody::File { .. } => Outcome::FileCreated,
                EntryBody::AddDevice { .. } => panic!("a device entry reached the target"),
            }
        }
    }

    fn dir(p: &str) -> EntryBody {
        EntryBody::Mkdir {
            uid: 0,
            gid: 0,
            mode: 0o755,
            relpath: p.into(),
        }
    }

    fn file(p: &str, size: u64) -> EntryBody {
        EntryBody::File {
            size,
            flags: 2,
            uid: 0,
            gid: 0,
            mode: 0o644,
            relpath: p.into(),
            map: FileMap::Simple(vec![Extent::new(10 << 20, 2 << 20)]),
        }
    }

    /// A decoded log: `slots` holds the entries, `bad` the slots that did
    /// not decode.
    fn log(bodies: Vec<EntryBody>, bad: &[u64]) -> Replay {
        let mut r = Replay::default();
        let mut slot = 0;
        for body in bodies {
            while bad.contains(&slot) {
                r.bad.push((slot, FormatError::Truncated("test")));
                slot += 1;
            }
            r.entries.push(LogEntry { seqnum: slot, body });
            r.slots.push(slot);
            slot += 1;
        }
        r
    }

    fn replayed<'a>(rep: &'a Report) -> Vec<(u64, &'a str)> {
        rep.events
            .iter()
            .filter_map(|e| match e {
                Event::Replayed { slot, entry, .. } => Some((*slot, entry.relpath())),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn parents_come_before_children_whatever_the_log_order() {
        // Children logged before their parents (as a client may meet a log
        // written by another tool): replay still creates parents first.
        let l = log(
            vec![
                file("a/b/f", 1),
                dir("a/b"),
                dir("a"),
                file("top", 1),
                dir("a/b/c"),
            ],
            &[],
        );
        for threads in [1, 4] {
            let t = Recorder::default();
            let rep = replay(&l, &t, threads);
            assert_eq!(
                *t.calls.lock().unwrap(),
                ["a", "top", "a/b", "a/b/f", "a/b/c"],
                "{threads} threads"
            );
            assert_eq!(
                rep.stats,
                Stats {
                    entries: 5,
                    dirs_created: 3,
                    files_created: 2,
                    ..Default::default()
                }
            );
        }
    }

    #[test]
    fn device_entries_are_counted_and_never_given_to_the_target() {
        let l = log(
            vec![
                EntryBody::AddDevice {
                    size: 1 << 30,
                    uuid: uuid::Uuid::from_u128(5),
                    index: 1,
                },
                file("f", 1),
                EntryBody::AddDevice {
                    size: 1 << 30,
                    uuid: uuid::Uuid::from_u128(6),
                    index: 2,
                },
            ],
            &[],
        );
        let t = Recorder::default();
        let rep = replay(&l, &t, 1);
        assert_eq!(*t.calls.lock().unwrap(), ["f"]);
        assert_eq!(
            rep.stats,
            Stats {
                entries: 3,
                files_created: 1,
                devices: 2,
                ..Default::default()
            }
        );
        assert_eq!(rep.events.len(), 1);
    }

    #[test]
    fn within_a_depth_the_log_order_is_kept_even_on_threads() {
        let n = 3 * PARALLEL_MIN;
        let bodies = (0..n).map(|i| dir(&format!("d{i}"))).collect();
        let l = log(bodies, &[]);
        let t = Recorder {
            refuse: (0..n).step_by(3).map(|i| format!("d{i}")).collect(),
            ..Default::default()
        };
        let rep = replay(&l, &t, 4);
        let want: Vec<(u64, String)> = (0..n as u64).map(|i| (i, format!("d{i}"))).collect();
        let got: Vec<(u64, String)> = replayed(&rep)
            .into_iter()
            .map(|(s, p)| (s, p.to_owned()))
            .collect();
        assert_eq!(got, want);
        // Each outcome is reported with its own entry.
        for e in &rep.events {
            let Event::Replayed { entry, outcome, .. } = e else {
                panic!("{e:?}")
            };
            let rel = entry.relpath();
            if t.refuse.contains(rel) {
                assert_eq!(*outcome, Outcome::Failed(format!("refused {rel}")));
            } else {
                assert_eq!(*outcome, Outcome::DirCreated, "{rel}");
            }
        }
        // Every entry was asked once.
        assert_eq!(t.calls.lock().unwrap().len(), n);
        assert_eq!(rep.stats.errors, n as u64 / 3);
        assert_eq!(rep.stats.dirs_created, n as u64 - n as u64 / 3);
    }

    #[test]
    fn the_first_entry_of_a_path_wins() {
        let l = log(
            vec![file("x", 1), dir("d"), file("x", 2), file("d", 3), dir("x")],
            &[],
        );
        let t = Recorder::default();
        let rep = replay(&l, &t, 1);
        // Only slots 0 and 1 reach the target.
        assert_eq!(replayed(&rep), [(0, "x"), (1, "d")]);
        match &rep.events[..] {
            [Event::Duplicate {
                slot: 2,
                first: 0,
                entry: EntryBody::File { size: 2, .. },
            }, Event::Duplicate {
                slot: 3, first: 1, ..
            }, Event::Duplicate {
                slot: 4, first: 0, ..
            }, ..] => {}
            e => panic!("{e:?}"),
        }
        // What the target got for "x" is the first entry (size 1).
        let x = rep.events.iter().find_map(|e| match e {
            Event::Replayed { entry, .. } if entry.relpath() == "x" => Some(*entry),
            _ => None,
        });
        assert!(matches!(x, Some(EntryBody::File { size: 1, .. })));
        assert_eq!(
            rep.stats,
            Stats {
                entries: 5,
                dirs_created: 1,
                files_created: 1,
                existing: 3,
                ..Default::default()
            }
        );
    }

    #[test]
    fn torn_entries_are_skipped_and_nothing_else_is_lost() {
        // Slots 1 and 3 did not decode.
        let l = log(vec![dir("a"), file("a/f", 1), dir("b")], &[1, 3]);
        assert_eq!(l.slots, [0, 2, 4]);
        let t = Recorder::default();
        let rep = replay(&l, &t, 1);
        assert_eq!(replayed(&rep), [(0, "a"), (4, "b"), (2, "a/f")]);
        let unreadable: Vec<u64> = rep
            .events
            .iter()
            .filter_map(|e| match e {
                Event::Unreadable { slot, .. } => Some(*slot),
                _ => None,
            })
            .collect();
        assert_eq!(unreadable, [1, 3]);
        assert_eq!(rep.stats.bad_entries, 2);
        assert_eq!(rep.stats.entries, 3);
        assert_eq!(rep.stats.errors, 0);
    }

    #[test]
    fn bad_paths_are_refused_and_do_not_claim_the_path() {
        let l = log(
            vec![dir(".meta/x"), dir("a//b"), dir("ok"), dir("../up")],
            &[],
        );
        let t = Recorder::default();
        let rep = replay(&l, &t, 1);
        assert_eq!(*t.calls.lock().unwrap(), ["ok"]);
        let refused: Vec<u64> = rep
            .events
            .iter()
            .filter_map(|e| match e {
                Event::BadPath { slot, .. } => Some(*slot),
                _ => None,
            })
            .collect();
        assert_eq!(refused, [0, 1, 3]);
        assert_eq!(rep.stats.errors, 3);
        assert_eq!(rep.stats.dirs_created, 1);
    }

    #[test]
    fn present_entries_and_failures_are_counted() {
        let l = log(vec![dir("have"), dir("new"), file("missing/f", 1)], &[]);
        let t = Recorder {
            present: ["have".to_string()].into(),
            ..Default::default()
        };
        let rep = replay(&l, &t, 1);
        assert_eq!(
            rep.stats,
            Stats {
                entries: 3,
                dirs_created: 1,
                existing: 1,
                errors: 1,
                ..Default::default()
            }
        );
        assert!(rep.events.iter().any(|e| matches!(
            e,
            Event::Replayed { slot: 2, outcome: Outcome::Failed(m), .. } if m.contains("no parent")
        )));
    }

    #[test]
    fn replaying_in_pieces_decides_as_replaying_whole() {
        let bodies = vec![
            dir("a"),
            file("a/f", 1),
            file("x", 1),
            dir("x"),
            file("a/f", 2),
            dir("b"),
        ];
        let whole = log(bodies.clone(), &[]);
        let t = Recorder::default();
        let want = replay(&whole, &t, 1);
        // The same log in three pieces.
        let t2 = Recorder::default();
        let mut seen = Seen::default();
        let mut got = Stats::default();
        let mut calls = Vec::new();
        for range in [0..2, 2..4, 4..6] {
            let mut piece = Replay::default();
            for i in range {
                piece.entries.push(whole.entries[i].clone());
                piece.slots.push(whole.slots[i]);
            }
            let rep = replay_more(&piece, &t2, 1, &mut seen);
            got.entries += rep.stats.entries;
            got.dirs_created += rep.stats.dirs_created;
            got.files_created += rep.stats.files_created;
            got.existing += rep.stats.existing;
            calls.extend(replayed(&rep).into_iter().map(|(s, _)| s));
        }
        assert_eq!(got, want.stats);
        assert_eq!(calls, [0, 1, 2, 5]);
        assert_eq!(seen.winner("x"), Some(2));
        assert_eq!(seen.winner("a/f"), Some(1));
        assert_eq!(seen.len(), 4);
        // A winner given again (a retry) reaches the target again; a later
        // entry of its path does not.
        let mut again = Replay::default();
        again.entries.push(whole.entries[2].clone());
        again.slots.push(2);
        again.entries.push(whole.entries[3].clone());
        again.slots.push(3);
        let rep = replay_more(&again, &t2, 1, &mut seen);
        assert_eq!(replayed(&rep), [(2, "x")]);
        assert!(matches!(
            rep.events[0],
            Event::Duplicate {
                slot: 3,
                first: 2,
                ..
            }
        ));
    }

    #[test]
    fn an_empty_log_does_nothing() {
        let t = Recorder::default();
        let empty = Replay::default();
        let rep = replay(&empty, &t, 4);
        assert_eq!(rep.stats, Stats::default());
        assert!(rep.events.is_empty());
        assert!(t.calls.lock().unwrap().is_empty());
    }
}
