//! Seeded pseudo-random file contents (`creat -r -S SEED`, `verify -S SEED`).
//!
//! The stream is ChaCha8 (rand_chacha) seeded with `seed_from_u64(seed)`,
//! produced in 1 MiB blocks from offset 0; the same seed always gives the
//! same bytes, so any host can verify what another wrote.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

const BLOCK: usize = 1 << 20;

/// Writes `size` seeded bytes to `f` from offset 0.
pub fn fill(f: &File, size: u64, seed: u64) -> io::Result<()> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut buf = vec![0u8; BLOCK];
    let mut off = 0u64;
    while off < size {
        let n = (size - off).min(BLOCK as u64) as usize;
        rng.fill_bytes(&mut buf);
        f.write_all_at(&buf[..n], off)?;
        off += n as u64;
    }
    Ok(())
}

/// Compares `f`'s first `size` bytes with the seeded stream; returns the
/// offset of the first difference, if any.
pub fn verify(f: &File, size: u64, seed: u64) -> io::Result<Option<u64>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut want = vec![0u8; BLOCK];
    let mut got = vec![0u8; BLOCK];
    let mut off = 0u64;
    while off < size {
        let n = (size - off).min(BLOCK as u64) as usize;
        rng.fill_bytes(&mut want);
        f.read_exact_at(&mut got[..n], off)?;
        if want[..n] != got[..n] {
            let i = (0..n).find(|&i| want[i] != got[i]).unwrap_or(0);
            return Ok(Some(off + i as u64));
        }
        off += n as u64;
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_bytes_other_seed_other_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        let f = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&p)
            .unwrap();
        let size = 3 * BLOCK as u64 + 17;
        fill(&f, size, 42).unwrap();
        assert_eq!(f.metadata().unwrap().len(), size);
        assert_eq!(verify(&f, size, 42).unwrap(), None);
        assert_eq!(verify(&f, size, 43).unwrap(), Some(0));
        // One flipped byte far into the file is found at its offset.
        let mut b = [0u8];
        f.read_exact_at(&mut b, 2 * BLOCK as u64 + 5).unwrap();
        b[0] ^= 1;
        f.write_all_at(&b, 2 * BLOCK as u64 + 5).unwrap();
        assert_eq!(verify(&f, size, 42).unwrap(), Some(2 * BLOCK as u64 + 5));
    }

    #[test]
    fn the_stream_is_stable() {
        // The first bytes of seed 1, recorded once: a change of generator
        // (or of its seeding) would make old files fail verification.
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut b = [0u8; 8];
        rng.fill_bytes(&mut b);
        assert_eq!(b, STREAM_SEED_1);
    }

    const STREAM_SEED_1: [u8; 8] = [177, 13, 164, 140, 234, 76, 9, 103];
}
