//! Test support: real embedded clusters in temp directories, an in-memory
//! stream store standing in for the vault, and comparison helpers.

#![allow(dead_code)] // each test binary uses a different subset

use std::collections::BTreeMap;
use std::io::Read;
use std::process::Command;
use std::sync::Mutex;

use hubkeep_pg::cluster::EmbeddedCluster;
use hubkeep_pg::{ConnInfo, SnapshotSink, SnapshotSource};

pub const PASSWORD: &str = "test-superuser-pw";

/// A started cluster that is stopped and deleted when dropped.
pub struct TestCluster {
    pub cluster: EmbeddedCluster,
    _dir: tempfile::TempDir,
}

impl TestCluster {
    /// None (with a message) when PostgreSQL is not installed here.
    pub fn start() -> Option<TestCluster> {
        if !std::path::Path::new("/usr/lib/postgresql").exists() {
            eprintln!("skipping: PostgreSQL is not installed under /usr/lib/postgresql");
            return None;
        }
        // The postgres OS user must traverse it.
        let dir = hubkeep_testkit::throwaway_dir("hubkeep-pg-test");
        let cluster = EmbeddedCluster::init(&dir.path().join("cluster"), PASSWORD).unwrap();
        cluster.start().unwrap();
        Some(TestCluster { cluster, _dir: dir })
    }

    pub fn admin(&self, db: &str) -> ConnInfo {
        self.cluster.superuser(PASSWORD, db)
    }

    pub fn create_db(&self, name: &str) -> ConnInfo {
        self.exec("postgres", &format!("CREATE DATABASE \"{name}\""));
        self.admin(name)
    }

    pub fn exec(&self, db: &str, sql: &str) {
        let mut c = self.admin(db).connect().unwrap();
        c.batch_execute(sql)
            .unwrap_or_else(|e| panic!("{sql}: {e:?}"));
    }

    pub fn client(&self, db: &str) -> postgres::Client {
        self.admin(db).connect().unwrap()
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        let _ = self.cluster.stop();
    }
}

/// The vault's stand-in: named streams in memory.
#[derive(Default)]
pub struct MemStore {
    pub streams: Mutex<BTreeMap<String, Vec<u8>>>,
    pub order: Mutex<Vec<String>>,
}

impl MemStore {
    pub fn get(&self, name: &str) -> Vec<u8> {
        self.streams
            .lock()
            .unwrap()
            .get(name)
            .cloned()
            .unwrap_or_else(|| panic!("no stream {name}"))
    }

    pub fn names(&self) -> Vec<String> {
        self.order.lock().unwrap().clone()
    }
}

impl SnapshotSink for MemStore {
    fn put_stream(&mut self, name: &str, data: &mut dyn Read) -> std::io::Result<()> {
        let mut buf = Vec::new();
        data.read_to_end(&mut buf)?;
        self.streams.lock().unwrap().insert(name.to_string(), buf);
        self.order.lock().unwrap().push(name.to_string());
        Ok(())
    }
}

impl SnapshotSource for MemStore {
    fn open_stream(&self, name: &str) -> std::io::Result<Box<dyn Read + Send>> {
        let data = self
            .streams
            .lock()
            .unwrap()
            .get(name)
            .cloned()
            .ok_or_else(|| {
                std::io::Error::new(std::io::ErrorKind::NotFound, format!("no stream {name}"))
            })?;
        Ok(Box::new(std::io::Cursor::new(data)))
    }
}

/// `pg_dump --schema-only` of a database, minus the lines that differ
/// between any two dumps (`\restrict` keys).
pub fn schema_dump(conn: &ConnInfo) -> String {
    let out = Command::new("/usr/lib/postgresql/15/bin/pg_dump")
        .env("PGHOST", &conn.host)
        .env("PGPORT", conn.port.to_string())
        .env("PGUSER", &conn.user)
        .env("PGPASSWORD", conn.password.as_deref().unwrap_or(""))
        .env("PGDATABASE", &conn.dbname)
        .arg("--schema-only")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("\\restrict") && !l.starts_with("\\unrestrict"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Per table: row count and an md5 over all rows in a total order.
pub fn table_checksums(conn: &ConnInfo) -> BTreeMap<String, (i64, String)> {
    hubkeep_testkit::table_checksums(&mut conn.connect().unwrap())
}

pub fn sequence_values(conn: &ConnInfo) -> BTreeMap<String, (i64, bool)> {
    let mut c = conn.connect().unwrap();
    let names: Vec<String> = c
        .query(
            "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c
             JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'S'",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    names
        .into_iter()
        .map(|n| {
            let r = c
                .query_one(
                    format!("SELECT last_value, is_called FROM {n}").as_str(),
                    &[],
                )
                .unwrap();
            (n, (r.get(0), r.get(1)))
        })
        .collect()
}

/// Memberships among the given roles, as (role, member, admin) triples.
pub fn memberships(conn: &ConnInfo, roles: &[&str]) -> Vec<(String, String, bool)> {
    let roles: Vec<String> = roles.iter().map(|s| s.to_string()).collect();
    conn.connect()
        .unwrap()
        .query(
            "SELECT r.rolname::text, m.rolname::text, am.admin_option FROM pg_auth_members am
             JOIN pg_roles r ON r.oid = am.roleid JOIN pg_roles m ON m.oid = am.member
             WHERE r.rolname = ANY($1) OR m.rolname = ANY($1) ORDER BY 1, 2",
            &[&roles],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
}

/// Role attributes that a restore carries: (name, can_login, inherit, bypassrls, connlimit).
pub fn role_attributes(conn: &ConnInfo, roles: &[&str]) -> Vec<(String, bool, bool, bool, i32)> {
    let roles: Vec<String> = roles.iter().map(|s| s.to_string()).collect();
    conn.connect()
        .unwrap()
        .query(
            "SELECT rolname::text, rolcanlogin, rolinherit, rolbypassrls, rolconnlimit FROM pg_roles
             WHERE rolname = ANY($1) ORDER BY 1",
            &[&roles],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
        .collect()
}
