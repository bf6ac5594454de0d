//! The crate's one error type. Every message is a sentence for an operator:
//! what is wrong, which thing, what to do. Keys and passwords never appear.

use std::path::PathBuf;

/// Everything that can go wrong in the Hubs profile.
#[derive(Debug, thiserror::Error)]
pub enum HubsError {
    /// The database URL does not parse.
    #[error("the database URL is not valid ({reason}); give a libpq URL such as postgresql://user@host:5432/dbname")]
    InvalidUrl {
        /// What is wrong with it.
        reason: String,
    },

    /// The hub database could not be reached.
    #[error("cannot connect to the hub database {target}: {detail}; check that PostgreSQL is running there and that the URL's user may log in")]
    Connect {
        /// The database, as host:port/dbname (no password).
        target: String,
        /// What PostgreSQL said.
        detail: String,
    },

    /// A statement failed in the hub database.
    #[error("{action} failed in the hub database {target}: {detail}")]
    Query {
        /// What was being done.
        action: String,
        /// The database, as host:port/dbname (no password).
        target: String,
        /// What PostgreSQL said.
        detail: String,
    },

    /// The database lacks a table every Reticulum database has.
    #[error("the database {target} has no table {table}: it is not a Reticulum (Hubs) database or its schema was not restored; point at the hub's database")]
    NotAHubDatabase {
        /// The database, as host:port/dbname (no password).
        target: String,
        /// The missing table.
        table: String,
    },

    /// The file store directory is missing.
    #[error("the file store {} does not exist or is not a directory: point at the hub's storage_path (the directory holding owned/, expiring/ and cached/)", path.display())]
    NoStorage {
        /// The file or directory.
        path: PathBuf,
    },

    /// The demo schema was asked for in a database that already has one.
    #[error("the database {target} already has a schema ret0: the demo schema goes into an empty database only; create a fresh database")]
    SchemaExists {
        /// The database, as host:port/dbname (no password).
        target: String,
    },

    /// The owner named for the demo schema is not a role of the cluster.
    #[error("the role {role} does not exist in the cluster of {target}: create it first or name an existing role as the owner")]
    NoSuchRole {
        /// The role named.
        role: String,
        /// The database, as host:port/dbname (no password).
        target: String,
    },

    /// The demo hub was asked to populate a schema that holds data.
    #[error("the database {target} already holds {owned_files} owned files: the demo hub is populated into a freshly created schema only")]
    AlreadyPopulated {
        /// The database, as host:port/dbname (no password).
        target: String,
        /// How many owned files it holds.
        owned_files: i64,
    },

    /// A demo mutation found nothing left to change.
    #[error("the demo hub in {target} has no hubs left to {what}; populate it again")]
    DemoExhausted {
        /// The database, as host:port/dbname (no password).
        target: String,
        /// What was to be read or changed.
        what: &'static str,
    },

    /// A file or directory operation failed.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// A meta file is not Reticulum's meta JSON.
    #[error(
        "the meta file {path} is not Reticulum's meta JSON ({reason}); restore it from a backup"
    )]
    BadMeta {
        /// The file or directory.
        path: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The check's source (live hub or backup) could not give something.
    #[error("cannot read {what}: {source}")]
    Source {
        /// What was to be read or changed.
        what: String,
        /// The underlying error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// A blob is shorter than its header.
    #[error("the blob is {len} bytes long, shorter than Reticulum's 12-byte header: it is truncated; restore it from a backup")]
    BlobTooShort {
        /// The blob's length in bytes.
        len: usize,
    },

    /// A blob's header does not decrypt with the key given.
    #[error("the blob does not decrypt: its magic header is wrong, so the file key, the phoenix-key (secret_key_base) and the blob do not belong to the same hub and moment; use the phoenix-key and the database backed up with these files")]
    WrongKey,

    /// A blob holds less content than its header declares.
    #[error("the blob declares {declared} bytes of content but holds only {available}: it is truncated; restore it from a backup")]
    BlobTruncated {
        /// The content length the header declares.
        declared: u64,
        /// The content bytes the blob holds.
        available: u64,
    },
}

impl HubsError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        HubsError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
