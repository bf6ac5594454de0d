//! File-store recovery points through the command line: round trips,
//! incremental runs, refusals and damage, as an operator meets them.

mod common;
use common::*;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

fn edge_case_tree(root: &Path) {
    std::fs::create_dir_all(root.join("owned/ab/cd")).unwrap();
    std::fs::write(root.join("owned/ab/cd/abcd-1.blob"), vec![42u8; 2_500_000]).unwrap();
    std::fs::write(root.join("owned/ab/cd/abcd-1.meta.json"), br#"{"content_type":"model/gltf-binary","content_length":2500000}"#).unwrap();
    std::fs::write(root.join("empty file"), b"").unwrap();
    std::fs::create_dir_all(root.join("empty dir")).unwrap();
    std::fs::write(root.join("new\nline ünïcødé"), b"odd name").unwrap();
    std::fs::write(root.join(std::ffi::OsStr::from_bytes(b"latin1-\xe9")), b"not utf-8").unwrap();
    std::os::unix::fs::symlink("owned/ab/cd/abcd-1.blob", root.join("link")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", root.join("absolute-link")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(root.join("empty file"), std::fs::Permissions::from_mode(0o640)).unwrap();
}

fn modes_and_mtimes(root: &Path) -> Vec<(Vec<u8>, u32, i64, i64)> {
    use std::os::unix::fs::MetadataExt;
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(Vec<u8>, u32, i64, i64)>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            let m = std::fs::symlink_metadata(&p).unwrap();
            out.push((p.strip_prefix(root).unwrap().as_os_str().as_bytes().to_vec(), m.mode(), m.mtime(), m.mtime_nsec()));
            if m.is_dir() {
                walk(root, &p, out);
            }
        }
    }
    let mut out = vec![];
    walk(root, root, &mut out);
    out.sort();
    out
}

#[test]
fn file_store_round_trip_keeps_contents_modes_times_and_links() {
    require_root!();
    let home = Home::new();
    let stack = home.json(&["stack", "create", "files", "--profile", "generic"]);
    let storage = Path::new(stack["outputs"]["storage_path"].as_str().unwrap()).to_path_buf();
    edge_case_tree(&storage);
    let job = home.json(&["backup-job", "start", "files"]);
    assert_eq!(job["state"], "COMPLETED");
    let arn = job["recovery_point_arn"].as_str().unwrap().to_string();
    assert!(arn.starts_with("hrn:hubkeep:backup:local:files-daily:recovery-point:"), "{arn}");
    let points = home.json(&["recovery-point", "list", "--vault", "files-daily"]);
    for key in ["recovery_point_arn", "vault", "stack", "status", "creation_date"] {
        assert!(!points[0][key].is_null(), "recovery-point list lacks {key}");
    }
    assert_eq!(points[0]["status"], "AVAILABLE");

    let target = home.dir.path().join("restored");
    let r = home.json(&["restore-job", "start", &arn, "--target", target.to_str().unwrap()]);
    assert_eq!(r["state"], "COMPLETED");
    assert_eq!(tree(&target), tree(&storage));
    assert_eq!(modes_and_mtimes(&target), modes_and_mtimes(&storage));
    assert!(std::fs::symlink_metadata(target.join("absolute-link")).unwrap().file_type().is_symlink(), "links are restored as links, never followed");

    // Incremental: one changed file is read, the rest reused.
    std::fs::write(storage.join("changed.txt"), b"a new upload").unwrap();
    let job2 = home.json(&["backup-job", "start", "files"]);
    assert!(job2["bytes_read"].as_u64().unwrap() < 100_000, "unchanged files are not read again: {job2}");
    assert!(job2["files_unchanged"].as_u64().unwrap() >= 5, "{job2}");

    // Refusals.
    let (code, msg, _) = home.fails(&["restore-job", "start", &arn, "--target", target.to_str().unwrap()]);
    assert_eq!(code, "target_not_empty", "{msg}");
    assert!(msg.contains(target.to_str().unwrap()), "{msg}");
    let other_region = arn.replace(":local:", ":elsewhere:");
    let (_, msg, _) = home.fails(&["restore-job", "start", &other_region, "--target", home.scratch("x").to_str().unwrap()]);
    assert!(msg.contains("elsewhere") || msg.contains("does not exist"), "{msg}");
    let (code, _, _) = home.fails(&["restore-job", "start", "not-an-arn", "--target", "/tmp/x"]);
    assert_eq!(code, "invalid_argument");

    let v = home.json(&["verify", &arn, "--read-data"]);
    assert_eq!(v["ok"], true);
    let jobs = home.json(&["job", "list", "--stack", "files"]);
    let jobs = jobs.as_array().unwrap();
    assert!(jobs.iter().filter(|j| j["kind"] == "backup").all(|j| j["state"] == "COMPLETED"), "{jobs:?}");
    let refused = jobs.iter().find(|j| j["state"] == "FAILED").expect("the refused restore is a FAILED job");
    assert!(refused["error"].as_str().unwrap().contains("not empty"), "{refused}");
}

#[test]
fn a_flipped_byte_in_the_vault_is_named_by_verify_and_refused_by_restore() {
    require_root!();
    let home = Home::new();
    let stack = home.json(&["stack", "create", "dmg", "--profile", "generic"]);
    let storage = Path::new(stack["outputs"]["storage_path"].as_str().unwrap()).to_path_buf();
    std::fs::write(storage.join("scene.glb"), (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect::<Vec<_>>()).unwrap();
    std::fs::write(storage.join("intact.txt"), b"still here").unwrap();
    let arn = home.json(&["backup-job", "start", "dmg"])["recovery_point_arn"].as_str().unwrap().to_string();
    let location = home.json(&["vault", "show", "dmg-daily"])["location"].as_str().unwrap().to_string();
    flip_byte_in_largest_object(&location);

    let (code, msg, stderr) = home.fails(&["verify", &arn, "--read-data"]);
    assert_eq!(code, "verify_failed", "{msg}");
    assert!(stderr.contains("scene.glb"), "verify names the damaged file: {stderr}");
    let target = home.dir.path().join("out");
    let (code, msg, _) = home.fails(&["restore-job", "start", &arn, "--target", target.to_str().unwrap()]);
    assert!(msg.contains("scene.glb"), "restore names the damaged file: {msg}");
    assert_eq!(code, "corrupt", "{msg}");

    // Asked to, a restore brings back everything else and lists the damaged file.
    let target = home.dir.path().join("rest");
    let r = home.json(&["restore-job", "start", &arn, "--target", target.to_str().unwrap(), "--skip-damaged"]);
    assert_eq!(r["summary"]["damaged_files"][0], "scene.glb", "{r}");
    assert!(!target.join("scene.glb").exists(), "a damaged file is not restored half-written");
    assert_eq!(std::fs::read(target.join("intact.txt")).unwrap(), b"still here");
}

#[test]
fn deleting_a_recovery_point_removes_it_and_keeps_the_others_restorable() {
    require_root!();
    let home = Home::new();
    let stack = home.json(&["stack", "create", "del", "--profile", "generic"]);
    let storage = Path::new(stack["outputs"]["storage_path"].as_str().unwrap()).to_path_buf();
    std::fs::write(storage.join("a"), vec![1u8; 1_000_000]).unwrap();
    let first = home.json(&["backup-job", "start", "del"])["recovery_point_arn"].as_str().unwrap().to_string();
    std::fs::write(storage.join("b"), vec![2u8; 1_000_000]).unwrap();
    let second = home.json(&["backup-job", "start", "del"])["recovery_point_arn"].as_str().unwrap().to_string();
    home.json(&["recovery-point", "delete", &first]);
    let (code, _, _) = home.fails(&["recovery-point", "show", &first]);
    assert_eq!(code, "recovery_point_not_found");
    let target = home.dir.path().join("out");
    home.json(&["restore-job", "start", &second, "--target", target.to_str().unwrap()]);
    assert_eq!(tree(&target), tree(&storage));
}

#[test]
fn a_backup_killed_midway_leaves_no_recovery_point_and_the_next_one_completes() {
    require_root!();
    let home = Home::new();
    let stack = home.json(&["stack", "create", "kill", "--profile", "generic"]);
    let storage = Path::new(stack["outputs"]["storage_path"].as_str().unwrap()).to_path_buf();
    // Enough incompressible data that the backup is still running when killed.
    write_noise_files(&storage, "blob-", "", 40, 2_000_000);
    let mut child = home.cmd(&["--json", "backup-job", "start", "kill"]).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null()).spawn().unwrap();
    // Kill it as soon as its first pack is durable: uploads exist, no manifest.
    let vault_dir = home.path().join("vaults/kill-daily");
    let has_pack = || walk_files(&vault_dir).iter().any(|p| p.to_string_lossy().contains("/packs/"));
    for _ in 0..3000 {
        if has_pack() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert!(has_pack(), "the backup wrote a pack before it was killed");
    assert!(child.try_wait().unwrap().is_none(), "the backup was still running when killed");
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(home.json(&["recovery-point", "list", "--vault", "kill-daily"]).as_array().unwrap().is_empty(), "no visible recovery point");
    let jobs = home.json(&["job", "list", "--stack", "kill"]);
    assert!(jobs.as_array().unwrap().iter().all(|j| j["state"] != "RUNNING"), "a dead run's job is not left RUNNING: {jobs}");
    assert_eq!(home.json(&["vault", "verify", "kill-daily", "--read-data"])["problems"], serde_json::json!([]));
    let job = home.json(&["backup-job", "start", "kill"]);
    assert_eq!(job["state"], "COMPLETED");
    let target = home.dir.path().join("out");
    home.json(&["restore-job", "start", job["recovery_point_arn"].as_str().unwrap(), "--target", target.to_str().unwrap()]);
    assert_eq!(tree(&target), tree(&storage));
}

fn walk_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = vec![];
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                dirs.push(e.path());
            } else {
                out.push(e.path());
            }
        }
    }
    out
}

#[test]
fn special_files_in_a_file_store_are_skipped_and_named() {
    require_root!();
    let home = Home::new();
    let stack = home.json(&["stack", "create", "fifos", "--profile", "generic"]);
    let storage = Path::new(stack["outputs"]["storage_path"].as_str().unwrap()).to_path_buf();
    std::fs::write(storage.join("kept"), b"data").unwrap();
    let fifo = std::ffi::CString::new(storage.join("queue").as_os_str().as_bytes()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0, "mkfifo");
    let out = home.run(&["--json", "backup-job", "start", "fifos"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let job: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(job["special_files"], serde_json::json!([{"path": "queue", "kind": "fifo"}]));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("warning: skipped the FIFO queue"), "{stderr}");
}

#[test]
fn a_killed_restore_job_leaves_nothing_in_its_target_after_the_next_command() {
    require_root!();
    let home = Home::new();
    let stack = home.json(&["stack", "create", "killed", "--profile", "generic"]);
    let storage = Path::new(stack["outputs"]["storage_path"].as_str().unwrap()).to_path_buf();
    write_noise_files(&storage, "part-", "", 24, 2_000_000);
    let arn = home.json(&["backup-job", "start", "killed"])["recovery_point_arn"].as_str().unwrap().to_string();
    let target = home.dir.path().join("target");
    let mut child = home.cmd(&["restore-job", "start", &arn, "--target", target.to_str().unwrap()]).stderr(std::process::Stdio::null()).spawn().unwrap();
    // Kill it once it has written into the target, wherever it then is.
    let written = || std::fs::read_dir(&target).map(|d| d.count() > 0).unwrap_or(false);
    while !written() {
        if child.try_wait().unwrap().is_some() {
            panic!("the restore finished before it could be killed; make the store larger");
        }
        std::thread::yield_now();
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(written(), "the killed restore left files for the next command to clean");

    let jobs = home.json(&["job", "list"]);
    let restore = jobs.as_array().unwrap().iter().find(|j| j["kind"] == "restore").unwrap();
    assert_eq!(restore["state"], "FAILED", "{restore}");
    assert!(!target.exists() || std::fs::read_dir(&target).unwrap().count() == 0, "target still holds {:?}", std::fs::read_dir(&target).map(|d| d.flatten().map(|e| e.file_name()).collect::<Vec<_>>()));
    // The target is usable again: a restore into it completes and equals the source.
    let r = home.json(&["restore-job", "start", &arn, "--target", target.to_str().unwrap()]);
    assert_eq!(r["state"], "COMPLETED");
    assert_eq!(tree(&target), tree(&storage));
}

#[test]
fn the_vault_snapshots_of_a_backup_are_dated_by_the_injected_clock() {
    require_root!();
    let home = Home::new();
    home.json_at(
        "2031-02-03T04:00:00Z",
        &["stack", "create", "hub", "--profile", "generic"],
    );
    let vault = home.json(&["vault", "show", "hub-daily"]);
    let dir = vault["location"].as_str().unwrap().trim_start_matches("file://");
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(Path::new(dir).join("config")).unwrap()).unwrap();
    assert!(
        config["created"].as_str().unwrap().starts_with("2031-02-03T04:0"),
        "the vault's config is dated by HUBKEEP_CLOCK: {config}"
    );
    let set = home.json_at("2031-02-03T04:05:06Z", &["backup", "hub"]);
    let rp = home.json(&[
        "recovery-point",
        "show",
        set["recovery_point_arn"].as_str().unwrap(),
    ]);
    let snap = home.json(&[
        "db-snapshot",
        "show",
        set["db_snapshot_id"].as_str().unwrap(),
    ]);
    for (what, id) in [
        ("backup set", &set["vault_snapshot_id"]),
        ("recovery point", &rp["vault_snapshot_id"]),
        ("database snapshot", &snap["vault_snapshot_id"]),
    ] {
        assert!(
            id.as_str().unwrap().starts_with("20310203T040506Z-"),
            "the {what}'s vault snapshot is dated by HUBKEEP_CLOCK: {id}"
        );
    }
}
