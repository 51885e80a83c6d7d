#!/usr/bin/env bash
# A local Elasticsearch for development and the contract tests: no Docker, no download site
# other than Maven Central (the "integ-test-zip" distribution: server + security module, no ML,
# no geoip, no analysis-common; the archive's mappings use only what it carries).
#
#   scripts/es.sh start     # fetch + unpack on first use, start, wait for health, print the URL
#   scripts/es.sh stop      # stop the node on ES_PORT (bounded wait, then SIGKILL)
#   scripts/es.sh status    # print the URL and health, exit 1 when not running
#   ES_NODES=3 scripts/es.sh start   # a cluster of 3 nodes on HTTP ports ES_PORT.. ES_PORT+2
#
# Environment: ES_PORT (9200), ES_VERSION (8.19.21), ES_DIR (<repo>/.es), ES_M2_REPO
# (~/.m2/repository: a zip Maven fetched before is unpacked from there, without running Maven),
# ES_JAVA_HOME (the `java` on PATH), ES_HEAP_MIN/ES_HEAP_MAX (512m/1g, given in ES_JAVA_OPTS, to
# which more JVM flags can be added; CLI_JAVA_OPTS for the launcher and tools), ES_WAIT (120 s),
# ES_USER (elasticsearch: run as root, the script creates this user and starts the node as it,
# because Elasticsearch refuses to run as root), ES_SECURITY (1: security on, TLS on HTTP with a
# CA and certificate made by the distribution's own elasticsearch-certutil in
# .es/node-<port>/config/certs/, the `elastic` user's password from ES_PASSWORD or generated once
# into .es/node-<port>/elastic-password; the URL is then https://), ES_NODES (1: a single node; N:
# a cluster of N master-eligible data nodes on HTTP ports ES_PORT..ES_PORT+N-1 and transport
# ports 1000 above those, each with its own node directory; start starts whichever are not
# running, stop stops them all).
# Each port gets its own node directory (.es/node-<port>/{config,data,logs}), so a test node and
# a dev node can run side by side. Run as root from a checkout that other users cannot enter (a
# clone under /root), the node's user could not read .es/, so ES_DIR then defaults to
# /var/tmp/archive-es-<hash of the checkout's path> instead (said once, on first use);
# `scripts/es.sh dir` prints the directory in use.
set -euo pipefail

ES_VERSION="${ES_VERSION:-8.19.21}"
ES_PORT="${ES_PORT:-9200}"
ES_WAIT="${ES_WAIT:-120}"
ES_HEAP_MIN="${ES_HEAP_MIN:-512m}"
ES_HEAP_MAX="${ES_HEAP_MAX:-1g}"
ES_USER="${ES_USER:-elasticsearch}"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# True when every directory from / down to $1 lets other users through (the x bit for "others").
traversable() {
    local d="$1" perms
    while [[ "$d" != "/" && -n "$d" ]]; do
        perms="$(stat -c %A "$d")" || return 1
        [[ "${perms:9:1}" == [xt] ]] || return 1
        d="$(dirname "$d")"
    done
}

default_dir() {
    if [[ "$(id -u)" != 0 ]] || traversable "$REPO"; then
        echo "$REPO/.es"
        return
    fi
    local dir; dir="/var/tmp/archive-es-$(printf '%s' "$REPO" | sha1sum | cut -c1-12)"
    if [[ ! -d "$dir" ]]; then
        mkdir -p "$dir" && chmod 755 "$dir"
        echo "es.sh: $REPO is not reachable by user $ES_USER; Elasticsearch lives in $dir instead" >&2
    fi
    echo "$dir"
}
ES_DIR="${ES_DIR:-$(default_dir)}"
ES_HOME="$ES_DIR/elasticsearch-$ES_VERSION"
ES_SECURITY="${ES_SECURITY:-0}"
ES_NODES="${ES_NODES:-1}"
[[ "$ES_NODES" =~ ^[1-9][0-9]?$ ]] || { echo "es.sh: ES_NODES must be a number from 1 to 99" >&2; exit 1; }
if [[ "$ES_SECURITY" == 1 && "$ES_NODES" != 1 ]]; then
    echo "es.sh: ES_SECURITY=1 is for a single node (a secured cluster needs transport TLS as well)" >&2; exit 1
fi
TRANSPORT_OFFSET=1000

# The node on HTTP port $1: its directory, pid file, certificates and URL.
use_node() {
    PORT="$1"
    NODE="$ES_DIR/node-$PORT"
    PIDFILE="$NODE/es.pid"
    CA="$NODE/config/certs/ca/ca.crt"
    PASSFILE="$NODE/elastic-password"
    if [[ "$ES_SECURITY" == 1 ]]; then URL="https://127.0.0.1:$PORT"; else URL="http://127.0.0.1:$PORT"; fi
}
use_node "$ES_PORT"

ports() { seq "$ES_PORT" $((ES_PORT + ES_NODES - 1)); }
joined() { local IFS=,; echo "$*"; }
ARTIFACT="org.elasticsearch.distribution.integ-test-zip:elasticsearch:$ES_VERSION:zip"

die() { echo "es.sh: $*" >&2; exit 1; }

log_tail() {
    local f
    for f in "$NODE/logs/console.log" "$NODE/logs/archive-es.log"; do
        [[ -s "$f" ]] && { echo "--- tail of $f" >&2; tail -n 40 "$f" >&2; }
    done
    return 0
}

health() {
    if [[ "$ES_SECURITY" == 1 ]]; then
        [[ -s "$PASSFILE" && -s "$CA" ]] || return 1
        curl -fsS --max-time 3 --cacert "$CA" -u "elastic:$(cat "$PASSFILE")" "$URL/_cluster/health" 2>/dev/null
    else
        curl -fsS --max-time 3 "$URL/_cluster/health" 2>/dev/null
    fi
}

# True while process $1 runs; a zombie nobody reaps (a container without init) has ended.
alive() {
    kill -0 "$1" 2>/dev/null || return 1
    local stat; stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 0
    stat="${stat##*) }"
    [[ "${stat%% *}" != [ZX] ]]
}

running_pid() {
    [[ -s "$PIDFILE" ]] || return 1
    local pid; pid="$(cat "$PIDFILE")"
    alive "$pid" && echo "$pid"
}

fetch() {
    [[ -x "$ES_HOME/bin/elasticsearch" ]] && return 0
    mkdir -p "$ES_DIR"
    exec 8>"$ES_DIR/fetch.lock"
    flock -w 600 8 || die "another es.sh is fetching Elasticsearch"
    [[ -x "$ES_HOME/bin/elasticsearch" ]] && return 0
    command -v unzip >/dev/null || die "unzip not found"
    local zip="$ES_DIR/elasticsearch-$ES_VERSION.zip" tmp
    local cached="${ES_M2_REPO:-$HOME/.m2/repository}/org/elasticsearch/distribution/integ-test-zip/elasticsearch/$ES_VERSION/elasticsearch-$ES_VERSION.zip"
    if [[ -s "$cached" ]]; then
        zip="$cached"  # fetched before, by this checkout or another: unpacked from Maven's copy, without two Maven runs (20 s)
    else
        command -v mvn >/dev/null || die "mvn not found: install Maven (apt-get install maven) or unpack Elasticsearch $ES_VERSION into $ES_HOME"
        echo "es.sh: fetching $ARTIFACT from Maven Central" >&2
        mvn -B -q dependency:get -Dartifact="$ARTIFACT" -Dtransitive=false >&2 || die "mvn could not fetch $ARTIFACT"
        # copy (from the local Maven repository, wherever settings.xml puts it) to a known place
        mvn -B -q dependency:copy -Dartifact="$ARTIFACT" -DoutputDirectory="$ES_DIR" >&2 || die "mvn could not copy $ARTIFACT"
        [[ -f "$zip" ]] || die "downloaded zip not found at $zip"
    fi
    tmp="$(mktemp -d "$ES_DIR/unpack.XXXXXX")"
    unzip -q "$zip" -d "$tmp"
    mv "$tmp/elasticsearch-$ES_VERSION" "$ES_HOME"
    rmdir "$tmp"
    [[ "$zip" == "$cached" ]] || rm -f "$zip"
}

java_home() {
    if [[ -n "${ES_JAVA_HOME:-}" ]]; then echo "$ES_JAVA_HOME"; return; fi
    local java; java="$(command -v java)" || die "java not found on PATH (Elasticsearch 8 needs Java 17+); or set ES_JAVA_HOME"
    java="$(readlink -f "$java")"
    dirname "$(dirname "$java")"
}

# Settings the distribution does not know stop it at start-up, so only pass those whose module is there.
settings() {
    local s=(
        "-Ehttp.host=127.0.0.1" "-Ehttp.port=$PORT" "-Etransport.host=127.0.0.1"
        "-Ecluster.name=archive-es-$ES_PORT" "-Enode.name=node-$PORT"
        "-Epath.data=$NODE/data" "-Epath.logs=$NODE/logs"
        "-Ecluster.routing.allocation.disk.threshold_enabled=false"
    )
    if [[ "$ES_NODES" == 1 ]]; then
        s+=("-Etransport.port=0" "-Ediscovery.type=single-node")
    else
        local seeds=() names=() p
        for p in $(ports); do seeds+=("127.0.0.1:$((p + TRANSPORT_OFFSET))"); names+=("node-$p"); done
        s+=("-Etransport.port=$((PORT + TRANSPORT_OFFSET))" "-Ediscovery.seed_hosts=$(joined "${seeds[@]}")"
            "-Ecluster.initial_master_nodes=$(joined "${names[@]}")")
    fi
    if [[ "$ES_SECURITY" == 1 ]]; then
        s+=("-Expack.security.enabled=true" "-Expack.security.http.ssl.enabled=true"
            "-Expack.security.http.ssl.certificate=certs/http/http.crt" "-Expack.security.http.ssl.key=certs/http/http.key"
            "-Expack.security.http.ssl.certificate_authorities=certs/ca/ca.crt")
    elif [[ -d "$ES_HOME/modules/x-pack-security" ]]; then
        s+=("-Expack.security.enabled=false")
    fi
    [[ -d "$ES_HOME/modules/x-pack-ml" ]] && s+=("-Expack.ml.enabled=false")
    [[ -d "$ES_HOME/modules/ingest-geoip" ]] && s+=("-Eingest.geoip.downloader.enabled=false")
    printf '%s\n' "${s[@]}"
}

# A CA and an HTTP certificate for 127.0.0.1/localhost, and the elastic user's bootstrap password,
# made once per node with the distribution's own tools.
prepare_security() {
    local jh="$1" certs="$NODE/config/certs"
    [[ -s "$PASSFILE" ]] || { (umask 077; printf '%s' "${ES_PASSWORD:-$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')}" > "$PASSFILE"); }
    if [[ ! -s "$certs/http/http.crt" ]]; then
        local tool=(env "ES_JAVA_HOME=$jh" "ES_PATH_CONF=$NODE/config")
        mkdir -p "$certs"
        "${tool[@]}" "$ES_HOME/bin/elasticsearch-certutil" ca --pem --silent --out "$certs/ca.zip" >&2 \
            || die "elasticsearch-certutil could not make a CA"
        unzip -q -o "$certs/ca.zip" -d "$certs"
        "${tool[@]}" "$ES_HOME/bin/elasticsearch-certutil" cert --pem --silent --name http --ca-cert "$certs/ca/ca.crt" \
            --ca-key "$certs/ca/ca.key" --dns localhost --ip 127.0.0.1 --out "$certs/http.zip" >&2 \
            || die "elasticsearch-certutil could not make the HTTP certificate"
        unzip -q -o "$certs/http.zip" -d "$certs"
        rm -f "$certs/ca.zip" "$certs/http.zip"
    fi
    if [[ ! -s "$NODE/config/elasticsearch.keystore" ]]; then
        local ks=(env "ES_JAVA_HOME=$jh" "ES_PATH_CONF=$NODE/config" "$ES_HOME/bin/elasticsearch-keystore")
        # add -f creates the keystore too: one tool JVM fewer than create, then add
        "${ks[@]}" add -x -f bootstrap.password < "$PASSFILE" >&2 || die "elasticsearch-keystore add failed"
    fi
}

prepare_node() {
    mkdir -p "$NODE/data" "$NODE/logs"
    if [[ ! -d "$NODE/config" ]]; then
        cp -r "$ES_HOME/config" "$NODE/config"
    fi
    [[ "$ES_SECURITY" == 1 ]] && prepare_security "$1"
    return 0
}

# As root: the node's user owns ES_DIR, the distribution and the directories of the nodes about to start
# (given), once per start after they are prepared. Not the other nodes' directories: a running node deletes
# and merges files there while a recursive chown walks them (a test's restart failed on a vanished file).
hand_over() {
    if [[ "$(id -u)" == 0 ]]; then
        if ! id "$ES_USER" >/dev/null 2>&1; then
            useradd --system --no-create-home --shell /usr/sbin/nologin "$ES_USER" \
                || die "cannot create user $ES_USER (Elasticsearch refuses to run as root)"
        fi
        chown "$ES_USER:" "$ES_DIR"
        chown -R "$ES_USER:" "$ES_HOME" "$@"
        runuser -u "$ES_USER" -- test -r "$ES_HOME/bin/elasticsearch" \
            || die "user $ES_USER cannot read $ES_DIR: a parent directory is not world-traversable; set ES_DIR"
    fi
}

wait_healthy() {
    local deadline=$((SECONDS + ES_WAIT)) body
    while (( SECONDS < deadline )); do
        if body="$(health)" && [[ "$body" =~ \"status\":\"(green|yellow)\" ]] \
                && [[ "$body" =~ \"number_of_nodes\":$ES_NODES[,}] ]]; then
            echo "$URL"
            return 0
        fi
        running_pid >/dev/null || break
        sleep 0.25
    done
    log_tail
    die "Elasticsearch did not become healthy on $URL within ${ES_WAIT}s"
}

# Start the node use_node chose (prepared, handed over); `elasticsearch -d` returns once the node has
# started, or after discovery.initial_state_timeout (30 s) when it found no cluster to join.
launch() {
    local jh="$1"
    : > "$NODE/logs/console.log"
    local cmd=(env "ES_JAVA_HOME=$jh" "ES_PATH_CONF=$NODE/config" "ES_JAVA_OPTS=-Xms$ES_HEAP_MIN -Xmx$ES_HEAP_MAX ${ES_JAVA_OPTS:-}"
               "$ES_HOME/bin/elasticsearch" -d -p "$PIDFILE")
    mapfile -t flags < <(settings)
    cmd+=("${flags[@]}")
    rm -f "$PIDFILE"
    echo "es.sh: starting Elasticsearch $ES_VERSION on $URL (java: $jh)" >&2
    if [[ "$(id -u)" == 0 ]]; then
        runuser -u "$ES_USER" -- "${cmd[@]}" >>"$NODE/logs/console.log" 2>&1 8>&- 9>&- \
            || { log_tail; die "start failed"; }
    else
        "${cmd[@]}" >>"$NODE/logs/console.log" 2>&1 8>&- 9>&- || { log_tail; die "start failed"; }
    fi
}

# The nodes of a cluster boot side by side: one after another, the first would wait out
# discovery.initial_state_timeout alone before the second even began (measured: 2 min for three).
start() {
    local p jh="" todo=() dirs=() jobs=() job failed=0
    for p in $(ports); do
        use_node "$p"
        running_pid >/dev/null && continue  # already running (perhaps still starting)
        health >/dev/null && die "port $PORT already answers but not from $NODE: pick another ES_PORT"
        if [[ -z "$jh" ]]; then fetch; jh="$(java_home)"; fi
        prepare_node "$jh"
        todo+=("$p")
        dirs+=("$NODE")
    done
    if (( ${#todo[@]} )); then hand_over "${dirs[@]}"; fi
    for p in "${todo[@]}"; do
        use_node "$p"
        launch "$jh" &
        jobs+=("$!")
    done
    for job in "${jobs[@]}"; do wait "$job" || failed=1; done
    (( failed == 0 )) || die "start failed"
    use_node "$ES_PORT"
    wait_healthy
}

stop_node() {
    local pid
    if ! pid="$(running_pid)"; then
        rm -f "$PIDFILE"
        echo "es.sh: not running on port $PORT" >&2
        return 0
    fi
    kill "$pid"
    local deadline=$((SECONDS + 30))
    while alive "$pid" && (( SECONDS < deadline )); do sleep 0.1; done
    if alive "$pid"; then
        echo "es.sh: $pid did not stop in 30s; killing" >&2
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$PIDFILE"
    echo "es.sh: stopped $URL" >&2
}

# Every node at once: one by one, each later node would first elect a new master for nothing.
stop() {
    local p jobs=() job
    for p in $(ports); do
        use_node "$p"
        stop_node &
        jobs+=("$!")
    done
    for job in "${jobs[@]}"; do wait "$job"; done
}

status() {
    local body
    if running_pid >/dev/null && body="$(health)"; then
        echo "$URL $body"
        return 0
    fi
    echo "es.sh: not running on port $ES_PORT" >&2
    return 1
}

# One start or stop at a time per node: test sessions running side by side share the test node.
locked() {
    mkdir -p "$ES_DIR"
    exec 9>"$ES_DIR/node-$ES_PORT.lock"
    flock -w "$((ES_WAIT + 60))" 9 || die "another es.sh holds $ES_DIR/node-$ES_PORT.lock"
    "$@"
}

case "${1:-}" in
    start) locked start ;;
    stop) locked stop ;;
    status) status ;;
    fetch) fetch; echo "$ES_HOME" ;;
    dir) echo "$ES_DIR" ;;
    url) echo "$URL" ;;
    *) die "usage: scripts/es.sh start|stop|status|fetch|dir|url  (ES_PORT=$ES_PORT)" ;;
esac
