// SPDX-License-Identifier: GPL-2.0
/*
 * What GCC makes of uapi/famfs_kabi44.h, for the famfs-abi crate's tests.
 * Both generations' headers are included: they must live side by side
 * (the module serves both), which this file only compiles if they do.
 */
#include "layout.h"
#include "famfs_ioctl.h"
#include "famfs_kabi44.h"

const struct famfs_abi_item famfs_abi44_items[] = {
	ITEM("FAMFS44_KABI_VERSION", FAMFS44_KABI_VERSION),
	ITEM("FAMFS44_FMAP_VERSION", FAMFS44_FMAP_VERSION),
	ITEM("FAMFS44_FMAP_MSG_MAX", FAMFS44_FMAP_MSG_MAX),
	ITEM("FAMFS44_MAX_DAXDEVS", FAMFS44_MAX_DAXDEVS),
	ITEM("FAMFS44_EXT_SIMPLE", FAMFS44_EXT_SIMPLE),
	ITEM("FAMFS44_EXT_INTERLEAVE", FAMFS44_EXT_INTERLEAVE),
	ITEM("FAMFS44_OPT_CREATE", FAMFS44_OPT_CREATE),
	ITEM("FAMFS44_OPT_MKDIR", FAMFS44_OPT_MKDIR),
	ITEM("FAMFS44_OPT_MKNOD", FAMFS44_OPT_MKNOD),
	ITEM("FAMFS44_OPT_SYMLINK", FAMFS44_OPT_SYMLINK),
	ITEM("FAMFS44_OPT_LINK", FAMFS44_OPT_LINK),
	ITEM("FAMFS44_OPT_UNLINK", FAMFS44_OPT_UNLINK),
	ITEM("FAMFS44_OPT_RMDIR", FAMFS44_OPT_RMDIR),
	ITEM("FAMFS44_OPT_RENAME", FAMFS44_OPT_RENAME),
	ITEM("FAMFS44_OPT_CHMOD", FAMFS44_OPT_CHMOD),
	ITEM("FAMFS44_OPT_CHOWN", FAMFS44_OPT_CHOWN),
	ITEM("FAMFS44_OPT_TRUNCATE", FAMFS44_OPT_TRUNCATE),
	ITEM("FAMFS44_OPT_UTIMES", FAMFS44_OPT_UTIMES),
	ITEM("FAMFS44_OPT_WRITE", FAMFS44_OPT_WRITE),
	ITEM("FAMFS44_OPT_XATTR", FAMFS44_OPT_XATTR),
	ITEM("FAMFS44_OPT_MAP_CREATE", FAMFS44_OPT_MAP_CREATE),
	ITEM("FAMFS44_OPT_DEFAULT", FAMFS44_OPT_DEFAULT),
	ITEM("FAMFS44_IOC_NOP", FAMFS44_IOC_NOP),
	ITEM("FAMFS44_IOC_MAP_CREATE", FAMFS44_IOC_MAP_CREATE),
	ITEM("FAMFS44_IOC_DAXDEV_OPEN", FAMFS44_IOC_DAXDEV_OPEN),
	ITEM("FAMFS44_IOC_GET_OPTS", FAMFS44_IOC_GET_OPTS),
	ITEM("FAMFS44_IOC_SET_OPTS", FAMFS44_IOC_SET_OPTS),
	ITEM("FAMFS44_IOC_CLEAR_OPTS", FAMFS44_IOC_CLEAR_OPTS),
	ITEM("FAMFS44_IOC_MAP_GET", FAMFS44_IOC_MAP_GET),
	ITEM("sizeof famfs_ioc_simple_ext", sizeof(struct famfs_ioc_simple_ext)),
	ITEM("offsetof famfs_ioc_simple_ext.se_offset", offsetof(struct famfs_ioc_simple_ext, se_offset)),
	ITEM("offsetof famfs_ioc_simple_ext.se_len", offsetof(struct famfs_ioc_simple_ext, se_len)),
	ITEM("sizeof famfs_ioc_iext", sizeof(struct famfs_ioc_iext)),
	ITEM("offsetof famfs_ioc_iext.ie_chunk_size", offsetof(struct famfs_ioc_iext, ie_chunk_size)),
	ITEM("offsetof famfs_ioc_iext.ie_nbytes", offsetof(struct famfs_ioc_iext, ie_nbytes)),
	ITEM("sizeof famfs_ioc_fmap_header", sizeof(struct famfs_ioc_fmap_header)),
	ITEM("offsetof famfs_ioc_fmap_header.fmap_version", offsetof(struct famfs_ioc_fmap_header, fmap_version)),
	ITEM("offsetof famfs_ioc_fmap_header.ext_type", offsetof(struct famfs_ioc_fmap_header, ext_type)),
	ITEM("offsetof famfs_ioc_fmap_header.nextents", offsetof(struct famfs_ioc_fmap_header, nextents)),
	ITEM("offsetof famfs_ioc_fmap_header.fmap_size", offsetof(struct famfs_ioc_fmap_header, fmap_size)),
	ITEM("offsetof famfs_ioc_fmap_header.file_size", offsetof(struct famfs_ioc_fmap_header, file_size)),
	ITEM("offsetof famfs_ioc_fmap_header.reserved1", offsetof(struct famfs_ioc_fmap_header, reserved1)),
	ITEM("sizeof famfs_ioc_daxdev", sizeof(struct famfs_ioc_daxdev)),
	ITEM("offsetof famfs_ioc_daxdev.daxdev_path", offsetof(struct famfs_ioc_daxdev, daxdev_path)),
	ITEM("offsetof famfs_ioc_daxdev.daxdev_path_len", offsetof(struct famfs_ioc_daxdev, daxdev_path_len)),
	ITEM("offsetof famfs_ioc_daxdev.flags", offsetof(struct famfs_ioc_daxdev, flags)),
	ITEM("sizeof famfs_ioc_opts", sizeof(struct famfs_ioc_opts)),
	{ NULL, 0 },
};
