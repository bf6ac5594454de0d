//! A restore that is killed or stopped part way leaves nothing half-done:
//! the next command shows the stack CREATE_FAILED with its cluster
//! stopped, no password file exists anywhere, and `stack delete` removes
//! what the run left and frees the name.

mod common;
use common::*;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

const SIGKILL: i32 = 9;
const SIGTERM: i32 = 15;

extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}

/// A generic stack with a few MiB of files, backed up: returns the backup set.
fn backed_up_source(home: &Home) -> serde_json::Value {
    home.json(&["stack", "create", "src", "--profile", "generic"]);
    let storage = home.json(&["stack", "show", "src"])["outputs"]["storage_path"]
        .as_str()
        .unwrap()
        .to_string();
    write_noise_files(std::path::Path::new(&storage), "upload-", ".bin", 12, 2_000_000);
    home.json(&["backup", "src"])
}

fn restore_args<'a>(set: &'a serde_json::Value, name: &'a str) -> Vec<&'a str> {
    vec![
        "--json",
        "restore",
        name,
        "--backup",
        set["backup_id"].as_str().unwrap(),
        "--domain",
        "dst.example.org",
    ]
}

fn create_restore_args<'a>(set: &'a serde_json::Value, name: &'a str) -> Vec<&'a str> {
    vec![
        "--json",
        "stack",
        "create",
        name,
        "--domain",
        "dst.example.org",
        "--restore-stack-name",
        set["stack_name"].as_str().unwrap(),
        "--restore-db-snapshot",
        set["db_snapshot_id"].as_str().unwrap(),
        "--restore-db-secret-arn",
        set["db_secret_arn"].as_str().unwrap(),
        "--restore-vault",
        set["vault"].as_str().unwrap(),
        "--restore-recovery-point",
        set["recovery_point_arn"].as_str().unwrap(),
    ]
}

/// How long an undisturbed run of `args` takes (the stack is deleted after).
fn full_duration(home: &Home, args: &[&str], name: &str) -> Duration {
    let started = Instant::now();
    let out = home.run(args);
    let took = started.elapsed();
    assert!(
        out.status.success(),
        "the undisturbed run succeeds: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    home.json(&["stack", "delete", name, "--yes"]);
    took
}

/// Run `args` in a process group of its own and send `signal` to the whole
/// group after `delay`, the way a service manager stops a unit.
fn interrupt(home: &Home, args: &[&str], delay: Duration, signal: i32) {
    let mut child = home
        .cmd(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap();
    std::thread::sleep(delay);
    unsafe { libc_kill(-(child.id() as i32), signal) };
    child.wait().unwrap();
}

/// Every path under `root` whose file name is `name`.
fn find_named(root: &Path, name: &str) -> Vec<std::path::PathBuf> {
    let mut found = vec![];
    let mut dirs = vec![root.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.file_name() == name {
                found.push(e.path());
            }
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                dirs.push(e.path());
            }
        }
    }
    found
}

/// Processes whose command line names `needle` (a postmaster names its data dir).
fn processes_naming(needle: &str) -> Vec<String> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .chars()
                .all(|c| c.is_ascii_digit())
        })
        .filter_map(|e| {
            std::fs::read(e.path().join("cmdline"))
                .ok()
                .map(|c| (e.file_name(), c))
        })
        .map(|(pid, c)| (pid, String::from_utf8_lossy(&c).replace('\0', " ")))
        .filter(|(_, c)| c.contains(needle))
        .map(|(pid, c)| format!("{}: {c}", pid.to_string_lossy()))
        .collect()
}

#[derive(Debug, PartialEq)]
enum Outcome {
    /// Stopped before the stack record existed: nothing to see.
    NotStarted,
    /// Finished before the signal.
    Completed,
    /// Stopped midway: CREATE_FAILED, with this reason.
    Failed(String),
}

/// What the next command sees after an interrupted run into `name`, checked
/// for every half-done state; then `stack delete` must leave nothing.
fn next_command_sees(home: &Home, name: &str) -> Outcome {
    let out = home.run(&["--json", "stack", "show", name]);
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        find_named(&home.path(), ".initdb-password").is_empty(),
        "no password file under the home"
    );
    let cluster = home.path().join("clusters").join(name);
    let outcome = if !out.status.success() {
        assert_eq!(shown["error"]["code"], "stack_not_found", "{shown}");
        assert!(!cluster.exists(), "no cluster without a stack record");
        return Outcome::NotStarted;
    } else if shown["status"] == "ONLINE" {
        Outcome::Completed
    } else {
        assert_eq!(
            shown["status"], "CREATE_FAILED",
            "an interrupted creation is never left in progress: {shown}"
        );
        assert!(shown["outputs"].is_null(), "{shown}");
        let data = cluster.join("data");
        // A `pg_ctl stop` the interrupted run started may still be finishing
        // (its parent exited on the signal); it ends by itself, so wait for
        // it before looking for a server.
        while processes_naming(&data.to_string_lossy()).iter().any(|p| p.contains("pg_ctl")) {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        // pg_ctl returns once the pid file is gone, which the postmaster
        // removes just before it exits: give a server that is stopping a
        // few seconds to be gone, so only one that stays is a failure.
        let stopping = std::time::Instant::now();
        while !processes_naming(&data.to_string_lossy()).is_empty()
            && stopping.elapsed() < std::time::Duration::from_secs(10)
        {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        // A postmaster killed with its group leaves a stale pid file; what
        // matters is that no server process of this cluster runs.
        assert!(
            processes_naming(&data.to_string_lossy()).is_empty(),
            "no postmaster of {name} left: {:?}",
            processes_naming(&data.to_string_lossy())
        );
        Outcome::Failed(shown["status_reason"].as_str().unwrap().to_string())
    };
    home.json(&["stack", "delete", name, "--yes"]);
    assert!(
        !cluster.exists(),
        "stack delete removes the cluster of {name}"
    );
    assert!(
        !home.path().join("storage").join(name).exists(),
        "stack delete removes the file store of {name}"
    );
    let (code, _, _) = home.fails(&["stack", "show", name]);
    assert_eq!(code, "stack_not_found", "the name {name} is free again");
    outcome
}

/// Kill runs of `args` at `points` fractions of their full duration and
/// check each aftermath; returns the reasons of the interrupted ones.
fn kill_at_points(
    home: &Home,
    args: &[&str],
    name: &str,
    points: &[u32],
    signal: i32,
) -> Vec<String> {
    let full = full_duration(home, args, name);
    let mut reasons = vec![];
    for &eighths in points {
        interrupt(home, args, full * eighths / 8, signal);
        if let Outcome::Failed(reason) = next_command_sees(home, name) {
            reasons.push(reason);
        }
    }
    reasons
}

#[test]
fn a_restore_killed_at_any_point_ends_create_failed_and_delete_frees_everything() {
    require_root!();
    let home = Home::new();
    let set = backed_up_source(&home);
    let args = restore_args(&set, "dst");
    let reasons = kill_at_points(&home, &args, "dst", &[1, 2, 3, 4, 5, 6], SIGKILL);
    assert!(
        !reasons.is_empty(),
        "some kill landed midway (the runs are spread over the measured duration)"
    );
    for r in &reasons {
        assert!(
            r.contains("killed") && r.contains("stack delete dst"),
            "the reason says what happened and the way out: {r}"
        );
    }
    let restored = home.json(&args[1..]);
    assert_eq!(
        restored["status"], "ONLINE",
        "the name is reused after the interrupted runs"
    );
}

#[test]
fn a_stack_create_restore_killed_at_any_point_ends_create_failed_and_delete_frees_everything() {
    require_root!();
    let home = Home::new();
    let set = backed_up_source(&home);
    let args = create_restore_args(&set, "dst");
    let reasons = kill_at_points(&home, &args, "dst", &[1, 3, 5], SIGKILL);
    assert!(!reasons.is_empty(), "some kill landed midway");
    assert_eq!(home.json(&args[1..])["status"], "ONLINE");
}

#[test]
fn a_restore_stopped_by_sigterm_ends_create_failed_at_once() {
    require_root!();
    let home = Home::new();
    let set = backed_up_source(&home);
    let args = restore_args(&set, "dst");
    let reasons = kill_at_points(&home, &args, "dst", &[1, 2, 3, 4, 5], SIGTERM);
    assert!(!reasons.is_empty(), "some signal landed midway");
    for r in &reasons {
        assert!(
            !r.contains("killed or crashed"),
            "the stopped run ended its own creation, not the next command: {r}"
        );
    }
    let jobs = home.json(&["job", "list", "--stack", "dst"]);
    let ended: Vec<&serde_json::Value> = jobs
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["kind"] == "stack-restore")
        .collect();
    assert!(ended.iter().all(|j| j["state"] != "RUNNING"), "{jobs}");
    assert!(
        ended.iter().any(|j| j["state"] == "ABORTED"),
        "a signal ends the restore job ABORTED: {jobs}"
    );
}

#[test]
fn deleting_a_part_of_a_backup_set_is_refused_and_force_marks_the_set_broken() {
    require_root!();
    let home = Home::new();
    home.json(&["stack", "create", "src", "--profile", "generic"]);
    let first = home.json(&["backup", "src"]);
    let second = home.json(&["backup", "src"]);
    let (id1, rp1) = (
        first["backup_id"].as_str().unwrap(),
        first["recovery_point_arn"].as_str().unwrap(),
    );
    let (id2, db2) = (
        second["backup_id"].as_str().unwrap(),
        second["db_snapshot_id"].as_str().unwrap(),
    );

    let (code, msg, _) = home.fails(&["recovery-point", "delete", rp1]);
    assert_eq!(code, "part_of_backup_set", "{msg}");
    assert!(
        msg.contains(id1) && msg.contains("--force"),
        "the refusal names the set and the way out: {msg}"
    );
    assert_eq!(
        home.json(&["recovery-point", "show", rp1])["status"],
        "AVAILABLE",
        "nothing was deleted"
    );
    let (code, msg, _) = home.fails(&["db-snapshot", "delete", db2]);
    assert_eq!(code, "part_of_backup_set", "{msg}");
    assert!(msg.contains(id2), "{msg}");
    assert_eq!(
        home.json(&["backup-set", "show", id1])["status"],
        "AVAILABLE"
    );

    home.json(&["recovery-point", "delete", rp1, "--force"]);
    let broken = home.json(&["backup-set", "show", id1]);
    assert_eq!(broken["status"], "BROKEN", "{broken}");
    assert_eq!(broken["missing_parts"], serde_json::json!([rp1]));
    assert_eq!(
        home.json(&["backup-set", "show", id2])["status"],
        "AVAILABLE",
        "the other set is whole"
    );
    let text = String::from_utf8(home.run(&["backup-set", "list"]).stdout).unwrap();
    let line = text
        .lines()
        .find(|l| l.contains(id1))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(line.contains("BROKEN"), "the text list shows it: {text}");
    let (code, msg, _) = home.fails(&[
        "restore",
        "dst",
        "--backup",
        id1,
        "--domain",
        "dst.example.org",
    ]);
    assert_eq!(code, "backup_broken", "{msg}");
    assert!(
        msg.contains(rp1),
        "the refusal names the missing part: {msg}"
    );
    let (code, _, _) = home.fails(&["stack", "show", "dst"]);
    assert_eq!(
        code, "stack_not_found",
        "a refused restore leaves no record"
    );

    home.json(&["db-snapshot", "delete", db2, "--force"]);
    assert_eq!(
        home.json(&["backup-set", "show", id2])["missing_parts"],
        serde_json::json!([db2])
    );

    // On a new home the vault tells the same: both sets are BROKEN.
    let kit = home.json(&["vault", "recovery-kit", "src-daily", "--yes"]);
    let new = Home::new();
    new.json(&["init"]);
    new.json(&[
        "vault",
        "attach",
        "src-daily",
        "--location",
        kit["location"].as_str().unwrap(),
        "--recovery-key",
        kit["recovery_key"].as_str().unwrap(),
    ]);
    assert_eq!(new.json(&["backup-set", "show", id1])["status"], "BROKEN");
    assert_eq!(new.json(&["backup-set", "show", id2])["status"], "BROKEN");
}

#[test]
fn an_offline_backup_whose_snapshot_fails_brings_the_hub_back_online_itself() {
    require_root!();
    let home = Home::new();
    home.json(&["stack", "create", "big", "--profile", "generic"]);
    let url = admin_url(&home, "big");
    let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    c.batch_execute(
        "CREATE TABLE rows AS SELECT g, md5(g::text) AS h FROM generate_series(1, 1500000) g",
    )
    .unwrap();
    let limit_before: i32 = c
        .query_one(
            "SELECT datconnlimit FROM pg_database WHERE datname = current_database()",
            &[],
        )
        .unwrap()
        .get(0);

    let child = home
        .cmd(&["--json", "backup", "big", "--offline"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    // While the snapshot runs, its sessions are ended from outside, as a
    // server restart or an operator would; hubkeep's ALTER DATABASE is spared.
    let mut ended = 0u64;
    while std::fs::metadata(format!("/proc/{pid}/stat")).is_ok()
        && !String::from_utf8_lossy(&std::fs::read(format!("/proc/{pid}/stat")).unwrap_or_default())
            .contains(") Z")
    {
        let jobs = home.json(&["job", "list", "--stack", "big"]);
        if jobs
            .as_array()
            .unwrap()
            .iter()
            .any(|j| j["kind"] == "db-snapshot" && j["state"] == "RUNNING")
        {
            let rows = c
                .query(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() \
                     AND state IN ('active', 'idle in transaction') AND query NOT ILIKE 'ALTER DATABASE%'",
                    &[],
                )
                .unwrap();
            ended += rows.len() as u64;
        }
    }
    let out = child.wait_with_output().unwrap();
    assert!(ended > 0, "the snapshot's sessions were ended while it ran");
    assert!(
        !out.status.success(),
        "the backup cannot go on without its snapshot"
    );
    let err: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        err["error"]["message"].as_str().unwrap().contains("big"),
        "{err}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("could not bring"), "{stderr}");

    let shown = home.run(&["--json", "stack", "show", "big"]);
    let next_stderr = String::from_utf8_lossy(&shown.stderr);
    assert!(
        !next_stderr.contains("left offline"),
        "the failing backup itself brought the hub online, not the next command: {next_stderr}"
    );
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(shown["status"], "ONLINE", "{shown}");
    assert!(shown["offline"].is_null(), "{shown}");
    let limit_after: i32 = c
        .query_one(
            "SELECT datconnlimit FROM pg_database WHERE datname = current_database()",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(
        limit_after, limit_before,
        "the connection limit is restored"
    );
    let snaps = home.json(&["db-snapshot", "list", "--stack", "big"]);
    assert!(
        snaps
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["status"] != "available" && s["status"] != "creating"),
        "{snaps}"
    );
}
