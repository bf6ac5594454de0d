//! PostgreSQL for hubkeep: consistent logical snapshots of one database,
//! restore of a snapshot into an empty database, and the embedded clusters
//! hubkeep runs for its stacks.
//!
//! A snapshot is a set of named byte streams (SQL scripts and one COPY
//! stream per table, rows in primary-key order so that night-over-night
//! snapshots deduplicate) plus [`SnapshotMeta`], all taken inside one
//! exported MVCC snapshot. This crate does not store anything: it writes
//! streams into a [`SnapshotSink`] and reads them back from a
//! [`SnapshotSource`]; the service layer implements both on the vault. It
//! knows nothing of stacks, vaults or Hubs. The stream format is specified in
//! `docs/snapshot-format.md`.
//!
//! ```no_run
//! # use hubkeep_pg::*;
//! # fn demo(sink: &mut dyn SnapshotSink, source: &dyn SnapshotSource) -> Result<(), PgError> {
//! let source_db = ConnInfo::parse_url("postgres://ret_admin:pw@127.0.0.1:5432/ret_production")?;
//! let meta = create_snapshot(&source_db, sink, &SnapshotOptions::default())?;
//! let target = source_db.with_dbname("ret_restored"); // an existing, empty database
//! let report = restore_snapshot(source, &meta, &target, &RestoreOptions::default())?;
//! assert_eq!(report.rows, meta.total_rows());
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

mod admin;
pub mod cluster;
mod conninfo;
mod copy_out;
mod error;
mod fingerprint;
mod hashing;
mod inspect;
mod load_dump;
mod meta;
mod migrations;
mod offline;
mod parallel_load;
mod postdata;
mod ranges;
mod restore;
mod roles;
mod rows;
mod snapshot;
mod sql;
mod tools;
mod undo;
mod verify;

pub use admin::{
    create_database, create_role_and_database, database_exists, database_user_objects,
    drop_database, drop_role, is_superuser, quote_ident, role_exists, server_major_version,
    server_version,
};
pub use conninfo::{set_default_timeouts, ConnInfo, Timeouts};
pub use error::PgError;
pub use fingerprint::table_fingerprints;
pub use load_dump::{create_missing_roles, dump_format, dump_roles, load_dump, DumpFormat};
pub use meta::{
    DbSetting, MembershipMeta, RoleMeta, SequenceMeta, SnapshotMeta, StreamMeta, TableMeta,
    FORMAT_VERSION,
};
pub use migrations::{ecto_migration_level, schema_owner};
pub use offline::{block_connections, connection_limit, set_connection_limit};
pub use restore::{restore_snapshot, RestoreOptions, RestoreReport, SnapshotSource, TableCheck};
pub use rows::{copy_rows, CopyRows, Row};
pub use snapshot::{create_snapshot, table_stream_name, Progress, SnapshotOptions, SnapshotSink};
pub use tools::Version;
pub use verify::verify_streams;
