#!/bin/bash
# tests/setup-and-run-node.sh - set up a fresh Debian 12 machine (as root) and run nomid.
#
# Installs the packages (skip with NOMID_SKIP_APT=1), builds a Release nomid in build/,
# then runs a short demo on 127.0.0.1 only: a REP echo service, a node advertising it by
# name, `nomid resolve`, and a REQ that finds it by name (svc://echo) and sends three
# requests.  Port: NOMID_DEMO_PORT, default 5555.  Then it runs a node with the default
# settings (loopback only; its admin page at http://127.0.0.1:7070/, or the next free
# port, printed as `admin URL`) until Ctrl-C; NOMID_DEMO_ONLY=1 stops after the demo.
set -euo pipefail
cd "$(dirname "$0")/.."

# What building and running a node needs, nothing more: the test tools (cmocka, libzmq,
# pyzmq, clang for the fuzzers, etcd, Chromium...) stay with tests/run.sh.
PACKAGES=(
    build-essential cmake pkg-config        # the build
    libbsd-dev                              # lists, trees, strlcpy
    libmicrohttpd-dev libjansson-dev        # admin endpoint
    libgnutls28-dev                         # ... over HTTPS (checks its certificate and key)
    libsodium-dev libcurl4-openssl-dev      # signed beacons; etcd backend
    libavahi-client-dev                     # DNS-SD backend
)

if [ "${NOMID_SKIP_APT:-0}" != 1 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "setup-and-run-node.sh: installing packages needs root (or set NOMID_SKIP_APT=1)" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y --no-install-recommends "${PACKAGES[@]}"
fi

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DNOMID_TESTS=OFF
cmake --build build -j2 --target nomid

NOMID=build/nomid
PORT=${NOMID_DEMO_PORT:-5555}
EP="tcp://127.0.0.1:$PORT"
FLEET="demo-$$" # a fleet of our own: other nodes on this host stay out of the demo

echo "== demo: an echo service (nomid cat rep --echo) on $EP"
"$NOMID" cat rep --bind "$EP" --echo >/dev/null &
rep_pid=$!
echo "== demo: a node (loopback only) advertising it as 'echo'"
"$NOMID" node --fleet "$FLEET" --name demo --service "echo=rep@$EP" &
node_pid=$!
trap 'kill "$rep_pid" "$node_pid" 2>/dev/null || true' EXIT

echo "== demo: nomid resolve echo --wait 1"
found=$("$NOMID" resolve echo --fleet "$FLEET" --wait 1 --timeout 10)
echo "resolved: $found"

echo "== demo: nomid cat req --connect svc://echo -d hello -n 3 (each reply is printed)"
"$NOMID" cat req --connect svc://echo --fleet "$FLEET" -d hello -n 3 --timeout 10 |
    sed -u 's/^/reply: /'

echo "== demo: stopping the node (it says goodbye) and the echo service"
kill -TERM "$node_pid" "$rep_pid"
status=0
wait "$node_pid" || status=$?
wait "$rep_pid" || status=$?
trap - EXIT
if [ "$status" -ne 0 ]; then
    echo "the node or the echo service exited with status $status" >&2
    exit 1
fi
echo "== demo: done"

[ "${NOMID_DEMO_ONLY:-0}" = 1 ] && exit 0
echo "== a node with the default settings: open its admin page (the 'admin' line); Ctrl-C stops it"
exec "$NOMID" node --name quickstart
