//! Durations as plans write them: a whole number of minutes, hours or days.

use std::fmt;
use std::str::FromStr;

use chrono::Duration;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// How a duration is written, for error messages.
pub const SPAN_HINT: &str = "write a whole number with m, h or d, e.g. \"90m\", \"8h\" or \"2d\"";

/// The longest span a plan accepts: ten years is already no schedule.
const MAX_MINUTES: u64 = 10 * 366 * 24 * 60;

/// A duration that does not parse, with what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("duration \"{value}\": {problem}")]
pub struct SpanError {
    /// The duration as written.
    pub value: String,
    /// What is wrong with it.
    pub problem: String,
}

/// The unit a span was written in; kept so a span prints as it was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Minutes,
    Hours,
    Days,
}

impl Unit {
    fn minutes(self) -> u64 {
        match self {
            Unit::Minutes => 1,
            Unit::Hours => 60,
            Unit::Days => 24 * 60,
        }
    }

    fn suffix(self) -> char {
        match self {
            Unit::Minutes => 'm',
            Unit::Hours => 'h',
            Unit::Days => 'd',
        }
    }
}

/// A positive duration written `<n>m`, `<n>h` or `<n>d` (a start window, an
/// RPO). Prints back the way it was written.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Span {
    count: u64,
    unit: Unit,
}

impl Span {
    /// `n` minutes.
    pub const fn minutes(n: u64) -> Span {
        Span {
            count: n,
            unit: Unit::Minutes,
        }
    }

    /// `n` hours.
    pub const fn hours(n: u64) -> Span {
        Span {
            count: n,
            unit: Unit::Hours,
        }
    }

    /// `n` days.
    pub const fn days(n: u64) -> Span {
        Span {
            count: n,
            unit: Unit::Days,
        }
    }

    /// The span as a chrono duration.
    pub fn duration(self) -> Duration {
        Duration::minutes((self.count * self.unit.minutes()) as i64)
    }
}

impl FromStr for Span {
    type Err = SpanError;

    fn from_str(text: &str) -> Result<Span, SpanError> {
        let error = |problem: &str| SpanError {
            value: text.to_string(),
            problem: format!("{problem}; {SPAN_HINT}"),
        };
        let unit = match text.chars().last() {
            Some('m') => Unit::Minutes,
            Some('h') => Unit::Hours,
            Some('d') => Unit::Days,
            _ => return Err(error("does not end in a unit")),
        };
        let digits = &text[..text.len() - 1];
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(error("is not a whole number followed by its unit"));
        }
        let count: u64 = digits.parse().map_err(|_| error("is too long"))?;
        if count == 0 {
            return Err(error("is zero"));
        }
        if count.saturating_mul(unit.minutes()) > MAX_MINUTES {
            return Err(error("is longer than ten years"));
        }
        Ok(Span { count, unit })
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.count, self.unit.suffix())
    }
}

impl fmt::Debug for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Span({self})")
    }
}

impl Serialize for Span {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Span {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}
