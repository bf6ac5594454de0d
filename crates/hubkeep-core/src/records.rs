//! The catalog's records: what `show` and `list` print, in CLI.md's keys.

use crate::states::{BackupSetStatus, JobState, RecoveryPointStatus, SnapshotStatus, SnapshotType, StackStatus};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VaultRecord {
    pub name: String,
    pub region: String,
    pub location: String,
    pub vault_id: String,
    pub stack: Option<String>,
    pub created_at: DateTime<Utc>,
    /// True when this home opened an existing vault with its recovery key.
    #[serde(default)]
    pub attached: bool,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Profile {
    Hubs,
    Generic,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    Created,
    Adopted,
    Restored,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Outputs {
    pub app_db: String,
    pub database_url: String,
    pub storage_id: String,
    pub storage_path: PathBuf,
    pub database_secret_arn: String,
    pub daily_backup_vault: String,
}

/// The five restore parameters: the same keys as a backup set.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RestoreParams {
    pub stack_name: String,
    pub db_snapshot_id: String,
    pub db_secret_arn: String,
    pub vault: String,
    pub recovery_point_arn: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OfflineState {
    pub since: DateTime<Utc>,
    pub redirect_url: Option<String>,
    /// The database's connection limit before offline mode set it to 0.
    pub previous_connection_limit: i32,
    /// Set when a `backup --offline` run took the hub offline: if that
    /// process is gone, the next hubkeep command brings the hub back online.
    pub by_pid: Option<u32>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Hooks {
    /// Shell commands run when the hub goes offline / comes back online
    /// (e.g. scale the app to zero). They get HUBKEEP_STACK and
    /// HUBKEEP_REDIRECT_URL in their environment.
    pub offline: Option<String>,
    pub online: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Stack {
    pub name: String,
    pub region: String,
    pub domain: Option<String>,
    pub profile: Profile,
    pub app_version: Option<String>,
    pub status: StackStatus,
    pub status_reason: Option<String>,
    pub origin: Origin,
    pub outputs: Option<Outputs>,
    pub restored_from: Option<RestoreParams>,
    pub offline: Option<OfflineState>,
    #[serde(default)]
    pub hooks: Hooks,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The file store hubkeep made for this stack while creating it, noted
    /// before the first file is written and before outputs exist: a creation
    /// that was killed leaves only this to say what `stack delete` removes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub made_storage: Option<PathBuf>,
    /// On a server region, the database and role (name, owner) this
    /// creation makes, noted before they are created, for the same reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub made_database: Option<(String, String)>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Job {
    pub job_id: String,
    pub kind: String,
    pub stack: Option<String>,
    pub state: JobState,
    pub vault: Option<String>,
    pub resource: Option<String>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub bytes_read: u64,
    pub bytes_new: u64,
    pub bytes_stored: u64,
    pub error: Option<String>,
    pub pid: u32,
    /// A restore-job's target directory, so that what a killed restore
    /// wrote there is removed at the next command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<std::path::PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DbSnapshot {
    pub id: String,
    pub stack: String,
    pub region: String,
    pub vault: String,
    pub vault_snapshot_id: Option<String>,
    /// `manual` or `automated`.
    pub snapshot_type: SnapshotType,
    pub status: SnapshotStatus,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub database: String,
    pub size_bytes: u64,
    pub bytes_new: u64,
    pub bytes_stored: u64,
    pub job_id: Option<String>,
    pub error: Option<String>,
    pub db_secret_arn: Option<String>,
    /// The snapshot's own metadata (versions, tables, row counts, checksums).
    pub metadata: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecoveryPoint {
    pub recovery_point_arn: String,
    pub vault: String,
    pub region: String,
    pub stack: String,
    pub status: RecoveryPointStatus,
    pub creation_date: DateTime<Utc>,
    pub completion_date: Option<DateTime<Utc>>,
    pub vault_snapshot_id: Option<String>,
    pub job_id: Option<String>,
    pub storage_path: Option<PathBuf>,
    pub files: u64,
    pub bytes: u64,
    pub bytes_new: u64,
    pub bytes_stored: u64,
    /// Taken by a plan's backup (`backup --automated`).
    #[serde(default)]
    pub automated: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Drift {
    pub rows_without_blob: usize,
    pub blobs_without_row: usize,
    pub examples: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BackupSet {
    pub backup_id: String,
    pub stack_name: String,
    pub db_snapshot_id: String,
    pub db_secret_arn: String,
    pub vault: String,
    pub recovery_point_arn: String,
    pub region: String,
    pub domain: Option<String>,
    pub profile: Profile,
    pub app_version: Option<String>,
    pub offline: bool,
    /// True only when the database and files are from one instant (offline).
    pub consistent: bool,
    pub note: String,
    pub key_fingerprints: BTreeMap<String, String>,
    pub drift: Option<Drift>,
    pub warnings: Vec<String>,
    pub started_at: DateTime<Utc>,
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
}

fn set_available() -> BackupSetStatus {
    BackupSetStatus::Available
}

/// What a backup set carries in the vault, encrypted under the vault's keys,
/// so a fresh home can restore the hub with nothing but the recovery key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyBundle {
    /// `/keymaster/<stack>/…` parameter values, by short name.
    pub keymaster: BTreeMap<String, String>,
    pub db_secret_name: String,
    pub db_secret_value: serde_json::Value,
}
