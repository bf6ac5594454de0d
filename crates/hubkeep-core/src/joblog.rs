//! A job's `log`: the notes a service handle makes while it runs jobs go
//! into the log of each job it has open (a backup's notes are in its own
//! log and in the log of the queued job that runs it), whichever front door
//! started it: the CLI, the queue of `hubkeep serve` or a drill.
//!
//! Lines are written by a thread of the handle's own: a note may be made
//! while the handle's catalog connection is inside a transaction, and
//! writing it there from another connection would wait for that very
//! transaction. A job's last lines are written before it ends, so `job
//! show` and the event stream's `end` see its whole log.

use crate::catalog::{Catalog, Kind};
use crate::records::{Job, LogLine, JOB_LOG_LINES};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

/// How often the writer looks for new lines.
const WRITE_INTERVAL: Duration = Duration::from_millis(300);

type Pending = Vec<(String, LogLine)>;

/// The job logs of one service handle.
pub(crate) struct JobLogs {
    catalog: PathBuf,
    /// The jobs open in this handle, outermost first.
    open: Mutex<Vec<String>>,
    shared: Arc<Shared>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

struct Shared {
    pending: Mutex<Pending>,
    /// Held while a batch is written: a job's end waits for it.
    writing: Mutex<()>,
    done: AtomicBool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl JobLogs {
    pub(crate) fn new(home: &Path) -> JobLogs {
        JobLogs {
            catalog: home.join("catalog.db"),
            open: Mutex::new(Vec::new()),
            shared: Arc::new(Shared { pending: Mutex::new(Vec::new()), writing: Mutex::new(()), done: AtomicBool::new(false) }),
            writer: Mutex::new(None),
        }
    }

    /// Job `id` started in this handle: later notes go into its log too.
    pub(crate) fn opened(&self, id: &str) {
        lock(&self.open).push(id.to_string());
    }

    /// A note, for the log of every job open in this handle.
    pub(crate) fn note(&self, line: &str) {
        let open = lock(&self.open).clone();
        if open.is_empty() {
            return;
        }
        let line = LogLine { at: crate::now(), line: crate::dbpassword::redact_urls(line) };
        lock(&self.shared.pending).extend(open.into_iter().map(|id| (id, line.clone())));
        self.start_writer();
    }

    /// Job `id` ends: no more notes go to it, and the lines it has not yet
    /// had written are returned, for its end to write with its state.
    pub(crate) fn closed(&self, id: &str) -> Vec<LogLine> {
        lock(&self.open).retain(|j| j != id);
        // A batch being written finishes first, so lines keep their order.
        let _writing = lock(&self.shared.writing);
        let mut pending = lock(&self.shared.pending);
        let (mine, others): (Pending, Pending) = std::mem::take(&mut *pending).into_iter().partition(|(j, _)| j == id);
        *pending = others;
        mine.into_iter().map(|(_, l)| l).collect()
    }

    fn start_writer(&self) {
        let mut writer = lock(&self.writer);
        if writer.is_some() {
            return;
        }
        let (shared, catalog) = (self.shared.clone(), self.catalog.clone());
        *writer = Some(std::thread::spawn(move || loop {
            let last = shared.done.load(Ordering::SeqCst);
            {
                let _writing = lock(&shared.writing);
                let batch = std::mem::take(&mut *lock(&shared.pending));
                if !batch.is_empty() {
                    // The log is advice: a failed write must not fail the job.
                    if let Ok(catalog) = Catalog::open(&catalog) {
                        for (id, line) in batch {
                            let _ = catalog.update::<Job, _>(Kind::Job, &id, |j| {
                                append(j, std::iter::once(line));
                                Ok(())
                            });
                        }
                    }
                }
            }
            if last {
                return;
            }
            std::thread::sleep(WRITE_INTERVAL);
        }));
    }
}

/// Add lines to a job's log, keeping the newest `JOB_LOG_LINES`.
pub(crate) fn append(job: &mut Job, lines: impl IntoIterator<Item = LogLine>) {
    job.log.extend(lines);
    let excess = job.log.len().saturating_sub(JOB_LOG_LINES);
    job.log.drain(..excess);
}

impl Drop for JobLogs {
    // Also when a job's worker panics: the writer writes what is left and ends.
    fn drop(&mut self) {
        self.shared.done.store(true, Ordering::SeqCst);
        if let Some(w) = lock(&self.writer).take() {
            let _ = w.join();
        }
    }
}

/// A byte count in binary units, as people read it: `512 B`, `1.5 KiB`,
/// `20.0 MiB` (the CLI's text output and the job logs).
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}
