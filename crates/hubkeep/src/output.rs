//! Printing results: exactly one JSON document with `--json`, otherwise the
//! same document laid out for people (`text`: tables and sections).
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

mod text;

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
    let text = if json { serde_json::to_string_pretty(&v).expect("a JSON value always serializes") } else { text::render(&v, text::View::for_stdout()) };
    write_document(&text);
}

/// Print a shell's completion script as it is, to be sourced; with
/// `--json`, as the one document `{"shell", "script"}`.
pub fn print_script(shell: &str, script: &[u8], json: bool) {
    if json {
        return print(&json!({"shell": shell, "script": String::from_utf8_lossy(script)}), true, true);
    }
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(script).and_then(|()| out.flush()) {
        stdout_failed(e);
    }
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
    if let Err(e) = result {
        stdout_failed(e);
    }
}

fn stdout_failed(e: std::io::Error) -> ! {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(BROKEN_PIPE_STATUS);
    }
    note(&format!("error: the output could not be written to stdout ({e})"));
    std::process::exit(1);
}

fn redact_value(v: &Value) -> Value {
    match v {
        Value::String(s) => Value::String(redact_urls(s)),
        Value::Array(items) => Value::Array(items.iter().map(redact_value).collect()),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), redact_value(v))).collect()),
        other => other.clone(),
    }
}
