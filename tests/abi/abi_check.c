// SPDX-License-Identifier: GPL-2.0
/*
 * Compile-time check of uapi/famfs_ioctl.h against the KABI 43 facts
 * (struct sizes and offsets on x86-64, ioctl numbers) documented for the
 * public famfs user space. Every name of the header is used. Built by
 * make check with: gcc -std=gnu11 -Wall -Werror -Iuapi -c -o /dev/null
 */
#include <assert.h>
#include <stddef.h>
#include "famfs_ioctl.h"

static_assert(FAMFS_KABI_VERSION == 43, "KABI");
static_assert(FAMFS_MAX_EXTENTS == 2, "v1 extents");
static_assert(FAMFS_MAX_STRIPS == 16, "strips");
static_assert(FAMFS_IOC_MAX_INTERLEAVED_EXTENTS == 4, "interleaved extents");

static_assert(FAMFS_REG == 0 && FAMFS_SUPERBLOCK == 1 && FAMFS_LOG == 2, "file types");
static_assert(SIMPLE_DAX_EXTENT == 0 && INTERLEAVED_EXTENT == 1 && INVALID_EXTENT_TYPE == 2,
	      "extent types");
static_assert(FAMFS_IOC_EXT_SIMPLE == 0 && FAMFS_IOC_EXT_INTERLEAVE == 1, "ioc ext types");

static_assert(sizeof(struct famfs_extent) == 16, "famfs_extent");
static_assert(offsetof(struct famfs_extent, offset) == 0, "");
static_assert(offsetof(struct famfs_extent, len) == 8, "");

static_assert(sizeof(struct famfs_ioc_map) == 56, "famfs_ioc_map");
static_assert(offsetof(struct famfs_ioc_map, extent_type) == 0, "");
static_assert(offsetof(struct famfs_ioc_map, file_type) == 4, "");
static_assert(offsetof(struct famfs_ioc_map, file_size) == 8, "");
static_assert(offsetof(struct famfs_ioc_map, ext_list_count) == 16, "");
static_assert(offsetof(struct famfs_ioc_map, ext_list) == 24, "");

static_assert(sizeof(struct famfs_ioc_simple_extent) == 24, "simple extent");
static_assert(offsetof(struct famfs_ioc_simple_extent, devindex) == 0, "");
static_assert(offsetof(struct famfs_ioc_simple_extent, offset) == 8, "");
static_assert(offsetof(struct famfs_ioc_simple_extent, len) == 16, "");

static_assert(sizeof(struct famfs_ioc_interleaved_ext) == 32, "interleaved ext");
static_assert(offsetof(struct famfs_ioc_interleaved_ext, ie_nstrips) == 0, "");
static_assert(offsetof(struct famfs_ioc_interleaved_ext, ie_chunk_size) == 8, "");
static_assert(offsetof(struct famfs_ioc_interleaved_ext, ie_nbytes) == 16, "");
static_assert(offsetof(struct famfs_ioc_interleaved_ext, ie_strips) == 24, "");

static_assert(sizeof(struct famfs_ioc_fmap) == 32, "famfs_ioc_fmap");
static_assert(offsetof(struct famfs_ioc_fmap, fioc_file_size) == 0, "");
static_assert(offsetof(struct famfs_ioc_fmap, fioc_file_type) == 8, "");
static_assert(offsetof(struct famfs_ioc_fmap, fioc_ext_type) == 12, "");
static_assert(offsetof(struct famfs_ioc_fmap, fioc_nextents) == 16, "");
static_assert(offsetof(struct famfs_ioc_fmap, kse) == 24, "");
static_assert(offsetof(struct famfs_ioc_fmap, fioc_niext) == 16, "");
static_assert(offsetof(struct famfs_ioc_fmap, kie) == 24, "");

static_assert(sizeof(struct famfs_ioc_get_fmap) == 448, "famfs_ioc_get_fmap");
static_assert(offsetof(struct famfs_ioc_get_fmap, iocmap) == 0, "");
static_assert(offsetof(struct famfs_ioc_get_fmap, ikse) == 32, "");
static_assert(offsetof(struct famfs_ioc_get_fmap, ks.ikie) == 32, "");
static_assert(offsetof(struct famfs_ioc_get_fmap, ks.kie_strips) == 64, "");

static_assert(FAMFSIOC_MAGIC == 'u', "magic");
static_assert(FAMFSIOC_MAP_CREATE == 0x40387550, "MAP_CREATE");
static_assert(FAMFSIOC_MAP_GET == 0x80387551, "MAP_GET");
static_assert(FAMFSIOC_MAP_GETEXT == 0x80107552, "MAP_GETEXT");
static_assert(FAMFSIOC_NOP == 0x7553, "NOP");
static_assert(FAMFSIOC_MAP_CREATE_V2 == 0x40207554, "MAP_CREATE_V2");
static_assert(FAMFSIOC_MAP_GET_V2 == 0x81c07555, "MAP_GET_V2");
