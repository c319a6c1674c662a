// Subscription filter tree: a trie of topic filter levels built from the rows of
// GET /api/v1/subscriptions, each node holding the subscriptions whose filter ends there. A
// shared subscription ($share/{group}/{filter}) sits under its filter with its group. Also MQTT
// filter matching, to show which subscriptions a topic reaches. Pure logic (no DOM, no fetch).

const SHARE = '$share/';

// {group, filter}: the group of a shared subscription's filter (null when not shared) and the
// topic filter without the $share/{group}/ prefix.
export function filter_share_split(filter) {
    if (!filter.startsWith(SHARE)) return { group: null, filter };
    const rest = filter.slice(SHARE.length);
    const slash = rest.indexOf('/');
    if (slash < 0) return { group: null, filter };  // not a valid shared filter: keep it whole
    return { group: rest.slice(0, slash), filter: rest.slice(slash + 1) };
}

function node_new(name, path) {
    return { name, path, children: new Map(), subs: [] };
}

// The tree of rows ({client_id, filter, qos, shared_group, ...}); the root has path null.
// Each node's subs are the rows whose (unshared) filter is the node's path.
export function filter_tree_build(rows) {
    const root = node_new('', null);
    for (const row of rows) {
        const { group, filter } = filter_share_split(String(row.filter ?? ''));
        let node = root;
        const levels = filter.split('/');
        levels.forEach((level, i) => {
            let child = node.children.get(level);
            if (!child) {
                child = node_new(level, levels.slice(0, i + 1).join('/'));
                node.children.set(level, child);
            }
            node = child;
        });
        node.subs.push({...row, group: row.shared_group ?? group });
    }
    return root;
}

// Subscriptions at and below node.
export function filter_tree_count(node) {
    let n = node.subs.length;
    for (const c of node.children.values()) n += filter_tree_count(c);
    return n;
}

// Distinct client ids subscribed at and below node.
export function filter_tree_clients(node, into = new Set()) {
    for (const s of node.subs) into.add(s.client_id);
    for (const c of node.children.values()) filter_tree_clients(c, into);
    return into;
}

// Children sorted by level name (wildcards '#' and '+' sort before names), for stable output.
export function filter_tree_children(node) {
    return [...node.children.values()].sort(
        (a, b) =>
            (a.name < b.name     ? -1 :
                 a.name > b.name ? 1 :
                                   0));
}

// Whether the topic filter matches the topic name (MQTT 3.1.1 4.7 / 5.0 4.7): '+' is one
// level, a trailing '#' the parent level and everything below, and a filter starting with a
// wildcard does not match a topic starting with '$' [MQTT-4.7.2-1].
export function filter_matches(filter, topic) {
    if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) return false;
    const f = filter.split('/');
    const t = topic.split('/');
    for (let i = 0; i < f.length; i++) {
        if (f[i] === '#') return i === f.length - 1;
        if (i >= t.length) return false;
        if (f[i] !== '+' && f[i] !== t[i]) return false;
    }
    return f.length === t.length;
}

// The subscriptions of the tree whose filter matches topic, in tree order.
export function filter_tree_matching(root, topic) {
    const out = [];
    const walk = (node) => {
        if (node.path !== null && node.subs.length && filter_matches(node.path, topic))
            out.push(...node.subs);
        for (const c of filter_tree_children(node)) walk(c);
    };
    walk(root);
    return out;
}
