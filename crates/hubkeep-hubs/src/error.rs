//! The crate's one error type. Every message is a sentence for an operator:
//! what is wrong, which thing, what to do. Keys and passwords never appear.

use std::path::PathBuf;

/// Everything that can go wrong in the Hubs profile.
#[derive(Debug, thiserror::Error)]
pub enum HubsError {
    #[error("the database URL is not valid ({reason}); give a libpq URL such as postgresql://user@host:5432/dbname")]
    InvalidUrl { reason: String },

    #[error("cannot connect to the hub database {target}: {detail}; check that PostgreSQL is running there and that the URL's user may log in")]
    Connect { target: String, detail: String },

    #[error("{action} failed in the hub database {target}: {detail}")]
    Query {
        action: String,
        target: String,
        detail: String,
    },

    #[error("the database {target} has no table {table}: it is not a Reticulum (Hubs) database or its schema was not restored; point at the hub's database")]
    NotAHubDatabase { target: String, table: String },

    #[error("the file store {} does not exist or is not a directory: point at the hub's storage_path (the directory holding owned/, expiring/ and cached/)", path.display())]
    NoStorage { path: PathBuf },

    #[error("the database {target} already has a schema ret0: the demo schema goes into an empty database only; create a fresh database")]
    SchemaExists { target: String },

    #[error("the role {role} does not exist in the cluster of {target}: create it first or name an existing role as the owner")]
    NoSuchRole { role: String, target: String },

    #[error("the database {target} already holds {owned_files} owned files: the demo hub is populated into a freshly created schema only")]
    AlreadyPopulated { target: String, owned_files: i64 },

    #[error("the demo hub in {target} has no hubs left to {what}; populate it again")]
    DemoExhausted { target: String, what: &'static str },

    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "the meta file {path} is not Reticulum's meta JSON ({reason}); restore it from a backup"
    )]
    BadMeta { path: String, reason: String },

    #[error("cannot read {what}: {source}")]
    Source {
        what: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    #[error("the blob is {len} bytes long, shorter than Reticulum's 12-byte header: it is truncated; restore it from a backup")]
    BlobTooShort { len: usize },

    #[error("the blob does not decrypt: its magic header is wrong, so the file key, the phoenix-key (secret_key_base) and the blob do not belong to the same hub and moment; use the phoenix-key and the database backed up with these files")]
    WrongKey,

    #[error("the blob declares {declared} bytes of content but holds only {available}: it is truncated; restore it from a backup")]
    BlobTruncated { declared: u64, available: u64 },
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
