//! `famfs mkdir`: log and create directories (master only).

use std::path::PathBuf;

use anyhow::{bail, Result};

use super::{begin_session, one_mount, OwnerArgs};

#[derive(clap::Args)]
pub struct Args {
    /// Create missing parents; no error if the directory exists.
    #[arg(short, long)]
    parents: bool,
    #[command(flatten)]
    owner: OwnerArgs,
    /// Directories to create.
    #[arg(required = true)]
    dirs: Vec<PathBuf>,
}

pub fn run(a: Args) -> Result<u8> {
    let (m, rels) = one_mount(&a.dirs)?;
    let (mode, uid, gid) = a.owner.get(0o755);
    let mut s = begin_session(&m.mpt)?;
    for rel in &rels {
        if a.parents {
            let mut acc = String::new();
            for c in rel.split('/') {
                if !acc.is_empty() {
                    acc.push('/');
                }
                acc.push_str(c);
                s.mkdir(&acc, mode, uid, gid)?;
            }
        } else if !s.mkdir(rel, mode, uid, gid)? {
            bail!("'{rel}' already exists");
        }
    }
    Ok(0)
}
