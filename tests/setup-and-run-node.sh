#!/bin/bash
# tests/setup-and-run-node.sh - set up a fresh Debian 12 machine (as root) and run nomid.
#
# Installs the packages (skip with NOMID_SKIP_APT=1), builds a Release nomid in build/,
# then runs a short loopback demo with `nomid cat`: a REP echo server and a REQ client
# sending three requests, on 127.0.0.1 only.  (Until `nomid node` and discovery exist,
# this demo is the messaging core alone.)  Port: NOMID_DEMO_PORT, default 5555.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
    build-essential cmake pkg-config libbsd-dev libcmocka-dev libzmq3-dev python3-zmq
    libmicrohttpd-dev libjansson-dev libsodium-dev libcurl4-openssl-dev
    libavahi-client-dev clang-14 libclang-rt-14-dev iproute2
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

echo "== demo: nomid cat rep --bind $EP --echo (background; the requests it prints are discarded)"
"$NOMID" cat rep --bind "$EP" --echo >/dev/null &
rep_pid=$!
trap 'kill "$rep_pid" 2>/dev/null || true' EXIT

echo "== demo: nomid cat req --connect $EP -d hello -n 3 (each reply is printed)"
"$NOMID" cat req --connect "$EP" -d hello -n 3 --timeout 10 | sed -u 's/^/reply: /'

echo "== demo: stopping the rep"
kill -TERM "$rep_pid"
rep_status=0
wait "$rep_pid" || rep_status=$?
trap - EXIT
if [ "$rep_status" -ne 0 ]; then
    echo "the rep exited with status $rep_status" >&2
    exit 1
fi
echo "== demo: done"
