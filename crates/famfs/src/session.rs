//! Metadata changes on the master: one locked session appends log entries
//! and instantiates what they describe on this host.

use std::collections::HashMap;
use std::fs::{self, File};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use famfs_format::{check_relpath, Allocator, EntryBody, FileMap, FormatError};
use rand::seq::SliceRandom;

use crate::meta::{self, Fs};
use crate::sys;

/// Log flag of files every host may write (upstream hard-codes it).
pub const FLAG_ALL_HOSTS_RW: u32 = 2;

/// How a new file's memory is laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// One contiguous extent (first fit).
    Contiguous,
    /// Interleaved over `nstrips` of `nbuckets` buckets in `chunk`-byte
    /// chunks; files of at most one chunk are contiguous.
    Interleaved {
        /// Buckets the device is cut into.
        nbuckets: u64,
        /// Strips per file.
        nstrips: u64,
        /// Chunk size.
        chunk: u64,
    },
}

/// What the log says a path is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Logged {
    /// A directory.
    Dir,
    /// A file of this size.
    File(u64),
}

/// Owner and mode of a new file or directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attrs {
    /// Mode bits.
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
}

/// Outcome of [`Session::create`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Created {
    /// A new file was logged and instantiated.
    New,
    /// The file was already logged with this size (left as it is).
    Existing,
}

/// A locked metadata session on the master.
pub struct Session {
    /// The file system.
    pub fs: Fs,
    alloc: Allocator,
    logged: HashMap<String, Logged>,
    room: u64,
    unreadable: Vec<(u64, FormatError)>,
}

impl Session {
    /// Opens the famfs at `mpt` for metadata changes: this host must be the
    /// master and the mount current; the log is locked until the session is
    /// dropped, and replayed to rebuild the allocation bitmap (slots that
    /// do not decode are skipped; see [`Session::unreadable`]).
    pub fn begin(mpt: &Path) -> Result<Session> {
        let fs = Fs::open(mpt, true)?;
        fs.lock()?;
        let (h, r) = fs.read_log()?;
        meta::match_alloc_unit(mpt, &fs.sb)?;
        let mut alloc = Allocator::with_unit(
            fs.dev_size,
            fs.sb.log_offset,
            fs.sb.log_len,
            fs.sb.alloc_unit,
        );
        alloc.mark_log(&r.entries);
        let mut logged = HashMap::new();
        for e in r.entries {
            match e.body {
                EntryBody::Mkdir { relpath, .. } => {
                    logged.entry(relpath).or_insert(Logged::Dir);
                }
                EntryBody::File { relpath, size, .. } => {
                    logged.entry(relpath).or_insert(Logged::File(size));
                }
            }
        }
        Ok(Session {
            fs,
            alloc,
            logged,
            room: (h.last_index + 1).saturating_sub(h.next_index),
            unreadable: r.bad,
        })
    }

    /// The log slots that did not decode when the session began (torn or
    /// corrupt entries): ignored, their memory is not known to be in use.
    pub fn unreadable(&self) -> &[(u64, FormatError)] {
        &self.unreadable
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.fs.mpt.join(rel)
    }

    fn check_new(&self, rel: &str) -> Result<()> {
        check_relpath(rel).map_err(|m| anyhow!("{m}"))?;
        if let Some((parent, _)) = rel.rsplit_once('/') {
            match self.logged.get(parent) {
                Some(Logged::Dir) => {}
                Some(Logged::File(_)) => bail!("'{parent}' is a file, not a directory"),
                None => bail!(
                    "directory '{parent}' is not in the famfs log (create it with famfs mkdir)"
                ),
            }
        }
        if fs::symlink_metadata(self.path(rel)).is_ok() {
            bail!(
                "'{rel}' exists on this host but is not in the famfs log (it was not created \
                 with famfs); remove it first"
            );
        }
        if self.room == 0 {
            return Err(meta::Error::LogFull(famfs_format::log_slots(self.fs.sb.log_len)).into());
        }
        Ok(())
    }

    /// Logs and creates directory `rel`. `Ok(false)` if it already exists
    /// as a logged directory.
    pub fn mkdir(&mut self, rel: &str, mode: u32, uid: u32, gid: u32) -> Result<bool> {
        match self.logged.get(rel) {
            Some(Logged::Dir) => return Ok(false),
            Some(Logged::File(_)) => bail!("'{rel}' exists and is a file"),
            None => {}
        }
        self.check_new(rel)?;
        self.fs.append(EntryBody::Mkdir {
            uid,
            gid,
            mode: mode & 0o7777,
            relpath: rel.to_owned(),
        })?;
        self.room -= 1;
        self.logged.insert(rel.to_owned(), Logged::Dir);
        let p = self.path(rel);
        sys::make_dir(&p, mode, uid, gid).with_context(|| {
            format!("'{rel}' is logged but could not be created here (famfs logplay retries)")
        })?;
        Ok(true)
    }

    /// Logs and instantiates a file of `size` bytes. The log records `mode`;
    /// this host's inode gets `local_mode` (e.g. writable while `cp` fills
    /// it). A file already logged with the same size is left alone.
    pub fn create(
        &mut self,
        rel: &str,
        size: u64,
        attrs: Attrs,
        local_mode: u32,
        layout: Layout,
    ) -> Result<Created> {
        let Attrs { mode, uid, gid } = attrs;
        match self.logged.get(rel) {
            Some(Logged::File(s)) if *s == size => return Ok(Created::Existing),
            Some(Logged::File(s)) => bail!("'{rel}' exists with a different size ({s} bytes)"),
            Some(Logged::Dir) => bail!("'{rel}' exists and is a directory"),
            None => {}
        }
        self.check_new(rel)?;
        let map = self.allocate(size, layout)?;
        // Never log a map the module would refuse (the allocator's maps
        // follow its rules; this says so, with the module's own check).
        famfs_format::check_map(&map, size, self.fs.dev_size, self.fs.sb.alloc_unit).map_err(
            |e| {
                anyhow!(
                    "the allocated map for '{rel}' breaks the module's rules ({}); nothing was \
                 logged",
                    e.describe()
                )
            },
        )?;
        self.fs.append(EntryBody::File {
            size,
            flags: FLAG_ALL_HOSTS_RW,
            uid,
            gid,
            mode: mode & 0o7777,
            relpath: rel.to_owned(),
            map: map.clone(),
        })?;
        self.room -= 1;
        self.logged.insert(rel.to_owned(), Logged::File(size));
        #[cfg(feature = "test-hooks")]
        if crate::hooks::crash_point() == Some(crate::hooks::CrashPoint::AfterAppend) {
            crate::hooks::crash("after-append: aborting before instantiation");
        }
        instantiate(&self.path(rel), size, local_mode, uid, gid, &map).with_context(|| {
            format!("'{rel}' is logged but could not be instantiated here (famfs logplay retries)")
        })?;
        Ok(Created::New)
    }

    fn allocate(&mut self, size: u64, layout: Layout) -> Result<FileMap> {
        let no_space = |free: u64, largest: u64| {
            anyhow!(
                "no space for {size} bytes: {free} bytes free, the largest free range is \
                 {largest} bytes; nothing was changed"
            )
        };
        match layout {
            Layout::Interleaved {
                nbuckets,
                nstrips,
                chunk,
            } if size > chunk => {
                let mut order: Vec<u64> = (0..nbuckets).collect();
                order.shuffle(&mut rand::thread_rng());
                let strips = self
                    .alloc
                    .alloc_interleaved(size, nbuckets, nstrips, chunk, &order)
                    .map_err(|e| anyhow!("interleaved allocation of {size} bytes: {e}"))?;
                Ok(FileMap::Interleaved {
                    chunk_size: chunk,
                    strips,
                })
            }
            _ => {
                // A failed allocation changes nothing, so what is free is
                // counted only then: counting every time walked the whole
                // bitmap per file (a million units with 4 KiB units on
                // 4 GiB), which made creating many files quadratic.
                let Some(x) = self.alloc.alloc(size.max(1)) else {
                    return Err(no_space(self.alloc.free_bytes(), self.alloc.largest_free()));
                };
                Ok(FileMap::Simple(vec![x]))
            }
        }
    }
}

/// Creates the inode of a logged file on this host and gives it its map.
/// On failure nothing is left behind.
pub fn instantiate(
    path: &Path,
    size: u64,
    mode: u32,
    uid: u32,
    gid: u32,
    map: &FileMap,
) -> Result<File> {
    // Created with its final mode: a read-only descriptor is all the map
    // ioctl needs, even on a file without write permission.
    let f =
        sys::create_ro(path, mode & 0o777).with_context(|| format!("create {}", path.display()))?;
    let chown = if (uid, gid) != sys::ids() {
        sys::fchown(&f, uid, gid).context("chown")
    } else {
        Ok(())
    };
    let r = chown
        .and_then(|_| {
            sys::map_create(&f, size, map).map_err(|e| {
                anyhow!(
                    "FAMFSIOC_MAP_CREATE_V2: {} ({e})",
                    famfs_util::errno_name(&e)
                )
            })
        })
        .and_then(|_| {
            if mode & 0o7000 != 0 {
                f.set_permissions(fs::Permissions::from_mode(mode & 0o7777))
                    .context("chmod")
            } else {
                Ok(())
            }
        });
    if let Err(e) = r {
        drop(f);
        let _ = fs::remove_file(path);
        return Err(e);
    }
    Ok(f)
}
