// REST client for the broker's /api/v1 (same origin as the dashboard): adds the
// Authorization header, parses JSON answers and turns error answers
// ({"error":{"status":..,"message":..}}) into ApiError, which keeps the parsed body (e.g. the
// "errors" list of a 422 from POST /reload). Knows the paths, not the views.

import {auth_header} from './auth.js';

export class ApiError extends Error {
    constructor(status, message, data = null) {
        super(message);
        this.status = status;
        this.data = data;  // the parsed answer body, when there was one
    }
}

export function make_api(get_auth, base = '/api/v1', fetch_fn = globalThis.fetch.bind(globalThis)) {
    async function call(method, path, body) {
        const headers = { Accept: 'application/json' };
        const a = auth_header(get_auth());
        if (a) headers.Authorization = a;
        const init = { method, headers, cache: 'no-store', credentials: 'omit' };
        if (body !== undefined) {
            headers['Content-Type'] = 'application/json';
            init.body = JSON.stringify(body);
        }
        let res;
        try {
            res = await fetch_fn(base + path, init);
        } catch (e) {
            throw new ApiError(0, `broker unreachable: ${e.message}`);
        }
        const text = await res.text();
        let data = null;
        if (text) {
            try {
                data = JSON.parse(text);
            } catch {
                data = text;
            }
        }
        if (!res.ok) {
            const msg = (data && data.error && data.error.message) || res.statusText || 'error';
            throw new ApiError(res.status, `${res.status} ${msg}`, data);
        }
        return data;
    }
    return {
        broker: () => call('GET', '/broker'),
        clients: ({ offset = 0, limit = 50, match = '' } = {}) =>
            call('GET', `/clients?${query({ offset, limit, match })}`),
        kick: (id) => call('DELETE', `/clients/${encodeURIComponent(id)}`),
        retained: (filter = '#') => call('GET', `/retained?${query({ filter })}`),
        retained_delete: (topic) => call('DELETE', `/retained/${topic_path(topic)}`),
        publish: (msg) => call('POST', '/publish', msg),
        subscriptions: ({ offset = 0, limit = 50, client_id = '', filter = '' } = {}) =>
            call('GET', `/subscriptions?${query({ offset, limit, client_id, filter })}`),
        reload: () => call('POST', '/reload'),
        listeners: () => call('GET', '/listeners'),
        config: () => call('GET', '/config'),
        openapi: () => call('GET', '/openapi.json'),
    };
}

function query(params) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params))
        if (v !== '' && v !== undefined) q.set(k, v);
    return q.toString();
}

// A topic as path segments: each level percent-encoded, '/' kept as the separator.
export function topic_path(topic) {
    return topic.split('/').map(encodeURIComponent).join('/');
}

// The array in an answer that is either an array or an object holding one under `key`
// (or under the object's only array-valued field).
export function list_of(data, key) {
    if (Array.isArray(data)) return data;
    if (!data || typeof data !== 'object') return [];
    if (Array.isArray(data[key])) return data[key];
    const arrays = Object.values(data).filter(Array.isArray);
    return arrays.length === 1 ? arrays[0] : [];
}

// The total count of a paged answer, if it says.
export function total_of(data) {
    if (data && typeof data === 'object' && !Array.isArray(data)) {
        for (const k of ['total', 'count', 'total_count']) {
            if (typeof data[k] === 'number') return data[k];
        }
    }
    return null;
}
