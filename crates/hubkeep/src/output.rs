//! Printing results: exactly one JSON document with `--json`, otherwise a
//! compact text form for people (one line per list item, `key: value`).
//!
//! Everything goes through here so that three promises hold on every exit
//! path: stdout gets at most one document (a result, or the error of a
//! failure or a signal, whichever comes first); a password inside a URL is
//! never shown (`dbpassword::redact_urls`); and a closed stdout or stderr
//! (`hubkeep … | head -1`) ends the program quietly instead of panicking.

use hubkeep_core::dbpassword::redact_urls;
use serde_json::{json, Value};
use std::io::Write;
use std::sync::Mutex;

/// Whether stdout already holds this run's document. The lock is held
/// while a document is written, so a signal arriving meanwhile cannot
/// interleave a second one.
static DOCUMENT_WRITTEN: Mutex<bool> = Mutex::new(false);

/// The status of a program killed by SIGPIPE, as a shell reports it: what
/// `hubkeep … | head -1` exits with once `head` has what it wanted.
const BROKEN_PIPE_STATUS: i32 = 128 + libc::SIGPIPE;

/// Print a command's result. `reveal` keeps values verbatim for the
/// commands whose job is to show a secret (`secret get`, `param get`,
/// `vault recovery-kit`); everything else has URL passwords redacted.
pub fn print(v: &Value, json: bool, reveal: bool) {
    let v = if reveal { v.clone() } else { redact_value(v) };
    let text = if json { serde_json::to_string_pretty(&v).expect("a JSON value always serializes") } else { text_form(&v) };
    write_document(&text);
}

/// The JSON error document of a failed run (with `--json`), then the
/// final `error:` line on stderr.
pub fn error(code: &str, message: &str, json: bool) {
    let message = redact_urls(message);
    if json {
        write_document(&json!({"error": {"code": code, "message": message}}).to_string());
    }
    note(&format!("error: {}", message.replace('\n', " ")));
}

/// A line for the operator on stderr, URL passwords redacted; a closed
/// stderr is not an error worth dying for.
pub fn note(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{}", redact_urls(line));
}

fn write_document(text: &str) {
    let mut written = DOCUMENT_WRITTEN.lock().unwrap_or_else(|p| p.into_inner());
    if *written {
        return;
    }
    *written = true;
    let mut out = std::io::stdout().lock();
    let result = if text.is_empty() { Ok(()) } else { writeln!(out, "{text}") }.and_then(|()| out.flush());
    match result {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(BROKEN_PIPE_STATUS),
        Err(e) => {
            note(&format!("error: the output could not be written to stdout ({e})"));
            std::process::exit(1);
        }
    }
}

fn redact_value(v: &Value) -> Value {
    match v {
        Value::String(s) => Value::String(redact_urls(s)),
        Value::Array(items) => Value::Array(items.iter().map(redact_value).collect()),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), redact_value(v))).collect()),
        other => other.clone(),
    }
}

fn text_form(v: &Value) -> String {
    let mut lines = vec![];
    match v {
        Value::Array(items) if items.is_empty() => lines.push("(none)".to_string()),
        Value::Array(items) => lines.extend(items.iter().map(one_line)),
        Value::Object(_) => object_lines(v, "", &mut lines),
        other => lines.push(other.to_string()),
    }
    lines.join("\n")
}

/// The field that names a list item: the first of these it has.
const NAME: [&str; 5] = ["name", "backup_id", "recovery_point_arn", "id", "job_id"];
/// Then the fields people scan for, in this order.
const DETAILS: [&str; 9] = ["kind", "stack", "stack_name", "region", "status", "state", "creation_date", "created_at", "started_at"];

fn one_line(item: &Value) -> String {
    let Value::Object(map) = item else { return item.to_string() };
    let name = NAME.iter().find_map(|k| map.get(*k).filter(|v| !v.is_null()));
    name.into_iter().chain(DETAILS.iter().filter_map(|k| map.get(*k).filter(|v| !v.is_null()))).map(scalar).collect::<Vec<_>>().join("  ")
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn object_lines(v: &Value, prefix: &str, lines: &mut Vec<String>) {
    let Value::Object(map) = v else { return };
    for (k, val) in map {
        let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
        match val {
            Value::Object(_) => object_lines(val, &key, lines),
            Value::Array(a) if a.iter().all(|x| !x.is_object()) => lines.push(format!("{key}: {}", a.iter().map(scalar).collect::<Vec<_>>().join(", "))),
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    object_lines(x, &format!("{key}[{i}]"), lines);
                }
            }
            Value::Null => {}
            other => lines.push(format!("{key}: {}", scalar(other))),
        }
    }
}
