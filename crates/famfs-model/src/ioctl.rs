//! The KABI 43 map ioctls as user space sees them: which answers a call may
//! get, from the bytes it passes and the state of the mount.
//!
//! The structures are decoded from user memory (a [`Mem`]) at the offsets
//! the uapi header gives (x86-64). The documentation gives each rule its
//! errno but no order between rules, so a call that breaks several rules may
//! get the errno of any of them: [`Expect`] is the set of errnos of every
//! rule broken, and empty when the call must succeed. A structure the call
//! needs that is not readable (or, for the get calls, not writable) adds
//! `EFAULT`. Checks done before anything is read (privilege, file type) come
//! alone.

use std::collections::BTreeSet;

use famfs_fmap::{Extent, FileType, Fmap, Interleave, Layout};

use crate::{model_ranges, model_valid_with, Flaw};

/// Linux errno values (x86-64).
pub const EIO: i32 = 5;
/// `E2BIG`.
pub const E2BIG: i32 = 7;
/// `EFAULT`.
pub const EFAULT: i32 = 14;
/// `EEXIST`.
pub const EEXIST: i32 = 17;
/// `EINVAL`.
pub const EINVAL: i32 = 22;
/// `ENOTTY`.
pub const ENOTTY: i32 = 25;
/// `ENODATA`.
pub const ENODATA: i32 = 61;

/// Sizes of the uapi structures (x86-64).
pub const V1_SIZE: usize = 56;
/// `struct famfs_ioc_fmap`.
pub const V2_SIZE: usize = 32;
/// `struct famfs_ioc_simple_extent`.
pub const SIMPLE_SIZE: usize = 24;
/// `struct famfs_ioc_interleaved_ext`.
pub const IE_SIZE: usize = 32;
/// `struct famfs_ioc_get_fmap`.
pub const GET_V2_SIZE: usize = 448;
/// `struct famfs_extent`.
pub const EXTENT_SIZE: usize = 16;

/// User memory as the module would access it.
pub trait Mem {
    /// The `len` bytes at `addr`, or `None` if any of them cannot be read.
    fn read(&self, addr: u64, len: usize) -> Option<Vec<u8>>;
    /// Whether all `len` bytes at `addr` can be written.
    fn writable(&self, addr: u64, len: usize) -> bool;
}

/// The file the ioctl is issued on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// An empty regular file without a map.
    Empty,
    /// A regular file that has a map.
    Mapped,
    /// A regular file without a map but with a non-zero size.
    NonEmpty,
    /// A directory.
    Directory,
}

/// The mount the call is made on.
#[derive(Clone, Copy, Debug)]
pub struct Mount<'a> {
    /// Device size in bytes.
    pub dev_size: u64,
    /// Every device range `(offset, len)` of the other mapped files.
    pub others: &'a [(u64, u64)],
    /// A deliberate flaw (self-tests).
    pub flaw: Flaw,
}

/// What a call may answer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Expect {
    /// The errnos of the rules the call breaks; empty: it must succeed.
    pub errnos: BTreeSet<i32>,
    /// The map, if the structures decoded into one.
    pub map: Option<Fmap>,
}

impl Expect {
    fn only(e: i32) -> Expect {
        Expect {
            errnos: [e].into(),
            map: None,
        }
    }

    /// Whether `result` (0, or a positive errno) is one of the allowed
    /// answers.
    pub fn allows(&self, result: i32) -> bool {
        if self.errnos.is_empty() {
            result == 0
        } else {
            self.errnos.contains(&result)
        }
    }

    /// "0" or "EINVAL|E2BIG".
    pub fn describe(&self) -> String {
        if self.errnos.is_empty() {
            return "success".into();
        }
        self.errnos
            .iter()
            .map(|&e| errno_name(e))
            .collect::<Vec<_>>()
            .join("|")
    }
}

/// Name of the errnos this model uses.
pub fn errno_name(e: i32) -> &'static str {
    match e {
        0 => "success",
        EIO => "EIO",
        E2BIG => "E2BIG",
        EFAULT => "EFAULT",
        EEXIST => "EEXIST",
        EINVAL => "EINVAL",
        ENOTTY => "ENOTTY",
        ENODATA => "ENODATA",
        _ => "E?",
    }
}

fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(b[off..off + 4].try_into().unwrap())
}

fn u64_at(b: &[u8], off: usize) -> u64 {
    u64::from_le_bytes(b[off..off + 8].try_into().unwrap())
}

fn file_type(raw: u32) -> Option<FileType> {
    match raw {
        0 => Some(FileType::Regular),
        1 => Some(FileType::Superblock),
        2 => Some(FileType::Log),
        _ => None,
    }
}

/// A count field: `Err(errno)` for none or more than `max`.
fn count(n: u64, max: u64) -> Result<usize, i32> {
    match n {
        0 => Err(EINVAL),
        n if n > max => Err(E2BIG),
        n => Ok(n as usize),
    }
}

/// Reads `n` v2 simple extents at `addr`; records EFAULT (and stops) at the
/// first unreadable one, EINVAL for a device index other than 0.
fn simple_extents(mem: &dyn Mem, addr: u64, n: usize, errs: &mut BTreeSet<i32>) -> Vec<Extent> {
    let mut out = Vec::new();
    for i in 0..n {
        let at = addr.wrapping_add((i * SIMPLE_SIZE) as u64);
        let Some(b) = mem.read(at, SIMPLE_SIZE) else {
            errs.insert(EFAULT);
            break;
        };
        if u64_at(&b, 0) != 0 {
            errs.insert(EINVAL);
        }
        out.push(Extent::new(u64_at(&b, 8), u64_at(&b, 16)));
    }
    out
}

/// The rules beyond decoding: the map itself, the other files, the target.
fn finish(
    mut errs: BTreeSet<i32>,
    map: Option<Fmap>,
    unaligned_last: bool,
    target: Target,
    mount: &Mount<'_>,
) -> Expect {
    if let Some(m) = &map {
        if !model_valid_with(m, mount.dev_size, unaligned_last, mount.flaw) {
            errs.insert(EINVAL);
        } else {
            let mine = model_ranges(m);
            let overlap = mine.iter().any(|&(o, l)| {
                mount.others.iter().any(|&(p, k)| {
                    (o as u128) < p as u128 + k as u128 && (p as u128) < o as u128 + l as u128
                })
            });
            if overlap {
                errs.insert(EINVAL);
            }
        }
    }
    match target {
        Target::Mapped => {
            errs.insert(EEXIST);
        }
        Target::NonEmpty => {
            errs.insert(EINVAL);
        }
        Target::Empty | Target::Directory => {}
    }
    Expect { errnos: errs, map }
}

/// `FAMFSIOC_MAP_CREATE` with the argument `arg`.
pub fn map_create_v1(mem: &dyn Mem, arg: u64, target: Target, mount: &Mount<'_>) -> Expect {
    if target == Target::Directory {
        return Expect::only(EINVAL);
    }
    let Some(b) = mem.read(arg, V1_SIZE) else {
        return Expect::only(EFAULT);
    };
    let mut errs = BTreeSet::new();
    if u32_at(&b, 0) != 0 {
        errs.insert(EINVAL);
    }
    let ft = file_type(u32_at(&b, 4));
    if ft.is_none() {
        errs.insert(EINVAL);
    }
    let n = count(u64_at(&b, 16), 2);
    if let Err(e) = n {
        errs.insert(e);
    }
    let map = match (errs.is_empty(), ft, n) {
        (true, Some(file_type), Ok(n)) => {
            let mut extents = [Extent::default(); 2];
            for (i, e) in extents.iter_mut().enumerate().take(n) {
                *e = Extent::new(u64_at(&b, 24 + 16 * i), u64_at(&b, 32 + 16 * i));
            }
            Some(Fmap {
                file_type,
                file_size: u64_at(&b, 8),
                layout: Layout::Simple { count: n, extents },
            })
        }
        _ => None,
    };
    finish(errs, map, true, target, mount)
}

/// `FAMFSIOC_MAP_CREATE_V2` with the argument `arg`.
pub fn map_create_v2(mem: &dyn Mem, arg: u64, target: Target, mount: &Mount<'_>) -> Expect {
    if target == Target::Directory {
        return Expect::only(EINVAL);
    }
    let Some(h) = mem.read(arg, V2_SIZE) else {
        return Expect::only(EFAULT);
    };
    let mut errs = BTreeSet::new();
    let ft = file_type(u32_at(&h, 8));
    if ft.is_none() {
        errs.insert(EINVAL);
    }
    let n = u64::from(u32_at(&h, 16));
    let ptr = u64_at(&h, 24);
    let layout = match u32_at(&h, 12) {
        0 => match count(n, 2) {
            Err(e) => {
                errs.insert(e);
                None
            }
            Ok(n) => {
                let got = simple_extents(mem, ptr, n, &mut errs);
                let mut extents = [Extent::default(); 2];
                extents[..got.len()].copy_from_slice(&got);
                Some(Layout::Simple { count: n, extents })
            }
        },
        1 => match count(n, 4) {
            Err(e) => {
                errs.insert(e);
                None
            }
            Ok(n) => {
                let mut extents = [Interleave::default(); 4];
                for (i, dst) in extents.iter_mut().enumerate().take(n) {
                    let at = ptr.wrapping_add((i * IE_SIZE) as u64);
                    let Some(b) = mem.read(at, IE_SIZE) else {
                        errs.insert(EFAULT);
                        break;
                    };
                    match count(u64_at(&b, 0), 16) {
                        Err(e) => {
                            errs.insert(e);
                        }
                        Ok(ns) => {
                            let got = simple_extents(mem, u64_at(&b, 24), ns, &mut errs);
                            let mut strips = [Extent::default(); 16];
                            strips[..got.len()].copy_from_slice(&got);
                            *dst = Interleave {
                                chunk_size: u64_at(&b, 8),
                                nbytes: u64_at(&b, 16),
                                nstrips: ns,
                                strips,
                            };
                        }
                    }
                }
                Some(Layout::Interleaved { count: n, extents })
            }
        },
        _ => {
            errs.insert(EINVAL);
            None
        }
    };
    let map = match (errs.is_empty(), ft, layout) {
        (true, Some(file_type), Some(layout)) => Some(Fmap {
            file_type,
            file_size: u64_at(&h, 0),
            layout,
        }),
        _ => None,
    };
    finish(errs, map, false, target, mount)
}

/// What `FAMFSIOC_MAP_GET` writes for a file with `map` and `size`: the v1
/// image (an interleaved map shows its type and count only).
pub fn get_v1_image(map: &Fmap, size: u64) -> [u8; V1_SIZE] {
    let mut b = [0u8; V1_SIZE];
    b[4..8].copy_from_slice(&ftype_raw(map.file_type).to_le_bytes());
    b[8..16].copy_from_slice(&size.to_le_bytes());
    match &map.layout {
        Layout::Simple { count, extents } => {
            b[16..24].copy_from_slice(&(*count as u64).to_le_bytes());
            for (i, e) in extents.iter().take(*count).enumerate() {
                b[24 + 16 * i..32 + 16 * i].copy_from_slice(&e.offset.to_le_bytes());
                b[32 + 16 * i..40 + 16 * i].copy_from_slice(&e.len.to_le_bytes());
            }
        }
        Layout::Interleaved { count, .. } => {
            b[0..4].copy_from_slice(&1u32.to_le_bytes());
            b[16..24].copy_from_slice(&(*count as u64).to_le_bytes());
        }
    }
    b
}

/// What `FAMFSIOC_MAP_GETEXT` writes: the simple extents, or `Err(EINVAL)`
/// for an interleaved map.
pub fn getext_image(map: &Fmap) -> Result<Vec<u8>, i32> {
    match &map.layout {
        Layout::Simple { count, extents } => {
            let mut out = Vec::new();
            for e in extents.iter().take(*count) {
                out.extend_from_slice(&e.offset.to_le_bytes());
                out.extend_from_slice(&e.len.to_le_bytes());
            }
            Ok(out)
        }
        Layout::Interleaved { .. } => Err(EINVAL),
    }
}

/// What `FAMFSIOC_MAP_GET_V2` writes, or `Err(EINVAL)` for a map that does
/// not fit (more than one interleaved extent). Pointers are left 0.
pub fn get_v2_image(map: &Fmap, size: u64) -> Result<Vec<u8>, i32> {
    let mut b = vec![0u8; GET_V2_SIZE];
    b[0..8].copy_from_slice(&size.to_le_bytes());
    b[8..12].copy_from_slice(&ftype_raw(map.file_type).to_le_bytes());
    let put_simple = |b: &mut [u8], at: usize, e: &Extent| {
        b[at + 8..at + 16].copy_from_slice(&e.offset.to_le_bytes());
        b[at + 16..at + 24].copy_from_slice(&e.len.to_le_bytes());
    };
    match &map.layout {
        Layout::Simple { count, extents } => {
            b[16..20].copy_from_slice(&(*count as u32).to_le_bytes());
            for (i, e) in extents.iter().take(*count).enumerate() {
                put_simple(&mut b, 32 + SIMPLE_SIZE * i, e);
            }
        }
        Layout::Interleaved { count, extents } => {
            if *count != 1 {
                return Err(EINVAL);
            }
            let ie = &extents[0];
            b[12..16].copy_from_slice(&1u32.to_le_bytes());
            b[16..20].copy_from_slice(&1u32.to_le_bytes());
            b[32..40].copy_from_slice(&(ie.nstrips as u64).to_le_bytes());
            b[40..48].copy_from_slice(&ie.chunk_size.to_le_bytes());
            b[48..56].copy_from_slice(&ie.nbytes.to_le_bytes());
            for (i, s) in ie.strips.iter().take(ie.nstrips).enumerate() {
                put_simple(&mut b, 64 + SIMPLE_SIZE * i, s);
            }
        }
    }
    Ok(b)
}

fn ftype_raw(t: FileType) -> u32 {
    match t {
        FileType::Regular => 0,
        FileType::Superblock => 1,
        FileType::Log => 2,
    }
}

/// The expected answer of a get call (`FAMFSIOC_MAP_GET`, `_GETEXT`,
/// `_GET_V2`) on a file with `map` (or none), into `len` bytes at `arg`:
/// `Ok(image)` or the errnos it may fail with.
pub fn get(
    mem: &dyn Mem,
    which: GetCall,
    arg: u64,
    map: Option<&Fmap>,
    size: u64,
) -> Result<Vec<u8>, BTreeSet<i32>> {
    let Some(map) = map else {
        return Err([ENODATA].into());
    };
    let image = match which {
        GetCall::V1 => Ok(get_v1_image(map, size).to_vec()),
        GetCall::Ext => getext_image(map),
        GetCall::V2 => get_v2_image(map, size),
    };
    match image {
        Err(e) => Err([e].into()),
        Ok(img) if !mem.writable(arg, img.len()) => Err([EFAULT].into()),
        Ok(img) => Ok(img),
    }
}

/// The three get calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GetCall {
    /// `FAMFSIOC_MAP_GET`.
    V1,
    /// `FAMFSIOC_MAP_GETEXT`.
    Ext,
    /// `FAMFSIOC_MAP_GET_V2`.
    V2,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Memory of one readable and writable window.
    struct Window {
        base: u64,
        bytes: Vec<u8>,
    }

    impl Mem for Window {
        fn read(&self, addr: u64, len: usize) -> Option<Vec<u8>> {
            let off = addr.checked_sub(self.base)? as usize;
            self.bytes
                .get(off..off.checked_add(len)?)
                .map(<[u8]>::to_vec)
        }
        fn writable(&self, addr: u64, len: usize) -> bool {
            self.read(addr, len).is_some()
        }
    }

    fn v2_simple(exts: &[(u64, u64, u64)]) -> Window {
        let mut bytes = vec![0u8; 256];
        let base: u64 = 0x1000;
        bytes[0..8].copy_from_slice(&(4u64 << 20).to_le_bytes());
        bytes[16..20].copy_from_slice(&(exts.len() as u32).to_le_bytes());
        bytes[24..32].copy_from_slice(&(base + 64).to_le_bytes());
        for (i, (d, o, l)) in exts.iter().enumerate() {
            let at = 64 + 24 * i;
            bytes[at..at + 8].copy_from_slice(&d.to_le_bytes());
            bytes[at + 8..at + 16].copy_from_slice(&o.to_le_bytes());
            bytes[at + 16..at + 24].copy_from_slice(&l.to_le_bytes());
        }
        Window { base, bytes }
    }

    const M: Mount<'static> = Mount {
        dev_size: 1 << 30,
        others: &[],
        flaw: Flaw::None,
    };

    #[test]
    fn documented_examples() {
        let w = v2_simple(&[(0, 2 << 20, 4 << 20)]);
        assert!(map_create_v2(&w, 0x1000, Target::Empty, &M).allows(0));
        assert_eq!(
            map_create_v2(&w, 0x1000, Target::Mapped, &M).errnos,
            [EEXIST].into()
        );
        assert_eq!(
            map_create_v2(&w, 0x1000, Target::Directory, &M).errnos,
            [EINVAL].into()
        );
        assert_eq!(
            map_create_v2(&w, 0x9000, Target::Empty, &M).errnos,
            [EFAULT].into()
        );
        let w = v2_simple(&[(1, 2 << 20, 4 << 20)]);
        assert_eq!(
            map_create_v2(&w, 0x1000, Target::Empty, &M).errnos,
            [EINVAL].into()
        );
        let w = v2_simple(&[(0, 2 << 20, 2 << 20); 3]);
        assert_eq!(
            map_create_v2(&w, 0x1000, Target::Empty, &M).errnos,
            [E2BIG].into()
        );
        // Another file owns the memory.
        let w = v2_simple(&[(0, 2 << 20, 4 << 20)]);
        let others = [(4 << 20, 2 << 20)];
        let m = Mount {
            others: &others,
            ..M
        };
        assert_eq!(
            map_create_v2(&w, 0x1000, Target::Empty, &m).errnos,
            [EINVAL].into()
        );
    }
}
