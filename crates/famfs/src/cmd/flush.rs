//! `famfs flush`: write back and invalidate the CPU caches over files (for
//! memory that is not cache-coherent between hosts).

use std::fs::File;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use famfs::sys;

#[derive(clap::Args)]
pub struct Args {
    /// Files to flush.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

pub fn run(a: Args) -> Result<u8> {
    for p in &a.files {
        if !sys::is_famfs(p) {
            bail!("{} is not in a famfs file system", p.display());
        }
        let f = File::open(p).with_context(|| format!("open {}", p.display()))?;
        if f.metadata()?.len() == 0 {
            continue;
        }
        let m = sys::map_ro(&f).with_context(|| format!("map {}", p.display()))?;
        sys::cache_flush(&m);
    }
    Ok(0)
}
