//! The one error type of the service layer: a kind with a stable code for
//! scripts (and, later, an HTTP status), a sentence for the operator (what
//! is wrong, and what to do), and the underlying error it came from.

use std::fmt;
use std::sync::Arc;

macro_rules! error_kinds {
    ($($(#[$doc:meta])* $variant:ident => $code:literal,)*) => {
        /// What went wrong, as a front door needs to know it: each kind has
        /// one stable code (CLI.md's `{"error": {"code": …}}`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorKind {
            $($(#[$doc])* #[doc = concat!("Code `", $code, "`.")] $variant,)*
        }

        impl ErrorKind {
            /// The stable code scripts match on.
            pub fn code(self) -> &'static str {
                match self {
                    $(ErrorKind::$variant => $code,)*
                }
            }

            /// The kind of a stable code, for errors coming from an engine
            /// that reports codes (the vault's `VaultError::code`).
            pub fn from_code(code: &str) -> Option<ErrorKind> {
                match code {
                    $($code => Some(ErrorKind::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

error_kinds! {
    /// A restore declares an app version older than its backup's (`--force-version` overrides).
    AppVersionOlder => "app_version_older",
    /// A backup set lost one of its parts and cannot be restored.
    BackupBroken => "backup_broken",
    /// No such backup set (or its vault is not attached).
    BackupNotFound => "backup_not_found",
    /// The catalog could not be read or written.
    Catalog => "catalog",
    /// The thing to create exists already.
    Conflict => "conflict",
    /// Stored data is damaged.
    Corrupt => "corrupt",
    /// A database server refused or failed.
    Database => "database",
    /// No such database snapshot.
    DbSnapshotNotFound => "db_snapshot_not_found",
    /// The demo could not run.
    Demo => "demo",
    /// The demo's restored hub differs from the backup.
    DemoFailed => "demo_failed",
    /// A notification could not be delivered (`notify test`).
    DeliveryFailed => "delivery_failed",
    /// The file store and database disagree (`backup --strict`).
    Drift => "drift",
    /// A restore drill failed: its backup set did not restore or check.
    DrillFailed => "drill_failed",
    /// An operator hook failed.
    HookFailed => "hook_failed",
    /// The home is damaged.
    Home => "home",
    /// The `postgres` user cannot reach the home's clusters.
    HomeUnreachable => "home_unreachable",
    /// Reading Hubs data failed.
    Hubs => "hubs",
    /// The Hubs check could not run.
    HubsCheck => "hubs_check",
    /// The Hubs check of a restored hub failed.
    HubsCheckFailed => "hubs_check_failed",
    /// The run was interrupted or cancelled.
    Interrupted => "interrupted",
    /// A bug.
    Internal => "internal",
    /// Bad input.
    InvalidArgument => "invalid_argument",
    /// A bad setting (environment or config.json).
    InvalidSetting => "invalid_setting",
    /// A refused file store path.
    InvalidStorage => "invalid_storage",
    /// A file could not be read or written.
    Io => "io",
    /// The job a resource came from did not complete.
    JobNotCompleted => "job_not_completed",
    /// No such job.
    JobNotFound => "job_not_found",
    /// Another run holds what this one needs.
    Locked => "locked",
    /// The directory is not a hubkeep home.
    NoHome => "no_home",
    /// The location holds no vault.
    NotAVault => "not_a_vault",
    /// Something named does not exist.
    NotFound => "not_found",
    /// Offline mode cannot work with this stack's connection.
    OfflineUnsupported => "offline_unsupported",
    /// Deleting this would break a backup set.
    PartOfBackupSet => "part_of_backup_set",
    /// The recovery point is still being created.
    RecoveryPointBusy => "recovery_point_busy",
    /// The recovery point cannot be restored (yet).
    RecoveryPointNotAvailable => "recovery_point_not_available",
    /// No such recovery point.
    RecoveryPointNotFound => "recovery_point_not_found",
    /// No such region.
    RegionNotFound => "region_not_found",
    /// Restore parameters given to `stack update`.
    RestoreOnUpdate => "restore_on_update",
    /// A backup's key bundle differs from this home's secrets.
    SecretConflict => "secret_conflict",
    /// A secret's value is not what hubkeep expects.
    SecretInvalid => "secret_invalid",
    /// No such secret or parameter.
    SecretNotFound => "secret_not_found",
    /// The secret is scheduled for deletion.
    SecretScheduledForDeletion => "secret_scheduled_for_deletion",
    /// The secret store cannot open a value.
    SecretStore => "secret_store",
    /// The snapshot is still being created.
    SnapshotBusy => "snapshot_busy",
    /// The snapshot cannot be restored.
    SnapshotNotAvailable => "snapshot_not_available",
    /// A stack of that name exists.
    StackExists => "stack_exists",
    /// No such stack.
    StackNotFound => "stack_not_found",
    /// The stack's status does not allow this.
    StackState => "stack_state",
    /// The object store failed.
    Store => "store",
    /// A restore target is not empty.
    TargetNotEmpty => "target_not_empty",
    /// No valid access token (HTTP API).
    Unauthenticated => "unauthenticated",
    /// The vault's format version is unknown.
    UnknownFormatVersion => "unknown_format_version",
    /// A vault entry would escape its target.
    UnsafePath => "unsafe_path",
    /// Reading a vault failed.
    Vault => "vault",
    /// No such vault.
    VaultNotFound => "vault_not_found",
    /// A verification found problems.
    VerifyFailed => "verify_failed",
    /// The key does not open the vault.
    WrongKey => "wrong_key",
    /// The thing is in another region.
    WrongRegion => "wrong_region",
}

/// An error of the service layer: its kind, the operator's sentence, and
/// (when it came from elsewhere) the error underneath.
#[derive(Debug, Clone)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    source: Option<Arc<dyn std::error::Error + Send + Sync>>,
    detail: Option<Arc<serde_json::Value>>,
}

/// The service layer's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error of `kind` saying `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
            source: None,
            detail: None,
        }
    }
    /// An error of `kind` saying `message`, caused by `source`.
    pub fn with_source(
        kind: ErrorKind,
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Error {
        Error {
            kind,
            message: message.into(),
            source: Some(Arc::new(source)),
            detail: None,
        }
    }
    /// What went wrong, for matching (an HTTP layer maps it to a status).
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
    /// The stable code of the kind.
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }
    /// The operator's sentence.
    pub fn message(&self) -> &str {
        &self.message
    }
    /// `what does not exist`.
    pub fn not_found(what: impl fmt::Display) -> Error {
        Error::new(ErrorKind::NotFound, format!("{what} does not exist"))
    }
    /// Bad input.
    pub fn invalid(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::InvalidArgument, message)
    }
    /// The thing exists already.
    pub fn conflict(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Conflict, message)
    }
    /// Attach a structured report (e.g. the verify report that failed).
    pub fn with_detail(self, detail: serde_json::Value) -> Error {
        Error {
            detail: Some(Arc::new(detail)),
            ..self
        }
    }
    /// The structured report of this error, if any.
    pub fn detail(&self) -> Option<&serde_json::Value> {
        self.detail.as_deref()
    }
    /// Prefix the message with what was being done, keeping kind and source.
    pub fn context(self, doing: impl fmt::Display) -> Error {
        Error {
            message: format!("{doing}: {}", self.message),
            ..self
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Error {
        let message = format!("the hubkeep catalog could not be read or written ({e}); check the home directory's disk and permissions");
        Error::with_source(ErrorKind::Catalog, message, e)
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Error {
        Error::with_source(ErrorKind::Io, e.to_string(), e)
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Error {
        Error::with_source(
            ErrorKind::Catalog,
            format!("a catalog record could not be decoded ({e})"),
            e,
        )
    }
}

impl From<hubkeep_vault::VaultError> for Error {
    fn from(e: hubkeep_vault::VaultError) -> Error {
        let kind = ErrorKind::from_code(e.code()).unwrap_or(ErrorKind::Vault);
        Error::with_source(kind, e.to_string(), e)
    }
}

impl From<hubkeep_store::StoreError> for Error {
    fn from(e: hubkeep_store::StoreError) -> Error {
        Error::with_source(ErrorKind::Store, e.to_string(), e)
    }
}

impl From<hubkeep_pg::PgError> for Error {
    fn from(e: hubkeep_pg::PgError) -> Error {
        Error::with_source(ErrorKind::Database, e.to_string(), e)
    }
}

/// One line per vault problem: the object, what is wrong, and what it hurts.
pub fn describe_problem(p: &hubkeep_vault::Problem) -> String {
    let mut s = format!("{}: {}", p.object, p.message);
    if !p.snapshots.is_empty() {
        s.push_str(&format!(" (affects snapshot(s) {}", p.snapshots.join(", ")));
        if !p.files.is_empty() {
            s.push_str(&format!(
                "; files {}",
                p.files
                    .iter()
                    .take(10)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        s.push(')');
    }
    s
}

/// A vault snapshot's verify report as (problems that hurt it, warnings):
/// a bad copy of a chunk that has a good one elsewhere, or an index entry
/// refused alone, is worth knowing but leaves the snapshot restorable.
pub fn problems_of(
    report: &hubkeep_vault::VerifyReport,
    vault_snapshot_id: &str,
) -> (Vec<String>, Vec<String>) {
    let (hurting, other): (Vec<_>, Vec<_>) = report
        .problems
        .iter()
        .partition(|p| p.snapshots.iter().any(|s| s == vault_snapshot_id));
    (
        hurting.into_iter().map(describe_problem).collect(),
        other.into_iter().map(describe_problem).collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_through_its_code() {
        for kind in [
            ErrorKind::StackExists,
            ErrorKind::WrongRegion,
            ErrorKind::SecretNotFound,
            ErrorKind::Interrupted,
        ] {
            assert_eq!(ErrorKind::from_code(kind.code()), Some(kind));
        }
        assert_eq!(ErrorKind::from_code("no_such_code"), None);
    }

    #[test]
    fn context_keeps_the_kind_and_the_source() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "gone");
        let e = Error::from(io).context("reading x");
        assert_eq!(e.kind(), ErrorKind::Io);
        assert_eq!(e.message(), "reading x: gone");
        assert!(std::error::Error::source(&e).is_some());
    }
}
