// SPDX-License-Identifier: GPL-2.0
/* What GCC makes of uapi/famfs_ioctl.h, for the famfs-abi crate's tests. */
#include "layout.h"
#include "famfs_ioctl.h"

const struct famfs_abi_item famfs_abi_items[] = {
	ITEM("FAMFS_KABI_VERSION", FAMFS_KABI_VERSION),
	ITEM("FAMFS_SUPER_MAGIC", FAMFS_SUPER_MAGIC),
	ITEM("FAMFS_MAX_EXTENTS", FAMFS_MAX_EXTENTS),
	ITEM("FAMFS_MAX_STRIPS", FAMFS_MAX_STRIPS),
	ITEM("FAMFS_IOC_MAX_INTERLEAVED_EXTENTS", FAMFS_IOC_MAX_INTERLEAVED_EXTENTS),
	ITEM("FAMFSIOC_MAP_CREATE", FAMFSIOC_MAP_CREATE),
	ITEM("FAMFSIOC_MAP_GET", FAMFSIOC_MAP_GET),
	ITEM("FAMFSIOC_MAP_GETEXT", FAMFSIOC_MAP_GETEXT),
	ITEM("FAMFSIOC_NOP", FAMFSIOC_NOP),
	ITEM("FAMFSIOC_MAP_CREATE_V2", FAMFSIOC_MAP_CREATE_V2),
	ITEM("FAMFSIOC_MAP_GET_V2", FAMFSIOC_MAP_GET_V2),
	ITEM("sizeof famfs_extent", sizeof(struct famfs_extent)),
	ITEM("sizeof famfs_ioc_map", sizeof(struct famfs_ioc_map)),
	ITEM("offsetof famfs_ioc_map.file_type", offsetof(struct famfs_ioc_map, file_type)),
	ITEM("offsetof famfs_ioc_map.file_size", offsetof(struct famfs_ioc_map, file_size)),
	ITEM("offsetof famfs_ioc_map.ext_list_count", offsetof(struct famfs_ioc_map, ext_list_count)),
	ITEM("offsetof famfs_ioc_map.ext_list", offsetof(struct famfs_ioc_map, ext_list)),
	ITEM("sizeof famfs_ioc_simple_extent", sizeof(struct famfs_ioc_simple_extent)),
	ITEM("sizeof famfs_ioc_interleaved_ext", sizeof(struct famfs_ioc_interleaved_ext)),
	ITEM("offsetof famfs_ioc_interleaved_ext.ie_strips", offsetof(struct famfs_ioc_interleaved_ext, ie_strips)),
	ITEM("sizeof famfs_ioc_fmap", sizeof(struct famfs_ioc_fmap)),
	ITEM("offsetof famfs_ioc_fmap.fioc_file_type", offsetof(struct famfs_ioc_fmap, fioc_file_type)),
	ITEM("offsetof famfs_ioc_fmap.fioc_ext_type", offsetof(struct famfs_ioc_fmap, fioc_ext_type)),
	ITEM("offsetof famfs_ioc_fmap.fioc_nextents", offsetof(struct famfs_ioc_fmap, fioc_nextents)),
	ITEM("offsetof famfs_ioc_fmap.kse", offsetof(struct famfs_ioc_fmap, kse)),
	ITEM("offsetof famfs_ioc_fmap.fioc_niext", offsetof(struct famfs_ioc_fmap, fioc_niext)),
	ITEM("offsetof famfs_ioc_fmap.kie", offsetof(struct famfs_ioc_fmap, kie)),
	ITEM("sizeof famfs_ioc_get_fmap", sizeof(struct famfs_ioc_get_fmap)),
	ITEM("offsetof famfs_ioc_get_fmap.ikse", offsetof(struct famfs_ioc_get_fmap, ikse)),
	ITEM("offsetof famfs_ioc_get_fmap.ks.ikie", offsetof(struct famfs_ioc_get_fmap, ks.ikie)),
	ITEM("offsetof famfs_ioc_get_fmap.ks.kie_strips", offsetof(struct famfs_ioc_get_fmap, ks.kie_strips)),
	{ NULL, 0 },
};
