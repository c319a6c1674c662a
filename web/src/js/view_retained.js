// Retained messages: GET /api/v1/retained?filter= (a topic filter, '#' by default), a table
// of topic, payload and QoS, and a delete button (two clicks) per topic calling
// DELETE /api/v1/retained/{topic}. Loads on demand and when shown; does not poll.

import {list_of} from './api.js';
import {confirm_button, field, fmt_payload, fmt_value, h, replace, status, table} from './dom.js';

const KNOWN = ['topic', 'payload', 'payload_base64', 'qos'];

// The payload bytes of a retained entry ("payload" as text, or "payload_base64").
export function retained_payload(r) {
    if (typeof r.payload_base64 === 'string') {
        return Uint8Array.from(atob(r.payload_base64), (c) => c.charCodeAt(0));
    }
    return new TextEncoder().encode(r.payload === undefined ? '' : String(r.payload));
}

export function view_retained(ctx) {
    const filter = h('input', { id: 'retained-filter', class: 'grow', value: '#' });
    const go = h('button', { type: 'submit', id: 'retained-load' }, 'List');
    const list = h('div', { id: 'retained-table' });
    const st = h('p', { class: 'status', role: 'status', id: 'retained-status' });
    const form = h('form', { class: 'row' }, h('label', {}, 'filter'), filter, go);
    const el =
        h('section', { id: 'view-retained' },
          h('div', { class: 'card' }, h('h2', {}, 'Retained messages'), form, list, st));

    async function load() {
        try {
            const rows = list_of(await ctx.api.retained(filter.value.trim() || '#'), 'retained');
            ctx.topics_seen?.(
                rows.map((r) => ({ topic: r.topic, payload: retained_payload(r), qos: r.qos })));
            const extra =
                [...new Set(rows.flatMap((r) => Object.keys(r)))].filter((k) => !KNOWN.includes(k));
            const cols = [
                { label: 'topic', class: 'mono', get: (r) => r.topic },
                {
                    label: 'payload',
                    class: 'payload',
                    get: (r) => fmt_payload(retained_payload(r), 200)
                },
                { label: 'qos', get: (r) => fmt_value(field(r, 'qos')) },
                ...extra.map((k) => ({ label: k, get: (r) => fmt_value(r[k]) })),
                { label: '', get: (r) => delete_button(r.topic) },
            ];
            replace(list, table(cols, rows, 'no retained messages match'));
            status(st, 'info', `${rows.length} retained message${rows.length === 1 ? '' : 's'}`);
        } catch (e) {
            if (!ctx.fail(e)) status(st, 'error', e.message);
        }
    }

    function delete_button(topic) {
        return confirm_button('Delete', 'Really delete?', async () => {
            try {
                await ctx.api.retained_delete(topic);
                ctx.topic_unretained?.(topic);
                status(st, 'ok', `deleted ${topic}`);
            } catch (e) {
                if (!ctx.fail(e)) status(st, 'error', `delete ${topic}: ${e.message}`);
                return;
            }
            await load();
            status(st, 'ok', `deleted ${topic}`);
        }, { 'data-topic': topic, class: 'danger delete' });
    }

    form.addEventListener('submit', (ev) => {
        ev.preventDefault();
        load();
    });

    return { el, show: load, hide() {}, load };
}
