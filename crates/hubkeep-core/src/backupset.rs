//! The whole manual procedure in one command: offline (if asked), database
//! snapshot, file-store recovery point, back online on every exit path, and
//! a backup set tying them together with key fingerprints and, encrypted in
//! the vault, the key bundle that makes the backup restorable anywhere.

use crate::catalog::Kind;
use crate::dbsnap::SnapshotRequest;
use crate::error::{Error, ErrorKind, Result};
use crate::ids::BackupSetId;
use crate::states::{BackupSetStatus, StackStatus};
use crate::records::{BackupSet, Drift, KeyBundle, Profile, Stack};
use crate::{now, Hubkeep};
use std::collections::BTreeMap;

/// What `backup` asks for.
pub struct BackupRequest<'a> {
    /// The stack to back up.
    pub stack: &'a str,
    /// Take the hub offline for a backup from one instant.
    pub offline: bool,
    /// The vault; the stack's daily vault when `None`.
    pub vault: Option<crate::ids::VaultName>,
    /// Refuse when the file store and database disagree.
    pub strict: bool,
    /// The id of the backup's first job, when the caller named it (`--no-wait`).
    pub job_id: Option<String>,
    /// A plan's backup (`--automated`): retention may expire it.
    pub automated: bool,
}

/// Brings a hub back online when the backup that took it offline ends,
/// however it ends (error or panic); signals are handled by `abort_run`.
struct OnlineGuard<'a> {
    hk: &'a Hubkeep,
    stack: String,
    armed: bool,
}

impl OnlineGuard<'_> {
    fn release(mut self) -> Result<()> {
        self.armed = false;
        self.hk.bring_online(&self.stack).map(|_| ())
    }
}

impl Drop for OnlineGuard<'_> {
    fn drop(&mut self) {
        if self.armed {
            if let Err(e) = self.hk.bring_online(&self.stack) {
                self.hk.note(&format!("warning: could not bring stack {} back online: {e}; run `hubkeep stack update {} --online`", self.stack, self.stack));
            }
        }
    }
}

impl Hubkeep {

    /// `hubkeep backup STACK [--offline]`, with its events and pings.
    pub fn backup(&self, req: &BackupRequest) -> Result<BackupSet> {
        let set = self.backup_with_events(req, |req| self.backup_once(req))?;
        self.sample_vault_size(&set.vault);
        Ok(set)
    }

    fn backup_once(&self, req: &BackupRequest) -> Result<BackupSet> {
        let stack = self.stack(req.stack)?;
        let _lock = self.lock_stack(&stack.name, "backup")?;
        let stack = self.stack(req.stack)?;
        if !matches!(stack.status, StackStatus::Online | StackStatus::Offline) {
            return Err(Error::new(ErrorKind::StackState, format!("stack {} is {}; only an ONLINE or OFFLINE stack can be backed up", stack.name, stack.status)));
        }
        let outputs = stack.outputs.clone().ok_or_else(|| Error::new(ErrorKind::StackState, format!("stack {} has no resources", stack.name)))?;
        let vault = req.vault.clone().unwrap_or(outputs.daily_backup_vault.clone());
        self.vault_in_region(&vault, &stack.region)?;
        let mut warnings = self.missing_key_warnings(&stack);
        for w in &warnings {
            self.note(&format!("warning: {w}"));
        }
        let started_at = now();
        let drift = self.drift(&stack)?;
        if let Some(d) = &drift {
            if d.rows_without_blob + d.blobs_without_row > 0 {
                let msg = format!(
                    "the file store and database of stack {} disagree: {} owned_files rows without a blob, {} blobs without a row (e.g. {})",
                    stack.name, d.rows_without_blob, d.blobs_without_row, d.examples.join(", ")
                );
                if req.strict {
                    return Err(Error::new(ErrorKind::Drift, format!("{msg}; fix them or back up without --strict")));
                }
                self.note(&format!("warning: {msg}"));
                warnings.push(msg);
            }
        }
        let was_offline = stack.offline.is_some();
        let guard = if req.offline && !was_offline {
            self.take_offline(&stack.name, None, Some(std::process::id()))?;
            Some(OnlineGuard { hk: self, stack: stack.name.to_string(), armed: true })
        } else {
            None
        };
        let snap = self.snapshot_database(&SnapshotRequest { stack: &stack.name, id: None, vault: Some(vault.clone()), automated: req.automated, job_id: req.job_id.clone() })?;
        // Read after the snapshot, whose job is the one a database that cannot
        // be reached fails (and names in `backup.failed`).
        let migration_level = self.migration_level(&stack)?;
        let files = self.backup_files(&stack, Some(&vault), None)?;
        if req.automated {
            self.home.catalog.update::<crate::records::RecoveryPoint, _>(Kind::RecoveryPoint, &files.recovery_point_arn, |rp| {
                rp.automated = true;
                Ok(())
            })?;
        }
        warnings.extend(files.special_files.iter().map(|f| format!("skipped the {} {}: a vault stores no sockets, FIFOs or devices", f.kind, f.path)));
        if let Some(g) = guard {
            g.release()?;
        }
        let consistent = req.offline || was_offline;
        let mut set = BackupSet {
            backup_id: BackupSetId::new(&stack.region, &vault, &crate::ids::backup_set_id()),
            stack_name: stack.name.clone(),
            db_snapshot_id: snap.id.clone(),
            db_secret_arn: outputs.database_secret_arn.clone(),
            vault: vault.clone(),
            recovery_point_arn: files.recovery_point_arn.clone(),
            region: stack.region.clone(),
            domain: stack.domain.clone(),
            profile: stack.profile,
            app_version: stack.app_version.clone(),
            migration_level,
            offline: req.offline,
            consistent,
            note: if consistent {
                "the database and the file store are from one instant: the hub was offline".into()
            } else {
                "the hub stayed online: the database snapshot was taken first, then the file store; they are not from one instant (use --offline for that)".into()
            },
            key_fingerprints: self.key_fingerprints(&stack)?,
            drift,
            warnings,
            started_at,
            finished_at: now(),
            vault_snapshot_id: None,
            status: BackupSetStatus::Available,
            missing_parts: vec![],
            automated: req.automated,
            verified_at: None,
            origin: crate::records::SetOrigin::Backup,
            imported_from: None,
        };
        self.store_backup_set(&stack, &mut set, &self.key_bundle(&stack)?)?;
        Ok(set)
    }

    fn key_fingerprints(&self, stack: &Stack) -> Result<BTreeMap<String, String>> {
        let secrets = self.home.secrets();
        let key = self.home.fingerprint_key();
        let mut out = BTreeMap::new();
        for m in secrets.list_prefix(&crate::names::keymaster_prefix(&stack.name))? {
            if let Some(v) = secrets.value(&m.name)? {
                out.insert(m.name.clone(), crate::secrets::keyed_fingerprint(&key, &v));
            }
        }
        if let Some(o) = &stack.outputs {
            if let Ok((meta, v)) = secrets.get(&o.database_secret_arn) {
                out.insert(meta.name, crate::secrets::keyed_fingerprint(&key, &v));
            }
        }
        Ok(out)
    }

    fn key_bundle(&self, stack: &Stack) -> Result<KeyBundle> {
        let secrets = self.home.secrets();
        let prefix = crate::names::keymaster_prefix(&stack.name);
        let mut keymaster = BTreeMap::new();
        for m in secrets.list_prefix(&prefix)? {
            if let Some(v) = secrets.value(&m.name)? {
                keymaster.insert(m.name[prefix.len()..].to_string(), v);
            }
        }
        let arn = &stack.outputs.as_ref().expect("checked by the caller").database_secret_arn;
        let (meta, value) = secrets.get(arn)?;
        Ok(KeyBundle { keymaster, db_secret_name: meta.name, db_secret_value: serde_json::from_str(&value)? })
    }

    /// Hubs drift: owned_files rows without a blob and blobs without a row.
    fn drift(&self, stack: &Stack) -> Result<Option<Drift>> {
        if stack.profile != Profile::Hubs {
            return Ok(None);
        }
        let Some(o) = &stack.outputs else { return Ok(None) };
        let url = self.admin_conn(stack)?.url_with_password();
        match hubkeep_hubs::drift(&url, &o.storage_path) {
            Ok(d) => {
                let examples = d.rows_without_blob.iter().chain(d.blobs_without_row.iter()).take(5).cloned().collect();
                Ok(Some(Drift { rows_without_blob: d.rows_without_blob.len(), blobs_without_row: d.blobs_without_row.len(), examples }))
            }
            Err(e) => {
                self.note(&format!("warning: the Hubs drift check of stack {} could not run: {e}", stack.name));
                Ok(None)
            }
        }
    }

    /// Backups that cannot be restored without this secret: those whose
    /// database secret it is, or whose stack's `/keymaster/…` it belongs to.
    pub fn backups_needing_secret(&self, secret: &crate::secrets::SecretMeta) -> Result<Vec<String>> {
        let mut out = vec![];
        for set in self.backup_sets()? {
            if secret.arn.as_deref() == Some(set.db_secret_arn.as_str()) || secret.name.starts_with(&crate::names::keymaster_prefix(&set.stack_name)) {
                out.push(set.backup_id.into());
            }
        }
        for s in self.db_snapshots(None)? {
            if secret.arn.is_some() && s.db_secret_arn == secret.arn || secret.name.starts_with(&crate::names::keymaster_prefix(&s.stack)) {
                out.push(s.id.into());
            }
        }
        Ok(out)
    }

}
