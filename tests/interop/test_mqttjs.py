#!/usr/bin/python3
"""Interop test: MQTT.js (npm package mqtt, pinned in package-lock.json) against ternd.

Installs the package into tests/interop/node_modules with `npm ci` when it is missing, then runs
each case of mqttjs_tests.js (3.1.1 and v5 connect, QoS 0/1/2, retained, v5 user properties,
reconnect with clean false) as its own node process against one ternd.
"""

import fcntl
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # Keep __pycache__ out of the source tree.
sys.path.insert(0, HERE)
import harness  # noqa: E402
from harness import check  # noqa: E402

SCRIPT = os.path.join(HERE, "mqttjs_tests.js")
CASE_TIMEOUT = 120
NPM_TIMEOUT = 600


def ensure_node_modules():
    """npm ci from the lockfile when node_modules lacks mqtt; serialised by a lock file so two
    test runs (say, two build directories) never install at once."""
    if os.path.exists(os.path.join(HERE, "node_modules", "mqtt", "package.json")):
        return
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            harness.fail_missing("%s (Debian packages nodejs and npm)" % tool)
    lock_path = os.path.join(tempfile.gettempdir(), "tern-interop-npm-%d.lock" % os.getuid())
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.exists(os.path.join(HERE, "node_modules", "mqtt", "package.json")):
            return
        print("interop: npm ci in %s" % HERE, flush=True)
        try:
            r = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=HERE,
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=NPM_TIMEOUT)
        except subprocess.TimeoutExpired:
            harness.fail_missing("npm ci did not finish within %d s" % NPM_TIMEOUT)
        if r.returncode != 0:
            sys.stdout.write(r.stdout.decode("utf-8", "replace"))
            harness.fail_missing("MQTT.js: `npm ci` failed in %s (exit %d)"
                                 % (HERE, r.returncode))


def case(name):
    def run(b):
        argv = ["node", SCRIPT, "--host", b.host, "--port", str(b.port), "--test", name]
        try:
            r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=CASE_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise harness.TestFailure("node case did not finish within %d s" % CASE_TIMEOUT)
        out = r.stdout.decode("utf-8", "replace").strip()
        check(r.returncode == 0 and out.splitlines()[-1:] == ["ok"],
              "exit %d: %s" % (r.returncode, out))
    return run


def main():
    if shutil.which("node") is None:
        harness.fail_missing("node (Debian package nodejs)")
    ensure_node_modules()
    r = subprocess.run(["node", SCRIPT, "--list"], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=CASE_TIMEOUT)
    if r.returncode != 0:
        print(r.stdout.decode("utf-8", "replace"))
        harness.fail_missing("MQTT.js does not load (node %s --list failed)" % SCRIPT)
    names = r.stdout.decode().split()
    ver = subprocess.run(["node", "-e", "console.log(require('mqtt/package.json').version)"],
                         cwd=HERE, stdout=subprocess.PIPE, timeout=CASE_TIMEOUT)
    print("MQTT.js %s" % ver.stdout.decode().strip())
    harness.run_tests("MQTT.js interop with ternd", [(n, case(n)) for n in names])


if __name__ == "__main__":
    main()
