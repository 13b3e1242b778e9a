//! `fail-nth N [--report FILE] -- CMD [ARG...]`: run CMD with the kernel's
//! systematic fault injection armed (`/proc/PID/fail-nth`, see the kernel's
//! Documentation/fault-injection/fault-injection.rst).
//!
//! The kernel counts, in one task, the calls to its fault-injection points
//! (failslab, fail_page_alloc) that pass their filters, and fails the N-th.
//! The guest tests restrict both points to call stacks that pass through
//! famfs.ko (`require-start`/`require-end`), so N counts the allocations
//! famfs makes or causes. The count is per task: `fork` clears it and `exec`
//! keeps it. So this tool forks CMD's process, holds it before its `exec`,
//! sets the count on it from outside, then lets it go. When CMD has exited,
//! and before it is reaped, the count is read back: 0 means the N-th call
//! happened and failed; a non-zero value means CMD made fewer than N such
//! calls, so nothing was injected.
//!
//! The outcome goes to FILE (`injected`, or `not-reached CALLS`) and the exit
//! status is CMD's (128 + signal if a signal killed it). `--timeout SECS`
//! arms an alarm in CMD's process before its `exec` (an alarm survives
//! `exec`), so a CMD that takes longer dies by SIGALRM (exit status 142)
//! without a timeout(1) process per attempt: under emulation every process
//! start costs a large part of a second, and the sweeps make hundreds.

use std::ffi::CString;
use std::fs::OpenOptions;
use std::io::{Read, Write};

use anyhow::{bail, Context, Result};

#[derive(clap::Args)]
pub struct Args {
    /// Fail the N-th fault-injection point CMD's main task reaches (N >= 1).
    n: u32,
    /// Write "injected" or "not-reached CALLS" (the calls CMD made) here.
    #[arg(long)]
    report: Option<String>,
    /// Kill CMD with SIGALRM after this many seconds (0: never).
    #[arg(long, default_value_t = 0)]
    timeout: u32,
    /// The command to run.
    #[arg(last = true, required = true)]
    cmd: Vec<String>,
}

fn os_err(what: &str) -> anyhow::Error {
    anyhow::anyhow!("{what}: {}", std::io::Error::last_os_error())
}

pub fn fail_nth(a: &Args) -> Result<i32> {
    if a.n == 0 {
        bail!("N must be at least 1");
    }
    let argv = a
        .cmd
        .iter()
        .map(|s| CString::new(s.as_bytes()).context("an argument contains a NUL byte"))
        .collect::<Result<Vec<_>>>()?;
    let mut argp: Vec<*const libc::c_char> = argv.iter().map(|s| s.as_ptr()).collect();
    argp.push(core::ptr::null());

    let timeout = a.timeout;
    let mut gate = [0 as libc::c_int; 2];
    // SAFETY: pipe2(2) writes two new descriptors into the array it is given.
    if unsafe { libc::pipe2(gate.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(os_err("pipe"));
    }
    let [gate_r, gate_w] = gate;
    // SAFETY: fork(2). The child runs only async-signal-safe calls (close,
    // read, alarm, execvp, _exit) on memory prepared before the fork (argp points
    // into argv, which lives until after the exec or the _exit).
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(os_err("fork"));
    }
    if pid == 0 {
        // SAFETY: see the fork above; the child never returns from here.
        unsafe {
            libc::close(gate_w);
            let mut b = 0u8;
            // Blocks until the parent has armed the count (one byte) or is
            // gone (end of file). Only the byte lets CMD run. alarm(2) is
            // async-signal-safe, and the alarm it sets is kept across exec.
            if libc::read(gate_r, (&raw mut b).cast(), 1) == 1 {
                if timeout > 0 {
                    libc::alarm(timeout);
                }
                libc::execvp(argp[0], argp.as_ptr());
            }
            libc::_exit(127);
        }
    }
    // SAFETY: the parent's copy of the read end, not used again.
    unsafe { libc::close(gate_r) };

    let path = format!("/proc/{pid}/fail-nth");
    let armed = OpenOptions::new()
        .write(true)
        .open(&path)
        .with_context(|| format!("open {path} (kernel without CONFIG_FAULT_INJECTION?)"))
        .and_then(|mut knob| {
            knob.write_all(a.n.to_string().as_bytes())
                .with_context(|| format!("write {path}"))
        });
    let released = armed.and_then(|()| {
        // SAFETY: writes one byte from a local to the pipe's write end.
        if unsafe { libc::write(gate_w, b"g".as_ptr().cast(), 1) } == 1 {
            Ok(())
        } else {
            Err(os_err("release the child"))
        }
    });
    // SAFETY: the parent's write end, not used again. If the byte was not
    // written, the child sees end of file and exits 127 without running CMD.
    unsafe { libc::close(gate_w) };

    // Wait for the exit without reaping, so that /proc/PID still answers.
    // SAFETY: waitid(2) with a zeroed siginfo_t out-parameter that lives for
    // the call; WNOWAIT leaves the child to be reaped below.
    let rc = unsafe {
        let mut info: libc::siginfo_t = core::mem::zeroed();
        libc::waitid(
            libc::P_PID,
            pid as libc::id_t,
            &raw mut info,
            libc::WEXITED | libc::WNOWAIT,
        )
    };
    if rc != 0 {
        return Err(os_err("waitid"));
    }
    let left = if released.is_ok() {
        let mut text = String::new();
        std::fs::File::open(&path)
            .and_then(|mut f| f.read_to_string(&mut text))
            .with_context(|| format!("read {path}"))?;
        Some(
            text.trim()
                .parse::<u32>()
                .with_context(|| format!("{path}: {text:?}"))?,
        )
    } else {
        None
    };
    let mut status = 0;
    // SAFETY: waitpid(2) on our own child, with a local out-parameter.
    if unsafe { libc::waitpid(pid, &raw mut status, 0) } != pid {
        return Err(os_err("waitpid"));
    }
    released?;
    let left = left.unwrap_or(0);
    let outcome = if left == 0 {
        "injected".to_string()
    } else {
        format!("not-reached {}", a.n - left)
    };
    if let Some(r) = &a.report {
        std::fs::write(r, format!("{outcome}\n")).with_context(|| format!("write {r}"))?;
    } else {
        eprintln!("famfs-maptool: fail-nth {}: {outcome}", a.n);
    }
    Ok(if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    })
}

/// `mount SOURCE TARGET [OPTIONS]`: mount(2) of a famfs file system; prints
/// `OK` or the errno name (exit 0 either way: the call was made). The same
/// contract as tests/guest/famfs-sys's mount, without a Python start-up per
/// attempt (the allocation sweeps make hundreds). SOURCE `-` passes no
/// source (a NULL pointer), as famfs-sys does.
pub fn mount(source: &str, target: &str, options: Option<&str>) -> Result<()> {
    let src = (source != "-").then(|| CString::new(source)).transpose()?;
    let tgt = CString::new(target)?;
    let opts = options.map(CString::new).transpose()?;
    // SAFETY: mount(2) with NUL-terminated strings that live for the call
    // (or NULL for the source and the options, which mount(2) allows).
    let r = unsafe {
        libc::mount(
            src.as_ref().map_or(core::ptr::null(), |s| s.as_ptr()),
            tgt.as_ptr(),
            c"famfs".as_ptr(),
            0,
            opts.as_ref()
                .map_or(core::ptr::null(), |o| o.as_ptr().cast()),
        )
    };
    if r == 0 {
        println!("OK");
    } else {
        println!(
            "{}",
            famfs_util::errno_name(&std::io::Error::last_os_error())
        );
    }
    Ok(())
}

/// `poison FILE`: map FILE's first page, touch it, then MADV_HWPOISON it,
/// in this process (fail-nth counts one task). The kernel kills the caller
/// with SIGBUS; if it returns, prints what happened and exits 1.
pub fn poison(file: &str) -> Result<()> {
    const MADV_HWPOISON: libc::c_int = 100;
    let f = std::fs::File::open(file).with_context(|| format!("open {file}"))?;
    // SAFETY: a fresh shared read-only mapping of one page of an open file.
    let p = unsafe {
        libc::mmap(
            core::ptr::null_mut(),
            4096,
            libc::PROT_READ,
            libc::MAP_SHARED,
            std::os::fd::AsRawFd::as_raw_fd(&f),
            0,
        )
    };
    if p == libc::MAP_FAILED {
        return Err(os_err("mmap"));
    }
    // SAFETY: p is a readable mapping of 4096 bytes made above.
    let first = unsafe { core::ptr::read_volatile(p.cast::<u8>()) };
    // SAFETY: madvise(2) on the mapping made above.
    if unsafe { libc::madvise(p, 4096, MADV_HWPOISON) } != 0 {
        return Err(os_err("madvise(MADV_HWPOISON)"));
    }
    // SAFETY: as above; after the poison this access must raise SIGBUS.
    let again = unsafe { core::ptr::read_volatile(p.cast::<u8>()) };
    bail!("no SIGBUS: read {first:#x}, then {again:#x} after the poison")
}
