//! One call per command, for every front door (the CLI now; the scheduler
//! and the HTTP API next): a typed request in, a typed, serde-serializable
//! response out (the CLI's `--json` document is that response). Each module
//! owns the rules of its commands that span several steps, so a second
//! front door calls them instead of copying them.

pub mod jobs;
pub mod plans;
pub mod recovery_points;
pub mod regions;
pub mod retention;
pub mod secrets;
pub mod snapshots;
pub mod stacks;
pub mod vaults;
pub mod verify;
