// Dashboard credentials: HTTP Basic (user, password) or a bearer token, kept in
// sessionStorage (gone when the tab closes; never in localStorage or cookies). Builds the
// Authorization header; does not check the credentials (api.js does, against the broker).

const KEY = 'tern.dashboard.auth';

// Base64 of the UTF-8 bytes of "user:password" (RFC 7617 with charset UTF-8).
export function basic_header(user, password) {
    const bytes = new TextEncoder().encode(`${user}:${password}`);
    let bin = '';
    for (const b of bytes) bin += String.fromCharCode(b);
    return `Basic ${btoa(bin)}`;
}

export function auth_header(auth) {
    if (!auth) return null;
    if (auth.kind === 'basic') return basic_header(auth.user, auth.password);
    if (auth.kind === 'token') return `Bearer ${auth.token}`;
    return null;
}

export function auth_load(storage = globalThis.sessionStorage) {
    try {
        const a = JSON.parse(storage.getItem(KEY) || 'null');
        if (a && (a.kind === 'basic' || a.kind === 'token')) return a;
    } catch {
        /* unreadable: treat as logged out */
    }
    return null;
}

export function auth_save(auth, storage = globalThis.sessionStorage) {
    storage.setItem(KEY, JSON.stringify(auth));
}

export function auth_clear(storage = globalThis.sessionStorage) {
    storage.removeItem(KEY);
}
