//! Leases (`locks/<role>-<random>`): a writer's or gc's claim on the vault.
//!
//! A lease is a small JSON object holding its expiry time; a thread rewrites it
//! every [`REFRESH`] and it is deleted when the holder finishes. A holder that
//! was killed stops refreshing, so its lease expires after [`TTL`]. Writers and
//! gc each write their own lease *before* looking for the other's, so at least
//! one of two racing parties sees the other and backs off.

use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hubkeep_store::ObjectStore;
use serde::{Deserialize, Serialize};

use crate::VaultError;

pub(crate) const TTL: Duration = Duration::from_secs(120);
const REFRESH: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Backup,
    Gc,
}

impl Role {
    fn as_str(self) -> &'static str {
        match self {
            Role::Backup => "backup",
            Role::Gc => "gc",
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Record {
    role: String,
    /// Unix seconds after which the lease no longer counts.
    expires: u64,
    pid: u32,
}

/// A held lease; released on drop.
pub(crate) struct Lease {
    store: Arc<dyn ObjectStore>,
    name: String,
    stop: Option<Sender<()>>,
    refresher: Option<JoinHandle<()>>,
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn record(role: Role) -> Vec<u8> {
    let r = Record {
        role: role.as_str().into(),
        expires: now_secs() + TTL.as_secs(),
        pid: std::process::id(),
    };
    serde_json::to_vec(&r).expect("lease record serializes")
}

impl Lease {
    /// Writes a lease for `role`, then fails if another party holds a conflicting
    /// live lease (gc conflicts with everything; a backup only with gc).
    pub fn acquire(store: &Arc<dyn ObjectStore>, role: Role) -> Result<Lease, VaultError> {
        let name = format!(
            "locks/{}-{}",
            role.as_str(),
            hex::encode(crate::crypto::random_bytes::<8>())
        );
        store.put(&name, &record(role))?;
        let (stop, stopped) = mpsc::channel::<()>();
        let refresher = {
            let store = store.clone();
            let name = name.clone();
            std::thread::Builder::new()
                .name("hubkeep-lease".into())
                .spawn(move || loop {
                    match stopped.recv_timeout(REFRESH) {
                        Err(RecvTimeoutError::Timeout) => {
                            // A failed refresh is retried next round; the lease only lapses after TTL.
                            let _ = store.put(&name, &record(role));
                        }
                        _ => return,
                    }
                })
                .map_err(|e| VaultError::Internal {
                    detail: format!("cannot start the lease thread: {e}"),
                })?
        };
        let lease = Lease {
            store: store.clone(),
            name,
            stop: Some(stop),
            refresher: Some(refresher),
        };
        for (other, other_role) in live(store)? {
            if other == lease.name {
                continue;
            }
            let location = store.location();
            match (role, other_role.as_str()) {
                (Role::Backup, "gc") => {
                    return Err(VaultError::GcRunning {
                        location,
                        lock: other,
                    })
                }
                (Role::Gc, _) => {
                    return Err(VaultError::LeaseHeld {
                        location,
                        lock: other,
                        ttl_secs: TTL.as_secs(),
                    })
                }
                _ => {}
            }
        }
        Ok(lease)
    }
}

/// Live leases: (object name, role). A lease that cannot be parsed counts as a
/// live backup lease until it is older than the TTL.
fn live(store: &Arc<dyn ObjectStore>) -> Result<Vec<(String, String)>, VaultError> {
    let mut out = Vec::new();
    let now = now_secs();
    for meta in store.list("locks/")? {
        let bytes = match store.get(&meta.name) {
            Ok(b) => b,
            Err(hubkeep_store::StoreError::NotFound { .. }) => continue,
            Err(e) => return Err(e.into()),
        };
        match serde_json::from_slice::<Record>(&bytes) {
            Ok(r) if r.expires > now => out.push((meta.name, r.role)),
            Ok(_) => {}
            Err(_) => {
                let age = SystemTime::now()
                    .duration_since(meta.modified)
                    .unwrap_or_default();
                if age < TTL {
                    out.push((meta.name, Role::Backup.as_str().into()));
                }
            }
        }
    }
    Ok(out)
}

impl Drop for Lease {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.refresher.take() {
            let _ = t.join();
        }
        let _ = self.store.delete(&self.name);
    }
}
