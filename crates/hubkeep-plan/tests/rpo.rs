//! The recovery point objective.

use chrono::{DateTime, Utc};
use hubkeep_plan::{rpo_breached, Span};

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

#[test]
fn the_rpo_is_breached_when_the_newest_good_backup_is_older_than_it_or_missing() {
    let rpo = Span::hours(26);
    let now = at("2026-06-02T12:00:00Z");
    assert!(
        !rpo_breached(Some(at("2026-06-01T10:00:00Z")), rpo, now),
        "26 h exactly"
    );
    assert!(
        rpo_breached(Some(at("2026-06-01T09:59:00Z")), rpo, now),
        "26 h and a minute"
    );
    assert!(!rpo_breached(Some(at("2026-06-02T10:00:00Z")), rpo, now));
    assert!(rpo_breached(None, rpo, now), "no good backup at all");
}
