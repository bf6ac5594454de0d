//! Jobs: every snapshot, backup and restore is a job with a state
//! (CREATED → RUNNING → COMPLETED / FAILED / ABORTED), bytes and times, like
//! the "Jobs" page of the system we reproduce.

use crate::catalog::Kind;
use crate::error::{Error, ErrorKind, Result};
use std::collections::BTreeSet;
use std::sync::Mutex;
use crate::states::{JobState, RecoveryPointStatus, SnapshotStatus};
use crate::records::{DbSnapshot, Job, RecoveryPoint};
use crate::{now, process_alive, Hubkeep};


/// The jobs this process is running now. A job of this process that is
/// RUNNING in the catalog but not here was left by a worker that ended
/// without finishing it (a panic): `recover` ends it FAILED, as it ends the
/// jobs of a dead process.
static LIVE_JOBS: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

fn live_jobs() -> std::sync::MutexGuard<'static, BTreeSet<String>> {
    LIVE_JOBS.lock().unwrap_or_else(|e| e.into_inner())
}

/// A job in progress; finish it with `finish_job`. Dropping it (also while
/// a panic unwinds) takes it out of this process's live jobs.
pub struct JobHandle {
    /// The job's id.
    pub id: String,
}

impl Drop for JobHandle {
    fn drop(&mut self) {
        live_jobs().remove(&self.id);
    }
}

/// Bytes a job read, found new, and stored.
#[derive(Default, Clone, Copy)]
pub struct Bytes {
    /// Bytes read from the source.
    pub read: u64,
    /// Bytes not already in the vault.
    pub new: u64,
    /// Bytes written to the vault's store.
    pub stored: u64,
}

/// A fresh job id, for a caller that names a job before it starts (a
/// `--no-wait` run names the job the background process will run).
pub fn new_job_id() -> String {
    crate::ids::job_id()
}

impl Hubkeep {
    /// Start a job, under `id` when the caller named it (`new_job_id`).
    pub(crate) fn start_job(&self, kind: &str, stack: Option<&str>, vault: Option<&str>, id: Option<&str>) -> Result<JobHandle> {
        let named = self.first_job_id.lock().unwrap_or_else(|e| e.into_inner()).take();
        let id = match (id, named) {
            (Some(id), _) => id.to_string(),
            (None, Some(named)) => named,
            (None, None) => crate::ids::job_id(),
        };
        // A job the queue recorded as QUEUED keeps the time it was submitted.
        let created_at = self.home.catalog.get::<Job>(Kind::Job, &id)?.map(|j| j.created_at).unwrap_or_else(now);
        let job = Job {
            job_id: id.clone(),
            kind: kind.to_string(),
            stack: stack.map(crate::ids::StackName::from_stored),
            state: JobState::Running,
            vault: vault.map(crate::ids::VaultName::from_stored),
            resource: None,
            created_at,
            started_at: Some(now()),
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
        live_jobs().insert(id.clone());
        let handle = JobHandle { id: id.clone() };
        self.home.catalog.put(Kind::Job, &id, &job)?;
        self.logs.opened(&id);
        Ok(handle)
    }

    pub(crate) fn job_resource(&self, job: &JobHandle, resource: &str) -> Result<()> {
        self.home.catalog.update::<Job, _>(Kind::Job, &job.id, |j| {
            j.resource = Some(resource.to_string());
            Ok(())
        })?;
        Ok(())
    }

    /// The first job this handle starts (a restore's, which starts its
    /// own) takes this id: the one a `--no-wait` parent printed.
    pub fn name_first_job(&self, id: Option<String>) {
        *self.first_job_id.lock().unwrap_or_else(|e| e.into_inner()) = id;
    }

    /// Where a job's byte progress goes: to this handle's own (a terminal
    /// bar, or the queued job that runs it) and to the job's record, where
    /// `job show`, the API and the console read it whoever started it.
    pub(crate) fn job_progress(&self, job: &JobHandle, phase: &str) -> Option<std::sync::Arc<dyn hubkeep_vault::Progress>> {
        let record: std::sync::Arc<dyn hubkeep_vault::Progress> = std::sync::Arc::new(CatalogProgress::new(&self.home.dir, &job.id, phase));
        Some(match &self.progress {
            Some(own) => std::sync::Arc::new(Both(own.clone(), record)),
            None => record,
        })
    }

    pub(crate) fn job_target(&self, job: &JobHandle, target: &std::path::Path) -> Result<()> {
        self.home.catalog.update::<Job, _>(Kind::Job, &job.id, |j| {
            j.target = Some(target.to_path_buf());
            Ok(())
        })?;
        Ok(())
    }

    pub(crate) fn finish_job(&self, job: &JobHandle, bytes: Bytes, error: Option<&Error>) -> Result<Job> {
        let lines = self.logs.closed(&job.id);
        self.home.catalog.update::<Job, _>(Kind::Job, &job.id, |j| {
            crate::joblog::append(j, lines.iter().cloned());
            j.finished_at = Some(now());
            j.progress = None;
            j.bytes_read = bytes.read;
            j.bytes_new = bytes.new;
            j.bytes_stored = bytes.stored;
            match error {
                None => j.state = JobState::Completed,
                // A cancelled job ends as a signal leaves it.
                Some(e) if e.kind() == ErrorKind::Interrupted => {
                    j.state = JobState::Aborted;
                    j.error = Some(e.message().to_string());
                }
                Some(e) => {
                    j.state = JobState::Failed;
                    j.error = Some(e.message().to_string());
                }
            }
            Ok(())
        })
    }

    /// The job `id`.
    pub fn job(&self, id: &str) -> Result<Job> {
        self.home.catalog.get(Kind::Job, id)?.ok_or_else(|| Error::new(ErrorKind::JobNotFound, format!("job {id} does not exist; `hubkeep job list` shows the jobs")))
    }

    /// The jobs, filtered by state (any case) and stack, oldest first.
    pub fn jobs(&self, state: Option<&str>, stack: Option<&str>) -> Result<Vec<Job>> {
        let all: Vec<Job> = self.home.catalog.list(Kind::Job)?;
        Ok(all
            .into_iter()
            .filter(|j| state.is_none_or(|s| j.state.as_str().eq_ignore_ascii_case(s)))
            .filter(|j| stack.is_none_or(|s| j.stack.as_deref() == Some(s)))
            .collect())
    }

    /// A job whose process is gone failed; so did what it was creating.
    pub(crate) fn reap_dead_jobs(&self) -> Result<()> {
        let jobs: Vec<Job> = self.home.catalog.list(Kind::Job)?;
        let me = std::process::id();
        let dead: Vec<&Job> = {
            let live = live_jobs();
            jobs.iter().filter(|j| j.state == JobState::Running && !(process_alive(j.pid) && (j.pid != me || live.contains(&j.job_id)))).collect()
        };
        for job in &dead {
            let reason = match job.pid == me {
                true => "the worker running this job ended before it finished (it panicked)".to_string(),
                false => format!("the hubkeep process (pid {}) running this job ended before it finished", job.pid),
            };
            self.end_unfinished_job(job, JobState::Failed, &reason)?;
        }
        // A queue lives in its process: what a dead one still held never runs.
        for job in jobs.iter().filter(|j| j.state == JobState::Queued && !process_alive(j.pid)) {
            let reason = format!("the hubkeep serve process (pid {}) that queued this job ended before it ran", job.pid);
            self.end_unfinished_job(job, JobState::Aborted, &reason)?;
        }
        let ended = jobs.iter().filter(|j| j.state != JobState::Running && j.state != JobState::Completed);
        self.clean_interrupted_restores(ended.chain(dead));
        Ok(())
    }

    /// Removes what restore-jobs that never finished (killed, or stopped by a
    /// signal) wrote into their targets; the vault's restore journal beside
    /// each target says whether one is left, and refuses while its process runs.
    fn clean_interrupted_restores<'a>(&self, unfinished: impl Iterator<Item = &'a Job>) {
        for job in unfinished {
            let Some(target) = &job.target else { continue };
            match hubkeep_vault::clean_interrupted_restore(target) {
                Ok(true) => self.note(&format!("removed what the interrupted restore job {} wrote into {}", job.job_id, target.display())),
                Ok(false) => {}
                Err(e) => self.note(&format!("warning: could not clean the interrupted restore job {} in {}: {e}", job.job_id, target.display())),
            }
        }
    }

    /// Close a job that will never finish (its process died, or a signal
    /// stopped it), and what it was creating: a snapshot still `creating` is
    /// failed, a recovery point still `CREATING` disappears (a killed backup
    /// leaves no visible recovery point). Finished resources are untouched.
    pub(crate) fn end_unfinished_job(&self, job: &Job, state: JobState, reason: &str) -> Result<()> {
        self.home.catalog.update::<Job, _>(Kind::Job, &job.job_id, |j| {
            j.state = state;
            j.finished_at = Some(now());
            j.error = Some(reason.to_string());
            Ok(())
        })?;
        let Some(resource) = job.resource.as_deref() else { return Ok(()) };
        if let Some(mut s) = self.home.catalog.get::<DbSnapshot>(Kind::DbSnapshot, resource)? {
            if s.status == SnapshotStatus::Creating {
                s.status = SnapshotStatus::Failed;
                s.error = Some(reason.to_string());
                self.home.catalog.put(Kind::DbSnapshot, resource, &s)?;
            }
        }
        if let Some(rp) = self.home.catalog.get::<RecoveryPoint>(Kind::RecoveryPoint, resource)? {
            if rp.status == RecoveryPointStatus::Creating {
                self.home.catalog.delete(Kind::RecoveryPoint, resource)?;
            }
        }
        Ok(())
    }
}

/// The shortest time between two progress writes of one job: the catalog
/// is shared by every process of the home, and a bar needs no more.
const PROGRESS_INTERVAL: std::time::Duration = std::time::Duration::from_millis(500);

/// A `Progress` that records a job's progress in its catalog record (at
/// most twice a second), where `job show`, the API's job document and its
/// event stream read it, whichever process runs the job.
pub struct CatalogProgress {
    home: std::path::PathBuf,
    job_id: String,
    phase: String,
    state: Mutex<ProgressState>,
}

struct ProgressState {
    done: u64,
    total: u64,
    last_write: Option<std::time::Instant>,
}

impl CatalogProgress {
    /// Progress of job `job_id` of the home at `home`, in phase `phase`.
    pub fn new(home: &std::path::Path, job_id: &str, phase: &str) -> CatalogProgress {
        CatalogProgress {
            home: home.to_path_buf(),
            job_id: job_id.to_string(),
            phase: phase.to_string(),
            state: Mutex::new(ProgressState { done: 0, total: 0, last_write: None }),
        }
    }

    fn write(&self, force: bool) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if !force && st.last_write.is_some_and(|t| t.elapsed() < PROGRESS_INTERVAL) {
            return;
        }
        st.last_write = Some(std::time::Instant::now());
        let progress = crate::records::JobProgress { phase: self.phase.clone(), bytes_done: st.done, bytes_total: st.total };
        // Progress is advice: a failed write must not fail the job.
        if let Ok(catalog) = crate::catalog::Catalog::open(&self.home.join("catalog.db")) {
            let _ = catalog.update::<Job, _>(Kind::Job, &self.job_id, |j| {
                if j.state == JobState::Running {
                    j.progress = Some(progress);
                }
                Ok(())
            });
        }
    }
}

/// Progress reported to two places.
struct Both(std::sync::Arc<dyn hubkeep_vault::Progress>, std::sync::Arc<dyn hubkeep_vault::Progress>);

impl hubkeep_vault::Progress for Both {
    fn start(&self, total_bytes: u64) {
        self.0.start(total_bytes);
        self.1.start(total_bytes);
    }

    fn advance(&self, bytes: u64) {
        self.0.advance(bytes);
        self.1.advance(bytes);
    }
}

impl hubkeep_vault::Progress for CatalogProgress {
    fn start(&self, total_bytes: u64) {
        {
            let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
            st.total = total_bytes;
            st.done = 0;
        }
        self.write(true);
    }

    fn advance(&self, bytes: u64) {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).done += bytes;
        self.write(false);
    }
}

impl Hubkeep {
    /// Add a note to job `job_id`'s log (the newest `JOB_LOG_LINES` are kept).
    pub fn job_log(&self, job_id: &str, line: &str) -> Result<()> {
        self.home.catalog.update::<Job, _>(Kind::Job, job_id, |j| {
            crate::joblog::append(j, [crate::records::LogLine { at: now(), line: crate::dbpassword::redact_urls(line) }]);
            Ok(())
        })?;
        Ok(())
    }
}

#[cfg(test)]
mod progress_tests {
    use super::*;
    use hubkeep_vault::Progress;

    #[test]
    fn a_running_job_shows_its_progress_and_keeps_its_newest_notes() {
        let dir = tempfile::tempdir().unwrap();
        let hk = Hubkeep::open_or_init(&dir.path().join("home")).unwrap();
        let job = hk.start_job("backup", Some("hub1"), None, None).unwrap();
        let progress = CatalogProgress::new(&hk.home.dir, &job.id, "files");
        progress.start(1000);
        assert_eq!(hk.job(&job.id).unwrap().progress, Some(crate::records::JobProgress { phase: "files".into(), bytes_done: 0, bytes_total: 1000 }));
        for i in 0..(crate::records::JOB_LOG_LINES + 5) {
            hk.job_log(&job.id, &format!("note {i}")).unwrap();
        }
        let log = hk.job(&job.id).unwrap().log;
        assert_eq!(log.len(), crate::records::JOB_LOG_LINES);
        assert_eq!(log.last().unwrap().line, format!("note {}", crate::records::JOB_LOG_LINES + 4));
        let done = hk.finish_job(&job, Bytes::default(), None).unwrap();
        assert_eq!(done.progress, None, "an ended job reports no progress");
    }
}
