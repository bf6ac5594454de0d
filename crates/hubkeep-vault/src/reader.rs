//! Reading one file of a snapshot as a stream (database dumps are restored
//! this way): a background thread fetches and checks chunks ahead of the reader.
//! The stream yields exactly the entry's `size` bytes or fails: the size must
//! equal the sum of the chunk references, and each chunk must decode to its
//! reference's length.

use std::collections::HashMap;
use std::io::{self, Read};
use std::sync::{mpsc, Arc};

use crate::index::IndexMap;
use crate::manifest::{length_lie, Entry, KIND_FILE};
use crate::{Vault, VaultError};

const READ_AHEAD: usize = 4;

struct ChunkStream {
    chunks: mpsc::Receiver<Result<Vec<u8>, String>>,
    current: Vec<u8>,
    pos: usize,
}

impl Read for ChunkStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.current.len() {
            match self.chunks.recv() {
                Ok(Ok(chunk)) => {
                    self.current = chunk;
                    self.pos = 0;
                }
                Ok(Err(message)) => return Err(io::Error::other(message)),
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len() - self.pos);
        buf[..n].copy_from_slice(&self.current[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

impl Vault {
    /// Opens the file entry `path` of snapshot `id` as a stream. Every chunk is
    /// checked against its id; a damaged one makes `read` fail naming the file.
    /// To open several files of one snapshot, use [`Vault::snapshot_files`]:
    /// it loads the manifest, tree and index once for all of them.
    pub fn open_stream(&self, id: &str, path: &str) -> Result<Box<dyn Read + Send>, VaultError> {
        self.snapshot_files(id)?.open_stream(path)
    }

    /// Loads snapshot `id`'s manifest and tree and the vault's index once, so
    /// that a database restore opening hundreds of table streams reads them
    /// once instead of once per stream.
    pub fn snapshot_files(&self, id: &str) -> Result<SnapshotFiles, VaultError> {
        let manifest = self.load_manifest(id)?;
        let index = Arc::new(self.load_index()?);
        let files = self
            .load_tree(&manifest, &index)?
            .into_iter()
            .filter(|e| e.kind == KIND_FILE)
            .map(|e| (e.path.to_vec(), Arc::new(e)))
            .collect();
        Ok(SnapshotFiles {
            vault: self.clone(),
            snapshot: id.to_string(),
            index,
            files,
        })
    }
}

/// The file entries of one snapshot with the vault's index, loaded once;
/// any number of streams (also at once, from several threads) open from it.
pub struct SnapshotFiles {
    vault: Vault,
    snapshot: String,
    index: Arc<IndexMap>,
    files: HashMap<Vec<u8>, Arc<Entry>>,
}

impl SnapshotFiles {
    /// The recorded size of the file entry `path`, if the snapshot has one.
    pub fn size(&self, path: &str) -> Option<u64> {
        self.files.get(path.as_bytes()).map(|e| e.size)
    }

    /// Opens the file entry `path` as a stream, like [`Vault::open_stream`].
    pub fn open_stream(&self, path: &str) -> Result<Box<dyn Read + Send>, VaultError> {
        let id = self.snapshot.as_str();
        let entry = self
            .files
            .get(path.as_bytes())
            .cloned()
            .ok_or_else(|| VaultError::EntryNotFound {
                snapshot: id.into(),
                path: path.into(),
            })?;
        if let Some(detail) = length_lie(&entry) {
            return Err(VaultError::DamagedFile {
                snapshot: id.into(),
                path: path.into(),
                detail,
            });
        }
        let (tx, rx) = mpsc::sync_channel(READ_AHEAD);
        let vault = self.vault.clone();
        let index = Arc::clone(&self.index);
        let (snapshot, path) = (id.to_string(), path.to_string());
        std::thread::Builder::new()
            .name("hubkeep-stream".into())
            .spawn(move || {
                for c in &entry.chunks {
                    let item =
                        vault
                            .fetch_chunk(&index, &c.id(), c.len())
                            .map_err(|(object, detail)| {
                                VaultError::DamagedFile {
                                    snapshot: snapshot.clone(),
                                    path: path.clone(),
                                    detail: format!("{object}: {detail}"),
                                }
                                .to_string()
                            });
                    let failed = item.is_err();
                    if tx.send(item).is_err() || failed {
                        return;
                    }
                }
            })
            .map_err(|e| VaultError::Internal {
                detail: format!("cannot start the stream thread: {e}"),
            })?;
        Ok(Box::new(ChunkStream {
            chunks: rx,
            current: Vec::new(),
            pos: 0,
        }))
    }
}
