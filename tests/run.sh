#!/bin/bash
# tests/run.sh - the one test command (also what .ci/run runs).
#
# As root on a fresh Debian 12: installs what the build and the tests need (skip that
# with NOMID_SKIP_APT=1), configures a Debug build with ASan+UBSan in build-test/,
# builds it, runs every test with ctest (cmocka unit tests and the interop tests against
# libzmq through python3-zmq), runs the threaded tests again on a ThreadSanitizer build
# (build-tsan/), then fuzzes every parser of network input
# (tests/fuzz/fuzz_*.c) for a bounded time each, and last runs the Docker files for real
# (tests/docker/run.sh: a private dockerd, the image built once, the compose fleet
# checked; NOMID_SKIP_DOCKER=1 skips that stage on a machine that may not run dockerd).
# Exits non-zero when a test failed, a fuzzer found a crash or the Docker stage failed.
set -euo pipefail
cd "$(dirname "$0")/.."

# Each stage's wall time, printed as it ends and again in the summary.
STAGE_TIMES=""
STAGE_NAME=""
STAGE_START=$SECONDS
stage() {
    if [ -n "$STAGE_NAME" ]; then
        local took=$((SECONDS - STAGE_START))
        echo "== stage $STAGE_NAME took ${took} s"
        STAGE_TIMES+="$STAGE_NAME ${took}s; "
    fi
    STAGE_NAME=$1
    STAGE_START=$SECONDS
    [ -z "$1" ] || echo "== stage $1"
}
stage packages

PACKAGES=(
    build-essential cmake pkg-config        # the build
    libbsd-dev libcmocka-dev                # lists/trees/strlcpy; unit tests
    libzmq3-dev python3-zmq                 # real ZeroMQ peers for the interop tests
    libczmq-dev                             # CZMQ's zcert: test_keygen's certificates
    libmicrohttpd-dev libjansson-dev        # admin endpoint
    libsodium-dev libcurl4-openssl-dev      # CURVE and signed beacons; etcd backend
    libavahi-client-dev                     # DNS-SD backend
    clang-14 libclang-rt-14-dev             # fuzz targets (libFuzzer + sanitizers)
    iproute2 procps                         # network namespaces (ip) and their sysctls
    etcd-server etcd-client                 # a real etcd for the etcd backend's tests
    avahi-daemon avahi-utils dbus           # a real avahi-daemon (+ avahi-browse) for DNS-SD
    chromium                                # headless browser for the topology page's test
    g++ dpkg-dev                            # libzmq's own tests (apt-get source zeromq3)
    python3-pytest python3-pytest-timeout   # pyzmq's own tests ...
    python3-pytest-asyncio python3-tornado  # ... their event loops
    python3-gevent python3-numpy cython3 python3-dev
    docker.io docker-compose                # tests/docker: a private dockerd; Compose 1.29
    debootstrap curl                        # ... its base image (no Docker Hub); HTTP checks
    libgnutls28-dev                         # admin over HTTPS: checks its certificate and key
    openssl tcpdump                         # test_admin_https: its certificates; a capture
)
# Node.js and npm drive Chromium (tests/browser, playwright-core): Debian's, only when npm
# is missing, since a NodeSource nodejs (which bundles npm) conflicts with Debian's npm.
if ! command -v npm >/dev/null 2>&1; then
    PACKAGES+=(nodejs npm)
fi

if [ "${NOMID_SKIP_APT:-0}" != 1 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "run.sh: installing packages needs root (or set NOMID_SKIP_APT=1)" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y --no-install-recommends "${PACKAGES[@]}"
fi
# The browser test's one dependency, pinned in tests/browser/package-lock.json.
if [ "${NOMID_SKIP_APT:-0}" != 1 ] || [ ! -d tests/browser/node_modules/playwright-core ]; then
    npm ci --prefix tests/browser --no-audit --no-fund
fi

stage build
BUILD=build-test
cmake -S . -B "$BUILD" -DNOMID_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug -DNOMID_WERROR=ON
cmake --build "$BUILD" -j2

# The Release build must compile too, tests included (-O3 sees warnings the Debug build
# does not).
stage build-release
cmake -S . -B build-release-check -DCMAKE_BUILD_TYPE=Release -DNOMID_WERROR=ON >/dev/null
cmake --build build-release-check -j2

# libnomid as an installed library: the core alone, installed, README's example built
# from the installed files (pkg-config, static, CMake) and run.
stage install
bash tests/install/run.sh build-install

# ---- all ctest tests (unit + interop) ----
stage ctest
export NOMID_REQUIRE_BROWSER=1  # the topology page's test fails, not skips, without Chromium
set +e
ctest --test-dir "$BUILD" --output-on-failure -j2 2>&1 | tee "$BUILD/ctest.log"
ctest_status=${PIPESTATUS[0]}
set -e

# ---- hostile peers against the Release build (tests/interop/test_hostile.py) ----
# ctest ran the suite on the ASan build (no sanitizer report allowed); this run judges
# each attack's memory growth, which ASan would inflate (NOMID_HOSTILE_RELEASE=1).
stage hostile-release
set +e
NOMID_BIN=build-release-check/nomid NOMID_HOSTILE_RELEASE=1 \
    /usr/bin/python3 tests/interop/test_hostile.py 2>&1 | tee build-release-check/hostile.log
hostile_status=${PIPESTATUS[0]}
set -e

# ---- the drop-in: libzmq's and pyzmq's own test suites on nomid's libzmq.so.5 ----
# The Release build's lib/compat/libzmq.so.5 goes first on LD_LIBRARY_PATH of unchanged
# libzmq programs (libzmq 4.3.4's tests, built from Debian's source package against
# Debian's headers; /usr/bin/python3 with Debian's pyzmq); each result must be what the
# expectations file says (tests/compat/*-expected.txt, with the reason for every test
# expected to fail).  Release, not ASan: those programs are not built with ASan.
stage libzmq-suite
DROPIN=build-release-check/lib/compat
set +e
bash tests/compat/libzmq_suite.sh --lib "$DROPIN" --work "$BUILD/libzmq-suite" --timeout 40 2>&1 |
    tee "$BUILD/libzmq-suite.log"
libzmq_suite_status=${PIPESTATUS[0]}
set -e
stage pyzmq-suite
set +e
bash tests/compat/pyzmq_suite.sh --lib "$DROPIN" --symbol nomid_zmq_version \
    --out "$BUILD/pyzmq-suite" --expect tests/compat/pyzmq-expected.txt 2>&1 |
    tee "$BUILD/pyzmq-suite.log"
pyzmq_suite_status=${PIPESTATUS[0]}
set -e

# ---- ThreadSanitizer: the threaded tests again, on a TSan build ----
# Every unit test (the core's threads, the agent's, the admin's) and the interop tests
# whose nomid processes run the most threads at once, the drop-in's own test (its
# context ends while other threads block in calls), and test_exec and test_exec_curve
# (programs on the drop-in as fleet members: the membership library's threads, its ZAP
# handler's, TSan preloaded into Python).
stage tsan
cmake -S . -B build-tsan -DNOMID_TSAN=ON -DCMAKE_BUILD_TYPE=Debug -DNOMID_WERROR=ON >/dev/null
cmake --build build-tsan -j2
set +e
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
    ctest --test-dir build-tsan --output-on-failure -j2 \
    -R '^unit\.|^interop\.test_(svc|pubsub|admin|admin_https|reconnect|heartbeat|proxy|exec|exec_curve)$|^compat\.test_dropin$' 2>&1 |
    tee build-tsan/ctest.log
tsan_status=${PIPESTATUS[0]}
set -e

# ---- fuzzing: every parser of network input, for a bounded time each ----
stage fuzz
# target|sources|libraries
FUZZ_TARGETS=(
    "zmtp|lib/zmtp/*.c|-lsodium"
    "mech|lib/zmtp/*.c|-lsodium"
    "socks|lib/transport/socks.c|"
    "beacon|discovery/beacon.c|-lsodium"
    "table|discovery/table.c discovery/beacon.c|-lsodium"
    "host|discovery/host_msg.c discovery/beacon.c|-lsodium"
    "etcd|discovery/etcd_json.c discovery/etcd_stream.c discovery/nodeid.c lib/core/keys.c|-ljansson -lsodium"
    "dnssd_txt|discovery/dnssd_txt.c discovery/nodeid.c lib/core/*.c lib/engine/*.c lib/zmtp/*.c lib/protocol/*.c lib/transport/*.c lib/platform/*.c|-lbsd -lsodium"
    "admin_route|admin/route.c admin/assets.c build-test/generated/admin_assets.c|"
    "engine|tests/fuzz/engine_harness.c lib/core/*.c lib/engine/*.c lib/zmtp/*.c lib/protocol/*.c lib/transport/*.c lib/platform/*.c|-lbsd -lsodium -lpthread"
    "cert|discovery/cert.c discovery/cert_save.c lib/core/*.c lib/engine/*.c lib/zmtp/*.c lib/protocol/*.c lib/transport/*.c lib/platform/*.c|-lbsd -lsodium -lpthread"
)
FUZZ_SECONDS=${NOMID_FUZZ_SECONDS:-45}
fuzz_status=0
fuzz_result=""
for entry in "${FUZZ_TARGETS[@]}"; do
    IFS='|' read -r name sources libs <<<"$entry"
    [ -f "tests/fuzz/fuzz_$name.c" ] || continue
    echo "== fuzz: building $BUILD/fuzz_$name"
    # shellcheck disable=SC2086  # sources and libs are word lists on purpose
    clang-14 -g -O1 -std=c11 -D_GNU_SOURCE \
        -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
        -Ilib/include -Ilib -Idiscovery -Iadmin "tests/fuzz/fuzz_$name.c" $sources $libs \
        -o "$BUILD/fuzz_$name"
    # Fuzz a copy of the corpus: what the fuzzer adds stays in the build tree.
    corpus="$BUILD/fuzz-corpus/$name"
    rm -rf "$corpus" "$BUILD/fuzz-artifacts/$name"
    mkdir -p "$corpus" "$BUILD/fuzz-artifacts/$name"
    if [ -d "tests/fuzz/corpus/$name" ]; then
        cp -R "tests/fuzz/corpus/$name/." "$corpus/"
    fi
    # A target's dictionary of tokens, when it has one: tests/fuzz/NAME.dict.
    dict=()
    if [ -f "tests/fuzz/$name.dict" ]; then
        dict=(-dict="tests/fuzz/$name.dict")
    fi
    echo "== fuzz: running fuzz_$name for $FUZZ_SECONDS s"
    set +e
    "$BUILD/fuzz_$name" -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 "${dict[@]}" \
        -artifact_prefix="$BUILD/fuzz-artifacts/$name/" "$corpus"
    st=$?
    set -e
    if [ "$st" -eq 0 ]; then
        fuzz_result+="$name passed ($FUZZ_SECONDS s, no crash); "
    else
        fuzz_result+="$name FAILED (exit $st; inputs in $BUILD/fuzz-artifacts/$name/); "
        fuzz_status=$st
    fi
done

# ---- Docker: the image and the compose fleet of docker/, for real ----
# tests/docker/run.sh starts its own dockerd (data root in $BUILD/docker), and undoes
# what that changed on the host, also when it fails.
stage docker
docker_status=0
if [ "${NOMID_SKIP_DOCKER:-0}" = 1 ]; then
    docker_result="skipped (NOMID_SKIP_DOCKER=1)"
else
    docker_start=$SECONDS
    set +e
    NOMID_DOCKER_DIR="$BUILD/docker" bash tests/docker/run.sh
    docker_status=$?
    set -e
    if [ "$docker_status" -eq 0 ]; then
        docker_result="passed in $((SECONDS - docker_start)) s"
    else
        docker_result="FAILED (exit $docker_status) after $((SECONDS - docker_start)) s; log: $BUILD/docker/"
    fi
fi

# ---- summary: ctest's own closing line comes last, for whoever reads the log ----
# ctest_result LOG: ctest's closing line, then the name of every test that failed.
ctest_result() {
    { grep -E 'tests passed|tests failed' "$1" || echo "no ctest result"; } | tail -n 1 | tr -d '\n'
    { sed -n '/The following tests FAILED:/,$p' "$1" | grep -E '^[[:space:]]+[0-9]+ - ' || true; } |
        sed -E 's/^[[:space:]]+[0-9]+ - / /' | tr -d '\n'
    echo
}
stage ""
echo
echo "== summary"
echo "time:  $STAGE_TIMES"
echo "fuzz:  $fuzz_result"
echo "docker: $docker_result"
echo "libzmq suite: $(grep -E '^libzmq suite:' "$BUILD/libzmq-suite.log" | tail -n 1 | cut -d: -f2-)"
echo "pyzmq suite: $(grep -E '^target:' "$BUILD/pyzmq-suite.log" | tail -n 1)"
echo "tsan:  $(ctest_result build-tsan/ctest.log)"
echo "hostile (release): $(grep -E '^[0-9]+ passed, [0-9]+ failed' build-release-check/hostile.log | tail -n 1)"
ctest_result "$BUILD/ctest.log"
if [ "$ctest_status" -ne 0 ]; then
    exit "$ctest_status"
fi
if [ "$tsan_status" -ne 0 ]; then
    exit "$tsan_status"
fi
if [ "$hostile_status" -ne 0 ]; then
    exit "$hostile_status"
fi
if [ "$libzmq_suite_status" -ne 0 ]; then
    exit "$libzmq_suite_status"
fi
if [ "$pyzmq_suite_status" -ne 0 ]; then
    exit "$pyzmq_suite_status"
fi
if [ "$fuzz_status" -ne 0 ]; then
    exit "$fuzz_status"
fi
exit "$docker_status"
