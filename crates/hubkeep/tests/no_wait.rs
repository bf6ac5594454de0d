//! `--no-wait` (CLI.md): a command that starts a job returns the job id at
//! once and the job runs in the background. A restore is checked first: a
//! refusal is answered at once and starts nothing.

mod common;
use common::*;
use serde_json::Value;
use std::time::{Duration, Instant};

/// Waits until job `id` exists and has ended; returns it.
fn ended(home: &Home, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let out = home.run(&["--json", "job", "show", id]);
        if let Ok(job) = serde_json::from_slice::<Value>(&out.stdout) {
            if matches!(job["state"].as_str(), Some("COMPLETED" | "FAILED" | "ABORTED")) {
                return job;
            }
        }
        assert!(Instant::now() < deadline, "job {id} never ended");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn restores_with_no_wait_return_their_job_at_once_and_refusals_start_nothing() {
    require_root!();
    let home = Home::new();
    home.json(&["stack", "create", "src", "--profile", "generic"]);
    let storage = home.json(&["stack", "show", "src"])["outputs"]["storage_path"]
        .as_str()
        .unwrap()
        .to_string();
    std::fs::write(std::path::Path::new(&storage).join("a.txt"), b"hello").unwrap();
    let set = home.json(&["backup", "src"]);
    let backup_id = set["backup_id"].as_str().unwrap();
    let arn = set["recovery_point_arn"].as_str().unwrap();
    let jobs_before = home.json(&["job", "list"]).as_array().unwrap().len();

    // Refused at once: the name exists, the target is not empty.
    let (code, message, _) = home.fails(&["restore", "src", "--backup", backup_id, "--no-wait"]);
    assert_eq!(code, "stack_exists", "{message}");
    let full = home.scratch("full");
    std::fs::create_dir_all(&full).unwrap();
    std::fs::write(full.join("x"), b"x").unwrap();
    let (code, message, _) = home.fails(&["restore-job", "start", arn, "--target", full.to_str().unwrap(), "--no-wait"]);
    assert_eq!(code, "target_not_empty", "{message}");
    assert_eq!(
        home.json(&["job", "list"]).as_array().unwrap().len(),
        jobs_before,
        "a refused restore starts no job"
    );

    // Accepted: the job id comes back, the job runs to the end.
    let started = home.json(&["restore", "copy", "--backup", backup_id, "--no-wait"]);
    assert_eq!(started["state"], "CREATED", "{started}");
    let job = ended(&home, started["job_id"].as_str().unwrap());
    assert_eq!(job["state"], "COMPLETED", "{job}");
    assert_eq!(job["kind"], "stack-restore");
    assert_eq!(home.json(&["stack", "show", "copy"])["status"], "ONLINE");

    // The seed's form: the five parameters.
    let (code, message, _) = home.fails(&["stack", "create", "plain", "--profile", "generic", "--no-wait"]);
    assert_eq!(code, "invalid_argument", "{message}");
    assert!(message.contains("--no-wait applies to a restore"), "{message}");
    let started = home.json(&[
        "stack", "create", "form", "--no-wait",
        "--restore-stack-name", "src",
        "--restore-db-snapshot", set["db_snapshot_id"].as_str().unwrap(),
        "--restore-db-secret-arn", set["db_secret_arn"].as_str().unwrap(),
        "--restore-vault", set["vault"].as_str().unwrap(),
        "--restore-recovery-point", arn,
    ]);
    let job = ended(&home, started["job_id"].as_str().unwrap());
    assert_eq!(job["state"], "COMPLETED", "{job}");
    assert_eq!(home.json(&["stack", "show", "form"])["status"], "ONLINE");

    let target = home.scratch("files");
    let started = home.json(&["restore-job", "start", arn, "--target", target.to_str().unwrap(), "--no-wait"]);
    let job = ended(&home, started["job_id"].as_str().unwrap());
    assert_eq!(job["state"], "COMPLETED", "{job}");
    assert_eq!(std::fs::read(target.join("a.txt")).unwrap(), b"hello");
}
