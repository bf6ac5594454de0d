//! Garbage collection: mark every chunk any manifest references, then delete
//! packs (and their indexes) that hold none of them, and rewrite packs that are
//! mostly garbage. Never touches objects younger than the grace period, and
//! refuses to run while any backup holds a lease. It also removes leases that
//! no longer count and temp objects that killed writers left behind.
//!
//! A chunk stored more than once is live in one copy only: the first that
//! reads back intact (a lying or damaged copy is garbage), or every copy
//! when none does, so nothing a reader could still use is dropped.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
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
        self.collect(grace, false)
    }

    /// What [`Vault::gc`] would free now, changing nothing: no object is
    /// deleted or rewritten, no lease taken or removed (so it also runs
    /// while a backup writes; its fresh packs count as in grace).
    pub fn gc_dry_run(&self, grace: Duration) -> Result<GcReport, VaultError> {
        self.collect(grace, true)
    }

    fn collect(&self, grace: Duration, dry_run: bool) -> Result<GcReport, VaultError> {
        let store = &self.inner.store;
        let _lease = match dry_run {
            true => None,
            false => Some(Lease::acquire(store, Role::Gc)?),
        };
        let index = Arc::new(self.load_index()?);
        let mut report = GcReport {
            leases_removed: match dry_run {
                true => crate::lease::count_stale(store)?,
                false => crate::lease::remove_stale(store)?,
            },
            dry_run,
            ..Default::default()
        };
        let delete = |name: &str| -> Result<(), VaultError> {
            match dry_run {
                true => Ok(()),
                false => Ok(store.delete(name)?),
            }
        };

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

        // The copy of each duplicated live chunk that stays.
        let mut chosen: HashMap<ChunkId, Option<(Arc<str>, u64)>> = HashMap::new();
        for id in &live {
            let copies = index.copies(id);
            if copies.len() > 1 {
                let good = copies
                    .iter()
                    .find(|loc| self.read_copy(id, loc, loc.raw_len).is_ok());
                chosen.insert(*id, good.map(|l| (l.pack.clone(), l.offset)));
            }
        }
        let keeps = |pack: &str, e: &crate::pack::IndexEntry| {
            let id = e.id();
            live.contains(&id)
                && match chosen.get(&id) {
                    Some(Some((p, offset))) => &**p == pack && *offset == e.1,
                    // One copy, or none reads back: keep what there is.
                    _ => true,
                }
        };

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
                    delete(&meta.name)?;
                    report.packs_deleted += 1;
                    report.bytes_freed += meta.size;
                } else {
                    report.packs_in_grace += 1;
                }
                continue;
            };
            let used: Vec<_> = entries.iter().filter(|e| keeps(pack, e)).collect();
            let used_bytes: u64 = used.iter().map(|e| e.2).sum();
            if used.is_empty() {
                if old(meta.modified) {
                    delete(&PackIndex::object_name(pack))?;
                    delete(&meta.name)?;
                    report.packs_deleted += 1;
                    report.bytes_freed += meta.size;
                } else {
                    report.packs_in_grace += 1;
                }
            } else if (used_bytes as f64) < REPACK_BELOW * meta.size as f64 && old(meta.modified) && dry_run {
                report.packs_repacked += 1;
                report.bytes_freed += meta.size.saturating_sub(used_bytes);
            } else if (used_bytes as f64) < REPACK_BELOW * meta.size as f64 && old(meta.modified) {
                let object = meta.name.clone();
                let mut fresh = PackBuilder::new();
                for e in &used {
                    let sealed = store.get_range(&object, e.1, e.2)?;
                    let kind = if e.4 == ChunkKind::Tree as u64 {
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
                // Its index is as new as the sweep below: keep it whatever
                // the file system's coarse clock says its age is.
                existing.insert(fresh.name.clone());
                report.packs_repacked += 1;
                report.bytes_freed += meta.size.saturating_sub(fresh.data.len() as u64);
            }
        }
        // Indexes whose pack is gone describe nothing.
        for meta in store.list("index/")? {
            let pack = meta.name.trim_start_matches("index/");
            if !existing.contains(pack) && old(meta.modified) {
                delete(&meta.name)?;
            }
        }
        // Temp objects of writes that were killed before they finished.
        for meta in store.list_temp()? {
            if old(meta.modified) {
                delete(&meta.name)?;
                report.temp_objects_deleted += 1;
                report.bytes_freed += meta.size;
            }
        }
        Ok(report)
    }
}
