//! famfs-bench: one measurement per invocation, printed as one JSON line
//! `{"test":..,"target":..,"seconds":..,"bytes":..}` for tests/bench/report.
//!
//! The same code measures a famfs file, an ext4-dax file and a raw device-dax
//! device, so ratios compare the file systems, not the harness.

use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::os::unix::io::AsRawFd;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Parser, ValueEnum};

#[derive(Clone, Copy, ValueEnum, Debug)]
enum Test {
    /// Map and touch one byte per 4 KiB page of a fresh mapping (faults).
    FirstTouch,
    /// Steady state: read every byte of a pre-faulted mapping.
    MmapRead,
    /// Steady state: write every byte of a pre-faulted mapping.
    MmapWrite,
    /// read(2) the whole file in 1 MiB requests.
    Read,
    /// write(2) the whole file in 1 MiB requests.
    Write,
    /// N processes each map the file and touch every page at once.
    MultiTouch,
}

#[derive(Parser)]
#[command(about = "One famfs micro-benchmark measurement, printed as JSON")]
struct Cli {
    #[arg(value_enum)]
    test: Test,
    /// File or device to measure.
    path: String,
    /// Label for the report (famfs, ext4-dax, devdax, ...).
    #[arg(long)]
    target: String,
    /// Bytes to use (default: the file size; suffixes K, M, G, T).
    #[arg(long, value_parser = parse_len)]
    len: Option<usize>,
    /// Processes (multi-touch).
    #[arg(long, default_value_t = 1)]
    procs: usize,
}

const PAGE: usize = 4096;

/// A byte count, written as the other famfs tools write sizes.
fn parse_len(s: &str) -> Result<usize, String> {
    let n = famfs_util::parse_size(s)?;
    usize::try_from(n).map_err(|_| format!("size '{s}' does not fit in memory"))
}

struct Map {
    ptr: *mut u8,
    len: usize,
}

impl Map {
    fn new(path: &str, len: usize, write: bool) -> Result<Map> {
        let f = OpenOptions::new()
            .read(true)
            .write(write)
            .open(path)
            .with_context(|| format!("open {path}"))?;
        let prot = libc::PROT_READ | if write { libc::PROT_WRITE } else { 0 };
        // SAFETY: Mapping an open file or device; unmapped in Drop.
        let p = unsafe {
            libc::mmap(
                core::ptr::null_mut(),
                len,
                prot,
                libc::MAP_SHARED,
                f.as_raw_fd(),
                0,
            )
        };
        if p == libc::MAP_FAILED {
            bail!("mmap {path}: {}", std::io::Error::last_os_error());
        }
        Ok(Map { ptr: p.cast(), len })
    }

    fn touch(&self) -> u64 {
        let mut s = 0u64;
        let mut off = 0;
        while off < self.len {
            // SAFETY: `off < len` is inside the mapping.
            s = s.wrapping_add(u64::from(unsafe {
                core::ptr::read_volatile(self.ptr.add(off))
            }));
            off += PAGE;
        }
        s
    }

    fn read_all(&self) -> u64 {
        // SAFETY: The whole mapping is readable; u64 reads are aligned.
        let words = unsafe { core::slice::from_raw_parts(self.ptr.cast::<u64>(), self.len / 8) };
        words.iter().fold(0u64, |a, &w| a.wrapping_add(w))
    }

    fn write_all(&self, v: u8) {
        // SAFETY: The whole mapping is writable.
        unsafe { core::ptr::write_bytes(self.ptr, v, self.len) };
    }
}

impl Drop for Map {
    fn drop(&mut self) {
        // SAFETY: Unmapping what `new` mapped.
        unsafe { libc::munmap(self.ptr.cast(), self.len) };
    }
}

fn size_of_target(path: &str) -> Result<usize> {
    let md = std::fs::metadata(path)?;
    if md.len() > 0 {
        return Ok(md.len() as usize);
    }
    // A character device: the dax size from sysfs.
    let name = std::path::Path::new(path)
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let s = std::fs::read_to_string(format!("/sys/bus/dax/devices/{name}/size"))
        .with_context(|| format!("size of {path}"))?;
    Ok(s.trim().parse()?)
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let len = match cli.len {
        Some(l) => l,
        None => size_of_target(&cli.path)?,
    };
    let mut sink = 0u64;
    let start;
    match cli.test {
        Test::FirstTouch => {
            let m = Map::new(&cli.path, len, false)?;
            start = Instant::now();
            sink = m.touch();
        }
        Test::MmapRead => {
            let m = Map::new(&cli.path, len, false)?;
            m.touch();
            start = Instant::now();
            sink = m.read_all();
        }
        Test::MmapWrite => {
            let m = Map::new(&cli.path, len, true)?;
            m.write_all(0);
            start = Instant::now();
            m.write_all(0x5a);
        }
        Test::Read | Test::Write => {
            let f = OpenOptions::new()
                .read(true)
                .write(matches!(cli.test, Test::Write))
                .open(&cli.path)?;
            let mut buf = vec![0x33u8; 1 << 20];
            start = Instant::now();
            let mut off = 0usize;
            while off < len {
                let n = buf.len().min(len - off);
                let done = if matches!(cli.test, Test::Read) {
                    f.read_at(&mut buf[..n], off as u64)?
                } else {
                    f.write_at(&buf[..n], off as u64)?
                };
                if done == 0 {
                    bail!("short I/O at {off}");
                }
                off += done;
            }
            sink = u64::from(buf[0]);
        }
        Test::MultiTouch => {
            start = Instant::now();
            let mut pids = Vec::new();
            for _ in 0..cli.procs {
                // SAFETY: The child only maps, touches and exits.
                let pid = unsafe { libc::fork() };
                if pid == 0 {
                    let ok = Map::new(&cli.path, len, false).map(|m| m.touch()).is_ok();
                    // SAFETY: Leaving the child without running parent state.
                    unsafe { libc::_exit(if ok { 0 } else { 1 }) };
                }
                pids.push(pid);
            }
            for pid in pids {
                let mut status = 0;
                // SAFETY: Waiting for our own child.
                unsafe { libc::waitpid(pid, &mut status, 0) };
                if status != 0 {
                    bail!("a child failed");
                }
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    std::hint::black_box(sink);
    println!(
        "{{\"test\":\"{:?}\",\"target\":\"{}\",\"procs\":{},\"bytes\":{},\"seconds\":{:.6}}}",
        cli.test, cli.target, cli.procs, len, secs
    );
    Ok(())
}
