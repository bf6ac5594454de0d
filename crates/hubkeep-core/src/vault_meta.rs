//! How each record kind rides in its vault snapshot's encrypted `meta`, and
//! comes back from it when a vault is attached on any home: the writer and
//! the reader of each shape sit side by side, so `vault attach` only asks
//! each kind to read itself.

use crate::error::Result;
use crate::records::{BackupSet, DbSnapshot, KeyBundle, RecoveryPoint, Stack};
use crate::states::SnapshotStatus;
use hubkeep_vault::SnapshotInfo;
use serde_json::{json, Value};

impl RecoveryPoint {
    /// The vault snapshot kind of a file-store recovery point.
    pub(crate) const VAULT_KIND: &'static str = "files";

    /// What its vault snapshot carries: the record itself.
    pub(crate) fn to_vault_meta(&self) -> Result<Value> {
        Ok(serde_json::to_value(self)?)
    }

    /// The record of an attached vault's snapshot, named in `vault` of
    /// `region`; its status is decided by the caller (a tree that reads).
    pub(crate) fn from_vault(info: &SnapshotInfo, region: &str, vault: &str) -> serde_json::Result<RecoveryPoint> {
        let mut rp: RecoveryPoint = serde_json::from_value(info.meta.clone())?;
        rp.recovery_point_arn = rp.recovery_point_arn.moved_to(region, vault);
        rp.vault = crate::ids::VaultName::from_stored(vault);
        rp.region = region.into();
        rp.completion_date = Some(info.created);
        rp.vault_snapshot_id = Some(info.id.clone());
        rp.files = info.stats.files;
        rp.bytes = info.stats.bytes;
        Ok(rp)
    }
}

impl DbSnapshot {
    /// The vault snapshot kind of a database snapshot.
    pub(crate) const VAULT_KIND: &'static str = "db-snapshot";

    /// The stream in which hubkeep-pg writes the snapshot's metadata (JSON):
    /// what `from_vault` needs besides the `meta`.
    pub(crate) const META_STREAM: &'static str = "meta.json";

    /// What its vault snapshot carries: the record as it was started.
    pub(crate) fn to_vault_meta(&self) -> Result<Value> {
        Ok(serde_json::to_value(self)?)
    }

    /// The record of an attached vault's snapshot, with its `META_STREAM`.
    pub(crate) fn from_vault(info: &SnapshotInfo, metadata: Value, region: &str, vault: &str) -> serde_json::Result<DbSnapshot> {
        let mut s: DbSnapshot = serde_json::from_value(info.meta.clone())?;
        s.vault = crate::ids::VaultName::from_stored(vault);
        s.region = region.into();
        s.status = SnapshotStatus::Available;
        s.vault_snapshot_id = Some(info.id.clone());
        s.size_bytes = info.stats.bytes;
        s.metadata = Some(metadata);
        Ok(s)
    }
}

impl BackupSet {
    /// The vault snapshot kind of a backup set (no files; meta only).
    pub(crate) const VAULT_KIND: &'static str = "backup-set";

    /// What its vault snapshot carries: the set, the key bundle (encrypted
    /// there like all meta), and the stack as it was.
    pub(crate) fn to_vault_meta(&self, bundle: &KeyBundle, stack: &Stack) -> Result<Value> {
        Ok(json!({"backup_set": self, "key_bundle": bundle, "stack": stack}))
    }

    /// The set of an attached vault's snapshot, named in `vault` of `region`.
    pub(crate) fn from_vault(info: &SnapshotInfo, region: &str, vault: &str) -> serde_json::Result<BackupSet> {
        let mut set: BackupSet = serde_json::from_value(info.meta.get("backup_set").cloned().unwrap_or_default())?;
        set.backup_id = set.backup_id.moved_to(region, vault);
        set.recovery_point_arn = set.recovery_point_arn.moved_to(region, vault);
        set.vault = crate::ids::VaultName::from_stored(vault);
        set.region = region.into();
        set.vault_snapshot_id = Some(info.id.clone());
        Ok(set)
    }

    /// The key bundle in a backup set's vault `meta`, if it holds one.
    pub(crate) fn key_bundle_from_vault(meta: &Value) -> Option<serde_json::Result<KeyBundle>> {
        meta.get("key_bundle").cloned().map(serde_json::from_value)
    }
}
