//! `famfs logplay`: instantiate what the log has and the mount lacks.

use std::path::{Path, PathBuf};

use anyhow::Result;
use famfs::devices::{self, parse_dev_arg, Attached};
use famfs::meta::Fs;
use famfs::replay::host::HostTarget;
use famfs::replay::{self, Event, Outcome, Stats};
use famfs_format::{EntryBody, LoggedDevice};
use uuid::Uuid;

use super::mount_point;

/// Where the devices of a file system are on this host.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct DevArgs {
    /// The dax device of logged device INDEX on this host (repeatable).
    /// Without it, the one free dax device on fsdev_dax of the logged size
    /// is used.
    #[arg(long = "dev", value_name = "INDEX=PATH", value_parser = parse_dev_arg)]
    pub dev: Vec<(u32, PathBuf)>,
}

impl DevArgs {
    fn given(&self, index: u32) -> Option<&Path> {
        self.dev
            .iter()
            .rev()
            .find(|(i, _)| *i == index)
            .map(|(_, p)| p.as_path())
    }
}

/// Opens every logged device `devs` (device 0 excluded) that the mount at
/// `mpt` lacks, checks each one's label, and says what it did (`cmd`
/// names the command). Returns the devices files may use (bit N for
/// device N) and how many could not be used.
pub fn attach_devices(
    mpt: &Path,
    fs_uuid: Uuid,
    devs: &[LoggedDevice],
    given: &DevArgs,
    cmd: &str,
) -> (u64, u64) {
    let mut mask = 1u64;
    let mut failed = 0;
    for d in devs.iter().filter(|d| d.index != 0) {
        match devices::attach(mpt, fs_uuid, d, given.given(d.index), true) {
            Ok(a) => {
                mask |= 1u64 << d.index;
                if let Attached::Opened(name) = a {
                    println!(
                        "famfs {cmd}: device {}: {name} ({} bytes, uuid {})",
                        d.index, d.size, d.uuid
                    );
                }
            }
            Err(e) => {
                failed += 1;
                eprintln!(
                    "famfs {cmd}: device {} (uuid {}, {} bytes): {e}; files on it are not \
                     instantiated",
                    d.index, d.uuid, d.size
                );
            }
        }
    }
    (mask, failed)
}

#[derive(clap::Args)]
pub struct Args {
    /// Only print what would be done.
    #[arg(short = 'n', long)]
    dry_run: bool,
    /// Print each instantiated file and directory.
    #[arg(short, long)]
    verbose: bool,
    #[command(flatten)]
    devs: DevArgs,
    /// The mount point.
    mountpoint: PathBuf,
}

pub fn run(a: Args) -> Result<u8> {
    let mpt = mount_point(&a.mountpoint)?;
    let st = replay_and_report(&mpt, a.dry_run, a.verbose, &a.devs, "logplay")?;
    print_stats(&st, a.dry_run);
    Ok(u8::from(st.errors > 0))
}

/// Replays the log of the mount at `mpt` (idempotent: only what the mount
/// lacks is instantiated; clients get files without write permission) and
/// prints what went wrong, and with `verbose` (or `dry_run`) what was (or
/// would be) done.
///
/// First the devices the log records: each one the mount lacks is found
/// and opened, and each one's label checked (`devs` names paths); files on
/// a device that is not usable are not instantiated, and each such device
/// counts as an error.
pub fn replay_and_report(
    mpt: &Path,
    dry_run: bool,
    verbose: bool,
    devs: &DevArgs,
    cmd: &str,
) -> Result<Stats> {
    let fs = Fs::open(mpt, false)?;
    if !dry_run {
        famfs::meta::match_alloc_unit(mpt, &fs.sb)?;
    }
    let (_, log) = fs.read_log()?;
    let (logged, bad) = famfs_format::device_table(fs.dev_size, fs.sb.dev_uuid, &log);
    for (slot, why) in &bad {
        eprintln!("famfs {cmd}: log entry {slot}: {why}");
    }
    let (mask, unusable) = if dry_run {
        // Only looks: the devices open now.
        let open = devices::open_table(mpt).unwrap_or_default();
        let mask = open
            .iter()
            .filter(|(i, _)| logged.iter().any(|d| d.index == *i))
            .fold(1u64, |m, (i, _)| m | 1u64 << i);
        for d in logged.iter().filter(|d| mask & (1u64 << d.index) == 0) {
            println!(
                "would open device {} (uuid {}, {} bytes)",
                d.index, d.uuid, d.size
            );
        }
        (mask, 0)
    } else {
        attach_devices(mpt, fs.sb.fs_uuid, &logged, devs, cmd)
    };
    let target = HostTarget::new(mpt, fs.master, dry_run).with_devices(mask);
    // One thread when printing each step, so that the lines come in order
    // of execution.
    let threads = if dry_run || verbose {
        1
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get().min(4))
    };
    let report = replay::replay(&log, &target, threads);
    for ev in &report.events {
        print_event(ev, dry_run, verbose);
    }
    let mut st = report.stats;
    st.errors += unusable + bad.len() as u64;
    Ok(st)
}

fn print_event(ev: &Event, dry_run: bool, verbose: bool) {
    match ev {
        Event::Unreadable { slot, error } => {
            eprintln!("famfs logplay: log entry {slot} is unreadable and was skipped: {error}")
        }
        Event::BadPath { slot, reason, .. } => {
            eprintln!("famfs logplay: log entry {slot}: {reason}")
        }
        Event::Duplicate { .. } => {}
        Event::Replayed {
            slot,
            entry,
            outcome,
        } => {
            let rel = entry.relpath();
            let size = match entry {
                EntryBody::File { size, .. } => *size,
                EntryBody::Mkdir { .. } | EntryBody::AddDevice { .. } => 0,
            };
            match outcome {
                Outcome::Failed(m) => eprintln!("famfs logplay: log entry {slot}: {m}"),
                Outcome::Existing => {}
                Outcome::DirCreated if dry_run => println!("would mkdir {rel}"),
                Outcome::FileCreated if dry_run => println!("would create {rel} ({size} bytes)"),
                Outcome::FileMapped if dry_run => println!("would map {rel}"),
                Outcome::DirCreated if verbose => println!("mkdir {rel}"),
                Outcome::FileCreated if verbose => println!("create {rel} ({size} bytes)"),
                Outcome::DirCreated | Outcome::FileCreated | Outcome::FileMapped => {}
            }
        }
    }
}

/// Prints a replay summary.
pub fn print_stats(st: &Stats, dry_run: bool) {
    let verb = if dry_run { "would create" } else { "created" };
    println!(
        "famfs logplay: {} log entries: {verb} {} directories and {} files, {} already present, \
         {} unreadable entries skipped, {} errors{}",
        st.entries,
        st.dirs_created,
        st.files_created,
        st.existing,
        st.bad_entries,
        st.errors,
        if st.devices > 0 {
            format!(", {} device entries", st.devices)
        } else {
            String::new()
        }
    );
}
