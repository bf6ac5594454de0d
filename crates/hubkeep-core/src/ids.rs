//! Copy-pasteable, self-describing identifiers. They are parsed and validated
//! once, at the edge: region and vault are checked before anything happens.

use crate::error::{Error, Result};
use rand::RngCore;
use std::fmt;

/// `hrn:hubkeep:backup:<region>:<vault>:<kind>:<id>`, the kind being
/// `recovery-point` or `backup-set`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultObjectArn {
    pub region: String,
    pub vault: String,
    pub kind: ArnKind,
    pub id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArnKind {
    RecoveryPoint,
    BackupSet,
}

impl ArnKind {
    fn as_str(self) -> &'static str {
        match self {
            ArnKind::RecoveryPoint => "recovery-point",
            ArnKind::BackupSet => "backup-set",
        }
    }
}

impl VaultObjectArn {
    pub fn new(region: &str, vault: &str, kind: ArnKind, id: &str) -> VaultObjectArn {
        VaultObjectArn { region: region.into(), vault: vault.into(), kind, id: id.into() }
    }

    pub fn parse(s: &str) -> Result<VaultObjectArn> {
        let parts: Vec<&str> = s.split(':').collect();
        let bad = || {
            Error::invalid(format!(
                "`{s}` is not a hubkeep id: expected hrn:hubkeep:backup:<region>:<vault>:recovery-point:<id> or …:backup-set:<id> (copy it from `recovery-point list` or the output of `backup`)"
            ))
        };
        if parts.len() != 7 || parts[0] != "hrn" || parts[1] != "hubkeep" || parts[2] != "backup" {
            return Err(bad());
        }
        let kind = match parts[5] {
            "recovery-point" => ArnKind::RecoveryPoint,
            "backup-set" => ArnKind::BackupSet,
            _ => return Err(bad()),
        };
        if parts[3].is_empty() || parts[4].is_empty() || parts[6].is_empty() {
            return Err(bad());
        }
        Ok(VaultObjectArn { region: parts[3].into(), vault: parts[4].into(), kind, id: parts[6].into() })
    }

    pub fn expect_kind(self, kind: ArnKind) -> Result<VaultObjectArn> {
        if self.kind != kind {
            return Err(Error::invalid(format!("{self} is a {}, not a {}", self.kind.as_str(), kind.as_str())));
        }
        Ok(self)
    }
}

impl fmt::Display for VaultObjectArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "hrn:hubkeep:backup:{}:{}:{}:{}", self.region, self.vault, self.kind.as_str(), self.id)
    }
}

/// The ARN of a stack's database secret.
pub fn secret_arn(region: &str, stack: &str) -> String {
    format!("hrn:hubkeep:secrets:{region}:secret:{stack}-database-secret-{}", random_hex(3))
}

pub fn database_secret_name(stack: &str) -> String {
    format!("{stack} Database Secret")
}

pub fn job_id() -> String {
    format!("job-{}-{}", crate::now().format("%Y%m%dT%H%M%S"), random_hex(4))
}

pub fn backup_set_id() -> String {
    format!("{}-{}", crate::now().format("%Y%m%dT%H%M%SZ"), random_hex(4))
}

/// Manual snapshots default to `<stack>-<utc time>-<4 hex>`; automated ones (the
/// nightly plan) are `auto-<stack>-<yyyy-mm-dd-hh-mm>`, like RDS's `rds:` ids.
pub fn manual_snapshot_id(stack: &str) -> String {
    format!("{}-{}-{}", stack.to_lowercase(), crate::now().format("%Y%m%d%H%M%S"), random_hex(2))
}

pub fn automated_snapshot_id(stack: &str) -> String {
    format!("auto-{}-{}", stack.to_lowercase(), crate::now().format("%Y-%m-%d-%H-%M"))
}

pub fn random_hex(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut b);
    hex::encode(b)
}

fn check_name(what: &str, s: &str, max: usize, allow: impl Fn(char) -> bool, rule: &str) -> Result<()> {
    let ok = !s.is_empty()
        && s.len() <= max
        && s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && s.chars().all(allow);
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!("`{s}` is not a valid {what} name: {rule}")))
    }
}

/// PostgreSQL truncates identifiers longer than this (NAMEDATALEN - 1), so
/// two long role or database names could silently become one.
const PG_IDENTIFIER_MAX: usize = 63;

/// The longest stack name whose derived names all fit (the tightest is the
/// daily vault, `<stack>-daily`, within a vault name's 63 characters).
pub const STACK_NAME_MAX: usize = 57;

/// A stack name, and every name hubkeep derives from it, checked before any
/// record exists: a name that passes here cannot fail later on its daily
/// vault, its database, its role, its secrets or its cluster directory.
pub fn check_stack_name(s: &str) -> Result<()> {
    let rule = format!("use 1-{STACK_NAME_MAX} letters, digits and '-', starting with a letter or digit");
    check_name("stack", s, usize::MAX, |c| c.is_ascii_alphanumeric() || c == '-', &rule)?;
    let sql_name = s.to_lowercase().replace('-', "_");
    let derived = [
        ("its daily vault", crate::stacks::daily_vault_name(s), 63),
        ("its database role on a shared server", format!("{sql_name}_app"), PG_IDENTIFIER_MAX),
        ("its database", sql_name.clone(), PG_IDENTIFIER_MAX),
        ("its automated snapshot ids", automated_snapshot_id(s), 100),
        ("its manual snapshot ids", manual_snapshot_id(s), 100),
        ("its database secret", database_secret_name(s), 255),
        ("its cluster directory", s.to_string(), 255),
    ];
    for (what, name, max) in derived {
        if name.len() > max {
            return Err(Error::invalid(format!(
                "`{s}` is not a valid stack name: it is {} characters long, and {what} `{name}` would be longer than {max}; {rule}",
                s.len()
            )));
        }
    }
    check_vault_name(&crate::stacks::daily_vault_name(s))?;
    check_snapshot_id(&automated_snapshot_id(s))
}

pub fn check_vault_name(s: &str) -> Result<()> {
    check_name("vault", s, 63, |c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.', "use 1-63 letters, digits, '-', '_' and '.', starting with a letter or digit")
}

pub fn check_region_name(s: &str) -> Result<()> {
    check_name("region", s, 40, |c| c.is_ascii_alphanumeric() || c == '-', "use 1-40 letters, digits and '-'")
}

pub fn check_snapshot_id(s: &str) -> Result<()> {
    check_name("database snapshot", s, 100, |c| c.is_ascii_alphanumeric() || c == '-' || c == '_', "use letters, digits, '-' and '_'")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_point_arn_round_trips() {
        let arn = VaultObjectArn::new("local", "hub-daily", ArnKind::RecoveryPoint, "20261124T003501Z-9f3a1c2e");
        let parsed = VaultObjectArn::parse(&arn.to_string()).unwrap();
        assert_eq!(parsed, arn);
    }

    #[test]
    fn malformed_ids_are_refused_with_the_expected_shape() {
        for bad in ["", "hrn:hubkeep:backup:local:v:recovery-point:", "arn:aws:backup:x:y:recovery-point:z", "hrn:hubkeep:backup:local:v:thing:z"] {
            let e = VaultObjectArn::parse(bad).unwrap_err();
            assert!(e.message().contains("hrn:hubkeep:backup:<region>"), "{e}");
        }
    }

    #[test]
    fn names_are_validated() {
        assert!(check_stack_name("hub-1").is_ok());
        assert!(check_stack_name(&"a".repeat(STACK_NAME_MAX)).is_ok());
        let e = check_stack_name(&"a".repeat(STACK_NAME_MAX + 1)).unwrap_err();
        assert!(e.message().contains("daily vault"), "{e}");
        assert!(check_stack_name("../x").is_err());
        assert!(check_vault_name("a/b").is_err());
    }
}
