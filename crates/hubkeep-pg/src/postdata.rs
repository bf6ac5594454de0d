//! Splitting pg_dump's plain post-data script so that a restore can build a
//! table's indexes and key constraints as soon as that table's data is in,
//! in the COPY worker pool, the way `pg_restore -j` does; everything else
//! stays in one serial script run after all tables, in its original order.
//!
//! The script is lexed the way psql reads it (string literals, quoted
//! identifiers, dollar quotes, comments, meta-commands), so a header-like
//! text inside a literal, e.g. in a `COMMENT ON … IS '…'`, is never taken
//! for an entry. An entry runs early only when its statement is, exactly,
//! `CREATE [UNIQUE] INDEX "i" ON "s"."t" USING …` or `ALTER TABLE ONLY
//! "s"."t" ADD CONSTRAINT "c" PRIMARY KEY | UNIQUE | CHECK | EXCLUDE …` on
//! a table that has a data stream, and nothing but session settings follows
//! it in its entry. Anything the lexer does not understand leaves the whole
//! script serial, which is what restore did before.

use std::collections::BTreeMap;

use crate::meta::TableMeta;

/// A post-data script split for restore.
#[derive(Debug, PartialEq)]
pub(crate) struct PostDataPlan {
    /// Per data table (schema, name): a complete psql script (pg_dump's
    /// preamble, the session settings in effect, then that table's index
    /// and constraint entries in their original order).
    pub per_table: BTreeMap<(String, String), Vec<u8>>,
    /// The original script without those entries.
    pub serial: Vec<u8>,
}

impl PostDataPlan {
    fn all_serial(script: &[u8]) -> PostDataPlan {
        PostDataPlan {
            per_table: BTreeMap::new(),
            serial: script.to_vec(),
        }
    }
}

/// Splits `script` (a `pg_dump --section=post-data --quote-all-identifiers`
/// plain script) for a restore of `tables`.
pub(crate) fn split_post_data(script: &[u8], tables: &[TableMeta]) -> PostDataPlan {
    let Some(items) = lex(script) else {
        return PostDataPlan::all_serial(script);
    };
    let Some(first_header) = items.iter().position(|i| i.kind == Kind::Header) else {
        return PostDataPlan::all_serial(script);
    };
    let last_statement = items.iter().rposition(|i| i.kind == Kind::Statement);
    // Meta-commands: only pg_dump's `\restrict` before the first entry and
    // `\unrestrict` after the last statement. Anything else (`\connect`, …)
    // changes what a separate session would need: keep it all serial.
    let mut restrict_key = None;
    for (n, item) in items.iter().enumerate() {
        if item.kind != Kind::Meta {
            continue;
        }
        let text = String::from_utf8_lossy(item.text(script));
        let mut words = text.split_whitespace();
        match (words.next(), words.next(), words.next()) {
            (Some("\\restrict"), Some(key), None) if n < first_header => {
                restrict_key = Some(key.to_string())
            }
            (Some("\\unrestrict"), Some(key), None)
                if last_statement.is_none_or(|l| n > l) && restrict_key.as_deref() == Some(key) => {
            }
            _ => return PostDataPlan::all_serial(script),
        }
    }

    let data_tables: Vec<(&str, &str)> = tables
        .iter()
        .map(|t| (t.schema.as_str(), t.name.as_str()))
        .collect();
    let preamble = &script[..items[first_header].start];
    // Session settings after the preamble, in order; an early entry gets
    // every one that precedes it, as it would have in one serial session.
    let mut settings: Vec<&[u8]> = Vec::new();
    struct Early {
        table: (String, String),
        settings_before: usize,
        start: usize,
        end: usize,
    }
    let mut early: Vec<Early> = Vec::new();
    let mut n = first_header;
    while n < items.len() {
        let header = &items[n];
        let next_header = items[n + 1..]
            .iter()
            .position(|i| i.kind == Kind::Header)
            .map_or(items.len(), |p| n + 1 + p);
        let statements: Vec<&Item> = items[n + 1..next_header]
            .iter()
            .filter(|i| i.kind == Kind::Statement)
            .collect();
        let candidate = match statements.split_first() {
            Some((first, rest))
                if matches!(
                    header_type(header.text(script)),
                    Some("INDEX" | "CONSTRAINT" | "CHECK CONSTRAINT")
                ) && rest.iter().all(|s| is_session_setting(s.text(script))) =>
            {
                table_of(first.text(script))
                    .filter(|(s, t)| data_tables.contains(&(s.as_str(), t.as_str())))
                    .map(|table| (table, first.end))
            }
            _ => None,
        };
        if let Some((table, end)) = candidate {
            early.push(Early {
                table,
                settings_before: settings.len(),
                start: header.start,
                end,
            });
        }
        settings.extend(
            statements
                .iter()
                .map(|s| s.text(script))
                .filter(|s| is_session_setting(s)),
        );
        n = next_header;
    }

    let mut per_table: BTreeMap<(String, String), (Vec<u8>, usize)> = BTreeMap::new();
    for e in &early {
        let (buf, applied) = per_table
            .entry(e.table.clone())
            .or_insert_with(|| (preamble.to_vec(), 0));
        for setting in &settings[*applied..e.settings_before] {
            buf.extend_from_slice(setting);
            buf.push(b'\n');
        }
        *applied = e.settings_before;
        buf.push(b'\n');
        buf.extend_from_slice(&script[e.start..e.end]);
        buf.push(b'\n');
    }
    let per_table = per_table
        .into_iter()
        .map(|(table, (mut buf, _))| {
            if let Some(key) = &restrict_key {
                buf.extend_from_slice(format!("\n\\unrestrict {key}\n").as_bytes());
            }
            (table, buf)
        })
        .collect();
    let mut serial = Vec::with_capacity(script.len());
    let mut from = 0;
    for e in &early {
        serial.extend_from_slice(&script[from..e.start]);
        from = e.end;
    }
    serial.extend_from_slice(&script[from..]);
    PostDataPlan { per_table, serial }
}

/// Makes every materialized view refresh of a post-data script run with
/// `row_security = on`, as the source's own refresh did. pg_dump's preamble
/// sets `row_security = off` (so that RLS can never silently drop rows of a
/// restore), but `REFRESH` runs the view's query as the view's owner: when
/// that owner's table has `FORCE ROW LEVEL SECURITY`, `off` makes the server
/// refuse the query ("query would be affected by row-level security
/// policy") where the source computed the view through the policies.
/// (PostgreSQL 15's pg_restore reports that error and leaves the view
/// unpopulated.) Only the `REFRESH MATERIALIZED VIEW` line of a `MATERIALIZED
/// VIEW DATA` entry is wrapped; `off` is set again right after it.
pub(crate) fn refresh_under_row_security(script: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(script.len() + 64);
    let mut in_refresh_entry = false;
    for line in script.split_inclusive(|&b| b == b'\n') {
        let text = line.strip_suffix(b"\n").unwrap_or(line);
        if text.starts_with(b"-- Name: ") {
            in_refresh_entry = find(text, b"; Type: MATERIALIZED VIEW DATA;").is_some();
        } else if in_refresh_entry
            && text.starts_with(b"REFRESH MATERIALIZED VIEW ")
            && text.ends_with(b";")
        {
            out.extend_from_slice(b"SET row_security = on;\n");
            out.extend_from_slice(text);
            out.extend_from_slice(b"\nSET row_security = off;\n");
            in_refresh_entry = false;
            continue;
        }
        out.extend_from_slice(line);
    }
    out
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    /// pg_dump's `--\n-- Name: …; Type: …; …\n--\n` entry header.
    Header,
    /// One SQL statement, through its terminating `;`.
    Statement,
    /// A psql meta-command line (`\restrict …`).
    Meta,
}

#[derive(Debug)]
struct Item {
    kind: Kind,
    start: usize,
    end: usize,
}

impl Item {
    fn text<'a>(&self, script: &'a [u8]) -> &'a [u8] {
        &script[self.start..self.end]
    }
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

/// The script's headers, statements and meta-commands, or None where it
/// holds something this lexer does not follow (an unterminated literal or
/// statement, a header or meta-command inside a statement).
fn lex(s: &[u8]) -> Option<Vec<Item>> {
    let mut items = Vec::new();
    let mut statement: Option<usize> = None;
    let mut parens = 0usize;
    let mut i = 0;
    let mut line_start = true;
    while i < s.len() {
        if line_start {
            if let Some(end) = header_end(s, i) {
                if statement.is_some() {
                    return None;
                }
                items.push(Item {
                    kind: Kind::Header,
                    start: i,
                    end,
                });
                i = end;
                continue;
            }
        }
        line_start = false;
        let c = s[i];
        let next = s.get(i + 1).copied();
        match c {
            b'\n' => {
                line_start = true;
                i += 1;
            }
            b' ' | b'\t' | b'\r' | 0x0c => i += 1,
            b'-' if next == Some(b'-') => {
                i = line_end(s, i);
                line_start = true;
            }
            b'/' if next == Some(b'*') => i = block_comment_end(s, i)?,
            b'\\' => {
                if statement.is_some() {
                    return None;
                }
                let end = line_end(s, i);
                items.push(Item {
                    kind: Kind::Meta,
                    start: i,
                    end,
                });
                i = end;
                line_start = true;
            }
            b';' if parens == 0 => {
                items.push(Item {
                    kind: Kind::Statement,
                    start: statement.take().unwrap_or(i),
                    end: i + 1,
                });
                i += 1;
            }
            b'\'' => {
                statement.get_or_insert(i);
                let escapes =
                    i > 0 && matches!(s[i - 1], b'E' | b'e') && (i < 2 || !is_ident_byte(s[i - 2]));
                i = quote_end(s, i, b'\'', escapes)?;
            }
            b'"' => {
                statement.get_or_insert(i);
                i = quote_end(s, i, b'"', false)?;
            }
            b'$' if i == 0 || !is_ident_byte(s[i - 1]) => {
                statement.get_or_insert(i);
                i = match dollar_tag(s, i) {
                    Some(tag) => {
                        let body = i + tag.len();
                        body + find(&s[body..], tag)? + tag.len()
                    }
                    None => i + 1,
                };
            }
            _ => {
                statement.get_or_insert(i);
                match c {
                    b'(' => parens += 1,
                    b')' => parens = parens.checked_sub(1)?,
                    _ => {}
                }
                i += 1;
            }
        }
    }
    if statement.is_some() {
        return None;
    }
    Some(items)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Index after the end of the line at `i` (after its `\n`).
fn line_end(s: &[u8], i: usize) -> usize {
    s[i..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(s.len(), |p| i + p + 1)
}

/// Index after a (nestable) `/* … */` comment starting at `i`.
fn block_comment_end(s: &[u8], mut i: usize) -> Option<usize> {
    let mut depth = 0usize;
    while i + 1 < s.len() {
        match (s[i], s[i + 1]) {
            (b'/', b'*') => {
                depth += 1;
                i += 2;
            }
            (b'*', b'/') => {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => i += 1,
        }
    }
    None
}

/// Index after the literal or quoted identifier opened by `quote` at `i`;
/// a doubled quote stands for one, and in an `E''` literal a backslash
/// escapes the next byte.
fn quote_end(s: &[u8], mut i: usize, quote: u8, escapes: bool) -> Option<usize> {
    i += 1;
    while i < s.len() {
        let c = s[i];
        if escapes && c == b'\\' {
            i += 2;
        } else if c == quote {
            if s.get(i + 1) == Some(&quote) {
                i += 2;
            } else {
                return Some(i + 1);
            }
        } else {
            i += 1;
        }
    }
    None
}

/// `$tag$` or `$$` starting at `i`.
fn dollar_tag(s: &[u8], i: usize) -> Option<&[u8]> {
    let rest = &s[i + 1..];
    let len = rest.iter().position(|&b| !is_ident_byte(b) || b == b'$')?;
    if rest.get(len) != Some(&b'$') || rest.first().is_some_and(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(&s[i..i + len + 2])
}

/// End of the entry header starting at `i`, if one does.
fn header_end(s: &[u8], i: usize) -> Option<usize> {
    let rest = s[i..].strip_prefix(b"--\n")?;
    let line = &rest[..rest.iter().position(|&b| b == b'\n')?];
    let after = &rest[line.len() + 1..];
    if !(line.starts_with(b"-- Name: ") && find(line, b"; Type: ").is_some()) {
        return None;
    }
    after.strip_prefix(b"--\n")?;
    Some(i + 3 + line.len() + 1 + 3)
}

/// The `Type` of an entry header (its first `; Type: ` field).
fn header_type(header: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(header).ok()?;
    let after = &text[text.find("; Type: ")? + "; Type: ".len()..];
    Some(&after[..after.find("; Schema: ")?])
}

/// A statement that only changes session settings, as pg_dump writes them
/// between entries (`SET default_tablespace = '';`, `SET SESSION
/// AUTHORIZATION …`, the search_path `set_config`).
fn is_session_setting(statement: &[u8]) -> bool {
    !statement.contains(&b'\n')
        && (statement.starts_with(b"SET ")
            || statement.starts_with(b"RESET ")
            || statement.starts_with(b"SELECT pg_catalog.set_config('search_path', "))
}

/// The data table an early entry's statement builds on: `CREATE [UNIQUE]
/// INDEX "i" ON "s"."t" USING …` (not `ON ONLY`, a partitioned index) or
/// `ALTER TABLE ONLY "s"."t" ADD CONSTRAINT "c" {PRIMARY KEY | UNIQUE |
/// CHECK | EXCLUDE} …` (never FOREIGN KEY).
fn table_of(statement: &[u8]) -> Option<(String, String)> {
    let mut c = Cursor { s: statement, i: 0 };
    if c.word("CREATE") {
        c.word("UNIQUE");
        if !(c.word("INDEX") && c.ident().is_some() && c.word("ON")) {
            return None;
        }
        // `ON ONLY` (a partitioned index) fails here: ONLY is not quoted.
        let table = c.qualified()?;
        c.word("USING").then_some(table)
    } else if c.word("ALTER") && c.word("TABLE") && c.word("ONLY") {
        let table = c.qualified()?;
        if !(c.word("ADD") && c.word("CONSTRAINT") && c.ident().is_some()) {
            return None;
        }
        let key = (c.word("PRIMARY") && c.word("KEY"))
            || c.word("UNIQUE")
            || c.word("CHECK")
            || c.word("EXCLUDE");
        key.then_some(table)
    } else {
        None
    }
}

struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn skip_space(&mut self) {
        while self.s.get(self.i).is_some_and(|b| b.is_ascii_whitespace()) {
            self.i += 1;
        }
    }

    /// Consumes `word` (a whole keyword) if it comes next.
    fn word(&mut self, word: &str) -> bool {
        self.skip_space();
        let end = self.i + word.len();
        let matches = self.s.get(self.i..end) == Some(word.as_bytes())
            && !self.s.get(end).is_some_and(|&b| is_ident_byte(b));
        if matches {
            self.i = end;
        }
        matches
    }

    /// A double-quoted identifier (pg_dump --quote-all-identifiers).
    fn ident(&mut self) -> Option<String> {
        self.skip_space();
        if self.s.get(self.i) != Some(&b'"') {
            return None;
        }
        let end = quote_end(self.s, self.i, b'"', false)?;
        let inner = &self.s[self.i + 1..end - 1];
        self.i = end;
        String::from_utf8(inner.to_vec())
            .ok()
            .map(|s| s.replace("\"\"", "\""))
    }

    fn qualified(&mut self) -> Option<(String, String)> {
        let schema = self.ident()?;
        if self.s.get(self.i) != Some(&b'.') {
            return None;
        }
        self.i += 1;
        Some((schema, self.ident()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(schema: &str, name: &str) -> TableMeta {
        TableMeta {
            schema: schema.into(),
            name: name.into(),
            stream: format!("data/{schema}.{name}.copy"),
            columns: Vec::new(),
            order_by: Vec::new(),
            has_pk: true,
            rows: 0,
            bytes: 0,
            blake3: String::new(),
            physical_order_reason: None,
        }
    }

    const PREAMBLE: &str = "--\n-- PostgreSQL database dump\n--\n\n\\restrict K3y\n\n\
        SET statement_timeout = 0;\nSET client_encoding = 'UTF8';\n\
        SELECT pg_catalog.set_config('search_path', '', false);\nSET row_security = off;\n\n\
        SET default_tablespace = '';\n\n";

    fn entry(name: &str, kind: &str, schema: &str, body: &str) -> String {
        format!("--\n-- Name: {name}; Type: {kind}; Schema: {schema}; Owner: postgres\n--\n\n{body}\n\n\n")
    }

    /// What pg_dump 15 writes for the round-trip test's schema, trimmed,
    /// plus a hostile comment and a tablespace switch.
    fn script() -> String {
        [
            PREAMBLE.to_string(),
            entry(
                "Odd \"Name\" Odd \"Name\"_pkey",
                "CONSTRAINT",
                "Mixed Case",
                "ALTER TABLE ONLY \"Mixed Case\".\"Odd \"\"Name\"\"\"\n    ADD CONSTRAINT \"Odd \"\"Name\"\"_pkey\" PRIMARY KEY (\"Key\");",
            ),
            entry(
                "accounts accounts_pkey",
                "CONSTRAINT",
                "app",
                "ALTER TABLE ONLY \"app\".\"accounts\"\n    ADD CONSTRAINT \"accounts_pkey\" PRIMARY KEY (\"id\");",
            ),
            entry(
                "events events_pkey",
                "CONSTRAINT",
                "audit",
                "ALTER TABLE ONLY \"audit\".\"events\"\n    ADD CONSTRAINT \"events_pkey\" PRIMARY KEY (\"happened\", \"id\");",
            ),
            entry(
                "events_2024 events_2024_pkey",
                "CONSTRAINT",
                "audit",
                "ALTER TABLE ONLY \"audit\".\"events_2024\"\n    ADD CONSTRAINT \"events_2024_pkey\" PRIMARY KEY (\"happened\", \"id\");",
            ),
            "SET default_tablespace = \"fast\";\n\n".to_string(),
            entry(
                "entries_payload",
                "INDEX",
                "app",
                "CREATE INDEX \"entries_payload\" ON \"app\".\"entries\" USING \"gin\" (\"payload\") WHERE (\"note\" <> ';');",
            ),
            "SET default_tablespace = '';\n\n".to_string(),
            entry(
                "events_by_what",
                "INDEX",
                "audit",
                "CREATE INDEX \"events_by_what\" ON ONLY \"audit\".\"events\" USING \"btree\" (\"what\");",
            ),
            entry(
                "events_2024_pkey",
                "INDEX ATTACH",
                "audit",
                "ALTER INDEX \"audit\".\"events_pkey\" ATTACH PARTITION \"audit\".\"events_2024_pkey\";",
            ),
            entry(
                "entries entries_account_id_fkey",
                "FK CONSTRAINT",
                "app",
                "ALTER TABLE ONLY \"app\".\"entries\"\n    ADD CONSTRAINT \"entries_account_id_fkey\" FOREIGN KEY (\"account_id\") REFERENCES \"app\".\"accounts\"(\"id\");",
            ),
            entry(
                "INDEX entries_payload",
                "COMMENT",
                "app",
                "COMMENT ON INDEX \"app\".\"entries_payload\" IS 'fake:\n--\n-- Name: x; Type: INDEX; Schema: app; Owner: postgres\n--\n\nCREATE INDEX \"x\" ON \"app\".\"accounts\" USING \"btree\" (\"id\");';",
            ),
            entry(
                "accounts accounts_name_key",
                "CONSTRAINT",
                "app",
                "ALTER TABLE ONLY \"app\".\"accounts\"\n    ADD CONSTRAINT \"accounts_name_key\" UNIQUE (\"name\");",
            ),
            "--\n-- PostgreSQL database dump complete\n--\n\n\\unrestrict K3y\n\n".to_string(),
        ]
        .concat()
    }

    fn tables() -> Vec<TableMeta> {
        vec![
            table("Mixed Case", "Odd \"Name\""),
            table("app", "accounts"),
            table("app", "entries"),
            table("audit", "events_2024"),
        ]
    }

    fn text(bytes: &[u8]) -> &str {
        std::str::from_utf8(bytes).unwrap()
    }

    #[test]
    fn index_and_key_entries_go_to_their_table_the_rest_stays_serial_in_order() {
        let script = script();
        let plan = split_post_data(script.as_bytes(), &tables());
        let keys: Vec<String> = plan
            .per_table
            .keys()
            .map(|(s, t)| format!("{s}.{t}"))
            .collect();
        assert_eq!(
            keys,
            [
                "Mixed Case.Odd \"Name\"",
                "app.accounts",
                "app.entries",
                "audit.events_2024"
            ]
        );

        let accounts = text(&plan.per_table[&("app".into(), "accounts".into())]);
        assert!(accounts.starts_with(PREAMBLE), "{accounts}");
        assert!(accounts.ends_with("\\unrestrict K3y\n"), "{accounts}");
        let pkey = accounts.find("\"accounts_pkey\" PRIMARY KEY").unwrap();
        let unique = accounts.find("\"accounts_name_key\" UNIQUE").unwrap();
        assert!(pkey < unique, "original order kept:\n{accounts}");
        // The tablespace switch between them is replayed, and switched back.
        let fast = accounts.find("SET default_tablespace = \"fast\";").unwrap();
        let back = accounts.rfind("SET default_tablespace = '';").unwrap();
        assert!(pkey < fast && fast < back && back < unique, "{accounts}");
        assert!(!accounts.contains("FOREIGN KEY") && !accounts.contains("COMMENT"));

        let entries = text(&plan.per_table[&("app".into(), "entries".into())]);
        let fast = entries.find("SET default_tablespace = \"fast\";").unwrap();
        assert!(fast < entries.find("CREATE INDEX \"entries_payload\"").unwrap());
        assert!(
            !entries.contains("FOREIGN KEY"),
            "a foreign key needs two tables: it stays serial"
        );

        let serial = text(&plan.serial);
        for kept in [
            // a partitioned table's key and index, and the attach
            "ADD CONSTRAINT \"events_pkey\" PRIMARY KEY",
            "ON ONLY \"audit\".\"events\"",
            "ATTACH PARTITION \"audit\".\"events_2024_pkey\"",
            "FOREIGN KEY (\"account_id\")",
            "COMMENT ON INDEX \"app\".\"entries_payload\" IS 'fake:\n--\n-- Name: x; Type: INDEX;",
            "SET default_tablespace = \"fast\";",
            "\\restrict K3y",
            "\\unrestrict K3y",
        ] {
            assert!(serial.contains(kept), "{kept} missing from\n{serial}");
        }
        let order: Vec<usize> = [
            "\"events_pkey\" PRIMARY KEY",
            "ON ONLY",
            "ATTACH",
            "FOREIGN KEY",
            "COMMENT ON",
        ]
        .iter()
        .map(|s| serial.find(s).unwrap())
        .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{serial}");
        for moved in [
            "\"accounts_pkey\" PRIMARY KEY",
            "\"accounts_name_key\" UNIQUE",
            "\"events_2024_pkey\" PRIMARY KEY",
            "CREATE INDEX \"entries_payload\"",
            "\"Odd \"\"Name\"\"_pkey\"",
        ] {
            assert!(!serial.contains(moved), "{moved} still in\n{serial}");
        }
    }

    #[test]
    fn tables_without_a_data_stream_and_unknown_meta_commands_stay_serial() {
        let script = script();
        // Without data streams nothing has a table to wait for.
        let plan = split_post_data(script.as_bytes(), &[]);
        assert!(plan.per_table.is_empty());
        assert_eq!(plan.serial, script.as_bytes());

        let connect = script.replace(
            "SET default_tablespace = \"fast\";",
            "\\connect other\nSET default_tablespace = \"fast\";",
        );
        let plan = split_post_data(connect.as_bytes(), &tables());
        assert!(plan.per_table.is_empty(), "\\connect: all serial");
        assert_eq!(plan.serial, connect.as_bytes());

        let unterminated = format!("{script}COMMENT ON TABLE \"app\".\"x\" IS 'open;\n");
        let plan = split_post_data(unterminated.as_bytes(), &tables());
        assert!(plan.per_table.is_empty());
        assert_eq!(plan.serial, unterminated.as_bytes());
    }

    #[test]
    fn entries_that_are_not_one_plain_index_or_key_stay_serial() {
        let clustered = [
            PREAMBLE.to_string(),
            // A table name can make a header claim any type: the statement decides.
            entry(
                "entries x; Type: CONSTRAINT; Schema: app; Owner: postgres",
                "FK CONSTRAINT",
                "app",
                "ALTER TABLE ONLY \"app\".\"entries\"\n    ADD CONSTRAINT \"fk\" FOREIGN KEY (\"account_id\") REFERENCES \"app\".\"accounts\"(\"id\");",
            ),
            entry(
                "accounts_only",
                "INDEX",
                "app",
                "CREATE INDEX \"accounts_only\" ON ONLY \"app\".\"accounts\" USING \"btree\" (\"id\");",
            ),
            entry(
                "accounts_by_name",
                "INDEX",
                "app",
                "CREATE INDEX \"accounts_by_name\" ON \"app\".\"accounts\" USING \"btree\" (\"name\");\n\nALTER TABLE \"app\".\"accounts\" CLUSTER ON \"accounts_by_name\";",
            ),
            entry(
                "entries ck",
                "CHECK CONSTRAINT",
                "app",
                "ALTER TABLE \"app\".\"entries\"\n    ADD CONSTRAINT \"ck\" CHECK ((\"seq\" > 0)) NOT VALID;",
            ),
        ]
        .concat();
        let plan = split_post_data(clustered.as_bytes(), &tables());
        assert!(plan.per_table.is_empty(), "{:?}", plan.per_table.keys());
        assert_eq!(plan.serial, clustered.as_bytes());
    }

    #[test]
    fn lexer_follows_literals_identifiers_dollar_quotes_and_comments() {
        let s = b"SELECT 'a;b', E'c\\';d', \"e;\"\"f\", $x$ g; $x$, a$b, $1 /* h; /* i; */ */ ;\n-- j;\nSET k = 1;";
        let items = lex(s).unwrap();
        let statements: Vec<&str> = items.iter().map(|i| text(i.text(s))).collect();
        assert_eq!(statements.len(), 2, "{statements:?}");
        assert_eq!(statements[1], "SET k = 1;");
        assert!(lex(b"SELECT $q$ open;").is_none());
        assert!(
            lex(b"CREATE RULE r AS ON INSERT TO t DO INSTEAD (SELECT 1; SELECT 2);")
                .is_some_and(|i| i.len() == 1)
        );
    }

    #[test]
    fn matview_refreshes_run_with_row_security_on_and_nothing_else_changes() {
        let script = format!(
            "SET row_security = off;\n{}{}",
            entry(
                "mv",
                "MATERIALIZED VIEW DATA",
                "s",
                "REFRESH MATERIALIZED VIEW \"s\".\"mv\";"
            ),
            entry(
                "c",
                "COMMENT",
                "s",
                "COMMENT ON TABLE \"s\".\"t\" IS '\nREFRESH MATERIALIZED VIEW x;';"
            ),
        );
        let out = refresh_under_row_security(script.as_bytes());
        let out = text(&out);
        assert!(
            out.contains("SET row_security = on;\nREFRESH MATERIALIZED VIEW \"s\".\"mv\";\nSET row_security = off;\n"),
            "{out}"
        );
        assert_eq!(out.matches("row_security = on").count(), 1, "{out}");
    }
}
