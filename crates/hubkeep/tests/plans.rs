//! The operator's story of plans and retention: every stack has a plan,
//! `plan set` refuses a bad value naming it, `HUBKEEP_CLOCK` dates the
//! backups, and `retention run` expires exactly the automated backup sets
//! no rule keeps, while the kept ones (and the manual one) still restore
//! after the vault's gc.

mod common;
use common::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

fn storage_of(home: &Home, stack: &str) -> String {
    home.json(&["stack", "show", stack])["outputs"]["storage_path"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn every_stack_has_a_plan_and_plan_set_refuses_a_bad_value_naming_it() {
    require_root!();
    let home = Home::new();
    home.json(&["stack", "create", "hub", "--profile", "generic"]);

    let plan = home.json_at("2027-03-01T09:59:00Z", &["plan", "show", "hub"]);
    assert_eq!(plan["schedule"], "0 10 * * *");
    assert_eq!(plan["timezone"], "UTC");
    assert_eq!(plan["start_window"], "8h");
    assert_eq!(plan["offline"], true);
    assert_eq!(plan["retention"]["keep_daily"], 14);
    assert_eq!(plan["retention"]["keep_weekly"], 8);
    assert_eq!(plan["retention"]["keep_monthly"], 12);
    assert_eq!(plan["rpo"], "26h");
    assert_eq!(plan["drill"], "0 12 * * 6");
    assert_eq!(plan["gc"], "0 12 * * 0");
    assert_eq!(
        plan["next_run_at"], "2027-03-01T10:00:00Z",
        "the clock decides the next run"
    );
    assert_eq!(plan["last_run"], Value::Null, "no automated backup yet");
    assert_eq!(
        home.json(&["stack", "show", "hub"])["last_backup_at"],
        Value::Null
    );

    let set = home.json_at(
        "2027-03-28T12:00:00Z",
        &[
            "plan",
            "set",
            "hub",
            "--timezone",
            "Europe/Berlin",
            "--keep-last",
            "3",
            "--no-offline",
        ],
    );
    assert_eq!(set["timezone"], "Europe/Berlin");
    assert_eq!(set["retention"]["keep_last"], 3);
    assert_eq!(set["offline"], false);
    assert_eq!(
        set["next_run_at"], "2027-03-29T08:00:00Z",
        "10:00 in Berlin on the first day of summer time"
    );

    for (option, value) in [
        ("--schedule", "61 * * * *"),
        ("--timezone", "Mars/Olympus"),
        ("--rpo", "soon"),
        ("--drill", "weekly"),
    ] {
        let (_, message, _) =
            home.fails(&["plan", "set", "hub", option, value, "--keep-daily", "1"]);
        assert!(
            message.contains(option) && message.contains(value),
            "the refusal names {option} {value}: {message}"
        );
    }
    let after = home.json(&["plan", "show", "hub"]);
    assert_eq!(
        after["retention"]["keep_daily"], 14,
        "a refused plan set changes nothing"
    );
    assert_eq!(home.json(&["plan", "list"]).as_array().unwrap().len(), 1);

    let out = home
        .cmd(&["plan", "list"])
        .env("HUBKEEP_CLOCK", "yesterday")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr
            .lines()
            .last()
            .unwrap()
            .starts_with("error: HUBKEEP_CLOCK=\"yesterday\""),
        "{stderr}"
    );

    home.json(&["stack", "delete", "hub", "--yes"]);
    home.fails(&["plan", "show", "hub"]);
    assert_eq!(home.json(&["plan", "list"]), serde_json::json!([]));
}

#[test]
fn retention_expires_what_no_rule_keeps_and_the_kept_sets_restore_after_gc() {
    require_root!();
    let home = Home::new();
    home.json(&["stack", "create", "ret", "--profile", "generic"]);
    home.json(&[
        "plan",
        "set",
        "ret",
        "--keep-daily",
        "3",
        "--keep-weekly",
        "0",
        "--keep-monthly",
        "0",
    ]);
    let storage = storage_of(&home, "ret");

    // Six nights of automated backups, a second one on the last day, and a
    // manual one on day 2; each backup's files are that moment's own.
    let mut backups: Vec<(String, String)> = vec![];
    let mut take = |clock: &str, automated: bool, seed: u64| {
        for old in std::fs::read_dir(&storage).unwrap() {
            std::fs::remove_file(old.unwrap().path()).unwrap();
        }
        std::fs::write(
            Path::new(&storage).join(format!("{clock}.bin")),
            noise(300_000, seed),
        )
        .unwrap();
        let mut args = vec!["backup", "ret"];
        if automated {
            args.push("--automated");
        }
        let set = home.json_at(clock, &args);
        assert_eq!(set["automated"], automated);
        backups.push((
            clock.to_string(),
            set["backup_id"].as_str().unwrap().to_string(),
        ));
        set
    };
    let first = take("2027-03-01T10:00:00Z", true, 1);
    assert_eq!(
        first["db_snapshot_id"], "auto-ret-2027-03-01-10-00",
        "HUBKEEP_CLOCK dates the automated snapshot id"
    );
    assert!(first["started_at"]
        .as_str()
        .unwrap()
        .starts_with("2027-03-01T10:00:"));
    let snapshot = home.json(&[
        "db-snapshot",
        "show",
        first["db_snapshot_id"].as_str().unwrap(),
    ]);
    assert_eq!(snapshot["snapshot_type"], "automated");
    assert!(
        snapshot["created_at"]
            .as_str()
            .unwrap()
            .starts_with("2027-03-01T10:00:"),
        "records are dated by the clock: {snapshot}"
    );
    let point = home.json(&[
        "recovery-point",
        "show",
        first["recovery_point_arn"].as_str().unwrap(),
    ]);
    assert_eq!(point["automated"], true);
    take("2027-03-02T10:00:00Z", true, 2);
    take("2027-03-02T12:00:00Z", false, 3);
    for (i, day) in ["03", "04", "05", "06"].iter().enumerate() {
        take(&format!("2027-03-{day}T10:00:00Z"), true, 4 + i as u64);
    }
    take("2027-03-06T18:00:00Z", true, 9);
    let id = |clock: &str| backups.iter().find(|(c, _)| c == clock).unwrap().1.clone();

    // Day 2's automated set passes a full verify: the newest good set.
    home.json(&["verify", &id("2027-03-02T10:00:00Z"), "--read-data"]);
    assert!(home.json(&["stack", "show", "ret"])["last_verified_at"].is_string());

    let now = "2027-03-06T20:00:00Z";
    let fates = |report: &Value, list: &str| -> BTreeMap<String, Vec<String>> {
        report[list]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["id"].as_str().unwrap().to_string(),
                    f["rules"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|r| r.as_str().unwrap().to_string())
                        .collect(),
                )
            })
            .collect()
    };
    let rules = |r: &[&str]| r.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let expected_keep: BTreeMap<String, Vec<String>> = [
        (
            id("2027-03-06T18:00:00Z"),
            rules(&["keep-last", "keep-daily"]),
        ),
        (id("2027-03-05T10:00:00Z"), rules(&["keep-daily"])),
        (id("2027-03-04T10:00:00Z"), rules(&["keep-daily"])),
        (id("2027-03-02T12:00:00Z"), rules(&["manual"])),
        (id("2027-03-02T10:00:00Z"), rules(&["newest-good"])),
    ]
    .into();
    let expected_expire: BTreeMap<String, Vec<String>> = [
        id("2027-03-06T10:00:00Z"),
        id("2027-03-03T10:00:00Z"),
        id("2027-03-01T10:00:00Z"),
    ]
    .into_iter()
    .map(|i| (i, vec![]))
    .collect();

    let dry = home.json_at(now, &["retention", "run", "--dry-run"]);
    assert_eq!(dry["dry_run"], true);
    assert_eq!(fates(&dry, "keep"), expected_keep, "{dry:#}");
    assert_eq!(fates(&dry, "expire"), expected_expire, "{dry:#}");
    for f in dry["expire"].as_array().unwrap() {
        assert!(f["created_at"].is_string());
    }
    let sets = home.json(&["backup-set", "list"]);
    assert!(
        sets.as_array()
            .unwrap()
            .iter()
            .all(|s| s["status"] == "AVAILABLE"),
        "a dry run changes nothing"
    );

    let run = home.json_at(now, &["retention", "run", "--stack", "ret"]);
    assert_eq!(fates(&run, "expire"), expected_expire);
    for expired in expected_expire.keys() {
        assert_eq!(
            home.json(&["backup-set", "show", expired])["status"],
            "EXPIRED"
        );
        let (code, _, _) = home.fails(&["restore", "gone", "--backup", expired]);
        assert_eq!(code, "backup_not_found");
    }
    let snapshots = home.json(&["db-snapshot", "list", "--stack", "ret"]);
    assert_eq!(
        snapshots.as_array().unwrap().len(),
        5,
        "the expired sets' database snapshots are gone: {snapshots:#}"
    );
    let again = home.json_at(now, &["retention", "run"]);
    assert!(
        again["expire"].as_array().unwrap().is_empty(),
        "a second run finds nothing more to expire"
    );

    let gc = home.json(&["vault", "gc", "ret-daily", "--grace-seconds", "0"]);
    assert!(
        gc["bytes_freed"].as_u64().unwrap() > 0,
        "gc frees the expired sets' data: {gc}"
    );
    let listed: Vec<Value> = home
        .json(&["backup-set", "list"])
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["backup_id"].clone())
        .collect();
    assert_eq!(
        listed.len(),
        5,
        "after gc the expired sets are gone from the list: {listed:?}"
    );
    assert!(expected_expire
        .keys()
        .all(|id| !listed.contains(&Value::from(id.as_str()))));

    for (n, kept) in [
        "2027-03-05T10:00:00Z",
        "2027-03-02T12:00:00Z",
        "2027-03-02T10:00:00Z",
    ]
    .iter()
    .enumerate()
    {
        let name = format!("back{n}");
        let restored = home.json(&["restore", &name, "--backup", &id(kept)]);
        assert_eq!(restored["status"], "ONLINE");
        let files = tree(Path::new(
            restored["outputs"]["storage_path"].as_str().unwrap(),
        ));
        assert_eq!(files.len(), 1);
        assert!(
            files.keys().next().unwrap().starts_with(kept),
            "the set taken at {kept} restores its own files: {:?}",
            files.keys()
        );
    }
    assert_eq!(
        home.json(&["backup-set", "show", &id("2027-03-02T12:00:00Z")])["status"],
        "AVAILABLE",
        "the manual set is untouched"
    );
    let planned: Vec<Value> = home
        .json(&["plan", "list"])
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["stack"].clone())
        .collect();
    assert_eq!(
        planned,
        ["ret", "back0", "back1", "back2"],
        "a restored stack gets the default plan"
    );
}
