// Small DOM helpers: element construction without innerHTML (every value goes through
// textContent or attributes, so broker data cannot inject markup) and formatting.

export function h(tag, attrs = {}, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
        if (v === undefined || v === null || v === false) continue;
        if (k.startsWith('on') && typeof v === 'function')
            el.addEventListener(k.slice(2), v);
        else if (k === 'class')
            el.className = v;
        else if (k in el && typeof v !== 'string')
            el[k] = v;
        else
            el.setAttribute(k, v === true ? '' : String(v));
    }
    append(el, children);
    return el;
}

function append(el, children) {
    for (const c of children.flat(Infinity)) {
        if (c === undefined || c === null || c === false) continue;
        el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
}

export function replace(el, ...children) {
    el.replaceChildren();
    append(el, children);
    return el;
}

export function fmt_duration(seconds) {
    let s = Math.max(0, Math.floor(Number(seconds) || 0));
    const d = Math.floor(s / 86400);
    s -= d * 86400;
    const hh = Math.floor(s / 3600);
    s -= hh * 3600;
    const mm = Math.floor(s / 60);
    s -= mm * 60;
    const parts = [];
    if (d) parts.push(`${d}d`);
    if (d || hh) parts.push(`${hh}h`);
    if (d || hh || mm) parts.push(`${mm}m`);
    parts.push(`${s}s`);
    return parts.join(' ');
}

export function fmt_number(n) {
    if (typeof n !== 'number' || !Number.isFinite(n)) return String(n);
    if (Math.abs(n) >= 100 || Number.isInteger(n)) return Math.round(n).toLocaleString('en');
    return n.toFixed(Math.abs(n) >= 10 ? 1 : 2);
}

export function fmt_value(v) {
    if (v === null || v === undefined) return '';
    if (typeof v === 'boolean') return v ? 'yes' : 'no';
    if (typeof v === 'number') return Number.isInteger(v) ? String(v) : fmt_number(v);
    if (typeof v === 'object') return JSON.stringify(v);
    return String(v);
}

// A status line for a view: kind is 'info', 'ok' or 'error'.
export function status(el, kind, text) {
    el.className = `status ${kind}`;
    el.textContent = text;
}

// A payload for display: UTF-8 text when it decodes, else hex. Long ones are cut at `max`.
export function fmt_payload(bytes, max = 500) {
    let text;
    try {
        text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
        text = `0x${[...bytes].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
    }
    return text.length > max ? `${text.slice(0, max)}… (${bytes.length} bytes)` : text;
}

// The first of `names` present in obj (for answers whose field names may vary).
export function field(obj, ...names) {
    for (const n of names)
        if (obj && obj[n] !== undefined) return obj[n];
    return undefined;
}

// A table with the given columns ({label, get(row) -> node|string, class}) and rows.
export function table(columns, rows, empty = 'nothing to show') {
    const head = h('tr', {}, columns.map((c) => h('th', {}, c.label)));
    const body = rows.length ?
        rows.map((r) => h('tr', {}, columns.map((c) => h('td', { class: c.class }, c.get(r))))) :
        [h('tr', {}, h('td', { colspan: columns.length, class: 'empty' }, empty))];
    return h('table', {}, h('thead', {}, head), h('tbody', {}, body));
}

// A button that asks for a second click before acting ("Kick" -> "Really kick?"). The armed
// state disarms after 4 s. A view that re-renders its table passes `arm`, an object
// {armed, on_change(bool)} it keeps per row, so a re-render does not lose the first click.
export function confirm_button(label, confirm_label, action, attrs = {}, arm = null) {
    let timer = null;
    const b = h('button', { type: 'button', class: 'danger', ...attrs }, label);
    const set = (on) => {
        clearTimeout(timer);
        if (on) {
            b.dataset.armed = '1';
            timer = setTimeout(() => set(false), 4000);
        } else {
            delete b.dataset.armed;
        }
        b.textContent = on ? confirm_label : label;
        if (arm && b.isConnected) arm.on_change(on);  // not a replaced button's timer
    };
    if (arm && arm.armed) set(true);
    b.addEventListener('click', async () => {
        if (!b.dataset.armed) {
            set(true);
            return;
        }
        set(false);
        b.disabled = true;
        try {
            await action();
        } finally {
            b.disabled = false;
        }
    });
    return b;
}
