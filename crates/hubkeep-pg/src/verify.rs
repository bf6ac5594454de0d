//! Re-reading a stored snapshot without a server: every stream is read to
//! its end, hashed and measured, table streams' rows counted, and all of it
//! compared with the metadata.

use crate::error::PgError;
use crate::hashing::HashingReader;
use crate::meta::{self, SnapshotMeta};
use crate::restore::SnapshotSource;

/// Problems found, one sentence each; empty when the snapshot is intact.
/// Unreadable or missing streams are problems, not errors: verification
/// goes on to report everything it finds.
pub fn verify_streams(
    source: &dyn SnapshotSource,
    meta: &SnapshotMeta,
) -> Result<Vec<String>, PgError> {
    let mut problems = Vec::new();
    if !meta::readable(meta.format_version) {
        return Err(PgError::UnsupportedFormat {
            found: meta.format_version,
            supported: meta::FORMAT_VERSION,
        });
    }
    for script in &meta.scripts {
        match read_stream(source, &script.name) {
            Err(e) => problems.push(format!("stream {} cannot be read: {e}", script.name)),
            Ok(read) => {
                if read.blake3 != script.blake3 || read.bytes != script.bytes {
                    problems.push(format!(
                        "stream {} does not match the snapshot's record ({} bytes, checksum {}; read {} bytes, checksum {})",
                        script.name, script.bytes, script.blake3, read.bytes, read.blake3
                    ));
                }
            }
        }
    }
    for table in &meta.tables {
        match read_stream(source, &table.stream) {
            Err(e) => problems.push(format!(
                "the data of table {} (stream {}) cannot be read: {e}",
                table.display_name(),
                table.stream
            )),
            Ok(read) => {
                if read.blake3 != table.blake3 || read.bytes != table.bytes {
                    problems.push(format!(
                        "the data of table {} (stream {}) does not match the snapshot's record ({} bytes, checksum {}; read {} bytes, checksum {})",
                        table.display_name(), table.stream, table.bytes, table.blake3, read.bytes, read.blake3
                    ));
                } else if read.rows != table.rows {
                    problems.push(format!(
                        "table {} has {} rows in stream {}, but the snapshot recorded {}",
                        table.display_name(),
                        read.rows,
                        table.stream,
                        table.rows
                    ));
                }
            }
        }
    }
    Ok(problems)
}

struct StreamRead {
    bytes: u64,
    rows: u64,
    blake3: String,
}

fn read_stream(source: &dyn SnapshotSource, name: &str) -> std::io::Result<StreamRead> {
    let mut reader = HashingReader::new(source.open_stream(name)?);
    std::io::copy(&mut reader, &mut std::io::sink())?;
    Ok(StreamRead {
        bytes: reader.byte_count(),
        rows: reader.rows(),
        blake3: reader.hex_digest(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::{StreamMeta, TableMeta};
    use std::collections::BTreeMap;
    use std::io::Read;

    struct Map(BTreeMap<String, Vec<u8>>);

    impl SnapshotSource for Map {
        fn open_stream(&self, name: &str) -> std::io::Result<Box<dyn Read + Send>> {
            let data = self.0.get(name).cloned().ok_or_else(|| {
                std::io::Error::new(std::io::ErrorKind::NotFound, "no such stream")
            })?;
            Ok(Box::new(std::io::Cursor::new(data)))
        }
    }

    fn meta_for(streams: &Map) -> SnapshotMeta {
        let hash = |n: &str| blake3::hash(&streams.0[n]).to_hex().to_string();
        SnapshotMeta {
            format_version: meta::FORMAT_VERSION,
            server_version: "15.18".into(),
            server_version_num: 150018,
            pg_dump_version: "15.18".into(),
            database: "ret".into(),
            encoding: "UTF8".into(),
            size_bytes: 0,
            created_at: chrono::Utc::now(),
            scripts: vec![StreamMeta {
                name: "pre-data.sql".into(),
                bytes: streams.0["pre-data.sql"].len() as u64,
                blake3: hash("pre-data.sql"),
            }],
            tables: vec![TableMeta {
                schema: "ret0".into(),
                name: "hubs".into(),
                stream: "data/ret0.hubs.copy".into(),
                columns: vec!["hub_id".into()],
                order_by: vec!["hub_id".into()],
                has_pk: true,
                rows: 2,
                bytes: streams.0["data/ret0.hubs.copy"].len() as u64,
                blake3: hash("data/ret0.hubs.copy"),
                physical_order_reason: None,
            }],
            sequences: vec![],
            roles: vec![],
            memberships: vec![],
            db_settings: vec![],
            warnings: vec![],
        }
    }

    fn streams() -> Map {
        let mut m = BTreeMap::new();
        m.insert(
            "pre-data.sql".to_string(),
            b"CREATE SCHEMA ret0;\n".to_vec(),
        );
        m.insert("data/ret0.hubs.copy".to_string(), b"1\n2\n".to_vec());
        Map(m)
    }

    #[test]
    fn intact_snapshot_has_no_problems() {
        let s = streams();
        assert!(verify_streams(&s, &meta_for(&s)).unwrap().is_empty());
    }

    #[test]
    fn a_flipped_byte_and_a_missing_stream_are_both_reported() {
        let mut s = streams();
        let meta = meta_for(&s);
        s.0.get_mut("data/ret0.hubs.copy").unwrap()[0] = b'9';
        s.0.remove("pre-data.sql");
        let problems = verify_streams(&s, &meta).unwrap();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("stream pre-data.sql cannot be read"));
        assert!(problems[1].contains("table ret0.hubs (stream data/ret0.hubs.copy) does not match"));
    }

    #[test]
    fn a_row_count_that_disagrees_is_reported() {
        let s = streams();
        let mut meta = meta_for(&s);
        meta.tables[0].rows = 3;
        let problems = verify_streams(&s, &meta).unwrap();
        assert_eq!(problems, vec!["table ret0.hubs has 2 rows in stream data/ret0.hubs.copy, but the snapshot recorded 3"]);
    }
}
