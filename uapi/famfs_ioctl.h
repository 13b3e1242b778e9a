/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * famfs ioctl ABI, KABI version 43.
 *
 * Written for this project; binary-compatible with the public famfs user
 * space at KABI 43 (same names, sizes, offsets and ioctl numbers), so either
 * side can be replaced by the other. All ioctls are issued on an open file
 * inside a famfs mount.
 *
 * Two generations of map ioctls coexist:
 *  - v1 (FAMFSIOC_MAP_CREATE/MAP_GET/MAP_GETEXT): a fixed 56-byte map with up
 *    to FAMFS_MAX_EXTENTS simple extents inline.
 *  - v2 (FAMFSIOC_MAP_CREATE_V2/MAP_GET_V2): simple or interleaved extents;
 *    MAP_CREATE_V2 passes the extent arrays by user pointer, MAP_GET_V2
 *    returns them inline in a fixed 448-byte structure.
 *
 * Interleaved extents: an interleaved extent spreads a file across
 * ie_nstrips strips (simple extents, each on its own memory range). The file
 * is laid out in chunks of ie_chunk_size bytes: chunk k of the extent lives in
 * strip (k % ie_nstrips) at strip offset (k / ie_nstrips) * ie_chunk_size.
 * ie_nbytes is the number of file bytes the interleaved extent covers.
 */
#ifndef _UAPI_LINUX_FAMFS_IOCTL_H
#define _UAPI_LINUX_FAMFS_IOCTL_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define FAMFS_KABI_VERSION 43

/* statfs f_type of a famfs mount, also the on-media superblock magic. */
#define FAMFS_SUPER_MAGIC 0x87b282ff

#define FAMFS_MAX_EXTENTS 2			/* v1 map: inline extents */
#define FAMFS_MAX_STRIPS 16			/* strips per interleaved extent */
#define FAMFS_IOC_MAX_INTERLEAVED_EXTENTS 4	/* interleaved extents per file */

/* What a file is to famfs. */
enum famfs_file_type {
	FAMFS_REG,		/* ordinary data file */
	FAMFS_SUPERBLOCK,	/* the superblock file (may map offset 0) */
	FAMFS_LOG,		/* the metadata log file */
};

/* ---- v1 map (FAMFSIOC_MAP_CREATE, MAP_GET, MAP_GETEXT) ---- */

enum famfs_extent_type {
	SIMPLE_DAX_EXTENT,
	INTERLEAVED_EXTENT,
	INVALID_EXTENT_TYPE,
};

/* One contiguous range of the dax device, in bytes. */
struct famfs_extent {
	__u64 offset;
	__u64 len;
};

struct famfs_ioc_map {
	enum famfs_extent_type extent_type;
	enum famfs_file_type file_type;
	__u64 file_size;
	__u64 ext_list_count;
	struct famfs_extent ext_list[FAMFS_MAX_EXTENTS];
};

/* ---- v2 map (FAMFSIOC_MAP_CREATE_V2, MAP_GET_V2) ---- */

enum famfs_ioc_ext_type {
	FAMFS_IOC_EXT_SIMPLE,
	FAMFS_IOC_EXT_INTERLEAVE,
};

struct famfs_ioc_simple_extent {
	__u64 devindex;		/* must be 0: one device per mount */
	__u64 offset;
	__u64 len;
};

struct famfs_ioc_interleaved_ext {
	__u64 ie_nstrips;
	__u64 ie_chunk_size;
	__u64 ie_nbytes;
	struct famfs_ioc_simple_extent *ie_strips;	/* user pointer */
};

struct famfs_ioc_fmap {
	__u64 fioc_file_size;
	enum famfs_file_type fioc_file_type;
	__u32 fioc_ext_type;		/* enum famfs_ioc_ext_type */
	union {
		struct {		/* FAMFS_IOC_EXT_SIMPLE */
			__u32 fioc_nextents;
			struct famfs_ioc_simple_extent *kse;	/* user pointer */
		};
		struct {		/* FAMFS_IOC_EXT_INTERLEAVE */
			__u32 fioc_niext;
			struct famfs_ioc_interleaved_ext *kie;	/* user pointer */
		};
	};
};

/* What MAP_GET_V2 returns: the map with its extents inline. */
struct famfs_ioc_get_fmap {
	struct famfs_ioc_fmap iocmap;
	union {
		struct famfs_ioc_simple_extent ikse[FAMFS_MAX_EXTENTS];
		struct {
			struct famfs_ioc_interleaved_ext ikie;
			struct famfs_ioc_simple_extent kie_strips[FAMFS_MAX_STRIPS];
		} ks;
	};
};

#define FAMFSIOC_MAGIC 'u'

#define FAMFSIOC_MAP_CREATE	_IOW(FAMFSIOC_MAGIC, 0x50, struct famfs_ioc_map)
#define FAMFSIOC_MAP_GET	_IOR(FAMFSIOC_MAGIC, 0x51, struct famfs_ioc_map)
/* Encodes one extent's size but copies ext_list_count extents out. */
#define FAMFSIOC_MAP_GETEXT	_IOR(FAMFSIOC_MAGIC, 0x52, struct famfs_extent)
#define FAMFSIOC_NOP		_IO(FAMFSIOC_MAGIC,  0x53)
#define FAMFSIOC_MAP_CREATE_V2	_IOW(FAMFSIOC_MAGIC, 0x54, struct famfs_ioc_fmap)
#define FAMFSIOC_MAP_GET_V2	_IOR(FAMFSIOC_MAGIC, 0x55, struct famfs_ioc_get_fmap)

#endif /* _UAPI_LINUX_FAMFS_IOCTL_H */
