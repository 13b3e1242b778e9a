// SPDX-License-Identifier: GPL-2.0

//! The `famfs` file system type: per-mount state, mount options, mounting,
//! statfs. The [`FileSystem`] implementation that ties famfs to the kernel
//! lives here too; each of its methods hands over to the famfs file that
//! owns the rule (`inode.rs`, `file.rs`, `iomap.rs`, `dax.rs`, `ioctl.rs`).

#![deny(unsafe_code)]

use kernel::new_mutex;
use kernel::prelude::*;
use kernel::seq_file::{seq_print, SeqFile};
use kernel::sync::atomic::{Atomic, Relaxed};
use kernel::sync::{Mutex, SetOnce};

use crate::fmap::{Limits, FAMFS_ALIGN, MAX_DEVICES, SMALL_UNIT};
use crate::inode::FileMeta;
use crate::opts::{self, Op, UnknownBits};
use crate::registry::Registry;
use crate::vfs::dax::{AddedDevice, DaxClaim, FailureFlags};
use crate::vfs::file::{FaultResult, File, IovIter, Kiocb, MapMode, NewVma, VmFault};
use crate::vfs::fs::{
    Counter, Counters, FileSystem, FsContext, Param, ParamValue, StatFs, SuperBlock,
};
use crate::vfs::inode::{Attr, Inode, Locked, NewDentry};
use crate::vfs::iomap::{Iomap, IomapFlags};
use crate::vfs::pr_warn_limited;

/// The famfs magic number (statfs `f_type`; also the on-media superblock's).
pub(crate) const FAMFS_SUPER_MAGIC: u32 = crate::bindings::FAMFS_SUPER_MAGIC;
const DEFAULT_ROOT_MODE: u32 = 0o755;
const PAGE_SIZE: u64 = kernel::page::PAGE_SIZE as u64;
/// Permission bits a `mode=` may set.
const S_IALLUGO: u32 = 0o7777;

/// The famfs file system type.
pub(crate) struct Famfs;

/// Per-mount state (`s_fs_info`; for a remount context, the new options).
#[pin_data]
pub(crate) struct FsInfo {
    /// Mode of the root directory (`mode=` option, permission bits only).
    root_mode: Atomic<u32>,
    /// Whether `mode=` was given (matters for remount).
    mode_given: Atomic<bool>,
    /// `strict_write`: files without a write permission bit cannot be
    /// opened for writing, not even by root.
    strict_write: Atomic<bool>,
    /// `pfnmap`: shared mappings are raw page-frame maps, with 1 GiB
    /// entries where a file's memory allows (`file.rs` `pfn_fault`).
    pfnmap: Atomic<bool>,
    /// Whether `pfnmap` or `nopfnmap` was given (matters for remount).
    pfnmap_given: Atomic<bool>,
    /// `alloc_unit=`: what every extent offset and length of a map must be
    /// a multiple of (2 MiB by default, or 4 KiB).
    alloc_unit: Atomic<u64>,
    /// Whether `alloc_unit=` was given (matters for remount).
    unit_given: Atomic<bool>,
    /// `kabi=`: the ABI generation whose permission bits the mount starts
    /// with (43, the default, or 44).
    kabi: Atomic<u32>,
    /// Whether `kabi=` was given (a remount may repeat it, not change it).
    kabi_given: Atomic<bool>,
    /// The permission bits (`opts.rs`): which operations the mount serves.
    opts: Atomic<u64>,
    /// The claimed device, from `fill_super` on: device 0.
    backing: SetOnce<DaxClaim>,
    /// Devices 1 to 63, added while mounted (KABI 44 `DAXDEV_OPEN`), at
    /// `index - 1`. Each is set once, under `dev_lock`, and read without a
    /// lock by the data path; all are released with the mount.
    added: [SetOnce<AddedDevice>; MAX_DEVICES - 1],
    /// Serialises adding devices (the check that an index or a device is
    /// free, then the claim).
    #[pin]
    pub(crate) dev_lock: Mutex<()>,
    /// The counters in `/sys/fs/famfs/<device>/` (fault counts, device
    /// size, mapped bytes, the failed flag).
    #[pin]
    pub(crate) counters: Counters,
    /// Every device range of every mapped file of this mount.
    #[pin]
    pub(crate) registry: Registry,
    /// The next file id for the registry.
    next_file_id: Atomic<u64>,
}

impl FsInfo {
    fn new() -> impl PinInit<Self, Error> {
        try_pin_init!(FsInfo {
            root_mode: Atomic::new(DEFAULT_ROOT_MODE),
            mode_given: Atomic::new(false),
            strict_write: Atomic::new(false),
            pfnmap: Atomic::new(false),
            pfnmap_given: Atomic::new(false),
            alloc_unit: Atomic::new(FAMFS_ALIGN),
            unit_given: Atomic::new(false),
            kabi: Atomic::new(43u32),
            kabi_given: Atomic::new(false),
            opts: Atomic::new(opts::KABI43_DEFAULT),
            backing: SetOnce::new(),
            added: [const { SetOnce::new() }; MAX_DEVICES - 1],
            dev_lock <- new_mutex!(()),
            counters <- Counters::new(),
            registry <- Registry::new(),
            next_file_id: Atomic::new(1u64),
        }? Error)
    }

    /// Whether the mount has the `strict_write` option.
    pub(crate) fn strict_write(&self) -> bool {
        self.strict_write.load(Relaxed)
    }

    /// Whether the mount has the `pfnmap` option.
    pub(crate) fn pfnmap(&self) -> bool {
        self.pfnmap.load(Relaxed)
    }

    /// The mount's allocation unit (`alloc_unit=`): 2 MiB or 4 KiB.
    pub(crate) fn alloc_unit(&self) -> u64 {
        self.alloc_unit.load(Relaxed)
    }

    /// The mount's permission bits.
    pub(crate) fn opts(&self) -> u64 {
        self.opts.load(Relaxed)
    }

    /// Whether the permission bits allow `op`: if not, one rate-limited log
    /// line and `EPERM`.
    pub(crate) fn may(&self, op: Op) -> Result {
        if op.allowed(self.opts()) {
            return Ok(());
        }
        self.refuse(op)
    }

    /// Refuses `op` as [`Self::may`] does.
    pub(crate) fn refuse(&self, op: Op) -> Result {
        pr_warn_limited!(
            "{}: {} refused: the mount's permission bit is clear\n",
            self.device_name(),
            op.describe()
        );
        Err(EPERM)
    }

    /// `SET_OPTS` (`set`) or `CLEAR_OPTS` of `bits`: the bits after it.
    pub(crate) fn update_opts(&self, bits: u64, set: bool) -> Result<u64, UnknownBits> {
        let mut cur = self.opts.load(Relaxed);
        loop {
            let new = opts::update(cur, bits, set)?;
            match self.opts.cmpxchg(cur, new, Relaxed) {
                Ok(_) => return Ok(new),
                Err(now) => cur = now,
            }
        }
    }

    /// The name of device 0 (as in /sys/fs/famfs/), for log lines.
    pub(crate) fn device_name(&self) -> &CStr {
        self.backing().map_or(c"famfs", DaxClaim::name)
    }

    /// Whether a memory failure stopped the mount.
    pub(crate) fn has_failed(&self) -> bool {
        self.counters.get(Counter::Failed).load(Relaxed) != 0
    }

    /// Marks the mount failed; true the first time.
    pub(crate) fn set_failed(&self) -> bool {
        self.counters.get(Counter::Failed).xchg(1, Relaxed) == 0
    }

    /// The claimed device (`None` only before `fill_super` claimed it).
    pub(crate) fn backing(&self) -> Option<&DaxClaim> {
        self.backing.as_ref()
    }

    /// Device `dev` of the mount, if it is open.
    pub(crate) fn device(&self, dev: u32) -> Option<&DaxClaim> {
        match dev as usize {
            0 => self.backing(),
            i if i < MAX_DEVICES => self.added[i - 1].as_ref().map(AddedDevice::claim_ref),
            _ => None,
        }
    }

    /// Calls `f(index, claim)` for every open device, in index order.
    pub(crate) fn for_each_device(&self, mut f: impl FnMut(u32, &DaxClaim)) {
        for i in 0..MAX_DEVICES as u32 {
            if let Some(c) = self.device(i) {
                f(i, c);
            }
        }
    }

    /// Puts `dev` in the table at `index` (1 to 63) if that slot is free,
    /// and says whether it did (if not, `dev` is dropped: its claim is
    /// released). The caller holds `dev_lock`.
    pub(crate) fn add_device(&self, index: u32, dev: AddedDevice) -> bool {
        let Some(slot) = (index as usize)
            .checked_sub(1)
            .and_then(|i| self.added.get(i))
        else {
            return false;
        };
        if !slot.populate(dev) {
            return false;
        }
        set_bits(self.counters.get(Counter::Devices), 1u64 << index);
        true
    }

    /// The limits a new map is validated against: every open device, the
    /// mount's allocation unit.
    pub(crate) fn limits(&self, unaligned_last_len: bool) -> Limits {
        let mut limits = Limits::new(0);
        self.for_each_device(|i, c| limits.dev_sizes[i as usize] = c.size());
        limits.unaligned_last_len = unaligned_last_len;
        limits.unit = self.alloc_unit();
        limits
    }

    /// The devices that reported a memory failure (a bit set).
    pub(crate) fn failed_devices(&self) -> u64 {
        self.counters.get(Counter::FailedDevices).load(Relaxed)
    }

    /// Marks device `dev` failed; true the first time.
    pub(crate) fn set_device_failed(&self, dev: u32) -> bool {
        let bit = 1u64 << (dev as usize % MAX_DEVICES);
        set_bits(self.counters.get(Counter::FailedDevices), bit) & bit == 0
    }

    /// A new, never reused, registry id for a file.
    pub(crate) fn new_file_id(&self) -> u64 {
        self.next_file_id.fetch_add(1, Relaxed)
    }
}

/// Sets `bits` in `a`; the value before.
fn set_bits(a: &Atomic<u64>, bits: u64) -> u64 {
    let mut cur = a.load(Relaxed);
    loop {
        match a.cmpxchg(cur, cur | bits, Relaxed) {
            Ok(old) => return old,
            Err(now) => cur = now,
        }
    }
}

/// A mount option, decoded (the `source` key is handled by the caller).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MountOption {
    /// `mode=OCTAL`: permission bits of the root directory.
    Mode(u32),
    /// `dax=always`: accepted because the public user space passes it; famfs
    /// files are always DAX.
    DaxAlways,
    /// `strict_write`: see [`FsInfo::strict_write`].
    StrictWrite,
    /// `pfnmap` / `nopfnmap`: see [`FsInfo::pfnmap`].
    PfnMap(bool),
    /// `alloc_unit=4k` or `alloc_unit=2m` (also in bytes): see
    /// [`FsInfo::alloc_unit`].
    AllocUnit(u64),
    /// `kabi=43` or `kabi=44`: the permission bits the mount starts with.
    Kabi(u32),
}

/// Why a mount option was refused (always `EINVAL`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OptionError {
    /// Not an option famfs knows.
    Unknown,
    /// `mode` without a value, or a flag (`strict_write`, `pfnmap`) with one.
    Form,
    /// `mode=` that is not an octal number.
    BadMode,
    /// `mode=` with bits beyond 07777.
    ModeRange,
    /// `alloc_unit=` other than 4k or 2m.
    AllocUnit,
    /// `dax=` with another value than `always`.
    Dax,
    /// `kabi=` other than 43 or 44.
    Kabi,
}

/// Decodes one mount option; `value` is `None` for a bare key (a flag).
pub(crate) fn parse_option(key: &[u8], value: Option<&[u8]>) -> Result<MountOption, OptionError> {
    match (key, value) {
        (b"mode", Some(v)) => {
            if v.is_empty() {
                return Err(OptionError::BadMode);
            }
            let mut mode: u32 = 0;
            for &c in v {
                if !(b'0'..=b'7').contains(&c) {
                    return Err(OptionError::BadMode);
                }
                mode = mode
                    .checked_mul(8)
                    .and_then(|m| m.checked_add(u32::from(c - b'0')))
                    .ok_or(OptionError::ModeRange)?;
            }
            if mode & !S_IALLUGO != 0 {
                return Err(OptionError::ModeRange);
            }
            Ok(MountOption::Mode(mode))
        }
        (b"dax", Some(b"always")) => Ok(MountOption::DaxAlways),
        (b"dax", _) => Err(OptionError::Dax),
        (b"strict_write", None) => Ok(MountOption::StrictWrite),
        (b"pfnmap", None) => Ok(MountOption::PfnMap(true)),
        (b"nopfnmap", None) => Ok(MountOption::PfnMap(false)),
        (b"alloc_unit", Some(b"4k" | b"4K" | b"4096")) => Ok(MountOption::AllocUnit(SMALL_UNIT)),
        (b"alloc_unit", Some(b"2m" | b"2M" | b"2097152")) => {
            Ok(MountOption::AllocUnit(FAMFS_ALIGN))
        }
        (b"alloc_unit", Some(_)) => Err(OptionError::AllocUnit),
        (b"kabi", Some(b"43")) => Ok(MountOption::Kabi(43)),
        (b"kabi", Some(b"44")) => Ok(MountOption::Kabi(44)),
        (b"kabi", Some(_)) => Err(OptionError::Kabi),
        (b"mode" | b"alloc_unit" | b"kabi", None)
        | (b"strict_write" | b"pfnmap" | b"nopfnmap", Some(_)) => Err(OptionError::Form),
        _ => Err(OptionError::Unknown),
    }
}

fn parse_param(fc: &FsContext<'_, Famfs>, param: Param<'_>) -> Result {
    let key = param.key();
    let key_text = key.to_str().unwrap_or("?");
    let value = match param.value() {
        ParamValue::Flag => None,
        ParamValue::String(v) => Some(v.to_bytes()),
        ParamValue::Other => {
            return Err(fc.refuse_fmt(
                fmt!("option '{key_text}' must be given as a string or a flag"),
                EINVAL,
            ))
        }
    };
    if key.to_bytes() == b"source" {
        if fc.source().is_some() {
            return Err(fc.refuse(c"more than one source given", EINVAL));
        }
        if value.is_none() {
            return Err(fc.refuse(c"source needs a path", EINVAL));
        }
        return fc.set_source(param);
    }
    let opt = parse_option(key.to_bytes(), value).map_err(|e| {
        let v = value.map_or(Ok(""), core::str::from_utf8).unwrap_or("?");
        match e {
            OptionError::Unknown => {
                fc.refuse_fmt(fmt!("unknown mount option '{key_text}'"), EINVAL)
            }
            OptionError::Form if key.to_bytes() == b"mode" => {
                fc.refuse(c"mode needs a value (mode=OCTAL)", EINVAL)
            }
            OptionError::Form if key.to_bytes() == b"alloc_unit" => {
                fc.refuse(c"alloc_unit needs a value (4k or 2m)", EINVAL)
            }
            OptionError::Form if key.to_bytes() == b"kabi" => {
                fc.refuse(c"kabi needs a value (43 or 44)", EINVAL)
            }
            OptionError::Kabi => {
                fc.refuse_fmt(fmt!("kabi={v} is not supported (43 or 44)"), EINVAL)
            }
            OptionError::AllocUnit => {
                fc.refuse_fmt(fmt!("alloc_unit={v} is not supported (4k or 2m)"), EINVAL)
            }
            OptionError::Form => fc.refuse_fmt(fmt!("option '{key_text}' takes no value"), EINVAL),
            OptionError::BadMode => fc.refuse_fmt(fmt!("mode={v} is not an octal number"), EINVAL),
            OptionError::ModeRange => {
                fc.refuse(c"mode= takes permission bits only (at most 07777)", EINVAL)
            }
            OptionError::Dax => fc.refuse_fmt(
                fmt!("dax={v} is not supported (famfs is always DAX)"),
                EINVAL,
            ),
        }
    })?;
    let info = fc.info();
    match opt {
        MountOption::Mode(mode) => {
            info.root_mode.store(mode, Relaxed);
            info.mode_given.store(true, Relaxed);
        }
        MountOption::DaxAlways => {}
        MountOption::StrictWrite => info.strict_write.store(true, Relaxed),
        MountOption::PfnMap(on) => {
            info.pfnmap.store(on, Relaxed);
            info.pfnmap_given.store(true, Relaxed);
        }
        MountOption::AllocUnit(unit) => {
            info.alloc_unit.store(unit, Relaxed);
            info.unit_given.store(true, Relaxed);
        }
        MountOption::Kabi(kabi) => {
            info.kabi.store(kabi, Relaxed);
            info.kabi_given.store(true, Relaxed);
        }
    }
    Ok(())
}

/// Sets up a new mount: claims the device and publishes the counters.
fn fill_super(sb: &SuperBlock<Famfs>, fc: &FsContext<'_, Famfs>) -> Result<u32> {
    let Some(source) = fc.source() else {
        return Err(fc.refuse(c"no source device given", EINVAL));
    };
    let info = sb.info();
    // `kabi=` only ever stores a generation `opts::defaults` knows.
    let kabi = info.kabi.load(Relaxed);
    let Some(bits) = opts::defaults(kabi) else {
        return Err(fc.refuse(c"unsupported kabi", EINVAL));
    };
    info.opts.store(bits, Relaxed);
    let backing = crate::dax::claim(fc, sb, source)?;
    pr_info!(
        "mounting {:?} device: {} MiB at device offset {:#x}\n",
        backing.kind(),
        backing.size() >> 20,
        backing.start_off()
    );
    info.counters
        .get(Counter::DevSize)
        .store(backing.size(), Relaxed);
    info.counters.get(Counter::Devices).store(1, Relaxed);
    // The sysfs directory is named after the device itself, not the path
    // it was mounted through (a device is mounted once at a time, so the
    // name is unique): /sys/fs/famfs/dax0.0/ or /sys/fs/famfs/pmem0/.
    if let Err(e) = info.counters.publish(backing.name()) {
        return Err(fc.refuse(
            c"cannot create the statistics directory in /sys/fs/famfs",
            e,
        ));
    }
    // The first claim of this superblock: `backing` was empty.
    let _ = info.backing.populate(backing);
    Ok(info.root_mode.load(Relaxed))
}

/// Remount: ro/rw are the VFS's; a new `mode=` is applied to the root
/// directory; `strict_write` can be turned on; `pfnmap`/`nopfnmap` apply to
/// the mappings made from then on; a new `alloc_unit=` applies
/// to the maps made from then on (the famfs tool remounts with the unit
/// of the file system's superblock once it has read it; maps already made
/// are not affected, and either unit keeps files apart); `kabi=` may be
/// repeated but not changed (the permission bits are changed with
/// `SET_OPTS`/`CLEAR_OPTS`, and a remount leaves them as they are).
fn reconfigure(sb: &SuperBlock<Famfs>, fc: &FsContext<'_, Famfs>) -> Result {
    let new = fc.info();
    let cur = sb.info();
    // Checked first: a refused remount changes nothing.
    if new.kabi_given.load(Relaxed) && new.kabi.load(Relaxed) != cur.kabi.load(Relaxed) {
        return Err(fc.refuse(c"kabi= cannot change on remount", EINVAL));
    }
    if new.unit_given.load(Relaxed) {
        cur.alloc_unit.store(new.alloc_unit(), Relaxed);
    }
    if new.strict_write() {
        cur.strict_write.store(true, Relaxed);
    }
    if new.pfnmap_given.load(Relaxed) {
        cur.pfnmap.store(new.pfnmap(), Relaxed);
    }
    if new.mode_given.load(Relaxed) {
        let mode = new.root_mode.load(Relaxed);
        cur.root_mode.store(mode, Relaxed);
        sb.set_root_mode(mode);
    }
    Ok(())
}

/// Capacity is every device of the mount; what mapped files use counts as
/// used.
fn statfs(sb: &SuperBlock<Famfs>) -> StatFs {
    let info = sb.info();
    let mut size: u64 = 0;
    info.for_each_device(|_, c| size = size.saturating_add(c.size()));
    let used = info.counters.get(Counter::Mapped).load(Relaxed).min(size);
    StatFs {
        blocks: size / PAGE_SIZE,
        free: (size - used) / PAGE_SIZE,
        block_size: PAGE_SIZE as u32,
    }
}

fn show_options(sb: &SuperBlock<Famfs>, m: &SeqFile) {
    let info = sb.info();
    seq_print!(m, ",mode={:o}", info.root_mode.load(Relaxed));
    if info.strict_write() {
        seq_print!(m, ",strict_write");
    }
    if info.pfnmap() {
        seq_print!(m, ",pfnmap");
    }
    if info.alloc_unit() == SMALL_UNIT {
        seq_print!(m, ",alloc_unit=4k");
    }
    if info.kabi.load(Relaxed) != 43 {
        seq_print!(m, ",kabi={}", info.kabi.load(Relaxed));
    }
}

impl FileSystem for Famfs {
    type Info = FsInfo;
    type FileData = FileMeta;
    const NAME: &'static CStr = c"famfs";
    const MAGIC: u32 = FAMFS_SUPER_MAGIC;

    fn new_info() -> impl PinInit<FsInfo, Error> {
        FsInfo::new()
    }
    fn parse_param(fc: &FsContext<'_, Self>, param: Param<'_>) -> Result {
        parse_param(fc, param)
    }
    fn fill_super(sb: &SuperBlock<Self>, fc: &FsContext<'_, Self>) -> Result<u32> {
        fill_super(sb, fc)
    }
    fn reconfigure(sb: &SuperBlock<Self>, fc: &FsContext<'_, Self>) -> Result {
        reconfigure(sb, fc)
    }
    fn statfs(sb: &SuperBlock<Self>) -> StatFs {
        statfs(sb)
    }
    fn show_options(sb: &SuperBlock<Self>, m: &SeqFile) {
        show_options(sb, m)
    }
    fn create(dir: &Locked<'_, Self>, dentry: NewDentry<'_, Self>, mode: u32) -> Result {
        crate::inode::create(dir, dentry, mode)
    }
    fn mkdir(dir: &Locked<'_, Self>, dentry: NewDentry<'_, Self>, mode: u32) -> Result {
        crate::inode::mkdir(dir, dentry, mode)
    }
    fn setattr(inode: &Locked<'_, Self>, attr: &Attr<'_>) -> Result {
        crate::inode::setattr(inode, attr)
    }
    fn may_unlink(dir: &Locked<'_, Self>, victim: &Inode<Self>) -> Result {
        crate::inode::may_unlink(dir, victim)
    }
    fn may_rmdir(dir: &Locked<'_, Self>, victim: &Inode<Self>) -> Result {
        crate::inode::may_rmdir(dir, victim)
    }
    fn may_rename(source: &Inode<Self>, replaced: Option<&Inode<Self>>) -> Result {
        crate::inode::may_rename(source, replaced)
    }
    fn evict(inode: &Inode<Self>, data: Option<KBox<FileMeta>>) {
        crate::inode::evict(inode, data)
    }
    fn open(inode: &Inode<Self>, file: &File<Self>) -> Result {
        crate::file::open(inode, file)
    }
    fn read_iter(iocb: &mut Kiocb<'_, Self>, to: &mut IovIter) -> Result<usize> {
        crate::file::read_iter(iocb, to)
    }
    fn write_iter(iocb: &mut Kiocb<'_, Self>, from: &mut IovIter) -> Result<usize> {
        crate::file::write_iter(iocb, from)
    }
    fn mmap(file: &File<Self>, vma: &NewVma<'_>) -> Result<MapMode> {
        crate::file::mmap(file, vma)
    }
    fn map_align(file: &File<Self>) -> u64 {
        crate::file::map_align(file)
    }
    fn fault(vmf: &VmFault<'_, Self>, order: u32, new_mapping: bool) -> FaultResult {
        crate::file::fault(vmf, order, new_mapping)
    }
    fn pfn_fault(vmf: &VmFault<'_, Self>, order: u32) -> FaultResult {
        crate::file::pfn_fault(vmf, order)
    }
    fn ioctl(file: &File<Self>, cmd: u32, arg: usize) -> Result<isize> {
        crate::ioctl::ioctl(file, cmd, arg)
    }
    fn iomap_begin(
        inode: &Inode<Self>,
        pos: i64,
        length: i64,
        flags: IomapFlags,
        iomap: &mut Iomap<'_>,
    ) -> Result {
        crate::iomap::iomap_begin(inode, pos, length, flags, iomap)
    }
    fn notify_failure(
        sb: &SuperBlock<Self>,
        dev: u32,
        offset: u64,
        len: u64,
        flags: FailureFlags,
    ) -> Result {
        crate::dax::notify_failure(sb, dev, offset, len, flags)
    }
}

#[kunit_tests(famfs_mount_options)]
mod tests {
    use super::{parse_option, MountOption, OptionError};

    #[test]
    fn mode_is_octal_permission_bits() {
        assert_eq!(
            parse_option(b"mode", Some(b"0755")),
            Ok(MountOption::Mode(0o755))
        );
        assert_eq!(
            parse_option(b"mode", Some(b"7777")),
            Ok(MountOption::Mode(0o7777))
        );
        assert_eq!(parse_option(b"mode", Some(b"0")), Ok(MountOption::Mode(0)));
        assert_eq!(
            parse_option(b"mode", Some(b"17777")),
            Err(OptionError::ModeRange)
        );
        // Overflows u32 on the way: still a range error, not a wrap-around.
        assert_eq!(
            parse_option(b"mode", Some(b"77777777777777")),
            Err(OptionError::ModeRange)
        );
        assert_eq!(
            parse_option(b"mode", Some(b"abc")),
            Err(OptionError::BadMode)
        );
        assert_eq!(
            parse_option(b"mode", Some(b"0758")),
            Err(OptionError::BadMode)
        );
        assert_eq!(parse_option(b"mode", Some(b"")), Err(OptionError::BadMode));
        assert_eq!(parse_option(b"mode", None), Err(OptionError::Form));
    }

    #[test]
    fn pfnmap_is_a_flag() {
        assert_eq!(parse_option(b"pfnmap", None), Ok(MountOption::PfnMap(true)));
        assert_eq!(
            parse_option(b"nopfnmap", None),
            Ok(MountOption::PfnMap(false))
        );
        assert_eq!(parse_option(b"pfnmap", Some(b"1")), Err(OptionError::Form));
        assert_eq!(parse_option(b"nopfnmap", Some(b"")), Err(OptionError::Form));
        assert_eq!(parse_option(b"pfnmapx", None), Err(OptionError::Unknown));
    }

    #[test]
    fn dax_accepts_always_only() {
        assert_eq!(
            parse_option(b"dax", Some(b"always")),
            Ok(MountOption::DaxAlways)
        );
        assert_eq!(parse_option(b"dax", Some(b"never")), Err(OptionError::Dax));
        assert_eq!(parse_option(b"dax", None), Err(OptionError::Dax));
    }

    #[test]
    fn alloc_unit_is_4k_or_2m() {
        for v in [&b"4k"[..], b"4K", b"4096"] {
            assert_eq!(
                parse_option(b"alloc_unit", Some(v)),
                Ok(MountOption::AllocUnit(4096))
            );
        }
        for v in [&b"2m"[..], b"2M", b"2097152"] {
            assert_eq!(
                parse_option(b"alloc_unit", Some(v)),
                Ok(MountOption::AllocUnit(2 << 20))
            );
        }
        for v in [&b"8k"[..], b"", b"1G", b"4095", b"0x1000"] {
            assert_eq!(
                parse_option(b"alloc_unit", Some(v)),
                Err(OptionError::AllocUnit)
            );
        }
        assert_eq!(parse_option(b"alloc_unit", None), Err(OptionError::Form));
    }

    #[test]
    fn kabi_is_43_or_44() {
        assert_eq!(
            parse_option(b"kabi", Some(b"43")),
            Ok(MountOption::Kabi(43))
        );
        assert_eq!(
            parse_option(b"kabi", Some(b"44")),
            Ok(MountOption::Kabi(44))
        );
        for v in [&b"42"[..], b"45", b"", b"044", b"44 "] {
            assert_eq!(parse_option(b"kabi", Some(v)), Err(OptionError::Kabi));
        }
        assert_eq!(parse_option(b"kabi", None), Err(OptionError::Form));
    }

    #[test]
    fn strict_write_is_a_flag() {
        assert_eq!(
            parse_option(b"strict_write", None),
            Ok(MountOption::StrictWrite)
        );
        assert_eq!(
            parse_option(b"strict_write", Some(b"1")),
            Err(OptionError::Form)
        );
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert_eq!(
            parse_option(b"bogus", Some(b"1")),
            Err(OptionError::Unknown)
        );
        assert_eq!(
            parse_option(b"Mode", Some(b"755")),
            Err(OptionError::Unknown)
        );
        assert_eq!(parse_option(b"", None), Err(OptionError::Unknown));
    }
}
