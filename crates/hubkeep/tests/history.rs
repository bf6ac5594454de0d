//! `stack history`: a stack's nights are dates of its plan's time zone
//! (across a daylight-saving change too), each telling what came of that
//! night's backup (backed up, failed, missed: by the scheduler's record or
//! by a start window that passed with nothing; expired, even once gc forgot
//! the set), the vault's size is sampled after each backup, retention run
//! and gc, and `--json` is the document
//! `GET /api/v1/stacks/{name}/history` serves.

mod common;
use common::*;
use serde_json::Value;
use std::io::{Read, Write};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// A generic stack made at `created_at` whose plan backs up at 01:00 in
/// Berlin (and does nothing else).
fn berlin_stack(home: &Home, name: &str, created_at: &str) {
    home.json_at(
        created_at,
        &["stack", "create", name, "--profile", "generic"],
    );
    home.json(&[
        "plan",
        "set",
        name,
        "--timezone",
        "Europe/Berlin",
        "--schedule",
        "0 1 * * *",
        "--verify",
        "off",
        "--drill",
        "off",
        "--gc",
        "off",
    ]);
}

/// The night of `date` in a history document.
fn night<'a>(history: &'a Value, date: &str) -> &'a Value {
    history["nights"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["date"] == date)
        .unwrap_or_else(|| panic!("no night {date} in {history}"))
}

#[test]
fn nights_are_dates_of_the_plans_zone_across_the_autumn_clock_change() {
    require_root!();
    let home = Home::new();
    berlin_stack(&home, "hub", "2026-10-20T08:00:00Z");
    // 00:30 on Sunday 25 October in Berlin (summer time, UTC+2) is still
    // Saturday the 24th in UTC: the backup belongs to the night of the 25th.
    let set = home.json_at("2026-10-24T22:30:00Z", &["backup", "hub"]);

    let history = home.json_at(
        "2026-10-27T12:00:00Z",
        &["stack", "history", "hub", "--nights", "8"],
    );
    assert_eq!(history["timezone"], "Europe/Berlin");
    let dates: Vec<&str> = history["nights"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["date"].as_str().unwrap())
        .collect();
    assert_eq!(
        dates,
        [
            "2026-10-20",
            "2026-10-21",
            "2026-10-22",
            "2026-10-23",
            "2026-10-24",
            "2026-10-25",
            "2026-10-26",
            "2026-10-27"
        ],
        "eight nights ending today in Berlin"
    );
    let sunday = night(&history, "2026-10-25");
    assert_eq!(sunday["state"], "backed_up", "{sunday}");
    assert_eq!(sunday["backup_id"], set["backup_id"]);
    assert_eq!(
        sunday["scheduled_at"], "2026-10-24T23:00:00Z",
        "01:00 in summer time is 23:00 UTC the day before"
    );
    let monday = night(&history, "2026-10-26");
    assert_eq!(
        monday["scheduled_at"], "2026-10-26T00:00:00Z",
        "01:00 in winter time is 00:00 UTC"
    );
    let saturday = night(&history, "2026-10-24");
    assert_eq!(
        saturday["state"], "missed",
        "the UTC date of the backup is not its night: {saturday}"
    );
    let first = night(&history, "2026-10-20");
    assert_eq!(
        first["state"], "none",
        "01:00 on the 20th was before the stack existed: {first}"
    );
    assert_eq!(
        history["vault_size"].as_array().unwrap().len(),
        1,
        "the backup sampled the vault's size: {history}"
    );
    assert!(history["vault_size"][0]["stored_bytes"].as_u64().unwrap() > 0);

    // A night's backup set that passed a full verify says so.
    home.json(&["verify", set["backup_id"].as_str().unwrap(), "--read-data"]);
    let history = home.json_at(
        "2026-10-27T12:00:00Z",
        &["stack", "history", "hub", "--nights", "8"],
    );
    assert_eq!(night(&history, "2026-10-25")["verified"], true);

    let (code, message, _) = home.fails(&["stack", "history", "hub", "--nights", "0"]);
    assert_eq!(code, "invalid_argument", "{message}");
    assert!(message.contains("--nights 0"), "{message}");
}

#[test]
fn a_failed_backup_and_a_missed_run_show_on_their_nights() {
    require_root!();
    let home = Home::new();
    berlin_stack(&home, "hub", "2027-01-04T06:00:00Z");

    // 23:00 on 5 January in Berlin: the file store is gone, the backup fails.
    let storage = home.json(&["stack", "show", "hub"])["outputs"]["storage_path"]
        .as_str()
        .unwrap()
        .to_string();
    let away = format!("{storage}.away");
    std::fs::rename(&storage, &away).unwrap();
    let out = home
        .cmd(&["--json", "backup", "hub"])
        .env("HUBKEEP_CLOCK", "2027-01-05T22:00:00Z")
        .output()
        .unwrap();
    std::fs::rename(&away, &storage).unwrap();
    assert!(
        !out.status.success(),
        "a backup without its file store fails"
    );

    // The daemon, down from before 01:00 on the 7th until 10:00 (past the
    // 8 h start window), records that run as missed.
    let daemon = Daemon::start(&home, "2027-01-07T09:00:00Z@60");
    daemon.wait_for("backup hub missed its run scheduled for 2027-01-07T00:00:00Z");
    daemon.terminate();
    let expired = home.json(&["job", "list", "--state", "EXPIRED"]);
    assert!(
        expired
            .as_array()
            .unwrap()
            .iter()
            .any(|j| j["created_at"] == "2027-01-07T00:00:00Z"),
        "a missed run is recorded at its scheduled time: {expired}"
    );

    let history = home.json_at(
        "2027-01-07T12:00:00Z",
        &["stack", "history", "hub", "--nights", "4"],
    );
    assert_eq!(
        night(&history, "2027-01-04")["state"],
        "none",
        "the stack was made after 01:00 on the 4th: {history}"
    );
    assert_eq!(
        night(&history, "2027-01-05")["state"],
        "failed",
        "{history}"
    );
    assert_eq!(
        night(&history, "2027-01-06")["state"],
        "missed",
        "nothing ran, and the window passed: {history}"
    );
    assert_eq!(
        night(&history, "2027-01-07")["state"],
        "missed",
        "{history}"
    );
    assert_eq!(night(&history, "2027-01-05")["backup_id"], Value::Null);
}

#[test]
fn a_night_whose_set_retention_expired_still_reads_expired_after_gc_forgets_the_set() {
    require_root!();
    let home = Home::new();
    berlin_stack(&home, "hub", "2026-10-20T08:00:00Z");
    home.json(&[
        "plan",
        "set",
        "hub",
        "--keep-last",
        "1",
        "--keep-daily",
        "0",
        "--keep-weekly",
        "0",
        "--keep-monthly",
        "0",
    ]);
    let old = home.json_at("2026-10-21T10:00:00Z", &["backup", "hub", "--automated"]);
    let new = home.json_at("2026-10-22T10:00:00Z", &["backup", "hub", "--automated"]);
    let run = home.json_at(
        "2026-10-23T10:00:00Z",
        &["retention", "run", "--stack", "hub"],
    );
    assert_eq!(run["expire"][0]["id"], old["backup_id"], "{run}");
    home.json_at(
        "2026-10-23T10:05:00Z",
        &["vault", "gc", "hub-daily", "--grace-seconds", "0"],
    );
    let sets = home.json(&["backup-set", "list"]);
    assert_eq!(
        sets.as_array().unwrap().len(),
        1,
        "gc forgot the expired set: {sets}"
    );

    let history = home.json_at(
        "2026-10-23T12:00:00Z",
        &["stack", "history", "hub", "--nights", "3"],
    );
    let expired = night(&history, "2026-10-21");
    assert_eq!(expired["state"], "expired", "{history}");
    assert_eq!(expired["backup_id"], old["backup_id"]);
    assert_eq!(night(&history, "2026-10-22")["backup_id"], new["backup_id"]);
    let sizes: Vec<u64> = history["vault_size"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["stored_bytes"].as_u64().unwrap())
        .collect();
    assert_eq!(
        sizes.len(),
        4,
        "a sample after each backup, the retention run and gc: {history}"
    );
    assert!(
        sizes[1] > sizes[0],
        "the second backup added to the vault: {sizes:?}"
    );
    assert!(
        sizes[3] < sizes[1],
        "expiring and gc took the old set's parts away: {sizes:?}"
    );
}

#[test]
fn the_json_of_stack_history_is_the_document_the_api_serves() {
    require_root!();
    let home = Home::new();
    berlin_stack(&home, "hub", "2027-03-01T08:00:00Z");
    home.json_at("2027-03-27T23:30:00Z", &["backup", "hub"]);
    let token = home.json(&["token", "create", "viewer", "--role", "read"])["token"]
        .as_str()
        .unwrap()
        .to_string();

    // A clock that barely moves: both answers are read in the same second.
    let clock = "2027-04-02T12:00:00Z@0.000001";
    let daemon = Daemon::start(&home, clock);
    let url = daemon.url();
    let cli = home.json_at(clock, &["stack", "history", "hub"]);
    let api = get(&url, "/api/v1/stacks/hub/history", &token);
    let week = get(&url, "/api/v1/stacks/hub/history?nights=7", &token);
    daemon.terminate();
    assert_eq!(
        api, cli,
        "GET /api/v1/stacks/hub/history is `stack history hub --json`"
    );
    assert_eq!(
        cli["nights"].as_array().unwrap().len(),
        30,
        "30 nights unless told"
    );
    assert_eq!(week["nights"].as_array().unwrap().len(), 7);
    // Summer time starts on 28 March 2027 at 02:00: 01:00 that night is
    // still 00:00 UTC, the next night 23:00 UTC the day before.
    assert_eq!(night(&cli, "2027-03-28")["state"], "backed_up", "{cli}");
    assert_eq!(
        night(&cli, "2027-03-28")["scheduled_at"],
        "2027-03-28T00:00:00Z"
    );
    assert_eq!(
        night(&cli, "2027-03-29")["scheduled_at"],
        "2027-03-28T23:00:00Z"
    );
}

/// A running `hubkeep serve --listen 127.0.0.1:0`, its stderr in a file.
struct Daemon {
    child: Child,
    log: std::path::PathBuf,
}

impl Daemon {
    fn start(home: &Home, clock: &str) -> Daemon {
        let log = home
            .dir
            .path()
            .join(format!("serve-{}.log", clock.replace([':', '@'], "-")));
        let child = home
            .cmd(&["serve", "--listen", "127.0.0.1:0"])
            .env("HUBKEEP_CLOCK", clock)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Daemon { child, log }
    }

    /// The first log line containing `needle`; a bound keeps a broken
    /// daemon from hanging the test (it is not a timing assertion).
    fn wait_for(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(300);
        loop {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
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

    /// Where the HTTP API listens, as the daemon logs it.
    fn url(&self) -> String {
        let line = self.wait_for("the HTTP API on http://");
        line.split("the HTTP API on ")
            .nth(1)
            .unwrap()
            .trim()
            .to_string()
    }

    fn terminate(mut self) {
        unsafe { libc_kill(self.child.id() as i32, 15) };
        let status = self.child.wait().unwrap();
        assert!(status.success(), "serve exits 0 on SIGTERM: {status:?}");
    }
}

extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}

/// `GET path` with a bearer token over plain HTTP/1.1; the JSON body of a 200.
fn get(url: &str, path: &str, token: &str) -> Value {
    let addr = url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    assert!(
        head.starts_with("HTTP/1.1 200"),
        "GET {path}: {head}\n{body}"
    );
    serde_json::from_str(body).unwrap_or_else(|e| panic!("GET {path} is not JSON ({e}): {body}"))
}
