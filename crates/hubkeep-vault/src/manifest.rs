//! Manifests (`snapshots/<id>`, the commit point of a snapshot) and the tree:
//! the snapshot's flat, path-sorted list of entries, stored as chunks.

use serde::{Deserialize, Serialize};
use serde_bytes::{ByteArray, ByteBuf};

use crate::crypto::{ChunkId, VaultKeys};
use crate::objects;

pub(crate) const MANIFEST_MAGIC: &[u8; 8] = b"HKVSNP\x00\x01";

/// A chunk reference: id and plaintext length. The length is a CBOR uint of
/// up to 64 bits; a reader checks it against the decoded chunk, not trusts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ChunkRef(pub ByteArray<32>, pub u64);

impl ChunkRef {
    pub fn new(id: ChunkId, len: usize) -> Self {
        ChunkRef(ByteArray::new(id.0), len as u64)
    }
    pub fn id(&self) -> ChunkId {
        ChunkId(self.0.into_array())
    }
    pub fn len(&self) -> u64 {
        self.1
    }
}

/// Why a file entry's lengths cannot be true, before any chunk is read: its
/// `size` must equal the sum of its references' lengths, and no reference
/// may claim more than a chunk can hold.
pub(crate) fn length_lie(e: &Entry) -> Option<String> {
    let mut sum: u64 = 0;
    for c in &e.chunks {
        if c.len() > crate::blob::MAX_PLAINTEXT as u64 {
            return Some(format!(
                "a reference to chunk {} claims {} bytes, more than the {}-byte chunk limit",
                &c.id().to_hex()[..16],
                c.len(),
                crate::blob::MAX_PLAINTEXT
            ));
        }
        sum += c.len();
    }
    (sum != e.size).then(|| {
        format!(
            "its size says {} bytes but its {} chunk references add up to {sum}",
            e.size,
            e.chunks.len()
        )
    })
}

pub(crate) const KIND_FILE: u8 = 0;
pub(crate) const KIND_DIR: u8 = 1;
pub(crate) const KIND_SYMLINK: u8 = 2;

/// One entry of the tree. Times are seconds + nanoseconds since the Unix epoch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Entry {
    /// Relative path bytes, '/'-separated.
    pub path: ByteBuf,
    pub kind: u8,
    /// Permission bits (including setuid/setgid/sticky), `st_mode & 0o7777`.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub mtime: i64,
    pub mtime_ns: u32,
    /// Change detection for incremental backups; not restored.
    pub ctime: i64,
    pub ctime_ns: u32,
    pub ino: u64,
    pub size: u64,
    /// Symlink target bytes (symlinks only).
    pub target: Option<ByteBuf>,
    /// File content in order (files only).
    pub chunks: Vec<ChunkRef>,
}

/// Statistics recorded in a manifest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotStats {
    pub files: u64,
    pub dirs: u64,
    pub symlinks: u64,
    /// Sum of file sizes.
    pub bytes: u64,
    /// Chunks referenced (with repetition).
    pub chunks: u64,
}

impl SnapshotStats {
    /// The stats a tree gives: entries of each kind, the files' sizes summed
    /// and their chunk references counted with repetition.
    pub(crate) fn of_tree(entries: &[Entry]) -> SnapshotStats {
        let mut stats = SnapshotStats::default();
        for e in entries {
            stats.add(e);
        }
        stats
    }

    /// Counts one more entry of the tree.
    pub(crate) fn add(&mut self, e: &Entry) {
        match e.kind {
            KIND_FILE => {
                self.files += 1;
                self.bytes = self.bytes.saturating_add(e.size);
                self.chunks += e.chunks.len() as u64;
            }
            KIND_DIR => self.dirs += 1,
            KIND_SYMLINK => self.symlinks += 1,
            _ => {}
        }
    }
}

/// The plaintext of a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Manifest {
    pub version: u32,
    pub id: String,
    pub kind: String,
    /// RFC 3339 UTC with nanoseconds.
    pub created: String,
    pub parent: Option<String>,
    /// The caller's metadata as JSON text (kept as text so it round-trips exactly).
    pub meta: String,
    pub tree: Vec<ChunkRef>,
    pub stats: SnapshotStats,
}

impl Manifest {
    pub fn object_name(id: &str) -> String {
        format!("snapshots/{id}")
    }

    pub fn encode(&self, keys: &VaultKeys) -> Vec<u8> {
        let mut cbor = Vec::new();
        ciborium::into_writer(self, &mut cbor).expect("manifest serializes");
        objects::seal(keys, MANIFEST_MAGIC, &Self::object_name(&self.id), cbor)
    }

    pub fn decode(keys: &VaultKeys, id: &str, bytes: &[u8]) -> Result<Self, String> {
        let plain = objects::open(keys, MANIFEST_MAGIC, &Self::object_name(id), bytes)?;
        let m: Manifest = ciborium::from_reader(plain.as_slice())
            .map_err(|e| format!("it is not a valid manifest ({e})"))?;
        if m.version != 1 || m.id != id {
            return Err(format!(
                "it describes snapshot {:?} version {}, not {id:?} version 1",
                m.id, m.version
            ));
        }
        Ok(m)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    pub(crate) fn entry(path: &[u8], kind: u8) -> Entry {
        Entry {
            path: ByteBuf::from(path.to_vec()),
            kind,
            mode: 0o644,
            uid: 1,
            gid: 2,
            mtime: 1_700_000_000,
            mtime_ns: 123_456_789,
            ctime: 1_700_000_001,
            ctime_ns: 5,
            ino: 77,
            size: if kind == KIND_FILE { 3 } else { 0 },
            target: (kind == KIND_SYMLINK).then(|| ByteBuf::from(b"../t".to_vec())),
            chunks: if kind == KIND_FILE {
                vec![ChunkRef::new(ChunkId([9; 32]), 3)]
            } else {
                vec![]
            },
        }
    }

    #[test]
    fn tree_and_manifest_round_trip() {
        let entries = vec![
            entry(b"a", KIND_DIR),
            entry(b"a/\xff name\n", KIND_FILE),
            entry(b"l", KIND_SYMLINK),
        ];
        let mut bytes = Vec::new();
        for e in &entries {
            ciborium::into_writer(e, &mut bytes).unwrap();
        }
        let mut reader = bytes.as_slice();
        let decoded: Vec<Entry> = (0..entries.len())
            .map(|_| ciborium::from_reader(&mut reader).unwrap())
            .collect();
        assert_eq!((decoded, reader.len()), (entries, 0));
        let keys = VaultKeys::from_master(&[1; 32]);
        let m = Manifest {
            version: 1,
            id: "20261124T003501Z-9f3a1c2e".into(),
            kind: "files".into(),
            created: "2026-11-24T00:35:01.123456789Z".into(),
            parent: None,
            meta: r#"{"stack":"s","n":18446744073709551615,"f":0.1}"#.into(),
            tree: vec![ChunkRef::new(ChunkId([4; 32]), 10)],
            stats: SnapshotStats {
                files: 1,
                ..Default::default()
            },
        };
        let bytes = m.encode(&keys);
        assert_eq!(Manifest::decode(&keys, &m.id, &bytes).unwrap(), m);
        assert!(Manifest::decode(&keys, "20261124T003501Z-00000000", &bytes).is_err());
    }

    proptest! {
        #[test]
        fn decoding_arbitrary_tree_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let mut reader = bytes.as_slice();
            while !reader.is_empty() && ciborium::from_reader::<Entry, _>(&mut reader).is_ok() {}
        }

        #[test]
        fn decoding_arbitrary_manifest_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let keys = VaultKeys::from_master(&[1; 32]);
            let _ = Manifest::decode(&keys, "x", &bytes);
            let sealed = objects::seal(&keys, MANIFEST_MAGIC, "snapshots/x", bytes);
            let _ = Manifest::decode(&keys, "x", &sealed);
        }
    }
}
