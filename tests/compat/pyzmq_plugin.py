"""pytest plugin loaded into the pytest process that runs pyzmq's own test suite.

tests/compat/pyzmq_suite.py starts pytest with `-p pyzmq_plugin` (this directory on
PYTHONPATH) and reads what this plugin writes; it is not meant to be used alone. It owns
three things that must happen inside the process under test:

- Proof of which libzmq the tests ran on: after `import zmq` it reads /proc/self/maps,
  writes every mapped libzmq file, zmq.zmq_version() and pyzmq's version to loaded.json,
  and stops the session (a usage error) when the file the driver asked for
  (PYSUITE_EXPECT_LIB) is not the one mapped, or when a symbol the driver requires
  (PYSUITE_SYMBOL, e.g. one only nomid's drop-in exports) is missing from it.
- A journal that survives a crash or a kill: progress.jsonl gets a line when a test
  starts, one per phase report and one when it ends, written unbuffered, so after a
  segfault or a hang the driver knows which test was running and resumes after it.
- Deselection for those resumptions (PYSUITE_DESELECT: ids already done), and a network
  guard: a test whose source names a multicast transport (pgm, epgm, norm, udp) is
  skipped, since it would send onto the machine's real interfaces.
- One repair of test isolation: test_log.py's handlers are taken off the shared logger
  after each test, so that one flaky failure does not fail the tests after it.

Test ids are pyzmq's node ids with the file reduced to its base name
(`test_socket.py::TestSocket::test_close`), the form the expectations file uses.
"""

import faulthandler
import inspect
import json
import os
import re
import signal
import sys
import time

import pytest

STATE_DIR = os.environ.get("PYSUITE_STATE_DIR", "")
# Endpoints that would put packets on a real interface rather than loopback.
MULTICAST_RE = re.compile(r"\b(e?pgm|norm|udp)://")

_journal = None
_stacks = None


def short_id(nodeid):
    """`../../usr/lib/python3/dist-packages/zmq/tests/test_x.py::C::t` -> `test_x.py::C::t`"""
    path, sep, rest = nodeid.partition("::")
    return os.path.basename(path) + sep + rest


def _write(event):
    if _journal is not None:
        event["t"] = round(time.time(), 3)
        _journal.write(json.dumps(event) + "\n")


def _loaded_libzmq():
    """Files named libzmq.so* mapped into this process, in map order."""
    seen = []
    with open("/proc/self/maps") as maps:
        for line in maps:
            parts = line.split(None, 5)
            if len(parts) == 6:
                path = parts[5].strip()
                if os.path.basename(path).startswith("libzmq.so") and path not in seen:
                    seen.append(path)
    return seen


def _check_library(config):
    import zmq  # loads the cython backend, which is linked against libzmq.so.5

    mapped = _loaded_libzmq()
    info = {
        "mapped": mapped,
        "realpaths": [os.path.realpath(p) for p in mapped],
        "zmq_version": zmq.zmq_version(),
        "pyzmq_version": zmq.pyzmq_version(),
        "backend": zmq.backend.Socket.__module__,
        "ld_library_path": os.environ.get("LD_LIBRARY_PATH", ""),
    }
    problems = []
    if len(mapped) != 1:
        problems.append("expected exactly one libzmq mapped, found %r" % (mapped,))
    want = os.environ.get("PYSUITE_EXPECT_LIB")
    if want and mapped and info["realpaths"][0] != os.path.realpath(want):
        problems.append(
            "libzmq loaded from %s, not the requested %s"
            % (info["realpaths"][0], os.path.realpath(want))
        )
    symbol = os.environ.get("PYSUITE_SYMBOL")
    if symbol and mapped:
        import ctypes

        # dlopen of a library already loaded returns that same object.
        lib = ctypes.CDLL(mapped[0], mode=os.RTLD_NOLOAD | os.RTLD_GLOBAL)
        info["symbol"] = {symbol: hasattr(lib, symbol)}
        if not info["symbol"][symbol]:
            problems.append("the loaded libzmq lacks the symbol %s" % symbol)
    info["problems"] = problems
    with open(os.path.join(STATE_DIR, "loaded.json"), "w") as f:
        json.dump(info, f, indent=1)
    if problems:
        raise pytest.UsageError("pyzmq_plugin: " + "; ".join(problems))


def pytest_configure(config):
    global _journal, _stacks
    if not STATE_DIR:
        raise pytest.UsageError("pyzmq_plugin: PYSUITE_STATE_DIR is not set")
    _journal = open(os.path.join(STATE_DIR, "progress.jsonl"), "a", buffering=1)
    # The driver sends SIGUSR1 to a test that hangs before killing it: every thread's
    # Python stack goes to stacks.txt, even when the main thread is blocked inside libzmq.
    _stacks = open(os.path.join(STATE_DIR, "stacks.txt"), "a")
    faulthandler.register(signal.SIGUSR1, file=_stacks, all_threads=True)
    _write({"ev": "session", "pid": os.getpid()})
    _check_library(config)


def _mentions_multicast(item):
    try:
        source = inspect.getsource(item.obj)
    except (OSError, TypeError):
        return False
    return MULTICAST_RE.search(source) is not None


def pytest_collection_modifyitems(session, config, items):
    done = set()
    path = os.environ.get("PYSUITE_DESELECT")
    if path and os.path.exists(path):
        with open(path) as f:
            done = {line.strip() for line in f if line.strip()}
    keep, drop = [], []
    for item in items:
        (drop if short_id(item.nodeid) in done else keep).append(item)
        if _mentions_multicast(item):
            item.add_marker(
                pytest.mark.skip(reason="network safety: names a multicast transport")
            )
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_collection_finish(session):
    # After every plugin's deselection (-k, ours): what this pytest process will run.
    with open(os.path.join(STATE_DIR, "collected.txt"), "a") as f:
        for item in session.items:
            f.write(short_id(item.nodeid) + "\n")


def pytest_collectreport(report):
    if report.skipped and report.nodeid.endswith(".py"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        _write({"ev": "collect-skip", "id": short_id(report.nodeid),
                "msg": str(reason).replace("Skipped: ", "", 1)})
    if report.failed:
        _write({"ev": "collect-error", "id": short_id(report.nodeid),
                "msg": str(report.longrepr)[-2000:]})


def pytest_runtest_logstart(nodeid, location):
    _write({"ev": "start", "id": short_id(nodeid)})


def pytest_runtest_logreport(report):
    event = {
        "ev": "report",
        "id": short_id(report.nodeid),
        "when": report.when,
        "outcome": report.outcome,
        "duration": round(report.duration, 3),
    }
    if hasattr(report, "wasxfail"):
        event["wasxfail"] = report.wasxfail or "xfail"
    if report.skipped and isinstance(report.longrepr, tuple):
        event["msg"] = str(report.longrepr[2]).replace("Skipped: ", "", 1)
    elif report.failed:
        # The last line of the failure (the exception) is enough to tell results apart.
        event["msg"] = str(report.longrepr).strip().splitlines()[-1][:300] if report.longrepr else ""
    _write(event)


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item, nextitem):
    # test_log.py adds a PUBHandler to the process-wide 'zmqtest' logger and removes it
    # only when the test gets to its end: after one failure (test_blank_root_topic loses
    # a subscription race now and then) the handler stays with a closed socket and every
    # later TestPubLog test fails with ENOTSOCK. Removing it keeps one failure one result.
    if item.nodeid.split("::")[0].endswith("test_log.py"):
        import logging

        from zmq.log.handlers import PUBHandler

        logger = logging.getLogger("zmqtest")
        for handler in list(logger.handlers):
            if isinstance(handler, PUBHandler):
                logger.removeHandler(handler)


def pytest_runtest_logfinish(nodeid, location):
    _write({"ev": "finish", "id": short_id(nodeid)})


def pytest_sessionfinish(session, exitstatus):
    _write({"ev": "sessionfinish", "exitstatus": int(exitstatus)})
    sys.stdout.flush()
