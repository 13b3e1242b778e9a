// SPDX-License-Identifier: GPL-2.0

//! famfs: the fabric-attached memory file system.
//!
//! famfs gives a pool of shared memory (a CXL or pmem dax device that several
//! hosts can map) a file-system face. The module keeps ephemeral, ramfs-like
//! inodes; user space tells it where each file's memory is, and the module
//! serves the data with DAX.
//!
//! This file is the crate root: the module entry point and the modules that
//! make up the file system. (Kbuild names the linked module `famfs.o`, so the
//! crate root cannot be `famfs.rs`.) `vfs` is the safe layer over the C
//! kernel; every other module is plain safe Rust on top of it.

#![deny(unsafe_code)]

use kernel::prelude::*;

#[allow(unsafe_code)]
mod bindings;
mod dax;
mod file;
pub mod fmap;
mod fmap_kunit;
mod inode;
mod ioctl;
mod iomap;
mod mount;
pub mod msg44;
pub mod opts;
pub mod ranges;
mod registry;
#[allow(unsafe_code)]
mod vfs;

module! {
    type: FamfsModule,
    name: "famfs",
    authors: ["The famfs-rs developers"],
    description: "famfs: fabric-attached memory file system (Rust implementation)",
    license: "GPL",
    alias: ["fs-famfs"],
}

/// The `famfs` file system type.
static FAMFS_TYPE: vfs::fs::FsType<mount::Famfs> = vfs::fs::FsType::new();

/// Module state: the file system type stays registered while this lives.
struct FamfsModule {
    _fs: vfs::fs::Registration<mount::Famfs>,
}

impl kernel::Module for FamfsModule {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        #[cfg(famfs_test_hooks)]
        vfs::test_hooks::at_load();
        let fs = vfs::fs::Registration::new(&FAMFS_TYPE)?;
        pr_info!("registered (KABI {})\n", ioctl::FAMFS_KABI_VERSION);
        Ok(FamfsModule { _fs: fs })
    }
}
