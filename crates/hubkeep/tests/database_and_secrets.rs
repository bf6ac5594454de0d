//! Database snapshots, adoption, secrets and the safety rails around them,
//! through the command line.

mod common;
use common::*;

#[test]
fn an_adopted_database_snapshot_restores_into_an_empty_database_only() {
    require_root!();
    let home = Home::new();
    // A "server" for the adopted hub: a cluster hubkeep runs for another stack.
    home.json(&["stack", "create", "server", "--profile", "generic"]);
    let admin = superuser_url(&home, "server", "postgres");
    let mut c = postgres::Client::connect(&admin, postgres::NoTls).unwrap();
    for db in ["appdb", "empty_target", "busy_target"] {
        c.batch_execute(&format!("CREATE DATABASE {db}")).unwrap();
    }
    let app_url = superuser_url(&home, "server", "appdb");
    let mut app = postgres::Client::connect(&app_url, postgres::NoTls).unwrap();
    app.batch_execute(
        "CREATE SCHEMA ret0; CREATE TABLE ret0.accounts (account_id bigserial PRIMARY KEY, email text, meta jsonb, avatar bytea);
         INSERT INTO ret0.accounts (email, meta, avatar) SELECT 'user' || g || '@exämple.org', jsonb_build_object('n', g), decode(md5(g::text), 'hex') FROM generate_series(1, 500) g;
         CREATE TABLE ret0.log (line text); INSERT INTO ret0.log SELECT 'line ' || g FROM generate_series(1, 50) g;",
    )
    .unwrap();
    let mut busy = postgres::Client::connect(&superuser_url(&home, "server", "busy_target"), postgres::NoTls).unwrap();
    busy.batch_execute("CREATE TABLE public.keepme (x int)").unwrap();

    let files = home.scratch("adopted-storage");
    let adopted = home.run(&["--json", "stack", "adopt", "legacy", "--database-url", &app_url, "--storage", files.to_str().unwrap()]);
    assert!(adopted.status.success(), "{}", String::from_utf8_lossy(&adopted.stderr));
    assert!(String::from_utf8_lossy(&adopted.stderr).contains("phoenix-key"), "adopting a hubs stack without phoenix-key warns");
    let shown = home.json(&["stack", "show", "legacy"]);
    let password = admin.split(':').nth(2).unwrap().split('@').next().unwrap();
    assert!(!shown["outputs"]["database_url"].as_str().unwrap().contains(password), "database_url carries no password");
    for key in ["app_db", "database_url", "storage_id", "storage_path", "database_secret_arn", "daily_backup_vault"] {
        assert!(shown["outputs"][key].is_string(), "outputs lack {key}");
    }
    assert!(shown["restored_from"].is_null());

    let snap = home.json(&["db-snapshot", "create", "legacy", "--id", "legacy-manual-1"]);
    assert_eq!(snap["id"], "legacy-manual-1");
    assert_eq!(snap["status"], "available");
    assert_eq!(home.json(&["db-snapshot", "list", "--stack", "legacy"]).as_array().unwrap().len(), 1);
    let (code, _, _) = home.fails(&["db-snapshot", "create", "legacy", "--id", "legacy-manual-1"]);
    assert_eq!(code, "conflict");

    let (code, msg, _) = home.fails(&["db-snapshot", "restore", "legacy-manual-1", "--target-url", &superuser_url(&home, "server", "busy_target")]);
    assert_eq!(code, "target_not_empty", "{msg}");
    assert!(msg.contains("keepme"), "the refusal names what is there: {msg}");

    home.json(&["db-snapshot", "restore", "legacy-manual-1", "--target-url", &superuser_url(&home, "server", "empty_target")]);
    assert_eq!(table_checksums(&superuser_url(&home, "server", "empty_target")), table_checksums(&app_url));
    let v = home.json(&["verify", "legacy-manual-1", "--read-data"]);
    assert_eq!(v["ok"], true);

    // Deleting the adopted stack only forgets it: the operator's data stays.
    home.json(&["stack", "delete", "legacy", "--yes"]);
    assert!(postgres::Client::connect(&app_url, postgres::NoTls).is_ok());
    assert!(files.exists());
    assert_eq!(home.json(&["db-snapshot", "show", "legacy-manual-1"])["status"], "available", "snapshots outlive their stack");
    home.json(&["db-snapshot", "delete", "legacy-manual-1"]);
    let (code, _, _) = home.fails(&["db-snapshot", "show", "legacy-manual-1"]);
    assert_eq!(code, "db_snapshot_not_found");
}

#[test]
fn secrets_outlive_stacks_and_deletion_is_recoverable() {
    require_root!();
    let home = Home::new();
    home.json(&["stack", "create", "sec", "--profile", "generic", "--domain", "sec.example.org"]);
    home.json(&["backup", "sec"]);
    let arn = home.json(&["stack", "show", "sec"])["outputs"]["database_secret_arn"].as_str().unwrap().to_string();
    let got = home.json(&["secret", "get", &arn]);
    assert_eq!(got["name"], "sec Database Secret");
    for key in ["username", "password", "host", "port", "dbname"] {
        assert!(!got["value"][key].is_null(), "the database secret has {key}");
    }
    let shown = home.json(&["secret", "show", &arn]);
    assert!(shown.get("value").is_none(), "show is metadata only");
    let file_mode = |p: std::path::PathBuf| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    };
    assert_eq!(file_mode(home.path().join("keys/secret-store.key")), 0o600);
    assert_eq!(file_mode(home.path().join("catalog.db")), 0o600);
    let password = got["value"]["password"].as_str().unwrap().to_string();
    let db = std::fs::read(home.path().join("catalog.db")).unwrap();
    assert!(!db.windows(password.len()).any(|w| w == password.as_bytes()), "secret values are encrypted at rest");

    let out = home.run(&["--json", "secret", "delete", &arn]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("needed to restore"), "deleting a secret a backup needs warns");
    let (code, msg, _) = home.fails(&["secret", "get", &arn]);
    assert_eq!(code, "secret_scheduled_for_deletion");
    assert!(msg.contains("secret restore"), "{msg}");
    home.json(&["secret", "restore", &arn]);
    assert_eq!(home.json(&["secret", "get", &arn])["value"]["password"], password);

    home.json(&["param", "put", "/ita/sec/disable-signups", "true"]);
    let (code, _, _) = home.fails(&["param", "put", "/ita/sec/disable-signups", "false"]);
    assert_eq!(code, "conflict", "an existing parameter needs --overwrite");
    home.json(&["stack", "delete", "sec", "--yes"]);
    assert!(home.json(&["param", "list", "/ita/sec/"]).as_array().unwrap().is_empty(), "server settings go with their stack");
    assert_eq!(home.json(&["secret", "get", &arn])["value"]["password"], password, "the database secret outlives its stack");
    assert!(home.json(&["param", "list", "/keymaster/sec/"]).as_array().unwrap().len() >= 2, "keymaster parameters outlive the stack");
    let (code, _, _) = home.fails(&["stack", "show", "sec"]);
    assert_eq!(code, "stack_not_found");
}

#[test]
fn recovery_kit_needs_confirmation_and_no_wait_returns_a_job_at_once() {
    require_root!();
    let home = Home::new();
    home.json(&["stack", "create", "kit", "--profile", "generic"]);
    let out = home.cmd(&["--json", "vault", "recovery-kit", "kit-daily"]).stdin(std::process::Stdio::null()).output().unwrap();
    assert!(!out.status.success(), "the kit is not printed without confirmation");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("recovery_key\""));
    let kit = home.json(&["vault", "recovery-kit", "kit-daily", "--yes"]);
    for key in ["name", "region", "location", "recovery_key", "commands"] {
        assert!(!kit[key].is_null(), "the kit has {key}");
    }
    let started = home.json(&["backup-job", "start", "kit", "--no-wait"]);
    let job = started["job_id"].as_str().unwrap().to_string();
    let mut state = String::new();
    for _ in 0..200 {
        if let Ok(j) = serde_json::from_slice::<serde_json::Value>(&home.run(&["--json", "job", "show", &job]).stdout) {
            state = j["state"].as_str().unwrap_or("").to_string();
            if state == "COMPLETED" || state == "FAILED" {
                break;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(state, "COMPLETED");
}

/// A region `srv` on a PostgreSQL server (a cluster hubkeep runs for the
/// stack `pgserver`); returns the server's superuser URL.
fn server_region(home: &Home) -> String {
    home.json(&["stack", "create", "pgserver", "--profile", "generic"]);
    let admin = superuser_url(home, "pgserver", "postgres");
    let vaults = home.scratch("srv-vaults");
    home.json(&["region", "add", "srv", "--pg-url", &admin, "--storage-root", home.scratch("srv-storage").to_str().unwrap(), "--vault-root", &format!("file://{}", vaults.display())]);
    admin
}

#[test]
fn a_server_region_gives_each_stack_its_own_database_and_role() {
    require_root!();
    let home = Home::new();
    let admin = server_region(&home);
    let regions = home.json(&["region", "list"]);
    assert!(!regions.to_string().contains(admin.split(':').nth(2).unwrap().split('@').next().unwrap()), "the server password is kept in the secret store, not in the region record");
    let a = home.json(&["stack", "create", "alpha", "--region", "srv", "--profile", "generic"]);
    let b = home.json(&["stack", "create", "beta", "--region", "srv", "--profile", "generic"]);
    assert_ne!(a["outputs"]["app_db"], b["outputs"]["app_db"]);
    assert_eq!(a["region"], "srv");
    let ua = secret_url(&home, "alpha");
    let ub = secret_url(&home, "beta");
    assert_ne!(ua.split(':').nth(1), ub.split(':').nth(1), "each stack has its own role");
    assert!(postgres::Client::connect(&ua, postgres::NoTls).is_ok());
    let set = home.json(&["backup", "alpha"]);
    assert_eq!(set["region"], "srv");
    // A restore into another region is refused before anything is created.
    let (code, msg, _) = home.fails(&["restore", "alpha2", "--backup", set["backup_id"].as_str().unwrap(), "--region", "local"]);
    assert_eq!(code, "wrong_region", "{msg}");
    assert!(msg.contains("srv") && msg.contains("local"), "{msg}");
    home.json(&["stack", "delete", "beta", "--yes"]);
    let mut c = postgres::Client::connect(&admin, postgres::NoTls).unwrap();
    let dbs: i64 = c.query_one("SELECT count(*) FROM pg_database WHERE datname = 'beta'", &[]).unwrap().get(0);
    assert_eq!(dbs, 0, "deleting a stack hubkeep created drops its database");
}

#[test]
fn a_home_postgres_cannot_reach_serves_vaults_but_refuses_embedded_stacks() {
    require_root!();
    use std::os::unix::fs::PermissionsExt;
    let scratch = Home::new();
    let locked = scratch.dir.path().join("locked");
    std::fs::create_dir(&locked).unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o700)).unwrap();
    let home = locked.join("home");
    let run = |args: &[&str]| std::process::Command::new(env!("CARGO_BIN_EXE_hubkeep")).arg("--home").arg(&home).arg("--json").args(args).output().unwrap();
    let init = run(&["init"]);
    assert!(init.status.success());
    assert!(String::from_utf8_lossy(&init.stderr).contains("chmod o+x"), "init warns how to fix it");
    assert!(run(&["vault", "create", "v"]).status.success(), "vaults need no cluster");
    let refused = run(&["stack", "create", "s", "--profile", "generic"]);
    assert!(!refused.status.success());
    let err: serde_json::Value = serde_json::from_slice(&refused.stdout).unwrap();
    assert_eq!(err["error"]["code"], "home_unreachable", "{err}");
    let stacks: serde_json::Value = serde_json::from_slice(&run(&["stack", "list"]).stdout).unwrap();
    assert!(stacks.as_array().unwrap().is_empty(), "a refusal creates no stack record");
}

#[test]
fn a_restore_killed_on_a_server_region_leaves_nothing_on_the_server_after_stack_delete() {
    require_root!();
    let home = Home::new();
    let admin = server_region(&home);
    let src = home.json(&["stack", "create", "alpha", "--region", "srv", "--profile", "generic"]);
    // Enough file-store data that the restore is still busy after its database exists.
    write_noise_files(std::path::Path::new(src["outputs"]["storage_path"].as_str().unwrap()), "upload-", ".bin", 20, 2_000_000);
    let set = home.json(&["backup", "alpha"]);
    // The roll-back path: the source stack is deleted, its backup restored on the same server.
    let source_role = secret_url(&home, "alpha").split("://").nth(1).unwrap().split(':').next().unwrap().to_string();
    home.json(&["stack", "delete", "alpha", "--yes"]);
    let mut server = postgres::Client::connect(&admin, postgres::NoTls).unwrap();
    let mut exists = |sql: &str| -> bool { server.query_one(sql, &[]).unwrap().get::<_, i64>(0) > 0 };

    let mut child = home.cmd(&["restore", "gamma", "--backup", set["backup_id"].as_str().unwrap(), "--region", "srv"]).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::piped()).spawn().unwrap();
    while !exists("SELECT count(*) FROM pg_database WHERE datname = 'gamma'") {
        if child.try_wait().unwrap().is_some() { let mut e = String::new(); std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut e).unwrap(); panic!("the restore ended before its database was made: {e}"); }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();

    let shown = home.json(&["stack", "show", "gamma"]);
    assert_eq!(shown["status"], "CREATE_FAILED", "{shown}");
    home.json(&["stack", "delete", "gamma", "--yes"]);
    assert!(!exists("SELECT count(*) FROM pg_database WHERE datname = 'gamma'"), "the killed restore's database is dropped");
    assert!(!exists(&format!("SELECT count(*) FROM pg_roles WHERE rolname = '{source_role}'")), "the role the killed restore made is dropped");
    // The name is free again.
    let again = home.json(&["restore", "gamma", "--backup", set["backup_id"].as_str().unwrap(), "--region", "srv"]);
    assert_eq!(again["status"], "ONLINE", "{again}");
}
