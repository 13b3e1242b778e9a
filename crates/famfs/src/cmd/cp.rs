//! `famfs cp`: copy files (and directories) into famfs (master only).
//! Restartable: a destination already logged with the same size is
//! overwritten, so an interrupted copy can be rerun.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use famfs::paths;
use famfs::session::Attrs;
use famfs_format::check_relpath;

use super::{begin_session, LayoutArgs, OwnerArgs};

#[derive(clap::Args)]
pub struct Args {
    /// Copy directories recursively.
    #[arg(short, long)]
    recursive: bool,
    /// Print each copied file.
    #[arg(short, long)]
    verbose: bool,
    #[command(flatten)]
    owner: OwnerArgs,
    #[command(flatten)]
    layout: LayoutArgs,
    /// Sources, then the destination.
    #[arg(required = true, num_args = 2..)]
    paths: Vec<PathBuf>,
}

pub fn run(mut a: Args) -> Result<u8> {
    let dst = a.paths.pop().expect("at least two paths");
    let n = cp(&a.paths, &dst, &a)?;
    if a.verbose {
        println!("famfs cp: {n} files copied");
    }
    Ok(0)
}

enum Item {
    Dir(String, u32),
    File(PathBuf, String, u64, u32),
}

fn walk(src: &Path, rel: &str, items: &mut Vec<Item>, recursive: bool) -> Result<()> {
    let md = fs::metadata(src).with_context(|| format!("{}", src.display()))?;
    if md.is_dir() {
        if !recursive {
            bail!("{} is a directory (use -r)", src.display());
        }
        items.push(Item::Dir(rel.to_owned(), md.mode() & 0o7777));
        let mut names: Vec<_> = fs::read_dir(src)?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<Result<_, _>>()?;
        names.sort();
        for n in names {
            let n = n.to_string_lossy().into_owned();
            walk(&src.join(&n), &format!("{rel}/{n}"), items, recursive)?;
        }
    } else if md.is_file() {
        items.push(Item::File(
            src.to_path_buf(),
            rel.to_owned(),
            md.len(),
            md.mode() & 0o7777,
        ));
    } else {
        bail!("{} is not a regular file or a directory", src.display());
    }
    Ok(())
}

fn cp(srcs: &[PathBuf], dst: &Path, o: &Args) -> Result<u64> {
    if srcs.is_empty() {
        bail!("nothing to copy");
    }
    let (m, dst_rel) = paths::resolve(dst)?;
    let into = fs::metadata(dst).map(|x| x.is_dir()).unwrap_or(false);
    if srcs.len() > 1 && !into {
        bail!("target {} is not a directory", dst.display());
    }
    let mut items = Vec::new();
    for src in srcs {
        let name = src
            .file_name()
            .ok_or_else(|| anyhow!("{}: no file name", src.display()))?
            .to_string_lossy()
            .into_owned();
        let rel = match (into, dst_rel.is_empty()) {
            (true, true) => name,
            (true, false) => format!("{dst_rel}/{name}"),
            (false, _) => dst_rel.clone(),
        };
        walk(src, &rel, &mut items, o.recursive)?;
    }
    // Check every path before changing anything.
    for it in &items {
        let rel = match it {
            Item::Dir(r, _) | Item::File(_, r, _, _) => r,
        };
        check_relpath(rel).map_err(|e| anyhow!("{e}"))?;
    }
    let mut s = begin_session(&m.mpt)?;
    let layout = o.layout.apply(&mut s)?;
    let total: u64 = items
        .iter()
        .map(|i| {
            if let Item::File(_, _, n, _) = i {
                *n
            } else {
                0
            }
        })
        .sum();
    let bar = (total >= 64 << 20).then(|| {
        let b = indicatif::ProgressBar::new(total);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{bytes}/{total_bytes} [{wide_bar}] {bytes_per_sec} {eta}",
            )
            .expect("template"),
        );
        b
    });
    let mut copied = 0;
    for it in &items {
        match it {
            Item::Dir(rel, smode) => {
                let (mode, uid, gid) = o.owner.get(*smode);
                if !s.mkdir(rel, mode, uid, gid)? && o.verbose {
                    println!("{rel}/ exists");
                }
            }
            Item::File(src, rel, size, smode) => {
                let (mode, uid, gid) = o.owner.get(*smode);
                s.create(rel, *size, Attrs { mode, uid, gid }, mode | 0o200, layout)
                    .with_context(|| format!("{}", src.display()))?;
                let p = m.mpt.join(rel);
                let md = fs::metadata(&p)?;
                if md.mode() & 0o200 == 0 {
                    fs::set_permissions(&p, fs::Permissions::from_mode(md.mode() | 0o200))?;
                }
                copy_data(src, &p, bar.as_ref())
                    .with_context(|| format!("copy {} to {}", src.display(), p.display()))?;
                fs::set_permissions(&p, fs::Permissions::from_mode(mode))?;
                copied += 1;
                if o.verbose {
                    println!("{} -> {rel}", src.display());
                }
            }
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    Ok(copied)
}

fn copy_data(src: &Path, dst: &Path, bar: Option<&indicatif::ProgressBar>) -> Result<()> {
    let mut i = File::open(src)?;
    let mut o = OpenOptions::new().write(true).open(dst)?;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = i.read(&mut buf)?;
        if n == 0 {
            break;
        }
        o.write_all(&buf[..n])?;
        if let Some(b) = bar {
            b.inc(n as u64);
        }
    }
    Ok(())
}
