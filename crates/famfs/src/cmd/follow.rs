//! `famfs follow` (and `famfs mount --follow`): keep a client mount current
//! by replaying new log entries as the master appends them.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Result};
use famfs::follow::{Batch, Follower, Poll, Stop};
use famfs::replay::host::HostTarget;
use famfs::replay::{Event, Outcome, Report};
use famfs_format::EntryBody;
use serde_json::json;

use super::mount_point;

/// After this long without a change the follower looks every
/// --idle-interval instead of every --interval.
const IDLE_AFTER: Duration = Duration::from_secs(2);

/// Exit status when the file system was re-created under the mount.
pub const EXIT_REMADE: u8 = 3;

fn parse_interval(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s)
        .map_err(|e| format!("bad interval '{s}': {e} (for example 10ms, 1s)"))?;
    if d < Duration::from_millis(1) {
        return Err(format!("interval '{s}' is below 1ms (no busy polling)"));
    }
    if d > Duration::from_secs(3600) {
        return Err(format!("interval '{s}' is above 1h"));
    }
    Ok(d)
}

/// How to follow.
#[derive(clap::Args, Clone, Debug)]
pub struct Opts {
    /// How often to look at the log header while the log changes (e.g.
    /// 10ms, 250ms, 1s). New files appear at most this long (plus the time
    /// to create them) after the master logged them.
    #[arg(long, value_name = "DURATION", default_value = "10ms", value_parser = parse_interval)]
    pub interval: Duration,
    /// How often to look once the log has not changed for 2 s (at least
    /// --interval): the first file after a quiet spell appears within this
    /// long. Looking costs little, but in a slow virtual machine a wakeup
    /// every 10 ms is a few percent of a CPU (every 60 ms, about 0.4 %).
    #[arg(long, value_name = "DURATION", default_value = "60ms", value_parser = parse_interval)]
    pub idle_interval: Duration,
    /// Print only errors and why following stopped.
    #[arg(short, long)]
    pub quiet: bool,
    /// Print one JSON object per line on stdout: one per file or directory
    /// instantiated ("event": "created"), and the other events
    /// ("following", "unreadable", "failed", "waiting", "stopped").
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    opts: Opts,
    /// The mount point of a client mount.
    mountpoint: PathBuf,
}

pub fn run(a: Args) -> Result<u8> {
    let mpt = mount_point(&a.mountpoint)?;
    if mpt != std::fs::canonicalize(&a.mountpoint)? {
        bail!(
            "{} is not a mount point (the famfs mount is {})",
            a.mountpoint.display(),
            mpt.display()
        );
    }
    follow(&mpt, &a.opts, "follow")
}

/// Follows the client mount at `mpt` until it goes away (0), the file
/// system is re-created (3) or the device fails (1).
pub fn follow(mpt: &Path, o: &Opts, cmd: &str) -> Result<u8> {
    let mut f = Follower::open(mpt)?;
    // Nothing of this process may keep the mount busy.
    std::env::set_current_dir("/")?;
    exit_on_sigbus();
    let out = Printer {
        cmd: cmd.to_owned(),
        quiet: o.quiet,
        json: o.json,
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
    let mut waiting: Option<String> = None;
    let mut first = true;
    let mut devs = Devices::default();
    // Time is counted in looks, not read from a clock: an idle look makes
    // no system call but the sleep.
    let idle = o.idle_interval.max(o.interval);
    let mut interval = o.interval;
    let mut since_recheck = Duration::ZERO;
    let mut since_change = Duration::ZERO;
    loop {
        let recheck = since_recheck >= famfs::follow::RETRY_EVERY;
        if recheck {
            since_recheck = Duration::ZERO;
        }
        let changed = match f.poll(recheck) {
            Poll::Idle => false,
            Poll::Batch(b) => {
                if let Some(w) = waiting.take() {
                    out.info(&format!("the metadata is usable again (was: {w})"));
                }
                devs.learn(&b.log);
                devs.attach(mpt, f.fs_uuid(), &out);
                let target = HostTarget::new(mpt, false, false).with_devices(devs.mask);
                let rep = f.apply(&b, &target, threads);
                out.batch(&b, &rep);
                if first {
                    out.caught_up(&f, &rep);
                }
                true
            }
            Poll::Waiting(why) => {
                if waiting.as_deref() != Some(why.as_str()) {
                    out.waiting(&why);
                    waiting = Some(why);
                }
                false
            }
            Poll::Stop(s) => return Ok(out.stop(mpt, &s)),
        };
        if first {
            first = false;
            out.following(&f, o.interval, idle);
        }
        if changed {
            since_change = Duration::ZERO;
            interval = o.interval;
        } else if since_change >= IDLE_AFTER {
            interval = idle;
        }
        if let Some(s) = f.wait(interval)? {
            return Ok(out.stop(mpt, &s));
        }
        since_recheck += interval;
        since_change += interval;
    }
}

struct Printer {
    cmd: String,
    quiet: bool,
    json: bool,
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

impl Printer {
    fn json(&self, v: serde_json::Value) {
        println!("{v}");
    }

    fn info(&self, m: &str) {
        if !self.quiet {
            eprintln!("famfs {}: {m}", self.cmd);
        }
    }

    fn error(&self, m: &str) {
        eprintln!("famfs {}: {m}", self.cmd);
    }

    fn batch(&self, b: &Batch, rep: &Report) {
        for slot in &b.recovered {
            self.info(&format!("log entry {slot} is readable now"));
        }
        let retried: &BTreeSet<u64> = &b.retried;
        for ev in &rep.events {
            match ev {
                Event::Unreadable { slot, error } => {
                    self.error(&format!(
                        "log entry {slot} is unreadable and was skipped (read again at the \
                         next change): {error}"
                    ));
                    if self.json {
                        self.json(json!({"event": "unreadable", "slot": slot,
                                         "error": error.to_string(), "time": now()}));
                    }
                }
                Event::BadPath { slot, reason, .. } => {
                    self.error(&format!("log entry {slot}: {reason}"));
                    if self.json {
                        self.json(json!({"event": "failed", "slot": slot, "error": reason,
                                         "time": now()}));
                    }
                }
                Event::Duplicate { .. } => {}
                Event::Replayed {
                    slot,
                    entry,
                    outcome,
                } => self.replayed(*slot, entry, outcome, retried.contains(slot)),
            }
        }
    }

    fn replayed(&self, slot: u64, entry: &EntryBody, outcome: &Outcome, retry: bool) {
        let rel = entry.relpath();
        let (kind, size) = match entry {
            EntryBody::File { size, .. } => ("file", *size),
            EntryBody::Mkdir { .. } => ("dir", 0),
            EntryBody::AddDevice { .. } => ("device", 0),
        };
        match outcome {
            Outcome::Existing => {}
            Outcome::Failed(m) => {
                // Reported once; tried again at every change.
                if !retry {
                    self.error(&format!(
                        "log entry {slot}: {m} (tried again at the next change)"
                    ));
                    if self.json {
                        self.json(json!({"event": "failed", "slot": slot, "path": rel,
                                         "error": m, "time": now()}));
                    }
                }
            }
            Outcome::DirCreated | Outcome::FileCreated | Outcome::FileMapped => {
                if self.json {
                    self.json(json!({"event": "created", "type": kind, "path": rel,
                                     "size": size, "slot": slot, "time": now()}));
                } else if !self.quiet {
                    match entry {
                        EntryBody::File { .. } => println!("created {rel} ({size} bytes)"),
                        EntryBody::Mkdir { .. } => println!("mkdir {rel}"),
                        EntryBody::AddDevice { .. } => {}
                    }
                }
            }
        }
    }

    fn caught_up(&self, f: &Follower, rep: &Report) {
        let st = &rep.stats;
        self.info(&format!(
            "{} log entries: created {} directories and {} files, {} already present, {} \
             unreadable entries skipped, {} errors",
            f.next_slot(),
            st.dirs_created,
            st.files_created,
            st.existing,
            st.bad_entries,
            st.errors
        ));
    }

    fn following(&self, f: &Follower, interval: Duration, idle: Duration) {
        self.info(&format!(
            "following {} (file system {}): looking at the log every {} ({} when quiet)",
            f.mount_point().display(),
            f.fs_uuid(),
            humantime::format_duration(interval),
            humantime::format_duration(idle)
        ));
        if self.json {
            self.json(json!({"event": "following", "mountpoint": f.mount_point(),
                             "fs_uuid": f.fs_uuid().to_string(), "entries": f.next_slot(),
                             "time": now()}));
        }
    }

    fn waiting(&self, why: &str) {
        self.error(&format!(
            "cannot use the metadata now, looking again: {why}"
        ));
        if self.json {
            self.json(json!({"event": "waiting", "error": why, "time": now()}));
        }
    }

    fn stop(&self, mpt: &Path, s: &Stop) -> u8 {
        let (reason, msg, code) = match s {
            Stop::MountGone => (
                "unmounted",
                format!("{} was unmounted; stopped following", mpt.display()),
                0,
            ),
            Stop::Remade { mounted, now } => (
                "recreated",
                format!(
                    "stopped following: the file system mounted at {} (uuid {mounted}) is \
                     gone: the device now holds file system {now} (re-created with mkfs). \
                     Nothing of it was instantiated here; unmount and mount again to use it",
                    mpt.display()
                ),
                EXIT_REMADE,
            ),
        };
        if code == 0 {
            self.info(&msg);
        } else {
            self.error(&msg);
        }
        if self.json {
            self.json(json!({"event": "stopped", "reason": reason, "message": msg,
                             "time": now()}));
        }
        code
    }
}

/// A memory failure can make a mapping of the log fault between two
/// checks: say so and exit 1, instead of dying silently by SIGBUS.
fn exit_on_sigbus() {
    extern "C" fn on_sigbus(_: libc::c_int) {
        const MSG: &[u8] = b"famfs follow: SIGBUS reading the shared memory: the device failed \
(see /sys/fs/famfs/*/failed); stopped following\n";
        // SAFETY: write(2) and _exit(2) are async-signal-safe; MSG is a
        // static buffer of MSG.len() bytes.
        unsafe {
            libc::write(2, MSG.as_ptr().cast(), MSG.len());
            libc::_exit(1);
        }
    }
    // SAFETY: a zeroed sigaction is a valid "no flags, empty mask" value;
    // the handler only calls async-signal-safe functions.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_sigbus as *const () as usize;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(libc::SIGBUS, &sa, std::ptr::null_mut());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals() {
        assert_eq!(parse_interval("10ms"), Ok(Duration::from_millis(10)));
        assert_eq!(parse_interval("1s"), Ok(Duration::from_secs(1)));
        assert!(parse_interval("0ms").unwrap_err().contains("below 1ms"));
        assert!(parse_interval("2h").unwrap_err().contains("above 1h"));
        assert!(parse_interval("soon").unwrap_err().contains("bad interval"));
    }
}

/// The devices a follower has met in the log, and which of them files may
/// use: a device logged later is opened when its entry is read; one that
/// cannot be used is reported once and tried again with every new batch
/// (its files, which failed, are retried with them).
#[derive(Default)]
struct Devices {
    logged: Vec<famfs_format::LoggedDevice>,
    mask: u64,
    reported: std::collections::BTreeSet<u32>,
}

impl Devices {
    fn learn(&mut self, log: &famfs_format::Replay) {
        self.mask |= 1;
        for (e, &slot) in log.entries.iter().zip(&log.slots) {
            if let EntryBody::AddDevice { size, uuid, index } = e.body {
                let valid = (1..famfs_format::MAX_DEVICES).contains(&index) && size > 0;
                let known = self
                    .logged
                    .iter()
                    .any(|d| d.index == index || d.uuid == uuid);
                if valid && !known {
                    self.logged.push(famfs_format::LoggedDevice {
                        index,
                        size,
                        uuid,
                        slot,
                    });
                }
            }
        }
    }

    fn attach(&mut self, mpt: &Path, fs_uuid: uuid::Uuid, out: &Printer) {
        for d in &self.logged {
            if self.mask & (1u64 << d.index) != 0 {
                continue;
            }
            match famfs::devices::attach(mpt, fs_uuid, d, None, true) {
                Ok(a) => {
                    self.mask |= 1u64 << d.index;
                    self.reported.remove(&d.index);
                    if let famfs::devices::Attached::Opened(name) = a {
                        out.info(&format!("device {}: {name} ({} bytes)", d.index, d.size));
                    }
                }
                Err(e) => {
                    if self.reported.insert(d.index) {
                        out.error(&format!(
                            "device {} (uuid {}): {e}; files on it are not instantiated",
                            d.index, d.uuid
                        ));
                    }
                }
            }
        }
    }
}
