//! `hubkeep serve` as an operator runs it, on an accelerated clock
//! (`HUBKEEP_CLOCK=…@rate`): the nightly backup fires at 10:00 of the
//! plan's time zone, a run missed past its start window is one EXPIRED job
//! while one inside it is caught up exactly once (restarts included), and
//! SIGTERM stops the daemon with every hub online and exit status 0.

mod common;
use common::*;
use serde_json::Value;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// A running `hubkeep serve`, its stderr going to a file the test reads.
struct Daemon {
    child: Child,
    log: std::path::PathBuf,
}

impl Daemon {
    fn start(home: &Home, clock: &str, name: &str) -> Daemon {
        let log = home.dir.path().join(name);
        let child = home
            .cmd(&["serve", "--listen", "127.0.0.1:0"])
            .env("HUBKEEP_CLOCK", clock)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Daemon { child, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the log has a line containing `needle`; a bound keeps a
    /// broken daemon from hanging the test (it is not a timing assertion).
    fn wait_for(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(300);
        loop {
            let log = self.log();
            if let Some(line) = log.lines().find(|l| l.contains(needle)) {
                return line.to_string();
            }
            assert!(
                Instant::now() < deadline,
                "the daemon never logged {needle:?}:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM; returns the exit status and the whole log.
    fn terminate(mut self) -> (std::process::ExitStatus, String) {
        unsafe { libc_kill(self.child.id() as i32, 15) };
        let status = self.child.wait().unwrap();
        (status, self.log())
    }
}

extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}

/// A stack whose plan runs only its backup (no drill, gc or verify).
fn stack(home: &Home, name: &str, created_at: &str, plan: &[&str]) {
    home.json_at(
        created_at,
        &["stack", "create", name, "--profile", "generic"],
    );
    let mut args = vec![
        "plan", "set", name, "--verify", "off", "--drill", "off", "--gc", "off",
    ];
    args.extend_from_slice(plan);
    home.json(&args);
}

fn jobs(home: &Home, state: &str) -> Vec<Value> {
    home.json(&["job", "list", "--state", state])
        .as_array()
        .unwrap()
        .clone()
}

/// Waits until job `id` has ended; returns it.
fn ended(home: &Home, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let job = home.json(&["job", "show", id]);
        if !matches!(job["state"].as_str(), Some("QUEUED" | "RUNNING")) {
            return job;
        }
        assert!(Instant::now() < deadline, "job {id} never ended: {job}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The job id in a log line "… queued job ID for the run scheduled at …".
fn queued_id(line: &str) -> String {
    line.split("queued job ")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn the_nightly_backup_fires_at_ten_in_the_plans_zone_and_sigterm_leaves_the_hub_online() {
    require_root!();
    let home = Home::new();
    // 10:00 in Berlin in January is 09:00 UTC.
    stack(
        &home,
        "hub",
        "2027-01-04T00:00:00Z",
        &["--timezone", "Europe/Berlin"],
    );
    let daemon = Daemon::start(&home, "2027-01-04T08:58:00Z@600", "serve.log");
    let line = daemon.wait_for("backup hub queued job");
    assert!(
        line.ends_with("for the run scheduled at 2027-01-04T09:00:00Z"),
        "{line}"
    );
    let job = ended(&home, &queued_id(&line));
    assert_eq!(job["state"], "COMPLETED", "{job}");
    assert_eq!(job["kind"], "backup");
    let set_id = job["resource"].as_str().unwrap().to_string();
    let set = home.json(&["backup-set", "show", &set_id]);
    assert_eq!(
        set["automated"], true,
        "a scheduled backup is automated: {set}"
    );
    assert_eq!(
        set["offline"], true,
        "the default plan backs up offline: {set}"
    );

    let (status, log) = daemon.terminate();
    assert!(
        status.success(),
        "serve exits 0 on SIGTERM: {status:?}\n{log}"
    );
    assert!(log.contains("serve: SIGTERM: stopping"), "{log}");
    assert!(
        !log.contains("for the run scheduled at 2027-01-03"),
        "no earlier night was run: {log}"
    );
    assert_eq!(home.json(&["stack", "show", "hub"])["status"], "ONLINE");
}

#[test]
fn a_run_missed_past_its_window_expires_once_and_one_inside_it_is_caught_up_once() {
    require_root!();
    let home = Home::new();
    stack(&home, "hub", "2027-01-04T00:00:00Z", &[]);

    // Down from before 10:00 until 19:00: past the 8 h start window.
    let daemon = Daemon::start(&home, "2027-01-04T19:00:00Z@60", "late.log");
    daemon.wait_for("backup hub missed its run scheduled for 2027-01-04T10:00:00Z");
    let (status, log) = daemon.terminate();
    assert!(status.success(), "{log}");
    let expired = jobs(&home, "EXPIRED");
    assert_eq!(
        expired.len(),
        1,
        "one EXPIRED job for the one missed time: {expired:?}"
    );
    assert_eq!(expired[0]["kind"], "backup");
    assert_eq!(expired[0]["stack"], "hub");
    assert!(
        expired[0]["error"]
            .as_str()
            .unwrap()
            .contains("2027-01-04T10:00:00Z"),
        "{}",
        expired[0]
    );
    assert!(
        home.json(&["backup-set", "list"])
            .as_array()
            .unwrap()
            .is_empty(),
        "a missed run is not run late"
    );
    assert!(!log.contains("queued job"), "{log}");

    // Down over the next 10:00, started again at 11:00: inside the window.
    let daemon = Daemon::start(&home, "2027-01-05T11:00:00Z@60", "inside.log");
    let line = daemon.wait_for("backup hub queued job");
    assert!(
        line.ends_with("for the run scheduled at 2027-01-05T10:00:00Z"),
        "{line}"
    );
    assert_eq!(ended(&home, &queued_id(&line))["state"], "COMPLETED");
    let (status, log) = daemon.terminate();
    assert!(status.success(), "{log}");

    // Restarted again inside the same window, it runs that time no more;
    // the next night's run shows it has looked.
    let daemon = Daemon::start(&home, "2027-01-05T11:30:00Z@3600", "again.log");
    let line = daemon.wait_for("backup hub queued job");
    assert!(
        line.ends_with("for the run scheduled at 2027-01-06T10:00:00Z"),
        "the 05T10:00 run was caught up once only: {line}"
    );
    ended(&home, &queued_id(&line));
    let (status, log) = daemon.terminate();
    assert!(status.success(), "{log}");
    assert!(!log.contains("scheduled at 2027-01-05T10:00:00Z"), "{log}");
    assert_eq!(
        jobs(&home, "EXPIRED").len(),
        1,
        "the kept next time was not expired"
    );
}

#[test]
fn sigterm_in_the_middle_of_an_offline_backup_aborts_it_and_brings_the_hub_back_online() {
    require_root!();
    let home = Home::new();
    stack(&home, "hub", "2027-01-04T00:00:00Z", &["--offline"]);
    // The offline hook is still running when SIGTERM comes; the online hook
    // leaves a mark when the hub is brought back.
    let mark = home.dir.path().join("online-hook-ran");
    let online = format!("touch {}", mark.display());
    home.json(&[
        "stack",
        "update",
        "hub",
        "--offline-hook",
        "sleep 5",
        "--online-hook",
        &online,
    ]);
    let daemon = Daemon::start(&home, "2027-01-04T09:59:00Z@600", "sigterm.log");
    let line = daemon.wait_for("backup hub started job");
    let id = line
        .split("started job ")
        .nth(1)
        .unwrap()
        .trim()
        .to_string();

    let (status, log) = daemon.terminate();
    assert!(
        status.success(),
        "serve exits 0 on SIGTERM: {status:?}\n{log}"
    );
    let job = home.json(&["job", "show", &id]);
    assert_eq!(job["state"], "ABORTED", "{job}\n{log}");
    let hub = home.json(&["stack", "show", "hub"]);
    assert_eq!(hub["status"], "ONLINE", "{hub}\n{log}");
    assert!(mark.exists(), "the online hook ran: {log}");
    assert!(
        home.json(&["backup-set", "list"])
            .as_array()
            .unwrap()
            .is_empty(),
        "an aborted backup leaves no set"
    );
}

extern "C" {
    #[link_name = "flock"]
    fn libc_flock(fd: i32, operation: i32) -> i32;
}

#[test]
fn a_backup_that_waits_for_a_locked_stack_past_its_window_expires_saying_what_it_waited_for() {
    require_root!();
    let home = Home::new();
    stack(
        &home,
        "hub",
        "2027-01-04T00:00:00Z",
        &["--start-window", "2h"],
    );
    // What a long `hubkeep` command of another process holds on the stack.
    use std::io::Write;
    use std::os::fd::AsRawFd;
    let path = home.path().join("locks").join("hub.lock");
    let mut lock = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .unwrap();
    assert_eq!(unsafe { libc_flock(lock.as_raw_fd(), 2) }, 0, "LOCK_EX");
    write!(lock, "restore-job by pid 4242").unwrap();

    let daemon = Daemon::start(&home, "2027-01-04T09:59:00Z@3600", "locked.log");
    let queued = queued_id(&daemon.wait_for("backup hub queued job"));
    daemon.wait_for("backup hub missed its run scheduled for 2027-01-04T10:00:00Z");
    drop(lock);
    let (status, log) = daemon.terminate();
    assert!(status.success(), "{log}");
    let job = home.json(&["job", "show", &queued]);
    assert_eq!(job["state"], "EXPIRED", "{job}");
    let error = job["error"].as_str().unwrap();
    assert!(
        error.contains("stack hub is locked by restore-job by pid 4242"),
        "{error}"
    );
    assert!(
        home.json(&["backup-set", "list"])
            .as_array()
            .unwrap()
            .is_empty(),
        "{log}"
    );
}

#[test]
fn thirty_nights_leave_exactly_the_sets_the_retention_rules_keep_and_the_kept_ones_restore_after_gc(
) {
    require_root!();
    let home = Home::new();
    stack(&home, "hub", "2027-01-04T00:00:00Z", &["--no-offline"]);
    // Six hours pass each second: a night every four seconds.
    let daemon = Daemon::start(&home, "2027-01-04T09:59:00Z@21600", "nights.log");
    let last = queued_id(&daemon.wait_for("for the run scheduled at 2027-02-02T10:00:00Z"));
    ended(&home, &last);
    let (status, log) = daemon.terminate();
    assert!(status.success(), "{log}");
    let nights = log
        .lines()
        .filter(|l| l.contains("backup hub queued job"))
        .count();
    assert_eq!(
        nights, 30,
        "one backup per night from 2027-01-04 to 2027-02-02:\n{log}"
    );
    // The last night's retention, as the daemon would have run it next.
    let out = home
        .cmd(&["--json", "retention", "run", "--stack", "hub"])
        .env("HUBKEEP_CLOCK", "2027-02-02T20:00:00Z")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let sets = home
        .json(&["backup-set", "list"])
        .as_array()
        .unwrap()
        .clone();
    assert!(
        sets.len() >= 28,
        "nearly every night made its set: {}",
        sets.len()
    );
    let summaries: Vec<hubkeep_plan::retention::SetSummary> = sets
        .iter()
        .map(|s| hubkeep_plan::retention::SetSummary {
            id: s["backup_id"].as_str().unwrap().to_string(),
            created_at: s["started_at"].as_str().unwrap().parse().unwrap(),
            automated: s["automated"].as_bool().unwrap(),
            good: false,
        })
        .collect();
    assert!(summaries.iter().all(|s| s.automated));
    let plan = hubkeep_plan::Plan::new("hub");
    let oracle = hubkeep_plan::retention::decide(&summaries, &plan.retention, plan.timezone);
    let mut expected: Vec<String> = oracle.keep.iter().map(|f| f.id.clone()).collect();
    let mut kept: Vec<String> = sets
        .iter()
        .filter(|s| s["status"] == "AVAILABLE")
        .map(|s| s["backup_id"].as_str().unwrap().to_string())
        .collect();
    expected.sort();
    kept.sort();
    assert_eq!(
        kept, expected,
        "the nightly retention kept exactly what the rules keep"
    );
    assert!(
        kept.len() < sets.len(),
        "30 nights with keep-daily 14 expire some sets"
    );

    let vault = home.json(&["stack", "show", "hub"])["outputs"]["daily_backup_vault"]
        .as_str()
        .unwrap()
        .to_string();
    home.json(&["vault", "gc", &vault, "--grace-seconds", "0"]);
    let oldest = oracle.keep.iter().min_by_key(|f| f.created_at).unwrap();
    let newest = oracle.keep.iter().max_by_key(|f| f.created_at).unwrap();
    for (name, set) in [("old", oldest), ("new", newest)] {
        home.json(&["restore", name, "--backup", &set.id]);
        assert_eq!(
            home.json(&["stack", "show", name])["status"],
            "ONLINE",
            "kept set {} restores after gc",
            set.id
        );
    }
}

#[test]
fn a_daemon_killed_after_a_nightly_backup_still_runs_its_retention_when_restarted() {
    require_root!();
    let home = Home::new();
    stack(&home, "hub", "2027-01-04T00:00:00Z", &["--no-offline"]);
    let mut daemon = Daemon::start(&home, "2027-01-04T09:59:00Z@60", "first.log");
    let id = queued_id(&daemon.wait_for("backup hub queued job"));
    // Killed (no SIGTERM clean-up) as soon as the backup has completed,
    // most often before the scheduler's next look queues its follow-ups.
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let job = home.json(&["job", "show", &id]);
        if !matches!(job["state"].as_str(), Some("QUEUED" | "RUNNING")) {
            assert_eq!(job["state"], "COMPLETED", "{job}");
            break;
        }
        assert!(Instant::now() < deadline, "job {id} never ended: {job}");
        std::thread::sleep(Duration::from_millis(5));
    }
    daemon.child.kill().unwrap();
    daemon.child.wait().unwrap();
    let first = daemon.log();

    let daemon = Daemon::start(&home, "2027-01-04T10:30:00Z@60", "second.log");
    if !first.contains("retention hub queued job") {
        daemon.wait_for("retention hub queued job");
    }
    // Given the time to look twice, it queues nothing it already ran.
    std::thread::sleep(Duration::from_secs(5));
    let (status, second) = daemon.terminate();
    assert!(status.success(), "{second}");
    let queued = |log: &str| log.matches("retention hub queued job").count();
    assert_eq!(
        queued(&first) + queued(&second),
        1,
        "the night's retention runs once, before or after the restart:\n{first}\n---\n{second}"
    );
    assert!(!second.contains("backup hub queued job"), "{second}");
}
