// SPDX-License-Identifier: GPL-2.0

//! File and directory operations.

use crate::bindings as b;
use crate::ioctl;

/// A static C operations table that points to the module (`owner`).
///
/// Raw pointers are not `Sync`, but the table is immutable and only read.
#[repr(transparent)]
pub(crate) struct OpsTable<T>(pub(crate) T);

// SAFETY: The wrapped tables are never written after initialisation.
unsafe impl<T> Sync for OpsTable<T> {}

const fn this_module() -> *mut b::module {
    kernel::module::this_module::<crate::FamfsModule>().as_ptr()
}

/// Regular files. Data access comes with extent maps; until a file has one
/// it has no data.
pub(crate) static FILE_FOPS: OpsTable<b::file_operations> = OpsTable(b::file_operations {
    owner: this_module(),
    llseek: Some(b::generic_file_llseek),
    open: Some(b::generic_file_open),
    unlocked_ioctl: Some(ioctl::famfs_ioctl),
    fsync: Some(b::noop_fsync),
    ..pin_init::zeroed()
});

/// Directories: the dcache-based libfs helpers, plus the famfs ioctls.
pub(crate) static DIR_FOPS: OpsTable<b::file_operations> = OpsTable(b::file_operations {
    owner: this_module(),
    open: Some(b::dcache_dir_open),
    release: Some(b::dcache_dir_close),
    llseek: Some(b::dcache_dir_lseek),
    read: Some(b::generic_read_dir),
    iterate_shared: Some(b::dcache_readdir),
    fsync: Some(b::noop_fsync),
    unlocked_ioctl: Some(ioctl::famfs_ioctl),
    ..pin_init::zeroed()
});

/// Address space operations: famfs never dirties page-cache folios.
pub(crate) static AOPS: b::address_space_operations = b::address_space_operations {
    dirty_folio: Some(b::noop_dirty_folio),
    ..pin_init::zeroed()
};
