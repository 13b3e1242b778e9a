//! KABI 44: every size, offset and number of `famfs_abi::kabi44` equals what
//! GCC computes from uapi/famfs_kabi44.h (compiled by build.rs together with
//! the KABI 43 header, with warnings as errors), and the values documented
//! in the reference (famfs-upstream.md, sections 1.2 and 1.3). No KABI 44
//! command number equals a KABI 43 one.

use core::mem::{offset_of, size_of};
use famfs_abi::kabi44::*;
use std::collections::HashMap;

mod common;

extern "C" {
    // The length is not known here: the table ends with a NULL name.
    static famfs_abi44_items: [common::Item; 0];
}

fn c_values() -> HashMap<String, u64> {
    // SAFETY: The C table (layout44.c) is static and ends with a NULL name.
    unsafe { common::c_values(core::ptr::addr_of!(famfs_abi44_items).cast()) }
}

#[test]
fn rust_abi_matches_c_header() {
    let c = c_values();
    let rust: &[(&str, u64)] = &[
        ("FAMFS44_KABI_VERSION", FAMFS44_KABI_VERSION as u64),
        ("FAMFS44_FMAP_VERSION", FAMFS44_FMAP_VERSION as u64),
        ("FAMFS44_FMAP_MSG_MAX", FAMFS44_FMAP_MSG_MAX as u64),
        ("FAMFS44_MAX_DAXDEVS", FAMFS44_MAX_DAXDEVS as u64),
        ("FAMFS44_EXT_SIMPLE", FAMFS44_EXT_SIMPLE as u64),
        ("FAMFS44_EXT_INTERLEAVE", FAMFS44_EXT_INTERLEAVE as u64),
        ("FAMFS44_OPT_CREATE", FAMFS44_OPT_CREATE),
        ("FAMFS44_OPT_MKDIR", FAMFS44_OPT_MKDIR),
        ("FAMFS44_OPT_MKNOD", FAMFS44_OPT_MKNOD),
        ("FAMFS44_OPT_SYMLINK", FAMFS44_OPT_SYMLINK),
        ("FAMFS44_OPT_LINK", FAMFS44_OPT_LINK),
        ("FAMFS44_OPT_UNLINK", FAMFS44_OPT_UNLINK),
        ("FAMFS44_OPT_RMDIR", FAMFS44_OPT_RMDIR),
        ("FAMFS44_OPT_RENAME", FAMFS44_OPT_RENAME),
        ("FAMFS44_OPT_CHMOD", FAMFS44_OPT_CHMOD),
        ("FAMFS44_OPT_CHOWN", FAMFS44_OPT_CHOWN),
        ("FAMFS44_OPT_TRUNCATE", FAMFS44_OPT_TRUNCATE),
        ("FAMFS44_OPT_UTIMES", FAMFS44_OPT_UTIMES),
        ("FAMFS44_OPT_WRITE", FAMFS44_OPT_WRITE),
        ("FAMFS44_OPT_XATTR", FAMFS44_OPT_XATTR),
        ("FAMFS44_OPT_MAP_CREATE", FAMFS44_OPT_MAP_CREATE),
        ("FAMFS44_OPT_DEFAULT", FAMFS44_OPT_DEFAULT),
        ("FAMFS44_IOC_NOP", FAMFS44_IOC_NOP as u64),
        ("FAMFS44_IOC_MAP_CREATE", FAMFS44_IOC_MAP_CREATE as u64),
        ("FAMFS44_IOC_DAXDEV_OPEN", FAMFS44_IOC_DAXDEV_OPEN as u64),
        ("FAMFS44_IOC_GET_OPTS", FAMFS44_IOC_GET_OPTS as u64),
        ("FAMFS44_IOC_SET_OPTS", FAMFS44_IOC_SET_OPTS as u64),
        ("FAMFS44_IOC_CLEAR_OPTS", FAMFS44_IOC_CLEAR_OPTS as u64),
        ("FAMFS44_IOC_MAP_GET", FAMFS44_IOC_MAP_GET as u64),
        ("FAMFS44_IOC_DAXDEV_GET", FAMFS44_IOC_DAXDEV_GET as u64),
        ("FAMFS44_DAXDEV_PRESENT", FAMFS44_DAXDEV_PRESENT as u64),
        ("FAMFS44_DAXDEV_FAILED", FAMFS44_DAXDEV_FAILED as u64),
        (
            "sizeof famfs_ioc_simple_ext",
            size_of::<FamfsIocSimpleExt>() as u64,
        ),
        (
            "offsetof famfs_ioc_simple_ext.se_offset",
            offset_of!(FamfsIocSimpleExt, se_offset) as u64,
        ),
        (
            "offsetof famfs_ioc_simple_ext.se_len",
            offset_of!(FamfsIocSimpleExt, se_len) as u64,
        ),
        ("sizeof famfs_ioc_iext", size_of::<FamfsIocIext>() as u64),
        (
            "offsetof famfs_ioc_iext.ie_chunk_size",
            offset_of!(FamfsIocIext, ie_chunk_size) as u64,
        ),
        (
            "offsetof famfs_ioc_iext.ie_nbytes",
            offset_of!(FamfsIocIext, ie_nbytes) as u64,
        ),
        (
            "sizeof famfs_ioc_fmap_header",
            size_of::<FamfsIocFmapHeader>() as u64,
        ),
        (
            "offsetof famfs_ioc_fmap_header.fmap_version",
            offset_of!(FamfsIocFmapHeader, fmap_version) as u64,
        ),
        (
            "offsetof famfs_ioc_fmap_header.ext_type",
            offset_of!(FamfsIocFmapHeader, ext_type) as u64,
        ),
        (
            "offsetof famfs_ioc_fmap_header.nextents",
            offset_of!(FamfsIocFmapHeader, nextents) as u64,
        ),
        (
            "offsetof famfs_ioc_fmap_header.fmap_size",
            offset_of!(FamfsIocFmapHeader, fmap_size) as u64,
        ),
        (
            "offsetof famfs_ioc_fmap_header.file_size",
            offset_of!(FamfsIocFmapHeader, file_size) as u64,
        ),
        (
            "offsetof famfs_ioc_fmap_header.reserved1",
            offset_of!(FamfsIocFmapHeader, reserved1) as u64,
        ),
        (
            "sizeof famfs_ioc_daxdev",
            size_of::<FamfsIocDaxdev>() as u64,
        ),
        (
            "offsetof famfs_ioc_daxdev.daxdev_path",
            offset_of!(FamfsIocDaxdev, daxdev_path) as u64,
        ),
        (
            "offsetof famfs_ioc_daxdev.daxdev_path_len",
            offset_of!(FamfsIocDaxdev, daxdev_path_len) as u64,
        ),
        (
            "offsetof famfs_ioc_daxdev.flags",
            offset_of!(FamfsIocDaxdev, flags) as u64,
        ),
        ("sizeof famfs_ioc_opts", size_of::<FamfsIocOpts>() as u64),
        (
            "sizeof famfs_ioc_daxdev_info",
            size_of::<FamfsIocDaxdevInfo>() as u64,
        ),
        (
            "offsetof famfs_ioc_daxdev_info.size",
            offset_of!(FamfsIocDaxdevInfo, size) as u64,
        ),
        (
            "offsetof famfs_ioc_daxdev_info.state",
            offset_of!(FamfsIocDaxdevInfo, state) as u64,
        ),
        (
            "offsetof famfs_ioc_daxdev_info.pud_phase",
            offset_of!(FamfsIocDaxdevInfo, pud_phase) as u64,
        ),
        (
            "offsetof famfs_ioc_daxdev_info.name",
            offset_of!(FamfsIocDaxdevInfo, name) as u64,
        ),
        (
            "sizeof famfs_ioc_daxdev_info.name",
            FamfsIocDaxdevInfo::default().name.len() as u64,
        ),
    ];
    assert_eq!(c.len(), rust.len(), "every C item is compared");
    for (name, value) in rust {
        assert_eq!(c.get(*name), Some(value), "{name}");
    }
}

/// The values the reference lists (computed there with GCC on x86-64).
#[test]
fn documented_values() {
    assert_eq!(FAMFS44_IOC_NOP, 0x7550);
    assert_eq!(FAMFS44_IOC_MAP_CREATE, 0x40207551);
    assert_eq!(FAMFS44_IOC_DAXDEV_OPEN, 0x40187552);
    assert_eq!(FAMFS44_IOC_GET_OPTS, 0x80087553);
    assert_eq!(FAMFS44_IOC_SET_OPTS, 0xc0087554);
    assert_eq!(FAMFS44_IOC_CLEAR_OPTS, 0xc0087555);
    // Our addition: _IOWR('u', 0x5a, 32-byte header).
    assert_eq!(FAMFS44_IOC_MAP_GET, 0xc020755a);
    // And _IOWR('u', 0x5b, 56-byte struct famfs_ioc_daxdev_info).
    assert_eq!(FAMFS44_IOC_DAXDEV_GET, 0xc038755b);
    assert_eq!(size_of::<FamfsIocDaxdevInfo>(), 56);
    assert_eq!(offset_of!(FamfsIocDaxdevInfo, size), 8);
    assert_eq!(offset_of!(FamfsIocDaxdevInfo, state), 16);
    assert_eq!(offset_of!(FamfsIocDaxdevInfo, pud_phase), 20);
    assert_eq!(offset_of!(FamfsIocDaxdevInfo, name), 24);
    assert_eq!((FAMFS44_DAXDEV_PRESENT, FAMFS44_DAXDEV_FAILED), (1, 2));
    assert_eq!(size_of::<FamfsIocSimpleExt>(), 24);
    assert_eq!(size_of::<FamfsIocIext>(), 24);
    assert_eq!(size_of::<FamfsIocFmapHeader>(), 32);
    assert_eq!(offset_of!(FamfsIocFmapHeader, file_size), 16);
    assert_eq!(size_of::<FamfsIocDaxdev>(), 24);
    assert_eq!(FAMFS44_FMAP_MSG_MAX, 4 << 20);
}

/// Served side by side, the two generations must never share a command
/// number: each call says which generation it speaks.
#[test]
fn no_command_number_means_two_things() {
    let k43 = [
        famfs_abi::FAMFSIOC_MAP_CREATE,
        famfs_abi::FAMFSIOC_MAP_GET,
        famfs_abi::FAMFSIOC_MAP_GETEXT,
        famfs_abi::FAMFSIOC_NOP,
        famfs_abi::FAMFSIOC_MAP_CREATE_V2,
        famfs_abi::FAMFSIOC_MAP_GET_V2,
    ];
    let k44 = [
        FAMFS44_IOC_NOP,
        FAMFS44_IOC_MAP_CREATE,
        FAMFS44_IOC_DAXDEV_OPEN,
        FAMFS44_IOC_GET_OPTS,
        FAMFS44_IOC_SET_OPTS,
        FAMFS44_IOC_CLEAR_OPTS,
        FAMFS44_IOC_MAP_GET,
        FAMFS44_IOC_DAXDEV_GET,
    ];
    for a in k44 {
        assert!(!k43.contains(&a), "{a:#x} is a KABI 43 command too");
        assert_eq!(
            k44.iter().filter(|&&b| b == a).count(),
            1,
            "{a:#x} twice in KABI 44"
        );
    }
}
