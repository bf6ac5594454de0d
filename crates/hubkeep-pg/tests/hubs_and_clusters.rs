//! The embedded cluster lifecycle, provisioning, a Hubs-shaped database
//! (PostgREST roles) moving between clusters, and a restore done by hand
//! with psql following docs/snapshot-format.md.

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};

use common::{MemStore, TestCluster, PASSWORD};
use hubkeep_pg::cluster::{check_reachable_by_postgres, EmbeddedCluster};
use hubkeep_pg::{
    create_role_and_database, create_snapshot, restore_snapshot, ConnInfo, PgError, RestoreOptions,
    SnapshotOptions,
};

const HUBS_SCHEMA: &str = r#"
CREATE ROLE postgrest_anonymous NOLOGIN;
CREATE ROLE postgrest_authenticator LOGIN NOINHERIT PASSWORD 'auth-pw-old';
GRANT postgrest_anonymous TO postgrest_authenticator;
CREATE SCHEMA ret0;
CREATE SCHEMA ret0_admin;
CREATE SCHEMA coturn;
CREATE TABLE ret0.accounts (account_id bigint PRIMARY KEY, min_token_issued_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE ret0.hubs (hub_id bigint PRIMARY KEY, hub_sid varchar(255) UNIQUE, name varchar(255),
                        created_by_account_id bigint REFERENCES ret0.accounts, inserted_at timestamp(0) NOT NULL);
CREATE TABLE ret0.owned_files (owned_file_id bigint PRIMARY KEY, owned_file_uuid varchar(255) NOT NULL,
                               key varchar(255) NOT NULL, content_type varchar(255), content_length bigint,
                               account_id bigint REFERENCES ret0.accounts);
CREATE TABLE ret0.schema_migrations (version bigint PRIMARY KEY, inserted_at timestamp(0));
CREATE TABLE coturn.turn_secret (realm varchar(512), value varchar(256), PRIMARY KEY (realm, value));
CREATE VIEW ret0_admin.hubs AS SELECT hub_id, hub_sid, name FROM ret0.hubs;
GRANT USAGE ON SCHEMA ret0_admin TO postgrest_anonymous;
GRANT SELECT ON ret0_admin.hubs TO postgrest_anonymous;
INSERT INTO ret0.accounts SELECT i, '2024-01-01'::timestamptz + i * interval '1 minute' FROM generate_series(1, 50) i;
INSERT INTO ret0.hubs SELECT i, 'sid' || i, 'Hub № ' || i, 1 + i % 50, '2024-02-02' FROM generate_series(1, 120) i;
INSERT INTO ret0.owned_files SELECT i, md5(i::text), md5('k' || i), 'image/png', i * 1000, 1 + i % 50
  FROM generate_series(1, 80) i;
INSERT INTO ret0.schema_migrations VALUES (20240101000000, '2024-01-01');
INSERT INTO coturn.turn_secret VALUES ('turn', 'secret-value');
"#;

#[test]
fn hubs_database_moves_to_a_fresh_cluster_with_its_postgrest_roles() {
    let Some(src) = TestCluster::start() else {
        return;
    };
    let Some(dst) = TestCluster::start() else {
        return;
    };
    let conn = src.create_db("ret_production");
    src.exec("ret_production", HUBS_SCHEMA);
    let mut store = MemStore::default();
    let meta = create_snapshot(&conn, &mut store, &SnapshotOptions::default()).unwrap();
    let roles: Vec<&str> = meta.roles.iter().map(|r| r.name.as_str()).collect();
    assert!(
        roles.contains(&"postgrest_authenticator"),
        "referenced only as a member of postgrest_anonymous, it must still come along: {roles:?}"
    );
    let schemas: std::collections::BTreeSet<&str> =
        meta.tables.iter().map(|t| t.schema.as_str()).collect();
    assert_eq!(
        schemas.into_iter().collect::<Vec<_>>(),
        vec!["coturn", "ret0"]
    );

    let target = dst.create_db("ret_restored");
    let opts = RestoreOptions {
        role_passwords: BTreeMap::from([(
            "postgrest_authenticator".to_string(),
            "auth-pw-new".to_string(),
        )]),
        ..RestoreOptions::default()
    };
    let report = restore_snapshot(&store, &meta, &target, &opts).unwrap();
    assert_eq!(
        report.roles_created,
        vec!["postgrest_anonymous", "postgrest_authenticator"]
    );
    assert_eq!(
        common::table_checksums(&conn),
        common::table_checksums(&target)
    );
    let pgrst = ["postgrest_anonymous", "postgrest_authenticator"];
    assert_eq!(
        common::memberships(&conn, &pgrst),
        common::memberships(&target, &pgrst)
    );
    assert_eq!(
        common::role_attributes(&conn, &pgrst),
        common::role_attributes(&target, &pgrst)
    );

    // PostgREST's path: log in as the authenticator, switch to anonymous, read the admin view.
    let auth = ConnInfo {
        user: "postgrest_authenticator".into(),
        password: Some("auth-pw-new".into()),
        ..target.clone()
    };
    let mut c = auth.connect().unwrap();
    c.batch_execute("SET ROLE postgrest_anonymous").unwrap();
    let n: i64 = c
        .query_one("SELECT count(*) FROM ret0_admin.hubs", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 120);
    assert!(
        c.query("SELECT * FROM ret0.owned_files", &[]).is_err(),
        "grants must not widen"
    );
}

#[test]
fn embedded_cluster_lives_stops_reopens_and_is_removed() {
    if !std::path::Path::new("/usr/lib/postgresql").exists() {
        eprintln!("skipping: PostgreSQL is not installed");
        return;
    }
    let home = tempfile::tempdir().unwrap();
    std::fs::set_permissions(home.path(), std::fs::Permissions::from_mode(0o711)).unwrap();
    let dir = home.path().join("stacks/hub1/postgres");
    let cluster = EmbeddedCluster::init(&dir, "s3cret").unwrap();
    assert!(!cluster.is_running());
    cluster.start().unwrap();
    cluster.start().unwrap();
    assert!(cluster.is_running());
    let admin = cluster.superuser("s3cret", "postgres");
    assert_eq!(admin.host, "127.0.0.1");
    let wrong = cluster.superuser("wrong", "postgres");
    let Err(err) = wrong.connect() else {
        panic!("a wrong password must not connect")
    };
    assert!(
        err.to_string().contains(&format!(
            "cannot connect to PostgreSQL at 127.0.0.1:{}/postgres",
            cluster.port
        )),
        "{err}"
    );
    assert!(!err.to_string().contains("wrong"));
    let mut c = admin.connect().unwrap();
    let listen: String = c.query_one("SHOW listen_addresses", &[]).unwrap().get(0);
    let sockets: String = c
        .query_one("SHOW unix_socket_directories", &[])
        .unwrap()
        .get(0);
    assert_eq!((listen.as_str(), sockets.as_str()), ("127.0.0.1", ""));
    drop(c);
    assert!(hubkeep_pg::server_major_version(&admin).unwrap() >= 12);

    create_role_and_database(&admin, "ret_hub1", "ret_hub1_owner", "owner-pw").unwrap();
    let owner = ConnInfo {
        user: "ret_hub1_owner".into(),
        password: Some("owner-pw".into()),
        ..admin.with_dbname("ret_hub1")
    };
    owner
        .connect()
        .unwrap()
        .batch_execute("CREATE SCHEMA ret0")
        .unwrap();
    let again =
        create_role_and_database(&admin, "ret_hub1", "ret_hub1_owner", "other").unwrap_err();
    assert!(matches!(again, PgError::AlreadyExists { .. }), "{again}");
    assert!(
        again
            .to_string()
            .starts_with("role ret_hub1_owner already exists"),
        "{again}"
    );
    owner
        .connect()
        .expect("the existing role keeps its password");

    cluster.stop().unwrap();
    assert!(!cluster.is_running());
    let reopened = EmbeddedCluster::open(&dir).unwrap();
    assert_eq!(reopened, cluster);
    reopened.start().unwrap();
    assert_eq!(
        hubkeep_pg::database_user_objects(&owner).unwrap(),
        vec!["schema ret0"]
    );
    hubkeep_pg::drop_database(&admin, "ret_hub1").unwrap();
    reopened.remove().unwrap();
    assert!(!dir.exists());
}

#[test]
fn cluster_under_a_closed_directory_is_refused_with_the_chmod_to_run() {
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipping: only root runs clusters as another user");
        return;
    }
    let home = tempfile::tempdir().unwrap();
    std::fs::set_permissions(home.path(), std::fs::Permissions::from_mode(0o700)).unwrap(); // like /root
    let dir = home.path().join("hubkeep/clusters/hub1");
    let err = check_reachable_by_postgres(&dir).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains(&format!("run `chmod o+x {}`", home.path().display())),
        "{msg}"
    );
    assert!(msg.contains("--home"), "{msg}");
    let err = EmbeddedCluster::init(&dir, "pw").unwrap_err();
    assert!(matches!(err, PgError::NotReachable { .. }), "{err}");
}

#[test]
fn snapshot_can_be_restored_by_hand_with_psql_as_the_format_doc_says() {
    let Some(src) = TestCluster::start() else {
        return;
    };
    let conn = src.create_db("ret_production");
    src.exec("ret_production", HUBS_SCHEMA);
    src.exec(
        "ret_production",
        "CREATE SEQUENCE ret0.table_id_seq; SELECT setval('ret0.table_id_seq', 777);",
    );
    let mut store = MemStore::default();
    let meta = create_snapshot(&conn, &mut store, &SnapshotOptions::default()).unwrap();
    let target = src.create_db("by_hand");

    let psql = |stdin: &[u8], extra: &[&str]| {
        let mut child = Command::new("/usr/lib/postgresql/15/bin/psql")
            .env("PGHOST", "127.0.0.1")
            .env("PGPORT", target.port.to_string())
            .env("PGUSER", "postgres")
            .env("PGPASSWORD", PASSWORD)
            .env("PGDATABASE", "by_hand")
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1"])
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        use std::io::Write;
        child.stdin.take().unwrap().write_all(stdin).unwrap();
        assert!(child.wait().unwrap().success());
    };
    // The order of docs/snapshot-format.md, "Restoring with psql".
    psql(
        &store.get("roles.sql"),
        &["--single-transaction", "-f", "-"],
    );
    psql(
        &store.get("pre-data.sql"),
        &["--single-transaction", "-f", "-"],
    );
    for t in &meta.tables {
        let cols = t
            .columns
            .iter()
            .map(|c| format!("\"{c}\""))
            .collect::<Vec<_>>()
            .join(", ");
        let copy = format!(
            "\\copy \"{}\".\"{}\" ({cols}) FROM pstdin",
            t.schema, t.name
        );
        psql(&store.get(&t.stream), &["-c", &copy]);
    }
    psql(
        &store.get("post-data.sql"),
        &["--single-transaction", "-f", "-"],
    );
    psql(&store.get("sequences.sql"), &["-f", "-"]);
    psql(&store.get("database-settings.sql"), &["-f", "-"]);

    assert_eq!(
        common::table_checksums(&conn),
        common::table_checksums(&target)
    );
    assert_eq!(common::schema_dump(&conn), common::schema_dump(&target));
    assert_eq!(
        common::sequence_values(&conn),
        common::sequence_values(&target)
    );
}
