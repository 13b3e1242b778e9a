//! `famfs mount`: mount, create the metadata files, replay the log.

use std::fs;
use std::path::PathBuf;

use anyhow::{anyhow, bail, Result};
use famfs::{meta, paths, sys};
use famfs_util::errno_name;

use super::{check_device, follow, logplay, require_module};

/// When `--follow` follows.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FollowWhen {
    /// Follow; on the master refuse (and leave nothing mounted).
    Always,
    /// Follow on a client; on the master just mount (one service
    /// definition for every host).
    Auto,
}

#[derive(clap::Args)]
pub struct Args {
    /// Print each instantiated file and directory.
    #[arg(short, long)]
    verbose: bool,
    /// After mounting, keep running and replay new log entries as the
    /// master appends them (as `famfs follow`), until the mount goes away.
    #[arg(
        long,
        value_name = "WHEN",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "always"
    )]
    follow: Option<FollowWhen>,
    #[command(flatten)]
    follow_opts: follow::Opts,
    #[command(flatten)]
    devs: logplay::DevArgs,
    /// Serve shared mappings as raw page-frame maps, with 1 GiB entries
    /// where a file's memory is 1 GiB aligned (the module's `pfnmap`
    /// option; such mappings cannot be pinned: no O_DIRECT or RDMA into
    /// them).
    #[arg(long)]
    pfnmap: bool,
    /// The device.
    device: PathBuf,
    /// The mount point.
    mountpoint: PathBuf,
}

/// There is no read-only variant: the module refuses to create maps on a
/// read-only mount, so nothing could be instantiated.
pub fn run(a: Args) -> Result<u8> {
    let (dev, mpt) = (&a.device, &a.mountpoint);
    require_module()?;
    check_device(dev)?;
    if !mpt.is_dir() {
        bail!("mount point {} is not a directory", mpt.display());
    }
    if let Some(m) = paths::mount_of_dev(dev)? {
        bail!(
            "{} is already mounted at {}",
            dev.display(),
            m.mpt.display()
        );
    }
    sys::mount_famfs(dev, mpt, false).map_err(|e| {
        anyhow!(
            "mount -t famfs {} {}: {} ({e})",
            dev.display(),
            mpt.display(),
            errno_name(&e)
        )
    })?;
    let mpt = fs::canonicalize(mpt)?;
    let res = meta::mkmeta(&mpt)
        .map_err(anyhow::Error::from)
        .and_then(|m| {
            // A file system made with 4 KiB units: the module must accept
            // maps in them.
            meta::match_alloc_unit(&mpt, &m.sb)?;
            if a.pfnmap {
                sys::remount_pfnmap(&mpt)
                    .map_err(|e| anyhow!("remount {} with pfnmap: {e}", mpt.display()))?;
            }
            // A client's files are read-only (replay strips their write
            // bits); strict_write keeps even root from writing them, until
            // someone chmods a file on purpose (serial sharing).
            if !m.master {
                sys::remount_strict_write(&mpt)
                    .map_err(|e| anyhow!("remount {} with strict_write: {e}", mpt.display()))?;
            }
            if m.master && a.follow == Some(FollowWhen::Always) {
                bail!(famfs::follow::Error::Master {
                    mpt: mpt.display().to_string(),
                    host: m.host,
                });
            }
            Ok(m)
        });
    let following = matches!(&res, Ok(m) if !m.master && a.follow.is_some());
    if following {
        println!(
            "famfs: mounted {} at {} as client; following its log",
            dev.display(),
            mpt.display()
        );
        return follow::follow(&mpt, &a.follow_opts, "mount");
    }
    let res = res.and_then(|m| {
        let s = logplay::replay_and_report(&mpt, false, a.verbose, &a.devs, "mount")?;
        Ok((m, s))
    });
    if matches!(&res, Ok((m, _)) if m.master && a.follow.is_some()) {
        eprintln!("famfs mount: this host is the master (it writes the log): not following");
    }
    let st = match res {
        Ok((m, st)) => {
            println!(
                "famfs: mounted {} at {} as {} of file system {}",
                dev.display(),
                mpt.display(),
                if m.master { "master" } else { "client" },
                m.sb.fs_uuid
            );
            st
        }
        Err(e) => {
            let _ = sys::umount(&mpt);
            return Err(e.context(format!("{} was not mounted", dev.display())));
        }
    };
    logplay::print_stats(&st, false);
    if st.errors > 0 {
        eprintln!(
            "famfs mount: mounted, but {} log entries could not be replayed",
            st.errors
        );
    }
    Ok(u8::from(st.errors > 0))
}
