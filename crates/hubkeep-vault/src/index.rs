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

/// All readable indexes, plus the ones that could not be read.
#[derive(Debug, Default)]
pub(crate) struct IndexMap {
    /// Where each chunk stored once lives: nearly every chunk, so this
    /// map holds one location inline per chunk (no allocation of its own).
    once: HashMap<ChunkId, Location>,
    /// Every copy of each chunk stored more than once, in the order of
    /// their index names: the same chunk stored twice is redundancy, and a
    /// reader falls back from a failing copy to the next.
    more: HashMap<ChunkId, Vec<Location>>,
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
        let mut results = Vec::new();
        scan(store, keys, |name, decoded| results.push((name, decoded)))?;
        let mut map = IndexMap::default();
        results.sort_by(|a, b| a.0.cmp(&b.0));
        for (name, decoded) in results {
            match decoded {
                Ok(index) => map.add(index),
                Err(detail) => map.damaged.push((name, detail)),
            }
        }
        Ok(map)
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
        map.damaged.sort();
        map.refused.sort();
        // Copies in the order of their index names (an index is named
        // after its pack); the sort is stable, so the copies within one
        // index keep their order.
        for copies in map.more.values_mut() {
            copies.sort_by(|a, b| a.pack.cmp(&b.pack));
        }
        Ok(map)
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
        for e in &index.chunks {
            let here = Location {
                pack: pack.clone(),
                offset: e.1,
                len: e.2,
                raw_len: e.3,
            };
            let id = e.id();
            if let Some(copies) = self.more.get_mut(&id) {
                copies.push(here);
            } else if let Some(first) = self.once.remove(&id) {
                self.more.insert(id, vec![first, here]);
            } else {
                self.once.insert(id, here);
            }
        }
        pack
    }

    /// The copies of a chunk, best first; empty when no index lists it.
    pub fn copies(&self, id: &ChunkId) -> &[Location] {
        match self.more.get(id) {
            Some(copies) => copies,
            None => self.once.get(id).map(std::slice::from_ref).unwrap_or_default(),
        }
    }

    /// Whether any index lists the chunk.
    pub fn contains(&self, id: &ChunkId) -> bool {
        self.once.contains_key(id) || self.more.contains_key(id)
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
