//! Building SQL text safely: identifier and literal quoting, and the session
//! settings every COPY session uses on both sides so that the bytes of a
//! table stream mean the same thing when they are read back.

/// `"name"` with embedded quotes doubled; always quoted, so case and
/// keywords survive.
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `"schema"."name"`.
pub fn qualified(schema: &str, name: &str) -> String {
    format!("{}.{}", ident(schema), ident(name))
}

/// A standard-conforming string literal (`standard_conforming_strings` is on
/// in every supported server): quotes doubled, backslashes literal. An `E''`
/// literal is used when the text holds a backslash, so the script stays
/// correct even if a session turned the setting off.
pub fn literal(value: &str) -> String {
    if value.contains('\\') {
        format!("E'{}'", value.replace('\\', "\\\\").replace('\'', "''"))
    } else {
        format!("'{}'", value.replace('\'', "''"))
    }
}

/// Settings for every session that reads or writes table data. Without
/// `row_security = off` RLS would silently drop rows (it raises instead);
/// the date, interval and float formats make the text stable and exact;
/// `synchronize_seqscans = off` keeps "physical order" from starting mid-table.
pub const COPY_SESSION_SETTINGS: &str = "SET row_security = off; \
     SET DateStyle = ISO; \
     SET IntervalStyle = postgres; \
     SET extra_float_digits = 3; \
     SET client_encoding = 'UTF8'; \
     SET synchronize_seqscans = off; \
     SET statement_timeout = 0; \
     SET idle_in_transaction_session_timeout = 0";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_hostile_names_and_values() {
        assert_eq!(ident(r#"we"ird"#), r#""we""ird""#);
        assert_eq!(qualified("ret0", "Hubs"), r#""ret0"."Hubs""#);
        assert_eq!(literal("it's"), "'it''s'");
        assert_eq!(literal(r"a\b'"), r"E'a\\b'''");
    }
}
