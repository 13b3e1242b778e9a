//! Invalidation race tests: `race-truncate` and `race-memfail`.
//!
//! Both check one promise of the module: once a famfs file has become
//! invalid (its size changed), or its mount has failed (a memory failure),
//! no page of the file is mapped any more, and every later fault gets
//! SIGBUS. A fault that checked "usable" before the state change but
//! installs its page table entry after the mappings were zapped breaks that
//! promise: the page stays mapped and readable.
//!
//! Each iteration runs toucher threads that keep faulting one file while the
//! main thread changes the state under them (`ftruncate`, or
//! `MADV_HWPOISON` on a page of another file of the same mount). Then the
//! touchers stop and every page of the file is probed.
//!
//! SIGBUS is caught: the handler records the faulting page in a bitmap and
//! maps an anonymous page over it, so the faulting access is retried and
//! succeeds. A page that can be read without its bit being set was still
//! mapped: that is the stale mapping the tests look for. The present bits of
//! `/proc/self/pagemap`, read before the probe, are printed as a cross-check.

use std::ffi::CString;
use std::fs::File;
use std::io::Error;
use std::os::unix::fs::FileExt;
use std::os::unix::io::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use famfs_abi::FAMFS_REG;

use crate::{errno_text, parse_size, OpError};

const PAGE: usize = 4096;
const HUGE: usize = 2 << 20;
/// Largest file (in pages) a region can track.
const MAX_PAGES: usize = 4096;
/// `MADV_HWPOISON` (`<asm-generic/mman-common.h>`).
const MADV_HWPOISON: libc::c_int = 100;
/// `si_code` of an action-required machine check SIGBUS.
const BUS_MCEERR_AR: libc::c_int = 4;

// ---- SIGBUS bookkeeping ----------------------------------------------------

/// A watched address range: the pages of one file mapping. Written by the
/// SIGBUS handler, so only atomics.
struct Region {
    base: AtomicUsize,
    pages: AtomicUsize,
    bits: [AtomicU64; MAX_PAGES / 64],
}

impl Region {
    const fn new() -> Self {
        Region {
            base: AtomicUsize::new(0),
            pages: AtomicUsize::new(0),
            bits: [const { AtomicU64::new(0) }; MAX_PAGES / 64],
        }
    }

    /// Starts watching `pages` pages at `base`, with every bit clear.
    fn watch(&self, base: usize, pages: usize) {
        assert!(pages <= MAX_PAGES);
        self.pages.store(0, Ordering::SeqCst);
        for b in &self.bits {
            b.store(0, Ordering::SeqCst);
        }
        self.base.store(base, Ordering::SeqCst);
        self.pages.store(pages, Ordering::SeqCst);
    }

    fn unwatch(&self) {
        self.pages.store(0, Ordering::SeqCst);
    }

    /// The page index of `addr`, if it lies in the region.
    fn index(&self, addr: usize) -> Option<usize> {
        let base = self.base.load(Ordering::SeqCst);
        let pages = self.pages.load(Ordering::SeqCst);
        let i = addr.checked_sub(base)? / PAGE;
        (i < pages).then_some(i)
    }

    fn set(&self, i: usize) {
        self.bits[i / 64].fetch_or(1 << (i % 64), Ordering::SeqCst);
    }

    /// Whether page `i` raised SIGBUS.
    fn faulted(&self, i: usize) -> bool {
        self.bits[i / 64].load(Ordering::SeqCst) & (1 << (i % 64)) != 0
    }

    fn count(&self) -> usize {
        let pages = self.pages.load(Ordering::SeqCst);
        (0..pages).filter(|&i| self.faulted(i)).count()
    }
}

/// Region 0: the file the touchers fault; region 1: the poisoned file.
static REGIONS: [Region; 2] = [Region::new(), Region::new()];
/// SIGBUS signals with `si_code` `BUS_MCEERR_AR` (the poisoner's).
static MCE_SIGNALS: AtomicUsize = AtomicUsize::new(0);

/// The SIGBUS handler: records the page and maps anonymous memory over it,
/// so that the access is retried and succeeds. A SIGBUS outside the watched
/// regions restores the default action, so that the retried access kills
/// the process as it would have without the handler.
extern "C" fn on_sigbus(_sig: libc::c_int, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    // SAFETY: The kernel passes a valid siginfo to an SA_SIGINFO handler.
    let (addr, code) = unsafe { ((*info).si_addr() as usize, (*info).si_code) };
    if code == BUS_MCEERR_AR {
        MCE_SIGNALS.fetch_add(1, Ordering::SeqCst);
    }
    for r in &REGIONS {
        if let Some(i) = r.index(addr) {
            r.set(i);
            let page = addr & !(PAGE - 1);
            // SAFETY: Replaces one page of a mapping this program made and
            // watches; nothing else lives there. mmap is a plain system call.
            let p = unsafe {
                libc::mmap(
                    page as *mut libc::c_void,
                    PAGE,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                    -1,
                    0,
                )
            };
            if p == libc::MAP_FAILED {
                let msg = b"famfs-maptool: SIGBUS handler: mmap failed\n";
                // SAFETY: write(2) and _exit(2) are async-signal-safe.
                unsafe {
                    libc::write(2, msg.as_ptr().cast(), msg.len());
                    libc::_exit(3);
                }
            }
            return;
        }
    }
    // SAFETY: Resetting a signal disposition is async-signal-safe.
    unsafe { libc::signal(libc::SIGBUS, libc::SIG_DFL) };
}

fn install_handler() -> Result<()> {
    // SAFETY: A zeroed sigaction is valid; the fields we need are set below.
    let mut sa: libc::sigaction = unsafe { core::mem::zeroed() };
    let handler: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) = on_sigbus;
    sa.sa_sigaction = handler as usize;
    sa.sa_flags = libc::SA_SIGINFO;
    // SAFETY: `sa` is a valid sigaction whose handler is async-signal-safe.
    if unsafe { libc::sigaction(libc::SIGBUS, &sa, core::ptr::null_mut()) } != 0 {
        bail!("sigaction: {}", Error::last_os_error());
    }
    Ok(())
}

// ---- mappings ----------------------------------------------------------------

/// A file mapping placed inside a private reservation, either 2 MiB aligned
/// (PMD faults possible) or 4 KiB past a 2 MiB boundary (PTE faults only).
struct Mapping {
    resv: usize,
    resv_len: usize,
    addr: usize,
    len: usize,
}

impl Mapping {
    fn new(f: &File, len: usize, pmd: bool) -> Result<Mapping> {
        let resv_len = len + 2 * HUGE;
        // SAFETY: A fresh anonymous reservation.
        let r = unsafe {
            libc::mmap(
                core::ptr::null_mut(),
                resv_len,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if r == libc::MAP_FAILED {
            bail!("reserve {resv_len} bytes: {}", Error::last_os_error());
        }
        let resv = r as usize;
        let addr = ((resv + HUGE - 1) & !(HUGE - 1)) + if pmd { 0 } else { PAGE };
        let m = Mapping {
            resv,
            resv_len,
            addr,
            len,
        };
        // SAFETY: Maps the file over part of our own reservation.
        let p = unsafe {
            libc::mmap(
                addr as *mut libc::c_void,
                len,
                libc::PROT_READ,
                libc::MAP_SHARED | libc::MAP_FIXED,
                f.as_raw_fd(),
                0,
            )
        };
        if p == libc::MAP_FAILED {
            bail!("mmap: {}", errno_text(&Error::last_os_error()));
        }
        Ok(m)
    }

    fn pages(&self) -> usize {
        self.len / PAGE
    }

    /// Reads one byte of page `i`.
    fn read(&self, i: usize) -> u8 {
        assert!(i < self.pages());
        // SAFETY: The address lies in the mapping; a SIGBUS there is handled.
        unsafe { core::ptr::read_volatile((self.addr + i * PAGE) as *const u8) }
    }

    /// Zaps our page table entries of pages `first..first + n`, so that the
    /// next touches fault again.
    fn drop_pages(&self, first: usize, n: usize) {
        // SAFETY: The range lies in the mapping; only page tables change.
        unsafe {
            libc::madvise(
                (self.addr + first * PAGE) as *mut libc::c_void,
                n * PAGE,
                libc::MADV_DONTNEED,
            )
        };
    }

    /// Present bits of the mapping's pages, from /proc/self/pagemap.
    fn present(&self, pagemap: &File) -> Result<Vec<bool>> {
        let mut buf = vec![0u8; self.pages() * 8];
        pagemap
            .read_exact_at(&mut buf, (self.addr / PAGE * 8) as u64)
            .context("read /proc/self/pagemap")?;
        Ok(buf
            .chunks_exact(8)
            .map(|c| u64::from_ne_bytes(c.try_into().unwrap()) & (1 << 63) != 0)
            .collect())
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: Unmaps our reservation, with the file mapping and any
        // anonymous pages the handler put into it.
        unsafe { libc::munmap(self.resv as *mut libc::c_void, self.resv_len) };
    }
}

// ---- touchers and the probe -------------------------------------------------

/// Small deterministic generator (splitmix64), so a seed replays delays.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub(crate) fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
}

/// One toucher: reads its share of pages over and over (dropping its page
/// table entries after each pass, so that every touch is a fault), until
/// told to stop or until one of its touches raised SIGBUS.
fn toucher(m: &Mapping, first: usize, n: usize, stop: &AtomicBool, ready: &AtomicUsize) -> u64 {
    let region = &REGIONS[0];
    let mut touches = 0u64;
    let mut announced = false;
    'outer: loop {
        for i in first..first + n {
            if stop.load(Ordering::SeqCst) {
                break 'outer;
            }
            m.read(i);
            touches += 1;
            if region.faulted(i) {
                break 'outer;
            }
            if !announced {
                ready.fetch_add(1, Ordering::SeqCst);
                announced = true;
            }
        }
        m.drop_pages(first, n);
    }
    if !announced {
        ready.fetch_add(1, Ordering::SeqCst);
    }
    touches
}

/// What one iteration saw.
struct Outcome {
    touches: u64,
    /// Pages that raised SIGBUS while the touchers ran.
    sigbus_touch: usize,
    /// Pages present in the page tables before the probe (pagemap), not
    /// counting pages the handler replaced.
    present: usize,
    /// Pages the probe read.
    probed: usize,
    /// Pages the probe read without SIGBUS: still mapped.
    stale: Vec<usize>,
    /// How many of `stale` were not present before the probe: a new fault
    /// served them.
    served: usize,
}

/// Probes the pages of `m`, watched as `region`, after the touchers have
/// stopped; `skip` is a page not to probe (the poisoned one). Every page
/// present in the page tables is read, and of the others (each of which
/// costs a SIGBUS) `sample` random ones, or all with `None`.
fn probe(run: &mut Run, m: &Mapping, region: &Region, skip: Option<usize>) -> Result<Outcome> {
    let sigbus_touch = region.count();
    let present = m.present(&run.pagemap)?;
    let candidates = (0..m.pages()).filter(|&i| Some(i) != skip && !region.faulted(i));
    let (mut mapped, mut absent): (Vec<usize>, Vec<usize>) = candidates.partition(|&i| present[i]);
    let n_present = mapped.len();
    if let Some(n) = run.sample {
        // A partial Fisher-Yates shuffle picks `n` of the absent pages.
        let n = n.min(absent.len());
        for k in 0..n {
            let j = k + run.rng.below((absent.len() - k) as u64) as usize;
            absent.swap(k, j);
        }
        absent.truncate(n);
        absent.sort_unstable();
    }
    mapped.append(&mut absent);
    let mut stale = Vec::new();
    let mut served = 0;
    for &i in &mapped {
        m.read(i);
        if !region.faulted(i) {
            stale.push(i);
            if !present[i] {
                served += 1;
            }
        }
    }
    stale.sort_unstable();
    Ok(Outcome {
        touches: 0,
        sigbus_touch,
        present: n_present,
        probed: mapped.len(),
        stale,
        served,
    })
}

fn report(what: &str, iter: usize, delay: Duration, o: &Outcome, extra: &str) {
    let mut line = format!(
        "{what} {iter}: delay {}us, {} touches, {} SIGBUS while touching, {} present, {} probed, {} still mapped",
        delay.as_micros(),
        o.touches,
        o.sigbus_touch,
        o.present,
        o.probed,
        o.stale.len(),
    );
    if !o.stale.is_empty() {
        let pages: Vec<String> = o.stale.iter().take(8).map(|p| p.to_string()).collect();
        let more = if o.stale.len() > 8 { " ..." } else { "" };
        line += &format!(" (pages {}{more})", pages.join(" "));
    }
    if o.served > 0 {
        line += &format!(", {} of them served by a new fault", o.served);
    }
    println!("{line}{extra}");
}

/// Starts `touchers` threads on mapping `m` (watched as region 0), waits
/// until each has touched a page, sleeps `delay`, runs `change`, then stops
/// the touchers. Returns the touch count and what `change` returned.
fn race<T>(
    m: &Mapping,
    touchers: usize,
    delay: Duration,
    change: impl FnOnce() -> T,
) -> Result<(u64, T)> {
    let stop = AtomicBool::new(false);
    let ready = AtomicUsize::new(0);
    let pages = m.pages();
    let share = pages.div_ceil(touchers);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..touchers)
            .map(|t| {
                let first = (t * share).min(pages);
                let n = share.min(pages - first);
                let (stop, ready) = (&stop, &ready);
                s.spawn(move || toucher(m, first, n, stop, ready))
            })
            .collect();
        let t0 = Instant::now();
        while ready.load(Ordering::SeqCst) < touchers {
            if t0.elapsed() > Duration::from_secs(10) {
                stop.store(true, Ordering::SeqCst);
                bail!("touchers did not start within 10 s");
            }
            std::thread::yield_now();
        }
        std::thread::sleep(delay);
        let r = change();
        stop.store(true, Ordering::SeqCst);
        let touches = handles.into_iter().map(|h| h.join().unwrap()).sum();
        Ok((touches, r))
    })
}

// ---- shared options -----------------------------------------------------------

#[derive(Args)]
pub(crate) struct Common {
    /// Iterations to run.
    #[arg(long, default_value_t = 300)]
    iterations: usize,
    /// Stop starting iterations after this many seconds (0: no limit).
    #[arg(long, default_value_t = 60)]
    max_seconds: u64,
    /// Seed of the random delays (default: from the clock; printed).
    #[arg(long)]
    seed: Option<u64>,
    /// Toucher threads.
    #[arg(long, default_value_t = 2)]
    touchers: usize,
    /// Longest random delay between the touchers' start and the state
    /// change, in microseconds.
    #[arg(long, default_value_t = 2000)]
    max_delay_us: u64,
    /// Map the touched file 2 MiB aligned (PMD faults) instead of 4 KiB past
    /// a 2 MiB boundary (PTE faults).
    #[arg(long)]
    pmd: bool,
    /// Size of the touched file (suffixes K, M, G; a multiple of 4 KiB).
    #[arg(long, value_parser = parse_size, default_value = "2M")]
    size: u64,
    /// Print only the iterations that left a page mapped, and the summary.
    #[arg(long)]
    quiet: bool,
    /// After the race, read every page that is not mapped (each one costs a
    /// SIGBUS, slow under emulation), not just the mapped ones and a sample.
    #[arg(long)]
    probe_all: bool,
    /// How many of the unmapped pages the probe reads (without --probe-all).
    #[arg(long, default_value_t = 4)]
    probe_sample: usize,
}

struct Run {
    t0: Instant,
    rng: Rng,
    pagemap: File,
    /// How many unmapped pages the probe reads (`None`: all).
    sample: Option<usize>,
    /// Time spent in each phase: setup, race, probe, teardown.
    phases: [Duration; 4],
    mark: Instant,
}

impl Run {
    /// Charges the time since the last call to phase `k`.
    fn lap(&mut self, k: usize) {
        let now = Instant::now();
        self.phases[k] += now - self.mark;
        self.mark = now;
    }
}

impl Common {
    fn start(&self, what: &str) -> Result<Run> {
        if self.touchers == 0 {
            bail!("--touchers must be at least 1");
        }
        if self.size == 0 || self.size % PAGE as u64 != 0 || self.size > (MAX_PAGES * PAGE) as u64 {
            bail!(
                "--size must be a non-zero multiple of 4 KiB up to {} MiB",
                (MAX_PAGES * PAGE) >> 20
            );
        }
        if self.touchers as u64 > self.size / PAGE as u64 {
            bail!("--touchers must not exceed the number of pages");
        }
        if self.pmd && self.size % HUGE as u64 != 0 {
            bail!("--pmd needs a --size that is a multiple of 2 MiB");
        }
        let seed = self.seed.unwrap_or_else(|| {
            let d = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default();
            d.as_secs() ^ (u64::from(d.subsec_nanos()) << 20) ^ u64::from(std::process::id())
        });
        println!(
            "{what}: seed {seed}, {} iterations, {} s limit, {} touchers, {} mapping, size {}",
            self.iterations,
            self.max_seconds,
            self.touchers,
            if self.pmd { "PMD" } else { "PTE" },
            self.size
        );
        install_handler()?;
        Ok(Run {
            t0: Instant::now(),
            phases: [Duration::ZERO; 4],
            mark: Instant::now(),
            sample: (!self.probe_all).then_some(self.probe_sample),
            rng: Rng(seed),
            pagemap: File::open("/proc/self/pagemap").context("open /proc/self/pagemap")?,
        })
    }

    /// Whether the time limit is up.
    fn out_of_time(&self, run: &Run) -> bool {
        self.max_seconds != 0 && run.t0.elapsed() >= Duration::from_secs(self.max_seconds)
    }

    fn finish(&self, what: &str, run: &Run, done: usize, bad: usize) -> Result<(), OpError> {
        let p = run.phases.map(|d| d.as_secs_f64());
        println!(
            "{what}: {done} iterations, {bad} with a page still mapped ({:.1} s: setup {:.1}, race {:.1}, probe {:.1}, teardown {:.1})",
            run.t0.elapsed().as_secs_f64(),
            p[0],
            p[1],
            p[2],
            p[3]
        );
        if bad > 0 {
            return Err(OpError(format!(
                "{what}: {bad} of {done} iterations left a page mapped after the state change"
            )));
        }
        Ok(())
    }
}

/// Gives the empty file `path` one simple extent of `size` bytes at device
/// offset `off`, through MAP_CREATE_V2.
fn give_map(path: &str, size: u64, off: u64) -> Result<()> {
    let extents = [(None, off, size)];
    let r = super::create(
        path,
        size,
        &extents,
        &[],
        false,
        FAMFS_REG,
        None,
        0,
        false,
        None,
        1,
    )?;
    r.map_err(|OpError(e)| anyhow::anyhow!("{path}: {e}"))
}

fn round_up(v: u64, to: u64) -> u64 {
    v.div_ceil(to) * to
}

// ---- race-truncate -------------------------------------------------------------

#[derive(Args)]
pub(crate) struct TruncateArgs {
    /// A mounted famfs directory to create the test files in.
    dir: String,
    #[command(flatten)]
    common: Common,
    /// Device offset of the first file's extent (2 MiB aligned).
    #[arg(long, value_parser = parse_size, default_value = "128M")]
    offset: u64,
    /// Rotate the extent over this many consecutive slots (1: every file
    /// reuses the range its evicted predecessor had).
    #[arg(long, default_value_t = 1)]
    slots: u64,
    /// Size to truncate to (default: the file size plus 4 KiB).
    #[arg(long, value_parser = parse_size)]
    truncate_to: Option<u64>,
}

/// Touchers fault a file while the main thread truncates it; afterwards no
/// page of it may be mapped.
pub(crate) fn race_truncate(a: &TruncateArgs) -> Result<Result<(), OpError>> {
    const WHAT: &str = "race-truncate";
    let c = &a.common;
    let mut run = c.start(WHAT)?;
    if a.offset % HUGE as u64 != 0 || a.slots == 0 {
        bail!("--offset must be 2 MiB aligned and --slots at least 1");
    }
    let new_size = a.truncate_to.unwrap_or(c.size + PAGE as u64);
    if new_size == c.size {
        bail!("--truncate-to must differ from --size");
    }
    let slot = round_up(c.size, HUGE as u64);
    let (mut done, mut bad) = (0, 0);
    for iter in 0..c.iterations {
        if c.out_of_time(&run) {
            break;
        }
        run.lap(3);
        let path = format!("{}/race-trunc-{}", a.dir, std::process::id());
        let f = crate::create_new(&path).with_context(|| format!("create {path}"))?;
        let off = a.offset + (iter as u64 % a.slots) * slot;
        give_map(&path, c.size, off)?;
        let m = Mapping::new(&f, c.size as usize, c.pmd)?;
        REGIONS[0].watch(m.addr, m.pages());
        let delay = Duration::from_micros(run.rng.below(c.max_delay_us + 1));
        run.lap(0);
        let (touches, r) = race(&m, c.touchers, delay, || {
            // SAFETY: ftruncate on an open file.
            if unsafe { libc::ftruncate(f.as_raw_fd(), new_size as libc::off_t) } != 0 {
                Err(Error::last_os_error())
            } else {
                Ok(())
            }
        })?;
        r.map_err(|e| anyhow::anyhow!("ftruncate {path}: {}", errno_text(&e)))?;
        run.lap(1);
        let mut o = probe(&mut run, &m, &REGIONS[0], None)?;
        o.touches = touches;
        run.lap(2);
        REGIONS[0].unwatch();
        drop(m);
        drop(f);
        std::fs::remove_file(&path).with_context(|| format!("unlink {path}"))?;
        done += 1;
        if !o.stale.is_empty() {
            bad += 1;
        }
        if !c.quiet || !o.stale.is_empty() {
            report(WHAT, iter, delay, &o, &format!(", extent {off:#x}"));
        }
    }
    run.lap(3);
    Ok(c.finish(WHAT, &run, done, bad))
}

// ---- race-memfail ---------------------------------------------------------------

#[derive(Args)]
pub(crate) struct MemfailArgs {
    /// The famfs device ($FAMFS_DEV); mounted afresh for every iteration.
    dev: String,
    /// Where to mount it.
    mnt: String,
    #[command(flatten)]
    common: Common,
    /// Device offset of the touched file B (2 MiB aligned).
    #[arg(long, value_parser = parse_size, default_value = "192M")]
    offset: u64,
    /// Device offset where the poisoned file A's pages start (2 MiB
    /// aligned); iteration N poisons the page N * 4 KiB past it, so every
    /// iteration gets a page that was never poisoned.
    #[arg(long, value_parser = parse_size, default_value = "224M")]
    poison_offset: u64,
    /// Which file gets its map first (the memory-failure handler zaps files
    /// in that order): B, A, or each in turn.
    #[arg(long, value_enum, default_value = "b-first")]
    order: Order,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum Order {
    BFirst,
    AFirst,
    Alternate,
}

/// Unmounts on drop.
struct Mounted(CString);

impl Mounted {
    fn new(dev: &str, mnt: &str) -> Result<Mounted> {
        let d = CString::new(dev)?;
        let m = CString::new(mnt)?;
        // SAFETY: Valid NUL-terminated strings; famfs takes no data.
        let r = unsafe {
            libc::mount(
                d.as_ptr(),
                m.as_ptr(),
                c"famfs".as_ptr(),
                0,
                core::ptr::null(),
            )
        };
        if r != 0 {
            bail!(
                "mount {dev} on {mnt}: {}",
                errno_text(&Error::last_os_error())
            );
        }
        Ok(Mounted(m))
    }

    fn umount(self) -> Result<()> {
        let r = self.umount_raw();
        core::mem::forget(self);
        r
    }

    fn umount_raw(&self) -> Result<()> {
        // SAFETY: A valid NUL-terminated path.
        if unsafe { libc::umount2(self.0.as_ptr(), 0) } != 0 {
            bail!(
                "umount {}: {}",
                self.0.to_string_lossy(),
                errno_text(&Error::last_os_error())
            );
        }
        Ok(())
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = self.umount_raw();
    }
}

fn read_failed(stats: &str) -> Result<String> {
    let p = format!("{stats}/failed");
    Ok(std::fs::read_to_string(&p)
        .with_context(|| format!("read {p}"))?
        .trim()
        .to_string())
}

fn new_file(path: &str) -> Result<File> {
    crate::create_new(path).with_context(|| format!("create {path}"))
}

/// Touchers fault file B while the main thread poisons a page of file A on
/// the same mount; once the poisoner has its SIGBUS, no page of B (or A) may
/// be mapped.
pub(crate) fn race_memfail(a: &MemfailArgs) -> Result<Result<(), OpError>> {
    const WHAT: &str = "race-memfail";
    let c = &a.common;
    let mut run = c.start(WHAT)?;
    if a.offset % HUGE as u64 != 0 || a.poison_offset % HUGE as u64 != 0 {
        bail!("--offset and --poison-offset must be 2 MiB aligned");
    }
    let b_end = a.offset + round_up(c.size, HUGE as u64);
    let a_end = a.poison_offset + round_up((c.iterations * PAGE) as u64, HUGE as u64);
    if a.offset < a_end && a.poison_offset < b_end {
        bail!(
            "the poisoned pages ({:#x}..{a_end:#x}) overlap file B",
            a.poison_offset
        );
    }
    let name = a.dev.rsplit('/').next().unwrap_or(&a.dev);
    let stats = format!("/sys/fs/famfs/{name}");
    let (mut done, mut bad) = (0, 0);
    for iter in 0..c.iterations {
        if c.out_of_time(&run) {
            break;
        }
        run.lap(3);
        let mnt = Mounted::new(&a.dev, &a.mnt)?;
        if read_failed(&stats)? != "0" {
            bail!("{stats}/failed is not 0 on a fresh mount");
        }
        // File A: the 2 MiB holding this iteration's page, mapped PTE-wise.
        let page = iter * PAGE;
        let a_off = a.poison_offset + (page / HUGE * HUGE) as u64;
        let a_page = page % HUGE / PAGE;
        let (pa, pb) = (format!("{}/a", a.mnt), format!("{}/b", a.mnt));
        let fa = new_file(&pa)?;
        let fb = new_file(&pb)?;
        // The failure handler visits files in the order they got their maps.
        let b_first = match a.order {
            Order::BFirst => true,
            Order::AFirst => false,
            Order::Alternate => iter % 2 == 0,
        };
        if b_first {
            give_map(&pb, c.size, a.offset)?;
        }
        give_map(&pa, HUGE as u64, a_off)?;
        if !b_first {
            give_map(&pb, c.size, a.offset)?;
        }
        let ma = Mapping::new(&fa, HUGE, false)?;
        let mb = Mapping::new(&fb, c.size as usize, c.pmd)?;
        REGIONS[0].watch(mb.addr, mb.pages());
        REGIONS[1].watch(ma.addr, ma.pages());
        ma.read(a_page);
        let mce0 = MCE_SIGNALS.load(Ordering::SeqCst);
        let delay = Duration::from_micros(run.rng.below(c.max_delay_us + 1));
        let poison = ma.addr + a_page * PAGE;
        run.lap(0);
        let (touches, r) = race(&mb, c.touchers, delay, || {
            // SAFETY: Poisons one page of our own mapping of file A; the
            // SIGBUS that follows is handled.
            if unsafe { libc::madvise(poison as *mut libc::c_void, PAGE, MADV_HWPOISON) } != 0 {
                Err(Error::last_os_error())
            } else {
                Ok(())
            }
        })?;
        r.map_err(|e| anyhow::anyhow!("madvise(MADV_HWPOISON): {}", errno_text(&e)))?;
        run.lap(1);
        if !REGIONS[1].faulted(a_page) || MCE_SIGNALS.load(Ordering::SeqCst) == mce0 {
            bail!("iteration {iter}: the poisoner got no SIGBUS (BUS_MCEERR_AR) for its page");
        }
        let mut o = probe(&mut run, &mb, &REGIONS[0], None)?;
        o.touches = touches;
        let oa = probe(&mut run, &ma, &REGIONS[1], Some(a_page))?;
        let failed = read_failed(&stats)?;
        run.lap(2);
        REGIONS[0].unwatch();
        REGIONS[1].unwatch();
        drop((ma, mb, fa, fb));
        mnt.umount()?;
        if failed != "1" {
            bail!("iteration {iter}: {stats}/failed is {failed} after the memory failure");
        }
        done += 1;
        if !o.stale.is_empty() || !oa.stale.is_empty() {
            bad += 1;
        }
        if !c.quiet || !o.stale.is_empty() || !oa.stale.is_empty() {
            let extra = format!(
                ", poisoned {:#x}, file A: {} still mapped",
                a_off + (a_page * PAGE) as u64,
                oa.stale.len()
            );
            report(WHAT, iter, delay, &o, &extra);
        }
    }
    run.lap(3);
    Ok(c.finish(WHAT, &run, done, bad))
}
