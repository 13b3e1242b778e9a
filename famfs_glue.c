// SPDX-License-Identifier: GPL-2.0
/*
 * famfs C glue. Logic lives in the Rust crate (famfs_main.rs and friends);
 * this file only wraps what Rust cannot call directly.
 */
#include <linux/blkdev.h>
#include <linux/cdev.h>
#include <linux/dax.h>
#include <linux/device.h>
#include <linux/fs.h>
#include <linux/fs_context.h>
#include <linux/fs_parser.h>
#include <linux/iomap.h>
#include <linux/huge_mm.h>
#include <linux/kobject.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/pagemap.h>
#include <linux/sysfs.h>
#include <linux/uio.h>
#include <linux/anon_inodes.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pfn.h>
#include <linux/sched/mm.h>
#include <linux/namei.h>
#include <linux/ratelimit.h>
#include <linux/slab.h>
#include "famfs_glue.h"
#include "uapi/famfs_ioctl.h"

/*
 * Rust's module! macro registers parameters without sysfs permissions, and
 * user space reads the KABI version from sysfs, so the parameters live here.
 */
static int famfs_kabi_version = FAMFS_KABI_VERSION;
module_param(famfs_kabi_version, int, 0444);
MODULE_PARM_DESC(famfs_kabi_version, "famfs ioctl ABI version (read-only)");

#ifdef FAMFS_TEST_HOOKS
/* The test build only (make FAMFS_TEST_HOOKS=1): never in the product. */
static unsigned int test_inject;
module_param(test_inject, uint, 0444);
MODULE_PARM_DESC(test_inject,
	"Test-only fault injection at load: 1=WARN, 2=leak four 64-byte objects, 4=failing KUnit case, "
	"8=out-of-bounds read in C, 16=shift out of bounds in C, 32=out-of-bounds read in Rust");

unsigned int famfs_glue_test_inject(void)
{
	return READ_ONCE(test_inject);
}

void famfs_glue_inject_warn(void)
{
	WARN(1, "famfs: test_inject: deliberate warning for the test harness\n");
}

void famfs_glue_inject_leak(void)
{
	int i;

	/*
	 * Deliberately forgotten: kmemleak must report them. kmemleak cannot
	 * tell a stale copy of a pointer (a spilled register in a stack that
	 * is kept for reuse, say) from a live one, so a single object now and
	 * then went unreported; of these four only the last can linger in
	 * this function's registers, and no address is handed to printk.
	 */
	for (i = 0; i < 4; i++)
		if (!kmalloc(64, GFP_KERNEL))
			break;
	pr_info("famfs: test_inject: leaked %d objects of 64 bytes\n", i);
}

void famfs_glue_inject_oob(void)
{
	/* The index is volatile so that the compiler cannot see the overrun. */
	volatile size_t past_end = 8;
	char *p = kmalloc(8, GFP_KERNEL);

	if (!p)
		return;
	/* Deliberately one byte past the allocation: KASAN must report it. */
	pr_info("famfs: test_inject: out-of-bounds read gave %d\n", READ_ONCE(p[past_end]));
	kfree(p);
}

void famfs_glue_inject_shift(void)
{
	volatile unsigned int shift = 40;

	/* Deliberately undefined (a shift wider than the type): UBSAN must report it. */
	pr_info("famfs: test_inject: shift gave %u\n", 1U << shift);
}
#endif /* FAMFS_TEST_HOOKS */

/*
 * One line in the kernel log for every refused mount, and the same text in
 * the fs_context log when the caller reads it (fsopen/fsconfig users). The
 * kernel log line is rate-limited on its own budget: a loop of bad mounts
 * cannot flood the log, and the usual handful of refusals all show.
 */
static DEFINE_RATELIMIT_STATE(famfs_glue_mount_rs, 5 * HZ, 50);

void famfs_glue_report(struct fs_context *fc, const char *source,
		       const char *what, int err)
{
	if (__ratelimit(&famfs_glue_mount_rs))
		pr_err("famfs: cannot mount %s: %s (%pe)\n",
		       source ? source : "(no source)", what, ERR_PTR(err));
	if (fc && fc->log.log)
		errorfc(fc, "cannot mount %s: %s", source ? source : "(no source)", what);
}

/*
 * Budget for the other messages user input can trigger (refused maps, size
 * changes): the kernel's default of 10 lines per 5 seconds, after which
 * ___ratelimit() reports how many were suppressed.
 */
static DEFINE_RATELIMIT_STATE(famfs_glue_input_rs, DEFAULT_RATELIMIT_INTERVAL,
			      DEFAULT_RATELIMIT_BURST);

bool famfs_glue_log_allowed(void)
{
	return __ratelimit(&famfs_glue_input_rs);
}

/*
 * The public famfs user space decides that the standalone famfs module is
 * loaded by looking in /proc/kallsyms for a symbol of module [famfs] whose
 * name starts with "famfs_create". The Rust functions have mangled names, so
 * this one exists for that lookup alone; nothing calls it.
 */
__used noinline void famfs_create_marker(void)
{
}

/* The file type bits of what @path names (following symlinks). */
int famfs_glue_path_mode(const char *path, umode_t *mode)
{
	struct path p;
	int err;

	err = kern_path(path, LOOKUP_FOLLOW, &p);
	if (err)
		return err;
	*mode = d_backing_inode(p.dentry)->i_mode;
	path_put(&p);
	return 0;
}

/*
 * The dax_device behind an open /dev/daxX.Y, with a reference (put_dax()),
 * or NULL if @file is not a dax character device. Opening the file made the
 * VFS attach the device's cdev to the inode; dax cdevs are embedded in
 * struct dax_device and their kobject parent is the dev_dax device on the
 * "dax" bus, whose devt is the node's. Only then is dax_dev_get() asked for
 * it (it would make up a dax inode for any other number).
 */
static struct dax_device *famfs_glue_file_dax(struct file *file)
{
	struct inode *inode = file_inode(file);
	struct kobject *parent;
	struct device *dev;

	if (!S_ISCHR(inode->i_mode) || !inode->i_cdev)
		return NULL;
	parent = inode->i_cdev->kobj.parent;
	if (!parent)
		return NULL;
	dev = kobj_to_dev(parent);
	if (!dev->bus || strcmp(dev->bus->name, "dax") != 0)
		return NULL;
	if (dev->devt != inode->i_rdev)
		return NULL;
	return dax_dev_get(inode->i_rdev);
}

/*
 * Open the character device at @path and find its dax_device, with a
 * reference the caller drops with put_dax() once it has claimed the device
 * (fs_dax_get() takes its own). -ENODEV if it is not a dax device. @name
 * gets the dev_dax device's own name (dax0.0), whatever the path.
 */
int famfs_glue_open_dax_chrdev(const char *path, struct dax_device **dax_dev,
			       char *name, size_t name_len)
{
	struct file *file = filp_open(path, O_RDWR | O_LARGEFILE, 0);
	struct dax_device *dd;

	if (IS_ERR(file))
		return PTR_ERR(file);
	dd = famfs_glue_file_dax(file);
	if (dd)
		strscpy(name, dev_name(kobj_to_dev(file_inode(file)->i_cdev->kobj.parent)),
			name_len);
	fput(file);
	if (!dd)
		return -ENODEV;
	*dax_dev = dd;
	return 0;
}

/*
 * Size in bytes of a devdax device: the end of its page-offset space, found
 * by bisection with dax_direct_access(), which fails for offsets past the
 * end.
 */
u64 famfs_glue_devdax_size(struct dax_device *dax_dev)
{
	pgoff_t lo = 0, hi = ULONG_MAX >> PAGE_SHIFT;
	u64 size = 0;
	int id = dax_read_lock();

	if (dax_direct_access(dax_dev, 0, 1, DAX_ACCESS, NULL, NULL) > 0) {
		/* Invariant: page lo exists, page hi does not (or hi is the limit). */
		while (hi - lo > 1) {
			pgoff_t mid = lo + (hi - lo) / 2;

			if (dax_direct_access(dax_dev, mid, 1, DAX_ACCESS, NULL, NULL) > 0)
				lo = mid;
			else
				hi = mid;
		}
		size = ((u64)lo + 1) << PAGE_SHIFT;
	}
	dax_read_unlock(id);
	return size;
}

struct file *famfs_glue_bdev_open(const char *path, void *holder)
{
	return bdev_file_open_by_path(path, BLK_OPEN_READ | BLK_OPEN_WRITE,
				      holder, NULL);
}

struct dax_device *famfs_glue_bdev_dax(struct file *bdev_file, u64 *start_off,
				       void *holder,
				       const struct dax_holder_operations *ops)
{
	return fs_dax_get_by_bdev(file_bdev(bdev_file), start_off, holder, ops);
}

/* The block device's own name (pmem0, pmem0p1), whatever the path. */
void famfs_glue_bdev_name(struct file *bdev_file, char *name, size_t name_len)
{
	snprintf(name, name_len, "%pg", file_bdev(bdev_file));
}

u64 famfs_glue_bdev_size(struct file *bdev_file)
{
	return bdev_nr_bytes(file_bdev(bdev_file));
}

void famfs_glue_bdev_release(struct file *bdev_file)
{
	bdev_fput(bdev_file);
}

void famfs_glue_set_root_mode(struct inode *root, umode_t mode)
{
	inode_lock(root);
	root->i_mode = S_IFDIR | (mode & S_IALLUGO);
	inode_set_ctime_current(root);
	inode_unlock(root);
}

void famfs_glue_dir_changed(struct inode *dir)
{
	inode_set_mtime_to_ts(dir, inode_set_ctime_current(dir));
}

size_t famfs_glue_layout(enum famfs_glue_layout_item item)
{
	switch (item) {
	case FAMFS_GLUE_LAYOUT_FS_CONTEXT:
		return sizeof(struct fs_context);
	case FAMFS_GLUE_LAYOUT_FS_CONTEXT_S_FS_INFO:
		return offsetof(struct fs_context, s_fs_info);
	case FAMFS_GLUE_LAYOUT_FS_CONTEXT_OPS:
		return offsetof(struct fs_context, ops);
	case FAMFS_GLUE_LAYOUT_IOMAP:
		return sizeof(struct iomap);
	case FAMFS_GLUE_LAYOUT_IOMAP_OPS:
		return sizeof(struct iomap_ops);
	case FAMFS_GLUE_LAYOUT_HOLDER_OPS:
		return sizeof(struct dax_holder_operations);
	case FAMFS_GLUE_LAYOUT_IOC_GET_FMAP:
		return sizeof(struct famfs_ioc_get_fmap);
	}
	return 0;
}

/* ---- inode helpers (static inlines) ---------------------------------- */

void famfs_glue_inode_lock(struct inode *inode)
{
	inode_lock(inode);
}

void famfs_glue_inode_unlock(struct inode *inode)
{
	inode_unlock(inode);
}

void famfs_glue_inode_lock_shared(struct inode *inode)
{
	inode_lock_shared(inode);
}

void famfs_glue_inode_unlock_shared(struct inode *inode)
{
	inode_unlock_shared(inode);
}

loff_t famfs_glue_i_size_read(const struct inode *inode)
{
	return i_size_read(inode);
}

void famfs_glue_i_size_write(struct inode *inode, loff_t size)
{
	i_size_write(inode, size);
}

/* Marks a regular file as a DAX file (caller holds the inode lock). */
void famfs_glue_set_dax(struct inode *inode)
{
	inode->i_flags |= S_DAX;
}

/*
 * Calls fn(inode, ctx) for every live inode of @sb, holding a reference on
 * it and no lock (the walk of drop_pagecache_sb(): the previous inode is put
 * only after the list lock is dropped, which keeps the cursor valid). Inodes
 * being set up or torn down are skipped.
 */
void famfs_glue_for_each_inode(struct super_block *sb,
			       int (*fn)(struct inode *inode, void *ctx), void *ctx)
{
	struct inode *inode, *toput = NULL;

	spin_lock(&sb->s_inode_list_lock);
	list_for_each_entry(inode, &sb->s_inodes, i_sb_list) {
		spin_lock(&inode->i_lock);
		if (inode_state_read(inode) & (I_FREEING | I_WILL_FREE | I_NEW)) {
			spin_unlock(&inode->i_lock);
			continue;
		}
		__iget(inode);
		spin_unlock(&inode->i_lock);
		spin_unlock(&sb->s_inode_list_lock);

		fn(inode, ctx);
		iput(toput);
		toput = inode;

		cond_resched();
		spin_lock(&sb->s_inode_list_lock);
	}
	spin_unlock(&sb->s_inode_list_lock);
	iput(toput);
}

/* The mapping's invalidate lock: faults hold it shared. */
void famfs_glue_invalidate_lock(struct inode *inode)
{
	filemap_invalidate_lock(inode->i_mapping);
}

void famfs_glue_invalidate_unlock(struct inode *inode)
{
	filemap_invalidate_unlock(inode->i_mapping);
}

/* Called from ->evict_inode: DAX files must break their layouts first. */
void famfs_glue_evict(struct inode *inode)
{
	if (IS_DAX(inode))
		dax_break_layout_final(inode);
	truncate_inode_pages_final(&inode->i_data);
	clear_inode(inode);
}

/* ---- read/write helpers ---------------------------------------------- */

size_t famfs_glue_iov_iter_count(const struct iov_iter *iter)
{
	return iov_iter_count(iter);
}

void famfs_glue_iov_iter_truncate(struct iov_iter *iter, u64 count)
{
	iov_iter_truncate(iter, count);
}

/* ---- mmap and faults ------------------------------------------------- */

void famfs_glue_mmap_setup(struct file *file, struct vm_area_struct *vma,
			   const struct vm_operations_struct *ops)
{
	file_accessed(file);
	vma->vm_ops = ops;
	vm_flags_set(vma, VM_HUGEPAGE);
}

/* ---- PFN mappings (the pfnmap mount option) --------------------------- */

/*
 * The DAX core maps at most 2 MiB per entry, and a raw-PFN 1 GiB entry
 * cannot live in a DAX VMA: the memory manager's PUD split and unmap code
 * treats every PUD of a DAX VMA as a folio it holds a reference on. So a
 * shared mapping in pfnmap mode is moved onto a *shadow file*: an anonymous
 * inode of its own (not S_DAX), whose VMAs are VM_PFNMAP and get raw PFN
 * entries of 4 KiB, 2 MiB or 1 GiB from our fault handler. The memory
 * manager handles such VMAs as it does the huge PFN maps of device drivers
 * (fork copies the entries, split and partial unmap clear them, and the
 * next access faults again).
 *
 * Each shadow file holds a reference on the famfs file that was mapped (so
 * the inode and the mount stay busy, exactly as with an ordinary mapping),
 * and sits on a list so that invalidation of the famfs inode (a size
 * change, a memory failure, a device going away) can zap the shadow
 * mappings as well as the inode's own.
 */
struct famfs_glue_shadow {
	struct list_head node;
	struct file *famfs_file;	/* the mapped famfs file (a reference) */
	struct address_space *mapping;	/* the shadow file's mapping */
};

static LIST_HEAD(famfs_glue_shadows);
static DEFINE_MUTEX(famfs_glue_shadows_lock);

static int famfs_glue_shadow_release(struct inode *inode, struct file *file)
{
	struct famfs_glue_shadow *sh = file->private_data;

	mutex_lock(&famfs_glue_shadows_lock);
	list_del(&sh->node);
	mutex_unlock(&famfs_glue_shadows_lock);
	fput(sh->famfs_file);
	kfree(sh);
	return 0;
}

static const struct file_operations famfs_glue_shadow_fops = {
	.owner = THIS_MODULE,
	.release = famfs_glue_shadow_release,
};

/* The famfs file a VMA maps: its own file, or the one behind its shadow. */
static struct file *famfs_glue_vma_file(const struct vm_area_struct *vma)
{
	struct file *file = vma->vm_file;

	if (file->f_op == &famfs_glue_shadow_fops)
		return ((struct famfs_glue_shadow *)file->private_data)->famfs_file;
	return file;
}

/*
 * Moves a new shared VMA of @file onto a shadow file, in pfnmap mode. Called
 * from ->mmap with the mmap lock held for writing, before the VMA is linked
 * anywhere: the memory manager links it to the shadow's mapping afterwards.
 */
int famfs_glue_mmap_pfn_setup(struct file *file, struct vm_area_struct *vma,
			      const struct vm_operations_struct *ops)
{
	struct famfs_glue_shadow *sh;
	struct file *shadow;

	if (!famfs_glue_vma_is_shared(vma) || vma_is_cow_mapping(vma))
		return -EINVAL;
	sh = kzalloc(sizeof(*sh), GFP_KERNEL);
	if (!sh)
		return -ENOMEM;
	INIT_LIST_HEAD(&sh->node);
	sh->famfs_file = get_file(file);
	shadow = anon_inode_create_getfile("[famfs-pfnmap]", &famfs_glue_shadow_fops,
					   sh, O_RDWR, NULL);
	if (IS_ERR(shadow)) {
		fput(file);
		kfree(sh);
		return PTR_ERR(shadow);
	}
	sh->mapping = shadow->f_mapping;
	mutex_lock(&famfs_glue_shadows_lock);
	list_add(&sh->node, &famfs_glue_shadows);
	mutex_unlock(&famfs_glue_shadows_lock);

	file_accessed(file);
	vma->vm_ops = ops;
	/* as drivers with huge PFN maps do: no GUP, no dump, no expansion */
	vm_flags_set(vma, VM_PFNMAP | VM_IO | VM_DONTEXPAND | VM_DONTDUMP | VM_HUGEPAGE);
	vma_set_file(vma, shadow);
	fput(shadow);	/* the VMA holds its own reference now */
	return 0;
}

/*
 * Zaps every shadow mapping of @inode (the caller holds its invalidate lock,
 * so no fault can map anything again until it is dropped).
 */
void famfs_glue_zap_shadows(struct inode *inode)
{
	struct famfs_glue_shadow *sh;

	mutex_lock(&famfs_glue_shadows_lock);
	list_for_each_entry(sh, &famfs_glue_shadows, node)
		if (file_inode(sh->famfs_file) == inode)
			unmap_mapping_range(sh->mapping, 0, 0, 1);
	mutex_unlock(&famfs_glue_shadows_lock);
}

/*
 * Whether a VMA is a shared mapping (MAP_SHARED; VM_SHARED alone would miss
 * a read-only shared mapping of a file opened read-only, which the memory
 * manager marks VM_MAYSHARE only, but which is no copy-on-write mapping).
 */
bool famfs_glue_vma_is_shared(const struct vm_area_struct *vma)
{
	return vma->vm_flags & VM_MAYSHARE;
}

/* The fault's address, its VMA's range and the file page of the address. */
void famfs_glue_vmf_geometry(const struct vm_fault *vmf, u64 *address, u64 *vm_start,
			     u64 *vm_end, u64 *pgoff)
{
	*address = vmf->address;
	*vm_start = vmf->vma->vm_start;
	*vm_end = vmf->vma->vm_end;
	*pgoff = vmf->pgoff;
}

/*
 * The first PFN of @nr_pages device pages at byte offset @dev_off of
 * @dax_dev, if they are contiguous (else -ERANGE); errors of the device
 * (poison, a device going away) as negative errnos.
 */
long famfs_glue_dax_pfn(struct dax_device *dax_dev, u64 dev_off, long nr_pages,
			unsigned long *pfn)
{
	long avail;
	int id;

	id = dax_read_lock();
	avail = dax_direct_access(dax_dev, PHYS_PFN(dev_off), nr_pages, DAX_ACCESS,
				  NULL, pfn);
	dax_read_unlock(id);
	if (avail < 0)
		return avail;
	return avail < nr_pages ? -ERANGE : 0;
}

/* Inserts a PFN entry of 4 KiB, 2 MiB or 1 GiB (order 0, PMD or PUD). */
vm_fault_t famfs_glue_insert_pfn(struct vm_fault *vmf, unsigned int order,
				 unsigned long pfn)
{
	bool write = vmf->flags & FAULT_FLAG_WRITE;

	if (order == 0)
		return vmf_insert_pfn(vmf->vma, vmf->address & PAGE_MASK, pfn);
#ifdef CONFIG_ARCH_SUPPORTS_PMD_PFNMAP
	if (order == PMD_ORDER)
		return vmf_insert_pfn_pmd(vmf, pfn, write);
#endif
#ifdef CONFIG_ARCH_SUPPORTS_PUD_PFNMAP
	if (order == PUD_ORDER)
		return vmf_insert_pfn_pud(vmf, pfn, write);
#endif
	return VM_FAULT_FALLBACK;
}

/*
 * Finds room for a mapping of @len bytes at file offset @pgoff, aligned so
 * that the file offset and the address agree modulo @align (1 GiB for big
 * files in pfnmap mode), as device-dax does; anything else as THP files do.
 */
unsigned long famfs_glue_get_unmapped_area(struct file *filp, unsigned long addr,
					   unsigned long len, unsigned long pgoff,
					   unsigned long flags, unsigned long align)
{
	unsigned long off = pgoff << PAGE_SHIFT, padded, ret;

	if (align <= PMD_SIZE || addr || !(flags & MAP_SHARED))
		return thp_get_unmapped_area(filp, addr, len, pgoff, flags);
	/* Nothing to gain unless a whole aligned block fits in the range. */
	if (round_up(off, align) + align > off + len || len + align < len)
		return thp_get_unmapped_area(filp, addr, len, pgoff, flags);
	padded = len + align;
	ret = mm_get_unmapped_area(filp, 0, padded, pgoff, flags);
	if (IS_ERR_VALUE(ret))
		return thp_get_unmapped_area(filp, addr, len, pgoff, flags);
	return ret + ((off - ret) & (align - 1));
}

/* Byte offset in @dax_dev at which its memory is 1 GiB aligned (0 if unknown). */
u32 famfs_glue_dax_pud_phase(struct dax_device *dax_dev, u64 start_off)
{
	unsigned long pfn;
	long avail;
	int id;

	id = dax_read_lock();
	avail = dax_direct_access(dax_dev, PHYS_PFN(start_off), 1, DAX_ACCESS, NULL, &pfn);
	dax_read_unlock(id);
	if (avail < 1)
		return 0;
	return (u32)((PUD_SIZE - (PFN_PHYS(pfn) & (PUD_SIZE - 1))) & (PUD_SIZE - 1));
}

struct inode *famfs_glue_vmf_inode(const struct vm_fault *vmf)
{
	return file_inode(famfs_glue_vma_file(vmf->vma));
}

/* A write fault on a shared mapping (the only kind that reaches memory). */
bool famfs_glue_vmf_is_shared_write(const struct vm_fault *vmf)
{
	return (vmf->flags & FAULT_FLAG_WRITE) && (vmf->vma->vm_flags & VM_SHARED);
}

/*
 * Fault locking as the DAX file systems do it: write faults take freeze
 * protection and update the time stamps; every fault holds the mapping's
 * invalidate lock shared so that layout changes wait for it.
 */
void famfs_glue_fault_start(struct vm_fault *vmf, bool write)
{
	struct file *file = famfs_glue_vma_file(vmf->vma);
	struct inode *inode = file_inode(file);

	if (write) {
		sb_start_pagefault(inode->i_sb);
		file_update_time(file);
	}
	filemap_invalidate_lock_shared(inode->i_mapping);
}

void famfs_glue_fault_end(struct vm_fault *vmf, bool write)
{
	struct inode *inode = file_inode(famfs_glue_vma_file(vmf->vma));

	filemap_invalidate_unlock_shared(inode->i_mapping);
	if (write)
		sb_end_pagefault(inode->i_sb);
}

/* ---- per-mount statistics in sysfs (/sys/fs/famfs/<device>/) ---------- */

struct famfs_glue_stats {
	struct kobject kobj;
	const u64 *counters[FAMFS_GLUE_NR_STATS];
};

static struct kobject *famfs_glue_kobj;

static const char *const famfs_glue_stat_names[FAMFS_GLUE_NR_STATS] = {
	[FAMFS_GLUE_STAT_PTE_FAULTS] = "pte_faults",
	[FAMFS_GLUE_STAT_PMD_FAULTS] = "pmd_faults",
	[FAMFS_GLUE_STAT_PUD_FAULTS] = "pud_faults",
	[FAMFS_GLUE_STAT_DEV_SIZE] = "device_size",
	[FAMFS_GLUE_STAT_MAPPED] = "mapped_bytes",
	[FAMFS_GLUE_STAT_FAILED] = "failed",
	[FAMFS_GLUE_STAT_DEVICES] = "devices",
	[FAMFS_GLUE_STAT_FAILED_DEVICES] = "failed_devices",
};

static ssize_t famfs_glue_stat_show(struct kobject *kobj, struct attribute *attr,
				    char *buf)
{
	struct famfs_glue_stats *st = container_of(kobj, struct famfs_glue_stats, kobj);
	int i;

	for (i = 0; i < FAMFS_GLUE_NR_STATS; i++) {
		if (strcmp(attr->name, famfs_glue_stat_names[i]))
			continue;
		/* the device sets are bit sets of device indices */
		if (i == FAMFS_GLUE_STAT_DEVICES || i == FAMFS_GLUE_STAT_FAILED_DEVICES)
			return sysfs_emit(buf, "0x%llx\n", READ_ONCE(*st->counters[i]));
		return sysfs_emit(buf, "%llu\n", READ_ONCE(*st->counters[i]));
	}
	return -EINVAL;
}

static const struct sysfs_ops famfs_glue_stat_ops = {
	.show = famfs_glue_stat_show,
};

static struct attribute famfs_glue_stat_attrs[FAMFS_GLUE_NR_STATS] = {
	{ .name = "pte_faults", .mode = 0444 },
	{ .name = "pmd_faults", .mode = 0444 },
	{ .name = "device_size", .mode = 0444 },
	{ .name = "mapped_bytes", .mode = 0444 },
	{ .name = "failed", .mode = 0444 },
	{ .name = "devices", .mode = 0444 },
	{ .name = "failed_devices", .mode = 0444 },
	{ .name = "pud_faults", .mode = 0444 },
};

static struct attribute *famfs_glue_stat_attrs_attrs[] = {
	&famfs_glue_stat_attrs[0], &famfs_glue_stat_attrs[1],
	&famfs_glue_stat_attrs[2], &famfs_glue_stat_attrs[3],
	&famfs_glue_stat_attrs[4], &famfs_glue_stat_attrs[5],
	&famfs_glue_stat_attrs[6], &famfs_glue_stat_attrs[7], NULL,
};
ATTRIBUTE_GROUPS(famfs_glue_stat_attrs);

static void famfs_glue_stats_release(struct kobject *kobj)
{
	kfree(container_of(kobj, struct famfs_glue_stats, kobj));
}

static const struct kobj_type famfs_glue_stats_ktype = {
	.sysfs_ops = &famfs_glue_stat_ops,
	.default_groups = famfs_glue_stat_attrs_groups,
	.release = famfs_glue_stats_release,
};

int famfs_glue_sysfs_init(void)
{
	famfs_glue_kobj = kobject_create_and_add("famfs", fs_kobj);
	return famfs_glue_kobj ? 0 : -ENOMEM;
}

void famfs_glue_sysfs_exit(void)
{
	kobject_put(famfs_glue_kobj);
}

/*
 * Publishes the counters (each a u64 that outlives the returned object until
 * famfs_glue_stats_destroy()) under /sys/fs/famfs/<name>/.
 */
struct famfs_glue_stats *famfs_glue_stats_create(const char *name,
						 const u64 *const *counters)
{
	struct famfs_glue_stats *st = kzalloc(sizeof(*st), GFP_KERNEL);
	int i, err;

	if (!st)
		return ERR_PTR(-ENOMEM);
	for (i = 0; i < FAMFS_GLUE_NR_STATS; i++)
		st->counters[i] = counters[i];
	err = kobject_init_and_add(&st->kobj, &famfs_glue_stats_ktype,
				   famfs_glue_kobj, "%s", name);
	if (err) {
		kobject_put(&st->kobj);
		return ERR_PTR(err);
	}
	return st;
}

void famfs_glue_stats_destroy(struct famfs_glue_stats *st)
{
	kobject_del(&st->kobj);
	kobject_put(&st->kobj);
}

/*
 * Before the device goes away (MF_MEM_PRE_REMOVE): wait until no page of the
 * file is in use any more (its mappings were torn down), then delete every
 * DAX entry of the file, so that nothing refers to the device's pages once
 * they are gone. The caller holds the invalidate lock, so no fault can
 * install a new entry meanwhile.
 */
void famfs_glue_drop_dax_layout(struct inode *inode)
{
	dax_break_layout_final(inode);
}
