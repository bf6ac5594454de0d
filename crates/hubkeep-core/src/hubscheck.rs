//! The Hubs check of a backup set, without restoring it. A backup is one
//! more [`HubSource`] for `hubkeep-hubs`' one check: its rows come from the
//! database snapshot's COPY streams, its files from the recovery point, its
//! phoenix-key from the backup's own key bundle. So `verify` of a backup
//! and the check after a restore judge by exactly the same rules.

use std::io::Read;

use hubkeep_hubs::{CheckOptions, CheckReport, FileRow, HubSource, HubsError};
use hubkeep_pg::{SnapshotMeta, TableMeta};
use hubkeep_vault::SnapshotFiles;

use crate::dbsnap::VaultSource;
use crate::error::{Error, ErrorKind, Result};
use crate::records::BackupSet;
use crate::Hubkeep;

impl Hubkeep {
    /// Checks a Hubs backup set in place: every `owned_files` and
    /// `cached_files` row of its snapshot against its recovery point's
    /// files, decrypting a sample of blobs (all with `read_all`) with the
    /// phoenix-key of its key bundle.
    pub fn hubs_check_backup(&self, set: &BackupSet, read_all: bool) -> Result<CheckReport> {
        let bundle = self.backup_key_bundle(set)?;
        let snap = self.available_snapshot(&set.db_snapshot_id)?;
        let meta: SnapshotMeta = serde_json::from_value(snap.metadata.clone().ok_or_else(|| {
            Error::new(ErrorKind::Corrupt, format!("database snapshot {} has no metadata", snap.id))
        })?)?;
        let rp = self.available_recovery_point(&set.recovery_point_arn)?;
        let files = self.open_vault(&rp.vault)?;
        let rp_snapshot = rp.vault_snapshot_id.clone().unwrap_or_default();
        let mut backup = BackupHub {
            rows: VaultSource::new(self.open_vault(&snap.vault)?, snap.vault_snapshot_id.clone().unwrap_or_default(), None),
            meta,
            snapshot_id: snap.id.to_string(),
            files: files.snapshot_files(&rp_snapshot)?,
            rp_arn: rp.recovery_point_arn.to_string(),
            phoenix: bundle.keymaster.get("phoenix-key").cloned(),
        };
        let options = CheckOptions { read_all, ..CheckOptions::default() };
        hubkeep_hubs::check(&mut backup, options).map_err(|e| {
            Error::new(ErrorKind::HubsCheck, format!("the Hubs check of backup set {} could not run: {e}", set.backup_id))
        })
    }
}

/// A backup set seen as a hub: snapshot rows, recovery point files, the
/// key bundle's phoenix-key.
struct BackupHub {
    rows: VaultSource,
    meta: SnapshotMeta,
    snapshot_id: String,
    /// The recovery point, opened once for all the files read.
    files: SnapshotFiles,
    rp_arn: String,
    phoenix: Option<String>,
}

impl BackupHub {
    fn table(&self, name: &str) -> Option<&TableMeta> {
        self.meta.tables.iter().find(|t| t.schema == "ret0" && t.name == name)
    }

    /// The `uuid`, `key` and (when named) `length` columns of every row of
    /// `table`, decoded from its COPY stream.
    fn rows(&self, table: &TableMeta, [uuid, key]: [&str; 2], length: Option<&str>) -> std::result::Result<Vec<FileRow>, HubsError> {
        let unreadable = |e: Box<dyn std::error::Error + Send + Sync>| HubsError::Source {
            what: format!("ret0.{} from database snapshot {}", table.name, self.snapshot_id),
            source: e,
        };
        let column = |name: &str| {
            table.columns.iter().position(|c| c == name).ok_or_else(|| {
                unreadable(format!("the table has no column {name}: this is not a Reticulum database").into())
            })
        };
        let (uuid_at, key_at) = (column(uuid)?, column(key)?);
        let length_at = length.map(column).transpose()?;
        let mut out = Vec::new();
        for row in hubkeep_pg::copy_rows(&self.rows, table).map_err(|e| unreadable(e.into()))? {
            let mut row = row.map_err(|e| unreadable(e.into()))?;
            let content_length = match length_at.and_then(|at| row[at].take()) {
                Some(text) => Some(text.parse::<i64>().map_err(|_| {
                    unreadable(format!("content_length {text:?} is not a number").into())
                })?),
                None => None,
            };
            out.push(FileRow {
                uuid: row[uuid_at].take().unwrap_or_default(),
                key: row[key_at].take().unwrap_or_default(),
                content_length,
            });
        }
        Ok(out)
    }
}

impl HubSource for BackupHub {
    fn owned_files(&mut self) -> std::result::Result<Vec<FileRow>, HubsError> {
        let table = self.table("owned_files").ok_or_else(|| HubsError::NotAHubDatabase {
            target: format!("of database snapshot {}", self.snapshot_id),
            table: "ret0.owned_files".into(),
        })?;
        self.rows(table, ["owned_file_uuid", "key"], Some("content_length"))
    }

    fn cached_files(&mut self) -> std::result::Result<Option<Vec<FileRow>>, HubsError> {
        match self.table("cached_files") {
            Some(table) => self.rows(table, ["file_uuid", "file_key"], None).map(Some),
            None => Ok(None),
        }
    }

    fn file_size(&mut self, path: &str) -> std::result::Result<Option<u64>, HubsError> {
        Ok(self.files.size(path))
    }

    fn read_prefix(&mut self, path: &str, limit: usize) -> std::result::Result<Vec<u8>, HubsError> {
        let unreadable = |e: Box<dyn std::error::Error + Send + Sync>| HubsError::Source {
            what: self.show_path(path),
            source: e,
        };
        let stream = self.files.open_stream(path).map_err(|e| unreadable(e.into()))?;
        let mut bytes = Vec::with_capacity(limit.min(64 * 1024));
        stream.take(limit as u64).read_to_end(&mut bytes).map_err(|e| unreadable(e.into()))?;
        Ok(bytes)
    }

    fn show_path(&self, path: &str) -> String {
        format!("{path} in recovery point {}", self.rp_arn)
    }

    fn secret_key_base(&self) -> Option<&str> {
        self.phoenix.as_deref()
    }
}
