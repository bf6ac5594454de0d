//! Large tables are copied as primary-key ranges by several sessions at
//! once. A user needs three things from that: the restored tables equal the
//! source whatever the key (integers, composite keys, text), a snapshot of
//! an unchanged database is the same bytes as the previous one (so the vault
//! stores nothing new), and rows written while the snapshot runs never mix
//! into it.

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use common::{table_checksums, MemStore, TestCluster};
use hubkeep_pg::{
    create_snapshot, restore_snapshot, ConnInfo, Progress, RestoreOptions, SnapshotMeta,
    SnapshotOptions,
};

/// Three keyed tables of a few hundred kB each, with keys whose order is
/// not their insertion order, and one without a key.
const SCHEMA_AND_DATA: &str = r#"
CREATE SCHEMA shop;
CREATE TABLE shop.orders (
    id bigint PRIMARY KEY,
    customer int NOT NULL,
    note text
);
INSERT INTO shop.orders
  SELECT (i * 7919) % 20011, i % 97, repeat(md5(i::text), 3) FROM generate_series(1, 20000) i;

CREATE TABLE shop.lines (
    region int NOT NULL,
    sku text NOT NULL,
    qty numeric(10,2),
    PRIMARY KEY (region, sku)
);
INSERT INTO shop.lines
  SELECT i % 13, 'sku-' || md5(i::text) || E' \\ ''q"', i / 7.0 FROM generate_series(1, 12000) i;

CREATE TABLE shop."Tags" (
    "Name" varchar(80) PRIMARY KEY,
    hits int
);
INSERT INTO shop."Tags"
  SELECT CASE i % 4 WHEN 0 THEN 'Zeta ' WHEN 1 THEN 'alpha ' WHEN 2 THEN 'Ünïcode ' ELSE 'tab	' END
         || md5(i::text), i FROM generate_series(1, 8000) i;

CREATE TABLE shop.log (at int, what text);
INSERT INTO shop.log SELECT i, 'event ' || i FROM generate_series(1, 3000) i;
"#;

const KEYED: [&str; 3] = ["shop.orders", "shop.lines", "shop.Tags"];

fn capture() -> (Progress, Arc<Mutex<Vec<String>>>) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let seen = lines.clone();
    (
        Arc::new(move |l: &str| seen.lock().unwrap().push(l.to_string())),
        lines,
    )
}

/// A snapshot with ranges of about one page, so every keyed table is split.
fn split_snapshot(conn: &ConnInfo, progress: Progress) -> (MemStore, SnapshotMeta) {
    let mut store = MemStore::default();
    let opts = SnapshotOptions {
        range_bytes: 8192,
        jobs: 3,
        progress: Some(progress),
        ..SnapshotOptions::default()
    };
    let meta = create_snapshot(conn, &mut store, &opts).unwrap();
    (store, meta)
}

fn ranges_of(lines: &[String], table: &str) -> usize {
    let prefix = format!("table {table} in ");
    lines
        .iter()
        .find_map(|l| {
            l.strip_prefix(&prefix)?
                .strip_suffix(" key ranges")?
                .parse()
                .ok()
        })
        .unwrap_or(1)
}

fn restore(src: &TestCluster, name: &str, store: &MemStore, meta: &SnapshotMeta) -> ConnInfo {
    let target = src.create_db(name);
    restore_snapshot(store, meta, &target, &RestoreOptions::default()).unwrap();
    target
}

#[test]
fn tables_split_into_key_ranges_restore_equal_to_the_source() {
    let Some(src) = TestCluster::start() else {
        assert!(std::env::var("CI").is_err(), "PostgreSQL is required in CI");
        return;
    };
    let conn = src.create_db("src");
    src.exec("src", SCHEMA_AND_DATA);
    let (progress, lines) = capture();
    let (split, meta) = split_snapshot(&conn, progress);
    let lines = lines.lock().unwrap().clone();
    for table in KEYED {
        assert!(
            ranges_of(&lines, table) > 4,
            "{table} was not split into key ranges: {lines:?}"
        );
    }
    assert_eq!(
        ranges_of(&lines, "shop.log"),
        1,
        "a table without a key has no ranges"
    );

    // Split or whole, a table's stream is the same bytes: its rows in key order.
    let mut whole = MemStore::default();
    let whole_meta = create_snapshot(
        &conn,
        &mut whole,
        &SnapshotOptions {
            range_bytes: 0,
            ..SnapshotOptions::default()
        },
    )
    .unwrap();
    for t in &meta.tables {
        assert_eq!(
            split.get(&t.stream),
            whole.get(&t.stream),
            "stream {} differs when split",
            t.stream
        );
    }
    assert_eq!(meta.tables, whole_meta.tables);
    let orders = meta.tables.iter().find(|t| t.name == "orders").unwrap();
    assert_eq!(orders.order_by, vec!["id".to_string()]);
    assert_eq!(orders.rows, 20000);

    let restored = restore(&src, "restored", &split, &meta);
    assert_eq!(table_checksums(&restored), table_checksums(&conn));

    // Every table loaded by several sessions at once comes back the same.
    let parallel = src.create_db("restored_in_parallel");
    let (progress, lines) = capture();
    let opts = RestoreOptions {
        jobs: 3,
        parallel_load_bytes: 1,
        progress: Some(progress),
        ..RestoreOptions::default()
    };
    let report = restore_snapshot(&split, &meta, &parallel, &opts).unwrap();
    assert_eq!(report.rows, meta.total_rows());
    assert!(
        lines
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.starts_with("table shop.orders (") && l.ends_with(", 3 sessions)")),
        "{:?}",
        lines.lock().unwrap()
    );
    assert_eq!(table_checksums(&parallel), table_checksums(&conn));
    assert_eq!(common::schema_dump(&parallel), common::schema_dump(&conn));
}

#[test]
fn two_snapshots_of_an_unchanged_database_are_the_same_bytes() {
    let Some(src) = TestCluster::start() else {
        assert!(std::env::var("CI").is_err(), "PostgreSQL is required in CI");
        return;
    };
    let conn = src.create_db("src");
    src.exec("src", SCHEMA_AND_DATA);
    let (first, first_meta) = split_snapshot(&conn, capture().0);
    let (second, second_meta) = split_snapshot(&conn, capture().0);
    assert_eq!(first.names(), second.names());
    for name in first.names() {
        if name == "meta.json" {
            continue; // holds the snapshot's instant
        }
        // pg_dump 15.14+ writes a random `\restrict` key into its scripts.
        let strip = |b: Vec<u8>| -> Vec<String> {
            String::from_utf8(b)
                .unwrap()
                .lines()
                .filter(|l| !l.starts_with("\\restrict") && !l.starts_with("\\unrestrict"))
                .map(str::to_string)
                .collect()
        };
        if name.ends_with(".sql") {
            assert_eq!(strip(first.get(&name)), strip(second.get(&name)), "{name}");
        } else {
            assert!(
                first.get(&name) == second.get(&name),
                "stream {name} changed"
            );
        }
    }
    assert_eq!(first_meta.tables, second_meta.tables);
}

#[test]
fn rows_changed_after_the_ranges_are_planned_stay_out_of_the_snapshot() {
    let Some(src) = TestCluster::start() else {
        assert!(std::env::var("CI").is_err(), "PostgreSQL is required in CI");
        return;
    };
    let conn = src.create_db("src");
    src.exec("src", SCHEMA_AND_DATA);
    let before = table_checksums(&conn);

    // As soon as shop.orders' ranges are planned (before any row is
    // copied), another session updates rows in every range, deletes some,
    // and inserts keys inside and beyond the planned ranges, and commits.
    let writer = conn.clone();
    let changed = Arc::new(AtomicBool::new(false));
    let done = changed.clone();
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = lines.clone();
    let progress: Progress = Arc::new(move |l: &str| {
        seen.lock().unwrap().push(l.to_string());
        if l.starts_with("table shop.orders in ") && !done.swap(true, Ordering::SeqCst) {
            let mut c = writer.connect().unwrap();
            c.batch_execute(
                "BEGIN;
                 UPDATE shop.orders SET note = 'changed', customer = -1 WHERE id % 10 = 3;
                 DELETE FROM shop.orders WHERE id % 10 = 5;
                 INSERT INTO shop.orders SELECT 100000 + i, 1, 'late' FROM generate_series(1, 500) i;
                 UPDATE shop.orders SET id = id + 50000 WHERE id % 10 = 7;
                 UPDATE shop.lines SET qty = -qty WHERE region = 3;
                 COMMIT;",
            )
            .unwrap();
        }
    });
    let (store, meta) = split_snapshot(&conn, progress);
    assert!(
        changed.load(Ordering::SeqCst),
        "{:?}",
        lines.lock().unwrap()
    );
    let after = table_checksums(&conn);
    assert_ne!(after["shop.orders"], before["shop.orders"]);
    assert_ne!(after["shop.lines"], before["shop.lines"]);

    let restored = restore(&src, "restored", &store, &meta);
    let got: BTreeMap<_, _> = table_checksums(&restored);
    assert_eq!(
        got, before,
        "the snapshot holds the rows as they were when it began"
    );
}
