//! The one error type of this crate. Every Display is a full sentence for an
//! operator: what went wrong, naming the server, table, stream or directory,
//! and what to do about it. No variant ever carries a password.

use std::path::PathBuf;
use std::time::Duration;

/// Everything that can go wrong while talking to PostgreSQL, snapshotting,
/// restoring or running an embedded cluster.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    /// The database URL does not parse.
    #[error("the database URL is not valid: {reason}; expected postgres://USER:PASSWORD@HOST:PORT/DATABASE")]
    InvalidUrl {
        /// What is wrong with it.
        reason: String,
    },

    /// The server refused or failed the connection.
    #[error("cannot connect to PostgreSQL at {target} as user {user}: {}; check that the server is running and that the URL and password are right", describe_db_error(.source))]
    Connect {
        /// The server (and database) as host:port/dbname, without password.
        target: String,
        /// The user connecting.
        user: String,
        /// The underlying error.
        #[source]
        source: postgres::Error,
    },

    /// The connection was not complete within the connect timeout.
    #[error("PostgreSQL at {server} did not complete the connection (TCP connect, startup and authentication) within {}; check that {server} is a PostgreSQL server that is up and not overloaded, or raise the connect timeout", human_duration(*.timeout))]
    ConnectTimeout {
        /// The server as host:port.
        server: String,
        /// The limit that passed.
        timeout: Duration,
    },

    /// A statement failed on the server.
    #[error("PostgreSQL at {target} failed while {what}: {}", describe_db_error(.source))]
    Query {
        /// The server (and database) as host:port/dbname, without password.
        target: String,
        /// What was being done or named.
        what: String,
        /// The underlying error.
        #[source]
        source: postgres::Error,
    },

    /// A snapshot could not lock a table in time.
    #[error("the snapshot could not lock table {table} within {}: {holder}; retry when that session is done, or end it", human_duration(*.timeout))]
    LockTimeout {
        /// The table, schema-qualified.
        table: String,
        /// Who holds the conflicting lock, as far as pg_locks tells.
        holder: String,
        /// The limit that passed.
        timeout: Duration,
    },

    /// The client tool found is older than the server it must dump.
    #[error("{tool} {tool_version} is older than the PostgreSQL server at {target} (version {server_version}) and cannot dump it; install the PostgreSQL {server_major} client tools (Debian: postgresql-client-{server_major}) so that /usr/lib/postgresql/{server_major}/bin/{tool} exists")]
    ToolTooOld {
        /// The program's name (`pg_dump`, …).
        tool: String,
        /// The program's version.
        tool_version: String,
        /// The server (and database) as host:port/dbname, without password.
        target: String,
        /// The server's version.
        server_version: String,
        /// The server's major version.
        server_major: u32,
    },

    /// The server is older than PostgreSQL 12.
    #[error("the PostgreSQL server at {target} runs version {version}; hubkeep snapshots need PostgreSQL 12 or newer")]
    ServerTooOld {
        /// The server (and database) as host:port/dbname, without password.
        target: String,
        /// The server's version.
        version: String,
    },

    /// The restore target runs an older major version than the snapshot.
    #[error("a restore into {target} needs a server of the snapshot's major version {snapshot_major} or newer, but it runs {version}; restore into a newer server")]
    TargetTooOld {
        /// The server (and database) as host:port/dbname, without password.
        target: String,
        /// The server's version.
        version: String,
        /// The major version the snapshot was taken from.
        snapshot_major: u32,
    },

    /// Tables kept disappearing while the snapshot locked them.
    #[error("tables of {target} kept disappearing while the snapshot locked them (last: {table}); retry when the schema changes in progress are done")]
    SchemaChanging {
        /// The server (and database) as host:port/dbname, without password.
        target: String,
        /// The table, schema-qualified.
        table: String,
    },

    /// A PostgreSQL program is not installed.
    #[error("no {tool} was found in /usr/lib/postgresql/*/bin; install PostgreSQL (Debian: apt-get install postgresql)")]
    ToolMissing {
        /// The program's name (`pg_dump`, …).
        tool: String,
    },

    /// A program could not be started.
    #[error("could not run {program}: {source}")]
    Spawn {
        /// The program that could not be started.
        program: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// A PostgreSQL program ran and failed.
    #[error("{tool} failed while {what} ({status}): {stderr}")]
    Tool {
        /// The program's name (`pg_dump`, …).
        tool: String,
        /// What was being done or named.
        what: String,
        /// How it exited.
        status: String,
        /// What it wrote to stderr.
        stderr: String,
    },

    /// Writing a snapshot stream failed.
    #[error("writing stream {stream} of the snapshot failed: {source}; the snapshot is incomplete and was abandoned")]
    Sink {
        /// The snapshot stream's name.
        stream: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// Reading a snapshot stream failed.
    #[error("reading stream {stream} of the snapshot failed: {source}; check the vault with `hubkeep verify`")]
    Source {
        /// The snapshot stream's name.
        stream: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// A snapshot stream does not match its recorded checksum.
    #[error("stream {stream} of the snapshot does not match its recorded checksum (recorded {expected}, read {actual}); the snapshot is damaged: restore another one")]
    ChecksumMismatch {
        /// The snapshot stream's name.
        stream: String,
        /// The value recorded in the snapshot.
        expected: String,
        /// The value found.
        actual: String,
    },

    /// A restored table has another row count than recorded.
    #[error("table {table} restored {actual} rows but the snapshot recorded {expected}; the restored database is incomplete: drop it and restore again")]
    RowCountMismatch {
        /// The table, schema-qualified.
        table: String,
        /// The value recorded in the snapshot.
        expected: u64,
        /// The value found.
        actual: u64,
    },

    /// The database holds large objects, which snapshots do not carry.
    #[error("database {database} holds {count} large objects, which hubkeep snapshots do not support; move them into bytea columns or back this database up with pg_dump")]
    LargeObjectsUnsupported {
        /// The database's name.
        database: String,
        /// How many large objects it holds.
        count: i64,
    },

    /// The restore target database is not empty.
    #[error("database {database} is not empty: it holds {}; restore only into an empty database (create a new one)", list_objects(.objects))]
    NotEmpty {
        /// The database's name.
        database: String,
        /// The objects found in it.
        objects: Vec<String>,
    },

    /// A restore failed and was undone.
    #[error("{cause}; the restore was undone: database {database} is empty again{}", dropped_roles(.roles))]
    RestoreUndone {
        /// Why the restore failed.
        cause: Box<PgError>,
        /// The database's name.
        database: String,
        /// The roles the restore created.
        roles: Vec<String>,
    },

    /// A restore failed and undoing it failed too.
    #[error("{cause}; undoing the restore also failed: {problem}; drop database {database}{} by hand, then restore into a new empty database", roles_to_drop(.roles))]
    RestoreUndoFailed {
        /// Why the restore failed.
        cause: Box<PgError>,
        /// What went wrong.
        problem: Box<PgError>,
        /// The database's name.
        database: String,
        /// The roles the restore created.
        roles: Vec<String>,
    },

    /// The snapshot's format version is newer than this hubkeep reads.
    #[error("this snapshot has format version {found}, but this hubkeep reads versions 1 to {supported}; use a newer hubkeep to restore it")]
    UnsupportedFormat {
        /// The snapshot's format version.
        found: u32,
        /// The newest format version this hubkeep reads.
        supported: u32,
    },

    /// A database or role to be created already exists.
    #[error("{what} already exists on the PostgreSQL server at {target}; choose another name or drop it first")]
    AlreadyExists {
        /// What was being done or named.
        what: String,
        /// The server (and database) as host:port/dbname, without password.
        target: String,
    },

    /// The `postgres` OS user cannot reach the cluster directory.
    #[error("the PostgreSQL cluster directory {dir} cannot be reached by the `postgres` OS user: {blocking} has mode {mode:04o}; run `chmod o+x {blocking}` or choose a hubkeep home outside it (--home)")]
    NotReachable {
        /// The cluster directory.
        dir: PathBuf,
        /// The directory on the way that blocks it.
        blocking: PathBuf,
        /// That directory's permission bits.
        mode: u32,
    },

    /// An embedded cluster operation failed.
    #[error("the embedded PostgreSQL cluster in {dir} {problem}")]
    Cluster {
        /// The cluster directory.
        dir: PathBuf,
        /// What went wrong.
        problem: String,
    },

    /// A file or directory operation failed.
    #[error("{what} {path} failed: {source}")]
    Io {
        /// What was being done or named.
        what: String,
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
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
