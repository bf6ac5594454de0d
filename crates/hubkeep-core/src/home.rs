//! The home: one directory holding the catalog, the secret-store key, the
//! config, and (for the embedded defaults) the per-stack PostgreSQL clusters,
//! file stores and vaults. Like an AWS account for hubkeep.

use crate::catalog::{Catalog, Kind};
use crate::error::{Error, ErrorKind, Result};
use crate::secrets::SecretStore;
use chrono::{DateTime, Utc};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The region `init` makes when none is named.
pub const DEFAULT_REGION: &str = "local";

/// Where a region keeps its databases.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Provider {
    /// One PostgreSQL cluster per stack, run by hubkeep under the home.
    Embedded,
    /// An existing server; one database per stack. The URL carries no
    /// password: that is the secret `/hubkeep/region/<name>/pg-password`.
    Server {
        /// The server's admin URL.
        url: String,
    },
}

/// Where stacks get their databases, file stores and vaults.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Region {
    /// Its name.
    pub name: String,
    /// Where its databases live.
    pub provider: Provider,
    /// Where its stacks' file stores go.
    pub storage_root: PathBuf,
    /// Where its vaults go (`file:///…` or `s3://…`).
    pub vault_root: String,
    /// When it was added.
    pub created_at: DateTime<Utc>,
}

/// An open home.
pub struct Home {
    /// The home directory (absolute).
    pub dir: PathBuf,
    /// Its catalog.
    pub catalog: Catalog,
    secret_key: [u8; 32],
    /// What `init` found worth telling the operator (e.g. a home the
    /// `postgres` user cannot reach).
    pub warnings: Vec<String>,
}

/// The home directory to use when neither `--home` nor `HUBKEEP_HOME` is set.
/// As root it is `/var/lib/hubkeep`, which the `postgres` user can traverse
/// (`/root` is 0700 and would keep embedded clusters from starting).
pub fn default_home() -> PathBuf {
    if unsafe { libc::geteuid() } == 0 {
        PathBuf::from("/var/lib/hubkeep")
    } else if let Some(d) = std::env::var_os("XDG_DATA_HOME") {
        PathBuf::from(d).join("hubkeep")
    } else {
        let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("."));
        home.join(".local/share/hubkeep")
    }
}

impl Home {
    /// Open the home, creating it with the embedded defaults on first use
    /// (`init` is idempotent). Only commands that create may get here with
    /// no home: the CLI refuses the others first (`Home::require`).
    pub fn open_or_init(dir: &Path) -> Result<Home> {
        let dir = absolute(dir)?;
        if !dir.join("catalog.db").exists() {
            return Home::init(&dir, DEFAULT_REGION).map(|(h, _)| h);
        }
        Home::open(&dir)
    }

    /// Whether `dir` holds a hubkeep home (its catalog).
    pub fn exists(dir: &Path) -> Result<bool> {
        Ok(absolute(dir)?.join("catalog.db").exists())
    }

    /// Refuse a directory that is not a home, creating nothing: a typo'd
    /// `--home` must not become a second, empty home.
    pub fn require(dir: &Path) -> Result<()> {
        if Home::exists(dir)? {
            return Ok(());
        }
        Err(Error::new(ErrorKind::NoHome, format!("no hubkeep home at {}: run hubkeep init (or pass --home)", absolute(dir)?.display())))
    }

    /// Open an existing home (its key and catalog).
    pub fn open(dir: &Path) -> Result<Home> {
        let dir = absolute(dir)?;
        restrict_logs(&dir.join("logs"))?;
        let key_path = dir.join("keys/secret-store.key");
        let key_bytes = fs::read(&key_path).map_err(|e| {
            Error::new(ErrorKind::Home, format!("cannot read the secret-store key {}: {e}; is {} a hubkeep home (run `hubkeep init`)?", key_path.display(), dir.display()))
        })?;
        let secret_key: [u8; 32] = key_bytes.try_into().map_err(|_| {
            Error::new(ErrorKind::Home, format!("the secret-store key {} is damaged (it must be 32 bytes)", key_path.display()))
        })?;
        let catalog = Catalog::open(&dir.join("catalog.db"))?;
        Ok(Home { dir, catalog, secret_key, warnings: vec![] })
    }

    /// Create the home (or check an existing one) with a default region.
    /// Returns whether anything was created.
    pub fn init(dir: &Path, region: &str) -> Result<(Home, bool)> {
        crate::ids::check_region_name(region)?;
        let dir = absolute(dir)?;
        // The embedded clusters run as `postgres` under this directory. A
        // home they cannot reach still serves adopted stacks and vaults, so
        // this is a warning here; creating a cluster refuses it.
        let mut warnings = vec![];
        if let Err(e) = hubkeep_pg::cluster::check_reachable_by_postgres(&dir.join("clusters")) {
            warnings.push(format!("{e}; embedded PostgreSQL clusters cannot run under this home until then (the default home as root, /var/lib/hubkeep, is reachable)"));
        }
        let fresh = !dir.join("catalog.db").exists();
        fs::create_dir_all(dir.join("keys"))?;
        // Traversable (not readable) by others, so the `postgres` user can
        // reach the embedded clusters below; secrets stay in 0600 files.
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o711))?;
        fs::set_permissions(dir.join("keys"), fs::Permissions::from_mode(0o700))?;
        for sub in ["clusters", "storage", "vaults", "locks"] {
            fs::create_dir_all(dir.join(sub))?;
        }
        fs::set_permissions(dir.join("clusters"), fs::Permissions::from_mode(0o711))?;
        let key_path = dir.join("keys/secret-store.key");
        if !key_path.exists() {
            let mut key = [0u8; 32];
            rand::thread_rng().fill_bytes(&mut key);
            write_private(&key_path, &key)?;
        }
        let db = dir.join("catalog.db");
        let mut home = Home::open(&dir)?;
        home.warnings = warnings;
        fs::set_permissions(&db, fs::Permissions::from_mode(0o600))?;
        if home.region(region).is_err() {
            let r = Region {
                name: region.to_string(),
                provider: Provider::Embedded,
                storage_root: dir.join("storage"),
                vault_root: format!("file://{}", dir.join("vaults").display()),
                created_at: crate::now(),
            };
            home.catalog.put(Kind::Region, region, &r)?;
        }
        if home.config().default_region.is_none() {
            home.save_config(&Config { default_region: Some(region.to_string()), ..Default::default() })?;
        }
        Ok((home, fresh))
    }

    /// The secret store, sealed with this home's key.
    pub fn secrets(&self) -> SecretStore<'_> {
        SecretStore::new(&self.catalog, &self.secret_key)
    }

    /// `config.json` (defaults when absent).
    pub fn config(&self) -> Config {
        fs::read(self.dir.join("config.json")).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default()
    }

    /// Write `config.json`, private.
    pub fn save_config(&self, c: &Config) -> Result<()> {
        write_private(&self.dir.join("config.json"), &serde_json::to_vec_pretty(c)?)
    }

    /// The region used when none is named.
    pub fn default_region(&self) -> String {
        self.config().default_region.unwrap_or_else(|| DEFAULT_REGION.to_string())
    }

    /// The region `name`.
    pub fn region(&self, name: &str) -> Result<Region> {
        self.catalog.get(Kind::Region, name)?.ok_or_else(|| {
            Error::new(ErrorKind::RegionNotFound, format!("region {name} does not exist; `hubkeep region list` shows the regions, `hubkeep region add` adds one"))
        })
    }

    /// Every region.
    pub fn regions(&self) -> Result<Vec<Region>> {
        self.catalog.list(Kind::Region)
    }

    /// Add a region; a taken name is refused.
    pub fn add_region(&self, region: &Region) -> Result<()> {
        crate::ids::check_region_name(&region.name)?;
        if !self.catalog.insert_new(Kind::Region, &region.name, region)? {
            return Err(Error::conflict(format!("region {} already exists", region.name)));
        }
        Ok(())
    }

    /// The key of this home's key fingerprints, derived from its
    /// secret-store key: a fingerprint read from a log or the catalog cannot
    /// be checked against guessed values without that key.
    pub fn fingerprint_key(&self) -> crate::secrets::FingerprintKey {
        crate::secrets::FingerprintKey::derive(&self.secret_key)
    }

    /// The directory of job logs, created private: a log may hold key
    /// fingerprints and database names.
    pub fn logs_dir(&self) -> Result<PathBuf> {
        let dir = self.dir.join("logs");
        fs::create_dir_all(&dir)?;
        restrict_logs(&dir)?;
        Ok(dir)
    }

    /// Where a stack's embedded cluster lives.
    pub fn cluster_dir(&self, stack: &str) -> PathBuf {
        self.dir.join("clusters").join(stack)
    }

    /// The file whose flock is the stack's lock.
    pub fn lock_path(&self, stack: &str) -> PathBuf {
        self.dir.join("locks").join(format!("{stack}.lock"))
    }
}

/// The home's settings (`config.json`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Config {
    /// The region used when none is named.
    pub default_region: Option<String>,
    /// Seconds a PostgreSQL connection may take to connect, start up and
    /// authenticate (default 15); `HUBKEEP_DB_CONNECT_TIMEOUT` overrides it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_connect_timeout: Option<u64>,
    /// Seconds an open PostgreSQL connection may go unacknowledged by the
    /// server before it counts as gone (default 90);
    /// `HUBKEEP_DB_IDLE_TIMEOUT` overrides it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_idle_timeout: Option<u64>,
}

impl Config {
    /// The database timeouts of this home: the environment, then
    /// config.json, then hubkeep-pg's defaults.
    pub fn database_timeouts(&self) -> Result<hubkeep_pg::Timeouts> {
        let defaults = hubkeep_pg::Timeouts::default();
        let pick = |var: &str, configured: Option<u64>, default: std::time::Duration| -> Result<std::time::Duration> {
            let secs = match std::env::var(var) {
                Ok(v) => match v.trim().parse::<u64>() {
                    Ok(n) if n > 0 => n,
                    _ => return Err(Error::new(ErrorKind::InvalidSetting, format!("{var}={v:?} is not a whole number of seconds above 0; set it like {var}=30 or unset it"))),
                },
                Err(_) => match configured {
                    Some(0) => return Err(Error::new(ErrorKind::InvalidSetting, format!("config.json sets a database timeout of 0 seconds; use a number above 0 or remove the key ({var} names the same setting)"))),
                    Some(n) => n,
                    None => return Ok(default),
                },
            };
            Ok(std::time::Duration::from_secs(secs))
        };
        Ok(hubkeep_pg::Timeouts {
            connect: pick("HUBKEEP_DB_CONNECT_TIMEOUT", self.database_connect_timeout, defaults.connect)?,
            idle: pick("HUBKEEP_DB_IDLE_TIMEOUT", self.database_idle_timeout, defaults.idle)?,
        })
    }
}

/// Write a file only its owner can read, atomically.
pub fn write_private(path: &Path, data: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    {
        let mut f = fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    Ok(())
}

/// `logs/` 0700 and its files 0600, also for homes made before logs were
/// private (they were 0755 and 0644).
fn restrict_logs(dir: &Path) -> Result<()> {
    let Ok(meta) = fs::symlink_metadata(dir) else { return Ok(()) };
    if !meta.is_dir() {
        return Ok(());
    }
    if meta.permissions().mode() & 0o777 != 0o700 {
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
    }
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        if meta.is_file() && meta.permissions().mode() & 0o077 != 0 {
            fs::set_permissions(entry.path(), fs::Permissions::from_mode(0o600))?;
        }
    }
    Ok(())
}

fn absolute(dir: &Path) -> Result<PathBuf> {
    if dir.is_absolute() {
        Ok(dir.to_path_buf())
    } else {
        Ok(std::env::current_dir()?.join(dir))
    }
}
