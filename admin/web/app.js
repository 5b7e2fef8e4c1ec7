/*
 * app.js - the live topology page of a nomid node (admin/API.md).
 *
 * Reads GET api/v1/topology (relative: same origin, whatever prefix the page is served
 * under) and draws it as SVG.  Processes on the same host are drawn together in one
 * host box (a robot with 20 processes reads as one robot), the boxes in a row that
 * wraps, this node's host first; inside a box the processes sit on a grid in name
 * order (deterministic: the page does not move between refreshes).  One edge per
 * connection, from the node that connected to the node that bound, coloured by how
 * full its queues are and labelled with its traffic (msg/s and bytes/s: the change of
 * the edge's counters between two reads, over their age) beside its queue fill.  A
 * short history (the last few minutes of rate, fill and drops) of every node and
 * connection is kept in fixed-length rings and drawn as sparklines in the details.
 *
 * In a fleet that has keys (a node reports a CURVE key, or a connection uses CURVE),
 * every connection that does not use CURVE (NULL or PLAIN) is marked unencrypted: a
 * dashed stripe over its line and "unencrypted" on its label.  A fleet without keys
 * gets no such marks.  The topology's edges are connections between processes (tcp;
 * the API leaves out inproc and ipc pipes), so every edge is a candidate.
 *
 * It stays live without reloading: every Server-Sent Event on api/v1/events triggers a
 * refetch (coalesced over 200 ms), and it also refetches every 2 s in case events are
 * lost.  `#token=XYZ` in the page URL is sent as `Authorization: Bearer XYZ` (admin
 * wants one beyond loopback); EventSource cannot send headers, so with a token the page
 * polls.
 *
 * Test hooks (tests/browser/topology.mjs): `.host[data-host]` (the box) and
 * `.host-members[data-host]` (holding that host's `.node`s),
 * `.node[data-node-id][data-state]`, `.edge[data-edge-id][data-from][data-to]` with
 * `data-msg-rate` / `data-byte-rate` once a rate is known, `data-mechanism` and the
 * class `unencrypted` on an edge marked so, `#legend-unencrypted` (shown in a fleet
 * with keys), `svg.spark[data-series][data-samples]` in the details, `#status` ("3
 * nodes, 2 edges").
 * No dependencies, no requests but the API's; all text from the API goes through
 * textContent, never innerHTML.
 */
'use strict';

(function () {
    const API_TOPOLOGY = 'api/v1/topology';
    const API_EVENTS = 'api/v1/events';
    const POLL_MS = 2000;          // fallback refetch period
    const COALESCE_MS = 200;       // events arriving together cause one refetch
    const FETCH_TIMEOUT_MS = 5000; // a hung request must not stop the refreshes
    const REOPEN_EVENTS_MS = 5000; // the event stream was refused: try again later
    const FADE_MS = 400;           // removed nodes and edges fade out, then go
    const EVENT_KINDS = ['peer_up', 'peer_down', 'connected', 'disconnected',
        'handshake_failed', 'hwm_reached', 'dropped', 'service_up', 'service_down'];

    const RATE_MIN_GAP_MS = 500;   // two counts closer than this give no rate (same read)
    const HISTORY_STEP_MS = 2000;  // one history sample per this long at most...
    const HISTORY_LEN = 90;        // ...kept for this many steps: the last 3 minutes

    const SVGNS = 'http://www.w3.org/2000/svg';
    const NODE_R = 16;        // node circle radius
    const UNKNOWN_R = 12;     // half size of an "unknown peer" box
    const MAX_SERVICES = 2;   // service lines beside a node before "+N more"
    const NAME_MAX = 22;      // characters of a name on the graph (all of it in details)
    const CELL_W = 200;       // a process's place in its host box: circle, label right...
    const CELL_W_FEW = 290;   // ...wider in a host of few, for the labels of edges inside
    const CELL_GAP = 46;      // between two rows of processes (room for edge labels)
    const LINE_H = 14;        // one label line
    const CHAR_W = 7;         // about what a label character takes (13px sans)
    const HOST_PAD = 14;      // inside a host box, around the grid
    const HOST_HEAD = 30;     // the host box's title
    const HOST_GAP = 60;      // between host boxes (room for the edges)
    const VIEW_MARGIN = 20;   // around everything
    const LABEL_FONT_W = 6.3; // about what an edge label character takes (11px sans)
    const LABEL_LINE_H = 13;  // one line of an edge label

    const MECH_CURVE = 'CURVE';        // the one mechanism that encrypts
    const UNENCRYPTED = 'unencrypted'; // on a connection without it, in a fleet with keys

    const $ = (id) => document.getElementById(id);
    const svg = $('graph');
    const layers = { hosts: $('hosts'), edges: $('edges'), nodes: $('nodes') };

    // ---- state ----------------------------------------------------------------------
    let topo = null;               // the last topology read, normalised
    const hostEls = new Map();     // host key -> { el, members, sig }
    const nodeEls = new Map();     // node id -> { el, sig }
    const edgeEls = new Map();     // edge id -> { el, sig }
    const unknownEls = new Map();  // placeholder key -> { el, sig }
    const edgeStats = new Map();   // edge id -> traffic state (trackEdge)
    const nodeStats = new Map();   // node id -> { hist, lastPush }
    let selected = null;           // { kind: 'node' | 'edge', id }
    let token = readToken();
    let inFlight = false;          // a fetch is running
    let again = false;             // another one was asked for meanwhile
    let coalesceTimer = null;
    let events = null;             // the EventSource, when there is one
    let live = false;              // the event stream is open
    let lastOk = null;             // Date of the last successful read
    let lastError = null;          // message of the last failed read, until one succeeds
    let drawnEdges = 0;            // edges on the page (the status line counts these)
    let drawnHosts = 0;

    // ---- small helpers --------------------------------------------------------------
    function readToken() {
        const h = window.location.hash.replace(/^#/, '');
        const t = new URLSearchParams(h).get('token');
        return t ? t : null;
    }

    function svgEl(tag, attrs, parent) {
        const e = document.createElementNS(SVGNS, tag);
        for (const k in attrs) e.setAttribute(k, attrs[k]);
        if (parent) parent.appendChild(e);
        return e;
    }

    function htmlEl(tag, text, parent, cls) {
        const e = document.createElement(tag);
        if (text !== undefined && text !== null) e.textContent = String(text);
        if (cls) e.className = cls;
        if (parent) parent.appendChild(e);
        return e;
    }

    function clear(el) {
        while (el.firstChild) el.removeChild(el.firstChild);
    }

    function plural(n, word, words) {
        return n + ' ' + (n === 1 ? word : words || word + 's');
    }

    function num(v) {
        return typeof v === 'number' && isFinite(v) ? v : 0;
    }

    function str(v) {
        return typeof v === 'string' ? v : (v === null || v === undefined ? '' : String(v));
    }

    function shortId(id) {
        return str(id).slice(0, 8);
    }

    function byString(a, b) {
        return a < b ? -1 : a > b ? 1 : 0;
    }

    function fillClass(fill) {
        return fill >= 0.9 ? 'fill-high' : fill >= 0.5 ? 'fill-mid' : 'fill-low';
    }

    function pct(fill) {
        return Math.round(num(fill) * 100) + ' %';
    }

    // 0.5, 9.7, 12, 3.4k, 12k, 1.2M: short enough for a label on a line.
    function shortNumber(v) {
        const units = [[1e9, 'G'], [1e6, 'M'], [1e3, 'k']];
        for (const [size, unit] of units) {
            if (v >= size) return (v / size < 10 ? (v / size).toFixed(1) : Math.round(v / size)) + unit;
        }
        return v === 0 ? '0' : v < 10 ? v.toFixed(1) : String(Math.round(v));
    }

    function msgRateText(v) {
        return shortNumber(v) + ' msg/s';
    }

    // Bytes in powers of 1000, as `nomid bench` counts them.
    function byteRateText(v) {
        const s = shortNumber(v);
        return (/[kMG]$/.test(s) ? s + 'B' : s + ' B') + '/s';
    }

    // ---- reading the API ------------------------------------------------------------

    // Accepts what the API sent, with defaults for anything missing, so one odd field
    // never breaks the drawing.
    function normalise(data) {
        if (!data || typeof data !== 'object' || !Array.isArray(data.nodes))
            throw new Error('unexpected reply from ' + API_TOPOLOGY);
        const nodes = data.nodes.filter((n) => n && typeof n.id === 'string').map((n) => ({
            id: n.id,
            name: str(n.name),
            state: str(n.state) || 'alive',
            addresses: Array.isArray(n.addresses) ? n.addresses.map(str).filter(Boolean) : [],
            admin: typeof n.admin === 'string' ? n.admin : null,
            adminError: typeof n.admin_error === 'string' ? n.admin_error : null,
            services: Array.isArray(n.services) ? n.services.filter(Boolean) : [],
            sockets: Array.isArray(n.sockets) ? n.sockets.filter(Boolean) : [],
            curveKey: str(n.curve_key), // '': none, or not known yet
        }));
        const edges = (Array.isArray(data.edges) ? data.edges : [])
            .filter((e) => e && typeof e.from === 'string')
            .map((e, i) => ({
                id: typeof e.id === 'string' || typeof e.id === 'number' ? String(e.id) : 'edge' + i,
                from: e.from,
                to: typeof e.to === 'string' ? e.to : null,
                socket: e.socket,
                type: str(e.type),
                peer_type: str(e.peer_type),
                endpoint: str(e.endpoint),
                state: str(e.state),
                fill: Math.min(1, Math.max(0, num(e.fill))),
                queued: num(e.queued),
                hwm: num(e.hwm),
                drops: num(e.drops),
                hwm_hits: num(e.hwm_hits),
                msgs: typeof e.msgs === 'number' ? e.msgs : null, // null: an older node
                bytes: num(e.bytes),
                age: Math.max(0, num(e.age)),
                mechanism: typeof e.mechanism === 'string' ? e.mechanism : null, // null: not reported
            }));
        // A fleet has keys when a node has a CURVE certificate or a connection uses
        // CURVE; then a connection without CURVE is unencrypted where it should not be.
        // Without keys nothing is marked: a fleet that never set up security gets no
        // alarm on every line.
        const keyed = nodes.some((n) => n.curveKey !== '') || edges.some((e) => e.mechanism === MECH_CURVE);
        for (const e of edges) e.unencrypted = keyed && e.mechanism !== null && e.mechanism !== MECH_CURVE;
        return { self: str(data.self), nodes, edges, keyed };
    }

    async function refresh() {
        if (inFlight) {
            again = true;
            return;
        }
        inFlight = true;
        const abort = new AbortController();
        const timer = setTimeout(() => abort.abort(), FETCH_TIMEOUT_MS);
        try {
            const headers = { Accept: 'application/json' };
            if (token) headers.Authorization = 'Bearer ' + token;
            const res = await fetch(API_TOPOLOGY, { headers, cache: 'no-store', signal: abort.signal });
            if (!res.ok) {
                let msg = 'HTTP ' + res.status + ' from ' + API_TOPOLOGY;
                if (res.status === 401) msg += ' (open the page with #token=… in its URL)';
                throw new Error(msg);
            }
            const t = normalise(await res.json());
            topo = t;
            lastOk = new Date();
            lastError = null;
            trackTraffic(t, performance.now());
            draw(t);
        } catch (e) {
            lastError = e && e.name === 'AbortError' ? 'no answer within ' + FETCH_TIMEOUT_MS / 1000 + ' s'
                : (e && e.message) || String(e);
        } finally {
            clearTimeout(timer);
            inFlight = false;
            showStatus();
            if (again) {
                again = false;
                refresh();
            }
        }
    }

    // Many events close together (a burst of drops) cause one refetch.
    function refreshSoon() {
        if (coalesceTimer !== null) return;
        coalesceTimer = setTimeout(() => {
            coalesceTimer = null;
            refresh();
        }, COALESCE_MS);
    }

    function openEvents() {
        if (events || token || typeof EventSource === 'undefined') return;
        const es = new EventSource(API_EVENTS);
        events = es;
        for (const kind of EVENT_KINDS) es.addEventListener(kind, refreshSoon);
        es.onmessage = refreshSoon; // events without a kind, should there be any
        es.onopen = () => {
            live = true;
            showStatus();
            refreshSoon(); // whatever happened while the stream was down
        };
        es.onerror = () => {
            live = false;
            showStatus();
            // CONNECTING: the browser retries by itself.  CLOSED: it gave up (an HTTP
            // error, say); the polling goes on, and the stream is tried again later.
            if (es.readyState === EventSource.CLOSED) {
                closeEvents();
                setTimeout(openEvents, REOPEN_EVENTS_MS);
            }
        };
    }

    function closeEvents() {
        if (events) events.close();
        events = null;
        live = false;
    }

    // ---- traffic: rates and history ------------------------------------------------

    // A fixed-length ring of samples, oldest first when read: page memory stays bounded
    // however long the page stays open.
    class Ring {
        constructor(size) {
            this.items = new Array(size);
            this.next = 0;
            this.count = 0;
        }

        push(v) {
            this.items[this.next] = v;
            this.next = (this.next + 1) % this.items.length;
            this.count = Math.min(this.count + 1, this.items.length);
        }

        values() {
            const out = [];
            const start = (this.next - this.count + this.items.length) % this.items.length;
            for (let i = 0; i < this.count; i++) out.push(this.items[(start + i) % this.items.length]);
            return out;
        }
    }

    // Rates of one edge from its counters: the change since the previous count over the
    // time between the two counts (a peer's counts are `age` seconds old when read, and
    // two reads may see the same count: those give no new rate).
    function trackEdge(e, now) {
        let st = edgeStats.get(e.id);
        if (!st) {
            st = { prev: null, rate: null, hist: new Ring(HISTORY_LEN), lastPush: -Infinity };
            edgeStats.set(e.id, st);
        }
        if (e.msgs === null) return st;
        const count = { at: now - e.age * 1000, msgs: e.msgs, bytes: e.bytes, drops: e.drops };
        const p = st.prev;
        if (p && (count.msgs < p.msgs || count.bytes < p.bytes)) {
            st.prev = count; // counters went back: another pipe under the same id
            st.rate = null;
        } else if (!p) {
            st.prev = count;
        } else if (count.at - p.at >= RATE_MIN_GAP_MS) {
            const s = (count.at - p.at) / 1000;
            st.rate = { msgs: (count.msgs - p.msgs) / s, bytes: (count.bytes - p.bytes) / s,
                drops: Math.max(0, count.drops - p.drops) / s };
            st.prev = count;
        }
        return st;
    }

    // One history sample at most every HISTORY_STEP_MS, whatever the refresh rate.
    function pushHistory(st, now, sample) {
        if (now - st.lastPush < HISTORY_STEP_MS) return;
        st.lastPush = now;
        st.hist.push(Object.assign({ t: now }, sample));
    }

    // Rates of every edge, the sums of each node's edges, a history sample of both; the
    // state of edges and nodes no longer in the topology is forgotten.
    function trackTraffic(t, now) {
        const perNode = new Map(t.nodes.map((n) => [n.id, { msgs: 0, bytes: 0, drops: 0, fill: 0, known: false }]));
        for (const e of t.edges) {
            const st = trackEdge(e, now);
            e.rate = st.rate; // null until two counts are in
            if (st.rate) pushHistory(st, now, { msgs: st.rate.msgs, bytes: st.rate.bytes, fill: e.fill, drops: st.rate.drops });
            for (const id of [e.from, e.to]) {
                const sum = perNode.get(id);
                if (!sum) continue;
                sum.fill = Math.max(sum.fill, e.fill);
                if (!st.rate) continue;
                sum.known = true;
                sum.msgs += st.rate.msgs;
                sum.bytes += st.rate.bytes;
                sum.drops += st.rate.drops;
            }
        }
        for (const [id, sum] of perNode) {
            let st = nodeStats.get(id);
            if (!st) {
                st = { hist: new Ring(HISTORY_LEN), lastPush: -Infinity };
                nodeStats.set(id, st);
            }
            if (sum.known || !t.edges.some((e) => e.from === id || e.to === id))
                pushHistory(st, now, { msgs: sum.msgs, bytes: sum.bytes, fill: sum.fill, drops: sum.drops });
        }
        forgetMissing(edgeStats, new Set(t.edges.map((e) => e.id)));
        forgetMissing(nodeStats, perNode);
    }

    function forgetMissing(map, keep) {
        for (const id of map.keys()) if (!keep.has(id)) map.delete(id);
    }

    // ---- hosts ----------------------------------------------------------------------

    function isLoopback(addr) {
        return /^127\./.test(addr) || addr === '::1' || addr === 'localhost';
    }

    // The addresses that say which host a node is on: its loopback ones only when it has
    // nothing else (processes announcing on lo and eth0 are grouped by eth0).
    function hostAddresses(n) {
        const outside = n.addresses.filter((a) => !isLoopback(a));
        return (outside.length ? outside : n.addresses).slice().sort(byString);
    }

    // Nodes sharing an address are on one host (union-find over their addresses).
    // Returns [{ key, addresses, nodes }], this node's host first, then by address.
    function groupHosts(t) {
        const parent = new Map();
        const find = (x) => {
            while (parent.get(x) !== x) x = parent.get(x);
            return x;
        };
        const join = (a, b) => parent.set(find(a), find(b));
        const keyOf = (n) => {
            const addrs = hostAddresses(n);
            return addrs.length ? 'addr:' + addrs[0] : 'node:' + n.id;
        };
        for (const n of t.nodes) {
            const addrs = hostAddresses(n);
            const first = keyOf(n);
            if (!parent.has(first)) parent.set(first, first);
            for (const a of addrs.slice(1)) {
                if (!parent.has('addr:' + a)) parent.set('addr:' + a, 'addr:' + a);
                join('addr:' + a, first);
            }
        }
        const groups = new Map();
        for (const n of t.nodes) {
            const root = find(keyOf(n));
            if (!groups.has(root)) groups.set(root, { nodes: [], addresses: new Set() });
            const g = groups.get(root);
            g.nodes.push(n);
            for (const a of hostAddresses(n)) g.addresses.add(a);
        }
        const hosts = [...groups.values()].map((g) => {
            const addresses = [...g.addresses].sort(byString);
            g.nodes.sort((a, b) => byString(a.name || '\uffff', b.name || '\uffff') || byString(a.id, b.id));
            return { key: addresses[0] || 'unknown', addresses, nodes: g.nodes, unknowns: [],
                self: g.nodes.some((n) => n.id === t.self) };
        });
        hosts.sort((a, b) => (b.self - a.self) || byString(a.key, b.key));
        return hosts;
    }

    // What a node is called: its name, or (no name) the address of its host.
    function displayName(n, hostOf) {
        if (n.name) return n.name;
        const h = hostOf && hostOf.get(n.id);
        const addrs = h ? h.addresses : hostAddresses(n);
        return addrs.length ? addrs[0] : 'unnamed ' + shortId(n.id);
    }

    // The host part of tcp://HOST:PORT (brackets of IPv6 taken off), or ''.
    function endpointHost(ep) {
        const m = /^[a-z]+:\/\/(\[[^\]]*\]|[^:/]*)/.exec(ep);
        return m ? m[1].replace(/^\[|\]$/g, '') : '';
    }

    // Peers discovery does not know (edges to null) join the host box of their address
    // when there is one, else a box of their own; one placeholder per node and endpoint.
    function placeUnknowns(t, hosts) {
        const byAddr = new Map();
        for (const h of hosts) for (const a of h.addresses) byAddr.set(a, h);
        const known = new Set(t.nodes.map((n) => n.id));
        const seen = new Set();
        for (const e of t.edges) {
            if ((e.to !== null && known.has(e.to)) || !known.has(e.from)) continue;
            const key = e.from + '|' + e.endpoint;
            if (seen.has(key)) continue;
            seen.add(key);
            const addr = endpointHost(e.endpoint) || 'unknown';
            let h = byAddr.get(addr);
            if (!h) {
                h = { key: addr, addresses: [addr], nodes: [], unknowns: [], self: false };
                hosts.push(h);
                byAddr.set(addr, h);
            }
            h.unknowns.push({ key, from: e.from, endpoint: e.endpoint });
        }
    }

    // ---- layout ---------------------------------------------------------------------

    function truncate(text, max) {
        return text.length > max ? text.slice(0, max - 1) + '…' : text;
    }

    // The lines beside a node: its name (or its host's address, and then its short id to
    // tell unnamed processes apart), a note on its state, its first services.
    function labelLines(n, isSelf, hostOf) {
        const lines = [];
        if (n.name) {
            lines.push({ text: truncate(n.name, NAME_MAX), cls: 'node-name' });
        } else {
            lines.push({ text: displayName(n, hostOf), cls: 'node-name node-addr-name' });
            lines.push({ text: 'unnamed · ' + shortId(n.id), cls: 'node-id' });
        }
        if (isSelf) lines.push({ text: 'this node', cls: 'node-note' });
        else if (n.state !== 'alive') lines.push({ text: n.state, cls: 'node-note' });
        // Its summary could not be fetched (refused, unreachable, a certificate that
        // failed verification): its sockets and connections are not known.
        if (n.adminError) lines.push({ text: 'admin not fetched', cls: 'node-note node-error' });
        n.services.slice(0, MAX_SERVICES).forEach((s) => lines.push({
            text: truncate(str(s.name) + (s.type ? ' · ' + str(s.type) : ''), NAME_MAX + 4), cls: 'node-service' }));
        if (n.services.length > MAX_SERVICES)
            lines.push({ text: '+' + (n.services.length - MAX_SERVICES) + ' more', cls: 'node-service' });
        return lines;
    }

    // A host box: its members on a grid about as wide as high (in cells); every row as
    // tall as the host's longest label.
    function sizeHost(h, t, hostOf) {
        const members = h.nodes.length + h.unknowns.length;
        h.cellW = members <= 4 ? CELL_W_FEW : CELL_W;
        h.cols = Math.max(1, Math.min(members, Math.ceil(Math.sqrt(members * 1.2))));
        h.rows = Math.max(1, Math.ceil(members / h.cols));
        const lines = Math.max(2, ...h.nodes.map((n) => labelLines(n, n.id === t.self, hostOf).length));
        h.cellH = Math.max(2 * NODE_R, lines * LINE_H) + CELL_GAP;
        h.w = h.cols * h.cellW + 2 * HOST_PAD;
        h.h = HOST_HEAD + h.rows * h.cellH + HOST_PAD - CELL_GAP / 2;
    }

    // Host boxes left to right, wrapping into rows no wider than rowW; sets each host's
    // x, y and returns the size of the whole.
    function packHosts(hosts, rowW) {
        let x = 0, y = 0, rowH = 0, w = 0;
        for (const h of hosts) {
            if (x > 0 && x + h.w > rowW) {
                x = 0;
                y += rowH + HOST_GAP;
                rowH = 0;
            }
            h.x = x;
            h.y = y;
            x += h.w + HOST_GAP;
            w = Math.max(w, x - HOST_GAP);
            rowH = Math.max(rowH, h.h);
        }
        return { w, h: y + rowH };
    }

    // The width of a row of hosts that lets the drawing fill the pane best (the largest
    // scale), among the widths where a row could break.
    function bestRowWidth(hosts) {
        const paneW = svg.clientWidth || 1000, paneH = svg.clientHeight || 700;
        const widths = new Set([Math.max(...hosts.map((h) => h.w))]);
        let sum = -HOST_GAP;
        for (const h of hosts) widths.add((sum += h.w + HOST_GAP));
        let best = null;
        for (const rowW of [...widths].sort((a, b) => a - b)) {
            const size = packHosts(hosts, rowW);
            const scale = Math.min(paneW / (size.w + 2 * VIEW_MARGIN), paneH / (size.h + 2 * VIEW_MARGIN));
            if (best === null || scale > best.scale + 1e-9) best = { rowW, scale };
        }
        return best.rowW;
    }

    // Places the host boxes and their members; returns node id (or placeholder key) ->
    // {x, y} of its circle.
    function layout(t, hosts, hostOf) {
        for (const h of hosts) sizeHost(h, t, hostOf);
        if (hosts.length) packHosts(hosts, bestRowWidth(hosts));
        const pos = new Map();
        for (const h of hosts) {
            const members = [...h.nodes.map((n) => n.id), ...h.unknowns.map((u) => u.key)];
            members.forEach((id, i) => {
                const col = i % h.cols, row = Math.floor(i / h.cols);
                pos.set(id, { x: h.x + HOST_PAD + col * h.cellW + NODE_R + 10,
                    y: h.y + HOST_HEAD + row * h.cellH + (h.cellH - CELL_GAP) / 2 });
            });
        }
        return pos;
    }

    // What the viewBox shows, as a box.
    function viewBounds() {
        const [x, y, w, h] = svg.getAttribute('viewBox').split(' ').map(Number);
        return { x0: x, y0: y, x1: x + w, y1: y + h };
    }

    // The viewBox holding every host box.
    function fitView(hosts) {
        let x1 = 400, y1 = 300;
        for (const h of hosts) {
            x1 = Math.max(x1, h.x + h.w);
            y1 = Math.max(y1, h.y + h.h);
        }
        const m = VIEW_MARGIN;
        const vb = [-m, -m, x1 + 2 * m, y1 + 2 * m].map((v) => Math.round(v)).join(' ');
        if (svg.getAttribute('viewBox') !== vb) svg.setAttribute('viewBox', vb);
    }

    // ---- drawing --------------------------------------------------------------------

    function draw(t) {
        const hosts = groupHosts(t);
        const hostOf = new Map();
        for (const h of hosts) for (const n of h.nodes) hostOf.set(n.id, h);
        placeUnknowns(t, hosts);
        const pos = layout(t, hosts, hostOf);
        fitView(hosts);
        ensureMarkers();

        for (const h of hosts) drawHost(h);
        removeMissing(hostEls, new Set(hosts.map((h) => h.key)), 'host', 'data-host');
        drawnHosts = hosts.filter((h) => h.nodes.length).length;

        for (const n of t.nodes) drawNode(n, pos.get(n.id), n.id === t.self, hostOf);
        removeMissing(nodeEls, new Set(t.nodes.map((n) => n.id)), 'node', 'data-node-id');

        const unknownKeys = new Set();
        for (const h of hosts) {
            for (const u of h.unknowns) {
                drawUnknown(u, pos.get(u.key), h);
                unknownKeys.add(u.key);
            }
        }
        removeMissing(unknownEls, unknownKeys, 'unknown', 'data-unknown-key');

        drawnEdges = drawEdges(t, pos, hosts, hostOf);
        $('empty').hidden = t.nodes.length > 0;
        $('legend-unencrypted').hidden = !t.keyed;
        showDetails();
    }

    // Edges between the same two places are bent apart so that each stays visible;
    // long ones arc (a straight line along a row of processes would run through them).
    // Their labels are placed afterwards, the most telling first, where they cover
    // neither a node nor another label.
    function drawEdges(t, pos, hosts, hostOf) {
        const anchorOf = (e) => (e.to !== null && pos.has(e.to) ? e.to : e.from + '|' + e.endpoint);
        const groups = new Map();
        for (const e of t.edges) {
            if (!pos.has(e.from) || !pos.has(anchorOf(e))) continue;
            const a = e.from, b = anchorOf(e);
            const key = a < b ? a + ' ' + b : b + ' ' + a;
            if (!groups.has(key)) groups.set(key, []);
            groups.get(key).push(e);
        }
        const shapes = [];
        for (const list of groups.values()) {
            list.sort((x, y) => byString(x.id, y.id));
            list.forEach((e, k) => {
                const a = pos.get(e.from), b = pos.get(anchorOf(e));
                // Bend sideways relative to a fixed direction (lower id to higher), so
                // that edges both ways between two nodes do not fall on each other.
                const flip = e.from < anchorOf(e) ? 1 : -1;
                const arc = Math.min(0.12 * Math.hypot(b.x - a.x, b.y - a.y), 70);
                const bend = ((k - (list.length - 1) / 2) * 30 + arc) * flip;
                const rb = e.to !== null && pos.has(e.to) ? NODE_R : UNKNOWN_R;
                // A lone edge may arc either way: the other way when its label finds no
                // room on this side.
                const alts = [edgeGeometry(a, b, rb, bend)];
                if (list.length === 1) alts.push(edgeGeometry(a, b, rb, -bend));
                shapes.push({ e, g: alts[0], alts });
            });
        }
        placeLabels(shapes, nodeObstacles(t, pos, hosts, hostOf), viewBounds());
        const drawn = new Set();
        for (const { e, g, label } of shapes) {
            drawEdge(e, g, label);
            drawn.add(e.id);
        }
        removeMissing(edgeEls, drawn, 'edge', 'data-edge-id');
        return drawn.size;
    }

    // Boxes edge labels must not cover: every node with its label, every host title.
    function nodeObstacles(t, pos, hosts, hostOf) {
        const boxes = [];
        for (const n of t.nodes) {
            const p = pos.get(n.id);
            const lines = labelLines(n, n.id === t.self, hostOf);
            const w = NODE_R + 7 + Math.max(...lines.map((l) => l.text.length)) * CHAR_W;
            const h = Math.max(2 * NODE_R, lines.length * LINE_H);
            boxes.push({ x0: p.x - NODE_R - 2, x1: p.x + w, y0: p.y - h / 2 - 2, y1: p.y + h / 2 + 2 });
        }
        for (const h of hosts) {
            const title = h.addresses.join(' · ').length + 16; // the address and "N processes"
            boxes.push({ x0: h.x, x1: h.x + 12 + title * CHAR_W, y0: h.y, y1: h.y + HOST_HEAD - 4 });
            for (const u of h.unknowns) {
                const p = pos.get(u.key);
                boxes.push({ x0: p.x - UNKNOWN_R, x1: p.x + 180, y0: p.y - UNKNOWN_R, y1: p.y + UNKNOWN_R });
            }
        }
        return boxes;
    }

    // The words on an edge, in two short lines: its traffic, then its bytes beside its
    // fill (and drops when there are any); the first begins with UNENCRYPTED when the
    // connection is (a line more would crowd out other labels).
    function edgeLabel(e) {
        const fill = pct(e.fill) + (e.drops > 0 ? ' · ' + shortNumber(e.drops) + ' dropped' : '');
        const lines = e.rate ? [msgRateText(e.rate.msgs), byteRateText(e.rate.bytes) + ' · ' + fill] : [fill];
        if (e.unencrypted) lines[0] = UNENCRYPTED + ' · ' + lines[0];
        return lines;
    }

    // Which labels matter most: the selected edge's, then those of edges dropping, then
    // of unencrypted ones, then of fuller queues, then of busier connections.
    function labelRank(x, y) {
        const key = (s) => [isSelected('edge', s.e.id) ? 1 : 0, s.e.drops > 0 ? 1 : 0,
            s.e.unencrypted ? 1 : 0, s.e.fill >= 0.5 ? s.e.fill : 0, s.e.rate ? s.e.rate.msgs : -1];
        const a = key(x), b = key(y);
        for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return b[i] - a[i];
        return byString(x.e.id, y.e.id);
    }

    // The point a fraction u along curve g, then that point moved off the curve to
    // either side by d, then by 2d.
    function beside(g, u, d) {
        const p = g.at(u), q = g.at(Math.min(1, u + 0.01)), r = g.at(Math.max(0, u - 0.01));
        const len = Math.hypot(q.x - r.x, q.y - r.y) || 1;
        const n = { x: -(q.y - r.y) / len, y: (q.x - r.x) / len };
        const off = (k) => ({ x: p.x + n.x * k, y: p.y + n.y * k });
        return [p, off(d), off(-d), off(2 * d), off(-2 * d)];
    }

    // Each shape gets `label`: { lines, x, y, w, h, hidden } at the first point along its
    // curve (of its alternative curves `alts`, the first that has one; `g` becomes that
    // curve) where the label's box is clear of `obstacles` and of the labels placed
    // before it; none clear: hidden (shown on hover, when selected and in the details).
    function placeLabels(shapes, obstacles, bounds) {
        const along = [0.5, 0.38, 0.62, 0.28, 0.72, 0.2, 0.8, 0.12, 0.88];
        const taken = obstacles.slice();
        const inside = (b) => b.x0 >= bounds.x0 && b.x1 <= bounds.x1 && b.y0 >= bounds.y0 && b.y1 <= bounds.y1;
        const clear = (b) => inside(b) && !taken.some((o) => b.x0 < o.x1 && b.x1 > o.x0 && b.y0 < o.y1 && b.y1 > o.y0);
        for (const s of shapes.slice().sort(labelRank)) {
            const lines = edgeLabel(s.e);
            const w = Math.max(...lines.map((l) => l.length)) * LABEL_FONT_W + 8;
            const h = lines.length * LABEL_LINE_H + 4;
            const box = (p) => ({ x0: p.x - w / 2, x1: p.x + w / 2, y0: p.y - h / 2, y1: p.y + h / 2 });
            let spot;
            for (const g of s.alts) {
                spot = along.flatMap((u) => beside(g, u, h / 2 + 3)).find((p) => clear(box(p)));
                if (spot) {
                    s.g = g;
                    break;
                }
            }
            const p = spot || s.g.at(0.5);
            s.label = { lines, x: p.x, y: p.y, w, h, hidden: !spot, warn: s.e.unencrypted };
            if (spot) taken.push(box(spot));
        }
    }

    // Arrow heads, one per edge colour (markers do not inherit the line's colour).
    function ensureMarkers() {
        const defs = $('defs');
        if (defs.childNodes.length) return;
        for (const c of ['fill-low', 'fill-mid', 'fill-high', 'inactive']) {
            const m = svgEl('marker', { id: 'arrow-' + c, viewBox: '0 0 10 10', refX: '9', refY: '5',
                markerWidth: '10', markerHeight: '10', markerUnits: 'userSpaceOnUse',
                orient: 'auto-start-reverse' }, defs);
            svgEl('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrow ' + c }, m);
        }
    }

    // Creates the element of `key` in `map` (and `layer`) if need be; null when `sig`
    // says nothing changed since it was last drawn.
    function element(map, key, sig, make) {
        let rec = map.get(key);
        if (rec && rec.sig === sig) return null;
        if (!rec) {
            rec = make();
            map.set(key, rec);
        }
        rec.sig = sig;
        return rec;
    }

    // A host's box (in the hosts layer) and the group its nodes go into (nodes layer).
    function drawHost(h) {
        const n = h.nodes.length, u = h.unknowns.length;
        const sig = JSON.stringify([h.x, h.y, h.w, h.h, h.addresses, n, u, h.self]);
        const rec = element(hostEls, h.key, sig, () => {
            const el = svgEl('g', { class: 'host' }, layers.hosts);
            const members = svgEl('g', { class: 'host-members' }, layers.nodes);
            el.setAttribute('data-host', h.key);
            members.setAttribute('data-host', h.key);
            return { el, members, sig: '' };
        });
        if (!rec) return;
        const el = rec.el;
        el.classList.toggle('self-host', h.self);
        el.classList.toggle('unknown-host', n === 0);
        clear(el);
        svgEl('rect', { x: h.x, y: h.y, width: h.w, height: h.h, rx: '10', class: 'host-box' }, el);
        const title = svgEl('text', { x: h.x + 12, y: h.y + 20, class: 'host-title' }, el);
        svgEl('tspan', { class: 'host-addr' }, title).textContent = h.addresses.join(' · ') || 'host not known';
        const count = n ? plural(n, 'process', 'processes') + (u ? ' + ' + u + ' unknown' : '') : plural(u, 'unknown peer');
        svgEl('tspan', { class: 'host-count', dx: '10' }, title).textContent = count;
        svgEl('title', {}, el).textContent = 'host ' + (h.addresses.join(', ') || '?') + ': ' + count;
    }

    // Creates or updates the element of one node inside its host's group.
    function drawNode(n, p, isSelf, hostOf) {
        const state = isSelf ? 'self' : n.state;
        const host = hostEls.get(hostOf.get(n.id).key);
        const sig = JSON.stringify([n, state, p.x, p.y, displayName(n, hostOf)]);
        let rec = nodeEls.get(n.id);
        if (rec && rec.el.parentNode !== host.members) host.members.appendChild(rec.el); // moved host
        rec = element(nodeEls, n.id, sig, () => {
            const el = svgEl('g', { class: 'node entering', tabindex: '0', role: 'button' }, host.members);
            el.setAttribute('data-node-id', n.id);
            requestAnimationFrame(() => el.classList.remove('entering'));
            return { el, sig: '' };
        });
        if (!rec) return;
        const el = rec.el;
        el.setAttribute('data-state', state);
        el.setAttribute('transform', 'translate(' + p.x.toFixed(1) + ',' + p.y.toFixed(1) + ')');
        el.setAttribute('aria-label', 'node ' + displayName(n, hostOf) + ', ' + state);
        el.classList.toggle('selected', isSelected('node', n.id));
        clear(el);

        svgEl('circle', { r: NODE_R + 6, class: 'node-ring' }, el); // shown when selected
        svgEl('circle', { r: NODE_R, class: 'node-dot ' + state }, el);
        const lines = labelLines(n, isSelf, hostOf);
        const label = svgEl('text', { class: 'node-label', y: String(4 - ((lines.length - 1) * LINE_H) / 2) }, el);
        lines.forEach((l, i) => {
            const span = svgEl('tspan', { x: String(NODE_R + 7), dy: i === 0 ? '0' : String(LINE_H), class: l.cls }, label);
            span.textContent = l.text;
        });
        svgEl('title', {}, el).textContent = (n.name || displayName(n, hostOf) + ' (unnamed)') + ' · ' + n.id;
    }

    function drawUnknown(u, p, h) {
        const sig = JSON.stringify([u, p]);
        const host = hostEls.get(h.key);
        const old = unknownEls.get(u.key);
        if (old && old.el.parentNode !== host.members) host.members.appendChild(old.el); // moved host
        const rec = element(unknownEls, u.key, sig, () => {
            const el = svgEl('g', { class: 'unknown' }, host.members);
            el.setAttribute('data-unknown-key', u.key);
            return { el, sig: '' };
        });
        if (!rec) return;
        const el = rec.el;
        el.setAttribute('transform', 'translate(' + p.x.toFixed(1) + ',' + p.y.toFixed(1) + ')');
        clear(el);
        svgEl('rect', { x: -UNKNOWN_R, y: -UNKNOWN_R, width: 2 * UNKNOWN_R, height: 2 * UNKNOWN_R,
            rx: '4', class: 'unknown-box' }, el);
        svgEl('text', { y: '5', class: 'unknown-mark' }, el).textContent = '?';
        const t = svgEl('text', { x: String(NODE_R + 7), y: '4', class: 'unknown-label' }, el);
        t.textContent = 'unknown · ' + (u.endpoint || '?');
        svgEl('title', {}, el).textContent = 'a peer discovery does not know, at ' + (u.endpoint || '?');
    }

    // A quadratic curve from a to b, bent sideways by `bend`, cut short at both ends so
    // that it starts at the circle of `a` and its arrow touches the shape of `b`;
    // `at(u)` is the point a fraction u along it.
    function edgeGeometry(a, b, rb, bend) {
        const dx = b.x - a.x, dy = b.y - a.y;
        const len = Math.hypot(dx, dy) || 1;
        const c = { x: (a.x + b.x) / 2 - (dy / len) * bend * 2, y: (a.y + b.y) / 2 + (dx / len) * bend * 2 };
        const towards = (p, q, d) => {
            const l = Math.hypot(q.x - p.x, q.y - p.y) || 1;
            return { x: p.x + ((q.x - p.x) / l) * d, y: p.y + ((q.y - p.y) / l) * d };
        };
        const s = towards(a, c, NODE_R + 2);
        const e = towards(b, c, rb + 3);
        const f = (v) => v.toFixed(1);
        const at = (u) => ({ x: (1 - u) * (1 - u) * s.x + 2 * u * (1 - u) * c.x + u * u * e.x,
            y: (1 - u) * (1 - u) * s.y + 2 * u * (1 - u) * c.y + u * u * e.y });
        return { d: 'M' + f(s.x) + ',' + f(s.y) + ' Q' + f(c.x) + ',' + f(c.y) + ' ' + f(e.x) + ',' + f(e.y), at };
    }

    function drawEdge(e, g, label) {
        const sig = JSON.stringify([e, g.d, label]);
        const rec = element(edgeEls, e.id, sig, () => {
            const el = svgEl('g', { tabindex: '0', role: 'button' }, layers.edges);
            el.setAttribute('data-edge-id', e.id);
            return { el, sig: '' };
        });
        if (!rec) return;
        const el = rec.el;
        const active = e.state === '' || e.state === 'active';
        const colour = active ? fillClass(e.fill) : 'inactive';
        const idle = !e.rate || e.rate.msgs === 0;
        el.setAttribute('class', 'edge ' + colour + (e.drops > 0 ? ' drops' : '') + (idle ? ' idle' : '') +
            (e.unencrypted ? ' unencrypted' : '') + (label.hidden ? ' label-hidden' : '') +
            (isSelected('edge', e.id) ? ' selected' : ''));
        el.setAttribute('data-from', e.from);
        el.setAttribute('data-to', e.to === null ? '' : e.to);
        el.setAttribute('data-state', e.state);
        el.setAttribute('data-mechanism', e.mechanism === null ? '' : e.mechanism);
        setRateHooks(el, e.rate);
        const words = label.lines.join(' · ');
        el.setAttribute('aria-label', e.type + ' connection to ' + e.endpoint + ', ' + words);
        clear(el);

        if (e.drops > 0) svgEl('path', { d: g.d, class: 'edge-halo' }, el);
        svgEl('path', { d: g.d, class: 'edge-hit' }, el); // a wide invisible stroke to click
        svgEl('path', { d: g.d, class: 'edge-line ' + colour + (e.drops > 0 ? ' drops' : ''),
            'marker-end': 'url(#arrow-' + colour + ')' }, el);
        // Unencrypted: a dashed stripe over the line, which keeps its fill colour.
        if (e.unencrypted) svgEl('path', { d: g.d, class: 'edge-plain' }, el);
        drawEdgeLabel(el, label, colour);
        svgEl('title', {}, el).textContent = e.type + ' → ' + (e.peer_type || '?') + '  ' + e.endpoint + '\n' + words;
    }

    // A label on a white card edged in the line's colour, so that it reads over lines.
    function drawEdgeLabel(el, label, colour) {
        const box = svgEl('g', { class: 'edge-label', transform: 'translate(' + label.x.toFixed(1) + ',' + label.y.toFixed(1) + ')' }, el);
        svgEl('rect', { x: (-label.w / 2).toFixed(1), y: (-label.h / 2).toFixed(1), width: label.w.toFixed(1),
            height: label.h.toFixed(1), rx: '4', class: 'edge-label-card ' + colour }, box);
        const text = svgEl('text', { y: (-((label.lines.length - 1) * LABEL_LINE_H) / 2 + 4).toFixed(1) }, box);
        label.lines.forEach((l, i) => {
            const cls = i === 0 && label.lines.length > 1 ? 'edge-rate' : '';
            const at = { x: '0', dy: i === 0 ? '0' : String(LABEL_LINE_H) };
            if (i === 0 && label.warn) { // UNENCRYPTED in its own colour, then the rest
                svgEl('tspan', Object.assign({ class: 'edge-warn' }, at), text).textContent = UNENCRYPTED;
                svgEl('tspan', { class: cls }, text).textContent = l.slice(UNENCRYPTED.length);
                return;
            }
            svgEl('tspan', Object.assign({ class: cls }, at), text).textContent = l;
        });
    }

    function setRateHooks(el, rate) {
        if (rate) {
            el.setAttribute('data-msg-rate', rate.msgs.toFixed(2));
            el.setAttribute('data-byte-rate', rate.bytes.toFixed(0));
        } else {
            el.removeAttribute('data-msg-rate');
            el.removeAttribute('data-byte-rate');
        }
    }

    // Elements whose id is no longer in `keep` lose their test hooks at once and fade out.
    function removeMissing(map, keep, cls, attr) {
        for (const [id, rec] of map) {
            if (keep.has(id)) continue;
            map.delete(id);
            for (const el of [rec.el, rec.members].filter(Boolean)) {
                el.classList.remove(cls, 'host-members', 'selected');
                el.classList.add('leaving');
                el.removeAttribute(attr);
                el.removeAttribute('tabindex');
                setTimeout(() => el.remove(), FADE_MS);
            }
        }
    }

    // ---- status line ----------------------------------------------------------------
    function showStatus() {
        const status = $('status');
        const detail = $('status-detail');
        if (lastError) {
            status.textContent = 'error: ' + lastError + ' — retrying';
            status.classList.add('error');
            svg.classList.add('stale');
        } else if (topo) {
            status.textContent = plural(topo.nodes.length, 'node') + ', ' + plural(drawnEdges, 'edge');
            status.classList.remove('error');
            svg.classList.remove('stale');
        }
        const parts = [];
        if (topo) parts.push(plural(drawnHosts, 'host'));
        if (lastOk) parts.push('updated ' + lastOk.toLocaleTimeString());
        parts.push(live ? 'live' : token ? 'polling every 2 s (token: no event stream)'
            : 'polling every 2 s');
        const me = topo && topo.nodes.find((n) => n.id === topo.self);
        if (me) parts.push('this node: ' + displayName(me));
        if (topo && topo.keyed) {
            const plain = topo.edges.filter((e) => e.unencrypted).length;
            parts.push(plain ? plural(plain, 'connection') + ' unencrypted' : 'every connection encrypted');
        }
        detail.textContent = parts.join(' · ');
    }

    // ---- selection ------------------------------------------------------------------
    function isSelected(kind, id) {
        return selected !== null && selected.kind === kind && selected.id === id;
    }

    function select(kind, id) {
        selected = kind ? { kind, id } : null;
        for (const [nid, rec] of nodeEls) rec.el.classList.toggle('selected', isSelected('node', nid));
        for (const [eid, rec] of edgeEls) rec.el.classList.toggle('selected', isSelected('edge', eid));
        showDetails();
    }

    function targetOf(ev) {
        const el = ev.target.closest && ev.target.closest('[data-node-id], [data-edge-id]');
        if (!el) return null;
        return el.hasAttribute('data-node-id') ? { kind: 'node', id: el.getAttribute('data-node-id') }
            : { kind: 'edge', id: el.getAttribute('data-edge-id') };
    }

    svg.addEventListener('click', (ev) => {
        const t = targetOf(ev);
        select(t ? t.kind : null, t ? t.id : null);
    });
    svg.addEventListener('keydown', (ev) => {
        if (ev.key !== 'Enter' && ev.key !== ' ') return;
        const t = targetOf(ev);
        if (!t) return;
        ev.preventDefault();
        select(t.kind, t.id);
    });
    document.addEventListener('keydown', (ev) => {
        if (ev.key === 'Escape') select(null);
    });

    // ---- the details panel ----------------------------------------------------------
    function row(dl, term, value) {
        htmlEl('dt', term, dl);
        const dd = htmlEl('dd', null, dl);
        if (value instanceof Node) dd.appendChild(value);
        else dd.textContent = value === '' || value === null || value === undefined ? '—' : String(value);
        return dd;
    }

    function list(items) {
        if (!items.length) return '—';
        const ul = document.createElement('ul');
        for (const it of items) htmlEl('li', it, ul);
        return ul;
    }

    function nodeName(id) {
        if (id === null) return 'unknown peer';
        const n = topo && topo.nodes.find((x) => x.id === id);
        return n ? displayName(n) + ' (' + shortId(id) + ')' : shortId(id);
    }

    function adminLink(url) {
        // Only plain web links: the value comes from the network.
        if (!/^https?:\/\//i.test(url)) return url;
        const a = document.createElement('a');
        a.href = url;
        a.textContent = url;
        a.rel = 'noopener noreferrer';
        return a;
    }

    // A small line chart of one series of history samples (newest on the right; gaps
    // where the page could not read), over the time they cover (at least 20 steps, at
    // most the whole ring), its scale from 0 to `max` or to the largest value.
    function sparkline(samples, series, max) {
        const W = 200, H = 34, now = performance.now();
        const span = Math.min(HISTORY_LEN, Math.max(20, samples.length)) * HISTORY_STEP_MS;
        const top = max !== undefined ? max : 1.15 * Math.max(0, ...samples.map((s) => s[series]));
        const sp = svgEl('svg', { class: 'spark', viewBox: '0 0 ' + W + ' ' + H, width: W, height: H,
            preserveAspectRatio: 'none', 'aria-hidden': 'true' });
        sp.setAttribute('data-series', series);
        sp.setAttribute('data-samples', String(samples.length));
        svgEl('line', { x1: 0, y1: H - 1, x2: W, y2: H - 1, class: 'spark-base' }, sp);
        const pts = samples.filter((s) => now - s.t <= span).map((s) => {
            const x = W - ((now - s.t) / span) * W;
            const y = H - 2 - (top > 0 ? (s[series] / top) * (H - 4) : 0);
            return x.toFixed(1) + ',' + y.toFixed(1);
        });
        if (pts.length === 1) pts.unshift((W - 2) + ',' + pts[0].split(',')[1]);
        if (pts.length) svgEl('polyline', { points: pts.join(' '), class: 'spark-line spark-' + series }, sp);
        return sp;
    }

    // The history block: one sparkline per series, each with its last and largest value.
    function historyBlock(ring) {
        const samples = ring.values();
        const box = htmlEl('div', null, null, 'history');
        if (!samples.length) {
            htmlEl('p', 'collecting (one sample every ' + HISTORY_STEP_MS / 1000 + ' s)…', box, 'muted');
            return box;
        }
        const last = samples[samples.length - 1];
        const series = [
            ['msgs', 'msg/s', msgRateText, undefined],
            ['bytes', 'bytes/s', byteRateText, undefined],
            ['fill', 'fullest queue', pct, 1],
            ['drops', 'drops/s', (v) => shortNumber(v) + '/s', undefined],
        ];
        for (const [key, title, fmt, max] of series) {
            const peak = Math.max(...samples.map((s) => s[key]));
            const item = htmlEl('div', null, box, 'history-item' + (key === 'drops' && peak > 0 ? ' bad' : ''));
            const head = htmlEl('div', null, item, 'history-head');
            htmlEl('span', title, head);
            htmlEl('span', fmt(last[key]) + (peak > last[key] ? ' (max ' + fmt(peak) + ')' : ''), head, 'history-value');
            item.appendChild(sparkline(samples, key, max));
        }
        const minutes = Math.round((HISTORY_LEN * HISTORY_STEP_MS) / 60000);
        htmlEl('p', 'last ' + minutes + ' min, ' + plural(samples.length, 'sample'), box, 'muted history-note');
        return box;
    }

    function showNodeDetails(box, dl, n) {
        htmlEl('h3', 'Node ' + displayName(n), box);
        row(dl, 'id', n.id);
        row(dl, 'name', n.name || 'none (shown by its host\u2019s address)');
        row(dl, 'state', n.id === topo.self ? 'self (this node)' : n.state);
        row(dl, 'addresses', list(n.addresses));
        row(dl, 'admin', n.admin ? adminLink(n.admin) : 'not announced');
        if (n.adminError) row(dl, 'admin error', n.adminError);
        row(dl, 'CURVE key', n.curveKey || 'none');
        row(dl, 'services', list(n.services.map((s) =>
            str(s.name) + ' · ' + str(s.type) + ' · ' + str(s.endpoint))));
        row(dl, 'sockets', list(n.sockets.map((s) =>
            '#' + str(s.id) + ' ' + str(s.type) + ' ' +
            (Array.isArray(s.endpoints) ? s.endpoints.map(str).join(', ') : ''))));
        const mine = topo.edges.filter((e) => e.from === n.id || e.to === n.id);
        const plain = mine.filter((e) => e.unencrypted).length;
        row(dl, 'connections', mine.length + (plain ? ' (' + plain + ' unencrypted)' : ''))
            .className = plain ? 'bad' : '';
        box.appendChild(dl);
        htmlEl('h4', 'Traffic of its connections', box);
        const st = nodeStats.get(n.id);
        if (st) box.appendChild(historyBlock(st.hist));
    }

    function showEdgeDetails(box, dl, e) {
        htmlEl('h3', 'Connection ' + e.id, box);
        row(dl, 'from', nodeName(e.from));
        row(dl, 'to', nodeName(e.to));
        row(dl, 'socket', '#' + str(e.socket) + ' ' + e.type + (e.peer_type ? ' → ' + e.peer_type : ''));
        row(dl, 'endpoint', e.endpoint);
        row(dl, 'state', e.state);
        row(dl, 'security', e.mechanism === null ? 'not reported'
            : e.unencrypted ? UNENCRYPTED + ' (' + e.mechanism + ') in a fleet with keys' : e.mechanism)
            .className = e.unencrypted ? 'bad' : '';
        row(dl, 'rate', e.rate ? msgRateText(e.rate.msgs) + ', ' + byteRateText(e.rate.bytes)
            : e.msgs === null ? 'not reported' : 'measuring…');
        row(dl, 'messages', e.msgs === null ? null : e.msgs + ' (' + e.bytes + ' bytes)');
        row(dl, 'queued / hwm', e.queued + ' / ' + e.hwm);
        row(dl, 'fill', pct(e.fill)).className = fillClass(e.fill);
        row(dl, 'drops', e.drops).className = e.drops > 0 ? 'bad' : '';
        row(dl, 'hwm hits', e.hwm_hits);
        box.appendChild(dl);
        htmlEl('h4', 'History', box);
        const st = edgeStats.get(e.id);
        if (st) box.appendChild(historyBlock(st.hist));
    }

    function showDetails() {
        const box = $('details');
        clear(box);
        htmlEl('h2', 'Details', box);
        if (!selected) {
            htmlEl('p', 'Click a node or a connection to see its numbers and their history.', box, 'muted');
            return;
        }
        const dl = htmlEl('dl', null, null);
        if (selected.kind === 'node') {
            const n = topo && topo.nodes.find((x) => x.id === selected.id);
            if (n) showNodeDetails(box, dl, n);
            else htmlEl('p', 'Node ' + shortId(selected.id) + ' is no longer in the topology.', box, 'muted');
        } else {
            const e = topo && topo.edges.find((x) => x.id === selected.id);
            if (e) showEdgeDetails(box, dl, e);
            else htmlEl('p', 'Connection ' + selected.id + ' is no longer in the topology.', box, 'muted');
        }
    }

    // ---- start ----------------------------------------------------------------------
    window.addEventListener('hashchange', () => {
        token = readToken();
        if (token) closeEvents();
        else openEvents();
        refresh();
    });

    // The layout fits the pane: draw again when it changes size.
    let resizeTimer = null;
    window.addEventListener('resize', () => {
        clearTimeout(resizeTimer);
        resizeTimer = setTimeout(() => topo && draw(topo), 150);
    });

    showStatus();
    refresh();
    openEvents();
    setInterval(refresh, POLL_MS);
})();
