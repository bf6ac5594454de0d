//! How hubkeep ends: one JSON document on every exit path (signals
//! included), a closed stdout without a panic, and private job logs.

mod common;
use common::*;
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;

extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}

const SIGTERM: i32 = 15;

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn a_closed_stdout_ends_quietly_without_a_panic() {
    let home = Home::new();
    home.json(&["init"]);
    for args in [&["--json", "region", "list"][..], &["region", "list"], &["--json", "stack", "show", "missing"]] {
        // The reader is gone before hubkeep writes, as after `| head -1`.
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = home.cmd(args).stdout(writer).stderr(Stdio::piped()).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked") && !stderr.contains("failed printing"), "{args:?}: {stderr}");
        assert_eq!(out.status.code(), Some(128 + 13), "{args:?} exits as a program killed by SIGPIPE would be reported: {stderr}");
    }
}

#[test]
fn job_logs_are_private_also_in_a_home_made_before() {
    let home = Home::new();
    home.json(&["init"]);
    let logs = home.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let old_log = logs.join("job-old.log");
    std::fs::write(&old_log, "key fingerprints").unwrap();
    std::fs::set_permissions(&logs, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&old_log, std::fs::Permissions::from_mode(0o644)).unwrap();
    home.json(&["stack", "list"]);
    assert_eq!(mode(&logs), 0o700);
    assert_eq!(mode(&old_log), 0o600);
}

#[test]
fn sigterm_during_a_backup_prints_the_json_error_document_and_no_wait_logs_are_private() {
    require_root!();
    let home = Home::new();
    home.json(&["stack", "create", "term", "--profile", "generic"]);
    let storage = home.json(&["stack", "show", "term"])["outputs"]["storage_path"].as_str().unwrap().to_string();
    write_noise_files(std::path::Path::new(&storage), "f", "", 30, 2_000_000);
    let child = home.cmd(&["--json", "backup", "term"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    // Wait until the file-store half runs: the signal lands mid-job.
    let running = backup_job_seen_running(&home, "term");
    assert!(running, "the file-store backup started");
    unsafe { libc_kill(child.id() as i32, SIGTERM) };
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(128 + SIGTERM));
    let doc: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("stdout is one JSON document ({e}): {}", String::from_utf8_lossy(&out.stdout)));
    assert_eq!(doc["error"]["code"], "interrupted", "{doc}");
    assert!(doc["error"]["message"].as_str().unwrap().contains("SIGTERM"), "{doc}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.lines().last().unwrap().starts_with("error: interrupted by SIGTERM"), "{stderr}");

    let started = home.json(&["backup-job", "start", "term", "--no-wait"]);
    let log = std::path::PathBuf::from(started["log"].as_str().unwrap());
    assert_eq!(mode(log.parent().unwrap()), 0o700, "logs/ is private");
    assert_eq!(mode(&log), 0o600, "a job log is private");
    let job = started["job_id"].as_str().unwrap();
    let mut state = Value::Null;
    for _ in 0..6000 {
        match home.run(&["--json", "job", "show", job]) {
            out if out.status.success() => {
                state = serde_json::from_slice::<Value>(&out.stdout).unwrap()["state"].clone();
                if state == "COMPLETED" || state == "FAILED" {
                    break;
                }
            }
            _ => {}
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(state, "COMPLETED", "the background backup ends: {}", std::fs::read_to_string(&log).unwrap());
}
