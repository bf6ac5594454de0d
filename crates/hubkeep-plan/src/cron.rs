//! Five-field cron schedules and their next run in a time zone.
//!
//! A small parser of our own rather than a cron crate: the crates that parse
//! the five-field form either add a seconds field, or decide daylight-saving
//! changes their own way (some run a skipped time twice or never). Here the
//! rules are ours and tested: a local time skipped by spring-forward runs at
//! the first valid instant after it, once; a local time repeated by fall-back
//! runs once, at its first occurrence.

use std::fmt;
use std::str::FromStr;

use chrono::offset::LocalResult;
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Zone;

/// How a schedule is written, for error messages.
pub const CRON_HINT: &str =
    "write five fields \"minute hour day-of-month month day-of-week\", e.g. \"0 10 * * *\"";

/// A cron schedule that does not parse, with what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cron schedule \"{value}\": {problem}")]
pub struct CronError {
    /// The schedule as written.
    pub value: String,
    /// What is wrong with it.
    pub problem: String,
}

/// A parsed five-field cron schedule (minute hour day-of-month month
/// day-of-week), as Vixie cron reads it: lists, ranges, steps, `*`, month
/// and weekday names, Sunday as 0 or 7, and day-of-month OR day-of-week when
/// both are restricted.
#[derive(Clone, PartialEq, Eq)]
pub struct Schedule {
    text: String,
    minutes: u64,
    hours: u64,
    days_of_month: u64,
    months: u64,
    days_of_week: u64,
    /// The day-of-month field starts with `*` (Vixie cron's rule for "any").
    dom_any: bool,
    /// The day-of-week field starts with `*`.
    dow_any: bool,
}

struct Field {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
}

const MINUTE: Field = Field {
    name: "minute",
    min: 0,
    max: 59,
    names: &[],
};
const HOUR: Field = Field {
    name: "hour",
    min: 0,
    max: 23,
    names: &[],
};
const DAY_OF_MONTH: Field = Field {
    name: "day-of-month",
    min: 1,
    max: 31,
    names: &[],
};
const MONTH: Field = Field {
    name: "month",
    min: 1,
    max: 12,
    names: &[
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ],
};
// 7 is Sunday too; it is folded onto 0 after parsing.
const DAY_OF_WEEK: Field = Field {
    name: "day-of-week",
    min: 0,
    max: 7,
    names: &["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
};

impl Field {
    fn value(&self, text: &str) -> Result<u32, String> {
        let lower = text.to_ascii_lowercase();
        if let Some(index) = self.names.iter().position(|n| *n == lower) {
            return Ok(index as u32 + self.min);
        }
        let n: u32 = text
            .parse()
            .map_err(|_| format!("{} \"{text}\" is not a number", self.name))?;
        if n < self.min || n > self.max {
            return Err(format!(
                "{} {n} is out of range {}-{}",
                self.name, self.min, self.max
            ));
        }
        Ok(n)
    }

    fn parse(&self, text: &str) -> Result<u64, String> {
        let mut bits = 0u64;
        for item in text.split(',') {
            let (range, step) = match item.split_once('/') {
                Some((range, step)) => {
                    let step: u32 = step.parse().ok().filter(|s| *s > 0).ok_or_else(|| {
                        format!("{} step \"{step}\" is not a positive number", self.name)
                    })?;
                    (range, Some(step))
                }
                None => (item, None),
            };
            let (first, last) = if range == "*" {
                (self.min, self.max)
            } else if let Some((a, b)) = range.split_once('-') {
                let (a, b) = (self.value(a)?, self.value(b)?);
                if a > b {
                    return Err(format!("{} range {range} runs backwards", self.name));
                }
                (a, b)
            } else if range.is_empty() {
                return Err(format!("{} has an empty list item", self.name));
            } else {
                let a = self.value(range)?;
                // "a/step" means from a to the end, as in Vixie cron.
                (a, if step.is_some() { self.max } else { a })
            };
            let step = step.unwrap_or(1);
            let mut v = first;
            while v <= last {
                bits |= 1 << v;
                v += step;
            }
        }
        Ok(bits)
    }
}

fn has(bits: u64, n: u32) -> bool {
    bits & (1 << n) != 0
}

fn days_in_month(month: u32) -> u32 {
    // The most a month can have: February counts its leap day.
    [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month as usize - 1]
}

impl FromStr for Schedule {
    type Err = CronError;

    fn from_str(text: &str) -> Result<Self, CronError> {
        let error = |problem: String| CronError {
            value: text.to_string(),
            problem,
        };
        let fields: Vec<&str> = text.split_whitespace().collect();
        if fields.len() != 5 {
            let plural = if fields.len() == 1 { "" } else { "s" };
            return Err(error(format!(
                "has {} field{plural}, not 5; {CRON_HINT}",
                fields.len()
            )));
        }
        let minutes = MINUTE.parse(fields[0]).map_err(error)?;
        let hours = HOUR.parse(fields[1]).map_err(error)?;
        let days_of_month = DAY_OF_MONTH.parse(fields[2]).map_err(error)?;
        let months = MONTH.parse(fields[3]).map_err(error)?;
        let mut days_of_week = DAY_OF_WEEK.parse(fields[4]).map_err(error)?;
        if has(days_of_week, 7) {
            days_of_week = (days_of_week & !(1 << 7)) | 1;
        }
        let schedule = Schedule {
            text: fields.join(" "),
            minutes,
            hours,
            days_of_month,
            months,
            days_of_week,
            dom_any: fields[2].starts_with('*'),
            dow_any: fields[4].starts_with('*'),
        };
        // Only a day-of-month restriction alone can name days no month has
        // ("0 0 30 2 *"); refuse it here so next_run always finds a time.
        if !schedule.dom_any && schedule.dow_any {
            let possible = (1..=12)
                .filter(|m| has(months, *m))
                .any(|m| (1..=days_in_month(m)).any(|d| has(days_of_month, d)));
            if !possible {
                return Err(error(
                    "names no day that exists in its months; it would never run".to_string(),
                ));
            }
        }
        Ok(schedule)
    }
}

impl Schedule {
    /// The schedule as written (fields separated by single spaces).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    fn day_matches(&self, date: NaiveDate) -> bool {
        if !has(self.months, date.month()) {
            return false;
        }
        let dom = has(self.days_of_month, date.day());
        let dow = has(self.days_of_week, date.weekday().num_days_from_sunday());
        if self.dom_any || self.dow_any {
            dom && dow
        } else {
            dom || dow
        }
    }

    /// The first time strictly after `after` at which this schedule fires in
    /// time zone `zone`.
    ///
    /// Local times are matched in `zone`. A local time that does not exist
    /// (skipped by a spring-forward change) fires at the first valid instant
    /// after it; several skipped times fire once, together. A local time that
    /// happens twice (fall-back) fires once, at its first occurrence.
    pub fn next_run(&self, zone: Zone, after: DateTime<Utc>) -> DateTime<Utc> {
        let zone = zone.tz();
        // Start a day early: a skipped time late on the previous local day
        // can map to an instant after `after`.
        let start = after.with_timezone(&zone).date_naive() - Duration::days(1);
        // Parsing refused schedules that never fire; the rarest that do
        // (29 February alone) fire within 8 years (2100 is not a leap year).
        for date in start.iter_days().take(366 * 9) {
            if !self.day_matches(date) {
                continue;
            }
            for hour in (0..24).filter(|h| has(self.hours, *h)) {
                for minute in (0..60).filter(|m| has(self.minutes, *m)) {
                    let local = date
                        .and_hms_opt(hour, minute, 0)
                        .expect("valid hour and minute");
                    let instant = first_instant_at_or_after(zone, local);
                    if instant > after {
                        return instant;
                    }
                }
            }
        }
        unreachable!(
            "schedule \"{}\" was validated to fire within 9 years",
            self.text
        )
    }
}

/// The instant local time `local` names in `zone`: its first occurrence if it
/// happens twice, the end of the gap if it is skipped.
fn first_instant_at_or_after(zone: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    let mut probe = local;
    // Gaps are at most a day long (Samoa skipped 30 December 2011).
    for _ in 0..=(2 * 24 * 60) {
        match zone.from_local_datetime(&probe) {
            LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => return t.with_timezone(&Utc),
            LocalResult::None => probe += Duration::minutes(1),
        }
    }
    unreachable!("no time zone skips more than a day")
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Schedule({:?})", self.text)
    }
}

impl Serialize for Schedule {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Schedule {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}
