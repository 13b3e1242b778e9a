// SPDX-License-Identifier: GPL-2.0

//! KUnit tests of the extent-map component (`fmap.rs`) as compiled into the
//! module. The host crate runs the property tests; these cases pin the
//! documented behaviour inside the kernel build (same code, kernel target,
//! overflow checks on).

use kernel::prelude::*;

#[kunit_tests(famfs_fmap)]
mod tests {
    use crate::fmap::*;

    const MIB2: u64 = 2 << 20;

    fn simple(file_size: u64, exts: &[(u64, u64)]) -> Fmap {
        Fmap::simple(FileType::Regular, file_size, exts)
    }

    const LIM: Limits = Limits::new(1 << 30);

    /// The PFN fault rule (`fault_block`) and the one-run lookup
    /// (`resolve_run`) as the module uses them: a GiB of a file mapped at
    /// a GiB-aligned address with its memory in one extent is one PUD
    /// block; a mapping 2 MiB off is not; a map split inside the GiB is not
    /// one run.
    #[test]
    fn pud_block_needs_alignment_and_one_run() {
        const GIB: u64 = 1 << 30;
        let at = |vm_start: u64, address: u64| FaultAt {
            address,
            vm_start,
            vm_end: vm_start + 2 * GIB,
            pgoff: (address - vm_start) / PAGE,
        };
        let a = at(8 * GIB, 9 * GIB + 4096 * 3 + 5);
        assert_eq!(fault_block(a, PUD_BYTES, 2 * GIB), Some((9 * GIB, GIB)));
        let b = at(8 * GIB + PMD_BYTES, 9 * GIB + PMD_BYTES);
        assert_eq!(fault_block(b, PUD_BYTES, 2 * GIB), None);
        assert!(fault_block(b, PMD_BYTES, 2 * GIB).is_some());
        let one = simple(2 * GIB, &[(GIB, 2 * GIB)]);
        assert_eq!(
            one.resolve_run(GIB, PUD_BYTES).map(|m| m.dev_offset),
            Some(2 * GIB)
        );
        let split = simple(2 * GIB, &[(GIB, GIB + MIB2), (4 * GIB, GIB - MIB2)]);
        assert!(split.resolve_run(GIB, PUD_BYTES).is_none());
        assert!(split.resolve_run(GIB, MIB2).is_some());
    }

    #[test]
    fn simple_map_resolves() {
        let m = simple(6 * MIB2, &[(8 * MIB2, 2 * MIB2), (MIB2, 4 * MIB2)]);
        assert!(m.validate(&LIM).is_ok());
        assert_eq!(m.resolve(0).map(|x| x.dev_offset), Some(8 * MIB2));
        assert_eq!(m.resolve(2 * MIB2).map(|x| x.dev_offset), Some(MIB2));
        assert_eq!(m.resolve(3 * MIB2 + 12).map(|x| x.len), Some(3 * MIB2 - 12));
        assert!(m.resolve(6 * MIB2).is_none());
        assert_eq!(m.mapped_bytes(), 6 * MIB2);
    }

    #[test]
    fn each_rule_has_its_error() {
        assert_eq!(simple(0, &[]).validate(&LIM), Err(FmapError::NoExtents));
        assert_eq!(
            simple(0, &[(MIB2, MIB2); 3]).validate(&LIM),
            Err(FmapError::TooManyExtents)
        );
        assert_eq!(
            simple(0, &[(MIB2, 0)]).validate(&LIM),
            Err(FmapError::ZeroLength)
        );
        assert_eq!(
            simple(0, &[(MIB2 + 4096, MIB2)]).validate(&LIM),
            Err(FmapError::Misaligned)
        );
        assert_eq!(
            simple(0, &[(0, MIB2)]).validate(&LIM),
            Err(FmapError::OffsetZero)
        );
        assert_eq!(
            simple(0, &[(1 << 30, MIB2)]).validate(&LIM),
            Err(FmapError::BeyondDevice)
        );
        assert_eq!(
            simple(0, &[(u64::MAX - MIB2 + 1, MIB2)]).validate(&LIM),
            Err(FmapError::Overflow)
        );
        assert_eq!(
            simple(0, &[(MIB2, 4 * MIB2), (2 * MIB2, MIB2)]).validate(&LIM),
            Err(FmapError::Overlap)
        );
        assert_eq!(
            simple(3 * MIB2, &[(MIB2, MIB2)]).validate(&LIM),
            Err(FmapError::TooSmall)
        );
        assert_eq!(FmapError::TooManyExtents.errno(), 7);
        assert_eq!(FmapError::Overlap.errno(), 22);
    }

    #[test]
    fn interleave_deals_chunks_round_robin() {
        let mut strips = [Extent::default(); MAX_STRIPS];
        strips[0] = Extent::new(10 * MIB2, 4 * MIB2);
        strips[1] = Extent::new(20 * MIB2, 4 * MIB2);
        let mut extents = [Interleave::default(); MAX_INTERLEAVED_EXTENTS];
        extents[0] = Interleave {
            chunk_size: MIB2,
            nbytes: 8 * MIB2,
            nstrips: 2,
            strips,
        };
        let m = Fmap {
            file_type: FileType::Regular,
            file_size: 8 * MIB2,
            layout: Layout::Interleaved { count: 1, extents },
        };
        assert!(m.validate(&LIM).is_ok());
        assert_eq!(m.resolve(0).map(|x| x.dev_offset), Some(10 * MIB2));
        assert_eq!(m.resolve(MIB2).map(|x| x.dev_offset), Some(20 * MIB2));
        assert_eq!(m.resolve(2 * MIB2).map(|x| x.dev_offset), Some(11 * MIB2));
        assert_eq!(
            m.resolve(7 * MIB2 + 1).map(|x| x.dev_offset),
            Some(23 * MIB2 + 1)
        );
    }

    #[test]
    fn hostile_input_does_not_panic() {
        let mut m = simple(u64::MAX, &[(u64::MAX, u64::MAX), (u64::MAX, 1)]);
        let _ = m.validate(&LIM);
        let _ = m.resolve(u64::MAX);
        m.layout = Layout::Interleaved {
            count: 4,
            extents: [Interleave {
                chunk_size: 0,
                nbytes: u64::MAX,
                nstrips: 99,
                strips: [Extent::new(u64::MAX, u64::MAX); MAX_STRIPS],
            }; MAX_INTERLEAVED_EXTENTS],
        };
        assert!(m.validate(&LIM).is_err());
        assert!(m.resolve(12345).is_none());
    }
}

/// The KABI 44 message decoder (`msg44.rs`) as compiled into the module: a
/// message written byte by byte at the reference's offsets.
#[kunit_tests(famfs_msg44)]
mod msg44_tests {
    use crate::fmap::*;
    use crate::msg44::{decode, Header, MsgError, HEADER_SIZE};

    const MIB2: u64 = 2 << 20;

    /// One simple extent on device `dev`, file of 2 MiB, in 56 bytes.
    fn message(dev: u32, fmap_size: u32) -> [u8; 56] {
        let mut m = [0u8; 56];
        m[2..4].copy_from_slice(&1u16.to_ne_bytes()); // fmap_version
        m[8..12].copy_from_slice(&1u32.to_ne_bytes()); // nextents
        m[12..16].copy_from_slice(&fmap_size.to_ne_bytes());
        m[16..24].copy_from_slice(&MIB2.to_ne_bytes()); // file_size
        m[32..36].copy_from_slice(&dev.to_ne_bytes());
        m[40..48].copy_from_slice(&(4 * MIB2).to_ne_bytes()); // se_offset
        m[48..56].copy_from_slice(&MIB2.to_ne_bytes()); // se_len
        m
    }

    fn run(m: &[u8]) -> Result<Fmap, MsgError> {
        let mut h = [0u8; HEADER_SIZE];
        h.copy_from_slice(&m[..HEADER_SIZE]);
        let hdr = Header::parse(&h)?;
        decode(&hdr, m)
    }

    #[test]
    fn a_simple_message_decodes() {
        let f = run(&message(0, 56)).expect("accepted");
        assert_eq!(
            f,
            Fmap::simple(FileType::Regular, MIB2, &[(4 * MIB2, MIB2)])
        );
        assert!(f.validate(&Limits::new(1 << 30)).is_ok());
    }

    #[test]
    fn refusals_have_their_errno() {
        assert_eq!(
            run(&message(64, 56)),
            Err(MsgError::Map(FmapError::DevIndexRange))
        );
        // Device 1 decodes; the map rule wants it open (ENODEV).
        let f = run(&message(1, 56)).expect("decodes");
        let mut limits = Limits::new(1 << 30);
        assert_eq!(f.validate(&limits), Err(FmapError::NoDevice));
        assert_eq!(FmapError::NoDevice.errno(), 19);
        limits.dev_sizes[1] = 1 << 30;
        assert!(f.validate(&limits).is_ok());
        assert_eq!(run(&message(0, 31)).map_err(|e| e.errno()), Err(22));
        assert_eq!(run(&message(0, (4 << 20) + 1)), Err(MsgError::TooBig));
        assert_eq!(MsgError::TooBig.errno(), 27);
        // Two extents announced, one inside fmap_size.
        let mut m = message(0, 56);
        m[8..12].copy_from_slice(&2u32.to_ne_bytes());
        assert_eq!(run(&m).map_err(|e| e.errno()), Err(22));
    }
}
