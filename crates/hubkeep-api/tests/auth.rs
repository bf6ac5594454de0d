//! Who may do what: tokens, roles and the error bodies of refusals.

mod common;
use common::{status_json, Home, Server};
use serde_json::json;

#[test]
fn requests_without_a_valid_token_are_refused_with_401() {
    let home = Home::new();
    let server = Server::start(&home);
    let (status, body) = status_json(server.get("/api/v1/stacks").send().unwrap());
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "unauthenticated");
    let (status, _) = server.get_json("/api/v1/stacks", "hk_not-a-token");
    assert_eq!(status, 401);
    assert_eq!(
        server.get("/metrics").send().unwrap().status().as_u16(),
        401
    );
    // Health needs no token: load balancers and probes ask it.
    assert_eq!(
        server
            .get("/api/v1/health")
            .send()
            .unwrap()
            .status()
            .as_u16(),
        200
    );
}

#[test]
fn a_revoked_token_stops_working() {
    let home = Home::new();
    let token = home.token("ci", "read");
    let server = Server::start(&home);
    assert_eq!(server.get_json("/api/v1/stacks", &token).0, 200);
    home.json(&["token", "revoke", "ci"]);
    let (status, body) = server.get_json("/api/v1/stacks", &token);
    assert_eq!(status, 401, "{body}");
}

#[test]
fn each_role_may_do_only_what_it_allows() {
    let home = Home::new();
    let read = home.token("reader", "read");
    let operator = home.token("ops", "operator");
    let admin = home.token("root", "admin");
    let server = Server::start(&home);
    let create_token = |token: &str, name: &str| {
        status_json(
            server
                .post("/api/v1/tokens")
                .bearer_auth(token)
                .json(&json!({"name": name}))
                .send()
                .unwrap(),
        )
    };

    // read: every GET, nothing else.
    assert_eq!(server.get_json("/api/v1/vaults", &read).0, 200);
    let (status, body) = create_token(&read, "x1");
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("forbidden"))
    );
    let plan = server
        .http
        .put(format!("{}/api/v1/stacks/none/plan", server.base))
        .bearer_auth(&read)
        .json(&json!({"rpo": "30h"}))
        .send()
        .unwrap();
    assert_eq!(plan.status().as_u16(), 403);
    // operator: plan changes reach the service layer (404: no such stack), tokens do not.
    let plan = server
        .http
        .put(format!("{}/api/v1/stacks/none/plan", server.base))
        .bearer_auth(&operator)
        .json(&json!({"rpo": "30h"}))
        .send()
        .unwrap();
    assert_eq!(plan.status().as_u16(), 404);
    assert_eq!(create_token(&operator, "x2").0, 403);
    assert_eq!(server.get_json("/api/v1/tokens", &operator).0, 403);
    let cancel = server
        .post("/api/v1/secrets/some-secret/cancel-deletion")
        .bearer_auth(&operator)
        .send()
        .unwrap();
    assert_eq!(cancel.status().as_u16(), 403);
    // admin: tokens too; a taken name is 409.
    let (status, created) = create_token(&admin, "x3");
    assert_eq!(status, 201);
    assert_eq!(created["role"], "read");
    assert!(created["token"].as_str().unwrap().starts_with("hk_"));
    assert_eq!(create_token(&admin, "x3").0, 409);
    let cancel = server
        .post("/api/v1/secrets/some-secret/cancel-deletion")
        .bearer_auth(&admin)
        .send()
        .unwrap();
    assert_eq!(cancel.status().as_u16(), 404);
}

#[test]
fn a_bad_plan_body_is_400_naming_the_field() {
    let home = Home::new();
    let operator = home.token("ops", "operator");
    let server = Server::start(&home);
    let r = server
        .http
        .put(format!("{}/api/v1/stacks/none/plan", server.base))
        .bearer_auth(&operator)
        .json(&json!({"keep_dayly": 3}))
        .send()
        .unwrap();
    let (status, body) = status_json(r);
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("keep_dayly"),
        "{body}"
    );
}
