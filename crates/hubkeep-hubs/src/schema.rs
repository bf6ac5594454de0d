//! Creating a Reticulum-shaped database: the `ret0`, `ret0_admin` and
//! `coturn` schemas plus the cluster roles PostgREST and the admin console use.

use crate::db::HubDb;
use crate::error::HubsError;

const SCHEMA_SQL: &str = include_str!("schema.sql");

/// Cluster roles Reticulum's admin migration creates when missing
/// (`20190904000046_admin_schema_init`). They live in the cluster, not in a
/// dump of the database.
const ROLES_SQL: &str = r#"
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'postgrest_authenticator') THEN
    CREATE ROLE postgrest_authenticator LOGIN;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'postgrest_anonymous') THEN
    CREATE ROLE postgrest_anonymous NOLOGIN;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'ret_admin') THEN
    CREATE ROLE ret_admin NOLOGIN;
  END IF;
END
$$;
GRANT postgrest_anonymous TO postgrest_authenticator;
GRANT ret_admin TO postgrest_authenticator;
DO $$
BEGIN
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO postgrest_authenticator', current_database());
END
$$;
"#;

/// Creates Reticulum's schema in the (empty) database at `db_url`, owned by
/// `owner_role`, and the roles `postgrest_authenticator` (LOGIN, member of
/// `postgrest_anonymous` and `ret_admin`), `postgrest_anonymous` (NOLOGIN)
/// and `ret_admin` (which holds the grants on `ret0_admin`) where missing.
///
/// Connect as a superuser (or a role with CREATEROLE that is a member of
/// `owner_role`). Everything happens in one transaction: on error nothing
/// is left behind except roles that already existed.
pub fn create_demo_schema(db_url: &str, owner_role: &str) -> Result<(), HubsError> {
    let mut db = HubDb::connect(db_url)?;
    let role_exists: bool = db
        .client
        .query_one(
            "SELECT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = $1)",
            &[&owner_role],
        )
        .map_err(db.failed("looking up the owner role"))?
        .get(0);
    if !role_exists {
        return Err(HubsError::NoSuchRole {
            role: owner_role.to_string(),
            target: db.target.clone(),
        });
    }
    if db
        .client
        .query_opt("SELECT 1 FROM pg_namespace WHERE nspname = 'ret0'", &[])
        .map_err(db.failed("looking for an existing ret0 schema"))?
        .is_some()
    {
        return Err(HubsError::SchemaExists {
            target: db.target.clone(),
        });
    }

    let owner = quote_ident(owner_role);
    let target = db.target.clone();
    let mut tx = db.client.transaction().map_err(|e| HubsError::Query {
        action: "starting the schema transaction".into(),
        target: target.clone(),
        detail: crate::db::describe(&e),
    })?;
    let run = |tx: &mut postgres::Transaction<'_>, what: &str, sql: &str| {
        tx.batch_execute(sql).map_err(|e| HubsError::Query {
            action: what.to_string(),
            target: target.clone(),
            detail: crate::db::describe(&e),
        })
    };
    run(&mut tx, "creating the Reticulum roles", ROLES_SQL)?;
    run(
        &mut tx,
        "creating the schemas ret0, ret0_admin and coturn",
        &format!(
            "CREATE SCHEMA ret0 AUTHORIZATION {owner};
             CREATE SCHEMA ret0_admin AUTHORIZATION {owner};
             CREATE SCHEMA coturn AUTHORIZATION {owner};"
        ),
    )?;
    run(
        &mut tx,
        "switching to the owner role",
        &format!("SET LOCAL ROLE {owner}"),
    )?;
    run(
        &mut tx,
        "creating the Reticulum tables and views",
        SCHEMA_SQL,
    )?;
    run(
        &mut tx,
        "recording the applied migrations",
        &migrations_sql(),
    )?;
    run(&mut tx, "switching back from the owner role", "RESET ROLE")?;
    tx.commit().map_err(|e| HubsError::Query {
        action: "committing the schema".into(),
        target: target.clone(),
        detail: crate::db::describe(&e),
    })
}

/// Creates the cluster roles Reticulum's database is granted to
/// (`postgrest_authenticator`, `postgrest_anonymous`, `ret_admin`) where
/// missing, in the cluster of the database at `db_url` (as a superuser):
/// a dump of a hub's database grants to them but does not hold them.
pub fn create_cluster_roles(db_url: &str) -> Result<(), HubsError> {
    let mut db = HubDb::connect(db_url)?;
    db.client
        .batch_execute(ROLES_SQL)
        .map_err(db.failed("creating the Reticulum roles"))
}

/// `ret0.schema_migrations` as Ecto leaves it: the versions of Reticulum's
/// migrations, so the app would not try to migrate again.
fn migrations_sql() -> String {
    let values: Vec<String> = MIGRATIONS
        .iter()
        .map(|v| format!("({v}, now()::timestamp(0))"))
        .collect();
    format!(
        "INSERT INTO ret0.schema_migrations (version, inserted_at) VALUES {};",
        values.join(", ")
    )
}

/// A double-quoted SQL identifier.
pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Versions of Reticulum's migrations (priv/repo/migrations) up to 2022.
const MIGRATIONS: &[u64] = &[
    20170917234137,
    20170917234138,
    20180322000442,
    20180322000712,
    20180408231444,
    20180409012805,
    20180412225707,
    20180416203936,
    20180802004115,
    20180808191456,
    20180816191344,
    20180824204501,
    20180830224453,
    20180830224557,
    20180831012904,
    20180904221221,
    20180904221223,
    20180904222223,
    20180910200029,
    20180919002949,
    20180919235959,
    20180920000254,
    20180920032008,
    20180920222237,
    20180924005229,
    20181015020416,
    20181024050853,
    20181102010842,
    20181102011004,
    20181113033726,
    20181127021310,
    20181128022000,
    20181227040710,
    20190102224335,
    20190114122412,
    20190114232257,
    20190115003917,
    20190125190651,
    20190130052213,
    20190131231854,
    20190206165445,
    20190208014624,
    20190305181357,
    20190305190955,
    20190306032224,
    20190312171503,
    20190315064109,
    20190322222314,
    20190329004012,
    20190329004026,
    20190424010558,
    20190501221754,
    20190503170158,
    20190508021811,
    20190514175300,
    20190605002622,
    20190605213019,
    20190606012330,
    20190613223618,
    20190614211950,
    20190615010958,
    20190703224946,
    20190717173132,
    20190812211919,
    20190819204535,
    20190904000046,
    20191011184435,
    20191013002432,
    20191015184128,
    20191015190511,
    20191111234010,
    20191121222742,
    20200115013245,
    20200206023550,
    20200206195625,
    20200212011700,
    20200212174135,
    20200212220224,
    20200220012135,
    20200303214942,
    20200309203501,
    20200313232157,
    20200320004303,
    20200413202224,
    20200730155900,
    20200805190647,
    20201027202054,
    20210304010625,
    20210420191647,
    20220218024638,
    20220304230943,
    20220625180209,
    20220819164826,
];
