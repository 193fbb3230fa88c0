#!/usr/bin/env bash
# The project's main job: the seed's chained-transform pipeline in dev mode.
#
#   scripts/run-example.sh [EXAMPLE] [-- APP ARGS]
#
# Installs what is missing (scripts/setup.sh: ClickHouse), builds in release mode and runs
# the example (default: chained_transforms) with `dev`: the embedded stream log under
# $MOOSE_DATA_DIR (default .moose) and a ClickHouse server started by the app itself.
# Then: curl -X POST localhost:4000/ingest/raw_data -H 'content-type: application/json' \
#         -d '{"id":"a","value":2}'
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
example=${1:-chained_transforms}
shift || true
[ "${1:-}" = "--" ] && shift

"$repo/scripts/setup.sh"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"
if ! command -v clickhouse-server >/dev/null 2>&1 && [ -x /usr/sbin/clickhouse-server ]; then
    export PATH="$PATH:/usr/sbin"
fi
exec cargo run --release --example "$example" -- "${@:-dev}"
