//! The statements of offline mode: a database stops accepting the app's
//! connections and loses the sessions it has, then gets its previous
//! connection limit back. `CONNECTION LIMIT 0` stops every role except
//! superusers, so the caller must be one (see [`crate::is_superuser`]) to
//! keep working in the database meanwhile.

use crate::conninfo::ConnInfo;
use crate::error::PgError;
use crate::inspect::query_failed;
use crate::sql::ident;

/// A database's connection limit (`-1`: no limit), or `None` when the
/// server has no database `db`.
pub fn connection_limit(conn: &ConnInfo, db: &str) -> Result<Option<i32>, PgError> {
    let mut client = conn.connect()?;
    let row = client
        .query_opt(
            "SELECT datconnlimit FROM pg_catalog.pg_database WHERE datname = $1",
            &[&db],
        )
        .map_err(query_failed(
            &conn.target(),
            &format!("reading the connection limit of database {db}"),
        ))?;
    Ok(row.map(|row| row.get(0)))
}

/// Sets `db`'s connection limit to 0 and terminates every session in it
/// of a role that is not a superuser, except the caller's own. Returns how
/// many sessions were terminated.
pub fn block_connections(conn: &ConnInfo, db: &str) -> Result<u64, PgError> {
    let target = conn.target();
    let mut client = conn.connect()?;
    client
        .batch_execute(&format!("ALTER DATABASE {} CONNECTION LIMIT 0", ident(db)))
        .map_err(query_failed(
            &target,
            &format!("blocking new connections to database {db}"),
        ))?;
    let ended = client
        .query(
            "SELECT pg_terminate_backend(a.pid) FROM pg_catalog.pg_stat_activity a \
             JOIN pg_catalog.pg_roles r ON r.oid = a.usesysid \
             WHERE a.datname = $1 AND a.pid <> pg_backend_pid() AND NOT r.rolsuper",
            &[&db],
        )
        .map_err(query_failed(
            &target,
            &format!("ending the app's sessions in database {db}"),
        ))?;
    Ok(ended.iter().filter(|row| row.get::<_, bool>(0)).count() as u64)
}

/// Gives `db` the connection limit `limit` (the one [`connection_limit`]
/// read before [`block_connections`]).
pub fn set_connection_limit(conn: &ConnInfo, db: &str, limit: i32) -> Result<(), PgError> {
    let mut client = conn.connect()?;
    client
        .batch_execute(&format!(
            "ALTER DATABASE {} CONNECTION LIMIT {limit}",
            ident(db)
        ))
        .map_err(query_failed(
            &conn.target(),
            &format!("allowing connections to database {db} again"),
        ))
}
