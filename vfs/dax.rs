// SPDX-License-Identifier: GPL-2.0

//! Claiming a dax device for a superblock, and the holder operations through
//! which the dax core reports memory failures.
//!
//! Two kinds of device back a mount: a `/dev/daxX.Y` character device bound
//! to `fsdev_dax` (claimed with `fs_dax_get()`), and an fsdax `/dev/pmemN`
//! block device (opened exclusively and claimed with `fs_dax_get_by_bdev()`).
//! Either way the superblock becomes the dax device's holder. Devices added
//! to a mounted file system (KABI 44 `DAXDEV_OPEN`, devdax only) are held
//! by an [`AddedDevice`], whose holder token tells the memory-failure
//! handler which superblock and which device index a notification is for.

use core::ffi::c_void;
use core::marker::PhantomPinned;
use core::ptr;

use kernel::error::{from_err_ptr, from_result};
use kernel::ffi::{c_int, c_long, c_ulong};
use kernel::prelude::*;

use super::fs::{FileSystem, SuperBlock, Tables};
use crate::bindings as b;

/// What a mount source is.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum SourceKind {
    /// A character device.
    Char,
    /// A block device.
    Block,
    /// Anything else.
    Other,
}

/// The file type of what `path` names (following symbolic links).
pub(crate) fn source_kind(path: &CStr) -> Result<SourceKind> {
    let mut mode: b::umode_t = 0;
    // SAFETY: `path` is NUL-terminated; `mode` is a valid out pointer.
    kernel::error::to_result(unsafe { b::famfs_glue_path_mode(path.as_char_ptr(), &mut mode) })?;
    Ok(match u32::from(mode) & b::S_IFMT {
        b::S_IFCHR => SourceKind::Char,
        b::S_IFBLK => SourceKind::Block,
        _ => SourceKind::Other,
    })
}

/// Which step of claiming a device failed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum ClaimStep {
    /// Opening the device (or finding its dax device).
    Open,
    /// Becoming its holder.
    Claim,
}

/// What kind of device was claimed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum DeviceKind {
    /// A `/dev/daxX.Y` bound to `fsdev_dax`.
    DevDax,
    /// An fsdax `/dev/pmemN` block device.
    Pmem,
}

/// Room for a device name (the kernel's `BDEVNAME_SIZE`).
const NAME_LEN: usize = 32;

/// A dax device claimed for a superblock.
///
/// # Invariants
///
/// `dax_dev` is non-null and held by `holder` (registered with the holder
/// operations of the file system that claimed it) until `drop` releases it,
/// once. A non-null `bdev_file` is a block device file opened exclusively
/// for this claim, released in `drop`. `name` is NUL-terminated.
pub(crate) struct DaxClaim {
    dax_dev: *mut b::dax_device,
    holder: *mut c_void,
    bdev_file: *mut b::file,
    start_off: u64,
    size: u64,
    kind: DeviceKind,
    name: [u8; NAME_LEN],
    /// Where the memory is 1 GiB aligned (see [`DaxClaim::pud_phase`]),
    /// read once at the claim, while the device is known to be alive.
    pud_phase: u32,
}

// SAFETY: The claim is a set of references to kernel objects usable from
// any thread (the dax core locks internally); it is only released in drop.
unsafe impl Send for DaxClaim {}
// SAFETY: `&self` methods only read plain fields set at construction; the
// pointers are only used by the dax core and VFS, which lock internally.
unsafe impl Sync for DaxClaim {}

/// The dax device behind a `/dev/daxX.Y` path, found but not claimed.
///
/// # Invariants
///
/// `dax_dev` is non-null and we hold a reference on it (from
/// `famfs_glue_open_dax_chrdev`), dropped in `drop`. `name` is
/// NUL-terminated.
pub(crate) struct DaxRef {
    dax_dev: *mut b::dax_device,
    name: [u8; NAME_LEN],
}

impl DaxRef {
    /// Opens the character device at `path` and finds its dax device
    /// (`ENODEV`: not a dax device; `ENXIO`: no driver behind the node).
    pub(crate) fn open(path: &CStr) -> Result<DaxRef> {
        let mut dax_dev: *mut b::dax_device = ptr::null_mut();
        let mut name = [0u8; NAME_LEN];
        // SAFETY: `path` is NUL-terminated; `dax_dev` and `name` are valid
        // out buffers (the glue writes at most `NAME_LEN` bytes, NUL
        // included).
        let ret = unsafe {
            b::famfs_glue_open_dax_chrdev(
                path.as_char_ptr(),
                &mut dax_dev,
                name.as_mut_ptr().cast(),
                NAME_LEN,
            )
        };
        kernel::error::to_result(ret)?;
        // INVARIANT: on success the glue stored a referenced dax device.
        Ok(DaxRef { dax_dev, name })
    }

    /// Whether `claim` holds this same dax device.
    pub(crate) fn is(&self, claim: &DaxClaim) -> bool {
        ptr::eq(self.dax_dev, claim.dax_dev)
    }

    /// Claims the device with `holder` and its holder operations.
    fn claim(
        self,
        holder: *mut c_void,
        ops: &'static b::dax_holder_operations,
    ) -> Result<DaxClaim> {
        // SAFETY: We hold a reference on `dax_dev` (type invariant), found
        // behind an open dax cdev; `fs_dax_get()` checks it is alive and
        // bound to fsdev_dax, and takes a reference of its own when it
        // succeeds (ours is dropped with `self`). `ops` is a static table.
        let ret = unsafe { b::fs_dax_get(self.dax_dev, holder, ops) };
        kernel::error::to_result(ret)?;
        // INVARIANT: `fs_dax_get()` succeeded, so `holder` holds `dax_dev`.
        Ok(DaxClaim {
            dax_dev: self.dax_dev,
            holder,
            bdev_file: ptr::null_mut(),
            start_off: 0,
            // SAFETY: We hold `dax_dev`.
            size: unsafe { b::famfs_glue_devdax_size(self.dax_dev) },
            kind: DeviceKind::DevDax,
            name: self.name,
            // SAFETY: We hold `dax_dev`; the C function reads one page
            // frame under the dax read lock.
            pud_phase: unsafe { b::famfs_glue_dax_pud_phase(self.dax_dev, 0) },
        })
    }
}

impl Drop for DaxRef {
    fn drop(&mut self) {
        // SAFETY: Drops the reference of the type invariant; a claim made
        // from it holds its own.
        unsafe { b::put_dax(self.dax_dev) };
    }
}

impl DaxClaim {
    /// Claims the devdax device at `path` for `sb`.
    pub(crate) fn devdax<T: FileSystem>(
        path: &CStr,
        sb: &SuperBlock<T>,
    ) -> Result<DaxClaim, (ClaimStep, Error)> {
        let dax = DaxRef::open(path).map_err(|e| (ClaimStep::Open, e))?;
        dax.claim(sb.as_ptr().cast(), &Tables::<T>::HOLDER_OPS)
            .map_err(|e| (ClaimStep::Claim, e))
    }

    /// Opens the fsdax block device at `path` exclusively and claims its
    /// dax device for `sb`.
    pub(crate) fn pmem<T: FileSystem>(
        path: &CStr,
        sb: &SuperBlock<T>,
    ) -> Result<DaxClaim, (ClaimStep, Error)> {
        let holder = sb.as_ptr().cast::<c_void>();
        // SAFETY: `path` is NUL-terminated; the holder is an opaque token.
        let file = from_err_ptr(unsafe { b::famfs_glue_bdev_open(path.as_char_ptr(), holder) })
            .map_err(|e| (ClaimStep::Open, e))?;
        let mut start_off: u64 = 0;
        // SAFETY: `file` is an open block device file; the holder operations
        // are a static table for `T`.
        let dax_dev = unsafe {
            b::famfs_glue_bdev_dax(file, &mut start_off, holder, &Tables::<T>::HOLDER_OPS)
        };
        if dax_dev.is_null() {
            // SAFETY: `file` was opened above and is not used again.
            unsafe { b::famfs_glue_bdev_release(file) };
            return Err((ClaimStep::Claim, EOPNOTSUPP));
        }
        let mut name = [0u8; NAME_LEN];
        // SAFETY: `file` is an open block device file; `name` has room for
        // `NAME_LEN` bytes.
        unsafe { b::famfs_glue_bdev_name(file, name.as_mut_ptr().cast(), NAME_LEN) };
        // INVARIANT: the claim succeeded and `file` is ours.
        Ok(DaxClaim {
            dax_dev,
            holder,
            bdev_file: file,
            start_off,
            // SAFETY: `file` is an open block device file.
            size: unsafe { b::famfs_glue_bdev_size(file) },
            kind: DeviceKind::Pmem,
            name,
            // SAFETY: `dax_dev` is claimed above; the C function reads one
            // page frame under the dax read lock.
            pud_phase: unsafe { b::famfs_glue_dax_pud_phase(dax_dev, start_off) },
        })
    }

    /// Usable size in bytes.
    pub(crate) fn size(&self) -> u64 {
        self.size
    }

    /// Offset of the device's data within the dax device (a partition's
    /// offset for block devices, 0 for devdax).
    pub(crate) fn start_off(&self) -> u64 {
        self.start_off
    }

    /// What kind of device it is.
    pub(crate) fn kind(&self) -> DeviceKind {
        self.kind
    }

    /// The device's own name, as the kernel calls it (`dax0.0`, `pmem0p1`).
    pub(crate) fn name(&self) -> &CStr {
        CStr::from_bytes_until_nul(&self.name).unwrap_or(c"famfs")
    }

    pub(super) fn dax_dev(&self) -> *mut b::dax_device {
        self.dax_dev
    }

    /// The first page frame of `pages` contiguous device pages at byte
    /// `dev_off` of the dax device (`start_off` included); `ERANGE` when
    /// the device cannot give them as one run, the device's own error
    /// (poison, removal) otherwise.
    pub(crate) fn pfn(&self, dev_off: u64, pages: u64) -> Result<Pfn> {
        let pages = c_long::try_from(pages).map_err(|_| ERANGE)?;
        let mut pfn: c_ulong = 0;
        // SAFETY: The claim holds the dax device (type invariant); the C
        // function takes the dax read lock around `dax_direct_access`, which
        // only reads the device's page frames.
        let r = unsafe { b::famfs_glue_dax_pfn(self.dax_dev, dev_off, pages, &mut pfn) };
        kernel::error::to_result(r as c_int)?;
        Ok(Pfn(pfn))
    }

    /// The device offset (`start_off` excluded), modulo 1 GiB, at which the
    /// device's memory is 1 GiB aligned (as read at the claim: a device
    /// that failed since still answers).
    pub(crate) fn pud_phase(&self) -> u32 {
        self.pud_phase
    }
}

/// A page frame number of device memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Pfn(c_ulong);

impl Pfn {
    /// Whether the frame starts a naturally aligned run of `pages` pages.
    pub(crate) fn is_aligned(self, pages: u64) -> bool {
        (self.0 as u64) % pages == 0
    }

    pub(super) fn raw(self) -> c_ulong {
        self.0
    }
}

impl Drop for DaxClaim {
    fn drop(&mut self) {
        // SAFETY: By the type invariant we hold `dax_dev` as `holder`; this
        // also unregisters the holder operations.
        unsafe { b::fs_put_dax(self.dax_dev, self.holder) };
        if !self.bdev_file.is_null() {
            // SAFETY: By the type invariant the file is ours to release.
            unsafe { b::famfs_glue_bdev_release(self.bdev_file) };
        }
    }
}

/// The holder token of an added device: the superblock and the index the
/// device has in its table.
///
/// # Invariants
///
/// `sb` is the superblock of type `T` whose `Info` owns the [`AddedDevice`]
/// that owns this token; the token is pinned (it is the address the dax core
/// hands back) and outlives the claim made with it.
struct DevHolder {
    sb: *mut b::super_block,
    index: u32,
    _pin: PhantomPinned,
}

/// A device added to a mounted file system, claimed exclusively for it.
///
/// Dropping it releases the claim, then the token (field order).
pub(crate) struct AddedDevice {
    claim: DaxClaim,
    _holder: Pin<KBox<DevHolder>>,
}

// SAFETY: The token is only read by the dax core's notifications, which may
// come from any thread; the claim is Send and Sync.
unsafe impl Send for AddedDevice {}
// SAFETY: `&self` only reads the claim.
unsafe impl Sync for AddedDevice {}

impl AddedDevice {
    /// Claims `dax` for `sb` as its device `index`. The claim fails with
    /// `EBUSY` if any holder (this mount included) has the device,
    /// `EOPNOTSUPP` if it is not bound to fsdev_dax.
    pub(crate) fn claim<T: FileSystem>(
        dax: DaxRef,
        sb: &SuperBlock<T>,
        index: u32,
    ) -> Result<AddedDevice> {
        let holder = KBox::pin(
            DevHolder {
                sb: sb.as_ptr(),
                index,
                _pin: PhantomPinned,
            },
            GFP_KERNEL,
        )?;
        let token = ptr::from_ref::<DevHolder>(&holder)
            .cast_mut()
            .cast::<c_void>();
        let claim = dax.claim(token, &Tables::<T>::ADDED_HOLDER_OPS)?;
        Ok(AddedDevice {
            claim,
            _holder: holder,
        })
    }

    /// The claim.
    pub(crate) fn claim_ref(&self) -> &DaxClaim {
        &self.claim
    }
}

/// The flags of a memory-failure notification (`MF_*`).
#[derive(Clone, Copy)]
pub(crate) struct FailureFlags(c_int);

impl FailureFlags {
    /// The device is about to go away (`MF_MEM_PRE_REMOVE`, e.g. unbound).
    pub(crate) fn pre_remove(self) -> bool {
        self.0 & b::mf_flags_MF_MEM_PRE_REMOVE as c_int != 0
    }

    /// The raw flags, for `mf_dax_kill_procs` and the log.
    pub(crate) fn raw(self) -> i32 {
        self.0
    }
}

impl<T: FileSystem> Tables<T> {
    /// # Safety
    ///
    /// Called by the dax core as `dax_holder_operations::notify_failure`, for
    /// a device claimed by a [`DaxClaim`] of type `T`.
    pub(super) unsafe extern "C" fn notify_failure(
        dax_dev: *mut b::dax_device,
        offset: u64,
        len: u64,
        mf_flags: c_int,
    ) -> c_int {
        // SAFETY: `dax_dev` is valid for the duration of the notification.
        let holder = unsafe { b::dax_holder(dax_dev) };
        if holder.is_null() {
            return EOPNOTSUPP.to_errno();
        }
        // SAFETY: The holder is the superblock of type `T` that claimed the
        // device; it (and its `Info`) stays valid until `kill_sb` frees the
        // `Info`, which drops the claim after evicting every inode. A
        // notification racing with that release is not excluded by the dax
        // core (it offers no way to wait for one in flight); see
        // Documentation/famfs.rst.
        let sb = unsafe { SuperBlock::<T>::from_raw(holder.cast()) };
        from_result(|| {
            T::notify_failure(sb, 0, offset, len, FailureFlags(mf_flags))?;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the dax core as `dax_holder_operations::notify_failure`, for
    /// a device claimed by an [`AddedDevice`] of a superblock of type `T`.
    pub(super) unsafe extern "C" fn notify_failure_added(
        dax_dev: *mut b::dax_device,
        offset: u64,
        len: u64,
        mf_flags: c_int,
    ) -> c_int {
        // SAFETY: `dax_dev` is valid for the duration of the notification.
        let holder = unsafe { b::dax_holder(dax_dev) }.cast::<DevHolder>();
        if holder.is_null() {
            return EOPNOTSUPP.to_errno();
        }
        // SAFETY: These holder operations are only registered by
        // `AddedDevice::claim`, with its pinned token as the holder, which
        // lives until after `fs_put_dax()` released the claim (field order of
        // `AddedDevice`); the token's superblock outlives it (its `Info` owns
        // the `AddedDevice`), with the same caveat for a notification racing
        // with the release as for device 0.
        let (sb, index) = unsafe { ((*holder).sb, (*holder).index) };
        // SAFETY: `sb` is the superblock of type `T` that `AddedDevice::claim`
        // stored in the token (its invariant); its `Info` owns the
        // `AddedDevice`, so the superblock is live while the claim is.
        let sb = unsafe { SuperBlock::<T>::from_raw(sb) };
        from_result(|| {
            T::notify_failure(sb, index, offset, len, FailureFlags(mf_flags))?;
            Ok(0)
        })
    }
}
