//! A database with the awkward parts of real schemas, snapshotted and
//! restored into a fresh cluster, must come back identical.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use common::{MemStore, TestCluster};
use hubkeep_pg::{
    create_snapshot, restore_snapshot, verify_streams, RestoreOptions, SnapshotMeta,
    SnapshotOptions,
};

const SCHEMA: &str = r#"
CREATE ROLE rt_reader NOLOGIN;
CREATE ROLE rt_writer NOLOGIN CONNECTION LIMIT 7;
GRANT rt_reader TO rt_writer;
CREATE ROLE rt_app LOGIN PASSWORD 'app-pw';
GRANT rt_writer TO rt_app WITH ADMIN OPTION;
CREATE ROLE rt_owner NOLOGIN NOINHERIT BYPASSRLS;
ALTER ROLE rt_reader SET statement_timeout = '10s';
CREATE ROLE rt_unrelated NOLOGIN;

CREATE SCHEMA app AUTHORIZATION rt_owner;
CREATE SCHEMA audit;
CREATE SCHEMA "Mixed Case";
CREATE EXTENSION IF NOT EXISTS plpgsql;

CREATE TYPE app.mood AS ENUM ('happy', 'sad', 'ünïcode');

CREATE TABLE app.accounts (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL UNIQUE,
    mood app.mood,
    balance numeric(12,2) NOT NULL DEFAULT 0,
    cents bigint GENERATED ALWAYS AS ((balance * 100)::bigint) STORED,
    updated_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE app.accounts OWNER TO rt_owner;

CREATE TABLE app.entries (
    account_id bigint NOT NULL REFERENCES app.accounts(id),
    seq int NOT NULL,
    payload jsonb,
    blob bytea,
    note text,
    span interval,
    at timestamptz,
    ratio double precision,
    PRIMARY KEY (account_id, seq)
);

CREATE TABLE audit.events (
    happened date NOT NULL,
    id serial,
    what text,
    PRIMARY KEY (happened, id)
) PARTITION BY RANGE (happened);
CREATE TABLE audit.events_2024 PARTITION OF audit.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE audit.events_2025 PARTITION OF audit.events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE audit.events_other PARTITION OF audit.events DEFAULT;

CREATE TABLE audit.log_nopk (line text, n int);

CREATE TABLE "Mixed Case"."Odd ""Name""" ("Key" int PRIMARY KEY, "select" text);

CREATE TABLE app.secrets (id int PRIMARY KEY, owner_name text, secret text);
ALTER TABLE app.secrets ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.secrets FORCE ROW LEVEL SECURITY;
CREATE POLICY only_mine ON app.secrets USING (owner_name = current_user);

CREATE SEQUENCE app.ticket_seq START 1000 INCREMENT 5;
CREATE SEQUENCE app.unused_seq;

CREATE VIEW app.rich AS SELECT id, name, balance FROM app.accounts WHERE balance > 100;
CREATE MATERIALIZED VIEW app.mood_counts AS SELECT mood, count(*) AS n FROM app.accounts GROUP BY mood;

CREATE FUNCTION app.touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN NEW.updated_at := '2000-01-01'; RETURN NEW; END $$;
CREATE TRIGGER accounts_touch BEFORE UPDATE ON app.accounts FOR EACH ROW EXECUTE FUNCTION app.touch();

CREATE INDEX entries_payload ON app.entries USING gin (payload);
COMMENT ON TABLE app.accounts IS 'money, not honey';

GRANT USAGE ON SCHEMA app TO rt_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA app TO rt_reader;
GRANT INSERT, UPDATE ON app.entries TO rt_writer;
GRANT SELECT (id, owner_name) ON app.secrets TO rt_writer;
GRANT EXECUTE ON FUNCTION app.touch() TO rt_writer;
ALTER DEFAULT PRIVILEGES IN SCHEMA audit GRANT SELECT ON TABLES TO rt_reader;
REVOKE CONNECT ON DATABASE src FROM PUBLIC;
GRANT CONNECT ON DATABASE src TO rt_reader;
ALTER DATABASE src SET search_path = "$user", app, public;
ALTER ROLE rt_app IN DATABASE src SET work_mem = '8MB';
ALTER DATABASE src CONNECTION LIMIT 50;
"#;

const DATA: &str = r#"
INSERT INTO app.accounts (name, mood, balance)
  SELECT 'acct ' || i, (ARRAY['happy','sad','ünïcode']::app.mood[])[1 + i % 3], i * 3.5
  FROM generate_series(1, 500) i;
UPDATE app.accounts SET balance = balance + 1 WHERE id % 7 = 0;
INSERT INTO app.entries
  SELECT a, s,
         jsonb_build_object('k', s, 'nested', jsonb_build_array(a, 'tab\there', 'quote"')),
         decode(md5(a::text || s::text), 'hex') || '\x00ff5c0a'::bytea,
         E'line one\nline two\twith tab \\ backslash ✓ 日本語',
         make_interval(days => s, secs => a / 7.0),
         '2024-03-01 12:00:00+00'::timestamptz + s * interval '1 hour',
         1.0 / (s + 3)
  FROM generate_series(1, 500) a, generate_series(1, 4) s;
INSERT INTO app.entries (account_id, seq) VALUES (1, 99);
INSERT INTO audit.events (happened, what)
  SELECT date '2024-06-01' + (i * 3), 'event ' || i FROM generate_series(1, 300) i;
INSERT INTO audit.log_nopk VALUES ('dup', 1), ('dup', 1), (NULL, NULL), ('', 0), (E'\\N', 2);
INSERT INTO "Mixed Case"."Odd ""Name""" VALUES (1, 'from'), (2, NULL);
INSERT INTO app.secrets VALUES (1, 'alice', 's1'), (2, 'bob', 's2');
SELECT setval('app.ticket_seq', 4242);
SELECT nextval('app.ticket_seq');
REFRESH MATERIALIZED VIEW app.mood_counts;
"#;

fn snapshot_of_rich_database(src: &TestCluster) -> (MemStore, SnapshotMeta, Vec<String>) {
    let conn = src.create_db("src");
    src.exec("src", SCHEMA);
    src.exec("src", DATA);
    let mut store = MemStore::default();
    let lines = Arc::new(Mutex::new(Vec::new()));
    let seen = lines.clone();
    let opts = SnapshotOptions {
        role_passwords: BTreeMap::from([("rt_app".to_string(), "app-pw".to_string())]),
        progress: Some(Arc::new(move |l: &str| {
            seen.lock().unwrap().push(l.to_string())
        })),
        ..SnapshotOptions::default()
    };
    let meta = create_snapshot(&conn, &mut store, &opts).unwrap();
    let progress = lines.lock().unwrap().clone();
    (store, meta, progress)
}

#[test]
fn restored_database_equals_the_source() {
    let Some(src) = TestCluster::start() else {
        return;
    };
    let Some(dst) = TestCluster::start() else {
        return;
    };
    let (store, meta, progress) = snapshot_of_rich_database(&src);
    let source_conn = src.admin("src");

    // Leaf partitions only, every table with data, PKs detected.
    let names: Vec<String> = meta.tables.iter().map(|t| t.display_name()).collect();
    assert!(
        names.contains(&"audit.events_2024".to_string()),
        "{names:?}"
    );
    assert!(
        !names.contains(&"audit.events".to_string()),
        "partitioned parent has no data of its own"
    );
    assert!(
        !names
            .iter()
            .any(|n| n.contains("rich") || n.contains("mood_counts")),
        "views carry no data"
    );
    let nopk = meta.tables.iter().find(|t| t.name == "log_nopk").unwrap();
    assert!(!nopk.has_pk && nopk.rows == 5);
    let accounts = meta.tables.iter().find(|t| t.name == "accounts").unwrap();
    assert!(
        !accounts.columns.contains(&"cents".to_string()),
        "generated columns are not copied"
    );
    assert_eq!(meta.total_rows(), 500 + 2001 + 300 + 5 + 2 + 2);
    assert!(
        progress
            .iter()
            .any(|l| l.starts_with("table app.accounts (")),
        "{progress:?}"
    );
    assert_eq!(
        store.names().last().map(String::as_str),
        Some("meta.json"),
        "metadata is written last"
    );
    let stored: SnapshotMeta = serde_json::from_slice(&store.get("meta.json")).unwrap();
    assert_eq!(stored, meta);
    assert!(verify_streams(&store, &meta).unwrap().is_empty());

    // Only referenced roles, with memberships followed; no clear passwords anywhere.
    let role_names: Vec<&str> = meta.roles.iter().map(|r| r.name.as_str()).collect();
    for r in ["rt_reader", "rt_writer", "rt_app", "rt_owner"] {
        assert!(role_names.contains(&r), "{r} missing from {role_names:?}");
    }
    assert!(!role_names.contains(&"rt_unrelated"));
    let everything: Vec<u8> = store
        .streams
        .lock()
        .unwrap()
        .values()
        .flatten()
        .copied()
        .collect();
    assert!(!String::from_utf8_lossy(&everything).contains("app-pw"));

    let target = dst.create_db("restored");
    let lines = Arc::new(Mutex::new(Vec::new()));
    let seen = lines.clone();
    let report = restore_snapshot(
        &store,
        &meta,
        &target,
        &RestoreOptions {
            jobs: 3,
            progress: Some(Arc::new(move |l: &str| {
                seen.lock().unwrap().push(l.to_string())
            })),
            ..Default::default()
        },
    )
    .unwrap();
    // Keys and indexes of tables with data were built right after their
    // data, by the workers; the partitioned parent's waited for the end.
    let restore_progress = lines.lock().unwrap().clone();
    for table in ["app.accounts", "app.entries", "audit.events_2024"] {
        let built = format!("indexes and keys of table {table}");
        let loaded = restore_progress
            .iter()
            .position(|l| l.starts_with(&format!("table {table} (")));
        let built_at = restore_progress.iter().position(|l| *l == built);
        assert!(
            loaded.is_some() && built_at > loaded,
            "{built} after its data: {restore_progress:?}"
        );
        assert!(
            built_at
                < restore_progress
                    .iter()
                    .position(|l| l == "post-data schema"),
            "{restore_progress:?}"
        );
    }
    assert!(!restore_progress
        .iter()
        .any(|l| l == "indexes and keys of table audit.events"));
    assert_eq!(report.rows, meta.total_rows());
    assert!(report
        .tables
        .iter()
        .all(|t| t.expected_rows == t.restored_rows));
    assert_eq!(
        report.roles_created,
        vec!["rt_app", "rt_owner", "rt_reader", "rt_writer"],
        "the superuser postgres already exists and is left alone"
    );

    let source_schema = common::schema_dump(&source_conn);
    for object in [
        "CREATE TRIGGER accounts_touch",
        "CREATE POLICY only_mine",
        "ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA audit GRANT SELECT ON TABLES",
        "GRANT SELECT(owner_name) ON TABLE app.secrets TO rt_writer",
        "ALTER TABLE ONLY app.secrets FORCE ROW LEVEL SECURITY",
        "FOREIGN KEY (account_id) REFERENCES app.accounts(id)",
        "ATTACH PARTITION audit.events_2025",
        "COMMENT ON TABLE app.accounts",
    ] {
        assert!(
            source_schema.contains(object),
            "the comparison must cover {object}:\n{source_schema}"
        );
    }
    assert_eq!(source_schema, common::schema_dump(&target));
    assert_eq!(
        common::table_checksums(&source_conn),
        common::table_checksums(&target)
    );
    assert_eq!(
        common::sequence_values(&source_conn),
        common::sequence_values(&target)
    );
    let roles = ["rt_reader", "rt_writer", "rt_app", "rt_owner"];
    assert_eq!(
        common::memberships(&source_conn, &roles),
        common::memberships(&target, &roles)
    );
    assert_eq!(
        common::role_attributes(&source_conn, &roles),
        common::role_attributes(&target, &roles)
    );

    // Database-level settings and privileges came along under the new name.
    let mut t = target.connect().unwrap();
    let settings: Vec<String> = t
        .query(
            "SELECT coalesce(r.rolname, '') || ':' || array_to_string(s.setconfig, ',')
             FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase
             LEFT JOIN pg_roles r ON r.oid = s.setrole WHERE d.datname = 'restored' ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        settings,
        vec![":search_path=\"$user\", app, public", "rt_app:work_mem=8MB"]
    );
    let (limit, connect_public, connect_reader): (i32, bool, bool) = {
        let r = t
            .query_one(
                "SELECT datconnlimit, has_database_privilege('public', 'restored', 'CONNECT'),
                        has_database_privilege('rt_reader', 'restored', 'CONNECT')
                 FROM pg_database WHERE datname = 'restored'",
                &[],
            )
            .unwrap();
        (r.get(0), r.get(1), r.get(2))
    };
    assert_eq!((limit, connect_public, connect_reader), (50, false, true));

    // The login role got its password back and can log in; RLS still applies to it.
    let app = hubkeep_pg::ConnInfo {
        user: "rt_app".into(),
        password: Some("app-pw".into()),
        ..target.clone()
    };
    let mut app_client = app
        .connect()
        .expect("restored login role can log in with its password");
    let n: i64 = app_client
        .query_one("SELECT count(*) FROM app.entries", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 2001);
}

#[test]
fn snapshot_restores_into_another_database_of_the_same_cluster() {
    let Some(src) = TestCluster::start() else {
        return;
    };
    let (store, meta, _) = snapshot_of_rich_database(&src);
    let target = src.create_db("copy");
    let report = restore_snapshot(&store, &meta, &target, &RestoreOptions::default()).unwrap();
    assert!(
        report.roles_created.is_empty(),
        "every role already exists: {:?}",
        report.roles_created
    );
    assert_eq!(
        common::table_checksums(&src.admin("src")),
        common::table_checksums(&target)
    );
    // The roles' existing passwords were not touched.
    let app = hubkeep_pg::ConnInfo {
        user: "rt_app".into(),
        password: Some("app-pw".into()),
        ..target.clone()
    };
    app.connect().expect("existing role keeps its password");
}
