//! Reading a table's rows back out of a snapshot without restoring it: a
//! table stream is COPY text (see `docs/snapshot-format.md`), so its rows
//! can be decoded straight from the [`SnapshotSource`]. This is how a
//! backup is checked in place (the Hubs check reads `ret0.owned_files` of a
//! database snapshot this way).

use std::io::{BufRead, BufReader, Read};

use crate::error::PgError;
use crate::meta::TableMeta;
use crate::restore::SnapshotSource;

/// One row: the values of the table's columns, in the order of
/// [`TableMeta::columns`]; `None` is SQL NULL.
pub type Row = Vec<Option<String>>;

/// The rows of one table stream, decoded one at a time.
pub struct CopyRows {
    stream: String,
    reader: BufReader<Box<dyn Read + Send>>,
    line: Vec<u8>,
}

/// Opens `table`'s stream in `source` and decodes its rows in stream order
/// (the table's primary-key order).
pub fn copy_rows(source: &dyn SnapshotSource, table: &TableMeta) -> Result<CopyRows, PgError> {
    let reader = source
        .open_stream(&table.stream)
        .map_err(|e| PgError::Source {
            stream: table.stream.clone(),
            source: e,
        })?;
    Ok(CopyRows {
        stream: table.stream.clone(),
        reader: BufReader::new(reader),
        line: Vec::new(),
    })
}

impl Iterator for CopyRows {
    type Item = Result<Row, PgError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.line.clear();
        let failed = |stream: &str, e: std::io::Error| PgError::Source {
            stream: stream.to_string(),
            source: e,
        };
        match self.reader.read_until(b'\n', &mut self.line) {
            Ok(0) => None,
            Ok(_) => {
                if self.line.pop() != Some(b'\n') {
                    return Some(Err(failed(
                        &self.stream,
                        invalid(
                            "the last row does not end with a newline: the stream is truncated",
                        ),
                    )));
                }
                Some(decode_row(&self.line).map_err(|e| failed(&self.stream, e)))
            }
            Err(e) => Some(Err(failed(&self.stream, e))),
        }
    }
}

fn invalid(why: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, why.to_string())
}

/// One line of COPY text (without its newline): fields split on tab,
/// `\N` alone is NULL, backslash escapes decoded as PostgreSQL's
/// `CopyReadAttributesText` does.
fn decode_row(line: &[u8]) -> Result<Row, std::io::Error> {
    line.split(|&b| b == b'\t')
        .map(|field| {
            if field == b"\\N" {
                return Ok(None);
            }
            let bytes = unescape(field);
            String::from_utf8(bytes)
                .map(Some)
                .map_err(|_| invalid("a value is not valid UTF-8"))
        })
        .collect()
}

fn unescape(field: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(field.len());
    let mut i = 0;
    while i < field.len() {
        let b = field[i];
        i += 1;
        if b != b'\\' || i == field.len() {
            out.push(b);
            continue;
        }
        let c = field[i];
        i += 1;
        match c {
            b'b' => out.push(0x08),
            b'f' => out.push(0x0C),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(0x0B),
            b'0'..=b'7' => {
                let mut value = u32::from(c - b'0');
                for _ in 0..2 {
                    match field.get(i) {
                        Some(&d @ b'0'..=b'7') => {
                            value = value * 8 + u32::from(d - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                out.push(value as u8);
            }
            b'x' if field.get(i).is_some_and(u8::is_ascii_hexdigit) => {
                let mut value = 0u32;
                for _ in 0..2 {
                    match field.get(i).and_then(|d| (*d as char).to_digit(16)) {
                        Some(d) => {
                            value = value * 16 + d;
                            i += 1;
                        }
                        None => break,
                    }
                }
                out.push(value as u8);
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_text_fields_decode_as_postgres_wrote_them() {
        let row = decode_row(br"42	\N	tab\there	back\\slash	line\nbreak	\101\x42\q	").unwrap();
        assert_eq!(
            row,
            vec![
                Some("42".into()),
                None,
                Some("tab\there".into()),
                Some(r"back\slash".into()),
                Some("line\nbreak".into()),
                Some("ABq".into()),
                Some(String::new()),
            ]
        );
        assert_eq!(
            decode_row(br"\\N").unwrap(),
            vec![Some(r"\N".into())],
            "an escaped backslash before N is text, not NULL"
        );
    }
}
