#!/usr/bin/env bash
# Installs what the test suite needs and this machine lacks. Safe to run again: every step
# checks first and does nothing when the tool is already there.
#
#   scripts/setup.sh               ClickHouse server + client (Debian packages), chdb (PyPI),
#                                  rustfmt and clippy (rustup components)
#   scripts/setup.sh --with-tansu  also tansu 0.6.0, the Kafka-compatible broker
#                                  (built from source with a patch, ~15 min cold; cached)
#
# Environment:
#   MOOSE_TOOLS_DIR  where built tools are cached (default: ~/.cache/moose-tools);
#                    tansu ends up in $MOOSE_TOOLS_DIR/bin, which scripts/test.sh puts on PATH.
#
# Made for Debian/Ubuntu (apt-get). Elsewhere it says what to install by hand.
set -euo pipefail

TANSU_VERSION=0.6.0
TOOLS_DIR="${MOOSE_TOOLS_DIR:-$HOME/.cache/moose-tools}"

usage() {
    sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

with_tansu=0
for arg in "$@"; do
    case "$arg" in
        --with-tansu) with_tansu=1 ;;
        -h | --help)
            usage
            exit 0
            ;;
        *)
            echo "setup.sh: unknown option '$arg' (try --help)" >&2
            exit 2
            ;;
    esac
done

say() { printf 'setup: %s\n' "$*"; }
die() {
    printf 'setup: error: %s\n' "$*" >&2
    exit 1
}
have() { command -v "$1" >/dev/null 2>&1; }

# Runs a command with its output captured; shows the output only when it fails.
quietly() {
    local description=$1
    shift
    local log
    log=$(mktemp "${TMPDIR:-/tmp}/moose-setup.XXXXXX")
    if "$@" >"$log" 2>&1; then
        rm -f "$log"
    else
        local status=$?
        printf 'setup: error: %s failed (exit %s): %s\n' "$description" "$status" "${*#as_root }" >&2
        tail -n 40 "$log" >&2
        rm -f "$log"
        exit "$status"
    fi
}

# Root commands: run directly as root, through sudo otherwise.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif have sudo; then
        sudo "$@"
    else
        die "need root to run '$*' (run setup.sh as root, or install sudo)"
    fi
}

apt_updated=0
apt_install() {
    have apt-get || die "apt-get not found: install $* with your system's package manager"
    if [ "$apt_updated" -eq 0 ]; then
        quietly "apt-get update" as_root apt-get update -qq
        apt_updated=1
    fi
    quietly "apt-get install $*" as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "$@"
}

# --- ClickHouse server (integration tests start their own on free ports) ----------------
# Debian installs the server to /usr/sbin, which is not on a normal user's PATH.
clickhouse_binary() {
    if have clickhouse-server; then
        command -v clickhouse-server
    elif [ -x /usr/sbin/clickhouse-server ]; then
        echo /usr/sbin/clickhouse-server
    elif have clickhouse; then
        command -v clickhouse
    else
        return 1
    fi
}

if binary=$(clickhouse_binary); then
    say "ClickHouse server: $binary"
else
    say "installing clickhouse-server and clickhouse-client (apt-get)"
    apt_install clickhouse-server clickhouse-client
    binary=$(clickhouse_binary) || die "clickhouse-server is still missing after apt-get install; install it by hand (https://clickhouse.com/docs/install)"
    say "ClickHouse server: $binary"
fi

# pip install, through --break-system-packages where Debian's Python refuses (PEP 668).
pip_install() {
    local package=$1
    local pip_log
    pip_log=$(mktemp "${TMPDIR:-/tmp}/moose-setup.XXXXXX")
    if ! python3 -m pip install --quiet --disable-pip-version-check "$package" >"$pip_log" 2>&1; then
        if grep -q externally-managed-environment "$pip_log"; then
            # Debian's system Python refuses pip installs (PEP 668); this is a test machine.
            quietly "pip install $package" python3 -m pip install --quiet \
                --disable-pip-version-check --break-system-packages "$package"
        else
            tail -n 40 "$pip_log" >&2
            rm -f "$pip_log"
            die "pip install $package failed"
        fi
    fi
    rm -f "$pip_log"
}

# --- chdb: a modern ClickHouse in-process, used to check DDL and RowBinary ------------------
if ! have python3; then
    say "installing python3 (apt-get)"
    apt_install python3 python3-pip
fi
if python3 -c 'import chdb' >/dev/null 2>&1; then
    say "chdb: $(python3 -c 'import chdb; print(chdb.__version__)' 2>/dev/null || echo installed)"
else
    if ! python3 -m pip --version >/dev/null 2>&1; then
        say "installing python3-pip (apt-get)"
        apt_install python3-pip
    fi
    say "installing chdb-core (pip, ~180 MB)"
    pip_install chdb-core
    python3 -c 'import chdb' >/dev/null 2>&1 ||
        die "chdb-core was installed but 'python3 -c \"import chdb\"' still fails"
    say "chdb: $(python3 -c 'import chdb; print(chdb.__version__)' 2>/dev/null || echo installed)"
fi

# --- Rust tooling for the checks in scripts/test.sh ------------------------------------------
have cargo || die "cargo not found: install Rust with rustup (https://rustup.rs)"
for component in rustfmt clippy; do
    subcommand=${component/rustfmt/fmt}
    if ! cargo "$subcommand" --version >/dev/null 2>&1; then
        have rustup || die "cargo $subcommand is missing and rustup is not available to add $component"
        say "installing rustup component $component"
        quietly "rustup component add $component" rustup component add "$component"
    fi
done

# --- tansu: Kafka-compatible broker for the Kafka backend's integration tests ------------
# Built from the crates.io sources of tansu 0.6.0 with two changes, both named in the stamp
# file next to the binary so a stale build is noticed and replaced:
#   - the `libsql` storage engine (the tests keep the broker's data in an SQLite file, so the
#     broker can be stopped and started again with its topics and offsets) and `dynostore`
#     (its in-memory engine, which the Kafka benchmark uses: the SQLite one fails under load);
#   - scripts/tansu/group-heartbeat-expiry.patch on tansu-broker: without it a consumer group
#     never hands the partitions of a crashed member to the survivors.
TANSU_FEATURES=libsql,dynostore
tansu_stamp="tansu $TANSU_VERSION features=$TANSU_FEATURES patches=$(cd "$(dirname "${BASH_SOURCE[0]}")/tansu" && cat ./*.patch | cksum | cut -d' ' -f1)"
build_tansu() {
    have curl || apt_install curl ca-certificates
    have patch || apt_install patch
    local src="$TOOLS_DIR/src"
    rm -rf "$src"
    mkdir -p "$src" "$TOOLS_DIR/bin"
    for crate in tansu tansu-broker; do
        curl -sSfL "https://static.crates.io/crates/$crate/$crate-$TANSU_VERSION.crate" |
            tar xz -C "$src" || die "downloading $crate $TANSU_VERSION from crates.io failed"
    done
    local patch
    for patch in "$(dirname "${BASH_SOURCE[0]}")"/tansu/*.patch; do
        quietly "patch $(basename "$patch")" patch -d "$src/tansu-broker-$TANSU_VERSION" -p1 -i "$(realpath "$patch")"
    done
    printf '\n[patch.crates-io]\ntansu-broker = { path = "../tansu-broker-%s" }\n' "$TANSU_VERSION" \
        >>"$src/tansu-$TANSU_VERSION/Cargo.toml"
    # `cargo build` keeps every other version of tansu's own Cargo.lock (`cargo install` would
    # resolve afresh, and `--locked` refuses the patched path); its own target dir, so an
    # interrupted build resumes and the project's stays clean.
    # Cargo's progress is shown: a quiet quarter of an hour looks like a hang in CI logs.
    cargo build --release --no-default-features \
        --features "$TANSU_FEATURES" --manifest-path "$src/tansu-$TANSU_VERSION/Cargo.toml" \
        --target-dir "$TOOLS_DIR/build" ||
        die "building tansu failed (output above); rerun scripts/setup.sh --with-tansu to resume"
    cp "$TOOLS_DIR/build/release/tansu" "$TOOLS_DIR/bin/tansu.new"
    mv "$TOOLS_DIR/bin/tansu.new" "$TOOLS_DIR/bin/tansu"
    echo "$tansu_stamp" >"$TOOLS_DIR/bin/tansu.stamp"
    rm -rf "$TOOLS_DIR/build" "$src"
}
if [ "$with_tansu" -eq 1 ]; then
    # kafka-python: a Kafka client that is not ours, for the interoperability test.
    if python3 -c 'import kafka' >/dev/null 2>&1; then
        say "kafka-python: installed"
    else
        say "installing kafka-python (pip)"
        pip_install kafka-python
    fi
    if [ -x "$TOOLS_DIR/bin/tansu" ] && [ "$(cat "$TOOLS_DIR/bin/tansu.stamp" 2>/dev/null)" = "$tansu_stamp" ]; then
        say "tansu: $TOOLS_DIR/bin/tansu (cached; scripts/test.sh puts $TOOLS_DIR/bin on PATH)"
    else
        say "building $tansu_stamp into $TOOLS_DIR (~15 min on 2 cores the first time)"
        build_tansu
        say "tansu: $TOOLS_DIR/bin/tansu"
    fi
fi

say "ready"
