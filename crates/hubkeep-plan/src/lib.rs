//! hubkeep's schedules and policies: the pure decisions of unattended
//! operation, over plain data.
//!
//! - [`Clock`]: where every timestamp comes from; `HUBKEEP_CLOCK` makes it a
//!   simulated clock that starts at a chosen instant and runs faster, so a
//!   month of nights can be rehearsed in minutes.
//! - [`Plan`]: a stack's plan with its defaults, and [`PlanChange`], the
//!   options of `plan set`, checked with errors that name the bad value.
//! - [`Schedule::next_run`]: five-field cron in an IANA time zone, with
//!   fixed rules for daylight-saving changes.
//! - [`missed::decide`]: run, expire or wait, for a plan's backup now.
//! - [`retention::decide`]: GFS retention of backup sets, with the rule that
//!   decided each set's fate and the sets that are never expired.
//! - [`verify::tonight_share`]: the rotating share of packs verify reads so
//!   every pack is read within 30 days.
//! - [`rpo_breached`]: whether a plan's recovery point objective is missed.
//!
//! It is not a scheduler: it reads no catalog, runs no job and does no I/O
//! except reading the clock. The daemon asks it what to do and does it.
//!
//! ```
//! use hubkeep_plan::{Plan, PlanChange};
//! let plan = Plan::new("hub1").apply(&PlanChange {
//!     timezone: Some("Europe/Berlin".into()),
//!     ..PlanChange::default()
//! }).unwrap();
//! let after = "2026-03-28T12:00:00Z".parse().unwrap();
//! // 10:00 in Berlin on the day summer time starts is 08:00 UTC.
//! assert_eq!(plan.schedule.next_run(plan.timezone, after).to_rfc3339(), "2026-03-29T08:00:00+00:00");
//! ```
#![deny(missing_docs)]

pub mod clock;
pub mod missed;
pub mod retention;
pub mod verify;

mod cron;
mod plan;
mod rpo;
mod span;
mod zone;

pub use clock::{clock, Clock, ClockError};
pub use cron::{CronError, Schedule};
pub use plan::{KeepRules, PingUrl, Plan, PlanChange, PlanError, Toggle, VerifyWhen};
pub use rpo::rpo_breached;
pub use span::{Span, SpanError};
pub use zone::{Zone, ZoneError};
