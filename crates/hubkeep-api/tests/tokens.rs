//! Tokens are shown once and stored only as hashes.

mod common;
use common::Home;

#[test]
fn the_catalog_never_holds_a_token_in_clear_and_token_list_shows_none() {
    let home = Home::new();
    let created = home.json(&["token", "create", "ci", "--role", "operator"]);
    let token = created["token"].as_str().unwrap();
    assert_eq!(
        (created["name"].as_str(), created["role"].as_str()),
        (Some("ci"), Some("operator"))
    );
    assert!(token.starts_with("hk_") && token.len() == 3 + 43, "{token}");
    let secret_part = &token[3..];
    for entry in std::fs::read_dir(home.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let bytes = std::fs::read(&path).unwrap();
            assert!(
                !bytes
                    .windows(secret_part.len())
                    .any(|w| w == secret_part.as_bytes()),
                "{} holds the token",
                path.display()
            );
        }
    }
    let list = home.json(&["token", "list"]);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert!(!list.to_string().contains(secret_part));
    assert_eq!(list[0]["name"], "ci");
    assert_eq!(list[0]["role"], "operator");
    assert!(list[0]["created_at"].is_string());
}
