//! A throwaway hubkeep home and the `hubkeep` binary run over it.

use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Whether this process runs as root (embedded clusters run as `postgres`
/// through `runuser`, which needs it).
pub fn is_root() -> bool {
    // SAFETY: geteuid(2) has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Whether embedded clusters can run here (they run as the `postgres`
/// user, which needs root). On CI (`CI=true`) a missing prerequisite is a
/// failure, not a skip: this panics there instead of answering false.
pub fn can_run_clusters() -> bool {
    let root = is_root();
    if !root && std::env::var("CI").as_deref() == Ok("true") {
        panic!("these tests need root to run PostgreSQL as the postgres user");
    }
    root
}

/// A new temporary directory named `{prefix}…`, mode 0711 so the `postgres`
/// user can reach the clusters made below it; removed when dropped.
pub fn throwaway_dir(prefix: &str) -> tempfile::TempDir {
    let dir = tempfile::Builder::new().prefix(prefix).tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o711)).unwrap();
    dir
}

/// Stops (immediate mode) every embedded cluster of the home at `home`,
/// whether its data directory is `clusters/NAME/data` or `clusters/NAME`.
pub fn stop_clusters(home: &Path) {
    for e in std::fs::read_dir(home.join("clusters"))
        .into_iter()
        .flatten()
        .flatten()
    {
        for data in [e.path().join("data"), e.path()] {
            let _ = Command::new("runuser")
                .args([
                    "-u",
                    "postgres",
                    "--",
                    "/usr/lib/postgresql/15/bin/pg_ctl",
                    "stop",
                    "-m",
                    "immediate",
                    "-D",
                ])
                .arg(data)
                .output();
        }
    }
}

/// The `hubkeep` binary of this build: cargo builds it beside the test
/// executables (`target/debug/hubkeep`).
pub fn hubkeep_bin() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let bin = exe.parent().unwrap().parent().unwrap().join("hubkeep");
    assert!(
        bin.exists(),
        "{} is missing: build it first (`cargo build -p hubkeep`)",
        bin.display()
    );
    bin
}

/// Runs `hubkeep --home HOME --json ARGS` (with `HUBKEEP_CLOCK` at `clock`
/// when given) and parses its one JSON document; panics with stderr unless
/// it succeeds.
pub fn hubkeep_json(home: &Path, clock: Option<&str>, args: &[&str]) -> Value {
    let mut cmd = Command::new(hubkeep_bin());
    cmd.arg("--home").arg(home).arg("--json").args(args);
    if let Some(clock) = clock {
        cmd.env("HUBKEEP_CLOCK", clock);
    }
    let out = cmd.output().unwrap();
    let at = clock.map(|c| format!(" at {c}")).unwrap_or_default();
    assert!(
        out.status.success(),
        "hubkeep {args:?}{at} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout of {args:?} is not one JSON document ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// A throwaway home (`DIR/home` inside a [`throwaway_dir`]) driven by the
/// `hubkeep` binary; its embedded clusters are stopped when it is dropped.
pub struct Home {
    /// The temporary directory holding the home and any scratch space.
    pub dir: tempfile::TempDir,
}

impl Default for Home {
    fn default() -> Self {
        Self::new()
    }
}

impl Home {
    /// A new, not yet initialised home.
    pub fn new() -> Home {
        Home {
            dir: throwaway_dir("hubkeep-test-"),
        }
    }

    /// The home's directory (what `--home` is given).
    pub fn path(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    /// `hubkeep --home HOME ARGS`, not yet run.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(hubkeep_bin());
        c.arg("--home").arg(self.path()).args(args);
        c
    }

    /// Runs `hubkeep --home HOME ARGS` to its end.
    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    /// Runs with `--json`; panics with stderr unless it succeeds.
    pub fn json(&self, args: &[&str]) -> Value {
        hubkeep_json(&self.path(), None, args)
    }

    /// Runs with `--json` and the clock at `clock`; panics unless it succeeds.
    pub fn json_at(&self, clock: &str, args: &[&str]) -> Value {
        hubkeep_json(&self.path(), Some(clock), args)
    }

    /// Runs with `--json` expecting failure: returns (code, message, stderr),
    /// having checked that stderr ends with an `error: ` line.
    pub fn fails(&self, args: &[&str]) -> (String, String, String) {
        let mut full = vec!["--json"];
        full.extend_from_slice(args);
        let out = self.run(&full);
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(
            !out.status.success(),
            "hubkeep {args:?} should have failed; stdout: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        let last = stderr.lines().last().unwrap_or("");
        assert!(
            last.starts_with("error: "),
            "stderr must end with an error line: {stderr}"
        );
        let v: Value =
            serde_json::from_slice(&out.stdout).expect("--json failure prints an error document");
        (
            v["error"]["code"].as_str().unwrap().to_string(),
            v["error"]["message"].as_str().unwrap().to_string(),
            stderr,
        )
    }

    /// A directory `name` beside the home, made if missing.
    pub fn scratch(&self, name: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::create_dir_all(&p).unwrap();
        p
    }
}

impl Drop for Home {
    fn drop(&mut self) {
        stop_clusters(&self.path());
    }
}
