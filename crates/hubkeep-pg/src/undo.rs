//! Undoing a failed restore. The target was an empty database (restore
//! refuses any other), so "as before" is: no user object in it, the roles
//! the restore created gone, memberships it added between existing roles
//! revoked, and the `public` schema as it was. A restore cannot run in one
//! transaction (its tables load in parallel sessions), so a failure is
//! undone by dropping what it made, in an order where nothing drops twice:
//! event triggers first (so that no DDL trigger of the snapshot fires on
//! the drops), subscriptions, publications, extensions, every schema, then
//! the objects that live outside schemas (foreign-data wrappers, casts,
//! languages, transforms, access methods, default privileges), then the
//! created roles. Database-level properties need no undoing: they are
//! written by the last step, in one transaction.

use std::collections::BTreeSet;

use postgres::Client;

use crate::conninfo::ConnInfo;
use crate::error::PgError;
use crate::inspect::{self, query_failed};
use crate::sql::{ident, literal};

/// Oids below this belong to the system (initdb) and are never dropped.
const FIRST_NORMAL_OID: u32 = 16384;

/// The `public` schema of an empty database as it was.
struct PublicSchema {
    owner: String,
    /// Entries (grantee, privilege, grantable; grantee "" is PUBLIC);
    /// None for the built-in default ACL.
    acl: Option<Vec<AclEntry>>,
    comment: Option<String>,
}

type AclEntry = (String, String, bool);

/// What an empty target looked like before the restore touched it.
pub(crate) struct Before {
    /// `public`, when it existed.
    public: Option<PublicSchema>,
    memberships: BTreeSet<(String, String)>,
    plpgsql: bool,
}

fn memberships(client: &mut Client, target: &str) -> Result<BTreeSet<(String, String)>, PgError> {
    Ok(client
        .query(
            "SELECT r.rolname::text, m.rolname::text FROM pg_catalog.pg_auth_members am
             JOIN pg_catalog.pg_roles r ON r.oid = am.roleid
             JOIN pg_catalog.pg_roles m ON m.oid = am.member",
            &[],
        )
        .map_err(query_failed(target, "reading role memberships"))?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect())
}

pub(crate) fn record(client: &mut Client, target: &str) -> Result<Before, PgError> {
    let what = "recording the target's state so that a failed restore can be undone";
    let public = client
        .query_opt(
            "SELECT pg_catalog.pg_get_userbyid(n.nspowner)::text, n.nspacl IS NULL,
                    pg_catalog.obj_description(n.oid, 'pg_namespace')
             FROM pg_catalog.pg_namespace n WHERE n.nspname = 'public'",
            &[],
        )
        .map_err(query_failed(target, what))?;
    let public = match public {
        None => None,
        Some(row) => {
            let owner: String = row.get(0);
            let default_acl: bool = row.get(1);
            let acl = if default_acl {
                None
            } else {
                Some(
                    client
                        .query(
                            "SELECT CASE WHEN a.grantee = 0 THEN '' ELSE pg_catalog.pg_get_userbyid(a.grantee)::text END,
                                    a.privilege_type, a.is_grantable
                             FROM pg_catalog.pg_namespace n CROSS JOIN LATERAL aclexplode(n.nspacl) a
                             WHERE n.nspname = 'public'",
                            &[],
                        )
                        .map_err(query_failed(target, what))?
                        .iter()
                        .map(|r| (r.get(0), r.get(1), r.get(2)))
                        .collect(),
                )
            };
            Some(PublicSchema {
                owner,
                acl,
                comment: row.get(2),
            })
        }
    };
    let plpgsql = client
        .query_opt(
            "SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'plpgsql'",
            &[],
        )
        .map_err(query_failed(target, what))?
        .is_some();
    Ok(Before {
        public,
        memberships: memberships(client, target)?,
        plpgsql,
    })
}

/// Names from a catalog query, each turned into one statement.
fn statements(
    client: &mut Client,
    target: &str,
    query: &str,
    statement: impl Fn(&str) -> String,
) -> Result<Vec<String>, PgError> {
    Ok(client
        .query(query, &[])
        .map_err(query_failed(target, "listing what the restore created"))?
        .iter()
        .map(|r| statement(&r.get::<_, String>(0)))
        .collect())
}

/// Drops everything the failed restore made. Returns an error naming what
/// could not be undone; the caller reports it with the restore's own error.
pub(crate) fn undo(
    target: &ConnInfo,
    before: &Before,
    created_roles: &[String],
) -> Result<(), PgError> {
    let name = target.target();
    let mut client = target.connect()?;
    let run = |client: &mut Client, sql: &str| {
        client
            .batch_execute(sql)
            .map_err(query_failed(&name, &format!("undoing the restore ({sql})")))
    };
    let oid = FIRST_NORMAL_OID;
    // Each query lists names; `{}` in the template is replaced by each.
    let steps = [
        (
            "SELECT quote_ident(evtname) FROM pg_catalog.pg_event_trigger",
            "DROP EVENT TRIGGER {}",
        ),
        (
            "SELECT quote_ident(subname) FROM pg_catalog.pg_subscription
             WHERE subdbid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())",
            "ALTER SUBSCRIPTION {} DISABLE; ALTER SUBSCRIPTION {} SET (slot_name = NONE); DROP SUBSCRIPTION {}",
        ),
        (
            "SELECT quote_ident(pubname) FROM pg_catalog.pg_publication",
            "DROP PUBLICATION {}",
        ),
    ];
    let mut sql = Vec::new();
    for (query, template) in steps {
        sql.extend(statements(&mut client, &name, query, |n| {
            template.replace("{}", n)
        })?);
    }
    let keep_plpgsql = if before.plpgsql { "plpgsql" } else { "" };
    sql.extend(statements(
        &mut client,
        &name,
        &format!(
            "SELECT quote_ident(extname) FROM pg_catalog.pg_extension WHERE extname <> {}",
            literal(keep_plpgsql)
        ),
        |n| format!("DROP EXTENSION IF EXISTS {n} CASCADE"),
    )?);
    for s in &sql {
        run(&mut client, s)?;
    }
    let mut sql = statements(
        &mut client,
        &name,
        "SELECT quote_ident(nspname) FROM pg_catalog.pg_namespace
         WHERE nspname NOT IN ('pg_catalog', 'information_schema')
           AND nspname !~ '^pg_toast' AND nspname !~ '^pg_temp_'",
        |n| format!("DROP SCHEMA IF EXISTS {n} CASCADE"),
    )?;
    let outside_schemas = [
        (
            format!("SELECT quote_ident(fdwname) FROM pg_catalog.pg_foreign_data_wrapper WHERE oid >= {oid}"),
            "DROP FOREIGN DATA WRAPPER IF EXISTS {} CASCADE",
        ),
        (
            format!(
                "SELECT format('(%s AS %s)', castsource::regtype, casttarget::regtype)
                 FROM pg_catalog.pg_cast WHERE oid >= {oid}"
            ),
            "DROP CAST IF EXISTS {} CASCADE",
        ),
        (
            format!("SELECT quote_ident(lanname) FROM pg_catalog.pg_language WHERE oid >= {oid} AND lanname <> {}", literal(keep_plpgsql)),
            "DROP LANGUAGE IF EXISTS {} CASCADE",
        ),
        (
            format!(
                "SELECT format('FOR %s LANGUAGE %I', t.trftype::regtype, l.lanname)
                 FROM pg_catalog.pg_transform t JOIN pg_catalog.pg_language l ON l.oid = t.trflang
                 WHERE t.oid >= {oid}"
            ),
            "DROP TRANSFORM IF EXISTS {} CASCADE",
        ),
        (
            format!("SELECT quote_ident(amname) FROM pg_catalog.pg_am WHERE oid >= {oid}"),
            "DROP ACCESS METHOD IF EXISTS {} CASCADE",
        ),
    ];
    for (query, template) in &outside_schemas {
        sql.extend(statements(&mut client, &name, query, |n| {
            template.replace("{}", n)
        })?);
    }
    for s in &sql {
        run(&mut client, s)?;
    }
    // Default privileges of roles that stay (those of created roles go with
    // DROP OWNED): granting the built-in defaults back makes the server
    // delete the entry.
    let defaults = client
        .query(
            "SELECT pg_catalog.pg_get_userbyid(d.defaclrole)::text, d.defaclobjtype::text,
                    coalesce(array_agg(DISTINCT CASE WHEN a.grantee = 0 THEN 'PUBLIC'
                             ELSE quote_ident(pg_catalog.pg_get_userbyid(a.grantee)) END)
                             FILTER (WHERE a.grantee IS NOT NULL), '{}')
             FROM pg_catalog.pg_default_acl d
             LEFT JOIN LATERAL aclexplode(d.defaclacl) a ON true
             WHERE d.defaclnamespace = 0 AND NOT pg_catalog.pg_get_userbyid(d.defaclrole) = ANY($1)
             GROUP BY 1, 2",
            &[&created_roles],
        )
        .map_err(query_failed(&name, "listing default privileges"))?;
    for row in defaults {
        let role: String = row.get(0);
        let kind: String = row.get(1);
        let grantees: Vec<String> = row.get(2);
        let (objects, public_default) = match kind.as_str() {
            "r" => ("TABLES", None),
            "S" => ("SEQUENCES", None),
            "f" => ("FUNCTIONS", Some("EXECUTE")),
            "T" => ("TYPES", Some("USAGE")),
            _ => ("SCHEMAS", None),
        };
        let r = ident(&role);
        let mut s = String::new();
        for g in &grantees {
            s.push_str(&format!(
                "ALTER DEFAULT PRIVILEGES FOR ROLE {r} REVOKE ALL ON {objects} FROM {g};"
            ));
        }
        s.push_str(&format!(
            "ALTER DEFAULT PRIVILEGES FOR ROLE {r} GRANT ALL ON {objects} TO {r};"
        ));
        if let Some(p) = public_default {
            s.push_str(&format!(
                "ALTER DEFAULT PRIVILEGES FOR ROLE {r} GRANT {p} ON {objects} TO PUBLIC;"
            ));
        }
        run(&mut client, &s)?;
    }
    for role in created_roles {
        let r = ident(role);
        run(
            &mut client,
            &format!("DROP OWNED BY {r} CASCADE; DROP ROLE {r}"),
        )?;
    }
    for (role, member) in memberships(&mut client, &name)?.difference(&before.memberships) {
        run(
            &mut client,
            &format!("REVOKE {} FROM {}", ident(role), ident(member)),
        )?;
    }
    if let Some(PublicSchema {
        owner,
        acl,
        comment,
    }) = &before.public
    {
        let mut s = format!("CREATE SCHEMA public AUTHORIZATION {};", ident(owner));
        if let Some(c) = comment {
            s.push_str(&format!("COMMENT ON SCHEMA public IS {};", literal(c)));
        }
        if let Some(acl) = acl {
            s.push_str(&format!(
                "REVOKE ALL ON SCHEMA public FROM {};",
                ident(owner)
            ));
            for (grantee, privilege, grantable) in acl {
                let to = if grantee.is_empty() {
                    "PUBLIC".to_string()
                } else {
                    ident(grantee)
                };
                s.push_str(&format!(
                    "GRANT {privilege} ON SCHEMA public TO {to}{};",
                    if *grantable { " WITH GRANT OPTION" } else { "" }
                ));
            }
        }
        run(&mut client, &s)?;
    }
    let left = inspect::database_user_objects(&mut client, &name)?;
    if !left.is_empty() {
        return Err(PgError::NotEmpty {
            database: target.dbname.clone(),
            objects: left,
        });
    }
    Ok(())
}
