//! Checking a vault: every manifest and tree decodes, every file's size is
//! the sum of its chunk references, every index entry is well-formed, every
//! referenced chunk is indexed and inside an existing pack of sufficient
//! size, and (with `read_data`) every copy of every referenced chunk
//! decrypts, matches its id and decodes to the length its index entry and
//! its references claim. Each problem names the object at fault and the
//! snapshots and files it affects; a bad copy of a chunk that has an intact
//! one is reported as affecting none.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use crate::crypto::ChunkId;
use crate::index::Location;
use crate::manifest::{length_lie, Manifest, KIND_FILE};
use crate::{Problem, Vault, VaultError, VerifyReport};

fn others(copies: usize) -> String {
    if copies > 1 {
        format!("; its {} other copies fail too", copies - 1)
    } else {
        String::new()
    }
}

const MAX_FILES_PER_PROBLEM: usize = 100;

/// Which chunk copies a verify reads and decrypts.
enum ReadScope<'a> {
    /// None: structure only.
    None,
    /// Every copy.
    All,
    /// The copies stored in these packs.
    Packs(&'a BTreeSet<String>),
}

impl ReadScope<'_> {
    fn reads(&self, loc: &Location) -> bool {
        match self {
            ReadScope::None => false,
            ReadScope::All => true,
            ReadScope::Packs(packs) => packs.contains(&*loc.pack),
        }
    }
}

/// Who needs a chunk: (snapshot id, file path, length the reference claims).
type Users = HashMap<ChunkId, Vec<(Arc<str>, Arc<[u8]>, u64)>>;

/// A problem's message, the chunks whose users it affects, and snapshots it
/// affects directly.
type Finding = (String, BTreeSet<ChunkId>, BTreeSet<String>);

#[derive(Default)]
struct Findings {
    /// object → finding
    by_object: BTreeMap<String, Finding>,
    /// object → findings about bad copies that another copy makes up for.
    redundant: BTreeMap<String, String>,
    /// (object, message, snapshot, file) for files whose entry lies.
    entries: Vec<(String, String, String, String)>,
}

impl Findings {
    fn redundant(&mut self, object: String, message: String) {
        self.redundant.entry(object).or_insert(message);
    }

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
        let entries = self
            .entries
            .into_iter()
            .map(|(object, message, snapshot, file)| Problem {
                object,
                message,
                files: vec![format!("{snapshot}:{file}")],
                snapshots: vec![snapshot],
            });
        let redundant = self.redundant.into_iter().map(|(object, message)| Problem {
            object,
            message,
            snapshots: Vec::new(),
            files: Vec::new(),
        });
        self.by_object
            .into_iter()
            .map(|(object, (message, chunks, mut snapshots))| {
                let mut files = BTreeSet::new();
                for id in &chunks {
                    for (snap, path, _) in users.get(id).into_iter().flatten() {
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
            .chain(entries)
            .chain(redundant)
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
        let scope = if read_data {
            ReadScope::All
        } else {
            ReadScope::None
        };
        self.verify_scoped(ids, &scope)
    }

    /// The packs of the vault (their ids, as `packs/<id>` names them).
    pub fn pack_ids(&self) -> Result<Vec<String>, VaultError> {
        Ok(self
            .inner
            .store
            .list("packs/")?
            .into_iter()
            .map(|m| m.name.trim_start_matches("packs/").to_string())
            .collect())
    }

    /// Checks every snapshot's structure, and reads and decrypts every
    /// referenced chunk stored in one of `packs` (pack ids): a share of the
    /// data, so that a rotation over nights reads all of it. Each problem
    /// names the snapshots that lose data through it.
    pub fn verify_packs(&self, packs: &BTreeSet<String>) -> Result<VerifyReport, VaultError> {
        self.verify_scoped(None, &ReadScope::Packs(packs))
    }

    fn verify_scoped(
        &self,
        ids: Option<&[String]>,
        scope: &ReadScope,
    ) -> Result<VerifyReport, VaultError> {
        let store = &self.inner.store;
        let mut report = VerifyReport {
            read_data: !matches!(scope, ReadScope::None),
            ..Default::default()
        };
        let mut findings = Findings::default();
        let index = Arc::new(self.load_index()?);
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
            if let Err(e) = crate::restore::validate_entries(id, &entries) {
                findings.add(Manifest::object_name(id), e.to_string(), [], [id.clone()]);
                continue;
            }
            if let Some(why) = stats_mismatch(&manifest.stats, &entries) {
                findings.add(
                    Manifest::object_name(id),
                    format!("manifest is inconsistent: {why}"),
                    [],
                    [id.clone()],
                );
            }
            let snap: Arc<str> = Arc::from(id.as_str());
            for e in entries.iter().filter(|e| e.kind == KIND_FILE) {
                if let Some(why) = length_lie(e) {
                    findings.entries.push((
                        Manifest::object_name(id),
                        format!(
                            "file {:?} cannot be restored: {why}",
                            String::from_utf8_lossy(&e.path)
                        ),
                        id.clone(),
                        String::from_utf8_lossy(&e.path).into_owned(),
                    ));
                    continue;
                }
                let path: Arc<[u8]> = Arc::from(e.path.as_slice());
                for c in &e.chunks {
                    users
                        .entry(c.id())
                        .or_default()
                        .push((snap.clone(), path.clone(), c.len()));
                }
            }
        }

        // Chunks no readable index knows.
        let missing: Vec<ChunkId> = users
            .keys()
            .filter(|id| !index.contains(id))
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
        for (object, detail) in &index.refused {
            findings.redundant(object.clone(), format!("index {detail}"));
        }

        // Packs exist and are long enough: each copy of each chunk.
        let sizes: HashMap<String, u64> = store
            .list("packs/")?
            .into_iter()
            .map(|m| (m.name, m.size))
            .collect();
        let bounds_problem = |loc: &Location| -> Option<String> {
            match sizes.get(&loc.object()) {
                None => Some("pack is missing".into()),
                Some(&size) if loc.offset + loc.len > size => Some(format!(
                    "pack is truncated ({size} bytes, index needs more)"
                )),
                Some(_) => None,
            }
        };
        let mut ids: Vec<&ChunkId> = users.keys().collect();
        ids.sort();
        for id in ids {
            let copies = index.copies(id);
            if copies.is_empty() {
                continue;
            }
            // With read_data: (copy, what is wrong) for each bad copy.
            let mut bad: Vec<(&Location, String)> = Vec::new();
            let mut decoded_len = None;
            for loc in &copies {
                if let Some(why) = bounds_problem(loc) {
                    bad.push((loc, why));
                    continue;
                }
                if !scope.reads(loc) {
                    continue;
                }
                report.chunks_checked += 1;
                report.bytes_read += loc.len;
                match self.read_copy(id, loc, loc.raw_len) {
                    Ok(data) => {
                        decoded_len.get_or_insert(data.len() as u64);
                    }
                    Err((_, why)) => bad.push((loc, why)),
                }
            }
            if bad.len() == copies.len() {
                // No copy is usable: every file that needs the chunk is lost.
                let (loc, why) = &bad[0];
                let message = if why.starts_with("pack is") {
                    why.clone()
                } else {
                    format!("{why}{}", others(copies.len()))
                };
                findings.add(loc.object(), message, [*id], []);
                continue;
            }
            for (loc, why) in bad {
                findings.redundant(
                    loc.object(),
                    format!(
                        "the copy of chunk {} at offset {} is bad ({why}); another copy is intact, so no recovery point needs this one (gc may drop it)",
                        &id.to_hex()[..16],
                        loc.offset
                    ),
                );
            }
            // A genuine chunk can still be referenced with a false length.
            if let Some(got) = decoded_len {
                for (snap, path, want) in &users[id] {
                    if *want != got {
                        findings.entries.push((
                            Manifest::object_name(snap),
                            format!(
                                "file {:?} cannot be restored: chunk {} decodes to {got} bytes but the file's reference to it says {want}",
                                String::from_utf8_lossy(path),
                                &id.to_hex()[..16]
                            ),
                            snap.to_string(),
                            String::from_utf8_lossy(path).into_owned(),
                        ));
                    }
                }
            }
        }
        report.problems = findings.into_problems(&users);
        Ok(report)
    }
}

/// The first field where the manifest's `stats` differ from what its tree
/// gives, or `None` when they agree (vault-format.md §9).
fn stats_mismatch(
    stats: &crate::manifest::SnapshotStats,
    entries: &[crate::manifest::Entry],
) -> Option<String> {
    let tree = crate::manifest::SnapshotStats::of_tree(entries);
    [
        ("files", stats.files, tree.files),
        ("dirs", stats.dirs, tree.dirs),
        ("symlinks", stats.symlinks, tree.symlinks),
        ("bytes", stats.bytes, tree.bytes),
        ("chunks", stats.chunks, tree.chunks),
    ]
    .into_iter()
    .find(|(_, recorded, counted)| recorded != counted)
    .map(|(name, recorded, counted)| format!("stats say {recorded} {name}, the tree has {counted}"))
}
