//! Test support shared by hubkeep's test crates (a dev-dependency only):
//! throwaway homes the `postgres` user can reach, the `hubkeep` binary run
//! with `--json`, a local webhook receiver, table checksums of a database,
//! file trees and incompressible noise.
#![deny(missing_docs)]

pub mod home;
pub mod webhook;

pub use home::{
    can_run_clusters, hubkeep_bin, hubkeep_json, is_root, stop_clusters, throwaway_dir, Home,
};

use std::collections::BTreeMap;
use std::path::Path;

/// The `postgresql://` URL (with its password) a stack's database secret
/// value describes (`username`, `password`, `host`, `port`, `dbname`).
pub fn secret_value_url(v: &serde_json::Value) -> String {
    format!(
        "postgresql://{}:{}@{}:{}/{}",
        v["username"].as_str().unwrap(),
        v["password"].as_str().unwrap(),
        v["host"].as_str().unwrap(),
        v["port"],
        v["dbname"].as_str().unwrap()
    )
}

/// What [`table_checksums`] gives: per `schema.table`, its row count and
/// the md5 of its rows.
pub type Checksums = BTreeMap<String, (i64, String)>;

/// Per table (and materialized view): its row count and an md5 over all its
/// rows in a total order. Equal databases give equal maps.
pub fn table_checksums(client: &mut postgres::Client) -> Checksums {
    let tables: Vec<(String, String)> = client
        .query(
            "SELECT n.nspname || '.' || c.relname, format('%I.%I', n.nspname, c.relname) FROM pg_class c
             JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relkind IN ('r', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
               AND n.nspname !~ '^pg_toast'",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    tables
        .into_iter()
        .map(|(name, quoted)| {
            let q = format!(
                "SELECT count(*), coalesce(md5(string_agg(x::text, E'\\x01' ORDER BY x::text)), '')
                 FROM ONLY {quoted} x"
            );
            let row = client.query_one(q.as_str(), &[]).unwrap();
            (name, (row.get(0), row.get(1)))
        })
        .collect()
}

/// [`table_checksums`] of the database at a `postgresql://` URL.
pub fn table_checksums_at(url: &str) -> Checksums {
    let mut client = postgres::Client::connect(url, postgres::NoTls)
        .unwrap_or_else(|e| panic!("connect to the database to checksum it: {e}"));
    table_checksums(&mut client)
}

/// Every entry under `root` by relative path: a file's bytes, a directory
/// (`rel/`) as nothing, a symbolic link (`rel ->`) as its target.
pub fn tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().to_string();
            let ft = e.file_type().unwrap();
            if ft.is_symlink() {
                let target = std::fs::read_link(&p).unwrap();
                out.insert(
                    format!("{rel} ->"),
                    target.as_os_str().as_encoded_bytes().to_vec(),
                );
            } else if ft.is_dir() {
                out.insert(format!("{rel}/"), vec![]);
                walk(root, &p, out);
            } else {
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

/// A small tmpfs mounted for one test (a disk that fills); unmounted when
/// dropped.
pub struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    /// Mounts one of `size` (e.g. `8m`) at `at`; `None` (the test skips)
    /// where mounting is not permitted, but in CI (`CI=true`, run as root)
    /// that fails the test instead.
    pub fn mount(at: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(at).unwrap();
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "cannot mount a tmpfs (it needs root): the full-disk tests must run in CI"
            );
            eprintln!("skipped: cannot mount a tmpfs (needs root)");
            return None;
        }
        Some(Tmpfs(at.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

/// Deterministic incompressible bytes (xorshift from `seed`): a store keeps
/// them raw, and moving many of them takes long enough to be interrupted.
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Writes `count` files of `size` bytes of [`noise`] into `dir`, named
/// `{prefix}{i}{suffix}`, each from its own seed.
pub fn write_noise_files(dir: &Path, prefix: &str, suffix: &str, count: usize, size: usize) {
    for i in 0..count {
        let seed = 0x9e37_79b9_7f4a_7c15 ^ i as u64;
        std::fs::write(dir.join(format!("{prefix}{i}{suffix}")), noise(size, seed)).unwrap();
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn noise_is_reproducible_and_differs_by_seed() {
        assert_eq!(super::noise(100, 7), super::noise(100, 7));
        assert_ne!(super::noise(100, 7), super::noise(100, 8));
        assert_eq!(super::noise(13, 0).len(), 13);
        assert!(super::noise(64, 0).iter().any(|b| *b != 0));
    }
}
