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
    pub len: u32,
}

/// All readable indexes, plus the ones that could not be read.
#[derive(Debug, Default)]
pub(crate) struct IndexMap {
    pub chunks: HashMap<ChunkId, Location>,
    /// pack name → its index entries.
    pub packs: HashMap<Arc<str>, Vec<IndexEntry>>,
    /// (object name, what is wrong) for index objects that did not decode.
    pub damaged: Vec<(String, String)>,
}

const FETCH_THREADS: usize = 4;

impl IndexMap {
    /// Reads every index object (a few at a time, for S3 latency).
    pub fn load(store: &Arc<dyn ObjectStore>, keys: &VaultKeys) -> Result<IndexMap, VaultError> {
        let names: Vec<String> = store.list("index/")?.into_iter().map(|m| m.name).collect();
        let next = Mutex::new(names.iter());
        let results = Mutex::new(Vec::with_capacity(names.len()));
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
                            results
                                .lock()
                                .expect("index results")
                                .push((name.clone(), decoded));
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
        if let Some(e) = first_error.into_inner().expect("index error") {
            return Err(e.into());
        }
        let mut map = IndexMap::default();
        let mut results = results.into_inner().expect("index results");
        results.sort_by(|a, b| a.0.cmp(&b.0));
        for (name, decoded) in results {
            match decoded {
                Ok(index) => map.add(index),
                Err(detail) => map.damaged.push((name, detail)),
            }
        }
        Ok(map)
    }

    pub fn add(&mut self, index: PackIndex) {
        let pack: Arc<str> = Arc::from(index.pack.as_str());
        for e in &index.chunks {
            self.chunks.entry(e.id()).or_insert(Location {
                pack: pack.clone(),
                offset: e.1,
                len: e.2,
            });
        }
        self.packs.insert(pack, index.chunks);
    }
}
