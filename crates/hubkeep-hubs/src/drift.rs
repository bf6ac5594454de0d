//! Drift between `ret0.owned_files` and `owned/`: what a backup that copied
//! the files and dumped the database at different moments leaves behind.

use std::collections::BTreeSet;
use std::path::Path;

use serde::Serialize;

use crate::db::HubDb;
use crate::error::HubsError;
use crate::layout::{file_paths, list_blobs, require_storage, StorageArea};

/// Uuids, sorted, on either side of the mismatch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Drift {
    /// `owned_files` rows whose `<uuid>.blob` is not where Reticulum looks.
    pub rows_without_blob: Vec<String>,
    /// `owned_files` rows whose `<uuid>.meta.json` is missing (Reticulum
    /// cannot serve a file without it).
    pub rows_without_meta: Vec<String>,
    /// Blobs under `owned/` that no `owned_files` row names, or that sit in
    /// the wrong directory for their uuid.
    pub blobs_without_row: Vec<String>,
}

impl Drift {
    /// Whether the database and the file store agree (no drift of any kind).
    pub fn is_empty(&self) -> bool {
        self.rows_without_blob.is_empty()
            && self.rows_without_meta.is_empty()
            && self.blobs_without_row.is_empty()
    }
}

/// Compares the owned files the database at `db_url` lists with the blobs
/// under `<storage>/owned`.
pub fn drift(db_url: &str, storage: &Path) -> Result<Drift, HubsError> {
    require_storage(storage)?;
    let mut db = HubDb::connect(db_url)?;
    db.require_table("owned_files")?;
    let rows = db
        .client
        .query(
            "SELECT owned_file_uuid FROM ret0.owned_files ORDER BY owned_file_uuid",
            &[],
        )
        .map_err(db.failed("reading ret0.owned_files"))?;
    let uuids: BTreeSet<String> = rows.iter().map(|r| r.get(0)).collect();

    let mut drift = Drift::default();
    for uuid in &uuids {
        let paths = file_paths(storage, StorageArea::Owned, uuid);
        if !paths.blob.is_file() {
            drift.rows_without_blob.push(uuid.clone());
        }
        if !paths.meta.is_file() {
            drift.rows_without_meta.push(uuid.clone());
        }
    }
    for (uuid, path) in list_blobs(storage, StorageArea::Owned)? {
        let expected = file_paths(storage, StorageArea::Owned, &uuid).blob;
        if !uuids.contains(&uuid) || path != expected {
            drift.blobs_without_row.push(uuid);
        }
    }
    Ok(drift)
}
