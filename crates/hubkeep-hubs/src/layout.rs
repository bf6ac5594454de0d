//! Reticulum's file-store layout (`Ret.Storage.paths_for_uuid/2`):
//! `<storage>/<area>/<uuid[0:2]>/<uuid[2:4]>/<uuid>.blob` and `<uuid>.meta.json`.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::HubsError;

/// The three top-level directories of a Reticulum `storage_path`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageArea {
    /// `owned/`: files promoted into an account (`owned_files` rows). Essential.
    Owned,
    /// `expiring/`: fresh uploads, vacuumed after the TTL (about two days).
    Expiring,
    /// `cached/`: proxied media (`cached_files` rows). Can be regenerated.
    Cached,
}

impl StorageArea {
    /// The area's directory under the file store root.
    pub fn dir_name(self) -> &'static str {
        match self {
            StorageArea::Owned => "owned",
            StorageArea::Expiring => "expiring",
            StorageArea::Cached => "cached",
        }
    }
}

/// Where one stored file lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilePaths {
    /// The two-level directory holding the blob and its meta file.
    pub dir: PathBuf,
    /// `<uuid>.blob`: the encrypted content.
    pub blob: PathBuf,
    /// `<uuid>.meta.json`: length, type, promotion token.
    pub meta: PathBuf,
}

/// The paths Reticulum uses for `uuid` in `area`. Like Elixir's
/// `String.slice`, a uuid shorter than four characters gives shorter
/// directory names rather than a panic.
pub fn file_paths(storage: &Path, area: StorageArea, uuid: &str) -> FilePaths {
    let first: String = uuid.chars().take(2).collect();
    let second: String = uuid.chars().skip(2).take(2).collect();
    let dir = storage.join(area.dir_name()).join(first).join(second);
    FilePaths {
        blob: dir.join(format!("{uuid}.blob")),
        meta: dir.join(format!("{uuid}.meta.json")),
        dir,
    }
}

/// `<uuid>.meta.json` as `Ret.Storage.store_stream/6` writes it. Poison
/// encodes the map with its keys sorted and without spaces:
/// `{"content_length":N,"content_type":"…","promotion_token":null}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    /// The plaintext length of the blob's content.
    pub content_length: u64,
    /// The MIME type; empty when the file has none.
    #[serde(default)]
    pub content_type: String,
    /// The token that promotes an upload to an owned file; `null` once promoted.
    pub promotion_token: Option<String>,
}

impl Meta {
    /// Reads and parses the meta file at `path`.
    pub fn read(path: &Path) -> Result<Meta, HubsError> {
        let text = fs::read(path).map_err(|e| HubsError::io("read", path, e))?;
        Meta::parse(&text, &path.display().to_string())
    }

    /// Parses a meta file's bytes; `shown_as` names the file in the error.
    pub fn parse(bytes: &[u8], shown_as: &str) -> Result<Meta, HubsError> {
        serde_json::from_slice(bytes).map_err(|e| HubsError::BadMeta {
            path: shown_as.to_string(),
            reason: e.to_string(),
        })
    }

    /// The meta file's exact bytes as Reticulum writes them (keys sorted, no spaces).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a Meta always serializes")
    }
}

/// Fails with [`HubsError::NoStorage`] unless `storage` is a directory.
pub fn require_storage(storage: &Path) -> Result<(), HubsError> {
    if storage.is_dir() {
        Ok(())
    } else {
        Err(HubsError::NoStorage {
            path: storage.to_path_buf(),
        })
    }
}

/// Writes a blob and its meta file, creating the directories.
pub fn write_file(paths: &FilePaths, blob: &[u8], meta: &Meta) -> Result<(), HubsError> {
    fs::create_dir_all(&paths.dir).map_err(|e| HubsError::io("create directory", &paths.dir, e))?;
    fs::write(&paths.blob, blob).map_err(|e| HubsError::io("write", &paths.blob, e))?;
    fs::write(&paths.meta, meta.to_json()).map_err(|e| HubsError::io("write", &paths.meta, e))?;
    Ok(())
}

/// The uuids of every `<uuid>.blob` under `<storage>/<area>`, found at any
/// depth, with the path each was found at. A missing area yields nothing.
pub fn list_blobs(storage: &Path, area: StorageArea) -> Result<Vec<(String, PathBuf)>, HubsError> {
    let root = storage.join(area.dir_name());
    let mut found = Vec::new();
    if !root.exists() {
        return Ok(found);
    }
    let mut pending = vec![root];
    while let Some(dir) = pending.pop() {
        let entries = fs::read_dir(&dir).map_err(|e| HubsError::io("list", &dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| HubsError::io("list", &dir, e))?;
            let path = entry.path();
            let kind = entry
                .file_type()
                .map_err(|e| HubsError::io("inspect", &path, e))?;
            if kind.is_dir() {
                pending.push(path);
            } else if let Some(uuid) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".blob"))
            {
                found.push((uuid.to_string(), path.clone()));
            }
        }
    }
    found.sort();
    Ok(found)
}
