//! `famfs` (and `mkfs.famfs`, the same program under another name): the
//! command-line tool of the famfs file system. Each command is a module of
//! [`cmd`]; this file parses the command line and reports errors.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{CommandFactory, Parser, Subcommand};

mod cmd;

const EXIT_CODES: &str = "\
Exit status: 0 success; 1 failure (a message says why); 2 usage error.
Exceptions: mount and logplay exit 1 when a log entry could not be
instantiated (the file system stays mounted); follow (and mount --follow)
exits 0 when the mount goes away, 1 when the device fails, 3 when the file
system was re-created elsewhere; getmap (1 not famfs,
2 no map), fsck (1 problems found),
devices (1 a device is not ok),
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

#[derive(Subcommand)]
enum Cmd {
    /// Create a famfs file system on a dax device (fsdev_dax) or pmem device.
    Mkfs(cmd::mkfs::Args),
    /// Mount a famfs file system and replay its log.
    Mount(cmd::mount::Args),
    /// Instantiate the files and directories of the log that this mount
    /// lacks (idempotent; on a client, files are read-only).
    Logplay(cmd::logplay::Args),
    /// Keep a client mount current: replay new log entries as the master
    /// appends them, until the mount goes away.
    ///
    /// Replays the whole log first (as logplay), then looks at the log
    /// header in the shared memory every --interval and instantiates only
    /// the new entries, with logplay's rules. Corrupt entries are reported
    /// once and read again later; the superblock is checked before and
    /// after reading new entries, so nothing of a re-created file system is
    /// instantiated (exit 3). A plain umount of the mount works while it
    /// runs and ends it (exit 0); a failed device ends it with exit 1. The
    /// master refuses (it writes the log). Applications can wait for new
    /// files with inotify on the mount.
    Follow(cmd::follow::Args),
    /// Create (pre-allocate) files; master only.
    Creat(cmd::creat::Args),
    /// Copy files (and with -r directories) into famfs; master only.
    Cp(cmd::cp::Args),
    /// Create directories; master only.
    Mkdir(cmd::mkdir::Args),
    /// Add a dax device to a mounted file system; master only.
    ///
    /// Opens the device (a /dev/daxX.Y on fsdev_dax) in the mount's device
    /// table, writes its label (the file system's UUID and the device's
    /// own) into its first 2 MiB and logs it. Other hosts open it when they
    /// mount or replay the log; new files may then use it.
    Devadd(cmd::devadd::Args),
    /// List the devices of a mounted file system: index, name, size, uuid,
    /// state and use (exit 1: a device is not ok).
    Devices(cmd::devices::Args),
    /// Print a file's map (exit 1: not famfs, 2: no map).
    Getmap(cmd::getmap::Args),
    /// Check the metadata of a device or a mount: CRCs, paths, overlapping
    /// allocations, free space (exit 1: problems found).
    Fsck(cmd::fsck::Args),
    /// Check a mount: every file has a map, the metadata is valid and
    /// current (exit bits: 1 unmapped, 2 superblock, 4 log, 8 re-created).
    Check(cmd::check::Args),
    /// Check files filled by `creat -r` (exit 1: content differs).
    Verify(cmd::verify::Args),
    /// Write back and invalidate the CPU caches over files (for memory that
    /// is not cache-coherent between hosts).
    Flush(cmd::flush::Args),
    /// Write the manual pages and shell completions made from these
    /// definitions (used by the build; not a user command).
    #[command(hide = true)]
    Generate(GenerateArgs),
}

#[derive(clap::Args)]
struct GenerateArgs {
    /// Where to write man8/*.8 and completions/{famfs.bash,_famfs,famfs.fish}.
    out: PathBuf,
}

/// The commands that get a page (not `help`, not hidden ones).
fn documented(cli: &clap::Command) -> impl Iterator<Item = &clap::Command> {
    cli.get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
}

/// The manual pages, one source with `--help`: famfs(8) and famfs-CMD(8)
/// for every command, mkfs.famfs(8) pointing to famfs-mkfs(8); and the
/// bash, zsh and fish completions.
fn generate(out: &Path) -> Result<u8> {
    let mut cli = Cli::command();
    cli.build();
    let man = out.join("man8");
    std::fs::create_dir_all(&man).with_context(|| format!("mkdir {}", man.display()))?;
    let page = |cmd: clap::Command, name: &str| -> Result<()> {
        let mut buf = Vec::new();
        clap_mangen::Man::new(cmd)
            .title(name.to_uppercase())
            .section("8")
            .manual("famfs")
            .render(&mut buf)?;
        let p = man.join(format!("{name}.8"));
        std::fs::write(&p, buf).with_context(|| format!("write {}", p.display()))
    };
    page(cli.clone(), "famfs")?;
    for sub in documented(&cli) {
        let name = format!("famfs-{}", sub.get_name());
        let bin = format!("famfs {}", sub.get_name());
        page(sub.clone().name(name.clone()).bin_name(bin), &name)?;
    }
    std::fs::write(man.join("mkfs.famfs.8"), ".so man8/famfs-mkfs.8\n")?;
    let comp = out.join("completions");
    std::fs::create_dir_all(&comp).with_context(|| format!("mkdir {}", comp.display()))?;
    use clap_complete::Shell;
    for (shell, file) in [
        (Shell::Bash, "famfs.bash"),
        (Shell::Zsh, "_famfs"),
        (Shell::Fish, "famfs.fish"),
    ] {
        let mut buf = Vec::new();
        clap_complete::generate(shell, &mut cli, "famfs", &mut buf);
        std::fs::write(comp.join(file), buf)?;
    }
    Ok(0)
}

impl Cmd {
    fn name(&self) -> &'static str {
        match self {
            Cmd::Mkfs(_) => "mkfs",
            Cmd::Mount(_) => "mount",
            Cmd::Logplay(_) => "logplay",
            Cmd::Follow(_) => "follow",
            Cmd::Creat(_) => "creat",
            Cmd::Cp(_) => "cp",
            Cmd::Mkdir(_) => "mkdir",
            Cmd::Devadd(_) => "devadd",
            Cmd::Devices(_) => "devices",
            Cmd::Getmap(_) => "getmap",
            Cmd::Fsck(_) => "fsck",
            Cmd::Check(_) => "check",
            Cmd::Verify(_) => "verify",
            Cmd::Flush(_) => "flush",
            Cmd::Generate(_) => "generate",
        }
    }

    fn run(self) -> Result<u8> {
        match self {
            Cmd::Mkfs(a) => cmd::mkfs::run(a),
            Cmd::Mount(a) => cmd::mount::run(a),
            Cmd::Logplay(a) => cmd::logplay::run(a),
            Cmd::Follow(a) => cmd::follow::run(a),
            Cmd::Creat(a) => cmd::creat::run(a),
            Cmd::Cp(a) => cmd::cp::run(a),
            Cmd::Mkdir(a) => cmd::mkdir::run(a),
            Cmd::Devadd(a) => cmd::devadd::run(a),
            Cmd::Devices(a) => cmd::devices::run(a),
            Cmd::Getmap(a) => cmd::getmap::run(a),
            Cmd::Fsck(a) => cmd::fsck::run(a),
            Cmd::Check(a) => cmd::check::run(a),
            Cmd::Verify(a) => cmd::verify::run(a),
            Cmd::Flush(a) => cmd::flush::run(a),
            Cmd::Generate(a) => generate(&a.out),
        }
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
    let name = cli.cmd.name();
    match cli.cmd.run() {
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
    fn the_cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_command_gets_a_page_with_every_option() {
        let dir = tempfile::tempdir().unwrap();
        generate(dir.path()).unwrap();
        let cli = Cli::command();
        for sub in documented(&cli) {
            let p = dir.path().join(format!("man8/famfs-{}.8", sub.get_name()));
            let page = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p:?}: {e}"));
            for arg in sub.get_arguments().filter(|a| !a.is_hide_set()) {
                if let Some(l) = arg.get_long() {
                    let roff = format!("\\-\\-{}", l.replace('-', "\\-"));
                    assert!(page.contains(&roff), "{p:?} lacks --{l}");
                }
            }
        }
        assert!(dir.path().join("man8/famfs.8").exists());
        assert!(!dir.path().join("man8/famfs-generate.8").exists());
        assert!(!dir.path().join("man8/famfs-help.8").exists());
        for f in ["famfs.bash", "_famfs", "famfs.fish"] {
            let c = std::fs::read_to_string(dir.path().join("completions").join(f)).unwrap();
            assert!(c.contains("follow"), "{f} completes follow");
        }
    }
}
