//! The in-memory view of every `index/…` object: where each chunk lives.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use hubkeep_store::{ObjectStore, StoreError};

use crate::crypto::{ChunkId, VaultKeys};
use crate::pack::{IndexEntry, PackIndex};
use crate::VaultError;

/// Where one sealed chunk lives.
#[derive(Debug, Clone)]
pub(crate) struct Location {
    pub pack: Arc<str>,
    pub offset: u64,
    pub len: u64,
    /// The plaintext length the index claims.
    pub raw_len: u64,
}

impl Location {
    pub fn object(&self) -> String {
        format!("packs/{}", self.pack)
    }
}

/// A location as the map holds it: 24 bytes beside the 32-byte id, where
/// [`Location`] takes 40. Lengths fit 32 bits because [`IndexEntry`]'s
/// check refuses a sealed chunk over `MAX_SEALED` (about 16 MiB) and a
/// plaintext over `MAX_PLAINTEXT`; offsets keep 64 bits, as the format allows.
#[derive(Debug, Clone, Copy)]
struct Slot {
    offset: u64,
    /// Position in [`IndexMap::pack_names`].
    pack: u32,
    len: u32,
    raw_len: u32,
}

/// Values kept by chunk id in one vector sorted by id: no hash table's
/// spare slots, and no table to double and copy as it fills (at 200,000
/// chunks the index's places take 11 MB where a `HashMap<ChunkId,
/// Location>` held 19 MB, and 28 MB while it grew). Chunk ids are keyed
/// hashes, spread evenly over their range, so a small table of where each
/// range of leading bits starts finds an id among about two entries: two
/// cache lines per lookup, where bisecting 200,000 entries touched
/// eighteen. (Ids bunched by a crafted index only make their bucket longer;
/// it is still bisected.)
#[derive(Debug)]
pub(crate) struct IdTable<T> {
    /// Sorted by id; entries with the same id are adjacent.
    items: Vec<(ChunkId, T)>,
    /// `buckets[b]` is the first entry whose id's leading `bits` bits are
    /// `b` or more; the last one is the number of entries.
    buckets: Vec<u32>,
    bits: u32,
}

impl<T> Default for IdTable<T> {
    fn default() -> Self {
        IdTable::new(Vec::new(), |_, _| std::cmp::Ordering::Equal)
    }
}

impl<T> IdTable<T> {
    /// Sorts `items` by id, and entries with the same id by `tie`.
    pub fn new(
        mut items: Vec<(ChunkId, T)>,
        mut tie: impl FnMut(&T, &T) -> std::cmp::Ordering,
    ) -> Self {
        items.sort_unstable_by(|(a, x), (b, y)| a.cmp(b).then_with(|| tie(x, y)));
        items.shrink_to_fit();
        let n = items.len();
        let position = |i: usize| u32::try_from(i).expect("fewer than 2^32 chunk ids");
        // About two entries per bucket: 2^(floor(log2 n) - 1) buckets.
        let bits = n.checked_ilog2().unwrap_or(0).saturating_sub(1).min(24);
        let mut buckets = Vec::with_capacity((1 << bits) + 1);
        let mut i = 0;
        for b in 0..1usize << bits {
            while i < n && bucket(&items[i].0, bits) < b {
                i += 1;
            }
            buckets.push(position(i));
        }
        buckets.push(position(n));
        IdTable {
            items,
            buckets,
            bits,
        }
    }

    /// The entries of one id, in their tie order.
    pub fn find(&self, id: &ChunkId) -> &[(ChunkId, T)] {
        let b = bucket(id, self.bits);
        let run = &self.items[self.buckets[b] as usize..self.buckets[b + 1] as usize];
        let start = run.partition_point(|(c, _)| c < id);
        let end = start + run[start..].partition_point(|(c, _)| c == id);
        &run[start..end]
    }

    pub fn contains(&self, id: &ChunkId) -> bool {
        !self.find(id).is_empty()
    }

    fn into_items(self) -> Vec<(ChunkId, T)> {
        self.items
    }
}

/// All readable indexes, plus the ones that could not be read. Built with
/// [`IndexMap::add`] and readable once [`IndexMap::sorted`] has ordered it.
#[derive(Debug, Default)]
pub(crate) struct IndexMap {
    /// (chunk id, where it is); a chunk stored more than once has one
    /// entry per copy, in the order of their packs' names: the same chunk
    /// stored twice is redundancy, and a reader falls back from a failing
    /// copy to the next.
    places: IdTable<Slot>,
    /// Places added since the last [`IndexMap::sorted`].
    added: Vec<(ChunkId, Slot)>,
    /// The pack names `Slot::pack` points into.
    pack_names: Vec<Arc<str>>,
    /// pack name → its index entries.
    pub packs: HashMap<Arc<str>, Vec<IndexEntry>>,
    /// (object name, what is wrong) for index objects that did not decode.
    pub damaged: Vec<(String, String)>,
    /// (object name, what is wrong) for single entries refused in indexes
    /// that otherwise decoded.
    pub refused: Vec<(String, String)>,
}

const FETCH_THREADS: usize = 4;

impl IndexMap {
    /// Reads every index object (a few at a time, for S3 latency).
    pub fn load(store: &Arc<dyn ObjectStore>, keys: &VaultKeys) -> Result<IndexMap, VaultError> {
        let mut map = IndexMap::default();
        scan(store, keys, |name, decoded| match decoded {
            Ok(index) => map.add(index),
            Err(detail) => map.damaged.push((name, detail)),
        })?;
        Ok(map.sorted())
    }

    /// Where every chunk lives, without the per-pack entry lists: what a
    /// restore needs. Built as each index arrives, so no more than one
    /// decoded index is held besides the map.
    pub fn load_locations(
        store: &Arc<dyn ObjectStore>,
        keys: &VaultKeys,
    ) -> Result<IndexMap, VaultError> {
        let mut map = IndexMap::default();
        scan(store, keys, |name, decoded| match decoded {
            Ok(index) => {
                map.add_locations(&index);
            }
            Err(detail) => map.damaged.push((name, detail)),
        })?;
        Ok(map.sorted())
    }

    pub fn add(&mut self, index: PackIndex) {
        let pack = self.add_locations(&index);
        self.packs.insert(pack, index.chunks);
    }

    /// Records where each chunk of `index` lives; returns its pack's name.
    fn add_locations(&mut self, index: &PackIndex) -> Arc<str> {
        let pack: Arc<str> = Arc::from(index.pack.as_str());
        let object = PackIndex::object_name(&index.pack);
        for (i, why) in &index.refused {
            self.refused
                .push((object.clone(), format!("entry {i} is refused: {why}")));
        }
        let number = u32::try_from(self.pack_names.len()).expect("fewer than 2^32 packs");
        self.pack_names.push(pack.clone());
        let narrow = |n: u64| u32::try_from(n).expect("IndexEntry::check bounds lengths");
        self.added.extend(index.chunks.iter().map(|e| {
            let slot = Slot {
                offset: e.1,
                pack: number,
                len: narrow(e.2),
                raw_len: narrow(e.3),
            };
            (e.id(), slot)
        }));
        pack
    }

    /// Orders the places (and the problem lists, for stable reports); every
    /// reader of the map calls this once the last index is added.
    pub fn sorted(mut self) -> IndexMap {
        let mut places = std::mem::take(&mut self.places).into_items();
        places.append(&mut self.added);
        self.added.shrink_to_fit();
        let names = &self.pack_names;
        self.places = IdTable::new(places, |x, y| {
            names[x.pack as usize]
                .cmp(&names[y.pack as usize])
                .then(x.offset.cmp(&y.offset))
        });
        self.damaged.sort();
        self.refused.sort();
        self
    }

    /// The places of one chunk's copies.
    fn places_of(&self, id: &ChunkId) -> &[(ChunkId, Slot)] {
        debug_assert!(self.added.is_empty(), "IndexMap read before IndexMap::sorted");
        self.places.find(id)
    }

    fn location(&self, slot: &Slot) -> Location {
        Location {
            pack: self.pack_names[slot.pack as usize].clone(),
            offset: slot.offset,
            len: u64::from(slot.len),
            raw_len: u64::from(slot.raw_len),
        }
    }

    /// The copies of a chunk, best first; empty when no index lists it.
    pub fn copies(&self, id: &ChunkId) -> Vec<Location> {
        self.places_of(id)
            .iter()
            .map(|(_, slot)| self.location(slot))
            .collect()
    }

    /// A chunk's first copy, the one readers try first.
    pub fn first(&self, id: &ChunkId) -> Option<Location> {
        self.places_of(id).first().map(|(_, slot)| self.location(slot))
    }

    /// How many copies of the chunk the indexes list.
    pub fn count(&self, id: &ChunkId) -> usize {
        self.places_of(id).len()
    }

    /// Whether any index lists the chunk.
    pub fn contains(&self, id: &ChunkId) -> bool {
        self.count(id) > 0
    }
}

/// The bucket of an id: its leading `bits` bits.
fn bucket(id: &ChunkId, bits: u32) -> usize {
    let lead = u64::from_be_bytes(id.0[..8].try_into().expect("8 bytes"));
    match bits {
        0 => 0,
        _ => (lead >> (64 - bits)) as usize,
    }
}

/// Fetches and decodes every index object, a few at a time (for S3
/// latency), and hands each to `visit` as soon as it is decoded, in no
/// particular order: (object name, the index or what is wrong with it).
/// A caller that keeps only part of each index never holds them all.
pub(crate) fn scan(
    store: &Arc<dyn ObjectStore>,
    keys: &VaultKeys,
    visit: impl FnMut(String, Result<PackIndex, String>) + Send,
) -> Result<(), VaultError> {
    let names: Vec<String> = store.list("index/")?.into_iter().map(|m| m.name).collect();
    let next = Mutex::new(names.iter());
    let visit = Mutex::new(visit);
    let first_error: Mutex<Option<StoreError>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..FETCH_THREADS.min(names.len()) {
            s.spawn(|| loop {
                let Some(name) = next.lock().expect("index iterator").next() else {
                    return;
                };
                match store.get(name) {
                    Ok(bytes) => {
                        let pack = name.strip_prefix("index/").unwrap_or(name);
                        let decoded = PackIndex::decode(keys, pack, &bytes);
                        drop(bytes);
                        (visit.lock().expect("index visitor"))(name.clone(), decoded);
                    }
                    Err(StoreError::NotFound { .. }) => {}
                    Err(e) => {
                        first_error.lock().expect("index error").get_or_insert(e);
                        return;
                    }
                }
            });
        }
    });
    match first_error.into_inner().expect("index error") {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use serde_bytes::ByteArray;

    use super::*;

    fn index(pack: &str, entries: &[(u8, u64)]) -> PackIndex {
        PackIndex {
            version: 1,
            pack: pack.into(),
            chunks: entries
                .iter()
                .map(|&(id, offset)| IndexEntry(ByteArray::new([id; 32]), offset, 100, 70, 0))
                .collect(),
            refused: Vec::new(),
        }
    }

    fn places(map: &IndexMap, id: u8) -> Vec<(String, u64)> {
        map.copies(&ChunkId([id; 32]))
            .into_iter()
            .map(|l| (l.pack.to_string(), l.offset))
            .collect()
    }

    #[test]
    fn copies_come_in_pack_name_order_whatever_order_the_indexes_arrived_in() {
        let mut map = IndexMap::default();
        map.add_locations(&index("cc", &[(1, 8), (2, 108)]));
        map.add_locations(&index("aa", &[(2, 8), (3, 108)]));
        map.add_locations(&index("bb", &[(2, 208), (2, 8)]));
        let map = map.sorted();
        assert_eq!(places(&map, 1), [("cc".to_string(), 8)]);
        assert_eq!(
            places(&map, 2),
            [("aa".into(), 8), ("bb".into(), 8), ("bb".into(), 208), ("cc".into(), 108)]
        );
        assert_eq!(map.count(&ChunkId([2; 32])), 4);
        let first = map.first(&ChunkId([3; 32])).expect("chunk 3 is listed");
        assert_eq!((&*first.pack, first.offset, first.len, first.raw_len), ("aa", 108, 100, 70));
        assert!(map.contains(&ChunkId([1; 32])));
        for absent in [0u8, 4, 255] {
            assert!(!map.contains(&ChunkId([absent; 32])));
            assert!(map.copies(&ChunkId([absent; 32])).is_empty());
            assert!(map.first(&ChunkId([absent; 32])).is_none());
        }
    }

    #[test]
    fn every_listed_chunk_is_found_among_spread_and_bunched_ids() {
        // Spread ids, as keyed hashes are, and ids that share their leading
        // bytes, as a crafted index may list: both land in the buckets.
        let spread = (0..5000u32).map(|i| *blake3::hash(&i.to_le_bytes()).as_bytes());
        let bunched = (0..300u32).map(|i| {
            let mut id = [0xab; 32];
            id[28..].copy_from_slice(&i.to_be_bytes());
            id
        });
        let ids: Vec<[u8; 32]> = spread.chain(bunched).collect();
        for n in [0, 1, 2, 3, 5, 64, ids.len()] {
            let mut map = IndexMap::default();
            let entries = ids[..n]
                .iter()
                .enumerate()
                .map(|(i, id)| IndexEntry(ByteArray::new(*id), 8 + i as u64, 100, 70, 0))
                .collect();
            map.add_locations(&PackIndex {
                version: 1,
                pack: "p".into(),
                chunks: entries,
                refused: Vec::new(),
            });
            let map = map.sorted();
            for (i, id) in ids.iter().enumerate() {
                let found = map.first(&ChunkId(*id)).map(|l| l.offset);
                assert_eq!(found, (i < n).then_some(8 + i as u64), "id {i} of {n}");
            }
        }
    }
}
