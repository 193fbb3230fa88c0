#!/usr/bin/env bash
# Runs a ClickHouse cluster on 127.0.0.1 for the tests and by hand: one ZooKeeper and four
# clickhouse-server processes, 2 shards x 2 replicas. ZooKeeper comes from Debian's `zookeeper`
# package (scripts/setup.sh --tests installs it), the servers from `clickhouse-server`.
#
#   scripts/clickhouse-cluster.sh start DIR
#       Starts ZooKeeper and the four servers on free loopback ports with everything under DIR
#       and waits until each server answers, sees ZooKeeper and lists the cluster; writes each
#       process' pid to DIR/zookeeper.pid and DIR/node-<i>.pid (i = 1..4; nodes 1 and 2 are
#       shard 1, nodes 3 and 4 shard 2). The last line of stdout (also DIR/connection) is
#         CLUSTER URL1,URL2,URL3,URL4 ZOOKEEPER
#       e.g. `moose_cluster http://127.0.0.1:P1,...,http://127.0.0.1:P4 127.0.0.1:PZ`.
#   scripts/clickhouse-cluster.sh stop DIR                 stops everything (SIGTERM, then
#                                                          SIGKILL after 30 s)
#   scripts/clickhouse-cluster.sh node-stop DIR I [--kill] stops server I (--kill: SIGKILL)
#   scripts/clickhouse-cluster.sh node-start DIR I         starts server I again with its data
#                                                          and waits until it answers
#   scripts/clickhouse-cluster.sh zookeeper-stop DIR [--kill]
#   scripts/clickhouse-cluster.sh zookeeper-start DIR      ZooKeeper down and up again (same
#                                                          port and data)
#
# Every server has: `macros` shard (1 or 2) and replica (node-<i>); one `remote_servers` cluster
# `moose_cluster` with internal_replication (a Distributed table writes each row to one replica
# of its shard, ReplicatedMergeTree copies it to the other); the `zookeeper` section and
# `distributed_ddl` (for ON CLUSTER DDL). Logs: DIR/zookeeper/zookeeper.log and
# DIR/node-<i>/log/clickhouse-server{,.err}.log; a start that fails prints their lines that
# explain it.
#
# Environment:
#   MOOSE_CLICKHOUSE_BINARY  the server binary (default: clickhouse-server on PATH or /usr/sbin)
set -euo pipefail

CLUSTER=moose_cluster
NODES=4
ZOOKEEPER_JAR=/usr/share/java/zookeeper.jar

usage() { sed -n '2,30p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
die() {
    printf 'clickhouse-cluster.sh: error: %s\n' "$*" >&2
    exit 1
}

clickhouse_binary() {
    if [ -n "${MOOSE_CLICKHOUSE_BINARY:-}" ]; then
        echo "$MOOSE_CLICKHOUSE_BINARY"
    elif command -v clickhouse-server >/dev/null 2>&1; then
        command -v clickhouse-server
    elif [ -x /usr/sbin/clickhouse-server ]; then
        echo /usr/sbin/clickhouse-server
    else
        die "clickhouse-server not found; run scripts/setup.sh (apt-get install clickhouse-server)"
    fi
}

check_zookeeper() {
    [ -f "$ZOOKEEPER_JAR" ] ||
        die "ZooKeeper is not installed ($ZOOKEEPER_JAR is missing); run scripts/setup.sh --tests (apt-get install zookeeper)"
    command -v java >/dev/null 2>&1 || die "java not found; ZooKeeper needs Java (apt-get install openjdk-17-jre-headless)"
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

alive() {
    [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

# An HTTP GET on 127.0.0.1:PORT/PATH; its body, or nothing.
http_get() {
    curl -fsS --max-time 5 "http://127.0.0.1:$1/$2" 2>/dev/null || true
}

# --- ZooKeeper ------------------------------------------------------------------------------

launch_zookeeper() {
    local dir=$1
    (
        cd "$dir/zookeeper"
        exec java -Xmx256m -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
            -Dzookeeper.log.dir="$dir/zookeeper" -Dzookeeper.root.logger=INFO,ROLLINGFILE \
            -Dzookeeper.log.file=zookeeper.log \
            -Dlog4j.configuration="file:$dir/zookeeper/log4j.properties" \
            -Dzookeeper.admin.enableServer=false \
            -cp "$dir/zookeeper:$ZOOKEEPER_JAR" \
            org.apache.zookeeper.server.ZooKeeperServerMain "$dir/zookeeper/zoo.cfg" \
            >>"$dir/zookeeper/stdout.log" 2>&1 </dev/null
    ) &
    echo $! >"$dir/zookeeper.pid"
}

explain_zookeeper() {
    local dir=$1
    printf 'clickhouse-cluster.sh: ZooKeeper failed to start; from %s:\n' "$dir/zookeeper/zookeeper.log" >&2
    if grep -qE 'ERROR|Exception' "$dir/zookeeper/zookeeper.log" 2>/dev/null; then
        grep -E -A3 'ERROR|Exception' "$dir/zookeeper/zookeeper.log" | head -n 40 >&2
    else
        tail -n 30 "$dir/zookeeper/zookeeper.log" >&2 2>/dev/null || true
    fi
    tail -n 20 "$dir/zookeeper/stdout.log" >&2 2>/dev/null || true
}

# Waits until ZooKeeper answers the `srvr` four-letter command.
wait_zookeeper() {
    local dir=$1 port deadline=$((SECONDS + 60))
    port=$(cat "$dir/zookeeper/port")
    until python3 - "$port" <<'EOF' 2>/dev/null; do
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)
s.sendall(b"srvr")
answer = s.recv(4096)
sys.exit(0 if b"Mode:" in answer else 1)
EOF
        if ! alive "$dir/zookeeper.pid" || [ "$SECONDS" -ge "$deadline" ]; then
            explain_zookeeper "$dir"
            return 1
        fi
        sleep 0.2
    done
}

write_zookeeper_config() {
    local dir=$1 port=$2
    mkdir -p "$dir/zookeeper/data"
    echo "$port" >"$dir/zookeeper/port"
    cat >"$dir/zookeeper/zoo.cfg" <<EOF
# Written by scripts/clickhouse-cluster.sh
tickTime=1000
dataDir=$dir/zookeeper/data
clientPortAddress=127.0.0.1
clientPort=$port
maxClientCnxns=0
minSessionTimeout=2000
maxSessionTimeout=30000
4lw.commands.whitelist=srvr,ruok,stat
admin.enableServer=false
EOF
    cat >"$dir/zookeeper/log4j.properties" <<EOF
log4j.rootLogger=INFO, ROLLINGFILE
log4j.appender.ROLLINGFILE=org.apache.log4j.RollingFileAppender
log4j.appender.ROLLINGFILE.File=$dir/zookeeper/zookeeper.log
log4j.appender.ROLLINGFILE.MaxFileSize=10MB
log4j.appender.ROLLINGFILE.MaxBackupIndex=2
log4j.appender.ROLLINGFILE.layout=org.apache.log4j.PatternLayout
log4j.appender.ROLLINGFILE.layout.ConversionPattern=%d{ISO8601} [myid:%X{myid}] - %-5p [%t:%C{1}@%L] - %m%n
EOF
}

# --- ClickHouse nodes ----------------------------------------------------------------------

# node I's ports: "http tcp interserver"
node_ports() { cat "$1/node-$2/ports"; }

write_node_config() {
    local dir=$1 i=$2 zk_port=$3 shard=$(($2 <= 2 ? 1 : 2))
    local ndir="$dir/node-$i" http tcp inter
    read -r http tcp inter <<<"$(node_ports "$dir" "$i")"
    mkdir -p "$ndir/data" "$ndir/tmp" "$ndir/user_files" "$ndir/format_schemas" "$ndir/log"
    local replicas="" s r j
    for s in 1 2; do
        replicas+="            <shard>
                <internal_replication>true</internal_replication>
"
        for r in 1 2; do
            j=$(((s - 1) * 2 + r))
            replicas+="                <replica><host>127.0.0.1</host><port>$(cut -d' ' -f2 "$dir/node-$j/ports")</port></replica>
"
        done
        replicas+="            </shard>
"
    done
    cat >"$ndir/config.xml" <<EOF
<?xml version="1.0"?>
<!-- Written by scripts/clickhouse-cluster.sh: node $i, shard $shard of cluster $CLUSTER. -->
<yandex>
    <logger>
        <level>information</level>
        <log>$ndir/log/clickhouse-server.log</log>
        <errorlog>$ndir/log/clickhouse-server.err.log</errorlog>
        <size>10M</size>
        <count>3</count>
    </logger>
    <listen_host>127.0.0.1</listen_host>
    <http_port>$http</http_port>
    <tcp_port>$tcp</tcp_port>
    <interserver_http_host>127.0.0.1</interserver_http_host>
    <interserver_http_port>$inter</interserver_http_port>
    <path>$ndir/data/</path>
    <tmp_path>$ndir/tmp/</tmp_path>
    <user_files_path>$ndir/user_files/</user_files_path>
    <format_schema_path>$ndir/format_schemas/</format_schema_path>
    <users_config>$dir/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <mark_cache_size>268435456</mark_cache_size>
    <remote_servers>
        <$CLUSTER>
$replicas        </$CLUSTER>
    </remote_servers>
    <zookeeper>
        <node><host>127.0.0.1</host><port>$zk_port</port></node>
        <session_timeout_ms>6000</session_timeout_ms>
        <operation_timeout_ms>3000</operation_timeout_ms>
    </zookeeper>
    <distributed_ddl>
        <path>/clickhouse/task_queue/ddl</path>
    </distributed_ddl>
    <macros>
        <cluster>$CLUSTER</cluster>
        <shard>$shard</shard>
        <replica>node-$i</replica>
    </macros>
</yandex>
EOF
}

write_users() {
    cat >"$1/users.xml" <<'EOF'
<?xml version="1.0"?>
<!-- Written by scripts/clickhouse-cluster.sh -->
<yandex>
    <profiles>
        <default>
            <!-- ON CLUSTER DDL waits at most this long for every node. -->
            <distributed_ddl_task_timeout>60</distributed_ddl_task_timeout>
        </default>
    </profiles>
    <users>
        <default>
            <password></password>
            <networks>
                <ip>127.0.0.1</ip>
                <ip>::1</ip>
            </networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas>
        <default></default>
    </quotas>
</yandex>
EOF
}

launch_node() {
    local dir=$1 i=$2 binary
    binary=$(clickhouse_binary)
    (
        cd "$dir/node-$i"
        exec "$binary" --config-file="$dir/node-$i/config.xml" \
            >>"$dir/node-$i/log/stdout.log" 2>&1 </dev/null
    ) &
    echo $! >"$dir/node-$i.pid"
}

explain_node() {
    local dir=$1 i=$2 log="$1/node-$2/log/clickhouse-server.err.log"
    printf 'clickhouse-cluster.sh: node %s failed to start; from %s:\n' "$i" "$log" >&2
    if [ -s "$log" ]; then
        tail -n 30 "$log" >&2
    else
        tail -n 30 "$dir/node-$i/log/clickhouse-server.log" >&2 2>/dev/null || true
    fi
    if [ -s "$dir/node-$i/log/stdout.log" ]; then
        printf 'clickhouse-cluster.sh: its stdout/stderr:\n' >&2
        tail -n 20 "$dir/node-$i/log/stdout.log" >&2
    elif [ ! -s "$log" ] && [ ! -s "$dir/node-$i/log/clickhouse-server.log" ]; then
        printf 'clickhouse-cluster.sh: it wrote no log and no output; run %s --config-file=%s by hand to see why\n' \
            "$(clickhouse_binary)" "$dir/node-$i/config.xml" >&2
    fi
}

# Waits until node I answers /ping, then until it reads ZooKeeper and lists the cluster.
wait_node() {
    local dir=$1 i=$2 deadline=$((SECONDS + 60)) http answer
    read -r http _ <<<"$(node_ports "$dir" "$i")"
    until [ "$(http_get "$http" ping)" = "Ok." ]; do
        if ! alive "$dir/node-$i.pid" || [ "$SECONDS" -ge "$deadline" ]; then
            explain_node "$dir" "$i"
            return 1
        fi
        sleep 0.1
    done
    local query="SELECT%20count()%20FROM%20system.clusters%20WHERE%20cluster%3D'$CLUSTER'"
    until [ "$(http_get "$http" "?query=$query")" = "$NODES" ] &&
        [ -n "$(http_get "$http" "?query=SELECT%20name%20FROM%20system.zookeeper%20WHERE%20path%3D'/'")" ]; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            printf 'clickhouse-cluster.sh: node %s answers but does not see ZooKeeper or the cluster after 60 s\n' "$i" >&2
            explain_node "$dir" "$i"
            return 1
        fi
        sleep 0.2
    done
}

cmd_start() {
    local dir=${1:?start needs a DIR (try --help)}
    [ $# -eq 1 ] || die "start takes one DIR only"
    check_zookeeper
    clickhouse_binary >/dev/null
    command -v curl >/dev/null 2>&1 || die "curl not found (apt-get install curl)"
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    local i
    for pidfile in "$dir/zookeeper.pid" "$dir"/node-*.pid; do
        ! alive "$pidfile" || die "$pidfile names a running process ($(cat "$pidfile")); run stop $dir first"
    done
    rm -rf "$dir"/node-* "$dir/zookeeper" "$dir/connection" "$dir/users.xml"

    local -a ports
    read -r -a ports <<<"$(free_ports $((NODES * 3 + 1)))"
    write_zookeeper_config "$dir" "${ports[0]}"
    for i in $(seq 1 "$NODES"); do
        mkdir -p "$dir/node-$i"
        echo "${ports[(i - 1) * 3 + 1]} ${ports[(i - 1) * 3 + 2]} ${ports[(i - 1) * 3 + 3]}" >"$dir/node-$i/ports"
    done
    write_users "$dir"
    for i in $(seq 1 "$NODES"); do
        write_node_config "$dir" "$i" "${ports[0]}"
    done

    launch_zookeeper "$dir"
    wait_zookeeper "$dir" || {
        cmd_stop "$dir" >/dev/null 2>&1 || true
        exit 1
    }
    for i in $(seq 1 "$NODES"); do
        launch_node "$dir" "$i"
    done
    for i in $(seq 1 "$NODES"); do
        wait_node "$dir" "$i" || {
            cmd_stop "$dir" >/dev/null 2>&1 || true
            exit 1
        }
    done
    local urls="" http
    for i in $(seq 1 "$NODES"); do
        read -r http _ <<<"$(node_ports "$dir" "$i")"
        urls+="${urls:+,}http://127.0.0.1:$http"
    done
    echo "$CLUSTER $urls 127.0.0.1:${ports[0]}" >"$dir/connection"
    echo "ClickHouse cluster $CLUSTER: 2 shards x 2 replicas (nodes 1-2: shard 1, 3-4: shard 2), ZooKeeper 127.0.0.1:${ports[0]}, under $dir"
    cat "$dir/connection"
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
    local dir=${1:?stop needs a DIR} pidfile pid
    local -a stopping=()
    for pidfile in "$dir"/node-*.pid; do
        [ -f "$pidfile" ] || continue
        stop_pid "$(cat "$pidfile")" TERM &
        stopping+=($!)
    done
    for pid in "${stopping[@]}"; do wait "$pid" || true; done
    rm -f "$dir"/node-*.pid
    if [ -f "$dir/zookeeper.pid" ]; then
        stop_pid "$(cat "$dir/zookeeper.pid")" TERM
        rm -f "$dir/zookeeper.pid"
    fi
    echo "stopped the ClickHouse cluster under $dir"
}

signal_of() { if [ "${1:-}" = --kill ]; then echo KILL; else echo TERM; fi; }

cmd_node_stop() {
    local dir=${1:?node-stop needs DIR and I} i=${2:?node-stop needs DIR and I}
    [ -f "$dir/node-$i.pid" ] || die "no node $i running under $dir"
    stop_pid "$(cat "$dir/node-$i.pid")" "$(signal_of "${3:-}")"
    rm -f "$dir/node-$i.pid"
}

cmd_node_start() {
    local dir=${1:?node-start needs DIR and I} i=${2:?node-start needs DIR and I}
    [ -f "$dir/node-$i/config.xml" ] || die "no node $i under $dir (start the cluster first)"
    ! alive "$dir/node-$i.pid" || die "node $i under $dir is running already"
    launch_node "$dir" "$i"
    wait_node "$dir" "$i" || exit 1
    echo "node $i started"
}

cmd_zookeeper_stop() {
    local dir=${1:?zookeeper-stop needs DIR}
    [ -f "$dir/zookeeper.pid" ] || die "ZooKeeper is not running under $dir"
    stop_pid "$(cat "$dir/zookeeper.pid")" "$(signal_of "${2:-}")"
    rm -f "$dir/zookeeper.pid"
}

cmd_zookeeper_start() {
    local dir=${1:?zookeeper-start needs DIR}
    [ -f "$dir/zookeeper/zoo.cfg" ] || die "no ZooKeeper under $dir (start the cluster first)"
    ! alive "$dir/zookeeper.pid" || die "ZooKeeper under $dir is running already"
    check_zookeeper
    launch_zookeeper "$dir"
    wait_zookeeper "$dir" || exit 1
    echo "ZooKeeper started"
}

case "${1:-}" in
    start) shift; cmd_start "$@" ;;
    stop) shift; cmd_stop "$@" ;;
    node-stop) shift; cmd_node_stop "$@" ;;
    node-start) shift; cmd_node_start "$@" ;;
    zookeeper-stop) shift; cmd_zookeeper_stop "$@" ;;
    zookeeper-start) shift; cmd_zookeeper_start "$@" ;;
    -h | --help | help) usage ;;
    "") usage >&2; exit 2 ;;
    *) die "unknown command '$1' (try --help)" ;;
esac
