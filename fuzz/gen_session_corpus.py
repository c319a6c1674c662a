#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_session (fuzz/corpus/session/): a few valid client sessions
against the in-memory broker, laid out byte by byte from the MQTT 3.1.1 and 5.0 specs (nothing
from src/codec). Format (see fuzz_session.c): byte 0 = configuration (bits 0-1) and read chunk
(bits 2-3); then records `H LEN BYTES`, H bits 0-1 the client slot, bits 2-3 the action
(0 write + run, 1 write, 2 write + close, 3 run).

    python3 fuzz/gen_session_corpus.py            # from the repository root
"""
import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "session")


def varint(n):
    out = bytearray()
    while True:
        b, n = n % 128, n // 128
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def s(text):
    data = text.encode()
    return struct.pack(">H", len(data)) + data


def packet(first, body):
    return bytes([first]) + varint(len(body)) + body


def props(body=b""):
    return varint(len(body)) + body


def connect(cid, v=4, flags=0x02, extra=b"", cprops=b"", will=b""):
    body = s("MQTT") + bytes([v, flags]) + struct.pack(">H", 60)
    if v == 5:
        body += props(cprops)
    return packet(0x10, body + s(cid) + will + extra)


def subscribe(pid, filt, opts, v=4):
    return packet(0x82, struct.pack(">H", pid) + (props() if v == 5 else b"") + s(filt) +
                  bytes([opts]))


def publish(topic, payload, qos=0, pid=0, retain=0, v=4, pprops=b""):
    body = s(topic) + (struct.pack(">H", pid) if qos else b"") + (props(pprops) if v == 5 else b"")
    return packet(0x30 | qos << 1 | retain, body + payload)


def ack(t, pid):
    return packet(t << 4 | (2 if t == 6 else 0), struct.pack(">H", pid))


def rec(slot, data, action=0):
    out = b""
    while True:
        part, data = data[:255], data[255:]
        out += bytes([slot | action << 2, len(part)]) + part
        if not data:
            return out


SEEDS = {
    # QoS 0/1/2 between two v3.1.1 clients, acknowledgements included.
    "qos_v311": bytes([0]) + rec(0, connect("sub")) + rec(0, subscribe(1, "t/#", 2)) +
    rec(1, connect("pub")) + rec(1, publish("t/a", b"x")) +
    rec(1, publish("t/b", b"y", 1, 7)) + rec(0, ack(4, 1)) +
    rec(1, publish("t/c", b"z", 2, 9)) + rec(1, ack(6, 9)) + rec(0, ack(5, 2)) +
    rec(0, ack(7, 2)),
    # The same on two workers with byte-by-byte reads.
    "qos_two_workers_chunk1": bytes([1 | 1 << 2]) + rec(0, connect("sub")) +
    rec(0, subscribe(1, "t/#", 2)) + rec(1, connect("pub")) +
    rec(1, publish("t/c", b"z", 2, 9)) + rec(1, ack(6, 9)) + rec(0, ack(5, 1)) +
    rec(0, ack(7, 1)),
    # v5: properties, retained message, Request Response Information, a will on close.
    "v5_retain_will": bytes([3]) +
    rec(0, connect("a", 5, 0x02, cprops=b"\x19\x01\x11\x00\x00\x00\x0a")) +
    rec(0, publish("r/1", b"kept", 1, 3, 1, 5, b"\x01\x01")) +
    rec(1, connect("b", 5, 0x02 | 0x04 | 0x08, will=props() + s("w/t") + s("bye"))) +
    rec(0, subscribe(2, "#", 1, 5)) + rec(1, b"", 2) + rec(0, ack(4, 1)),
    # Session takeover with the same client id and a queued message.
    "takeover": bytes([1]) + rec(0, connect("same", 4, 0x00)) +
    rec(0, subscribe(1, "q", 1)) + rec(2, connect("pub")) + rec(2, publish("q", b"m", 1, 1)) +
    rec(1, connect("same", 4, 0x00)) + rec(1, ack(4, 1)),
    # Tight limits: too large a packet, an alias, QoS 2 refused by max_qos 1.
    "limits": bytes([2]) + rec(0, connect("l", 5, 0x02)) +
    rec(0, publish("t", b"p" * 300, 0, 0, 0, 5)) + rec(1, connect("m", 5)) +
    rec(1, publish("t/alias", b"1", 0, 0, 0, 5, b"\x23\x00\x01")) +
    rec(1, publish("", b"2", 0, 0, 0, 5, b"\x23\x00\x01")) + rec(1, publish("t", b"3", 2, 4, 0, 5)),
    # Unsubscribe, ping and a clean disconnect.
    "ping_unsub_disconnect": bytes([0]) + rec(0, connect("p")) + rec(0, subscribe(1, "a/+", 0)) +
    rec(0, packet(0xA2, struct.pack(">H", 2) + s("a/+"))) + rec(0, packet(0xC0, b"")) +
    rec(0, packet(0xE0, b"")),
}


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
