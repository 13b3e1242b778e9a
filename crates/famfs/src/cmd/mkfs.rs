//! `famfs mkfs` (also `mkfs.famfs`): a superblock and an empty log.

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use famfs::meta::{self, MapStore};
use famfs::sys;
use famfs_abi::{FAMFS_LOG, FAMFS_SUPERBLOCK};
use famfs_format::{
    check_log_len, Log, Superblock, ALLOC_UNIT, SUPERBLOCK_REGION, SUPERBLOCK_SIZE,
};
use famfs_util::parse_size;
use indicatif::HumanBytes;
use uuid::Uuid;

use super::TempMount;

#[derive(clap::Args)]
pub struct Args {
    /// Overwrite an existing famfs file system.
    #[arg(short, long)]
    force: bool,
    /// Destroy the file system (clear its superblock); needs -f.
    #[arg(short, long)]
    kill: bool,
    /// Log size (a power of two, at least 8M).
    #[arg(short = 'l', long = "loglen", value_parser = parse_size, default_value = "8M")]
    log_len: u64,
    /// Allocation unit: 2M (the default, every file a multiple of 2 MiB,
    /// mapped with PMD faults) or 4K (small files cost 4 KiB; files of
    /// 2 MiB or more still start on a 2 MiB boundary). Mounts of a 4K file
    /// system use alloc_unit=4k, which famfs mount sets.
    #[arg(long = "alloc-unit", value_parser = parse_alloc_unit, default_value = "2M")]
    alloc_unit: u64,
    /// The device, e.g. /dev/dax0.0 or /dev/pmem0.
    device: PathBuf,
}

fn parse_alloc_unit(s: &str) -> Result<u64, String> {
    match parse_size(s) {
        Ok(v) if v == ALLOC_UNIT || v == meta::SMALL_ALLOC_UNIT => Ok(v),
        Ok(v) => Err(format!("allocation unit {v} bytes: expected 4K or 2M")),
        Err(e) => Err(e.to_string()),
    }
}

/// A metadata file of the temporary mount, opened for writing.
fn meta_file(p: &Path, ftype: u32, offset: u64, len: u64) -> Result<File> {
    meta::create_meta_file(p, 0o600, ftype, offset, len)?;
    OpenOptions::new()
        .read(true)
        .write(true)
        .open(p)
        .with_context(|| format!("open {}", p.display()))
}

pub fn run(a: Args) -> Result<u8> {
    let dev = &a.device;
    check_log_len(a.log_len)?;
    if a.kill && !a.force {
        bail!("-k destroys the file system; it needs -f as well");
    }
    let host = meta::system_uuid()?;
    let tm = TempMount::new(dev)?;
    let mpt = tm.path();
    let (_, dev_size, _) = sys::statfs(mpt).context("statfs")?;
    let need = SUPERBLOCK_REGION + a.log_len + ALLOC_UNIT;
    if dev_size < need {
        bail!(
            "{} has {} bytes; a famfs with a {}-byte log needs at least {need}",
            dev.display(),
            dev_size,
            a.log_len
        );
    }
    let meta = meta::meta_dir(mpt);
    fs::create_dir(&meta).context("mkdir .meta")?;
    let sbf = meta_file(
        &meta.join(".superblock"),
        FAMFS_SUPERBLOCK,
        0,
        SUPERBLOCK_REGION,
    )?;
    let mut sbm = sys::map_rw(&sbf).context("map the superblock")?;
    sys::cache_flush(&sbm[..SUPERBLOCK_SIZE]);
    let old = Superblock::decode(&sbm[..SUPERBLOCK_SIZE]);
    let magic = u64::from_le_bytes(sbm[..8].try_into().expect("8 bytes"));
    if magic == famfs_format::SUPERBLOCK_MAGIC && !a.force {
        match old {
            Ok(sb) if sb.is_label() => bail!(
                "{} is a device added to famfs file system {} (its label, device uuid {}); use \
                 -f to overwrite it",
                dev.display(),
                sb.fs_uuid,
                sb.dev_uuid
            ),
            Ok(sb) => bail!(
                "{} already holds famfs file system {} (master {}); use -f to overwrite it",
                dev.display(),
                sb.fs_uuid,
                sb.system_uuid
            ),
            Err(e) => bail!(
                "{} has a famfs superblock ({e}); use -f to overwrite it",
                dev.display()
            ),
        }
    }
    // Invalidate the old superblock first: a crash from here on leaves no
    // file system rather than a new superblock over an old log.
    sbm[..SUPERBLOCK_SIZE].fill(0);
    sys::cache_flush(&sbm[..SUPERBLOCK_SIZE]);
    if a.kill {
        println!("famfs: destroyed the superblock of {}", dev.display());
        return Ok(0);
    }
    let logf = meta_file(&meta.join(".log"), FAMFS_LOG, SUPERBLOCK_REGION, a.log_len)?;
    let logm = sys::map_rw(&logf).context("map the log")?;
    Log::format(MapStore::rw(logm)).context("format the log")?;
    let sb = Superblock {
        version: famfs_format::SUPERBLOCK_VERSION,
        omf: (famfs_format::OMF_VER_MAJOR, famfs_format::OMF_VER_MINOR),
        log_offset: SUPERBLOCK_REGION,
        log_len: a.log_len,
        alloc_unit: a.alloc_unit,
        fs_uuid: Uuid::new_v4(),
        dev_uuid: Uuid::new_v4(),
        system_uuid: host,
        flags: 0,
        dev_size,
        dev_name: dev
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    };
    let b = sb.encode()?;
    sbm[..b.len()].copy_from_slice(&b);
    sys::cache_flush(&sbm[..SUPERBLOCK_SIZE]);
    println!(
        "famfs: created file system {} on {}: {} device, {} log ({} entries), master {}",
        sb.fs_uuid,
        dev.display(),
        HumanBytes(dev_size),
        HumanBytes(a.log_len),
        famfs_format::log_slots(a.log_len),
        host
    );
    Ok(0)
}
