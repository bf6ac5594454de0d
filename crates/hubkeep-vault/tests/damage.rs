//! Damaged, truncated or foreign objects are found by verify (naming the
//! object, the snapshots and the files) and refused by restore.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::*;
use hubkeep_vault::{BackupOptions, RestoreOptions, Vault, VaultError};

struct Fixture {
    dir: tempfile::TempDir,
    vault: Vault,
    id: String,
    access_key: String,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let (_, created) = local_vault(dir.path());
        let src = dir.path().join("src");
        fs::create_dir(&src).unwrap();
        fs::write(src.join("first.bin"), noise(600_000, 1)).unwrap();
        fs::write(src.join("second.bin"), noise(600_000, 2)).unwrap();
        let id = created
            .vault
            .backup_dir(&src, &BackupOptions::default())
            .unwrap()
            .id;
        Fixture {
            dir,
            vault: created.vault,
            id,
            access_key: created.access_key,
        }
    }

    fn vault_dir(&self) -> PathBuf {
        self.dir.path().join("vault")
    }

    fn only(&self, sub: &str) -> PathBuf {
        let mut all: Vec<_> = fs::read_dir(self.vault_dir().join(sub))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(all.len(), 1, "{sub}: {all:?}");
        all.pop().unwrap()
    }

    fn restore(&self, skip_damaged: bool) -> Result<hubkeep_vault::RestoreSummary, VaultError> {
        let target = self.dir.path().join(format!("restore-{}", rand_suffix()));
        self.vault.restore_dir(
            &self.id,
            &target,
            &RestoreOptions {
                skip_damaged,
                progress: None,
            },
        )
    }
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

fn flip(path: &Path, offset: usize) {
    let mut bytes = fs::read(path).unwrap();
    bytes[offset] ^= 0x40;
    fs::write(path, bytes).unwrap();
}

#[test]
fn a_byte_flip_in_a_pack_is_named_by_verify_and_stops_restore() {
    let f = Fixture::new();
    // The first sealed chunk starts after the 8-byte pack header.
    flip(&f.only("packs"), 100);
    let report = f.vault.verify(None, true).unwrap();
    assert!(!report.ok());
    let p = &report.problems[0];
    assert!(p.object.starts_with("packs/"), "{p:?}");
    assert_eq!(p.snapshots, vec![f.id.clone()]);
    assert_eq!(p.files.len(), 1, "{p:?}");
    let damaged_file = p.files[0].split_once(':').unwrap().1.to_string();

    let err = f.restore(false).unwrap_err();
    assert!(
        matches!(err, VaultError::DamagedFile { ref path, .. } if *path == damaged_file),
        "{err}"
    );
    assert!(err.to_string().contains(&damaged_file));

    let summary = f.restore(true).unwrap();
    assert_eq!(summary.damaged_files, vec![damaged_file]);
    assert_eq!(summary.files, 1, "the intact file is restored");
}

#[test]
fn a_truncated_pack_is_found_without_reading_data() {
    let f = Fixture::new();
    let pack = f.only("packs");
    let len = fs::metadata(&pack).unwrap().len();
    fs::OpenOptions::new()
        .write(true)
        .open(&pack)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    let report = f.vault.verify(None, false).unwrap();
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.object.starts_with("packs/")
                && p.message.contains("truncated")
                && p.snapshots == [f.id.clone()]),
        "{report:?}"
    );
    assert!(f.restore(false).is_err());
}

#[test]
fn a_damaged_index_is_named_with_the_snapshots_it_breaks() {
    let f = Fixture::new();
    let index = f.only("index");
    flip(&index, 40);
    let report = f.vault.verify(None, false).unwrap();
    let p = report
        .problems
        .iter()
        .find(|p| p.object.starts_with("index/"))
        .expect("index problem");
    assert!(p.message.contains("index cannot be read"), "{p:?}");
    assert_eq!(p.snapshots, vec![f.id.clone()]);
    // The tree itself is lost with the index: restore refuses, naming the index.
    let err = f.restore(false).unwrap_err().to_string();
    assert!(err.contains("damaged") || err.contains("cannot"), "{err}");
}

#[test]
fn a_damaged_or_truncated_manifest_is_named_by_verify_and_refused_by_restore() {
    for truncate in [false, true] {
        let f = Fixture::new();
        let manifest = f.only("snapshots");
        if truncate {
            let len = fs::metadata(&manifest).unwrap().len();
            fs::OpenOptions::new()
                .write(true)
                .open(&manifest)
                .unwrap()
                .set_len(len - 3)
                .unwrap();
        } else {
            flip(&manifest, 50);
        }
        let report = f.vault.verify(None, true).unwrap();
        assert_eq!(report.problems.len(), 1, "{report:?}");
        assert_eq!(report.problems[0].object, format!("snapshots/{}", f.id));
        assert_eq!(report.problems[0].snapshots, vec![f.id.clone()]);
        let err = f.restore(false).unwrap_err();
        assert!(matches!(err, VaultError::Corrupt { .. }), "{err}");
        assert!(err.to_string().contains(&f.id), "{err}");
    }
}

#[test]
fn wrong_and_malformed_keys_are_refused_clearly() {
    let f = Fixture::new();
    let store = hubkeep_store::open(
        &format!("file://{}", f.vault_dir().display()),
        &Default::default(),
    )
    .unwrap();
    let other = Vault::create(
        hubkeep_store::open(
            &format!("file://{}/other", f.dir.path().display()),
            &Default::default(),
        )
        .unwrap(),
    )
    .unwrap();
    let err = Vault::open(store.clone(), &other.access_key).unwrap_err();
    assert!(
        matches!(err, VaultError::WrongKey { key_files: 2, .. }),
        "{err}"
    );
    assert!(
        !err.to_string().contains(&other.access_key[5..]),
        "errors never echo keys"
    );
    let err = Vault::open(store.clone(), "hunter2").unwrap_err();
    assert!(matches!(err, VaultError::InvalidKeyText { .. }), "{err}");
    let opened = Vault::open(store, &f.access_key).unwrap();
    assert_eq!(opened.id(), f.vault.id());
}

#[test]
fn a_vault_from_a_newer_format_version_is_refused_naming_both_versions() {
    let f = Fixture::new();
    let config = f.vault_dir().join("config");
    let text = fs::read_to_string(&config)
        .unwrap()
        .replace("\"version\": 1", "\"version\": 2");
    fs::write(&config, text).unwrap();
    let store = hubkeep_store::open(
        &format!("file://{}", f.vault_dir().display()),
        &Default::default(),
    )
    .unwrap();
    let err = Vault::open(store, &f.access_key).unwrap_err();
    assert!(
        matches!(
            err,
            VaultError::UnsupportedVersion {
                found: 2,
                supported: 1,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn creating_a_vault_where_one_exists_is_refused() {
    let f = Fixture::new();
    let store = hubkeep_store::open(
        &format!("file://{}", f.vault_dir().display()),
        &Default::default(),
    )
    .unwrap();
    let err = Vault::create(store).unwrap_err();
    assert!(matches!(err, VaultError::AlreadyExists { .. }), "{err}");
    let empty = hubkeep_store::open(
        &format!("file://{}/nothing", f.dir.path().display()),
        &Default::default(),
    )
    .unwrap();
    assert!(matches!(
        Vault::open(empty, &f.access_key),
        Err(VaultError::NotAVault { .. })
    ));
}

#[test]
fn unknown_and_malformed_snapshot_ids_are_refused() {
    let f = Fixture::new();
    assert!(matches!(
        f.vault.snapshot("20200101T000000Z-00000000"),
        Err(VaultError::SnapshotNotFound { .. })
    ));
    assert!(matches!(
        f.vault.snapshot("../../config"),
        Err(VaultError::InvalidSnapshotId { .. })
    ));
    assert!(matches!(
        f.vault.delete_snapshot("20200101T000000Z-00000000"),
        Err(VaultError::SnapshotNotFound { .. })
    ));
}
