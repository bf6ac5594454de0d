//! The console in a real browser: each story in tests/console/*.mjs runs in
//! headless Chromium (Debian's `chromium`, driven by npm's `playwright-core`
//! that scripts/setup.sh installs) against the API's server over a home that
//! the `hubkeep` binary prepared: a demo hub with a backup set, a drill and a
//! backup that failed two nights ago, an admin and a read token, and a
//! secret whose deletion is scheduled. The console is
//! served by the daemon operators run, `hubkeep serve --listen
//! 127.0.0.1:PORT`, a child of the test stopped with SIGTERM at exit.

use hubkeep_testkit::{hubkeep_bin, hubkeep_json, stop_clusters, throwaway_dir};
use serde_json::Value;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Where scripts/setup.sh installs playwright-core (HUBKEEP_NODE_PREFIX overrides it).
const NODE_PREFIX: &str = "/opt/hubkeep-node";

struct Fixture {
    url: String,
    admin: String,
    read: String,
    stack: String,
    /// A stack with no backup yet: past its RPO.
    unprotected: String,
    secret: String,
    secret_value: String,
}

/// `hubkeep --home HOME --json ARGS`; panics unless it succeeds.
fn hubkeep(home: &Path, args: &[&str]) -> Value {
    hubkeep_json(home, None, args)
}

/// A failed night for the pictures: the stack's backup, with the clock two
/// nights back (`HUBKEEP_CLOCK`, noon of that date in the plan's zone),
/// fails because its file store is away for the moment.
fn failed_backup_two_nights_ago(home: &Path, stack: &str) {
    let history = hubkeep(home, &["stack", "history", stack, "--nights", "3"]);
    let clock = format!(
        "{}T12:00:00Z",
        history["nights"][0]["date"].as_str().unwrap()
    );
    let storage = hubkeep(home, &["stack", "show", stack])["outputs"]["storage_path"]
        .as_str()
        .unwrap()
        .to_string();
    let away = format!("{storage}.away");
    std::fs::rename(&storage, &away).unwrap();
    let out = Command::new(hubkeep_bin())
        .arg("--home")
        .arg(home)
        .args(["--json", "backup", stack])
        .env("HUBKEEP_CLOCK", &clock)
        .output()
        .unwrap();
    std::fs::rename(&away, &storage).unwrap();
    assert!(
        !out.status.success(),
        "a backup without its file store fails"
    );
}

/// The home of the fixture, removed at exit.
static HOME_DIR: Mutex<Option<tempfile::TempDir>> = Mutex::new(None);
/// The `hubkeep serve` serving it, stopped at exit.
static DAEMON: Mutex<Option<Child>> = Mutex::new(None);

/// Stops the daemon (SIGTERM, as an operator's service manager does) and
/// every embedded PostgreSQL cluster the home started, then removes it.
extern "C" fn clean_up() {
    if let Some(mut daemon) = DAEMON.lock().ok().and_then(|mut d| d.take()) {
        // SAFETY: kill(2) on the pid of a child this process started and has not reaped.
        unsafe { libc::kill(daemon.id() as i32, libc::SIGTERM) };
        let _ = daemon.wait();
    }
    let Some(dir) = HOME_DIR.lock().ok().and_then(|mut d| d.take()) else {
        return;
    };
    stop_clusters(&dir.path().join("home"));
    drop(dir);
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        // The embedded PostgreSQL runs as `postgres` and must reach the home.
        let dir = throwaway_dir("hubkeep-console-test-");
        let home = dir.path().join("home");
        hubkeep(&home, &["init"]);
        let demo = hubkeep(&home, &["demo"]);
        let stack = demo["source_stack"].as_str().unwrap().to_string();
        let restored = demo["restored_stack"].as_str().unwrap().to_string();
        let restored = restored.as_str();
        // A drill's restore time and a second vault-size sample (after gc)
        // for the stack's pictures.
        hubkeep(&home, &["drill", "run", &stack]);
        let vault = hubkeep(&home, &["stack", "show", &stack])["outputs"]["daily_backup_vault"]
            .as_str()
            .unwrap()
            .to_string();
        hubkeep(&home, &["vault", "gc", &vault]);
        failed_backup_two_nights_ago(&home, &stack);
        let admin = hubkeep(
            &home,
            &["token", "create", "console-admin", "--role", "admin"],
        )["token"]
            .as_str()
            .unwrap()
            .to_string();
        let read = hubkeep(
            &home,
            &["token", "create", "console-read", "--role", "read"],
        )["token"]
            .as_str()
            .unwrap()
            .to_string();

        let arn = hubkeep(&home, &["stack", "show", restored])["outputs"]["database_secret_arn"]
            .as_str()
            .unwrap()
            .to_string();
        let secret_value = hubkeep(&home, &["secret", "get", &arn]);
        let secret_value = secret_value.get("value").cloned().unwrap_or(secret_value);
        hubkeep(
            &home,
            &["secret", "delete", &arn, "--recovery-window-days", "7"],
        );
        let secrets = hubkeep(&home, &["secret", "list"]);
        let secret = secrets
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["arn"] == arn.as_str())
            .expect("the deleted secret is listed")["name"]
            .as_str()
            .unwrap()
            .to_string();

        let log = dir.path().join("serve.log");
        *HOME_DIR.lock().unwrap() = Some(dir);
        // The fixture lives as long as the test process: the daemon is
        // stopped, the home's clusters too, and the home removed when the
        // process exits.
        // SAFETY: `clean_up` is a plain function that never unwinds across the FFI boundary.
        assert_eq!(
            unsafe { libc::atexit(clean_up) },
            0,
            "cannot register the home's clean-up"
        );
        let url = serve(&home, &log);
        Fixture {
            url,
            admin,
            read,
            stack,
            unprotected: restored.to_string(),
            secret,
            secret_value: secret_value.to_string(),
        }
    })
}

/// Starts `hubkeep serve --listen 127.0.0.1:0` on `home` (the system picks
/// a free port, so parallel test runs never collide) and returns the URL it
/// says it serves, read from its log.
fn serve(home: &Path, log: &Path) -> String {
    let child = Command::new(hubkeep_bin())
        .arg("--home")
        .arg(home)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    *DAEMON.lock().unwrap() = Some(child);
    // A bound keeps a daemon that never starts from hanging the test.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if let Some(url) = text
            .lines()
            .find_map(|l| l.split("the HTTP API on ").nth(1))
        {
            return url.trim().to_string();
        }
        let exited = DAEMON
            .lock()
            .unwrap()
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten());
        assert!(
            exited.is_none(),
            "hubkeep serve exited ({exited:?}):\n{text}"
        );
        assert!(
            Instant::now() < deadline,
            "hubkeep serve never said where it listens:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Runs `tests/console/<name>.mjs` in Chromium; panics with its output unless it passes.
fn story(name: &str) {
    // One browser at a time: the stories share the home and the machine.
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    for (tool, path) in [("chromium", "/usr/bin/chromium"), ("node", "/usr/bin/node")] {
        assert!(
            Path::new(path).exists(),
            "{tool} is missing at {path}: run scripts/setup.sh (installs chromium and node)"
        );
    }
    let prefix = std::env::var("HUBKEEP_NODE_PREFIX").unwrap_or_else(|_| NODE_PREFIX.into());
    let modules = Path::new(&prefix).join("node_modules");
    assert!(
        Path::new(&modules).join("playwright-core").exists(),
        "playwright-core is missing in {}: run scripts/setup.sh",
        modules.display()
    );
    let f = fixture();
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/console")
        .join(format!("{name}.mjs"));
    let shots = std::env::var_os("HUBKEEP_SHOTS");
    let mut cmd = Command::new("node");
    cmd.arg(&script)
        .env("HUBKEEP_URL", &f.url)
        .env("HUBKEEP_TOKEN", &f.admin)
        .env("HUBKEEP_READ_TOKEN", &f.read)
        .env("HUBKEEP_STACK", &f.stack)
        .env("HUBKEEP_UNPROTECTED_STACK", &f.unprotected)
        .env("HUBKEEP_SECRET", &f.secret)
        .env("HUBKEEP_SECRET_VALUE", &f.secret_value)
        .env("HUBKEEP_NODE_MODULES", &modules);
    if let Some(dir) = shots {
        cmd.env("HUBKEEP_SHOTS", dir);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "story {name} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn an_operator_signs_in_with_a_token_and_a_wrong_one_is_refused() {
    story("sign_in");
}

#[test]
fn the_stacks_page_shows_each_stack_with_its_last_backup_and_flags_a_missed_rpo() {
    story("stacks_table");
}

#[test]
fn a_bad_schedule_is_refused_next_to_its_field_and_a_good_one_is_saved() {
    story("plan_edit");
}

#[test]
fn secrets_show_no_value_and_a_scheduled_deletion_can_be_cancelled() {
    story("secrets");
}

#[test]
fn the_jobs_page_lists_jobs_and_a_job_shows_its_log() {
    story("jobs");
}

#[test]
fn restore_from_a_backup_set_opens_the_form_with_its_five_parameters() {
    story("restore_form");
}

#[test]
fn back_up_now_shows_the_job_progress_until_completed() {
    story("backup_now");
}

#[test]
fn a_restore_from_the_console_becomes_online_with_the_hubs_check_and_a_taken_name_is_refused() {
    story("restore");
}

#[test]
fn verify_on_a_backup_set_runs_a_full_verify_and_the_stack_shows_it() {
    story("verify");
}

#[test]
fn a_read_token_is_offered_no_changes() {
    story("read_role");
}

#[test]
fn the_stack_page_draws_thirty_nights_the_vault_size_and_the_restore_times() {
    story("pictures");
}
