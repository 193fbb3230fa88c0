#!/usr/bin/env bash
# Installs what this machine lacks. Safe to run again: every step checks first and does
# nothing when the tool is already there.
#
#   scripts/setup.sh               what the main job needs: ClickHouse server + client
#                                  (Debian packages)
#   scripts/setup.sh --with-kafka  also Apache Kafka 4.4.0 (jars from Maven Central, ~55 MB,
#                                  cached; Java 17 and Maven from apt-get when missing) and the
#                                  Python Kafka client the tests use (kafka-python with lz4)
#   scripts/setup.sh --tests       everything the test suite needs: the above, chdb (a modern
#                                  ClickHouse, PyPI), schemathesis and openapi-spec-validator
#                                  (PyPI), openssl, rustfmt and clippy (rustup components),
#                                  Chromium (apt) and playwright-core (npm) for the dashboard's
#                                  browser test, tmux (apt) for the test of `top`'s live view,
#                                  and ZooKeeper (Debian's `zookeeper`, apt) for the ClickHouse
#                                  cluster tests (scripts/clickhouse-cluster.sh)
#
# Environment:
#   MOOSE_TOOLS_DIR  where fetched tools are cached (default: ~/.cache/moose-tools); Kafka ends
#                    up in $MOOSE_TOOLS_DIR/kafka-4.4.0, which scripts/kafka.sh runs, the
#                    browser test's node modules in $MOOSE_TOOLS_DIR/browser-test.
#
# Made for Debian/Ubuntu (apt-get). Elsewhere it says what to install by hand.
set -euo pipefail

TOOLS_DIR="${MOOSE_TOOLS_DIR:-$HOME/.cache/moose-tools}"

usage() {
    sed -n '2,23p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

with_kafka=0
with_tests=0
for arg in "$@"; do
    case "$arg" in
        --with-kafka) with_kafka=1 ;;
        --tests)
            with_kafka=1
            with_tests=1
            ;;
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
    local package="$*"
    local pip_log
    pip_log=$(mktemp "${TMPDIR:-/tmp}/moose-setup.XXXXXX")
    # shellcheck disable=SC2086 # several packages in one install
    if ! python3 -m pip install --quiet --disable-pip-version-check $package >"$pip_log" 2>&1; then
        if grep -q externally-managed-environment "$pip_log"; then
            # Debian's system Python refuses pip installs (PEP 668); this is a test machine.
            quietly "pip install $package" python3 -m pip install --quiet \
                --disable-pip-version-check --break-system-packages $package
        else
            tail -n 40 "$pip_log" >&2
            rm -f "$pip_log"
            die "pip install $package failed"
        fi
    fi
    rm -f "$pip_log"
}

if [ "$with_tests" -eq 1 ]; then
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

    # --- the OpenAPI test's tools: the spec validator and schemathesis ----------------------
    if python3 -c 'import schemathesis, openapi_spec_validator' >/dev/null 2>&1; then
        say "schemathesis and openapi-spec-validator: installed"
    else
        say "installing schemathesis and openapi-spec-validator (pip)"
        pip_install schemathesis openapi-spec-validator
        python3 -c 'import schemathesis, openapi_spec_validator' >/dev/null 2>&1 ||
            die "schemathesis and openapi-spec-validator were installed but python3 cannot import them"
    fi

    # --- ZooKeeper for the ClickHouse cluster tests (scripts/clickhouse-cluster.sh runs it) ----
    if [ -f /usr/share/java/zookeeper.jar ]; then
        say "ZooKeeper: /usr/share/java/zookeeper.jar"
    else
        say "installing zookeeper (apt-get)"
        apt_install zookeeper
        [ -f /usr/share/java/zookeeper.jar ] ||
            die "zookeeper was installed but /usr/share/java/zookeeper.jar is still missing"
    fi
    have java || { say "installing Java 17 (apt-get)"; apt_install openjdk-17-jre-headless; }
    have curl || { say "installing curl (apt-get)"; apt_install curl; }

    # --- the dashboard's browser test: Chromium (apt) driven by playwright-core (npm) --------
    # Debian's chromium, not a browser build of Playwright's own (`playwright install`
    # downloads from a CDN). The modules of tests/browser/package-lock.json go to
    # $TOOLS_DIR/browser-test, which tests/dashboard.rs reads; a stamp names the lock file.
    if [ -x /usr/bin/chromium ]; then
        say "Chromium: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
    else
        say "installing chromium (apt-get, ~100 MB)"
        apt_install chromium
        [ -x /usr/bin/chromium ] || die "chromium is still missing at /usr/bin/chromium after apt-get install"
    fi
    if ! have node || ! have npm; then
        say "installing nodejs and npm (apt-get)"
        apt_install nodejs npm
    fi
    browser_src="$(cd "$(dirname "${BASH_SOURCE[0]}")/../tests/browser" && pwd)"
    browser_dir="$TOOLS_DIR/browser-test"
    browser_stamp="lock=$(cksum <"$browser_src/package-lock.json" | cut -d' ' -f1)"
    if [ "$(cat "$browser_dir/stamp" 2>/dev/null)" = "$browser_stamp" ] &&
        [ -f "$browser_dir/node_modules/playwright-core/package.json" ]; then
        say "playwright-core: $browser_dir (cached)"
    else
        say "installing playwright-core (npm ci) into $browser_dir"
        rm -rf "$browser_dir"
        mkdir -p "$browser_dir"
        cp "$browser_src/package.json" "$browser_src/package-lock.json" "$browser_dir/"
        # --ignore-scripts: nothing runs at install (playwright-core has no install script,
        # and no browser download is wanted).
        quietly "npm ci (tests/browser)" npm ci --prefix "$browser_dir" --ignore-scripts \
            --no-audit --no-fund
        echo "$browser_stamp" >"$browser_dir/stamp"
        say "playwright-core: $browser_dir"
    fi

    # --- `top`'s live view: tests/top.rs runs it in a real 80x24 terminal made by tmux ------
    if have tmux; then
        say "tmux: $(tmux -V)"
    else
        say "installing tmux (apt-get)"
        apt_install tmux
        have tmux || die "tmux is still missing after apt-get install"
    fi
fi

# --- Apache Kafka: the broker the Kafka backend's tests and benchmark run against -----------
# Its jars come from Maven Central (scripts/kafka/pom.xml: kafka_2.13, kafka-tools and the
# log4j2 backend Kafka's POM leaves out) into $TOOLS_DIR/kafka-$KAFKA_VERSION/libs, with the
# log4j2 configs beside them; a stamp names what was fetched, so a changed pom is noticed.
# scripts/kafka.sh runs them with Java 17.
KAFKA_VERSION=4.4.0
kafka_dir="$TOOLS_DIR/kafka-$KAFKA_VERSION"
kafka_src="$(cd "$(dirname "${BASH_SOURCE[0]}")/kafka" && pwd)"
kafka_stamp="kafka $KAFKA_VERSION pom=$(cat "$kafka_src"/pom.xml "$kafka_src"/*.properties | cksum | cut -d' ' -f1)"
install_kafka() {
    if ! have java || ! java -version 2>&1 | grep -qE 'version "(1[7-9]|2[0-9])'; then
        say "installing Java 17 (apt-get)"
        apt_install openjdk-17-jre-headless
    fi
    have mvn || { say "installing Maven (apt-get)"; apt_install maven; }
    rm -rf "$kafka_dir.new"
    mkdir -p "$kafka_dir.new/libs"
    quietly "mvn dependency:copy-dependencies (Apache Kafka $KAFKA_VERSION)" \
        mvn -B -q -f "$kafka_src/pom.xml" dependency:copy-dependencies \
        -DincludeScope=runtime -DoutputDirectory="$kafka_dir.new/libs"
    cp "$kafka_src"/*.properties "$kafka_dir.new/"
    echo "$kafka_stamp" >"$kafka_dir.new/stamp"
    rm -rf "$kafka_dir"
    mv "$kafka_dir.new" "$kafka_dir"
}
if [ "$with_kafka" -eq 1 ]; then
    # openssl makes the certificates of the TLS test.
    have openssl || { say "installing openssl (apt-get)"; apt_install openssl; }
    if [ "$(cat "$kafka_dir/stamp" 2>/dev/null)" = "$kafka_stamp" ]; then
        say "Apache Kafka $KAFKA_VERSION: $kafka_dir (cached)"
    else
        say "fetching Apache Kafka $KAFKA_VERSION with Maven into $kafka_dir"
        install_kafka
        say "Apache Kafka $KAFKA_VERSION: $kafka_dir ($(ls "$kafka_dir/libs" | wc -l) jars)"
    fi
    # A Python Kafka client that is not ours, for the interoperability test. kafka-python
    # reads what our producer compresses only with the lz4 package beside it (without it:
    # "UnsupportedCodecError: Libraries for lz4 compression codec not found").
    if python3 -c 'import kafka, lz4.frame' >/dev/null 2>&1; then
        say "kafka-python with lz4: installed"
    else
        say "installing kafka-python and lz4 (pip)"
        pip_install kafka-python lz4
        python3 -c 'import kafka, lz4.frame' >/dev/null 2>&1 ||
            die "kafka-python and lz4 were installed but python3 cannot import them"
    fi
fi

say "ready"
