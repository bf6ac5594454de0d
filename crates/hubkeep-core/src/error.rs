//! The one error type of the service layer: a stable code for scripts and a
//! sentence for the operator (what is wrong, and what to do).

use std::fmt;

#[derive(Debug, Clone)]
pub struct Error {
    code: &'static str,
    message: String,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(code: &'static str, message: impl Into<String>) -> Error {
        Error { code, message: message.into() }
    }
    pub fn code(&self) -> &'static str {
        self.code
    }
    pub fn message(&self) -> &str {
        &self.message
    }
    pub fn not_found(what: impl fmt::Display) -> Error {
        Error::new("not_found", format!("{what} does not exist"))
    }
    pub fn invalid(message: impl Into<String>) -> Error {
        Error::new("invalid_argument", message)
    }
    pub fn conflict(message: impl Into<String>) -> Error {
        Error::new("conflict", message)
    }
    /// Prefix the message with what was being done, keeping the code.
    pub fn context(self, doing: impl fmt::Display) -> Error {
        Error { code: self.code, message: format!("{doing}: {}", self.message) }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Error {
        Error::new("catalog", format!("the hubkeep catalog could not be read or written ({e}); check the home directory's disk and permissions"))
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Error {
        Error::new("io", e.to_string())
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Error {
        Error::new("catalog", format!("a catalog record could not be decoded ({e})"))
    }
}

impl From<hubkeep_vault::VaultError> for Error {
    fn from(e: hubkeep_vault::VaultError) -> Error {
        Error::new(e.code(), e.to_string())
    }
}

impl From<hubkeep_store::StoreError> for Error {
    fn from(e: hubkeep_store::StoreError) -> Error {
        Error::new("store", e.to_string())
    }
}

impl From<hubkeep_pg::PgError> for Error {
    fn from(e: hubkeep_pg::PgError) -> Error {
        Error::new("database", e.to_string())
    }
}

/// One line per vault problem: the object, what is wrong, and what it hurts.
pub fn describe_problem(p: &hubkeep_vault::Problem) -> String {
    let mut s = format!("{}: {}", p.object, p.message);
    if !p.snapshots.is_empty() {
        s.push_str(&format!(" (affects snapshot(s) {}", p.snapshots.join(", ")));
        if !p.files.is_empty() {
            s.push_str(&format!("; files {}", p.files.iter().take(10).cloned().collect::<Vec<_>>().join(", ")));
        }
        s.push(')');
    }
    s
}

/// A vault snapshot's verify report as (problems that hurt it, warnings):
/// a bad copy of a chunk that has a good one elsewhere, or an index entry
/// refused alone, is worth knowing but leaves the snapshot restorable.
pub fn problems_of(report: &hubkeep_vault::VerifyReport, vault_snapshot_id: &str) -> (Vec<String>, Vec<String>) {
    let (hurting, other): (Vec<_>, Vec<_>) = report.problems.iter().partition(|p| p.snapshots.iter().any(|s| s == vault_snapshot_id));
    (hurting.into_iter().map(describe_problem).collect(), other.into_iter().map(describe_problem).collect())
}
