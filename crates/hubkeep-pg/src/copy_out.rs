//! Several COPY sessions reading tables at once inside the one exported
//! snapshot, while the sink takes the streams one after another. Each
//! worker imports the snapshot (`SET TRANSACTION SNAPSHOT`) and takes the
//! next copy in stream order; its output waits in memory until the sink
//! reaches it, so the sink never waits on the server while another session
//! has rows ready. What waits is bounded: the copy the sink is reading may
//! hold `BUFFERED_PER_COPY` blocks, all the others together `AHEAD_BYTES`.

use std::collections::VecDeque;
use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::Scope;
use std::time::Duration;

use postgres::error::SqlState;
use postgres::Client;

use crate::conninfo::ConnInfo;
use crate::error::PgError;
use crate::inspect::{query_failed, DataTable};
use crate::snapshot::table_stream_name;
use crate::sql::{literal, COPY_SESSION_SETTINGS};

/// Bytes read from the server per message to the sink.
const BLOCK: usize = 256 * 1024;
/// How far the copy the sink is reading may run ahead of it: 16 MiB.
const BUFFERED_PER_COPY: usize = 64;
/// What all the copies the sink has not reached yet may hold together.
const AHEAD_BYTES: usize = 32 * 1024 * 1024;

/// Bytes waiting for the sink, and which copy (in queue order) it reads.
#[derive(Default)]
struct Budget {
    state: Mutex<BudgetState>,
    changed: Condvar,
}

#[derive(Default)]
struct BudgetState {
    waiting_bytes: usize,
    reading: usize,
}

impl Budget {
    /// Waits until copy `index` may hand over `len` more bytes: at once for
    /// the copy the sink reads (so it can always go on), else while the
    /// bytes waiting stay within `AHEAD_BYTES`. False when the copies were
    /// abandoned.
    fn reserve(&self, index: usize, len: usize, failed: &AtomicBool) -> bool {
        let mut state = self.state.lock().expect("budget lock");
        while index != state.reading && state.waiting_bytes + len > AHEAD_BYTES {
            if failed.load(Ordering::SeqCst) {
                return false;
            }
            state = self
                .changed
                .wait_timeout(state, Duration::from_millis(100))
                .expect("budget lock")
                .0;
        }
        state.waiting_bytes += len;
        true
    }

    fn consumed(&self, len: usize) {
        self.state.lock().expect("budget lock").waiting_bytes -= len;
        self.changed.notify_all();
    }

    fn next_copy(&self) {
        self.state.lock().expect("budget lock").reading += 1;
        self.changed.notify_all();
    }
}

enum Piece {
    Data(Vec<u8>),
    End,
}

/// One COPY waiting for a worker.
struct Pending<'a> {
    /// Its place in stream order.
    index: usize,
    table: &'a DataTable,
    query: &'a str,
    out: SyncSender<Piece>,
}

/// The copies of a snapshot, shared by the workers.
pub struct CopyQueue<'a> {
    pending: Mutex<VecDeque<Pending<'a>>>,
    failed: AtomicBool,
    error: Mutex<Option<PgError>>,
    budget: Arc<Budget>,
}

/// The receiving end of one table's copies, in order.
pub struct TableReceiver {
    parts: VecDeque<Receiver<Piece>>,
    budget: Arc<Budget>,
}

impl<'a> CopyQueue<'a> {
    /// Queues every table's copies in stream order; returns the queue and,
    /// per table, where its bytes arrive.
    pub fn new(tables: &[(&'a DataTable, &'a [String])]) -> (CopyQueue<'a>, Vec<TableReceiver>) {
        let mut pending = VecDeque::new();
        let mut receivers = Vec::with_capacity(tables.len());
        let budget = Arc::new(Budget::default());
        for (table, copies) in tables {
            let mut parts = VecDeque::with_capacity(copies.len());
            for query in copies.iter() {
                let (out, rx) = sync_channel(BUFFERED_PER_COPY);
                pending.push_back(Pending {
                    index: pending.len(),
                    table,
                    query,
                    out,
                });
                parts.push_back(rx);
            }
            receivers.push(TableReceiver {
                parts,
                budget: Arc::clone(&budget),
            });
        }
        (
            CopyQueue {
                pending: Mutex::new(pending),
                failed: AtomicBool::new(false),
                error: Mutex::new(None),
                budget,
            },
            receivers,
        )
    }

    /// Starts `workers` sessions in `snapshot_id`, each copying queued
    /// tables until none is left or a copy failed.
    pub fn start<'scope, 'env>(
        &'env self,
        scope: &'scope Scope<'scope, 'env>,
        workers: usize,
        conn: &'env ConnInfo,
        snapshot_id: &'env str,
        lock_timeout: Duration,
        lock_error: &'env (dyn Fn(&DataTable) -> PgError + Sync),
    ) {
        for _ in 0..workers.max(1) {
            scope.spawn(move || {
                let outcome = self.work(conn, snapshot_id, lock_timeout, lock_error);
                if let Err(e) = outcome {
                    self.fail(e);
                }
            });
        }
    }

    /// Stops every worker: the queued copies are dropped, so their
    /// receivers see them end unfinished, and running ones stop at their
    /// next block. The first error is kept.
    pub fn fail(&self, error: PgError) {
        self.failed.store(true, Ordering::SeqCst);
        self.error.lock().expect("error lock").get_or_insert(error);
        self.pending.lock().expect("queue lock").clear();
    }

    /// Stops the workers after the sink failed (its error is the caller's).
    pub fn abandon(&self) {
        self.failed.store(true, Ordering::SeqCst);
        self.pending.lock().expect("queue lock").clear();
    }

    /// The error that stopped the copies, if one did.
    pub fn take_error(&self) -> Option<PgError> {
        self.error.lock().expect("error lock").take()
    }

    fn work(
        &self,
        conn: &ConnInfo,
        snapshot_id: &str,
        lock_timeout: Duration,
        lock_error: &(dyn Fn(&DataTable) -> PgError + Sync),
    ) -> Result<(), PgError> {
        let mut client = snapshot_session(conn, snapshot_id, lock_timeout)?;
        let mut block = vec![0u8; BLOCK];
        loop {
            if self.failed.load(Ordering::SeqCst) {
                return Ok(());
            }
            let Some(next) = self.pending.lock().expect("queue lock").pop_front() else {
                return Ok(());
            };
            if !copy_one(&mut client, conn, &next, &mut block, self, lock_error)? {
                // The sink side is gone: nothing more is wanted.
                return Ok(());
            }
        }
    }
}

/// A session inside the exported snapshot, for COPYs.
pub fn snapshot_session(
    conn: &ConnInfo,
    snapshot_id: &str,
    timeout: Duration,
) -> Result<Client, PgError> {
    let mut worker = conn.connect()?;
    worker
        .batch_execute(&format!(
            "{COPY_SESSION_SETTINGS}; SET lock_timeout = {};
             BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;
             SET TRANSACTION SNAPSHOT {}",
            timeout.as_millis().max(1),
            literal(snapshot_id)
        ))
        .map_err(query_failed(
            &conn.target(),
            "importing the snapshot into a worker session",
        ))?;
    Ok(worker)
}

/// Runs one copy into its channel; false when the receiver is gone.
fn copy_one(
    client: &mut Client,
    conn: &ConnInfo,
    job: &Pending,
    block: &mut [u8],
    queue: &CopyQueue,
    lock_error: &(dyn Fn(&DataTable) -> PgError + Sync),
) -> Result<bool, PgError> {
    let read_err = |source| PgError::Query {
        target: conn.target(),
        what: format!("reading table {}", job.table.display_name()),
        source,
    };
    let mut reader = match client.copy_out(job.query) {
        Ok(r) => r,
        Err(e) if e.code() == Some(&SqlState::LOCK_NOT_AVAILABLE) => {
            return Err(lock_error(job.table))
        }
        Err(e) => return Err(read_err(e)),
    };
    // A COPY OUT stream fails when read again after its end.
    let mut ended = false;
    while !ended {
        let mut filled = 0;
        while filled < block.len() {
            match reader.read(&mut block[filled..]) {
                Ok(0) => {
                    ended = true;
                    break;
                }
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(PgError::Sink {
                        stream: table_stream_name(&job.table.schema, &job.table.name),
                        source: e,
                    })
                }
            }
        }
        if filled > 0
            && (!queue.budget.reserve(job.index, filled, &queue.failed)
                || job.out.send(Piece::Data(block[..filled].to_vec())).is_err())
        {
            return Ok(false);
        }
    }
    Ok(job.out.send(Piece::End).is_ok())
}

impl TableReceiver {
    /// The table's bytes as one stream: its copies' outputs in order. A
    /// copy that ended without finishing (its worker failed) is an error;
    /// the queue holds the reason.
    pub fn into_reader(self) -> TableStream {
        TableStream {
            parts: self.parts,
            budget: self.budget,
            current: Vec::new(),
            pos: 0,
        }
    }
}

pub struct TableStream {
    parts: VecDeque<Receiver<Piece>>,
    budget: Arc<Budget>,
    current: Vec<u8>,
    pos: usize,
}

impl Read for TableStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.current.len() {
            let Some(part) = self.parts.front() else {
                return Ok(0);
            };
            match part.recv() {
                Ok(Piece::Data(block)) => {
                    self.budget.consumed(block.len());
                    self.current = block;
                    self.pos = 0;
                }
                Ok(Piece::End) => {
                    self.parts.pop_front();
                    self.budget.next_copy();
                }
                Err(_) => {
                    return Err(io::Error::other(
                        "a copy session stopped before the table was read to its end",
                    ))
                }
            }
        }
        let n = buf.len().min(self.current.len() - self.pos);
        buf[..n].copy_from_slice(&self.current[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}
