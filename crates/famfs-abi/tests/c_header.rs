//! Every size, offset and number of the Rust ABI equals what GCC computes
//! from uapi/famfs_ioctl.h (compiled by build.rs), and the values documented
//! in the reference (famfs-upstream.md, sections 1.2 and 1.3).

use core::mem::{offset_of, size_of};
use famfs_abi::*;

mod common;

extern "C" {
    static famfs_abi_items: [common::Item; 31];
}

fn c_values() -> std::collections::HashMap<String, u64> {
    // SAFETY: The C table (layout.c) is static and ends with a NULL name.
    unsafe { common::c_values(core::ptr::addr_of!(famfs_abi_items).cast()) }
}

#[test]
fn rust_abi_matches_c_header() {
    let c = c_values();
    let rust: &[(&str, u64)] = &[
        ("FAMFS_KABI_VERSION", FAMFS_KABI_VERSION as u64),
        ("FAMFS_SUPER_MAGIC", FAMFS_SUPER_MAGIC as u64),
        ("FAMFS_MAX_EXTENTS", FAMFS_MAX_EXTENTS as u64),
        ("FAMFS_MAX_STRIPS", FAMFS_MAX_STRIPS as u64),
        (
            "FAMFS_IOC_MAX_INTERLEAVED_EXTENTS",
            FAMFS_IOC_MAX_INTERLEAVED_EXTENTS as u64,
        ),
        ("FAMFSIOC_MAP_CREATE", FAMFSIOC_MAP_CREATE as u64),
        ("FAMFSIOC_MAP_GET", FAMFSIOC_MAP_GET as u64),
        ("FAMFSIOC_MAP_GETEXT", FAMFSIOC_MAP_GETEXT as u64),
        ("FAMFSIOC_NOP", FAMFSIOC_NOP as u64),
        ("FAMFSIOC_MAP_CREATE_V2", FAMFSIOC_MAP_CREATE_V2 as u64),
        ("FAMFSIOC_MAP_GET_V2", FAMFSIOC_MAP_GET_V2 as u64),
        ("sizeof famfs_extent", size_of::<FamfsExtent>() as u64),
        ("sizeof famfs_ioc_map", size_of::<FamfsIocMap>() as u64),
        (
            "offsetof famfs_ioc_map.file_type",
            offset_of!(FamfsIocMap, file_type) as u64,
        ),
        (
            "offsetof famfs_ioc_map.file_size",
            offset_of!(FamfsIocMap, file_size) as u64,
        ),
        (
            "offsetof famfs_ioc_map.ext_list_count",
            offset_of!(FamfsIocMap, ext_list_count) as u64,
        ),
        (
            "offsetof famfs_ioc_map.ext_list",
            offset_of!(FamfsIocMap, ext_list) as u64,
        ),
        (
            "sizeof famfs_ioc_simple_extent",
            size_of::<FamfsIocSimpleExtent>() as u64,
        ),
        (
            "sizeof famfs_ioc_interleaved_ext",
            size_of::<FamfsIocInterleavedExt>() as u64,
        ),
        (
            "offsetof famfs_ioc_interleaved_ext.ie_strips",
            offset_of!(FamfsIocInterleavedExt, ie_strips) as u64,
        ),
        ("sizeof famfs_ioc_fmap", size_of::<FamfsIocFmap>() as u64),
        (
            "offsetof famfs_ioc_fmap.fioc_file_type",
            offset_of!(FamfsIocFmap, fioc_file_type) as u64,
        ),
        (
            "offsetof famfs_ioc_fmap.fioc_ext_type",
            offset_of!(FamfsIocFmap, fioc_ext_type) as u64,
        ),
        (
            "offsetof famfs_ioc_fmap.fioc_nextents",
            (offset_of!(FamfsIocFmap, ext) + offset_of!(FamfsIocFmapSimple, fioc_nextents)) as u64,
        ),
        (
            "offsetof famfs_ioc_fmap.kse",
            (offset_of!(FamfsIocFmap, ext) + offset_of!(FamfsIocFmapSimple, kse)) as u64,
        ),
        (
            "offsetof famfs_ioc_fmap.fioc_niext",
            (offset_of!(FamfsIocFmap, ext) + offset_of!(FamfsIocFmapInterleave, fioc_niext)) as u64,
        ),
        (
            "offsetof famfs_ioc_fmap.kie",
            (offset_of!(FamfsIocFmap, ext) + offset_of!(FamfsIocFmapInterleave, kie)) as u64,
        ),
        (
            "sizeof famfs_ioc_get_fmap",
            size_of::<FamfsIocGetFmap>() as u64,
        ),
        (
            "offsetof famfs_ioc_get_fmap.ikse",
            offset_of!(FamfsIocGetFmap, body) as u64,
        ),
        (
            "offsetof famfs_ioc_get_fmap.ks.ikie",
            (offset_of!(FamfsIocGetFmap, body) + offset_of!(FamfsIocGetFmapInterleaved, ikie))
                as u64,
        ),
        (
            "offsetof famfs_ioc_get_fmap.ks.kie_strips",
            (offset_of!(FamfsIocGetFmap, body) + offset_of!(FamfsIocGetFmapInterleaved, kie_strips))
                as u64,
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
    assert_eq!(FAMFSIOC_NOP, 0x7553);
    assert_eq!(FAMFSIOC_MAP_CREATE, 0x40387550);
    assert_eq!(FAMFSIOC_MAP_GET, 0x80387551);
    assert_eq!(FAMFSIOC_MAP_GETEXT, 0x80107552);
    assert_eq!(FAMFSIOC_MAP_CREATE_V2, 0x40207554);
    assert_eq!(FAMFSIOC_MAP_GET_V2, 0x81c07555);
    assert_eq!(size_of::<FamfsIocMap>(), 56);
    assert_eq!(size_of::<FamfsIocFmap>(), 32);
    assert_eq!(size_of::<FamfsIocGetFmap>(), 448);
    assert_eq!(size_of::<FamfsIocSimpleExtent>(), 24);
    assert_eq!(size_of::<FamfsIocInterleavedExt>(), 32);
}
