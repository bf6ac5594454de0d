//! Taking a snapshot: one exported MVCC snapshot, every table locked
//! against DDL for as long as it is being read, schema from pg_dump, each
//! table's rows in primary-key order as its own stream, straight into the
//! caller's sink. The stream layout is specified in docs/snapshot-format.md.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use postgres::error::SqlState;
use postgres::Client;

use crate::conninfo::ConnInfo;
use crate::copy_out::{CopyQueue, TableReceiver};
use crate::error::PgError;
use crate::hashing::HashingReader;
use crate::inspect::{self, query_failed, DataTable};
use crate::meta::{self, SnapshotMeta, StreamMeta, TableMeta};
use crate::ranges::{self, TablePlan};
use crate::roles;
use crate::sql::{ident, literal, qualified};
use crate::tools::{self, exit_text, StderrTail, Version};

/// Where a snapshot's streams go, one after another, each read to its end.
/// The lead implements it on the vault (`SnapshotWriter::add_stream`).
pub trait SnapshotSink {
    /// Stores the stream `name`, reading `data` to its end.
    fn put_stream(&mut self, name: &str, data: &mut dyn Read) -> std::io::Result<()>;
}

/// A callback for progress lines such as `table ret0.hubs (3/40)`.
pub type Progress = Arc<dyn Fn(&str) + Send + Sync>;

/// How a snapshot runs.
pub struct SnapshotOptions {
    /// How long to wait for each table's ACCESS SHARE lock (a DDL holding
    /// an exclusive lock otherwise hangs the snapshot). Default 30 s.
    pub lock_timeout: Duration,
    /// Passwords of roles hubkeep knows (role → password). Recorded in
    /// roles.sql only as SCRAM verifiers. Other roles keep the verifier the
    /// server stores (SCRAM or MD5) when the snapshot may read `pg_authid`
    /// (a superuser); otherwise they are recorded without a password and
    /// the metadata warns about the login roles among them.
    pub role_passwords: BTreeMap<String, String>,
    /// Names of database-level settings to leave out (see
    /// `DbSetting::name`), e.g. `connection_limit` while offline mode has
    /// set a temporary one.
    pub ignore_db_settings: Vec<String>,
    /// A callback for progress lines.
    pub progress: Option<Progress>,
    /// Sessions copying tables at once, all inside the one exported
    /// snapshot. Default: the number of cores (at least 2).
    pub jobs: usize,
    /// A table whose primary key can be sorted and whose heap is larger
    /// than this is copied as key ranges of about this size, by several
    /// sessions at once; its stream is the same bytes either way. Default
    /// 64 MiB; 0 never splits.
    pub range_bytes: u64,
}

impl Default for SnapshotOptions {
    fn default() -> SnapshotOptions {
        SnapshotOptions {
            lock_timeout: Duration::from_secs(30),
            role_passwords: BTreeMap::new(),
            ignore_db_settings: Vec::new(),
            progress: None,
            jobs: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
                .max(2),
            range_bytes: 64 * 1024 * 1024,
        }
    }
}

impl fmt::Debug for SnapshotOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SnapshotOptions")
            .field("lock_timeout", &self.lock_timeout)
            .field(
                "role_passwords",
                &self.role_passwords.keys().collect::<Vec<_>>(),
            )
            .field("ignore_db_settings", &self.ignore_db_settings)
            .field("jobs", &self.jobs)
            .field("range_bytes", &self.range_bytes)
            .finish()
    }
}

/// Oldest server whose catalogs this crate reads (generated columns).
const OLDEST_SERVER_MAJOR: u32 = 12;

/// Takes a consistent snapshot of the database `conn` names and writes its
/// streams into `sink`. Returns the metadata (also written last as
/// `meta.json`). Needs a role that can read every table and sequence
/// (normally the owner or a superuser). On error the sink has received a
/// partial set of streams, which the caller must discard.
pub fn create_snapshot(
    conn: &ConnInfo,
    sink: &mut dyn SnapshotSink,
    opts: &SnapshotOptions,
) -> Result<SnapshotMeta, PgError> {
    let target = conn.target();
    let progress = |msg: &str| {
        if let Some(p) = &opts.progress {
            p(msg)
        }
    };
    let mut main = conn.connect()?;
    let (server, database, encoding) = server_facts(&mut main, &target)?;
    if server.major < OLDEST_SERVER_MAJOR {
        return Err(PgError::ServerTooOld {
            target,
            version: server.to_string(),
        });
    }
    let pg_dump = tools::tool_for_server("pg_dump", server, &target)?;
    let pg_dump_version = tools::tool_version(&pg_dump)?;
    if pg_dump_version.major < server.major {
        return Err(PgError::ToolTooOld {
            tool: "pg_dump".into(),
            tool_version: pg_dump_version.to_string(),
            target,
            server_version: server.to_string(),
            server_major: server.major,
        });
    }
    let large_objects = inspect::large_object_count(&mut main, &target)?;
    if large_objects > 0 {
        return Err(PgError::LargeObjectsUnsupported {
            database,
            count: large_objects,
        });
    }

    main.batch_execute(&format!(
        "SET lock_timeout = {}; SET statement_timeout = 0; SET idle_in_transaction_session_timeout = 0",
        opts.lock_timeout.as_millis().max(1)
    ))
    .map_err(query_failed(&target, "preparing the snapshot session"))?;
    let exported = lock_and_export(&mut main, conn, opts.lock_timeout)?;

    let sequences = inspect::sequences(&mut main, &target)?;
    let (mut role_list, memberships) = inspect::referenced_roles(&mut main, &target)?;
    let names: Vec<String> = role_list.iter().map(|r| r.name.clone()).collect();
    let stored = inspect::password_verifiers(&mut main, &target, &names)?;
    let mut warnings = Vec::new();
    let mut verifiers: BTreeMap<String, String> = BTreeMap::new();
    let mut unreadable = Vec::new();
    for r in role_list.iter_mut() {
        // A password hubkeep knows wins; else the server's own verifier.
        let verifier = match opts.role_passwords.get(&r.name) {
            Some(pw) => Some(roles::scram_verifier(pw)),
            None => stored.as_ref().and_then(|s| s.get(&r.name).cloned()),
        };
        match verifier {
            Some(v) => {
                r.password_recorded = true;
                verifiers.insert(r.name.clone(), v);
            }
            None if r.can_login && stored.is_none() => unreadable.push(r.name.clone()),
            None => {}
        }
    }
    if !unreadable.is_empty() {
        let warning = format!(
            "the passwords of login roles {} could not be read (reading pg_authid needs a superuser): a restore that creates them makes them NOLOGIN unless it is given their passwords",
            unreadable.join(", ")
        );
        progress(&format!("warning: {warning}"));
        warnings.push(warning);
    }
    let ignored: BTreeSet<String> = opts
        .ignore_db_settings
        .iter()
        .map(|s| s.to_ascii_lowercase())
        .collect();
    let mut db_settings = inspect::database_owner_and_comment(&mut main, &target)?;
    db_settings.extend(inspect::database_settings(&mut main, &target)?);
    let db_settings: Vec<_> = db_settings
        .into_iter()
        .filter(|s| !ignored.contains(&s.name.to_ascii_lowercase()))
        .collect();

    let plans = ranges::plan_tables(
        &mut main,
        &target,
        &exported.tables,
        opts.range_bytes,
        &|t, n| progress(&format!("table {} in {n} key ranges", t.display_name())),
    )?;
    let dump = PgDump {
        program: &pg_dump,
        conn,
        snapshot_id: &exported.snapshot_id,
        lock_timeout: opts.lock_timeout,
    };
    let copies: Vec<(&DataTable, &[String])> = exported
        .tables
        .iter()
        .zip(&plans)
        .map(|(t, p)| (t, p.copies.as_slice()))
        .collect();
    let (queue, receivers) = CopyQueue::new(&copies);
    let lock_error =
        |t: &DataTable| LockFailure::Timeout(t.clone()).into_error(conn, opts.lock_timeout);
    let roles_sql = roles::roles_script(&role_list, &memberships, &verifiers, stored.is_some());
    let written = std::thread::scope(|scope| {
        // Both schema sections are dumped while the tables are copied.
        let pre_data = scope.spawn(|| dump.section("pre-data"));
        let post_data = scope.spawn(|| dump.section("post-data"));
        queue.start(
            scope,
            opts.jobs,
            conn,
            &exported.snapshot_id,
            opts.lock_timeout,
            &lock_error,
        );
        let written = (|| {
            let mut scripts = Vec::new();
            progress("roles");
            scripts.push(put_bytes(sink, meta::STREAM_ROLES, roles_sql.as_bytes())?);
            progress("pre-data schema");
            let pre = join_dump(pre_data)?;
            scripts.push(put_bytes(sink, meta::STREAM_PRE_DATA, &pre)?);
            let count = exported.tables.len();
            let mut tables = Vec::with_capacity(count);
            for (i, ((table, plan), rx)) in exported
                .tables
                .iter()
                .zip(&plans)
                .zip(receivers)
                .enumerate()
            {
                progress(&format!(
                    "table {} ({}/{count})",
                    table.display_name(),
                    i + 1
                ));
                tables.push(copy_table(sink, table, plan, rx, &queue)?);
            }
            progress("sequences");
            scripts.push(put_bytes(
                sink,
                meta::STREAM_SEQUENCES,
                sequences_script(&sequences).as_bytes(),
            )?);
            progress("database settings");
            scripts.push(put_bytes(
                sink,
                meta::STREAM_DB_SETTINGS,
                settings_script(&db_settings).as_bytes(),
            )?);
            progress("post-data schema");
            let post = join_dump(post_data)?;
            scripts.push(put_bytes(sink, meta::STREAM_POST_DATA, &post)?);
            Ok((scripts, tables))
        })();
        if written.is_err() {
            queue.abandon();
        }
        written
    });
    let (scripts, tables) = written?;

    // Every table has been read: the locks and the exported snapshot can go.
    main.batch_execute("COMMIT")
        .map_err(query_failed(&target, "ending the snapshot transaction"))?;

    let size_bytes =
        scripts.iter().map(|s| s.bytes).sum::<u64>() + tables.iter().map(|t| t.bytes).sum::<u64>();
    let meta = SnapshotMeta {
        format_version: meta::FORMAT_VERSION,
        server_version: server.to_string(),
        server_version_num: server_num(server),
        pg_dump_version: pg_dump_version.to_string(),
        database,
        encoding,
        size_bytes,
        created_at: exported.created_at,
        scripts,
        tables,
        sequences,
        roles: role_list,
        memberships,
        db_settings,
        warnings,
    };
    let json = serde_json::to_vec_pretty(&meta).expect("snapshot metadata always serializes");
    put_bytes(sink, meta::STREAM_META, &json)?;
    Ok(meta)
}

fn server_num(v: Version) -> u32 {
    v.major * 10_000 + v.minor
}

fn server_facts(client: &mut Client, target: &str) -> Result<(Version, String, String), PgError> {
    let row = client
        .query_one(
            "SELECT current_setting('server_version_num')::int4, current_database()::text,
                    pg_catalog.pg_encoding_to_char(d.encoding)::text
             FROM pg_catalog.pg_database d WHERE d.datname = current_database()",
            &[],
        )
        .map_err(query_failed(target, "reading the server version"))?;
    let num: i32 = row.get(0);
    Ok((Version::from_num(num as u32), row.get(1), row.get(2)))
}

struct Exported {
    snapshot_id: String,
    created_at: DateTime<Utc>,
    tables: Vec<DataTable>,
}

/// Starts the snapshot transaction: ACCESS SHARE locks on every table
/// first, then the snapshot (LOCK does not take one), so no table can have
/// been rewritten between the snapshot's instant and its lock. A table
/// dropped between listing and locking makes us list again.
fn lock_and_export(
    main: &mut Client,
    conn: &ConnInfo,
    timeout: Duration,
) -> Result<Exported, PgError> {
    let target = conn.target();
    let mut attempts = 0;
    loop {
        attempts += 1;
        let listed = inspect::data_tables(main, &target)?;
        main.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .map_err(query_failed(&target, "starting the snapshot transaction"))?;
        let mut locked = BTreeSet::new();
        match lock_tables(main, &listed, &mut locked) {
            Ok(()) => {}
            Err(LockFailure::Vanished(_)) if attempts < 5 => {
                main.batch_execute("ROLLBACK")
                    .map_err(query_failed(&target, "retrying the table locks"))?;
                continue;
            }
            Err(failure) => {
                // Rolling back only matters while the connection is alive.
                let _ = main.batch_execute("ROLLBACK");
                return Err(failure.into_error(conn, timeout));
            }
        }
        let row = main
            .query_one(
                "SELECT pg_catalog.pg_export_snapshot(),
                        (extract(epoch FROM statement_timestamp()) * 1000000)::int8",
                &[],
            )
            .map_err(query_failed(&target, "exporting the snapshot"))?;
        let snapshot_id: String = row.get(0);
        let created_at =
            DateTime::<Utc>::from_timestamp_micros(row.get(1)).unwrap_or_else(Utc::now);
        // Tables created after the listing but before the snapshot are in
        // it: lock them too before reading them.
        let tables = inspect::data_tables(main, &target)?;
        let late: Vec<DataTable> = tables
            .iter()
            .filter(|t| !locked.contains(&t.oid))
            .cloned()
            .collect();
        lock_tables(main, &late, &mut locked).map_err(|f| f.into_error(conn, timeout))?;
        return Ok(Exported {
            snapshot_id,
            created_at,
            tables,
        });
    }
}

enum LockFailure {
    Vanished(String),
    Timeout(DataTable),
    Other(String, postgres::Error),
}

impl LockFailure {
    fn into_error(self, conn: &ConnInfo, timeout: Duration) -> PgError {
        match self {
            LockFailure::Timeout(table) => PgError::LockTimeout {
                holder: describe_lock_holder(conn, table.oid),
                table: table.display_name(),
                timeout,
            },
            LockFailure::Vanished(table) => PgError::SchemaChanging {
                target: conn.target(),
                table,
            },
            LockFailure::Other(name, source) => PgError::Query {
                target: conn.target(),
                what: format!("locking table {name}"),
                source,
            },
        }
    }
}

fn lock_tables(
    main: &mut Client,
    tables: &[DataTable],
    locked: &mut BTreeSet<u32>,
) -> Result<(), LockFailure> {
    for t in tables {
        let sql = format!(
            "LOCK TABLE ONLY {} IN ACCESS SHARE MODE",
            qualified(&t.schema, &t.name)
        );
        match main.batch_execute(&sql) {
            Ok(()) => {
                locked.insert(t.oid);
            }
            Err(e) if e.code() == Some(&SqlState::LOCK_NOT_AVAILABLE) => {
                return Err(LockFailure::Timeout(t.clone()))
            }
            Err(e) if e.code() == Some(&SqlState::UNDEFINED_TABLE) => {
                return Err(LockFailure::Vanished(t.display_name()))
            }
            Err(e) => return Err(LockFailure::Other(t.display_name(), e)),
        }
    }
    Ok(())
}

/// Who holds (or waits ahead of us for) an exclusive lock on the table, as
/// far as a fresh session can tell.
fn describe_lock_holder(conn: &ConnInfo, table_oid: u32) -> String {
    let fallback = "another session holds a conflicting lock on it".to_string();
    let Ok(mut client) = conn.connect() else {
        return fallback;
    };
    let row = client.query_opt(
        "SELECT l.pid, coalesce(a.usename::text, '?'), coalesce(a.application_name, ''),
                coalesce(a.state, ''), l.mode, l.granted
         FROM pg_catalog.pg_locks l LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
         WHERE l.locktype = 'relation' AND l.relation = $1
           AND l.mode = 'AccessExclusiveLock' AND l.pid <> pg_backend_pid()
         ORDER BY l.granted DESC LIMIT 1",
        &[&table_oid],
    );
    match row {
        Ok(Some(r)) => {
            let pid: i32 = r.get(0);
            let user: String = r.get(1);
            let app: String = r.get(2);
            let state: String = r.get(3);
            let mode: String = r.get(4);
            let granted: bool = r.get(5);
            let app = if app.is_empty() {
                String::new()
            } else {
                format!(", application {app}")
            };
            let state = if state.is_empty() {
                String::new()
            } else {
                format!(", {state}")
            };
            let verb = if granted {
                "holds"
            } else {
                "is queued ahead for"
            };
            format!("session pid {pid} (user {user}{app}{state}) {verb} {mode} on it")
        }
        _ => fallback,
    }
}

/// The stream name of a table's data: `data/<schema>.<table>.copy` with
/// bytes outside `[A-Za-z0-9_-]` percent-encoded (a `.` too, so the first
/// unencoded dot always separates schema from table).
pub fn table_stream_name(schema: &str, name: &str) -> String {
    fn enc(s: &str) -> String {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    }
    format!("data/{}.{}.copy", enc(schema), enc(name))
}

pub(crate) fn column_list(columns: &[String]) -> String {
    columns
        .iter()
        .map(|c| ident(c))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Writes one table's stream from its copies (one, or one per key range),
/// counting and hashing it on the way.
fn copy_table(
    sink: &mut dyn SnapshotSink,
    table: &DataTable,
    plan: &TablePlan,
    rows: TableReceiver,
    queue: &CopyQueue,
) -> Result<TableMeta, PgError> {
    let stream = table_stream_name(&table.schema, &table.name);
    let mut hashing = HashingReader::new(rows.into_reader());
    if let Err(e) = put_all(sink, &stream, &mut hashing) {
        // A failed copy session says why better than the sink's read error.
        return Err(queue.take_error().unwrap_or(e));
    }
    Ok(TableMeta {
        schema: table.schema.clone(),
        name: table.name.clone(),
        stream,
        columns: table.columns.clone(),
        order_by: if plan.ordered {
            table.primary_key.clone()
        } else {
            Vec::new()
        },
        has_pk: !table.primary_key.is_empty(),
        rows: hashing.rows(),
        bytes: hashing.byte_count(),
        blake3: hashing.hex_digest(),
        physical_order_reason: plan.physical_order_reason.clone(),
    })
}

/// Hands one stream to the sink and makes sure it was consumed to the end.
fn put_all<R: Read>(
    sink: &mut dyn SnapshotSink,
    name: &str,
    data: &mut HashingReader<R>,
) -> Result<(), PgError> {
    let sink_err = |source| PgError::Sink {
        stream: name.to_string(),
        source,
    };
    sink.put_stream(name, data).map_err(sink_err)?;
    if !data.at_end().map_err(sink_err)? {
        return Err(sink_err(std::io::Error::other(
            "the sink returned before reading the stream to its end",
        )));
    }
    Ok(())
}

fn put_bytes(sink: &mut dyn SnapshotSink, name: &str, bytes: &[u8]) -> Result<StreamMeta, PgError> {
    let mut hashing = HashingReader::new(bytes);
    put_all(sink, name, &mut hashing)?;
    Ok(StreamMeta {
        name: name.to_string(),
        bytes: hashing.byte_count(),
        blake3: hashing.hex_digest(),
    })
}

/// One pg_dump section on the exported snapshot, piped into the sink.
struct PgDump<'a> {
    program: &'a Path,
    conn: &'a ConnInfo,
    snapshot_id: &'a str,
    lock_timeout: Duration,
}

impl PgDump<'_> {
    /// One section's script, read whole (a schema is small next to the
    /// data), so that it can be dumped while the tables are copied.
    fn section(&self, section: &str) -> Result<Vec<u8>, PgError> {
        let mut cmd = Command::new(self.program);
        let _password = self.conn.apply_to(&mut cmd)?;
        cmd.arg("--no-password")
            .arg("--format=plain")
            .arg("--quote-all-identifiers")
            .arg(format!("--section={section}"))
            .arg(format!("--snapshot={}", self.snapshot_id))
            .arg(format!(
                "--lock-wait-timeout={}",
                self.lock_timeout.as_millis().max(1)
            ))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let spawn_err = |source| PgError::Spawn {
            program: self.program.display().to_string(),
            source,
        };
        let mut child = cmd.spawn().map_err(spawn_err)?;
        let stderr = StderrTail::capture(&mut child);
        let mut script = Vec::new();
        let read = child
            .stdout
            .take()
            .expect("stdout is piped")
            .read_to_end(&mut script);
        if read.is_err() {
            // pg_dump must not linger on a pipe nobody reads.
            let _ = child.kill();
        }
        let status = child.wait().map_err(spawn_err)?;
        let stderr = stderr.finish();
        read.map_err(spawn_err)?;
        if !status.success() {
            return Err(PgError::Tool {
                tool: "pg_dump".into(),
                what: format!("dumping the {section} schema of {}", self.conn.target()),
                status: exit_text(status),
                stderr,
            });
        }
        Ok(script)
    }
}

/// The script of a pg_dump section dumped on another thread.
fn join_dump(
    dump: std::thread::ScopedJoinHandle<'_, Result<Vec<u8>, PgError>>,
) -> Result<Vec<u8>, PgError> {
    dump.join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

fn sequences_script(sequences: &[meta::SequenceMeta]) -> String {
    let mut s = String::from("-- hubkeep snapshot: sequence values.\n\\set ON_ERROR_STOP on\n");
    for q in sequences {
        s.push_str(&format!(
            "SELECT pg_catalog.setval({}, {}, {});\n",
            literal(&qualified(&q.schema, &q.name)),
            q.last_value,
            q.is_called
        ));
    }
    s
}

fn settings_script(settings: &[meta::DbSetting]) -> String {
    let mut s = String::from(
        "-- hubkeep snapshot: database-level settings, applied to the current database.\n\
         \\set ON_ERROR_STOP on\n\
         SELECT current_database() AS \"DBNAME\" \\gset\n",
    );
    for setting in settings {
        s.push_str(&format!("-- {}\n{}\n", setting.name, setting.statement));
    }
    s
}
