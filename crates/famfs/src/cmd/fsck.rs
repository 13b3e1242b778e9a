//! `famfs fsck`: check the superblock and log of a device (through a
//! private mount, or its existing mount) or of a mount point (exit 0 clean,
//! 1 problems found).

use std::fs;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use famfs::meta::{self, Fs};
use famfs::paths;
use famfs_format::fsck::{analyze, Report};
use indicatif::HumanBytes;
use serde::Serialize;

use super::{mount_point, TempMount};

#[derive(clap::Args)]
pub struct Args {
    /// JSON output.
    #[arg(long)]
    json: bool,
    /// A device or a famfs mount point.
    target: PathBuf,
}

/// `fsck --json` output: what was checked, the superblock, a fatal error
/// (superblock or log header unusable, file system re-created) or the
/// analysis of the log.
#[derive(Serialize)]
pub struct FsckOut {
    /// What was checked (device or mount point).
    pub target: String,
    /// Superblock fields, if it decoded.
    pub superblock: Option<SbOut>,
    /// Superblock or log header error.
    pub fatal: Option<String>,
    /// The analysis (zeroes after a fatal error).
    #[serde(flatten)]
    pub report: Report,
    /// True when nothing is wrong.
    pub clean: bool,
}

/// Superblock summary.
#[derive(Serialize)]
pub struct SbOut {
    /// File-system UUID.
    pub uuid: String,
    /// Master's system UUID.
    pub master: String,
    /// Log offset.
    pub log_offset: u64,
    /// Log length.
    pub log_len: u64,
}

fn fsck_mounted(mpt: &Path, target: String) -> Result<FsckOut> {
    let mut out = FsckOut {
        target,
        superblock: None,
        fatal: None,
        report: Report::default(),
        clean: false,
    };
    let fs = match Fs::open(mpt, false) {
        Ok(f) => f,
        Err(e @ (meta::Error::Superblock(_) | meta::Error::Stale { .. } | meta::Error::Log(_))) => {
            out.fatal = Some(e.to_string());
            return Ok(out);
        }
        Err(e) => return Err(e.into()),
    };
    out.superblock = Some(SbOut {
        uuid: fs.sb.fs_uuid.to_string(),
        master: fs.sb.system_uuid.to_string(),
        log_offset: fs.sb.log_offset,
        log_len: fs.sb.log_len,
    });
    let (h, r) = match fs.read_log() {
        Ok(x) => x,
        Err(e) => {
            out.fatal = Some(e.to_string());
            return Ok(out);
        }
    };
    out.report = analyze(fs.dev_size, &fs.sb, &h, &r);
    out.clean = out.report.clean();
    Ok(out)
}

pub fn run(a: Args) -> Result<u8> {
    let (target, json) = (a.target.as_path(), a.json);
    let md = fs::metadata(target).with_context(|| format!("{}", target.display()))?;
    let t = md.file_type();
    let name = target.display().to_string();
    let out = if t.is_char_device() || t.is_block_device() {
        match paths::mount_of_dev(target)? {
            Some(m) => fsck_mounted(&m.mpt, name)?,
            None => {
                let tm = TempMount::new(target)?;
                let o = fsck_mounted(tm.path(), name)?;
                drop(tm);
                o
            }
        }
    } else {
        fsck_mounted(&mount_point(target)?, name)?
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!("famfs fsck: {}", out.target);
        match &out.superblock {
            Some(sb) => println!(
                "  superblock: file system {}, master {}, log {} at {:#x}",
                sb.uuid,
                sb.master,
                HumanBytes(sb.log_len),
                sb.log_offset
            ),
            None => println!("  superblock: unusable"),
        }
        if let Some(f) = &out.fatal {
            println!("  error: {f}");
        } else {
            let r = &out.report;
            println!(
                "  log: {} of {} entries used ({} files, {} directories)",
                r.entries, r.log_slots, r.files, r.dirs
            );
            println!(
                "  space: {} device, {} used, {} free, largest free range {}",
                HumanBytes(r.dev_size),
                HumanBytes(r.used_bytes),
                HumanBytes(r.free_bytes),
                HumanBytes(r.largest_free)
            );
            for d in r.devices.iter().filter(|d| d.index != 0) {
                println!(
                    "  space on device {} (uuid {}): {} device, {} used, {} free, largest free \
                     range {}, {} files",
                    d.index,
                    d.uuid,
                    HumanBytes(d.size),
                    HumanBytes(d.used_bytes),
                    HumanBytes(d.free_bytes),
                    HumanBytes(d.largest_free),
                    d.files
                );
            }
            for p in &r.problems {
                match p.slot {
                    Some(s) => println!("  problem: log entry {s}: {}", p.what),
                    None => println!("  problem: {}", p.what),
                }
            }
            println!(
                "  {}",
                if out.clean {
                    "clean".to_string()
                } else {
                    format!("{} problems", r.problems.len())
                }
            );
        }
    }
    Ok(if out.clean && out.fatal.is_none() {
        0
    } else {
        1
    })
}
