//! What monitoring scrapes, and what the console's progress bars listen to.

mod common;
use common::{Home, Server};
use serde_json::Value;
use std::io::Read;

#[test]
fn metrics_report_the_last_backup_the_rpo_and_the_jobs_of_a_stack() {
    let home = Home::new();
    home.json(&["stack", "create", "hub1", "--profile", "generic"]);
    let backup = home.json(&["backup", "hub1"]);
    let token = home.token("prometheus", "read");
    let server = Server::start(&home);
    let r = server.get("/metrics").bearer_auth(&token).send().unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let text = r.text().unwrap();
    for name in [
        "hubkeep_backup_last_success_timestamp_seconds",
        "hubkeep_backup_last_duration_seconds",
        "hubkeep_backup_last_status",
        "hubkeep_rpo_breached",
        "hubkeep_vault_stored_bytes",
        "hubkeep_jobs_total",
    ] {
        assert!(
            text.contains(&format!("# HELP {name} "))
                && text.contains(&format!("# TYPE {name} gauge")),
            "{name} missing:\n{text}"
        );
    }
    let sample = |prefix: &str| -> f64 {
        let line = text
            .lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} in\n{text}"));
        line.rsplit(' ').next().unwrap().parse().unwrap()
    };
    assert_eq!(sample("hubkeep_backup_last_status{stack=\"hub1\"}"), 1.0);
    assert_eq!(sample("hubkeep_rpo_breached{stack=\"hub1\"}"), 0.0);
    let finished = chrono_seconds(backup["finished_at"].as_str().unwrap());
    assert_eq!(
        sample("hubkeep_backup_last_success_timestamp_seconds{stack=\"hub1\"}"),
        finished
    );
    let vault = backup["vault"].as_str().unwrap();
    assert!(sample(&format!("hubkeep_vault_stored_bytes{{vault=\"{vault}\"}}")) > 0.0);
    assert!(sample("hubkeep_jobs_total{kind=\"db-snapshot\",state=\"COMPLETED\"}") >= 1.0);
}

/// Whole seconds of an RFC 3339 UTC time, as `date +%s` would say.
fn chrono_seconds(rfc3339: &str) -> f64 {
    let out = std::process::Command::new("date")
        .args(["-u", "-d", rfc3339, "+%s"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn the_event_stream_of_a_finished_job_ends_with_its_document() {
    let home = Home::new();
    home.json(&["stack", "create", "hub1", "--profile", "generic"]);
    let snap = home.json(&["db-snapshot", "create", "hub1"]);
    let job_id = snap["job_id"].as_str().unwrap().to_string();
    let token = home.token("console", "read");
    let server = Server::start(&home);
    let mut r = server
        .get(&format!("/api/v1/jobs/{job_id}/events"))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let mut stream = String::new();
    r.read_to_string(&mut stream).unwrap();
    let end = stream
        .split("\n\n")
        .find(|e| e.starts_with("event: end"))
        .unwrap_or_else(|| panic!("no end event in {stream}"));
    let data: Value =
        serde_json::from_str(end.lines().find_map(|l| l.strip_prefix("data: ")).unwrap()).unwrap();
    assert_eq!(data, home.json(&["job", "show", &job_id]));
    assert_eq!(
        server
            .get("/api/v1/jobs/j-none/events")
            .bearer_auth(&token)
            .send()
            .unwrap()
            .status()
            .as_u16(),
        404
    );
}
