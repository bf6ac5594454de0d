//! Trees of many files, and incremental backups over trees that changed
//! shape: the walk, the parent's tree and the new tree all stream, so these
//! prove the streaming merge keeps every file, in order, byte for byte.

mod common;

use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use common::*;
use hubkeep_vault::{BackupOptions, RestoreOptions, Vault};

fn backup(vault: &Vault, src: &Path, parent: Option<&str>) -> hubkeep_vault::SnapshotSummary {
    let opts = BackupOptions {
        parent: parent.map(str::to_string),
        ..Default::default()
    };
    vault.backup_dir(src, &opts).unwrap()
}

fn restore_and_compare(vault: &Vault, id: &str, src: &Path, dst: &Path) {
    vault
        .restore_dir(id, dst, &RestoreOptions::default())
        .unwrap();
    assert_same_tree(src, dst);
}

/// A Hubs-shaped store: uploads fanned out as `owned/<aa>/<bb>/<n>.blob`
/// with a `.meta.json` beside each.
fn hubs_store(root: &Path, uploads: u64) {
    for i in 0..uploads {
        let dir = root.join(format!("owned/{:02x}/{:02x}", i % 61, (i / 61) % 13));
        fs::create_dir_all(&dir).unwrap();
        fs::write(
            dir.join(format!("{i:08}.blob")),
            noise(200 + (i as usize * 37) % 3000, i),
        )
        .unwrap();
        fs::write(
            dir.join(format!("{i:08}.meta.json")),
            format!("{{\"content_type\":\"image/png\",\"upload\":{i}}}"),
        )
        .unwrap();
    }
}

#[test]
fn a_store_of_20000_small_files_round_trips_byte_for_byte_and_a_rerun_reads_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (_, created) = local_vault(dir.path());
    let vault = created.vault;
    let src = dir.path().join("src");
    hubs_store(&src, 10_000);

    let first = backup(&vault, &src, None);
    assert_eq!(first.files, 20_000);
    restore_and_compare(&vault, &first.id, &src, &dir.path().join("dst"));

    let second = backup(&vault, &src, Some(&first.id));
    assert_eq!(second.files_unchanged, 20_000, "{second:?}");
    assert_eq!((second.bytes_read, second.bytes_new), (0, 0));
    let entries = |id: &str| vault.entries(id).unwrap();
    assert_eq!(entries(&first.id), entries(&second.id));
}

#[test]
fn an_incremental_backup_over_a_reshaped_tree_restores_exactly_the_new_tree() {
    let dir = tempfile::tempdir().unwrap();
    let (_, created) = local_vault(dir.path());
    let vault = created.vault;
    let src = dir.path().join("src");
    hubs_store(&src, 300);
    for name in [
        "becomes-dir",
        "becomes-link",
        "stays",
        "renamed-from",
        "deleted",
    ] {
        fs::write(src.join(name), noise(5_000, name.len() as u64)).unwrap();
    }
    fs::create_dir_all(src.join("dir-becomes-file/inner")).unwrap();
    fs::write(src.join("dir-becomes-file/inner/x"), b"x").unwrap();
    fs::create_dir(src.join("dir-becomes-link")).unwrap();
    std::os::unix::fs::symlink("stays", src.join("link-becomes-file")).unwrap();
    std::os::unix::fs::symlink("stays", src.join("link-becomes-dir")).unwrap();
    let first = backup(&vault, &src, None);

    // Every kind of change at once, at the same paths.
    fs::remove_file(src.join("becomes-dir")).unwrap();
    fs::create_dir_all(src.join("becomes-dir/sub")).unwrap();
    fs::write(src.join("becomes-dir/sub/f"), b"now below a directory").unwrap();
    fs::remove_file(src.join("becomes-link")).unwrap();
    std::os::unix::fs::symlink("../elsewhere", src.join("becomes-link")).unwrap();
    fs::rename(src.join("renamed-from"), src.join("renamed-to")).unwrap();
    fs::remove_file(src.join("deleted")).unwrap();
    fs::remove_dir_all(src.join("dir-becomes-file")).unwrap();
    fs::write(src.join("dir-becomes-file"), b"a file now").unwrap();
    fs::remove_dir(src.join("dir-becomes-link")).unwrap();
    std::os::unix::fs::symlink("stays", src.join("dir-becomes-link")).unwrap();
    fs::remove_file(src.join("link-becomes-file")).unwrap();
    fs::write(src.join("link-becomes-file"), b"a file now").unwrap();
    fs::remove_file(src.join("link-becomes-dir")).unwrap();
    fs::create_dir(src.join("link-becomes-dir")).unwrap();
    fs::remove_dir_all(src.join("owned/07")).unwrap();
    fs::write(
        src.join("owned/07.new"),
        b"sorts between owned/07 and owned/08",
    )
    .unwrap();
    fs::write(src.join("owned/00/00/00000000.blob"), b"changed content").unwrap();

    let second = backup(&vault, &src, Some(&first.id));
    let dst = dir.path().join("dst");
    restore_and_compare(&vault, &second.id, &src, &dst);
    assert_eq!(
        fs::read(dst.join("renamed-to")).unwrap(),
        noise(5_000, "renamed-from".len() as u64),
        "a renamed file keeps its content under its new name"
    );
    // Unchanged files came from the parent unread: every upload but the
    // ones deleted or changed, and the file that stayed.
    let deleted_uploads = vault
        .entries(&first.id)
        .unwrap()
        .iter()
        .filter(|e| e.path.starts_with(b"owned/07/") && e.kind == hubkeep_vault::EntryKind::File)
        .count() as u64;
    assert_eq!(
        second.files_unchanged,
        600 - deleted_uploads - 1 + 1,
        "{second:?}"
    );
}

#[test]
fn names_that_sort_differently_as_bytes_and_as_text_are_all_reused_from_the_parent() {
    let dir = tempfile::tempdir().unwrap();
    let (_, created) = local_vault(dir.path());
    let vault = created.vault;
    let src = dir.path().join("src");
    fs::create_dir(&src).unwrap();
    // '.' and '-' sort before '/', so "a.b" and "a-c" come between "a" and
    // "a/b"; raw bytes above 0x7f sort after every ASCII name, and "é" in
    // UTF-8 (0xc3 0xa9) between them.
    let files: [&[u8]; 10] = [
        b"a/b",
        b"a/b.c",
        b"a.b",
        b"a-c",
        b"a0",
        b"a/b/c",
        b"Z",
        b"\xff\xfe not utf-8",
        "\u{e9}t\u{e9}".as_bytes(),
        b"a b",
    ];
    for name in files {
        let path = src.join(OsStr::from_bytes(name));
        // "a/b" is a file in one case and a directory holding "a/b/c" in
        // the other: keep the directory and put the file one level down.
        let path = if name == b"a/b" {
            src.join("a/b/f")
        } else {
            path
        };
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, name).unwrap();
    }
    let first = backup(&vault, &src, None);
    let paths: Vec<Vec<u8>> = vault
        .entries(&first.id)
        .unwrap()
        .into_iter()
        .map(|e| e.path)
        .collect();
    let mut sorted = paths.clone();
    sorted.sort();
    assert_eq!(paths, sorted, "the tree is in path byte order");

    let second = backup(&vault, &src, Some(&first.id));
    assert_eq!(second.files_unchanged, first.files, "{second:?}");
    assert_eq!(second.bytes_read, 0);
    restore_and_compare(&vault, &second.id, &src, &dir.path().join("dst"));
}
