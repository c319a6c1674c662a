#!/usr/bin/env python3
"""MQTT 5 enhanced authentication (SCRAM-SHA-512 over AUTH packets, re-authentication) and JWT
logins against the real ternd, with a SCRAM client and JWT signer written here from RFC 5802 /
RFC 7677 / RFC 7519. Raw sockets, so every packet and reason code is checked exactly."""
import base64
import hashlib
import hmac
import json
import os
import socket
import struct
import subprocess
import tempfile
import time

from harness import check, check_eq, run_tests
from persist_mqtt import mqtt_str, packet, read_varint, varint

WAIT = 10.0
CONNACK, PUBLISH, PUBACK, SUBSCRIBE, SUBACK, AUTH = 2, 3, 4, 8, 9, 15


def props(items):
    """Encodes (id, kind, value) properties; kind 's' string, 'b' binary."""
    out = b""
    for pid, kind, value in items:
        out += bytes([pid]) + (mqtt_str(value) if kind in "sb" else value)
    return varint(len(out)) + out


def parse_props(body, i):
    """Returns ({id: value}, next index) for a v5 property block at body[i]."""
    plen, i = read_varint(body, i)
    end, out = i + plen, {}
    while i < end:
        pid = body[i]
        i += 1
        if pid in (0x15, 0x16, 0x1F, 0x12, 0x1A, 0x1C, 0x03, 0x08, 0x09):
            n = struct.unpack(">H", body[i:i + 2])[0]
            out[pid] = body[i + 2:i + 2 + n]
            i += 2 + n
        elif pid in (0x11, 0x02, 0x27, 0x18):
            out[pid] = struct.unpack(">I", body[i:i + 4])[0]
            i += 4
        elif pid in (0x13, 0x21, 0x22, 0x23):
            out[pid] = struct.unpack(">H", body[i:i + 2])[0]
            i += 2
        elif pid == 0x26:
            n = struct.unpack(">H", body[i:i + 2])[0]
            m = struct.unpack(">H", body[i + 2 + n:i + 4 + n])[0]
            i += 4 + n + m
        else:
            out[pid] = body[i]
            i += 1
    return out, end


class Conn:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def recv(self):
        """(type, flags, body) of the next packet, or None when the broker closed."""
        deadline = time.monotonic() + WAIT
        while True:
            if len(self.buf) >= 2:
                try:
                    n, i = read_varint(self.buf, 1)
                except IndexError:
                    n, i = None, 0
                if n is not None and len(self.buf) >= i + n:
                    first, body = self.buf[0], self.buf[i:i + n]
                    self.buf = self.buf[i + n:]
                    return first >> 4, first & 15, body
            check(time.monotonic() < deadline, "no packet within %.0f s" % WAIT)
            try:
                data = self.sock.recv(65536)
            except ConnectionResetError:
                return None
            if not data:
                return None
            self.buf += data

    def connect(self, client_id, items, username=None, password=None):
        flags = 0x02 | (0x80 if username is not None else 0) | (0x40 if password is not None else 0)
        body = mqtt_str("MQTT") + bytes([5, flags]) + struct.pack(">H", 60) + props(items)
        body += mqtt_str(client_id)
        if username is not None:
            body += mqtt_str(username)
        if password is not None:
            body += mqtt_str(password)
        self.send(packet(0x10, body))

    def auth(self, reason, method, data):
        self.send(packet(0xF0, bytes([reason]) + props([(0x15, "s", method), (0x16, "b", data)])))

    def close(self):
        self.sock.close()


class Scram:
    """SCRAM-SHA-512 client (RFC 5802), no channel binding."""

    def __init__(self, user, password):
        self.user, self.password = user, password.encode()
        self.cnonce = base64.b64encode(os.urandom(18)).decode()
        self.bare = "n=%s,r=%s" % (user, self.cnonce)

    def first(self):
        return ("n,," + self.bare).encode()

    def final(self, server_first):
        sf = server_first.decode()
        fields = dict(kv.split("=", 1) for kv in sf.split(","))
        check(fields["r"].startswith(self.cnonce), "server nonce extends ours")
        salt, iters = base64.b64decode(fields["s"]), int(fields["i"])
        salted = hashlib.pbkdf2_hmac("sha512", self.password, salt, iters, 64)
        ckey = hmac.new(salted, b"Client Key", "sha512").digest()
        stored = hashlib.sha512(ckey).digest()
        without = "c=biws,r=" + fields["r"]
        self.auth_msg = ",".join([self.bare, sf, without]).encode()
        sig = hmac.new(stored, self.auth_msg, "sha512").digest()
        proof = bytes(a ^ b for a, b in zip(ckey, sig))
        self.skey = hmac.new(salted, b"Server Key", "sha512").digest()
        return (without + ",p=" + base64.b64encode(proof).decode()).encode()

    def verify(self, server_final):
        want = b"v=" + base64.b64encode(hmac.new(self.skey, self.auth_msg, "sha512").digest())
        check_eq(server_final, want, "server signature")


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def jwt_hs256(key, claims):
    head = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64url(json.dumps(claims).encode())
    sig = hmac.new(key, (head + "." + body).encode(), "sha256").digest()
    return head + "." + body + "." + b64url(sig)


SETUP = {}


def setup():
    d = tempfile.mkdtemp(prefix="tern-eauth-")
    pw = os.path.join(d, "passwd")
    subprocess.run(["mosquitto_passwd", "-b", "-c", pw, "alice", "secret"], check=True)
    key = os.urandom(48)
    with open(os.path.join(d, "jwt.key"), "wb") as f:
        f.write(key)
    SETUP.update(key=key, conf="listener 0 127.0.0.1\nallow_anonymous false\n"
                 "password_file %s\nauth_method password\nauth_method scram-sha-512\n"
                 "auth_method jwt\njwt_key_file %s\n" % (pw, os.path.join(d, "jwt.key")))


def scram_login(port, user, password):
    c, s = Conn(port), Scram(user, password)
    c.connect("scram-" + user, [(0x15, "s", "SCRAM-SHA-512"), (0x16, "b", s.first())])
    t, _, body = c.recv()
    check_eq(t, AUTH, "first answer to a SCRAM CONNECT is AUTH")
    check_eq(body[0], 0x18, "AUTH reason Continue authentication")
    pr, _ = parse_props(body, 1)
    check_eq(pr.get(0x15), b"SCRAM-SHA-512", "AUTH method")
    c.auth(0x18, "SCRAM-SHA-512", s.final(pr[0x16]))
    return c, s, c.recv()


def test_scram_ok(b):
    c, s, (t, _, body) = scram_login(b.port, "alice", "secret")
    check_eq(t, CONNACK, "CONNACK after the exchange")
    check_eq(body[1], 0, "CONNACK reason")
    pr, _ = parse_props(body, 2)
    check_eq(pr.get(0x15), b"SCRAM-SHA-512", "CONNACK Authentication Method")
    s.verify(pr.get(0x16, b""))
    # Re-authentication [MQTT-4.12.1-1]: AUTH 0x19, then 0x18, ends with AUTH 0x00.
    s2 = Scram("alice", "secret")
    c.auth(0x19, "SCRAM-SHA-512", s2.first())
    t, _, body = c.recv()
    check_eq((t, body[0]), (AUTH, 0x18), "re-authentication continues")
    pr, _ = parse_props(body, 1)
    c.auth(0x18, "SCRAM-SHA-512", s2.final(pr[0x16]))
    t, _, body = c.recv()
    check_eq((t, body[0] if body else 0), (AUTH, 0), "re-authentication succeeds")
    pr, _ = parse_props(body, 1)
    s2.verify(pr.get(0x16, b""))
    c.close()


def test_scram_wrong_password(b):
    c, _, got = scram_login(b.port, "alice", "wrong")
    check(got is not None, "CONNACK expected, got a close")
    check_eq((got[0], got[2][1]), (CONNACK, 0x87), "wrong SCRAM proof refused with 0x87")
    check(c.recv() is None, "connection closed after the refusal")


def test_unknown_method(b):
    c = Conn(b.port)
    c.connect("m", [(0x15, "s", "KERBEROS"), (0x16, "b", b"x")])
    t, _, body = c.recv()
    check_eq((t, body[1]), (CONNACK, 0x8C), "unknown method: Bad authentication method")


def expect_ack(c, kind, want, what):
    t, _, body = c.recv()
    check_eq(t, kind, what)
    code = body[-1] if kind == SUBACK else (body[2] if len(body) > 2 else 0)
    check_eq(code, want, what)


def test_jwt_claims(b):
    token = jwt_hs256(SETUP["key"], {"sub": "carol", "exp": int(time.time()) + 300,
                                     "publish": ["a/#"], "subscribe": ["a/#"]})
    c = Conn(b.port)
    c.connect("jwt-carol", [], username="", password=token)
    t, _, body = c.recv()
    check_eq((t, body[1]), (CONNACK, 0), "valid JWT accepted")
    c.send(packet(0x82, struct.pack(">H", 1) + props([]) + mqtt_str("a/#") + b"\x01"))
    expect_ack(c, SUBACK, 1, "subscribe inside the claim granted")
    c.send(packet(0x82, struct.pack(">H", 2) + props([]) + mqtt_str("b/#") + b"\x01"))
    expect_ack(c, SUBACK, 0x87, "subscribe outside the claim refused")
    c.send(packet(0x32, mqtt_str("b/x") + struct.pack(">H", 3) + props([]) + b"no"))
    expect_ack(c, PUBACK, 0x87, "publish outside the claim refused")
    c.send(packet(0x32, mqtt_str("a/x") + struct.pack(">H", 4) + props([]) + b"yes"))
    t, _, body = c.recv()
    # Our own a/# subscription gets the message, and the PUBACK says it went.
    seen = {t: body}
    seen.update([c.recv()[::2]])
    check(PUBLISH in seen and seen[PUBLISH].endswith(b"yes"), "publish inside the claim delivered")
    check(PUBACK in seen and len(seen[PUBACK]) <= 3 and (len(seen[PUBACK]) < 3 or
                                                          seen[PUBACK][2] == 0), "PUBACK success")
    c.close()


def test_jwt_bad_tokens(b):
    now = int(time.time())
    for what, token in [
            ("expired", jwt_hs256(SETUP["key"], {"sub": "carol", "exp": now - 60})),
            ("wrong key", jwt_hs256(os.urandom(48), {"sub": "carol", "exp": now + 60})),
            ("alg none", b64url(b'{"alg":"none"}') + "." + b64url(b'{"sub":"x","exp":%d}'
                                                                     % (now + 60)) + ".")]:
        c = Conn(b.port)
        c.connect("jwt-bad", [], username="carol", password=token)
        t, _, body = c.recv()
        # Not a valid token, so it is checked as a password: carol has none.
        check_eq((t, body[1]), (CONNACK, 0x86), "JWT %s refused" % what)


def test_password_still_works(b):
    c = Conn(b.port)
    c.connect("pw", [], username="alice", password="secret")
    t, _, body = c.recv()
    check_eq((t, body[1]), (CONNACK, 0), "password login next to SCRAM and JWT")


def main():
    setup()
    tests = [("scram_ok_and_reauth", test_scram_ok),
             ("scram_wrong_password", test_scram_wrong_password),
             ("unknown_method", test_unknown_method), ("jwt_claims", test_jwt_claims),
             ("jwt_bad_tokens", test_jwt_bad_tokens),
             ("password_still_works", test_password_still_works)]
    run_tests("enhanced authentication and JWT", tests, conf=SETUP["conf"])


if __name__ == "__main__":
    main()
