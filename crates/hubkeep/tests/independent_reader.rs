//! The vault format document is enough to read a vault: an independent
//! reader written from docs/vault-format.md alone, in Python
//! (tests/reader/hkread.py), restores what the binary backs up byte for byte,
//! with modes, owners, times and links, and reads a database snapshot's
//! streams well enough to restore the database from them.

mod common;
use common::*;
use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The Python that runs the reader: `$HUBKEEP_PYTHON`, else the venv that
/// scripts/setup.sh makes. `None` (the test is skipped) only outside CI: in
/// CI a missing reader is a failure, never a silent pass.
fn reader_python() -> Option<PathBuf> {
    let python = std::env::var_os("HUBKEEP_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/opt/hubkeep-venv/bin/python3"));
    let ready = Command::new(&python)
        .args(["-c", "import nacl.bindings, blake3, zstandard"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if ready {
        return Some(python);
    }
    let why = format!(
        "the independent vault reader needs {} with pynacl, blake3 and zstandard: run scripts/setup.sh (or set HUBKEEP_PYTHON)",
        python.display()
    );
    if std::env::var_os("CI").is_some() {
        panic!("{why}");
    }
    eprintln!("skipped: {why}");
    None
}

fn reader_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/reader/hkread.py")
}

/// Runs the reader with the key text on its standard input (never in argv).
fn hkread(python: &Path, args: &[&OsStr], key: &str) -> Output {
    let mut child = Command::new(python)
        .arg(reader_script())
        .args(args)
        .args(["--key-file", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(key.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// The reader's JSON result; panics with its stderr unless it succeeded.
fn hkread_json(python: &Path, args: &[&OsStr], key: &str) -> serde_json::Value {
    let out = hkread(python, args, key);
    assert!(
        out.status.success(),
        "hkread {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn os(s: &str) -> &OsStr {
    OsStr::new(s)
}

fn recovery_key(home: &Home, vault: &str) -> String {
    home.json(&["vault", "recovery-kit", vault, "--yes"])["recovery_key"]
        .as_str()
        .unwrap()
        .to_string()
}

fn vault_dir(home: &Home, vault: &str) -> PathBuf {
    let location = home.json(&["vault", "show", vault])["location"]
        .as_str()
        .unwrap()
        .to_string();
    PathBuf::from(location.strip_prefix("file://").unwrap())
}

/// Sets a path's mtime (and atime) to the nanosecond, on a symlink the link itself.
fn set_mtime(path: &Path, secs: i64, nanos: i64) {
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    let t = libc::timespec {
        tv_sec: secs,
        tv_nsec: nanos,
    };
    let rc = unsafe {
        libc::utimensat(
            libc::AT_FDCWD,
            c.as_ptr(),
            [t, t].as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    assert_eq!(
        rc,
        0,
        "utimensat {}: {}",
        path.display(),
        std::io::Error::last_os_error()
    );
}

fn set_owner(path: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::lchown(path, Some(uid), Some(gid)).unwrap();
}

/// A file store with the cases a reader gets wrong: empty and multi-chunk
/// files (raw and zstd), the same content twice, hard links, symlinks
/// (relative, absolute, dangling), deep and empty and read-only directories,
/// names that are not UTF-8 or hold newlines, special mode bits, foreign
/// owners, times before 1970 and with nanoseconds.
fn edge_case_tree(root: &Path) {
    use std::fs;
    // Over one pack (16 MiB) of raw chunks, so packs split and the largest one holds data only.
    let big = noise(20 * 1024 * 1024 + 4321, 7);
    let text: Vec<u8> = (0..140_000u32)
        .flat_map(|i| {
            format!(
                "row {i:07} value {} checksum {:08x}\n",
                i % 977,
                i.wrapping_mul(2_654_435_761)
            )
            .into_bytes()
        })
        .collect();
    fs::create_dir_all(root.join("deep/a/b/c/d")).unwrap();
    fs::write(root.join("deep/a/b/c/d/big.bin"), &big).unwrap();
    fs::write(root.join("big copy.bin"), &big).unwrap();
    fs::write(root.join("dump.txt"), &text).unwrap();
    fs::hard_link(
        root.join("dump.txt"),
        root.join("deep/hard link to dump.txt"),
    )
    .unwrap();
    fs::write(root.join("empty"), b"").unwrap();
    fs::create_dir_all(root.join("empty dir")).unwrap();
    fs::write(root.join("new\nline ünïcødé"), b"odd name").unwrap();
    fs::write(root.join(OsStr::from_bytes(b"latin1-\xe9")), b"not utf-8").unwrap();
    fs::write(root.join("-starts-with-dash"), b"dash").unwrap();
    fs::write(root.join("n".repeat(255)), b"longest name").unwrap();
    std::os::unix::fs::symlink("deep/a/b/c/d/big.bin", root.join("link")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", root.join("absolute-link")).unwrap();
    std::os::unix::fs::symlink("nowhere/at/all", root.join("deep/dangling")).unwrap();
    fs::write(root.join("setuid"), b"#!/bin/sh\n").unwrap();
    fs::set_permissions(root.join("setuid"), fs::Permissions::from_mode(0o4755)).unwrap();
    fs::write(root.join("read-only"), b"ro").unwrap();
    fs::set_permissions(root.join("read-only"), fs::Permissions::from_mode(0o444)).unwrap();
    fs::set_permissions(root.join("empty"), fs::Permissions::from_mode(0o640)).unwrap();
    fs::create_dir_all(root.join("sticky")).unwrap();
    fs::set_permissions(root.join("sticky"), fs::Permissions::from_mode(0o1777)).unwrap();
    fs::create_dir_all(root.join("locked")).unwrap();
    fs::write(root.join("locked/inside"), b"inside a read-only directory").unwrap();
    set_owner(&root.join("locked/inside"), 1234, 5678);
    set_owner(&root.join("deep/dangling"), 4321, 8765);
    set_mtime(&root.join("empty"), -86_400 * 400, 123_456_789);
    set_mtime(&root.join("dump.txt"), 1_700_000_000, 999_999_999);
    set_mtime(&root.join("link"), 1_600_000_000, 1);
    set_mtime(&root.join("locked/inside"), 1_650_000_000, 42);
    // Directories last, as their entries change their times.
    set_mtime(&root.join("deep/a/b"), 1_500_000_000, 500);
    set_mtime(&root.join("locked"), 1_400_000_000, 7);
    fs::set_permissions(root.join("locked"), fs::Permissions::from_mode(0o555)).unwrap();
}

/// What must survive a restore, per path: kind, permission bits (not for
/// symlinks, whose mode Linux does not keep), owner, mtime, and content or
/// link target.
#[derive(Debug, PartialEq, Eq)]
struct Node {
    kind: &'static str,
    mode: u32,
    uid: u32,
    gid: u32,
    mtime: (i64, i64),
    data: Vec<u8>,
}

fn nodes(root: &Path) -> BTreeMap<Vec<u8>, Node> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<Vec<u8>, Node>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            let m = std::fs::symlink_metadata(&p).unwrap();
            let ft = m.file_type();
            let (kind, data) = if ft.is_symlink() {
                (
                    "symlink",
                    std::fs::read_link(&p)
                        .unwrap()
                        .as_os_str()
                        .as_bytes()
                        .to_vec(),
                )
            } else if ft.is_dir() {
                ("dir", vec![])
            } else {
                ("file", std::fs::read(&p).unwrap())
            };
            let mode = if ft.is_symlink() {
                0
            } else {
                m.mode() & 0o7777
            };
            let rel = p
                .strip_prefix(root)
                .unwrap()
                .as_os_str()
                .as_bytes()
                .to_vec();
            out.insert(
                rel,
                Node {
                    kind,
                    mode,
                    uid: m.uid(),
                    gid: m.gid(),
                    mtime: (m.mtime(), m.mtime_nsec()),
                    data,
                },
            );
            if ft.is_dir() {
                walk(root, &p, out);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn assert_same_tree(restored: &Path, source: &Path, who: &str) {
    let (got, want) = (nodes(restored), nodes(source));
    let paths = |m: &BTreeMap<Vec<u8>, Node>| {
        m.keys()
            .map(|k| String::from_utf8_lossy(k).into_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(paths(&got), paths(&want), "{who}: the same paths");
    for (path, node) in &want {
        assert!(
            got[path] == *node,
            "{who}: {} differs: restored {:?} source {:?}",
            String::from_utf8_lossy(path),
            describe(&got[path]),
            describe(node)
        );
    }
}

fn describe(n: &Node) -> String {
    format!(
        "{} mode {:o} owner {}:{} mtime {:?} {} bytes",
        n.kind,
        n.mode,
        n.uid,
        n.gid,
        n.mtime,
        n.data.len()
    )
}

#[test]
fn independent_reader_restores_a_file_store_backup_byte_for_byte_with_modes_owners_times_and_links()
{
    require_root!();
    let Some(python) = reader_python() else {
        return;
    };
    let home = Home::new();
    let stack = home.json(&["stack", "create", "rdr", "--profile", "generic"]);
    let storage = PathBuf::from(stack["outputs"]["storage_path"].as_str().unwrap());
    edge_case_tree(&storage);
    let job = home.json(&["backup-job", "start", "rdr"]);
    assert_eq!(job["state"], "COMPLETED", "{job}");
    let arn = job["recovery_point_arn"].as_str().unwrap().to_string();
    let point = home.json(&["recovery-point", "show", &arn]);
    let snapshot = point["vault_snapshot_id"].as_str().unwrap().to_string();
    let key = recovery_key(&home, "rdr-daily");
    let vault = vault_dir(&home, "rdr-daily");

    let listed = hkread_json(&python, &[os("list"), vault.as_os_str()], &key);
    let snaps = listed["snapshots"].as_array().unwrap();
    assert_eq!(snaps.len(), 1, "{listed}");
    assert_eq!(snaps[0]["id"], snapshot.as_str());
    assert_eq!(snaps[0]["kind"], "files");
    assert_eq!(
        snaps[0]["foreign"], false,
        "a recovery point's meta is its record"
    );
    assert_eq!(
        snaps[0]["stats"]["files"], point["files"],
        "{listed} {point}"
    );
    assert_eq!(snaps[0]["stats"]["bytes"], point["bytes"]);
    assert!(
        snaps[0]["stats"]["chunks"].as_u64().unwrap() >= 8,
        "the big files are several chunks each: {listed}"
    );

    // The reader and hubkeep both give back the source, exactly.
    let by_reader = home.dir.path().join("by-reader");
    let summary = hkread_json(
        &python,
        &[
            os("restore"),
            vault.as_os_str(),
            os(&snapshot),
            by_reader.as_os_str(),
        ],
        &key,
    );
    assert_eq!(summary["damaged_files"], serde_json::json!([]), "{summary}");
    assert_same_tree(&by_reader, &storage, "the independent reader");
    let by_hubkeep = home.dir.path().join("by-hubkeep");
    home.json(&[
        "restore-job",
        "start",
        &arn,
        "--target",
        by_hubkeep.to_str().unwrap(),
    ]);
    assert_same_tree(&by_hubkeep, &storage, "hubkeep");

    // An incremental backup (unchanged files reuse the parent's chunk lists) reads the same way.
    std::fs::write(storage.join("changed.txt"), b"a new upload").unwrap();
    let second = home.json(&["backup-job", "start", "rdr"]);
    let second_snapshot = home.json(&[
        "recovery-point",
        "show",
        second["recovery_point_arn"].as_str().unwrap(),
    ])["vault_snapshot_id"]
        .as_str()
        .unwrap()
        .to_string();
    let listed = hkread_json(&python, &[os("list"), vault.as_os_str()], &key);
    let second_listed = listed["snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == second_snapshot.as_str())
        .cloned()
        .unwrap();
    assert_eq!(second_listed["parent"], snapshot.as_str(), "{listed}");
    let incremental = home.dir.path().join("incremental");
    hkread_json(
        &python,
        &[
            os("restore"),
            vault.as_os_str(),
            os(&second_snapshot),
            incremental.as_os_str(),
        ],
        &key,
    );
    assert_same_tree(
        &incremental,
        &storage,
        "the independent reader, incremental",
    );

    // Refusals: a non-empty target, the key of another vault (never echoed).
    let out = hkread(
        &python,
        &[
            os("restore"),
            vault.as_os_str(),
            os(&snapshot),
            by_reader.as_os_str(),
        ],
        &key,
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is not empty"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let other_key = home.json(&["vault", "create", "other"])["recovery_key"]
        .as_str()
        .unwrap()
        .to_string();
    let nowhere = home.dir.path().join("nowhere");
    let out = hkread(
        &python,
        &[
            os("restore"),
            vault.as_os_str(),
            os(&snapshot),
            nowhere.as_os_str(),
        ],
        &other_key,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("opens no key file"),
        "{stderr}"
    );
    assert!(
        !stderr.contains(&other_key[5..]) && !nowhere.exists(),
        "{stderr}"
    );

    // Damage: hubkeep and the reader find the same files damaged; the reader
    // refuses a damaged file by name and leaves nothing behind; asked to skip
    // damaged files, it restores every other one exactly.
    flip_byte_in_largest_object(&format!("file://{}", vault.display()));
    let by_hubkeep = home.dir.path().join("hubkeep-skipping");
    let r = home.json(&[
        "restore-job",
        "start",
        &arn,
        "--target",
        by_hubkeep.to_str().unwrap(),
        "--skip-damaged",
    ]);
    let mut theirs: Vec<String> =
        serde_json::from_value(r["summary"]["damaged_files"].clone()).unwrap();
    assert!(!theirs.is_empty(), "{r}");
    let damaged_target = home.dir.path().join("damaged");
    let out = hkread(
        &python,
        &[
            os("restore"),
            vault.as_os_str(),
            os(&snapshot),
            damaged_target.as_os_str(),
        ],
        &key,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("is damaged"),
        "{stderr}"
    );
    assert!(
        theirs.iter().any(|f| stderr.contains(f.as_str())),
        "the error names a damaged file: {stderr} {theirs:?}"
    );
    assert!(
        !damaged_target.exists(),
        "a failed restore leaves no half-written tree"
    );
    let skipping = home.dir.path().join("skipping");
    let out = hkread(
        &python,
        &[
            os("restore"),
            vault.as_os_str(),
            os(&snapshot),
            skipping.as_os_str(),
            os("--skip-damaged"),
        ],
        &key,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let skipped: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut ours: Vec<String> = serde_json::from_value(skipped["damaged_files"].clone()).unwrap();
    ours.sort();
    theirs.sort();
    assert_eq!(
        ours, theirs,
        "the reader and hubkeep find the same files damaged"
    );
    let (got, mut want) = (nodes(&skipping), nodes(&storage));
    want.retain(|path, _| !ours.contains(&String::from_utf8_lossy(path).into_owned()));
    want.remove(b"changed.txt".as_slice());
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>(),
        "every intact file, and no damaged one, is restored"
    );
    for (path, node) in &want {
        if node.kind != "dir" {
            assert!(
                got[path] == *node,
                "{} differs",
                String::from_utf8_lossy(path)
            );
        }
    }
}

/// A snapshot source over the streams the reader wrote out as files.
struct StreamFiles(PathBuf);

impl hubkeep_pg::SnapshotSource for StreamFiles {
    fn open_stream(&self, name: &str) -> std::io::Result<Box<dyn std::io::Read + Send>> {
        Ok(Box::new(std::fs::File::open(self.0.join(name))?))
    }
}

#[test]
fn independent_reader_reads_a_whole_hub_backup_and_its_database_streams_restore_the_database() {
    require_root!();
    let Some(python) = reader_python() else {
        return;
    };
    let home = Home::new();
    let stack = home.json(&["stack", "create", "rdb", "--profile", "generic"]);
    let storage = PathBuf::from(stack["outputs"]["storage_path"].as_str().unwrap());
    std::fs::write(storage.join("scene.glb"), noise(300_000, 3)).unwrap();
    let app_url = superuser_url(&home, "rdb", stack["outputs"]["app_db"].as_str().unwrap());
    let mut app = postgres::Client::connect(&app_url, postgres::NoTls).unwrap();
    app.batch_execute(
        "CREATE SCHEMA ret0;
         CREATE TABLE ret0.accounts (account_id bigserial PRIMARY KEY, email text, meta jsonb, avatar bytea);
         INSERT INTO ret0.accounts (email, meta, avatar) SELECT 'user' || g || '@exämple.org', jsonb_build_object('n', g), decode(md5(g::text), 'hex') FROM generate_series(1, 120000) g;
         CREATE TABLE ret0.\"Odd Name\" (line text); INSERT INTO ret0.\"Odd Name\" SELECT 'line ' || g FROM generate_series(1, 50) g;
         CREATE TABLE ret0.empty (x int);",
    )
    .unwrap();
    let set = home.json(&["backup", "rdb"]);
    let snap_id = set["db_snapshot_id"].as_str().unwrap().to_string();
    let db_snap = home.json(&["db-snapshot", "show", &snap_id]);
    let db_vault_snapshot = db_snap["vault_snapshot_id"].as_str().unwrap().to_string();
    let key = recovery_key(&home, "rdb-daily");
    let vault = vault_dir(&home, "rdb-daily");

    let listed = hkread_json(&python, &[os("list"), vault.as_os_str()], &key);
    let mut kinds: Vec<(String, bool)> = listed["snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["kind"].as_str().unwrap().to_string(),
                s["foreign"].as_bool().unwrap(),
            )
        })
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            ("backup-set".into(), false),
            ("db-snapshot".into(), false),
            ("files".into(), false)
        ],
        "{listed}"
    );
    let set_snapshot = listed["snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "backup-set")
        .unwrap();
    assert_eq!(
        set_snapshot["stats"],
        serde_json::json!({"files": 0, "dirs": 0, "symlinks": 0, "bytes": 0, "chunks": 0}),
        "a backup set has an empty tree"
    );
    assert!(
        !String::from_utf8_lossy(&hkread(&python, &[os("list"), vault.as_os_str()], &key).stdout)
            .contains("password"),
        "listing prints no meta, so no key bundle"
    );

    // The streams, meta.json among them, are file entries the reader extracts.
    let streams = home.dir.path().join("streams");
    let summary = hkread_json(
        &python,
        &[
            os("restore"),
            vault.as_os_str(),
            os(&db_vault_snapshot),
            streams.as_os_str(),
        ],
        &key,
    );
    assert_eq!(
        summary["dirs"], 0,
        "stream snapshots have no directory entries: {summary}"
    );
    let meta_bytes = std::fs::read(streams.join("meta.json")).unwrap();
    let meta: hubkeep_pg::SnapshotMeta = serde_json::from_slice(&meta_bytes).unwrap();
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&meta_bytes).unwrap(),
        db_snap["metadata"],
        "meta.json is what the catalog records"
    );
    let accounts = meta.tables.iter().find(|t| t.name == "accounts").unwrap();
    assert_eq!(accounts.rows, 120_000);
    assert!(
        accounts.bytes > 8 * 1024 * 1024,
        "the accounts stream spans several chunks ({} bytes)",
        accounts.bytes
    );
    for name in meta
        .scripts
        .iter()
        .map(|s| s.name.clone())
        .chain(meta.tables.iter().map(|t| t.stream.clone()))
    {
        let m = std::fs::metadata(streams.join(&name)).unwrap();
        assert_eq!(m.mode() & 0o7777, 0o600, "{name}");
    }
    let problems = hubkeep_pg::verify_streams(&StreamFiles(streams.clone()), &meta).unwrap();
    assert!(
        problems.is_empty(),
        "every stream's size, BLAKE3 and row count match meta.json: {problems:?}"
    );

    // And those streams restore the database.
    let mut admin =
        postgres::Client::connect(&superuser_url(&home, "rdb", "postgres"), postgres::NoTls)
            .unwrap();
    admin.batch_execute("CREATE DATABASE from_reader").unwrap();
    let target =
        hubkeep_pg::ConnInfo::parse_url(&superuser_url(&home, "rdb", "from_reader")).unwrap();
    hubkeep_pg::restore_snapshot(
        &StreamFiles(streams),
        &meta,
        &target,
        &hubkeep_pg::RestoreOptions::default(),
    )
    .unwrap();
    assert_eq!(
        table_checksums(&superuser_url(&home, "rdb", "from_reader")),
        table_checksums(&app_url)
    );

    // The set's recovery point is there too.
    let files_snapshot = home.json(&[
        "recovery-point",
        "show",
        set["recovery_point_arn"].as_str().unwrap(),
    ])["vault_snapshot_id"]
        .as_str()
        .unwrap()
        .to_string();
    let files = home.dir.path().join("files");
    hkread_json(
        &python,
        &[
            os("restore"),
            vault.as_os_str(),
            os(&files_snapshot),
            files.as_os_str(),
        ],
        &key,
    );
    assert_eq!(tree(&files), tree(&storage));
}

/// The reader's own checks against vaults crafted with the real key, one lie
/// each (tests/reader/test_hkread.py): sizes and lengths that do not add up,
/// a lying duplicate that sorts first, an index entry wider than its field,
/// a zstd bomb, escaping paths, a tree out of path order, an unknown
/// version, foreign snapshots.
#[test]
fn independent_reader_refuses_every_lie_of_a_crafted_vault() {
    let Some(python) = reader_python() else {
        return;
    };
    let out = Command::new(&python)
        .args(["-m", "unittest", "-v", "test_hkread"])
        .current_dir(reader_script().parent().unwrap())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the reader's checks failed:\n{stderr}"
    );
    assert!(
        stderr.contains("Ran 13 tests") && stderr.trim_end().ends_with("OK"),
        "{stderr}"
    );
}
