//! Deleting a recovery point frees its space: the point goes, then the
//! vault's garbage collection runs.

use crate::error::Result;
use crate::Hubkeep;
use serde::Serialize;
use std::time::Duration;

/// How old unreferenced vault data must be before the collection after a
/// deletion removes it: long enough that a backup writing into the vault
/// right now (whose new packs no snapshot references yet) is never hurt.
pub const GC_GRACE_AFTER_DELETE: Duration = Duration::from_secs(3600);

/// What `recovery-point delete` prints.
#[derive(Debug, Serialize)]
pub struct RecoveryPointDeleted {
    /// The deleted point.
    pub recovery_point_arn: crate::ids::RecoveryPointArn,
    /// Always `DELETED`.
    pub status: &'static str,
    /// The collection that followed, or why it was skipped.
    pub gc: GcOutcome,
}

/// The garbage collection after a deletion: done, or skipped (a deletion
/// stands even when the collection cannot run now, e.g. a backup holds
/// the vault).
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum GcOutcome {
    /// What the collection freed.
    Done(hubkeep_vault::GcReport),
    /// Why it did not run.
    Skipped {
        /// The reason.
        skipped: String,
    },
}

impl Hubkeep {
    /// `recovery-point delete ARN [--force]`, then the vault's collection.
    pub fn recovery_point_delete(&self, arn: &str, force: bool) -> Result<RecoveryPointDeleted> {
        let rp = self.delete_recovery_point(arn, force)?;
        let gc = match self.gc_vault(&rp.vault, GC_GRACE_AFTER_DELETE) {
            Ok(report) => GcOutcome::Done(report),
            Err(e) => GcOutcome::Skipped {
                skipped: e.message().to_string(),
            },
        };
        Ok(RecoveryPointDeleted {
            recovery_point_arn: rp.recovery_point_arn,
            status: "DELETED",
            gc,
        })
    }
}
