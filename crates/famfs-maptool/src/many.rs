//! `create-many DIR --count N --start OFF --len LEN [--stride S]`: make N
//! files in one process, each with a one-extent map at a device offset
//! computed from its index, for tests that need a mount with very many
//! files (the mapped-range registry at scale) without a process per file.
//!
//! File `i` (from `--first-index`) is `DIR/PREFIXi`, created with
//! open(O_RDWR|O_CREAT|O_EXCL, 0644) as the public famfs tools do, and gets
//! the extent `OFF + (i - first) * S : LEN` and the size LEN through
//! MAP_CREATE_V2. The first failure stops the run: it is reported with the
//! file, its extent and the errno, after the number of files completed.

use anyhow::{bail, Result};
use famfs_abi::*;
use famfs_util::parse_size;

use crate::{errno_text, ioctl, OpError};

#[derive(clap::Args)]
pub struct ManyArgs {
    /// The directory (on a famfs mount) to create the files in.
    dir: String,
    /// How many files.
    #[arg(long)]
    count: u64,
    /// Device offset of the first file's extent.
    #[arg(long, value_parser = parse_size)]
    start: u64,
    /// Length of every extent, and every file's size.
    #[arg(long, value_parser = parse_size)]
    len: u64,
    /// Bytes from one file's extent to the next one's (default: LEN, so
    /// that the extents touch).
    #[arg(long, value_parser = parse_size)]
    stride: Option<u64>,
    /// File names are PREFIX followed by the index.
    #[arg(long, default_value = "f")]
    prefix: String,
    /// The index of the first file (its extent is still at OFF).
    #[arg(long, default_value_t = 0)]
    first_index: u64,
}

pub fn create_many(a: &ManyArgs) -> Result<Result<(), OpError>> {
    let stride = a.stride.unwrap_or(a.len);
    if a.count == 0 {
        bail!("--count must be at least 1");
    }
    // The last extent's end must be representable: the kernel's overflow
    // checks are for the fuzzers, not for this tool.
    let last_end = (a.count - 1)
        .checked_mul(stride)
        .and_then(|o| o.checked_add(a.start))
        .and_then(|o| o.checked_add(a.len));
    if last_end.is_none() {
        bail!("the last extent would end beyond 2^64");
    }
    for n in 0..a.count {
        let index = a.first_index + n;
        let offset = a.start + n * stride;
        let path = format!("{}/{}{index}", a.dir, a.prefix);
        let f = match crate::create_new(&path) {
            Ok(f) => f,
            Err(e) => {
                return Ok(Err(OpError(format!(
                    "create-many: {n} files made; create {path}: {}",
                    errno_text(&e)
                ))))
            }
        };
        let ext = FamfsIocSimpleExtent {
            devindex: 0,
            offset,
            len: a.len,
        };
        let fmap = FamfsIocFmap::simple(a.len, FAMFS_REG, 1, &ext);
        if let Err(OpError(e)) = ioctl(
            &f,
            FAMFSIOC_MAP_CREATE_V2,
            (&raw const fmap).cast_mut(),
            "MAP_CREATE_V2",
        ) {
            return Ok(Err(OpError(format!(
                "create-many: {n} files made; {path} (extent {offset:#x}:{:#x}): {e}",
                a.len
            ))));
        }
    }
    println!(
        "created {} files {}/{}{}..{} (extents {:#x}+i*{stride:#x}:{:#x})",
        a.count,
        a.dir,
        a.prefix,
        a.first_index,
        a.first_index + a.count - 1,
        a.start,
        a.len
    );
    Ok(Ok(()))
}
