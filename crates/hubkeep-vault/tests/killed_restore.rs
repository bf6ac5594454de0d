//! A restore killed with SIGKILL at a random point leaves a journal next to
//! its target; the next restore into that target, or
//! `clean_interrupted_restore`, removes every partial file it wrote.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

use common::*;
use hubkeep_vault::{clean_interrupted_restore, BackupOptions, Progress, RestoreOptions, Vault};

/// Stops the restore for good once `after` bytes were written: says so, then
/// blocks until the parent kills the process.
struct StopAfter {
    after: u64,
    done: std::sync::atomic::AtomicU64,
}

impl Progress for StopAfter {
    fn start(&self, _: u64) {}
    fn advance(&self, bytes: u64) {
        let done = self
            .done
            .fetch_add(bytes, std::sync::atomic::Ordering::SeqCst)
            + bytes;
        if done >= self.after {
            println!("stopped");
            std::io::stdout().flush().unwrap();
            let mut line = String::new();
            let _ = std::io::stdin().read_line(&mut line);
            unreachable!("the parent kills this process");
        }
    }
}

#[test]
#[ignore = "helper: run by a_restore_killed_at_a_random_point_is_cleaned_by_the_next_one"]
fn child_restore_process() {
    let (Ok(vault_dir), Ok(id), Ok(target), Ok(after)) = (
        std::env::var("HK_CHILD_VAULT"),
        std::env::var("HK_CHILD_SNAPSHOT"),
        std::env::var("HK_CHILD_TARGET"),
        std::env::var("HK_CHILD_AFTER"),
    ) else {
        return;
    };
    let mut key = String::new();
    std::io::stdin().read_line(&mut key).unwrap();
    let store = hubkeep_store::open(&format!("file://{vault_dir}"), &Default::default()).unwrap();
    let vault = Vault::open(store, key.trim()).unwrap();
    let progress = Arc::new(StopAfter {
        after: after.parse().unwrap(),
        done: Default::default(),
    });
    vault
        .restore_dir(
            &id,
            Path::new(&target),
            &RestoreOptions {
                skip_damaged: false,
                progress: Some(progress),
            },
        )
        .unwrap();
    unreachable!("the parent kills this process");
}

fn kill_restore_midway(vault_dir: &Path, key: &str, id: &str, target: &Path, after: u64) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_restore_process",
            "--ignored",
            "--nocapture",
        ])
        .env("HK_CHILD_VAULT", vault_dir)
        .env("HK_CHILD_SNAPSHOT", id)
        .env("HK_CHILD_TARGET", target)
        .env("HK_CHILD_AFTER", after.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{key}").unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while line.trim() != "stopped" {
        line.clear();
        assert!(
            stdout.read_line(&mut line).unwrap() > 0,
            "the child ended early"
        );
    }
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    child.wait().unwrap();
}

#[test]
fn a_restore_killed_at_a_random_point_is_cleaned_by_the_next_one() {
    let dir = tempfile::tempdir().unwrap();
    let (_, created) = local_vault(dir.path());
    let src = dir.path().join("src");
    edge_case_tree(&src);
    for i in 0..8u64 {
        std::fs::write(src.join(format!("owned/blob-{i}")), noise(700_000, i)).unwrap();
    }
    let id = created
        .vault
        .backup_dir(&src, &BackupOptions::default())
        .unwrap()
        .id;
    let total: u64 = created.vault.snapshot(&id).unwrap().stats.bytes;
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    for round in 0..3u64 {
        let after = 1
            + (seed
                .wrapping_mul(round + 1)
                .wrapping_mul(0x9E37_79B9_7F4A_7C15)
                >> 11)
                % (total - 1);
        let existed = round == 1;
        let target = dir.path().join(format!("target-{round}"));
        if existed {
            std::fs::create_dir(&target).unwrap();
        }
        kill_restore_midway(
            &dir.path().join("vault"),
            &created.access_key,
            &id,
            &target,
            after,
        );
        assert!(
            std::fs::read_dir(&target).unwrap().next().is_some(),
            "round {round} (after {after} of {total} bytes): the killed restore left files"
        );
        if round == 2 {
            // The next restore into the target cleans up first, then restores.
            created
                .vault
                .restore_dir(&id, &target, &RestoreOptions::default())
                .unwrap();
            assert_same_tree(&src, &target);
            unlock(&target);
        } else {
            assert!(clean_interrupted_restore(&target).unwrap(), "round {round}");
            assert_eq!(
                target.exists(),
                existed,
                "round {round}: the target goes only if the restore made it"
            );
            if existed {
                assert_eq!(
                    std::fs::read_dir(&target).unwrap().count(),
                    0,
                    "round {round}"
                );
            }
        }
        assert!(
            !clean_interrupted_restore(&target).unwrap(),
            "round {round}: nothing left to clean"
        );
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| n.to_string_lossy().ends_with(".hubkeep-restore"))
            .collect();
        assert!(leftovers.is_empty(), "round {round}: {leftovers:?}");
    }
    unlock(&src);
}
