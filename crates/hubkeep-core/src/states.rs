//! The states of hubkeep's records, as enums whose serde names are the
//! strings CLI.md shows (`RUNNING`, `available`, `AVAILABLE`, `ONLINE`, …).
//! Words: jobs have a `state`; snapshots, recovery points, backup sets and
//! stacks have a `status`.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! state_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $text:literal,)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        pub enum $name {
            $($(#[$vdoc])* #[serde(rename = $text)] $variant,)*
        }

        impl $name {
            /// The name CLI.md shows.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)*
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

state_enum! {
    /// A job's state.
    JobState {
        /// Named by a `--no-wait` run, not started yet.
        Created => "CREATED",
        /// Its process is working on it.
        Running => "RUNNING",
        /// Finished well.
        Completed => "COMPLETED",
        /// Finished with an error, or its process died.
        Failed => "FAILED",
        /// Stopped by a signal or a cancellation.
        Aborted => "ABORTED",
        /// In the queue of `hubkeep serve`, waiting for a worker, its stack
        /// or its vault (`waiting_for` says which).
        Queued => "QUEUED",
        /// A scheduled run that could not start within its plan's start
        /// window: recorded, never run.
        Expired => "EXPIRED",
    }
}

state_enum! {
    /// A database snapshot's status.
    SnapshotStatus {
        /// Being written.
        Creating => "creating",
        /// Restorable.
        Available => "available",
        /// Its creation failed.
        Failed => "failed",
        /// Being deleted.
        Deleting => "deleting",
    }
}

state_enum! {
    /// Whether a database snapshot was asked for by a person or a plan.
    SnapshotType {
        /// `db-snapshot create` or `backup` by hand.
        Manual => "manual",
        /// A plan's run (`--automated`).
        Automated => "automated",
    }
}

state_enum! {
    /// A file-store recovery point's status.
    RecoveryPointStatus {
        /// Being written.
        Creating => "CREATING",
        /// Restorable.
        Available => "AVAILABLE",
        /// Attached from a vault whose tree for this point could not be read
        /// completely: not restorable until `verify` passes.
        Unverified => "UNVERIFIED",
        /// Some files are missing.
        Partial => "PARTIAL",
        /// Expired by retention.
        Expired => "EXPIRED",
        /// Being deleted.
        Deleting => "DELETING",
    }
}

state_enum! {
    /// A backup set's status.
    BackupSetStatus {
        /// Both parts are there.
        Available => "AVAILABLE",
        /// A part was deleted (`--force`): listed, never restored.
        Broken => "BROKEN",
        /// Expired by retention: its parts are deleted, gc frees their data.
        Expired => "EXPIRED",
    }
}

state_enum! {
    /// A stack's status.
    StackStatus {
        /// Being created (or restored).
        CreateInProgress => "CREATE_IN_PROGRESS",
        /// Its creation failed; it keeps the name until `stack delete`.
        CreateFailed => "CREATE_FAILED",
        /// Serving.
        Online => "ONLINE",
        /// In offline mode.
        Offline => "OFFLINE",
        /// Being deleted.
        DeleteInProgress => "DELETE_IN_PROGRESS",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_serialize_as_the_cli_shows_them() {
        assert_eq!(serde_json::to_value(JobState::Running).unwrap(), "RUNNING");
        assert_eq!(
            serde_json::to_value(SnapshotStatus::Available).unwrap(),
            "available"
        );
        assert_eq!(
            serde_json::to_value(RecoveryPointStatus::Available).unwrap(),
            "AVAILABLE"
        );
        assert_eq!(
            serde_json::to_value(StackStatus::CreateFailed).unwrap(),
            "CREATE_FAILED"
        );
        let back: StackStatus = serde_json::from_value("ONLINE".into()).unwrap();
        assert_eq!(back, StackStatus::Online);
    }
}
