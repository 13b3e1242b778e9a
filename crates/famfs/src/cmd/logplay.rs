//! `famfs logplay`: instantiate what the log has and the mount lacks.

use std::path::{Path, PathBuf};

use anyhow::Result;
use famfs::meta::Fs;
use famfs::replay::host::HostTarget;
use famfs::replay::{self, Event, Outcome, Stats};
use famfs_format::EntryBody;

use super::mount_point;

#[derive(clap::Args)]
pub struct Args {
    /// Only print what would be done.
    #[arg(short = 'n', long)]
    dry_run: bool,
    /// Print each instantiated file and directory.
    #[arg(short, long)]
    verbose: bool,
    /// The mount point.
    mountpoint: PathBuf,
}

pub fn run(a: Args) -> Result<u8> {
    let mpt = mount_point(&a.mountpoint)?;
    let st = replay_and_report(&mpt, a.dry_run, a.verbose)?;
    print_stats(&st, a.dry_run);
    Ok(u8::from(st.errors > 0))
}

/// Replays the log of the mount at `mpt` (idempotent: only what the mount
/// lacks is instantiated; clients get files without write permission) and
/// prints what went wrong, and with `verbose` (or `dry_run`) what was (or
/// would be) done.
pub fn replay_and_report(mpt: &Path, dry_run: bool, verbose: bool) -> Result<Stats> {
    let fs = Fs::open(mpt, false)?;
    if !dry_run {
        famfs::meta::match_alloc_unit(mpt, &fs.sb)?;
    }
    let (_, log) = fs.read_log()?;
    let target = HostTarget::new(mpt, fs.master, dry_run);
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
    Ok(report.stats)
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
                EntryBody::Mkdir { .. } => 0,
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
         {} unreadable entries skipped, {} errors",
        st.entries, st.dirs_created, st.files_created, st.existing, st.bad_entries, st.errors
    );
}
