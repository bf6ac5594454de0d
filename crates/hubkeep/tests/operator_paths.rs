//! The paths Hubs operators are on, through the binary: the version guard
//! between a backup's app version and the stack a restore makes.

mod common;
use common::*;

fn migration_level(admin: &str) -> i64 {
    let mut c = postgres::Client::connect(admin, postgres::NoTls).unwrap();
    c.query_one("SELECT max(version)::int8 FROM ret0.schema_migrations", &[])
        .unwrap()
        .get(0)
}

fn stack_names(home: &Home) -> Vec<String> {
    home.json(&["stack", "list"])
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_restore_declaring_an_older_app_version_is_refused_until_forced() {
    require_root!();
    let home = Home::new();
    let admin = populated_hub(&home, "hub").0;
    let level = migration_level(&admin);
    home.json(&["stack", "update", "hub", "--app-version", "2.1.0"]);
    let set = home.json(&["backup", "hub", "--offline"]);
    let id = set["backup_id"].as_str().unwrap();

    let shown = home.json(&["backup-set", "show", id]);
    assert_eq!(shown["app_version"], "2.1.0", "{shown}");
    assert_eq!(
        shown["migration_level"], level,
        "the set records Reticulum's newest migration: {shown}"
    );
    let text = String::from_utf8(home.run(&["backup-set", "show", id]).stdout).unwrap();
    assert!(
        text.contains("2.1.0") && text.contains(&level.to_string()),
        "backup-set show names both: {text}"
    );

    for older in ["2.0.9", "v1.9", "stable"] {
        let (code, message, _) =
            home.fails(&["restore", "hub2", "--backup", id, "--app-version", older]);
        assert_eq!(code, "app_version_older", "{message}");
        for needed in ["2.1.0", older, &level.to_string(), "--force-version"] {
            assert!(
                message.contains(needed),
                "the refusal names {needed}: {message}"
            );
        }
        assert_eq!(
            stack_names(&home),
            ["hub"],
            "a refused restore creates no stack"
        );
    }

    let restored = home.json(&[
        "restore",
        "hub2",
        "--backup",
        id,
        "--app-version",
        "2.0.9",
        "--force-version",
    ]);
    assert_eq!(restored["status"], "ONLINE");
    assert_eq!(
        restored["app_version"], "2.0.9",
        "the new stack runs the declared version"
    );
    assert_eq!(
        restored["hubs_check"]["passed"], true,
        "{}",
        restored["hubs_check"]
    );
    assert_eq!(
        table_checksums(&admin_url(&home, "hub2")),
        table_checksums(&admin),
        "forced, the restore is the whole backup"
    );
}

#[test]
fn a_set_recorded_before_the_version_fields_restores_under_any_declared_version() {
    require_root!();
    let home = Home::new();
    populated_hub(&home, "hub");
    home.json(&["stack", "update", "hub", "--app-version", "2.1.0"]);
    let set = home.json(&["backup", "hub", "--offline"]);
    let id = set["backup_id"].as_str().unwrap();
    // The catalog record as hubkeep wrote it before it recorded versions.
    let db = rusqlite::Connection::open(home.path().join("catalog.db")).unwrap();
    let changed = db
        .execute("UPDATE backup_sets SET doc = json_remove(doc, '$.app_version', '$.migration_level') WHERE id = ?1", [id])
        .unwrap();
    assert_eq!(changed, 1);
    drop(db);
    let shown = home.json(&["backup-set", "show", id]);
    assert!(
        shown["app_version"].is_null() && shown["migration_level"].is_null(),
        "{shown}"
    );

    let restored = home.json(&["restore", "hub2", "--backup", id, "--app-version", "0.1"]);
    assert_eq!(restored["status"], "ONLINE");
    assert_eq!(restored["app_version"], "0.1");
}

#[test]
fn a_database_without_reticulum_migrations_records_no_level() {
    require_root!();
    let home = Home::new();
    home.json(&[
        "stack",
        "create",
        "plain",
        "--domain",
        "plain.example.org",
        "--profile",
        "generic",
        "--app-version",
        "1.0",
    ]);
    let set = home.json(&["backup", "plain"]);
    assert_eq!(set["app_version"], "1.0");
    assert!(
        set["migration_level"].is_null(),
        "no ret0.schema_migrations, no level: {set}"
    );
    let (code, message, _) = home.fails(&[
        "restore",
        "plain2",
        "--backup",
        set["backup_id"].as_str().unwrap(),
        "--app-version",
        "0.9",
    ]);
    assert_eq!(code, "app_version_older");
    assert!(
        message.contains("1.0") && message.contains("0.9"),
        "{message}"
    );
}

/// The URLs the re-home test plants: three carrying the hub's own origin,
/// and two of other origins that merely start alike.
fn plant_urls(admin: &str) {
    let mut c = postgres::Client::connect(admin, postgres::NoTls).unwrap();
    c.batch_execute(
        "INSERT INTO ret0.app_configs (key, value, inserted_at, updated_at) VALUES
           ('test|logo', '{\"value\": \"https://old.example/files/logo.png\"}', now(), now()),
           ('test|docs', '{\"value\": \"https://old.example.net/docs\"}', now(), now());
         INSERT INTO ret0.hubs (hub_sid, slug, name, default_environment_gltf_bundle_url, user_data, inserted_at, updated_at) VALUES
           ('rehome1', 'rehome-one', 'Re-home one', 'https://old.example/api/v1/scenes/abc/bundle.json',
            '{\"env\": \"https://old.example/files/env.glb\", \"mirror\": \"https://old.example:8443/x\"}', now(), now());",
    )
    .unwrap();
}

/// Every planted URL value, by `table.column`, as its text.
fn planted_values(admin: &str) -> Vec<String> {
    let mut c = postgres::Client::connect(admin, postgres::NoTls).unwrap();
    let mut out = vec![];
    for r in c.query("SELECT value::text FROM ret0.app_configs WHERE key IN ('test|logo', 'test|docs') ORDER BY key", &[]).unwrap() {
        out.push(r.get(0));
    }
    let r = c.query_one("SELECT default_environment_gltf_bundle_url, user_data::text FROM ret0.hubs WHERE hub_sid = 'rehome1'", &[]).unwrap();
    out.push(r.get(0));
    out.push(r.get(1));
    out
}

#[test]
fn a_hub_restored_on_a_new_domain_has_its_stored_urls_moved_and_keep_urls_leaves_them() {
    require_root!();
    let home = Home::new();
    let (admin, _storage) = populated_hub_at(&home, "old", "old.example");
    plant_urls(&admin);
    let before = planted_values(&admin);
    let set = home.json(&["backup", "old", "--offline"]);
    let id = set["backup_id"].as_str().unwrap();

    let moved = home.json(&["restore", "new", "--backup", id, "--domain", "new.example"]);
    assert_eq!(moved["status"], "ONLINE");
    assert_eq!(
        moved["hubs_check"]["passed"], true,
        "{}",
        moved["hubs_check"]
    );
    let values = planted_values(&admin_url(&home, "new"));
    let joined = values.join("\n");
    for v in &values {
        for (i, _) in v.match_indices("https://old.example") {
            let next = v[i + "https://old.example".len()..].chars().next();
            assert!(
                matches!(next, Some('.') | Some(':')),
                "an old-origin URL is left in {v}"
            );
        }
    }
    assert!(
        joined.contains("https://new.example/files/logo.png"),
        "{joined}"
    );
    assert!(
        joined.contains("https://new.example/api/v1/scenes/abc/bundle.json"),
        "{joined}"
    );
    assert!(
        joined.contains("https://new.example/files/env.glb"),
        "{joined}"
    );
    assert!(
        joined.contains("https://old.example.net/docs")
            && joined.contains("https://old.example:8443/x"),
        "other origins stay: {joined}"
    );
    let report = &moved["rehomed"];
    assert_eq!(
        (report["from"].as_str(), report["to"].as_str()),
        (Some("old.example"), Some("new.example")),
        "{report}"
    );
    let rewritten: Vec<(String, String, u64)> = report["rewritten"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["table"].as_str().unwrap().to_string(),
                r["column"].as_str().unwrap().to_string(),
                r["rows"].as_u64().unwrap(),
            )
        })
        .collect();
    let expected: Vec<(String, String, u64)> = [
        ("ret0.app_configs", "value"),
        ("ret0.hubs", "default_environment_gltf_bundle_url"),
        ("ret0.hubs", "user_data"),
    ]
    .iter()
    .map(|(t, c)| (t.to_string(), c.to_string(), 1))
    .collect();
    assert_eq!(
        rewritten, expected,
        "the report lists each rewritten column and its rows"
    );

    let kept = home.json(&[
        "restore",
        "kept",
        "--backup",
        id,
        "--domain",
        "new.example",
        "--keep-urls",
    ]);
    assert!(kept["rehomed"].is_null(), "{}", kept["rehomed"]);
    assert_eq!(
        planted_values(&admin_url(&home, "kept")),
        before,
        "--keep-urls leaves every URL"
    );
}
