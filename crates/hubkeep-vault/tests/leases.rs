//! Leases of holders that died do not block anyone, and gc sweeps what
//! killed holders and writers leave behind: leases and temp objects.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use hubkeep_store::testing::SeaweedFs;
use hubkeep_store::ObjectStore;
use hubkeep_vault::{Vault, VaultError};

/// Runs in a child process: takes a backup lease, says so, and waits to be killed.
#[test]
#[ignore = "helper: run by a_killed_backups_lease_is_taken_over_at_once"]
fn child_holds_a_backup_lease() {
    let Ok(vault_dir) = std::env::var("HK_CHILD_VAULT") else {
        return;
    };
    let mut key = String::new();
    std::io::stdin().read_line(&mut key).unwrap();
    let store = hubkeep_store::open(&format!("file://{vault_dir}"), &Default::default()).unwrap();
    let vault = Vault::open(store, key.trim()).unwrap();
    let _writer = vault.writer("files", serde_json::Value::Null).unwrap();
    println!("holding");
    std::io::stdout().flush().unwrap();
    // Blocks until the parent kills us (stdin stays open).
    let mut rest = String::new();
    let _ = std::io::stdin().read_line(&mut rest);
    unreachable!("the parent kills this process");
}

#[test]
fn a_killed_backups_lease_is_taken_over_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let (store, created) = local_vault(dir.path());
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_holds_a_backup_lease",
            "--ignored",
            "--nocapture",
        ])
        .env("HK_CHILD_VAULT", dir.path().join("vault"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{}", created.access_key).unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while line.trim() != "holding" {
        line.clear();
        assert!(
            stdout.read_line(&mut line).unwrap() > 0,
            "the child ended early"
        );
    }

    // While the holder lives, gc is refused, naming the holder's role and process.
    let err = created.vault.gc(Duration::ZERO).unwrap_err();
    assert!(
        matches!(err, VaultError::LeaseHeld { ref role, .. } if role == "backup"),
        "{err}"
    );
    assert!(
        err.to_string().contains(&format!("process {}", child.id())),
        "{err}"
    );

    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    child.wait().unwrap();
    assert_eq!(
        store.list("locks/").unwrap().len(),
        1,
        "the killed holder left its lease"
    );
    let report = created.vault.gc(Duration::ZERO).unwrap();
    assert_eq!(
        report.leases_removed, 0,
        "the dead holder's lease was taken over, not swept"
    );
    assert!(store.list("locks/").unwrap().is_empty());
}

#[test]
fn gc_names_a_running_gc_as_the_holder_not_a_backup() {
    let dir = tempfile::tempdir().unwrap();
    let (store, created) = local_vault(dir.path());
    let expires = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 60;
    store
        .put(
            "locks/gc-1111111111111111",
            format!(r#"{{"role":"gc","expires":{expires},"pid":4242,"host":"elsewhere"}}"#)
                .as_bytes(),
        )
        .unwrap();
    let err = created.vault.gc(Duration::ZERO).unwrap_err().to_string();
    assert!(err.contains("a gc (process 4242 on elsewhere)"), "{err}");
    assert!(!err.contains("backup"), "{err}");
}

fn sweeps_expired_leases_and_stale_temp_objects(
    store: &Arc<dyn ObjectStore>,
    vault: &Vault,
    put_temp: impl Fn(&str),
) {
    for i in 0..3 {
        store
            .put(
                &format!("locks/backup-{i:016}"),
                br#"{"role":"backup","expires":1,"pid":1}"#,
            )
            .unwrap();
    }
    put_temp("packs/.tmp-00000000000000aa");
    put_temp(".tmp-00000000000000bb");
    assert_eq!(store.list_temp().unwrap().len(), 2);
    assert!(
        store.list("packs/").unwrap().is_empty(),
        "list never shows temp objects"
    );

    // Within the grace period temp objects stay (a writer may still be at it).
    let report = vault.gc(Duration::from_secs(3600)).unwrap();
    assert_eq!(report.leases_removed, 3);
    assert_eq!(report.temp_objects_deleted, 0);
    assert_eq!(store.list_temp().unwrap().len(), 2);

    let report = vault.gc(Duration::ZERO).unwrap();
    assert_eq!(report.temp_objects_deleted, 2);
    assert!(store.list_temp().unwrap().is_empty());
    assert!(store.list("locks/").unwrap().is_empty());
}

#[test]
fn gc_removes_expired_leases_and_stale_temp_objects_in_a_local_vault() {
    let dir = tempfile::tempdir().unwrap();
    let (store, created) = local_vault(dir.path());
    let root = dir.path().join("vault");
    sweeps_expired_leases_and_stale_temp_objects(&store, &created.vault, |name| {
        let path = root.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, noise(1 << 20, 1)).unwrap();
    });
}

#[test]
fn gc_removes_expired_leases_and_stale_temp_objects_on_s3() {
    let dir = tempfile::tempdir().unwrap();
    let Some(weed) = SeaweedFs::try_start(dir.path()) else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "weed is needed in CI"
        );
        return;
    };
    weed.create_bucket("vault");
    let store = hubkeep_store::open("s3://vault/hub-a", &weed.settings()).unwrap();
    let created = Vault::create(store.clone()).unwrap();
    let put = |name: &str| store.put(name, &noise(1 << 20, 2)).unwrap();
    sweeps_expired_leases_and_stale_temp_objects(&store, &created.vault, put);
}

#[test]
fn a_backup_is_not_blocked_by_the_lease_of_a_gc_that_died_on_this_machine() {
    let dir = tempfile::tempdir().unwrap();
    let (store, created) = local_vault(dir.path());
    // A gc that ran here and is gone: a finished child's pid, this boot, this pid namespace.
    let mut gone = Command::new("true").spawn().unwrap();
    let pid = gone.id();
    gone.wait().unwrap();
    let boot_id = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap();
    let pid_ns = std::fs::read_link("/proc/self/ns/pid").unwrap();
    let expires = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 100;
    let record = serde_json::json!({
        "role": "gc", "expires": expires, "pid": pid, "host": "here",
        "boot_id": boot_id.trim(), "pid_ns": pid_ns.display().to_string(), "start": 1,
    });
    store
        .put("locks/gc-2222222222222222", record.to_string().as_bytes())
        .unwrap();
    let writer = created
        .vault
        .writer("files", serde_json::Value::Null)
        .unwrap();
    assert_eq!(
        store.list("locks/").unwrap().len(),
        1,
        "the dead gc's lease is gone; only the writer's own remains"
    );
    drop(writer);

    // The same lease from another machine still counts until it expires.
    let mut elsewhere = record.clone();
    elsewhere["boot_id"] = "another-machine".into();
    store
        .put(
            "locks/gc-2222222222222222",
            elsewhere.to_string().as_bytes(),
        )
        .unwrap();
    let err = created
        .vault
        .writer("files", serde_json::Value::Null)
        .unwrap_err();
    assert!(matches!(err, VaultError::GcRunning { .. }), "{err}");
    assert!(
        err.to_string().contains(&format!("process {pid} on here")),
        "{err}"
    );
}
