//! The scheduler's memory, in the catalog so that a restarted daemon
//! never runs one scheduled time twice: per stack, the last scheduled time
//! it handled (ran or expired) for each kind of scheduled work. And the
//! record of a run it could not start within its start window: a job in
//! state EXPIRED.

use crate::ids::StackName;
use crate::catalog::Kind;
use crate::error::Result;
use crate::records::Job;
use crate::states::JobState;
use crate::{now, Hubkeep};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The last scheduled time handled per kind of work of one stack's plan;
/// `None` until the first one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handled {
    /// The stack.
    #[serde(deserialize_with = "crate::ids::stored")]
    pub stack: StackName,
    /// The plan's backup.
    pub backup: Option<DateTime<Utc>>,
    /// Verify on its own schedule.
    pub verify: Option<DateTime<Utc>>,
    /// The drill.
    pub drill: Option<DateTime<Utc>>,
    /// Gc of the stack's vault.
    pub gc: Option<DateTime<Utc>>,
    /// The scheduled backup submitted and not yet followed up (retention,
    /// then the night's verify share): kept here so that a daemon restarted
    /// after the backup completed still runs them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<PendingBackup>,
}

/// A scheduled backup the scheduler submitted and has not followed up yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingBackup {
    /// Its job.
    pub job_id: String,
    /// The scheduled time it runs for.
    pub scheduled_for: DateTime<Utc>,
    /// The end of its start window: still queued then, it expires.
    pub window_end: DateTime<Utc>,
}

impl Handled {
    /// Nothing handled yet for `stack`.
    pub fn new(stack: StackName) -> Handled {
        Handled { stack, backup: None, verify: None, drill: None, gc: None, pending: None }
    }
}

impl Hubkeep {
    /// What the scheduler handled for `stack`; all `None` when nothing yet.
    pub fn schedule_handled(&self, stack: &StackName) -> Result<Handled> {
        Ok(self.home.catalog.get(Kind::Schedule, stack)?.unwrap_or_else(|| Handled::new(stack.clone())))
    }

    /// Remember what the scheduler handled for a stack (before it submits
    /// the work, so a crash in between never runs it twice).
    pub fn set_schedule_handled(&self, handled: &Handled) -> Result<()> {
        self.home
            .catalog
            .put(Kind::Schedule, &handled.stack, handled)
    }

    /// Record that `stack`'s backup scheduled for `scheduled_for` could not
    /// start within its plan's start window: a `backup` job in state EXPIRED,
    /// created at the time it was scheduled for (so `stack history` puts it
    /// on its night) and finished when it was found missed.
    pub fn record_missed_run(
        &self,
        stack: &str,
        scheduled_for: DateTime<Utc>,
        start_window: &str,
    ) -> Result<Job> {
        let at = now();
        let job = Job {
            job_id: crate::ids::job_id(),
            kind: "backup".into(),
            stack: Some(crate::ids::StackName::from_stored(stack)),
            state: JobState::Expired,
            vault: None,
            resource: None,
            created_at: scheduled_for,
            started_at: None,
            finished_at: Some(at),
            bytes_read: 0,
            bytes_new: 0,
            bytes_stored: 0,
            error: Some(format!(
                "the backup scheduled for {} could not start within the plan's start window ({start_window}); the next scheduled time is kept",
                scheduled_for.format("%Y-%m-%dT%H:%M:%SZ")
            )),
            pid: std::process::id(),
            target: None,
            waiting_for: None,
            progress: None,
            log: Vec::new(),
        };
        self.home.catalog.put(Kind::Job, &job.job_id, &job)?;
        self.emit_missed(&job);
        Ok(job)
    }
}
