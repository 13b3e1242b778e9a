//! The registry's overlap rule (`ranges.rs`, one predecessor lookup in a
//! tree of disjoint claims) against a plain scan of every claim.
//!
//! Random claims are made and released the way the module does it: a range
//! goes in only if the scan finds it free, so the set stays disjoint. After
//! every step, random probes must get the same answer from both: free, or
//! the same overlapping claim.

use std::collections::BTreeMap;

use famfs_fmap::ranges::{overlapping, Claim, Claims};
use proptest::prelude::*;

struct Tree(BTreeMap<u64, Claim>);

impl Claims for Tree {
    fn last_below(&self, bound: u64) -> Option<(u64, Claim)> {
        self.0.range(..bound).next_back().map(|(k, v)| (*k, *v))
    }
}

/// The model: every claim looked at; all those that overlap.
fn scan(t: &Tree, start: u64, end: u64) -> Vec<Claim> {
    t.0.iter()
        .filter(|(s, c)| **s < end && start < c.end)
        .map(|(_, c)| *c)
        .collect()
}

/// The rule's answer must be free exactly when the scan finds nothing, and
/// otherwise one of the claims the scan found.
fn agrees(t: &Tree, s: u64, e: u64) -> bool {
    let all = scan(t, s, e);
    match overlapping(t, s, e) {
        None => all.is_empty(),
        Some(c) => all.contains(&c),
    }
}

#[derive(Clone, Debug)]
enum Op {
    Claim(u64, u64),
    Release(usize),
    Probe(u64, u64),
}

/// Ranges on a small space (so that they collide often), one unit a page,
/// and now and then at the ends of the u64 range.
fn arb_range() -> impl Strategy<Value = (u64, u64)> {
    prop_oneof![
        8 => (0u64..256, 1u64..16).prop_map(|(s, l)| (s * 4096, (s + l) * 4096)),
        1 => (u64::MAX - 64..u64::MAX, 1u64..64).prop_map(|(s, l)| (s, s.saturating_add(l).max(s + 1))),
        1 => (0u64..4, 1u64..u64::MAX).prop_map(|(s, l)| (s, s.saturating_add(l))),
    ]
}

fn arb_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => arb_range().prop_map(|(s, e)| Op::Claim(s, e)),
        2 => any::<usize>().prop_map(Op::Release),
        4 => arb_range().prop_map(|(s, e)| Op::Probe(s, e)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn one_lookup_agrees_with_a_scan(ops in prop::collection::vec(arb_op(), 1..200)) {
        let mut t = Tree(BTreeMap::new());
        for (owner, op) in ops.into_iter().enumerate() {
            match op {
                Op::Claim(s, e) | Op::Probe(s, e) if s >= e => {}
                Op::Claim(s, e) => {
                    prop_assert!(agrees(&t, s, e), "claim [{}, {})", s, e);
                    if scan(&t, s, e).is_empty() {
                        let c = Claim { end: e, owner: owner as u64, ino: 1000 + owner as u64 };
                        t.0.insert(s, c);
                    }
                }
                Op::Release(i) => {
                    if !t.0.is_empty() {
                        let k = *t.0.keys().nth(i % t.0.len()).unwrap();
                        t.0.remove(&k);
                    }
                }
                Op::Probe(s, e) => {
                    prop_assert!(agrees(&t, s, e), "probe [{}, {})", s, e);
                }
            }
        }
    }
}

/// The self-test of the property: a rule that looks only at the claim
/// starting at or after the range (a plausible wrong rule) is caught.
#[test]
fn the_property_catches_a_wrong_rule() {
    let mut t = Tree(BTreeMap::new());
    t.0.insert(
        0,
        Claim {
            end: 8192,
            owner: 1,
            ino: 1,
        },
    );
    let wrong = |t: &Tree, s: u64, e: u64| {
        t.0.range(s..)
            .next()
            .filter(|(k, _)| **k < e)
            .map(|(_, c)| *c)
    };
    // [4096, 12288) overlaps the claim [0, 8192) that starts below it.
    assert_eq!(scan(&t, 4096, 12288).len(), 1);
    assert!(agrees(&t, 4096, 12288));
    assert_eq!(wrong(&t, 4096, 12288), None, "the wrong rule misses it");
    // And the check itself fails for an answer of "free".
    assert!(!scan(&t, 4096, 12288).is_empty());
}
