#!/usr/bin/env bash
# The end-to-end benchmark (issue 8): the seed's chained pipeline against a real ClickHouse,
# with the two references measured in the same run, printed as one table.
#
#   scripts/bench.sh                         embedded stream log
#   scripts/bench.sh --kafka                 Kafka mode on a tansu broker this script starts
#   scripts/bench.sh --kafka HOST:PORT       Kafka mode on a running broker
#   scripts/bench.sh -- --records 1000000    extra loadgen arguments (see --help)
#
# Builds the load tool in release mode (examples/loadgen) and runs it with the defaults
# below; any loadgen argument after `--` overrides them. ClickHouse: a local server the tool
# starts itself (`clickhouse-server` from PATH or /usr/sbin), or MOOSE_CLICKHOUSE_URL.
# Kafka mode with no address starts tansu from $MOOSE_TOOLS_DIR/bin/tansu
# (default ~/.cache/moose-tools/bin/tansu, built by `scripts/setup.sh --with-tansu`) on a
# free loopback port, in a temporary directory, with the storage engine
# $MOOSE_BENCH_TANSU_STORAGE (default memory://tansu/; tansu's sqlite://tansu.db engine panics
# under this load).
#
# Never run in CI: timings belong here, not in tests.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

# Records per phase, records per POST, connections: enough records that the 1 s sync delay
# and the start-up are a small part of each phase.
defaults=(--records 4000000 --batch 10000 --connections 4 --outage-secs 30)
kafka=""
extra=()
while [ $# -gt 0 ]; do
    case "$1" in
        --kafka)
            if [ $# -gt 1 ] && [ "${2#-}" = "$2" ]; then
                kafka=$2
                shift
            else
                kafka=start
            fi
            ;;
        --)
            shift
            extra=("$@")
            break
            ;;
        -h | --help)
            sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *)
            echo "bench.sh: unknown argument \`$1\` (see --help)" >&2
            exit 2
            ;;
    esac
    shift
done

if ! command -v clickhouse-server >/dev/null 2>&1 && [ -x /usr/sbin/clickhouse-server ]; then
    export PATH="$PATH:/usr/sbin"
fi
if [ -z "${MOOSE_CLICKHOUSE_URL:-}" ] && ! command -v clickhouse-server >/dev/null 2>&1; then
    "$repo/scripts/setup.sh"
fi

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"
cargo build --release --example loadgen
loadgen="$CARGO_TARGET_DIR/release/examples/loadgen"

tansu_pid=""
workdir=""
cleanup() {
    if [ -n "$tansu_pid" ]; then
        kill "$tansu_pid" 2>/dev/null || true
        wait "$tansu_pid" 2>/dev/null || true
    fi
    if [ -n "$workdir" ]; then
        rm -rf "$workdir"
    fi
}
trap cleanup EXIT

if [ "$kafka" = start ]; then
    tools="${MOOSE_TOOLS_DIR:-$HOME/.cache/moose-tools}"
    tansu="$tools/bin/tansu"
    if [ ! -x "$tansu" ]; then
        echo "bench.sh: no tansu at $tansu; build it with scripts/setup.sh --with-tansu, or pass --kafka HOST:PORT" >&2
        exit 1
    fi
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    workdir=$(mktemp -d)
    (cd "$workdir" && exec "$tansu" broker \
        --listener-url "tcp://127.0.0.1:$port" \
        --advertised-listener-url "tcp://127.0.0.1:$port" \
        --storage-engine "${MOOSE_BENCH_TANSU_STORAGE:-memory://tansu/}" >"$workdir/tansu.log" 2>&1) &
    tansu_pid=$!
    for _ in $(seq 1 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            break
        fi
        sleep 0.1
    done
    kafka="127.0.0.1:$port"
    echo "tansu broker at $kafka (log: $workdir/tansu.log)"
fi

args=("${defaults[@]}")
if [ -n "$kafka" ]; then
    # The outage phase needs the local ClickHouse; the Kafka target is about throughput.
    args=(--records 4000000 --batch 10000 --connections 4 --kafka "$kafka")
fi
"$loadgen" "${args[@]}" "${extra[@]}"
