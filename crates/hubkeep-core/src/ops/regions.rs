//! The home and its regions: `init` and `region add`.

use crate::error::{Error, Result};
use crate::home::{Home, Provider, Region};
use crate::{now, Hubkeep};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// What `init` prints.
#[derive(Debug, Serialize)]
pub struct Initialized {
    /// The home directory.
    pub home: PathBuf,
    /// Whether this run created it.
    pub created: bool,
    /// The region asked for.
    pub region: String,
    /// Every region of the home.
    pub regions: Vec<Region>,
    /// What the operator should know (e.g. a home `postgres` cannot reach).
    pub warnings: Vec<String>,
}

/// `init [--region NAME]`: create the home, or check an existing one.
pub fn init(dir: &Path, region: &str) -> Result<Initialized> {
    let (home, created) = Home::init(dir, region)?;
    Ok(Initialized {
        home: home.dir.clone(),
        created,
        region: region.to_string(),
        regions: home.regions()?,
        warnings: home.warnings.clone(),
    })
}

/// `region add NAME --pg-url URL --storage-root DIR --vault-root URL`.
pub struct RegionAdd {
    /// The region's name.
    pub name: String,
    /// `embedded`, or a server's admin URL.
    pub pg_url: String,
    /// A file holding the server's password (instead of the URL).
    pub password_file: Option<PathBuf>,
    /// Where the region's stacks get their file stores.
    pub storage_root: PathBuf,
    /// `file:///abs/path` or `s3://bucket/prefix`.
    pub vault_root: String,
}

impl Hubkeep {
    /// Add a region: its provider (the server's password goes to the secret
    /// store, never into the catalog), a checked storage root, a vault root.
    pub fn region_add(&self, req: &RegionAdd) -> Result<Region> {
        crate::ids::check_region_name(&req.name)?;
        if !(req.vault_root.starts_with("file:///") || req.vault_root.starts_with("s3://")) {
            return Err(Error::invalid(format!(
                "--vault-root {} must be file:///abs/path or s3://bucket/prefix",
                req.vault_root
            )));
        }
        let storage_root = self.check_file_store(
            None,
            &req.storage_root,
            Some(&self.home.dir.join("storage")),
        )?;
        let (provider, password) = if req.pg_url == "embedded" {
            (Provider::Embedded, None)
        } else {
            let mut conn =
                self.connection(&req.pg_url, "--pg-url", req.password_file.as_deref())?;
            let password = conn.password.take();
            (
                Provider::Server {
                    url: conn.url_without_password(),
                },
                password,
            )
        };
        if self.home.region(&req.name).is_ok() {
            return Err(Error::conflict(format!(
                "region {} already exists",
                req.name
            )));
        }
        std::fs::create_dir_all(&storage_root)?;
        let region = Region {
            name: req.name.clone(),
            provider,
            storage_root,
            vault_root: req.vault_root.clone(),
            created_at: now(),
        };
        self.home.catalog.transaction(|| {
            if let Some(pw) = &password {
                self.store_region_password(&req.name, pw)?;
            }
            self.home.add_region(&region)
        })?;
        Ok(region)
    }

    /// `region list`.
    pub fn regions(&self) -> Result<Vec<Region>> {
        self.home.regions()
    }
}
