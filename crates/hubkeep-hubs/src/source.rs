//! Where the Hubs check reads a hub from. The check itself ([`crate::check`])
//! only needs rows of two tables, the files of the file store by relative
//! path and the phoenix-key, so one check serves a live hub ([`LiveHub`]:
//! database, directory, key) and a backup of one (the service layer's
//! source over a database snapshot, a recovery point and a key bundle).
//!
//! [`LiveHub`]: crate::LiveHub

use crate::error::HubsError;
use crate::layout::{file_paths, StorageArea};

/// One row of `ret0.owned_files` or `ret0.cached_files`, as the check needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRow {
    /// `owned_file_uuid` / `file_uuid`.
    pub uuid: String,
    /// `key` / `file_key`: the per-file key string (a secret: never printed).
    pub key: String,
    /// `content_length` where the table records it (`owned_files` only).
    pub content_length: Option<i64>,
}

/// A hub to check: its file rows, its file store and its phoenix-key.
///
/// Paths are relative to the file store's root and use `/`, as Reticulum
/// lays them out: `owned/ab/cd/<uuid>.blob` (see [`relative_path`]).
pub trait HubSource {
    /// Every `ret0.owned_files` row, in `owned_file_id` order. A source
    /// without that table is not a hub: [`HubsError::NotAHubDatabase`].
    fn owned_files(&mut self) -> Result<Vec<FileRow>, HubsError>;

    /// Every `ret0.cached_files` row, or `None` when the hub has no such
    /// table (Reticulum versions before cached files).
    fn cached_files(&mut self) -> Result<Option<Vec<FileRow>>, HubsError>;

    /// The size of the regular file at `path`, or `None` when there is none.
    fn file_size(&mut self, path: &str) -> Result<Option<u64>, HubsError>;

    /// At most the first `limit` bytes of the regular file at `path`.
    fn read_prefix(&mut self, path: &str, limit: usize) -> Result<Vec<u8>, HubsError>;

    /// How a problem names the file at `path` for an operator (an absolute
    /// path, or the backup and the path inside it).
    fn show_path(&self, path: &str) -> String;

    /// The Phoenix `secret_key_base` the blobs were encrypted with, or
    /// `None` when the source has none (a backup whose key bundle lacks it:
    /// then no blob can be decrypted and the check says so).
    fn secret_key_base(&self) -> Option<&str>;
}

/// `<area>/<uuid[0:2]>/<uuid[2:4]>/<uuid>.<suffix>`, the path of a stored
/// file relative to the file store's root (`suffix` is `blob` or `meta.json`).
pub fn relative_path(area: StorageArea, uuid: &str, suffix: &str) -> String {
    let paths = file_paths(std::path::Path::new(""), area, uuid);
    let dir = paths.dir.to_string_lossy().into_owned();
    format!("{dir}/{uuid}.{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_follow_reticulums_layout() {
        let uuid = "3f2a9c1e-0b4d-4e6f-8a7b-1c2d3e4f5a6b";
        assert_eq!(
            relative_path(StorageArea::Owned, uuid, "blob"),
            format!("owned/3f/2a/{uuid}.blob")
        );
        assert_eq!(
            relative_path(StorageArea::Cached, uuid, "meta.json"),
            format!("cached/3f/2a/{uuid}.meta.json")
        );
    }
}
