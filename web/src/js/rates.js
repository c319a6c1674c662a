// Live rates from periodic broker snapshots: flattens the numeric fields of a
// GET /api/v1/broker answer into dotted keys, derives per-second rates between two snapshots
// and keeps a bounded history for the chart. Pure logic (no DOM); does not fetch.

// {"stats":{"messages":{"received":3}}} -> {"stats.messages.received": 3}
export function flatten_numbers(obj, prefix = '', out = {}) {
    if (!obj || typeof obj !== 'object') return out;
    for (const [k, v] of Object.entries(obj)) {
        const key = prefix ? `${prefix}.${k}` : k;
        if (typeof v === 'number' && Number.isFinite(v))
            out[key] = v;
        else if (v && typeof v === 'object' && !Array.isArray(v))
            flatten_numbers(v, key, out);
    }
    return out;
}

// Per-second rates between snapshots a and b ({t: ms, values: {...}}). A key missing from
// either, a non-positive interval or a counter that went down (broker restart) gives null.
export function rates_between(a, b) {
    const out = {};
    const dt = (b.t - a.t) / 1000;
    for (const [k, v] of Object.entries(b.values)) {
        const prev = a.values[k];
        out[k] = dt > 0 && typeof prev === 'number' && v >= prev ? (v - prev) / dt : null;
    }
    return out;
}

const IN_RE = /(receiv|recv|_in$|\.in$|_in_|inbound)/i;
const OUT_RE = /(sent|send|_out$|\.out$|_out_|outbound)/i;

// Keys worth charting by default: message counters in and out, else byte counters, else
// whatever counters exist. Returns at most `max` keys.
export function default_series(keys, max = 2) {
    const msgs = keys.filter((k) => /(messages|msgs|publish)/i.test(k) && !/bytes/i.test(k));
    const bytes = keys.filter((k) => /bytes/i.test(k));
    for (const group of [msgs, bytes]) {
        const pick = [group.find((k) => IN_RE.test(k)), group.find((k) => OUT_RE.test(k))];
        const found = pick.filter(Boolean);
        if (found.length) return found.slice(0, max);
    }
    return keys.filter((k) => !/uptime|time|version|workers/i.test(k)).slice(0, max);
}

// Bounded history of snapshots and the rates between consecutive ones.
export class RateHistory {
    constructor(capacity = 60) {
        this.capacity = capacity;
        this.points = [];  // {t, rates}
        this.last = null;
    }

    push(t, broker_answer) {
        const snap = { t, values: flatten_numbers(broker_answer) };
        if (this.last) {
            this.points.push({ t, rates: rates_between(this.last, snap) });
            if (this.points.length > this.capacity) this.points.shift();
        }
        this.last = snap;
        return snap;
    }

    series(key) {
        return this.points.map((p) => ({ t: p.t, v: p.rates[key] }));
    }

    latest_rates() {
        return this.points.length ? this.points[this.points.length - 1].rates : {};
    }
}
