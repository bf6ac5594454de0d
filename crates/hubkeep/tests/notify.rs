//! The operator's story of notifications: a webhook hears that a backup
//! failed, signed with its secret; `notify test` proves a receiver works
//! and says clearly when it does not; a receiver that is down never stops a
//! backup; a webhook gets only the events it asked for; its secret is never
//! shown or stored in clear; an RPO breach is notified once; a plan pings
//! its automated backups; retention and gc say what they did.

mod common;
use common::*;
use hmac::{Hmac, Mac};
use hubkeep_testkit::webhook::{nowhere, Receiver, Request};
use serde_json::Value;
use sha2::Sha256;

/// The local webhook receiver: answers every request 200 and records it.
fn hook_receiver() -> Receiver {
    Receiver::at("/hook", vec![])
}

/// The receiver's own check of `X-Hubkeep-Signature`, with hmac and sha2.
fn signed_with(request: &Request, secret: &str) -> bool {
    let Some(header) = request.headers.get("x-hubkeep-signature") else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(&request.body);
    header == &format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn secret_file(home: &Home, secret: &str) -> String {
    let path = home.dir.path().join("hook.secret");
    std::fs::write(&path, format!("{secret}\n")).unwrap();
    path.to_str().unwrap().to_string()
}

/// Whether any file under `dir` holds `needle`.
fn any_file_holds(dir: &std::path::Path, needle: &[u8]) -> Option<std::path::PathBuf> {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let ft = e.file_type().unwrap();
        if ft.is_dir() {
            if let Some(p) = any_file_holds(&e.path(), needle) {
                return Some(p);
            }
        } else if ft.is_file() {
            let bytes = std::fs::read(e.path()).unwrap_or_default();
            if bytes.windows(needle.len()).any(|w| w == needle) {
                return Some(e.path());
            }
        }
    }
    None
}

#[test]
fn a_backup_that_fails_because_the_database_is_stopped_sends_a_signed_backup_failed() {
    require_root!();
    let home = Home::new();
    // The adopted hub's database runs on a cluster hubkeep runs for another
    // stack, so the test can stop it (hubkeep restarts its own stacks' clusters).
    home.json(&["stack", "create", "server", "--profile", "generic"]);
    let files = home.scratch("legacy-files");
    std::fs::write(files.join("a.txt"), "a file").unwrap();
    let app_url = secret_url(&home, "server");
    home.json(&[
        "stack",
        "adopt",
        "legacy",
        "--profile",
        "generic",
        "--database-url",
        &app_url,
        "--storage",
        files.to_str().unwrap(),
    ]);

    let failures = hook_receiver();
    let secret = "whsec-7d1f0c2a9b";
    let added = home.json(&[
        "notify",
        "add",
        "ops",
        "--webhook",
        &failures.url,
        "--secret-file",
        &secret_file(&home, secret),
    ]);
    assert_eq!(added["name"], "ops");
    assert_eq!(added["webhook"], failures.url.as_str());
    assert_eq!(
        added["events"],
        serde_json::json!([
            "backup.failed",
            "backup.missed",
            "verify.failed",
            "drill.failed",
            "rpo.breached"
        ]),
        "the default: every failure and rpo.breached"
    );
    let completions = hook_receiver();
    home.json(&[
        "notify",
        "add",
        "chat",
        "--webhook",
        &completions.url,
        "--events",
        "backup.completed",
    ]);

    let set = home.json(&["backup", "legacy"]);
    assert!(
        failures.events().is_empty(),
        "a good backup is no failure: {:?}",
        failures.events()
    );
    assert_eq!(
        completions.events(),
        ["backup.completed"],
        "chat asked for completions only"
    );
    let done = completions.requests()[0].json();
    assert_eq!(done["stack"], "legacy");
    assert_eq!(done["backup_id"], set["backup_id"]);
    assert!(
        !completions.requests()[0]
            .headers
            .contains_key("x-hubkeep-signature"),
        "a webhook without a secret is not signed"
    );

    let data = home.path().join("clusters/server/data");
    let stop = std::process::Command::new("runuser")
        .args([
            "-u",
            "postgres",
            "--",
            "/usr/lib/postgresql/15/bin/pg_ctl",
            "stop",
            "-m",
            "fast",
            "-w",
            "-D",
        ])
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        stop.status.success(),
        "{}",
        String::from_utf8_lossy(&stop.stderr)
    );
    let (_, message, _) = home.fails(&["backup", "legacy"]);

    assert_eq!(failures.events(), ["backup.failed"]);
    let request = &failures.requests()[0];
    assert_eq!(request.path, "/hook");
    assert_eq!(request.headers["content-type"], "application/json");
    assert!(
        signed_with(request, secret),
        "X-Hubkeep-Signature is the HMAC-SHA256 of the body: {:?}",
        request.headers
    );
    assert!(!signed_with(request, "another-secret"));
    let failed = request.json();
    assert_eq!(failed["stack"], "legacy");
    assert!(
        failed["message"].as_str().unwrap().contains("failed"),
        "{failed}"
    );
    assert!(
        message.contains(
            failed["message"]
                .as_str()
                .unwrap()
                .rsplit(": ")
                .next()
                .unwrap()
        ),
        "the event says what the error says: {failed} / {message}"
    );
    let job = home.json(&[
        "job",
        "show",
        failed["job_id"].as_str().expect("the failed backup's job"),
    ]);
    assert_eq!(job["state"], "FAILED");
    assert!(failed["at"].is_string());
    assert_eq!(
        completions.events(),
        ["backup.completed"],
        "chat hears no failure"
    );
}

#[test]
fn notify_test_delivers_a_down_receiver_is_a_clear_error_and_never_stops_a_backup() {
    require_root!();
    let home = Home::new();
    home.json(&["stack", "create", "hub", "--profile", "generic"]);
    let receiver = hook_receiver();
    let secret = "s3cret-only-in-a-file-41c9";
    home.json(&[
        "notify",
        "add",
        "ops",
        "--webhook",
        &receiver.url,
        "--secret-file",
        &secret_file(&home, secret),
    ]);

    let tested = home.json(&["notify", "test", "ops"]);
    assert_eq!(tested["status"], "delivered");
    assert_eq!(tested["attempts"], 1);
    let got = receiver.requests();
    assert_eq!(got.len(), 1);
    assert!(signed_with(&got[0], secret));
    assert_eq!(got[0].json()["test"], true);

    // The secret is shown nowhere and stored only sealed.
    let list = home.json(&["notify", "list"]);
    assert_eq!(list[0]["name"], "ops");
    assert_eq!(list[0]["signed"], true);
    assert!(!list.to_string().contains(secret));
    let text = home.run(&["notify", "list"]);
    assert!(!String::from_utf8_lossy(&text.stdout).contains(secret));
    assert_eq!(
        any_file_holds(&home.path(), secret.as_bytes()),
        None,
        "the secret in clear under the home"
    );

    // A receiver that is down: `notify test` fails naming the webhook, a backup completes.
    let down = nowhere();
    home.json(&[
        "notify",
        "add",
        "down",
        "--webhook",
        &down,
        "--events",
        "backup.started,backup.completed,backup.failed",
    ]);
    let (code, message, _) = home.fails(&["notify", "test", "down"]);
    assert_eq!(code, "delivery_failed");
    assert!(
        message.contains("webhook down did not receive the test notification")
            && message.contains("refused"),
        "{message}"
    );
    assert!(
        !message.contains(&down),
        "the error names the webhook, not its URL: {message}"
    );

    let out = home.run(&["--json", "backup", "hub"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning: webhook down did not receive backup.completed"),
        "the lost delivery is noted: {stderr}"
    );
    assert!(!stderr.contains(&down), "{stderr}");
    let set: Value = serde_json::from_slice(&out.stdout).unwrap();
    let snapshot = home.json(&[
        "db-snapshot",
        "show",
        set["db_snapshot_id"].as_str().unwrap(),
    ]);
    assert_eq!(
        home.json(&["job", "show", snapshot["job_id"].as_str().unwrap()])["state"],
        "COMPLETED"
    );

    // Housekeeping: gc and a verify that finds damage are events too.
    let housekeeping = hook_receiver();
    home.json(&[
        "notify",
        "add",
        "housekeeping",
        "--webhook",
        &housekeeping.url,
        "--events",
        "gc.completed,verify.failed",
    ]);
    let vault = set["vault"].as_str().unwrap();
    home.json(&["vault", "gc", vault, "--grace-seconds", "0"]);
    assert_eq!(housekeeping.events(), ["gc.completed"]);
    assert_eq!(housekeeping.requests()[0].json()["vault"], vault);
    flip_byte_in_largest_object(
        home.json(&["vault", "show", vault])["location"]
            .as_str()
            .unwrap(),
    );
    let id = set["backup_id"].as_str().unwrap();
    let (code, _, _) = home.fails(&["verify", id, "--read-data"]);
    assert_eq!(code, "verify_failed");
    assert_eq!(housekeeping.events(), ["gc.completed", "verify.failed"]);
    let damaged = housekeeping.requests()[1].json();
    assert_eq!(
        (damaged["stack"].as_str(), damaged["backup_id"].as_str()),
        (Some("hub"), Some(id))
    );

    home.json(&["notify", "remove", "ops"]);
    assert!(
        home.json(&["param", "list", "/hubkeep/webhook/"])
            .as_array()
            .unwrap()
            .is_empty(),
        "its secret goes with it"
    );
    let (code, message, _) = home.fails(&["notify", "test", "ops"]);
    assert_eq!(code, "not_found", "{message}");
}

#[test]
fn bad_webhooks_are_refused_naming_what_is_wrong() {
    let home = Home::new();
    home.json(&["init"]);
    let (code, message, _) = home.fails(&[
        "notify",
        "add",
        "x",
        "--webhook",
        "ftp://hooks.example.com/x",
    ]);
    assert_eq!(code, "invalid_argument");
    assert!(
        message.contains("ftp://hooks.example.com/x") && message.contains("http"),
        "{message}"
    );
    let (_, message, _) = home.fails(&[
        "notify",
        "add",
        "x",
        "--webhook",
        "https://hooks.example.com/x",
        "--events",
        "backup.failed,backup.exploded",
    ]);
    assert!(
        message.contains("\"backup.exploded\"") && message.contains("rpo.breached"),
        "{message}"
    );
    assert_eq!(
        home.json(&["notify", "list"]),
        serde_json::json!([]),
        "nothing half-added"
    );
    home.json(&[
        "notify",
        "add",
        "x",
        "--webhook",
        "https://hooks.example.com/x",
    ]);
    let (code, _, _) = home.fails(&[
        "notify",
        "add",
        "x",
        "--webhook",
        "https://hooks.example.com/y",
    ]);
    assert_eq!(code, "conflict");
}

#[test]
fn a_plan_notifies_an_rpo_breach_once_pings_its_backups_and_tells_each_expired_set() {
    require_root!();
    let home = Home::new();
    home.json(&["stack", "create", "hub", "--profile", "generic"]);
    let receiver = hook_receiver();
    home.json(&["notify", "add", "ops", "--webhook", &receiver.url]);
    home.json(&["backup", "hub"]);
    let now = chrono::Utc::now();
    let clock = |hours: i64| (now + chrono::Duration::hours(hours)).to_rfc3339();
    let rpo_events = || {
        receiver
            .events()
            .iter()
            .filter(|e| *e == "rpo.breached")
            .count()
    };

    assert_eq!(home.json(&["stack", "show", "hub"])["rpo_breached"], false);
    // The default RPO is 26 h: 27 h after the backup it is breached, and
    // seeing it twice notifies once.
    assert_eq!(
        home.json_at(&clock(27), &["stack", "show", "hub"])["rpo_breached"],
        true
    );
    assert_eq!(
        home.json_at(&clock(28), &["stack", "show", "hub"])["rpo_breached"],
        true
    );
    assert_eq!(rpo_events(), 1, "{:?}", receiver.events());
    let breach = receiver
        .requests()
        .into_iter()
        .find(|r| r.json()["event"] == "rpo.breached")
        .unwrap()
        .json();
    assert_eq!(breach["stack"], "hub");
    assert_eq!(breach["rpo"], "26h");

    // A good backup ends the breach; the next one is notified again.
    home.json_at(&clock(29), &["backup", "hub"]);
    assert_eq!(
        home.json_at(&clock(30), &["stack", "show", "hub"])["rpo_breached"],
        false
    );
    assert_eq!(rpo_events(), 1);
    assert_eq!(
        home.json_at(&clock(29 + 27), &["stack", "show", "hub"])["rpo_breached"],
        true
    );
    assert_eq!(rpo_events(), 2, "{:?}", receiver.events());

    // A plan's ping URL hears an automated backup start and succeed.
    let pings = hook_receiver();
    home.json(&[
        "plan",
        "set",
        "hub",
        "--ping-url",
        &format!("{}/ping", pings.url),
    ]);
    home.json(&["backup", "hub", "--automated"]);
    // The start ping runs in the background beside the backup: order aside.
    let mut paths: Vec<String> = pings.requests().into_iter().map(|r| r.path).collect();
    paths.sort();
    assert_eq!(paths, ["/hook/ping", "/hook/ping/start"]);

    // Retention sends one retention.expired per set it expires.
    let expiries = hook_receiver();
    home.json(&[
        "notify",
        "add",
        "retention",
        "--webhook",
        &expiries.url,
        "--events",
        "retention.expired",
    ]);
    home.json_at(&clock(31), &["backup", "hub", "--automated"]);
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
    let report = home.json_at(&clock(32), &["retention", "run", "--stack", "hub"]);
    let expired: Vec<&str> = report["expire"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(expired.len(), 1, "{report}");
    assert_eq!(expiries.events(), ["retention.expired"]);
    assert_eq!(expiries.requests()[0].json()["backup_id"], expired[0]);
}
