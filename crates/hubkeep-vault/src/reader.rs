//! Reading one file of a snapshot as a stream (database dumps are restored
//! this way): a background thread fetches and checks chunks ahead of the reader.
//! The stream yields exactly the entry's `size` bytes or fails: the size must
//! equal the sum of the chunk references, and each chunk must decode to its
//! reference's length.

use std::io::{self, Read};
use std::sync::{mpsc, Arc};

use crate::manifest::{length_lie, KIND_FILE};
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
    pub fn open_stream(&self, id: &str, path: &str) -> Result<Box<dyn Read + Send>, VaultError> {
        let manifest = self.load_manifest(id)?;
        let index = Arc::new(self.load_index()?);
        let entries = self.load_tree(&manifest, &index)?;
        let entry = entries
            .into_iter()
            .find(|e| e.path.as_slice() == path.as_bytes() && e.kind == KIND_FILE)
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
        let vault = self.clone();
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
