//! `stack history NAME [--nights N]`: one stack's recent past for the
//! console's pictures, from records the catalog already keeps.
//!
//! - `nights`: the last N local dates of the plan's time zone, oldest
//!   first, each with the plan's scheduled time that date and what came of
//!   it. A backup set, failed job or missed run counts for the date (in the
//!   plan's zone) it started on, a missed run for the date it was scheduled
//!   on. Of several things on one date, the best tells: `backed_up` (a set
//!   that is still kept), `expired` (its set was since expired by
//!   retention), `failed` (a `backup` or `db-snapshot` job FAILED),
//!   `missed` (the scheduler's missed-run record, or a scheduled time whose
//!   start window has passed with nothing recorded), `none` (no run was
//!   due: before the stack existed, no scheduled time that date, the plan
//!   disabled, or the time still to come).
//! - `vault_size`: the samples `ops/vault_sizes.rs` takes of the stack's
//!   daily vault after each backup, gc and retention run.
//! - `rto`: the restore time of each drill that got as far as timing it.

use crate::catalog::Kind;
use crate::error::{Error, Result};
use crate::ops::drills::DrillStatus;
use crate::records::BackupSet;
use crate::states::{BackupSetStatus, JobState};
use crate::{now, Hubkeep};
use chrono::{DateTime, Duration, NaiveDate, SubsecRound, TimeZone, Utc};
use serde::{Deserialize, Serialize};

/// How many nights `stack history` shows unless told.
pub const DEFAULT_NIGHTS: u32 = 30;
/// The most nights one answer holds.
pub const MAX_NIGHTS: u32 = 366;

/// `stack history NAME [--nights N]`.
#[derive(Debug, Clone)]
pub struct HistoryRequest {
    /// The stack.
    pub stack: String,
    /// How many nights, ending today in the plan's zone.
    pub nights: u32,
}

/// What `stack history --json` prints (and `GET /api/v1/stacks/{name}/history`).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StackHistory {
    /// The stack.
    pub stack: String,
    /// The plan's time zone, in which the nights are dates.
    pub timezone: String,
    /// When this history was read (the clock's now, to the second).
    pub at: DateTime<Utc>,
    /// The last nights, oldest first, ending today.
    pub nights: Vec<Night>,
    /// The stack's daily vault, whose size `vault_size` is; null without outputs.
    pub vault: Option<crate::ids::VaultName>,
    /// The vault's stored bytes over time, oldest first.
    pub vault_size: Vec<VaultSizePoint>,
    /// The drills' restore times, oldest first.
    pub rto: Vec<RtoPoint>,
}

/// One night of a stack's plan.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Night {
    /// The local date in the plan's zone.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub date: NaiveDate,
    /// When the plan's backup was scheduled that date; null when its
    /// schedule does not fire on it.
    pub scheduled_at: Option<DateTime<Utc>>,
    /// What came of it.
    pub state: NightState,
    /// Its backup set passed a full verify.
    pub verified: bool,
    /// Its backup set (the verified one, else the newest); null if none.
    pub backup_id: Option<String>,
}

/// What came of one night.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum NightState {
    /// A backup set of that night is kept.
    BackedUp,
    /// Its backup set was expired by retention.
    Expired,
    /// A backup failed and none succeeded.
    Failed,
    /// The scheduled backup did not start within its start window.
    Missed,
    /// No run was due.
    None,
}

/// A vault's size at one time.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VaultSizePoint {
    /// When it was sampled.
    pub at: DateTime<Utc>,
    /// Bytes the vault's database snapshots and recovery points added to its store.
    pub stored_bytes: u64,
}

/// One drill's restore time.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RtoPoint {
    /// When the drill started.
    pub at: DateTime<Utc>,
    /// Seconds from the start of its restore until the hub was checked.
    pub rto_seconds: f64,
    /// Whether the drill passed.
    pub passed: bool,
    /// The drill.
    pub drill_id: String,
}

/// A backup set retention expired and gc then forgot: kept so its night
/// still reads `expired` (`Kind::ExpiredSet`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExpiredSet {
    /// The set's id.
    pub backup_id: String,
    /// Its stack.
    pub stack: String,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it last passed a full verify.
    pub verified_at: Option<DateTime<Utc>>,
}

impl From<&BackupSet> for ExpiredSet {
    fn from(s: &BackupSet) -> ExpiredSet {
        ExpiredSet {
            backup_id: s.backup_id.to_string(),
            stack: s.stack_name.to_string(),
            started_at: s.started_at,
            verified_at: s.verified_at,
        }
    }
}

/// What one date holds, before it is told as a state.
#[derive(Default)]
struct DateFacts {
    kept: Vec<SetOfNight>,
    expired: Vec<SetOfNight>,
    failed: bool,
    missed: bool,
}

/// A backup set as a night sees it.
struct SetOfNight {
    started_at: DateTime<Utc>,
    backup_id: String,
    verified: bool,
}

impl Hubkeep {
    /// `stack history NAME [--nights N]`.
    pub fn stack_history(&self, req: &HistoryRequest) -> Result<StackHistory> {
        if req.nights == 0 || req.nights > MAX_NIGHTS {
            return Err(Error::invalid(format!(
                "--nights {} is out of range: give a number of nights from 1 to {MAX_NIGHTS}",
                req.nights
            )));
        }
        let stack = self.stack(&req.stack)?;
        let plan = self.plan(&stack.name)?;
        let tz = plan.timezone.tz();
        let at = now();
        let today = at.with_timezone(&tz).date_naive();
        let first = today - Duration::days(i64::from(req.nights) - 1);
        let date_of = |t: DateTime<Utc>| t.with_timezone(&tz).date_naive();

        let mut facts: std::collections::BTreeMap<NaiveDate, DateFacts> = Default::default();
        for set in self
            .backup_sets()?
            .iter()
            .filter(|s| s.stack_name == stack.name)
        {
            let f = facts.entry(date_of(set.started_at)).or_default();
            let entry = SetOfNight {
                started_at: set.started_at,
                backup_id: set.backup_id.to_string(),
                verified: set.verified_at.is_some(),
            };
            match set.status {
                BackupSetStatus::Expired => f.expired.push(entry),
                _ => f.kept.push(entry),
            }
        }
        let forgotten: Vec<ExpiredSet> = self.home.catalog.list(Kind::ExpiredSet)?;
        for set in forgotten.iter().filter(|s| s.stack == stack.name) {
            let f = facts.entry(date_of(set.started_at)).or_default();
            f.expired.push(SetOfNight {
                started_at: set.started_at,
                backup_id: set.backup_id.clone(),
                verified: set.verified_at.is_some(),
            });
        }
        for job in self.jobs(None, Some(&stack.name))? {
            let backup = matches!(job.kind.as_str(), "backup" | "db-snapshot");
            match job.state {
                JobState::Failed if backup => {
                    facts.entry(date_of(job.created_at)).or_default().failed = true
                }
                // A missed run's record is created at the time it was scheduled for.
                JobState::Expired if job.kind == "backup" => {
                    facts.entry(date_of(job.created_at)).or_default().missed = true
                }
                _ => {}
            }
        }

        let mut nights = Vec::with_capacity(req.nights as usize);
        for date in first.iter_days().take(req.nights as usize) {
            let scheduled_at = scheduled_on(&plan, date);
            let f = facts.remove(&date).unwrap_or_default();
            let due = plan.enabled
                && scheduled_at.is_some_and(|s| {
                    s >= stack.created_at && s + plan.start_window.duration() <= at
                });
            let (state, set) = if let Some(best) = best_set(&f.kept) {
                (NightState::BackedUp, Some(best))
            } else if let Some(best) = best_set(&f.expired) {
                (NightState::Expired, Some(best))
            } else if f.failed {
                (NightState::Failed, None)
            } else if f.missed || due {
                (NightState::Missed, None)
            } else {
                (NightState::None, None)
            };
            nights.push(Night {
                date,
                scheduled_at,
                state,
                verified: set.is_some_and(|s| s.verified),
                backup_id: set.map(|s| s.backup_id.clone()),
            });
        }

        let vault = stack.outputs.as_ref().map(|o| o.daily_backup_vault.clone());
        let vault_size = match &vault {
            Some(v) => self
                .vault_sizes(v)?
                .into_iter()
                .map(|s| VaultSizePoint {
                    at: s.at,
                    stored_bytes: s.stored_bytes,
                })
                .collect(),
            None => vec![],
        };
        let mut rto: Vec<RtoPoint> = self
            .drill_list(Some(&stack.name))?
            .into_iter()
            .filter_map(|d| {
                Some(RtoPoint {
                    at: d.started_at,
                    rto_seconds: d.rto_seconds?,
                    passed: d.status == DrillStatus::Passed,
                    drill_id: d.drill_id,
                })
            })
            .collect();
        rto.sort_by_key(|p| p.at);
        Ok(StackHistory {
            stack: stack.name.into(),
            timezone: plan.timezone.to_string(),
            at: at.trunc_subsecs(0),
            nights,
            vault,
            vault_size,
            rto,
        })
    }
}

/// The verified set of a date, else its newest.
fn best_set(sets: &[SetOfNight]) -> Option<&SetOfNight> {
    sets.iter().max_by_key(|s| (s.verified, s.started_at))
}

/// The plan's first scheduled backup on local `date`, if its schedule
/// fires that date.
fn scheduled_on(plan: &hubkeep_plan::Plan, date: NaiveDate) -> Option<DateTime<Utc>> {
    let tz = plan.timezone.tz();
    // Local midnight; where a change skips it, the first hour that exists.
    let start = (0..24).find_map(|hour| {
        tz.from_local_datetime(&date.and_hms_opt(hour, 0, 0)?)
            .earliest()
    })?;
    let run = plan.schedule.next_run(
        plan.timezone,
        start.with_timezone(&Utc) - Duration::seconds(1),
    );
    (run.with_timezone(&tz).date_naive() == date).then_some(run)
}
