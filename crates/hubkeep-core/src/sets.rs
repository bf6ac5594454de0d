//! The backup-set records: finding a set, its key bundle in the vault, and
//! what deleting one of its parts does to it. The backup operation that
//! makes sets (`backupset.rs`) and the snapshot and recovery-point
//! operations that delete parts both sit above this.

use crate::catalog::Kind;
use crate::error::{Error, ErrorKind, Result};
use crate::ids::{ArnKind, VaultObjectArn};
use crate::records::{BackupSet, KeyBundle, Stack};
use crate::states::BackupSetStatus;
use crate::Hubkeep;

impl Hubkeep {
    /// The backup set `id`; an id of a vault this home does not know says to attach it.
    pub fn backup_set(&self, id: &str) -> Result<BackupSet> {
        let parsed = VaultObjectArn::parse(id)?.expect_kind(ArnKind::BackupSet)?;
        if self.home.region(&parsed.region).is_err() || self.vault_record(&parsed.vault).is_err() {
            return Err(Error::new(ErrorKind::BackupNotFound, format!(
                "backup set {id} is in vault {} of region {}, which this home does not know: attach that vault first (`hubkeep vault attach {} --location … --recovery-key …`)",
                parsed.vault, parsed.region, parsed.vault
            )));
        }
        self.home.catalog.get(Kind::BackupSet, &parsed.to_string())?.ok_or_else(|| {
            Error::new(ErrorKind::BackupNotFound, format!("backup set {id} does not exist in this home; on a new machine attach its vault first (`hubkeep vault attach`)"))
        })
    }

    /// Every backup set, oldest first.
    pub fn backup_sets(&self) -> Result<Vec<BackupSet>> {
        self.home.catalog.list(Kind::BackupSet)
    }

    /// The backup set goes into the vault (with the key bundle, encrypted
    /// there) and into the catalog (fingerprints only).
    pub(crate) fn store_backup_set(&self, stack: &Stack, set: &mut BackupSet, bundle: &KeyBundle) -> Result<()> {
        let meta = set.to_vault_meta(bundle, stack)?;
        let writer = self.open_vault(&set.vault)?.writer(BackupSet::VAULT_KIND, meta)?.at(crate::now());
        set.vault_snapshot_id = Some(writer.commit()?.id);
        self.home.catalog.put(Kind::BackupSet, &set.backup_id, set)
    }

    /// The key bundle of a backup set, read from its vault snapshot.
    pub(crate) fn backup_key_bundle(&self, set: &BackupSet) -> Result<KeyBundle> {
        let missing = || Error::new(ErrorKind::BackupNotFound, format!("the vault {} holds no backup set {}: it may have been deleted", set.vault, set.backup_id));
        let id = set.vault_snapshot_id.as_deref().ok_or_else(missing)?;
        let info = self.open_vault(&set.vault)?.snapshot(id).map_err(|e| match e.code() {
            "not_found" => missing(),
            _ => Error::from(e),
        })?;
        Ok(BackupSet::key_bundle_from_vault(&info.meta).ok_or_else(missing)??)
    }

    /// Refuse deleting `part` (a recovery point ARN or a snapshot id) of a
    /// backup set unless `force`; with `force`, each set holding it is
    /// marked BROKEN, naming the part, before the part goes.
    pub(crate) fn release_backup_set_part(&self, part: &str, what: &str, force: bool) -> Result<()> {
        let holders: Vec<BackupSet> = self.backup_sets()?.into_iter().filter(|s| s.status != BackupSetStatus::Expired && (s.recovery_point_arn == part || s.db_snapshot_id == part)).collect();
        if holders.is_empty() {
            return Ok(());
        }
        let ids: Vec<&str> = holders.iter().map(|s| s.backup_id.as_str()).collect();
        if !force {
            return Err(Error::new(ErrorKind::PartOfBackupSet, format!(
                "{what} {part} belongs to backup set(s) {}: deleting it would leave them unrestorable; nothing was deleted. Add --force to delete it anyway and mark those sets BROKEN",
                ids.join(", ")
            )));
        }
        self.home.catalog.transaction(|| {
            for set in &holders {
                self.home.catalog.update::<BackupSet, _>(Kind::BackupSet, &set.backup_id, |s| {
                    s.status = BackupSetStatus::Broken;
                    if !s.missing_parts.iter().any(|p| p == part) {
                        s.missing_parts.push(part.to_string());
                    }
                    Ok(())
                })?;
            }
            Ok(())
        })?;
        self.note(&format!("warning: backup set(s) {} are BROKEN: their {what} {part} is deleted", ids.join(", ")));
        Ok(())
    }

    /// A backup set that can be restored, or a refusal naming what it lacks.
    pub(crate) fn whole_backup_set(&self, id: &str) -> Result<BackupSet> {
        let set = self.backup_set(id)?;
        if set.status == BackupSetStatus::Expired {
            return Err(Error::new(ErrorKind::BackupNotFound, format!(
                "backup set {} was expired by retention and cannot be restored; restore another backup set (`hubkeep backup-set list`)",
                set.backup_id
            )));
        }
        if set.status == BackupSetStatus::Broken {
            return Err(Error::new(ErrorKind::BackupBroken, format!(
                "backup set {} is BROKEN and cannot be restored: its part(s) {} were deleted; restore another backup set (`hubkeep backup-set list`)",
                set.backup_id,
                set.missing_parts.join(", ")
            )));
        }
        Ok(set)
    }
}
