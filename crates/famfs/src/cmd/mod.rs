//! The commands of the `famfs` tool, one module each. A command takes its
//! parsed arguments, does its work through the library (metadata, replay,
//! sessions, system calls) and prints what the user is told; it returns the
//! process exit status.

pub mod check;
pub mod cp;
pub mod creat;
pub mod devadd;
pub mod devices;
pub mod flush;
pub mod follow;
pub mod fsck;
pub mod getmap;
pub mod logplay;
pub mod mkdir;
pub mod mkfs;
pub mod mount;
pub mod verify;

use std::fs;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use famfs::paths::{self, Mount};
use famfs::session::{Layout, Placement, Session};
use famfs::sys;
use famfs_format::check_relpath;
use famfs_util::{errno_name, parse_size};

/// Fails unless the famfs module is loaded.
pub fn require_module() -> Result<()> {
    if Path::new("/sys/module/famfs").exists() {
        Ok(())
    } else {
        bail!("the famfs kernel module is not loaded (insmod famfs.ko, or modprobe famfs)")
    }
}

/// Fails unless `dev` is a character or block device.
pub fn check_device(dev: &Path) -> Result<()> {
    let md = fs::metadata(dev).with_context(|| format!("{}", dev.display()))?;
    let t = md.file_type();
    if !t.is_char_device() && !t.is_block_device() {
        bail!(
            "{} is not a device (a /dev/daxX.Y in fsdev_dax mode or a /dev/pmemN)",
            dev.display()
        );
    }
    Ok(())
}

/// A private mount of a device for mkfs and fsck, unmounted on drop.
pub struct TempMount {
    dir: tempfile::TempDir,
}

impl TempMount {
    /// Mounts `dev` (which must not be mounted on this host) on a new
    /// temporary directory.
    pub fn new(dev: &Path) -> Result<TempMount> {
        require_module()?;
        check_device(dev)?;
        if let Some(m) = paths::mount_of_dev(dev)? {
            bail!(
                "{} is mounted at {}; unmount it first",
                dev.display(),
                m.mpt.display()
            );
        }
        let base = if Path::new("/run").is_dir() {
            "/run"
        } else {
            "/tmp"
        };
        let dir = tempfile::Builder::new()
            .prefix("famfs-")
            .tempdir_in(base)
            .context("temporary mount point")?;
        sys::mount_famfs(dev, dir.path(), false)
            .map_err(|e| anyhow!("mount -t famfs {}: {} ({e})", dev.display(), errno_name(&e)))?;
        Ok(TempMount { dir })
    }

    /// The mount point.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for TempMount {
    fn drop(&mut self) {
        if let Err(e) = sys::umount(self.dir.path()) {
            eprintln!(
                "famfs: warning: cannot unmount {}: {e}",
                self.dir.path().display()
            );
        }
    }
}

/// The mount point of a famfs path given by the user.
pub fn mount_point(p: &Path) -> Result<PathBuf> {
    let abs = fs::canonicalize(p).with_context(|| format!("{}", p.display()))?;
    let mounts = paths::mounts()?;
    let m = paths::containing(&mounts, &abs)
        .ok_or_else(|| anyhow!("{} is not in a famfs file system", p.display()))?;
    Ok(m.mpt.clone())
}

/// Resolves every path to one famfs mount; returns the mount and the
/// relative paths.
pub fn one_mount(files: &[PathBuf]) -> Result<(Mount, Vec<String>)> {
    let mut mount: Option<Mount> = None;
    let mut rels = Vec::new();
    let table = paths::mounts()?;
    let mut parents = Default::default();
    for f in files {
        let (m, rel) = paths::resolve_in(&table, &mut parents, f)?;
        if rel.is_empty() {
            bail!("{} is the mount point itself", f.display());
        }
        check_relpath(&rel).map_err(|e| anyhow!("{}: {e}", f.display()))?;
        match &mount {
            Some(x) if x.mpt != m.mpt => bail!("all paths must be in one famfs mount"),
            _ => mount = Some(m),
        }
        rels.push(rel);
    }
    Ok((mount.ok_or_else(|| anyhow!("no path given"))?, rels))
}

/// Opens a metadata session on the master, warning about log entries the
/// session had to ignore.
pub fn begin_session(mpt: &Path) -> Result<Session> {
    let s = Session::begin(mpt)?;
    for (slot, e) in s.unreadable() {
        eprintln!("famfs: warning: log entry {slot} is unreadable and ignored: {e}");
    }
    for (d, why) in s.unusable_devices() {
        eprintln!(
            "famfs: warning: device {} (uuid {}) cannot hold new files here: {why}",
            d.index, d.uuid
        );
    }
    Ok(s)
}

fn parse_mode(s: &str) -> Result<u32, String> {
    let m = u32::from_str_radix(s, 8).map_err(|_| format!("bad mode '{s}' (octal, e.g. 0644)"))?;
    if m > 0o7777 {
        return Err(format!("bad mode '{s}' (at most 07777)"));
    }
    Ok(m)
}

/// Owner and mode options of new files and directories.
#[derive(clap::Args, Clone, Copy, Debug)]
pub struct OwnerArgs {
    /// Mode bits (octal).
    #[arg(short, long, value_parser = parse_mode)]
    pub mode: Option<u32>,
    /// Owner uid.
    #[arg(short, long)]
    pub uid: Option<u32>,
    /// Owner gid.
    #[arg(short, long)]
    pub gid: Option<u32>,
}

impl OwnerArgs {
    /// (mode, uid, gid): what was asked, else `default_mode` and the
    /// caller's ids.
    pub fn get(&self, default_mode: u32) -> (u32, u32, u32) {
        let (u, g) = sys::ids();
        (
            self.mode.unwrap_or(default_mode) & 0o7777,
            self.uid.unwrap_or(u),
            self.gid.unwrap_or(g),
        )
    }
}

/// Layout options of new files.
#[derive(clap::Args, Clone, Copy, Debug)]
pub struct LayoutArgs {
    /// Interleave new files over this many strips (with --nbuckets, or with
    /// --devices where it defaults to one strip per device).
    #[arg(short = 'N', long)]
    pub nstrips: Option<u64>,
    /// Cut the device into this many buckets (each at least 1 GiB).
    #[arg(short = 'B', long, requires = "nstrips", conflicts_with = "devices")]
    pub nbuckets: Option<u64>,
    /// Interleave chunk size (power of two, multiple of 2 MiB).
    #[arg(short = 'C', long, value_parser = parse_size, default_value = "2M")]
    pub chunk: u64,
    /// Put new files on this device of the file system (an index of
    /// `famfs devices`); by default a file goes to the device with the
    /// most free space.
    #[arg(long, value_name = "INDEX", conflicts_with = "devices")]
    pub device: Option<u32>,
    /// Interleave new files across the file system's devices: strip i on
    /// the i-th device modulo their number (files of at most one chunk
    /// stay contiguous).
    #[arg(long)]
    pub devices: bool,
}

impl LayoutArgs {
    /// The layout asked for.
    pub fn layout(&self) -> Layout {
        match (self.nstrips, self.nbuckets, self.devices) {
            (nstrips, _, true) => Layout::Spread {
                nstrips,
                chunk: self.chunk,
            },
            (Some(nstrips), Some(nbuckets), false) => Layout::Interleaved {
                nbuckets,
                nstrips,
                chunk: self.chunk,
            },
            _ => Layout::Contiguous,
        }
    }

    /// Checks the combination, then applies the placement to a session.
    pub fn apply(&self, s: &mut Session) -> Result<Layout> {
        if self.nstrips.is_some() && self.nbuckets.is_none() && !self.devices {
            bail!("--nstrips needs --nbuckets (strips in buckets of one device) or --devices");
        }
        if let Some(n) = self.device {
            s.set_placement(Placement::Device(n))?;
        }
        Ok(self.layout())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes() {
        assert_eq!(parse_mode("0644"), Ok(0o644));
        assert_eq!(parse_mode("4755"), Ok(0o4755));
        assert!(parse_mode("0888").is_err());
        assert!(parse_mode("17777").is_err());
    }
}
