//! Reading ahead: files are read on their own thread into a small pool of
//! fixed-size blocks, so disk reads overlap chunking and hashing.
//!
//! Small files are read back to back into one block; a big file fills block
//! after block. The blocks are shared read-only with the chunk jobs that point
//! into them and go back to the pool when the last job is done, so the pool
//! size bounds the memory that data in flight can take.

use std::fs::File;
use std::io::{self, Read};
use std::ops::Range;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::VaultError;

/// Bytes per block: a few chunks of the default 1 MiB average.
pub(crate) const BLOCK_SIZE: usize = 4 * 1024 * 1024;

/// A fixed number of reusable buffers.
pub(crate) struct BlockPool {
    free: Mutex<PoolState>,
    returned: Condvar,
    size: usize,
}

struct PoolState {
    buffers: Vec<Vec<u8>>,
    /// Buffers that may still be created.
    unborn: usize,
}

impl BlockPool {
    pub fn new(count: usize, size: usize) -> Arc<BlockPool> {
        Arc::new(BlockPool {
            free: Mutex::new(PoolState {
                buffers: Vec::new(),
                unborn: count,
            }),
            returned: Condvar::new(),
            size,
        })
    }

    /// Waits for a free buffer; `None` once `stop` is set.
    pub fn take(self: &Arc<Self>, stop: &AtomicBool) -> Option<BlockBuf> {
        let mut state = self.free.lock().expect("block pool");
        loop {
            if stop.load(Ordering::SeqCst) {
                return None;
            }
            if let Some(buf) = state.buffers.pop() {
                return Some(BlockBuf::new(buf, self));
            }
            if state.unborn > 0 {
                state.unborn -= 1;
                return Some(BlockBuf::new(vec![0; self.size], self));
            }
            state = self
                .returned
                .wait_timeout(state, Duration::from_millis(50))
                .expect("block pool")
                .0;
        }
    }

    fn give_back(&self, buf: Vec<u8>) {
        self.free.lock().expect("block pool").buffers.push(buf);
        self.returned.notify_one();
    }
}

/// A block being filled: `data[..len]` holds bytes.
pub(crate) struct BlockBuf {
    data: Vec<u8>,
    len: usize,
    pool: Option<Arc<BlockPool>>,
}

impl BlockBuf {
    fn new(data: Vec<u8>, pool: &Arc<BlockPool>) -> Self {
        BlockBuf {
            data,
            len: 0,
            pool: Some(pool.clone()),
        }
    }

    /// Room left.
    pub fn spare(&mut self) -> &mut [u8] {
        &mut self.data[self.len..]
    }

    pub fn is_full(&self) -> bool {
        self.len == self.data.len()
    }

    /// Reads from `source` until the block is full or the source ends; true at the end.
    pub fn fill_from(&mut self, source: &mut dyn Read) -> io::Result<bool> {
        while !self.is_full() {
            match source.read(self.spare()) {
                Ok(0) => return Ok(true),
                Ok(n) => self.len += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(false)
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn freeze(mut self) -> Arc<Block> {
        Arc::new(Block {
            data: std::mem::take(&mut self.data),
            len: self.len,
            pool: self.pool.take(),
        })
    }
}

impl Drop for BlockBuf {
    fn drop(&mut self) {
        if let Some(pool) = self.pool.take() {
            pool.give_back(std::mem::take(&mut self.data));
        }
    }
}

/// Filled, read-only bytes; back to the pool when the last reference goes.
pub(crate) struct Block {
    data: Vec<u8>,
    len: usize,
    pool: Option<Arc<BlockPool>>,
}

impl Block {
    /// Bytes that belong to no pool (the tree, at commit).
    pub fn unpooled(data: Vec<u8>) -> Arc<Block> {
        Arc::new(Block {
            len: data.len(),
            data,
            pool: None,
        })
    }

    pub fn bytes(&self) -> &[u8] {
        &self.data[..self.len]
    }
}

impl Drop for Block {
    fn drop(&mut self) {
        if let Some(pool) = self.pool.take() {
            pool.give_back(std::mem::take(&mut self.data));
        }
    }
}

/// What the read-ahead thread reports about the files it was given, in order.
pub(crate) enum ReadEvent {
    /// The next bytes of file `file` (an index into the list given to
    /// [`ReadAhead::start`]); `last` when the file ends with them.
    Data {
        file: usize,
        block: Arc<Block>,
        range: Range<usize>,
        last: bool,
    },
    /// The file vanished before it could be opened.
    Vanished { file: usize },
    /// Opening or reading failed.
    Failed {
        file: usize,
        action: &'static str,
        error: io::Error,
    },
}

/// The read-ahead thread and the events it sends.
pub(crate) struct ReadAhead {
    events: Option<Receiver<Vec<ReadEvent>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl ReadAhead {
    /// Starts reading the files `files` yields, in order, into blocks of
    /// `pool`: paths and their sizes when listed. Files come as the walk
    /// finds them; the reading ends when the sender is dropped.
    pub fn start(
        files: Receiver<(PathBuf, u64)>,
        pool: Arc<BlockPool>,
    ) -> Result<ReadAhead, VaultError> {
        let (tx, rx) = mpsc::sync_channel::<Vec<ReadEvent>>(1);
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("hubkeep-read".into())
                .spawn(move || {
                    let mut prefetch = Prefetch::new(files);
                    read_files(&mut prefetch, &pool, &stop, |batch| tx.send(batch).is_ok())
                })
                .map_err(|e| VaultError::Internal {
                    detail: format!("cannot start the read-ahead thread: {e}"),
                })?
        };
        Ok(ReadAhead {
            events: Some(rx),
            stop,
            thread: Some(thread),
        })
    }

    /// The next batch of events; `None` when every file was reported.
    pub fn next_batch(&self) -> Option<Vec<ReadEvent>> {
        self.events.as_ref().expect("open").recv().ok()
    }
}

impl Drop for ReadAhead {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        drop(self.events.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Files opened ahead of the one being read, each with the kernel asked to
/// start reading it (`POSIX_FADV_WILLNEED`): small files are latency-bound,
/// and this keeps several of their reads in flight on the disk at once.
struct Prefetch {
    files: Receiver<(PathBuf, u64)>,
    opened: std::collections::VecDeque<(io::Result<File>, u64)>,
    bytes: u64,
}

/// At most this many files and bytes are asked for ahead of the reader.
const PREFETCH_FILES: usize = 64;
const PREFETCH_BYTES: u64 = 16 * 1024 * 1024;

impl Prefetch {
    fn new(files: Receiver<(PathBuf, u64)>) -> Self {
        Prefetch {
            files,
            opened: std::collections::VecDeque::new(),
            bytes: 0,
        }
    }

    fn open(&mut self, path: &Path, size: u64) {
        let opened = File::options()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(path);
        let want = size.min(PREFETCH_BYTES.saturating_sub(self.bytes));
        if let Ok(f) = &opened {
            use std::os::fd::AsRawFd;
            // SAFETY: advice on an open descriptor; failure only loses the hint.
            unsafe {
                libc::posix_fadvise(
                    f.as_raw_fd(),
                    0,
                    want as libc::off_t,
                    libc::POSIX_FADV_WILLNEED,
                )
            };
        }
        self.bytes += want;
        self.opened.push_back((opened, want));
    }

    /// Opens the files already queued, up to the limits, without waiting.
    fn fill(&mut self) {
        while self.opened.len() < PREFETCH_FILES
            && (self.bytes < PREFETCH_BYTES || self.opened.is_empty())
        {
            match self.files.try_recv() {
                Ok((path, size)) => self.open(&path, size),
                Err(_) => return,
            }
        }
    }

    /// The next file in order. When none is queued, `before_waiting` runs
    /// (false: give up) and the walk is waited for. `None` once the walk ended.
    fn next(&mut self, before_waiting: impl FnOnce() -> bool) -> Option<io::Result<File>> {
        self.fill();
        if self.opened.is_empty() {
            if !before_waiting() {
                return None;
            }
            let (path, size) = self.files.recv().ok()?;
            self.open(&path, size);
        }
        let (opened, want) = self.opened.pop_front().expect("one was opened");
        self.bytes -= want;
        Some(opened)
    }
}

/// Reads every file into blocks; `send` returns false when nobody listens.
///
/// Small files share a block, which is sent when full, or as soon as the
/// next file is not known yet: the consumer may be waiting for these very
/// files before the walk can go on.
fn read_files(
    prefetch: &mut Prefetch,
    pool: &Arc<BlockPool>,
    stop: &AtomicBool,
    mut send: impl FnMut(Vec<ReadEvent>) -> bool,
) {
    // Data events point into `block` and wait in `pending` until it is frozen.
    let mut block: Option<BlockBuf> = None;
    let mut pending: Vec<(usize, Range<usize>, bool)> = Vec::new();
    let mut other: Vec<(usize, ReadEvent)> = Vec::new();
    // Sequence numbers interleave data and failure events in file order.
    let mut seq = 0usize;
    let mut data_seq: Vec<usize> = Vec::new();
    let mut i = 0usize;
    loop {
        let opened = prefetch.next(|| {
            if pending.is_empty() && other.is_empty() {
                return true;
            }
            let full = block.take();
            flush_in_order(full, &mut pending, &mut data_seq, &mut other, &mut send)
        });
        let Some(opened) = opened else {
            break;
        };
        let this = i;
        i += 1;
        let mut file = match opened {
            Ok(f) => f,
            Err(e) => {
                let event = if e.kind() == io::ErrorKind::NotFound {
                    ReadEvent::Vanished { file: this }
                } else {
                    ReadEvent::Failed {
                        file: this,
                        action: "open",
                        error: e,
                    }
                };
                other.push((seq, event));
                seq += 1;
                continue;
            }
        };
        loop {
            if stop.load(Ordering::SeqCst) {
                return;
            }
            let buf = match &mut block {
                Some(b) => b,
                None => match pool.take(stop) {
                    Some(b) => block.insert(b),
                    None => return,
                },
            };
            let start = buf.len();
            let result = buf.fill_from(&mut file);
            let end = buf.len();
            let full = buf.is_full();
            match result {
                Ok(eof) => {
                    if end > start || eof {
                        pending.push((this, start..end, eof));
                        data_seq.push(seq);
                        seq += 1;
                    }
                    if full
                        && !flush_in_order(
                            block.take(),
                            &mut pending,
                            &mut data_seq,
                            &mut other,
                            &mut send,
                        )
                    {
                        return;
                    }
                    if eof {
                        break;
                    }
                }
                Err(error) => {
                    if end > start {
                        pending.push((this, start..end, false));
                        data_seq.push(seq);
                        seq += 1;
                    }
                    other.push((
                        seq,
                        ReadEvent::Failed {
                            file: this,
                            action: "read",
                            error,
                        },
                    ));
                    seq += 1;
                    break;
                }
            }
        }
    }
    if !pending.is_empty() || !other.is_empty() {
        flush_in_order(block, &mut pending, &mut data_seq, &mut other, &mut send);
    }
}

/// Freezes `block` and sends its data events merged with the failure events
/// by sequence number, so the consumer sees every file's events in order.
/// (`block` is `None` only when there are no data events.)
fn flush_in_order(
    block: Option<BlockBuf>,
    pending: &mut Vec<(usize, Range<usize>, bool)>,
    data_seq: &mut Vec<usize>,
    other: &mut Vec<(usize, ReadEvent)>,
    send: &mut dyn FnMut(Vec<ReadEvent>) -> bool,
) -> bool {
    let frozen = block.map(BlockBuf::freeze);
    let mut batch: Vec<(usize, ReadEvent)> = pending
        .drain(..)
        .zip(data_seq.drain(..))
        .map(|((file, range, last), seq)| {
            (
                seq,
                ReadEvent::Data {
                    file,
                    block: frozen.clone().expect("data events have a block"),
                    range,
                    last,
                },
            )
        })
        .collect();
    batch.append(other);
    batch.sort_by_key(|(seq, _)| *seq);
    send(batch.into_iter().map(|(_, e)| e).collect())
}
