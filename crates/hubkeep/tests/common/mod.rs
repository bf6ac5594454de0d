//! Drives the `hubkeep` binary the way an operator does, on a throwaway home.
// Each test binary uses a different part of this support.
#![allow(dead_code, unused_imports)]

use std::path::PathBuf;

pub use hubkeep_testkit::table_checksums_at as table_checksums;
pub use hubkeep_testkit::{is_root, noise, tree, write_noise_files, Checksums, Home};

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

/// A URL with the password, from a stack's database secret.
pub fn secret_url(home: &Home, stack: &str) -> String {
    let show = home.json(&["stack", "show", stack]);
    let arn = show["outputs"]["database_secret_arn"]
        .as_str()
        .unwrap()
        .to_string();
    hubkeep_testkit::secret_value_url(&home.json(&["secret", "get", &arn])["value"])
}

/// Polls `job list` (a bounded 2000 times, 5 ms apart) until a backup job
/// of `stack` is RUNNING; whether one was seen.
pub fn backup_job_seen_running(home: &Home, stack: &str) -> bool {
    for _ in 0..2000 {
        let jobs = home.json(&["job", "list", "--stack", stack]);
        if jobs
            .as_array()
            .unwrap()
            .iter()
            .any(|j| j["kind"] == "backup" && j["state"] == "RUNNING")
        {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    false
}

/// Flip one byte in the largest object of a local vault (a pack of data).
pub fn flip_byte_in_largest_object(vault_location: &str) {
    use std::os::unix::fs::PermissionsExt;
    let mut biggest = (0u64, PathBuf::new());
    let mut dirs = vec![PathBuf::from(
        vault_location.strip_prefix("file://").unwrap(),
    )];
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

/// A Hubs stack `name` with the demo data (Reticulum schema, owned files):
/// hubkeep's superuser URL of it and its file store.
pub fn populated_hub(home: &Home, name: &str) -> (String, String) {
    populated_hub_at(home, name, &format!("{name}.example.org"))
}

/// [`populated_hub`] on domain `domain`.
pub fn populated_hub_at(home: &Home, name: &str, domain: &str) -> (String, String) {
    home.json(&["stack", "create", name, "--domain", domain]);
    let url = secret_url(home, name);
    let show = home.json(&["stack", "show", name]);
    let storage = show["outputs"]["storage_path"]
        .as_str()
        .unwrap()
        .to_string();
    let key = home.json(&["param", "get", &format!("/keymaster/{name}/phoenix-key")])["value"]
        .as_str()
        .unwrap()
        .to_string();
    let admin = admin_url(home, name);
    let user = url
        .split("://")
        .nth(1)
        .unwrap()
        .split(':')
        .next()
        .unwrap()
        .to_string();
    hubkeep_hubs::create_demo_schema(&admin, &user).unwrap();
    hubkeep_hubs::populate_demo(&admin, std::path::Path::new(&storage), &key, 1).unwrap();
    (admin, storage)
}

/// The password of hubkeep's superuser in an embedded stack's cluster.
fn superuser_password(home: &Home, stack: &str) -> String {
    let name = format!("/hubkeep/cluster/{stack}/superuser-password");
    home.json(&["param", "get", &name])["value"]
        .as_str()
        .unwrap()
        .to_string()
}

/// hubkeep's superuser URL of an embedded stack (for test setup only).
pub fn admin_url(home: &Home, stack: &str) -> String {
    let pw = superuser_password(home, stack);
    let url = secret_url(home, stack);
    let rest = url.split('@').nth(1).unwrap();
    format!("postgresql://postgres:{pw}@{rest}")
}

/// hubkeep's superuser URL of database `db` in an embedded stack's cluster.
pub fn superuser_url(home: &Home, stack: &str, db: &str) -> String {
    let pw = superuser_password(home, stack);
    let url = secret_url(home, stack);
    let hostport = url.split('@').nth(1).unwrap().split('/').next().unwrap();
    format!("postgresql://postgres:{pw}@{hostport}/{db}")
}
