// MQTT.js (npm package mqtt, v5 line) interop cases against a running ternd, one case per run:
//   node mqttjs_tests.js --list | --host H --port P --test NAME
// Prints "ok" and exits 0, or prints "FAIL: reason" and exits 1. test_mqttjs.py starts the
// broker and runs every case. Every wait is on an MQTT.js event or promise, with a deadline.
'use strict';

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const mqtt = require('mqtt');

const WAIT_MS = 10000;
// Only used where a case shows that something does NOT arrive.
const QUIET_MS = 1000;

let host = '127.0.0.1';
let port = 1883;
const opened = [];

function unique(prefix) {
    return `${prefix}-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
}

function withTimeout(promise, what, ms = WAIT_MS) {
    let timer;
    const t = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    });
    return Promise.race([promise, t]).finally(() => clearTimeout(timer));
}

// A connected client with a queue of received messages. Resolves on CONNACK.
function connect(version, opts = {}) {
    const client = mqtt.connect({
        host, port, protocolVersion: version, reconnectPeriod: 0, connectTimeout: WAIT_MS,
        ...opts,
    });
    opened.push(client);
    const queue = [];
    const waiters = [];
    client.on('message', (topic, payload, packet) => {
        const m = { topic, payload, packet };
        if (waiters.length) waiters.shift()(m);
        else queue.push(m);
    });
    client.nextMessage = (what = 'a message', ms = WAIT_MS) => {
        if (queue.length) return Promise.resolve(queue.shift());
        return withTimeout(new Promise((resolve) => waiters.push(resolve)), what, ms);
    };
    client.noMessage = async (ms = QUIET_MS) => {
        let m = null;
        try {
            m = await client.nextMessage('nothing', ms);
        } catch (e) {
            return;
        }
        throw new Error(`unexpected message on ${m.topic}: ${m.payload}`);
    };
    return withTimeout(new Promise((resolve, reject) => {
        client.once('connect', (connack) => { client.connack = connack; resolve(client); });
        client.once('error', reject);
    }), 'CONNACK');
}

async function subscribe(client, topic, opts) {
    const granted = await withTimeout(client.subscribeAsync(topic, opts), `SUBACK ${topic}`);
    for (const g of granted) assert.ok(g.qos < 0x80, `SUBSCRIBE ${g.topic} refused: ${g.qos}`);
    return granted;
}

// Resolves once PUBACK (QoS 1) / PUBCOMP (QoS 2) arrived, or the packet was written (QoS 0).
function publish(client, topic, payload, opts) {
    return withTimeout(client.publishAsync(topic, payload, opts), `publish ${topic}`);
}

function end(client) {
    return withTimeout(client.endAsync(), 'end');
}

async function expectMsg(client, topic, payload, qos, retain = false) {
    const m = await client.nextMessage(`message on ${topic}`);
    assert.equal(m.topic, topic, 'topic');
    assert.deepEqual(m.payload, Buffer.from(payload), 'payload');
    assert.equal(m.packet.qos, qos, 'qos');
    assert.equal(m.packet.retain, retain, 'retain flag');
    return m;
}

const binary = Buffer.from(Array.from({ length: 1024 }, (_, i) => i % 256));

function qosCase(version, qos) {
    return async () => {
        const topic = unique('js/qos');
        const sub = await connect(version);
        const pub = await connect(version);
        const granted = await subscribe(sub, topic, { qos });
        assert.equal(granted[0].qos, qos, 'granted QoS');
        for (const payload of [binary, Buffer.alloc(0), Buffer.from('x'.repeat(70000))]) {
            await publish(pub, topic, payload, { qos });
            await expectMsg(sub, topic, payload, qos);
        }
        await sub.noMessage(); // Exactly once, also at QoS 2 [MQTT-4.3.3-2].
        await end(sub);
        await end(pub);
    };
}

function connectCase(version) {
    return async () => {
        const c = await connect(version, { clientId: unique('js-conn') });
        assert.equal(c.connack.cmd, 'connack');
        if (version === 5) {
            assert.equal(c.connack.reasonCode, 0, 'CONNACK reason code');
        } else {
            assert.equal(c.connack.returnCode, 0, 'CONNACK return code');
        }
        assert.equal(c.connack.sessionPresent, false, 'session present for a clean session');
        await end(c);
        if (version === 5) {
            // [MQTT-3.1.3-7]/[MQTT-3.2.2-16]: zero-length client id with clean start gets an id,
            // returned as Assigned Client Identifier.
            const a = await connect(5, { clientId: '', clean: true });
            const id = a.connack.properties && a.connack.properties.assignedClientIdentifier;
            assert.ok(typeof id === 'string' && id.length > 0, `assigned client id: ${id}`);
            await end(a);
        }
    };
}

function retainedCase(version) {
    return async () => {
        const topic = unique('js/ret');
        const pub = await connect(version);
        await publish(pub, topic, 'stay', { qos: 1, retain: true });
        const sub = await connect(version);
        await subscribe(sub, topic, { qos: 1 });
        await expectMsg(sub, topic, 'stay', 1, true); // 3.1.1 [MQTT-3.3.1-8]
        await end(sub);
        // An empty retained message deletes it (3.1.1 [MQTT-3.3.1-10], 5.0 [MQTT-3.3.1-6]).
        await publish(pub, topic, '', { qos: 1, retain: true });
        // A retained message is sent on subscribe, so it would come before this live marker.
        const sub2 = await connect(version);
        await subscribe(sub2, topic, { qos: 1 });
        await publish(pub, topic, 'marker', { qos: 1 });
        await expectMsg(sub2, topic, 'marker', 1, false);
        await end(sub2);
        await end(pub);
    };
}

async function userPropertiesCase() {
    const topic = unique('js/up');
    const sub = await connect(5);
    const pub = await connect(5);
    await subscribe(sub, topic, { qos: 1 });
    const userProperties = { region: 'eu', multi: ['one', 'two'], 'ünï': 'cødé' };
    await publish(pub, topic, 'p', {
        qos: 1,
        properties: { userProperties, contentType: 'text/plain', messageExpiryInterval: 120 },
    });
    const m = await expectMsg(sub, topic, 'p', 1);
    // [MQTT-3.3.2-17]/[MQTT-3.3.2-18] user properties, [MQTT-3.3.2-20] content type unchanged.
    assert.deepEqual({ ...m.packet.properties.userProperties }, userProperties, 'user properties');
    assert.equal(m.packet.properties.contentType, 'text/plain', 'content type');
    const e = m.packet.properties.messageExpiryInterval;
    assert.ok(e >= 115 && e <= 120, `message expiry interval 115..120: ${e}`);
    await end(sub);
    await end(pub);
}

function reconnectCase(version) {
    return async () => {
        const topic = unique('js/persist');
        const clientId = unique('js-persist');
        const opts = { clientId, clean: false };
        if (version === 5) opts.properties = { sessionExpiryInterval: 300 };
        let c = await connect(version, opts);
        assert.equal(c.connack.sessionPresent, false, 'session present on first connect');
        await subscribe(c, topic, { qos: 2 });
        await end(c);
        const pub = await connect(version);
        await publish(pub, topic, 'q1', { qos: 1 });
        await publish(pub, topic, binary, { qos: 2 });
        await end(pub);
        // Same client id, clean false: [MQTT-3.2.2-2] session present, stored QoS 1/2
        // messages delivered [MQTT-3.1.2-5] with no new SUBSCRIBE.
        c = await connect(version, opts);
        assert.equal(c.connack.sessionPresent, true, 'session present on reconnect');
        await expectMsg(c, topic, 'q1', 1);
        await expectMsg(c, topic, binary, 2);
        await end(c);
        // Clean up: a clean connect discards the session [MQTT-3.1.2-6].
        c = await connect(version, { clientId, clean: true });
        assert.equal(c.connack.sessionPresent, false, 'session present after clean connect');
        await end(c);
    };
}

async function takeoverCase() {
    const clientId = unique('js-takeover');
    const old = await connect(5, { clientId });
    const disconnected = withTimeout(new Promise((resolve) => {
        old.once('disconnect', (packet) => resolve(packet));
    }), 'DISCONNECT to the old connection');
    const fresh = await connect(5, { clientId });
    // [MQTT-3.1.4-3]: the old connection is closed, in v5 with DISCONNECT reason 0x8E
    // Session taken over (MQTT 5.0 section 3.14.2.1).
    const packet = await disconnected;
    assert.equal(packet.reasonCode, 0x8e, 'DISCONNECT reason code');
    await end(fresh);
}

const cases = {};
for (const [name, v] of [['v311', 4], ['v5', 5]]) {
    cases[`connect_${name}`] = connectCase(v);
    for (const q of [0, 1, 2]) cases[`qos${q}_${name}`] = qosCase(v, q);
    cases[`retained_${name}`] = retainedCase(v);
    cases[`reconnect_clean_false_${name}`] = reconnectCase(v);
}
cases.v5_user_properties = userPropertiesCase;
cases.v5_takeover_reason = takeoverCase;

async function main() {
    const argv = process.argv.slice(2);
    const arg = (k) => { const i = argv.indexOf(k); return i >= 0 ? argv[i + 1] : undefined; };
    if (argv.includes('--list')) {
        console.log(Object.keys(cases).join('\n'));
        return 0;
    }
    host = arg('--host') || host;
    port = Number(arg('--port') || port);
    const name = arg('--test');
    if (!cases[name]) {
        console.log(`FAIL: unknown case ${name}`);
        return 1;
    }
    try {
        await cases[name]();
        console.log('ok');
        return 0;
    } catch (e) {
        console.log(`FAIL: ${e && e.stack ? e.stack : e}`);
        return 1;
    } finally {
        for (const c of opened) c.end(true);
    }
}

main().then((rc) => { process.exitCode = rc; });
