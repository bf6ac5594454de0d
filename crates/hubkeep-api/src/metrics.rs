//! `GET /metrics`: API.md's metrics in the Prometheus text format, computed
//! from the catalog at each scrape (nothing is counted in memory, so the
//! numbers include the work of CLI processes and survive restarts).

use hubkeep_core::ops::drills::DrillStatus;
use hubkeep_core::records::{BackupSet, Job};
use hubkeep_core::states::{BackupSetStatus, JobState};
use hubkeep_core::{Hubkeep, Result};
use std::collections::BTreeMap;
use std::fmt::Write;

/// One metric family being written: HELP and TYPE once, then samples.
struct Family<'a> {
    out: &'a mut String,
    name: &'static str,
}

impl<'a> Family<'a> {
    fn gauge(out: &'a mut String, name: &'static str, help: &str) -> Family<'a> {
        Family::new(out, name, help, "gauge")
    }

    fn new(out: &'a mut String, name: &'static str, help: &str, kind: &str) -> Family<'a> {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        Family { out, name }
    }

    fn sample(&mut self, labels: &[(&str, &str)], value: f64) {
        let labels: Vec<String> = labels
            .iter()
            .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
            .collect();
        let labels = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{}}}", labels.join(","))
        };
        let _ = writeln!(self.out, "{}{labels} {value}", self.name);
    }
}

/// A label value as the text format wants it.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The newest backup job of a stack (`backup` and `db-snapshot` jobs
/// both count: a backup's database part is a `db-snapshot` job).
fn newest_backup_job<'j>(jobs: &'j [Job], stack: &str) -> Option<&'j Job> {
    jobs.iter()
        .filter(|j| {
            j.stack.as_deref() == Some(stack) && j.kind == "db-snapshot" && j.finished_at.is_some()
        })
        .max_by_key(|j| j.finished_at)
}

/// The whole `/metrics` document.
pub fn render(hk: &Hubkeep) -> Result<String> {
    let stacks = hk.stacks()?;
    let sets = hk.backup_sets()?;
    let jobs = hk.jobs(None, None)?;
    let good = |stack: &str| -> Vec<&BackupSet> {
        sets.iter()
            .filter(|s| s.stack_name == stack && s.status == BackupSetStatus::Available)
            .collect()
    };
    let mut out = String::new();

    let mut f = Family::gauge(
        &mut out,
        "hubkeep_backup_last_success_timestamp_seconds",
        "When the stack's newest available backup set finished (Unix time).",
    );
    for s in &stacks {
        if let Some(newest) = good(&s.name).iter().map(|b| b.finished_at).max() {
            f.sample(&[("stack", &s.name)], newest.timestamp() as f64);
        }
    }
    let mut f = Family::gauge(
        &mut out,
        "hubkeep_backup_last_duration_seconds",
        "How long the stack's newest available backup set took.",
    );
    for s in &stacks {
        if let Some(b) = good(&s.name).into_iter().max_by_key(|b| b.finished_at) {
            f.sample(
                &[("stack", &s.name)],
                (b.finished_at - b.started_at).num_milliseconds() as f64 / 1000.0,
            );
        }
    }
    let mut f = Family::gauge(
        &mut out,
        "hubkeep_backup_last_status",
        "1 if the stack's newest backup job completed, 0 if it failed.",
    );
    for s in &stacks {
        if let Some(j) = newest_backup_job(&jobs, &s.name) {
            f.sample(
                &[("stack", &s.name)],
                if j.state == JobState::Completed {
                    1.0
                } else {
                    0.0
                },
            );
        }
    }
    let mut f = Family::gauge(
        &mut out,
        "hubkeep_rpo_breached",
        "1 if the stack has no available backup set younger than its plan's RPO.",
    );
    // The same check as the daemon's and `stack show`'s (it notifies a new
    // breach once, whoever looks first).
    for status in hk.check_rpo()? {
        f.sample(&[("stack", &status.stack)], if status.breached { 1.0 } else { 0.0 });
    }
    let drills = hk.drill_list(None)?;
    let newest_passed = |stack: &str| {
        drills
            .iter()
            .filter(|d| d.stack == stack && d.status == DrillStatus::Passed)
            .max_by_key(|d| d.finished_at)
    };
    let mut f = Family::gauge(
        &mut out,
        "hubkeep_drill_last_success_timestamp_seconds",
        "When the stack's newest passed restore drill finished (Unix time).",
    );
    for s in &stacks {
        if let Some(at) = newest_passed(&s.name).and_then(|d| d.finished_at) {
            f.sample(&[("stack", &s.name)], at.timestamp() as f64);
        }
    }
    let mut f = Family::gauge(
        &mut out,
        "hubkeep_drill_last_rto_seconds",
        "How long the stack's newest passed drill took to restore and check (its RTO).",
    );
    for s in &stacks {
        if let Some(rto) = newest_passed(&s.name).and_then(|d| d.rto_seconds) {
            f.sample(&[("stack", &s.name)], rto);
        }
    }
    let mut stored: BTreeMap<String, u64> = hk.vaults()?.into_iter().map(|v| (v.name.into(), 0)).collect();
    for rp in hk.recovery_points(None)? {
        *stored.entry(rp.vault.into()).or_default() += rp.bytes_stored;
    }
    for snap in hk.db_snapshots(None)? {
        *stored.entry(snap.vault.into()).or_default() += snap.bytes_stored;
    }
    let mut f = Family::gauge(
        &mut out,
        "hubkeep_vault_stored_bytes",
        "Bytes the vault's recovery points and database snapshots added to its store.",
    );
    for (vault, bytes) in &stored {
        f.sample(&[("vault", vault)], *bytes as f64);
    }
    let mut counts: BTreeMap<(String, String), u64> = BTreeMap::new();
    for j in &jobs {
        *counts
            .entry((j.kind.clone(), j.state.as_str().to_string()))
            .or_default() += 1;
    }
    let mut f = Family::gauge(
        &mut out,
        "hubkeep_jobs_total",
        "Jobs in the catalog by kind and state.",
    );
    for ((kind, state), n) in &counts {
        f.sample(&[("kind", kind), ("state", state)], *n as f64);
    }
    Ok(out)
}
