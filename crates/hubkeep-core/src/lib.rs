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

#![deny(missing_docs)]

/// Cancelling long work.
pub mod cancel;
/// The catalog database.
pub mod catalog;
/// Database passwords: where they come from, and never shown.
pub mod dbpassword;
/// The service layer's error.
pub mod error;
/// The home directory.
pub mod home;
/// Identifiers and name rules.
pub mod ids;
/// The names of the secrets, parameters and default vaults hubkeep keeps.
pub mod names;
/// The catalog's records.
pub mod records;
/// Secrets and parameters.
pub mod secrets;
/// Record states.
pub mod states;

mod backupset;
mod dbsnap;
mod demo;
mod files;
mod hubscheck;
mod joblog;
mod jobs;
mod lock;
mod offline;
/// One call per command.
pub mod ops;
mod provider;
mod restore;
mod sets;
mod stacks;
mod vault_meta;
mod vaults;
mod version_guard;

pub use cancel::CancelToken;
pub use hubkeep_plan::{Plan, PlanChange};
pub use error::{Error, ErrorKind, Result};
pub use hubkeep_vault::Progress;
pub use jobs::{new_job_id, CatalogProgress, JobHandle};
pub use joblog::human_bytes;
pub use lock::StackLock;
pub use backupset::BackupRequest;
pub use dbsnap::SnapshotRequest;
pub use demo::DemoReport;
pub use restore::{Rehomed, RestorePlan, RestoreRequest, RestoreSource, Restored, VaultAttached};
pub use stacks::{AdoptRequest, CreateRequest, StackCreated};
pub use files::{BackupJobResult, RestoreJobResult};
pub use vaults::CreatedVault;

use home::Home;
use std::path::Path;
use std::sync::Arc;

/// Where a handle's lines for the operator go.
pub type Notes = Arc<dyn Fn(&str) + Send + Sync>;

/// The service handle over one home: one per CLI command, one per request
/// or job in a long-lived process.
pub struct Hubkeep {
    /// The home: catalog, secret store, regions.
    pub home: Home,
    /// Where long work reports progress (a terminal bar, or nothing).
    pub progress: Option<Arc<dyn Progress>>,
    /// Where notes for the operator go (stderr in the CLI).
    pub notes: Notes,
    /// Stops this handle's long operations at their next safe point.
    pub cancel: CancelToken,
    /// The logs of the jobs this handle runs.
    logs: joblog::JobLogs,
    /// The id the first job this handle starts takes (`name_first_job`).
    first_job_id: std::sync::Mutex<Option<String>>,
}

/// Process-wide settings of a home, applied by the front door once
/// (`Settings::install`), never as a side effect of opening a home.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// How long a database connection may take, and may stay silent.
    pub database_timeouts: hubkeep_pg::Timeouts,
}

impl Settings {
    /// Make these the settings of every later database connection of this
    /// process (hubkeep-pg connects deep inside snapshot and restore).
    pub fn install(&self) {
        hubkeep_pg::set_default_timeouts(self.database_timeouts);
    }
}

impl Hubkeep {
    /// Open an existing home. Cheap and without side effects: no job is
    /// reaped, no stack brought online, no process setting changed (see
    /// `recover` and `settings`). A directory that is not a home is refused.
    pub fn open(dir: &Path) -> Result<Hubkeep> {
        Home::require(dir)?;
        Ok(Hubkeep::over(Home::open(dir)?))
    }

    /// Open the home, creating it with the embedded defaults when `dir`
    /// holds none: for the commands that create the first thing of a home.
    pub fn open_or_init(dir: &Path) -> Result<Hubkeep> {
        let hk = Hubkeep::over(Home::open_or_init(dir)?);
        for w in &hk.home.warnings {
            hk.note(&format!("warning: {w}"));
        }
        Ok(hk)
    }

    fn over(home: Home) -> Hubkeep {
        let logs = joblog::JobLogs::new(&home.dir);
        Hubkeep { home, progress: None, notes: Arc::new(|m| eprintln!("{m}")), cancel: CancelToken::new(), logs, first_job_id: Default::default() }
    }

    /// This home's settings: the environment, then config.json, then the
    /// defaults.
    pub fn settings(&self) -> Result<Settings> {
        Ok(Settings { database_timeouts: self.home.config().database_timeouts()? })
    }

    /// Step-by-step lines ("table ret0.hubs (3/40)") for a terminal only:
    /// when progress is not shown, neither are they.
    pub(crate) fn progress_lines(&self) -> Option<Notes> {
        self.progress.as_ref()?;
        let notes = self.notes.clone();
        Some(Arc::new(move |m: &str| (notes)(&format!("  {m}"))))
    }

    /// A step of a running job, for its log only (the terminal shows its
    /// own progress).
    pub(crate) fn job_note(&self, msg: &str) {
        self.logs.note(msg);
    }

    /// A line for the operator, and for the log of each job this handle
    /// is running.
    pub fn note(&self, msg: &str) {
        (self.notes)(msg);
        self.logs.note(msg);
    }

}

/// The time now: every timestamp hubkeep records or derives an id from
/// comes from here, so that one place decides which clock hubkeep reads:
/// the process clock of `hubkeep_plan` (`HUBKEEP_CLOCK`, or the real one).
pub fn now() -> chrono::DateTime<chrono::Utc> {
    hubkeep_plan::clock().now()
}

/// Set once a signal interrupts this process: no database server or
/// initdb may start after that (see `unless_interrupted`).
static INTERRUPTED: std::sync::Mutex<bool> = std::sync::Mutex::new(false);

/// Run `f`, which starts a database server or initdb, unless this process
/// is being interrupted. The signal handler waits for a running `f`, so a
/// server started by the interrupted run is always there for it to stop.
pub(crate) fn unless_interrupted<T>(cancel: &CancelToken, f: impl FnOnce() -> Result<T>) -> Result<T> {
    let interrupted = INTERRUPTED.lock().unwrap_or_else(|e| e.into_inner());
    cancel.check("starting a database server")?;
    if *interrupted {
        return Err(Error::new(crate::error::ErrorKind::Interrupted, "interrupted by a signal"));
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
