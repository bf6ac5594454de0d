//! Content-defined chunking of byte streams (FastCDC 2020, keyed gear table).
//!
//! One reusable buffer per chunker: small files cost no allocation beyond their
//! chunk, and a cut is always decided with `max` bytes in view (or the end of
//! the stream), so boundaries do not depend on how reads were split.

use std::io::{self, Read};

use fastcdc::v2020::{FastCDC, Normalization};
use serde::{Deserialize, Serialize};

/// Chunk size bounds in bytes; stored in the vault's `config`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct ChunkerParams {
    pub min: u32,
    pub avg: u32,
    pub max: u32,
}

impl ChunkerParams {
    /// 256 KiB / 1 MiB / 4 MiB: few enough chunks that the index of a 1 TB file
    /// store stays near 1 M entries, small enough that a 1% change to a large
    /// dump rewrites about 1 MiB per changed spot.
    pub const DEFAULT: ChunkerParams = ChunkerParams {
        min: 256 * 1024,
        avg: 1024 * 1024,
        max: 4 * 1024 * 1024,
    };

    pub fn validate(&self) -> Result<(), String> {
        use fastcdc::v2020::{
            AVERAGE_MAX, AVERAGE_MIN, MAXIMUM_MAX, MAXIMUM_MIN, MINIMUM_MAX, MINIMUM_MIN,
        };
        let ok = (MINIMUM_MIN..=MINIMUM_MAX).contains(&self.min)
            && (AVERAGE_MIN..=AVERAGE_MAX).contains(&self.avg)
            && (MAXIMUM_MIN..=MAXIMUM_MAX).contains(&self.max)
            && self.min <= self.avg
            && self.avg <= self.max;
        if ok {
            Ok(())
        } else {
            Err(format!("its chunker sizes {self:?} are out of range"))
        }
    }
}

pub(crate) struct Chunker {
    params: ChunkerParams,
    seed: u64,
    buf: Vec<u8>,
}

impl Chunker {
    pub fn new(params: ChunkerParams, seed: u64) -> Self {
        Chunker {
            params,
            seed,
            buf: Vec::new(),
        }
    }

    /// Reads `source` to its end, calling `emit` with each chunk in order.
    /// Returns the number of bytes read.
    pub fn chunk<E: From<io::Error>>(
        &mut self,
        source: &mut dyn Read,
        mut emit: impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<u64, E> {
        let max = self.params.max as usize;
        // Twice the look-ahead: the unconsumed tail is moved to the front only
        // when less than `max` bytes of room remain, about once per `max` bytes.
        let cap = 2 * max;
        if self.buf.len() < cap {
            self.buf.resize(cap, 0);
        }
        let (mut start, mut len) = (0usize, 0usize);
        let mut eof = false;
        let mut total = 0u64;
        loop {
            if !eof && len < max && start + max > cap {
                self.buf.copy_within(start..start + len, 0);
                start = 0;
            }
            while !eof && len < max {
                match source.read(&mut self.buf[start + len..start + max]) {
                    Ok(0) => eof = true,
                    Ok(n) => len += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e.into()),
                }
            }
            if len == 0 {
                return Ok(total);
            }
            let end = self.cut(&self.buf[start..start + len]);
            emit(&self.buf[start..start + end])?;
            total += end as u64;
            start += end;
            len -= end;
        }
    }

    fn cut(&self, data: &[u8]) -> usize {
        let p = self.params;
        let cdc = FastCDC::with_level_and_seed(
            data,
            p.min,
            p.avg,
            p.max,
            Normalization::Level1,
            self.seed,
        );
        cdc.cut(0, data.len()).1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SMALL: ChunkerParams = ChunkerParams {
        min: 64,
        avg: 256,
        max: 1024,
    };

    fn chunks(params: ChunkerParams, seed: u64, data: &[u8], read_size: usize) -> Vec<Vec<u8>> {
        struct Dribble<'a>(&'a [u8], usize);
        impl Read for Dribble<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = self.0.len().min(self.1).min(buf.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut out = Vec::new();
        Chunker::new(params, seed)
            .chunk::<io::Error>(&mut Dribble(data, read_size), |c| {
                out.push(c.to_vec());
                Ok(())
            })
            .unwrap();
        out
    }

    fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
        let mut x = seed | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    proptest! {
        #[test]
        fn chunks_reassemble_and_do_not_depend_on_read_sizes(len in 0usize..20_000, seed: u64, read in 1usize..3000) {
            let data = pseudo_random(len, seed);
            let a = chunks(SMALL, 5, &data, read);
            let b = chunks(SMALL, 5, &data, 1 << 20);
            prop_assert_eq!(&a, &b);
            prop_assert_eq!(a.concat(), data);
            for c in &a[..a.len().saturating_sub(1)] {
                prop_assert!(c.len() >= 64 && c.len() <= 1024);
            }
        }
    }

    #[test]
    fn an_insertion_only_changes_nearby_chunks() {
        let data = pseudo_random(200_000, 42);
        let mut edited = data.clone();
        edited.splice(100_000..100_000, b"inserted".iter().copied());
        let before = chunks(SMALL, 1, &data, 4096);
        let after = chunks(SMALL, 1, &edited, 4096);
        let shared = after.iter().filter(|c| before.contains(c)).count();
        assert!(
            shared * 10 >= after.len() * 9,
            "{shared} of {} chunks reused",
            after.len()
        );
    }

    #[test]
    fn the_seed_moves_the_boundaries() {
        let data = pseudo_random(100_000, 3);
        assert_ne!(chunks(SMALL, 1, &data, 4096), chunks(SMALL, 2, &data, 4096));
    }

    #[test]
    fn default_params_are_valid() {
        ChunkerParams::DEFAULT.validate().unwrap();
    }
}
