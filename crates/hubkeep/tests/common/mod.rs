//! Drives the `hubkeep` binary the way an operator does, on a throwaway home.
#![allow(dead_code)]

use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct Home {
    pub dir: tempfile::TempDir,
}

pub fn is_root() -> bool {
    unsafe { libc_geteuid() == 0 }
}

extern "C" {
    #[link_name = "geteuid"]
    fn libc_geteuid() -> u32;
}

/// Tests that start PostgreSQL clusters need root (to run them as `postgres`).
#[macro_export]
macro_rules! require_root {
    () => {
        if !common::is_root() {
            eprintln!("skipped: needs root to run PostgreSQL as the postgres user");
            return;
        }
    };
}

impl Home {
    pub fn new() -> Home {
        let dir = tempfile::Builder::new().prefix("hubkeep-test-").tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o711)).unwrap();
        Home { dir }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_hubkeep"));
        c.arg("--home").arg(self.path()).args(args);
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    /// Run with `--json`; panics with stderr unless it succeeds.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut full = vec!["--json"];
        full.extend_from_slice(args);
        let out = self.run(&full);
        assert!(out.status.success(), "hubkeep {args:?} failed:\n{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("stdout of {args:?} is not one JSON document ({e}): {}", String::from_utf8_lossy(&out.stdout)))
    }

    /// Run with `--json` expecting failure: returns (code, message, stderr).
    pub fn fails(&self, args: &[&str]) -> (String, String, String) {
        let mut full = vec!["--json"];
        full.extend_from_slice(args);
        let out = self.run(&full);
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(!out.status.success(), "hubkeep {args:?} should have failed; stdout: {}", String::from_utf8_lossy(&out.stdout));
        let last = stderr.lines().last().unwrap_or("");
        assert!(last.starts_with("error: "), "stderr must end with an error line: {stderr}");
        let v: Value = serde_json::from_slice(&out.stdout).expect("--json failure prints an error document");
        (v["error"]["code"].as_str().unwrap().to_string(), v["error"]["message"].as_str().unwrap().to_string(), stderr)
    }

    pub fn scratch(&self, name: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::create_dir_all(&p).unwrap();
        p
    }
}

impl Drop for Home {
    fn drop(&mut self) {
        // Stop every embedded cluster this home started.
        let clusters = self.path().join("clusters");
        if let Ok(entries) = std::fs::read_dir(&clusters) {
            for e in entries.flatten() {
                let _ = Command::new("runuser")
                    .args(["-u", "postgres", "--", "/usr/lib/postgresql/15/bin/pg_ctl", "stop", "-m", "immediate", "-D"])
                    .arg(e.path().join("data"))
                    .output();
                let _ = Command::new("runuser")
                    .args(["-u", "postgres", "--", "/usr/lib/postgresql/15/bin/pg_ctl", "stop", "-m", "immediate", "-D"])
                    .arg(e.path())
                    .output();
            }
        }
    }
}

/// A URL with the password, from a stack's database secret.
pub fn secret_url(home: &Home, stack: &str) -> String {
    let show = home.json(&["stack", "show", stack]);
    let arn = show["outputs"]["database_secret_arn"].as_str().unwrap().to_string();
    let s = home.json(&["secret", "get", &arn]);
    let v = &s["value"];
    format!(
        "postgresql://{}:{}@{}:{}/{}",
        v["username"].as_str().unwrap(),
        v["password"].as_str().unwrap(),
        v["host"].as_str().unwrap(),
        v["port"],
        v["dbname"].as_str().unwrap()
    )
}

/// Every table's rows, ordered, hashed: equal databases give equal maps.
pub fn table_checksums(url: &str) -> std::collections::BTreeMap<String, String> {
    let mut c = postgres::Client::connect(url, postgres::NoTls).unwrap();
    let tables: Vec<(String, String)> = c
        .query(
            "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog','information_schema') ORDER BY 1, 2",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    tables
        .into_iter()
        .map(|(s, t)| {
            let q = format!("SELECT count(*)::text || ':' || coalesce(md5(string_agg(x::text, E'\\n' ORDER BY x::text)), '') FROM \"{s}\".\"{t}\" x");
            let v: String = c.query_one(&q, &[]).unwrap().get(0);
            (format!("{s}.{t}"), v)
        })
        .collect()
}

/// Every file under `root` (relative path → bytes or link target).
pub fn tree(root: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    fn walk(root: &Path, dir: &Path, out: &mut std::collections::BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().to_string();
            let ft = e.file_type().unwrap();
            if ft.is_symlink() {
                out.insert(format!("{rel} ->"), std::fs::read_link(&p).unwrap().as_os_str().as_encoded_bytes().to_vec());
            } else if ft.is_dir() {
                out.insert(format!("{rel}/"), vec![]);
                walk(root, &p, out);
            } else {
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    walk(root, root, &mut out);
    out
}

/// Flip one byte in the largest object of a local vault (a pack of data).
pub fn flip_byte_in_largest_object(vault_location: &str) {
    use std::os::unix::fs::PermissionsExt;
    let mut biggest = (0u64, PathBuf::new());
    let mut dirs = vec![PathBuf::from(vault_location.strip_prefix("file://").unwrap())];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let m = e.metadata().unwrap();
            if m.is_dir() {
                dirs.push(e.path());
            } else if m.len() > biggest.0 {
                biggest = (m.len(), e.path());
            }
        }
    }
    let mut bytes = std::fs::read(&biggest.1).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x55;
    std::fs::set_permissions(&biggest.1, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::write(&biggest.1, bytes).unwrap();
}

/// Deterministic noise (xorshift): incompressible, so the vault stores it raw
/// and a backup or restore of it takes long enough to be interrupted.
#[allow(dead_code)]
pub fn noise(len: usize, mut seed: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 24) as u8
        })
        .collect()
}

/// Writes `count` files of `size` bytes of noise into `dir`, named `{prefix}{i}{suffix}`.
#[allow(dead_code)]
pub fn write_noise_files(dir: &Path, prefix: &str, suffix: &str, count: usize, size: usize) {
    for i in 0..count {
        std::fs::write(dir.join(format!("{prefix}{i}{suffix}")), noise(size, 0x9e3779b97f4a7c15 ^ i as u64)).unwrap();
    }
}

/// A Hubs stack `name` with the demo data (Reticulum schema, owned files):
/// hubkeep's superuser URL of it and its file store.
pub fn populated_hub(home: &Home, name: &str) -> (String, String) {
    home.json(&["stack", "create", name, "--domain", &format!("{name}.example.org")]);
    let url = secret_url(home, name);
    let show = home.json(&["stack", "show", name]);
    let storage = show["outputs"]["storage_path"].as_str().unwrap().to_string();
    let key = home.json(&["param", "get", &format!("/keymaster/{name}/phoenix-key")])["value"].as_str().unwrap().to_string();
    let admin = admin_url(home, name);
    let user = url.split("://").nth(1).unwrap().split(':').next().unwrap().to_string();
    hubkeep_hubs::create_demo_schema(&admin, &user).unwrap();
    hubkeep_hubs::populate_demo(&admin, std::path::Path::new(&storage), &key, 1).unwrap();
    (admin, storage)
}

/// hubkeep's superuser URL of an embedded stack (for test setup only).
pub fn admin_url(home: &Home, stack: &str) -> String {
    let pw = home.json(&["param", "get", &format!("/hubkeep/cluster/{stack}/superuser-password")])["value"].as_str().unwrap().to_string();
    let url = secret_url(home, stack);
    let rest = url.split('@').nth(1).unwrap();
    format!("postgresql://postgres:{pw}@{rest}")
}
