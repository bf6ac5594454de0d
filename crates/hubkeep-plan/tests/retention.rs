//! Retention: GFS rules as restic's `forget --keep-*` over backup sets, and
//! the sets that are never expired whatever the rules say.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use hubkeep_plan::retention::{decide, Rule, SetSummary, Verdict};
use hubkeep_plan::{KeepRules, Zone};
use serde_json::json;

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

/// One automated set per night at 10:00 UTC, from `first` for `nights` nights,
/// named by its date.
fn nightly(first: &str, nights: i64) -> Vec<SetSummary> {
    let first: NaiveDate = first.parse().unwrap();
    (0..nights)
        .map(|i| {
            let day = first + Duration::days(i);
            SetSummary {
                id: day.to_string(),
                created_at: day.and_hms_opt(10, 0, 0).unwrap().and_utc(),
                automated: true,
                good: false,
            }
        })
        .collect()
}

fn kept_ids(verdict: &Verdict) -> BTreeSet<&str> {
    verdict.keep.iter().map(|f| f.id.as_str()).collect()
}

fn rules_of<'a>(verdict: &'a Verdict, id: &str) -> &'a [Rule] {
    &verdict
        .keep
        .iter()
        .find(|f| f.id == id)
        .unwrap_or_else(|| panic!("{id} is not kept"))
        .rules
}

#[test]
fn thirty_nights_under_the_default_rules_keep_what_restic_would() {
    // 2026-01-01 (a Thursday) to 2026-01-30. keep-daily 14: 17th..30th.
    // keep-weekly 8 (ISO weeks): the 30th (W05), 25th (W04), 18th (W03),
    // 11th (W02), 4th (W01) -- only 5 weeks exist. keep-monthly: the 30th.
    let sets = nightly("2026-01-01", 30);
    let verdict = decide(&sets, &KeepRules::default(), Zone::UTC);
    let mut want: BTreeSet<String> = (17..=30).map(|d| format!("2026-01-{d:02}")).collect();
    want.insert("2026-01-04".into());
    want.insert("2026-01-11".into());
    assert_eq!(
        kept_ids(&verdict),
        want.iter().map(String::as_str).collect()
    );
    assert_eq!(verdict.expire.len(), 14);
    assert_eq!(
        rules_of(&verdict, "2026-01-30"),
        [
            Rule::KeepLast,
            Rule::KeepDaily,
            Rule::KeepWeekly,
            Rule::KeepMonthly
        ]
    );
    assert_eq!(
        rules_of(&verdict, "2026-01-25"),
        [Rule::KeepDaily, Rule::KeepWeekly]
    );
    assert_eq!(rules_of(&verdict, "2026-01-17"), [Rule::KeepDaily]);
    assert_eq!(rules_of(&verdict, "2026-01-04"), [Rule::KeepWeekly]);
    assert!(verdict.expire.iter().all(|f| f.rules.is_empty()));
}

#[test]
fn four_hundred_nights_under_the_default_rules_keep_what_restic_would() {
    // 2026-01-01 to 2027-02-04.
    let sets = nightly("2026-01-01", 400);
    let verdict = decide(&sets, &KeepRules::default(), Zone::UTC);
    // keep-daily 14: 2027-01-22 .. 2027-02-04.
    let mut want: Vec<String> = (22..=31).map(|d| format!("2027-01-{d:02}")).collect();
    want.extend((1..=4).map(|d| format!("2027-02-{d:02}")));
    // keep-weekly 8, beyond those: newest of 2027-W02 (Jan 17), W01 (Jan 10),
    // 2026-W53 (2027-01-03), 2026-W52 (Dec 27), 2026-W51 (Dec 20).
    want.extend(
        [
            "2027-01-17",
            "2027-01-10",
            "2027-01-03",
            "2026-12-27",
            "2026-12-20",
        ]
        .map(String::from),
    );
    // keep-monthly 12, beyond those: the last day of Dec 2026 back to Mar 2026.
    want.extend(
        [
            "2026-12-31",
            "2026-11-30",
            "2026-10-31",
            "2026-09-30",
            "2026-08-31",
            "2026-07-31",
            "2026-06-30",
            "2026-05-31",
            "2026-04-30",
            "2026-03-31",
        ]
        .map(String::from),
    );
    assert_eq!(
        kept_ids(&verdict),
        want.iter().map(String::as_str).collect()
    );
    assert_eq!(verdict.keep.len(), 29);
    assert_eq!(verdict.expire.len(), 371);
    assert_eq!(rules_of(&verdict, "2027-01-03"), [Rule::KeepWeekly]);
    assert_eq!(
        rules_of(&verdict, "2027-01-31"),
        [Rule::KeepDaily, Rule::KeepWeekly, Rule::KeepMonthly]
    );
    assert_eq!(rules_of(&verdict, "2026-03-31"), [Rule::KeepMonthly]);

    // keep-yearly 2 adds the newest of 2026 (already kept) and of 2027 (idem):
    // nothing new; keep-yearly counts years that have a set.
    let yearly = KeepRules {
        keep_yearly: 2,
        ..KeepRules::default()
    };
    let verdict = decide(&sets, &yearly, Zone::UTC);
    assert_eq!(verdict.keep.len(), 29);
    assert_eq!(
        rules_of(&verdict, "2026-12-31"),
        [Rule::KeepMonthly, Rule::KeepYearly]
    );
}

#[test]
fn days_are_the_plan_time_zone_days() {
    // 21:30 and 22:30 UTC on 1 June are the same UTC day but 23:30 on the 1st
    // and 00:30 on the 2nd in Berlin.
    let sets = vec![
        SetSummary {
            id: "a".into(),
            created_at: at("2026-06-01T21:30:00Z"),
            automated: true,
            good: false,
        },
        SetSummary {
            id: "b".into(),
            created_at: at("2026-06-01T22:30:00Z"),
            automated: true,
            good: false,
        },
    ];
    let rules = KeepRules {
        keep_last: 1,
        keep_daily: 2,
        keep_weekly: 0,
        keep_monthly: 0,
        keep_yearly: 0,
    };
    assert_eq!(
        kept_ids(&decide(&sets, &rules, Zone::UTC)),
        BTreeSet::from(["b"])
    );
    let berlin: Zone = "Europe/Berlin".parse().unwrap();
    assert_eq!(
        kept_ids(&decide(&sets, &rules, berlin)),
        BTreeSet::from(["a", "b"])
    );
}

#[test]
fn manual_backups_never_expire_and_take_no_rule_slots() {
    let mut sets = nightly("2026-01-01", 10);
    sets.push(SetSummary {
        id: "manual-old".into(),
        created_at: at("2025-01-01T00:00:00Z"),
        automated: false,
        good: false,
    });
    sets.push(SetSummary {
        id: "manual-mid".into(),
        created_at: at("2026-01-09T12:00:00Z"),
        automated: false,
        good: false,
    });
    let rules = KeepRules {
        keep_last: 2,
        keep_daily: 0,
        keep_weekly: 0,
        keep_monthly: 0,
        keep_yearly: 0,
    };
    let verdict = decide(&sets, &rules, Zone::UTC);
    assert_eq!(
        kept_ids(&verdict),
        BTreeSet::from(["2026-01-10", "2026-01-09", "manual-mid", "manual-old"])
    );
    assert_eq!(rules_of(&verdict, "manual-old"), [Rule::Manual]);
}

#[test]
fn the_newest_good_set_never_expires() {
    let mut sets = nightly("2026-01-01", 40);
    sets[2].good = true; // 2026-01-03
    sets[5].good = true; // 2026-01-06, the newest good
    let verdict = decide(&sets, &KeepRules::default(), Zone::UTC);
    assert_eq!(rules_of(&verdict, "2026-01-06"), [Rule::NewestGood]);
    assert!(
        verdict.expire.iter().any(|f| f.id == "2026-01-03"),
        "an older good set may expire"
    );
}

#[test]
fn keep_last_is_at_least_one_even_when_every_rule_is_zero() {
    let sets = nightly("2026-01-01", 5);
    let none = KeepRules {
        keep_last: 0,
        keep_daily: 0,
        keep_weekly: 0,
        keep_monthly: 0,
        keep_yearly: 0,
    };
    let verdict = decide(&sets, &none, Zone::UTC);
    assert_eq!(kept_ids(&verdict), BTreeSet::from(["2026-01-05"]));
    assert_eq!(rules_of(&verdict, "2026-01-05"), [Rule::KeepLast]);
}

#[test]
fn a_manual_set_younger_than_the_newest_automated_one_says_so() {
    let mut sets = nightly("2026-01-01", 3);
    sets.push(SetSummary {
        id: "before-upgrade".into(),
        created_at: at("2026-01-03T15:00:00Z"),
        automated: false,
        good: false,
    });
    let verdict = decide(&sets, &KeepRules::default(), Zone::UTC);
    assert_eq!(
        rules_of(&verdict, "before-upgrade"),
        [Rule::Manual, Rule::YoungerThanNewestKeepLast]
    );
}

#[test]
fn the_dry_run_document_lists_keep_and_expire_with_their_rules() {
    let mut sets = nightly("2025-12-30", 1);
    sets.extend(nightly("2026-01-01", 2));
    sets[1].good = true; // 2026-01-01
    let none = KeepRules {
        keep_last: 0,
        keep_daily: 0,
        keep_weekly: 0,
        keep_monthly: 0,
        keep_yearly: 0,
    };
    let verdict = decide(&sets, &none, Zone::UTC);
    assert_eq!(
        serde_json::to_value(&verdict).unwrap(),
        json!({
            "keep": [
                {"id": "2026-01-02", "created_at": "2026-01-02T10:00:00Z", "rules": ["keep-last"]},
                {"id": "2026-01-01", "created_at": "2026-01-01T10:00:00Z", "rules": ["newest-good"]},
            ],
            "expire": [
                {"id": "2025-12-30", "created_at": "2025-12-30T10:00:00Z", "rules": []},
            ],
        })
    );
}

/// Hundreds of mixed histories (a small deterministic generator, no
/// randomness between runs): the hard guarantees hold in every one.
#[test]
fn the_safety_rules_hold_for_any_history() {
    let mut seed: u64 = 0x5eed;
    let mut random = move |n: u64| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) % n
    };
    for _ in 0..300 {
        let count = 1 + random(60);
        let mut t = at("2026-01-01T00:00:00Z");
        let sets: Vec<SetSummary> = (0..count)
            .map(|i| {
                t += Duration::minutes(1 + random(3 * 24 * 60) as i64);
                SetSummary {
                    id: format!("s{i}"),
                    created_at: t,
                    automated: random(5) != 0,
                    good: random(4) == 0,
                }
            })
            .collect();
        let rules = KeepRules {
            keep_last: random(3) as u32,
            keep_daily: random(4) as u32,
            keep_weekly: random(3) as u32,
            keep_monthly: random(3) as u32,
            keep_yearly: random(2) as u32,
        };
        let verdict = decide(&sets, &rules, Zone::UTC);
        let kept = kept_ids(&verdict);
        assert_eq!(
            verdict.keep.len() + verdict.expire.len(),
            sets.len(),
            "every set has one fate"
        );
        for set in sets.iter().filter(|s| !s.automated) {
            assert!(kept.contains(set.id.as_str()), "manual {} kept", set.id);
        }
        if let Some(good) = sets.iter().filter(|s| s.good).max_by_key(|s| s.created_at) {
            assert!(
                kept.contains(good.id.as_str()),
                "newest good {} kept",
                good.id
            );
        }
        if let Some(newest) = sets
            .iter()
            .filter(|s| s.automated)
            .max_by_key(|s| s.created_at)
        {
            assert!(
                kept.contains(newest.id.as_str()),
                "newest automated {} kept",
                newest.id
            );
        }
        let last = rules.effective_keep_last() as usize;
        let mut automated: Vec<&SetSummary> = sets.iter().filter(|s| s.automated).collect();
        automated.sort_by_key(|s| std::cmp::Reverse(s.created_at));
        for set in automated.iter().take(last) {
            assert!(
                kept.contains(set.id.as_str()),
                "one of the newest {last} automated kept"
            );
        }
    }
}

#[test]
fn days_without_a_backup_do_not_use_up_keep_daily() {
    // Nightly from 1 to 10 March, down a week, nightly again 18 to 21 March.
    let mut sets = nightly("2026-03-01", 10);
    sets.extend(nightly("2026-03-18", 4));
    let rules = KeepRules {
        keep_last: 1,
        keep_daily: 14,
        keep_weekly: 0,
        keep_monthly: 0,
        keep_yearly: 0,
    };
    let verdict = decide(&sets, &rules, Zone::UTC);
    assert_eq!(
        verdict.keep.len(),
        14,
        "14 days that have a set, not the last 14 calendar days"
    );
    assert!(verdict.expire.is_empty());
}
