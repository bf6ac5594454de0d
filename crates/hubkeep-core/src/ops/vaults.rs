//! Vault commands beyond a record: creating (the key is shown once), the
//! recovery kit, a vault's details, garbage collection.

use crate::error::Result;
use crate::records::VaultRecord;
use crate::vaults::CreatedVault;
use crate::Hubkeep;
use serde::Serialize;

/// What `vault recovery-kit` prints: everything needed to restore on a new
/// machine.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecoveryKit {
    /// The vault's name.
    pub name: String,
    /// Its region.
    pub region: String,
    /// Its location URL.
    pub location: String,
    /// The key that opens it; shown only here and at creation.
    pub recovery_key: String,
    /// The vault's own id.
    pub vault_id: String,
    /// The commands that restore from it on a fresh machine.
    pub commands: Vec<String>,
    /// What to do with this kit.
    pub note: &'static str,
}

/// What `vault show` prints.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VaultDetails {
    /// The vault's record.
    #[serde(flatten)]
    pub record: VaultRecord,
    /// How many recovery points it holds.
    pub recovery_points: usize,
    /// The ids of its backup sets.
    pub backup_sets: Vec<String>,
    /// The oldest pack read time of its verify shares; null while some
    /// pack was never read.
    pub verified_through: Option<chrono::DateTime<chrono::Utc>>,
    /// Its last verify share.
    pub last_verify: Option<crate::ops::verify_share::LastVerify>,
}

impl Hubkeep {
    /// `vault create NAME [--region R]`.
    pub fn vault_create(&self, name: &str, region: Option<&str>) -> Result<CreatedVault> {
        let v = self.create_vault(name, region, None)?;
        self.note(&format!("the recovery key is printed once: keep it offline; `hubkeep vault recovery-kit {name}` prints everything needed to restore on a new machine"));
        Ok(v)
    }

    /// `vault recovery-kit NAME` (the front door confirms first: it shows a key).
    pub fn recovery_kit(&self, name: &str) -> Result<RecoveryKit> {
        let record = self.vault_record(name)?;
        let key = self.vault_recovery_key(name)?;
        let commands = vec![
            "hubkeep init".to_string(),
            format!(
                "hubkeep vault attach {name} --location '{}' --recovery-key '{key}'",
                record.location
            ),
            "hubkeep backup-set list".to_string(),
            "hubkeep restore NEW-STACK --backup BACKUP_ID --domain NEW.DOMAIN".to_string(),
        ];
        Ok(RecoveryKit {
            name: name.to_string(),
            region: record.region,
            location: record.location,
            recovery_key: key,
            vault_id: record.vault_id,
            commands,
            note: "Keep this offline (printed, or in a password manager). With the location and this key anyone can restore the hub's data and keys; without it no one can, ever.",
        })
    }

    /// `vault show NAME`.
    pub fn vault_show(&self, name: &str) -> Result<VaultDetails> {
        let record = self.vault_record(name)?;
        let recovery_points = self.recovery_points(Some(name))?.len();
        let backup_sets = self
            .backup_sets()?
            .into_iter()
            .filter(|b| b.vault == name)
            .map(|b| b.backup_id.into())
            .collect();
        let coverage = self.verify_coverage(name)?;
        Ok(VaultDetails {
            record,
            recovery_points,
            backup_sets,
            verified_through: coverage.verified_through,
            last_verify: coverage.last_verify,
        })
    }

    /// `vault gc NAME --grace-seconds N [--dry-run]`; a dry run only counts.
    pub fn vault_gc(&self, name: &str, grace_seconds: u64, dry_run: bool) -> Result<hubkeep_vault::GcReport> {
        let grace = std::time::Duration::from_secs(grace_seconds);
        if dry_run {
            return Ok(self.open_vault(name)?.gc_dry_run(grace)?);
        }
        let report = self.gc_vault(name, grace)?;
        self.forget_expired_sets(name)?;
        self.sample_vault_size(name);
        self.emit_gc_completed(name, &report);
        Ok(report)
    }
}
