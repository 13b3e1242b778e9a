/* SPDX-License-Identifier: GPL-2.0 */
/* Input to bindgen: the kernel headers famfs needs beyond kernel::bindings. */
#include <linux/fs.h>
#include <linux/fs_context.h>
#include <linux/fs_parser.h>
#include <linux/iomap.h>
#include <linux/dax.h>
#include <linux/statfs.h>
#include "famfs_glue.h"
#include "uapi/famfs_ioctl.h"
#include "uapi/famfs_kabi44.h"

/*
 * Constants the C headers define as macros with casts or BIT(), which bindgen
 * cannot evaluate; the initialisers are evaluated by libclang instead.
 */
const fmode_t FAMFS_CONST_FMODE_WRITE = FMODE_WRITE;
const fmode_t FAMFS_CONST_FMODE_CREATED = FMODE_CREATED;
const unsigned long FAMFS_CONST_SB_RDONLY = SB_RDONLY;
