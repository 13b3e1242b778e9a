// SPDX-License-Identifier: GPL-2.0

//! The famfs ioctls (KABI 43), issued on any open file or directory of a
//! mount. See `uapi/famfs_ioctl.h` for the ABI.

use kernel::ffi::{c_long, c_uint, c_ulong};
use kernel::prelude::*;

use crate::bindings as b;

/// The ioctl ABI version this module implements.
pub(crate) const FAMFS_KABI_VERSION: u32 = b::FAMFS_GLUE_KABI_VERSION;

const FAMFSIOC_MAGIC: u32 = b'u' as u32;
const IOC_NONE: u32 = 0;
const IOC_WRITE: u32 = 1;
const IOC_READ: u32 = 2;

/// Encodes an ioctl number the way `<asm-generic/ioctl.h>` does on x86-64:
/// direction in bits 30-31, argument size in bits 16-29, type, number.
const fn ioc(dir: u32, nr: u32, size: u32) -> u32 {
    (dir << 30) | (size << 16) | (FAMFSIOC_MAGIC << 8) | nr
}

// Sizes of the argument structures on x86-64 (uapi/famfs_ioctl.h).
const SIZEOF_FAMFS_IOC_MAP: u32 = 56;
const SIZEOF_FAMFS_EXTENT: u32 = 16;
const SIZEOF_FAMFS_IOC_FMAP: u32 = 32;
const SIZEOF_FAMFS_IOC_GET_FMAP: u32 = 448;

/// Give an empty file its extent map (v1 map).
pub(crate) const FAMFSIOC_MAP_CREATE: u32 = ioc(IOC_WRITE, 0x50, SIZEOF_FAMFS_IOC_MAP);
/// Read a file's v1 map.
pub(crate) const FAMFSIOC_MAP_GET: u32 = ioc(IOC_READ, 0x51, SIZEOF_FAMFS_IOC_MAP);
/// Read a file's v1 extents.
pub(crate) const FAMFSIOC_MAP_GETEXT: u32 = ioc(IOC_READ, 0x52, SIZEOF_FAMFS_EXTENT);
/// Does nothing and succeeds: tells user space this is a famfs file.
pub(crate) const FAMFSIOC_NOP: u32 = ioc(IOC_NONE, 0x53, 0);
/// Give an empty file its extent map (v2: simple or interleaved).
pub(crate) const FAMFSIOC_MAP_CREATE_V2: u32 = ioc(IOC_WRITE, 0x54, SIZEOF_FAMFS_IOC_FMAP);
/// Read a file's v2 map.
pub(crate) const FAMFSIOC_MAP_GET_V2: u32 = ioc(IOC_READ, 0x55, SIZEOF_FAMFS_IOC_GET_FMAP);

/// `unlocked_ioctl` for famfs files and directories.
///
/// # Safety
///
/// Called by the VFS with a valid open `file`.
pub(crate) unsafe extern "C" fn famfs_ioctl(
    _file: *mut b::file,
    cmd: c_uint,
    _arg: c_ulong,
) -> c_long {
    match cmd {
        FAMFSIOC_NOP => 0,
        // Extent maps are not implemented yet: the map ioctls are refused
        // like any unknown command.
        _ => ENOTTY.to_errno() as c_long,
    }
}

#[kunit_tests(famfs_ioctl)]
mod tests {
    use super::*;

    /// The Rust encoding agrees with the C header compiled by GCC.
    #[test]
    fn rust_numbers_match_c_header() {
        let pairs = [
            (
                FAMFSIOC_MAP_CREATE,
                b::famfs_glue_ioctl_FAMFS_GLUE_IOC_MAP_CREATE,
            ),
            (FAMFSIOC_MAP_GET, b::famfs_glue_ioctl_FAMFS_GLUE_IOC_MAP_GET),
            (
                FAMFSIOC_MAP_GETEXT,
                b::famfs_glue_ioctl_FAMFS_GLUE_IOC_MAP_GETEXT,
            ),
            (FAMFSIOC_NOP, b::famfs_glue_ioctl_FAMFS_GLUE_IOC_NOP),
            (
                FAMFSIOC_MAP_CREATE_V2,
                b::famfs_glue_ioctl_FAMFS_GLUE_IOC_MAP_CREATE_V2,
            ),
            (
                FAMFSIOC_MAP_GET_V2,
                b::famfs_glue_ioctl_FAMFS_GLUE_IOC_MAP_GET_V2,
            ),
        ];
        for (rust, which) in pairs {
            // SAFETY: Pure function returning a constant.
            let c = unsafe { b::famfs_glue_ioctl_cmd(which) };
            assert_eq!(rust, c);
        }
    }
}
