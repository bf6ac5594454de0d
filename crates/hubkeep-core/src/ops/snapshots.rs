//! Database snapshot commands that take more than a record: restoring into
//! a database named by URL, and deleting.

use crate::error::Result;
use crate::Hubkeep;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// `db-snapshot restore ID --target-url URL`.
pub struct SnapshotRestore {
    /// The snapshot.
    pub id: String,
    /// The existing, empty database to restore into.
    pub target_url: String,
    /// A file holding the target's password (instead of the URL).
    pub password_file: Option<PathBuf>,
}

/// What `db-snapshot delete` prints.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SnapshotDeleted {
    /// The deleted snapshot.
    pub id: crate::ids::DbSnapshotId,
    /// Always `deleted`.
    pub status: &'static str,
}

impl Hubkeep {
    /// Restore a snapshot into the database at a URL.
    pub fn db_snapshot_restore(&self, req: &SnapshotRestore) -> Result<hubkeep_pg::RestoreReport> {
        let target = self.connection(
            &req.target_url,
            "--target-url",
            req.password_file.as_deref(),
        )?;
        self.restore_db_snapshot(&req.id, &target, BTreeMap::new())
    }

    /// `db-snapshot delete ID [--force]`.
    pub fn db_snapshot_delete(&self, id: &str, force: bool) -> Result<SnapshotDeleted> {
        let s = self.delete_db_snapshot(id, force)?;
        Ok(SnapshotDeleted {
            id: s.id,
            status: "deleted",
        })
    }
}
