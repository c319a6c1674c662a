// Listeners and configuration: GET /api/v1/listeners as a table (every field the broker
// reports), and the API's OpenAPI document on demand (GET /api/v1/openapi.json).

import {list_of} from './api.js';
import {fmt_value, h, replace, status, table} from './dom.js';

export function view_listeners(ctx) {
    const list = h('div', { id: 'listeners-table' });
    const st = h('p', { class: 'status', role: 'status', id: 'listeners-status' });
    const refresh = h('button', { type: 'button', id: 'listeners-refresh' }, 'Refresh');
    const show_doc =
        h('button', { type: 'button', class: 'secondary', id: 'openapi-show' },
          'Show OpenAPI document');
    const doc = h('pre', { class: 'doc', id: 'openapi-doc', hidden: true });
    const el =
        h('section', { id: 'view-listeners' },
          h('div', { class: 'card' },
            h('div', { class: 'row' }, h('h2', { class: 'grow' }, 'Listeners'), refresh), list, st),
          h('div', { class: 'card' },
            h('div', { class: 'row' }, h('h2', { class: 'grow' }, 'REST API'), show_doc), doc));

    async function load() {
        try {
            const rows = list_of(await ctx.api.listeners(), 'listeners');
            const keys = [...new Set(rows.flatMap((r) => Object.keys(r)))];
            replace(
                list,
                table(
                    keys.map((k) => ({ label: k, get: (r) => fmt_value(r[k]) })), rows,
                    'no listeners'));
            status(st, 'info', `${rows.length} listener${rows.length === 1 ? '' : 's'}`);
        } catch (e) {
            if (!ctx.fail(e)) status(st, 'error', e.message);
        }
    }

    show_doc.addEventListener('click', async () => {
        if (!doc.hidden) {
            doc.hidden = true;
            return;
        }
        try {
            doc.textContent = JSON.stringify(await ctx.api.openapi(), null, 2);
            doc.hidden = false;
        } catch (e) {
            if (!ctx.fail(e)) status(st, 'error', `openapi.json: ${e.message}`);
        }
    });
    refresh.addEventListener('click', load);

    return { el, show: load, hide() {} };
}
