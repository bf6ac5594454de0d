//! Crashes, leases, deletion and garbage collection.

mod common;

use std::fs;
use std::path::Path;
use std::time::Duration;

use common::*;
use hubkeep_vault::{BackupOptions, RestoreOptions, Vault, VaultError};

fn dir_bytes(path: &Path) -> u64 {
    fs::read_dir(path)
        .map(|rd| rd.map(|e| e.unwrap().metadata().unwrap().len()).sum())
        .unwrap_or(0)
}

#[test]
fn a_writer_dropped_midway_leaves_no_snapshot_and_its_packs_are_reused() {
    let dir = tempfile::tempdir().unwrap();
    let (_, created) = local_vault(dir.path());
    let vault = created.vault;
    let data = noise(40 * 1024 * 1024, 11);
    {
        let mut w = vault.writer("db", serde_json::Value::Null).unwrap();
        w.add_stream("big", &mut data.as_slice()).unwrap();
        // dropped without commit
    }
    assert!(vault.list_snapshots().unwrap().is_empty());
    assert!(vault.verify(None, true).unwrap().ok());
    assert!(
        fs::read_dir(dir.path().join("vault/locks"))
            .unwrap()
            .next()
            .is_none(),
        "the lease is released"
    );
    let mut w = vault.writer("db", serde_json::Value::Null).unwrap();
    let stats = w.add_stream("big", &mut data.as_slice()).unwrap();
    assert!(
        stats.new_bytes <= stats.bytes - 16 * 1024 * 1024,
        "full packs of the abandoned writer are reused: {stats:?}"
    );
    w.commit().unwrap();
    assert!(vault.verify(None, true).unwrap().ok());
}

#[test]
fn gc_after_delete_frees_space_and_keeps_what_others_need() {
    let dir = tempfile::tempdir().unwrap();
    let (_, created) = local_vault(dir.path());
    let vault = created.vault;
    let src = dir.path().join("src");
    fs::create_dir(&src).unwrap();
    fs::write(src.join("kept"), noise(3_000_000, 1)).unwrap();
    fs::write(src.join("dropped"), noise(20_000_000, 2)).unwrap();
    let old = vault
        .backup_dir(&src, &BackupOptions::default())
        .unwrap()
        .id;
    fs::remove_file(src.join("dropped")).unwrap();
    let new = vault
        .backup_dir(
            &src,
            &BackupOptions {
                parent: Some(old.clone()),
                ..Default::default()
            },
        )
        .unwrap()
        .id;
    vault.delete_snapshot(&old).unwrap();
    let packs = dir.path().join("vault/packs");
    let before = dir_bytes(&packs);

    let report = vault.gc(Duration::from_secs(3600)).unwrap();
    assert_eq!(
        (report.packs_deleted, report.packs_repacked),
        (0, 0),
        "nothing younger than the grace period goes: {report:?}"
    );
    assert_eq!(report.bytes_freed, 0, "{report:?}");
    // (Whether a young unreferenced pack counts in `packs_in_grace` or is a
    // young pack also holding live chunks depends on upload order; the dry
    // run with no grace below shows the grace period is what held >15 MB.)

    // A dry run counts what would go and changes nothing.
    let listing = |sub: &str| -> Vec<(String, u64)> {
        let mut v: Vec<(String, u64)> = fs::read_dir(dir.path().join("vault").join(sub))
            .unwrap()
            .map(|e| e.unwrap())
            .map(|e| (e.file_name().into_string().unwrap(), e.metadata().unwrap().len()))
            .collect();
        v.sort();
        v
    };
    let (packs_before, index_before) = (listing("packs"), listing("index"));
    let dry = vault.gc_dry_run(Duration::ZERO).unwrap();
    assert!(dry.dry_run);
    assert!(dry.packs_deleted + dry.packs_repacked >= 1, "{dry:?}");
    assert!(dry.bytes_freed > 15_000_000, "{dry:?}");
    assert_eq!(listing("packs"), packs_before, "a dry run deletes no pack");
    assert_eq!(listing("index"), index_before, "a dry run deletes no index");

    let report = vault.gc(Duration::ZERO).unwrap();
    assert!(!report.dry_run);
    assert_eq!(
        (report.packs_deleted, report.packs_repacked),
        (dry.packs_deleted, dry.packs_repacked),
        "the dry run said what gc does: {dry:?} vs {report:?}"
    );
    assert!(
        report.packs_deleted + report.packs_repacked >= 1,
        "{report:?}"
    );
    let names = |sub: &str| -> std::collections::BTreeSet<String> {
        fs::read_dir(dir.path().join("vault").join(sub))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect()
    };
    assert_eq!(
        names("packs"),
        names("index"),
        "every pack gc kept or wrote keeps its index"
    );
    let after = dir_bytes(&packs);
    assert!(
        after < before - 15_000_000,
        "space freed: {before} -> {after}"
    );
    assert!(vault.verify(None, true).unwrap().ok());
    let dst = dir.path().join("dst");
    vault
        .restore_dir(&new, &dst, &RestoreOptions::default())
        .unwrap();
    assert_same_tree(&src, &dst);
}

#[test]
fn gc_refuses_while_a_backup_holds_its_lease() {
    let dir = tempfile::tempdir().unwrap();
    let (_, created) = local_vault(dir.path());
    let vault = created.vault;
    let writer = vault.writer("files", serde_json::Value::Null).unwrap();
    let err = vault.gc(Duration::ZERO).unwrap_err();
    assert!(matches!(err, VaultError::LeaseHeld { .. }), "{err}");
    assert!(err.to_string().contains("retry"), "{err}");
    drop(writer);
    vault.gc(Duration::ZERO).unwrap();
}

#[test]
fn a_backup_refuses_to_start_while_gc_runs() {
    let dir = tempfile::tempdir().unwrap();
    let (store, created) = local_vault(dir.path());
    let expires = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 60;
    store
        .put(
            "locks/gc-0000000000000000",
            format!(r#"{{"role":"gc","expires":{expires},"pid":1}}"#).as_bytes(),
        )
        .unwrap();
    let err = created
        .vault
        .writer("files", serde_json::Value::Null)
        .unwrap_err();
    assert!(matches!(err, VaultError::GcRunning { .. }), "{err}");
    // An expired gc lease (a crashed gc) no longer blocks.
    store
        .put(
            "locks/gc-0000000000000000",
            br#"{"role":"gc","expires":1,"pid":1}"#,
        )
        .unwrap();
    created
        .vault
        .writer("files", serde_json::Value::Null)
        .unwrap();
}

/// Runs in a child process that the test below kills with SIGKILL.
#[test]
#[ignore = "helper: run by killed_backup_leaves_no_snapshot_and_the_next_one_reuses_its_uploads"]
fn child_backup_process() {
    let (Ok(vault_dir), Ok(key), Ok(src)) = (
        std::env::var("HK_CHILD_VAULT"),
        std::env::var("HK_CHILD_KEY"),
        std::env::var("HK_CHILD_SRC"),
    ) else {
        return;
    };
    let store = hubkeep_store::open(&format!("file://{vault_dir}"), &Default::default()).unwrap();
    let vault = Vault::open(store, &key).unwrap();
    // A source that never ends: the parent kills us mid-stream.
    struct Endless(u64);
    impl std::io::Read for Endless {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.0 += 1;
            let chunk = noise(buf.len().min(1 << 20), self.0);
            buf[..chunk.len()].copy_from_slice(&chunk);
            Ok(chunk.len())
        }
    }
    let mut w = vault.writer("files", serde_json::Value::Null).unwrap();
    let mut file = fs::File::open(Path::new(&src)).unwrap();
    w.add_stream("real", &mut file).unwrap();
    w.add_stream("endless", &mut Endless(0)).unwrap();
    unreachable!("the parent kills this process");
}

#[test]
fn killed_backup_leaves_no_snapshot_and_the_next_one_reuses_its_uploads() {
    let dir = tempfile::tempdir().unwrap();
    let (store, created) = local_vault(dir.path());
    let src = dir.path().join("data.bin");
    let data = noise(36 * 1024 * 1024, 5);
    fs::write(&src, &data).unwrap();
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_backup_process",
            "--ignored",
            "--nocapture",
        ])
        .env("HK_CHILD_VAULT", dir.path().join("vault"))
        .env("HK_CHILD_KEY", &created.access_key)
        .env("HK_CHILD_SRC", &src)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the child has uploaded at least three packs, then kill it.
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while store.list("index/").unwrap().len() < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "child made no progress"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    child.wait().unwrap();

    let vault = created.vault;
    assert!(
        vault.list_snapshots().unwrap().is_empty(),
        "no snapshot without a manifest"
    );
    assert!(vault.verify(None, true).unwrap().ok());
    let mut w = vault.writer("files", serde_json::Value::Null).unwrap();
    let stats = w
        .add_stream("real", &mut fs::File::open(&src).unwrap())
        .unwrap();
    assert!(
        stats.new_bytes < stats.bytes / 2,
        "uploads of the killed backup are reused: {stats:?}"
    );
    w.commit().unwrap();
    assert!(vault.verify(None, true).unwrap().ok());
}
