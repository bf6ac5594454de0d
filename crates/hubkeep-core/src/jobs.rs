//! Jobs: every snapshot, backup and restore is a job with a state
//! (CREATED → RUNNING → COMPLETED / FAILED / ABORTED), bytes and times, like
//! the "Jobs" page of the system we reproduce.

use crate::catalog::Kind;
use crate::error::{Error, Result};
use crate::records::{DbSnapshot, Job, RecoveryPoint};
use crate::{now, process_alive, Hubkeep};

pub const RUNNING: &str = "RUNNING";
pub const COMPLETED: &str = "COMPLETED";
pub const FAILED: &str = "FAILED";
pub const ABORTED: &str = "ABORTED";

/// A job in progress; finish it with `complete` or `fail`.
pub struct JobHandle {
    pub id: String,
}

#[derive(Default, Clone, Copy)]
pub struct Bytes {
    pub read: u64,
    pub new: u64,
    pub stored: u64,
}

impl Hubkeep {
    pub(crate) fn start_job(&self, kind: &str, stack: Option<&str>, vault: Option<&str>) -> Result<JobHandle> {
        // A `--no-wait` parent names the first job of the run it started.
        let id = match std::env::var("HUBKEEP_JOB_ID") {
            Ok(id) if !id.is_empty() => {
                std::env::remove_var("HUBKEEP_JOB_ID");
                id
            }
            _ => crate::ids::job_id(),
        };
        let job = Job {
            job_id: id.clone(),
            kind: kind.to_string(),
            stack: stack.map(str::to_string),
            state: RUNNING.to_string(),
            vault: vault.map(str::to_string),
            resource: None,
            created_at: now(),
            started_at: Some(now()),
            finished_at: None,
            bytes_read: 0,
            bytes_new: 0,
            bytes_stored: 0,
            error: None,
            pid: std::process::id(),
            target: None,
        };
        self.home.catalog.put(Kind::Job, &id, &job)?;
        Ok(JobHandle { id })
    }

    pub(crate) fn job_resource(&self, job: &JobHandle, resource: &str) -> Result<()> {
        self.home.catalog.update::<Job, _>(Kind::Job, &job.id, |j| {
            j.resource = Some(resource.to_string());
            Ok(())
        })?;
        Ok(())
    }

    pub(crate) fn job_target(&self, job: &JobHandle, target: &std::path::Path) -> Result<()> {
        self.home.catalog.update::<Job, _>(Kind::Job, &job.id, |j| {
            j.target = Some(target.to_path_buf());
            Ok(())
        })?;
        Ok(())
    }

    pub(crate) fn finish_job(&self, job: &JobHandle, bytes: Bytes, error: Option<&Error>) -> Result<Job> {
        self.home.catalog.update::<Job, _>(Kind::Job, &job.id, |j| {
            j.finished_at = Some(now());
            j.bytes_read = bytes.read;
            j.bytes_new = bytes.new;
            j.bytes_stored = bytes.stored;
            match error {
                None => j.state = COMPLETED.to_string(),
                Some(e) => {
                    j.state = FAILED.to_string();
                    j.error = Some(e.message().to_string());
                }
            }
            Ok(())
        })
    }

    pub fn job(&self, id: &str) -> Result<Job> {
        self.home.catalog.get(Kind::Job, id)?.ok_or_else(|| Error::new("job_not_found", format!("job {id} does not exist; `hubkeep job list` shows the jobs")))
    }

    pub fn jobs(&self, state: Option<&str>, stack: Option<&str>) -> Result<Vec<Job>> {
        let all: Vec<Job> = self.home.catalog.list(Kind::Job)?;
        Ok(all
            .into_iter()
            .filter(|j| state.is_none_or(|s| j.state.eq_ignore_ascii_case(s)))
            .filter(|j| stack.is_none_or(|s| j.stack.as_deref() == Some(s)))
            .collect())
    }

    /// A job whose process is gone failed; so did what it was creating.
    pub(crate) fn reap_dead_jobs(&self) -> Result<()> {
        let jobs: Vec<Job> = self.home.catalog.list(Kind::Job)?;
        let dead: Vec<&Job> = jobs.iter().filter(|j| j.state == RUNNING && !process_alive(j.pid)).collect();
        for job in &dead {
            let reason = format!("the hubkeep process (pid {}) running this job ended before it finished", job.pid);
            self.end_unfinished_job(job, FAILED, &reason)?;
        }
        let ended = jobs.iter().filter(|j| j.state != RUNNING && j.state != COMPLETED);
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
    pub(crate) fn end_unfinished_job(&self, job: &Job, state: &str, reason: &str) -> Result<()> {
        self.home.catalog.update::<Job, _>(Kind::Job, &job.job_id, |j| {
            j.state = state.to_string();
            j.finished_at = Some(now());
            j.error = Some(reason.to_string());
            Ok(())
        })?;
        let Some(resource) = job.resource.as_deref() else { return Ok(()) };
        if let Some(mut s) = self.home.catalog.get::<DbSnapshot>(Kind::DbSnapshot, resource)? {
            if s.status == crate::dbsnap::CREATING {
                s.status = crate::dbsnap::FAILED.into();
                s.error = Some(reason.to_string());
                self.home.catalog.put(Kind::DbSnapshot, resource, &s)?;
            }
        }
        if let Some(rp) = self.home.catalog.get::<RecoveryPoint>(Kind::RecoveryPoint, resource)? {
            if rp.status == crate::files::CREATING {
                self.home.catalog.delete(Kind::RecoveryPoint, resource)?;
            }
        }
        Ok(())
    }
}
