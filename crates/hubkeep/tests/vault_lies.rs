//! A key holder's lies, crafted into a real recovery point's vault with the
//! vault crate's `craft` module, met through the command line: nothing that
//! lies restores or verifies as good, and a lying duplicate of a chunk does
//! not break the restore of a good recovery point.

mod common;
use hubkeep_testkit::Tmpfs;
use common::*;
use hubkeep_vault::craft::{self, CraftedEntry, CraftedIndexEntry};
use hubkeep_vault::Vault;
use std::path::Path;

struct Point {
    home: Home,
    arn: String,
    vault: Vault,
    snapshot: String,
    big: Vec<u8>,
}

/// A stack whose file store holds `hello.txt` ("hello": one 5-byte chunk)
/// and `big.bin`, backed up once; and its vault, opened with the recovery key.
fn backed_up_point(stack: &str) -> Point {
    let home = Home::new();
    let out = home.json(&["stack", "create", stack, "--profile", "generic"]);
    let storage = Path::new(out["outputs"]["storage_path"].as_str().unwrap()).to_path_buf();
    std::fs::write(storage.join("hello.txt"), b"hello").unwrap();
    let big: Vec<u8> = (0..900_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(storage.join("big.bin"), &big).unwrap();
    let arn = home.json(&["backup-job", "start", stack])["recovery_point_arn"]
        .as_str()
        .unwrap()
        .to_string();
    let kit = home.json(&["vault", "recovery-kit", &format!("{stack}-daily"), "--yes"]);
    let store = hubkeep_store::open(
        kit["location"].as_str().unwrap(),
        &hubkeep_store::S3Settings::default(),
    )
    .unwrap();
    let vault = Vault::open(store, kit["recovery_key"].as_str().unwrap()).unwrap();
    let snapshot = vault.snapshot_ids().unwrap().pop().unwrap();
    Point {
        home,
        arn,
        vault,
        snapshot,
        big,
    }
}

impl Point {
    fn lie_about(&self, path: &[u8], change: impl FnOnce(&mut CraftedEntry)) {
        let mut entries = craft::entries(&self.vault, &self.snapshot).unwrap();
        change(entries.iter_mut().find(|e| e.path == path).unwrap());
        craft::replace_tree(&self.vault, &self.snapshot, entries).unwrap();
    }

    fn target(&self, name: &str) -> std::path::PathBuf {
        self.home.dir.path().join(name)
    }
}

/// Restore fails naming the file and leaves nothing; with --skip-damaged the
/// rest comes back and the file is listed.
fn restore_refuses_the_lying_file(p: &Point) {
    let target = p.target("out");
    let (code, msg, _) = p.home.fails(&[
        "restore-job",
        "start",
        &p.arn,
        "--target",
        target.to_str().unwrap(),
    ]);
    assert_eq!(code, "corrupt", "{msg}");
    assert!(msg.contains("hello.txt"), "the error names the file: {msg}");
    assert!(
        !target.exists() || std::fs::read_dir(&target).unwrap().next().is_none(),
        "a failed restore leaves no files"
    );

    let target = p.target("rest");
    let r = p.home.json(&[
        "restore-job",
        "start",
        &p.arn,
        "--target",
        target.to_str().unwrap(),
        "--skip-damaged",
    ]);
    assert_eq!(
        r["summary"]["damaged_files"],
        serde_json::json!(["hello.txt"]),
        "{r}"
    );
    assert!(!target.join("hello.txt").exists());
    assert_eq!(std::fs::read(target.join("big.bin")).unwrap(), p.big);
}

#[test]
fn restore_and_verify_refuse_a_file_claiming_10_gb_made_of_one_5_byte_chunk() {
    require_root!();
    let p = backed_up_point("tengig");
    p.lie_about(b"hello.txt", |e| e.size = 10_000_000_000);
    restore_refuses_the_lying_file(&p);
    for args in [
        vec!["verify", p.arn.as_str()],
        vec!["verify", p.arn.as_str(), "--read-data"],
    ] {
        let (code, msg, stderr) = p.home.fails(&args);
        assert_eq!(code, "verify_failed", "{args:?}: {msg}");
        assert!(
            stderr.contains("hello.txt") && stderr.contains("10000000000"),
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn restore_and_verify_read_data_refuse_a_reference_saying_3_bytes_for_a_5_byte_chunk() {
    require_root!();
    let p = backed_up_point("threefive");
    p.lie_about(b"hello.txt", |e| {
        e.size = 3;
        e.chunks[0].1 = 3;
    });
    restore_refuses_the_lying_file(&p);
    let (code, msg, stderr) = p.home.fails(&["verify", &p.arn, "--read-data"]);
    assert_eq!(code, "verify_failed", "{msg}");
    assert!(
        stderr.contains("hello.txt") && stderr.contains("reference to it says 3"),
        "{stderr}"
    );
}

#[test]
fn a_lying_duplicate_index_entry_that_sorts_first_does_not_break_a_good_restore() {
    require_root!();
    let p = backed_up_point("dupe");
    let first_pack = "0".repeat(32);
    // Every chunk of the point gets a garbage copy in an index that sorts first.
    let lies: Vec<CraftedIndexEntry> = craft::index_entries(&p.vault)
        .unwrap()
        .into_iter()
        .map(|(_, e)| CraftedIndexEntry {
            offset: 8,
            len: 100,
            ..e
        })
        .collect();
    craft::write_pack(&p.vault, &first_pack, &[0x5a; 100], &lies).unwrap();

    let target = p.target("out");
    let r = p.home.json(&[
        "restore-job",
        "start",
        &p.arn,
        "--target",
        target.to_str().unwrap(),
    ]);
    assert_eq!(r["state"], "COMPLETED", "{r}");
    assert_eq!(std::fs::read(target.join("big.bin")).unwrap(), p.big);
    assert_eq!(std::fs::read(target.join("hello.txt")).unwrap(), b"hello");

    // verify --read-data names the bad copy (pack and offset), affecting no point.
    let out = p.home.run(&["--json", "verify", &p.arn, "--read-data"]);
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        all.contains(&format!("packs/{first_pack}")) && all.contains("at offset 8"),
        "{all}"
    );
    assert!(all.contains("another copy is intact"), "{all}");
    // The point itself restores, so it verifies as good, with the bad copy as a warning.
    assert!(out.status.success(), "{all}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["problems"], serde_json::json!([]), "{report}");
    assert!(report["warnings"][0].as_str().unwrap().contains(&format!("packs/{first_pack}")), "{report}");
}

#[test]
fn a_restore_job_onto_a_full_disk_fails_and_leaves_no_zero_filled_files() {
    require_root!();
    let p = backed_up_point("fulldisk");
    let mnt = p.target("small-disk");
    let Some(_disk) = Tmpfs::mount(&mnt, "512k") else {
        return;
    };
    let target = mnt.join("restore");
    let (code, msg, _) = p.home.fails(&[
        "restore-job",
        "start",
        &p.arn,
        "--target",
        target.to_str().unwrap(),
    ]);
    assert_eq!(code, "io", "{msg}");
    assert!(msg.contains("No space left"), "{msg}");
    assert!(
        !target.exists(),
        "what the restore wrote, its target included, was removed"
    );
    let jobs = p.home.json(&["job", "list"]);
    assert!(
        jobs.as_array()
            .unwrap()
            .iter()
            .any(|j| j["state"] == "FAILED"),
        "{jobs}"
    );
}
