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
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

use kernel::error::{from_result, to_result};
use kernel::ffi::{c_int, c_uint};
use kernel::new_mutex;
use kernel::prelude::*;
use kernel::str::{as_char_ptr_in_const_context, CString};
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
    /// `strict_write`: files without a write permission bit cannot be
    /// opened for writing, not even by root.
    strict_write: AtomicBool,
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
            strict_write: AtomicBool::new(false),
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

    /// Whether the mount has the `strict_write` option.
    pub(crate) fn strict_write(&self) -> bool {
        self.strict_write.load(Ordering::Relaxed)
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
}

/// Why a mount option was refused (always `EINVAL`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OptionError {
    /// Not an option famfs knows.
    Unknown,
    /// `mode` without a value, or `strict_write` with one.
    Form,
    /// `mode=` that is not an octal number.
    BadMode,
    /// `mode=` with bits beyond 07777.
    ModeRange,
    /// `dax=` with another value than `always`.
    Dax,
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
            if mode & !b::S_IALLUGO != 0 {
                return Err(OptionError::ModeRange);
            }
            Ok(MountOption::Mode(mode))
        }
        (b"dax", Some(b"always")) => Ok(MountOption::DaxAlways),
        (b"dax", _) => Err(OptionError::Dax),
        (b"strict_write", None) => Ok(MountOption::StrictWrite),
        (b"mode", None) | (b"strict_write", Some(_)) => Err(OptionError::Form),
        _ => Err(OptionError::Unknown),
    }
}

/// Refuses a mount in the documented form (see `famfs_glue_report`) and
/// returns the errno.
///
/// # Safety
///
/// `fc` must be a valid fs_context.
unsafe fn refuse(fc: *mut b::fs_context, what: &CStr, err: Error) -> c_int {
    // SAFETY: `fc` is valid (function contract); its source is null or a
    // NUL-terminated string; `what` is NUL-terminated.
    unsafe { b::famfs_glue_report(fc, (*fc).source, what.as_char_ptr(), err.to_errno()) };
    err.to_errno()
}

/// Refuses a mount with a message naming the option (`what` formats it).
///
/// # Safety
///
/// `fc` must be a valid fs_context.
unsafe fn refuse_fmt(fc: *mut b::fs_context, what: core::fmt::Arguments<'_>) -> c_int {
    match CString::try_from_fmt(what) {
        // SAFETY: Per the function contract.
        Ok(msg) => unsafe { refuse(fc, &msg, EINVAL) },
        // SAFETY: Per the function contract.
        Err(_) => unsafe { refuse(fc, c"bad mount option", EINVAL) },
    }
}

/// `fs_context_operations::parse_param`: one mount option. Every refusal
/// gets one line of the documented form (no fs_parser messages).
///
/// # Safety
///
/// Called only by the VFS, with the arguments its contract for this
/// operation guarantees.
unsafe extern "C" fn parse_param(fc: *mut b::fs_context, param: *mut b::fs_parameter) -> c_int {
    // SAFETY: The VFS passes a valid parameter with a NUL-terminated key.
    let key = unsafe { CStr::from_char_ptr((*param).key) };
    // SAFETY: As above; `type_` says which member of the union is valid,
    // and a string value is NUL-terminated.
    let value = unsafe {
        match (*param).type_() {
            b::fs_value_type_fs_value_is_flag => None,
            b::fs_value_type_fs_value_is_string => {
                Some(CStr::from_char_ptr((*param).__bindgen_anon_1.string).to_bytes())
            }
            _ => {
                return refuse_fmt(
                    fc,
                    fmt!(
                        "option '{}' must be given as a string or a flag",
                        key.to_str().unwrap_or("?")
                    ),
                )
            }
        }
    };
    let key_text = key.to_str().unwrap_or("?");
    if key.to_bytes() == b"source" {
        // SAFETY: `fc` is valid.
        if !unsafe { (*fc).source }.is_null() {
            // SAFETY: `fc` is valid.
            return unsafe { refuse(fc, c"more than one source given", EINVAL) };
        }
        if value.is_none() {
            // SAFETY: `fc` is valid.
            return unsafe { refuse(fc, c"source needs a path", EINVAL) };
        }
        // SAFETY: A string parameter for a context without a source: the
        // VFS helper takes the string over as `fc->source` and cannot fail
        // (other than the two cases refused above).
        return unsafe { b::vfs_parse_fs_param_source(fc, param) };
    }
    let opt = match parse_option(key.to_bytes(), value) {
        Ok(opt) => opt,
        Err(e) => {
            let v = value.map_or(Ok(""), core::str::from_utf8).unwrap_or("?");
            // SAFETY: `fc` is valid.
            return unsafe {
                match e {
                    OptionError::Unknown => {
                        refuse_fmt(fc, fmt!("unknown mount option '{key_text}'"))
                    }
                    OptionError::Form if key.to_bytes() == b"mode" => {
                        refuse(fc, c"mode needs a value (mode=OCTAL)", EINVAL)
                    }
                    OptionError::Form => refuse_fmt(fc, fmt!("option '{key_text}' takes no value")),
                    OptionError::BadMode => refuse_fmt(fc, fmt!("mode={v} is not an octal number")),
                    OptionError::ModeRange => refuse(
                        fc,
                        c"mode= takes permission bits only (at most 07777)",
                        EINVAL,
                    ),
                    OptionError::Dax => {
                        refuse_fmt(fc, fmt!("dax={v} is not supported (famfs is always DAX)"))
                    }
                }
            };
        }
    };
    // SAFETY: `init_fs_context` set `s_fs_info` for this context.
    let info = unsafe { fc_info(fc) };
    match opt {
        MountOption::Mode(mode) => {
            info.root_mode.store(mode, Ordering::Relaxed);
            info.mode_given = true;
        }
        MountOption::DaxAlways => {}
        MountOption::StrictWrite => info.strict_write.store(true, Ordering::Relaxed),
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
        if new.strict_write() {
            FsInfo::from_sb(sb)
                .strict_write
                .store(true, Ordering::Relaxed);
        }
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
        // The sysfs directory is named after the device itself, not the path
        // it was mounted through (a device is mounted once at a time, so the
        // name is unique): /sys/fs/famfs/dax0.0/ or /sys/fs/famfs/pmem0/.
        let counters: [*const u64; b::famfs_glue_stat_FAMFS_GLUE_NR_STATS as usize] = [
            info.pte_faults.as_ptr(),
            info.pmd_faults.as_ptr(),
            info.dev_size.as_ptr(),
            info.mapped_bytes.as_ptr(),
            info.failed.as_ptr(),
        ];
        // SAFETY: `source` is a valid string; the counters live in the
        // `FsInfo`, which destroys the sysfs object before it goes away.
        let stats =
            unsafe { b::famfs_glue_stats_create(backing.name().as_char_ptr(), counters.as_ptr()) };
        info.stats = match kernel::error::from_err_ptr(stats) {
            Ok(st) => st,
            Err(e) => {
                // SAFETY: `fc` and `source` are valid; the text is NUL-terminated.
                unsafe {
                    b::famfs_glue_report(
                        fc,
                        source,
                        c"cannot create the statistics directory in /sys/fs/famfs".as_char_ptr(),
                        e.to_errno(),
                    )
                };
                return Err(e);
            }
        };
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
        if info.strict_write() {
            b::seq_printf(m, c",strict_write".as_char_ptr());
        }
    }
    0
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
    fn dax_accepts_always_only() {
        assert_eq!(
            parse_option(b"dax", Some(b"always")),
            Ok(MountOption::DaxAlways)
        );
        assert_eq!(parse_option(b"dax", Some(b"never")), Err(OptionError::Dax));
        assert_eq!(parse_option(b"dax", None), Err(OptionError::Dax));
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
