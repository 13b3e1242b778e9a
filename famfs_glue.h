/* SPDX-License-Identifier: GPL-2.0 */
/*
 * famfs C glue: the few things Rust cannot reach through bindgen (static
 * inline functions, function-like macros, module parameters with sysfs
 * permissions, fs_parameter tables). Every symbol carries the famfs_glue_
 * prefix because all non-static symbols of a module share one namespace.
 */
#ifndef FAMFS_GLUE_H
#define FAMFS_GLUE_H

#include <linux/types.h>

struct dax_device;
struct dentry;
struct file;
struct fs_context;
struct fs_parameter;
struct fs_parameter_spec;
struct inode;
struct super_block;
struct kstatfs;
struct dax_holder_operations;

/* Bits of the test-only module parameter test_inject (FAMFS_TEST_HOOKS). */
#define FAMFS_GLUE_INJECT_WARN		(1U << 0)
#define FAMFS_GLUE_INJECT_LEAK		(1U << 1)
#define FAMFS_GLUE_INJECT_KUNIT_FAIL	(1U << 2)
#define FAMFS_GLUE_INJECT_OOB_C		(1U << 3)
#define FAMFS_GLUE_INJECT_SHIFT_C	(1U << 4)
#define FAMFS_GLUE_INJECT_OOB_RUST	(1U << 5)

unsigned int famfs_glue_test_inject(void);
void famfs_glue_inject_warn(void);
void famfs_glue_inject_leak(void);
void famfs_glue_inject_oob(void);
void famfs_glue_inject_shift(void);

void famfs_glue_report(struct fs_context *fc, const char *source,
		       const char *what, int err);
bool famfs_glue_log_allowed(void);

/* For the public famfs tools' module detection (see famfs_glue.c). */
void famfs_create_marker(void);

int famfs_glue_path_mode(const char *path, umode_t *mode);
int famfs_glue_open_dax_chrdev(const char *path, struct dax_device **dax_dev,
			       char *name, size_t name_len);
u64 famfs_glue_devdax_size(struct dax_device *dax_dev);
struct file *famfs_glue_bdev_open(const char *path, void *holder);
struct dax_device *famfs_glue_bdev_dax(struct file *bdev_file, u64 *start_off,
				       void *holder,
				       const struct dax_holder_operations *ops);
void famfs_glue_bdev_name(struct file *bdev_file, char *name, size_t name_len);
u64 famfs_glue_bdev_size(struct file *bdev_file);
void famfs_glue_bdev_release(struct file *bdev_file);
void famfs_glue_set_root_mode(struct inode *root, umode_t mode);

void famfs_glue_dir_changed(struct inode *dir);

/* Sizes and offsets as GCC sees them, for the KUnit layout cross-check. */
enum famfs_glue_layout_item {
	FAMFS_GLUE_LAYOUT_FS_CONTEXT,
	FAMFS_GLUE_LAYOUT_FS_CONTEXT_S_FS_INFO,
	FAMFS_GLUE_LAYOUT_FS_CONTEXT_OPS,
	FAMFS_GLUE_LAYOUT_IOMAP,
	FAMFS_GLUE_LAYOUT_IOMAP_OPS,
	FAMFS_GLUE_LAYOUT_HOLDER_OPS,
	FAMFS_GLUE_LAYOUT_IOC_GET_FMAP,
};
size_t famfs_glue_layout(enum famfs_glue_layout_item item);

struct iov_iter;
struct vm_area_struct;
struct vm_fault;
struct vm_operations_struct;

void famfs_glue_inode_lock(struct inode *inode);
void famfs_glue_inode_unlock(struct inode *inode);
void famfs_glue_inode_lock_shared(struct inode *inode);
void famfs_glue_inode_unlock_shared(struct inode *inode);
loff_t famfs_glue_i_size_read(const struct inode *inode);
void famfs_glue_i_size_write(struct inode *inode, loff_t size);
void famfs_glue_set_dax(struct inode *inode);
void famfs_glue_evict(struct inode *inode);
void famfs_glue_drop_dax_layout(struct inode *inode);
void famfs_glue_for_each_inode(struct super_block *sb,
			       int (*fn)(struct inode *inode, void *ctx), void *ctx);
void famfs_glue_invalidate_lock(struct inode *inode);
void famfs_glue_invalidate_unlock(struct inode *inode);

size_t famfs_glue_iov_iter_count(const struct iov_iter *iter);
void famfs_glue_iov_iter_truncate(struct iov_iter *iter, u64 count);

void famfs_glue_mmap_setup(struct file *file, struct vm_area_struct *vma,
			   const struct vm_operations_struct *ops);
int famfs_glue_mmap_pfn_setup(struct file *file, struct vm_area_struct *vma,
			      const struct vm_operations_struct *ops);
void famfs_glue_zap_shadows(struct inode *inode);
bool famfs_glue_vma_is_shared(const struct vm_area_struct *vma);
void famfs_glue_vmf_geometry(const struct vm_fault *vmf, u64 *address, u64 *vm_start,
			     u64 *vm_end, u64 *pgoff);
long famfs_glue_dax_pfn(struct dax_device *dax_dev, u64 dev_off, long nr_pages,
			unsigned long *pfn);
unsigned int famfs_glue_insert_pfn(struct vm_fault *vmf, unsigned int order,
				   unsigned long pfn);
unsigned long famfs_glue_get_unmapped_area(struct file *filp, unsigned long addr,
					   unsigned long len, unsigned long pgoff,
					   unsigned long flags, unsigned long align);
u32 famfs_glue_dax_pud_phase(struct dax_device *dax_dev, u64 start_off);
struct inode *famfs_glue_vmf_inode(const struct vm_fault *vmf);
bool famfs_glue_vmf_is_shared_write(const struct vm_fault *vmf);
void famfs_glue_fault_start(struct vm_fault *vmf, bool write);
void famfs_glue_fault_end(struct vm_fault *vmf, bool write);

/* Per-mount counters in /sys/fs/famfs/<device>/ (one file each). */
enum famfs_glue_stat {
	FAMFS_GLUE_STAT_PTE_FAULTS,
	FAMFS_GLUE_STAT_PMD_FAULTS,
	FAMFS_GLUE_STAT_DEV_SIZE,
	FAMFS_GLUE_STAT_MAPPED,
	FAMFS_GLUE_STAT_FAILED,
	FAMFS_GLUE_STAT_DEVICES,	/* bit set of open device indices (hex) */
	FAMFS_GLUE_STAT_FAILED_DEVICES,	/* bit set of failed devices (hex) */
	FAMFS_GLUE_STAT_PUD_FAULTS,
	FAMFS_GLUE_NR_STATS,
};
struct famfs_glue_stats;
int famfs_glue_sysfs_init(void);
void famfs_glue_sysfs_exit(void);
struct famfs_glue_stats *famfs_glue_stats_create(const char *name,
						 const u64 *const *counters);
void famfs_glue_stats_destroy(struct famfs_glue_stats *st);

#endif /* FAMFS_GLUE_H */
