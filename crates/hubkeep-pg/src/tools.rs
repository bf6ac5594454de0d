//! The PostgreSQL programs hubkeep runs (pg_dump, psql, initdb, pg_ctl):
//! always the version-matched binary from `/usr/lib/postgresql/<major>/bin`,
//! never Debian's wrapper scripts, whose choice of version depends on the
//! machine's cluster list.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus};
use std::thread::JoinHandle;

use crate::error::PgError;

const INSTALL_ROOT: &str = "/usr/lib/postgresql";

/// A PostgreSQL release number as the programs and servers print it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version {
    /// The major version (`15` of 15.4).
    pub major: u32,
    /// The minor version (`4` of 15.4).
    pub minor: u32,
}

impl Version {
    /// From `server_version_num` (e.g. 150018 → 15.18; before 10 the
    /// number was major.minor.patch: 90624 → 9.6).
    pub fn from_num(num: u32) -> Version {
        if num >= 100_000 {
            Version {
                major: num / 10_000,
                minor: num % 10_000,
            }
        } else {
            Version {
                major: num / 10_000,
                minor: num / 100 % 100,
            }
        }
    }

    /// From the output of `pg_dump --version`, e.g.
    /// `pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)` or `… 17beta1`.
    pub fn from_tool_output(output: &str) -> Option<Version> {
        let word = output
            .split_whitespace()
            .find(|w| w.starts_with(|c: char| c.is_ascii_digit()))?;
        let digits_end = |s: &str| s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let major: u32 = word[..digits_end(word)].parse().ok()?;
        let rest = &word[digits_end(word)..];
        let minor = match rest.strip_prefix('.') {
            Some(m) => m[..digits_end(m)].parse().unwrap_or(0),
            None => 0,
        };
        Some(Version { major, minor })
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// Major versions installed under `/usr/lib/postgresql` that have `tool`.
pub fn installed_majors(tool: &str) -> Vec<u32> {
    let mut majors: Vec<u32> = std::fs::read_dir(INSTALL_ROOT)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|m| tool_path(*m, tool).is_file())
        .collect();
    majors.sort_unstable();
    majors
}

pub fn tool_path(major: u32, tool: &str) -> PathBuf {
    Path::new(INSTALL_ROOT)
        .join(major.to_string())
        .join("bin")
        .join(tool)
}

/// Which installed major to use for a client tool talking to a server of
/// `server_major`: the same major when installed, else the oldest newer one
/// (pg_dump and psql read older servers). `Err(newest)` when every installed
/// version is older than the server; `Err(None)` when none is installed.
pub fn choose_major(installed: &[u32], server_major: u32) -> Result<u32, Option<u32>> {
    if installed.contains(&server_major) {
        return Ok(server_major);
    }
    if let Some(newer) = installed
        .iter()
        .copied()
        .filter(|m| *m > server_major)
        .min()
    {
        return Ok(newer);
    }
    Err(installed.iter().copied().max())
}

/// The binary of `tool` fit for a server of `server`: refuses, naming both
/// versions, when only older ones are installed.
pub fn tool_for_server(tool: &str, server: Version, target: &str) -> Result<PathBuf, PgError> {
    match choose_major(&installed_majors(tool), server.major) {
        Ok(major) => Ok(tool_path(major, tool)),
        Err(None) => Err(PgError::ToolMissing {
            tool: tool.to_string(),
        }),
        Err(Some(newest)) => {
            let path = tool_path(newest, tool);
            let tool_version = tool_version(&path)
                .map(|v| v.to_string())
                .unwrap_or_else(|_| newest.to_string());
            Err(PgError::ToolTooOld {
                tool: tool.to_string(),
                tool_version,
                target: target.to_string(),
                server_version: server.to_string(),
                server_major: server.major,
            })
        }
    }
}

/// The newest installed binary of `tool` (for initdb and friends).
pub fn newest_tool(tool: &str) -> Result<(u32, PathBuf), PgError> {
    let major = installed_majors(tool)
        .last()
        .copied()
        .ok_or_else(|| PgError::ToolMissing {
            tool: tool.to_string(),
        })?;
    Ok((major, tool_path(major, tool)))
}

/// Runs `path --version` and parses it.
pub fn tool_version(path: &Path) -> Result<Version, PgError> {
    let out = Command::new(path)
        .arg("--version")
        .output()
        .map_err(PgError::spawn_failed(path))?;
    let text = String::from_utf8_lossy(&out.stdout);
    Version::from_tool_output(&text).ok_or_else(|| PgError::Tool {
        tool: path.display().to_string(),
        what: "reporting its version".into(),
        status: exit_text(out.status),
        stderr: format!("unexpected output {:?}", text.trim()),
    })
}

/// True when this process runs as root, so cluster programs must run as the
/// `postgres` OS user (initdb and postgres refuse root).
pub fn running_as_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// A command for `program` that runs as `postgres` when we are root.
pub fn command_as_postgres(program: &Path) -> Command {
    if running_as_root() {
        let mut cmd = Command::new("runuser");
        cmd.arg("-u").arg("postgres").arg("--").arg(program);
        cmd
    } else {
        Command::new(program)
    }
}

pub fn exit_text(status: ExitStatus) -> String {
    match status.code() {
        Some(code) => format!("exit status {code}"),
        None => "killed by a signal".to_string(),
    }
}

/// Drains a child's stderr on a thread (so a chatty child never blocks on a
/// full pipe) and keeps the last 8 KiB for the error message.
pub struct StderrTail(JoinHandle<String>);

impl StderrTail {
    pub fn capture(child: &mut Child) -> StderrTail {
        let mut stderr = child.stderr.take();
        StderrTail(std::thread::spawn(move || {
            let mut all = Vec::new();
            if let Some(s) = stderr.as_mut() {
                let mut buf = [0u8; 8192];
                while let Ok(n) = s.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    all.extend_from_slice(&buf[..n]);
                    if all.len() > 16384 {
                        all.drain(..all.len() - 8192);
                    }
                }
            }
            String::from_utf8_lossy(&all).trim().to_string()
        }))
    }

    pub fn finish(self) -> String {
        self.0.join().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_versions_from_tools_and_servers() {
        assert_eq!(
            Version::from_tool_output("pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)\n"),
            Some(Version {
                major: 15,
                minor: 18
            })
        );
        assert_eq!(
            Version::from_tool_output("psql (PostgreSQL) 17beta1"),
            Some(Version {
                major: 17,
                minor: 0
            })
        );
        assert_eq!(
            Version::from_num(150018),
            Version {
                major: 15,
                minor: 18
            }
        );
        assert_eq!(Version::from_num(160002).to_string(), "16.2");
        assert_eq!(Version::from_num(90624), Version { major: 9, minor: 6 });
    }

    #[test]
    fn pg_dump_matching_or_newer_than_the_server_is_chosen() {
        assert_eq!(choose_major(&[13, 15, 17], 15), Ok(15));
        assert_eq!(choose_major(&[13, 16, 17], 15), Ok(16));
        assert_eq!(choose_major(&[15], 12), Ok(15));
    }

    #[test]
    fn pg_dump_older_than_the_server_is_refused_naming_both_versions() {
        assert_eq!(choose_major(&[13, 15], 16), Err(Some(15)));
        assert_eq!(choose_major(&[], 16), Err(None));
        let e = PgError::ToolTooOld {
            tool: "pg_dump".into(),
            tool_version: "15.18".into(),
            target: "db:5432/ret".into(),
            server_version: "16.4".into(),
            server_major: 16,
        };
        let s = e.to_string();
        assert!(
            s.contains(
                "pg_dump 15.18 is older than the PostgreSQL server at db:5432/ret (version 16.4)"
            ),
            "{s}"
        );
        assert!(s.contains("/usr/lib/postgresql/16/bin/pg_dump"), "{s}");
    }
}
