//! The demo hub and the Hubs check on a real PostgreSQL 15 cluster and real
//! files: what an operator sees after a good restore, a wrong key, lost
//! files and drift.

mod support;

use std::fs;
use std::path::Path;

use hubkeep_hubs::{
    check_hub, create_demo_schema, drift, mutate_demo, populate_demo, DemoHub, HubsError,
    CACHED_BLOB, OWNED_BLOB, OWNED_DECRYPT, OWNED_META,
};
use support::{owned_paths, Cluster};

const SKB: &str = "yK3/Tq0cS3vYp1xW8a0N3l7QeJk6Zr2Vb9Hf4Gd1Ms5Ut8Co2Xi7Pw0Ly6Ae3Rn";

struct Hub {
    cluster: Cluster,
    url: String,
    storage: tempfile::TempDir,
    demo: DemoHub,
}

impl Hub {
    fn storage(&self) -> &Path {
        self.storage.path()
    }

    fn owned_uuids(&self) -> Vec<String> {
        self.cluster
            .client("hub")
            .query(
                "SELECT owned_file_uuid FROM ret0.owned_files ORDER BY owned_file_id",
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect()
    }
}

/// A cluster with a role `reticulum` owning a populated demo hub in database `hub`.
fn demo_hub(scale: usize) -> Option<Hub> {
    let cluster = Cluster::start()?;
    cluster
        .client("postgres")
        .batch_execute("CREATE ROLE reticulum LOGIN")
        .unwrap();
    let url = cluster.create_db("hub");
    create_demo_schema(&url, "reticulum").unwrap();
    let storage = tempfile::tempdir().unwrap();
    let demo = populate_demo(&url, storage.path(), SKB, scale).unwrap();
    Some(Hub {
        cluster,
        url,
        storage,
        demo,
    })
}

#[test]
fn demo_hub_looks_like_reticulum_and_passes_a_full_check() {
    let Some(hub) = demo_hub(2) else { return };
    let mut db = hub.cluster.client("hub");

    // Schemas and objects belong to the owner role; the admin views exist.
    let owner: String = db
        .query_one("SELECT tableowner::text FROM pg_tables WHERE schemaname = 'ret0' AND tablename = 'owned_files'", &[])
        .unwrap()
        .get(0);
    assert_eq!(owner, "reticulum");
    let views: i64 = db
        .query_one(
            "SELECT count(*) FROM pg_views WHERE schemaname = 'ret0_admin'",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(views >= 10, "ret0_admin has {views} views");
    let coturn: i64 = db
        .query_one("SELECT count(*) FROM coturn.turn_secret", &[])
        .unwrap()
        .get(0);
    assert_eq!(coturn, 1);

    // The cluster roles PostgREST uses, with the memberships Reticulum sets up.
    let roles = db
        .query(
            "SELECT r.rolname::text, r.rolcanlogin FROM pg_roles r
             WHERE r.rolname IN ('postgrest_authenticator', 'postgrest_anonymous', 'ret_admin') ORDER BY 1",
            &[],
        )
        .unwrap();
    let roles: Vec<(String, bool)> = roles.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(
        roles,
        vec![
            ("postgrest_anonymous".into(), false),
            ("postgrest_authenticator".into(), true),
            ("ret_admin".into(), false)
        ]
    );
    let member: bool = db
        .query_one(
            "SELECT pg_has_role('postgrest_authenticator', 'postgrest_anonymous', 'MEMBER')",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(member);
    let may_read_admin: bool = db
        .query_one(
            "SELECT has_table_privilege('ret_admin', 'ret0_admin.owned_files', 'SELECT')",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(may_read_admin);

    // Counts match what populate reports.
    let count = |db: &mut postgres::Client, table: &str| -> usize {
        db.query_one(&format!("SELECT count(*) FROM ret0.{table}"), &[])
            .unwrap()
            .get::<_, i64>(0) as usize
    };
    assert_eq!(count(&mut db, "owned_files"), hub.demo.owned_files);
    assert_eq!(count(&mut db, "cached_files"), hub.demo.cached_files);
    assert_eq!(count(&mut db, "hubs"), hub.demo.hubs);
    assert_eq!(count(&mut db, "accounts"), hub.demo.accounts);
    assert!(
        hub.demo.owned_bytes > 3 * 1024 * 1024,
        "includes a file of a few MiB"
    );

    // Files are where and as Reticulum writes them, padded blobs included.
    let rows = db
        .query(
            "SELECT owned_file_uuid, content_length FROM ret0.owned_files",
            &[],
        )
        .unwrap();
    let mut bare_header = 0;
    let mut padded = 0;
    for row in &rows {
        let uuid: String = row.get(0);
        let length: i64 = row.get(1);
        let paths = owned_paths(hub.storage(), &uuid);
        assert!(paths.blob.starts_with(
            hub.storage()
                .join("owned")
                .join(&uuid[..2])
                .join(&uuid[2..4])
        ));
        let size = fs::metadata(&paths.blob).unwrap().len() as i64;
        let meta = fs::read_to_string(&paths.meta).unwrap();
        assert!(
            meta.starts_with(&format!(
                "{{\"content_length\":{length},\"content_type\":\""
            )),
            "{meta}"
        );
        if size == 12 {
            bare_header += 1;
        }
        if size > 12 + length {
            padded += 1;
        }
    }
    assert!(bare_header >= 1, "an empty upload");
    assert!(
        padded >= 3,
        "the duplicated empty file, the 5-byte file and the big file's tail"
    );
    assert_eq!(hub.demo.expiring_files, 2);

    let report = check_hub(&hub.url, hub.storage(), SKB, true, 0).unwrap();
    assert!(report.passed, "{report:#?}");
    assert_eq!(report.sampled, hub.demo.owned_files + hub.demo.cached_files);
    assert_eq!(report.categories.len(), 6);
    let decrypt = report.category(OWNED_DECRYPT).unwrap();
    assert_eq!(
        (decrypt.checked, decrypt.ok),
        (hub.demo.owned_files, hub.demo.owned_files)
    );
}

#[test]
fn check_samples_only_as_many_blobs_as_asked() {
    let Some(hub) = demo_hub(1) else { return };
    let report = check_hub(&hub.url, hub.storage(), SKB, false, 3).unwrap();
    assert!(report.passed, "{report:#?}");
    assert_eq!(report.category(OWNED_DECRYPT).unwrap().checked, 3);
    assert_eq!(
        report.category(OWNED_BLOB).unwrap().checked,
        hub.demo.owned_files,
        "presence is always checked in full"
    );
    assert_eq!(report.sampled, 3 + hub.demo.cached_files.min(3));
}

#[test]
fn wrong_phoenix_key_fails_the_decrypt_category_without_printing_keys() {
    let Some(hub) = demo_hub(1) else { return };
    let wrong = "not-the-secret-key-base-of-this-hub";
    let report = check_hub(&hub.url, hub.storage(), wrong, false, 5).unwrap();
    assert!(!report.passed);
    let decrypt = report.category(OWNED_DECRYPT).unwrap();
    assert_eq!(decrypt.ok, 0);
    assert_eq!(decrypt.problems.len(), 5);
    assert!(
        report.category(OWNED_BLOB).unwrap().clean(),
        "the files are all there"
    );
    let json = serde_json::to_string(&report).unwrap();
    assert!(json.contains("phoenix-key"));
    assert!(!json.contains(wrong) && !json.contains(SKB));
}

#[test]
fn deleted_blob_and_missing_meta_are_reported_by_check_and_drift() {
    let Some(hub) = demo_hub(1) else { return };
    let uuids = hub.owned_uuids();
    let (lost_blob, lost_meta) = (&uuids[1], &uuids[2]);
    fs::remove_file(owned_paths(hub.storage(), lost_blob).blob).unwrap();
    fs::remove_file(owned_paths(hub.storage(), lost_meta).meta).unwrap();

    let report = check_hub(&hub.url, hub.storage(), SKB, true, 0).unwrap();
    assert!(!report.passed);
    let blob = report.category(OWNED_BLOB).unwrap();
    assert_eq!(blob.checked - blob.ok, 1);
    assert!(
        blob.problems[0].contains(lost_blob.as_str()),
        "{:?}",
        blob.problems
    );
    let meta = report.category(OWNED_META).unwrap();
    assert_eq!(meta.checked - meta.ok, 1);
    assert!(
        meta.problems[0].contains(lost_meta.as_str()),
        "{:?}",
        meta.problems
    );
    // The file without meta still decrypts, checked against its row's length.
    assert!(report.category(OWNED_DECRYPT).unwrap().clean());

    let found = drift(&hub.url, hub.storage()).unwrap();
    assert_eq!(found.rows_without_blob, vec![lost_blob.clone()]);
    assert_eq!(found.rows_without_meta, vec![lost_meta.clone()]);
    assert!(found.blobs_without_row.is_empty());
}

#[test]
fn orphan_blob_is_reported_by_drift_but_does_not_fail_the_check() {
    let Some(hub) = demo_hub(1) else { return };
    assert!(drift(&hub.url, hub.storage()).unwrap().is_empty());
    let orphan = "0f1e2d3c-4b5a-4697-8877-665544332211";
    let paths = owned_paths(hub.storage(), orphan);
    fs::create_dir_all(&paths.dir).unwrap();
    fs::write(
        &paths.blob,
        hubkeep_hubs::encrypt_blob("k", SKB, b"left behind"),
    )
    .unwrap();

    let found = drift(&hub.url, hub.storage()).unwrap();
    assert_eq!(found.blobs_without_row, vec![orphan.to_string()]);
    assert!(found.rows_without_blob.is_empty());
    assert!(
        check_hub(&hub.url, hub.storage(), SKB, true, 0)
            .unwrap()
            .passed
    );
}

#[test]
fn blob_swapped_with_another_file_fails_decryption() {
    let Some(hub) = demo_hub(1) else { return };
    let uuids = hub.owned_uuids();
    let (a, b) = (
        owned_paths(hub.storage(), &uuids[0]),
        owned_paths(hub.storage(), &uuids[3]),
    );
    fs::copy(&a.blob, &b.blob).unwrap();
    let report = check_hub(&hub.url, hub.storage(), SKB, true, 0).unwrap();
    assert!(!report.passed);
    let decrypt = report.category(OWNED_DECRYPT).unwrap();
    assert_eq!(decrypt.checked - decrypt.ok, 1);
    assert!(decrypt.problems[0].contains(uuids[3].as_str()));
}

#[test]
fn lost_cached_file_is_listed_but_does_not_fail_the_check() {
    let Some(hub) = demo_hub(1) else { return };
    let uuid: String = hub
        .cluster
        .client("hub")
        .query_one("SELECT file_uuid FROM ret0.cached_files LIMIT 1", &[])
        .unwrap()
        .get(0);
    let paths = hubkeep_hubs::file_paths(hub.storage(), hubkeep_hubs::StorageArea::Cached, &uuid);
    fs::remove_file(paths.blob).unwrap();
    let report = check_hub(&hub.url, hub.storage(), SKB, true, 0).unwrap();
    assert!(report.passed, "{report:#?}");
    let cached = report.category(CACHED_BLOB).unwrap();
    assert!(!cached.required);
    assert!(cached.problems[0].contains(&uuid));
}

#[test]
fn mutation_adds_a_file_renames_one_room_and_deletes_another() {
    let Some(hub) = demo_hub(1) else { return };
    let mut db = hub.cluster.client("hub");
    let changed = mutate_demo(&hub.url, hub.storage(), SKB).unwrap();

    let owned: i64 = db
        .query_one("SELECT count(*) FROM ret0.owned_files", &[])
        .unwrap()
        .get(0);
    assert_eq!(owned as usize, hub.demo.owned_files + 1);
    assert!(owned_paths(hub.storage(), &changed.added_owned_file)
        .blob
        .is_file());
    let name: String = db
        .query_one(
            "SELECT name FROM ret0.hubs WHERE hub_sid = $1",
            &[&changed.renamed_hub_sid],
        )
        .unwrap()
        .get(0);
    assert_eq!(name, changed.new_hub_name);
    assert!(db
        .query_opt(
            "SELECT 1 FROM ret0.hubs WHERE hub_sid = $1",
            &[&changed.deleted_hub_sid]
        )
        .unwrap()
        .is_none());
    assert!(
        check_hub(&hub.url, hub.storage(), SKB, true, 0)
            .unwrap()
            .passed
    );
}

#[test]
fn schema_and_demo_refuse_to_overwrite_an_existing_hub() {
    let Some(hub) = demo_hub(1) else { return };
    let err = create_demo_schema(&hub.url, "reticulum").unwrap_err();
    assert!(matches!(err, HubsError::SchemaExists { .. }), "{err}");
    let err = populate_demo(&hub.url, hub.storage(), SKB, 1).unwrap_err();
    assert!(matches!(err, HubsError::AlreadyPopulated { .. }), "{err}");

    let other = hub.cluster.create_db("other");
    let err = create_demo_schema(&other, "nobody_here").unwrap_err();
    assert!(
        err.to_string().contains("role nobody_here does not exist"),
        "{err}"
    );
    let err = check_hub(&other, hub.storage(), SKB, false, 1).unwrap_err();
    assert!(err.to_string().contains("ret0.owned_files"), "{err}");
    let err = drift(&other, hub.storage()).unwrap_err();
    assert!(matches!(err, HubsError::NotAHubDatabase { .. }), "{err}");
    let missing = hub.storage().join("not-mounted");
    let err = check_hub(&hub.url, &missing, SKB, false, 1).unwrap_err();
    assert!(
        err.to_string().contains("not-mounted does not exist"),
        "{err}"
    );
}

#[test]
fn connection_errors_name_the_database_but_never_the_password() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgresql://hubs:s3cret-pass@127.0.0.1:{port}/polycosm_production");
    let err = check_hub(&url, &std::env::temp_dir(), SKB, false, 1).unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains(&format!("hubs@127.0.0.1:{port}/polycosm_production")),
        "{message}"
    );
    assert!(!message.contains("s3cret-pass"), "{message}");
    assert!(!format!("{err:?}").contains("s3cret-pass"));
}

#[test]
fn truncated_blob_and_unreadable_meta_file_fail_the_check_naming_them() {
    let Some(hub) = demo_hub(1) else { return };
    let uuids = hub.owned_uuids();
    // A file with content, so that cutting it keeps the 12-byte header.
    let short = uuids
        .iter()
        .find(|u| {
            hubkeep_hubs::Meta::read(&owned_paths(hub.storage(), u).meta)
                .unwrap()
                .content_length
                > 0
        })
        .unwrap();
    let garbled = uuids.iter().find(|u| *u != short).unwrap();
    let paths = owned_paths(hub.storage(), short);
    let blob = fs::read(&paths.blob).unwrap();
    let meta = hubkeep_hubs::Meta::read(&paths.meta).unwrap();
    // Cut the content short but keep the header: the header still decrypts.
    fs::write(&paths.blob, &blob[..12 + meta.content_length as usize - 1]).unwrap();
    fs::write(owned_paths(hub.storage(), garbled).meta, "{not json").unwrap();

    let report = check_hub(&hub.url, hub.storage(), SKB, true, 0).unwrap();
    assert!(!report.passed);
    let blobs = &report.category(OWNED_BLOB).unwrap().problems;
    assert_eq!(blobs.len(), 1, "{blobs:?}");
    assert!(
        blobs[0].contains(short.as_str()) && blobs[0].contains("truncated"),
        "{blobs:?}"
    );
    let metas = &report.category(OWNED_META).unwrap().problems;
    assert_eq!(metas.len(), 1, "{metas:?}");
    assert!(
        metas[0].contains(garbled.as_str()) && metas[0].contains("not Reticulum's meta JSON"),
        "{metas:?}"
    );
    assert!(report.category(OWNED_DECRYPT).unwrap().clean());
}
