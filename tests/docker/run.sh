#!/bin/bash
# tests/docker/run.sh - the Docker files (docker/), verified for real: starts a private
# dockerd, makes the debian:bookworm-slim base image with debootstrap (Docker Hub is not
# reachable from CI), builds the nomid image once with docker-compose, brings up the
# three-node fleet of docker/compose.yaml and checks it from the host, then stops
# everything it started and undoes what dockerd changed on the host.  tests/run.sh runs
# it as its `docker` stage (NOMID_SKIP_DOCKER=1 skips that stage).
#
# Needs root and Debian's docker.io, docker-compose (1.29), debootstrap, curl and python3
# (tests/run.sh installs them).  The clients are called as /usr/bin/docker and
# /usr/bin/docker-compose: another `docker` earlier on PATH may lack Compose, and must
# not reach another engine anyway (DOCKER_HOST points at ours).
#
# What it checks, each a FAIL line and exit 1 when wrong:
#   - the image's layers (the build stage's too) hold no .git and no docker/admin-token,
#     although both are in the tree while it builds;
#   - admin endpoint of node1, published on a free port of 127.0.0.1: /healthz 200
#     without the token, /api/v1/peers 401 without it or with a wrong one, 200 with it;
#   - node1's /api/v1/peers lists node2 and node3;
#   - `nomid resolve` inside node2 finds the service node1 advertises;
#   - every container's HEALTHCHECK reports healthy;
#   - `docker stop` of node3 removes it from node1's peers within 1 s (goodbye beacon);
#   - an unchanged libzmq program (examples/camera.c, built here against Debian's
#     libzmq) run with `nomid exec` in node1's container runs on the image's drop-in,
#     joins through node1 (one of its peers, of backend host) and node2 resolves it;
#   - after the cleanup: no dockerd, containerd or mount of ours is left, and the host's
#     bridges, iptables (filter and nat, policies included), sysctls and files are as
#     they were before.
#
# Environment: NOMID_DOCKER_DIR (default build-test/docker: dockerd's data root, logs,
# and the debootstrap tarball, kept between runs so a developer's rerun skips
# debootstrap; delete it to redo that step), NOMID_DEBIAN_MIRROR (default: the host's
# apt source for bookworm main).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD

DOCKER=/usr/bin/docker
COMPOSE=/usr/bin/docker-compose
COMPOSE_FILE=docker/compose.yaml
PROJECT=nomid-test             # compose project: containers nomid-test_node1_1, ...
BASE_TAG=debian:bookworm-slim  # what docker/Dockerfile starts FROM
IMAGE=nomid:latest             # what docker/compose.yaml builds and runs
BUILD_STAGE_TAG=nomid-build-stage:test
TOKEN_FILE=docker/admin-token  # the secret compose.yaml mounts
FLEET=docker-demo              # docker/node.json's fleet

WORK=$(realpath -m "${NOMID_DOCKER_DIR:-build-test/docker}")
DATA_ROOT=$WORK/data                           # dockerd --data-root
BASE_TAR=$WORK/debian-bookworm-minbase.tar     # debootstrap's result, kept
DOCKERD_LOG=$WORK/dockerd.log
# dockerd's socket, pidfile, exec root and config live in a short /tmp path: unix socket
# paths (containerd's among them) must stay under 108 bytes, whatever the checkout's.
RUN_DIR=""
DOCKERD_PID=""

# ---------------------------------------------------------------- small helpers

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
T_START=$(now)
STEP_TIMES=""
STEP_NAME=""
STEP_T0=""
# step NAME: ends the previous sub-step (recording its time) and starts NAME.
step() {
    if [ -n "$STEP_NAME" ]; then
        local took
        took=$(since "$STEP_T0")
        echo "== docker: $STEP_NAME took ${took} s"
        STEP_TIMES+="$STEP_NAME ${took}s; "
    fi
    STEP_NAME=$1
    STEP_T0=$(now)
    [ -z "$1" ] || echo "== docker: $1"
}

fail() {
    echo "FAIL: docker: $*" >&2
    exit 1
}
pass() { echo "ok: $*"; }

docker() { "$DOCKER" "$@"; }
compose() { "$COMPOSE" -f "$COMPOSE_FILE" -p "$PROJECT" "$@"; }

# http_code URL [TOKEN]: only the status code (000 when nothing answers).
http_code() {
    local auth=()
    [ -z "${2:-}" ] || auth=(-H "Authorization: Bearer $2")
    curl -s --max-time 5 -o /dev/null "${auth[@]}" -w '%{http_code}' "$1" || true
}

# peer_names JSON: the names in an /api/v1/peers answer, one a line.
peer_names() {
    /usr/bin/python3 -c 'import json,sys; [print(p["name"]) for p in json.load(sys.stdin)["peers"]]' \
        2>/dev/null
}

# umount_under DIR: unmounts whatever is mounted below DIR, deepest first, so that
# removing DIR can never reach into /proc, /sys or an overlay of a live container.
umount_under() {
    local dir=$1 m
    awk -v d="$dir/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | sort -r |
        while read -r m; do
            umount "$m" 2>/dev/null || umount -l "$m" || true
        done
}

# ---------------------------------------------------------------- host state

# What dockerd changes on the host (bridges, iptables, sysctls, files) is recorded here
# before it starts, undone after it stops, and compared again at the end.
SYSCTLS=(net.ipv4.ip_forward net.bridge.bridge-nf-call-iptables
    net.bridge.bridge-nf-call-ip6tables)
declare -A SYSCTL_BEFORE=()
IPT_BEFORE=""
BRIDGES_BEFORE=""
# Directories dockerd and containerd make outside their roots whatever the flags
# (/run/docker/plugins, /run/containerd/s for the shims' sockets).
HOST_DIRS=(/run/docker /run/containerd)
declare -A DIR_EXISTED=()
KEY_JSON_EXISTED=0

# host_state: the parts of the host's state that dockerd touches, as text to compare.
host_state() {
    local t
    echo "# bridges"
    ip -o link show type bridge | awk -F': ' '{ print $2 }' | sed 's/@.*//' | sort
    for t in filter nat; do
        echo "# iptables -t $t"
        iptables -t "$t" -S
    done
    echo "# sysctls"
    local s
    for s in "${SYSCTLS[@]}"; do
        echo "$s=$(sysctl -n "$s" 2>/dev/null || echo absent)"
    done
    echo "# files"
    for s in "${HOST_DIRS[@]}" /etc/docker/key.json; do
        [ ! -e "$s" ] || echo "$s"
    done
}

record_host_state() {
    local s
    for s in "${SYSCTLS[@]}"; do
        SYSCTL_BEFORE[$s]=$(sysctl -n "$s" 2>/dev/null || echo absent)
    done
    IPT_BEFORE=$(for t in filter nat; do iptables -t "$t" -S | sed "s/^/$t /"; done)
    BRIDGES_BEFORE=$(ip -o link show type bridge | awk -F': ' '{ print $2 }' | sed 's/@.*//')
    for s in "${HOST_DIRS[@]}"; do
        DIR_EXISTED[$s]=0
        [ ! -e "$s" ] || DIR_EXISTED[$s]=1
    done
    [ ! -e /etc/docker/key.json ] || KEY_JSON_EXISTED=1
    host_state >"$WORK/host-state.before"
    echo "host before: ip_forward=${SYSCTL_BEFORE[net.ipv4.ip_forward]}" \
        "FORWARD policy=$(iptables -S FORWARD | awk '$1 == "-P" { print $3 }')" \
        "bridges=[$(echo "$BRIDGES_BEFORE" | tr '\n' ' ')]"
}

# restore_host_state: undoes what dockerd did, touching only what was not there before
# and looks like Docker's (its chains, rules naming them or its bridges).
restore_host_state() {
    local t line chain br s
    for t in filter nat; do
        # New rules first (a chain can be deleted only once nothing jumps to it), then
        # the new chains, then the policies as they were (dockerd sets FORWARD to DROP
        # when it had to turn ip_forward on).
        iptables -t "$t" -S | grep -E '^-A ' | grep -E 'DOCKER|docker0|br-' |
            while read -r line; do
                grep -qxF "$t $line" <<<"$IPT_BEFORE" && continue
                # xargs splits the rule as a shell would (quoted comments stay whole).
                printf '%s\n' "${line/#-A/-D}" | xargs iptables -t "$t" || true
            done
        iptables -t "$t" -S | awk '$1 == "-N" { print $2 }' | while read -r chain; do
            grep -qxF "$t -N $chain" <<<"$IPT_BEFORE" && continue
            iptables -t "$t" -F "$chain" || true
            iptables -t "$t" -X "$chain" || true
        done
        grep -E "^$t -P " <<<"$IPT_BEFORE" | while read -r _ _ chain policy; do
            iptables -t "$t" -P "$chain" "$policy" || true
        done
    done
    for br in $(ip -o link show type bridge | awk -F': ' '{ print $2 }' | sed 's/@.*//'); do
        grep -qxF "$br" <<<"$BRIDGES_BEFORE" && continue
        case $br in docker0 | br-*) ip link del "$br" || true ;; esac
    done
    for s in "${SYSCTLS[@]}"; do
        # A sysctl that appeared (br_netfilter loaded by dockerd) stays: the module may
        # not be unloaded under others' feet.
        [ "${SYSCTL_BEFORE[$s]}" = absent ] || sysctl -qw "$s=${SYSCTL_BEFORE[$s]}" || true
    done
    # Only empty directories go: anything left in them shows in the comparison.
    for s in "${HOST_DIRS[@]}"; do
        if [ "${DIR_EXISTED[$s]}" = 0 ] && [ -d "$s" ]; then
            find "$s" -depth -type d -empty -delete || true
        fi
    done
}

# ---------------------------------------------------------------- dockerd

start_dockerd() {
    RUN_DIR=$(mktemp -d /tmp/nomid-dockerd.XXXXXX)
    # Its own config file: no host /etc/docker/daemon.json applies, and the key.json
    # dockerd 20.10 writes beside its config goes here instead of /etc/docker.
    echo '{}' >"$RUN_DIR/daemon.json"
    mkdir -p "$DATA_ROOT"
    # Its own containerd namespace: if a system containerd runs, dockerd uses it, and
    # its containers must not mix with a system Docker's ("moby").  Its own session: a
    # Ctrl-C meant for the test must not stop dockerd before cleanup() has taken the fleet
    # down through it.
    setsid dockerd --data-root "$DATA_ROOT" --exec-root "$RUN_DIR/exec" \
        --pidfile "$RUN_DIR/dockerd.pid" -H "unix://$RUN_DIR/docker.sock" \
        --config-file "$RUN_DIR/daemon.json" \
        --containerd-namespace nomid-test --containerd-plugins-namespace nomid-test-plugins \
        >"$DOCKERD_LOG" 2>&1 &
    DOCKERD_PID=$!
    export DOCKER_HOST="unix://$RUN_DIR/docker.sock"
    for _ in $(seq 1 60); do
        if docker version >/dev/null 2>&1; then
            [ "$(cat "$RUN_DIR/dockerd.pid")" = "$DOCKERD_PID" ] ||
                fail "dockerd's pidfile says $(cat "$RUN_DIR/dockerd.pid"), not $DOCKERD_PID"
            echo "dockerd pid $DOCKERD_PID on $DOCKER_HOST, storage driver" \
                "$(docker info -f '{{.Driver}}'), data root $DATA_ROOT"
            return 0
        fi
        if ! kill -0 "$DOCKERD_PID" 2>/dev/null; then
            tail -n 30 "$DOCKERD_LOG" >&2
            fail "dockerd exited at start (log: $DOCKERD_LOG)"
        fi
        sleep 0.5
    done
    tail -n 30 "$DOCKERD_LOG" >&2
    fail "dockerd did not answer within 30 s (log: $DOCKERD_LOG)"
}

# stop_dockerd: SIGTERM to our dockerd (it stops its containerd), then any process still
# running from our exec root (containerd, shims) is ended by its pid.
stop_dockerd() {
    local pid
    if [ -n "$DOCKERD_PID" ] && kill -0 "$DOCKERD_PID" 2>/dev/null; then
        kill -TERM "$DOCKERD_PID"
        for _ in $(seq 1 100); do
            kill -0 "$DOCKERD_PID" 2>/dev/null || break
            sleep 0.2
        done
        if kill -0 "$DOCKERD_PID" 2>/dev/null; then
            echo "docker: dockerd $DOCKERD_PID ignored SIGTERM for 20 s; killing it" >&2
            kill -KILL "$DOCKERD_PID" || true
        fi
        wait "$DOCKERD_PID" 2>/dev/null || true
    fi
    if [ -n "$RUN_DIR" ]; then
        for pid in $(pgrep -f -- "$RUN_DIR" || true); do
            echo "docker: process $pid ($(tr '\0' ' ' </proc/"$pid"/cmdline 2>/dev/null)) outlived dockerd; killing it" >&2
            kill -KILL "$pid" 2>/dev/null || true
        done
    fi
}

# ---------------------------------------------------------------- cleanup (trap)

TOKEN_CREATED=0
cleanup() {
    local status=$? leftovers=""
    set +e
    trap - EXIT INT TERM
    # A signal may come while a step's output goes to its log (a function called with a
    # redirection): the cleanup's report goes to the test's own stdout and stderr.
    exec 1>&7 2>&8
    [ -z "$STEP_NAME" ] || step cleanup
    if [ -n "$DOCKERD_PID" ] && kill -0 "$DOCKERD_PID" 2>/dev/null; then
        if [ "$status" -ne 0 ]; then
            echo "== docker: state at the failure"
            compose ps
            compose logs --no-color --tail=40
        fi
        compose down --volumes --remove-orphans --timeout 5
    fi
    stop_dockerd
    if [ -n "$RUN_DIR" ]; then
        umount_under "$RUN_DIR"
        umount_under "$DATA_ROOT"
        rm -rf --one-file-system "$RUN_DIR" "$DATA_ROOT"
        # The ROOTFS of an interrupted debootstrap (its /proc and /sys mounts too).
        umount_under "$WORK/rootfs"
        rm -rf --one-file-system "$WORK/rootfs"
    fi
    [ "$TOKEN_CREATED" = 0 ] || rm -f "$TOKEN_FILE"
    [ "$KEY_JSON_EXISTED" = 1 ] || rm -f /etc/docker/key.json
    if [ -n "$IPT_BEFORE" ]; then
        restore_host_state
        host_state >"$WORK/host-state.after"
        if ! diff -u "$WORK/host-state.before" "$WORK/host-state.after"; then
            echo "FAIL: docker: the host's bridges, iptables, sysctls or files differ from before (diff above)" >&2
            status=1
        fi
    fi
    if [ -n "$RUN_DIR" ] && pgrep -f -- "$RUN_DIR" >/dev/null; then leftovers+="processes; "; fi
    if [ -n "$RUN_DIR" ] && grep -qF -e "$RUN_DIR" -e "$WORK/" /proc/self/mounts; then
        leftovers+="mounts; "
    fi
    [ "$TOKEN_CREATED" = 0 ] || [ ! -e "$TOKEN_FILE" ] || leftovers+="$TOKEN_FILE; "
    if [ -n "$leftovers" ]; then
        echo "FAIL: docker: left behind: $leftovers" >&2
        status=1
    fi
    step ""
    echo "docker: times: $STEP_TIMES total $(since "$T_START") s"
    if [ "$status" -eq 0 ]; then
        echo "docker: passed (host state restored)"
    else
        echo "docker: FAILED (exit $status; dockerd log: $DOCKERD_LOG)" >&2
    fi
    exit "$status"
}

# ---------------------------------------------------------------- the steps

# The host's Debian mirror for bookworm main (what apt uses here), and its proxy if any:
# debootstrap and the image's apt-get go through the same.
debian_mirror() {
    if [ -n "${NOMID_DEBIAN_MIRROR:-}" ]; then
        echo "$NOMID_DEBIAN_MIRROR"
        return
    fi
    local m
    # shellcheck disable=SC2016  # apt's own $(FIELD) placeholders
    m=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(COMPONENT)' 2>/dev/null |
        awk '$2 == "bookworm" && $3 == "main" { print $1; exit }')
    echo "${m:-http://deb.debian.org/debian/}"
}
PROXY_ARGS=()
find_proxy() {
    local http="" https=""
    eval "$(apt-config shell http Acquire::http::Proxy https Acquire::https::Proxy)"
    http=${http_proxy:-$http}
    https=${https_proxy:-${https:-$http}}
    if [ -n "$http" ]; then
        export http_proxy=$http
        PROXY_ARGS+=(--build-arg "http_proxy=$http")
    fi
    if [ -n "$https" ]; then
        export https_proxy=$https
        PROXY_ARGS+=(--build-arg "https_proxy=$https")
    fi
    echo "apt proxy: ${http:-none}${https:+ (https: $https)}"
}

# make_base_image: debian:bookworm-slim from debootstrap's minbase (essential packages
# and apt, as the real slim image), imported under the tag the Dockerfile uses.
make_base_image() {
    local mirror
    mirror=$(debian_mirror)
    step debootstrap
    if [ -s "$BASE_TAR" ]; then
        echo "reusing $BASE_TAR (delete it to run debootstrap again)"
    else
        umount_under "$WORK/rootfs"
        rm -rf --one-file-system "$WORK/rootfs"
        echo "debootstrap --variant=minbase bookworm from $mirror"
        debootstrap --variant=minbase --keyring=/usr/share/keyrings/debian-archive-keyring.gpg \
            bookworm "$WORK/rootfs" "$mirror" >"$WORK/debootstrap.log" 2>&1 ||
            { tail -n 20 "$WORK/debootstrap.log" >&2; fail "debootstrap failed (log: $WORK/debootstrap.log)"; }
        # An apt cache of .debs is not part of a slim image.
        rm -rf "$WORK/rootfs/var/cache/apt/archives/"*.deb "$WORK/rootfs/var/lib/apt/lists/"*
        tar --numeric-owner -C "$WORK/rootfs" -cf "$BASE_TAR.tmp" .
        mv "$BASE_TAR.tmp" "$BASE_TAR"
        rm -rf --one-file-system "$WORK/rootfs"
    fi
    step import
    docker import --change 'CMD ["bash"]' "$BASE_TAR" "$BASE_TAG" >/dev/null
    echo "imported $BASE_TAG: $(docker image inspect -f '{{.Size}}' "$BASE_TAG") bytes"
}

# build_image: once, the way a user does (docker-compose build: node1 is the only service
# with build:), with the classic builder (what Debian's docker.io uses by default, and
# the one that ignored docker/Dockerfile.dockerignore).
build_image() {
    step build
    local n
    n=$(compose config | grep -c '^    build:' || true)
    [ "$n" -eq 1 ] || fail "compose.yaml has $n services with build:, want 1 (the image is built once)"
    DOCKER_BUILDKIT=0 COMPOSE_DOCKER_CLI_BUILD=0 compose build "${PROXY_ARGS[@]}" >"$WORK/build.log" 2>&1 ||
        { tail -n 40 "$WORK/build.log" >&2; fail "docker-compose build failed (log: $WORK/build.log)"; }
    docker image inspect "$IMAGE" >/dev/null || fail "docker-compose build made no $IMAGE"
    # The build stage alone, to inspect its layers: every step is in the cache.
    DOCKER_BUILDKIT=0 docker build -q --target build -f docker/Dockerfile \
        -t "$BUILD_STAGE_TAG" . >/dev/null || fail "docker build --target build failed"
    echo "built $IMAGE ($(docker image inspect -f '{{.Size}}' "$IMAGE") bytes)"
}

# scan_layers IMAGE MUST_HAVE: lists every file of every layer of IMAGE (docker save) and
# fails on a .git or admin-token; MUST_HAVE (a path in some layer) proves the listing saw
# the files at all.
scan_layers() {
    local image=$1 must=$2 dir list
    dir=$WORK/save
    rm -rf "$dir"
    mkdir -p "$dir"
    docker save "$image" | tar -C "$dir" -xf -
    list=$WORK/layers-$(echo "$image" | tr ':/' '--').txt
    : >"$list"
    local layer
    for layer in $(/usr/bin/python3 -c 'import json,sys; [print(l) for l in json.load(open(sys.argv[1]))[0]["Layers"]]' "$dir/manifest.json"); do
        tar -tf "$dir/$layer" | sed "s|^|$layer: |" >>"$list"
    done
    rm -rf "$dir"
    grep -qE "^[^ ]+: (\./)?$must\$" "$list" ||
        fail "$image: $must not found in its layers: the layer scan saw nothing (list: $list)"
    if grep -E '(^|/| )\.git(/|$)|(^|/| )admin-token$' "$list"; then
        fail "$image: .git or admin-token in its layers (above; history below)
$(docker history --no-trunc --format '{{.CreatedBy}}' "$image")"
    fi
    pass "$image: $(wc -l <"$list") paths in its layers, no .git, no admin-token"
}

check_layers() {
    step layers
    [ -e .git ] || echo "note: no .git in $ROOT: the .git part of the check proves less"
    [ -e "$TOKEN_FILE" ] || fail "$TOKEN_FILE should exist while the image builds"
    scan_layers "$BUILD_STAGE_TAG" 'src/CMakeLists.txt'
    scan_layers "$IMAGE" 'usr/local/bin/nomid'
    echo "build stage's COPY steps:"
    docker history --no-trunc --format '{{.CreatedBy}}' "$BUILD_STAGE_TAG" | grep -E 'COPY' | sed 's/^/  /'
}

ADMIN=""
bring_up() {
    step up
    # NOMID_ADMIN_PORT set and empty: compose.yaml publishes 127.0.0.1::7070, a free port
    # (a local nomid node may hold 7070).
    NOMID_ADMIN_PORT='' compose up -d --no-build >"$WORK/up.log" 2>&1 ||
        { cat "$WORK/up.log" >&2; fail "docker-compose up failed"; }
    ADMIN=$(NOMID_ADMIN_PORT='' compose port node1 7070)
    case $ADMIN in 127.0.0.1:[0-9]*) ;; *) fail "node1's admin port is published as '$ADMIN'" ;; esac
    echo "node1 admin at http://$ADMIN/"
    for _ in $(seq 1 100); do
        [ "$(http_code "http://$ADMIN/healthz")" != 200 ] || return 0
        sleep 0.2
    done
    fail "node1's admin endpoint http://$ADMIN/ did not answer /healthz within 20 s"
}

container_id() {
    local id
    id=$(compose ps -q "$1")
    [ -n "$id" ] || fail "no container for $1"
    echo "$id"
}

check_admin() {
    local token=$1 code body
    code=$(http_code "http://$ADMIN/healthz")
    body=$(curl -s --max-time 5 "http://$ADMIN/healthz")
    if [ "$code" != 200 ] || [ "$body" != ok ]; then
        fail "/healthz without token: $code '$body', want 200 ok"
    fi
    pass "/healthz without token: 200 ok"
    code=$(http_code "http://$ADMIN/api/v1/peers")
    [ "$code" = 401 ] || fail "/api/v1/peers without token: $code, want 401"
    code=$(http_code "http://$ADMIN/api/v1/node" "wrong-token-wrong-token")
    [ "$code" = 401 ] || fail "/api/v1/node with a wrong token: $code, want 401"
    pass "/api/v1/peers without token: 401; /api/v1/node with a wrong token: 401"
    code=$(http_code "http://$ADMIN/api/v1/node" "$token")
    [ "$code" = 200 ] || fail "/api/v1/node with the token: $code, want 200"
    pass "/api/v1/node with the token: 200"
}

# wait_peers TOKEN WANT SECONDS: until node1's peers (names, sorted, space-separated)
# are WANT; prints how long it took.
wait_peers() {
    local token=$1 want=$2 limit=$3 t0 names=""
    t0=$(now)
    while :; do
        names=$(curl -sf --max-time 2 -H "Authorization: Bearer $token" \
            "http://$ADMIN/api/v1/peers" | peer_names | sort | tr '\n' ' ' | sed 's/ $//') || true
        if [ "$names" = "$want" ]; then
            since "$t0"
            return 0
        fi
        if awk -v a="$(since "$t0")" -v l="$limit" 'BEGIN { exit !(a > l) }'; then
            echo "node1's peers after ${limit} s: [$names], want [$want]" >&2
            return 1
        fi
        sleep 0.05
    done
}

check_fleet() {
    local token=$1 took out
    step checks
    check_admin "$token"
    took=$(wait_peers "$token" "node2 node3" 15) || fail "node1 does not list node2 and node3"
    pass "node1's /api/v1/peers lists node2 and node3 (after ${took} s)"

    # nomid resolve in node2's container: node1's camera.front, announced on node1's eth0.
    out=$(compose exec -T node2 nomid resolve camera.front --interface eth0 \
        --fleet "$FLEET" --wait 1 --timeout 10 2>"$WORK/resolve.err") ||
        { cat "$WORK/resolve.err" >&2; fail "nomid resolve camera.front in node2 failed"; }
    [ "$out" = "tcp://172.30.77.11:5556" ] ||
        fail "nomid resolve camera.front in node2 printed '$out', want tcp://172.30.77.11:5556"
    pass "nomid resolve camera.front in node2: $out"

    # HEALTHCHECK (interval 5 s): each container healthy.
    local n id state
    for n in node1 node2 node3; do
        id=$(container_id "$n")
        for _ in $(seq 1 60); do
            state=$(docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "$id")
            [ "$state" = starting ] || break
            sleep 0.5
        done
        [ "$state" = healthy ] ||
            fail "$n's health is '$state', want healthy: $(docker inspect -f '{{json .State.Health}}' "$id")"
    done
    pass "HEALTHCHECK: node1, node2, node3 healthy"

    # A stopped node leaves its peers' view at once: SIGTERM, nomid says goodbye.
    local t0 stop_took
    id=$(container_id node3)
    t0=$(now)
    docker stop -t 10 "$id" >/dev/null
    stop_took=$(since "$t0")
    took=$(wait_peers "$token" "node2" 1) ||
        fail "node3 still in node1's peers 1 s after docker stop returned (it took ${stop_took} s)"
    pass "docker stop node3 (${stop_took} s): gone from node1's peers ${took} s later"

    # An unchanged libzmq program under nomid exec in node1's container: the image's
    # drop-in, joined through node1, resolved from node2.
    cc -Wall -Werror examples/camera.c -o "$WORK/camera" -lzmq || fail "cc examples/camera.c -lzmq"
    id=$(container_id node1)
    docker cp "$WORK/camera" "$id:/tmp/camera" >/dev/null
    docker exec -d "$id" nomid exec --fleet "$FLEET" --name camera-driver \
        --advertise 'camera=tcp://*:5557' -- /tmp/camera --bind 'tcp://*:5557'
    took=$(wait_peers "$token" "camera-driver node2" 15) ||
        fail "camera-driver did not join through node1"
    pass "nomid exec in node1's container: camera-driver joined through node1 (${took} s)"
    out=$(compose exec -T node2 nomid resolve camera --interface eth0 \
        --fleet "$FLEET" --wait 1 --timeout 10 2>"$WORK/resolve.err") ||
        { cat "$WORK/resolve.err" >&2; fail "nomid resolve camera in node2 failed"; }
    [ "$out" = "tcp://172.30.77.11:5557" ] ||
        fail "nomid resolve camera in node2 printed '$out', want tcp://172.30.77.11:5557"
    docker exec "$id" sh -c 'grep -qs /usr/local/lib/nomid/libzmq.so /proc/[0-9]*/maps' ||
        fail "no process in node1 maps /usr/local/lib/nomid/libzmq.so.5"
    pass "nomid resolve camera in node2: $out (the camera runs on the image's drop-in)"
}

main() {
    [ "$(id -u)" -eq 0 ] || { echo "tests/docker/run.sh needs root (it runs dockerd)" >&2; exit 1; }
    local tool
    for tool in "$DOCKER" "$COMPOSE" dockerd debootstrap iptables curl /usr/bin/python3; do
        command -v "$tool" >/dev/null ||
            { echo "tests/docker/run.sh: $tool missing (tests/run.sh installs it)" >&2; exit 1; }
    done
    mkdir -p "$WORK"
    # One Docker test at a time on a machine: two would share iptables, the compose
    # subnet and each other's idea of the host's state before.
    mkdir -p /run/lock
    exec 9>/run/lock/nomid-docker-test.lock
    flock -w 1200 9 || { echo "another Docker test holds /run/lock/nomid-docker-test.lock" >&2; exit 1; }
    exec 7>&1 8>&2  # the test's stdout and stderr, for cleanup()
    trap cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM

    step dockerd
    record_host_state
    find_proxy
    start_dockerd
    make_base_image

    local token
    if [ -e "$TOKEN_FILE" ]; then
        echo "using the existing $TOKEN_FILE (left in place)"
    else
        TOKEN_CREATED=1
        head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$TOKEN_FILE"
        chmod 0644 "$TOKEN_FILE"  # read by the containers' uid 10001
    fi
    token=$(tr -d '\n' <"$TOKEN_FILE")

    build_image
    check_layers
    bring_up
    check_fleet "$token"
}

main "$@"
