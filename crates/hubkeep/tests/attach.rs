//! `vault attach` on a new home: tolerant of snapshots that are not
//! hubkeep's or do not decode (skipped and listed), all or nothing in the
//! catalog, and honest about recovery points whose tree cannot be read.

mod common;
use common::*;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// A generic stack with a few files; returns its storage directory.
fn stack_with_files(home: &Home, name: &str) -> PathBuf {
    home.json(&["stack", "create", name, "--profile", "generic"]);
    let storage = PathBuf::from(
        home.json(&["stack", "show", name])["outputs"]["storage_path"]
            .as_str()
            .unwrap(),
    );
    for i in 0..4u8 {
        std::fs::write(storage.join(format!("file-{i}.bin")), vec![i; 300_000]).unwrap();
    }
    storage
}

/// The vault's location and recovery key, from its recovery kit.
fn recovery_kit(home: &Home, vault: &str) -> (String, String) {
    let kit = home.json(&["vault", "recovery-kit", vault, "--yes"]);
    (
        kit["location"].as_str().unwrap().to_string(),
        kit["recovery_key"].as_str().unwrap().to_string(),
    )
}

/// The vault opened with the real key, as an attacker holding it would.
fn open_vault(location: &str, key: &str) -> hubkeep_vault::Vault {
    let store = hubkeep_store::open(location, &hubkeep_store::S3Settings::from_env()).unwrap();
    hubkeep_vault::Vault::open(store, key).unwrap()
}

/// Every file under a local vault's directory.
fn files_under(location: &str, sub: &str) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    let mut dirs = vec![Path::new(location.strip_prefix("file://").unwrap()).join(sub)];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.file_type().unwrap().is_dir() {
                dirs.push(e.path());
            } else {
                out.insert(e.path());
            }
        }
    }
    out
}

fn attach(home: &Home, vault: &str, location: &str, key: &str) -> std::process::Output {
    home.run(&[
        "--json",
        "vault",
        "attach",
        vault,
        "--location",
        location,
        "--recovery-key",
        key,
    ])
}

#[test]
fn attach_skips_foreign_and_undecodable_snapshots_and_attaches_the_rest() {
    require_root!();
    let old = Home::new();
    stack_with_files(&old, "hub");
    let set = old.json(&["backup", "hub"]);
    let (location, key) = recovery_kit(&old, "hub-daily");
    let vault = open_vault(&location, &key);
    let foreign = vault
        .writer(
            "files",
            serde_json::json!({"hello": "not a hubkeep record"}),
        )
        .unwrap()
        .commit()
        .unwrap()
        .id;
    let undecodable = vault
        .writer(
            "backup-set",
            serde_json::json!({"backup_set": {"backup_id": 5}}),
        )
        .unwrap()
        .commit()
        .unwrap()
        .id;
    let alien = vault
        .writer("photos", serde_json::json!({}))
        .unwrap()
        .commit()
        .unwrap()
        .id;

    let new = Home::new();
    new.json(&["init"]);
    let out = attach(&new, "hub-daily", &location, &key);
    assert!(
        out.status.success(),
        "attach goes on past the foreign snapshots: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let attached: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (
            attached["recovery_points"].as_u64(),
            attached["db_snapshots"].as_u64(),
            attached["backup_sets"].as_u64()
        ),
        (Some(1), Some(1), Some(1)),
        "{attached}"
    );
    let skipped = attached["skipped_snapshots"].as_array().unwrap();
    let reason = |id: &str| {
        skipped
            .iter()
            .find(|s| s["id"] == id)
            .unwrap_or_else(|| panic!("{id} is listed as skipped: {attached}"))["reason"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(
        reason(&foreign).contains("recovery_point_arn")
            && reason(&foreign).contains("not a hubkeep recovery point"),
        "{}",
        reason(&foreign)
    );
    assert!(
        reason(&undecodable).contains("not a hubkeep backup set"),
        "{}",
        reason(&undecodable)
    );
    assert!(reason(&alien).contains("photos"), "{}", reason(&alien));
    assert_eq!(skipped.len(), 3, "{attached}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&foreign),
        "the operator is told too: {stderr}"
    );

    let points = new.json(&["recovery-point", "list", "--vault", "hub-daily"]);
    assert_eq!(
        points[0]["status"], "AVAILABLE",
        "its tree was read: {points}"
    );
    let restored = new.json(&[
        "restore",
        "copy",
        "--backup",
        set["backup_id"].as_str().unwrap(),
        "--domain",
        "copy.example.org",
    ]);
    assert_eq!(restored["status"], "ONLINE");
}

#[test]
fn attach_failing_midway_leaves_the_home_as_it_was() {
    require_root!();
    let old = Home::new();
    stack_with_files(&old, "hub");
    old.json(&["backup", "hub"]);
    let (location, key) = recovery_kit(&old, "hub-daily");

    // The attach would create region `local` and then meet a different
    // vault of the same name: the region must not stay behind.
    let new = Home::new();
    new.json(&["init", "--region", "other"]);
    new.json(&["vault", "create", "hub-daily", "--region", "other"]);
    let before = (
        new.json(&["region", "list"]),
        new.json(&["vault", "list"]),
        new.json(&["secret", "list"]),
        new.json(&["param", "list", "/hubkeep/"]),
    );
    let (code, msg, _) = new.fails(&[
        "vault",
        "attach",
        "hub-daily",
        "--location",
        &location,
        "--recovery-key",
        &key,
    ]);
    assert_eq!(code, "conflict", "{msg}");
    assert!(msg.contains("another name"), "{msg}");
    let after = (
        new.json(&["region", "list"]),
        new.json(&["vault", "list"]),
        new.json(&["secret", "list"]),
        new.json(&["param", "list", "/hubkeep/"]),
    );
    assert_eq!(before, after, "a refused attach changes nothing");

    // A key file of the vault that no longer decodes: refused, nothing kept.
    let fresh = Home::new();
    fresh.json(&["init"]);
    let key_files = files_under(&location, "keys");
    assert!(!key_files.is_empty());
    for k in &key_files {
        std::fs::write(k, b"{ not a key file").unwrap();
    }
    let (code, msg, _) = fresh.fails(&[
        "vault",
        "attach",
        "hub-daily",
        "--location",
        &location,
        "--recovery-key",
        &key,
    ]);
    assert_ne!(code, "internal", "{msg}");
    assert!(
        msg.contains("hub-daily") || msg.contains(&location),
        "the message names the vault: {msg}"
    );
    assert!(
        fresh
            .json(&["vault", "list"])
            .as_array()
            .unwrap()
            .is_empty(),
        "no vault registered"
    );
    assert!(
        fresh
            .json(&["param", "list", "/hubkeep/vault/"])
            .as_array()
            .unwrap()
            .is_empty(),
        "its keys are not in the secret store"
    );
    assert!(fresh
        .json(&["backup-set", "list"])
        .as_array()
        .unwrap()
        .is_empty());
    assert!(fresh
        .json(&["recovery-point", "list"])
        .as_array()
        .unwrap()
        .is_empty());
}

#[test]
fn a_point_whose_tree_is_missing_attaches_unverified_until_verify_passes() {
    require_root!();
    let old = Home::new();
    let storage = stack_with_files(&old, "hub");
    let first = old.json(&["backup-job", "start", "hub"])["recovery_point_arn"]
        .as_str()
        .unwrap()
        .to_string();
    let (location, key) = recovery_kit(&old, "hub-daily");
    let packs_before = files_under(&location, "packs");
    std::fs::create_dir(storage.join("new-dir")).unwrap();
    std::fs::write(storage.join("new-dir/upload.bin"), vec![7u8; 200_000]).unwrap();
    let second = old.json(&["backup-job", "start", "hub"])["recovery_point_arn"]
        .as_str()
        .unwrap()
        .to_string();
    // The second backup's packs hold its tree: move them away.
    let aside = old.scratch("aside");
    let new_packs: Vec<PathBuf> = files_under(&location, "packs")
        .difference(&packs_before)
        .cloned()
        .collect();
    assert!(!new_packs.is_empty());
    for (i, p) in new_packs.iter().enumerate() {
        std::fs::rename(p, aside.join(i.to_string())).unwrap();
    }

    let new = Home::new();
    new.json(&["init"]);
    let out = attach(&new, "hub-daily", &location, &key);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let attached: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        attached["unverified_recovery_points"],
        serde_json::json!([second]),
        "{attached}"
    );
    assert_eq!(
        new.json(&["recovery-point", "show", &first])["status"],
        "AVAILABLE"
    );
    assert_eq!(
        new.json(&["recovery-point", "show", &second])["status"],
        "UNVERIFIED"
    );
    let target = new.dir.path().join("target");
    let (code, msg, _) = new.fails(&[
        "restore-job",
        "start",
        &second,
        "--target",
        target.to_str().unwrap(),
    ]);
    assert_eq!(code, "recovery_point_not_available", "{msg}");
    assert!(
        msg.contains("UNVERIFIED") && msg.contains("hubkeep verify"),
        "{msg}"
    );
    assert!(!target.exists(), "a refused restore writes nothing");
    let (code, msg, _) = new.fails(&["verify", &second]);
    assert_eq!(code, "verify_failed", "{msg}");
    assert!(
        msg.contains("does not exist"),
        "verify names the missing object: {msg}"
    );
    assert_eq!(
        new.json(&["recovery-point", "show", &second])["status"],
        "UNVERIFIED",
        "a failing verify changes nothing"
    );

    // The packs come back: verify passes and the point is AVAILABLE.
    for (i, p) in new_packs.iter().enumerate() {
        std::fs::rename(aside.join(i.to_string()), p).unwrap();
    }
    assert_eq!(new.json(&["verify", &second])["ok"], true);
    assert_eq!(
        new.json(&["recovery-point", "show", &second])["status"],
        "AVAILABLE"
    );
    let r = new.json(&[
        "restore-job",
        "start",
        &second,
        "--target",
        target.to_str().unwrap(),
    ]);
    assert_eq!(r["state"], "COMPLETED");
    assert_eq!(tree(&target), tree(&storage));
}
