//! The devices of a file system beyond its device 0: the table its log
//! records, the table the mount has open in the module, and the label that
//! ties one to the other.
//!
//! `famfs devadd` opens a dax device in the mount's device table
//! (`FAMFS44_IOC_DAXDEV_OPEN`), writes the device's label (a superblock
//! structure flagged secondary, naming the file system and the device's own
//! UUID) into its first 2 MiB, and logs `{size, uuid, index}`. On every
//! other host `famfs mount` and `logplay` find each logged device that the
//! mount lacks, open it at its logged index and check its label before any
//! file on it is instantiated. The label is read through a metadata file,
//! `.meta/.dev<N>`, mapped onto the device's label region (a device on
//! fsdev_dax cannot be mapped raw).
//!
//! Finding a device: the path given for its index (`--dev N=PATH`), or else
//! the one dax device on fsdev_dax of the logged size that this mount does
//! not hold yet. Several such devices are not guessed between: opening one
//! claims it for the mount until umount.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use famfs_format::{Extent, FileMap, LoggedDevice, Superblock, LABEL_REGION, SUPERBLOCK_SIZE};
use uuid::Uuid;

use crate::meta::meta_dir;
use crate::sys::{self, TableEntry};

/// Where the dax bus lists the devices bound to fsdev_dax.
pub const FSDEV_DAX_DRIVER: &str = "/sys/bus/dax/drivers/fsdev_dax";
/// Where the dax bus lists every dax device.
pub const DAX_DEVICES: &str = "/sys/bus/dax/devices";

/// Why a logged device is not usable on this host.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No dax device of the logged size is free on this host.
    #[error(
        "no dax device of {size} bytes on fsdev_dax is free on this host (give its path with \
         --dev {index}=/dev/daxX.Y)"
    )]
    NotFound {
        /// Logged index.
        index: u32,
        /// Logged size.
        size: u64,
    },
    /// Several could be it.
    #[error(
        "{} dax devices of {size} bytes could be it ({}); opening one claims it, so famfs does \
         not guess: give its path with --dev {index}=PATH",
        .candidates.len(),
        .candidates.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    )]
    Ambiguous {
        /// Logged index.
        index: u32,
        /// Logged size.
        size: u64,
        /// The devices that fit.
        candidates: Vec<PathBuf>,
    },
    /// The module refused to open it.
    #[error("cannot open {} as device {index}: {} ({err})", .path.display(), famfs_util::errno_name(.err))]
    Open {
        /// Index.
        index: u32,
        /// The path tried.
        path: PathBuf,
        /// The module's answer.
        err: io::Error,
    },
    /// It is open, but it is not the logged device.
    #[error(
        "{name} (open as device {index}) is not the logged device: {why}. Nothing on device \
         {index} is instantiated; it stays in this mount's device table until umount"
    )]
    WrongLabel {
        /// Index.
        index: u32,
        /// The device's name.
        name: String,
        /// What differs.
        why: String,
    },
    /// Its size differs from the logged one.
    #[error("{name} (device {index}) has {have} bytes, the log says {want}")]
    Size {
        /// Index.
        index: u32,
        /// The device's name.
        name: String,
        /// Its size.
        have: u64,
        /// The logged size.
        want: u64,
    },
    /// The mount has not opened it (and was not asked to).
    #[error("device {index} is not open in this mount (famfs logplay opens it)")]
    NotOpen {
        /// Index.
        index: u32,
    },
    /// It failed (memory failure or removal) in this mount.
    #[error("{name} (device {index}) has failed in this mount")]
    Failed {
        /// Index.
        index: u32,
        /// The device's name.
        name: String,
    },
    /// I/O on the label file or the table.
    #[error(transparent)]
    Io(#[from] crate::meta::Error),
}

fn io_err(what: impl Into<String>) -> impl FnOnce(io::Error) -> Error {
    let f = crate::meta::io_err(what);
    move |err| Error::Io(f(err))
}

/// The metadata file over device `index`'s label region.
pub fn label_path(mpt: &Path, index: u32) -> PathBuf {
    meta_dir(mpt).join(format!(".dev{index}"))
}

/// The device table of the mount at `mpt`, by index.
pub fn open_table(mpt: &Path) -> Result<Vec<(u32, TableEntry)>, Error> {
    let d = File::open(mpt).map_err(io_err(format!("open {}", mpt.display())))?;
    sys::device_table(&d).map_err(io_err(
        "read the mount's device table (FAMFS44_IOC_DAXDEV_GET)",
    ))
}

/// The PUD phase of device `index` of the mount that `f` (any file or
/// directory of it) is in: the device offset, modulo 1 GiB, where the
/// device's memory is 1 GiB aligned, as the module's device table says.
/// `None` when the module does not answer (no `FAMFS44_IOC_DAXDEV_GET`, or
/// no device in that slot).
pub fn pud_phase(f: &File, index: u32) -> Option<u64> {
    sys::daxdev_get(f, index)
        .ok()
        .flatten()
        .map(|e| e.pud_phase)
}

/// Opens (creating it on first use) the label file of device `index`:
/// writable on the master.
pub fn open_label(mpt: &Path, index: u32, write: bool) -> Result<File, Error> {
    let p = label_path(mpt, index);
    if !p.exists() {
        let f = sys::create_ro(&p, 0o600).map_err(io_err(format!("create {}", p.display())))?;
        let map = FileMap::Simple(vec![Extent::on(index, 0, LABEL_REGION)]);
        if let Err(e) = sys::map_create(&f, LABEL_REGION, &map) {
            drop(f);
            let _ = fs::remove_file(&p);
            return Err(io_err(format!(
                "map {} onto device {index}'s label ({})",
                p.display(),
                famfs_util::errno_name(&e)
            ))(e));
        }
        f.set_permissions(fs::Permissions::from_mode(if write {
            0o644
        } else {
            0o444
        }))
        .map_err(io_err(format!("chmod {}", p.display())))?;
    }
    OpenOptions::new()
        .read(true)
        .write(write)
        .open(&p)
        .map_err(io_err(format!("open {}", p.display())))
}

/// Reads what the first bytes of a label file hold: `None` if they are
/// not a superblock structure at all (a device never labelled).
pub fn read_label(f: &File) -> Result<Option<Superblock>, Error> {
    let m = sys::map_ro(f).map_err(io_err("map the label"))?;
    let bytes = &m[..SUPERBLOCK_SIZE];
    sys::cache_invalidate(bytes);
    // One copy, so that what is checked is what is decoded.
    let copy = bytes.to_vec();
    Ok(Superblock::decode(&copy).ok())
}

/// Writes `label` at the start of a label file and flushes it to the
/// shared memory.
pub fn write_label(f: &File, label: &Superblock) -> Result<(), Error> {
    let b = label
        .encode()
        .map_err(|e| io_err("encode the label")(io::Error::other(e.to_string())))?;
    let mut m = sys::map_rw(f).map_err(io_err("map the label"))?;
    m[..SUPERBLOCK_SIZE].copy_from_slice(&b);
    sys::cache_flush(&m[..SUPERBLOCK_SIZE]);
    Ok(())
}

/// Checks that the label of device `d` (open at its index) names file
/// system `fs_uuid` and the logged device.
pub fn check_label(mpt: &Path, fs_uuid: Uuid, d: &LoggedDevice, name: &str) -> Result<(), Error> {
    let f = open_label(mpt, d.index, false)?;
    let wrong = |why: String| Error::WrongLabel {
        index: d.index,
        name: name.to_owned(),
        why,
    };
    match read_label(&f)? {
        None => Err(wrong("it has no famfs label".into())),
        Some(l) if !l.is_label() => Err(wrong(format!(
            "it holds the superblock of file system {}",
            l.fs_uuid
        ))),
        Some(l) if l.fs_uuid != fs_uuid => Err(wrong(format!(
            "its label belongs to file system {}",
            l.fs_uuid
        ))),
        Some(l) if l.dev_uuid != d.uuid => Err(wrong(format!(
            "its label names device {}, the log {}",
            l.dev_uuid, d.uuid
        ))),
        Some(_) => Ok(()),
    }
}

/// A dax device on this host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DaxDevice {
    /// Its name ("dax1.0").
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    /// Bound to fsdev_dax.
    pub fsdev: bool,
}

/// The dax devices of this host, by name.
pub fn dax_devices() -> Vec<DaxDevice> {
    let mut out: Vec<DaxDevice> = fs::read_dir(DAX_DEVICES)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let size = fs::read_to_string(e.path().join("size"))
                .ok()?
                .trim()
                .parse()
                .ok()?;
            let fsdev = Path::new(FSDEV_DAX_DRIVER).join(&name).exists();
            Some(DaxDevice { name, size, fsdev })
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// The devices that could be logged device `d`: on fsdev_dax, of its
/// size, not in `table` (this mount's).
pub fn candidates(
    d: &LoggedDevice,
    host: &[DaxDevice],
    table: &[(u32, TableEntry)],
) -> Vec<PathBuf> {
    host.iter()
        .filter(|x| x.fsdev && x.size == d.size)
        .filter(|x| !table.iter().any(|(_, e)| e.name == x.name))
        .map(|x| Path::new("/dev").join(&x.name))
        .collect()
}

/// What [`attach`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Attached {
    /// The mount had it open already (and its label is right).
    Already(String),
    /// It was found and opened now.
    Opened(String),
}

/// Makes logged device `d` part of the mount at `mpt` (file system
/// `fs_uuid`): with `open`, opens it at its index if the mount lacks it
/// (the path `given`, or the one candidate); then checks its size, health
/// and label. Files on it may be instantiated only after this succeeded.
pub fn attach(
    mpt: &Path,
    fs_uuid: Uuid,
    d: &LoggedDevice,
    given: Option<&Path>,
    open: bool,
) -> Result<Attached, Error> {
    let table = open_table(mpt)?;
    let (entry, opened) = match table.iter().find(|(i, _)| *i == d.index) {
        Some((_, e)) => (e.clone(), false),
        None if !open => return Err(Error::NotOpen { index: d.index }),
        None => {
            let path = match given {
                Some(p) => p.to_path_buf(),
                None => {
                    let mut c = candidates(d, &dax_devices(), &table);
                    match c.len() {
                        0 => {
                            return Err(Error::NotFound {
                                index: d.index,
                                size: d.size,
                            })
                        }
                        1 => c.remove(0),
                        _ => {
                            return Err(Error::Ambiguous {
                                index: d.index,
                                size: d.size,
                                candidates: c,
                            })
                        }
                    }
                }
            };
            let dir = File::open(mpt).map_err(io_err(format!("open {}", mpt.display())))?;
            sys::daxdev_open(&dir, d.index, &path).map_err(|err| Error::Open {
                index: d.index,
                path: path.clone(),
                err,
            })?;
            let e = sys::daxdev_get(&dir, d.index)
                .map_err(io_err("read the mount's device table"))?
                .ok_or_else(|| {
                    io_err("read the mount's device table")(io::Error::other(
                        "the device just opened is not in the table",
                    ))
                })?;
            (e, true)
        }
    };
    if entry.failed {
        return Err(Error::Failed {
            index: d.index,
            name: entry.name,
        });
    }
    if entry.size != d.size {
        return Err(Error::Size {
            index: d.index,
            name: entry.name,
            have: entry.size,
            want: d.size,
        });
    }
    check_label(mpt, fs_uuid, d, &entry.name)?;
    Ok(if opened {
        Attached::Opened(entry.name)
    } else {
        Attached::Already(entry.name)
    })
}

/// Parses `N=PATH` (a device index and the path of its dax device).
pub fn parse_dev_arg(s: &str) -> Result<(u32, PathBuf), String> {
    let (i, p) = s
        .split_once('=')
        .ok_or_else(|| format!("'{s}' is not INDEX=PATH (e.g. 1=/dev/dax1.0)"))?;
    let i: u32 = i
        .parse()
        .map_err(|_| format!("'{i}' is not a device index"))?;
    if i == 0 || i >= famfs_format::MAX_DEVICES {
        return Err(format!(
            "device index {i} is not 1 to {} (device 0 is the mounted one)",
            famfs_format::MAX_DEVICES - 1
        ));
    }
    if p.is_empty() {
        return Err(format!("'{s}' has no path"));
    }
    Ok((i, PathBuf::from(p)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn logged(index: u32, size: u64) -> LoggedDevice {
        LoggedDevice {
            index,
            size,
            uuid: Uuid::from_u128(u128::from(index)),
            slot: 0,
        }
    }

    fn dax(name: &str, size: u64, fsdev: bool) -> DaxDevice {
        DaxDevice {
            name: name.into(),
            size,
            fsdev,
        }
    }

    #[test]
    fn candidates_are_free_fsdev_devices_of_the_logged_size() {
        let host = vec![
            dax("dax0.0", 1 << 30, true),
            dax("dax1.0", 2 << 30, true),
            dax("dax2.0", 2 << 30, false),
            dax("dax3.0", 2 << 30, true),
        ];
        let table = vec![(
            0,
            TableEntry {
                name: "dax0.0".into(),
                size: 1 << 30,
                failed: false,
                pud_phase: 0,
            },
        )];
        assert_eq!(
            candidates(&logged(1, 2 << 30), &host, &table),
            vec![PathBuf::from("/dev/dax1.0"), PathBuf::from("/dev/dax3.0")]
        );
        // The mount's own device is never a candidate.
        assert!(candidates(&logged(1, 1 << 30), &host, &table).is_empty());
    }

    #[test]
    fn dev_args() {
        assert_eq!(
            parse_dev_arg("1=/dev/dax1.0"),
            Ok((1, "/dev/dax1.0".into()))
        );
        assert!(parse_dev_arg("0=/dev/dax0.0").is_err());
        assert!(parse_dev_arg("64=/dev/dax0.0").is_err());
        assert!(parse_dev_arg("x=/dev/dax0.0").is_err());
        assert!(parse_dev_arg("/dev/dax0.0").is_err());
        assert!(parse_dev_arg("2=").is_err());
    }
}
