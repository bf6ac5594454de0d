//! Restore drills: proof that a backup set restores, measured. A drill
//! restores a backup set into a throwaway stack (its own embedded cluster,
//! file store and secrets), runs the Hubs check, times it (the RTO), and
//! removes everything the throwaway stack had, whatever happened: the
//! drill's record and job stay, nothing else does.

use crate::ops::notify::event;
use hubkeep_notify::EventKind;
use crate::catalog::Kind;
use crate::error::{Error, ErrorKind, Result};
use crate::names::database_secret_name;
use crate::records::{BackupSet, Stack, VaultRecord};
use crate::states::{BackupSetStatus, JobState};
use crate::{now, Hubkeep};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// `drill run STACK [--backup ID]`.
#[derive(Debug, Clone)]
pub struct DrillRun {
    /// The stack whose backup is drilled.
    pub stack: String,
    /// The backup set to restore; the stack's newest AVAILABLE one when `None`.
    pub backup_id: Option<String>,
    /// The job id the caller named (a queue names its jobs before they run).
    pub job_id: Option<String>,
}

/// How a drill ended.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DrillStatus {
    /// Restoring and checking now; a drill left RUNNING by a dead process
    /// is cleaned up and FAILED by the next `recover`.
    Running,
    /// Restored, and the Hubs check passed.
    Passed,
    /// The restore or the check failed: `error` says why.
    Failed,
}

/// A drill as `drill list` shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Drill {
    /// Its id.
    pub drill_id: String,
    /// The stack whose backup was restored.
    pub stack: String,
    /// The backup set restored.
    pub backup_id: String,
    /// PASSED or FAILED (RUNNING while it runs).
    pub status: DrillStatus,
    /// Seconds from the start of the restore until the restored hub was
    /// checked; null when the drill failed before that.
    pub rto_seconds: Option<f64>,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it ended.
    pub finished_at: Option<DateTime<Utc>>,
    /// What the restored hub was checked for; null when no check ran.
    pub checks: Option<DrillChecks>,
    /// Why it failed.
    pub error: Option<String>,
    /// The drill's job.
    pub job_id: String,
    /// The throwaway stack's name (removed by the end of the drill).
    pub drill_stack: String,
}

/// What a drill checked in the restored hub.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DrillChecks {
    /// Rows restored per Hubs table (`ret0.*`), each counted against the
    /// snapshot's record by the restore.
    pub tables: BTreeMap<String, u64>,
    /// `owned_files` rows whose blob and meta file were found.
    pub owned_files: usize,
    /// Blobs whose header decrypted with the phoenix-key.
    pub blobs_decrypted: usize,
    /// Whether the Hubs check passed.
    pub passed: bool,
    /// The Hubs check's report (Hubs stacks; a generic stack's drill
    /// checks the restore's row counts only).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hubs_check: Option<hubkeep_hubs::CheckReport>,
}

/// The longest stack name a drill derives from: a throwaway name
/// `drill-<stack>-<yyyymmddhhmmss>` must itself be a valid stack name.
const DRILL_STACK_PREFIX_MAX: usize = crate::ids::STACK_NAME_MAX - "drill--yyyymmddhhmmss".len();

/// The throwaway stack's name for a drill of `stack` now.
fn drill_stack_name(stack: &str) -> String {
    let mut prefix: String = stack.chars().take(DRILL_STACK_PREFIX_MAX).collect();
    while prefix.ends_with('-') {
        prefix.pop();
    }
    format!(
        "drill-{}-{}",
        prefix.to_lowercase(),
        now().format("%Y%m%d%H%M%S")
    )
}

/// Removes the throwaway stack when dropped, also while a panic unwinds:
/// the happy path and every error path go through the same cleanup.
struct Throwaway<'a> {
    hk: &'a Hubkeep,
    name: String,
    source_stack: String,
    /// The secrets of the home before the restore: the source's secrets a
    /// restore writes from the key bundle are new ones, removed again.
    secrets_before: BTreeSet<String>,
    /// False once the name turned out to be taken by someone else's stack.
    armed: bool,
    /// What cleaning up failed on, once it ran.
    cleanup: Option<Result<()>>,
}

impl Throwaway<'_> {
    fn clean(&mut self) -> Result<()> {
        if let Some(done) = &self.cleanup {
            return done.clone();
        }
        let out = if self.armed {
            self.hk
                .remove_throwaway(&self.name, &self.source_stack, &self.secrets_before)
        } else {
            Ok(())
        };
        self.cleanup = Some(out.clone());
        out
    }
}

impl Drop for Throwaway<'_> {
    fn drop(&mut self) {
        if let Err(e) = self.clean() {
            self.hk.note(&format!(
                "warning: removing drill stack {} failed: {e}",
                self.name
            ));
        }
    }
}

impl Hubkeep {
    /// `drill run STACK [--backup ID]`: restore, check, time, remove. A
    /// failed drill is recorded FAILED and returned as an error naming why.
    pub fn drill_run(&self, req: &DrillRun) -> Result<Drill> {
        let set = self.drill_source(req)?;
        let name = drill_stack_name(&set.stack_name);
        self.ensure_new_stack(&name)?;
        let secrets_before: BTreeSet<String> = self
            .home
            .secrets()
            .list()?
            .into_iter()
            .map(|s| s.name)
            .collect();
        let job = self.start_job(
            "drill",
            Some(&set.stack_name),
            Some(&set.vault),
            req.job_id.as_deref(),
        )?;
        let mut drill = Drill {
            drill_id: format!(
                "drill-{}-{}",
                now().format("%Y%m%dT%H%M%S"),
                crate::ids::random_hex(4)
            ),
            stack: set.stack_name.to_string(),
            backup_id: set.backup_id.to_string(),
            status: DrillStatus::Running,
            rto_seconds: None,
            started_at: now(),
            finished_at: None,
            checks: None,
            error: None,
            job_id: job.id.clone(),
            drill_stack: name.clone(),
        };
        self.home
            .catalog
            .put(Kind::Drill, &drill.drill_id, &drill)?;
        self.job_resource(&job, &drill.drill_id)?;
        self.note(&format!(
            "drill {}: restoring backup set {} into throwaway stack {name}…",
            drill.drill_id, set.backup_id
        ));

        let mut throwaway = Throwaway {
            hk: self,
            name: name.clone(),
            source_stack: set.stack_name.to_string(),
            secrets_before,
            armed: true,
            cleanup: None,
        };
        let started = std::time::Instant::now();
        let outcome = self.drill_restore(&set, &name);
        if matches!(&outcome, Err(e) if e.kind() == ErrorKind::StackExists) {
            // Someone else took the name in between: the stack is theirs.
            throwaway.armed = false;
        }
        let rto = started.elapsed().as_secs_f64();
        let cleaned = throwaway.clean();
        drop(throwaway);

        let outcome = match (outcome, cleaned) {
            (Ok(checks), Ok(())) => Ok(checks),
            (Ok(_), Err(c)) => Err(c.context(format!("the drill restored and checked backup set {}, but removing throwaway stack {name} failed", set.backup_id))),
            (Err(e), Ok(())) => Err(e),
            (Err(e), Err(c)) => Err(e.context(format!("(removing throwaway stack {name} failed too: {c})"))),
        };
        drill.finished_at = Some(now());
        let result = match outcome {
            Ok(checks) if checks.passed => {
                drill.status = DrillStatus::Passed;
                drill.rto_seconds = Some((rto * 1000.0).round() / 1000.0);
                drill.checks = Some(checks);
                self.record_full_verify(&drill.backup_id)?;
                Ok(())
            }
            Ok(checks) => {
                drill.rto_seconds = Some((rto * 1000.0).round() / 1000.0);
                let summary = checks.hubs_check.as_ref().map(crate::restore::summarize_check).unwrap_or_default();
                drill.checks = Some(checks);
                Err(Error::new(
                    ErrorKind::DrillFailed,
                    format!(
                        "the Hubs check of the restored backup set {} failed: {summary}",
                        drill.backup_id
                    ),
                ))
            }
            Err(e) => Err(Error::new(
                ErrorKind::DrillFailed,
                format!(
                    "restoring backup set {} failed: {}",
                    drill.backup_id,
                    e.message()
                ),
            )),
        };
        if let Err(e) = &result {
            drill.status = DrillStatus::Failed;
            drill.error = Some(e.message().to_string());
        }
        self.home
            .catalog
            .put(Kind::Drill, &drill.drill_id, &drill)?;
        self.finish_job(&job, crate::jobs::Bytes::default(), result.as_ref().err())?;
        self.emit_drill(&drill);
        match result {
            Ok(()) => Ok(drill),
            Err(e) => {
                let detail = serde_json::to_value(&drill)?;
                Err(e
                    .context(format!(
                        "drill {} of stack {} FAILED; `hubkeep drill list --stack {}` shows it",
                        drill.drill_id, drill.stack, drill.stack
                    ))
                    .with_detail(detail))
            }
        }
    }

    /// `drill list [--stack S]`, oldest first.
    pub fn drill_list(&self, stack: Option<&str>) -> Result<Vec<Drill>> {
        let drills: Vec<Drill> = self.home.catalog.list(Kind::Drill)?;
        Ok(drills
            .into_iter()
            .filter(|d| stack.is_none_or(|s| d.stack == s))
            .collect())
    }

    /// Drills left RUNNING by a process that died (its job is no longer
    /// RUNNING once `reap_dead_jobs` ran): their throwaway stacks go, and
    /// they end FAILED.
    pub(crate) fn reap_abandoned_drills(&self) -> Result<()> {
        for d in self
            .drill_list(None)?
            .into_iter()
            .filter(|d| d.status == DrillStatus::Running)
        {
            if self
                .job(&d.job_id)
                .is_ok_and(|j| j.state == JobState::Running)
            {
                continue;
            }
            // The secrets of the home before it are unknown now: only the
            // throwaway stack's own are removed.
            let before: BTreeSet<String> = self
                .home
                .secrets()
                .list()?
                .into_iter()
                .map(|s| s.name)
                .collect();
            self.remove_throwaway(&d.drill_stack, &d.stack, &before)?;
            self.home
                .catalog
                .update::<Drill, _>(Kind::Drill, &d.drill_id, |d| {
                    d.status = DrillStatus::Failed;
                    d.finished_at = Some(now());
                    d.error =
                        Some("the drill was interrupted; its throwaway stack was removed".into());
                    Ok(())
                })?;
        }
        Ok(())
    }

    /// The backup set a drill restores.
    fn drill_source(&self, req: &DrillRun) -> Result<BackupSet> {
        match &req.backup_id {
            Some(id) => {
                let set = self.whole_backup_set(id)?;
                if set.stack_name != req.stack {
                    return Err(Error::invalid(format!(
                        "backup set {id} is a backup of stack {}, not of {}; `hubkeep drill run {} --backup {id}` drills it",
                        set.stack_name, req.stack, set.stack_name
                    )));
                }
                Ok(set)
            }
            None => self
                .backup_sets()?
                .into_iter()
                .filter(|s| s.stack_name == req.stack && s.status == BackupSetStatus::Available)
                .max_by_key(|s| s.finished_at)
                .ok_or_else(|| {
                    Error::new(ErrorKind::BackupNotFound, format!(
                        "stack {} has no AVAILABLE backup set to drill; `hubkeep backup {}` makes one",
                        req.stack, req.stack
                    ))
                }),
        }
    }

    /// Restore `set` into stack `name` and read what the restore checked.
    fn drill_restore(&self, set: &BackupSet, name: &str) -> Result<DrillChecks> {
        let restored = self.restore_backup(name, set.backup_id.as_str(), None, None, false)?;
        let snap = self.db_snapshot(&set.db_snapshot_id)?;
        let meta: Option<hubkeep_pg::SnapshotMeta> = snap.metadata.clone().map(serde_json::from_value).transpose()?;
        // A Hubs drill counts the Hubs tables; a generic one every table.
        let hubs = set.profile == crate::records::Profile::Hubs;
        let tables: BTreeMap<String, u64> = meta
            .iter()
            .flat_map(|m| &m.tables)
            .filter(|t| !hubs || t.schema == "ret0")
            .map(|t| (format!("{}.{}", t.schema, t.name), t.rows))
            .collect();
        // The restore itself refused any table whose rows differ from the
        // snapshot's record; a Hubs stack's files and keys are then checked.
        let report = restored.hubs_check;
        Ok(DrillChecks {
            tables,
            owned_files: report.as_ref().and_then(|r| r.category(hubkeep_hubs::OWNED_BLOB)).map_or(0, |c| c.ok),
            blobs_decrypted: report.as_ref().map_or(0, |r| r.sampled),
            passed: report.as_ref().is_none_or(|r| r.passed),
            hubs_check: report,
        })
    }

    /// Remove throwaway stack `name` and all it had: its database and
    /// cluster, file store, daily vault, plan, lock file and secrets, and
    /// the secrets of `source_stack` the restore wrote from the key bundle
    /// (those not in `before`). The source's own secrets are never touched.
    fn remove_throwaway(
        &self,
        name: &str,
        source_stack: &str,
        before: &BTreeSet<String>,
    ) -> Result<()> {
        if self.home.catalog.get::<Stack>(Kind::Stack, name)?.is_some() {
            self.delete_stack(name)?;
        }
        self.delete_plan(name)?;
        let vault = crate::names::daily_vault_name(name);
        if let Some(record) = self.home.catalog.get::<VaultRecord>(Kind::Vault, &vault)? {
            let store = crate::vaults::open_store(&record.location)?;
            for object in store.list("")? {
                store.delete(&object.name)?;
            }
            if let Some(path) = record.location.strip_prefix("file://") {
                if std::path::Path::new(path).exists() {
                    std::fs::remove_dir_all(path)?;
                }
            }
            self.home.catalog.delete(Kind::Vault, &vault)?;
        }
        let secrets = self.home.secrets();
        let [keys, settings, cluster] = crate::names::stack_prefixes(name);
        let own_prefixes = [keys, settings, cluster, crate::names::vault_prefix(&vault)];
        for s in secrets.list()? {
            let own = s.stack.as_deref() == Some(name)
                || s.name == database_secret_name(name)
                || own_prefixes.iter().any(|p| s.name.starts_with(p.as_str()));
            let copied = s.stack.as_deref() == Some(source_stack) && !before.contains(&s.name);
            if own || copied {
                secrets.remove_now(&s.name)?;
            }
        }
        let cluster = self.home.cluster_dir(name);
        if cluster.exists() {
            crate::provider::remove_dir_as_needed(&cluster)?;
        }
        let lock = self.home.lock_path(name);
        if lock.exists() {
            std::fs::remove_file(&lock)?;
        }
        Ok(())
    }

    /// `drill.passed` / `drill.failed`: a drill ended, with its RTO and checks.
    pub(crate) fn emit_drill(&self, drill: &crate::ops::drills::Drill) {
        let passed = drill.status == crate::ops::drills::DrillStatus::Passed;
        let (kind, message) = match passed {
            true => (EventKind::DrillPassed, format!("drill {} of stack {} PASSED: backup set {} restored and checked", drill.drill_id, drill.stack, drill.backup_id)),
            false => (EventKind::DrillFailed, format!("drill {} of stack {} FAILED: {}", drill.drill_id, drill.stack, drill.error.as_deref().unwrap_or("see `hubkeep drill list`"))),
        };
        let mut e = event(kind, Some(&drill.stack), message);
        e.job_id = Some(drill.job_id.clone());
        e.backup_id = Some(drill.backup_id.clone());
        e.details.insert("drill_id".into(), drill.drill_id.clone().into());
        if let Some(rto) = drill.rto_seconds {
            e.details.insert("rto_seconds".into(), rto.into());
        }
        self.emit(e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_throwaway_name_is_a_valid_stack_name_for_any_stack_name() {
        for stack in [
            "hub",
            "Hub-1",
            &"a".repeat(crate::ids::STACK_NAME_MAX),
            &format!("{}-{}", "b".repeat(35), "c".repeat(20)),
        ] {
            let name = drill_stack_name(stack);
            assert!(name.starts_with("drill-"), "{name}");
            crate::ids::check_stack_name(&name).unwrap_or_else(|e| panic!("{stack}: {name}: {e}"));
        }
        assert!(drill_stack_name("Hub-1").starts_with("drill-hub-1-"));
    }
}
