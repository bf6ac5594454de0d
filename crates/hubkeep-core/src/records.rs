//! The catalog's records: what `show` and `list` print, in CLI.md's keys.

use crate::states::{BackupSetStatus, JobState, RecoveryPointStatus, SnapshotStatus, SnapshotType, StackStatus};
use crate::ids::{stored, stored_opt, BackupSetId, DbSnapshotId, RecoveryPointArn, StackName, VaultName};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// A vault as this home knows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VaultRecord {
    /// Its name in this home.
    #[serde(deserialize_with = "stored")]
    pub name: VaultName,
    /// The region it belongs to.
    pub region: String,
    /// Its location URL (`file://…` or `s3://…`).
    pub location: String,
    /// The vault's own id, the same on every home that attaches it.
    pub vault_id: String,
    /// The stack whose daily vault it is.
    #[serde(default, deserialize_with = "stored_opt")]
    pub stack: Option<StackName>,
    /// When this home created or attached it.
    pub created_at: DateTime<Utc>,
    /// True when this home opened an existing vault with its recovery key.
    #[serde(default)]
    pub attached: bool,
}

/// What kind of application a stack runs: the Hubs profile adds the Hubs check, drift and keys.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Profile {
    /// A Hubs (Reticulum) deployment.
    Hubs,
    /// Any database and file store.
    Generic,
}

/// How a stack came to be.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// Made fresh by `stack create`.
    Created,
    /// An existing deployment registered by `stack adopt`.
    Adopted,
    /// Made from a backup.
    Restored,
}

/// Where a stack's resources are (CLI.md's `outputs`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Outputs {
    /// The app's database name.
    pub app_db: String,
    /// A libpq URL of the app's database, without the password (that is in the database secret).
    pub database_url: String,
    /// The file store's directory name.
    pub storage_id: String,
    /// The file store's path.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub storage_path: PathBuf,
    /// The ARN of the stack's database secret.
    pub database_secret_arn: String,
    /// The stack's default vault.
    #[serde(deserialize_with = "stored")]
    pub daily_backup_vault: VaultName,
}

/// The five restore parameters: the same keys as a backup set.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RestoreParams {
    /// The source stack, whose keys are looked up by name.
    #[serde(deserialize_with = "stored")]
    pub stack_name: StackName,
    /// The database snapshot to restore.
    #[serde(deserialize_with = "stored")]
    pub db_snapshot_id: DbSnapshotId,
    /// The source's database secret.
    pub db_secret_arn: String,
    /// The vault holding the recovery point.
    #[serde(deserialize_with = "stored")]
    pub vault: VaultName,
    /// The file-store recovery point to restore.
    pub recovery_point_arn: RecoveryPointArn,
}

/// A stack in offline mode, with what undoes it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OfflineState {
    /// When it went offline.
    pub since: DateTime<Utc>,
    /// Where the operator sends visitors meanwhile.
    pub redirect_url: Option<String>,
    /// The database's connection limit before offline mode set it to 0.
    pub previous_connection_limit: i32,
    /// Set when a `backup --offline` run took the hub offline: if that
    /// process is gone, the next hubkeep command brings the hub back online.
    pub by_pid: Option<u32>,
}

/// The operator's commands around offline mode.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Hooks {
    /// Shell commands run when the hub goes offline / comes back online
    /// (e.g. scale the app to zero). They get HUBKEEP_STACK and
    /// HUBKEEP_REDIRECT_URL in their environment.
    pub offline: Option<String>,
    /// Run when the hub comes back online.
    pub online: Option<String>,
}

/// A hub: its database, file store, secrets and outputs (`stack show`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Stack {
    /// Its name.
    #[serde(deserialize_with = "stored")]
    pub name: StackName,
    /// Its region.
    pub region: String,
    /// Its domain.
    pub domain: Option<String>,
    /// Its profile.
    pub profile: Profile,
    /// The app version it runs, as the operator recorded it.
    pub app_version: Option<String>,
    /// Its status.
    pub status: StackStatus,
    /// Why it has that status (a failed creation's error).
    pub status_reason: Option<String>,
    /// How it came to be.
    pub origin: Origin,
    /// Where its resources are; `None` until created, and after a failed creation.
    pub outputs: Option<Outputs>,
    /// The five restore parameters it was made from.
    pub restored_from: Option<RestoreParams>,
    /// Set while it is offline.
    pub offline: Option<OfflineState>,
    /// The operator's offline/online hooks.
    #[serde(default)]
    pub hooks: Hooks,
    /// When its record was made.
    pub created_at: DateTime<Utc>,
    /// When its record last changed.
    pub updated_at: DateTime<Utc>,
    /// The file store hubkeep made for this stack while creating it, noted
    /// before the first file is written and before outputs exist: a creation
    /// that was killed leaves only this to say what `stack delete` removes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub made_storage: Option<PathBuf>,
    /// On a server region, the database and role (name, owner) this
    /// creation makes, noted before they are created, for the same reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub made_database: Option<(String, String)>,
}

/// A snapshot, backup or restore as a job (`job show`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Job {
    /// Its id.
    pub job_id: String,
    /// What it does (`db-snapshot`, `backup`, `restore`, `db-restore`, `stack-restore`).
    pub kind: String,
    /// The stack it works on.
    #[serde(default, deserialize_with = "stored_opt")]
    pub stack: Option<StackName>,
    /// Its state.
    pub state: JobState,
    /// The vault it reads or writes.
    #[serde(default, deserialize_with = "stored_opt")]
    pub vault: Option<VaultName>,
    /// What it creates or reads (snapshot id, recovery point ARN).
    pub resource: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it started.
    pub started_at: Option<DateTime<Utc>>,
    /// When it ended.
    pub finished_at: Option<DateTime<Utc>>,
    /// Bytes read from the source.
    pub bytes_read: u64,
    /// Bytes not already in the vault.
    pub bytes_new: u64,
    /// Bytes written to the vault's store.
    pub bytes_stored: u64,
    /// Why it failed or was aborted.
    pub error: Option<String>,
    /// The process running it: a job whose process is gone is reaped.
    pub pid: u32,
    /// A restore-job's target directory, so that what a killed restore
    /// wrote there is removed at the next command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub target: Option<std::path::PathBuf>,
    /// What a QUEUED job waits for ("stack hub1 is busy: job j-… (backup)").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting_for: Option<String>,
    /// Where a running job is (`phase`, `bytes_done`, `bytes_total`);
    /// null when it is not running or reports nothing.
    #[serde(default)]
    pub progress: Option<JobProgress>,
    /// The operation's notes, oldest first (the last `JOB_LOG_LINES`).
    #[serde(default)]
    pub log: Vec<LogLine>,
}

/// How far a running job is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JobProgress {
    /// What it is doing (`files`, `database`, …).
    pub phase: String,
    /// Bytes processed so far.
    pub bytes_done: u64,
    /// Bytes it expects to process.
    pub bytes_total: u64,
}

/// One note of a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogLine {
    /// When it was written.
    pub at: DateTime<Utc>,
    /// What it says.
    pub line: String,
}

/// How many notes a job record keeps (the newest).
pub const JOB_LOG_LINES: usize = 200;

/// A database snapshot (`db-snapshot show`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DbSnapshot {
    /// Its id.
    #[serde(deserialize_with = "stored")]
    pub id: DbSnapshotId,
    /// The stack whose database it holds.
    #[serde(deserialize_with = "stored")]
    pub stack: StackName,
    /// Its region.
    pub region: String,
    /// The vault holding it.
    #[serde(deserialize_with = "stored")]
    pub vault: VaultName,
    /// The vault snapshot holding its streams.
    pub vault_snapshot_id: Option<String>,
    /// `manual` or `automated`.
    pub snapshot_type: SnapshotType,
    /// Its status.
    pub status: SnapshotStatus,
    /// When it was started.
    pub created_at: DateTime<Utc>,
    /// When it ended.
    pub finished_at: Option<DateTime<Utc>>,
    /// The database it holds.
    pub database: String,
    /// Bytes of its streams.
    pub size_bytes: u64,
    /// Bytes not already in the vault.
    pub bytes_new: u64,
    /// Bytes written to the vault's store.
    pub bytes_stored: u64,
    /// The job that made it.
    pub job_id: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
    /// The database secret a restore of it needs.
    pub db_secret_arn: Option<String>,
    /// The snapshot's own metadata (versions, tables, row counts, checksums).
    pub metadata: Option<serde_json::Value>,
}

/// A file-store backup (`recovery-point show`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecoveryPoint {
    /// Its ARN (region and vault qualified).
    pub recovery_point_arn: RecoveryPointArn,
    /// The vault holding it.
    #[serde(deserialize_with = "stored")]
    pub vault: VaultName,
    /// Its region.
    pub region: String,
    /// The stack whose file store it holds.
    #[serde(deserialize_with = "stored")]
    pub stack: StackName,
    /// Its status.
    pub status: RecoveryPointStatus,
    /// When it was started.
    pub creation_date: DateTime<Utc>,
    /// When it was completed.
    pub completion_date: Option<DateTime<Utc>>,
    /// The vault snapshot holding its files.
    pub vault_snapshot_id: Option<String>,
    /// The job that made it.
    pub job_id: Option<String>,
    /// The file store it was taken from.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub storage_path: Option<PathBuf>,
    /// How many files it holds.
    pub files: u64,
    /// Bytes of its files.
    pub bytes: u64,
    /// Bytes not already in the vault.
    pub bytes_new: u64,
    /// Bytes written to the vault's store.
    pub bytes_stored: u64,
    /// Taken by a plan's backup (`backup --automated`).
    #[serde(default)]
    pub automated: bool,
    /// Set when a verify share found data of this recovery point in a bad
    /// pack: it may not restore completely.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify_failure: Option<VerifyFailure>,
}

/// What a verify found wrong with a recovery point's data.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VerifyFailure {
    /// When the verify found it.
    pub at: DateTime<Utc>,
    /// The damaged object, e.g. `packs/ab…`.
    pub object: String,
    /// What is wrong with it.
    pub message: String,
}

/// Where a Hubs file store and database disagree.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Drift {
    /// `owned_files` rows without a blob.
    pub rows_without_blob: usize,
    /// Blobs without an `owned_files` row.
    pub blobs_without_row: usize,
    /// A few of them.
    pub examples: Vec<String>,
}

/// A whole-hub backup: a database snapshot and a recovery point of one stack, with its key fingerprints (`backup-set show`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BackupSet {
    /// Its id (an ARN).
    pub backup_id: BackupSetId,
    /// The stack backed up.
    #[serde(deserialize_with = "stored")]
    pub stack_name: StackName,
    /// Its database snapshot.
    #[serde(deserialize_with = "stored")]
    pub db_snapshot_id: DbSnapshotId,
    /// The stack's database secret.
    pub db_secret_arn: String,
    /// The vault holding both parts and the key bundle.
    #[serde(deserialize_with = "stored")]
    pub vault: VaultName,
    /// Its file-store recovery point.
    pub recovery_point_arn: RecoveryPointArn,
    /// Its region.
    pub region: String,
    /// The stack's domain.
    pub domain: Option<String>,
    /// The stack's profile.
    pub profile: Profile,
    /// The stack's app version.
    pub app_version: Option<String>,
    /// Reticulum's migration level when it was taken: the newest version in
    /// `ret0.schema_migrations` (`null` without that table, or in a set
    /// made before hubkeep recorded it).
    #[serde(default)]
    pub migration_level: Option<i64>,
    /// Whether this backup took the hub offline.
    pub offline: bool,
    /// True only when the database and files are from one instant (offline).
    pub consistent: bool,
    /// What `consistent` means for this set, in words.
    pub note: String,
    /// Keyed fingerprints of the stack's keys and database secret, by name.
    pub key_fingerprints: BTreeMap<String, String>,
    /// The Hubs drift found when it was taken.
    pub drift: Option<Drift>,
    /// What the backup warned about.
    pub warnings: Vec<String>,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it finished.
    pub finished_at: DateTime<Utc>,
    /// The vault snapshot holding this set and its key bundle.
    pub vault_snapshot_id: Option<String>,
    /// `AVAILABLE`, or `BROKEN` once one of its parts was deleted (with
    /// `--force`): a broken set is listed, but restoring it is refused.
    #[serde(default = "set_available")]
    pub status: BackupSetStatus,
    /// The deleted parts of a BROKEN set (recovery point ARN, snapshot id).
    #[serde(default)]
    pub missing_parts: Vec<String>,
    /// Made by a plan (`backup --automated`): retention may expire it.
    #[serde(default)]
    pub automated: bool,
    /// When it last passed a full verify (`verify ID --read-data`): a
    /// "good" set for retention and `stack show`'s `last_verified_at`.
    #[serde(default)]
    pub verified_at: Option<DateTime<Utc>>,
    /// `backup` (made by `hubkeep backup`) or `imported` (`hubkeep import`);
    /// sets of catalogs older than this field are backups.
    #[serde(default)]
    pub origin: SetOrigin,
    /// Where an imported set came from; `null` for a backup.
    #[serde(default)]
    pub imported_from: Option<ImportedFrom>,
}

/// How a backup set came to be.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SetOrigin {
    /// Made by `hubkeep backup` from a stack.
    #[default]
    Backup,
    /// Made by `hubkeep import` from a backup taken outside hubkeep: never
    /// expired by retention (like a manual backup).
    Imported,
}

/// What an imported backup set was made from.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportedFrom {
    /// The import command: `ce-backup` (a Hubs Community Edition backup
    /// folder) or `dump` (a pg_dump and a copy of the file store).
    pub command: String,
    /// The CE backup folder taken (`data_backup_<ms>`), or the dump file.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub source: PathBuf,
    /// The copy of the file store that was imported.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub storage: PathBuf,
    /// `plain` (SQL script) or `custom` (`pg_dump -Fc`).
    pub dump_format: String,
    /// When the original backup was taken (the set's `started_at`).
    pub taken_at: DateTime<Utc>,
    /// Where that time comes from: the folder name, `--taken-at`, or the dump file's mtime.
    pub taken_at_from: String,
}

fn set_available() -> BackupSetStatus {
    BackupSetStatus::Available
}

/// What a backup set carries in the vault, encrypted under the vault's keys,
/// so a fresh home can restore the hub with nothing but the recovery key.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeyBundle {
    /// `/keymaster/<stack>/…` parameter values, by short name.
    pub keymaster: BTreeMap<String, String>,
    /// The name of the source's database secret.
    pub db_secret_name: String,
    /// Its value (the JSON object of a database secret).
    pub db_secret_value: serde_json::Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database snapshot record as an older hubkeep wrote it, whose stack,
    /// vault and id today's rules would refuse: it still loads, and is
    /// written back as it was.
    #[test]
    fn an_old_record_with_ids_todays_rules_refuse_still_loads() {
        let old = serde_json::json!({
            "id": "Old Hub snapshot:1",
            "stack": "Old_Hub",
            "region": "local",
            "vault": "old/daily",
            "vault_snapshot_id": null,
            "snapshot_type": "manual",
            "status": "available",
            "created_at": "2025-01-02T03:04:05Z",
            "finished_at": null,
            "database": "old_hub",
            "size_bytes": 1,
            "bytes_new": 1,
            "bytes_stored": 1,
            "job_id": null,
            "error": null,
            "db_secret_arn": null,
            "metadata": null
        });
        assert!(crate::ids::StackName::parse("Old_Hub").is_err());
        assert!(crate::ids::VaultName::parse("old/daily").is_err());
        assert!(crate::ids::DbSnapshotId::parse("Old Hub snapshot:1").is_err());
        let snap: DbSnapshot = serde_json::from_value(old.clone()).unwrap();
        assert_eq!(snap.stack, "Old_Hub");
        assert_eq!(snap.vault, "old/daily");
        assert_eq!(snap.id, "Old Hub snapshot:1");
        assert_eq!(serde_json::to_value(&snap).unwrap(), old);
    }
}
