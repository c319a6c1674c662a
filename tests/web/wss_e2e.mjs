// End-to-end test of MQTT over WebSockets in a real browser: MQTT.js (the browser build web/
// vendors from npm, served by ternd's http_dir, no CDN) runs in Debian's headless Chromium,
// driven by playwright-core, against the real ternd over wss (TLS) and plain ws, MQTT 5 and
// 3.1.1. A throwaway CA made here with openssl signs the wss listener's certificate; Chromium
// trusts that CA through --ignore-certificate-errors-spki-list (its public key's hash), and a
// second wss listener with a certificate from another CA is refused, so the trust is real.
// Per scheme and version the page subscribes and gets what mosquitto_pub publishes over plain
// TCP, in order: 256 KiB (v5: user properties and content type kept), 1.5 MiB (more than ternd
// frames at once: the PUBLISH reaches MQTT.js split over several WebSocket messages, which is
// checked) and a small one; and the page publishes 256 KiB (one WebSocket frame far larger than
// a TLS record and ternd's 64 KiB reads) that mosquitto_sub gets over TCP.
// Prints "ok NAME" / "FAIL NAME: why" per step and "N passed, N failed"; exits non-zero on any
// failure (also when Chromium, openssl or a client tool is missing).
//
// usage: node wss_e2e.mjs --ternd PATH [--artifacts DIR] [--only WORD]

import {createHash, randomBytes, X509Certificate} from 'node:crypto';
import {cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {
    check, check_dependencies, fail_main, launch_chromium, mqtt_esm_path, npm_ci, parse_args,
    Proc, run, Steps, Ternd, WAIT
} from './e2e_common.mjs';

const LARGE = 256 * 1024;
// More than ternd puts in one WebSocket frame (MAX_FRAME_OUT in src/http/transport_ws.c, 1 MiB).
const HUGE = 1536 * 1024;

const sha256 = (data) => createHash('sha256').update(data).digest('hex');

// A CA (key usage keyCertSign) and a server certificate for 127.0.0.1 signed by it, in dir
// (prefix-ca.crt, prefix-server.key, prefix-chain.crt: server then CA certificate).
function make_ca_and_server(dir, prefix) {
    const f = (name) => join(dir, `${prefix}-${name}`);
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    run('openssl', [
        'req', '-x509', ...ec, '-days', '2', '-subj', `/CN=Tern test CA ${prefix}`, '-addext',
        'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
        '-keyout', f('ca.key'), '-out', f('ca.crt')
    ]);
    run('openssl', [
        'req', ...ec, '-subj', '/CN=127.0.0.1', '-keyout', f('server.key'), '-out',
        f('server.csr')
    ]);
    writeFileSync(f('server.ext'), [
        'basicConstraints=CA:FALSE', 'keyUsage=critical,digitalSignature',
        'extendedKeyUsage=serverAuth', 'subjectAltName=IP:127.0.0.1,DNS:localhost', ''
    ].join('\n'));
    run('openssl', [
        'x509', '-req', '-in', f('server.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'),
        '-CAcreateserial', '-days', '2', '-extfile', f('server.ext'), '-out', f('server.crt')
    ]);
    writeFileSync(
        f('chain.crt'), readFileSync(f('server.crt'), 'utf8') + readFileSync(f('ca.crt'), 'utf8'));
    const ca = new X509Certificate(readFileSync(f('ca.crt')));
    const server = new X509Certificate(readFileSync(f('server.crt')));
    check(server.verify(ca.publicKey), `${prefix}: the server certificate is not signed by the CA`);
    return { ca, chain: f('chain.crt'), key: f('server.key') };
}

// base64 of the SHA-256 of a certificate's SubjectPublicKeyInfo, as Chromium's
// --ignore-certificate-errors-spki-list takes it.
function spki_hash(cert) {
    const der = cert.publicKey.export({ type: 'spki', format: 'der' });
    return createHash('sha256').update(der).digest('base64');
}

// The page's side, run in Chromium: connects MQTT.js to url and keeps the client and what it
// receives on window. Resolves after CONNACK (and SUBACK when topic is given) with the granted
// QoS; rejects on an error or a close before that.
async function page_connect({ url, version, client_id, topic }) {
    const mqtt = (await import('/vendor/mqtt.esm.js')).default;
    const hex = async (p) => [...new Uint8Array(await crypto.subtle.digest('SHA-256', p))]
        .map((b) => b.toString(16).padStart(2, '0'))
        .join('');
    const c = mqtt.connect(url, {
        protocolVersion: version,
        clientId: client_id,
        reconnectPeriod: 0,
        connectTimeout: 10000,
    });
    window.tern_got = [];
    window.tern_client = c;
    c.on('message', async (t, payload, packet) => {
        const entry = {
            topic: t,
            len: payload.length,
            qos: packet.qos,
            props: packet.properties || null
        };
        window.tern_got.push(entry);
        entry.sha = await hex(payload);
    });
    await new Promise((res, rej) => {
        c.once('connect', res);
        c.once('error', (e) => rej(new Error(`MQTT.js error: ${e.message}`)));
        c.once('close', () => rej(new Error('closed before CONNACK')));
    });
    if (!topic) return null;
    const granted = await c.subscribeAsync(topic, { qos: 1 });
    return granted[0].qos;
}

// In Chromium: publishes size pseudo-random bytes at QoS 1 (PUBACK awaited) and returns their
// SHA-256.
async function page_publish({ topic, size, props }) {
    const payload = new Uint8Array(size);
    for (let i = 0; i < size; i += 65536) crypto.getRandomValues(payload.subarray(i, i + 65536));
    await window.tern_client.publishAsync(topic, payload, { qos: 1, properties: props });
    return [...new Uint8Array(await crypto.subtle.digest('SHA-256', payload))]
        .map((b) => b.toString(16).padStart(2, '0'))
        .join('');
}

async function page_end() {
    if (window.tern_client) await window.tern_client.endAsync();
    window.tern_client = null;
}

function mosquitto_pub(mqtt_port, version, topic, file, extra = []) {
    run('mosquitto_pub', [
        '-h', '127.0.0.1', '-p', String(mqtt_port), '-V', version === 5 ? 'mqttv5' : 'mqttv311',
        '-q', '1', '-t', topic, '-f', file, ...extra
    ]);
}

async function main() {
    const args = parse_args(process.argv.slice(2), 'wss_e2e');
    check_dependencies(['mosquitto_sub', 'mosquitto_pub', 'openssl', 'stdbuf']);
    rmSync(args.artifacts, { recursive: true, force: true });
    mkdirSync(args.artifacts, { recursive: true });
    npm_ci();

    const dir = mkdtempSync(join(args.artifacts, 'files-'));
    const trusted = make_ca_and_server(dir, 'trusted');
    const other = make_ca_and_server(dir, 'other');
    // The page and MQTT.js, served by ternd's http_dir on both WebSocket listeners.
    const www = join(dir, 'www');
    mkdirSync(join(www, 'vendor'), { recursive: true });
    cpSync(mqtt_esm_path(), join(www, 'vendor', 'mqtt.esm.js'));
    writeFileSync(
        join(www, 'index.html'),
        '<!doctype html>\n<html><head><meta charset="utf-8"><link rel="icon" href="data:,">' +
            '<title>tern wss e2e</title></head><body>tern</body></html>\n');

    const run_id = `${process.pid}-${Date.now().toString(36)}`;
    const ternd = new Ternd(args.ternd, mkdtempSync(join(args.artifacts, 'ternd-')));
    const steps = new Steps(args.only);
    const procs = [];
    let context = null;
    try {
        await ternd.start([
            'allow_anonymous true',
            'listener 0 127.0.0.1',
            'listener 0 127.0.0.1',
            'protocol websockets',
            `http_dir ${www}`,
            'listener 0 127.0.0.1',
            'protocol websockets',
            `certfile ${trusted.chain}`,
            `keyfile ${trusted.key}`,
            `http_dir ${www}`,
            'listener 0 127.0.0.1',
            'protocol websockets',
            `certfile ${other.chain}`,
            `keyfile ${other.key}`,
        ]);
        const [mqtt_port] = ternd.ports('mqtt');
        const ws_ports = ternd.ports('ws');
        check(mqtt_port && ws_ports.length === 3,
              `ready file: expected one mqtt and three ws listeners: ${
                  JSON.stringify(ternd.listeners)}`);
        const [ws_port, wss_port, untrusted_port] = ws_ports;
        console.log(`ternd: mqtt ${mqtt_port}, ws ${ws_port}, wss ${wss_port}, wss (other CA) ${
            untrusted_port}; artifacts in ${args.artifacts}`);

        let page;
        ({ context, page } = await launch_chromium(
             args.artifacts, [`--ignore-certificate-errors-spki-list=${spki_hash(trusted.ca)}`]));
        const page_errors = [];
        page.on('pageerror', (e) => page_errors.push(`pageerror: ${e.message}`));
        page.on('console', (m) => {
            if (m.type() === 'error') page_errors.push(`console: ${m.text()}`);
        });
        const websockets = [];
        let max_frame_in = 0;  // the largest WebSocket message Chromium received
        page.on('websocket', (ws) => {
            websockets.push(ws.url());
            ws.on('framereceived', (f) => {
                max_frame_in = Math.max(max_frame_in, f.payload.length);
            });
        });

        const large = randomBytes(LARGE);
        const large_file = join(dir, 'large.bin');
        writeFileSync(large_file, large);
        const huge = randomBytes(HUGE);
        const huge_file = join(dir, 'huge.bin');
        writeFileSync(huge_file, huge);
        const small = Buffer.from(`small after large ${run_id}`);
        const small_file = join(dir, 'small.bin');
        writeFileSync(small_file, small);

        for (const scheme of ['wss', 'ws']) {
            const port = scheme === 'wss' ? wss_port : ws_port;
            const origin = `${scheme === 'wss' ? 'https' : 'http'}://127.0.0.1:${port}`;
            for (const version of [5, 4]) {
                const name = `${scheme}_v${version === 5 ? '5' : '311'}`;
                const topic = `e2e/${run_id}/${name}`;
                await steps.step(`${name}_subscribe`, async () => {
                    await page.goto(`${origin}/`);
                    check(
                        await page.evaluate(() => window.isSecureContext),
                        `${origin} is not a secure context`);
                    const granted = await page.evaluate(page_connect, {
                        url: `${scheme}://127.0.0.1:${port}/mqtt`,
                        version,
                        client_id: `e2e-${name}-${run_id}`,
                        topic: `${topic}/in`
                    });
                    check(granted === 1, `SUBACK granted ${granted}`);
                    const props = version === 5 ?
                        ['-D', 'publish', 'user-property', 'origin', 'mosquitto_pub', '-D',
                         'publish', 'user-property', 'run', run_id, '-D', 'publish',
                         'content-type', 'application/octet-stream'] :
                        [];
                    max_frame_in = 0;
                    mosquitto_pub(mqtt_port, version, `${topic}/in`, large_file, props);
                    mosquitto_pub(mqtt_port, version, `${topic}/in`, huge_file);
                    mosquitto_pub(mqtt_port, version, `${topic}/in`, small_file);
                    await page.waitForFunction(
                        () => window.tern_got.length >= 3 && window.tern_got.every((g) => g.sha),
                        null, { timeout: WAIT });
                    const got = await page.evaluate(() => window.tern_got);
                    check(got.length === 3, `${got.length} messages`);
                    const want = [[LARGE, sha256(large)], [HUGE, sha256(huge)],
                                  [small.length, sha256(small)]];
                    for (let i = 0; i < 3; i++) {
                        check(
                            got[i].len === want[i][0] && got[i].sha === want[i][1],
                            `message ${i + 1}: ${got[i].len} bytes, sha256 ${got[i].sha}; ` +
                                `expected ${want[i][0]} bytes`);
                    }
                    check(
                        max_frame_in < HUGE,
                        `the ${HUGE}-byte PUBLISH came in one WebSocket message (${
                            max_frame_in} bytes): no split to reassemble`);
                    check(got.every((g) => g.qos === 1 && g.topic === `${topic}/in`),
                          `topic or QoS: ${JSON.stringify(got.map((g) => [g.topic, g.qos]))}`);
                    if (version === 5) {
                        const p = got[0].props || {};
                        check(
                            JSON.stringify(p.userProperties) ===
                                JSON.stringify({ origin: 'mosquitto_pub', run: run_id }),
                            `user properties: ${JSON.stringify(p.userProperties)}`);
                        check(
                            p.contentType === 'application/octet-stream',
                            `content type: ${p.contentType}`);
                    }
                });

                await steps.step(`${name}_publish`, async () => {
                    const sub = new Proc(`mosquitto_sub ${name}`, 'stdbuf', [
                        '-oL', 'mosquitto_sub', '-h', '127.0.0.1', '-p', String(mqtt_port), '-d',
                        '-V', 'mqttv5', '-q', '1', '-C', '1', '-t', `${topic}/out`, '-F',
                        'got %l [%P] %x'
                    ]);
                    procs.push(sub);
                    await sub.wait_for(/received SUBACK/, 'SUBACK');
                    const props =
                        version === 5 ? { userProperties: { origin: 'chromium' } } : undefined;
                    const sent = await page.evaluate(
                        page_publish, { topic: `${topic}/out`, size: LARGE, props });
                    const m = await sub.wait_for(/got (\d+) \[([^\]]*)\] ([0-9a-f]+)\n/, 'message');
                    check(Number(m[1]) === LARGE, `mosquitto_sub got ${m[1]} bytes`);
                    check(sha256(Buffer.from(m[3], 'hex')) === sent, 'payload differs');
                    const want = version === 5 ? 'origin:chromium' : '';
                    check(m[2] === want, `user properties at mosquitto_sub: [${m[2]}]`);
                    await sub.wait_exit();
                    await page.evaluate(page_end);
                });
            }
        }

        await steps.step('wss_other_ca_refused', async () => {
            await page.goto(`https://127.0.0.1:${wss_port}/`);
            const err = await page
                            .evaluate(page_connect, {
                                url: `wss://127.0.0.1:${untrusted_port}/mqtt`,
                                version: 5,
                                client_id: `e2e-other-ca-${run_id}`
                            })
                            .then(() => null, (e) => e.message);
            check(err, 'Chromium connected to a wss listener whose CA it does not trust');
            check(/MQTT.js error|closed before CONNACK/.test(err), `not refused by TLS: ${err}`);
            // Chromium logs the refused WebSocket as a console error: expected here.
            page_errors.splice(0, page_errors.length,
                               ...page_errors.filter((e) => !/WebSocket connection to/.test(e)));
        });

        await steps.step('no_page_errors_websockets_used', async () => {
            check(page_errors.length === 0, page_errors.join('\n'));
            for (const want of [`wss://127.0.0.1:${wss_port}/mqtt`,
                                `ws://127.0.0.1:${ws_port}/mqtt`]) {
                check(websockets.includes(want), `no WebSocket to ${want}: ${websockets}`);
            }
        });
    } catch (e) {
        steps.fail_setup(e);
    } finally {
        for (const p of procs) p.kill();
        if (context) await context.close().catch(() => {});
        await steps.ternd_clean_exit(ternd, join(args.artifacts, 'ternd.log'));
    }
    steps.finish();
}

main().catch(fail_main);
