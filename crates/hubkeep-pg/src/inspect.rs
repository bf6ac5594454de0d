//! Catalog queries: what a database holds (tables to copy, sequences, the
//! roles it refers to, its database-level settings, whether it is empty).
//! Run inside the snapshot transaction they describe the snapshot's instant.

use std::collections::BTreeSet;

use postgres::Client;

use crate::error::PgError;
use crate::meta::{DbSetting, MembershipMeta, RoleMeta, SequenceMeta};
use crate::sql::{ident, literal, qualified};

/// Schemas that never hold user data.
const SYSTEM_SCHEMAS: &str = "n.nspname NOT IN ('pg_catalog', 'information_schema') \
     AND n.nspname !~ '^pg_toast' AND n.nspname !~ '^pg_temp_'";

/// A table whose rows go into a stream: an ordinary table or a leaf
/// partition, not a member of an extension.
#[derive(Clone, Debug)]
pub struct DataTable {
    pub oid: u32,
    pub schema: String,
    pub name: String,
    /// Columns in attribute order, without dropped or generated ones.
    pub columns: Vec<String>,
    /// Primary-key columns in key order (the `indnkeyatts` key columns,
    /// never the `INCLUDE` ones); empty without a primary key.
    pub primary_key: Vec<String>,
}

impl DataTable {
    pub fn display_name(&self) -> String {
        format!("{}.{}", self.schema, self.name)
    }
}

pub(crate) fn query_failed(target: &str, what: &str) -> impl FnOnce(postgres::Error) -> PgError {
    let target = target.to_string();
    let what = what.to_string();
    move |source| PgError::Query {
        target,
        what,
        source,
    }
}

/// Every table with rows to copy (leaf partitions included, partitioned
/// parents, views, foreign tables, temporary tables and extension members
/// excluded), sorted by schema and name.
pub fn data_tables(client: &mut Client, target: &str) -> Result<Vec<DataTable>, PgError> {
    let sql = format!(
        "SELECT c.oid, n.nspname::text, c.relname::text,
            ARRAY(SELECT a.attname::text FROM pg_catalog.pg_attribute a
                  WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                    AND a.attgenerated <> 's'
                  ORDER BY a.attnum),
            ARRAY(SELECT a.attname::text FROM pg_catalog.pg_index i
                  CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
                  JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                  WHERE i.indrelid = c.oid AND i.indisprimary AND k.ord <= i.indnkeyatts
                  ORDER BY k.ord)
         FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind = 'r' AND c.relpersistence <> 't' AND {SYSTEM_SCHEMAS}
           AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                           WHERE d.classid = 'pg_catalog.pg_class'::regclass
                             AND d.objid = c.oid AND d.deptype = 'e')
         ORDER BY n.nspname, c.relname"
    );
    let rows = client
        .query(sql.as_str(), &[])
        .map_err(query_failed(target, "listing the tables to snapshot"))?;
    Ok(rows
        .iter()
        .map(|r| DataTable {
            oid: r.get(0),
            schema: r.get(1),
            name: r.get(2),
            columns: r.get(3),
            primary_key: r.get(4),
        })
        .collect())
}

/// Sequences with their current values. Sequence reads are not
/// transactional: the values are those at the moment of reading, which in a
/// snapshot is just after the data instant (as with pg_dump).
pub fn sequences(client: &mut Client, target: &str) -> Result<Vec<SequenceMeta>, PgError> {
    let sql = format!(
        "SELECT n.nspname::text, c.relname::text
         FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind = 'S' AND {SYSTEM_SCHEMAS}
           AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                           WHERE d.classid = 'pg_catalog.pg_class'::regclass
                             AND d.objid = c.oid AND d.deptype = 'e')
         ORDER BY n.nspname, c.relname"
    );
    let names = client
        .query(sql.as_str(), &[])
        .map_err(query_failed(target, "listing sequences"))?;
    let mut out = Vec::with_capacity(names.len());
    for r in names {
        let schema: String = r.get(0);
        let name: String = r.get(1);
        let row = client
            .query_one(
                format!(
                    "SELECT last_value, is_called FROM {}",
                    qualified(&schema, &name)
                )
                .as_str(),
                &[],
            )
            .map_err(query_failed(
                target,
                &format!("reading sequence {schema}.{name}"),
            ))?;
        out.push(SequenceMeta {
            schema,
            name,
            last_value: row.get(0),
            is_called: row.get(1),
        });
    }
    Ok(out)
}

/// Number of large objects (which snapshots do not carry).
pub fn large_object_count(client: &mut Client, target: &str) -> Result<i64, PgError> {
    client
        .query_one(
            "SELECT count(*) FROM pg_catalog.pg_largeobject_metadata",
            &[],
        )
        .map(|r| r.get(0))
        .map_err(query_failed(target, "counting large objects"))
}

/// The roles the current database refers to (owners, grantees including
/// default privileges, policy roles, per-database settings, the database's
/// owner and grantees), closed over memberships in both directions, so
/// that e.g. `postgrest_authenticator`, referenced only as a member of a
/// granted role, comes along. Traversal stops at predefined `pg_*` roles,
/// which every server has and which are never recreated.
pub fn referenced_roles(
    client: &mut Client,
    target: &str,
) -> Result<(Vec<RoleMeta>, Vec<MembershipMeta>), PgError> {
    let closure = "WITH RECURSIVE db AS (
            SELECT oid, datdba FROM pg_catalog.pg_database WHERE datname = current_database()),
        direct(oid) AS (
            SELECT refobjid FROM pg_catalog.pg_shdepend
              WHERE refclassid = 'pg_catalog.pg_authid'::regclass AND dbid = (SELECT oid FROM db)
            UNION SELECT refobjid FROM pg_catalog.pg_shdepend
              WHERE refclassid = 'pg_catalog.pg_authid'::regclass
                AND classid = 'pg_catalog.pg_database'::regclass AND objid = (SELECT oid FROM db)
            UNION SELECT datdba FROM db
            UNION SELECT setrole FROM pg_catalog.pg_db_role_setting
              WHERE setdatabase = (SELECT oid FROM db) AND setrole <> 0),
        edges(a, b) AS (
            SELECT roleid, member FROM pg_catalog.pg_auth_members
            UNION SELECT member, roleid FROM pg_catalog.pg_auth_members),
        closure(oid) AS (
            SELECT oid FROM direct
            UNION
            SELECT e.b FROM edges e JOIN closure c ON e.a = c.oid
              JOIN pg_catalog.pg_roles r ON r.oid = c.oid
              WHERE r.rolname !~ '^pg_')";
    let roles_sql = format!(
        "{closure}
        SELECT r.rolname::text, r.rolsuper, r.rolinherit, r.rolcreaterole, r.rolcreatedb,
               r.rolcanlogin, r.rolreplication, r.rolbypassrls, r.rolconnlimit,
               r.rolvaliduntil::text, coalesce(r.rolconfig, '{{}}'::text[]),
               pg_catalog.shobj_description(r.oid, 'pg_authid')
        FROM pg_catalog.pg_roles r JOIN closure c ON c.oid = r.oid
        WHERE r.rolname !~ '^pg_'
        ORDER BY r.rolname"
    );
    let roles = client
        .query(roles_sql.as_str(), &[])
        .map_err(query_failed(
            target,
            "listing the roles the database refers to",
        ))?
        .iter()
        .map(|r| RoleMeta {
            name: r.get(0),
            superuser: r.get(1),
            inherit: r.get(2),
            create_role: r.get(3),
            create_db: r.get(4),
            can_login: r.get(5),
            replication: r.get(6),
            bypass_rls: r.get(7),
            connection_limit: r.get(8),
            valid_until: r.get(9),
            settings: r.get(10),
            password_recorded: false,
            comment: r.get(11),
        })
        .collect();
    let members_sql = format!(
        "{closure}
        SELECT r.rolname::text, m.rolname::text, am.admin_option, g.rolname::text
        FROM pg_catalog.pg_auth_members am
        JOIN pg_catalog.pg_roles r ON r.oid = am.roleid
        JOIN pg_catalog.pg_roles m ON m.oid = am.member
        LEFT JOIN pg_catalog.pg_roles g ON g.oid = am.grantor
        WHERE am.roleid IN (SELECT oid FROM closure) AND am.member IN (SELECT oid FROM closure)
        ORDER BY 1, 2"
    );
    let memberships = client
        .query(members_sql.as_str(), &[])
        .map_err(query_failed(target, "listing role memberships"))?
        .iter()
        .map(|r| MembershipMeta {
            role: r.get(0),
            member: r.get(1),
            admin_option: r.get(2),
            grantor: r.get(3),
        })
        .collect();
    Ok((roles, memberships))
}

/// The stored password verifiers (SCRAM-SHA-256 or MD5) of `roles`, or
/// None when this session may not read `pg_authid` (only superusers may).
/// Roles without a password are absent from the map.
pub fn password_verifiers(
    client: &mut Client,
    target: &str,
    roles: &[String],
) -> Result<Option<std::collections::BTreeMap<String, String>>, PgError> {
    let readable: bool = client
        .query_one(
            "SELECT pg_catalog.has_table_privilege('pg_catalog.pg_authid', 'SELECT')",
            &[],
        )
        .map_err(query_failed(target, "checking access to role passwords"))?
        .get(0);
    if !readable {
        return Ok(None);
    }
    let rows = client
        .query(
            "SELECT rolname::text, rolpassword FROM pg_catalog.pg_authid
             WHERE rolname = ANY($1) AND rolpassword IS NOT NULL",
            &[&roles],
        )
        .map_err(query_failed(target, "reading role password verifiers"))?;
    Ok(Some(rows.iter().map(|r| (r.get(0), r.get(1))).collect()))
}

/// The database's owner and comment, which pg_dump writes only with
/// `--create`, as statements for database-settings.sql. The owner comes
/// first so that the privileges that follow are granted as it.
pub fn database_owner_and_comment(
    client: &mut Client,
    target: &str,
) -> Result<Vec<DbSetting>, PgError> {
    let row = client
        .query_one(
            "SELECT pg_catalog.pg_get_userbyid(d.datdba)::text,
                    pg_catalog.shobj_description(d.oid, 'pg_database')
             FROM pg_catalog.pg_database d WHERE d.datname = current_database()",
            &[],
        )
        .map_err(query_failed(target, "reading the database's owner"))?;
    let owner: String = row.get(0);
    let comment: Option<String> = row.get(1);
    let mut out = vec![DbSetting {
        name: "owner".into(),
        statement: format!("ALTER DATABASE :\"DBNAME\" OWNER TO {};", ident(&owner)),
    }];
    if let Some(comment) = comment {
        out.push(DbSetting {
            name: "comment".into(),
            statement: format!("COMMENT ON DATABASE :\"DBNAME\" IS {};", literal(&comment)),
        });
    }
    Ok(out)
}

/// Database-level settings that only `pg_dump --create` would carry:
/// `ALTER DATABASE … SET`, `ALTER ROLE … IN DATABASE … SET`, the connection
/// limit and the database's privileges. Statements name the database as the
/// psql variable `:"DBNAME"`.
pub fn database_settings(client: &mut Client, target: &str) -> Result<Vec<DbSetting>, PgError> {
    let mut out = Vec::new();
    let limit: i32 = client
        .query_one(
            "SELECT datconnlimit FROM pg_catalog.pg_database WHERE datname = current_database()",
            &[],
        )
        .map_err(query_failed(
            target,
            "reading the database's connection limit",
        ))?
        .get(0);
    if limit >= 0 {
        out.push(DbSetting {
            name: "connection_limit".into(),
            statement: format!("ALTER DATABASE :\"DBNAME\" CONNECTION LIMIT {limit};"),
        });
    }
    let settings = client
        .query(
            "SELECT coalesce(r.rolname::text, ''), s.setconfig
             FROM pg_catalog.pg_db_role_setting s
             LEFT JOIN pg_catalog.pg_roles r ON r.oid = s.setrole
             WHERE s.setdatabase = (SELECT oid FROM pg_catalog.pg_database
                                    WHERE datname = current_database())
             ORDER BY 1",
            &[],
        )
        .map_err(query_failed(target, "reading the database's settings"))?;
    for row in settings {
        let role: String = row.get(0);
        let config: Vec<String> = row.get(1);
        for entry in config {
            let Some((param, value)) = entry.split_once('=') else {
                continue;
            };
            let set = set_clause(param, value);
            if role.is_empty() {
                out.push(DbSetting {
                    name: param.to_string(),
                    statement: format!("ALTER DATABASE :\"DBNAME\" {set};"),
                });
            } else {
                out.push(DbSetting {
                    name: format!("{role}/{param}"),
                    statement: format!(
                        "ALTER ROLE {} IN DATABASE :\"DBNAME\" {set};",
                        ident(&role)
                    ),
                });
            }
        }
    }
    let acl = client
        .query(
            "SELECT CASE WHEN a.grantee = 0 THEN '' ELSE r.rolname::text END,
                    a.privilege_type, a.is_grantable
             FROM pg_catalog.pg_database d
             CROSS JOIN LATERAL aclexplode(d.datacl) a
             LEFT JOIN pg_catalog.pg_roles r ON r.oid = a.grantee
             WHERE d.datname = current_database() AND a.grantee <> d.datdba
             ORDER BY 1, 2",
            &[],
        )
        .map_err(query_failed(target, "reading the database's privileges"))?;
    let has_acl: bool = client
        .query_one(
            "SELECT datacl IS NOT NULL FROM pg_catalog.pg_database WHERE datname = current_database()",
            &[],
        )
        .map_err(query_failed(target, "reading the database's privileges"))?
        .get(0);
    if has_acl {
        let mut statement = String::from("REVOKE ALL ON DATABASE :\"DBNAME\" FROM PUBLIC;");
        for row in acl {
            let grantee: String = row.get(0);
            let privilege: String = row.get(1);
            let grantable: bool = row.get(2);
            let to = if grantee.is_empty() {
                "PUBLIC".to_string()
            } else {
                ident(&grantee)
            };
            statement.push_str(&format!(
                "\nGRANT {privilege} ON DATABASE :\"DBNAME\" TO {to}{};",
                if grantable { " WITH GRANT OPTION" } else { "" }
            ));
        }
        out.push(DbSetting {
            name: "privileges".into(),
            statement,
        });
    }
    Ok(out)
}

/// `SET param TO value` for a stored `param=value`. List parameters such as
/// search_path are stored as a quoted list and must be re-split into
/// separate literals (as pg_dump does), or `"$user", public` would become
/// one schema name.
pub fn set_clause(param: &str, value: &str) -> String {
    const LIST_PARAMS: [&str; 5] = [
        "search_path",
        "temp_tablespaces",
        "session_preload_libraries",
        "shared_preload_libraries",
        "local_preload_libraries",
    ];
    let rendered = if LIST_PARAMS.contains(&param.to_ascii_lowercase().as_str()) {
        split_guc_list(value)
            .iter()
            .map(|v| literal(v))
            .collect::<Vec<_>>()
            .join(", ")
    } else {
        literal(value)
    };
    format!("SET {} TO {rendered}", ident(param))
}

/// Splits `"$user", public, "a""b"` into `$user`, `public`, `a"b`.
fn split_guc_list(value: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut chars = value.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        let mut item = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                if c == '"' {
                    if chars.peek() == Some(&'"') {
                        chars.next();
                        item.push('"');
                    } else {
                        break;
                    }
                } else {
                    item.push(c);
                }
            }
            while chars.peek().is_some_and(|c| *c != ',') {
                chars.next();
            }
        } else {
            while let Some(c) = chars.peek().copied() {
                if c == ',' {
                    break;
                }
                item.push(c);
                chars.next();
            }
            item = item.trim_end().to_string();
        }
        items.push(item);
        if chars.next().is_none() {
            break;
        }
    }
    items
}

/// The user objects a database holds, as `kind schema.name` words, e.g.
/// `table ret0.hubs`, `schema ret0`, `extension pgcrypto`. Empty for a
/// freshly created database.
pub fn database_user_objects(client: &mut Client, target: &str) -> Result<Vec<String>, PgError> {
    let sql = format!(
        "SELECT kind || ' ' || name FROM (
           SELECT 1 AS o, 'schema' AS kind, n.nspname::text AS name
             FROM pg_catalog.pg_namespace n
             WHERE n.nspname <> 'public' AND {SYSTEM_SCHEMAS} AND n.nspname !~ '^pg_toast_temp_'
           UNION ALL
           SELECT 2, CASE c.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view'
                       WHEN 'S' THEN 'sequence' WHEN 'f' THEN 'foreign table' ELSE 'table' END,
                  n.nspname || '.' || c.relname
             FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND {SYSTEM_SCHEMAS}
           UNION ALL
           SELECT 3, 'function', n.nspname || '.' || p.proname
             FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
             WHERE {SYSTEM_SCHEMAS}
           UNION ALL
           SELECT 4, 'type', n.nspname || '.' || t.typname
             FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
             WHERE t.typtype IN ('e', 'd', 'r', 'm', 'b') AND t.typelem = 0 AND {SYSTEM_SCHEMAS}
           UNION ALL
           SELECT 5, 'extension', e.extname::text FROM pg_catalog.pg_extension e
             WHERE e.extname <> 'plpgsql'
           UNION ALL
           SELECT 6, 'large objects', count(*)::text FROM pg_catalog.pg_largeobject_metadata
             HAVING count(*) > 0
         ) objects ORDER BY o, name"
    );
    client
        .query(sql.as_str(), &[])
        .map(|rows| rows.iter().map(|r| r.get(0)).collect())
        .map_err(query_failed(target, "listing the objects in the database"))
}

/// Names of the given roles that already exist on the server.
pub fn existing_roles(
    client: &mut Client,
    target: &str,
    names: &[String],
) -> Result<BTreeSet<String>, PgError> {
    client
        .query(
            "SELECT rolname::text FROM pg_catalog.pg_roles WHERE rolname = ANY($1)",
            &[&names],
        )
        .map(|rows| rows.iter().map(|r| r.get(0)).collect())
        .map_err(query_failed(target, "looking up existing roles"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_settings_keep_their_elements_apart() {
        assert_eq!(
            split_guc_list(r#""$user", public"#),
            vec!["$user", "public"]
        );
        assert_eq!(
            split_guc_list(r#"ret0, "we""ird""#),
            vec!["ret0", r#"we"ird"#]
        );
        assert_eq!(
            set_clause("search_path", r#""$user", public"#),
            r#"SET "search_path" TO '$user', 'public'"#
        );
        assert_eq!(
            set_clause("statement_timeout", "5s"),
            r#"SET "statement_timeout" TO '5s'"#
        );
    }
}
