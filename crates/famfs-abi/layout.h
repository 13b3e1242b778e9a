/* SPDX-License-Identifier: GPL-2.0 */
/* The item tables layout.c and layout44.c give the famfs-abi tests. */
#ifndef FAMFS_ABI_LAYOUT_H
#define FAMFS_ABI_LAYOUT_H

#include <stddef.h>

#define ITEM(name, value) { name, (unsigned long long)(value) }

struct famfs_abi_item {
	const char *name;
	unsigned long long value;
};

#endif
