//! Stack commands: create (fresh, or restored from the five restore
//! parameters), adopt, update (settings, password, offline/online), delete.

use crate::ids::StackName;
use crate::ops::plans::StackView;
use crate::records::BackupSet;
use crate::states::BackupSetStatus;
use crate::now;
use crate::error::{Error, ErrorKind, Result};
use crate::records::{Hooks, Profile, RestoreParams, Stack};
use crate::restore::{RestoreRequest, Restored};
use crate::stacks::{AdoptRequest, CreateRequest, StackCreated};
use crate::Hubkeep;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The five `--restore-*` parameters as given: any of them makes a
/// creation a restore, which then needs all five.
#[derive(Debug, Clone, Default)]
pub struct RestoreArgs {
    /// `--restore-stack-name`.
    pub stack_name: Option<String>,
    /// `--restore-db-snapshot`.
    pub db_snapshot: Option<crate::ids::DbSnapshotId>,
    /// `--restore-db-secret-arn`.
    pub db_secret_arn: Option<String>,
    /// `--restore-vault`.
    pub vault: Option<crate::ids::VaultName>,
    /// `--restore-recovery-point`.
    pub recovery_point: Option<String>,
}

impl RestoreArgs {
    /// Whether any restore parameter was given.
    pub fn any(&self) -> bool {
        self.stack_name.is_some()
            || self.db_snapshot.is_some()
            || self.db_secret_arn.is_some()
            || self.vault.is_some()
            || self.recovery_point.is_some()
    }

    /// `None` when none was given; all five, or a refusal naming the
    /// missing by their command-line flags.
    pub fn complete(&self) -> Result<Option<RestoreParams>> {
        self.complete_named(["--restore-stack-name", "--restore-db-snapshot", "--restore-db-secret-arn", "--restore-vault", "--restore-recovery-point"])
    }

    /// `complete`, naming the five as the caller's front door spells them
    /// (stack name, snapshot, secret ARN, vault, recovery point).
    pub fn complete_named(&self, names: [&str; 5]) -> Result<Option<RestoreParams>> {
        if !self.any() {
            return Ok(None);
        }
        let missing: Vec<&str> = [
            (names[0], self.stack_name.is_none()),
            (names[1], self.db_snapshot.is_none()),
            (names[2], self.db_secret_arn.is_none()),
            (names[3], self.vault.is_none()),
            (names[4], self.recovery_point.is_none()),
        ]
        .into_iter()
        .filter(|(_, m)| *m)
        .map(|(n, _)| n)
        .collect();
        if !missing.is_empty() {
            return Err(Error::invalid(format!(
                "a restore needs all five restore parameters; missing {}",
                missing.join(", ")
            )));
        }
        Ok(Some(RestoreParams {
            stack_name: crate::ids::StackName::parse(self.stack_name.as_deref().unwrap_or_default())?,
            db_snapshot_id: self.db_snapshot.clone().expect("checked above: none of the five is missing"),
            db_secret_arn: self.db_secret_arn.clone().unwrap_or_default(),
            vault: self.vault.clone().expect("checked above: none of the five is missing"),
            recovery_point_arn: crate::ids::RecoveryPointArn::parse(self.recovery_point.as_deref().unwrap_or_default())?,
        }))
    }
}

/// `stack create NAME …`.
pub struct StackCreate {
    /// The new stack's name.
    pub name: StackName,
    /// Its domain.
    pub domain: Option<String>,
    /// Its region; the home's default when `None`.
    pub region: Option<String>,
    /// The app version it runs.
    pub app_version: Option<String>,
    /// Its profile.
    pub profile: Profile,
    /// Restore parameters, when it is made from a backup.
    pub restore: RestoreArgs,
    /// With restore parameters: restore even when `app_version` is older than the backup's.
    pub force_version: bool,
    /// With restore parameters: keep the stored URLs of the backup's domain.
    pub keep_urls: bool,
}

/// What `stack create` prints: a fresh stack, or a restored one.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum StackMade {
    /// Made fresh.
    Created(StackCreated),
    /// Restored from a backup.
    Restored(Restored),
}

/// `stack adopt NAME --database-url URL --storage DIR …`.
pub struct StackAdopt {
    /// The stack's name.
    pub name: StackName,
    /// The existing database's URL.
    pub database_url: String,
    /// A file holding its password (instead of the URL).
    pub database_password_file: Option<PathBuf>,
    /// The existing file store.
    pub storage: PathBuf,
    /// Its region.
    pub region: Option<String>,
    /// Its domain.
    pub domain: Option<String>,
    /// Its profile.
    pub profile: Profile,
    /// `NAME=VALUE` keymaster parameters.
    pub params: Vec<String>,
}

/// `stack update NAME …`.
#[derive(Default)]
pub struct StackUpdate {
    /// The stack.
    pub name: String,
    /// Take it offline.
    pub offline: bool,
    /// Where the app sends visitors while offline.
    pub redirect_url: Option<String>,
    /// Bring it back online.
    pub online: bool,
    /// The app version it now runs.
    pub app_version: Option<String>,
    /// `NAME=VALUE` keymaster parameters.
    pub params: Vec<String>,
    /// The hook run when it goes offline.
    pub offline_hook: Option<String>,
    /// The hook run when it comes online.
    pub online_hook: Option<String>,
    /// A file holding the database's new password.
    pub database_password_file: Option<PathBuf>,
    /// Restore parameters: always refused here.
    pub restore: RestoreArgs,
}

/// What `stack delete` prints.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StackDeleted {
    /// The deleted stack.
    pub name: String,
    /// Always `DELETE_COMPLETE`.
    pub status: &'static str,
}

/// The restore a `stack create` with all five restore parameters asks for.
fn restore_request(req: &StackCreate) -> Result<Option<RestoreRequest>> {
    req.restore
        .complete()?
        .map(|params| {
            Ok(RestoreRequest {
                name: crate::ids::StackName::parse(&req.name)?,
                domain: req.domain.clone(),
                region: req.region.clone(),
                app_version: req.app_version.clone(),
                force_version: req.force_version,
                keep_urls: req.keep_urls,
                params,
            })
        })
        .transpose()
}

/// `NAME=VALUE` pairs of `--param`.
pub(crate) fn parse_params(params: &[String]) -> Result<BTreeMap<String, String>> {
    params
        .iter()
        .map(|p| {
            p.split_once('=')
                .map(|(k, v)| (k.trim().to_string(), v.to_string()))
                .filter(|(k, _)| !k.is_empty())
                .ok_or_else(|| {
                    Error::invalid(format!(
                        "`--param {}` must be NAME=VALUE, e.g. --param phoenix-key=…",
                        p.split('=').next().unwrap_or("")
                    ))
                })
        })
        .collect()
}

impl Hubkeep {
    /// `stack create`: fresh, or from the five restore parameters.
    pub fn stack_create(&self, req: StackCreate) -> Result<StackMade> {
        if let Some(restore) = restore_request(&req)? {
            return Ok(StackMade::Restored(self.restore_stack(&restore)?));
        }
        if req.force_version || req.keep_urls {
            return Err(Error::invalid(format!(
                "--force-version and --keep-urls apply only to a restore; give all five --restore-… parameters to restore stack {}, or leave them out",
                req.name
            )));
        }
        let created = self.create_stack(&CreateRequest {
            name: req.name,
            domain: req.domain,
            region: req.region,
            app_version: req.app_version,
            profile: req.profile,
        })?;
        self.create_plan(&created.stack.name)?;
        let vault = &created.daily_backup_vault.name;
        self.note(&format!("the recovery key of vault {vault} is printed once: keep it offline (`hubkeep vault recovery-kit {vault}` shows what to keep)"));
        Ok(StackMade::Created(created))
    }

    /// Every refusal of `stack create --restore-…`, checked without
    /// creating anything (for `--no-wait`, which only a restore takes).
    pub fn stack_create_check(&self, req: &StackCreate) -> Result<()> {
        let Some(restore) = restore_request(req)? else {
            return Err(Error::invalid(format!(
                "--no-wait applies to a restore (the five --restore-… parameters); stack {} is created in the foreground: leave --no-wait out",
                req.name
            )));
        };
        self.plan_restore(crate::RestoreSource::Params(restore)).map(|_| ())
    }

    /// `stack adopt`.
    pub fn stack_adopt(&self, req: StackAdopt) -> Result<StackCreated> {
        let params = parse_params(&req.params)?;
        let database_url = self
            .connection(
                &req.database_url,
                "--database-url",
                req.database_password_file.as_deref(),
            )?
            .url_with_password();
        let adopted = self.adopt_stack(&AdoptRequest {
            name: req.name,
            database_url,
            storage: req.storage,
            region: req.region,
            domain: req.domain,
            profile: req.profile,
            params,
        })?;
        self.create_plan(&adopted.stack.name)?;
        for w in &adopted.warnings {
            self.note(&format!("warning: {w}"));
        }
        Ok(adopted)
    }

    /// `stack update`: settings first, then offline or online under the
    /// stack's lock (never beside a backup of the same stack).
    pub fn stack_update(&self, req: StackUpdate) -> Result<Stack> {
        let name = &req.name;
        if req.restore.any() {
            return Err(Error::new(
                ErrorKind::RestoreOnUpdate,
                format!("restore parameters cannot be given to `stack update`: updating {name} from a backup would replace its data; restore into a new stack instead (`hubkeep restore NEW --backup ID` or `hubkeep stack create NEW --restore-…`)"),
            ));
        }
        let params = parse_params(&req.params)?;
        let hooks = (req.offline_hook.is_some() || req.online_hook.is_some()).then(|| Hooks {
            offline: req.offline_hook.clone(),
            online: req.online_hook.clone(),
        });
        if let Some(file) = &req.database_password_file {
            self.set_database_password(name, file)?;
        }
        let mut stack =
            self.update_stack_settings(name, req.app_version.clone(), hooks, &params)?;
        if req.offline || req.online {
            let _lock = self.lock_stack(
                name,
                if req.offline {
                    "stack update --offline"
                } else {
                    "stack update --online"
                },
            )?;
            stack = if req.offline {
                self.take_offline(name, req.redirect_url.clone(), None)?
            } else {
                self.bring_online(name)?
            };
        }
        Ok(stack)
    }

    /// `stack delete NAME --yes`: without the confirmation nothing happens.
    pub fn stack_delete(&self, name: &str, confirmed: bool) -> Result<StackDeleted> {
        if !confirmed {
            return Err(Error::invalid(format!(
                "deleting stack {name} removes its database and file store; add --yes to confirm (its keys, database secret, snapshots and recovery points are kept)"
            )));
        }
        let s = self.delete_stack(name)?;
        self.delete_plan(&s.name)?;
        Ok(StackDeleted {
            name: s.name.into(),
            status: "DELETE_COMPLETE",
        })
    }

    /// `stack show NAME`.
    pub fn stack_show(&self, name: &str) -> Result<StackView> {
        let stack = self.stack(name)?;
        let plan = self.plan(&stack.name)?;
        let sets: Vec<BackupSet> = self
            .backup_sets()?
            .into_iter()
            .filter(|s| s.stack_name == stack.name && s.status == BackupSetStatus::Available)
            .collect();
        Ok(StackView {
            last_backup_at: sets.iter().map(|s| s.finished_at).max(),
            last_verified_at: sets.iter().filter_map(|s| s.verified_at).max(),
            next_backup_at: plan.next_backup_at(now()),
            rpo_breached: self.check_rpo_of(&stack)?.breached,
            stack,
        })
    }
}
