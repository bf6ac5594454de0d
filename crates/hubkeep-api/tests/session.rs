//! The console's sign-in: a session cookie made from a token, and the CSRF
//! header every change made with it needs.

mod common;
use common::{status_json, Home, Server};
use serde_json::json;

#[test]
fn signing_in_sets_an_httponly_samesite_strict_cookie_and_changes_need_the_csrf_token() {
    let home = Home::new();
    let admin = home.token("console", "admin");
    let server = Server::start(&home);

    let (status, _) = status_json(
        server
            .post("/api/v1/session")
            .json(&json!({"token": "hk_wrong"}))
            .send()
            .unwrap(),
    );
    assert_eq!(status, 401);

    let r = server
        .post("/api/v1/session")
        .json(&json!({"token": admin}))
        .send()
        .unwrap();
    let set_cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    let (status, session) = status_json(r);
    assert_eq!(status, 200);
    assert_eq!(
        (session["role"].as_str(), session["name"].as_str()),
        (Some("admin"), Some("console"))
    );
    assert!(set_cookie.starts_with("hubkeep_session="), "{set_cookie}");
    assert!(
        set_cookie.contains("HttpOnly")
            && set_cookie.contains("SameSite=Strict")
            && set_cookie.contains("Path=/"),
        "{set_cookie}"
    );
    let cookie = set_cookie.split(';').next().unwrap().to_string();
    let csrf = session["csrf_token"].as_str().unwrap().to_string();

    // The cookie alone reads.
    let (status, again) = status_json(
        server
            .get("/api/v1/session")
            .header("cookie", &cookie)
            .send()
            .unwrap(),
    );
    assert_eq!(
        (status, &again["csrf_token"]),
        (200, &session["csrf_token"])
    );
    assert_eq!(
        server
            .get("/api/v1/stacks")
            .header("cookie", &cookie)
            .send()
            .unwrap()
            .status()
            .as_u16(),
        200
    );

    // A change with the cookie but without the CSRF header is refused, and does nothing.
    let new_token = |headers: &[(&str, &str)]| {
        let mut req = server
            .post("/api/v1/tokens")
            .header("cookie", &cookie)
            .json(&json!({"name": "made-by-console"}));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        status_json(req.send().unwrap())
    };
    let (status, body) = new_token(&[]);
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("csrf"))
    );
    assert_eq!(new_token(&[("x-csrf-token", "forged")]).0, 403);
    assert!(home
        .json(&["token", "list"])
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["name"] != "made-by-console"));
    assert_eq!(new_token(&[("x-csrf-token", &csrf)]).0, 201);

    // Signing out ends the session.
    assert_eq!(
        server
            .http
            .delete(format!("{}/api/v1/session", server.base))
            .header("cookie", &cookie)
            .send()
            .unwrap()
            .status()
            .as_u16(),
        204
    );
    assert_eq!(
        server
            .get("/api/v1/stacks")
            .header("cookie", &cookie)
            .send()
            .unwrap()
            .status()
            .as_u16(),
        401
    );
    assert_eq!(
        server
            .get("/api/v1/session")
            .header("cookie", &cookie)
            .send()
            .unwrap()
            .status()
            .as_u16(),
        401
    );
}

#[test]
fn a_session_ends_when_its_token_is_revoked() {
    let home = Home::new();
    let token = home.token("laptop", "read");
    let server = Server::start(&home);
    let r = server
        .post("/api/v1/session")
        .json(&json!({"token": token}))
        .send()
        .unwrap();
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(
        server
            .get("/api/v1/vaults")
            .header("cookie", &cookie)
            .send()
            .unwrap()
            .status()
            .as_u16(),
        200
    );
    home.json(&["token", "revoke", "laptop"]);
    assert_eq!(
        server
            .get("/api/v1/vaults")
            .header("cookie", &cookie)
            .send()
            .unwrap()
            .status()
            .as_u16(),
        401
    );
}
