//! The famfs commands.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use famfs_abi::{FAMFS_LOG, FAMFS_SUPERBLOCK};
use famfs_format::fsck::{analyze, Report};
use famfs_format::{
    check_relpath, EntryBody, FileMap, LogHeader, Superblock, ALLOC_UNIT, DEFAULT_LOG_LEN,
    SUPERBLOCK_REGION, SUPERBLOCK_SIZE,
};
use indicatif::HumanBytes;
use serde::Serialize;
use uuid::Uuid;

use crate::meta::{self, Fs};
use crate::paths::{self, Mount};
use crate::session::{instantiate, Attrs, Created, Layout, Session};
use crate::{fill, sys};

/// Fails unless the famfs module is loaded.
pub fn require_module() -> Result<()> {
    if Path::new("/sys/module/famfs").exists() {
        Ok(())
    } else {
        bail!("the famfs kernel module is not loaded (insmod famfs.ko, or modprobe famfs)")
    }
}

fn check_device(dev: &Path) -> Result<()> {
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
struct TempMount {
    dir: tempfile::TempDir,
    mounted: bool,
}

impl TempMount {
    fn new(dev: &Path) -> Result<TempMount> {
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
        sys::mount_famfs(dev, dir.path(), false).map_err(|e| {
            anyhow!(
                "mount -t famfs {}: {} ({e})",
                dev.display(),
                famfs_util::errno_name(&e)
            )
        })?;
        Ok(TempMount { dir, mounted: true })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for TempMount {
    fn drop(&mut self) {
        if self.mounted {
            if let Err(e) = sys::umount(self.dir.path()) {
                eprintln!(
                    "famfs: warning: cannot unmount {}: {e}",
                    self.dir.path().display()
                );
            }
        }
    }
}

/// `mkfs` options.
pub struct MkfsOpts {
    /// Overwrite an existing file system.
    pub force: bool,
    /// Only destroy the superblock (with `force`).
    pub kill: bool,
    /// Log length.
    pub log_len: u64,
}

/// Checks a log length: a power of two, at least 8 MiB.
pub fn check_log_len(len: u64) -> Result<()> {
    if len < DEFAULT_LOG_LEN || !len.is_power_of_two() {
        bail!("log size {len} is not a power of two of at least 8 MiB (8388608)");
    }
    Ok(())
}

/// `mkfs`: writes a superblock and an empty log.
pub fn mkfs(dev: &Path, o: &MkfsOpts) -> Result<()> {
    check_log_len(o.log_len)?;
    if o.kill && !o.force {
        bail!("-k destroys the file system; it needs -f as well");
    }
    let host = meta::system_uuid()?;
    let tm = TempMount::new(dev)?;
    let mpt = tm.path();
    let (_, dev_size, _) = sys::statfs(mpt).context("statfs")?;
    let need = SUPERBLOCK_REGION + o.log_len + ALLOC_UNIT;
    if dev_size < need {
        bail!(
            "{} has {} bytes; a famfs with a {}-byte log needs at least {need}",
            dev.display(),
            dev_size,
            o.log_len
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
    if magic == famfs_format::SUPERBLOCK_MAGIC && !o.force {
        match old {
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
    if o.kill {
        println!("famfs: destroyed the superblock of {}", dev.display());
        return Ok(());
    }
    let logf = meta_file(&meta.join(".log"), FAMFS_LOG, SUPERBLOCK_REGION, o.log_len)?;
    let mut logm = sys::map_rw(&logf).context("map the log")?;
    let h = LogHeader::new(o.log_len)?;
    let hb = h.encode();
    logm[..hb.len()].copy_from_slice(&hb);
    // Clear the first slot too, so that nothing of an old log looks valid
    // right after the header.
    let first = famfs_format::slot_range(0);
    logm[first.clone()].fill(0);
    sys::cache_flush(&logm[..first.end]);
    let sb = Superblock {
        log_offset: SUPERBLOCK_REGION,
        log_len: o.log_len,
        alloc_unit: ALLOC_UNIT,
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
        HumanBytes(o.log_len),
        famfs_format::log_slots(o.log_len),
        host
    );
    Ok(())
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

/// `mount`: mount, create the metadata files, replay the log.
///
/// There is no read-only variant: the module refuses to create maps on a
/// read-only mount, so nothing could be instantiated.
pub fn mount(dev: &Path, mpt: &Path, verbose: bool) -> Result<Stats> {
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
            famfs_util::errno_name(&e)
        )
    })?;
    let mpt = fs::canonicalize(mpt)?;
    match meta::mkmeta(&mpt)
        .map_err(anyhow::Error::from)
        .and_then(|m| {
            // A client's files are read-only (logplay strips their write
            // bits); strict_write keeps even root from writing them, until
            // someone chmods a file on purpose (serial sharing).
            if !m.master {
                sys::remount_strict_write(&mpt)
                    .map_err(|e| anyhow!("remount {} with strict_write: {e}", mpt.display()))?;
            }
            Ok(m)
        })
        .and_then(|m| {
            let s = logplay(&mpt, false, verbose)?;
            Ok((m, s))
        }) {
        Ok((m, s)) => {
            println!(
                "famfs: mounted {} at {} as {} of file system {}",
                dev.display(),
                mpt.display(),
                if m.master { "master" } else { "client" },
                m.sb.fs_uuid
            );
            Ok(s)
        }
        Err(e) => {
            let _ = sys::umount(&mpt);
            Err(e.context(format!("{} was not mounted", dev.display())))
        }
    }
}

/// What a log replay did.
#[derive(Debug, Default, Serialize)]
pub struct Stats {
    /// Valid entries.
    pub entries: u64,
    /// Directories created.
    pub dirs_created: u64,
    /// Files created.
    pub files_created: u64,
    /// Entries already present.
    pub existing: u64,
    /// Unreadable entries skipped.
    pub bad_entries: u64,
    /// Entries that could not be instantiated.
    pub errors: u64,
}

/// The mount point of a famfs path given by the user.
pub fn mount_point(p: &Path) -> Result<PathBuf> {
    let abs = fs::canonicalize(p).with_context(|| format!("{}", p.display()))?;
    let mounts = paths::mounts()?;
    let m = paths::containing(&mounts, &abs)
        .ok_or_else(|| anyhow!("{} is not in a famfs file system", p.display()))?;
    Ok(m.mpt.clone())
}

/// What replaying one entry did.
enum Outcome {
    Dir,
    File,
    Existing,
    Failed(String),
}

/// Settings of one replay.
struct Replay<'a> {
    mpt: &'a Path,
    master: bool,
    fresh: bool,
    dry_run: bool,
    verbose: bool,
}

impl Replay<'_> {
    fn mkdir(&self, rel: &str, p: &Path, mode: u32, uid: u32, gid: u32) -> Outcome {
        let not_dir = || Outcome::Failed(format!("'{rel}' exists and is not a directory"));
        if self.dry_run || !self.fresh {
            match fs::symlink_metadata(p) {
                Ok(m) if m.is_dir() => return Outcome::Existing,
                Ok(_) => return not_dir(),
                Err(_) if self.dry_run => {
                    println!("would mkdir {rel}");
                    return Outcome::Dir;
                }
                Err(_) => {}
            }
        }
        // On a fresh mount nearly everything is new: try first, one system
        // call per directory is what replay costs.
        match sys::make_dir(p, mode, uid, gid) {
            Ok(()) => {
                if self.verbose {
                    println!("mkdir {rel}");
                }
                Outcome::Dir
            }
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
                            println!("would map {rel}");
                            return Outcome::File;
                        }
                        match sys::map_create(&f, *size, map) {
                            Ok(()) => Outcome::File,
                            Err(err) => Outcome::Failed(format!("map '{rel}': {err}")),
                        }
                    }
                    Err(_) => Outcome::Failed(format!("'{rel}' exists and is not famfs")),
                }
            }
            Ok(_) => Outcome::Failed(format!("'{rel}' exists and is not a file")),
            Err(_) if self.dry_run => {
                println!("would create {rel} ({size} bytes)");
                Outcome::File
            }
            Err(_) => match instantiate(p, *size, mode, *uid, *gid, map) {
                Ok(_) => {
                    if self.verbose {
                        println!("create {rel} ({size} bytes)");
                    }
                    Outcome::File
                }
                Err(err) => Outcome::Failed(format!("'{rel}': {err:#}")),
            },
        }
    }

    fn one(&self, rel: &str, e: &EntryBody) -> Outcome {
        let p = self.mpt.join(rel);
        match e {
            EntryBody::Mkdir { uid, gid, mode, .. } => self.mkdir(rel, &p, *mode, *uid, *gid),
            EntryBody::File { .. } => self.file(rel, &p, e),
        }
    }
}

fn relpath(e: &EntryBody) -> &str {
    match e {
        EntryBody::File { relpath, .. } | EntryBody::Mkdir { relpath, .. } => relpath,
    }
}

/// `logplay`: instantiates every logged directory and file this mount does
/// not have yet. Idempotent; clients get files without write permission.
///
/// A path logged twice is instantiated from its first entry (later ones
/// count as present). Entries are replayed by depth, shallowest first, so
/// that every parent exists before its children; the entries of one depth
/// are spread over a few threads.
pub fn logplay(mpt: &Path, dry_run: bool, verbose: bool) -> Result<Stats> {
    let fs = Fs::open(mpt, false)?;
    let (_, r) = fs.read_log()?;
    let mut st = Stats {
        entries: r.entries.len() as u64,
        bad_entries: r.bad.len() as u64,
        ..Default::default()
    };
    for (slot, e) in &r.bad {
        eprintln!("famfs logplay: log entry {slot} is unreadable and was skipped: {e}");
    }
    let fresh = fs::read_dir(mpt)
        .map(|d| d.flatten().all(|e| e.file_name() == ".meta"))
        .unwrap_or(false);
    let fail = |st: &mut Stats, slot: u64, m: &str| {
        eprintln!("famfs logplay: log entry {slot}: {m}");
        st.errors += 1;
    };
    // Check paths, drop repeated paths, group by depth.
    let mut seen = std::collections::HashSet::new();
    let mut levels: Vec<Vec<(u64, &EntryBody)>> = Vec::new();
    for (e, &slot) in r.entries.iter().zip(&r.slots) {
        let rel = relpath(&e.body);
        if let Err(m) = check_relpath(rel) {
            fail(&mut st, slot, &m);
            continue;
        }
        if !seen.insert(rel) {
            st.existing += 1;
            continue;
        }
        let depth = rel.matches('/').count();
        if levels.len() <= depth {
            levels.resize_with(depth + 1, Vec::new);
        }
        levels[depth].push((slot, &e.body));
    }
    let rp = Replay {
        mpt,
        master: fs.master,
        fresh,
        dry_run,
        verbose,
    };
    let threads = if dry_run || verbose {
        1
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get().min(4))
    };
    for level in &levels {
        let outcomes: Vec<(u64, Outcome)> = if threads > 1 && level.len() >= 64 {
            std::thread::scope(|sc| {
                let workers: Vec<_> = (0..threads)
                    .map(|t| {
                        let rp = &rp;
                        sc.spawn(move || {
                            level
                                .iter()
                                .skip(t)
                                .step_by(threads)
                                .map(|(slot, e)| (*slot, rp.one(relpath(e), e)))
                                .collect::<Vec<_>>()
                        })
                    })
                    .collect();
                workers
                    .into_iter()
                    .flat_map(|w| w.join().expect("replay worker panicked"))
                    .collect()
            })
        } else {
            level
                .iter()
                .map(|(slot, e)| (*slot, rp.one(relpath(e), e)))
                .collect()
        };
        for (slot, o) in outcomes {
            match o {
                Outcome::Dir => st.dirs_created += 1,
                Outcome::File => st.files_created += 1,
                Outcome::Existing => st.existing += 1,
                Outcome::Failed(m) => fail(&mut st, slot, &m),
            }
        }
    }
    Ok(st)
}

/// Prints a replay summary.
pub fn print_stats(st: &Stats, dry_run: bool) {
    let verb = if dry_run { "would create" } else { "created" };
    println!(
        "famfs logplay: {} log entries: {verb} {} directories and {} files, {} already present, \
         {} unreadable entries skipped, {} errors",
        st.entries, st.dirs_created, st.files_created, st.existing, st.bad_entries, st.errors
    );
}

/// Owner and mode options.
#[derive(Clone, Copy, Debug)]
pub struct Owner {
    /// Mode bits.
    pub mode: Option<u32>,
    /// Owner.
    pub uid: Option<u32>,
    /// Group.
    pub gid: Option<u32>,
}

impl Owner {
    fn get(&self, default_mode: u32) -> (u32, u32, u32) {
        let (u, g) = sys::ids();
        (
            self.mode.unwrap_or(default_mode) & 0o7777,
            self.uid.unwrap_or(u),
            self.gid.unwrap_or(g),
        )
    }
}

/// Resolves every path to one famfs mount; returns the mount and the
/// relative paths.
fn one_mount(files: &[PathBuf]) -> Result<(Mount, Vec<String>)> {
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

/// `creat`: creates files of `size` bytes, optionally filled with seeded
/// random bytes.
pub fn creat(
    files: &[PathBuf],
    size: u64,
    owner: Owner,
    seed: Option<u64>,
    layout: Layout,
) -> Result<()> {
    if size == 0 {
        bail!("the size must be at least 1 byte");
    }
    let (m, rels) = one_mount(files)?;
    let (mode, uid, gid) = owner.get(0o644);
    let mut s = Session::begin(&m.mpt)?;
    for rel in &rels {
        let local = if seed.is_some() { mode | 0o200 } else { mode };
        match s.create(rel, size, Attrs { mode, uid, gid }, local, layout)? {
            Created::New => {}
            Created::Existing => {
                if !m.mpt.join(rel).exists() {
                    bail!("'{rel}' is logged but not instantiated here; run famfs logplay");
                }
                eprintln!("famfs creat: '{rel}' already exists with this size");
            }
        }
        if let Some(seed) = seed {
            let p = m.mpt.join(rel);
            let f = OpenOptions::new()
                .write(true)
                .open(&p)
                .with_context(|| format!("open {}", p.display()))?;
            fill::fill(&f, size, seed).with_context(|| format!("fill {}", p.display()))?;
            if local != mode {
                f.set_permissions(fs::Permissions::from_mode(mode))?;
            }
        }
    }
    Ok(())
}

/// `mkdir`.
pub fn mkdir(dirs: &[PathBuf], parents: bool, owner: Owner) -> Result<()> {
    let (m, rels) = one_mount(dirs)?;
    let (mode, uid, gid) = owner.get(0o755);
    let mut s = Session::begin(&m.mpt)?;
    for rel in &rels {
        if parents {
            let mut acc = String::new();
            for c in rel.split('/') {
                if !acc.is_empty() {
                    acc.push('/');
                }
                acc.push_str(c);
                s.mkdir(&acc, mode, uid, gid)?;
            }
        } else if !s.mkdir(rel, mode, uid, gid)? {
            bail!("'{rel}' already exists");
        }
    }
    Ok(())
}

/// `cp` options.
pub struct CpOpts {
    /// Copy directories recursively.
    pub recursive: bool,
    /// Owner and mode of the copies (default: the source's mode, the
    /// caller's ids).
    pub owner: Owner,
    /// Layout of new files.
    pub layout: Layout,
    /// Print each file.
    pub verbose: bool,
}

enum Item {
    Dir(String, u32),
    File(PathBuf, String, u64, u32),
}

fn walk(src: &Path, rel: &str, items: &mut Vec<Item>, recursive: bool) -> Result<()> {
    let md = fs::metadata(src).with_context(|| format!("{}", src.display()))?;
    if md.is_dir() {
        if !recursive {
            bail!("{} is a directory (use -r)", src.display());
        }
        items.push(Item::Dir(rel.to_owned(), md.mode() & 0o7777));
        let mut names: Vec<_> = fs::read_dir(src)?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<Result<_, _>>()?;
        names.sort();
        for n in names {
            let n = n.to_string_lossy().into_owned();
            walk(&src.join(&n), &format!("{rel}/{n}"), items, recursive)?;
        }
    } else if md.is_file() {
        items.push(Item::File(
            src.to_path_buf(),
            rel.to_owned(),
            md.len(),
            md.mode() & 0o7777,
        ));
    } else {
        bail!("{} is not a regular file or a directory", src.display());
    }
    Ok(())
}

/// `cp`: copies files (and with `-r` directories) into famfs. Restartable:
/// a destination file already logged with the same size is overwritten.
pub fn cp(srcs: &[PathBuf], dst: &Path, o: &CpOpts) -> Result<u64> {
    if srcs.is_empty() {
        bail!("nothing to copy");
    }
    let (m, dst_rel) = paths::resolve(dst)?;
    let into = fs::metadata(dst).map(|x| x.is_dir()).unwrap_or(false);
    if srcs.len() > 1 && !into {
        bail!("target {} is not a directory", dst.display());
    }
    let mut items = Vec::new();
    for src in srcs {
        let name = src
            .file_name()
            .ok_or_else(|| anyhow!("{}: no file name", src.display()))?
            .to_string_lossy()
            .into_owned();
        let rel = match (into, dst_rel.is_empty()) {
            (true, true) => name,
            (true, false) => format!("{dst_rel}/{name}"),
            (false, _) => dst_rel.clone(),
        };
        walk(src, &rel, &mut items, o.recursive)?;
    }
    // Check every path before changing anything.
    for it in &items {
        let rel = match it {
            Item::Dir(r, _) | Item::File(_, r, _, _) => r,
        };
        check_relpath(rel).map_err(|e| anyhow!("{e}"))?;
    }
    let mut s = Session::begin(&m.mpt)?;
    let total: u64 = items
        .iter()
        .map(|i| {
            if let Item::File(_, _, n, _) = i {
                *n
            } else {
                0
            }
        })
        .sum();
    let bar = (total >= 64 << 20).then(|| {
        let b = indicatif::ProgressBar::new(total);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{bytes}/{total_bytes} [{wide_bar}] {bytes_per_sec} {eta}",
            )
            .expect("template"),
        );
        b
    });
    let mut copied = 0;
    for it in &items {
        match it {
            Item::Dir(rel, smode) => {
                let (mode, uid, gid) = o.owner.get(*smode);
                if !s.mkdir(rel, mode, uid, gid)? && o.verbose {
                    println!("{rel}/ exists");
                }
            }
            Item::File(src, rel, size, smode) => {
                let (mode, uid, gid) = o.owner.get(*smode);
                s.create(rel, *size, Attrs { mode, uid, gid }, mode | 0o200, o.layout)
                    .with_context(|| format!("{}", src.display()))?;
                let p = m.mpt.join(rel);
                let md = fs::metadata(&p)?;
                if md.mode() & 0o200 == 0 {
                    fs::set_permissions(&p, fs::Permissions::from_mode(md.mode() | 0o200))?;
                }
                copy_data(src, &p, bar.as_ref())
                    .with_context(|| format!("copy {} to {}", src.display(), p.display()))?;
                fs::set_permissions(&p, fs::Permissions::from_mode(mode))?;
                copied += 1;
                if o.verbose {
                    println!("{} -> {rel}", src.display());
                }
            }
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    Ok(copied)
}

fn copy_data(src: &Path, dst: &Path, bar: Option<&indicatif::ProgressBar>) -> Result<()> {
    let mut i = File::open(src)?;
    let mut o = OpenOptions::new().write(true).open(dst)?;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = i.read(&mut buf)?;
        if n == 0 {
            break;
        }
        o.write_all(&buf[..n])?;
        if let Some(b) = bar {
            b.inc(n as u64);
        }
    }
    Ok(())
}

/// A file's map for `getmap --json`.
#[derive(Serialize)]
pub struct MapOut {
    /// The path.
    pub path: String,
    /// File size.
    pub size: u64,
    /// "regular", "superblock" or "log".
    pub file_type: &'static str,
    /// "simple" or "interleaved".
    pub extent_type: &'static str,
    /// Chunk size (interleaved).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chunk_size: Option<u64>,
    /// Extents, or strips (interleaved).
    pub extents: Vec<ExtOut>,
}

/// One extent.
#[derive(Serialize)]
pub struct ExtOut {
    /// Device index (always 0).
    pub devindex: u64,
    /// Device offset.
    pub offset: u64,
    /// Length.
    pub len: u64,
}

/// `getmap`: exit 0 mapped, 1 not a famfs file, 2 no map.
pub fn getmap(path: &Path, json: bool, quiet: bool) -> Result<u8> {
    if !sys::is_famfs(path) {
        if !quiet {
            eprintln!(
                "famfs getmap: {} is not in a famfs file system",
                path.display()
            );
        }
        return Ok(1);
    }
    let f = File::open(path).with_context(|| format!("open {}", path.display()))?;
    let k = match sys::map_get(&f) {
        Ok(k) => k,
        Err(e) if e.raw_os_error() == Some(libc::ENODATA) => {
            if !quiet {
                eprintln!("famfs getmap: {} has no famfs map", path.display());
            }
            return Ok(2);
        }
        Err(e) if e.raw_os_error() == Some(libc::ENOTTY) => {
            if !quiet {
                eprintln!("famfs getmap: {} is not a famfs file", path.display());
            }
            return Ok(1);
        }
        Err(e) => bail!("FAMFSIOC_MAP_GET_V2 on {}: {e}", path.display()),
    };
    if quiet {
        return Ok(0);
    }
    let (extent_type, chunk_size, exts) = match &k.map {
        FileMap::Simple(x) => ("simple", None, x),
        FileMap::Interleaved { chunk_size, strips } => ("interleaved", Some(*chunk_size), strips),
    };
    let out = MapOut {
        path: path.display().to_string(),
        size: k.size,
        file_type: match k.file_type {
            FAMFS_SUPERBLOCK => "superblock",
            FAMFS_LOG => "log",
            _ => "regular",
        },
        extent_type,
        chunk_size,
        extents: exts
            .iter()
            .map(|e| ExtOut {
                devindex: 0,
                offset: e.offset,
                len: e.len,
            })
            .collect(),
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!(
            "{}: {} bytes, {} file, {} map",
            out.path, out.size, out.file_type, out.extent_type
        );
        if let Some(c) = out.chunk_size {
            println!("  chunk size {c:#x}");
        }
        for (i, e) in out.extents.iter().enumerate() {
            let what = if chunk_size.is_some() {
                "strip"
            } else {
                "extent"
            };
            println!("  {what} {i}: offset {:#x} length {:#x}", e.offset, e.len);
        }
    }
    Ok(0)
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

/// `fsck`: checks the superblock and log of a device (through a private
/// mount, or its existing mount) or of a mount point. Exit 0 clean, 1
/// problems found.
pub fn fsck(target: &Path, json: bool) -> Result<u8> {
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

/// `check` exit bits.
pub const CHECK_UNMAPPED: u8 = 1;
/// Superblock unusable.
pub const CHECK_SUPERBLOCK: u8 = 2;
/// Log unusable.
pub const CHECK_LOG: u8 = 4;
/// The mounted file system was re-created elsewhere.
pub const CHECK_STALE: u8 = 8;

/// `check`: every file of the mount must have a map, the superblock and log
/// must be valid, and the file system must be the one mounted. Returns the
/// exit bits.
pub fn check(mpt: &Path) -> Result<u8> {
    let mpt = mount_point(mpt)?;
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

/// `verify`: exit 0 when every file holds the seeded stream, 1 otherwise.
pub fn verify(files: &[PathBuf], seed: u64) -> Result<u8> {
    let mut bad = 0;
    for p in files {
        let f = File::open(p).with_context(|| format!("open {}", p.display()))?;
        let size = f.metadata()?.len();
        match fill::verify(&f, size, seed).with_context(|| format!("read {}", p.display()))? {
            None => println!(
                "famfs verify: {}: ok ({size} bytes, seed {seed})",
                p.display()
            ),
            Some(off) => {
                println!(
                    "famfs verify: {}: differs from seed {seed} at offset {off}",
                    p.display()
                );
                bad += 1;
            }
        }
    }
    Ok(u8::from(bad > 0))
}

/// `flush`: writes back and invalidates the CPU caches over each file.
pub fn flush(files: &[PathBuf]) -> Result<()> {
    for p in files {
        if !sys::is_famfs(p) {
            bail!("{} is not in a famfs file system", p.display());
        }
        let f = File::open(p).with_context(|| format!("open {}", p.display()))?;
        if f.metadata()?.len() == 0 {
            continue;
        }
        let m = sys::map_ro(&f).with_context(|| format!("map {}", p.display()))?;
        sys::cache_flush(&m);
    }
    Ok(())
}
