//! Long work through the API: accepted at once (202) with a job, run by
//! the queue, followed over server-sent events.

mod common;
use common::{status_json, Home, Server};
use serde_json::{json, Value};
use std::io::Read;

#[test]
fn a_backup_posted_by_an_operator_is_a_job_that_completes_and_whose_events_end() {
    let home = Home::new();
    home.json(&["stack", "create", "hub1", "--profile", "generic"]);
    let read = home.token("viewer", "read");
    let operator = home.token("ops", "operator");
    let server = Server::start(&home);

    let (status, _) = status_json(
        server
            .post("/api/v1/stacks/hub1/backups")
            .bearer_auth(&read)
            .json(&json!({"offline": false}))
            .send()
            .unwrap(),
    );
    assert_eq!(status, 403, "a read token cannot back up");
    let (status, body) = status_json(
        server
            .post("/api/v1/stacks/nope/backups")
            .bearer_auth(&operator)
            .json(&json!({}))
            .send()
            .unwrap(),
    );
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("stack_not_found"))
    );

    let (status, accepted) = status_json(
        server
            .post("/api/v1/stacks/hub1/backups")
            .bearer_auth(&operator)
            .json(&json!({"offline": false}))
            .send()
            .unwrap(),
    );
    assert_eq!(status, 202, "{accepted}");
    let job_id = accepted["job_id"].as_str().unwrap().to_string();
    assert!(
        ["QUEUED", "RUNNING"].contains(&accepted["state"].as_str().unwrap()),
        "{accepted}"
    );
    assert_eq!(
        accepted["links"]["events"],
        format!("/api/v1/jobs/{job_id}/events")
    );

    // The event stream ends when the job does, with the final job document.
    let mut r = server
        .get(&format!("/api/v1/jobs/{job_id}/events"))
        .bearer_auth(&read)
        .send()
        .unwrap();
    let mut stream = String::new();
    r.read_to_string(&mut stream).unwrap();
    let events: Vec<&str> = stream
        .split("\n\n")
        .filter(|e| e.contains("event: "))
        .collect();
    let last = events
        .last()
        .unwrap_or_else(|| panic!("no events in {stream}"));
    assert!(
        last.starts_with("event: end"),
        "the stream must end with `end`: {stream}"
    );
    assert!(events[..events.len() - 1]
        .iter()
        .all(|e| e.starts_with("event: progress")));
    let end: Value =
        serde_json::from_str(last.lines().find_map(|l| l.strip_prefix("data: ")).unwrap()).unwrap();
    assert_eq!(end["state"], "COMPLETED", "{end}");
    assert_eq!(
        server.get_json(&format!("/api/v1/jobs/{job_id}"), &read).1,
        end
    );
    assert_eq!(
        home.json(&["backup-set", "list"]).as_array().unwrap().len(),
        1
    );
}

#[test]
fn a_refused_restore_is_answered_at_once_and_creates_nothing() {
    let home = Home::new();
    home.json(&["stack", "create", "hub1", "--profile", "generic"]);
    let backup = home.json(&["backup", "hub1"]);
    let operator = home.token("ops", "operator");
    let server = Server::start(&home);
    let jobs_before = home.json(&["job", "list"]);
    let restore = |body: Value| {
        status_json(
            server
                .post("/api/v1/restores")
                .bearer_auth(&operator)
                .json(&body)
                .send()
                .unwrap(),
        )
    };

    let (status, body) = restore(json!({"new_stack": "hub1", "backup_id": backup["backup_id"]}));
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("stack_exists")),
        "{body}"
    );
    let missing = format!("{}0", backup["backup_id"].as_str().unwrap());
    let (status, body) = restore(json!({"new_stack": "hub2", "backup_id": missing}));
    assert_eq!(status, 404, "{body}");
    let (status, _) = restore(json!({"new_stack": "hub2", "backup_id": "b-nope"}));
    assert_eq!(status, 400, "a malformed id is bad input");
    let (status, body) = restore(json!({"new_stack": "hub2", "stack_name": "hub1"}));
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("recovery_point_arn"),
        "{body}"
    );
    assert_eq!(home.json(&["stack", "list"]).as_array().unwrap().len(), 1);
    assert_eq!(home.json(&["job", "list"]), jobs_before);
}

#[test]
fn a_five_parameter_restore_body_gets_the_version_guard_of_its_backup_set() {
    let home = Home::new();
    home.json(&["stack", "create", "hub1", "--profile", "generic", "--app-version", "2.0.0"]);
    let set = home.json(&["backup", "hub1"]);
    let operator = home.token("ops", "operator");
    let server = Server::start(&home);
    let mut body = json!({
        "new_stack": "hub2",
        "stack_name": set["stack_name"],
        "db_snapshot_id": set["db_snapshot_id"],
        "db_secret_arn": set["db_secret_arn"],
        "vault": set["vault"],
        "recovery_point_arn": set["recovery_point_arn"],
        "app_version": "1.0.0",
    });
    let post = |body: &Value| {
        status_json(
            server
                .post("/api/v1/restores")
                .bearer_auth(&operator)
                .json(body)
                .send()
                .unwrap(),
        )
    };
    let (status, answer) = post(&body);
    assert_eq!(
        answer["error"]["code"].as_str(),
        Some("app_version_older"),
        "{status} {answer}"
    );
    body["force_version"] = json!(true);
    let (status, answer) = post(&body);
    assert_eq!(status, 202, "force_version lets it through: {answer}");
}
