#!/usr/bin/python3
"""Interop tests of the `tern` CLI (and so of libtern) against Debian's mosquitto clients, run
once per broker: Debian's mosquitto, or ternd (`cli_interop_mosquitto`, `cli_interop_ternd`).

Starts the broker on a loopback port and checks that:
- `tern pub` messages reach mosquitto_sub unchanged (QoS 0/1/2, retained, v5 -D properties);
- `tern sub` and mosquitto_sub given the same flags print byte-identical output (-v, default,
  several -F formats; time fields are masked);
- `tern rr` gets its reply; option errors exit like mosquitto's;
- a password file written by `tern passwd` works as mosquitto's password_file; argon2id lines
  have Mosquitto 2.1's shape (Debian's mosquitto 2.0 cannot check them);
- `tern pub -d` prints the same debug lines as `mosquitto_pub -d` (client id masked), `tern sub -d`
  too (the PUBACK line may come before or after the message: compared as sets);
- `tern sub` reconnects when the broker restarts on the same port and re-subscribes;
- TLS-PSK (--psk, --psk-identity, --ciphers), --unix, --tls-use-os-certs and --tls-alpn work;
- a password file written by mosquitto_passwd works for the broker too (so each broker is
  checked with both tools' files);
- --proxy: tern pub / sub through a SOCKS5 proxy written here (RFC 1928/1929, with and without
  user name and password; it records what it was asked to connect to), also before TLS; refused
  proxy authentication gives mosquitto's message and exit status.
Both brokers run the same checks: the clients are compared with each other, never with one
broker's bytes. Every failure line names the broker. Synchronisation uses persistent sessions
(subscribe with -c -E, publish, then fetch the queued messages with -C) or retained messages,
never sleeps; ternd's start is awaited by a bounded poll on its --ready-file.
Usage: cli_interop.py /path/to/tern mosquitto | cli_interop.py /path/to/tern ternd /path/to/ternd
"""
import os
import re
import select
import shutil
import signal
import socket
import socketserver
import struct
import subprocess
import sys
import tempfile
import threading
import time

TERN = sys.argv[1]
KIND = sys.argv[2] if len(sys.argv) > 2 else "mosquitto"
TERND = sys.argv[3] if len(sys.argv) > 3 else None
MOSQUITTO = "/usr/sbin/mosquitto"
TIMEOUT = 20
failures = 0


def check(cond, what):
    global failures
    if cond:
        print("ok   [%s] %s" % (KIND, what.split("\n")[0]))
    else:
        failures += 1
        print("FAIL [%s] %s" % (KIND, what))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class MosquittoBroker:
    def __init__(self, tmp, extra="", port=None):
        self.port = port or free_port()
        conf = os.path.join(tmp, "mosquitto-%d.conf" % self.port)
        with open(conf, "w") as f:
            f.write("listener %d 127.0.0.1\n%s\n" % (self.port, extra))
            if "allow_anonymous" not in extra:
                f.write("allow_anonymous true\n")
            f.write("queue_qos0_messages true\n")
        self.proc = subprocess.Popen([MOSQUITTO, "-c", conf, "-v"], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        self._wait_running()

    def _wait_running(self):
        buf = b""
        while b" running" not in buf:
            r, _, _ = select.select([self.proc.stderr], [], [], TIMEOUT)
            if not r:
                raise RuntimeError("mosquitto did not start")
            chunk = os.read(self.proc.stderr.fileno(), 4096)
            if not chunk:
                raise RuntimeError("mosquitto exited: " + buf.decode(errors="replace"))
            buf += chunk
        # Keep draining its log so it never blocks on a full pipe.
        self.drain = subprocess.Popen(["cat"], stdin=self.proc.stderr, stdout=subprocess.DEVNULL)

    def stop(self):
        self.proc.kill()
        self.proc.wait()
        self.drain.wait()


class TerndBroker:
    """ternd with the same configuration lines (ternd reads Mosquitto's format). `user root`
    keeps it from dropping privileges when the tests run as root: its files are in our temp
    directory. Port 0 lets it choose; the port is read from the ready file."""

    def __init__(self, tmp, extra="", port=None):
        self.tmp = tmp
        n = len(os.listdir(tmp))
        conf = os.path.join(tmp, "ternd-%d.conf" % n)
        ready = os.path.join(tmp, "ternd-%d.ready" % n)
        self.log_path = os.path.join(tmp, "ternd-%d.log" % n)
        with open(conf, "w") as f:
            f.write("user root\nlistener %d 127.0.0.1\n%s\n" % (port or 0, extra))
            if "allow_anonymous" not in extra:
                f.write("allow_anonymous true\n")
            f.write("queue_qos0_messages true\n")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([TERND, "-c", conf, "-v", "--ready-file", ready],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        self.port = self._wait_ready(ready)

    def _wait_ready(self, ready):
        """A bounded poll on the ready file (written by rename once every listener is bound)."""
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            if os.path.exists(ready):
                for line in open(ready).read().splitlines():
                    f = line.split()
                    if len(f) == 3 and f[0] == "mqtt" and f[1] == "127.0.0.1":
                        return int(f[2])
                raise RuntimeError("ternd ready file without a TCP listener: %r"
                                   % open(ready).read())
            if self.proc.poll() is not None:
                break
            time.sleep(0.01)
        self.proc.kill()
        self.proc.wait()
        raise RuntimeError("ternd did not start: " + open(self.log_path, errors="replace").read())

    def stop(self):
        self.proc.kill()
        self.proc.wait()
        self.log.close()


def start_broker(tmp, extra="", port=None):
    return (TerndBroker if KIND == "ternd" else MosquittoBroker)(tmp, extra, port)


def run(args, stdin=None):
    """(exit status, stdout, stderr); a command still running after TIMEOUT is killed and
    reported with status "timeout" (so the check that uses it fails, naming the command)."""
    try:
        p = subprocess.run(args, input=stdin, capture_output=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired as e:
        return "timeout", e.stdout or b"", (e.stderr or b"") + b" [timeout]"
    return p.returncode, p.stdout, p.stderr


def tern(*args):
    return [TERN] + list(args)


def mask_time(out):
    out = re.sub(rb'"tst":\t?"[^"]*"', b'"tst":"T"', out)
    return out


def sub_pair(broker, sub_args, publish, count, tag):
    """Runs mosquitto_sub and tern sub with the same sub_args around `publish` (a list of
    commands); returns both outputs (stdout, stderr, rc)."""
    results = []
    for name, cmd in (("mosquitto", ["mosquitto_sub"]), ("tern", tern("sub"))):
        cid = "%s-%s" % (tag, name)
        base = cmd + ["-p", str(broker.port), "-c", "-i", cid, "-q", "2"]
        rc, _, err = run(base + sub_args + ["-E"])
        check(rc == 0, "%s: %s sub -E creates the session (%s)" % (tag, name, err))
        results.append(base)
    for pub in publish:
        rc, _, err = run(pub)
        check(rc == 0, "%s: publish %s (%s)" % (tag, " ".join(pub[1:]), err))
    outs = []
    for base in results:
        outs.append(run(base + sub_args + ["-C", str(count)]))
    return outs


def mpub(broker, *args):
    return ["mosquitto_pub", "-p", str(broker.port)] + list(args)


def tpub(broker, *args):
    return tern("pub", "-p", str(broker.port)) + list(args)


def test_tern_pub_to_mosquitto_sub(broker):
    for version in ("mqttv311", "mqttv5"):
        tag = "pub-" + version
        cid = tag + "-m"
        base = ["mosquitto_sub", "-p", str(broker.port), "-c", "-i", cid, "-q", "2", "-V",
                version, "-t", tag + "/#"]
        rc, _, _ = run(base + ["-E"])
        check(rc == 0, tag + ": mosquitto_sub session")
        payloads = [b"one", b"two", b"", b"bin\x00\x01\xff"]
        for qos, p in zip([1, 2, 1], payloads):
            rc, out, err = run(tpub(broker, "-V", version, "-t", tag + "/q", "-q", str(qos),
                                    "-m", p.decode()))
            check(rc == 0 and out == b"" and err == b"", "%s: tern pub qos %d" % (tag, qos))
        rc, _, _ = run(tpub(broker, "-V", version, "-t", tag + "/f", "-q", "1", "-s"),
                       stdin=payloads[3])
        check(rc == 0, tag + ": tern pub -s binary stdin")
        rc, out, _ = run(base + ["-C", "4", "-F", "%t|%q|%l|%x"])
        # The broker may deliver queued QoS 2 messages after later QoS 1 ones: compare sets.
        out = b"".join(sorted(out.splitlines(True)))
        want = b"".join(sorted(b"%s/%s|%d|%d|%s\n" % (tag.encode(), t, q, len(p), p.hex().encode())
                        for t, q, p in [(b"q", 1, payloads[0]), (b"q", 2, payloads[1]),
                                        (b"q", 1, payloads[2]), (b"f", 1, payloads[3])]))
        check(rc == 0 and out == want, "%s: mosquitto_sub got identical payloads %r" % (tag, out))
        # QoS 0 through a retained message: ternd does not queue QoS 0 messages for offline
        # sessions (it ignores queue_qos0_messages), and this test is about tern pub.
        rc, out, err = run(tpub(broker, "-V", version, "-t", tag + "/r0", "-q", "0", "-r", "-m",
                                "zero"))
        check(rc == 0 and out == b"" and err == b"", "%s: tern pub qos 0" % tag)
        rc, out, _ = run(["mosquitto_sub", "-p", str(broker.port), "-V", version, "-t",
                          tag + "/r0", "-C", "1", "-F", "%t|%q|%r|%p"])
        check(rc == 0 and out == b"%s/r0|0|1|zero\n" % tag.encode(),
              "%s: mosquitto_sub got the QoS 0 message: %r" % (tag, out))
        run(mpub(broker, "-t", tag + "/r0", "-r", "-n"))


def test_retained_and_lines(broker):
    rc, _, _ = run(tpub(broker, "-t", "ret/a", "-m", "kept", "-r", "-q", "1"))
    check(rc == 0, "retained: tern pub -r")
    rc, out, _ = run(["mosquitto_sub", "-p", str(broker.port), "-t", "ret/#", "-C", "1", "-F",
                      "%t %p %r"])
    check(out == b"ret/a kept 1\n", "retained: mosquitto_sub sees retain flag: %r" % out)
    rc, out2, _ = run(tern("sub", "-p", str(broker.port), "-t", "ret/#", "-C", "1", "-F",
                           "%t %p %r"))
    check(out2 == out, "retained: tern sub prints the same: %r" % out2)
    rc, out3, _ = run(tern("sub", "-p", str(broker.port), "-t", "ret/#", "--remove-retained",
                           "--retained-only", "-v"))
    check(rc == 0 and out3 == b"ret/a kept\n", "--remove-retained --retained-only: %r" % out3)
    rc, out4, _ = run(["mosquitto_sub", "-p", str(broker.port), "-t", "ret/#", "-E", "-v"])
    check(rc == 0 and out4 == b"", "retained message was removed")
    # -l: one message per line.
    base = ["mosquitto_sub", "-p", str(broker.port), "-c", "-i", "lines", "-q", "1", "-t",
            "lines"]
    run(base + ["-E"])
    rc, _, _ = run(tpub(broker, "-t", "lines", "-l", "-q", "1"), stdin=b"a\nbb\n\nccc\n")
    rc, out, _ = run(base + ["-C", "4", "-F", "[%p]"])
    check(out == b"[a]\n[bb]\n[]\n[ccc]\n", "tern pub -l: %r" % out)


def test_v5_properties(broker):
    tag = "props"
    base = ["mosquitto_sub", "-p", str(broker.port), "-c", "-i", tag, "-q", "1", "-V", "5",
            "-t", tag]
    run(base + ["-E"])
    rc, _, err = run(tpub(broker, "-V", "5", "-t", tag, "-m", "p", "-q", "1",
                          "-D", "publish", "content-type", "text/x",
                          "-D", "publish", "user-property", "k1", "v1",
                          "-D", "publish", "user-property", "k2", "v2",
                          "-D", "publish", "response-topic", "re/sp",
                          "-D", "publish", "correlation-data", "cd42",
                          "-D", "publish", "payload-format-indicator", "1",
                          "-D", "publish", "message-expiry-interval", "3600"))
    check(rc == 0, "v5: tern pub with -D properties (%s)" % err)
    rc, out, _ = run(base + ["-C", "1", "-F", "%C|%P|%R|%D|%F"])
    check(out == b"text/x|k1:v1 k2:v2|re/sp|cd42|1\n", "v5: properties arrive: %r" % out)


def test_sub_output_matches(broker):
    pubs = [
        mpub(broker, "-V", "5", "-t", "cmp/a", "-m", "hello world", "-q", "1",
             "-D", "publish", "content-type", "ct", "-D", "publish", "user-property", "u", "v",
             "-D", "publish", "response-topic", "rt", "-D", "publish", "correlation-data", "cd"),
        mpub(broker, "-t", "cmp/b/c", "-m", '{"x": [1, 2.5, "s\\u00e9"], "y": {"z": null}}',
             "-q", "1"),
        mpub(broker, "-t", "cmp/empty", "-n", "-q", "1"),
        mpub(broker, "-t", "cmp/bin", "-m", "tab\there \"q\" \\ ctl\x01", "-q", "1"),
    ]
    formats = [
        [],
        ["-v"],
        ["-N", "-v"],
        ["-F", "%t|%p|%q|%r|%l|%m|%x|%X"],
        ["-F", "%10t|%-10t|%.3t|%-8.2t|%5l|%-5l|%05l|%3p|%8x"],
        ["-F", "%C|%P|%R|%D|%E|%F|%S|%A|%5C|%-5S|\\t\\\\@@%%"],
        ["-F", "%j"],
        ["-F", "%J"],
        ["-F", "%j", "--pretty"],
        ["-F", "%J", "--pretty"],
        ["-F", "%t", "-T", "cmp/b/#"],
        ["-R", "-v"],
    ]
    for version in ("mqttv311", "mqttv5"):
        for i, fmt in enumerate(formats):
            tag = "cmp%d%s" % (i, version[-1])
            args = ["-V", version, "-t", "cmp/#"] + fmt
            count = 3 if "-T" in fmt else 4
            (mrc, mout, merr), (trc, tout, terr) = sub_pair(broker, args, pubs, count, tag)
            same = mrc == trc and mask_time(mout) == mask_time(tout) and merr == terr
            check(same, "sub output %s %s identical\n  mosquitto: %r %r\n  tern:      %r %r"
                  % (version, " ".join(fmt), mout, merr, tout, terr))


def test_rr(broker):
    base = ["mosquitto_sub", "-p", str(broker.port), "-c", "-i", "responder", "-q", "1", "-V",
            "5", "-t", "rr/req"]
    run(base + ["-E"])
    rr = subprocess.Popen(tern("rr", "-p", str(broker.port), "-t", "rr/req", "-e", "rr/resp",
                               "-m", "ping", "-q", "1"), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE)
    rc, out, _ = run(base + ["-C", "1", "-F", "%R %p"])
    check(out == b"rr/resp ping\n", "rr: the request carries the Response Topic: %r" % out)
    rc, _, _ = run(mpub(broker, "-t", "rr/resp", "-m", "pong"))
    out, err = rr.communicate(timeout=TIMEOUT)
    check(rr.returncode == 0 and out == b"pong\n", "rr: reply printed: %r %r" % (out, err))


def test_errors(broker):
    hostname = "/etc/hostname"  # exists, readable, and not a certificate
    cases = [
        ["pub", "-t", "a"],
        ["pub", "-t", "a", "-m", "x", "-q", "3"],
        ["pub", "-t", "a/#", "-m", "x"],
        ["pub", "-t", "a", "-m", "x", "-k", "2"],
        ["pub", "-t", "a", "-m", "x", "-c"],
        ["pub", "-t", "a", "-m", "x", "-Z"],
        ["pub", "-t", "a", "-m", "x", "-V", "7"],
        ["pub", "-t", "a", "-m", "x", "-n"],
        ["sub", "-p", "1"],
        ["pub", "-t", "a", "-m", "x", "-p", "%d" % free_port()],
        # An option without its value names what is missing, as mosquitto's clients do.
        ["pub", "-t", "a", "-m", "x", "-h"],
        ["pub", "-t", "a", "-m", "x", "--id-prefix"],
        ["pub", "-t", "a", "-m", "x", "-V"],
        ["pub", "-t", "a", "-m", "x", "-M"],
        ["pub", "-t", "a", "-m"],
        ["pub", "-t", "a", "-n", "-f"],
        ["pub", "-t", "a", "-m", "x", "--repeat-delay"],
        ["pub", "-t", "a", "-m", "x", "--tls-engine"],
        ["pub", "-t", "a", "-m", "x", "-D", "publish", "user-property", "k"],
        ["sub", "-t", "a", "-T"],
        ["sub", "-t", "a", "--random-filter"],
        ["rr", "-t", "a", "-m", "x", "-e"],
        # Values and combinations refused before connecting.
        ["pub", "-t", "a", "-m", "x", "--repeat", "0"],
        ["pub", "-t", "a", "-m", "x", "--repeat-delay", "-1"],
        ["pub", "-t", "a", "-m", "x", "-M", "0"],
        ["pub", "-t", "a", "-m", "x", "-x", "abc"],
        ["pub", "-t", "a", "-m", "x", "-x", "-2"],
        ["pub", "-t", "a", "-m", "x", "-i", "x", "-I", "y"],
        ["pub", "-t", "a", "-m", "x", "-P", "secret"],
        ["pub", "-t", "a", "-m", "x", "-L", "http://h/t"],
        ["pub", "-t", "a", "-m", "x", "-D", "foo", "bar", "baz"],
        ["pub", "-t", "a", "-m", "x", "-D", "publish", "bogus", "1"],
        ["pub", "-t", "a", "-m", "x", "--will-topic", "w/#"],
        ["pub", "-t", "a", "-m", "x", "-V", "5", "-c"],
        ["pub", "-t", "a", "-m", "x", "-V", "5", "-c", "-x", "10"],
        ["pub", "-t", "a", "-m", "x", "-V", "5", "-x", "-1", "-I", "p"],
        ["pub", "-t", "a", "-m", "x", "--cafile", "/nonexistent"],
        ["pub", "-t", "a", "-m", "x", "--cafile", hostname, "--tls-version", "tlsv1"],
        ["pub", "-t", "a", "-m", "x", "--keyform", "pem"],
        ["pub", "-t", "a", "-m", "x", "--cert", hostname, "--key", hostname, "--keyform", "x"],
        ["pub", "-t", "a", "-m", "x", "--tls-engine-kpass-sha1", "ab"],
        ["sub", "-t", "a/#/b"],
        ["sub", "-t", "a", "-T", "+x"],
        ["sub", "-t", "a", "-U", "a/#/b"],
        ["sub", "-t", "a", "-C", "0"],
        ["sub", "-t", "a", "-W", "0"],
        ["sub", "-t", "a", "-R", "--retained-only"],
        ["sub", "-t", "a", "--random-filter", "0"],
        ["sub", "-t", "a", "-e", "x"],
        ["rr", "-t", "a", "-e", "b", "-m", "x", "-r"],
        ["rr", "-t", "a", "-e", "b", "-l"],
        ["rr", "-t", "a", "-e", "b", "-m", "x", "-C", "1"],
        ["rr", "-t", "a", "-e", "b", "-m", "x", "-T", "c"],
        ["rr", "-t", "a", "-e", "b", "-m", "x", "--repeat", "2"],
        ["rr", "-t", "a/#", "-e", "b", "-m", "x"],
        ["rr", "-t", "a", "-e", "b/+", "-m", "x"],
        ["rr", "-t", "a", "-e", "b", "-m", "x", "-c"],
        # Failures while connecting: "Unable to connect (...)" with libmosquitto's words.
        ["pub", "-p", str(broker.port), "-t", "a", "-m", "x", "-A", "999.1.1.1"],
        ["pub", "-p", str(broker.port), "-t", "a", "-m", "x", "--cafile", hostname],
        ["sub", "-p", str(broker.port), "-t", "a", "--cafile", hostname],
    ]
    tools = {"pub": "mosquitto_pub", "sub": "mosquitto_sub", "rr": "mosquitto_rr"}
    for c in cases:
        tool = tools[c[0]]
        mrc, _, merr = run([tool] + c[1:])
        trc, _, terr = run(tern(*c))
        merr = merr.replace(tool.encode(), b"TOOL")
        terr = terr.replace(("tern " + c[0]).encode(), b"TOOL")
        check(mrc == trc and terr == merr,
              "error exit for %s: %d %r / %d %r" % (" ".join(c), mrc, merr, trc, terr))
    rc, out, _ = run(tern("sub", "-p", str(broker.port), "-t", "none", "-W", "1"))
    mrc, mout, _ = run(["mosquitto_sub", "-p", str(broker.port), "-t", "none", "-W", "1"])
    check(rc == mrc == 27, "-W timeout exit status %d (mosquitto %d)" % (rc, mrc))


def test_passwd(tmp):
    pwfile = os.path.join(tmp, "pw")
    rc, _, err = run(tern("passwd", "-c", "-b", pwfile, "alice", "s3cret"))
    check(rc == 0, "tern passwd -c -b (%s)" % err)
    rc, _, _ = run(tern("passwd", "-b", "-H", "sha512", pwfile, "bob", "b0b"))
    rc, _, _ = run(tern("passwd", "-b", "-I", "1000", pwfile, "carol", "c"))
    lines = open(pwfile).read().splitlines()
    check(len(lines) == 3 and re.match(r"^alice:\$7\$101\$[A-Za-z0-9+/]{16}\$[A-Za-z0-9+/]{86}==$",
                                       lines[0]) is not None, "passwd file format: %r" % lines)
    check(lines[1].startswith("bob:$6$") and lines[2].startswith("carol:$7$1000$"),
          "-H sha512 and -I")
    a2file = os.path.join(tmp, "pw-argon2")
    rc, _, err = run(tern("passwd", "-c", "-b", "-H", "argon2id", a2file, "dan", "d4n"))
    a2 = open(a2file).read() if rc == 0 else ""
    check(re.match(r"^dan:\$argon2id\$v=19\$m=47104,t=1,p=1\$[A-Za-z0-9+/]{86}\$[A-Za-z0-9+/]{86}\n$",
                   a2) is not None, "tern passwd -H argon2id writes Mosquitto 2.1's line: %r %r"
          % (a2, err))
    # The other half: users added to the same file by mosquitto_passwd ($7$ and -H sha512 $6$).
    # Every user must get in with both clients, whichever tool wrote the line.
    users = [("alice", "s3cret", "tern passwd"), ("bob", "b0b", "tern passwd -H sha512"),
             ("carol", "c", "tern passwd -I 1000")]
    for user, pw, sha512 in (("erin", "3rin", False), ("frank", "fr@nk:x", True)):
        rc, out, err = run(["mosquitto_passwd", "-b"] + (["-H", "sha512"] if sha512 else []) +
                           [pwfile, user, pw])
        check(rc == 0, "mosquitto_passwd adds %s (%r %r)" % (user, out, err))
        users.append((user, pw, "mosquitto_passwd" + (" -H sha512" if sha512 else "")))
    if KIND == "ternd":
        # ternd checks argon2id lines too (Debian's mosquitto 2.0 cannot).
        with open(pwfile, "a") as f:
            f.write(a2)
        users.append(("dan", "d4n", "tern passwd -H argon2id"))
    broker = start_broker(tmp, "allow_anonymous false\npassword_file %s\n" % pwfile)
    try:
        for user, pw, tool in users:
            rc, _, err = run(mpub(broker, "-t", "t", "-m", "m", "-u", user, "-P", pw))
            check(rc == 0, "%s accepts %s from %s for mosquitto_pub (%s)" % (KIND, user, tool, err))
            rc, _, err = run(tpub(broker, "-t", "t", "-m", "m", "-u", user, "-P", pw))
            check(rc == 0, "%s accepts %s from %s for tern pub (%s)" % (KIND, user, tool, err))
            rc, _, err = run(tpub(broker, "-t", "t", "-m", "m", "-u", user, "-P", pw + "x"))
            # CONNACK 4 "bad user name or password" (ternd) or 5 "not authorised" (mosquitto):
            # both are right for MQTT 3.1.1; the exit status is the code.
            check(rc in (4, 5), "%s refuses %s (%s) with a wrong password: %r %r"
                  % (KIND, user, tool, rc, err))
        for version in ("mqttv311", "mqttv5"):
            mrc, _, merr = run(mpub(broker, "-t", "t", "-m", "m", "-u", "alice", "-P", "bad",
                                    "-V", version))
            trc, _, terr = run(tpub(broker, "-t", "t", "-m", "m", "-u", "alice", "-P", "bad",
                                    "-V", version))
            check(mrc != 0 and trc == mrc and terr == merr,
                  "bad password %s: %d %r / %d %r" % (version, mrc, merr, trc, terr))
            rc, _, err = run(tpub(broker, "-t", "t", "-m", "m", "-u", "carol", "-P", "c", "-V",
                                  version))
            check(rc == 0, "tern pub authenticates %s (%s)" % (version, err))
            mrc, _, merr = run(["mosquitto_sub", "-p", str(broker.port), "-t", "t", "-V",
                                version])
            trc, _, terr = run(tern("sub", "-p", str(broker.port), "-t", "t", "-V", version))
            check(mrc != 0 and trc == mrc and terr == merr,
                  "sub refused %s: %d %r / %d %r" % (version, mrc, merr, trc, terr))
    finally:
        broker.stop()
    rc, _, _ = run(tern("passwd", "-D", pwfile, "bob"))
    check(rc == 0 and "bob:" not in open(pwfile).read(), "passwd -D")
    with open(pwfile, "w") as f:
        f.write("u1:plain1\nu2:plain2\n")
    rc, _, _ = run(tern("passwd", "-U", pwfile))
    lines = open(pwfile).read().splitlines()
    check(rc == 0 and len(lines) == 2 and all("$7$101$" in l for l in lines), "passwd -U")


def make_certs(tmp):
    """A test CA and a server certificate for DNS:localhost (not 127.0.0.1)."""
    def ossl(*args):
        subprocess.run(["openssl"] + list(args), check=True, capture_output=True, cwd=tmp)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    ossl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj",
         "/CN=Tern Test CA")
    ossl("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost")
    with open(os.path.join(tmp, "san.ext"), "w") as f:
        f.write("subjectAltName=DNS:localhost\n")
    ossl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
         "-CAcreateserial", "-out", "server.crt", "-days", "2", "-extfile", "san.ext")
    for name in ("server.key", "server.crt", "ca.crt"):
        os.chmod(os.path.join(tmp, name), 0o644)


def test_tls(tmp):
    if not shutil.which("openssl"):
        print("openssl missing: TLS test skipped")
        return
    make_certs(tmp)
    ca = os.path.join(tmp, "ca.crt")
    broker = start_broker(tmp, "cafile %s\ncertfile %s\nkeyfile %s\n"
                    % (ca, os.path.join(tmp, "server.crt"), os.path.join(tmp, "server.key")))
    try:
        base = ["mosquitto_sub", "-p", str(broker.port), "-h", "localhost", "--cafile", ca,
                "-c", "-i", "tls-sub", "-q", "1", "-t", "tls/#"]
        rc, _, err = run(base + ["-E"])
        check(rc == 0, "tls: mosquitto_sub over TLS (%s)" % err)
        for version in ("mqttv311", "mqttv5"):
            rc, _, err = run(tern("pub", "-p", str(broker.port), "-h", "localhost", "--cafile",
                                  ca, "-t", "tls/" + version, "-m", "secret", "-q", "1", "-V",
                                  version))
            check(rc == 0, "tls: tern pub --cafile %s (%s)" % (version, err))
        rc, _, err = run(tern("pub", "-p", str(broker.port), "-h", "127.0.0.1", "--cafile", ca,
                              "-t", "tls/x", "-m", "no"))
        check(rc != 0, "tls: host name mismatch refused (%s)" % err)
        rc, _, err = run(tern("pub", "-p", str(broker.port), "-h", "127.0.0.1", "--cafile", ca,
                              "--insecure", "-t", "tls/insecure", "-m", "yes", "-q", "1"))
        check(rc == 0, "tls: --insecure skips the host name check (%s)" % err)
        rc, _, err = run(tern("pub", "-L", "mqtts://localhost:%d/tls/url" % broker.port,
                              "--cafile", ca, "-m", "url", "-q", "1"))
        check(rc == 0, "tls: -L mqtts:// (%s)" % err)
        # Through a SOCKS5 proxy: the tunnel comes first, then TLS checks the name "localhost".
        proxy = Socks5Proxy()
        try:
            rc, _, err = run(tern("pub", "-p", str(broker.port), "-h", "localhost", "--cafile",
                                  ca, "--proxy", "socks5h://127.0.0.1:%d" % proxy.port, "-t",
                                  "tls/proxy", "-m", "tunnel", "-q", "1"))
            check(rc == 0 and proxy.requests == [(1, 3, "localhost", broker.port)],
                  "tls: tern pub --proxy then TLS (%s) %r" % (err, proxy.requests))
        finally:
            proxy.stop()
        rc, out, _ = run(base + ["-C", "5", "-F", "%t %p"])
        got = sorted(out.splitlines())
        check(got == [b"tls/insecure yes", b"tls/mqttv311 secret", b"tls/mqttv5 secret",
                      b"tls/proxy tunnel", b"tls/url url"], "tls: messages arrived: %r" % out)
        rc, out, err = run(tern("sub", "-p", str(broker.port), "-h", "localhost", "--cafile", ca,
                                "-t", "tls/none", "-E"))
        check(rc == 0, "tls: tern sub over TLS (%s)" % err)
        # --tls-use-os-certs turns TLS on with the system store, which lacks the test CA.
        rc, _, err = run(tern("pub", "-p", str(broker.port), "-h", "localhost",
                              "--tls-use-os-certs", "-t", "tls/os", "-m", "x"))
        check(rc == 1, "tls: --tls-use-os-certs alone does not trust the test CA (%s)" % err)
        rc, _, err = run(tern("pub", "-p", str(broker.port), "-h", "localhost", "--cafile", ca,
                              "--tls-use-os-certs", "--tls-alpn", "mqtt", "--nodelay", "-t",
                              "tls/os", "-m", "x"))
        check(rc == 0, "tls: --cafile with --tls-use-os-certs, --tls-alpn, --nodelay (%s)" % err)
    finally:
        broker.stop()
    # Client certificates (require_certificate) and --capath (a hashed CA directory).
    subprocess.run(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", "client.key", "-out", "client.csr", "-subj",
                    "/CN=tern-client"], check=True, capture_output=True, cwd=tmp)
    subprocess.run(["openssl", "x509", "-req", "-in", "client.csr", "-CA", "ca.crt", "-CAkey",
                    "ca.key", "-CAcreateserial", "-out", "client.crt", "-days", "2"],
                   check=True, capture_output=True, cwd=tmp)
    capath = os.path.join(tmp, "capath")
    os.mkdir(capath)
    shutil.copy(ca, capath)
    subprocess.run(["openssl", "rehash", capath], check=True, capture_output=True)
    broker = start_broker(tmp, "cafile %s\ncertfile %s\nkeyfile %s\nrequire_certificate true\n"
                          % (ca, os.path.join(tmp, "server.crt"),
                             os.path.join(tmp, "server.key")))
    try:
        mtls = ["-p", str(broker.port), "-h", "localhost", "-t", "tls/m", "-m", "x", "-q", "1"]
        cert = ["--cert", os.path.join(tmp, "client.crt"), "--key", os.path.join(tmp, "client.key")]
        for tool in (["mosquitto_pub"], tern("pub")):
            rc, _, err = run(tool + mtls + ["--cafile", ca] + cert)
            check(rc == 0, "tls: %s --cert/--key accepted by require_certificate (%s)"
                  % (tool[-1], err))
            rc, _, err = run(tool + mtls + ["--capath", capath] + cert)
            check(rc == 0, "tls: %s --capath (%s)" % (tool[-1], err))
            rc, _, err = run(tool + mtls + ["--cafile", ca])
            check(rc != 0, "tls: %s without a client certificate refused (%s)" % (tool[-1], err))
    finally:
        broker.stop()
    # --tls-version is a minimum, as libmosquitto's: tlsv1.2 reaches a TLS 1.3-only broker.
    broker = start_broker(tmp, "cafile %s\ncertfile %s\nkeyfile %s\ntls_version tlsv1.3\n"
                          % (ca, os.path.join(tmp, "server.crt"),
                             os.path.join(tmp, "server.key")))
    try:
        for tool in (["mosquitto_pub"], tern("pub")):
            rc, _, err = run(tool + ["-p", str(broker.port), "-h", "localhost", "--cafile", ca,
                                     "--tls-version", "tlsv1.2", "-t", "tls/v", "-m", "x"])
            check(rc == 0, "tls: %s --tls-version tlsv1.2 to a TLS 1.3 broker (%s)"
                  % (tool[-1], err))
    finally:
        broker.stop()


def recv_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


class Socks5Proxy:
    """A SOCKS5 proxy for the tests (RFC 1928 CONNECT; RFC 1929 user name / password when
    `users` maps names to passwords, otherwise only "no authentication"). Records every CONNECT
    request as (command, address type, host, port) and every login as (user, password), then
    relays bytes both ways. One thread per connection (socketserver)."""

    def __init__(self, users=None):
        self.users = users
        self.requests = []
        self.auths = []
        proxy = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                try:
                    proxy._serve(self.request)
                except (EOFError, OSError):
                    pass

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _authenticate(self, s):
        """Method negotiation and RFC 1929; False when the client is turned away."""
        ver, n = recv_exact(s, 2)
        methods = recv_exact(s, n)
        method = 0 if self.users is None else 2
        if ver != 5 or method not in methods:
            s.sendall(b"\x05\xff")
            return False
        s.sendall(bytes([5, method]))
        if method == 0:
            return True
        _, ulen = recv_exact(s, 2)
        user = recv_exact(s, ulen).decode()
        pw = recv_exact(s, recv_exact(s, 1)[0]).decode()
        self.auths.append((user, pw))
        ok = self.users.get(user) == pw
        s.sendall(b"\x01\x00" if ok else b"\x01\x01")
        return ok

    def _serve(self, s):
        if not self._authenticate(s):
            return
        _, cmd, _, atyp = recv_exact(s, 4)
        if atyp == 1:
            host = socket.inet_ntop(socket.AF_INET, recv_exact(s, 4))
        elif atyp == 4:
            host = socket.inet_ntop(socket.AF_INET6, recv_exact(s, 16))
        else:
            host = recv_exact(s, recv_exact(s, 1)[0]).decode()
        port = struct.unpack("!H", recv_exact(s, 2))[0]
        self.requests.append((cmd, atyp, host, port))
        try:
            up = socket.create_connection((host, port), timeout=TIMEOUT)
        except OSError:
            s.sendall(b"\x05\x05\x00\x01\x00\x00\x00\x00\x00\x00")  # connection refused
            return
        s.sendall(b"\x05\x00\x00\x01\x7f\x00\x00\x01" + struct.pack("!H", self.port))
        with up:
            other = {s: up, up: s}
            while True:
                ready, _, _ = select.select(list(other), [], [])
                for x in ready:
                    data = x.recv(65536)
                    if not data:
                        return
                    other[x].sendall(data)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def test_proxy(broker):
    """tern pub / sub through SOCKS5 proxies; errors as mosquitto_pub / mosquitto_sub."""
    port = broker.port
    sess = ["mosquitto_sub", "-p", str(port), "-c", "-i", "px-check", "-q", "1", "-t", "px/#"]
    run(sess + ["-E"])
    open_px = Socks5Proxy()
    auth_px = Socks5Proxy({"pxuser": "pxpass"})
    try:
        url = "socks5h://127.0.0.1:%d" % open_px.port
        rc, _, err = run(tern("pub", "-h", "localhost", "-p", str(port), "--proxy", url,
                              "-t", "px/name", "-m", "one", "-q", "1"))
        check(rc == 0 and open_px.requests == [(1, 3, "localhost", port)],
              "proxy: tern pub asks the proxy for the host name (%s) %r" % (err, open_px.requests))
        rc, _, err = run(tern("pub", "-h", "127.0.0.1", "-p", str(port), "--proxy", url,
                              "-t", "px/ip", "-m", "two", "-q", "1"))
        check(rc == 0 and open_px.requests[1:] == [(1, 1, "127.0.0.1", port)],
              "proxy: an IP literal goes as an IPv4 address (%s) %r" % (err, open_px.requests))
        auth_url = "socks5h://pxuser:pxpass@127.0.0.1:%d" % auth_px.port
        rc, _, err = run(tern("pub", "-h", "localhost", "-p", str(port), "--proxy", auth_url,
                              "-t", "px/auth", "-m", "three", "-q", "1", "-V", "5"))
        check(rc == 0 and auth_px.auths == [("pxuser", "pxpass")] and
              auth_px.requests == [(1, 3, "localhost", port)],
              "proxy: user name and password (%s) %r %r" % (err, auth_px.auths, auth_px.requests))
        rc, out, _ = run(sess + ["-C", "3", "-F", "%t %p"])
        check(sorted(out.splitlines()) == [b"px/auth three", b"px/ip two", b"px/name one"],
              "proxy: the messages arrived: %r" % out)
        # tern sub through the proxy: a persistent session, fed while it is away.
        tsub = tern("sub", "-h", "localhost", "-p", str(port), "--proxy", auth_url, "-c", "-i",
                    "px-tern", "-q", "1", "-t", "px/#")
        rc, _, err = run(tsub + ["-E"])
        check(rc == 0, "proxy: tern sub -E through the proxy (%s)" % err)
        run(mpub(broker, "-t", "px/sub", "-m", "four", "-q", "1"))
        rc, out, err = run(tsub + ["-C", "1", "-v"])
        check(rc == 0 and out == b"px/sub four\n" and len(auth_px.requests) == 3,
              "proxy: tern sub receives through the proxy: %r %r" % (out, err))
        # Refused authentication: wrong password (RFC 1929 status), and no credentials for a
        # proxy that requires them (no acceptable method): mosquitto's message and exit status.
        bad = "socks5h://pxuser:nope@127.0.0.1:%d" % auth_px.port
        none = "socks5h://127.0.0.1:%d" % auth_px.port
        dead = "socks5h://127.0.0.1:%d" % free_port()
        for url, want_rc in ((bad, 16), (none, 11), (dead, 1)):
            for tool, args in (("pub", ["-m", "x"]), ("sub", ["-E"])):
                argv = ["-h", "localhost", "-p", str(port), "-t", "px/x", "--proxy", url] + args
                mrc, _, merr = run(["mosquitto_" + tool] + argv)
                trc, _, terr = run(tern(tool, *argv))
                check(trc == mrc == want_rc and terr == merr and terr.startswith(b"Error: "),
                      "proxy refused %s %s: tern %r %r / mosquitto %r %r"
                      % (tool, url, trc, terr, mrc, merr))
    finally:
        open_px.stop()
        auth_px.stop()
    for url in ("http://proxy", "socks5h://", "socks5h://host:99999", "socks5h://host:0"):
        mrc, _, merr = run(["mosquitto_pub", "-t", "a", "-m", "b", "--proxy", url])
        trc, _, terr = run(tern("pub", "-t", "a", "-m", "b", "--proxy", url))
        check(trc == mrc == 1 and terr.replace(b"tern pub", b"mosquitto_pub") == merr,
              "proxy URL error %s: %r / %r" % (url, terr, merr))


def mask_id(out, cid):
    return out.replace(cid.encode(), b"ID")


def test_debug_output(broker):
    """-d lines of tern pub / sub against mosquitto_pub / sub, run one after the other."""
    cases = [["-q", "0"], ["-q", "1"], ["-q", "2", "-r"], ["-q", "1", "-V", "5"],
             ["-q", "2", "-V", "5"], ["-q", "0", "--repeat", "3"],
             ["-q", "1", "--repeat", "2", "-V", "mqttv31"], ["-n", "-q", "1"]]
    for args in cases:
        payload = [] if "-n" in args else ["-m", "hello"]
        outs = []
        for name, cmd in (("m", ["mosquitto_pub"]), ("t", tern("pub"))):
            cid = "dbg-pub-" + name
            rc, out, err = run(cmd + ["-p", str(broker.port), "-d", "-i", cid, "-t", "dbg/p"] +
                               payload + args)
            outs.append((rc, mask_id(out, cid), err))
        check(outs[0] == outs[1] and outs[0][0] == 0 and b"sending PUBLISH" in outs[0][1],
              "pub -d %s identical\n  mosquitto: %r\n  tern:      %r"
              % (" ".join(args), outs[0], outs[1]))
    run(mpub(broker, "-t", "dbg/s/r", "-m", "kept", "-r", "-q", "1"))
    for args in (["-q", "0"], ["-q", "0", "-V", "5", "-v"], ["-q", "1"], ["-q", "2", "-V", "5"]):
        outs = []
        for name, cmd in (("m", ["mosquitto_sub"]), ("t", tern("sub"))):
            cid = "dbg-sub-" + name
            rc, out, err = run(cmd + ["-p", str(broker.port), "-d", "-i", cid, "-t", "dbg/s/#",
                                      "-C", "1"] + args)
            outs.append((rc, mask_id(out, cid), err))
        same = outs[0] == outs[1]
        if args[1] != "0":
            same = sorted(outs[0][1].splitlines()) == sorted(outs[1][1].splitlines())
        check(same and b"Subscribed (mid: 1)" in outs[0][1],
              "sub -d %s same lines\n  mosquitto: %r\n  tern:      %r"
              % (" ".join(args), outs[0], outs[1]))
    run(mpub(broker, "-t", "dbg/s/r", "-n", "-r", "-q", "1"))


class LineReader:
    """Reads lines from a child's pipe with a deadline (select), never sleeping."""

    def __init__(self, pipe):
        self.fd = pipe.fileno()
        self.buf = b""

    def line(self):
        while b"\n" not in self.buf:
            r, _, _ = select.select([self.fd], [], [], TIMEOUT)
            if not r:
                return None
            chunk = os.read(self.fd, 4096)
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line + b"\n"


def test_sub_reconnects(tmp):
    """The broker restarts on the same port (without persistence: the subscription is gone);
    tern sub must reconnect by itself and subscribe again. Retained messages make the order of
    publish and (re)subscribe irrelevant."""
    broker = start_broker(tmp)
    port = broker.port
    sub = subprocess.Popen(tern("sub", "-p", str(port), "-t", "rc/#", "-v", "-q", "1"),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    reader = LineReader(sub.stdout)
    try:
        run(mpub(broker, "-t", "rc/before", "-m", "1", "-r", "-q", "1"))
        first = reader.line()
        broker.stop()
        broker = start_broker(tmp, port=port)
        run(mpub(broker, "-t", "rc/after", "-m", "2", "-r", "-q", "1"))
        second = reader.line()
        # Now subscribed again: a plain (not retained) message arrives too.
        run(mpub(broker, "-t", "rc/live", "-m", "3", "-q", "1"))
        third = reader.line()
        check(first == b"rc/before 1\n" and second == b"rc/after 2\n" and third == b"rc/live 3\n",
              "tern sub reconnects after a broker restart: %r %r %r" % (first, second, third))
        check(sub.poll() is None, "tern sub still running after the restart")
    finally:
        sub.kill()
        _, err = sub.communicate()
        broker.stop()
    check(err == b"", "tern sub printed nothing on stderr while reconnecting: %r" % err)


def test_psk_and_unix(tmp):
    sockdir = os.path.join(tmp, "sock")
    os.mkdir(sockdir)
    os.chmod(sockdir, 0o777)  # mosquitto binds the socket as user "mosquitto"
    path = os.path.join(sockdir, "mqtt.sock")
    pskfile = os.path.join(tmp, "psk")
    with open(pskfile, "w") as f:
        f.write("ident:00112233445566778899aabbccddeeff\n")
    os.chmod(pskfile, 0o644)
    broker = start_broker(tmp, "psk_hint tern\npsk_file %s\nlistener 0 %s\n" % (pskfile, path))
    psk = ["--psk", "00112233445566778899aabbccddeeff", "--psk-identity", "ident"]
    try:
        base = ["mosquitto_sub", "-p", str(broker.port), "-c", "-i", "psk-sub", "-q", "1",
                "-t", "psk/#"] + psk
        rc, _, err = run(base + ["-E"])
        check(rc == 0, "psk: mosquitto_sub with TLS-PSK (%s)" % err)
        rc, _, err = run(tpub(broker, "-t", "psk/a", "-m", "one", "-q", "1", *psk))
        check(rc == 0, "psk: tern pub --psk (%s)" % err)
        rc, _, err = run(tpub(broker, "-t", "psk/b", "-m", "two", "-q", "1", "--tls-version",
                              "tlsv1.2", "--ciphers", "PSK-AES256-GCM-SHA384", *psk))
        check(rc == 0, "psk: tern pub --ciphers with TLS 1.2 (%s)" % err)
        rc, _, err = run(tern("pub", "--unix", path, "-t", "psk/c", "-m", "three", "-q", "1"))
        check(rc == 0, "unix: tern pub --unix (%s)" % err)
        rc, out, _ = run(base + ["-C", "3", "-F", "%t %p"])
        check(sorted(out.splitlines()) == [b"psk/a one", b"psk/b two", b"psk/c three"],
              "psk/unix: messages arrived: %r" % out)
        rc, _, _ = run(tpub(broker, "-t", "psk/x", "-m", "no", "--psk", "ffff",
                            "--psk-identity", "ident"))
        check(rc == 1, "psk: a wrong key is refused")
        rc, _, err = run(tern("sub", "--unix", path, "-t", "x", "-E"))
        check(rc == 0, "unix: tern sub --unix (%s)" % err)
        for args, want in ((["--psk", "aa"], b"Error: --psk-identity required if --psk used."),
                           (["--psk", "aa", "--psk-identity", "i", "--cafile", "x"],
                            b"Error: Only one of --psk or --cafile/--capath may be used at once.")):
            rc, _, err = run(tern("pub", "-t", "a", "-m", "b", *args))
            mrc, _, merr = run(["mosquitto_pub", "-t", "a", "-m", "b"] + args)
            check(rc == mrc == 1 and err.split(b"\n")[0] == merr.split(b"\n")[0] == want,
                  "psk option error %r: %r / %r" % (args, err, merr))
    finally:
        broker.stop()


def test_rr_payload_sources(broker):
    """tern rr sends the request from -f FILE and from stdin with -s, as mosquitto_rr."""
    tmpf = tempfile.NamedTemporaryFile(delete=False)
    tmpf.write(b"from\x00file")
    tmpf.close()
    try:
        for name, args, stdin, want in (("-f", ["-f", tmpf.name], None, b"from\x00file"),
                                        ("-s", ["-s"], b"from stdin\n", b"from stdin\n")):
            responder = ["mosquitto_sub", "-p", str(broker.port), "-c", "-i", "rrsrc", "-q",
                         "1", "-V", "5", "-t", "rrsrc/req"]
            run(responder + ["-E"])
            rr = subprocess.Popen(tern("rr", "-p", str(broker.port), "-t", "rrsrc/req", "-e",
                                       "rrsrc/resp", "-q", "1", *args),
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE)
            if stdin is not None:
                rr.stdin.write(stdin)
            rr.stdin.close()
            rr.stdin = None  # closed: communicate() below only reads
            rc, out, _ = run(responder + ["-C", "1", "-F", "%R|%x"])
            check(out == b"rrsrc/resp|%s\n" % want.hex().encode(),
                  "rr %s: the request payload is the input: %r" % (name, out))
            run(mpub(broker, "-t", "rrsrc/resp", "-m", "ok"))
            out, err = rr.communicate(timeout=TIMEOUT)
            check(rr.returncode == 0 and out == b"ok\n", "rr %s: reply %r %r" % (name, out, err))
    finally:
        os.unlink(tmpf.name)


def test_property_selects_v5(broker):
    """-D alone makes the client speak MQTT v5 (mosquitto's clients do), so the property is
    sent without -V 5."""
    sub = ["mosquitto_sub", "-p", str(broker.port), "-c", "-i", "dv5", "-q", "1", "-V", "5",
           "-t", "dv5/t"]
    run(sub + ["-E"])
    rc, _, err = run(tpub(broker, "-t", "dv5/t", "-m", "x", "-q", "1", "-D", "publish",
                          "user-property", "k", "v"))
    check(rc == 0, "-D without -V publishes (%s)" % err)
    rc, out, _ = run(sub + ["-C", "1", "-F", "%P"])
    check(out == b"k:v\n", "-D without -V: the user property arrives: %r" % out)


def test_remove_retained_filter(broker):
    """--remove-retained clears only what -T lets through. (mosquitto_sub is not run: with
    --retained-only it can miss its own exit when the PUBACK of its clear comes before the
    clear's echo.)"""
    root = "rmf"
    for leaf in ("keep", "drop"):
        run(mpub(broker, "-t", "%s/%s" % (root, leaf), "-m", leaf, "-r", "-q", "1"))
    rc, out, err = run(tern("sub", "-p", str(broker.port), "-t", root + "/#", "-q", "1",
                            "--remove-retained", "--retained-only", "-T", root + "/keep", "-v"))
    check(rc == 0 and out == b"rmf/drop drop\n",
          "sub --remove-retained -T prints what it clears: %r %r" % (out, err))
    # What is still retained arrives first, then the live marker ends the check.
    left = subprocess.Popen(["mosquitto_sub", "-p", str(broker.port), "-t", root + "/#", "-v",
                             "-C", "2", "-q", "1"], stdout=subprocess.PIPE)
    reader = LineReader(left.stdout)
    first = reader.line()
    run(mpub(broker, "-t", root + "/zz", "-m", "marker", "-q", "1"))
    second = reader.line()
    left.wait(timeout=TIMEOUT)
    check([first, second] == [b"rmf/keep keep\n", b"rmf/zz marker\n"],
          "--remove-retained -T: only the filtered-out message survives: %r" % [first, second])
    run(mpub(broker, "-t", root + "/keep", "-n", "-r", "-q", "1"))


def test_publish_refused(tmp):
    """A PUBACK with an error reason: mosquitto_pub's warning text, and exit status 0."""
    acl = os.path.join(tmp, "acl-refused")
    with open(acl, "w") as f:
        f.write("topic readwrite ok/#\n")
    os.chmod(acl, 0o644)
    broker = start_broker(tmp, "acl_file %s\n" % acl)
    try:
        for q in ("1", "2"):
            args = ["-t", "denied", "-m", "x", "-q", q, "-V", "5"]
            mrc, _, merr = run(mpub(broker, *args))
            trc, _, terr = run(tpub(broker, *args))
            check(mrc == trc == 0 and merr == terr and b"Not authorized" in terr,
                  "refused QoS %s publish: %d %r / %d %r" % (q, mrc, merr, trc, terr))
    finally:
        broker.stop()


def test_passwd_keeps_mode(tmp):
    pw = os.path.join(tmp, "pw-mode")
    rc, _, _ = run(tern("passwd", "-c", "-b", pw, "a", "b"))
    os.chmod(pw, 0o640)
    rc2, _, _ = run(tern("passwd", "-b", pw, "c", "d"))
    rc3, _, _ = run(tern("passwd", "-D", pw, "a"))
    mode = os.stat(pw).st_mode & 0o777
    check(rc == rc2 == rc3 == 0 and mode == 0o640,
          "tern passwd keeps the file's mode across updates: %o" % mode)


def test_signal_disconnect(broker):
    """SIGINT/SIGTERM: tern sub sends DISCONNECT and exits 0; in v5 with reason 0x04, so the
    broker publishes the will; in v3.1.1 a normal DISCONNECT, so it does not (a marker
    published afterwards is the first thing the will topic's subscriber sees)."""
    for version, sig, will_expected in (("5", signal.SIGINT, True),
                                        ("311", signal.SIGTERM, False)):
        wt = "sigwill/%s" % version
        # The will topic's subscriber: a persistent session that queues what it misses.
        run(["mosquitto_sub", "-p", str(broker.port), "-t", wt, "-q", "1", "-c", "-i",
             "sigwatch" + version, "-E"])
        run(mpub(broker, "-t", "sigready/" + version, "-m", "r", "-r", "-q", "1"))
        sub = subprocess.Popen(tern("sub", "-p", str(broker.port), "-V", version, "-t",
                                    "sigready/" + version, "--will-topic", wt,
                                    "--will-payload", "gone"),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        ready = LineReader(sub.stdout).line()  # the retained message: connected, subscribed
        sub.send_signal(sig)
        try:
            _, err = sub.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            sub.kill()
            _, err = sub.communicate()
        check(ready == b"r\n" and sub.returncode == 0 and err == b"",
              "v%s %s: tern sub exits 0: %r %r %r" % (version, sig.name, ready, sub.returncode,
                                                     err))
        run(mpub(broker, "-t", wt, "-m", "marker", "-q", "1"))
        rc, out, _ = run(["mosquitto_sub", "-p", str(broker.port), "-t", wt, "-C", "1", "-q",
                          "1", "-c", "-i", "sigwatch" + version])
        want = b"gone\n" if will_expected else b"marker\n"
        check(out == want, "v%s %s: will %s: %r" % (version, sig.name,
                                                    "published" if will_expected else "not sent",
                                                    out))
        run(mpub(broker, "-t", "sigready/" + version, "-n", "-r", "-q", "1"))


def test_random_filter(broker):
    """--random-filter 50 prints about half: of 400 messages the first 100 printed cannot all
    be among the first 100 sent (probability 2^-100), and 100 are printed long before the end."""
    sub = subprocess.Popen(tern("sub", "-p", str(broker.port), "-t", "rnd/t", "-q", "1",
                                "--random-filter", "50", "-C", "100", "-d"),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    reader = LineReader(sub.stdout)
    while True:
        line = reader.line()
        if line is None or line.startswith(b"Client") and b"SUBACK" in line:
            break
    lines = b"".join(b"%d\n" % k for k in range(400))
    rc, _, err = run(tpub(broker, "-t", "rnd/t", "-q", "1", "-l"), stdin=lines)
    out, _ = sub.communicate(timeout=TIMEOUT)
    got = [int(l) for l in out.split(b"\n") if l.strip().isdigit()]
    check(rc == 0 and sub.returncode == 0 and len(got) == 100 and max(got) >= 100 and
          got == sorted(got), "--random-filter 50: %d printed, last %s" % (len(got),
                                                                          got[-1:] if got else "-"))


def test_options_end_to_end(broker):
    """Options not covered above, each checked by what arrives (persistent sessions for sync)."""
    port = str(broker.port)
    sess = ["mosquitto_sub", "-p", port, "-c", "-i", "opts", "-q", "2", "-V", "5", "-t", "opt/#"]
    run(sess + ["-E"])
    data = bytes(range(256)) * 3
    tmpf = tempfile.NamedTemporaryFile(delete=False)
    tmpf.write(data)
    tmpf.close()
    try:
        steps = [
            (["-t", "opt/file", "-f", tmpf.name, "-q", "1"], "pub -f"),
            (["-t", "opt/rep", "-m", "r", "-q", "1", "--repeat", "3", "--repeat-delay", "0.01"],
             "pub --repeat --repeat-delay"),
            (["-t", "opt/bind", "-m", "b", "-q", "1", "-A", "127.0.0.1"], "pub -A"),
            (["-t", "opt/exp", "-m", "e", "-q", "1", "-V", "5", "-D", "publish",
              "message-expiry-interval", "3600"], "pub message expiry"),
            (["-t", "opt/ka", "-m", "k", "-q", "1", "-k", "5", "-M", "1"], "pub -k -M"),
        ]
        for args, what in steps:
            rc, _, err = run(tpub(broker, *args))
            check(rc == 0, "%s (%s)" % (what, err))
        rc, out, _ = run(tern("pub", "-p", port, "-t", "opt/lines", "-q", "1", "-M", "1", "-l"),
                         stdin=b"1\n2\n3\n4\n5\n")
        rc, out, _ = run(sess + ["-C", "12", "-F", "%t %q %E %x"])
        lines = out.decode().splitlines()
        want_head = ["opt/file 1  " + data.hex()] + ["opt/rep 1  72"] * 3 + ["opt/bind 1  62"]
        exp = lines[5].split(" ") if len(lines) > 5 else []
        check(lines[:5] == want_head and len(exp) == 4 and exp[0] == "opt/exp" and
              3590 <= int(exp[2] or 0) <= 3600 and lines[6:] == ["opt/ka 1  6b"] +
              ["opt/lines 1  %s" % ("%d" % k).encode().hex() for k in range(1, 6)],
              "-f, --repeat, -A, message expiry (%%E), -k, -M, -l arrive: %r" % lines)
    finally:
        os.unlink(tmpf.name)
    # -I: the client id is the prefix and the process id (seen in the -d trace).
    rc, out, _ = run(tpub(broker, "-t", "opt/x", "-m", "x", "-I", "pre-", "-d"))
    check(rc == 0 and re.search(rb"Client pre-\d+ sending PUBLISH", out) is not None,
          "-I prefix: %r" % out[:200])
    # -x: a clean-start v5 session with an expiry outlives the connection.
    xs = tern("sub", "-p", port, "-V", "5", "-i", "opt-x", "-q", "1", "-t", "optx/t")
    rc, _, err = run(xs + ["-x", "300", "-E"])
    run(mpub(broker, "-t", "optx/t", "-m", "kept", "-q", "1"))
    rc, out, _ = run(xs + ["-c", "-C", "1"])
    check(rc == 0 and out == b"kept\n", "-x 300 keeps the session: %r" % out)
    run(xs + ["-x", "0", "-E"])
    # -U: unsubscribing from a filter of the resumed session stops its messages.
    us = tern("sub", "-p", port, "-c", "-i", "opt-u", "-q", "1")
    run(us + ["-t", "optu/a", "-t", "optu/b", "-E"])
    rc, _, err = run(us + ["-t", "optu/a", "-U", "optu/b", "-E"])
    check(rc == 0, "sub -U (%s)" % err)
    run(mpub(broker, "-t", "optu/b", "-m", "gone", "-q", "1"))
    run(mpub(broker, "-t", "optu/a", "-m", "here", "-q", "1"))
    rc, out, _ = run(us + ["-t", "optu/a", "-C", "1", "-v"])
    check(out == b"optu/a here\n", "-U optu/b: only optu/a arrives: %r" % out)
    # Will with QoS and retain, published when the client dies without DISCONNECT.
    for tool in (["mosquitto_sub"], tern("sub")):
        name = os.path.basename(tool[0])
        wt = "optw/%s" % name
        run(mpub(broker, "-t", "optw/ready/" + name, "-m", "r", "-r", "-q", "1"))
        p = subprocess.Popen(tool + ["-p", port, "-t", "optw/ready/" + name, "--will-topic", wt,
                                     "--will-payload", "bye", "--will-qos", "1",
                                     "--will-retain"], stdout=subprocess.PIPE)
        ready = LineReader(p.stdout).line()
        p.kill()
        p.wait()
        rc, out, _ = run(["mosquitto_sub", "-p", port, "-t", wt, "-C", "1", "-q", "1", "-F",
                          "%t %p %q %r"])
        check(ready == b"r\n" and out == ("%s bye 1 1\n" % wt).encode(),
              "%s --will-*: the retained QoS 1 will: %r" % (name, out))
        run(mpub(broker, "-t", wt, "-n", "-r"))
        run(mpub(broker, "-t", "optw/ready/" + name, "-n", "-r"))
    # --quiet: no error text, same status.
    closed = str(free_port())
    for tool in (["mosquitto_pub"], tern("pub")):
        rc, out, err = run(tool + ["-p", closed, "-t", "q", "-m", "x", "--quiet"])
        check(rc == 1 and out == err == b"", "%s --quiet: %d %r" % (tool[-1], rc, err))
    # rr with the output options: -v, -F, -N; and -W when no reply comes.
    responder = ["mosquitto_sub", "-p", port, "-c", "-i", "optrr", "-q", "1", "-V", "5", "-t",
                 "optrr/req"]
    run(responder + ["-E"])
    for fmt, want in ((["-v"], b"optrr/resp pong\n"), (["-F", "%t:%p"], b"optrr/resp:pong\n"),
                      (["-N"], b"pong")):
        rr = subprocess.Popen(tern("rr", "-p", port, "-t", "optrr/req", "-e", "optrr/resp", "-m",
                                   "ping", "-q", "1", *fmt), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
        run(responder + ["-C", "1"])
        run(mpub(broker, "-t", "optrr/resp", "-m", "pong"))
        out, err = rr.communicate(timeout=TIMEOUT)
        check(rr.returncode == 0 and out == want, "rr %s: %r %r" % (fmt, out, err))
    rc, out, err = run(tern("rr", "-p", port, "-t", "optrr/none", "-e", "optrr/noreply", "-m",
                            "x", "-W", "1"))
    check(rc == 27 and err == b"Timed out\n", "rr -W 1 without reply: %r %r" % (rc, err))
    # --help: usage on stdout, status 1, as mosquitto's clients.
    for sub in ("pub", "sub", "rr"):
        rc, out, _ = run(tern(sub, "--help"))
        check(rc == 1 and out.startswith(b"tern %s" % sub.encode()), "tern %s --help" % sub)


def main():
    if not os.path.exists(MOSQUITTO) or not shutil.which("mosquitto_sub"):
        print("mosquitto or mosquitto-clients missing: skipped")
        return 0
    tmp = tempfile.mkdtemp(prefix="tern-cli-")
    os.chmod(tmp, 0o755)  # mosquitto started as root reads its files as user "mosquitto"
    broker = start_broker(tmp)
    try:
        test_tern_pub_to_mosquitto_sub(broker)
        test_retained_and_lines(broker)
        test_v5_properties(broker)
        test_sub_output_matches(broker)
        test_rr(broker)
        test_rr_payload_sources(broker)
        test_property_selects_v5(broker)
        test_remove_retained_filter(broker)
        test_signal_disconnect(broker)
        test_random_filter(broker)
        test_options_end_to_end(broker)
        test_errors(broker)
        test_proxy(broker)
        test_debug_output(broker)
        test_passwd(tmp)
        test_passwd_keeps_mode(tmp)
        test_publish_refused(tmp)
        test_tls(tmp)
        test_sub_reconnects(tmp)
        test_psk_and_unix(tmp)
    finally:
        broker.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d failed" % failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
