#!/usr/bin/env python3
"""check_abi.py - every number of the drop-in's ABI header against Debian's zmq.h.

Usage: check_abi.py OUR_HEADER [SYSTEM_HEADER]

Takes every object-like #define of lib/compat/zmq_abi.h (ZMQ_*, E*), writes one C
program that prints each of them and the sizes, alignments and field offsets of
zmq_msg_t and zmq_pollitem_t, compiles it once against our header and once against
the system's /usr/include/zmq.h, runs both and compares (the POSIX error codes, which
ours takes from errno.h as zmq.h does on Linux, are compared too).  Also checks that every macro
of the system header's stable part (before the draft API) is defined by ours, so a
missing constant cannot slip by either.  Exit 0 when all agree.
"""
import os
import re
import subprocess
import sys
import tempfile

INTERNAL = {"NOMID_ZMQ_ABI_H", "ZC_API", "__ZMQ_H_INCLUDED__", "ZMQ_EXPORT", "ZMQ_DEFINED_STDINT",
            "ZMQ_HAVE_TIMERS", "ZMQ_MAKE_VERSION", "_WIN32_WINNT"}
DEFINE = re.compile(r"^\s*#\s*define\s+([A-Za-z_][A-Za-z0-9_]*)(\(?)")


def names(path, stop=None):
    out = []
    with open(path) as f:
        for line in f:
            if stop and stop in line:
                break
            m = DEFINE.match(line)
            if m and not m.group(2) and m.group(1) not in INTERNAL:
                out.append(m.group(1))
    return out


def run(header, ours, prog_names, workdir, tag):
    src = os.path.join(workdir, "abi_%s.c" % tag)
    exe = os.path.join(workdir, "abi_%s" % tag)
    with open(src, "w") as f:
        f.write('#include <stdio.h>\n#include <stddef.h>\n#include "%s"\n' % header)
        f.write("int main(void)\n{\n")
        for n in prog_names:
            f.write('    printf("%%s %%lld\\n", "%s", (long long)(%s));\n' % (n, n))
        for expr in ["sizeof(zmq_msg_t)", "_Alignof(zmq_msg_t)", "sizeof(zmq_pollitem_t)",
                     "offsetof(zmq_pollitem_t, socket)", "offsetof(zmq_pollitem_t, fd)",
                     "offsetof(zmq_pollitem_t, events)", "offsetof(zmq_pollitem_t, revents)",
                     "sizeof(zmq_fd_t)"]:
            f.write('    printf("%%s %%lld\\n", "%s", (long long)(%s));\n' % (expr, expr))
        f.write("    return 0;\n}\n")
    cc = os.environ.get("CC", "cc")
    subprocess.run([cc, "-std=c11", "-D_GNU_SOURCE", "-o", exe, src], check=True)
    return subprocess.run([exe], check=True, capture_output=True, text=True).stdout.splitlines()


def main():
    ours = os.path.abspath(sys.argv[1])
    system = sys.argv[2] if len(sys.argv) > 2 else "/usr/include/zmq.h"
    our_names = names(ours)
    missing = [n for n in names(system, stop="ZMQ_BUILD_DRAFT_API") if n not in our_names]
    # POSIX codes zmq.h defines only where errno.h lacks them: ours takes errno.h's,
    # so they are compared like the others.
    our_names += [n for n in missing if re.match(r"^E[A-Z]+$", n)]
    missing = [n for n in missing if n not in our_names]
    with tempfile.TemporaryDirectory() as d:
        a = run(ours, True, our_names, d, "ours")
        b = run(system, False, our_names, d, "system")
    bad = [(x, y) for x, y in zip(a, b) if x != y]
    for x, y in bad:
        print("MISMATCH ours: %s   system: %s" % (x, y))
    for n in missing:
        print("MISSING from ours: %s" % n)
    print("%d values compared, %d differ, %d missing" % (len(a), len(bad), len(missing)))
    return 1 if bad or missing or len(a) != len(b) else 0


if __name__ == "__main__":
    sys.exit(main())
