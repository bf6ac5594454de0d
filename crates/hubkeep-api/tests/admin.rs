//! The admin role's routes beyond tokens: webhooks and deletions, each the
//! CLI command's core call with its document, refused to other roles.

mod common;
use common::{status_json, Home, Server};
use hubkeep_testkit::webhook::Receiver;
use serde_json::{json, Value};

fn delete(server: &Server, path: &str, token: &str) -> (u16, Value) {
    status_json(
        server
            .http
            .delete(format!("{}{path}", server.base))
            .bearer_auth(token)
            .send()
            .unwrap(),
    )
}

#[test]
fn an_admin_adds_tests_and_removes_a_webhook_and_no_other_role_may() {
    let home = Home::new();
    let operator = home.token("ops", "operator");
    let admin = home.token("root", "admin");
    let server = Server::start(&home);
    let receiver = Receiver::at("/hook", vec![]);
    let url = receiver.url.clone();
    let add = |token: &str, body: Value| {
        status_json(
            server
                .post("/api/v1/notifications")
                .bearer_auth(token)
                .json(&body)
                .send()
                .unwrap(),
        )
    };
    let hook = json!({"name": "chat", "webhook": url, "secret": "s3cret-value", "events": ["backup.failed"]});

    assert_eq!(add(&operator, hook.clone()).0, 403);
    assert_eq!(server.get_json("/api/v1/notifications", &operator).0, 403);
    let (status, added) = add(&admin, hook.clone());
    assert_eq!(status, 201, "{added}");
    assert_eq!(added["name"], "chat");
    assert_eq!(added["signed"], true);
    assert!(!added.to_string().contains("s3cret-value"), "{added}");
    let (status, again) = add(&admin, hook);
    assert_eq!(status, 409, "a taken name: {again}");
    let (status, bad) = add(
        &admin,
        json!({"name": "x", "webhook": "ftp://example.org/hook"}),
    );
    assert_eq!(status, 400, "{bad}");
    assert!(
        bad["error"]["message"]
            .as_str()
            .unwrap()
            .contains("--webhook"),
        "{bad}"
    );

    let (status, listed) = server.get_json("/api/v1/notifications", &admin);
    assert_eq!(status, 200);
    assert_eq!(listed, home.json(&["notify", "list"]));
    assert!(!listed.to_string().contains("s3cret-value"), "{listed}");

    let tested = status_json(
        server
            .post("/api/v1/notifications/chat/test")
            .bearer_auth(&admin)
            .send()
            .unwrap(),
    );
    assert_eq!(tested.0, 200, "{}", tested.1);
    assert_eq!(tested.1["status"], "delivered");
    // Each body received, with whether it was signed.
    let received: Vec<(bool, Value)> = receiver
        .requests()
        .iter()
        .map(|r| (r.headers.contains_key("x-hubkeep-signature"), r.json()))
        .collect();
    assert_eq!(received.len(), 1, "{received:?}");
    assert!(received[0].0, "the test delivery is signed");

    assert_eq!(
        delete(&server, "/api/v1/notifications/chat", &operator).0,
        403
    );
    let (status, removed) = delete(&server, "/api/v1/notifications/chat", &admin);
    assert_eq!((status, removed["name"].as_str()), (200, Some("chat")));
    assert_eq!(home.json(&["notify", "list"]), json!([]));
    assert_eq!(delete(&server, "/api/v1/notifications/chat", &admin).0, 404);
}

#[test]
fn an_admin_deletes_snapshots_points_secrets_and_stacks_as_the_cli_does() {
    let home = Home::new();
    home.json(&["stack", "create", "hub1", "--profile", "generic"]);
    let snapshot = home.json(&["db-snapshot", "create", "hub1"]);
    let snapshot = snapshot["id"].as_str().unwrap().to_string();
    let backup = home.json(&["backup", "hub1"]);
    let arn = backup["recovery_point_arn"].as_str().unwrap().to_string();
    let secret = home.json(&["stack", "show", "hub1"])["outputs"]["database_secret_arn"]
        .as_str()
        .unwrap()
        .to_string();
    let operator = home.token("ops", "operator");
    let admin = home.token("root", "admin");
    let server = Server::start(&home);
    let enc = |s: &str| s.replace(':', "%3A").replace('/', "%2F");

    // Only an admin deletes.
    for path in [
        format!("/api/v1/db-snapshots/{snapshot}"),
        format!("/api/v1/recovery-points/{}", enc(&arn)),
        format!("/api/v1/secrets/{}", enc(&secret)),
        "/api/v1/stacks/hub1".to_string(),
    ] {
        assert_eq!(delete(&server, &path, &operator).0, 403, "{path}");
    }

    let (status, deleted) = delete(&server, &format!("/api/v1/db-snapshots/{snapshot}"), &admin);
    assert_eq!(status, 200, "{deleted}");
    assert_eq!(deleted, json!({"id": snapshot, "status": "deleted"}));

    // A recovery point of a backup set is refused without ?force=true.
    let path = format!("/api/v1/recovery-points/{}", enc(&arn));
    let (status, refused) = delete(&server, &path, &admin);
    assert!(matches!(status, 409 | 422), "{status} {refused}");
    let still = home.json(&["recovery-point", "show", &arn]);
    assert_eq!(still["status"], "AVAILABLE", "nothing was deleted: {still}");
    let (status, deleted) = delete(&server, &format!("{path}?force=true"), &admin);
    assert_eq!(status, 200, "{deleted}");
    assert_eq!(deleted["status"], "DELETED");

    // A secret is scheduled for deletion, cancellable, with a window.
    let spath = format!("/api/v1/secrets/{}", enc(&secret));
    let (status, bad) = delete(&server, &format!("{spath}?recovery_window_days=90"), &admin);
    assert_eq!(status, 400, "{bad}");
    let (status, scheduled) = delete(&server, &format!("{spath}?recovery_window_days=10"), &admin);
    assert_eq!(status, 200, "{scheduled}");
    assert!(scheduled["deletion_date"].is_string(), "{scheduled}");
    let shown = home.json(&["secret", "show", &secret]);
    assert_eq!(shown["deletion_date"], scheduled["deletion_date"]);

    let (status, gone) = delete(&server, "/api/v1/stacks/hub1", &admin);
    assert_eq!(status, 200, "{gone}");
    assert_eq!(gone, json!({"name": "hub1", "status": "DELETE_COMPLETE"}));
    assert_eq!(home.json(&["stack", "list"]), json!([]));
    assert_eq!(delete(&server, "/api/v1/stacks/hub1", &admin).0, 404);
}
