// Topic tree: a trie of topic levels built from retained topics and live messages, with
// per-node message counts and the last payload. Pure logic (no DOM, no MQTT); the topics
// view renders it. Topics are split on '/' exactly as MQTT does (empty levels are kept).

export function tree_new() {
    return { name: '', topic: null, children: new Map(), count: 0, retained: false, last: null };
}

// Records a retained topic (from the REST API) or a live message (info.live: counted) on
// `topic`. `info` is {live, retained, payload, qos, t}; absent fields leave the node as is.
export function tree_add(root, topic, info = {}) {
    let node = root;
    const levels = topic.split('/');
    levels.forEach((level, i) => {
        let child = node.children.get(level);
        if (!child) {
            child = tree_new();
            child.name = level;
            child.topic = levels.slice(0, i + 1).join('/');
            node.children.set(level, child);
        }
        node = child;
    });
    if (info.live) node.count++;
    if (info.retained !== undefined) node.retained = Boolean(info.retained);
    if (info.payload !== undefined) node.last = { payload: info.payload, qos: info.qos, t: info.t };
    return node;
}

// Marks a topic as no longer retained. A node left with no messages and no children is
// removed, and so are its ancestors that become empty that way.
export function tree_unretain(root, topic) {
    const path = [root];
    for (const level of topic.split('/')) {
        const next = path[path.length - 1].children.get(level);
        if (!next) return;
        path.push(next);
    }
    path[path.length - 1].retained = false;
    for (let i = path.length - 1; i > 0; i--) {
        const n = path[i];
        if (n.count || n.retained || n.children.size) break;
        path[i - 1].children.delete(n.name);
    }
}

export function tree_find(root, topic) {
    let node = root;
    for (const level of topic.split('/')) {
        node = node.children.get(level);
        if (!node) return null;
    }
    return node;
}

// Messages at and below a node.
export function tree_total(node) {
    let n = node.count;
    for (const c of node.children.values()) n += tree_total(c);
    return n;
}

// Number of topics (nodes that received a message or hold a retained one) at and below node.
export function tree_topics(node) {
    let n = node.count > 0 || node.retained ? 1 : 0;
    for (const c of node.children.values()) n += tree_topics(c);
    return n;
}

// Children sorted by level name ('' first), for stable rendering.
export function tree_children(node) {
    return [...node.children.values()].sort(
        (a, b) =>
            (a.name < b.name     ? -1 :
                 a.name > b.name ? 1 :
                                   0));
}
