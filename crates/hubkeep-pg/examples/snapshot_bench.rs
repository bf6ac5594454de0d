//! Benchmark of issue 3: hubkeep snapshot and restore against pg_dump and
//! pg_restore on a pgbench database plus a text table, in one run, and the
//! night-over-night new bytes a vault would store.
//!
//! `cargo run --release -p hubkeep-pg --example snapshot_bench -- WORKDIR [SCALE]`
//! (WORKDIR must be traversable by the `postgres` user; default scale 70 ≈ 1.4 GB).
//!
//! The vault is stood in for by its chunking (FastCDC 2020, 256 KiB/1 MiB/
//! 4 MiB, normalization 1) and compression (zstd level 1) of new chunks, on
//! one thread; the real vault spreads that work over both cores.

use std::collections::HashSet;
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use fastcdc::v2020::{FastCDC, Normalization};
use hubkeep_pg::cluster::EmbeddedCluster;
use hubkeep_pg::{
    create_snapshot, restore_snapshot, ConnInfo, RestoreOptions, SnapshotOptions, SnapshotSink,
    SnapshotSource,
};

const PW: &str = "bench-pw";

/// Counts what a vault would store: chunk ids seen before cost nothing.
#[derive(Default)]
struct VaultLike {
    seen: HashSet<[u8; 32]>,
    stored_bytes: u64,
    /// Uncompressed size of the chunks that were new.
    new_raw_bytes: u64,
}

impl VaultLike {
    fn add(&mut self, data: &mut dyn Read) -> std::io::Result<()> {
        const MIN: u32 = 256 * 1024;
        const AVG: u32 = 1024 * 1024;
        const MAX: u32 = 4 * 1024 * 1024;
        let mut buf = vec![0u8; MAX as usize];
        let mut len = 0;
        let mut eof = false;
        loop {
            while !eof && len < buf.len() {
                let n = data.read(&mut buf[len..])?;
                if n == 0 {
                    eof = true;
                }
                len += n;
            }
            if len == 0 {
                return Ok(());
            }
            let cdc =
                FastCDC::with_level_and_seed(&buf[..len], MIN, AVG, MAX, Normalization::Level1, 0);
            let end = cdc.cut(0, len).1;
            let chunk = &buf[..end];
            if self.seen.insert(*blake3::hash(chunk).as_bytes()) {
                self.new_raw_bytes += end as u64;
                self.stored_bytes += zstd::bulk::compress(chunk, 1)?.len().min(end) as u64;
            }
            buf.copy_within(end..len, 0);
            len -= end;
        }
    }
}

impl SnapshotSink for VaultLike {
    fn put_stream(&mut self, _name: &str, data: &mut dyn Read) -> std::io::Result<()> {
        self.add(data)
    }
}

/// Streams as files, for the restore measurement.
struct DirStore(PathBuf);

impl DirStore {
    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name.replace('/', "_"))
    }
}

impl SnapshotSink for DirStore {
    fn put_stream(&mut self, name: &str, data: &mut dyn Read) -> std::io::Result<()> {
        let mut f = fs::File::create(self.path(name))?;
        std::io::copy(data, &mut f)?;
        f.flush()
    }
}

impl SnapshotSource for DirStore {
    fn open_stream(&self, name: &str) -> std::io::Result<Box<dyn Read + Send>> {
        Ok(Box::new(std::io::BufReader::with_capacity(
            1 << 20,
            fs::File::open(self.path(name))?,
        )))
    }
}

struct Discard;

impl SnapshotSink for Discard {
    fn put_stream(&mut self, _name: &str, data: &mut dyn Read) -> std::io::Result<()> {
        std::io::copy(data, &mut std::io::sink()).map(|_| ())
    }
}

fn sh(conn: &ConnInfo, script: &str) -> f64 {
    let started = Instant::now();
    let status = Command::new("sh")
        .arg("-c")
        .arg(script)
        .env("PGHOST", &conn.host)
        .env("PGPORT", conn.port.to_string())
        .env("PGUSER", &conn.user)
        .env("PGPASSWORD", PW)
        .env("PGDATABASE", &conn.dbname)
        .status()
        .unwrap();
    assert!(status.success(), "{script}");
    started.elapsed().as_secs_f64()
}

fn exec(conn: &ConnInfo, sql: &str) {
    conn.connect().unwrap().batch_execute(sql).unwrap();
}

/// Writes out what earlier steps left dirty (shared buffers, page cache), so
/// that a timed restore does not pay for the one before it.
fn settle(admin: &ConnInfo) {
    exec(admin, "CHECKPOINT");
    assert!(Command::new("sync").status().unwrap().success());
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let work = PathBuf::from(args.get(1).expect("usage: snapshot_bench WORKDIR [SCALE]"));
    let scale: u32 = args.get(2).map(|s| s.parse().unwrap()).unwrap_or(70);
    let bin = "/usr/lib/postgresql/15/bin";
    fs::create_dir_all(&work).unwrap();
    let cluster = EmbeddedCluster::init(&work.join("cluster"), PW).unwrap();
    cluster.start().unwrap();
    let admin = cluster.superuser(PW, "postgres");
    let src = admin.with_dbname("bench");
    exec(&admin, "ALTER SYSTEM SET max_wal_size = '4GB'");
    exec(&admin, "ALTER SYSTEM SET checkpoint_timeout = '30min'");
    exec(&admin, "SELECT pg_reload_conf()");
    exec(&admin, "CREATE DATABASE bench");

    let t = sh(
        &src,
        &format!("{bin}/pgbench -q -i -s {scale} >/dev/null 2>&1"),
    );
    exec(
        &src,
        &format!(
            "CREATE TABLE notes (id bigserial PRIMARY KEY, author int NOT NULL, body text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
             INSERT INTO notes (author, body)
               SELECT i % 997, (SELECT string_agg(md5(i::text || '-' || k), ' ') FROM generate_series(1, 12) k) FROM generate_series(1, {}) i;
",
            scale * 7000
        ),
    );
    exec(&src, "VACUUM ANALYZE");
    let size: i64 = src
        .connect()
        .unwrap()
        .query_one("SELECT pg_database_size('bench')", &[])
        .unwrap()
        .get(0);
    println!(
        "database: pgbench -s {scale} + notes, {:.2} GB (built in {t:.0}s)",
        size as f64 / 1e9
    );
    let dumps = work.join("dumps");
    fs::create_dir_all(&dumps).unwrap();
    let d = dumps.display();

    // Snapshot timings.
    let t_fc = sh(&src, &format!("{bin}/pg_dump -Fc -f {d}/bench.dump"));
    let t_fc_zstd = sh(
        &src,
        &format!("{bin}/pg_dump -Fc -Z0 | zstd -q -3 -T2 > {d}/bench.dump.zst"),
    );
    let started = Instant::now();
    let meta = create_snapshot(&src, &mut Discard, &SnapshotOptions::default()).unwrap();
    let t_raw = started.elapsed().as_secs_f64();
    let mut vault = VaultLike::default();
    let started = Instant::now();
    create_snapshot(&src, &mut vault, &SnapshotOptions::default()).unwrap();
    let t_vault = started.elapsed().as_secs_f64();
    let first_stored = vault.stored_bytes;
    println!("snapshot: pg_dump -Fc {t_fc:.1}s | pg_dump -Fc -Z0 | zstd -3 -T2 {t_fc_zstd:.1}s | hubkeep (streams discarded) {t_raw:.1}s | hubkeep + 1-thread CDC/zstd-1 {t_vault:.1}s");
    println!(
        "snapshot size: {:.0} MB of streams, {:.0} MB stored after dedup+zstd-1",
        meta.size_bytes as f64 / 1e6,
        first_stored as f64 / 1e6
    );

    // Restore timings.
    let store_dir = work.join("streams");
    fs::create_dir_all(&store_dir).unwrap();
    let mut files = DirStore(store_dir);
    let meta = create_snapshot(&src, &mut files, &SnapshotOptions::default()).unwrap();
    exec(&admin, "CREATE DATABASE via_pg_restore");
    settle(&admin);
    let t_pg_restore = sh(
        &admin.with_dbname("via_pg_restore"),
        &format!("{bin}/pg_restore -j2 -d via_pg_restore {d}/bench.dump"),
    );
    exec(&admin, "DROP DATABASE via_pg_restore");
    exec(&admin, "CREATE DATABASE via_hubkeep");
    settle(&admin);
    let started = Instant::now();
    let report = restore_snapshot(
        &files,
        &meta,
        &admin.with_dbname("via_hubkeep"),
        &RestoreOptions {
            jobs: 2,
            ..Default::default()
        },
    )
    .unwrap();
    let t_restore = started.elapsed().as_secs_f64();
    println!(
        "restore: pg_restore -j2 {t_pg_restore:.1}s | hubkeep jobs=2 {t_restore:.1}s ({} rows)",
        report.rows
    );
    exec(&admin, "DROP DATABASE via_hubkeep");

    // Night over night: newest 1% of rows updated, 1% appended.
    let plain1 = dumps.join("night1.sql");
    sh(&src, &format!("{bin}/pg_dump -f {}", plain1.display()));
    let n_acc = scale as i64 * 100_000;
    let n_notes = scale as i64 * 7000;
    exec(
        &src,
        &format!(
            "UPDATE pgbench_accounts SET abalance = abalance + 7 WHERE aid > {n_acc} - {n_acc} / 100;
             INSERT INTO pgbench_accounts (aid, bid, abalance, filler)
               SELECT i, 1 + (i - 1) / 100000, 0, '' FROM generate_series({n_acc} + 1, {n_acc} + {n_acc} / 100) i;
             UPDATE notes SET body = body || ' edited' WHERE id > {n_notes} - {n_notes} / 100;
             INSERT INTO notes (author, body)
               SELECT i % 997, (SELECT string_agg(md5(i::text || '-' || k), ' ') FROM generate_series(1, 12) k)
               FROM generate_series({n_notes} + 1, {n_notes} + {n_notes} / 100) i;
             UPDATE pgbench_branches SET bbalance = bbalance + 1;"
        ),
    );
    exec(&src, "VACUUM ANALYZE");
    let before = vault.stored_bytes;
    let first_raw = vault.new_raw_bytes;
    create_snapshot(&src, &mut vault, &SnapshotOptions::default()).unwrap();
    let snapshot_new = vault.stored_bytes - before;
    let snapshot_new_raw = vault.new_raw_bytes - first_raw;
    let plain2 = dumps.join("night2.sql");
    sh(&src, &format!("{bin}/pg_dump -f {}", plain2.display()));
    let mut dump_vault = VaultLike::default();
    dump_vault
        .add(&mut fs::File::open(&plain1).unwrap())
        .unwrap();
    let dump_first = dump_vault.stored_bytes;
    let dump_first_raw = dump_vault.new_raw_bytes;
    dump_vault
        .add(&mut fs::File::open(&plain2).unwrap())
        .unwrap();
    let dump_new = dump_vault.stored_bytes - dump_first;
    let dump_new_raw = dump_vault.new_raw_bytes - dump_first_raw;
    println!(
        "night over night, before compression: hubkeep new chunks {:.1} MB of {:.0} MB ({:.1}%); pg_dump new chunks {:.1} MB of {:.0} MB ({:.1}%)",
        snapshot_new_raw as f64 / 1e6,
        first_raw as f64 / 1e6,
        100.0 * snapshot_new_raw as f64 / first_raw as f64,
        dump_new_raw as f64 / 1e6,
        dump_first_raw as f64 / 1e6,
        100.0 * dump_new_raw as f64 / dump_first_raw as f64
    );
    println!(
        "night over night: hubkeep snapshot adds {:.1} MB = {:.1}% of the first snapshot's {:.0} MB stored; \
         a plain pg_dump adds {:.1} MB = {:.1}% of its first {:.0} MB stored",
        snapshot_new as f64 / 1e6,
        100.0 * snapshot_new as f64 / first_stored as f64,
        first_stored as f64 / 1e6,
        dump_new as f64 / 1e6,
        100.0 * dump_new as f64 / dump_first as f64,
        dump_first as f64 / 1e6
    );
    cluster.remove().unwrap();
    fs::remove_dir_all(Path::new(&work)).ok();
}
