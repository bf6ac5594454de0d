//! hubkeep's service layer: everything between the command line and the two
//! engines. It owns the home (catalog, secret store, regions), stacks and
//! their lifecycle, offline mode, jobs, database snapshots and file-store
//! recovery points as catalog records, backup sets, whole-hub restore and
//! disaster recovery from a vault alone.
//!
//! It is not a storage engine: bytes go through `hubkeep-vault`, databases
//! through `hubkeep-pg`, and Hubs-specific checks through `hubkeep-hubs`.
//!
//! ```no_run
//! let hk = hubkeep_core::Hubkeep::open(std::path::Path::new("/var/lib/hubkeep")).unwrap();
//! for stack in hk.stacks().unwrap() { println!("{} {}", stack.name, stack.status); }
//! ```

pub mod catalog;
pub mod dbpassword;
pub mod error;
pub mod home;
pub mod ids;
pub mod records;
pub mod secrets;

mod backupset;
mod dbsnap;
mod demo;
mod files;
mod hubscheck;
mod jobs;
mod lock;
mod offline;
mod provider;
mod restore;
mod stacks;
mod vaults;

pub use error::{Error, Result};
pub use hubkeep_vault::Progress;
pub use jobs::JobHandle;
pub use lock::StackLock;
pub use backupset::BackupRequest;
pub use dbsnap::SnapshotRequest;
pub use demo::DemoReport;
pub use restore::{RestoreRequest, Restored};
pub use stacks::{AdoptRequest, CreateRequest, StackCreated};
pub use files::BackupJobResult;
pub use vaults::CreatedVault;

use home::Home;
use std::path::Path;
use std::sync::Arc;

/// The service handle: one per command, over one home.
pub struct Hubkeep {
    pub home: Home,
    /// Where long work reports progress (a terminal bar, or nothing).
    pub progress: Option<Arc<dyn Progress>>,
    /// Where notes for the operator go (stderr in the CLI).
    pub notes: Arc<dyn Fn(&str) + Send + Sync>,
}

impl Hubkeep {
    pub fn open(dir: &Path) -> Result<Hubkeep> {
        let home = Home::open_or_init(dir)?;
        hubkeep_pg::set_default_timeouts(home.config().database_timeouts()?);
        let hk = Hubkeep { home, progress: None, notes: Arc::new(|m| eprintln!("{m}")) };
        for w in &hk.home.warnings {
            hk.note(&format!("warning: {w}"));
        }
        hk.recover_interrupted()?;
        Ok(hk)
    }

    /// Step-by-step lines ("table ret0.hubs (3/40)") for a terminal only:
    /// when progress is not shown, neither are they.
    pub(crate) fn progress_lines(&self) -> Option<Arc<dyn Fn(&str) + Send + Sync>> {
        self.progress.as_ref()?;
        let notes = self.notes.clone();
        Some(Arc::new(move |m: &str| (notes)(&format!("  {m}"))))
    }

    pub fn note(&self, msg: &str) {
        (self.notes)(msg)
    }

    /// Undo what a killed hubkeep left behind: jobs of dead processes are
    /// FAILED, snapshots and recovery points they were creating are failed,
    /// stacks they were creating are CREATE_FAILED with their clusters
    /// stopped, and a hub a dead backup took offline is brought back online.
    fn recover_interrupted(&self) -> Result<()> {
        self.reap_dead_jobs()?;
        self.reap_interrupted_creations()?;
        self.recover_offline_stacks()
    }
}

pub(crate) fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}

/// Set once a signal interrupts this process: no database server or
/// initdb may start after that (see `unless_interrupted`).
static INTERRUPTED: std::sync::Mutex<bool> = std::sync::Mutex::new(false);

/// Run `f`, which starts a database server or initdb, unless this process
/// is being interrupted. The signal handler waits for a running `f`, so a
/// server started by the interrupted run is always there for it to stop.
pub(crate) fn unless_interrupted<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    let interrupted = INTERRUPTED.lock().unwrap_or_else(|e| e.into_inner());
    if *interrupted {
        return Err(Error::new("interrupted", "interrupted by a signal"));
    }
    f()
}

/// From now on `unless_interrupted` refuses; returns once no `f` runs.
pub(crate) fn mark_interrupted() {
    *INTERRUPTED.lock().unwrap_or_else(|e| e.into_inner()) = true;
}

/// Stop this process's child programs (initdb, pg_restore, psql, hooks)
/// and wait for them, so none is still writing into a cluster or a file
/// store when an interrupted run exits and the next command cleans up.
pub(crate) fn stop_child_processes() {
    let me = std::process::id().to_string();
    let children: Vec<i32> = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            // Field 4 of /proc/PID/stat, after the parenthesized command name.
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| s.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().nth(1) == Some(me.as_str())))
                .unwrap_or(false)
        })
        .collect();
    for &pid in &children {
        unsafe { libc::kill(pid, libc::SIGTERM) };
    }
    for pid in children {
        let mut status = 0;
        unsafe { libc::waitpid(pid, &mut status, 0) };
    }
}

pub(crate) fn process_alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    // Signal 0 checks existence; EPERM still means the process exists.
    let r = unsafe { libc::kill(pid as i32, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}
