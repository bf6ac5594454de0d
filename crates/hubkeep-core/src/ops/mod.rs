//! One call per command, for every front door (the CLI now; the scheduler
//! and the HTTP API next): a typed request in, a typed, serde-serializable
//! response out (the CLI's `--json` document is that response). Each module
//! owns the rules of its commands that span several steps, so a second
//! front door calls them instead of copying them.

/// Restore drills.
pub mod drills;
/// One stack's recent nights, vault size and restore times.
pub mod history;
/// Imports of backups hubkeep did not make (Hubs CE, pg_dump).
pub mod import;
/// `--no-wait`.
pub mod jobs;
/// Notifications: webhooks, events, pings and the RPO check.
pub mod notify;
/// Plans: one per stack.
pub mod plans;
/// The queue of `hubkeep serve`.
pub mod queue;
/// Recovery after dead or interrupted processes.
pub mod recover;
/// What the scheduler has handled, and the runs it could not start.
pub mod schedules;
/// Deleting recovery points.
pub mod recovery_points;
/// The home and its regions.
pub mod regions;
/// Retention over backup sets.
pub mod retention;
/// Secrets and parameters.
pub mod secrets;
/// Database snapshot restore and delete.
pub mod snapshots;
/// Stack commands.
pub mod stacks;
/// API access tokens.
pub mod tokens;
/// Vault commands.
pub mod vaults;
/// Samples of each vault's size over time.
pub mod vault_sizes;
/// Verification.
pub mod verify;
/// The nightly verify share: every pack read within 30 days.
pub mod verify_share;
