//! The replay target of a real mount: creates the directories and files of
//! the log under the mount point and gives files their maps.

use std::fs::{self, File};
use std::path::Path;

use famfs_format::EntryBody;

use super::{Outcome, Target};
use crate::session::instantiate;
use crate::sys;

/// Instantiates entries under a famfs mount point on this host.
pub struct HostTarget<'a> {
    mpt: &'a Path,
    master: bool,
    fresh: bool,
    dry_run: bool,
    /// The devices files may use here (bit N: device N is open in the
    /// mount and its label checked).
    devices: u64,
}

impl<'a> HostTarget<'a> {
    /// A target for the mount at `mpt`. On a client (`master` false) files
    /// lose their write bits. A dry run only looks: what would be created
    /// is reported as created.
    pub fn new(mpt: &'a Path, master: bool, dry_run: bool) -> HostTarget<'a> {
        // A mount holding nothing but .meta is fresh: nearly everything in
        // the log is new there.
        let fresh = fs::read_dir(mpt)
            .map(|d| d.flatten().all(|e| e.file_name() == ".meta"))
            .unwrap_or(false);
        HostTarget {
            mpt,
            master,
            fresh,
            dry_run,
            devices: 1,
        }
    }

    /// The devices files may use (bit N for device N; device 0 alone by
    /// default): a file with memory on any other device is not
    /// instantiated.
    pub fn with_devices(mut self, devices: u64) -> HostTarget<'a> {
        self.devices = devices | 1;
        self
    }

    fn mkdir(&self, rel: &str, p: &Path, mode: u32, uid: u32, gid: u32) -> Outcome {
        let not_dir = || Outcome::Failed(format!("'{rel}' exists and is not a directory"));
        if self.dry_run || !self.fresh {
            match fs::symlink_metadata(p) {
                Ok(m) if m.is_dir() => return Outcome::Existing,
                Ok(_) => return not_dir(),
                Err(_) if self.dry_run => return Outcome::DirCreated,
                Err(_) => {}
            }
        }
        // On a fresh mount, try first: one system call per directory is
        // what replay costs.
        match sys::make_dir(p, mode, uid, gid) {
            Ok(()) => Outcome::DirCreated,
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
                match fs::symlink_metadata(p) {
                    Ok(m) if m.is_dir() => Outcome::Existing,
                    _ => not_dir(),
                }
            }
            Err(err) => Outcome::Failed(format!("mkdir '{rel}': {err}")),
        }
    }

    fn file(&self, rel: &str, p: &Path, e: &EntryBody) -> Outcome {
        let EntryBody::File {
            size,
            uid,
            gid,
            mode,
            map,
            ..
        } = e
        else {
            unreachable!("called for file entries")
        };
        let mode = if self.master { *mode } else { *mode & !0o222 };
        // A file on a device this mount has not opened (or whose label did
        // not match): never given other memory at the same offsets.
        if let Some(dev) = map
            .ranges()
            .iter()
            .map(|x| x.dev)
            .find(|&d| d >= 64 || self.devices & (1u64 << d) == 0)
        {
            return Outcome::Failed(format!(
                "'{rel}' is on device {dev}, which this mount does not have: not instantiated"
            ));
        }
        match fs::symlink_metadata(p) {
            Ok(m) if m.is_file() => {
                // Present; a file left unmapped by an interrupted creation
                // gets its map now.
                let f = match File::open(p) {
                    Ok(f) => f,
                    Err(err) => return Outcome::Failed(format!("open '{rel}': {err}")),
                };
                match sys::map_get(&f) {
                    Ok(_) => Outcome::Existing,
                    Err(err) if err.raw_os_error() == Some(libc::ENODATA) => {
                        if self.dry_run {
                            return Outcome::FileMapped;
                        }
                        match sys::map_create(&f, *size, map) {
                            Ok(()) => Outcome::FileMapped,
                            Err(err) => Outcome::Failed(format!("map '{rel}': {err}")),
                        }
                    }
                    Err(_) => Outcome::Failed(format!("'{rel}' exists and is not famfs")),
                }
            }
            Ok(_) => Outcome::Failed(format!("'{rel}' exists and is not a file")),
            Err(_) if self.dry_run => Outcome::FileCreated,
            Err(_) => match instantiate(p, *size, mode, *uid, *gid, map) {
                Ok(_) => Outcome::FileCreated,
                Err(err) => Outcome::Failed(format!("'{rel}': {err:#}")),
            },
        }
    }
}

impl Target for HostTarget<'_> {
    fn instantiate(&self, rel: &str, e: &EntryBody) -> Outcome {
        let p = self.mpt.join(rel);
        match e {
            EntryBody::Mkdir { uid, gid, mode, .. } => self.mkdir(rel, &p, *mode, *uid, *gid),
            EntryBody::File { .. } => self.file(rel, &p, e),
            // Not given to targets (the replay engine keeps them).
            EntryBody::AddDevice { .. } => Outcome::Existing,
        }
    }
}
