#!/usr/bin/env bash
# CPU per row by stage of one pipeline, from a perf profile of its max-rate phase (issue 16).
#
#   scripts/profile.sh                      the chained workload, 2,000,000 records
#   scripts/profile.sh --workload flights   the flights workload, 1,347,104 records
#   scripts/profile.sh -- --records 500000  extra loadgen arguments (see its --help)
#
# Builds the load tool in release mode with line tables (CARGO_PROFILE_RELEASE_DEBUG, in its
# own target dir so the optimized build of scripts/bench.sh is not rebuilt) and runs it under
# `perf record` (cpu-clock, 499 Hz, DWARF call graphs), sampling the tool and the ClickHouse
# server it starts during the max-rate phase only; the references are not profiled. Prints
# loadgen's line for the phase and a table: each stage's share of the samples and its CPU µs
# per row (scripts/profile_stages.py says how samples are attributed). Needs `perf` (Debian:
# linux-perf, installed with apt-get when missing) and permission to profile (root, or
# kernel.perf_event_paranoid <= 1).
#
# Timings belong here and in scripts/bench.sh, never in tests.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

workload=chained
extra=()
while [ $# -gt 0 ]; do
    case "$1" in
        --workload)
            workload=${2:-}
            shift
            ;;
        --)
            shift
            extra=("$@")
            break
            ;;
        -h | --help)
            sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *)
            echo "profile.sh: unknown argument \`$1\` (see --help)" >&2
            exit 2
            ;;
    esac
    shift
done

case "$workload" in
    chained) args=(--workload chained --records 2000000) ;;
    flights)
        data=$("$repo/scripts/flights-data.sh" | tail -n 1)
        args=(--workload flights --flights-data "$data" --records 1347104)
        ;;
    *)
        echo "profile.sh: --workload takes chained or flights" >&2
        exit 2
        ;;
esac

if ! command -v perf >/dev/null 2>&1; then
    echo "profile.sh: installing perf (Debian package linux-perf)" >&2
    sudo_cmd=()
    [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq >&2
    "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends linux-perf >&2
fi
if ! command -v clickhouse-server >/dev/null 2>&1 && [ -x /usr/sbin/clickhouse-server ]; then
    export PATH="$PATH:/usr/sbin"
fi
command -v clickhouse-server >/dev/null 2>&1 || "$repo/scripts/setup.sh"

export CARGO_TARGET_DIR="${MOOSE_PROFILE_TARGET_DIR:-$repo/target/profile}"
CARGO_PROFILE_RELEASE_DEBUG=line-tables-only cargo build --release --example loadgen
loadgen="$CARGO_TARGET_DIR/release/examples/loadgen"

work=$(mktemp -d "${TMPDIR:-/tmp}/moose-profile.XXXXXX")
perf_pid=""
cleanup() {
    [ -z "$perf_pid" ] || kill "$perf_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# perf runs the tool (and, inherited, the ClickHouse server it starts) with sampling off,
# and is told over its control FIFO when to sample: from the max-rate phase's start to its
# result line. Attaching to running processes instead takes long enough to miss the start
# of a phase.
mkfifo "$work/control" "$work/ack"
perf record -e cpu-clock -F 499 --call-graph dwarf,16384 --delay=-1 \
    --control "fifo:$work/control,$work/ack" -o "$work/perf.data" -- \
    "$loadgen" "${args[@]}" --no-fixed-rate "${extra[@]}" >"$work/loadgen.log" 2>&1 &
perf_pid=$!
exec 3>"$work/control" 4<"$work/ack"
# Sent when the line is there; false once perf (and with it the tool) has exited.
perf_says() {
    local line=$1 command=$2
    until grep -q "$line" "$work/loadgen.log"; do
        kill -0 "$perf_pid" 2>/dev/null || { cat "$work/loadgen.log" >&2; return 1; }
        sleep 0.02
    done
    echo "$command" >&3
    read -r -u 4 _
}
# The tool prints the machine once its ClickHouse is up, right before the phase starts.
perf_says '^machine:' enable
perf_says '^pipeline, max rate' disable
tool=$(pgrep -P "$perf_pid" -x loadgen | head -n 1)
wait "$perf_pid" || true
perf_pid=""
grep -E '^pipeline, max rate' "$work/loadgen.log"
records=$(grep -oE '[0-9]+ records per phase' "$work/loadgen.log" | head -n 1 | grep -oE '^[0-9]+')
perf script -i "$work/perf.data" -F comm,pid,ip,sym 2>/dev/null |
    python3 "$repo/scripts/profile_stages.py" --pid "$tool" --rows "$records" --hz 499
