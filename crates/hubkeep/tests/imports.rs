//! Operators coming from elsewhere: a Hubs Community Edition backup folder,
//! or a pg_dump with a copy of /storage, imported as a backup set and
//! restored like any other; and `stack create --restore-*` guarding the
//! app version and re-homing exactly as `restore` does.

mod common;
use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// 2025-12-01T00:00:00Z, as `Date.now()` names the CE script's folder.
const CE_MILLIS: &str = "1764547200000";
const PG_DUMP: &str = "/usr/lib/postgresql/15/bin/pg_dump";

/// `pg_dump ARGS` of the database at `url` (a test's own setup: the
/// password goes through the environment of this one child).
fn pg_dump(url: &str, args: &[&str], out: &Path) {
    let (creds, rest) = url
        .strip_prefix("postgresql://")
        .unwrap()
        .split_once('@')
        .unwrap();
    let (user, password) = creds.split_once(':').unwrap();
    let (hostport, db) = rest.split_once('/').unwrap();
    let (host, port) = hostport.split_once(':').unwrap();
    let status = Command::new(PG_DUMP)
        .args(args)
        .args(["-h", host, "-p", port, "-U", user, "-f"])
        .arg(out)
        .arg(db)
        .env("PGPASSWORD", password)
        .status()
        .unwrap();
    assert!(status.success(), "pg_dump {args:?} failed");
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// A folder as CE's backup script writes it: files copied first (kubectl
/// cp of /storage), then `pg_dump -c` of the whole database.
fn ce_folder(home: &Home, storage: &str, dump_from: Option<&str>) -> PathBuf {
    let folder = home
        .scratch("data_backups")
        .join(format!("data_backup_{CE_MILLIS}"));
    copy_tree(Path::new(storage), &folder.join("reticulum_storage_data"));
    if let Some(url) = dump_from {
        pg_dump(url, &["-c"], &folder.join("pg_dump.sql"));
    }
    folder
}

fn key_file(home: &Home, stack: &str) -> String {
    let key = home.json(&["param", "get", &format!("/keymaster/{stack}/phoenix-key")])["value"]
        .as_str()
        .unwrap()
        .to_string();
    let path = home.scratch("keys").join(stack);
    std::fs::write(&path, format!("{key}\n")).unwrap();
    format!("phoenix-key={}", path.display())
}

fn restored_equals(home: &Home, restored: &Value, admin: &str, storage: &str) {
    assert_eq!(restored["status"], "ONLINE", "{restored}");
    assert_eq!(
        restored["hubs_check"]["passed"], true,
        "{}",
        restored["hubs_check"]
    );
    let name = restored["name"].as_str().unwrap();
    assert_eq!(
        table_checksums(&admin_url(home, name)),
        table_checksums(admin),
        "the restored database equals the source, row by row"
    );
    let storage2 = restored["outputs"]["storage_path"].as_str().unwrap();
    assert_eq!(
        tree(Path::new(storage2)),
        tree(Path::new(storage)),
        "the restored files equal the source, byte for byte"
    );
}

#[test]
fn a_ce_backup_folder_imports_and_restores_equal_to_its_source() {
    require_root!();
    let home = Home::new();
    let (admin, storage) = populated_hub(&home, "cehub");
    let folder = ce_folder(&home, &storage, Some(&admin));
    let key = key_file(&home, "cehub");

    // The data_backups folder: the newest data_backup_* is taken, as the CE restore script does.
    let imported = home.json(&[
        "import",
        "ce-backup",
        folder.parent().unwrap().to_str().unwrap(),
        "--stack",
        "ce",
        "--param-file",
        &key,
        "--domain",
        "cehub.example.org",
    ]);
    assert_eq!(imported["origin"], "imported", "{imported}");
    assert_eq!(
        imported["started_at"], "2025-12-01T00:00:00Z",
        "the original time, from the folder name"
    );
    assert_eq!(imported["imported_from"]["command"], "ce-backup");
    assert_eq!(imported["imported_from"]["dump_format"], "plain");
    assert_eq!(
        imported["hubs_check"]["passed"], true,
        "{}",
        imported["hubs_check"]
    );
    assert_eq!(
        (
            imported["drift"]["rows_without_blob"].as_u64(),
            imported["drift"]["blobs_without_row"].as_u64()
        ),
        (Some(0), Some(0)),
        "{imported}"
    );
    assert_eq!(imported["consistent"], false, "a CE backup is taken online");
    let id = imported["backup_id"].as_str().unwrap();

    let shown = home.json(&["backup-set", "show", id]);
    assert_eq!(shown["origin"], "imported");
    assert_eq!(shown["started_at"], "2025-12-01T00:00:00Z");
    let text = String::from_utf8(home.run(&["backup-set", "list"]).stdout).unwrap();
    assert!(
        text.lines()
            .any(|l| l.starts_with(id) && l.contains("imported")),
        "{text}"
    );
    let leftovers: Vec<_> = std::fs::read_dir(home.path().join("clusters"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".import-"))
        .collect();
    assert!(leftovers.is_empty(), "the temporary cluster is removed");

    let v = home.json(&["verify", id, "--read-data"]);
    assert_eq!(v["ok"], true, "{v}");
    let restored = home.json(&[
        "restore",
        "ce2",
        "--backup",
        id,
        "--domain",
        "ce2.example.org",
    ]);
    restored_equals(&home, &restored, &admin, &storage);
}

#[test]
fn a_custom_format_dump_and_storage_copy_import_and_restore_by_the_five_parameters() {
    require_root!();
    let home = Home::new();
    let (admin, storage) = populated_hub(&home, "cloud");
    let dump = home.scratch("migration").join("ret.dump");
    pg_dump(&admin, &["-Fc"], &dump);
    let copy = home.scratch("migration").join("storage");
    copy_tree(Path::new(&storage), &copy);
    let key = key_file(&home, "cloud");

    let imported = home.json(&[
        "import",
        "dump",
        "--database-dump",
        dump.to_str().unwrap(),
        "--storage",
        copy.to_str().unwrap(),
        "--stack",
        "cloud-old",
        "--param-file",
        &key,
        "--taken-at",
        "2026-01-02T03:04:05Z",
    ]);
    assert_eq!(imported["origin"], "imported");
    assert_eq!(imported["imported_from"]["dump_format"], "custom");
    assert_eq!(imported["started_at"], "2026-01-02T03:04:05Z");
    assert_eq!(
        imported["hubs_check"]["passed"], true,
        "{}",
        imported["hubs_check"]
    );

    let restored = home.json(&[
        "stack",
        "create",
        "cloud2",
        "--restore-stack-name",
        imported["stack_name"].as_str().unwrap(),
        "--restore-db-snapshot",
        imported["db_snapshot_id"].as_str().unwrap(),
        "--restore-db-secret-arn",
        imported["db_secret_arn"].as_str().unwrap(),
        "--restore-vault",
        imported["vault"].as_str().unwrap(),
        "--restore-recovery-point",
        imported["recovery_point_arn"].as_str().unwrap(),
    ]);
    restored_equals(&home, &restored, &admin, &storage);
    let drill = home.json(&["drill", "run", "cloud-old"]);
    assert_eq!(drill["status"], "PASSED", "{drill}");
}

#[test]
fn a_ce_folder_whose_files_were_copied_before_more_uploads_reports_drift() {
    require_root!();
    let home = Home::new();
    let (admin, storage) = populated_hub(&home, "busy");
    let folder = ce_folder(&home, &storage, None);
    let key = home.json(&["param", "get", "/keymaster/busy/phoenix-key"])["value"]
        .as_str()
        .unwrap()
        .to_string();
    hubkeep_hubs::mutate_demo(&admin, Path::new(&storage), &key).unwrap();
    pg_dump(&admin, &["-c"], &folder.join("pg_dump.sql"));

    let imported = home.json(&[
        "import",
        "ce-backup",
        folder.to_str().unwrap(),
        "--stack",
        "busy",
        "--param-file",
        &key_file(&home, "busy"),
    ]);
    assert_eq!(
        imported["vault"], "busy-daily",
        "an existing stack's daily vault"
    );
    assert!(
        imported["drift"]["rows_without_blob"].as_u64().unwrap() >= 1,
        "the upload after the copy has a row without a blob: {imported}"
    );
    assert!(
        !imported["drift_details"]["rows_without_blob"]
            .as_array()
            .unwrap()
            .is_empty(),
        "{imported}"
    );
    assert!(
        imported["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().starts_with("drift:")),
        "{imported}"
    );
    assert_eq!(
        home.json(&["backup-set", "list"]).as_array().unwrap().len(),
        1,
        "drift is reported, not fatal"
    );
    let fates = home.json(&["retention", "run", "--stack", "busy", "--dry-run"]);
    let kept = fates["keep"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == imported["backup_id"])
        .unwrap_or_else(|| panic!("retention keeps the imported set: {fates}"));
    assert_eq!(kept["rules"], serde_json::json!(["manual"]), "{fates}");
}

#[test]
fn a_wrong_phoenix_key_is_refused_with_nothing_left_behind() {
    require_root!();
    let home = Home::new();
    let (admin, storage) = populated_hub(&home, "src");
    let folder = ce_folder(&home, &storage, Some(&admin));
    let before = (
        home.json(&["secret", "list"]),
        home.json(&["vault", "list"]),
        home.json(&["db-snapshot", "list"]),
        home.json(&["recovery-point", "list"]),
    );

    let (code, msg, _) = home.fails(&[
        "import",
        "ce-backup",
        folder.to_str().unwrap(),
        "--stack",
        "ce",
        "--param",
        "phoenix-key=not-the-key",
    ]);
    assert_eq!(code, "hubs_check_failed", "{msg}");
    assert!(
        msg.contains("phoenix-key"),
        "the error names the param: {msg}"
    );
    assert!(home
        .json(&["backup-set", "list"])
        .as_array()
        .unwrap()
        .is_empty());
    let after = (
        home.json(&["secret", "list"]),
        home.json(&["vault", "list"]),
        home.json(&["db-snapshot", "list"]),
        home.json(&["recovery-point", "list"]),
    );
    assert_eq!(
        after, before,
        "no secret, vault, snapshot or recovery point is left"
    );
    assert!(
        home.json(&["param", "list", "/keymaster/ce/"])
            .as_array()
            .unwrap()
            .is_empty(),
        "no key is left"
    );
    let leftovers: Vec<_> = std::fs::read_dir(home.path().join("clusters"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".import-"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "the temporary cluster is removed on failure too"
    );
}

#[test]
fn a_folder_without_pg_dump_or_a_bad_dir_is_refused_clearly() {
    let home = Home::new();
    let folder = home
        .scratch("data_backups")
        .join(format!("data_backup_{CE_MILLIS}"));
    std::fs::create_dir_all(folder.join("reticulum_storage_data/owned")).unwrap();
    let (code, msg, _) = home.fails(&[
        "import",
        "ce-backup",
        folder.to_str().unwrap(),
        "--stack",
        "ce",
        "--param",
        "phoenix-key=k",
    ]);
    assert_eq!(code, "not_found", "{msg}");
    assert!(msg.contains("pg_dump.sql"), "{msg}");

    let (code, msg, _) = home.fails(&[
        "import",
        "ce-backup",
        "/nonexistent/data_backups",
        "--stack",
        "ce",
        "--param",
        "phoenix-key=k",
    ]);
    assert_eq!(code, "not_found", "{msg}");
    assert!(
        msg.contains("/nonexistent/data_backups") && msg.contains("does not exist"),
        "{msg}"
    );

    let empty = home.scratch("empty");
    let (_, msg, _) = home.fails(&[
        "import",
        "ce-backup",
        empty.to_str().unwrap(),
        "--stack",
        "ce",
        "--param",
        "phoenix-key=k",
    ]);
    assert!(msg.contains("data_backup_"), "{msg}");
}

#[test]
fn stack_create_from_the_five_parameters_guards_the_version_and_re_homes() {
    require_root!();
    let home = Home::new();
    populated_hub(&home, "hub");
    home.json(&["stack", "update", "hub", "--app-version", "2.0.0"]);
    let set = home.json(&["backup", "hub", "--offline"]);
    let five = |name: &'static str, extra: &[&'static str]| -> Vec<String> {
        let mut args: Vec<String> = ["stack", "create", name]
            .iter()
            .map(|s| s.to_string())
            .collect();
        for (flag, key) in [
            ("--restore-stack-name", "stack_name"),
            ("--restore-db-snapshot", "db_snapshot_id"),
            ("--restore-db-secret-arn", "db_secret_arn"),
            ("--restore-vault", "vault"),
            ("--restore-recovery-point", "recovery_point_arn"),
        ] {
            args.push(flag.into());
            args.push(set[key].as_str().unwrap().into());
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    };
    let args = five("older", &["--app-version", "1.9.0"]);
    let (code, msg, _) = home.fails(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, "app_version_older", "{msg}");
    assert!(msg.contains("2.0.0") && msg.contains("1.9.0"), "{msg}");

    let args = five("forced", &["--app-version", "1.9.0", "--force-version"]);
    assert_eq!(
        home.json(&args.iter().map(String::as_str).collect::<Vec<_>>())["status"],
        "ONLINE"
    );

    let args = five("moved", &["--domain", "moved.example.org"]);
    let moved = home.json(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(
        (
            moved["rehomed"]["from"].as_str(),
            moved["rehomed"]["to"].as_str()
        ),
        (Some("hub.example.org"), Some("moved.example.org")),
        "{moved}"
    );

    let args = five("kept", &["--domain", "kept.example.org", "--keep-urls"]);
    let kept = home.json(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(kept["rehomed"].is_null(), "{}", kept["rehomed"]);
}

#[test]
fn an_import_interrupted_while_loading_leaves_no_cluster_running() {
    use std::io::BufRead;
    require_root!();
    let home = Home::new();
    let (admin, storage) = populated_hub(&home, "src");
    let folder = ce_folder(&home, &storage, Some(&admin));
    let key = key_file(&home, "src");
    let mut child = home
        .cmd(&[
            "import",
            "ce-backup",
            folder.to_str().unwrap(),
            "--stack",
            "ce",
            "--param-file",
            &key,
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut lines = stderr.lines().map_while(Result::ok);
    assert!(
        lines.any(|l| l.contains("import: loading")),
        "the import reaches the load"
    );
    let temp = |home: &Home| -> Vec<PathBuf> {
        std::fs::read_dir(home.path().join("clusters"))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with(".import-")
            })
            .collect()
    };
    let during = temp(&home);
    assert_eq!(during.len(), 1, "one temporary cluster while loading");
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let _rest: Vec<String> = lines.collect();
    assert!(
        !child.wait().unwrap().success(),
        "an interrupted import fails"
    );
    assert!(temp(&home).is_empty(), "the temporary cluster is removed");
    let running = Command::new("pgrep")
        .args(["-f", &during[0].to_string_lossy()])
        .output()
        .unwrap();
    assert!(
        running.stdout.is_empty(),
        "no postmaster of it runs: {}",
        String::from_utf8_lossy(&running.stdout)
    );
    assert!(home
        .json(&["backup-set", "list"])
        .as_array()
        .unwrap()
        .is_empty());
}
