// The dashboard's one MQTT connection, over WebSockets to the page's own host (ws:, or wss:
// when the page came over https:), through MQTT.js loaded on first use from the bundled copy
// (no CDN). Fans messages and state changes out to listeners; keeps no message history.

let mqtt_module = null;

async function load_mqtt() {
    if (!mqtt_module) mqtt_module = (await import('../vendor/mqtt.esm.js')).default;
    return mqtt_module;
}

export function ws_url(path, loc = globalThis.location) {
    const scheme = loc.protocol === 'https:' ? 'wss:' : 'ws:';
    const p = path.startsWith('/') ? path : `/${path}`;
    return `${scheme}//${loc.host}${p}`;
}

export class MqttSession {
    constructor() {
        this.client = null;
        this.state = 'disconnected';
        this.error = '';
        this.message_listeners = new Set();
        this.state_listeners = new Set();
    }

    on_message(fn) {
        this.message_listeners.add(fn);
        return () => this.message_listeners.delete(fn);
    }

    on_state(fn) {
        this.state_listeners.add(fn);
        return () => this.state_listeners.delete(fn);
    }

    set_state(state, error = '') {
        this.state = state;
        this.error = error;
        for (const fn of this.state_listeners) fn(state, error);
    }

    // opts: {path, version (4|5), client_id, username, password}. Resolves on CONNACK.
    async connect(opts) {
        await this.disconnect();
        const mqtt = await load_mqtt();
        this.set_state('connecting');
        const client = mqtt.connect(ws_url(opts.path || '/mqtt'), {
            protocolVersion: Number(opts.version) || 4,
            clientId: opts.client_id || `tern-dashboard-${Math.random().toString(16).slice(2, 10)}`,
            username: opts.username || undefined,
            password: opts.password || undefined,
            clean: true,
            reconnectPeriod: 0,
            connectTimeout: 10000,
        });
        this.client = client;
        client.on('message', (topic, payload, packet) => {
            const msg = { topic, payload, qos: packet.qos, retain: packet.retain, t: Date.now() };
            for (const fn of this.message_listeners) fn(msg);
        });
        client.on('close', () => {
            if (this.client === client) this.set_state('disconnected', this.error);
        });
        client.on('disconnect', (packet) => {
            this.error = `disconnected by the broker (reason ${packet.reasonCode ?? 0})`;
        });
        await new Promise((resolve, reject) => {
            client.once('connect', resolve);
            client.once('error', (e) => reject(e));
            client.once('close', () => reject(new Error(this.error || 'connection closed')));
        }).catch((e) => {
            this.client = null;
            client.end(true);
            this.set_state('disconnected', e.message);
            throw e;
        });
        this.set_state('connected');
    }

    async disconnect() {
        const c = this.client;
        this.client = null;
        if (c) await c.endAsync().catch(() => {});
        this.set_state('disconnected');
    }

    require_client() {
        if (!this.client || this.state !== 'connected') throw new Error('not connected');
        return this.client;
    }

    // Resolves with the granted QoS list after SUBACK.
    async subscribe(filter, qos = 0) {
        const granted = await this.require_client().subscribeAsync(filter, { qos: Number(qos) });
        return granted.map((g) => g.qos);
    }

    async unsubscribe(filter) {
        await this.require_client().unsubscribeAsync(filter);
    }

    // Resolves when the publish is complete (written for QoS 0, PUBACK/PUBCOMP otherwise).
    async publish(topic, payload, qos = 0, retain = false) {
        await this.require_client().publishAsync(topic, payload, { qos: Number(qos), retain });
    }
}
