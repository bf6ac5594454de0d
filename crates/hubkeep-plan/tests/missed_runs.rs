//! Missed runs: a scheduled backup runs once within its start window, and is
//! expired past it; never twice for one scheduled time.

use chrono::{DateTime, Duration, Utc};
use hubkeep_plan::missed::{decide, Decision, MAX_EXPIRED_PER_DECISION};
use hubkeep_plan::{Plan, PlanChange};

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

fn plan(schedule: &str, zone: &str, window: &str) -> Plan {
    Plan::new("hub1")
        .apply(&PlanChange {
            schedule: Some(schedule.into()),
            timezone: Some(zone.into()),
            start_window: Some(window.into()),
            ..Default::default()
        })
        .unwrap()
}

fn run(t: &str) -> Decision {
    Decision::Run {
        scheduled_for: at(t),
    }
}

fn expire(ts: &[&str]) -> Decision {
    Decision::Expire {
        scheduled_for: ts.iter().map(|t| at(t)).collect(),
    }
}

fn wait(t: &str) -> Decision {
    Decision::Wait { until: at(t) }
}

#[test]
fn the_daemon_runs_waits_or_expires_by_the_start_window() {
    let daily = Plan::new("hub1"); // 10:00 UTC, 8 h window
    let cases = [
        (
            "2026-06-01T10:00:00Z",
            "2026-06-02T09:00:00Z",
            wait("2026-06-02T10:00:00Z"),
            "before the time",
        ),
        (
            "2026-06-01T10:00:00Z",
            "2026-06-02T10:00:00Z",
            run("2026-06-02T10:00:00Z"),
            "at the time",
        ),
        (
            "2026-06-01T10:00:00Z",
            "2026-06-02T17:59:00Z",
            run("2026-06-02T10:00:00Z"),
            "started late, inside the window",
        ),
        (
            "2026-06-01T10:00:00Z",
            "2026-06-02T18:00:00Z",
            expire(&["2026-06-02T10:00:00Z"]),
            "the window has closed",
        ),
        (
            "2026-06-02T10:00:00Z",
            "2026-06-02T12:00:00Z",
            wait("2026-06-03T10:00:00Z"),
            "already run: never twice",
        ),
        (
            "2026-06-01T10:00:00Z",
            "2026-06-04T12:00:00Z",
            expire(&["2026-06-02T10:00:00Z", "2026-06-03T10:00:00Z"]),
            "down three days: the older misses expire first",
        ),
        (
            "2026-06-03T10:00:00Z",
            "2026-06-04T12:00:00Z",
            run("2026-06-04T10:00:00Z"),
            "then tonight's runs",
        ),
        (
            "2026-06-01T10:00:00Z",
            "2026-06-04T19:00:00Z",
            expire(&[
                "2026-06-02T10:00:00Z",
                "2026-06-03T10:00:00Z",
                "2026-06-04T10:00:00Z",
            ]),
            "down three days, back after the window: all expire",
        ),
        (
            "2026-06-01T09:00:00Z",
            "2026-06-01T09:30:00Z",
            wait("2026-06-01T10:00:00Z"),
            "plan created before its first time",
        ),
    ];
    for (last_handled, now, want, why) in cases {
        assert_eq!(decide(&daily, at(last_handled), at(now)), want, "{why}");
    }
}

#[test]
fn several_missed_times_inside_the_window_run_once_for_the_newest() {
    let hourly = plan("0 * * * *", "UTC", "8h");
    let last = at("2026-06-01T00:00:00Z");
    let now = at("2026-06-01T03:30:00Z");
    assert_eq!(
        decide(&hourly, last, now),
        expire(&["2026-06-01T01:00:00Z", "2026-06-01T02:00:00Z"])
    );
    assert_eq!(
        decide(&hourly, at("2026-06-01T02:00:00Z"), now),
        run("2026-06-01T03:00:00Z")
    );
}

#[test]
fn a_time_skipped_by_spring_forward_runs_once_at_the_end_of_the_gap() {
    // 02:30 does not exist in Berlin on 2026-03-29; it runs at 03:00 CEST (01:00 UTC).
    let p = plan("30 2 * * *", "Europe/Berlin", "2h");
    assert_eq!(
        decide(&p, at("2026-03-28T01:30:00Z"), at("2026-03-29T01:05:00Z")),
        run("2026-03-29T01:00:00Z")
    );
    assert_eq!(
        decide(&p, at("2026-03-29T01:00:00Z"), at("2026-03-29T02:00:00Z")),
        wait("2026-03-30T00:30:00Z")
    );
}

#[test]
fn a_disabled_plan_decides_nothing() {
    let p = Plan::new("hub1")
        .apply(&PlanChange {
            enabled: Some(false),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        decide(&p, at("2026-06-01T10:00:00Z"), at("2026-06-09T11:00:00Z")),
        Decision::Disabled
    );
}

#[test]
fn a_year_down_with_a_per_minute_plan_expires_in_bounded_batches() {
    let p = plan("* * * * *", "UTC", "1h");
    let last = at("2025-06-01T00:00:00Z");
    let now = at("2026-06-01T00:00:00Z");
    let Decision::Expire { scheduled_for } = decide(&p, last, now) else {
        panic!("expected Expire")
    };
    assert_eq!(scheduled_for.len(), MAX_EXPIRED_PER_DECISION);
    assert_eq!(scheduled_for[0], last + Duration::minutes(1));
    assert_eq!(
        *scheduled_for.last().unwrap(),
        last + Duration::minutes(MAX_EXPIRED_PER_DECISION as i64)
    );
}

/// A month of nights with the daemon down now and then: asking `decide`
/// over and over, as the daemon does, handles every scheduled time exactly
/// once, runs the ones it could start inside the window and expires the rest.
#[test]
fn a_month_with_downtime_handles_every_scheduled_time_exactly_once() {
    let p = Plan::new("hub1");
    let start = at("2026-06-01T00:00:00Z");
    // The daemon is down from the 5th 09:00 to the 5th 15:00 (catches up),
    // and from the 10th 08:00 to the 13th 20:00 (misses four: the 13th is
    // past its window too).
    let down = |t: DateTime<Utc>| {
        (t >= at("2026-06-05T09:00:00Z") && t < at("2026-06-05T15:00:00Z"))
            || (t >= at("2026-06-10T08:00:00Z") && t < at("2026-06-13T20:00:00Z"))
    };
    let mut handled = start;
    let mut ran = Vec::new();
    let mut expired = Vec::new();
    let mut now = start;
    while now < at("2026-07-01T00:00:00Z") {
        if !down(now) {
            loop {
                match decide(&p, handled, now) {
                    Decision::Run { scheduled_for } => {
                        ran.push((scheduled_for, now));
                        handled = scheduled_for;
                    }
                    Decision::Expire { scheduled_for } => {
                        handled = *scheduled_for.last().unwrap();
                        expired.extend(scheduled_for);
                    }
                    Decision::Wait { .. } | Decision::Disabled => break,
                }
            }
        }
        now += Duration::minutes(30);
    }
    assert_eq!(
        ran.len() + expired.len(),
        30,
        "each of June's 30 nights once"
    );
    let mut all: Vec<_> = ran
        .iter()
        .map(|(s, _)| *s)
        .chain(expired.iter().copied())
        .collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 30, "no scheduled time twice");
    assert_eq!(
        expired,
        vec![
            at("2026-06-10T10:00:00Z"),
            at("2026-06-11T10:00:00Z"),
            at("2026-06-12T10:00:00Z"),
            at("2026-06-13T10:00:00Z")
        ]
    );
    assert!(
        ran.contains(&(at("2026-06-05T10:00:00Z"), at("2026-06-05T15:00:00Z"))),
        "caught up once on the 5th"
    );
}

#[test]
fn a_stack_older_than_the_daemon_is_answered_for_its_latest_night_only() {
    use hubkeep_plan::missed::first_look;
    let daily = Plan::new("hub1"); // 10:00 UTC, 8 h window
    // Created a year ago, the daemon starts at 12:00: today's 10:00 runs, no
    // year of expired nights.
    let created = at("2025-06-02T08:00:00Z");
    let now = at("2026-06-02T12:00:00Z");
    let start = first_look(&daily, created, now);
    assert_eq!(start, at("2026-06-01T04:00:00Z"));
    assert_eq!(decide(&daily, start, now), expire(&["2026-06-01T10:00:00Z"]));
    assert_eq!(decide(&daily, at("2026-06-01T10:00:00Z"), now), run("2026-06-02T10:00:00Z"));
    // Created an hour ago: nothing before its creation is due.
    let created = at("2026-06-02T11:00:00Z");
    let start = first_look(&daily, created, now);
    assert_eq!(start, created);
    assert_eq!(decide(&daily, start, now), wait("2026-06-03T10:00:00Z"));
}
