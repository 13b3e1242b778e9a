/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * famfs ioctl ABI, KABI version 44: several dax devices per mount and a
 * self-describing map message.
 *
 * Written for this project; binary-compatible with the 2026 standalone famfs
 * kernel series at KABI 44 (same structure layouts and ioctl numbers). A famfs
 * module serves this generation and KABI 43 (famfs_ioctl.h) side by side: the
 * command numbers of the two never coincide, so each call says which
 * generation it speaks.
 *
 * Names. The two generations use different names for everything: the
 * structures here have names KABI 43 does not use, and every macro starts
 * with FAMFS44_. A program that includes both headers therefore cannot take
 * a KABI 43 number for a KABI 44 one, or the other way round; a program
 * written against the upstream KABI 44 header (which reuses FAMFSIOC_NOP and
 * FAMFSIOC_MAP_CREATE for new numbers) maps its names onto these.
 *
 * The map message (FAMFS44_IOC_MAP_CREATE) is a struct famfs_ioc_fmap_header
 * followed by its records, fmap_size bytes in all (header included, at most
 * FAMFS44_FMAP_MSG_MAX):
 *  - FAMFS44_EXT_SIMPLE: nextents struct famfs_ioc_simple_ext;
 *  - FAMFS44_EXT_INTERLEAVE: nextents times (one struct famfs_ioc_iext, then
 *    its ie_nstrips struct famfs_ioc_simple_ext).
 * Each simple extent names its device by index in the mount's device table:
 * index 0 is the device the file system was mounted from, the others are
 * added with FAMFS44_IOC_DAXDEV_OPEN. The ioctl number encodes only the
 * header's size.
 */
#ifndef _UAPI_LINUX_FAMFS_KABI44_H
#define _UAPI_LINUX_FAMFS_KABI44_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define FAMFS44_KABI_VERSION 44
#define FAMFS44_FMAP_VERSION 1			/* fmap_version of a message */
#define FAMFS44_FMAP_MSG_MAX (4 << 20)		/* largest fmap_size */
#define FAMFS44_MAX_DAXDEVS 64			/* device table entries */

/* ext_type of a map message */
#define FAMFS44_EXT_SIMPLE 0
#define FAMFS44_EXT_INTERLEAVE 1

/* One contiguous range of one device of the mount. */
struct famfs_ioc_simple_ext {
	__u32 se_devindex;	/* in the mount's device table */
	__u32 reserved;		/* 0 */
	__u64 se_offset;
	__u64 se_len;
};

/* An interleaved extent; its ie_nstrips strips follow it in the message. */
struct famfs_ioc_iext {
	__u32 ie_nstrips;
	__u32 ie_chunk_size;
	__u64 ie_nbytes;	/* file bytes this extent covers */
	__u64 reserved;		/* 0 */
};

struct famfs_ioc_fmap_header {
	__u8 file_type;		/* enum famfs_file_type: 0 file, 1 superblock, 2 log */
	__u8 reserved;		/* 0 */
	__u16 fmap_version;	/* FAMFS44_FMAP_VERSION */
	__u32 ext_type;		/* FAMFS44_EXT_* */
	__u32 nextents;
	__u32 fmap_size;	/* bytes of the whole message, header included */
	__u64 file_size;
	__u64 reserved1;	/* 0 */
};

/* FAMFS44_IOC_DAXDEV_OPEN: put the dax device at daxdev_path into slot
 * daxdev_index of the mount's device table (CAP_SYS_RAWIO). */
struct famfs_ioc_daxdev {
	__u64 daxdev_index;
	__u64 daxdev_path;	/* user pointer to the path (need not end in NUL) */
	__u32 daxdev_path_len;	/* bytes at daxdev_path */
	__u32 flags;		/* 0 */
};

/* The mount's permission bits (GET/SET/CLEAR_OPTS). A cleared bit refuses
 * that operation on the mount. */
struct famfs_ioc_opts {
	__u64 opts;
};

#define FAMFS44_OPT_CREATE	(1ULL << 0)
#define FAMFS44_OPT_MKDIR	(1ULL << 1)
#define FAMFS44_OPT_MKNOD	(1ULL << 2)
#define FAMFS44_OPT_SYMLINK	(1ULL << 3)
#define FAMFS44_OPT_LINK	(1ULL << 4)
#define FAMFS44_OPT_UNLINK	(1ULL << 5)	/* unlink of a mapped file */
#define FAMFS44_OPT_RMDIR	(1ULL << 6)
#define FAMFS44_OPT_RENAME	(1ULL << 7)
#define FAMFS44_OPT_CHMOD	(1ULL << 8)
#define FAMFS44_OPT_CHOWN	(1ULL << 9)
#define FAMFS44_OPT_TRUNCATE	(1ULL << 10)
#define FAMFS44_OPT_UTIMES	(1ULL << 11)
#define FAMFS44_OPT_WRITE	(1ULL << 12)
#define FAMFS44_OPT_XATTR	(1ULL << 13)	/* reserved */
#define FAMFS44_OPT_MAP_CREATE	(1ULL << 14)
/* What a new mount allows. */
#define FAMFS44_OPT_DEFAULT (FAMFS44_OPT_CREATE | FAMFS44_OPT_MKDIR | \
			     FAMFS44_OPT_CHMOD | FAMFS44_OPT_CHOWN | \
			     FAMFS44_OPT_UTIMES | FAMFS44_OPT_WRITE | \
			     FAMFS44_OPT_MAP_CREATE)

#define FAMFS44_IOC_MAGIC 'u'

#define FAMFS44_IOC_NOP		_IO(FAMFS44_IOC_MAGIC, 0x50)
#define FAMFS44_IOC_MAP_CREATE	_IOW(FAMFS44_IOC_MAGIC, 0x51, struct famfs_ioc_fmap_header)
#define FAMFS44_IOC_DAXDEV_OPEN	_IOW(FAMFS44_IOC_MAGIC, 0x52, struct famfs_ioc_daxdev)
#define FAMFS44_IOC_GET_OPTS	_IOR(FAMFS44_IOC_MAGIC, 0x53, struct famfs_ioc_opts)
#define FAMFS44_IOC_SET_OPTS	_IOWR(FAMFS44_IOC_MAGIC, 0x54, struct famfs_ioc_opts)
#define FAMFS44_IOC_CLEAR_OPTS	_IOWR(FAMFS44_IOC_MAGIC, 0x55, struct famfs_ioc_opts)

/*
 * This project's addition to KABI 44 (not in the reference series, numbered
 * apart from both generations): read a file's map back as a map message.
 * The caller passes a buffer that starts with a struct
 * famfs_ioc_fmap_header whose fmap_size says how large the buffer is (at
 * least the header). If the message fits, the whole message is written
 * there (its fmap_size is then the message's length); if not, only the
 * header is written, its fmap_size the length needed, and the call fails
 * with ERANGE. A file without a map gives ENODATA.
 */
#define FAMFS44_IOC_MAP_GET	_IOWR(FAMFS44_IOC_MAGIC, 0x5a, struct famfs_ioc_fmap_header)

/*
 * Also ours (numbered beside MAP_GET): read back one entry of the mount's
 * device table. The caller sets index (0 to FAMFS44_MAX_DAXDEVS - 1); the
 * module fills in the rest and writes the whole structure back, index
 * untouched. Anyone who can open a file or directory of the mount may ask.
 * A slot without a device reads as zeroes after index: size 0, state 0,
 * no name.
 * An occupied slot has FAMFS44_DAXDEV_PRESENT in state, and also
 * FAMFS44_DAXDEV_FAILED once the device reported a memory failure or was
 * removed while mounted. name is the device's kernel name, the one the
 * module uses in its log lines ("dax1.0", "pmem0"), NUL-terminated and
 * zero-padded (cut to 31 bytes if longer). An index of 64 or more gives
 * EINVAL.
 */
struct famfs_ioc_daxdev_info {
	__u64 index;		/* in: the table slot */
	__u64 size;		/* out: the device's bytes; 0 for an empty slot */
	__u32 state;		/* out: FAMFS44_DAXDEV_* bits; 0 for an empty slot */
	__u32 pud_phase;	/* out: device offset mod 1 GiB where memory is 1 GiB aligned */
	char name[32];		/* out: the device's name, NUL-terminated */
};

#define FAMFS44_DAXDEV_PRESENT	(1U << 0)	/* the slot holds a device */
#define FAMFS44_DAXDEV_FAILED	(1U << 1)	/* the device has failed */

#define FAMFS44_IOC_DAXDEV_GET	_IOWR(FAMFS44_IOC_MAGIC, 0x5b, struct famfs_ioc_daxdev_info)

#endif /* _UAPI_LINUX_FAMFS_KABI44_H */
