// Subscriptions: GET /api/v1/subscriptions as a paged table (offset/limit) with the API's two
// filters (client id: exact; filter: contains), and a tree of the subscribed filters' levels
// (filter_tree.js) built from every matching row, up to TREE_MAX, with a topic tester listing
// the subscriptions a topic would reach. Loads when shown and on Refresh; does not poll.

import {list_of, total_of} from './api.js';
import {field, fmt_value, h, replace, status, table} from './dom.js';
import {
    filter_tree_build,
    filter_tree_children,
    filter_tree_clients,
    filter_tree_count,
    filter_tree_matching
} from './filter_tree.js';

const KNOWN = [
    'client_id', 'filter', 'qos', 'no_local', 'retain_as_published', 'retain_handling',
    'subscription_id', 'shared_group'
];
const PAGE = 50;
const TREE_PAGE = 1000;  // the API's largest page
const TREE_MAX = 10000;  // rows read for the tree
const SUBS_SHOWN = 20;   // subscriptions listed per tree node

// "client-id (QoS 1, $share group g)": one subscription as a short text.
export function sub_label(s) {
    const parts = [`QoS ${fmt_value(field(s, 'qos'))}`];
    const group = s.group ?? s.shared_group;
    if (group) parts.push(`shared group ${group}`);
    if (s.subscription_id !== undefined) parts.push(`id ${s.subscription_id}`);
    return `${s.client_id} (${parts.join(', ')})`;
}

export function view_subscriptions(ctx) {
    let offset = 0;
    let debounce = null;
    let page_seq = 0;  // answers to an older request than the latest are ignored
    let tree_seq = 0;
    let tree = filter_tree_build([]);
    const open = new Set();
    const client =
        h('input',
          { id: 'subs-client', type: 'search', class: 'grow', placeholder: 'client id (exact)' });
    const filter =
        h('input',
          { id: 'subs-filter', type: 'search', class: 'grow', placeholder: 'filter contains…' });
    const refresh = h('button', { type: 'button', id: 'subs-refresh' }, 'Refresh');
    const prev = h('button', { type: 'button', class: 'secondary', id: 'subs-prev' }, '‹ prev');
    const next = h('button', { type: 'button', class: 'secondary', id: 'subs-next' }, 'next ›');
    const page = h('span', { class: 'hint', id: 'subs-page' });
    const list = h('div', { id: 'subs-table' });
    const st = h('p', { class: 'status', role: 'status', id: 'subs-status' });
    const summary = h('span', { class: 'hint', id: 'subs-tree-summary' });
    const tree_el = h('div', { class: 'tree', id: 'subs-tree' });
    const test =
        h('input',
          { id: 'subs-test-topic', class: 'grow', placeholder: 'a topic, e.g. sensors/17/temp' });
    const test_out = h('div', { id: 'subs-test-result' });
    const el = h(
        'section', { id: 'view-subscriptions' },
        h('div', { class: 'card' }, h('h2', {}, 'Subscriptions'),
          h('div', { class: 'row' }, client, filter, refresh), list,
          h('div', { class: 'row' }, prev, next, page), st),
        h('div', { class: 'card' }, h('h2', {}, 'Filter tree'),
          h('p', { class: 'hint' },
            'The levels of the subscribed filters (shared ones under their filter), for the ' +
                'client id and filter above. Test a topic to see which subscriptions it reaches.'),
          h('div', { class: 'row' }, h('label', {}, 'topic'), test), test_out, summary, tree_el));

    function params() {
        return { client_id: client.value.trim(), filter: filter.value.trim() };
    }

    // The client id cell: clicking it shows that client's subscriptions only.
    function client_cell(r) {
        return h(
            'button', {
                type: 'button',
                class: 'link mono',
                title: 'show only this client',
                onclick: () => {
                    client.value = r.client_id;
                    reload_all();
                }
            },
            r.client_id);
    }

    function columns(rows) {
        const extra =
            [...new Set(rows.flatMap((r) => Object.keys(r)))].filter((k) => !KNOWN.includes(k));
        const col = (label, key, cls) => ({ label, class: cls, get: (r) => fmt_value(r[key]) });
        return [
            { label: 'client id', get: client_cell },
            col('filter', 'filter', 'mono'),
            col('qos', 'qos', 'num'),
            col('no local', 'no_local'),
            col('retain as published', 'retain_as_published'),
            col('retain handling', 'retain_handling', 'num'),
            col('subscription id', 'subscription_id', 'num'),
            col('shared group', 'shared_group', 'mono'),
            ...extra.map((k) => col(k, k)),
        ];
    }

    async function load_page() {
        const seq = ++page_seq;
        try {
            const data = await ctx.api.subscriptions({ offset, limit: PAGE, ...params() });
            if (seq !== page_seq) return;
            const rows = list_of(data, 'subscriptions');
            const total = total_of(data);
            replace(list, table(columns(rows), rows, 'no subscriptions match'));
            prev.disabled = offset === 0;
            next.disabled = total !== null ? offset + rows.length >= total : rows.length < PAGE;
            const shown = rows.length ? `${offset + 1}–${offset + rows.length}` : '0';
            page.textContent = total !== null ? `${shown} of ${total}` : shown;
            const n = total ?? rows.length;
            status(st, 'info', `${n} subscription${n === 1 ? '' : 's'}`);
        } catch (e) {
            if (!ctx.fail(e)) status(st, 'error', e.message);
        }
    }

    async function load_tree() {
        const seq = ++tree_seq;
        const rows = [];
        let total = null;
        try {
            while (rows.length < TREE_MAX) {
                const data = await ctx.api.subscriptions(
                    { offset: rows.length, limit: TREE_PAGE, ...params() });
                const got = list_of(data, 'subscriptions');
                total = total_of(data);
                rows.push(...got);
                if (got.length < TREE_PAGE || (total !== null && rows.length >= total)) break;
            }
        } catch (e) {
            if (!ctx.fail(e)) status(st, 'error', `filter tree: ${e.message}`);
            return;
        }
        if (seq !== tree_seq) return;
        tree = filter_tree_build(rows);
        const cut =
            total !== null && total > rows.length ? ` (the first ${rows.length} of ${total})` : '';
        summary.textContent = `${filter_tree_count(tree)} subscriptions of ${
            filter_tree_clients(tree).size} clients${cut}`;
        render_tree();
        render_test();
    }

    function node_el(node) {
        const kids = filter_tree_children(node);
        const subs =
            node.subs.slice(0, SUBS_SHOWN)
                .map(
                    (s) => h('span', { class: 'badge', 'data-client': s.client_id }, sub_label(s)));
        if (node.subs.length > SUBS_SHOWN)
            subs.push(h('span', { class: 'meta' }, `+${node.subs.length - SUBS_SHOWN} more`));
        const label = [
            h('span', { class: 'name' }, node.name === '' ? '(empty)' : node.name),
            h('span', { class: 'meta' }, `${filter_tree_count(node)} sub.`), ' ', subs
        ];
        if (!kids.length) return h('li', { class: 'leaf', 'data-filter': node.path }, label);
        const d =
            h('details', { open: open.has(node.path) }, h('summary', {}, label),
              h('ul', {}, kids.map(node_el)));
        d.addEventListener('toggle', () => (d.open ? open.add(node.path) : open.delete(node.path)));
        return h('li', { 'data-filter': node.path }, d);
    }

    function render_tree() {
        const kids = filter_tree_children(tree);
        replace(
            tree_el,
            kids.length ? h('ul', {}, kids.map(node_el)) :
                          h('p', { class: 'hint' }, 'No subscriptions match.'));
    }

    function render_test() {
        const topic = test.value;
        if (!topic) {
            replace(test_out);
            return;
        }
        const hits = filter_tree_matching(tree, topic);
        replace(
            test_out,
            h('p', { class: 'hint' },
              `${hits.length} subscription${hits.length === 1 ? '' : 's'} match ${topic}`),
            h('ul', { class: 'matches' },
              hits.map(
                  (s) =>
                      h('li', { class: 'mono', 'data-client': s.client_id },
                        `${s.filter}: ${sub_label(s)}`))));
    }

    function reload_all() {
        offset = 0;
        load_page();
        load_tree();
    }

    for (const input of [client, filter]) {
        input.addEventListener('input', () => {
            clearTimeout(debounce);
            debounce = setTimeout(reload_all, 250);
        });
    }
    test.addEventListener('input', render_test);
    refresh.addEventListener('click', () => {
        load_page();
        load_tree();
    });
    prev.addEventListener('click', () => {
        offset = Math.max(0, offset - PAGE);
        load_page();
    });
    next.addEventListener('click', () => {
        offset += PAGE;
        load_page();
    });

    return {
        el,
        show() {
            load_page();
            load_tree();
        },
        hide() {
            clearTimeout(debounce);
        },
    };
}
