#!/bin/bash
# tests/run.sh - the one test command (also what .ci/run runs).
#
# As root on a fresh Debian 12: installs what the build and the tests need (skip that
# with NOMID_SKIP_APT=1), configures a Debug build with ASan+UBSan in build-test/,
# builds it, runs every test with ctest (cmocka unit tests and the interop tests against
# libzmq through python3-zmq), then fuzzes the ZMTP decoder for a bounded time when its
# fuzz target exists.  Exits non-zero when a test failed or the fuzzer found a crash.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
    build-essential cmake pkg-config        # the build
    libbsd-dev libcmocka-dev                # lists/trees/strlcpy; unit tests
    libzmq3-dev python3-zmq                 # real ZeroMQ peers for the interop tests
    libmicrohttpd-dev libjansson-dev        # admin endpoint
    libsodium-dev libcurl4-openssl-dev      # signed beacons; etcd backend
    libavahi-client-dev                     # DNS-SD backend
    clang-14 libclang-rt-14-dev             # fuzz targets (libFuzzer + sanitizers)
    iproute2                                # network namespaces for multi-host tests
)

if [ "${NOMID_SKIP_APT:-0}" != 1 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "run.sh: installing packages needs root (or set NOMID_SKIP_APT=1)" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y --no-install-recommends "${PACKAGES[@]}"
fi

BUILD=build-test
cmake -S . -B "$BUILD" -DNOMID_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
cmake --build "$BUILD" -j2

# The Release build must compile too (-O3 sees warnings the Debug build does not).
cmake -S . -B build-release-check -DCMAKE_BUILD_TYPE=Release -DNOMID_TESTS=OFF >/dev/null
cmake --build build-release-check -j2

# ---- all ctest tests (unit + interop) ----
set +e
ctest --test-dir "$BUILD" --output-on-failure -j2 2>&1 | tee "$BUILD/ctest.log"
ctest_status=${PIPESTATUS[0]}
set -e

# ---- fuzzing: the ZMTP decoder, for a bounded time ----
fuzz_status=0
fuzz_result="skipped (tests/fuzz/fuzz_zmtp.c does not exist yet)"
if [ -f tests/fuzz/fuzz_zmtp.c ]; then
    echo "== fuzz: building $BUILD/fuzz_zmtp"
    # shellcheck disable=SC2046  # pkg-config prints several flags on purpose
    clang-14 -g -O1 -std=c11 -D_GNU_SOURCE \
        -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
        -Ilib/include -Ilib $(pkg-config --cflags libbsd-overlay) \
        tests/fuzz/fuzz_zmtp.c lib/zmtp/*.c \
        $(pkg-config --libs libbsd-overlay) -o "$BUILD/fuzz_zmtp"
    # Fuzz a copy of the corpus: what the fuzzer adds stays in the build tree.
    corpus="$BUILD/fuzz-corpus/zmtp"
    rm -rf "$corpus" "$BUILD/fuzz-artifacts"
    mkdir -p "$corpus" "$BUILD/fuzz-artifacts"
    if [ -d tests/fuzz/corpus/zmtp ]; then
        cp -R tests/fuzz/corpus/zmtp/. "$corpus/"
    fi
    echo "== fuzz: running fuzz_zmtp for 60 s"
    set +e
    "$BUILD/fuzz_zmtp" -max_total_time=60 -print_final_stats=1 \
        -artifact_prefix="$BUILD/fuzz-artifacts/" "$corpus"
    fuzz_status=$?
    set -e
    if [ "$fuzz_status" -eq 0 ]; then
        fuzz_result="passed (60 s, no crash)"
    else
        fuzz_result="FAILED (exit $fuzz_status; crashing inputs in $BUILD/fuzz-artifacts/)"
    fi
fi

# ---- summary: ctest's own closing line comes last, for whoever reads the log ----
echo
echo "== summary"
echo "fuzz:  $fuzz_result"
grep -E 'tests passed|tests failed' "$BUILD/ctest.log" | tail -n 1 || echo "ctest exited $ctest_status"
if [ "$ctest_status" -ne 0 ]; then
    exit "$ctest_status"
fi
exit "$fuzz_status"
