//! Checking a vault: every manifest and tree decodes, every referenced chunk is
//! indexed and inside an existing pack of sufficient size, and (with
//! `read_data`) every referenced chunk decrypts and matches its id. Each
//! problem names the object at fault and the snapshots and files it affects.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use crate::crypto::ChunkId;
use crate::manifest::{Manifest, KIND_FILE};
use crate::{blob, Problem, Vault, VaultError, VerifyReport};

const MAX_FILES_PER_PROBLEM: usize = 100;

/// Who needs a chunk: (snapshot id, file path).
type Users = HashMap<ChunkId, Vec<(Arc<str>, Arc<[u8]>)>>;

#[derive(Default)]
struct Findings {
    /// object → (message, chunks it affects)
    by_object: BTreeMap<String, (String, BTreeSet<ChunkId>, BTreeSet<String>)>,
}

impl Findings {
    fn add(
        &mut self,
        object: String,
        message: String,
        chunks: impl IntoIterator<Item = ChunkId>,
        snapshots: impl IntoIterator<Item = String>,
    ) {
        let slot = self
            .by_object
            .entry(object)
            .or_insert_with(|| (message, BTreeSet::new(), BTreeSet::new()));
        slot.1.extend(chunks);
        slot.2.extend(snapshots);
    }

    fn into_problems(self, users: &Users) -> Vec<Problem> {
        self.by_object
            .into_iter()
            .map(|(object, (message, chunks, mut snapshots))| {
                let mut files = BTreeSet::new();
                for id in &chunks {
                    for (snap, path) in users.get(id).into_iter().flatten() {
                        snapshots.insert(snap.to_string());
                        files.insert(format!("{snap}:{}", String::from_utf8_lossy(path)));
                    }
                }
                Problem {
                    object,
                    message,
                    snapshots: snapshots.into_iter().collect(),
                    files: files.into_iter().take(MAX_FILES_PER_PROBLEM).collect(),
                }
            })
            .collect()
    }
}

impl Vault {
    /// Checks the given snapshots (all when `None`); reads and decrypts every
    /// referenced chunk when `read_data`.
    pub fn verify(
        &self,
        ids: Option<&[String]>,
        read_data: bool,
    ) -> Result<VerifyReport, VaultError> {
        let store = &self.inner.store;
        let mut report = VerifyReport {
            read_data,
            ..Default::default()
        };
        let mut findings = Findings::default();
        let index = self.load_index()?;
        report.objects_checked += index.packs.len() + index.damaged.len();

        let ids: Vec<String> = match ids {
            Some(ids) => ids.to_vec(),
            None => store
                .list("snapshots/")?
                .into_iter()
                .map(|m| m.name.trim_start_matches("snapshots/").to_string())
                .collect(),
        };
        let mut users: Users = HashMap::new();
        for id in &ids {
            report.objects_checked += 1;
            let manifest = match self.load_manifest(id) {
                Ok(m) => m,
                Err(VaultError::Corrupt { object, detail, .. }) => {
                    findings.add(
                        object,
                        format!("manifest cannot be read: {detail}"),
                        [],
                        [id.clone()],
                    );
                    continue;
                }
                Err(e @ VaultError::SnapshotNotFound { .. })
                | Err(e @ VaultError::InvalidSnapshotId { .. }) => {
                    findings.add(Manifest::object_name(id), e.to_string(), [], [id.clone()]);
                    continue;
                }
                Err(e) => return Err(e),
            };
            report.snapshots_checked += 1;
            let entries = match self.load_tree(&manifest, &index) {
                Ok(e) => e,
                Err(VaultError::Corrupt { object, detail, .. }) => {
                    if object.starts_with("chunk ") && !index.damaged.is_empty() {
                        // The tree's chunk is unknown because an index is unreadable: blame the index.
                        for (index_object, index_detail) in &index.damaged {
                            findings.add(
                                index_object.clone(),
                                format!("index cannot be read: {index_detail}"),
                                [],
                                [id.clone()],
                            );
                        }
                    } else {
                        findings.add(object, detail, [], [id.clone()]);
                    }
                    continue;
                }
                Err(e) => return Err(e),
            };
            let snap: Arc<str> = Arc::from(id.as_str());
            for e in entries.iter().filter(|e| e.kind == KIND_FILE) {
                let path: Arc<[u8]> = Arc::from(e.path.as_slice());
                for c in &e.chunks {
                    users
                        .entry(c.id())
                        .or_default()
                        .push((snap.clone(), path.clone()));
                }
            }
        }

        // Chunks no readable index knows.
        let missing: Vec<ChunkId> = users
            .keys()
            .filter(|id| !index.chunks.contains_key(id))
            .copied()
            .collect();
        if !missing.is_empty() {
            if index.damaged.is_empty() {
                for id in &missing {
                    findings.add(
                        format!("chunk {}", id.to_hex()),
                        "no index lists this chunk".into(),
                        [*id],
                        [],
                    );
                }
            } else {
                for (object, detail) in &index.damaged {
                    findings.add(
                        object.clone(),
                        format!("index cannot be read: {detail}"),
                        missing.iter().copied(),
                        [],
                    );
                }
            }
        }
        for (object, detail) in &index.damaged {
            findings.add(
                object.clone(),
                format!("index cannot be read: {detail}"),
                [],
                [],
            );
        }

        // Packs exist and are long enough.
        let sizes: HashMap<String, u64> = store
            .list("packs/")?
            .into_iter()
            .map(|m| (m.name, m.size))
            .collect();
        let mut by_pack: BTreeMap<Arc<str>, Vec<(u64, u32, ChunkId)>> = BTreeMap::new();
        for id in users.keys() {
            if let Some(loc) = index.chunks.get(id) {
                by_pack
                    .entry(loc.pack.clone())
                    .or_default()
                    .push((loc.offset, loc.len, *id));
            }
        }
        for (pack, blobs) in &mut by_pack {
            blobs.sort_by_key(|b| b.0);
            let object = format!("packs/{pack}");
            match sizes.get(&object) {
                None => findings.add(
                    object,
                    "pack is missing".into(),
                    blobs.iter().map(|b| b.2),
                    [],
                ),
                Some(&size) => {
                    let short: Vec<ChunkId> = blobs
                        .iter()
                        .filter(|b| b.0 + u64::from(b.1) > size)
                        .map(|b| b.2)
                        .collect();
                    if !short.is_empty() {
                        findings.add(
                            object,
                            format!("pack is truncated ({size} bytes, index needs more)"),
                            short,
                            [],
                        );
                    }
                }
            }
        }

        if read_data {
            for (pack, blobs) in &by_pack {
                let object = format!("packs/{pack}");
                if !sizes.contains_key(&object) {
                    continue;
                }
                for &(offset, len, id) in blobs {
                    report.chunks_checked += 1;
                    match store.get_range(&object, offset, u64::from(len)) {
                        Ok(sealed) => {
                            report.bytes_read += sealed.len() as u64;
                            if let Err(detail) = blob::decode(&self.inner.keys, &id, &sealed) {
                                findings.add(
                                    object.clone(),
                                    format!("chunk {} {detail}", &id.to_hex()[..16]),
                                    [id],
                                    [],
                                );
                            }
                        }
                        Err(e) => {
                            findings.add(object.clone(), format!("cannot read: {e}"), [id], [])
                        }
                    }
                }
            }
        }
        report.problems = findings.into_problems(&users);
        Ok(report)
    }
}
