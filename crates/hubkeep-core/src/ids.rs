//! Copy-pasteable, self-describing identifiers. They are parsed and validated
//! once, at the edge: region and vault are checked before anything happens.

use crate::error::{Error, Result};
use rand::RngCore;
use std::fmt;

/// `hrn:hubkeep:backup:<region>:<vault>:<kind>:<id>`, the kind being
/// `recovery-point` or `backup-set`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultObjectArn {
    /// Its region.
    pub region: String,
    /// Its vault.
    pub vault: String,
    /// What it names.
    pub kind: ArnKind,
    /// The id within the vault.
    pub id: String,
}

/// What a vault object ARN names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArnKind {
    /// A file-store recovery point.
    RecoveryPoint,
    /// A backup set.
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
    /// The ARN of `id` in `vault` of `region`.
    pub fn new(region: &str, vault: &str, kind: ArnKind, id: &str) -> VaultObjectArn {
        VaultObjectArn { region: region.into(), vault: vault.into(), kind, id: id.into() }
    }

    /// Parse an ARN, or refuse it showing the expected shape.
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

    /// Refuse an ARN of another kind.
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

/// A text newtype of this module: a checked string, serialized as the plain
/// string (deserializing checks it: `TryFrom<String>`), shown and compared
/// as a string.
macro_rules! text_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// The id or name as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
    };
}

macro_rules! arn_newtype {
    ($(#[$doc:meta])* $name:ident, $kind:expr) => {
        text_newtype!($(#[$doc])* $name);

        impl $name {
            /// Parse an id given by a person or read from a record: a whole,
            /// valid ARN of this kind, or a refusal showing the shape.
            pub fn parse(s: &str) -> Result<$name> {
                VaultObjectArn::parse(s)?.expect_kind($kind).map(|a| $name(a.to_string()))
            }
            /// The id of `id` in `vault` of `region`.
            pub fn new(region: &str, vault: &str, id: &str) -> $name {
                $name(VaultObjectArn::new(region, vault, $kind, id).to_string())
            }
            /// Its parts.
            pub fn parts(&self) -> VaultObjectArn {
                VaultObjectArn::parse(&self.0).expect("checked when it was made")
            }
            /// The same object named in `vault` of `region` (an attached vault).
            pub fn moved_to(&self, region: &str, vault: &str) -> $name {
                $name::new(region, vault, &self.parts().id)
            }
        }

        impl TryFrom<String> for $name {
            type Error = Error;
            fn try_from(s: String) -> Result<$name> {
                $name::parse(&s)
            }
        }
    };
}

arn_newtype!(
    /// `hrn:hubkeep:backup:<region>:<vault>:recovery-point:<id>`, checked.
    RecoveryPointArn,
    ArnKind::RecoveryPoint
);

arn_newtype!(
    /// `hrn:hubkeep:backup:<region>:<vault>:backup-set:<id>`, checked.
    BackupSetId,
    ArnKind::BackupSet
);

macro_rules! name_newtype {
    ($(#[$doc:meta])* $name:ident, $check:path) => {
        text_newtype!(
            $(#[$doc])*
            ///
            /// Serialized as a plain string. Deserializing it alone (a request)
            /// applies the rule; a catalog or vault record reads it with
            /// [`stored`] / [`stored_opt`] instead, so that an id written under
            /// an older, looser rule never makes the record unreadable.
            $name
        );

        impl $name {
            /// Parse a name given by a person (an argument, a request):
            /// the rule's refusal, or the checked name.
            pub fn parse(s: &str) -> Result<$name> {
                $check(s)?;
                Ok($name(s.to_string()))
            }
            /// A name read back from a record this program stored: taken
            /// as it is, since the rule it was checked by may have changed.
            pub fn from_stored(s: impl Into<String>) -> $name {
                $name(s.into())
            }
        }

        impl FromStored for $name {
            fn from_stored_string(s: String) -> $name {
                $name(s)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<std::ffi::OsStr> for $name {
            fn as_ref(&self) -> &std::ffi::OsStr {
                self.0.as_ref()
            }
        }

        impl AsRef<std::path::Path> for $name {
            fn as_ref(&self) -> &std::path::Path {
                self.0.as_ref()
            }
        }

        impl From<&$name> for String {
            fn from(id: &$name) -> String {
                id.0.clone()
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl std::str::FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<$name> {
                $name::parse(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = Error;
            fn try_from(s: String) -> Result<$name> {
                $check(&s)?;
                Ok($name(s))
            }
        }

        impl TryFrom<&str> for $name {
            type Error = Error;
            fn try_from(s: &str) -> Result<$name> {
                $name::parse(s)
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }

        impl PartialEq<$name> for str {
            fn eq(&self, other: &$name) -> bool {
                self == other.0
            }
        }

        impl PartialEq<$name> for String {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }
    };
}

name_newtype!(
    /// A stack's name, checked by [`check_stack_name`] (with every name
    /// derived from it).
    StackName,
    check_stack_name
);

name_newtype!(
    /// A vault's name, checked by [`check_vault_name`].
    VaultName,
    check_vault_name
);

name_newtype!(
    /// A database snapshot's id, checked by [`check_snapshot_id`].
    DbSnapshotId,
    check_snapshot_id
);

/// A name type that a record can read back without its rule.
pub trait FromStored: Sized {
    /// The stored text, taken as it is.
    fn from_stored_string(s: String) -> Self;
}

/// `#[serde(deserialize_with = "crate::ids::stored")]` for a record's name
/// field: any stored string loads (see [`VaultName`]).
pub fn stored<'de, D: serde::Deserializer<'de>, T: FromStored>(d: D) -> std::result::Result<T, D::Error> {
    let s = <String as serde::Deserialize>::deserialize(d)?;
    Ok(T::from_stored_string(s))
}

/// [`stored`] for an optional field (use with `#[serde(default)]`).
pub fn stored_opt<'de, D: serde::Deserializer<'de>, T: FromStored>(d: D) -> std::result::Result<Option<T>, D::Error> {
    let s = <Option<String> as serde::Deserialize>::deserialize(d)?;
    Ok(s.map(T::from_stored_string))
}

/// The ARN of a stack's database secret.
pub fn secret_arn(region: &str, stack: &str) -> String {
    format!("hrn:hubkeep:secrets:{region}:secret:{stack}-database-secret-{}", random_hex(3))
}


/// A fresh job id (time and randomness).
pub fn job_id() -> String {
    format!("job-{}-{}", crate::now().format("%Y%m%dT%H%M%S"), random_hex(4))
}

/// A fresh id for a backup set or recovery point.
pub fn backup_set_id() -> String {
    format!("{}-{}", crate::now().format("%Y%m%dT%H%M%SZ"), random_hex(4))
}

/// Manual snapshots default to `<stack>-<utc time>-<4 hex>`; automated ones (the
/// nightly plan) are `auto-<stack>-<yyyy-mm-dd-hh-mm>`, like RDS's `rds:` ids.
pub fn manual_snapshot_id(stack: &str) -> String {
    format!("{}-{}-{}", stack.to_lowercase(), crate::now().format("%Y%m%d%H%M%S"), random_hex(2))
}

/// A plan's snapshot id for `stack` now.
pub fn automated_snapshot_id(stack: &str) -> String {
    format!("auto-{}-{}", stack.to_lowercase(), crate::now().format("%Y-%m-%d-%H-%M"))
}

/// `bytes` random bytes in hex.
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
        ("its daily vault", crate::names::daily_vault_name(s), 63),
        ("its database role on a shared server", format!("{sql_name}_app"), PG_IDENTIFIER_MAX),
        ("its database", sql_name.clone(), PG_IDENTIFIER_MAX),
        ("its automated snapshot ids", automated_snapshot_id(s), 100),
        ("its manual snapshot ids", manual_snapshot_id(s), 100),
        ("its database secret", crate::names::database_secret_name(s), 255),
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
    check_vault_name(&crate::names::daily_vault_name(s))?;
    check_snapshot_id(&automated_snapshot_id(s))
}

/// Refuse a vault name that is not 1-63 letters, digits, '-', '_' and '.'.
pub fn check_vault_name(s: &str) -> Result<()> {
    check_name("vault", s, 63, |c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.', "use 1-63 letters, digits, '-', '_' and '.', starting with a letter or digit")
}

/// Refuse a region name that is not 1-40 letters, digits and '-'.
pub fn check_region_name(s: &str) -> Result<()> {
    check_name("region", s, 40, |c| c.is_ascii_alphanumeric() || c == '-', "use 1-40 letters, digits and '-'")
}

/// Refuse a webhook name that is not 1-63 letters, digits, '-' and '_'.
pub fn check_webhook_name(s: &str) -> Result<()> {
    check_name("webhook", s, 63, |c| c.is_ascii_alphanumeric() || c == '-' || c == '_', "use 1-63 letters, digits, '-' and '_', starting with a letter or digit")
}

/// Refuse a token name that is not 1-63 letters, digits, '-', '_' and '.'.
pub fn check_token_name(s: &str) -> Result<()> {
    check_name("token", s, 63, |c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.', "use 1-63 letters, digits, '-', '_' and '.', starting with a letter or digit")
}

/// Refuse a database snapshot id that is not letters, digits, '-' and '_'.
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
    fn name_types_refuse_a_bad_value_with_the_rules_message() {
        let e = StackName::parse("../x").unwrap_err();
        assert_eq!(e.message(), check_stack_name("../x").unwrap_err().message());
        assert!(e.message().contains("is not a valid stack name"), "{e}");
        let e = VaultName::parse("a/b").unwrap_err();
        assert_eq!(e.message(), check_vault_name("a/b").unwrap_err().message());
        let e = DbSnapshotId::parse("snap shot").unwrap_err();
        assert_eq!(e.message(), check_snapshot_id("snap shot").unwrap_err().message());
        assert!(e.message().contains("is not a valid database snapshot name"), "{e}");
        // Deserializing one alone (a request) applies the rule too.
        let e = serde_json::from_str::<VaultName>("\"a/b\"").unwrap_err();
        assert!(e.to_string().contains("is not a valid vault name"), "{e}");
        assert!(serde_json::from_str::<StackName>("\"\"").is_err());
        assert!(serde_json::from_str::<DbSnapshotId>("\"x;y\"").is_err());
    }

    #[test]
    fn name_types_round_trip_through_serde_as_plain_strings() {
        let stack = StackName::parse("hub-1").unwrap();
        let vault = VaultName::parse("hub-1-daily").unwrap();
        let snap = DbSnapshotId::parse("hub-1-20261205221500-ab").unwrap();
        assert_eq!(serde_json::to_string(&stack).unwrap(), "\"hub-1\"");
        assert_eq!(serde_json::to_string(&vault).unwrap(), "\"hub-1-daily\"");
        assert_eq!(serde_json::to_string(&snap).unwrap(), "\"hub-1-20261205221500-ab\"");
        assert_eq!(serde_json::from_str::<StackName>("\"hub-1\"").unwrap(), stack);
        assert_eq!(serde_json::from_str::<VaultName>("\"hub-1-daily\"").unwrap(), vault);
        assert_eq!(serde_json::from_str::<DbSnapshotId>("\"hub-1-20261205221500-ab\"").unwrap(), snap);
        assert_eq!(stack, "hub-1");
        assert_eq!(stack.to_string(), "hub-1");
        assert_eq!(&*vault, "hub-1-daily");
    }

    #[test]
    fn a_stored_record_with_an_id_todays_rules_refuse_still_loads() {
        #[derive(serde::Deserialize, serde::Serialize)]
        struct Old {
            #[serde(deserialize_with = "stored")]
            stack: StackName,
            #[serde(default, deserialize_with = "stored_opt")]
            vault: Option<VaultName>,
            #[serde(deserialize_with = "stored")]
            id: DbSnapshotId,
        }
        // Ids an older, looser hubkeep could have written.
        let text = r#"{"stack":"Old Hub","vault":"old/vault","id":"old snapshot:1"}"#;
        let old: Old = serde_json::from_str(text).unwrap();
        assert_eq!(old.stack, "Old Hub");
        assert_eq!(old.vault.as_deref(), Some("old/vault"));
        assert_eq!(old.id, "old snapshot:1");
        assert_eq!(serde_json::to_string(&old).unwrap(), text, "written back byte for byte");
        let missing: Old = serde_json::from_str(r#"{"stack":"a","id":"b"}"#).unwrap();
        assert!(missing.vault.is_none());
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
