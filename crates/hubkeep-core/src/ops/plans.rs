//! Plans: one per stack, kept in the catalog beside it. A stack gets the
//! default plan when it is created, adopted or restored, loses it when it
//! is deleted, and a stack of an older home that has none reads as having
//! the default. `plan show` adds what the clock and the catalog say: when
//! the next backup is due and how the last automated one went.

use crate::catalog::Kind;
use crate::error::{Error, Result};
use crate::records::{BackupSet, Stack};
use crate::states::JobState;
use crate::{now, Hubkeep};
use chrono::{DateTime, Utc};
use hubkeep_plan::{Plan, PlanChange};
use serde::Serialize;

/// `plan show --json`: the plan with its next run and its last run.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlanView {
    /// The plan as stored.
    #[serde(flatten)]
    pub plan: Plan,
    /// When the next scheduled backup is due; null when the plan is disabled.
    pub next_run_at: Option<DateTime<Utc>>,
    /// The newest automated backup of the stack; null until there is one.
    pub last_run: Option<LastRun>,
}

/// The newest automated backup of a stack, as `plan show`'s `last_run`.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LastRun {
    /// The job that took its database snapshot.
    pub job_id: Option<String>,
    /// That job's state.
    pub state: JobState,
    /// The backup set it made.
    pub backup_id: String,
    /// When it finished.
    pub finished_at: DateTime<Utc>,
}

/// `stack show --json`: the stack with what its backups say about it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StackView {
    /// The stack record.
    #[serde(flatten)]
    pub stack: Stack,
    /// When its newest backup set finished; null when it has none.
    pub last_backup_at: Option<DateTime<Utc>>,
    /// When one of its backup sets last passed a full verify; null if never.
    pub last_verified_at: Option<DateTime<Utc>>,
    /// When its plan's next backup is due; null when the plan is disabled.
    pub next_backup_at: Option<DateTime<Utc>>,
    /// No good backup set is younger than its plan's RPO (checking it
    /// sends `rpo.breached` once per breach, see `check_rpo`).
    pub rpo_breached: bool,
}

/// Sets the process clock from `HUBKEEP_CLOCK`: a front door calls it
/// once at start, so a bad value is refused there, naming the variable.
pub fn init_clock() -> Result<()> {
    hubkeep_plan::clock::init_from_env()
        .map(|_| ())
        .map_err(|e| Error::invalid(e.to_string()))
}

impl Hubkeep {
    /// The plan of an existing stack: the stored one, or the default.
    pub fn plan(&self, stack: &str) -> Result<Plan> {
        let stack = self.stack(stack)?;
        Ok(self
            .home
            .catalog
            .get(Kind::Plan, &stack.name)?
            .unwrap_or_else(|| Plan::new(&stack.name)))
    }

    /// `plan show STACK`.
    pub fn plan_show(&self, stack: &str) -> Result<PlanView> {
        let plan = self.plan(stack)?;
        let sets = self.backup_sets()?;
        self.plan_view(plan, &sets)
    }

    /// `plan list`: the plans of every stack, in stack order.
    pub fn plan_list(&self) -> Result<Vec<PlanView>> {
        let sets = self.backup_sets()?;
        self.stacks()?
            .iter()
            .map(|s| self.plan_view(self.plan(&s.name)?, &sets))
            .collect()
    }

    /// `plan set STACK [options]`: every option is checked before anything
    /// is stored; an invalid one is refused naming it.
    pub fn plan_set(&self, stack: &str, change: &PlanChange) -> Result<PlanView> {
        let plan = self.plan(stack)?;
        let changed = plan
            .apply(change)
            .map_err(|e| Error::invalid(e.to_string()))?;
        self.home
            .catalog
            .put(Kind::Plan, &changed.stack, &changed)?;
        self.plan_show(stack)
    }

    /// Gives a new stack the default plan (kept if it already has one).
    pub(crate) fn create_plan(&self, stack: &str) -> Result<()> {
        self.home
            .catalog
            .insert_new(Kind::Plan, stack, &Plan::new(stack))
            .map(|_| ())
    }

    /// Removes a deleted stack's plan.
    pub(crate) fn delete_plan(&self, stack: &str) -> Result<()> {
        self.home.catalog.delete(Kind::Plan, stack)
    }

    /// Records that backup set `id` passed a full verify now: the fact
    /// retention's "newest good set" and `last_verified_at` read.
    pub(crate) fn record_full_verify(&self, id: &str) -> Result<()> {
        let at = now();
        self.home
            .catalog
            .update::<BackupSet, _>(Kind::BackupSet, id, |s| {
                s.verified_at = Some(at);
                Ok(())
            })
            .map(|_| ())
    }

    fn plan_view(&self, plan: Plan, sets: &[BackupSet]) -> Result<PlanView> {
        let newest = sets
            .iter()
            .filter(|s| s.stack_name == plan.stack && s.automated)
            .max_by_key(|s| s.finished_at);
        let last_run = match newest {
            None => None,
            Some(set) => {
                let job_id = self
                    .home
                    .catalog
                    .get::<crate::records::DbSnapshot>(Kind::DbSnapshot, &set.db_snapshot_id)?
                    .and_then(|s| s.job_id);
                let state = match &job_id {
                    Some(id) => self.job(id).map(|j| j.state).unwrap_or(JobState::Completed),
                    None => JobState::Completed,
                };
                Some(LastRun {
                    job_id,
                    state,
                    backup_id: set.backup_id.to_string(),
                    finished_at: set.finished_at,
                })
            }
        };
        Ok(PlanView {
            next_run_at: plan.next_backup_at(now()),
            last_run,
            plan,
        })
    }
}
