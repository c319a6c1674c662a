// Publish/subscribe console: connects the dashboard's MQTT connection over WebSockets (path,
// protocol version, client id and credentials editable; the login's user and password by
// default), subscribes to filters, publishes over MQTT or through POST /api/v1/publish, and
// logs the last messages received. Messages are not stored beyond the log's 200 lines.

import {fmt_payload, h, replace, status} from './dom.js';

const LOG_MAX = 200;

export function view_console(ctx) {
    const subs = new Map();  // filter -> granted qos
    const a = ctx.auth();
    const path = h('input', { id: 'console-path', value: '/mqtt', size: 10 });
    const version =
        h('select', { id: 'console-version' }, h('option', { value: '4' }, 'MQTT 3.1.1'),
          h('option', { value: '5', selected: true }, 'MQTT 5'));
    const client_id = h('input', { id: 'console-client-id', placeholder: 'random', size: 18 });
    const user = h('input', {
        id: 'console-user',
        value: a?.kind === 'basic' ? a.user : '',
        size: 12,
        autocomplete: 'off'
    });
    const pass = h('input', {
        id: 'console-password',
        type: 'password',
        size: 12,
        autocomplete: 'off',
        value: a?.kind === 'basic' ? a.password : ''
    });
    const conn = h('button', { type: 'button', id: 'console-connect' }, 'Connect');
    const state = h('span', { class: 'badge off', id: 'console-state' }, 'disconnected');
    const conn_st = h('p', { class: 'status', id: 'console-conn-status' });

    const sub_filter =
        h('input',
          { id: 'console-sub-filter', class: 'grow', placeholder: 'topic filter, e.g. sensors/#' });
    const sub_qos = qos_select('console-sub-qos');
    const sub_btn = h('button', { type: 'submit', id: 'console-subscribe' }, 'Subscribe');
    const sub_list = h('ul', { id: 'console-subs' });
    const sub_st = h('p', { class: 'status', id: 'console-sub-status' });

    const pub_topic = h('input', { id: 'console-pub-topic', class: 'grow', placeholder: 'topic' });
    const pub_payload =
        h('textarea', { id: 'console-pub-payload', placeholder: 'payload (UTF-8 text)' });
    const pub_qos = qos_select('console-pub-qos');
    const pub_retain = h('input', { type: 'checkbox', id: 'console-pub-retain' });
    const pub_via =
        h('select', { id: 'console-pub-via' },
          h('option', { value: 'mqtt' }, 'over MQTT (WebSocket)'),
          h('option', { value: 'rest' }, 'through the REST API'));
    const pub_btn = h('button', { type: 'submit', id: 'console-publish' }, 'Publish');
    const pub_st = h('p', { class: 'status', id: 'console-pub-status' });

    const log_body = h('tbody', { id: 'console-log' });
    const clear = h('button', { type: 'button', class: 'secondary', id: 'console-clear' }, 'Clear');

    const sub_form =
        h('form', { class: 'row' }, sub_filter, h('label', {}, 'QoS', sub_qos), sub_btn);
    const pub_form =
        h('form', {},
          h('div', { class: 'row' }, pub_topic, h('label', {}, 'QoS', pub_qos),
            h('label', {}, pub_retain, 'retain'), pub_via),
          pub_payload, h('div', { class: 'row' }, pub_btn), pub_st);
    const el =
        h('section', { id: 'view-console' },
          h('div', { class: 'card' }, h('h2', {}, 'Connection'),
            h('div', { class: 'row' }, h('label', {}, 'path', path), version,
              h('label', {}, 'client id', client_id), h('label', {}, 'user', user),
              h('label', {}, 'password', pass), conn, state),
            conn_st),
          h('div', { class: 'card' }, h('h2', {}, 'Subscribe'), sub_form, sub_list, sub_st),
          h('div', { class: 'card' }, h('h2', {}, 'Publish'), pub_form),
          h('div', { class: 'card' },
            h('div', { class: 'row' }, h('h2', { class: 'grow' }, 'Messages'), clear),
            h('div', { class: 'log' },
              h('table', {},
                h('thead', {},
                  h('tr', {},
                    ['time', 'topic', 'QoS', 'retained', 'payload'].map((t) => h('th', {}, t)))),
                log_body))));

    async function connect() {
        status(conn_st, 'info', 'connecting…');
        try {
            await ctx.mqtt.connect({
                path: path.value.trim(),
                version: version.value,
                client_id: client_id.value.trim(),
                username: user.value,
                password: pass.value
            });
            status(conn_st, 'ok', `connected to ${location.host}${path.value.trim()}`);
        } catch (e) {
            status(conn_st, 'error', `connect failed: ${e.message}`);
            throw e;
        }
    }

    conn.addEventListener(
        'click',
        () => (ctx.mqtt.state === 'connected' ? ctx.mqtt.disconnect() : connect()).catch(() => {}));

    ctx.mqtt.on_state((s, err) => {
        state.textContent = s;
        state.className = `badge ${s === 'connected' ? 'on' : 'off'}`;
        conn.textContent = s === 'connected' ? 'Disconnect' : 'Connect';
        conn.disabled = s === 'connecting';
        if (s === 'disconnected') {
            subs.clear();
            render_subs();
            if (err) status(conn_st, 'error', err);
        }
    });

    ctx.mqtt.on_message((m) => {
        const row =
            h('tr', { 'data-topic': m.topic }, h('td', {}, new Date(m.t).toLocaleTimeString()),
              h('td', { class: 'mono' }, m.topic), h('td', {}, m.qos),
              h('td', {}, m.retain ? 'yes' : ''),
              h('td', { class: 'payload' }, fmt_payload(m.payload)));
        log_body.prepend(row);
        while (log_body.children.length > LOG_MAX) log_body.lastChild.remove();
    });

    function render_subs() {
        replace(sub_list, [...subs].map(([f, q]) => {
            const un = h('button', { type: 'button', class: 'secondary' }, 'Unsubscribe');
            un.addEventListener('click', async () => {
                await ctx.mqtt.unsubscribe(f).catch((e) => status(sub_st, 'error', e.message));
                subs.delete(f);
                render_subs();
            });
            return h(
                'li', { 'data-filter': f }, h('span', { class: 'mono' }, f), ` (granted QoS ${q}) `,
                un);
        }));
    }

    sub_form.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        const f = sub_filter.value.trim();
        if (!f) return;
        try {
            if (ctx.mqtt.state !== 'connected') await connect();
            const [granted] = await ctx.mqtt.subscribe(f, sub_qos.value);
            if (granted >= 0x80) throw new Error(`refused (reason 0x${granted.toString(16)})`);
            subs.set(f, granted);
            render_subs();
            status(sub_st, 'ok', `subscribed to ${f}`);
        } catch (e) {
            status(sub_st, 'error', `subscribe ${f}: ${e.message}`);
        }
    });

    pub_form.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        const topic = pub_topic.value;
        const msg = {
            topic,
            payload: pub_payload.value,
            qos: Number(pub_qos.value),
            retain: pub_retain.checked
        };
        try {
            if (!topic) throw new Error('a topic is needed');
            if (pub_via.value === 'rest') {
                await ctx.api.publish(msg);
            } else {
                if (ctx.mqtt.state !== 'connected') await connect();
                await ctx.mqtt.publish(topic, msg.payload, msg.qos, msg.retain);
            }
            status(
                pub_st, 'ok',
                `published to ${topic} ${
                    pub_via.value === 'rest' ? 'through the REST API' : 'over MQTT'}`);
        } catch (e) {
            if (!ctx.fail(e)) status(pub_st, 'error', `publish: ${e.message}`);
        }
    });

    clear.addEventListener('click', () => log_body.replaceChildren());

    return { el, show() {}, hide() {}, connect };
}

function qos_select(id) {
    return h('select', { id }, [0, 1, 2].map((q) => h('option', { value: q }, String(q))));
}
