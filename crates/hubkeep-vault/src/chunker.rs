//! Content-defined chunking of byte streams (FastCDC 2020, keyed gear table).
//!
//! A stream arrives as pieces (read-ahead blocks; a piece may hold several
//! small files back to back, a big file spans many pieces). Each cut is the
//! one FastCDC would make with the whole stream in view, so boundaries do not
//! depend on how the stream was split: a cut found before the end of the bytes
//! in view is final (the gear hash only looks backwards), and without one the
//! chunker waits for more bytes until it has `max` in view or the stream ends.
//! Chunks inside one piece are handed out as ranges of it (no copy); only a
//! chunk that spans two pieces is copied, into its own buffer.

use std::ops::Range;

use fastcdc::v2020::{FastCDC, Normalization};
use serde::{Deserialize, Serialize};

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

/// One chunk, as [`Chunker::feed`] hands it out.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Cut {
    /// These bytes of the piece just fed.
    Shared(Range<usize>),
    /// A chunk that began in an earlier piece, copied.
    Owned(Vec<u8>),
}

pub(crate) struct Chunker {
    params: ChunkerParams,
    seed: u64,
    /// The start of a chunk whose cut is not decided yet (less than `max` bytes).
    carry: Vec<u8>,
}

impl Chunker {
    pub fn new(params: ChunkerParams, seed: u64) -> Self {
        Chunker {
            params,
            seed,
            carry: Vec::new(),
        }
    }

    /// Forgets a stream left unfinished (after an error), before the next one.
    pub fn reset(&mut self) {
        self.carry.clear();
    }

    /// Feeds the next piece of the current stream (`last`: the stream ends
    /// with it) and calls `emit` with every chunk now decided, in order.
    pub fn feed<E>(
        &mut self,
        piece: &[u8],
        last: bool,
        mut emit: impl FnMut(Cut) -> Result<(), E>,
    ) -> Result<(), E> {
        let max = self.params.max as usize;
        let mut pos = 0;
        while !self.carry.is_empty() {
            let old = self.carry.len();
            let take = (max - old).min(piece.len() - pos);
            self.carry.extend_from_slice(&piece[pos..pos + take]);
            let len = old + take;
            let cut = self.cut(&self.carry);
            if cut == len && len < max && !(last && pos + take == piece.len()) {
                // Still undecided: every byte of the piece is in the carry now.
                return Ok(());
            }
            if cut >= old {
                // The rest of the piece stays where it is.
                pos += cut - old;
                self.carry.truncate(cut);
                emit(Cut::Owned(std::mem::take(&mut self.carry)))?;
            } else {
                // A cut inside the old carry: FastCDC scans positions in pairs,
                // so the last byte of an odd-length view was not yet examined.
                let rest = self.carry[cut..old].to_vec();
                self.carry.truncate(cut);
                emit(Cut::Owned(std::mem::replace(&mut self.carry, rest)))?;
            }
        }
        while pos < piece.len() {
            let view = &piece[pos..];
            let cut = self.cut(view);
            if cut == view.len() && view.len() < max && !last {
                self.carry.reserve(max);
                self.carry.extend_from_slice(view);
                return Ok(());
            }
            emit(Cut::Shared(pos..pos + cut))?;
            pos += cut;
        }
        Ok(())
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

    /// Chunks `data` fed in pieces of `piece` bytes.
    fn chunks(params: ChunkerParams, seed: u64, data: &[u8], piece: usize) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut chunker = Chunker::new(params, seed);
        let pieces: Vec<&[u8]> = if data.is_empty() {
            vec![data]
        } else {
            data.chunks(piece).collect()
        };
        for (i, p) in pieces.iter().enumerate() {
            chunker
                .feed::<()>(p, i + 1 == pieces.len(), |c| {
                    out.push(match c {
                        Cut::Shared(r) => p[r].to_vec(),
                        Cut::Owned(v) => v,
                    });
                    Ok(())
                })
                .unwrap();
        }
        assert!(chunker.carry.is_empty(), "nothing left over at the end");
        out
    }

    /// What FastCDC itself cuts with the whole stream in view.
    fn reference(params: ChunkerParams, seed: u64, data: &[u8]) -> Vec<Vec<u8>> {
        FastCDC::with_level_and_seed(
            data,
            params.min,
            params.avg,
            params.max,
            Normalization::Level1,
            seed,
        )
        .map(|c| data[c.offset..c.offset + c.length].to_vec())
        .collect()
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
        fn chunks_reassemble_and_do_not_depend_on_piece_sizes(len in 0usize..20_000, seed: u64, piece in 1usize..3000) {
            let data = pseudo_random(len, seed);
            let a = chunks(SMALL, 5, &data, piece);
            let b = chunks(SMALL, 5, &data, 1 << 20);
            prop_assert_eq!(&a, &b);
            prop_assert_eq!(&a, &reference(SMALL, 5, &data));
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
    fn low_entropy_data_is_cut_at_max_whatever_the_pieces() {
        let data = vec![7u8; 10_000];
        let a = chunks(SMALL, 9, &data, 333);
        assert_eq!(a, reference(SMALL, 9, &data));
        assert!(a[..a.len() - 1].iter().all(|c| c.len() == 1024));
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
