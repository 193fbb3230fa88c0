#!/usr/bin/env bash
# Runs Apache Kafka (KRaft, combined broker+controller nodes) on 127.0.0.1, for the tests, the
# benchmark and by hand. The jars come from scripts/setup.sh --with-kafka.
#
#   scripts/kafka.sh start DIR [--nodes N] [--sasl-scram USER:PASSWORD] [--tls PEM]
#       Formats a fresh cluster (new cluster id) under DIR and starts N nodes (default 1) on
#       free loopback ports; waits until every broker answers metadata requests; writes each
#       node's pid to DIR/node-<i>.pid (i = 1..N); prints the bootstrap servers, comma-separated,
#       as the last line of stdout (also in DIR/bootstrap). With 3 or more nodes the cluster's
#       defaults are replication factor 3 and min.insync.replicas=2; with fewer, 1 and 1.
#       --sasl-scram  adds a SASL_PLAINTEXT listener (SCRAM-SHA-256) with that user
#       --tls PEM     adds an SSL listener whose key and certificate chain are in the file PEM
#                     (unencrypted PKCS#8 key, then the certificates)
#       Extra listeners' addresses are written to DIR/listeners as `NAME host:port,...`.
#   scripts/kafka.sh stop DIR                 stops every node (SIGTERM, SIGKILL after 30 s)
#   scripts/kafka.sh node-stop DIR I [--kill] stops node I (--kill: SIGKILL, no goodbye)
#   scripts/kafka.sh node-start DIR I         starts node I again with its data; waits until it
#                                             answers metadata requests
#   scripts/kafka.sh tool CLASS [ARGS...]     runs one of Kafka's own tools from the same jars,
#                                             e.g. org.apache.kafka.tools.ConsoleProducer
#
# Each node logs to DIR/node-<i>/server.log; a start that fails prints that log's lines that
# explain it.
#
# Environment:
#   MOOSE_TOOLS_DIR   where setup.sh put Kafka (default ~/.cache/moose-tools)
#   MOOSE_KAFKA_HEAP  JVM heap per node (default 1g for one node, 512m each for more: the
#                     2-core 24 GB machines this runs on)
set -euo pipefail

KAFKA_VERSION=4.4.0
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tools_dir="${MOOSE_TOOLS_DIR:-$HOME/.cache/moose-tools}"
kafka_home="$tools_dir/kafka-$KAFKA_VERSION"

usage() { sed -n '2,30p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
die() {
    printf 'kafka.sh: error: %s\n' "$*" >&2
    exit 1
}

java_cp() {
    [ -f "$kafka_home/stamp" ] ||
        die "Apache Kafka $KAFKA_VERSION is not installed in $kafka_home; run scripts/setup.sh --with-kafka"
    command -v java >/dev/null 2>&1 || die "java not found; Kafka needs Java 17 (apt-get install openjdk-17-jre-headless)"
    echo "$kafka_home/libs/*"
}

# Runs a Kafka class with the jars on the classpath and quiet client-side logging.
kafka_java() {
    local cp
    cp=$(java_cp)
    java -Xmx256m -XX:TieredStopAtLevel=1 -Xshare:auto \
        -Dlog4j2.configurationFile="$kafka_home/tools-log4j2.properties" \
        -cp "$cp" "$@"
}

free_ports() {
    python3 - "$1" <<'EOF'
import socket, sys
sockets = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    sockets.append(s)
print(" ".join(str(s.getsockname()[1]) for s in sockets))
EOF
}

# The lines of a node's log that say why it failed, or its tail.
explain_failure() {
    local dir=$1 i=$2 log="$1/node-$2/server.log"
    printf 'kafka.sh: node %s failed to start; from %s:\n' "$i" "$log" >&2
    if [ -f "$log" ] && grep -qE 'ERROR|FATAL|Exception' "$log"; then
        grep -E -A3 'ERROR|FATAL|Exception' "$log" | head -n 60 >&2
    elif [ -f "$log" ]; then
        tail -n 30 "$log" >&2
    fi
    if [ -s "$dir/node-$i/stdout.log" ]; then
        printf 'kafka.sh: its stdout/stderr:\n' >&2
        tail -n 30 "$dir/node-$i/stdout.log" >&2
    fi
}

node_alive() {
    local pidfile="$1/node-$2.pid"
    [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

launch_node() {
    local dir=$1 i=$2 cp heap
    cp=$(java_cp)
    heap=$(cat "$dir/heap")
    (
        cd "$dir/node-$i"
        exec java "-Xmx$heap" "-Xms$heap" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
            -Djava.awt.headless=true \
            -Dlog4j2.configurationFile="$kafka_home/log4j2.properties" \
            -Dmoose.kafka.log="$dir/node-$i/server.log" \
            -cp "$cp" kafka.Kafka "$dir/node-$i/server.properties" \
            >>"$dir/node-$i/stdout.log" 2>&1 </dev/null
    ) &
    echo $! >"$dir/node-$i.pid"
}

# Waits until node I logs that it started, then until the cluster's metadata lists it.
wait_node() {
    local dir=$1 i=$2 deadline=$((SECONDS + 120))
    local log="$dir/node-$i/server.log"
    until [ -f "$log" ] && grep -q 'Kafka Server started' "$log"; do
        if ! node_alive "$dir" "$i"; then
            explain_failure "$dir" "$i"
            return 1
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            printf 'kafka.sh: node %s did not start within 120 s\n' "$i" >&2
            explain_failure "$dir" "$i"
            return 1
        fi
        sleep 0.2
    done
}

# Asks the cluster for its brokers until all of `ids` are listed (a real metadata request).
wait_metadata() {
    local dir=$1 expected=$2 deadline=$((SECONDS + 60)) out listed
    while :; do
        out=$(kafka_java org.apache.kafka.tools.BrokerApiVersionsCommand \
            --bootstrap-server "$(cat "$dir/bootstrap")" 2>&1) || true
        listed=$(printf '%s\n' "$out" | grep -c ' (id: ' || true)
        if [ "$listed" -ge "$expected" ]; then
            return 0
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            printf 'kafka.sh: the cluster lists %s of %s brokers after 60 s; last answer:\n%s\n' \
                "$listed" "$expected" "$out" >&2
            return 1
        fi
        sleep 0.5
    done
}

cmd_start() {
    local dir="" nodes=1 scram="" tls=""
    while [ $# -gt 0 ]; do
        case "$1" in
            --nodes) nodes=${2:?--nodes needs a number}; shift ;;
            --sasl-scram) scram=${2:?--sasl-scram needs USER:PASSWORD}; shift ;;
            --tls) tls=${2:?--tls needs a PEM file}; shift ;;
            -*) die "unknown option '$1' (try --help)" ;;
            *) [ -z "$dir" ] || die "one DIR only (got '$dir' and '$1')"; dir=$1 ;;
        esac
        shift
    done
    [ -n "$dir" ] || die "start needs a DIR (try --help)"
    [[ "$nodes" =~ ^[1-9][0-9]*$ ]] || die "--nodes wants a positive number, got '$nodes'"
    [ -z "$tls" ] || [ -f "$tls" ] || die "--tls: no file $tls"
    java_cp >/dev/null
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    for i in $(seq 1 "$nodes"); do
        ! node_alive "$dir" "$i" || die "node $i under $dir is running already (pid $(cat "$dir/node-$i.pid")); stop it first"
    done
    rm -rf "$dir"/node-* "$dir/bootstrap" "$dir/listeners"

    local rf=1 isr=1 heap=1g
    if [ "$nodes" -ge 3 ]; then rf=3; isr=2; fi
    if [ "$nodes" -gt 1 ]; then heap=512m; fi
    echo "${MOOSE_KAFKA_HEAP:-$heap}" >"$dir/heap"

    local per_node=2
    [ -z "$scram" ] || per_node=$((per_node + 1))
    [ -z "$tls" ] || per_node=$((per_node + 1))
    local -a ports
    read -r -a ports <<<"$(free_ports $((nodes * per_node)))"

    local voters="" bootstrap="" sasl_servers="" ssl_servers="" i k
    for i in $(seq 1 "$nodes"); do
        k=$(((i - 1) * per_node))
        voters+="${voters:+,}$i@127.0.0.1:${ports[k + 1]}"
        bootstrap+="${bootstrap:+,}127.0.0.1:${ports[k]}"
    done
    local cluster_id
    # A Kafka Uuid in URL-safe base64. One in 64 starts with '-', which
    # kafka-storage's argument parser reads as an option ("--cluster-id:
    # expected one argument"); Kafka's own Uuid.randomUuid() never returns
    # those, so neither do we.
    cluster_id=$(python3 -c '
import base64, uuid
while True:
    s = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    if not s.startswith("-"):
        print(s)
        break
')

    for i in $(seq 1 "$nodes"); do
        k=$(((i - 1) * per_node))
        local plain=${ports[k]} controller=${ports[k + 1]} next=$((k + 2))
        local listeners="PLAINTEXT://127.0.0.1:$plain,CONTROLLER://127.0.0.1:$controller"
        local advertised="PLAINTEXT://127.0.0.1:$plain"
        if [ -n "$scram" ]; then
            listeners+=",SASL_PLAINTEXT://127.0.0.1:${ports[next]}"
            advertised+=",SASL_PLAINTEXT://127.0.0.1:${ports[next]}"
            sasl_servers+="${sasl_servers:+,}127.0.0.1:${ports[next]}"
            next=$((next + 1))
        fi
        if [ -n "$tls" ]; then
            listeners+=",SSL://127.0.0.1:${ports[next]}"
            advertised+=",SSL://127.0.0.1:${ports[next]}"
            ssl_servers+="${ssl_servers:+,}127.0.0.1:${ports[next]}"
        fi
        mkdir -p "$dir/node-$i/data"
        {
            echo "# Written by scripts/kafka.sh: node $i of $nodes, cluster $cluster_id"
            echo "process.roles=broker,controller"
            echo "node.id=$i"
            echo "controller.quorum.voters=$voters"
            echo "controller.listener.names=CONTROLLER"
            echo "inter.broker.listener.name=PLAINTEXT"
            echo "listeners=$listeners"
            echo "advertised.listeners=$advertised"
            echo "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,SSL:SSL"
            echo "log.dirs=$dir/node-$i/data"
            echo "num.partitions=1"
            echo "default.replication.factor=$rf"
            echo "min.insync.replicas=$isr"
            echo "offsets.topic.replication.factor=$rf"
            echo "offsets.topic.num.partitions=10"
            echo "transaction.state.log.replication.factor=$rf"
            echo "transaction.state.log.min.isr=$isr"
            echo "share.coordinator.state.topic.replication.factor=$rf"
            echo "share.coordinator.state.topic.min.isr=$isr"
            # Topics are created by whoever owns them (the runtime's lifecycle), never by a typo.
            echo "auto.create.topics.enable=false"
            # A test's first consumer group starts at once instead of after 3 s.
            echo "group.initial.rebalance.delay.ms=0"
            if [ -n "$scram" ]; then
                echo "sasl.enabled.mechanisms=SCRAM-SHA-256"
                echo "listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;"
            fi
            if [ -n "$tls" ]; then
                echo "listener.name.ssl.ssl.keystore.type=PEM"
                echo "listener.name.ssl.ssl.keystore.location=$(cd "$(dirname "$tls")" && pwd)/$(basename "$tls")"
                echo "listener.name.ssl.ssl.client.auth=none"
            fi
        } >"$dir/node-$i/server.properties"
    done
    echo "$bootstrap" >"$dir/bootstrap"
    : >"$dir/listeners"
    [ -z "$sasl_servers" ] || echo "SASL_PLAINTEXT $sasl_servers" >>"$dir/listeners"
    [ -z "$ssl_servers" ] || echo "SSL $ssl_servers" >>"$dir/listeners"

    local -a format_args=(format --cluster-id "$cluster_id" --ignore-formatted)
    if [ -n "$scram" ]; then
        format_args+=(--add-scram "SCRAM-SHA-256=[name=${scram%%:*},password=${scram#*:}]")
    fi
    local -a formatting=()
    for i in $(seq 1 "$nodes"); do
        kafka_java kafka.tools.StorageTool "${format_args[@]}" \
            --config "$dir/node-$i/server.properties" >"$dir/node-$i/format.log" 2>&1 &
        formatting+=($!)
    done
    for i in $(seq 1 "$nodes"); do
        wait "${formatting[i - 1]}" || {
            cat "$dir/node-$i/format.log" >&2
            die "formatting node $i's storage failed (above)"
        }
    done

    for i in $(seq 1 "$nodes"); do
        launch_node "$dir" "$i"
    done
    for i in $(seq 1 "$nodes"); do
        wait_node "$dir" "$i" || {
            cmd_stop "$dir" >/dev/null 2>&1 || true
            exit 1
        }
    done
    wait_metadata "$dir" "$nodes" || {
        cmd_stop "$dir" >/dev/null 2>&1 || true
        exit 1
    }
    echo "Apache Kafka $KAFKA_VERSION: $nodes node(s) under $dir (logs: $dir/node-<i>/server.log)"
    [ ! -s "$dir/listeners" ] || sed 's/^/listener /' "$dir/listeners"
    echo "$bootstrap"
}

stop_pid() {
    local pid=$1 signal=$2 deadline
    kill "-$signal" "$pid" 2>/dev/null || return 0
    deadline=$((SECONDS + 30))
    while kill -0 "$pid" 2>/dev/null; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            kill -KILL "$pid" 2>/dev/null || true
        fi
        sleep 0.1
    done
}

cmd_stop() {
    local dir=${1:?stop needs a DIR} pidfile
    local -a stopping=()
    for pidfile in "$dir"/node-*.pid; do
        [ -f "$pidfile" ] || continue
        stop_pid "$(cat "$pidfile")" TERM &
        stopping+=($!)
    done
    for pid in "${stopping[@]}"; do wait "$pid" || true; done
    rm -f "$dir"/node-*.pid
    echo "stopped the Kafka nodes under $dir"
}

cmd_node_stop() {
    local dir=${1:?node-stop needs DIR and I} i=${2:?node-stop needs DIR and I} signal=TERM
    [ "${3:-}" != --kill ] || signal=KILL
    [ -f "$dir/node-$i.pid" ] || die "no node $i running under $dir"
    stop_pid "$(cat "$dir/node-$i.pid")" "$signal"
    rm -f "$dir/node-$i.pid"
}

cmd_node_start() {
    local dir=${1:?node-start needs DIR and I} i=${2:?node-start needs DIR and I}
    [ -f "$dir/node-$i/server.properties" ] || die "no node $i under $dir (start the cluster first)"
    ! node_alive "$dir" "$i" || die "node $i under $dir is running already"
    # The earlier runs' log moves aside, so "started" below is this run's.
    if [ -f "$dir/node-$i/server.log" ]; then
        cat "$dir/node-$i/server.log" >>"$dir/node-$i/server.log.previous"
        rm -f "$dir/node-$i/server.log"
    fi
    launch_node "$dir" "$i"
    wait_node "$dir" "$i" || exit 1
    echo "node $i started"
}

case "${1:-}" in
    start) shift; cmd_start "$@" ;;
    stop) shift; cmd_stop "$@" ;;
    node-stop) shift; cmd_node_stop "$@" ;;
    node-start) shift; cmd_node_start "$@" ;;
    tool) shift; kafka_java "$@" ;;
    -h | --help | help) usage ;;
    "") usage >&2; exit 2 ;;
    *) die "unknown command '$1' (try --help)" ;;
esac
