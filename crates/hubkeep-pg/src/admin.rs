//! Small administrative operations on a server: its version, whether a
//! database is empty, whether a role or database exists, provisioning a
//! database (with its owning role) and dropping one. Every statement the
//! service layer needs lives here, so it writes no SQL of its own.

use crate::conninfo::ConnInfo;
use crate::error::PgError;
use crate::inspect::{self, query_failed};
use crate::roles::scram_verifier;
use crate::sql::{ident, literal};
use crate::tools::Version;

/// Quotes an identifier for SQL text: `"name"` with embedded quotes
/// doubled. The one quoting function of hubkeep.
pub use crate::sql::ident as quote_ident;

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
    refuse_existing(&mut client, admin, Existing::Role, owner)?;
    refuse_existing(&mut client, admin, Existing::Database, db)?;
    client
        .batch_execute(&format!(
            "CREATE ROLE {} LOGIN PASSWORD {}",
            ident(owner),
            literal(&scram_verifier(password))
        ))
        .map_err(query_failed(&target, &format!("creating role {owner}")))?;
    // The role must be a member of itself for the creator to hand it a
    // database: a non-superuser creator needs membership (superusers don't).
    if !logged_in_as_superuser(&mut client, admin)? {
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

/// Creates the database `db` owned by the administrator `admin` logs in
/// as (UTF8, template0), for an app that logs in as that same role.
/// Refuses an existing database.
pub fn create_database(admin: &ConnInfo, db: &str) -> Result<(), PgError> {
    let mut client = admin.connect()?;
    refuse_existing(&mut client, admin, Existing::Database, db)?;
    client
        .batch_execute(&format!(
            "CREATE DATABASE {} ENCODING 'UTF8' TEMPLATE template0",
            ident(db)
        ))
        .map_err(query_failed(
            &admin.target(),
            &format!("creating database {db}"),
        ))
}

/// Drops a role; no error when it does not exist. Fails (naming what
/// depends on it) while a database or object still belongs to it.
pub fn drop_role(admin: &ConnInfo, role: &str) -> Result<(), PgError> {
    let mut client = admin.connect()?;
    client
        .batch_execute(&format!("DROP ROLE IF EXISTS {}", ident(role)))
        .map_err(query_failed(
            &admin.target(),
            &format!("dropping role {role}"),
        ))
}

/// Whether the server `conn` reaches has a role named `role`.
pub fn role_exists(conn: &ConnInfo, role: &str) -> Result<bool, PgError> {
    exists(&mut conn.connect()?, conn, Existing::Role, role)
}

/// Whether the server `conn` reaches has a database named `db`.
pub fn database_exists(conn: &ConnInfo, db: &str) -> Result<bool, PgError> {
    exists(&mut conn.connect()?, conn, Existing::Database, db)
}

/// Whether the role `conn` logs in as is a superuser.
pub fn is_superuser(conn: &ConnInfo) -> Result<bool, PgError> {
    logged_in_as_superuser(&mut conn.connect()?, conn)
}

fn logged_in_as_superuser(client: &mut postgres::Client, conn: &ConnInfo) -> Result<bool, PgError> {
    let row = client
        .query_one(
            "SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user",
            &[],
        )
        .map_err(query_failed(
            &conn.target(),
            "checking the login role's rights",
        ))?;
    Ok(row.get(0))
}

#[derive(Clone, Copy)]
enum Existing {
    Role,
    Database,
}

/// Refuses a role or database that is already there, naming it.
fn refuse_existing(
    client: &mut postgres::Client,
    conn: &ConnInfo,
    kind: Existing,
    name: &str,
) -> Result<(), PgError> {
    if exists(client, conn, kind, name)? {
        let what = match kind {
            Existing::Role => format!("role {name}"),
            Existing::Database => format!("database {name}"),
        };
        return Err(PgError::AlreadyExists {
            what,
            target: format!("{}:{}", conn.host, conn.port),
        });
    }
    Ok(())
}

fn exists(
    client: &mut postgres::Client,
    conn: &ConnInfo,
    kind: Existing,
    name: &str,
) -> Result<bool, PgError> {
    let (sql, what) = match kind {
        Existing::Role => (
            "SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1",
            "looking up the role",
        ),
        Existing::Database => (
            "SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1",
            "looking up the database",
        ),
    };
    Ok(client
        .query_opt(sql, &[&name])
        .map_err(query_failed(&conn.target(), what))?
        .is_some())
}
