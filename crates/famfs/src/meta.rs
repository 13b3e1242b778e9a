//! The metadata of a mounted famfs, read and written through the two
//! metadata files the module serves: `.meta/.superblock` (device offset 0,
//! 2 MiB) and `.meta/.log` (at the log offset). This is the only path to the
//! metadata: on Linux 7.3 a device in `fsdev_dax` mode cannot be mapped raw.
//!
//! A mount also remembers which file system it instantiated: `famfs mount`
//! (or the first `logplay`) records the superblock's UUID as the name of an
//! empty directory `.meta/.uuid.<UUID>`. If another host later re-creates
//! the file system (`mkfs -f`), the superblock seen through the mapping
//! changes under us and every command refuses to go on ([`Error::Stale`]).

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use famfs_abi::{FAMFS_LOG, FAMFS_SUPERBLOCK};
use famfs_format::{
    EntryBody, Log, LogError, LogHeader, LogRead, LogStore, Replay, Superblock, ALLOC_UNIT,
    SUPERBLOCK_REGION, SUPERBLOCK_SIZE,
};
use uuid::Uuid;

use crate::sys;

/// Where the host's identity is kept (as upstream famfs does).
pub const SYSTEM_UUID_FILE: &str = "/opt/famfs/system_uuid";

/// Metadata errors with their own exit paths and messages.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The superblock is missing or corrupt.
    #[error("no valid famfs superblock: {0}")]
    Superblock(String),
    /// The log header is unusable.
    #[error("the metadata log is unusable: {0}")]
    Log(LogError),
    /// The file system mounted here was re-created by someone.
    #[error(
        "the famfs file system mounted at {mpt} (uuid {mounted}) is gone: the device now holds \
         file system {now} (re-created with mkfs). Nothing was instantiated; unmount and mount \
         again to use the new file system"
    )]
    Stale {
        /// Mount point.
        mpt: String,
        /// The UUID this mount instantiated.
        mounted: Uuid,
        /// The UUID the superblock has now.
        now: Uuid,
    },
    /// A client tried to change the metadata.
    #[error(
        "this host (system uuid {host}) is a client of this file system; only its master \
         ({master}) can change the metadata"
    )]
    NotMaster {
        /// This host.
        host: Uuid,
        /// The file system's master.
        master: Uuid,
    },
    /// The host's system UUID file holds something else than a UUID.
    #[error(
        "{path} is not a system UUID file: {why}. It must hold the 36 characters of a UUID \
         (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx), optionally followed by NUL bytes or whitespace. \
         Nothing was changed; repair the file, or remove it to give this host a new identity \
         (it then is no longer the master of the file systems it created)"
    )]
    BadSystemUuid {
        /// The file.
        path: String,
        /// What is wrong with it.
        why: BadSystemUuid,
    },
    /// Every log slot is used.
    #[error("the metadata log is full ({0} entries); nothing was changed")]
    LogFull(u64),
    /// I/O on a metadata file.
    #[error("{what}: {err}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        err: io::Error,
    },
}

/// Turns an I/O error into [`Error::Io`] saying what was being done.
pub(crate) fn io_err(what: impl Into<String>) -> impl FnOnce(io::Error) -> Error {
    let what = what.into();
    move |err| Error::Io { what, err }
}

/// Why the contents of a system UUID file were refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadSystemUuid(String);

impl std::fmt::Display for BadSystemUuid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The length of a UUID in its hyphenated text form.
const UUID_TEXT_LEN: usize = 36;

/// Parses the contents of a system UUID file.
///
/// Accepted: the 36 characters of a hyphenated UUID
/// (`xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, either case), followed by
/// nothing, or only by NUL bytes and ASCII whitespace in any mix. This
/// covers what this tool writes (a trailing newline) and what the public
/// famfs tools write (a trailing NUL, 37 bytes). Everything else is
/// refused: leading whitespace, a short or long UUID, any other byte after
/// it. Every file accepted here is read as the same UUID by the public
/// tools, which take the first 36 non-blank characters.
pub fn parse_system_uuid(bytes: &[u8]) -> Result<Uuid, BadSystemUuid> {
    let bad = |m: String| Err(BadSystemUuid(m));
    let shown = |b: u8| format!("'{}'", std::ascii::escape_default(b));
    let n = bytes.len();
    if n == 0 {
        return bad("the file is empty".into());
    }
    let text_len = bytes
        .iter()
        .position(|&b| b == 0 || b.is_ascii_whitespace())
        .unwrap_or(n);
    if text_len == 0 {
        return bad(format!(
            "it starts with {} instead of the UUID",
            shown(bytes[0])
        ));
    }
    if text_len < UUID_TEXT_LEN {
        return bad(format!(
            "the UUID is {text_len} characters long, not {UUID_TEXT_LEN}"
        ));
    }
    let (text, rest) = bytes.split_at(UUID_TEXT_LEN);
    for (i, &b) in text.iter().enumerate() {
        let hyphen = matches!(i, 8 | 13 | 18 | 23);
        if hyphen && b != b'-' {
            return bad(format!("byte {i} is {}, expected '-'", shown(b)));
        }
        if !hyphen && !b.is_ascii_hexdigit() {
            return bad(format!("byte {i} is {}, expected a hex digit", shown(b)));
        }
    }
    if let Some(i) = rest
        .iter()
        .position(|&b| b != 0 && !b.is_ascii_whitespace())
    {
        return bad(format!(
            "byte {} is {}: after the {UUID_TEXT_LEN} characters of the UUID only NUL bytes \
             and whitespace may follow",
            UUID_TEXT_LEN + i,
            shown(rest[i])
        ));
    }
    Uuid::try_parse_ascii(text).map_err(|e| BadSystemUuid(e.to_string()))
}

/// What this tool writes into a new system UUID file: the 36 characters
/// and a newline (the public tools, which write a NUL instead, read it too).
pub fn system_uuid_text(u: &Uuid) -> String {
    format!("{}\n", u.hyphenated())
}

/// This host's system UUID, created (as a random UUID) on first use.
pub fn system_uuid() -> Result<Uuid, Error> {
    let path = Path::new(SYSTEM_UUID_FILE);
    match fs::read(path) {
        Ok(b) => parse_system_uuid(&b).map_err(|why| Error::BadSystemUuid {
            path: SYSTEM_UUID_FILE.into(),
            why,
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let dir = path.parent().expect("has a parent");
            fs::create_dir_all(dir).map_err(io_err(format!("create {}", dir.display())))?;
            let _ = fs::set_permissions(dir, fs::Permissions::from_mode(0o755));
            let u = Uuid::new_v4();
            // Write then rename, so a reader never sees half a UUID.
            let tmp = dir.join(format!(".system_uuid.{}", std::process::id()));
            {
                use std::io::Write;
                use std::os::unix::fs::OpenOptionsExt;
                let mut f = OpenOptions::new()
                    .write(true)
                    .create(true)
                    .truncate(true)
                    .mode(0o644)
                    .open(&tmp)
                    .map_err(io_err(format!("create {}", tmp.display())))?;
                f.write_all(system_uuid_text(&u).as_bytes())
                    .map_err(io_err(format!("write {}", tmp.display())))?;
            }
            fs::rename(&tmp, path).map_err(io_err(format!("create {SYSTEM_UUID_FILE}")))?;
            // Another process may have won the race: use what is there.
            system_uuid()
        }
        Err(e) => Err(Error::Io {
            what: format!("read {SYSTEM_UUID_FILE}"),
            err: e,
        }),
    }
}

/// The metadata directory of a mount.
pub fn meta_dir(mpt: &Path) -> PathBuf {
    mpt.join(".meta")
}

fn uuid_marker(mpt: &Path, u: &Uuid) -> PathBuf {
    meta_dir(mpt).join(format!(".uuid.{u}"))
}

/// Reads and checks the superblock through a mapping of `.meta/.superblock`.
pub fn read_superblock(sb_file: &File) -> Result<Superblock, Error> {
    let m = sys::map_ro(sb_file).map_err(io_err("map .meta/.superblock"))?;
    let bytes = &m[..SUPERBLOCK_SIZE];
    sys::cache_invalidate(bytes);
    let copy = bytes.to_vec();
    Superblock::decode(&copy).map_err(|e| Error::Superblock(e.to_string()))
}

/// Rewrites the superblock of the mount at `mpt` (through
/// `.meta/.superblock`, opened for writing: root on the master) and flushes
/// it to the shared memory.
pub fn write_superblock(mpt: &Path, sb: &Superblock) -> Result<(), Error> {
    let p = meta_dir(mpt).join(".superblock");
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&p)
        .map_err(io_err(format!("open {} for writing", p.display())))?;
    let b = sb
        .encode()
        .map_err(|e| Error::Superblock(format!("cannot encode the superblock: {e}")))?;
    let mut m = sys::map_rw(&f).map_err(io_err("map .meta/.superblock"))?;
    m[..SUPERBLOCK_SIZE].copy_from_slice(&b);
    sys::cache_flush(&m[..SUPERBLOCK_SIZE]);
    Ok(())
}

/// The small allocation unit (`famfs mkfs --alloc-unit 4K`).
pub const SMALL_ALLOC_UNIT: u64 = famfs_format::fmap::SMALL_UNIT;

/// Makes the module's allocation unit for the mount at `mpt` the
/// superblock's: a file system made with 4 KiB units needs its mount
/// remounted with `alloc_unit=4k` before maps in 4 KiB units are accepted.
/// Returns whether it remounted. Needs `CAP_SYS_ADMIN`, as the map ioctls.
pub fn match_alloc_unit(mpt: &Path, sb: &Superblock) -> Result<bool, Error> {
    let io = |what: &str| {
        let what = what.to_string();
        move |err| Error::Io { what, err }
    };
    let text =
        std::fs::read_to_string("/proc/self/mountinfo").map_err(io("read /proc/self/mountinfo"))?;
    let opts = crate::paths::super_options_in(&text, mpt).unwrap_or_default();
    let small = opts.split(',').any(|o| o == "alloc_unit=4k");
    if small == (sb.alloc_unit == SMALL_ALLOC_UNIT) {
        return Ok(false);
    }
    sys::remount_alloc_unit(mpt, sb.alloc_unit).map_err(io(&format!(
        "remount {} with the file system's allocation unit",
        mpt.display()
    )))?;
    Ok(true)
}

/// Checks that a superblock describes a usable layout on a device of
/// `dev_size` bytes.
pub fn check_layout(sb: &Superblock, dev_size: u64) -> Result<(), Error> {
    let bad = |m: String| Err(Error::Superblock(m));
    if sb.log_offset != SUPERBLOCK_REGION {
        return bad(format!("log offset {:#x}, expected 2 MiB", sb.log_offset));
    }
    if let Err(e) = famfs_format::check_log_len(sb.log_len) {
        return bad(e.to_string());
    }
    if sb.alloc_unit != ALLOC_UNIT && sb.alloc_unit != SMALL_ALLOC_UNIT {
        return bad(format!(
            "allocation unit {:#x}, expected 2 MiB or 4 KiB",
            sb.alloc_unit
        ));
    }
    if sb.log_offset + sb.log_len > dev_size {
        return bad(format!(
            "the log ends at {:#x}, beyond the {dev_size}-byte device",
            sb.log_offset + sb.log_len
        ));
    }
    Ok(())
}

/// Creates a metadata file, gives it its one extent (type `ftype`,
/// `len` bytes at device offset `offset`, with the v1 `FAMFSIOC_MAP_CREATE`
/// as upstream famfs does), then its mode.
pub fn create_meta_file(
    path: &Path,
    mode: u32,
    ftype: u32,
    offset: u64,
    len: u64,
) -> Result<File, Error> {
    let f = sys::create_ro(path, 0o600).map_err(io_err(format!("create {}", path.display())))?;
    sys::map_create_meta(&f, ftype, offset, len).map_err(|e| Error::Io {
        what: format!(
            "map {} (FAMFSIOC_MAP_CREATE: {})",
            path.display(),
            famfs_util::errno_name(&e)
        ),
        err: e,
    })?;
    f.set_permissions(fs::Permissions::from_mode(mode))
        .map_err(io_err(format!("chmod {}", path.display())))?;
    Ok(f)
}

/// The size of the mount's device 0, the device that holds the superblock
/// and the log: from the module's device table, or, from a module without
/// the table's read-back, the mount's statfs (which is then device 0 alone).
pub fn device0_size(mpt: &Path) -> Result<u64, Error> {
    if let Ok(d) = File::open(mpt) {
        if let Ok(Some(e)) = sys::daxdev_get(&d, 0) {
            return Ok(e.size);
        }
    }
    let (_, size, _) = sys::statfs(mpt).map_err(io_err(format!("statfs {}", mpt.display())))?;
    Ok(size)
}

/// What `mkmeta` found.
pub struct Meta {
    /// The superblock.
    pub sb: Superblock,
    /// True when this host is the file system's master.
    pub master: bool,
    /// This host's system UUID.
    pub host: Uuid,
    /// Device size (from the module).
    pub dev_size: u64,
}

/// Creates the metadata files of a fresh mount (`.meta/.superblock`, then,
/// when the superblock is valid, `.meta/.log` and the UUID marker); on an
/// existing `.meta` just reads the superblock. The log is 0644 on the master
/// and 0444 on clients.
pub fn mkmeta(mpt: &Path) -> Result<Meta, Error> {
    // First, so that a bad system UUID file leaves the mount untouched.
    let host = system_uuid()?;
    let dev_size = device0_size(mpt)?;
    let dir = meta_dir(mpt);
    let sbp = dir.join(".superblock");
    if !dir.exists() {
        fs::create_dir(&dir).map_err(io_err(format!("mkdir {}", dir.display())))?;
        let _ = fs::set_permissions(&dir, fs::Permissions::from_mode(0o755));
    }
    if !sbp.exists() {
        create_meta_file(&sbp, 0o444, FAMFS_SUPERBLOCK, 0, SUPERBLOCK_REGION)?;
    }
    let f = File::open(&sbp).map_err(io_err(format!("open {}", sbp.display())))?;
    let sb = read_superblock(&f)?;
    if sb.is_label() {
        return Err(Error::Superblock(format!(
            "this device is not a file system's first device: it holds the label of an added \
             device of file system {} (device uuid {}); mount the file system's device 0, whose \
             log names this device",
            sb.fs_uuid, sb.dev_uuid
        )));
    }
    check_layout(&sb, dev_size)?;
    let master = host == sb.system_uuid;
    let logp = dir.join(".log");
    if !logp.exists() {
        create_meta_file(
            &logp,
            if master { 0o644 } else { 0o444 },
            FAMFS_LOG,
            sb.log_offset,
            sb.log_len,
        )?;
    }
    let has_marker = fs::read_dir(&dir)
        .map_err(io_err(format!("read {}", dir.display())))?
        .flatten()
        .any(|e| e.file_name().to_string_lossy().starts_with(".uuid."));
    if !has_marker {
        let m = uuid_marker(mpt, &sb.fs_uuid);
        fs::create_dir(&m).map_err(io_err(format!("mkdir {}", m.display())))?;
    }
    Ok(Meta {
        sb,
        master,
        host,
        dev_size,
    })
}

/// An open famfs mount: its superblock and its log file.
pub struct Fs {
    /// Mount point.
    pub mpt: PathBuf,
    /// Superblock (checked, and not stale).
    pub sb: Superblock,
    /// Device size.
    pub dev_size: u64,
    /// This host is the master.
    pub master: bool,
    /// This host's system UUID.
    pub host: Uuid,
    /// Held open for the lock.
    log_file: File,
    log: Log<MapStore>,
}

/// A mapped metadata file as the storage of the log: reads see what other
/// hosts wrote (the cache lines are dropped first), flushes write the cache
/// lines back to the shared memory.
pub struct MapStore {
    map: Mapping,
    /// Test builds: abort in the middle of the next entry store.
    #[cfg(feature = "test-hooks")]
    crash_mid_append: bool,
}

enum Mapping {
    Ro(memmap2::Mmap),
    Rw(memmap2::MmapMut),
}

impl MapStore {
    /// A read-only mapping (reading the log only).
    pub fn ro(m: memmap2::Mmap) -> MapStore {
        MapStore {
            map: Mapping::Ro(m),
            #[cfg(feature = "test-hooks")]
            crash_mid_append: false,
        }
    }

    /// A writable mapping.
    pub fn rw(m: memmap2::MmapMut) -> MapStore {
        MapStore {
            map: Mapping::Rw(m),
            #[cfg(feature = "test-hooks")]
            crash_mid_append: false,
        }
    }

    /// Test builds: arms the mid-append crash point if it was asked for.
    #[cfg(feature = "test-hooks")]
    fn with_crash_point(mut self, p: Option<crate::hooks::CrashPoint>) -> MapStore {
        self.crash_mid_append = p == Some(crate::hooks::CrashPoint::MidAppend);
        self
    }

    fn bytes(&self) -> &[u8] {
        match &self.map {
            Mapping::Ro(m) => m,
            Mapping::Rw(m) => m,
        }
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        match &mut self.map {
            Mapping::Rw(m) => m,
            Mapping::Ro(_) => {
                panic!("a read-only log mapping cannot be written (Fs::open(.., true))")
            }
        }
    }
}

impl LogRead for MapStore {
    fn size(&self) -> usize {
        self.bytes().len()
    }

    fn read(&self, offset: usize, dst: &mut [u8]) {
        let src = &self.bytes()[offset..offset + dst.len()];
        sys::cache_invalidate(src);
        dst.copy_from_slice(src);
    }
}

impl LogStore for MapStore {
    fn write(&mut self, offset: usize, src: &[u8]) {
        #[cfg(feature = "test-hooks")]
        let crash = self.crash_mid_append && offset >= famfs_format::LOG_HEADER_SIZE;
        let m = self.bytes_mut();
        #[cfg(feature = "test-hooks")]
        if crash {
            // Die with half of the entry stored (and flushed), the header
            // untouched.
            let half = &src[..src.len() / 2];
            m[offset..offset + half.len()].copy_from_slice(half);
            sys::cache_flush(&m[offset..offset + src.len()]);
            crate::hooks::crash("mid-append: aborting inside the append");
        }
        m[offset..offset + src.len()].copy_from_slice(src);
    }

    fn flush(&mut self, offset: usize, len: usize) {
        sys::cache_flush(&self.bytes_mut()[offset..offset + len]);
    }
}

impl Fs {
    /// Opens the metadata of the famfs mounted at `mpt` (creating the
    /// metadata files if the mount has none yet), refusing a mount whose
    /// file system was re-created. `write` asks for the master's right to
    /// append to the log.
    pub fn open(mpt: &Path, write: bool) -> Result<Fs, Error> {
        let meta = mkmeta(mpt)?;
        let marker = uuid_marker(mpt, &meta.sb.fs_uuid);
        if !marker.exists() {
            let mounted = fs::read_dir(meta_dir(mpt))
                .ok()
                .into_iter()
                .flatten()
                .flatten()
                .find_map(|e| {
                    let n = e.file_name().to_string_lossy().into_owned();
                    n.strip_prefix(".uuid.")
                        .and_then(|u| Uuid::parse_str(u).ok())
                })
                .unwrap_or_default();
            return Err(Error::Stale {
                mpt: mpt.display().to_string(),
                mounted,
                now: meta.sb.fs_uuid,
            });
        }
        let host = meta.host;
        if write && !meta.master {
            return Err(Error::NotMaster {
                host,
                master: meta.sb.system_uuid,
            });
        }
        let logp = meta_dir(mpt).join(".log");
        let log_file = OpenOptions::new()
            .read(true)
            .write(write)
            .open(&logp)
            .map_err(io_err(format!("open {}", logp.display())))?;
        let store = if write {
            let store = MapStore::rw(sys::map_rw(&log_file).map_err(io_err("map .meta/.log"))?);
            #[cfg(feature = "test-hooks")]
            let store = store.with_crash_point(crate::hooks::crash_point());
            store
        } else {
            MapStore::ro(sys::map_ro(&log_file).map_err(io_err("map .meta/.log"))?)
        };
        Ok(Fs {
            mpt: mpt.to_path_buf(),
            sb: meta.sb,
            dev_size: meta.dev_size,
            master: meta.master,
            host,
            log_file,
            log: Log::new(store),
        })
    }

    /// Serialises metadata changes on this host (`flock` on `.meta/.log`)
    /// until the `Fs` is dropped.
    pub fn lock(&self) -> Result<(), Error> {
        sys::flock_exclusive(&self.log_file).map_err(io_err("lock .meta/.log"))
    }

    /// Reads the log: header and every published entry (bad ones listed).
    pub fn read_log(&self) -> Result<(LogHeader, Replay), Error> {
        self.log.replay().map_err(Error::Log)
    }

    /// Appends one entry (master only; take [`Fs::lock`] first) and returns
    /// its sequence number, with famfs-format's log writer: the entry is
    /// written and flushed before the header that publishes it.
    pub fn append(&mut self, body: EntryBody) -> Result<u64, Error> {
        self.log.append(body).map_err(|e| match e {
            LogError::Full(n) => Error::LogFull(n),
            e => Error::Log(e),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const U: &str = "0b3c6a1e-5f2d-4c8e-9a7b-1d2e3f405162";

    fn uuid() -> Uuid {
        Uuid::parse_str(U).unwrap()
    }

    fn parse(b: &[u8]) -> Result<Uuid, String> {
        parse_system_uuid(b).map_err(|e| e.to_string())
    }

    #[test]
    fn system_uuid_36_characters() {
        assert_eq!(parse(U.as_bytes()), Ok(uuid()));
        assert_eq!(parse(U.to_uppercase().as_bytes()), Ok(uuid()));
    }

    #[test]
    fn system_uuid_nul_terminated_as_the_public_tools_write_it() {
        let mut b = U.as_bytes().to_vec();
        b.push(0);
        assert_eq!(b.len(), 37);
        assert_eq!(parse(&b), Ok(uuid()));
        b.extend_from_slice(&[0; 11]);
        assert_eq!(parse(&b), Ok(uuid()), "several NULs");
    }

    #[test]
    fn system_uuid_newline_and_whitespace() {
        for tail in ["\n", "\r\n", "  \t\n", "\n\n"] {
            assert_eq!(
                parse(format!("{U}{tail}").as_bytes()),
                Ok(uuid()),
                "{tail:?}"
            );
        }
    }

    #[test]
    fn system_uuid_nul_and_newline_mixed() {
        for tail in ["\0\n", "\n\0", "\0 \n\0\0"] {
            assert_eq!(
                parse(format!("{U}{tail}").as_bytes()),
                Ok(uuid()),
                "{tail:?}"
            );
        }
    }

    #[test]
    fn system_uuid_what_we_write_reads_back() {
        let u = Uuid::new_v4();
        let t = system_uuid_text(&u);
        assert_eq!(t.len(), 37);
        assert!(t.ends_with('\n'));
        assert_eq!(parse(t.as_bytes()), Ok(u));
    }

    #[test]
    fn system_uuid_garbage_is_refused_with_the_reason() {
        let cases: &[(&[u8], &str)] = &[
            (b"", "empty"),
            (b"\n", "starts with '\\n'"),
            (b"\0\0\0", "starts with '\\x00'"),
            (b" 0b3c6a1e-5f2d-4c8e-9a7b-1d2e3f405162", "starts with ' '"),
            (b"0b3c6a1e-5f2d-4c8e-9a7b", "23 characters long, not 36"),
            (
                b"0b3c6a1e-5f2d-4c8e-9a7b\0-1d2e3f405162",
                "23 characters long",
            ),
            (b"0b3c6a1e5f2d4c8e9a7b1d2e3f405162\n", "32 characters long"),
            (b"0b3c6a1e-5f2d-4c8e-9a7b-1d2e3f405162x", "byte 36 is 'x'"),
            (b"0b3c6a1e-5f2d-4c8e-9a7b-1d2e3f4051623", "byte 36 is '3'"),
            (b"0b3c6a1e-5f2d-4c8e-9a7b-1d2e3f405162\0x", "byte 37 is 'x'"),
            (
                b"0b3c6a1e-5f2d-4c8e-9a7b-1d2e3f405162\n\xff",
                "byte 37 is '\\xff'",
            ),
            (
                b"0b3c6a1e-5f2d-4c8e-9a7b-1d2e3f405162\n0b3c6a1e-5f2d-4c8e-9a7b-1d2e3f405162\n",
                "byte 37 is '0'",
            ),
            (
                b"0b3c6a1e-5f2d-4c8e-9a7b-1d2e3f40516g",
                "byte 35 is 'g', expected a hex digit",
            ),
            (
                b"0b3c6a1e_5f2d-4c8e-9a7b-1d2e3f405162",
                "byte 8 is '_', expected '-'",
            ),
            (b"{0b3c6a1e-5f2d-4c8e-9a7b-1d2e3f40516}", "byte 0 is '{'"),
        ];
        for (b, want) in cases {
            match parse(b) {
                Ok(u) => panic!("{:?} was accepted as {u}", b.escape_ascii().to_string()),
                Err(e) => assert!(
                    e.contains(want),
                    "{:?}: {e:?} does not say {want:?}",
                    b.escape_ascii().to_string()
                ),
            }
        }
    }

    #[test]
    fn system_uuid_error_message_names_the_file_and_the_format() {
        let e = Error::BadSystemUuid {
            path: SYSTEM_UUID_FILE.into(),
            why: parse_system_uuid(b"nonsense").unwrap_err(),
        }
        .to_string();
        assert!(
            e.starts_with("/opt/famfs/system_uuid is not a system UUID file: "),
            "{e}"
        );
        assert!(e.contains("8 characters long, not 36"), "{e}");
        assert!(
            e.contains("optionally followed by NUL bytes or whitespace"),
            "{e}"
        );
    }
}
