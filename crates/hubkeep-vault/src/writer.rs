//! Writing a snapshot: chunk, deduplicate, then compress, seal and pack on
//! worker threads, upload packs and their indexes, and commit with a manifest.
//!
//! Threads and bounded queues:
//! caller (read, chunk, hash, dedup) → workers ×N (compress, seal) → packer
//! (fill a 16 MiB pack) → uploader (write pack, then its index). At most two
//! packs and a handful of chunks are in memory at once.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

use chrono::{DateTime, Utc};
use serde_bytes::ByteBuf;

use crate::chunker::Chunker;
use crate::crypto::{ChunkId, VaultKeys};
use crate::lease::{Lease, Role};
use crate::manifest::{
    encode_tree, ChunkRef, Entry, Manifest, SnapshotStats, KIND_DIR, KIND_FILE, KIND_SYMLINK,
};
use crate::pack::{ChunkKind, PackBuilder};
use crate::{blob, snapshot_id, Progress, SnapshotSummary, StreamStats, Vault, VaultError};

/// Builds one snapshot. Nothing is visible until [`SnapshotWriter::commit`];
/// dropping the writer abandons it (completed packs stay for reuse).
pub struct SnapshotWriter {
    vault: Vault,
    id: String,
    created: DateTime<Utc>,
    kind: String,
    meta: serde_json::Value,
    parent: Option<String>,
    entries: Vec<Entry>,
    paths: HashSet<Vec<u8>>,
    known: HashSet<ChunkId>,
    chunker: Chunker,
    pipeline: Pipeline,
    progress: Option<Arc<dyn Progress>>,
    started: Instant,
    pub(crate) counters: Counters,
    _lease: Lease,
}

impl std::fmt::Debug for SnapshotWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnapshotWriter")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("entries", &self.entries.len())
            .finish()
    }
}

#[derive(Debug, Default, Clone)]
pub(crate) struct Counters {
    pub bytes_read: u64,
    pub bytes_new: u64,
    pub chunks_new: u64,
    pub files_unchanged: u64,
    pub skipped: Vec<String>,
}

/// Completion tracking for one stream's chunks, so `add_stream` can report stored bytes.
#[derive(Default)]
struct Tracker {
    stored: AtomicU64,
    pending: Mutex<u64>,
    done: Condvar,
}

struct Job {
    id: ChunkId,
    data: Vec<u8>,
    kind: ChunkKind,
    tracker: Option<Arc<Tracker>>,
}

struct Sealed {
    id: ChunkId,
    sealed: Vec<u8>,
    raw_len: usize,
    kind: ChunkKind,
}

struct Pipeline {
    work: Option<SyncSender<Job>>,
    workers: Vec<JoinHandle<()>>,
    packer: Option<JoinHandle<()>>,
    abort: Arc<AtomicBool>,
    error: Arc<Mutex<Option<VaultError>>>,
    stored: Arc<AtomicU64>,
}

fn record_error(slot: &Mutex<Option<VaultError>>, abort: &AtomicBool, e: VaultError) {
    slot.lock().expect("error slot").get_or_insert(e);
    abort.store(true, Ordering::SeqCst);
}

/// glibc raises its mmap threshold every time a large block is freed, up to
/// 32 MiB; after that our 16–20 MiB pack buffers come from per-thread heaps
/// that keep their pages, which measured 102 MB peak RSS on a 400 MB backup
/// instead of 62 MB. Pinning the threshold below the pack size keeps pack
/// buffers in their own mappings, returned to the system when dropped.
fn keep_pack_buffers_out_of_the_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            // SAFETY: mallopt only changes allocator tuning; any value is valid.
            unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, 16 * 1024 * 1024) };
        });
    }
}

impl Pipeline {
    fn start(vault: &Vault) -> Result<Pipeline, VaultError> {
        keep_pack_buffers_out_of_the_heap();
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
            .clamp(2, 8);
        let (work_tx, work_rx) = mpsc::sync_channel::<Job>(threads);
        let (sealed_tx, sealed_rx) = mpsc::sync_channel::<Sealed>(threads);
        let abort = Arc::new(AtomicBool::new(false));
        let error = Arc::new(Mutex::new(None));
        let stored = Arc::new(AtomicU64::new(0));
        let work_rx = Arc::new(Mutex::new(work_rx));
        let spawn_err = |e: std::io::Error| VaultError::Internal {
            detail: format!("cannot start a worker thread: {e}"),
        };
        let mut workers = Vec::new();
        for i in 0..threads {
            let rx = work_rx.clone();
            let tx = sealed_tx.clone();
            let keys = vault.inner.keys.clone();
            let stored = stored.clone();
            workers.push(
                std::thread::Builder::new()
                    .name(format!("hubkeep-seal-{i}"))
                    .spawn(move || seal_worker(&keys, &rx, &tx, &stored))
                    .map_err(spawn_err)?,
            );
        }
        drop(sealed_tx);
        let packer = {
            let (vault, abort, error) = (vault.clone(), abort.clone(), error.clone());
            std::thread::Builder::new()
                .name("hubkeep-packer".into())
                .spawn(move || packer(&vault, sealed_rx, &abort, &error))
                .map_err(spawn_err)?
        };
        Ok(Pipeline {
            work: Some(work_tx),
            workers,
            packer: Some(packer),
            abort,
            error,
            stored,
        })
    }

    fn send(&self, job: Job) -> Result<(), VaultError> {
        let sent = self.work.as_ref().expect("pipeline open").send(job);
        if sent.is_err() || self.abort.load(Ordering::SeqCst) {
            return Err(self.take_error());
        }
        Ok(())
    }

    fn take_error(&self) -> VaultError {
        self.error
            .lock()
            .expect("error slot")
            .take()
            .unwrap_or_else(|| VaultError::Internal {
                detail: "a backup worker thread stopped without an error".into(),
            })
    }

    /// Waits for every chunk to be sealed, packed and uploaded.
    fn finish(&mut self) -> Result<(), VaultError> {
        drop(self.work.take());
        let mut panicked = false;
        for w in self.workers.drain(..) {
            panicked |= w.join().is_err();
        }
        if let Some(p) = self.packer.take() {
            panicked |= p.join().is_err();
        }
        if let Some(e) = self.error.lock().expect("error slot").take() {
            return Err(e);
        }
        if panicked {
            return Err(VaultError::Internal {
                detail: "a backup worker thread panicked".into(),
            });
        }
        Ok(())
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        if self.work.is_some() {
            self.abort.store(true, Ordering::SeqCst);
            let _ = self.finish();
        }
    }
}

fn seal_worker(
    keys: &VaultKeys,
    rx: &Mutex<Receiver<Job>>,
    tx: &SyncSender<Sealed>,
    stored: &AtomicU64,
) {
    loop {
        let job = match rx.lock().expect("work queue").recv() {
            Ok(job) => job,
            Err(_) => return,
        };
        let sealed = blob::encode(keys, &job.id, &job.data);
        stored.fetch_add(sealed.len() as u64, Ordering::Relaxed);
        if let Some(t) = &job.tracker {
            t.stored.fetch_add(sealed.len() as u64, Ordering::Relaxed);
            let mut pending = t.pending.lock().expect("tracker");
            *pending -= 1;
            t.done.notify_all();
        }
        let out = Sealed {
            id: job.id,
            sealed,
            raw_len: job.data.len(),
            kind: job.kind,
        };
        drop(job.data);
        if tx.send(out).is_err() {
            return;
        }
    }
}

fn packer(
    vault: &Vault,
    rx: Receiver<Sealed>,
    abort: &Arc<AtomicBool>,
    error: &Arc<Mutex<Option<VaultError>>>,
) {
    // Rendezvous channel: the packer fills the next pack while the uploader writes the last.
    let (up_tx, up_rx) = mpsc::sync_channel::<PackBuilder>(0);
    let uploader = {
        let (vault, abort, error) = (vault.clone(), abort.clone(), error.clone());
        std::thread::Builder::new()
            .name("hubkeep-upload".into())
            .spawn(move || {
                for pack in up_rx {
                    if abort.load(Ordering::SeqCst) {
                        continue;
                    }
                    if let Err(e) = upload(&vault, &pack) {
                        record_error(&error, &abort, e);
                    }
                }
            })
    };
    let uploader = match uploader {
        Ok(u) => u,
        Err(e) => {
            record_error(
                error,
                abort,
                VaultError::Internal {
                    detail: format!("cannot start the upload thread: {e}"),
                },
            );
            return;
        }
    };
    let mut pack = PackBuilder::new();
    for s in rx {
        if abort.load(Ordering::SeqCst) {
            continue;
        }
        pack.push(&s.id, &s.sealed, s.raw_len, s.kind);
        if pack.is_full()
            && up_tx
                .send(std::mem::replace(&mut pack, PackBuilder::new()))
                .is_err()
        {
            break;
        }
    }
    if !pack.is_empty() && !abort.load(Ordering::SeqCst) {
        let _ = up_tx.send(pack);
    }
    drop(up_tx);
    if uploader.join().is_err() {
        record_error(
            error,
            abort,
            VaultError::Internal {
                detail: "the upload thread panicked".into(),
            },
        );
    }
}

/// Writes a pack, then its index: an index never names a pack that is not durable.
fn upload(vault: &Vault, pack: &PackBuilder) -> Result<(), VaultError> {
    let store = &vault.inner.store;
    store.put(&format!("packs/{}", pack.name), &pack.data)?;
    let index = pack.index();
    store.put(
        &crate::pack::PackIndex::object_name(&pack.name),
        &index.encode(&vault.inner.keys),
    )?;
    Ok(())
}

/// Checks a caller-supplied stream path: relative, no empty, `.` or `..` parts.
fn validate_stream_path(path: &str) -> Result<(), VaultError> {
    let reason = if path.is_empty() {
        Some("it is empty")
    } else if path.starts_with('/') {
        Some("it is absolute")
    } else if path
        .split('/')
        .any(|c| c.is_empty() || c == "." || c == "..")
    {
        Some("it has an empty, '.' or '..' component")
    } else if path.contains('\0') {
        Some("it contains a NUL byte")
    } else {
        None
    };
    match reason {
        Some(r) => Err(VaultError::InvalidStreamPath {
            path: path.into(),
            reason: r.into(),
        }),
        None => Ok(()),
    }
}

impl SnapshotWriter {
    pub(crate) fn new(
        vault: &Vault,
        kind: &str,
        meta: serde_json::Value,
        parent: Option<String>,
        progress: Option<Arc<dyn Progress>>,
    ) -> Result<SnapshotWriter, VaultError> {
        // The lease comes first: from here on gc cannot delete what the index shows us.
        let lease = Lease::acquire(&vault.inner.store, Role::Backup)?;
        let index = vault.load_index()?;
        let known: HashSet<ChunkId> = index.chunks.keys().copied().collect();
        let created = Utc::now();
        Ok(SnapshotWriter {
            vault: vault.clone(),
            id: snapshot_id::generate(created),
            created,
            kind: kind.to_string(),
            meta,
            parent,
            entries: Vec::new(),
            paths: HashSet::new(),
            known,
            chunker: Chunker::new(vault.inner.config.chunker, vault.inner.keys.chunker_seed),
            pipeline: Pipeline::start(vault)?,
            progress,
            started: Instant::now(),
            counters: Counters::default(),
            _lease: lease,
        })
    }

    /// The id the snapshot will have once committed.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Stores everything `data` yields as one file entry at `path` (mode 0600,
    /// modified now). Used for database dump streams.
    pub fn add_stream(
        &mut self,
        path: &str,
        data: &mut dyn Read,
    ) -> Result<StreamStats, VaultError> {
        validate_stream_path(path)?;
        if self.paths.contains(path.as_bytes()) {
            return Err(VaultError::DuplicatePath { path: path.into() });
        }
        let tracker = Arc::new(Tracker::default());
        let new_before = self.counters.bytes_new;
        let (chunks, bytes) = self.chunk_source(data, Some(&tracker)).map_err(|e| {
            e.into_vault_error(|source| VaultError::Io {
                action: "read stream",
                path: path.into(),
                source,
            })
        })?;
        {
            let mut pending = tracker.pending.lock().expect("tracker");
            while *pending > 0 && !self.pipeline.abort.load(Ordering::SeqCst) {
                pending = tracker
                    .done
                    .wait_timeout(pending, std::time::Duration::from_millis(100))
                    .expect("tracker")
                    .0;
            }
        }
        if self.pipeline.abort.load(Ordering::SeqCst) {
            return Err(self.pipeline.take_error());
        }
        let now = Utc::now();
        self.push_entry(Entry {
            path: ByteBuf::from(path.as_bytes().to_vec()),
            kind: KIND_FILE,
            mode: 0o600,
            uid: 0,
            gid: 0,
            mtime: now.timestamp(),
            mtime_ns: now.timestamp_subsec_nanos(),
            ctime: now.timestamp(),
            ctime_ns: now.timestamp_subsec_nanos(),
            ino: 0,
            size: bytes,
            target: None,
            chunks,
        });
        Ok(StreamStats {
            bytes,
            new_bytes: self.counters.bytes_new - new_before,
            stored_bytes: tracker.stored.load(Ordering::Relaxed),
        })
    }

    /// Chunks one file's content into the pipeline; returns its chunk list and length.
    pub(crate) fn chunk_file(
        &mut self,
        source: &mut dyn Read,
    ) -> Result<(Vec<ChunkRef>, u64), ChunkError> {
        self.chunk_source(source, None)
    }

    fn chunk_source(
        &mut self,
        source: &mut dyn Read,
        tracker: Option<&Arc<Tracker>>,
    ) -> Result<(Vec<ChunkRef>, u64), ChunkError> {
        let mut refs = Vec::new();
        let keys = self.vault.inner.keys.clone();
        let (known, pipeline, counters, progress) = (
            &mut self.known,
            &self.pipeline,
            &mut self.counters,
            &self.progress,
        );
        let total = self.chunker.chunk::<ChunkError>(source, |chunk| {
            let id = keys.chunk_id(chunk);
            refs.push(ChunkRef::new(id, chunk.len()));
            counters.bytes_read += chunk.len() as u64;
            if known.insert(id) {
                counters.bytes_new += chunk.len() as u64;
                counters.chunks_new += 1;
                if let Some(t) = tracker {
                    *t.pending.lock().expect("tracker") += 1;
                }
                pipeline
                    .send(Job {
                        id,
                        data: chunk.to_vec(),
                        kind: ChunkKind::Data,
                        tracker: tracker.cloned(),
                    })
                    .map_err(ChunkError::Vault)?;
            }
            if let Some(p) = progress {
                p.advance(chunk.len() as u64);
            }
            Ok(())
        })?;
        Ok((refs, total))
    }

    /// True when every chunk is already in the vault (so a parent's list can be reused).
    pub(crate) fn all_known(&self, chunks: &[ChunkRef]) -> bool {
        chunks.iter().all(|c| self.known.contains(&c.id()))
    }

    pub(crate) fn progress(&self) -> Option<&Arc<dyn Progress>> {
        self.progress.as_ref()
    }

    pub(crate) fn push_entry(&mut self, entry: Entry) {
        self.paths.insert(entry.path.to_vec());
        self.entries.push(entry);
    }

    /// Stores the tree, waits for every upload, then writes the manifest — the
    /// moment the snapshot exists.
    pub fn commit(mut self) -> Result<SnapshotSummary, VaultError> {
        self.entries.sort_unstable_by(|a, b| a.path.cmp(&b.path));
        let tree_bytes = encode_tree(&self.entries);
        let mut tree = Vec::new();
        let keys = self.vault.inner.keys.clone();
        let (known, pipeline) = (&mut self.known, &self.pipeline);
        self.chunker
            .chunk::<ChunkError>(&mut tree_bytes.as_slice(), |chunk| {
                let id = keys.chunk_id(chunk);
                tree.push(ChunkRef::new(id, chunk.len()));
                if known.insert(id) {
                    pipeline
                        .send(Job {
                            id,
                            data: chunk.to_vec(),
                            kind: ChunkKind::Tree,
                            tracker: None,
                        })
                        .map_err(ChunkError::Vault)?;
                }
                Ok(())
            })
            .map_err(|e| {
                e.into_vault_error(|source| VaultError::Internal {
                    detail: format!("reading the tree from memory: {source}"),
                })
            })?;
        drop(tree_bytes);
        self.pipeline.finish()?;

        let stats = self.stats();
        let manifest = Manifest {
            version: 1,
            id: self.id.clone(),
            kind: self.kind.clone(),
            created: self
                .created
                .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
            parent: self.parent.clone(),
            meta: serde_json::to_string(&self.meta).expect("JSON values serialize"),
            tree,
            stats: stats.clone(),
        };
        let store = &self.vault.inner.store;
        if !store.put_if_absent(
            &Manifest::object_name(&self.id),
            &manifest.encode(&self.vault.inner.keys),
        )? {
            return Err(VaultError::Internal {
                detail: format!("snapshot id {} was already taken", self.id),
            });
        }
        let c = self.counters.clone();
        Ok(SnapshotSummary {
            id: self.id.clone(),
            created: self.created,
            files: stats.files,
            dirs: stats.dirs,
            symlinks: stats.symlinks,
            bytes: stats.bytes,
            bytes_read: c.bytes_read,
            bytes_new: c.bytes_new,
            bytes_stored: self.pipeline.stored.load(Ordering::Relaxed),
            chunks_new: c.chunks_new,
            files_unchanged: c.files_unchanged,
            skipped: c.skipped,
            duration_secs: self.started.elapsed().as_secs_f64(),
        })
    }

    fn stats(&self) -> SnapshotStats {
        let mut s = SnapshotStats::default();
        for e in &self.entries {
            match e.kind {
                KIND_FILE => {
                    s.files += 1;
                    s.bytes += e.size;
                    s.chunks += e.chunks.len() as u64;
                }
                KIND_DIR => s.dirs += 1,
                KIND_SYMLINK => s.symlinks += 1,
                _ => {}
            }
        }
        s
    }
}

/// A chunking failure: reading the source, or the pipeline behind it.
#[derive(Debug)]
pub(crate) enum ChunkError {
    Read(std::io::Error),
    Vault(VaultError),
}

impl From<std::io::Error> for ChunkError {
    fn from(e: std::io::Error) -> Self {
        ChunkError::Read(e)
    }
}

impl ChunkError {
    pub(crate) fn into_vault_error(
        self,
        on_read: impl FnOnce(std::io::Error) -> VaultError,
    ) -> VaultError {
        match self {
            ChunkError::Read(e) => on_read(e),
            ChunkError::Vault(e) => e,
        }
    }
}

/// Parent entries by path, for incremental backups.
pub(crate) type ParentMap = HashMap<Vec<u8>, Entry>;
