//! `famfs getmap`: a file's extents (exit 0 mapped, 1 not a famfs file,
//! 2 no map).

use std::fs::File;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use famfs::sys;
use famfs_abi::{FAMFS_LOG, FAMFS_SUPERBLOCK};
use famfs_format::FileMap;
use serde::Serialize;

#[derive(clap::Args)]
pub struct Args {
    /// JSON output.
    #[arg(long)]
    json: bool,
    /// Print nothing; only the exit status.
    #[arg(short, long)]
    quiet: bool,
    /// The file.
    file: PathBuf,
}

/// A file's map for `getmap --json`.
#[derive(Serialize)]
pub struct MapOut {
    /// The path.
    pub path: String,
    /// File size.
    pub size: u64,
    /// "regular", "superblock" or "log".
    pub file_type: &'static str,
    /// "simple" or "interleaved".
    pub extent_type: &'static str,
    /// Chunk size (interleaved).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chunk_size: Option<u64>,
    /// Extents, or strips (interleaved).
    pub extents: Vec<ExtOut>,
}

/// One extent.
#[derive(Serialize)]
pub struct ExtOut {
    /// Device index (always 0).
    pub devindex: u64,
    /// Device offset.
    pub offset: u64,
    /// Length.
    pub len: u64,
}

pub fn run(a: Args) -> Result<u8> {
    let (path, json, quiet) = (a.file.as_path(), a.json, a.quiet);
    if !sys::is_famfs(path) {
        if !quiet {
            eprintln!(
                "famfs getmap: {} is not in a famfs file system",
                path.display()
            );
        }
        return Ok(1);
    }
    let f = File::open(path).with_context(|| format!("open {}", path.display()))?;
    let k = match sys::map_get(&f) {
        Ok(k) => k,
        Err(e) if e.raw_os_error() == Some(libc::ENODATA) => {
            if !quiet {
                eprintln!("famfs getmap: {} has no famfs map", path.display());
            }
            return Ok(2);
        }
        Err(e) if e.raw_os_error() == Some(libc::ENOTTY) => {
            if !quiet {
                eprintln!("famfs getmap: {} is not a famfs file", path.display());
            }
            return Ok(1);
        }
        Err(e) => bail!("FAMFSIOC_MAP_GET_V2 on {}: {e}", path.display()),
    };
    if quiet {
        return Ok(0);
    }
    let (extent_type, chunk_size, exts) = match &k.map {
        FileMap::Simple(x) => ("simple", None, x),
        FileMap::Interleaved { chunk_size, strips } => ("interleaved", Some(*chunk_size), strips),
    };
    let out = MapOut {
        path: path.display().to_string(),
        size: k.size,
        file_type: match k.file_type {
            FAMFS_SUPERBLOCK => "superblock",
            FAMFS_LOG => "log",
            _ => "regular",
        },
        extent_type,
        chunk_size,
        extents: exts
            .iter()
            .map(|e| ExtOut {
                devindex: u64::from(e.dev),
                offset: e.offset,
                len: e.len,
            })
            .collect(),
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!(
            "{}: {} bytes, {} file, {} map",
            out.path, out.size, out.file_type, out.extent_type
        );
        if let Some(c) = out.chunk_size {
            println!("  chunk size {c:#x}");
        }
        for (i, e) in out.extents.iter().enumerate() {
            let what = if chunk_size.is_some() {
                "strip"
            } else {
                "extent"
            };
            if e.devindex == 0 {
                println!("  {what} {i}: offset {:#x} length {:#x}", e.offset, e.len);
            } else {
                println!(
                    "  {what} {i}: device {} offset {:#x} length {:#x}",
                    e.devindex, e.offset, e.len
                );
            }
        }
    }
    Ok(0)
}
