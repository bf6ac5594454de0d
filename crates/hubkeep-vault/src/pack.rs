//! Packs (`packs/<name>`): a magic header followed by sealed chunks back to
//! back, and their index objects (`index/<name>`): which chunk is where.

use serde::{Deserialize, Serialize};
use serde_bytes::ByteArray;

use crate::crypto::{ChunkId, VaultKeys};
use crate::objects;

pub(crate) const PACK_MAGIC: &[u8; 8] = b"HKVPCK\x00\x01";
pub(crate) const INDEX_MAGIC: &[u8; 8] = b"HKVIDX\x00\x01";
/// Packs are closed once they reach this size: few S3 requests per GiB, and
/// at most two packs in memory per writer.
pub(crate) const PACK_TARGET: usize = 16 * 1024 * 1024;

/// What a chunk holds; informational (restore and verify treat both alike).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChunkKind {
    Data = 0,
    Tree = 1,
}

/// One chunk's place in a pack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct IndexEntry(
    /// chunk id
    pub ByteArray<32>,
    /// offset of the sealed chunk in the pack
    pub u64,
    /// length of the sealed chunk
    pub u32,
    /// length of the plaintext
    pub u32,
    /// [`ChunkKind`]
    pub u8,
);

impl IndexEntry {
    pub fn id(&self) -> ChunkId {
        ChunkId(self.0.into_array())
    }
}

/// The plaintext of an index object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PackIndex {
    pub version: u32,
    pub pack: String,
    pub chunks: Vec<IndexEntry>,
}

impl PackIndex {
    pub fn object_name(pack: &str) -> String {
        format!("index/{pack}")
    }

    pub fn encode(&self, keys: &VaultKeys) -> Vec<u8> {
        let mut cbor = Vec::new();
        ciborium::into_writer(self, &mut cbor).expect("index serializes");
        objects::seal(keys, INDEX_MAGIC, &Self::object_name(&self.pack), cbor)
    }

    /// Decodes `index/<pack>`; the error says what is wrong with it.
    pub fn decode(keys: &VaultKeys, pack: &str, bytes: &[u8]) -> Result<Self, String> {
        let plain = objects::open(keys, INDEX_MAGIC, &Self::object_name(pack), bytes)?;
        let index: PackIndex = ciborium::from_reader(plain.as_slice())
            .map_err(|e| format!("it is not a valid index ({e})"))?;
        if index.version != 1 || index.pack != pack {
            return Err(format!(
                "it describes pack {:?} version {}, not {pack:?} version 1",
                index.pack, index.version
            ));
        }
        Ok(index)
    }
}

/// A pack being filled in memory.
pub(crate) struct PackBuilder {
    pub name: String,
    pub data: Vec<u8>,
    pub entries: Vec<IndexEntry>,
}

impl PackBuilder {
    pub fn new() -> Self {
        Self::reusing(Vec::new())
    }

    /// A new pack in the buffer of an uploaded one (no fresh pages to fault in).
    pub fn reusing(mut data: Vec<u8>) -> Self {
        data.clear();
        data.reserve(PACK_TARGET + 4 * 1024 * 1024);
        data.extend_from_slice(PACK_MAGIC);
        PackBuilder {
            name: hex::encode(crate::crypto::random_bytes::<16>()),
            data,
            entries: Vec::new(),
        }
    }

    pub fn push(&mut self, id: &ChunkId, sealed: &[u8], raw_len: usize, kind: ChunkKind) {
        let offset = self.data.len() as u64;
        self.data.extend_from_slice(sealed);
        self.entries.push(IndexEntry(
            ByteArray::new(id.0),
            offset,
            sealed.len() as u32,
            raw_len as u32,
            kind as u8,
        ));
    }

    pub fn is_full(&self) -> bool {
        self.data.len() >= PACK_TARGET
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn index(&self) -> PackIndex {
        PackIndex {
            version: 1,
            pack: self.name.clone(),
            chunks: self.entries.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blob;
    use proptest::prelude::*;

    #[test]
    fn pack_and_index_round_trip() {
        let keys = VaultKeys::from_master(&[5; 32]);
        let mut pack = PackBuilder::new();
        let chunks: Vec<Vec<u8>> = vec![b"alpha".to_vec(), vec![0; 5000], b"".to_vec()];
        for c in &chunks {
            let id = keys.chunk_id(c);
            pack.push(&id, &blob::encode(&keys, &id, c), c.len(), ChunkKind::Data);
        }
        let index_bytes = pack.index().encode(&keys);
        let index = PackIndex::decode(&keys, &pack.name, &index_bytes).unwrap();
        assert!(pack.data.starts_with(PACK_MAGIC));
        for (entry, c) in index.chunks.iter().zip(&chunks) {
            let sealed = &pack.data[entry.1 as usize..entry.1 as usize + entry.2 as usize];
            assert_eq!(&blob::decode(&keys, &entry.id(), sealed).unwrap(), c);
            assert_eq!(entry.3 as usize, c.len());
        }
        assert!(
            PackIndex::decode(&keys, "other-pack", &index_bytes).is_err(),
            "an index is bound to its pack name"
        );
    }

    proptest! {
        #[test]
        fn decoding_arbitrary_index_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let keys = VaultKeys::from_master(&[5; 32]);
            let _ = PackIndex::decode(&keys, "p", &bytes);
            let mut with_magic = INDEX_MAGIC.to_vec();
            with_magic.extend(&bytes);
            let _ = PackIndex::decode(&keys, "p", &with_magic);
        }

        #[test]
        fn decoding_sealed_garbage_cbor_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            // Correctly sealed but meaningless plaintext must fail cleanly too.
            let keys = VaultKeys::from_master(&[5; 32]);
            let sealed = objects::seal(&keys, INDEX_MAGIC, "index/p", bytes);
            let _ = PackIndex::decode(&keys, "p", &sealed);
        }
    }
}
