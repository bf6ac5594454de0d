#!/usr/bin/env bash
# File-store benchmark (issue 2): hubkeep vs restic (and borg when installed)
# on one deterministic ~1.2 GiB tree, all in the same run.
#
#   bench/files.sh                   # full size (~1.2 GiB tree, ~10 min)
#   BENCH_SCALE=0.05 bench/files.sh  # quick run
#
# Environment: BENCH_SCALE (default 1), HUBKEEP (binary, default
# target/release/hubkeep), BENCH_WORK (parent of the work dir, default
# /var/tmp), BENCH_KEEP=1 keeps the work dir, BENCH_BORG=0 skips borg.
#
# Steps, each tool in turn with the page cache dropped before every measured
# command: first backup of the tree; change 1% of each group of files; second
# backup; a third with nothing changed (each tool's fixed cost); full restore of the second backup into an empty dir (checked
# against the tree with diff -r, outside the timing); repository size (du -sb);
# then 1% of the dump's rows edited in scattered places plus 1,000 rows
# inserted in its middle (gen_files.py scatter), and a fourth backup.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

[ -x "$HUBKEEP" ] || die "no hubkeep binary at $HUBKEEP: run cargo build --release -p hubkeep"
command -v restic > /dev/null || die "restic is not installed: apt-get install restic"
USE_BORG=${BENCH_BORG:-1}
command -v borg > /dev/null || USE_BORG=0

WORK=$(mktemp -d "${BENCH_WORK:-/var/tmp}/hubkeep-bench-files.XXXXXX")
chmod 0711 "$WORK" # embedded clusters run as the postgres user
HK_HOME=$WORK/home
STACK=benchfiles
STACK_MADE=0
cleanup() {
  if [ "$STACK_MADE" = 1 ]; then hk stack delete "$STACK" --yes > /dev/null 2>&1 || log "could not delete stack $STACK (home $HK_HOME)"; fi
  if [ "${BENCH_KEEP:-0}" = 1 ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

log "work dir $WORK, scale $BENCH_SCALE"
hk stack create "$STACK" --profile generic > "$WORK/stack-create.json" 2> "$WORK/stack-create.err" \
  || { cat "$WORK/stack-create.err" >&2; die "hubkeep stack create failed"; }
STACK_MADE=1
hk stack show "$STACK" > "$WORK/stack.json"
TREE=$(json "$WORK/stack.json" .outputs.storage_path)
VAULT=$(json "$WORK/stack.json" .outputs.daily_backup_vault)
hk vault show "$VAULT" > "$WORK/vault.json"
HK_REPO=$(json "$WORK/vault.json" .location)
HK_REPO=${HK_REPO#file://}
[ -d "$TREE" ] || die "stack $STACK has no file store directory at $TREE"

log "generating the tree in $TREE"
gen_t0=$(date +%s)
python3 "$BENCH_DIR/gen_files.py" create "$TREE" "$BENCH_SCALE" "$WORK/gen-state.json"
TREE_BYTES=$(du -sb "$TREE" | cut -f1)
TREE_FILES=$(find "$TREE" -type f | wc -l)
log "tree: $TREE_FILES files, $(mib "$TREE_BYTES") MiB, made in $(( $(date +%s) - gen_t0 )) s"

export RESTIC_PASSWORD=bench-restic-password RESTIC_REPOSITORY=$WORK/restic-repo RESTIC_CACHE_DIR=$WORK/restic-cache
export BORG_PASSPHRASE=bench-borg-password BORG_BASE_DIR=$WORK/borg-base BORG_REPO=$WORK/borg-repo
restic init > /dev/null 2>&1
RESTIC_BACKUP=(restic backup --quiet --host bench "$TREE")
# restic 0.15+ skips its size pre-scan with --no-scan; 0.14 has no such flag.
restic backup --help | grep -q -- '--no-scan' && RESTIC_BACKUP+=(--no-scan)
if [ "$USE_BORG" = 1 ]; then borg init --encryption repokey > /dev/null 2>&1; fi

# The floor: reading every file of the tree from a cold cache, nothing else.
measure read_floor bash -c 'find "$1" -type f -print0 | xargs -0 cat > /dev/null' _ "$TREE"

# --- first backup ---
measure hk_b1 "$HUBKEEP" --home "$HK_HOME" --json backup-job start "$STACK"
measure restic_b1 "${RESTIC_BACKUP[@]}"
[ "$USE_BORG" = 1 ] && measure borg_b1 borg create --stats "::night1" "$TREE"
HK_SIZE1=$(du -sb "$HK_REPO" | cut -f1)
RESTIC_SIZE1=$(du -sb "$RESTIC_REPOSITORY" | cut -f1)
[ "$USE_BORG" = 1 ] && BORG_SIZE1=$(du -sb "$BORG_REPO" | cut -f1)

# --- change 1% of each group, second backup ---
python3 "$BENCH_DIR/gen_files.py" change "$TREE" "$BENCH_SCALE" "$WORK/gen-state.json"
measure hk_b2 "$HUBKEEP" --home "$HK_HOME" --json backup-job start "$STACK"
measure restic_b2 "${RESTIC_BACKUP[@]}"
[ "$USE_BORG" = 1 ] && measure borg_b2 borg create --stats "::night2" "$TREE"
HK_SIZE2=$(du -sb "$HK_REPO" | cut -f1)
RESTIC_SIZE2=$(du -sb "$RESTIC_REPOSITORY" | cut -f1)
[ "$USE_BORG" = 1 ] && BORG_SIZE2=$(du -sb "$BORG_REPO" | cut -f1)

# --- a third backup with nothing changed: each tool's fixed cost ---
measure hk_b3 "$HUBKEEP" --home "$HK_HOME" --json backup-job start "$STACK"
measure restic_b3 "${RESTIC_BACKUP[@]}"
[ "$USE_BORG" = 1 ] && measure borg_b3 borg create "::night3" "$TREE"

# --- full restore of the second backup ---
HK_ARN=$(json "$WORK/hk_b2.out" .recovery_point_arn)
measure hk_restore "$HUBKEEP" --home "$HK_HOME" --json restore-job start "$HK_ARN" --target "$WORK/restore-hubkeep"
measure restic_restore restic restore latest --target "$WORK/restore-restic"
if [ "$USE_BORG" = 1 ]; then
  mkdir "$WORK/restore-borg"
  measure borg_restore bash -c 'cd "$1" && borg extract "::night2"' _ "$WORK/restore-borg"
fi

# Where each tool puts the tree: hubkeep at the target, restic and borg under
# the tree's absolute path. Each must equal the tree byte for byte; checked before the
# scattered edit below changes the tree again.
check_restore() {
  local got=$1
  [ -d "$got" ] || { echo "missing"; return; }
  if diff -r -q "$TREE" "$got" > "$WORK/diff.$(basename "$got")" 2>&1; then echo "identical"; else echo "DIFFERS ($(wc -l < "$WORK/diff.$(basename "$got")") entries)"; fi
}
HK_CHECK=$(check_restore "$WORK/restore-hubkeep")
RESTIC_CHECK=$(check_restore "$WORK/restore-restic$TREE")
[ "$USE_BORG" = 1 ] && BORG_CHECK=$(check_restore "$WORK/restore-borg$TREE")

# --- the big file changed in scattered places, fourth backup ---
python3 "$BENCH_DIR/gen_files.py" scatter "$TREE" "$BENCH_SCALE" "$WORK/gen-state.json"
measure hk_b4 "$HUBKEEP" --home "$HK_HOME" --json backup-job start "$STACK"
measure restic_b4 "${RESTIC_BACKUP[@]}"
[ "$USE_BORG" = 1 ] && measure borg_b4 borg create "::night4" "$TREE"


# --- report ---
hkj() { json "$WORK/$1.out" "$2"; }
maxf() { awk -v a="$1" -v b="$2" 'BEGIN { print (a + 0 > b + 0) ? a : b }'; }
HK_BRSS=$(maxf "${RSS[hk_b1]}" "${RSS[hk_b2]}")
RESTIC_BRSS=$(maxf "${RSS[restic_b1]}" "${RSS[restic_b2]}")
BORG_BRSS=-; BORG_B1=-; BORG_B2=-; BORG_B3=-; BORG_B4=-; BORG_R=-; BORG_RRSS=-; BORG_S1=-; BORG_S2=-; BORG_CHECK=${BORG_CHECK:--}
if [ "$USE_BORG" = 1 ]; then
  BORG_BRSS=$(maxf "${RSS[borg_b1]}" "${RSS[borg_b2]}"); BORG_B1=${WALL[borg_b1]}; BORG_B2=${WALL[borg_b2]}; BORG_B3=${WALL[borg_b3]}; BORG_B4=${WALL[borg_b4]}
  BORG_R=${WALL[borg_restore]}; BORG_RRSS=${RSS[borg_restore]}; BORG_S1=$(mib "$BORG_SIZE1"); BORG_S2=$(mib "$BORG_SIZE2")
fi

echo
echo "== hubkeep file-store benchmark (bench/files.sh, BENCH_SCALE=$BENCH_SCALE) =="
machine_summary
load_summary
echo "versions: $("$HUBKEEP" --version 2>/dev/null || echo hubkeep), $(restic version | cut -d' ' -f1-2)$([ "$USE_BORG" = 1 ] && echo ", $(borg --version)")"
echo "tree: $TREE_FILES files, $(mib "$TREE_BYTES") MiB; page cache dropped before each measured command: $DROPS_OK ok, $DROPS_FAILED failed"
echo "hubkeep backup 1: read $(mib "$(hkj hk_b1 .bytes_read)") MiB, new $(mib "$(hkj hk_b1 .bytes_new)") MiB, stored $(mib "$(hkj hk_b1 .bytes_stored)") MiB, files $(hkj hk_b1 .files) (unchanged $(hkj hk_b1 .files_unchanged))"
echo "hubkeep backup 2: read $(mib "$(hkj hk_b2 .bytes_read)") MiB, new $(mib "$(hkj hk_b2 .bytes_new)") MiB, stored $(mib "$(hkj hk_b2 .bytes_stored)") MiB, files $(hkj hk_b2 .files) (unchanged $(hkj hk_b2 .files_unchanged))"
echo "hubkeep backup 4 (dump.sql edited in scattered places): read $(mib "$(hkj hk_b4 .bytes_read)") MiB, new $(mib "$(hkj hk_b4 .bytes_new)") MiB, stored $(mib "$(hkj hk_b4 .bytes_stored)") MiB; cpu seconds hubkeep ${CPU[hk_b4]}, restic ${CPU[restic_b4]}"
echo "cpu seconds (user+sys): hubkeep ${CPU[hk_b1]} / ${CPU[hk_b2]} / ${CPU[hk_restore]}, restic ${CPU[restic_b1]} / ${CPU[restic_b2]} / ${CPU[restic_restore]}$([ "$USE_BORG" = 1 ] && echo ", borg ${CPU[borg_b1]} / ${CPU[borg_b2]} / ${CPU[borg_restore]}") (backup 1 / backup 2 / restore)"
echo "cold read of the whole tree (find | xargs cat > /dev/null): ${WALL[read_floor]} s ($(awk -v b="$TREE_BYTES" -v t="${WALL[read_floor]}" 'BEGIN { printf "%.0f", b / 1048576 / t }') MiB/s)"
echo "restore check (diff -r against the tree): hubkeep $HK_CHECK, restic $RESTIC_CHECK, borg $BORG_CHECK"
echo
row() { printf '%-28s %10s %10s %10s %11s %14s %8s\n' "$@"; }
row "metric" "hubkeep" "restic" "borg" "hk/restic" "target" "verdict"
row "first backup (s)" "${WALL[hk_b1]}" "${WALL[restic_b1]}" "$BORG_B1" "$(ratio "${WALL[hk_b1]}" "${WALL[restic_b1]}")" "<= 0.50x" "$(verdict "$(ratio "${WALL[hk_b1]}" "${WALL[restic_b1]}")" 0.5)"
row "1%-changed backup (s)" "${WALL[hk_b2]}" "${WALL[restic_b2]}" "$BORG_B2" "$(ratio "${WALL[hk_b2]}" "${WALL[restic_b2]}")" "<= 0.25x" "$(verdict "$(ratio "${WALL[hk_b2]}" "${WALL[restic_b2]}")" 0.25)"
row "scattered-change backup (s)" "${WALL[hk_b4]}" "${WALL[restic_b4]}" "$BORG_B4" "$(ratio "${WALL[hk_b4]}" "${WALL[restic_b4]}")" "<= 0.20x" "$(verdict "$(ratio "${WALL[hk_b4]}" "${WALL[restic_b4]}")" 0.2)"
row "unchanged backup (s)" "${WALL[hk_b3]}" "${WALL[restic_b3]}" "$BORG_B3" "$(ratio "${WALL[hk_b3]}" "${WALL[restic_b3]}")" "-" "-"
row "full restore (s)" "${WALL[hk_restore]}" "${WALL[restic_restore]}" "$BORG_R" "$(ratio "${WALL[hk_restore]}" "${WALL[restic_restore]}")" "<= 0.70x" "$(verdict "$(ratio "${WALL[hk_restore]}" "${WALL[restic_restore]}")" 0.7)"
row "backup peak RSS (MiB)" "$HK_BRSS" "$RESTIC_BRSS" "$BORG_BRSS" "$(ratio "$HK_BRSS" "$RESTIC_BRSS")" "<= 100 MB" "$(verdict "$HK_BRSS" 95.4)"
row "restore peak RSS (MiB)" "${RSS[hk_restore]}" "${RSS[restic_restore]}" "$BORG_RRSS" "$(ratio "${RSS[hk_restore]}" "${RSS[restic_restore]}")" "<= 100 MB" "$(verdict "${RSS[hk_restore]}" 95.4)"
row "repo after backup 1 (MiB)" "$(mib "$HK_SIZE1")" "$(mib "$RESTIC_SIZE1")" "$BORG_S1" "$(ratio "$HK_SIZE1" "$RESTIC_SIZE1")" "-" "-"
row "repo after backup 2 (MiB)" "$(mib "$HK_SIZE2")" "$(mib "$RESTIC_SIZE2")" "$BORG_S2" "$(ratio "$HK_SIZE2" "$RESTIC_SIZE2")" "-" "-"
row "backup 2 growth (MiB)" "$(mib $((HK_SIZE2 - HK_SIZE1)))" "$(mib $((RESTIC_SIZE2 - RESTIC_SIZE1)))" "$([ "$USE_BORG" = 1 ] && mib $((BORG_SIZE2 - BORG_SIZE1)) || echo -)" "$(ratio $((HK_SIZE2 - HK_SIZE1)) $((RESTIC_SIZE2 - RESTIC_SIZE1)))" "-" "-"
