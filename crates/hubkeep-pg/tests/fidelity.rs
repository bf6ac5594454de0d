//! Databases no one on the project wrote round-trip: keys with INCLUDE
//! columns of unsortable types, materialized views over tables with forced
//! row-level security, and servers that never answer fail in bounded time.

mod common;

use common::{table_checksums, MemStore, TestCluster};
use hubkeep_pg::{create_snapshot, restore_snapshot, ConnInfo, RestoreOptions, SnapshotOptions};

#[test]
fn primary_key_with_include_columns_of_unsortable_types_sorts_by_its_key_columns_only() {
    let Some(pg) = TestCluster::start() else {
        return;
    };
    let src = pg.create_db("incl");
    pg.exec(
        "incl",
        "CREATE TABLE shapes (id int, b box, note text,
                              PRIMARY KEY (id) INCLUDE (b, note));
         CREATE TABLE places (region text, p point, UNIQUE (region) INCLUDE (p));
         INSERT INTO shapes SELECT 101 - i, box(point(i, i), point(0, 0)), 'n' || i
           FROM generate_series(1, 100) i;
         INSERT INTO places VALUES ('b', point(1, 2)), ('a', NULL);",
    );
    let mut store = MemStore::default();
    let meta = create_snapshot(&src, &mut store, &SnapshotOptions::default()).unwrap();
    let shapes = meta.tables.iter().find(|t| t.name == "shapes").unwrap();
    assert_eq!(shapes.order_by, vec!["id".to_string()]);
    assert_eq!(shapes.physical_order_reason, None);
    let stream = String::from_utf8(store.get(&shapes.stream)).unwrap();
    assert!(stream.starts_with("1\t(100,100),(0,0)\tn100\n"), "{stream}");

    let dst = pg.create_db("incl_restored");
    restore_snapshot(&store, &meta, &dst, &RestoreOptions::default()).unwrap();
    assert_eq!(table_checksums(&src), table_checksums(&dst));
}

#[test]
fn materialized_view_over_a_forced_rls_table_is_refreshed_through_its_policies() {
    let Some(pg) = TestCluster::start() else {
        return;
    };
    let src = pg.create_db("rls");
    pg.exec(
        "rls",
        "CREATE ROLE rls_owner NOLOGIN;
         CREATE TABLE secrets (id int PRIMARY KEY, visible bool NOT NULL);
         INSERT INTO secrets SELECT i, i % 3 = 0 FROM generate_series(1, 30) i;
         ALTER TABLE secrets OWNER TO rls_owner;
         ALTER TABLE secrets ENABLE ROW LEVEL SECURITY;
         ALTER TABLE secrets FORCE ROW LEVEL SECURITY;
         CREATE POLICY only_visible ON secrets USING (visible);
         CREATE MATERIALIZED VIEW visible_secrets AS SELECT id FROM secrets;
         ALTER MATERIALIZED VIEW visible_secrets OWNER TO rls_owner;
         REFRESH MATERIALIZED VIEW visible_secrets;",
    );
    let mut store = MemStore::default();
    let meta = create_snapshot(&src, &mut store, &SnapshotOptions::default()).unwrap();
    let secrets = meta.tables.iter().find(|t| t.name == "secrets").unwrap();
    assert_eq!(secrets.rows, 30, "the snapshot reads past the policy");

    let dst = pg.create_db("rls_restored");
    restore_snapshot(&store, &meta, &dst, &RestoreOptions::default()).unwrap();
    let count = |conn: &ConnInfo| -> i64 {
        conn.connect()
            .unwrap()
            .query_one("SELECT count(*) FROM visible_secrets", &[])
            .unwrap()
            .get(0)
    };
    assert_eq!(count(&dst), 10);
    assert_eq!(count(&src), count(&dst));
    assert_eq!(table_checksums(&src), table_checksums(&dst));
}
