//! Printing results: exactly one JSON document with `--json`, otherwise a
//! compact text form for people (one line per list item, `key: value`).

use serde_json::Value;

pub fn print(v: &Value, json: bool) {
    if json {
        println!("{}", serde_json::to_string_pretty(v).expect("a JSON value always serializes"));
        return;
    }
    match v {
        Value::Array(items) if items.is_empty() => println!("(none)"),
        Value::Array(items) => {
            for item in items {
                println!("{}", one_line(item));
            }
        }
        Value::Object(_) => print_object(v, ""),
        other => println!("{other}"),
    }
}

/// The field that names a list item: the first of these it has.
const NAME: [&str; 5] = ["name", "backup_id", "recovery_point_arn", "id", "job_id"];
/// Then the fields people scan for, in this order.
const DETAILS: [&str; 9] = ["kind", "stack", "stack_name", "region", "status", "state", "creation_date", "created_at", "started_at"];

fn one_line(item: &Value) -> String {
    let Value::Object(map) = item else { return item.to_string() };
    let name = NAME.iter().find_map(|k| map.get(*k).filter(|v| !v.is_null()));
    name.into_iter()
        .chain(DETAILS.iter().filter_map(|k| map.get(*k).filter(|v| !v.is_null())))
        .map(scalar)
        .collect::<Vec<_>>()
        .join("  ")
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn print_object(v: &Value, prefix: &str) {
    let Value::Object(map) = v else { return };
    for (k, val) in map {
        let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
        match val {
            Value::Object(_) => print_object(val, &key),
            Value::Array(a) if a.iter().all(|x| !x.is_object()) => {
                println!("{key}: {}", a.iter().map(scalar).collect::<Vec<_>>().join(", "))
            }
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    print_object(x, &format!("{key}[{i}]"));
                }
            }
            Value::Null => {}
            other => println!("{key}: {}", scalar(other)),
        }
    }
}
