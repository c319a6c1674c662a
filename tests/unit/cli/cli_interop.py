#!/usr/bin/python3
"""Interop tests of the `tern` CLI against Debian's mosquitto broker and clients.

Starts /usr/sbin/mosquitto on a free loopback port and checks that:
- `tern pub` messages reach mosquitto_sub unchanged (QoS 0/1/2, retained, v5 -D properties);
- `tern sub` and mosquitto_sub given the same flags print byte-identical output (-v, default,
  several -F formats; time fields are masked);
- `tern rr` gets its reply; option errors exit like mosquitto's;
- a password file written by `tern passwd` works as mosquitto's password_file; argon2id lines
  have Mosquitto 2.1's shape (Debian's mosquitto 2.0 cannot check them);
- `tern pub -d` prints the same debug lines as `mosquitto_pub -d` (client id masked), `tern sub -d`
  too (the PUBACK line may come before or after the message: compared as sets);
- `tern sub` reconnects when the broker restarts on the same port and re-subscribes;
- TLS-PSK (--psk, --psk-identity, --ciphers), --unix, --tls-use-os-certs and --tls-alpn work.
Synchronisation uses persistent sessions (subscribe with -c -E, publish, then fetch the queued
messages with -C) or retained messages, never sleeps. Usage: cli_interop.py /path/to/tern
"""
import os
import re
import select
import shutil
import socket
import subprocess
import sys
import tempfile

TERN = sys.argv[1]
MOSQUITTO = "/usr/sbin/mosquitto"
TIMEOUT = 20
failures = 0


def check(cond, what):
    global failures
    if cond:
        print("ok   " + what.split("\n")[0])
    else:
        failures += 1
        print("FAIL " + what)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Broker:
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


def run(args, stdin=None):
    p = subprocess.run(args, input=stdin, capture_output=True, timeout=TIMEOUT)
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
        payloads = [b"zero", b"one", b"two", b"", b"bin\x00\x01\xff"]
        for qos, p in zip([0, 1, 2, 1], payloads):
            rc, out, err = run(tpub(broker, "-V", version, "-t", tag + "/q", "-q", str(qos),
                                    "-m", p.decode()))
            check(rc == 0 and out == b"" and err == b"", "%s: tern pub qos %d" % (tag, qos))
        rc, _, _ = run(tpub(broker, "-V", version, "-t", tag + "/f", "-q", "1", "-s"),
                       stdin=payloads[4])
        check(rc == 0, tag + ": tern pub -s binary stdin")
        rc, out, _ = run(base + ["-C", "5", "-F", "%t|%q|%l|%x"])
        # The broker may deliver queued QoS 2 messages after later QoS 0/1 ones: compare sets.
        out = b"".join(sorted(out.splitlines(True)))
        want = b"".join(sorted(b"%s/%s|%d|%d|%s\n" % (tag.encode(), t, q, len(p), p.hex().encode())
                        for t, q, p in [(b"q", 0, payloads[0]), (b"q", 1, payloads[1]),
                                        (b"q", 2, payloads[2]), (b"q", 1, payloads[3]),
                                        (b"f", 1, payloads[4])]))
        check(rc == 0 and out == want, "%s: mosquitto_sub got identical payloads %r" % (tag, out))


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
    ]
    for c in cases:
        tool = {"pub": "mosquitto_pub", "sub": "mosquitto_sub"}[c[0]]
        mrc, _, merr = run([tool] + c[1:])
        trc, _, terr = run(tern(*c))
        merr = merr.replace(tool.encode(), b"TOOL")
        terr = terr.replace(("tern " + c[0]).encode(), b"TOOL")
        first = terr.split(b"\n")[0]
        check(mrc == trc and first == merr.split(b"\n")[0],
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
    broker = Broker(tmp, "allow_anonymous false\npassword_file %s\n" % pwfile)
    try:
        for user, pw in (("alice", "s3cret"), ("bob", "b0b"), ("carol", "c")):
            rc, _, err = run(mpub(broker, "-t", "t", "-m", "m", "-u", user, "-P", pw))
            check(rc == 0, "mosquitto accepts %s from tern passwd (%s)" % (user, err))
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
    broker = Broker(tmp, "cafile %s\ncertfile %s\nkeyfile %s\n"
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
        rc, out, _ = run(base + ["-C", "4", "-F", "%t %p"])
        got = sorted(out.splitlines())
        check(got == [b"tls/insecure yes", b"tls/mqttv311 secret", b"tls/mqttv5 secret",
                      b"tls/url url"], "tls: messages arrived: %r" % out)
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
    broker = Broker(tmp)
    port = broker.port
    sub = subprocess.Popen(tern("sub", "-p", str(port), "-t", "rc/#", "-v", "-q", "1"),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    reader = LineReader(sub.stdout)
    try:
        run(mpub(broker, "-t", "rc/before", "-m", "1", "-r", "-q", "1"))
        first = reader.line()
        broker.stop()
        broker = Broker(tmp, port=port)
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
    broker = Broker(tmp, "psk_hint tern\npsk_file %s\nlistener 0 %s\n" % (pskfile, path))
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


def main():
    if not os.path.exists(MOSQUITTO) or not shutil.which("mosquitto_sub"):
        print("mosquitto or mosquitto-clients missing: skipped")
        return 0
    tmp = tempfile.mkdtemp(prefix="tern-cli-")
    os.chmod(tmp, 0o755)  # mosquitto started as root reads its files as user "mosquitto"
    broker = Broker(tmp)
    try:
        test_tern_pub_to_mosquitto_sub(broker)
        test_retained_and_lines(broker)
        test_v5_properties(broker)
        test_sub_output_matches(broker)
        test_rr(broker)
        test_errors(broker)
        test_debug_output(broker)
        test_passwd(tmp)
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
