//! The recovery point objective.

use chrono::{DateTime, Utc};

use crate::Span;

/// Whether the plan's RPO is breached at `now`: there is no good backup set
/// (one that passed a drill or a full verify), or the newest is older than
/// `rpo`.
pub fn rpo_breached(
    newest_good_backup_at: Option<DateTime<Utc>>,
    rpo: Span,
    now: DateTime<Utc>,
) -> bool {
    match newest_good_backup_at {
        None => true,
        Some(at) => now - at > rpo.duration(),
    }
}
