//! The one queue of a home inside a long-lived process (`hubkeep serve`):
//! the scheduler and the HTTP API submit work, worker threads run it. At
//! most one operation per stack and one vault-heavy job (gc, verify share,
//! a verify that reads data) per vault run at a time; a CLI command of
//! another process that holds a stack's lock makes the queue wait for it.
//!
//! A submitted job is a catalog job at once, in state QUEUED; while it
//! cannot start, `waiting_for` says why. The queue's job covers the whole
//! operation (a backup's own database and file jobs are its parts), so its
//! state is the operation's outcome. On shutdown the jobs still queued end
//! ABORTED: a restarted daemon decides again what to run (a missed backup
//! runs once if its start window allows), so nothing runs twice.

use crate::catalog::Kind;
use crate::error::{Error, ErrorKind, Result};
use crate::jobs::{Bytes, JobHandle};
use crate::records::Job;
use crate::states::JobState;
use crate::{now, BackupRequest, CancelToken, Hubkeep, RestoreSource};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::io::Read;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

/// How often a waiting job looks again at stack locks held by other
/// processes (their release wakes nobody in this process).
const RECHECK: Duration = Duration::from_secs(1);

/// The grace period of a scheduled gc: `vault gc`'s default.
const GC_GRACE_SECONDS: u64 = 3600;

/// Work the queue runs; each is one `hubkeep` command.
#[derive(Debug, Clone)]
pub enum Work {
    /// `backup STACK [--offline] [--automated]`.
    Backup {
        /// The stack.
        stack: crate::ids::StackName,
        /// Take the hub offline for a consistent backup.
        offline: bool,
        /// A plan's backup: retention may expire it.
        automated: bool,
    },
    /// `restore` / `stack create --restore-…`.
    Restore(RestoreSource),
    /// `drill run STACK [--backup ID]`.
    Drill {
        /// The stack whose backup is drilled.
        stack: crate::ids::StackName,
        /// The backup set; the newest when `None`.
        backup_id: Option<String>,
    },
    /// `retention run [--stack S]`.
    Retention {
        /// Only this stack; every stack when `None`.
        stack: Option<crate::ids::StackName>,
    },
    /// The night's rotating share of a vault's packs.
    VerifyShare {
        /// The vault.
        vault: crate::ids::VaultName,
    },
    /// `verify BACKUP_SET_ID [--read-data]`.
    VerifyBackupSet {
        /// The backup set.
        backup_id: String,
        /// Read every chunk, not only the index.
        read_data: bool,
    },
    /// `vault gc NAME`.
    Gc {
        /// The vault.
        vault: crate::ids::VaultName,
    },
}

impl Work {
    /// The job kind `job list` shows.
    pub fn kind(&self) -> &'static str {
        match self {
            Work::Backup { .. } => "backup",
            Work::Restore(_) => "stack-restore",
            Work::Drill { .. } => "drill",
            Work::Retention { .. } => "retention",
            Work::VerifyShare { .. } => "verify-share",
            Work::VerifyBackupSet { .. } => "verify",
            Work::Gc { .. } => "gc",
        }
    }

    /// The stack this work occupies: one operation per stack at a time.
    fn stack(&self) -> Option<&str> {
        match self {
            Work::Backup { stack, .. } | Work::Drill { stack, .. } => Some(stack),
            Work::Restore(RestoreSource::Backup { name, .. }) => Some(name.as_str()),
            Work::Restore(RestoreSource::Params(req)) => Some(req.name.as_str()),
            Work::Retention { stack } => stack.as_ref().map(|s| s.as_str()),
            Work::VerifyShare { .. } | Work::VerifyBackupSet { .. } | Work::Gc { .. } => None,
        }
    }

    /// The vault this work reads or rewrites as a whole: one such job per
    /// vault at a time. `None` for light work.
    fn heavy_vault(&self, hk: &Hubkeep) -> Option<crate::ids::VaultName> {
        match self {
            Work::VerifyShare { vault } | Work::Gc { vault } => Some(vault.clone()),
            Work::VerifyBackupSet {
                backup_id,
                read_data: true,
            } => hk.backup_set(backup_id).ok().map(|s| s.vault),
            _ => None,
        }
    }
}

/// A job that has not started.
struct Pending {
    id: String,
    work: Work,
    waiting_for: Option<String>,
}

/// A job a worker runs now.
struct Running {
    kind: &'static str,
    stack: Option<String>,
    heavy_vault: Option<crate::ids::VaultName>,
    cancel: CancelToken,
}

#[derive(Default)]
struct State {
    pending: VecDeque<Pending>,
    running: BTreeMap<String, Running>,
    stopping: bool,
}

struct Shared {
    home: PathBuf,
    state: Mutex<State>,
    changed: Condvar,
    notes: Arc<dyn Fn(&str) + Send + Sync>,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// One line per decision, stamped with the clock's time.
    fn log(&self, line: &str) {
        (self.notes)(&format!("{} {line}", now().format("%Y-%m-%dT%H:%M:%SZ")));
    }
}

/// The queue; cheap to clone, every clone submits to the same workers.
#[derive(Clone)]
pub struct Queue {
    shared: Arc<Shared>,
    workers: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Queue {
    /// Start `workers` worker threads (at least one) over the home `home`;
    /// their log lines go to stderr.
    pub fn start(home: PathBuf, workers: usize) -> Result<Queue> {
        Queue::start_with_notes(home, workers, Arc::new(|m| eprintln!("{m}")))
    }

    /// `start`, with the log lines going to `notes`.
    pub fn start_with_notes(
        home: PathBuf,
        workers: usize,
        notes: Arc<dyn Fn(&str) + Send + Sync>,
    ) -> Result<Queue> {
        Hubkeep::open(&home)?;
        let shared = Arc::new(Shared {
            home,
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
            notes,
        });
        let mut handles = Vec::new();
        for n in 0..workers.max(1) {
            let shared = shared.clone();
            let handle = std::thread::Builder::new()
                .name(format!("hubkeep-worker-{n}"))
                .spawn(move || work_loop(&shared))
                .map_err(|e| {
                    Error::new(
                        ErrorKind::Internal,
                        format!("cannot start a queue worker: {e}"),
                    )
                })?;
            handles.push(handle);
        }
        Ok(Queue {
            shared,
            workers: Arc::new(Mutex::new(handles)),
        })
    }

    /// Queue `work`; returns the id of the job that will run it, already in
    /// the catalog in state QUEUED.
    pub fn submit(&self, work: Work) -> Result<String> {
        let hk = Hubkeep::open(&self.shared.home)?;
        let mut state = self.shared.state();
        if state.stopping {
            return Err(Error::new(
                ErrorKind::Interrupted,
                "hubkeep serve is stopping; it takes no new work",
            ));
        }
        let id = crate::ids::job_id();
        let job = Job {
            job_id: id.clone(),
            kind: work.kind().to_string(),
            stack: work.stack().map(crate::ids::StackName::from_stored),
            state: JobState::Queued,
            vault: match &work {
                Work::VerifyShare { vault } | Work::Gc { vault } => Some(vault.clone()),
                _ => None,
            },
            resource: None,
            created_at: now(),
            started_at: None,
            finished_at: None,
            bytes_read: 0,
            bytes_new: 0,
            bytes_stored: 0,
            error: None,
            pid: std::process::id(),
            target: None,
            waiting_for: None,
            progress: None,
            log: Vec::new(),
        };
        hk.home.catalog.put(Kind::Job, &id, &job)?;
        state.pending.push_back(Pending {
            id: id.clone(),
            work,
            waiting_for: None,
        });
        drop(state);
        self.shared.changed.notify_all();
        Ok(id)
    }

    /// End job `id` EXPIRED with `reason` if it has not started yet (a
    /// scheduled backup whose start window closed while it waited);
    /// `false` when it already started or is unknown to this queue.
    pub fn expire(&self, id: &str, reason: &str) -> Result<bool> {
        let hk = Hubkeep::open(&self.shared.home)?;
        let mut state = self.shared.state();
        let Some(i) = state.pending.iter().position(|p| p.id == id) else {
            return Ok(false);
        };
        let expired = hk.home.catalog.update::<Job, _>(Kind::Job, id, |j| {
            j.state = JobState::Expired;
            j.finished_at = Some(now());
            j.error = Some(reason.to_string());
            Ok(())
        })?;
        if expired.kind == "backup" {
            hk.emit_missed(&expired);
        }
        state.pending.remove(i);
        drop(state);
        self.shared.changed.notify_all();
        Ok(true)
    }

    /// Stop: take no new work, end the jobs still queued ABORTED, cancel
    /// the running ones when `abort_running` (a backup that took its hub
    /// offline brings it back online), and return once every worker ended.
    pub fn shutdown(&self, abort_running: bool) {
        let abandoned: Vec<String> = {
            let mut state = self.shared.state();
            state.stopping = true;
            if abort_running {
                for running in state.running.values() {
                    running.cancel.cancel();
                }
            }
            state.pending.drain(..).map(|p| p.id).collect()
        };
        self.shared.changed.notify_all();
        if let Ok(hk) = Hubkeep::open(&self.shared.home) {
            for id in abandoned {
                let ended = hk.home.catalog.update::<Job, _>(Kind::Job, &id, |j| {
                    j.state = JobState::Aborted;
                    j.finished_at = Some(now());
                    j.waiting_for = None;
                    j.error = Some("hubkeep serve stopped before this job could start".into());
                    Ok(())
                });
                match ended {
                    Ok(_) => self
                        .shared
                        .log(&format!("queue: job {id} aborted: the daemon is stopping")),
                    Err(e) => self
                        .shared
                        .log(&format!("queue: could not mark job {id} ABORTED: {e}")),
                }
            }
        }
        let handles: Vec<JoinHandle<()>> =
            std::mem::take(&mut *self.workers.lock().unwrap_or_else(|e| e.into_inner()));
        for handle in handles {
            let _ = handle.join();
        }
    }
}

/// A worker: take the first job that can start, run it, repeat until stopped.
fn work_loop(shared: &Shared) {
    let hk = match Hubkeep::open(&shared.home) {
        Ok(hk) => hk,
        Err(e) => return shared.log(&format!("queue: a worker cannot open the home: {e}")),
    };
    loop {
        let (pending, cancel) = {
            let mut state = shared.state();
            loop {
                if state.stopping {
                    return;
                }
                if let Some(i) = first_startable(&hk, &mut state) {
                    let pending = state.pending.remove(i).expect("index from first_startable");
                    let cancel = CancelToken::new();
                    state.running.insert(
                        pending.id.clone(),
                        Running {
                            kind: pending.work.kind(),
                            stack: pending.work.stack().map(str::to_string),
                            heavy_vault: pending.work.heavy_vault(&hk),
                            cancel: cancel.clone(),
                        },
                    );
                    break (pending, cancel);
                }
                state = shared
                    .changed
                    .wait_timeout(state, RECHECK)
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            }
        };
        run_job(shared, &pending, cancel);
        shared.state().running.remove(&pending.id);
        shared.changed.notify_all();
    }
}

/// The index of the oldest pending job nothing blocks; every job that is
/// blocked gets (in the catalog too) what it waits for.
fn first_startable(hk: &Hubkeep, state: &mut State) -> Option<usize> {
    let mut claimed_stacks: BTreeSet<String> = BTreeSet::new();
    let mut claimed_vaults: BTreeSet<String> = BTreeSet::new();
    let mut found = None;
    let State {
        pending, running, ..
    } = state;
    for (i, p) in pending.iter_mut().enumerate() {
        let stack = p.work.stack().map(str::to_string);
        let vault = p.work.heavy_vault(hk);
        let blocker = blocker(
            hk,
            stack.as_deref(),
            vault.as_deref(),
            running,
            &claimed_stacks,
            &claimed_vaults,
        );
        // A job waits behind an older queued job of its stack or vault, so
        // they run in the order they were submitted.
        claimed_stacks.extend(stack);
        claimed_vaults.extend(vault.map(String::from));
        match blocker {
            None if found.is_none() => {
                found = Some(i);
            }
            None => {}
            Some(why) if p.waiting_for.as_deref() != Some(why.as_str()) => {
                // Only what the job shows; a catalog that cannot be written
                // now is written at the next look.
                let written = hk
                    .home
                    .catalog
                    .update::<Job, _>(Kind::Job, &p.id, |j| {
                        j.waiting_for = Some(why.clone());
                        Ok(())
                    })
                    .is_ok();
                p.waiting_for = if written {
                    Some(why)
                } else {
                    p.waiting_for.take()
                };
            }
            Some(_) => {}
        }
    }
    found
}

/// Why a job cannot start now, or `None`.
fn blocker(
    hk: &Hubkeep,
    stack: Option<&str>,
    vault: Option<&str>,
    running: &BTreeMap<String, Running>,
    queued_stacks: &BTreeSet<String>,
    queued_vaults: &BTreeSet<String>,
) -> Option<String> {
    if let Some(stack) = stack {
        if let Some((id, r)) = running
            .iter()
            .find(|(_, r)| r.stack.as_deref() == Some(stack))
        {
            return Some(format!("stack {stack} is busy: job {id} ({})", r.kind));
        }
        if queued_stacks.contains(stack) {
            return Some(format!(
                "stack {stack} is busy: an older queued job goes first"
            ));
        }
    }
    if let Some(vault) = vault {
        if let Some((id, r)) = running
            .iter()
            .find(|(_, r)| r.heavy_vault.as_deref() == Some(vault))
        {
            return Some(format!("vault {vault} is busy: job {id} ({})", r.kind));
        }
        if queued_vaults.contains(vault) {
            return Some(format!(
                "vault {vault} is busy: an older queued job goes first"
            ));
        }
    }
    let stack = stack?;
    held_elsewhere(hk, stack).map(|holder| format!("stack {stack} is locked by {holder}"))
}

/// Who holds the stack's lock (another process: a CLI command), or `None`
/// when it is free. The probe takes the lock and releases it at once.
fn held_elsewhere(hk: &Hubkeep, stack: &str) -> Option<String> {
    match hk.try_lock_stack(stack, "hubkeep serve's queue, checking the stack") {
        Ok(Some(_free)) => None,
        Ok(None) => {
            let mut holder = String::new();
            if let Ok(mut f) = std::fs::File::open(hk.home.lock_path(stack)) {
                let _ = f.read_to_string(&mut holder);
            }
            let holder = holder.trim();
            Some(if holder.is_empty() {
                "another hubkeep run".to_string()
            } else {
                holder.to_string()
            })
        }
        // A lock file that cannot be opened fails the job itself, with the
        // operation's own error; the queue does not hold it back.
        Err(_) => None,
    }
}

/// Run one job under its queue id and record how it ended.
fn run_job(shared: &Shared, pending: &Pending, cancel: CancelToken) {
    let mut hk = match Hubkeep::open(&shared.home) {
        Ok(hk) => hk,
        Err(e) => {
            return shared.log(&format!(
                "queue: job {} cannot open the home: {e}",
                pending.id
            ))
        }
    };
    hk.cancel = cancel;
    // The job document's `progress`, for `job show` and the API's events.
    hk.progress = Some(Arc::new(crate::CatalogProgress::new(&shared.home, &pending.id, pending.work.kind())));
    // Its notes go to the daemon's log here, and to the job's own log
    // (core writes that for every job a handle runs).
    let notes = shared.notes.clone();
    let id = pending.id.clone();
    hk.notes = Arc::new(move |m| {
        (notes)(&format!(
            "{} job {id}: {m}",
            now().format("%Y-%m-%dT%H:%M:%SZ")
        ))
    });
    let work = &pending.work;
    let subject = work.stack().map(str::to_string).or_else(|| match work {
        Work::VerifyShare { vault } | Work::Gc { vault } => Some(vault.to_string()),
        Work::VerifyBackupSet { backup_id, .. } => Some(backup_id.clone()),
        _ => None,
    });
    let subject = subject.unwrap_or_else(|| "all stacks".into());
    let vault = match work {
        Work::VerifyShare { vault } | Work::Gc { vault } => Some(vault.as_str()),
        _ => None,
    };
    let job = match hk.start_job(work.kind(), work.stack(), vault, Some(&pending.id)) {
        Ok(job) => job,
        Err(e) => {
            return shared.log(&format!(
                "{} {subject}: job {} could not start: {e}",
                work.kind(),
                pending.id
            ))
        }
    };
    shared.log(&format!(
        "{} {subject} started job {}",
        work.kind(),
        pending.id
    ));
    let outcome = perform(&hk, &job, work);
    let ended = hk.finish_job(&job, Bytes::default(), outcome.as_ref().err());
    drop(hk);
    release_free_memory();
    match (&outcome, ended) {
        (_, Err(e)) => shared.log(&format!(
            "{} {subject} job {}: could not record its end: {e}",
            work.kind(),
            pending.id
        )),
        (Ok(()), Ok(_)) => shared.log(&format!(
            "{} {subject} completed job {}",
            work.kind(),
            pending.id
        )),
        (Err(e), Ok(j)) => shared.log(&format!(
            "{} {subject} job {} {}: {e}",
            work.kind(),
            pending.id,
            j.state
        )),
    }
}

/// Give the heap a finished job freed back to the system: a daemon sits
/// idle between nights, and glibc would otherwise keep a backup's or a
/// drill's peak for good.
fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free heap pages to the kernel.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// The operation itself, through the same calls the CLI makes.
fn perform(hk: &Hubkeep, job: &JobHandle, work: &Work) -> Result<()> {
    match work {
        Work::Backup {
            stack,
            offline,
            automated,
        } => {
            let set = hk.backup(&BackupRequest {
                stack,
                offline: *offline,
                vault: None,
                strict: false,
                job_id: None,
                automated: *automated,
            })?;
            hk.job_resource(job, &set.backup_id.to_string())
        }
        Work::Restore(source) => {
            let plan = hk.plan_restore(source.clone())?;
            hk.run_restore(plan).map(|_| ())
        }
        Work::Retention { stack } => hk
            .retention_run(&crate::ops::retention::RetentionRun {
                stack: stack.as_ref().map(|s| s.to_string()),
                dry_run: false,
            })
            .map(|_| ()),
        Work::VerifyBackupSet {
            backup_id,
            read_data,
        } => hk.verify(backup_id, *read_data).map(|_| ()),
        Work::Gc { vault } => hk.vault_gc(vault, GC_GRACE_SECONDS, false).map(|_| ()),
        // A drill and a verify share record their own job (kinds `drill`
        // and `verify-share`), as a backup records its snapshot and files jobs.
        Work::Drill { stack, backup_id } => {
            let drill = hk.drill_run(&crate::ops::drills::DrillRun {
                stack: stack.to_string(),
                backup_id: backup_id.clone(),
                job_id: None,
            })?;
            hk.job_resource(job, &drill.drill_id)
        }
        Work::VerifyShare { vault } => hk.vault_verify_share(vault, None).map(|_| ()),
    }
}

#[cfg(test)]
mod job_log_tests {
    use super::*;

    #[test]
    fn a_jobs_notes_are_in_its_log_and_its_outer_jobs_log_when_it_ends() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        let mut hk = Hubkeep::open_or_init(&home).unwrap();
        hk.notes = Arc::new(|_| {});
        let outer = hk.start_job("backup", Some("hub1"), None, None).unwrap();
        hk.note("starting");
        let inner = hk.start_job("db-snapshot", Some("hub1"), None, None).unwrap();
        for i in 0..3 {
            hk.note(&format!("table ret0.t{i} (postgresql://u:pw@h/db)"));
        }
        hk.finish_job(&inner, Bytes::default(), None).unwrap();
        hk.note("done");
        hk.finish_job(&outer, Bytes::default(), None).unwrap();
        // Ended, its whole log is there at once (no wait for the writer).
        let lines = |id: &str| -> Vec<String> { hk.job(id).unwrap().log.into_iter().map(|l| l.line).collect() };
        let inner_lines = lines(&inner.id);
        assert_eq!(inner_lines.len(), 3, "{inner_lines:?}");
        assert!(inner_lines[0].starts_with("table ret0.t0"), "{inner_lines:?}");
        assert!(inner_lines.iter().all(|l| !l.contains("pw@")), "a password in a note never reaches the log: {inner_lines:?}");
        let outer_lines = lines(&outer.id);
        assert_eq!(outer_lines.first().map(String::as_str), Some("starting"), "{outer_lines:?}");
        assert_eq!(outer_lines.last().map(String::as_str), Some("done"), "{outer_lines:?}");
        assert_eq!(outer_lines.len(), 5, "{outer_lines:?}");
    }
}
