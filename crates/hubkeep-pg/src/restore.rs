//! Restoring a snapshot into an existing, empty database: roles, pre-data
//! schema, table data in parallel with each table's indexes and keys built
//! right after its data, the rest of the post-data schema, sequence values,
//! database settings; every stream's checksum and every table's row count
//! checked on the way.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::conninfo::ConnInfo;
use crate::error::PgError;
use crate::hashing::HashingReader;
use crate::inspect::{self, query_failed};
use crate::meta::{self, SnapshotMeta, TableMeta};
use crate::parallel_load;
use crate::postdata::{refresh_under_row_security, split_post_data, PostDataPlan};
use crate::roles;
use crate::snapshot::{column_list, Progress};
use crate::sql::{qualified, COPY_SESSION_SETTINGS};
use crate::tools::{self, exit_text, StderrTail, Version};
use crate::undo;

/// Where a snapshot's streams are read back from; several at once (one per
/// restore worker). The lead implements it on the vault (`Vault::open_stream`).
pub trait SnapshotSource: Sync {
    /// Opens the stream `name` for reading from its start.
    fn open_stream(&self, name: &str) -> std::io::Result<Box<dyn Read + Send>>;
}

/// How a restore runs.
pub struct RestoreOptions {
    /// Parallel COPY sessions; default: the number of cores.
    pub jobs: usize,
    /// Passwords for roles this restore creates (role → password); they
    /// win over passwords recorded in the snapshot. Existing roles are never
    /// changed.
    pub role_passwords: BTreeMap<String, String>,
    /// A callback for progress lines.
    pub progress: Option<Progress>,
    /// A table whose stream is at least this large is loaded by all `jobs`
    /// sessions at once (its rows cut into blocks at row ends), one such
    /// table after another, before the smaller tables are loaded one per
    /// session. Default 64 MiB; 0 never loads a table in parallel.
    pub parallel_load_bytes: u64,
}

impl Default for RestoreOptions {
    fn default() -> RestoreOptions {
        RestoreOptions {
            jobs: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            role_passwords: BTreeMap::new(),
            progress: None,
            parallel_load_bytes: 64 * 1024 * 1024,
        }
    }
}

impl fmt::Debug for RestoreOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RestoreOptions")
            .field("jobs", &self.jobs)
            .field(
                "role_passwords",
                &self.role_passwords.keys().collect::<Vec<_>>(),
            )
            .field("parallel_load_bytes", &self.parallel_load_bytes)
            .finish()
    }
}

/// What a restore did.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct RestoreReport {
    /// The database restored into.
    pub database: String,
    /// Each table's row count, recorded and restored.
    pub tables: Vec<TableCheck>,
    /// Rows restored, all tables together.
    pub rows: u64,
    /// Bytes of the snapshot's streams (all but meta.json).
    pub bytes: u64,
    /// Roles this restore created (the others already existed).
    pub roles_created: Vec<String>,
    /// How long the restore took.
    pub duration: Duration,
}

/// One table's row count, as recorded and as restored (always equal in a
/// report: a mismatch fails the restore).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct TableCheck {
    /// The table, schema-qualified.
    pub table: String,
    /// The row count the snapshot recorded.
    pub expected_rows: u64,
    /// The row count the restore loaded.
    pub restored_rows: u64,
}

/// Restores `meta`'s snapshot from `source` into the empty database
/// `target`. Needs a superuser, or a role that may create the recorded
/// roles and own every object. On error the target holds a partial copy:
/// drop it and restore again.
pub fn restore_snapshot(
    source: &dyn SnapshotSource,
    meta: &SnapshotMeta,
    target: &ConnInfo,
    opts: &RestoreOptions,
) -> Result<RestoreReport, PgError> {
    let started = Instant::now();
    if !meta::readable(meta.format_version) {
        return Err(PgError::UnsupportedFormat {
            found: meta.format_version,
            supported: meta::FORMAT_VERSION,
        });
    }
    let name = target.target();
    let mut client = target.connect()?;
    let server_num: i32 = client
        .query_one("SELECT current_setting('server_version_num')::int4", &[])
        .map_err(query_failed(&name, "reading the server version"))?
        .get(0);
    let server = Version::from_num(server_num as u32);
    let snapshot_server = Version::from_num(meta.server_version_num);
    if server.major < snapshot_server.major {
        return Err(PgError::TargetTooOld {
            target: name,
            version: server.to_string(),
            snapshot_major: snapshot_server.major,
        });
    }
    let objects = inspect::database_user_objects(&mut client, &name)?;
    if !objects.is_empty() {
        return Err(PgError::NotEmpty {
            database: target.dbname.clone(),
            objects,
        });
    }
    let psql_program = tools::tool_for_server("psql", server, &name)?;

    let role_names: Vec<String> = meta.roles.iter().map(|r| r.name.clone()).collect();
    let existing = inspect::existing_roles(&mut client, &name, &role_names)?;
    let before = undo::record(&mut client, &name)?;
    drop(client);
    let restored = restore_steps(source, meta, target, opts, &psql_program, &existing);
    let (tables, roles_created) = match restored {
        Ok(done) => done,
        Err(cause) => {
            // What exists now of the recorded roles, minus what existed
            // before, is what this restore created (none when roles.sql
            // itself failed: it runs in one transaction).
            let now = target
                .connect()
                .and_then(|mut c| inspect::existing_roles(&mut c, &name, &role_names));
            let created: Vec<String> = match &now {
                Ok(now) => now.difference(&existing).cloned().collect(),
                Err(_) => Vec::new(),
            };
            let undone = now.and_then(|_| undo::undo(target, &before, &created));
            return Err(match undone {
                Ok(()) => PgError::RestoreUndone {
                    cause: Box::new(cause),
                    database: target.dbname.clone(),
                    roles: created,
                },
                Err(problem) => PgError::RestoreUndoFailed {
                    cause: Box::new(cause),
                    problem: Box::new(problem),
                    database: target.dbname.clone(),
                    roles: role_names
                        .iter()
                        .filter(|r| !existing.contains(*r))
                        .cloned()
                        .collect(),
                },
            });
        }
    };
    Ok(RestoreReport {
        database: target.dbname.clone(),
        rows: tables.iter().map(|t| t.restored_rows).sum(),
        bytes: meta.size_bytes,
        tables,
        roles_created,
        duration: started.elapsed(),
    })
}

/// Every step of a restore after the checks: roles, pre-data, tables with
/// their indexes, post-data, sequences, database settings. Returns the
/// table checks and the roles it created.
fn restore_steps(
    source: &dyn SnapshotSource,
    meta: &SnapshotMeta,
    target: &ConnInfo,
    opts: &RestoreOptions,
    psql_program: &Path,
    existing: &std::collections::BTreeSet<String>,
) -> Result<(Vec<TableCheck>, Vec<String>), PgError> {
    let name = target.target();
    let progress = |msg: &str| {
        if let Some(p) = &opts.progress {
            p(msg)
        }
    };
    let psql = |script: &[u8], what: &str, single_transaction: bool| {
        run_psql(psql_program, target, script, what, single_transaction)
    };
    let mut client = target.connect()?;
    let role_names: Vec<String> = meta.roles.iter().map(|r| r.name.clone()).collect();
    progress("roles");
    psql(
        &read_script(source, meta, meta::STREAM_ROLES)?,
        "creating roles",
        true,
    )?;
    let roles_created: Vec<String> = role_names
        .into_iter()
        .filter(|r| !existing.contains(r))
        .collect();
    for role in meta
        .roles
        .iter()
        .filter(|r| roles_created.contains(&r.name))
    {
        if let Some(pw) = opts.role_passwords.get(&role.name) {
            client
                .batch_execute(&roles::set_password_statement(role, pw))
                .map_err(query_failed(
                    &name,
                    &format!("setting the password of role {}", role.name),
                ))?;
        }
    }

    progress("pre-data schema");
    psql(
        &read_script(source, meta, meta::STREAM_PRE_DATA)?,
        "restoring the pre-data schema",
        true,
    )?;

    // Read and checked before any data goes in; split so that each table's
    // indexes and keys are built as soon as its data is in.
    let post_data = split_post_data(
        &refresh_under_row_security(&read_script(source, meta, meta::STREAM_POST_DATA)?),
        &meta.tables,
    );
    let tables = copy_tables_in(
        source,
        meta,
        target,
        &Builder {
            psql: psql_program,
            post_data: &post_data,
        },
        opts.jobs.max(1),
        opts.parallel_load_bytes,
        opts.progress.as_ref(),
    )?;

    progress("post-data schema");
    psql(&post_data.serial, "restoring the post-data schema", true)?;
    progress("sequences");
    psql(
        &read_script(source, meta, meta::STREAM_SEQUENCES)?,
        "setting sequence values",
        true,
    )?;
    progress("database settings");
    psql(
        &read_script(source, meta, meta::STREAM_DB_SETTINGS)?,
        "applying database settings",
        true,
    )?;
    // A commit with a transaction id, synchronous: it returns once all WAL
    // written before it, the loading sessions' too, is on disk.
    client
        .batch_execute(
            "SET synchronous_commit = on; BEGIN; SELECT pg_catalog.txid_current(); COMMIT",
        )
        .map_err(query_failed(&name, "flushing the restored data to disk"))?;

    Ok((tables, roles_created))
}

/// Reads a whole SQL stream and checks it before anything runs it: a
/// damaged script must not be half-applied.
fn read_script(
    source: &dyn SnapshotSource,
    meta: &SnapshotMeta,
    name: &str,
) -> Result<Vec<u8>, PgError> {
    let recorded = meta.script(name).ok_or_else(|| PgError::Source {
        stream: name.to_string(),
        source: std::io::Error::other("the snapshot metadata does not list it"),
    })?;
    let source_err = |source| PgError::Source {
        stream: name.to_string(),
        source,
    };
    let mut reader = HashingReader::new(source.open_stream(name).map_err(source_err)?);
    let mut bytes = Vec::with_capacity(recorded.bytes as usize);
    reader.read_to_end(&mut bytes).map_err(source_err)?;
    let actual = reader.hex_digest();
    if actual != recorded.blake3 {
        return Err(PgError::ChecksumMismatch {
            stream: name.to_string(),
            expected: recorded.blake3.clone(),
            actual,
        });
    }
    Ok(bytes)
}

/// What builds a table's indexes and keys once its data is in.
struct Builder<'a> {
    psql: &'a Path,
    post_data: &'a PostDataPlan,
}

impl Builder<'_> {
    /// Builds `table`'s indexes and keys with psql in one transaction, so a
    /// failure names the statement and its pg_dump entry.
    fn build_with_psql(
        &self,
        target: &ConnInfo,
        table: &TableMeta,
        script: &[u8],
    ) -> Result<(), PgError> {
        run_psql(
            self.psql,
            target,
            script,
            &format!(
                "building the indexes and keys of table {}",
                table.display_name()
            ),
            true,
        )
    }
}

/// Loads every table. Tables of at least `parallel_bytes` first, biggest
/// first, each by all `jobs` sessions at once; a builder thread builds each
/// one's indexes and keys while the next loads. Then the others with `jobs`
/// COPY sessions, biggest first so the last one to finish is a small one;
/// the session that loaded a table then builds its indexes and keys (one
/// psql transaction) before taking the next.
fn copy_tables_in(
    source: &dyn SnapshotSource,
    meta: &SnapshotMeta,
    target: &ConnInfo,
    builder: &Builder,
    jobs: usize,
    parallel_bytes: u64,
    progress: Option<&Progress>,
) -> Result<Vec<TableCheck>, PgError> {
    let mut order: Vec<&TableMeta> = meta.tables.iter().collect();
    order.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.stream.cmp(&b.stream)));
    let total = order.len();
    let parallel = if jobs > 1 && parallel_bytes > 0 {
        order
            .iter()
            .take_while(|t| t.bytes >= parallel_bytes)
            .count()
    } else {
        0
    };
    let small = order.split_off(parallel);
    let big = order;
    let queue = Mutex::new(
        small
            .into_iter()
            .enumerate()
            .map(|(i, t)| (i + parallel, t))
            .collect::<VecDeque<_>>(),
    );
    let failed = AtomicBool::new(false);
    let first_error: Mutex<Option<PgError>> = Mutex::new(None);
    let fail = |e: PgError| {
        failed.store(true, Ordering::SeqCst);
        first_error.lock().expect("error lock").get_or_insert(e);
    };
    let checks = Mutex::new(Vec::with_capacity(total));
    let say = |msg: String| {
        if let Some(p) = progress {
            p(&msg)
        }
    };
    let build = |table: &TableMeta| -> Result<(), PgError> {
        let key = (table.schema.clone(), table.name.clone());
        if let Some(script) = builder.post_data.per_table.get(&key) {
            say(format!(
                "indexes and keys of table {}",
                table.display_name()
            ));
            builder.build_with_psql(target, table, script)?;
        }
        Ok(())
    };
    std::thread::scope(|scope| {
        let (built_tx, built_rx) = std::sync::mpsc::channel::<&TableMeta>();
        let build = &build;
        let fail = &fail;
        let failed = &failed;
        scope.spawn(move || {
            for table in built_rx {
                if failed.load(Ordering::SeqCst) {
                    return;
                }
                if let Err(e) = build(table) {
                    fail(e);
                    return;
                }
            }
        });
        for (i, table) in big.into_iter().enumerate() {
            if failed.load(Ordering::SeqCst) {
                break;
            }
            say(format!(
                "table {} ({}/{total}, {jobs} sessions)",
                table.display_name(),
                i + 1
            ));
            match parallel_load::load_table(target, source, table, jobs) {
                Ok(check) => {
                    checks.lock().expect("checks lock").push(check);
                    let _ = built_tx.send(table);
                }
                Err(e) => fail(e),
            }
        }
        drop(built_tx);
        for _ in 0..jobs.min(total.max(1)) {
            scope.spawn(|| {
                let outcome = (|| -> Result<(), PgError> {
                    let mut client = target.connect()?;
                    client
                        .batch_execute(&format!("{COPY_SESSION_SETTINGS}; {LOAD_SESSION_SETTINGS}"))
                        .map_err(query_failed(
                            &target.target(),
                            "preparing a restore session",
                        ))?;
                    loop {
                        if failed.load(Ordering::SeqCst) {
                            return Ok(());
                        }
                        let Some((i, table)) = queue.lock().expect("queue lock").pop_front() else {
                            return Ok(());
                        };
                        say(format!(
                            "table {} ({}/{total})",
                            table.display_name(),
                            i + 1
                        ));
                        let check = copy_table_in(&mut client, target, source, table)?;
                        checks.lock().expect("checks lock").push(check);
                        let key = (table.schema.clone(), table.name.clone());
                        if let Some(script) = builder.post_data.per_table.get(&key) {
                            say(format!(
                                "indexes and keys of table {}",
                                table.display_name()
                            ));
                            if !build_in_session(&mut client, script) {
                                // psql names the failing statement and its
                                // pg_dump entry (or, if it was a passing
                                // hiccup, builds them).
                                builder.build_with_psql(target, table, script)?;
                            }
                        }
                    }
                })();
                if let Err(e) = outcome {
                    fail(e);
                }
            });
        }
    });
    if let Some(e) = first_error.into_inner().expect("error lock") {
        return Err(e);
    }
    let mut checks = checks.into_inner().expect("checks lock");
    checks.sort_by(|a, b| a.table.cmp(&b.table));
    Ok(checks)
}

/// Index builds go faster with more sort memory.
const MAINTENANCE_WORK_MEM: &str = "256MB";

/// Tables whose stream is at least this large are emptied and loaded
/// `FREEZE` (see `copy_table_in`).
const FREEZE_MIN_BYTES: u64 = 1024 * 1024;

/// For the sessions that load tables and build their indexes. Their commits
/// do not wait for the WAL flush (hundreds of small tables would otherwise
/// wait for hundreds of flushes); the restore ends with a synchronous
/// commit, which flushes all WAL before it, so a finished restore is as
/// durable as with synchronous commits (an unfinished one is undone).
pub(crate) const LOAD_SESSION_SETTINGS: &str =
    "SET maintenance_work_mem = '256MB'; SET synchronous_commit = off";

/// Builds a table's indexes and keys in the session that loaded it, in one
/// transaction: a psql process per table costs more than many small tables'
/// builds. The split script's only psql meta-commands are pg_dump's
/// `\restrict` / `\unrestrict` lines, which only guard psql itself. False
/// when anything failed (the transaction is rolled back; the caller then
/// runs the script through psql, which names the failing statement).
fn build_in_session(client: &mut postgres::Client, script: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(script) else {
        return false;
    };
    let sql: String = text
        .lines()
        .filter(|l| !l.starts_with("\\restrict ") && !l.starts_with("\\unrestrict "))
        .flat_map(|l| [l, "\n"])
        .collect();
    let Ok(mut tx) = client.transaction() else {
        return false;
    };
    if tx.batch_execute(&sql).is_err() {
        return false;
    }
    tx.commit().is_ok()
}

fn copy_table_in(
    client: &mut postgres::Client,
    target: &ConnInfo,
    source: &dyn SnapshotSource,
    table: &TableMeta,
) -> Result<TableCheck, PgError> {
    let source_err = |source| PgError::Source {
        stream: table.stream.clone(),
        source,
    };
    let query_err = |what: &str| {
        query_failed(
            &target.target(),
            &format!("{what} table {}", table.display_name()),
        )
    };
    let columns = if table.columns.is_empty() {
        String::new()
    } else {
        format!(" ({})", column_list(&table.columns))
    };
    let mut reader = HashingReader::new(source.open_stream(&table.stream).map_err(source_err)?);
    let table_sql = qualified(&table.schema, &table.name);
    // The table is empty and has no foreign keys or triggers yet: emptying it
    // in this transaction lets COPY write its rows frozen and all-visible,
    // so the index builds that follow do not rewrite every page to set hint
    // bits (nor does a later anti-wraparound vacuum). A small table is not
    // worth the new files a TRUNCATE makes (hundreds of them add up).
    let mut tx = client.transaction().map_err(query_err("loading"))?;
    let freeze = table.bytes >= FREEZE_MIN_BYTES;
    if freeze {
        tx.batch_execute(&format!("TRUNCATE ONLY {table_sql}"))
            .map_err(query_err("emptying"))?;
    }
    let options = if freeze { " (FREEZE)" } else { "" };
    let mut writer = tx
        .copy_in(format!("COPY {table_sql}{columns} FROM STDIN{options}").as_str())
        .map_err(query_err("loading"))?;
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = reader.read(&mut buf).map_err(source_err)?;
        if n == 0 {
            break;
        }
        if writer.write_all(&buf[..n]).is_err() {
            // The server's own error (bad data, lost connection) comes from finish().
            break;
        }
    }
    let restored_rows = writer.finish().map_err(query_err("loading"))?;
    let actual = reader.hex_digest();
    if actual != table.blake3 {
        return Err(PgError::ChecksumMismatch {
            stream: table.stream.clone(),
            expected: table.blake3.clone(),
            actual,
        });
    }
    if restored_rows != table.rows {
        return Err(PgError::RowCountMismatch {
            table: table.display_name(),
            expected: table.rows,
            actual: restored_rows,
        });
    }
    tx.commit().map_err(query_err("loading"))?;
    Ok(TableCheck {
        table: table.display_name(),
        expected_rows: table.rows,
        restored_rows,
    })
}

/// Runs a script through psql with ON_ERROR_STOP, optionally in one
/// transaction. pg_dump 15.14+ writes `\restrict` meta-commands, which is
/// why scripts go through psql rather than a plain client.
fn run_psql(
    program: &Path,
    target: &ConnInfo,
    script: &[u8],
    what: &str,
    single_transaction: bool,
) -> Result<(), PgError> {
    let mut cmd = Command::new(program);
    let _password = target.apply_to(&mut cmd)?;
    // Index and key builds go faster with more sort memory.
    cmd.env(
        "PGOPTIONS",
        format!("-c maintenance_work_mem={MAINTENANCE_WORK_MEM}"),
    );
    cmd.args([
        "--no-psqlrc",
        "--quiet",
        "--no-password",
        "-v",
        "ON_ERROR_STOP=1",
    ]);
    if single_transaction {
        cmd.arg("--single-transaction");
    }
    cmd.args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(PgError::spawn_failed(program))?;
    let stderr = StderrTail::capture(&mut child);
    let mut stdin = child.stdin.take().expect("stdin is piped");
    // A failing psql closes its stdin early; its exit status tells why.
    let _ = stdin.write_all(script);
    drop(stdin);
    let status = child.wait().map_err(PgError::spawn_failed(program))?;
    let stderr = stderr.finish();
    if status.success() {
        return Ok(());
    }
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("ERROR") || l.contains("FATAL"))
        .collect();
    let statement = errors
        .first()
        .and_then(|l| error_line(l))
        .map(|line| format!(", at {}", describe_statement(script, line)))
        .unwrap_or_default();
    Err(PgError::Tool {
        tool: "psql".into(),
        what: format!("{what} in {}{statement}", target.target()),
        status: exit_text(status),
        stderr: if errors.is_empty() {
            stderr.clone()
        } else {
            errors.join("; ")
        },
    })
}

/// The script line psql names in `psql:<stdin>:LINE: ERROR: …`.
fn error_line(stderr_line: &str) -> Option<usize> {
    let rest = stderr_line.strip_prefix("psql:<stdin>:")?;
    rest.split(':').next()?.parse().ok()
}

/// The statement of `script` that ends at (1-based) `line`, for an error
/// message: `line 77: REFRESH MATERIALIZED VIEW "public"."mv"; (entry
/// MATERIALIZED VIEW DATA public.mv)`, the entry taken from pg_dump's
/// header comment before it.
fn describe_statement(script: &[u8], line: usize) -> String {
    let text = String::from_utf8_lossy(script);
    let lines: Vec<&str> = text.lines().take(line).collect();
    let mut entry = None;
    let mut first = None;
    for (n, l) in lines.iter().enumerate() {
        let trimmed = l.trim();
        if let Some(header) = trimmed.strip_prefix("-- Name: ") {
            let mut name = "";
            let mut kind = "";
            let mut schema = "-";
            for (i, part) in header.split("; ").enumerate() {
                if i == 0 {
                    name = part;
                } else if let Some(k) = part.strip_prefix("Type: ") {
                    kind = k;
                } else if let Some(sc) = part.strip_prefix("Schema: ") {
                    schema = sc;
                }
            }
            entry = Some(if schema == "-" {
                format!("{kind} {name}")
            } else {
                format!("{kind} {schema}.{name}")
            });
            first = None;
        } else if trimmed.is_empty() || trimmed.starts_with("--") {
            continue;
        } else if first.is_none() {
            first = Some(trimmed);
        }
        if trimmed.ends_with(';') && first.is_some() && n + 1 < lines.len() {
            first = None;
        }
    }
    let mut statement: String = first.unwrap_or("").chars().take(200).collect();
    if statement.is_empty() {
        statement = "(unknown statement)".into();
    }
    match entry {
        Some(e) => format!("line {line}: {statement} (entry {e})"),
        None => format!("line {line}: {statement}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failing_statement_is_named_with_its_first_line_and_pg_dump_entry() {
        let script = b"SET row_security = off;\n\n--\n-- Name: mv; Type: MATERIALIZED VIEW DATA; Schema: public; Owner: own\n--\n\nREFRESH MATERIALIZED VIEW \"public\".\"mv\";\n\n--\n-- Name: t t_pkey; Type: CONSTRAINT; Schema: public; Owner: own\n--\n\nALTER TABLE ONLY \"public\".\"t\"\n    ADD CONSTRAINT \"t_pkey\" PRIMARY KEY (\"id\");\n";
        assert_eq!(
            error_line("psql:<stdin>:7: ERROR:  query would be affected"),
            Some(7)
        );
        assert_eq!(
            describe_statement(script, 7),
            "line 7: REFRESH MATERIALIZED VIEW \"public\".\"mv\"; (entry MATERIALIZED VIEW DATA public.mv)"
        );
        assert_eq!(
            describe_statement(script, 14),
            "line 14: ALTER TABLE ONLY \"public\".\"t\" (entry CONSTRAINT public.t t_pkey)"
        );
    }
}
