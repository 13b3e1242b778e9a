//! `famfs` (and `mkfs.famfs`, the same program under another name): the
//! command-line tool of the famfs file system.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};
use famfs::ops::{self, CpOpts, MkfsOpts, Owner};
use famfs::session::Layout;
use famfs_util::parse_size;

const EXIT_CODES: &str = "\
Exit status: 0 success; 1 failure (a message says why); 2 usage error.
Exceptions: mount and logplay exit 1 when a log entry could not be
instantiated (the file system stays mounted); getmap (1 not famfs,
2 no map), fsck (1 problems found),
check (bit mask: 1 unmapped file, 2 bad superblock, 4 bad log,
8 file system re-created elsewhere), verify (1 content differs).";

#[derive(Parser)]
#[command(
    name = "famfs",
    version,
    about = "famfs: files in shared (CXL or pmem) memory",
    after_help = EXIT_CODES
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

fn parse_mode(s: &str) -> Result<u32, String> {
    let m = u32::from_str_radix(s, 8).map_err(|_| format!("bad mode '{s}' (octal, e.g. 0644)"))?;
    if m > 0o7777 {
        return Err(format!("bad mode '{s}' (at most 07777)"));
    }
    Ok(m)
}

#[derive(clap::Args, Clone, Copy)]
struct OwnerArgs {
    /// Mode bits (octal).
    #[arg(short, long, value_parser = parse_mode)]
    mode: Option<u32>,
    /// Owner uid.
    #[arg(short, long)]
    uid: Option<u32>,
    /// Owner gid.
    #[arg(short, long)]
    gid: Option<u32>,
}

impl From<OwnerArgs> for Owner {
    fn from(o: OwnerArgs) -> Owner {
        Owner {
            mode: o.mode,
            uid: o.uid,
            gid: o.gid,
        }
    }
}

#[derive(clap::Args, Clone, Copy)]
struct LayoutArgs {
    /// Interleave new files over this many strips (needs --nbuckets).
    #[arg(short = 'N', long, requires = "nbuckets")]
    nstrips: Option<u64>,
    /// Cut the device into this many buckets (each at least 1 GiB).
    #[arg(short = 'B', long, requires = "nstrips")]
    nbuckets: Option<u64>,
    /// Interleave chunk size (power of two, multiple of 2 MiB).
    #[arg(short = 'C', long, value_parser = parse_size, default_value = "2M")]
    chunk: u64,
}

impl LayoutArgs {
    fn layout(&self) -> Layout {
        match (self.nstrips, self.nbuckets) {
            (Some(nstrips), Some(nbuckets)) => Layout::Interleaved {
                nbuckets,
                nstrips,
                chunk: self.chunk,
            },
            _ => Layout::Contiguous,
        }
    }
}

#[derive(Subcommand)]
enum Cmd {
    /// Create a famfs file system on a dax device (fsdev_dax) or pmem device.
    Mkfs {
        /// Overwrite an existing famfs file system.
        #[arg(short, long)]
        force: bool,
        /// Destroy the file system (clear its superblock); needs -f.
        #[arg(short, long)]
        kill: bool,
        /// Log size (a power of two, at least 8M).
        #[arg(short = 'l', long = "loglen", value_parser = parse_size, default_value = "8M")]
        log_len: u64,
        /// The device, e.g. /dev/dax0.0 or /dev/pmem0.
        device: PathBuf,
    },
    /// Mount a famfs file system and replay its log.
    Mount {
        /// Print each instantiated file and directory.
        #[arg(short, long)]
        verbose: bool,
        /// The device.
        device: PathBuf,
        /// The mount point.
        mountpoint: PathBuf,
    },
    /// Instantiate the files and directories of the log that this mount
    /// lacks (idempotent; on a client, files are read-only).
    Logplay {
        /// Only print what would be done.
        #[arg(short = 'n', long)]
        dry_run: bool,
        /// Print each instantiated file and directory.
        #[arg(short, long)]
        verbose: bool,
        /// The mount point.
        mountpoint: PathBuf,
    },
    /// Create (pre-allocate) files; master only.
    Creat {
        /// File size.
        #[arg(short, long, value_parser = parse_size)]
        size: u64,
        /// Fill with seeded pseudo-random bytes (see --seed).
        #[arg(short, long)]
        random: bool,
        /// Seed of the random fill.
        #[arg(short = 'S', long, default_value_t = 0)]
        seed: u64,
        #[command(flatten)]
        owner: OwnerArgs,
        #[command(flatten)]
        layout: LayoutArgs,
        /// Files to create.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Copy files (and with -r directories) into famfs; master only.
    Cp {
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
    },
    /// Create directories; master only.
    Mkdir {
        /// Create missing parents; no error if the directory exists.
        #[arg(short, long)]
        parents: bool,
        #[command(flatten)]
        owner: OwnerArgs,
        /// Directories to create.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
    },
    /// Print a file's map (exit 1: not famfs, 2: no map).
    Getmap {
        /// JSON output.
        #[arg(long)]
        json: bool,
        /// Print nothing; only the exit status.
        #[arg(short, long)]
        quiet: bool,
        /// The file.
        file: PathBuf,
    },
    /// Check the metadata of a device or a mount: CRCs, paths, overlapping
    /// allocations, free space (exit 1: problems found).
    Fsck {
        /// JSON output.
        #[arg(long)]
        json: bool,
        /// A device or a famfs mount point.
        target: PathBuf,
    },
    /// Check a mount: every file has a map, the metadata is valid and
    /// current (exit bits: 1 unmapped, 2 superblock, 4 log, 8 re-created).
    Check {
        /// The mount point.
        mountpoint: PathBuf,
    },
    /// Check files filled by `creat -r` (exit 1: content differs).
    Verify {
        /// The seed the files were filled with.
        #[arg(short = 'S', long)]
        seed: u64,
        /// Files to check.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Write back and invalidate the CPU caches over files (for memory that
    /// is not cache-coherent between hosts).
    Flush {
        /// Files to flush.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

fn run(cmd: Cmd) -> Result<u8> {
    match cmd {
        Cmd::Mkfs {
            force,
            kill,
            log_len,
            device,
        } => ops::mkfs(
            &device,
            &MkfsOpts {
                force,
                kill,
                log_len,
            },
        )
        .map(|_| 0),
        Cmd::Mount {
            verbose,
            device,
            mountpoint,
        } => {
            let st = ops::mount(&device, &mountpoint, verbose)?;
            ops::print_stats(&st, false);
            if st.errors > 0 {
                eprintln!(
                    "famfs mount: mounted, but {} log entries could not be replayed",
                    st.errors
                );
            }
            Ok(u8::from(st.errors > 0))
        }
        Cmd::Logplay {
            dry_run,
            verbose,
            mountpoint,
        } => {
            let mpt = ops::mount_point(&mountpoint)?;
            let st = ops::logplay(&mpt, dry_run, verbose)?;
            ops::print_stats(&st, dry_run);
            Ok(u8::from(st.errors > 0))
        }
        Cmd::Creat {
            size,
            random,
            seed,
            owner,
            layout,
            files,
        } => ops::creat(
            &files,
            size,
            owner.into(),
            random.then_some(seed),
            layout.layout(),
        )
        .map(|_| 0),
        Cmd::Cp {
            recursive,
            verbose,
            owner,
            layout,
            mut paths,
        } => {
            let dst = paths.pop().expect("at least two paths");
            let n = ops::cp(
                &paths,
                &dst,
                &CpOpts {
                    recursive,
                    owner: owner.into(),
                    layout: layout.layout(),
                    verbose,
                },
            )?;
            if verbose {
                println!("famfs cp: {n} files copied");
            }
            Ok(0)
        }
        Cmd::Mkdir {
            parents,
            owner,
            dirs,
        } => ops::mkdir(&dirs, parents, owner.into()).map(|_| 0),
        Cmd::Getmap { json, quiet, file } => ops::getmap(&file, json, quiet),
        Cmd::Fsck { json, target } => ops::fsck(&target, json),
        Cmd::Check { mountpoint } => ops::check(&mountpoint),
        Cmd::Verify { seed, files } => ops::verify(&files, seed),
        Cmd::Flush { files } => ops::flush(&files).map(|_| 0),
    }
}

fn main() -> ExitCode {
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // Called as mkfs.famfs: the same as `famfs mkfs`.
    let argv0 = std::path::Path::new(&args[0])
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if argv0 == "mkfs.famfs" {
        args[0] = "famfs".into();
        args.insert(1, "mkfs".into());
    }
    let cli = Cli::parse_from(args);
    // Modes come from the command line or the log, exactly.
    famfs::sys::clear_umask();
    let name = match &cli.cmd {
        Cmd::Mkfs { .. } => "mkfs",
        Cmd::Mount { .. } => "mount",
        Cmd::Logplay { .. } => "logplay",
        Cmd::Creat { .. } => "creat",
        Cmd::Cp { .. } => "cp",
        Cmd::Mkdir { .. } => "mkdir",
        Cmd::Getmap { .. } => "getmap",
        Cmd::Fsck { .. } => "fsck",
        Cmd::Check { .. } => "check",
        Cmd::Verify { .. } => "verify",
        Cmd::Flush { .. } => "flush",
    };
    match run(cli.cmd) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("famfs {name}: {e:#}");
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes() {
        assert_eq!(parse_mode("0644"), Ok(0o644));
        assert_eq!(parse_mode("4755"), Ok(0o4755));
        assert!(parse_mode("0888").is_err());
        assert!(parse_mode("17777").is_err());
    }

    #[test]
    fn the_cli_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
