// End-to-end test of the web dashboard: builds web/ into the artifacts directory, starts the
// real ternd with an MQTT listener and a websockets listener (http_dir = the build, REST API,
// admin user from a password file, a bearer token), drives Debian's headless Chromium through
// playwright-core, and checks what the dashboard shows against mosquitto_sub/mosquitto_pub and
// the REST API. Screenshots go to the artifacts directory. Prints "ok NAME" / "FAIL NAME: why"
// per step and "N passed, N failed"; exits non-zero on any failure (also when Chromium or a
// client tool is missing: the project's test dependencies install them).
//
// usage: node dashboard_e2e.mjs --ternd PATH [--artifacts DIR] [--only WORD]

import {mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {
    check, check_dependencies, fail_main, launch_chromium, npm_ci, parse_args, Proc, run, Steps,
    Ternd, WAIT, WEB
} from './e2e_common.mjs';

const ADMIN = {
    user: 'admin',
    password: 'e2e-secret'
};
const VIEWER = {
    user: 'viewer',
    password: 'viewer-secret'
};
const TOKEN = 'e2e-token-0123456789abcdef';

// The dashboard's deployment: an MQTT listener and a websockets listener serving http_dir (the
// dashboard build), the REST API and /metrics, an admin and a viewer in a password file, and a
// bearer token.
class Broker extends Ternd {
    constructor(ternd, dir, dist) {
        super(ternd, dir);
        this.dist = dist;
    }

    async start() {
        const pw = join(this.dir, 'passwd');
        run('mosquitto_passwd', ['-c', '-b', pw, ADMIN.user, ADMIN.password]);
        run('mosquitto_passwd', ['-b', pw, VIEWER.user, VIEWER.password]);
        await super.start([
            'allow_anonymous true',
            `password_file ${pw}`,
            `http_admin_users ${ADMIN.user}`,
            `http_api_token ${TOKEN}`,
            'listener 0 127.0.0.1',
            'listener 0 127.0.0.1',
            'protocol websockets',
            `http_dir ${this.dist}`,
            'http_api true',
            'http_metrics true',
        ]);
        const [mqtt] = this.ports('mqtt');
        const [ws] = this.ports('ws');
        if (!mqtt || !ws) {
            throw new Error(
                `ready file lacks an mqtt or a ws listener: ${JSON.stringify(this.listeners)}`);
        }
        this.mqtt_port = mqtt;
        this.ws_port = ws;
        this.base = `http://127.0.0.1:${this.ws_port}`;
    }

    // A REST call outside the browser (to check what the dashboard did).
    async rest(method, path, body) {
        const headers = { Authorization: `Bearer ${TOKEN}` };
        if (body) headers['Content-Type'] = 'application/json';
        const r = await fetch(
            `${this.base}/api/v1${path}`, { method, headers, body: body && JSON.stringify(body) });
        const text = await r.text();
        if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
        return JSON.parse(text);
    }
}

// The dashboard build (web/build.mjs) into the artifacts directory.
function prepare(artifacts) {
    npm_ci();
    const dist = join(artifacts, 'dist');
    run(process.execPath, [join(WEB, 'build.mjs'), dist]);
    return dist;
}


function sub(broker, id, topic, extra = []) {
    return new Proc(`mosquitto_sub ${id}`, 'stdbuf', [
        '-oL', 'mosquitto_sub', '-h', '127.0.0.1', '-p', String(broker.mqtt_port), '-i', id, '-t',
        topic, '-d', '-V', 'mqttv5', ...extra
    ]);
}

function pub(broker, topic, payload, extra = []) {
    run('mosquitto_pub', [
        '-h', '127.0.0.1', '-p', String(broker.mqtt_port), '-t', topic, '-m', payload, '-q', '1',
        ...extra
    ]);
}

async function main() {
    const args = parse_args(process.argv.slice(2), 'dashboard_e2e');
    check_dependencies(['mosquitto_sub', 'mosquitto_pub', 'mosquitto_passwd', 'stdbuf']);
    rmSync(args.artifacts, { recursive: true, force: true });
    mkdirSync(args.artifacts, { recursive: true });
    const dist = prepare(args.artifacts);

    const run_id = `${process.pid}-${Date.now().toString(36)}`;
    const t = (s) => `e2e/${run_id}/${s}`;
    const broker = new Broker(args.ternd, mkdtempSync(join(args.artifacts, 'ternd-')), dist);
    const procs = [];
    const steps = new Steps(args.only);
    let shot = 0;
    let context = null;
    let page = null;
    const page_errors = [];

    const screenshot = async (name) => {
        shot++;
        await page.screenshot({
            path: join(args.artifacts, `${String(shot).padStart(2, '0')}-${name}.png`),
            fullPage: true
        });
    };
    steps.on_failure = async (name) => page && screenshot(`FAIL-${name}`);
    const step = (name, fn) => steps.step(name, fn);
    const login = async (kind, cred) => {
        await page.goto(`${broker.base}/`);
        await page.locator('#login').waitFor({ state: 'visible', timeout: WAIT });
        if (kind === 'basic') {
            await page.check('input[name=kind][value=basic]');
            await page.fill('#login-user', cred.user);
            await page.fill('#login-password', cred.password);
        } else {
            await page.check('input[name=kind][value=token]');
            await page.fill('#login-token', cred);
        }
        await page.click('#login-submit');
    };
    const go = (view) => page.evaluate((v) => (location.hash = `#/${v}`), view);

    try {
        await broker.start();
        console.log(`ternd: mqtt port ${broker.mqtt_port}, websockets port ${
            broker.ws_port}; artifacts in ${args.artifacts}`);
        ({ context, page } = await launch_chromium(args.artifacts));
        page.on('pageerror', (e) => page_errors.push(`pageerror: ${e.message}`));
        page.on('console', (m) => {
            // Chromium logs every 4xx fetch as an error; the refused logins (401, 403) and the
            // reload of an invalid configuration (422) cause those on purpose.
            if (m.type() === 'error' && !/status of (40[13]|422)/.test(m.text()))
                page_errors.push(`console: ${m.text()}`);
        });
        // No request may leave the broker's origin (the dashboard works offline, no CDN);
        // data: and blob: URLs (MQTT.js's timer worker) are made in the page.
        const foreign = [];
        page.on('request', (r) => {
            const u = new URL(r.url());
            if (['data:', 'blob:'].includes(u.protocol)) return;
            if (!['http:', 'ws:'].includes(u.protocol) || u.host !== `127.0.0.1:${broker.ws_port}`)
                foreign.push(r.url());
        });
        const websockets = [];
        page.on('websocket', (ws) => websockets.push(ws.url()));

        await step('static_files_served', async () => {
            for (const [path, type] of [
                     ['/', 'text/html'], ['/js/main.js', 'text/javascript'],
                     ['/vendor/mqtt.esm.js', 'text/javascript'], ['/app.css', 'text/css']]) {
                const r = await fetch(`${broker.base}${path}`);
                check(r.status === 200, `GET ${path}: status ${r.status}`);
                check(
                    (r.headers.get('content-type') || '').startsWith(type),
                    `GET ${path}: content-type ${r.headers.get('content-type')}`);
            }
        });

        await step('login_refused', async () => {
            await login('basic', { user: ADMIN.user, password: 'wrong' });
            await page.locator('#login-status.error').filter({ hasText: 'Refused' }).waitFor({
                timeout: WAIT
            });
            await screenshot('login-refused');
            await login('basic', VIEWER);  // a valid password-file user without the admin role
            await page.locator('#login-status.error').filter({ hasText: 'not an admin' }).waitFor({
                timeout: WAIT
            });
            check(await page.locator('#nav').isHidden(), 'navigation shown after a refused login');
        });

        await step('login_basic_overview', async () => {
            await login('basic', ADMIN);
            await page.locator('#view-overview').waitFor({ state: 'visible', timeout: WAIT });
            const info = await broker.rest('GET', '/broker');
            await page.locator('#overview-info [data-key=version] .v')
                .filter({ hasText: info.version })
                .waitFor({ timeout: WAIT });
            await page.locator('#overview-info [data-key=uptime]').waitFor({ timeout: WAIT });
            const stored = await page.evaluate(() => sessionStorage.getItem('tern.dashboard.auth'));
            check(
                stored && JSON.parse(stored).user === ADMIN.user, `sessionStorage holds ${stored}`);
            // Rates appear from the second poll on (every 2 s by default).
            await page
                .locator('#overview-stats tr[data-key="stats.messages_received"] td:nth-child(4)')
                .filter({ hasText: '/s' })
                .waitFor({ timeout: WAIT });
            check(
                await page.locator('#overview-stats input[data-key="stats.messages_received"]')
                    .isChecked(),
                'messages_received is not charted by default');
            await screenshot('overview');
        });

        const kick_id = `e2e-kick-${run_id}`;
        const kicked = sub(broker, kick_id, t('kick/#'));
        procs.push(kicked);
        await step('client_appears', async () => {
            await kicked.wait_for(/received SUBACK/, 'SUBACK');
            await go('clients');
            await page.fill('#clients-search', kick_id);
            const row = page.locator('#clients-table tr', { hasText: kick_id });
            await row.locator('.badge.on').waitFor({ timeout: WAIT });
            check(
                (await row.textContent()).includes('5.0'),
                `protocol 5.0 not shown: ${await row.textContent()}`);
            await screenshot('clients');
        });

        await step('client_kicked', async () => {
            const button = page.locator(`#clients-table button.kick[data-client="${kick_id}"]`);
            await button.click();
            await page
                .locator(
                    `#clients-table button.kick[data-client="${kick_id}"]`, { hasText: 'Really' })
                .waitFor({ timeout: WAIT });
            await button.click();
            await page.locator('#clients-status.ok')
                .filter({ hasText: `kicked ${kick_id}` })
                .waitFor({ timeout: WAIT });
            // MQTT v5: the broker sends DISCONNECT 0x98 (152) Administrative action, mosquitto_sub
            // exits.
            await kicked.wait_for(/Received DISCONNECT \(152\)/, 'DISCONNECT 152');
            await kicked.wait_exit();
            await page.locator('#clients-table tr', { hasText: kick_id })
                .locator('.badge.on')
                .waitFor({ state: 'detached', timeout: WAIT });
            await screenshot('client-kicked');
        });

        const listen = sub(broker, `e2e-listen-${run_id}`, t('console/#'));
        procs.push(listen);
        await step('console_publish_mqtt', async () => {
            await listen.wait_for(/received SUBACK/, 'SUBACK');
            await go('console');
            await page.fill('#console-sub-filter', t('console/#'));
            await page.click('#console-subscribe');
            await page.locator('#console-state.on').waitFor({ timeout: WAIT });
            await page.locator(`#console-subs li[data-filter="${t('console/#')}"]`).waitFor({
                timeout: WAIT
            });
            const payload = `hello over websockets ${run_id}`;
            await page.fill('#console-pub-topic', t('console/ws'));
            await page.fill('#console-pub-payload', payload);
            await page.selectOption('#console-pub-qos', '1');
            await page.selectOption('#console-pub-via', 'mqtt');
            await page.click('#console-publish');
            await page.locator('#console-pub-status.ok').waitFor({ timeout: WAIT });
            await listen.wait_for(
                new RegExp(`\\n${payload}\\n`), 'the console\'s message at mosquitto_sub');
            await page.locator('#console-log tr', { hasText: payload }).waitFor({ timeout: WAIT });
            // And a message from mosquitto_pub arrives in the browser over the WebSocket.
            pub(broker, t('console/tcp'), `from tcp ${run_id}`);
            await page.locator('#console-log tr', { hasText: `from tcp ${run_id}` }).waitFor({
                timeout: WAIT
            });
            await screenshot('console');
        });

        await step('console_publish_rest', async () => {
            const payload = `hello through rest ${run_id}`;
            await page.fill('#console-pub-topic', t('console/rest'));
            await page.fill('#console-pub-payload', payload);
            await page.selectOption('#console-pub-via', 'rest');
            await page.click('#console-publish');
            await page.locator('#console-pub-status.ok').filter({ hasText: 'REST' }).waitFor({
                timeout: WAIT
            });
            await listen.wait_for(
                new RegExp(`\\n${payload}\\n`), 'the REST message at mosquitto_sub');
            await page.selectOption('#console-pub-via', 'mqtt');
        });

        await step('retained_browse_delete', async () => {
            const topic = t('retained/one');
            await page.fill('#console-pub-topic', topic);
            await page.fill('#console-pub-payload', 'kept');
            await page.check('#console-pub-retain');
            await page.click('#console-publish');
            await page.locator('#console-pub-status.ok').filter({ hasText: topic }).waitFor({
                timeout: WAIT
            });
            await page.uncheck('#console-pub-retain');
            await go('retained');
            await page.fill('#retained-filter', t('retained/#'));
            await page.click('#retained-load');
            const row = page.locator('#retained-table tr', { hasText: topic });
            await row.filter({ hasText: 'kept' }).waitFor({ timeout: WAIT });
            await screenshot('retained');
            const del = page.locator(`#retained-table button.delete[data-topic="${topic}"]`);
            await del.click();
            await del.click();
            await page.locator('#retained-status.ok')
                .filter({ hasText: `deleted ${topic}` })
                .waitFor({ timeout: WAIT });
            await row.waitFor({ state: 'detached', timeout: WAIT });
            const left =
                await broker.rest('GET', `/retained?filter=${encodeURIComponent(t('retained/#'))}`);
            check(left.retained.length === 0, `retained after delete: ${JSON.stringify(left)}`);
        });

        await step('topic_tree', async () => {
            const kept = t('tree/a/kept');
            pub(broker, kept, 'retained leaf', ['-r']);
            await go('topics');
            await page.click('#topics-load');
            await page.locator(`#topics-tree li[data-topic="${kept}"]`)
                .waitFor({ state: 'attached', timeout: WAIT });
            await page.fill('#topics-filter', t('tree/#'));
            await page.click('#topics-watch');
            await page.locator('#topics-status.ok').filter({ hasText: 'watching' }).waitFor({
                timeout: WAIT
            });
            pub(broker, t('tree/b/live'), 'live leaf');
            await page.locator(`#topics-tree li[data-topic="${t('tree/b/live')}"]`)
                .waitFor({ state: 'attached', timeout: WAIT });
            // Open every level at once: clicking the summaries one by one raced with the
            // view's re-render on each message (indices shifted, a click could close a level
            // and leave the next summary hidden). The view keeps open levels across renders.
            await page.evaluate(() => {
                for (const d of document.querySelectorAll('#topics-tree details')) d.open = true;
            });
            await page.locator(`#topics-tree li[data-topic="${kept}"]`)
                .filter({ hasText: 'retained' })
                .waitFor({ timeout: WAIT });
            await screenshot('topic-tree');
            pub(broker, kept, '', ['-r']);
        });

        // One client with 55 subscriptions: two under subs/ and 53 under page/ (more than the
        // view's page of 50).
        const subs_id = `e2e-subs-${run_id}`;
        const page_filters =
            Array.from({ length: 53 }, (_, i) => t(`page/${String(i).padStart(2, '0')}`));
        const subscriber =
            sub(broker, subs_id, t('subs/+/temp'),
                ['-q', '1', '-t', t('subs/#'), ...page_filters.flatMap((f) => ['-t', f])]);
        procs.push(subscriber);
        await step('subscriptions_view', async () => {
            await subscriber.wait_for(/received SUBACK/, 'SUBACK');
            const rest = await broker.rest(
                'GET', `/subscriptions?client_id=${encodeURIComponent(subs_id)}&limit=1000`);
            check(rest.total === 55, `REST: ${rest.total} subscriptions of ${subs_id}`);
            await go('subscriptions');
            await page.fill('#subs-client', subs_id);
            await page.locator('#subs-page').filter({ hasText: '1–50 of 55' }).waitFor({
                timeout: WAIT
            });
            check(
                (await page.locator('#subs-table tbody tr').count()) === 50,
                'first page holds 50 rows');
            await page.click('#subs-next');
            await page.locator('#subs-page').filter({ hasText: '51–55 of 55' }).waitFor({
                timeout: WAIT
            });
            // Sorted by filter: '#' before '+'; every option of the row as the API reports it.
            const row = page.locator('#subs-table tbody tr', { hasText: t('subs/+/temp') });
            await row.waitFor({ timeout: WAIT });
            const cells = await row.locator('td').allTextContents();
            check(
                JSON.stringify(cells.slice(0, 8)) ===
                    JSON.stringify([subs_id, t('subs/+/temp'), '1', 'no', 'no', '0', '', '']),
                `row cells: ${JSON.stringify(cells)}`);
            const last =
                await page.locator('#subs-table tbody tr td:nth-child(2)').allTextContents();
            check(
                JSON.stringify(last) ===
                    JSON.stringify([...page_filters.slice(50), t('subs/#'), t('subs/+/temp')]),
                `last page filters: ${JSON.stringify(last)}`);
            await page.click('#subs-prev');
            await page.locator('#subs-page').filter({ hasText: '1–50 of 55' }).waitFor({
                timeout: WAIT
            });
            // The filter tree of the same rows, and a topic tested against it.
            await page.locator('#subs-tree-summary')
                .filter({ hasText: '55 subscriptions of 1 clients' })
                .waitFor({ timeout: WAIT });
            const leaf = page.locator(`#subs-tree li[data-filter="${t('subs/+/temp')}"]`);
            await leaf.waitFor({ state: 'attached', timeout: WAIT });
            for (const s of await page.locator('#subs-tree summary').all()) await s.click();
            await leaf.locator(`.badge[data-client="${subs_id}"]`)
                .filter({ hasText: 'QoS 1' })
                .waitFor({ timeout: WAIT });
            await page.fill('#subs-test-topic', t('subs/kitchen/temp'));
            await page.locator('#subs-test-result')
                .filter({ hasText: `2 subscriptions match ${t('subs/kitchen/temp')}` })
                .waitFor({ timeout: WAIT });
            await screenshot('subscriptions');
            // The filter text (contains) instead of the client id; a click on a client id puts
            // it back.
            await page.fill('#subs-client', '');
            await page.fill('#subs-filter', t('subs/'));
            await page.locator('#subs-page').filter({ hasText: '1–2 of 2' }).waitFor({
                timeout: WAIT
            });
            await page.fill('#subs-filter', t('page/'));
            await page.locator('#subs-page').filter({ hasText: '1–50 of 53' }).waitFor({
                timeout: WAIT
            });
            await page.locator('#subs-table button.link', { hasText: subs_id }).first().click();
            await page.locator('#subs-page').filter({ hasText: '1–50 of 53' }).waitFor({
                timeout: WAIT
            });
            check(
                (await page.inputValue('#subs-client')) === subs_id,
                'clicking a client id filters by it');
            await screenshot('subscriptions-filtered');
        });

        await step('overview_counters_moved', async () => {
            await go('overview');
            // The traffic above (console, mosquitto_pub) moved the message counters.
            await page
                .locator('#overview-stats tr[data-key="stats.messages_received"] td:nth-child(3)')
                .filter({ hasNotText: /^0$/})
                .waitFor({ timeout: WAIT });
            const shown = Number(
                (await page
                     .locator(
                         '#overview-stats tr[data-key="stats.messages_received"] td:nth-child(3)')
                     .textContent())
                    .replace(/,/g, ''));
            check(shown > 0, `messages_received shown as ${shown}`);
            await screenshot('overview-after-traffic');
        });

        await step('listeners', async () => {
            await go('listeners');
            const row = page.locator('#listeners-table tr', { hasText: 'websockets' });
            await row.filter({ hasText: String(broker.ws_port) }).waitFor({ timeout: WAIT });
            await page.locator('#listeners-table tr', { hasText: String(broker.mqtt_port) })
                .waitFor({ timeout: WAIT });
            await page.click('#openapi-show');
            await page.locator('#openapi-doc').filter({ hasText: '/api/v1' }).waitFor({
                timeout: WAIT
            });
            // The effective configuration (GET /api/v1/config), filtered, the token redacted.
            await page.fill('#config-filter', 'http_api_token');
            await page.locator('#config-table tr', { hasText: '<redacted>' })
                .filter({ hasText: 'global' }).waitFor({ timeout: WAIT });
            check(!(await page.locator('#config-table').textContent()).includes(TOKEN),
                  'the bearer token is shown in the configuration view');
            await page.fill('#config-filter', 'http_api');
            await page.locator('#config-table tr', { hasText: 'websockets' })
                .filter({ hasText: 'true' }).waitFor({ timeout: WAIT });
            await screenshot('listeners');
        });

        await step('reload_config', async () => {
            await go('listeners');
            await page.click('#reload-config');
            await page.locator('#reload-status.ok')
                .filter({ hasText: 'reload requested' })
                .waitFor({ timeout: WAIT });
            check(
                (await page.locator('#reload-status').textContent()).includes(broker.conf),
                'the reloaded file is named');
            await screenshot('reload-requested');
            // An invalid file: 422, the FILE:LINE errors listed, nothing applied.
            const orig = readFileSync(broker.conf, 'utf8');
            const bad_line = orig.split('\n').length;  // orig ends with a newline
            writeFileSync(broker.conf, `${orig}no_such_option 1\n`);
            try {
                await page.click('#reload-config');
                await page.locator('#reload-status.error')
                    .filter({ hasText: 'configuration invalid' })
                    .waitFor({ timeout: WAIT });
                await page.locator('#reload-lines li')
                    .filter({ hasText: `${broker.conf}:${bad_line}:` })
                    .filter({ hasText: 'no_such_option' })
                    .waitFor({ timeout: WAIT });
                await screenshot('reload-invalid');
            } finally {
                writeFileSync(broker.conf, orig);
            }
            await page.click('#reload-config');
            await page.locator('#reload-status.ok')
                .filter({ hasText: 'reload requested' })
                .waitFor({ timeout: WAIT });
            check(
                (await page.locator('#reload-lines li').count()) === 0,
                'the previous errors are cleared');
            // The broker is still up and serves the dashboard's calls after the reloads.
            await broker.rest('GET', '/broker');
        });

        await step('logout_and_token_login', async () => {
            await page.click('#logout');
            await page.locator('#login').waitFor({ state: 'visible', timeout: WAIT });
            check(
                await page.evaluate(() => sessionStorage.getItem('tern.dashboard.auth')) === null,
                'credentials left in sessionStorage after logout');
            await login('token', 'not-the-token');
            await page.locator('#login-status.error').filter({ hasText: 'Refused' }).waitFor({
                timeout: WAIT
            });
            await login('token', TOKEN);
            await page.locator('#overview-info [data-key=version]').waitFor({ timeout: WAIT });
            check(
                (await page.locator('#who').textContent()) === 'token',
                'not logged in with the token');
        });

        await step('no_page_errors_no_foreign_requests', async () => {
            check(page_errors.length === 0, page_errors.join('\n'));
            check(foreign.length === 0, `requests outside the broker: ${foreign.join(', ')}`);
            const own = `ws://127.0.0.1:${broker.ws_port}/mqtt`;
            check(
                websockets.length > 0 && websockets.every((u) => u === own),
                `websockets opened: ${websockets.join(', ')}`);
        });
    } catch (e) {
        steps.fail_setup(e);
    } finally {
        for (const p of procs) p.kill();
        if (context) await context.close().catch(() => {});
        await steps.ternd_clean_exit(broker, join(args.artifacts, 'ternd.log'));
    }
    steps.finish();
}

main().catch(fail_main);
