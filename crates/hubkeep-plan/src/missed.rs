//! Missed runs: what the daemon does about a plan's scheduled backup now.
//!
//! The daemon remembers, per plan, the last scheduled time it has handled
//! (run or expired). From that, the plan and the clock, [`decide`] says what
//! to do next. Each scheduled time is handled once: it is run if the run can
//! start within the plan's start window after it, and expired otherwise.
//! When several times were missed, one backup now serves them all: only the
//! newest is run, the older ones are expired.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::Plan;

/// At most this many missed times are expired in one decision; the caller
/// records them and asks again (a plan every minute, down for a year).
pub const MAX_EXPIRED_PER_DECISION: usize = 1000;

/// What to do about a plan's scheduled backup now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    /// Run the backup for this scheduled time now; record it as handled
    /// before starting, so it is never run twice.
    Run {
        /// The scheduled time this run is for.
        scheduled_for: DateTime<Utc>,
    },
    /// Record these scheduled times (oldest first) as `EXPIRED` jobs, send
    /// `backup.missed` for each, record the last as handled, and ask again.
    Expire {
        /// The missed times, oldest first.
        scheduled_for: Vec<DateTime<Utc>>,
    },
    /// Nothing is due; ask again at this instant.
    Wait {
        /// The next scheduled time.
        until: DateTime<Utc>,
    },
    /// The plan is disabled: nothing runs. When it is enabled again, the
    /// caller records the enabling time as handled, so the times it was off
    /// are neither run nor expired.
    Disabled,
}

/// What to do now about `plan`'s backup, given the last scheduled time
/// already handled (or, before the first run, the time the plan was
/// created or enabled) and the clock's `now`.
pub fn decide(plan: &Plan, last_handled: DateTime<Utc>, now: DateTime<Utc>) -> Decision {
    if !plan.enabled {
        return Decision::Disabled;
    }
    let mut due = Vec::new();
    let mut next = plan.schedule.next_run(plan.timezone, last_handled);
    while next <= now {
        if due.len() == MAX_EXPIRED_PER_DECISION {
            // More are due after these, so all of these are superseded.
            return Decision::Expire { scheduled_for: due };
        }
        due.push(next);
        next = plan.schedule.next_run(plan.timezone, next);
    }
    let Some(&newest) = due.last() else {
        return Decision::Wait { until: next };
    };
    if now < newest + plan.start_window.duration() {
        if due.len() == 1 {
            return Decision::Run {
                scheduled_for: newest,
            };
        }
        due.pop();
    }
    Decision::Expire { scheduled_for: due }
}

/// Where [`decide`] starts for a plan whose backup the daemon has never
/// handled: the stack's creation, but at most one day plus the start window
/// back. A home older than its first `hubkeep serve` is answered for its
/// latest nights (one run or one expiry), not for every night since the
/// stack was created.
pub fn first_look(plan: &Plan, stack_created_at: DateTime<Utc>, now: DateTime<Utc>) -> DateTime<Utc> {
    stack_created_at.max(now - chrono::Duration::days(1) - plan.start_window.duration())
}
