//! Metadata changes on the master: one locked session appends log entries
//! and instantiates what they describe on this host.

use std::collections::HashMap;
use std::fs::{self, File};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use famfs_format::{
    check_map_devices, check_relpath, device_table, fmap, strip_len, Allocator, EntryBody, FileMap,
    FormatError, LoggedDevice, ALLOC_UNIT, MAX_STRIPS,
};
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
    /// Interleaved across the devices of the file system: strip i on the
    /// i-th device (by index) modulo their number, in `chunk`-byte chunks;
    /// files of at most one chunk are contiguous.
    Spread {
        /// Strips per file (default: one per device).
        nstrips: Option<u64>,
        /// Chunk size.
        chunk: u64,
    },
}

/// On which device a new file's memory goes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Placement {
    /// The device with the most free space that can hold it.
    #[default]
    MostRoom,
    /// This device.
    Device(u32),
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

/// A device [`Session::add_device`] added (or found added).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddedDevice {
    /// Its index.
    pub index: u32,
    /// Its name ("dax1.0").
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its identity, in its label and the log.
    pub uuid: uuid::Uuid,
    /// False when the log had it already (nothing was changed).
    pub new: bool,
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
    /// Where new files go.
    place: Placer,
    /// Their sizes by index (0 for devices files may not use).
    dev_sizes: [u64; fmap::MAX_DEVICES],
    /// Logged devices files may not use on this host, and why.
    unusable: Vec<(LoggedDevice, String)>,
    /// The devices the log records, device 0 first.
    logged_devices: Vec<LoggedDevice>,
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
        // Where each device's memory is 1 GiB aligned, so that big files
        // can be placed for 1 GiB mappings: phase 0 (no preference beyond
        // device offsets that are multiples of 1 GiB) when the module does
        // not say.
        let top = File::open(mpt).ok();
        let phase = |i: u32| {
            top.as_ref()
                .and_then(|f| crate::devices::pud_phase(f, i))
                .unwrap_or(0)
        };
        let mut alloc = Allocator::with_unit(
            fs.dev_size,
            fs.sb.log_offset,
            fs.sb.log_len,
            fs.sb.alloc_unit,
        )
        .with_pud_phase(phase(0));
        alloc.mark_log(&r.entries);
        let mut allocs = vec![alloc];
        let mut dev_sizes = [0u64; fmap::MAX_DEVICES];
        dev_sizes[0] = fs.dev_size;
        // The devices the log adds that this mount has open, healthy and
        // with their label: files may use them.
        let (table, _) = device_table(fs.dev_size, fs.sb.dev_uuid, &r);
        let mut unusable = Vec::new();
        for d in table.iter().filter(|d| d.index != 0) {
            // Checked, never opened here: `famfs logplay` opens them.
            match crate::devices::attach(mpt, fs.sb.fs_uuid, d, None, false) {
                Ok(_) => {
                    let mut a = Allocator::for_device(d.index, d.size, fs.sb.alloc_unit)
                        .with_pud_phase(phase(d.index));
                    a.mark_log(&r.entries);
                    allocs.push(a);
                    dev_sizes[d.index as usize] = d.size;
                }
                Err(e) => unusable.push((*d, e.to_string())),
            }
        }
        let mut logged = HashMap::new();
        for e in r.entries {
            match e.body {
                EntryBody::Mkdir { relpath, .. } => {
                    logged.entry(relpath).or_insert(Logged::Dir);
                }
                EntryBody::File { relpath, size, .. } => {
                    logged.entry(relpath).or_insert(Logged::File(size));
                }
                EntryBody::AddDevice { .. } => {}
            }
        }
        Ok(Session {
            fs,
            place: Placer::new(allocs),
            dev_sizes,
            unusable,
            logged_devices: table,
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

    /// Logged devices that new files cannot use on this host (not open in
    /// the mount, failed, or with another label), and why.
    pub fn unusable_devices(&self) -> &[(LoggedDevice, String)] {
        &self.unusable
    }

    /// The devices new files may use, by index (device 0 first).
    pub fn usable_devices(&self) -> Vec<u32> {
        self.place.allocs.iter().map(|a| a.device()).collect()
    }

    /// Where new files go from now on. A pinned device must be one new
    /// files may use.
    pub fn set_placement(&mut self, p: Placement) -> Result<()> {
        if self.place.set_placement(p) {
            return Ok(());
        }
        let Placement::Device(n) = p else {
            unreachable!("only a pinned device can be refused")
        };
        let why = self
            .unusable
            .iter()
            .find(|(d, _)| d.index == n)
            .map(|(_, why)| format!(": {why}"))
            .unwrap_or_else(|| " (the log records no such device; see famfs devices)".to_string());
        bail!("device {n} cannot hold new files{why}");
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

    /// The devices the log records, device 0 first.
    pub fn logged_devices(&self) -> &[LoggedDevice] {
        &self.logged_devices
    }

    /// Adds the dax device at `path` (on fsdev_dax) to the file system: opens
    /// it in the mount's device table at the lowest index neither the log
    /// nor the table uses, writes its label (the file system's UUID and a new
    /// UUID of the device) into its first 2 MiB, then logs it. A device the
    /// log has already is left as it is. A device that holds a famfs
    /// superblock, or the label of another file system, is not overwritten
    /// (it stays open in this mount's table until umount, unused), unless
    /// `force`. A file system of a format without device entries (version
    /// 47) is refused unless `upgrade`, which rewrites its superblock to
    /// version 48, format 2.2 first.
    pub fn add_device(&mut self, path: &Path, force: bool, upgrade: bool) -> Result<AddedDevice> {
        use crate::devices;
        let mpt = self.fs.mpt.clone();
        if !self.fs.sb.has_device_entries() {
            let (v, (maj, min)) = (self.fs.sb.version, self.fs.sb.omf);
            if !upgrade {
                bail!(
                    "file system {} has format version {v} ({maj}.{min}), which has one device: \
                     tools of that format do not read device entries. Nothing was changed; \
                     --upgrade-format rewrites its superblock to version {} ({}.{}) first",
                    self.fs.sb.fs_uuid,
                    famfs_format::SUPERBLOCK_VERSION,
                    famfs_format::OMF_VER_MAJOR,
                    famfs_format::OMF_VER_MINOR
                );
            }
            let new = self.fs.sb.upgraded();
            meta::write_superblock(&mpt, &new)?;
            self.fs.sb = new;
        }
        let real = fs::canonicalize(path).with_context(|| format!("{}", path.display()))?;
        let name = real
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let table = devices::open_table(&mpt)?;
        let at = table.iter().find(|(_, e)| e.name == name).map(|(i, _)| *i);
        if at == Some(0) {
            bail!("{} is this file system's device 0", path.display());
        }
        if let Some(d) = at.and_then(|i| self.logged_devices.iter().find(|d| d.index == i)) {
            return Ok(AddedDevice {
                index: d.index,
                name,
                size: d.size,
                uuid: d.uuid,
                new: false,
            });
        }
        if self.room == 0 {
            return Err(meta::Error::LogFull(famfs_format::log_slots(self.fs.sb.log_len)).into());
        }
        let used = |i: u32| {
            self.logged_devices.iter().any(|d| d.index == i) || table.iter().any(|(t, _)| *t == i)
        };
        let index = match at {
            Some(i) => i,
            None => (1..famfs_format::MAX_DEVICES)
                .find(|&i| !used(i))
                .ok_or_else(|| anyhow!("the device table is full (63 added devices)"))?,
        };
        if at.is_none() {
            let dir = File::open(&mpt).with_context(|| format!("open {}", mpt.display()))?;
            sys::daxdev_open(&dir, index, &real).map_err(|e| {
                anyhow!(
                    "cannot add {}: {} ({e}); nothing was changed",
                    path.display(),
                    famfs_util::errno_name(&e)
                )
            })?;
        }
        let stays = format!(
            "nothing was logged; {name} stays open as device {index} of this mount until umount"
        );
        let dir = File::open(&mpt).with_context(|| format!("open {}", mpt.display()))?;
        let entry = sys::daxdev_get(&dir, index)?
            .ok_or_else(|| anyhow!("device {index} is not in the table after opening it"))?;
        if entry.size <= famfs_format::LABEL_REGION {
            bail!(
                "{name} has {} bytes, too small for a label; {stays}",
                entry.size
            );
        }
        let label_file = devices::open_label(&mpt, index, true)?;
        let uuid = match devices::read_label(&label_file)? {
            Some(l) if !l.is_label() && !force => bail!(
                "{name} holds the superblock of famfs file system {}: not overwritten (--force \
                 overwrites it); {stays}",
                l.fs_uuid
            ),
            Some(l) if l.fs_uuid != self.fs.sb.fs_uuid && !force => bail!(
                "{name} holds the label of a device of famfs file system {}: not overwritten \
                 (--force overwrites it); {stays}",
                l.fs_uuid
            ),
            // Labelled for this file system by an add that stopped before
            // its log entry: the same device again.
            Some(l) if l.is_label() && l.fs_uuid == self.fs.sb.fs_uuid => l.dev_uuid,
            _ => uuid::Uuid::new_v4(),
        };
        devices::write_label(&label_file, &self.fs.sb.label(uuid, entry.size, &name))?;
        self.fs.append(EntryBody::AddDevice {
            size: entry.size,
            uuid,
            index,
        })?;
        self.room -= 1;
        let d = LoggedDevice {
            index,
            size: entry.size,
            uuid,
            slot: u64::MAX,
        };
        self.logged_devices.push(d);
        self.place.allocs.push(
            Allocator::for_device(index, entry.size, self.fs.sb.alloc_unit)
                .with_pud_phase(entry.pud_phase),
        );
        self.dev_sizes[index as usize] = entry.size;
        Ok(AddedDevice {
            index,
            name,
            size: entry.size,
            uuid,
            new: true,
        })
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
        let map = self.place.allocate(size, layout)?;
        // Never log a map the module would refuse (the allocator's maps
        // follow its rules; this says so, with the module's own check).
        check_map_devices(&map, size, &self.dev_sizes, self.fs.sb.alloc_unit).map_err(|e| {
            anyhow!(
                "the allocated map for '{rel}' breaks the module's rules ({}); nothing was \
                 logged",
                e.describe()
            )
        })?;
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
}

/// New files' memory: one bitmap per device files may use, and the rule
/// that picks among them.
#[derive(Clone)]
pub struct Placer {
    allocs: Vec<Allocator>,
    placement: Placement,
}

impl Placer {
    /// Over these bitmaps (device 0's first), placing by most room.
    pub fn new(allocs: Vec<Allocator>) -> Placer {
        Placer {
            allocs,
            placement: Placement::MostRoom,
        }
    }

    /// Pins new files to a device (which must have a bitmap here).
    pub fn set_placement(&mut self, p: Placement) -> bool {
        if let Placement::Device(n) = p {
            if !self.allocs.iter().any(|a| a.device() == n) {
                return false;
            }
        }
        self.placement = p;
        true
    }

    /// The bitmaps, by device.
    pub fn allocators(&self) -> &[Allocator] {
        &self.allocs
    }

    /// The bitmaps to try for a file of `size` bytes, best first: the
    /// pinned device, or every device by free space (most first; ties to
    /// the lower index).
    fn choices(&self) -> Vec<usize> {
        match self.placement {
            Placement::Device(n) => self
                .allocs
                .iter()
                .position(|a| a.device() == n)
                .into_iter()
                .collect(),
            Placement::MostRoom => {
                let mut k: Vec<usize> = (0..self.allocs.len()).collect();
                k.sort_by_key(|&i| std::cmp::Reverse(self.allocs[i].free_bytes()));
                k
            }
        }
    }

    /// Allocates the memory of a file of `size` bytes laid out as asked;
    /// on failure nothing is taken.
    pub fn allocate(&mut self, size: u64, layout: Layout) -> Result<FileMap> {
        let choices = self.choices();
        let no_space = |allocs: &[Allocator]| {
            if let [only] = allocs {
                return anyhow!(
                    "no space for {size} bytes: {} bytes free, the largest free range is {} \
                     bytes; nothing was changed",
                    only.free_bytes(),
                    only.largest_free()
                );
            }
            let each: Vec<String> = choices
                .iter()
                .map(|&k| {
                    let a = &allocs[k];
                    format!(
                        "device {}: {} bytes free, the largest free range {} bytes",
                        a.device(),
                        a.free_bytes(),
                        a.largest_free()
                    )
                })
                .collect();
            anyhow!(
                "no space for {size} bytes ({}); nothing was changed",
                each.join("; ")
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
                let k = choices[0];
                let strips = self.allocs[k]
                    .alloc_interleaved(size, nbuckets, nstrips, chunk, &order)
                    .map_err(|e| anyhow!("interleaved allocation of {size} bytes: {e}"))?;
                Ok(FileMap::Interleaved {
                    chunk_size: chunk,
                    strips,
                })
            }
            Layout::Spread { nstrips, chunk } if size > chunk => {
                if !chunk.is_power_of_two() || chunk % ALLOC_UNIT != 0 {
                    bail!(
                        "chunk size must be a power of two and a multiple of 2 MiB (got {chunk})"
                    );
                }
                let n = self.allocs.len() as u64;
                let nstrips = nstrips.unwrap_or(n);
                if nstrips == 0 || nstrips > MAX_STRIPS as u64 {
                    bail!("nstrips must be 1 to {MAX_STRIPS} (got {nstrips})");
                }
                let len = strip_len(size, nstrips, chunk);
                // All strips or none: a strip that does not fit gives back
                // the ones taken before it.
                let saved = self.allocs.clone();
                let mut strips = Vec::new();
                for i in 0..nstrips {
                    let k = (i % n) as usize;
                    match self.allocs[k].alloc(len) {
                        Some(x) => strips.push(x),
                        None => {
                            let dev = self.allocs[k].device();
                            let (free, largest) =
                                (self.allocs[k].free_bytes(), self.allocs[k].largest_free());
                            self.allocs = saved;
                            bail!(
                                "no room for strip {i} ({len} bytes) on device {dev}: {free} \
                                 bytes free, the largest free range {largest} bytes; nothing was \
                                 changed"
                            );
                        }
                    }
                }
                Ok(FileMap::Interleaved {
                    chunk_size: chunk,
                    strips,
                })
            }
            _ => {
                // A file of 1 GiB or more goes first where its memory is
                // 1 GiB aligned (on the first device, in the order of
                // choice, that has such room), so that the module can map
                // it with 1 GiB entries; else, as smaller files, first fit
                // on the first device that can hold it. A failed allocation
                // changes nothing, so what is free is reported only then.
                for &k in &choices {
                    if let Some(x) = self.allocs[k].alloc_pud(size) {
                        return Ok(FileMap::Simple(vec![x]));
                    }
                }
                for &k in &choices {
                    if let Some(x) = self.allocs[k].alloc(size.max(1)) {
                        return Ok(FileMap::Simple(vec![x]));
                    }
                }
                Err(no_space(&self.allocs))
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

#[cfg(test)]
mod tests {
    use super::*;
    use famfs_format::Extent;

    const MIB: u64 = 1 << 20;
    const GIB: u64 = 1 << 30;

    /// Device 0 of `d0` bytes (superblock and an 8 MiB log taken) and
    /// added devices of these sizes.
    fn placer(d0: u64, more: &[(u32, u64)]) -> Placer {
        let mut v = vec![Allocator::new(d0, 2 * MIB, 8 * MIB)];
        for &(i, size) in more {
            v.push(Allocator::for_device(i, size, 2 * MIB));
        }
        Placer::new(v)
    }

    /// The same with each device's PUD phase: `(index, size, phase)`,
    /// device 0 first.
    fn placer_phased(devs: &[(u32, u64, u64)]) -> Placer {
        let v = devs
            .iter()
            .map(|&(i, size, phase)| {
                let a = if i == 0 {
                    Allocator::new(size, 2 * MIB, 8 * MIB)
                } else {
                    Allocator::for_device(i, size, 2 * MIB)
                };
                a.with_pud_phase(phase)
            })
            .collect();
        Placer::new(v)
    }

    fn simple(m: &FileMap) -> Extent {
        match m {
            FileMap::Simple(x) if x.len() == 1 => x[0],
            _ => panic!("not one extent: {m:?}"),
        }
    }

    #[test]
    fn one_device_places_as_before() {
        let mut p = placer(GIB, &[]);
        let x = simple(&p.allocate(3 * MIB, Layout::Contiguous).unwrap());
        assert_eq!(x, Extent::new(10 * MIB, 4 * MIB));
        // The message of a one-device file system is what it always was.
        let e = p.allocate(2 * GIB, Layout::Contiguous).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "no space for {} bytes: {} bytes free, the largest free range is {} bytes; \
                 nothing was changed",
                2 * GIB,
                GIB - 14 * MIB,
                GIB - 14 * MIB
            )
        );
    }

    #[test]
    fn most_room_wins_and_ties_go_to_the_lower_index() {
        // Device 0: 64 MiB - 10 MiB of metadata = 54 MiB free; device 1:
        // 64 - 2 (label) = 62 MiB free; device 2: 62 MiB free too.
        let mut p = placer(64 * MIB, &[(1, 64 * MIB), (2, 64 * MIB)]);
        let a = simple(&p.allocate(2 * MIB, Layout::Contiguous).unwrap());
        assert_eq!(a, Extent::on(1, 2 * MIB, 2 * MIB));
        // Now device 2 has the most room.
        let b = simple(&p.allocate(2 * MIB, Layout::Contiguous).unwrap());
        assert_eq!(b, Extent::on(2, 2 * MIB, 2 * MIB));
        // 60, 60, 54: device 1 again.
        let c = simple(&p.allocate(2 * MIB, Layout::Contiguous).unwrap());
        assert_eq!(c.dev, 1);
        // A file that fits only on device 0 (contiguously) goes there when
        // the others are fragmented: fill devices 1 and 2.
        let mut q = placer(64 * MIB, &[(1, 8 * MIB)]);
        let big = simple(&q.allocate(40 * MIB, Layout::Contiguous).unwrap());
        assert_eq!(big.dev, 0);
    }

    #[test]
    fn big_files_go_to_gib_aligned_memory_first() {
        // One device: 1 GiB at 1 GiB (phase 0), then small files first fit.
        let mut p = placer(8 * GIB, &[]);
        let x = simple(&p.allocate(GIB, Layout::Contiguous).unwrap());
        assert_eq!(x, Extent::new(GIB, GIB));
        let y = simple(&p.allocate(2 * MIB, Layout::Contiguous).unwrap());
        assert_eq!(y, Extent::new(10 * MIB, 2 * MIB));
        // Device 0 (about 1.9 GiB free, no aligned room: 1 GiB + 1 GiB is
        // past its end) has the most room; device 1 (1.5 GiB, phase 512
        // MiB) has aligned room at 512 MiB and gets the file.
        let devs = [(0, 1946 * MIB, 0), (1, 1536 * MIB, 512 * MIB)];
        let mut p = placer_phased(&devs);
        let x = simple(&p.allocate(GIB, Layout::Contiguous).unwrap());
        assert_eq!(x, Extent::on(1, 512 * MIB, GIB));
        // With phase 0 on device 1 neither has aligned room: first fit on
        // the device with the most room, as before.
        let mut p = placer_phased(&[(0, 1946 * MIB, 0), (1, 1536 * MIB, 0)]);
        let x = simple(&p.allocate(GIB, Layout::Contiguous).unwrap());
        assert_eq!(x, Extent::new(10 * MIB, GIB));
        // Pinned to device 0: first fit there, though device 1 has room.
        let mut p = placer_phased(&devs);
        assert!(p.set_placement(Placement::Device(0)));
        let x = simple(&p.allocate(GIB, Layout::Contiguous).unwrap());
        assert_eq!(x, Extent::new(10 * MIB, GIB));
        // A file of one chunk of an interleaved layout is contiguous, and
        // placed as such.
        let mut p = placer_phased(&devs);
        let one_chunk = Layout::Interleaved {
            nbuckets: 1,
            nstrips: 1,
            chunk: 2 * GIB,
        };
        let x = simple(&p.allocate(GIB, one_chunk).unwrap());
        assert_eq!(x, Extent::on(1, 512 * MIB, GIB));
    }

    #[test]
    fn spread_strips_of_a_gib_stay_first_fit() {
        let mut p = placer_phased(&[(0, 4 * GIB, 0), (1, 4 * GIB, 512 * MIB)]);
        let m = p
            .allocate(
                2 * GIB,
                Layout::Spread {
                    nstrips: None,
                    chunk: 2 * MIB,
                },
            )
            .unwrap();
        assert_eq!(
            m.ranges(),
            &[Extent::new(10 * MIB, GIB), Extent::on(1, 2 * MIB, GIB)]
        );
    }

    #[test]
    fn a_pinned_device_gets_the_file_or_nothing() {
        let mut p = placer(GIB, &[(3, 64 * MIB)]);
        assert!(p.set_placement(Placement::Device(3)));
        let x = simple(&p.allocate(2 * MIB, Layout::Contiguous).unwrap());
        assert_eq!(x.dev, 3);
        assert!(!p.set_placement(Placement::Device(4)));
        let before: Vec<u64> = p.allocators().iter().map(|a| a.free_bytes()).collect();
        let e = p.allocate(100 * MIB, Layout::Contiguous).unwrap_err();
        assert!(e.to_string().contains("device 3"), "{e}");
        let after: Vec<u64> = p.allocators().iter().map(|a| a.free_bytes()).collect();
        assert_eq!(before, after);
    }

    #[test]
    fn spread_puts_strip_i_on_device_i_mod_n() {
        let mut p = placer(GIB, &[(1, GIB), (5, GIB)]);
        let m = p
            .allocate(
                10 * MIB,
                Layout::Spread {
                    nstrips: Some(5),
                    chunk: 2 * MIB,
                },
            )
            .unwrap();
        let FileMap::Interleaved { chunk_size, strips } = m else {
            panic!("not interleaved")
        };
        assert_eq!(chunk_size, 2 * MIB);
        let devs: Vec<u32> = strips.iter().map(|x| x.dev).collect();
        assert_eq!(devs, vec![0, 1, 5, 0, 1]);
        // 5 chunks over 5 strips: one chunk each.
        assert!(strips.iter().all(|x| x.len == 2 * MIB));
        // Default: one strip per device.
        let m = p
            .allocate(
                12 * MIB,
                Layout::Spread {
                    nstrips: None,
                    chunk: 2 * MIB,
                },
            )
            .unwrap();
        assert_eq!(m.ranges().len(), 3);
        assert!(m.ranges().iter().all(|x| x.len == 4 * MIB));
        // A file of one chunk is contiguous.
        let m = p
            .allocate(
                2 * MIB,
                Layout::Spread {
                    nstrips: None,
                    chunk: 2 * MIB,
                },
            )
            .unwrap();
        assert!(matches!(m, FileMap::Simple(_)));
    }

    #[test]
    fn a_spread_that_does_not_fit_takes_nothing() {
        let mut p = placer(GIB, &[(1, 16 * MIB)]);
        let before: Vec<u64> = p.allocators().iter().map(|a| a.free_bytes()).collect();
        let e = p
            .allocate(
                64 * MIB,
                Layout::Spread {
                    nstrips: None,
                    chunk: 2 * MIB,
                },
            )
            .unwrap_err();
        assert!(e.to_string().contains("strip 1"), "{e}");
        let after: Vec<u64> = p.allocators().iter().map(|a| a.free_bytes()).collect();
        assert_eq!(before, after);
        for bad in [0, 17] {
            assert!(p
                .allocate(
                    64 * MIB,
                    Layout::Spread {
                        nstrips: Some(bad),
                        chunk: 2 * MIB
                    }
                )
                .is_err());
        }
        assert!(p
            .allocate(
                64 * MIB,
                Layout::Spread {
                    nstrips: None,
                    chunk: 3 * MIB
                }
            )
            .is_err());
    }
}
