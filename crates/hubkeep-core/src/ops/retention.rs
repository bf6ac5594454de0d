//! `retention run [--stack S] [--dry-run]`: each stack's backup sets go
//! through its plan's keep rules (`hubkeep_plan::retention::decide`), as a
//! unit. An expired set is marked EXPIRED first (never restored again),
//! then its database snapshot and recovery point go through the ordinary
//! delete paths (status `deleting`, their vault snapshots removed) and its
//! own vault snapshot (the key bundle) is removed; the next `vault gc`
//! frees their data, with its grace period and leases as always.

use crate::catalog::Kind;
use crate::error::Result;
use crate::records::{BackupSet, DbSnapshot, RecoveryPoint};
use crate::states::BackupSetStatus;
use crate::Hubkeep;
use chrono::{DateTime, Utc};
use hubkeep_plan::retention::{decide, Fate, Rule, SetSummary};
use serde::Serialize;

/// `retention run`'s options.
#[derive(Debug, Clone, Default)]
pub struct RetentionRun {
    /// Only this stack; every stack when `None`.
    pub stack: Option<String>,
    /// Decide and report, change nothing.
    pub dry_run: bool,
}

/// What `retention run` prints: every set's fate, newest first per stack.
#[derive(Debug, Clone, Serialize)]
pub struct RetentionReport {
    /// True when nothing was changed.
    pub dry_run: bool,
    /// The sets kept, with the rules that keep each.
    pub keep: Vec<SetFate>,
    /// The sets expired (or, with --dry-run, that would be).
    pub expire: Vec<SetFate>,
}

/// One backup set's fate.
#[derive(Debug, Clone, Serialize)]
pub struct SetFate {
    /// The backup set's id.
    pub id: String,
    /// Its stack.
    pub stack: String,
    /// When it was taken.
    pub created_at: DateTime<Utc>,
    /// Whether a plan made it.
    pub automated: bool,
    /// The rules that keep it; `[]` for an expired set.
    pub rules: Vec<Rule>,
}

impl Hubkeep {
    /// `retention run [--stack S] [--dry-run]`.
    pub fn retention_run(&self, req: &RetentionRun) -> Result<RetentionReport> {
        let stacks = match &req.stack {
            Some(name) => vec![self.stack(name)?],
            None => self.stacks()?,
        };
        let all_sets = self.backup_sets()?;
        let mut report = RetentionReport {
            dry_run: req.dry_run,
            keep: vec![],
            expire: vec![],
        };
        for stack in &stacks {
            let plan = self.plan(&stack.name)?;
            let sets: Vec<&BackupSet> = all_sets
                .iter()
                .filter(|s| s.stack_name == stack.name && s.status != BackupSetStatus::Expired)
                .collect();
            let summaries: Vec<SetSummary> = sets
                .iter()
                .map(|s| SetSummary {
                    id: s.backup_id.to_string(),
                    created_at: s.started_at,
                    automated: s.automated,
                    good: s.verified_at.is_some(),
                })
                .collect();
            let verdict = decide(&summaries, &plan.retention, plan.timezone);
            let fate = |f: Fate| SetFate {
                automated: sets.iter().any(|s| s.backup_id.as_str() == f.id && s.automated),
                id: f.id,
                stack: stack.name.to_string(),
                created_at: f.created_at,
                rules: f.rules,
            };
            report.keep.extend(verdict.keep.into_iter().map(fate));
            let expire: Vec<SetFate> = verdict.expire.into_iter().map(fate).collect();
            if !req.dry_run {
                let _lock = self.lock_stack(&stack.name, "retention run")?;
                for f in &expire {
                    let set = sets
                        .iter()
                        .find(|s| s.backup_id.as_str() == f.id)
                        .expect("every fate is one of the sets decided");
                    self.expire_backup_set(set)?;
                    self.emit_expired(set);
                }
                // What an interrupted earlier run left of the sets it expired.
                for set in all_sets.iter().filter(|s| {
                    s.stack_name == stack.name
                        && s.status == BackupSetStatus::Expired
                        && s.vault_snapshot_id.is_some()
                }) {
                    self.expire_backup_set(set)?;
                }
            }
            if !req.dry_run && !expire.is_empty() {
                let mut vaults: Vec<&str> = sets.iter().map(|s| s.vault.as_str()).collect();
                vaults.sort_unstable();
                vaults.dedup();
                for vault in vaults {
                    self.sample_vault_size(vault);
                }
            }
            report.expire.extend(expire);
        }
        Ok(report)
    }

    /// After `vault gc`: the sets retention expired from this vault, whose
    /// parts are all gone, leave the lists (a note of each stays for
    /// `stack history`, so its night still reads `expired`).
    pub(crate) fn forget_expired_sets(&self, vault: &str) -> Result<()> {
        for set in self.backup_sets()?.into_iter().filter(|s| {
            s.vault == vault
                && s.status == BackupSetStatus::Expired
                && s.vault_snapshot_id.is_none()
        }) {
            self.home.catalog.transaction(|| {
                let note = crate::ops::history::ExpiredSet::from(&set);
                self.home.catalog.put(Kind::ExpiredSet, &note.backup_id, &note)?;
                self.home.catalog.delete(Kind::BackupSet, &set.backup_id)
            })?;
        }
        Ok(())
    }

    /// Expire one set: marked EXPIRED before any part goes, so a crash
    /// half-way leaves a set that is refused for restore, never one that
    /// looks whole; the next run finishes what is left (each step is
    /// skipped once done).
    fn expire_backup_set(&self, set: &BackupSet) -> Result<()> {
        self.home
            .catalog
            .update::<BackupSet, _>(Kind::BackupSet, &set.backup_id, |s| {
                s.status = BackupSetStatus::Expired;
                Ok(())
            })?;
        if self
            .home
            .catalog
            .get::<DbSnapshot>(Kind::DbSnapshot, &set.db_snapshot_id)?
            .is_some()
        {
            self.delete_db_snapshot(&set.db_snapshot_id, false)?;
        }
        if self
            .home
            .catalog
            .get::<RecoveryPoint>(Kind::RecoveryPoint, &set.recovery_point_arn)?
            .is_some()
        {
            self.delete_recovery_point(&set.recovery_point_arn, false)?;
        }
        if let Some(vid) = &set.vault_snapshot_id {
            match self.open_vault(&set.vault)?.delete_snapshot(vid) {
                Ok(()) | Err(hubkeep_vault::VaultError::SnapshotNotFound { .. }) => {}
                Err(e) => return Err(e.into()),
            }
            self.home
                .catalog
                .update::<BackupSet, _>(Kind::BackupSet, &set.backup_id, |s| {
                    s.vault_snapshot_id = None;
                    Ok(())
                })?;
        }
        self.note(&format!(
            "backup set {} of stack {} expired by retention; `hubkeep vault gc {}` frees its data",
            set.backup_id, set.stack_name, set.vault
        ));
        Ok(())
    }
}
