//! The embedded database provider: one PostgreSQL cluster per stack in a
//! directory under the hubkeep home, made with the installed initdb and run
//! with pg_ctl (as the `postgres` OS user when hubkeep runs as root).
//!
//! A cluster listens on a free loopback port only, has no Unix socket, and
//! lets nobody in without a SCRAM password. Layout of `dir`:
//! `data/` (PGDATA; hubkeep's settings appended to `postgresql.conf` after a
//! `# hubkeep` line) and `server.log`.

use std::ffi::CString;
use std::fs;
use std::io::Write;
use std::net::TcpListener;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use crate::conninfo::ConnInfo;
use crate::error::PgError;
use crate::tools::{self, command_as_postgres, exit_text, running_as_root};

const DATA_DIR: &str = "data";
const LOG_FILE: &str = "server.log";
const CONFIG_MARK: &str = "# hubkeep";
/// pg_ctl waits this long for start and stop.
const PG_CTL_WAIT_SECS: &str = "120";

/// A PostgreSQL cluster living in `dir`, listening on 127.0.0.1:`port`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmbeddedCluster {
    /// The cluster's directory (its data directory is below it).
    pub dir: PathBuf,
    /// The loopback port it listens on.
    pub port: u16,
}

impl EmbeddedCluster {
    /// Creates a new cluster in `dir` (which must not exist or be empty)
    /// with superuser `postgres` whose password is `superuser_password`.
    /// The cluster is not started.
    pub fn init(dir: &Path, superuser_password: &str) -> Result<EmbeddedCluster, PgError> {
        check_reachable_by_postgres(dir)?;
        if fs::read_dir(dir)
            .map(|mut d| d.next().is_some())
            .unwrap_or(false)
        {
            return Err(PgError::Cluster {
                dir: dir.to_path_buf(),
                problem:
                    "cannot be created: the directory is not empty; choose another one or remove it"
                        .into(),
            });
        }
        fs::create_dir_all(dir)
            .map_err(|e| PgError::io("creating the cluster directory", dir, e))?;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
            .map_err(|e| PgError::io("restricting the cluster directory", dir, e))?;
        give_to_postgres(dir)?;

        let (_, initdb) = tools::newest_tool("initdb")?;
        // The password never touches the disk: it waits in a pipe that is
        // initdb's stdin, so no file can outlive initdb, even if hubkeep is
        // killed while it runs.
        let password_pipe = password_pipe(dir, superuser_password.as_bytes())?;
        let data = dir.join(DATA_DIR);
        let out = command_as_postgres(&initdb)
            .arg("-D")
            .arg(&data)
            .args([
                "--username=postgres",
                "--auth=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                "--pwfile=/dev/stdin",
            ])
            .stdin(Stdio::from(password_pipe))
            .output();
        let out = out.map_err(PgError::spawn_failed(&initdb))?;
        if !out.status.success() {
            return Err(PgError::Cluster {
                dir: dir.to_path_buf(),
                problem: format!(
                    "could not be created: initdb failed ({}): {}",
                    exit_text(out.status),
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
            });
        }

        let port = free_loopback_port(dir)?;
        append(
            &data.join("postgresql.conf"),
            &format!(
                "\n{CONFIG_MARK}\nlisten_addresses = '127.0.0.1'\nport = {port}\n\
                 unix_socket_directories = ''\npassword_encryption = 'scram-sha-256'\n"
            ),
        )?;
        fs::write(
            data.join("pg_hba.conf"),
            "# hubkeep: loopback TCP only, SCRAM passwords only\n\
             host all all 127.0.0.1/32 scram-sha-256\n",
        )
        .map_err(|e| PgError::io("writing", &data.join("pg_hba.conf"), e))?;
        Ok(EmbeddedCluster {
            dir: dir.to_path_buf(),
            port,
        })
    }

    /// The cluster created earlier in `dir`; its port comes from its config.
    pub fn open(dir: &Path) -> Result<EmbeddedCluster, PgError> {
        let conf = dir.join(DATA_DIR).join("postgresql.conf");
        let text = fs::read_to_string(&conf).map_err(|e| PgError::Cluster {
            dir: dir.to_path_buf(),
            problem: format!("cannot be opened: reading {} failed: {e}", conf.display()),
        })?;
        let port = text
            .split_once(CONFIG_MARK)
            .and_then(|(_, ours)| {
                ours.lines()
                    .rev()
                    .filter_map(|l| l.trim().strip_prefix("port"))
                    .filter_map(|rest| rest.trim().strip_prefix('='))
                    .find_map(|v| v.trim().parse::<u16>().ok())
            })
            .ok_or_else(|| PgError::Cluster {
                dir: dir.to_path_buf(),
                problem: format!(
                    "is not a hubkeep cluster: {} has no port after a `{CONFIG_MARK}` line",
                    conf.display()
                ),
            })?;
        Ok(EmbeddedCluster {
            dir: dir.to_path_buf(),
            port,
        })
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.join(DATA_DIR)
    }

    /// pg_ctl of the major version the cluster was created with.
    fn pg_ctl(&self) -> Result<PathBuf, PgError> {
        let version_file = self.data_dir().join("PG_VERSION");
        let major: u32 = fs::read_to_string(&version_file)
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .ok_or_else(|| PgError::Cluster {
                dir: self.dir.clone(),
                problem: format!(
                    "is damaged: {} is missing or unreadable",
                    version_file.display()
                ),
            })?;
        let path = tools::tool_path(major, "pg_ctl");
        if !path.is_file() {
            return Err(PgError::Cluster {
                dir: self.dir.clone(),
                problem: format!(
                    "was created by PostgreSQL {major}, which is no longer installed ({} is missing); install postgresql-{major}",
                    path.display()
                ),
            });
        }
        Ok(path)
    }

    fn run_pg_ctl(&self, args: &[&str]) -> Result<Output, PgError> {
        let pg_ctl = self.pg_ctl()?;
        command_as_postgres(&pg_ctl)
            .arg("-D")
            .arg(self.data_dir())
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(PgError::spawn_failed(&pg_ctl))
    }

    /// Starts the server and waits until it accepts connections; does
    /// nothing when it already runs.
    pub fn start(&self) -> Result<(), PgError> {
        if self.is_running() {
            return Ok(());
        }
        let log = self.dir.join(LOG_FILE);
        let log_arg = log.display().to_string();
        let out = self.run_pg_ctl(&["-l", &log_arg, "-w", "-t", PG_CTL_WAIT_SECS, "start"])?;
        if !out.status.success() {
            return Err(PgError::Cluster {
                dir: self.dir.clone(),
                problem: format!(
                    "did not start on 127.0.0.1:{} ({}): {}; see {}",
                    self.port,
                    exit_text(out.status),
                    log_tail(&log),
                    log.display()
                ),
            });
        }
        Ok(())
    }

    /// Stops the server (fast shutdown: sessions are ended, work is
    /// flushed); does nothing when it is not running.
    pub fn stop(&self) -> Result<(), PgError> {
        if !self.is_running() {
            return Ok(());
        }
        let out = self.run_pg_ctl(&["-m", "fast", "-w", "-t", PG_CTL_WAIT_SECS, "stop"])?;
        if !out.status.success() && self.is_running() {
            return Err(PgError::Cluster {
                dir: self.dir.clone(),
                problem: format!(
                    "did not stop ({}): {}",
                    exit_text(out.status),
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
            });
        }
        Ok(())
    }

    /// Whether the cluster's server is running (`pg_ctl status`).
    pub fn is_running(&self) -> bool {
        self.run_pg_ctl(&["status"])
            .map(|out| out.status.success())
            .unwrap_or(false)
    }

    /// Stops the cluster and deletes its directory with all data.
    pub fn remove(self) -> Result<(), PgError> {
        self.stop()?;
        fs::remove_dir_all(&self.dir)
            .map_err(|e| PgError::io("removing the cluster directory", &self.dir, e))
    }

    /// How to connect as the superuser `postgres`.
    pub fn superuser(&self, password: &str, dbname: &str) -> ConnInfo {
        ConnInfo {
            host: "127.0.0.1".into(),
            port: self.port,
            user: "postgres".into(),
            password: Some(password.to_string()),
            dbname: dbname.to_string(),
        }
    }
}

/// When hubkeep runs as root, the `postgres` OS user runs the cluster and
/// must be able to traverse every existing ancestor of `dir` (`/root` is
/// 0700 on Debian). Does nothing when not root.
pub fn check_reachable_by_postgres(dir: &Path) -> Result<(), PgError> {
    if !running_as_root() {
        return Ok(());
    }
    let (uid, gids) = postgres_ids(dir)?;
    let absolute = if dir.is_absolute() {
        dir.to_path_buf()
    } else {
        std::env::current_dir()
            .map_err(|e| PgError::io("resolving", dir, e))?
            .join(dir)
    };
    for ancestor in absolute
        .ancestors()
        .skip(1)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
    {
        let Ok(meta) = fs::metadata(ancestor) else {
            continue;
        };
        if !may_traverse(meta.mode(), meta.uid(), meta.gid(), uid, &gids) {
            return Err(PgError::NotReachable {
                dir: dir.to_path_buf(),
                blocking: ancestor.to_path_buf(),
                mode: meta.mode() & 0o7777,
            });
        }
    }
    Ok(())
}

fn may_traverse(mode: u32, owner: u32, group: u32, uid: u32, gids: &[u32]) -> bool {
    if owner == uid {
        mode & 0o100 != 0
    } else if gids.contains(&group) {
        mode & 0o010 != 0
    } else {
        mode & 0o001 != 0
    }
}

/// The `postgres` user's uid and all its group ids (`dir` only names the
/// cluster in the error).
fn postgres_ids(dir: &Path) -> Result<(u32, Vec<u32>), PgError> {
    let name = CString::new("postgres").expect("no NUL in a literal");
    // SAFETY: getpwnam returns NULL or a pointer to static storage that
    // stays valid until the next getpw* call; we copy out right away.
    let (uid, gid) = unsafe {
        let pw = libc::getpwnam(name.as_ptr());
        if pw.is_null() {
            return Err(PgError::Cluster {
                dir: dir.to_path_buf(),
                problem: "cannot be run: there is no `postgres` OS user; install PostgreSQL (apt-get install postgresql)".into(),
            });
        }
        ((*pw).pw_uid, (*pw).pw_gid)
    };
    let mut groups = vec![0 as libc::gid_t; 64];
    let mut count = groups.len() as libc::c_int;
    // SAFETY: groups has room for `count` entries; getgrouplist writes at
    // most that many and reports the real number in `count`.
    let ok = unsafe { libc::getgrouplist(name.as_ptr(), gid, groups.as_mut_ptr(), &mut count) };
    groups.truncate(if ok < 0 { 0 } else { count as usize });
    if !groups.contains(&gid) {
        groups.push(gid);
    }
    Ok((uid, groups))
}

/// Hands a path to the `postgres` user when we are root.
fn give_to_postgres(path: &Path) -> Result<(), PgError> {
    if !running_as_root() {
        return Ok(());
    }
    let (uid, gids) = postgres_ids(path)?;
    std::os::unix::fs::chown(path, Some(uid), gids.first().copied())
        .map_err(|e| PgError::io("handing to the postgres user", path, e))
}

/// The read end of a pipe already holding `content` (its write end closed).
/// initdb reopens it as `/dev/stdin`, which needs the pipe to belong to the
/// `postgres` user when hubkeep runs as root.
fn password_pipe(dir: &Path, content: &[u8]) -> Result<std::os::fd::OwnedFd, PgError> {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    let mut fds = [0; 2];
    // SAFETY: fds has room for the two descriptors pipe2 writes.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(PgError::io(
            "making a pipe for initdb's password",
            dir,
            std::io::Error::last_os_error(),
        ));
    }
    // SAFETY: pipe2 succeeded, so both descriptors are open and ours alone.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    // A password is far below the pipe's capacity: the write never blocks.
    fs::File::from(write)
        .write_all(content)
        .map_err(|e| PgError::io("passing the password to initdb", dir, e))?;
    if running_as_root() {
        let (uid, gids) = postgres_ids(dir)?;
        let gid = gids.first().copied().unwrap_or(u32::MAX);
        // SAFETY: fchown on a descriptor we own; no memory is involved.
        if unsafe { libc::fchown(read.as_raw_fd(), uid, gid) } != 0 {
            return Err(PgError::io(
                "handing initdb's password pipe to the postgres user",
                dir,
                std::io::Error::last_os_error(),
            ));
        }
    }
    Ok(read)
}

fn append(path: &Path, text: &str) -> Result<(), PgError> {
    fs::OpenOptions::new()
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|e| PgError::io("writing", path, e))
}

/// A port nobody listens on right now. Another process may take it before
/// the cluster starts; start then fails with "address already in use".
fn free_loopback_port(dir: &Path) -> Result<u16, PgError> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| PgError::Cluster {
            dir: dir.to_path_buf(),
            problem: format!("cannot get a loopback port: {e}"),
        })
}

fn log_tail(log: &Path) -> String {
    let text = fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().rev().take(5).collect();
    lines.into_iter().rev().collect::<Vec<_>>().join(" | ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traversal_follows_owner_group_other_bits() {
        assert!(may_traverse(0o700, 101, 0, 101, &[104]));
        assert!(!may_traverse(0o700, 0, 0, 101, &[104]));
        assert!(may_traverse(0o710, 0, 104, 101, &[104]));
        assert!(may_traverse(0o711, 0, 0, 101, &[104]));
        assert!(!may_traverse(0o770, 0, 0, 101, &[104]));
    }
}
