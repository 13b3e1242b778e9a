//! The thin layer over the system calls famfs needs: mount/umount, statfs,
//! flock and ownership through rustix and std, and, with `unsafe`, the famfs
//! ioctls, mappings and cache flushes. Every `unsafe` block of the crate is
//! here.

use std::fs::File;
use std::io;
use std::os::unix::io::AsRawFd;
use std::path::Path;

use rustix::fs::FlockOperation;
use rustix::mount::{MountFlags, UnmountFlags};

use famfs_abi::*;
use famfs_format::{Extent, FileMap};

/// `f_type` of a mounted famfs.
pub const FAMFS_MAGIC: i64 = famfs_abi::FAMFS_SUPER_MAGIC as i64;

/// `statfs(2)`: (f_type, total bytes, free bytes).
pub fn statfs(p: &Path) -> io::Result<(i64, u64, u64)> {
    let s = rustix::fs::statfs(p)?;
    let bsize = s.f_frsize as u64;
    Ok((s.f_type, s.f_blocks * bsize, s.f_bfree * bsize))
}

/// True when `p` is on a famfs mount.
pub fn is_famfs(p: &Path) -> bool {
    matches!(statfs(p), Ok((t, _, _)) if t == FAMFS_MAGIC)
}

/// Mounts the famfs on `dev` at `target` (`mount -t famfs dev target`).
pub fn mount_famfs(dev: &Path, target: &Path, read_only: bool) -> io::Result<()> {
    let flags = if read_only {
        MountFlags::RDONLY
    } else {
        MountFlags::empty()
    };
    rustix::mount::mount(dev, target, "famfs", flags, None)?;
    Ok(())
}

/// Remounts the famfs at `target` with the `strict_write` option: files
/// without write bits cannot be opened for writing, not even by root.
pub fn remount_strict_write(target: &Path) -> io::Result<()> {
    rustix::mount::mount_remount(target, MountFlags::empty(), "strict_write")?;
    Ok(())
}

/// Remounts the famfs at `target` with the `pfnmap` option: shared
/// mappings become raw page-frame maps, with 1 GiB entries where a file's
/// memory allows (Documentation/famfs.rst, "1 GiB mappings").
pub fn remount_pfnmap(target: &Path) -> io::Result<()> {
    rustix::mount::mount_remount(target, MountFlags::empty(), "pfnmap")?;
    Ok(())
}

/// Remounts the famfs at `target` with the allocation unit `unit` (4 KiB
/// or 2 MiB): the module then accepts maps in that unit.
pub fn remount_alloc_unit(target: &Path, unit: u64) -> io::Result<()> {
    let opt = if unit == 4096 {
        "alloc_unit=4k"
    } else {
        "alloc_unit=2m"
    };
    rustix::mount::mount_remount(target, MountFlags::empty(), opt)?;
    Ok(())
}

/// Unmounts `target`.
pub fn umount(target: &Path) -> io::Result<()> {
    rustix::mount::unmount(target, UnmountFlags::empty())?;
    Ok(())
}

/// Takes an exclusive `flock` on `f`, waiting for it; it is released when
/// the file is closed.
pub fn flock_exclusive(f: &File) -> io::Result<()> {
    loop {
        match rustix::fs::flock(f, FlockOperation::LockExclusive) {
            Err(rustix::io::Errno::INTR) => continue,
            r => return Ok(r?),
        }
    }
}

/// Creates a new file (`O_CREAT | O_EXCL`) opened read-only: a famfs file
/// without write permission cannot be opened for writing, not even by its
/// creator, and a read-only descriptor is all the map ioctls need.
pub fn create_ro(p: &Path, mode: u32) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_CREAT | libc::O_EXCL)
        .mode(mode)
        .open(p)
}

/// Clears the umask, so that files and directories get exactly the modes
/// the log records without a chmod per inode (famfs calls this at start).
pub fn clear_umask() {
    rustix::process::umask(rustix::fs::Mode::empty());
}

/// Creates directory `p` with `mode`, `uid` and `gid` in as few system
/// calls as the attributes allow (one for a directory owned by the caller
/// with plain permission bits, the umask being clear).
pub fn make_dir(p: &Path, mode: u32, uid: u32, gid: u32) -> io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    std::fs::DirBuilder::new().mode(mode & 0o777).create(p)?;
    if mode & 0o7000 != 0 {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode & 0o7777))?;
    }
    if (uid, gid) != ids() {
        lchown(p, uid, gid)?;
    }
    Ok(())
}

/// `fchown(2)`.
pub fn fchown(f: &File, uid: u32, gid: u32) -> io::Result<()> {
    std::os::unix::fs::fchown(f, Some(uid), Some(gid))
}

/// `lchown(2)`.
pub fn lchown(p: &Path, uid: u32, gid: u32) -> io::Result<()> {
    std::os::unix::fs::lchown(p, Some(uid), Some(gid))
}

/// The caller's effective uid and gid (asked once per process).
pub fn ids() -> (u32, u32) {
    static IDS: std::sync::OnceLock<(u32, u32)> = std::sync::OnceLock::new();
    *IDS.get_or_init(|| {
        (
            rustix::process::geteuid().as_raw(),
            rustix::process::getegid().as_raw(),
        )
    })
}

fn ioctl<T>(f: &File, cmd: u32, arg: *mut T) -> io::Result<()> {
    // SAFETY: every caller passes a pointer to a live structure of the type
    // and size that `cmd` encodes; the kernel reads or fills only that.
    let r = unsafe { libc::ioctl(f.as_raw_fd(), cmd as libc::c_ulong, arg) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Gives a metadata file (superblock or log) its one extent with the v1
/// `FAMFSIOC_MAP_CREATE`, as upstream famfs does.
pub fn map_create_meta(f: &File, file_type: u32, offset: u64, len: u64) -> io::Result<()> {
    let mut m = FamfsIocMap {
        extent_type: SIMPLE_DAX_EXTENT,
        file_type,
        file_size: len,
        ext_list_count: 1,
        ..Default::default()
    };
    m.ext_list[0] = FamfsExtent { offset, len };
    ioctl(f, FAMFSIOC_MAP_CREATE, &raw mut m)
}

fn simple(x: &[Extent]) -> Vec<FamfsIocSimpleExtent> {
    x.iter()
        .map(|e| FamfsIocSimpleExtent {
            // As logged: the module refuses any other device than 0 on this
            // ioctl, rather than mapping device 0's memory instead.
            devindex: u64::from(e.dev),
            offset: e.offset,
            len: e.len,
        })
        .collect()
}

/// Gives a regular file its map: what [`FileMap::to_fmap`] describes,
/// which is what fsck and the allocator check with the module's rules
/// ([`famfs_format::check_map`]). A map on device 0 only goes through
/// `FAMFSIOC_MAP_CREATE_V2` (KABI 43, as the public tools do); a map with
/// memory on another device through the KABI 44 `MAP_CREATE` message, the
/// interface that names devices.
pub fn map_create(f: &File, size: u64, map: &FileMap) -> io::Result<()> {
    if map.other_device().is_some() {
        return map_create44(f, size, map);
    }
    match map {
        FileMap::Simple(x) => {
            let ext = simple(x);
            let mut m = FamfsIocFmap::simple(size, FAMFS_REG, ext.len() as u32, ext.as_ptr());
            ioctl(f, FAMFSIOC_MAP_CREATE_V2, &raw mut m)
        }
        FileMap::Interleaved { chunk_size, strips } => {
            let s = simple(strips);
            let ie = FamfsIocInterleavedExt {
                ie_nstrips: s.len() as u64,
                ie_chunk_size: *chunk_size,
                ie_nbytes: size,
                ie_strips: s.as_ptr(),
            };
            let mut m = FamfsIocFmap::interleave(size, FAMFS_REG, 1, &raw const ie);
            ioctl(f, FAMFSIOC_MAP_CREATE_V2, &raw mut m)
        }
    }
}

/// Gives a regular file its map with the KABI 44 `FAMFS44_IOC_MAP_CREATE`
/// (a message: header, then the extent records, each naming its device).
pub fn map_create44(f: &File, size: u64, map: &FileMap) -> io::Result<()> {
    use famfs_format::fmap::msg44;
    let mut msg = vec![0u8; msg44::LONGEST_MAP];
    let len = msg44::encode(&map.to_fmap(size), size, &mut msg).ok_or_else(|| {
        io::Error::new(io::ErrorKind::InvalidInput, "map too large for a message")
    })?;
    msg.truncate(len);
    ioctl(f, kabi44::FAMFS44_IOC_MAP_CREATE, msg.as_mut_ptr())
}

/// Opens the dax device at `path` as entry `index` of the device table of
/// the mount `f` is in (`FAMFS44_IOC_DAXDEV_OPEN`; `CAP_SYS_RAWIO`).
pub fn daxdev_open(f: &File, index: u32, path: &Path) -> io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let p = path.as_os_str().as_bytes();
    let mut d = kabi44::FamfsIocDaxdev {
        daxdev_index: u64::from(index),
        daxdev_path: p.as_ptr() as u64,
        daxdev_path_len: u32::try_from(p.len())
            .map_err(|_| io::Error::from_raw_os_error(libc::ENAMETOOLONG))?,
        flags: 0,
    };
    ioctl(f, kabi44::FAMFS44_IOC_DAXDEV_OPEN, &raw mut d)
}

/// One entry of a mount's device table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableEntry {
    /// The device's name ("dax1.0").
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    /// It reported a memory failure, or was removed.
    pub failed: bool,
    /// The device offset, modulo 1 GiB, at which its memory is 1 GiB
    /// aligned (`pud_phase`; modules older than that field say 0).
    pub pud_phase: u64,
}

/// Entry `index` of the device table of the mount `f` is in
/// (`FAMFS44_IOC_DAXDEV_GET`); `None` for an empty slot.
pub fn daxdev_get(f: &File, index: u32) -> io::Result<Option<TableEntry>> {
    let mut d = kabi44::FamfsIocDaxdevInfo {
        index: u64::from(index),
        ..Default::default()
    };
    ioctl(f, kabi44::FAMFS44_IOC_DAXDEV_GET, &raw mut d)?;
    if d.state & kabi44::FAMFS44_DAXDEV_PRESENT == 0 {
        return Ok(None);
    }
    Ok(Some(TableEntry {
        name: String::from_utf8_lossy(d.name_bytes()).into_owned(),
        size: d.size,
        failed: d.state & kabi44::FAMFS44_DAXDEV_FAILED != 0,
        pud_phase: u64::from(d.pud_phase),
    }))
}

/// The whole device table of the mount `f` is in, by index.
pub fn device_table(f: &File) -> io::Result<Vec<(u32, TableEntry)>> {
    let mut out = Vec::new();
    for i in 0..famfs_format::MAX_DEVICES {
        if let Some(e) = daxdev_get(f, i)? {
            out.push((i, e));
        }
    }
    Ok(out)
}

/// A file's map as the kernel holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelMap {
    /// File size.
    pub size: u64,
    /// File type (regular 0, superblock 1, log 2).
    pub file_type: u32,
    /// Where the bytes are.
    pub map: FileMap,
}

/// `FAMFSIOC_MAP_GET_V2`. ENODATA means the file has no map.
pub fn map_get(f: &File) -> io::Result<KernelMap> {
    let mut g = FamfsIocGetFmap::default();
    ioctl(f, FAMFSIOC_MAP_GET_V2, &raw mut g)?;
    let h = g.iocmap;
    let ext = |e: &FamfsIocSimpleExtent| {
        Extent::on(
            u32::try_from(e.devindex).unwrap_or(u32::MAX),
            e.offset,
            e.len,
        )
    };
    let bad = || {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "kernel returned a malformed map",
        )
    };
    let map = if h.fioc_ext_type == FAMFS_IOC_EXT_SIMPLE {
        if h.count() as usize > FAMFS_MAX_EXTENTS {
            return Err(bad());
        }
        FileMap::Simple(g.simple_extents().iter().map(ext).collect())
    } else {
        let (ie, strips) = g.interleaved();
        if ie.ie_nstrips as usize > FAMFS_MAX_STRIPS {
            return Err(bad());
        }
        FileMap::Interleaved {
            chunk_size: ie.ie_chunk_size,
            strips: strips.iter().map(ext).collect(),
        }
    };
    Ok(KernelMap {
        size: h.fioc_file_size,
        file_type: h.fioc_file_type,
        map,
    })
}

/// Flushes (`clflush`: writes back if dirty, then drops) every CPU cache
/// line that overlaps `bytes`.
#[cfg(target_arch = "x86_64")]
fn clflush_lines(bytes: &[u8]) {
    const LINE: usize = 64;
    let end = bytes.as_ptr() as usize + bytes.len();
    let mut a = bytes.as_ptr() as usize & !(LINE - 1);
    while a < end {
        // SAFETY: clflush takes any address in a mapped page; every line
        // visited overlaps `bytes`, which is mapped for the whole call.
        unsafe { core::arch::x86_64::_mm_clflush(a as *const u8) };
        a += LINE;
    }
}

/// Writes back and invalidates the CPU cache lines of `bytes`, then fences,
/// so that other hosts sharing the memory see what this host wrote, and this
/// host re-reads what others wrote (for memory that is not cache-coherent
/// between hosts). Elsewhere than x86-64 this is only a fence.
pub fn cache_flush(bytes: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    {
        clflush_lines(bytes);
        // SAFETY: sfence has no operands and no preconditions.
        unsafe { core::arch::x86_64::_mm_sfence() };
    }
    #[cfg(not(target_arch = "x86_64"))]
    std::sync::atomic::fence(std::sync::atomic::Ordering::SeqCst);
}

/// Invalidates the CPU cache lines of `bytes` before they are read: each
/// line is flushed (`clflush`; a line this host did not write is simply
/// dropped), then a full fence (`mfence`) keeps the loads that follow from
/// being served before the flushes completed, so they go to the memory and
/// see what other hosts wrote and flushed. Elsewhere than x86-64 this is
/// only a fence.
pub fn cache_invalidate(bytes: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    {
        clflush_lines(bytes);
        // SAFETY: mfence has no operands and no preconditions.
        unsafe { core::arch::x86_64::_mm_mfence() };
    }
    #[cfg(not(target_arch = "x86_64"))]
    std::sync::atomic::fence(std::sync::atomic::Ordering::SeqCst);
}

/// Maps the first `len` bytes of a file shared, read-only.
pub fn map_ro_len(f: &File, len: usize) -> io::Result<memmap2::Mmap> {
    // SAFETY: as for `map_ro`.
    unsafe { memmap2::MmapOptions::new().len(len).map(f) }
}

/// The id of the mount a file is on (`statx` `STATX_MNT_ID`: the first
/// field of `/proc/self/mountinfo`, never reused while the mount exists).
pub fn mount_id(f: &File) -> io::Result<u64> {
    use rustix::fs::{AtFlags, StatxFlags};
    let st = rustix::fs::statx(f, "", AtFlags::EMPTY_PATH, StatxFlags::MNT_ID)?;
    if st.stx_mask & StatxFlags::MNT_ID.bits() == 0 {
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "statx gives no mount id (Linux 5.8 or later needed)",
        ));
    }
    Ok(st.stx_mnt_id)
}

/// Waits up to `timeout` for a change of the mount table that `mountinfo`
/// (an open `/proc/self/mountinfo`) shows; true when there was one. The
/// caller reads the file again to learn what changed (reading it is what
/// rearms the wait).
pub fn wait_mount_change(mountinfo: &File, timeout: std::time::Duration) -> io::Result<bool> {
    use rustix::event::{poll, PollFd, PollFlags, Timespec};
    let mut fds = [PollFd::new(mountinfo, PollFlags::PRI)];
    let ts = Timespec {
        tv_sec: timeout.as_secs() as _,
        tv_nsec: timeout.subsec_nanos() as _,
    };
    loop {
        match poll(&mut fds, Some(&ts)) {
            Ok(n) => {
                return Ok(n > 0 && fds[0].revents().intersects(PollFlags::PRI | PollFlags::ERR))
            }
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Moves this process into a mount namespace of its own, a copy of the one
/// it was in, with every mount private (`unshare(CLONE_NEWNS)`, then
/// `MS_REC | MS_PRIVATE` on `/`, as `unshare -m` does). Files it opens on a
/// mount from then on hold only the copy: `umount` of the original in the
/// first namespace is not kept busy by them (and, the copy being private,
/// not propagated to it).
pub fn private_mount_namespace() -> io::Result<()> {
    // SAFETY: only the mount namespace (and with it the working directory
    // and root, CLONE_FS) is unshared, never the file descriptor table: no
    // descriptor becomes invalid for any thread.
    unsafe { rustix::thread::unshare_unsafe(rustix::thread::UnshareFlags::NEWNS) }?;
    rustix::mount::mount_change(
        "/",
        rustix::mount::MountPropagationFlags::PRIVATE | rustix::mount::MountPropagationFlags::REC,
    )?;
    Ok(())
}

/// Maps a whole file shared, read-only.
pub fn map_ro(f: &File) -> io::Result<memmap2::Mmap> {
    // SAFETY: a famfs file cannot change size while mapped (a size change
    // makes it invalid and the kernel then refuses faults with SIGBUS, it
    // never shrinks the mapping under us); its bytes may change (that is
    // the point of shared memory), which is why the metadata code copies
    // and checks (CRC) what it reads instead of trusting references.
    unsafe { memmap2::MmapOptions::new().map(f) }
}

/// Maps a whole file shared, read-write.
pub fn map_rw(f: &File) -> io::Result<memmap2::MmapMut> {
    // SAFETY: as for `map_ro`.
    unsafe { memmap2::MmapOptions::new().map_mut(f) }
}
