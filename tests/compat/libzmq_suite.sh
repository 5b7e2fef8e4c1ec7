#!/bin/bash
# tests/compat/libzmq_suite.sh - libzmq 4.3.4's own test suite, run against a chosen
# libzmq.so.5 (issue 13, "The external suites").
#
# What it does, as root on Debian 12:
#   1. fetch: adds a deb-src entry for the host's own Debian mirror and suites (its own
#      file in /etc/apt/sources.list.d/), installs the build tools and libzmq3-dev, and
#      runs `apt-get source zeromq3` for the version of the installed libzmq5, into the
#      work dir. Cached: a second run fetches nothing and runs no apt at all.
#   2. build: compiles libzmq's tests/test_*.cpp, its testutil*.cpp helpers and the unity
#      framework (external/unity) against Debian's installed zmq.h, linked with -lzmq: each
#      binary is a real libzmq program, dynamically linked to libzmq.so.5. libzmq itself
#      is not built. A generated Makefile, run with -j2, rebuilds only what changed.
#   3. run: runs every eligible test (see libzmq-expected.txt) one after the other, each
#      with a timeout, in a network namespace of its own that holds only a loopback
#      interface (nothing a test sends can leave the machine, and the fixed ports some
#      tests use, 5555-5561, cannot collide with other processes on the host), with --lib
#      DIR first on LD_LIBRARY_PATH. LD_DEBUG=libs tells which libzmq.so.5 each test
#      really loaded: a test that loaded another one fails the run, whatever its result.
#   4. compare: against Debian's libzmq (no --lib) every eligible test must pass; with
#      --lib each result must match its line in libzmq-expected.txt. Prints a summary
#      (counts, differences, the time of each phase); exits 1 when anything differs.
#
# Usage (from anywhere; paths are taken relative to the current directory):
#   tests/compat/libzmq_suite.sh                      # baseline: Debian's libzmq
#   tests/compat/libzmq_suite.sh --lib build-release/lib/compat   # nomid's drop-in
#   options:
#     --lib DIR        put DIR first on LD_LIBRARY_PATH; DIR/libzmq.so.5 must be what
#                      every test loads. Results are compared with the EXPECT column.
#     --baseline       expect every eligible test to pass, even with --lib (a DIR that
#                      holds a real libzmq).
#     --expect FILE    the expectations file (default: libzmq-expected.txt beside this
#                      script).
#     --work DIR       work dir: source, build, logs (default: build-test/libzmq-suite,
#                      or $NOMID_LIBZMQ_SUITE_DIR).
#     --only REGEX     run only the eligible tests whose name matches (grep -E).
#     --timeout SECS   per-test timeout (default 100). Each test also arms its own
#                      alarm(60) (90 for test_heartbeats): a hang ends as SIGALRM.
#     --jobs N         build jobs (default 2).
#     --no-netns       run the tests in the host's network namespace (when unshare is
#                      not allowed; the tests then use the host's loopback).
#   environment: NOMID_SKIP_APT=1 runs no apt-get at all (the source must then be cached
#   in the work dir, and g++, make, libzmq3-dev and iproute2 installed).
#
# Output: WORK/logs/results.txt (NAME RESULT EXIT SECONDS UNITY-COUNTS LIBRARY, one line a
# test), WORK/logs/NAME.log (the test's whole output), WORK/logs/NAME.ld/ (LD_DEBUG's
# files), WORK/build/build.log (compiler output). The tails of unexpected results are
# printed.
#
# Cost on 2 shared cores (measured): fetch 5 s the first time (apt-get update for the
# deb-src entry and apt-get source; 1 s when cached), build 58 s from scratch with -j2
# (1 s when nothing changed), run 171 s for the 90 eligible tests on Debian's libzmq,
# one after the other (test_heartbeats 37 s and test_security_zap 34 s are a third of
# it; on a library where a test hangs, each hang costs its 60 s alarm). About 4 minutes
# in all the first time, 3 minutes after.
#
# tests/run.sh runs it as its stage libzmq-suite, with --lib the Release build's
# lib/compat (the test binaries are not built with ASan, so an ASan library cannot load
# into them), and repeats the last line, which names every difference, in its summary.
#
# By hand: as root, from the repository, `bash tests/compat/libzmq_suite.sh` proves the
# harness on Debian's libzmq; `--lib DIR --only 'pair|reqrep'` runs a few tests on a
# drop-in while working on it; a failed test's whole output is in
# build-test/libzmq-suite/logs/NAME.log and its binary in build-test/libzmq-suite/build/bin/
# (run it by hand with LD_LIBRARY_PATH=DIR, under gdb if need be; it was built with -g).
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "$0")" && pwd)
PKG=zeromq3                       # Debian's source package of libzmq
APT_SRC_FILE=/etc/apt/sources.list.d/nomid-libzmq-suite-src.sources
APT_PACKAGES=(g++ make dpkg-dev libzmq3-dev iproute2)

LIB_DIR=""
BASELINE=0
EXPECT_FILE="$SCRIPT_DIR/libzmq-expected.txt"
WORK=${NOMID_LIBZMQ_SUITE_DIR:-build-test/libzmq-suite}
ONLY=""
TIMEOUT=100 # above the tests' own alarm() (60 s; 90 s for test_heartbeats)
JOBS=2
NETNS=1

die() {
    echo "libzmq_suite: $*" >&2
    exit 2
}

usage() {
    sed -n '/^# Usage/,/^# Output/p' "$0" | sed '$d; s/^# \{0,1\}//'
    exit "${1:-0}"
}

parse_args() {
    while [ $# -gt 0 ]; do
        case $1 in
        --lib) LIB_DIR=${2:?--lib needs a directory}; shift ;;
        --baseline) BASELINE=1 ;;
        --expect) EXPECT_FILE=${2:?--expect needs a file}; shift ;;
        --work) WORK=${2:?--work needs a directory}; shift ;;
        --only) ONLY=${2:?--only needs a pattern}; shift ;;
        --timeout) TIMEOUT=${2:?--timeout needs seconds}; shift ;;
        --jobs) JOBS=${2:?--jobs needs a number}; shift ;;
        --no-netns) NETNS=0 ;;
        -h | --help) usage 0 ;;
        *) echo "libzmq_suite: unknown argument: $1" >&2; usage 2 ;;
        esac
        shift
    done
    [ -f "$EXPECT_FILE" ] || die "no expectations file $EXPECT_FILE"
    EXPECT_FILE=$(realpath "$EXPECT_FILE")
    mkdir -p "$WORK"
    WORK=$(realpath "$WORK")
    if [ -n "$LIB_DIR" ]; then
        [ -e "$LIB_DIR/libzmq.so.5" ] || die "no libzmq.so.5 in --lib $LIB_DIR"
        LIB_DIR=$(realpath "$LIB_DIR")
    else
        BASELINE=1 # Debian's libzmq is the reference: every eligible test passes on it
    fi
}

# ---------------------------------------------------------------- fetch

# The host's Debian sources, as deb-src: every `deb` entry (one-line or deb822) whose
# suite is this release's (bookworm, bookworm-updates, bookworm-security...), so the
# source comes from the same mirror as the installed binaries. Third-party repositories
# (other suites) are left out: most publish no sources, and apt-get update would fail.
host_deb_src_entries() {
    local codename
    # shellcheck source=/dev/null
    codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
    [ -n "$codename" ] || die "cannot tell the Debian release from /etc/os-release"
    local files=()
    [ -f /etc/apt/sources.list ] && files+=(/etc/apt/sources.list)
    local f
    for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] && [ "$f" != "$APT_SRC_FILE" ] && files+=("$f")
    done
    [ ${#files[@]} -gt 0 ] || die "no apt sources found"
    # Prints deb822 stanzas. awk reads both formats: a .sources file is stanzas of
    # "Key: value" lines separated by blank lines; a .list file is one entry a line.
    awk -v codename="$codename" '
        function suite_ok(s) { return s ~ ("^" codename "(-[a-z]+)?/?$") }
        function emit(uris, suites, comps, signed,    n, i, list, keep) {
            n = split(suites, list, /[ \t]+/); keep = ""
            for (i = 1; i <= n; i++) if (list[i] != "" && suite_ok(list[i])) keep = keep " " list[i]
            if (keep == "" || uris == "" || comps == "") return
            printf "Types: deb-src\nURIs: %s\nSuites:%s\nComponents: %s\n", uris, keep, comps
            if (signed != "") printf "Signed-By: %s\n", signed
            printf "\n"
        }
        function flush() {
            if (types ~ /(^|[ \t])deb([ \t]|$)/ && tolower(enabled) != "no") emit(uris, suites, comps, signed)
            types = uris = suites = comps = signed = enabled = ""
        }
        FILENAME ~ /\.sources$/ {
            if (FNR == 1) flush()
            if ($0 ~ /^[ \t]*$/) { flush(); next }
            if ($0 ~ /^#/) next
            # A continuation line (an inline Signed-By key block) belongs to the last key.
            if ($0 ~ /^[ \t]/) { if (key == "Signed-By") signed = signed "\n" $0; next }
            key = $0; sub(/:.*/, "", key); val = $0; sub(/^[^:]*:[ \t]*/, "", val)
            if (key == "Types") types = val
            else if (key == "URIs") uris = val
            else if (key == "Suites") suites = val
            else if (key == "Components") comps = val
            else if (key == "Signed-By") signed = val
            else if (key == "Enabled") enabled = val
            next
        }
        FILENAME !~ /\.sources$/ {
            if (FNR == 1) flush()
            if ($1 != "deb") next
            line = $0; sub(/^[ \t]*deb[ \t]+/, "", line)
            signed = ""
            if (line ~ /^\[/) {          # [ options ]: keep signed-by, drop the rest
                opts = line; sub(/\].*/, "", opts); sub(/^\[/, "", opts)
                sub(/^\[[^]]*\][ \t]*/, "", line)
                if (match(opts, /signed-by=[^ \t]+/)) signed = substr(opts, RSTART + 10, RLENGTH - 10)
            }
            n = split(line, w, /[ \t]+/)
            comps = ""; for (i = 3; i <= n; i++) comps = comps (i > 3 ? " " : "") w[i]
            emit(w[1], w[2], comps, signed)
            signed = ""
        }
        END { flush() }
    ' "${files[@]}"
}

# The build tools, Debian's libzmq headers and iproute2 (ip, for the namespaces): only
# what is missing, so a machine that has them runs no apt-get at all.
ensure_packages() {
    [ "${NOMID_SKIP_APT:-0}" = 1 ] && return
    local missing=() p
    for p in "${APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
            missing+=("$p")
    done
    [ ${#missing[@]} -gt 0 ] || return 0
    [ "$(id -u)" -eq 0 ] || die "installing ${missing[*]} needs root (or set NOMID_SKIP_APT=1)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# Writes the deb-src entry (its own file); apt-get update only when the entry is new or
# changed, or apt knows no source for the package yet.
ensure_deb_src() {
    [ "$(id -u)" -eq 0 ] || die "adding a deb-src entry needs root (or set NOMID_SKIP_APT=1)"
    local want changed=0
    want=$(host_deb_src_entries)
    [ -n "$want" ] || die "found no Debian entry in the apt sources to mirror as deb-src"
    if [ ! -f "$APT_SRC_FILE" ] || [ "$(cat "$APT_SRC_FILE")" != "$want" ]; then
        printf '%s\n' "$want" >"$APT_SRC_FILE"
        echo "libzmq_suite: wrote $APT_SRC_FILE"
        changed=1
    fi
    if [ $changed -eq 1 ] || [ -z "$(apt-cache showsrc "$PKG" 2>/dev/null)" ]; then
        apt-get update -q
    fi
}

# The source of the installed libzmq5 (same version: its tests match that library),
# unpacked with Debian's patches into WORK/apt/; sets SRC to its directory.
fetch_source() {
    ensure_packages
    local version
    version=$(dpkg-query -W -f='${source:Version}' libzmq5 2>/dev/null) ||
        die "libzmq5 is not installed"
    SRC_VERSION=$version
    local stamp="$WORK/apt/.fetched-$version"
    if [ ! -f "$stamp" ]; then
        [ "${NOMID_SKIP_APT:-0}" != 1 ] || die "no cached source in $WORK/apt and NOMID_SKIP_APT=1"
        ensure_deb_src
        rm -rf "$WORK/apt"
        mkdir -p "$WORK/apt"
        # Sandbox::User=root: the files land in a root-owned dir that _apt cannot write.
        (cd "$WORK/apt" && apt-get source -q -o APT::Sandbox::User=root "$PKG=$version")
        touch "$stamp"
    else
        echo "libzmq_suite: source $PKG $version cached in $WORK/apt"
    fi
    SRC=$(find "$WORK/apt" -mindepth 1 -maxdepth 1 -type d -name "$PKG-*" | head -n 1)
    if [ -z "$SRC" ] || [ ! -f "$SRC/tests/testutil.cpp" ]; then
        die "no $PKG-*/tests in $WORK/apt"
    fi
}

# ---------------------------------------------------------------- build

# The test sources include "../include/zmq.h" and "../src/platform.hpp" relative to
# themselves, so they are compiled from a copy of tests/ in WORK/stage/tests, beside an
# include/ whose zmq.h is Debian's installed one and a src/ holding platform.hpp (what
# Debian's configure found, below) and stdint.hpp. `cp -p` keeps the times, so make
# rebuilds nothing after a second staging.
stage_sources() {
    STAGE="$WORK/stage"
    mkdir -p "$STAGE/include" "$STAGE/src" "$STAGE/tests"
    ln -sfn /usr/include/zmq.h "$STAGE/include/zmq.h"
    ln -sfn /usr/include/zmq_utils.h "$STAGE/include/zmq_utils.h"
    cp -p "$SRC/src/stdint.hpp" "$STAGE/src/"
    cp -p "$SRC"/tests/*.cpp "$SRC"/tests/*.hpp "$STAGE/tests/"
    if ! cmp -s "$SRC/include/zmq.h" /usr/include/zmq.h; then
        echo "libzmq_suite: note: the source's zmq.h differs from /usr/include/zmq.h; the tests use the installed one"
    fi
    write_platform_hpp "$STAGE/src/platform.hpp.new"
    if cmp -s "$STAGE/src/platform.hpp.new" "$STAGE/src/platform.hpp"; then
        rm "$STAGE/src/platform.hpp.new"
    else
        mv "$STAGE/src/platform.hpp.new" "$STAGE/src/platform.hpp"
    fi
}

# The build configuration the tests are compiled for: what debian/rules' configure
# (--with-pgm --with-libsodium --with-norm=yes --with-libgssapi_krb5=yes, no drafts) puts
# in libzmq's platform.hpp, limited to the macros the tests read. test_capabilities
# compares these with zmq_has(); check_platform_hpp checks them against the installed
# library.
write_platform_hpp() {
    cat >"$1" <<'EOF'
/* Written by nomid's tests/compat/libzmq_suite.sh: Debian 12's libzmq 4.3.4 build. */
#ifndef __ZMQ_PLATFORM_HPP_INCLUDED__
#define __ZMQ_PLATFORM_HPP_INCLUDED__
#define ZMQ_HAVE_LINUX 1
#define ZMQ_HAVE_IPC 1
#define ZMQ_HAVE_UIO 1
#define ZMQ_HAVE_SO_PEERCRED 1
#define ZMQ_HAVE_SO_PRIORITY 1
#define ZMQ_HAVE_CURVE 1
#define ZMQ_USE_LIBSODIUM 1
#define ZMQ_HAVE_OPENPGM 1
#define ZMQ_HAVE_NORM 1
#define ZMQ_HAVE_TIPC 1
#define HAVE_LIBGSSAPI_KRB5 1
#define HAVE_FORK 1
#define HAVE_MKDTEMP 1
#endif
EOF
}

# The zmq_has() answers of the installed libzmq must be the ones platform.hpp states,
# else the harness, not the library, would fail test_capabilities and test_sodium.
check_platform_hpp() {
    local probe="$BUILD/probe_has"
    cat >"$probe.c" <<'EOF'
#include <stdio.h>
#include <zmq.h>
int main (void)
{
    const char *caps[] = {"ipc", "pgm", "tipc", "norm", "curve", "gssapi", "vmci", "draft"};
    for (unsigned i = 0; i < sizeof caps / sizeof caps[0]; i++)
        if (zmq_has (caps[i]))
            printf ("%s ", caps[i]);
    printf ("\n");
    return 0;
}
EOF
    gcc -o "$probe" "$probe.c" -lzmq
    local has
    has=$(env -u LD_LIBRARY_PATH "$probe")
    if [ "$has" != "ipc pgm tipc norm curve gssapi " ]; then
        die "the installed libzmq has: $has; platform.hpp in this script says ipc pgm tipc norm curve gssapi"
    fi
}

# A Makefile for the eligible tests: unity and testutil*.cpp into libtestutil.a, one
# binary a test. test_security_curve also compiles four of libzmq's own sources (its
# hand-made CURVE client: tweetnacl, random, err, clock), as upstream's build does; they
# go in an archive linked with --exclude-libs so that the binary does not export them:
# exported, they would replace Debian's libzmq's internal functions of the same names
# (its random_open() that initialises libsodium) and abort it.
write_makefile() {
    local tests=("$@")
    {
        echo "# Generated by tests/compat/libzmq_suite.sh; do not edit."
        echo "SRC := $SRC"
        echo "STAGE := $STAGE"
        echo "TESTS := ${tests[*]}"
        cat <<'EOF'
CC := gcc
CXX := g++
CPPFLAGS := -I$(STAGE)/src -I$(SRC)/external/unity \
            -DUNITY_USE_COMMAND_LINE_ARGS -DUNITY_EXCLUDE_FLOAT
CFLAGS := -O2 -g
CXXFLAGS := -O2 -g -pthread
DEPFLAGS = -MMD -MP -MF $(@:.o=.d)
TESTUTIL := testutil testutil_unity testutil_monitoring testutil_security
CURVE_TOOLS := err random clock

all: $(addprefix bin/,$(TESTS))

obj/%.o: $(STAGE)/tests/%.cpp | obj
	$(CXX) $(CPPFLAGS) $(CXXFLAGS) $(DEPFLAGS) -c $< -o $@
obj/unity.o: $(SRC)/external/unity/unity.c | obj
	$(CC) $(CPPFLAGS) $(CFLAGS) $(DEPFLAGS) -c $< -o $@
libtestutil.a: $(addprefix obj/,$(addsuffix .o,$(TESTUTIL))) obj/unity.o
	rm -f $@ && ar rcs $@ $^

obj/curve/%.o: $(SRC)/src/%.cpp | obj
	$(CXX) $(CPPFLAGS) -I$(SRC)/src -DZMQ_USE_TWEETNACL $(CXXFLAGS) $(DEPFLAGS) -c $< -o $@
obj/curve/tweetnacl.o: $(SRC)/src/tweetnacl.c | obj
	$(CC) $(CPPFLAGS) -I$(SRC)/src -DZMQ_USE_TWEETNACL $(CFLAGS) $(DEPFLAGS) -c $< -o $@
libcurvetools.a: $(addprefix obj/curve/,$(addsuffix .o,$(CURVE_TOOLS))) obj/curve/tweetnacl.o
	rm -f $@ && ar rcs $@ $^
obj/test_security_curve.o: CPPFLAGS += -I$(SRC)/src

bin/test_security_curve: obj/test_security_curve.o libtestutil.a libcurvetools.a | bin
	$(CXX) $(CXXFLAGS) $< libtestutil.a libcurvetools.a -Wl,--exclude-libs,libcurvetools.a -lzmq -o $@
bin/%: obj/%.o libtestutil.a | bin
	$(CXX) $(CXXFLAGS) $< libtestutil.a -lzmq -o $@

obj bin:
	mkdir -p obj/curve bin

.SECONDARY:
-include $(wildcard obj/*.d obj/curve/*.d)
EOF
    } >"$BUILD/Makefile.new"
    if cmp -s "$BUILD/Makefile.new" "$BUILD/Makefile"; then
        rm "$BUILD/Makefile.new"
    else
        mv "$BUILD/Makefile.new" "$BUILD/Makefile"
    fi
}

build_tests() {
    BUILD="$WORK/build"
    mkdir -p "$BUILD"
    stage_sources
    check_platform_hpp
    write_makefile "${ELIGIBLE[@]}"
    echo "libzmq_suite: building ${#ELIGIBLE[@]} tests with make -j$JOBS (log: $BUILD/build.log)"
    if ! make -C "$BUILD" -k -j"$JOBS" >"$BUILD/build.log" 2>&1; then
        grep -E 'error|Error' "$BUILD/build.log" | head -n 30 >&2
        die "the build failed; see $BUILD/build.log"
    fi
    BUILT=0
    local t
    for t in "${ELIGIBLE[@]}"; do
        [ -x "$BUILD/bin/$t" ] && BUILT=$((BUILT + 1))
    done
}

# ---------------------------------------------------------------- expectations

# Reads the expectations file into EXPECT[name], REASON[name]; lists the eligible tests
# (in the file's order) in ELIGIBLE, filtered by --only. Every test source needs a line,
# and every line a source.
read_expectations() {
    declare -gA EXPECT=() REASON=()
    declare -ga ELIGIBLE=() ALL_TESTS=()
    local name expect reason n=0 bad=0
    while read -r name expect reason; do
        n=$((n + 1))
        case $name in '' | '#'*) continue ;; esac
        case $expect in
        pass) ;;
        fail | skip | flaky)
            if [[ ! $reason =~ ^[a-z0-9_-]+:\ . ]]; then
                echo "libzmq_suite: $EXPECT_FILE:$n: $name: $expect needs a reason 'category: text'" >&2
                bad=1
            fi
            ;;
        *) echo "libzmq_suite: $EXPECT_FILE:$n: $name: expected pass, fail, flaky or skip, not '$expect'" >&2; bad=1 ;;
        esac
        [ -z "${EXPECT[$name]:-}" ] || { echo "libzmq_suite: $EXPECT_FILE:$n: $name listed twice" >&2; bad=1; }
        EXPECT[$name]=$expect
        REASON[$name]=$reason
        ALL_TESTS+=("$name")
    done <"$EXPECT_FILE"
    local src
    for src in "$SRC"/tests/test_*.cpp; do
        name=$(basename "$src" .cpp)
        if [ -z "${EXPECT[$name]:-}" ]; then
            echo "libzmq_suite: $name (tests/$name.cpp) has no line in $EXPECT_FILE" >&2
            bad=1
        fi
    done
    for name in "${ALL_TESTS[@]}"; do
        if [ ! -f "$SRC/tests/$name.cpp" ]; then
            echo "libzmq_suite: $EXPECT_FILE names $name, which the source package lacks" >&2
            bad=1
        fi
        [ "${EXPECT[$name]}" = skip ] && continue
        if [ -n "$ONLY" ] && ! grep -qE -- "$ONLY" <<<"$name"; then
            continue
        fi
        ELIGIBLE+=("$name")
    done
    [ $bad -eq 0 ] || die "fix $EXPECT_FILE"
    [ ${#ELIGIBLE[@]} -gt 0 ] || die "no eligible test matches --only '$ONLY'"
}

# ---------------------------------------------------------------- run

# The libzmq.so.5 every test must load: DIR/libzmq.so.5 with --lib, else the one the
# system's linker cache names. Compared as real paths.
expected_library() {
    if [ -n "$LIB_DIR" ]; then
        realpath "$LIB_DIR/libzmq.so.5"
    else
        local p
        p=$(ldconfig -p | awk '$1 == "libzmq.so.5" && /x86-64|x86_64|64bit/ { print $NF; exit }')
        [ -n "$p" ] || p=$(ldconfig -p | awk '$1 == "libzmq.so.5" { print $NF; exit }')
        [ -n "$p" ] || die "ldconfig knows no libzmq.so.5"
        realpath "$p"
    fi
}

# The libzmq.so.5 files a test's processes initialised, from LD_DEBUG=libs output
# ("calling init: /path/libzmq.so.5"), as real paths, one a line.
loaded_libraries() {
    local f p
    for f in "$1"/ld.*; do
        [ -f "$f" ] || continue
        sed -n 's/^ *[0-9]*:[[:space:]]*calling init: \(.*libzmq\.so[^ ]*\).*/\1/p' "$f"
    done | sort -u | while read -r p; do realpath "$p"; done | sort -u
}

# Whether this machine lets us give each test its own network namespace.
check_netns() {
    [ $NETNS -eq 1 ] || return 0
    if ! unshare --net -- ip link set lo up 2>/dev/null; then
        die "cannot create a network namespace (needs root and iproute2); use --no-netns to run on the host's loopback"
    fi
}

# Runs one test: its own empty working dir (ipc:// files land there), its own network
# namespace with loopback up, the timeout around everything. LD_DEBUG and the library
# path apply to the test binary only (env is the last exec before it, but for stdbuf,
# which line-buffers the test's stdout so that a killed test's log still shows the last
# unity test that finished).
run_one() {
    local name=$1 bin="$BUILD/bin/$1" log="$LOGS/$1.log" lddir="$LOGS/$1.ld"
    local cwd="$WORK/run/$name"
    rm -rf "$cwd" "$lddir"
    mkdir -p "$cwd" "$lddir"
    local envs=(LD_DEBUG=libs "LD_DEBUG_OUTPUT=$lddir/ld")
    if [ -n "$LIB_DIR" ]; then
        envs+=("LD_LIBRARY_PATH=$LIB_DIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}")
    fi
    local wrap=()
    if [ $NETNS -eq 1 ]; then
        # unshare execs (no fork), so the timeout's signal reaches the test itself.
        wrap=(unshare --net -- sh -c 'ip link set lo up && exec "$@"' sh)
    fi
    local start=$EPOCHREALTIME rc=0
    (cd "$cwd" && exec timeout -k 5 "$TIMEOUT" "${wrap[@]}" \
        env -u LD_LIBRARY_PATH "${envs[@]}" stdbuf -oL "$bin") >"$log" 2>&1 </dev/null || rc=$?
    local secs
    secs=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')

    local result
    case $rc in
    0) result=pass ;;
    77) result=skipped ;; # the test skipped itself (libzmq's convention)
    124) result=timeout ;;
    142) result=timeout ;; # SIGALRM: the test's own alarm() (testutil's 60 s) went off
    137) if awk -v s="$secs" -v t="$TIMEOUT" 'BEGIN { exit !(s >= t) }'; then result=timeout; else result=fail; fi ;;
    *) result=fail ;;
    esac
    local unity
    # Unity's closing line: "N Tests M Failures K Ignored" (a few tests do not use unity).
    unity=$(awk '/^[0-9]+ Tests [0-9]+ Failures [0-9]+ Ignored/ { u = $1 "/" $3 "/" $5 }
                 END { print u }' "$log")
    local libs lib_ok=yes
    libs=$(loaded_libraries "$lddir")
    if [ "$libs" != "$WANT_LIB" ]; then
        lib_ok=no
        WRONG_LIB+=("$name loaded: ${libs:-no libzmq.so.5 at all}")
    fi
    [ "$result" = pass ] && rm -rf "$cwd"
    printf '%-30s %-8s %4s %6s %-9s %s\n' "$name" "$result" "$rc" "$secs" "${unity:--}" \
        "$([ $lib_ok = yes ] && echo lib-ok || echo "WRONG-LIB ${libs//$'\n'/,}")" >>"$LOGS/results.txt"
    RESULT[$name]=$result
    EXIT[$name]=$rc
    printf '  %-30s %-8s %6s s\n' "$name" "$result$([ "$rc" -ne 0 ] && echo " ($rc)")" "$secs"
}

run_tests() {
    LOGS="$WORK/logs"
    rm -rf "$LOGS" "$WORK/run"
    mkdir -p "$LOGS"
    WANT_LIB=$(expected_library)
    check_netns
    declare -gA RESULT=() EXIT=()
    declare -ga WRONG_LIB=()
    printf '# NAME RESULT EXIT SECONDS UNITY(tests/failures/ignored) LIBRARY\n' >"$LOGS/results.txt"
    echo "libzmq_suite: running ${#ELIGIBLE[@]} tests against $WANT_LIB" \
        "(timeout ${TIMEOUT} s each$([ $NETNS -eq 1 ] && echo ", own network namespace"))"
    local t
    for t in "${ELIGIBLE[@]}"; do
        run_one "$t"
    done
}

# ---------------------------------------------------------------- compare and summary

compare_and_summarise() {
    local t want got passed=0 failed=0 timedout=0 selfskip=0 diffs=()
    for t in "${ELIGIBLE[@]}"; do
        got=${RESULT[$t]}
        case $got in
        pass) passed=$((passed + 1)) ;;
        timeout) timedout=$((timedout + 1)) ;;
        skipped) selfskip=$((selfskip + 1)) ;;
        *) failed=$((failed + 1)) ;;
        esac
        if [ $BASELINE -eq 1 ]; then want=pass; else want=${EXPECT[$t]}; fi
        # "fail" in the file stands for any result but pass.
        if { [ "$want" = pass ] && [ "$got" != pass ]; } || { [ "$want" = fail ] && [ "$got" = pass ]; }; then
            diffs+=("$t: expected $want, got $got (exit ${EXIT[$t]})${REASON[$t]:+; the file says: ${REASON[$t]}}")
        fi
    done

    # The skips, grouped by the category their reason starts with.
    local skipped=0 cats
    declare -A bycat=()
    for t in "${ALL_TESTS[@]}"; do
        [ "${EXPECT[$t]}" = skip ] || continue
        skipped=$((skipped + 1))
        local c=${REASON[$t]%%:*}
        bycat[$c]=$((${bycat[$c]:-0} + 1))
    done
    cats=$(for c in "${!bycat[@]}"; do printf '%s %s, ' "$c" "${bycat[$c]}"; done | sed 's/, $//')

    if [ ${#diffs[@]} -gt 0 ]; then
        echo
        echo "== tails of the unexpected results (whole logs in $LOGS/)"
        for t in "${ELIGIBLE[@]}"; do
            for d in "${diffs[@]}"; do
                [ "${d%%:*}" = "$t" ] || continue
                echo "--- $t (${RESULT[$t]}, exit ${EXIT[$t]}):"
                tail -n 15 "$LOGS/$t.log" | sed 's/^/    /'
            done
        done
    fi
    echo
    echo "== libzmq suite ($PKG $SRC_VERSION tests; library $WANT_LIB$([ -n "$LIB_DIR" ] && echo " from --lib"))"
    echo "sources: ${#ALL_TESTS[@]}; skipped (not eligible) $skipped: $cats"
    echo "eligible: $((${#ALL_TESTS[@]} - skipped))$([ -n "$ONLY" ] && echo "; selected by --only: ${#ELIGIBLE[@]}"); built $BUILT"
    echo "ran ${#ELIGIBLE[@]}: passed $passed, failed $failed, timed out $timedout, skipped themselves $selfskip"
    echo "time: fetch ${T_FETCH} s, build ${T_BUILD} s, run ${T_RUN} s"
    echo "expectations: $([ $BASELINE -eq 1 ] && echo "baseline (every eligible test passes)" || echo "$EXPECT_FILE")"
    local status=0
    if [ ${#WRONG_LIB[@]} -gt 0 ]; then
        echo "WRONG LIBRARY: these tests did not load $WANT_LIB:"
        printf '  %s\n' "${WRONG_LIB[@]}"
        status=1
    fi
    if [ ${#diffs[@]} -gt 0 ]; then
        echo "DIFFERENCES (${#diffs[@]}):"
        printf '  %s\n' "${diffs[@]}"
        status=1
    fi
    # One line that says it all (tests/run.sh repeats it in its summary): with the names.
    local names=""
    [ ${#diffs[@]} -gt 0 ] && names=" ($(printf '%s\n' "${diffs[@]}" | sed 's/: expected \([a-z]*\), got \([a-z]*\).*/ \1->\2/' | paste -sd, | sed 's/,/, /g'))"
    echo "libzmq suite: $passed/${#ELIGIBLE[@]} passed, ${#diffs[@]} differences from the expectations$names," \
        "${#WRONG_LIB[@]} wrong-library runs; $([ $status -eq 0 ] && echo OK || echo FAILED)"
    return $status
}

main() {
    parse_args "$@"
    local t0=$SECONDS
    fetch_source
    T_FETCH=$((SECONDS - t0))
    read_expectations
    t0=$SECONDS
    build_tests
    T_BUILD=$((SECONDS - t0))
    t0=$SECONDS
    run_tests
    T_RUN=$((SECONDS - t0))
    compare_and_summarise
}

main "$@"
