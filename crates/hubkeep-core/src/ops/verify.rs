//! `verify ID`: a database snapshot, a recovery point, or a whole backup
//! set (both parts and, for a Hubs backup, the Hubs check of the backup).

use crate::error::{Error, ErrorKind, Result};
use crate::ids::{ArnKind, VaultObjectArn};
use crate::records::Profile;
use crate::Hubkeep;
use serde_json::{json, Value};

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

impl Hubkeep {
    /// Verify what `id` names; a report that is not ok is the error
    /// `verify_failed`, carrying the whole report as its detail.
    pub fn verify(&self, id: &str, read_data: bool) -> Result<Value> {
        let parsed = AnyId::parse(id)?;
        let report = match &parsed {
            AnyId::RecoveryPoint(arn) => self.verify_recovery_point(&arn.to_string(), read_data)?,
            AnyId::BackupSet(arn) => self.verify_backup_set(&arn.to_string(), read_data)?,
            AnyId::DbSnapshot(snapshot) => self.verify_db_snapshot(snapshot, read_data)?,
        };
        if report["ok"].as_bool() != Some(true) {
            let message = format!("{id} failed verification: {}", first_problem(&report));
            let error = Error::new(ErrorKind::VerifyFailed, message).with_detail(report);
            self.emit_verify_failed(id, &error);
            return Err(error);
        }
        if let (AnyId::BackupSet(arn), true) = (&parsed, read_data) {
            self.record_full_verify(&arn.to_string())?;
        }
        Ok(report)
    }

    fn verify_backup_set(&self, id: &str, read_data: bool) -> Result<Value> {
        let set = self.backup_set(id)?;
        let db = self.verify_db_snapshot(&set.db_snapshot_id, read_data)?;
        let files = self.verify_recovery_point(&set.recovery_point_arn, read_data)?;
        let hubs = match set.profile {
            Profile::Hubs => serde_json::to_value(self.hubs_check_backup(&set, read_data)?)?,
            Profile::Generic => json!({"skipped": "profile generic: no Hubs check"}),
        };
        let ok = db["ok"].as_bool().unwrap_or(false)
            && files["ok"].as_bool().unwrap_or(false)
            && hubs.get("passed").and_then(|p| p.as_bool()).unwrap_or(true);
        Ok(
            json!({"id": id, "type": "backup_set", "ok": ok, "db_snapshot": db, "recovery_point": files, "hubs_check": hubs}),
        )
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
}

fn first_problem(report: &Value) -> String {
    for key in [
        "/problems/0",
        "/db_snapshot/problems/0",
        "/recovery_point/problems/0",
    ] {
        if let Some(first) = report.pointer(key) {
            return first.as_str().unwrap_or("").to_string();
        }
    }
    "see the report above".into()
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
