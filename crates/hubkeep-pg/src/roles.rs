//! roles.sql: the cluster roles a database needs, as an idempotent psql
//! script. A role that already exists is left alone (its password above
//! all); a missing one is created with its recorded attributes and comment,
//! never as a superuser, and with LOGIN only when its password is known (or
//! the source's passwords were readable and it has none). Passwords are
//! never written in clear: only verifiers, computed here or read from the
//! source's `pg_authid`.

use std::collections::BTreeMap;

use crate::inspect::set_clause;
use crate::meta::{MembershipMeta, RoleMeta};
use crate::sql::{ident, literal};

/// The SCRAM-SHA-256 verifier the server stores for `password`; sending it
/// instead of the password keeps the clear text out of server logs.
pub fn scram_verifier(password: &str) -> String {
    postgres_protocol::password::scram_sha_256(password.as_bytes())
}

/// The body of roles.sql.
pub fn roles_script(
    roles: &[RoleMeta],
    memberships: &[MembershipMeta],
    verifiers: &BTreeMap<String, String>,
    passwords_readable: bool,
) -> String {
    let mut s = String::from(
        "-- hubkeep snapshot: cluster roles this database refers to.\n\
         -- Creates missing roles only; existing roles are not changed.\n\
         \\set ON_ERROR_STOP on\n\
         \\set VERBOSITY terse\n",
    );
    for role in roles {
        let verifier = verifiers.get(&role.name);
        let mut create = format!("CREATE ROLE {} WITH NOSUPERUSER", ident(&role.name));
        create.push_str(if role.inherit {
            " INHERIT"
        } else {
            " NOINHERIT"
        });
        create.push_str(if role.create_role {
            " CREATEROLE"
        } else {
            " NOCREATEROLE"
        });
        create.push_str(if role.create_db {
            " CREATEDB"
        } else {
            " NOCREATEDB"
        });
        // A login role without a stored password (trust, peer, cert
        // authentication) keeps LOGIN only when we know it has none.
        create.push_str(
            if role.can_login && (verifier.is_some() || passwords_readable) {
                " LOGIN"
            } else {
                " NOLOGIN"
            },
        );
        create.push_str(if role.replication {
            " REPLICATION"
        } else {
            " NOREPLICATION"
        });
        create.push_str(if role.bypass_rls {
            " BYPASSRLS"
        } else {
            " NOBYPASSRLS"
        });
        create.push_str(&format!(" CONNECTION LIMIT {}", role.connection_limit));
        if let Some(until) = &role.valid_until {
            create.push_str(&format!(" VALID UNTIL {}", literal(until)));
        }
        if let Some(v) = verifier {
            create.push_str(&format!(" PASSWORD {}", literal(v)));
        }
        let mut body = format!(
            "IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = {}) THEN\n    {create};\n",
            literal(&role.name)
        );
        for entry in &role.settings {
            if let Some((param, value)) = entry.split_once('=') {
                body.push_str(&format!(
                    "    ALTER ROLE {} {};\n",
                    ident(&role.name),
                    set_clause(param, value)
                ));
            }
        }
        if let Some(comment) = &role.comment {
            body.push_str(&format!(
                "    COMMENT ON ROLE {} IS {};\n",
                ident(&role.name),
                literal(comment)
            ));
        }
        body.push_str("  END IF;");
        s.push_str(&format!("-- role {}\n{}\n", role.name, do_block(&body)));
    }
    for m in memberships {
        let grant = format!(
            "GRANT {} TO {}{}",
            ident(&m.role),
            ident(&m.member),
            if m.admin_option {
                " WITH ADMIN OPTION"
            } else {
                ""
            }
        );
        // The grantor is recorded as in the source when it exists here
        // (GRANTED BY naming another role needs a superuser, as restores
        // into a new cluster run); otherwise the grant is the restorer's.
        let grant = match &m.grantor {
            Some(g) => format!(
                "IF EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = {}) THEN\n      \
                 {grant} GRANTED BY {};\n    ELSE\n      {grant};\n    END IF;",
                literal(g),
                ident(g)
            ),
            None => format!("{grant};"),
        };
        let body = format!(
            "IF NOT EXISTS (SELECT FROM pg_catalog.pg_auth_members am\n      \
             JOIN pg_catalog.pg_roles r ON r.oid = am.roleid\n      \
             JOIN pg_catalog.pg_roles u ON u.oid = am.member\n      \
             WHERE r.rolname = {} AND u.rolname = {}) THEN\n    \
             {grant}\n  END IF;",
            literal(&m.role),
            literal(&m.member),
        );
        s.push_str(&format!(
            "-- {} is a member of {}\n{}\n",
            m.member,
            m.role,
            do_block(&body)
        ));
    }
    s
}

/// `ALTER ROLE` giving a role created by this restore its password.
pub fn set_password_statement(role: &RoleMeta, password: &str) -> String {
    format!(
        "ALTER ROLE {}{} PASSWORD {}",
        ident(&role.name),
        if role.can_login { " LOGIN" } else { "" },
        literal(&scram_verifier(password))
    )
}

/// A `DO` block whose dollar-quote tag does not occur in its body.
fn do_block(body: &str) -> String {
    let mut tag = String::from("$hk$");
    let mut n = 0;
    while body.contains(&tag) {
        n += 1;
        tag = format!("$hk{n}$");
    }
    format!("DO {tag}\nBEGIN\n  {body}\nEND\n{tag};")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(name: &str, login: bool) -> RoleMeta {
        RoleMeta {
            name: name.into(),
            superuser: true,
            inherit: true,
            create_role: false,
            create_db: false,
            can_login: login,
            replication: false,
            bypass_rls: false,
            connection_limit: -1,
            valid_until: None,
            settings: vec!["search_path=\"$user\", public".into()],
            password_recorded: false,
            comment: None,
        }
    }

    #[test]
    fn script_never_creates_superusers_and_logs_in_only_with_a_password() {
        let roles = [role("postgrest_authenticator", true), role("bob", true)];
        let mut verifiers = BTreeMap::new();
        verifiers.insert("postgrest_authenticator".to_string(), scram_verifier("pw"));
        let s = roles_script(&roles, &[], &verifiers, false);
        assert!(!s.contains(" SUPERUSER"), "{s}");
        assert!(s.contains("CREATE ROLE \"postgrest_authenticator\" WITH NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB LOGIN"));
        assert!(s.contains(
            "CREATE ROLE \"bob\" WITH NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB NOLOGIN"
        ));
        assert!(s.contains("PASSWORD 'SCRAM-SHA-256$"), "{s}");
        assert!(!s.contains("'pw'"));
    }

    #[test]
    fn dollar_quote_tag_avoids_the_body() {
        let b = do_block("SELECT '$hk$'");
        assert!(b.starts_with("DO $hk1$\n"), "{b}");
    }
}
