//! famfs user space: the metadata of a famfs file system (superblock and
//! log in the shared memory, read and written through the module's
//! metadata files), log replay, and metadata sessions on the master. The
//! commands of the `famfs` tool are in the binary (`src/cmd/`); this
//! library returns data and never prints.

#![deny(unsafe_code)]

pub mod devices;
pub mod fill;
pub mod follow;
#[cfg(feature = "test-hooks")]
pub mod hooks;
pub mod meta;
pub mod paths;
pub mod replay;
pub mod session;
#[allow(unsafe_code)]
pub mod sys;
