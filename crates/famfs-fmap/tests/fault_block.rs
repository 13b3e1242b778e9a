//! The module's rule for which entry size may serve a fault
//! (`fmap.rs` `fault_block`) against a brute-force model: a block of
//! `bytes` serves the fault when every page of it lies in the mapping, the
//! page at the block's start maps file offset 0 mod `bytes`, and the block
//! holds file bytes only. The model walks the block page by page, so it
//! shares no arithmetic with the rule.

use famfs_fmap::{fault_block, FaultAt, PAGE, PMD_BYTES, PUD_BYTES};
use proptest::prelude::*;

const GIB: u64 = 1 << 30;

/// The model: the file offset of every page of the block, from the
/// mapping's own page table view (page `p` of the mapping at
/// `vm_start + p * PAGE` holds file page `vm_pgoff + p`).
fn model(at: FaultAt, vm_pgoff: u64, bytes: u64, file_size: u64) -> Option<(u64, u64)> {
    let block = at.address - at.address % bytes;
    let pages = bytes / PAGE;
    let mut first_off = None;
    for i in 0..pages {
        let addr = block + i * PAGE;
        if addr < at.vm_start || addr >= at.vm_end {
            return None;
        }
        let off = (vm_pgoff + (addr - at.vm_start) / PAGE) * PAGE;
        if i == 0 {
            first_off = Some(off);
        }
    }
    let off = first_off?;
    if off % bytes != 0 {
        return None;
    }
    let ok = if bytes == PAGE {
        off < file_size
    } else {
        off + bytes <= file_size
    };
    ok.then_some((block, off))
}

fn at(vm_start: u64, pages: u64, vm_pgoff: u64, fault_page: u64, within: u64) -> FaultAt {
    let address = vm_start + fault_page * PAGE + within;
    FaultAt {
        address,
        vm_start,
        vm_end: vm_start + pages * PAGE,
        pgoff: vm_pgoff + fault_page,
    }
}

#[test]
fn aligned_gib_is_one_pud() {
    // A 2 GiB file mapped whole at a 1 GiB-aligned address.
    let a = at(4 * GIB, 2 * GIB / PAGE, 0, (GIB + 12345 * PAGE) / PAGE, 17);
    assert_eq!(fault_block(a, PUD_BYTES, 2 * GIB), Some((5 * GIB, GIB)));
    assert_eq!(
        fault_block(a, PMD_BYTES, 2 * GIB),
        Some((5 * GIB + 24 * PMD_BYTES, GIB + 24 * PMD_BYTES))
    );
    assert_eq!(
        fault_block(a, PAGE, 2 * GIB),
        Some((5 * GIB + 12345 * PAGE, GIB + 12345 * PAGE))
    );
}

#[test]
fn misaligned_address_or_offset_falls_back() {
    // The mapping starts 2 MiB past a GiB boundary: the file and the
    // addresses disagree mod 1 GiB, so no PUD, but PMDs still fit.
    let a = at(4 * GIB + PMD_BYTES, 2 * GIB / PAGE, 0, GIB / PAGE, 0);
    assert_eq!(fault_block(a, PUD_BYTES, 2 * GIB), None);
    assert!(fault_block(a, PMD_BYTES, 2 * GIB).is_some());
    // A mapping of the file from offset 4 KiB: only pages.
    let b = at(4 * GIB - PAGE, 2 * GIB / PAGE, 1, 1, 0);
    assert_eq!(fault_block(b, PUD_BYTES, 2 * GIB), None);
    assert_eq!(fault_block(b, PMD_BYTES, 2 * GIB), None);
    assert_eq!(fault_block(b, PAGE, 2 * GIB), Some((4 * GIB, 2 * PAGE)));
}

#[test]
fn block_must_fit_mapping_and_file() {
    // The mapping ends one page short of the GiB.
    let a = at(4 * GIB, GIB / PAGE - 1, 0, 0, 0);
    assert_eq!(fault_block(a, PUD_BYTES, 2 * GIB), None);
    // The file ends one page short of the GiB.
    let b = at(4 * GIB, GIB / PAGE, 0, 0, 0);
    assert_eq!(fault_block(b, PUD_BYTES, GIB - PAGE), None);
    assert_eq!(fault_block(b, PUD_BYTES, GIB), Some((4 * GIB, 0)));
    // A page past the end of the file: SIGBUS for the page entry.
    let c = at(4 * GIB, 4, 0, 2, 0);
    assert_eq!(fault_block(c, PAGE, 2 * PAGE), None);
    // A page holding the last byte of a file that ends inside it: mapped.
    assert_eq!(
        fault_block(c, PAGE, 2 * PAGE + 1),
        Some((4 * GIB + 2 * PAGE, 2 * PAGE))
    );
}

#[test]
fn bad_sizes_and_overflow_are_refused() {
    let a = at(4 * GIB, 16, 0, 0, 0);
    for bytes in [0, 1, 3 * PAGE, PAGE / 2] {
        assert_eq!(fault_block(a, bytes, GIB), None, "{bytes}");
    }
    let huge = FaultAt {
        address: u64::MAX - PAGE + 1,
        vm_start: u64::MAX - PUD_BYTES + 1,
        vm_end: u64::MAX,
        pgoff: u64::MAX / PAGE,
    };
    for bytes in [PAGE, PMD_BYTES, PUD_BYTES] {
        assert_eq!(fault_block(huge, bytes, u64::MAX), None);
    }
}

proptest! {
    #[test]
    fn rule_matches_model(
        start_gib in 1u64..64,
        start_pages in prop_oneof![Just(0u64), Just(512u64), 0u64..(1 << 18)],
        len_pages in 1u64..(3 << 18),
        vm_pgoff in prop_oneof![Just(0u64), Just(512u64), Just(1u64 << 18), 0u64..(1 << 19)],
        fault_frac in 0.0f64..1.0,
        within in 0u64..PAGE,
        size_pages in prop_oneof![Just(1u64 << 18), Just(2u64 << 18), 1u64..(4 << 18)],
        size_extra in 0u64..PAGE,
        which in 0usize..3,
    ) {
        let vm_start = start_gib * GIB + start_pages * PAGE;
        let fault_page = ((len_pages as f64) * fault_frac) as u64 % len_pages;
        let a = at(vm_start, len_pages, vm_pgoff, fault_page, within);
        let bytes = [PAGE, PMD_BYTES, PUD_BYTES][which];
        let file_size = size_pages * PAGE + size_extra;
        prop_assert_eq!(fault_block(a, bytes, file_size), model(a, vm_pgoff, bytes, file_size));
    }
}
