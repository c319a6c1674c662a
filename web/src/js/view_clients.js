// Clients: GET /api/v1/clients with server-side search (?match=) and paging (?offset=&limit=),
// refreshed every few seconds while shown; a kick button (two clicks) per client calls
// DELETE /api/v1/clients/{id}. Unknown fields of a client are shown as extra columns.

import {list_of, total_of} from './api.js';
import {confirm_button, field, fmt_value, h, replace, status, table} from './dom.js';

const KNOWN = ['client_id', 'clientid', 'id', 'connected', 'protocol_version', 'protocol'];
const PAGE = 50;

export function client_id_of(c) {
    return String(field(c, 'client_id', 'clientid', 'id') ?? '');
}

export function view_clients(ctx) {
    let offset = 0;
    let armed_id = null;  // the client whose kick button was clicked once
    let timer = null;
    let debounce = null;
    const search = h('input', {
        id: 'clients-search',
        type: 'search',
        class: 'grow',
        placeholder: 'client id contains…'
    });
    const auto = h('input', { id: 'clients-auto', type: 'checkbox', checked: true });
    const prev = h('button', { type: 'button', class: 'secondary', id: 'clients-prev' }, '‹ prev');
    const next = h('button', { type: 'button', class: 'secondary', id: 'clients-next' }, 'next ›');
    const refresh = h('button', { type: 'button', id: 'clients-refresh' }, 'Refresh');
    const page = h('span', { class: 'hint', id: 'clients-page' });
    const list = h('div', { id: 'clients-table' });
    const st = h('p', { class: 'status', role: 'status', id: 'clients-status' });
    const el =
        h('section', { id: 'view-clients' },
          h('div', { class: 'card' }, h('h2', {}, 'Clients'),
            h('div', { class: 'row' }, search, refresh, h('label', {}, auto, 'auto-refresh')), list,
            h('div', { class: 'row' }, prev, next, page), st));

    function columns(rows) {
        const extra =
            [...new Set(rows.flatMap((r) => Object.keys(r)))].filter((k) => !KNOWN.includes(k));
        return [
            { label: 'client id', class: 'mono', get: (c) => client_id_of(c) },
            { label: 'connected', get: (c) => badge(field(c, 'connected')) },
            { label: 'protocol', get: (c) => fmt_value(field(c, 'protocol', 'protocol_version')) },
            ...extra.map((k) => ({ label: k, get: (c) => fmt_value(c[k]) })),
            { label: '', get: (c) => kick_button(c) },
        ];
    }

    function badge(connected) {
        if (connected === undefined) return '';
        return h(
            'span', { class: `badge ${connected ? 'on' : 'off'}` },
            connected ? 'connected' : 'offline');
    }

    function kick_button(c) {
        const id = client_id_of(c);
        if (field(c, 'connected') === false) return '';
        return confirm_button('Kick', 'Really kick?', async () => {
            try {
                await ctx.api.kick(id);
                status(st, 'ok', `kicked ${id}`);
            } catch (e) {
                if (!ctx.fail(e)) status(st, 'error', `kick ${id}: ${e.message}`);
            }
            await load();
        }, { 'data-client': id, class: 'danger kick' }, {
            armed: armed_id === id,
            on_change: (on) =>
                (armed_id = on       ? id :
                     armed_id === id ? null :
                                       armed_id),
        });
    }

    async function load() {
        try {
            const data = await ctx.api.clients({ offset, limit: PAGE, match: search.value.trim() });
            const rows = list_of(data, 'clients');
            const total = total_of(data);
            replace(list, table(columns(rows), rows, 'no clients'));
            prev.disabled = offset === 0;
            next.disabled = total !== null ? offset + rows.length >= total : rows.length < PAGE;
            const shown = rows.length ? `${offset + 1}–${offset + rows.length}` : '0';
            page.textContent = total !== null ? `${shown} of ${total}` : shown;
        } catch (e) {
            if (!ctx.fail(e)) status(st, 'error', e.message);
        }
    }

    search.addEventListener('input', () => {
        clearTimeout(debounce);
        debounce = setTimeout(() => {
            offset = 0;
            load();
        }, 250);
    });
    refresh.addEventListener('click', () => load());
    prev.addEventListener('click', () => {
        offset = Math.max(0, offset - PAGE);
        load();
    });
    next.addEventListener('click', () => {
        offset += PAGE;
        load();
    });
    auto.addEventListener('change', () => (auto.checked ? start() : clearInterval(timer)));

    function start() {
        clearInterval(timer);
        timer = setInterval(load, 3000);
    }

    return {
        el,
        show() {
            load();
            if (auto.checked) start();
        },
        hide() {
            clearInterval(timer);
        },
    };
}
