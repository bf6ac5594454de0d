//! Database snapshots as catalog records: created by streaming a consistent
//! logical dump (hubkeep-pg) into a vault (hubkeep-vault), restored only
//! into an existing, empty database.

use crate::catalog::Kind;
use crate::cancel::CancelToken;
use crate::error::{Error, ErrorKind, Result};
use crate::jobs::Bytes;
use crate::states::{SnapshotStatus, SnapshotType};
use crate::records::{DbSnapshot, Stack};
use crate::{now, Hubkeep};
use hubkeep_pg::{ConnInfo, SnapshotMeta, SnapshotSink, SnapshotSource};
use hubkeep_vault::{SnapshotFiles, SnapshotWriter, Vault};
use std::collections::BTreeMap;
use std::io::{self, Read};
use std::sync::OnceLock;

struct VaultSink<'a> {
    writer: &'a mut SnapshotWriter,
    bytes: Bytes,
    cancel: &'a CancelToken,
}

impl SnapshotSink for VaultSink<'_> {
    fn put_stream(&mut self, name: &str, data: &mut dyn Read) -> io::Result<()> {
        // Between two streams is a safe point: the vault snapshot is not committed.
        self.cancel.check("the database snapshot").map_err(|e| io::Error::other(e.to_string()))?;
        let stats = self.writer.add_stream(name, data).map_err(|e| io::Error::other(e.to_string()))?;
        self.bytes.read += stats.bytes;
        self.bytes.new += stats.new_bytes;
        self.bytes.stored += stats.stored_bytes;
        Ok(())
    }
}

/// A vault snapshot's streams. The manifest, tree and the vault's index are
/// loaded once, when the first stream is opened, for all of them (a restore
/// opens one stream per table).
pub(crate) struct VaultSource {
    vault: Vault,
    snapshot: String,
    /// Checked before each stream is opened (none for a read-only check).
    cancel: Option<CancelToken>,
    files: OnceLock<std::result::Result<SnapshotFiles, String>>,
}

impl VaultSource {
    pub(crate) fn new(vault: Vault, snapshot: String, cancel: Option<CancelToken>) -> VaultSource {
        VaultSource { vault, snapshot, cancel, files: OnceLock::new() }
    }
}

impl SnapshotSource for VaultSource {
    fn open_stream(&self, name: &str) -> io::Result<Box<dyn Read + Send>> {
        if let Some(c) = &self.cancel {
            c.check("the database restore").map_err(|e| io::Error::other(e.to_string()))?;
        }
        let files = self.files.get_or_init(|| self.vault.snapshot_files(&self.snapshot).map_err(|e| e.to_string()));
        match files {
            Ok(files) => files.open_stream(name).map_err(|e| io::Error::other(e.to_string())),
            Err(message) => Err(io::Error::other(message.clone())),
        }
    }
}

/// What `db-snapshot create` asks for.
pub struct SnapshotRequest<'a> {
    /// The stack whose database is snapshotted.
    pub stack: &'a str,
    /// The snapshot's id; a generated one when `None`.
    pub id: Option<crate::ids::DbSnapshotId>,
    /// The vault; the stack's daily vault when `None`.
    pub vault: Option<crate::ids::VaultName>,
    /// A plan's run rather than a person's.
    pub automated: bool,
    /// The id of the job to run, when the caller named it (`--no-wait`).
    pub job_id: Option<String>,
}

impl Hubkeep {
    /// The database snapshot `id`.
    pub fn db_snapshot(&self, id: &str) -> Result<DbSnapshot> {
        self.home.catalog.get(Kind::DbSnapshot, id)?.ok_or_else(|| {
            Error::new(ErrorKind::DbSnapshotNotFound, format!("database snapshot {id} does not exist; `hubkeep db-snapshot list` shows them"))
        })
    }

    /// The database snapshots, of one stack or all, oldest first.
    pub fn db_snapshots(&self, stack: Option<&str>) -> Result<Vec<DbSnapshot>> {
        let all: Vec<DbSnapshot> = self.home.catalog.list(Kind::DbSnapshot)?;
        Ok(all.into_iter().filter(|s| stack.is_none_or(|st| s.stack == st)).collect())
    }

    /// `db-snapshot create`: snapshot a stack's database under its lock.
    pub fn create_db_snapshot(&self, req: &SnapshotRequest) -> Result<DbSnapshot> {
        let _lock = self.lock_stack(req.stack, "db-snapshot")?;
        self.snapshot_database(req)
    }

    /// Snapshot a stack's database (the caller holds the stack lock).
    pub(crate) fn snapshot_database(&self, req: &SnapshotRequest) -> Result<DbSnapshot> {
        let stack = self.stack(req.stack)?;
        self.snapshot_stack_database(&stack, None, req)
    }

    /// Snapshot the database of `stack`, a record or (for an import) a
    /// stack seen only by this run, through `admin` when given instead of
    /// hubkeep's own connection to the stack's database.
    pub(crate) fn snapshot_stack_database(&self, stack: &Stack, admin: Option<&ConnInfo>, req: &SnapshotRequest) -> Result<DbSnapshot> {
        let outputs = stack.outputs.clone().ok_or_else(|| Error::new(ErrorKind::StackState, format!("stack {} has no database (status {})", stack.name, stack.status)))?;
        let vault_name = req.vault.clone().unwrap_or(outputs.daily_backup_vault.clone());
        self.vault_in_region(&vault_name, &stack.region)?;
        let id = match &req.id {
            Some(id) => id.clone(),
            // Derived from the stack's name, which was checked when the stack was made.
            None if req.automated => crate::ids::DbSnapshotId::from_stored(crate::ids::automated_snapshot_id(&stack.name)),
            None => crate::ids::DbSnapshotId::from_stored(crate::ids::manual_snapshot_id(&stack.name)),
        };
        let record = DbSnapshot {
            id: id.clone(),
            stack: stack.name.clone(),
            region: stack.region.clone(),
            vault: vault_name.clone(),
            vault_snapshot_id: None,
            snapshot_type: if req.automated { SnapshotType::Automated } else { SnapshotType::Manual },
            status: SnapshotStatus::Creating,
            created_at: now(),
            finished_at: None,
            database: outputs.app_db.clone(),
            size_bytes: 0,
            bytes_new: 0,
            bytes_stored: 0,
            job_id: None,
            error: None,
            db_secret_arn: Some(outputs.database_secret_arn.clone()),
            metadata: None,
        };
        if !self.home.catalog.insert_new(Kind::DbSnapshot, &id, &record)? {
            return Err(Error::conflict(format!("a database snapshot with id {id} already exists; pick another --id")));
        }
        let job = self.start_job("db-snapshot", Some(&stack.name), Some(&vault_name), req.job_id.as_deref())?;
        self.job_resource(&job, &id)?;
        self.home.catalog.update::<DbSnapshot, _>(Kind::DbSnapshot, &id, |s| {
            s.job_id = Some(job.id.clone());
            Ok(())
        })?;
        let result = self.write_db_snapshot(stack, &record, admin).map_err(|e| self.cancelled_or(e, "the database snapshot"));
        let (bytes, outcome) = match result {
            Ok((bytes, vault_id, meta)) => {
                self.job_note(&format!(
                    "database snapshot {id} of {}: {} read, {} new, {} stored",
                    record.database,
                    crate::human_bytes(bytes.read),
                    crate::human_bytes(bytes.new),
                    crate::human_bytes(bytes.stored)
                ));
                (bytes, Ok((vault_id, meta)))
            }
            Err(e) => (Bytes::default(), Err(e)),
        };
        self.finish_job(&job, bytes, outcome.as_ref().err())?;
        match outcome {
            Ok((vault_id, meta)) => self.home.catalog.update::<DbSnapshot, _>(Kind::DbSnapshot, &id, |s| {
                s.status = SnapshotStatus::Available;
                s.finished_at = Some(now());
                s.vault_snapshot_id = Some(vault_id);
                s.size_bytes = bytes.read;
                s.bytes_new = bytes.new;
                s.bytes_stored = bytes.stored;
                s.metadata = Some(serde_json::to_value(&meta)?);
                Ok(())
            }),
            Err(e) => {
                self.home.catalog.update::<DbSnapshot, _>(Kind::DbSnapshot, &id, |s| {
                    s.status = SnapshotStatus::Failed;
                    s.finished_at = Some(now());
                    s.error = Some(e.message().to_string());
                    Ok(())
                })?;
                Err(e.context(format!("database snapshot {id} of stack {} failed", stack.name)))
            }
        }
    }

    fn write_db_snapshot(&self, stack: &Stack, record: &DbSnapshot, admin: Option<&ConnInfo>) -> Result<(Bytes, String, SnapshotMeta)> {
        let vault = self.open_vault(&record.vault)?;
        let admin = match admin {
            Some(a) => a.clone(),
            None => self.admin_conn(stack)?,
        };
        let meta = record.to_vault_meta()?;
        let mut writer = vault.writer(DbSnapshot::VAULT_KIND, meta)?.at(crate::now());
        let mut sink = VaultSink { writer: &mut writer, bytes: Bytes::default(), cancel: &self.cancel };
        let opts = hubkeep_pg::SnapshotOptions {
            role_passwords: self.known_role_passwords(stack),
            // Offline mode's temporary CONNECTION LIMIT 0 is not the hub's.
            ignore_db_settings: if stack.offline.is_some() { vec!["connection_limit".into()] } else { vec![] },
            progress: self.progress_lines(),
            ..Default::default()
        };
        let pg_meta = hubkeep_pg::create_snapshot(&admin, &mut sink, &opts)?;
        // On a terminal the snapshot's progress lines already said them.
        if self.progress.is_none() {
            for w in &pg_meta.warnings {
                self.note(&format!("warning: {w}"));
            }
        }
        let bytes = sink.bytes;
        let summary = writer.commit()?;
        Ok((bytes, summary.id, pg_meta))
    }

    /// Passwords hubkeep knows: the stack's own database role.
    fn known_role_passwords(&self, stack: &Stack) -> BTreeMap<String, String> {
        let mut m = BTreeMap::new();
        if let Ok(c) = self.app_conn(stack) {
            if let Some(p) = c.password {
                m.insert(c.user, p);
            }
        }
        m
    }

    /// Restore a snapshot into an existing, empty database.
    pub fn restore_db_snapshot(&self, id: &str, target: &ConnInfo, role_passwords: BTreeMap<String, String>) -> Result<hubkeep_pg::RestoreReport> {
        let snap = self.available_snapshot(id)?;
        let objects = hubkeep_pg::database_user_objects(target)?;
        if !objects.is_empty() {
            return Err(Error::new(ErrorKind::TargetNotEmpty, format!(
                "database {} at {}:{} is not empty (it holds {}{}); restore into a new, empty database",
                target.dbname, target.host, target.port,
                objects.iter().take(5).cloned().collect::<Vec<_>>().join(", "),
                if objects.len() > 5 { format!(" and {} more", objects.len() - 5) } else { String::new() }
            )));
        }
        let meta: SnapshotMeta = serde_json::from_value(snap.metadata.clone().ok_or_else(|| Error::new(ErrorKind::Corrupt, format!("database snapshot {id} has no metadata")))?)?;
        let source = VaultSource::new(self.open_vault(&snap.vault)?, snap.vault_snapshot_id.clone().unwrap_or_default(), Some(self.cancel.clone()));
        let job = self.start_job("db-restore", Some(&snap.stack), Some(&snap.vault), None)?;
        self.job_resource(&job, id)?;
        let opts = hubkeep_pg::RestoreOptions {
            role_passwords,
            progress: self.progress_lines(),
            ..Default::default()
        };
        let result = hubkeep_pg::restore_snapshot(&source, &meta, target, &opts).map_err(|e| self.cancelled_or(Error::from(e), "the database restore"));
        self.finish_job(&job, Bytes { read: snap.size_bytes, ..Default::default() }, result.as_ref().err())?;
        result.map_err(|e| e.context(format!("restoring database snapshot {id}")))
    }

    /// A snapshot that can be restored, or a refusal naming its status.
    pub(crate) fn available_snapshot(&self, id: &str) -> Result<DbSnapshot> {
        let snap = self.db_snapshot(id)?;
        if snap.status != SnapshotStatus::Available {
            return Err(Error::new(ErrorKind::SnapshotNotAvailable, format!(
                "database snapshot {id} is {}, not available{}; use an available snapshot (`hubkeep db-snapshot list`)",
                snap.status,
                snap.error.as_deref().map(|e| format!(" ({e})")).unwrap_or_default()
            )));
        }
        Ok(snap)
    }

    /// Delete a snapshot; one that belongs to a backup set only with
    /// `force`, which marks the set BROKEN.
    pub fn delete_db_snapshot(&self, id: &str, force: bool) -> Result<DbSnapshot> {
        let snap = self.db_snapshot(id)?;
        if snap.status == SnapshotStatus::Creating {
            return Err(Error::new(ErrorKind::SnapshotBusy, format!("database snapshot {id} is still being created; wait for it to finish")));
        }
        self.release_backup_set_part(&snap.id, "database snapshot", force)?;
        let mut deleting = snap.clone();
        deleting.status = SnapshotStatus::Deleting;
        self.home.catalog.put(Kind::DbSnapshot, id, &deleting)?;
        if let Some(vid) = &snap.vault_snapshot_id {
            self.open_vault(&snap.vault)?.delete_snapshot(vid)?;
        }
        self.home.catalog.delete(Kind::DbSnapshot, id)?;
        Ok(deleting)
    }

}
