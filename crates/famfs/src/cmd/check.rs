//! `famfs check`: every file of a mount has a map, the superblock and log
//! are valid, and the file system is the one mounted. The exit status is a
//! bit mask.

use std::fs::{self, File};
use std::path::PathBuf;

use anyhow::Result;
use famfs::meta::{self, Fs};
use famfs::sys;

use super::mount_point;

#[derive(clap::Args)]
pub struct Args {
    /// The mount point.
    mountpoint: PathBuf,
}

/// `check` exit bits.
pub const CHECK_UNMAPPED: u8 = 1;
/// Superblock unusable.
pub const CHECK_SUPERBLOCK: u8 = 2;
/// Log unusable.
pub const CHECK_LOG: u8 = 4;
/// The mounted file system was re-created elsewhere.
pub const CHECK_STALE: u8 = 8;

pub fn run(a: Args) -> Result<u8> {
    let mpt = mount_point(&a.mountpoint)?;
    let mut bits = 0;
    match Fs::open(&mpt, false) {
        Ok(fs) => {
            if let Err(e) = fs.read_log() {
                println!("famfs check: {e}");
                bits |= CHECK_LOG;
            }
        }
        Err(e @ meta::Error::Stale { .. }) => {
            println!("famfs check: {e}");
            bits |= CHECK_STALE;
        }
        Err(e @ meta::Error::Log(_)) => {
            println!("famfs check: {e}");
            bits |= CHECK_LOG;
        }
        // Not the file system's fault: a failure (exit 1), not a check bit.
        Err(e @ meta::Error::BadSystemUuid { .. }) => return Err(e.into()),
        Err(e) => {
            println!("famfs check: {e}");
            bits |= CHECK_SUPERBLOCK;
        }
    }
    let mut files = 0;
    let mut unmapped = 0;
    let mut stack = vec![mpt.clone()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d)? {
            let e = e?;
            let p = e.path();
            if d == mpt && e.file_name() == ".meta" {
                continue;
            }
            let t = e.file_type()?;
            if t.is_dir() {
                stack.push(p);
            } else if t.is_file() {
                files += 1;
                let ok = File::open(&p).map(|f| sys::map_get(&f).is_ok());
                if !matches!(ok, Ok(true)) {
                    println!("famfs check: {} has no famfs map", p.display());
                    unmapped += 1;
                }
            }
        }
    }
    if unmapped > 0 {
        bits |= CHECK_UNMAPPED;
    }
    println!(
        "famfs check: {}: {files} files, {unmapped} without a map{}",
        mpt.display(),
        if bits == 0 { ", ok" } else { "" }
    );
    Ok(bits)
}
