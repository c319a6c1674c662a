// Overview: polls GET /api/v1/broker while shown, shows version, uptime and every numeric
// stat with its current rate, and charts the chosen rates on a canvas. Polling stops when the
// view is hidden; the history is kept (bounded) so the chart resumes where it was.

import {chart_draw} from './chart.js';
import {fmt_duration, fmt_number, fmt_value, h, replace, status} from './dom.js';
import {default_series, RateHistory} from './rates.js';

export function view_overview(ctx) {
    const history = new RateHistory(120);
    let chosen = null;  // keys to chart; null until the first answer picks defaults
    let timer = null;
    let last = null;
    const info = h('div', { class: 'tiles', id: 'overview-info' });
    const canvas = h('canvas', { class: 'chart', id: 'overview-chart' });
    const interval =
        h('select', { id: 'overview-interval' },
          [1, 2, 5, 10].map((s) => h('option', { value: s * 1000, selected: s === 2 }, `${s} s`)));
    const stats = h('div', { id: 'overview-stats' });
    const st = h('p', { class: 'status', role: 'status' });
    const el =
        h('section', { id: 'view-overview' },
          h('div', { class: 'card' }, h('h2', {}, 'Broker'), info, st),
          h('div', { class: 'card' },
            h('div', { class: 'row' }, h('h2', { class: 'grow' }, 'Rates'),
              h('label', {}, 'refresh every ', interval)),
            canvas),
          h('div', { class: 'card' }, h('h2', {}, 'Statistics'),
            h('p', { class: 'hint' }, 'Tick a value to chart its rate per second.'), stats));

    function render_info(data) {
        const tiles = [];
        const uptime = data.uptime_s ?? data.uptime ?? data.uptime_seconds;
        tiles.push(['version', data.version ?? '?']);
        if (uptime !== undefined) tiles.push(['uptime', fmt_duration(uptime)]);
        if (typeof data.start_time === 'number') {
            tiles.push(['started', new Date(data.start_time * 1000).toLocaleString()]);
        }
        for (const [k, v] of Object.entries(data)) {
            if (['version', 'uptime', 'uptime_s', 'uptime_seconds', 'start_time'].includes(k))
                continue;
            if (v === null || typeof v !== 'object') tiles.push([k, fmt_value(v)]);
        }
        replace(
            info,
            tiles.map(
                ([k, v]) =>
                    h('div', { class: 'tile', 'data-key': k }, h('div', { class: 'k' }, k),
                      h('div', { class: 'v' }, v))));
    }

    function render_stats() {
        const values = history.last ? history.last.values : {};
        const rates = history.latest_rates();
        // The counters under "stats" when the answer has them (uptime etc. are tiles above).
        const keys = Object.keys(values);
        const shown = keys.some((k) => k.startsWith('stats.')) ?
            keys.filter((k) => k.startsWith('stats.')) :
            keys;
        const rows = shown.map((k) => {
            const box =
                h('input', { type: 'checkbox', checked: chosen.includes(k), 'data-key': k });
            box.addEventListener('change', () => {
                chosen = box.checked ? [...chosen, k] : chosen.filter((c) => c !== k);
                draw();
            });
            const r = rates[k];
            return h(
                'tr', { 'data-key': k }, h('td', {}, box),
                h('td', { class: 'mono' }, k.replace(/^stats\./, '')),
                h('td', { class: 'num' }, fmt_number(values[k])),
                h('td', { class: 'num' },
                  r === null || r === undefined ? '' : `${fmt_number(r)}/s`));
        });
        replace(
            stats,
            h('table', {},
              h('thead', {},
                h('tr', {}, ['chart', 'name', 'value', 'rate'].map((t) => h('th', {}, t)))),
              h('tbody', {}, rows)));
    }

    function draw() {
        const series = chosen.map((k) => ({ label: k, points: history.series(k) }));
        chart_draw(canvas, series, { window_ms: Math.max(60000, Number(interval.value) * 60) });
    }

    async function poll() {
        try {
            const data = await ctx.api.broker();
            last = data;
            history.push(Date.now(), data);
            if (!chosen) chosen = default_series(Object.keys(history.last.values));
            render_info(data);
            render_stats();
            draw();
            status(st, 'info', `updated ${new Date().toLocaleTimeString()}`);
        } catch (e) {
            if (!ctx.fail(e)) status(st, 'error', e.message);
        }
    }

    function schedule() {
        clearInterval(timer);
        timer = setInterval(poll, Number(interval.value));
    }
    interval.addEventListener('change', schedule);

    return {
        el,
        show() {
            poll();
            schedule();
        },
        hide() {
            clearInterval(timer);
            timer = null;
        },
        last: () => last,
    };
}
