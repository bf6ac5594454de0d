//! Stacks: one hub each (database + file store + secrets + outputs), created
//! fresh, adopted from an existing deployment, or restored from a backup.

use crate::catalog::Kind;
use crate::error::{Error, ErrorKind, Result};
use crate::home::{Provider, Region};
use crate::ids::secret_arn;
use crate::names::{daily_vault_name, database_secret_name, keymaster};
use crate::provider::secret_value;
use crate::states::StackStatus;
use crate::records::{Hooks, Origin, Outputs, Profile, Stack};
use crate::secrets::SecretKind;
use crate::vaults::CreatedVault;
use crate::{now, Hubkeep};
use hubkeep_pg::ConnInfo;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The keys a Hubs stack gets under `/keymaster/<stack>/`. The first two
/// are copied on restore (they decrypt blobs and sign PostgREST tokens);
/// the others are generated fresh.
pub const RESTORED_KEYS: [&str; 2] = ["phoenix-key", "postgrest-db-secret"];
/// The keys generated fresh for every new stack.
pub const FRESH_KEYS: [&str; 3] = ["guardian-key", "cookie-secret", "perms-key"];

/// Reticulum's database name, used in an embedded cluster of a Hubs stack.
pub const HUBS_DATABASE: &str = "polycosm_production";
/// The app's role in an embedded cluster.
pub const OWNER_ROLE: &str = "reticulum";

/// A fresh stack.
pub struct CreateRequest {
    /// Its name.
    pub name: crate::ids::StackName,
    /// Its domain.
    pub domain: Option<String>,
    /// Its region; the default when `None`.
    pub region: Option<String>,
    /// Its app version.
    pub app_version: Option<String>,
    /// Its profile.
    pub profile: Profile,
}

/// An existing deployment to register.
pub struct AdoptRequest {
    /// The stack's name.
    pub name: crate::ids::StackName,
    /// The database URL, with its password.
    pub database_url: String,
    /// The file store.
    pub storage: PathBuf,
    /// Its region; the default when `None`.
    pub region: Option<String>,
    /// Its domain.
    pub domain: Option<String>,
    /// Its profile.
    pub profile: Profile,
    /// Keymaster parameters, by short name.
    pub params: BTreeMap<String, String>,
}

/// What `stack create` / `stack adopt` print: the stack and, once, the
/// recovery key of its new daily vault.
#[derive(Debug, serde::Serialize)]
pub struct StackCreated {
    /// The stack.
    #[serde(flatten)]
    pub stack: Stack,
    /// Its daily vault (with the recovery key, once).
    pub daily_backup_vault: CreatedVault,
    /// What the operator should know.
    pub warnings: Vec<String>,
}

/// Stacks this process is creating: what a signal handler must end
/// CREATE_FAILED (the stack lock cannot tell, it is held by this process).
static CREATING: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

/// A creation in progress: holds the stack lock from before the record
/// exists until the creation ended, so a free lock on a CREATE_IN_PROGRESS
/// stack always means its creator is gone.
pub(crate) struct Creation {
    name: String,
    _lock: crate::StackLock,
}

impl Drop for Creation {
    fn drop(&mut self) {
        CREATING.lock().unwrap_or_else(|e| e.into_inner()).remove(&self.name);
    }
}

/// The stacks this process is creating right now.
pub(crate) fn creations_in_this_process() -> Vec<String> {
    CREATING.lock().unwrap_or_else(|e| e.into_inner()).iter().cloned().collect()
}

/// The one refusal of a taken stack name, for every way of making a stack.
pub(crate) fn stack_exists(name: &str) -> Error {
    Error::new(ErrorKind::StackExists, format!(
        "stack {name} already exists: hubkeep never replaces or updates a stack, nor restores a backup into an existing one; restore into a new stack name, or delete {name} first (`hubkeep stack delete {name} --yes`)"
    ))
}



impl Hubkeep {
    /// The stack `name`.
    pub fn stack(&self, name: &str) -> Result<Stack> {
        self.home.catalog.get(Kind::Stack, name)?.ok_or_else(|| {
            Error::new(ErrorKind::StackNotFound, format!("stack {name} does not exist; `hubkeep stack list` shows the stacks"))
        })
    }

    /// Every stack, oldest first.
    pub fn stacks(&self) -> Result<Vec<Stack>> {
        self.home.catalog.list(Kind::Stack)
    }

    pub(crate) fn save_stack(&self, stack: &Stack) -> Result<()> {
        self.home.catalog.put(Kind::Stack, &stack.name, stack)
    }

    pub(crate) fn set_status(&self, name: &str, status: StackStatus, reason: Option<String>) -> Result<Stack> {
        self.home.catalog.update::<Stack, _>(Kind::Stack, name, |s| {
            s.status = status;
            s.status_reason = reason;
            s.updated_at = now();
            Ok(())
        })
    }

    /// Start creating stack `name`: a valid name, its lock taken, and this
    /// process known as its creator. Call before `claim_stack`.
    pub(crate) fn begin_creation(&self, name: &str, operation: &str) -> Result<Creation> {
        crate::ids::check_stack_name(name)?;
        let lock = self.lock_stack(name, operation)?;
        CREATING.lock().unwrap_or_else(|e| e.into_inner()).insert(name.to_string());
        Ok(Creation { name: name.to_string(), _lock: lock })
    }

    /// A CREATE_IN_PROGRESS stack whose lock is free was being created by a
    /// run that died (SIGKILL, crash, power loss): it ends CREATE_FAILED and
    /// its embedded cluster is stopped; `stack delete` removes the rest.
    pub(crate) fn reap_interrupted_creations(&self) -> Result<()> {
        for stack in self.stacks()?.into_iter().filter(|s| s.status == StackStatus::CreateInProgress) {
            let Some(_lock) = self.try_lock_stack(&stack.name, "ending an interrupted creation")? else { continue };
            let reason = format!(
                "the hubkeep run creating this stack ended before it finished (it was killed or crashed); `hubkeep stack delete {} --yes` removes what it left and frees the name",
                stack.name
            );
            self.end_interrupted_creation(&stack.name, &reason)?;
        }
        Ok(())
    }

    /// Mark a creation that will never finish CREATE_FAILED and stop its
    /// embedded cluster, so no postmaster outlives it.
    pub(crate) fn end_interrupted_creation(&self, name: &str, reason: &str) -> Result<()> {
        let Some(stack) = self.home.catalog.get::<Stack>(Kind::Stack, name)? else { return Ok(()) };
        if stack.status != StackStatus::CreateInProgress {
            return Ok(());
        }
        let mut reason = reason.to_string();
        let dir = self.home.cluster_dir(name);
        if matches!(self.home.region(&stack.region).map(|r| r.provider), Ok(Provider::Embedded)) && dir.join("data").exists() {
            if let Err(e) = hubkeep_pg::cluster::EmbeddedCluster::open(&dir).and_then(|c| c.stop()) {
                reason.push_str(&format!("; its database cluster at {} could not be stopped ({e})", dir.display()));
            }
        }
        self.home.catalog.update::<Stack, _>(Kind::Stack, name, |s| {
            s.status = StackStatus::CreateFailed;
            s.status_reason = Some(reason.clone());
            s.outputs = None;
            s.updated_at = now();
            Ok(())
        })?;
        self.note(&format!("stack {name}: {reason}"));
        Ok(())
    }

    /// Claim a new stack name: refused when the name is taken (a stack is
    /// never replaced; roll back by deleting it and restoring into a new one).
    pub(crate) fn claim_stack(&self, name: &crate::ids::StackName, region: &Region, domain: Option<String>, profile: Profile, origin: Origin, app_version: Option<String>) -> Result<Stack> {
        let stack = Stack {
            name: name.clone(),
            region: region.name.clone(),
            domain,
            profile,
            app_version,
            status: StackStatus::CreateInProgress,
            status_reason: None,
            origin,
            outputs: None,
            restored_from: None,
            offline: None,
            hooks: Hooks::default(),
            created_at: now(),
            updated_at: now(),
            made_storage: None,
            made_database: None,
        };
        if !self.home.catalog.insert_new(Kind::Stack, name, &stack)? {
            return Err(stack_exists(name));
        }
        Ok(stack)
    }

    /// A valid name no stack has: the one place that decides "stack exists"
    /// before a creation starts (`claim_stack` decides it again, atomically,
    /// with the same refusal).
    pub(crate) fn ensure_new_stack(&self, name: &str) -> Result<()> {
        crate::ids::check_stack_name(name)?;
        if self.home.catalog.get::<Stack>(Kind::Stack, name)?.is_some() {
            return Err(stack_exists(name));
        }
        Ok(())
    }

    pub(crate) fn region_or_default(&self, region: Option<&str>) -> Result<Region> {
        self.home.region(region.unwrap_or(&self.home.default_region()))
    }

    /// A fresh stack: database, file store, database secret, keys, vault.
    pub fn create_stack(&self, req: &CreateRequest) -> Result<StackCreated> {
        let region = self.region_or_default(req.region.as_deref())?;
        self.check_provider(&region)?;
        let store = region.storage_root.join(&req.name);
        self.check_file_store(Some(&req.name), &store, Some(&self.home.dir.join("storage").join(&req.name)))?;
        let _creation = self.begin_creation(&req.name, "stack create")?;
        let stack = self.claim_stack(&req.name, &region, req.domain.clone(), req.profile, Origin::Created, req.app_version.clone())?;
        let mut made = Made::default();
        match self.build_fresh_stack(stack, &region, &mut made) {
            Ok(done) => Ok(done),
            Err(e) => Err(self.fail_creation(&req.name, &region, made, e)),
        }
    }

    fn build_fresh_stack(&self, mut stack: Stack, region: &Region, made: &mut Made) -> Result<StackCreated> {
        let dbname = database_name(&stack.name, stack.profile, region);
        let password = crate::secrets::generate(20);
        let owner = owner_role(&stack.name, region);
        made.database = Some((dbname.clone(), owner.clone()));
        let db = self.provision_database(&stack.name, region, &dbname, &owner, &password)?;
        let storage = self.make_storage(&stack.name, region, stack.profile, made)?;
        let arn = self.put_database_secret(&stack.name, &region.name, &db.app, made)?;
        for key in RESTORED_KEYS.iter().chain(FRESH_KEYS.iter()) {
            self.home.secrets().put(&keymaster(&stack.name, key), SecretKind::Param, None, Some(&stack.name), &crate::secrets::generate(32))?;
        }
        let vault = self.ensure_daily_vault(&stack.name, &region.name, made)?;
        stack.outputs = Some(outputs_for(&db.app, &dbname, &storage, &arn, &vault.name));
        stack.status = StackStatus::Online;
        stack.updated_at = now();
        self.save_stack(&stack)?;
        Ok(StackCreated { stack, daily_backup_vault: vault, warnings: vec![] })
    }

    /// Register an existing deployment. hubkeep never changes or removes
    /// an adopted stack's database or files.
    pub fn adopt_stack(&self, req: &AdoptRequest) -> Result<StackCreated> {
        let region = self.region_or_default(req.region.as_deref())?;
        let app = ConnInfo::parse_url(&req.database_url)?;
        let storage = std::fs::canonicalize(&req.storage).map_err(|e| {
            Error::invalid(format!("the storage directory {} cannot be opened ({e}); give the hub's file store (Reticulum's storage_path)", req.storage.display()))
        })?;
        if !storage.is_dir() {
            return Err(Error::invalid(format!("{} is not a directory", storage.display())));
        }
        let storage = self.check_file_store(Some(&req.name), &storage, None)?;
        for key in req.params.keys() {
            if key.is_empty() || key.contains('/') {
                return Err(Error::invalid(format!("`--param {key}=…` is not a parameter name; use e.g. --param phoenix-key=VALUE")));
            }
        }
        app.connect().map_err(|e| Error::from(e).context(format!("checking the database of stack {}", req.name)))?;
        let _creation = self.begin_creation(&req.name, "stack adopt")?;
        let mut stack = self.claim_stack(&req.name, &region, req.domain.clone(), req.profile, Origin::Adopted, None)?;
        let mut made = Made::default();
        let result = (|| {
            let arn = self.put_database_secret(&stack.name, &region.name, &app, &mut made)?;
            for (k, v) in &req.params {
                self.home.secrets().put(&keymaster(&stack.name, k), SecretKind::Param, None, Some(&stack.name), v)?;
                made.params.push(keymaster(&stack.name, k));
            }
            let vault = self.ensure_daily_vault(&stack.name, &region.name, &mut made)?;
            stack.outputs = Some(outputs_for(&app, &app.dbname, &storage, &arn, &vault.name));
            stack.status = StackStatus::Online;
            stack.updated_at = now();
            self.save_stack(&stack)?;
            Ok(StackCreated { stack: stack.clone(), warnings: self.missing_key_warnings(&stack), daily_backup_vault: vault })
        })();
        result.map_err(|e| self.fail_creation(&req.name, &region, made, e))
    }

    /// Warnings for a Hubs stack without the key its blobs need.
    pub fn missing_key_warnings(&self, stack: &Stack) -> Vec<String> {
        if stack.profile != Profile::Hubs {
            return vec![];
        }
        let name = keymaster(&stack.name, "phoenix-key");
        match self.home.secrets().find(&name) {
            Ok(Some(_)) => vec![],
            _ => vec![format!(
                "stack {} has no {name}: without Reticulum's secret_key_base its blobs cannot be decrypted after a restore; add it with `hubkeep stack update {} --param phoenix-key=VALUE`",
                stack.name, stack.name
            )],
        }
    }

    fn make_storage(&self, stack: &str, region: &Region, profile: Profile, made: &mut Made) -> Result<PathBuf> {
        let dir = region.storage_root.join(stack);
        if dir.exists() && std::fs::read_dir(&dir)?.next().is_some() {
            return Err(Error::conflict(format!("the file store {} already exists and is not empty; move it away or pick another stack name", dir.display())));
        }
        self.note_made_storage(stack, &dir)?;
        made.storage = Some(dir.clone());
        std::fs::create_dir_all(&dir)?;
        if profile == Profile::Hubs {
            for sub in ["owned", "expiring", "cached"] {
                std::fs::create_dir_all(dir.join(sub))?;
            }
        }
        Ok(dir)
    }

    /// Record, before anything is written there, that this creation makes
    /// the file store `dir`: if it is killed, `stack delete` still knows it.
    pub(crate) fn note_made_storage(&self, stack: &str, dir: &Path) -> Result<()> {
        self.home.catalog.update::<Stack, _>(Kind::Stack, stack, |s| {
            s.made_storage = Some(dir.to_path_buf());
            Ok(())
        })?;
        Ok(())
    }

    /// The stack's `<Stack> Database Secret`, with a new ARN.
    pub(crate) fn put_database_secret(&self, stack: &str, region: &str, conn: &ConnInfo, made: &mut Made) -> Result<String> {
        let name = database_secret_name(stack);
        let secrets = self.home.secrets();
        if secrets.find(&name)?.is_some() {
            // A stack of this name existed before and its secret was kept:
            // backups of it may need that value, so it keeps its ARN under a
            // retired name and the new stack gets a secret of its own.
            let retired = format!("{name} (retired {})", now().format("%Y%m%dT%H%M%SZ"));
            secrets.rename(&name, &retired)?;
            self.note(&format!("kept the earlier secret `{name}` as `{retired}` (same ARN) for the backups that need it"));
        }
        made.secret = Some(name.clone());
        let meta = secrets.put(&name, SecretKind::Secret, Some(secret_arn(region, stack)), Some(stack), &secret_value(conn).to_string())?;
        Ok(meta.arn.unwrap_or(name))
    }

    pub(crate) fn ensure_daily_vault(&self, stack: &str, region: &str, made: &mut Made) -> Result<CreatedVault> {
        let name = daily_vault_name(stack);
        // A stack of this name had this vault before (a roll back: delete,
        // then restore into a new stack of the same name): keep using it.
        if let Some(existing) = self.home.catalog.get::<crate::records::VaultRecord>(Kind::Vault, &name)? {
            if existing.region == region {
                self.open_vault(&name)?;
                self.note(&format!("stack {stack} goes on using the existing vault {name}"));
                return Ok(CreatedVault { name: existing.name, region: existing.region, location: existing.location, recovery_key: None });
            }
        }
        let v = self.create_vault(&name, Some(region), Some(stack))?;
        made.vault = Some(name);
        Ok(v)
    }

    /// Undo a failed creation and mark the stack CREATE_FAILED.
    pub(crate) fn fail_creation(&self, name: &str, region: &Region, made: Made, error: Error) -> Error {
        let cleanup = self.undo(name, region, made);
        let cleaned = cleanup.is_ok();
        let reason = match cleanup {
            Ok(()) => error.message().to_string(),
            Err(c) => format!("{} (and cleaning up failed too: {c}; `hubkeep stack delete {name} --yes` tries again)", error.message()),
        };
        let _ = self.home.catalog.update::<Stack, _>(Kind::Stack, name, |s| {
            s.status = StackStatus::CreateFailed;
            s.status_reason = Some(reason.clone());
            s.outputs = None;
            if cleaned {
                s.made_storage = None;
                s.made_database = None;
            }
            s.updated_at = now();
            Ok(())
        });
        error
    }

    pub(crate) fn undo(&self, name: &str, region: &Region, made: Made) -> Result<()> {
        if let Some((db, owner)) = &made.database {
            self.drop_database(name, region, db, owner)?;
        }
        if let Some(dir) = &made.storage {
            if dir.exists() {
                std::fs::remove_dir_all(dir)?;
            }
        }
        let secrets = self.home.secrets();
        if let Some(s) = &made.secret {
            secrets.remove_now(s)?;
        }
        for p in &made.params {
            secrets.remove_now(p)?;
        }
        for (written, previous) in made.secret_rows.iter().rev() {
            secrets.remove_now(written)?;
            if let Some((name, doc, sealed)) = previous {
                self.home.catalog.put_secret_row(name, doc, sealed)?;
            }
        }
        if let Some(v) = &made.vault {
            // The vault was made by this creation and holds nothing else:
            // its objects go, on a local disk or in a bucket alike.
            let record = self.vault_record(v)?;
            let store = crate::vaults::open_store(&record.location)?;
            for object in store.list("")? {
                store.delete(&object.name)?;
            }
            if let Some(path) = record.location.strip_prefix("file://") {
                let _ = std::fs::remove_dir_all(path);
            }
            self.home.catalog.delete(Kind::Vault, v)?;
            for key in [crate::names::SecretName::VaultAccessKey(v), crate::names::SecretName::VaultRecoveryKey(v)] {
                self.home.secrets().remove_now(&key.to_string())?;
            }
        }
        Ok(())
    }

    /// Record operator hooks, app version, or keymaster parameters.
    pub fn update_stack_settings(&self, name: &str, app_version: Option<String>, hooks: Option<Hooks>, params: &BTreeMap<String, String>) -> Result<Stack> {
        let stack = self.stack(name)?;
        for (k, v) in params {
            self.home.secrets().put(&keymaster(&stack.name, k), SecretKind::Param, None, Some(&stack.name), v)?;
        }
        self.home.catalog.update::<Stack, _>(Kind::Stack, name, |s| {
            if let Some(v) = app_version {
                s.app_version = Some(v);
            }
            if let Some(h) = hooks {
                if h.offline.is_some() {
                    s.hooks.offline = h.offline;
                }
                if h.online.is_some() {
                    s.hooks.online = h.online;
                }
            }
            s.updated_at = now();
            Ok(())
        })
    }

    /// Delete a stack: removes what hubkeep created (database, file store,
    /// `/ita/<stack>/…`), keeps `/keymaster/…`, the database secret,
    /// snapshots and recovery points. An adopted stack is only forgotten.
    pub fn delete_stack(&self, name: &str) -> Result<Stack> {
        let stack = self.stack(name)?;
        let _lock = self.lock_stack(name, "stack delete")?;
        let stack = self.set_status(name, StackStatus::DeleteInProgress, None).unwrap_or(stack);
        if stack.origin != Origin::Adopted {
            let region = self.home.region(&stack.region)?;
            if let Some(o) = &stack.outputs {
                let owner = self.app_conn(&stack).map(|c| c.user).unwrap_or_else(|_| OWNER_ROLE.to_string());
                self.drop_database(name, &region, &o.app_db, &owner)?;
                if o.storage_path.exists() {
                    std::fs::remove_dir_all(&o.storage_path)?;
                }
            } else {
                // A creation that failed or was killed: no outputs, but maybe
                // a cluster and the file store it noted before writing there.
                match (&region.provider, &stack.made_database) {
                    (Provider::Embedded, _) => self.drop_database(name, &region, "", OWNER_ROLE)?,
                    (Provider::Server { .. }, Some((db, owner))) => self.drop_database(name, &region, db, owner)?,
                    (Provider::Server { .. }, None) => {}
                }
                if let Some(dir) = stack.made_storage.as_ref().filter(|d| d.exists()) {
                    std::fs::remove_dir_all(dir).map_err(|e| Error::new(ErrorKind::Io, format!("cannot remove the file store {} of stack {name}: {e}", dir.display())))?;
                }
            }
        }
        let secrets = self.home.secrets();
        for s in secrets.list_prefix(&crate::names::ita_prefix(name))? {
            secrets.remove_now(&s.name)?;
        }
        self.home.catalog.delete(Kind::Stack, name)?;
        Ok(stack)
    }
}

/// What a creation made so far, to undo on failure.
#[derive(Default)]
pub(crate) struct Made {
    /// A database and its owner role.
    pub database: Option<(String, String)>,
    /// A file store.
    pub storage: Option<PathBuf>,
    /// The database secret.
    pub secret: Option<String>,
    /// Keymaster parameters.
    pub params: Vec<String>,
    /// The daily vault.
    pub vault: Option<String>,
    /// Secret-store rows a restore wrote from a key bundle: the name
    /// written, and the row (name, metadata, sealed value) it replaced.
    pub secret_rows: Vec<(String, Option<SecretRow>)>,
}

/// A secret-store row as it was: name, metadata, sealed value.
pub(crate) type SecretRow = (String, String, Vec<u8>);

/// The app's database role: `reticulum` in a cluster of its own; on a
/// shared server, named for the stack so two stacks never share it.
pub(crate) fn owner_role(stack: &str, region: &Region) -> String {
    match region.provider {
        Provider::Embedded => OWNER_ROLE.to_string(),
        Provider::Server { .. } => format!("{}_app", stack.to_lowercase().replace('-', "_")),
    }
}

pub(crate) fn database_name(stack: &str, profile: Profile, region: &Region) -> String {
    match (&region.provider, profile) {
        (Provider::Embedded, Profile::Hubs) => HUBS_DATABASE.to_string(),
        _ => stack.to_lowercase().replace('-', "_"),
    }
}

pub(crate) fn outputs_for(app: &ConnInfo, dbname: &str, storage: &Path, secret_arn: &str, vault: &str) -> Outputs {
    Outputs {
        app_db: dbname.to_string(),
        database_url: app.with_dbname(dbname).url_without_password(),
        storage_id: storage.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        storage_path: storage.to_path_buf(),
        database_secret_arn: secret_arn.to_string(),
        daily_backup_vault: crate::ids::VaultName::from_stored(vault),
    }
}

/// System directories no file store may be or lie in: backing them up
/// reads kernel files and devices, restoring into them is worse.
const SYSTEM_DIRS: [&str; 4] = ["/proc", "/sys", "/dev", "/run"];

impl Hubkeep {
    /// The canonical path of a stack's file store, or a refusal naming the
    /// path, why, and what to give instead. A file store must not be `/`,
    /// a system directory, the home or anything in it (except `in_home`,
    /// the store hubkeep itself makes there), an ancestor of the home, or
    /// overlap a local vault or another stack's store: backing up such a
    /// store reads the vault's own packs or the home's secret-store key
    /// into a vault. Symlinks are resolved first, so a link to the home is
    /// the home. `stack` is `None` for a region's storage root, which holds
    /// many stacks' stores.
    pub fn check_file_store(&self, stack: Option<&str>, path: &Path, in_home: Option<&Path>) -> Result<PathBuf> {
        let store = canonical_path(path)?;
        let refuse = |why: String| {
            Error::new(
                ErrorKind::InvalidStorage,
                format!(
                    "the file store {} is refused: {why}; give the hub's own file store directory (Reticulum's storage_path), outside the hubkeep home {}, its vaults and other stacks' stores",
                    store.display(),
                    self.home.dir.display()
                ),
            )
        };
        if store == Path::new("/") {
            return Err(refuse("it is the root directory, which holds the home, its vaults and its keys".into()));
        }
        if let Some(sys) = SYSTEM_DIRS.iter().find(|d| store.starts_with(d)) {
            return Err(refuse(format!("it is in {sys}, a system directory of the kernel and devices")));
        }
        let home = canonical_path(&self.home.dir)?;
        let allowed = in_home.map(canonical_path).transpose()?;
        if store.starts_with(&home) && allowed.as_ref() != Some(&store) {
            let what = if store == home { "it is the hubkeep home itself".to_string() } else { format!("it is inside the hubkeep home {}", home.display()) };
            return Err(refuse(format!("{what}, which holds the catalog, the secret-store key and the vaults")));
        }
        if home.starts_with(&store) {
            return Err(refuse(format!("it contains the hubkeep home {}, its vaults and its secret-store key", home.display())));
        }
        let mut vault_dirs: Vec<(String, String)> = self.vaults()?.into_iter().map(|v| (format!("vault {}", v.name), v.location)).collect();
        vault_dirs.extend(self.home.regions()?.into_iter().map(|r| (format!("the vault root of region {}", r.name), r.vault_root)));
        for (what, location) in vault_dirs {
            let Some(dir) = location.strip_prefix("file://") else { continue };
            let dir = canonical_path(Path::new(dir))?;
            if overlaps(&store, &dir) {
                return Err(refuse(format!("it overlaps {what} at {} (a backup would read the vault's own packs)", dir.display())));
            }
        }
        if let Some(stack) = stack {
            for other in self.stacks()?.into_iter().filter(|s| s.name != stack) {
                let Some(o) = &other.outputs else { continue };
                let dir = canonical_path(&o.storage_path)?;
                if overlaps(&store, &dir) {
                    return Err(refuse(format!("it overlaps the file store {} of stack {}", dir.display(), other.name)));
                }
            }
        }
        Ok(store)
    }
}

fn overlaps(a: &Path, b: &Path) -> bool {
    a.starts_with(b) || b.starts_with(a)
}

/// `path` absolute with every symlink resolved, for a path that may not
/// exist yet (a store hubkeep is about to make): its nearest existing
/// ancestor is resolved and the rest appended.
fn canonical_path(path: &Path) -> Result<PathBuf> {
    let abs = if path.is_absolute() { path.to_path_buf() } else { std::env::current_dir()?.join(path) };
    let mut tail = vec![];
    let mut existing = abs.as_path();
    loop {
        match std::fs::canonicalize(existing) {
            Ok(mut resolved) => {
                resolved.extend(tail.iter().rev());
                return Ok(resolved);
            }
            Err(_) => {
                let name = existing
                    .file_name()
                    .filter(|n| *n != "..")
                    .ok_or_else(|| Error::invalid(format!("{} cannot be resolved: give an absolute path without `..`", path.display())))?;
                tail.push(name);
                existing = existing.parent().unwrap_or(Path::new("/"));
            }
        }
    }
}
