//! Backing up and restoring directory trees and streams, locally and on S3.

mod common;

use std::fs;
use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use common::*;
use hubkeep_store::testing::SeaweedFs;
use hubkeep_vault::{BackupOptions, Progress, RestoreOptions, Vault, VaultError};

#[derive(Default)]
struct Counter {
    total: AtomicU64,
    done: AtomicU64,
}

impl Progress for Counter {
    fn start(&self, total_bytes: u64) {
        self.total.store(total_bytes, Ordering::SeqCst);
    }
    fn advance(&self, bytes: u64) {
        self.done.fetch_add(bytes, Ordering::SeqCst);
    }
}

fn round_trip(vault: &Vault, work: &std::path::Path) {
    let src = work.join("src");
    edge_case_tree(&src);
    let progress = Arc::new(Counter::default());
    let opts = BackupOptions {
        progress: Some(progress.clone()),
        ..Default::default()
    };
    let summary = vault.backup_dir(&src, &opts).unwrap();
    assert_eq!(
        progress.total.load(Ordering::SeqCst),
        progress.done.load(Ordering::SeqCst)
    );
    assert_eq!(
        summary.bytes_read, summary.bytes,
        "a first backup reads every byte"
    );
    assert!(
        summary.bytes_stored < summary.bytes,
        "text compresses: {summary:?}"
    );
    assert_eq!(
        (summary.files, summary.dirs, summary.symlinks),
        (10, 5, 3),
        "{summary:?}"
    );

    let dst = work.join("restored");
    let restored = vault
        .restore_dir(&summary.id, &dst, &RestoreOptions::default())
        .unwrap();
    assert_eq!(restored.files, 10);
    assert!(restored.damaged_files.is_empty());
    assert_same_tree(&src, &dst);
    assert!(vault.verify(None, true).unwrap().ok());
    unlock(&src);
    unlock(&dst);
}

#[test]
fn round_trip_keeps_contents_modes_times_links_and_odd_names() {
    let dir = tempfile::tempdir().unwrap();
    let (_, created) = local_vault(dir.path());
    round_trip(&created.vault, dir.path());
}

#[test]
fn round_trip_on_s3_seaweedfs() {
    let dir = tempfile::tempdir().unwrap();
    let Some(weed) = SeaweedFs::try_start(dir.path()) else {
        return;
    };
    weed.create_bucket("vault");
    let store = hubkeep_store::open("s3://vault/hub-a", &weed.settings()).unwrap();
    let created = Vault::create(store.clone()).unwrap();
    round_trip(&created.vault, dir.path());
    // A fresh open with only the recovery key sees the same snapshot.
    let reopened = Vault::open(store, &created.recovery_key).unwrap();
    assert_eq!(reopened.list_snapshots().unwrap().len(), 1);
}

#[test]
fn hard_links_are_restored_as_independent_copies() {
    let dir = tempfile::tempdir().unwrap();
    let (_, created) = local_vault(dir.path());
    let src = dir.path().join("src");
    fs::create_dir(&src).unwrap();
    fs::write(src.join("a"), b"same inode").unwrap();
    fs::hard_link(src.join("a"), src.join("b")).unwrap();
    let id = created
        .vault
        .backup_dir(&src, &BackupOptions::default())
        .unwrap()
        .id;
    let dst = dir.path().join("dst");
    created
        .vault
        .restore_dir(&id, &dst, &RestoreOptions::default())
        .unwrap();
    fs::write(dst.join("a"), b"changed").unwrap();
    assert_eq!(fs::read(dst.join("b")).unwrap(), b"same inode");
}

#[test]
fn incremental_backup_reads_only_changed_files() {
    let dir = tempfile::tempdir().unwrap();
    let (_, created) = local_vault(dir.path());
    let vault = created.vault;
    let src = dir.path().join("src");
    fs::create_dir(&src).unwrap();
    for i in 0..20 {
        fs::write(src.join(format!("f{i}")), noise(100_000 + i, i as u64)).unwrap();
    }
    let first = vault.backup_dir(&src, &BackupOptions::default()).unwrap();
    fs::write(src.join("f3"), noise(50_000, 99)).unwrap();
    fs::write(src.join("new"), b"new file").unwrap();
    let opts = BackupOptions {
        parent: Some(first.id.clone()),
        ..Default::default()
    };
    let second = vault.backup_dir(&src, &opts).unwrap();
    assert_eq!(second.files_unchanged, 19);
    assert_eq!(
        second.bytes_read,
        50_000 + 8,
        "only the changed and the new file are read"
    );
    assert_eq!(second.bytes_new, 50_000 + 8);
    assert_eq!(
        vault.snapshot(&second.id).unwrap().parent,
        Some(first.id.clone())
    );
    let dst = dir.path().join("dst");
    vault
        .restore_dir(&second.id, &dst, &RestoreOptions::default())
        .unwrap();
    assert_same_tree(&src, &dst);
    // A touched file (same content, new mtime) is read again but stores nothing new.
    filetime::set_file_mtime(src.join("f5"), filetime::FileTime::from_unix_time(1, 0)).unwrap();
    let third = vault
        .backup_dir(
            &src,
            &BackupOptions {
                parent: Some(second.id),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(third.bytes_read, 100_005);
    assert_eq!(third.bytes_new, 0);
}

#[test]
fn streams_round_trip_with_stats_and_exact_meta() {
    let dir = tempfile::tempdir().unwrap();
    let (store, created) = local_vault(dir.path());
    let meta = serde_json::json!({
        "stack": "hub-a", "region": "local", "big": u64::MAX, "neg": -5, "ratio": 0.1 + 0.2,
        "nested": {"list": [1, "two", null, true]}, "unicode": "ключ 🎉"
    });
    let mut w = created.vault.writer("db", meta.clone()).unwrap();
    let dump = "COPY t (id, name) FROM stdin;\n"
        .repeat(100_000)
        .into_bytes();
    let stats = w
        .add_stream("tables/public.t", &mut dump.as_slice())
        .unwrap();
    assert_eq!(stats.bytes, dump.len() as u64);
    assert_eq!(stats.new_bytes, dump.len() as u64);
    assert!(
        stats.stored_bytes > 0 && stats.stored_bytes < stats.bytes / 10,
        "{stats:?}"
    );
    let again = w.add_stream("tables/copy", &mut dump.as_slice()).unwrap();
    assert_eq!(again.new_bytes, 0, "a repeated stream deduplicates");
    assert!(matches!(
        w.add_stream("../escape", &mut &b""[..]),
        Err(VaultError::InvalidStreamPath { .. })
    ));
    assert!(matches!(
        w.add_stream("tables/copy", &mut &b""[..]),
        Err(VaultError::DuplicatePath { .. })
    ));
    let summary = w.commit().unwrap();

    // A fresh machine: only the location and the recovery key.
    let vault = Vault::open(store, &created.recovery_key).unwrap();
    let info = vault.list_snapshots().unwrap().pop().unwrap();
    assert_eq!(info.id, summary.id);
    assert_eq!(info.kind, "db");
    assert_eq!(info.meta, meta);
    assert_eq!(
        serde_json::to_string(&info.meta).unwrap(),
        serde_json::to_string(&meta).unwrap()
    );
    let mut back = Vec::new();
    vault
        .open_stream(&summary.id, "tables/public.t")
        .unwrap()
        .read_to_end(&mut back)
        .unwrap();
    assert_eq!(back, dump);
    let entries = vault.entries(&summary.id).unwrap();
    assert_eq!(
        entries.iter().map(|e| e.path_lossy()).collect::<Vec<_>>(),
        ["tables/copy", "tables/public.t"]
    );
    assert!(matches!(
        vault.open_stream(&summary.id, "nope"),
        Err(VaultError::EntryNotFound { .. })
    ));
}

#[test]
fn two_concurrent_backups_into_one_vault_both_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let (_, created) = local_vault(dir.path());
    let vault = created.vault;
    let sources: Vec<_> = (0..2)
        .map(|i| {
            let src = dir.path().join(format!("src{i}"));
            fs::create_dir(&src).unwrap();
            fs::write(src.join("shared"), noise(2_000_000, 7)).unwrap();
            fs::write(src.join("own"), noise(20_000_000, 100 + i)).unwrap();
            src
        })
        .collect();
    let ids: Vec<String> = std::thread::scope(|s| {
        let hs: Vec<_> = sources
            .iter()
            .map(|src| s.spawn(|| vault.backup_dir(src, &BackupOptions::default()).unwrap().id))
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(vault.list_snapshots().unwrap().len(), 2);
    for (id, src) in ids.iter().zip(&sources) {
        let dst = dir.path().join(format!("dst-{id}"));
        vault
            .restore_dir(id, &dst, &RestoreOptions::default())
            .unwrap();
        assert_same_tree(src, &dst);
    }
    assert!(vault.verify(None, true).unwrap().ok());
}

#[test]
fn restore_refuses_non_empty_target_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (_, created) = local_vault(dir.path());
    let src = dir.path().join("src");
    fs::create_dir(&src).unwrap();
    fs::write(src.join("a"), b"a").unwrap();
    let id = created
        .vault
        .backup_dir(&src, &BackupOptions::default())
        .unwrap()
        .id;
    let target = dir.path().join("busy");
    fs::create_dir(&target).unwrap();
    fs::write(target.join("keep"), b"mine").unwrap();
    let err = created
        .vault
        .restore_dir(&id, &target, &RestoreOptions::default())
        .unwrap_err();
    assert!(matches!(err, VaultError::TargetNotEmpty { .. }), "{err}");
    assert!(err.to_string().contains("busy"), "{err}");
    assert_eq!(fs::read_dir(&target).unwrap().count(), 1);
    // An existing empty directory is fine.
    let empty = dir.path().join("empty");
    fs::create_dir(&empty).unwrap();
    created
        .vault
        .restore_dir(&id, &empty, &RestoreOptions::default())
        .unwrap();
}
