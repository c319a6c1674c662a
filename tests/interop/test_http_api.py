#!/usr/bin/python3
"""Interop test: ternd's REST API (/api/v1), Prometheus /metrics and static files on websockets
listeners, driven over HTTP by Python's http.client, with MQTT traffic from python3-paho-mqtt and
Debian's mosquitto_pub.

Every endpoint, authentication refused and accepted (bearer token, HTTP Basic against a password
file made by mosquitto_passwd, admin role), paging and filters, JSON errors with status codes;
/metrics validated by Debian's `promtool check metrics` and shown to move with traffic, drop
reasons counted where they happen (too_large, sys_topic, queue_full, expired, acl_denied: the
last with an ACL file, on a second ternd), and the queued gauge across a restart with persistence.
"""

import base64
import http.client
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # Keep __pycache__ out of the source tree.
sys.path.insert(0, HERE)
import harness  # noqa: E402
from harness import QUIET, WAIT, TestFailure, check, check_eq, unique  # noqa: E402

FILES = tempfile.mkdtemp(prefix="tern-http-")
PASSWD = os.path.join(FILES, "passwd")
WWW = os.path.join(FILES, "www")
TOKEN = "t0ken-" + base64.urlsafe_b64encode(os.urandom(12)).decode().rstrip("=")
ADMIN = ("admin", "admin-pass")
USER = ("user", "user-pass")
# BASE_CONF's TCP listener first; then the API listener (auth everywhere, static files) and a
# metrics-only listener without auth, with a short idle timeout, that trusts X-Forwarded-For
# from loopback.
# One queued message per offline session (queue_full drops), and a store (commit latency).
# Four workers, so that a REST request and the session it shows are often on different ones.
EXTRA_CONF = ("worker_threads 4\npassword_file %s\nhttp_api_token %s\nhttp_admin_users %s\n"
              "max_queued_messages 1\npersistence true\npersistence_location %s/\n"
              "listener 0 127.0.0.1\nprotocol websockets\nhttp_api true\nhttp_metrics true\n"
              "http_dir %s\nhttp_request_timeout 2\n"
              "listener 0 127.0.0.1\nprotocol websockets\nhttp_metrics true\n"
              "http_metrics_auth false\nhttp_idle_timeout 1\nhttp_trusted_proxy 127.0.0.0/8\n"
              % (PASSWD, TOKEN, ADMIN[0], FILES, WWW))

ENDPOINTS = [("GET", "/api/v1/broker"), ("GET", "/api/v1/clients"),
             ("GET", "/api/v1/clients/x"), ("DELETE", "/api/v1/clients/x"),
             ("GET", "/api/v1/retained"), ("GET", "/api/v1/retained/a"),
             ("DELETE", "/api/v1/retained/a"), ("POST", "/api/v1/publish"),
             ("GET", "/api/v1/listeners"), ("GET", "/api/v1/subscriptions"),
             ("POST", "/api/v1/reload"), ("GET", "/api/v1/config"), ("GET", "/metrics")]


def setup_files():
    for user, pw in (ADMIN, USER):
        r = subprocess.run(["mosquitto_passwd", "-b"] + (["-c"] if user == ADMIN[0] else []) +
                           [PASSWD, user, pw], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if r.returncode != 0:
            harness.fail_missing("mosquitto_passwd: %s" % r.stdout.decode("utf-8", "replace"))
    os.mkdir(WWW)
    with open(os.path.join(WWW, "index.html"), "w") as f:
        f.write("<h1>tern</h1>\n")


def ports(b):
    p = [port for kind, _, port in b.listeners if kind == "ws"]
    check(len(p) == 2, "expected two ws listeners in the ready file, got %r" % b.listeners)
    return p


def basic(user, pw):
    return "Basic " + base64.b64encode(("%s:%s" % (user, pw)).encode()).decode()


def request(b, method, path, body=None, auth="bearer", listener=0, headers=None):
    """Returns (status, headers dict with lower-case names, body bytes)."""
    h = dict(headers or {})
    if auth == "bearer":
        h["Authorization"] = "Bearer " + TOKEN
    elif auth:
        h["Authorization"] = auth
    if body is not None and not isinstance(body, (bytes, str)):
        body = json.dumps(body)
        h["Content-Type"] = "application/json"
    c = http.client.HTTPConnection("127.0.0.1", ports(b)[listener], timeout=WAIT)
    try:
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        c.close()


def api(b, method, path, body=None, status=200, **kw):
    st, hdrs, data = request(b, method, path, body, **kw)
    check(st == status, "%s %s: expected %d, got %d: %r" % (method, path, status, st, data[:300]))
    check(hdrs.get("content-type", "").startswith("application/json"),
          "%s %s: content type %r" % (method, path, hdrs.get("content-type")))
    doc = json.loads(data)
    if status >= 400:
        check_eq(doc["error"]["status"], status, "%s %s: error body status" % (method, path))
        check(doc["error"]["message"], "error message")
    return doc


class Client:
    """A python3-paho-mqtt client over TCP with event-based waits."""

    def __init__(self, b, cid=None, version=4, clean=True, props=None, user=None, will=None,
                 keepalive=60):
        import paho.mqtt.client as mqtt
        self.cv = threading.Condition()
        self.connected = self.suback = False
        self.disconnect_rc = None
        self.msgs = []
        self.cid = cid or unique("http")
        proto = mqtt.MQTTv5 if version == 5 else mqtt.MQTTv311
        if version == 5:
            self.c = mqtt.Client(client_id=self.cid, protocol=proto)
        else:
            self.c = mqtt.Client(client_id=self.cid, protocol=proto, clean_session=clean)
        self.c.on_connect = self._on_connect
        self.c.on_subscribe = lambda *a: self._set("suback", True)
        self.c.on_message = lambda c, u, m: self._set("msgs", self.msgs + [m])
        self.c.on_disconnect = self._on_disconnect
        if user:
            self.c.username_pw_set(*user)
        if will:
            self.c.will_set(**will)
        if version == 5:
            self.c.connect(b.host, b.port, keepalive, clean_start=clean, properties=props)
        else:
            self.c.connect(b.host, b.port, keepalive)
        self.c.loop_start()
        self.wait(lambda: self.connected, "CONNACK")

    def _set(self, name, value):
        with self.cv:
            setattr(self, name, value)
            self.cv.notify_all()

    def _on_connect(self, *a):
        self._set("connected", True)

    def _on_disconnect(self, c, u, rc, properties=None):
        self._set("disconnect_rc", rc)

    def wait(self, pred, what):
        with self.cv:
            check(self.cv.wait_for(pred, WAIT), "%s: no %s" % (self.cid, what))

    def subscribe(self, topic, qos=1, options=None, props=None):
        self.suback = False
        if options is not None:
            self.c.subscribe(topic, options=options, properties=props)
        else:
            self.c.subscribe(topic, qos)
        self.wait(lambda: self.suback, "SUBACK")

    def unsubscribe(self, topic):
        self.unsuback = False
        self.c.on_unsubscribe = lambda *a: self._set("unsuback", True)
        self.c.unsubscribe(topic)
        self.wait(lambda: self.unsuback, "UNSUBACK")

    def close(self):
        self.c.disconnect()
        self.c.loop_stop()


def mosquitto_pub(b, topic, payload, retain=False, qos=1):
    r = subprocess.run(["mosquitto_pub", "-h", b.host, "-p", str(b.port), "-q", str(qos),
                        "-t", topic, "-s"] + (["-r"] if retain else []), input=payload,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=WAIT * 3)
    check(r.returncode == 0, "mosquitto_pub: %s" % r.stdout.decode("utf-8", "replace"))


# ---- tests ----

def auth_refused_everywhere(b):
    for method, path in ENDPOINTS:
        st, hdrs, data = request(b, method, path, auth=None)
        check_eq(st, 401, "%s %s without credentials" % (method, path))
        check(hdrs.get("www-authenticate", "").startswith("Basic"), "WWW-Authenticate on 401")
        check_eq(json.loads(data)["error"]["status"], 401, "JSON error body")
    api(b, "GET", "/api/v1/broker", auth="Bearer wrong-token", status=401)
    api(b, "GET", "/api/v1/broker", auth=basic(ADMIN[0], "nope"), status=401)
    api(b, "GET", "/api/v1/broker", auth=basic("nobody", "x"), status=401)
    api(b, "GET", "/api/v1/broker", auth="Digest foo", status=401)
    for method, path in (("GET", "/api/v1/broker"), ("GET", "/api/v1/subscriptions"),
                         ("POST", "/api/v1/reload")):
        api(b, method, path, auth=basic(*USER), status=403)  # valid, but not admin


def auth_accepted(b):
    check_eq(api(b, "GET", "/api/v1/broker", auth=basic(*ADMIN))["version"].count("."), 2,
             "version via Basic")
    check(api(b, "GET", "/api/v1/broker")["uptime_s"] >= 0, "uptime via Bearer")


def broker_info(b):
    doc = api(b, "GET", "/api/v1/broker")
    for key in ("version", "uptime_s", "start_time", "workers", "stats"):
        check(key in doc, "broker info has %s: %r" % (key, doc))
    for key in ("clients_connected", "messages_received", "bytes_sent", "publish_dropped",
                "subscriptions", "retained_messages"):
        check(isinstance(doc["stats"].get(key), (int, float)), "stats.%s: %r" % (key, doc))
    c = Client(b)
    try:
        check(api(b, "GET", "/api/v1/broker")["stats"]["clients_connected"] >= 1,
              "clients_connected counts a connected client")
    finally:
        c.close()


def clients_paging(b):
    tag = unique("page")
    clients = [Client(b, "%s-%02d" % (tag, i), version=5 if i == 0 else 4) for i in range(12)]
    try:
        ids = sorted(c.cid for c in clients)
        doc = api(b, "GET", "/api/v1/clients?match=%s&limit=5" % tag)
        check_eq((doc["total"], doc["offset"], doc["limit"]), (12, 0, 5), "first page")
        check_eq([c["client_id"] for c in doc["clients"]], ids[:5], "first page ids")
        first = doc["clients"][0]
        check_eq((first["connected"], first["protocol_version"], first["protocol"]),
                 (True, 5, "5.0"), "v5 client row")
        doc = api(b, "GET", "/api/v1/clients?match=%s&offset=5&limit=5" % tag)
        check_eq([c["client_id"] for c in doc["clients"]], ids[5:10], "second page")
        doc = api(b, "GET", "/api/v1/clients?match=%s&offset=10&limit=5" % tag)
        check_eq([c["client_id"] for c in doc["clients"]], ids[10:], "last page")
        doc = api(b, "GET", "/api/v1/clients?match=%s&offset=20" % tag)
        check_eq((doc["total"], doc["clients"]), (12, []), "past the end")
        doc = api(b, "GET", "/api/v1/clients?match=%s-03" % tag)
        check_eq([c["client_id"] for c in doc["clients"]], [tag + "-03"], "match filter")
        check_eq(doc["clients"][0]["protocol"], "3.1.1", "v3.1.1 client row")
        check(api(b, "GET", "/api/v1/clients")["total"] >= 12, "unfiltered list")
        for q in ("limit=x", "limit=1001", "offset=-1", "limit="):
            api(b, "GET", "/api/v1/clients?" + q, status=400)
        one = api(b, "GET", "/api/v1/clients/" + ids[1])
        check_eq((one["client_id"], one["connected"]), (ids[1], True), "one client")
        api(b, "GET", "/api/v1/clients/%s-none" % tag, status=404)
    finally:
        for c in clients:
            c.close()


def clients_filters(b):
    """connected= and username= filters of the clients list, with match; the user name is the
    last connection's, so an offline session keeps it."""
    tag = unique("filt")
    named = Client(b, tag + "-named", user=ADMIN)
    anon = Client(b, tag + "-anon")
    off = Client(b, tag + "-off", clean=False, user=ADMIN)
    try:
        off.close()
        wait_until(lambda: not api(b, "GET", "/api/v1/clients/" + off.cid)["connected"],
                   "the persistent client offline")

        def ids(q):
            doc = api(b, "GET", "/api/v1/clients?match=%s&%s" % (tag, q))
            check_eq(doc["total"], len(doc["clients"]), "total of " + q)
            return [c["client_id"] for c in doc["clients"]]
        check_eq(ids("connected=true"), [anon.cid, named.cid], "connected=true")
        check_eq(ids("connected=false"), [off.cid], "connected=false")
        check_eq(ids("username=" + ADMIN[0]), [named.cid, off.cid], "username=")
        check_eq(ids("username=%s&connected=true" % ADMIN[0]), [named.cid], "both filters")
        check_eq(ids("username=nobody"), [], "unknown user name")
        check_eq(ids("username="), [], "empty user name matches nobody's (anonymous: none)")
        for q in ("connected=yes", "connected="):
            api(b, "GET", "/api/v1/clients?" + q, status=400)
    finally:
        named.close()
        anon.close()
        Client(b, off.cid, clean=True).close()


def client_detail(b):
    """GET /api/v1/clients/{id}: the session (expiry, subscriptions, queued and in-flight
    counts, will) and the connection (peer, user name, keep alive), built by the session's own
    worker: several clients and a fresh HTTP connection per request, so with four workers most
    requests cross workers."""
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties
    from paho.mqtt.subscribeoptions import SubscribeOptions
    tag = unique("detail")
    cp = Properties(PacketTypes.CONNECT)
    cp.SessionExpiryInterval = 120
    wp = Properties(PacketTypes.WILLMESSAGE)
    wp.WillDelayInterval = 30
    v5 = Client(b, tag + "-v5", version=5, props=cp, user=ADMIN, keepalive=45,
                will={"topic": tag + "/will", "payload": b"gone", "qos": 1, "retain": True,
                      "properties": wp})
    others = [Client(b, "%s-%d" % (tag, i)) for i in range(6)]
    off = Client(b, tag + "-off", clean=False)
    try:
        sp = Properties(PacketTypes.SUBSCRIBE)
        sp.SubscriptionIdentifier = 9
        v5.subscribe(tag + "/a/#", options=SubscribeOptions(qos=1, noLocal=True), props=sp)
        v5.subscribe("$share/g/%s/s" % tag, qos=0)
        off.subscribe(tag + "/off", qos=1)
        off.close()
        wait_until(lambda: not api(b, "GET", "/api/v1/clients/" + off.cid)["connected"],
                   "the persistent client offline")
        mosquitto_pub(b, tag + "/off", b"q1", qos=1)
        for _ in range(3):  # the same answer whichever worker takes the HTTP connection
            d = api(b, "GET", "/api/v1/clients/" + v5.cid)
            check_eq({k: d[k] for k in ("client_id", "connected", "protocol", "protocol_version",
                                        "username", "keep_alive_s")},
                     {"client_id": v5.cid, "connected": True, "protocol": "5.0",
                      "protocol_version": 5, "username": ADMIN[0], "keep_alive_s": 45},
                     "v5 client fields")
            check_eq(d["peer_address"], "127.0.0.1:%d" % v5.c.socket().getsockname()[1],
                     "peer address and port")
            s = d["session"]
            check_eq((s["expiry_interval_s"], s["persistent"], s["queued"], s["inflight"]),
                     (120, True, 0, 0), "v5 session counts")
            check_eq(s["will"], {"topic": tag + "/will", "qos": 1, "retain": True,
                                 "payload_len": 4, "delay_s": 30}, "will")
            check_eq(sorted(s["subscriptions"], key=lambda r: r["filter"]), [
                {"filter": "$share/g/%s/s" % tag, "qos": 0, "no_local": False,
                 "retain_as_published": False, "retain_handling": 0},
                {"filter": tag + "/a/#", "qos": 1, "no_local": True,
                 "retain_as_published": False, "retain_handling": 0, "subscription_id": 9}],
                "subscriptions with options and id")
        for c in others:
            d = api(b, "GET", "/api/v1/clients/" + c.cid)
            check_eq((d["client_id"], d["connected"], d["username"], d["session"]["will"],
                      d["session"]["subscriptions"], d["session"]["expiry_interval_s"]),
                     (c.cid, True, None, None, [], 0), "plain 3.1.1 client")
        # The queued message is pushed by its publisher's worker and may take a moment.
        wait_until(lambda: api(b, "GET", "/api/v1/clients/" + off.cid)["session"]["queued"] == 1,
                   "one message queued for the offline session")
        d = api(b, "GET", "/api/v1/clients/" + off.cid)
        check_eq((d["connected"], d["peer_address"], d["keep_alive_s"],
                  d["session"]["expiry_interval_s"], d["session"]["queued_bytes"] > 0),
                 (False, None, None, None, True), "offline 3.1.1 session (never expires)")
        api(b, "GET", "/api/v1/clients/%s-none" % tag, status=404)
    finally:
        for c in [v5] + others:
            c.close()
        Client(b, off.cid, clean=True).close()  # ends the persistent session


def ws_mqtt_connect(port, cid, forwarded_for):
    """A raw MQTT over WebSocket client: upgrade with X-Forwarded-For, one masked CONNECT frame,
    CONNACK checked. Returns the socket (open: the client stays connected)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(("GET /mqtt HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
               "Sec-WebSocket-Protocol: mqtt\r\nX-Forwarded-For: %s\r\n\r\n"
               % (key, forwarded_for)).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += recv_exact(s, 1)
    check(head.startswith(b"HTTP/1.1 101 "), "upgrade answer %r" % head[:40])
    body = mqtt_str(b"MQTT") + b"\x04\x02\x00\x3c" + mqtt_str(cid.encode())
    pkt = bytes([0x10, len(body)]) + body
    mask = os.urandom(4)
    s.sendall(bytes([0x82, 0x80 | len(pkt)]) + mask +
              bytes(c ^ mask[i % 4] for i, c in enumerate(pkt)))
    check_eq(recv_exact(s, 6), b"\x82\x04\x20\x02\x00\x00", "CONNACK in one binary frame")
    return s


def forwarded_for(b):
    """X-Forwarded-For end to end: a WebSocket MQTT client behind a trusted proxy (the second
    ws listener trusts 127.0.0.0/8) is shown with the forwarded address, one through a listener
    that trusts nobody with its real peer address."""
    tag = unique("xff")
    trusted = ws_mqtt_connect(ports(b)[1], tag + "-trusted", "198.51.100.7")
    untrusted = ws_mqtt_connect(ports(b)[0], tag + "-untrusted", "198.51.100.8")
    try:
        d = api(b, "GET", "/api/v1/clients/%s-trusted" % tag)
        check_eq((d["connected"], d["peer_address"]), (True, "198.51.100.7"),
                 "client behind a trusted proxy")
        d = api(b, "GET", "/api/v1/clients/%s-untrusted" % tag)
        check_eq((d["connected"], d["peer_address"]),
                 (True, "127.0.0.1:%d" % untrusted.getsockname()[1]),
                 "X-Forwarded-For from an untrusted peer is ignored")
    finally:
        trusted.close()
        untrusted.close()


def mqtt_str(s):
    return struct.pack(">H", len(s)) + s


def recv_exact(s, n):
    data = b""
    while len(data) < n:
        d = s.recv(n - len(data))
        check(d, "connection closed after %r" % data)
        data += d
    return data


def kick(b):
    """A v5 client (raw, to see the exact DISCONNECT) and a 3.1.1 client (paho) are kicked."""
    cid = unique("kick5")
    v5 = socket.create_connection((b.host, b.port), timeout=WAIT)
    v3 = Client(b, version=4)
    try:
        body = mqtt_str(b"MQTT") + b"\x05\x02\x00\x3c\x00" + mqtt_str(cid.encode())
        v5.sendall(bytes([0x10, len(body)]) + body)
        hdr = recv_exact(v5, 2)
        check(hdr[0] == 0x20 and hdr[1] < 128, "CONNACK header %r" % hdr)
        check_eq(recv_exact(v5, hdr[1])[:2], b"\x00\x00", "CONNACK accepted")
        doc = api(b, "DELETE", "/api/v1/clients/" + cid, status=202)
        check_eq(doc, {"client_id": cid, "status": "disconnecting"}, "kick answer")
        hdr = recv_exact(v5, 3)
        check(hdr[0] == 0xE0 and hdr[1] >= 1, "DISCONNECT after the kick, got %r" % hdr)
        check_eq(hdr[2], 0x98, "DISCONNECT reason Administrative action")
        api(b, "DELETE", "/api/v1/clients/" + v3.cid, status=202)
        v3.wait(lambda: v3.disconnect_rc is not None, "disconnect of the 3.1.1 client")
        check(v3.disconnect_rc != 0, "the 3.1.1 client's connection was closed by the broker")
        api(b, "DELETE", "/api/v1/clients/" + unique("absent"), status=404)
        api(b, "DELETE", "/api/v1/clients/", status=400)
    finally:
        v5.close()
        v3.close()


def retained(b):
    root = unique("ret")
    mosquitto_pub(b, root + "/a", b"alpha", retain=True)
    mosquitto_pub(b, root + "/b", b"beta", retain=True)
    mosquitto_pub(b, root + "/bin", b"\x00\xff\x01", retain=True)
    doc = api(b, "GET", "/api/v1/retained?filter=%s/%%23" % root)
    check_eq(doc["total"], 3, "retained under the filter")
    check_eq([m["topic"] for m in doc["retained"]], [root + "/a", root + "/b", root + "/bin"],
             "sorted topics")
    check_eq((doc["retained"][0]["payload"], doc["retained"][0]["qos"]), ("alpha", 1), "text")
    check_eq(base64.b64decode(doc["retained"][2]["payload_base64"]), b"\x00\xff\x01", "binary")
    doc = api(b, "GET", "/api/v1/retained?filter=%s/%%2B&offset=1&limit=1" % root)
    check_eq([m["topic"] for m in doc["retained"]], [root + "/b"], "paged retained")
    api(b, "GET", "/api/v1/retained?filter=a/%23/b", status=400)
    api(b, "GET", "/api/v1/retained?filter=%24share/g/a", status=400)
    check_eq(api(b, "GET", "/api/v1/retained/%s/b" % root)["payload"], "beta", "one retained")
    check_eq(api(b, "DELETE", "/api/v1/retained/%s/a" % root), {"deleted": root + "/a"},
             "delete answer")
    api(b, "GET", "/api/v1/retained/%s/a" % root, status=404)
    api(b, "DELETE", "/api/v1/retained/%s/a" % root, status=404)
    api(b, "DELETE", "/api/v1/retained/a/%2B", status=400)
    # A new subscriber gets b and bin, then the marker published after it subscribed: no a.
    c = Client(b)
    try:
        c.subscribe(root + "/#")
        mosquitto_pub(b, root + "/z", b"marker")
        c.wait(lambda: any(m.topic == root + "/z" for m in c.msgs), "marker")
        check_eq(sorted(m.topic for m in c.msgs),
                 [root + "/b", root + "/bin", root + "/z"], "retained after the delete")
    finally:
        c.close()


def publish(b):
    topic = unique("rest/pub")
    c = Client(b)
    try:
        c.subscribe(topic)
        doc = api(b, "POST", "/api/v1/publish", {"topic": topic, "payload": "héllo", "qos": 1})
        check_eq(doc, {"topic": topic, "routed": 1}, "publish answer")
        c.wait(lambda: c.msgs, "message published by the API")
        check_eq((c.msgs[0].payload, c.msgs[0].qos), ("héllo".encode(), 1), "message")
        api(b, "POST", "/api/v1/publish",
            {"topic": topic, "payload_base64": base64.b64encode(b"\x00\x01").decode()})
        c.wait(lambda: len(c.msgs) == 2, "binary message")
        check_eq(c.msgs[1].payload, b"\x00\x01", "binary payload")
    finally:
        c.close()
    api(b, "POST", "/api/v1/publish", {"topic": topic + "/r", "payload": "kept", "retain": True})
    check_eq(api(b, "GET", "/api/v1/retained/%s/r" % topic)["payload"], "kept", "retained")
    for bad in ({"payload": "x"}, {"topic": "a/+"}, {"topic": "a", "qos": 3},
                {"topic": "a", "qos": 1.5}, {"topic": "a", "retain": "yes"},
                {"topic": "$SYS/x"}, {"topic": "a", "payload": 5},
                {"topic": "a", "payload": "x", "payload_base64": "eA=="},
                {"topic": "a", "payload_base64": "!!"}, [1, 2]):
        api(b, "POST", "/api/v1/publish", bad, status=400)
    api(b, "POST", "/api/v1/publish", "{not json", status=400)
    # Refused on Content-Length alone: the 2 MiB body is never sent.
    with socket.create_connection(("127.0.0.1", ports(b)[0]), timeout=WAIT) as s:
        s.sendall(b"POST /api/v1/publish HTTP/1.1\r\nHost: x\r\nContent-Length: 2097152\r\n"
                  b"Authorization: Bearer " + TOKEN.encode() + b"\r\n\r\n")
        check(s.recv(4096).startswith(b"HTTP/1.1 413 "), "body over http_max_body_size: 413")


def publish_durable(b):
    """Under persistence_fsync always, POST /api/v1/publish at QoS 1/2 is answered once the
    store made the message durable (here: the retained copy), as a PUBACK would be: on a ternd
    whose fsyncs all fail (test hook TERN_TEST_STORE_FAIL) the answer never comes while QoS 0
    ones still do on the same worker; on a healthy one it comes."""
    for fail in ("sync", None):
        store = tempfile.mkdtemp(prefix="tern-http-store-")
        conf = (harness.BASE_CONF + "persistence true\npersistence_location %s/\n"
                "persistence_fsync always\nhttp_api_token %s\n"
                "listener 0 127.0.0.1\nprotocol websockets\nhttp_api true\n" % (store, TOKEN))
        other = harness.Broker(b.ternd, conf=conf)
        if fail:
            os.environ["TERN_TEST_STORE_FAIL"] = fail
        try:
            other.start()
        finally:
            os.environ.pop("TERN_TEST_STORE_FAIL", None)
        try:
            port = [p for kind, _, p in other.listeners if kind == "ws"][0]
            topic = unique("durable")
            body = json.dumps({"topic": topic, "payload": "x", "qos": 1, "retain": True})
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=WAIT)
            c.request("POST", "/api/v1/publish", body=body,
                      headers={"Authorization": "Bearer " + TOKEN})
            if fail:
                # Absence is what is under test: no answer while the disk cannot keep it.
                c.sock.settimeout(QUIET * 1.5)
                try:
                    r = c.getresponse()
                    raise TestFailure("answered a QoS 1 publish the store could not keep: %d %r"
                                      % (r.status, r.read()))
                except socket.timeout:
                    pass
                c.close()
                q0 = json.dumps({"topic": topic + "/0", "payload": "y", "qos": 0, "retain": True})
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=WAIT)
                c.request("POST", "/api/v1/publish", body=q0,
                          headers={"Authorization": "Bearer " + TOKEN})
                check_eq(c.getresponse().status, 200, "QoS 0 publishes do not wait")
            else:
                r = c.getresponse()
                check_eq((r.status, json.loads(r.read())["topic"]), (200, topic),
                         "QoS 1 publish answered once durable")
            c.close()
        finally:
            problems = other.stop()
            other.cleanup()
            shutil.rmtree(store, ignore_errors=True)
            check(not problems, "second ternd: %s" % "\n".join(problems))


def config_view(b):
    """GET /api/v1/config: the effective configuration by option name, global and per listener,
    with the bearer token redacted (and nowhere in the body) but file paths shown."""
    st, _, raw = request(b, "GET", "/api/v1/config")
    check_eq(st, 200, "status")
    check(TOKEN.encode() not in raw, "the token appears in /api/v1/config")
    doc = json.loads(raw)
    g = doc["global"]
    check_eq((g["http_api_token"], g["password_file"], g["max_queued_messages"],
              g["worker_threads"], g["persistence"], g["http_admin_users"]),
             ("<redacted>", PASSWD, 1, 4, True, ADMIN[0]), "global options")
    check_eq(g["persistence_fsync"], "always", "an enumerated option by its name")
    check_eq(g["allow_anonymous"], 1, "effective allow_anonymous")
    ws = [l for l in doc["listeners"] if l["protocol"] == "websockets"]
    check_eq(len(ws), 2, "two websockets listeners")
    check_eq((ws[0]["http_api"], ws[0]["http_dir"], ws[0]["http_request_timeout"],
              ws[1]["http_api"], ws[1]["http_idle_timeout"], ws[1]["http_trusted_proxy"]),
             (True, WWW, 2, False, 1, "127.0.0.0/8"), "listener options")
    request_status = request(b, "GET", "/api/v1/config", auth=basic(*USER))[0]
    check_eq(request_status, 403, "a user without the admin role")


def listeners(b):
    doc = api(b, "GET", "/api/v1/listeners")["listeners"]
    check_eq([(l["protocol"], l["port"]) for l in doc],
             [("mqtt", b.port), ("websockets", ports(b)[0]), ("websockets", ports(b)[1])],
             "listeners")
    check_eq((doc[1]["http_api"], doc[1]["http_metrics"], doc[2]["http_api"]),
             (True, True, False), "listener HTTP settings")
    check(doc[1]["connections"] >= 1, "the API's own connection is counted")


def openapi(b):
    doc = api(b, "GET", "/api/v1/openapi.json", auth=None)
    check(doc["openapi"].startswith("3."), "OpenAPI version")
    for path in ("/broker", "/clients", "/clients/{client_id}", "/retained", "/retained/{topic}",
                 "/publish", "/listeners", "/openapi.json", "/subscriptions", "/reload",
                 "/config"):
        check(path in doc["paths"], "OpenAPI documents %s" % path)
    names = [p["name"] for p in doc["paths"]["/clients"]["get"]["parameters"] if "name" in p]
    check_eq(names, ["match", "connected", "username"], "the clients list's filters")
    detail = doc["components"]["schemas"]["ClientDetail"]["properties"]
    check({"username", "peer_address", "keep_alive_s", "session"} <= set(detail),
          "the client object's fields")
    check_eq(sorted(doc["paths"]["/clients/{client_id}"]), ["delete", "get", "parameters"],
             "client operations")


def metric(text, name):
    m = re.search(r"^%s (\S+)$" % re.escape(name), text, re.M)
    check(m, "metric %s present" % name)
    return float(m.group(1))


def scrape(b, listener=0, auth="bearer"):
    st, hdrs, data = request(b, "GET", "/metrics", auth=auth, listener=listener)
    check_eq(st, 200, "GET /metrics")
    check(hdrs["content-type"].startswith("text/plain; version=0.0.4"), "metrics content type")
    r = subprocess.run(["promtool", "check", "metrics"], input=data, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=WAIT * 3)
    check(r.returncode == 0, "promtool check metrics: %s" % r.stdout.decode("utf-8", "replace"))
    return data.decode()


def metrics(b):
    before = scrape(b)
    for name in ("tern_connections", "tern_sessions", "tern_retained_messages",
                 "tern_subscriptions", "process_cpu_seconds_total",
                 "process_resident_memory_bytes"):
        metric(before, name)
    check(re.search(r'^tern_worker_packets_received_total\{worker="0"\} ', before, re.M),
          "per-worker counters")
    topic = unique("metrics")
    mosquitto_pub(b, topic, b"x" * 1000, retain=True)
    after = scrape(b, listener=1, auth=None)  # the listener without auth
    for name in ('tern_messages_received_total{qos="1"}', "tern_packets_received_total",
                 "tern_received_bytes_total", "tern_retained_messages"):
        check(metric(after, name) > metric(before, name), "%s moved with traffic" % name)
    check(metric(after, "tern_received_bytes_total") -
          metric(before, "tern_received_bytes_total") >= 1000, "bytes counted")
    st, _, _ = request(b, "GET", "/metrics", auth=None)
    check_eq(st, 401, "/metrics on the listener with http_metrics_auth true")
    st, _, _ = request(b, "GET", "/api/v1/broker", auth=None, listener=1)
    check_eq(st, 404, "no API on the metrics-only listener")


def publish_size(topic, payload, qos):
    """Bytes of a v3.1.1 PUBLISH packet: fixed header, topic, packet id (QoS 1/2), payload."""
    remaining = 2 + len(topic) + (2 if qos else 0) + len(payload)
    varint = 1 if remaining < 128 else 2 if remaining < 16384 else 3
    return 1 + varint + remaining


def metric_qos(text, name, qos):
    return metric(text, '%s{qos="%d"}' % (name, qos))


def metrics_publish_bytes(b):
    """tern_publish_{received,sent}_bytes_total{qos} count whole PUBLISH packets by QoS: one
    PUBLISH at each QoS from mosquitto_pub (v3.1.1) to a QoS 2 subscriber moves each QoS's
    counters by at least that packet's size (payload sizes differ per QoS, so a count under the
    wrong label or of the payload alone falls short)."""
    names = ("tern_publish_received_bytes_total", "tern_publish_sent_bytes_total")
    before = scrape(b)
    topic = unique("pubbytes")
    sub = Client(b)
    sub.subscribe(topic, qos=2)
    payloads = {0: b"a" * 300, 1: b"b" * 5000, 2: b"c" * 20000}
    try:
        for qos, payload in payloads.items():
            mosquitto_pub(b, topic, payload, qos=qos)
        sub.wait(lambda: len(sub.msgs) == 3, "the three messages")
    finally:
        sub.close()
    check_eq(sorted((m.qos, len(m.payload)) for m in sub.msgs),
             [(q, len(p)) for q, p in sorted(payloads.items())], "QoS and payloads delivered")

    def moved(text):
        return all(metric_qos(text, n, q) - metric_qos(before, n, q) >=
                   publish_size(topic, p, q) for n in names for q, p in payloads.items())
    after = wait_metric(lambda: scrape(b), moved, "publish bytes by QoS")  # runs promtool
    for n in names:
        for q, p in payloads.items():
            # Only this test publishes: no other QoS's packet was counted under q either.
            check(metric_qos(after, n, q) - metric_qos(before, n, q) <
                  publish_size(topic, p, q) + 300, "%s{qos=%d} counts one packet" % (n, q))
    for n in names:
        check(re.search(r"^# TYPE %s counter$" % n, after, re.M), "%s is a counter" % n)


def static_and_errors(b):
    st, hdrs, data = request(b, "GET", "/", auth=None)
    check_eq((st, data), (200, b"<h1>tern</h1>\n"), "index.html from http_dir")
    check(hdrs["content-type"].startswith("text/html"), "html content type")
    st, _, _ = request(b, "GET", "/missing.html", auth=None)
    check_eq(st, 404, "missing file")
    st, _, _ = request(b, "GET", "/%2e%2e/passwd", auth=None)
    check(st in (403, 404), "path escaping http_dir refused, got %d" % st)
    api(b, "GET", "/api/v1/nothing", status=404)
    st, hdrs, data = request(b, "PUT", "/api/v1/broker")
    check_eq(st, 405, "PUT on a GET route")
    check("GET" in hdrs.get("allow", ""), "Allow header")


def idle_timeout(b):
    """http_idle_timeout 1 on the metrics listener: an idle connection is closed by the broker."""
    import socket
    t0 = time.monotonic()
    with socket.create_connection(("127.0.0.1", ports(b)[1]), timeout=WAIT) as s:
        check_eq(s.recv(1), b"", "idle connection closed")
    check(time.monotonic() - t0 >= 0.9, "closed only after the idle timeout")


def request_deadline(b):
    """http_request_timeout 2 on the API listener: a slowloris client that sends its headers a
    line every 0.2 s (each line resets the 60 s idle timeout) is closed about 2 s after its first
    byte, without an answer."""
    import select
    s = socket.create_connection(("127.0.0.1", ports(b)[0]), timeout=WAIT)
    t0 = time.monotonic()
    closed = False
    try:
        s.sendall(b"GET /api/v1/broker HTTP/1.1\r\nHost: x\r\n")
        while not closed and time.monotonic() - t0 < WAIT:
            # Wait for the close (readable) at most 0.2 s, then trickle the next line.
            if select.select([s], [], [], 0.2)[0]:
                data = s.recv(4096)
                check_eq(data, b"", "no answer to an unfinished request")
                closed = True
            else:
                s.sendall(b"X-Slow: %d\r\n" % int((time.monotonic() - t0) * 1000))
    except (ConnectionResetError, BrokenPipeError):
        closed = True
    finally:
        s.close()
    elapsed = time.monotonic() - t0
    check(closed, "the slow request was not cut off within %.0f s" % WAIT)
    check(1.8 <= elapsed < 8, "closed after %.2f s, expected about 2 s" % elapsed)
    # A normal request on the same listener is not affected.
    check_eq(api(b, "GET", "/api/v1/broker")["version"], api(b, "GET", "/api/v1/broker")["version"],
             "requests still answered")


def wait_until(pred, what):
    """Polls pred (an HTTP request) until it holds; for effects another thread applies."""
    deadline = time.monotonic() + WAIT
    while not pred():
        check(time.monotonic() < deadline, "timed out waiting for: %s" % what)
        time.sleep(0.02)


def subscriptions(b):
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties
    from paho.mqtt.subscribeoptions import SubscribeOptions
    tag = unique("subs")
    a = Client(b, tag + "-a", version=5)
    c = Client(b, tag + "-b")
    off = Client(b, tag + "-off", clean=False)  # persistent: listed while offline too
    try:
        props = Properties(PacketTypes.SUBSCRIBE)
        props.SubscriptionIdentifier = 7
        a.subscribe(tag + "/a/#", options=SubscribeOptions(
            qos=1, noLocal=True, retainAsPublished=True, retainHandling=2), props=props)
        c.subscribe(tag + "/b", qos=2)
        c.subscribe("$share/g1/%s/s" % tag, qos=0)
        off.subscribe(tag + "/off", qos=1)
        off.close()
        want = [(a.cid, tag + "/a/#"), (c.cid, "$share/g1/%s/s" % tag), (c.cid, tag + "/b"),
                (off.cid, tag + "/off")]
        doc = api(b, "GET", "/api/v1/subscriptions?filter=" + tag)
        check_eq((doc["total"], doc["offset"], doc["limit"]), (4, 0, 100), "page fields")
        rows = doc["subscriptions"]
        check_eq([(r["client_id"], r["filter"]) for r in rows], want,
                 "sorted by client id, then filter")
        check_eq(rows[0], {"client_id": a.cid, "filter": tag + "/a/#", "qos": 1,
                           "no_local": True, "retain_as_published": True, "retain_handling": 2,
                           "subscription_id": 7, "shared_group": None}, "v5 options row")
        check_eq((rows[1]["shared_group"], rows[1]["qos"], "subscription_id" in rows[1]),
                 ("g1", 0, False), "shared row")
        check_eq((rows[2]["qos"], rows[2]["no_local"], rows[2]["shared_group"]),
                 (2, False, None), "v3.1.1 row")
        doc = api(b, "GET", "/api/v1/subscriptions?filter=%s&limit=2&offset=1" % tag)
        check_eq((doc["total"], [r["filter"] for r in doc["subscriptions"]]),
                 (4, [w[1] for w in want[1:3]]), "second page of two")
        doc = api(b, "GET", "/api/v1/subscriptions?client_id=" + c.cid)
        check_eq([r["filter"] for r in doc["subscriptions"]], [w[1] for w in want[1:3]],
                 "client_id filter")
        doc = api(b, "GET", "/api/v1/subscriptions?client_id=" + tag)
        check_eq(doc["total"], 0, "client_id is matched exactly, not as a substring")
        doc = api(b, "GET", "/api/v1/subscriptions?filter=%s/a/%%23" % tag)
        check_eq([r["client_id"] for r in doc["subscriptions"]], [a.cid], "filter substring")
        a.unsubscribe(tag + "/a/#")
        doc = api(b, "GET", "/api/v1/subscriptions?client_id=" + a.cid)
        check_eq(doc["total"], 0, "gone after UNSUBSCRIBE")
        check(api(b, "GET", "/api/v1/subscriptions")["total"] >= 3, "unfiltered list")
        for q in ("limit=x", "limit=1001", "offset=-1"):
            api(b, "GET", "/api/v1/subscriptions?" + q, status=400)
    finally:
        a.close()
        c.close()
        Client(b, off.cid).close()  # clean start ends the persistent session


def conf_path(b):
    return os.path.join(b.dir, "ternd.conf")


def write_file(path, text):
    with open(path, "w") as f:
        f.write(text)


def reload_ok(b):
    """A changed http_api_token takes effect through POST /api/v1/reload, as on SIGHUP."""
    path = conf_path(b)
    with open(path) as f:
        orig = f.read()
    token2 = TOKEN + "-2"
    try:
        write_file(path, orig.replace(TOKEN, token2))
        doc = api(b, "POST", "/api/v1/reload", status=202)
        check_eq((doc["status"], doc["config_file"], doc["warnings"]),
                 ("reloading", path, []), "reload answer")
        wait_until(lambda: request(b, "GET", "/api/v1/broker", auth="Bearer " + token2)[0] == 200,
                   "the new token accepted after the reload")
        api(b, "GET", "/api/v1/broker", status=401)  # the old one is not
    finally:
        write_file(path, orig)
    api(b, "POST", "/api/v1/reload", auth="Bearer " + token2, status=202)
    wait_until(lambda: request(b, "GET", "/api/v1/broker")[0] == 200, "the first token back")


def reload_invalid(b):
    """An invalid file is refused with FILE:LINE and the running configuration stays."""
    path = conf_path(b)
    with open(path) as f:
        orig = f.read()
    bad_line = len(orig.splitlines()) + 1
    try:
        write_file(path, orig.replace(TOKEN, TOKEN + "-never") + "no_such_option 1\n")
        doc = api(b, "POST", "/api/v1/reload", status=422)
        check("%s:%d:" % (path, bad_line) in doc["error"]["message"],
              "FILE:LINE in the message: %r" % doc["error"]["message"])
        check(any("no_such_option" in e for e in doc["error"]["errors"]), "errors list")
    finally:
        write_file(path, orig)
    # Nothing was applied: the token of the running configuration still works, the new not.
    api(b, "GET", "/api/v1/broker")
    api(b, "GET", "/api/v1/broker", auth="Bearer %s-never" % TOKEN, status=401)


def labelled(text, name, **labels):
    sel = ",".join('%s="%s"' % kv for kv in labels.items())  # in the order rendered
    return metric(text, "%s{%s}" % (name, sel))


def metrics_by_qos(b):
    topic = unique("mq")
    sub = Client(b)
    try:
        sub.subscribe(topic, qos=1)
        before = scrape(b)
        for q in (0, 1, 2):
            mosquitto_pub(b, topic, b"q%d" % q, qos=q)
        sub.wait(lambda: len(sub.msgs) == 3, "three messages")
        after = scrape(b)
    finally:
        sub.close()
    for q in "012":
        check_eq(labelled(after, "tern_messages_received_total", qos=q) -
                 labelled(before, "tern_messages_received_total", qos=q), 1,
                 "PUBLISH received at QoS %s" % q)
    # Granted QoS 1: QoS 0 goes out as 0, QoS 1 and 2 as 1.
    check_eq([labelled(after, "tern_messages_sent_total", qos=q) -
              labelled(before, "tern_messages_sent_total", qos=q) for q in "012"],
             [1, 2, 0], "PUBLISH sent by QoS")


def dropped(text, reason):
    return labelled(text, "tern_messages_dropped_total", reason=reason)


def metrics_drops(b):
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties
    topic = unique("drop")
    props = Properties(PacketTypes.CONNECT)
    props.MaximumPacketSize = 200
    small = Client(b, version=5, props=props)
    try:
        small.subscribe(topic, qos=1)
        before = scrape(b)
        mosquitto_pub(b, topic, b"x" * 1000, qos=0)  # over the subscriber's Maximum Packet Size
        mosquitto_pub(b, topic, b"y" * 1000, qos=1)  # the same from the in-flight window
        mosquitto_pub(b, "$SYS/" + topic, b"z")      # clients may not publish under $SYS
        mosquitto_pub(b, topic, b"fits", qos=1)
        small.wait(lambda: len(small.msgs) == 1, "the message that fits")
        after = scrape(b)
        check_eq(small.msgs[0].payload, b"fits", "only the small message arrived")
    finally:
        small.close()
    check_eq(dropped(after, "too_large") - dropped(before, "too_large"), 2, "too_large drops")
    check_eq(dropped(after, "sys_topic") - dropped(before, "sys_topic"), 1, "sys_topic drops")
    total = sum(float(v) for v in re.findall(
        r'^tern_messages_dropped_total\{reason="[a-z_0-9]+"\} (\S+)$', after, re.M))
    check_eq(api(b, "GET", "/api/v1/broker")["stats"]["publish_dropped"], total,
             "the API's (and $SYS's) publish_dropped is the sum over reasons")


def metrics_queue_full(b):
    """max_queued_messages 1: an offline persistent session keeps one message, drops the rest."""
    cid = unique("offline")
    topic = unique("qf")
    c = Client(b, cid, clean=False)
    c.subscribe(topic, qos=1)
    c.close()
    wait_until(lambda: not api(b, "GET", "/api/v1/clients/" + cid)["connected"], "offline")
    before = scrape(b)
    for i in range(3):
        mosquitto_pub(b, topic, b"m%d" % i, qos=1)
    mid = scrape(b)
    check_eq(dropped(mid, "queue_full") - dropped(before, "queue_full"), 2, "queue_full drops")
    check_eq(metric(mid, "tern_messages_queued") - metric(before, "tern_messages_queued"), 1,
             "one message queued")
    c = Client(b, cid, clean=False)
    try:
        c.wait(lambda: len(c.msgs) == 1, "the queued message")
        check_eq(c.msgs[0].payload, b"m0", "the oldest message was kept")
    finally:
        c.close()
        Client(b, cid).close()  # ends the session
    after = scrape(b)
    check_eq(metric(after, "tern_messages_queued"), metric(before, "tern_messages_queued"),
             "queue drained")
    check(metric(after, "tern_messages_inflight") >= 0, "in-flight gauge")


def metrics_histograms(b):
    text = scrape(b)
    count = metric(text, "tern_store_commit_duration_seconds_count")
    check(count > 0, "the store committed (persistent sessions above)")
    check_eq(labelled(text, "tern_store_commit_duration_seconds_bucket", le="+Inf"), count,
             "+Inf bucket is the count")
    check(metric(text, "tern_store_commit_duration_seconds_sum") > 0, "commit time summed")
    check_eq(labelled(text, "tern_worker_loop_lag_seconds_bucket", worker="0", le="+Inf"),
             labelled(text, "tern_worker_loop_lag_seconds_count", worker="0"), "lag histogram")
    # The lag probe fires every second on every worker: its count grows.
    wait_until(lambda: labelled(scrape(b), "tern_worker_loop_lag_seconds_count", worker="0") > 0,
               "a loop-lag probe sample")
    for name in ("process_open_fds", "process_start_time_seconds", "process_max_fds"):
        check(metric(text, name) > 0, name)


def mosquitto_pub_v5(b, topic, payload, qos=1, props=()):
    """mosquitto_pub -d -V mqttv5 with PUBLISH properties (props: (name, value) pairs); returns
    its output, where -d shows the acknowledgement's reason code ("PUBACK (Mid: 1, RC:135)")."""
    args = ["mosquitto_pub", "-d", "-h", b.host, "-p", str(b.port), "-V", "mqttv5", "-q", str(qos),
            "-t", topic, "-m", payload]
    for name, value in props:
        args += ["-D", "publish", name, str(value)]
    r = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=WAIT * 3)
    check(r.returncode == 0, "mosquitto_pub: %s" % r.stdout.decode("utf-8", "replace"))
    return r.stdout.decode("utf-8", "replace")


def wait_metric(scrape_fn, pred, what):
    """Scrapes until pred(text) holds (bounded poll: the broker applies the effect on a worker,
    the scrape reads it afterwards); returns the text that satisfied it."""
    deadline = time.monotonic() + WAIT
    while True:
        text = scrape_fn()
        if pred(text):
            return text
        check(time.monotonic() < deadline, "timed out waiting for: %s; last scrape:\n%s"
              % (what, "\n".join(line for line in text.splitlines()
                                 if line.startswith("tern_messages"))))
        time.sleep(0.05)


def metrics_expired(b):
    """A message with Message Expiry Interval 1 queued for an offline persistent session is
    dropped as `expired` when the client comes back after it expired, and never delivered."""
    cid = unique("expiry")
    topic = unique("exp")
    c = Client(b, cid, clean=False)
    c.subscribe(topic, qos=1)
    c.close()
    wait_until(lambda: not api(b, "GET", "/api/v1/clients/" + cid)["connected"], "offline")
    before = scrape(b)
    mosquitto_pub_v5(b, topic, "short-lived", props=[("message-expiry-interval", 1)])
    # mosquitto_pub returned after its PUBACK, so the broker stamped the message before t0 and
    # it expires at the latest 1 s after t0 (the broker's loop clock is never ahead of ours).
    t0 = time.monotonic()
    mid = scrape(b)
    check_eq(metric(mid, "tern_messages_queued") - metric(before, "tern_messages_queued"), 1,
             "the message is queued for the offline session")
    # Waiting out the Message Expiry Interval is the behaviour under test, not synchronisation.
    time.sleep(max(0.0, t0 + 1.25 - time.monotonic()))
    c = Client(b, cid, clean=False)
    try:
        after = wait_metric(lambda: scrape(b),
                            lambda t: dropped(t, "expired") - dropped(before, "expired") >= 1,
                            "tern_messages_dropped_total{reason=\"expired\"} +1")
        check_eq(dropped(after, "expired") - dropped(before, "expired"), 1, "expired drops")
        check_eq(metric(after, "tern_messages_queued"), metric(before, "tern_messages_queued"),
                 "the expired message left the queue gauge")
        # A message without expiry sent now arrives, and is the only one the client gets.
        mosquitto_pub(b, topic, b"marker")
        c.wait(lambda: c.msgs, "the marker message")
        check_eq([m.payload for m in c.msgs], [b"marker"], "the expired message never arrived")
    finally:
        c.close()
        Client(b, cid).close()  # ends the session


def side_broker(b, conf):
    """Another ternd (its own temp dir) for tests that need an ACL file or a restart; conf
    gets a websockets listener with /metrics without auth appended. Returns (broker, scrape)."""
    other = harness.Broker(b.ternd, conf=harness.BASE_CONF + conf +
                           "listener 0 127.0.0.1\nprotocol websockets\nhttp_metrics true\n"
                           "http_metrics_auth false\n")
    other.start()

    def scrape_other():
        port = [p for kind, _, p in other.listeners if kind == "ws"][0]
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=WAIT)
        try:
            c.request("GET", "/metrics")
            r = c.getresponse()
            check_eq(r.status, 200, "GET /metrics of the second broker")
            return r.read().decode()
        finally:
            c.close()
    return other, scrape_other


def stop_side_broker(other):
    problems = other.stop()
    other.cleanup()
    check(not problems, "second ternd: %s" % "\n".join(problems))


def metrics_acl_denied(b):
    """acl_denied is counted once per PUBLISH the publisher may not write (handle_publish.c; v5
    publishers get 0x87) and once per subscriber that may not read a message its wildcard
    subscription matched (deliver.c: the subscriber's read ACL at delivery)."""
    acl = os.path.join(FILES, "acl-drops")
    write_file(acl, "# anonymous clients\ntopic write acl/#\ntopic read acl/open/#\n")
    other, scrape_other = side_broker(b, "acl_file %s\n" % acl)
    sub = None
    try:
        sub = Client(other, version=5)
        sub.subscribe("acl/#", qos=1)  # granted: reads are checked per message
        before = scrape_other()
        mosquitto_pub_v5(other, "acl/closed/x", "not for the subscriber")
        mosquitto_pub_v5(other, "acl/open/x", "readable")
        sub.wait(lambda: sub.msgs, "the readable message")
        # The read check runs on the subscriber's worker, which may not be the publisher's.
        mid = wait_metric(scrape_other,
                          lambda t: dropped(t, "acl_denied") > dropped(before, "acl_denied"),
                          "acl_denied for the subscriber")
        check_eq(dropped(mid, "acl_denied") - dropped(before, "acl_denied"), 1,
                 "one acl_denied: the subscriber may not read acl/closed/x")
        out = mosquitto_pub_v5(other, "elsewhere/x", "not writable")
        check("received PUBACK (Mid: 1, RC:135)" in out,
              "the v5 publisher is told 0x87 Not authorized: %r" % out)
        mosquitto_pub_v5(other, "acl/open/end", "marker")
        sub.wait(lambda: len(sub.msgs) == 2, "the marker")
        after = wait_metric(scrape_other,
                            lambda t: dropped(t, "acl_denied") > dropped(mid, "acl_denied"),
                            "acl_denied for the publisher")
        check_eq(dropped(after, "acl_denied") - dropped(mid, "acl_denied"), 1,
                 "one acl_denied: the publisher may not write elsewhere/x")
        check_eq([m.topic for m in sub.msgs], ["acl/open/x", "acl/open/end"],
                 "only readable messages were delivered")
    finally:
        if sub:
            sub.close()
        stop_side_broker(other)


def metrics_queued_after_restart(b):
    """After a restart with persistence, tern_messages_queued counts the restored queue of an
    offline persistent session, and goes back to exactly 0 once the client drained it."""
    store = tempfile.mkdtemp(prefix="store-", dir=FILES)
    other, scrape_other = side_broker(
        b, "persistence true\npersistence_location %s/\n" % store)
    cid = unique("restored")
    topic = unique("rq")
    c = None
    try:
        c = Client(other, cid, clean=False)
        c.subscribe(topic, qos=1)
        c.close()
        wait_metric(scrape_other, lambda t: metric(t, "tern_connections") == 0, "offline")
        for i in range(3):
            mosquitto_pub(other, topic, b"r%d" % i, qos=1)
        # Queued by the session's worker, which may not be the publisher's: poll.
        before = wait_metric(scrape_other, lambda t: metric(t, "tern_messages_queued") >= 3,
                             "three messages queued")
        check_eq((metric(before, "tern_messages_queued"), metric(before, "tern_messages_inflight")),
                 (3, 0), "queued before the restart")
        problems = other.stop()
        check(not problems, "ternd stop: %s" % "\n".join(problems))
        other.start()
        restored = scrape_other()
        check_eq((metric(restored, "tern_messages_queued"),
                  metric(restored, "tern_messages_inflight")), (3, 0),
                 "the restored queue is counted")
        c = Client(other, cid, clean=False)
        c.wait(lambda: len(c.msgs) == 3, "the three restored messages")
        check_eq([m.payload for m in c.msgs], [b"r0", b"r1", b"r2"], "restored in order")
        # paho acknowledges each PUBLISH before on_message returns; the broker's gauges follow.
        drained = wait_metric(scrape_other,
                              lambda t: metric(t, "tern_messages_queued") == 0 and
                              metric(t, "tern_messages_inflight") == 0, "queue drained")
        check_eq((metric(drained, "tern_messages_queued"),
                  metric(drained, "tern_messages_inflight")), (0, 0), "drained gauges")
    finally:
        if c:
            c.close()
        stop_side_broker(other)


TESTS = [
    ("auth_refused_everywhere", auth_refused_everywhere),
    ("auth_accepted", auth_accepted),
    ("broker_info", broker_info),
    ("clients_paging", clients_paging),
    ("clients_filters", clients_filters),
    ("client_detail", client_detail),
    ("forwarded_for", forwarded_for),
    ("kick", kick),
    ("retained", retained),
    ("publish", publish),
    ("publish_durable", publish_durable),
    ("config_view", config_view),
    ("listeners", listeners),
    ("openapi", openapi),
    ("metrics", metrics),
    ("metrics_by_qos", metrics_by_qos),
    ("metrics_drops", metrics_drops),
    ("metrics_queue_full", metrics_queue_full),
    ("metrics_expired", metrics_expired),
    ("metrics_acl_denied", metrics_acl_denied),
    ("metrics_queued_after_restart", metrics_queued_after_restart),
    ("metrics_histograms", metrics_histograms),
    ("subscriptions", subscriptions),
    ("reload_invalid", reload_invalid),
    ("reload_ok", reload_ok),
    ("metrics_publish_bytes", metrics_publish_bytes),
    ("static_and_errors", static_and_errors),
    ("idle_timeout", idle_timeout),
    ("request_deadline", request_deadline),
]


def main():
    for tool in ("mosquitto_pub", "mosquitto_passwd", "promtool"):
        if shutil.which(tool) is None:
            harness.fail_missing(tool + (" (Debian package prometheus)" if tool == "promtool"
                                         else " (Debian package mosquitto-clients/mosquitto)"))
    try:
        import paho.mqtt.client  # noqa: F401
    except ImportError:
        harness.fail_missing("python3-paho-mqtt")
    setup_files()
    try:
        harness.run_tests("ternd's HTTP API and metrics", TESTS, EXTRA_CONF)
    finally:
        shutil.rmtree(FILES, ignore_errors=True)


if __name__ == "__main__":
    main()
