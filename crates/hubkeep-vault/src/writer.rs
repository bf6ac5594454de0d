//! Writing a snapshot: chunk, then hash, deduplicate, compress, seal and pack
//! on worker threads, upload packs and their indexes, and commit with a manifest.
//!
//! Threads and bounded queues:
//! read-ahead (files into pooled 8 MiB blocks, see [`crate::readahead`]) →
//! caller (cut chunks: ranges of the blocks, no copy) → workers ×N (keyed
//! BLAKE3, "already known?", compress, seal) → packer (fill a 16 MiB pack) →
//! uploads (write pack, then its index; see [`hubkeep_store::Uploads`]: one
//! at a time to a directory, three to S3). The block pool, the packs being
//! filled, handed over and uploaded (three, five on S3) and a handful of
//! sealed chunks are all the data in memory at once.
//!
//! Determinism: the caller cuts chunks in file order and each chunk's id lands
//! in its own slot, so the tree does not depend on which worker hashed what;
//! the "already known" set is shared, so a chunk is stored once per vault
//! whichever worker sees it first.

use std::collections::{HashSet, VecDeque};
use std::io::Read;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::Instant;

use chrono::{DateTime, Utc};
use serde_bytes::ByteBuf;

use crate::chunker::{Chunker, Cut};
use crate::crypto::{ChunkId, VaultKeys};
use crate::index::{self, IdTable, IndexMap};
use crate::lease::{Lease, Role};
use crate::manifest::{ChunkRef, Entry, Manifest, SnapshotStats, KIND_FILE};
use crate::pack::{ChunkKind, PackBuilder};
use crate::readahead::{Block, BlockPool, BLOCK_SIZE};
use crate::tree::TreeStream;
use crate::{blob, snapshot_id, Progress, SnapshotSummary, StreamStats, Vault, VaultError};
use hubkeep_store::Uploads;

/// Builds one snapshot. Nothing is visible until [`SnapshotWriter::commit`];
/// dropping the writer abandons it (completed packs stay for reuse).
pub struct SnapshotWriter {
    vault: Vault,
    id: String,
    created: DateTime<Utc>,
    kind: String,
    meta: serde_json::Value,
    parent: Option<String>,
    /// The parent's tree, for a backup to merge with its walk.
    parent_tree: Option<TreeStream>,
    entries: Entries,
    tree: TreeOut,
    /// The chunks of the file being fed.
    current: Vec<Pending>,
    chunker: Chunker,
    pool: Arc<BlockPool>,
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
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Default, Clone)]
pub(crate) struct Counters {
    pub bytes_read: u64,
    pub files_unchanged: u64,
    pub skipped: Vec<String>,
    pub special_files: Vec<crate::SpecialFile>,
}

/// Blocks in the pool: one being read, one queued, one being cut, one held
/// by chunks still in the workers.
const POOL_BLOCKS: usize = 4;

/// A chunk's id, once a worker has hashed it.
type Slot = Arc<OnceLock<ChunkId>>;

/// A chunk cut but maybe not hashed yet.
struct Pending {
    slot: Slot,
    len: usize,
}

impl Pending {
    fn resolve(&self) -> ChunkRef {
        ChunkRef::new(*self.slot.get().expect("every job was hashed"), self.len)
    }
}

/// Completion tracking for a set of chunks (the whole snapshot, or one stream).
#[derive(Default)]
struct Tracker {
    pending: Mutex<u64>,
    done: Condvar,
    new_bytes: AtomicU64,
    new_chunks: AtomicU64,
    stored: AtomicU64,
}

impl Tracker {
    fn add(&self) {
        *self.pending.lock().expect("tracker") += 1;
    }

    /// One chunk done; `new`: (plaintext, sealed) length when it was stored.
    /// Tree chunks count in stored bytes only, like the manifest's own bytes.
    fn finish(&self, new: Option<(usize, usize)>, kind: ChunkKind) {
        if let Some((raw, sealed)) = new {
            if kind == ChunkKind::Data {
                self.new_bytes.fetch_add(raw as u64, Ordering::Relaxed);
                self.new_chunks.fetch_add(1, Ordering::Relaxed);
            }
            self.stored.fetch_add(sealed as u64, Ordering::Relaxed);
        }
        let mut pending = self.pending.lock().expect("tracker");
        *pending -= 1;
        if *pending == 0 {
            self.done.notify_all();
        }
    }

    /// Waits until every chunk added so far is hashed (and sealed if new).
    fn wait(&self, abort: &AtomicBool) {
        let mut pending = self.pending.lock().expect("tracker");
        while *pending > 0 && !abort.load(Ordering::SeqCst) {
            pending = self
                .done
                .wait_timeout(pending, std::time::Duration::from_millis(100))
                .expect("tracker")
                .0;
        }
    }
}

/// A chunk's bytes: a range of a shared block, or a copy.
enum ChunkData {
    Shared(Arc<Block>, Range<usize>),
    Owned(Vec<u8>),
}

impl ChunkData {
    fn bytes(&self) -> &[u8] {
        match self {
            ChunkData::Shared(block, range) => &block.bytes()[range.clone()],
            ChunkData::Owned(v) => v,
        }
    }
}

struct Job {
    data: ChunkData,
    slot: Slot,
    kind: ChunkKind,
    stream: Option<Arc<Tracker>>,
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
    /// Every chunk of the snapshot.
    all: Arc<Tracker>,
    known: KnownChunks,
}

/// Chunk ids in the vault or already stored by this writer.
#[derive(Clone)]
pub(crate) struct KnownChunks {
    /// What the indexes listed when the writer started: 32 bytes an id,
    /// read without a lock.
    vault: Arc<IdTable<()>>,
    /// Stored by this writer.
    stored: Arc<Mutex<HashSet<ChunkId>>>,
}

impl KnownChunks {
    fn new(vault: IdTable<()>) -> KnownChunks {
        KnownChunks {
            vault: Arc::new(vault),
            stored: Arc::default(),
        }
    }

    /// True when every chunk is already in the vault (so a parent's list can be reused).
    pub fn contain_all(&self, chunks: &[ChunkRef]) -> bool {
        let mut ids = chunks.iter().map(ChunkRef::id);
        let stored = self.stored.lock().expect("known chunks");
        ids.all(|id| self.vault.contains(&id) || stored.contains(&id))
    }

    /// True when `id` was not known before (the caller stores it).
    fn insert(&self, id: ChunkId) -> bool {
        !self.vault.contains(&id) && self.stored.lock().expect("known chunks").insert(id)
    }
}

fn record_error(slot: &Mutex<Option<VaultError>>, abort: &AtomicBool, e: VaultError) {
    slot.lock().expect("error slot").get_or_insert(e);
    abort.store(true, Ordering::SeqCst);
}

impl Pipeline {
    fn start(vault: &Vault, known: IdTable<()>) -> Result<Pipeline, VaultError> {
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
            .clamp(2, 8);
        let (work_tx, work_rx) = mpsc::sync_channel::<Job>(2 * threads);
        let (sealed_tx, sealed_rx) = mpsc::sync_channel::<Sealed>(threads);
        let abort = Arc::new(AtomicBool::new(false));
        let error = Arc::new(Mutex::new(None));
        let all = Arc::new(Tracker::default());
        let known = KnownChunks::new(known);
        let work_rx = Arc::new(Mutex::new(work_rx));
        let spawn_err = |e: std::io::Error| VaultError::Internal {
            detail: format!("cannot start a worker thread: {e}"),
        };
        let mut workers = Vec::new();
        for i in 0..threads {
            let rx = work_rx.clone();
            let tx = sealed_tx.clone();
            let keys = vault.inner.keys.clone();
            let (all, known) = (all.clone(), known.clone());
            workers.push(
                std::thread::Builder::new()
                    .name(format!("hubkeep-seal-{i}"))
                    .spawn(move || seal_worker(&keys, &rx, &tx, &known, &all))
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
            all,
            known,
        })
    }

    /// Queues one chunk for hashing; returns the slot its id will land in.
    fn send(
        &self,
        data: ChunkData,
        kind: ChunkKind,
        stream: Option<&Arc<Tracker>>,
    ) -> Result<Slot, VaultError> {
        let slot = Slot::default();
        self.all.add();
        if let Some(t) = stream {
            t.add();
        }
        let job = Job {
            data,
            slot: slot.clone(),
            kind,
            stream: stream.cloned(),
        };
        let sent = self.work.as_ref().expect("pipeline open").send(job);
        if sent.is_err() || self.abort.load(Ordering::SeqCst) {
            return Err(self.take_error());
        }
        Ok(slot)
    }

    /// Waits until every chunk of `tracker` is hashed.
    fn wait(&self, tracker: &Tracker) -> Result<(), VaultError> {
        tracker.wait(&self.abort);
        if self.abort.load(Ordering::SeqCst) {
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
    known: &KnownChunks,
    all: &Tracker,
) {
    loop {
        let job = match rx.lock().expect("work queue").recv() {
            Ok(job) => job,
            Err(_) => return,
        };
        let data = job.data.bytes();
        let id = keys.chunk_id(data);
        job.slot.set(id).expect("each slot is filled once");
        let new = known.insert(id);
        let sealed = new.then(|| Sealed {
            id,
            sealed: blob::encode(keys, &id, data),
            raw_len: data.len(),
            kind: job.kind,
        });
        // Release the block before waiting on the packer.
        drop(job.data);
        let counts = sealed.as_ref().map(|s| (s.raw_len, s.sealed.len()));
        all.finish(counts, job.kind);
        if let Some(t) = &job.stream {
            t.finish(counts, job.kind);
        }
        if let Some(s) = sealed {
            if tx.send(s).is_err() {
                return;
            }
        }
    }
}

fn packer(
    vault: &Vault,
    rx: Receiver<Sealed>,
    abort: &Arc<AtomicBool>,
    error: &Arc<Mutex<Option<VaultError>>>,
) {
    // The packer fills the next pack while earlier ones upload (three at
    // once to S3); the flush at the end is the barrier before the manifest.
    let uploads = match Uploads::start(vault.inner.store.clone()) {
        Ok(u) => u,
        Err(e) => return record_error(error, abort, e.into()),
    };
    let mut pack = PackBuilder::new();
    for s in rx {
        if abort.load(Ordering::SeqCst) {
            continue;
        }
        pack.push(&s.id, &s.sealed, s.raw_len, s.kind);
        if pack.is_full() {
            let full = std::mem::replace(&mut pack, PackBuilder::new());
            if let Err(e) = uploads.submit(pack_and_index(vault, full)) {
                record_error(error, abort, e.into());
            }
        }
    }
    if !pack.is_empty() && !abort.load(Ordering::SeqCst) {
        if let Err(e) = uploads.submit(pack_and_index(vault, pack)) {
            record_error(error, abort, e.into());
        }
    }
    if let Err(e) = uploads.flush() {
        record_error(error, abort, e.into());
    }
}

/// A pack, then its index: the uploads write the index only once the pack
/// is durable, so an index never names a pack that is not.
fn pack_and_index(vault: &Vault, pack: PackBuilder) -> Vec<(String, Vec<u8>)> {
    let index = pack.index().encode(&vault.inner.keys);
    let index_name = crate::pack::PackIndex::object_name(&pack.name);
    vec![
        (format!("packs/{}", pack.name), pack.data),
        (index_name, index),
    ]
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

/// How entries reach a writer.
pub(crate) enum Order {
    /// In strictly increasing path order (a backup's walk): each entry goes
    /// into the tree as soon as its chunks are hashed.
    Sorted,
    /// In any order (named streams, crafted trees): kept, sorted at commit.
    Any,
}

/// The entries not yet handed to the tree.
enum Entries {
    Sorted {
        last: Option<Vec<u8>>,
        /// The first path that came out of order (a bug of the caller).
        misordered: Option<Vec<u8>>,
    },
    Any {
        entries: Vec<(Entry, Option<Vec<Pending>>)>,
        paths: HashSet<Vec<u8>>,
    },
}

impl SnapshotWriter {
    /// A writer whose snapshot records `parent`; the parent's tree is then
    /// ready to stream with [`SnapshotWriter::take_parent_tree`].
    pub(crate) fn new(
        vault: &Vault,
        kind: &str,
        meta: serde_json::Value,
        parent: Option<String>,
        progress: Option<Arc<dyn Progress>>,
        order: Order,
    ) -> Result<SnapshotWriter, VaultError> {
        // The lease comes first: from here on gc cannot delete what the index shows us.
        let lease = Lease::acquire(&vault.inner.store, Role::Backup)?;
        let parent_manifest = parent
            .as_deref()
            .map(|id| vault.load_manifest(id))
            .transpose()?;
        let wanted: HashSet<ChunkId> = parent_manifest
            .iter()
            .flat_map(|m| m.tree.iter().map(ChunkRef::id))
            .collect();
        // One pass over the indexes: every chunk id (to skip known chunks),
        // and the places of the parent's tree chunks only.
        let mut known = Vec::new();
        let mut tree_indexes = Vec::new();
        index::scan(&vault.inner.store, &vault.inner.keys, |name, decoded| {
            if let Ok(mut index) = decoded {
                known.extend(index.chunks.iter().map(|e| (e.id(), ())));
                index.chunks.retain(|e| wanted.contains(&e.id()));
                index.refused.clear();
                if !index.chunks.is_empty() {
                    tree_indexes.push((name, index));
                }
            }
        })?;
        let mut tree_index = IndexMap::default();
        for (_, index) in tree_indexes {
            tree_index.add(index);
        }
        let tree_index = Arc::new(tree_index.sorted());
        let parent_tree = parent_manifest.map(|m| TreeStream::open(vault, &m, tree_index));
        let created = Utc::now();
        let new_chunker =
            || Chunker::new(vault.inner.config.chunker, vault.inner.keys.chunker_seed);
        Ok(SnapshotWriter {
            vault: vault.clone(),
            id: snapshot_id::generate(created),
            created,
            kind: kind.to_string(),
            meta,
            parent,
            parent_tree,
            entries: match order {
                Order::Sorted => Entries::Sorted {
                    last: None,
                    misordered: None,
                },
                Order::Any => Entries::Any {
                    entries: Vec::new(),
                    paths: HashSet::new(),
                },
            },
            tree: TreeOut {
                waiting: VecDeque::new(),
                encoded: Vec::new(),
                chunker: new_chunker(),
                chunks: Vec::new(),
                stats: SnapshotStats::default(),
            },
            current: Vec::new(),
            chunker: new_chunker(),
            pool: BlockPool::new(POOL_BLOCKS, BLOCK_SIZE),
            pipeline: Pipeline::start(
                vault,
                IdTable::new(known, |_, _| std::cmp::Ordering::Equal),
            )?,
            progress,
            started: Instant::now(),
            counters: Counters::default(),
            _lease: lease,
        })
    }

    /// Dates the snapshot `at` instead of the system clock's now (its id
    /// carries the time too): the caller's clock decides every time it
    /// records. Call before anything is written.
    pub fn at(mut self, at: DateTime<Utc>) -> SnapshotWriter {
        self.created = at;
        self.id = snapshot_id::generate(at);
        self
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
        if let Entries::Any { paths, .. } = &self.entries {
            if paths.contains(path.as_bytes()) {
                return Err(VaultError::DuplicatePath { path: path.into() });
            }
        }
        let tracker = Arc::new(Tracker::default());
        let bytes = self.chunk_stream(data, &tracker).map_err(|e| {
            e.into_vault_error(|source| VaultError::Io {
                action: "read stream",
                path: path.into(),
                source,
            })
        })?;
        self.pipeline.wait(&tracker)?;
        let chunks = std::mem::take(&mut self.current)
            .iter()
            .map(Pending::resolve)
            .collect();
        let now = self.created;
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
        })?;
        Ok(StreamStats {
            bytes,
            new_bytes: tracker.new_bytes.load(Ordering::Relaxed),
            stored_bytes: tracker.stored.load(Ordering::Relaxed),
        })
    }

    /// Reads a stream into pool blocks on this thread and feeds them to the
    /// chunker; the chunks are left in `self.current`.
    fn chunk_stream(
        &mut self,
        source: &mut dyn Read,
        tracker: &Arc<Tracker>,
    ) -> Result<u64, ChunkError> {
        self.begin_file();
        let never = AtomicBool::new(false);
        let mut total = 0;
        loop {
            let mut block = self.pool.take(&never).expect("never stopped");
            let eof = block.fill_from(source)?;
            let len = block.len();
            total += len as u64;
            self.feed(&block.freeze(), 0..len, eof, Some(tracker))
                .map_err(ChunkError::Vault)?;
            if eof {
                return Ok(total);
            }
        }
    }

    /// The block pool that read-ahead for this writer fills.
    pub(crate) fn pool(&self) -> Arc<BlockPool> {
        self.pool.clone()
    }

    /// Starts a new file: what [`SnapshotWriter::feed`] gets next is its content.
    pub(crate) fn begin_file(&mut self) {
        self.chunker.reset();
        self.current.clear();
    }

    /// Cuts the next bytes of the current file into chunks and queues them.
    pub(crate) fn feed_file(
        &mut self,
        block: &Arc<Block>,
        range: Range<usize>,
        last: bool,
    ) -> Result<(), VaultError> {
        self.feed(block, range, last, None)
    }

    fn feed(
        &mut self,
        block: &Arc<Block>,
        range: Range<usize>,
        last: bool,
        stream: Option<&Arc<Tracker>>,
    ) -> Result<(), VaultError> {
        let piece = &block.bytes()[range.clone()];
        let (pipeline, current, counters, progress) = (
            &self.pipeline,
            &mut self.current,
            &mut self.counters,
            &self.progress,
        );
        self.chunker.feed(piece, last, |cut| {
            let data = match cut {
                Cut::Shared(r) => {
                    ChunkData::Shared(block.clone(), range.start + r.start..range.start + r.end)
                }
                Cut::Owned(v) => ChunkData::Owned(v),
            };
            let len = data.bytes().len();
            let slot = pipeline.send(data, ChunkKind::Data, stream)?;
            current.push(Pending { slot, len });
            counters.bytes_read += len as u64;
            if let Some(p) = progress {
                p.advance(len as u64);
            }
            Ok(())
        })
    }

    /// Ends the current file: `entry` gets its chunks (and its size, their
    /// sum) once they are hashed.
    pub(crate) fn end_file(&mut self, entry: Entry) -> Result<(), VaultError> {
        let chunks = std::mem::take(&mut self.current);
        self.add(entry, Some(chunks))
    }

    /// Chunk ids already in the vault, shared with the workers.
    pub(crate) fn known(&self) -> KnownChunks {
        self.pipeline.known.clone()
    }

    /// The parent snapshot's tree, once.
    pub(crate) fn take_parent_tree(&mut self) -> Option<TreeStream> {
        self.parent_tree.take()
    }

    pub(crate) fn progress(&self) -> Option<&Arc<dyn Progress>> {
        self.progress.as_ref()
    }

    /// Adds an entry whose chunks are all known.
    pub(crate) fn push_entry(&mut self, entry: Entry) -> Result<(), VaultError> {
        self.add(entry, None)
    }

    fn add(&mut self, entry: Entry, pending: Option<Vec<Pending>>) -> Result<(), VaultError> {
        match &mut self.entries {
            Entries::Sorted { last, misordered } => {
                if last.as_deref().is_some_and(|l| l >= entry.path.as_slice()) {
                    misordered.get_or_insert_with(|| entry.path.to_vec());
                }
                *last = Some(entry.path.to_vec());
                self.tree.push(entry, pending, &self.pipeline)
            }
            Entries::Any { entries, paths } => {
                paths.insert(entry.path.to_vec());
                entries.push((entry, pending));
                Ok(())
            }
        }
    }

    /// Stores the tree, waits for every upload, then writes the manifest — the
    /// moment the snapshot exists.
    pub fn commit(mut self) -> Result<SnapshotSummary, VaultError> {
        let tree = self.store_tree()?;
        let stats = self.tree.stats.clone();
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
        let all = &self.pipeline.all;
        Ok(SnapshotSummary {
            id: self.id.clone(),
            created: self.created,
            files: stats.files,
            dirs: stats.dirs,
            symlinks: stats.symlinks,
            bytes: stats.bytes,
            bytes_read: c.bytes_read,
            bytes_new: all.new_bytes.load(Ordering::Relaxed),
            bytes_stored: all.stored.load(Ordering::Relaxed),
            chunks_new: all.new_chunks.load(Ordering::Relaxed),
            files_unchanged: c.files_unchanged,
            skipped: c.skipped,
            special_files: c.special_files,
            duration_secs: self.started.elapsed().as_secs_f64(),
        })
    }

    /// Stores the rest of the tree and waits for every upload; returns the
    /// tree's chunk references.
    pub(crate) fn store_tree(&mut self) -> Result<Vec<ChunkRef>, VaultError> {
        self.pipeline.wait(&self.pipeline.all)?;
        match &mut self.entries {
            Entries::Sorted { misordered, .. } => {
                if let Some(path) = misordered {
                    return Err(VaultError::Internal {
                        detail: format!(
                            "the entry {:?} came out of path order",
                            String::from_utf8_lossy(path)
                        ),
                    });
                }
            }
            Entries::Any { entries, .. } => {
                let mut entries = std::mem::take(entries);
                entries.sort_unstable_by(|a, b| a.0.path.cmp(&b.0.path));
                for (entry, pending) in entries {
                    self.tree.push(entry, pending, &self.pipeline)?;
                }
            }
        }
        self.tree.finish(&self.pipeline)?;
        self.pipeline.finish()?;
        Ok(self.tree.chunks.iter().map(Pending::resolve).collect())
    }
}

/// The tree being written. Entries arrive in path order and are encoded as
/// soon as their chunks are hashed; the encoded bytes are cut into tree
/// chunks a block at a time, so the tree is never whole in memory. The cuts
/// are those of cutting the whole tree at once (see [`Chunker`]), so an
/// unchanged tree gives the same chunks.
struct TreeOut {
    /// Entries whose chunks are still being hashed, and those behind them.
    waiting: VecDeque<(Entry, Option<Vec<Pending>>)>,
    encoded: Vec<u8>,
    chunker: Chunker,
    chunks: Vec<Pending>,
    stats: SnapshotStats,
}

impl TreeOut {
    fn push(
        &mut self,
        entry: Entry,
        pending: Option<Vec<Pending>>,
        pipeline: &Pipeline,
    ) -> Result<(), VaultError> {
        self.waiting.push_back((entry, pending));
        self.encode_ready(pipeline)
    }

    /// Encodes the entries at the front whose chunks are hashed.
    fn encode_ready(&mut self, pipeline: &Pipeline) -> Result<(), VaultError> {
        while let Some((_, pending)) = self.waiting.front() {
            let hashed = pending.iter().flatten().all(|p| p.slot.get().is_some());
            if !hashed {
                break;
            }
            let (mut entry, pending) = self.waiting.pop_front().expect("a front entry");
            if let Some(pending) = pending {
                entry.chunks = pending.iter().map(Pending::resolve).collect();
                entry.size = entry.chunks.iter().map(ChunkRef::len).sum();
            }
            self.stats.add(&entry);
            ciborium::into_writer(&entry, &mut self.encoded).expect("entry serializes");
            if self.encoded.len() >= BLOCK_SIZE {
                self.cut(pipeline, false)?;
            }
        }
        Ok(())
    }

    /// Cuts the encoded bytes into tree chunks and queues them; `last`: the
    /// tree ends with them.
    fn cut(&mut self, pipeline: &Pipeline, last: bool) -> Result<(), VaultError> {
        let block = Block::unpooled(std::mem::take(&mut self.encoded));
        let chunks = &mut self.chunks;
        self.chunker.feed::<VaultError>(block.bytes(), last, |cut| {
            let data = match cut {
                Cut::Shared(r) => ChunkData::Shared(block.clone(), r),
                Cut::Owned(v) => ChunkData::Owned(v),
            };
            let len = data.bytes().len();
            chunks.push(Pending {
                slot: pipeline.send(data, ChunkKind::Tree, None)?,
                len,
            });
            Ok(())
        })
    }

    /// Encodes the last entries (every chunk is hashed by now) and cuts the rest.
    fn finish(&mut self, pipeline: &Pipeline) -> Result<(), VaultError> {
        self.encode_ready(pipeline)?;
        if !self.waiting.is_empty() {
            return Err(VaultError::Internal {
                detail: "a file's chunks were not hashed at the end of the backup".into(),
            });
        }
        self.cut(pipeline, true)
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
