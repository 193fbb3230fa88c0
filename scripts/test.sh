#!/usr/bin/env bash
# The project's test command: installs what is missing (scripts/setup.sh), then runs
#
#   cargo fmt --all -- --check
#   cargo clippy --workspace --all-targets -- -D warnings
#   RUSTDOCFLAGS='-D warnings' cargo doc --workspace --no-deps
#   without the `kafka` feature: no rdkafka in `cargo tree`, and the library still builds
#   cargo test --workspace
#
# Integration tests start their own ClickHouse servers and Apache Kafka clusters
# (scripts/kafka.sh) on free loopback ports; this script makes sure ClickHouse, Kafka's jars
# and the foreign clients the tests use (kafka-python with lz4, chdb) are installed first.
#
# Environment:
#   CARGO_TARGET_DIR  build directory (default: <repo>/target)
#   MOOSE_TOOLS_DIR   cache of fetched tools such as Kafka (default: ~/.cache/moose-tools)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

for arg in "$@"; do
    case "$arg" in
        -h | --help)
            sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *)
            echo "test.sh: unknown option '$arg' (try --help)" >&2
            exit 2
            ;;
    esac
done

step() { printf '\n==> %s\n' "$*"; }

step "scripts/setup.sh --tests"
"$repo/scripts/setup.sh" --tests

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"
# Debian puts clickhouse-server in /usr/sbin, which is not on a normal user's PATH.
if ! command -v clickhouse-server >/dev/null 2>&1 && [ -x /usr/sbin/clickhouse-server ]; then
    export PATH="$PATH:/usr/sbin"
fi
if ! command -v clickhouse-server >/dev/null 2>&1 && ! command -v clickhouse >/dev/null 2>&1; then
    echo "test.sh: error: no clickhouse-server on PATH after setup; install it (apt-get install clickhouse-server)" >&2
    exit 1
fi
echo "CARGO_TARGET_DIR=$CARGO_TARGET_DIR"
echo "ClickHouse server: $(command -v clickhouse-server || command -v clickhouse)"

step "cargo fmt --all -- --check"
cargo fmt --all -- --check

step "cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

step "RUSTDOCFLAGS='-D warnings' cargo doc --workspace --no-deps"
RUSTDOCFLAGS='-D warnings' cargo doc --workspace --no-deps

step "--no-default-features: no rdkafka, and it builds"
if cargo tree -p moose --no-default-features -e normal | grep -E '^.*(rdkafka|openssl)'; then
    echo "test.sh: error: rdkafka/OpenSSL in the tree without the kafka feature (above)" >&2
    exit 1
fi
cargo clippy -p moose --no-default-features --lib -- -D warnings

step "cargo test --workspace"
cargo test --workspace

step "all checks passed"
