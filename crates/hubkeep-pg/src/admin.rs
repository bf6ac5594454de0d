//! Small administrative operations on a server: its version, whether a
//! database is empty, provisioning a database with its owning role.

use crate::conninfo::ConnInfo;
use crate::error::PgError;
use crate::inspect::{self, query_failed};
use crate::roles::scram_verifier;
use crate::sql::{ident, literal};
use crate::tools::Version;

/// The server's version, e.g. 15.18.
pub fn server_version(conn: &ConnInfo) -> Result<Version, PgError> {
    let mut client = conn.connect()?;
    let num: i32 = client
        .query_one("SELECT current_setting('server_version_num')::int4", &[])
        .map_err(query_failed(&conn.target(), "reading the server version"))?
        .get(0);
    Ok(Version::from_num(num as u32))
}

/// The server's major version, e.g. 15.
pub fn server_major_version(conn: &ConnInfo) -> Result<u32, PgError> {
    server_version(conn).map(|v| v.major)
}

/// The user objects in `conn`'s database (`table ret0.hubs`, `schema ret0`,
/// …). A restore refuses a database for which this is not empty.
pub fn database_user_objects(conn: &ConnInfo) -> Result<Vec<String>, PgError> {
    let mut client = conn.connect()?;
    inspect::database_user_objects(&mut client, &conn.target())
}

/// Creates a login role `owner` with `password` and a database `db` it
/// owns (UTF8, template0), as the administrator `admin`. Refuses when the
/// role or the database already exists: an existing role's password is
/// never changed. The password reaches the server only as a SCRAM verifier.
pub fn create_role_and_database(
    admin: &ConnInfo,
    db: &str,
    owner: &str,
    password: &str,
) -> Result<(), PgError> {
    let target = admin.target();
    let mut client = admin.connect()?;
    let role_exists = client
        .query_opt(
            "SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1",
            &[&owner],
        )
        .map_err(query_failed(&target, "looking up the role"))?
        .is_some();
    if role_exists {
        return Err(PgError::AlreadyExists {
            what: format!("role {owner}"),
            target: format!("{}:{}", admin.host, admin.port),
        });
    }
    let db_exists = client
        .query_opt(
            "SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1",
            &[&db],
        )
        .map_err(query_failed(&target, "looking up the database"))?
        .is_some();
    if db_exists {
        return Err(PgError::AlreadyExists {
            what: format!("database {db}"),
            target: format!("{}:{}", admin.host, admin.port),
        });
    }
    client
        .batch_execute(&format!(
            "CREATE ROLE {} LOGIN PASSWORD {}",
            ident(owner),
            literal(&scram_verifier(password))
        ))
        .map_err(query_failed(&target, &format!("creating role {owner}")))?;
    // The role must be a member of itself for the creator to hand it a
    // database: a non-superuser creator needs membership (superusers don't).
    let is_superuser: bool = client
        .query_one(
            "SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user",
            &[],
        )
        .map_err(query_failed(&target, "checking the administrator's rights"))?
        .get(0);
    if !is_superuser {
        client
            .batch_execute(&format!("GRANT {} TO CURRENT_USER", ident(owner)))
            .map_err(query_failed(
                &target,
                &format!("granting role {owner} to the administrator"),
            ))?;
    }
    client
        .batch_execute(&format!(
            "CREATE DATABASE {} OWNER {} ENCODING 'UTF8' TEMPLATE template0",
            ident(db),
            ident(owner)
        ))
        .map_err(query_failed(&target, &format!("creating database {db}")))?;
    Ok(())
}

/// Drops a database (terminating its sessions first); no error when it
/// does not exist.
pub fn drop_database(admin: &ConnInfo, db: &str) -> Result<(), PgError> {
    let mut client = admin.connect()?;
    client
        .batch_execute(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            ident(db)
        ))
        .map_err(query_failed(
            &admin.target(),
            &format!("dropping database {db}"),
        ))
}
