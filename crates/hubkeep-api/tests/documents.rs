//! Every GET of API.md answers with the document the CLI prints with
//! `--json` for the same thing.

mod common;
use common::{Home, Server};
use serde_json::Value;

#[test]
fn every_get_equals_the_cli_json_of_the_same_thing() {
    let home = Home::new();
    home.json(&["stack", "create", "hub1", "--profile", "generic"]);
    let backup = home.json(&["backup", "hub1"]);
    let backup_id = backup["backup_id"].as_str().unwrap().to_string();
    let vault = backup["vault"].as_str().unwrap().to_string();
    let snapshot = backup["db_snapshot_id"].as_str().unwrap().to_string();
    let arn = backup["recovery_point_arn"].as_str().unwrap().to_string();
    let token = home.token("reader", "read");
    let jobs = home.json(&["job", "list"]);
    let job_id = jobs[0]["job_id"].as_str().unwrap().to_string();
    let server = Server::start(&home);

    let enc = |s: &str| s.replace(':', "%3A").replace('/', "%2F");
    let pairs: Vec<(String, Vec<&str>)> = vec![
        ("/api/v1/stacks".into(), vec!["stack", "list"]),
        ("/api/v1/stacks/hub1".into(), vec!["stack", "show", "hub1"]),
        (
            "/api/v1/stacks/hub1/plan".into(),
            vec!["plan", "show", "hub1"],
        ),
        ("/api/v1/plans".into(), vec!["plan", "list"]),
        ("/api/v1/backup-sets".into(), vec!["backup-set", "list"]),
        (
            format!("/api/v1/backup-sets/{backup_id}"),
            vec!["backup-set", "show", &backup_id],
        ),
        (
            "/api/v1/db-snapshots?stack=hub1".into(),
            vec!["db-snapshot", "list", "--stack", "hub1"],
        ),
        (
            format!("/api/v1/db-snapshots/{snapshot}"),
            vec!["db-snapshot", "show", &snapshot],
        ),
        (
            format!("/api/v1/recovery-points?vault={vault}"),
            vec!["recovery-point", "list", "--vault", &vault],
        ),
        (
            format!("/api/v1/recovery-points/{}", enc(&arn)),
            vec!["recovery-point", "show", &arn],
        ),
        ("/api/v1/jobs".into(), vec!["job", "list"]),
        (
            "/api/v1/jobs?state=COMPLETED&stack=hub1".into(),
            vec!["job", "list", "--state", "COMPLETED", "--stack", "hub1"],
        ),
        (
            format!("/api/v1/jobs/{job_id}"),
            vec!["job", "show", &job_id],
        ),
        ("/api/v1/vaults".into(), vec!["vault", "list"]),
        (
            format!("/api/v1/vaults/{vault}"),
            vec!["vault", "show", &vault],
        ),
        ("/api/v1/secrets".into(), vec!["secret", "list"]),
    ];
    for (path, cli) in pairs {
        let (status, api) = server.get_json(&path, &token);
        assert_eq!(status, 200, "GET {path}: {api}");
        let cli_doc: Value = home.json(&cli);
        assert_eq!(
            api,
            cli_doc,
            "GET {path} differs from hubkeep --json {}",
            cli.join(" ")
        );
    }
    // The filter of backup sets by stack keeps exactly that stack's sets.
    let (_, sets) = server.get_json("/api/v1/backup-sets?stack=other", &token);
    assert_eq!(sets, Value::Array(vec![]));
    // A missing thing is 404 with the CLI's error code.
    let (status, body) = server.get_json("/api/v1/stacks/nope", &token);
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("stack_not_found"))
    );
}
