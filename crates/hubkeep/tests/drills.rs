//! The operator's story of restore drills: `drill run` proves a backup set
//! restores (and how long it takes) without leaving anything behind, and a
//! damaged backup fails its drill, naming why, just as cleanly.

mod common;
use common::*;
use serde_json::Value;
use std::path::Path;

/// A Hubs stack holding the demo data, backed up offline: its backup set.
fn backed_up_hub(home: &Home, name: &str) -> Value {
    let (_, storage) = populated_hub(home, name);
    // Incompressible file data, so the largest object of the vault is a pack of files.
    write_noise_files(
        &Path::new(&storage).join("owned"),
        "big",
        ".bin",
        1,
        4_000_000,
    );
    home.json(&["backup", name, "--offline"])
}

/// Every path under the home, relative to it.
fn paths_under(root: &Path) -> Vec<String> {
    let mut out = vec![];
    let mut dirs = vec![root.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            out.push(p.strip_prefix(root).unwrap().display().to_string());
            if e.file_type().unwrap().is_dir() {
                dirs.push(p);
            }
        }
    }
    out
}

/// What a drill must leave as it found it: stacks, secrets, vaults, plans.
fn home_state(home: &Home) -> (Value, Vec<String>, Value, Value) {
    let secrets = home
        .json(&["secret", "list"])
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect();
    let stacks = home.json(&["stack", "list"]);
    let names: Vec<&Value> = stacks
        .as_array()
        .unwrap()
        .iter()
        .map(|s| &s["name"])
        .collect();
    (
        serde_json::json!(names),
        secrets,
        home.json(&["vault", "list"]),
        home.json(&["plan", "list"]),
    )
}

fn assert_nothing_left(
    home: &Home,
    before: &(Value, Vec<String>, Value, Value),
    drill_stack: &str,
) {
    let after = home_state(home);
    assert_eq!(after.0, before.0, "no extra stack");
    assert_eq!(
        after.1, before.1,
        "no extra secret, and the source's secrets are all there"
    );
    assert_eq!(after.2, before.2, "no extra vault");
    assert_eq!(after.3, before.3, "no extra plan");
    let left: Vec<String> = paths_under(&home.path())
        .into_iter()
        .filter(|p| p.contains(drill_stack))
        .collect();
    assert!(
        left.is_empty(),
        "files of the throwaway stack were left under the home: {left:?}"
    );
}

#[test]
fn a_drill_restores_the_newest_backup_checks_and_times_it_and_leaves_nothing_behind() {
    require_root!();
    let home = Home::new();
    let set = backed_up_hub(&home, "hub");
    let before = home_state(&home);
    assert_eq!(
        home.json(&["stack", "show", "hub"])["last_verified_at"],
        Value::Null
    );

    let drill = home.json(&["drill", "run", "hub"]);
    assert_eq!(drill["status"], "PASSED", "{drill}");
    assert_eq!(
        drill["backup_id"], set["backup_id"],
        "the newest AVAILABLE backup set is drilled"
    );
    assert!(drill["rto_seconds"].as_f64().unwrap() > 0.0, "{drill}");
    let checks = &drill["checks"];
    assert!(
        checks["tables"]["ret0.hubs"].as_u64().unwrap() > 0,
        "row counts per Hubs table: {checks}"
    );
    assert!(
        checks["tables"]["ret0.owned_files"].as_u64().unwrap() > 0,
        "{checks}"
    );
    assert!(checks["owned_files"].as_u64().unwrap() > 0, "{checks}");
    assert!(checks["blobs_decrypted"].as_u64().unwrap() > 0, "{checks}");
    assert_eq!(checks["passed"], true);
    let drill_stack = drill["drill_stack"].as_str().unwrap();
    assert!(drill_stack.starts_with("drill-hub-"), "{drill_stack}");

    assert_nothing_left(&home, &before, drill_stack);
    assert!(home
        .json(&["stack", "list"])
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["name"] != drill_stack));
    assert!(
        !home.path().join("clusters").join(drill_stack).exists(),
        "its database cluster is gone"
    );

    let job = home.json(&["job", "show", drill["job_id"].as_str().unwrap()]);
    assert_eq!(job["kind"], "drill");
    assert_eq!(job["state"], "COMPLETED");
    let shown = home.json(&["backup-set", "show", set["backup_id"].as_str().unwrap()]);
    assert!(
        shown["verified_at"].is_string(),
        "a passed drill counts as a verified-good set: {shown}"
    );
    assert_eq!(
        home.json(&["stack", "show", "hub"])["last_verified_at"],
        shown["verified_at"]
    );

    let list = home.json(&["drill", "list", "--stack", "hub"]);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["drill_id"], drill["drill_id"]);
    assert_eq!(list[0]["status"], "PASSED");
    assert!(home
        .json(&["drill", "list", "--stack", "other"])
        .as_array()
        .unwrap()
        .is_empty());
}

#[test]
fn a_drill_of_damaged_data_fails_naming_why_and_still_leaves_nothing_behind() {
    require_root!();
    let home = Home::new();
    let set = backed_up_hub(&home, "hub");
    let location = home.json(&["vault", "show", "hub-daily"])["location"]
        .as_str()
        .unwrap()
        .to_string();
    flip_byte_in_largest_object(&location);
    let before = home_state(&home);

    let (code, message, _) = home.fails(&[
        "drill",
        "run",
        "hub",
        "--backup",
        set["backup_id"].as_str().unwrap(),
    ]);
    assert_eq!(code, "drill_failed", "{message}");
    assert!(
        message.contains("FAILED") && message.contains(set["backup_id"].as_str().unwrap()),
        "{message}"
    );

    let list = home.json(&["drill", "list"]);
    let drill = &list[0];
    assert_eq!(drill["status"], "FAILED", "{drill}");
    let error = drill["error"].as_str().unwrap();
    assert!(
        error.contains("restoring backup set"),
        "the error says what failed: {error}"
    );
    assert_nothing_left(&home, &before, drill["drill_stack"].as_str().unwrap());
    assert_eq!(
        home.json(&["job", "show", drill["job_id"].as_str().unwrap()])["state"],
        "FAILED"
    );
    let shown = home.json(&["backup-set", "show", set["backup_id"].as_str().unwrap()]);
    assert_eq!(
        shown["verified_at"],
        Value::Null,
        "a failed drill verifies nothing"
    );
}

#[test]
fn a_drill_needs_a_backup_of_the_stack_it_names() {
    require_root!();
    let home = Home::new();
    home.json(&["stack", "create", "bare", "--profile", "generic"]);
    let (code, message, _) = home.fails(&["drill", "run", "bare"]);
    assert_eq!(code, "backup_not_found");
    assert!(message.contains("hubkeep backup bare"), "{message}");
    assert!(
        home.json(&["drill", "list"]).as_array().unwrap().is_empty(),
        "a refused drill is no drill"
    );
}

#[test]
fn a_generic_stack_drill_restores_counts_every_table_and_passes_without_a_hubs_check() {
    require_root!();
    let home = Home::new();
    home.json(&["stack", "create", "app", "--profile", "generic"]);
    home.json(&["backup", "app"]);
    let drill = home.json(&["drill", "run", "app"]);
    assert_eq!(drill["status"], "PASSED", "{drill}");
    assert!(drill["rto_seconds"].as_f64().unwrap() > 0.0, "{drill}");
    let checks = &drill["checks"];
    assert!(checks.get("hubs_check").is_none(), "no Hubs check on a generic stack: {checks}");
    assert_eq!(checks["passed"], true);
    assert!(
        checks["tables"].as_object().is_some(),
        "the restore's table counts are recorded: {checks}"
    );
    let stacks = home.json(&["stack", "list"]);
    assert_eq!(stacks.as_array().unwrap().len(), 1, "the throwaway stack is gone: {stacks}");
}

/// Runs `hubkeep --json ARGS` with the clock at `clock`: (succeeded, stdout or error document).
fn at(home: &Home, clock: &str, args: &[&str]) -> (bool, Value) {
    let out = home
        .cmd(&[&["--json"], args].concat())
        .env("HUBKEEP_CLOCK", clock)
        .output()
        .unwrap();
    let doc = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "hubkeep {args:?} at {clock} printed no JSON ({e}):\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.success(), doc)
}

#[test]
fn nightly_verify_shares_read_every_pack_within_30_days_and_a_bad_pack_marks_its_recovery_point() {
    require_root!();
    let home = Home::new();
    home.json(&["stack", "create", "hub", "--profile", "generic"]);
    let storage = home.json(&["stack", "show", "hub"])["outputs"]["storage_path"]
        .as_str()
        .unwrap()
        .to_string();
    // Three backups of new data: the vault holds several packs.
    for i in 0..3 {
        write_noise_files(
            Path::new(&storage),
            &format!("night{i}-"),
            ".bin",
            2,
            1_500_000,
        );
        at(&home, "2027-05-01T09:00:00Z", &["backup", "hub"]);
    }
    let vault = "hub-daily";
    let shown = home.json(&["vault", "show", vault]);
    assert_eq!(
        shown["verified_through"],
        Value::Null,
        "nothing was read yet"
    );
    assert_eq!(shown["last_verify"], Value::Null);

    let mut read = std::collections::BTreeSet::new();
    let mut total = 0;
    for day in 1..=30 {
        let clock = format!("2027-05-{day:02}T11:00:00Z");
        let (ok, share) = at(&home, &clock, &["vault", "verify", vault, "--share"]);
        assert!(ok, "day {day}: {share}");
        assert_eq!(share["ok"], true);
        total = share["packs_total"].as_u64().unwrap() as usize;
        for p in share["packs_read"].as_array().unwrap() {
            read.insert(p.as_str().unwrap().to_string());
        }
        let shown = home.json(&["vault", "show", vault]);
        let last = shown["last_verify"]["at"].as_str().unwrap();
        assert!(
            last.starts_with(&clock[..16]),
            "the share ran on day {day}: {last}"
        );
        if read.len() < total {
            assert_eq!(
                shown["verified_through"],
                Value::Null,
                "day {day}: some pack was never read"
            );
        }
    }
    assert!(total >= 3, "the vault has several packs: {total}");
    assert_eq!(read.len(), total, "every pack was read within 30 days");
    let shown = home.json(&["vault", "show", vault]);
    let through = shown["verified_through"]
        .as_str()
        .expect("verified_through is set once every pack was read");
    assert!(through.starts_with("2027-05-"), "{through}");
    assert_eq!(shown["last_verify"]["ok"], true);

    // A damaged pack: the night whose share includes it fails, and marks
    // the recovery point whose data is in it.
    flip_byte_in_largest_object(
        home.json(&["vault", "show", vault])["location"]
            .as_str()
            .unwrap(),
    );
    let mut failure = None;
    for day in 1..=30 {
        let clock = format!("2027-06-{day:02}T11:00:00Z");
        let (ok, doc) = at(&home, &clock, &["vault", "verify", vault, "--share"]);
        if !ok {
            failure = Some(doc);
            break;
        }
    }
    let failure = failure.expect("within 30 more nights the share reads the damaged pack");
    assert_eq!(failure["error"]["code"], "verify_failed", "{failure}");
    let message = failure["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("packs/"),
        "the failure names the pack: {message}"
    );
    let shown = home.json(&["vault", "show", vault]);
    assert_eq!(shown["last_verify"]["ok"], false);
    assert!(!shown["last_verify"]["errors"]
        .as_array()
        .unwrap()
        .is_empty());
    let points = home.json(&["recovery-point", "list", "--vault", vault]);
    let marked: Vec<&Value> = points
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["verify_failure"].is_object())
        .collect();
    assert!(
        !marked.is_empty(),
        "a recovery point with data in the bad pack is marked: {points}"
    );
    let arn = marked[0]["recovery_point_arn"].as_str().unwrap();
    assert!(
        message.contains(arn),
        "the failure names the marked recovery point: {message}"
    );
    let rp = home.json(&["recovery-point", "show", arn]);
    assert!(
        rp["verify_failure"]["object"]
            .as_str()
            .unwrap()
            .starts_with("packs/"),
        "{rp}"
    );
}

#[test]
fn a_drill_killed_midway_is_failed_and_cleaned_up_by_the_next_command() {
    require_root!();
    let home = Home::new();
    backed_up_hub(&home, "hub");
    let before = home_state(&home);

    let mut drill = home
        .cmd(&["drill", "run", "hub"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once its throwaway stack exists.
    loop {
        let stacks = home.json(&["stack", "list"]);
        if stacks
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["name"].as_str().unwrap().starts_with("drill-hub-"))
        {
            break;
        }
        assert!(
            drill.try_wait().unwrap().is_none(),
            "the drill ended before its throwaway stack was seen"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    drill.kill().unwrap();
    drill.wait().unwrap();

    let list = home.json(&["drill", "list"]);
    let record = &list[0];
    assert_eq!(record["status"], "FAILED", "{record}");
    assert!(
        record["error"].as_str().unwrap().contains("interrupted"),
        "{record}"
    );
    assert_nothing_left(&home, &before, record["drill_stack"].as_str().unwrap());
    assert_eq!(
        home.json(&["job", "show", record["job_id"].as_str().unwrap()])["state"],
        "FAILED"
    );
}
