//! The migration level of a database an Ecto application (such as Reticulum)
//! manages: the newest version in its `schema_migrations` table. A backup
//! records it so an operator can tell which app schema a snapshot holds.

use crate::conninfo::ConnInfo;
use crate::error::PgError;
use crate::inspect::query_failed;
use crate::sql::{literal, qualified};

/// The newest version in `schema.schema_migrations` of `conn`'s database,
/// or `None` when that table does not exist or is empty.
pub fn ecto_migration_level(conn: &ConnInfo, schema: &str) -> Result<Option<i64>, PgError> {
    let target = conn.target();
    let mut client = conn.connect()?;
    let table = qualified(schema, "schema_migrations");
    let exists: bool = client
        .query_one(
            &format!("SELECT to_regclass({}) IS NOT NULL", literal(&table)),
            &[],
        )
        .map_err(query_failed(
            &target,
            "looking for the schema_migrations table",
        ))?
        .get(0);
    if !exists {
        return Ok(None);
    }
    let row = client
        .query_one(&format!("SELECT max(version)::int8 FROM {table}"), &[])
        .map_err(query_failed(
            &target,
            &format!("reading the migration level in {table}"),
        ))?;
    Ok(row.get(0))
}

/// The role owning `schema` in `conn`'s database, or `None` when the
/// database has no such schema.
pub fn schema_owner(conn: &ConnInfo, schema: &str) -> Result<Option<String>, PgError> {
    let target = conn.target();
    let mut client = conn.connect()?;
    let row = client
        .query_opt(
            "SELECT pg_catalog.pg_get_userbyid(nspowner) FROM pg_catalog.pg_namespace WHERE nspname = $1",
            &[&schema],
        )
        .map_err(query_failed(&target, &format!("reading the owner of schema {schema}")))?;
    Ok(row.map(|r| r.get(0)))
}
