//! The clock: `HUBKEEP_CLOCK` sets where time starts and how fast it runs.

use chrono::{DateTime, Duration, Utc};
use hubkeep_plan::Clock;

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

#[test]
fn a_simulated_clock_starts_at_its_instant_and_never_runs_backwards() {
    let clock = Clock::parse("2026-03-29T02:00:00+02:00").unwrap();
    assert!(clock.is_simulated());
    assert_eq!(clock.rate(), 1.0);
    let first = clock.now();
    assert!(first >= at("2026-03-29T00:00:00Z"), "{first}");
    assert!(first < at("2026-03-30T00:00:00Z"), "{first}");
    assert!(clock.now() >= first);
}

#[test]
fn a_fast_clock_sleeps_a_clock_hour_in_a_real_second() {
    let clock = Clock::parse("2026-06-01T00:00:00Z@3600").unwrap();
    assert_eq!(clock.rate(), 3600.0);
    assert_eq!(
        clock.real_duration(Duration::hours(1)),
        std::time::Duration::from_secs(1)
    );
    assert_eq!(
        clock.real_duration(Duration::hours(-1)),
        std::time::Duration::ZERO
    );
    let wake = at("2026-06-01T00:30:00Z");
    clock.sleep_until(wake);
    assert!(clock.now() >= wake);
    let before = clock.now();
    clock.sleep(Duration::minutes(10));
    assert!(clock.now() >= before + Duration::minutes(10));
}

#[test]
fn sleeping_until_a_past_instant_returns_at_once() {
    let clock = Clock::parse("2026-06-01T00:00:00Z@0.001").unwrap();
    // At this rate a real second is a millisecond of clock time; a wait for
    // the past would never end if it slept.
    clock.sleep_until(at("2026-05-31T00:00:00Z"));
}

#[test]
fn invalid_clock_values_are_refused_naming_them() {
    for (value, says) in [
        ("yesterday", "\"yesterday\" is not an RFC 3339 instant"),
        ("2026-03-29", "is not an RFC 3339 instant"),
        (
            "2026-03-29T00:00:00Z@0",
            "rate \"0\" is not a positive number",
        ),
        ("2026-03-29T00:00:00Z@-5", "rate \"-5\""),
        ("2026-03-29T00:00:00Z@fast", "rate \"fast\""),
        ("2026-03-29T00:00:00Z@inf", "rate \"inf\""),
    ] {
        let error = Clock::parse(value).expect_err(value).to_string();
        assert!(
            error.starts_with(&format!("HUBKEEP_CLOCK=\"{value}\"")),
            "{error}"
        );
        assert!(error.contains(says), "{value}: {error}");
        assert!(
            error.contains("2026-03-29T00:00:00Z@3600"),
            "says what to write: {error}"
        );
    }
}

// The only test in this binary that touches the environment.
#[test]
fn hubkeep_clock_in_the_environment_sets_the_clock_and_unset_is_real() {
    std::env::set_var("HUBKEEP_CLOCK", "2030-01-01T10:00:00Z@60");
    let clock = Clock::from_env().unwrap();
    assert!(clock.is_simulated());
    assert_eq!(clock.rate(), 60.0);
    assert!(clock.now() >= at("2030-01-01T10:00:00Z"));

    std::env::set_var("HUBKEEP_CLOCK", "tomorrow");
    assert!(Clock::from_env()
        .unwrap_err()
        .to_string()
        .contains("\"tomorrow\""));

    std::env::remove_var("HUBKEEP_CLOCK");
    let clock = Clock::from_env().unwrap();
    assert!(!clock.is_simulated());
    let real = Utc::now();
    assert!(
        (clock.now() - real).num_hours().abs() < 24,
        "the real clock reads real time"
    );
}
