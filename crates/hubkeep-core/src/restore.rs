//! Whole-hub restore: always into a NEW stack, same region only, keys looked
//! up by the source stack's name, all or nothing. Also disaster recovery:
//! attaching a vault on a fresh home rebuilds the catalog from the vault.

use crate::catalog::Kind;
use crate::error::{Error, ErrorKind, Result};
use crate::records::{BackupSet, DbSnapshot, KeyBundle, Origin, Profile, RecoveryPoint, RestoreParams, Stack};
use crate::secrets::SecretKind;
use crate::names::keymaster;
use crate::stacks::{database_name, outputs_for, Made, FRESH_KEYS, RESTORED_KEYS};
use crate::states::{BackupSetStatus, JobState, RecoveryPointStatus, StackStatus};
use crate::{now, Hubkeep};
use hubkeep_vault::Vault;
use std::collections::BTreeMap;

/// What a whole-hub restore prints.
#[derive(Debug, serde::Serialize)]
pub struct Restored {
    /// The new stack.
    #[serde(flatten)]
    pub stack: Stack,
    /// Its daily vault.
    pub daily_backup_vault: crate::vaults::CreatedVault,
    /// The Hubs check of the restored hub.
    pub hubs_check: Option<hubkeep_hubs::CheckReport>,
    /// The stored URLs moved from the backup's domain to the new one
    /// (`null` when the domain is the same, or with `--keep-urls`).
    pub rehomed: Option<Rehomed>,
    /// What the operator should know.
    pub warnings: Vec<String>,
}

/// A restored hub moved from its backup's domain to a new one.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Rehomed {
    /// The backup's domain.
    pub from: String,
    /// The new stack's domain.
    pub to: String,
    /// The columns whose URLs were rewritten, with their row counts.
    pub rewritten: Vec<hubkeep_hubs::UrlRewrite>,
}

/// A restore from the five restore parameters.
#[derive(Debug, Clone)]
pub struct RestoreRequest {
    /// The new stack's name.
    pub name: crate::ids::StackName,
    /// Its domain.
    pub domain: Option<String>,
    /// Its region; the home's default when `None`.
    pub region: Option<String>,
    /// The app version it runs.
    pub app_version: Option<String>,
    /// Restore even when `app_version` is older than the backup's.
    pub force_version: bool,
    /// With a `domain` other than the backup's, leave the stored URLs that
    /// carry the backup's domain as they are.
    pub keep_urls: bool,
    /// The five parameters.
    pub params: RestoreParams,
}


/// Everything a restore needs, checked before anything is created.
struct Checked {
    region: crate::home::Region,
    snapshot: DbSnapshot,
    recovery_point: RecoveryPoint,
    source_secret: serde_json::Value,
    source_keys: BTreeMap<String, String>,
    profile: Profile,
}

/// Where a whole-hub restore takes its five parameters from.
#[derive(Debug, Clone)]
pub enum RestoreSource {
    /// `restore NEW --backup ID`: a backup set, whose key bundle (read from
    /// its vault) supplies the source's secrets this home lacks.
    Backup {
        /// The new stack's name.
        name: crate::ids::StackName,
        /// The backup set.
        backup_id: String,
        /// The new stack's domain; the source's when `None`.
        domain: Option<String>,
        /// The region; the backup's when `None`.
        region: Option<String>,
        /// Replace this home's secrets that differ from the key bundle.
        force: bool,
        /// The new stack's app version; the backup's when `None`.
        app_version: Option<String>,
        /// Restore even when `app_version` is older than the backup's.
        force_version: bool,
        /// Leave the URLs carrying the backup's domain as they are.
        keep_urls: bool,
    },
    /// `stack create NEW --restore-…`: the five parameters, secrets from
    /// this home's store.
    Params(RestoreRequest),
}

/// A secret the restore writes from a backup's key bundle, and what it
/// replaces (`--force`).
struct SecretWrite {
    name: String,
    kind: SecretKind,
    arn: Option<String>,
    stack: String,
    value: String,
    replaces: Option<String>,
}

/// A restore decided before anything is written: every refusal has passed,
/// and the key bundle's secrets are held here, in memory, until `run_restore`
/// writes them as part of what a failed restore undoes.
pub struct RestorePlan {
    request: RestoreRequest,
    checked: Checked,
    secret_writes: Vec<SecretWrite>,
    /// The backup's domain and the new one, when stored URLs move.
    rehome: Option<(String, String)>,
}

impl RestorePlan {
    /// The new stack's name.
    pub fn stack_name(&self) -> &str {
        &self.request.name
    }
    /// The five restore parameters.
    pub fn params(&self) -> &RestoreParams {
        &self.request.params
    }
}

/// The source's secrets as the restore will see them: the key bundle's
/// where there is one, over this home's store.
#[derive(Default)]
struct Overlay {
    keymaster: BTreeMap<String, String>,
    db_secret: Option<(String, String)>,
}

impl Hubkeep {
    /// `restore NEW --backup ID`: a new stack from a backup set.
    pub fn restore_backup(&self, name: &str, backup_id: &str, domain: Option<String>, region: Option<String>, force: bool) -> Result<Restored> {
        let plan = self.plan_restore(RestoreSource::Backup { name: crate::ids::StackName::parse(name)?, backup_id: backup_id.into(), domain, region, force, app_version: None, force_version: false, keep_urls: false })?;
        self.run_restore(plan)
    }

    /// `stack create NEW --restore-*`.
    pub fn restore_stack(&self, req: &RestoreRequest) -> Result<Restored> {
        let plan = self.plan_restore(RestoreSource::Params(req.clone()))?;
        self.run_restore(plan)
    }

    /// Every refusal of a restore, before anything is written: the new
    /// name, the backup, the key bundle's conflicts with this home, region,
    /// snapshot, recovery point, secrets and keys.
    pub fn plan_restore(&self, source: RestoreSource) -> Result<RestorePlan> {
        let (request, overlay, secret_writes, rehome) = match source {
            RestoreSource::Params(req) => {
                // The five parameters of a backup set are that set: its version
                // guard and re-homing apply as to `restore --backup`.
                let rehome = match self.backup_set_of(&req.params)? {
                    Some(set) => self.restore_guards(&set, req.app_version.as_deref(), req.force_version, req.domain.as_deref(), req.keep_urls)?,
                    None => None,
                };
                (req, Overlay::default(), vec![], rehome)
            }
            RestoreSource::Backup { name, backup_id, domain, region, force, app_version, force_version, keep_urls } => {
                let set = self.whole_backup_set(&backup_id)?;
                self.ensure_new_stack(&name)?;
                let rehome = self.restore_guards(&set, app_version.as_deref(), force_version, domain.as_deref(), keep_urls)?;
                let bundle = self.backup_key_bundle(&set)?;
                let writes = self.plan_key_bundle(&set, &bundle, force)?;
                let overlay = Overlay { keymaster: bundle.keymaster.clone(), db_secret: Some((set.db_secret_arn.clone(), bundle.db_secret_value.to_string())) };
                let params = RestoreParams {
                    stack_name: set.stack_name.clone(),
                    db_snapshot_id: set.db_snapshot_id.clone(),
                    db_secret_arn: set.db_secret_arn.clone(),
                    vault: set.vault.clone(),
                    recovery_point_arn: set.recovery_point_arn.clone(),
                };
                let req = RestoreRequest {
                    name,
                    domain: domain.or(set.domain.clone()),
                    region: region.or(Some(set.region.clone())),
                    app_version: app_version.or(set.app_version.clone()),
                    force_version,
                    keep_urls,
                    params,
                };
                (req, overlay, writes, rehome)
            }
        };
        let checked = self.check_restore(&request, &overlay)?;
        Ok(RestorePlan { request, checked, secret_writes, rehome })
    }

    /// The backup set whose parts are these five parameters, if any.
    fn backup_set_of(&self, p: &RestoreParams) -> Result<Option<BackupSet>> {
        Ok(self.backup_sets()?.into_iter().rev().find(|s| {
            s.status != BackupSetStatus::Expired && s.stack_name == p.stack_name && s.db_snapshot_id == p.db_snapshot_id && s.recovery_point_arn == p.recovery_point_arn
        }))
    }

    /// The refusals and re-homing every restore of `set` gets, however its
    /// parts are named: the version guard (`app_version` older than the
    /// set's, unless `force_version`), then the domains the stored URLs
    /// move between (`None` for the same domain, or with `keep_urls`).
    fn restore_guards(&self, set: &BackupSet, app_version: Option<&str>, force_version: bool, domain: Option<&str>, keep_urls: bool) -> Result<Option<(String, String)>> {
        crate::version_guard::check_app_version(set, app_version, force_version)?;
        Ok(match (&set.domain, domain) {
            (Some(old), Some(new)) if old != new && !keep_urls => Some((old.clone(), new.to_string())),
            _ => None,
        })
    }

    /// The secrets of a backup's key bundle this home lacks (or, with
    /// `force`, holds with another value): refused, changing nothing, when
    /// they differ and `force` is not given.
    fn plan_key_bundle(&self, set: &BackupSet, bundle: &KeyBundle, force: bool) -> Result<Vec<SecretWrite>> {
        let secrets = self.home.secrets();
        let mut wanted: Vec<(String, SecretKind, Option<String>, String)> = bundle
            .keymaster
            .iter()
            .map(|(k, v)| (keymaster(&set.stack_name, k), SecretKind::Param, None, v.clone()))
            .collect();
        wanted.push((bundle.db_secret_name.clone(), SecretKind::Secret, Some(set.db_secret_arn.clone()), bundle.db_secret_value.to_string()));
        let mut conflicts = vec![];
        let mut writes = vec![];
        for (name, kind, arn, value) in wanted {
            let existing = secrets.find(arn.as_deref().unwrap_or(&name))?;
            let replaces = match existing {
                None => None,
                Some(meta) => {
                    let current = if meta.deletion_date.is_some() { None } else { secrets.value(&meta.name)? };
                    let same = match (&current, &arn) {
                        (Some(c), Some(_)) => serde_json::from_str::<serde_json::Value>(c).ok() == serde_json::from_str::<serde_json::Value>(&value).ok(),
                        (Some(c), None) => *c == value,
                        (None, _) => false,
                    };
                    if same {
                        continue;
                    }
                    conflicts.push(meta.name.clone());
                    Some(meta.name)
                }
            };
            writes.push(SecretWrite { name, kind, arn, stack: set.stack_name.to_string(), value, replaces });
        }
        if !conflicts.is_empty() && !force {
            return Err(Error::new(ErrorKind::SecretConflict, format!(
                "this home already holds {} with a value different from the backup's key bundle; nothing was changed. Re-run with --force to replace them with the backup's values",
                conflicts.join(", ")
            )));
        }
        Ok(writes)
    }

    /// Write the key bundle's secrets, noting each (and the row it
    /// replaces) in `made`, so that a failed restore puts the store back.
    fn write_key_bundle(&self, writes: &[SecretWrite], made: &mut Made) -> Result<()> {
        let secrets = self.home.secrets();
        for w in writes {
            let replaced = match &w.replaces {
                Some(old) => self.home.catalog.secret_row(old)?.map(|(doc, sealed)| (old.clone(), doc, sealed)),
                None => None,
            };
            made.secret_rows.push((w.name.clone(), replaced));
            if let Some(old) = &w.replaces {
                self.note(&format!("replacing {old} with the backup's value (--force)"));
                secrets.remove_now(old)?;
            }
            secrets.put(&w.name, w.kind.clone(), w.arn.clone(), Some(&w.stack), &w.value)?;
            if w.replaces.is_none() {
                self.note(&format!("restored {} from the backup's key bundle", w.name));
            }
        }
        Ok(())
    }

    /// Refusals first: nothing is created unless every input is usable.
    fn check_restore(&self, req: &RestoreRequest, overlay: &Overlay) -> Result<Checked> {
        self.ensure_new_stack(&req.name)?;
        let region = self.region_or_default(req.region.as_deref())?;
        self.check_provider(&region)?;
        let p = &req.params;
        let snapshot = self.db_snapshot(&p.db_snapshot_id)?;
        if snapshot.region != region.name {
            return Err(Error::new(ErrorKind::WrongRegion, format!(
                "database snapshot {} is in region {}, not {}: restores work only within one region; copy the snapshot's vault to {} (`hubkeep vault attach … --region {}`) and restore there",
                snapshot.id, snapshot.region, region.name, region.name, region.name
            )));
        }
        let arn = p.recovery_point_arn.parts();
        if arn.region != region.name {
            return Err(Error::new(ErrorKind::WrongRegion, format!(
                "recovery point {} is in region {}, not {}: restores work only within one region; copy its vault to {} first",
                p.recovery_point_arn, arn.region, region.name, region.name
            )));
        }
        if arn.vault != p.vault {
            return Err(Error::invalid(format!("recovery point {} is in vault {}, not {}", p.recovery_point_arn, arn.vault, p.vault)));
        }
        self.vault_in_region(&p.vault, &region.name)?;
        let snapshot = self.available_snapshot(&snapshot.id)?;
        let recovery_point = self.available_recovery_point(&p.recovery_point_arn)?;
        if let Some(job) = recovery_point.job_id.as_deref().and_then(|j| self.job(j).ok()) {
            if job.state != JobState::Completed {
                return Err(Error::new(ErrorKind::JobNotCompleted, format!("the backup job {} of recovery point {} is {}, not COMPLETED", job.job_id, p.recovery_point_arn, job.state)));
            }
        }
        let secrets = self.home.secrets();
        let secret = match &overlay.db_secret {
            Some((arn, value)) if *arn == p.db_secret_arn => value.clone(),
            _ => secrets.get(&p.db_secret_arn).map_err(|e| e.context(format!("the source database secret {} is required", p.db_secret_arn)))?.1,
        };
        let source_secret: serde_json::Value = serde_json::from_str(&secret)?;
        let source_stack = self.home.catalog.get::<Stack>(Kind::Stack, &p.stack_name)?;
        let profile = source_stack.as_ref().map(|s| s.profile).or_else(|| self.profile_from_backups(&p.stack_name)).unwrap_or(Profile::Hubs);
        let mut source_keys = BTreeMap::new();
        for key in RESTORED_KEYS {
            let name = keymaster(&p.stack_name, key);
            if let Some(value) = overlay.keymaster.get(key) {
                source_keys.insert(key.to_string(), value.clone());
                continue;
            }
            match secrets.find(&name)? {
                // `get` refuses a key scheduled for deletion, saying how to recover it.
                Some(_) => {
                    source_keys.insert(key.to_string(), secrets.get(&name)?.1);
                }
                None if profile == Profile::Hubs && key == "phoenix-key" => {
                    return Err(Error::new(ErrorKind::SecretNotFound, format!(
                        "the required parameter {name} is missing: without the source stack's phoenix-key its blobs cannot be decrypted; add it with `hubkeep stack adopt`'s --param or restore it from the backup's key bundle (`hubkeep restore NEW --backup ID`)"
                    )));
                }
                None => {}
            }
        }
        Ok(Checked { region, snapshot, recovery_point, source_secret, source_keys, profile })
    }

    fn profile_from_backups(&self, stack: &str) -> Option<Profile> {
        self.backup_sets().ok()?.into_iter().rev().find(|b| b.stack_name == stack).map(|b| b.profile)
    }

    /// Carry out a plan: the stack is claimed, the key bundle's secrets
    /// written, the database and files restored, the Hubs check run; a
    /// failure undoes all of it (secrets included) and leaves CREATE_FAILED.
    pub fn run_restore(&self, plan: RestorePlan) -> Result<Restored> {
        let RestorePlan { request, checked, secret_writes, rehome } = plan;
        let req = &request;
        let store = checked.region.storage_root.join(&req.name);
        self.check_file_store(Some(&req.name), &store, Some(&self.home.dir.join("storage").join(&req.name)))?;
        let _creation = self.begin_creation(&req.name, "restore")?;
        let mut stack = self.claim_stack(&req.name, &checked.region, req.domain.clone(), checked.profile, Origin::Restored, req.app_version.clone())?;
        stack.restored_from = Some(req.params.clone());
        self.save_stack(&stack)?;
        let job = self.start_job("stack-restore", Some(&stack.name), Some(&req.params.vault), None)?;
        self.job_resource(&job, &req.params.recovery_point_arn)?;
        let mut made = Made::default();
        let result = self.write_key_bundle(&secret_writes, &mut made).and_then(|()| self.build_restored_stack(stack, &checked, rehome.as_ref(), &mut made, &job));
        let bytes = crate::jobs::Bytes { read: checked.snapshot.size_bytes + checked.recovery_point.bytes, ..Default::default() };
        match result {
            Ok(r) => {
                self.finish_job(&job, bytes, None)?;
                Ok(r)
            }
            Err(e) => {
                let e = self.fail_creation(&req.name, &checked.region, made, e);
                self.finish_job(&job, bytes, Some(&e))?;
                Err(e.context(format!("restoring into stack {} failed and was rolled back; `hubkeep stack show {}` shows the reason", req.name, req.name)))
            }
        }
    }

    fn build_restored_stack(&self, mut stack: Stack, c: &Checked, rehome: Option<&(String, String)>, made: &mut Made, job: &crate::jobs::JobHandle) -> Result<Restored> {
        let dbname = database_name(&stack.name, stack.profile, &c.region);
        let user = c.source_secret.get("username").and_then(|v| v.as_str()).unwrap_or(crate::stacks::OWNER_ROLE).to_string();
        let password = c.source_secret.get("password").and_then(|v| v.as_str()).filter(|p| !p.is_empty()).map(str::to_string).unwrap_or_else(|| crate::secrets::generate(20));
        made.database = Some((dbname.clone(), user.clone()));
        let db = self.provision_database(&stack.name, &c.region, &dbname, &user, &password)?;
        self.note(&format!("restoring database snapshot {} into {}…", c.snapshot.id, dbname));
        let mut role_passwords = BTreeMap::new();
        role_passwords.insert(user.clone(), password.clone());
        self.restore_db_snapshot(&c.snapshot.id, &db.admin, role_passwords)?;
        let rehomed = match rehome {
            Some((from, to)) if stack.profile == Profile::Hubs => Some(self.rehome_urls(&db.admin, from, to)?),
            _ => None,
        };
        let storage = c.region.storage_root.join(&stack.name);
        if storage.exists() && std::fs::read_dir(&storage)?.next().is_some() {
            return Err(Error::conflict(format!("the file store {} already exists and is not empty; move it away or pick another stack name", storage.display())));
        }
        self.note_made_storage(&stack.name, &storage)?;
        made.storage = Some(storage.clone());
        self.note(&format!("restoring recovery point {} into {}…", c.recovery_point.recovery_point_arn, storage.display()));
        let vault = self.open_vault(&c.recovery_point.vault)?;
        vault.restore_dir(
            c.recovery_point.vault_snapshot_id.as_deref().unwrap_or_default(),
            &storage,
            &hubkeep_vault::RestoreOptions { skip_damaged: false, progress: self.job_progress(job, "files") },
        )?;
        let arn = self.put_database_secret(&stack.name, &c.region.name, &db.app, made)?;
        for (key, value) in &c.source_keys {
            let name = keymaster(&stack.name, key);
            self.home.secrets().put(&name, SecretKind::Param, None, Some(&stack.name), value)?;
            made.params.push(name);
        }
        for key in FRESH_KEYS.iter().chain(RESTORED_KEYS.iter()).filter(|k| !c.source_keys.contains_key(**k)) {
            let name = keymaster(&stack.name, key);
            self.home.secrets().put(&name, SecretKind::Param, None, Some(&stack.name), &crate::secrets::generate(32))?;
            made.params.push(name);
        }
        let vault = self.ensure_daily_vault(&stack.name, &c.region.name, made)?;
        stack.outputs = Some(outputs_for(&db.app, &dbname, &storage, &arn, &vault.name));
        let mut warnings = vec![];
        let hubs_check = if stack.profile == Profile::Hubs {
            let report = self.hubs_check(&stack, false)?;
            if !report.passed {
                // Blobs that do not decrypt mean data and keys do not belong
                // together: the restore is useless. Missing files are the
                // source's own drift, restored faithfully: a warning.
                if decrypt_failed(&report) {
                    return Err(Error::new(ErrorKind::HubsCheckFailed, format!(
                        "the Hubs check of the restored stack failed: {}; the keys do not match the data",
                        summarize_check(&report)
                    )));
                }
                let w = format!("the Hubs check found files missing, as they were in the backup: {}", summarize_check(&report));
                self.note(&format!("warning: {w}"));
                warnings.push(w);
            }
            Some(report)
        } else {
            warnings.push("profile generic: the Hubs check was skipped".to_string());
            None
        };
        stack.status = StackStatus::Online;
        stack.updated_at = now();
        self.save_stack(&stack)?;
        self.create_plan(&stack.name)?;
        Ok(Restored { stack, daily_backup_vault: vault, hubs_check, rehomed, warnings })
    }

    /// Move the restored database's stored URLs from `from` to `to` (before
    /// the hub goes ONLINE), saying what changed.
    fn rehome_urls(&self, db: &hubkeep_pg::ConnInfo, from: &str, to: &str) -> Result<Rehomed> {
        let rewritten = hubkeep_hubs::rehome_urls(&db.url_with_password(), from, to).map_err(|e| Error::new(ErrorKind::Hubs, e.to_string()))?;
        let rows: u64 = rewritten.iter().map(|r| r.rows).sum();
        self.note(&format!("re-homed {rows} row(s) of stored URLs from https://{from} to https://{to}"));
        Ok(Rehomed { from: from.to_string(), to: to.to_string(), rewritten })
    }

    /// The Hubs check over a stack's database, files and phoenix-key.
    pub fn hubs_check(&self, stack: &Stack, read_all: bool) -> Result<hubkeep_hubs::CheckReport> {
        let o = stack.outputs.as_ref().ok_or_else(|| Error::new(ErrorKind::StackState, format!("stack {} has no resources", stack.name)))?;
        let key = self.home.secrets().value(&keymaster(&stack.name, "phoenix-key"))?.ok_or_else(|| {
            Error::new(ErrorKind::SecretNotFound, format!("stack {} has no /keymaster/{}/phoenix-key: the Hubs check cannot decrypt blobs", stack.name, stack.name))
        })?;
        let url = self.admin_conn(stack)?.url_with_password();
        hubkeep_hubs::check_hub(&url, &o.storage_path, &key, read_all, 20).map_err(|e| Error::new(ErrorKind::HubsCheck, e.to_string()))
    }

    /// `vault attach`: open a vault with its recovery key and rebuild this
    /// home's view of its recovery points, snapshots and backup sets.
    /// Snapshots that are not hubkeep records, or cannot be decoded, are
    /// skipped and listed; recovery points whose tree does not read are
    /// UNVERIFIED. The catalog changes in one transaction: a failure (a store
    /// error, the catalog) leaves the home as it was, no vault, no records,
    /// no keys.
    pub fn attach_vault(&self, name: &str, location: &str, recovery_key: &str, region: Option<&str>) -> Result<VaultAttached> {
        crate::ids::check_vault_name(name)?;
        let probe = Vault::open(crate::vaults::open_store(location)?, recovery_key.trim())?;
        let failed = |e: hubkeep_vault::VaultError, doing: String| Error::from(e).context(format!("attaching vault {name} failed while {doing}; nothing was changed in this home"));
        // A damaged or foreign snapshot costs itself, not the whole rebuild;
        // a store that cannot be read stops the attach.
        let mut snapshots = vec![];
        let mut skipped = vec![];
        for id in probe.snapshot_ids().map_err(|e| failed(e, "listing its snapshots".into()))? {
            match probe.snapshot(&id) {
                Ok(info) => snapshots.push(info),
                Err(e) if is_damage(&e) => skipped.push(Skipped::new(&id, None, format!("its manifest cannot be read: {e}"))),
                Err(e) => return Err(failed(e, format!("reading snapshot {id}"))),
            }
        }
        let region = match region {
            Some(r) => self.home.region(r)?.name,
            None => snapshots
                .iter()
                .find_map(|s| s.meta.get("region").and_then(|r| r.as_str()))
                .map(str::to_string)
                .unwrap_or_else(|| self.home.default_region()),
        };
        let mut points = vec![];
        let mut snaps = vec![];
        let mut sets = vec![];
        for info in snapshots {
            let skip = |what: &str, e: &dyn std::fmt::Display| Skipped::new(&info.id, Some(&info.kind), format!("its meta is not a hubkeep {what} ({e})"));
            match info.kind.as_str() {
                RecoveryPoint::VAULT_KIND => match RecoveryPoint::from_vault(&info, &region, name) {
                    Ok(rp) => points.push(rp),
                    Err(e) => skipped.push(skip("recovery point", &e)),
                },
                DbSnapshot::VAULT_KIND => {
                    let mut meta = Vec::new();
                    let read = match probe.open_stream(&info.id, DbSnapshot::META_STREAM) {
                        Ok(mut r) => std::io::Read::read_to_end(&mut r, &mut meta).map_err(|e| e.to_string()),
                        Err(e) if is_damage(&e) => Err(e.to_string()),
                        Err(e) => return Err(failed(e, format!("reading snapshot {}", info.id))),
                    };
                    match read {
                        Ok(_) => match serde_json::from_slice::<serde_json::Value>(&meta) {
                            Ok(m) => match DbSnapshot::from_vault(&info, m, &region, name) {
                                Ok(s) => snaps.push(s),
                                Err(e) => skipped.push(skip("database snapshot", &e)),
                            },
                            Err(e) => skipped.push(skip(&format!("database snapshot: {} does not decode", DbSnapshot::META_STREAM), &e)),
                        },
                        Err(e) => skipped.push(Skipped::new(&info.id, Some(&info.kind), format!("its {} cannot be read: {e}", DbSnapshot::META_STREAM))),
                    }
                }
                BackupSet::VAULT_KIND => match BackupSet::from_vault(&info, &region, name) {
                    Ok(set) => sets.push(set),
                    Err(e) => skipped.push(skip("backup set", &e)),
                },
                other => skipped.push(Skipped::new(&info.id, Some(other), format!("kind `{other}` is not one hubkeep writes"))),
            }
        }
        // A recovery point is AVAILABLE once its tree was read and every
        // chunk it names is indexed in a pack that is there (no data read).
        let tree_ids: Vec<String> = points.iter().filter_map(|p| p.vault_snapshot_id.clone()).collect();
        let problems = match tree_ids.is_empty() {
            true => vec![],
            false => probe.verify(Some(&tree_ids), false).map_err(|e| failed(e, "reading the trees of its recovery points".into()))?.problems,
        };
        let unreadable: std::collections::BTreeSet<&str> = problems.iter().flat_map(|p| p.snapshots.iter().map(String::as_str)).collect();
        let mut unverified = vec![];
        for rp in &mut points {
            if rp.vault_snapshot_id.as_deref().is_some_and(|id| unreadable.contains(id)) {
                rp.status = RecoveryPointStatus::Unverified;
                unverified.push(rp.recovery_point_arn.clone());
            } else {
                rp.status = RecoveryPointStatus::Available;
            }
        }
        // A set whose part is gone from the vault (deleted with --force on
        // the home that wrote it) comes back BROKEN, as it was there.
        for set in &mut sets {
            let mut missing = vec![];
            if !points.iter().any(|p| p.recovery_point_arn == set.recovery_point_arn) {
                missing.push(set.recovery_point_arn.to_string());
            }
            if !snaps.iter().any(|s| s.id == set.db_snapshot_id) && self.home.catalog.get::<DbSnapshot>(Kind::DbSnapshot, &set.db_snapshot_id)?.is_none() {
                missing.push(set.db_snapshot_id.to_string());
            }
            if !missing.is_empty() {
                set.status = BackupSetStatus::Broken;
                set.missing_parts = missing;
            }
        }
        for arn in &unverified {
            self.note(&format!("warning: recovery point {arn} is UNVERIFIED: its tree cannot be read completely; `hubkeep verify {arn}` names the damage, and makes it AVAILABLE once it passes"));
        }
        for s in &skipped {
            self.note(&format!("warning: snapshot {} of the vault is skipped: {}", s.id, s.reason));
        }
        self.home.catalog.transaction(|| {
            if self.home.region(&region).is_err() {
                self.ensure_region_for_vault(&region, location, name)?;
            }
            self.register_attached_vault(name, location, recovery_key, &region)?;
            for rp in &points {
                self.home.catalog.put(Kind::RecoveryPoint, &rp.recovery_point_arn, rp)?;
            }
            for s in &snaps {
                self.home.catalog.put(Kind::DbSnapshot, &s.id, s)?;
            }
            for set in &sets {
                self.home.catalog.put(Kind::BackupSet, &set.backup_id, set)?;
            }
            Ok(())
        })?;
        let record = self.vault_record(name)?;
        let damaged_snapshots = skipped.iter().filter(|s| s.kind.is_none()).map(|s| s.id.clone()).collect();
        Ok(VaultAttached {
            name: name.to_string(),
            region,
            location: record.location,
            recovery_points: points.len(),
            db_snapshots: snaps.len(),
            backup_sets: sets.len(),
            damaged_snapshots,
            skipped_snapshots: skipped,
            unverified_recovery_points: unverified,
        })
    }
}

impl Hubkeep {
    /// The named region, or a new embedded one whose vault root is the
    /// attached vault's parent location.
    fn ensure_region_for_vault(&self, region: &str, location: &str, vault: &str) -> Result<String> {
        if self.home.region(region).is_ok() {
            return Ok(region.to_string());
        }
        let root = location.strip_suffix(&format!("/{vault}")).unwrap_or(location).to_string();
        let r = crate::home::Region {
            name: region.to_string(),
            provider: crate::home::Provider::Embedded,
            storage_root: self.home.dir.join("storage"),
            vault_root: root,
            created_at: now(),
        };
        self.home.add_region(&r)?;
        self.note(&format!("created region {region} (embedded databases, file stores under {}) for the attached vault", r.storage_root.display()));
        Ok(region.to_string())
    }
}

/// What `vault attach` prints.
#[derive(Debug, serde::Serialize)]
pub struct VaultAttached {
    /// The vault's name in this home.
    pub name: String,
    /// Its region.
    pub region: String,
    /// Where it is.
    pub location: String,
    /// Recovery points found.
    pub recovery_points: usize,
    /// Database snapshots found.
    pub db_snapshots: usize,
    /// Backup sets found.
    pub backup_sets: usize,
    /// Snapshots whose manifest could not be read.
    pub damaged_snapshots: Vec<String>,
    /// Every snapshot left out, and why.
    pub skipped_snapshots: Vec<Skipped>,
    /// Recovery points whose tree did not read: UNVERIFIED until a verify passes.
    pub unverified_recovery_points: Vec<crate::ids::RecoveryPointArn>,
}

/// A vault snapshot `vault attach` left out, and why.
#[derive(Debug, serde::Serialize)]
pub struct Skipped {
    /// The vault snapshot's id.
    pub id: String,
    /// The snapshot's kind, when its manifest could be read.
    pub kind: Option<String>,
    /// Why it was left out.
    pub reason: String,
}

impl Skipped {
    fn new(id: &str, kind: Option<&str>, reason: String) -> Skipped {
        Skipped { id: id.to_string(), kind: kind.map(str::to_string), reason }
    }
}

/// Damage or foreign content in one snapshot (skipped by attach), as
/// opposed to a store or key that cannot be used (which stops it).
fn is_damage(e: &hubkeep_vault::VaultError) -> bool {
    !matches!(e.code(), "store" | "io" | "wrong_key" | "internal")
}


/// Some blob did not decrypt with the phoenix-key: data and keys do not
/// belong together.
pub(crate) fn decrypt_failed(report: &hubkeep_hubs::CheckReport) -> bool {
    report.categories.iter().any(|c| c.name.ends_with("decrypts with phoenix-key") && !c.problems.is_empty())
}

/// The check's problems in one line: each category with problems, its
/// count and first problem.
pub(crate) fn summarize_check(report: &hubkeep_hubs::CheckReport) -> String {
    let parts: Vec<String> = report
        .categories
        .iter()
        .filter_map(|c| c.problems.first().map(|first| format!("{}: {} problem(s), e.g. {first}", c.name, c.problems.len())))
        .collect();
    if parts.is_empty() { "see the report".into() } else { parts.join("; ") }
}

