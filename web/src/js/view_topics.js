// Topic tree: renders the shared topic tree (topic_tree.js) fed by retained listings and by
// every message the dashboard's MQTT connection receives. "Watch" subscribes that connection
// to a filter ('#' by default), connecting with the console's settings if needed.

import {list_of} from './api.js';
import {fmt_payload, h, replace, status} from './dom.js';
import {tree_children, tree_topics, tree_total} from './topic_tree.js';
import {retained_payload} from './view_retained.js';

export function view_topics(ctx) {
    const open = new Set();
    let pending = null;
    let watching = null;
    const filter = h('input', { id: 'topics-filter', value: '#', class: 'grow' });
    const watch = h('button', { type: 'button', id: 'topics-watch' }, 'Watch live');
    const load =
        h('button', { type: 'button', class: 'secondary', id: 'topics-load' }, 'Load retained');
    const summary = h('span', { class: 'hint', id: 'topics-summary' });
    const tree_el = h('div', { class: 'tree', id: 'topics-tree' });
    const st = h('p', { class: 'status', role: 'status', id: 'topics-status' });
    const el =
        h('section', { id: 'view-topics' },
          h('div', { class: 'card' }, h('h2', {}, 'Topic tree'),
            h('div', { class: 'row' }, h('label', {}, 'filter'), filter, watch, load), summary,
            tree_el, st));

    function node_el(node) {
        const kids = tree_children(node);
        const meta = [];
        if (node.retained) meta.push(h('span', { class: 'badge on' }, 'retained'));
        const total = tree_total(node);
        if (total) meta.push(h('span', { class: 'meta' }, `${total} msg`));
        if (node.last)
            meta.push(h('span', { class: 'meta mono' }, fmt_payload(node.last.payload, 80)));
        const label =
            [h('span', { class: 'name' }, node.name === '' ? '(empty)' : node.name), meta];
        if (!kids.length) return h('li', { class: 'leaf', 'data-topic': node.topic }, label);
        const d =
            h('details', { open: open.has(node.topic) },
              h('summary', {}, label, h('span', { class: 'meta' }, `${tree_topics(node)} topics`)),
              h('ul', {}, kids.map(node_el)));
        d.addEventListener(
            'toggle', () => (d.open ? open.add(node.topic) : open.delete(node.topic)));
        return h('li', { 'data-topic': node.topic }, d);
    }

    function render() {
        pending = null;
        const kids = tree_children(ctx.tree);
        replace(
            tree_el,
            kids.length ? h('ul', {}, kids.map(node_el)) :
                          h('p', { class: 'hint' },
                            'No topics yet: load the retained messages or watch live messages.'));
        summary.textContent =
            `${tree_topics(ctx.tree)} topics, ${tree_total(ctx.tree)} live messages`;
    }

    function schedule() {
        if (!pending && el.isConnected) pending = setTimeout(render, 300);
    }

    async function load_retained() {
        try {
            const rows = list_of(await ctx.api.retained('#'), 'retained');
            ctx.topics_seen(
                rows.map((r) => ({ topic: r.topic, payload: retained_payload(r), qos: r.qos })));
            status(st, 'ok', `${rows.length} retained topics loaded`);
            render();
        } catch (e) {
            if (!ctx.fail(e)) status(st, 'error', e.message);
        }
    }

    watch.addEventListener('click', async () => {
        try {
            if (watching) {
                await ctx.mqtt.unsubscribe(watching).catch(() => {});
                watching = null;
                watch.textContent = 'Watch live';
                status(st, 'info', 'stopped watching');
                return;
            }
            if (ctx.mqtt.state !== 'connected') await ctx.console_connect();
            const f = filter.value.trim() || '#';
            await ctx.mqtt.subscribe(f, 0);
            watching = f;
            watch.textContent = 'Stop watching';
            status(st, 'ok', `watching ${f}`);
        } catch (e) {
            status(st, 'error', `watch: ${e.message}`);
        }
    });
    load.addEventListener('click', load_retained);
    ctx.mqtt.on_state((state) => {
        if (state !== 'connected' && watching) {
            watching = null;
            watch.textContent = 'Watch live';
        }
    });

    return {
        el,
        show: () => (tree_topics(ctx.tree) ? render() : load_retained()),
        hide() {},
        changed: schedule
    };
}
