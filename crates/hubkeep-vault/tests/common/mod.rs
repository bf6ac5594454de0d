//! Shared helpers: a generated tree full of edge cases, and a byte-for-byte
//! comparison of two trees (contents, kinds, modes, owners, ns mtimes, links).

#![allow(dead_code, unused_imports)]

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::sync::Arc;

use filetime::FileTime;
use hubkeep_store::{ObjectStore, S3Settings};
use hubkeep_vault::{CreatedVault, Vault};

pub fn local_vault(dir: &Path) -> (Arc<dyn ObjectStore>, CreatedVault) {
    let store = hubkeep_store::open(
        &format!("file://{}/vault", dir.display()),
        &S3Settings::default(),
    )
    .unwrap();
    let created = Vault::create(store.clone()).unwrap();
    (store, created)
}

pub use hubkeep_testkit::noise;

fn set_mtime(path: &Path, secs: i64, nanos: u32) {
    let t = FileTime::from_unix_time(secs, nanos);
    filetime::set_symlink_file_times(path, t, t).unwrap();
}

/// Builds a tree with every kind of entry the vault must keep.
pub fn edge_case_tree(root: &Path) {
    fs::create_dir_all(root).unwrap();
    let p = |rel: &[u8]| root.join(OsStr::from_bytes(rel));
    fs::create_dir_all(p(b"owned/ab/cd")).unwrap();
    fs::create_dir_all(p(b"empty dir")).unwrap();
    fs::create_dir_all(p(b"locked")).unwrap();
    fs::write(
        p(b"owned/ab/cd/abcd-1.blob"),
        noise(3 * 1024 * 1024 + 17, 1),
    )
    .unwrap();
    fs::write(
        p(b"owned/ab/cd/abcd-1.meta.json"),
        br#"{"content_type":"model/gltf-binary","content_length":3145745}"#,
    )
    .unwrap();
    fs::write(
        p(b"text.sql"),
        "INSERT INTO t VALUES (1, 'hello');\n".repeat(20_000),
    )
    .unwrap();
    fs::write(p(b"empty file"), b"").unwrap();
    fs::write(p(b"with\nnewline"), b"newline name").unwrap();
    fs::write(p(b"non-utf8-\xff\xfe.bin"), b"raw bytes name").unwrap();
    fs::write(p("unicode-名前-🎉.txt".as_bytes()), b"unicode").unwrap();
    fs::write(p(b"locked/secret"), b"read-only inside a read-only dir").unwrap();
    fs::write(p(b"script.sh"), b"#!/bin/sh\necho hi\n").unwrap();
    fs::hard_link(p(b"script.sh"), p(b"hardlink.sh")).unwrap();
    std::os::unix::fs::symlink("owned/ab", p(b"link-to-dir")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", p(b"absolute-link")).unwrap();
    std::os::unix::fs::symlink("does/not/exist", p(b"dangling link")).unwrap();

    fs::set_permissions(p(b"script.sh"), fs::Permissions::from_mode(0o755)).unwrap();
    fs::set_permissions(p(b"text.sql"), fs::Permissions::from_mode(0o640)).unwrap();
    fs::set_permissions(p(b"locked/secret"), fs::Permissions::from_mode(0o400)).unwrap();
    fs::set_permissions(p(b"empty dir"), fs::Permissions::from_mode(0o750)).unwrap();

    let mut n = 0u32;
    for rel in [
        &b"owned/ab/cd/abcd-1.blob"[..],
        b"owned/ab/cd/abcd-1.meta.json",
        b"text.sql",
        b"empty file",
        b"with\nnewline",
        b"non-utf8-\xff\xfe.bin",
        b"script.sh",
        b"link-to-dir",
        b"absolute-link",
        b"dangling link",
        b"locked/secret",
    ] {
        n += 1;
        set_mtime(&p(rel), 1_600_000_000 + i64::from(n), 123_456_789 + n);
    }
    // Directories last: filling them changed their mtimes.
    for (i, rel) in [
        &b"owned/ab/cd"[..],
        b"owned/ab",
        b"owned",
        b"empty dir",
        b"locked",
    ]
    .iter()
    .enumerate()
    {
        set_mtime(&p(rel), 1_500_000_000 + i as i64, 987_654_321 - i as u32);
    }
    fs::set_permissions(p(b"locked"), fs::Permissions::from_mode(0o555)).unwrap();
}

/// One line per entry: kind, mode, owner, mtime (ns), size/content hash or link target.
pub fn describe(root: &Path) -> BTreeMap<Vec<u8>, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in fs::read_dir(&dir).unwrap() {
            let e = e.unwrap();
            let path = e.path();
            let m = fs::symlink_metadata(&path).unwrap();
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .as_os_str()
                .as_bytes()
                .to_vec();
            let what = if m.is_dir() {
                stack.push(path.clone());
                "dir".to_string()
            } else if m.file_type().is_symlink() {
                format!("link -> {:?}", fs::read_link(&path).unwrap())
            } else {
                format!(
                    "file {} {}",
                    m.len(),
                    blake3::hash(&fs::read(&path).unwrap()).to_hex()
                )
            };
            let mode = if m.file_type().is_symlink() {
                0
            } else {
                m.mode() & 0o7777
            };
            out.insert(
                rel,
                format!(
                    "{what} mode={mode:o} uid={} gid={} mtime={}.{:09}",
                    m.uid(),
                    m.gid(),
                    m.mtime(),
                    m.mtime_nsec()
                ),
            );
        }
    }
    out
}

pub fn assert_same_tree(a: &Path, b: &Path) {
    let (da, db) = (describe(a), describe(b));
    for (k, v) in &da {
        assert_eq!(
            Some(v),
            db.get(k),
            "entry {:?} differs",
            String::from_utf8_lossy(k)
        );
    }
    assert_eq!(
        da.len(),
        db.len(),
        "entry counts differ: {:?} vs {:?}",
        da.keys().collect::<Vec<_>>(),
        db.keys().collect::<Vec<_>>()
    );
}

/// Makes a read-only tree removable again (tempdir cleanup).
pub fn unlock(root: &Path) {
    let _ = fs::set_permissions(root.join("locked"), fs::Permissions::from_mode(0o755));
}
