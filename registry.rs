// SPDX-License-Identifier: GPL-2.0

//! The mount's registry of mapped device ranges: no two files of a mount
//! may map the same memory. The one home of that rule: map installation
//! claims a file's ranges here, eviction releases them.
//!
//! The claims live in a red-black tree keyed by first device byte (in the
//! one address space of all the mount's devices, `Extent::key`: the device
//! index, then the offset), and no two of them overlap, so a claim checks each new range with one
//! predecessor search (`ranges.rs` says why that suffices) and a release
//! removes each range by its key: O(log n) per range for n claims, so that
//! instantiating n files costs O(n log n), not O(n^2).
//!
//! The tree's nodes are allocated before the lock is taken; a claim that
//! cannot get them changes nothing, and under the lock nothing can fail
//! but a refusal, which undoes the ranges already inserted.
//!
//! Memory-failure handling does not need a reverse lookup through this
//! registry: it walks the superblock's inodes (`vfs::inode::for_each_inode`)
//! and asks each file's own map which of its pages failed
//! (`Fmap::file_ranges_in`), which needs no allocation and no reference to
//! an inode kept here.

#![deny(unsafe_code)]

use kernel::new_mutex;
use kernel::prelude::*;
use kernel::rbtree::{RBTree, RBTreeNodeReservation};
use kernel::sync::Mutex;

use crate::fmap::{Fmap, MAX_RANGES};
use crate::ranges::{overlapping, Claim, Claims};

/// Why a claim was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ClaimError {
    /// A range overlaps the memory of the file with this inode number.
    Overlap(u64),
    /// No memory for the registry entries.
    NoMemory,
}

/// The claims of a mount, keyed by first device byte, and their number.
struct Tree {
    map: RBTree<u64, Claim>,
    len: usize,
}

impl Tree {
    fn remove(&mut self, start: u64) {
        if self.map.remove(&start).is_some() {
            self.len -= 1;
        }
    }
}

impl Claims for Tree {
    fn last_below(&self, bound: u64) -> Option<(u64, Claim)> {
        match self.map.cursor_lower_bound(&bound) {
            Some(c) => c.peek_prev().map(|(k, v)| (*k, *v)),
            None => self.map.cursor_back().map(|c| {
                let (k, v) = c.current();
                (*k, *v)
            }),
        }
    }
}

/// The registry.
#[pin_data]
pub(crate) struct Registry {
    #[pin]
    claims: Mutex<Tree>,
}

impl Registry {
    /// An empty registry.
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Registry {
            claims <- new_mutex!(Tree {
                map: RBTree::new(),
                len: 0,
            }),
        })
    }

    /// Claims every range of `fmap` for the file `owner` (inode `ino`), or
    /// nothing: refused if any range overlaps another file's (or another
    /// range of the same map, which validation already excludes).
    pub(crate) fn claim(&self, owner: u64, ino: u64, fmap: &Fmap) -> Result<(), ClaimError> {
        // One tree node per range, allocated before the lock.
        let mut nodes: [Option<RBTreeNodeReservation<u64, Claim>>; MAX_RANGES] =
            [const { None }; MAX_RANGES];
        let mut want = 0;
        let mut failed = false;
        fmap.for_each_range(|_| {
            if want < MAX_RANGES && !failed {
                match RBTreeNodeReservation::new(GFP_KERNEL) {
                    Ok(n) => nodes[want] = Some(n),
                    Err(_) => failed = true,
                }
                want += 1;
            }
        });
        if failed {
            return Err(ClaimError::NoMemory);
        }
        let mut tree = self.claims.lock();
        let mut inserted = 0;
        let mut refused = None;
        fmap.for_each_range(|e| {
            if refused.is_some() || inserted >= want {
                return;
            }
            let end = e.key().saturating_add(e.len);
            if e.len == 0 {
                return;
            }
            if let Some(other) = overlapping(&*tree, e.key(), end) {
                refused = Some(other.ino);
                return;
            }
            if let Some(n) = nodes[inserted].take() {
                let claim = Claim { end, owner, ino };
                // Not occupied: a claim with this first byte would overlap.
                let _ = tree.map.insert(n.into_node(e.key(), claim));
                tree.len += 1;
                inserted += 1;
            }
        });
        if let Some(other) = refused {
            // Undo the ranges of this claim inserted before the refusal.
            let mut undone = 0;
            fmap.for_each_range(|e| {
                if undone < inserted && e.len != 0 {
                    tree.remove(e.key());
                    undone += 1;
                }
            });
            return Err(ClaimError::Overlap(other));
        }
        Ok(())
    }

    /// Releases the ranges of `fmap` that the file `owner` claimed.
    pub(crate) fn release(&self, owner: u64, fmap: &Fmap) {
        let mut tree = self.claims.lock();
        fmap.for_each_range(|e| {
            if tree.map.get(&e.key()).is_some_and(|c| c.owner == owner) {
                tree.remove(e.key());
            }
        });
    }

    /// How many ranges are claimed.
    #[cfg_attr(not(CONFIG_KUNIT), allow(dead_code))]
    pub(crate) fn len(&self) -> usize {
        self.claims.lock().len
    }
}

#[kunit_tests(famfs_registry)]
mod tests {
    use super::{ClaimError, Registry};
    use crate::fmap::{FileType, Fmap, Layout};
    use kernel::prelude::*;

    const M2: u64 = 2 << 20;

    fn map(extents: &[(u64, u64)]) -> Fmap {
        let size = extents.iter().map(|e| e.1).sum();
        Fmap::simple(FileType::Regular, size, extents)
    }

    fn registry() -> Pin<KBox<Registry>> {
        KBox::pin_init(Registry::new(), GFP_KERNEL).expect("registry")
    }

    #[test]
    fn refusals_name_the_file_and_change_nothing() {
        let r = registry();
        assert_eq!(r.claim(1, 101, &map(&[(2 * M2, 2 * M2)])), Ok(()));
        // Touching ranges do not overlap, on either side.
        assert_eq!(r.claim(2, 102, &map(&[(4 * M2, M2)])), Ok(()));
        assert_eq!(r.claim(3, 103, &map(&[(M2, M2)])), Ok(()));
        assert_eq!(r.len(), 3);
        // One byte into each claim, from below, from above, and around.
        assert_eq!(
            r.claim(4, 104, &map(&[(0, M2 + 1)])),
            Err(ClaimError::Overlap(103))
        );
        assert_eq!(
            r.claim(4, 104, &map(&[(5 * M2 - 1, M2)])),
            Err(ClaimError::Overlap(102))
        );
        assert_eq!(
            r.claim(4, 104, &map(&[(3 * M2, 1)])),
            Err(ClaimError::Overlap(101))
        );
        // Over all three: the refusal names the last one starting below
        // the end (ranges.rs).
        assert_eq!(
            r.claim(4, 104, &map(&[(0, 10 * M2)])),
            Err(ClaimError::Overlap(102))
        );
        // A map whose first range is free and second is not leaves nothing.
        assert_eq!(
            r.claim(4, 104, &map(&[(8 * M2, M2), (4 * M2, M2)])),
            Err(ClaimError::Overlap(102))
        );
        assert_eq!(r.len(), 3);
        assert_eq!(r.claim(5, 105, &map(&[(8 * M2, M2)])), Ok(()));
        // Two ranges of one map that overlap each other are refused too.
        assert_eq!(
            r.claim(6, 106, &map(&[(20 * M2, 2 * M2), (21 * M2, M2)])),
            Err(ClaimError::Overlap(106))
        );
        assert_eq!(r.len(), 4);
    }

    #[test]
    fn release_frees_only_the_owners_ranges() {
        let r = registry();
        let a = map(&[(2 * M2, M2), (6 * M2, M2)]);
        assert_eq!(r.claim(1, 101, &a), Ok(()));
        // Another owner's release of the same map removes nothing.
        r.release(2, &a);
        assert_eq!(r.len(), 2);
        assert_eq!(
            r.claim(3, 103, &map(&[(6 * M2, M2)])),
            Err(ClaimError::Overlap(101))
        );
        r.release(1, &a);
        assert_eq!(r.len(), 0);
        assert_eq!(r.claim(3, 103, &map(&[(6 * M2, M2)])), Ok(()));
    }

    /// Each device is an address space of its own: the same offsets on two
    /// devices are two claims, and the end of one device's space does not
    /// reach into the next one's.
    #[test]
    fn devices_are_separate_address_spaces() {
        let on = |dev: u32, off: u64, len: u64| {
            let mut f = map(&[(off, len)]);
            if let Layout::Simple { extents, .. } = &mut f.layout {
                extents[0].dev = dev;
            }
            f
        };
        let r = registry();
        assert_eq!(r.claim(1, 101, &on(0, 4 * M2, M2)), Ok(()));
        assert_eq!(r.claim(2, 102, &on(1, 4 * M2, M2)), Ok(()));
        assert_eq!(r.claim(3, 103, &on(63, 4 * M2, M2)), Ok(()));
        assert_eq!(
            r.claim(4, 104, &on(1, 4 * M2 + 4096, 4096)),
            Err(ClaimError::Overlap(102))
        );
        assert_eq!(r.claim(5, 105, &on(0, (1 << 58) - M2, M2)), Ok(()));
        assert_eq!(r.claim(6, 106, &on(1, 0, M2)), Ok(()));
        r.release(2, &on(1, 4 * M2, M2));
        assert_eq!(r.claim(4, 104, &on(1, 4 * M2 + 4096, 4096)), Ok(()));
        assert_eq!(r.len(), 5);
    }

    /// 10,000 files, claimed and released in scattered orders: every
    /// refusal still names the right file, every gap is still free. (Under
    /// TCG with lockdep and kmemleak this takes about 0.8 s; KUnit runs at
    /// every load of the module, so the 100,000-file scale is measured by
    /// the benchmarks instead.)
    #[test]
    fn exact_at_10k_files() {
        const N: u64 = 10_000;
        // File k owns the 2 MiB at 4k MiB, with a free 2 MiB after it.
        let at = |k: u64| k * 2 * M2;
        let r = registry();
        // 7919 and 104729 are primes that do not divide N: i -> i * p % N
        // permutes.
        for i in 0..N {
            let k = i * 7919 % N;
            assert_eq!(r.claim(k, 1000 + k, &map(&[(at(k), M2)])), Ok(()));
        }
        assert_eq!(r.len(), N as usize);
        for k in (0..N).step_by(997) {
            let (s, e) = (at(k), at(k) + M2);
            assert_eq!(
                r.claim(N, 0, &map(&[(s + 4096, 4096)])),
                Err(ClaimError::Overlap(1000 + k))
            );
            assert_eq!(
                r.claim(N, 0, &map(&[(e - 1, 2)])),
                Err(ClaimError::Overlap(1000 + k))
            );
            // The gap after file k is free (claimed and given back).
            let gap = map(&[(e, M2)]);
            assert_eq!(r.claim(N, 0, &gap), Ok(()));
            r.release(N, &gap);
        }
        assert_eq!(r.len(), N as usize);
        for i in 0..N {
            let k = i * 104_729 % N;
            r.release(k, &map(&[(at(k), M2)]));
        }
        assert_eq!(r.len(), 0);
    }
}
