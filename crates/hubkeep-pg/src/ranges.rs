//! Planning how each table's rows are read: in primary-key order when the
//! key can be sorted, and for a large table as several primary-key ranges
//! that parallel sessions copy at once. The ranges of a table, copied one
//! after another, give exactly the bytes of one `COPY … ORDER BY <key>`:
//! every row falls in exactly one range (the first is open below, the last
//! open above, each includes its lower bound), so where the boundaries fall
//! changes nothing in the stream and dedup night over night does not depend
//! on them. Everything here runs inside the exported snapshot, so the plan
//! and the copies see the same rows.

use postgres::error::SqlState;
use postgres::Client;

use crate::error::PgError;
use crate::inspect::{query_failed, DataTable};
use crate::snapshot::column_list;
use crate::sql::{ident, literal, qualified};

/// How one table is read.
pub struct TablePlan {
    /// The `COPY … TO STDOUT` statements whose outputs, concatenated in
    /// this order, are the table's stream.
    pub copies: Vec<String>,
    /// Whether the rows come in primary-key order.
    pub ordered: bool,
    /// Why a table with a primary key comes in physical order.
    pub physical_order_reason: Option<String>,
}

/// What the planner needs to know of one table, read in one catalog query.
struct KeyFacts {
    size_bytes: i64,
    key_types: Vec<String>,
    /// Every key column's type has a default btree operator class of exactly
    /// that type, so `ORDER BY` needs no probe.
    surely_sortable: bool,
}

/// Plans every table. `range_bytes` is the on-disk size above which a
/// table with a sortable key is split, into ranges of about that size.
/// `split` is called with each split table and its number of ranges.
pub fn plan_tables(
    client: &mut Client,
    target: &str,
    tables: &[DataTable],
    range_bytes: u64,
    split: &dyn Fn(&DataTable, usize),
) -> Result<Vec<TablePlan>, PgError> {
    let keyed: Vec<u32> = tables
        .iter()
        .filter(|t| !t.primary_key.is_empty())
        .map(|t| t.oid)
        .collect();
    let rows = client
        .query(
            "SELECT c.oid, pg_catalog.pg_relation_size(c.oid),
                ARRAY(SELECT pg_catalog.format_type(a.atttypid, a.atttypmod)
                      FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
                      JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                      WHERE k.ord <= i.indnkeyatts ORDER BY k.ord),
                NOT EXISTS (
                      SELECT 1 FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
                      JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                      WHERE k.ord <= i.indnkeyatts
                        AND NOT EXISTS (
                            SELECT 1 FROM pg_catalog.pg_opclass o
                            JOIN pg_catalog.pg_am m ON m.oid = o.opcmethod
                            WHERE m.amname = 'btree' AND o.opcdefault AND o.opcintype = a.atttypid))
             FROM pg_catalog.pg_class c
             JOIN pg_catalog.pg_index i ON i.indrelid = c.oid AND i.indisprimary
             WHERE c.oid = ANY($1)",
            &[&keyed],
        )
        .map_err(query_failed(target, "reading the tables' sizes and key types"))?;
    let facts: std::collections::HashMap<u32, KeyFacts> = rows
        .iter()
        .map(|r| {
            (
                r.get::<_, u32>(0),
                KeyFacts {
                    size_bytes: r.get(1),
                    key_types: r.get(2),
                    surely_sortable: r.get(3),
                },
            )
        })
        .collect();
    let mut plans = Vec::with_capacity(tables.len());
    for t in tables {
        let plan = match facts.get(&t.oid) {
            None => TablePlan {
                copies: vec![copy_query(t, true, None)],
                ordered: false,
                physical_order_reason: None,
            },
            Some(f) => plan_keyed(client, target, t, f, range_bytes, split)?,
        };
        plans.push(plan);
    }
    Ok(plans)
}

fn plan_keyed(
    client: &mut Client,
    target: &str,
    t: &DataTable,
    facts: &KeyFacts,
    range_bytes: u64,
    split: &dyn Fn(&DataTable, usize),
) -> Result<TablePlan, PgError> {
    if !facts.surely_sortable {
        if let Some(reason) = unsortable_reason(client, target, t)? {
            return Ok(TablePlan {
                copies: vec![copy_query(t, false, None)],
                ordered: false,
                physical_order_reason: Some(reason),
            });
        }
    }
    let size = facts.size_bytes.max(0) as u64;
    let wanted = if range_bytes == 0 {
        1
    } else {
        size.div_ceil(range_bytes).clamp(1, MAX_RANGES)
    } as usize;
    let bounds = if wanted > 1 && facts.key_types.len() == t.primary_key.len() {
        boundaries(client, target, t, size, wanted)?
    } else {
        Vec::new()
    };
    if bounds.is_empty() {
        return Ok(TablePlan {
            copies: vec![copy_query(t, true, None)],
            ordered: true,
            physical_order_reason: None,
        });
    }
    let key = row_of(
        &t.primary_key
            .iter()
            .map(|c| format!("src.{}", ident(c)))
            .collect::<Vec<_>>(),
    );
    let value = |b: &Vec<String>| {
        row_of(
            &b.iter()
                .zip(&facts.key_types)
                .map(|(v, ty)| format!("CAST({} AS {ty})", literal(v)))
                .collect::<Vec<_>>(),
        )
    };
    let mut copies = Vec::with_capacity(bounds.len() + 1);
    copies.push(copy_query(
        t,
        true,
        Some(format!("{key} < {}", value(&bounds[0]))),
    ));
    for pair in bounds.windows(2) {
        copies.push(copy_query(
            t,
            true,
            Some(format!(
                "{key} >= {} AND {key} < {}",
                value(&pair[0]),
                value(&pair[1])
            )),
        ));
    }
    copies.push(copy_query(
        t,
        true,
        Some(format!("{key} >= {}", value(&bounds[bounds.len() - 1]))),
    ));
    split(t, copies.len());
    Ok(TablePlan {
        copies,
        ordered: true,
        physical_order_reason: None,
    })
}

/// More ranges than this only add per-query cost.
const MAX_RANGES: u64 = 256;

/// Sample rows drawn per wanted range, so the ranges come out even.
const SAMPLE_PER_RANGE: f64 = 64.0;

/// Up to `wanted - 1` key values (as text, one per key column), ascending,
/// that cut the table into about equal ranges: quantiles of a block sample
/// read in the snapshot. `REPEATABLE` makes the sample, and so the plan,
/// the same for the same table.
fn boundaries(
    client: &mut Client,
    target: &str,
    t: &DataTable,
    size: u64,
    wanted: usize,
) -> Result<Vec<Vec<String>>, PgError> {
    let pages = (size / 8192).max(1) as f64;
    // Most tables hold dozens of rows per page: a few blocks per range are
    // plenty of sample rows.
    let percent = (100.0 * (wanted as f64 * SAMPLE_PER_RANGE / 16.0) / pages).clamp(0.001, 100.0);
    let keys: Vec<String> = t
        .primary_key
        .iter()
        .enumerate()
        .map(|(i, c)| format!("src.{}::text AS k{i}", ident(c)))
        .collect();
    let order: Vec<String> = t
        .primary_key
        .iter()
        .map(|c| format!("src.{}", ident(c)))
        .collect();
    let sql = format!(
        "SELECT {} FROM ONLY {} AS src TABLESAMPLE SYSTEM ({percent:.6}) REPEATABLE (0) ORDER BY {}",
        keys.join(", "),
        qualified(&t.schema, &t.name),
        order.join(", ")
    );
    let rows = client.query(sql.as_str(), &[]).map_err(query_failed(
        target,
        &format!("sampling the keys of table {}", t.display_name()),
    ))?;
    let sample: Vec<Vec<String>> = rows
        .iter()
        .filter_map(|r| {
            (0..t.primary_key.len())
                .map(|i| r.get::<_, Option<String>>(i))
                .collect::<Option<Vec<String>>>()
        })
        .collect();
    let mut bounds: Vec<Vec<String>> = Vec::new();
    for i in 1..wanted {
        let at = i * sample.len() / wanted;
        // The first sampled key is no boundary: the range below it would
        // hold only rows the sample skipped.
        if at == 0 || at >= sample.len() {
            continue;
        }
        if bounds.last() != Some(&sample[at]) {
            bounds.push(sample[at].clone());
        }
    }
    Ok(bounds)
}

fn row_of(items: &[String]) -> String {
    format!("({})", items.join(", "))
}

/// `None` when the server can `ORDER BY` the table's key with its default
/// btree ordering; else the server's reason. The server refuses such a sort
/// while planning, before any row, so a savepoint undoes the probe.
fn unsortable_reason(
    client: &mut Client,
    target: &str,
    t: &DataTable,
) -> Result<Option<String>, PgError> {
    let what = format!("checking the key order of table {}", t.display_name());
    client
        .batch_execute("SAVEPOINT hubkeep_order")
        .map_err(query_failed(target, &what))?;
    let probe = format!(
        "SELECT FROM ONLY {} ORDER BY {} LIMIT 0",
        qualified(&t.schema, &t.name),
        column_list(&t.primary_key)
    );
    let reason = match client.batch_execute(&probe) {
        Ok(()) => None,
        Err(e) if e.code() == Some(&SqlState::UNDEFINED_FUNCTION) => {
            let reason = e
                .as_db_error()
                .map(|d| d.message().to_string())
                .unwrap_or_else(|| e.to_string());
            Some(format!(
                "its primary key ({}) cannot be sorted: {reason}",
                t.primary_key.join(", ")
            ))
        }
        Err(e) => return Err(query_failed(target, &what)(e)),
    };
    client
        .batch_execute("ROLLBACK TO SAVEPOINT hubkeep_order; RELEASE SAVEPOINT hubkeep_order")
        .map_err(query_failed(target, &what))?;
    Ok(reason)
}

/// `COPY (SELECT <columns> FROM ONLY <table> [WHERE …] [ORDER BY <key>]) TO STDOUT`.
fn copy_query(t: &DataTable, ordered: bool, range: Option<String>) -> String {
    let filter = range.map(|r| format!(" WHERE {r}")).unwrap_or_default();
    let order = if t.primary_key.is_empty() || !ordered {
        String::new()
    } else {
        format!(
            " ORDER BY {}",
            t.primary_key
                .iter()
                .map(|c| format!("src.{}", ident(c)))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    format!(
        "COPY (SELECT {} FROM ONLY {} AS src{filter}{order}) TO STDOUT",
        column_list(&t.columns),
        qualified(&t.schema, &t.name)
    )
}
