#!/bin/bash
# tests/install/run.sh - libnomid as an installed library, checked from the outside:
# configures and builds the core alone (-DNOMID_DISCOVERY=OFF -DNOMID_ADMIN=OFF, which
# must not even look for discovery's and admin's libraries), installs it into a scratch
# prefix, checks what was installed (SONAME, only nm_* symbols exported, nomid.h,
# nomid.pc, the CMake package), then builds README's example program (the ```c block
# under "libnomid, the library", taken from README itself) from the installed files
# three ways and runs each: `cc app.c $(pkg-config --cflags --libs nomid)`, the same
# with the static archive, and a CMake project using find_package(nomid).
#
# Usage: tests/install/run.sh WORKDIR   (tests/run.sh: its `install` stage)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
WORK=$(realpath -m "${1:?usage: tests/install/run.sh WORKDIR}")
BUILD=$WORK/build
PREFIX=$WORK/prefix
APP=$WORK/app

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

rm -rf "$WORK"
mkdir -p "$APP"

echo "== install: the core alone (Release)"
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DNOMID_WERROR=ON -DNOMID_DISCOVERY=OFF \
    -DNOMID_ADMIN=OFF -DNOMID_TESTS=OFF >"$WORK/configure.log"
for dep in CURL JANSSON AVAHI MHD; do  # libsodium is the core's own (CURVE)
    if grep -q "^${dep}_FOUND" "$BUILD/CMakeCache.txt"; then
        fail "a core-only build looked for $dep"
    fi
done
cmake --build "$BUILD" -j2 >"$WORK/build.log"
cmake --install "$BUILD" --prefix "$PREFIX" >"$WORK/install.log"

echo "== install: what was installed"
LIBDIR=$(dirname "$(find "$PREFIX" -name 'libnomid.so.*.*.*' | head -n 1)")
[ -d "$LIBDIR" ] || fail "no libnomid.so.X.Y.Z under $PREFIX"
for f in "$PREFIX/include/nomid.h" "$LIBDIR/libnomid.a" "$LIBDIR/libnomid.so" \
    "$LIBDIR/pkgconfig/nomid.pc" "$LIBDIR/cmake/nomid/nomidConfig.cmake"; do
    [ -e "$f" ] || fail "not installed: $f"
done
soname=$(readelf -d "$LIBDIR/libnomid.so" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
[ -e "$LIBDIR/$soname" ] || fail "SONAME $soname has no link in $LIBDIR"
others=$(nm -D --defined-only "$LIBDIR/libnomid.so" | awk '{print $3}' | grep -v '^nm_' || true)
[ -z "$others" ] || fail "libnomid.so exports more than nm_*: $others"
echo "SONAME $soname, $(nm -D --defined-only "$LIBDIR/libnomid.so" | grep -c ' nm_') nm_* symbols"

# README's example, verbatim.
awk '/^## libnomid, the library/ { in_sec = 1 } /^## / && !/libnomid/ { in_sec = 0 }
     in_sec && /^```c$/ { code = 1; next } code && /^```$/ { exit } code { print }' \
    README.md >"$APP/app.c"
[ -s "$APP/app.c" ] || fail "no \`\`\`c block under README's \"libnomid, the library\""

check_app() { # check_app LABEL PROGRAM
    local out
    out=$(LD_LIBRARY_PATH=$LIBDIR "$2") || fail "$1: the example exited with $?"
    [[ $out == "hello from libnomid "*" over tcp://127.0.0.1:"* ]] || fail "$1: printed '$out'"
    echo "ok $1: $out"
}

echo "== install: README's example, built from the installed files"
export PKG_CONFIG_PATH=$LIBDIR/pkgconfig
# shellcheck disable=SC2046  # pkg-config's output is a list of flags
cc "$APP/app.c" $(pkg-config --cflags --libs nomid) -o "$APP/app-shared"
# ldd's output is taken whole: grep -q leaving early would fail the pipe (pipefail).
deps=$(LD_LIBRARY_PATH=$LIBDIR ldd "$APP/app-shared")
grep -q "$LIBDIR/libnomid.so" <<<"$deps" || fail "app-shared does not load $LIBDIR's libnomid"
check_app "pkg-config (libnomid.so)" "$APP/app-shared"
# shellcheck disable=SC2046
cc "$APP/app.c" $(pkg-config --cflags nomid) "$LIBDIR/libnomid.a" \
    $(pkg-config --static --libs-only-other --libs-only-l nomid | sed 's/-lnomid//') \
    -o "$APP/app-static"
deps=$(LD_LIBRARY_PATH=$LIBDIR ldd "$APP/app-static")
if grep -q libnomid <<<"$deps"; then fail "app-static loads libnomid.so"; fi
check_app "pkg-config --static (libnomid.a)" "$APP/app-static"

cat >"$APP/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.18)
project(app C)
find_package(nomid 0.1 REQUIRED)
add_executable(app app.c)
target_link_libraries(app PRIVATE nomid::nomid)
CMAKE
cmake -S "$APP" -B "$APP/build" -DCMAKE_PREFIX_PATH="$PREFIX" >"$WORK/app-cmake.log"
cmake --build "$APP/build" >>"$WORK/app-cmake.log"
check_app "CMake find_package(nomid)" "$APP/build/app"
echo "install: passed"
