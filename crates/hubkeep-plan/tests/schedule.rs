//! Cron in a time zone: daylight-saving changes, month ends, leap days and
//! cron's day-of-month OR day-of-week.

use chrono::{DateTime, Utc};
use hubkeep_plan::{Schedule, Zone};

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

fn next(schedule: &str, zone: &str, after: &str) -> String {
    let schedule: Schedule = schedule.parse().unwrap();
    let zone: Zone = zone.parse().unwrap();
    schedule
        .next_run(zone, at(after))
        .format("%Y-%m-%dT%H:%MZ")
        .to_string()
}

/// (schedule, zone, after, expected next run in UTC, why)
const CASES: &[(&str, &str, &str, &str, &str)] = &[
    // Europe/Berlin: 2026-03-29 02:00 CET -> 03:00 CEST; 2026-10-25 03:00 CEST -> 02:00 CET.
    (
        "0 10 * * *",
        "Europe/Berlin",
        "2026-03-28T09:00:00Z",
        "2026-03-29T08:00Z",
        "10:00 CEST is 08:00 UTC",
    ),
    (
        "30 2 * * *",
        "Europe/Berlin",
        "2026-03-28T12:00:00Z",
        "2026-03-29T01:00Z",
        "skipped 02:30 runs at 03:00 CEST",
    ),
    (
        "30 2 * * *",
        "Europe/Berlin",
        "2026-03-29T01:00:00Z",
        "2026-03-30T00:30Z",
        "and not again that day",
    ),
    (
        "0 2,3 * * *",
        "Europe/Berlin",
        "2026-03-29T00:00:00Z",
        "2026-03-29T01:00Z",
        "skipped 02:00 and 03:00 share 03:00",
    ),
    (
        "0 2,3 * * *",
        "Europe/Berlin",
        "2026-03-29T01:00:00Z",
        "2026-03-30T00:00Z",
        "03:00 does not run a second time",
    ),
    (
        "*/15 2 * * *",
        "Europe/Berlin",
        "2026-03-29T00:00:00Z",
        "2026-03-29T01:00Z",
        "four skipped times run once",
    ),
    (
        "*/15 2 * * *",
        "Europe/Berlin",
        "2026-03-29T01:00:00Z",
        "2026-03-30T00:00Z",
        "once",
    ),
    (
        "30 2 * * *",
        "Europe/Berlin",
        "2026-10-24T12:00:00Z",
        "2026-10-25T00:30Z",
        "repeated 02:30 runs at its first (CEST)",
    ),
    (
        "30 2 * * *",
        "Europe/Berlin",
        "2026-10-25T00:30:00Z",
        "2026-10-26T01:30Z",
        "not at its second (CET)",
    ),
    (
        "0 * * * *",
        "Europe/Berlin",
        "2026-10-25T00:00:00Z",
        "2026-10-25T02:00Z",
        "hourly skips the repeated 02:00",
    ),
    (
        "0 10 * * *",
        "Europe/Berlin",
        "2026-10-25T00:00:00Z",
        "2026-10-25T09:00Z",
        "10:00 CET is 09:00 UTC",
    ),
    // America/New_York: 2026-03-08 02:00 EST -> 03:00 EDT; 2026-11-01 02:00 EDT -> 01:00 EST.
    (
        "30 2 * * *",
        "America/New_York",
        "2026-03-07T12:00:00Z",
        "2026-03-08T07:00Z",
        "skipped 02:30 runs at 03:00 EDT",
    ),
    (
        "30 2 * * *",
        "America/New_York",
        "2026-03-08T07:00:00Z",
        "2026-03-09T06:30Z",
        "once",
    ),
    (
        "30 1 * * *",
        "America/New_York",
        "2026-10-31T12:00:00Z",
        "2026-11-01T05:30Z",
        "repeated 01:30 runs at its first (EDT)",
    ),
    (
        "30 1 * * *",
        "America/New_York",
        "2026-11-01T05:30:00Z",
        "2026-11-02T06:30Z",
        "not at its second (EST)",
    ),
    (
        "0 10 * * *",
        "America/New_York",
        "2026-11-01T00:00:00Z",
        "2026-11-01T15:00Z",
        "10:00 EST",
    ),
    // Australia/Lord_Howe shifts by 30 minutes: 2026-10-04 02:00 -> 02:30 (+10:30 -> +11);
    // 2026-04-05 02:00 -> 01:30 (+11 -> +10:30).
    (
        "15 2 * * *",
        "Australia/Lord_Howe",
        "2026-10-03T00:00:00Z",
        "2026-10-03T15:30Z",
        "skipped 02:15 runs at 02:30",
    ),
    (
        "15 2 * * *",
        "Australia/Lord_Howe",
        "2026-10-03T15:30:00Z",
        "2026-10-04T15:15Z",
        "once",
    ),
    (
        "45 1 * * *",
        "Australia/Lord_Howe",
        "2026-04-04T00:00:00Z",
        "2026-04-04T14:45Z",
        "repeated 01:45 runs at its first (+11)",
    ),
    (
        "45 1 * * *",
        "Australia/Lord_Howe",
        "2026-04-04T14:45:00Z",
        "2026-04-05T15:15Z",
        "not at its second (+10:30)",
    ),
    // Month ends and leap days.
    (
        "0 0 31 * *",
        "UTC",
        "2026-01-31T00:00:00Z",
        "2026-03-31T00:00Z",
        "February has no 31st",
    ),
    (
        "0 0 31 * *",
        "UTC",
        "2026-04-01T00:00:00Z",
        "2026-05-31T00:00Z",
        "April has no 31st",
    ),
    (
        "0 0 29 2 *",
        "UTC",
        "2026-01-01T00:00:00Z",
        "2028-02-29T00:00Z",
        "next leap day",
    ),
    (
        "0 0 29 2 *",
        "UTC",
        "2096-03-01T00:00:00Z",
        "2104-02-29T00:00Z",
        "2100 is not a leap year",
    ),
    (
        "59 23 28-31 * *",
        "UTC",
        "2027-02-28T23:59:00Z",
        "2027-03-28T23:59Z",
        "end of a short February",
    ),
    // Day-of-month OR day-of-week when both are restricted; AND when one starts with '*'.
    (
        "0 0 14 * 1",
        "UTC",
        "2026-04-13T12:00:00Z",
        "2026-04-14T00:00Z",
        "the 14th (a Tuesday)",
    ),
    (
        "0 0 14 * 1",
        "UTC",
        "2026-04-14T12:00:00Z",
        "2026-04-20T00:00Z",
        "a Monday",
    ),
    (
        "0 0 */2 * 1",
        "UTC",
        "2026-04-01T00:00:00Z",
        "2026-04-13T00:00Z",
        "odd day AND Monday",
    ),
    (
        "0 12 * * 7",
        "UTC",
        "2026-04-01T00:00:00Z",
        "2026-04-05T12:00Z",
        "7 is Sunday",
    ),
    (
        "0 12 * * 0",
        "UTC",
        "2026-04-01T00:00:00Z",
        "2026-04-05T12:00Z",
        "0 is Sunday",
    ),
    (
        "0 12 * mar-may sat",
        "UTC",
        "2026-01-01T00:00:00Z",
        "2026-03-07T12:00Z",
        "names",
    ),
    (
        "0 12 * * 6",
        "UTC",
        "2026-04-04T12:00:00Z",
        "2026-04-11T12:00Z",
        "strictly after",
    ),
    (
        "*/20 9-10 * * *",
        "UTC",
        "2026-04-04T09:40:00Z",
        "2026-04-04T10:00Z",
        "steps over a range",
    ),
    (
        "5/20 * * * *",
        "UTC",
        "2026-04-04T09:46:00Z",
        "2026-04-04T10:05Z",
        "a/step starts at a",
    ),
];

#[test]
fn next_run_follows_cron_and_daylight_saving_rules() {
    let mut failures = Vec::new();
    for (schedule, zone, after, expected, why) in CASES {
        let got = next(schedule, zone, after);
        if got != *expected {
            failures.push(format!(
                "{schedule:?} in {zone} after {after}: got {got}, want {expected} ({why})"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_night_of_daylight_saving_runs_each_scheduled_time_once() {
    // Walk every quarter hour schedule through Berlin's fall-back night:
    // 96 local quarter hours are 100 real ones; the repeated hour runs once.
    let schedule: Schedule = "*/15 * * * *".parse().unwrap();
    let zone: Zone = "Europe/Berlin".parse().unwrap();
    let mut t = at("2026-10-24T22:00:00Z"); // midnight CEST
    let mut runs = 0;
    while t < at("2026-10-25T23:00:00Z") {
        t = schedule.next_run(zone, t);
        runs += 1;
    }
    assert_eq!(runs, 96, "each of the day's 96 local quarter hours once");
}

#[test]
fn invalid_schedules_are_refused_saying_why() {
    for (text, says) in [
        ("61 * * * *", "minute 61 is out of range 0-59"),
        ("0 24 * * *", "hour 24 is out of range 0-23"),
        ("0 10 0 * *", "day-of-month 0 is out of range 1-31"),
        ("0 10 * 13 *", "month 13 is out of range 1-12"),
        ("0 10 * * 8", "day-of-week 8 is out of range 0-7"),
        ("0 10 * *", "has 4 fields, not 5"),
        ("0 0 10 * * *", "has 6 fields, not 5"),
        ("x 10 * * *", "minute \"x\" is not a number"),
        ("*/0 10 * * *", "minute step \"0\" is not a positive number"),
        ("0 10-8 * * *", "hour range 10-8 runs backwards"),
        ("0 10 1,,2 * *", "empty list item"),
        ("0 0 30 2 *", "names no day that exists"),
        ("0 0 31 4,6,9,11 *", "names no day that exists"),
    ] {
        let error = text.parse::<Schedule>().expect_err(text).to_string();
        assert!(error.contains(&format!("\"{text}\"")), "{error}");
        assert!(error.contains(says), "{text}: {error}");
    }
}

#[test]
fn a_schedule_prints_and_serializes_as_written() {
    let schedule: Schedule = "0  10 * *   1-5".parse().unwrap();
    assert_eq!(schedule.to_string(), "0 10 * * 1-5");
    assert_eq!(
        serde_json::to_string(&schedule).unwrap(),
        "\"0 10 * * 1-5\""
    );
    let back: Schedule = serde_json::from_str("\"0 10 * * 1-5\"").unwrap();
    assert_eq!(back, schedule);
    assert!(serde_json::from_str::<Schedule>("\"0 10 * *\"").is_err());
}
