//! File-store recovery points: a stack's file store backed up into a vault
//! as one vault snapshot, known by a region- and vault-qualified ARN.

use crate::catalog::Kind;
use crate::error::{Error, ErrorKind, Result};
use crate::ids::{ArnKind, RecoveryPointArn, VaultObjectArn};
use crate::jobs::Bytes;
use crate::states::{JobState, RecoveryPointStatus};
use crate::records::{RecoveryPoint, Stack};
use crate::{now, Hubkeep};
use hubkeep_vault::{BackupOptions, RestoreOptions};
use std::path::Path;

/// What `restore-job start` prints.
#[derive(Debug, serde::Serialize)]
pub struct RestoreJobResult {
    /// The job.
    pub job_id: String,
    /// Its end state.
    pub state: crate::states::JobState,
    /// The point restored.
    pub recovery_point_arn: String,
    /// Where its files went.
    pub target: std::path::PathBuf,
    /// What the restore did.
    pub summary: hubkeep_vault::RestoreSummary,
}

/// What `backup-job start` prints.
#[derive(Debug, serde::Serialize)]
pub struct BackupJobResult {
    /// The job.
    pub job_id: String,
    /// Its state at the end.
    pub state: JobState,
    /// The recovery point made.
    pub recovery_point_arn: RecoveryPointArn,
    /// The vault it went into.
    pub vault: crate::ids::VaultName,
    /// The stack backed up.
    pub stack: String,
    /// Bytes read from the file store.
    pub bytes_read: u64,
    /// Bytes not already in the vault.
    pub bytes_new: u64,
    /// Bytes written to the vault's store.
    pub bytes_stored: u64,
    /// Files backed up.
    pub files: u64,
    /// Files unchanged since the previous point (not read again).
    pub files_unchanged: u64,
    /// Sockets, FIFOs and devices in the store: skipped, as a vault holds none.
    pub special_files: Vec<hubkeep_vault::SpecialFile>,
}

impl Hubkeep {
    /// The recovery point `arn`.
    pub fn recovery_point(&self, arn: &str) -> Result<RecoveryPoint> {
        let parsed = VaultObjectArn::parse(arn)?.expect_kind(ArnKind::RecoveryPoint)?;
        self.check_arn_home(&parsed)?;
        self.home.catalog.get(Kind::RecoveryPoint, &parsed.to_string())?.ok_or_else(|| {
            Error::new(ErrorKind::RecoveryPointNotFound, format!("recovery point {arn} does not exist in this home; `hubkeep recovery-point list --vault {}` shows them", parsed.vault))
        })
    }

    /// An id of another region or of a vault this home does not know is
    /// refused as such, not as a missing recovery point.
    pub(crate) fn check_arn_home(&self, arn: &VaultObjectArn) -> Result<()> {
        if self.home.region(&arn.region).is_err() {
            return Err(Error::new(ErrorKind::WrongRegion, format!(
                "{arn} belongs to region {}, which this home does not have; restores work within one region: attach its vault in that region (`hubkeep vault attach {} --location … --recovery-key …`)",
                arn.region, arn.vault
            )));
        }
        let vault = self.vault_record(&arn.vault)?;
        if vault.region != arn.region {
            return Err(Error::new(ErrorKind::WrongRegion, format!("{arn} names region {}, but vault {} is in region {}", arn.region, arn.vault, vault.region)));
        }
        Ok(())
    }

    /// The recovery points, of one vault or all, oldest first.
    pub fn recovery_points(&self, vault: Option<&str>) -> Result<Vec<RecoveryPoint>> {
        if let Some(v) = vault {
            self.vault_record(v)?;
        }
        let all: Vec<RecoveryPoint> = self.home.catalog.list(Kind::RecoveryPoint)?;
        Ok(all.into_iter().filter(|r| vault.is_none_or(|v| r.vault == v)).collect())
    }

    /// Back up a stack's file store (the caller holds the stack lock).
    pub(crate) fn backup_files(&self, stack: &Stack, vault_name: Option<&crate::ids::VaultName>, job_id: Option<&str>) -> Result<BackupJobResult> {
        self.cancel.check("the file-store backup")?;
        let outputs = stack.outputs.clone().ok_or_else(|| Error::new(ErrorKind::StackState, format!("stack {} has no file store (status {})", stack.name, stack.status)))?;
        let vault_name = vault_name.unwrap_or(&outputs.daily_backup_vault).clone();
        self.vault_in_region(&vault_name, &stack.region)?;
        let vault = self.open_vault(&vault_name)?;
        let arn = RecoveryPointArn::new(&stack.region, &vault_name, &crate::ids::backup_set_id());
        let parent = self
            .recovery_points(Some(&vault_name))?
            .into_iter()
            .rev()
            .find(|r| r.stack == stack.name && r.status == RecoveryPointStatus::Available)
            .and_then(|r| r.vault_snapshot_id);
        let mut rp = RecoveryPoint {
            recovery_point_arn: arn.clone(),
            vault: vault_name.clone(),
            region: stack.region.clone(),
            stack: stack.name.clone(),
            status: RecoveryPointStatus::Creating,
            creation_date: now(),
            completion_date: None,
            vault_snapshot_id: None,
            job_id: None,
            storage_path: Some(outputs.storage_path.clone()),
            files: 0,
            bytes: 0,
            bytes_new: 0,
            bytes_stored: 0,
            automated: false,
            verify_failure: None,
        };
        let job = self.start_job("backup", Some(&stack.name), Some(&vault_name), job_id)?;
        rp.job_id = Some(job.id.clone());
        self.home.catalog.put(Kind::RecoveryPoint, &arn, &rp)?;
        self.job_resource(&job, &arn)?;
        let opts = BackupOptions {
            parent,
            kind: RecoveryPoint::VAULT_KIND.into(),
            meta: rp.to_vault_meta()?,
            progress: self.job_progress(&job, "files"),
            created: Some(crate::now()),
        };
        // The vault engine has no safe point inside a backup: a cancelled
        // backup stops before it starts, or ends as a finished one.
        let result = vault.backup_dir(&outputs.storage_path, &opts).map_err(|e| Error::from(e).context(format!("backing up {}", outputs.storage_path.display())));
        let bytes = match &result {
            Ok(s) => {
                self.job_note(&format!(
                    "recovery point {arn} of {}: {} files ({} unchanged), {} read, {} new, {} stored",
                    outputs.storage_path.display(),
                    s.files,
                    s.files_unchanged,
                    crate::human_bytes(s.bytes_read),
                    crate::human_bytes(s.bytes_new),
                    crate::human_bytes(s.bytes_stored)
                ));
                Bytes { read: s.bytes_read, new: s.bytes_new, stored: s.bytes_stored }
            }
            Err(_) => Bytes::default(),
        };
        let finished = self.finish_job(&job, bytes, result.as_ref().err())?;
        let summary = match result {
            Ok(s) => s,
            Err(e) => {
                self.home.catalog.delete(Kind::RecoveryPoint, &arn)?;
                return Err(e);
            }
        };
        self.home.catalog.update::<RecoveryPoint, _>(Kind::RecoveryPoint, &arn, |r| {
            r.status = RecoveryPointStatus::Available;
            r.completion_date = Some(now());
            r.vault_snapshot_id = Some(summary.id.clone());
            r.files = summary.files;
            r.bytes = summary.bytes_read;
            r.bytes_new = summary.bytes_new;
            r.bytes_stored = summary.bytes_stored;
            Ok(())
        })?;
        for f in &summary.special_files {
            self.note(&format!("warning: skipped the {} {}: a vault stores no sockets, FIFOs or devices", f.kind, f.path));
        }
        Ok(BackupJobResult {
            job_id: job.id.clone(),
            state: finished.state,
            recovery_point_arn: arn,
            vault: vault_name,
            stack: stack.name.to_string(),
            bytes_read: summary.bytes_read,
            bytes_new: summary.bytes_new,
            bytes_stored: summary.bytes_stored,
            files: summary.files,
            files_unchanged: summary.files_unchanged,
            special_files: summary.special_files,
        })
    }

    /// `backup-job start`: one stack's file store, under the stack lock.
    pub fn start_backup_job(&self, stack: &str, vault: Option<&crate::ids::VaultName>, job_id: Option<&str>) -> Result<BackupJobResult> {
        let stack = self.stack(stack)?;
        let _lock = self.lock_stack(&stack.name, "backup-job")?;
        self.backup_files(&stack, vault, job_id)
    }

    /// A recovery point that can be restored, or a refusal naming its status.
    pub(crate) fn available_recovery_point(&self, arn: &str) -> Result<RecoveryPoint> {
        let rp = self.recovery_point(arn)?;
        if rp.status == RecoveryPointStatus::Unverified {
            return Err(Error::new(ErrorKind::RecoveryPointNotAvailable, format!("recovery point {arn} is UNVERIFIED: its tree could not be read when its vault was attached; `hubkeep verify {arn}` names the damage and makes it AVAILABLE once it passes")));
        }
        if rp.status != RecoveryPointStatus::Available {
            return Err(Error::new(ErrorKind::RecoveryPointNotAvailable, format!("recovery point {arn} is {}, not AVAILABLE; use an available one (`hubkeep recovery-point list --vault {}`)", rp.status, rp.vault)));
        }
        Ok(rp)
    }

    /// What `restore-job start` would refuse, checked without starting it
    /// (for `--no-wait`): the point must be AVAILABLE, the target new or empty.
    pub fn check_restore_job(&self, arn: &str, target: &Path) -> Result<()> {
        self.available_recovery_point(arn)?;
        let not_empty = match std::fs::read_dir(target) {
            Ok(mut entries) => entries.next().is_some(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
            Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => true,
            Err(e) => return Err(Error::from(e).context(format!("reading the restore target {}", target.display()))),
        };
        if not_empty {
            return Err(Error::from(hubkeep_vault::VaultError::TargetNotEmpty { target: target.display().to_string() }));
        }
        Ok(())
    }

    /// `restore-job start`: files only, into a new or empty directory.
    pub fn start_restore_job(&self, arn: &str, target: &Path, skip_damaged: bool) -> Result<RestoreJobResult> {
        let rp = self.available_recovery_point(arn)?;
        let vault = self.open_vault(&rp.vault)?;
        self.cancel.check("the file restore")?;
        let job = self.start_job("restore", Some(&rp.stack), Some(&rp.vault), None)?;
        self.job_resource(&job, arn)?;
        self.job_target(&job, target)?;
        let opts = RestoreOptions { skip_damaged, progress: self.job_progress(&job, "files") };
        let result = vault.restore_dir(rp.vault_snapshot_id.as_deref().unwrap_or_default(), target, &opts).map_err(Error::from);
        let bytes = Bytes { read: rp.bytes, ..Default::default() };
        let finished = self.finish_job(&job, bytes, result.as_ref().err())?;
        let summary = result.map_err(|e| e.context(format!("restoring {arn} into {}", target.display())))?;
        Ok(RestoreJobResult { job_id: job.id.clone(), state: finished.state, recovery_point_arn: arn.to_string(), target: target.to_path_buf(), summary })
    }

    /// Delete a point; one that belongs to a backup set only with `force`,
    /// which marks the set BROKEN.
    pub fn delete_recovery_point(&self, arn: &str, force: bool) -> Result<RecoveryPoint> {
        let rp = self.recovery_point(arn)?;
        if rp.status == RecoveryPointStatus::Creating {
            return Err(Error::new(ErrorKind::RecoveryPointBusy, format!("recovery point {arn} is still being created; wait for its job to finish")));
        }
        self.release_backup_set_part(&rp.recovery_point_arn, "recovery point", force)?;
        let mut deleting = rp.clone();
        deleting.status = RecoveryPointStatus::Deleting;
        self.home.catalog.put(Kind::RecoveryPoint, &rp.recovery_point_arn, &deleting)?;
        if let Some(vid) = &rp.vault_snapshot_id {
            self.open_vault(&rp.vault)?.delete_snapshot(vid)?;
        }
        self.home.catalog.delete(Kind::RecoveryPoint, &rp.recovery_point_arn)?;
        Ok(deleting)
    }

    /// Garbage-collect a vault: data no snapshot references, older than
    /// `grace`, is removed.
    pub fn gc_vault(&self, name: &str, grace: std::time::Duration) -> Result<hubkeep_vault::GcReport> {
        Ok(self.open_vault(name)?.gc(grace)?)
    }
}
