//! Quick throughput measurement of the vault engine on a local directory.
//!
//! `cargo run --release -p hubkeep-vault --example measure -- SRC WORKDIR [backup|restore|all]`
//! backs SRC up into WORKDIR/vault, then restores into WORKDIR/restored, and
//! prints MB/s. Run each phase under `/usr/bin/time -v` to see peak RSS.

use std::path::PathBuf;
use std::time::Instant;

use hubkeep_vault::{BackupOptions, RestoreOptions, Vault};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, src, work, phase @ ..] = args.as_slice() else {
        return Err("usage: measure SRC WORKDIR [backup|incremental|restore|all]".into());
    };
    let (src, work) = (PathBuf::from(src), PathBuf::from(work));
    let phase = phase.first().map(String::as_str).unwrap_or("all");
    let store = hubkeep_store::open(
        &format!("file://{}/vault", work.display()),
        &Default::default(),
    )?;
    let key_file = work.join("key");
    let vault = if key_file.exists() {
        Vault::open(store, &std::fs::read_to_string(&key_file)?)?
    } else {
        let created = Vault::create(store)?;
        std::fs::write(&key_file, &created.access_key)?;
        created.vault
    };
    let mb = |b: u64| b as f64 / 1e6;
    if matches!(phase, "backup" | "incremental" | "all") {
        let parent = if phase == "incremental" {
            vault.list_snapshots()?.pop().map(|s| s.id)
        } else {
            None
        };
        let t = Instant::now();
        let s = vault.backup_dir(
            &src,
            &BackupOptions {
                parent,
                ..Default::default()
            },
        )?;
        let secs = t.elapsed().as_secs_f64();
        println!(
            "backup {}: {:.1} MB in {secs:.2} s = {:.0} MB/s; read {:.1} MB, new {:.1} MB, stored {:.1} MB, unchanged files {}",
            s.id,
            mb(s.bytes),
            mb(s.bytes) / secs,
            mb(s.bytes_read),
            mb(s.bytes_new),
            mb(s.bytes_stored),
            s.files_unchanged
        );
    }
    if matches!(phase, "restore" | "all") {
        let id = vault
            .list_snapshots()?
            .pop()
            .ok_or("no snapshot to restore")?
            .id;
        let target = work.join("restored");
        let _ = std::fs::remove_dir_all(&target);
        let t = Instant::now();
        let r = vault.restore_dir(&id, &target, &RestoreOptions::default())?;
        let secs = t.elapsed().as_secs_f64();
        println!(
            "restore {id}: {:.1} MB in {secs:.2} s = {:.0} MB/s",
            mb(r.bytes),
            mb(r.bytes) / secs
        );
    }
    Ok(())
}
