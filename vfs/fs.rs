// SPDX-License-Identifier: GPL-2.0

//! The file system type: the [`FileSystem`] trait famfs implements, the C
//! operation tables built from it, the superblock and the mount context.
//!
//! Mount life cycle (fs_context API): `init_fs_context` allocates the
//! per-mount [`FileSystem::Info`] (pinned) into `fc->s_fs_info`; options go
//! to [`FileSystem::parse_param`]; `get_tree` creates a new superblock
//! (`get_tree_nodev`: every mount has its own), to which the VFS hands over
//! `fc->s_fs_info`; [`FileSystem::fill_super`] claims the device; the layer
//! makes the root directory; `kill_sb` evicts everything, then frees the
//! `Info`.

use core::marker::PhantomData;
use core::pin::Pin;
use core::ptr;

use kernel::error::{from_result, to_result};
use kernel::ffi::{c_int, c_ulong, c_void};
use kernel::prelude::*;
use kernel::seq_file::SeqFile;
use kernel::sync::aref::ARef;
use kernel::sync::atomic::{Atomic, Relaxed};
use kernel::types::Opaque;

use super::dax::FailureFlags;
use super::file::{File, IovIter, Kiocb, MapMode, NewVma, VmFault};
use super::inode::{self, Attr, Inode, Kind, Locked, NewDentry};
use super::iomap::{Iomap, IomapFlags};
use crate::bindings as b;

/// A file system, as the layer needs it. Every method is called from a C
/// callback, in the context that callback guarantees (named per method).
pub(crate) trait FileSystem: Sized + Send + Sync + 'static {
    /// Per-mount state (`s_fs_info`), pinned for its whole life.
    type Info: Send + Sync;
    /// Per-file state (`i_private`), set once, freed at eviction.
    type FileData: Send + Sync;
    /// The file system type's name.
    const NAME: &'static CStr;
    /// statfs `f_type` and `s_magic`.
    const MAGIC: u32;

    /// A new mount's state, before its options.
    fn new_info() -> impl PinInit<Self::Info, Error>;
    /// One mount option (new mount or remount), for the context's `Info`.
    fn parse_param(fc: &FsContext<'_, Self>, param: Param<'_>) -> Result;
    /// Sets up a new superblock; returns the root directory's mode.
    fn fill_super(sb: &SuperBlock<Self>, fc: &FsContext<'_, Self>) -> Result<u32>;
    /// Applies a remount's options (`fc.info()`) to the mounted `sb`.
    fn reconfigure(sb: &SuperBlock<Self>, fc: &FsContext<'_, Self>) -> Result;
    /// statfs.
    fn statfs(sb: &SuperBlock<Self>) -> StatFs;
    /// The options shown in /proc/mounts.
    fn show_options(sb: &SuperBlock<Self>, m: &SeqFile);

    /// `create`, with the directory locked.
    fn create(dir: &Locked<'_, Self>, dentry: NewDentry<'_, Self>, mode: u32) -> Result;
    /// `mkdir`, with the directory locked.
    fn mkdir(dir: &Locked<'_, Self>, dentry: NewDentry<'_, Self>, mode: u32) -> Result;
    /// `setattr` of a regular file or a directory, with it locked, between
    /// the VFS's `setattr_prepare` and `setattr_copy` (an error changes
    /// nothing).
    fn setattr(inode: &Locked<'_, Self>, attr: &Attr<'_>) -> Result;
    /// Whether `victim` may be unlinked from `dir` (the VFS holds both
    /// locked); the layer then unlinks it (`simple_unlink`).
    fn may_unlink(dir: &Locked<'_, Self>, victim: &Inode<Self>) -> Result;
    /// Whether the empty directory `victim` may be removed from `dir` (both
    /// locked); the layer then removes it (`simple_rmdir`).
    fn may_rmdir(dir: &Locked<'_, Self>, victim: &Inode<Self>) -> Result;
    /// Whether `source` may be renamed, replacing `replaced` (an existing
    /// target that the rename removes; `None` for a new name or an
    /// exchange). The VFS holds the directories and both inodes locked; the
    /// layer then renames (`simple_rename`).
    fn may_rename(source: &Inode<Self>, replaced: Option<&Inode<Self>>) -> Result;
    /// Eviction, after the DAX layout and page cache are gone; `data` is the
    /// file's per-file state, if it had any.
    fn evict(inode: &Inode<Self>, data: Option<KBox<Self::FileData>>);

    /// `open` of a regular file (the VFS checked permissions already).
    fn open(inode: &Inode<Self>, file: &File<Self>) -> Result;
    /// `read_iter`: bytes read.
    fn read_iter(iocb: &mut Kiocb<'_, Self>, to: &mut IovIter) -> Result<usize>;
    /// `write_iter`: bytes written.
    fn write_iter(iocb: &mut Kiocb<'_, Self>, from: &mut IovIter) -> Result<usize>;
    /// `mmap`: whether the file may be mapped, and how (the layer then
    /// installs the fault handlers of that mode, with huge pages allowed).
    fn mmap(file: &File<Self>, vma: &NewVma<'_>) -> Result<MapMode>;
    /// The alignment `get_unmapped_area` should give a mapping of `file`
    /// (the file offset and the address agree modulo it): the largest page
    /// size its mappings can use.
    fn map_align(file: &File<Self>) -> u64;
    /// A page fault of `order` (0 or the PMD order); `new_mapping` is false
    /// for write upgrades of an existing mapping (`page_mkwrite`).
    fn fault(vmf: &VmFault<'_, Self>, order: u32, new_mapping: bool) -> super::file::FaultResult;
    /// A page fault of `order` (0, the PMD or the PUD order) on a mapping
    /// that `mmap` set up as [`MapMode::Pfn`].
    fn pfn_fault(vmf: &VmFault<'_, Self>, order: u32) -> super::file::FaultResult;
    /// `unlocked_ioctl` on a file or directory.
    fn ioctl(file: &File<Self>, cmd: u32, arg: usize) -> Result<isize>;
    /// `iomap_begin`: the device range backing `pos`.
    fn iomap_begin(
        inode: &Inode<Self>,
        pos: i64,
        length: i64,
        flags: IomapFlags,
        iomap: &mut Iomap<'_>,
    ) -> Result;
    /// A memory failure (or removal) in device `dev` of this superblock (0:
    /// the mount's source; others: [`super::dax::AddedDevice`]).
    fn notify_failure(
        sb: &SuperBlock<Self>,
        dev: u32,
        offset: u64,
        len: u64,
        flags: FailureFlags,
    ) -> Result;
}

/// The superblock of a mounted file system of type `T`.
///
/// # Invariants
///
/// The C superblock is live, of type `T`, and its `s_fs_info` points to the
/// pinned `T::Info` made by `init_fs_context`, from the start of
/// `fill_super` to the end of `kill_sb`, while any `&SuperBlock` exists.
#[repr(transparent)]
pub(crate) struct SuperBlock<T: FileSystem> {
    inner: Opaque<b::super_block>,
    _t: PhantomData<T>,
}

impl<T: FileSystem> SuperBlock<T> {
    /// # Safety
    ///
    /// `ptr` must satisfy the type invariants for `'a`.
    pub(super) unsafe fn from_raw<'a>(ptr: *mut b::super_block) -> &'a Self {
        // SAFETY: Transparent wrapper; validity per the function contract.
        unsafe { &*ptr.cast() }
    }

    pub(super) fn as_ptr(&self) -> *mut b::super_block {
        self.inner.get()
    }

    /// The per-mount state.
    pub(crate) fn info(&self) -> &T::Info {
        // SAFETY: `s_fs_info` points to a live `T::Info` (type invariant),
        // only ever borrowed shared.
        unsafe { &*(*self.as_ptr()).s_fs_info.cast::<T::Info>() }
    }

    /// Whether the mount is read-only now.
    pub(crate) fn is_read_only(&self) -> bool {
        // SAFETY: `s_flags` is read without locks by the VFS's own
        // `sb_rdonly()`; a remount stores it whole.
        let flags = unsafe { ptr::read_volatile(&raw const (*self.as_ptr()).s_flags) };
        flags & b::FAMFS_CONST_SB_RDONLY != 0
    }

    /// Sets the permission bits of the root directory (remount `mode=`).
    pub(crate) fn set_root_mode(&self, mode: u32) {
        // SAFETY: A mounted superblock has its root dentry and inode; the
        // glue takes the root's inode lock.
        unsafe {
            b::famfs_glue_set_root_mode((*(*self.as_ptr()).s_root).d_inode, mode as b::umode_t)
        };
    }
}

/// A mount option's value.
#[derive(Clone, Copy)]
pub(crate) enum ParamValue<'a> {
    /// A bare key (`-o key`, `FSCONFIG_SET_FLAG`).
    Flag,
    /// `key=value`.
    String(&'a CStr),
    /// A binary blob, a path or a file descriptor (`fsconfig` only).
    Other,
}

/// One mount option, as the VFS passes it to `parse_param`.
pub(crate) struct Param<'a> {
    raw: *mut b::fs_parameter,
    _p: PhantomData<&'a mut b::fs_parameter>,
}

impl<'a> Param<'a> {
    /// The option's name.
    pub(crate) fn key(&self) -> &'a CStr {
        // SAFETY: The VFS passes a parameter with a NUL-terminated key that
        // lives for the call.
        unsafe { CStr::from_char_ptr((*self.raw).key) }
    }

    /// The option's value.
    pub(crate) fn value(&self) -> ParamValue<'a> {
        // SAFETY: `type_` says which member of the union is valid; a string
        // value is NUL-terminated and lives for the call.
        unsafe {
            match (*self.raw).type_() {
                b::fs_value_type_fs_value_is_flag => ParamValue::Flag,
                b::fs_value_type_fs_value_is_string => {
                    ParamValue::String(CStr::from_char_ptr((*self.raw).__bindgen_anon_1.string))
                }
                _ => ParamValue::Other,
            }
        }
    }
}

/// A mount context (new mount or remount) of a file system of type `T`.
///
/// # Invariants
///
/// The C context is live for `'a`, of type `T`, and its `s_fs_info` points
/// to the pinned `T::Info` of this context (until a new superblock takes it
/// over, which the layer accounts for).
pub(crate) struct FsContext<'a, T: FileSystem> {
    raw: *mut b::fs_context,
    info: &'a T::Info,
}

impl<'a, T: FileSystem> FsContext<'a, T> {
    /// The options of this context (of the new mount, or the remount's new
    /// values).
    pub(crate) fn info(&self) -> &'a T::Info {
        self.info
    }

    /// The source given so far, if any.
    pub(crate) fn source(&self) -> Option<&CStr> {
        // SAFETY: `fc->source` is null or a NUL-terminated string owned by
        // the live context.
        unsafe {
            let s = (*self.raw).source;
            (!s.is_null()).then(|| CStr::from_char_ptr(s))
        }
    }

    /// Makes a string option the mount's source (`source=...`). Refused with
    /// `EINVAL` (and nothing logged: the caller reports) if a source is set
    /// already or the value is not a string.
    pub(crate) fn set_source(&self, param: Param<'_>) -> Result {
        if self.source().is_some() || !matches!(param.value(), ParamValue::String(_)) {
            return Err(EINVAL);
        }
        // SAFETY: A string parameter for a context without a source: the
        // VFS helper moves the string into `fc->source` and cannot fail in
        // that case.
        to_result(unsafe { b::vfs_parse_fs_param_source(self.raw, param.raw) })
    }

    /// Refuses the mount: one kernel log line, "famfs: cannot mount SOURCE:
    /// WHAT (-ERRNO)" (rate-limited), and the same text in the context's log
    /// for `fsopen` users. Returns `err`.
    pub(crate) fn refuse(&self, what: &CStr, err: Error) -> Error {
        let source = self.source().map_or(ptr::null(), |s| s.as_char_ptr());
        // SAFETY: The context is live; both strings are NUL-terminated.
        unsafe { b::famfs_glue_report(self.raw, source, what.as_char_ptr(), err.to_errno()) };
        err
    }

    /// As [`Self::refuse`], with a formatted reason.
    pub(crate) fn refuse_fmt(&self, what: core::fmt::Arguments<'_>, err: Error) -> Error {
        match kernel::str::CString::try_from_fmt(what) {
            Ok(msg) => self.refuse(&msg, err),
            Err(_) => self.refuse(c"bad mount option", err),
        }
    }
}

/// What statfs reports, in 4 KiB blocks.
pub(crate) struct StatFs {
    /// Total blocks.
    pub(crate) blocks: u64,
    /// Free blocks.
    pub(crate) free: u64,
    /// Block size in bytes.
    pub(crate) block_size: u32,
}

/// The per-mount counters published under `/sys/fs/famfs/<device>/`, one
/// file each (the names are in `famfs_glue.c`).
#[derive(Clone, Copy)]
#[repr(u32)]
pub(crate) enum Counter {
    /// PTE mappings installed by faults.
    PteFaults = b::famfs_glue_stat_FAMFS_GLUE_STAT_PTE_FAULTS,
    /// PMD mappings installed by faults.
    PmdFaults = b::famfs_glue_stat_FAMFS_GLUE_STAT_PMD_FAULTS,
    /// PUD (1 GiB) mappings installed by faults (PFN mode).
    PudFaults = b::famfs_glue_stat_FAMFS_GLUE_STAT_PUD_FAULTS,
    /// The device size.
    DevSize = b::famfs_glue_stat_FAMFS_GLUE_STAT_DEV_SIZE,
    /// Device bytes of mapped files.
    Mapped = b::famfs_glue_stat_FAMFS_GLUE_STAT_MAPPED,
    /// 1 once the mount stopped serving data (a memory failure of device
    /// 0, which holds the metadata).
    Failed = b::famfs_glue_stat_FAMFS_GLUE_STAT_FAILED,
    /// The devices open, as a bit set of device indices.
    Devices = b::famfs_glue_stat_FAMFS_GLUE_STAT_DEVICES,
    /// The devices that reported a memory failure, as a bit set.
    FailedDevices = b::famfs_glue_stat_FAMFS_GLUE_STAT_FAILED_DEVICES,
}

const NR_COUNTERS: usize = b::famfs_glue_stat_FAMFS_GLUE_NR_STATS as usize;

/// Counters, and the sysfs directory that shows them.
///
/// # Invariants
///
/// `dir` is null or a sysfs object made by `famfs_glue_stats_create` that
/// reads `values`, destroyed in `drop` before `values` go away. A `Counters`
/// is only made in place by its pin initialiser and cannot move
/// (`PhantomPinned`), so the addresses the sysfs object reads stay valid.
#[pin_data(PinnedDrop)]
pub(crate) struct Counters {
    values: [Atomic<u64>; NR_COUNTERS],
    dir: Atomic<*mut b::famfs_glue_stats>,
    #[pin]
    _pin: core::marker::PhantomPinned,
}

// SAFETY: The sysfs object pointer is only created and destroyed by this
// type (published once, atomically); the values are atomics. Nothing is
// tied to the thread that made it.
unsafe impl Send for Counters {}
// SAFETY: Shared access only loads and updates atomics, and `publish`
// installs the sysfs object with a compare-and-exchange.
unsafe impl Sync for Counters {}

impl Counters {
    /// Zeroed counters without a sysfs directory.
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Counters {
            values: core::array::from_fn(|_| Atomic::new(0u64)),
            dir: Atomic::new(ptr::null_mut()),
            _pin: core::marker::PhantomPinned,
        })
    }

    /// One counter.
    pub(crate) fn get(&self, c: Counter) -> &Atomic<u64> {
        &self.values[c as usize]
    }

    /// Shows the counters under `/sys/fs/famfs/NAME/`; once.
    pub(crate) fn publish(&self, name: &CStr) -> Result {
        let ptrs: [*const u64; NR_COUNTERS] =
            core::array::from_fn(|i| self.values[i].as_ptr().cast_const());
        // SAFETY: `name` is NUL-terminated; the counters cannot move (type
        // invariant) and outlive the object (destroyed in `drop` first).
        let dir = unsafe { b::famfs_glue_stats_create(name.as_char_ptr(), ptrs.as_ptr()) };
        let dir = kernel::error::from_err_ptr(dir)?;
        if self.dir.cmpxchg(ptr::null_mut(), dir, Relaxed).is_err() {
            // SAFETY: Just created, never shared.
            unsafe { b::famfs_glue_stats_destroy(dir) };
            return Err(EEXIST);
        }
        Ok(())
    }
}

#[pinned_drop]
impl PinnedDrop for Counters {
    fn drop(self: Pin<&mut Self>) {
        let dir = self.dir.load(Relaxed);
        if !dir.is_null() {
            // SAFETY: Made by `publish`, destroyed only here, while the
            // values it reads still exist (type invariant).
            unsafe { b::famfs_glue_stats_destroy(dir) };
        }
    }
}

/// The C operation tables of file system type `T`.
pub(crate) struct Tables<T: FileSystem>(PhantomData<T>);

const fn owner() -> *mut b::module {
    kernel::module::this_module::<crate::FamfsModule>().as_ptr()
}

impl<T: FileSystem> Tables<T> {
    pub(super) const FC_OPS: b::fs_context_operations = b::fs_context_operations {
        free: Some(Self::fc_free),
        parse_param: Some(Self::parse_param),
        get_tree: Some(Self::get_tree),
        reconfigure: Some(Self::reconfigure),
        ..pin_init::zeroed()
    };

    pub(super) const SUPER_OPS: b::super_operations = b::super_operations {
        statfs: Some(Self::statfs),
        evict_inode: Some(Self::evict_inode),
        drop_inode: Some(b::inode_just_drop),
        show_options: Some(Self::show_options),
        ..pin_init::zeroed()
    };

    pub(super) const DIR_IOPS: b::inode_operations = b::inode_operations {
        lookup: Some(Self::lookup),
        create: Some(Self::create),
        mkdir: Some(Self::mkdir),
        unlink: Some(Self::unlink),
        rmdir: Some(Self::rmdir),
        rename: Some(Self::rename),
        setattr: Some(Self::setattr),
        ..pin_init::zeroed()
    };

    pub(super) const FILE_IOPS: b::inode_operations = b::inode_operations {
        setattr: Some(Self::setattr),
        ..pin_init::zeroed()
    };

    pub(super) const FILE_FOPS: b::file_operations = b::file_operations {
        owner: owner(),
        llseek: Some(b::generic_file_llseek),
        open: Some(Self::open),
        read_iter: Some(Self::read_iter),
        write_iter: Some(Self::write_iter),
        mmap: Some(Self::mmap),
        get_unmapped_area: Some(Self::get_unmapped_area),
        splice_read: Some(b::copy_splice_read),
        splice_write: Some(b::iter_file_splice_write),
        unlocked_ioctl: Some(Self::ioctl),
        fsync: Some(b::noop_fsync),
        ..pin_init::zeroed()
    };

    /// Directories: the dcache-based libfs helpers, plus the ioctls.
    pub(super) const DIR_FOPS: b::file_operations = b::file_operations {
        owner: owner(),
        open: Some(b::dcache_dir_open),
        release: Some(b::dcache_dir_close),
        llseek: Some(b::dcache_dir_lseek),
        read: Some(b::generic_read_dir),
        iterate_shared: Some(b::dcache_readdir),
        fsync: Some(b::noop_fsync),
        unlocked_ioctl: Some(Self::ioctl),
        ..pin_init::zeroed()
    };

    pub(super) const VM_OPS: b::vm_operations_struct = b::vm_operations_struct {
        fault: Some(Self::vm_fault),
        huge_fault: Some(Self::vm_huge_fault),
        page_mkwrite: Some(Self::vm_mkwrite),
        pfn_mkwrite: Some(Self::vm_mkwrite),
        ..pin_init::zeroed()
    };

    /// PFN-mode mappings: no `page_mkwrite`/`pfn_mkwrite`, so a shared
    /// writable mapping gets writable entries at once (there is no page
    /// cache and no dirty tracking to tell).
    pub(super) const PFN_VM_OPS: b::vm_operations_struct = b::vm_operations_struct {
        fault: Some(Self::vm_pfn_fault),
        huge_fault: Some(Self::vm_pfn_huge_fault),
        ..pin_init::zeroed()
    };

    pub(super) const IOMAP_OPS: b::iomap_ops = b::iomap_ops {
        iomap_begin: Some(Self::iomap_begin),
        ..pin_init::zeroed()
    };

    pub(super) const HOLDER_OPS: b::dax_holder_operations = b::dax_holder_operations {
        notify_failure: Some(Self::notify_failure),
    };

    pub(super) const ADDED_HOLDER_OPS: b::dax_holder_operations = b::dax_holder_operations {
        notify_failure: Some(Self::notify_failure_added),
    };

    /// # Safety
    ///
    /// Called by the VFS as `file_system_type::init_fs_context`.
    unsafe extern "C" fn init_fs_context(fc: *mut kernel::bindings::fs_context) -> c_int {
        // The kernel crate only knows `fs_context` as an opaque type.
        let fc: *mut b::fs_context = fc.cast();
        from_result(|| {
            let info = KBox::pin_init(T::new_info(), GFP_KERNEL)?;
            // SAFETY: The VFS passes a context for us to initialise. The
            // `Info` box is never moved out of: `free_info` drops it in
            // place (from `fc_free`, or from `kill_sb` once a superblock
            // took it over).
            unsafe {
                (*fc).s_fs_info = KBox::into_raw(Pin::into_inner_unchecked(info)).cast();
                (*fc).ops = &Self::FC_OPS;
            }
            Ok(0)
        })
    }

    /// Drops an `Info` made by `init_fs_context`.
    ///
    /// # Safety
    ///
    /// `p` must come from `init_fs_context` and not be used afterwards.
    unsafe fn free_info(p: *mut c_void) {
        // SAFETY: `p` came from `KBox::into_raw` of a pinned box and is
        // dropped in place, never moved.
        drop(unsafe { Pin::new_unchecked(KBox::from_raw(p.cast::<T::Info>())) });
    }

    /// The context of a callback.
    ///
    /// # Safety
    ///
    /// `fc` must be a live context of type `T` whose `s_fs_info` is set.
    unsafe fn context<'a>(fc: *mut b::fs_context) -> FsContext<'a, T> {
        FsContext {
            raw: fc,
            // SAFETY: The caller guarantees a live context of type `T` whose
            // `s_fs_info` is the `T::Info` made by `init_fs_context`, which
            // lives as long as the context.
            info: unsafe { &*(*fc).s_fs_info.cast::<T::Info>() },
        }
    }

    /// # Safety
    ///
    /// Called by the VFS as `fs_context_operations::free`.
    unsafe extern "C" fn fc_free(fc: *mut b::fs_context) {
        // SAFETY: A non-null `s_fs_info` is still the context's own (the VFS
        // clears it when a superblock takes it over).
        unsafe {
            let info = (*fc).s_fs_info;
            if !info.is_null() {
                (*fc).s_fs_info = ptr::null_mut();
                Self::free_info(info);
            }
        }
    }

    /// # Safety
    ///
    /// Called by the VFS as `fs_context_operations::parse_param`.
    unsafe extern "C" fn parse_param(fc: *mut b::fs_context, param: *mut b::fs_parameter) -> c_int {
        // SAFETY: The VFS passes our live context (its `s_fs_info` set by
        // `init_fs_context`) and a parameter that lives for the call.
        let fc = unsafe { Self::context(fc) };
        from_result(|| {
            T::parse_param(
                &fc,
                Param {
                    raw: param,
                    _p: PhantomData,
                },
            )?;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the VFS as `fs_context_operations::get_tree`.
    unsafe extern "C" fn get_tree(fc: *mut b::fs_context) -> c_int {
        // SAFETY: The VFS passes a live context.
        unsafe { b::get_tree_nodev(fc, Some(Self::fill_super)) }
    }

    /// # Safety
    ///
    /// Called by `get_tree_nodev` for a new superblock.
    unsafe extern "C" fn fill_super(sb: *mut b::super_block, fc: *mut b::fs_context) -> c_int {
        from_result(|| {
            // SAFETY: `sget_fc` moved our `Info` to `sb->s_fs_info`, so the
            // superblock satisfies `SuperBlock`'s invariants from now on;
            // the context is live for the call and shares that `Info`.
            let (sbr, ctx) = unsafe {
                (
                    SuperBlock::<T>::from_raw(sb),
                    FsContext::<T> {
                        raw: fc,
                        info: &*(*sb).s_fs_info.cast::<T::Info>(),
                    },
                )
            };
            // SAFETY: A new superblock, not visible to anyone else yet.
            unsafe {
                (*sb).s_maxbytes = i64::MAX;
                (*sb).s_blocksize = kernel::page::PAGE_SIZE;
                (*sb).s_blocksize_bits = kernel::page::PAGE_SHIFT as u8;
                (*sb).s_magic = T::MAGIC as c_ulong;
                (*sb).s_op = &Self::SUPER_OPS;
                (*sb).s_time_gran = 1;
            }
            let root_mode = T::fill_super(sbr, &ctx)?;
            let root = inode::new_inode(sbr, None, Kind::Dir, root_mode)?;
            // SAFETY: `d_make_root` takes over the root inode's reference
            // (and drops it on failure).
            let dentry = unsafe { b::d_make_root(ARef::into_raw(root).as_ptr().cast()) };
            if dentry.is_null() {
                return Err(ENOMEM);
            }
            // SAFETY: Still setting up the new superblock.
            unsafe { (*sb).s_root = dentry };
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the VFS as `fs_context_operations::reconfigure`.
    unsafe extern "C" fn reconfigure(fc: *mut b::fs_context) -> c_int {
        // SAFETY: For a remount the VFS passes our live context, whose
        // `root` is the mounted tree and whose `s_fs_info` holds the new
        // options.
        let (sb, ctx) = unsafe {
            (
                SuperBlock::<T>::from_raw((*(*fc).root).d_sb),
                Self::context(fc),
            )
        };
        from_result(|| {
            T::reconfigure(sb, &ctx)?;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the VFS as `file_system_type::kill_sb`.
    unsafe extern "C" fn kill_sb(sb: *mut b::super_block) {
        // SAFETY: The VFS passes our superblock being destroyed. Every dentry
        // and inode is evicted first (so nothing uses the `Info` afterwards),
        // then the `Info` (which releases the device claim) is freed.
        unsafe {
            b::kill_anon_super(sb);
            let info = (*sb).s_fs_info;
            (*sb).s_fs_info = ptr::null_mut();
            if !info.is_null() {
                Self::free_info(info);
            }
        }
    }

    /// # Safety
    ///
    /// Called by the VFS as `super_operations::statfs`.
    unsafe extern "C" fn statfs(
        dentry: *mut b::dentry,
        buf: *mut kernel::bindings::kstatfs,
    ) -> c_int {
        // SAFETY: The VFS passes a dentry of a mounted superblock of ours.
        let st = T::statfs(unsafe { SuperBlock::from_raw((*dentry).d_sb) });
        // SAFETY: The VFS passes a buffer for us to fill; the kernel crate
        // only knows `kstatfs` as an opaque type.
        let buf = unsafe { &mut *buf.cast::<b::kstatfs>() };
        buf.f_type = T::MAGIC as isize;
        buf.f_bsize = st.block_size as isize;
        buf.f_frsize = st.block_size as isize;
        buf.f_blocks = st.blocks;
        buf.f_bfree = st.free;
        buf.f_bavail = st.free;
        buf.f_namelen = 255;
        0
    }

    /// # Safety
    ///
    /// Called by the VFS as `super_operations::show_options`.
    unsafe extern "C" fn show_options(m: *mut b::seq_file, root: *mut b::dentry) -> c_int {
        // SAFETY: The VFS passes a live seq_file and the root of a mounted
        // superblock of ours.
        unsafe {
            T::show_options(
                SuperBlock::from_raw((*root).d_sb),
                SeqFile::from_raw(m.cast()),
            )
        };
        0
    }
}

/// The storage of a file system type: a `static` (the VFS links it into its
/// list, and lockdep needs the lock class keys it holds in static memory).
///
/// # Invariants
///
/// The structure describes file system type `T`; after registration only
/// the VFS touches it, under its own locking.
pub(crate) struct FsType<T: FileSystem> {
    inner: Opaque<kernel::bindings::file_system_type>,
    _t: PhantomData<T>,
}

// SAFETY: Nothing reads or writes the structure through `&FsType` except the
// VFS, which serialises its accesses (file_systems_lock).
unsafe impl<T: FileSystem> Sync for FsType<T> {}

impl<T: FileSystem> FsType<T> {
    /// The type's description, to be kept in a `static`.
    pub(crate) const fn new() -> Self {
        FsType {
            inner: Opaque::new(kernel::bindings::file_system_type {
                name: kernel::str::as_char_ptr_in_const_context(T::NAME),
                init_fs_context: Some(Tables::<T>::init_fs_context),
                kill_sb: Some(Tables::<T>::kill_sb),
                owner: owner(),
                ..pin_init::zeroed()
            }),
            _t: PhantomData,
        }
    }
}

/// Keeps the file system type `T` registered.
pub(crate) struct Registration<T: FileSystem> {
    fs_type: &'static FsType<T>,
}

impl<T: FileSystem> Registration<T> {
    /// Registers `fs_type` (and the sysfs directory its mounts publish
    /// into).
    pub(crate) fn new(fs_type: &'static FsType<T>) -> Result<Self> {
        // SAFETY: No preconditions; undone in `drop` (or below on failure).
        to_result(unsafe { b::famfs_glue_sysfs_init() })?;
        // SAFETY: The structure is static, so it outlives the registration,
        // and `drop` unregisters it; a type is registered once at a time
        // (a second registration fails with EBUSY, and is not kept).
        if let Err(e) = to_result(unsafe { b::register_filesystem(fs_type.inner.get()) }) {
            // SAFETY: Initialised above.
            unsafe { b::famfs_glue_sysfs_exit() };
            return Err(e);
        }
        Ok(Registration { fs_type })
    }
}

impl<T: FileSystem> Drop for Registration<T> {
    fn drop(&mut self) {
        // SAFETY: Registered in `new`. Mounted file systems hold a module
        // reference, so none exists when the module (and this) goes away.
        unsafe { b::unregister_filesystem(self.fs_type.inner.get()) };
        // SAFETY: Initialised in `new`; no mount (and so no per-mount sysfs
        // directory) is left.
        unsafe { b::famfs_glue_sysfs_exit() };
    }
}
