//! Leases (`locks/<role>-<random>`): a writer's or gc's claim on the vault.
//!
//! A lease is a small JSON object holding its expiry time; a thread rewrites it
//! every [`REFRESH`] and it is deleted when the holder finishes. A holder that
//! was killed stops refreshing, so its lease expires after [`TTL`]; on the
//! holder's own machine (same boot id and pid namespace) a dead holder is
//! seen at once from its pid and start time, and its lease is taken over. Writers and
//! gc each write their own lease *before* looking for the other's, so at least
//! one of two racing parties sees the other and backs off.

use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hubkeep_store::ObjectStore;
use serde::{Deserialize, Serialize};

use crate::holder::{identity, start_ticks, Identity};
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
    /// Where the holder runs, for messages.
    #[serde(default)]
    host: String,
    /// The holder's kernel instance (`/proc/sys/kernel/random/boot_id`) and
    /// pid namespace: a pid means the same process only where both match.
    #[serde(default)]
    boot_id: String,
    #[serde(default)]
    pid_ns: String,
    /// The holder's start time (clock ticks after boot), so a reused pid is
    /// not taken for the holder.
    #[serde(default)]
    start: u64,
}

impl Record {
    /// True when the holder is known to be gone (see [`crate::holder`]).
    fn holder_is_dead(&self, me: &Identity) -> bool {
        crate::holder::is_dead(me, &self.boot_id, &self.pid_ns, self.pid, self.start)
    }

    fn holder(&self) -> String {
        if self.host.is_empty() {
            format!("process {}", self.pid)
        } else {
            format!("process {} on {}", self.pid, self.host)
        }
    }
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

fn record(role: Role, me: &Identity, start: u64) -> Vec<u8> {
    let r = Record {
        role: role.as_str().into(),
        expires: now_secs() + TTL.as_secs(),
        pid: std::process::id(),
        host: me.host.clone(),
        boot_id: me.boot_id.clone(),
        pid_ns: me.pid_ns.clone(),
        start,
    };
    serde_json::to_vec(&r).expect("lease record serializes")
}

impl Lease {
    /// Writes a lease for `role`, then fails if another party holds a conflicting
    /// live lease (gc conflicts with everything; a backup only with gc). A
    /// conflicting lease whose holder is known to be dead is removed instead.
    pub fn acquire(store: &Arc<dyn ObjectStore>, role: Role) -> Result<Lease, VaultError> {
        let name = format!(
            "locks/{}-{}",
            role.as_str(),
            hex::encode(crate::crypto::random_bytes::<8>())
        );
        let me = identity();
        let start = start_ticks(std::process::id()).unwrap_or_default();
        store.put(&name, &record(role, &me, start))?;
        let (stop, stopped) = mpsc::channel::<()>();
        let refresher = {
            let store = store.clone();
            let name = name.clone();
            let me = me.clone();
            std::thread::Builder::new()
                .name("hubkeep-lease".into())
                .spawn(move || loop {
                    match stopped.recv_timeout(REFRESH) {
                        Err(RecvTimeoutError::Timeout) => {
                            // A failed refresh is retried next round; the lease only lapses after TTL.
                            let _ = store.put(&name, &record(role, &me, start));
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
        let leases = scan(store, &me)?;
        for stale in leases.iter().filter(|l| l.state == State::HolderDead) {
            store.delete(&stale.name)?;
        }
        for other in leases.iter().filter(|l| l.state == State::Live) {
            if other.name == lease.name {
                continue;
            }
            let location = store.location();
            match (role, other.role.as_str()) {
                (Role::Backup, "gc") => {
                    return Err(VaultError::GcRunning {
                        location,
                        lock: other.name.clone(),
                        holder: other.holder.clone(),
                    })
                }
                (Role::Gc, _) => {
                    return Err(VaultError::LeaseHeld {
                        location,
                        lock: other.name.clone(),
                        role: other.role.clone(),
                        holder: other.holder.clone(),
                        ttl_secs: TTL.as_secs(),
                    })
                }
                _ => {}
            }
        }
        Ok(lease)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Live,
    /// Past its expiry (or unreadable and older than the TTL).
    Expired,
    /// Its holder ran here and is gone.
    HolderDead,
}

struct Found {
    name: String,
    role: String,
    holder: String,
    state: State,
}

/// Every lease and whether it still counts. A lease that cannot be parsed
/// counts as a live backup lease until it is older than the TTL.
fn scan(store: &Arc<dyn ObjectStore>, me: &Identity) -> Result<Vec<Found>, VaultError> {
    let mut out = Vec::new();
    let now = now_secs();
    for meta in store.list("locks/")? {
        let bytes = match store.get(&meta.name) {
            Ok(b) => b,
            Err(hubkeep_store::StoreError::NotFound { .. }) => continue,
            Err(e) => return Err(e.into()),
        };
        let found = match serde_json::from_slice::<Record>(&bytes) {
            Ok(r) => Found {
                state: if r.expires <= now {
                    State::Expired
                } else if r.holder_is_dead(me) {
                    State::HolderDead
                } else {
                    State::Live
                },
                holder: r.holder(),
                role: r.role,
                name: meta.name,
            },
            Err(_) => {
                let age = SystemTime::now()
                    .duration_since(meta.modified)
                    .unwrap_or_default();
                Found {
                    state: if age < TTL {
                        State::Live
                    } else {
                        State::Expired
                    },
                    role: Role::Backup.as_str().into(),
                    holder: "an unknown holder (the lease is not readable)".into(),
                    name: meta.name,
                }
            }
        };
        out.push(found);
    }
    Ok(out)
}

/// Deletes leases that no longer count (expired, or their holder is dead):
/// a killed holder never deletes its own. Returns how many went.
pub(crate) fn remove_stale(store: &Arc<dyn ObjectStore>) -> Result<usize, VaultError> {
    let mut removed = 0;
    for l in scan(store, &identity())? {
        if l.state != State::Live {
            store.delete(&l.name)?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// How many leases [`remove_stale`] would remove now.
pub(crate) fn count_stale(store: &Arc<dyn ObjectStore>) -> Result<usize, VaultError> {
    Ok(scan(store, &identity())?.iter().filter(|l| l.state != State::Live).count())
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
