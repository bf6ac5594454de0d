//! The plan record: what runs for a stack, when, and what it keeps.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::cron::CRON_HINT;
use crate::span::SPAN_HINT;
use crate::zone::ZONE_PROBLEM;
use crate::{Schedule, Span, Zone};

/// The plan of one stack: its nightly backup, what retention keeps, its RPO,
/// and when verification, drills and gc run. Serializes with the keys of
/// `plan show --json` (the catalog adds `next_run_at` and `last_run`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Plan {
    /// The stack this plan is for.
    pub stack: String,
    /// Whether the daemon runs this plan at all.
    pub enabled: bool,
    /// When the backup runs, in `timezone`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub schedule: Schedule,
    /// The zone of `schedule` and of retention's days, weeks, months, years.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub timezone: Zone,
    /// How long after its scheduled time a missed backup may still start.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub start_window: Span,
    /// Whether the backup takes the hub offline (consistent files and database).
    pub offline: bool,
    /// Which automated backup sets retention keeps.
    pub retention: KeepRules,
    /// The recovery point objective: older than this, the newest good set is a breach.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub rpo: Span,
    /// When the rotating verify share runs.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub verify: VerifyWhen,
    /// When a restore drill runs.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub drill: Toggle,
    /// When the vault's gc runs.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub gc: Toggle,
    /// A healthchecks-style URL pinged on start, success and failure.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub ping_url: Option<PingUrl>,
}

/// Retention's keep rules, as restic's `forget --keep-*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeepRules {
    /// Keep the newest N sets (at least 1 in effect, whatever is stored).
    pub keep_last: u32,
    /// Keep the newest set of each of the last N days that have one.
    pub keep_daily: u32,
    /// Keep the newest set of each of the last N ISO weeks that have one.
    pub keep_weekly: u32,
    /// Keep the newest set of each of the last N months that have one.
    pub keep_monthly: u32,
    /// Keep the newest set of each of the last N years that have one.
    pub keep_yearly: u32,
}

impl KeepRules {
    /// `keep_last` as retention applies it: never below 1, so the newest
    /// automated set is always kept.
    pub fn effective_keep_last(&self) -> u32 {
        self.keep_last.max(1)
    }
}

impl Default for KeepRules {
    fn default() -> Self {
        KeepRules {
            keep_last: 0,
            keep_daily: 14,
            keep_weekly: 8,
            keep_monthly: 12,
            keep_yearly: 0,
        }
    }
}

/// When verification runs: right after each scheduled backup (the
/// default), on its own schedule, or never. Written `after-backup`, a
/// cron schedule, or `off`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyWhen {
    /// Each night, after the scheduled backup.
    AfterBackup,
    /// On its own schedule, in the plan's time zone.
    On(Schedule),
    /// Never.
    Off,
}

/// A job that runs on its own schedule or not at all (`off`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Toggle {
    /// On this schedule, in the plan's time zone.
    On(Schedule),
    /// Never.
    Off,
}

impl Toggle {
    /// The schedule, unless the job is off.
    pub fn schedule(&self) -> Option<&Schedule> {
        match self {
            Toggle::On(s) => Some(s),
            Toggle::Off => None,
        }
    }
}

/// An `http` or `https` URL to ping (healthchecks convention).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(try_from = "String", into = "String")]
pub struct PingUrl(String);

impl PingUrl {
    /// The URL as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PingUrl {
    type Error = String;

    fn try_from(text: String) -> Result<PingUrl, String> {
        let rest = text
            .strip_prefix("https://")
            .or_else(|| text.strip_prefix("http://"))
            .ok_or_else(|| "does not start with http:// or https://".to_string())?;
        let host = rest.split(['/', '?', '#']).next().unwrap_or("");
        if host.is_empty() || host.starts_with(':') {
            return Err("has no host".to_string());
        }
        if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("contains spaces or control characters".to_string());
        }
        Ok(PingUrl(text))
    }
}

impl From<PingUrl> for String {
    fn from(url: PingUrl) -> String {
        url.0
    }
}

impl Plan {
    /// The default plan a stack gets when it is created or adopted: 10:00
    /// UTC daily, 8 h start window, offline, keep 14 daily / 8 weekly / 12
    /// monthly, RPO 26 h, verify after each backup, drill Saturdays and gc
    /// Sundays at 12:00.
    pub fn new(stack: impl Into<String>) -> Plan {
        let schedule = |text: &str| text.parse::<Schedule>().expect("default schedules parse");
        Plan {
            stack: stack.into(),
            enabled: true,
            schedule: schedule("0 10 * * *"),
            timezone: Zone::UTC,
            start_window: Span::hours(8),
            offline: true,
            retention: KeepRules::default(),
            rpo: Span::hours(26),
            verify: VerifyWhen::AfterBackup,
            drill: Toggle::On(schedule("0 12 * * 6")),
            gc: Toggle::On(schedule("0 12 * * 0")),
            ping_url: None,
        }
    }

    /// When the plan's next backup is scheduled after `after` (for
    /// `next_run_at` and `stack show`'s `next_backup_at`); `None` when the
    /// plan is disabled.
    pub fn next_backup_at(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.enabled
            .then(|| self.schedule.next_run(self.timezone, after))
    }

    /// This plan with `change` applied: every given option is checked, and
    /// the first invalid one is refused naming it and what to write; the
    /// plan is changed only if all are valid.
    pub fn apply(&self, change: &PlanChange) -> Result<Plan, PlanError> {
        let mut plan = self.clone();
        if let Some(text) = &change.schedule {
            plan.schedule = parse_schedule("--schedule", text)?;
        }
        if let Some(text) = &change.timezone {
            plan.timezone = text.parse().map_err(|_: crate::ZoneError| PlanError {
                option: "--timezone",
                value: text.clone(),
                problem: format!("it {ZONE_PROBLEM}"),
            })?;
        }
        if let Some(text) = &change.start_window {
            plan.start_window = parse_span("--start-window", text)?;
        }
        if let Some(offline) = change.offline {
            plan.offline = offline;
        }
        if let Some(enabled) = change.enabled {
            plan.enabled = enabled;
        }
        let keep = &mut plan.retention;
        for (value, field) in [
            (change.keep_last, &mut keep.keep_last),
            (change.keep_daily, &mut keep.keep_daily),
            (change.keep_weekly, &mut keep.keep_weekly),
            (change.keep_monthly, &mut keep.keep_monthly),
            (change.keep_yearly, &mut keep.keep_yearly),
        ] {
            if let Some(n) = value {
                *field = n;
            }
        }
        if let Some(text) = &change.rpo {
            plan.rpo = parse_span("--rpo", text)?;
        }
        if let Some(text) = &change.verify {
            plan.verify = match text.as_str() {
                "off" => VerifyWhen::Off,
                "after-backup" => VerifyWhen::AfterBackup,
                _ => VerifyWhen::On(parse_schedule("--verify", text).map_err(|e| PlanError {
                    problem: format!("{}, \"after-backup\" or \"off\"", e.problem),
                    ..e
                })?),
            };
        }
        if let Some(text) = &change.drill {
            plan.drill = parse_toggle("--drill", text)?;
        }
        if let Some(text) = &change.gc {
            plan.gc = parse_toggle("--gc", text)?;
        }
        if let Some(text) = &change.ping_url {
            plan.ping_url = match text.as_str() {
                "off" | "" => None,
                _ => Some(PingUrl::try_from(text.clone()).map_err(|problem| PlanError {
                    option: "--ping-url",
                    value: text.clone(),
                    problem: format!(
                        "{problem}; write a URL such as \"https://hc-ping.com/<uuid>\", or \"off\" to stop pinging"
                    ),
                })?),
            };
        }
        Ok(plan)
    }
}

fn parse_schedule(option: &'static str, text: &str) -> Result<Schedule, PlanError> {
    text.parse().map_err(|e: crate::CronError| PlanError {
        option,
        value: text.to_string(),
        problem: if e.problem.contains(CRON_HINT) {
            e.problem
        } else {
            format!("{}; {CRON_HINT}", e.problem)
        },
    })
}

fn parse_span(option: &'static str, text: &str) -> Result<Span, PlanError> {
    text.parse().map_err(|e: crate::SpanError| PlanError {
        option,
        value: text.to_string(),
        problem: if e.problem.contains(SPAN_HINT) {
            e.problem
        } else {
            format!("{}; {SPAN_HINT}", e.problem)
        },
    })
}

fn parse_toggle(option: &'static str, text: &str) -> Result<Toggle, PlanError> {
    if text == "off" {
        return Ok(Toggle::Off);
    }
    parse_schedule(option, text)
        .map(Toggle::On)
        .map_err(|e| PlanError {
            problem: format!("{}, or \"off\"", e.problem),
            ..e
        })
}

/// The options of `plan set` (and the body of `PUT .../plan`): each one
/// given replaces the plan's value; values are written as on the command
/// line and checked by [`Plan::apply`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct PlanChange {
    /// `--schedule CRON`.
    pub schedule: Option<String>,
    /// `--timezone TZ`.
    pub timezone: Option<String>,
    /// `--start-window DUR`.
    pub start_window: Option<String>,
    /// `--offline` / `--no-offline`.
    pub offline: Option<bool>,
    /// `--enabled` / `--disabled`.
    pub enabled: Option<bool>,
    /// `--keep-last N`.
    pub keep_last: Option<u32>,
    /// `--keep-daily N`.
    pub keep_daily: Option<u32>,
    /// `--keep-weekly N`.
    pub keep_weekly: Option<u32>,
    /// `--keep-monthly N`.
    pub keep_monthly: Option<u32>,
    /// `--keep-yearly N`.
    pub keep_yearly: Option<u32>,
    /// `--rpo DUR`.
    pub rpo: Option<String>,
    /// `--verify CRON|after-backup|off`.
    pub verify: Option<String>,
    /// `--drill CRON|off`.
    pub drill: Option<String>,
    /// `--gc CRON|off`.
    pub gc: Option<String>,
    /// `--ping-url URL` (`off` removes it).
    pub ping_url: Option<String>,
}

/// A `plan set` option refused: which option, the value given, what is
/// wrong and what to write instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{option} \"{value}\" is not valid: {problem}")]
pub struct PlanError {
    /// The option, as the command line spells it (`--schedule`).
    pub option: &'static str,
    /// The value given.
    pub value: String,
    /// What is wrong with it and what to write instead.
    pub problem: String,
}

mod text_forms {
    //! `verify`, `drill` and `gc` serialize as the text `plan set` takes.
    use super::{Toggle, VerifyWhen};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    impl Serialize for VerifyWhen {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            match self {
                VerifyWhen::AfterBackup => s.serialize_str("after-backup"),
                VerifyWhen::On(schedule) => schedule.serialize(s),
                VerifyWhen::Off => s.serialize_str("off"),
            }
        }
    }

    impl<'de> Deserialize<'de> for VerifyWhen {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            let text = String::deserialize(d)?;
            Ok(match text.as_str() {
                "after-backup" => VerifyWhen::AfterBackup,
                "off" => VerifyWhen::Off,
                _ => VerifyWhen::On(text.parse().map_err(serde::de::Error::custom)?),
            })
        }
    }

    impl Serialize for Toggle {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            match self {
                Toggle::On(schedule) => schedule.serialize(s),
                Toggle::Off => s.serialize_str("off"),
            }
        }
    }

    impl<'de> Deserialize<'de> for Toggle {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            let text = String::deserialize(d)?;
            Ok(match text.as_str() {
                "off" => Toggle::Off,
                _ => Toggle::On(text.parse().map_err(serde::de::Error::custom)?),
            })
        }
    }
}
