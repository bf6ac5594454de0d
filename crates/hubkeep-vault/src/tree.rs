//! Reading a snapshot's tree as a stream: tree chunks are fetched one at a
//! time as the entries are decoded, so a tree of millions of entries costs
//! one chunk of memory, not the whole list.

use std::io::{self, Read};
use std::sync::Arc;

use crate::index::IndexMap;
use crate::manifest::{ChunkRef, Entry, Manifest};
use crate::{Vault, VaultError};

/// The entries of one snapshot's tree, in stored order, decoded lazily.
pub(crate) struct TreeStream {
    bytes: TreeBytes,
    decoded: usize,
    done: bool,
}

/// The concatenated plaintext of the tree chunks, fetched on demand.
struct TreeBytes {
    vault: Vault,
    index: Arc<IndexMap>,
    snapshot: String,
    refs: Vec<ChunkRef>,
    next: usize,
    chunk: Vec<u8>,
    pos: usize,
    /// Why fetching a chunk failed (the `io::Error` handed to the decoder
    /// only says that it did).
    failure: Option<VaultError>,
}

impl TreeBytes {
    /// Makes sure unread bytes are in `chunk`; false at the end of the tree.
    fn fill(&mut self) -> Result<bool, VaultError> {
        while self.pos == self.chunk.len() {
            let Some(c) = self.refs.get(self.next) else {
                return Ok(false);
            };
            self.next += 1;
            self.chunk = self
                .vault
                .fetch_chunk(&self.index, &c.id(), c.len())
                .map_err(|(object, detail)| {
                    self.vault.corrupt(
                        &object,
                        format!(
                            "the tree of snapshot {} cannot be read: {detail}",
                            self.snapshot
                        ),
                    )
                })?;
            self.pos = 0;
        }
        Ok(true)
    }
}

impl Read for TreeBytes {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.fill() {
            Ok(true) => {}
            Ok(false) => return Ok(0),
            Err(e) => {
                self.failure = Some(e);
                return Err(io::Error::other("a tree chunk cannot be read"));
            }
        }
        let n = buf.len().min(self.chunk.len() - self.pos);
        buf[..n].copy_from_slice(&self.chunk[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

impl TreeStream {
    /// The tree of `manifest`; `index` must locate its tree chunks.
    pub fn open(vault: &Vault, manifest: &Manifest, index: Arc<IndexMap>) -> TreeStream {
        TreeStream {
            bytes: TreeBytes {
                vault: vault.clone(),
                index,
                snapshot: manifest.id.clone(),
                refs: manifest.tree.clone(),
                next: 0,
                chunk: Vec::new(),
                pos: 0,
                failure: None,
            },
            decoded: 0,
            done: false,
        }
    }

    fn next_entry(&mut self) -> Result<Option<Entry>, VaultError> {
        if !self.bytes.fill()? {
            return Ok(None);
        }
        match ciborium::from_reader::<Entry, _>(&mut self.bytes) {
            Ok(entry) => {
                self.decoded += 1;
                Ok(Some(entry))
            }
            Err(e) => Err(self.bytes.failure.take().unwrap_or_else(|| {
                self.bytes.vault.corrupt(
                    &Manifest::object_name(&self.bytes.snapshot),
                    format!("tree entry {} is not valid ({e})", self.decoded),
                )
            })),
        }
    }
}

impl Iterator for TreeStream {
    type Item = Result<Entry, VaultError>;

    /// The next entry; after an error, nothing more.
    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let next = self.next_entry().transpose();
        self.done = !matches!(next, Some(Ok(_)));
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::tests::entry;
    use crate::manifest::{KIND_DIR, KIND_FILE};

    #[test]
    fn a_tree_spanning_many_chunks_streams_back_every_entry_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = hubkeep_store::open(
            &format!("file://{}/vault", dir.path().display()),
            &Default::default(),
        )
        .unwrap();
        let vault = Vault::create(store).unwrap().vault;
        // Long names make a tree of several MiB: several tree chunks, with
        // entries cut across chunk boundaries.
        let entries: Vec<Entry> = (0..40_000u32)
            .map(|i| {
                let name = format!("d{:05}/{}", i, "x".repeat(100));
                entry(
                    name.as_bytes(),
                    if i % 7 == 0 { KIND_DIR } else { KIND_FILE },
                )
            })
            .collect();
        let mut w = vault.writer("files", serde_json::Value::Null).unwrap();
        for e in entries.iter().cloned() {
            w.push_entry(e).unwrap();
        }
        let id = w.commit().unwrap().id;
        let manifest = vault.load_manifest(&id).unwrap();
        assert!(
            manifest.tree.len() > 2,
            "{} tree chunks",
            manifest.tree.len()
        );
        let index = Arc::new(vault.load_index().unwrap());
        let streamed: Vec<Entry> = TreeStream::open(&vault, &manifest, index)
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(streamed, entries);
    }
}
