//! Retention: which backup sets to keep and which to expire.
//!
//! The keep rules bucket automated sets as restic's `forget --keep-*` does:
//! sets are walked newest first, and each rule keeps the newest set of each
//! bucket (a set of its own for `keep-last`, a local day, ISO week, month or
//! year in the plan's time zone for the others) until it has kept its count.
//! A set is kept if any rule keeps it. Whatever the rules say, three kinds
//! of set are never expired: manual ones (retention only manages what the
//! plan made), the newest good one (it passed a drill or a full verify),
//! and any set younger than the newest one `keep-last` keeps (`keep-last`
//! is at least 1, so the newest automated set is always kept).

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::Serialize;

use crate::{KeepRules, Zone};

/// What retention needs to know about one backup set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetSummary {
    /// The backup set's id.
    pub id: String,
    /// When it was taken, on the hubkeep clock.
    pub created_at: DateTime<Utc>,
    /// Whether a plan made it (`backup --automated`); manual sets never expire.
    pub automated: bool,
    /// Whether it passed a drill or a full verify.
    pub good: bool,
}

/// A reason a set is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// One of the newest `keep_last` automated sets.
    KeepLast,
    /// The newest set of one of the last `keep_daily` days.
    KeepDaily,
    /// The newest set of one of the last `keep_weekly` ISO weeks.
    KeepWeekly,
    /// The newest set of one of the last `keep_monthly` months.
    KeepMonthly,
    /// The newest set of one of the last `keep_yearly` years.
    KeepYearly,
    /// A manual backup: retention never removes it.
    Manual,
    /// The newest set that passed a drill or a full verify.
    NewestGood,
    /// Younger than the newest set `keep-last` keeps.
    YoungerThanNewestKeepLast,
}

/// One set's fate: kept (with every rule that keeps it) or expired (no rule
/// keeps it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fate {
    /// The backup set's id.
    pub id: String,
    /// When it was taken.
    pub created_at: DateTime<Utc>,
    /// The rules that keep it; empty for an expired set.
    pub rules: Vec<Rule>,
}

/// Every set's fate, newest first in each list; serializes as
/// `retention run --dry-run --json`'s `{keep: [...], expire: [...]}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// The sets kept, with the rules that keep each.
    pub keep: Vec<Fate>,
    /// The sets to expire.
    pub expire: Vec<Fate>,
}

/// The bucket a set falls in for `rule`: its position for `keep-last` (a
/// bucket of its own), else its local day, ISO week, month or year.
fn bucket(rule: Rule, position: usize, local: NaiveDate) -> i64 {
    let (year, month, day) = (
        i64::from(local.year()),
        i64::from(local.month()),
        i64::from(local.day()),
    );
    match rule {
        Rule::KeepLast => position as i64,
        Rule::KeepDaily => year * 10_000 + month * 100 + day,
        Rule::KeepWeekly => {
            let week = local.iso_week();
            i64::from(week.year()) * 100 + i64::from(week.week())
        }
        Rule::KeepMonthly => year * 100 + month,
        Rule::KeepYearly => year,
        Rule::Manual | Rule::NewestGood | Rule::YoungerThanNewestKeepLast => {
            unreachable!("{rule:?} does not bucket sets")
        }
    }
}

/// Decides every set's fate under `rules`, bucketing by local time in `zone`.
pub fn decide(sets: &[SetSummary], rules: &KeepRules, zone: Zone) -> Verdict {
    let mut newest_first: Vec<&SetSummary> = sets.iter().collect();
    newest_first.sort_by(|a, b| {
        b.created_at
            .cmp(&a.created_at)
            .then_with(|| b.id.cmp(&a.id))
    });
    let mut reasons: Vec<Vec<Rule>> = vec![Vec::new(); newest_first.len()];

    let tz = zone.tz();
    for (rule, count) in [
        (Rule::KeepLast, rules.effective_keep_last()),
        (Rule::KeepDaily, rules.keep_daily),
        (Rule::KeepWeekly, rules.keep_weekly),
        (Rule::KeepMonthly, rules.keep_monthly),
        (Rule::KeepYearly, rules.keep_yearly),
    ] {
        let mut kept = 0;
        let mut last_bucket = None;
        for (i, set) in newest_first.iter().enumerate().filter(|(_, s)| s.automated) {
            if kept == count {
                break;
            }
            let key = bucket(rule, i, set.created_at.with_timezone(&tz).date_naive());
            if last_bucket != Some(key) {
                last_bucket = Some(key);
                reasons[i].push(rule);
                kept += 1;
            }
        }
    }

    let newest_keep_last = newest_first
        .iter()
        .zip(&reasons)
        .find(|(_, r)| r.contains(&Rule::KeepLast))
        .map(|(s, _)| s.created_at);
    let newest_good = newest_first.iter().position(|s| s.good);
    for (i, set) in newest_first.iter().enumerate() {
        if !set.automated {
            reasons[i].push(Rule::Manual);
        }
        if newest_good == Some(i) {
            reasons[i].push(Rule::NewestGood);
        }
        if newest_keep_last.is_some_and(|t| set.created_at > t) {
            reasons[i].push(Rule::YoungerThanNewestKeepLast);
        }
    }

    let mut verdict = Verdict::default();
    for (set, rules) in newest_first.into_iter().zip(reasons) {
        let fate = Fate {
            id: set.id.clone(),
            created_at: set.created_at,
            rules,
        };
        if fate.rules.is_empty() {
            verdict.expire.push(fate);
        } else {
            verdict.keep.push(fate);
        }
    }
    verdict
}
