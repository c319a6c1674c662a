// A small line chart on <canvas>: several series of {t, v} points (v may be null for gaps)
// over a shared time axis, y from 0 to a rounded maximum, a legend. Redraws from scratch on
// each call; no animation, no interaction.

export const COLORS = ['#2f7ed8', '#e4572e', '#29a36a', '#a05ddb', '#f0a202', '#5c6b73'];

// The smallest of 1, 2, 5 x 10^k that is >= v (at least 1).
export function nice_max(v) {
    if (!(v > 1)) return 1;
    const p = 10 ** Math.floor(Math.log10(v));
    for (const m of [1, 2, 5, 10])
        if (m * p >= v) return m * p;
    return 10 * p;
}

export function chart_draw(canvas, series, {window_ms = 120000, unit = '/s'} = {}) {
    const dpr = globalThis.devicePixelRatio || 1;
    const w = canvas.clientWidth || 600;
    const ht = canvas.clientHeight || 200;
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(ht * dpr);
    const g = canvas.getContext('2d');
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, ht);
    const pad = { l: 56, r: 10, t: 10, b: 34 };
    const pw = w - pad.l - pad.r;
    const ph = ht - pad.t - pad.b;
    const now = Math.max(Date.now(), ...series.flatMap((s) => s.points.map((p) => p.t)));
    const t0 = now - window_ms;
    let vmax = 0;
    for (const s of series)
        for (const p of s.points)
            if (p.v !== null && p.t >= t0) vmax = Math.max(vmax, p.v);
    const ymax = nice_max(vmax);
    const x = (t) => pad.l + ((t - t0) / window_ms) * pw;
    const y = (v) => pad.t + ph - (v / ymax) * ph;

    g.font = '11px system-ui, sans-serif';
    g.strokeStyle = '#d8dde3';
    g.fillStyle = '#5c6b73';
    g.lineWidth = 1;
    for (let i = 0; i <= 4; i++) {
        const v = (ymax * i) / 4;
        g.beginPath();
        g.moveTo(pad.l, y(v) + 0.5);
        g.lineTo(pad.l + pw, y(v) + 0.5);
        g.stroke();
        g.textAlign = 'right';
        g.fillText(`${Number(v.toPrecision(3))}${unit}`, pad.l - 4, y(v) + 4);
    }
    g.textAlign = 'center';
    for (let i = 0; i <= 4; i++) {
        const secs = Math.round((window_ms * (4 - i)) / 4000);
        g.fillText(secs ? `-${secs}s` : 'now', pad.l + (pw * i) / 4, pad.t + ph + 14);
    }

    series.forEach((s, i) => {
        g.strokeStyle = COLORS[i % COLORS.length];
        g.lineWidth = 2;
        g.beginPath();
        let pen = false;
        for (const p of s.points) {
            if (p.v === null || p.t < t0) {
                pen = false;
                continue;
            }
            if (pen)
                g.lineTo(x(p.t), y(p.v));
            else
                g.moveTo(x(p.t), y(p.v));
            pen = true;
        }
        g.stroke();
    });

    g.textAlign = 'left';
    let lx = pad.l;
    series.forEach((s, i) => {
        g.fillStyle = COLORS[i % COLORS.length];
        g.fillRect(lx, ht - 12, 10, 3);
        g.fillStyle = '#2b3a42';
        g.fillText(s.label, lx + 14, ht - 8);
        lx += g.measureText(s.label).width + 30;
    });
}
