//! What an operator reads: help that lists every command with a
//! description under task headings, lists as aligned tables with a header
//! and times to the second, `show` as titled sections, no colour codes
//! where they would be garbage, completion scripts and man pages; while
//! `--json` stays the one pretty-printed document scripts parse.

mod common;
use common::*;
use serde_json::Value;
use std::process::{Command, Output};

/// The commands of CLI.md (and `completions`), each of which `--help` must list.
const COMMANDS: [&str; 17] = [
    "init",
    "region",
    "stack",
    "db-snapshot",
    "vault",
    "backup-job",
    "recovery-point",
    "restore-job",
    "backup",
    "restore",
    "backup-set",
    "job",
    "verify",
    "secret",
    "param",
    "demo",
    "completions",
];

fn hubkeep(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hubkeep")).args(args).env_remove("NO_COLOR").output().unwrap()
}

fn stdout(out: &Output) -> String {
    assert!(out.status.success(), "failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// The `name  description` lines of a help text's command listing, by the
/// heading they are under (a heading is an unindented line ending in `:`).
fn listed_commands(help: &str) -> Vec<(String, String, String)> {
    let mut heading = String::new();
    let mut out = vec![];
    for line in help.lines() {
        if !line.starts_with(' ') && line.ends_with(':') {
            heading = line.trim_end_matches(':').to_string();
        } else if let Some(entry) = line.strip_prefix("  ").filter(|l| !l.starts_with(' ') && !l.starts_with('-')) {
            if heading == "Options" || heading == "Arguments" || heading.starts_with("Example") || heading == "Start here" {
                continue;
            }
            let (name, description) = entry.split_once(' ').unwrap_or((entry, ""));
            out.push((heading.clone(), name.to_string(), description.trim().to_string()));
        }
    }
    out
}

#[test]
fn help_lists_every_command_with_a_description_under_a_task_heading() {
    let help = stdout(&hubkeep(&["--help"]));
    let listed = listed_commands(&help);
    for command in COMMANDS {
        let (heading, _, description) =
            listed.iter().find(|(_, name, _)| name == command).unwrap_or_else(|| panic!("`{command}` is not listed in --help:\n{help}"));
        assert!(!description.is_empty(), "`{command}` has no description:\n{help}");
        assert!(!heading.contains("Commands") && !heading.contains("Other"), "`{command}` is not under a task heading but `{heading}`:\n{help}");
    }
    let headings: std::collections::BTreeSet<&str> = listed.iter().map(|(h, _, _)| h.as_str()).collect();
    for task in ["Back up", "Restore", "Inspect and check", "Secrets and keys"] {
        assert!(headings.contains(task), "no `{task}` heading in:\n{help}");
    }
    assert!(help.contains("take the hub offline, snapshot, back up files"), "the long help says the seed's procedure in words:\n{help}");
}

#[test]
fn every_subcommand_has_a_one_line_description_and_help() {
    for command in COMMANDS {
        let help = stdout(&hubkeep(&[command, "--help"]));
        assert!(!help.lines().next().unwrap_or("").trim().is_empty(), "`hubkeep {command} --help` starts with its description:\n{help}");
        for (_, sub, description) in listed_commands(&help).into_iter().filter(|(h, _, _)| h == "Commands") {
            if sub == "help" {
                continue;
            }
            assert!(!description.is_empty(), "`hubkeep {command} {sub}` has no description:\n{help}");
            let sub_help = stdout(&hubkeep(&[command, &sub, "--help"]));
            assert!(
                sub_help.starts_with(&description[..description.len().min(20)]),
                "`hubkeep {command} {sub} --help` starts with its description:\n{sub_help}"
            );
        }
    }
    let backup = stdout(&hubkeep(&["backup", "--help"]));
    assert!(backup.contains("Examples:") && backup.contains("hubkeep backup myhub --offline"), "{backup}");
}

/// A table whose columns line up: the positions blank on every line, in
/// runs of two or more, split the lines into exactly the `headers`' columns
/// (in order), and every line has text in every column (`-` when empty).
fn assert_aligned_table(text: &str, headers: &[&str]) {
    let lines: Vec<Vec<char>> = text.lines().map(|l| l.chars().collect()).collect();
    let width = lines.iter().map(Vec::len).max().unwrap_or(0);
    let blank = |at: usize| lines.iter().all(|l| l.get(at).is_none_or(|c| *c == ' '));
    let gap = |at: usize| blank(at) && ((at > 0 && blank(at - 1)) || blank(at + 1));
    let mut columns: Vec<(usize, usize)> = vec![];
    for at in 0..width {
        match columns.last_mut() {
            Some((_, end)) if !gap(at) && *end == at => *end = at + 1,
            _ if !gap(at) => columns.push((at, at + 1)),
            _ => {}
        }
    }
    let header: String = lines[0].iter().collect();
    assert_eq!(columns.len(), headers.len(), "the columns of {headers:?}:\n{text}");
    for ((start, end), h) in columns.iter().zip(headers) {
        let cell: String = lines[0][(*start).min(lines[0].len())..(*end).min(lines[0].len())].iter().collect();
        assert_eq!(cell.trim(), *h, "header {header}");
        for (n, line) in lines.iter().enumerate() {
            assert!(line[(*start).min(line.len())..(*end).min(line.len())].iter().any(|c| *c != ' '), "line {n} has nothing under {h}:\n{text}");
        }
    }
}

fn assert_times_to_the_second(text: &str) {
    let fractional = text.split(|c: char| c.is_whitespace()).find(|w| w.len() > 20 && w.as_bytes()[4] == b'-' && w.as_bytes()[19] == b'.');
    assert!(fractional.is_none(), "a time with fractions of a second: {fractional:?} in\n{text}");
}

/// The RFC 3339 time of a JSON value, to the second, as the text shows it.
fn to_the_second(v: &Value) -> String {
    let s = v.as_str().unwrap();
    format!("{}Z", &s[..19])
}

fn json_is_the_pretty_document(home: &Home, args: &[&str]) -> Value {
    let mut full = vec!["--json"];
    full.extend_from_slice(args);
    let raw = stdout(&home.run(&full));
    let parsed: Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(raw, format!("{}\n", serde_json::to_string_pretty(&parsed).unwrap()), "--json prints exactly the document");
    parsed
}

#[test]
fn lists_are_aligned_tables_and_show_is_titled_sections_while_json_stays_the_document() {
    require_root!();
    let home = Home::new();
    home.json(&["stack", "create", "first", "--profile", "generic", "--domain", "first.example.org"]);
    home.json(&["stack", "create", "second", "--profile", "generic"]);
    home.json(&["backup", "first", "--offline"]);
    home.json(&["db-snapshot", "create", "second"]);

    let stacks = json_is_the_pretty_document(&home, &["stack", "list"]);
    assert_eq!(stacks[0]["outputs"]["database_url"].as_str().map(|u| u.starts_with("postgres")), Some(true), "{stacks}");
    let text = stdout(&home.run(&["stack", "list"]));
    assert_aligned_table(&text, &["NAME", "STATUS", "REGION", "DOMAIN", "PROFILE", "ORIGIN", "CREATED"]);
    assert_times_to_the_second(&text);
    let rows: Vec<&str> = text.lines().skip(1).collect();
    assert_eq!(rows.len(), 2, "{text}");
    assert!(rows[0].starts_with("first ") && rows[1].starts_with("second "), "oldest first:\n{text}");
    assert!(rows[0].contains("first.example.org") && rows[0].contains(&to_the_second(&stacks[0]["created_at"])), "{text}");
    assert!(rows[1].contains("  -  "), "a stack without a domain shows -:\n{text}");

    let jobs = json_is_the_pretty_document(&home, &["job", "list"]);
    let text = stdout(&home.run(&["job", "list"]));
    assert_aligned_table(&text, &["JOB ID", "KIND", "STACK", "STATE", "STARTED", "FINISHED", "DURATION", "READ"]);
    assert_times_to_the_second(&text);
    let jobs = jobs.as_array().unwrap();
    assert_eq!(text.lines().count(), jobs.len() + 1, "{text}");
    for (job, row) in jobs.iter().zip(text.lines().skip(1)) {
        let id = job["job_id"].as_str().unwrap();
        assert!(row.starts_with(&format!("{id} ")), "ids in full, in the JSON's order: {row}");
        assert!(row.contains(&to_the_second(&job["started_at"])) && row.contains(&to_the_second(&job["finished_at"])), "start and finish: {row}");
        assert!(row.contains(" s "), "a duration in seconds: {row}");
    }

    let sets = json_is_the_pretty_document(&home, &["backup-set", "list"]);
    let text = stdout(&home.run(&["backup-set", "list"]));
    assert_aligned_table(&text, &["BACKUP ID", "STACK", "VAULT", "STATUS", "ORIGIN", "CONSISTENT", "STARTED", "DURATION"]);
    assert!(text.lines().nth(1).unwrap().starts_with(sets[0]["backup_id"].as_str().unwrap()), "{text}");

    let shown = json_is_the_pretty_document(&home, &["stack", "show", "first"]);
    let text = stdout(&home.run(&["stack", "show", "first"]));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "Stack first", "{text}");
    assert!(lines.iter().any(|l| l.split_whitespace().collect::<Vec<_>>() == ["status", "ONLINE"]), "{text}");
    let outputs = lines.iter().position(|l| *l == "Outputs").unwrap_or_else(|| panic!("an Outputs section:\n{text}"));
    let url = shown["outputs"]["database_url"].as_str().unwrap();
    let section: Vec<&str> = lines[outputs + 1..].iter().take_while(|l| l.starts_with("  ")).copied().collect();
    assert!(section.iter().any(|l| l.trim_start().starts_with("database url") && l.ends_with(url)), "{text}");
    assert!(!text.contains("outputs.") && !text.contains("database_url"), "sections, not flattened keys:\n{text}");
}

/// Run hubkeep on a terminal (a pseudo-terminal made by util-linux
/// `script`), with `NO_COLOR` set or not.
fn on_a_terminal(home: &Home, args: &str, no_color: bool) -> Vec<u8> {
    let command = format!("{} --home {} {args}", env!("CARGO_BIN_EXE_hubkeep"), home.path().display());
    let mut script = Command::new("script");
    script.args(["-qec", &command, "/dev/null"]).env_remove("NO_COLOR");
    if no_color {
        script.env("NO_COLOR", "1");
    }
    let out = script.output().expect("util-linux `script` runs a command on a terminal");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    out.stdout
}

#[test]
fn colour_only_on_a_terminal_and_never_with_no_color() {
    let home = Home::new();
    home.json(&["init"]);
    let piped = home.cmd(&["region", "list"]).env_remove("NO_COLOR").output().unwrap();
    assert!(piped.status.success());
    assert!(!piped.stdout.contains(&0x1b), "piped: {}", String::from_utf8_lossy(&piped.stdout));
    assert!(String::from_utf8_lossy(&piped.stdout).starts_with("NAME "), "{}", String::from_utf8_lossy(&piped.stdout));

    let coloured = on_a_terminal(&home, "region list", false);
    assert!(coloured.contains(&0x1b), "a terminal gets a bold header: {}", String::from_utf8_lossy(&coloured));
    let plain = on_a_terminal(&home, "region list", true);
    assert!(!plain.contains(&0x1b), "NO_COLOR: {}", String::from_utf8_lossy(&plain));
    assert!(String::from_utf8_lossy(&plain).contains("local"), "{}", String::from_utf8_lossy(&plain));
}

#[test]
fn completions_need_no_home_and_cover_the_commands() {
    let nowhere = tempfile::tempdir().unwrap().path().join("not-a-home");
    for shell in ["bash", "zsh", "fish"] {
        let out = Command::new(env!("CARGO_BIN_EXE_hubkeep")).arg("--home").arg(&nowhere).args(["completions", shell]).output().unwrap();
        let script = stdout(&out);
        assert!(script.contains("backup") && script.contains("backup-set") && script.contains("recovery-point"), "{shell}: {script}");
        assert!(out.stderr.is_empty(), "{shell}: {}", String::from_utf8_lossy(&out.stderr));
    }
    assert!(!nowhere.exists(), "no home is made for a completion script");
    let doc: Value = serde_json::from_str(&stdout(&hubkeep(&["--json", "completions", "bash"]))).unwrap();
    assert_eq!(doc["shell"], "bash");
    assert!(doc["script"].as_str().unwrap().contains("backup-set"), "{doc}");
    let (code, message, _) = Home::new().fails(&["completions", "tcsh"]);
    assert_eq!(code, "usage", "{message}");
    assert!(message.contains("tcsh"), "{message}");
}

#[test]
fn man_pages_are_rendered_at_build_for_every_command() {
    let man = std::path::Path::new(env!("OUT_DIR")).join("man");
    let page = std::fs::read_to_string(man.join("hubkeep.1")).expect("build.rs writes hubkeep.1");
    assert!(page.starts_with(".ie") || page.contains(".TH hubkeep 1"), "a roff man page: {}", &page[..200.min(page.len())]);
    assert!(page.contains("backup\\-set"), "it lists the commands");
    for sub in ["hubkeep-backup.1", "hubkeep-stack-create.1", "hubkeep-completions.1"] {
        let text = std::fs::read_to_string(man.join(sub)).unwrap_or_else(|e| panic!("{sub}: {e}"));
        assert!(text.contains(".SH NAME"), "{sub}");
    }
}
