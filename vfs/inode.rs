// SPDX-License-Identifier: GPL-2.0

//! Inodes, dentries and the inode operations.
//!
//! Lock order, as in the VFS: the inode lock (`i_rwsem`), then the mapping's
//! invalidate lock, then (inside the mm) `i_mmap_rwsem`. Faults take only the
//! invalidate lock, shared.

use core::marker::PhantomData;
use core::ptr::{self, NonNull};

use kernel::error::from_result;
use kernel::ffi::{c_int, c_uint, c_void};
use kernel::prelude::*;
use kernel::sync::aref::{ARef, AlwaysRefCounted};
use kernel::sync::atomic::{Acquire, Atomic, Relaxed, Release};
use kernel::types::Opaque;

use super::fs::{FileSystem, SuperBlock, Tables};
use crate::bindings as b;

/// The file type bits of a mode.
pub(crate) const S_IFMT: u32 = b::S_IFMT;
/// A regular file.
pub(crate) const S_IFREG: u32 = b::S_IFREG;
/// A directory.
pub(crate) const S_IFDIR: u32 = b::S_IFDIR;

/// An inode of a file system of type `T`.
///
/// # Invariants
///
/// The C inode is live for as long as the reference is: either an [`ARef`]
/// holds a reference count, or the VFS passed the inode to a callback and
/// holds a reference for the callback's duration. It belongs to a superblock
/// of type `T`, and its `i_private` is null or a pointer obtained from
/// `KBox::<T::FileData>::into_raw` by [`Locked::set_data`], freed only by
/// the eviction trampoline.
#[repr(transparent)]
pub(crate) struct Inode<T: FileSystem> {
    inner: Opaque<b::inode>,
    _t: PhantomData<T>,
}

// SAFETY: Inodes are reference counted by the VFS from any thread; every
// method below uses the C locking or atomics the field it touches needs.
unsafe impl<T: FileSystem> Send for Inode<T> {}
// SAFETY: Shared references only call thread-safe C functions or
// read fields with the C rules for lockless reads.
unsafe impl<T: FileSystem> Sync for Inode<T> {}

// SAFETY: `ihold` and `iput` manage the inode's reference count; `iput` of
// the last reference evicts it (famfs's `drop_inode` is `inode_just_drop`).
unsafe impl<T: FileSystem> AlwaysRefCounted for Inode<T> {
    fn inc_ref(&self) {
        // SAFETY: The inode is live (type invariant), so it has a reference
        // count to increment.
        unsafe { b::ihold(self.as_ptr()) };
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: The caller gives up one reference it owns.
        unsafe { b::iput(obj.as_ptr().cast()) };
    }
}

impl<T: FileSystem> Inode<T> {
    /// # Safety
    ///
    /// `ptr` must be a live inode of a superblock of type `T` for `'a` (see
    /// the type invariants).
    pub(super) unsafe fn from_raw<'a>(ptr: *mut b::inode) -> &'a Self {
        // SAFETY: `Inode` is a transparent wrapper of `inode`; validity per
        // the function contract.
        unsafe { &*ptr.cast() }
    }

    pub(super) fn as_ptr(&self) -> *mut b::inode {
        self.inner.get()
    }

    /// The inode number.
    pub(crate) fn ino(&self) -> u64 {
        // SAFETY: `i_ino` is set when the inode is made and never changes.
        unsafe { (*self.as_ptr()).i_ino }
    }

    /// The mode (file type and permission bits).
    pub(crate) fn mode(&self) -> u32 {
        // SAFETY: A plain read of `i_mode`, as the VFS does without locks
        // (`chmod` stores it whole, under the inode lock).
        u32::from(unsafe { ptr::read_volatile(&raw const (*self.as_ptr()).i_mode) })
    }

    /// Whether this is a regular file.
    pub(crate) fn is_reg(&self) -> bool {
        self.mode() & S_IFMT == S_IFREG
    }

    /// The file size (`i_size_read`, safe without the inode lock).
    pub(crate) fn size(&self) -> i64 {
        // SAFETY: `i_size_read` may be called on a live inode at any time.
        unsafe { b::famfs_glue_i_size_read(self.as_ptr()) }
    }

    /// The superblock.
    pub(crate) fn super_block(&self) -> &SuperBlock<T> {
        // SAFETY: `i_sb` of a live inode is its live superblock, which
        // outlives all its inodes, and it is of type `T` (type invariant).
        unsafe { SuperBlock::from_raw((*self.as_ptr()).i_sb) }
    }

    /// The per-file data, once set (published with release ordering by
    /// [`Locked::set_data`]; read with acquire ordering).
    pub(crate) fn data(&self) -> Option<&T::FileData> {
        let p = self.private().load(Acquire);
        // SAFETY: A non-null `i_private` came from `KBox::into_raw` (type
        // invariant) and is freed only at eviction, after the last reference
        // (and so after `&self`) is gone.
        unsafe { p.cast::<T::FileData>().as_ref() }
    }

    /// `i_private` as an atomic pointer: famfs reads and writes it only
    /// through this view.
    fn private(&self) -> &Atomic<*mut c_void> {
        // SAFETY: `i_private` is a properly aligned pointer-sized field of a
        // live inode; every famfs access to it is atomic.
        unsafe { Atomic::from_ptr(&raw mut (*self.as_ptr()).i_private) }
    }

    /// Takes the inode lock (`i_rwsem`) exclusively.
    pub(crate) fn lock(&self) -> InodeGuard<'_, T> {
        // SAFETY: The inode is live; the guard unlocks it.
        unsafe { b::famfs_glue_inode_lock(self.as_ptr()) };
        InodeGuard(Locked(self))
    }

    /// Takes the inode lock (`i_rwsem`) shared.
    pub(crate) fn lock_shared(&self) -> InodeSharedGuard<'_, T> {
        // SAFETY: The inode is live; the guard unlocks it.
        unsafe { b::famfs_glue_inode_lock_shared(self.as_ptr()) };
        InodeSharedGuard(self)
    }

    /// Takes the mapping's invalidate lock exclusively: no fault of this
    /// file runs while the guard lives (faults hold it shared).
    pub(crate) fn invalidate_lock(&self) -> InvalidateGuard<'_, T> {
        // SAFETY: The inode is live; the guard unlocks it.
        unsafe { b::famfs_glue_invalidate_lock(self.as_ptr()) };
        InvalidateGuard(self)
    }

    /// Signals the processes that map file pages `first..first + count`
    /// after a memory failure (`mf_dax_kill_procs`), as the other DAX file
    /// systems do. `flags` are the memory-failure flags the holder
    /// notification received.
    pub(crate) fn kill_procs(&self, first: u64, count: u64, flags: i32) {
        let (Ok(first), Ok(count)) = (usize::try_from(first), usize::try_from(count)) else {
            return;
        };
        // SAFETY: The mapping of a live inode; `mf_dax_kill_procs` locks
        // the DAX entries it looks at itself. Its result only says whether
        // a page was found, which changes nothing here.
        let _ = unsafe { b::mf_dax_kill_procs((*self.as_ptr()).i_mapping, first, count, flags) };
    }
}

/// Proof that the inode lock is held exclusively (by a guard of ours, or by
/// the VFS around a callback); gives access to what that lock protects.
pub(crate) struct Locked<'a, T: FileSystem>(&'a Inode<T>);

impl<T: FileSystem> core::ops::Deref for Locked<'_, T> {
    type Target = Inode<T>;
    fn deref(&self) -> &Inode<T> {
        self.0
    }
}

impl<T: FileSystem> Locked<'_, T> {
    /// Sets the file size (`i_size_write`, which needs the inode lock).
    pub(crate) fn set_size(&self, size: i64) {
        // SAFETY: The inode lock is held (type invariant of `Locked`).
        unsafe { b::famfs_glue_i_size_write(self.as_ptr(), size) };
    }

    /// Marks a regular file as a DAX file (`S_DAX`).
    pub(crate) fn set_dax(&self) {
        // SAFETY: `i_flags` is changed under the inode lock, held here.
        unsafe { b::famfs_glue_set_dax(self.as_ptr()) };
    }

    /// Gives the inode its per-file data, once: `Err(data)` if it has some.
    pub(crate) fn set_data(&self, data: KBox<T::FileData>) -> Result<(), KBox<T::FileData>> {
        if !self.private().load(Relaxed).is_null() {
            return Err(data);
        }
        // Only writer: the inode lock is held and nothing else stores a
        // non-null value (eviction runs when no reference is left).
        self.private()
            .store(KBox::into_raw(data).cast::<c_void>(), Release);
        Ok(())
    }

    /// Marks the directory as changed now (mtime and ctime).
    pub(crate) fn dir_changed(&self) {
        // SAFETY: The times of a locked inode.
        unsafe { b::famfs_glue_dir_changed(self.as_ptr()) };
    }

    /// Adds a link (a new subdirectory's `..`).
    pub(crate) fn inc_nlink(&self) {
        // SAFETY: `i_nlink` of a locked inode.
        unsafe { b::inc_nlink(self.as_ptr()) };
    }
}

/// The inode lock, held exclusively until dropped.
pub(crate) struct InodeGuard<'a, T: FileSystem>(Locked<'a, T>);

impl<'a, T: FileSystem> core::ops::Deref for InodeGuard<'a, T> {
    type Target = Locked<'a, T>;
    fn deref(&self) -> &Locked<'a, T> {
        &self.0
    }
}

impl<T: FileSystem> Drop for InodeGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: Locked by `Inode::lock`.
        unsafe { b::famfs_glue_inode_unlock(self.0 .0.as_ptr()) };
    }
}

/// The inode lock, held shared until dropped.
pub(crate) struct InodeSharedGuard<'a, T: FileSystem>(&'a Inode<T>);

impl<T: FileSystem> Drop for InodeSharedGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: Locked shared by `Inode::lock_shared`.
        unsafe { b::famfs_glue_inode_unlock_shared(self.0.as_ptr()) };
    }
}

/// The mapping's invalidate lock, held exclusively until dropped.
pub(crate) struct InvalidateGuard<'a, T: FileSystem>(&'a Inode<T>);

impl<T: FileSystem> InvalidateGuard<'_, T> {
    /// Tears down every user mapping of the file; the next access faults.
    pub(crate) fn unmap_all(&self) {
        // SAFETY: The mapping of a live inode; `unmap_mapping_range` takes
        // `i_mmap_rwsem` itself (after the invalidate lock, the VFS order).
        unsafe { b::unmap_mapping_range((*self.0.as_ptr()).i_mapping, 0, 0, 1) };
        // SAFETY: A live inode, with its invalidate lock held (this guard),
        // as the C function needs; it takes the shadow list's lock and then
        // each shadow mapping's `i_mmap_rwsem`.
        unsafe { b::famfs_glue_zap_shadows(self.0.as_ptr()) };
    }

    /// Before the device goes away: waits until no page of the file is in
    /// use, then deletes every DAX entry of the file (faults are held off
    /// by this lock meanwhile).
    pub(crate) fn drop_dax_layout(&self) {
        // SAFETY: `dax_break_layout_final` needs the invalidate lock, held.
        unsafe { b::famfs_glue_drop_dax_layout(self.0.as_ptr()) };
    }
}

impl<T: FileSystem> Drop for InvalidateGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: Locked by `Inode::invalidate_lock`.
        unsafe { b::famfs_glue_invalidate_unlock(self.0.as_ptr()) };
    }
}

/// What a new inode is.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
}

/// Makes a new inode of `kind` with the permission bits of `mode`, owned
/// as `inode_init_owner` decides for `dir` (the root directory if `None`).
pub(crate) fn new_inode<T: FileSystem>(
    sb: &SuperBlock<T>,
    dir: Option<&Inode<T>>,
    kind: Kind,
    mode: u32,
) -> Result<ARef<Inode<T>>> {
    let mode = (mode & !S_IFMT)
        | match kind {
            Kind::File => S_IFREG,
            Kind::Dir => S_IFDIR,
        };
    // SAFETY: `sb` is a live superblock.
    let inode = unsafe { b::new_inode(sb.as_ptr()) };
    let Some(inode) = NonNull::new(inode) else {
        return Err(ENOMEM);
    };
    // SAFETY: `new_inode` returned a new inode with one reference, which the
    // `ARef` now owns; it is of type `T`, and its `i_private` is null.
    let inode: ARef<Inode<T>> = unsafe { ARef::from_raw(inode.cast()) };
    let p = inode.as_ptr();
    let dir = dir.map_or(ptr::null_mut(), |d| d.as_ptr());
    // SAFETY: Nobody else knows the new inode yet, so its fields are ours
    // to initialise; `dir` is null or a live directory of the same
    // superblock; the operation tables are statics.
    unsafe {
        (*p).i_ino = u64::from(b::get_next_ino());
        b::inode_init_owner(&raw mut b::nop_mnt_idmap, p, dir, mode as b::umode_t);
        (*(*p).i_mapping).a_ops = &super::file::AOPS;
        b::simple_inode_init_ts(p);
        match kind {
            Kind::Dir => {
                (*p).i_op = &Tables::<T>::DIR_IOPS;
                (*p).__bindgen_anon_3.i_fop = &Tables::<T>::DIR_FOPS;
                // A directory starts with two links: its entry and ".".
                b::inc_nlink(p);
            }
            Kind::File => {
                (*p).i_op = &Tables::<T>::FILE_IOPS;
                (*p).__bindgen_anon_3.i_fop = &Tables::<T>::FILE_FOPS;
            }
        }
    }
    Ok(inode)
}

/// A negative dentry handed to `create` or `mkdir`.
pub(crate) struct NewDentry<'a, T: FileSystem>(*mut b::dentry, PhantomData<&'a Inode<T>>);

impl<T: FileSystem> NewDentry<'_, T> {
    /// Attaches `inode` to the dentry and makes the dentry persistent: it
    /// lives (with the inode) until unlinked or unmounted, as in ramfs.
    pub(crate) fn instantiate(self, inode: ARef<Inode<T>>) {
        // SAFETY: The VFS passed a negative dentry with its parent locked;
        // `d_make_persistent` takes over our inode reference.
        unsafe { b::d_make_persistent(self.0, ARef::into_raw(inode).as_ptr().cast()) };
    }
}

/// The attributes a `setattr` asks to change.
pub(crate) struct Attr<'a>(&'a b::iattr);

impl Attr<'_> {
    /// The new size, if the size is to change.
    pub(crate) fn new_size(&self) -> Option<i64> {
        (self.0.ia_valid & b::ATTR_SIZE != 0).then_some(self.0.ia_size)
    }

    /// Whether the permission bits are to change.
    pub(crate) fn changes_mode(&self) -> bool {
        self.0.ia_valid & b::ATTR_MODE != 0
    }

    /// Whether the owner or the group is to change.
    pub(crate) fn changes_owner(&self) -> bool {
        self.0.ia_valid & (b::ATTR_UID | b::ATTR_GID) != 0
    }

    /// Whether the access or modification time is to be set.
    pub(crate) fn changes_times(&self) -> bool {
        self.0.ia_valid & (b::ATTR_ATIME | b::ATTR_MTIME) != 0
    }

    /// Whether the kernel makes this change by itself (`ATTR_FORCE`: for
    /// example dropping set-user-ID bits on a write), not a caller's
    /// request.
    pub(crate) fn is_forced(&self) -> bool {
        self.0.ia_valid & b::ATTR_FORCE != 0
    }
}

/// Calls `f` for every live inode of `sb`, holding a reference on it and no
/// lock, as `drop_pagecache_sb` walks a superblock. Inodes being set up or
/// evicted are skipped. Allocates nothing.
pub(crate) fn for_each_inode<T: FileSystem, F: FnMut(&Inode<T>)>(sb: &SuperBlock<T>, mut f: F) {
    /// # Safety
    ///
    /// Called by `famfs_glue_for_each_inode` with the context given below
    /// and an inode of `sb` it holds a reference on.
    unsafe extern "C" fn call<T: FileSystem, F: FnMut(&Inode<T>)>(
        inode: *mut b::inode,
        ctx: *mut c_void,
    ) -> c_int {
        // SAFETY: `ctx` is the `&mut F` passed below, alive for the walk;
        // the glue passes inodes of that superblock with a reference held.
        unsafe { (*ctx.cast::<F>())(Inode::from_raw(inode)) };
        0
    }
    // SAFETY: `sb` is live; the callback and its context outlive the call.
    unsafe {
        b::famfs_glue_for_each_inode(
            sb.as_ptr(),
            Some(call::<T, F>),
            (&raw mut f).cast::<c_void>(),
        )
    };
}

// ---- the inode operation trampolines --------------------------------------

impl<T: FileSystem> Tables<T> {
    /// # Safety
    ///
    /// Called by the VFS as `inode_operations::create`.
    pub(super) unsafe extern "C" fn create(
        _idmap: *mut b::mnt_idmap,
        dir: *mut b::inode,
        dentry: *mut b::dentry,
        mode: b::umode_t,
    ) -> c_int {
        // SAFETY: The VFS calls `create` with the live directory `dir`
        // locked and a negative `dentry` of it.
        from_result(|| unsafe {
            T::create(
                &Locked(Inode::from_raw(dir)),
                NewDentry(dentry, PhantomData),
                u32::from(mode),
            )?;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the VFS as `inode_operations::mkdir`.
    pub(super) unsafe extern "C" fn mkdir(
        _idmap: *mut b::mnt_idmap,
        dir: *mut b::inode,
        dentry: *mut b::dentry,
        mode: b::umode_t,
    ) -> *mut b::dentry {
        // SAFETY: As for `create`: `dir` is locked, `dentry` negative.
        let res = unsafe {
            T::mkdir(
                &Locked(Inode::from_raw(dir)),
                NewDentry(dentry, PhantomData),
                u32::from(mode),
            )
        };
        match res {
            // Null: the VFS keeps using `dentry`.
            Ok(()) => ptr::null_mut(),
            Err(e) => e.to_ptr(),
        }
    }

    /// # Safety
    ///
    /// Called by the VFS as `inode_operations::unlink`.
    pub(super) unsafe extern "C" fn unlink(dir: *mut b::inode, dentry: *mut b::dentry) -> c_int {
        from_result(|| {
            // SAFETY: `vfs_unlink` calls `unlink` with the live directory
            // `dir` and the victim's inode (the positive `dentry`'s) both
            // locked, and holds references on them for the call.
            unsafe {
                let victim = Inode::from_raw((*dentry).d_inode);
                T::may_unlink(&Locked(Inode::from_raw(dir)), victim)?;
                kernel::error::to_result(b::simple_unlink(dir, dentry))?;
            }
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the VFS as `inode_operations::rmdir`.
    pub(super) unsafe extern "C" fn rmdir(dir: *mut b::inode, dentry: *mut b::dentry) -> c_int {
        from_result(|| {
            // SAFETY: `vfs_rmdir` calls `rmdir` with the live directory
            // `dir` and the positive `dentry`'s inode both locked.
            unsafe {
                let victim = Inode::from_raw((*dentry).d_inode);
                T::may_rmdir(&Locked(Inode::from_raw(dir)), victim)?;
                kernel::error::to_result(b::simple_rmdir(dir, dentry))?;
            }
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the VFS as `inode_operations::rename`.
    pub(super) unsafe extern "C" fn rename(
        idmap: *mut b::mnt_idmap,
        old_dir: *mut b::inode,
        old_dentry: *mut b::dentry,
        new_dir: *mut b::inode,
        new_dentry: *mut b::dentry,
        flags: c_uint,
    ) -> c_int {
        from_result(|| {
            // SAFETY: `vfs_rename` calls `rename` with both directories
            // locked, the positive `old_dentry`, and `new_dentry` whose inode
            // (null for a new name) is locked too; all live for the call.
            unsafe {
                let source = Inode::from_raw((*old_dentry).d_inode);
                let target = (*new_dentry).d_inode;
                // An exchange swaps two names: nothing is removed.
                let replaced = (!target.is_null() && flags & b::RENAME_EXCHANGE == 0)
                    .then(|| Inode::from_raw(target));
                T::may_rename(source, replaced)?;
                kernel::error::to_result(b::simple_rename(
                    idmap, old_dir, old_dentry, new_dir, new_dentry, flags,
                ))?;
            }
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the VFS as `inode_operations::setattr` of regular files
    /// and directories.
    pub(super) unsafe extern "C" fn setattr(
        idmap: *mut b::mnt_idmap,
        dentry: *mut b::dentry,
        attr: *mut b::iattr,
    ) -> c_int {
        from_result(|| {
            // SAFETY: `notify_change` calls `setattr` with a positive dentry
            // whose inode it holds locked, and a valid `iattr`.
            unsafe {
                kernel::error::to_result(b::setattr_prepare(idmap, dentry, attr))?;
                let inode = (*dentry).d_inode;
                T::setattr(&Locked(Inode::from_raw(inode)), &Attr(&*attr))?;
                b::setattr_copy(idmap, inode, attr);
            }
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the VFS as `super_operations::evict_inode`.
    pub(super) unsafe extern "C" fn evict_inode(inode: *mut b::inode) {
        // SAFETY: The VFS evicts an inode nobody refers to any more: the DAX
        // layout is broken, the page cache dropped, the inode cleared.
        unsafe { b::famfs_glue_evict(inode) };
        // SAFETY: The inode stays allocated until this returns; its
        // `i_private` is ours (type invariant).
        let inode = unsafe { Inode::<T>::from_raw(inode) };
        let p = inode.private().xchg(ptr::null_mut(), Relaxed);
        let data = (!p.is_null()).then(|| {
            // SAFETY: `p` came from `KBox::into_raw` in `set_data`, and no
            // reference to it is left (`data()` borrows end with the
            // inode's last reference).
            unsafe { KBox::from_raw(p.cast::<T::FileData>()) }
        });
        T::evict(inode, data);
    }

    /// # Safety
    ///
    /// Called by the VFS as `inode_operations::lookup`.
    pub(super) unsafe extern "C" fn lookup(
        dir: *mut b::inode,
        dentry: *mut b::dentry,
        flags: c_uint,
    ) -> *mut b::dentry {
        // SAFETY: Forwarded unchanged from the VFS. Every existing name is a
        // persistent dentry, so a lookup that reaches us finds nothing.
        unsafe { b::simple_lookup(dir, dentry, flags) }
    }
}
