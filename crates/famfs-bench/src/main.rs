//! famfs-bench: one measurement per invocation, printed as one JSON line
//! `{"test":..,"target":..,"seconds":..,"bytes":..}` for tests/bench/report.
//!
//! The same code measures a famfs file, an ext4-dax file and a raw device-dax
//! device, so ratios compare the file systems, not the harness.
//!
//! A first touch also reports what the touch cost the process besides time:
//! the page faults it took (`minflt`, from getrusage: one per fault, whatever
//! its size), the page-table memory of the process before the mapping and
//! after the touch (`VmPTE` of /proc/self/status), the alignment of the
//! mapping's address (a 1 GiB entry needs a 1 GiB-aligned address), and with
//! `--famfs-stats` the famfs mount's fault counters over the touch. Then it
//! touches the mapping once more (`again_seconds`): the same work without
//! a fault, so that the faults' share of the first touch is the difference.

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
    /// Group name copied into the JSON line ("set"), so that the report can
    /// put measurements of one benchmark set into tables of their own.
    #[arg(long)]
    set: Option<String>,
    /// first-touch: the famfs mount's sysfs directory
    /// (/sys/fs/famfs/NAME): its pud_faults, pmd_faults and pte_faults are
    /// read before and after the touch, and the differences reported
    /// (null for a counter the module does not have).
    #[arg(long, value_name = "DIR")]
    famfs_stats: Option<String>,
    /// first-touch: map the file at an address aligned to exactly this
    /// (2M: 2 MiB aligned and never 1 GiB aligned, so that no 1 GiB entry
    /// can serve it however the memory is aligned). Default: where the
    /// kernel puts it.
    #[arg(long, value_enum)]
    map_align: Option<MapAlign>,
}

#[derive(Clone, Copy, ValueEnum, Debug, PartialEq)]
enum MapAlign {
    #[value(name = "2M")]
    TwoMiB,
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
        Self::new_at(path, len, write, None)
    }

    /// Maps `len` bytes of `path`; with `at`, at an address that is 2 MiB
    /// aligned and 2 MiB past a 1 GiB boundary (reserved first with an
    /// inaccessible anonymous mapping, then replaced by the file).
    fn new_at(path: &str, len: usize, write: bool, at: Option<MapAlign>) -> Result<Map> {
        let f = OpenOptions::new()
            .read(true)
            .write(write)
            .open(path)
            .with_context(|| format!("open {path}"))?;
        let prot = libc::PROT_READ | if write { libc::PROT_WRITE } else { 0 };
        let (hint, fixed) = match at {
            None => (core::ptr::null_mut(), 0),
            Some(MapAlign::TwoMiB) => (reserve_off_gib(len)?, libc::MAP_FIXED),
        };
        // SAFETY: Mapping an open file or device, either where the kernel
        // chooses or over our own reservation (MAP_FIXED replaces only
        // pages of that reservation); unmapped in Drop.
        let p = unsafe { libc::mmap(hint, len, prot, libc::MAP_SHARED | fixed, f.as_raw_fd(), 0) };
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

/// Reserves address space for `len` bytes at an address 2 MiB past a 1 GiB
/// boundary, and returns that address; the rest of the reservation is given
/// back, so that only `len` bytes stay reserved for the MAP_FIXED mapping.
fn reserve_off_gib(len: usize) -> Result<*mut libc::c_void> {
    const G: usize = 1 << 30;
    const OFF: usize = 2 << 20;
    let span = len + 2 * G;
    // SAFETY: A new inaccessible anonymous mapping; nothing else uses it.
    let base = unsafe {
        libc::mmap(
            core::ptr::null_mut(),
            span,
            libc::PROT_NONE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    if base == libc::MAP_FAILED {
        bail!("reserve {span} bytes: {}", std::io::Error::last_os_error());
    }
    let b = base as usize;
    let at = b.next_multiple_of(G) + OFF;
    let (head, tail) = (at - b, b + span - (at + len));
    // SAFETY: Both ranges lie inside the reservation just made and outside
    // [at, at + len); a zero length is skipped.
    unsafe {
        if head > 0 {
            libc::munmap(base, head);
        }
        if tail > 0 {
            libc::munmap((at + len) as *mut libc::c_void, tail);
        }
    }
    Ok(at as *mut libc::c_void)
}

/// The sizes a mapping's address can be aligned to, largest first.
const ALIGNS: [(usize, &str); 3] = [(1 << 30, "1G"), (2 << 20, "2M"), (PAGE, "4K")];

/// The largest of 1G, 2M and 4K that `addr` is a multiple of.
fn align_name(addr: usize) -> &'static str {
    ALIGNS
        .iter()
        .find(|(a, _)| addr % a == 0)
        .map_or("none", |&(_, n)| n)
}

/// The `VmPTE:` value (kB) of a /proc/PID/status text.
fn vmpte_kb(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmPTE:"))?;
    let mut words = line["VmPTE:".len()..].split_whitespace();
    let n = words.next()?.parse().ok()?;
    (words.next() == Some("kB")).then_some(n)
}

/// This process's page-table memory in kB (None if the kernel does not say).
fn own_vmpte_kb() -> Option<u64> {
    vmpte_kb(&std::fs::read_to_string("/proc/self/status").ok()?)
}

/// Minor faults this process has taken so far.
fn own_minflt() -> u64 {
    // SAFETY: getrusage fills the zeroed struct we pass.
    let mut ru: libc::rusage = unsafe { core::mem::zeroed() };
    // SAFETY: A valid pointer to a rusage.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    ru.ru_minflt as u64
}

/// The fault counters of a famfs mount; a counter is None where the module
/// has no such file.
const COUNTERS: [&str; 3] = ["pud_faults", "pmd_faults", "pte_faults"];

fn read_counters(dir: &str) -> [Option<u64>; 3] {
    COUNTERS.map(|c| {
        std::fs::read_to_string(format!("{dir}/{c}"))
            .ok()
            .and_then(|s| s.trim().parse().ok())
    })
}

/// `"pud":N,"pmd":N,"pte":N` (null where a counter is missing), the
/// differences of two readings.
fn counter_fields(before: &[Option<u64>; 3], after: &[Option<u64>; 3]) -> String {
    let mut out = Vec::new();
    for (i, name) in ["pud", "pmd", "pte"].iter().enumerate() {
        let v = match (before[i], after[i]) {
            (Some(b), Some(a)) => a.wrapping_sub(b).to_string(),
            _ => "null".to_string(),
        };
        out.push(format!("\"{name}\":{v}"));
    }
    out.join(",")
}

/// A JSON string of plain text (labels from the command line).
fn json_str(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
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
    if cli.map_align.is_some() && !matches!(cli.test, Test::FirstTouch) {
        bail!("--map-align is for first-touch only");
    }
    let mut sink = 0u64;
    let start;
    // set where the timed part ends before the end of the match
    let mut secs = None;
    // first-touch only: fields that follow the common ones in the JSON line
    let mut extra = String::new();
    match cli.test {
        Test::FirstTouch => {
            let pte0 = own_vmpte_kb();
            let m = Map::new_at(&cli.path, len, false, cli.map_align)?;
            let c0 = cli.famfs_stats.as_deref().map(read_counters);
            // The clock's first use faults in its vDSO pages: before the
            // count, so that `minflt` counts the mapping's faults only.
            std::hint::black_box(Instant::now().elapsed());
            let f0 = own_minflt();
            start = Instant::now();
            sink = m.touch();
            secs = Some(start.elapsed().as_secs_f64());
            let faults = own_minflt() - f0;
            let c1 = cli.famfs_stats.as_deref().map(read_counters);
            // the mapping is still there: its page tables count
            let pte1 = own_vmpte_kb();
            // The same touch again, now that every entry is in place: what
            // the touch costs without any fault (under TCG most of a first
            // touch), so that the faults' own share is the difference.
            let again = Instant::now();
            sink = sink.wrapping_add(m.touch());
            let again = again.elapsed().as_secs_f64();
            let kb = |v: Option<u64>| v.map_or("null".to_string(), |n| n.to_string());
            extra = format!(
                ",\"minflt\":{faults},\"vmpte_base_kb\":{},\"vmpte_kb\":{},\"map_align\":\"{}\",\"again_seconds\":{again:.6}",
                kb(pte0),
                kb(pte1),
                align_name(m.ptr as usize)
            );
            if let (Some(c0), Some(c1)) = (c0, c1) {
                extra += &format!(",\"famfs_faults\":{{{}}}", counter_fields(&c0, &c1));
            }
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
    let secs = secs.unwrap_or_else(|| start.elapsed().as_secs_f64());
    std::hint::black_box(sink);
    let set = cli
        .set
        .as_deref()
        .map_or(String::new(), |s| format!(",\"set\":{}", json_str(s)));
    println!(
        "{{\"test\":\"{:?}\",\"target\":{},\"procs\":{},\"bytes\":{},\"seconds\":{:.6}{set}{extra}}}",
        cli.test,
        json_str(&cli.target),
        cli.procs,
        len,
        secs
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The mappings of this process that overlap [lo, hi), as
    /// (start, end, permissions) from /proc/self/maps.
    fn maps_overlapping(lo: usize, hi: usize) -> Vec<(usize, usize, String)> {
        std::fs::read_to_string("/proc/self/maps")
            .unwrap()
            .lines()
            .filter_map(|l| {
                let mut f = l.split_whitespace();
                let (a, b) = f.next()?.split_once('-')?;
                let (a, b) = (
                    usize::from_str_radix(a, 16).ok()?,
                    usize::from_str_radix(b, 16).ok()?,
                );
                let perms = f.next()?.to_string();
                (a < hi && b > lo).then_some((a, b, perms))
            })
            .collect()
    }

    #[test]
    fn map_align_2m_is_off_a_gib_and_leaves_no_reservation() {
        let path = std::env::temp_dir().join(format!("famfs-bench-align-{}", std::process::id()));
        let f = std::fs::File::create(&path).unwrap();
        f.set_len(8 << 20).unwrap();
        f.write_at(&[7], 4 << 20).unwrap();
        let m = Map::new_at(
            path.to_str().unwrap(),
            8 << 20,
            false,
            Some(MapAlign::TwoMiB),
        )
        .unwrap();
        let at = m.ptr as usize;
        assert_eq!(at % (1 << 30), 2 << 20, "2 MiB past a 1 GiB boundary");
        assert_eq!(align_name(at), "2M");
        assert_eq!(m.touch(), 7, "the file's bytes are there");
        // only the file's mapping is left of the 2 GiB + 8 MiB reservation
        let near = maps_overlapping(at - (1 << 30), at + (8 << 20) + (1 << 30));
        let inaccessible: Vec<_> = near
            .iter()
            .filter(|(_, _, p)| p.starts_with("---"))
            .collect();
        assert!(
            inaccessible.is_empty(),
            "reservation left behind: {near:x?}"
        );
        assert!(
            near.iter().any(|&(a, b, _)| a == at && b == at + (8 << 20)),
            "{near:x?}"
        );
        drop(m);
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn vmpte_of_a_status_text() {
        let status = "Name:\tfamfs-bench\nVmPTE:\t    8244 kB\nVmSwap:\t       0 kB\n";
        assert_eq!(vmpte_kb(status), Some(8244));
        assert_eq!(vmpte_kb("Name:\tx\nVmSwap:\t0 kB\n"), None);
        assert_eq!(vmpte_kb("VmPTE:\t12 MB\n"), None);
        assert_eq!(vmpte_kb("VmPTE:\tlots kB\n"), None);
    }

    #[test]
    fn own_status_has_vmpte() {
        assert!(own_vmpte_kb().is_some());
    }

    #[test]
    fn alignment_names() {
        assert_eq!(align_name(3 << 30), "1G");
        assert_eq!(align_name((1 << 30) + (2 << 20)), "2M");
        assert_eq!(align_name(0x7f00_0000_1000), "4K");
        assert_eq!(align_name(0x7f00_0000_1001), "none");
    }

    #[test]
    fn counters_differences_and_missing_ones() {
        let before = [None, Some(10), Some(5)];
        let after = [None, Some(522), Some(5)];
        assert_eq!(
            counter_fields(&before, &after),
            "\"pud\":null,\"pmd\":512,\"pte\":0"
        );
        let dir = std::env::temp_dir().join(format!("famfs-bench-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("pmd_faults"), "7\n").unwrap();
        std::fs::write(dir.join("pte_faults"), "0\n").unwrap();
        let got = read_counters(dir.to_str().unwrap());
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(got, [None, Some(7), Some(0)]);
    }

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(json_str("famfs-pud"), "\"famfs-pud\"");
        assert_eq!(json_str("a\"b\\c\n"), "\"a\\\"b\\\\c\\u000a\"");
    }
}
