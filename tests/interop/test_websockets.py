#!/usr/bin/python3
"""Interop test: MQTT over WebSockets (ws and wss) against the real ternd.

MQTT.js (node, tests/interop/node_modules) and python3-paho-mqtt subscribe over WebSockets and
receive what Debian's mosquitto_pub publishes over TCP, and the reverse; MQTT 3.1.1 and 5; large
messages that span WebSocket frames both ways. A raw WebSocket client written here checks the
framing rules: a packet split across frames, several packets in one frame, fragmentation with a
ping between fragments, the close handshake, and refusals (text frame, unmasked frame, a
subprotocol that is not MQTT's).
"""

import base64
import hashlib
import os
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # Keep __pycache__ out of the source tree.
sys.path.insert(0, HERE)
import harness  # noqa: E402
from harness import WAIT, LineReader, TestFailure, check, check_eq, unique  # noqa: E402

CERT_DIR = tempfile.mkdtemp(prefix="tern-ws-certs-")
CERT = os.path.join(CERT_DIR, "server.crt")
KEY = os.path.join(CERT_DIR, "server.key")
# After BASE_CONF's TCP listener: a ws listener, a wss one, and a ws one that only lets two
# browser origins upgrade (websockets_origin: one repeated line, one with two values).
ORIGINS = ("https://app.example.com", "http://localhost:8080", "http://127.0.0.1:3000")
EXTRA_CONF = ("listener 0 127.0.0.1\nprotocol websockets\n"
              "listener 0 127.0.0.1\nprotocol websockets\ncertfile %s\nkeyfile %s\n"
              "listener 0 127.0.0.1\nprotocol websockets\nwebsockets_origin %s\n"
              "websockets_origin %s %s\n" % ((CERT, KEY) + ORIGINS))
NODE_TIMEOUT = 60

# One MQTT.js client per run: "sub URL VERSION TOPIC" prints "ready" after SUBACK and then
# "got TOPIC LEN SHA256" for the first message; "pub URL VERSION TOPIC SIZE" publishes SIZE
# random hex bytes at QoS 1 and prints "sent LEN SHA256".
NODE_CLIENT = r"""
const mqtt = require('mqtt');
const crypto = require('node:crypto');
const [mode, url, ver, topic, size] = process.argv.slice(1);
const sha = (b) => crypto.createHash('sha256').update(b).digest('hex');
const fail = (why) => { console.log('FAIL ' + why); process.exit(1); };
setTimeout(() => fail('timeout'), 30000);
const c = mqtt.connect(url, { protocolVersion: Number(ver), reconnectPeriod: 0,
                              connectTimeout: 10000, rejectUnauthorized: false });
let ending = false; // after end(), a late write may meet the closed socket: not a failure
c.on('error', (e) => { if (!ending) fail(e.message); });
c.on('connect', () => {
    if (mode === 'sub') {
        c.subscribe(topic, { qos: 1 }, (err, granted) => {
            if (err) fail(err.message);
            console.log('ready ' + granted[0].qos);
        });
    } else {
        const p = Buffer.from(crypto.randomBytes(Number(size) / 2).toString('hex'));
        c.publish(topic, p, { qos: 1 }, (err) => {
            if (err) fail(err.message);
            console.log('sent ' + p.length + ' ' + sha(p));
            ending = true;
            c.end(false, () => process.exit(0));
        });
    }
});
c.on('message', (t, p) => {
    console.log('got ' + t + ' ' + p.length + ' ' + sha(p));
    ending = true;
    c.end(false, () => process.exit(0));
});
"""


def make_cert():
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj",
                        "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                        "-keyout", KEY, "-out", CERT], stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        harness.fail_missing("openssl could not make a test certificate:\n%s"
                             % r.stdout.decode("utf-8", "replace"))


def ws_ports(b):
    ports = [p for kind, _, p in b.listeners if kind == "ws"]
    check(len(ports) == 3, "expected three ws listeners in the ready file, got %r" % b.listeners)
    return ports


def url(b, secure=False):
    return "%s://127.0.0.1:%d/mqtt" % ("wss" if secure else "ws", ws_ports(b)[1 if secure else 0])


def sha(data):
    return hashlib.sha256(data).hexdigest()


class Node:
    """One MQTT.js client process (NODE_CLIENT) with its output read line by line."""

    def __init__(self, *args):
        self.p = subprocess.Popen(["node", "-e", NODE_CLIENT] + [str(a) for a in args], cwd=HERE,
                                  stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT)
        self.out = LineReader(self.p.stdout)

    def expect(self, prefix):
        return self.out.expect(lambda l: l.startswith(prefix) or l.startswith("FAIL"),
                               what="MQTT.js line %r" % prefix)

    def finish(self):
        try:
            rc = self.p.wait(NODE_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            raise TestFailure("MQTT.js client did not exit")
        check(rc == 0, "MQTT.js client exit %d: %s" % (rc, "\n".join(self.out.lines[-10:])))


def mosquitto_pub(b, topic, payload, qos=1):
    r = subprocess.run(["mosquitto_pub", "-h", b.host, "-p", str(b.port), "-q", str(qos), "-t",
                        topic, "-s"], input=payload, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=WAIT * 3)
    check(r.returncode == 0, "mosquitto_pub failed: %s" % r.stdout.decode("utf-8", "replace"))


def mqttjs_sub_case(version, secure=False, size=5):
    def run(b):
        topic = unique("ws/js")
        n = Node("sub", url(b, secure), version, topic)
        line = n.expect("ready")
        check_eq(line, "ready 1", "MQTT.js SUBACK")
        payload = os.urandom(size)
        mosquitto_pub(b, topic, payload)
        check_eq(n.expect("got"), "got %s %d %s" % (topic, size, sha(payload)), "message")
        n.finish()
    return run


def mqttjs_publishes_large(secure):
    """A 3 MB PUBLISH from MQTT.js over ws/wss (many frames) reaches a paho subscriber over
    TCP."""
    def run(b):
        topic = unique("ws/big")
        size = 3 * 1024 * 1024
        p = Paho(b, 4, tcp=True)
        try:
            p.c.subscribe(topic, 1)
            p.wait(lambda: p.suback, "SUBACK")
            n = Node("pub", url(b, secure), 5, topic, size)
            sent = n.expect("sent").split()
            n.finish()
            check_eq(sent[1], str(size), "MQTT.js payload length")
            p.wait(lambda: p.msgs, "the 3 MB message")
            check_eq(sha(p.msgs[0].payload), sent[2], "payload received over TCP")
        finally:
            p.close()
    return run


class Paho:
    """A python3-paho-mqtt client over WebSockets that subscribes and collects messages."""

    def __init__(self, b, version, secure=False, tcp=False):
        import paho.mqtt.client as mqtt
        self.ev = threading.Condition()
        self.msgs, self.suback = [], False
        proto = mqtt.MQTTv5 if version == 5 else mqtt.MQTTv311
        self.c = mqtt.Client(client_id=unique("paho-ws"), protocol=proto,
                             transport="tcp" if tcp else "websockets")
        if secure:
            self.c.tls_set(ca_certs=CERT)
        self.c.on_subscribe = self._on_subscribe
        self.c.on_message = self._on_message
        self.c.connect("127.0.0.1", b.port if tcp else ws_ports(b)[1 if secure else 0])
        self.c.loop_start()

    def _on_subscribe(self, *args):
        with self.ev:
            self.suback = True
            self.ev.notify_all()

    def _on_message(self, c, u, m):
        with self.ev:
            self.msgs.append(m)
            self.ev.notify_all()

    def wait(self, pred, what):
        with self.ev:
            check(self.ev.wait_for(pred, WAIT), "paho over WebSockets: no %s" % what)

    def close(self):
        self.c.disconnect()
        self.c.loop_stop()


def paho_case(version, secure=False):
    def run(b):
        topic = unique("ws/paho")
        p = Paho(b, version, secure)
        try:
            p.c.subscribe(topic, 1)
            p.wait(lambda: p.suback, "SUBACK")
            mosquitto_pub(b, topic, b"over websockets")
            p.wait(lambda: p.msgs, "message")
            check_eq((p.msgs[0].topic, p.msgs[0].payload), (topic, b"over websockets"),
                     "message")
        finally:
            p.close()
    return run


# ---- A raw WebSocket client, to send frames exactly as a test needs them ----

def mqtt_str(s):
    return struct.pack(">H", len(s)) + s


def mqtt_packet(first, body):
    n, rl = len(body), b""
    while True:
        d, n = n % 128, n // 128
        rl += bytes([d | (0x80 if n else 0)])
        if not n:
            return bytes([first]) + rl + body


def connect_packet(cid):
    return mqtt_packet(0x10, mqtt_str(b"MQTT") + b"\x04\x02\x00\x3c" + mqtt_str(cid.encode()))


def subscribe_packet(topic):
    return mqtt_packet(0x82, b"\x00\x01" + mqtt_str(topic.encode()) + b"\x00")


class RawWs:
    def __init__(self, port, proto="mqtt", origin=None):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
        key = base64.b64encode(os.urandom(16)).decode()
        req = ("GET /mqtt HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
               % key)
        if proto:
            req += "Sec-WebSocket-Protocol: %s\r\n" % proto
        if origin:
            req += "Origin: %s\r\n" % origin
        self.s.sendall((req + "\r\n").encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            self._recv()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode().split("\r\n")
        self.status = int(lines[0].split()[1])
        self.headers = {k.lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:])}
        if self.status == 101:
            want = base64.b64encode(hashlib.sha1(
                (key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
            check_eq(self.headers.get("sec-websocket-accept"), want, "Sec-WebSocket-Accept")
        self.payload = b""

    def _recv(self):
        d = self.s.recv(65536)
        if not d:
            raise EOFError
        self.buf += d

    def send_frame(self, opcode, data, fin=True, mask=True):
        hdr = bytes([(0x80 if fin else 0) | opcode])
        m = 0x80 if mask else 0
        if len(data) < 126:
            hdr += bytes([m | len(data)])
        elif len(data) < 65536:
            hdr += bytes([m | 126]) + struct.pack(">H", len(data))
        else:
            hdr += bytes([m | 127]) + struct.pack(">Q", len(data))
        if mask:
            key = os.urandom(4)
            data = bytes(c ^ key[i % 4] for i, c in enumerate(data))
            hdr += key
        self.s.sendall(hdr + data)

    def read_frame(self):
        while len(self.buf) < 2:
            self._recv()
        b0, b1 = self.buf[0], self.buf[1]
        check(not b1 & 0x80, "server frames must not be masked (RFC 6455 5.1)")
        n, off = b1 & 0x7F, 2
        if n >= 126:
            ext = 2 if n == 126 else 8
            while len(self.buf) < 2 + ext:
                self._recv()
            n = int.from_bytes(self.buf[2:2 + ext], "big")
            off += ext
        while len(self.buf) < off + n:
            self._recv()
        data, self.buf = self.buf[off:off + n], self.buf[off + n:]
        return b0 & 0x0F, data

    def read_mqtt(self, n):
        """n bytes of binary payload, across as many frames as it takes."""
        while len(self.payload) < n:
            op, data = self.read_frame()
            check_eq(op, 2, "opcode of a server data frame")
            self.payload += data
        out, self.payload = self.payload[:n], self.payload[n:]
        return out

    def close(self):
        self.s.close()


def raw_split_and_coalesced(b):
    """One CONNECT over three frames (the middle ones a fragmented message with a ping between
    its fragments), and the rest of CONNECT plus a SUBSCRIBE in one frame [MQTT-6.0.0-2]."""
    w = RawWs(ws_ports(b)[0])
    try:
        check_eq(w.status, 101, "upgrade status")
        check_eq(w.headers.get("sec-websocket-protocol"), "mqtt", "subprotocol [MQTT-6.0.0-4]")
        topic = unique("ws/raw")
        c, s = connect_packet(unique("raw")), subscribe_packet(topic)
        w.send_frame(0x2, c[:3])
        w.send_frame(0x2, c[3:7], fin=False)
        w.send_frame(0x9, b"hi")  # ping between fragments
        w.send_frame(0x0, c[7:11], fin=False)
        w.send_frame(0x0, c[11:] + s)
        op, data = w.read_frame()
        check_eq((op, data), (0xA, b"hi"), "pong answering the ping")
        check_eq(w.read_mqtt(4), b"\x20\x02\x00\x00", "CONNACK")
        check_eq(w.read_mqtt(5), b"\x90\x03\x00\x01\x00", "SUBACK")
        mosquitto_pub(b, topic, b"raw", qos=0)
        want = mqtt_packet(0x30, mqtt_str(topic.encode()) + b"raw")
        check_eq(w.read_mqtt(len(want)), want, "PUBLISH to the raw client")
        w.send_frame(0x8, struct.pack(">H", 1000))
        op, data = w.read_frame()
        check_eq((op, data[:2]), (0x8, struct.pack(">H", 1000)), "close handshake reply")
    finally:
        w.close()


def expect_close(w, code, what):
    while True:
        try:
            op, data = w.read_frame()
        except EOFError:
            raise TestFailure("%s: connection closed without a close frame" % what)
        if op == 0x8:
            check_eq(struct.unpack(">H", data[:2])[0], code, what)
            return


def raw_text_frame_refused(b):
    w = RawWs(ws_ports(b)[0])
    try:
        w.send_frame(0x1, connect_packet("text"))
        expect_close(w, 1003, "text frame refused with close 1003 [MQTT-6.0.0-1]")
    finally:
        w.close()


def raw_unmasked_frame_refused(b):
    w = RawWs(ws_ports(b)[0])
    try:
        w.send_frame(0x2, connect_packet("unmasked"), mask=False)
        expect_close(w, 1002, "unmasked client frame refused with close 1002")
    finally:
        w.close()


def raw_oversize_frame_refused(b):
    """On a ternd with max_packet_size 1000, a binary frame announcing 1001 bytes is refused
    with close 1009 once its header and first bytes arrive (the rest is never sent); 1000 bytes
    pass, and websockets_headers_size 2048 is the HTTP header limit before the upgrade (431)."""
    other = harness.Broker(b.ternd, conf=harness.BASE_CONF + "max_packet_size 1000\n"
                           "websockets_headers_size 2048\n"
                           "listener 0 127.0.0.1\nprotocol websockets\n")
    other.start()
    try:
        port = [p for kind, _, p in other.listeners if kind == "ws"][0]
        w = RawWs(port)
        try:
            c = connect_packet(unique("big"))
            w.send_frame(0x2, c)
            check_eq(w.read_mqtt(4), b"\x20\x02\x00\x00", "CONNACK")
            # A PUBLISH of exactly 1000 bytes in one frame is delivered to nobody but accepted.
            topic = b"big/t"
            body = mqtt_str(topic) + b"x" * (1000 - 3 - 2 - len(topic))
            pub = mqtt_packet(0x30, body)
            check_eq(len(pub), 1000, "packet size")
            w.send_frame(0x2, pub)
            w.send_frame(0x9, b"p")
            op, data = w.read_frame()
            check_eq((op, data), (0xA, b"p"), "still open after a 1000-byte message")
            # The header and 10 bytes of a 1001-byte frame: refused before the rest is sent
            # (wslay reports a frame with its first payload bytes).
            w.s.sendall(bytes([0x82, 0x80 | 126]) + struct.pack(">H", 1001) + os.urandom(4) +
                        b"y" * 10)
            expect_close(w, 1009, "oversize frame refused with close 1009")
        finally:
            w.close()
        h = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
        try:
            h.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 2100 + b"\r\n\r\n")
            check(h.recv(64).startswith(b"HTTP/1.1 431 "), "headers over websockets_headers_size")
        finally:
            h.close()
    finally:
        problems = other.stop()
        other.cleanup()
        check(not problems, "second ternd: %s" % "\n".join(problems))


def subprotocols(b):
    w = RawWs(ws_ports(b)[0], proto="chat")
    w.close()
    check_eq(w.status, 400, "upgrade offering only a non-MQTT subprotocol")
    w = RawWs(ws_ports(b)[0], proto="mqttv3.1")
    w.close()
    check_eq((w.status, w.headers.get("sec-websocket-protocol")), (101, "mqttv3.1"),
             "upgrade with mqttv3.1")


def upgrade_works(w, what):
    """After a 101, a CONNECT over the WebSocket gets a CONNACK: the upgrade really happened."""
    check_eq(w.status, 101, what)
    w.send_frame(2, connect_packet(unique("origin")))
    check_eq(w.read_mqtt(4), b"\x20\x02\x00\x00", "%s: CONNACK" % what)
    w.close()


def origins(b):
    """websockets_origin: listed origins (any case) and requests without Origin upgrade; another
    origin gets 403 and no upgrade; a listener without the option takes any origin."""
    port = ws_ports(b)[2]
    for origin in ORIGINS + ("HTTPS://App.Example.COM", None):
        upgrade_works(RawWs(port, origin=origin), "upgrade with Origin %r" % origin)
    for origin in ("https://evil.example.com", "https://app.example.com.evil.net", "null",
                   "http://localhost:8081"):
        w = RawWs(port, origin=origin)
        check_eq(w.status, 403, "upgrade with Origin %r refused" % origin)
        check("upgrade" not in w.headers, "no Upgrade header in the refusal")
        # The refusal ends the connection: nothing of a WebSocket follows.
        try:
            while True:
                w._recv()
        except EOFError:
            pass
        w.close()
    upgrade_works(RawWs(ws_ports(b)[0], origin="https://evil.example.com"),
                  "any origin where websockets_origin is not set")


def wss_raw_tls(b):
    """The wss listener really speaks TLS: plain HTTP gets no 101."""
    ctx = ssl.create_default_context(cafile=CERT)
    with socket.create_connection(("127.0.0.1", ws_ports(b)[1]), timeout=WAIT) as s:
        with ctx.wrap_socket(s, server_hostname="127.0.0.1") as t:
            t.sendall(b"GET /nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            data = b""
            while b"\r\n" not in data:
                d = t.recv(4096)
                if not d:
                    break
                data += d
    check(data.startswith(b"HTTP/1.1 404"), "HTTP over TLS on the wss listener: %r" % data[:40])


TESTS = [
    ("mqttjs_ws_v311", mqttjs_sub_case(4)),
    ("mqttjs_ws_v5", mqttjs_sub_case(5)),
    ("mqttjs_wss_v5", mqttjs_sub_case(5, secure=True)),
    ("mqttjs_ws_large_to_client", mqttjs_sub_case(5, size=3 * 1024 * 1024)),
    ("mqttjs_wss_large_to_client", mqttjs_sub_case(4, secure=True, size=3 * 1024 * 1024)),
    ("mqttjs_ws_large_from_client", mqttjs_publishes_large(False)),
    ("mqttjs_wss_large_from_client", mqttjs_publishes_large(True)),
    ("paho_ws_v311", paho_case(4)),
    ("paho_ws_v5", paho_case(5)),
    ("paho_wss_v311", paho_case(4, secure=True)),
    ("raw_split_and_coalesced", raw_split_and_coalesced),
    ("raw_text_frame_refused", raw_text_frame_refused),
    ("raw_unmasked_frame_refused", raw_unmasked_frame_refused),
    ("raw_oversize_frame_refused", raw_oversize_frame_refused),
    ("subprotocols", subprotocols),
    ("origins", origins),
    ("wss_raw_tls", wss_raw_tls),
]


def main():
    for tool in ("node", "mosquitto_pub", "mosquitto_sub", "openssl"):
        if shutil.which(tool) is None:
            harness.fail_missing(tool)
    try:
        import paho.mqtt.client  # noqa: F401
    except ImportError:
        harness.fail_missing("python3-paho-mqtt")
    import test_mqttjs
    test_mqttjs.ensure_node_modules()
    make_cert()
    try:
        harness.run_tests("MQTT over WebSockets with ternd", TESTS, EXTRA_CONF)
    finally:
        shutil.rmtree(CERT_DIR, ignore_errors=True)


if __name__ == "__main__":
    main()
