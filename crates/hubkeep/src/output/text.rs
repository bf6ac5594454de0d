//! The text form of a result, for people: the same JSON document `--json`
//! prints, laid out by its shape. A list of records is an aligned table
//! with a header (in the order given: oldest first); an object is titled
//! sections, nested objects as their own sections; times are RFC 3339 UTC
//! to the second (in `show` also "3 h ago"), byte counts are humanized,
//! ids are never shortened (they are what the other commands take back).
//!
//! The record kinds hubkeep prints are recognized by their keys (`Shape`)
//! to choose a table's columns and a section's title; anything else gets a
//! generic layout, so a new key or command never disappears from the text.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value};
use std::borrow::Cow;

/// How the text is read: whether escape sequences may be written (only to
/// a terminal, and never when NO_COLOR is set to anything but the empty
/// string, as no-color.org asks), and the time "3 h ago" counts from.
#[derive(Clone, Copy)]
pub struct View {
    pub colour: bool,
    pub now: DateTime<Utc>,
}

impl View {
    pub fn for_stdout() -> View {
        use std::io::IsTerminal;
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        View { colour: !no_color && std::io::stdout().is_terminal(), now: hubkeep_core::now() }
    }

    fn wrap(&self, code: &str, text: &str) -> String {
        if self.colour && !text.is_empty() {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    fn bold(&self, text: &str) -> String {
        self.wrap("1", text)
    }

    /// States and statuses: green when done and good, red when failed or
    /// broken, yellow on the way (running, creating, offline …).
    fn status(&self, text: &str) -> String {
        let upper = text.to_ascii_uppercase();
        let code = if ["AVAILABLE", "COMPLETED", "ONLINE", "CREATE_COMPLETE", "DELETE_COMPLETE", "DELETED"].contains(&upper.as_str()) {
            "32"
        } else if upper.contains("FAIL") || ["BROKEN", "ABORTED", "EXPIRED"].contains(&upper.as_str()) {
            "31"
        } else {
            "33"
        };
        self.wrap(code, text)
    }
}

/// Render a whole result document.
pub fn render(v: &Value, view: View) -> String {
    match v {
        Value::Array(items) if items.is_empty() => "(none)".to_string(),
        Value::Array(items) if items.iter().all(Value::is_object) => table(items, view).join("\n"),
        Value::Array(items) => items.iter().map(scalar).collect::<Vec<_>>().join("\n"),
        Value::Object(map) if Demo::matches(map) => Demo::summary(map, view),
        Value::Object(map) => {
            let mut out = vec![];
            match Shape::of(map) {
                Some(shape) => {
                    out.push(view.bold(&format!("{} {}", shape.noun, map.get(shape.id).map(scalar).unwrap_or_default())));
                    object(map, Some(shape.id), 1, 0, view, &mut out);
                }
                None => object(map, None, 0, 0, view, &mut out),
            }
            out.join("\n")
        }
        other => scalar(other),
    }
}

/// A kind of record: how to title it and which columns its list shows.
struct Shape {
    noun: &'static str,
    /// The key that names a record of this kind (the title of `show`).
    id: &'static str,
    /// Keys that only this kind has all of.
    signature: &'static [&'static str],
    columns: &'static [Column],
}

/// A column of a table: its header and the cell taken from each record.
struct Column {
    header: Cow<'static, str>,
    cell: Cell,
}

const fn col(header: &'static str, key: &'static str) -> Column {
    Column { header: Cow::Borrowed(header), cell: Cell::Key(Cow::Borrowed(key)) }
}

enum Cell {
    /// The value of this key.
    Key(Cow<'static, str>),
    /// The time from the first key to the second (empty while unfinished).
    Duration(&'static str, &'static str),
}

const SHAPES: &[Shape] = &[
    Shape {
        noun: "Night",
        id: "date",
        signature: &["date", "scheduled_at", "state", "verified"],
        columns: &[
            col("NIGHT", "date"),
            col("STATE", "state"),
            col("VERIFIED", "verified"),
            col("SCHEDULED AT", "scheduled_at"),
            col("BACKUP ID", "backup_id"),
        ],
    },
    Shape {
        noun: "Drill",
        id: "drill_id",
        signature: &["drill_id", "rto_seconds", "drill_stack"],
        columns: &[
            col("DRILL ID", "drill_id"),
            col("STACK", "stack"),
            col("STATUS", "status"),
            col("STARTED", "started_at"),
            col("RTO (S)", "rto_seconds"),
            col("BACKUP ID", "backup_id"),
        ],
    },
    Shape {
        noun: "Job",
        id: "job_id",
        signature: &["job_id", "kind", "state"],
        columns: &[
            col("JOB ID", "job_id"),
            col("KIND", "kind"),
            col("STACK", "stack"),
            col("STATE", "state"),
            col("STARTED", "started_at"),
            col("FINISHED", "finished_at"),
            Column { header: Cow::Borrowed("DURATION"), cell: Cell::Duration("started_at", "finished_at") },
            col("READ", "bytes_read"),
            col("WAITING FOR", "waiting_for"),
        ],
    },
    Shape {
        noun: "Backup set",
        id: "backup_id",
        signature: &["backup_id", "db_snapshot_id", "recovery_point_arn"],
        columns: &[
            col("BACKUP ID", "backup_id"),
            col("STACK", "stack_name"),
            col("VAULT", "vault"),
            col("STATUS", "status"),
            col("ORIGIN", "origin"),
            col("CONSISTENT", "consistent"),
            col("STARTED", "started_at"),
            Column { header: Cow::Borrowed("DURATION"), cell: Cell::Duration("started_at", "finished_at") },
        ],
    },
    Shape {
        noun: "Recovery point",
        id: "recovery_point_arn",
        signature: &["recovery_point_arn", "creation_date", "files"],
        columns: &[
            col("RECOVERY POINT ARN", "recovery_point_arn"),
            col("STACK", "stack"),
            col("VAULT", "vault"),
            col("STATUS", "status"),
            col("CREATED", "creation_date"),
            col("FILES", "files"),
            col("SIZE", "bytes"),
        ],
    },
    Shape {
        noun: "Database snapshot",
        id: "id",
        signature: &["id", "snapshot_type", "database"],
        columns: &[
            col("ID", "id"),
            col("STACK", "stack"),
            col("TYPE", "snapshot_type"),
            col("STATUS", "status"),
            col("CREATED", "created_at"),
            col("SIZE", "size_bytes"),
            col("VAULT", "vault"),
        ],
    },
    Shape {
        noun: "Stack",
        id: "name",
        signature: &["name", "origin", "outputs"],
        columns: &[
            col("NAME", "name"),
            col("STATUS", "status"),
            col("REGION", "region"),
            col("DOMAIN", "domain"),
            col("PROFILE", "profile"),
            col("ORIGIN", "origin"),
            col("CREATED", "created_at"),
        ],
    },
    Shape {
        noun: "Vault",
        id: "name",
        signature: &["name", "vault_id", "location"],
        columns: &[col("NAME", "name"), col("REGION", "region"), col("STACK", "stack"), col("LOCATION", "location"), col("CREATED", "created_at")],
    },
    Shape {
        noun: "Region",
        id: "name",
        signature: &["name", "provider", "vault_root"],
        columns: &[
            col("NAME", "name"),
            col("PROVIDER", "provider"),
            col("STORAGE ROOT", "storage_root"),
            col("VAULT ROOT", "vault_root"),
            col("CREATED", "created_at"),
        ],
    },
    Shape {
        noun: "Secret",
        id: "name",
        signature: &["name", "kind", "updated_at"],
        columns: &[col("NAME", "name"), col("KIND", "kind"), col("STACK", "stack"), col("UPDATED", "updated_at"), col("DELETION DATE", "deletion_date")],
    },
    Shape {
        noun: "Webhook",
        id: "name",
        signature: &["name", "webhook", "events"],
        columns: &[col("NAME", "name"), col("WEBHOOK", "webhook"), col("EVENTS", "events"), col("SIGNED", "signed"), col("CREATED", "created_at")],
    },
];

impl Shape {
    fn of(map: &Map<String, Value>) -> Option<&'static Shape> {
        SHAPES.iter().find(|s| s.signature.iter().all(|k| map.contains_key(*k)))
    }
}

/// The keys that name a record, first in a generic table and a section.
const NAMING: [&str; 6] = ["name", "backup_id", "recovery_point_arn", "id", "job_id", "arn"];
/// Then the keys people look for first, before the rest in name order.
const FIRST: [&str; 17] = [
    "status",
    "state",
    "status_reason",
    "kind",
    "type",
    "stack",
    "stack_name",
    "region",
    "domain",
    "profile",
    "origin",
    "vault",
    "created_at",
    "creation_date",
    "started_at",
    "finished_at",
    "since",
];

/// The keys of a record in reading order: naming keys (unless the record
/// is already named by a title), the usual ones, the rest.
fn ordered_keys(map: &Map<String, Value>, naming: bool) -> Vec<&String> {
    let leading: &[&str] = if naming { &NAMING } else { &[] };
    let rank = |k: &str| leading.iter().chain(FIRST.iter()).position(|f| *f == k).unwrap_or(usize::MAX);
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort_by_key(|k| rank(k)); // stable: the rest keep their (alphabetical) order
    keys
}

/// An aligned table of records: a shape's columns, or (for another kind of
/// record) one column per key holding a plain value. A column empty in
/// every row is left out; a single empty cell shows `-`.
fn table(items: &[Value], view: View) -> Vec<String> {
    let first = items[0].as_object().expect("a table of objects");
    let generic: Vec<Column>;
    let columns: &[Column] = match Shape::of(first) {
        Some(shape) => shape.columns,
        None => {
            generic = ordered_keys(first, true)
                .into_iter()
                .filter(|k| items.iter().all(|i| i.get(k.as_str()).is_none_or(|v| !v.is_object() && !v.is_array())))
                .map(|k| Column { header: Cow::Owned(k.replace('_', " ").to_uppercase()), cell: Cell::Key(Cow::Owned(k.to_string())) })
                .collect();
            &generic
        }
    };
    let rows: Vec<Vec<String>> = items.iter().map(|item| columns.iter().map(|c| cell(item, &c.cell)).collect()).collect();
    let kept: Vec<usize> = (0..columns.len()).filter(|&i| i == 0 || rows.iter().any(|r| !r[i].is_empty())).collect();
    let width = |i: usize| rows.iter().map(|r| r[i].chars().count().max(1)).chain([columns[i].header.chars().count()]).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns.len()).map(width).collect();
    // Amounts align on the right: durations, sizes, and columns of numbers.
    let right = |i: usize| match &columns[i].cell {
        Cell::Duration(..) => true,
        Cell::Key(k) => is_bytes(k) || items.iter().all(|it| it.get(k.as_ref()).is_none_or(|v| v.is_number() || v.is_null())),
    };
    let line = |cells: Vec<(usize, String, String)>| {
        let mut out = String::new();
        for (n, (i, plain, styled)) in cells.into_iter().enumerate() {
            let pad = " ".repeat(widths[i] - plain.chars().count());
            if n > 0 {
                out.push_str("  ");
            }
            if right(i) {
                out.push_str(&pad);
                out.push_str(&styled);
            } else {
                out.push_str(&styled);
                out.push_str(&pad);
            }
        }
        out.trim_end().to_string()
    };
    let mut out = vec![line(kept.iter().map(|&i| (i, columns[i].header.to_string(), view.bold(&columns[i].header))).collect())];
    for row in &rows {
        out.push(line(
            kept.iter()
                .map(|&i| {
                    let plain = if row[i].is_empty() { "-".to_string() } else { row[i].clone() };
                    let styled = if matches!(&columns[i].cell, Cell::Key(k) if is_status(k)) { view.status(&plain) } else { plain.clone() };
                    (i, plain, styled)
                })
                .collect(),
        ));
    }
    out
}

fn cell(item: &Value, c: &Cell) -> String {
    match c {
        Cell::Key(k) => item.get(k.as_ref()).map(|v| value_text(k, v)).unwrap_or_default(),
        Cell::Duration(from, to) => match (item.get(*from).and_then(time), item.get(*to).and_then(time)) {
            (Some(a), Some(b)) => duration(b - a),
            _ => String::new(),
        },
    }
}

/// One value as text, by what its key says it is: a time, a byte count,
/// or plain. An object in a cell (a region's provider) shows its kind and
/// values on one line.
fn value_text(key: &str, v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) if is_time(key) => time(v).map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true)).unwrap_or_else(|| s.clone()),
        Value::Number(n) if is_bytes(key) => n.as_u64().map(bytes).unwrap_or_else(|| n.to_string()),
        Value::Array(items) if items.iter().all(Value::is_string) => items.iter().map(scalar).collect::<Vec<_>>().join(","),
        Value::Object(map) => ordered_keys(map, true).into_iter().filter_map(|k| map.get(k).filter(|v| !v.is_null())).map(scalar).collect::<Vec<_>>().join(" "),
        other => scalar(other),
    }
}

fn is_time(key: &str) -> bool {
    key.ends_with("_at") || key.ends_with("_date") || key == "since"
}

fn is_bytes(key: &str) -> bool {
    key == "bytes" || key.starts_with("bytes_") || key.ends_with("_bytes")
}

fn time(v: &Value) -> Option<DateTime<Utc>> {
    v.as_str().and_then(|s| DateTime::parse_from_rfc3339(s).ok()).map(|t| t.with_timezone(&Utc))
}

/// A byte count in binary units: `512 B`, `1.5 KiB`, `20.0 MiB`.
fn bytes(n: u64) -> String {
    hubkeep_core::human_bytes(n)
}

/// How long something took, as a person says it: `0.4 s`, `42 s`,
/// `3 min 04 s`, `2 h 05 min`.
fn duration(d: chrono::TimeDelta) -> String {
    let ms = d.num_milliseconds().max(0);
    let s = ms / 1000;
    match s {
        0..10 => format!("{:.1} s", ms as f64 / 1000.0),
        10..60 => format!("{s} s"),
        60..3600 => format!("{} min {:02} s", s / 60, s % 60),
        _ => format!("{} h {:02} min", s / 3600, s % 3600 / 60),
    }
}

/// How long ago (or, for a date to come, how soon): `42 s ago`, `3 h ago`,
/// `in 6 d`. A `show` gives it after the exact time; tables keep to the
/// exact times, which line up and sort.
fn relative(d: chrono::TimeDelta) -> String {
    let s = d.num_seconds().abs();
    let amount = match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min", s / 60),
        3600..86400 => format!("{} h", s / 3600),
        _ => format!("{} d", s / 86400),
    };
    if d < chrono::TimeDelta::zero() {
        format!("in {amount}")
    } else {
        format!("{amount} ago")
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(true) => "yes".into(),
        Value::Bool(false) => "no".into(),
        other => other.to_string(),
    }
}

/// A key as a label: `database_secret_arn` → `database secret arn`,
/// `size_bytes` → `size` (its value says it is bytes).
fn label(key: &str) -> String {
    key.strip_suffix("_bytes").unwrap_or(key).replace('_', " ")
}

/// A section's title: `restored_from` → `Restored from`.
fn title(key: &str) -> String {
    let l = label(key);
    let mut chars = l.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// An object as `label  value` rows at depth `rows`, then each nested
/// object (or list of records) as a section titled at depth `sections`.
/// Empty values are left out; `skip` is the key already in the title.
fn object(map: &Map<String, Value>, skip: Option<&str>, rows: usize, sections: usize, view: View, out: &mut Vec<String>) {
    let indent = "  ".repeat(rows);
    let keys: Vec<&String> = ordered_keys(map, skip.is_none()).into_iter().filter(|k| Some(k.as_str()) != skip && !is_empty(&map[k.as_str()])).collect();
    let (inline, nested): (Vec<&String>, Vec<&String>) = keys.into_iter().partition(|k| is_inline(&map[k.as_str()]));
    let width = inline.iter().map(|k| label(k).chars().count()).max().unwrap_or(0);
    for k in &inline {
        let v = &map[k.as_str()];
        let text = value_text(k, v);
        let shown = match v {
            Value::Number(n) if is_bytes(k) => format!("{text} ({n} bytes)"),
            Value::String(_) if is_status(k) => view.status(&text),
            Value::String(_) if is_time(k) => match time(v) {
                Some(t) => format!("{text} ({})", relative(view.now - t)),
                None => text,
            },
            _ => text,
        };
        out.push(format!("{indent}{:width$}  {shown}", label(k)));
    }
    let pad = "  ".repeat(sections);
    for k in nested {
        if !out.is_empty() {
            out.push(String::new());
        }
        out.push(format!("{pad}{}", view.bold(&title(k))));
        let within = |lines: Vec<String>| lines.into_iter().map(|l| format!("{pad}  {l}")).collect::<Vec<_>>();
        match &map[k.as_str()] {
            Value::Object(inner) if records_by_name(inner) => {
                let rows: Vec<Value> = inner
                    .iter()
                    .map(|(name, rec)| {
                        let mut r = Map::new();
                        r.insert("name".into(), Value::String(name.clone()));
                        r.extend(rec.as_object().into_iter().flatten().map(|(k, v)| (k.clone(), v.clone())));
                        Value::Object(r)
                    })
                    .collect();
                out.extend(within(table(&rows, view)));
            }
            Value::Object(inner) => object(inner, None, sections + 1, sections + 1, view, out),
            Value::Array(items) if items.iter().all(Value::is_object) => out.extend(within(table(items, view))),
            Value::Array(items) => out.extend(within(items.iter().map(scalar).collect())),
            other => out.extend(within(vec![scalar(other)])),
        }
    }
}

fn is_status(key: &str) -> bool {
    key == "status" || key == "state"
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.values().all(is_empty),
        _ => false,
    }
}

/// Whether a value fits on its key's row: a plain value, an object of the
/// provider kind (`{"kind": …}`), or a short list of words.
fn is_inline(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.contains_key("kind") && m.values().all(|x| !x.is_object() && !x.is_array()),
        Value::Array(items) => {
            items.iter().all(|i| matches!(i, Value::String(s) if !s.contains(' ')) || i.is_number())
                && items.iter().map(|i| scalar(i).len() + 2).sum::<usize>() <= 80
        }
        _ => true,
    }
}

/// An object whose every value is a record of plain values (a snapshot's
/// tables, by name): shown as a table with the name first.
fn records_by_name(map: &Map<String, Value>) -> bool {
    map.len() > 1 && map.values().all(|v| v.as_object().is_some_and(|r| !r.is_empty() && r.values().all(|x| !x.is_object() && !x.is_array())))
}

/// `hubkeep demo`'s report: what was proven, and how to remove it. The
/// steps themselves were printed on stderr as they happened.
struct Demo;

impl Demo {
    fn matches(map: &Map<String, Value>) -> bool {
        ["source_stack", "restored_stack", "backup_id", "steps"].iter().all(|k| map.contains_key(*k))
    }

    fn summary(map: &Map<String, Value>, view: View) -> String {
        let get = |k: &str| map.get(k).map(scalar).unwrap_or_default();
        let passed = map.get("hubs_check_passed").and_then(Value::as_bool) == Some(true);
        let equal = map.get("restored_equals_backup").and_then(Value::as_bool) == Some(true);
        let rows = [
            ("backup set", get("backup_id")),
            ("source stack", get("source_stack")),
            ("restored stack", get("restored_stack")),
            ("owned files", format!("{} (all decrypt with the restored phoenix-key)", get("owned_files"))),
            ("Hubs check", view.status(if passed { "passed" } else { "FAILED" })),
            ("restored = backup", if equal { "yes: every table row and every file".into() } else { view.status("FAILED") }),
        ];
        let width = rows.iter().map(|(l, _)| l.len()).max().unwrap_or(0);
        let mut out =
            vec![view.bold(&format!("Demo done: {} was backed up offline, changed, and restored into {}.", get("source_stack"), get("restored_stack")))];
        out.extend(rows.iter().map(|(l, v)| format!("  {l:width$}  {v}")));
        out.push(String::new());
        out.push(view.bold("Remove the demo:"));
        out.push(format!("  hubkeep stack delete {} --yes", get("source_stack")));
        out.push(format!("  hubkeep stack delete {} --yes", get("restored_stack")));
        out.join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// No colour, and "now" half an hour after the stack below went offline.
    fn plain() -> View {
        View { colour: false, now: "2026-12-01T19:25:00Z".parse().unwrap() }
    }

    #[test]
    fn sizes_and_durations_read_as_people_say_them() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(20 * 1024 * 1024), "20.0 MiB");
        assert_eq!(duration(chrono::TimeDelta::milliseconds(420)), "0.4 s");
        assert_eq!(duration(chrono::TimeDelta::seconds(42)), "42 s");
        assert_eq!(duration(chrono::TimeDelta::seconds(184)), "3 min 04 s");
        assert_eq!(duration(chrono::TimeDelta::seconds(7500)), "2 h 05 min");
        assert_eq!(relative(chrono::TimeDelta::seconds(3 * 3600 + 59)), "3 h ago");
        assert_eq!(relative(chrono::TimeDelta::days(-6)), "in 6 d");
    }

    #[test]
    fn a_job_list_shows_start_finish_and_duration_to_the_second() {
        let jobs = json!([
            {"job_id": "job-20261201T185500-ac62dca6", "kind": "db-snapshot", "stack": "demo-hub-ecaf", "state": "COMPLETED",
             "created_at": "2026-12-01T18:55:00.142285599Z", "started_at": "2026-12-01T18:55:00.142285739Z",
             "finished_at": "2026-12-01T18:55:03.542285739Z", "bytes_read": 3_500_000, "vault": "demo-hub-ecaf-daily"},
            {"job_id": "job-20261201T190000-0b1c2d3e", "kind": "backup", "stack": "demo-hub-ecaf", "state": "RUNNING",
             "created_at": "2026-12-01T19:00:00.5Z", "started_at": "2026-12-01T19:00:00.7Z", "finished_at": null, "bytes_read": 0},
        ]);
        assert_eq!(
            render(&jobs, plain()),
            "\
JOB ID                        KIND         STACK          STATE      STARTED               FINISHED              DURATION     READ
job-20261201T185500-ac62dca6  db-snapshot  demo-hub-ecaf  COMPLETED  2026-12-01T18:55:00Z  2026-12-01T18:55:03Z     3.4 s  3.3 MiB
job-20261201T190000-0b1c2d3e  backup       demo-hub-ecaf  RUNNING    2026-12-01T19:00:00Z  -                            -      0 B"
        );
    }

    #[test]
    fn a_drill_list_shows_status_and_rto() {
        let drills = json!([
            {"drill_id": "drill-20261205T120000-ab12", "stack": "hub", "backup_id": "hrn:hubkeep:backup:local:hub-daily:backup-set:x",
             "status": "PASSED", "rto_seconds": 12.5, "started_at": "2026-12-05T12:00:00Z", "finished_at": "2026-12-05T12:00:13Z",
             "checks": {"passed": true}, "error": null, "job_id": "job-1", "drill_stack": "drill-hub-20261205120000"},
        ]);
        assert_eq!(
            render(&drills, plain()),
            "\
DRILL ID                    STACK  STATUS  STARTED               RTO (S)  BACKUP ID
drill-20261205T120000-ab12  hub    PASSED  2026-12-05T12:00:00Z     12.5  hrn:hubkeep:backup:local:hub-daily:backup-set:x"
        );
    }

    #[test]
    fn a_stack_shows_as_titled_sections() {
        let stack = json!({
            "name": "myhub", "region": "local", "domain": "hub.example.org", "profile": "hubs", "app_version": null,
            "status": "OFFLINE", "status_reason": null, "origin": "adopted", "restored_from": null,
            "offline": {"since": "2026-12-01T18:55:00.142285599Z", "redirect_url": null, "previous_connection_limit": -1, "by_pid": null},
            "hooks": {"offline": null, "online": null},
            "outputs": {"app_db": "ret_production", "database_url": "postgres://ret@db/ret_production", "storage_id": "myhub",
                        "storage_path": "/storage", "database_secret_arn": "hrn:secret", "daily_backup_vault": "myhub-daily"},
            "created_at": "2026-12-01T18:00:00.1Z", "updated_at": "2026-12-01T18:55:00.2Z",
        });
        assert_eq!(
            render(&stack, plain()),
            "\
Stack myhub
  status      OFFLINE
  region      local
  domain      hub.example.org
  profile     hubs
  origin      adopted
  created at  2026-12-01T18:00:00Z (1 h ago)
  updated at  2026-12-01T18:55:00Z (29 min ago)

Offline
  since                      2026-12-01T18:55:00Z (29 min ago)
  previous connection limit  -1

Outputs
  app db               ret_production
  daily backup vault   myhub-daily
  database secret arn  hrn:secret
  database url         postgres://ret@db/ret_production
  storage id           myhub
  storage path         /storage"
        );
    }

    #[test]
    fn a_list_of_unknown_records_is_still_a_table_of_its_plain_values() {
        let text = render(&json!([{"name": "a", "size_bytes": 2048, "nested": {"x": 1}}, {"name": "bb", "size_bytes": 1}]), plain());
        assert_eq!(text, "NAME  SIZE BYTES\na        2.0 KiB\nbb           1 B");
    }

    #[test]
    fn the_demo_ends_with_what_it_proved_and_the_two_delete_commands() {
        let report = json!({
            "source_stack": "demo-hub-ab12", "restored_stack": "demo-restored-ab12", "backup_id": "hrn:set",
            "owned_files": 12, "hubs_check_passed": true, "restored_equals_backup": true,
            "steps": ["created stack demo-hub-ab12", "backed it up offline: backup set hrn:set"],
        });
        let text = render(&report, plain());
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines.len() <= 12, "a short summary, not the steps again: {text}");
        assert!(!text.contains("created stack"), "{text}");
        assert!(text.contains("Hubs check         passed"), "{text}");
        assert_eq!(lines[lines.len() - 2..], ["  hubkeep stack delete demo-hub-ab12 --yes", "  hubkeep stack delete demo-restored-ab12 --yes"], "{text}");
    }

    #[test]
    fn records_keyed_by_name_become_a_table_inside_their_section() {
        let text = render(&json!({"id": "s1", "tables": {"public.hubs": {"rows": 3}, "public.owned_files": {"rows": 12}}}), plain());
        assert_eq!(text, "id  s1\n\nTables\n  NAME                ROWS\n  public.hubs            3\n  public.owned_files    12");
    }
}
