//! `famfs verify`: compare files with the seeded stream of `creat -r`
//! (exit 0 when every file holds it, 1 otherwise).

use std::fs::File;
use std::path::PathBuf;

use anyhow::{Context, Result};
use famfs::fill;

#[derive(clap::Args)]
pub struct Args {
    /// The seed the files were filled with.
    #[arg(short = 'S', long)]
    seed: u64,
    /// Files to check.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

pub fn run(a: Args) -> Result<u8> {
    let (files, seed) = (&a.files, a.seed);
    let mut bad = 0;
    for p in files {
        let f = File::open(p).with_context(|| format!("open {}", p.display()))?;
        let size = f.metadata()?.len();
        match fill::verify(&f, size, seed).with_context(|| format!("read {}", p.display()))? {
            None => println!(
                "famfs verify: {}: ok ({size} bytes, seed {seed})",
                p.display()
            ),
            Some(off) => {
                println!(
                    "famfs verify: {}: differs from seed {seed} at offset {off}",
                    p.display()
                );
                bad += 1;
            }
        }
    }
    Ok(u8::from(bad > 0))
}
