#!/usr/bin/env bash
# Many-small-files benchmark (issue 12): a Hubs-shaped file store, hubkeep
# vs restic in the same run, at two sizes, to show whether memory grows with
# the number of files.
#
#   bench/many-files.sh                    # 50,000 and 200,000 files
#   BENCH_SCALE=0.05 bench/many-files.sh   # quick run (2,500 and 10,000 files)
#
# Environment: BENCH_SCALE (default 1), HUBKEEP (binary, default
# target/release/hubkeep), BENCH_WORK (parent of the work dir, default
# /var/tmp), BENCH_KEEP=1 keeps the work dir, BENCH_RESTIC=0 skips restic
# (to measure an older hubkeep binary alone).
#
# The store (bench/gen_files.py hubs): uploads as owned/<aa>/<bb>/<uuid>.blob
# (1-6 KiB) + <uuid>.meta.json, 2 files per upload. Each size gets its own
# stack (hubkeep) and repository (restic). At both sizes the same steps:
# first backup, a backup with nothing changed, one after 1% of the files
# were rewritten, and a restore of that last backup into an empty directory
# (checked with diff -r, outside the timing), so that the growth of peak RSS
# compares the same operations at 4x the files. Times are reported at the
# large size. Peak RSS of every command comes from /usr/bin/time -v.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

[ -x "$HUBKEEP" ] || die "no hubkeep binary at $HUBKEEP: run cargo build --release -p hubkeep"
USE_RESTIC=${BENCH_RESTIC:-1}
if [ "$USE_RESTIC" = 1 ]; then
  command -v restic > /dev/null || die "restic is not installed: apt-get install restic (or BENCH_RESTIC=0)"
fi

SMALL=$(scaled 25000 50)
LARGE=$(scaled 100000 200)

WORK=$(mktemp -d "${BENCH_WORK:-/var/tmp}/hubkeep-bench-many.XXXXXX")
chmod 0711 "$WORK" # embedded clusters run as the postgres user
HK_HOME=$WORK/home
STACKS=()
cleanup() {
  local s
  for s in "${STACKS[@]}"; do
    hk stack delete "$s" --yes > /dev/null 2>&1 || log "could not delete stack $s (home $HK_HOME)"
  done
  if [ "${BENCH_KEEP:-0}" = 1 ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

export RESTIC_PASSWORD=bench-restic-password RESTIC_CACHE_DIR=$WORK/restic-cache
RESTIC_NO_SCAN=()
if [ "$USE_RESTIC" = 1 ]; then
  # restic 0.15+ skips its size pre-scan with --no-scan; 0.14 has no such flag.
  restic backup --help | grep -q -- '--no-scan' && RESTIC_NO_SCAN=(--no-scan)
fi

declare -A FILES CHECK
# run_size LABEL UPLOADS FULL: one stack and one restic repository for a
# store of UPLOADS uploads; FULL=1 adds the unchanged and 1%-changed backups.
run_size() {
  local label=$1 uploads=$2 full=$3 stack="benchmany$1"
  log "size $label: $uploads uploads"
  hk stack create "$stack" --profile generic > "$WORK/stack-$label.json" 2> "$WORK/stack-$label.err" \
    || { cat "$WORK/stack-$label.err" >&2; die "hubkeep stack create failed"; }
  STACKS+=("$stack")
  hk stack show "$stack" > "$WORK/stack-$label.json"
  local tree
  tree=$(json "$WORK/stack-$label.json" .outputs.storage_path)
  [ -d "$tree" ] || die "stack $stack has no file store directory at $tree"
  python3 "$BENCH_DIR/gen_files.py" hubs "$tree" "$uploads"
  FILES[$label]=$(find "$tree" -type f | wc -l)
  log "tree: ${FILES[$label]} files, $(mib "$(du -sb "$tree" | cut -f1)") MiB"
  export RESTIC_REPOSITORY=$WORK/restic-$label
  local restic_backup=(restic backup --quiet --host bench "${RESTIC_NO_SCAN[@]}" "$tree")
  [ "$USE_RESTIC" = 1 ] && restic init > /dev/null 2>&1

  measure "hk_first_$label" "$HUBKEEP" --home "$HK_HOME" --json backup-job start "$stack"
  [ "$USE_RESTIC" = 1 ] && measure "restic_first_$label" "${restic_backup[@]}"
  local restore_of="hk_first_$label"
  if [ "$full" = 1 ]; then
    measure "hk_unchanged_$label" "$HUBKEEP" --home "$HK_HOME" --json backup-job start "$stack"
    [ "$USE_RESTIC" = 1 ] && measure "restic_unchanged_$label" "${restic_backup[@]}"
    python3 "$BENCH_DIR/gen_files.py" hubs-change "$tree" "$uploads"
    measure "hk_changed_$label" "$HUBKEEP" --home "$HK_HOME" --json backup-job start "$stack"
    [ "$USE_RESTIC" = 1 ] && measure "restic_changed_$label" "${restic_backup[@]}"
    restore_of="hk_changed_$label"
  fi
  local arn
  arn=$(json "$WORK/$restore_of.out" .recovery_point_arn)
  measure "hk_restore_$label" "$HUBKEEP" --home "$HK_HOME" --json restore-job start "$arn" --target "$WORK/restore-hk-$label"
  [ "$USE_RESTIC" = 1 ] && measure "restic_restore_$label" restic restore latest --target "$WORK/restore-restic-$label"
  if diff -r -q "$tree" "$WORK/restore-hk-$label" > "$WORK/diff-$label" 2>&1; then
    CHECK[$label]="identical"
  else
    CHECK[$label]="DIFFERS ($(wc -l < "$WORK/diff-$label") entries)"
  fi
  rm -rf "$WORK/restore-hk-$label" "$WORK/restore-restic-$label"
}

run_size small "$SMALL" 1
run_size large "$LARGE" 1

# wall NAME / rss NAME: a measured value, "-" when the tool was not run.
wall() { echo "${WALL[$1]:--}"; }
rss() { echo "${RSS[$1]:--}"; }
maxf() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-") print b; else if (b == "-") print a; else print (a + 0 > b + 0) ? a : b }'; }
diff_mib() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-") print "-"; else printf "%.1f", (a > b ? a - b : b - a) }'; }

HK_B_SMALL=$(maxf "$(maxf "$(rss hk_first_small)" "$(rss hk_unchanged_small)")" "$(rss hk_changed_small)")
HK_B_LARGE=$(maxf "$(maxf "$(rss hk_first_large)" "$(rss hk_unchanged_large)")" "$(rss hk_changed_large)")
RESTIC_B_SMALL=$(maxf "$(maxf "$(rss restic_first_small)" "$(rss restic_unchanged_small)")" "$(rss restic_changed_small)")
RESTIC_B_LARGE=$(maxf "$(maxf "$(rss restic_first_large)" "$(rss restic_unchanged_large)")" "$(rss restic_changed_large)")

echo
echo "== hubkeep many-files benchmark (bench/many-files.sh, BENCH_SCALE=$BENCH_SCALE) =="
machine_summary
load_summary
echo "versions: $("$HUBKEEP" --version 2>/dev/null || echo hubkeep)$([ "$USE_RESTIC" = 1 ] && echo ", $(restic version | cut -d' ' -f1-2)")"
echo "stores: ${FILES[small]} and ${FILES[large]} files; page cache dropped before each measured command: $DROPS_OK ok, $DROPS_FAILED failed"
echo "hubkeep 1%-changed backup: read $(mib "$(json "$WORK/hk_changed_large.out" .bytes_read)") MiB, files $(json "$WORK/hk_changed_large.out" .files) (unchanged $(json "$WORK/hk_changed_large.out" .files_unchanged))"
echo "restore check (diff -r against the store): ${FILES[small]} files ${CHECK[small]}, ${FILES[large]} files ${CHECK[large]}"
echo
row() { printf '%-34s %10s %10s %11s %12s %8s\n' "$@"; }
row "at ${FILES[large]} files" "hubkeep" "restic" "hk/restic" "target" "verdict"
time_row() { row "$1" "$(wall "hk_$2_large")" "$(wall "restic_$2_large")" "$(ratio "$(wall "hk_$2_large")" "$(wall "restic_$2_large")")" "-" "-"; }
time_row "first backup (s)" first
time_row "unchanged backup (s)" unchanged
time_row "1%-changed backup (s)" changed
time_row "restore (s)" restore
echo
row "peak RSS (MiB)" "hubkeep" "restic" "hk/restic" "target" "verdict"
row "backup, ${FILES[small]} files" "$HK_B_SMALL" "$RESTIC_B_SMALL" "$(ratio "$HK_B_SMALL" "$RESTIC_B_SMALL")" "<= 150 MB" "$(verdict "$HK_B_SMALL" 143.1)"
row "backup, ${FILES[large]} files" "$HK_B_LARGE" "$RESTIC_B_LARGE" "$(ratio "$HK_B_LARGE" "$RESTIC_B_LARGE")" "<= 150 MB" "$(verdict "$HK_B_LARGE" 143.1)"
row "backup growth, 4x the files" "$(diff_mib "$HK_B_LARGE" "$HK_B_SMALL")" "$(diff_mib "$RESTIC_B_LARGE" "$RESTIC_B_SMALL")" "-" "<= 30 MB" "$(verdict "$(diff_mib "$HK_B_LARGE" "$HK_B_SMALL")" 28.6)"
row "restore, ${FILES[small]} files" "$(rss hk_restore_small)" "$(rss restic_restore_small)" "$(ratio "$(rss hk_restore_small)" "$(rss restic_restore_small)")" "<= 150 MB" "$(verdict "$(rss hk_restore_small)" 143.1)"
row "restore, ${FILES[large]} files" "$(rss hk_restore_large)" "$(rss restic_restore_large)" "$(ratio "$(rss hk_restore_large)" "$(rss restic_restore_large)")" "<= 150 MB" "$(verdict "$(rss hk_restore_large)" 143.1)"
row "restore growth, 4x the files" "$(diff_mib "$(rss hk_restore_large)" "$(rss hk_restore_small)")" "$(diff_mib "$(rss restic_restore_large)" "$(rss restic_restore_small)")" "-" "<= 30 MB" "$(verdict "$(diff_mib "$(rss hk_restore_large)" "$(rss hk_restore_small)")" 28.6)"
