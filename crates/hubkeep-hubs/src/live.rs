//! A running hub as a [`HubSource`]: its database, its file-store directory
//! and its phoenix-key.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::db::HubDb;
use crate::error::HubsError;
use crate::layout::require_storage;
use crate::source::{FileRow, HubSource};

/// A live hub: the database at a URL, the file store at a directory.
pub struct LiveHub {
    db: HubDb,
    storage: PathBuf,
    secret_key_base: String,
}

impl LiveHub {
    /// Connects to the hub's database at `db_url` (a libpq URL) after making
    /// sure `storage` is a directory.
    pub fn open(db_url: &str, storage: &Path, secret_key_base: &str) -> Result<Self, HubsError> {
        require_storage(storage)?;
        Ok(LiveHub {
            db: HubDb::connect(db_url)?,
            storage: storage.to_path_buf(),
            secret_key_base: secret_key_base.to_string(),
        })
    }

    fn rows(&mut self, sql: &str, table: &str) -> Result<Vec<FileRow>, HubsError> {
        let rows = self
            .db
            .client
            .query(sql, &[])
            .map_err(self.db.failed(format!("reading ret0.{table}")))?;
        Ok(rows
            .iter()
            .map(|row| FileRow {
                uuid: row.get(0),
                key: row.get(1),
                content_length: row.get(2),
            })
            .collect())
    }
}

impl HubSource for LiveHub {
    fn owned_files(&mut self) -> Result<Vec<FileRow>, HubsError> {
        self.db.require_table("owned_files")?;
        self.rows(
            "SELECT owned_file_uuid, key, content_length FROM ret0.owned_files ORDER BY owned_file_id",
            "owned_files",
        )
    }

    fn cached_files(&mut self) -> Result<Option<Vec<FileRow>>, HubsError> {
        if !self.db.has_table("cached_files")? {
            return Ok(None);
        }
        self.rows(
            "SELECT file_uuid, file_key, NULL::bigint FROM ret0.cached_files ORDER BY cached_file_id",
            "cached_files",
        )
        .map(Some)
    }

    fn file_size(&mut self, path: &str) -> Result<Option<u64>, HubsError> {
        let full = self.storage.join(path);
        match fs::metadata(&full) {
            Ok(meta) if meta.is_file() => Ok(Some(meta.len())),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(HubsError::io("inspect", full, e)),
        }
    }

    fn read_prefix(&mut self, path: &str, limit: usize) -> Result<Vec<u8>, HubsError> {
        let full = self.storage.join(path);
        let file = fs::File::open(&full).map_err(|e| HubsError::io("open", &full, e))?;
        let mut bytes = Vec::new();
        file.take(limit as u64)
            .read_to_end(&mut bytes)
            .map_err(|e| HubsError::io("read", &full, e))?;
        Ok(bytes)
    }

    fn show_path(&self, path: &str) -> String {
        self.storage.join(path).display().to_string()
    }

    fn secret_key_base(&self) -> Option<&str> {
        Some(&self.secret_key_base)
    }
}
