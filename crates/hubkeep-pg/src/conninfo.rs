//! Where a database is and how to log in: parsed once from a URL, then used
//! for client connections and for the environment of pg_dump/psql (the
//! password travels in an in-memory passfile, never in argv or the
//! environment). Every connection is
//! bounded in time (see [`Timeouts`]).

use std::fmt;
use std::process::Command;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::RwLock;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::PgError;

/// How long a PostgreSQL connection may wait. A server that accepts TCP
/// and then never answers, or a peer that vanished, must fail the command
/// in bounded time, while a long COPY or a long sort on a live server must
/// never be cut off (a read deadline would kill a `COPY … ORDER BY` whose
/// first row comes after minutes of sorting). So:
///
/// - `connect` bounds the whole connection setup: TCP connect, startup
///   message and authentication. A server that does not finish it in time
///   fails with [`PgError::ConnectTimeout`] naming host:port and the
///   timeout. pg_dump and psql get it as `PGCONNECT_TIMEOUT` (whole
///   seconds, at least 2, as libpq counts).
/// - `idle` bounds how long an established connection may stay dead at the
///   TCP level: data we sent that the peer's kernel does not acknowledge
///   (`TCP_USER_TIMEOUT`), or an idle connection whose keepalive probes go
///   unanswered (first probe after `idle/2`, then every `idle/8`, 4 probes)
///   ends in an error instead of a hang. A live server that keeps
///   acknowledging but computes for a long time is waited for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// How long connecting (TCP, startup, authentication) may take.
    pub connect: Duration,
    /// How long a connection may go without an answer before it is given up.
    pub idle: Duration,
}

impl Default for Timeouts {
    fn default() -> Timeouts {
        Timeouts {
            connect: Duration::from_secs(15),
            idle: Duration::from_secs(90),
        }
    }
}

static DEFAULT_TIMEOUTS: RwLock<Option<Timeouts>> = RwLock::new(None);

impl Timeouts {
    /// The timeouts every [`ConnInfo::connect`] and child tool of this
    /// process uses: [`Timeouts::default`] unless [`set_default_timeouts`]
    /// changed them.
    pub fn current() -> Timeouts {
        DEFAULT_TIMEOUTS
            .read()
            .map(|t| t.unwrap_or_default())
            .unwrap_or_default()
    }

    /// `PGCONNECT_TIMEOUT` for libpq programs: whole seconds, rounded up,
    /// at least 2 (libpq treats smaller values as 2).
    pub fn libpq_connect_timeout(&self) -> String {
        let secs = self.connect.as_millis().div_ceil(1000).max(2);
        secs.to_string()
    }
}

/// Sets the timeouts of every later connection of this process (the
/// service layer exposes them as settings). Connections of this crate are
/// made deep inside snapshot and restore, which is why this is one
/// process-wide setting rather than a parameter of each call.
pub fn set_default_timeouts(timeouts: Timeouts) {
    if let Ok(mut t) = DEFAULT_TIMEOUTS.write() {
        *t = Some(timeouts);
    }
}

/// How to reach one database. `Debug` hides the password.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ConnInfo {
    /// The server's host name or address.
    pub host: String,
    /// The server's port.
    pub port: u16,
    /// The user to log in as.
    pub user: String,
    /// The user's password; `None` when the server needs none.
    pub password: Option<String>,
    /// The database to connect to.
    pub dbname: String,
}

impl fmt::Debug for ConnInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnInfo")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "<hidden>"))
            .field("dbname", &self.dbname)
            .finish()
    }
}

impl ConnInfo {
    /// Parses `postgres://user:password@host:port/dbname` (or `postgresql://`).
    /// User, password and database name are percent-decoded; an IPv6 host is
    /// written in brackets. The only query parameter accepted is
    /// `sslmode=disable|allow|prefer`, since hubkeep connects without TLS.
    pub fn parse_url(url: &str) -> Result<ConnInfo, PgError> {
        let invalid = |reason: &str| PgError::InvalidUrl {
            reason: reason.to_string(),
        };
        let rest = url
            .strip_prefix("postgres://")
            .or_else(|| url.strip_prefix("postgresql://"))
            .ok_or_else(|| invalid("it must start with postgres:// or postgresql://"))?;
        let (rest, query) = match rest.split_once('?') {
            Some((r, q)) => (r, Some(q)),
            None => (rest, None),
        };
        if let Some(query) = query {
            for pair in query.split('&').filter(|p| !p.is_empty()) {
                match pair.split_once('=') {
                    Some(("sslmode", "disable" | "allow" | "prefer")) => {}
                    _ => {
                        return Err(invalid(&format!(
                            "the parameter {:?} is not supported (hubkeep connects without TLS; only sslmode=disable is accepted)",
                            pair.split('=').next().unwrap_or(pair)
                        )))
                    }
                }
            }
        }
        let (authority, path) = rest
            .split_once('/')
            .ok_or_else(|| invalid("it names no database (the /DATABASE part is missing)"))?;
        let (userinfo, hostport) = authority
            .rsplit_once('@')
            .ok_or_else(|| invalid("it names no user (the USER@ part is missing)"))?;
        let (user, password) = match userinfo.split_once(':') {
            Some((u, p)) => (percent_decode(u)?, Some(percent_decode(p)?)),
            None => (percent_decode(userinfo)?, None),
        };
        if user.is_empty() {
            return Err(invalid("the user name is empty"));
        }
        let (host, port) = split_host_port(hostport)?;
        if host.is_empty() {
            return Err(invalid("the host is empty"));
        }
        let dbname = percent_decode(path)?;
        if dbname.is_empty() {
            return Err(invalid("the database name is empty"));
        }
        Ok(ConnInfo {
            host,
            port,
            user,
            password,
            dbname,
        })
    }

    /// The URL with the password left out, safe to show and log.
    pub fn url_without_password(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        format!(
            "postgres://{}@{}:{}/{}",
            percent_encode(&self.user),
            host,
            self.port,
            percent_encode(&self.dbname)
        )
    }

    /// The full URL including the password, for handing to the secret store.
    pub fn url_with_password(&self) -> String {
        match &self.password {
            None => self.url_without_password(),
            Some(pw) => {
                let base = self.url_without_password();
                let user = percent_encode(&self.user);
                base.replacen(
                    &format!("postgres://{user}@"),
                    &format!("postgres://{user}:{}@", percent_encode(pw)),
                    1,
                )
            }
        }
    }

    /// The same server and login, another database.
    pub fn with_dbname(&self, db: &str) -> ConnInfo {
        ConnInfo {
            dbname: db.to_string(),
            ..self.clone()
        }
    }

    /// `host:port/dbname`, how errors name a database.
    pub fn target(&self) -> String {
        format!("{}:{}/{}", self.host, self.port, self.dbname)
    }

    /// Opens a client connection (no TLS) that identifies itself as hubkeep,
    /// with the process's [`Timeouts::current`].
    pub fn connect(&self) -> Result<postgres::Client, PgError> {
        self.connect_with(Timeouts::current())
    }

    /// Opens a client connection bounded by `timeouts`. The client library
    /// bounds only the TCP connect, not the startup and authentication
    /// exchange that follows, so the connection is made on a helper thread
    /// and abandoned when it is not ready in time. An abandoned attempt can
    /// never be used: if the server ever completes it, the helper drops it
    /// (closing the connection); until then it holds one blocked thread and
    /// one socket.
    pub fn connect_with(&self, timeouts: Timeouts) -> Result<postgres::Client, PgError> {
        let mut config = postgres::Config::new();
        config
            .host(&self.host)
            .port(self.port)
            .user(&self.user)
            .dbname(&self.dbname)
            .application_name("hubkeep")
            .connect_timeout(timeouts.connect)
            .tcp_user_timeout(timeouts.idle)
            .keepalives(true)
            .keepalives_idle((timeouts.idle / 2).max(Duration::from_secs(1)))
            .keepalives_interval((timeouts.idle / 8).max(Duration::from_secs(1)))
            .keepalives_retries(4);
        if let Some(pw) = &self.password {
            config.password(pw);
        }
        let (tx, rx) = mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("hubkeep-pg-connect".into())
            .spawn(move || {
                // The receiver is gone when the attempt was abandoned: the
                // client is dropped here, closing the connection.
                let _ = tx.send(config.connect(postgres::NoTls));
            });
        if let Err(source) = spawned {
            return Err(PgError::Spawn {
                program: "a connection thread".into(),
                source,
            });
        }
        match rx.recv_timeout(timeouts.connect) {
            Ok(Ok(client)) => Ok(client),
            Ok(Err(source)) => Err(PgError::Connect {
                target: self.target(),
                user: self.user.clone(),
                source,
            }),
            Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => {
                Err(PgError::ConnectTimeout {
                    server: self.server(),
                    timeout: timeouts.connect,
                })
            }
        }
    }

    /// `host:port` (IPv6 hosts in brackets).
    pub fn server(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// Points a libpq program (pg_dump, psql) at this database through its
    /// environment. The password is in neither argv nor the environment
    /// (`/proc/PID/environ`): it is a one-line libpq passfile in an anonymous
    /// memory file (memfd, mode 0600) that the child inherits as
    /// `PGPASSFILE=/dev/fd/N`; nothing is ever written to a disk, so a crash
    /// cannot leave it behind. Keep the returned handle until the child has
    /// been spawned.
    pub(crate) fn apply_to(&self, cmd: &mut Command) -> Result<Option<PassFd>, PgError> {
        cmd.env("PGHOST", &self.host)
            .env("PGPORT", self.port.to_string())
            .env("PGUSER", &self.user)
            .env("PGDATABASE", &self.dbname)
            .env("PGAPPNAME", "hubkeep")
            .env("PGSSLMODE", "disable")
            .env(
                "PGCONNECT_TIMEOUT",
                Timeouts::current().libpq_connect_timeout(),
            )
            .env_remove("PGSERVICE")
            .env_remove("PGOPTIONS")
            .env_remove("PGPASSWORD")
            .env_remove("PGPASSFILE");
        let Some(pw) = &self.password else {
            return Ok(None);
        };
        let fd = PassFd::new(self, pw)?;
        fd.hand_to(cmd);
        Ok(Some(fd))
    }
}

/// A libpq passfile for one server held in a memfd (see `ConnInfo::apply_to`).
pub(crate) struct PassFd(std::os::fd::OwnedFd);

impl PassFd {
    fn new(conn: &ConnInfo, password: &str) -> Result<PassFd, PgError> {
        use std::io::Write;
        use std::os::fd::{FromRawFd, OwnedFd};
        let failed = |what: &str, e: std::io::Error| {
            PgError::io(
                &format!("{what} the in-memory password file for {}", conn.target()),
                std::path::Path::new("memfd:hubkeep-pgpass"),
                e,
            )
        };
        // SAFETY: a NUL-terminated name and valid flags; the result is checked.
        let raw = unsafe { libc::memfd_create(c"hubkeep-pgpass".as_ptr(), libc::MFD_CLOEXEC) };
        if raw < 0 {
            return Err(failed("creating", std::io::Error::last_os_error()));
        }
        // SAFETY: `raw` is a fresh descriptor owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let mut file = std::fs::File::from(fd);
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(|e| failed("protecting", e))?;
        // In a passfile `:` and `\` are escaped with a backslash.
        let esc = |v: &str| v.replace('\\', "\\\\").replace(':', "\\:");
        let line = format!("*:*:*:{}:{}\n", esc(&conn.user), esc(password));
        file.write_all(line.as_bytes())
            .map_err(|e| failed("writing", e))?;
        Ok(PassFd(OwnedFd::from(file)))
    }

    /// Lets `cmd`'s child inherit the descriptor under the same number and
    /// tells libpq where it is; other children never see it (close-on-exec).
    fn hand_to(&self, cmd: &mut Command) {
        use std::os::fd::AsRawFd;
        use std::os::unix::process::CommandExt;
        let raw = self.0.as_raw_fd();
        cmd.env("PGPASSFILE", format!("/dev/fd/{raw}"));
        // SAFETY: fcntl is async-signal-safe and touches only this descriptor.
        unsafe {
            cmd.pre_exec(move || {
                let flags = libc::fcntl(raw, libc::F_GETFD);
                if flags < 0 || libc::fcntl(raw, libc::F_SETFD, flags & !libc::FD_CLOEXEC) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
}

fn split_host_port(hostport: &str) -> Result<(String, u16), PgError> {
    let invalid = |reason: String| PgError::InvalidUrl { reason };
    let (host, port) = if let Some(rest) = hostport.strip_prefix('[') {
        let (h, after) = rest
            .split_once(']')
            .ok_or_else(|| invalid("an IPv6 host lacks its closing ]".into()))?;
        match after.strip_prefix(':') {
            Some(p) => (h.to_string(), Some(p)),
            None if after.is_empty() => (h.to_string(), None),
            None => return Err(invalid(format!("unexpected {after:?} after the host"))),
        }
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (hostport.to_string(), None),
        }
    };
    let port = match port {
        None => 5432,
        Some(p) => p.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(|| {
            invalid(format!(
                "the port {p:?} is not a number between 1 and 65535"
            ))
        })?,
    };
    Ok((host, port))
}

fn percent_decode(s: &str) -> Result<String, PgError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| PgError::InvalidUrl {
                    reason: "a % is not followed by two hex digits (write a literal % as %25)"
                        .into(),
                })?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| PgError::InvalidUrl {
        reason: "a percent-encoded part is not valid UTF-8".into(),
    })
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_child_reads_the_password_from_its_passfile_not_its_environment() {
        let conn =
            super::ConnInfo::parse_url("postgres://app:pa%3Ass\\w@127.0.0.1:5433/hub").unwrap();
        let mut cmd = std::process::Command::new("sh");
        cmd.args(["-c", "cat \"$PGPASSFILE\"; echo ---; env"]);
        let _password = conn.apply_to(&mut cmd).unwrap();
        let out = cmd.output().unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        let (passfile, env) = text.split_once("---").unwrap();
        assert_eq!(passfile, "*:*:*:app:pa\\:ss\\\\w\n");
        assert!(!env.contains("pa:ss"), "{env}");
        assert!(
            env.contains("PGPASSFILE=/dev/fd/") && !env.contains("PGPASSWORD"),
            "{env}"
        );
    }

    use super::*;

    #[test]
    fn parses_a_full_url_with_encoded_password() {
        let c = ConnInfo::parse_url(
            "postgres://ret_admin:p%40ss%3Aw%2Frd@db.example:6543/ret_production",
        )
        .unwrap();
        assert_eq!(c.host, "db.example");
        assert_eq!(c.port, 6543);
        assert_eq!(c.user, "ret_admin");
        assert_eq!(c.password.as_deref(), Some("p@ss:w/rd"));
        assert_eq!(c.dbname, "ret_production");
    }

    #[test]
    fn defaults_port_and_accepts_ipv6_and_sslmode_disable() {
        let c = ConnInfo::parse_url("postgresql://u@[::1]/db?sslmode=disable").unwrap();
        assert_eq!(
            (c.host.as_str(), c.port, c.password.clone()),
            ("::1", 5432, None)
        );
        assert_eq!(c.url_without_password(), "postgres://u@[::1]:5432/db");
    }

    #[test]
    fn refuses_urls_that_would_silently_mean_something_else() {
        for url in [
            "mysql://u:p@h/db",
            "postgres://u:p@h:5432",
            "postgres://u:p@h:99999/db",
            "postgres://h:5432/db",
            "postgres://u:p@h/db?sslmode=require",
            "postgres://u:p%zz@h/db",
        ] {
            let e = ConnInfo::parse_url(url).unwrap_err();
            assert!(matches!(e, PgError::InvalidUrl { .. }), "{url}");
            assert!(
                !e.to_string().contains(":p@"),
                "error must not echo the URL: {e}"
            );
        }
    }

    #[test]
    fn debug_and_url_without_password_hide_the_password() {
        let c = ConnInfo::parse_url("postgres://u:s3cr3t-value@h:5/db").unwrap();
        assert!(!format!("{c:?}").contains("s3cr3t-value"));
        assert!(!c.url_without_password().contains("s3cr3t-value"));
        let round = ConnInfo::parse_url(&c.url_with_password()).unwrap();
        assert_eq!(round, c);
    }
}
