/* SPDX-License-Identifier: GPL-2.0 */
/* Input to bindgen: the kernel headers famfs needs beyond kernel::bindings. */
#include <linux/fs.h>
#include <linux/fs_context.h>
#include <linux/fs_parser.h>
#include <linux/iomap.h>
#include <linux/dax.h>
#include <linux/statfs.h>
#include "famfs_glue.h"
