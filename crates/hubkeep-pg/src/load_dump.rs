//! Loading a dump made by `pg_dump` outside hubkeep (a plain SQL script, or
//! the custom format of `pg_dump -Fc`) into an existing, empty database, so
//! that it can be snapshotted like any other: the way an import brings in a
//! backup hubkeep did not make.
//!
//! A plain dump of `pg_dump -c` starts with DROP statements for everything
//! it then creates. On an empty database they fail with "does not exist";
//! those failures, and only those, are expected. Any other error fails the
//! load, naming the first ones.

use std::collections::{BTreeSet, HashSet};
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use crate::conninfo::ConnInfo;
use crate::error::PgError;
use crate::tools::{self, exit_text, StderrTail};

/// The first bytes of a custom-format archive (`pg_dump -Fc`).
const CUSTOM_MAGIC: &[u8] = b"PGDMP";
/// How many unexpected errors a failed load names.
const ERRORS_SHOWN: usize = 5;

/// The two dump formats hubkeep loads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DumpFormat {
    /// A plain SQL script (`pg_dump`, `pg_dump -c`), loaded with psql.
    Plain,
    /// An archive of `pg_dump -Fc`, loaded with pg_restore.
    Custom,
}

/// The format of the dump at `path`: custom when it starts with `PGDMP`.
pub fn dump_format(path: &Path) -> Result<DumpFormat, PgError> {
    let mut file = File::open(path).map_err(|e| PgError::io("opening the dump", path, e))?;
    if file.metadata().map(|m| m.is_dir()).unwrap_or(false) {
        return Err(PgError::io(
            "reading the dump",
            path,
            std::io::Error::other(
                "it is a directory; give a plain SQL dump or a custom-format one (pg_dump -Fc)",
            ),
        ));
    }
    let mut head = [0u8; 5];
    let mut read = 0;
    while read < head.len() {
        match file
            .read(&mut head[read..])
            .map_err(|e| PgError::io("reading the dump", path, e))?
        {
            0 => break,
            n => read += n,
        }
    }
    if read == 0 {
        return Err(PgError::io(
            "reading the dump",
            path,
            std::io::Error::other("it is empty"),
        ));
    }
    Ok(if &head[..read] == CUSTOM_MAGIC {
        DumpFormat::Custom
    } else {
        DumpFormat::Plain
    })
}

/// The roles the dump's objects are owned by or granted to: they live in
/// the cluster, not in a dump of one database, so they must exist before
/// it is loaded.
pub fn dump_roles(path: &Path, format: DumpFormat) -> Result<BTreeSet<String>, PgError> {
    let mut roles = BTreeSet::new();
    match format {
        DumpFormat::Plain => {
            let file = File::open(path).map_err(|e| PgError::io("opening the dump", path, e))?;
            for line in BufReader::new(file).split(b'\n') {
                let line = line.map_err(|e| PgError::io("reading the dump", path, e))?;
                roles_of(&String::from_utf8_lossy(&line), &mut roles);
            }
        }
        DumpFormat::Custom => {
            let (_, program) = tools::newest_tool("pg_restore")?;
            let mut child = Command::new(&program)
                .args(["--schema-only", "-f", "-"])
                .arg(path)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .map_err(PgError::spawn_failed(&program))?;
            let stderr = StderrTail::capture(&mut child);
            let stdout = child.stdout.take().expect("stdout is piped");
            for line in BufReader::new(stdout).split(b'\n') {
                let Ok(line) = line else { break };
                roles_of(&String::from_utf8_lossy(&line), &mut roles);
            }
            let status = child.wait().map_err(PgError::spawn_failed(&program))?;
            if !status.success() {
                return Err(PgError::Tool {
                    tool: "pg_restore".into(),
                    what: format!("listing the archive {}", path.display()),
                    status: exit_text(status),
                    stderr: stderr.finish(),
                });
            }
        }
    }
    roles.remove("PUBLIC");
    Ok(roles)
}

/// The role names of one line of a dump: `… OWNER TO r;`, `GRANT … TO r, s;`,
/// `REVOKE … FROM r;`.
fn roles_of(line: &str, roles: &mut BTreeSet<String>) {
    let line = line.trim_end();
    let Some(body) = line.strip_suffix(';') else {
        return;
    };
    let list = if line.starts_with("ALTER ") {
        body.rsplit_once(" OWNER TO ").map(|(_, r)| r)
    } else if line.starts_with("GRANT ") {
        let body = body
            .strip_suffix(" WITH GRANT OPTION")
            .or_else(|| body.strip_suffix(" WITH ADMIN OPTION"))
            .unwrap_or(body);
        body.rsplit_once(" TO ").map(|(_, r)| r)
    } else if line.starts_with("REVOKE ") {
        body.rsplit_once(" FROM ").map(|(_, r)| r)
    } else {
        None
    };
    for name in list.into_iter().flat_map(|l| l.split(',')) {
        let name = name.trim();
        match name.strip_prefix('"').and_then(|n| n.strip_suffix('"')) {
            Some(quoted) => {
                roles.insert(quoted.replace("\"\"", "\""));
            }
            None if !name.is_empty() && !name.contains(' ') => {
                roles.insert(name.to_string());
            }
            None => {}
        }
    }
}

/// Creates, as NOLOGIN roles, those of `roles` the cluster of `admin`
/// lacks; returns their names.
pub fn create_missing_roles(
    admin: &ConnInfo,
    roles: &BTreeSet<String>,
) -> Result<Vec<String>, PgError> {
    let mut client = admin.connect()?;
    let mut made = vec![];
    for role in roles {
        let exists = client
            .query_one(
                "SELECT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = $1)",
                &[role],
            )
            .map_err(|source| PgError::Query {
                target: admin.target(),
                what: format!("looking up role {role}"),
                source,
            })?
            .get::<_, bool>(0);
        if !exists {
            client
                .batch_execute(&format!("CREATE ROLE {} NOLOGIN", crate::quote_ident(role)))
                .map_err(|source| PgError::Query {
                    target: admin.target(),
                    what: format!("creating role {role}"),
                    source,
                })?;
            made.push(role.clone());
        }
    }
    Ok(made)
}

/// Loads the dump at `path` into `target` (an existing, empty database;
/// connect as a superuser, as the dump's owners and grants need). `advance`
/// hears how many bytes of a plain dump were fed to psql.
pub fn load_dump(
    target: &ConnInfo,
    path: &Path,
    format: DumpFormat,
    advance: Option<&dyn Fn(u64)>,
) -> Result<(), PgError> {
    match format {
        DumpFormat::Plain => load_plain(target, path, advance),
        DumpFormat::Custom => load_custom(target, path),
    }
}

fn load_plain(
    target: &ConnInfo,
    path: &Path,
    advance: Option<&dyn Fn(u64)>,
) -> Result<(), PgError> {
    let expected = drop_lines(path)?;
    let program = tools::newest_tool("psql")?.1;
    let mut cmd = Command::new(&program);
    let _password = target.apply_to(&mut cmd)?;
    cmd.args([
        "--no-psqlrc",
        "--quiet",
        "--no-password",
        "-v",
        "ON_ERROR_STOP=0",
        "-f",
        "-",
    ])
    .stdin(Stdio::piped())
    .stdout(Stdio::null())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(PgError::spawn_failed(&program))?;
    let stderr = child.stderr.take().expect("stderr is piped");
    // Every line is read (so psql never blocks); only unexpected errors are kept.
    let errors = std::thread::spawn(move || {
        let mut unexpected = vec![];
        let mut count = 0usize;
        for line in BufReader::new(stderr).lines().map_while(|l| l.ok()) {
            if !line.contains("ERROR:") && !line.contains("FATAL:") {
                continue;
            }
            if is_expected(&line, &expected) {
                continue;
            }
            count += 1;
            if unexpected.len() < ERRORS_SHOWN {
                unexpected.push(line);
            }
        }
        (count, unexpected)
    });
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let mut file = File::open(path).map_err(|e| PgError::io("opening the dump", path, e))?;
    let mut buf = vec![0u8; 1 << 20];
    let fed = loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break Ok(()),
            Ok(n) => n,
            Err(e) => break Err(PgError::io("reading the dump", path, e)),
        };
        // A psql that died closes its stdin; its exit status tells why.
        if stdin.write_all(&buf[..n]).is_err() {
            break Ok(());
        }
        if let Some(a) = advance {
            a(n as u64);
        }
    };
    drop(stdin);
    let status = child.wait().map_err(PgError::spawn_failed(&program))?;
    let (count, unexpected) = errors.join().unwrap_or_default();
    fed?;
    if status.success() && count == 0 {
        return Ok(());
    }
    Err(PgError::Tool {
        tool: "psql".into(),
        what: format!(
            "loading the plain dump {} into {}",
            path.display(),
            target.target()
        ),
        status: if count > 0 {
            format!("{count} unexpected error(s)")
        } else {
            exit_text(status)
        },
        stderr: unexpected.join("; "),
    })
}

/// Line numbers (1-based) of the dump's `-c` statements: DROPs and the
/// `ALTER … DROP …` that precede them, which fail on an empty database.
fn drop_lines(path: &Path) -> Result<HashSet<usize>, PgError> {
    let file = File::open(path).map_err(|e| PgError::io("opening the dump", path, e))?;
    let mut lines = HashSet::new();
    for (i, line) in BufReader::new(file).split(b'\n').enumerate() {
        let line = line.map_err(|e| PgError::io("reading the dump", path, e))?;
        let text = String::from_utf8_lossy(&line);
        if text.starts_with("DROP ")
            || (text.starts_with("ALTER ")
                && (text.contains(" DROP CONSTRAINT ") || text.contains(" DROP DEFAULT")))
        {
            lines.insert(i + 1);
        }
    }
    Ok(lines)
}

/// `psql:<stdin>:LINE: ERROR:  … does not exist` at one of the DROP lines.
fn is_expected(line: &str, drops: &HashSet<usize>) -> bool {
    let Some(rest) = line.strip_prefix("psql:<stdin>:") else {
        return false;
    };
    let Some((number, message)) = rest.split_once(':') else {
        return false;
    };
    number.parse::<usize>().is_ok_and(|n| drops.contains(&n))
        && message.contains("ERROR:")
        && message.contains("does not exist")
}

fn load_custom(target: &ConnInfo, path: &Path) -> Result<(), PgError> {
    let program = tools::newest_tool("pg_restore")?.1;
    let mut cmd = Command::new(&program);
    let _password = target.apply_to(&mut cmd)?;
    cmd.args(["--no-password", "--exit-on-error", "-d", &target.dbname])
        .arg(path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(PgError::spawn_failed(&program))?;
    let stderr = StderrTail::capture(&mut child);
    let status = child.wait().map_err(PgError::spawn_failed(&program))?;
    if status.success() {
        return Ok(());
    }
    Err(PgError::Tool {
        tool: "pg_restore".into(),
        what: format!(
            "loading the custom-format dump {} into {}",
            path.display(),
            target.target()
        ),
        status: exit_text(status),
        stderr: stderr.finish(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_come_from_owners_grants_and_revokes() {
        let mut roles = BTreeSet::new();
        for line in [
            "ALTER TABLE ret0.hubs OWNER TO reticulum;",
            "GRANT SELECT ON TABLE ret0_admin.hubs TO postgrest_anonymous, \"Odd Name\";",
            "GRANT USAGE ON SCHEMA ret0 TO ret_admin WITH GRANT OPTION;",
            "REVOKE ALL ON SCHEMA public FROM PUBLIC;",
            "CREATE TABLE ret0.hubs (",
        ] {
            roles_of(line, &mut roles);
        }
        let got: Vec<&str> = roles.iter().map(String::as_str).collect();
        assert_eq!(
            got,
            [
                "Odd Name",
                "PUBLIC",
                "postgrest_anonymous",
                "ret_admin",
                "reticulum"
            ]
        );
    }

    #[test]
    fn only_does_not_exist_at_a_drop_line_is_expected() {
        let drops: HashSet<usize> = [3].into();
        assert!(is_expected(
            "psql:<stdin>:3: ERROR:  table \"hubs\" does not exist",
            &drops
        ));
        assert!(!is_expected(
            "psql:<stdin>:4: ERROR:  role \"x\" does not exist",
            &drops
        ));
        assert!(!is_expected(
            "psql:<stdin>:3: ERROR:  permission denied",
            &drops
        ));
    }
}
