//! A database server that accepts connections and never answers: every
//! command that talks to it ends in bounded time with an error naming it,
//! leaves no record behind, and the timeout is a setting.

mod common;
use common::*;
use std::net::TcpListener;

fn silent_server() -> (TcpListener, u16) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    (listener, port)
}

#[test]
fn adopting_a_server_that_never_answers_fails_naming_it_and_creates_no_stack() {
    let home = Home::new();
    home.json(&["init"]);
    let (_listener, port) = silent_server();
    let storage = home.scratch("store");
    std::fs::create_dir_all(&storage).unwrap();
    let url = format!("postgres://app@127.0.0.1:{port}/hub");
    let out = home
        .cmd(&["--json", "stack", "adopt", "silent", "--database-url", &url, "--storage", storage.to_str().unwrap(), "--profile", "generic"])
        .env("HUBKEEP_DB_CONNECT_TIMEOUT", "1")
        .env("PGPASSWORD", "not-shown")
        .output()
        .unwrap();
    assert!(!out.status.success(), "a silent server was adopted");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let msg = doc["error"]["message"].as_str().unwrap();
    assert!(msg.contains(&format!("127.0.0.1:{port}")) && msg.contains("1s"), "{msg}");
    assert!(!msg.contains("not-shown") && !String::from_utf8_lossy(&out.stderr).contains("not-shown"));
    assert_eq!(home.json(&["stack", "list"]), serde_json::json!([]));
}

#[test]
fn a_database_timeout_that_is_not_a_number_is_refused_naming_the_setting() {
    let home = Home::new();
    home.json(&["init"]);
    let out = home.cmd(&["--json", "stack", "list"]).env("HUBKEEP_DB_IDLE_TIMEOUT", "soon").output().unwrap();
    assert!(!out.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["error"]["code"], "invalid_setting", "{doc}");
    assert!(doc["error"]["message"].as_str().unwrap().contains("HUBKEEP_DB_IDLE_TIMEOUT"), "{doc}");
}
