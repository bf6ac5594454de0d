//! A throwaway PostgreSQL 15 cluster per test, run as the `postgres` OS user
//! on a free loopback port, stopped when dropped. Tests skip (return early)
//! when not run as root, since initdb must be started through `runuser`.

use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = "/usr/lib/postgresql/15/bin";

pub struct Cluster {
    _dir: tempfile::TempDir,
    data: PathBuf,
    pub port: u16,
}

fn run(cmd: &mut Command) {
    let out = cmd.output().expect("run a PostgreSQL tool");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn as_postgres(tool: &str) -> Command {
    let mut cmd = Command::new("runuser");
    cmd.args(["-u", "postgres", "--", &format!("{BIN}/{tool}")]);
    cmd
}

pub use hubkeep_testkit::is_root;

impl Cluster {
    /// Starts a fresh cluster, or returns None (the test skips) when not root.
    pub fn start() -> Option<Cluster> {
        if !is_root() {
            eprintln!("skipping: real-PostgreSQL tests need root (initdb runs through runuser)");
            return None;
        }
        let dir = hubkeep_testkit::throwaway_dir("hubkeep-hubs-test-");
        let data = dir.path().join("data");
        std::fs::create_dir(&data).unwrap();
        run(Command::new("chown").args(["postgres:postgres"]).arg(&data));
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).unwrap();
        run(as_postgres("initdb")
            .args([
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
                "-D",
            ])
            .arg(&data));
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let options = format!(
            "-p {port} -c listen_addresses=127.0.0.1 -k {} -c fsync=off",
            data.display()
        );
        run(as_postgres("pg_ctl")
            .arg("-D")
            .arg(&data)
            .args(["-o", &options, "-l"])
            .arg(data.join("server.log"))
            .args(["-w", "start"]));
        Some(Cluster {
            _dir: dir,
            data,
            port,
        })
    }

    /// A libpq URL for `dbname` as the superuser.
    pub fn url(&self, dbname: &str) -> String {
        format!("postgresql://postgres@127.0.0.1:{}/{dbname}", self.port)
    }

    pub fn client(&self, dbname: &str) -> postgres::Client {
        postgres::Client::connect(&self.url(dbname), postgres::NoTls).unwrap()
    }

    /// Creates an empty database and returns its URL.
    pub fn create_db(&self, dbname: &str) -> String {
        self.client("postgres")
            .batch_execute(&format!("CREATE DATABASE {dbname}"))
            .unwrap();
        self.url(dbname)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = as_postgres("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "-w", "stop"])
            .output();
    }
}

/// Blob and meta paths of an owned file.
pub fn owned_paths(storage: &Path, uuid: &str) -> hubkeep_hubs::FilePaths {
    hubkeep_hubs::file_paths(storage, hubkeep_hubs::StorageArea::Owned, uuid)
}
