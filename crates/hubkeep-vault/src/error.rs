//! The vault's error type: every message names the thing and says what to do.

use hubkeep_store::StoreError;

/// Why a vault operation failed. Never contains key material.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error(transparent)]
    Store(#[from] StoreError),

    #[error("a vault already exists at {location}; open it with its access or recovery key, or choose another location")]
    AlreadyExists { location: String },

    #[error("there is no vault at {location} (no config object); check the location, or create a vault there")]
    NotAVault { location: String },

    #[error("the vault at {location} has format {found:?}, not {expected:?}; this location holds something else")]
    UnknownFormat {
        location: String,
        found: String,
        expected: String,
    },

    #[error("the vault at {location} uses format version {found}, but this hubkeep supports version {supported}; upgrade hubkeep to open it")]
    UnsupportedVersion {
        location: String,
        found: u32,
        supported: u32,
    },

    #[error("the key is not a hubkeep vault key ({reason}); copy the whole key, it looks like hkv1-xxxx-xxxx-…")]
    InvalidKeyText { reason: String },

    #[error("the key does not open the vault at {location}: it matches none of its {key_files} key files; use this vault's access key or its recovery key")]
    WrongKey { location: String, key_files: usize },

    #[error("object {object} in {location} is damaged: {detail}; run verify --read-data to see which recovery points it affects")]
    Corrupt {
        location: String,
        object: String,
        detail: String,
    },

    #[error("recovery point {id} does not exist in the vault at {location}; list the vault's recovery points to find the right id")]
    SnapshotNotFound { location: String, id: String },

    #[error("{id:?} is not a recovery point id (expected like 20261124T003501Z-9f3a1c2e)")]
    InvalidSnapshotId { id: String },

    #[error("recovery point {snapshot} has no file {path:?}")]
    EntryNotFound { snapshot: String, path: String },

    #[error("stream path {path:?} is not valid: {reason}; use a relative '/'-separated path")]
    InvalidStreamPath { path: String, reason: String },

    #[error(
        "stream path {path:?} was added twice to the same snapshot; give each stream its own path"
    )]
    DuplicatePath { path: String },

    #[error("restore target {target} is not empty; restore into a new or empty directory")]
    TargetNotEmpty { target: String },

    #[error("restore target {target} is being written by another restore (process {pid}); wait for it to finish, or restore elsewhere")]
    RestoreBusy { target: String, pid: u32 },

    #[error("recovery point {snapshot} contains an unsafe entry {path:?} ({reason}); nothing was restored")]
    UnsafeEntry {
        snapshot: String,
        path: String,
        reason: String,
    },

    #[error("file {path:?} of recovery point {snapshot} cannot be restored: {detail}; restore the other files with skip-damaged, or use another recovery point")]
    DamagedFile {
        snapshot: String,
        path: String,
        detail: String,
    },

    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },

    #[error("garbage collection refused: a {role} ({holder}) holds the lease {lock} on the vault at {location}; retry when it has finished (a crashed holder's lease is taken over at once on its own machine, elsewhere it expires within {ttl_secs} s)")]
    LeaseHeld {
        location: String,
        lock: String,
        /// The holder's role: `backup` or `gc`.
        role: String,
        holder: String,
        ttl_secs: u64,
    },

    #[error("a garbage collection ({holder}) is running on the vault at {location} (lease {lock}); retry the backup when it has finished")]
    GcRunning {
        location: String,
        lock: String,
        holder: String,
    },

    #[error("garbage collection refused: {detail}; nothing was deleted")]
    GcUnsafe { detail: String },

    #[error("internal error in the vault engine: {detail}; this is a bug, please report it")]
    Internal { detail: String },
}

impl VaultError {
    /// A stable, machine-readable name of the kind of error, for scripts
    /// (the CLI's `{"error": {"code": …}}`).
    pub fn code(&self) -> &'static str {
        match self {
            VaultError::Store(_) => "store",
            VaultError::AlreadyExists { .. } => "conflict",
            VaultError::NotAVault { .. } | VaultError::UnknownFormat { .. } => "not_a_vault",
            VaultError::UnsupportedVersion { .. } => "unknown_format_version",
            VaultError::InvalidKeyText { .. } | VaultError::WrongKey { .. } => "wrong_key",
            VaultError::Corrupt { .. } | VaultError::DamagedFile { .. } => "corrupt",
            VaultError::SnapshotNotFound { .. } | VaultError::EntryNotFound { .. } => "not_found",
            VaultError::InvalidSnapshotId { .. }
            | VaultError::InvalidStreamPath { .. }
            | VaultError::DuplicatePath { .. } => "invalid_argument",
            VaultError::TargetNotEmpty { .. } => "target_not_empty",
            VaultError::RestoreBusy { .. } => "locked",
            VaultError::UnsafeEntry { .. } => "unsafe_path",
            VaultError::Io { .. } => "io",
            VaultError::LeaseHeld { .. }
            | VaultError::GcRunning { .. }
            | VaultError::GcUnsafe { .. } => "locked",
            VaultError::Internal { .. } => "internal",
        }
    }

    pub(crate) fn io(
        action: &'static str,
        path: impl AsRef<std::path::Path>,
        source: std::io::Error,
    ) -> Self {
        VaultError::Io {
            action,
            path: path.as_ref().display().to_string(),
            source,
        }
    }
}
