//! The clock every hubkeep timestamp and decision reads.
//!
//! `HUBKEEP_CLOCK=<RFC 3339 instant>[@<rate>]` starts the clock at that
//! instant and runs it `rate` times faster than real time, so schedules,
//! windows and retention can be rehearsed without waiting for real nights:
//! a daemon at rate 3600 lives a night in ten seconds. Unset, it is the real
//! clock.

use std::sync::OnceLock;
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};

/// The environment variable that sets the clock.
pub const CLOCK_VAR: &str = "HUBKEEP_CLOCK";

/// The longest real time one sleep waits before reading the clock again, so
/// a changed wall clock (NTP, suspend) is noticed.
const MAX_REAL_NAP: std::time::Duration = std::time::Duration::from_secs(60);

/// A `HUBKEEP_CLOCK` value that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{CLOCK_VAR}=\"{value}\" is not valid: {problem}; write an RFC 3339 instant and an optional rate, e.g. \"2026-03-29T00:00:00Z\" or \"2026-03-29T00:00:00Z@3600\", or unset it for the real clock")]
pub struct ClockError {
    /// The value as given.
    pub value: String,
    /// What is wrong with it.
    pub problem: String,
}

/// Where time comes from: the real clock, or a simulated one that started at
/// a chosen instant and runs at a chosen rate.
#[derive(Debug, Clone)]
pub struct Clock {
    simulated: Option<Simulated>,
}

#[derive(Debug, Clone)]
struct Simulated {
    start: DateTime<Utc>,
    started: Instant,
    rate: f64,
}

impl Clock {
    /// The real clock.
    pub fn real() -> Clock {
        Clock { simulated: None }
    }

    /// A clock that reads `start` now and advances `rate` times real time.
    pub fn simulated(start: DateTime<Utc>, rate: f64) -> Result<Clock, ClockError> {
        if !(rate.is_finite() && rate > 0.0) {
            return Err(ClockError {
                value: format!("{}@{rate}", start.to_rfc3339()),
                problem: format!("rate {rate} is not a positive number"),
            });
        }
        Ok(Clock {
            simulated: Some(Simulated {
                start,
                started: Instant::now(),
                rate,
            }),
        })
    }

    /// The clock `HUBKEEP_CLOCK` asks for; the real clock when it is unset
    /// or empty.
    pub fn from_env() -> Result<Clock, ClockError> {
        match std::env::var(CLOCK_VAR) {
            Ok(value) if !value.is_empty() => Clock::parse(&value),
            Ok(_) | Err(std::env::VarError::NotPresent) => Ok(Clock::real()),
            Err(std::env::VarError::NotUnicode(value)) => Err(ClockError {
                value: value.to_string_lossy().into_owned(),
                problem: "it is not UTF-8".to_string(),
            }),
        }
    }

    /// Parses a `HUBKEEP_CLOCK` value: `<RFC 3339 instant>[@<rate>]`.
    pub fn parse(value: &str) -> Result<Clock, ClockError> {
        let error = |problem: String| ClockError {
            value: value.to_string(),
            problem,
        };
        let (instant, rate) = match value.split_once('@') {
            Some((instant, rate)) => (instant, Some(rate)),
            None => (value, None),
        };
        let start = DateTime::parse_from_rfc3339(instant)
            .map_err(|e| error(format!("\"{instant}\" is not an RFC 3339 instant ({e})")))?
            .with_timezone(&Utc);
        let rate = match rate {
            None => 1.0,
            Some(text) => text
                .parse::<f64>()
                .ok()
                .filter(|r| r.is_finite() && *r > 0.0)
                .ok_or_else(|| error(format!("rate \"{text}\" is not a positive number")))?,
        };
        Clock::simulated(start, rate).map_err(|e| error(e.problem))
    }

    /// Whether this is a simulated clock (`HUBKEEP_CLOCK` was set).
    pub fn is_simulated(&self) -> bool {
        self.simulated.is_some()
    }

    /// How many times faster than real time this clock runs (1 for the real clock).
    pub fn rate(&self) -> f64 {
        self.simulated.as_ref().map_or(1.0, |s| s.rate)
    }

    /// The current instant on this clock.
    pub fn now(&self) -> DateTime<Utc> {
        match &self.simulated {
            None => Utc::now(),
            Some(s) => {
                let real = s.started.elapsed().as_secs_f64() * s.rate;
                s.start + Duration::microseconds((real * 1e6) as i64)
            }
        }
    }

    /// The real time that `duration` of this clock's time takes (it divided
    /// by the rate); for callers that sleep on their own, e.g. in async code.
    pub fn real_duration(&self, duration: Duration) -> std::time::Duration {
        let clock = duration.to_std().unwrap_or_default();
        clock.div_f64(self.rate())
    }

    /// Sleeps for `duration` of this clock's time.
    pub fn sleep(&self, duration: Duration) {
        self.sleep_until(self.now() + duration);
    }

    /// Sleeps until this clock reads `instant` or later; returns at once if it
    /// already does.
    pub fn sleep_until(&self, instant: DateTime<Utc>) {
        loop {
            let left = instant - self.now();
            if left <= Duration::zero() {
                return;
            }
            std::thread::sleep(
                self.real_duration(left)
                    .clamp(std::time::Duration::from_micros(1), MAX_REAL_NAP),
            );
        }
    }
}

static CLOCK: OnceLock<Clock> = OnceLock::new();

/// Sets the process-wide clock from `HUBKEEP_CLOCK`; a binary calls this at
/// startup so a bad value is an error there, not later.
pub fn init_from_env() -> Result<&'static Clock, ClockError> {
    let clock = Clock::from_env()?;
    Ok(CLOCK.get_or_init(|| clock))
}

/// The process-wide clock: the one [`init_from_env`] set, or else read from
/// `HUBKEEP_CLOCK` on first use.
///
/// # Panics
/// On first use, if `HUBKEEP_CLOCK` is invalid and [`init_from_env`] was not
/// called to report it.
pub fn clock() -> &'static Clock {
    CLOCK.get_or_init(|| Clock::from_env().unwrap_or_else(|e| panic!("error: {e}")))
}
