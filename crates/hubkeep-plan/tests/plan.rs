//! A stack's plan: its defaults, `plan show --json`, and `plan set` checking
//! every value.

use hubkeep_plan::{Plan, PlanChange, Toggle, VerifyWhen};
use serde_json::json;

#[test]
fn a_new_stack_gets_the_default_plan_as_plan_show_prints_it() {
    let plan = Plan::new("hub1");
    assert_eq!(
        serde_json::to_value(&plan).unwrap(),
        json!({
            "stack": "hub1",
            "enabled": true,
            "schedule": "0 10 * * *",
            "timezone": "UTC",
            "start_window": "8h",
            "offline": true,
            "retention": {"keep_last": 0, "keep_daily": 14, "keep_weekly": 8, "keep_monthly": 12, "keep_yearly": 0},
            "rpo": "26h",
            "verify": "after-backup",
            "drill": "0 12 * * 6",
            "gc": "0 12 * * 0",
            "ping_url": null,
        })
    );
    assert_eq!(
        plan.retention.effective_keep_last(),
        1,
        "keep_last is at least 1 in effect"
    );
    let back: Plan = serde_json::from_value(serde_json::to_value(&plan).unwrap()).unwrap();
    assert_eq!(back, plan);
}

#[test]
fn plan_set_changes_every_option() {
    let change = PlanChange {
        schedule: Some("30 2 * * 1-5".into()),
        timezone: Some("America/New_York".into()),
        start_window: Some("90m".into()),
        offline: Some(false),
        enabled: Some(false),
        keep_last: Some(3),
        keep_daily: Some(7),
        keep_weekly: Some(4),
        keep_monthly: Some(6),
        keep_yearly: Some(2),
        rpo: Some("2d".into()),
        verify: Some("0 4 * * *".into()),
        drill: Some("off".into()),
        gc: Some("0 5 1 * *".into()),
        ping_url: Some("https://hc-ping.com/5f1c".into()),
    };
    let plan = Plan::new("hub1").apply(&change).unwrap();
    assert_eq!(
        serde_json::to_value(&plan).unwrap(),
        json!({
            "stack": "hub1",
            "enabled": false,
            "schedule": "30 2 * * 1-5",
            "timezone": "America/New_York",
            "start_window": "90m",
            "offline": false,
            "retention": {"keep_last": 3, "keep_daily": 7, "keep_weekly": 4, "keep_monthly": 6, "keep_yearly": 2},
            "rpo": "2d",
            "verify": "0 4 * * *",
            "drill": "off",
            "gc": "0 5 1 * *",
            "ping_url": "https://hc-ping.com/5f1c",
        })
    );
    assert_eq!(plan.drill, Toggle::Off);
    assert_eq!(plan.start_window.duration(), chrono::Duration::minutes(90));

    let back = plan
        .apply(&PlanChange {
            verify: Some("after-backup".into()),
            ping_url: Some("off".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(back.verify, VerifyWhen::AfterBackup);
    assert_eq!(back.ping_url, None);
}

#[test]
fn plan_set_refuses_each_invalid_value_naming_it_and_what_to_write() {
    let cases: Vec<(PlanChange, &str, &str)> = vec![
        (
            PlanChange {
                schedule: Some("0 25 * * *".into()),
                ..Default::default()
            },
            "--schedule \"0 25 * * *\"",
            "hour 25 is out of range 0-23",
        ),
        (
            PlanChange {
                schedule: Some("daily".into()),
                ..Default::default()
            },
            "--schedule \"daily\"",
            "five fields",
        ),
        (
            PlanChange {
                timezone: Some("Europe/Berln".into()),
                ..Default::default()
            },
            "--timezone \"Europe/Berln\"",
            "is not valid: it is not an IANA time zone name",
        ),
        (
            PlanChange {
                timezone: Some("CEST+2".into()),
                ..Default::default()
            },
            "--timezone \"CEST+2\"",
            "\"Europe/Berlin\"",
        ),
        (
            PlanChange {
                start_window: Some("8".into()),
                ..Default::default()
            },
            "--start-window \"8\"",
            "m, h or d",
        ),
        (
            PlanChange {
                start_window: Some("0h".into()),
                ..Default::default()
            },
            "--start-window \"0h\"",
            "is zero",
        ),
        (
            PlanChange {
                start_window: Some("1.5h".into()),
                ..Default::default()
            },
            "--start-window \"1.5h\"",
            "whole number",
        ),
        (
            PlanChange {
                rpo: Some("26 hours".into()),
                ..Default::default()
            },
            "--rpo \"26 hours\"",
            "\"8h\"",
        ),
        (
            PlanChange {
                rpo: Some("99999d".into()),
                ..Default::default()
            },
            "--rpo \"99999d\"",
            "longer than ten years",
        ),
        (
            PlanChange {
                verify: Some("nightly".into()),
                ..Default::default()
            },
            "--verify \"nightly\"",
            "\"after-backup\" or \"off\"",
        ),
        (
            PlanChange {
                drill: Some("never".into()),
                ..Default::default()
            },
            "--drill \"never\"",
            "or \"off\"",
        ),
        (
            PlanChange {
                gc: Some("0 12 * * 9".into()),
                ..Default::default()
            },
            "--gc \"0 12 * * 9\"",
            "day-of-week 9",
        ),
        (
            PlanChange {
                ping_url: Some("hc-ping.com/x".into()),
                ..Default::default()
            },
            "--ping-url \"hc-ping.com/x\"",
            "http:// or https://",
        ),
        (
            PlanChange {
                ping_url: Some("https:///x".into()),
                ..Default::default()
            },
            "--ping-url \"https:///x\"",
            "has no host",
        ),
    ];
    let plan = Plan::new("hub1");
    for (change, names, says) in cases {
        let error = plan.apply(&change).expect_err(names).to_string();
        assert!(error.starts_with(names), "{error}");
        assert!(error.contains(says), "{names}: {error}");
    }
}

#[test]
fn one_invalid_option_changes_nothing() {
    let plan = Plan::new("hub1");
    let change = PlanChange {
        schedule: Some("0 3 * * *".into()),
        rpo: Some("soon".into()),
        ..Default::default()
    };
    assert!(plan.apply(&change).is_err());
    assert_eq!(plan, Plan::new("hub1"));
}

#[test]
fn the_api_body_of_a_plan_change_uses_plan_show_keys_and_refuses_unknown_ones() {
    let change: PlanChange =
        serde_json::from_value(json!({"schedule": "0 1 * * *", "keep_daily": 30})).unwrap();
    let plan = Plan::new("hub1").apply(&change).unwrap();
    assert_eq!(plan.schedule.as_str(), "0 1 * * *");
    assert_eq!(plan.retention.keep_daily, 30);
    let error = serde_json::from_value::<PlanChange>(json!({"schedul": "0 1 * * *"})).unwrap_err();
    assert!(error.to_string().contains("schedul"), "{error}");
}

#[test]
fn a_stored_plan_with_a_bad_value_does_not_load() {
    let mut value = serde_json::to_value(Plan::new("hub1")).unwrap();
    value["timezone"] = json!("Mars/Olympus");
    let error = serde_json::from_value::<Plan>(value)
        .unwrap_err()
        .to_string();
    assert!(error.contains("Mars/Olympus"), "{error}");
}

#[test]
fn the_next_backup_is_the_schedule_in_the_plan_zone_unless_disabled() {
    let plan = Plan::new("hub1")
        .apply(&PlanChange {
            timezone: Some("America/New_York".into()),
            ..Default::default()
        })
        .unwrap();
    let after = "2026-06-01T15:00:00Z".parse().unwrap();
    // 10:00 EDT is 14:00 UTC: today's has passed.
    assert_eq!(
        plan.next_backup_at(after),
        Some("2026-06-02T14:00:00Z".parse().unwrap())
    );
    let off = plan
        .apply(&PlanChange {
            enabled: Some(false),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(off.next_backup_at(after), None);
}
