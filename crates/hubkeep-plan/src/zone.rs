//! Time zones by IANA name.

use std::fmt;
use std::str::FromStr;

use chrono_tz::Tz;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What is wrong with a name that is not a time zone, and what to write.
pub(crate) const ZONE_PROBLEM: &str = "is not an IANA time zone name; write one such as \"UTC\", \"Europe/Berlin\" or \"America/New_York\" (names are case-sensitive)";

/// A time zone name that is not in the IANA database.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("time zone \"{0}\" {ZONE_PROBLEM}")]
pub struct ZoneError(pub String);

/// An IANA time zone (`UTC`, `Europe/Berlin`), in which a plan's schedule
/// fires and its retention buckets days, weeks, months and years.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Zone(Tz);

impl Zone {
    /// Coordinated Universal Time, the plans' default.
    pub const UTC: Zone = Zone(Tz::UTC);

    /// The chrono-tz zone, for converting instants to local time.
    pub fn tz(self) -> Tz {
        self.0
    }
}

impl FromStr for Zone {
    type Err = ZoneError;

    fn from_str(name: &str) -> Result<Zone, ZoneError> {
        name.parse::<Tz>()
            .map(Zone)
            .map_err(|_| ZoneError(name.to_string()))
    }
}

impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.name())
    }
}

impl fmt::Debug for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Zone({})", self.0.name())
    }
}

impl Serialize for Zone {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.name())
    }
}

impl<'de> Deserialize<'de> for Zone {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}
