//! The statements the service layer runs through this crate instead of
//! writing SQL itself, on a real PostgreSQL cluster: offline mode, creating
//! and dropping databases and roles, reading a snapshot's rows in place and
//! fingerprinting a database.

mod common;

use common::{MemStore, TestCluster};
use hubkeep_pg::{
    block_connections, connection_limit, copy_rows, create_database, create_role_and_database,
    create_snapshot, database_exists, drop_database, drop_role, is_superuser, quote_ident,
    role_exists, set_connection_limit, table_fingerprints, ConnInfo, PgError, SnapshotOptions,
};

fn cluster() -> TestCluster {
    TestCluster::start().expect("these tests need PostgreSQL under /usr/lib/postgresql")
}

/// The app's own login to database `db`.
fn app_login(pg: &TestCluster, db: &str, user: &str, password: &str) -> ConnInfo {
    let mut app = pg.admin(db);
    app.user = user.to_string();
    app.password = Some(password.to_string());
    app
}

#[test]
fn offline_mode_locks_the_app_out_and_lets_it_back_in_with_its_old_limit() {
    let pg = cluster();
    let db = "hub \"prod\"";
    let admin = pg.admin("postgres");
    create_role_and_database(&admin, db, "reticulum", "app-pw").unwrap();
    pg.exec(
        "postgres",
        &format!("ALTER DATABASE {} CONNECTION LIMIT 40", quote_ident(db)),
    );
    let app = app_login(&pg, db, "reticulum", "app-pw");
    let mut app_session = app.connect().unwrap();
    app_session.batch_execute("SELECT 1").unwrap();

    assert!(is_superuser(&admin).unwrap());
    assert!(!is_superuser(&app).unwrap());
    let before = connection_limit(&admin, db).unwrap();
    assert_eq!(before, Some(40));
    assert_eq!(connection_limit(&admin, "no such db").unwrap(), None);

    let ended = block_connections(&pg.admin(db), db).unwrap();
    assert_eq!(ended, 1, "the app's one session was ended");
    assert!(
        app_session.batch_execute("SELECT 1").is_err(),
        "the app's open session is gone"
    );
    assert!(app.connect().is_err(), "the app cannot log in again");
    let mut ours = pg.admin(db).connect().unwrap();
    ours.batch_execute("SELECT 1")
        .expect("hubkeep's superuser still works in the database");
    assert_eq!(connection_limit(&admin, db).unwrap(), Some(0));

    set_connection_limit(&admin, db, before.unwrap()).unwrap();
    assert_eq!(connection_limit(&admin, db).unwrap(), Some(40));
    app.connect()
        .expect("the app logs in again once the limit is back")
        .batch_execute("SELECT 1")
        .unwrap();
}

#[test]
fn databases_and_roles_are_created_probed_and_dropped_even_while_in_use() {
    let pg = cluster();
    let admin = pg.admin("postgres");
    let db = "odd \"name\"; DROP TABLE x";
    assert!(!database_exists(&admin, db).unwrap());
    create_database(&admin, db).unwrap();
    assert!(database_exists(&admin, db).unwrap());
    let again = create_database(&admin, db).unwrap_err();
    assert!(matches!(again, PgError::AlreadyExists { .. }), "{again}");

    create_role_and_database(&admin, "hub_db", "hub_owner", "pw").unwrap();
    assert!(role_exists(&admin, "hub_owner").unwrap());
    // An app still connected does not stop the drop (WITH (FORCE)).
    let mut in_use = app_login(&pg, "hub_db", "hub_owner", "pw")
        .connect()
        .unwrap();
    in_use.batch_execute("SELECT 1").unwrap();
    drop_database(&admin, "hub_db").unwrap();
    assert!(!database_exists(&admin, "hub_db").unwrap());
    drop_role(&admin, "hub_owner").unwrap();
    assert!(!role_exists(&admin, "hub_owner").unwrap());

    // Dropping what is already gone is not an error.
    drop_database(&admin, "hub_db").unwrap();
    drop_role(&admin, "hub_owner").unwrap();
    drop_database(&admin, db).unwrap();
    assert!(!database_exists(&admin, db).unwrap());
}

#[test]
fn a_snapshots_rows_read_back_exactly_without_restoring_it() {
    let pg = cluster();
    let conn = pg.create_db("hub");
    pg.exec(
        "hub",
        r#"CREATE SCHEMA ret0;
           CREATE TABLE ret0.owned_files (owned_file_id bigint PRIMARY KEY, owned_file_uuid text, key text, note text);
           INSERT INTO ret0.owned_files VALUES
             (1, 'a-uuid', 'k1', E'tab\there, newline\nthere, back\\slash'),
             (2, 'b-uuid', NULL, 'ünïcode ✓'),
             (3, 'c-uuid', 'k3', '\N');"#,
    );
    let mut store = MemStore::default();
    let meta = create_snapshot(&conn, &mut store, &SnapshotOptions::default()).unwrap();
    let table = meta
        .tables
        .iter()
        .find(|t| t.schema == "ret0" && t.name == "owned_files")
        .unwrap();

    let rows: Vec<_> = copy_rows(&store, table)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let live: Vec<Vec<Option<String>>> = pg
        .client("hub")
        .query(
            "SELECT owned_file_id::text, owned_file_uuid, key, note FROM ret0.owned_files ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (0..4).map(|i| r.get(i)).collect())
        .collect();
    assert_eq!(rows, live);
    assert_eq!(
        table.columns,
        ["owned_file_id", "owned_file_uuid", "key", "note"]
    );

    // A stream cut short is an error naming it, not fewer rows.
    let mut cut = store.get(&table.stream);
    cut.truncate(cut.len() - 3);
    store
        .streams
        .lock()
        .unwrap()
        .insert(table.stream.clone(), cut);
    let err = copy_rows(&store, table)
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap_err();
    assert!(err.to_string().contains(&table.stream), "{err}");
}

#[test]
fn fingerprints_are_equal_for_equal_data_and_differ_after_a_change() {
    let pg = cluster();
    let setup =
        "CREATE SCHEMA \"Ret\"; CREATE TABLE \"Ret\".\"Hubs\" (id int PRIMARY KEY, name text);
                 INSERT INTO \"Ret\".\"Hubs\" VALUES (1, 'lobby'), (2, NULL);";
    let a = pg.create_db("a");
    let b = pg.create_db("b");
    pg.exec("a", setup);
    pg.exec("b", setup);
    let fa = table_fingerprints(&a).unwrap();
    assert_eq!(fa.keys().collect::<Vec<_>>(), ["\"Ret\".\"Hubs\""]);
    assert_eq!(fa, table_fingerprints(&b).unwrap());
    pg.exec(
        "b",
        "UPDATE \"Ret\".\"Hubs\" SET name = 'renamed' WHERE id = 1",
    );
    assert_ne!(fa, table_fingerprints(&b).unwrap());
}
