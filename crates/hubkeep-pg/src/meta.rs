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

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct SnapshotMeta {
    pub format_version: u32,
    /// e.g. "15.18"
    pub server_version: String,
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
    pub tables: Vec<TableMeta>,
    pub sequences: Vec<SequenceMeta>,
    pub roles: Vec<RoleMeta>,
    pub memberships: Vec<MembershipMeta>,
    pub db_settings: Vec<DbSetting>,
    /// What the snapshot could not carry, for the operator, e.g. login roles
    /// whose password verifiers were unreadable. Added in format version 2.
    #[serde(default)]
    pub warnings: Vec<String>,
}

impl SnapshotMeta {
    pub fn total_rows(&self) -> u64 {
        self.tables.iter().map(|t| t.rows).sum()
    }

    pub fn script(&self, name: &str) -> Option<&StreamMeta> {
        self.scripts.iter().find(|s| s.name == name)
    }
}

/// One SQL stream.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct StreamMeta {
    pub name: String,
    pub bytes: u64,
    /// Hex BLAKE3 (unkeyed) of the stream's bytes.
    pub blake3: String,
}

/// One table's data stream: COPY text format of `columns`, rows in `order_by`
/// order (physical order when empty).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct TableMeta {
    pub schema: String,
    pub name: String,
    pub stream: String,
    pub columns: Vec<String>,
    pub order_by: Vec<String>,
    pub has_pk: bool,
    /// Why the rows are in physical order although the table has a primary
    /// key (its key columns have no default btree ordering); absent
    /// otherwise. Added in format version 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub physical_order_reason: Option<String>,
    pub rows: u64,
    pub bytes: u64,
    pub blake3: String,
}

impl TableMeta {
    /// `schema.name` as shown to operators.
    pub fn display_name(&self) -> String {
        format!("{}.{}", self.schema, self.name)
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct SequenceMeta {
    pub schema: String,
    pub name: String,
    pub last_value: i64,
    pub is_called: bool,
}

/// A cluster role the database refers to, with its attributes. A restore
/// creates it when missing; never as a superuser, and with LOGIN only when
/// its password verifier was recorded or the source's `pg_authid` was
/// readable (so a login role without a password is known to have none).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct RoleMeta {
    pub name: String,
    pub superuser: bool,
    pub inherit: bool,
    pub create_role: bool,
    pub create_db: bool,
    pub can_login: bool,
    pub replication: bool,
    pub bypass_rls: bool,
    pub connection_limit: i32,
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

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct MembershipMeta {
    pub role: String,
    pub member: String,
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
    pub name: String,
    /// psql text; the database is written `:"DBNAME"` (see the format doc).
    pub statement: String,
}
