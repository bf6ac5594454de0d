//! The description of one snapshot: what streams it has, what each holds and
//! how to check it. The caller stores it (as JSON) next to the streams; the
//! snapshot also writes it as its last stream, `meta.json`. It never holds a
//! password. Specified in docs/snapshot-format.md.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The format this crate writes. Version 2 added optional metadata fields
/// (absent in version 1, read as their defaults) and nothing a version-1
/// restore would misread; this crate reads every version from 1 up to this
/// one. A version that changes what existing streams mean gets a number a
/// reader refuses.
pub const FORMAT_VERSION: u32 = 2;

/// Whether this crate can restore and verify a snapshot of `version`.
pub fn readable(version: u32) -> bool {
    (1..=FORMAT_VERSION).contains(&version)
}

/// Stream names (see docs/snapshot-format.md).
pub const STREAM_ROLES: &str = "roles.sql";
pub const STREAM_PRE_DATA: &str = "pre-data.sql";
pub const STREAM_POST_DATA: &str = "post-data.sql";
pub const STREAM_SEQUENCES: &str = "sequences.sql";
pub const STREAM_DB_SETTINGS: &str = "database-settings.sql";
pub const STREAM_META: &str = "meta.json";

/// The description of one snapshot, as stored beside its streams.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct SnapshotMeta {
    /// The format version it was written in (see [`FORMAT_VERSION`]).
    pub format_version: u32,
    /// e.g. "15.18"
    pub server_version: String,
    /// The server's version as a number, e.g. 150018.
    pub server_version_num: u32,
    /// e.g. "15.18"
    pub pg_dump_version: String,
    /// The source database's name (restore may use another).
    pub database: String,
    /// The source database's encoding, e.g. "UTF8".
    pub encoding: String,
    /// Bytes of all streams except meta.json.
    pub size_bytes: u64,
    /// The instant the snapshot shows (when it was exported).
    pub created_at: DateTime<Utc>,
    /// The SQL streams, in the order they were written.
    pub scripts: Vec<StreamMeta>,
    /// The data streams, one per table.
    pub tables: Vec<TableMeta>,
    /// The sequences and their values.
    pub sequences: Vec<SequenceMeta>,
    /// The roles the database refers to.
    pub roles: Vec<RoleMeta>,
    /// Memberships among those roles.
    pub memberships: Vec<MembershipMeta>,
    /// Database-level settings, as statements.
    pub db_settings: Vec<DbSetting>,
    /// What the snapshot could not carry, for the operator, e.g. login roles
    /// whose password verifiers were unreadable. Added in format version 2.
    #[serde(default)]
    pub warnings: Vec<String>,
}

impl SnapshotMeta {
    /// Rows of all tables together.
    pub fn total_rows(&self) -> u64 {
        self.tables.iter().map(|t| t.rows).sum()
    }

    /// The SQL stream `name`, if the snapshot has it.
    pub fn script(&self, name: &str) -> Option<&StreamMeta> {
        self.scripts.iter().find(|s| s.name == name)
    }
}

/// One SQL stream.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct StreamMeta {
    /// The stream's name.
    pub name: String,
    /// The stream's length in bytes.
    pub bytes: u64,
    /// Hex BLAKE3 (unkeyed) of the stream's bytes.
    pub blake3: String,
}

/// One table's data stream: COPY text format of `columns`, rows in `order_by`
/// order (physical order when empty).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct TableMeta {
    /// The table's schema.
    pub schema: String,
    /// The table's name.
    pub name: String,
    /// The name of its data stream.
    pub stream: String,
    /// The columns, in the stream's order.
    pub columns: Vec<String>,
    /// The columns the rows are ordered by.
    pub order_by: Vec<String>,
    /// Whether the table has a primary key.
    pub has_pk: bool,
    /// Why the rows are in physical order although the table has a primary
    /// key (its key columns have no default btree ordering); absent
    /// otherwise. Added in format version 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub physical_order_reason: Option<String>,
    /// Rows in the stream.
    pub rows: u64,
    /// The stream's length in bytes.
    pub bytes: u64,
    /// Hex BLAKE3 (unkeyed) of the stream's bytes.
    pub blake3: String,
}

impl TableMeta {
    /// `schema.name` as shown to operators.
    pub fn display_name(&self) -> String {
        format!("{}.{}", self.schema, self.name)
    }
}

/// One sequence and where it stood.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct SequenceMeta {
    /// The sequence's schema.
    pub schema: String,
    /// The sequence's name.
    pub name: String,
    /// Its `last_value`.
    pub last_value: i64,
    /// Its `is_called`: whether `last_value` was handed out.
    pub is_called: bool,
}

/// A cluster role the database refers to, with its attributes. A restore
/// creates it when missing; never as a superuser, and with LOGIN only when
/// its password verifier was recorded or the source's `pg_authid` was
/// readable (so a login role without a password is known to have none).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct RoleMeta {
    /// The role's name.
    pub name: String,
    /// `SUPERUSER` at the source (never restored as one).
    pub superuser: bool,
    /// `INHERIT`.
    pub inherit: bool,
    /// `CREATEROLE`.
    pub create_role: bool,
    /// `CREATEDB`.
    pub create_db: bool,
    /// `LOGIN`.
    pub can_login: bool,
    /// `REPLICATION`.
    pub replication: bool,
    /// `BYPASSRLS`.
    pub bypass_rls: bool,
    /// `CONNECTION LIMIT`; -1 for none.
    pub connection_limit: i32,
    /// `VALID UNTIL`, as the server prints it.
    pub valid_until: Option<String>,
    /// `name=value` settings from `ALTER ROLE … SET` (all databases).
    pub settings: Vec<String>,
    /// A password verifier is in roles.sql: computed from
    /// `SnapshotOptions::role_passwords`, or the one the source stores in
    /// `pg_authid` (read when the snapshot runs as a superuser).
    pub password_recorded: bool,
    /// `COMMENT ON ROLE`, applied when the restore creates the role.
    /// Added in format version 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// One membership: `member` is a member of `role`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct MembershipMeta {
    /// The role granted.
    pub role: String,
    /// The role it is granted to.
    pub member: String,
    /// Whether the member may grant it on (`WITH ADMIN OPTION`).
    pub admin_option: bool,
    /// Who granted it (`pg_auth_members.grantor`); the restore records the
    /// same grantor when that role exists on the target. Added in format
    /// version 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grantor: Option<String>,
}

/// One database-level setting as a statement for database-settings.sql.
/// `name` is what `ignore_db_settings` matches: `connection_limit`,
/// `privileges`, a parameter name (`search_path`) for `ALTER DATABASE … SET`,
/// or `ROLE/parameter` for `ALTER ROLE … IN DATABASE … SET`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct DbSetting {
    /// What `ignore_db_settings` matches (see above).
    pub name: String,
    /// psql text; the database is written `:"DBNAME"` (see the format doc).
    pub statement: String,
}
