#!/usr/bin/env bash
# HTTP API benchmark (issue 10): latency of `GET /api/v1/stacks` served by
# `hubkeep serve`, with 20 stacks and 10,000 jobs in the catalog, under a
# bounded load of sequential requests from curl (a new connection each, as
# a script or a monitoring probe makes them). Prints p50, p90, p99 and max.
#
#   bench/api.sh                        # 2000 requests
#   BENCH_REQUESTS=500 bench/api.sh     # quick run
#
# Environment: HUBKEEP (binary, default target/release/hubkeep),
# BENCH_REQUESTS (default 2000), BENCH_WORK (parent of the work dir,
# default /var/tmp), BENCH_PORT (default 18743).
#
# The catalog is filled as a busy home would be: one stack is created for
# real (embedded PostgreSQL) and backed up once; 19 more stack records are
# copies of its record under other names, and job records copied from its
# jobs under new ids up to 10,000, written straight into the catalog (a real
# backup per job would take days). It measures the idle daemon first
# (CPU and RSS between runs), then the latency.
set -euo pipefail
cd "$(dirname "$0")/.."
HUBKEEP=${HUBKEEP:-target/release/hubkeep}
N=${BENCH_REQUESTS:-2000}
PORT=${BENCH_PORT:-18743}
WORK=$(mktemp -d "${BENCH_WORK:-/var/tmp}/hubkeep-bench-api.XXXXXX")
chmod 711 "$WORK"
HOME_DIR=$WORK/home
hk() { "$HUBKEEP" --home "$HOME_DIR" "$@"; }
SERVE_PID=
cleanup() {
  [ -n "$SERVE_PID" ] && kill -TERM "$SERVE_PID" 2>/dev/null && wait "$SERVE_PID" 2>/dev/null || true
  hk stack delete bench0 --yes >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

hk init >/dev/null 2>&1
hk stack create bench0 --profile generic >/dev/null 2>&1
hk backup bench0 >/dev/null 2>&1
python3 - "$HOME_DIR/catalog.db" <<'PY'
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
stack = json.loads(db.execute("SELECT doc FROM stacks WHERE id = 'bench0'").fetchone()[0])
for i in range(1, 20):
    s = dict(stack, name=f"bench{i}")
    db.execute("INSERT INTO stacks (id, doc) VALUES (?, ?)", (s["name"], json.dumps(s)))
jobs = [json.loads(d) for (d,) in db.execute("SELECT doc FROM jobs")]
have = len(jobs)
for i in range(10000 - have):
    j = dict(jobs[i % have], job_id=f"j-bench-{i:05d}", stack=f"bench{i % 20}")
    db.execute("INSERT INTO jobs (id, doc) VALUES (?, ?)", (j["job_id"], json.dumps(j)))
db.commit()
print(f"catalog: {db.execute('SELECT count(*) FROM stacks').fetchone()[0]} stacks, {db.execute('SELECT count(*) FROM jobs').fetchone()[0]} jobs")
PY
TOKEN=$(hk --json token create bench --role read | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
# The daemon runs on a pinned clock at 20:00 UTC: every plan (the default,
# 10:00 UTC with an 8 h window) has its night behind it (recorded EXPIRED
# once, at start) and its next run 14 h ahead, so what follows is a daemon
# between runs, whenever the benchmark is run.
# Not through the `hk` function: $! must be the server itself, not a subshell.
HUBKEEP_CLOCK=2027-01-05T20:00:00Z "$HUBKEEP" --home "$HOME_DIR" serve --listen "127.0.0.1:$PORT" 2>"$WORK/serve.log" &
SERVE_PID=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/api/v1/health" >/dev/null && break; sleep 0.1; done
# Idle: CPU time (user+system, from /proc) and RSS of the daemon over
# BENCH_IDLE seconds after a 10 s settle.
IDLE=${BENCH_IDLE:-60}
sleep 10
ticks() { awk '{print $14 + $15}' "/proc/$SERVE_PID/stat"; }
t0=$(ticks); sleep "$IDLE"; t1=$(ticks)
rss=$(awk '/^VmRSS/ {print $2}' "/proc/$SERVE_PID/status")
hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$SERVE_PID/status")
python3 - "$t0" "$t1" "$(getconf CLK_TCK)" "$IDLE" "$rss" "$hwm" <<'PY'
import sys
t0, t1, hz, idle, rss, hwm = (float(a) for a in sys.argv[1:])
cpu = (t1 - t0) / hz
print(f"idle daemon (20 stacks with plans, 10000 jobs), {idle:.0f} s: CPU {cpu:.2f} s ({100 * cpu / idle:.2f}% of one core)  RSS {rss / 1024:.1f} MiB  peak RSS {hwm / 1024:.1f} MiB")
PY
count=$(curl -sf -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/api/v1/stacks" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
[ "$count" = 20 ] || { echo "expected 20 stacks, the API lists $count" >&2; exit 1; }
for _ in $(seq 20); do curl -s -o /dev/null -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/api/v1/stacks"; done
for _ in $(seq "$N"); do
  curl -s -o /dev/null -w '%{http_code} %{time_total}\n' -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/api/v1/stacks"
done >"$WORK/times"
python3 - "$WORK/times" "$N" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1])]
bad = [r for r in rows if r[0] != "200"]
if bad:
    sys.exit(f"{len(bad)} requests failed: {bad[:3]}")
t = sorted(float(r[1]) * 1000 for r in rows)
q = lambda p: t[min(len(t) - 1, int(p * len(t)))]
print(f"GET /api/v1/stacks (20 stacks, 10000 jobs), {len(t)} requests: p50 {q(0.50):.2f} ms  p90 {q(0.90):.2f} ms  p99 {q(0.99):.2f} ms  max {t[-1]:.2f} ms")
PY
