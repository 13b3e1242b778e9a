//! famfs-maptool: drives the famfs map ioctls directly, so that the kernel's
//! data path can be tested before (and independently of) the famfs CLI.
//!
//! Failures of the ioctl under test are reported as
//! `famfs-maptool: <what>: <ERRNO NAME> (<message>)` with exit status 1, so
//! that tests can check the exact errno.

use std::fs::{File, OpenOptions};
use std::io::Error;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::AsRawFd;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use famfs_abi::*;
use famfs_util::{errno_name, parse_size};

mod failnth;
mod fuzz;
mod fuzz_mount;
mod k44;
mod many;
mod race;
mod stress;

/// An extent from the command line: its device (`DEV@`, KABI 44 only),
/// offset and length.
type ExtSpec = (Option<u32>, u64, u64);
/// An interleaved extent from the command line: chunk size, bytes, strips.
type IeSpec = (u64, u64, Vec<ExtSpec>);

#[derive(Parser)]
#[command(
    version,
    about = "Create and inspect famfs extent maps through the ioctls"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Clone, Copy, ValueEnum)]
enum Kind {
    Reg,
    Superblock,
    Log,
}

#[derive(Subcommand)]
enum Cmd {
    /// Give FILE an extent map.
    Create {
        file: String,
        /// File size in bytes (suffixes K, M, G, T; 0x for hexadecimal).
        #[arg(long, value_parser = parse_size)]
        size: u64,
        /// A simple extent [DEV@]OFFSET:LEN (repeatable; DEV@, a device
        /// index, with --kabi44 only).
        #[arg(long = "extent", value_parser = parse_extent)]
        extents: Vec<ExtSpec>,
        /// An interleaved extent CHUNK:NBYTES:[DEV@]OFF:LEN[,...] (repeatable).
        #[arg(long = "interleave", value_parser = parse_ie)]
        ies: Vec<IeSpec>,
        /// Use the v1 ioctl (FAMFSIOC_MAP_CREATE) instead of v2.
        #[arg(long)]
        v1: bool,
        /// File type.
        #[arg(long, value_enum, default_value = "reg")]
        kind: Kind,
        /// Raw file type number (overrides --kind; for bad-input tests).
        #[arg(long)]
        raw_type: Option<u32>,
        /// Raw extent count (overrides the real one; for bad-input tests).
        #[arg(long)]
        raw_count: Option<u64>,
        /// Device index of every extent (v2; must be 0).
        #[arg(long, default_value_t = 0)]
        devindex: u64,
        /// Pass an invalid user pointer for the extent array (v2) or the
        /// whole argument (v1).
        #[arg(long)]
        bad_pointer: bool,
        /// Create FILE with open(O_RDWR|O_CREAT|O_EXCL, MODE) (octal) and
        /// issue the ioctl on that descriptor, as the public famfs tools do
        /// (default: open the existing FILE read-only).
        #[arg(long, value_parser = parse_mode)]
        creat: Option<u32>,
        /// Issue the ioctl N times (stopping at the first success); the
        /// result of the last one is reported. For log-flooding tests.
        #[arg(long, default_value_t = 1)]
        repeat: u64,
        /// Use KABI 44's FAMFS44_IOC_MAP_CREATE (a map message).
        #[arg(long, conflicts_with = "v1")]
        kabi44: bool,
        /// KABI 44: this fmap_version instead of 1 (bad-input tests).
        #[arg(long, requires = "kabi44")]
        msg_version: Option<u16>,
        /// KABI 44: this fmap_size instead of the message's length.
        #[arg(long, requires = "kabi44")]
        msg_size: Option<u32>,
        /// KABI 44: a non-zero reserved field in the header.
        #[arg(long, requires = "kabi44")]
        msg_reserved: bool,
    },
    /// Print FILE's map (v1 and v2 views, or the KABI 44 message).
    Get {
        file: String,
        /// Use MAP_GET (v1) only.
        #[arg(long)]
        v1: bool,
        /// Read the map as a KABI 44 message (FAMFS44_IOC_MAP_GET).
        #[arg(long, conflicts_with = "v1")]
        kabi44: bool,
        /// KABI 44: the buffer's size in bytes (fmap_size going in; default
        /// the longest message a map can need).
        #[arg(long, requires = "kabi44")]
        buf_size: Option<u32>,
    },
    /// Print the mount's permission bits (KABI 44 GET_OPTS) of any FILE or
    /// directory of it, or set or clear bits first; prints opts=0xBITS.
    Opts {
        file: String,
        /// SET_OPTS these bits (a number, 0x for hexadecimal).
        #[arg(long, value_parser = parse_size, conflicts_with = "clear")]
        set: Option<u64>,
        /// CLEAR_OPTS these bits.
        #[arg(long, value_parser = parse_size)]
        clear: Option<u64>,
    },
    /// Print the mount's device table (our KABI 44 DAXDEV_GET) through any
    /// FILE or directory of it: one line "INDEX NAME SIZE STATE" per
    /// device, STATE "ok" or "failed".
    Devices {
        file: String,
        /// Ask for this slot only, and print what the call returned, empty
        /// slot or not: "index=N name=NAME size=BYTES state=BITS
        /// reserved=N".
        #[arg(long)]
        index: Option<u64>,
        /// Pass an invalid user pointer (with --index).
        #[arg(long, requires = "index")]
        bad_pointer: bool,
    },
    /// Map FILE and touch every STEP bytes; print the number of pages touched.
    Touch {
        file: String,
        /// Bytes between touches.
        #[arg(long, default_value_t = 4096)]
        step: usize,
        /// Write (a byte) instead of read.
        #[arg(long)]
        write: bool,
        /// Map at an address 4 KiB past a 2 MiB boundary (no PMD faults possible).
        #[arg(long)]
        misaligned: bool,
        /// MAP_PRIVATE instead of MAP_SHARED.
        #[arg(long)]
        private: bool,
    },
    /// Issue FAMFSIOC_NOP on FILE.
    Nop {
        file: String,
        /// KABI 44's FAMFS44_IOC_NOP instead of KABI 43's.
        #[arg(long)]
        kabi44: bool,
    },
    /// Issue KABI 44's DAXDEV_OPEN on FILE (any file or directory of the
    /// mount): open the dax device at PATH as device INDEX of the mount.
    DaxdevOpen {
        file: String,
        path: String,
        /// The device table index.
        #[arg(long)]
        index: u64,
        /// The flags field (must be 0; for bad-input tests).
        #[arg(long, default_value_t = 0)]
        flags: u32,
        /// This path length instead of the path's (bad-input tests).
        #[arg(long)]
        path_len: Option<u32>,
        /// Pass an invalid user pointer for the path.
        #[arg(long)]
        bad_pointer: bool,
    },
    /// Run a command with the N-th kernel allocation of its task failing.
    FailNth(failnth::Args),
    /// mount(2) a famfs file system; print OK or the errno name.
    Mount {
        source: String,
        target: String,
        options: Option<String>,
    },
    /// Map FILE's first page and poison it (MADV_HWPOISON) in this process.
    Poison { file: String },
    /// Race test: touch a file while it is truncated; no page may stay mapped.
    RaceTruncate(race::TruncateArgs),
    /// Race test: touch a file while another file of its mount is poisoned.
    RaceMemfail(race::MemfailArgs),
    /// Fuzz the map ioctls; every answer is checked against the model.
    FuzzMaps(fuzz::FuzzArgs),
    /// Fuzz the mount options; every result is checked against the rules.
    FuzzMount(fuzz_mount::FuzzMountArgs),
    /// Concurrency stress: processes creating, mapping, truncating,
    /// unlinking and renaming files on one mount, with a memory failure.
    Stress(stress::StressArgs),
    /// Create COUNT files DIR/PREFIXi, file i mapped (MAP_CREATE_V2) at
    /// START + i * STRIDE for LEN bytes: many files from one process.
    CreateMany(many::ManyArgs),
}

/// Creates `path` (it must not exist), readable and writable, mode 0644:
/// how the test commands make the files they then give a map.
pub(crate) fn create_new(path: &str) -> std::io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o644)
        .open(path)
}

fn parse_mode(s: &str) -> Result<u32, String> {
    u32::from_str_radix(s, 8).map_err(|e| format!("bad octal mode '{s}': {e}"))
}

fn parse_extent(s: &str) -> Result<ExtSpec, String> {
    let (dev, rest) = match s.split_once('@') {
        Some((d, r)) => (
            Some(
                d.parse::<u32>()
                    .map_err(|_| format!("bad device index '{d}'"))?,
            ),
            r,
        ),
        None => (None, s),
    };
    let (o, l) = rest.split_once(':').ok_or("expected [DEV@]OFFSET:LEN")?;
    Ok((dev, parse_size(o)?, parse_size(l)?))
}

fn parse_ie(s: &str) -> Result<IeSpec, String> {
    let mut parts = s.splitn(3, ':');
    let chunk = parse_size(parts.next().ok_or("expected CHUNK")?)?;
    let nbytes = parse_size(parts.next().ok_or("expected NBYTES")?)?;
    let strips = parts
        .next()
        .ok_or("expected strips")?
        .split(',')
        .map(parse_extent)
        .collect::<Result<Vec<_>, _>>()?;
    Ok((chunk, nbytes, strips))
}

/// The errno of the last call, as "ENAME (message)".
fn errno_text(e: &Error) -> String {
    format!("{} ({e})", errno_name(e))
}

/// The failure of the operation under test: printed with its errno name.
struct OpError(String);

fn ioctl<T>(f: &File, cmd: u32, arg: *mut T, what: &str) -> Result<(), OpError> {
    // SAFETY: `arg` points to a structure of the size `cmd` encodes (or is
    // deliberately invalid, which the kernel must reject with EFAULT).
    let r = unsafe { libc::ioctl(f.as_raw_fd(), cmd as libc::c_ulong, arg) };
    if r < 0 {
        return Err(OpError(format!(
            "{what}: {}",
            errno_text(&Error::last_os_error())
        )));
    }
    Ok(())
}

const BAD_PTR: usize = 0x10;

#[allow(clippy::too_many_arguments)]
fn create(
    file: &str,
    size: u64,
    extents: &[ExtSpec],
    ies: &[IeSpec],
    v1: bool,
    ftype: u32,
    raw_count: Option<u64>,
    devindex: u64,
    bad_pointer: bool,
    creat: Option<u32>,
    repeat: u64,
) -> Result<Result<(), OpError>> {
    let per_dev = extents.iter().chain(ies.iter().flat_map(|ie| ie.2.iter()));
    if per_dev.clone().any(|e| e.0.is_some()) {
        bail!("DEV@ extents are for --kabi44 (KABI 43 takes --devindex for all)");
    }
    let f = open_target(file, creat)?;
    let issue = |cmd: u32, arg: *mut core::ffi::c_void, what: &str| {
        let mut res = ioctl(&f, cmd, arg, what);
        for _ in 1..repeat {
            if res.is_ok() {
                break;
            }
            res = ioctl(&f, cmd, arg, what);
        }
        res
    };
    if v1 {
        if !ies.is_empty() {
            bail!("--v1 takes simple extents only");
        }
        let mut m = FamfsIocMap {
            extent_type: SIMPLE_DAX_EXTENT,
            file_type: ftype,
            file_size: size,
            ext_list_count: raw_count.unwrap_or(extents.len() as u64),
            ..Default::default()
        };
        for (d, (_, o, l)) in m.ext_list.iter_mut().zip(extents) {
            *d = FamfsExtent {
                offset: *o,
                len: *l,
            };
        }
        let arg: *const FamfsIocMap = if bad_pointer { BAD_PTR as *const _ } else { &m };
        return Ok(issue(
            FAMFSIOC_MAP_CREATE,
            arg.cast_mut().cast(),
            "MAP_CREATE",
        ));
    }
    let simple: Vec<FamfsIocSimpleExtent> = extents
        .iter()
        .map(|(_, o, l)| FamfsIocSimpleExtent {
            devindex,
            offset: *o,
            len: *l,
        })
        .collect();
    let strips: Vec<Vec<FamfsIocSimpleExtent>> = ies
        .iter()
        .map(|(_, _, s)| {
            s.iter()
                .map(|(_, o, l)| FamfsIocSimpleExtent {
                    devindex,
                    offset: *o,
                    len: *l,
                })
                .collect()
        })
        .collect();
    let iev: Vec<FamfsIocInterleavedExt> = ies
        .iter()
        .zip(&strips)
        .map(|((chunk, nbytes, _), s)| FamfsIocInterleavedExt {
            ie_nstrips: s.len() as u64,
            ie_chunk_size: *chunk,
            ie_nbytes: *nbytes,
            ie_strips: if bad_pointer {
                BAD_PTR as *const _
            } else {
                s.as_ptr()
            },
        })
        .collect();
    let fmap = if ies.is_empty() {
        let count = raw_count.map_or(simple.len() as u32, |c| c as u32);
        let kse = if bad_pointer {
            BAD_PTR as *const _
        } else {
            simple.as_ptr()
        };
        FamfsIocFmap::simple(size, ftype, count, kse)
    } else {
        let count = raw_count.map_or(iev.len() as u32, |c| c as u32);
        FamfsIocFmap::interleave(size, ftype, count, iev.as_ptr())
    };
    Ok(issue(
        FAMFSIOC_MAP_CREATE_V2,
        (&raw const fmap).cast_mut().cast(),
        "MAP_CREATE_V2",
    ))
}

/// The file a map is made for: opened read-only, or created with
/// open(O_RDWR|O_CREAT|O_EXCL, MODE) as the public famfs tools do.
fn open_target(file: &str, creat: Option<u32>) -> Result<File> {
    match creat {
        Some(mode) => OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(file),
        None => OpenOptions::new().read(true).open(file),
    }
    .with_context(|| format!("open {file}"))
}

/// FAMFS44_IOC_MAP_CREATE with the message `m` (or a bad pointer).
fn create44(
    file: &str,
    m: &[u8],
    bad_pointer: bool,
    creat: Option<u32>,
) -> Result<Result<(), OpError>> {
    use famfs_abi::kabi44::FAMFS44_IOC_MAP_CREATE;
    let f = open_target(file, creat)?;
    let arg: *const u8 = if bad_pointer {
        BAD_PTR as *const u8
    } else {
        m.as_ptr()
    };
    Ok(ioctl(
        &f,
        FAMFS44_IOC_MAP_CREATE,
        arg.cast_mut(),
        "MAP_CREATE44",
    ))
}

fn daxdev_open(
    file: &str,
    path: &str,
    index: u64,
    flags: u32,
    path_len: Option<u32>,
    bad_pointer: bool,
) -> Result<Result<(), OpError>> {
    use famfs_abi::kabi44::{FamfsIocDaxdev, FAMFS44_IOC_DAXDEV_OPEN};
    let f = File::open(file).with_context(|| format!("open {file}"))?;
    let mut req = FamfsIocDaxdev {
        daxdev_index: index,
        daxdev_path: if bad_pointer {
            BAD_PTR as u64
        } else {
            path.as_ptr() as u64
        },
        daxdev_path_len: path_len.unwrap_or(path.len() as u32),
        flags,
    };
    Ok(ioctl(
        &f,
        FAMFS44_IOC_DAXDEV_OPEN,
        &raw mut req,
        "DAXDEV_OPEN",
    ))
}

fn get(file: &str, v1_only: bool) -> Result<Result<(), OpError>> {
    let f = File::open(file).with_context(|| format!("open {file}"))?;
    let mut m = FamfsIocMap::default();
    match ioctl(&f, FAMFSIOC_MAP_GET, &raw mut m, "MAP_GET") {
        Ok(()) => {
            println!(
                "v1 type={} size={} count={}",
                m.file_type, m.file_size, m.ext_list_count
            );
            println!("v1 extent_type={}", m.extent_type);
            // Interleaved maps come without extents in the v1 structure.
            let simple = if m.extent_type == SIMPLE_DAX_EXTENT {
                m.ext_list_count as usize
            } else {
                0
            };
            for e in m.ext_list.iter().take(simple) {
                println!("v1 extent {:#x}:{:#x}", e.offset, e.len);
            }
        }
        Err(e) if v1_only => return Ok(Err(e)),
        Err(e) => println!("v1 {}", e.0),
    }
    if v1_only {
        return Ok(Ok(()));
    }
    let mut g = FamfsIocGetFmap::default();
    if let Err(e) = ioctl(&f, FAMFSIOC_MAP_GET_V2, &raw mut g, "MAP_GET_V2") {
        return Ok(Err(e));
    }
    let h = &g.iocmap;
    println!(
        "v2 type={} size={} ext_type={} count={}",
        h.fioc_file_type,
        h.fioc_file_size,
        h.fioc_ext_type,
        h.count()
    );
    if h.fioc_ext_type == FAMFS_IOC_EXT_SIMPLE {
        for e in g.simple_extents() {
            println!(
                "v2 extent {}{:#x}:{:#x}",
                dev_prefix(e.devindex),
                e.offset,
                e.len
            );
        }
    } else {
        let (ie, strips) = g.interleaved();
        println!(
            "v2 interleave nstrips={} chunk={:#x} nbytes={:#x}",
            ie.ie_nstrips, ie.ie_chunk_size, ie.ie_nbytes
        );
        for e in strips {
            println!(
                "v2 strip {}{:#x}:{:#x}",
                dev_prefix(e.devindex),
                e.offset,
                e.len
            );
        }
    }
    Ok(Ok(()))
}

/// KABI 44 GET/SET/CLEAR_OPTS: prints the bits the call returned.
fn opts(file: &str, set: Option<u64>, clear: Option<u64>) -> Result<Result<(), OpError>> {
    use famfs_abi::kabi44::{
        FamfsIocOpts, FAMFS44_IOC_CLEAR_OPTS, FAMFS44_IOC_GET_OPTS, FAMFS44_IOC_SET_OPTS,
    };
    let f = File::open(file).with_context(|| format!("open {file}"))?;
    let (cmd, bits, what) = match (set, clear) {
        (Some(b), _) => (FAMFS44_IOC_SET_OPTS, b, "SET_OPTS"),
        (_, Some(b)) => (FAMFS44_IOC_CLEAR_OPTS, b, "CLEAR_OPTS"),
        _ => (FAMFS44_IOC_GET_OPTS, 0, "GET_OPTS"),
    };
    let mut o = FamfsIocOpts { opts: bits };
    if let Err(e) = ioctl(&f, cmd, &raw mut o, what) {
        return Ok(Err(e));
    }
    println!("opts={:#x}", o.opts);
    Ok(Ok(()))
}

/// Our KABI 44 DAXDEV_GET: every non-empty slot of the mount's device
/// table, or the raw answer for slot `index`.
fn devices(file: &str, index: Option<u64>, bad_pointer: bool) -> Result<Result<(), OpError>> {
    use famfs_abi::kabi44::{
        FamfsIocDaxdevInfo, FAMFS44_DAXDEV_FAILED, FAMFS44_IOC_DAXDEV_GET, FAMFS44_MAX_DAXDEVS,
    };
    let f = File::open(file).with_context(|| format!("open {file}"))?;
    let get = |i: u64| {
        let mut d = FamfsIocDaxdevInfo {
            index: i,
            ..Default::default()
        };
        let arg: *mut FamfsIocDaxdevInfo = if bad_pointer {
            BAD_PTR as *mut _
        } else {
            &raw mut d
        };
        ioctl(&f, FAMFS44_IOC_DAXDEV_GET, arg, "DAXDEV_GET").map(|()| d)
    };
    if let Some(i) = index {
        let d = match get(i) {
            Ok(d) => d,
            Err(e) => return Ok(Err(e)),
        };
        println!(
            "index={} name={} size={} state={} pud_phase={}",
            d.index,
            String::from_utf8_lossy(d.name_bytes()),
            d.size,
            d.state,
            d.pud_phase
        );
        return Ok(Ok(()));
    }
    for i in 0..u64::from(FAMFS44_MAX_DAXDEVS) {
        let d = match get(i) {
            Ok(d) => d,
            Err(e) => return Ok(Err(e)),
        };
        if d.index != i {
            bail!("DAXDEV_GET of slot {i} changed the index to {}", d.index);
        }
        if d.state == 0 {
            continue;
        }
        println!(
            "{i} {} {} {}",
            String::from_utf8_lossy(d.name_bytes()),
            d.size,
            if d.state & FAMFS44_DAXDEV_FAILED != 0 {
                "failed"
            } else {
                "ok"
            }
        );
    }
    Ok(Ok(()))
}

/// Our KABI 44 MAP_GET: prints the message's header and records, in the
/// `--extent`/`--interleave` syntax.
fn get44(file: &str, buf_size: Option<u32>) -> Result<Result<(), OpError>> {
    use famfs_abi::kabi44::{FAMFS44_EXT_SIMPLE, FAMFS44_IOC_MAP_GET};
    let f = File::open(file).with_context(|| format!("open {file}"))?;
    let size = buf_size.unwrap_or(famfs_fmap::msg44::LONGEST_MAP as u32);
    // At least the header: the kernel reads and writes that much.
    let mut buf = vec![0u8; (size as usize).max(famfs_fmap::msg44::HEADER_SIZE)];
    buf[12..16].copy_from_slice(&size.to_ne_bytes());
    let res = ioctl(&f, FAMFS44_IOC_MAP_GET, buf.as_mut_ptr(), "MAP_GET44");
    let u32_at = |b: &[u8], at: usize| u32::from_ne_bytes(b[at..at + 4].try_into().unwrap());
    let u64_at = |b: &[u8], at: usize| u64::from_ne_bytes(b[at..at + 8].try_into().unwrap());
    if let Err(e) = res {
        // ERANGE still writes the header, with the length needed.
        println!("needed={}", u32_at(&buf, 12));
        return Ok(Err(e));
    }
    let (ext_type, n, len) = (u32_at(&buf, 4), u32_at(&buf, 8), u32_at(&buf, 12));
    println!(
        "k44 type={} version={} ext_type={ext_type} count={n} fmap_size={len} size={}",
        buf[0],
        u16::from_ne_bytes([buf[2], buf[3]]),
        u64_at(&buf, 16)
    );
    let se = |at: usize| {
        format!(
            "{}@{:#x}:{:#x}",
            u32_at(&buf, at),
            u64_at(&buf, at + 8),
            u64_at(&buf, at + 16)
        )
    };
    if len as usize > buf.len() {
        bail!("fmap_size {len} is larger than the buffer");
    }
    // Each record (and an interleaved extent's strips) inside fmap_size.
    let fits = |at: usize, n: usize| at + 24 * n <= len as usize;
    let mut at = famfs_fmap::msg44::HEADER_SIZE;
    for _ in 0..n {
        if !fits(at, 1) {
            bail!("a record lies past fmap_size");
        }
        if ext_type == FAMFS44_EXT_SIMPLE {
            println!("k44 extent {}", se(at));
            at += 24;
        } else {
            let nstrips = u32_at(&buf, at) as usize;
            if !fits(at, 1 + nstrips) {
                bail!("a strip lies past fmap_size");
            }
            let strips: Vec<String> = (0..nstrips).map(|i| se(at + 24 + 24 * i)).collect();
            println!(
                "k44 interleave {:#x}:{:#x}:{}",
                u32_at(&buf, at + 4),
                u64_at(&buf, at + 8),
                strips.join(",")
            );
            at += 24 + 24 * nstrips;
        }
    }
    Ok(Ok(()))
}

/// `DEV@` before a range on another device than 0 (the `--extent` syntax).
fn dev_prefix(dev: u64) -> String {
    if dev == 0 {
        String::new()
    } else {
        format!("{dev}@")
    }
}

fn touch(
    file: &str,
    step: usize,
    write: bool,
    misaligned: bool,
    private: bool,
) -> Result<Result<(), OpError>> {
    let f = OpenOptions::new()
        .read(true)
        .write(write && !private)
        .open(file)
        .with_context(|| format!("open {file}"))?;
    let len = f.metadata()?.len() as usize;
    if len == 0 {
        bail!("{file} is empty");
    }
    let prot = libc::PROT_READ | if write { libc::PROT_WRITE } else { 0 };
    let flags = if private {
        libc::MAP_PRIVATE
    } else {
        libc::MAP_SHARED
    };
    let hint = if misaligned {
        // Reserve a window, then ask for an address 4 KiB past a 2 MiB boundary.
        // SAFETY: An anonymous reservation, unmapped right away.
        let r = unsafe {
            libc::mmap(
                core::ptr::null_mut(),
                len + (4 << 20),
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if r == libc::MAP_FAILED {
            bail!("reserve: {}", Error::last_os_error());
        }
        // SAFETY: Unmapping our own reservation.
        unsafe { libc::munmap(r, len + (4 << 20)) };
        (((r as usize) + (2 << 20) - 1) & !((2 << 20) - 1)) + 4096
    } else {
        0
    };
    let fixed = if misaligned {
        libc::MAP_FIXED_NOREPLACE
    } else {
        0
    };
    // SAFETY: Mapping an open file; the mapping is only used below.
    let p = unsafe { libc::mmap(hint as *mut _, len, prot, flags | fixed, f.as_raw_fd(), 0) };
    if p == libc::MAP_FAILED {
        return Ok(Err(OpError(format!(
            "mmap: {}",
            errno_text(&Error::last_os_error())
        ))));
    }
    let base = p.cast::<u8>();
    let mut n = 0usize;
    let mut sum = 0u64;
    let mut off = 0;
    while off < len {
        // SAFETY: `off < len` lies inside the mapping.
        unsafe {
            let a = base.add(off);
            if write {
                core::ptr::write_volatile(a, (off / step) as u8);
            } else {
                sum = sum.wrapping_add(u64::from(core::ptr::read_volatile(a)));
            }
        }
        n += 1;
        off += step;
    }
    // SAFETY: Unmapping the mapping made above.
    unsafe { libc::munmap(p, len) };
    println!("touched {n} at {:#x} (sum {sum})", base as usize);
    Ok(Ok(()))
}

fn run(cli: Cli) -> Result<Result<(), OpError>> {
    match cli.cmd {
        Cmd::Create {
            file,
            size,
            extents,
            ies,
            v1,
            kind,
            raw_type,
            raw_count,
            devindex,
            bad_pointer,
            creat,
            repeat,
            kabi44,
            msg_version,
            msg_size,
            msg_reserved,
        } => {
            let ftype = raw_type.unwrap_or(match kind {
                Kind::Reg => FAMFS_REG,
                Kind::Superblock => FAMFS_SUPERBLOCK,
                Kind::Log => FAMFS_LOG,
            });
            if extents.is_empty() && ies.is_empty() && raw_count.is_none() {
                bail!("give --extent or --interleave");
            }
            if kabi44 {
                let knobs = k44::Knobs {
                    version: msg_version,
                    size: msg_size,
                    count: raw_count.map(|c| c as u32),
                    reserved: msg_reserved,
                };
                let dev = u32::try_from(devindex).context("--devindex for KABI 44 is 32 bits")?;
                let ftype = u8::try_from(ftype).context("a KABI 44 file type is 8 bits")?;
                let m = k44::message(ftype, size, &extents, &ies, dev, knobs)?;
                return create44(&file, &m, bad_pointer, creat);
            }
            create(
                &file,
                size,
                &extents,
                &ies,
                v1,
                ftype,
                raw_count,
                devindex,
                bad_pointer,
                creat,
                repeat,
            )
        }
        Cmd::Get {
            file,
            kabi44: true,
            buf_size,
            ..
        } => get44(&file, buf_size),
        Cmd::Get { file, v1, .. } => get(&file, v1),
        Cmd::Opts { file, set, clear } => opts(&file, set, clear),
        Cmd::Devices {
            file,
            index,
            bad_pointer,
        } => devices(&file, index, bad_pointer),
        Cmd::Touch {
            file,
            step,
            write,
            misaligned,
            private,
        } => touch(&file, step, write, misaligned, private),
        Cmd::DaxdevOpen {
            file,
            path,
            index,
            flags,
            path_len,
            bad_pointer,
        } => daxdev_open(&file, &path, index, flags, path_len, bad_pointer),
        Cmd::Nop { file, kabi44 } => {
            let f = File::open(&file).with_context(|| format!("open {file}"))?;
            if kabi44 {
                use famfs_abi::kabi44::FAMFS44_IOC_NOP;
                return Ok(ioctl(
                    &f,
                    FAMFS44_IOC_NOP,
                    core::ptr::null_mut::<u8>(),
                    "NOP44",
                ));
            }
            Ok(ioctl(&f, FAMFSIOC_NOP, core::ptr::null_mut::<u8>(), "NOP"))
        }
        Cmd::FailNth(_) => unreachable!("handled in main"),
        Cmd::Mount {
            source,
            target,
            options,
        } => failnth::mount(&source, &target, options.as_deref()).map(Ok),
        Cmd::Poison { file } => failnth::poison(&file).map(Ok),
        Cmd::RaceTruncate(a) => race::race_truncate(&a),
        Cmd::RaceMemfail(a) => race::race_memfail(&a),
        Cmd::FuzzMaps(a) => fuzz::fuzz_maps(&a),
        Cmd::FuzzMount(a) => fuzz_mount::fuzz_mount(&a),
        Cmd::Stress(a) => stress::stress(&a),
        Cmd::CreateMany(a) => many::create_many(&a),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Cmd::FailNth(a) = &cli.cmd {
        return match failnth::fail_nth(a) {
            Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(255)),
            Err(e) => {
                eprintln!("famfs-maptool: fail-nth: {e:#}");
                ExitCode::from(2)
            }
        };
    }
    match run(cli) {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(OpError(msg))) => {
            eprintln!("famfs-maptool: {msg}");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("famfs-maptool: {e:#}");
            ExitCode::from(2)
        }
    }
}
