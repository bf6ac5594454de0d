//! The recovery point objective.

use chrono::{DateTime, Utc};

use crate::Span;

/// Whether the plan's RPO is breached at `now`: no good backup set is
/// younger than `rpo`. `newest_good_backup_at` is when the newest good set
/// was taken (the caller says what counts as good, e.g. a complete set whose
/// backup succeeded), or `None` if the stack has none.
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
