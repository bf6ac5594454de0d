//! Database providers: where a stack's database lives and how hubkeep
//! reaches it with its own (superuser) sessions. The embedded provider runs
//! one PostgreSQL cluster per stack under the home; the server provider uses
//! an existing server, one database per stack. With `offline.rs`, the only
//! place of core that speaks SQL or builds database URLs.

use crate::catalog::Kind;
use crate::names::SecretName;
use crate::error::{Error, ErrorKind, Result};
use crate::home::{Provider, Region};
use crate::records::{Origin, Stack};
use crate::secrets::SecretKind;
use crate::Hubkeep;
use hubkeep_pg::cluster::EmbeddedCluster;
use hubkeep_pg::ConnInfo;

/// The superuser of an embedded cluster.
const SUPERUSER: &str = "postgres";



/// A freshly provisioned database.
pub(crate) struct Provisioned {
    /// hubkeep's own (superuser) connection.
    pub admin: ConnInfo,
    /// The app's connection.
    pub app: ConnInfo,
}

impl Hubkeep {
    /// hubkeep's own connection to a stack's database: a superuser on an
    /// embedded cluster (started if it is stopped) or the region's admin
    /// URL; for an adopted stack, the credentials it was adopted with.
    pub(crate) fn admin_conn(&self, stack: &Stack) -> Result<ConnInfo> {
        let outputs = stack.outputs.as_ref().ok_or_else(|| Error::new(ErrorKind::StackState, format!("stack {} has no database (status {})", stack.name, stack.status)))?;
        if stack.origin == Origin::Adopted {
            return self.app_conn(stack);
        }
        let region = self.home.region(&stack.region)?;
        match &region.provider {
            Provider::Embedded => {
                let cluster = EmbeddedCluster::open(&self.home.cluster_dir(&stack.name))?;
                if !cluster.is_running() {
                    crate::unless_interrupted(&self.cancel, || Ok(cluster.start()?))?;
                }
                let pw = self.home.secrets().value(&SecretName::ClusterSuperuser(&stack.name).to_string())?.ok_or_else(|| {
                    Error::new(ErrorKind::SecretNotFound, format!("the superuser password of stack {}'s cluster is missing from the secret store", stack.name))
                })?;
                Ok(cluster.superuser(&pw, &outputs.app_db))
            }
            Provider::Server { .. } => Ok(self.region_admin(&region)?.with_dbname(&outputs.app_db)),
        }
    }

    /// The app's connection, from the stack's database secret.
    pub(crate) fn app_conn(&self, stack: &Stack) -> Result<ConnInfo> {
        let outputs = stack.outputs.as_ref().ok_or_else(|| Error::new(ErrorKind::StackState, format!("stack {} has no database", stack.name)))?;
        let (_, value) = self.home.secrets().get(&outputs.database_secret_arn)?;
        conn_from_secret(&value)
    }

    fn region_admin(&self, region: &Region) -> Result<ConnInfo> {
        let Provider::Server { url } = &region.provider else {
            return Err(Error::invalid(format!("region {} has no server URL", region.name)));
        };
        let mut c = ConnInfo::parse_url(url)?;
        c.password = self.home.secrets().value(&SecretName::RegionPassword(&region.name).to_string())?;
        Ok(c)
    }

    /// Keep a server region's admin password in the secret store.
    pub fn store_region_password(&self, region: &str, password: &str) -> Result<()> {
        self.home.secrets().put(&SecretName::RegionPassword(region).to_string(), SecretKind::Param, None, None, password)?;
        Ok(())
    }

    /// Refuse, before anything is created, a region whose databases cannot
    /// be made here (an embedded cluster under a home `postgres` cannot reach).
    pub(crate) fn check_provider(&self, region: &Region) -> Result<()> {
        if region.provider == Provider::Embedded {
            hubkeep_pg::cluster::check_reachable_by_postgres(&self.home.dir.join("clusters")).map_err(|e| Error::new(ErrorKind::HomeUnreachable, e.to_string()))?;
        }
        Ok(())
    }

    /// Create the stack's database with an owner role. Nothing is left
    /// behind on failure beyond what `drop_database` removes.
    pub(crate) fn provision_database(&self, stack: &str, region: &Region, dbname: &str, owner: &str, owner_password: &str) -> Result<Provisioned> {
        match &region.provider {
            Provider::Embedded => {
                let dir = self.home.cluster_dir(stack);
                if dir.exists() {
                    return Err(Error::conflict(format!(
                        "a database cluster for stack {stack} is already at {}; delete that stack first (`hubkeep stack delete {stack} --yes`)",
                        dir.display()
                    )));
                }
                // Hubs deployments often run as the superuser `postgres`
                // itself: then the restored app logs in as the cluster's
                // superuser, with the source's password.
                let app_is_superuser = owner == SUPERUSER;
                let su = if app_is_superuser { owner_password.to_string() } else { crate::secrets::generate(24) };
                self.home.secrets().put(&SecretName::ClusterSuperuser(stack).to_string(), SecretKind::Param, None, Some(stack), &su)?;
                let cluster = crate::unless_interrupted(&self.cancel, || {
                    let cluster = EmbeddedCluster::init(&dir, &su)?;
                    cluster.start()?;
                    Ok(cluster)
                })?;
                let admin = cluster.superuser(&su, "postgres");
                if app_is_superuser {
                    hubkeep_pg::create_database(&admin, dbname)?;
                } else {
                    hubkeep_pg::create_role_and_database(&admin, dbname, owner, owner_password)?;
                }
                let mut app = cluster.superuser(owner_password, dbname);
                app.user = owner.to_string();
                Ok(Provisioned { admin: admin.with_dbname(dbname), app })
            }
            Provider::Server { .. } => {
                let admin = self.region_admin(region)?;
                if hubkeep_pg::role_exists(&admin, owner)? {
                    return Err(Error::conflict(format!(
                        "role {owner} already exists on the server of region {}: roles are shared by every database of a server, so two stacks would collide; use the embedded provider or another server",
                        region.name
                    )));
                }
                if hubkeep_pg::database_exists(&admin, dbname)? {
                    return Err(Error::conflict(format!(
                        "database {dbname} already exists on the server of region {}; it is not hubkeep's to replace: pick another stack name or drop it yourself",
                        region.name
                    )));
                }
                self.note_made_database(stack, dbname, owner)?;
                hubkeep_pg::create_role_and_database(&admin, dbname, owner, owner_password)?;
                let mut app = admin.with_dbname(dbname);
                app.user = owner.to_string();
                app.password = Some(owner_password.to_string());
                Ok(Provisioned { admin: admin.with_dbname(dbname), app })
            }
        }
    }

    /// Remove a database hubkeep created (never an adopted one).
    pub(crate) fn drop_database(&self, stack: &str, region: &Region, dbname: &str, owner: &str) -> Result<()> {
        match &region.provider {
            Provider::Embedded => {
                let dir = self.home.cluster_dir(stack);
                if dir.exists() {
                    match EmbeddedCluster::open(&dir) {
                        Ok(c) => c.remove()?,
                        Err(_) => remove_dir_as_needed(&dir)?,
                    }
                }
                self.home.secrets().remove_now(&SecretName::ClusterSuperuser(stack).to_string())?;
                Ok(())
            }
            Provider::Server { .. } => {
                let admin = self.region_admin(region)?;
                hubkeep_pg::drop_database(&admin, dbname)?;
                hubkeep_pg::drop_role(&admin, owner)?;
                Ok(())
            }
        }
    }

    /// Record, before they are created, the server database and role this
    /// creation makes, so that `stack delete` of a killed creation drops
    /// them (and nothing it did not make).
    pub(crate) fn note_made_database(&self, stack: &str, dbname: &str, owner: &str) -> Result<()> {
        self.home.catalog.update::<Stack, _>(Kind::Stack, stack, |s| {
            s.made_database = Some((dbname.to_string(), owner.to_string()));
            Ok(())
        })?;
        Ok(())
    }
}

/// Removes a cluster directory that is not (yet) a whole cluster: one whose
/// creation was killed. The killed run's `initdb` can outlive it for a
/// moment and still be writing files, so a removal that finds the
/// directory refilled ("Directory not empty") is tried again for up to
/// 30 s before it is reported.
pub(crate) fn remove_dir_as_needed(dir: &std::path::Path) -> Result<()> {
    let started = std::time::Instant::now();
    loop {
        match std::fs::remove_dir_all(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::DirectoryNotEmpty && started.elapsed() < std::time::Duration::from_secs(30) => {
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
            Err(e) => return Err(Error::new(ErrorKind::Io, format!("cannot remove {}: {e}; if a program still writes there (an initdb of the interrupted run), run the command again once it has ended", dir.display()))),
        }
    }
}

/// A database secret's value: `{"username","password","host","port","dbname"}`.
pub(crate) fn secret_value(c: &ConnInfo) -> serde_json::Value {
    serde_json::json!({
        "username": c.user,
        "password": c.password.clone().unwrap_or_default(),
        "host": c.host,
        "port": c.port,
        "dbname": c.dbname,
    })
}

pub(crate) fn conn_from_secret(value: &str) -> Result<ConnInfo> {
    let v: serde_json::Value = serde_json::from_str(value)
        .map_err(|_| Error::new(ErrorKind::SecretInvalid, "a database secret's value is not the JSON object {\"username\",\"password\",\"host\",\"port\",\"dbname\"}"))?;
    let s = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
    let port = v.get("port").and_then(|p| p.as_u64().or_else(|| p.as_str().and_then(|s| s.parse().ok()))).unwrap_or(5432) as u16;
    Ok(ConnInfo {
        host: s("host").unwrap_or_else(|| "127.0.0.1".into()),
        port,
        user: s("username").ok_or_else(|| Error::new(ErrorKind::SecretInvalid, "the database secret has no username"))?,
        password: s("password").filter(|p| !p.is_empty()),
        dbname: s("dbname").unwrap_or_default(),
    })
}
