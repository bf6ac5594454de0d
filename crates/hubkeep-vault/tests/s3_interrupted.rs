//! A backup to S3 whose server vanishes mid-way: a clear error, no snapshot,
//! nothing half-visible, and the next backup reuses every pack that made it.

mod common;

use std::fs;

use common::*;
use hubkeep_store::testing::{Proxy, SeaweedFs};
use hubkeep_store::StoreError;
use hubkeep_vault::{BackupOptions, RestoreOptions, Vault, VaultError};

const MIB: usize = 1024 * 1024;

#[test]
fn a_backup_cut_off_from_s3_fails_clearly_and_the_next_one_reuses_what_was_uploaded() {
    let dir = tempfile::tempdir().unwrap();
    let weed = SeaweedFs::try_start(dir.path()).expect("SeaweedFS is needed: set HUBKEEP_WEED");
    weed.create_bucket("vault");
    let direct = hubkeep_store::open("s3://vault/hub", &weed.settings()).unwrap();
    let created = Vault::create(direct.clone()).unwrap();
    let proxy = Proxy::start(weed.s3_port());
    let mut via_proxy = weed.settings();
    via_proxy.endpoint = Some(proxy.endpoint());
    let cut_off = Vault::open(
        hubkeep_store::open("s3://vault/hub", &via_proxy).unwrap(),
        &created.access_key,
    )
    .unwrap();

    // Six packs' worth of incompressible files.
    let src = dir.path().join("src");
    fs::create_dir(&src).unwrap();
    for i in 0..12 {
        fs::write(src.join(format!("f{i:02}")), noise(8 * MIB, i)).unwrap();
    }
    // Past what three packs uploading at once can hold back: at least one
    // pack and its index are durable before the server vanishes.
    proxy.cut_after(80 * MIB as u64);
    let err = cut_off
        .backup_dir(&src, &BackupOptions::default())
        .unwrap_err();
    assert!(proxy.is_cut());
    let msg = err.to_string();
    assert!(
        matches!(err, VaultError::Store(StoreError::Unreachable { .. })),
        "{msg}"
    );
    assert!(msg.contains(&proxy.endpoint()), "names the endpoint: {msg}");
    assert!(created.vault.list_snapshots().unwrap().is_empty());
    assert!(direct.list_temp().unwrap().is_empty());

    let summary = created
        .vault
        .backup_dir(&src, &BackupOptions::default())
        .unwrap();
    assert_eq!(summary.bytes_read, 96 * MIB as u64);
    assert!(
        summary.bytes_new < summary.bytes_read,
        "chunks uploaded before the cut are reused: {summary:?}"
    );
    let dst = dir.path().join("restored");
    created
        .vault
        .restore_dir(&summary.id, &dst, &RestoreOptions::default())
        .unwrap();
    assert_same_tree(&src, &dst);
}
