"""Helpers of test_persistence.py: a minimal raw-socket MQTT 3.1.1 / 5.0 client that lets a test
decide every acknowledgement itself, and a ternd controller that restarts the broker on the SAME
port with the same store (SIGKILL or SIGTERM).

The client encodes only what the persistence tests need (CONNECT, SUBSCRIBE, PUBLISH, the four
acknowledgements, DISCONNECT) and never acknowledges anything on its own.
"""

import os
import signal
import socket
import struct
import subprocess
import tempfile
import time

import harness
from harness import READY_TIMEOUT, STOP_TIMEOUT, WAIT, TestFailure, check

V3, V5 = 4, 5  # protocol levels: MQTT 3.1.1 and 5.0

CONNECT, CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP = 1, 2, 3, 4, 5, 6, 7
SUBSCRIBE, SUBACK, DISCONNECT = 8, 9, 14
NAMES = {1: "CONNECT", 2: "CONNACK", 3: "PUBLISH", 4: "PUBACK", 5: "PUBREC", 6: "PUBREL",
         7: "PUBCOMP", 8: "SUBSCRIBE", 9: "SUBACK", 12: "PINGREQ", 13: "PINGRESP",
         14: "DISCONNECT"}


def varint(n):
    out = bytearray()
    while True:
        b = n % 128
        n //= 128
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def mqtt_str(s):
    b = s.encode() if isinstance(s, str) else s
    return struct.pack(">H", len(b)) + b


def packet(first, body):
    return bytes([first]) + varint(len(body)) + body


class Packet:
    """One received packet, decoded enough for the tests."""

    def __init__(self, first, body, version):
        self.type = first >> 4
        self.flags = first & 15
        self.body = body
        self.pid = None
        self.reason = 0
        if self.type == PUBLISH:
            self.dup = bool(first & 8)
            self.qos = (first >> 1) & 3
            self.retain = bool(first & 1)
            n = struct.unpack(">H", body[:2])[0]
            self.topic = body[2:2 + n].decode()
            i = 2 + n
            if self.qos:
                self.pid = struct.unpack(">H", body[i:i + 2])[0]
                i += 2
            if version == V5:
                plen, i = read_varint(body, i)
                i += plen
            self.payload = body[i:]
        elif self.type in (PUBACK, PUBREC, PUBREL, PUBCOMP):
            self.pid = struct.unpack(">H", body[:2])[0]
            self.reason = body[2] if len(body) > 2 else 0
        elif self.type == CONNACK:
            self.session_present = bool(body[0] & 1)
            self.reason = body[1]
        elif self.type == SUBACK:
            self.pid = struct.unpack(">H", body[:2])[0]
            i = 2
            if version == V5:
                plen, i = read_varint(body, 2)
                i += plen
            self.codes = list(body[i:])

    def __repr__(self):
        if self.type == PUBLISH:
            return "PUBLISH(topic=%s qos=%d dup=%d retain=%d pid=%s payload=%r)" % (
                self.topic, self.qos, self.dup, self.retain, self.pid, self.payload)
        return "%s(pid=%s reason=0x%02x)" % (NAMES.get(self.type, self.type), self.pid,
                                              self.reason)


def read_varint(b, i):
    n = mult = 0
    while True:
        n += (b[i] & 0x7F) << (7 * mult)
        mult += 1
        i += 1
        if not b[i - 1] & 0x80:
            return n, i


class Client:
    """One MQTT connection over a raw socket. recv() returns the next Packet, None at EOF."""

    def __init__(self, port, client_id, version=V3, clean=True, expiry=None, receive_max=None):
        self.version = version
        self.client_id = client_id
        self.buf = b""
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
        flags = 0x02 if clean else 0
        props = b""
        if version == V5:
            if expiry is not None:
                props += b"\x11" + struct.pack(">I", expiry)
            if receive_max is not None:
                props += b"\x21" + struct.pack(">H", receive_max)
            props = varint(len(props)) + props
        body = mqtt_str("MQTT") + bytes([version, flags]) + struct.pack(">H", 60) + props
        self.send(packet(0x10, body + mqtt_str(client_id)))
        p = self.recv(what="CONNACK")
        check(p is not None and p.type == CONNACK,
              "%s: expected CONNACK, got %r" % (client_id, p))
        check(p.reason == 0, "%s: CONNACK refused with 0x%02x" % (client_id, p.reason))
        self.session_present = p.session_present

    def send(self, data):
        self.sock.sendall(data)

    def recv(self, timeout=WAIT, what="a packet"):
        """Next packet; None at EOF or reset; TestFailure after timeout seconds."""
        deadline = time.monotonic() + timeout
        while True:
            p = self._parse()
            if p:
                return p
            left = deadline - time.monotonic()
            if left <= 0:
                raise TestFailure("%s: timed out after %.1f s waiting for %s"
                                  % (self.client_id, timeout, what))
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except (ConnectionResetError, BrokenPipeError):
                return None
            if not data:
                return None
            self.buf += data

    def try_recv(self, timeout):
        """Like recv but returns False when nothing arrives within timeout (absence checks)."""
        try:
            return self.recv(timeout)
        except TestFailure:
            return False

    def _parse(self):
        b = self.buf
        if len(b) < 2:
            return None
        n = mult = 0
        i = 1
        while True:
            if i >= len(b):
                return None
            n += (b[i] & 0x7F) << (7 * mult)
            mult += 1
            i += 1
            if not b[i - 1] & 0x80:
                break
        if len(b) < i + n:
            return None
        self.buf = b[i + n:]
        return Packet(b[0], b[i:i + n], self.version)

    def expect(self, ptype, timeout=WAIT):
        p = self.recv(timeout, what=NAMES[ptype])
        check(p is not None and p.type == ptype,
              "%s: expected %s, got %r" % (self.client_id, NAMES[ptype], p))
        return p

    def send_subscribe(self, pid, filters):
        """Sends a SUBSCRIBE (filters: list of (filter, qos)) without waiting for the SUBACK."""
        body = struct.pack(">H", pid) + (b"\x00" if self.version == V5 else b"")
        for f, q in filters:
            body += mqtt_str(f) + bytes([q])
        self.send(packet(0x82, body))

    def subscribe(self, pid, filters):
        """filters: list of (filter, qos); returns the SUBACK codes."""
        self.send_subscribe(pid, filters)
        p = self.expect(SUBACK)
        check(p.pid == pid, "SUBACK for %d, expected %d" % (p.pid, pid))
        check(all(c < 0x80 for c in p.codes), "SUBSCRIBE %r refused: %r" % (filters, p.codes))
        return p.codes

    def publish(self, topic, payload, qos=0, pid=None, retain=False, dup=False):
        body = mqtt_str(topic)
        if qos:
            body += struct.pack(">H", pid)
        if self.version == V5:
            body += b"\x00"
        body += payload
        self.send(packet(0x30 | (8 if dup else 0) | (qos << 1) | (1 if retain else 0), body))

    def ack(self, ptype, pid):
        self.send(packet((ptype << 4) | (2 if ptype == PUBREL else 0), struct.pack(">H", pid)))

    def disconnect(self):
        try:
            self.send(packet(0xE0, b"\x00" if self.version == V5 else b""))
        except OSError:
            pass
        self.close()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def publish_acked(c, topic, payload, qos, pid, retain=False):
    """Publishes and completes the QoS 1/2 exchange; fails unless the broker accepted it."""
    c.publish(topic, payload, qos, pid, retain)
    if qos == 1:
        p = c.expect(PUBACK)
    else:
        p = c.expect(PUBREC)
        check(p.reason < 0x80, "PUBREC %d refused: %r" % (pid, p))
        c.ack(PUBREL, pid)
        p = c.expect(PUBCOMP)
    check(p.pid == pid and p.reason < 0x80, "publish %d: bad acknowledgement %r" % (pid, p))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Ternd:
    """ternd with persistence on a fixed port, so clients reconnect to the same address after a
    restart. Every start gets its own log file; the store directory stays."""

    def __init__(self, ternd, root, fsync="always", extra="", location=None):
        self.ternd = ternd
        self.dir = tempfile.mkdtemp(prefix="broker-", dir=root)
        self.store = location or os.path.join(self.dir, "store")
        if location is None:
            os.mkdir(self.store)
        self.port = free_port()
        # `user root`: tests run as whoever started them; ternd started as root would otherwise
        # drop to the `mosquitto` user, which cannot write this root-owned temporary directory.
        self.conf = ("user root\nlistener %d 127.0.0.1\nallow_anonymous true\npersistence true\n"
                     "persistence_location %s\npersistence_fsync %s\n%s"
                     % (self.port, self.store, fsync, extra))
        self.proc = None
        self.killed = False
        self.logs = []

    @property
    def db(self):
        return os.path.join(self.store, "tern.db")

    def start(self):
        n = len(self.logs) + 1
        conf = os.path.join(self.dir, "ternd.conf")
        ready = os.path.join(self.dir, "ready-%d" % n)
        with open(conf, "w") as f:
            f.write(self.conf)
        self.logs.append(os.path.join(self.dir, "ternd-%d.log" % n))
        self.killed = False
        with open(self.logs[-1], "wb") as log:
            self.proc = subprocess.Popen([self.ternd, "-c", conf, "--ready-file", ready],
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        deadline = time.monotonic() + READY_TIMEOUT
        while not os.path.exists(ready):  # written atomically once every listener is bound
            if self.proc.poll() is not None:
                raise TestFailure("ternd exited with %d before it was ready:\n%s"
                                  % (self.proc.returncode, self.log_tail()))
            if time.monotonic() > deadline:
                self.kill()
                raise TestFailure("ternd not ready within %.0f s:\n%s"
                                  % (READY_TIMEOUT, self.log_tail()))
            time.sleep(0.01)
        with open(ready) as f:
            words = f.readline().split()
        check(words == ["mqtt", "127.0.0.1", str(self.port)], "ready file says %r" % words)
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def status(self):
        if self.proc is None:
            return "not running"
        rc = self.proc.poll()
        return "running" if rc is None else "DIED with status %d" % rc

    def crash(self):
        """SIGKILL now, from any thread: the crash under test."""
        self.killed = True
        self.proc.send_signal(signal.SIGKILL)

    def kill(self):
        """SIGKILL (unless crash() already sent it) and reap; fails if ternd had died by
        itself."""
        if self.proc is None:
            return
        died = None if self.killed else self.proc.poll()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.proc = None
        self._check_sanitizer()
        check(died is None, "ternd had DIED by itself with status %s:\n%s"
              % (died, self.log_tail()))

    def close(self):
        """Kills ternd, if running, without any check (cleanup after a failure)."""
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
            self.proc = None

    def stop(self):
        """SIGTERM; fails unless ternd exits 0 within STOP_TIMEOUT."""
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.kill()
            raise TestFailure("ternd did not exit within %.0f s of SIGTERM" % STOP_TIMEOUT)
        rc, self.proc = self.proc.returncode, None
        self._check_sanitizer()
        check(rc == 0, "ternd exited with %d after SIGTERM:\n%s" % (rc, self.log_tail()))

    def restart_after_kill(self):
        self.kill()
        return self.start()

    def log(self, i=-1):
        try:
            with open(self.logs[i], "rb") as f:
                return f.read().decode("utf-8", "replace")
        except (OSError, IndexError):
            return ""

    def log_tail(self, n=30, i=-1):
        return "\n".join(self.log(i).splitlines()[-n:])

    def _check_sanitizer(self):
        text = self.log()
        for mark in harness.SANITIZER_MARKS:
            j = text.find(mark)
            if j >= 0:
                raise TestFailure("sanitizer report in %s:\n%s"
                                  % (self.logs[-1], text[max(0, j - 200):j + 3000]))
