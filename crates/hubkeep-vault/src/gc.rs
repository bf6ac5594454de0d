//! Garbage collection: mark every chunk any manifest references, then delete
//! packs (and their indexes) that hold none of them, and rewrite packs that are
//! mostly garbage. Never touches objects younger than the grace period, and
//! refuses to run while any backup holds a lease.

use std::collections::HashSet;
use std::time::{Duration, SystemTime};

use crate::crypto::ChunkId;
use crate::lease::{Lease, Role};
use crate::pack::{ChunkKind, PackBuilder, PackIndex};
use crate::{GcReport, Vault, VaultError};

/// A pack whose live bytes are below this share of its size is rewritten.
const REPACK_BELOW: f64 = 0.5;

impl Vault {
    /// Frees the space of deleted snapshots. Objects younger than `grace` are kept.
    pub fn gc(&self, grace: Duration) -> Result<GcReport, VaultError> {
        let store = &self.inner.store;
        let _lease = Lease::acquire(store, Role::Gc)?;
        let index = self.load_index()?;
        let mut report = GcReport::default();

        // Mark.
        let mut live: HashSet<ChunkId> = HashSet::new();
        for meta in store.list("snapshots/")? {
            let id = meta.name.trim_start_matches("snapshots/");
            let manifest = self.load_manifest(id).map_err(|e| VaultError::GcUnsafe {
                detail: format!("snapshot {id} cannot be read ({e}), so its data cannot be told from garbage; delete it or restore the object first")
            })?;
            let entries = self
                .load_tree(&manifest, &index)
                .map_err(|e| VaultError::GcUnsafe {
                    detail: format!("the tree of snapshot {id} cannot be read ({e})"),
                })?;
            live.extend(manifest.tree.iter().map(|c| c.id()));
            live.extend(entries.iter().flat_map(|e| e.chunks.iter().map(|c| c.id())));
            report.snapshots += 1;
        }

        // Sweep.
        let now = SystemTime::now();
        let old = |modified: SystemTime| {
            now.duration_since(modified)
                .map(|age| age >= grace)
                .unwrap_or(false)
        };
        let damaged_packs: HashSet<&str> = index
            .damaged
            .iter()
            .map(|(o, _)| o.trim_start_matches("index/"))
            .collect();
        let packs = store.list("packs/")?;
        report.packs_total = packs.len();
        let mut existing = HashSet::new();
        for meta in &packs {
            let pack = meta.name.trim_start_matches("packs/");
            existing.insert(pack.to_string());
            if damaged_packs.contains(pack) {
                continue;
            }
            let Some(entries) = index.packs.get(pack) else {
                // A pack without an index: a writer died between the two uploads.
                if old(meta.modified) {
                    store.delete(&meta.name)?;
                    report.packs_deleted += 1;
                    report.bytes_freed += meta.size;
                } else {
                    report.packs_in_grace += 1;
                }
                continue;
            };
            // A chunk counts as live here only in the copy readers use.
            let used: Vec<_> = entries
                .iter()
                .filter(|e| {
                    live.contains(&e.id())
                        && index.chunks.get(&e.id()).is_some_and(|l| &*l.pack == pack)
                })
                .collect();
            let used_bytes: u64 = used.iter().map(|e| u64::from(e.2)).sum();
            if used.is_empty() {
                if old(meta.modified) {
                    store.delete(&PackIndex::object_name(pack))?;
                    store.delete(&meta.name)?;
                    report.packs_deleted += 1;
                    report.bytes_freed += meta.size;
                } else {
                    report.packs_in_grace += 1;
                }
            } else if (used_bytes as f64) < REPACK_BELOW * meta.size as f64 && old(meta.modified) {
                let object = meta.name.clone();
                let mut fresh = PackBuilder::new();
                for e in &used {
                    let sealed = store.get_range(&object, e.1, u64::from(e.2))?;
                    let kind = if e.4 == ChunkKind::Tree as u8 {
                        ChunkKind::Tree
                    } else {
                        ChunkKind::Data
                    };
                    fresh.push(&e.id(), &sealed, e.3 as usize, kind);
                }
                store.put(&format!("packs/{}", fresh.name), &fresh.data)?;
                store.put(
                    &PackIndex::object_name(&fresh.name),
                    &fresh.index().encode(&self.inner.keys),
                )?;
                store.delete(&PackIndex::object_name(pack))?;
                store.delete(&object)?;
                report.packs_repacked += 1;
                report.bytes_freed += meta.size.saturating_sub(fresh.data.len() as u64);
            }
        }
        // Indexes whose pack is gone describe nothing.
        for meta in store.list("index/")? {
            let pack = meta.name.trim_start_matches("index/");
            if !existing.contains(pack) && old(meta.modified) {
                store.delete(&meta.name)?;
            }
        }
        Ok(report)
    }
}
