//! What the famfs command-line tools (`famfs`, `famfs-maptool`,
//! `famfs-bench`) have in common, kept in one place so that they agree:
//! how a size is written on a command line, and the symbolic names of the
//! errnos the famfs module and the system calls around it return.
//!
//! No I/O and no printing: values in, values out.

#![deny(unsafe_code)]

use std::io;

/// Parses a size argument: a decimal or `0x`-prefixed hexadecimal number of
/// bytes, optionally followed by a binary unit `K`, `M`, `G` or `T` (either
/// case: 2^10, 2^20, 2^30, 2^40). Surrounding blanks are ignored. The
/// error names the argument and says why, for clap's `value_parser`.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (digits, unit) = match t.char_indices().next_back() {
        Some((i, c)) => match c.to_ascii_uppercase() {
            'K' => (&t[..i], 1u64 << 10),
            'M' => (&t[..i], 1 << 20),
            'G' => (&t[..i], 1 << 30),
            'T' => (&t[..i], 1 << 40),
            _ => (t, 1),
        },
        None => (t, 1),
    };
    let n = match digits.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => digits.parse::<u64>(),
    }
    .map_err(|e| format!("bad size '{s}': {e} (use e.g. 4096, 0x200000, 2M, 1G)"))?;
    n.checked_mul(unit)
        .ok_or_else(|| format!("size '{s}' is too large (at most 2^64 - 1 bytes)"))
}

/// The symbolic name of an errno value (`"EINVAL"` for 22), or `"E?"` for
/// one famfs has no reason to meet. Tests match these names in messages.
pub fn errno_str(errno: i32) -> &'static str {
    match errno {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::EIO => "EIO",
        libc::ENOMEM => "ENOMEM",
        libc::ENXIO => "ENXIO",
        libc::E2BIG => "E2BIG",
        libc::EACCES => "EACCES",
        libc::EFAULT => "EFAULT",
        libc::EBUSY => "EBUSY",
        libc::EEXIST => "EEXIST",
        libc::ENODEV => "ENODEV",
        libc::ENOTBLK => "ENOTBLK",
        libc::EINVAL => "EINVAL",
        libc::ENOTTY => "ENOTTY",
        libc::ENOSPC => "ENOSPC",
        libc::EROFS => "EROFS",
        libc::ENODATA => "ENODATA",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        libc::EBADF => "EBADF",
        libc::EFBIG => "EFBIG",
        libc::ERANGE => "ERANGE",
        _ => "E?",
    }
}

/// The symbolic errno name of an I/O error (`"E?"` for one without an OS
/// error code).
pub fn errno_name(e: &io::Error) -> &'static str {
    errno_str(e.raw_os_error().unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size(" 4096 "), Ok(4096));
        assert_eq!(parse_size("2M"), Ok(2 << 20));
        assert_eq!(parse_size("2m"), Ok(2 << 20));
        assert_eq!(parse_size("1g"), Ok(1 << 30));
        assert_eq!(parse_size("3K"), Ok(3 << 10));
        assert_eq!(parse_size("1T"), Ok(1 << 40));
        assert_eq!(parse_size("0x200000"), Ok(2 << 20));
        assert_eq!(parse_size("0x1M"), Ok(1 << 20));
        assert_eq!(parse_size("0xffffffffffe00000"), Ok(0xffff_ffff_ffe0_0000));
        assert_eq!(parse_size("0"), Ok(0));
    }

    #[test]
    fn bad_sizes_say_why() {
        for bad in ["", "M", "-1", "1Q", "12Q", "1.5G", "0x", "0xg", "1 M"] {
            let e = parse_size(bad).unwrap_err();
            assert!(e.starts_with(&format!("bad size '{bad}'")), "{bad:?}: {e}");
        }
        for big in ["99999999999T", "16777216T", "0xffffffffffffffffK"] {
            assert!(parse_size(big).unwrap_err().contains("too large"), "{big}");
        }
        // The largest size that fits.
        assert_eq!(parse_size("16777215T"), Ok(16_777_215 << 40));
    }

    #[test]
    fn errno_names() {
        assert_eq!(errno_str(22), "EINVAL");
        assert_eq!(errno_str(7), "E2BIG");
        assert_eq!(errno_str(27), "EFBIG");
        assert_eq!(errno_str(61), "ENODATA");
        assert_eq!(errno_str(34), "ERANGE");
        assert_eq!(errno_str(12), "ENOMEM");
        assert_eq!(errno_str(0), "E?");
        assert_eq!(
            errno_name(&io::Error::from_raw_os_error(libc::EEXIST)),
            "EEXIST"
        );
        assert_eq!(errno_name(&io::Error::other("no errno")), "E?");
    }
}
