//! `hubkeep import`: a backup hubkeep did not make, stored as a backup set
//! exactly like one `backup` makes (database snapshot, recovery point, key
//! bundle), marked `imported`, with the original backup's time. Two sources:
//!
//! - a folder of Hubs Community Edition's backup script
//!   (`data_backups/data_backup_<Date.now() ms>/` holding `pg_dump.sql`, a
//!   plain `pg_dump -c` of the whole database, and `reticulum_storage_data/`,
//!   a copy of Reticulum's `/storage`);
//! - a `pg_dump` (plain or `-Fc`) and a copy of the file store: the Hubs
//!   Cloud migration path.
//!
//! The dump is loaded into a temporary embedded PostgreSQL cluster, removed
//! on every exit path; the normal snapshot is taken from there. No keys are
//! in such a backup: the phoenix-key comes from `--param`. The source stack
//! need not exist in this home (an operator coming from CE has none): the
//! records go under its name, and a restore creates the new stack.

use crate::catalog::Kind;
use crate::dbsnap::SnapshotRequest;
use crate::error::{Error, ErrorKind, Result};
use crate::home::Region;
use crate::names::database_secret_name;
use crate::ids::{secret_arn, BackupSetId};
use crate::records::{
    BackupSet, Drift, ImportedFrom, KeyBundle, Origin, Outputs, Profile, SetOrigin, Stack,
};
use crate::secrets::SecretKind;
use crate::names::keymaster;
use crate::stacks::{Made, HUBS_DATABASE};
use crate::states::{BackupSetStatus, StackStatus};
use crate::vaults::CreatedVault;
use crate::{now, Hubkeep};
use chrono::{DateTime, TimeZone, Utc};
use hubkeep_pg::cluster::EmbeddedCluster;
use hubkeep_pg::{ConnInfo, DumpFormat};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The folder name prefix of the CE backup script.
const CE_PREFIX: &str = "data_backup_";
/// The CE script's database dump, in its folder.
const CE_DUMP: &str = "pg_dump.sql";
/// The CE script's copy of `/storage`, in its folder.
const CE_STORAGE: &str = "reticulum_storage_data";
/// Temporary clusters live beside the stacks' under this prefix (no stack
/// name starts with a dot), followed by the importing process's pid.
const TEMP_CLUSTER_PREFIX: &str = ".import-";

/// What to import.
#[derive(Debug, Clone)]
pub enum ImportSource {
    /// `import ce-backup DIR`: a `data_backup_<ms>` folder, or the
    /// `data_backups` folder holding them (the newest is taken).
    CeBackup {
        /// The folder.
        dir: PathBuf,
    },
    /// `import dump --database-dump FILE --storage DIR`.
    Dump {
        /// A plain or custom-format pg_dump.
        database_dump: PathBuf,
        /// A copy of the file store (`owned/`, `expiring/`, `cached/`).
        storage: PathBuf,
        /// When the dump was taken (RFC 3339); the file's mtime when `None`.
        taken_at: Option<String>,
    },
}

/// `hubkeep import …`.
#[derive(Debug, Clone)]
pub struct ImportRequest {
    /// What to import.
    pub source: ImportSource,
    /// The source stack's name: the records go under it (it need not exist).
    pub stack: crate::ids::StackName,
    /// `NAME=VALUE` keymaster parameters (phoenix-key is required).
    pub params: Vec<String>,
    /// `NAME=FILE` keymaster parameters read from a file's first line (`-`: stdin).
    pub param_files: Vec<String>,
    /// The vault; the stack's daily vault (made when missing) when `None`.
    pub vault: Option<crate::ids::VaultName>,
    /// The hub's domain in the backup, so a restore to another one re-homes its URLs.
    pub domain: Option<String>,
}

/// What `import` prints: the backup set, the Hubs check and the drift.
#[derive(Debug, Serialize)]
pub struct Imported {
    /// The new backup set.
    #[serde(flatten)]
    pub backup_set: BackupSet,
    /// The Hubs check of the imported database and files.
    pub hubs_check: hubkeep_hubs::CheckReport,
    /// Every owned file on either side of the drift (the set's `drift` counts them).
    pub drift_details: hubkeep_hubs::Drift,
    /// The vault the import made for the stack (its recovery key shown once), if it made one.
    pub created_vault: Option<CreatedVault>,
}

/// A backup found on disk: what to load and when it was taken.
struct Located {
    kind: &'static str,
    source: PathBuf,
    dump: PathBuf,
    storage: PathBuf,
    taken_at: DateTime<Utc>,
    taken_at_from: String,
}

/// A cluster that lives only while the import runs: stopped and removed
/// when dropped, on every exit path, and by `remove_temp_clusters` when a
/// signal ends the run.
struct TempCluster {
    dir: PathBuf,
    cluster: Option<EmbeddedCluster>,
    password: String,
}

/// The directories of this process's temporary clusters.
static TEMP_CLUSTERS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

impl TempCluster {
    /// Noted before anything is made in `dir`.
    fn new(dir: PathBuf, password: String) -> TempCluster {
        TEMP_CLUSTERS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(dir.clone());
        TempCluster {
            dir,
            cluster: None,
            password,
        }
    }

    fn conn(&self, dbname: &str) -> ConnInfo {
        self.cluster
            .as_ref()
            .expect("held until dropped")
            .superuser(&self.password, dbname)
    }
}

impl Drop for TempCluster {
    fn drop(&mut self) {
        // Removed under the lock: a signal's cleanup (on its own thread)
        // then waits for this removal to finish instead of ending the
        // process halfway through it.
        let mut clusters = TEMP_CLUSTERS.lock().unwrap_or_else(|e| e.into_inner());
        let removed = remove_cluster(&self.dir);
        clusters.retain(|d| *d != self.dir);
        drop(clusters);
        if let Err(e) = removed {
            eprintln!(
                "warning: the temporary import cluster {} could not be removed ({e}); remove it by hand",
                self.dir.display()
            );
        }
    }
}

/// Stops the cluster in `dir`, if one was made there, and removes `dir`.
fn remove_cluster(dir: &Path) -> std::result::Result<(), String> {
    if dir.join("data").exists() {
        EmbeddedCluster::open(dir)
            .and_then(|c| c.stop())
            .map_err(|e| e.to_string())?;
    }
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.to_string()),
        _ => Ok(()),
    }
}

/// Called when a signal ends this process: its imports' temporary
/// clusters are stopped and removed, so no postmaster outlives the run.
pub(crate) fn remove_temp_clusters() {
    // Held until every cluster is gone (see `TempCluster::drop`); the
    // process exits right after.
    let mut clusters = TEMP_CLUSTERS.lock().unwrap_or_else(|e| e.into_inner());
    for dir in clusters.drain(..) {
        let _ = remove_cluster(&dir);
    }
}

impl Hubkeep {
    /// `import ce-backup` / `import dump`: the backup as a backup set, or
    /// an error with nothing left behind in the vault, catalog or secrets.
    pub fn import_backup(&self, req: &ImportRequest) -> Result<Imported> {
        let found = self.locate(&req.source)?;
        let keys = self.import_keys(req)?;
        if !keys.contains_key("phoenix-key") {
            return Err(Error::invalid(format!(
                "the import needs the hub's phoenix-key (Reticulum's secret_key_base, which the backup does not hold): add --param-file phoenix-key=FILE (or --param phoenix-key=VALUE); it is stored as /keymaster/{}/phoenix-key",
                req.stack
            )));
        }
        let existing = self.home.catalog.get::<Stack>(Kind::Stack, &req.stack)?;
        let region = match &existing {
            Some(s) => self.home.region(&s.region)?,
            None => self.region_or_default(None)?,
        };
        self.check_provider(&region)?;
        let storage = self.check_file_store(None, &found.storage, None)?;
        check_storage_layout(&storage)?;
        let format = hubkeep_pg::dump_format(&found.dump)?;
        let vault = match (&req.vault, &existing) {
            (Some(v), _) => Some(v.clone()),
            (None, Some(s)) => s.outputs.as_ref().map(|o| o.daily_backup_vault.clone()),
            (None, None) => None,
        };
        if let Some(v) = &vault {
            self.vault_in_region(v, &region.name)?;
        }
        self.refuse_key_conflicts(&req.stack, &keys)?;
        let _lock = self.lock_stack(&req.stack, "import")?;
        let mut made = Made::default();
        let mut parts = Parts::default();
        match self.import_locked(
            req, &found, format, &storage, &region, vault, keys, &mut made, &mut parts,
        ) {
            Ok(imported) => Ok(imported),
            Err(e) => {
                let undone = parts
                    .undo(self)
                    .and_then(|()| self.undo(&req.stack, &region, made));
                match undone {
                    Ok(()) => Err(e.context("nothing was imported")),
                    Err(u) => Err(e.context(format!(
                        "the import was not completed, and removing what it wrote failed too ({u})"
                    ))),
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn import_locked(
        &self,
        req: &ImportRequest,
        found: &Located,
        format: DumpFormat,
        storage: &Path,
        region: &Region,
        vault: Option<crate::ids::VaultName>,
        keys: BTreeMap<String, String>,
        made: &mut Made,
        parts: &mut Parts,
    ) -> Result<Imported> {
        let temp = self.temp_cluster()?;
        let db = temp.conn(HUBS_DATABASE);
        hubkeep_pg::create_database(&temp.conn("postgres"), HUBS_DATABASE)?;
        let hubs = |e: hubkeep_hubs::HubsError| Error::new(ErrorKind::Hubs, e.to_string());
        hubkeep_hubs::create_cluster_roles(&db.url_with_password()).map_err(hubs)?;
        let roles = hubkeep_pg::dump_roles(&found.dump, format)?;
        hubkeep_pg::create_missing_roles(&db, &roles)?;
        let size = std::fs::metadata(&found.dump)?.len();
        self.note(&format!(
            "import: loading {} ({} dump, {size} bytes) into a temporary PostgreSQL cluster…",
            found.dump.display(),
            format_name(format)
        ));
        if let Some(p) = &self.progress {
            p.start(size);
        }
        let progress = self.progress.clone();
        let advance = move |n: u64| {
            if let Some(p) = &progress {
                p.advance(n);
            }
        };
        self.cancel.check("the import")?;
        hubkeep_pg::load_dump(&db, &found.dump, format, Some(&advance)).map_err(|e| {
            Error::from(e).context(format!(
                "loading the database dump {}",
                found.dump.display()
            ))
        })?;
        let owner = schema_owner(&db)?;

        let url = db.url_with_password();
        self.note(
            "import: comparing owned_files rows with the blobs (drift) and running the Hubs check…",
        );
        let drift = hubkeep_hubs::drift(&url, storage).map_err(hubs)?;
        let phoenix = &keys["phoenix-key"];
        let report =
            hubkeep_hubs::check_hub(&url, storage, phoenix, false, hubkeep_hubs::DEFAULT_SAMPLE)
                .map_err(hubs)?;
        if crate::restore::decrypt_failed(&report) {
            return Err(Error::new(ErrorKind::HubsCheckFailed, format!(
                "--param phoenix-key does not decrypt the backup's blobs ({}): give the phoenix-key (Reticulum's secret_key_base) of the hub that made this backup",
                crate::restore::summarize_check(&report)
            )));
        }
        let migration_level = hubkeep_pg::ecto_migration_level(&db, "ret0")?;

        let secrets = self.home.secrets();
        for (k, v) in &keys {
            let name = keymaster(&req.stack, k);
            if secrets.value(&name)?.is_none() {
                secrets.put(&name, SecretKind::Param, None, Some(&req.stack), v)?;
                made.params.push(name);
            }
        }
        let (vault, created_vault) = match vault {
            Some(v) => (v, None),
            None => {
                let v = self.ensure_daily_vault(&req.stack, &region.name, made)?;
                (v.name.clone(), v.recovery_key.is_some().then_some(v))
            }
        };
        let set_id = crate::ids::backup_set_id();
        let app = ConnInfo {
            user: owner,
            password: Some(crate::secrets::generate(20)),
            ..db.clone()
        };
        let secret_name = format!("{} (imported {set_id})", database_secret_name(&req.stack));
        let secret_value = crate::provider::secret_value(&app);
        let arn = secrets
            .put(
                &secret_name,
                SecretKind::Secret,
                Some(secret_arn(&region.name, &req.stack)),
                Some(&req.stack),
                &secret_value.to_string(),
            )?
            .arn
            .unwrap_or_else(|| secret_name.clone());
        made.secret = Some(secret_name.clone());

        let stack = Stack {
            name: req.stack.clone(),
            region: region.name.clone(),
            domain: req.domain.clone(),
            profile: Profile::Hubs,
            app_version: None,
            status: StackStatus::Online,
            status_reason: None,
            origin: Origin::Created,
            outputs: Some(Outputs {
                app_db: HUBS_DATABASE.to_string(),
                database_url: app.url_without_password(),
                storage_id: storage
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                storage_path: storage.to_path_buf(),
                database_secret_arn: arn.clone(),
                daily_backup_vault: vault.clone(),
            }),
            restored_from: None,
            offline: None,
            hooks: Default::default(),
            created_at: now(),
            updated_at: now(),
            made_storage: None,
            made_database: None,
        };
        self.note("import: taking the database snapshot…");
        let snap = self.snapshot_stack_database(
            &stack,
            Some(&db),
            &SnapshotRequest {
                stack: &stack.name,
                id: None,
                vault: Some(vault.clone()),
                automated: false,
                job_id: None,
            },
        )?;
        parts.snapshot = Some(snap.id.to_string());
        self.note("import: backing up the file store…");
        let files = self.backup_files(&stack, Some(&vault), None)?;
        parts.recovery_point = Some(files.recovery_point_arn.to_string());
        drop(temp);

        let key = self.home.fingerprint_key();
        let mut key_fingerprints: BTreeMap<String, String> = keys
            .iter()
            .map(|(k, v)| {
                (
                    keymaster(&stack.name, k),
                    crate::secrets::keyed_fingerprint(&key, v),
                )
            })
            .collect();
        key_fingerprints.insert(
            secret_name.clone(),
            crate::secrets::keyed_fingerprint(&key, &secret_value.to_string()),
        );
        let mut warnings = vec![];
        if !drift.rows_without_blob.is_empty() || !drift.blobs_without_row.is_empty() {
            let w = format!(
                "drift: {} owned_files row(s) without a blob, {} blob(s) without a row; the backup copied the files and dumped the database at different moments, with the hub online (see docs/operations.md, \"Coming from Community Edition or Hubs Cloud\")",
                drift.rows_without_blob.len(),
                drift.blobs_without_row.len()
            );
            self.note(&format!("warning: {w}"));
            warnings.push(w);
        }
        let examples = drift
            .rows_without_blob
            .iter()
            .chain(drift.blobs_without_row.iter())
            .take(5)
            .cloned()
            .collect();
        let mut set = BackupSet {
            backup_id: BackupSetId::new(&region.name, &vault, &set_id),
            stack_name: stack.name.clone(),
            db_snapshot_id: snap.id.clone(),
            db_secret_arn: arn,
            vault: vault.clone(),
            recovery_point_arn: files.recovery_point_arn.clone(),
            region: region.name.clone(),
            domain: req.domain.clone(),
            profile: Profile::Hubs,
            app_version: None,
            migration_level,
            offline: false,
            consistent: false,
            note: format!("imported ({}): the original backup was taken with the hub online, so its database and files are not from one instant", found.kind),
            key_fingerprints,
            drift: Some(Drift { rows_without_blob: drift.rows_without_blob.len(), blobs_without_row: drift.blobs_without_row.len(), examples }),
            warnings,
            started_at: found.taken_at,
            finished_at: found.taken_at,
            vault_snapshot_id: None,
            status: BackupSetStatus::Available,
            missing_parts: vec![],
            automated: false,
            verified_at: None,
            origin: SetOrigin::Imported,
            imported_from: Some(ImportedFrom {
                command: found.kind.to_string(),
                source: found.source.clone(),
                storage: storage.to_path_buf(),
                dump_format: format_name(format).to_string(),
                taken_at: found.taken_at,
                taken_at_from: found.taken_at_from.clone(),
            }),
        };
        let bundle = KeyBundle {
            keymaster: keys,
            db_secret_name: secret_name,
            db_secret_value: secret_value,
        };
        self.store_backup_set(&stack, &mut set, &bundle)?;
        if let Some(v) = &created_vault {
            self.note(&format!("the recovery key of vault {} is printed once: keep it offline (`hubkeep vault recovery-kit {}` shows what to keep)", v.name, v.name));
        }
        Ok(Imported {
            backup_set: set,
            hubs_check: report,
            drift_details: drift,
            created_vault,
        })
    }

    /// Where the backup's dump and files are, and when it was taken.
    fn locate(&self, source: &ImportSource) -> Result<Located> {
        match source {
            ImportSource::CeBackup { dir } => {
                let folder = self.ce_folder(dir)?;
                let folder = std::fs::canonicalize(&folder).unwrap_or(folder);
                let dump = folder.join(CE_DUMP);
                if !dump.is_file() {
                    return Err(Error::new(ErrorKind::NotFound, format!(
                        "{} has no {CE_DUMP}: it is not a complete Community Edition backup (the backup script writes the database dump after copying the files; did it stop early?); run the backup script again, or import a dump you have with `hubkeep import dump`",
                        folder.display()
                    )));
                }
                let storage = folder.join(CE_STORAGE);
                if !storage.is_dir() {
                    return Err(Error::new(ErrorKind::NotFound, format!(
                        "{} has no {CE_STORAGE}/ (the backup script's copy of Reticulum's /storage): it is not a complete Community Edition backup",
                        folder.display()
                    )));
                }
                let name = folder
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let taken_at = name
                    .strip_prefix(CE_PREFIX)
                    .and_then(|ms| ms.parse::<i64>().ok())
                    .and_then(|ms| Utc.timestamp_millis_opt(ms).single())
                    .ok_or_else(|| Error::invalid(format!(
                        "the folder name {name} does not end in the milliseconds the CE backup script writes (data_backup_<ms>); import it with `hubkeep import dump --database-dump {} --storage {} --taken-at TIME`",
                        dump.display(),
                        storage.display()
                    )))?;
                Ok(Located {
                    kind: "ce-backup",
                    source: folder,
                    dump,
                    storage,
                    taken_at,
                    taken_at_from: format!("the folder name {name}"),
                })
            }
            ImportSource::Dump {
                database_dump,
                storage,
                taken_at,
            } => {
                let meta = std::fs::metadata(database_dump).map_err(|e| {
                    Error::new(ErrorKind::NotFound, format!("the database dump {} cannot be read ({e}); give the file pg_dump wrote", database_dump.display()))
                })?;
                if !meta.is_file() {
                    return Err(Error::invalid(format!("the database dump {} is not a file; give a plain SQL dump or a custom-format one (pg_dump -Fc)", database_dump.display())));
                }
                if !storage.is_dir() {
                    return Err(Error::new(ErrorKind::NotFound, format!(
                        "the storage copy {} is not a directory; give the copy of Reticulum's /storage (the folder holding owned/, expiring/, cached/)",
                        storage.display()
                    )));
                }
                let (taken_at, from) = match taken_at {
                    Some(t) => (
                        DateTime::parse_from_rfc3339(t)
                            .map_err(|e| Error::invalid(format!("--taken-at {t} is not an RFC 3339 time ({e}), e.g. 2026-11-30T02:00:00Z")))?
                            .with_timezone(&Utc),
                        "--taken-at".to_string(),
                    ),
                    None => (DateTime::<Utc>::from(meta.modified()?), format!("the modification time of {}", database_dump.display())),
                };
                Ok(Located {
                    kind: "dump",
                    source: std::fs::canonicalize(database_dump)
                        .unwrap_or_else(|_| database_dump.clone()),
                    dump: database_dump.clone(),
                    storage: storage.clone(),
                    taken_at,
                    taken_at_from: from,
                })
            }
        }
    }

    /// `dir` itself when it is a `data_backup_<ms>` folder, else the newest
    /// such folder in it, as the CE restore script picks it (names sorted).
    fn ce_folder(&self, dir: &Path) -> Result<PathBuf> {
        if !dir.is_dir() {
            return Err(Error::new(ErrorKind::NotFound, format!(
                "the Community Edition backup folder {} does not exist or is not a directory; give data_backups/data_backup_<ms> (or data_backups/) as the backup script wrote it",
                dir.display()
            )));
        }
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.starts_with(CE_PREFIX) {
            return Ok(dir.to_path_buf());
        }
        let mut backups: Vec<String> = std::fs::read_dir(dir)?
            .flatten()
            .filter(|e| e.path().is_dir())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(CE_PREFIX))
            .collect();
        backups.sort();
        let newest = backups.last().ok_or_else(|| {
            Error::new(ErrorKind::NotFound, format!(
                "{} holds no {CE_PREFIX}<ms> folder: give a folder the Community Edition backup script wrote (data_backups/data_backup_<ms>) or its data_backups/",
                dir.display()
            ))
        })?;
        self.note(&format!(
            "import: taking the newest of {} backup folder(s) in {}: {newest}",
            backups.len(),
            dir.display()
        ));
        Ok(dir.join(newest))
    }

    /// The keymaster parameters of `--param NAME=VALUE` and `--param-file NAME=FILE`.
    fn import_keys(&self, req: &ImportRequest) -> Result<BTreeMap<String, String>> {
        let mut keys = crate::ops::stacks::parse_params(&req.params)?;
        for p in &req.param_files {
            let (name, file) = p.split_once('=').filter(|(k, f)| !k.trim().is_empty() && !f.is_empty()).ok_or_else(|| {
                Error::invalid(format!("`--param-file {p}` must be NAME=FILE, e.g. --param-file phoenix-key=/root/phoenix-key (- reads stdin)"))
            })?;
            let text = if file == "-" {
                std::io::read_to_string(std::io::stdin())?
            } else {
                std::fs::read_to_string(file)
                    .map_err(|e| Error::invalid(format!("--param-file {name}={file}: {e}")))?
            };
            keys.insert(
                name.trim().to_string(),
                text.lines().next().unwrap_or("").to_string(),
            );
        }
        for (k, v) in &keys {
            if k.contains('/') || v.is_empty() {
                return Err(Error::invalid(format!("`--param {k}` needs a parameter name without `/` and a value, e.g. --param-file phoenix-key=FILE")));
            }
        }
        Ok(keys)
    }

    /// Refuse, before anything is written, keys this home holds for the
    /// stack with another value: the import would not match that stack.
    fn refuse_key_conflicts(&self, stack: &str, keys: &BTreeMap<String, String>) -> Result<()> {
        let secrets = self.home.secrets();
        for (k, v) in keys {
            let name = keymaster(stack, k);
            if secrets.value(&name)?.is_some_and(|current| current != *v) {
                return Err(Error::new(ErrorKind::SecretConflict, format!(
                    "this home already holds {name} with another value than the import's --param {k}: the backup is not from stack {stack} as this home knows it; import it under another --stack name"
                )));
            }
        }
        Ok(())
    }

    /// A fresh, started cluster under the home's clusters, after removing
    /// what killed imports left there.
    fn temp_cluster(&self) -> Result<TempCluster> {
        let root = self.home.dir.join("clusters");
        for entry in std::fs::read_dir(&root).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(pid) = name
                .strip_prefix(TEMP_CLUSTER_PREFIX)
                .and_then(|r| r.split('-').next())
                .and_then(|p| p.parse::<u32>().ok())
            else {
                continue;
            };
            if !crate::process_alive(pid) {
                let _ = remove_cluster(&entry.path());
            }
        }
        std::fs::create_dir_all(&root)?;
        let dir = root.join(format!(
            "{TEMP_CLUSTER_PREFIX}{}-{}",
            std::process::id(),
            crate::ids::random_hex(3)
        ));
        let password = crate::secrets::generate(24);
        crate::unless_interrupted(&self.cancel, || {
            let mut temp = TempCluster::new(dir.clone(), password.clone());
            let cluster = EmbeddedCluster::init(&dir, &password)?;
            temp.cluster = Some(cluster);
            temp.cluster.as_ref().expect("just set").start()?;
            Ok(temp)
        })
    }
}

/// The vault parts an import wrote, deleted again when it fails.
#[derive(Default)]
struct Parts {
    snapshot: Option<String>,
    recovery_point: Option<String>,
}

impl Parts {
    fn undo(&self, hk: &Hubkeep) -> Result<()> {
        if let Some(arn) = &self.recovery_point {
            hk.delete_recovery_point(arn, true)?;
        }
        if let Some(id) = &self.snapshot {
            hk.delete_db_snapshot(id, true)?;
        }
        Ok(())
    }
}

fn format_name(f: DumpFormat) -> &'static str {
    match f {
        DumpFormat::Plain => "plain",
        DumpFormat::Custom => "custom",
    }
}

/// The role owning Reticulum's schema: the app's role, whose credentials
/// the set's database secret carries.
fn schema_owner(db: &ConnInfo) -> Result<String> {
    hubkeep_pg::schema_owner(db, "ret0")?.ok_or_else(|| {
        Error::new(ErrorKind::Hubs, "the imported dump holds no schema ret0: it is not a dump of a Reticulum (Hubs) database")
    })
}

/// A Hubs file store holds `owned/`; a copy one level too deep is named.
fn check_storage_layout(storage: &Path) -> Result<()> {
    if storage.join("owned").is_dir() {
        return Ok(());
    }
    let hint = if storage.join("storage").join("owned").is_dir() {
        format!(
            "; it holds storage/owned/: give {} instead",
            storage.join("storage").display()
        )
    } else {
        String::new()
    };
    Err(Error::new(ErrorKind::InvalidStorage, format!(
        "the file store copy {} has no owned/ folder: it is not a copy of Reticulum's /storage (owned/, expiring/, cached/){hint}",
        storage.display()
    )))
}
