#!/usr/bin/python3
"""Every valid socket pair between nomid and libzmq over ipc: nomid in each role, each
side binding, data checked every time (see pairs.py)."""

import sys

sys.dont_write_bytecode = True  # keep the source tree clean

import nmtest  # noqa: E402
import pairs  # noqa: E402

pairs.check_coverage()
pairs.register_all(nmtest.register, 'ipc')

if __name__ == '__main__':
    nmtest.main()
