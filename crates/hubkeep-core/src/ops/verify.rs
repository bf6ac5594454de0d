//! `verify ID`: a database snapshot, a recovery point, or a whole backup
//! set (both parts and, for a Hubs backup, the Hubs check of the backup).

use crate::error::{Error, ErrorKind, Result};
use crate::ids::{ArnKind, VaultObjectArn};
use crate::catalog::Kind;
use crate::dbsnap::VaultSource;
use crate::records::{Profile, RecoveryPoint};
use crate::states::RecoveryPointStatus;
use hubkeep_pg::SnapshotMeta;
use crate::Hubkeep;
use hubkeep_hubs::CheckReport;
use serde::Serialize;

/// Any id `verify` takes, parsed once: hubkeep ARNs name their kind, and
/// anything else is a database snapshot id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnyId {
    /// `hrn:hubkeep:backup:…:recovery-point:…`.
    RecoveryPoint(VaultObjectArn),
    /// `hrn:hubkeep:backup:…:backup-set:…`.
    BackupSet(VaultObjectArn),
    /// A database snapshot id.
    DbSnapshot(String),
}

impl AnyId {
    /// An `hrn:` id must be a whole, valid ARN; other ids name snapshots.
    pub fn parse(s: &str) -> Result<AnyId> {
        if !s.starts_with("hrn:") {
            return Ok(AnyId::DbSnapshot(s.to_string()));
        }
        let arn = VaultObjectArn::parse(s)?;
        Ok(match arn.kind {
            ArnKind::RecoveryPoint => AnyId::RecoveryPoint(arn),
            ArnKind::BackupSet => AnyId::BackupSet(arn),
        })
    }
}

/// What a part of a backup is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PartKind {
    /// A database snapshot.
    DbSnapshot,
    /// A recovery point (a file store).
    RecoveryPoint,
}

/// What `verify` prints for a database snapshot or a recovery point.
#[derive(Debug, Clone, Serialize)]
pub struct PartVerified {
    /// The snapshot id or the recovery point ARN.
    pub id: String,
    /// Which it is.
    #[serde(rename = "type")]
    pub kind: PartKind,
    /// No problem hurts it.
    pub ok: bool,
    /// Every byte was read back (`--read-data`).
    pub read_data: bool,
    /// What hurts it.
    pub problems: Vec<String>,
    /// What is worth knowing but leaves it restorable.
    pub warnings: Vec<String>,
    /// The vault's own report (recovery points).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<hubkeep_vault::VerifyReport>,
}

/// The Hubs check of a backup set: run, or why not.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum HubsVerdict {
    /// Its report.
    Checked(CheckReport),
    /// Why it did not run.
    Skipped {
        /// The reason.
        skipped: String,
    },
}

/// What `verify` prints for a backup set: both parts and the Hubs check.
#[derive(Debug, Clone, Serialize)]
pub struct BackupSetVerified {
    /// The backup id.
    pub id: String,
    /// Always `backup_set`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Both parts are ok and the Hubs check passed (or did not apply).
    pub ok: bool,
    /// Its database snapshot.
    pub db_snapshot: PartVerified,
    /// Its recovery point.
    pub recovery_point: PartVerified,
    /// The Hubs check of the backup itself.
    pub hubs_check: HubsVerdict,
}

/// What `verify ID` prints.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Verified {
    /// A database snapshot or a recovery point.
    Part(PartVerified),
    /// A backup set.
    BackupSet(Box<BackupSetVerified>),
}

impl Verified {
    /// Nothing hurts it.
    pub fn ok(&self) -> bool {
        match self {
            Verified::Part(p) => p.ok,
            Verified::BackupSet(s) => s.ok,
        }
    }

    /// The first thing that hurts it, for the one-line error.
    fn first_problem(&self) -> String {
        let parts = match self {
            Verified::Part(p) => vec![p],
            Verified::BackupSet(s) => vec![&s.db_snapshot, &s.recovery_point],
        };
        let check = match self {
            Verified::BackupSet(s) => match &s.hubs_check {
                HubsVerdict::Checked(c) => c.categories.iter().filter(|c| c.required).find_map(|c| c.problems.first().map(|p| format!("{}: {p}", c.name))),
                HubsVerdict::Skipped { .. } => None,
            },
            Verified::Part(_) => None,
        };
        parts
            .iter()
            .find_map(|p| p.problems.first().cloned())
            .or(check)
            .unwrap_or_else(|| "see the report above".into())
    }
}

impl Hubkeep {
    /// Verify what `id` names; a report that is not ok is the error
    /// `verify_failed`, carrying the whole report as its detail.
    pub fn verify(&self, id: &str, read_data: bool) -> Result<Verified> {
        let parsed = AnyId::parse(id)?;
        let report = match &parsed {
            AnyId::RecoveryPoint(arn) => Verified::Part(self.verify_recovery_point(&arn.to_string(), read_data)?),
            AnyId::BackupSet(arn) => Verified::BackupSet(Box::new(self.verify_backup_set(&arn.to_string(), read_data)?)),
            AnyId::DbSnapshot(snapshot) => Verified::Part(self.verify_db_snapshot(snapshot, read_data)?),
        };
        if !report.ok() {
            let message = format!("{id} failed verification: {}", report.first_problem());
            let error = Error::new(ErrorKind::VerifyFailed, message).with_detail(serde_json::to_value(&report)?);
            self.emit_verify_failed(id, &error);
            return Err(error);
        }
        if let (AnyId::BackupSet(arn), true) = (&parsed, read_data) {
            self.record_full_verify(&arn.to_string())?;
        }
        Ok(report)
    }

    fn verify_backup_set(&self, id: &str, read_data: bool) -> Result<BackupSetVerified> {
        let set = self.backup_set(id)?;
        let db = self.verify_db_snapshot(&set.db_snapshot_id, read_data)?;
        let files = self.verify_recovery_point(&set.recovery_point_arn, read_data)?;
        let hubs = match set.profile {
            Profile::Hubs => HubsVerdict::Checked(self.hubs_check_backup(&set, read_data)?),
            Profile::Generic => HubsVerdict::Skipped { skipped: "profile generic: no Hubs check".into() },
        };
        let passed = match &hubs {
            HubsVerdict::Checked(c) => c.passed,
            HubsVerdict::Skipped { .. } => true,
        };
        Ok(BackupSetVerified { id: id.to_string(), kind: "backup_set", ok: db.ok && files.ok && passed, db_snapshot: db, recovery_point: files, hubs_check: hubs })
    }

    /// `vault verify NAME [--read-data]`: the whole vault.
    pub fn vault_verify(&self, name: &str, read_data: bool) -> Result<hubkeep_vault::VerifyReport> {
        let report = self.open_vault(name)?.verify(None, read_data)?;
        if !report.ok() {
            let first = report
                .problems
                .first()
                .map(crate::error::describe_problem)
                .unwrap_or_default();
            let detail = serde_json::to_value(&report)?;
            let error = Error::new(
                ErrorKind::VerifyFailed,
                format!("vault {name} failed verification: {first}"),
            )
            .with_detail(detail);
            self.emit_verify_failed(name, &error);
            return Err(error);
        }
        Ok(report)
    }

    /// Check a snapshot's objects; with `read_data`, every stream's bytes
    /// against its recorded checksum and row count.
    pub fn verify_db_snapshot(&self, id: &str, read_data: bool) -> Result<crate::ops::verify::PartVerified> {
        let snap = self.available_snapshot(id)?;
        let vault = self.open_vault(&snap.vault)?;
        let vid = snap.vault_snapshot_id.clone().unwrap_or_default();
        let report = vault.verify(Some(std::slice::from_ref(&vid)), read_data)?;
        let (mut problems, warnings) = crate::error::problems_of(&report, &vid);
        if read_data && problems.is_empty() {
            if let Some(m) = &snap.metadata {
                let meta: SnapshotMeta = serde_json::from_value(m.clone())?;
                problems.extend(hubkeep_pg::verify_streams(&VaultSource::new(vault, vid, None), &meta)?);
            }
        }
        Ok(crate::ops::verify::PartVerified {
            id: id.to_string(),
            kind: crate::ops::verify::PartKind::DbSnapshot,
            ok: problems.is_empty(),
            read_data,
            problems,
            warnings,
            report: None,
        })
    }

    /// Verify a point; an UNVERIFIED point that passes becomes AVAILABLE.
    pub fn verify_recovery_point(&self, arn: &str, read_data: bool) -> Result<crate::ops::verify::PartVerified> {
        let rp = self.recovery_point(arn)?;
        if rp.status != RecoveryPointStatus::Unverified {
            self.available_recovery_point(arn)?;
        }
        let vault = self.open_vault(&rp.vault)?;
        let vid = rp.vault_snapshot_id.clone().unwrap_or_default();
        let report = vault.verify(Some(std::slice::from_ref(&vid)), read_data)?;
        let (problems, warnings) = crate::error::problems_of(&report, &vid);
        if rp.status == RecoveryPointStatus::Unverified && problems.is_empty() {
            self.home.catalog.update::<RecoveryPoint, _>(Kind::RecoveryPoint, &rp.recovery_point_arn, |r| {
                r.status = RecoveryPointStatus::Available;
                Ok(())
            })?;
            self.note(&format!("recovery point {arn} passed verification and is AVAILABLE"));
        }
        Ok(crate::ops::verify::PartVerified {
            id: arn.to_string(),
            kind: crate::ops::verify::PartKind::RecoveryPoint,
            ok: problems.is_empty(),
            read_data,
            problems,
            warnings,
            report: Some(report),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_parsed_once_into_its_kind() {
        let rp = "hrn:hubkeep:backup:local:v:recovery-point:20261124T003501Z-9f3a1c2e";
        assert!(
            matches!(AnyId::parse(rp).unwrap(), AnyId::RecoveryPoint(a) if a.to_string() == rp)
        );
        assert!(matches!(
            AnyId::parse("hrn:hubkeep:backup:local:v:backup-set:x").unwrap(),
            AnyId::BackupSet(_)
        ));
        assert_eq!(
            AnyId::parse("hub-20261124").unwrap(),
            AnyId::DbSnapshot("hub-20261124".into())
        );
        assert!(AnyId::parse("hrn:hubkeep:backup:local:v:thing:x").is_err());
    }
}
