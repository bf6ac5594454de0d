//! Where a database password comes from, so that it need not sit in a URL
//! on the command line (where any user sees it in the process list), and
//! how URLs that do carry one are kept out of what hubkeep shows.
//!
//! The first of these that gives a password wins:
//! 1. the URL's own password (`postgres://user:PASSWORD@…`; a warning);
//! 2. `--database-password-file FILE` (its first line);
//! 3. `PGPASSWORD` in hubkeep's environment;
//! 4. the passfile: `PGPASSFILE`, else `~/.pgpass`, read as libpq reads it
//!    (`host:port:database:user:password`, `*` matches anything, `\` escapes
//!    `:` and `\`, the first matching line wins) and refused when its group
//!    or others may read it.

use crate::error::{Error, Result};
use hubkeep_pg::ConnInfo;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Where the password of a connection came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordSource {
    /// The URL itself (warned about: argv is visible to other users).
    Url,
    /// A password file given on the command line.
    File(PathBuf),
    /// `PGPASSWORD`.
    Environment,
    /// A libpq passfile.
    Passfile(PathBuf),
}

/// The connection of `url` with its password from the first source that
/// has one (none: the server may not ask for one), and where it came from.
pub fn resolve(url: &str, password_file: Option<&Path>) -> Result<(ConnInfo, Option<PasswordSource>)> {
    let mut conn = ConnInfo::parse_url(url)?;
    if conn.password.is_some() {
        return Ok((conn, Some(PasswordSource::Url)));
    }
    if let Some(file) = password_file {
        conn.password = Some(read_password_file(file)?);
        return Ok((conn, Some(PasswordSource::File(file.to_path_buf()))));
    }
    if let Some(pw) = std::env::var_os("PGPASSWORD").filter(|p| !p.is_empty()) {
        let pw =
            pw.into_string().map_err(|_| Error::invalid("PGPASSWORD is not valid UTF-8; put the password in a file and pass --database-password-file FILE"))?;
        conn.password = Some(pw);
        return Ok((conn, Some(PasswordSource::Environment)));
    }
    let Some(passfile) = passfile_path() else { return Ok((conn, None)) };
    match read_passfile(&passfile)? {
        Some(text) => match passfile_lookup(&text, &conn) {
            Some(pw) => {
                conn.password = Some(pw);
                Ok((conn, Some(PasswordSource::Passfile(passfile))))
            }
            None => Ok((conn, None)),
        },
        None => Ok((conn, None)),
    }
}

/// The warning for a password typed into a URL on the command line.
impl crate::Hubkeep {
    /// A database connection from a URL and the password sources above,
    /// noting a warning when the URL itself carries the password (`option`
    /// names where it came from, e.g. `--pg-url`).
    pub(crate) fn connection(&self, url: &str, option: &str, password_file: Option<&Path>) -> Result<ConnInfo> {
        let (conn, source) = resolve(url, password_file)?;
        if source == Some(PasswordSource::Url) {
            self.note(&password_in_url_warning(option));
        }
        Ok(conn)
    }
}

/// The warning for a password given inside a URL, naming the option it came from.
pub fn password_in_url_warning(option: &str) -> String {
    format!(
        "warning: the password in {option} is visible to every user of this machine in the process list while hubkeep runs; give the URL without it and the password with --database-password-file FILE, PGPASSWORD or a passfile (~/.pgpass)"
    )
}

impl crate::Hubkeep {
    /// `stack update --database-password-file`: the stack's database
    /// secret takes the new password once it is shown to log in, so a
    /// rotated password never leaves the stack unable to back up.
    pub fn set_database_password(&self, stack: &str, password_file: &Path) -> Result<crate::records::Stack> {
        let s = self.stack(stack)?;
        let mut conn = self.app_conn(&s)?;
        conn.password = Some(read_password_file(password_file)?);
        conn.connect()
            .map_err(|e| Error::from(e).context(format!("checking the new database password of stack {stack} (the database secret is unchanged)")))?;
        let arn = &s.outputs.as_ref().expect("app_conn found the outputs").database_secret_arn;
        let secrets = self.home.secrets();
        let meta = secrets.find(arn)?.ok_or_else(|| Error::not_found(arn))?;
        secrets.put(&meta.name, meta.kind, meta.arn.clone(), meta.stack.as_deref(), &crate::provider::secret_value(&conn).to_string())?;
        Ok(s)
    }
}

fn read_password_file(file: &Path) -> Result<String> {
    let bytes = std::fs::read(file).map_err(|e| {
        Error::invalid(format!("the database password file {} cannot be read ({e}); give a file holding the password on its first line", file.display()))
    })?;
    let text = String::from_utf8(bytes).map_err(|_| Error::invalid(format!("the database password file {} is not UTF-8 text", file.display())))?;
    let first = text.lines().next().unwrap_or("");
    if first.is_empty() {
        return Err(Error::invalid(format!("the database password file {} is empty; put the password on its first line", file.display())));
    }
    Ok(first.to_string())
}

fn passfile_path() -> Option<PathBuf> {
    match std::env::var_os("PGPASSFILE").filter(|p| !p.is_empty()) {
        Some(p) => Some(PathBuf::from(p)),
        None => std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".pgpass")),
    }
}

/// The passfile's text; `None` when there is none. Like libpq, a passfile
/// others may read is not used — here it is refused, since silently
/// ignoring it leaves the operator with a baffling authentication error.
fn read_passfile(path: &Path) -> Result<Option<String>> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::invalid(format!("the passfile {} cannot be read ({e})", path.display()))),
    };
    if !meta.is_file() {
        return Err(Error::invalid(format!("the passfile {} is not a plain file; point PGPASSFILE at one", path.display())));
    }
    if meta.permissions().mode() & 0o077 != 0 {
        return Err(Error::invalid(format!(
            "the passfile {} may be read by its group or others (mode {:o}); libpq ignores such a file and so does hubkeep: run `chmod 0600 {}`",
            path.display(),
            meta.permissions().mode() & 0o777,
            path.display()
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| Error::invalid(format!("the passfile {} cannot be read ({e})", path.display())))?;
    Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
}

/// The password of the first passfile line that matches the connection.
fn passfile_lookup(text: &str, conn: &ConnInfo) -> Option<String> {
    let port = conn.port.to_string();
    let wanted = [conn.host.as_str(), port.as_str(), conn.dbname.as_str(), conn.user.as_str()];
    text.lines().map(|l| l.trim_end_matches('\r')).filter(|l| !l.is_empty() && !l.starts_with('#')).find_map(|line| {
        let fields = split_fields(line);
        if fields.len() < 5 {
            return None;
        }
        let matches = fields.iter().zip(wanted).all(|(f, want)| f.wildcard || f.value == want);
        // libpq's password ends at the next unescaped ':', as here.
        matches.then(|| fields[4].value.clone())
    })
}

struct Field {
    value: String,
    /// The field is a bare `*` (an escaped `\*` is a literal star).
    wildcard: bool,
}

fn split_fields(line: &str) -> Vec<Field> {
    let mut fields = vec![];
    let (mut value, mut escaped_any) = (String::new(), false);
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                escaped_any = true;
                if let Some(next) = chars.next() {
                    value.push(next);
                }
            }
            ':' => {
                fields.push(Field { wildcard: value == "*" && !escaped_any, value: std::mem::take(&mut value) });
                escaped_any = false;
            }
            c => value.push(c),
        }
    }
    fields.push(Field { wildcard: value == "*" && !escaped_any, value });
    fields
}

/// `text` with the password of every `scheme://user:password@…` in it
/// replaced by `***`, for anything hubkeep prints or logs. It errs on the
/// side of hiding: everything between the user's `:` and the last `@` of
/// the URL goes.
pub fn redact_urls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (before, after) = rest.split_at(at + 3);
        out.push_str(before);
        let end = after.find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '`' | '<' | '>')).unwrap_or(after.len());
        let url = &after[..end];
        match (url.rfind('@'), url.find(':')) {
            (Some(at), Some(colon)) if colon < at && !url[..colon].contains('/') => {
                out.push_str(&url[..=colon]);
                out.push_str("***");
                out.push_str(&url[at..]);
            }
            _ => out.push_str(url),
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn(url: &str) -> ConnInfo {
        ConnInfo::parse_url(url).unwrap()
    }

    #[test]
    fn passfile_first_matching_line_wins_with_wildcards_and_escapes() {
        let text = "# comment\nother:5432:*:app:wrong\n127.0.0.1:5432:hubs:app:first\n*:*:*:*:fallback\n";
        assert_eq!(passfile_lookup(text, &conn("postgres://app@127.0.0.1:5432/hubs")).as_deref(), Some("first"));
        assert_eq!(passfile_lookup(text, &conn("postgres://app@127.0.0.1:6000/hubs")).as_deref(), Some("fallback"));
        let escaped = "127.0.0.1:5432:hubs:app:pa\\:ss\\\\word\n";
        assert_eq!(passfile_lookup(escaped, &conn("postgres://app@127.0.0.1/hubs")).as_deref(), Some("pa:ss\\word"));
        let literal_star = "127.0.0.1:5432:\\*:app:star\n";
        assert_eq!(passfile_lookup(literal_star, &conn("postgres://app@127.0.0.1/hubs")), None, "an escaped star is not a wildcard");
        assert_eq!(passfile_lookup("127.0.0.1:5432:hubs:app\n", &conn("postgres://app@127.0.0.1/hubs")), None, "a line without a password field");
    }

    #[test]
    fn redaction_hides_passwords_of_every_url_and_keeps_the_rest() {
        let s = "connecting to postgres://app:s3cr%40t@db:5432/hubs and s3://bucket/x, then postgresql://u@h/d";
        let r = redact_urls(s);
        assert_eq!(r, "connecting to postgres://app:***@db:5432/hubs and s3://bucket/x, then postgresql://u@h/d");
        assert_eq!(redact_urls("\"postgres://a:b@c/d\""), "\"postgres://a:***@c/d\"");
        assert_eq!(redact_urls("postgres://a:p/w@c/d"), "postgres://a:***@c/d", "a raw / in the password is hidden too");
    }
}
