#!/usr/bin/env bash
# run.sh - compares `nomid bench` with libzmq and with raw sockets on this machine and
# prints a markdown table for the README.  Builds nomid in Release mode into
# build-release/, and next to it the libzmq baseline (tests/bench/zmq_bench.c) and the
# raw-socket floor (tests/bench/raw_bench.c: plain TCP/AF_UNIX, no library; what the
# kernel allows), both with the same command shapes and output; then for every row runs
# the tools alternately BENCH_RUNS times and reports the medians.  Rows without a raw
# equivalent (inproc, fan-out) show "-" there.  The idle row measures the ROUTER
# process's resident-memory growth per idle connection (`nomid bench idle`).  The CURVE
# rows run both libraries with --curve (both ends CURVE) and, in the same turns, the same
# shape with NULL, for a second table: what CURVE costs each library against NULL.  The
# latency rows (but pyzmq's) also fill a round-trip table: the medians of each run's p50,
# p99 and p99.9 round trip and CPU time per round trip (both processes), against
# libzmq's; the paced row (`lat --rate`) runs nomid with its spin off too, in the same
# turns, as a line of its own there.
# Not part of the test suite: numbers flake on shared machines.
#
# Environment (all optional):
#   BENCH_RUNS=7                 runs per row and tool
#   BENCH_THR_SMALL_COUNT=2000000  messages for the 64 B throughput row
#   BENCH_THR_LARGE_COUNT=20000    messages for the 64 KiB throughput row
#   BENCH_LAT_COUNT=20000          round trips for the latency rows
#   BENCH_PACED_COUNT=3000         round trips for the paced latency row
#   BENCH_PACED_RATE=1000          its rate (round trips started per second)
#   BENCH_HUGE_THR_COUNT=1000      messages for the 1 MiB throughput rows (a quarter for 4 MiB)
#   BENCH_HUGE_LAT_COUNT=400       round trips for the 1 MiB latency rows (a quarter for 4 MiB)
#   BENCH_ROUTER_COUNT=200000      requests in the ROUTER row
#   BENCH_ROUTER_CLIENTS=100       its DEALER clients (in 10 processes)
#   BENCH_FANOUT_COUNT=1000000     messages published in the fan-out row
#   BENCH_FANOUT_SUBS=10           subscriber processes in the fan-out row
#   BENCH_IDLE_CONNS=10000         idle tcp connections to one ROUTER in the idle row
#   BENCH_PY_THR_COUNT=500000      messages for the pyzmq throughput row
#   BENCH_PY_LAT_COUNT=5000        round trips for the pyzmq latency row
#   BENCH_TIMEOUT=120            seconds before one run is killed
#   BENCH_TOOLS="nomid libzmq raw"  which tools to run
#   BENCH_NOMID=path             use this nomid binary instead of building one
#   BENCH_ROWS=TEXT              only the rows whose label contains TEXT (e.g. fan-out)
#   BENCH_DROPIN=dir             the directory of nomid's libzmq.so.5 (default: the one
#                                the Release build makes); rows "on the drop-in" run
#                                unchanged libzmq programs (zmq_bench, pyzmq_bench.py)
#                                with it first on LD_LIBRARY_PATH in the nomid column;
#                                the C rows also run `nomid bench` (nomid's own API) in
#                                each turn, for a second table: drop-in / API, the median
#                                of the turns' ratios
set -euo pipefail

cd "$(dirname "$0")/../.."
BUILD=build-release
RUNS=${BENCH_RUNS:-7}
THR_SMALL_COUNT=${BENCH_THR_SMALL_COUNT:-2000000}
THR_LARGE_COUNT=${BENCH_THR_LARGE_COUNT:-20000}
LAT_COUNT=${BENCH_LAT_COUNT:-20000}
PACED_COUNT=${BENCH_PACED_COUNT:-3000}
PACED_RATE=${BENCH_PACED_RATE:-1000}
HUGE_THR_COUNT=${BENCH_HUGE_THR_COUNT:-1000}
HUGE_LAT_COUNT=${BENCH_HUGE_LAT_COUNT:-400}
ROUTER_COUNT=${BENCH_ROUTER_COUNT:-200000}
ROUTER_CLIENTS=${BENCH_ROUTER_CLIENTS:-100}
FANOUT_COUNT=${BENCH_FANOUT_COUNT:-1000000}
FANOUT_SUBS=${BENCH_FANOUT_SUBS:-10}
IDLE_CONNS=${BENCH_IDLE_CONNS:-10000}
PY_THR_COUNT=${BENCH_PY_THR_COUNT:-500000}
PY_LAT_COUNT=${BENCH_PY_LAT_COUNT:-5000}
RUN_TIMEOUT=${BENCH_TIMEOUT:-120}
TOOLS=${BENCH_TOOLS:-nomid libzmq raw}
NOMID=${BENCH_NOMID:-$BUILD/nomid}
ZMQ_BENCH=$BUILD/zmq_bench
PY_BENCH=tests/bench/pyzmq_bench.py
DROPIN=${BENCH_DROPIN:-$BUILD/lib/compat}
RAW_BENCH=$BUILD/raw_bench

log() { printf '%s\n' "$*" >&2; }
uses() { [[ " $TOOLS " == *" $1 "* ]]; }

# ---- build (all build output goes to stderr: stdout is the table) ----
mkdir -p "$BUILD"
if uses nomid && [[ -z ${BENCH_NOMID:-} ]]; then
    log "building nomid (Release) in $BUILD/"
    cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DNOMID_TESTS=OFF >&2
    cmake --build "$BUILD" -j2 >&2
fi
if uses libzmq; then
    log "building zmq_bench in $BUILD/"
    # shellcheck disable=SC2046 # pkg-config output is meant to be split
    cc -O2 -std=c11 -Wall -Wextra -pthread -Inode -o "$ZMQ_BENCH" tests/bench/zmq_bench.c \
        node/bench_idle_clients.c node/bench_report.c node/bench_router_run.c node/args.c \
        $(pkg-config --cflags --libs libzmq)
fi
if uses raw; then
    log "building raw_bench in $BUILD/"
    cc -O2 -std=c11 -Wall -Wextra -Inode -o "$RAW_BENCH" tests/bench/raw_bench.c \
        node/bench_idle_clients.c node/bench_report.c node/args.c
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# run_one TOOL KIND ENDPOINT SIZE COUNT EXTRA KEYS VIA SEC RATE: prints the values of
# KEYS (one or more keys, separated by spaces) on one line, or nothing on failure.  SIZE
# may be empty (idle: ENDPOINT N); EXTRA is a further argument (fanout: SUBS; lat:
# nomid's SPIN_US), or empty.
# VIA: empty for nomid's own API; zmq or py for a libzmq program (zmq_bench, or
# pyzmq_bench.py through Debian's pyzmq) that the nomid column runs on the drop-in.
# SEC: curve for both ends on CURVE (--curve), empty for NULL.
# RATE: lat's --rate HZ (round trips started per second), empty for back to back.
run_one() {
    local tool=$1 kind=$2 ep=$3 size=$4 count=$5 extra=$6 keys=$7 via=${8:-} sec=${9:-}
    local rate=${10:-} out key
    local -a cmd
    case $tool/$via in
    nomid/) cmd=("$NOMID" bench) ;;
    nomid/zmq) cmd=(env "LD_LIBRARY_PATH=$DROPIN" "$ZMQ_BENCH") ;;
    nomid/py) cmd=(env "LD_LIBRARY_PATH=$DROPIN" /usr/bin/python3 "$PY_BENCH") ;;
    libzmq/py) cmd=(/usr/bin/python3 "$PY_BENCH") ;;
    libzmq/*) cmd=("$ZMQ_BENCH") ;;
    raw/*) cmd=("$RAW_BENCH") ;;
    esac
    cmd+=("$kind" "$ep")
    [[ -n $size ]] && cmd+=("$size")
    cmd+=("$count")
    # lat's EXTRA is nomid's spin (SPIN_US): libzmq and raw sockets have none to turn off.
    [[ -n $extra && ($kind != lat || $tool == nomid) ]] && cmd+=("$extra")
    [[ $sec == curve ]] && cmd+=(--curve)
    [[ -n $rate ]] && cmd+=(--rate "$rate")
    local status=0
    out=$(timeout -k 5 "$RUN_TIMEOUT" "${cmd[@]}" 2>"$tmp/stderr") || status=$?
    if [[ $status -ne 0 ]]; then
        log "  $tool ${cmd[*]:1} failed (exit status $status): $(tail -n 3 "$tmp/stderr" | tr '\n' ' ')"
        return 0
    fi
    local -a vals=()
    for key in $keys; do
        vals+=("$(grep -o "$key=-\?[0-9.]*" <<<"$out" | head -n 1 | cut -d= -f2 || true)")
    done
    echo "${vals[*]}"
}

# median FORMAT VALUE...: the median, printed with FORMAT; n/a when there is no value.
median() {
    local fmt=$1
    shift
    printf '%s\n' "$@" | sed '/^$/d' | sort -g | awk -v fmt="$fmt" '
        { v[NR] = $1 }
        END {
            if (NR == 0) { print "n/a"; exit }
            m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
            printf fmt "\n", m
        }'
}

# spread VALUE...: how far the runs moved, (max - min) / median in percent; n/a without
# values.
spread() {
    printf '%s\n' "$@" | sed '/^$/d' | sort -g | awk '
        { v[NR] = $1 }
        END {
            if (NR == 0) { print "n/a"; exit }
            m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
            if (m == 0) print "n/a"; else printf "%.0f%%\n", (v[NR] - v[1]) / m * 100
        }'
}

ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN {
        if (a == "-" || b == "-") print "-"
        else if (a == "n/a" || b == "n/a" || b + 0 == 0) print "n/a"
        else printf "%.2f\n", a / b }'
}

# The idle row's label: 10000 -> 10k.
idle_label=$IDLE_CONNS
if ((IDLE_CONNS % 1000 == 0)); then
    idle_label="$((IDLE_CONNS / 1000))k"
fi

# The paced row's label: 1000 -> 1 kHz.
paced_label="$PACED_RATE Hz"
if ((PACED_RATE % 1000 == 0)); then
    paced_label="$((PACED_RATE / 1000)) kHz"
fi

# The round-trip table's figures of a latency run (after one_way_us) and their names;
# the ROUTER row's (after reqs_per_s) name its CPU time per request instead.
RT_KEYS="rtt_p50_us rtt_p99_us rtt_p999_us cpu_us_per_rt"
ROUTER_RT_KEYS="rtt_p50_us rtt_p99_us rtt_p999_us cpu_us_per_req"

# Rows: label | kind | transport | size | count | extra argument | key | metric | format |
# raw (yes: raw_bench has this shape) | via (run_one; rows with a via need the drop-in) |
# sec (curve: both ends CURVE, each tool also run with NULL in the same turns) |
# rate (lat --rate HZ) | nospin (yes: nomid also runs with SPIN_US 0 in the same turns)
ROWS=(
    "tcp thr 64 B|thr|tcp|64|$THR_SMALL_COUNT||msgs_per_s|msg/s (higher is better)|%.0f|yes"
    "tcp thr 64 KiB|thr|tcp|65536|$THR_LARGE_COUNT||MB_per_s|MB/s (higher is better)|%.1f|yes"
    "tcp lat 64 B|lat|tcp|64|$LAT_COUNT||one_way_us|one-way µs (lower is better)|%.2f|yes"
    "tcp lat 64 B, nomid without spin|lat|tcp|64|$LAT_COUNT|0|one_way_us|\
one-way µs (lower is better)|%.2f|yes"
    "tcp lat 64 B, REQ/REP paced $paced_label|lat|tcp|64|$PACED_COUNT||one_way_us|\
one-way µs (lower is better)|%.2f|yes|||$PACED_RATE|yes"
    "tcp thr 64 B, CURVE|thr|tcp|64|$THR_SMALL_COUNT||msgs_per_s|msg/s (higher is better)|%.0f|no||curve"
    "tcp lat 64 B, CURVE|lat|tcp|64|$LAT_COUNT||one_way_us|one-way µs (lower is better)|%.2f|no||curve"
    "ipc lat 64 B|lat|ipc|64|$LAT_COUNT||one_way_us|one-way µs (lower is better)|%.2f|yes"
    "tcp thr 1 MiB|thr|tcp|1048576|$HUGE_THR_COUNT||MB_per_s|MB/s (higher is better)|%.0f|yes"
    "ipc thr 1 MiB|thr|ipc|1048576|$HUGE_THR_COUNT||MB_per_s|MB/s (higher is better)|%.0f|yes"
    "tcp thr 4 MiB|thr|tcp|4194304|$((HUGE_THR_COUNT / 4))||MB_per_s|MB/s (higher is better)|%.0f|yes"
    "ipc thr 4 MiB|thr|ipc|4194304|$((HUGE_THR_COUNT / 4))||MB_per_s|MB/s (higher is better)|%.0f|yes"
    "tcp lat 1 MiB|lat|tcp|1048576|$HUGE_LAT_COUNT||one_way_us|one-way µs (lower is better)|%.1f|yes"
    "ipc lat 1 MiB|lat|ipc|1048576|$HUGE_LAT_COUNT||one_way_us|one-way µs (lower is better)|%.1f|yes"
    "tcp lat 4 MiB|lat|tcp|4194304|$((HUGE_LAT_COUNT / 4))||one_way_us|\
one-way µs (lower is better)|%.1f|yes"
    "ipc lat 4 MiB|lat|ipc|4194304|$((HUGE_LAT_COUNT / 4))||one_way_us|\
one-way µs (lower is better)|%.1f|yes"
    "inproc thr 64 B|thr|inproc|64|$THR_SMALL_COUNT||msgs_per_s|msg/s (higher is better)|%.0f|no"
    "pub fan-out $FANOUT_SUBS subs 64 B|fanout|tcp|64|$FANOUT_COUNT|$FANOUT_SUBS|delivered_msgs_per_s|\
delivered msg/s (higher is better)|%.0f|no"
    "ROUTER, $ROUTER_CLIENTS DEALER clients, 64 B async requests|router|tcp|64|$ROUTER_COUNT|\
$ROUTER_CLIENTS|reqs_per_s|requests/s (higher is better)|%.0f|no"
    "$idle_label idle tcp conns to a ROUTER|idle|tcp||$IDLE_CONNS||bytes_per_conn|\
bytes/conn (lower is better)|%.0f|yes"
    "zmq_bench on the drop-in, tcp thr 64 B|thr|tcp|64|$THR_SMALL_COUNT||msgs_per_s|\
msg/s (higher is better)|%.0f|no|zmq"
    "zmq_bench on the drop-in, tcp lat 64 B|lat|tcp|64|$LAT_COUNT||one_way_us|\
one-way µs (lower is better)|%.2f|no|zmq"
    "pyzmq on the drop-in, tcp thr 64 B|thr|tcp|64|$PY_THR_COUNT||msgs_per_s|\
msg/s (higher is better)|%.0f|no|py"
    "pyzmq on the drop-in, tcp lat 64 B|lat|tcp|64|$PY_LAT_COUNT||one_way_us|\
one-way µs (lower is better)|%.2f|no|py"
)

failures=0
table=()
rt_table=()
api_table=()
curve_table=()
curve_notes=()
for r in "${!ROWS[@]}"; do
    IFS='|' read -r label kind transport size count extra key metric fmt has_raw via sec rate \
        nospin <<<"${ROWS[$r]}"
    [[ -z ${BENCH_ROWS:-} || $label == *"$BENCH_ROWS"* ]] || continue
    if [[ -n $via && ! -e $DROPIN/libzmq.so.5 ]]; then
        log "$label: skipped (no drop-in libzmq.so.5 in $DROPIN)"
        continue
    fi
    declare -a nomid_vals=() zmq_vals=() raw_vals=() api_vals=() pair_ratios=()
    declare -a nomid_null_vals=() zmq_null_vals=() nomid_sec_ratios=() zmq_sec_ratios=()
    declare -a sec_pair_ratios=()
    # rt: this row fills the round-trip table; rtv[TOOL.KEY]: the runs' values of
    # rt_keys (RT_KEYS, or ROUTER_RT_KEYS).
    rt=no keys=$key rt_keys=$RT_KEYS
    [[ $kind == router ]] && rt_keys=$ROUTER_RT_KEYS
    if [[ ($kind == lat && $via != py) || $kind == router ]]; then
        rt=yes keys="$key $rt_keys"
    fi
    declare -A rtv=()
    for ((run = 1; run <= RUNS; run++)); do
        line="$label run $run/$RUNS:"
        dropin_v="" api_v="" zmq_v="" nomid_null_v="" zmq_null_v=""
        # api: on a C drop-in row, nomid's own API (nomid bench) in the same turn, so that
        # the drop-in is also compared with what the program would get rewritten.
        # nomid_null, libzmq_null: on a CURVE row, the same shape with NULL in the same turn.
        for tool in nomid nospin libzmq raw api nomid_null libzmq_null; do
            case $tool in
            nospin) [[ $nospin == yes ]] && uses nomid || continue ;;
            raw) [[ $has_raw == yes ]] && uses raw || continue ;;
            api) [[ $via == zmq ]] && uses nomid || continue ;;
            *_null) [[ $sec == curve ]] && uses "${tool%_null}" || continue ;;
            *) uses "$tool" || continue ;;
            esac
            # A fresh endpoint per run: the kernel picks tcp ports, ipc paths are unique.
            case $transport in
            tcp) ep="tcp://127.0.0.1:0" ;;
            inproc) ep="inproc://bench" ;; # two threads of one process
            *) ep="ipc://$tmp/$tool-$r-$run.sock" ;;
            esac
            if [[ $tool == api ]]; then
                v=$(run_one nomid "$kind" "$ep" "$size" "$count" "$extra" "$key")
            elif [[ $tool == *_null ]]; then
                v=$(run_one "${tool%_null}" "$kind" "$ep" "$size" "$count" "$extra" "$key" "$via")
            elif [[ $tool == nospin ]]; then
                v=$(run_one nomid "$kind" "$ep" "$size" "$count" 0 "$keys" "$via" "$sec" "$rate")
            else
                v=$(run_one "$tool" "$kind" "$ep" "$size" "$count" "$extra" "$keys" "$via" "$sec" \
                    "$rate")
            fi
            read -r v rest <<<"$v"
            if [[ -n $v && $rt == yes && $tool =~ ^(nomid|nospin|libzmq|raw)$ ]]; then
                read -r -a figures <<<"$rest"
                i=0
                for k in $rt_keys; do
                    rtv[$tool.$k]+=" ${figures[$i]:-}"
                    i=$((i + 1))
                done
            fi
            if [[ -z $v ]]; then
                failures=$((failures + 1))
            elif [[ $tool == nomid ]]; then
                nomid_vals+=("$v")
                dropin_v=$v
            elif [[ $tool == libzmq ]]; then
                zmq_vals+=("$v")
                zmq_v=$v
            elif [[ $tool == nomid_null ]]; then
                nomid_null_vals+=("$v")
                nomid_null_v=$v
            elif [[ $tool == libzmq_null ]]; then
                zmq_null_vals+=("$v")
                zmq_null_v=$v
            elif [[ $tool == api ]]; then
                api_vals+=("$v")
                api_v=$v
            elif [[ $tool == nospin ]]; then
                : # only in the round-trip table
            else
                raw_vals+=("$v")
            fi
            line+=" $tool=${v:-FAIL}"
        done
        log "$line"
        [[ -n $dropin_v && -n $api_v ]] && pair_ratios+=("$(ratio "$dropin_v" "$api_v")")
        [[ -n $dropin_v && -n $nomid_null_v ]] &&
            nomid_sec_ratios+=("$(ratio "$dropin_v" "$nomid_null_v")")
        [[ -n $zmq_v && -n $zmq_null_v ]] && zmq_sec_ratios+=("$(ratio "$zmq_v" "$zmq_null_v")")
        [[ $sec == curve && -n $dropin_v && -n $zmq_v ]] &&
            sec_pair_ratios+=("$(ratio "$dropin_v" "$zmq_v")")
    done
    n=$(median "$fmt" "${nomid_vals[@]}")
    z=$(median "$fmt" "${zmq_vals[@]}")
    w=-
    [[ $has_raw == yes ]] && w=$(median "$fmt" "${raw_vals[@]}")
    table+=("| $label | $metric | $n | $z | $w | $(ratio "$n" "$z") | $(ratio "$n" "$w") |\
 $(spread "${nomid_vals[@]}") | $(spread "${zmq_vals[@]}") |")
    if ((${#api_vals[@]} > 0)); then
        api_table+=("| $label | $metric | $n | $(median "$fmt" "${api_vals[@]}") |\
 $(median %.2f "${pair_ratios[@]}") (${#pair_ratios[@]} pairs) |")
    fi
    if [[ $rt == yes ]]; then
        declare -A zm=()
        for k in $rt_keys; do
            # shellcheck disable=SC2086 # the runs' values, one word each
            zm[$k]=$(median %.2f ${rtv[libzmq.$k]:-})
        done
        for tool in nomid nospin libzmq raw; do
            [[ -n ${rtv[$tool.rtt_p50_us]:-} ]] || continue
            case $tool in
            nomid) name="nomid${via:+ (drop-in)}${nospin:+, spin on (default)}" ;;
            nospin) name="nomid, spin off (SPIN_US 0)" ;;
            libzmq) name=libzmq ;;
            raw) name="raw ${transport^^}" ;;
            esac
            cells="" ratios=""
            for k in $rt_keys; do
                # shellcheck disable=SC2086
                m=$(median %.2f ${rtv[$tool.$k]})
                cells+=" $m |"
                if [[ $tool == libzmq ]]; then
                    ratios+=" - |"
                else
                    ratios+=" $(ratio "$m" "${zm[$k]}") |"
                fi
            done
            rt_table+=("| $label | $name |$cells$ratios")
        done
        unset zm
    fi
    if [[ $sec == curve ]]; then
        nr=$(median %.2f "${nomid_sec_ratios[@]}")
        zr=$(median %.2f "${zmq_sec_ratios[@]}")
        range=$(printf '%s\n' "${sec_pair_ratios[@]}" | sed '/^$/d' | sort -g | sed -n '1p;$p' |
            paste -sd '~' -)
        curve_table+=("| $label | $metric | $n | $(median "$fmt" "${nomid_null_vals[@]}") | $nr |\
 $z | $(median "$fmt" "${zmq_null_vals[@]}") | $zr | $(median %.2f "${sec_pair_ratios[@]}")\
 (${range:-n/a}) |")
        for lib in nomid libzmq; do
            rr=$nr
            [[ $lib == libzmq ]] && rr=$zr
            [[ $rr == n/a ]] && continue
            if [[ $kind == thr ]]; then
                curve_notes+=("$lib: CURVE keeps $(awk -v r="$rr" 'BEGIN { printf "%.0f", r * 100 }')%\
 of NULL throughput (costs $(awk -v r="$rr" 'BEGIN { printf "%.0f", (1 - r) * 100 }')%).")
            else
                curve_notes+=("$lib: CURVE latency is $(awk -v r="$rr" 'BEGIN { printf "%.0f", r * 100 }')%\
 of NULL's (adds $(awk -v r="$rr" 'BEGIN { printf "%.0f", (r - 1) * 100 }')%).")
            fi
        done
    fi
    unset nomid_vals zmq_vals raw_vals api_vals pair_ratios
    unset nomid_null_vals zmq_null_vals nomid_sec_ratios zmq_sec_ratios sec_pair_ratios rtv
done

model=$(grep -m 1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//' || true)
echo "| row | metric | nomid (median of $RUNS) | libzmq (median of $RUNS) |" \
    "raw TCP (median of $RUNS) | nomid / libzmq | nomid / raw | nomid runs moved |" \
    "libzmq runs moved |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${table[@]}"
echo
if ((${#rt_table[@]} > 0)); then
    echo
    echo "| round trips | tool | p50 µs | p99 µs | p99.9 µs | CPU µs per round trip |" \
        "p50 / libzmq | p99 / libzmq | p99.9 / libzmq | CPU / libzmq |"
    echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    printf '%s\n' "${rt_table[@]}"
    echo
    echo "Round trips: medians over $RUNS runs of each run's percentile (nearest rank) of its" \
        "round-trip times, and of its CPU time (user and system, all threads of both" \
        "processes over their loops) per round trip; lower is better. Paced: REQ starts" \
        "$PACED_RATE round trips a second (--rate; the waits are not timed), $PACED_COUNT per run."
fi
if ((${#api_table[@]} > 0)); then
    echo
    echo "| C program on the drop-in | metric | zmq_bench on the drop-in | nomid bench (nomid's API) |" \
        "drop-in / API (median of the runs' ratios) |"
    echo "|---|---|---:|---:|---:|"
    printf '%s\n' "${api_table[@]}"
fi
if ((${#curve_table[@]} > 0)); then
    echo
    echo "| CURVE against NULL, same turns | metric | nomid CURVE | nomid NULL |" \
        "nomid CURVE / NULL | libzmq CURVE | libzmq NULL | libzmq CURVE / NULL |" \
        "nomid / libzmq, CURVE (turns: median (range)) |"
    echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
    printf '%s\n' "${curve_table[@]}"
    echo
    echo "CURVE / NULL and the last column are medians of the turns' own ratios; CURVE and" \
        "NULL columns are medians of $RUNS. CURVE: both ends CURVE (RFC 25/26), key pairs" \
        "made for each run."
    printf '%s\n' "${curve_notes[@]}"
fi
echo
echo "Ratios: above 1 is better for msg/s, MB/s and requests/s; below 1 is better for µs and" \
    "bytes/conn. Runs moved: (slowest - fastest) / median of the $RUNS runs."
echo "Raw TCP: tests/bench/raw_bench.c, plain sockets (AF_UNIX for ipc) carrying the same" \
    "ZMTP data frames with no library, batched writes and large reads: the physical limit;" \
    "'-' where it has no equivalent."
echo "Idle: the ROUTER process's resident-memory growth over $IDLE_CONNS idle tcp connections" \
    "whose clients (separate processes, raw sockets) completed a ZMTP 3.1 NULL handshake as" \
    "DEALERs; the raw column is a plain epoll server that answers the handshake and keeps" \
    "the connections."
echo "ROUTER: $ROUTER_CLIENTS DEALERs in 10 client processes keep 4 requests of 64 B in flight" \
    "each until $ROUTER_COUNT have come back from one ROUTER that echoes them (\`nomid bench" \
    "router\`); requests/s over the time from the start to the last reply; its round trips" \
    "and CPU time (all processes, per request) are in the round-trip table."
echo "Fan-out: $FANOUT_COUNT messages published to $FANOUT_SUBS subscriber processes with the" \
    "default HWMs (1000); the rate counts only delivered messages, over the time from the" \
    "first send to the last subscriber's last message."
echo "Machine: $(nproc) CPUs, ${model:-unknown CPU}, Linux $(uname -r);" \
    "libzmq $(pkg-config --modversion libzmq 2>/dev/null || echo '?');" \
    "64 B thr $THR_SMALL_COUNT msgs, 64 KiB thr $THR_LARGE_COUNT msgs," \
    "lat $LAT_COUNT round trips (paced: $PACED_COUNT at $PACED_RATE Hz)," \
    "idle $IDLE_CONNS connections; loopback."
if ((failures > 0)); then
    log "$failures run(s) failed"
    exit 1
fi
