//! `fuzz-maps`: random valid and invalid maps through the KABI 43 ioctls,
//! each answer checked against the independent model (`famfs-model`).
//!
//! Every case builds the structures of one call in an arena of user memory
//! laid out as three pages: A (readable and writable), B (read-only) and C
//! (unmapped). Structures normally sit in A; a case may instead place one of
//! them across the A|B boundary (readable, not writable), across B|C (the
//! tail unreadable), in C, at NULL, at a kernel address or at a small
//! address. The model reads the very bytes the module will read (through a
//! second, writable mapping of the same memory) and says which answers the
//! call may get: success, or the errno of any rule it breaks. After a map
//! is accepted the three get calls must write exactly what the model says
//! (the map given, zeros elsewhere).
//!
//! The run is seeded; a failing case is printed with its structures and the
//! command that replays the run up to it (the mount's state, its live files,
//! comes from the cases before).

use std::fs::File;
use std::io::Error;
use std::os::unix::io::AsRawFd;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use clap::Args;
use famfs_abi::{
    FAMFSIOC_MAP_CREATE, FAMFSIOC_MAP_CREATE_V2, FAMFSIOC_MAP_GET, FAMFSIOC_MAP_GETEXT,
    FAMFSIOC_MAP_GET_V2, FAMFSIOC_NOP,
};
use famfs_fmap::{Fmap, Layout};
use famfs_model::ioctl::{self as model, errno_name, Expect, GetCall, Mem, Mount, Target};
use famfs_model::{model_ranges, Flaw};

use crate::race::Rng;
use crate::OpError;

const PAGE: u64 = 4096;
const M2: u64 = 2 << 20;

#[derive(Args)]
pub(crate) struct FuzzArgs {
    /// A mounted, empty famfs directory (the files are made in it).
    dir: String,
    /// Number of cases.
    #[arg(long, default_value_t = 20000)]
    cases: u64,
    /// Seed (default: from the clock; printed).
    #[arg(long)]
    seed: Option<u64>,
    /// Stop starting cases after this many seconds (0: no limit).
    #[arg(long, default_value_t = 0)]
    max_seconds: u64,
    /// Most mapped files alive at once (more: the oldest is removed).
    #[arg(long, default_value_t = 10)]
    live: usize,
    /// Device size in bytes (default: from /sys/fs/famfs/<device>/device_size
    /// of the mount, found through --stats).
    #[arg(long, value_parser = crate::parse_size)]
    dev_size: Option<u64>,
    /// The mount's sysfs directory (/sys/fs/famfs/<device>).
    #[arg(long)]
    stats: Option<String>,
    /// Self-test: check against a deliberately wrong model (offsets need no
    /// 2 MiB alignment); the run must report disagreements.
    #[arg(long)]
    wrong_model: bool,
    /// Stop after this many disagreements.
    #[arg(long, default_value_t = 5)]
    max_failures: u64,
}

// ---- the arena -----------------------------------------------------------------

/// Pages A (rw), B (ro), C (none) at `base`, and a writable alias of A and B.
struct Arena {
    base: u64,
    alias: *mut u8,
}

impl Arena {
    fn new() -> Result<Arena> {
        // SAFETY: memfd_create with a static name.
        let fd = unsafe { libc::memfd_create(c"famfs-fuzz".as_ptr(), 0) };
        if fd < 0 {
            bail!("memfd_create: {}", Error::last_os_error());
        }
        // SAFETY: Sizing our own memfd; the mappings below are ours.
        unsafe {
            if libc::ftruncate(fd, (2 * PAGE) as libc::off_t) != 0 {
                bail!("ftruncate memfd: {}", Error::last_os_error());
            }
            let r = libc::mmap(
                core::ptr::null_mut(),
                (3 * PAGE) as usize,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            if r == libc::MAP_FAILED {
                bail!("reserve arena: {}", Error::last_os_error());
            }
            let a = libc::mmap(
                r,
                PAGE as usize,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_FIXED,
                fd,
                0,
            );
            let b = libc::mmap(
                (r as usize + PAGE as usize) as *mut libc::c_void,
                PAGE as usize,
                libc::PROT_READ,
                libc::MAP_SHARED | libc::MAP_FIXED,
                fd,
                PAGE as libc::off_t,
            );
            let alias = libc::mmap(
                core::ptr::null_mut(),
                (2 * PAGE) as usize,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd,
                0,
            );
            if a == libc::MAP_FAILED || b == libc::MAP_FAILED || alias == libc::MAP_FAILED {
                bail!("map arena: {}", Error::last_os_error());
            }
            libc::close(fd);
            Ok(Arena {
                base: r as u64,
                alias: alias.cast(),
            })
        }
    }

    /// Stores `bytes` at `addr`; bytes outside A and B are dropped (they
    /// are unreadable, for the module and the model alike).
    fn put(&self, addr: u64, bytes: &[u8]) {
        for (i, &v) in bytes.iter().enumerate() {
            let a = addr.wrapping_add(i as u64);
            if a >= self.base && a < self.base + 2 * PAGE {
                // SAFETY: Inside the two-page alias mapping.
                unsafe { *self.alias.add((a - self.base) as usize) = v };
            }
        }
    }

    fn fill(&self, byte: u8) {
        // SAFETY: The two-page alias mapping.
        unsafe { core::ptr::write_bytes(self.alias, byte, (2 * PAGE) as usize) };
    }
}

impl Mem for Arena {
    fn read(&self, addr: u64, len: usize) -> Option<Vec<u8>> {
        let end = addr.checked_add(len as u64)?;
        if addr < self.base || end > self.base + 2 * PAGE {
            return None;
        }
        let off = (addr - self.base) as usize;
        // SAFETY: Inside the two-page alias mapping.
        Some(unsafe { core::slice::from_raw_parts(self.alias.add(off), len) }.to_vec())
    }

    fn writable(&self, addr: u64, len: usize) -> bool {
        addr >= self.base
            && addr
                .checked_add(len as u64)
                .is_some_and(|e| e <= self.base + PAGE)
    }
}

/// Where one structure goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Place {
    /// In page A (the bump allocator's next spot).
    Normal,
    /// Across A|B: readable, not writable.
    StraddleAB,
    /// Across B|C: its tail unreadable.
    StraddleBC,
    /// In the unmapped page.
    InC,
    /// NULL.
    Null,
    /// A kernel address.
    Kernel,
    /// A small address (below any mapping).
    Low,
}

struct Placer<'a> {
    arena: &'a Arena,
    next: u64,
}

impl Placer<'_> {
    /// Stores `bytes` at a spot of kind `p` and returns its address.
    fn place(&mut self, rng: &mut Rng, p: Place, bytes: &[u8]) -> u64 {
        let len = bytes.len() as u64;
        let b = self.arena.base;
        let addr = match p {
            Place::Normal => {
                let a = b + self.next + rng.below(9);
                self.next = a - b + len;
                assert!(self.next < PAGE - 512, "arena page A overflows");
                a
            }
            Place::StraddleAB => b + PAGE - 1 - rng.below(len.saturating_sub(1).max(1)),
            Place::StraddleBC => b + 2 * PAGE - 1 - rng.below(len.saturating_sub(1).max(1)),
            Place::InC => b + 2 * PAGE + rng.below(PAGE - len),
            Place::Null => 0,
            Place::Kernel => 0xffff_8880_0000_0000 + rng.below(1 << 20) * 8,
            Place::Low => 0x10 + rng.below(0x1000),
        };
        self.arena.put(addr, bytes);
        addr
    }
}

// ---- generated calls -------------------------------------------------------------

/// A v2 simple extent or strip as generated: device index, offset, length.
type Se = (u64, u64, u64);

#[derive(Clone, Debug)]
struct Ie {
    nstrips: u64,
    chunk: u64,
    nbytes: u64,
    strips: Vec<Se>,
    strips_place: Place,
}

#[derive(Clone, Debug)]
enum Spec {
    V1 {
        extent_type: u32,
        file_type: u32,
        file_size: u64,
        count: u64,
        ext: [(u64, u64); 2],
    },
    V2 {
        file_type: u32,
        ext_type: u32,
        file_size: u64,
        count: u32,
        simple: Vec<Se>,
        ies: Vec<Ie>,
        array_place: Place,
    },
}

fn le64(v: u64) -> [u8; 8] {
    v.to_le_bytes()
}

fn se_bytes(list: &[Se]) -> Vec<u8> {
    let mut b = Vec::new();
    for (d, o, l) in list {
        b.extend_from_slice(&le64(*d));
        b.extend_from_slice(&le64(*o));
        b.extend_from_slice(&le64(*l));
    }
    b
}

/// Lays the call's structures out in the arena; returns the ioctl
/// argument and a description of where everything went.
fn lay_out(rng: &mut Rng, arena: &Arena, spec: &Spec, hdr: Place) -> (u64, String) {
    let mut p = Placer { arena, next: 0 };
    match spec {
        Spec::V1 {
            extent_type,
            file_type,
            file_size,
            count,
            ext,
        } => {
            let mut b = Vec::new();
            b.extend_from_slice(&extent_type.to_le_bytes());
            b.extend_from_slice(&file_type.to_le_bytes());
            b.extend_from_slice(&le64(*file_size));
            b.extend_from_slice(&le64(*count));
            for (o, l) in ext {
                b.extend_from_slice(&le64(*o));
                b.extend_from_slice(&le64(*l));
            }
            let a = p.place(rng, hdr, &b);
            (a, format!("v1 map at {a:#x} ({hdr:?})"))
        }
        Spec::V2 {
            file_type,
            ext_type,
            file_size,
            count,
            simple,
            ies,
            array_place,
        } => {
            let mut where_ = String::new();
            let ptr = if *ext_type == 0 || ies.is_empty() {
                let a = p.place(rng, *array_place, &se_bytes(simple));
                where_ += &format!("extents at {a:#x} ({array_place:?})");
                a
            } else {
                let mut arr = Vec::new();
                for (i, ie) in ies.iter().enumerate() {
                    let s = p.place(rng, ie.strips_place, &se_bytes(&ie.strips));
                    where_ += &format!("strips[{i}] at {s:#x} ({:?}), ", ie.strips_place);
                    arr.extend_from_slice(&le64(ie.nstrips));
                    arr.extend_from_slice(&le64(ie.chunk));
                    arr.extend_from_slice(&le64(ie.nbytes));
                    arr.extend_from_slice(&le64(s));
                }
                let a = p.place(rng, *array_place, &arr);
                where_ += &format!("interleaved extents at {a:#x} ({array_place:?})");
                a
            };
            let mut b = Vec::new();
            b.extend_from_slice(&le64(*file_size));
            b.extend_from_slice(&file_type.to_le_bytes());
            b.extend_from_slice(&ext_type.to_le_bytes());
            b.extend_from_slice(&count.to_le_bytes());
            b.extend_from_slice(&0u32.to_le_bytes());
            b.extend_from_slice(&le64(ptr));
            let a = p.place(rng, hdr, &b);
            (a, format!("v2 map at {a:#x} ({hdr:?}), {where_}"))
        }
    }
}

/// A generator of maps on a device of `units` 2 MiB units.
struct Gen {
    units: u64,
    dev_size: u64,
}

impl Gen {
    /// A device offset in 2 MiB units: mostly low (so maps collide), some
    /// at the end of the device.
    fn unit(&self, rng: &mut Rng) -> u64 {
        let window = self.units.clamp(2, 160);
        match rng.below(20) {
            0 => self.units.saturating_sub(1 + rng.below(4)),
            1 => 0,
            _ => 1 + rng.below(window - 1),
        }
    }

    /// A range of `len_units` at a random unit (kept inside the device
    /// where possible).
    fn range(&self, rng: &mut Rng, len_units: u64) -> (u64, u64) {
        let mut u = self.unit(rng);
        if u + len_units > self.units && rng.below(4) != 0 {
            u = self.units.saturating_sub(len_units).max(1);
        }
        (u * M2, len_units * M2)
    }

    fn valid_v1(&self, rng: &mut Rng) -> Spec {
        let n = 1 + rng.below(2) as usize;
        let mut ext = [(0u64, 0u64); 2];
        let mut total = 0;
        for e in ext.iter_mut().take(n) {
            let len = 1 + rng.below(4);
            *e = self.range(rng, len);
        }
        if rng.below(3) == 0 {
            // v1 only: the last length may be unaligned.
            ext[n - 1].1 = 1 + rng.below(ext[n - 1].1);
        }
        for e in ext.iter().take(n) {
            total += e.1;
        }
        Spec::V1 {
            extent_type: 0,
            file_type: 0,
            file_size: rng.below(total + 1),
            count: n as u64,
            ext,
        }
    }

    fn valid_v2_simple(&self, rng: &mut Rng) -> Spec {
        let n = 1 + rng.below(2) as usize;
        let simple: Vec<Se> = (0..n)
            .map(|_| {
                let len = 1 + rng.below(4);
                let (o, l) = self.range(rng, len);
                (0, o, l)
            })
            .collect();
        let total: u64 = simple.iter().map(|s| s.2).sum();
        Spec::V2 {
            file_type: 0,
            ext_type: 0,
            file_size: rng.below(total + 1),
            count: n as u32,
            simple,
            ies: Vec::new(),
            array_place: Place::Normal,
        }
    }

    fn valid_v2_interleaved(&self, rng: &mut Rng) -> Spec {
        let count = if rng.below(4) == 0 {
            1 + rng.below(4)
        } else {
            1
        } as usize;
        let mut ies = Vec::new();
        let mut total = 0;
        for i in 0..count {
            let nstrips = if rng.below(8) == 0 {
                1 + rng.below(16)
            } else {
                1 + rng.below(3)
            };
            let chunk_units = 1 + rng.below(2);
            let per_strip = 1 + rng.below(2); // chunks per strip
            let cap = nstrips * per_strip * chunk_units * M2;
            let nbytes = if i + 1 == count {
                1 + rng.below(cap)
            } else {
                M2 * (1 + rng.below(cap / M2))
            };
            total += nbytes;
            let strips = (0..nstrips)
                .map(|_| {
                    let (o, l) = self.range(rng, per_strip * chunk_units);
                    (0, o, l)
                })
                .collect();
            ies.push(Ie {
                nstrips,
                chunk: chunk_units * M2,
                nbytes,
                strips,
                strips_place: Place::Normal,
            });
        }
        Spec::V2 {
            file_type: 0,
            ext_type: 1,
            file_size: rng.below(total + 1),
            count: count as u32,
            simple: Vec::new(),
            ies,
            array_place: Place::Normal,
        }
    }

    /// An interesting 64-bit value for a length or offset.
    fn wild(&self, rng: &mut Rng) -> u64 {
        match rng.below(10) {
            0 => 0,
            1 => u64::MAX,
            2 => u64::MAX - M2 + 1,
            3 => self.dev_size,
            4 => self.dev_size - M2,
            5 => 1 << 63,
            6 => M2 * rng.below(1 << 20),
            7 => rng.below(M2),
            8 => (i64::MAX as u64) & !(M2 - 1),
            _ => rng.next(),
        }
    }

    /// Breaks (or, sometimes harmlessly, changes) one thing of `spec`.
    fn mutate(&self, rng: &mut Rng, spec: &mut Spec) {
        let bad_place = |rng: &mut Rng| match rng.below(6) {
            0 => Place::StraddleAB,
            1 => Place::StraddleBC,
            2 => Place::InC,
            3 => Place::Null,
            4 => Place::Kernel,
            _ => Place::Low,
        };
        let misalign = |rng: &mut Rng, v: &mut u64| match rng.below(4) {
            0 => *v = v.wrapping_add(PAGE),
            1 => *v = v.wrapping_add(1 + rng.below(M2 - 1)),
            2 => *v = v.wrapping_sub(PAGE),
            _ => *v = v.wrapping_add(M2 / 2),
        };
        match spec {
            Spec::V1 {
                extent_type,
                file_type,
                file_size,
                count,
                ext,
            } => match rng.below(10) {
                0 => *extent_type = [1, 2, 3, u32::MAX][rng.below(4) as usize],
                1 => *file_type = [1, 2, 3, 9, u32::MAX][rng.below(5) as usize],
                2 => *count = [0, 3, 4, u64::MAX, 1 << 32, rng.next()][rng.below(6) as usize],
                3 => *file_size = self.wild(rng),
                4 => ext[rng.below(2) as usize].0 = self.wild(rng),
                5 => ext[rng.below(2) as usize].1 = self.wild(rng),
                6 => {
                    let i = rng.below(2) as usize;
                    misalign(rng, &mut ext[i].0)
                }
                7 => misalign(rng, &mut ext[0].1),
                8 => ext[1] = ext[0],
                _ => *count = 2,
            },
            Spec::V2 {
                file_type,
                ext_type,
                file_size,
                count,
                simple,
                ies,
                array_place,
            } => {
                let k = rng.below(16);
                // Pick an extent or strip to change: (interleaved extent, index).
                let sel: Option<(Option<usize>, usize)> = if !ies.is_empty() {
                    let i = rng.below(ies.len() as u64) as usize;
                    let n = ies[i].strips.len() as u64;
                    (n > 0).then(|| (Some(i), rng.below(n) as usize))
                } else {
                    let n = simple.len() as u64;
                    (n > 0).then(|| (None, rng.below(n) as usize))
                };
                let pick =
                    |simple: &mut Vec<Se>, ies: &mut Vec<Ie>, f: &mut dyn FnMut(&mut Se)| match sel
                    {
                        Some((Some(i), j)) => f(&mut ies[i].strips[j]),
                        Some((None, j)) => f(&mut simple[j]),
                        None => {}
                    };
                let target = sel.is_some();
                let w = self.wild(rng);
                let m1 = 1 + rng.below(M2 - 1);
                let dev = [1, 2, u64::MAX][rng.below(3) as usize];
                let mis = |v: &mut u64| *v = v.wrapping_add(if m1 % 2 == 0 { PAGE } else { m1 });
                match (k, target) {
                    (0, _) => *file_type = [1, 2, 3, u32::MAX][rng.below(4) as usize],
                    (1, _) => *ext_type = [0, 1, 2, u32::MAX][rng.below(4) as usize],
                    (2, _) => {
                        *count =
                            [0, 3, 4, 5, u32::MAX, count.wrapping_add(1)][rng.below(6) as usize]
                    }
                    (3, _) => *file_size = self.wild(rng),
                    (4, _) => *array_place = bad_place(rng),
                    (5, true) => pick(simple, ies, &mut |s| s.0 = dev),
                    (6, true) => pick(simple, ies, &mut |s| s.1 = w),
                    (7, true) => pick(simple, ies, &mut |s| s.2 = w),
                    (8, true) => pick(simple, ies, &mut |s| mis(&mut s.1)),
                    (9, true) => pick(simple, ies, &mut |s| mis(&mut s.2)),
                    (10, true) => pick(simple, ies, &mut |s| s.2 = s.2.saturating_sub(M2)),
                    (11, _) if !ies.is_empty() => {
                        let i = rng.below(ies.len() as u64) as usize;
                        ies[i].chunk =
                            [0, PAGE, M2 + PAGE, 3 * M2, !(M2 - 1)][rng.below(5) as usize];
                    }
                    (12, _) if !ies.is_empty() => {
                        let i = rng.below(ies.len() as u64) as usize;
                        ies[i].nbytes = [0, ies[i].nbytes.wrapping_add(1), self.wild(rng), PAGE]
                            [rng.below(4) as usize];
                    }
                    (13, _) if !ies.is_empty() => {
                        let i = rng.below(ies.len() as u64) as usize;
                        ies[i].nstrips = [0, 17, u64::MAX, ies[i].nstrips.wrapping_add(1), 16]
                            [rng.below(5) as usize];
                    }
                    (14, _) if !ies.is_empty() => {
                        let i = rng.below(ies.len() as u64) as usize;
                        ies[i].strips_place = bad_place(rng);
                    }
                    (_, _) => {
                        // Duplicate a range: an overlap inside the map.
                        if simple.len() == 2 {
                            simple[1] = simple[0];
                        } else if let Some(ie) = ies.first_mut() {
                            if ie.strips.len() >= 2 {
                                ie.strips[1] = ie.strips[0];
                            }
                        }
                    }
                }
            }
        }
    }
}

// ---- the run ---------------------------------------------------------------------

struct Live {
    path: String,
    file: File,
    map: Fmap,
}

fn ioctl_errno(f: &File, cmd: u32, arg: u64) -> i32 {
    // SAFETY: The argument is memory of the arena, or a deliberately bad
    // address; the kernel must refuse the latter with EFAULT.
    let r = unsafe {
        libc::ioctl(
            f.as_raw_fd(),
            cmd as libc::c_ulong,
            arg as *mut libc::c_void,
        )
    };
    if r < 0 {
        Error::last_os_error().raw_os_error().unwrap_or(-1)
    } else {
        0
    }
}

fn new_empty(path: &str) -> Result<File> {
    crate::create_new(path).with_context(|| format!("create {path}"))
}

fn hex(b: &[u8]) -> String {
    b.chunks(8)
        .map(|c| c.iter().map(|x| format!("{x:02x}")).collect::<String>())
        .collect::<Vec<_>>()
        .join(" ")
}

struct Stats {
    cases: u64,
    accepted: u64,
    by_errno: std::collections::BTreeMap<&'static str, u64>,
    gets: u64,
    failures: u64,
}

pub(crate) fn fuzz_maps(a: &FuzzArgs) -> Result<Result<(), OpError>> {
    let seed = a.seed.unwrap_or_else(|| {
        let d = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        d.as_secs() ^ (u64::from(d.subsec_nanos()) << 20) ^ u64::from(std::process::id())
    });
    let dev_size = match (a.dev_size, &a.stats) {
        (Some(s), _) => s,
        (None, Some(st)) => {
            let p = format!("{st}/device_size");
            std::fs::read_to_string(&p)
                .with_context(|| format!("read {p}"))?
                .trim()
                .parse()
                .with_context(|| format!("parse {p}"))?
        }
        (None, None) => bail!("give --dev-size or --stats"),
    };
    let flaw = if a.wrong_model {
        Flaw::OffsetAlignment
    } else {
        Flaw::None
    };
    println!(
        "fuzz-maps: seed {seed}, {} cases, device {dev_size} bytes, at most {} live files{}",
        a.cases,
        a.live,
        if a.wrong_model {
            ", SELF-TEST: wrong model"
        } else {
            ""
        }
    );
    let replay = format!(
        "famfs-maptool fuzz-maps {} --seed {seed} --dev-size {dev_size} --live {}{}",
        a.dir,
        a.live,
        if a.wrong_model { " --wrong-model" } else { "" }
    );
    let arena = Arena::new()?;
    let gen = Gen {
        units: dev_size / M2,
        dev_size,
    };
    let mut rng = Rng(seed);
    let dir = File::open(&a.dir).with_context(|| format!("open {}", a.dir))?;
    let nonempty_path = format!("{}/nonempty", a.dir);
    let nonempty = new_empty(&nonempty_path)?;
    nonempty
        .set_len(PAGE)
        .context("truncate the non-empty file")?;
    let mut empty_path = format!("{}/e0", a.dir);
    let mut empty = new_empty(&empty_path)?;
    let mut live: Vec<Live> = Vec::new();
    let mut st = Stats {
        cases: 0,
        accepted: 0,
        by_errno: Default::default(),
        gets: 0,
        failures: 0,
    };
    let t0 = Instant::now();
    let fail = |st: &mut Stats, case: u64, what: String| {
        st.failures += 1;
        println!("fuzz-maps: case {case}: MISMATCH: {what}");
        println!("fuzz-maps: replay with: {replay} --cases {}", case + 1);
    };
    for case in 0..a.cases {
        if a.max_seconds != 0 && t0.elapsed().as_secs() >= a.max_seconds {
            break;
        }
        if st.failures >= a.max_failures {
            break;
        }
        st.cases += 1;
        arena.fill((case & 0xff) as u8);
        let others: Vec<(u64, u64)> = live.iter().flat_map(|l| model_ranges(&l.map)).collect();
        let mount = Mount {
            dev_size,
            others: &others,
            flaw,
        };
        let op = rng.below(100);
        if op < 8 {
            // A get call on a mapped file (or the empty one), into a buffer
            // that may not be writable.
            st.gets += 1;
            let which = [GetCall::V1, GetCall::Ext, GetCall::V2][rng.below(3) as usize];
            let cmd = match which {
                GetCall::V1 => FAMFSIOC_MAP_GET,
                GetCall::Ext => FAMFSIOC_MAP_GETEXT,
                GetCall::V2 => FAMFSIOC_MAP_GET_V2,
            };
            let place = match rng.below(8) {
                0 => Place::StraddleAB,
                1 => Place::StraddleBC,
                2 => Place::InC,
                3 => Place::Null,
                4 => Place::Kernel,
                _ => Place::Normal,
            };
            let len = match which {
                GetCall::V1 => model::V1_SIZE,
                GetCall::Ext => model::EXTENT_SIZE * 2,
                GetCall::V2 => model::GET_V2_SIZE,
            };
            // Fill with a marker, so that what the call leaves is seen.
            let fillb = vec![0xa5u8; len];
            let mut p = Placer {
                arena: &arena,
                next: 0,
            };
            let mut addr = p.place(&mut rng, place, &fillb);
            if which == GetCall::Ext && place == Place::Normal && rng.below(2) == 0 {
                // GETEXT writes 16 bytes per extent: end the buffer right
                // after the first one, at the end of page A.
                addr = arena.base + PAGE - model::EXTENT_SIZE as u64;
                arena.put(addr, &[0xa5; model::EXTENT_SIZE]);
            }
            let (file, map, label) = if !live.is_empty() && rng.below(6) != 0 {
                let l = &live[rng.below(live.len() as u64) as usize];
                (&l.file, Some(&l.map), l.path.clone())
            } else {
                (&empty, None, empty_path.clone())
            };
            let size = map.map_or(0, |m| m.file_size);
            let want = model::get(&arena, which, addr, map, size);
            let got = ioctl_errno(file, cmd, addr);
            let ok = match &want {
                Ok(img) => got == 0 && arena.read(addr, img.len()).as_deref() == Some(&img[..]),
                Err(set) => set.contains(&got),
            };
            *st.by_errno.entry(errno_name(got)).or_default() += 1;
            if !ok {
                let shown = match &want {
                    Ok(img) => format!("success writing {} bytes: {}", img.len(), hex(img)),
                    Err(s) => s
                        .iter()
                        .map(|&e| errno_name(e))
                        .collect::<Vec<_>>()
                        .join("|"),
                };
                let wrote = arena
                    .read(addr, len)
                    .map_or("(unreadable)".into(), |b| hex(&b));
                fail(
                    &mut st,
                    case,
                    format!(
                        "{which:?} on {label} into {addr:#x} ({place:?}): expected {shown}, got {} (buffer now {wrote})",
                        errno_name(got)
                    ),
                );
            }
            continue;
        }
        if op < 10 {
            // An unknown command of famfs's ioctl type: ENOTTY. Known: the
            // KABI 43 commands and the KABI 44 ones the module serves.
            let known = [
                FAMFSIOC_MAP_CREATE,
                FAMFSIOC_MAP_GET,
                FAMFSIOC_MAP_GETEXT,
                FAMFSIOC_NOP,
                FAMFSIOC_MAP_CREATE_V2,
                FAMFSIOC_MAP_GET_V2,
                famfs_abi::kabi44::FAMFS44_IOC_NOP,
                famfs_abi::kabi44::FAMFS44_IOC_MAP_CREATE,
                famfs_abi::kabi44::FAMFS44_IOC_DAXDEV_OPEN,
                famfs_abi::kabi44::FAMFS44_IOC_GET_OPTS,
                famfs_abi::kabi44::FAMFS44_IOC_SET_OPTS,
                famfs_abi::kabi44::FAMFS44_IOC_CLEAR_OPTS,
                famfs_abi::kabi44::FAMFS44_IOC_MAP_GET,
                famfs_abi::kabi44::FAMFS44_IOC_DAXDEV_GET,
            ];
            let base = known[rng.below(known.len() as u64) as usize];
            let cmd = match rng.below(3) {
                // Another size.
                0 => (base & !(0x3fff << 16)) | (((rng.below(0x3fff) + 1) as u32) << 16),
                // Another number.
                1 => (base & !0xff) | (0x40 + rng.below(0x40)) as u32,
                // Another direction.
                _ => base ^ (1 << (30 + rng.below(2))),
            };
            if known.contains(&cmd) {
                continue;
            }
            let got = ioctl_errno(&empty, cmd, arena.base);
            *st.by_errno.entry(errno_name(got)).or_default() += 1;
            if got != model::ENOTTY {
                fail(
                    &mut st,
                    case,
                    format!(
                        "unknown ioctl {cmd:#x}: expected ENOTTY, got {}",
                        errno_name(got)
                    ),
                );
            }
            continue;
        }
        // A map creation.
        let mut spec = match rng.below(3) {
            0 => gen.valid_v1(&mut rng),
            1 => gen.valid_v2_simple(&mut rng),
            _ => gen.valid_v2_interleaved(&mut rng),
        };
        let mutations = [0, 0, 0, 0, 1, 1, 1, 2, 2, 3][rng.below(10) as usize];
        for _ in 0..mutations {
            gen.mutate(&mut rng, &mut spec);
        }
        let hdr = match rng.below(40) {
            0 => Place::StraddleAB,
            1 => Place::StraddleBC,
            2 => Place::InC,
            3 => Place::Null,
            4 => Place::Kernel,
            _ => Place::Normal,
        };
        let (arg, where_) = lay_out(&mut rng, &arena, &spec, hdr);
        let (target, file, label) = match rng.below(100) {
            0..=5 if !live.is_empty() => {
                let l = &live[rng.below(live.len() as u64) as usize];
                (Target::Mapped, &l.file, l.path.clone())
            }
            6..=8 => (Target::NonEmpty, &nonempty, nonempty_path.clone()),
            9..=11 => (Target::Directory, &dir, a.dir.clone()),
            _ => (Target::Empty, &empty, empty_path.clone()),
        };
        let (cmd, want): (u32, Expect) = match spec {
            Spec::V1 { .. } => (
                FAMFSIOC_MAP_CREATE,
                model::map_create_v1(&arena, arg, target, &mount),
            ),
            Spec::V2 { .. } => (
                FAMFSIOC_MAP_CREATE_V2,
                model::map_create_v2(&arena, arg, target, &mount),
            ),
        };
        let got = ioctl_errno(file, cmd, arg);
        *st.by_errno.entry(errno_name(got)).or_default() += 1;
        if !want.allows(got) {
            fail(
                &mut st,
                case,
                format!(
                    "{} on {label} ({target:?}): expected {}, got {}\n    call: {spec:?}\n    memory: {where_}\n    decoded: {:?}",
                    if cmd == FAMFSIOC_MAP_CREATE { "MAP_CREATE" } else { "MAP_CREATE_V2" },
                    want.describe(),
                    errno_name(got),
                    want.map
                ),
            );
        }
        if got != 0 {
            continue;
        }
        if target != Target::Empty {
            // Accepted on a file that cannot take a map: the state of the
            // mount is no longer known; stop.
            break;
        }
        // Accepted: the file has the map, and the get calls return it.
        st.accepted += 1;
        let Some(map) = want.map else {
            // Accepted though the model has no map: reported above; the
            // file cannot be followed any more.
            live.push(Live {
                path: empty_path.clone(),
                file: empty,
                map: Fmap {
                    file_type: famfs_fmap::FileType::Regular,
                    file_size: 0,
                    layout: Layout::Simple {
                        count: 0,
                        extents: Default::default(),
                    },
                },
            });
            empty_path = format!("{}/e{}", a.dir, case + 1);
            empty = new_empty(&empty_path)?;
            continue;
        };
        for which in [GetCall::V1, GetCall::Ext, GetCall::V2] {
            let cmd = match which {
                GetCall::V1 => FAMFSIOC_MAP_GET,
                GetCall::Ext => FAMFSIOC_MAP_GETEXT,
                GetCall::V2 => FAMFSIOC_MAP_GET_V2,
            };
            let mut buf = vec![0xa5u8; model::GET_V2_SIZE + 64];
            // SAFETY: A buffer larger than any get structure.
            let r =
                unsafe { libc::ioctl(empty.as_raw_fd(), cmd as libc::c_ulong, buf.as_mut_ptr()) };
            let got = if r < 0 {
                Error::last_os_error().raw_os_error().unwrap_or(-1)
            } else {
                0
            };
            let want = match which {
                GetCall::V1 => Ok(model::get_v1_image(&map, map.file_size).to_vec()),
                GetCall::Ext => model::getext_image(&map),
                GetCall::V2 => model::get_v2_image(&map, map.file_size),
            };
            let ok = match &want {
                Ok(img) => {
                    got == 0
                        && buf[..img.len()] == img[..]
                        && buf[img.len()..].iter().all(|&b| b == 0xa5)
                }
                Err(e) => got == *e,
            };
            if !ok {
                let shown = match &want {
                    Ok(img) => hex(img),
                    Err(e) => errno_name(*e).to_string(),
                };
                fail(
                    &mut st,
                    case,
                    format!(
                        "{which:?} after the map was accepted: expected {shown}, got {} with {}\n    map: {map:?}",
                        errno_name(got),
                        hex(&buf[..want.as_ref().map_or(64, |i| i.len() + 8)])
                    ),
                );
            }
        }
        live.push(Live {
            path: empty_path.clone(),
            file: empty,
            map,
        });
        empty_path = format!("{}/e{}", a.dir, case + 1);
        empty = new_empty(&empty_path)?;
        if live.len() > a.live {
            let l = live.remove(rng.below(live.len() as u64) as usize);
            drop(l.file);
            std::fs::remove_file(&l.path).with_context(|| format!("unlink {}", l.path))?;
        }
    }
    // Clean up: the directory is left as it was given.
    drop(empty);
    std::fs::remove_file(&empty_path).ok();
    drop(nonempty);
    std::fs::remove_file(&nonempty_path).ok();
    for l in live {
        drop(l.file);
        std::fs::remove_file(&l.path).ok();
    }
    let by: Vec<String> = st
        .by_errno
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    println!(
        "fuzz-maps: {} cases in {:.1} s: {} maps accepted, {} get calls; answers: {}; {} mismatches",
        st.cases,
        t0.elapsed().as_secs_f64(),
        st.accepted,
        st.gets,
        by.join(", "),
        st.failures
    );
    if st.failures > 0 {
        return Ok(Err(OpError(format!(
            "fuzz-maps: {} cases disagreed with the model (seed {seed})",
            st.failures
        ))));
    }
    Ok(Ok(()))
}
