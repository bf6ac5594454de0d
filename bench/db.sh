#!/usr/bin/env bash
# Database snapshot benchmark (issues 3 and 12): hubkeep db-snapshot create and
# restore against pg_dump -Fc and pg_restore -j2 on two databases, all in the
# same run, with the ratio table against issue 12's targets (snapshot and
# restore <= 0.70x, night-over-night reuse >= 97%).
#
#   bench/db.sh                   # full size (pgbench -s 40 + 300k text rows; regression-like db)
#   BENCH_SCALE=0.05 bench/db.sh  # quick run
#
# Environment: BENCH_SCALE (default 1), HUBKEEP (binary, default
# target/release/hubkeep), BENCH_WORK (parent of the work dir, default
# /var/tmp), BENCH_KEEP=1 keeps the work dir (the stacks are deleted anyway),
# BENCH_CHURN=0 skips the history step (see 1. below), BENCH_REGRESS=0 skips
# the regression-like database (5. below).
#
# Steps, with the page cache dropped before every measured command:
#  1. a generic hubkeep stack (embedded PostgreSQL 15 cluster), filled with
#     `pgbench -i -s 40` and a `notes` text table (300k rows of ~450 bytes),
#     then a day of history: 2% of rows, spread over each table, updated and
#     vacuumed (BENCH_CHURN=0 skips it; tables then stay in key order);
#  2. night 1: hubkeep db-snapshot create, pg_dump -Fc, pg_dump -Fc -Z0 | zstd;
#  3. restore: hubkeep db-snapshot restore and pg_restore -j2 (of the -Fc
#     dump), each into a fresh empty database of the same cluster, both
#     checked against the source (row counts and row hashes, untimed);
#  4. night 2: the newest 1% of rows of pgbench_accounts and notes (by key)
#     updated and 1% new rows appended; hubkeep db-snapshot create again. Its
#     new stored bytes are compared with what a plain pg_dump of each night
#     adds when backed up as a file into a hubkeep vault (a second, adopted
#     stack whose file store holds dump.sql) and into a restic repository;
#  5. a regression-like database in the same cluster (PostgreSQL 15's
#     regression suite needs Debian's postgresql-15 source package, which is
#     not fetchable on the benchmark machine; see docs/benchmarks.md): the
#     fixture crates/hubkeep-pg/tests/fixtures/regress_kinds.sql (every
#     object kind of the regression database) plus 600 tables of four shapes
#     with indexes, ~1,500 rows each, snapshotted (an adopted stack) and
#     restored by both tools the same way as 2. and 3.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
[ -x "$HUBKEEP" ] || die "no hubkeep binary at $HUBKEEP: run cargo build --release -p hubkeep"
[ -x "$PGBIN/pg_dump" ] || die "no pg_dump at $PGBIN: set PGBIN"
command -v zstd > /dev/null || die "zstd is not installed"
command -v restic > /dev/null || die "restic is not installed: apt-get install restic"

PGBENCH_SCALE=$(scaled 40)
NOTES_ROWS=$(scaled 300000 1000)
REGRESS_TABLES=$(scaled 600 8)
REGRESS_ROWS=$(scaled 1500 10)

WORK=$(mktemp -d "${BENCH_WORK:-/var/tmp}/hubkeep-bench-db.XXXXXX")
chmod 0711 "$WORK" # embedded clusters run as the postgres user
HK_HOME=$WORK/home
STACK=benchdb
DUMPS_STACK=benchdumps
REGRESS_STACK=benchregress
STACKS_MADE=()
cleanup() {
  local s
  for s in "${STACKS_MADE[@]}"; do hk stack delete "$s" --yes > /dev/null 2>&1 || log "could not delete stack $s (home $HK_HOME)"; done
  if [ "${BENCH_KEEP:-0}" = 1 ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

log "work dir $WORK, scale $BENCH_SCALE (pgbench -s $PGBENCH_SCALE, $NOTES_ROWS notes)"
hk stack create "$STACK" --profile generic > "$WORK/stack-create.json" 2> "$WORK/stack-create.err" \
  || { cat "$WORK/stack-create.err" >&2; die "hubkeep stack create failed"; }
STACKS_MADE+=("$STACK")
hk stack show "$STACK" > "$WORK/stack.json"
VAULT=$(json "$WORK/stack.json" .outputs.daily_backup_vault)
hk vault show "$VAULT" > "$WORK/vault.json"
HK_VAULT_DIR=$(json "$WORK/vault.json" .location)
HK_VAULT_DIR=${HK_VAULT_DIR#file://}
hk secret get "$(json "$WORK/stack.json" .outputs.database_secret_arn)" > "$WORK/db-secret.json"
APP_USER=$(json "$WORK/db-secret.json" .value.username)
APP_PASSWORD=$(json "$WORK/db-secret.json" .value.password)
export PGHOST=$(json "$WORK/db-secret.json" .value.host)
export PGPORT=$(json "$WORK/db-secret.json" .value.port)
export PGDATABASE=$(json "$WORK/db-secret.json" .value.dbname)
export PGUSER=postgres
export PGPASSWORD=$(hk param get "/hubkeep/cluster/$STACK/superuser-password" | jq -r .value)
SU_URL_BASE="postgresql://postgres:$PGPASSWORD@$PGHOST:$PGPORT"
psql_q() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }

# --- 1. the database, loaded by the app's own role ---
log "loading pgbench -s $PGBENCH_SCALE and $NOTES_ROWS notes into $PGDATABASE"
load_t0=$(date +%s)
PGUSER=$APP_USER PGPASSWORD=$APP_PASSWORD pgbench -i -q -s "$PGBENCH_SCALE" > "$WORK/pgbench-init.log" 2>&1 \
  || { tail "$WORK/pgbench-init.log" >&2; die "pgbench -i failed"; }
PGUSER=$APP_USER PGPASSWORD=$APP_PASSWORD psql_q -v rows="$NOTES_ROWS" <<'SQL'
CREATE TABLE notes (
  id bigint PRIMARY KEY,
  room_id integer NOT NULL,
  created_at timestamptz NOT NULL,
  body text NOT NULL
);
CREATE INDEX notes_room_id ON notes (room_id);
-- ~450 bytes of text per row: 64 words, each drawn by a hash of (id,
-- position) from a fixed 4,096-word vocabulary (word j is md5(j) spelled in
-- letters, 2-10 long), so zstd shrinks it about as much as prose; a tiny
-- vocabulary would make the table unrealistically compressible.
INSERT INTO notes
SELECT i, 1 + i % 5000, timestamptz '2024-01-01 00:00:00+00' + i * interval '1 minute',
       (SELECT string_agg(translate(substr(md5(j::text), 1, 2 + j % 9), '0123456789', 'ghijklmnop'), ' ' ORDER BY k)
          FROM (SELECT k, hashint8(i * 64 + k) & 4095 AS j FROM generate_series(1, 64) k) picks)
  FROM generate_series(1, :rows) i;
VACUUM ANALYZE notes;
SQL
if [ "${BENCH_CHURN:-1}" = 1 ]; then
  # A day of history before night 1, as any live database has: 2% of rows,
  # spread over every table page, updated, then vacuumed as autovacuum
  # would. Their old versions leave free space in most pages, which later
  # updates reuse, so a table's physical order drifts away from key order.
  log "history: updating 2% of rows spread over each table, then VACUUM"
  PGUSER=$APP_USER PGPASSWORD=$APP_PASSWORD psql_q <<'SQL'
UPDATE pgbench_accounts SET abalance = abalance - 1 WHERE aid % 50 = 0;
UPDATE notes SET body = body || ' seen' WHERE id % 50 = 0;
VACUUM ANALYZE pgbench_accounts, notes;
SQL
fi
DB_BYTES=$(psql_q -At -c "SELECT pg_database_size(current_database())")
log "database: $(mib "$DB_BYTES") MiB, loaded in $(( $(date +%s) - load_t0 )) s"

# fingerprint DB: row counts and an order-independent hash of every row of
# the benchmark's tables (the same in any physical order).
fingerprint() {
  psql_q -At -d "$1" <<'SQL'
SELECT string_agg(t || '=' || n || ':' || h, ' ' ORDER BY t) FROM (
  SELECT 'accounts' t, count(*) n, sum(hashtext(a::text)::bigint) h FROM pgbench_accounts a
  UNION ALL SELECT 'branches', count(*), sum(hashtext(b::text)::bigint) FROM pgbench_branches b
  UNION ALL SELECT 'tellers', count(*), sum(hashtext(x::text)::bigint) FROM pgbench_tellers x
  UNION ALL SELECT 'notes', count(*), sum(hashtext(o::text)::bigint) FROM notes o
) s;
SQL
}
indexes() { psql_q -At -d "$1" -c "SELECT count(*) FROM pg_indexes WHERE schemaname = 'public'"; }

# --- 2. night 1 ---
measure hk_snap1 "$HUBKEEP" --home "$HK_HOME" --json db-snapshot create "$STACK"
SNAP1=$(json "$WORK/hk_snap1.out" .id)
measure pgdump_fc "$PGBIN/pg_dump" -Fc -f "$WORK/night1.dump"
measure pgdump_zstd bash -c 'set -o pipefail; "$1/pg_dump" -Fc -Z0 | zstd -q -o "$2"' _ "$PGBIN" "$WORK/night1.dump.zst"
VAULT_DU1=$(du -sb "$HK_VAULT_DIR" | cut -f1)

# --- 3. restore into fresh, empty databases ---
createdb restore_hk
createdb restore_pg
measure hk_restore "$HUBKEEP" --home "$HK_HOME" --json db-snapshot restore "$SNAP1" --target-url "$SU_URL_BASE/restore_hk"
measure pg_restore "$PGBIN/pg_restore" -j2 -d restore_pg "$WORK/night1.dump"
SRC_FP=$(fingerprint "$PGDATABASE")
check_db() { if [ "$(fingerprint "$1")" = "$SRC_FP" ] && [ "$(indexes "$1")" = "$(indexes "$PGDATABASE")" ]; then echo "identical"; else echo "DIFFERS"; fi; }
HK_CHECK=$(check_db restore_hk)
PG_CHECK=$(check_db restore_pg)
dropdb restore_hk
dropdb restore_pg

# --- 4. night 2 ---
# A plain pg_dump of night 1 into the dumps stack's file store, backed up
# into its vault and into restic; night 2's dump is then what each adds.
mkdir -p "$WORK/dumps"
"$PGBIN/pg_dump" -f "$WORK/dumps/dump.sql"
hk stack adopt "$DUMPS_STACK" --database-url "$SU_URL_BASE/$PGDATABASE" --storage "$WORK/dumps" --profile generic \
  > "$WORK/dumps-adopt.json" 2> "$WORK/dumps-adopt.err" || { cat "$WORK/dumps-adopt.err" >&2; die "hubkeep stack adopt failed"; }
STACKS_MADE+=("$DUMPS_STACK")
export RESTIC_PASSWORD=bench-restic-password RESTIC_REPOSITORY=$WORK/restic-repo RESTIC_CACHE_DIR=$WORK/restic-cache
restic init > /dev/null 2>&1
measure dump1_hk "$HUBKEEP" --home "$HK_HOME" --json backup-job start "$DUMPS_STACK"
measure dump1_restic restic backup --quiet --host bench "$WORK/dumps"
DUMPS_VAULT_DIR=$(hk vault show "$(hk stack show "$DUMPS_STACK" | jq -r .outputs.daily_backup_vault)" | jq -r .location)
DUMPS_VAULT_DIR=${DUMPS_VAULT_DIR#file://}
RESTIC_DU1=$(du -sb "$RESTIC_REPOSITORY" | cut -f1)
DUMPS_VAULT_DU1=$(du -sb "$DUMPS_VAULT_DIR" | cut -f1)

log "night 2: updating the newest 1% and appending 1% new rows"
psql_q <<'SQL'
BEGIN;
SELECT max(aid) AS accounts, max(aid) / 100 AS accounts_pct FROM pgbench_accounts \gset
SELECT max(id) AS notes, max(id) / 100 AS notes_pct FROM notes \gset
SELECT count(*) AS branches FROM pgbench_branches \gset
UPDATE pgbench_accounts SET abalance = abalance + 17 WHERE aid > :accounts - :accounts_pct;
INSERT INTO pgbench_accounts (aid, bid, abalance, filler)
  SELECT aid, 1 + (aid - 1) % :branches, 0, '' FROM generate_series(:accounts + 1, :accounts + :accounts_pct) aid;
UPDATE notes SET body = body || ' edited', created_at = created_at + interval '1 day' WHERE id > :notes - :notes_pct;
INSERT INTO notes
  SELECT id, 1 + id % 5000, timestamptz '2024-01-01 00:00:00+00' + id * interval '1 minute', 'new note ' || md5(id::text) || repeat(' lorem ipsum dolor sit amet', 14)
  FROM generate_series(:notes + 1, :notes + :notes_pct) id;
COMMIT;
SQL
measure hk_snap2 "$HUBKEEP" --home "$HK_HOME" --json db-snapshot create "$STACK"
VAULT_DU2=$(du -sb "$HK_VAULT_DIR" | cut -f1)
"$PGBIN/pg_dump" -f "$WORK/dumps/dump.sql.new"
mv "$WORK/dumps/dump.sql.new" "$WORK/dumps/dump.sql"
measure dump2_hk "$HUBKEEP" --home "$HK_HOME" --json backup-job start "$DUMPS_STACK"
measure dump2_restic restic backup --quiet --host bench "$WORK/dumps"
RESTIC_DU2=$(du -sb "$RESTIC_REPOSITORY" | cut -f1)
DUMPS_VAULT_DU2=$(du -sb "$DUMPS_VAULT_DIR" | cut -f1)

# --- 5. a regression-like database ---
# Every table's row count and order-independent row-hash sum, for any schema.
fingerprint_all() {
  psql_q -At -d "$1" <<'SQL'
SELECT format('SELECT %L || '':'' || count(*) || '':'' || coalesce(sum(hashtext(x::text)::bigint), 0) FROM ONLY %I.%I x',
              n.nspname || '.' || c.relname, n.nspname, c.relname)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE (c.relkind = 'r' OR (c.relkind = 'm' AND c.relispopulated)) AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
 ORDER BY n.nspname, c.relname \gexec
SQL
}
all_indexes() { psql_q -At -d "$1" -c "SELECT count(*) FROM pg_indexes WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"; }
if [ "${BENCH_REGRESS:-1}" = 1 ]; then
  log "regression-like database: fixture + $REGRESS_TABLES tables of $REGRESS_ROWS rows"
  createdb regress
  # The fixture's event trigger says NOTICE for every DDL statement.
  PGOPTIONS="-c client_min_messages=error" psql_q -d regress -v DBNAME=regress \
    -f "$REPO_ROOT/crates/hubkeep-pg/tests/fixtures/regress_kinds.sql" > /dev/null
  PGOPTIONS="-c client_min_messages=error" psql_q -d regress -v tables="$REGRESS_TABLES" -v rows="$REGRESS_ROWS" > /dev/null <<'SQL'
CREATE SCHEMA rg;
-- Four shapes, as the regression database mixes them: integer keys with a
-- text index, composite (int, text) keys with jsonb, heap tables without a
-- key, text keys with a unique index and a foreign key to a shape-0 table.
SELECT CASE i % 4
  WHEN 0 THEN format('CREATE TABLE rg.t%s (id int PRIMARY KEY, name text, amount numeric(12,2), at timestamptz, tags text[]);
    INSERT INTO rg.t%1$s SELECT g, md5((g + %1$s * 1000000)::text), g / 7.0, timestamptz ''2024-01-01'' + (g + %1$s) * interval ''1 hour'', ARRAY[md5((g + %1$s * 1000000 + 1)::text), ''x'']
      FROM generate_series(1, %s) g;
    CREATE INDEX ON rg.t%1$s (name);', i, :rows)
  WHEN 1 THEN format('CREATE TABLE rg.t%s (a int, b text, doc jsonb, PRIMARY KEY (a, b));
    INSERT INTO rg.t%1$s SELECT g %% 50, ''k'' || md5((g + %1$s * 1000000)::text), jsonb_build_object(''n'', g, ''s'', md5((g - %1$s * 1000000)::text)) FROM generate_series(1, %2$s) g;', i, :rows)
  WHEN 2 THEN format('CREATE TABLE rg.t%s (x int, y float8, z text, w bool);
    INSERT INTO rg.t%1$s SELECT g + %1$s * 1000000, g * 0.37 + %1$s, md5((g + %1$s * 1000000)::text) || repeat(''z'', g %% 40), g %% 2 = 0 FROM generate_series(1, %2$s) g;
    CREATE INDEX ON rg.t%1$s (x, y);', i, :rows)
  ELSE format('CREATE TABLE rg.t%s (code text PRIMARY KEY, ref int REFERENCES rg.t%s (id), v int UNIQUE, note varchar(100));
    INSERT INTO rg.t%1$s SELECT ''c'' || md5((g + %1$s * 1000000)::text), 1 + g %% %3$s, g, ''note '' || (g + %1$s * 1000000) FROM generate_series(1, %3$s) g;', i, i - 3, :rows)
  END
FROM generate_series(4, :tables + 3) i \gexec
SQL
  psql_q -d regress -c "VACUUM ANALYZE" > /dev/null
  RG_BYTES=$(psql_q -At -d regress -c "SELECT pg_database_size(current_database())")
  RG_TABLE_COUNT=$(psql_q -At -d regress -c "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')")
  mkdir -p "$WORK/regress-files"
  hk stack adopt "$REGRESS_STACK" --database-url "$SU_URL_BASE/regress" --storage "$WORK/regress-files" --profile generic \
    > "$WORK/regress-adopt.json" 2> "$WORK/regress-adopt.err" || { cat "$WORK/regress-adopt.err" >&2; die "hubkeep stack adopt (regress) failed"; }
  STACKS_MADE+=("$REGRESS_STACK")
  measure rg_hk_snap "$HUBKEEP" --home "$HK_HOME" --json db-snapshot create "$REGRESS_STACK"
  RG_SNAP=$(json "$WORK/rg_hk_snap.out" .id)
  measure rg_pgdump_fc "$PGBIN/pg_dump" -Fc -d regress -f "$WORK/regress.dump"
  createdb rg_restore_hk
  createdb rg_restore_pg
  measure rg_hk_restore "$HUBKEEP" --home "$HK_HOME" --json db-snapshot restore "$RG_SNAP" --target-url "$SU_URL_BASE/rg_restore_hk"
  # pg_restore reports (and skips) what it cannot restore into a cluster that
  # already has the fixture's roles; its exit status is kept in the log.
  measure rg_pg_restore bash -c '"$1/pg_restore" -j2 -d rg_restore_pg "$2" || echo "pg_restore exit status $?" >&2' _ "$PGBIN" "$WORK/regress.dump"
  RG_SRC_FP=$(fingerprint_all regress)
  rg_check() { if [ "$(fingerprint_all "$1")" = "$RG_SRC_FP" ] && [ "$(all_indexes "$1")" = "$(all_indexes regress)" ]; then echo "identical"; else echo "DIFFERS"; fi; }
  RG_HK_CHECK=$(rg_check rg_restore_hk)
  RG_PG_CHECK=$(rg_check rg_restore_pg)
  dropdb rg_restore_hk
  dropdb rg_restore_pg
fi

# --- report ---
j() { json "$WORK/$1.out" "$2"; }
FC_BYTES=$(stat -c %s "$WORK/night1.dump")
ZST_BYTES=$(stat -c %s "$WORK/night1.dump.zst")
DUMP2_BYTES=$(stat -c %s "$WORK/dumps/dump.sql")
S1_STORED=$(j hk_snap1 .bytes_stored)
S2_STORED=$(j hk_snap2 .bytes_stored)
pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "-"; else printf "%.2f%%", 100 * a / b }'; }

echo
echo "== hubkeep database snapshot benchmark (bench/db.sh, BENCH_SCALE=$BENCH_SCALE) =="
machine_summary
load_summary
echo "versions: $("$HUBKEEP" --version 2>/dev/null || echo hubkeep), $("$PGBIN/pg_dump" --version), zstd $(zstd -qV), $(restic version | cut -d' ' -f1-2)"
echo "database: pgbench -s $PGBENCH_SCALE + $NOTES_ROWS notes, history step $([ "${BENCH_CHURN:-1}" = 1 ] && echo on || echo off), $(mib "$DB_BYTES") MiB (pg_database_size); page cache dropped before each measured command: $DROPS_OK ok, $DROPS_FAILED failed"
echo "hubkeep snapshot 1: read $(mib "$(j hk_snap1 .size_bytes)") MiB, new $(mib "$(j hk_snap1 .bytes_new)") MiB, stored $(mib "$S1_STORED") MiB"
echo "hubkeep snapshot 2: read $(mib "$(j hk_snap2 .size_bytes)") MiB, new $(mib "$(j hk_snap2 .bytes_new)") MiB, stored $(mib "$S2_STORED") MiB; vault du grew $(mib $((VAULT_DU2 - VAULT_DU1))) MiB"
echo "plain pg_dump night 2: $(mib "$DUMP2_BYTES") MiB; into a hubkeep vault holding night 1: read $(mib "$(j dump2_hk .bytes_read)") MiB, new $(mib "$(j dump2_hk .bytes_new)") MiB, stored $(mib "$(j dump2_hk .bytes_stored)") MiB (night 1 stored $(mib "$(j dump1_hk .bytes_stored)") MiB); vault du grew $(mib $((DUMPS_VAULT_DU2 - DUMPS_VAULT_DU1))) MiB; restic repo grew $(mib $((RESTIC_DU2 - RESTIC_DU1))) MiB (night 1: $(mib "$RESTIC_DU1") MiB)"
echo "cpu seconds (user+sys, client side only): hubkeep snapshot ${CPU[hk_snap1]}, restore ${CPU[hk_restore]}; pg_dump -Fc ${CPU[pgdump_fc]}; pg_dump -Z0 | zstd ${CPU[pgdump_zstd]}; pg_restore -j2 ${CPU[pg_restore]}"
echo "restore check (row counts, row hashes, index count vs the source): hubkeep $HK_CHECK, pg_restore -j2 $PG_CHECK"
echo
row() { printf '%-34s %11s %12s %15s %9s %14s %8s\n' "$@"; }
row "metric" "hubkeep" "pg_dump -Fc" "-Fc -Z0 | zstd" "hk/-Fc" "target" "verdict"
row "snapshot, night 1 (s)" "${WALL[hk_snap1]}" "${WALL[pgdump_fc]}" "${WALL[pgdump_zstd]}" "$(ratio "${WALL[hk_snap1]}" "${WALL[pgdump_fc]}")" "<= 0.70x" "$(verdict "$(ratio "${WALL[hk_snap1]}" "${WALL[pgdump_fc]}")" 0.7)"
row "snapshot size, night 1 (MiB)" "$(mib "$S1_STORED")" "$(mib "$FC_BYTES")" "$(mib "$ZST_BYTES")" "$(ratio "$S1_STORED" "$FC_BYTES")" "-" "-"
row "snapshot peak RSS (MiB)" "${RSS[hk_snap1]}" "${RSS[pgdump_fc]}" "${RSS[pgdump_zstd]}" "$(ratio "${RSS[hk_snap1]}" "${RSS[pgdump_fc]}")" "-" "-"
row "restore (s) [vs pg_restore -j2]" "${WALL[hk_restore]}" "${WALL[pg_restore]}" "-" "$(ratio "${WALL[hk_restore]}" "${WALL[pg_restore]}")" "<= 0.70x" "$(verdict "$(ratio "${WALL[hk_restore]}" "${WALL[pg_restore]}")" 0.7)"
row "restore peak RSS (MiB)" "${RSS[hk_restore]}" "${RSS[pg_restore]}" "-" "$(ratio "${RSS[hk_restore]}" "${RSS[pg_restore]}")" "-" "-"
row "snapshot, night 2 (s)" "${WALL[hk_snap2]}" "-" "-" "$(ratio "${WALL[hk_snap2]}" "${WALL[pgdump_fc]}")" "-" "-"
echo
row "night over night" "hk snapshot" "plain dump→hk" "plain dump→restic" "" "target" "verdict"
row "night 2 new stored bytes (MiB)" "$(mib "$S2_STORED")" "$(mib "$(j dump2_hk .bytes_stored)")" "$(mib $((RESTIC_DU2 - RESTIC_DU1)))" "" "-" "-"
row "  as % of night 1 stored" "$(pct "$S2_STORED" "$S1_STORED")" "$(pct "$(j dump2_hk .bytes_stored)" "$(j dump1_hk .bytes_stored)")" "$(pct $((RESTIC_DU2 - RESTIC_DU1)) "$RESTIC_DU1")" "" "<= 3%" "$(verdict "$(awk -v a="$S2_STORED" -v b="$S1_STORED" 'BEGIN { print a / b }')" 0.03)"
row "  vault/repo du growth (MiB)" "$(mib $((VAULT_DU2 - VAULT_DU1)))" "$(mib $((DUMPS_VAULT_DU2 - DUMPS_VAULT_DU1)))" "$(mib $((RESTIC_DU2 - RESTIC_DU1)))" "" "-" "-"
if [ "${BENCH_REGRESS:-1}" = 1 ]; then
  echo
  echo "regression-like database: $RG_TABLE_COUNT tables, $(mib "$RG_BYTES") MiB (pg_database_size); hubkeep snapshot read $(mib "$(j rg_hk_snap .size_bytes)") MiB, stored $(mib "$(j rg_hk_snap .bytes_stored)") MiB; restore check: hubkeep $RG_HK_CHECK, pg_restore -j2 $RG_PG_CHECK"
  row "regression-like database" "hubkeep" "pg_dump/pg_restore" "" "hk/pg" "target" "verdict"
  row "snapshot (s) [vs pg_dump -Fc]" "${WALL[rg_hk_snap]}" "${WALL[rg_pgdump_fc]}" "" "$(ratio "${WALL[rg_hk_snap]}" "${WALL[rg_pgdump_fc]}")" "<= 0.70x" "$(verdict "$(ratio "${WALL[rg_hk_snap]}" "${WALL[rg_pgdump_fc]}")" 0.7)"
  row "restore (s) [vs pg_restore -j2]" "${WALL[rg_hk_restore]}" "${WALL[rg_pg_restore]}" "" "$(ratio "${WALL[rg_hk_restore]}" "${WALL[rg_pg_restore]}")" "<= 0.70x" "$(verdict "$(ratio "${WALL[rg_hk_restore]}" "${WALL[rg_pg_restore]}")" 0.7)"
fi
