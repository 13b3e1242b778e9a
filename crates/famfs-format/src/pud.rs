//! The 1 GiB rule: where a device's memory is 1 GiB aligned, and how much of
//! a file could be mapped with 1 GiB page-table entries (PUD).
//!
//! The module maps a GiB of a file with one PUD entry when the whole GiB
//! (file offsets `k GiB .. (k + 1) GiB`, inside the file size) is one
//! contiguous device range whose *physical* address is a multiple of 1 GiB.
//! User space does not see physical addresses; the module tells it, per
//! device, the *PUD phase* (`pud_phase` of `FAMFS44_IOC_DAXDEV_GET`): the
//! device offset, modulo 1 GiB, at which the device's memory is 1 GiB
//! aligned. A device that starts on a physical GiB boundary has phase 0.
//!
//! This is the one place the rule is written down: the allocator places big
//! files by it and `famfs getmap` reports by it.

use crate::FileMap;

/// Bytes mapped by one PUD entry: 1 GiB.
pub const PUD_SIZE: u64 = 1 << 30;

/// True when device offset `offset` lies on a physical 1 GiB boundary of a
/// device whose PUD phase is `phase`.
pub const fn pud_aligned(offset: u64, phase: u64) -> bool {
    offset % PUD_SIZE == phase % PUD_SIZE
}

/// The lowest device offset at or above `offset` that is [`pud_aligned`]
/// for `phase`; `None` if that overflows.
pub const fn pud_align_up(offset: u64, phase: u64) -> Option<u64> {
    let want = phase % PUD_SIZE;
    let have = offset % PUD_SIZE;
    let gap = (want + PUD_SIZE - have) % PUD_SIZE;
    offset.checked_add(gap)
}

/// How many whole, 1 GiB-aligned GiBs (of memory) the device range
/// `[offset, offset + len)` holds on a device of PUD phase `phase`. This
/// is the range's own property; whether a file can use them depends also
/// on where the range sits in the file (see [`pud_mappable`]).
pub const fn pud_gibs(offset: u64, len: u64, phase: u64) -> u64 {
    let Some(end) = offset.checked_add(len) else {
        return 0;
    };
    match pud_align_up(offset, phase) {
        Some(first) if first < end => (end - first) / PUD_SIZE,
        _ => 0,
    }
}

/// The file-level count: of the whole GiBs of a file of `size` bytes with
/// map `map` (`size / PUD_SIZE` of them), how many lie in one contiguous
/// device range starting on a physical GiB boundary, i.e. could be mapped
/// with one PUD entry each. `phase_of(dev)` gives a device's PUD phase, or
/// `None` when it is not known: then the answer is `Err(dev)` (the first
/// device whose phase was needed and unknown).
pub fn pud_mappable(
    map: &FileMap,
    size: u64,
    mut phase_of: impl FnMut(u32) -> Option<u64>,
) -> Result<u64, u32> {
    let fmap = map.to_fmap(size);
    let mut n = 0;
    for k in 0..size / PUD_SIZE {
        // The module's own translation of the file offset: the device
        // range that is contiguous from there.
        let Some(m) = fmap.resolve(k * PUD_SIZE) else {
            continue;
        };
        if m.len < PUD_SIZE {
            continue;
        }
        let phase = phase_of(m.dev).ok_or(m.dev)?;
        if pud_aligned(m.dev_offset, phase) {
            n += 1;
        }
    }
    Ok(n)
}
