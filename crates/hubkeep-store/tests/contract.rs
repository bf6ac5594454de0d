//! The object-store contract, checked on both backends: the local directory
//! always, S3 against a real SeaweedFS when `weed` is installed.

use std::sync::Arc;

use hubkeep_store::testing::SeaweedFs;
use hubkeep_store::{open, ObjectStore, S3Settings, StoreError};

fn local() -> (tempfile::TempDir, Arc<dyn ObjectStore>) {
    let dir = tempfile::tempdir().unwrap();
    let store = open(
        &format!("file://{}/vault", dir.path().display()),
        &S3Settings::from_env(),
    )
    .unwrap();
    (dir, store)
}

fn check_contract(store: &Arc<dyn ObjectStore>) {
    // put / get / overwrite
    store.put("config", b"one").unwrap();
    assert_eq!(store.get("config").unwrap(), b"one");
    store.put("config", b"two").unwrap();
    assert_eq!(store.get("config").unwrap(), b"two");

    // create-only writes
    assert!(store.put_if_absent("keys/a", b"first").unwrap());
    assert!(!store.put_if_absent("keys/a", b"second").unwrap());
    assert_eq!(store.get("keys/a").unwrap(), b"first");

    // missing objects
    match store.get("snapshots/missing") {
        Err(StoreError::NotFound { name, .. }) => assert_eq!(name, "snapshots/missing"),
        other => panic!("expected NotFound, got {other:?}"),
    }
    store.delete("snapshots/missing").unwrap();

    // ranges
    store.put("packs/p1", b"0123456789").unwrap();
    assert_eq!(store.get_range("packs/p1", 3, 4).unwrap(), b"3456");
    assert!(
        store.get_range("packs/p1", 8, 10).is_err(),
        "a range past the end fails"
    );

    // listing by prefix, nested names, sizes
    store.put("packs/p2", b"xy").unwrap();
    store.put("packsy", b"z").unwrap();
    store.put("index/deep/er/name", b"z").unwrap();
    let packs: Vec<(String, u64)> = store
        .list("packs/")
        .unwrap()
        .into_iter()
        .map(|m| (m.name, m.size))
        .collect();
    assert_eq!(packs, vec![("packs/p1".into(), 10), ("packs/p2".into(), 2)]);
    let all: Vec<String> = store
        .list("")
        .unwrap()
        .into_iter()
        .map(|m| m.name)
        .collect();
    assert_eq!(
        all,
        vec![
            "config",
            "index/deep/er/name",
            "keys/a",
            "packs/p1",
            "packs/p2",
            "packsy"
        ]
    );
    assert_eq!(store.list("pack").unwrap().len(), 3);
    assert!(store.list("nothing/").unwrap().is_empty());

    // delete
    store.delete("packs/p2").unwrap();
    assert!(matches!(
        store.get("packs/p2"),
        Err(StoreError::NotFound { .. })
    ));

    // names that could escape are refused before any I/O
    for bad in ["../x", "/abs", "a//b"] {
        assert!(
            matches!(store.put(bad, b"x"), Err(StoreError::InvalidName { .. })),
            "{bad}"
        );
    }

    // empty objects
    store.put("empty", b"").unwrap();
    assert_eq!(store.get("empty").unwrap(), b"");

    // temp objects: hidden from list, found by list_temp, removed by delete
    store
        .put("temps/.tmp-0123456789abcdef", b"partial")
        .unwrap();
    store.put("temps/real", b"whole").unwrap();
    let names = |metas: Vec<hubkeep_store::ObjectMeta>| -> Vec<String> {
        metas.into_iter().map(|m| m.name).collect()
    };
    assert_eq!(names(store.list("temps/").unwrap()), vec!["temps/real"]);
    assert_eq!(
        names(store.list_temp().unwrap()),
        vec!["temps/.tmp-0123456789abcdef"]
    );
    store.delete("temps/.tmp-0123456789abcdef").unwrap();
    assert!(store.list_temp().unwrap().is_empty());
}

fn check_create_race(store: &Arc<dyn ObjectStore>) {
    let winners: usize = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let store = store.clone();
                s.spawn(move || {
                    store
                        .put_if_absent("race/config", format!("writer {i}").as_bytes())
                        .unwrap() as usize
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    assert_eq!(winners, 1, "exactly one create-only write wins");
}

#[test]
fn local_directory_keeps_the_contract() {
    let (_dir, store) = local();
    assert!(store.location().starts_with("file:///"));
    check_contract(&store);
    check_create_race(&store);
}

#[test]
fn local_writes_leave_no_temp_files_behind() {
    let (dir, store) = local();
    store.put("packs/a", &vec![7u8; 100_000]).unwrap();
    store.put_if_absent("packs/a", b"x").unwrap();
    let names: Vec<_> = std::fs::read_dir(dir.path().join("vault/packs"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("a")]);
}

#[test]
fn relative_local_location_is_refused() {
    let err = open("file://relative/dir", &S3Settings::from_env()).unwrap_err();
    assert!(err.to_string().contains("absolute path"), "{err}");
}

#[test]
fn s3_bucket_keeps_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let Some(weed) = SeaweedFs::try_start(dir.path()) else {
        return;
    };
    weed.create_bucket("contract");
    let store = open("s3://contract/some/prefix", &weed.settings()).unwrap();
    assert_eq!(store.location(), "s3://contract/some/prefix");
    check_contract(&store);
    check_create_race(&store);
    // The same bucket without the prefix sees the prefixed names.
    let root = open("s3://contract", &weed.settings()).unwrap();
    assert!(root
        .list("some/prefix/packs/")
        .unwrap()
        .iter()
        .any(|m| m.name == "some/prefix/packs/p1"));
}

#[test]
fn s3_errors_tell_the_operator_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let Some(weed) = SeaweedFs::try_start(dir.path()) else {
        return;
    };
    weed.create_bucket("errs");

    let mut wrong = weed.settings();
    wrong.secret_access_key = Some("not-the-secret".into());
    let err = open("s3://errs", &wrong)
        .unwrap()
        .put("x", b"y")
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(err, StoreError::CredentialsRejected { .. }),
        "{msg}"
    );
    assert!(
        msg.contains("AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY") && !msg.contains("not-the-secret"),
        "{msg}"
    );

    let err = open("s3://no-such-bucket", &weed.settings())
        .unwrap()
        .get("x")
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::BucketMissing { .. } | StoreError::NotFound { .. }
        ),
        "{err}"
    );

    let mut gone = weed.settings();
    gone.endpoint = Some("http://127.0.0.1:9".into());
    let err = open("s3://errs", &gone).unwrap().get("x").unwrap_err();
    assert!(err.to_string().contains("is the server running"), "{err}");
    assert!(
        err.to_string().contains("a request 120 s"),
        "the error says how long hubkeep waits: {err}"
    );
}

#[test]
fn settings_debug_hides_credentials() {
    let s = S3Settings {
        secret_access_key: Some("hunter2".into()),
        access_key_id: Some("AKIA".into()),
        ..Default::default()
    };
    let shown = format!("{s:?}");
    assert!(
        !shown.contains("hunter2") && !shown.contains("AKIA"),
        "{shown}"
    );
}
