//! famfs user space: the metadata of a famfs file system (superblock and
//! log in the shared memory, read and written through the module's
//! metadata files) and the commands of the `famfs` tool.

#![deny(unsafe_code)]

pub mod fill;
pub mod meta;
pub mod ops;
pub mod paths;
pub mod session;
#[allow(unsafe_code)]
pub mod sys;
