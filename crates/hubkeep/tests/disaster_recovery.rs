//! The day the machine is lost: a new home, the vault's location and its
//! recovery key bring the whole hub back — database, files and keys.

mod common;
use common::*;
use std::path::Path;

fn back_up_a_hub(home: &Home, extra_env: &[(&str, String)]) -> (serde_json::Value, Checksums, std::collections::BTreeMap<String, Vec<u8>>, String) {
    let mut create = home.cmd(&["--json", "stack", "create", "hub", "--domain", "hub.example.org"]);
    for (k, v) in extra_env {
        create.env(k, v);
    }
    let out = create.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let created: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let show = &created;
    let storage = show["outputs"]["storage_path"].as_str().unwrap().to_string();
    let key = home.json(&["param", "get", "/keymaster/hub/phoenix-key"])["value"].as_str().unwrap().to_string();
    let su = home.json(&["param", "get", "/hubkeep/cluster/hub/superuser-password"])["value"].as_str().unwrap().to_string();
    let app = secret_url(home, "hub");
    let admin = format!("postgresql://postgres:{su}@{}", app.split('@').nth(1).unwrap());
    let user = app.split("://").nth(1).unwrap().split(':').next().unwrap().to_string();
    hubkeep_hubs::create_demo_schema(&admin, &user).unwrap();
    hubkeep_hubs::populate_demo(&admin, Path::new(&storage), &key, 1).unwrap();
    let db = table_checksums(&admin);
    let files = tree(Path::new(&storage));
    // A server setting: it belongs to the stack and never goes into a backup.
    home.json(&["param", "put", "/ita/hub/max-room-size", "24"]);
    let mut backup = home.cmd(&["--json", "backup", "hub", "--offline"]);
    for (k, v) in extra_env {
        backup.env(k, v);
    }
    let out = backup.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let set: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let kit = {
        let mut c = home.cmd(&["--json", "vault", "recovery-kit", "hub-daily", "--yes"]);
        for (k, v) in extra_env {
            c.env(k, v);
        }
        serde_json::from_slice::<serde_json::Value>(&c.output().unwrap().stdout).unwrap()
    };
    assert_eq!(kit["recovery_key"], created["daily_backup_vault"]["recovery_key"], "the kit carries the key printed at creation");
    (serde_json::json!({"set": set, "kit": kit}), db, files, admin)
}

fn restore_on_a_new_home(old: Home, env: &[(&str, String)]) {
    let (info, db, files, _) = back_up_a_hub(&old, env);
    let kit = info["kit"].clone();
    let set = info["set"].clone();
    let old_key = old.json(&["param", "get", "/keymaster/hub/phoenix-key"])["value"].clone();
    drop(old); // the whole home is gone: catalog, secret store, clusters

    let new = Home::new();
    let with_env = |mut c: std::process::Command| {
        for (k, v) in env {
            c.env(k, v);
        }
        c.output().unwrap()
    };
    // A wrong recovery key is refused and nothing is recorded.
    let out = with_env(new.cmd(&["--json", "vault", "attach", "hub-daily", "--location", kit["location"].as_str().unwrap(), "--recovery-key", &"ab".repeat(32)]));
    assert!(!out.status.success());
    let err: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(err["error"]["code"], "wrong_key", "{err}");
    assert_eq!(new.json(&["vault", "list"]).as_array().unwrap().len(), 0);

    let out = with_env(new.cmd(&["--json", "vault", "attach", "hub-daily", "--location", kit["location"].as_str().unwrap(), "--recovery-key", kit["recovery_key"].as_str().unwrap()]));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let attached: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(attached["backup_sets"], 1, "{attached}");
    let sets = new.json(&["backup-set", "list"]);
    assert_eq!(sets[0]["backup_id"], set["backup_id"]);
    let out = with_env(new.cmd(&["--json", "verify", set["backup_id"].as_str().unwrap()]));
    assert!(out.status.success(), "the attached backup verifies, Hubs check included: {}", String::from_utf8_lossy(&out.stderr));

    // A different key already in this home is not silently replaced.
    new.json(&["param", "put", "/keymaster/hub/phoenix-key", "some-other-value"]);
    let out = with_env(new.cmd(&["--json", "restore", "hub", "--backup", set["backup_id"].as_str().unwrap(), "--domain", "hub.example.org"]));
    assert!(!out.status.success());
    let err: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(err["error"]["code"], "secret_conflict", "{err}");
    assert!(err["error"]["message"].as_str().unwrap().contains("--force"), "{err}");
    assert!(new.json(&["stack", "list"]).as_array().unwrap().is_empty(), "a refused restore creates nothing");
    assert_eq!(new.json(&["param", "get", "/keymaster/hub/phoenix-key"])["value"], "some-other-value");

    let out = with_env(new.cmd(&["--json", "restore", "hub", "--backup", set["backup_id"].as_str().unwrap(), "--domain", "hub.example.org", "--force"]));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(new.json(&["param", "list", "/ita/"]).as_array().unwrap().is_empty(), "server settings are not in backups");
    let restored: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(restored["hubs_check"]["passed"], true);
    assert_eq!(new.json(&["param", "get", "/keymaster/hub/phoenix-key"])["value"], old_key, "keys come back from the vault's key bundle");
    let su = new.json(&["param", "get", "/hubkeep/cluster/hub/superuser-password"])["value"].as_str().unwrap().to_string();
    let app = secret_url(&new, "hub");
    let admin = format!("postgresql://postgres:{su}@{}", app.split('@').nth(1).unwrap());
    assert_eq!(table_checksums(&admin), db);
    assert_eq!(tree(Path::new(restored["outputs"]["storage_path"].as_str().unwrap())), files);
}

#[test]
fn a_hub_comes_back_on_a_new_home_from_a_local_vault_and_its_recovery_key() {
    require_root!();
    let old = Home::new();
    // The vault lives outside the home that is lost.
    let vaults = tempfile::tempdir().unwrap();
    old.json(&["init"]);
    old.json(&["region", "add", "lab", "--pg-url", "embedded", "--storage-root", old.scratch("storage").to_str().unwrap(), "--vault-root", &format!("file://{}", vaults.path().display())]);
    std::fs::write(old.path().join("config.json"), r#"{"default_region":"lab"}"#).unwrap();
    restore_on_a_new_home(old, &[]);
}

#[test]
fn a_hub_comes_back_on_a_new_home_from_an_s3_vault() {
    require_root!();
    let scratch = tempfile::tempdir().unwrap();
    let Some(s3) = hubkeep_store::testing::SeaweedFs::try_start(scratch.path()) else {
        eprintln!("skipped: SeaweedFS (weed) not found; scripts/setup.sh installs it");
        return;
    };
    s3.create_bucket("hubkeep");
    let env = vec![
        ("AWS_ENDPOINT_URL", s3.endpoint()),
        ("AWS_ACCESS_KEY_ID", s3.access_key_id().to_string()),
        ("AWS_SECRET_ACCESS_KEY", s3.secret_access_key().to_string()),
        ("AWS_REGION", "us-east-1".to_string()),
    ];
    let old = Home::new();
    old.json(&["init"]);
    old.json(&["region", "add", "s3lab", "--pg-url", "embedded", "--storage-root", old.scratch("storage").to_str().unwrap(), "--vault-root", "s3://hubkeep/vaults"]);
    std::fs::write(old.path().join("config.json"), r#"{"default_region":"s3lab"}"#).unwrap();
    restore_on_a_new_home(old, &env);
}
