// What the end-to-end tests in headless Chromium share (dashboard_e2e.mjs, wss_e2e.mjs): the
// dependency check, `npm ci` from the lockfiles, child processes whose output is awaited line by
// line, the real ternd started on a private directory (ready file, listeners from it), Chromium
// launched through playwright-core with Debian's binary, and the "ok NAME" / "FAIL NAME: why" /
// "N passed, N failed" reporting. Nothing here knows the dashboard or a test's configuration.

import {spawn, spawnSync} from 'node:child_process';
import {existsSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs';
import {createRequire} from 'node:module';
import {dirname, join, resolve} from 'node:path';
import {fileURLToPath} from 'node:url';

export const HERE = dirname(fileURLToPath(import.meta.url));
export const ROOT = resolve(HERE, '..', '..');
export const WEB = join(ROOT, 'web');
export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'
];
export const WAIT = 15000;  // deadline of every wait, ms

// Debian package of each tool the tests may need (named in the failure when it is missing).
const PACKAGES = {
    mosquitto_sub: 'mosquitto-clients',
    mosquitto_pub: 'mosquitto-clients',
    mosquitto_passwd: 'mosquitto',
    stdbuf: 'coreutils',
    openssl: 'openssl',
    npm: 'npm',
};

// --ternd PATH, --artifacts DIR and --only WORD, as every test here takes them.
export function parse_args(argv, script) {
    const a = { artifacts: join(process.cwd(), `${script}-artifacts`), only: '' };
    for (let i = 0; i < argv.length; i++) {
        if (argv[i] === '--ternd')
            a.ternd = resolve(argv[++i]);
        else if (argv[i] === '--artifacts')
            a.artifacts = resolve(argv[++i]);
        else if (argv[i] === '--only')
            a.only = argv[++i];
        else
            throw new Error(`unknown argument ${argv[i]}`);
    }
    if (!a.ternd)
        throw new Error(
            `usage: node ${script}.mjs --ternd PATH [--artifacts DIR] [--only WORD]`);
    return a;
}

export function run(cmd, args, opts = {}) {
    const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts });
    if (r.error || r.status !== 0) {
        throw new Error(`${cmd} ${args.join(' ')} failed: ${r.error?.message ?? r.stderr ?? ''}${
            r.stdout ?? ''}`);
    }
    return r.stdout;
}

export function check(cond, what) {
    if (!cond) throw new Error(what);
}

// Missing dependencies are failures that name what to install.
export function check_dependencies(tools) {
    const missing = [];
    if (!existsSync(CHROMIUM)) missing.push(`${CHROMIUM} (Debian package chromium)`);
    for (const t of tools) {
        if (spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0)
            missing.push(`${t} (Debian package ${PACKAGES[t] ?? t})`);
    }
    if (missing.length) throw new Error(`missing test dependencies: ${missing.join(', ')}`);
}

// npm ci from the lockfiles when node_modules lack the packages: playwright-core here, MQTT.js
// in web/ (the browser build the pages load, vendored from npm: no CDN).
export function npm_ci() {
    if (!existsSync(join(HERE, 'node_modules', 'playwright-core', 'package.json')))
        run('npm', ['ci', '--no-audit', '--no-fund'], { cwd: HERE });
    if (!existsSync(mqtt_esm_path()))
        run('npm', ['ci', '--no-audit', '--no-fund'], { cwd: WEB });
}

// MQTT.js's browser build (an ES module), as web/build.mjs vendors it.
export function mqtt_esm_path() {
    return join(WEB, 'node_modules', 'mqtt', 'dist', 'mqtt.esm.js');
}

export function playwright_chromium() {
    return createRequire(join(HERE, 'package.json'))('playwright-core').chromium;
}

// Debian's Chromium, headless, with a fresh profile under dir; extra_args after the usual ones.
export async function launch_chromium(
    dir, extra_args = [], viewport = { width: 1280, height: 900 }) {
    const context = await playwright_chromium().launchPersistentContext(
        mkdtempSync(join(dir, 'chromium-profile-')), {
            executablePath: CHROMIUM,
            headless: true,
            args: [...CHROMIUM_ARGS, ...extra_args],
            viewport,
        });
    const page = context.pages()[0] || (await context.newPage());
    return { context, page };
}

// A child process whose output (stdout and stderr) can be awaited line by line.
export class Proc {
    constructor(name, cmd, args) {
        this.name = name;
        this.out = '';
        this.waiters = [];
        this.exited = null;
        this.p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
        const feed = (d) => {
            this.out += d.toString();
            this.poke();
        };
        this.p.stdout.on('data', feed);
        this.p.stderr.on('data', feed);
        this.p.on('exit', (code, sig) => {
            this.exited = { code, sig };
            this.poke();
        });
    }

    poke() {
        this.waiters = this.waiters.filter((w) => !w());
    }

    // Resolves when the output matches re; rejects at the deadline or when the process exits
    // without matching.
    wait_for(re, what = String(re), ms = WAIT) {
        return new Promise((res, rej) => {
            const timer = setTimeout(
                () => rej(
                    new Error(`${this.name}: no ${what} within ${ms} ms; output:\n${this.out}`)),
                ms);
            const check = () => {
                const m = this.out.match(re);
                if (m) {
                    clearTimeout(timer);
                    res(m);
                    return true;
                }
                if (this.exited) {
                    clearTimeout(timer);
                    rej(new Error(`${this.name} exited (${JSON.stringify(this.exited)}) before ${
                        what}; output:\n${this.out}`));
                    return true;
                }
                return false;
            };
            if (!check()) this.waiters.push(check);
        });
    }

    wait_exit(ms = WAIT) {
        return new Promise((res, rej) => {
            const timer =
                setTimeout(() => rej(new Error(`${this.name} did not exit within ${ms} ms`)), ms);
            const check = () => {
                if (!this.exited) return false;
                clearTimeout(timer);
                res(this.exited);
                return true;
            };
            if (!check()) this.waiters.push(check);
        });
    }

    kill(sig = 'SIGKILL') {
        if (!this.exited) this.p.kill(sig);
    }
}

// The real ternd on the configuration lines given, in the private directory dir.
export class Ternd {
    constructor(ternd, dir) {
        this.ternd = ternd;
        this.dir = dir;
        this.proc = null;
        this.listeners = [];  // [kind, address, port] per listener, from the ready file
    }

    async start(conf_lines) {
        this.conf = join(this.dir, 'ternd.conf');
        writeFileSync(this.conf, [
            // Run as root (CI), ternd would drop to its default user, which cannot write the
            // ready file in this private directory: stay root, as tests/interop/harness.py does.
            ...(process.getuid && process.getuid() === 0 ? ['user root'] : []),
            ...conf_lines,
            '',
        ].join('\n'));
        const ready = join(this.dir, 'ready');
        this.proc = new Proc('ternd', this.ternd, ['-c', this.conf, '--ready-file', ready]);
        // The ready file is written atomically (renamed into place) once the listeners are open.
        const deadline = Date.now() + 30000;
        while (!existsSync(ready)) {
            if (this.proc.exited)
                throw new Error(`ternd exited before it was ready:\n${this.proc.out}`);
            if (Date.now() > deadline)
                throw new Error(`ternd not ready within 30 s:\n${this.proc.out}`);
            await new Promise((r) => setTimeout(r, 20));
        }
        this.listeners =
            readFileSync(ready, 'utf8').trim().split('\n').map((l) => l.split(/\s+/));
    }

    // The ports of the listeners of one kind ("mqtt", "ws"), in configuration order.
    ports(kind) {
        return this.listeners.filter((l) => l[0] === kind).map((l) => Number(l[2]));
    }

    async stop() {
        if (!this.proc || this.proc.exited) return this.proc?.exited;
        this.proc.kill('SIGTERM');
        return this.proc.wait_exit(20000);
    }
}

// Runs named steps, counts and reports them, and ends with ternd's clean exit.
export class Steps {
    constructor(only = '') {
        this.only = only;
        this.passed = 0;
        this.failed = 0;
        this.on_failure = null;  // async (name) => {}: e.g. a screenshot
    }

    async step(name, fn) {
        if (this.only && !name.includes(this.only)) return;
        const t0 = Date.now();
        const took = () => `${((Date.now() - t0) / 1000).toFixed(1)} s`;
        try {
            await fn();
            this.passed++;
            console.log(`ok ${name} (${took()})`);
        } catch (e) {
            this.failed++;
            console.log(`FAIL ${name} (${took()}): ${e.message}`);
            if (this.on_failure) await this.on_failure(name).catch(() => {});
        }
    }

    fail_setup(e) {
        this.failed++;
        console.log(`FAIL setup: ${e.stack || e.message}`);
    }

    // Stops ternd (SIGTERM) and checks it exited 0 without a sanitizer report; its output goes
    // to log_path.
    async ternd_clean_exit(ternd, log_path) {
        const ex = await ternd.stop().catch((e) => ({ error: e.message }));
        const only = this.only;
        this.only = '';
        await this.step('ternd_clean_exit', async () => {
            if (!ternd.proc) throw new Error('ternd was not started');
            check(!ex.error, ex.error);
            writeFileSync(log_path, ternd.proc.out);
            check(
                ex.code === 0,
                `ternd exit ${JSON.stringify(ex)}:\n${
                    ternd.proc.out.split('\n').slice(-30).join('\n')}`);
            check(
                !/AddressSanitizer|runtime error:|LeakSanitizer/.test(ternd.proc.out),
                `sanitizer report:\n${ternd.proc.out}`);
        });
        this.only = only;
    }

    finish() {
        console.log(`${this.passed} passed, ${this.failed} failed`);
        process.exit(this.failed ? 1 : 0);
    }
}

// The last resort of a test's main(): one failure line and the summary.
export function fail_main(e) {
    console.log(`FAIL: ${e.message}`);
    console.log('0 passed, 1 failed');
    process.exit(1);
}
