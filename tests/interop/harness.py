"""Shared harness of the interop tests: starts the real ternd on an ephemeral port, runs named
test functions against it, restarts it if it dies, and checks that it stops cleanly.

It does not speak MQTT itself: each test script drives ternd with an independent client
(mosquitto_pub/sub, python3-paho-mqtt, MQTT.js). Run with Debian's /usr/bin/python3.
"""

import argparse
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback

# Bounded waits, in seconds. Generous because the broker may run under ASan on a busy machine.
READY_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0
WAIT = 10.0
# How long a test waits to show that something does NOT arrive. Only used where absence is the
# behaviour under test; every positive wait is event-based.
QUIET = 1.0

SANITIZER_MARKS = ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer",
                   "WARNING: ThreadSanitizer")

BASE_CONF = "listener 0 127.0.0.1\nallow_anonymous true\n"


class TestFailure(Exception):
    """A check failed; the message says what was expected and what happened."""


def check(cond, msg):
    if not cond:
        raise TestFailure(msg)


def check_eq(got, want, what):
    if got != want:
        raise TestFailure("%s: expected %r, got %r" % (what, want, got))


class Broker:
    """One ternd process with its own temporary directory, config and logs.

    The configuration is BASE_CONF + extra_conf, or exactly conf when it is given (e.g. TLS
    listeners). host/port are the first listener's; listeners lists every line of the ready
    file as (kind, address, port) with port an int, or None for a unix socket."""

    def __init__(self, ternd, extra_conf="", conf=None):
        self.ternd = ternd
        self.extra_conf = extra_conf
        self.conf = conf
        self.listeners = []
        self.dir = tempfile.mkdtemp(prefix="tern-interop-")
        self.proc = None
        self.host = None
        self.port = None
        self.starts = 0

    def start(self):
        self.starts += 1
        conf = os.path.join(self.dir, "ternd.conf")
        ready = os.path.join(self.dir, "ready-%d" % self.starts)
        text = self.conf if self.conf is not None else BASE_CONF + self.extra_conf
        # Tests run as root in CI and keep their files in 0700 temp dirs: a ternd that dropped
        # to its default user (mosquitto, or nobody) could not read them or write the ready
        # file, so it stays root unless the test's configuration names a user itself.
        if not any(line.split()[:1] == ["user"] for line in text.splitlines()):
            text = "user root\n" + text
        with open(conf, "w") as f:
            f.write(text)
        self.log_path = os.path.join(self.dir, "ternd-%d.log" % self.starts)
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([self.ternd, "-c", conf, "--ready-file", ready],
                                     stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        log.close()
        deadline = time.monotonic() + READY_TIMEOUT
        # The ready file is written atomically (rename), so existence means complete.
        while not os.path.exists(ready):
            if self.proc.poll() is not None:
                raise TestFailure("ternd exited with status %d before it was ready:\n%s"
                                  % (self.proc.returncode, self.log_tail()))
            if time.monotonic() > deadline:
                self.proc.kill()
                self.proc.wait()
                raise TestFailure("ternd not ready within %.0f s:\n%s"
                                  % (READY_TIMEOUT, self.log_tail()))
            time.sleep(0.02)
        with open(ready) as f:
            lines = [line.split() for line in f if line.strip()]
        check(lines and len(lines[0]) == 3 and lines[0][0] == "mqtt",
              "bad ready file line %r" % (lines[:1],))
        self.host, self.port = lines[0][1], int(lines[0][2])
        self.listeners = [(w[0], w[1], None if w[1] == "unix" else int(w[2])) for w in lines]

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_tail(self, n=40):
        return "\n".join(self.log_text().splitlines()[-n:])

    def sanitizer_report(self):
        text = self.log_text()
        for mark in SANITIZER_MARKS:
            i = text.find(mark)
            if i >= 0:
                return text[max(0, i - 200):i + 3000]
        return None

    def stop(self):
        """SIGTERM, bounded wait; returns a list of problems (empty when it stopped cleanly)."""
        problems = []
        if self.proc is None:
            return problems
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                problems.append("ternd did not exit within %.0f s of SIGTERM" % STOP_TIMEOUT)
        rc = self.proc.returncode
        if rc != 0 and not problems:
            problems.append("ternd exited with status %d" % rc)
        rep = self.sanitizer_report()
        if rep:
            problems.append("sanitizer report in ternd's output:\n" + rep)
        self.proc = None
        return problems

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


class LineReader:
    """Reads a stream line by line in a thread into a queue, for bounded event-based waits."""

    def __init__(self, stream):
        self.q = queue.Queue()
        self.lines = []
        self.t = threading.Thread(target=self._run, args=(stream,), daemon=True)
        self.t.start()

    def _run(self, stream):
        for raw in iter(stream.readline, b""):
            self.q.put(raw.decode("utf-8", "replace").rstrip("\n"))
        self.q.put(None)

    def expect(self, pred, timeout=WAIT, what="line"):
        """Returns the first new line for which pred(line) is true; fails after timeout."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            try:
                line = self.q.get(timeout=max(left, 0.001))
            except queue.Empty:
                raise TestFailure("timed out after %.0f s waiting for %s; output so far:\n%s"
                                  % (timeout, what, "\n".join(self.lines[-30:])))
            if line is None:
                self.q.put(None)
                raise TestFailure("stream closed while waiting for %s; output:\n%s"
                                  % (what, "\n".join(self.lines[-30:])))
            self.lines.append(line)
            if pred(line):
                return line


def parse_args(description):
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--ternd", required=True, help="path of the ternd binary")
    ap.add_argument("--only", default="", help="run only the tests whose name contains this")
    ap.add_argument("--keep", action="store_true", help="keep the broker's temporary directory")
    return ap.parse_args()


def fail_missing(what):
    """A dependency is missing: say so and fail the whole test."""
    print("interop: missing dependency: %s" % what)
    print("interop: install the test dependencies with `make test-deps` (scripts/deps.sh test)")
    print("0 passed, 1 failed")
    sys.exit(1)


def run_tests(description, tests, extra_conf="", conf=None):
    """Runs tests (list of (name, fn(broker))) against one ternd, restarted if it dies, then
    stops it; prints 'ok'/'FAIL' lines and the closing 'N passed, N failed'; exits 0 iff all
    passed and ternd stopped cleanly."""
    args = parse_args(description)
    if not os.access(args.ternd, os.X_OK):
        fail_missing("ternd binary %s" % args.ternd)
    passed = failed = 0
    broker = Broker(os.path.abspath(args.ternd), extra_conf, conf=conf)
    try:
        broker.start()
    except TestFailure as e:
        print("FAIL broker_start: %s" % e)
        print("0 passed, 1 failed")
        sys.exit(1)
    for name, fn in tests:
        if args.only and args.only not in name:
            continue
        t0 = time.monotonic()
        try:
            fn(broker)
            ok, why = True, ""
        except TestFailure as e:
            ok, why = False, str(e)
        except Exception:
            ok, why = False, traceback.format_exc()
        if not broker.alive():
            ok = False
            why += "\nternd died (status %s) during this test:\n%s" % (
                broker.proc.returncode if broker.proc else "?", broker.log_tail())
            broker.stop()
            broker.start()
        dt = time.monotonic() - t0
        if ok:
            passed += 1
            print("ok   %s (%.2f s)" % (name, dt), flush=True)
        else:
            failed += 1
            print("FAIL %s (%.2f s): %s" % (name, dt, why.strip()), flush=True)
    problems = broker.stop()
    if problems:
        failed += 1
        print("FAIL ternd_clean_exit: %s" % "\n".join(problems))
    else:
        passed += 1
        print("ok   ternd_clean_exit")
    if failed and not args.keep:
        print("ternd log (last lines):\n" + broker.log_tail(60))
    if args.keep:
        print("kept %s" % broker.dir)
    else:
        broker.cleanup()
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


def unique(prefix):
    """A topic or client id unique to this process and call."""
    unique.n += 1
    return "%s-%d-%d" % (prefix, os.getpid(), unique.n)


unique.n = 0
