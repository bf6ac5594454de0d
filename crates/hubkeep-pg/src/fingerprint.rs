//! A fingerprint of a database's data: for every user table, its row count
//! and an MD5 over its rows in a stable order. Two databases with equal
//! fingerprints hold the same rows; this is how a restore is compared with
//! its source at backup time.

use std::collections::BTreeMap;

use crate::conninfo::ConnInfo;
use crate::error::PgError;
use crate::inspect::query_failed;

/// `"schema"."table"` (as `format('%I.%I')` writes it) → `rows:md5` for
/// every ordinary table outside the system schemas.
pub fn table_fingerprints(conn: &ConnInfo) -> Result<BTreeMap<String, String>, PgError> {
    let target = conn.target();
    let mut client = conn.connect()?;
    let tables = client
        .query(
            "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_catalog.pg_class c \
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1",
            &[],
        )
        .map_err(query_failed(&target, "listing the tables"))?;
    let mut out = BTreeMap::new();
    for row in tables {
        // Already quoted by format('%I.%I').
        let table: String = row.get(0);
        let sql = format!(
            "SELECT count(*)::text || ':' || coalesce(md5(string_agg(x::text, E'\\n' ORDER BY x::text)), '') FROM {table} x"
        );
        let fingerprint: String = client
            .query_one(&sql, &[])
            .map_err(query_failed(
                &target,
                &format!("fingerprinting table {table}"),
            ))?
            .get(0);
        out.insert(table, fingerprint);
    }
    Ok(out)
}
