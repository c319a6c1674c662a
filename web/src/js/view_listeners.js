// Listeners and configuration: GET /api/v1/listeners as a table (every field the broker
// reports), the effective configuration (GET /api/v1/config: secrets come redacted) as a
// filterable table, a "Reload configuration" button (POST /api/v1/reload: 202 shows "reload
// requested", 422 the file's FILE:LINE errors) and the API's OpenAPI document on demand.

import {list_of} from './api.js';
import {fmt_value, h, replace, status, table} from './dom.js';

// What to show for a reload: {kind: 'ok'|'error', text, lines}, from the 202 answer's body
// (answer) or from the ApiError of a refusal (error).
export function reload_report({answer, error}) {
    const strings = (v) => (Array.isArray(v) ? v.map(String) : []);
    if (!error) {
        const file = answer && answer.config_file ? ` (${answer.config_file})` : '';
        return {
            kind: 'ok',
            text: `reload requested${file}: the broker applies it as on SIGHUP`,
            lines: strings(answer && answer.warnings).map((w) => `warning: ${w}`),
        };
    }
    const body = error.data && error.data.error;
    if (error.status === 422 && body) {
        const errors = strings(body.errors);
        return {
            kind: 'error',
            text: 'configuration invalid, the running configuration is kept',
            lines: [
                ...(errors.length ? errors : [String(body.message)]),
                ...strings(body.warnings).map((w) => `warning: ${w}`),
            ],
        };
    }
    return { kind: 'error', text: `reload refused: ${error.message}`, lines: [] };
}

// The rows of GET /api/v1/config's answer: {scope, option, value} for the global options and
// each listener's ("listener 1 (websockets 8080)"), sorted by option within a scope, keeping
// those whose option name or value contains filter (case-insensitive).
export function config_rows(doc, filter = '') {
    const f = filter.trim().toLowerCase();
    const rows = [];
    const add = (scope, obj) => {
        for (const option of Object.keys(obj || {}).sort()) {
            const value = obj[option] === null ? '' : String(obj[option]);
            if (!f || option.toLowerCase().includes(f) || value.toLowerCase().includes(f))
                rows.push({ scope, option, value });
        }
    };
    add('global', doc && doc.global);
    const listeners = (doc && Array.isArray(doc.listeners)) ? doc.listeners : [];
    listeners.forEach((l, i) => {
        const where = l.unix_path || `${l.bind_address || '*'}:${l.port}`;
        add(`listener ${i} (${l.protocol} ${where})`, l);
    });
    return rows;
}

export function view_listeners(ctx) {
    const list = h('div', { id: 'listeners-table' });
    const st = h('p', { class: 'status', role: 'status', id: 'listeners-status' });
    const refresh = h('button', { type: 'button', id: 'listeners-refresh' }, 'Refresh');
    const show_doc =
        h('button', { type: 'button', class: 'secondary', id: 'openapi-show' },
          'Show OpenAPI document');
    const doc = h('pre', { class: 'doc', id: 'openapi-doc', hidden: true });
    const reload = h('button', { type: 'button', id: 'reload-config' }, 'Reload configuration');
    const reload_st = h('p', { class: 'status', role: 'status', id: 'reload-status' });
    const reload_lines = h('ul', { class: 'lines mono', id: 'reload-lines' });
    const cfg_filter =
        h('input', { type: 'search', id: 'config-filter', placeholder: 'filter options' });
    const cfg_table = h('div', { id: 'config-table' });
    const cfg_st = h('p', { class: 'status', role: 'status', id: 'config-status' });
    let cfg_doc = null;
    const el =
        h('section', { id: 'view-listeners' },
          h('div', { class: 'card' },
            h('div', { class: 'row' }, h('h2', { class: 'grow' }, 'Listeners'), refresh), list, st),
          h('div', { class: 'card' },
            h('div', { class: 'row' }, h('h2', { class: 'grow' }, 'Configuration'), reload),
            h('p', { class: 'hint' },
              'Re-reads the file ternd was started with (-c), as SIGHUP does: security files, ' +
                  'tokens, limits and logging change; listeners only at a restart.'),
            reload_st, reload_lines),
          h('div', { class: 'card' },
            h('div', { class: 'row' }, h('h2', { class: 'grow' }, 'Effective configuration'),
              cfg_filter),
            h('p', { class: 'hint' },
              'The options in force, as the broker read them; secrets show as <redacted>.'),
            cfg_table, cfg_st),
          h('div', { class: 'card' },
            h('div', { class: 'row' }, h('h2', { class: 'grow' }, 'REST API'), show_doc), doc));

    function show_config() {
        const rows = config_rows(cfg_doc, cfg_filter.value);
        replace(cfg_table, table([
            { label: 'scope', get: (r) => r.scope },
            { label: 'option', get: (r) => r.option },
            { label: 'value', get: (r) => r.value },
        ], rows, 'no options'));
        status(cfg_st, 'info', `${rows.length} option${rows.length === 1 ? '' : 's'}`);
    }

    async function load_config() {
        try {
            cfg_doc = await ctx.api.config();
            show_config();
        } catch (e) {
            if (!ctx.fail(e)) status(cfg_st, 'error', `config: ${e.message}`);
        }
    }

    async function load() {
        load_config();
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
    cfg_filter.addEventListener('input', show_config);
    reload.addEventListener('click', async () => {
        reload.disabled = true;
        status(reload_st, 'info', 'checking the configuration…');
        replace(reload_lines);
        let report;
        try {
            report = reload_report({ answer: await ctx.api.reload() });
        } catch (e) {
            if (ctx.fail(e)) return;
            report = reload_report({ error: e });
        } finally {
            reload.disabled = false;
        }
        status(reload_st, report.kind, report.text);
        replace(reload_lines, report.lines.map((l) => h('li', {}, l)));
    });

    return { el, show: load, hide() {} };
}
