//! Loading one large table with several COPY sessions at once. Its stream
//! is read once, checked (BLAKE3 and row count) on the way, and cut into
//! blocks at row ends (in COPY text format a raw newline byte only ever ends
//! a row); each session takes the next block. Every session holds its rows
//! in an open transaction until the whole stream has been read and checked:
//! only then do they commit, so a damaged stream leaves the table empty.

use std::io::{self, Read, Write};
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender};
use std::sync::Mutex;

use crate::conninfo::ConnInfo;
use crate::error::PgError;
use crate::hashing::HashingReader;
use crate::inspect::query_failed;
use crate::meta::TableMeta;
use crate::restore::{SnapshotSource, TableCheck, LOAD_SESSION_SETTINGS};
use crate::snapshot::column_list;
use crate::sql::{qualified, COPY_SESSION_SETTINGS};

/// Rows are handed to the sessions in blocks of about this size.
const BLOCK: usize = 1024 * 1024;

/// Loads `table` from `source` with `sessions` COPY sessions in parallel.
pub fn load_table(
    target: &ConnInfo,
    source: &dyn SnapshotSource,
    table: &TableMeta,
    sessions: usize,
) -> Result<TableCheck, PgError> {
    let source_err = |source| PgError::Source {
        stream: table.stream.clone(),
        source,
    };
    let mut reader = HashingReader::new(source.open_stream(&table.stream).map_err(source_err)?);
    let (blocks_tx, blocks_rx) = sync_channel::<Vec<u8>>(sessions * 2);
    let blocks = Mutex::new(blocks_rx);
    let mut decisions = Vec::with_capacity(sessions);
    let (loaded_tx, loaded_rx) = channel::<Result<u64, PgError>>();
    std::thread::scope(|scope| {
        let mut handles = Vec::with_capacity(sessions);
        for _ in 0..sessions {
            let (commit_tx, commit_rx) = channel::<bool>();
            decisions.push(commit_tx);
            let loaded = loaded_tx.clone();
            let blocks = &blocks;
            handles.push(scope.spawn(move || session(target, table, blocks, loaded, commit_rx)));
        }
        drop(loaded_tx);
        let read = feed(&mut reader, blocks_tx).map_err(source_err);
        let mut rows = 0;
        let mut failure = read.err();
        for loaded in loaded_rx.iter().take(sessions) {
            match loaded {
                Ok(n) => rows += n,
                Err(e) => {
                    failure.get_or_insert(e);
                }
            }
        }
        let actual = reader.hex_digest();
        if failure.is_none() && actual != table.blake3 {
            failure = Some(PgError::ChecksumMismatch {
                stream: table.stream.clone(),
                expected: table.blake3.clone(),
                actual,
            });
        }
        if failure.is_none() && rows != table.rows {
            failure = Some(PgError::RowCountMismatch {
                table: table.display_name(),
                expected: table.rows,
                actual: rows,
            });
        }
        for d in &decisions {
            let _ = d.send(failure.is_none());
        }
        for h in handles {
            let committed = h.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
            if let Err(e) = committed {
                failure.get_or_insert(e);
            }
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(TableCheck {
                table: table.display_name(),
                expected_rows: table.rows,
                restored_rows: rows,
            }),
        }
    })
}

/// Cuts the stream into blocks that end at a row end and sends them out.
fn feed(reader: &mut dyn Read, out: std::sync::mpsc::SyncSender<Vec<u8>>) -> io::Result<()> {
    let mut block = Vec::with_capacity(BLOCK + 64 * 1024);
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if n == 0 {
            if !block.is_empty() {
                // A stream not ending in a newline is damaged; the server
                // or the checksum says so.
                let _ = out.send(block);
            }
            return Ok(());
        }
        block.extend_from_slice(&buf[..n]);
        if block.len() >= BLOCK {
            if let Some(end) = block.iter().rposition(|&b| b == b'\n') {
                let rest = block.split_off(end + 1);
                if out.send(std::mem::replace(&mut block, rest)).is_err() {
                    // Every session has failed; its error is reported.
                    return Ok(());
                }
            }
        }
    }
}

/// One COPY session: loads blocks until none is left, reports its row
/// count, then commits or rolls back as told.
fn session(
    target: &ConnInfo,
    table: &TableMeta,
    blocks: &Mutex<Receiver<Vec<u8>>>,
    loaded: Sender<Result<u64, PgError>>,
    commit: Receiver<bool>,
) -> Result<(), PgError> {
    let query_err = |what: &str| {
        query_failed(
            &target.target(),
            &format!("{what} table {}", table.display_name()),
        )
    };
    // A failed session keeps taking blocks (and drops them), so the reader
    // never waits on a session that is gone; its error fails the load.
    let failed = |e: PgError| {
        let _ = loaded.send(Err(e));
        while blocks.lock().expect("block queue lock").recv().is_ok() {}
        Ok(())
    };
    let mut client = match target.connect() {
        Ok(c) => c,
        Err(e) => return failed(e),
    };
    let outcome = copy_blocks(&mut client, target, table, blocks);
    match outcome {
        Ok((tx, rows)) => {
            let _ = loaded.send(Ok(rows));
            if commit.recv().unwrap_or(false) {
                tx.commit().map_err(query_err("loading"))?;
            }
            Ok(())
        }
        Err(e) => failed(e),
    }
}

/// COPYs blocks into `table` in a transaction left open; returns it with
/// the number of rows the server counted.
fn copy_blocks<'c>(
    client: &'c mut postgres::Client,
    target: &ConnInfo,
    table: &TableMeta,
    blocks: &Mutex<Receiver<Vec<u8>>>,
) -> Result<(postgres::Transaction<'c>, u64), PgError> {
    let query_err = |what: &str| {
        query_failed(
            &target.target(),
            &format!("{what} table {}", table.display_name()),
        )
    };
    client
        .batch_execute(&format!("{COPY_SESSION_SETTINGS}; {LOAD_SESSION_SETTINGS}"))
        .map_err(query_err("preparing to load"))?;
    let mut tx = client.transaction().map_err(query_err("loading"))?;
    let columns = if table.columns.is_empty() {
        String::new()
    } else {
        format!(" ({})", column_list(&table.columns))
    };
    let mut writer = tx
        .copy_in(
            format!(
                "COPY {}{columns} FROM STDIN",
                qualified(&table.schema, &table.name)
            )
            .as_str(),
        )
        .map_err(query_err("loading"))?;
    loop {
        let next = blocks.lock().expect("block queue lock").recv();
        let Ok(block) = next else { break };
        if writer.write_all(&block).is_err() {
            // The server's own error comes from finish().
            break;
        }
    }
    let rows = writer.finish().map_err(query_err("loading"))?;
    Ok((tx, rows))
}
