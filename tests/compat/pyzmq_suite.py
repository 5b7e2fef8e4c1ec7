#!/usr/bin/python3
"""Run pyzmq's own test suite (as Debian's python3-zmq ships it) against a chosen libzmq.

Called by tests/compat/pyzmq_suite.sh, which installs the packages and checks that
pyzmq's backend loads libzmq.so.5 dynamically; see that script for usage. This driver:

- starts pytest on `zmq.tests` with /usr/bin/python3, LD_LIBRARY_PATH set to --lib DIR
  only (or unset: Debian's libzmq), pytest-timeout per test and pyzmq's own alarm
  (ZMQ_TEST_TIMEOUT), and the plugin pyzmq_plugin.py, which proves which libzmq was
  mapped and journals every test;
- watches the journal: a test still running after --hard-timeout seconds (a hang that
  no alarm can break, e.g. inside a blocking libzmq call) gets its Python stacks dumped
  (SIGUSR1) and is killed; a crash (segfault, abort) is seen from the exit status. In
  both cases the test is recorded (timeout, crash) and pytest starts again without the
  tests already done, so one bad test never hides the rest;
- turns the journal into one result per test: pass fail error skip xfail xpass timeout
  crash; with --repeat N it runs the suite N times and names the tests whose result
  changed (flaky);
- compares with an expectations file (--expect; format at the top of
  tests/compat/pyzmq-expected.txt), or rewrites one column of it (--update);
- prints counts per result, the time taken, and on the drop-in the issue's target
  (share of the libzmq-passing tests that pass).

Exit status: 0 when every result is as expected (without --expect: nothing failed), 1
when a result differs or a test is missing, 2 when the harness itself could not run the
suite (wrong library loaded, collection error, no tests).
"""

import argparse
import collections
import json
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON = "/usr/bin/python3"  # Debian's, where python3-zmq lives (never a pyenv python)

RESULTS = ("pass", "fail", "error", "skip", "xfail", "xpass", "timeout", "crash")
# Results that count as "this test did not work" when no expectations are given.
BAD = {"fail", "error", "xpass", "timeout", "crash"}
TARGET = 0.97  # issue 13: of the eligible tests, 97% pass on nomid

DEFAULT_HEADER = """\
# pyzmq's own tests (Debian python3-zmq) on libzmq and on nomid's libzmq.so.5.
# Read by tests/compat/pyzmq_suite.py --expect; rewritten column by column by --update.
#
# One test per line, fields separated by blanks:
#
#   TEST-ID                              LIBZMQ  NOMID  REASON...
#
# TEST-ID  pytest's node id with the file's base name: test_file.py::Class::test_name
#          (parametrized tests keep their [param] suffix).
# LIBZMQ   the result on Debian's real libzmq 4.3.4 (the baseline, --update without
#          --lib). A test is eligible for the nomid target only when this is `pass`.
# NOMID    the result expected with nomid's libzmq.so.5 first on LD_LIBRARY_PATH.
#          A run with --lib fails when a test's result is not this.
# Results: pass fail error skip xfail xpass timeout crash; `a|b` accepts either (a test
#          that is flaky on libzmq too), `any` accepts every result (not judged yet).
# REASON   the rest of the line; required whenever NOMID is not `pass`. It starts with a
#          category word and a colon:
#            skip:      pytest skips it on both libraries (the text is pytest's reason)
#            libzmq:    does not pass on real libzmq either (not eligible)
#            flaky:     changes result between runs on real libzmq
#            quirk:     a libzmq behaviour nomid deliberately does not copy (say which)
#            later:     a feature the drop-in does not have yet (say which)
#            TODO:      written by --update for a new non-pass result; a run with a
#                       TODO reason fails until someone writes the real one
# --update of NOMID changes only rows whose expectation did not accept the result (so
# `any` and flaky sets stay); --update of LIBZMQ keeps a flaky set while the new runs
# stay inside it, and rewrites NOMID/REASON only where they were generated from
# libzmq's result (none, skip:, libzmq:, flaky:) and no longer fit it.
#
# Target (issue 13): of the eligible tests, at least 97% pass on nomid (PLAIN, CURVE
# and ZAP included since issue 14); the run prints the share.
"""


# ---------------------------------------------------------------- expectations file


class Expectations:
    """The expectations file: its comment header and one row per test id."""

    def __init__(self, path):
        self.path = path
        self.header = DEFAULT_HEADER
        self.rows = collections.OrderedDict()  # id -> {"libzmq", "nomid", "reason"}
        self.problems = []
        if path and os.path.exists(path):
            self._read()

    def _read(self):
        header, in_header = [], True
        with open(self.path) as f:
            for number, line in enumerate(f, 1):
                text = line.rstrip("\n")
                if in_header and (text.startswith("#") or not text.strip()):
                    header.append(text)
                    continue
                in_header = False
                if not text.strip() or text.lstrip().startswith("#"):
                    continue
                fields = text.split(None, 3)
                if len(fields) < 3:
                    self.problems.append("%s:%d: needs TEST-ID LIBZMQ NOMID" % (self.path, number))
                    continue
                test_id, libzmq, nomid = fields[:3]
                reason = fields[3].strip() if len(fields) > 3 else ""
                for value in (libzmq, nomid):
                    if not _valid_expectation(value):
                        self.problems.append("%s:%d: unknown result %r" % (self.path, number, value))
                if test_id in self.rows:
                    self.problems.append("%s:%d: %s listed twice" % (self.path, number, test_id))
                self.rows[test_id] = {"libzmq": libzmq, "nomid": nomid, "reason": reason}
        self.header = "\n".join(header).rstrip("\n") + "\n"

    def reason_problems(self):
        out = []
        for test_id, row in self.rows.items():
            if row["nomid"] != "pass" and not row["reason"]:
                out.append("%s: NOMID is %s but no reason is given" % (test_id, row["nomid"]))
            elif row["reason"].startswith("TODO"):
                out.append("%s: the reason is still TODO" % test_id)
        return out

    def write(self):
        width = max([len(i) for i in self.rows] + [40])
        lines = [self.header.rstrip("\n"), ""]
        for test_id in sorted(self.rows, key=_sort_key):
            row = self.rows[test_id]
            line = "%-*s  %-7s %-7s %s" % (width, test_id, row["libzmq"], row["nomid"], row["reason"])
            lines.append(line.rstrip())
        with open(self.path + ".tmp", "w") as f:
            f.write("\n".join(lines) + "\n")
        os.replace(self.path + ".tmp", self.path)


def _valid_expectation(value):
    return value == "any" or all(part in RESULTS for part in value.split("|"))


def _accepts(expected, result):
    return expected == "any" or result in expected.split("|")


def _sort_key(test_id):
    return test_id.split("::")


def _category(reason):
    word = reason.split(":", 1)[0] if ":" in reason else ""
    return word.strip()


# ---------------------------------------------------------------- one run of the suite


OUTSIDE = "(outside any test)"


class _JournalWatch:
    """Follows progress.jsonl while pytest runs: which test runs now, and since when."""

    def __init__(self, path):
        self.path = path
        self.offset = os.path.getsize(path)
        self.partial = ""
        self.current = None  # id of the test started and not finished
        self.since = self.last_event = time.monotonic()
        self.finished = False  # pytest_sessionfinish was journaled

    def poll(self, hard_timeout):
        """Read new events; return what hangs (a test id or OUTSIDE) or None."""
        with open(self.path) as f:
            f.seek(self.offset)
            chunk = f.read()
            self.offset = f.tell()
        now = time.monotonic()
        *lines, self.partial = (self.partial + chunk).split("\n")
        for line in lines:
            event = json.loads(line)
            self.last_event = now
            if event["ev"] == "start":
                self.current, self.since = event["id"], now
            elif event["ev"] == "finish":
                self.current = None
            elif event["ev"] == "sessionfinish":
                self.finished = True
        if hard_timeout is None:
            return None
        if self.current and now - self.since > hard_timeout:
            return self.current
        if not self.current and now - self.last_event > hard_timeout:
            return OUTSIDE
        return None


class Run:
    """One full pass over the suite: several pytest processes if tests hang or crash."""

    def __init__(self, args, index):
        self.args = args
        self.dir = os.path.join(args.out, "run-%d" % index)
        self.results = {}  # id -> result
        self.messages = {}  # id -> short message (skip reason, exception line)
        self.durations = {}  # id -> seconds (call phase and all)
        self.collected = set()
        self.errors = []  # problems of the run itself (not of one test)
        self.recorded = {}  # id -> (result, message) for tests killed or crashed
        self.attempts = 0
        self.seconds = 0.0
        self.loaded = {}

    def execute(self):
        os.makedirs(self.dir, exist_ok=True)
        for name in ("progress.jsonl", "collected.txt", "deselect.txt", "stacks.txt"):
            open(os.path.join(self.dir, name), "w").close()
        # An empty ini of our own: pytest must not pick up configuration from a
        # directory above the tests or above the scratch directory.
        with open(os.path.join(self.dir, "pytest.ini"), "w") as f:
            f.write("[pytest]\n")
        start = time.monotonic()
        done_before = -1
        while True:
            self.attempts += 1
            outcome = self._attempt()
            self._parse_journal()
            done = set(self.results)
            if outcome == "complete":
                break
            if outcome == "error":
                break
            # A test hung or crashed: start again without everything already done.
            if len(done) == done_before or self.attempts >= self.args.max_attempts:
                self.errors.append("no progress after attempt %d; giving up" % self.attempts)
                break
            done_before = len(done)
            with open(os.path.join(self.dir, "deselect.txt"), "w") as f:
                f.write("".join(i + "\n" for i in sorted(done)))
        self.seconds = time.monotonic() - start
        path = os.path.join(self.dir, "loaded.json")
        if os.path.exists(path):
            with open(path) as f:
                self.loaded = json.load(f)
            for problem in self.loaded.get("problems", []):
                if problem not in self.errors:
                    self.errors.append("library check: " + problem)
        with open(os.path.join(self.dir, "collected.txt")) as f:
            self.collected = {line.strip() for line in f if line.strip()}
        missing = self.collected - set(self.results)
        for test_id in sorted(missing):
            self.errors.append("%s was collected but has no result" % test_id)
        return self

    def _command(self):
        a = self.args
        cmd = [
            PYTHON, "-m", "pytest",
            "-c", os.path.join(self.dir, "pytest.ini"), "--rootdir", self.dir,
            "-p", "no:cacheprovider", "-p", "pyzmq_plugin",
            "--pyargs", "zmq.tests",
            "-v", "-rfE",
            "--timeout", str(a.timeout), "--timeout-method", "signal",
            "--junitxml", os.path.join(self.dir, "junit-%d.xml" % self.attempts),
        ]
        if a.k:
            cmd += ["-k", a.k]
        return cmd + a.pytest_args

    def _environment(self):
        env = dict(os.environ)
        # Only what we choose reaches the dynamic linker: --lib DIR, or nothing at all.
        env.pop("LD_PRELOAD", None)
        if self.args.lib:
            env["LD_LIBRARY_PATH"] = self.args.lib
            env["PYSUITE_EXPECT_LIB"] = os.path.join(self.args.lib, "libzmq.so.5")
        else:
            env.pop("LD_LIBRARY_PATH", None)
            env["PYSUITE_EXPECT_LIB"] = self.args.system_lib
        if self.args.symbol:
            env["PYSUITE_SYMBOL"] = self.args.symbol
        env["PYSUITE_STATE_DIR"] = self.dir
        env["PYSUITE_DESELECT"] = os.path.join(self.dir, "deselect.txt")
        env["PYTHONPATH"] = HERE
        env["PYTHONDONTWRITEBYTECODE"] = "1"  # nothing written into dist-packages
        env["ZMQ_TEST_TIMEOUT"] = str(self.args.timeout)  # pyzmq's own per-test alarm
        env.pop("CI", None)  # pyzmq skips some tests on CI; run the same set everywhere
        return env

    def _attempt(self):
        """Run pytest once. Returns complete, resume (a test hung or crashed) or error."""
        log_path = os.path.join(self.dir, "pytest-%d.log" % self.attempts)
        watch = _JournalWatch(os.path.join(self.dir, "progress.jsonl"))
        hung = None
        with open(log_path, "w") as log:
            proc = subprocess.Popen(
                self._command(), cwd=self.dir, env=self._environment(),
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,  # so a kill reaches the tests' child processes
            )
            while proc.poll() is None:
                time.sleep(0.2)
                hung = watch.poll(self.args.hard_timeout)
                if hung:
                    self._kill(proc, hung)
                    break
            proc.wait()
        watch.poll(None)  # what was written just before the exit
        status = proc.returncode
        if hung and hung != OUTSIDE:
            self._record(hung, "timeout", "killed after %d s; stacks in %s/stacks.txt"
                         % (self.args.hard_timeout, self.dir))
            return "resume"
        if hung:
            where = "after the session ended" if watch.finished else "outside any test"
            self.errors.append("pytest hung %s (attempt %d); killed" % (where, self.attempts))
            return "complete" if watch.finished else "resume"
        if status < 0 or status > 5:
            # Killed by a signal (segfault, abort): the test that was running crashed.
            how = "signal %d" % -status if status < 0 else "exit status %d" % status
            if watch.current:
                self._record(watch.current, "crash", "pytest died: %s, see %s" % (how, log_path))
                return "resume"
            self.errors.append("pytest died outside a test (%s), see %s" % (how, log_path))
            return "complete" if watch.finished else "resume"
        if status in (0, 1):
            return "complete"
        if status == 5:
            self.errors.append("pytest collected no tests (exit status 5), see %s" % log_path)
        else:
            self.errors.append("pytest exit status %d (2 interrupted, 3 internal error, "
                               "4 usage error: e.g. the wrong libzmq), see %s" % (status, log_path))
        return "error"

    def _kill(self, proc, what):
        print("  %s hangs: dumping stacks and killing pytest" % what, flush=True)
        try:
            os.kill(proc.pid, signal.SIGUSR1)  # faulthandler in the plugin dumps stacks
            time.sleep(2)
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def _record(self, test_id, result, message):
        # Kept apart: _parse_journal rebuilds the other results from the journal.
        self.recorded[test_id] = (result, message)

    def _parse_journal(self):
        """Phase reports -> one result per test (timeouts and crashes kept as recorded)."""
        reports = collections.defaultdict(dict)
        with open(os.path.join(self.dir, "progress.jsonl")) as f:
            for line in f:
                if not line.endswith("\n"):
                    break  # a line cut by a kill
                event = json.loads(line)
                if event["ev"] == "report":
                    reports[event["id"]][event["when"]] = event
                elif event["ev"] == "collect-skip":
                    # A whole module skipped at import (pytest.importorskip): one result.
                    self.results[event["id"]] = "skip"
                    self.messages[event["id"]] = event["msg"]
                elif event["ev"] == "collect-error":
                    message = "collection error in %s: %s" % (event["id"], event["msg"][-300:])
                    if message not in self.errors:
                        self.errors.append(message)
        for test_id, phases in reports.items():
            result, message = _result_of(phases)
            if result is None:
                continue  # the test did not get to report (it hung or crashed)
            self.results[test_id] = result
            self.messages[test_id] = message
            self.durations[test_id] = sum(p["duration"] for p in phases.values())
        for test_id, (result, message) in self.recorded.items():
            self.results[test_id] = result
            self.messages[test_id] = message


def _result_of(phases):
    setup, call, teardown = (phases.get(w) for w in ("setup", "call", "teardown"))
    if setup is None:
        return None, ""
    if setup["outcome"] == "failed":
        return "error", setup.get("msg", "")
    if setup["outcome"] == "skipped":
        return ("xfail" if "wasxfail" in setup else "skip"), setup.get("msg", "")
    if call is None:
        return None, ""
    if call["outcome"] == "skipped":
        return ("xfail" if "wasxfail" in call else "skip"), call.get("msg", "")
    if call["outcome"] == "failed":
        return "fail", call.get("msg", "")
    if teardown is None:
        return None, ""
    if teardown["outcome"] == "failed":
        return "error", "teardown: " + teardown.get("msg", "")
    return ("xpass" if "wasxfail" in call else "pass"), ""


# ---------------------------------------------------------------- putting runs together


def combine(runs):
    """Per test: the result if every run agreed, else the sorted set joined by |."""
    combined, flaky = {}, {}
    ids = set()
    for run in runs:
        ids |= set(run.results)
    for test_id in ids:
        seen = [run.results.get(test_id, "missing") for run in runs]
        distinct = sorted(set(seen))
        combined[test_id] = "|".join(distinct)
        if len(distinct) > 1:
            flaky[test_id] = seen
    return combined, flaky


def compare(expect, runs, column, partial):
    """Check every run against the expectations' column: (results as expected, differences)."""
    ok, out, seen = 0, [], set()
    for run in runs:
        for test_id, result in sorted(run.results.items()):
            seen.add(test_id)
            row = expect.rows.get(test_id)
            if row is None:
                out.append("%s: %s, but it is not in %s" % (test_id, result, expect.path))
            elif not _accepts(row[column], result):
                message = run.messages.get(test_id, "")
                out.append("%s: %s, expected %s (%s)%s" % (
                    test_id, result, row[column], run.dir,
                    " -- " + message if message else ""))
            else:
                ok += 1
    if not partial:
        for test_id in expect.rows:
            if test_id not in seen:
                out.append("%s: listed in %s but did not run" % (test_id, expect.path))
    return ok, out


def update(expect, runs, column):
    """Rewrite one column from these runs; new rows get the other column filled sensibly."""
    combined, flaky = combine(runs)
    messages = {}
    for run in runs:
        for test_id, message in run.messages.items():
            messages.setdefault(test_id, message)
    for test_id in list(expect.rows):
        if test_id not in combined:
            del expect.rows[test_id]  # gone from this pyzmq
    for test_id, result in combined.items():
        message = messages.get(test_id, "")
        row = expect.rows.get(test_id)
        if column == "nomid":
            if row is None:
                row = expect.rows[test_id] = {"libzmq": "any", "nomid": result, "reason": ""}
            elif _accepts(row["nomid"], result):
                continue  # already accepted: `any` and flaky sets stay
            row["nomid"] = result
            if result != "pass" and not row["reason"]:
                row["reason"] = "TODO: " + (message or "explain why")
            continue
        # The baseline. Flakiness is sticky: a test seen to change result keeps its set
        # while these runs stay inside it (a few passing runs do not prove it fixed).
        if row and "|" in row["libzmq"] and set(result.split("|")) <= set(row["libzmq"].split("|")):
            continue
        if row is None:
            row = expect.rows[test_id] = {"libzmq": "", "nomid": "", "reason": ""}
        row["libzmq"] = result
        # NOMID and REASON follow libzmq's result while they are the generated kind
        # (no reason, skip:, libzmq:, flaky:) and no longer fit it; hand-written reasons
        # (quirk:, later:, ...) and ones that still fit stay as they are.
        default = _default_nomid(test_id, result, message, flaky, len(runs))
        kind, want = _category(row["reason"]), _category(default[1])
        if not row["nomid"] or (kind in ("", "skip", "libzmq", "flaky") and kind != want):
            row["nomid"], row["reason"] = default
    expect.write()


def _default_nomid(test_id, result, message, flaky, nruns):
    if test_id in flaky:
        bad = sum(1 for r in flaky[test_id] if r != "pass")
        return result, "flaky: %d of %d runs on real libzmq were not pass" % (bad, nruns)
    if result == "pass":
        return "pass", ""
    if result == "skip":
        return "skip", "skip: " + (message or "skipped by pytest")
    return result, "libzmq: %s on real libzmq too%s" % (result, ": " + message if message else "")


def target_line(expect, runs):
    """Issue 13's measure: eligible (libzmq pass) tests passing here."""
    eligible = [i for i, row in expect.rows.items() if row["libzmq"] == "pass"]
    lines = []
    for run in runs:
        ran = [i for i in eligible if i in run.results]
        passed = [i for i in ran if run.results[i] == "pass"]
        if ran:
            share = len(passed) / len(ran)
            lines.append("target: %d of %d eligible tests pass (%.1f%%, goal %d%%) %s"
                         % (len(passed), len(ran), 100 * share, TARGET * 100,
                            "met" if share >= TARGET else "NOT met"))
    return lines


def system_libzmq():
    """The libzmq.so.5 the dynamic linker finds without LD_LIBRARY_PATH (64-bit first)."""
    out = subprocess.run(["/sbin/ldconfig", "-p"], capture_output=True, text=True).stdout
    found = [line.split("=>")[-1].strip() for line in out.splitlines()
             if line.strip().startswith("libzmq.so.5 ")]
    found.sort(key=lambda path: "x86_64" not in path and "64" not in path)
    return os.path.realpath(found[0]) if found else ""


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--lib", metavar="DIR",
                   help="directory holding the libzmq.so.5 to test (first and only on "
                        "LD_LIBRARY_PATH); default: Debian's libzmq")
    p.add_argument("--symbol", metavar="NAME",
                   help="fail unless the loaded libzmq exports NAME (a nomid-only symbol)")
    p.add_argument("--expect", metavar="FILE",
                   help="expectations file; the run fails when a result differs from it")
    p.add_argument("--column", choices=("libzmq", "nomid"),
                   help="which column --expect/--update use (default: nomid with --lib, "
                        "else libzmq)")
    p.add_argument("--update", action="store_true",
                   help="rewrite that column of --expect from this run instead of comparing")
    p.add_argument("--repeat", type=int, default=1, metavar="N",
                   help="run the whole suite N times and list the tests whose result changed")
    p.add_argument("--out", metavar="DIR", default="build-test/pyzmq-suite",
                   help="log directory (default: %(default)s)")
    p.add_argument("--timeout", type=int, default=30, metavar="S",
                   help="per-test timeout: pytest-timeout and pyzmq's alarm (default 30; "
                        "the slowest test takes about 4 s on libzmq)")
    p.add_argument("--hard-timeout", type=int, default=0, metavar="S",
                   help="a test still running after S s is killed and the run resumes "
                        "after it (default: --timeout + 30)")
    p.add_argument("--max-attempts", type=int, default=40,
                   help="pytest restarts allowed in one run after hangs/crashes (default 40)")
    p.add_argument("-k", metavar="EXPR", help="only the tests pytest's -k EXPR selects")
    p.add_argument("pytest_args", nargs="*", help="more pytest arguments, after --")
    args = p.parse_args()
    args.hard_timeout = args.hard_timeout or args.timeout + 30
    args.out = os.path.abspath(args.out)
    args.column = args.column or ("nomid" if args.lib else "libzmq")
    args.system_lib = system_libzmq()
    partial = bool(args.k or args.pytest_args)
    if args.lib:
        args.lib = os.path.abspath(args.lib)
        if not os.path.exists(os.path.join(args.lib, "libzmq.so.5")):
            sys.exit("pyzmq_suite: %s/libzmq.so.5 does not exist" % args.lib)
    elif not args.system_lib:
        sys.exit("pyzmq_suite: ldconfig knows no libzmq.so.5 (is libzmq5 installed?)")
    if args.update and not args.expect:
        sys.exit("pyzmq_suite: --update needs --expect FILE")
    if args.update and partial:
        sys.exit("pyzmq_suite: --update needs the whole suite (no -k or extra arguments)")

    expect = Expectations(args.expect) if args.expect else None
    if expect and expect.problems:
        sys.exit("pyzmq_suite: " + "\n  ".join(["bad expectations file:"] + expect.problems))
    if expect and not args.update and not os.path.exists(args.expect):
        sys.exit("pyzmq_suite: %s does not exist (make it with --update)" % args.expect)

    os.makedirs(args.out, exist_ok=True)
    target = args.lib + "/libzmq.so.5" if args.lib else args.system_lib + " (Debian's)"
    print("pyzmq suite on %s; logs in %s" % (target, args.out), flush=True)
    started = time.monotonic()
    runs = []
    for index in range(1, args.repeat + 1):
        run = Run(args, index).execute()
        runs.append(run)
        counts = collections.Counter(run.results.values())
        print("run %d: %s in %.0f s (%d pytest process%s)%s" % (
            index, _counts(counts), run.seconds, run.attempts,
            "" if run.attempts == 1 else "es",
            "" if not run.loaded else "; loaded %s, zmq_version %s, pyzmq %s" % (
                ",".join(run.loaded.get("realpaths", [])), run.loaded.get("zmq_version"),
                run.loaded.get("pyzmq_version"))), flush=True)
    seconds = time.monotonic() - started

    combined, flaky = combine(runs)
    write_results(args.out, runs, combined)
    harness_errors = [e for run in runs for e in run.errors]
    if expect and args.update:
        update(expect, runs, args.column)
        print("wrote the %s column of %s" % (args.column, args.expect))
        ok, failures = len(combined), []
    elif expect:
        ok, failures = compare(expect, runs, args.column, partial)
        failures += expect.reason_problems() if args.column == "nomid" else []
    else:
        failures = ["%s: %s%s" % (i, r, " -- " + runs[-1].messages[i]
                                  if runs[-1].messages.get(i) else "")
                    for i, r in sorted(combined.items()) if set(r.split("|")) & BAD]
        ok = len(combined) - len(failures)

    # ---- summary
    print()
    print("== pyzmq suite summary (%s)" % target)
    for index, run in enumerate(runs, 1):
        print("run %d: %s; %.0f s" % (index, _counts(collections.Counter(run.results.values())),
                                      run.seconds))
    if flaky:
        print("flaky (result per run):")
        for test_id in sorted(flaky):
            print("  %s: %s" % (test_id, " ".join(flaky[test_id])))
    if expect and not args.update and args.column == "nomid":
        for line in target_line(expect, runs):
            print(line)
    for e in harness_errors:
        print("harness: " + e)
    for f in failures:
        print(("differs: " if expect else "not passing: ") + f)
    print("results: %s/results.tsv; time %.0f s" % (args.out, seconds))
    # A plain closing line: results as expected (without --expect: tests that did not
    # fail), and those that were not plus the harness's own problems.
    print("%d passed, %d failed" % (ok, len(failures) + len(harness_errors)))
    if any(not run.results for run in runs) or any(
            "exit status" in e or "collection error" in e for e in harness_errors):
        return 2
    return 1 if failures or harness_errors else 0


def _counts(counter):
    parts = ["%d %s" % (counter[r], r) for r in RESULTS if counter.get(r)]
    return "%d tests: %s" % (sum(counter.values()), ", ".join(parts) or "none")


def write_results(out, runs, combined):
    """results.tsv: one line per test, its result in each run and its mean duration."""
    with open(os.path.join(out, "results.tsv"), "w") as f:
        f.write("test\tresult\t%s\tseconds\tmessage\n"
                % "\t".join("run%d" % i for i in range(1, len(runs) + 1)))
        for test_id in sorted(combined, key=_sort_key):
            durations = [r.durations[test_id] for r in runs if test_id in r.durations]
            message = next((r.messages[test_id] for r in runs if r.messages.get(test_id)), "")
            f.write("%s\t%s\t%s\t%.2f\t%s\n" % (
                test_id, combined[test_id],
                "\t".join(r.results.get(test_id, "missing") for r in runs),
                sum(durations) / len(durations) if durations else 0.0,
                message.replace("\t", " ").replace("\n", " ")))


if __name__ == "__main__":
    sys.exit(main())
