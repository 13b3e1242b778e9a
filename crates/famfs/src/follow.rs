//! Following the log of a client mount: noticing new log entries as the
//! master appends them, and handing only those to the replay engine.
//!
//! A [`Follower`] keeps the log and the superblock mapped, so that a look
//! at the log ([`Follower::poll`]) costs no system call: it drops the cache
//! line of the log header and reads it; only when the header publishes more
//! entries (or, once a second, to retry) does it read the superblock and
//! the new slots. Between looks it sleeps ([`Follower::wait`]); about
//! every [`MOUNT_CHECK_EVERY`] it also asks, with a `poll(2)` on
//! `/proc/self/mountinfo` that does not wait, whether the mount table
//! changed, so that it notices its mount going away without reading the
//! table at every look.
//!
//! Its mappings would keep the mount busy (a plain `umount` would fail with
//! `EBUSY`), so the follower first moves into a private copy of the mount
//! namespace ([`crate::sys::private_mount_namespace`]) and opens the
//! metadata files there: it holds the file system through its own copy of
//! the mount only. The administrator's `umount` works; the follower sees the
//! mount leave the original namespace's table and stops, which releases
//! the file system.
//!
//! What it assumes about ordering, as the log's writer guarantees it
//! (`famfs_format::Log::append`): the master stores a new entry and flushes
//! its cache lines to the memory, and only then stores and flushes the
//! header that publishes it. So an entry counted by a header this host read
//! from the memory was in the memory before that header. The follower drops
//! its own cached copies of the lines before each read
//! ([`crate::sys::cache_invalidate`]: `clflush`, then `mfence` so that no
//! load passes the flushes); it reads the header before the entries. A
//! header read while the master was writing it may be torn; its CRC does
//! not cover the entry count, so a torn count can only make slots look
//! published too early: they then do not decode (bad CRC), are reported and
//! read again later.
//!
//! The rules are those of `logplay`, applied across pieces
//! ([`crate::replay::replay_more`]): slots that do not decode are reported
//! once and read again at the next change and once a second; entries that
//! could not be instantiated are tried again likewise; the first entry of a
//! path wins. Before replaying new entries, and after reading them, the
//! superblock must still name the file system this mount instantiated:
//! otherwise the file system was re-created and the follower stops
//! ([`Stop::Remade`]) with nothing of the new one instantiated.
//!
//! When the device fails (a memory failure, the device unbound), the module
//! takes the mappings away and the next look faults: `SIGBUS`. The caller
//! decides what to do with it (the `famfs` tool reports it and exits 1).

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{self, Read, Seek};
use std::path::{Path, PathBuf};
use std::time::Duration;

use famfs_format::{
    FormatError, Log, LogEntry, LogError, LogHeader, Replay, Superblock, SUPERBLOCK_SIZE,
};
use uuid::Uuid;

use crate::meta::{self, Fs, MapStore};
use crate::replay::{self, Event, Outcome, Report, Seen, Target};
use crate::sys;

/// How often slots that did not decode, and entries that could not be
/// instantiated, should be tried again while the log does not change, and
/// the superblock checked while nothing changes: the caller passes
/// `recheck` to [`Follower::poll`] about this often.
pub const RETRY_EVERY: Duration = Duration::from_secs(1);

/// How often [`Follower::wait`] asks whether the mount went away: the
/// follower exits about this long after a `umount`, at most.
pub const MOUNT_CHECK_EVERY: Duration = Duration::from_millis(100);

/// Why following cannot start.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The master writes the log: there is nothing to follow.
    #[error(
        "this host (system uuid {host}) is the master of the file system at {mpt}: it writes \
         the log, so there is nothing to follow (follow runs on client hosts)"
    )]
    Master {
        /// Mount point.
        mpt: String,
        /// This host.
        host: Uuid,
    },
    /// The metadata cannot be read, the mount is stale, and the like.
    #[error(transparent)]
    Meta(#[from] meta::Error),
    /// A system call failed.
    #[error("{what}: {err}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        err: io::Error,
    },
}

/// Why a follower stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stop {
    /// The mount is no longer in the mount table (unmounted).
    MountGone,
    /// The device now holds another file system (re-created with mkfs).
    Remade {
        /// The file system this mount instantiated.
        mounted: Uuid,
        /// The one the superblock names now.
        now: Uuid,
    },
}

/// What one look at the log found.
#[derive(Debug)]
pub enum Poll {
    /// Nothing to do.
    Idle,
    /// Entries to replay ([`Follower::apply`]).
    Batch(Batch),
    /// The metadata cannot be used just now (for example a header or
    /// superblock being rewritten); looked at again next time.
    Waiting(String),
    /// Following is over.
    Stop(Stop),
}

/// Entries to replay: the new slots, and earlier ones tried again.
#[derive(Debug)]
pub struct Batch {
    /// The entries, in slot order, and the slots that did not decode for
    /// the first time (slots still bad after a retry are not repeated).
    pub log: Replay,
    /// Earlier slots that did not decode and now do.
    pub recovered: Vec<u64>,
    /// Slots given again because their entry could not be instantiated
    /// before.
    pub retried: BTreeSet<u64>,
    /// The log header read.
    pub header: LogHeader,
}

/// The follower of one client mount.
pub struct Follower {
    mpt: PathBuf,
    /// The id of the mount in the namespace the follower started in.
    mnt_id: u64,
    fs_uuid: Uuid,
    /// That namespace's mount table (opened before leaving it).
    mountinfo: File,
    /// Time slept since the mount table was last asked about.
    since_mount_check: Duration,
    /// `.meta/.log`, mapped (through the private namespace's mount).
    log: Log<MapStore>,
    /// `.meta/.superblock`, mapped likewise.
    sb: memmap2::Mmap,
    /// Slots below this were read.
    next: u64,
    /// Slots that did not decode, with the reason given.
    bad: BTreeMap<u64, String>,
    /// Entries that could not be instantiated.
    failed: BTreeMap<u64, LogEntry>,
    seen: Seen,
}

fn io_err(what: impl Into<String>) -> impl FnOnce(io::Error) -> Error {
    let what = what.into();
    move |err| Error::Io { what, err }
}

/// The mount ids listed in a mountinfo table.
pub fn mount_ids(mountinfo: &str) -> impl Iterator<Item = u64> + '_ {
    mountinfo
        .lines()
        .filter_map(|l| l.split(' ').next()?.parse().ok())
}

impl Follower {
    /// Starts following the client mount at `mpt` (its mount point,
    /// canonical). Refuses the master, a stale mount and unusable metadata.
    /// Moves the process into a private mount namespace (see the module
    /// documentation) and its working directory to `/`.
    pub fn open(mpt: &Path) -> Result<Follower, Error> {
        let fs = Fs::open(mpt, false)?;
        if fs.master {
            return Err(Error::Master {
                mpt: mpt.display().to_string(),
                host: fs.host,
            });
        }
        let fs_uuid = fs.sb.fs_uuid;
        drop(fs);
        let root = File::open(mpt).map_err(io_err(format!("open {}", mpt.display())))?;
        let mnt_id = sys::mount_id(&root).map_err(io_err(format!("statx {}", mpt.display())))?;
        drop(root);
        let mut mountinfo =
            File::open("/proc/self/mountinfo").map_err(io_err("open /proc/self/mountinfo"))?;
        // Reading it arms the wait for the next change.
        let mut text = String::new();
        mountinfo
            .read_to_string(&mut text)
            .map_err(io_err("read /proc/self/mountinfo"))?;
        sys::private_mount_namespace().map_err(io_err("a private mount namespace"))?;
        std::env::set_current_dir("/").map_err(io_err("chdir /"))?;
        let dir = meta::meta_dir(mpt);
        let open = |name: &str| {
            let p = dir.join(name);
            File::open(&p).map_err(io_err(format!("open {}", p.display())))
        };
        let log_file = open(".log")?;
        let log = Log::new(MapStore::ro(
            sys::map_ro(&log_file).map_err(io_err("map .meta/.log"))?,
        ));
        let sb_file = open(".superblock")?;
        let sb = sys::map_ro_len(&sb_file, 4096).map_err(io_err("map .meta/.superblock"))?;
        Ok(Follower {
            mpt: mpt.to_path_buf(),
            mnt_id,
            fs_uuid,
            mountinfo,
            since_mount_check: Duration::ZERO,
            log,
            sb,
            next: 0,
            bad: BTreeMap::new(),
            failed: BTreeMap::new(),
            seen: Seen::default(),
        })
    }

    /// The mount point.
    pub fn mount_point(&self) -> &Path {
        &self.mpt
    }

    /// The file system followed.
    pub fn fs_uuid(&self) -> Uuid {
        self.fs_uuid
    }

    /// The slots read so far (the next slot to read).
    pub fn next_slot(&self) -> u64 {
        self.next
    }

    /// Slots that do not decode yet.
    pub fn bad_slots(&self) -> impl Iterator<Item = u64> + '_ {
        self.bad.keys().copied()
    }

    /// Entries that could not be instantiated yet.
    pub fn failed_slots(&self) -> impl Iterator<Item = u64> + '_ {
        self.failed.keys().copied()
    }

    /// True while the mount is in this host's mount table.
    fn mounted(&mut self) -> Result<bool, Error> {
        let mut text = String::new();
        self.mountinfo
            .rewind()
            .and_then(|_| self.mountinfo.read_to_string(&mut text))
            .map_err(io_err("read /proc/self/mountinfo"))?;
        let found = mount_ids(&text).any(|id| id == self.mnt_id);
        Ok(found)
    }

    /// Sleeps `timeout`; then, about every [`MOUNT_CHECK_EVERY`], asks
    /// whether the mount table changed (one `poll(2)` that does not wait)
    /// and, if it did, whether the mount is still there.
    ///
    /// A plain sleep, rather than a `poll(2)` on the mount table for the
    /// whole interval, because it is the cheapest wakeup there is (it costs
    /// no wait-queue entry on a file): measured in the test guests, a wakeup
    /// every 40 ms costs 0.47 % of a CPU sleeping, 0.67 % polling.
    pub fn wait(&mut self, timeout: Duration) -> Result<Option<Stop>, Error> {
        std::thread::sleep(timeout);
        self.since_mount_check += timeout;
        if self.since_mount_check < MOUNT_CHECK_EVERY {
            return Ok(None);
        }
        self.since_mount_check = Duration::ZERO;
        let changed = sys::wait_mount_change(&self.mountinfo, Duration::ZERO)
            .map_err(io_err("poll /proc/self/mountinfo"))?;
        if changed && !self.mounted()? {
            return Ok(Some(Stop::MountGone));
        }
        Ok(None)
    }

    /// The superblock's file system, as the memory holds it now.
    fn superblock_uuid(&self) -> Result<Uuid, Result<Stop, String>> {
        let bytes = &self.sb[..SUPERBLOCK_SIZE];
        sys::cache_invalidate(bytes);
        let copy = bytes.to_vec();
        Superblock::decode(&copy)
            .map(|sb| sb.fs_uuid)
            .map_err(|e| Err(format!("no valid famfs superblock: {e}")))
    }

    /// Stops unless the superblock still names the followed file system.
    fn same_fs(&self) -> Result<(), Result<Stop, String>> {
        let now = self.superblock_uuid()?;
        if now != self.fs_uuid {
            return Err(Ok(Stop::Remade {
                mounted: self.fs_uuid,
                now,
            }));
        }
        Ok(())
    }

    /// One look at the log: what is new (the first look: the whole log).
    /// With `recheck` (about every [`RETRY_EVERY`]), the superblock is
    /// checked and what failed is tried again even if the log did not
    /// change. A look that finds nothing new reads one cache line and makes
    /// no system call (not even for the time: the caller counts).
    pub fn poll(&mut self, recheck: bool) -> Poll {
        match self.look(recheck) {
            Ok(p) => p,
            Err(Ok(stop)) => Poll::Stop(stop),
            Err(Err(why)) => Poll::Waiting(why),
        }
    }

    fn look(&mut self, due: bool) -> Result<Poll, Result<Stop, String>> {
        let header = self
            .log
            .header()
            .map_err(|e: LogError| Err(format!("the metadata log: {e}")))?;
        let pending = !self.bad.is_empty() || !self.failed.is_empty();
        if header.next_index == self.next && !due {
            return Ok(Poll::Idle);
        }
        // Even with nothing new, the superblock is checked once a second:
        // a re-created file system may have as many entries as the old one.
        self.same_fs()?;
        if header.next_index == self.next && !pending {
            return Ok(Poll::Idle);
        }
        if header.next_index < self.next {
            return Err(Err(format!(
                "the log publishes {} entries, fewer than the {} already followed; not \
                 replaying it",
                header.next_index, self.next
            )));
        }
        let again: Vec<u64> = self.bad.keys().copied().collect();
        let (header, read) = self
            .log
            .replay_since(self.next, &again)
            .map_err(|e| Err(format!("the metadata log: {e}")))?;
        // The entries read belong to the file system this mount has only
        // if the superblock still says so now.
        self.same_fs()?;
        if header.next_index < self.next {
            return Err(Err(format!(
                "the log publishes {} entries, fewer than the {} already followed",
                header.next_index, self.next
            )));
        }
        Ok(self.batch(header, read))
    }

    /// Merges what was read with the entries to retry.
    fn batch(&mut self, header: LogHeader, read: Replay) -> Poll {
        let mut entries: BTreeMap<u64, LogEntry> = BTreeMap::new();
        let mut recovered = Vec::new();
        for (e, slot) in read.entries.into_iter().zip(read.slots) {
            if self.bad.remove(&slot).is_some() {
                recovered.push(slot);
            }
            entries.insert(slot, e);
        }
        let mut new_bad: Vec<(u64, FormatError)> = Vec::new();
        for (slot, err) in read.bad {
            if let std::collections::btree_map::Entry::Vacant(v) = self.bad.entry(slot) {
                v.insert(err.to_string());
                new_bad.push((slot, err));
            }
        }
        let retried: BTreeSet<u64> = self.failed.keys().copied().collect();
        for (slot, e) in &self.failed {
            entries.entry(*slot).or_insert_with(|| e.clone());
        }
        self.next = header.next_index;
        if entries.is_empty() && new_bad.is_empty() {
            return Poll::Idle;
        }
        let mut log = Replay::default();
        for (slot, e) in entries {
            log.slots.push(slot);
            log.entries.push(e);
        }
        log.bad = new_bad;
        Poll::Batch(Batch {
            log,
            recovered,
            retried,
            header,
        })
    }

    /// Replays a batch into `target` and remembers what is to be tried
    /// again.
    pub fn apply<'b, T: Target>(
        &mut self,
        batch: &'b Batch,
        target: &T,
        threads: usize,
    ) -> Report<'b> {
        let report = replay::replay_more(&batch.log, target, threads, &mut self.seen);
        for ev in &report.events {
            if let Event::Replayed {
                slot,
                entry,
                outcome,
            } = ev
            {
                match outcome {
                    Outcome::Failed(_) => {
                        let e = batch
                            .log
                            .slots
                            .iter()
                            .position(|s| s == slot)
                            .map(|i| batch.log.entries[i].clone());
                        if let Some(e) = e {
                            debug_assert_eq!(&e.body, *entry);
                            self.failed.insert(*slot, e);
                        }
                    }
                    _ => {
                        self.failed.remove(slot);
                    }
                }
            }
        }
        report
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_ids_of_a_mountinfo_table() {
        let t = "22 1 0:21 / / rw - 9p host rw\n\
                 97 22 251:0 / /mnt/famfs rw,relatime - famfs /dev/dax0.0 rw\n\
                 garbage\n";
        assert_eq!(mount_ids(t).collect::<Vec<_>>(), [22, 97]);
    }
}
