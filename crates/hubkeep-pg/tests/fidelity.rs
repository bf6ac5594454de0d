//! Databases no one on the project wrote round-trip: keys with INCLUDE
//! columns of unsortable types, materialized views over tables with forced
//! row-level security, and servers that never answer fail in bounded time.

mod common;

use common::{table_checksums, MemStore, TestCluster};
use hubkeep_pg::{create_snapshot, restore_snapshot, ConnInfo, RestoreOptions, SnapshotOptions};

#[test]
fn primary_key_with_include_columns_of_unsortable_types_sorts_by_its_key_columns_only() {
    let Some(pg) = TestCluster::start() else {
        return;
    };
    let src = pg.create_db("incl");
    pg.exec(
        "incl",
        "CREATE TABLE shapes (id int, b box, note text,
                              PRIMARY KEY (id) INCLUDE (b, note));
         CREATE TABLE places (region text, p point, UNIQUE (region) INCLUDE (p));
         INSERT INTO shapes SELECT 101 - i, box(point(i, i), point(0, 0)), 'n' || i
           FROM generate_series(1, 100) i;
         INSERT INTO places VALUES ('b', point(1, 2)), ('a', NULL);",
    );
    let mut store = MemStore::default();
    let meta = create_snapshot(&src, &mut store, &SnapshotOptions::default()).unwrap();
    let shapes = meta.tables.iter().find(|t| t.name == "shapes").unwrap();
    assert_eq!(shapes.order_by, vec!["id".to_string()]);
    assert_eq!(shapes.physical_order_reason, None);
    let stream = String::from_utf8(store.get(&shapes.stream)).unwrap();
    assert!(stream.starts_with("1\t(100,100),(0,0)\tn100\n"), "{stream}");

    let dst = pg.create_db("incl_restored");
    restore_snapshot(&store, &meta, &dst, &RestoreOptions::default()).unwrap();
    assert_eq!(table_checksums(&src), table_checksums(&dst));
}

#[test]
fn materialized_view_over_a_forced_rls_table_is_refreshed_through_its_policies() {
    let Some(pg) = TestCluster::start() else {
        return;
    };
    let src = pg.create_db("rls");
    pg.exec(
        "rls",
        "CREATE ROLE rls_owner NOLOGIN;
         CREATE TABLE secrets (id int PRIMARY KEY, visible bool NOT NULL);
         INSERT INTO secrets SELECT i, i % 3 = 0 FROM generate_series(1, 30) i;
         ALTER TABLE secrets OWNER TO rls_owner;
         ALTER TABLE secrets ENABLE ROW LEVEL SECURITY;
         ALTER TABLE secrets FORCE ROW LEVEL SECURITY;
         CREATE POLICY only_visible ON secrets USING (visible);
         CREATE MATERIALIZED VIEW visible_secrets AS SELECT id FROM secrets;
         ALTER MATERIALIZED VIEW visible_secrets OWNER TO rls_owner;
         REFRESH MATERIALIZED VIEW visible_secrets;",
    );
    let mut store = MemStore::default();
    let meta = create_snapshot(&src, &mut store, &SnapshotOptions::default()).unwrap();
    let secrets = meta.tables.iter().find(|t| t.name == "secrets").unwrap();
    assert_eq!(secrets.rows, 30, "the snapshot reads past the policy");

    let dst = pg.create_db("rls_restored");
    restore_snapshot(&store, &meta, &dst, &RestoreOptions::default()).unwrap();
    let count = |conn: &ConnInfo| -> i64 {
        conn.connect()
            .unwrap()
            .query_one("SELECT count(*) FROM visible_secrets", &[])
            .unwrap()
            .get(0)
    };
    assert_eq!(count(&dst), 10);
    assert_eq!(count(&src), count(&dst));
    assert_eq!(table_checksums(&src), table_checksums(&dst));
}

#[test]
fn restore_failing_midway_names_the_statement_and_leaves_target_and_roles_as_before() {
    let Some(pg) = TestCluster::start() else {
        return;
    };
    let src = pg.create_db("midway");
    pg.exec(
        "midway",
        "CREATE ROLE midway_owner NOLOGIN;
         CREATE ROLE midway_app LOGIN PASSWORD 'midway-pw';
         CREATE EXTENSION hstore;
         CREATE SCHEMA app AUTHORIZATION midway_owner;
         CREATE TABLE app.t (id int PRIMARY KEY, h hstore);
         INSERT INTO app.t SELECT i, hstore('k', i::text) FROM generate_series(1, 50) i;
         ALTER TABLE app.t OWNER TO midway_owner;
         GRANT SELECT ON app.t TO midway_app;
         CREATE FUNCTION public.noop() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN END $$;
         CREATE EVENT TRIGGER midway_ddl ON ddl_command_end EXECUTE FUNCTION public.noop();
         CREATE PUBLICATION midway_pub FOR TABLE app.t;
         CREATE TYPE public.mood AS ENUM ('a', 'b');
         COMMENT ON SCHEMA public IS 'changed';
         ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO midway_app;",
    );
    let mut store = MemStore::default();
    let mut meta = create_snapshot(&src, &mut store, &SnapshotOptions::default()).unwrap();
    // Every step before the last post-data statement succeeds, and the
    // tables are loaded, when this one fails.
    let mut post = store.get("post-data.sql");
    post.extend_from_slice(
        b"\n--\n-- Name: t boom; Type: INDEX; Schema: app; Owner: midway_owner\n--\n\nCREATE INDEX \"boom\" ON \"app\".\"t\" USING btree (\"no_such_column\");\n",
    );
    let script = meta
        .scripts
        .iter_mut()
        .find(|s| s.name == "post-data.sql")
        .unwrap();
    script.bytes = post.len() as u64;
    script.blake3 = blake3::hash(&post).to_hex().to_string();
    store
        .streams
        .lock()
        .unwrap()
        .insert("post-data.sql".into(), post);

    // The roles exist in the source's cluster: restore into a fresh one,
    // where the restore creates them.
    let fresh = TestCluster::start().unwrap();
    let fresh_target = fresh.create_db("midway_target");
    let public_before = public_schema(&fresh_target);
    let err =
        restore_snapshot(&store, &meta, &fresh_target, &RestoreOptions::default()).unwrap_err();
    let s = err.to_string();
    assert!(
        s.contains(r#"CREATE INDEX "boom" ON "app"."t" USING btree ("no_such_column"); (entry INDEX app.t boom)"#),
        "{s}"
    );
    assert!(s.contains("the restore was undone"), "{s}");
    assert!(s.contains("midway_app, midway_owner"), "{s}");
    assert!(
        matches!(err, hubkeep_pg::PgError::RestoreUndone { .. }),
        "{s}"
    );
    assert!(hubkeep_pg::database_user_objects(&fresh_target)
        .unwrap()
        .is_empty());
    assert_eq!(public_schema(&fresh_target), public_before);
    let mut c = fresh_target.connect().unwrap();
    let leftovers: i64 = c
        .query_one(
            "SELECT (SELECT count(*) FROM pg_event_trigger) + (SELECT count(*) FROM pg_publication)
                  + (SELECT count(*) FROM pg_default_acl)
                  + (SELECT count(*) FROM pg_roles WHERE rolname LIKE 'midway%')",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(leftovers, 0);
    // And the same target restores fine from an undamaged snapshot.
    let mut good = MemStore::default();
    let good_meta = create_snapshot(&src, &mut good, &SnapshotOptions::default()).unwrap();
    restore_snapshot(&good, &good_meta, &fresh_target, &RestoreOptions::default()).unwrap();
    assert_eq!(table_checksums(&src), table_checksums(&fresh_target));
}

/// Owner, ACL and comment of `public`.
fn public_schema(conn: &ConnInfo) -> (String, String, Option<String>) {
    let row = conn
        .connect()
        .unwrap()
        .query_one(
            "SELECT pg_get_userbyid(nspowner)::text,
                    (SELECT string_agg(a::text, ',' ORDER BY a::text) FROM unnest(nspacl) a),
                    obj_description(oid, 'pg_namespace')
             FROM pg_namespace WHERE nspname = 'public'",
            &[],
        )
        .unwrap();
    (row.get(0), row.get(1), row.get(2))
}

#[test]
fn snapshot_by_a_non_superuser_warns_naming_the_login_roles_whose_passwords_it_could_not_read() {
    let Some(pg) = TestCluster::start() else {
        return;
    };
    pg.exec(
        "postgres",
        "CREATE ROLE np_owner LOGIN PASSWORD 'np-owner-pw';
         CREATE ROLE np_app LOGIN PASSWORD 'np-app-pw';
         CREATE ROLE np_group NOLOGIN;",
    );
    pg.exec("postgres", "CREATE DATABASE np OWNER np_owner");
    pg.exec(
        "np",
        "SET ROLE np_owner; CREATE TABLE t (id int PRIMARY KEY); RESET ROLE;
         GRANT SELECT ON t TO np_app, np_group;",
    );
    let owner = ConnInfo {
        user: "np_owner".into(),
        password: Some("np-owner-pw".into()),
        ..pg.admin("np")
    };
    let mut store = MemStore::default();
    let opts = SnapshotOptions {
        role_passwords: [("np_owner".to_string(), "np-owner-pw".to_string())].into(),
        ..SnapshotOptions::default()
    };
    let meta = create_snapshot(&owner, &mut store, &opts).unwrap();
    assert_eq!(meta.warnings.len(), 1, "{:?}", meta.warnings);
    let w = &meta.warnings[0];
    assert!(w.contains("login roles np_app could not be read"), "{w}");
    let roles = String::from_utf8(store.get("roles.sql")).unwrap();
    assert!(
        roles.contains(
            "CREATE ROLE \"np_app\" WITH NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB NOLOGIN"
        ),
        "{roles}"
    );
    assert!(
        roles.contains(
            "CREATE ROLE \"np_owner\" WITH NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB LOGIN"
        ),
        "{roles}"
    );
}
