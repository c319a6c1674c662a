#!/usr/bin/python3
"""Interop test: security of the real ternd (issue 6) with independent clients.

Covers TLS (mosquitto_pub/sub --cafile), mutual TLS (no certificate, another CA, revoked via
CRL), the certificate CN or subject as user name driving ACLs, TLS-PSK, rotation of the server
certificate on disk while a TLS client stays connected, SIGHUP reload of the password and ACL
files, mosquitto_passwd files ($7$ and $6$), an ACL matrix (user, anonymous, pattern %u/%c, deny)
for publish, subscribe and delivery in 3.1.1 and 5.0, and what a failed login logs.
Certificates are made here with the openssl CLI. Each test runs its own ternd with its own
configuration. SCRAM and JWT are not wired into the broker yet and are not tested here.
"""

import os
import queue
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback

sys.dont_write_bytecode = True  # Keep __pycache__ out of the source tree.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import WAIT, TestFailure, check, check_eq, unique  # noqa: E402

try:
    import paho.mqtt.client as mqtt
    from paho.mqtt.reasoncodes import ReasonCodes
except ImportError as e:
    harness.fail_missing("python3-paho-mqtt for /usr/bin/python3 (%s)" % e)

V311, V5 = "v311", "v5"
# The broker polls certificate files every 5 s; a change shows within two polls.
ROTATE_WAIT = 15.0
# Reason codes (MQTT 5.0 section 2.4) and 3.1.1 CONNACK return codes.
RC_OK = 0x00
RC_NOT_AUTHORIZED = 0x87
RC_BAD_USER_OR_PASSWORD = 0x86
V3_BAD_USER_OR_PASSWORD = 4
V3_NOT_AUTHORIZED = 5
V3_SUB_FAILURE = 0x80


# ----------------------------------------------------------------------------------------------
# Certificates


def openssl(*args, cwd):
    r = subprocess.run(["openssl"] + list(args), cwd=cwd, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    if r.returncode != 0:
        raise TestFailure("openssl %s failed:\n%s" % (" ".join(args), r.stdout.decode()))


class Pki:
    """Test certificates made with the openssl CLI (EC P-256): a CA with a server certificate for
    127.0.0.1/localhost and a replacement one, clients alice, bob and carol (revoked, in
    crl.pem), and mallory (CN=alice) from another CA."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="tern-pki-")
        d = self.dir
        self._ca("ca", "Tern Test CA")
        self._ca("ca2", "Other Test CA")
        with open(os.path.join(d, "server.ext"), "w") as f:
            f.write("basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n"
                    "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n")
        with open(os.path.join(d, "client.ext"), "w") as f:
            f.write("basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n"
                    "extendedKeyUsage=clientAuth\n")
        self._leaf("server", "tern-server-1", "ca", 0x2001, "server.ext")
        self._leaf("server2", "tern-server-2", "ca", 0x2002, "server.ext")
        self._leaf("alice", "alice", "ca", 0x1001, "client.ext")
        self._leaf("bob", "bob", "ca", 0x1002, "client.ext")
        self._leaf("carol", "carol", "ca", 0x1003, "client.ext")
        self._leaf("mallory", "alice", "ca2", 0x1001, "client.ext")
        with open(os.path.join(d, "ca.cnf"), "w") as f:
            f.write("[ca]\ndefault_ca = tca\n[tca]\ndatabase = index.txt\n"
                    "crlnumber = crlnumber\ndefault_md = sha256\ndefault_crl_days = 30\n")
        with open(os.path.join(d, "index.txt"), "w"):
            pass
        with open(os.path.join(d, "crlnumber"), "w") as f:
            f.write("01\n")
        ca = ["-config", "ca.cnf", "-keyfile", "ca.key", "-cert", "ca.crt"]
        openssl("ca", *ca, "-revoke", "carol.crt", cwd=d)
        openssl("ca", *ca, "-gencrl", "-out", "crl.pem", cwd=d)

    def _ca(self, name, cn):
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                "-nodes", "-keyout", name + ".key", "-out", name + ".crt", "-days", "3650",
                "-subj", "/CN=" + cn, "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=self.dir)

    def _leaf(self, name, cn, ca, serial, ext):
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", name + ".key", "-out", name + ".csr", "-subj", "/O=Tern/CN=" + cn,
                cwd=self.dir)
        openssl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".crt", "-CAkey", ca + ".key",
                "-set_serial", str(serial), "-days", "365", "-out", name + ".crt",
                "-extfile", ext, cwd=self.dir)

    def p(self, name):
        return os.path.join(self.dir, name)

    def tls(self, client=None, ca="ca"):
        """paho tls_set() arguments: trust ca, present client's certificate if given."""
        kw = {"ca_certs": self.p(ca + ".crt")}
        if client:
            kw.update(certfile=self.p(client + ".crt"), keyfile=self.p(client + ".key"))
        return kw

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


PKI = None  # made once in main()


# ----------------------------------------------------------------------------------------------
# One test's brokers and files


class Env:
    """A test's private directory and brokers; finish() stops them and reports problems."""

    def __init__(self, ternd):
        self.ternd = ternd
        self.dir = tempfile.mkdtemp(prefix="tern-sec-")
        self.brokers = []
        self.clients = []

    def client(self, *a, **kw):
        """A Client closed by finish()."""
        cl = Client(*a, **kw)
        self.clients.append(cl)
        return cl

    def mosquitto_sub(self, *a, **kw):
        """A MosquittoSub killed by finish() if still running."""
        ms = MosquittoSub(*a, **kw)
        self.clients.append(ms)
        return ms

    def path(self, name):
        return os.path.join(self.dir, name)

    def write(self, name, text):
        with open(self.path(name), "w") as f:
            f.write(text)
        return self.path(name)

    def broker(self, conf):
        b = harness.Broker(self.ternd, conf=conf)
        self.brokers.append(b)
        b.start()
        return b

    def finish(self):
        for cl in self.clients:
            cl.close()
        problems = []
        for b in self.brokers:
            if b.proc is not None and b.proc.poll() is not None:
                problems.append("ternd died (status %d):\n%s" % (b.proc.returncode,
                                                                 b.log_tail()))
            problems += b.stop()
        return problems

    def cleanup(self):
        for b in self.brokers:
            b.cleanup()
        shutil.rmtree(self.dir, ignore_errors=True)


def tls_listener(extra=""):
    """A TLS listener on an ephemeral loopback port with the test CA's server certificate."""
    return ("listener 0 127.0.0.1\ncafile %s\ncertfile %s\nkeyfile %s\n%s"
            % (PKI.p("ca.crt"), PKI.p("server.crt"), PKI.p("server.key"), extra))


def refusal_logged(b, addr):
    """Waits until ternd logs a refusal naming the client's address (ip:port)."""
    return wait_log(b, lambda line: addr in line and "New client connected" not in line,
                    "naming the refused client %s" % addr)


def wait_log(b, pred, what, timeout=WAIT):
    """Waits (bounded) until a line of ternd's log satisfies pred; returns it."""
    deadline = time.monotonic() + timeout
    while True:
        for line in b.log_text().splitlines():
            if pred(line):
                return line
        if time.monotonic() > deadline:
            raise TestFailure("no log line %s within %.0f s; log:\n%s"
                              % (what, timeout, b.log_tail()))
        time.sleep(0.05)


# ----------------------------------------------------------------------------------------------
# paho client


class AckClient(mqtt.Client):
    """paho 1.6 drops the reason code of a v5 PUBACK; this keeps it, by packet id."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.ack_codes = {}

    def _handle_pubackcomp(self, cmd):
        pkt = self._in_packet
        if len(pkt["packet"]) >= 2:
            mid = struct.unpack("!H", pkt["packet"][:2])[0]
            code = pkt["packet"][2] if pkt["remaining_length"] > 2 else 0
            self.ack_codes[mid] = code
        return super()._handle_pubackcomp(cmd)


def code_of(rc):
    return rc.value if isinstance(rc, ReasonCodes) else int(rc)


class Client:
    """A paho client with its network loop in a thread and bounded waits on its callbacks."""

    def __init__(self, port, version, client_id=None, username=None, password=None, tls=None):
        self.port, self.version = port, version
        proto = mqtt.MQTTv5 if version == V5 else mqtt.MQTTv311
        self.client_id = client_id if client_id is not None else unique("sec")
        self.c = AckClient(client_id=self.client_id, protocol=proto,
                           clean_session=None if version == V5 else True)
        if username is not None:
            self.c.username_pw_set(username, password)
        if tls:
            self.c.tls_set(**tls)
        self.cond = threading.Condition()
        self.connack = None
        self.disconnected = None
        self.subacks = {}
        self.msgs = queue.Queue()
        self.thread = None
        self.c.on_connect = self._on_connect
        self.c.on_subscribe = self._on_subscribe
        self.c.on_message = lambda c, u, m: self.msgs.put(m)
        self.c.on_disconnect = self._on_disconnect

    def _on_connect(self, c, u, flags, rc, properties=None):
        with self.cond:
            self.connack = code_of(rc)
            self.cond.notify_all()

    def _on_subscribe(self, c, u, mid, granted, properties=None):
        with self.cond:
            self.subacks[mid] = [code_of(g) for g in granted]
            self.cond.notify_all()

    def _on_disconnect(self, c, u, rc, properties=None):
        with self.cond:
            self.disconnected = rc
            self.cond.notify_all()

    def _wait(self, pred, what):
        with self.cond:
            if not self.cond.wait_for(pred, WAIT):
                raise TestFailure("timed out after %.0f s waiting for %s" % (WAIT, what))

    def _loop(self):
        while not self.stopping.is_set():
            if self.c.loop(0.05) != mqtt.MQTT_ERR_SUCCESS:
                break

    def connect(self, expect=RC_OK):
        """Connects, waits for CONNACK and returns its code; checks it is expect unless None."""
        self.c.connect("127.0.0.1", self.port, 60)
        self.local_addr = "%s:%d" % self.c.socket().getsockname()[:2]
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        # Our own network thread instead of loop_start(), which would reconnect by itself. Marked
        # as paho's thread so that other threads queue packets for it instead of writing to the
        # socket themselves: two threads writing one SSL socket corrupt the TLS stream.
        self.c._thread = self.thread
        self.thread.start()
        self._wait(lambda: self.connack is not None, "CONNACK")
        if expect is not None:
            check_eq(self.connack, expect, "CONNACK code for %s" % self.client_id)
        return self.connack

    def subscribe(self, topic, qos=1):
        """Subscribes and returns the SUBACK code (granted QoS or failure code)."""
        rc, mid = self.c.subscribe(topic, qos)
        check(rc == 0, "subscribe %s: rc %d" % (topic, rc))
        self._wait(lambda: mid in self.subacks, "SUBACK for " + topic)
        return self.subacks.pop(mid)[0]

    def publish(self, topic, payload, qos=1, retain=False):
        """Publishes; for QoS 1 waits for PUBACK and returns its reason code (0 in 3.1.1)."""
        info = self.c.publish(topic, payload, qos, retain)
        check(info.rc == 0, "publish %s: rc %d" % (topic, info.rc))
        info.wait_for_publish(WAIT)
        check(info.is_published(), "publish %s QoS %d not acknowledged within %.0f s"
              % (topic, qos, WAIT))
        return self.c.ack_codes.pop(info.mid, 0) if qos == 1 else None

    def msg(self, timeout=WAIT):
        try:
            return self.msgs.get(timeout=timeout)
        except queue.Empty:
            raise TestFailure("%s: no message within %.0f s" % (self.client_id, timeout))

    def connected(self):
        return self.disconnected is None and self.thread is not None and self.thread.is_alive()

    def close(self):
        if self.thread is not None:
            self.stopping.set()
            self.thread.join()
            self.thread = None
            self.c._thread = None
        s = self.c.socket()
        if s is not None:
            s.close()


def connack_code(port, version, username=None, password=None, tls=None, client_id=None):
    """Connects one client and returns its CONNACK code, then closes it."""
    cl = Client(port, version, client_id=client_id, username=username, password=password,
                tls=tls)
    try:
        return cl.connect(expect=None)
    finally:
        cl.close()


def expect_topics(cl, topics):
    """The next messages of cl have exactly these topics, in this order."""
    got = []
    try:
        for _ in topics:
            got.append(cl.msg().topic)
    except TestFailure:
        raise TestFailure("%s received topics %r and then nothing within %.0f s; expected %r"
                          % (cl.client_id, got, WAIT, list(topics)))
    check_eq(got, list(topics), "%s received topics" % cl.client_id)


# ----------------------------------------------------------------------------------------------
# Raw TLS probe and mosquitto clients


def raw_connect_packet(client_id):
    cid = client_id.encode()
    body = b"\x00\x04MQTT\x04\x02\x00\x3c" + struct.pack("!H", len(cid)) + cid
    return bytes([0x10, len(body)]) + body


def tls_probe(port, client=None, ca="ca"):
    """Opens TLS to port (trusting ca, presenting client's certificate if given), sends a 3.1.1
    CONNECT and returns ("connack", bytes) or ("refused", why) when the handshake fails or the
    server closes the connection without a CONNACK. The client's local address is in
    probe.last_addr."""
    ctx = ssl.create_default_context(cafile=PKI.p(ca + ".crt"))
    if client:
        ctx.load_cert_chain(PKI.p(client + ".crt"), PKI.p(client + ".key"))
    s = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
    tls_probe.last_addr = "%s:%d" % s.getsockname()[:2]
    try:
        ss = ctx.wrap_socket(s, server_hostname="127.0.0.1")
        s = ss
        # In TLS 1.3 the client finishes its handshake before the server has checked the client
        # certificate: a refusal then arrives as an alert or a close on the first read.
        ss.sendall(raw_connect_packet(unique("probe")))
        data = ss.recv(4)
    except socket.timeout:
        raise TestFailure("no answer and no close within %.0f s" % WAIT)
    except (ssl.SSLError, ConnectionError) as e:
        return ("refused", str(e))
    finally:
        s.close()
    if not data:
        return ("refused", "closed without CONNACK")
    return ("connack", data)


def peer_cert(port):
    """The server certificate (subject CN, serial) a new verified TLS connection sees."""
    ctx = ssl.create_default_context(cafile=PKI.p("ca.crt"))
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as s:
        with ctx.wrap_socket(s, server_hostname="127.0.0.1") as ss:
            cert = ss.getpeercert()
    cn = [v for rdn in cert["subject"] for k, v in rdn if k == "commonName"]
    return (cn[0] if cn else None, int(cert["serialNumber"], 16))


def run(argv):
    """Runs a command with a deadline; returns (exit status, stdout+stderr)."""
    try:
        r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=WAIT)
    except subprocess.TimeoutExpired:
        raise TestFailure("%s did not finish within %.0f s" % (argv[0], WAIT))
    return r.returncode, r.stdout.decode("utf-8", "replace")


def mosq_args(port, version, tls=None, user=None, password=None, psk=None):
    a = ["-h", "127.0.0.1", "-p", str(port), "-V", "mqttv5" if version == V5 else "mqttv311"]
    if psk:
        a += ["--psk-identity", psk[0], "--psk", psk[1]]
    if tls:
        a += ["--cafile", tls["ca_certs"]]
        if "certfile" in tls:
            a += ["--cert", tls["certfile"], "--key", tls["keyfile"]]
    if user is not None:
        a += ["-u", user]
    if password is not None:
        a += ["-P", password]
    return a


def mosquitto_pub(port, version, topic, payload, **kw):
    return run(["mosquitto_pub"] + mosq_args(port, version, **kw) +
               ["-q", "1", "-t", topic, "-m", payload])


class MosquittoSub:
    """mosquitto_sub -d -C 1 on one topic; ready once its SUBACK is printed."""

    def __init__(self, port, version, topic, **kw):
        argv = ["stdbuf", "-oL", "mosquitto_sub", "-d"] + mosq_args(port, version, **kw) + \
            ["-q", "1", "-C", "1", "-t", topic]
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        self.out = harness.LineReader(self.proc.stdout)
        try:
            self.out.expect(lambda s: "received SUBACK" in s, what="SUBACK")
        except TestFailure:
            self.close()
            raise

    def expect_payload(self, payload):
        self.out.expect(lambda s: s == payload, what="payload %r" % payload)
        try:
            self.proc.wait(WAIT)
        except subprocess.TimeoutExpired:
            raise TestFailure("mosquitto_sub -C 1 did not exit after its message")
        check_eq(self.proc.returncode, 0, "mosquitto_sub exit status")

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def make_passwd(env, name, users, sha512=False):
    """A password file made by mosquitto_passwd: users is a list of (user, password); $7$
    (PBKDF2-SHA512, its default) or $6$ (-H sha512)."""
    path = env.path(name)
    for i, (user, password) in enumerate(users):
        argv = ["mosquitto_passwd"] + (["-H", "sha512"] if sha512 else []) + \
            (["-c"] if i == 0 and not os.path.exists(path) else []) + ["-b", path, user, password]
        rc, out = run(argv)
        check_eq(rc, 0, "mosquitto_passwd exit status (%s)" % out.strip())
    return path


# ----------------------------------------------------------------------------------------------
# TLS and mutual TLS


def t_tls_mosquitto_clients(env):
    """mosquitto_pub/sub --cafile deliver over TLS in 3.1.1 and v5, also to a subscriber on a
    plain listener of the same broker; a client that does not trust the CA, and plain MQTT on
    the TLS port, get no session."""
    b = env.broker("listener 0 127.0.0.1\n" + tls_listener() + "allow_anonymous true\n")
    check_eq([(k, a) for k, a, _ in b.listeners], [("mqtt", "127.0.0.1")] * 2, "listeners")
    plain, port = b.listeners[0][2], b.listeners[1][2]
    tls = PKI.tls()
    for version in (V311, V5):
        topic = unique("tls/m")
        sub = env.mosquitto_sub(port, version, topic, tls=tls)
        plain_sub = env.mosquitto_sub(plain, version, topic)
        rc, out = mosquitto_pub(port, version, topic, "over tls " + version, tls=tls)
        check_eq(rc, 0, "mosquitto_pub --cafile exit status (output %r)" % out.strip())
        sub.expect_payload("over tls " + version)
        plain_sub.expect_payload("over tls " + version)
    rc, out = mosquitto_pub(port, V311, unique("tls/x"), "x", tls=PKI.tls(ca="ca2"))
    check(rc != 0, "mosquitto_pub trusting another CA connected: %r" % out)
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as s:
        s.sendall(raw_connect_packet(unique("plain")))
        try:
            data = s.recv(4)
        except ConnectionError:
            data = b""
    check(data[:1] != b"\x20", "plain MQTT on the TLS port got a CONNACK: %r" % data)


def t_mtls(env):
    """require_certificate: no certificate and a certificate from another CA are refused (and
    logged with the client's address); a certificate from the CA gets in and works."""
    b = env.broker(tls_listener("require_certificate true\n") + "allow_anonymous true\n")
    for client in (None, "mallory"):
        kind, why = tls_probe(b.port, client=client)
        check_eq(kind, "refused", "mTLS outcome with client certificate %s (%r)" % (client, why))
        refusal_logged(b, tls_probe.last_addr)
    kind, data = tls_probe(b.port, client="alice")
    check_eq((kind, data), ("connack", b"\x20\x02\x00\x00"), "mTLS with alice's certificate")
    cl = env.client(b.port, V5, tls=PKI.tls("bob"))
    cl.connect()
    topic = unique("mtls/t")
    check_eq(cl.subscribe(topic), 1, "SUBACK code")
    rc, out = mosquitto_pub(b.port, V311, topic, "mtls", tls=PKI.tls("alice"))
    check_eq(rc, 0, "mosquitto_pub --cert exit status (output %r)" % out.strip())
    check_eq(cl.msg().payload, b"mtls", "payload received over mTLS")
    rc, out = mosquitto_pub(b.port, V311, topic, "x", tls=PKI.tls())
    check(rc != 0, "mosquitto_pub without a certificate succeeded: %r" % out)


def t_identity_as_username_acl(env):
    """use_identity_as_username: the certificate CN is the user name (a CONNECT user name and
    password are ignored) and drives the ACL: alice may only write a/#, bob may only read it."""
    acl = env.write("acl", "user alice\ntopic write a/#\n\nuser bob\ntopic read a/#\n")
    b = env.broker(tls_listener("require_certificate true\nuse_identity_as_username true\n")
                   + "acl_file %s\n" % acl)
    logged = []
    for version in (V311, V5):
        refused = RC_NOT_AUTHORIZED if version == V5 else V3_SUB_FAILURE
        bob = env.client(b.port, version, tls=PKI.tls("bob"))
        bob.connect()
        check_eq(bob.subscribe("a/#"), 1, "%s bob SUBACK a/#" % version)
        # alice's certificate with bob's name in CONNECT: still alice.
        alice = env.client(b.port, version, username="bob", password="ignored",
                           tls=PKI.tls("alice"))
        alice.connect()
        logged.append(wait_log(b, lambda s: alice.local_addr in s, "for alice's connection"))
        check_eq(alice.subscribe("a/#"), refused, "%s alice (write only) SUBACK a/#" % version)
        check_eq(alice.publish("a/1", b"from alice"), RC_OK, "%s alice PUBACK a/1" % version)
        check_eq(bob.msg().topic, "a/1", "%s topic bob received" % version)
        want = RC_NOT_AUTHORIZED if version == V5 else RC_OK
        check_eq(bob.publish("a/2", b"from bob"), want, "%s bob (read only) PUBACK a/2" % version)
        check_eq(alice.publish("a/3", b"marker"), RC_OK, "%s alice PUBACK a/3" % version)
        check_eq(bob.msg().topic, "a/3", "%s first topic bob received after his refused publish"
                 % version)
        bob.close()
        alice.close()
    # The log must not attribute alice's connection to the unverified CONNECT user name bob
    # (Mosquitto logs the certificate's CN as the user name).
    wrong = [line for line in logged if "bob" in line]
    check(not wrong, "ternd logs alice's certificate connections as bob: %r" % wrong)


def t_crl_revoked(env):
    """crlfile: carol's revoked certificate is refused; alice's and bob's still get in."""
    b = env.broker(tls_listener("require_certificate true\ncrlfile %s\n" % PKI.p("crl.pem"))
                   + "allow_anonymous true\n")
    kind, why = tls_probe(b.port, client="carol")
    check_eq(kind, "refused", "revoked certificate outcome (%r)" % (why,))
    line = refusal_logged(b, tls_probe.last_addr)
    check("revoked" in line, "the log does not say the certificate is revoked: %r" % line)
    for client in ("alice", "bob"):
        kind, data = tls_probe(b.port, client=client)
        check_eq((kind, data), ("connack", b"\x20\x02\x00\x00"), "%s with a CRL" % client)
    rc, out = mosquitto_pub(b.port, V5, unique("crl/t"), "x", tls=PKI.tls("carol"))
    check(rc != 0, "mosquitto_pub with the revoked certificate succeeded: %r" % out)


def t_subject_as_username_acl(env):
    """use_subject_as_username: the whole subject in RFC 2253 form is the user name."""
    acl = env.write("acl", "user CN=alice,O=Tern\ntopic readwrite s/#\n")
    b = env.broker(tls_listener("require_certificate true\nuse_subject_as_username true\n")
                   + "acl_file %s\n" % acl)
    for version in (V311, V5):
        refused = RC_NOT_AUTHORIZED if version == V5 else V3_SUB_FAILURE
        alice = env.client(b.port, version, tls=PKI.tls("alice"))
        alice.connect()
        check_eq(alice.subscribe("s/#"), 1, "%s SUBACK for CN=alice,O=Tern" % version)
        check_eq(alice.publish("s/1", b"x"), RC_OK, "%s PUBACK for CN=alice,O=Tern" % version)
        check_eq(alice.msg().topic, "s/1", "%s own message" % version)
        bob = env.client(b.port, version, username="CN=alice,O=Tern", tls=PKI.tls("bob"))
        bob.connect()
        check_eq(bob.subscribe("s/#"), refused, "%s SUBACK for CN=bob,O=Tern" % version)
        alice.close()
        bob.close()


def t_psk(env):
    """TLS-PSK (psk_hint + psk_file) with mosquitto_pub --psk: the right key gets in, a wrong key
    or an unknown identity fails the handshake."""
    psk = env.write("psk", "dev1:0123456789abcdef0123456789abcdef\n")
    b = env.broker("listener 0 127.0.0.1\npsk_hint tern-test\npsk_file %s\n"
                   "allow_anonymous true\n" % psk)
    topic = unique("psk/t")
    sub = env.mosquitto_sub(b.port, V311, topic, psk=("dev1", "0123456789abcdef0123456789abcdef"))
    rc, out = mosquitto_pub(b.port, V5, topic, "over psk",
                            psk=("dev1", "0123456789abcdef0123456789abcdef"))
    check_eq(rc, 0, "mosquitto_pub --psk exit status (output %r)" % out.strip())
    sub.expect_payload("over psk")
    for ident, key in (("dev1", "0123456789abcdef0123456789abcdee"),
                       ("dev2", "0123456789abcdef0123456789abcdef")):
        rc, out = mosquitto_pub(b.port, V5, topic, "x", psk=(ident, key))
        check(rc != 0, "mosquitto_pub --psk %s %s succeeded: %r" % (ident, key, out))


def replace_file(src, dst):
    """Puts a copy of src at dst by rename, as certbot does."""
    shutil.copyfile(src, dst + ".new")
    os.rename(dst + ".new", dst)


def rotating_broker(env):
    crt, key = env.path("srv.crt"), env.path("srv.key")
    shutil.copyfile(PKI.p("server.crt"), crt)
    shutil.copyfile(PKI.p("server.key"), key)
    conf = ("listener 0 127.0.0.1\ncertfile %s\nkeyfile %s\nallow_anonymous true\n"
            % (crt, key))
    return env.broker(conf), crt, key


def wait_server_cert(b, want):
    """New connections until one sees the server certificate want; bounded by ROTATE_WAIT (the
    broker polls the files every 5 s)."""
    deadline = time.monotonic() + ROTATE_WAIT
    seen = peer_cert(b.port)
    while seen != want:
        if time.monotonic() > deadline:
            raise TestFailure("new connections still get %r, not %r, after %.0f s; log:\n%s"
                              % (seen, want, ROTATE_WAIT, b.log_tail()))
        time.sleep(0.2)
        seen = peer_cert(b.port)


def check_still_working(env, b, keeper, topic):
    check(keeper.connected(), "the TLS client connected before the rotation was dropped")
    pub = env.client(b.port, V311, tls=PKI.tls())
    pub.connect()
    payload = unique("after").encode()
    check_eq(pub.publish(topic, payload), RC_OK, "PUBACK")
    check_eq(keeper.msg().payload, payload, "message to the old connection")
    check_eq(keeper.publish(topic, b"own"), RC_OK, "PUBACK on the old connection")
    check_eq(keeper.msg().payload, b"own", "own message on the old connection")
    pub.close()


def t_rotation_on_disk(env):
    """The server certificate and key replaced on disk: a connected TLS client keeps working and
    new connections get the new certificate (different subject and serial)."""
    b, crt, key = rotating_broker(env)
    check_eq(peer_cert(b.port), ("tern-server-1", 0x2001), "server certificate before")
    topic = unique("rot/t")
    keeper = env.client(b.port, V5, tls=PKI.tls())
    keeper.connect()
    check_eq(keeper.subscribe(topic), 1, "SUBACK")
    replace_file(PKI.p("server2.key"), key)
    replace_file(PKI.p("server2.crt"), crt)
    wait_server_cert(b, ("tern-server-2", 0x2002))
    check_still_working(env, b, keeper, topic)
    rc, out = mosquitto_pub(b.port, V5, topic, "new cert", tls=PKI.tls())
    check_eq(rc, 0, "mosquitto_pub with the new certificate (output %r)" % out.strip())
    check_eq(keeper.msg().payload, b"new cert", "message published through the new certificate")


def t_rotation_bad_file_keeps_old(env):
    """A broken certificate file on disk is reported and the old material kept; the next good
    file is then picked up."""
    b, crt, key = rotating_broker(env)
    topic = unique("rot/bad")
    keeper = env.client(b.port, V311, tls=PKI.tls())
    keeper.connect()
    check_eq(keeper.subscribe(topic), 1, "SUBACK")
    with open(crt + ".new", "w") as f:
        f.write("-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n")
    os.rename(crt + ".new", crt)
    wait_log(b, lambda line: "error" in line.lower() and crt in line,
             "reporting the broken %s" % crt, timeout=ROTATE_WAIT)
    check_eq(peer_cert(b.port), ("tern-server-1", 0x2001), "server certificate after a bad file")
    check_still_working(env, b, keeper, topic)
    replace_file(PKI.p("server2.key"), key)
    replace_file(PKI.p("server2.crt"), crt)
    wait_server_cert(b, ("tern-server-2", 0x2002))
    check(keeper.connected(), "the TLS client was dropped by the second rotation")


# ----------------------------------------------------------------------------------------------
# Password files


def t_passwd_formats(env):
    """mosquitto_passwd files, default $7$ and -H sha512 $6$: right passwords get in, wrong ones
    and unknown users get v5 0x86 / 3.1.1 4, no user name gets 0x87 / 5 (allow_anonymous is
    false once a listener is configured)."""
    pw = make_passwd(env, "pw", [("u7", "pass-seven")])
    make_passwd(env, "pw", [("u6", "pass-six")], sha512=True)
    with open(pw) as f:
        lines = sorted(f.read().split())
    check(len(lines) == 2 and lines[0].startswith("u6:$6$") and lines[1].startswith("u7:$7$"),
          "password file lines %r" % lines)
    b = env.broker("listener 0 127.0.0.1\npassword_file %s\n" % pw)
    for version in (V311, V5):
        topic = unique("pw/t")
        sub = env.mosquitto_sub(b.port, version, topic, user="u6", password="pass-six")
        rc, out = mosquitto_pub(b.port, version, topic, "hello " + version, user="u7",
                                password="pass-seven")
        check_eq(rc, 0, "%s mosquitto_pub as u7 exit status (output %r)" % (version, out))
        sub.expect_payload("hello " + version)
        for user, password in (("u7", "pass-six"), ("u6", "pass-seven"), ("u7", "")):
            rc, out = mosquitto_pub(b.port, version, topic, "x", user=user, password=password)
            check(rc != 0 and "bad user name or password" in out.lower(),
                  "%s mosquitto_pub %s/%r: exit %d, output %r" % (version, user, password, rc,
                                                                   out))
        bad = RC_BAD_USER_OR_PASSWORD if version == V5 else V3_BAD_USER_OR_PASSWORD
        anon = RC_NOT_AUTHORIZED if version == V5 else V3_NOT_AUTHORIZED
        for user, password, want in (("u7", "pass-seven", RC_OK), ("u6", "pass-six", RC_OK),
                                     ("u7", "pass-seven ", bad), ("u6", "PASS-SIX", bad),
                                     ("nobody", "pass-six", bad), ("u6", None, bad),
                                     (None, None, anon)):
            check_eq(connack_code(b.port, version, user, password), want,
                     "%s CONNACK for %r/%r" % (version, user, password))


def t_sighup_password_reload(env):
    """SIGHUP reloads the password file: a new user gets in, a changed password takes effect for
    new connections, and an existing connection stays up."""
    pw = make_passwd(env, "pw", [("alice", "alice-old")])
    b = env.broker("listener 0 127.0.0.1\npassword_file %s\n" % pw)
    topic = unique("hup/t")
    keeper = env.client(b.port, V5, username="alice", password="alice-old")
    keeper.connect()
    check_eq(keeper.subscribe(topic), 1, "SUBACK")
    check_eq(connack_code(b.port, V5, "dave", "dave-pw"), RC_BAD_USER_OR_PASSWORD,
             "CONNACK for dave before he is added")
    make_passwd(env, "pw", [("dave", "dave-pw"), ("alice", "alice-new")])
    b.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + WAIT
    while connack_code(b.port, V5, "dave", "dave-pw") != RC_OK:
        if time.monotonic() > deadline:
            raise TestFailure("dave still refused %.0f s after SIGHUP; log:\n%s"
                              % (WAIT, b.log_tail()))
        time.sleep(0.1)
    check_eq(connack_code(b.port, V311, "alice", "alice-old"), V3_BAD_USER_OR_PASSWORD,
             "CONNACK for alice's old password after the reload")
    check_eq(connack_code(b.port, V311, "alice", "alice-new"), RC_OK,
             "CONNACK for alice's new password after the reload")
    check(keeper.connected(), "alice's connection was dropped by the reload")
    dave = env.client(b.port, V311, username="dave", password="dave-pw")
    dave.connect()
    check_eq(dave.publish(topic, b"from dave"), RC_OK, "PUBACK")
    check_eq(keeper.msg().payload, b"from dave", "message to the connection kept over SIGHUP")


def t_sighup_acl_reload(env):
    """SIGHUP reloads the ACL file: new subscriptions are checked against the new rules, and an
    existing subscription the new file no longer allows stops receiving at its next delivery."""
    pw = make_passwd(env, "pw", [("alice", "pa"), ("admin", "pz")])
    admin_rules = "user admin\ntopic readwrite #\n"
    acl = env.write("acl", "user alice\ntopic read x/#\ntopic read y/#\n" + admin_rules)
    b = env.broker("listener 0 127.0.0.1\npassword_file %s\nacl_file %s\n" % (pw, acl))
    alice = env.client(b.port, V5, username="alice", password="pa")
    alice.connect()
    check_eq(alice.subscribe("x/#"), 1, "SUBACK x/#")
    check_eq(alice.subscribe("y/#"), 1, "SUBACK y/#")
    admin = env.client(b.port, V5, username="admin", password="pz")
    admin.connect()
    admin.publish("x/1", b"before")
    expect_topics(alice, ["x/1"])
    env.write("acl.new", "user alice\ntopic read y/#\n" + admin_rules)
    os.rename(env.path("acl.new"), acl)
    b.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + WAIT
    while True:
        probe = env.client(b.port, V5, username="alice", password="pa")
        probe.connect()
        code = probe.subscribe("x/#")
        probe.close()
        if code == RC_NOT_AUTHORIZED:
            break
        if time.monotonic() > deadline:
            raise TestFailure("x/# still granted %.0f s after SIGHUP" % WAIT)
        time.sleep(0.1)
    check(alice.connected(), "alice's connection was dropped by the reload")
    for topic in ("x/2", "y/2"):
        check_eq(admin.publish(topic, b"after"), RC_OK, "admin PUBACK for " + topic)
    expect_topics(alice, ["y/2"])


def t_failed_login_logged(env):
    """A failed login is logged with the client's address and the log never holds a password."""
    pw = make_passwd(env, "pw", [("alice", "Right-Pass-4711")])
    b = env.broker("listener 0 127.0.0.1\npassword_file %s\n" % pw)
    secrets = ["Right-Pass-4711"]
    attempts = [(V5, "alice", "Wrong-Pass-1234", RC_BAD_USER_OR_PASSWORD),
                (V311, "alice", "Wrong-Pass-5678", V3_BAD_USER_OR_PASSWORD),
                (V5, "nosuchuser", "Wrong-Pass-9012", RC_BAD_USER_OR_PASSWORD),
                (V311, None, None, V3_NOT_AUTHORIZED),
                (V5, None, None, RC_NOT_AUTHORIZED)]
    for version, user, password, want in attempts:
        cl = env.client(b.port, version, username=user, password=password)
        check_eq(cl.connect(expect=None), want, "%s CONNACK for %r" % (version, user))
        cl.close()
        refusal_logged(b, cl.local_addr)
        if password:
            secrets.append(password)
    ok = env.client(b.port, V5, username="alice", password="Right-Pass-4711")
    ok.connect()
    ok.close()
    wait_log(b, lambda line: ok.local_addr in line, "for alice's successful login")
    text = b.log_text()
    for s in secrets:
        for part in (s, s[:9], s[-9:]):
            check(part not in text, "ternd's log holds (part of) the password %r:\n%s"
                  % (s, "\n".join(line for line in text.splitlines() if part in line)))


# ----------------------------------------------------------------------------------------------
# ACL matrix


ACL = """# Before the first user line: anonymous clients.
topic read pub/#
topic deny pub/secret/#

user alice
topic readwrite home/#
topic deny home/locked
topic write logs/alice

user bob
topic read home/#

user admin
topic readwrite #

pattern readwrite clients/%c/#
pattern write users/%u/out
pattern read users/%u/in
"""


def acl_broker(env):
    pw = make_passwd(env, "pw", [("alice", "pa"), ("bob", "pb"), ("admin", "pz")])
    acl = env.write("acl", ACL)
    return env.broker("listener 0 127.0.0.1\nallow_anonymous true\npassword_file %s\n"
                      "acl_file %s\n" % (pw, acl))


def acl_clients(env, b, version):
    """Connected alice, bob and an anonymous client, with client ids known for %c."""
    out = {}
    for who, cred in (("alice", "pa"), ("bob", "pb"), ("anon", None)):
        cl = env.client(b.port, version, client_id=unique("cid-" + who),
                        username=None if who == "anon" else who, password=cred)
        cl.connect()
        out[who] = cl
    return out


def t_acl_matrix(version):
    def run_matrix(env):
        b = acl_broker(env)
        refused_sub = RC_NOT_AUTHORIZED if version == V5 else V3_SUB_FAILURE
        refused_pub = RC_NOT_AUTHORIZED if version == V5 else RC_OK  # 3.1.1: acked, dropped
        # SUBSCRIBE: granted QoS 1, or refused (v5 0x87, 3.1.1 0x80).
        cl = acl_clients(env, b, version)
        own = {k: "clients/%s" % c.client_id for k, c in cl.items()}
        subs = [("alice", "home/#", True), ("alice", "home/locked", False),
                ("alice", "logs/alice", False), ("alice", "users/alice/in", True),
                ("alice", "users/bob/in", False), ("alice", "pub/#", False),
                ("alice", own["alice"] + "/#", True),
                ("bob", "home/#", True), ("bob", "home/locked", True), ("bob", "pub/#", False),
                ("bob", "users/bob/out", False),
                ("anon", "pub/#", True), ("anon", "pub/secret/#", False),
                ("anon", "home/#", False), ("anon", "#", True),
                ("anon", own["anon"] + "/#", True), ("anon", own["alice"] + "/#", False)]
        for who, filt, ok in subs:
            check_eq(cl[who].subscribe(filt), 1 if ok else refused_sub,
                     "%s SUBACK for %s on %s" % (version, who, filt))
        for c in cl.values():
            c.close()
        # PUBLISH in: the admin (readwrite #) sees what is accepted. Each publisher then
        # publishes a marker to its own clients/%c topic: a refused message would come first.
        admin = env.client(b.port, version, username="admin", password="pz")
        admin.connect()
        check_eq(admin.subscribe("#"), 1, "admin SUBACK #")
        cl = acl_clients(env, b, version)
        own = {k: "clients/%s" % c.client_id for k, c in cl.items()}
        pubs = [("alice", "home/kitchen", True), ("alice", "home/locked", False),
                ("alice", "logs/alice", True), ("alice", "pub/x", False),
                ("alice", "users/alice/out", True), ("alice", "users/bob/out", False),
                ("alice", own["alice"] + "/x", True), ("alice", own["anon"] + "/x", False),
                ("bob", "home/kitchen", False), ("bob", "users/bob/in", False),
                ("bob", "users/bob/out", True),
                ("anon", "pub/x", False), ("anon", "home/kitchen", False),
                ("anon", own["anon"] + "/x", True), ("anon", own["alice"] + "/x", False)]
        for who, topic, ok in pubs:
            check_eq(cl[who].publish(topic, b"p"), RC_OK if ok else refused_pub,
                     "%s PUBACK for %s on %s" % (version, who, topic))
            marker = own[who] + "/marker"
            check_eq(cl[who].publish(marker, b"m"), RC_OK, "PUBACK for the marker")
            expect_topics(admin, [topic, marker] if ok else [marker])
        for c in cl.values():
            c.close()
        # Delivery: subscriptions granted above receive only what the reader may read.
        cl = acl_clients(env, b, version)
        own = {k: "clients/%s" % c.client_id for k, c in cl.items()}
        for who, filt in (("alice", "home/#"), ("alice", "users/+/in"), ("bob", "home/#"),
                          ("anon", "#")):
            check_eq(cl[who].subscribe(filt), 1, "%s SUBACK for %s on %s" % (version, who,
                                                                            filt))
        sent = ["pub/secret/s", "home/locked", "home/k", "pub/x", "users/bob/in",
                "users/alice/in", own["anon"] + "/z", own["alice"] + "/z", "pub/end",
                "home/end"]
        for topic in sent:
            check_eq(admin.publish(topic, b"d"), RC_OK, "admin PUBACK for " + topic)
        expect_topics(cl["alice"], ["home/k", "users/alice/in", "home/end"])
        expect_topics(cl["bob"], ["home/locked", "home/k", "home/end"])
        expect_topics(cl["anon"], ["pub/x", own["anon"] + "/z", "pub/end"])
        expect_topics(admin, sent)
        # Retained messages are filtered too.
        admin.publish("pub/secret/r", b"r", retain=True)
        admin.publish("pub/r", b"r", retain=True)
        reader = env.client(b.port, version)
        reader.connect()
        check_eq(reader.subscribe("pub/#"), 1, "anonymous SUBACK for pub/#")
        admin.publish("pub/end2", b"live")
        got = []
        while not got or got[-1] != "pub/end2":
            got.append(reader.msg().topic)
        check_eq(got, ["pub/r", "pub/end2"], "%s topics an anonymous pub/# subscriber received"
                 % version)
    return run_matrix


TESTS = [
    ("tls_mosquitto_clients", t_tls_mosquitto_clients),
    ("mtls_refusals", t_mtls),
    ("identity_as_username_acl", t_identity_as_username_acl),
    ("subject_as_username_acl", t_subject_as_username_acl),
    ("crl_revoked", t_crl_revoked),
    ("psk", t_psk),
    ("rotation_on_disk", t_rotation_on_disk),
    ("rotation_bad_file_keeps_old", t_rotation_bad_file_keeps_old),
    ("passwd_formats", t_passwd_formats),
    ("sighup_password_reload", t_sighup_password_reload),
    ("sighup_acl_reload", t_sighup_acl_reload),
    ("failed_login_logged", t_failed_login_logged),
    ("acl_matrix_v311", t_acl_matrix(V311)),
    ("acl_matrix_v5", t_acl_matrix(V5)),
]


def main():
    args = harness.parse_args("ternd security interop tests (TLS, passwords, ACLs)")
    if not os.access(args.ternd, os.X_OK):
        harness.fail_missing("ternd binary %s" % args.ternd)
    for tool in ("openssl", "mosquitto_pub", "mosquitto_sub", "mosquitto_passwd", "stdbuf"):
        if shutil.which(tool) is None:
            harness.fail_missing(tool)
    global PKI
    try:
        PKI = Pki()
    except TestFailure as e:
        print("FAIL make_certificates: %s" % e)
        print("0 passed, 1 failed")
        sys.exit(1)
    ternd = os.path.abspath(args.ternd)
    passed = failed = 0
    for name, fn in TESTS:
        if args.only and args.only not in name:
            continue
        env = Env(ternd)
        t0 = time.monotonic()
        try:
            fn(env)
            ok, why = True, ""
        except TestFailure as e:
            ok, why = False, str(e)
        except Exception:
            ok, why = False, traceback.format_exc()
        problems = env.finish()
        if problems:
            ok = False
            why += "\n" + "\n".join(problems)
        if not ok and env.brokers:
            why += "\nternd log (last lines):\n" + env.brokers[-1].log_tail(40)
        dt = time.monotonic() - t0
        if ok:
            passed += 1
            print("ok   %s (%.2f s)" % (name, dt), flush=True)
        else:
            failed += 1
            print("FAIL %s (%.2f s): %s" % (name, dt, why.strip()), flush=True)
        if args.keep:
            print("kept %s %s" % (env.dir, " ".join(x.dir for x in env.brokers)))
        else:
            env.cleanup()
    if args.keep:
        print("kept %s" % PKI.dir)
    else:
        PKI.cleanup()
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
