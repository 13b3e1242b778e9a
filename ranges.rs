// SPDX-License-Identifier: GPL-2.0

//! The overlap rule of the mount's range registry (`registry.rs`), as plain
//! `core` code: the module and the host crate `famfs-fmap` (property tests
//! against a linear model) compile this same file.
//!
//! The registry keeps the claimed device ranges of a mount in a search tree
//! ordered by first byte, and never lets two of them overlap. Over such a
//! set one lookup decides whether a new range `[start, end)` is free: of the
//! claims that start before `end`, only the last one can reach `start`,
//! since each earlier one ends at or before the next one's start. So a claim
//! costs one predecessor search per range (O(log n) in a balanced tree),
//! where a scan of every claim would cost O(n).

#![deny(unsafe_code)]

/// One claimed device range; the tree's key is its first byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Claim {
    /// First device byte after the range (greater than the first byte).
    pub end: u64,
    /// The registry id of the file that owns it.
    pub owner: u64,
    /// That file's inode number, for messages.
    pub ino: u64,
}

/// A set of claims ordered by first byte, none overlapping another: what
/// [`overlapping`] needs of a search tree.
pub trait Claims {
    /// The claim with the greatest first byte below `bound`, and that byte.
    fn last_below(&self, bound: u64) -> Option<(u64, Claim)>;
}

/// A claim that overlaps `[start, end)` (`start < end`), if any: the last
/// one that starts before `end`.
pub fn overlapping<C: Claims + ?Sized>(claims: &C, start: u64, end: u64) -> Option<Claim> {
    let (_, c) = claims.last_below(end)?;
    (c.end > start).then_some(c)
}
