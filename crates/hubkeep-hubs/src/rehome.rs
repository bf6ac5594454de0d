//! Re-homing a restored hub on a new domain: Reticulum keeps some absolute
//! URLs in its database (the admin panel's app settings, a room's scene
//! bundle URL and its user data), and a hub restored under another domain
//! would keep pointing at the old one. Only the exact old origin
//! (`https://host[:port]`) is replaced: `https://old.example.net/…` or
//! `https://old.example:8443/…` are other origins and stay.

use serde::Serialize;

use crate::db::HubDb;
use crate::error::HubsError;

/// How a column holds its URLs.
#[derive(Clone, Copy)]
enum Holds {
    /// A text column that is a URL or contains URLs.
    Text,
    /// A jsonb column whose string values may be URLs.
    Json,
}

/// Where Reticulum keeps absolute URLs (its Ecto schemas `Ret.AppConfig`,
/// `Ret.Hub`): the admin panel's settings (`app_configs.value`, e.g. logo
/// and link URLs), a room's `default_environment_gltf_bundle_url` and its
/// `user_data` (client settings, e.g. a custom environment).
const URL_COLUMNS: &[(&str, &str, Holds)] = &[
    ("app_configs", "value", Holds::Json),
    ("hubs", "default_environment_gltf_bundle_url", Holds::Text),
    ("hubs", "user_data", Holds::Json),
];

/// The rows of one column whose URLs were rewritten.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UrlRewrite {
    /// The table, schema-qualified (`ret0.app_configs`).
    pub table: String,
    /// The column.
    pub column: String,
    /// How many rows changed.
    pub rows: u64,
}

/// Replaces every occurrence of the origin `https://<old_domain>` with
/// `https://<new_domain>` in the columns where Reticulum keeps absolute
/// URLs, in one transaction; returns the columns that changed. Columns
/// missing from an older schema are passed over.
pub fn rehome_urls(
    db_url: &str,
    old_domain: &str,
    new_domain: &str,
) -> Result<Vec<UrlRewrite>, HubsError> {
    let mut db = HubDb::connect(db_url)?;
    let pattern = origin_pattern(&format!("https://{old_domain}"));
    let replacement = format!("https://{new_domain}");
    let target = db.target.clone();
    let failed = |action: String| {
        let target = target.clone();
        move |e: postgres::Error| HubsError::Query {
            action,
            target,
            detail: crate::db::describe(&e),
        }
    };
    let mut tx = db
        .client
        .transaction()
        .map_err(failed("starting the URL rewrite".into()))?;
    let mut changed = vec![];
    for &(table, column, holds) in URL_COLUMNS {
        let exists: bool = tx
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = 'ret0' AND table_name = $1 AND column_name = $2)",
                &[&table, &column],
            )
            .map_err(failed(format!("looking up ret0.{table}.{column}")))?
            .get(0);
        if !exists {
            continue;
        }
        let sql = match holds {
            Holds::Text => format!("UPDATE ret0.{table} SET {column} = regexp_replace({column}, $1, $2, 'g') WHERE {column} ~ $1"),
            Holds::Json => format!("UPDATE ret0.{table} SET {column} = regexp_replace({column}::text, $1, $2, 'g')::jsonb WHERE {column}::text ~ $1"),
        };
        let rows = tx
            .execute(&sql, &[&pattern, &replacement])
            .map_err(failed(format!(
                "rewriting the URLs in ret0.{table}.{column}"
            )))?;
        if rows > 0 {
            changed.push(UrlRewrite {
                table: format!("ret0.{table}"),
                column: column.to_string(),
                rows,
            });
        }
    }
    tx.commit()
        .map_err(failed("committing the URL rewrite".into()))?;
    Ok(changed)
}

/// A PostgreSQL regular expression matching `origin` exactly: its
/// characters literally, not followed by more of a host name or a port.
fn origin_pattern(origin: &str) -> String {
    let literal: String = origin
        .chars()
        .flat_map(|c| {
            if c.is_ascii_alphanumeric() {
                vec![c]
            } else {
                vec!['\\', c]
            }
        })
        .collect();
    format!("{literal}(?![A-Za-z0-9.:-])")
}
