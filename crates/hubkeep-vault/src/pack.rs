//! Packs (`packs/<name>`): a magic header followed by sealed chunks back to
//! back, and their index objects (`index/<name>`): which chunk is where.

use serde::{Deserialize, Serialize};
use serde_bytes::ByteArray;

use crate::blob::MAX_PLAINTEXT;
use crate::crypto::{ChunkId, VaultKeys, NONCE_LEN, TAG_LEN};
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

/// The longest sealed chunk a pack may hold: nonce, flag and tag around a
/// 16 MiB plaintext, or around the largest zstd frame of one (zstd's
/// compress bound, n + n/256). An index entry claiming more is refused.
pub(crate) const MAX_SEALED: u64 =
    (NONCE_LEN + 1 + TAG_LEN + MAX_PLAINTEXT + MAX_PLAINTEXT / 256) as u64;
/// The shortest: nonce, flag and tag around an empty plaintext.
pub(crate) const MIN_SEALED: u64 = (NONCE_LEN + 1 + TAG_LEN) as u64;

/// One chunk's place in a pack. Integers are CBOR uints of up to 64 bits (the
/// format fixes no narrower width), so they are held as `u64` and bounded by
/// [`IndexEntry::check`], not by their type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct IndexEntry(
    /// chunk id
    pub ByteArray<32>,
    /// offset of the sealed chunk from the pack's first byte
    pub u64,
    /// length of the sealed chunk
    pub u64,
    /// length of the plaintext
    pub u64,
    /// [`ChunkKind`]
    pub u64,
);

impl IndexEntry {
    pub fn id(&self) -> ChunkId {
        ChunkId(self.0.into_array())
    }

    /// Refuses an entry that cannot describe a sealed chunk: before the pack
    /// header, shorter than an empty sealed chunk, longer than the largest,
    /// or decoding to more than a chunk may hold.
    fn check(&self) -> Result<(), String> {
        let (offset, len, raw) = (self.1, self.2, self.3);
        if offset < PACK_MAGIC.len() as u64 {
            return Err(format!("offset {offset} lies inside the pack header"));
        }
        if !(MIN_SEALED..=MAX_SEALED).contains(&len) {
            return Err(format!(
                "sealed length {len} is outside {MIN_SEALED}..={MAX_SEALED}"
            ));
        }
        if offset.checked_add(len).is_none() {
            return Err(format!("offset {offset} + length {len} overflows"));
        }
        if raw > MAX_PLAINTEXT as u64 {
            return Err(format!(
                "plaintext length {raw} is over the {MAX_PLAINTEXT}-byte chunk limit"
            ));
        }
        Ok(())
    }

    /// Reads one entry of a decoded index; the error says what is wrong with it.
    fn from_value(value: ciborium::Value) -> Result<Self, String> {
        let ciborium::Value::Array(fields) = value else {
            return Err("it is not an array".into());
        };
        let [id, offset, len, raw, kind]: [ciborium::Value; 5] = fields
            .try_into()
            .map_err(|f: Vec<_>| format!("it has {} fields, not 5", f.len()))?;
        let id: [u8; 32] = match id {
            ciborium::Value::Bytes(b) => b
                .try_into()
                .map_err(|b: Vec<u8>| format!("its id is {} bytes, not 32", b.len()))?,
            _ => return Err("its id is not a byte string".into()),
        };
        let uint = |v: ciborium::Value, what: &str| match v {
            ciborium::Value::Integer(i) => {
                u64::try_from(i).map_err(|_| format!("its {what} is not a 64-bit unsigned integer"))
            }
            _ => Err(format!("its {what} is not an integer")),
        };
        let entry = IndexEntry(
            ByteArray::new(id),
            uint(offset, "offset")?,
            uint(len, "length")?,
            uint(raw, "plaintext length")?,
            uint(kind, "kind")?,
        );
        entry.check()?;
        Ok(entry)
    }
}

/// The plaintext of an index object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct PackIndex {
    pub version: u32,
    pub pack: String,
    pub chunks: Vec<IndexEntry>,
    /// Entries that were refused: (position in the index, what is wrong).
    /// Never written: an index this crate writes has none.
    #[serde(skip)]
    pub refused: Vec<(usize, String)>,
}

/// An index as read, before its entries are checked one by one: one lying
/// entry must not hide the others.
#[derive(Deserialize)]
struct RawIndex {
    version: u32,
    pack: String,
    chunks: Vec<ciborium::Value>,
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
        let raw: RawIndex = ciborium::from_reader(plain.as_slice())
            .map_err(|e| format!("it is not a valid index ({e})"))?;
        if raw.version != 1 || raw.pack != pack {
            return Err(format!(
                "it describes pack {:?} version {}, not {pack:?} version 1",
                raw.pack, raw.version
            ));
        }
        let mut index = PackIndex {
            version: raw.version,
            pack: raw.pack,
            chunks: Vec::with_capacity(raw.chunks.len()),
            refused: Vec::new(),
        };
        for (i, value) in raw.chunks.into_iter().enumerate() {
            match IndexEntry::from_value(value) {
                Ok(e) => index.chunks.push(e),
                Err(why) => index.refused.push((i, why)),
            }
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
            sealed.len() as u64,
            raw_len as u64,
            kind as u64,
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
            refused: Vec::new(),
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
