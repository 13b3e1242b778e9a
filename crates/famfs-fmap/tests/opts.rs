//! The module's permission bits (`opts.rs`, shared with the module): the
//! bit values against famfs-abi's (which its own tests check against GCC's
//! view of the header), the two starting sets against the reference's
//! lists, and the decisions against a table written out by hand.

use famfs_abi::kabi44 as abi;
use famfs_fmap::opts::{self, AttrChange, Op};
use proptest::prelude::*;

#[test]
fn bits_are_the_headers() {
    let pairs = [
        (opts::CREATE, abi::FAMFS44_OPT_CREATE),
        (opts::MKDIR, abi::FAMFS44_OPT_MKDIR),
        (opts::MKNOD, abi::FAMFS44_OPT_MKNOD),
        (opts::SYMLINK, abi::FAMFS44_OPT_SYMLINK),
        (opts::LINK, abi::FAMFS44_OPT_LINK),
        (opts::UNLINK, abi::FAMFS44_OPT_UNLINK),
        (opts::RMDIR, abi::FAMFS44_OPT_RMDIR),
        (opts::RENAME, abi::FAMFS44_OPT_RENAME),
        (opts::CHMOD, abi::FAMFS44_OPT_CHMOD),
        (opts::CHOWN, abi::FAMFS44_OPT_CHOWN),
        (opts::TRUNCATE, abi::FAMFS44_OPT_TRUNCATE),
        (opts::UTIMES, abi::FAMFS44_OPT_UTIMES),
        (opts::WRITE, abi::FAMFS44_OPT_WRITE),
        (opts::XATTR, abi::FAMFS44_OPT_XATTR),
        (opts::MAP_CREATE, abi::FAMFS44_OPT_MAP_CREATE),
    ];
    for (i, (ours, theirs)) in pairs.iter().enumerate() {
        assert_eq!(ours, theirs, "bit {i}");
        assert_eq!(*ours, 1u64 << i);
    }
    assert_eq!(opts::KABI44_DEFAULT, abi::FAMFS44_OPT_DEFAULT);
    assert_eq!(opts::KNOWN, 0x7fff);
}

#[test]
fn where_a_mount_starts() {
    // The reference's FAMFS_OPT_DEFAULT, bit by bit.
    assert_eq!(
        opts::defaults(44),
        Some(0x1 | 0x2 | 0x100 | 0x200 | 0x800 | 0x1000 | 0x4000)
    );
    // KABI 43: everything famfs serves; never the bits of operations it has
    // no code for (device nodes, links, symlinks, xattrs).
    let k43 = opts::defaults(43).unwrap();
    for op in [
        Op::Create,
        Op::Mkdir,
        Op::UnlinkMapped,
        Op::Rmdir,
        Op::Rename,
        Op::Chmod,
        Op::Chown,
        Op::Truncate,
        Op::Utimes,
        Op::Write,
        Op::MapCreate,
    ] {
        assert!(op.allowed(k43), "{op:?}");
    }
    assert_eq!(
        k43 & (opts::MKNOD | opts::SYMLINK | opts::LINK | opts::XATTR),
        0
    );
    for kabi in [0, 42, 45, u32::MAX] {
        assert_eq!(opts::defaults(kabi), None);
    }
}

#[test]
fn kabi44_refuses_what_it_leaves_out() {
    let k44 = opts::KABI44_DEFAULT;
    for op in [Op::UnlinkMapped, Op::Rmdir, Op::Rename, Op::Truncate] {
        assert!(!op.allowed(k44), "{op:?}");
    }
}

#[test]
fn setattr_decisions() {
    let all = opts::KNOWN;
    let c = |size, mode, owner, times| AttrChange {
        size,
        mode,
        owner,
        times,
    };
    // (opts, change, expected refusal)
    let table = [
        (all, c(true, false, false, true), None),
        (
            all & !opts::TRUNCATE,
            c(true, false, false, true),
            Some(Op::Truncate),
        ),
        // truncate's own mtime/ctime update is not "setting times"
        (all & !opts::UTIMES, c(true, false, false, true), None),
        (
            all & !opts::UTIMES,
            c(false, false, false, true),
            Some(Op::Utimes),
        ),
        (
            all & !opts::CHMOD,
            c(false, true, false, false),
            Some(Op::Chmod),
        ),
        (all & !opts::CHMOD, c(false, false, true, false), None),
        (
            all & !opts::CHOWN,
            c(false, false, true, false),
            Some(Op::Chown),
        ),
        (all & !opts::CHOWN, c(false, true, false, true), None),
        (0, c(false, false, false, false), None),
        (0, c(true, true, true, true), Some(Op::Truncate)),
        (opts::TRUNCATE, c(true, true, false, false), Some(Op::Chmod)),
    ];
    for (o, change, want) in table {
        assert_eq!(opts::refused_setattr(o, change), want, "{o:#x} {change:?}");
    }
}

#[test]
fn rename_decisions() {
    let all = opts::KNOWN;
    assert_eq!(opts::refused_rename(all, true), None);
    assert_eq!(
        opts::refused_rename(all & !opts::RENAME, false),
        Some(Op::Rename)
    );
    assert_eq!(opts::refused_rename(all & !opts::UNLINK, false), None);
    assert_eq!(
        opts::refused_rename(all & !opts::UNLINK, true),
        Some(Op::UnlinkMapped)
    );
    assert_eq!(opts::refused_rename(0, true), Some(Op::Rename));
}

proptest! {
    /// SET and CLEAR against plain set arithmetic; unknown bits change
    /// nothing and are named.
    #[test]
    fn update_is_set_arithmetic(cur in 0u64..0x8000, bits in any::<u64>(), set in any::<bool>()) {
        let got = opts::update(cur, bits, set);
        if bits >> 15 != 0 {
            prop_assert_eq!(got, Err(opts::UnknownBits(bits & !0x7fff)));
        } else if set {
            prop_assert_eq!(got, Ok(cur | bits));
        } else {
            prop_assert_eq!(got, Ok(cur & !bits));
        }
    }

    /// An operation is allowed exactly when its bit is set.
    #[test]
    fn allowed_is_the_bit(o in any::<u64>()) {
        for (op, bit) in [(Op::Create, 0), (Op::Mkdir, 1), (Op::UnlinkMapped, 5), (Op::Rmdir, 6),
                          (Op::Rename, 7), (Op::Chmod, 8), (Op::Chown, 9), (Op::Truncate, 10),
                          (Op::Utimes, 11), (Op::Write, 12), (Op::MapCreate, 14)] {
            prop_assert_eq!(op.allowed(o), o & (1 << bit) != 0);
        }
    }
}
