//! `fuzz-mount`: random mount option strings through mount(2), each result
//! checked against the documented rules.
//!
//! The rules (Documentation/famfs.rst, "Mount options", and the kernel's
//! generic parsing of mount(2) data): the string is cut at commas; empty
//! pieces and pieces starting with `=` are skipped; a piece is `key` or
//! `key=value` (cut at the first `=`). The VFS takes the superblock flags
//! itself (`ro`, `rw`, `sync`, `async`, `dirsync`, `lazytime`,
//! `nolazytime`; any value is ignored). famfs takes `mode=OCTAL` (octal
//! digits only, at most 07777), `dax=always`, the flag `strict_write`,
//! `alloc_unit=` (`4k`, `4K`, `4096`, `2m`, `2M`, `2097152`) and `kabi=`
//! (`43`, `44`); a `source` is a second source (the device argument is the
//! first) and is refused, as is every other key: `EINVAL`. An accepted mount
//! must show the options in /proc/mounts (`ro`/`rw`, `mode=` spelled out,
//! `strict_write`, `alloc_unit=4k` for the small unit, `kabi=44` for 44; the
//! last value given counts) and give the root directory the mode.

use std::ffi::CString;
use std::io::Error;
use std::os::unix::fs::PermissionsExt;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Result};
use clap::Args;

use crate::race::Rng;
use crate::OpError;

#[derive(Args)]
pub(crate) struct FuzzMountArgs {
    /// The famfs device.
    dev: String,
    /// Where to mount it.
    mnt: String,
    /// Number of option strings.
    #[arg(long, default_value_t = 1000)]
    cases: u64,
    /// Seed (default: from the clock; printed).
    #[arg(long)]
    seed: Option<u64>,
    /// Self-test: a deliberately wrong rule (every `dax=` value accepted);
    /// the run must report disagreements.
    #[arg(long)]
    wrong_model: bool,
}

/// What a mount with these options must do.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Refused,
    Mounted {
        ro: bool,
        mode: u32,
        strict_write: bool,
        unit4k: bool,
        kabi44: bool,
    },
}

fn model(opts: &[u8], wrong: bool) -> Verdict {
    let (mut ro, mut mode, mut strict) = (false, 0o755u32, false);
    let (mut unit4k, mut kabi44) = (false, false);
    for piece in opts.split(|&c| c == b',') {
        if piece.is_empty() || piece[0] == b'=' {
            continue;
        }
        let (key, value) = match piece.iter().position(|&c| c == b'=') {
            Some(i) => (&piece[..i], Some(&piece[i + 1..])),
            None => (piece, None),
        };
        match (key, value) {
            (b"ro", _) => ro = true,
            (b"rw", _) => ro = false,
            (b"sync" | b"async" | b"dirsync" | b"lazytime" | b"nolazytime", _) => {}
            (b"mode", Some(v)) => {
                if v.is_empty() || !v.iter().all(|c| (b'0'..=b'7').contains(c)) {
                    return Verdict::Refused;
                }
                // At most 07777: more than 5 significant digits never fits.
                let digits = v.iter().skip_while(|&&c| c == b'0').count();
                if digits > 4 {
                    return Verdict::Refused;
                }
                let m = v.iter().fold(0u32, |m, c| m * 8 + u32::from(c - b'0'));
                mode = m;
            }
            (b"dax", Some(b"always")) => {}
            (b"dax", Some(_)) if wrong => {}
            (b"strict_write", None) => strict = true,
            (b"alloc_unit", Some(b"4k" | b"4K" | b"4096")) => unit4k = true,
            (b"alloc_unit", Some(b"2m" | b"2M" | b"2097152")) => unit4k = false,
            (b"kabi", Some(b"43")) => kabi44 = false,
            (b"kabi", Some(b"44")) => kabi44 = true,
            _ => return Verdict::Refused,
        }
    }
    Verdict::Mounted {
        ro,
        mode,
        strict_write: strict,
        unit4k,
        kabi44,
    }
}

/// One random option.
fn piece(rng: &mut Rng) -> String {
    let pick = |rng: &mut Rng, xs: &[&str]| xs[rng.below(xs.len() as u64) as usize].to_string();
    match rng.below(14) {
        0..=2 => {
            let v = match rng.below(8) {
                0..=3 => format!("{:o}", rng.below(0o10000)),
                4 => format!("0{:o}", rng.below(0o10000)),
                5 => format!("{:o}", 0o10000 + rng.below(1 << 20)),
                _ => pick(
                    rng,
                    &[
                        "",
                        "8",
                        "0x1ff",
                        "-1",
                        "+755",
                        "755 ",
                        "77777777777777",
                        "00000755",
                        "７",
                    ],
                ),
            };
            format!("mode={v}")
        }
        3 => pick(rng, &["mode", "Mode=755", "mode==755"]),
        4 => pick(
            rng,
            &[
                "dax=always",
                "dax=never",
                "dax=",
                "dax",
                "dax=ALWAYS",
                "dax=inode",
                "dax=always,",
            ],
        ),
        5 => pick(rng, &["strict_write", "strict_write=1", "strict_write="]),
        6..=7 => pick(
            rng,
            &[
                "ro",
                "rw",
                "sync",
                "async",
                "dirsync",
                "lazytime",
                "nolazytime",
                "ro=1",
                "rw=no",
            ],
        ),
        8 => pick(rng, &["source=/dev/null", "source", "source="]),
        9 => pick(
            rng,
            &[
                "",
                "=",
                "=x",
                ",",
                "x=",
                "famfs",
                "size=1G",
                "uid=0",
                "errors=panic",
            ],
        ),
        10 => pick(
            rng,
            &[
                "kabi=43", "kabi=44", "kabi=45", "kabi=42", "kabi=", "kabi", "kabi=044", "KABI=44",
                "kabi=44 ",
            ],
        ),
        11 => pick(
            rng,
            &[
                "alloc_unit=4k",
                "alloc_unit=4K",
                "alloc_unit=4096",
                "alloc_unit=2m",
                "alloc_unit=2M",
                "alloc_unit=2097152",
                "alloc_unit=8k",
                "alloc_unit=1G",
                "alloc_unit",
                "alloc_unit=",
            ],
        ),
        12 => {
            let n = 1 + rng.below(12);
            (0..n)
                .map(|_| (b'a' + rng.below(26) as u8) as char)
                .collect::<String>()
        }
        _ => "k".repeat(1 + rng.below(300) as usize),
    }
}

/// The options field of `mnt`'s line in /proc/mounts, if mounted.
fn mounted_options(mnt: &str) -> Option<String> {
    let text = std::fs::read_to_string("/proc/mounts").ok()?;
    text.lines().find_map(|l| {
        let f: Vec<&str> = l.split(' ').collect();
        (f.len() > 3 && f[1] == mnt && f[2] == "famfs").then(|| f[3].to_string())
    })
}

fn umount(mnt: &CString) -> std::io::Result<()> {
    // SAFETY: A valid NUL-terminated path.
    if unsafe { libc::umount2(mnt.as_ptr(), 0) } != 0 {
        return Err(Error::last_os_error());
    }
    Ok(())
}

pub(crate) fn fuzz_mount(a: &FuzzMountArgs) -> Result<Result<(), OpError>> {
    let seed = a.seed.unwrap_or_else(|| {
        let d = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        d.as_secs() ^ (u64::from(d.subsec_nanos()) << 20) ^ u64::from(std::process::id())
    });
    println!(
        "fuzz-mount: seed {seed}, {} cases{}",
        a.cases,
        if a.wrong_model {
            ", SELF-TEST: wrong rule"
        } else {
            ""
        }
    );
    if mounted_options(&a.mnt).is_some() {
        bail!("{} is mounted already", a.mnt);
    }
    let dev = CString::new(a.dev.as_str())?;
    let mnt = CString::new(a.mnt.as_str())?;
    let mut rng = Rng(seed);
    let (mut accepted, mut refused, mut failures) = (0u64, 0u64, 0u64);
    let t0 = Instant::now();
    let mut done = 0;
    for case in 0..a.cases {
        if failures >= 5 {
            break;
        }
        done += 1;
        let n = 1 + rng.below(4);
        let opts: Vec<String> = (0..n).map(|_| piece(&mut rng)).collect();
        let opts = opts.join(",");
        let want = model(opts.as_bytes(), a.wrong_model);
        let data = CString::new(opts.as_str())?;
        // SAFETY: Valid NUL-terminated strings; the data is a string.
        let r = unsafe {
            libc::mount(
                dev.as_ptr(),
                mnt.as_ptr(),
                c"famfs".as_ptr(),
                0,
                data.as_ptr().cast(),
            )
        };
        let errno = if r == 0 {
            0
        } else {
            Error::last_os_error().raw_os_error().unwrap_or(-1)
        };
        let shown = mounted_options(&a.mnt);
        let mut problem = None;
        match (&want, errno) {
            (Verdict::Refused, libc::EINVAL) => {
                refused += 1;
                if shown.is_some() {
                    problem = Some("refused, but something is mounted".to_string());
                }
            }
            (
                Verdict::Mounted {
                    ro,
                    mode,
                    strict_write,
                    unit4k,
                    kabi44,
                },
                0,
            ) => {
                accepted += 1;
                let s = shown.clone().unwrap_or_default();
                let fields: Vec<&str> = s.split(',').collect();
                let root = std::fs::metadata(&a.mnt)
                    .map(|m| m.permissions().mode() & 0o7777)
                    .unwrap_or(u32::MAX);
                if fields.first() != Some(&if *ro { "ro" } else { "rw" })
                    || !fields.contains(&format!("mode={mode:o}").as_str())
                    || fields.contains(&"strict_write") != *strict_write
                    || fields.contains(&"alloc_unit=4k") != *unit4k
                    || fields.contains(&"kabi=44") != *kabi44
                    || root != *mode
                {
                    problem = Some(format!(
                        "mounted with options '{s}' and root mode {root:o}, expected {want:?}"
                    ));
                }
            }
            (_, e) => {
                if e == 0 {
                    accepted += 1;
                }
                problem = Some(format!(
                    "expected {want:?}, got {}",
                    if e == 0 {
                        "a mount".to_string()
                    } else {
                        famfs_util::errno_str(e).to_string()
                    }
                ));
            }
        }
        if shown.is_some() {
            if let Err(e) = umount(&mnt) {
                bail!("umount {}: {e}", a.mnt);
            }
        }
        if let Some(p) = problem {
            failures += 1;
            println!("fuzz-mount: case {case}: MISMATCH: -o '{opts}': {p}");
            println!(
                "fuzz-mount: replay with: famfs-maptool fuzz-mount {} {} --seed {seed} --cases {}{}",
                a.dev,
                a.mnt,
                case + 1,
                if a.wrong_model { " --wrong-model" } else { "" }
            );
        }
    }
    println!(
        "fuzz-mount: {done} cases in {:.1} s: {accepted} mounted, {refused} refused; {failures} mismatches",
        t0.elapsed().as_secs_f64()
    );
    if failures > 0 {
        return Ok(Err(OpError(format!(
            "fuzz-mount: {failures} option strings disagreed with the rules (seed {seed})"
        ))));
    }
    Ok(Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_rules() {
        let m = |s: &str| model(s.as_bytes(), false);
        let ok = |ro, mode, strict_write| Verdict::Mounted {
            ro,
            mode,
            strict_write,
            unit4k: false,
            kabi44: false,
        };
        assert_eq!(m(""), ok(false, 0o755, false));
        assert_eq!(m("ro,mode=0700"), ok(true, 0o700, false));
        assert_eq!(
            m("mode=7777,strict_write,dax=always"),
            ok(false, 0o7777, true)
        );
        assert_eq!(m("mode=17777"), Verdict::Refused);
        assert_eq!(m("mode=00000755"), ok(false, 0o755, false));
        assert_eq!(m("mode="), Verdict::Refused);
        assert_eq!(m("mode"), Verdict::Refused);
        assert_eq!(m("dax=never"), Verdict::Refused);
        assert_eq!(m("strict_write=1"), Verdict::Refused);
        assert_eq!(m("source=/dev/x"), Verdict::Refused);
        assert_eq!(m(",,=x,ro=1,rw"), ok(false, 0o755, false));
        assert_eq!(m("bogus"), Verdict::Refused);
        let unit_kabi = |unit4k, kabi44| Verdict::Mounted {
            ro: false,
            mode: 0o755,
            strict_write: false,
            unit4k,
            kabi44,
        };
        assert_eq!(m("alloc_unit=4K,kabi=44"), unit_kabi(true, true));
        assert_eq!(
            m("kabi=44,kabi=43,alloc_unit=4096,alloc_unit=2M"),
            unit_kabi(false, false)
        );
        assert_eq!(m("kabi=45"), Verdict::Refused);
        assert_eq!(m("kabi"), Verdict::Refused);
        assert_eq!(m("kabi=044"), Verdict::Refused);
        assert_eq!(m("alloc_unit=8k"), Verdict::Refused);
        assert_eq!(m("alloc_unit="), Verdict::Refused);
    }
}
