//! Randomised decoded logs through the replay engine: no panic, and what
//! reaches the target follows the replay rules, restated here: every slot
//! gets one event; only entries whose path is valid reach the target, each
//! path once, the first entry of the path winning; a parent directory
//! logged with a valid path reaches the target before its children.
//!
//! The last test runs the property with a wrong path rule (one that lets
//! `..` through) and requires a counterexample: the check can fail.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use famfs::replay::{replay, Event, Outcome, Target};
use famfs_format::{EntryBody, Extent, FileMap, FormatError, LogEntry, Replay};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

/// Records the order of the paths it is asked to instantiate.
#[derive(Default)]
struct Recorder(Mutex<Vec<String>>);

impl Target for Recorder {
    fn instantiate(&self, rel: &str, entry: &EntryBody) -> Outcome {
        self.0.lock().unwrap().push(rel.to_owned());
        match entry {
            EntryBody::Mkdir { .. } => Outcome::DirCreated,
            EntryBody::File { .. } => Outcome::FileCreated,
            EntryBody::AddDevice { .. } => panic!("a device entry reached the target"),
        }
    }
}

fn path_ok(p: &str, dotdot_ok: bool) -> bool {
    !p.is_empty()
        && !p.starts_with('/')
        && p.len() <= 80
        && p.split('/')
            .all(|c| !c.is_empty() && c != "." && (dotdot_ok || c != ".."))
        && p.split('/').next() != Some(".meta")
}

fn arb_path() -> impl Strategy<Value = String> {
    let comp = prop_oneof![
        6 => prop::sample::select(vec!["a", "b", "c"]).prop_map(str::to_string),
        1 => prop::sample::select(vec![".", "..", "", ".meta", "/"]).prop_map(str::to_string),
    ];
    prop::collection::vec(comp, 1..4).prop_map(|c| c.join("/"))
}

fn arb_log() -> impl Strategy<Value = Replay> {
    prop::collection::vec(
        (arb_path(), any::<bool>(), prop::bool::weighted(0.1)),
        0..40,
    )
    .prop_map(|items| {
        let mut r = Replay::default();
        for (slot, (relpath, dir, bad)) in items.into_iter().enumerate() {
            let slot = slot as u64;
            if bad {
                r.bad.push((slot, FormatError::Truncated("fuzz")));
                continue;
            }
            let body = if dir {
                EntryBody::Mkdir {
                    uid: 0,
                    gid: 0,
                    mode: 0o755,
                    relpath,
                }
            } else {
                EntryBody::File {
                    size: 1,
                    flags: 2,
                    uid: 0,
                    gid: 0,
                    mode: 0o644,
                    relpath,
                    map: FileMap::Simple(vec![Extent::new(2 << 20, 2 << 20)]),
                }
            };
            r.entries.push(LogEntry { seqnum: slot, body });
            r.slots.push(slot);
        }
        r
    })
}

fn check(log: &Replay, threads: usize, dotdot_ok: bool) -> Result<(), TestCaseError> {
    let t = Recorder::default();
    let rep = replay(log, &t, threads);
    prop_assert_eq!(rep.events.len(), log.entries.len() + log.bad.len());
    // The model: the first valid entry of each path, by slot.
    let mut first: HashMap<&str, u64> = HashMap::new();
    for (e, &slot) in log.entries.iter().zip(&log.slots) {
        let p = e.body.relpath();
        if path_ok(p, dotdot_ok) {
            first.entry(p).or_insert(slot);
        }
    }
    let calls = t.0.lock().unwrap().clone();
    let asked: HashSet<&str> = calls.iter().map(String::as_str).collect();
    prop_assert_eq!(
        asked.len(),
        calls.len(),
        "a path was instantiated twice: {:?}",
        calls
    );
    let want: HashSet<&str> = first.keys().copied().collect();
    prop_assert_eq!(&asked, &want);
    for e in &rep.events {
        if let Event::Replayed { slot, entry, .. } = e {
            prop_assert_eq!(first.get(entry.relpath()), Some(slot));
        }
    }
    // Parents first.
    let pos: HashMap<&str, usize> = calls
        .iter()
        .enumerate()
        .map(|(i, p)| (p.as_str(), i))
        .collect();
    for (p, &i) in &pos {
        if let Some((parent, _)) = p.rsplit_once('/') {
            if let Some(&j) = pos.get(parent) {
                prop_assert!(j < i, "{} instantiated before its parent {}", p, parent);
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn replay_follows_the_rules(log in arb_log(), threads in 1usize..4) {
        check(&log, threads, false)?;
    }
}

#[test]
fn self_test_a_wrong_path_rule_is_caught() {
    let mut runner = TestRunner::new_with_rng(
        Config {
            cases: 2000,
            failure_persistence: None,
            ..Config::default()
        },
        TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    );
    let r = runner.run(&arb_log(), |log| check(&log, 1, true));
    assert!(r.is_err(), "the property held with a wrong path rule");
}
