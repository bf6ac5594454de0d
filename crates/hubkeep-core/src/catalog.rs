//! The catalog: an embedded SQLite database under the home that records
//! regions, vaults, stacks, jobs, snapshots, recovery points, backup sets and
//! secrets. Records are JSON documents keyed by their id, so the Rust types
//! stay the single definition of each record; vault facts (recovery points,
//! snapshots, backup sets) are a cache that `vault attach` can rebuild.

use crate::error::{Error, Result};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{de::DeserializeOwned, Serialize};
use std::path::Path;

/// One kind of record and the table that holds it.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    /// Regions.
    Region,
    /// Vaults.
    Vault,
    /// Stacks.
    Stack,
    /// Jobs.
    Job,
    /// Database snapshots.
    DbSnapshot,
    /// Recovery points.
    RecoveryPoint,
    /// Backup sets.
    BackupSet,
    /// Plans: one per stack.
    Plan,
    /// What the scheduler of `hubkeep serve` last handled, per stack.
    Schedule,
    /// API access tokens (their hashes), by name.
    Token,
    /// Notification webhooks, by name (their secrets are in the secret store).
    Webhook,
    /// RPO breaches already notified, by stack.
    RpoBreach,
    /// Restore drills.
    Drill,
    /// Per vault: when each pack was last read by a verify share.
    VerifyCoverage,
    /// Samples of each vault's stored bytes over time (`stack history`).
    VaultSize,
    /// The backup sets retention expired and gc forgot: which night they
    /// were of, for `stack history`.
    ExpiredSet,
}

impl Kind {
    fn table(self) -> &'static str {
        match self {
            Kind::Region => "regions",
            Kind::Vault => "vaults",
            Kind::Stack => "stacks",
            Kind::Job => "jobs",
            Kind::DbSnapshot => "db_snapshots",
            Kind::RecoveryPoint => "recovery_points",
            Kind::BackupSet => "backup_sets",
            Kind::Plan => "plans",
            Kind::Schedule => "schedules",
            Kind::Token => "tokens",
            Kind::Webhook => "webhooks",
            Kind::RpoBreach => "rpo_breaches",
            Kind::Drill => "drills",
            Kind::VerifyCoverage => "verify_coverage",
            Kind::VaultSize => "vault_sizes",
            Kind::ExpiredSet => "expired_sets",
        }
    }
    const ALL: [Kind; 16] = [
        Kind::Region,
        Kind::Vault,
        Kind::Stack,
        Kind::Job,
        Kind::DbSnapshot,
        Kind::RecoveryPoint,
        Kind::BackupSet,
        Kind::Plan,
        Kind::Schedule,
        Kind::Token,
        Kind::Webhook,
        Kind::RpoBreach,
        Kind::Drill,
        Kind::VerifyCoverage,
        Kind::VaultSize,
        Kind::ExpiredSet,
    ];
}

/// The open catalog database.
pub struct Catalog {
    conn: Connection,
}

impl Catalog {
    /// Open (creating the tables of) the catalog at `path`.
    pub fn open(path: &Path) -> Result<Catalog> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(30))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        for kind in Kind::ALL {
            conn.execute_batch(&format!(
                "CREATE TABLE IF NOT EXISTS {} (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, doc TEXT NOT NULL)",
                kind.table()
            ))?;
        }
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS secrets (seq INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE, doc TEXT NOT NULL, sealed BLOB NOT NULL)",
        )?;
        Ok(Catalog { conn })
    }

    /// The record `id` of `kind`, if any.
    pub fn get<T: DeserializeOwned>(&self, kind: Kind, id: &str) -> Result<Option<T>> {
        let doc: Option<String> = self
            .conn
            .query_row(&format!("SELECT doc FROM {} WHERE id = ?1", kind.table()), params![id], |r| r.get(0))
            .optional()?;
        Ok(match doc {
            Some(d) => Some(serde_json::from_str(&d)?),
            None => None,
        })
    }

    /// Insert or replace; a replaced record keeps its place in list order.
    pub fn put<T: Serialize>(&self, kind: Kind, id: &str, value: &T) -> Result<()> {
        let doc = serde_json::to_string(value)?;
        self.conn.execute(
            &format!(
                "INSERT INTO {} (id, doc) VALUES (?1, ?2) ON CONFLICT(id) DO UPDATE SET doc = excluded.doc",
                kind.table()
            ),
            params![id, doc],
        )?;
        Ok(())
    }

    /// Insert only if absent; false when the id is taken.
    pub fn insert_new<T: Serialize>(&self, kind: Kind, id: &str, value: &T) -> Result<bool> {
        let doc = serde_json::to_string(value)?;
        let n = self.conn.execute(
            &format!("INSERT INTO {} (id, doc) VALUES (?1, ?2) ON CONFLICT(id) DO NOTHING", kind.table()),
            params![id, doc],
        )?;
        Ok(n == 1)
    }

    /// Remove the record `id` of `kind` (absent is fine).
    pub fn delete(&self, kind: Kind, id: &str) -> Result<()> {
        self.conn.execute(&format!("DELETE FROM {} WHERE id = ?1", kind.table()), params![id])?;
        Ok(())
    }

    /// All records of a kind, oldest first.
    pub fn list<T: DeserializeOwned>(&self, kind: Kind) -> Result<Vec<T>> {
        let mut stmt = self.conn.prepare(&format!("SELECT doc FROM {} ORDER BY seq", kind.table()))?;
        let docs = stmt.query_map([], |r| r.get::<_, String>(0))?.collect::<Result<Vec<_>, _>>()?;
        docs.iter().map(|d| serde_json::from_str(d).map_err(Error::from)).collect()
    }

    /// Read-modify-write one record inside an immediate transaction, so two
    /// hubkeep processes never lose each other's update.
    pub fn update<T, F>(&self, kind: Kind, id: &str, f: F) -> Result<T>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce(&mut T) -> Result<()>,
    {
        self.transaction(|| {
            let mut value: T = self.get(kind, id)?.ok_or_else(|| Error::not_found(id))?;
            f(&mut value)?;
            self.put(kind, id, &value)?;
            Ok(value)
        })
    }

    /// Run `f` as one immediate transaction: every write it makes (records
    /// and secrets alike) lands together, or none does when it fails. Inside
    /// another transaction it is a savepoint, so a failure undoes only `f`.
    pub fn transaction<T>(&self, f: impl FnOnce() -> Result<T>) -> Result<T> {
        let nested = !self.conn.is_autocommit();
        self.conn.execute_batch(if nested { "SAVEPOINT nested" } else { "BEGIN IMMEDIATE" })?;
        let out = f();
        match (&out, nested) {
            (Ok(_), false) => self.conn.execute_batch("COMMIT")?,
            (Err(_), false) => self.conn.execute_batch("ROLLBACK")?,
            (Ok(_), true) => self.conn.execute_batch("RELEASE nested")?,
            (Err(_), true) => self.conn.execute_batch("ROLLBACK TO nested; RELEASE nested")?,
        }
        out
    }

    pub(crate) fn secret_row(&self, name: &str) -> Result<Option<(String, Vec<u8>)>> {
        Ok(self
            .conn
            .query_row("SELECT doc, sealed FROM secrets WHERE name = ?1", params![name], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?)
    }

    pub(crate) fn put_secret_row(&self, name: &str, doc: &str, sealed: &[u8]) -> Result<()> {
        self.conn.execute(
            "INSERT INTO secrets (name, doc, sealed) VALUES (?1, ?2, ?3) ON CONFLICT(name) DO UPDATE SET doc = excluded.doc, sealed = excluded.sealed",
            params![name, doc, sealed],
        )?;
        Ok(())
    }

    pub(crate) fn secret_docs(&self) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare("SELECT doc FROM secrets ORDER BY seq")?;
        let docs = stmt.query_map([], |r| r.get::<_, String>(0))?.collect::<Result<Vec<_>, _>>()?;
        Ok(docs)
    }

    pub(crate) fn delete_secret_row(&self, name: &str) -> Result<()> {
        self.conn.execute("DELETE FROM secrets WHERE name = ?1", params![name])?;
        Ok(())
    }
}
