//! KABI 44 map messages for `create --kabi44`: built from famfs-abi's
//! KABI 44 structures (field by field, in their `repr(C)` order), with
//! knobs that break one rule at a time for the refusal tests.

use famfs_abi::kabi44::{
    FamfsIocFmapHeader, FamfsIocIext, FamfsIocSimpleExt, FAMFS44_EXT_INTERLEAVE,
    FAMFS44_EXT_SIMPLE, FAMFS44_FMAP_VERSION,
};

/// Bad-input knobs of a message (None: the correct value).
#[derive(Clone, Copy, Debug, Default)]
pub struct Knobs {
    /// `fmap_version`.
    pub version: Option<u16>,
    /// `fmap_size`.
    pub size: Option<u32>,
    /// `nextents`.
    pub count: Option<u32>,
    /// A non-zero value in the header's `reserved1`.
    pub reserved: bool,
}

fn push_se(v: &mut Vec<u8>, e: &FamfsIocSimpleExt) {
    v.extend(e.se_devindex.to_ne_bytes());
    v.extend(e.reserved.to_ne_bytes());
    v.extend(e.se_offset.to_ne_bytes());
    v.extend(e.se_len.to_ne_bytes());
}

fn push_ie(v: &mut Vec<u8>, e: &FamfsIocIext) {
    v.extend(e.ie_nstrips.to_ne_bytes());
    v.extend(e.ie_chunk_size.to_ne_bytes());
    v.extend(e.ie_nbytes.to_ne_bytes());
    v.extend(e.reserved.to_ne_bytes());
}

fn push_header(v: &mut Vec<u8>, h: &FamfsIocFmapHeader) {
    v.push(h.file_type);
    v.push(h.reserved);
    v.extend(h.fmap_version.to_ne_bytes());
    v.extend(h.ext_type.to_ne_bytes());
    v.extend(h.nextents.to_ne_bytes());
    v.extend(h.fmap_size.to_ne_bytes());
    v.extend(h.file_size.to_ne_bytes());
    v.extend(h.reserved1.to_ne_bytes());
}

/// A message for a file of `size` bytes: simple `extents`, or the
/// interleaved extents `ies` (chunk, nbytes, strips), each range on its own
/// device or else on device `dev`.
pub fn message(
    file_type: u8,
    size: u64,
    extents: &[crate::ExtSpec],
    ies: &[crate::IeSpec],
    dev: u32,
    k: Knobs,
) -> anyhow::Result<Vec<u8>> {
    let se = |(d, o, l): &crate::ExtSpec| FamfsIocSimpleExt {
        se_devindex: d.unwrap_or(dev),
        reserved: 0,
        se_offset: *o,
        se_len: *l,
    };
    let mut body = Vec::new();
    let (ext_type, n) = if ies.is_empty() {
        for e in extents {
            push_se(&mut body, &se(e));
        }
        (FAMFS44_EXT_SIMPLE, extents.len())
    } else {
        for (chunk, nbytes, strips) in ies {
            let ie = FamfsIocIext {
                ie_nstrips: strips.len() as u32,
                ie_chunk_size: u32::try_from(*chunk)
                    .map_err(|_| anyhow::anyhow!("a KABI 44 chunk size fits in 32 bits"))?,
                ie_nbytes: *nbytes,
                reserved: 0,
            };
            push_ie(&mut body, &ie);
            for s in strips {
                push_se(&mut body, &se(s));
            }
        }
        (FAMFS44_EXT_INTERLEAVE, ies.len())
    };
    let hdr = FamfsIocFmapHeader {
        file_type,
        reserved: 0,
        fmap_version: k.version.unwrap_or(FAMFS44_FMAP_VERSION),
        ext_type,
        nextents: k.count.unwrap_or(n as u32),
        fmap_size: k
            .size
            .unwrap_or((size_of::<FamfsIocFmapHeader>() + body.len()) as u32),
        file_size: size,
        reserved1: u64::from(k.reserved),
    };
    let mut m = Vec::with_capacity(size_of::<FamfsIocFmapHeader>() + body.len());
    push_header(&mut m, &hdr);
    debug_assert_eq!(m.len(), size_of::<FamfsIocFmapHeader>());
    m.extend(body);
    // A message that says it is longer than its records: user space must
    // still own that memory (zeros after the records), up to 8 MiB.
    if let Some(sz) = k.size {
        let sz = (sz as usize).min(8 << 20);
        if sz > m.len() {
            m.resize(sz, 0);
        }
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_has_the_documented_bytes() {
        let m = message(
            0,
            4096,
            &[(None, 2 << 20, 2 << 20)],
            &[],
            0,
            Knobs::default(),
        )
        .unwrap();
        assert_eq!(m.len(), 56);
        assert_eq!(&m[2..4], &1u16.to_ne_bytes()); // fmap_version
        assert_eq!(&m[8..12], &1u32.to_ne_bytes()); // nextents
        assert_eq!(&m[12..16], &56u32.to_ne_bytes()); // fmap_size
        assert_eq!(&m[16..24], &4096u64.to_ne_bytes()); // file_size
        assert_eq!(&m[40..48], &(2u64 << 20).to_ne_bytes()); // se_offset
    }
}
