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
use std::path::PathBuf;
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
    /// Starts reading `files` in order into blocks of `pool`.
    /// `files` are paths and their sizes when listed.
    pub fn start(
        files: Vec<(PathBuf, u64)>,
        pool: Arc<BlockPool>,
    ) -> Result<ReadAhead, VaultError> {
        let (tx, rx) = mpsc::sync_channel::<Vec<ReadEvent>>(1);
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("hubkeep-read".into())
                .spawn(move || read_files(&files, &pool, &stop, |batch| tx.send(batch).is_ok()))
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
#[derive(Default)]
struct Prefetch {
    opened: std::collections::VecDeque<(usize, io::Result<File>, u64)>,
    next: usize,
    bytes: u64,
}

/// At most this many files and bytes are asked for ahead of the reader.
const PREFETCH_FILES: usize = 64;
const PREFETCH_BYTES: u64 = 16 * 1024 * 1024;

impl Prefetch {
    fn fill(&mut self, files: &[(PathBuf, u64)]) {
        while self.next < files.len()
            && self.opened.len() < PREFETCH_FILES
            && (self.bytes < PREFETCH_BYTES || self.opened.is_empty())
        {
            let (path, size) = &files[self.next];
            let opened = File::options()
                .read(true)
                .custom_flags(libc::O_NOFOLLOW)
                .open(path);
            let want = (*size).min(PREFETCH_BYTES.saturating_sub(self.bytes));
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
            self.opened.push_back((self.next, opened, want));
            self.next += 1;
        }
    }

    /// The opened file `index` (the next one in order).
    fn next(&mut self, index: usize) -> io::Result<File> {
        let (i, opened, want) = self.opened.pop_front().expect("filled before");
        debug_assert_eq!(i, index);
        self.bytes -= want;
        opened
    }
}

/// Reads every file into blocks; `send` returns false when nobody listens.
fn read_files(
    files: &[(PathBuf, u64)],
    pool: &Arc<BlockPool>,
    stop: &AtomicBool,
    mut send: impl FnMut(Vec<ReadEvent>) -> bool,
) {
    // Data events point into `block` and wait in `pending` until it is frozen.
    let mut block = match pool.take(stop) {
        Some(b) => b,
        None => return,
    };
    let mut pending: Vec<(usize, Range<usize>, bool)> = Vec::new();
    let mut other: Vec<(usize, ReadEvent)> = Vec::new();
    // Sequence numbers interleave data and failure events in file order.
    let mut seq = 0usize;
    let mut data_seq: Vec<usize> = Vec::new();
    let mut prefetch = Prefetch::default();
    for (i, _) in files.iter().enumerate() {
        prefetch.fill(files);
        let opened = prefetch.next(i);
        let mut file = match opened {
            Ok(f) => f,
            Err(e) => {
                let event = if e.kind() == io::ErrorKind::NotFound {
                    ReadEvent::Vanished { file: i }
                } else {
                    ReadEvent::Failed {
                        file: i,
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
            let start = block.len();
            let result = block.fill_from(&mut file);
            let end = block.len();
            match result {
                Ok(eof) => {
                    if end > start || eof {
                        pending.push((i, start..end, eof));
                        data_seq.push(seq);
                        seq += 1;
                    }
                    if block.is_full() {
                        let next = match pool.take(stop) {
                            Some(b) => b,
                            None => return,
                        };
                        let full = std::mem::replace(&mut block, next);
                        if !flush_in_order(full, &mut pending, &mut data_seq, &mut other, &mut send)
                        {
                            return;
                        }
                    }
                    if eof {
                        break;
                    }
                }
                Err(error) => {
                    if end > start {
                        pending.push((i, start..end, false));
                        data_seq.push(seq);
                        seq += 1;
                    }
                    other.push((
                        seq,
                        ReadEvent::Failed {
                            file: i,
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
fn flush_in_order(
    block: BlockBuf,
    pending: &mut Vec<(usize, Range<usize>, bool)>,
    data_seq: &mut Vec<usize>,
    other: &mut Vec<(usize, ReadEvent)>,
    send: &mut dyn FnMut(Vec<ReadEvent>) -> bool,
) -> bool {
    let frozen = block.freeze();
    let mut batch: Vec<(usize, ReadEvent)> = pending
        .drain(..)
        .zip(data_seq.drain(..))
        .map(|((file, range, last), seq)| {
            (
                seq,
                ReadEvent::Data {
                    file,
                    block: frozen.clone(),
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
