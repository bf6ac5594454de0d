//! hubkeep's vault engine: deduplicated, compressed, client-side encrypted
//! snapshots of directory trees and byte streams in an [`ObjectStore`].
//!
//! A vault holds *snapshots* (the recovery points and database snapshots of the
//! layers above). Data is cut into content-defined chunks, identified by a keyed
//! BLAKE3 hash, compressed with zstd when that helps, sealed with
//! XChaCha20-Poly1305 and written in packs of ~16 MiB with an index object per
//! pack. A snapshot exists once its manifest — written last — exists; a crash
//! before that leaves only reusable packs. The byte-level format is specified in
//! `docs/vault-format.md`.
//!
//! This crate knows nothing of stacks, regions, catalogs or PostgreSQL: callers
//! pass opaque JSON `meta` that the vault stores encrypted and returns verbatim.
//!
//! ```no_run
//! use hubkeep_vault::{BackupOptions, RestoreOptions, Vault};
//! let store = hubkeep_store::open("file:///srv/vault", &hubkeep_store::S3Settings::from_env())?;
//! let created = Vault::create(store)?;            // print created.recovery_key once
//! let summary = created.vault.backup_dir("/srv/storage".as_ref(), &BackupOptions::default())?;
//! created.vault.restore_dir(&summary.id, "/tmp/restored".as_ref(), &RestoreOptions::default())?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod alloc;
mod backup;
mod blob;
mod chunker;
mod config;
#[cfg(feature = "craft")]
pub mod craft;
mod crypto;
mod error;
mod gc;
mod holder;
mod index;
mod keys;
mod lease;
mod manifest;
mod objects;
mod pack;
mod readahead;
mod reader;
mod restore;
mod snapshot_id;
mod tree;
mod types;
mod verify;
mod walk;
mod writer;

use std::sync::Arc;

use hubkeep_store::{ObjectStore, StoreError};

pub use error::VaultError;
pub use reader::SnapshotFiles;
pub use restore::clean_interrupted_restore;
pub use types::*;
pub use writer::SnapshotWriter;

use config::{Config, CONFIG_OBJECT};
use crypto::VaultKeys;
use index::IndexMap;
use keys::{KeyRole, UserKey};
use manifest::{Entry, Manifest};

/// An open vault. Cheap to clone; safe to use from many threads.
#[derive(Clone, Debug)]
pub struct Vault {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Arc<dyn ObjectStore>,
    config: Config,
    keys: VaultKeys,
    location: String,
}

/// A new vault and its two keys, shown to the operator once.
pub struct CreatedVault {
    pub vault: Vault,
    /// Opens the vault; meant for the secret store.
    pub access_key: String,
    /// Opens the vault too; meant to be printed and kept offline.
    pub recovery_key: String,
}

impl std::fmt::Debug for CreatedVault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedVault")
            .field("vault", &self.vault)
            .finish_non_exhaustive()
    }
}

impl Vault {
    /// Creates a vault in an empty location; refuses when a vault is already there.
    pub fn create(store: Arc<dyn ObjectStore>) -> Result<CreatedVault, VaultError> {
        Vault::create_at(store, chrono::Utc::now())
    }

    /// [`Vault::create`], recording `at` as the vault's creation time (the
    /// caller's clock).
    pub fn create_at(
        store: Arc<dyn ObjectStore>,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<CreatedVault, VaultError> {
        alloc::keep_large_buffers_out_of_the_heap();
        let location = store.location();
        let config = Config::new(at);
        if !store.put_if_absent(CONFIG_OBJECT, &config.encode())? {
            return Err(VaultError::AlreadyExists { location });
        }
        let master: [u8; 32] = crypto::random_bytes();
        let access = UserKey::generate();
        let recovery = UserKey::generate();
        for (key, role) in [(&access, KeyRole::Access), (&recovery, KeyRole::Recovery)] {
            let name = format!("keys/{}", hex::encode(crypto::random_bytes::<16>()));
            store.put(&name, &key.wrap(&master, role, &config.id))?;
        }
        let vault = Vault {
            inner: Arc::new(Inner {
                keys: VaultKeys::from_master(&master),
                store,
                config,
                location,
            }),
        };
        Ok(CreatedVault {
            vault,
            access_key: access.to_text(),
            recovery_key: recovery.to_text(),
        })
    }

    /// Opens an existing vault with its access key or its recovery key.
    pub fn open(store: Arc<dyn ObjectStore>, key: &str) -> Result<Vault, VaultError> {
        alloc::keep_large_buffers_out_of_the_heap();
        let location = store.location();
        let config_bytes = match store.get(CONFIG_OBJECT) {
            Ok(b) => b,
            Err(StoreError::NotFound { .. }) => return Err(VaultError::NotAVault { location }),
            Err(e) => return Err(e.into()),
        };
        let config = Config::decode(&config_bytes, &location)?;
        let key = UserKey::parse(key)?;
        let key_files = store.list("keys/")?;
        for meta in &key_files {
            let file = match store.get(&meta.name) {
                Ok(f) => f,
                Err(StoreError::NotFound { .. }) => continue,
                Err(e) => return Err(e.into()),
            };
            if let Some(master) = key.unwrap(&file, &config.id) {
                let keys = VaultKeys::from_master(&master);
                return Ok(Vault {
                    inner: Arc::new(Inner {
                        store,
                        config,
                        keys,
                        location,
                    }),
                });
            }
        }
        Err(VaultError::WrongKey {
            location,
            key_files: key_files.len(),
        })
    }

    /// The vault's random id (32 hex digits), from its `config`.
    pub fn id(&self) -> &str {
        &self.inner.config.id
    }

    /// Where the vault lives (`file:///…` or `s3://…`).
    pub fn location(&self) -> &str {
        &self.inner.location
    }

    /// Starts a snapshot of named streams (e.g. a database dump, one stream per table).
    pub fn writer(
        &self,
        kind: &str,
        meta: serde_json::Value,
    ) -> Result<SnapshotWriter, VaultError> {
        SnapshotWriter::new(self, kind, meta, None, None, writer::Order::Any)
    }

    /// The ids of every committed snapshot, oldest first, without reading
    /// their manifests: a caller can then skip a damaged one and go on.
    pub fn snapshot_ids(&self) -> Result<Vec<String>, VaultError> {
        let mut ids: Vec<String> = self
            .inner
            .store
            .list("snapshots/")?
            .into_iter()
            .map(|m| m.name.trim_start_matches("snapshots/").to_string())
            .filter(|id| snapshot_id::validate(id).is_ok())
            .collect();
        ids.sort();
        Ok(ids)
    }

    /// Every committed snapshot, oldest first.
    pub fn list_snapshots(&self) -> Result<Vec<SnapshotInfo>, VaultError> {
        let mut out = Vec::new();
        for meta in self.inner.store.list("snapshots/")? {
            let id = meta.name.trim_start_matches("snapshots/");
            if snapshot_id::validate(id).is_err() {
                continue;
            }
            match self.load_manifest(id) {
                Ok(m) => out.push(self.info(&m)?),
                // Deleted between list and get: it is simply gone.
                Err(VaultError::SnapshotNotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    /// One snapshot's description.
    pub fn snapshot(&self, id: &str) -> Result<SnapshotInfo, VaultError> {
        self.info(&self.load_manifest(id)?)
    }

    /// Every entry of a snapshot, sorted by path bytes.
    pub fn entries(&self, id: &str) -> Result<Vec<EntryInfo>, VaultError> {
        Ok(self.load_entries(id)?.iter().map(entry_info).collect())
    }

    /// Removes a snapshot's manifest; its data is freed by a later [`Vault::gc`].
    pub fn delete_snapshot(&self, id: &str) -> Result<(), VaultError> {
        snapshot_id::validate(id)?;
        let name = Manifest::object_name(id);
        match self.inner.store.get(&name) {
            Ok(_) => Ok(self.inner.store.delete(&name)?),
            Err(StoreError::NotFound { .. }) => Err(self.not_found(id)),
            Err(e) => Err(e.into()),
        }
    }

    fn not_found(&self, id: &str) -> VaultError {
        VaultError::SnapshotNotFound {
            location: self.inner.location.clone(),
            id: id.to_string(),
        }
    }

    pub(crate) fn corrupt(&self, object: &str, detail: String) -> VaultError {
        VaultError::Corrupt {
            location: self.inner.location.clone(),
            object: object.to_string(),
            detail,
        }
    }

    pub(crate) fn load_index(&self) -> Result<IndexMap, VaultError> {
        IndexMap::load(&self.inner.store, &self.inner.keys)
    }

    pub(crate) fn load_manifest(&self, id: &str) -> Result<Manifest, VaultError> {
        snapshot_id::validate(id)?;
        let name = Manifest::object_name(id);
        let bytes = match self.inner.store.get(&name) {
            Ok(b) => b,
            Err(StoreError::NotFound { .. }) => return Err(self.not_found(id)),
            Err(e) => return Err(e.into()),
        };
        Manifest::decode(&self.inner.keys, id, &bytes).map_err(|d| self.corrupt(&name, d))
    }

    pub(crate) fn load_entries(&self, id: &str) -> Result<Vec<Entry>, VaultError> {
        let manifest = self.load_manifest(id)?;
        let index = Arc::new(self.load_index()?);
        self.load_tree(&manifest, &index)
    }

    /// Every entry of a snapshot's tree, in memory (for callers that need
    /// them all at once; restore and backup stream them instead).
    pub(crate) fn load_tree(
        &self,
        manifest: &Manifest,
        index: &Arc<IndexMap>,
    ) -> Result<Vec<Entry>, VaultError> {
        tree::TreeStream::open(self, manifest, index.clone()).collect()
    }

    /// Reads and checks one chunk of `len` plaintext bytes, falling back from a
    /// failing copy to the next; on failure returns (object at fault, what is
    /// wrong) for the first copy, which readers try first.
    pub(crate) fn fetch_chunk(
        &self,
        index: &IndexMap,
        id: &crypto::ChunkId,
        len: u64,
    ) -> Result<Vec<u8>, (String, String)> {
        let copies = index.copies(id);
        let mut first_failure = None;
        for loc in &copies {
            match self.read_copy(id, loc, len) {
                Ok(data) => return Ok(data),
                Err(failure) => {
                    first_failure.get_or_insert(failure);
                }
            }
        }
        Err(match first_failure {
            Some((object, detail)) if copies.len() > 1 => (
                object,
                format!("{detail}; its {} other copies fail too", copies.len() - 1),
            ),
            Some(failure) => failure,
            None => (
                format!("chunk {}", id.to_hex()),
                "no index lists this chunk".to_string(),
            ),
        })
    }

    /// Reads one copy of a chunk and checks it: tag, id, and that it decodes to
    /// the `want` bytes its reference claims and its index entry claims.
    pub(crate) fn read_copy(
        &self,
        id: &crypto::ChunkId,
        loc: &index::Location,
        want: u64,
    ) -> Result<Vec<u8>, (String, String)> {
        let pack = loc.object();
        let sealed = self
            .inner
            .store
            .get_range(&pack, loc.offset, loc.len)
            .map_err(|e| (pack.clone(), e.to_string()))?;
        let data = blob::decode(&self.inner.keys, id, &sealed).map_err(|d| {
            (
                pack.clone(),
                format!("chunk {} at offset {} {d}", &id.to_hex()[..16], loc.offset),
            )
        })?;
        check_decoded_len(id, &data, want, loc).map_err(|d| (pack, d))?;
        Ok(data)
    }
    fn info(&self, m: &Manifest) -> Result<SnapshotInfo, VaultError> {
        let name = Manifest::object_name(&m.id);
        let created = chrono::DateTime::parse_from_rfc3339(&m.created)
            .map_err(|e| self.corrupt(&name, format!("its creation time is not RFC 3339 ({e})")))?
            .with_timezone(&chrono::Utc);
        let meta = serde_json::from_str(&m.meta)
            .map_err(|e| self.corrupt(&name, format!("its metadata is not JSON ({e})")))?;
        Ok(SnapshotInfo {
            id: m.id.clone(),
            kind: m.kind.clone(),
            created,
            parent: m.parent.clone(),
            meta,
            stats: m.stats.clone(),
        })
    }
}

/// A chunk that decrypted and matched its id can still be described wrongly:
/// a reference or index entry claiming another length is a lie, and a file
/// built from it would be padded or cut.
pub(crate) fn check_decoded_len(
    id: &crypto::ChunkId,
    data: &[u8],
    want: u64,
    loc: &index::Location,
) -> Result<(), String> {
    let got = data.len() as u64;
    if got != loc.raw_len {
        return Err(format!(
            "chunk {} at offset {} decodes to {got} bytes but its index entry says {}",
            &id.to_hex()[..16],
            loc.offset,
            loc.raw_len
        ));
    }
    if got != want {
        return Err(format!(
            "chunk {} decodes to {got} bytes but the reference to it says {want}",
            &id.to_hex()[..16]
        ));
    }
    Ok(())
}

fn entry_info(e: &Entry) -> EntryInfo {
    let kind = match e.kind {
        manifest::KIND_DIR => EntryKind::Dir,
        manifest::KIND_SYMLINK => EntryKind::Symlink,
        _ => EntryKind::File,
    };
    EntryInfo {
        path: e.path.to_vec(),
        kind,
        size: e.size,
        mode: e.mode,
        uid: e.uid,
        gid: e.gid,
        mtime: chrono::DateTime::from_timestamp(e.mtime, e.mtime_ns).unwrap_or_default(),
        target: e.target.as_ref().map(|t| t.to_vec()),
    }
}
