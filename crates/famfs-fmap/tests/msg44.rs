//! The KABI 44 map message decoder (`msg44.rs`, shared with the module),
//! against messages built from famfs-abi's `repr(C)` structures: an encoder
//! that shares no code and no offset table with the decoder.

use famfs_abi::kabi44::{
    FamfsIocFmapHeader, FamfsIocIext, FamfsIocSimpleExt, FAMFS44_EXT_INTERLEAVE,
    FAMFS44_EXT_SIMPLE, FAMFS44_FMAP_MSG_MAX, FAMFS44_FMAP_VERSION,
};
use famfs_fmap::msg44::{self, Header, MsgError, HEADER_SIZE, LONGEST_MAP};
use famfs_fmap::{Extent, FileType, Fmap, FmapError, Interleave, Layout, Limits, MAX_STRIPS};
use proptest::prelude::*;

/// The bytes of a `repr(C)` structure of famfs-abi.
fn bytes_of<T: Copy>(v: &T) -> Vec<u8> {
    // SAFETY: T is one of famfs-abi's KABI 44 structures: repr(C), made of
    // integers only and without padding (their sizes, 24 and 32 bytes, are
    // the sums of their fields, as famfs-abi's tests check against GCC), so
    // every byte of the value is initialised; the slice lives no longer
    // than the borrow of `v`.
    let s = unsafe { std::slice::from_raw_parts((v as *const T).cast::<u8>(), size_of::<T>()) };
    s.to_vec()
}

/// A simple extent on device `dev`.
fn se(dev: u32, offset: u64, len: u64) -> FamfsIocSimpleExt {
    FamfsIocSimpleExt {
        se_devindex: dev,
        reserved: 0,
        se_offset: offset,
        se_len: len,
    }
}

/// What a test message holds.
#[derive(Clone, Debug)]
enum Records {
    Simple(Vec<FamfsIocSimpleExt>),
    Interleaved(Vec<(FamfsIocIext, Vec<FamfsIocSimpleExt>)>),
}

/// A whole message; `fmap_size` None means the exact length.
fn message(file_type: u8, file_size: u64, recs: &Records, fmap_size: Option<u32>) -> Vec<u8> {
    let mut body = Vec::new();
    let (ext_type, n) = match recs {
        Records::Simple(v) => {
            for e in v {
                body.extend(bytes_of(e));
            }
            (FAMFS44_EXT_SIMPLE, v.len())
        }
        Records::Interleaved(v) => {
            for (ie, strips) in v {
                body.extend(bytes_of(ie));
                for s in strips {
                    body.extend(bytes_of(s));
                }
            }
            (FAMFS44_EXT_INTERLEAVE, v.len())
        }
    };
    let hdr = FamfsIocFmapHeader {
        file_type,
        reserved: 0,
        fmap_version: FAMFS44_FMAP_VERSION,
        ext_type,
        nextents: n as u32,
        fmap_size: fmap_size.unwrap_or((size_of::<FamfsIocFmapHeader>() + body.len()) as u32),
        file_size,
        reserved1: 0,
    };
    let mut m = bytes_of(&hdr);
    m.extend(body);
    m
}

/// Parses and decodes as the module does: the header, then the first
/// `wanted()` bytes (the module copies no more; a shorter buffer stands
/// for a message whose records run past what user space passed).
fn decode(msg: &[u8]) -> Result<Fmap, MsgError> {
    let h: [u8; HEADER_SIZE] = msg[..HEADER_SIZE].try_into().unwrap();
    let hdr = Header::parse(&h)?;
    let want = hdr.wanted().min(msg.len());
    msg44::decode(&hdr, &msg[..want])
}

fn ext(offset: u64, len: u64) -> Extent {
    Extent::new(offset, len)
}

const M: u64 = 2 << 20;

#[test]
fn a_simple_message_decodes_to_its_map() {
    let m = message(
        0,
        3 * M,
        &Records::Simple(vec![se(0, 4 * M, 2 * M), se(0, 10 * M, 2 * M)]),
        None,
    );
    assert_eq!(m.len(), 32 + 2 * 24);
    let mut extents = [Extent::default(); 2];
    extents[0] = ext(4 * M, 2 * M);
    extents[1] = ext(10 * M, 2 * M);
    let want = Fmap {
        file_type: FileType::Regular,
        file_size: 3 * M,
        layout: Layout::Simple { count: 2, extents },
    };
    assert_eq!(decode(&m), Ok(want));
}

#[test]
fn an_interleaved_message_decodes_to_its_map() {
    let ie = FamfsIocIext {
        ie_nstrips: 2,
        ie_chunk_size: 2 << 20,
        ie_nbytes: 8 * M,
        reserved: 0,
    };
    let m = message(
        2,
        8 * M,
        &Records::Interleaved(vec![(ie, vec![se(0, 20 * M, 4 * M), se(0, 40 * M, 4 * M)])]),
        None,
    );
    assert_eq!(m.len(), 32 + 24 + 2 * 24);
    let mut strips = [Extent::default(); MAX_STRIPS];
    strips[0] = ext(20 * M, 4 * M);
    strips[1] = ext(40 * M, 4 * M);
    let mut extents = [Interleave::default(); 4];
    extents[0] = Interleave {
        chunk_size: 2 << 20,
        nbytes: 8 * M,
        nstrips: 2,
        strips,
    };
    let want = Fmap {
        file_type: FileType::Log,
        file_size: 8 * M,
        layout: Layout::Interleaved { count: 1, extents },
    };
    assert_eq!(decode(&m), Ok(want));
}

/// A valid one-extent message, to break one field at a time.
fn good() -> Vec<u8> {
    message(0, 2 * M, &Records::Simple(vec![se(0, 4 * M, 2 * M)]), None)
}

fn set_u32(m: &mut [u8], at: usize, v: u32) {
    m[at..at + 4].copy_from_slice(&v.to_ne_bytes());
}

#[test]
fn each_header_rule_refuses_with_its_errno() {
    assert!(decode(&good()).is_ok());
    type Breaker = Box<dyn Fn(&mut Vec<u8>)>;
    let cases: Vec<(&str, Breaker, i32)> = vec![
        (
            "version 2",
            Box::new(|m| m[2..4].copy_from_slice(&2u16.to_ne_bytes())),
            22,
        ),
        (
            "version 0",
            Box::new(|m| m[2..4].copy_from_slice(&0u16.to_ne_bytes())),
            22,
        ),
        ("fmap_size 31", Box::new(|m| set_u32(m, 12, 31)), 22),
        ("fmap_size 0", Box::new(|m| set_u32(m, 12, 0)), 22),
        (
            "fmap_size 4 MiB + 1",
            Box::new(|m| set_u32(m, 12, FAMFS44_FMAP_MSG_MAX + 1)),
            27,
        ),
        (
            "fmap_size u32::MAX",
            Box::new(|m| set_u32(m, 12, u32::MAX)),
            27,
        ),
        ("header reserved", Box::new(|m| m[1] = 1), 22),
        ("header reserved1", Box::new(|m| m[31] = 1), 22),
        ("file type 3", Box::new(|m| m[0] = 3), 22),
        ("ext type 2", Box::new(|m| set_u32(m, 4, 2)), 22),
        ("no extents", Box::new(|m| set_u32(m, 8, 0)), 22),
        ("3 simple extents", Box::new(|m| set_u32(m, 8, 3)), 7),
        ("device 64", Box::new(|m| set_u32(m, 32, 64)), 22),
        (
            "device u32::MAX",
            Box::new(|m| set_u32(m, 32, u32::MAX)),
            22,
        ),
        ("extent reserved", Box::new(|m| set_u32(m, 36, 1)), 22),
        // Two extents announced, one present inside fmap_size.
        ("record past fmap_size", Box::new(|m| set_u32(m, 8, 2)), 22),
    ];
    for (name, breakit, errno) in cases {
        let mut m = good();
        breakit(&mut m);
        match decode(&m) {
            Ok(f) => panic!("{name}: accepted as {f:?}"),
            Err(e) => assert_eq!(e.errno(), errno, "{name}: {e:?} ({})", e.describe()),
        }
    }
    // The errors that say why, for the kernel log.
    let mut m = good();
    set_u32(&mut m, 32, 64);
    assert_eq!(decode(&m), Err(MsgError::Map(FmapError::DevIndexRange)));
    let mut m = good();
    set_u32(&mut m, 12, FAMFS44_FMAP_MSG_MAX + 1);
    assert_eq!(decode(&m), Err(MsgError::TooBig));
}

#[test]
fn strips_are_counted_and_must_fit() {
    let ie = |n: u32| FamfsIocIext {
        ie_nstrips: n,
        ie_chunk_size: 2 << 20,
        ie_nbytes: 2 * M,
        reserved: 0,
    };
    let strips = |n: usize| {
        (0..n)
            .map(|i| se(0, (100 + 2 * i as u64) * M, 2 * M))
            .collect()
    };
    let m = message(
        0,
        2 * M,
        &Records::Interleaved(vec![(ie(16), strips(16))]),
        None,
    );
    assert!(decode(&m).is_ok());
    let m = message(
        0,
        2 * M,
        &Records::Interleaved(vec![(ie(17), strips(17))]),
        None,
    );
    assert_eq!(decode(&m), Err(MsgError::Map(FmapError::TooManyStrips)));
    let m = message(
        0,
        2 * M,
        &Records::Interleaved(vec![(ie(0), strips(0))]),
        None,
    );
    assert_eq!(decode(&m), Err(MsgError::Map(FmapError::NoExtents)));
    // The strips announced run past fmap_size.
    let m = message(
        0,
        2 * M,
        &Records::Interleaved(vec![(ie(3), strips(2))]),
        None,
    );
    assert_eq!(decode(&m).map_err(|e| e.errno()), Err(22));
    let mut r = ie(1);
    r.reserved = 1;
    let m = message(0, 2 * M, &Records::Interleaved(vec![(r, strips(1))]), None);
    assert_eq!(decode(&m).map_err(|e| e.errno()), Err(22));
}

#[test]
fn bytes_after_the_records_are_ignored_and_long_messages_read_only_so_far() {
    let mut m = good();
    let exact = m.len();
    m.extend([0xaa; 100]);
    let len = m.len() as u32;
    set_u32(&mut m, 12, len);
    assert_eq!(decode(&m), decode(&good()));
    // fmap_size far beyond what a famfs map can use: only LONGEST_MAP bytes
    // are wanted.
    let mut big = good();
    set_u32(&mut big, 12, FAMFS44_FMAP_MSG_MAX);
    let h: [u8; 32] = big[..32].try_into().unwrap();
    assert_eq!(Header::parse(&h).unwrap().wanted(), LONGEST_MAP);
    assert!(LONGEST_MAP > exact);
    // The module copies those LONGEST_MAP bytes (user space promised 4 MiB).
    big.resize(LONGEST_MAP, 0x55);
    assert_eq!(decode(&big), decode(&good()));
    // Given fewer bytes than the header promises, the decoder refuses.
    big.truncate(exact);
    assert_eq!(decode(&big).map_err(|e| e.errno()), Err(22));
}

#[test]
fn the_longest_map_is_four_interleaved_extents_of_sixteen_strips() {
    assert_eq!(LONGEST_MAP, 32 + 4 * (24 + 16 * 24));
}

fn arb_ext() -> impl Strategy<Value = FamfsIocSimpleExt> {
    (0u64..64, 1u64..8).prop_map(|(o, l)| se(0, o * M, l * M))
}

fn arb_records() -> impl Strategy<Value = Records> {
    prop_oneof![
        prop::collection::vec(arb_ext(), 1..=2).prop_map(Records::Simple),
        prop::collection::vec(
            (prop::collection::vec(arb_ext(), 1..=16), 1u32..4, 1u64..64,).prop_map(
                |(strips, chunk, nbytes)| {
                    (
                        FamfsIocIext {
                            ie_nstrips: strips.len() as u32,
                            ie_chunk_size: chunk << 21,
                            ie_nbytes: nbytes * M,
                            reserved: 0,
                        },
                        strips,
                    )
                }
            ),
            1..=4
        )
        .prop_map(Records::Interleaved),
    ]
}

proptest! {
    /// Every message the independent encoder makes decodes to the map it
    /// describes, and the module's own encoder gives back the same bytes.
    #[test]
    fn encoded_maps_decode_and_encode_back(
        ft in 0u8..3, size in 0u64..(1 << 40), recs in arb_records()
    ) {
        let m = message(ft, size, &recs, None);
        let f = decode(&m).expect("a well-formed message");
        prop_assert_eq!(f.file_type.to_raw(), u32::from(ft));
        prop_assert_eq!(f.file_size, size);
        match (&recs, &f.layout) {
            (Records::Simple(v), Layout::Simple { count, extents }) => {
                prop_assert_eq!(*count, v.len());
                for (a, b) in v.iter().zip(extents.iter()) {
                    prop_assert_eq!((a.se_offset, a.se_len), (b.offset, b.len));
                }
            }
            (Records::Interleaved(v), Layout::Interleaved { count, extents }) => {
                prop_assert_eq!(*count, v.len());
                for ((ie, strips), got) in v.iter().zip(extents.iter()) {
                    prop_assert_eq!(u64::from(ie.ie_chunk_size), got.chunk_size);
                    prop_assert_eq!(ie.ie_nbytes, got.nbytes);
                    prop_assert_eq!(strips.len(), got.nstrips);
                    for (a, b) in strips.iter().zip(got.strips.iter()) {
                        prop_assert_eq!((a.se_offset, a.se_len), (b.offset, b.len));
                    }
                }
            }
            _ => prop_assert!(false, "layout kind changed"),
        }
        let mut out = vec![0u8; LONGEST_MAP];
        let n = msg44::encode(&f, size, &mut out).expect("fits");
        prop_assert_eq!(&out[..n], &m[..]);
    }

    /// Any bytes at all: no panic; whatever is accepted is the canonical
    /// encoding of its map (up to the bytes after its records).
    #[test]
    fn arbitrary_messages_never_panic(mut m in prop::collection::vec(any::<u8>(), 32..700),
                                      fix_version in any::<bool>(), fix_size in any::<bool>()) {
        if fix_version {
            m[2..4].copy_from_slice(&1u16.to_ne_bytes());
        }
        if fix_size {
            let n = m.len() as u32;
            m[12..16].copy_from_slice(&n.to_ne_bytes());
            m[1] = 0;
            m[24..32].fill(0);
        }
        if let Ok(f) = decode(&m) {
            let mut out = vec![0u8; LONGEST_MAP];
            let n = msg44::encode(&f, f.file_size, &mut out).expect("fits");
            prop_assert_eq!(&out[..12], &m[..12]);
            prop_assert_eq!(&out[16..n], &m[16..n]);
        }
    }
}

/// Device indices below 64 decode to extents on that device; whether the
/// mount has the device open is the map rule's (validation), with ENODEV.
#[test]
fn device_indices_reach_the_map_and_validation_needs_the_device() {
    let m = message(
        0,
        4 * M,
        &Records::Simple(vec![se(3, 0, 2 * M), se(63, 8 * M, 2 * M)]),
        None,
    );
    let f = decode(&m).expect("decodes");
    let Layout::Simple { count: 2, extents } = f.layout else {
        panic!("{f:?}")
    };
    assert_eq!(extents[0], Extent::on(3, 0, 2 * M));
    assert_eq!(extents[1], Extent::on(63, 8 * M, 2 * M));
    assert_eq!(f.devices(), (1 << 3) | (1 << 63));
    // Only device 0 open: refused, ENODEV.
    let mut lim = Limits::new(1 << 30);
    assert_eq!(f.validate(&lim), Err(FmapError::NoDevice));
    assert_eq!(FmapError::NoDevice.errno(), 19);
    lim.dev_sizes[3] = 1 << 30;
    assert_eq!(f.validate(&lim), Err(FmapError::NoDevice));
    // (Offset 0 of device 3 is fine: it is reserved on device 0 only.)
    lim.dev_sizes[63] = 10 * M;
    assert_eq!(f.validate(&lim), Ok(()));
    lim.dev_sizes[63] = 9 * M;
    assert_eq!(f.validate(&lim), Err(FmapError::BeyondDevice));
    // Encoding keeps the device indices.
    let mut out = vec![0u8; LONGEST_MAP];
    let n = msg44::encode(&f, 4 * M, &mut out).expect("encodes");
    assert_eq!(decode(&out[..n]), Ok(f));
}

/// The same offsets on two devices do not overlap; on one device they do.
#[test]
fn overlap_is_per_device() {
    let two = |d0: u32, d1: u32| {
        message(
            0,
            4 * M,
            &Records::Simple(vec![se(d0, 4 * M, 2 * M), se(d1, 4 * M, 2 * M)]),
            None,
        )
    };
    let mut lim = Limits::new(1 << 30);
    lim.dev_sizes[1] = 1 << 30;
    assert_eq!(decode(&two(0, 1)).expect("decodes").validate(&lim), Ok(()));
    assert_eq!(
        decode(&two(1, 1)).expect("decodes").validate(&lim),
        Err(FmapError::Overlap)
    );
}
