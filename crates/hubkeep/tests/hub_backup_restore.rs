//! The operator's story end to end: a Hubs stack, an offline backup, a
//! change, a restore into a new stack that equals the hub at backup time.

mod common;
use common::*;

#[test]
fn restored_stack_equals_the_source_at_backup_time() {
    require_root!();
    let home = Home::new();
    let (admin, storage) = populated_hub(&home, "hub");
    let db_before = table_checksums(&admin);
    let files_before = tree(std::path::Path::new(&storage));

    let set = home.json(&["backup", "hub", "--offline"]);
    for key in ["backup_id", "stack_name", "db_snapshot_id", "vault", "recovery_point_arn", "db_secret_arn", "started_at", "finished_at"] {
        assert!(set[key].is_string(), "backup set lacks {key}: {set}");
    }
    assert_eq!(set["consistent"], true);
    assert_eq!(home.json(&["stack", "show", "hub"])["status"], "ONLINE", "backup --offline brings the hub back online");
    let fp = serde_json::to_string(&set["key_fingerprints"]).unwrap();
    let key = home.json(&["param", "get", "/keymaster/hub/phoenix-key"])["value"].as_str().unwrap().to_string();
    assert!(!fp.contains(&key), "a backup set shows fingerprints, never key values");

    let key_for_mutation = key.clone();
    hubkeep_hubs::mutate_demo(&admin, std::path::Path::new(&storage), &key_for_mutation).unwrap();
    assert_ne!(table_checksums(&admin), db_before, "the source changed after the backup");

    let backup_id = set["backup_id"].as_str().unwrap();
    let restored = home.json(&["restore", "hub2", "--backup", backup_id, "--domain", "hub2.example.org"]);
    assert_eq!(restored["status"], "ONLINE");
    assert_eq!(restored["hubs_check"]["passed"], true, "{}", restored["hubs_check"]);
    assert_eq!(restored["restored_from"]["db_snapshot_id"], set["db_snapshot_id"]);
    assert_eq!(restored["restored_from"]["recovery_point_arn"], set["recovery_point_arn"]);

    let admin2 = admin_url(&home, "hub2");
    assert_eq!(table_checksums(&admin2), db_before, "restored database equals the source at backup time");
    let storage2 = restored["outputs"]["storage_path"].as_str().unwrap();
    assert_eq!(tree(std::path::Path::new(storage2)), files_before, "restored files equal the source at backup time");
    assert_eq!(
        home.json(&["param", "get", "/keymaster/hub2/phoenix-key"])["value"],
        home.json(&["param", "get", "/keymaster/hub/phoenix-key"])["value"],
        "the phoenix-key is copied from the source stack"
    );
    assert_ne!(
        home.json(&["param", "get", "/keymaster/hub2/guardian-key"])["value"],
        home.json(&["param", "get", "/keymaster/hub/guardian-key"])["value"],
        "other keys are fresh"
    );
    // The app's credentials come from the source secret; host/port/db are the new database's.
    let s1 = home.json(&["secret", "get", set["db_secret_arn"].as_str().unwrap()]);
    let s2 = home.json(&["secret", "get", restored["outputs"]["database_secret_arn"].as_str().unwrap()]);
    assert_eq!(s1["value"]["username"], s2["value"]["username"]);
    assert_eq!(s1["value"]["password"], s2["value"]["password"]);
    assert_ne!(s1["value"]["port"], s2["value"]["port"]);
    assert!(postgres::Client::connect(&secret_url(&home, "hub2"), postgres::NoTls).is_ok(), "the app can log in to the restored database");

    let v = home.json(&["verify", backup_id, "--read-data"]);
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["hubs_check"]["passed"], true, "{v}");
    assert!(v["hubs_check"]["sampled"].as_u64().unwrap() >= 10, "every owned blob of the backup is decrypted with --read-data: {v}");

    // Refusals, each naming the problem; none creates a stack record.
    let (code, msg, _) = home.fails(&["restore", "hub2", "--backup", backup_id, "--domain", "x"]);
    assert_eq!(code, "stack_exists", "{msg}");
    let (code, msg, _) = home.fails(&["stack", "update", "hub2", "--restore-db-snapshot", set["db_snapshot_id"].as_str().unwrap()]);
    assert_eq!(code, "restore_on_update", "{msg}");
    let (_, msg, _) = home.fails(&[
        "stack", "create", "hub3", "--domain", "d",
        "--restore-stack-name", "hub",
        "--restore-db-snapshot", "no-such-snapshot",
        "--restore-db-secret-arn", set["db_secret_arn"].as_str().unwrap(),
        "--restore-vault", set["vault"].as_str().unwrap(),
        "--restore-recovery-point", set["recovery_point_arn"].as_str().unwrap(),
    ]);
    assert!(msg.contains("no-such-snapshot"), "{msg}");
    let stacks = home.json(&["stack", "list"]);
    assert!(stacks.as_array().unwrap().iter().all(|s| s["name"] != "hub3"), "a refusal creates no stack record");

    // A deleted database secret stops a restore before anything is created, saying how to recover it.
    home.json(&["secret", "delete", set["db_secret_arn"].as_str().unwrap()]);
    let (code, msg, _) = home.fails(&[
        "stack", "create", "hub4", "--domain", "d",
        "--restore-stack-name", "hub",
        "--restore-db-snapshot", set["db_snapshot_id"].as_str().unwrap(),
        "--restore-db-secret-arn", set["db_secret_arn"].as_str().unwrap(),
        "--restore-vault", set["vault"].as_str().unwrap(),
        "--restore-recovery-point", set["recovery_point_arn"].as_str().unwrap(),
    ]);
    assert_eq!(code, "secret_scheduled_for_deletion", "{msg}");
    assert!(msg.contains("secret restore"), "{msg}");
    home.json(&["secret", "restore", set["db_secret_arn"].as_str().unwrap()]);
    assert!(home.json(&["stack", "list"]).as_array().unwrap().iter().all(|s| s["name"] != "hub4"));
}

#[test]
fn offline_mode_ends_app_sessions_and_blocks_them_until_online() {
    require_root!();
    let home = Home::new();
    home.json(&["stack", "create", "off", "--profile", "generic"]);
    let app = secret_url(&home, "off");
    let mut session = postgres::Client::connect(&app, postgres::NoTls).unwrap();
    session.simple_query("SELECT 1").unwrap();
    let marker = home.scratch("hook");
    home.json(&[
        "stack", "update", "off",
        "--offline-hook", &format!("echo off > {}/state", marker.display()),
        "--online-hook", &format!("echo on > {}/state", marker.display()),
    ]);
    let s = home.json(&["stack", "update", "off", "--offline", "--redirect-url", "https://example.org/maintenance"]);
    assert_eq!(s["status"], "OFFLINE");
    assert_eq!(std::fs::read_to_string(marker.join("state")).unwrap().trim(), "off");
    assert!(session.simple_query("SELECT 1").is_err(), "the live app session was ended");
    assert!(postgres::Client::connect(&app, postgres::NoTls).is_err(), "the app cannot reconnect while offline");
    // hubkeep's own work goes on while offline.
    let snap = home.json(&["db-snapshot", "create", "off"]);
    assert_eq!(snap["status"], "available");
    let s = home.json(&["stack", "update", "off", "--online"]);
    assert_eq!(s["status"], "ONLINE");
    assert_eq!(std::fs::read_to_string(marker.join("state")).unwrap().trim(), "on");
    assert!(postgres::Client::connect(&app, postgres::NoTls).is_ok(), "the app reconnects once online");
}

#[test]
fn a_backup_that_fails_midway_leaves_the_stack_online() {
    require_root!();
    let home = Home::new();
    home.json(&["stack", "create", "f", "--profile", "generic"]);
    let storage = home.json(&["stack", "show", "f"])["outputs"]["storage_path"].as_str().unwrap().to_string();
    // A file store that vanished makes the second half of the backup fail.
    std::fs::remove_dir_all(&storage).unwrap();
    let (_, msg, _) = home.fails(&["backup", "f", "--offline"]);
    assert!(msg.contains(&storage), "the error names the file store: {msg}");
    assert_eq!(home.json(&["stack", "show", "f"])["status"], "ONLINE");
    let jobs = home.json(&["job", "list", "--stack", "f"]);
    assert!(jobs.as_array().unwrap().iter().any(|j| j["state"] == "FAILED"), "{jobs}");
}

#[test]
fn concurrent_backups_of_one_stack_are_serialized_and_both_complete() {
    require_root!();
    let home = Home::new();
    home.json(&["stack", "create", "c", "--profile", "generic"]);
    let storage = home.json(&["stack", "show", "c"])["outputs"]["storage_path"].as_str().unwrap().to_string();
    std::fs::write(format!("{storage}/a.txt"), vec![7u8; 3_000_000]).unwrap();
    let a = home.cmd(&["--json", "backup", "c", "--offline"]).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap();
    let b = home.cmd(&["--json", "backup", "c", "--offline"]).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap();
    for child in [a, b] {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    assert_eq!(home.json(&["stack", "show", "c"])["status"], "ONLINE", "never left offline by interleaved runs");
    assert_eq!(home.json(&["backup-set", "list"]).as_array().unwrap().len(), 2);
}

#[test]
fn a_restore_that_fails_midway_leaves_nothing_behind() {
    require_root!();
    let home = Home::new();
    let (_, storage) = populated_hub(&home, "src");
    std::fs::write(format!("{storage}/owned/big.bin"), (0..4_000_000u32).map(|i| (i % 253) as u8).collect::<Vec<_>>()).unwrap();
    let set = home.json(&["backup", "src"]);
    assert_eq!(set["consistent"], false, "an online backup says it is not one instant: {}", set["note"]);
    // Damage the file-store data: the database half restores, then the files fail.
    let location = home.json(&["vault", "show", "src-daily"])["location"].as_str().unwrap().to_string();
    flip_byte_in_largest_object(&location);

    let (_, msg, _) = home.fails(&["restore", "dst", "--backup", set["backup_id"].as_str().unwrap(), "--domain", "dst.example.org"]);
    assert!(msg.contains("rolled back"), "{msg}");
    let shown = home.json(&["stack", "show", "dst"]);
    assert_eq!(shown["status"], "CREATE_FAILED");
    assert!(shown["status_reason"].as_str().unwrap().len() > 10);
    assert!(shown["outputs"].is_null(), "no resources remain");
    assert!(!home.path().join("clusters/dst").exists(), "the new database cluster is gone");
    assert!(!home.path().join("storage/dst").exists(), "the new file store is gone");
    let secrets = home.json(&["secret", "list"]);
    assert!(secrets.as_array().unwrap().iter().all(|s| s["name"] != "dst Database Secret"), "{secrets}");
    assert!(home.json(&["param", "list", "/keymaster/dst/"]).as_array().unwrap().is_empty());
    let (code, _, _) = home.fails(&["restore", "dst", "--backup", set["backup_id"].as_str().unwrap()]);
    assert_eq!(code, "stack_exists", "a CREATE_FAILED record keeps the name until deleted");
    home.json(&["stack", "delete", "dst", "--yes"]);
}

#[test]
fn strict_backup_fails_on_drift_and_plain_backup_reports_it() {
    require_root!();
    let home = Home::new();
    let (_, storage) = populated_hub(&home, "drifty");
    // An orphan blob: a file with no owned_files row.
    let orphan = format!("{storage}/owned/ff/ee/ffee0000-0000-4000-8000-000000000000.blob");
    std::fs::create_dir_all(std::path::Path::new(&orphan).parent().unwrap()).unwrap();
    std::fs::write(&orphan, b"orphan").unwrap();
    let (code, msg, _) = home.fails(&["backup", "drifty", "--strict"]);
    assert_eq!(code, "drift", "{msg}");
    assert_eq!(home.json(&["stack", "show", "drifty"])["status"], "ONLINE");
    // And a row whose blob is gone.
    let blob = walk(std::path::Path::new(&format!("{storage}/owned"))).into_iter().find(|p| p.to_string_lossy().ends_with(".blob") && !p.to_string_lossy().contains("ffee0000")).unwrap();
    std::fs::remove_file(&blob).unwrap();
    let set = home.json(&["backup", "drifty"]);
    assert_eq!(set["drift"]["blobs_without_row"], 1, "{}", set["drift"]);
    assert_eq!(set["drift"]["rows_without_blob"], 1, "{}", set["drift"]);

    // The hub is restored as it was, missing file included, with a warning.
    let out = home.run(&["--json", "restore", "drifty2", "--backup", set["backup_id"].as_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["status"], "ONLINE");
    assert!(r["warnings"].to_string().contains("missing"), "{}", r["warnings"]);

    // Keys that do not match the data make a restore useless: refused and rolled back.
    home.json(&["param", "put", "/keymaster/drifty/phoenix-key", "not-the-key", "--overwrite"]);
    let (code, msg, _) = home.fails(&[
        "stack", "create", "drifty3", "--domain", "d3.example.org",
        "--restore-stack-name", "drifty",
        "--restore-db-snapshot", set["db_snapshot_id"].as_str().unwrap(),
        "--restore-db-secret-arn", set["db_secret_arn"].as_str().unwrap(),
        "--restore-vault", set["vault"].as_str().unwrap(),
        "--restore-recovery-point", set["recovery_point_arn"].as_str().unwrap(),
    ]);
    assert!(msg.contains("keys do not match"), "{code}: {msg}");
    assert_eq!(home.json(&["stack", "show", "drifty3"])["status"], "CREATE_FAILED");
    // It failed after its vault was made: the vault, its objects and keys are gone too.
    assert!(home.json(&["vault", "list"]).as_array().unwrap().iter().all(|v| v["name"] != "drifty3-daily"));
    assert!(!home.path().join("vaults/drifty3-daily").exists());
    assert!(home.json(&["param", "list", "/hubkeep/vault/drifty3-daily/"]).as_array().unwrap().is_empty());
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = vec![];
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.file_type().unwrap().is_dir() {
            out.extend(walk(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}

/// Many Hubs deployments connect as the superuser `postgres` itself.
#[test]
fn an_adopted_hub_running_as_postgres_restores_into_a_new_stack() {
    require_root!();
    let home = Home::new();
    home.json(&["stack", "create", "server", "--profile", "generic"]);
    let pw = home.json(&["param", "get", "/hubkeep/cluster/server/superuser-password"])["value"].as_str().unwrap().to_string();
    let hostport = secret_url(&home, "server").split('@').nth(1).unwrap().split('/').next().unwrap().to_string();
    let mut c = postgres::Client::connect(&format!("postgresql://postgres:{pw}@{hostport}/postgres"), postgres::NoTls).unwrap();
    c.batch_execute("CREATE DATABASE polycosm_production").unwrap();
    let url = format!("postgresql://postgres:{pw}@{hostport}/polycosm_production");
    let storage = home.scratch("reticulum-storage");
    let phoenix = "a-secret-key-base-of-a-real-hub-0123456789abcdef0123456789abcdef";
    hubkeep_hubs::create_demo_schema(&url, "postgres").unwrap();
    hubkeep_hubs::populate_demo(&url, &storage, phoenix, 1).unwrap();
    let before = table_checksums(&url);
    let files = tree(&storage);
    home.json(&[
        "stack", "adopt", "prod", "--database-url", &url, "--storage", storage.to_str().unwrap(), "--domain", "hub.example.org",
        "--param", &format!("phoenix-key={phoenix}"), "--param", "postgrest-db-secret=jwt-secret",
    ]);
    let set = home.json(&["backup", "prod", "--offline"]);
    assert_eq!(home.json(&["stack", "show", "prod"])["status"], "ONLINE");
    let r = home.json(&["restore", "prod-check", "--backup", set["backup_id"].as_str().unwrap(), "--domain", "check.example.org"]);
    assert_eq!(r["hubs_check"]["passed"], true, "{}", r["hubs_check"]);
    let restored_url = secret_url(&home, "prod-check");
    assert!(restored_url.starts_with(&format!("postgresql://postgres:{pw}@")), "the app keeps its user and password: {restored_url}");
    assert_eq!(table_checksums(&restored_url), before);
    assert_eq!(tree(std::path::Path::new(r["outputs"]["storage_path"].as_str().unwrap())), files);
}

#[test]
fn the_demo_runs_end_to_end_and_proves_the_restore() {
    require_root!();
    let home = Home::new();
    let report = home.json(&["demo"]);
    assert_eq!(report["hubs_check_passed"], true, "{report}");
    assert_eq!(report["restored_equals_backup"], true, "{report}");
    let stacks = home.json(&["stack", "list"]);
    assert_eq!(stacks.as_array().unwrap().len(), 2);
    assert!(stacks.as_array().unwrap().iter().all(|s| s["status"] == "ONLINE"));
}

#[test]
fn sigterm_during_an_offline_backup_brings_the_hub_back_online() {
    require_root!();
    let home = Home::new();
    home.json(&["stack", "create", "term", "--profile", "generic"]);
    let storage = home.json(&["stack", "show", "term"])["outputs"]["storage_path"].as_str().unwrap().to_string();
    write_noise_files(std::path::Path::new(&storage), "f", "", 30, 2_000_000);
    let mut child = home.cmd(&["--json", "backup", "term", "--offline"]).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null()).spawn().unwrap();
    // Wait until the file-store half runs (the hub is offline by then).
    let running = backup_job_seen_running(&home, "term");
    assert!(running, "the file-store backup started");
    assert_eq!(home.json(&["stack", "show", "term"])["status"], "OFFLINE");
    unsafe { libc_kill(child.id() as i32, 15) };
    let status = child.wait().unwrap();
    assert!(!status.success());
    assert_eq!(home.json(&["stack", "show", "term"])["status"], "ONLINE", "SIGTERM brings the hub back online");
    let jobs = home.json(&["job", "list", "--stack", "term"]);
    let backup = jobs.as_array().unwrap().iter().find(|j| j["kind"] == "backup").unwrap();
    assert_eq!(backup["state"], "ABORTED", "{jobs}");
    let snap = jobs.as_array().unwrap().iter().find(|j| j["kind"] == "db-snapshot").unwrap();
    assert_eq!(snap["state"], "COMPLETED", "a finished part keeps its state: {jobs}");
    assert!(home.json(&["recovery-point", "list", "--vault", "term-daily"]).as_array().unwrap().is_empty());
}

extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}
