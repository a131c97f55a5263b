#!/usr/bin/env bash
# Local development/test stack for Tributary, without Docker:
#
#   kafka       Apache Kafka (KRaft, broker+controller)  127.0.0.1:19092 (controller 19093)
#   registry    Apicurio Registry, ccompat API            127.0.0.1:18081  (storage: the stack's PostgreSQL)
#   mariadb     MariaDB with row binlog + GTIDs          127.0.0.1:13306
#   postgres    PostgreSQL 15 with wal_level=logical     127.0.0.1:15432
#   clickhouse  ClickHouse (HTTP 18123, native 19000)    127.0.0.1:18123
#
# Usage: stack.sh up | down [--purge] | clean | status
#
# All state (data, logs, pid files, generated configs) lives under <repo>/.stack/. The JVM parts
# (Kafka jars, Apicurio distribution) are resolved from Maven Central through deploy/local/pom.xml
# once into ${TRIBUTARY_CACHE:-$HOME/.cache/tributary}, shared by every clone on the machine.
# Processes are started detached (setsid) so they outlive this script; `down` stops them.
#
# Environment knobs: TRIBUTARY_CACHE (jar cache), TRIBUTARY_STACK_TIMEOUT (seconds to wait for a
# component to become ready, default 180), TRIBUTARY_STOP_TIMEOUT (graceful stop, default 30).
set -euo pipefail

# Directories we create must stay traversable by the postgres user (see start_postgres).
umask 022

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)
STACK_DIR="$REPO_ROOT/.stack"
POM="$SCRIPT_DIR/pom.xml"
CACHE_DIR="${TRIBUTARY_CACHE:-$HOME/.cache/tributary}"

# The pom is the single source of truth for the JVM component versions.
pom_property() { sed -n "s:.*<$1>\(.*\)</$1>.*:\1:p" "$POM" | head -n1; }
KAFKA_VERSION=$(pom_property kafka.version)
APICURIO_VERSION=$(pom_property apicurio.version)
KAFKA_LIBS="$CACHE_DIR/kafka-$KAFKA_VERSION/libs"
APICURIO_HOME="$CACHE_DIR/apicurio-registry-$APICURIO_VERSION"

HOST=127.0.0.1
KAFKA_PORT=19092
KAFKA_CONTROLLER_PORT=19093
REGISTRY_PORT=18081
MARIADB_PORT=13306
POSTGRES_PORT=15432
CLICKHOUSE_HTTP_PORT=18123
CLICKHOUSE_TCP_PORT=19000
CLICKHOUSE_INTERSERVER_PORT=19009

PG_BIN=/usr/lib/postgresql/15/bin
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"

START_TIMEOUT="${TRIBUTARY_STACK_TIMEOUT:-180}"
STOP_TIMEOUT="${TRIBUTARY_STOP_TIMEOUT:-30}"
POLL_INTERVAL=0.3

# The order `status` and the `up` summary list them in.
COMPONENTS=(kafka registry mariadb postgres clickhouse)

# ----------------------------------------------------------------------------------------------
# Generic helpers
# ----------------------------------------------------------------------------------------------

log() { printf '[stack] %s\n' "$*"; }
clog() { local c=$1; shift; printf '[stack] %-10s %s\n' "$c" "$*"; }
die() { printf '[stack] ERROR: %s\n' "$*" >&2; exit 1; }
is_root() { [[ $EUID -eq 0 ]]; }
now() { date +%s.%N; }
elapsed_since() { awk -v s="$1" -v e="$(now)" 'BEGIN { printf "%.1f", e - s }'; }

# wait_until TIMEOUT PID CMD...: poll CMD every POLL_INTERVAL until it succeeds (0) or TIMEOUT
# seconds pass (1). PID ("-" for none) is the process being waited for: if it dies there is
# nothing left to wait for, so we give up at once (2) instead of running into the deadline.
wait_until() {
  local timeout=$1 pid=$2; shift 2
  local deadline=$((SECONDS + timeout))
  while true; do
    if "$@" >/dev/null 2>&1; then return 0; fi
    if [[ $pid != - ]] && ! pid_alive "$pid"; then return 2; fi
    if ((SECONDS >= deadline)); then return 1; fi
    sleep "$POLL_INTERVAL"
  done
}

pid_alive() { [[ -n ${1:-} ]] && kill -0 "$1" 2>/dev/null; }
pid_gone() { ! pid_alive "$1"; }

# A pid from a pid file only counts as ours if that process was started for THIS .stack
# (its command line names a path inside it): pids get reused, and another clone's stack or the
# machine's own PostgreSQL/MariaDB must never be mistaken for ours.
pid_is_ours() {
  local pid=${1:-}
  pid_alive "$pid" && tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF -- "$STACK_DIR/"
}

# Pid of a component's main process if it is running, empty otherwise.
running_pid() {
  local pid
  pid=$(pid_of "$1")
  if pid_is_ours "$pid"; then echo "$pid"; fi
}

# Does something accept TCP connections on HOST:PORT? bash's /dev/tcp needs no extra tool.
port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/$HOST/$1" 2>/dev/null; }

# Which process listens on a port (best effort, for error messages; ss may be absent).
port_owner() {
  command -v ss >/dev/null 2>&1 || { echo "unknown process"; return; }
  ss -Hltnp "sport = :$1" 2>/dev/null | sed -n 's/.*users:((\(.*\))).*/\1/p' | head -n1
}

# stop_pid NAME PID [SIGNAL]: ask politely (SIGTERM, or the component's preferred signal), wait
# up to STOP_TIMEOUT, then SIGKILL and wait for the process to be gone. Direct children (the
# PostgreSQL backends) are noted first and killed too if they outlive a SIGKILLed parent.
stop_pid() {
  local name=$1 pid=$2 sig=${3:-TERM} children child comm
  pid_alive "$pid" || return 0
  children=$(ps -o pid=,comm= --ppid "$pid" 2>/dev/null | awk '{ print $1 ":" $2 }' || true)
  kill "-$sig" "$pid" 2>/dev/null || true
  if ! wait_until "$STOP_TIMEOUT" - pid_gone "$pid"; then
    clog "$name" "did not stop within ${STOP_TIMEOUT}s after SIG$sig: sending SIGKILL to pid $pid"
    kill -KILL "$pid" 2>/dev/null || true
    wait_until 10 - pid_gone "$pid" || clog "$name" "pid $pid survived SIGKILL"
  fi
  for child in $children; do
    # Same pid AND same program name: never kill a pid that was meanwhile reused.
    comm=$(ps -o comm= -p "${child%%:*}" 2>/dev/null || true)
    if [[ -n $comm && $comm == "${child#*:}" ]]; then
      clog "$name" "killing leftover child process ${child%%:*} ($comm)"
      kill -KILL "${child%%:*}" 2>/dev/null || true
    fi
  done
}

# Print the end of a component's log (used whenever a start fails).
show_log_tail() {
  local name=$1; shift
  local f
  for f in "$@"; do
    [[ -s $f ]] || continue
    printf '[stack] %-10s ---- last lines of %s ----\n' "$name" "$f" >&2
    tail -n 40 "$f" | cut -c1-400 | sed 's/^/    /' >&2
  done
}

# start_failed NAME WAIT_RC LOGS...: explain why waiting ended, show the logs, fail.
start_failed() {
  local name=$1 rc=$2; shift 2
  if ((rc == 2)); then
    clog "$name" "process exited during startup" >&2
  else
    clog "$name" "not ready after ${START_TIMEOUT}s" >&2
  fi
  show_log_tail "$name" "$@"
  return 1
}

# Unix sockets have a ~107 byte path limit; a deeply nested clone would overflow it. Use the
# socket folder under .stack when it fits, else a short per-clone folder under /tmp.
socket_dir() {
  local comp=$1 dir="$STACK_DIR/$1/run"
  if ((${#dir} > 80)); then
    dir="/tmp/tributary-$(printf '%s' "$STACK_DIR" | cksum | cut -d' ' -f1)/$comp"
  fi
  echo "$dir"
}

# Before starting a component: refuse if a foreign process already holds one of its ports
# (another clone's stack, a leftover server): we would only fail later with a worse message.
ensure_ports_free() {
  local name=$1 port; shift
  for port in "$@"; do
    if port_open "$port"; then
      clog "$name" "port $HOST:$port is already taken by $(port_owner "$port") (not this stack's $name)" >&2
      return 1
    fi
  done
}

# Record the current size of a log file, so readiness checks only look at what this start wrote.
log_offset() { if [[ -f $1 ]]; then stat -c %s "$1"; else echo 0; fi; }
# log_since_has FILE OFFSET TEXT. A file now smaller than OFFSET was rotated: search all of it.
log_since_has() {
  [[ -f $1 ]] || return 1
  local from=$2
  (($(stat -c %s "$1") < from)) && from=0
  tail -c "+$((from + 1))" "$1" | grep -qF -- "$3"
}

# ----------------------------------------------------------------------------------------------
# Prerequisites: Debian packages and the JVM artifacts
# ----------------------------------------------------------------------------------------------

# Install whatever Debian package is missing (fresh machines), once, non-interactively.
ensure_packages() {
  local missing=()
  [[ -x /usr/sbin/mariadbd ]] || missing+=(mariadb-server)
  command -v mariadb-tzinfo-to-sql >/dev/null 2>&1 || missing+=(mariadb-client)
  [[ -x $PG_BIN/postgres ]] || missing+=(postgresql-15)
  command -v clickhouse-server >/dev/null 2>&1 || missing+=(clickhouse-server)
  command -v clickhouse-client >/dev/null 2>&1 || missing+=(clickhouse-client)
  command -v "$JAVA" >/dev/null 2>&1 || missing+=(openjdk-17-jre-headless)
  command -v mvn >/dev/null 2>&1 || missing+=(maven)
  command -v curl >/dev/null 2>&1 || missing+=(curl)
  command -v ps >/dev/null 2>&1 || missing+=(procps)
  [[ -d /usr/share/zoneinfo/Europe ]] || missing+=(tzdata) # MariaDB's time zone tables
  ((${#missing[@]} == 0)) && return 0
  is_root || die "missing Debian packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})"
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq </dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
}

# Debian's Maven prints bare ANSI reset codes even with -q -B: strip them from its output.
mvn_quiet() { mvn -q -B -Dstyle.color=never -f "$POM" "$@" </dev/null 2>&1 | sed 's/\x1b\[[0-9;]*m//g'; }

# Kafka broker jars: one `mvn dependency:copy-dependencies`, then a marker file. A folder
# without the marker is an interrupted download and is redone. flock: clones share the cache.
ensure_kafka_jars() {
  local dir="$CACHE_DIR/kafka-$KAFKA_VERSION"
  [[ -f $dir/.complete ]] && return 0
  mkdir -p "$CACHE_DIR"
  (
    flock 9
    [[ -f $dir/.complete ]] && exit 0
    local t0; t0=$(now)
    log "resolving Kafka $KAFKA_VERSION jars from Maven Central into $dir (one time)"
    rm -rf "$dir"
    mvn_quiet dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$KAFKA_LIBS" ||
      die "could not resolve the Kafka jars with Maven (see its output above)"
    touch "$dir/.complete"
    log "Kafka jars ready ($(elapsed_since "$t0")s)"
  ) 9>"$CACHE_DIR/.lock"
}

# Apicurio Registry "all" distribution (legacy-jar layout: a runner jar plus lib/), unpacked once.
ensure_apicurio() {
  [[ -f $APICURIO_HOME/.complete ]] && return 0
  mkdir -p "$CACHE_DIR"
  (
    flock 9
    [[ -f $APICURIO_HOME/.complete ]] && exit 0
    local t0 tgz tmp; t0=$(now)
    tgz="$CACHE_DIR/apicurio-registry-app-$APICURIO_VERSION-all.tar.gz"
    log "resolving Apicurio Registry $APICURIO_VERSION from Maven Central into $APICURIO_HOME (one time)"
    mvn_quiet dependency:copy -Dartifact="io.apicurio:apicurio-registry-app:$APICURIO_VERSION:tar.gz:all" \
      -DoutputDirectory="$CACHE_DIR" || die "could not resolve Apicurio Registry with Maven (see its output above)"
    tmp=$(mktemp -d "$CACHE_DIR/.apicurio.XXXXXX")
    tar -xzf "$tgz" -C "$tmp"
    [[ -f $tmp/apicurio-registry-app-$APICURIO_VERSION-runner.jar ]] ||
      die "unexpected layout in $tgz (no apicurio-registry-app-$APICURIO_VERSION-runner.jar)"
    rm -rf "$APICURIO_HOME"
    mv "$tmp" "$APICURIO_HOME"
    rm -f "$tgz" # the unpacked copy is what we use; Maven keeps its own copy in ~/.m2
    touch "$APICURIO_HOME/.complete"
    log "Apicurio Registry ready ($(elapsed_since "$t0")s)"
  ) 9>"$CACHE_DIR/.lock"
}

# ----------------------------------------------------------------------------------------------
# Kafka
# ----------------------------------------------------------------------------------------------

KAFKA_DIR="$STACK_DIR/kafka"

kafka_java() {
  timeout 60 "$JAVA" -Xms32m -Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
    -Dlog4j.configuration="file:$KAFKA_DIR/tools-log4j.properties" -cp "$KAFKA_LIBS/*" "$@"
}

# Real metadata round-trip with Kafka's own admin tool (what kafka-topics.sh runs).
kafka_metadata_ok() {
  kafka_java org.apache.kafka.tools.TopicCommand --bootstrap-server "$HOST:$KAFKA_PORT" --list >/dev/null
}

# On a new cluster, __consumer_offsets and __transaction_state are only created when the first
# client looks for a group / transaction coordinator, and the first test then gets "coordinator
# not available / loading" retries. Asking for each coordinator once creates them now. Both
# lookups are for ids that do not exist, so the tools exit non-zero: that is expected.
kafka_create_internal_topics() {
  [[ -d $KAFKA_DIR/data/__consumer_offsets-0 && -d $KAFKA_DIR/data/__transaction_state-0 ]] && return 0
  local bs="$HOST:$KAFKA_PORT" log="$KAFKA_DIR/logs/warmup.log" groups txns
  kafka_java org.apache.kafka.tools.consumer.group.ConsumerGroupCommand --bootstrap-server "$bs" \
    --describe --group _tributary-stack-warmup >>"$log" 2>&1 &
  groups=$!
  kafka_java org.apache.kafka.tools.TransactionsCommand --bootstrap-server "$bs" \
    describe --transactional-id _tributary-stack-warmup >>"$log" 2>&1 &
  txns=$!
  # Wait for these two only: a bare `wait` would also wait for the broker, our child too.
  wait "$groups" "$txns" || true
}

write_kafka_config() {
  cat >"$KAFKA_DIR/server.properties" <<EOF
# Generated by deploy/local/stack.sh on every start: edit the script, not this file.
node.id=1
process.roles=broker,controller
controller.quorum.voters=1@$HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$KAFKA_PORT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
log.dirs=$KAFKA_DIR/data
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
# One partition each for the internal topics instead of 50: a single node gains nothing from
# more, and each partition costs files, memory and time when the topic is created.
offsets.topic.num.partitions=1
transaction.state.log.num.partitions=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
delete.topic.enable=true
EOF
  # log4j 1 (reload4j is on the classpath through slf4j-reload4j in the pom).
  cat >"$KAFKA_DIR/log4j.properties" <<EOF
log4j.rootLogger=INFO, server
log4j.appender.server=org.apache.log4j.RollingFileAppender
log4j.appender.server.File=$KAFKA_DIR/logs/server.log
log4j.appender.server.MaxFileSize=20MB
log4j.appender.server.MaxBackupIndex=3
log4j.appender.server.layout=org.apache.log4j.PatternLayout
log4j.appender.server.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.org.apache.kafka.clients=WARN
EOF
  # The admin tool used for readiness only reports errors.
  cat >"$KAFKA_DIR/tools-log4j.properties" <<EOF
log4j.rootLogger=ERROR, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.Target=System.err
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=%p %m (%c)%n
EOF
}

pid_of_kafka() { cat "$KAFKA_DIR/kafka.pid" 2>/dev/null || true; }
healthy_kafka() { port_open "$KAFKA_PORT" && port_open "$KAFKA_CONTROLLER_PORT"; }
# During a start: the port answers and the broker logged, since this start, that it is up.
KAFKA_LOG_OFFSET=0
kafka_started() {
  port_open "$KAFKA_PORT" && log_since_has "$KAFKA_DIR/logs/server.log" "$KAFKA_LOG_OFFSET" 'Kafka Server started'
}

start_kafka() {
  mkdir -p "$KAFKA_DIR/data" "$KAFKA_DIR/logs"
  ensure_ports_free kafka "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT" || return 1
  write_kafka_config
  # KRaft storage is formatted once; the cluster id is kept next to it.
  if [[ ! -f $KAFKA_DIR/data/meta.properties ]]; then
    [[ -s $KAFKA_DIR/cluster.id ]] ||
      head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n' >"$KAFKA_DIR/cluster.id"
    clog kafka "formatting KRaft storage (cluster id $(cat "$KAFKA_DIR/cluster.id"))"
    kafka_java kafka.tools.StorageTool format --ignore-formatted \
      -t "$(cat "$KAFKA_DIR/cluster.id")" -c "$KAFKA_DIR/server.properties" \
      >"$KAFKA_DIR/logs/format.log" 2>&1 || { show_log_tail kafka "$KAFKA_DIR/logs/format.log"; return 1; }
  fi
  local pid rc=0
  KAFKA_LOG_OFFSET=$(log_offset "$KAFKA_DIR/logs/server.log")
  setsid nohup "$JAVA" -Xms256m -Xmx512m -XX:+UseSerialGC -XX:+ExitOnOutOfMemoryError \
    -Djava.awt.headless=true -Dkafka.logs.dir="$KAFKA_DIR/logs" \
    -Dlog4j.configuration="file:$KAFKA_DIR/log4j.properties" \
    -cp "$KAFKA_LIBS/*" kafka.Kafka "$KAFKA_DIR/server.properties" \
    </dev/null >>"$KAFKA_DIR/logs/stdout.log" 2>&1 &
  pid=$!
  echo "$pid" >"$KAFKA_DIR/kafka.pid"
  wait_until "$START_TIMEOUT" "$pid" kafka_started || rc=$?
  # The broker says it started: prove it with a metadata request from a real client.
  ((rc == 0)) && { kafka_metadata_ok || rc=1; }
  ((rc == 0)) && kafka_create_internal_topics
  ((rc == 0)) || { start_failed kafka "$rc" "$KAFKA_DIR/logs/server.log" "$KAFKA_DIR/logs/stdout.log"; return 1; }
}

stop_kafka() { stop_pid kafka "$(running_pid kafka)"; }

# ----------------------------------------------------------------------------------------------
# Apicurio Registry (Confluent-compatible API at /apis/ccompat/v7)
# ----------------------------------------------------------------------------------------------
# Storage: SQL on the stack's PostgreSQL (database "registry"). Schema ids end up in Kafka
# messages, so the registry must survive a restart; PostgreSQL keeps it durably, and unlike the
# kafkasql journal it does not depend on topic retention or on tests that clean up topics.

REGISTRY_DIR="$STACK_DIR/registry"
REGISTRY_PROBE="http://$HOST:$REGISTRY_PORT/apis/ccompat/v7/subjects"

pid_of_registry() { cat "$REGISTRY_DIR/registry.pid" 2>/dev/null || true; }
healthy_registry() { [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$REGISTRY_PROBE") == 200 ]]; }

start_registry() {
  mkdir -p "$REGISTRY_DIR/tmp"
  ensure_ports_free registry "$REGISTRY_PORT" || return 1
  local pid rc=0
  # Quarkus reads -D system properties; the pool is kept small (the defaults hold 20 connections).
  # The working directory is the registry folder so nothing lands in the repo or in /tmp.
  (
    cd "$REGISTRY_DIR"
    exec setsid nohup "$JAVA" -Xms64m -Xmx384m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
      -XX:+ExitOnOutOfMemoryError -Djava.io.tmpdir="$REGISTRY_DIR/tmp" \
      -Dquarkus.http.host=$HOST -Dquarkus.http.port=$REGISTRY_PORT \
      -Dquarkus.http.access-log.enabled=false \
      -Dquarkus.log.console.format='%d{yyyy-MM-dd HH:mm:ss,SSS} %p [%c{2.}] (%t) %m%n' \
      -Dapicurio.storage.kind=sql -Dapicurio.storage.sql.kind=postgresql \
      -Dapicurio.datasource.url="jdbc:postgresql://$HOST:$POSTGRES_PORT/registry" \
      -Dapicurio.datasource.username=tributary -Dapicurio.datasource.password=tributary \
      -Dapicurio.datasource.jdbc.initial-size=2 -Dapicurio.datasource.jdbc.min-size=2 \
      -Dapicurio.datasource.jdbc.max-size=10 \
      -Dapicurio.rest.deletion.group.enabled=true -Dapicurio.rest.deletion.artifact.enabled=true \
      -Dapicurio.rest.deletion.artifact-version.enabled=true \
      -Dapicurio.import.work-dir="$REGISTRY_DIR/tmp" -Dapicurio.storage.snapshot.location="$REGISTRY_DIR/tmp" \
      -jar "$APICURIO_HOME/apicurio-registry-app-$APICURIO_VERSION-runner.jar" \
      </dev/null >>"$REGISTRY_DIR/registry.log" 2>&1
  ) &
  pid=$!
  echo "$pid" >"$REGISTRY_DIR/registry.pid"
  wait_until "$START_TIMEOUT" "$pid" healthy_registry || rc=$?
  ((rc == 0)) || { start_failed registry "$rc" "$REGISTRY_DIR/registry.log"; return 1; }
}

stop_registry() { stop_pid registry "$(running_pid registry)"; }

# ----------------------------------------------------------------------------------------------
# MariaDB
# ----------------------------------------------------------------------------------------------

MARIADB_DIR="$STACK_DIR/mariadb"
MARIADB_SOCK="$(socket_dir mariadb)/mariadb.sock"

# Client over the unix socket as the OS user (unix_socket auth account made by mariadb-install-db).
mariadb_local() { mariadb --no-defaults --socket="$MARIADB_SOCK" -u "$(id -un)" "$@"; }

write_mariadb_config() {
  cat >"$MARIADB_DIR/my.cnf" <<EOF
# Generated by deploy/local/stack.sh on every start: edit the script, not this file.
[mariadbd]
datadir=$MARIADB_DIR/data
tmpdir=$MARIADB_DIR/tmp
socket=$MARIADB_SOCK
pid-file=$MARIADB_DIR/mariadb.pid
log-error=$MARIADB_DIR/mariadb.log
port=$MARIADB_PORT
bind-address=$HOST
skip-name-resolve
# CDC needs full row images in a ROW binlog, with GTIDs and column metadata.
server_id=1
log_bin=$MARIADB_DIR/binlog/mariadb-bin
binlog_format=ROW
binlog_row_image=FULL
binlog_row_metadata=FULL
gtid_domain_id=0
gtid_strict_mode=ON
log_slave_updates=ON
sync_binlog=1
innodb_flush_log_at_trx_commit=1
binlog_expire_logs_seconds=259200
character-set-server=utf8mb4
collation-server=utf8mb4_unicode_ci
explicit_defaults_for_timestamp=ON
max_allowed_packet=256M
innodb_buffer_pool_size=256M
# Not needed locally; saves ~100 MB of RSS.
performance_schema=OFF
EOF
}

pid_of_mariadb() { cat "$MARIADB_DIR/mariadb.pid" 2>/dev/null || true; }
healthy_mariadb() {
  mariadb-admin --no-defaults --protocol=tcp -h "$HOST" -P "$MARIADB_PORT" -u tributary -ptributary \
    --connect-timeout=2 ping >/dev/null 2>&1
}
# Before the tributary user exists only the socket account can answer.
mariadb_socket_ping() { mariadb-admin --no-defaults --socket="$MARIADB_SOCK" -u "$(id -un)" --connect-timeout=2 ping; }

start_mariadb() {
  mkdir -p "$MARIADB_DIR/data" "$MARIADB_DIR/tmp" "$MARIADB_DIR/binlog" "$(dirname "$MARIADB_SOCK")"
  ensure_ports_free mariadb "$MARIADB_PORT" || return 1
  write_mariadb_config
  # mariadbd refuses to run as root unless told to; as any other user it runs as that user.
  local user_opt=()
  is_root && user_opt=(--user=root)
  if [[ ! -d $MARIADB_DIR/data/mysql ]]; then
    clog mariadb "initialising data directory"
    # The unix_socket account is the OS user running this script, so bootstrap works for anyone.
    mariadb-install-db --no-defaults --datadir="$MARIADB_DIR/data" "${user_opt[@]}" \
      --auth-root-authentication-method=socket --auth-root-socket-user="$(id -un)" \
      --skip-test-db --skip-name-resolve >"$MARIADB_DIR/install-db.log" 2>&1 ||
      { show_log_tail mariadb "$MARIADB_DIR/install-db.log"; return 1; }
    rm -f "$MARIADB_DIR/.bootstrapped"
  fi
  local pid rc=0
  setsid nohup /usr/sbin/mariadbd --defaults-file="$MARIADB_DIR/my.cnf" "${user_opt[@]}" \
    </dev/null >>"$MARIADB_DIR/stdout.log" 2>&1 &
  pid=$!
  wait_until "$START_TIMEOUT" "$pid" mariadb_socket_ping || rc=$?
  ((rc == 0)) || { start_failed mariadb "$rc" "$MARIADB_DIR/mariadb.log" "$MARIADB_DIR/stdout.log"; return 1; }
  # mariadbd writes its own pid file, but only once it is up; ours is the same pid anyway.
  echo "$pid" >"$MARIADB_DIR/mariadb.pid"
  if [[ ! -f $MARIADB_DIR/.bootstrapped ]]; then
    clog mariadb "creating user tributary, loading time zone tables"
    # sql_log_bin=0 / --skip-write-binlog: setup is not data; keep it out of the binlog that
    # CDC tests read.
    mariadb_local <<'SQL' || { clog mariadb "creating user tributary failed" >&2; return 1; }
SET SESSION sql_log_bin = 0;
CREATE USER IF NOT EXISTS 'tributary'@'%' IDENTIFIED BY 'tributary';
CREATE USER IF NOT EXISTS 'tributary'@'localhost' IDENTIFIED BY 'tributary';
GRANT ALL PRIVILEGES ON *.* TO 'tributary'@'%' WITH GRANT OPTION;
GRANT ALL PRIVILEGES ON *.* TO 'tributary'@'localhost' WITH GRANT OPTION;
FLUSH PRIVILEGES;
SQL
    mariadb-tzinfo-to-sql --skip-write-binlog /usr/share/zoneinfo 2>/dev/null | mariadb_local mysql ||
      { clog mariadb "loading time zone tables failed" >&2; return 1; }
    touch "$MARIADB_DIR/.bootstrapped"
  fi
  wait_until "$START_TIMEOUT" "$pid" healthy_mariadb || rc=$?
  ((rc == 0)) || { start_failed mariadb "$rc" "$MARIADB_DIR/mariadb.log"; return 1; }
}

stop_mariadb() { stop_pid mariadb "$(running_pid mariadb)"; }

# ----------------------------------------------------------------------------------------------
# PostgreSQL 15
# ----------------------------------------------------------------------------------------------
# initdb and postgres refuse to run as root: as root, the cluster belongs to the postgres
# system user. setpriv (not runuser) for the server, because runuser stays around as the
# parent, and we want the pid we record to be the postmaster itself.

POSTGRES_DIR="$STACK_DIR/postgres"
POSTGRES_SOCK_DIR="$(socket_dir postgres)"

as_pg_owner() {
  if is_root; then runuser -u postgres -- "$@"; else "$@"; fi
}

# As root, make sure the postgres user can reach .stack/postgres: every ancestor needs o+x.
ensure_pg_traversable() {
  is_root || return 0
  local d
  for d in "$POSTGRES_DIR" "$(dirname "$POSTGRES_SOCK_DIR")"; do
    while [[ $d != / ]]; do
      if ! runuser -u postgres -- test -x "$d" 2>/dev/null; then
        clog postgres "granting o+x on $d so the postgres user can reach its cluster"
        chmod o+x "$d"
      fi
      d=$(dirname "$d")
    done
  done
}

write_postgres_config() {
  cat >"$POSTGRES_DIR/data/postgresql.conf" <<EOF
# Generated by deploy/local/stack.sh on every start: edit the script, not this file.
listen_addresses = '$HOST'
port = $POSTGRES_PORT
unix_socket_directories = '$POSTGRES_SOCK_DIR'
max_connections = 200
shared_buffers = 128MB
fsync = on
# Logical decoding for CDC.
wal_level = logical
max_replication_slots = 20
max_wal_senders = 20
# Tests leave replication slots behind; cap the WAL they can pin instead of filling the disk.
max_slot_wal_keep_size = 2GB
password_encryption = scram-sha-256
timezone = 'UTC'
log_timezone = 'UTC'
log_line_prefix = '%m [%p] %q%u@%d '
EOF
  cat >"$POSTGRES_DIR/data/pg_hba.conf" <<EOF
# Generated by deploy/local/stack.sh. Socket: trusted (only this stack's scripts use it).
local   all           all                    trust
local   replication   all                    trust
host    all           all      127.0.0.1/32  scram-sha-256
host    replication   all      127.0.0.1/32  scram-sha-256
EOF
  if is_root; then chown postgres:postgres "$POSTGRES_DIR/data/postgresql.conf" "$POSTGRES_DIR/data/pg_hba.conf"; fi
}

pid_of_postgres() { head -n1 "$POSTGRES_DIR/data/postmaster.pid" 2>/dev/null || true; }
healthy_postgres() { "$PG_BIN/pg_isready" -q -h "$HOST" -p "$POSTGRES_PORT" -t 2; }
psql_admin() { "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$POSTGRES_SOCK_DIR" -p "$POSTGRES_PORT" -U postgres "$@"; }

start_postgres() {
  mkdir -p "$POSTGRES_DIR" "$POSTGRES_SOCK_DIR"
  if is_root; then chown postgres:postgres "$POSTGRES_DIR" "$POSTGRES_SOCK_DIR"; fi
  ensure_pg_traversable
  ensure_ports_free postgres "$POSTGRES_PORT" || return 1
  if [[ ! -f $POSTGRES_DIR/data/PG_VERSION ]]; then
    clog postgres "initialising cluster"
    as_pg_owner "$PG_BIN/initdb" -D "$POSTGRES_DIR/data" -U postgres -E UTF8 --no-locale \
      --auth-local=trust --auth-host=scram-sha-256 >"$POSTGRES_DIR/initdb.log" 2>&1 ||
      { show_log_tail postgres "$POSTGRES_DIR/initdb.log"; return 1; }
  fi
  write_postgres_config
  # We only get here when our postmaster is not running, so lock files left by a crash or a
  # reboot are stale; PostgreSQL would refuse to start if their pid now belongs to someone else.
  rm -f "$POSTGRES_DIR/data/postmaster.pid" "$POSTGRES_SOCK_DIR/.s.PGSQL.$POSTGRES_PORT.lock"
  touch "$POSTGRES_DIR/postgres.log"
  if is_root; then chown postgres:postgres "$POSTGRES_DIR/postgres.log"; fi
  local pg_user=() pid rc=0
  is_root && pg_user=(setpriv --reuid=postgres --regid=postgres --init-groups --)
  setsid nohup "${pg_user[@]}" "$PG_BIN/postgres" -D "$POSTGRES_DIR/data" \
    </dev/null >>"$POSTGRES_DIR/postgres.log" 2>&1 &
  pid=$!
  wait_until "$START_TIMEOUT" "$pid" healthy_postgres || rc=$?
  ((rc == 0)) || { start_failed postgres "$rc" "$POSTGRES_DIR/postgres.log"; return 1; }
  # Idempotent: (re)creates the role and databases if missing, e.g. after a test dropped them.
  psql_admin -d postgres >/dev/null <<'SQL' || { clog postgres "creating role/databases failed" >&2; return 1; }
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tributary') THEN
    CREATE ROLE tributary LOGIN SUPERUSER REPLICATION PASSWORD 'tributary';
  END IF;
END $$;
SELECT 'CREATE DATABASE tributary OWNER tributary' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'tributary')\gexec
SELECT 'CREATE DATABASE registry OWNER tributary' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'registry')\gexec
SQL
}

# SIGINT is PostgreSQL's "fast" shutdown: roll back sessions, checkpoint, exit.
stop_postgres() { stop_pid postgres "$(running_pid postgres)" INT; }

# ----------------------------------------------------------------------------------------------
# ClickHouse (Debian ships 18.16: <yandex> config root, no max_server_memory_usage yet)
# ----------------------------------------------------------------------------------------------

CLICKHOUSE_DIR="$STACK_DIR/clickhouse"
CLICKHOUSE_URL="http://$HOST:$CLICKHOUSE_HTTP_PORT"

write_clickhouse_config() {
  cat >"$CLICKHOUSE_DIR/config.xml" <<EOF
<?xml version="1.0"?>
<!-- Generated by deploy/local/stack.sh on every start: edit the script, not this file. -->
<yandex>
    <logger>
        <level>information</level>
        <log>$CLICKHOUSE_DIR/logs/clickhouse-server.log</log>
        <errorlog>$CLICKHOUSE_DIR/logs/clickhouse-server.err.log</errorlog>
        <size>50M</size>
        <count>3</count>
    </logger>
    <listen_host>$HOST</listen_host>
    <http_port>$CLICKHOUSE_HTTP_PORT</http_port>
    <tcp_port>$CLICKHOUSE_TCP_PORT</tcp_port>
    <interserver_http_port>$CLICKHOUSE_INTERSERVER_PORT</interserver_http_port>
    <interserver_http_host>$HOST</interserver_http_host>
    <max_connections>1024</max_connections>
    <keep_alive_timeout>3</keep_alive_timeout>
    <max_concurrent_queries>100</max_concurrent_queries>
    <!-- The defaults (8 GB / 5 GB) are sized for a dedicated server. -->
    <uncompressed_cache_size>268435456</uncompressed_cache_size>
    <mark_cache_size>268435456</mark_cache_size>
    <path>$CLICKHOUSE_DIR/data/</path>
    <tmp_path>$CLICKHOUSE_DIR/tmp/</tmp_path>
    <user_files_path>$CLICKHOUSE_DIR/user_files/</user_files_path>
    <format_schema_path>$CLICKHOUSE_DIR/format_schemas/</format_schema_path>
    <users_config>$CLICKHOUSE_DIR/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <mlock_executable>false</mlock_executable>
    <umask>022</umask>
    <max_session_timeout>3600</max_session_timeout>
    <default_session_timeout>60</default_session_timeout>
    <!-- Tests create and drop tables freely. -->
    <max_table_size_to_drop>0</max_table_size_to_drop>
    <max_partition_size_to_drop>0</max_partition_size_to_drop>
    <query_log>
        <database>system</database>
        <table>query_log</table>
        <partition_by>toYYYYMM(event_date)</partition_by>
        <flush_interval_milliseconds>7500</flush_interval_milliseconds>
    </query_log>
</yandex>
EOF
  cat >"$CLICKHOUSE_DIR/users.xml" <<EOF
<?xml version="1.0"?>
<!-- Generated by deploy/local/stack.sh on every start: edit the script, not this file. -->
<yandex>
    <profiles>
        <default>
            <max_memory_usage>2000000000</max_memory_usage>
            <use_uncompressed_cache>0</use_uncompressed_cache>
            <load_balancing>random</load_balancing>
        </default>
    </profiles>
    <users>
        <default>
            <password></password>
            <networks>
                <ip>::1</ip>
                <ip>127.0.0.1</ip>
            </networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas>
        <default>
            <interval>
                <duration>3600</duration>
                <queries>0</queries>
                <errors>0</errors>
                <result_rows>0</result_rows>
                <read_rows>0</read_rows>
                <execution_time>0</execution_time>
            </interval>
        </default>
    </quotas>
</yandex>
EOF
}

pid_of_clickhouse() { cat "$CLICKHOUSE_DIR/clickhouse.pid" 2>/dev/null || true; }
healthy_clickhouse() { [[ $(curl -s --max-time 5 "$CLICKHOUSE_URL/ping") == Ok. ]]; }
clickhouse_query() { curl -sS --fail --max-time 30 "$CLICKHOUSE_URL/" --data-binary "$1"; }

start_clickhouse() {
  mkdir -p "$CLICKHOUSE_DIR"/{data,tmp,user_files,format_schemas,logs}
  ensure_ports_free clickhouse "$CLICKHOUSE_HTTP_PORT" "$CLICKHOUSE_TCP_PORT" "$CLICKHOUSE_INTERSERVER_PORT" || return 1
  write_clickhouse_config
  local pid rc=0
  # Foreground mode under setsid (not --daemon) so that $! is the server's own pid.
  (
    cd "$CLICKHOUSE_DIR"
    exec setsid nohup clickhouse-server --config-file="$CLICKHOUSE_DIR/config.xml" \
      </dev/null >>"$CLICKHOUSE_DIR/logs/stdout.log" 2>&1
  ) &
  pid=$!
  echo "$pid" >"$CLICKHOUSE_DIR/clickhouse.pid"
  wait_until "$START_TIMEOUT" "$pid" healthy_clickhouse || rc=$?
  ((rc == 0)) || {
    start_failed clickhouse "$rc" "$CLICKHOUSE_DIR/logs/clickhouse-server.err.log" "$CLICKHOUSE_DIR/logs/stdout.log"
    return 1
  }
  # Beyond /ping: a query runs, and the engine the sinks rely on is available.
  local version
  if ! version=$(clickhouse_query 'SELECT version()') ||
    ! clickhouse_query 'CREATE TABLE IF NOT EXISTS default._stack_probe (id UInt64, v UInt64) ENGINE = ReplacingMergeTree(v) ORDER BY id' ||
    ! clickhouse_query 'DROP TABLE IF EXISTS default._stack_probe'; then
    clog clickhouse "query check failed" >&2
    show_log_tail clickhouse "$CLICKHOUSE_DIR/logs/clickhouse-server.err.log"
    return 1
  fi
  clog clickhouse "server version $version"
}

stop_clickhouse() { stop_pid clickhouse "$(running_pid clickhouse)"; }

# ----------------------------------------------------------------------------------------------
# Component table
# ----------------------------------------------------------------------------------------------

pid_of() { "pid_of_$1"; }
ports_of() {
  case $1 in
    kafka) echo "$KAFKA_PORT $KAFKA_CONTROLLER_PORT" ;;
    registry) echo "$REGISTRY_PORT" ;;
    mariadb) echo "$MARIADB_PORT" ;;
    postgres) echo "$POSTGRES_PORT" ;;
    clickhouse) echo "$CLICKHOUSE_HTTP_PORT $CLICKHOUSE_TCP_PORT $CLICKHOUSE_INTERSERVER_PORT" ;;
  esac
}
logs_of() {
  case $1 in
    kafka) echo "$KAFKA_DIR/logs/server.log" ;;
    registry) echo "$REGISTRY_DIR/registry.log" ;;
    mariadb) echo "$MARIADB_DIR/mariadb.log" ;;
    postgres) echo "$POSTGRES_DIR/postgres.log" ;;
    clickhouse) echo "$CLICKHOUSE_DIR/logs/clickhouse-server.log" ;;
  esac
}

# ensure_component NAME: start it unless it already runs; wait if it is still starting.
# Writes "NAME|ports|seconds|state" to the summary folder for `up` to print.
ensure_component() {
  local name=$1 t0 pid rc=0 state
  t0=$(now)
  pid=$(running_pid "$name")
  if [[ -n $pid ]]; then
    if "healthy_$name" >/dev/null 2>&1; then
      clog "$name" "already running (pid $pid)"
      state="already running"
    else
      # Running but not answering yet: probably a start still in progress. Wait, don't restart.
      clog "$name" "running (pid $pid) but not ready yet: waiting"
      wait_until "$START_TIMEOUT" "$pid" "healthy_$name" || rc=$?
      if ((rc != 0)); then
        start_failed "$name" "$rc" "$(logs_of "$name")" || true
        return 1
      fi
      state="ready"
    fi
  else
    clog "$name" "starting"
    "start_$name" || return 1
    state="started"
    clog "$name" "ready after $(elapsed_since "$t0")s (pid $(running_pid "$name"))"
  fi
  echo "$name|$(ports_of "$name")|$(elapsed_since "$t0")|$state" >"$SUMMARY_DIR/$name"
}

write_env_file() {
  local tmp="$STACK_DIR/env.tmp"
  cat >"$tmp" <<EOF
KAFKA_BROKERS=$HOST:$KAFKA_PORT
SCHEMA_REGISTRY_URL=http://$HOST:$REGISTRY_PORT/apis/ccompat/v7
MYSQL_URL=mysql://tributary:tributary@$HOST:$MARIADB_PORT
POSTGRES_URL=postgres://tributary:tributary@$HOST:$POSTGRES_PORT/tributary
CLICKHOUSE_URL=http://$HOST:$CLICKHOUSE_HTTP_PORT
EOF
  mv "$tmp" "$STACK_DIR/env"
}

# ----------------------------------------------------------------------------------------------
# Commands
# ----------------------------------------------------------------------------------------------

cmd_up() {
  local t0 name
  t0=$(now)
  mkdir -p "$STACK_DIR"
  ensure_packages
  ensure_kafka_jars
  ensure_apicurio
  SUMMARY_DIR=$(mktemp -d "$STACK_DIR/.up.XXXXXX")
  # The four servers are independent, so they start in parallel (most of the time is JVM and
  # database startup); the registry needs PostgreSQL, so it follows it in the same job.
  local -A jobs=()
  ensure_component kafka & jobs[kafka]=$!
  ensure_component mariadb & jobs[mariadb]=$!
  ensure_component clickhouse & jobs[clickhouse]=$!
  { ensure_component postgres && ensure_component registry; } & jobs[postgres+registry]=$!
  local failed=()
  for name in "${!jobs[@]}"; do
    wait "${jobs[$name]}" || failed+=("$name")
  done
  if ((${#failed[@]} > 0)); then
    rm -rf "$SUMMARY_DIR"
    die "stack not ready (failed: ${failed[*]}); logs are under $STACK_DIR/, stop with: bash deploy/local/stack.sh down"
  fi
  write_env_file
  echo
  printf '  %-10s %-22s %8s  %s\n' component port seconds state
  for name in "${COMPONENTS[@]}"; do
    IFS='|' read -r n ports secs state <"$SUMMARY_DIR/$name"
    printf '  %-10s %-22s %8s  %s\n' "$n" "${ports// /,}" "$secs" "$state"
  done
  rm -rf "$SUMMARY_DIR"
  echo
  log "environment written to $STACK_DIR/env"
  log "stack up in $(elapsed_since "$t0")s"
}

stop_component() {
  local name=$1 pid t0
  t0=$(now)
  pid=$(running_pid "$name")
  if [[ -n $pid ]]; then
    clog "$name" "stopping (pid $pid)"
    "stop_$name"
    clog "$name" "stopped after $(elapsed_since "$t0")s"
  else
    clog "$name" "not running"
  fi
}

cmd_down() {
  local purge=${1:-} name pid port leftovers=()
  # The registry first (it is a client of PostgreSQL), then the independent servers in parallel:
  # Kafka's controlled shutdown alone takes a few seconds.
  stop_component registry
  for name in kafka mariadb postgres clickhouse; do
    stop_component "$name" &
  done
  wait
  # Verify: no process of ours left (by pid), no stack port still listening.
  for name in "${COMPONENTS[@]}"; do
    pid=$(running_pid "$name")
    [[ -n $pid ]] && leftovers+=("$name pid $pid still alive")
    for port in $(ports_of "$name"); do
      port_open "$port" && leftovers+=("$name port $port still open ($(port_owner "$port"))")
    done
  done
  if ((${#leftovers[@]} > 0)); then
    printf '[stack] ERROR: %s\n' "${leftovers[@]}" >&2
    exit 1
  fi
  rm -f "$STACK_DIR/env" "$KAFKA_DIR/kafka.pid" "$REGISTRY_DIR/registry.pid" "$MARIADB_DIR/mariadb.pid" \
    "$CLICKHOUSE_DIR/clickhouse.pid"
  if [[ $purge == --purge ]]; then
    log "removing $STACK_DIR"
    rm -rf "$STACK_DIR"
    rm -rf "/tmp/tributary-$(printf '%s' "$STACK_DIR" | cksum | cut -d' ' -f1)"
    log "stack stopped, data removed"
  else
    log "stack stopped (data kept under $STACK_DIR; 'down --purge' removes it)"
  fi
}

cmd_status() {
  local name pid state port ports
  for name in "${COMPONENTS[@]}"; do
    pid=$(running_pid "$name")
    ports=$(ports_of "$name")
    if [[ -n $pid ]]; then
      state=running
      "healthy_$name" >/dev/null 2>&1 || state="running (not ready)"
    else
      state=stopped
      for port in $ports; do
        port_open "$port" && state="stopped (port $port used by $(port_owner "$port"))" && break
      done
    fi
    printf '%-10s %-20s pid %-8s port %s\n' "$name" "$state" "${pid:--}" "${ports// /,}"
  done
}

main() {
  case "${1:-}" in
    up) cmd_up ;;
    down) cmd_down "${2:-}" ;;
    clean | purge) cmd_down --purge ;;
    status) cmd_status ;;
    *)
      echo "usage: $0 up | down [--purge] | clean | status" >&2
      exit 2
      ;;
  esac
}

main "$@"
