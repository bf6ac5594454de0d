//! A snapshot is one instant even under writes, never hangs behind DDL,
//! never half-succeeds, and a restore never lands on top of existing data.

mod common;

use std::io::Read;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{MemStore, TestCluster};
use hubkeep_pg::{
    create_snapshot, restore_snapshot, PgError, RestoreOptions, SnapshotOptions, SnapshotSink,
};

/// A sink that takes its time, so writers get to run mid-snapshot.
struct SlowSink(MemStore);

impl SnapshotSink for SlowSink {
    fn put_stream(&mut self, name: &str, data: &mut dyn Read) -> std::io::Result<()> {
        std::thread::sleep(Duration::from_millis(400));
        self.0.put_stream(name, data)
    }
}

#[test]
fn snapshot_under_concurrent_transfers_keeps_the_sum_invariant() {
    let Some(pg) = TestCluster::start() else {
        return;
    };
    let conn = pg.create_db("bank");
    pg.exec(
        "bank",
        "CREATE TABLE accounts_a (id int PRIMARY KEY, balance bigint NOT NULL);
         CREATE TABLE accounts_b (id int PRIMARY KEY, balance bigint NOT NULL);
         CREATE TABLE ledger (id bigserial PRIMARY KEY, amount bigint NOT NULL);
         INSERT INTO accounts_a SELECT i, 1000 FROM generate_series(1, 2000) i;
         INSERT INTO accounts_b SELECT i, 1000 FROM generate_series(1, 2000) i;",
    );
    let stop = Arc::new(AtomicBool::new(false));
    let transfers = Arc::new(AtomicU64::new(0));
    let writers: Vec<_> = (0..3)
        .map(|w| {
            let conn = conn.clone();
            let stop = stop.clone();
            let transfers = transfers.clone();
            std::thread::spawn(move || {
                let mut c = conn.connect().unwrap();
                let mut i: i32 = w;
                while !stop.load(Ordering::SeqCst) {
                    i = (i * 7919 + 13) % 2000;
                    let amount = (i % 50 + 1) as i64;
                    // Money moves from B to A; the ledger records it.
                    c.batch_execute(&format!(
                        "BEGIN;
                         UPDATE accounts_b SET balance = balance - {amount} WHERE id = {};
                         UPDATE accounts_a SET balance = balance + {amount} WHERE id = {};
                         INSERT INTO ledger (amount) VALUES ({amount});
                         COMMIT;",
                        i + 1,
                        (i * 31) % 2000 + 1
                    ))
                    .unwrap();
                    transfers.fetch_add(1, Ordering::SeqCst);
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    let before = transfers.load(Ordering::SeqCst);
    let mut sink = SlowSink(MemStore::default());
    let meta = create_snapshot(&conn, &mut sink, &SnapshotOptions::default()).unwrap();
    let during = transfers.load(Ordering::SeqCst) - before;
    stop.store(true, Ordering::SeqCst);
    for w in writers {
        w.join().unwrap();
    }
    assert!(
        during > 20,
        "writers must have run during the snapshot (only {during} transfers)"
    );

    let target = pg.create_db("bank_restored");
    restore_snapshot(&sink.0, &meta, &target, &RestoreOptions::default()).unwrap();
    let mut c = target.connect().unwrap();
    let row = c
        .query_one(
            "SELECT (SELECT sum(balance) FROM accounts_a)::int8, (SELECT sum(balance) FROM accounts_b)::int8,
                    (SELECT coalesce(sum(amount), 0) FROM ledger)::int8",
            &[],
        )
        .unwrap();
    let (a, b, moved): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
    assert_eq!(a + b, 4_000_000, "money was created or lost");
    assert_eq!(
        a - 2_000_000,
        moved,
        "accounts and ledger disagree: tables were read at different instants"
    );
    assert!(moved > 0);
}

#[test]
fn exclusive_lock_held_elsewhere_fails_the_snapshot_with_a_lock_timeout() {
    let Some(pg) = TestCluster::start() else {
        return;
    };
    let conn = pg.create_db("locked");
    pg.exec("locked", "CREATE SCHEMA ret0; CREATE TABLE ret0.hubs (id int PRIMARY KEY); CREATE TABLE ret0.z (id int);");
    let mut holder = pg.client("locked");
    holder
        .batch_execute("SET application_name = 'migration'; BEGIN; LOCK TABLE ret0.hubs IN ACCESS EXCLUSIVE MODE")
        .unwrap();
    let opts = SnapshotOptions {
        lock_timeout: Duration::from_millis(300),
        ..SnapshotOptions::default()
    };
    let started = std::time::Instant::now();
    let err = create_snapshot(&conn, &mut MemStore::default(), &opts).unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the snapshot waited too long"
    );
    let PgError::LockTimeout {
        table, holder: who, ..
    } = &err
    else {
        panic!("expected a lock timeout, got {err}");
    };
    assert_eq!(table, "ret0.hubs");
    assert!(
        who.contains("application migration") && who.contains("AccessExclusiveLock"),
        "{who}"
    );
    assert!(err.to_string().contains("within 300ms"), "{err}");
    holder.batch_execute("ROLLBACK").unwrap();
    // Once the DDL is gone the snapshot works.
    create_snapshot(&conn, &mut MemStore::default(), &opts).unwrap();
}

#[test]
fn restore_refuses_non_empty_database_naming_what_it_holds() {
    let Some(pg) = TestCluster::start() else {
        return;
    };
    let conn = pg.create_db("small");
    pg.exec(
        "small",
        "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1);",
    );
    let mut store = MemStore::default();
    let meta = create_snapshot(&conn, &mut store, &SnapshotOptions::default()).unwrap();
    let target = pg.create_db("busy");
    pg.exec(
        "busy",
        "CREATE SCHEMA ret0; CREATE TABLE ret0.hubs (id int);",
    );
    let err = restore_snapshot(&store, &meta, &target, &RestoreOptions::default()).unwrap_err();
    assert!(matches!(err, PgError::NotEmpty { .. }));
    assert_eq!(
        err.to_string(),
        "database busy is not empty: it holds schema ret0, table ret0.hubs; \
         restore only into an empty database (create a new one)"
    );
    assert_eq!(
        hubkeep_pg::database_user_objects(&target).unwrap().len(),
        2,
        "nothing was added"
    );
}

/// Fails after `limit` bytes of the given stream.
struct FailingSink {
    store: MemStore,
    fail_on: &'static str,
}

impl SnapshotSink for FailingSink {
    fn put_stream(&mut self, name: &str, data: &mut dyn Read) -> std::io::Result<()> {
        if name.starts_with(self.fail_on) {
            let mut first = [0u8; 10];
            data.read_exact(&mut first)?;
            return Err(std::io::Error::other("disk full"));
        }
        self.store.put_stream(name, data)
    }
}

#[test]
fn sink_failing_midway_yields_an_error_and_releases_the_database() {
    let Some(pg) = TestCluster::start() else {
        return;
    };
    let conn = pg.create_db("src");
    pg.exec(
        "src",
        "CREATE TABLE big (id int PRIMARY KEY, pad text);
         INSERT INTO big SELECT i, repeat('x', 200) FROM generate_series(1, 20000) i;",
    );
    for fail_on in ["pre-data", "data/public.big", "post-data"] {
        let mut sink = FailingSink {
            store: MemStore::default(),
            fail_on,
        };
        let err = create_snapshot(&conn, &mut sink, &SnapshotOptions::default()).unwrap_err();
        let PgError::Sink { stream, .. } = &err else {
            panic!("expected a sink error, got {err}");
        };
        assert!(stream.starts_with(fail_on), "{stream}");
        assert!(err.to_string().contains("disk full"), "{err}");
        assert!(
            !sink.store.names().contains(&"meta.json".to_string()),
            "no metadata for a failed snapshot"
        );
    }
    // No session of ours lingers holding locks or the snapshot.
    let mut c = pg.client("src");
    let mut lingering = 1;
    for _ in 0..50 {
        lingering = c
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name IN ('hubkeep', 'pg_dump')
                 AND pid <> pg_backend_pid()",
                &[],
            )
            .unwrap()
            .get::<_, i64>(0);
        if lingering == 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        lingering, 0,
        "snapshot sessions outlived the failed snapshot"
    );
    pg.exec("src", "ALTER TABLE big ADD COLUMN more int");
}

#[test]
fn damaged_table_stream_fails_the_restore_with_a_checksum_error() {
    let Some(pg) = TestCluster::start() else {
        return;
    };
    let conn = pg.create_db("src");
    pg.exec(
        "src",
        "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'a'), (2, 'b');",
    );
    let mut store = MemStore::default();
    let meta = create_snapshot(&conn, &mut store, &SnapshotOptions::default()).unwrap();
    store
        .streams
        .lock()
        .unwrap()
        .insert("data/public.t.copy".into(), b"1\ta\n2\tc\n".to_vec());
    let problems = hubkeep_pg::verify_streams(&store, &meta).unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    let target = pg.create_db("dst");
    let err = restore_snapshot(&store, &meta, &target, &RestoreOptions::default()).unwrap_err();
    let PgError::RestoreUndone { cause, .. } = &err else {
        panic!("{err}");
    };
    assert!(
        matches!(&**cause, PgError::ChecksumMismatch { stream, .. } if stream == "data/public.t.copy"),
        "{err}"
    );
    assert!(hubkeep_pg::database_user_objects(&target)
        .unwrap()
        .is_empty());
}

#[test]
fn database_with_large_objects_is_refused_clearly() {
    let Some(pg) = TestCluster::start() else {
        return;
    };
    let conn = pg.create_db("lo");
    pg.exec("lo", "SELECT lo_from_bytea(0, 'hello')");
    let err =
        create_snapshot(&conn, &mut MemStore::default(), &SnapshotOptions::default()).unwrap_err();
    assert!(
        err.to_string().starts_with(
            "database lo holds 1 large objects, which hubkeep snapshots do not support"
        ),
        "{err}"
    );
}

#[test]
fn table_rows_are_streamed_in_primary_key_order_whatever_the_physical_order() {
    let Some(pg) = TestCluster::start() else {
        return;
    };
    let conn = pg.create_db("ordered");
    pg.exec(
        "ordered",
        "CREATE TABLE t (id int PRIMARY KEY, v text) WITH (fillfactor = 100);
         INSERT INTO t SELECT i, 'v' || i FROM generate_series(1, 1000) i;
         UPDATE t SET v = 'changed' WHERE id IN (1, 500);",
    );
    let mut store = MemStore::default();
    create_snapshot(&conn, &mut store, &SnapshotOptions::default()).unwrap();
    let stream = String::from_utf8(store.get("data/public.t.copy")).unwrap();
    let ids: Vec<i32> = stream
        .lines()
        .map(|l| l.split('\t').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(
        ids,
        (1..=1000).collect::<Vec<_>>(),
        "updated rows must stay in place, or nightly dedup suffers"
    );
    assert!(stream.starts_with("1\tchanged\n2\tv2\n"));
}
