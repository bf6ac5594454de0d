//! The vault size over time: after each backup, gc and retention run, one
//! small sample (`vault_sizes` in the catalog) of how many bytes a vault's
//! database snapshots and recovery points added to its store, the measure
//! of the `hubkeep_vault_stored_bytes` metric. Nothing else records a
//! vault's size over time; `stack history` draws its line from these.
//! A catalog from before this module has no samples: its line starts at
//! the first backup, gc or retention run after the upgrade.

use crate::catalog::Kind;
use crate::error::Result;
use crate::{now, Hubkeep};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One sample of a vault's stored bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VaultSize {
    /// The vault.
    pub vault: String,
    /// When it was taken.
    pub at: DateTime<Utc>,
    /// Bytes the vault's database snapshots and recovery points added to its store.
    pub stored_bytes: u64,
}

impl Hubkeep {
    /// The bytes `vault`'s database snapshots and recovery points in the
    /// catalog added to its store.
    pub fn vault_stored_bytes(&self, vault: &str) -> Result<u64> {
        let points: u64 = self
            .recovery_points(Some(vault))?
            .iter()
            .map(|rp| rp.bytes_stored)
            .sum();
        let snapshots: u64 = self
            .db_snapshots(None)?
            .iter()
            .filter(|s| s.vault == vault)
            .map(|s| s.bytes_stored)
            .sum();
        Ok(points + snapshots)
    }

    /// Appends a sample of `vault`'s size now. A sample that cannot be
    /// taken is a warning, never the failure of the work it follows.
    pub(crate) fn sample_vault_size(&self, vault: &str) {
        let sample = self.vault_stored_bytes(vault).and_then(|stored_bytes| {
            let at = now();
            let size = VaultSize {
                vault: vault.to_string(),
                at,
                stored_bytes,
            };
            let id = format!(
                "{vault}/{}/{}",
                at.format("%Y%m%dT%H%M%S%.9fZ"),
                crate::ids::random_hex(4)
            );
            self.home.catalog.put(Kind::VaultSize, &id, &size)
        });
        if let Err(e) = sample {
            self.note(&format!(
                "warning: the size of vault {vault} was not recorded for `stack history`: {e}"
            ));
        }
    }

    /// Every sample of `vault`, oldest first.
    pub fn vault_sizes(&self, vault: &str) -> Result<Vec<VaultSize>> {
        let mut all: Vec<VaultSize> = self.home.catalog.list(Kind::VaultSize)?;
        all.retain(|s| s.vault == vault);
        all.sort_by_key(|s| s.at);
        Ok(all)
    }
}
