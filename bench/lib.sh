# Shared helpers for the benchmarks in bench/: sourced, not run.
#
# Every measured command runs under GNU time (/usr/bin/time -v) after an
# attempt to drop the page cache, so each tool starts from the same state;
# wall time comes from `date +%s.%N` around the call, peak RSS and CPU time
# from GNU time.

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$BENCH_DIR/.." && pwd)
HUBKEEP=${HUBKEEP:-$REPO_ROOT/target/release/hubkeep}
BENCH_SCALE=${BENCH_SCALE:-1}

declare -A WALL RSS CPU LOAD
MEASURED=()
START_LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
DROPS_OK=0
DROPS_FAILED=0

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# scaled N [MIN]: N * BENCH_SCALE rounded, at least MIN (default 1).
scaled() { awk -v n="$1" -v s="$BENCH_SCALE" -v m="${2:-1}" 'BEGIN { v = int(n * s + 0.5); if (v < m) v = m; print v }'; }

drop_caches() {
  sync
  if { echo 3 > /proc/sys/vm/drop_caches; } 2>/dev/null; then DROPS_OK=$((DROPS_OK + 1)); else DROPS_FAILED=$((DROPS_FAILED + 1)); fi
}

# measure NAME CMD...: run CMD with a cold page cache; stdout goes to
# $WORK/NAME.out, stderr to $WORK/NAME.err. Sets WALL[NAME] (s),
# RSS[NAME] (MiB, the largest process of the command) and CPU[NAME] (s).
measure() {
  local name=$1; shift
  drop_caches
  LOAD[$name]=$(cut -d' ' -f1 /proc/loadavg)
  MEASURED+=("$name")
  local t0 t1
  t0=$(date +%s.%N)
  if ! /usr/bin/time -v -o "$WORK/$name.time" "$@" > "$WORK/$name.out" 2> "$WORK/$name.err"; then
    log "$name failed: $*"
    tail -n 20 "$WORK/$name.err" >&2
    exit 1
  fi
  t1=$(date +%s.%N)
  WALL[$name]=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
  RSS[$name]=$(awk -F': ' '/Maximum resident set size/ { printf "%.1f", $2 / 1024 }' "$WORK/$name.time")
  CPU[$name]=$(awk -F': ' '/User time/ { u = $2 } /System time/ { s = $2 } END { printf "%.1f", u + s }' "$WORK/$name.time")
  log "$name: ${WALL[$name]} s wall, ${CPU[$name]} s cpu, ${RSS[$name]} MiB peak RSS (1-min load before: ${LOAD[$name]})"
}

# load_summary: the 1-min load average seen before each measured command.
load_summary() {
  local n out=""
  for n in "${MEASURED[@]}"; do out+=" $n=${LOAD[$n]}"; done
  echo "1-min load average before each measured command:$out"
}

# hk ARGS...: hubkeep with the benchmark's home, JSON output on stdout.
hk() { "$HUBKEEP" --home "$HK_HOME" --json "$@"; }

# json FILE FILTER: one value out of a JSON document.
json() { jq -r "$2" "$1"; }

mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "-"; else printf "%.2f", a / b }'; }
# verdict VALUE LIMIT: "met" when VALUE <= LIMIT.
verdict() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-") print "-"; else if (a + 0 <= b + 0) print "met"; else print "MISSED" }'; }

machine_summary() {
  echo "machine: $(nproc) cores ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)), $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM, $(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r)"
  echo "disk: $(df -h --output=source,fstype,size "$WORK" | tail -n 1 | tr -s ' '); load average at start $START_LOAD, at end $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine shares the 2 cores)"
}
