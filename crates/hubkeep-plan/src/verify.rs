//! Verify rotation: which packs tonight's verify reads in full.
//!
//! Every pack must be read within [`FULL_READ_DAYS`] days. A verify that
//! runs every night reads at least a thirtieth of the vault (rounded up);
//! one that runs every week, a quarter. It reads more if some packs would
//! otherwise go unread too long by the next run, and takes packs never read
//! first, then the longest unread.

use chrono::{DateTime, Duration, Utc};

/// Every pack is read in full at least this often.
pub const FULL_READ_DAYS: i64 = 30;

/// One pack of a vault and when it was last read in full.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackReading {
    /// The pack's id.
    pub pack: String,
    /// When a verify last read all of it; `None` if never.
    pub last_read: Option<DateTime<Utc>>,
}

/// The packs the verify running at `now` reads, when the next verify runs
/// at `next_verify_at` (tomorrow night for the default plan), in the order to
/// read them: never-read packs first, then the longest unread.
pub fn tonight_share(
    packs: &[PackReading],
    now: DateTime<Utc>,
    next_verify_at: DateTime<Utc>,
) -> Vec<String> {
    let mut order: Vec<&PackReading> = packs.iter().collect();
    // `None` sorts before every time: never-read packs come first.
    order.sort_by(|a, b| {
        a.last_read
            .cmp(&b.last_read)
            .then_with(|| a.pack.cmp(&b.pack))
    });
    let cycle = Duration::days(FULL_READ_DAYS);
    let interval = (next_verify_at - now).clamp(Duration::minutes(1), cycle);
    // How many runs a cycle has: 30 for a nightly verify, 4 for a weekly one.
    let runs = (cycle.num_minutes() / interval.num_minutes()) as usize;
    let per_run = packs.len().div_ceil(runs);
    // A pack this old would be past its 30 days by the next run. Never-read
    // packs are not due: a vault with no read history is taken a share a
    // run, not all in one.
    let due_before = now + interval - cycle;
    let is_due = |p: &PackReading| p.last_read.is_some_and(|t| t <= due_before);
    let due = order.iter().filter(|p| is_due(p)).count();
    let mut fill = per_run.saturating_sub(due);
    order
        .into_iter()
        .filter(|p| {
            if is_due(p) {
                return true;
            }
            let take = fill > 0;
            fill = fill.saturating_sub(1);
            take
        })
        .map(|p| p.pack.clone())
        .collect()
}

/// The time through which the whole vault is verified: the oldest full read
/// of any pack. `None` if some pack was never read in full, or there are no
/// packs.
pub fn verified_through(packs: &[PackReading]) -> Option<DateTime<Utc>> {
    packs.iter().map(|p| p.last_read).min().flatten()
}
