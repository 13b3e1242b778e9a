//! `famfs devadd`: add a dax device to a mounted file system (master only).

use std::path::PathBuf;

use anyhow::Result;

use super::{begin_session, check_device, mount_point};

#[derive(clap::Args)]
pub struct Args {
    /// The mount point of the file system (on its master).
    mountpoint: PathBuf,
    /// Overwrite the device's famfs superblock or the label of another
    /// file system (a device taken from a file system that is gone).
    #[arg(short, long)]
    force: bool,
    /// Rewrite the superblock of a file system of an older format (version
    /// 47, one device) to the format with device entries (48, 2.2) first.
    #[arg(long)]
    upgrade_format: bool,
    /// The dax device to add (/dev/daxX.Y on fsdev_dax).
    device: PathBuf,
}

/// Opens the device in the mount's device table, labels it and logs it;
/// every host then finds it by its label (`famfs mount`, `logplay`).
pub fn run(a: Args) -> Result<u8> {
    let mpt = mount_point(&a.mountpoint)?;
    check_device(&a.device)?;
    let mut s = begin_session(&mpt)?;
    let before = s.fs.sb.has_device_entries();
    let d = s.add_device(&a.device, a.force, a.upgrade_format)?;
    if !before {
        println!(
            "famfs devadd: file system {} upgraded to format version {} ({}.{})",
            s.fs.sb.fs_uuid, s.fs.sb.version, s.fs.sb.omf.0, s.fs.sb.omf.1
        );
    }
    if d.new {
        println!(
            "famfs devadd: {} is device {} of file system {} ({} bytes, uuid {})",
            d.name, d.index, s.fs.sb.fs_uuid, d.size, d.uuid
        );
    } else {
        println!(
            "famfs devadd: {} is already device {} of file system {} (uuid {})",
            d.name, d.index, s.fs.sb.fs_uuid, d.uuid
        );
    }
    Ok(0)
}
