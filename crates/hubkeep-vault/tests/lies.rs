//! Objects crafted with the vault's real key that lie — about lengths, about
//! where a chunk is, with numbers wider than 32 bits — are never restored or
//! verified as good; a lying duplicate never hides the intact copy.

mod common;

use hubkeep_testkit::Tmpfs;
use std::fs;
use std::path::Path;
use std::time::Duration;

use common::*;
use hubkeep_vault::craft::{self, CraftedEntry, CraftedIndexEntry};
use hubkeep_vault::{BackupOptions, EntryKind, RestoreOptions, Vault, VaultError};

struct Fixture {
    dir: tempfile::TempDir,
    vault: Vault,
    id: String,
    big: Vec<u8>,
}

/// A snapshot of `hello.txt` ("hello", one 5-byte chunk) and `big.bin`.
fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let (_, created) = local_vault(dir.path());
    let src = dir.path().join("src");
    fs::create_dir(&src).unwrap();
    fs::write(src.join("hello.txt"), b"hello").unwrap();
    let big = noise(700_000, 7);
    fs::write(src.join("big.bin"), &big).unwrap();
    let id = created
        .vault
        .backup_dir(&src, &BackupOptions::default())
        .unwrap()
        .id;
    Fixture {
        dir,
        vault: created.vault,
        id,
        big,
    }
}

impl Fixture {
    fn entries(&self) -> Vec<CraftedEntry> {
        craft::entries(&self.vault, &self.id).unwrap()
    }

    /// Rewrites the tree with `change` applied to the entry at `path`.
    fn lie_about(&self, path: &[u8], change: impl FnOnce(&mut CraftedEntry)) {
        let mut entries = self.entries();
        change(entries.iter_mut().find(|e| e.path == path).unwrap());
        craft::replace_tree(&self.vault, &self.id, entries).unwrap();
    }

    fn restore(
        &self,
        name: &str,
        skip_damaged: bool,
    ) -> Result<hubkeep_vault::RestoreSummary, VaultError> {
        self.vault.restore_dir(
            &self.id,
            &self.dir.path().join(name),
            &RestoreOptions {
                skip_damaged,
                progress: None,
            },
        )
    }
}

fn problems_text(report: &hubkeep_vault::VerifyReport) -> String {
    format!("{:?}", report.problems)
}

#[test]
fn a_file_claiming_10_gb_of_one_5_byte_chunk_is_refused_by_restore_and_verify() {
    let f = fixture();
    f.lie_about(b"hello.txt", |e| e.size = 10_000_000_000);

    let err = f.restore("t1", false).unwrap_err();
    assert!(
        matches!(&err, VaultError::DamagedFile { path, .. } if path == "hello.txt"),
        "{err}"
    );
    assert!(err.to_string().contains("10000000000"), "{err}");
    assert!(
        !f.dir.path().join("t1").exists(),
        "a failed restore removes what it wrote, the target it made included"
    );

    let summary = f.restore("t2", true).unwrap();
    assert_eq!(summary.damaged_files, vec!["hello.txt".to_string()]);
    assert!(!f.dir.path().join("t2/hello.txt").exists());
    assert_eq!(fs::read(f.dir.path().join("t2/big.bin")).unwrap(), f.big);

    for read_data in [false, true] {
        let report = f.vault.verify(None, read_data).unwrap();
        assert!(!report.ok(), "read_data={read_data}");
        let p = report
            .problems
            .iter()
            .find(|p| p.files == [format!("{}:hello.txt", f.id)])
            .unwrap_or_else(|| panic!("{}", problems_text(&report)));
        assert_eq!(p.snapshots, vec![f.id.clone()]);
        assert!(p.message.contains("add up to 5"), "{}", p.message);
    }
    let err = f.vault.open_stream(&f.id, "hello.txt").err().unwrap();
    assert!(matches!(err, VaultError::DamagedFile { .. }), "{err}");
}

#[test]
fn a_reference_saying_3_bytes_of_a_5_byte_chunk_is_refused_by_restore_and_verify_read_data() {
    let f = fixture();
    f.lie_about(b"hello.txt", |e| {
        e.size = 3;
        e.chunks[0].1 = 3;
    });
    let err = f.restore("t1", false).unwrap_err();
    assert!(
        matches!(&err, VaultError::DamagedFile { path, detail, .. }
            if path == "hello.txt" && detail.contains("decodes to 5 bytes")),
        "{err}"
    );
    assert!(!f.dir.path().join("t1").exists());
    let summary = f.restore("t2", true).unwrap();
    assert_eq!(summary.damaged_files, vec!["hello.txt".to_string()]);

    // Without reading data the lie is consistent; reading data finds it.
    assert!(f.vault.verify(None, false).unwrap().ok());
    let report = f.vault.verify(None, true).unwrap();
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.files == [format!("{}:hello.txt", f.id)]
                && p.message.contains("reference to it says 3")),
        "{}",
        problems_text(&report)
    );
    let mut out = Vec::new();
    let read = std::io::Read::read_to_end(
        &mut f.vault.open_stream(&f.id, "hello.txt").unwrap(),
        &mut out,
    );
    assert!(
        read.is_err(),
        "a stream never yields a lying length: {out:?}"
    );
}

#[test]
fn a_reference_longer_than_any_chunk_is_refused_before_anything_is_read() {
    let f = fixture();
    f.lie_about(b"hello.txt", |e| {
        e.size = 1 << 40;
        e.chunks[0].1 = 1 << 40;
    });
    let err = f.restore("t1", false).unwrap_err();
    assert!(err.to_string().contains("chunk limit"), "{err}");
}

/// A garbage copy of `id` in a pack whose name sorts before every real one.
fn lying_duplicate(vault: &Vault, id: [u8; 32], raw_len: u64, offset: u64) {
    craft::write_pack(
        vault,
        &"0".repeat(32),
        &noise(200, 3),
        &[CraftedIndexEntry {
            id,
            offset,
            len: 200,
            raw_len,
            kind: 0,
        }],
    )
    .unwrap();
}

#[test]
fn a_lying_duplicate_that_sorts_first_falls_back_to_the_intact_copy_and_gc_drops_it() {
    for (what, offset) in [("tag fails", 8), ("out of bounds", 1 << 33)] {
        let f = fixture();
        let big = f
            .entries()
            .into_iter()
            .find(|e| e.path == b"big.bin")
            .unwrap();
        let (id, len) = big.chunks[0];
        lying_duplicate(&f.vault, id, len, offset);

        let summary = f.restore("t1", false).unwrap();
        assert!(summary.damaged_files.is_empty(), "{what}");
        assert_eq!(
            fs::read(f.dir.path().join("t1/big.bin")).unwrap(),
            f.big,
            "{what}"
        );
        let mut streamed = Vec::new();
        std::io::Read::read_to_end(
            &mut f.vault.open_stream(&f.id, "big.bin").unwrap(),
            &mut streamed,
        )
        .unwrap();
        assert_eq!(streamed, f.big, "{what}");

        let bad_pack = format!("packs/{}", "0".repeat(32));
        let report = f.vault.verify(None, true).unwrap();
        let p = report
            .problems
            .iter()
            .find(|p| p.object == bad_pack)
            .unwrap_or_else(|| panic!("{what}: {}", problems_text(&report)));
        assert!(
            p.snapshots.is_empty(),
            "{what}: the snapshot is still restorable: {p:?}"
        );
        assert!(
            p.message.contains(&format!("offset {offset}")),
            "{what}: {p:?}"
        );
        assert_eq!(
            report.problems.len(),
            1,
            "{what}: {}",
            problems_text(&report)
        );

        f.vault.gc(Duration::ZERO).unwrap();
        assert!(
            !f.dir.path().join("vault").join(&bad_pack).exists(),
            "{what}: gc drops the bad copy"
        );
        assert!(f.vault.verify(None, true).unwrap().ok(), "{what}");
        f.restore("t2", false).unwrap();
    }
}

#[test]
fn an_index_entry_wider_than_32_bits_is_refused_alone_and_the_rest_of_its_index_is_used() {
    let f = fixture();
    let stored = craft::store_chunk(&f.vault, b"kept by a neighbour").unwrap();
    let pack_path = f.dir.path().join("vault/packs").join(&stored.pack);
    let body = fs::read(&pack_path).unwrap()[8..].to_vec();
    let real = CraftedIndexEntry {
        id: stored.id,
        offset: stored.offset,
        len: stored.sealed_len,
        raw_len: stored.len,
        kind: 0,
    };
    let wide = CraftedIndexEntry {
        id: craft::chunk_id(&f.vault, b"never stored"),
        len: 1 << 33,
        ..real
    };
    craft::write_pack(&f.vault, &stored.pack, &body, &[wide, real]).unwrap();
    let mut entries = f.entries();
    entries.push(CraftedEntry {
        path: b"neighbour.txt".to_vec(),
        kind: EntryKind::File,
        mode: 0o644,
        size: stored.len,
        chunks: vec![(stored.id, stored.len)],
        target: None,
    });
    craft::replace_tree(&f.vault, &f.id, entries).unwrap();

    f.restore("t1", false).unwrap();
    assert_eq!(
        fs::read(f.dir.path().join("t1/neighbour.txt")).unwrap(),
        b"kept by a neighbour"
    );
    let report = f.vault.verify(None, false).unwrap();
    assert_eq!(report.problems.len(), 1, "{}", problems_text(&report));
    let p = &report.problems[0];
    assert_eq!(p.object, format!("index/{}", stored.pack));
    assert!(
        p.message.contains("entry 0") && p.message.contains("8589934592"),
        "{p:?}"
    );
    assert!(p.snapshots.is_empty(), "{p:?}");
}

fn files_in(root: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn a_restore_that_fills_the_disk_leaves_no_partial_or_zero_filled_files() {
    let dir = tempfile::tempdir().unwrap();
    let (_, created) = local_vault(dir.path());
    let src = dir.path().join("src");
    fs::create_dir_all(src.join("sub/deeper")).unwrap();
    for i in 0..20 {
        fs::write(src.join(format!("sub/small-{i}")), noise(10_000, i)).unwrap();
    }
    fs::write(src.join("sub/deeper/large.bin"), noise(3 * 1024 * 1024, 99)).unwrap();
    let id = created
        .vault
        .backup_dir(&src, &BackupOptions::default())
        .unwrap()
        .id;
    for skip_damaged in [false, true] {
        let mnt = dir.path().join(format!("mnt-{skip_damaged}"));
        let Some(_tmpfs) = Tmpfs::mount(&mnt, "1m") else {
            return;
        };
        let target = mnt.join("restore");
        let err = created
            .vault
            .restore_dir(
                &id,
                &target,
                &RestoreOptions {
                    skip_damaged,
                    progress: None,
                },
            )
            .unwrap_err();
        assert!(err.to_string().contains("No space left"), "{err}");
        let left = if target.exists() {
            files_in(&target)
        } else {
            vec![]
        };
        if !skip_damaged {
            assert!(!target.exists(), "everything written was removed: {left:?}");
        }
        for f in left {
            let rel = f.strip_prefix(&target).unwrap();
            assert_eq!(
                fs::read(&f).unwrap(),
                fs::read(src.join(rel)).unwrap(),
                "only complete files stay: {rel:?}"
            );
        }
    }
}

#[test]
fn a_damaged_restore_without_skip_removes_every_file_and_directory_it_made() {
    let f = fixture();
    f.lie_about(b"big.bin", |e| e.size += 1);
    let target = f.dir.path().join("existing");
    fs::create_dir(&target).unwrap();
    f.vault
        .restore_dir(&f.id, &target, &RestoreOptions::default())
        .unwrap_err();
    assert!(target.is_dir(), "a target that was there stays");
    assert_eq!(fs::read_dir(&target).unwrap().count(), 0);
}

#[test]
fn special_files_are_skipped_and_listed_with_their_kind() {
    let dir = tempfile::tempdir().unwrap();
    let (_, created) = local_vault(dir.path());
    let src = dir.path().join("src");
    fs::create_dir_all(src.join("run")).unwrap();
    fs::write(src.join("plain"), b"x").unwrap();
    let fifo = std::ffi::CString::new(src.join("run/pipe").to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    let _socket = std::os::unix::net::UnixListener::bind(src.join("run/sock")).unwrap();
    let summary = created
        .vault
        .backup_dir(&src, &BackupOptions::default())
        .unwrap();
    let listed: Vec<(String, String)> = summary
        .special_files
        .iter()
        .map(|s| (s.path.clone(), s.kind.to_string()))
        .collect();
    assert_eq!(
        listed,
        vec![
            ("run/pipe".to_string(), "FIFO".to_string()),
            ("run/sock".to_string(), "socket".to_string())
        ]
    );
    let json = serde_json::to_value(&summary).unwrap();
    assert_eq!(json["special_files"][0]["kind"], "fifo");
    assert_eq!(summary.files, 1);
    assert!(summary.skipped.is_empty(), "{:?}", summary.skipped);
}

#[test]
fn a_lying_entry_running_past_its_packs_end_does_not_sink_the_chunks_next_to_it() {
    let f = fixture();
    let hello = f
        .entries()
        .into_iter()
        .find(|e| e.path == b"hello.txt")
        .unwrap();
    let all = craft::index_entries(&f.vault).unwrap();
    let pack = all[0].0.clone();
    assert!(
        all.iter().all(|(p, _)| *p == pack),
        "one pack holds everything"
    );
    let pack_bytes = fs::read(f.dir.path().join("vault/packs").join(&pack)).unwrap();
    let real: Vec<CraftedIndexEntry> = all.into_iter().map(|(_, e)| e).collect();
    let lie = CraftedIndexEntry {
        id: hello.chunks[0].0,
        offset: pack_bytes.len() as u64 - 50,
        len: 100,
        raw_len: 5,
        kind: 0,
    };
    let mut entries = vec![lie];
    entries.extend(real);
    craft::write_pack(&f.vault, &pack, &pack_bytes[8..], &entries).unwrap();

    let summary = f.restore("t1", false).unwrap();
    assert_eq!(summary.files, 2);
    assert_eq!(fs::read(f.dir.path().join("t1/big.bin")).unwrap(), f.big);
    assert_eq!(
        fs::read(f.dir.path().join("t1/hello.txt")).unwrap(),
        b"hello"
    );
    let report = f.vault.verify(None, false).unwrap();
    assert!(
        report.problems.iter().all(|p| p.snapshots.is_empty()),
        "{}",
        problems_text(&report)
    );
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.message.contains(&format!("offset {}", lie.offset))),
        "the bad copy is reported: {}",
        problems_text(&report)
    );
}
