#!/usr/bin/python3
"""Interop test: Debian's mosquitto_pub / mosquitto_sub (MQTT 3.1.1 and 5.0) against ternd.

Covers QoS 0/1/2 delivery and downgrade, retained set/replace/delete, wills on SIGKILL (and none
on a clean DISCONNECT), persistent sessions, v5 properties forwarded (checked with -F), $SYS.
Subscriber readiness is the "received SUBACK" line of mosquitto_sub -d, never a sleep.
"""

import os
import shutil
import signal
import subprocess
import sys

sys.dont_write_bytecode = True  # Keep __pycache__ out of the source tree.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import QUIET, WAIT, TestFailure, check, check_eq, unique  # noqa: E402

FMT = "MSG|%t|%q|%r|%p"
FMT_PROPS = "MSG|%t|%q|%r|%p|P=%P|C=%C|R=%R|D=%D|E=%E"
VERSIONS = ("mqttv311", "mqttv5")


class Sub:
    """A running mosquitto_sub -d whose output lines are read by a thread."""

    def __init__(self, broker, version, topics, opts=(), fmt=FMT, wait_suback=True):
        argv = ["stdbuf", "-oL", "mosquitto_sub", "-d", "-h", broker.host, "-p",
                str(broker.port), "-V", version, "-F", fmt]
        for t in topics:
            argv += ["-t", t]
        argv += list(opts)
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        self.out = harness.LineReader(self.proc.stdout)
        if wait_suback:
            self.out.expect(lambda s: "received SUBACK" in s, what="SUBACK")

    def msg(self, timeout=WAIT):
        """Next delivered message as a list of the -F fields after 'MSG'."""
        line = self.out.expect(lambda s: s.startswith("MSG|"), timeout, "a message")
        return line.split("|")[1:]

    def no_msg(self, timeout=QUIET):
        """Short bounded wait showing that no message arrives (absence is the behaviour)."""
        try:
            line = self.out.expect(lambda s: s.startswith("MSG|"), timeout, "a message")
        except TestFailure:
            return
        raise TestFailure("unexpected message %r" % line)

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(WAIT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    def wait_exit(self):
        try:
            return self.proc.wait(WAIT)
        except subprocess.TimeoutExpired:
            raise TestFailure("mosquitto_sub did not exit; output:\n" + "\n".join(self.out.lines))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop(signal.SIGKILL)


def pub(broker, version, topic, payload, *opts):
    """Runs mosquitto_pub -d to completion; returns its output. Fails on a non-zero status."""
    argv = ["mosquitto_pub", "-d", "-h", broker.host, "-p", str(broker.port), "-V", version,
            "-t", topic]
    argv += ["-n"] if payload is None else ["-m", payload]
    argv += list(opts)
    try:
        r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=WAIT)
    except subprocess.TimeoutExpired:
        raise TestFailure("mosquitto_pub %s timed out" % " ".join(argv[1:]))
    out = r.stdout.decode("utf-8", "replace")
    check(r.returncode == 0, "mosquitto_pub %s exited %d:\n%s" % (" ".join(argv[1:]),
                                                                  r.returncode, out))
    return out


def t_qos(version, qos):
    def run(b):
        topic = unique("mq/qos%d" % qos)
        payload = "payload-%s-q%d" % (version, qos)
        with Sub(b, version, [topic], ["-q", str(qos)]) as s:
            out = pub(b, version, topic, payload, "-q", str(qos))
            # The publisher's handshake: [MQTT-4.3.2-1] PUBACK, [MQTT-4.3.3-1] PUBREC/PUBCOMP.
            if qos == 1:
                check("received PUBACK" in out, "QoS 1 publisher got no PUBACK:\n" + out)
            if qos == 2:
                check("received PUBREC" in out and "received PUBCOMP" in out,
                      "QoS 2 publisher got no PUBREC/PUBCOMP:\n" + out)
            check_eq(s.msg(), [topic, str(qos), "0", payload], "delivered message")
            s.no_msg()  # Delivered exactly once, also at QoS 2.
    return run


def t_qos_downgrade(version):
    def run(b):
        # 5.0 [MQTT-3.8.4-8]: delivered QoS = min(published QoS, granted QoS).
        topic = unique("mq/down")
        with Sub(b, version, [topic], ["-q", "0"]) as s0, \
                Sub(b, version, [topic], ["-q", "2"]) as s2:
            pub(b, version, topic, "two", "-q", "2")
            check_eq(s0.msg(), [topic, "0", "0", "two"], "QoS 0 subscriber")
            check_eq(s2.msg(), [topic, "2", "0", "two"], "QoS 2 subscriber")
            pub(b, version, topic, "one", "-q", "1")
            check_eq(s2.msg(), [topic, "1", "0", "one"], "QoS 2 subscriber, QoS 1 message")
    return run


def first_after_marker(b, version, topic):
    """Subscribes to topic, then publishes a live marker there; returns the first message seen.
    A retained message is sent on subscribe, so it would arrive before the marker."""
    with Sub(b, version, [topic], ["-q", "1"]) as s:
        pub(b, version, topic, "marker", "-q", "1")
        return s.msg()


def t_retained(version):
    def run(b):
        topic = unique("mq/ret")
        pub(b, version, topic, "first", "-r", "-q", "1")
        with Sub(b, version, [topic], ["-q", "1", "-C", "1"]) as s:
            # 3.1.1 [MQTT-3.3.1-8]: retained message sent on subscribe with RETAIN 1.
            check_eq(s.msg(), [topic, "1", "1", "first"], "retained message")
        pub(b, version, topic, "second", "-r", "-q", "0")
        with Sub(b, version, [topic], ["-q", "1"]) as s:
            # [MQTT-3.3.1-5]: a new retained message replaces the old one.
            check_eq(s.msg(), [topic, "0", "1", "second"], "replaced retained message")
            s.no_msg()
        # 3.1.1 [MQTT-3.3.1-10], 5.0 [MQTT-3.3.1-6]: an empty retained payload deletes it.
        pub(b, version, topic, None, "-r", "-q", "1")
        check_eq(first_after_marker(b, version, topic), [topic, "1", "0", "marker"],
                 "first message after deleting the retained message")
    return run


def t_will(version):
    def run(b):
        wtopic = unique("mq/will")
        with Sub(b, version, [wtopic], ["-q", "1"]) as obs:
            with Sub(b, version, [unique("mq/idle")],
                     ["-i", unique("will-client"), "--will-topic", wtopic,
                      "--will-payload", "gone", "--will-qos", "1"]) as victim:
                victim.stop(signal.SIGKILL)
            # [MQTT-3.1.2-8]: the will is published when the connection closes without
            # DISCONNECT.
            check_eq(obs.msg(), [wtopic, "1", "0", "gone"], "will message")
    return run


def t_no_will_on_disconnect(version):
    def run(b):
        wtopic = unique("mq/nowill")
        with Sub(b, version, [wtopic], ["-q", "1"]) as obs:
            # -E: mosquitto_sub disconnects with DISCONNECT (reason 0x00 in v5) after SUBACK.
            # (Its SIGTERM handler is not used: in v5 it sends reason 0x04, "with will".)
            with Sub(b, version, [unique("mq/idle")],
                     ["-E", "-i", unique("nowill-client"), "--will-topic", wtopic,
                      "--will-payload", "gone", "--will-qos", "1"]) as client:
                check_eq(client.wait_exit(), 0, "mosquitto_sub -E exit status")
            # [MQTT-3.1.2-10] / [MQTT-3.14.4-3]: the will is removed on a normal DISCONNECT,
            # never published. The marker comes after the close, so a will would come first.
            pub(b, version, wtopic, "marker", "-q", "1")
            check_eq(obs.msg(), [wtopic, "1", "0", "marker"], "first message after DISCONNECT")
    return run


def t_will_retained(version):
    def run(b):
        wtopic = unique("mq/willret")
        with Sub(b, version, [wtopic], ["-q", "1"]) as obs:
            with Sub(b, version, [unique("mq/idle")],
                     ["--will-topic", wtopic, "--will-payload", "last", "--will-qos", "1",
                      "--will-retain"]) as victim:
                victim.stop(signal.SIGKILL)
            obs.msg()
        with Sub(b, version, [wtopic], ["-q", "1", "-C", "1"]) as s:
            # [MQTT-3.1.2-17]: Will Retain 1 publishes the will as a retained message.
            check_eq(s.msg(), [wtopic, "1", "1", "last"], "retained will")
        pub(b, version, wtopic, None, "-r")
    return run


def t_persistent(version):
    def run(b):
        topic = unique("mq/persist")
        cid = unique("persist")
        opts = ["-c", "-i", cid, "-q", "1"]
        if version == "mqttv5":
            opts += ["-x", "600"]  # v5: the session outlives the connection for 600 s.
        # -E: subscribe, then DISCONNECT normally; the session stays.
        with Sub(b, version, [topic], opts + ["-E"]) as s:
            check_eq(s.wait_exit(), 0, "mosquitto_sub -E exit status")
        pub(b, version, topic, "queued-1", "-q", "1")
        pub(b, version, topic, "queued-2", "-q", "2")
        pub(b, version, topic, "dropped-qos0", "-q", "0")
        # [MQTT-3.1.2-5]: QoS 1 and 2 messages are stored for the disconnected session and
        # delivered on reconnect. (QoS 0 may be dropped; it is sent last so it cannot hide
        # anything.)
        with Sub(b, version, [topic], opts + ["-C", "2"], wait_suback=False) as s:
            got = [s.msg()[3], s.msg()[3]]
            check_eq(got, ["queued-1", "queued-2"], "queued messages after reconnect")
            check_eq(s.wait_exit(), 0, "mosquitto_sub exit status")
        # End the session: a clean connect discards it [MQTT-3.1.2-6].
        with Sub(b, version, [topic], ["-i", cid]):
            pass
    return run


def t_v5_properties(b):
    topic = unique("mq/props")
    with Sub(b, "mqttv5", [topic], ["-q", "1"], fmt=FMT_PROPS) as s:
        pub(b, "mqttv5", topic, "hello", "-q", "1",
            "-D", "publish", "user-property", "k1", "v1",
            "-D", "publish", "user-property", "k2", "v2",
            "-D", "publish", "user-property", "k1", "again",
            "-D", "publish", "content-type", "text/x-tern",
            "-D", "publish", "response-topic", topic + "/reply",
            "-D", "publish", "correlation-data", "corr-42",
            "-D", "publish", "message-expiry-interval", "100")
        m = s.msg()
        check_eq(m[:4], [topic, "1", "0", "hello"], "message")
        # [MQTT-3.3.2-17] user properties in order, [MQTT-3.3.2-20] content type,
        # [MQTT-3.3.2-15] response topic, [MQTT-3.3.2-16] correlation data, all unaltered.
        check_eq(m[4], "P=k1:v1 k2:v2 k1:again", "user properties")
        check_eq(m[5], "C=text/x-tern", "content type")
        check_eq(m[6], "R=%s/reply" % topic, "response topic")
        check_eq(m[7], "D=corr-42", "correlation data")
        # [MQTT-3.3.2-6]: the expiry sent on is the received one minus the time waited.
        check(m[8].startswith("E=") and m[8][2:].isdigit() and 90 <= int(m[8][2:]) <= 100,
              "message expiry interval: expected E=90..100, got %r" % m[8])


def t_v5_props_retained(b):
    topic = unique("mq/propsret")
    pub(b, "mqttv5", topic, "kept", "-q", "1", "-r",
        "-D", "publish", "user-property", "who", "me",
        "-D", "publish", "content-type", "a/b",
        "-D", "publish", "message-expiry-interval", "300")
    with Sub(b, "mqttv5", [topic], ["-q", "1", "-C", "1"], fmt=FMT_PROPS) as s:
        m = s.msg()
        check_eq(m[:6], [topic, "1", "1", "kept", "P=who:me", "C=a/b"], "retained with props")
        check(m[8].startswith("E=") and 290 <= int(m[8][2:] or 0) <= 300,
              "retained message expiry: expected E=290..300, got %r" % m[8])
    pub(b, "mqttv5", topic, None, "-r")


def t_v311_sub_gets_v5_publish(b):
    topic = unique("mq/mixed")
    with Sub(b, "mqttv311", [topic], ["-q", "2"]) as s:
        pub(b, "mqttv5", topic, "from-v5", "-q", "2", "-D", "publish", "user-property", "a", "b")
        check_eq(s.msg(), [topic, "2", "0", "from-v5"], "v5 message to a 3.1.1 subscriber")
    with Sub(b, "mqttv5", [topic], ["-q", "1"]) as s:
        pub(b, "mqttv311", topic, "from-v311", "-q", "1")
        check_eq(s.msg(), [topic, "1", "0", "from-v311"], "3.1.1 message to a v5 subscriber")


def t_sys_version(b):
    with Sub(b, "mqttv311", ["$SYS/broker/version"], ["-C", "1"]) as s:
        m = s.msg()
        check_eq(m[0], "$SYS/broker/version", "topic")
        check(len(m[3]) > 0, "$SYS/broker/version payload is empty")


def t_sys_not_matched_by_wildcard(b):
    # [MQTT-4.7.2-1]: a filter starting with a wildcard does not match a topic starting with $.
    # The live marker comes after the subscription, so a retained $SYS message would be first.
    u = unique("mqsys")
    with Sub(b, "mqttv311", ["+/broker/version"], ["-q", "1"]) as s:
        pub(b, "mqttv311", u + "/broker/version", "marker", "-q", "1")
        check_eq(s.msg(), [u + "/broker/version", "1", "0", "marker"], "first message")


def t_wildcards(version):
    def run(b):
        base = unique("mq/wild")
        with Sub(b, version, [base + "/+/x", base + "/#"], ["-q", "1"]) as s:
            pub(b, version, base + "/a/x", "m1", "-q", "1")
            # [MQTT-3.3.5-1]: overlapping subscriptions; Mosquitto-compatible brokers deliver
            # once per client, and the issue requires it.
            check_eq(s.msg(), [base + "/a/x", "1", "0", "m1"], "message via two filters")
            pub(b, version, base + "/a/b/c", "m2", "-q", "1")
            check_eq(s.msg(), [base + "/a/b/c", "1", "0", "m2"],
                     "second message (once only for the first)")
    return run


def main():
    for tool in ("mosquitto_pub", "mosquitto_sub", "stdbuf"):
        if shutil.which(tool) is None:
            harness.fail_missing("%s (Debian packages mosquitto-clients, coreutils)" % tool)
    tests = []
    for v in VERSIONS:
        for q in (0, 1, 2):
            tests.append(("qos%d_%s" % (q, v), t_qos(v, q)))
        tests += [("qos_downgrade_" + v, t_qos_downgrade(v)),
                  ("wildcards_once_" + v, t_wildcards(v)),
                  ("retained_" + v, t_retained(v)),
                  ("will_on_kill_" + v, t_will(v)),
                  ("no_will_on_disconnect_" + v, t_no_will_on_disconnect(v)),
                  ("will_retained_" + v, t_will_retained(v)),
                  ("persistent_session_" + v, t_persistent(v))]
    tests += [("v5_properties_forwarded", t_v5_properties),
              ("v5_properties_retained", t_v5_props_retained),
              ("mixed_versions", t_v311_sub_gets_v5_publish),
              ("sys_broker_version", t_sys_version),
              ("sys_not_matched_by_wildcard", t_sys_not_matched_by_wildcard)]
    harness.run_tests("mosquitto_pub/mosquitto_sub interop with ternd", tests)


if __name__ == "__main__":
    main()
