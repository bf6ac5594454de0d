//! Recovery: what a front door runs once (per CLI command, at daemon start)
//! to end what dead processes left behind, and what an interrupted process
//! runs on its way out.

use crate::error::Result;
use crate::states::JobState;
use crate::Hubkeep;

impl Hubkeep {
    /// Undo what a killed hubkeep left behind: jobs of dead processes (or
    /// of workers of this process that ended without finishing them) are
    /// FAILED, snapshots and recovery points they were creating are failed,
    /// stacks they were creating are CREATE_FAILED with their clusters
    /// stopped, and a hub a dead backup took offline is brought back online.
    /// A front door calls it once: per CLI command, and at daemon start.
    pub fn recover(&self) -> Result<()> {
        self.reap_dead_jobs()?;
        self.reap_interrupted_creations()?;
        self.reap_abandoned_drills()?;
        self.recover_offline_stacks()
    }

    /// Called when this process is interrupted (Ctrl-C, SIGTERM): stop its
    /// child programs, bring back online what it took offline, mark its jobs
    /// ABORTED and the stacks it was creating CREATE_FAILED (clusters stopped).
    pub fn abort_run(&self) {
        crate::mark_interrupted();
        crate::stop_child_processes();
        crate::ops::import::remove_temp_clusters();
        let pid = std::process::id();
        if let Ok(stacks) = self.stacks() {
            for s in stacks.iter().filter(|s| s.offline.as_ref().and_then(|o| o.by_pid) == Some(pid)) {
                match self.bring_online(&s.name) {
                    Ok(_) => self.note(&format!("interrupted: stack {} is back online", s.name)),
                    Err(e) => self.note(&format!("interrupted: could not bring stack {} online: {e}", s.name)),
                }
            }
        }
        if let Ok(jobs) = self.jobs(Some(JobState::Running.as_str()), None) {
            for j in jobs.into_iter().filter(|j| j.pid == pid) {
                let _ = self.end_unfinished_job(&j, JobState::Aborted, "interrupted by a signal");
            }
        }
        for name in crate::stacks::creations_in_this_process() {
            let reason = format!("interrupted by a signal before the stack was created; `hubkeep stack delete {name} --yes` removes what it left and frees the name");
            if let Err(e) = self.end_interrupted_creation(&name, &reason) {
                self.note(&format!("interrupted: could not mark stack {name} CREATE_FAILED: {e}"));
            }
        }
    }
}
