//! A verify share reads the data of the packs it is given, and only
//! those: a damaged pack fails the share that includes it, naming the pack
//! and the snapshots that lose data through it, and no other share.

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::*;
use hubkeep_vault::BackupOptions;

fn backup(vault: &hubkeep_vault::Vault, dir: &Path, seed: u64) -> String {
    let src = dir.join(format!("src{seed}"));
    fs::create_dir(&src).unwrap();
    fs::write(src.join("data.bin"), noise(800_000, seed)).unwrap();
    vault.backup_dir(&src, &BackupOptions::default()).unwrap().id
}

#[test]
fn a_share_reads_only_its_packs_and_names_the_snapshots_a_bad_one_costs() {
    let dir = tempfile::tempdir().unwrap();
    let (_, created) = local_vault(dir.path());
    let vault = created.vault;
    let first = backup(&vault, dir.path(), 1);
    let first_packs: BTreeSet<String> = vault.pack_ids().unwrap().into_iter().collect();
    let second = backup(&vault, dir.path(), 2);
    let all: BTreeSet<String> = vault.pack_ids().unwrap().into_iter().collect();
    let second_packs: BTreeSet<String> = all.difference(&first_packs).cloned().collect();
    assert!(!first_packs.is_empty() && !second_packs.is_empty(), "each backup wrote a pack: {all:?}");

    let nothing = vault.verify_packs(&BTreeSet::new()).unwrap();
    assert!(nothing.ok());
    assert_eq!(nothing.bytes_read, 0, "an empty share reads no data");
    assert_eq!(nothing.snapshots_checked, 2, "but checks every snapshot's structure");

    let sound = vault.verify_packs(&first_packs).unwrap();
    assert!(sound.ok(), "{:?}", sound.problems);
    assert!(sound.bytes_read >= 800_000, "the share read its packs' data: {}", sound.bytes_read);

    // Damage the second backup's pack.
    let pack = second_packs.iter().next().unwrap();
    let path = dir.path().join("vault/packs").join(pack);
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    let mut bytes = fs::read(&path).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x55;
    fs::write(&path, bytes).unwrap();

    assert!(vault.verify_packs(&first_packs).unwrap().ok(), "a share without the bad pack does not read it");
    let bad = vault.verify_packs(&second_packs).unwrap();
    assert!(!bad.ok());
    let problem = &bad.problems[0];
    assert_eq!(problem.object, format!("packs/{pack}"));
    assert_eq!(problem.snapshots, vec![second.clone()], "only the second backup loses data");
    assert!(!problem.snapshots.contains(&first));
}
