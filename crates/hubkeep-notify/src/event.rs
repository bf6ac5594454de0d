//! The events hubkeep notifies about, and the JSON a webhook receives.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum EventKind {
    /// A backup started.
    #[serde(rename = "backup.started")]
    BackupStarted,
    /// A backup finished and its set is complete.
    #[serde(rename = "backup.completed")]
    BackupCompleted,
    /// A backup failed.
    #[serde(rename = "backup.failed")]
    BackupFailed,
    /// A scheduled backup could not start within its start window.
    #[serde(rename = "backup.missed")]
    BackupMissed,
    /// Retention expired backup sets.
    #[serde(rename = "retention.expired")]
    RetentionExpired,
    /// A verify found damage.
    #[serde(rename = "verify.failed")]
    VerifyFailed,
    /// A restore drill passed.
    #[serde(rename = "drill.passed")]
    DrillPassed,
    /// A restore drill failed.
    #[serde(rename = "drill.failed")]
    DrillFailed,
    /// No good backup set is younger than the plan's RPO.
    #[serde(rename = "rpo.breached")]
    RpoBreached,
    /// A vault's gc finished.
    #[serde(rename = "gc.completed")]
    GcCompleted,
}

impl EventKind {
    /// Every event, in the order API.md lists them.
    pub const ALL: [EventKind; 10] = [
        EventKind::BackupStarted,
        EventKind::BackupCompleted,
        EventKind::BackupFailed,
        EventKind::BackupMissed,
        EventKind::RetentionExpired,
        EventKind::VerifyFailed,
        EventKind::DrillPassed,
        EventKind::DrillFailed,
        EventKind::RpoBreached,
        EventKind::GcCompleted,
    ];

    /// The event's name, e.g. `backup.failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::BackupStarted => "backup.started",
            EventKind::BackupCompleted => "backup.completed",
            EventKind::BackupFailed => "backup.failed",
            EventKind::BackupMissed => "backup.missed",
            EventKind::RetentionExpired => "retention.expired",
            EventKind::VerifyFailed => "verify.failed",
            EventKind::DrillPassed => "drill.passed",
            EventKind::DrillFailed => "drill.failed",
            EventKind::RpoBreached => "rpo.breached",
            EventKind::GcCompleted => "gc.completed",
        }
    }

    /// Whether a webhook added without `--events` receives it: every
    /// failure, and `rpo.breached`.
    pub fn is_default(self) -> bool {
        matches!(
            self,
            EventKind::BackupFailed
                | EventKind::BackupMissed
                | EventKind::VerifyFailed
                | EventKind::DrillFailed
                | EventKind::RpoBreached
        )
    }
}

/// An event name that hubkeep does not send.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("event \"{0}\" is not a hubkeep event; write one or more of backup.started, backup.completed, backup.failed, backup.missed, retention.expired, verify.failed, drill.passed, drill.failed, rpo.breached, gc.completed")]
pub struct UnknownEvent(pub String);

impl FromStr for EventKind {
    type Err = UnknownEvent;

    fn from_str(name: &str) -> Result<EventKind, UnknownEvent> {
        EventKind::ALL
            .into_iter()
            .find(|e| e.as_str() == name)
            .ok_or_else(|| UnknownEvent(name.to_string()))
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One notification: the JSON body a webhook receives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// What happened.
    pub event: EventKind,
    /// The stack it happened to, if any.
    pub stack: Option<String>,
    /// When, on the hubkeep clock.
    pub at: DateTime<Utc>,
    /// The job, if any.
    pub job_id: Option<String>,
    /// The backup set, if any.
    pub backup_id: Option<String>,
    /// What happened, in words for a person.
    pub message: String,
    /// More fields for this kind of event (e.g. `scheduled_for`, `expired`).
    #[serde(flatten)]
    pub details: serde_json::Map<String, serde_json::Value>,
}

impl Event {
    /// An event with no stack, job, backup or details yet.
    pub fn new(event: EventKind, at: DateTime<Utc>, message: impl Into<String>) -> Event {
        Event {
            event,
            stack: None,
            at,
            job_id: None,
            backup_id: None,
            message: message.into(),
            details: serde_json::Map::new(),
        }
    }
}
