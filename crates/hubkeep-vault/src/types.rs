//! The public values the vault hands out; all serialize to JSON for the CLI.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;

pub use crate::manifest::SnapshotStats;

/// Receives byte counts as long work proceeds (for progress bars).
pub trait Progress: Send + Sync {
    /// The total number of bytes the operation expects to process.
    fn start(&self, total_bytes: u64);
    /// `bytes` more have been processed.
    fn advance(&self, bytes: u64);
}

/// How to back up a directory.
#[derive(Clone)]
pub struct BackupOptions {
    /// A previous snapshot of the same directory: unchanged files reuse its chunk lists unread.
    pub parent: Option<String>,
    /// The snapshot kind recorded in the manifest, e.g. `files`.
    pub kind: String,
    /// The caller's metadata, stored encrypted and returned verbatim by [`SnapshotInfo::meta`].
    pub meta: serde_json::Value,
    pub progress: Option<Arc<dyn Progress>>,
    /// When the snapshot is dated (and its id made); `None` is the system
    /// clock's now.
    pub created: Option<chrono::DateTime<chrono::Utc>>,
}

impl Default for BackupOptions {
    fn default() -> Self {
        BackupOptions {
            parent: None,
            kind: "files".into(),
            meta: serde_json::Value::Null,
            progress: None,
            created: None,
        }
    }
}

/// How to restore a snapshot.
#[derive(Clone, Default)]
pub struct RestoreOptions {
    /// Restore every intact file and list the damaged ones instead of failing.
    pub skip_damaged: bool,
    pub progress: Option<Arc<dyn Progress>>,
}

/// A committed snapshot, as its manifest describes it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SnapshotInfo {
    pub id: String,
    pub kind: String,
    pub created: DateTime<Utc>,
    pub parent: Option<String>,
    pub meta: serde_json::Value,
    pub stats: SnapshotStats,
}

/// What a backup did.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SnapshotSummary {
    pub id: String,
    pub created: DateTime<Utc>,
    pub files: u64,
    pub dirs: u64,
    pub symlinks: u64,
    /// Total size of the files in the snapshot.
    pub bytes: u64,
    /// Bytes actually read from the source (unchanged files are not read).
    pub bytes_read: u64,
    /// Bytes of chunks that were not yet in the vault.
    pub bytes_new: u64,
    /// Bytes those new chunks take in the vault (compressed and encrypted).
    pub bytes_stored: u64,
    pub chunks_new: u64,
    /// Files whose chunk list was taken from the parent without reading them.
    pub files_unchanged: u64,
    /// Paths skipped because they vanished while the backup walked or read them.
    pub skipped: Vec<String>,
    /// Sockets, FIFOs and device nodes: a vault stores none, so they are
    /// skipped, and listed here for the operator to hear about them.
    pub special_files: Vec<SpecialFile>,
    pub duration_secs: f64,
}

/// A file a backup skipped because the vault cannot store its kind.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SpecialFile {
    /// Relative to the backed-up directory (invalid UTF-8 replaced).
    pub path: String,
    pub kind: SpecialKind,
}

/// The kinds of [`SpecialFile`].
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SpecialKind {
    Fifo,
    Socket,
    BlockDevice,
    CharDevice,
}

impl std::fmt::Display for SpecialKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SpecialKind::Fifo => "FIFO",
            SpecialKind::Socket => "socket",
            SpecialKind::BlockDevice => "block device",
            SpecialKind::CharDevice => "character device",
        })
    }
}

/// What one [`crate::SnapshotWriter::add_stream`] stored.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, Default)]
pub struct StreamStats {
    pub bytes: u64,
    pub new_bytes: u64,
    pub stored_bytes: u64,
}

/// The type of a snapshot entry.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
}

/// One entry of a snapshot.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct EntryInfo {
    /// The path relative to the snapshot root, as bytes (not always UTF-8).
    #[serde(serialize_with = "lossy")]
    pub path: Vec<u8>,
    pub kind: EntryKind,
    pub size: u64,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub mtime: DateTime<Utc>,
    #[serde(serialize_with = "lossy_opt")]
    pub target: Option<Vec<u8>>,
}

impl EntryInfo {
    /// The path for display (invalid UTF-8 replaced).
    pub fn path_lossy(&self) -> String {
        String::from_utf8_lossy(&self.path).into_owned()
    }
}

fn lossy<S: serde::Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&String::from_utf8_lossy(bytes))
}

fn lossy_opt<S: serde::Serializer>(bytes: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
    match bytes {
        Some(b) => lossy(b, s),
        None => s.serialize_none(),
    }
}

/// What a restore did.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct RestoreSummary {
    pub snapshot: String,
    pub files: u64,
    pub dirs: u64,
    pub symlinks: u64,
    pub bytes: u64,
    /// Files left out because their data is damaged (only with `skip_damaged`).
    pub damaged_files: Vec<String>,
    pub duration_secs: f64,
}

/// One thing verify found wrong.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Problem {
    /// The damaged or missing object, e.g. `packs/ab…` or `snapshots/2026…`.
    pub object: String,
    pub message: String,
    /// Snapshots that cannot be fully restored because of it.
    pub snapshots: Vec<String>,
    /// Files (as `snapshot:path`) that cannot be restored because of it; capped at 100.
    pub files: Vec<String>,
}

/// The outcome of [`crate::Vault::verify`].
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct VerifyReport {
    pub snapshots_checked: usize,
    pub objects_checked: usize,
    pub chunks_checked: u64,
    pub bytes_read: u64,
    pub read_data: bool,
    pub problems: Vec<Problem>,
}

impl VerifyReport {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// The outcome of [`crate::Vault::gc`].
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct GcReport {
    pub snapshots: usize,
    pub packs_total: usize,
    pub packs_deleted: usize,
    pub packs_repacked: usize,
    /// Unreferenced packs left alone because they are younger than the grace period.
    pub packs_in_grace: usize,
    /// Leases removed because they expired or their holder is gone.
    pub leases_removed: usize,
    /// Temp objects (`.tmp-…`) of killed writes, older than the grace period, removed.
    pub temp_objects_deleted: usize,
    pub bytes_freed: u64,
    /// Counted only (`vault gc --dry-run`): nothing was deleted, rewritten
    /// or freed; the counts say what a collection now would do.
    pub dry_run: bool,
}
