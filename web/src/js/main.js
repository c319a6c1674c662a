// Dashboard entry: login (checked with GET /api/v1/broker), then the views behind a hash
// router (#/overview, #/clients, ...). Owns the shared state the views use: the API client,
// the MQTT connection and the topic tree. A 401 from any call logs out.

import {make_api} from './api.js';
import {auth_clear, auth_load, auth_save} from './auth.js';
import {status} from './dom.js';
import {MqttSession} from './mqtt_session.js';
import {tree_add, tree_new, tree_unretain} from './topic_tree.js';
import {view_clients} from './view_clients.js';
import {view_console} from './view_console.js';
import {view_listeners} from './view_listeners.js';
import {view_overview} from './view_overview.js';
import {view_retained} from './view_retained.js';
import {view_subscriptions} from './view_subscriptions.js';
import {view_topics} from './view_topics.js';

const $ = (id) => document.getElementById(id);
let auth = auth_load();
const api = make_api(() => auth);

function logout(message) {
    auth_clear();
    if (message) sessionStorage.setItem('tern.dashboard.message', message);
    location.hash = '';
    location.reload();
}

// Handles an error common to all views; returns true when it did (the view shows nothing).
function fail(e) {
    if (e && e.status === 401) {
        logout('The broker refused the credentials (401): log in again.');
        return true;
    }
    return false;
}

function show_login() {
    $('login').hidden = false;
    const kind = () => document.querySelector('input[name=kind]:checked').value;
    const st = $('login-status');
    const msg = sessionStorage.getItem('tern.dashboard.message');
    if (msg) {
        status(st, 'error', msg);
        sessionStorage.removeItem('tern.dashboard.message');
    }
    for (const r of document.querySelectorAll('input[name=kind]')) {
        r.addEventListener('change', () => {
            document.querySelector('.basic-fields').hidden = kind() !== 'basic';
            document.querySelector('.token-fields').hidden = kind() !== 'token';
        });
    }
    $('login-form').addEventListener('submit', async (ev) => {
        ev.preventDefault();
        auth = kind() === 'basic' ?
            { kind: 'basic', user: $('login-user').value, password: $('login-password').value } :
            { kind: 'token', token: $('login-token').value.trim() };
        status(st, 'info', 'checking…');
        try {
            await api.broker();
        } catch (e) {
            auth = null;
            status(
                st, 'error',
                e.status === 401     ? 'Refused: wrong credentials.' :
                    e.status === 403 ? 'Refused: this user is not an admin (http_admin_users).' :
                    e.status === 404 ? 'This listener does not serve the REST API (http_api).' :
                                       e.message);
            return;
        }
        auth_save(auth);
        $('login').hidden = true;
        start_app();
    });
}

function start_app() {
    const tree = tree_new();
    const mqtt = new MqttSession();
    const ctx = { api, mqtt, tree, fail, auth: () => auth };
    const views = {};
    ctx.topics_seen = (items) => {
        for (const it of items)
            tree_add(tree, it.topic, { retained: true, payload: it.payload, qos: it.qos });
        views.topics?.changed();
    };
    ctx.topic_unretained = (topic) => {
        tree_unretain(tree, topic);
        views.topics?.changed();
    };
    mqtt.on_message((m) => {
        tree_add(tree, m.topic, {
            live: true,
            payload: m.payload,
            qos: m.qos,
            t: m.t,
            ...(m.retain ? { retained: m.payload.length > 0 } : {})
        });
        views.topics?.changed();
    });
    Object.assign(views, {
        overview: view_overview(ctx),
        clients: view_clients(ctx),
        subscriptions: view_subscriptions(ctx),
        retained: view_retained(ctx),
        topics: view_topics(ctx),
        console: view_console(ctx),
        listeners: view_listeners(ctx),
    });
    ctx.console_connect = () => views.console.connect();
    const host = $('views');
    for (const v of Object.values(views)) {
        v.el.hidden = true;
        host.append(v.el);
    }
    $('nav').hidden = false;
    $('logout').hidden = false;
    $('logout').addEventListener('click', () => {
        mqtt.disconnect();
        logout();
    });
    $('who').textContent = auth.kind === 'basic' ? auth.user : 'token';

    let current = null;
    function route() {
        const name = (location.hash.match(/^#\/(\w+)/) || [])[1];
        const next = views[name] ? name : 'overview';
        if (current === next) return;
        if (current) {
            views[current].hide();
            views[current].el.hidden = true;
        }
        current = next;
        views[next].el.hidden = false;
        views[next].show();
        for (const a of document.querySelectorAll('#nav a'))
            a.classList.toggle('active', a.dataset.view === next);
    }
    window.addEventListener('hashchange', route);
    route();
}

if (auth)
    start_app();
else
    show_login();
