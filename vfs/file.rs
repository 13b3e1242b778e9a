// SPDX-License-Identifier: GPL-2.0

//! Open files, read/write requests, mmap and page faults.

use core::marker::PhantomData;
use core::ptr;

use kernel::error::from_result;
use kernel::ffi::{c_int, c_long, c_uint, c_ulong};
use kernel::prelude::*;

use super::dax::Pfn;
use super::fs::{FileSystem, Tables};
use super::inode::{Inode, InodeGuard, InodeSharedGuard};
use crate::bindings as b;
use crate::fmap::FaultAt;

/// An open file of a file system of type `T`.
///
/// # Invariants
///
/// The C file is open (the VFS passed it to a callback) for the reference's
/// lifetime, and its inode is an inode of type `T`.
#[repr(transparent)]
pub(crate) struct File<T: FileSystem> {
    inner: kernel::types::Opaque<b::file>,
    _t: PhantomData<T>,
}

impl<T: FileSystem> File<T> {
    /// # Safety
    ///
    /// `ptr` must satisfy the type invariants for `'a`.
    unsafe fn from_raw<'a>(ptr: *mut b::file) -> &'a Self {
        // SAFETY: Transparent wrapper; validity per the function contract.
        unsafe { &*ptr.cast() }
    }

    fn as_ptr(&self) -> *mut b::file {
        self.inner.get()
    }

    /// The file's inode.
    pub(crate) fn inode(&self) -> &Inode<T> {
        // SAFETY: An open file's `f_inode` is set at open and stays live
        // while the file is (type invariant); it is of type `T`.
        unsafe { Inode::from_raw((*self.as_ptr()).f_inode) }
    }

    fn f_mode(&self) -> u32 {
        // SAFETY: `f_mode` is set by the VFS before `open` and not changed
        // by it while callbacks run.
        unsafe { (*self.as_ptr()).f_mode }
    }

    /// Whether the file was opened for writing.
    pub(crate) fn is_write(&self) -> bool {
        self.f_mode() & b::FAMFS_CONST_FMODE_WRITE != 0
    }

    /// Whether this open created the file (`FMODE_CREATED`).
    pub(crate) fn created_it(&self) -> bool {
        self.f_mode() & b::FAMFS_CONST_FMODE_CREATED != 0
    }
}

/// An I/O request (`struct kiocb`) on a file of type `T`.
///
/// # Invariants
///
/// `raw` is the request the VFS passed to `read_iter`/`write_iter`, on an
/// open file of type `T`, live for `'a` (the callback).
pub(crate) struct Kiocb<'a, T: FileSystem> {
    raw: *mut b::kiocb,
    _t: PhantomData<&'a File<T>>,
}

impl<'a, T: FileSystem> Kiocb<'a, T> {
    /// The file.
    pub(crate) fn file(&self) -> &'a File<T> {
        // SAFETY: The VFS passes a request on an open file of ours, open for
        // the request's duration.
        unsafe { File::from_raw((*self.raw).ki_filp) }
    }

    /// The file position the request starts at.
    pub(crate) fn pos(&self) -> i64 {
        // SAFETY: The request is ours for the call.
        unsafe { (*self.raw).ki_pos }
    }

    /// A DAX read through the file's iomap operations, with the inode lock
    /// held shared (as DAX requires).
    pub(crate) fn dax_read(
        &mut self,
        _lock: &InodeSharedGuard<'_, T>,
        to: &mut IovIter,
    ) -> Result<usize> {
        // SAFETY: A live request and iterator; the lock DAX needs is held.
        let n = unsafe { b::dax_iomap_rw(self.raw, to.as_ptr(), &Tables::<T>::IOMAP_OPS) };
        to_size(n)
    }

    /// The VFS's write checks (`generic_write_checks`: limits, `O_APPEND`);
    /// the number of bytes that may be written, 0 for none.
    pub(crate) fn write_checks(
        &mut self,
        _lock: &InodeGuard<'_, T>,
        from: &mut IovIter,
    ) -> Result<usize> {
        // SAFETY: A live request and iterator, the inode locked.
        let n = unsafe { b::generic_write_checks(self.raw, from.as_ptr()) };
        to_size(n)
    }

    /// What a write does to the file's metadata before the data: drops
    /// set-uid bits (`file_remove_privs`) and updates the times.
    pub(crate) fn write_prepare(&mut self, _lock: &InodeGuard<'_, T>) -> Result {
        let file = self.file().as_ptr();
        // SAFETY: The open file of a live request, its inode locked.
        unsafe {
            kernel::error::to_result(b::file_remove_privs(file))?;
            kernel::error::to_result(b::file_update_time(file))
        }
    }

    /// A DAX write through the file's iomap operations, with the inode
    /// lock held exclusively.
    pub(crate) fn dax_write(
        &mut self,
        _lock: &InodeGuard<'_, T>,
        from: &mut IovIter,
    ) -> Result<usize> {
        // SAFETY: A live request and iterator; the lock DAX needs is held.
        let n = unsafe { b::dax_iomap_rw(self.raw, from.as_ptr(), &Tables::<T>::IOMAP_OPS) };
        to_size(n)
    }
}

fn to_size(n: isize) -> Result<usize> {
    if n < 0 {
        Err(Error::from_errno(n as i32))
    } else {
        Ok(n as usize)
    }
}

/// The data of a read or write request (`struct iov_iter`).
///
/// # Invariants
///
/// The pointer is the iterator the VFS passed to `read_iter`/`write_iter`,
/// live while the value exists (it is only made by those trampolines and
/// lent to the callee by `&mut`).
pub(crate) struct IovIter(*mut b::iov_iter);

impl IovIter {
    fn as_ptr(&self) -> *mut b::iov_iter {
        self.0
    }

    /// Bytes left.
    pub(crate) fn count(&self) -> usize {
        // SAFETY: The iterator the VFS passed to `read_iter`/`write_iter`,
        // live for the call (type invariant); `iov_iter_count` only reads.
        unsafe { b::famfs_glue_iov_iter_count(self.0) }
    }

    /// Shortens the request to at most `count` bytes.
    pub(crate) fn truncate(&mut self, count: u64) {
        // SAFETY: The live iterator of the call (type invariant), which the
        // file system may shorten (`iov_iter_truncate` only lowers `count`).
        unsafe { b::famfs_glue_iov_iter_truncate(self.0, count) };
    }
}

/// What a fault handler returns (`vm_fault_t`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct FaultResult(b::vm_fault_t);

/// The `VM_FAULT_ERROR` mask of `<linux/mm_types.h>`.
const VM_FAULT_ERROR: c_uint = b::vm_fault_reason_VM_FAULT_OOM
    | b::vm_fault_reason_VM_FAULT_SIGBUS
    | b::vm_fault_reason_VM_FAULT_SIGSEGV
    | b::vm_fault_reason_VM_FAULT_HWPOISON
    | b::vm_fault_reason_VM_FAULT_HWPOISON_LARGE
    | b::vm_fault_reason_VM_FAULT_FALLBACK;

impl FaultResult {
    /// Try a smaller size (`VM_FAULT_FALLBACK`).
    pub(crate) const FALLBACK: Self = Self(b::vm_fault_reason_VM_FAULT_FALLBACK);
    /// The access fails with `SIGBUS`.
    pub(crate) const SIGBUS: Self = Self(b::vm_fault_reason_VM_FAULT_SIGBUS);

    /// Whether the fault installed a mapping (no error, no fallback to a
    /// smaller size).
    pub(crate) fn installed(self) -> bool {
        self.0 & (VM_FAULT_ERROR | b::vm_fault_reason_VM_FAULT_FALLBACK) == 0
    }

    /// The answer to a fault that failed with `e`.
    pub(crate) fn from_error(e: Error) -> Self {
        if e == ENOMEM {
            Self(b::vm_fault_reason_VM_FAULT_OOM)
        } else {
            Self::SIGBUS
        }
    }
}

/// How a new mapping is served (the answer of [`FileSystem::mmap`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MapMode {
    /// Through the DAX core: folio-backed entries of 4 KiB and 2 MiB.
    Dax,
    /// Raw page-frame entries of 4 KiB, 2 MiB and 1 GiB from
    /// [`FileSystem::pfn_fault`], on a shadow file (shared mappings only;
    /// see `famfs_glue.c`).
    Pfn,
}

/// A mapping being set up by `mmap`.
///
/// # Invariants
///
/// `raw` is the new VMA the memory manager passed to `mmap`, not yet
/// visible to others, with the mmap lock held for writing.
pub(crate) struct NewVma<'a> {
    raw: *mut b::vm_area_struct,
    _p: PhantomData<&'a ()>,
}

impl NewVma<'_> {
    /// Whether it is a shared mapping (`MAP_SHARED`).
    pub(crate) fn is_shared(&self) -> bool {
        // SAFETY: A live VMA (type invariant); this reads its flags.
        unsafe { b::famfs_glue_vma_is_shared(self.raw) }
    }
}

/// A page fault on a mapping of a file of type `T`.
///
/// # Invariants
///
/// `raw` is the fault the memory manager passed to a `vm_operations_struct`
/// callback of a mapping of a file of type `T`, live for `'a`.
pub(crate) struct VmFault<'a, T: FileSystem> {
    raw: *mut b::vm_fault,
    _t: PhantomData<&'a Inode<T>>,
}

impl<T: FileSystem> VmFault<'_, T> {
    /// The fault the memory manager passed to one of our
    /// `vm_operations_struct` callbacks (the callers, the trampolines
    /// below, are only installed on mappings of files of type `T`).
    fn new(raw: *mut b::vm_fault) -> Self {
        // INVARIANT: a live fault of a mapping of ours, for the callback.
        VmFault {
            raw,
            _t: PhantomData,
        }
    }

    /// The mapped file's inode.
    pub(crate) fn inode(&self) -> &Inode<T> {
        // SAFETY: A fault on a mapping of one of our files: the mapping
        // holds the file (a PFN-mode mapping through its shadow file, which
        // holds a reference on it), and so its inode, for the fault's
        // duration; `famfs_glue_vmf_inode` returns that file's inode.
        unsafe { Inode::from_raw(b::famfs_glue_vmf_inode(self.raw)) }
    }

    /// Takes what a DAX fault needs held: freeze protection and a time
    /// update for a write fault on a shared mapping, and the mapping's
    /// invalidate lock shared for every fault (so that invalidation, which
    /// takes it exclusively, waits for faults in flight).
    pub(crate) fn lock(&self) -> FaultGuard<'_, T> {
        // SAFETY: The fault the memory manager passed, live for the call
        // (type invariant); this only reads its flags and VMA flags.
        let write = unsafe { b::famfs_glue_vmf_is_shared_write(self.raw) };
        // SAFETY: The live fault of a mapping of ours, with no famfs lock
        // held yet; the guard drops exactly what this takes, with the same
        // `write`.
        unsafe { b::famfs_glue_fault_start(self.raw, write) };
        FaultGuard { vmf: self, write }
    }
}

/// The fault locks, held until dropped.
pub(crate) struct FaultGuard<'a, T: FileSystem> {
    vmf: &'a VmFault<'a, T>,
    write: bool,
}

impl<T: FileSystem> FaultGuard<'_, T> {
    /// Where the fault is.
    pub(crate) fn geometry(&self) -> FaultAt {
        let mut g = FaultAt {
            address: 0,
            vm_start: 0,
            vm_end: 0,
            pgoff: 0,
        };
        // SAFETY: The live fault (the guard borrows it); this only reads it.
        unsafe {
            b::famfs_glue_vmf_geometry(
                self.vmf.raw,
                &mut g.address,
                &mut g.vm_start,
                &mut g.vm_end,
                &mut g.pgoff,
            )
        };
        g
    }

    /// Maps `1 << order` pages (order 0, the PMD or the PUD order) of device
    /// memory from `pfn` at the fault's naturally aligned block, in a
    /// mapping set up as [`MapMode::Pfn`]. The caller checked that the
    /// block lies inside the mapping and the file, and that the memory is
    /// the file's own, one run and aligned like the block.
    pub(crate) fn insert_pfn(&self, order: u32, pfn: Pfn) -> FaultResult {
        // SAFETY: A live fault of a PFN-mode mapping (only `PFN_VM_OPS`
        // trampolines reach here: `VM_PFNMAP`, shared), with the invalidate
        // lock held (this guard) so that no invalidation can run between the
        // caller's checks and the insertion.
        FaultResult(unsafe { b::famfs_glue_insert_pfn(self.vmf.raw, order, pfn.raw()) })
    }

    /// Serves the fault through DAX and the file's iomap operations.
    pub(crate) fn dax_fault(&self, order: u32) -> FaultResult {
        let mut pfn: c_ulong = 0;
        // SAFETY: A live fault with the locks DAX needs held (this guard).
        FaultResult(unsafe {
            b::dax_iomap_fault(
                self.vmf.raw,
                order,
                &mut pfn,
                ptr::null_mut(),
                &Tables::<T>::IOMAP_OPS,
            )
        })
    }
}

impl<T: FileSystem> Drop for FaultGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: Taken by `VmFault::lock` with the same `write`.
        unsafe { b::famfs_glue_fault_end(self.vmf.raw, self.write) };
    }
}

/// Address space operations: nothing is ever dirtied in a page cache, and
/// all I/O is direct (so `O_DIRECT` opens are accepted).
pub(super) static AOPS: b::address_space_operations = b::address_space_operations {
    dirty_folio: Some(b::noop_dirty_folio),
    direct_IO: Some(b::noop_direct_IO),
    ..pin_init::zeroed()
};

// ---- the file operation trampolines --------------------------------------

impl<T: FileSystem> Tables<T> {
    /// # Safety
    ///
    /// Called by the VFS as `file_operations::open`.
    pub(super) unsafe extern "C" fn open(inode: *mut b::inode, file: *mut b::file) -> c_int {
        from_result(|| {
            // SAFETY: The VFS passes a live inode of ours and the file being
            // opened on it.
            unsafe { T::open(Inode::from_raw(inode), File::from_raw(file)) }?;
            // SAFETY: The same live inode and file; `generic_file_open` only
            // checks the open flags against the file size limits.
            kernel::error::to_result(unsafe { b::generic_file_open(inode, file) })?;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the VFS as `file_operations::read_iter`.
    pub(super) unsafe extern "C" fn read_iter(iocb: *mut b::kiocb, to: *mut b::iov_iter) -> isize {
        let mut k = Kiocb::<T> {
            raw: iocb,
            _t: PhantomData,
        };
        // The VFS passes a live request on an open file of ours and its
        // iterator, both for the call.
        match T::read_iter(&mut k, &mut IovIter(to)) {
            Ok(n) => n as isize,
            Err(e) => e.to_errno() as isize,
        }
    }

    /// # Safety
    ///
    /// Called by the VFS as `file_operations::write_iter`.
    pub(super) unsafe extern "C" fn write_iter(
        iocb: *mut b::kiocb,
        from: *mut b::iov_iter,
    ) -> isize {
        let mut k = Kiocb::<T> {
            raw: iocb,
            _t: PhantomData,
        };
        // As for `read_iter`.
        match T::write_iter(&mut k, &mut IovIter(from)) {
            Ok(n) => n as isize,
            Err(e) => e.to_errno() as isize,
        }
    }

    /// # Safety
    ///
    /// Called by the VFS as `file_operations::mmap`.
    pub(super) unsafe extern "C" fn mmap(file: *mut b::file, vma: *mut b::vm_area_struct) -> c_int {
        from_result(|| {
            // INVARIANT: The VFS passes the new VMA, not yet visible to
            // others, with the mmap lock held for writing.
            let new = NewVma {
                raw: vma,
                _p: PhantomData,
            };
            // SAFETY: The VFS passes an open file of ours.
            match T::mmap(unsafe { File::from_raw(file) }, &new)? {
                // SAFETY: The new VMA as above: we may set its operations
                // and flags.
                MapMode::Dax => unsafe { b::famfs_glue_mmap_setup(file, vma, &Self::VM_OPS) },
                MapMode::Pfn => {
                    // SAFETY: As above; the C function moves the VMA onto a
                    // shadow file that holds `file` (refusing a private
                    // mapping), and `PFN_VM_OPS` only insert page frames.
                    let r = unsafe { b::famfs_glue_mmap_pfn_setup(file, vma, &Self::PFN_VM_OPS) };
                    kernel::error::to_result(r)?;
                }
            }
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the memory manager as `file_operations::get_unmapped_area`.
    pub(super) unsafe extern "C" fn get_unmapped_area(
        file: *mut b::file,
        addr: c_ulong,
        len: c_ulong,
        pgoff: c_ulong,
        flags: c_ulong,
    ) -> c_ulong {
        // SAFETY: The memory manager passes an open file of ours (an mmap
        // of it is being placed).
        let align = T::map_align(unsafe { File::from_raw(file) });
        // (0, the THP placement, if it does not fit an address.)
        let align = c_ulong::try_from(align).unwrap_or(0);
        // SAFETY: The same open file and the caller's arguments, passed on.
        unsafe { b::famfs_glue_get_unmapped_area(file, addr, len, pgoff, flags, align) }
    }

    /// # Safety
    ///
    /// Called by the VFS as `file_operations::unlocked_ioctl`.
    pub(super) unsafe extern "C" fn ioctl(file: *mut b::file, cmd: c_uint, arg: c_ulong) -> c_long {
        // SAFETY: The VFS passes an open file of ours (a file or directory).
        match T::ioctl(unsafe { File::from_raw(file) }, cmd, arg) {
            Ok(n) => n as c_long,
            Err(e) => e.to_errno() as c_long,
        }
    }

    /// # Safety
    ///
    /// Called by the memory manager as `vm_operations_struct::fault`.
    pub(super) unsafe extern "C" fn vm_fault(vmf: *mut b::vm_fault) -> b::vm_fault_t {
        let f = VmFault::<T>::new(vmf);
        T::fault(&f, 0, true).0
    }

    /// # Safety
    ///
    /// Called by the memory manager as `vm_operations_struct::huge_fault`.
    pub(super) unsafe extern "C" fn vm_huge_fault(
        vmf: *mut b::vm_fault,
        order: c_uint,
    ) -> b::vm_fault_t {
        let f = VmFault::<T>::new(vmf);
        T::fault(&f, order, true).0
    }

    /// # Safety
    ///
    /// Called by the memory manager as `vm_operations_struct::fault` of a
    /// PFN-mode mapping.
    pub(super) unsafe extern "C" fn vm_pfn_fault(vmf: *mut b::vm_fault) -> b::vm_fault_t {
        let f = VmFault::<T>::new(vmf);
        T::pfn_fault(&f, 0).0
    }

    /// # Safety
    ///
    /// Called by the memory manager as `vm_operations_struct::huge_fault` of
    /// a PFN-mode mapping.
    pub(super) unsafe extern "C" fn vm_pfn_huge_fault(
        vmf: *mut b::vm_fault,
        order: c_uint,
    ) -> b::vm_fault_t {
        let f = VmFault::<T>::new(vmf);
        T::pfn_fault(&f, order).0
    }

    /// # Safety
    ///
    /// Called by the memory manager as `page_mkwrite` and `pfn_mkwrite`: a
    /// write to a page mapped read-only.
    pub(super) unsafe extern "C" fn vm_mkwrite(vmf: *mut b::vm_fault) -> b::vm_fault_t {
        let f = VmFault::<T>::new(vmf);
        T::fault(&f, 0, false).0
    }
}
