#!/usr/bin/env python3
"""Writes the hand-made seed corpus for fuzz_decode and fuzz_topic.

Packets are laid out byte by byte from the MQTT 3.1.1 and 5.0 specs here; nothing comes from
src/codec. Each decode seed starts with the selector byte fuzz_decode.c reads (bits 0-1:
0 = v3.1.1, 1 = v5, 2 = v3.1; bits 2-4: maximum packet size index, 0 = default). Only the
named seeds are (re)written; files added by `-merge=1` are left alone.

    python3 fuzz/gen_corpus.py            # from the repository root
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
V311, V5, V31 = 0, 1, 2


def varint(n):
    out = bytearray()
    while True:
        b = n % 128
        n //= 128
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def u16(n):
    return struct.pack(">H", n)


def u32(n):
    return struct.pack(">I", n)


def s(text):
    data = text.encode() if isinstance(text, str) else text
    return u16(len(data)) + data


def packet(first, body):
    return bytes([first]) + varint(len(body)) + body


def props(*items):
    body = b"".join(items)
    return varint(len(body)) + body


# One v5 property each: id byte then the value in its wire type.
def p_byte(pid, v):
    return bytes([pid, v])


def p_u16(pid, v):
    return bytes([pid]) + u16(v)


def p_u32(pid, v):
    return bytes([pid]) + u32(v)


def p_str(pid, v):
    return bytes([pid]) + s(v)


def p_varint(pid, v):
    return bytes([pid]) + varint(v)


def p_user(k, v):
    return bytes([0x26]) + s(k) + s(v)


def connect(level, flags, keep_alive, payload, prop_block=b"", name="MQTT"):
    return packet(0x10, s(name) + bytes([level, flags]) + u16(keep_alive) + prop_block + payload)


def decode_seeds():
    seeds = {}
    # ---- MQTT 3.1 / 3.1.1 ----
    seeds["v31_connect"] = (V31, connect(3, 0x02, 60, s("client-31"), name="MQIsdp"))
    seeds["v311_connect_min"] = (V311, connect(4, 0x02, 60, s("")))
    seeds["v311_connect_full"] = (V311, connect(
        4, 0x02 | 0x04 | 0x08 | 0x20 | 0x40 | 0x80, 30,
        s("c1") + s("will/topic") + s(b"bye") + s("user") + s(b"pass")))
    seeds["v311_connack"] = (V311, packet(0x20, bytes([0x01, 0x00])))
    seeds["v311_connack_refused"] = (V311, packet(0x20, bytes([0x00, 0x05])))
    seeds["v311_publish_q0"] = (V311, packet(0x30, s("a/b") + b"hello"))
    seeds["v311_publish_q1_retain"] = (V311, packet(0x33, s("a/b/c") + u16(7) + b"x"))
    seeds["v311_publish_q2_dup"] = (V311, packet(0x3C, s("sensors/1") + u16(65535) + b""))
    seeds["v311_publish_utf8"] = (V311, packet(0x30, s("caf\u00e9/\u6f22") + b"\x00\xff"))
    seeds["v311_puback"] = (V311, packet(0x40, u16(1)))
    seeds["v311_pubrec"] = (V311, packet(0x50, u16(2)))
    seeds["v311_pubrel"] = (V311, packet(0x62, u16(3)))
    seeds["v311_pubcomp"] = (V311, packet(0x70, u16(4)))
    seeds["v311_subscribe"] = (V311, packet(
        0x82, u16(10) + s("a/+/c") + b"\x00" + s("#") + b"\x01" + s("$SYS/#") + b"\x02"))
    seeds["v311_suback"] = (V311, packet(0x90, u16(10) + bytes([0, 1, 2, 0x80])))
    seeds["v311_unsubscribe"] = (V311, packet(0xA2, u16(11) + s("a/+/c") + s("#")))
    seeds["v311_unsuback"] = (V311, packet(0xB0, u16(11)))
    seeds["v311_pingreq"] = (V311, packet(0xC0, b""))
    seeds["v311_pingresp"] = (V311, packet(0xD0, b""))
    seeds["v311_disconnect"] = (V311, packet(0xE0, b""))
    seeds["v311_session"] = (V311, connect(4, 0x02, 10, s("s")) +
                             packet(0x82, u16(1) + s("t/#") + b"\x01") +
                             packet(0x32, s("t/x") + u16(2) + b"data") +
                             packet(0x40, u16(2)) + packet(0xC0, b"") + packet(0xE0, b""))
    # ---- MQTT 5.0 ----
    will = props(p_u32(0x18, 5), p_byte(0x01, 1), p_u32(0x02, 60), p_str(0x03, "text/plain"),
                 p_str(0x08, "resp/t"), p_str(0x09, b"\x01\x02"), p_user("wk", "wv"))
    seeds["v5_connect_min"] = (V5, connect(5, 0x02, 60, s(""), props()))
    seeds["v5_connect_full"] = (V5, connect(
        5, 0x02 | 0x04 | 0x08 | 0x20 | 0x40 | 0x80, 30,
        s("c5") + will + s("will/t") + s(b"w") + s("u") + s(b"p"),
        props(p_u32(0x11, 3600), p_u16(0x21, 20), p_u32(0x27, 1 << 20), p_u16(0x22, 10),
              p_byte(0x19, 1), p_byte(0x17, 0), p_user("k", "v"), p_user("k", "v2"),
              p_str(0x15, "SCRAM-SHA-1"), p_str(0x16, b"\x00\x01"))))
    seeds["v5_connack"] = (V5, packet(0x20, bytes([0x00, 0x00]) + props(
        p_u32(0x11, 60), p_u16(0x21, 100), p_byte(0x24, 1), p_byte(0x25, 1),
        p_u32(0x27, 65536), p_str(0x12, "auto-1"), p_u16(0x22, 5), p_str(0x1F, "ok"),
        p_user("a", "b"), p_byte(0x28, 1), p_byte(0x29, 1), p_byte(0x2A, 0),
        p_u16(0x13, 30), p_str(0x1A, "info"), p_str(0x1C, "other:1883"),
        p_str(0x15, "m"), p_str(0x16, b"d"))))
    seeds["v5_connack_refused"] = (V5, packet(0x20, bytes([0x00, 0x87]) + props()))
    seeds["v5_publish_q0"] = (V5, packet(0x30, s("a/b") + props() + b"hi"))
    seeds["v5_publish_props"] = (V5, packet(0x3B, s("a/b") + u16(9) + props(
        p_byte(0x01, 1), p_u32(0x02, 10), p_str(0x03, "json"), p_str(0x08, "r/t"),
        p_str(0x09, b"\xde\xad"), p_varint(0x0B, 1), p_varint(0x0B, 268435455),
        p_u16(0x23, 3), p_user("x", "y")) + b"{}"))
    seeds["v5_publish_alias_only"] = (V5, packet(0x34, s("") + u16(5) + props(p_u16(0x23, 1)) +
                                                 b"p"))
    seeds["v5_puback_short"] = (V5, packet(0x40, u16(1)))
    seeds["v5_puback_reason"] = (V5, packet(0x40, u16(1) + b"\x10"))
    seeds["v5_pubrec_props"] = (V5, packet(0x50, u16(2) + b"\x80" + props(
        p_str(0x1F, "no"), p_user("u", "v"))))
    seeds["v5_pubrel"] = (V5, packet(0x62, u16(3) + b"\x92" + props()))
    seeds["v5_pubcomp"] = (V5, packet(0x70, u16(4) + b"\x00" + props(p_str(0x1F, "done"))))
    seeds["v5_subscribe"] = (V5, packet(0x82, u16(20) + props(p_varint(0x0B, 42), p_user("s", "1"))
                                        + s("a/+") + b"\x2e" + s("$share/g/x/#") + b"\x01" +
                                        s("#") + b"\x00"))
    seeds["v5_suback"] = (V5, packet(0x90, u16(20) + props(p_str(0x1F, "r")) +
                                     bytes([0, 1, 2, 0x80, 0x8F, 0xA2])))
    seeds["v5_unsubscribe"] = (V5, packet(0xA2, u16(21) + props(p_user("k", "v")) + s("a/+") +
                                          s("$share/g/x")))
    seeds["v5_unsuback"] = (V5, packet(0xB0, u16(21) + props(p_str(0x1F, "r")) +
                                       bytes([0x00, 0x11])))
    seeds["v5_pingreq"] = (V5, packet(0xC0, b""))
    seeds["v5_disconnect_short"] = (V5, packet(0xE0, b""))
    seeds["v5_disconnect_props"] = (V5, packet(0xE0, b"\x04" + props(
        p_u32(0x11, 0), p_str(0x1F, "bye"), p_user("a", "b"), p_str(0x1C, "srv"))))
    seeds["v5_auth"] = (V5, packet(0xF0, b"\x18" + props(
        p_str(0x15, "SCRAM-SHA-1"), p_str(0x16, b"\x01\x02\x03"), p_str(0x1F, "cont"))))
    seeds["v5_auth_short"] = (V5, packet(0xF0, b""))
    seeds["v5_session"] = (V5, connect(5, 0x02, 10, s("s"), props(p_u32(0x11, 10))) +
                           packet(0x82, u16(1) + props(p_varint(0x0B, 7)) + s("t/#") + b"\x01") +
                           packet(0x32, s("t/x") + u16(2) + props(p_varint(0x0B, 7)) + b"d") +
                           packet(0x40, u16(2) + b"\x00" + props()) + packet(0xE0, b"\x00"))
    # ---- deliberately broken or limited input ----
    seeds["bad_varint_nonminimal"] = (V311, b"\xc0\x80\x00")
    seeds["bad_varint_5bytes"] = (V311, b"\x30\xff\xff\xff\xff\x7f")
    seeds["bad_reserved_flags"] = (V311, packet(0x81, u16(1) + s("a") + b"\x00"))
    seeds["bad_publish_q3"] = (V311, packet(0x36, s("a") + u16(1)))
    seeds["bad_publish_wildcard"] = (V5, packet(0x30, s("a/+") + props()))
    seeds["bad_protocol_level"] = (V311, connect(6, 0x02, 60, s("x")))
    seeds["bad_utf8_topic"] = (V311, packet(0x30, s(b"a\xc0\x80") + b"x"))
    seeds["bad_dup_prop"] = (V5, packet(0x30, s("a") + props(p_byte(0x01, 0), p_byte(0x01, 1))))
    seeds["truncated_connect"] = (V5, connect(5, 0x02, 60, s("cid"), props())[:-3])
    seeds["too_large_v5"] = (V5 | (4 << 2), packet(0x30, s("a/b") + props() + b"x" * 40))
    return seeds


TOPIC_SEEDS = {
    "exact": b"a/b/c\x00a/b/c",
    "hash": b"#\x00a/b",
    "hash_dollar": b"#\x00$SYS/broker/load",
    "plus_dollar": b"+/broker\x00$SYS/broker",
    "sys_hash": b"$SYS/#\x00$SYS",
    "plus_plus": b"+/+\x00/finance",
    "plus_single": b"+\x00finance",
    "parent_level": b"sport/tennis/#\x00sport/tennis",
    "plus_no_parent": b"sport/+\x00sport",
    "empty_levels": b"//+/\x00///",
    "shared": b"$share/group/a/+\x00a/b",
    "shared_empty_group": b"$share//a\x00a",
    "shared_no_filter": b"$share/g/\x00x",
    "shared_wild_group": b"$share/g+/a\x00a",
    "shared_nested": b"$share/g/$share/h/x\x00x",
    "shared_noslash": b"$share/g\x00g",
    "hash_middle": b"a/#/b\x00a/x/b",
    "plus_partial": b"a+/b\x00a+/b",
    "hash_partial": b"a/b#\x00a/b",
    "utf8": "caf\u00e9/+/\U0001F600\x00caf\u00e9/x/\U0001F600".encode(),
    "utf8_overlong": b"a/\xc0\xaf\x00a/b",
    "utf8_surrogate": b"\xed\xa0\x80\x00x",
    "utf8_too_big": b"\xf4\x90\x80\x80\x00x",
    "utf8_truncated": b"a\xe2\x82\x00a",
    "control_chars": b"a\x01b\x00a\x7fb",
    "noncharacter": b"\xef\xbf\xbf\x00\xef\xb7\x90",
    "no_separator": b"some/topic/name",
    "no_separator_wild": b"some/+/name/#",
    "empty_filter": b"\x00topic",
    "empty_topic": b"a\x00",
    "empty": b"",
    "slash": b"/\x00/",
    "dollar_exact": b"$SYS/x\x00$SYS/x",
    "dollar_plain": b"$\x00$",
    "hash_only_level": b"/#\x00/",
    "many_levels": b"+/+/+/+/+/+/+/#\x00a/b/c/d/e/f/g/h/i",
    "bom": b"\xef\xbb\xbfa\x00\xef\xbb\xbfa",
}


def write(dirname, name, data):
    path = os.path.join(HERE, "corpus", dirname, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def main():
    for name, (selector, data) in decode_seeds().items():
        write("decode", name, bytes([selector]) + data)
    for name, data in TOPIC_SEEDS.items():
        write("topic", name, data)


if __name__ == "__main__":
    main()
