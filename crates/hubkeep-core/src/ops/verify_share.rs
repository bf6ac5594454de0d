//! The nightly verify share: each run reads and decrypts the data of the
//! packs `hubkeep_plan::verify::tonight_share` picks, so that every pack of
//! a vault is read within 30 days, and records when each pack was read.
//! A bad pack marks the recovery points that lose data through it, and the
//! run fails after recording what it found.

use crate::catalog::Kind;
use crate::error::{Error, ErrorKind, Result};
use crate::records::{RecoveryPoint, VerifyFailure};
use crate::{now, Hubkeep};
use chrono::{DateTime, Duration, Utc};
use hubkeep_plan::verify::{tonight_share, verified_through, PackReading};
use hubkeep_plan::VerifyWhen;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A vault's verify coverage, kept in the catalog under the vault's name.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Coverage {
    /// When a verify share last read each pack without a problem.
    pub packs: BTreeMap<String, DateTime<Utc>>,
    /// The oldest pack read time when the last share ran; null while some
    /// pack was never read.
    pub verified_through: Option<DateTime<Utc>>,
    /// The last share that ran.
    pub last_verify: Option<LastVerify>,
}

/// `vault show`'s `last_verify`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LastVerify {
    /// When it ran.
    pub at: DateTime<Utc>,
    /// How many packs it read.
    pub packs_read: usize,
    /// How many bytes of chunk data it read.
    pub bytes_read: u64,
    /// Whether it found no problem.
    pub ok: bool,
    /// What it found, one line per damaged object.
    pub errors: Vec<String>,
}

/// What `vault verify NAME --share` prints.
#[derive(Debug, Clone, Serialize)]
pub struct ShareReport {
    /// The vault.
    pub vault: String,
    /// The job that ran it.
    pub job_id: String,
    /// The packs read tonight.
    pub packs_read: Vec<String>,
    /// How many packs the vault has.
    pub packs_total: usize,
    /// How many bytes of chunk data were read.
    pub bytes_read: u64,
    /// Whether every pack read was sound.
    pub ok: bool,
    /// What was found, one line per damaged object.
    pub errors: Vec<String>,
    /// Recovery points marked because their data is in a bad pack.
    pub marked_recovery_points: Vec<String>,
    /// The oldest pack read time now; null while some pack was never read.
    pub verified_through: Option<DateTime<Utc>>,
}

impl Hubkeep {
    /// `vault verify NAME --share`: tonight's share of the vault's packs.
    pub fn vault_verify_share(&self, vault: &str, job_id: Option<String>) -> Result<ShareReport> {
        self.vault_record(vault)?;
        let opened = self.open_vault(vault)?;
        let job = self.start_job("verify-share", None, Some(vault), job_id.as_deref())?;
        let at = now();
        let result = self
            .run_share(vault, &opened, at)
            .map(|report| ShareReport {
                job_id: job.id.clone(),
                ..report
            });
        let bytes = crate::jobs::Bytes {
            read: result.as_ref().map(|r| r.bytes_read).unwrap_or(0),
            ..Default::default()
        };
        let outcome = match result {
            Ok(report) if report.ok => Ok(report),
            Ok(report) => {
                let detail = serde_json::to_value(&report)?;
                Err(Error::new(
                    ErrorKind::VerifyFailed,
                    format!(
                        "vault {vault} failed tonight's verify share: {}; marked recovery point(s) {}",
                        report.errors.first().cloned().unwrap_or_default(),
                        if report.marked_recovery_points.is_empty() { "none".to_string() } else { report.marked_recovery_points.join(", ") }
                    ),
                )
                .with_detail(detail))
            }
            Err(e) => Err(e),
        };
        self.finish_job(&job, bytes, outcome.as_ref().err())?;
        if let Err(e) = &outcome {
            if e.kind() == ErrorKind::VerifyFailed {
                self.emit_verify_failed(vault, e);
            }
        }
        outcome
    }

    /// The verify coverage of `vault`: empty before its first share.
    pub fn verify_coverage(&self, vault: &str) -> Result<Coverage> {
        Ok(self
            .home
            .catalog
            .get(Kind::VerifyCoverage, vault)?
            .unwrap_or_default())
    }

    fn run_share(
        &self,
        vault: &str,
        opened: &hubkeep_vault::Vault,
        at: DateTime<Utc>,
    ) -> Result<ShareReport> {
        let mut coverage = self.verify_coverage(vault)?;
        let packs = opened.pack_ids()?;
        // Packs gc removed are no longer owed a read.
        coverage.packs.retain(|p, _| packs.contains(p));
        let readings: Vec<PackReading> = packs
            .iter()
            .map(|p| PackReading {
                pack: p.clone(),
                last_read: coverage.packs.get(p).copied(),
            })
            .collect();
        let share: BTreeSet<String> = tonight_share(&readings, at, self.next_verify_at(vault, at)?)
            .into_iter()
            .collect();
        let report = opened.verify_packs(&share)?;
        let bad: BTreeSet<String> = report
            .problems
            .iter()
            .filter_map(|p| p.object.strip_prefix("packs/"))
            .map(str::to_string)
            .collect();
        for pack in share.iter().filter(|p| !bad.contains(*p)) {
            coverage.packs.insert(pack.clone(), at);
        }
        let errors: Vec<String> = report
            .problems
            .iter()
            .map(crate::error::describe_problem)
            .collect();
        let marked = self.mark_recovery_points(vault, &report.problems, at)?;
        let readings: Vec<PackReading> = packs
            .iter()
            .map(|p| PackReading {
                pack: p.clone(),
                last_read: coverage.packs.get(p).copied(),
            })
            .collect();
        coverage.verified_through = verified_through(&readings);
        coverage.last_verify = Some(LastVerify {
            at,
            packs_read: share.len(),
            bytes_read: report.bytes_read,
            ok: report.ok(),
            errors: errors.clone(),
        });
        self.home
            .catalog
            .put(Kind::VerifyCoverage, vault, &coverage)?;
        Ok(ShareReport {
            vault: vault.to_string(),
            job_id: String::new(),
            packs_read: share.into_iter().collect(),
            packs_total: packs.len(),
            bytes_read: report.bytes_read,
            ok: report.ok(),
            errors,
            marked_recovery_points: marked,
            verified_through: coverage.verified_through,
        })
    }

    /// When the next share of `vault` runs: by the plan of the stack whose
    /// daily vault it is; nightly when no plan says.
    fn next_verify_at(&self, vault: &str, at: DateTime<Utc>) -> Result<DateTime<Utc>> {
        let nightly = at + Duration::days(1);
        let Some(stack) = self
            .stacks()?
            .into_iter()
            .find(|s| crate::names::daily_vault_name(&s.name) == vault)
        else {
            return Ok(nightly);
        };
        let plan = self.plan(&stack.name)?;
        Ok(match &plan.verify {
            VerifyWhen::AfterBackup => plan.next_backup_at(at).unwrap_or(nightly),
            VerifyWhen::On(schedule) => schedule.next_run(plan.timezone, at),
            VerifyWhen::Off => nightly,
        })
    }

    /// Marks the recovery points of `vault` that `problems` say lose data.
    fn mark_recovery_points(
        &self,
        vault: &str,
        problems: &[hubkeep_vault::Problem],
        at: DateTime<Utc>,
    ) -> Result<Vec<String>> {
        let mut marked = vec![];
        for rp in self.recovery_points(Some(vault))? {
            let Some(snapshot) = rp.vault_snapshot_id.as_deref() else {
                continue;
            };
            let Some(problem) = problems
                .iter()
                .find(|p| p.snapshots.iter().any(|s| s == snapshot))
            else {
                continue;
            };
            let failure = VerifyFailure {
                at,
                object: problem.object.clone(),
                message: problem.message.clone(),
            };
            self.home.catalog.update::<RecoveryPoint, _>(
                Kind::RecoveryPoint,
                rp.recovery_point_arn.as_str(),
                |r| {
                    r.verify_failure = Some(failure);
                    Ok(())
                },
            )?;
            marked.push(rp.recovery_point_arn.to_string());
        }
        Ok(marked)
    }
}
