//! Finding famfs mounts and turning user paths into log paths.

use std::path::{Component, Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};

/// A mounted famfs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mount {
    /// The device it was mounted from.
    pub dev: PathBuf,
    /// Where it is mounted.
    pub mpt: PathBuf,
}

/// Undoes the octal escapes (`\040` for a space...) of /proc mount tables.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 4 <= b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 4], 8) {
                out.push(v);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The famfs mounts in a mountinfo table (`/proc/self/mountinfo` format).
pub fn parse_mountinfo(text: &str) -> Vec<Mount> {
    let mut v = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        let Some(sep) = f.iter().position(|x| *x == "-") else {
            continue;
        };
        if f.len() < sep + 3 || f.len() < 5 || f[sep + 1] != "famfs" {
            continue;
        }
        v.push(Mount {
            dev: PathBuf::from(unescape(f[sep + 2])),
            mpt: PathBuf::from(unescape(f[4])),
        });
    }
    v
}

/// The super-block options (the last field: `rw,mode=755,...`) of the
/// famfs mounted at `mpt` in a mountinfo table, if one is.
pub fn super_options_in(text: &str, mpt: &Path) -> Option<String> {
    for line in text.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        let Some(sep) = f.iter().position(|x| *x == "-") else {
            continue;
        };
        if f.len() < sep + 4 || f.len() < 5 || f[sep + 1] != "famfs" {
            continue;
        }
        if Path::new(&unescape(f[4])) == mpt {
            return Some(f[sep + 3].to_string());
        }
    }
    None
}

/// The famfs mounts of this host.
pub fn mounts() -> Result<Vec<Mount>> {
    let t = std::fs::read_to_string("/proc/self/mountinfo").context("read /proc/self/mountinfo")?;
    Ok(parse_mountinfo(&t))
}

/// The famfs mount of a device, if it is mounted on this host.
pub fn mount_of_dev(dev: &Path) -> Result<Option<Mount>> {
    let want = std::fs::canonicalize(dev).unwrap_or_else(|_| dev.to_path_buf());
    Ok(mounts()?
        .into_iter()
        .find(|m| std::fs::canonicalize(&m.dev).unwrap_or_else(|_| m.dev.clone()) == want))
}

/// The relative path of `abs` under `mpt` (both absolute, normalised).
pub fn relative_to(abs: &Path, mpt: &Path) -> Option<String> {
    let rel = abs.strip_prefix(mpt).ok()?;
    Some(
        rel.components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/"),
    )
}

/// Makes `p` absolute: its longest existing ancestor is canonicalised
/// (symlinks resolved), the components below it, which do not exist yet,
/// are appended as they are (`.` dropped; `..` refused).
pub fn absolute(p: &Path) -> Result<PathBuf> {
    let abs = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()?.join(p)
    };
    let mut base = abs.clone();
    let mut rest: Vec<std::ffi::OsString> = Vec::new();
    loop {
        match std::fs::canonicalize(&base) {
            Ok(c) => {
                let mut out = c;
                for r in rest.iter().rev() {
                    out.push(r);
                }
                return Ok(out);
            }
            Err(_) => {
                let comp = base
                    .components()
                    .next_back()
                    .ok_or_else(|| anyhow!("{}: no such path", p.display()))?;
                match comp {
                    Component::Normal(n) => rest.push(n.to_os_string()),
                    Component::CurDir => {}
                    _ => bail!("{}: '..' below a missing directory", p.display()),
                }
                if !base.pop() {
                    bail!("{}: no such path", p.display());
                }
            }
        }
    }
}

/// The innermost mount holding the absolute path `abs`.
pub fn containing<'a>(mounts: &'a [Mount], abs: &Path) -> Option<&'a Mount> {
    mounts
        .iter()
        .filter(|m| abs.starts_with(&m.mpt))
        .max_by_key(|m| m.mpt.as_os_str().len())
}

/// Resolves a user path (which need not exist) to its famfs mount and its
/// path relative to the mount point ("" for the mount point itself).
pub fn resolve(p: &Path) -> Result<(Mount, String)> {
    resolve_in(&mounts()?, &mut Default::default(), p)
}

/// [`resolve`] against a given mount table, with a cache of canonical
/// parents (many paths of one command usually share their directory).
pub fn resolve_in(
    mounts: &[Mount],
    parents: &mut std::collections::HashMap<PathBuf, PathBuf>,
    p: &Path,
) -> Result<(Mount, String)> {
    let abs = match (p.parent(), p.file_name()) {
        (Some(par), Some(name))
            if !par.as_os_str().is_empty()
                && !matches!(p.components().next_back(), Some(Component::ParentDir)) =>
        {
            let canon = match parents.get(par) {
                Some(c) => c.clone(),
                None => {
                    let c = absolute(par)?;
                    parents.insert(par.to_path_buf(), c.clone());
                    c
                }
            };
            canon.join(name)
        }
        _ => absolute(p)?,
    };
    let best = containing(mounts, &abs)
        .ok_or_else(|| anyhow!("{} is not in a famfs file system", p.display()))?;
    let rel = relative_to(&abs, &best.mpt).ok_or_else(|| anyhow!("{}: bad path", p.display()))?;
    if rel.split('/').next() == Some(".meta") {
        bail!("{}: .meta is reserved for famfs metadata", p.display());
    }
    Ok((best.clone(), rel))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_finds_famfs_mounts_only_and_unescapes() {
        let t = "22 1 0:21 / /proc rw,nosuid - proc proc rw\n\
                 40 22 0:45 / /mnt/my\\040fs rw,relatime shared:1 - famfs /dev/dax0.0 rw,mode=755\n\
                 41 22 0:46 / /tmp/x rw - tmpfs tmpfs rw\n\
                 42 22 0:47 / /mnt/p rw - famfs /dev/pmem0 rw\n";
        let m = parse_mountinfo(t);
        assert_eq!(
            m,
            vec![
                Mount {
                    dev: "/dev/dax0.0".into(),
                    mpt: "/mnt/my fs".into()
                },
                Mount {
                    dev: "/dev/pmem0".into(),
                    mpt: "/mnt/p".into()
                }
            ]
        );
    }

    #[test]
    fn relative_paths() {
        assert_eq!(
            relative_to(Path::new("/mnt/f/a/b"), Path::new("/mnt/f")).as_deref(),
            Some("a/b")
        );
        assert_eq!(
            relative_to(Path::new("/mnt/f"), Path::new("/mnt/f")).as_deref(),
            Some("")
        );
        assert_eq!(relative_to(Path::new("/mnt/g"), Path::new("/mnt/f")), None);
    }
}
