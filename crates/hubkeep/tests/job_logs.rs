//! A job's log tells what it did, whichever front door started it: a
//! backup typed at the CLI leaves the same kind of lines in `job show` as
//! one run by the daemon's queue.

mod common;
use common::*;
use serde_json::Value;

fn log_lines(job: &Value) -> Vec<String> {
    job["log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["line"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_backup_from_the_cli_leaves_what_each_job_did_in_its_log() {
    require_root!();
    let home = Home::new();
    home.json(&["stack", "create", "hub", "--profile", "generic"]);
    let set = home.json(&["backup", "hub", "--offline"]);
    let snapshot = set["db_snapshot_id"].as_str().unwrap();
    let arn = set["recovery_point_arn"].as_str().unwrap();
    let jobs = home.json(&["job", "list", "--stack", "hub"]);
    let job = |kind: &str| -> Value {
        let found: Vec<&Value> = jobs
            .as_array()
            .unwrap()
            .iter()
            .filter(|j| j["kind"] == kind)
            .collect();
        assert_eq!(found.len(), 1, "one {kind} job: {jobs}");
        home.json(&["job", "show", found[0]["job_id"].as_str().unwrap()])
    };

    let db = log_lines(&job("db-snapshot"));
    assert!(
        db.iter()
            .any(|l| l.starts_with(&format!("database snapshot {snapshot} of ")) && l.contains(" read, ")),
        "{db:?}"
    );
    let files = log_lines(&job("backup"));
    assert!(
        files
            .iter()
            .any(|l| l.starts_with(&format!("recovery point {arn} of ")) && l.contains(" files (")),
        "{files:?}"
    );
    // Ended, a job shows no progress (it is shown while it runs).
    assert!(job("backup")["progress"].is_null());
}
