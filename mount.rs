// SPDX-License-Identifier: GPL-2.0

//! The `famfs` file system type: mount options, mounting, the superblock.
//!
//! Mount life cycle (fs_context API):
//! `init_fs_context` allocates an [`FsInfo`] into `fc->s_fs_info`;
//! `parse_param` fills in the options; `get_tree` creates a new superblock
//! (`get_tree_nodev`: every mount has its own), to which the VFS hands over
//! `fc->s_fs_info`; `fill_super` claims the device and makes the root
//! directory; `kill_sb` evicts everything, then releases the device and frees
//! the [`FsInfo`].

use core::cell::UnsafeCell;
use core::ptr;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use kernel::error::{from_result, to_result};
use kernel::ffi::{c_int, c_uint};
use kernel::new_mutex;
use kernel::prelude::*;
use kernel::str::as_char_ptr_in_const_context;
use kernel::sync::Mutex;

use crate::bindings as b;
use crate::dax::Backing;
use crate::inode;

/// The famfs magic number (statfs `f_type`; also the on-media superblock's).
pub(crate) const FAMFS_SUPER_MAGIC: u32 = 0x87b2_82ff;
const DEFAULT_ROOT_MODE: u32 = 0o755;
const PAGE_SIZE: u64 = kernel::page::PAGE_SIZE as u64;

/// One device range used by a mapped file, for the overlap rule and for
/// memory-failure lookups.
pub(crate) struct MappedRange {
    /// First device byte.
    pub(crate) start: u64,
    /// First device byte after the range.
    pub(crate) end: u64,
    /// The file (its inode address, used as a key and, under the registry
    /// lock, to reach the inode: entries are removed before the inode is
    /// freed).
    pub(crate) inode: InodeKey,
}

/// An inode address kept in the registry.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct InodeKey(pub(crate) *mut b::inode);

// SAFETY: The pointer is only dereferenced under the registry lock while the
// inode is known to be live (see `MappedRange::inode`).
unsafe impl Send for InodeKey {}

/// Per-mount state, owned by `sb->s_fs_info` (or `fc->s_fs_info` before the
/// superblock exists).
///
/// # Invariants
///
/// Once `fill_super` succeeded, `backing` is `Some` and `stats` points to the
/// sysfs object publishing the counters below, until `kill_sb` drops this.
#[pin_data(PinnedDrop)]
pub(crate) struct FsInfo {
    /// Mode of the root directory (`mode=` option, permission bits only).
    root_mode: AtomicU32,
    /// Whether `mode=` was given (matters for remount).
    mode_given: bool,
    /// The claimed device; `None` until `fill_super` succeeds in claiming it.
    pub(crate) backing: Option<Backing>,
    /// Size of the device in bytes (published in sysfs).
    pub(crate) dev_size: AtomicU64,
    /// Non-zero after a memory failure: from then on the mount serves no data.
    pub(crate) failed: AtomicU64,
    /// PTE (4 KiB) mappings installed by faults.
    pub(crate) pte_faults: AtomicU64,
    /// PMD (2 MiB) mappings installed by faults.
    pub(crate) pmd_faults: AtomicU64,
    /// Device bytes used by all mapped files.
    pub(crate) mapped_bytes: AtomicU64,
    /// Every device range of every mapped file of this mount.
    #[pin]
    pub(crate) ranges: Mutex<KVec<MappedRange>>,
    /// The sysfs object, or null.
    stats: *mut b::famfs_glue_stats,
}

#[pinned_drop]
impl PinnedDrop for FsInfo {
    fn drop(self: Pin<&mut Self>) {
        if !self.stats.is_null() {
            // SAFETY: Created in `fill_super` and destroyed only here, before
            // the counters it reads go away.
            unsafe { b::famfs_glue_stats_destroy(self.stats) };
        }
    }
}

impl FsInfo {
    fn new() -> impl PinInit<Self, Error> {
        try_pin_init!(FsInfo {
            root_mode: AtomicU32::new(DEFAULT_ROOT_MODE),
            mode_given: false,
            backing: None,
            dev_size: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            pte_faults: AtomicU64::new(0),
            pmd_faults: AtomicU64::new(0),
            mapped_bytes: AtomicU64::new(0),
            ranges <- new_mutex!(KVec::new()),
            stats: ptr::null_mut(),
        }? Error)
    }

    /// Whether a memory failure stopped the mount.
    pub(crate) fn has_failed(&self) -> bool {
        self.failed.load(Ordering::Acquire) != 0
    }

    /// The `FsInfo` of a famfs superblock.
    ///
    /// # Safety
    ///
    /// `sb` must be a famfs superblock between the start of `fill_super` and
    /// the end of `kill_sb`, and nothing may hold a mutable reference to its
    /// `FsInfo` (only `fill_super` takes one, before the superblock is live).
    pub(crate) unsafe fn from_sb<'a>(sb: *mut b::super_block) -> &'a FsInfo {
        // SAFETY: Per the function contract `s_fs_info` points to a live
        // `FsInfo` created by `init_fs_context`.
        unsafe { &*(*sb).s_fs_info.cast::<FsInfo>() }
    }

    /// Frees an `FsInfo` made by `init_fs_context`.
    ///
    /// # Safety
    ///
    /// `p` must come from `init_fs_context` and not be used afterwards.
    unsafe fn free(p: *mut FsInfo) {
        // SAFETY: `p` came from `KBox::into_raw` of a pinned box and is
        // dropped in place, never moved.
        drop(unsafe { Pin::new_unchecked(KBox::from_raw(p)) });
    }
}

/// The `FsInfo` an fs_context carries.
///
/// # Safety
///
/// `fc` must be a famfs fs_context whose `s_fs_info` was set by
/// `init_fs_context` and not yet handed over to a superblock.
unsafe fn fc_info<'a>(fc: *mut b::fs_context) -> &'a mut FsInfo {
    // SAFETY: Per the function contract.
    unsafe { &mut *(*fc).s_fs_info.cast::<FsInfo>() }
}

/// `file_system_type::init_fs_context`: prepares a new mount or remount.
///
/// # Safety
///
/// Called only by the VFS, with the arguments its contract for this
/// operation guarantees.
unsafe extern "C" fn init_fs_context(fc: *mut kernel::bindings::fs_context) -> c_int {
    // The kernel crate only knows `fs_context` as an opaque type.
    let fc: *mut b::fs_context = fc.cast();
    let info = match KBox::pin_init(FsInfo::new(), GFP_KERNEL) {
        Ok(info) => info,
        Err(e) => return e.to_errno(),
    };
    // SAFETY: The VFS passes a valid fs_context for us to initialise; the
    // `FsInfo` is reclaimed by `fc_free` or, after `sget_fc` moved it to a
    // superblock, by `kill_sb`.
    unsafe {
        // The box is never moved out of: it is freed in place by
        // `FsInfo::free`.
        (*fc).s_fs_info = KBox::into_raw(Pin::into_inner_unchecked(info)).cast();
        (*fc).ops = &FC_OPS;
    }
    0
}

/// `fs_context_operations::free`: releases what the context still owns.
///
/// # Safety
///
/// Called only by the VFS, with the arguments its contract for this
/// operation guarantees.
unsafe extern "C" fn fc_free(fc: *mut b::fs_context) {
    // SAFETY: The VFS passes a valid fs_context; a non-null `s_fs_info` is
    // still ours (the VFS clears it when a superblock takes it over).
    unsafe {
        let info = (*fc).s_fs_info.cast::<FsInfo>();
        if !info.is_null() {
            (*fc).s_fs_info = ptr::null_mut();
            FsInfo::free(info);
        }
    }
}

/// `fs_context_operations::parse_param`: one mount option.
///
/// # Safety
///
/// Called only by the VFS, with the arguments its contract for this
/// operation guarantees.
unsafe extern "C" fn parse_param(fc: *mut b::fs_context, param: *mut b::fs_parameter) -> c_int {
    let mut value: u32 = 0;
    // SAFETY: The VFS passes a valid fs_context and parameter.
    let opt = unsafe { b::famfs_glue_parse_param(fc, param, &mut value) };
    if opt < 0 {
        return opt;
    }
    if opt as u32 == b::famfs_glue_param_FAMFS_GLUE_PARAM_MODE {
        if value & !b::S_IALLUGO != 0 {
            // SAFETY: `fc` is valid; the strings are NUL-terminated.
            unsafe {
                b::famfs_glue_report(
                    fc,
                    (*fc).source,
                    c"mode= takes permission bits only (at most 07777)".as_char_ptr(),
                    EINVAL.to_errno(),
                )
            };
            return EINVAL.to_errno();
        }
        // SAFETY: `init_fs_context` set `s_fs_info` for this context.
        let info = unsafe { fc_info(fc) };
        info.root_mode.store(value, Ordering::Relaxed);
        info.mode_given = true;
    }
    0
}

/// `fs_context_operations::get_tree`: creates the superblock of a new mount.
///
/// # Safety
///
/// Called only by the VFS, with the arguments its contract for this
/// operation guarantees.
unsafe extern "C" fn get_tree(fc: *mut b::fs_context) -> c_int {
    // SAFETY: The VFS passes a valid fs_context.
    unsafe { b::get_tree_nodev(fc, Some(fill_super)) }
}

/// `fs_context_operations::reconfigure`: remount (ro/rw are handled by the VFS; a new `mode=` is applied to the root directory).
///
/// # Safety
///
/// Called only by the VFS, with the arguments its contract for this
/// operation guarantees.
unsafe extern "C" fn reconfigure(fc: *mut b::fs_context) -> c_int {
    // SAFETY: For a reconfiguration the VFS passes a valid fs_context whose
    // `root` is the mounted tree; our `s_fs_info` holds the new options.
    unsafe {
        let new = fc_info(fc);
        let sb = (*(*fc).root).d_sb;
        if new.mode_given {
            let mode = new.root_mode.load(Ordering::Relaxed);
            FsInfo::from_sb(sb).root_mode.store(mode, Ordering::Relaxed);
            b::famfs_glue_set_root_mode((*(*sb).s_root).d_inode, mode as b::umode_t);
        }
    }
    0
}

static FC_OPS: b::fs_context_operations = b::fs_context_operations {
    free: Some(fc_free),
    parse_param: Some(parse_param),
    get_tree: Some(get_tree),
    reconfigure: Some(reconfigure),
    ..pin_init::zeroed()
};

/// Sets up a new superblock: claims the device, makes the root directory.
///
/// # Safety
///
/// Called only by the VFS, with the arguments its contract for this
/// operation guarantees.
unsafe extern "C" fn fill_super(sb: *mut b::super_block, fc: *mut b::fs_context) -> c_int {
    from_result(|| {
        // SAFETY: `sget_fc` moved our `FsInfo` to `sb->s_fs_info`; the new
        // superblock is not visible to anyone else yet, so this is the only
        // reference.
        let info = unsafe { &mut *(*sb).s_fs_info.cast::<FsInfo>() };
        // SAFETY: `fc` is valid during the mount.
        let source = unsafe { (*fc).source };
        if source.is_null() {
            // SAFETY: `fc` is valid, the message is NUL-terminated.
            unsafe {
                b::famfs_glue_report(
                    fc,
                    source,
                    c"no source device given".as_char_ptr(),
                    EINVAL.to_errno(),
                )
            };
            return Err(EINVAL);
        }
        // SAFETY: `fc` and `source` are valid; `sb` outlives the backing
        // (it is dropped in `kill_sb`).
        let backing = unsafe { Backing::open(fc, source, sb) }?;
        pr_info!(
            "mounting {:?} device: {} MiB at device offset {:#x}\n",
            backing.kind,
            backing.size >> 20,
            backing.start_off
        );
        info.dev_size.store(backing.size, Ordering::Relaxed);
        // The sysfs directory is named after the device (mounted once at a
        // time): /sys/fs/famfs/dax0.0/ or /sys/fs/famfs/pmem0/.
        let counters: [*const u64; b::famfs_glue_stat_FAMFS_GLUE_NR_STATS as usize] = [
            info.pte_faults.as_ptr(),
            info.pmd_faults.as_ptr(),
            info.dev_size.as_ptr(),
            info.mapped_bytes.as_ptr(),
            info.failed.as_ptr(),
        ];
        // SAFETY: `source` is a valid string; the counters live in the
        // `FsInfo`, which destroys the sysfs object before it goes away.
        let stats = unsafe { b::famfs_glue_stats_create(basename(source), counters.as_ptr()) };
        info.stats = kernel::error::from_err_ptr(stats)?;
        info.backing = Some(backing);

        // SAFETY: We are initialising a new superblock.
        unsafe {
            (*sb).s_maxbytes = i64::MAX;
            (*sb).s_blocksize = PAGE_SIZE as usize;
            (*sb).s_blocksize_bits = kernel::page::PAGE_SHIFT as u8;
            (*sb).s_magic = FAMFS_SUPER_MAGIC as usize;
            (*sb).s_op = &SUPER_OPS;
            (*sb).s_time_gran = 1;
        }
        let mode = b::S_IFDIR | info.root_mode.load(Ordering::Relaxed);
        // SAFETY: `sb` is a famfs superblock being set up.
        let root = unsafe { inode::new_inode(sb, ptr::null_mut(), mode as b::umode_t) }?;
        // SAFETY: `root` is a new inode; `d_make_root` consumes it (also on
        // failure).
        let dentry = unsafe { b::d_make_root(root) };
        if dentry.is_null() {
            return Err(ENOMEM);
        }
        // SAFETY: Still initialising the superblock.
        unsafe { (*sb).s_root = dentry };
        Ok(0)
    })
}

/// `file_system_type::kill_sb`: tears a superblock down.
///
/// # Safety
///
/// Called only by the VFS, with the arguments its contract for this
/// operation guarantees.
unsafe extern "C" fn kill_sb(sb: *mut b::super_block) {
    // SAFETY: The VFS passes a famfs superblock being destroyed. First evict
    // every dentry and inode, then release the device claim (which also
    // unregisters the failure handler) and free the per-mount state.
    unsafe {
        b::kill_anon_super(sb);
        let info = (*sb).s_fs_info.cast::<FsInfo>();
        (*sb).s_fs_info = ptr::null_mut();
        if !info.is_null() {
            FsInfo::free(info);
        }
    }
}

/// `super_operations::statfs`.
///
/// # Safety
///
/// Called only by the VFS, with the arguments its contract for this
/// operation guarantees.
unsafe extern "C" fn statfs(dentry: *mut b::dentry, buf: *mut kernel::bindings::kstatfs) -> c_int {
    // SAFETY: The VFS passes a dentry of a mounted famfs and a buffer to fill.
    unsafe {
        let info = FsInfo::from_sb((*dentry).d_sb);
        let size = info.backing.as_ref().map_or(0, |b| b.size);
        let used = info.mapped_bytes.load(Ordering::Relaxed).min(size);
        // The kernel crate only knows `kstatfs` as an opaque type.
        let buf = &mut *buf.cast::<b::kstatfs>();
        buf.f_type = FAMFS_SUPER_MAGIC as isize;
        buf.f_bsize = PAGE_SIZE as isize;
        buf.f_frsize = PAGE_SIZE as isize;
        // Capacity is the device; what mapped files use counts as used.
        buf.f_blocks = size / PAGE_SIZE;
        buf.f_bfree = (size - used) / PAGE_SIZE;
        buf.f_bavail = buf.f_bfree;
        buf.f_namelen = 255;
    }
    0
}

/// `super_operations::show_options`: the options shown in /proc/mounts.
///
/// # Safety
///
/// Called only by the VFS, with the arguments its contract for this
/// operation guarantees.
unsafe extern "C" fn show_options(m: *mut b::seq_file, root: *mut b::dentry) -> c_int {
    // SAFETY: The VFS passes a seq_file and the root of a mounted famfs.
    unsafe {
        let info = FsInfo::from_sb((*root).d_sb);
        let mode = info.root_mode.load(Ordering::Relaxed);
        b::seq_printf(m, c",mode=%o".as_char_ptr(), mode as c_uint);
    }
    0
}

/// The last path component of a NUL-terminated path.
fn basename(path: *const kernel::ffi::c_char) -> *const kernel::ffi::c_char {
    // SAFETY: Callers pass a valid NUL-terminated string.
    let bytes = unsafe { CStr::from_char_ptr(path) }.to_bytes();
    match bytes.iter().rposition(|&c| c == b'/') {
        // SAFETY: `i + 1` is within the string (at most its NUL).
        Some(i) => unsafe { path.add(i + 1) },
        None => path,
    }
}

static SUPER_OPS: b::super_operations = b::super_operations {
    statfs: Some(statfs),
    evict_inode: Some(inode::evict_inode),
    drop_inode: Some(b::inode_just_drop),
    show_options: Some(show_options),
    ..pin_init::zeroed()
};

/// The file system type, registered while [`Registration`] lives.
///
/// The VFS links it into its list of file system types, hence the interior
/// mutability.
struct FsType(UnsafeCell<kernel::bindings::file_system_type>);

// SAFETY: After registration only the VFS touches the structure, under its
// own locking.
unsafe impl Sync for FsType {}

static FAMFS_FS_TYPE: FsType = FsType(UnsafeCell::new(kernel::bindings::file_system_type {
    name: as_char_ptr_in_const_context(c"famfs"),
    init_fs_context: Some(init_fs_context),
    parameters: (&raw const b::famfs_glue_param_specs).cast(),
    kill_sb: Some(kill_sb),
    owner: kernel::module::this_module::<crate::FamfsModule>().as_ptr(),
    ..pin_init::zeroed()
}));

/// Keeps the `famfs` file system type registered.
pub(crate) struct Registration(());

impl Registration {
    pub(crate) fn new() -> Result<Self> {
        // SAFETY: No preconditions; undone in `drop` (or below on failure).
        to_result(unsafe { b::famfs_glue_sysfs_init() })?;
        // SAFETY: The type is a static that lives as long as the module and
        // is unregistered in `drop` before the module goes away.
        if let Err(e) = to_result(unsafe { b::register_filesystem(FAMFS_FS_TYPE.0.get()) }) {
            // SAFETY: Initialised above.
            unsafe { b::famfs_glue_sysfs_exit() };
            return Err(e);
        }
        Ok(Registration(()))
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // SAFETY: Registered in `new`. Mounted file systems hold a module
        // reference, so none exists when the module is removed.
        unsafe { b::unregister_filesystem(FAMFS_FS_TYPE.0.get()) };
        // SAFETY: Initialised in `new`; no mount (and so no per-mount sysfs
        // directory) is left.
        unsafe { b::famfs_glue_sysfs_exit() };
    }
}
