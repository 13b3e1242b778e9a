//! `famfs creat`: allocate, log and instantiate files (master only).

use std::fs::{self, OpenOptions};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use famfs::fill;
use famfs::session::{Attrs, Created};
use famfs_util::parse_size;

use super::{begin_session, one_mount, LayoutArgs, OwnerArgs};

#[derive(clap::Args)]
pub struct Args {
    /// File size.
    #[arg(short, long, value_parser = parse_size)]
    size: u64,
    /// Fill with seeded pseudo-random bytes (see --seed).
    #[arg(short, long)]
    random: bool,
    /// Seed of the random fill.
    #[arg(short = 'S', long, default_value_t = 0)]
    seed: u64,
    #[command(flatten)]
    owner: OwnerArgs,
    #[command(flatten)]
    layout: LayoutArgs,
    /// Files to create.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

/// Creates files of `size` bytes, optionally filled with seeded random
/// bytes.
pub fn run(a: Args) -> Result<u8> {
    let size = a.size;
    let seed = a.random.then_some(a.seed);
    if size == 0 {
        bail!("the size must be at least 1 byte");
    }
    let (m, rels) = one_mount(&a.files)?;
    let (mode, uid, gid) = a.owner.get(0o644);
    let mut s = begin_session(&m.mpt)?;
    let layout = a.layout.apply(&mut s)?;
    for rel in &rels {
        let local = if seed.is_some() { mode | 0o200 } else { mode };
        match s.create(rel, size, Attrs { mode, uid, gid }, local, layout)? {
            Created::New => {}
            Created::Existing => {
                if !m.mpt.join(rel).exists() {
                    bail!("'{rel}' is logged but not instantiated here; run famfs logplay");
                }
                eprintln!("famfs creat: '{rel}' already exists with this size");
            }
        }
        if let Some(seed) = seed {
            let p = m.mpt.join(rel);
            let f = OpenOptions::new()
                .write(true)
                .open(&p)
                .with_context(|| format!("open {}", p.display()))?;
            fill::fill(&f, size, seed).with_context(|| format!("fill {}", p.display()))?;
            if local != mode {
                f.set_permissions(fs::Permissions::from_mode(mode))?;
            }
        }
    }
    Ok(0)
}
