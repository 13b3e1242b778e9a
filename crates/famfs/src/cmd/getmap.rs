//! `famfs getmap`: a file's extents (exit 0 mapped, 1 not a famfs file,
//! 2 no map), and how much of it lies in 1 GiB-aligned memory (what the
//! module can map with 1 GiB entries), by each device's PUD phase from the
//! mount's device table.

use std::collections::HashMap;
use std::fs::File;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use famfs::sys;
use famfs_abi::{FAMFS_LOG, FAMFS_SUPERBLOCK};
use famfs_format::{pud_gibs, pud_mappable, FileMap, PUD_SIZE};
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
    /// Whole GiBs of the file (`size / 1 GiB`).
    pub size_gib: u64,
    /// Of those, the ones that lie in one device range starting on a
    /// physical GiB boundary (mappable with one 1 GiB entry each); `null`
    /// when a device's PUD phase is unknown.
    pub pud_mappable_gib: Option<u64>,
    /// The device whose PUD phase was needed and unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pud_unknown_device: Option<u32>,
}

/// One extent.
#[derive(Serialize)]
pub struct ExtOut {
    /// Device index.
    pub devindex: u64,
    /// Device offset.
    pub offset: u64,
    /// Length.
    pub len: u64,
    /// Whole 1 GiB-aligned GiBs of memory in the range; `null` when the
    /// device's PUD phase is unknown.
    pub pud_aligned_gib: Option<u64>,
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
    // A device's PUD phase, asked once, through the file itself (any file
    // of the mount answers for the mount's table).
    let mut phases: HashMap<u32, Option<u64>> = HashMap::new();
    let mut phase_of = |dev: u32| {
        *phases
            .entry(dev)
            .or_insert_with(|| famfs::devices::pud_phase(&f, dev))
    };
    let pud = pud_mappable(&k.map, k.size, &mut phase_of);
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
                pud_aligned_gib: phase_of(e.dev).map(|p| pud_gibs(e.offset, e.len, p)),
            })
            .collect(),
        size_gib: k.size / PUD_SIZE,
        pud_mappable_gib: pud.ok(),
        pud_unknown_device: pud.err(),
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print!("{}", text(&out));
    }
    Ok(0)
}

/// The text form of a map: a heading line, the chunk size of an
/// interleaved map, one line per extent or strip (with its whole
/// 1 GiB-aligned GiBs), and the file's PUD-mappable GiBs.
pub fn text(out: &MapOut) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{}: {} bytes, {} file, {} map",
        out.path, out.size, out.file_type, out.extent_type
    );
    if let Some(c) = out.chunk_size {
        let _ = writeln!(s, "  chunk size {c:#x}");
    }
    let what = if out.chunk_size.is_some() {
        "strip"
    } else {
        "extent"
    };
    for (i, e) in out.extents.iter().enumerate() {
        let dev = if e.devindex == 0 {
            String::new()
        } else {
            format!("device {} ", e.devindex)
        };
        let aligned = match e.pud_aligned_gib {
            Some(n) => format!("{n} GiB"),
            None => "unknown".to_string(),
        };
        let _ = writeln!(
            s,
            "  {what} {i}: {dev}offset {:#x} length {:#x}, 1 GiB aligned: {aligned}",
            e.offset, e.len
        );
    }
    let _ = match (out.pud_mappable_gib, out.pud_unknown_device) {
        (Some(n), _) if out.size_gib == 0 => writeln!(
            s,
            "  PUD-mappable: {n} of 0 GiB (the file is smaller than 1 GiB)"
        ),
        (Some(n), _) => writeln!(s, "  PUD-mappable: {n} of {} GiB", out.size_gib),
        (None, Some(d)) => writeln!(
            s,
            "  PUD-mappable: unknown (the module does not say where device {d}'s memory is \
             1 GiB aligned)"
        ),
        (None, None) => writeln!(s, "  PUD-mappable: unknown"),
    };
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;
    const GIB: u64 = 1 << 30;

    fn ext(devindex: u64, offset: u64, len: u64, pud_aligned_gib: Option<u64>) -> ExtOut {
        ExtOut {
            devindex,
            offset,
            len,
            pud_aligned_gib,
        }
    }

    fn map(size: u64, chunk_size: Option<u64>, extents: Vec<ExtOut>) -> MapOut {
        MapOut {
            path: "/mnt/famfs/f".into(),
            size,
            file_type: "regular",
            extent_type: if chunk_size.is_some() {
                "interleaved"
            } else {
                "simple"
            },
            chunk_size,
            extents,
            size_gib: size / GIB,
            pud_mappable_gib: None,
            pud_unknown_device: None,
        }
    }

    #[test]
    fn a_big_file_in_aligned_memory() {
        let mut m = map(4 * GIB, None, vec![ext(0, GIB, 4 * GIB, Some(4))]);
        m.pud_mappable_gib = Some(4);
        assert_eq!(
            text(&m),
            "/mnt/famfs/f: 4294967296 bytes, regular file, simple map\n\
             \x20 extent 0: offset 0x40000000 length 0x100000000, 1 GiB aligned: 4 GiB\n\
             \x20 PUD-mappable: 4 of 4 GiB\n"
        );
    }

    #[test]
    fn a_small_file_and_a_strip_on_another_device() {
        let mut m = map(3 * MIB, None, vec![ext(0, 10 * MIB, 4 * MIB, Some(0))]);
        m.pud_mappable_gib = Some(0);
        assert_eq!(
            text(&m),
            "/mnt/famfs/f: 3145728 bytes, regular file, simple map\n\
             \x20 extent 0: offset 0xa00000 length 0x400000, 1 GiB aligned: 0 GiB\n\
             \x20 PUD-mappable: 0 of 0 GiB (the file is smaller than 1 GiB)\n"
        );
        let mut m = map(
            3 * GIB,
            Some(GIB),
            vec![ext(0, GIB, 2 * GIB, Some(2)), ext(1, 2 * MIB, GIB, Some(0))],
        );
        m.pud_mappable_gib = Some(2);
        assert_eq!(
            text(&m),
            "/mnt/famfs/f: 3221225472 bytes, regular file, interleaved map\n\
             \x20 chunk size 0x40000000\n\
             \x20 strip 0: offset 0x40000000 length 0x80000000, 1 GiB aligned: 2 GiB\n\
             \x20 strip 1: device 1 offset 0x200000 length 0x40000000, 1 GiB aligned: 0 GiB\n\
             \x20 PUD-mappable: 2 of 3 GiB\n"
        );
    }

    #[test]
    fn an_unknown_phase_is_said_so() {
        let mut m = map(
            2 * GIB,
            None,
            vec![ext(0, GIB, GIB, Some(1)), ext(2, 4 * GIB, GIB, None)],
        );
        m.pud_unknown_device = Some(2);
        let t = text(&m);
        assert!(
            t.contains(
                "extent 1: device 2 offset 0x100000000 length 0x40000000, 1 GiB aligned: unknown\n"
            ),
            "{t}"
        );
        assert!(
            t.ends_with(
                "  PUD-mappable: unknown (the module does not say where device 2's memory is \
                 1 GiB aligned)\n"
            ),
            "{t}"
        );
        // And in JSON: null, with the device named.
        let j = serde_json::to_value(&m).unwrap();
        assert_eq!(j["pud_mappable_gib"], serde_json::Value::Null);
        assert_eq!(j["pud_unknown_device"], 2);
        assert_eq!(j["size_gib"], 2);
        assert_eq!(j["extents"][0]["pud_aligned_gib"], 1);
        assert_eq!(j["extents"][1]["pud_aligned_gib"], serde_json::Value::Null);
    }
}
