//! The one error type of this crate. Every Display is a full sentence for an
//! operator: what went wrong, naming the server, table, stream or directory,
//! and what to do about it. No variant ever carries a password.

use std::path::PathBuf;
use std::time::Duration;

/// Everything that can go wrong while talking to PostgreSQL, snapshotting,
/// restoring or running an embedded cluster.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    #[error("the database URL is not valid: {reason}; expected postgres://USER:PASSWORD@HOST:PORT/DATABASE")]
    InvalidUrl { reason: String },

    #[error("cannot connect to PostgreSQL at {target} as user {user}: {}; check that the server is running and that the URL and password are right", describe_db_error(.source))]
    Connect {
        target: String,
        user: String,
        #[source]
        source: postgres::Error,
    },

    #[error("PostgreSQL at {server} did not complete the connection (TCP connect, startup and authentication) within {}; check that {server} is a PostgreSQL server that is up and not overloaded, or raise the connect timeout", human_duration(*.timeout))]
    ConnectTimeout { server: String, timeout: Duration },

    #[error("PostgreSQL at {target} failed while {what}: {}", describe_db_error(.source))]
    Query {
        target: String,
        what: String,
        #[source]
        source: postgres::Error,
    },

    #[error("the snapshot could not lock table {table} within {}: {holder}; retry when that session is done, or end it", human_duration(*.timeout))]
    LockTimeout {
        table: String,
        /// Who holds the conflicting lock, as far as pg_locks tells.
        holder: String,
        timeout: Duration,
    },

    #[error("{tool} {tool_version} is older than the PostgreSQL server at {target} (version {server_version}) and cannot dump it; install the PostgreSQL {server_major} client tools (Debian: postgresql-client-{server_major}) so that /usr/lib/postgresql/{server_major}/bin/{tool} exists")]
    ToolTooOld {
        tool: String,
        tool_version: String,
        target: String,
        server_version: String,
        server_major: u32,
    },

    #[error("the PostgreSQL server at {target} runs version {version}; hubkeep snapshots need PostgreSQL 12 or newer")]
    ServerTooOld { target: String, version: String },

    #[error("a restore into {target} needs a server of the snapshot's major version {snapshot_major} or newer, but it runs {version}; restore into a newer server")]
    TargetTooOld {
        target: String,
        version: String,
        snapshot_major: u32,
    },

    #[error("tables of {target} kept disappearing while the snapshot locked them (last: {table}); retry when the schema changes in progress are done")]
    SchemaChanging { target: String, table: String },

    #[error("no {tool} was found in /usr/lib/postgresql/*/bin; install PostgreSQL (Debian: apt-get install postgresql)")]
    ToolMissing { tool: String },

    #[error("could not run {program}: {source}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },

    #[error("{tool} failed while {what} ({status}): {stderr}")]
    Tool {
        tool: String,
        what: String,
        status: String,
        stderr: String,
    },

    #[error("writing stream {stream} of the snapshot failed: {source}; the snapshot is incomplete and was abandoned")]
    Sink {
        stream: String,
        #[source]
        source: std::io::Error,
    },

    #[error("reading stream {stream} of the snapshot failed: {source}; check the vault with `hubkeep verify`")]
    Source {
        stream: String,
        #[source]
        source: std::io::Error,
    },

    #[error("stream {stream} of the snapshot does not match its recorded checksum (recorded {expected}, read {actual}); the snapshot is damaged: restore another one")]
    ChecksumMismatch {
        stream: String,
        expected: String,
        actual: String,
    },

    #[error("table {table} restored {actual} rows but the snapshot recorded {expected}; the restored database is incomplete: drop it and restore again")]
    RowCountMismatch {
        table: String,
        expected: u64,
        actual: u64,
    },

    #[error("database {database} holds {count} large objects, which hubkeep snapshots do not support; move them into bytea columns or back this database up with pg_dump")]
    LargeObjectsUnsupported { database: String, count: i64 },

    #[error("database {database} is not empty: it holds {}; restore only into an empty database (create a new one)", list_objects(.objects))]
    NotEmpty {
        database: String,
        objects: Vec<String>,
    },

    #[error("{cause}; the restore was undone: database {database} is empty again{}", dropped_roles(.roles))]
    RestoreUndone {
        cause: Box<PgError>,
        database: String,
        roles: Vec<String>,
    },

    #[error("{cause}; undoing the restore also failed: {problem}; drop database {database}{} by hand, then restore into a new empty database", roles_to_drop(.roles))]
    RestoreUndoFailed {
        cause: Box<PgError>,
        problem: Box<PgError>,
        database: String,
        roles: Vec<String>,
    },

    #[error("this snapshot has format version {found}, but this hubkeep reads versions 1 to {supported}; use a newer hubkeep to restore it")]
    UnsupportedFormat { found: u32, supported: u32 },

    #[error("{what} already exists on the PostgreSQL server at {target}; choose another name or drop it first")]
    AlreadyExists { what: String, target: String },

    #[error("the PostgreSQL cluster directory {dir} cannot be reached by the `postgres` OS user: {blocking} has mode {mode:04o}; run `chmod o+x {blocking}` or choose a hubkeep home outside it (--home)")]
    NotReachable {
        dir: PathBuf,
        blocking: PathBuf,
        mode: u32,
    },

    #[error("the embedded PostgreSQL cluster in {dir} {problem}")]
    Cluster { dir: PathBuf, problem: String },

    #[error("{what} {path} failed: {source}")]
    Io {
        what: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl PgError {
    /// What `program` failing to start or to be waited for becomes (for
    /// `map_err`).
    pub(crate) fn spawn_failed(program: &std::path::Path) -> impl FnOnce(std::io::Error) -> PgError + '_ {
        move |source| PgError::Spawn { program: program.display().to_string(), source }
    }

    pub(crate) fn io(what: &str, path: &std::path::Path, source: std::io::Error) -> PgError {
        PgError::Io {
            what: what.to_string(),
            path: path.to_path_buf(),
            source,
        }
    }
}

/// The server's own message (with detail and hint when present) is more
/// useful than tokio-postgres' generic "db error".
fn describe_db_error(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut s = format!("{} ({})", db.message(), db.code().code());
            if let Some(detail) = db.detail() {
                s.push_str(&format!("; {detail}"));
            }
            if let Some(hint) = db.hint() {
                s.push_str(&format!("; hint: {hint}"));
            }
            s
        }
        None => e.to_string(),
    }
}

fn dropped_roles(roles: &[String]) -> String {
    if roles.is_empty() {
        String::new()
    } else {
        format!(
            " and the roles it created ({}) were dropped",
            roles.join(", ")
        )
    }
}

fn roles_to_drop(roles: &[String]) -> String {
    if roles.is_empty() {
        String::new()
    } else {
        format!(
            " and the roles {} that it may have created",
            roles.join(", ")
        )
    }
}

fn list_objects(objects: &[String]) -> String {
    const SHOWN: usize = 5;
    let mut s = objects
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if objects.len() > SHOWN {
        s.push_str(&format!(" and {} more objects", objects.len() - SHOWN));
    }
    s
}

fn human_duration(d: Duration) -> String {
    if d.as_millis().is_multiple_of(1000) {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_empty_lists_first_objects_and_counts_the_rest() {
        let e = PgError::NotEmpty {
            database: "ret".into(),
            objects: (1..=7).map(|i| format!("table ret0.t{i}")).collect(),
        };
        let s = e.to_string();
        assert!(
            s.starts_with("database ret is not empty: it holds table ret0.t1, "),
            "{s}"
        );
        assert!(s.contains("table ret0.t5 and 2 more objects"), "{s}");
    }

    #[test]
    fn lock_timeout_names_table_and_duration() {
        let e = PgError::LockTimeout {
            table: "ret0.hubs".into(),
            holder: "pid 42 (user bob) holds AccessExclusiveLock".into(),
            timeout: Duration::from_millis(500),
        };
        assert!(e
            .to_string()
            .contains("lock table ret0.hubs within 500ms: pid 42"));
    }
}
