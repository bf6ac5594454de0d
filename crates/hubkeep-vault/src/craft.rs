//! Writing objects that lie, with a vault's real key: the tests of this
//! crate, of the command line and of independent readers use them to check
//! that a key-holding attacker's crafted snapshot, tree or index is refused
//! rather than restored or verified as good. An open [`Vault`] already holds
//! everything these need, so they give no power beyond the key itself.

use serde_bytes::{ByteArray, ByteBuf};

use crate::manifest::{
    ChunkRef, Entry, Manifest, SnapshotStats, KIND_DIR, KIND_FILE, KIND_SYMLINK,
};
use crate::pack::{ChunkKind, IndexEntry, PackBuilder, PackIndex, PACK_MAGIC};
use crate::{blob, crypto, EntryKind, Vault, VaultError};

/// One stored chunk: where it is and what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredChunk {
    pub id: [u8; 32],
    /// Plaintext length.
    pub len: u64,
    pub pack: String,
    pub offset: u64,
    pub sealed_len: u64,
}

/// A tree entry written exactly as given: nothing is checked or derived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CraftedEntry {
    pub path: Vec<u8>,
    pub kind: EntryKind,
    pub mode: u32,
    pub size: u64,
    /// (chunk id, claimed length) in order.
    pub chunks: Vec<([u8; 32], u64)>,
    pub target: Option<Vec<u8>>,
}

/// An index entry written exactly as given (any 64-bit numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CraftedIndexEntry {
    pub id: [u8; 32],
    pub offset: u64,
    pub len: u64,
    pub raw_len: u64,
    pub kind: u64,
}

/// Stores `data` as one chunk in a pack of its own, with its index.
pub fn store_chunk(vault: &Vault, data: &[u8]) -> Result<StoredChunk, VaultError> {
    let keys = &vault.inner.keys;
    let id = keys.chunk_id(data);
    let mut pack = PackBuilder::new();
    pack.push(
        &id,
        &blob::encode(keys, &id, data),
        data.len(),
        ChunkKind::Data,
    );
    let e = pack.entries[0].clone();
    put_pack(vault, &pack.name, &pack.data, &pack.index())?;
    Ok(StoredChunk {
        id: id.0,
        len: data.len() as u64,
        pack: pack.name,
        offset: e.1,
        sealed_len: e.2,
    })
}

/// Writes `packs/<pack>` holding `body` after the pack header, and an index
/// for it listing `entries` (offsets count from the pack's first byte).
pub fn write_pack(
    vault: &Vault,
    pack: &str,
    body: &[u8],
    entries: &[CraftedIndexEntry],
) -> Result<(), VaultError> {
    let mut data = PACK_MAGIC.to_vec();
    data.extend_from_slice(body);
    let index = PackIndex {
        version: 1,
        pack: pack.to_string(),
        chunks: entries
            .iter()
            .map(|e| IndexEntry(ByteArray::new(e.id), e.offset, e.len, e.raw_len, e.kind))
            .collect(),
        refused: Vec::new(),
    };
    put_pack(vault, pack, &data, &index)
}

fn put_pack(vault: &Vault, pack: &str, data: &[u8], index: &PackIndex) -> Result<(), VaultError> {
    let store = &vault.inner.store;
    store.put(&format!("packs/{pack}"), data)?;
    store.put(
        &PackIndex::object_name(pack),
        &index.encode(&vault.inner.keys),
    )?;
    Ok(())
}

/// Every index entry of every readable index: (pack, entry).
pub fn index_entries(vault: &Vault) -> Result<Vec<(String, CraftedIndexEntry)>, VaultError> {
    let index = vault.load_index()?;
    let mut out = Vec::new();
    for (pack, entries) in &index.packs {
        for e in entries {
            out.push((
                pack.to_string(),
                CraftedIndexEntry {
                    id: e.0.into_array(),
                    offset: e.1,
                    len: e.2,
                    raw_len: e.3,
                    kind: e.4,
                },
            ));
        }
    }
    out.sort_by(|a, b| (&a.0, a.1.offset).cmp(&(&b.0, b.1.offset)));
    Ok(out)
}

/// The entries of snapshot `id` as they are stored, chunk references included.
pub fn entries(vault: &Vault, id: &str) -> Result<Vec<CraftedEntry>, VaultError> {
    Ok(vault
        .load_entries(id)?
        .into_iter()
        .map(|e| CraftedEntry {
            kind: match e.kind {
                KIND_DIR => EntryKind::Dir,
                KIND_SYMLINK => EntryKind::Symlink,
                _ => EntryKind::File,
            },
            path: e.path.into_vec(),
            mode: e.mode,
            size: e.size,
            chunks: e.chunks.iter().map(|c| (c.id().0, c.len())).collect(),
            target: e.target.map(ByteBuf::into_vec),
        })
        .collect())
}

/// Replaces snapshot `id`'s manifest by one with the same id, kind, creation
/// time, parent and meta, whose tree is `entries` (sorted by path, as trees are).
pub fn replace_tree(vault: &Vault, id: &str, entries: Vec<CraftedEntry>) -> Result<(), VaultError> {
    let old = vault.load_manifest(id)?;
    let mut w = vault.writer(&old.kind, serde_json::Value::Null)?;
    let mut tree_entries = Vec::with_capacity(entries.len());
    for e in entries {
        tree_entries.push(Entry {
            path: ByteBuf::from(e.path),
            kind: match e.kind {
                EntryKind::File => KIND_FILE,
                EntryKind::Dir => KIND_DIR,
                EntryKind::Symlink => KIND_SYMLINK,
            },
            mode: e.mode,
            uid: 0,
            gid: 0,
            mtime: 1_700_000_000,
            mtime_ns: 0,
            ctime: 1_700_000_000,
            ctime_ns: 0,
            ino: 0,
            size: e.size,
            target: e.target.map(ByteBuf::from),
            chunks: e
                .chunks
                .iter()
                .map(|(id, len)| ChunkRef(ByteArray::new(*id), *len))
                .collect(),
        });
    }
    let stats = SnapshotStats::of_tree(&tree_entries);
    for e in tree_entries {
        w.push_entry(e)?;
    }
    let tree = w.store_tree()?;
    let manifest = Manifest { tree, stats, ..old };
    let store = &vault.inner.store;
    store.put(
        &Manifest::object_name(id),
        &manifest.encode(&vault.inner.keys),
    )?;
    Ok(())
}

/// A chunk id under this vault's key, for naming chunks that do not exist.
pub fn chunk_id(vault: &Vault, data: &[u8]) -> [u8; 32] {
    let id: crypto::ChunkId = vault.inner.keys.chunk_id(data);
    id.0
}
