// Unit tests of the dashboard's DOM-free modules (run: npm test, in web/): rates, topic tree,
// subscription filter tree and matching, Authorization headers, answer normalisation, REST paths,
// the reload result, the configuration table's rows and the chart's scale.

import assert from 'node:assert/strict';
import {test} from 'node:test';

import {ApiError, list_of, make_api, topic_path, total_of} from '../src/js/api.js';
import {auth_clear, auth_header, auth_load, auth_save, basic_header} from '../src/js/auth.js';
import {nice_max} from '../src/js/chart.js';
import {
    filter_matches,
    filter_share_split,
    filter_tree_build,
    filter_tree_children,
    filter_tree_clients,
    filter_tree_count,
    filter_tree_matching
} from '../src/js/filter_tree.js';
import {default_series, flatten_numbers, RateHistory, rates_between} from '../src/js/rates.js';
import {
    tree_add,
    tree_children,
    tree_find,
    tree_new,
    tree_topics,
    tree_total,
    tree_unretain
} from '../src/js/topic_tree.js';
import {config_rows, reload_report} from '../src/js/view_listeners.js';
import {sub_label} from '../src/js/view_subscriptions.js';

test('flatten_numbers keeps finite numbers under dotted keys', () => {
    const f = flatten_numbers(
        { version: '1', uptime_s: 5, stats: { a: 1, b: { c: 2 }, s: 'x', n: NaN }, l: [1] });
    assert.deepEqual(f, { uptime_s: 5, 'stats.a': 1, 'stats.b.c': 2 });
});

test('rates_between divides by seconds and refuses resets and new keys', () => {
    const r = rates_between(
        { t: 1000, values: { a: 10, b: 50 } }, { t: 3000, values: { a: 30, b: 40, c: 1 } });
    assert.deepEqual(r, { a: 10, b: null, c: null });
    assert.deepEqual(
        rates_between({ t: 1000, values: { a: 1 } }, { t: 1000, values: { a: 2 } }), { a: null });
});

test('default_series picks message counters in and out, then bytes', () => {
    const keys = [
        'uptime_s', 'workers', 'stats.clients_connected', 'stats.messages_received',
        'stats.messages_sent', 'stats.bytes_received', 'stats.publish_received'
    ];
    assert.deepEqual(default_series(keys), ['stats.messages_received', 'stats.messages_sent']);
    assert.deepEqual(default_series(['x.bytes_in', 'x.bytes_out']), ['x.bytes_in', 'x.bytes_out']);
    assert.deepEqual(default_series(['uptime_s', 'workers', 'a', 'b', 'c']), ['a', 'b']);
});

test('RateHistory keeps a bounded series', () => {
    const h = new RateHistory(2);
    h.push(0, { stats: { m: 0 } });
    assert.deepEqual(h.series('stats.m'), []);
    h.push(1000, { stats: { m: 5 } });
    h.push(2000, { stats: { m: 15 } });
    h.push(4000, { stats: { m: 15 } });
    assert.deepEqual(h.series('stats.m'), [{ t: 2000, v: 10 }, { t: 4000, v: 0 }]);
    assert.deepEqual(h.latest_rates(), { 'stats.m': 0 });
});

test('topic tree: levels, empty levels, counts, retained flags', () => {
    const root = tree_new();
    tree_add(root, 'a/b/c', { retained: true, payload: 'r' });
    tree_add(root, 'a/b/c', { live: true, payload: 'x' });
    tree_add(root, 'a/b', { live: true });
    tree_add(root, '/lead', { live: true });
    tree_add(root, 'a//d', { live: true });
    assert.equal(tree_find(root, 'a/b/c').count, 1);
    assert.equal(tree_find(root, 'a/b/c').retained, true);
    assert.equal(tree_find(root, 'a/b/c').last.payload, 'x');
    assert.equal(tree_find(root, 'a/b/c').topic, 'a/b/c');
    assert.equal(tree_find(root, '/lead').topic, '/lead');
    assert.ok(tree_find(root, 'a//d'));
    assert.equal(tree_find(root, 'a/x'), null);
    assert.equal(tree_total(root), 4);
    assert.equal(tree_topics(root), 4);
    assert.equal(tree_topics(tree_find(root, 'a')), 3);
    assert.deepEqual(tree_children(root).map((n) => n.name), ['', 'a']);
    tree_unretain(root, 'a/b/c');
    assert.equal(tree_find(root, 'a/b/c').retained, false);
    tree_add(root, 'x/y/z', { retained: true });
    tree_add(root, 'x/w', { live: true });
    tree_unretain(root, 'x/y/z');
    assert.equal(tree_find(root, 'x/y'), null, 'empty branch pruned');
    assert.ok(tree_find(root, 'x/w'), 'sibling kept');
    tree_unretain(root, 'no/such');
});

test('basic_header encodes UTF-8 credentials', () => {
    assert.equal(basic_header('admin', 'secret'), 'Basic YWRtaW46c2VjcmV0');
    assert.equal(
        basic_header('jö', 'p:w'), `Basic ${Buffer.from('jö:p:w', 'utf8').toString('base64')}`);
    assert.equal(auth_header({ kind: 'token', token: 'abc' }), 'Bearer abc');
    assert.equal(auth_header(null), null);
});

test('auth is stored in the given storage and cleared', () => {
    const m = new Map();
    const st = {
        getItem: (k) => m.get(k) ?? null,
        setItem: (k, v) => m.set(k, v),
        removeItem: (k) => m.delete(k)
    };
    assert.equal(auth_load(st), null);
    auth_save({ kind: 'token', token: 't' }, st);
    assert.deepEqual(auth_load(st), { kind: 'token', token: 't' });
    m.set('tern.dashboard.auth', '{bad json');
    assert.equal(auth_load(st), null);
    auth_save({ kind: 'basic', user: 'u', password: 'p' }, st);
    auth_clear(st);
    assert.equal(auth_load(st), null);
});

test('list_of and total_of accept arrays and wrapped answers', () => {
    assert.deepEqual(list_of([1, 2], 'clients'), [1, 2]);
    assert.deepEqual(list_of({ clients: [1], total: 9 }, 'clients'), [1]);
    assert.deepEqual(list_of({ items: [3], total: 9 }, 'clients'), [3]);
    assert.deepEqual(list_of({ a: [1], b: [2] }, 'clients'), []);
    assert.deepEqual(list_of(null, 'x'), []);
    assert.equal(total_of({ total: 9 }), 9);
    assert.equal(total_of([1]), null);
});

test('topic_path encodes each level and keeps the separators', () => {
    assert.equal(topic_path('a b/c#/?x/%'), 'a%20b/c%23/%3Fx/%25');
    assert.equal(topic_path('/a//b'), '/a//b');
});

test('api calls send auth, JSON bodies, and raise JSON errors', async () => {
    const calls = [];
    const answers = [
        { ok: true, status: 200, text: '{"clients":[]}' },
        { ok: true, status: 200, text: '{"topic":"t","routed":0}' },
        {
            ok: false,
            status: 401,
            statusText: 'Unauthorized',
            text: '{"error":{"status":401,"message":"unauthorized"}}'
        },
    ];
    const fake = async (url, init) => {
        calls.push({ url, init });
        const a = answers.shift();
        return { ok: a.ok, status: a.status, statusText: a.statusText, text: async () => a.text };
    };
    const api = make_api(() => ({ kind: 'token', token: 'tok' }), '/api/v1', fake);
    assert.deepEqual(await api.clients({ offset: 10, limit: 5, match: 'a b' }), { clients: [] });
    assert.equal(calls[0].url, '/api/v1/clients?offset=10&limit=5&match=a+b');
    assert.equal(calls[0].init.headers.Authorization, 'Bearer tok');
    assert.equal(calls[0].init.credentials, 'omit');
    await api.publish({ topic: 't', payload: 'p', qos: 1, retain: false });
    assert.equal(calls[1].init.method, 'POST');
    assert.deepEqual(
        JSON.parse(calls[1].init.body), { topic: 't', payload: 'p', qos: 1, retain: false });
    await assert.rejects(
        api.kick('a/b c'),
        (e) => e instanceof ApiError && e.status === 401 && /unauthorized/.test(e.message));
    assert.equal(calls[2].url, '/api/v1/clients/a%2Fb%20c');
    assert.equal(calls[2].init.method, 'DELETE');
});

test('nice_max rounds up to 1, 2 or 5 times a power of ten', () => {
    assert.equal(nice_max(0), 1);
    assert.equal(nice_max(1.5), 2);
    assert.equal(nice_max(3), 5);
    assert.equal(nice_max(7), 10);
    assert.equal(nice_max(120), 200);
    assert.equal(nice_max(1000), 1000);
});

test('filter_share_split takes the group off shared filters only', () => {
    assert.deepEqual(filter_share_split('$share/g1/a/+'), { group: 'g1', filter: 'a/+' });
    assert.deepEqual(filter_share_split('$share/g/#'), { group: 'g', filter: '#' });
    assert.deepEqual(filter_share_split('a/$share/g'), { group: null, filter: 'a/$share/g' });
    assert.deepEqual(
        filter_share_split('$share/nogroup'), { group: null, filter: '$share/nogroup' });
});

test('filter_matches follows MQTT wildcards and $ topics', () => {
    const cases = [
        ['a/b', 'a/b', true],
        ['a/b', 'a/c', false],
        ['a/+', 'a/b', true],
        ['a/+', 'a', false],
        ['a/+', 'a/b/c', false],
        ['a/+', 'a/', true],
        ['a/#', 'a', true],
        ['a/#', 'a/b/c', true],
        ['a/#', 'ab', false],
        ['#', 'x/y', true],
        ['+/+', '/x', true],
        ['+', 'a/b', false],
        ['#', '$SYS/x', false],
        ['+/x', '$SYS/x', false],
        ['$SYS/#', '$SYS/x', true],
        ['a/b/c', 'a/b', false],
        ['a//b', 'a//b', true],
        ['a/+/b', 'a//b', true],
    ];
    for (const [f, t, want] of cases) assert.equal(filter_matches(f, t), want, `${f} vs ${t}`);
});

test('filter tree: levels, shared groups, counts, clients and matching', () => {
    const rows = [
        { client_id: 'c1', filter: 'home/+/temp', qos: 1, shared_group: null },
        { client_id: 'c2', filter: 'home/#', qos: 0, shared_group: null },
        { client_id: 'c2', filter: '$share/g1/home/+/temp', qos: 2, shared_group: 'g1' },
        { client_id: 'c3', filter: 'office/door', qos: 1, subscription_id: 7 },
        { client_id: 'c4', filter: '#', qos: 0 },
    ];
    const root = filter_tree_build(rows);
    assert.equal(filter_tree_count(root), 5);
    assert.deepEqual([...filter_tree_clients(root)].sort(), ['c1', 'c2', 'c3', 'c4']);
    assert.deepEqual(filter_tree_children(root).map((n) => n.name), ['#', 'home', 'office']);
    const home = root.children.get('home');
    assert.equal(filter_tree_count(home), 3);
    assert.deepEqual(filter_tree_children(home).map((n) => n.name), ['#', '+']);
    const temp = home.children.get('+').children.get('temp');
    assert.equal(temp.path, 'home/+/temp');
    assert.deepEqual(temp.subs.map((s) => [s.client_id, s.group]), [['c1', null], ['c2', 'g1']]);
    assert.deepEqual(
        filter_tree_matching(root, 'home/kitchen/temp').map((s) => s.filter),
        ['#', 'home/#', 'home/+/temp', '$share/g1/home/+/temp']);
    assert.deepEqual(
        filter_tree_matching(root, 'office/door').map((s) => s.client_id), ['c4', 'c3']);
    assert.deepEqual(filter_tree_matching(root, '$SYS/x'), []);
    assert.equal(filter_tree_count(filter_tree_build([])), 0);
});

test('sub_label names the client, QoS, group and subscription id', () => {
    assert.equal(sub_label({ client_id: 'c', qos: 1, shared_group: null }), 'c (QoS 1)');
    assert.equal(
        sub_label({ client_id: 'c', qos: 2, group: 'g', subscription_id: 7 }),
        'c (QoS 2, shared group g, id 7)');
});

test('subscriptions and reload calls: paths, query, method; 422 keeps the body', async () => {
    const calls = [];
    const answers = [
        { ok: true, status: 200, text: '{"subscriptions":[],"total":0,"offset":5,"limit":10}' },
        { ok: true, status: 202, text: '{"status":"reloading","config_file":"/e/t.conf"}' },
        {
            ok: false,
            status: 422,
            statusText: 'Unprocessable Entity',
            text: JSON.stringify({
                error: {
                    status: 422,
                    message: '/e/t.conf is invalid, the running configuration is kept: ' +
                        '/e/t.conf:3: unknown option',
                    errors: ['/e/t.conf:3: unknown option', '/e/t.conf:9: bad value'],
                    warnings: ['/e/t.conf:1: deprecated'],
                }
            }),
        },
    ];
    const fake = async (url, init) => {
        calls.push({ url, init });
        const a = answers.shift();
        return { ok: a.ok, status: a.status, statusText: a.statusText, text: async () => a.text };
    };
    const api = make_api(() => ({ kind: 'basic', user: 'u', password: 'p' }), '/api/v1', fake);
    await api.subscriptions({ offset: 5, limit: 10, client_id: 'a b', filter: '#' });
    assert.equal(calls[0].url, '/api/v1/subscriptions?offset=5&limit=10&client_id=a+b&filter=%23');
    assert.equal(calls[0].init.method, 'GET');
    const ok = await api.reload();
    assert.equal(calls[1].url, '/api/v1/reload');
    assert.equal(calls[1].init.method, 'POST');
    assert.equal(calls[1].init.body, undefined);
    const r = reload_report({ answer: ok });
    assert.equal(r.kind, 'ok');
    assert.match(r.text, /^reload requested \(\/e\/t\.conf\)/);
    assert.deepEqual(r.lines, []);
    let err = null;
    await api.reload().catch((e) => (err = e));
    assert.ok(err instanceof ApiError && err.status === 422);
    const bad = reload_report({ error: err });
    assert.equal(bad.kind, 'error');
    assert.deepEqual(bad.lines, [
        '/e/t.conf:3: unknown option', '/e/t.conf:9: bad value', 'warning: /e/t.conf:1: deprecated'
    ]);
    const other = reload_report({ error: new ApiError(409, '409 no configuration file') });
    assert.deepEqual(
        other, { kind: 'error', text: 'reload refused: 409 no configuration file', lines: [] });
    assert.deepEqual(
        reload_report({ answer: { status: 'reloading', warnings: ['w'] } }).lines, ['warning: w']);
});

test('config_rows flattens GET /api/v1/config and filters by option or value', () => {
    const doc = {
        global: { max_qos: 2, http_api_token: '<redacted>', password_file: null },
        listeners: [
            { protocol: 'mqtt', port: 1883, bind_address: null, unix_path: null, max_connections: -1 },
            { protocol: 'websockets', port: 0, bind_address: '127.0.0.1', unix_path: null, http_api: true },
        ],
    };
    const all = config_rows(doc);
    assert.deepEqual(all.slice(0, 3), [
        { scope: 'global', option: 'http_api_token', value: '<redacted>' },
        { scope: 'global', option: 'max_qos', value: '2' },
        { scope: 'global', option: 'password_file', value: '' },
    ]);
    assert.equal(all.length, 3 + 5 + 5);
    assert.deepEqual(config_rows(doc, 'HTTP_API'), [
        { scope: 'global', option: 'http_api_token', value: '<redacted>' },
        { scope: 'listener 1 (websockets 127.0.0.1:0)', option: 'http_api', value: 'true' },
    ]);
    assert.deepEqual(config_rows(doc, '1883').map((r) => r.scope), ['listener 0 (mqtt *:1883)']);
    assert.deepEqual(config_rows(null), []);
});
