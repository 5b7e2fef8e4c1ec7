/*
 * app.js - the live topology page of a nomid node (admin/API.md).
 *
 * Reads GET api/v1/topology (relative: same origin, whatever prefix the page is served
 * under) and draws it as SVG: nodes on a circle sorted by id (deterministic: the page
 * does not move between refreshes), one edge per connection from the node that
 * connected to the node that bound, coloured by how full its queues are.  It stays live
 * without reloading: every Server-Sent Event on api/v1/events triggers a refetch
 * (coalesced over 200 ms), and it also refetches every 2 s in case events are lost.
 *
 * `#token=XYZ` in the page URL is sent as `Authorization: Bearer XYZ` (admin wants one
 * beyond loopback); EventSource cannot send headers, so with a token the page polls.
 *
 * Test hooks (tests/browser/topology.mjs): `.node[data-node-id][data-state]`,
 * `.edge[data-edge-id][data-from][data-to]`, `#status` ("3 nodes, 2 edges").
 * No dependencies; all text from the API goes through textContent, never innerHTML.
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

    const SVGNS = 'http://www.w3.org/2000/svg';
    const NODE_R = 24;        // node circle radius
    const UNKNOWN_R = 14;     // half size of an "unknown peer" box
    const MAX_SERVICES = 4;   // service lines under a node before "+N more"

    const $ = (id) => document.getElementById(id);
    const svg = $('graph');
    const layers = { edges: $('edges'), placeholders: $('placeholders'), nodes: $('nodes') };

    // ---- state ----------------------------------------------------------------------
    let topo = null;               // the last topology read, normalised
    const nodeEls = new Map();     // node id -> { el, sig }
    const edgeEls = new Map();     // edge id -> { el, sig }
    const unknownEls = new Map();  // placeholder key -> { el, sig }
    let selected = null;           // { kind: 'node' | 'edge', id }
    let token = readToken();
    let inFlight = false;          // a fetch is running
    let again = false;             // another one was asked for meanwhile
    let coalesceTimer = null;
    let events = null;             // the EventSource, when there is one
    let live = false;              // the event stream is open
    let lastOk = null;             // Date of the last successful read
    let lastError = null;          // message of the last failed read, until one succeeds

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

    function plural(n, word) {
        return n + ' ' + word + (n === 1 ? '' : 's');
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

    function fillClass(fill) {
        return fill >= 0.9 ? 'fill-high' : fill >= 0.5 ? 'fill-mid' : 'fill-low';
    }

    function pct(fill) {
        return Math.round(num(fill) * 100) + ' %';
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
            addresses: Array.isArray(n.addresses) ? n.addresses.map(str) : [],
            admin: typeof n.admin === 'string' ? n.admin : null,
            services: Array.isArray(n.services) ? n.services.filter(Boolean) : [],
            sockets: Array.isArray(n.sockets) ? n.sockets.filter(Boolean) : [],
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
            }));
        return { self: str(data.self), nodes, edges };
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
        if (lastOk) parts.push('updated ' + lastOk.toLocaleTimeString());
        parts.push(live ? 'live' : token ? 'polling every 2 s (token: no event stream)'
            : 'polling every 2 s');
        const me = topo && topo.nodes.find((n) => n.id === topo.self);
        if (me) parts.push('this node: ' + (me.name || shortId(me.id)));
        detail.textContent = parts.join(' · ');
    }

    // ---- layout ---------------------------------------------------------------------

    // Nodes on a circle in id order: the same set of ids always gets the same places.
    function layout(t) {
        const ids = t.nodes.map((n) => n.id).sort();
        const n = ids.length;
        const radius = n <= 1 ? 0 : Math.max(170, (n * 150) / (2 * Math.PI));
        const pos = new Map();
        ids.forEach((id, i) => {
            // Start half a step past the top, so that two nodes sit side by side.
            const a = -Math.PI / 2 + Math.PI / n + (2 * Math.PI * i) / n;
            pos.set(id, { x: radius * Math.cos(a), y: radius * Math.sin(a), a });
        });
        return pos;
    }

    // Where the "unknown peer" boxes go: beside the node they hang off, on its outer
    // side (left or right, clear of the label under it), stacked when there are several.
    function placeUnknowns(t, pos) {
        const places = new Map(); // key -> { x, y, from, endpoint }
        const perNode = new Map();
        for (const e of t.edges) {
            if (e.to !== null && pos.has(e.to)) continue;
            const p = pos.get(e.from);
            if (!p) continue;
            const key = e.from + '|' + e.endpoint;
            if (places.has(key)) continue;
            const k = perNode.get(e.from) || 0;
            perNode.set(e.from, k + 1);
            const side = p.x > 1 ? 1 : -1;
            places.set(key, { x: p.x + side * 180, y: p.y + k * 48, from: e.from, endpoint: e.endpoint });
        }
        return places;
    }

    // The viewBox holding every node with its label and every placeholder.
    function fitView(points) {
        let x0 = -300, y0 = -200, x1 = 300, y1 = 200;
        for (const p of points) {
            x0 = Math.min(x0, p.x - 130);
            x1 = Math.max(x1, p.x + 130);
            y0 = Math.min(y0, p.y - 60);
            y1 = Math.max(y1, p.y + 140); // the label block under a node
        }
        const vb = [x0, y0, x1 - x0, y1 - y0].map((v) => Math.round(v)).join(' ');
        if (svg.getAttribute('viewBox') !== vb) svg.setAttribute('viewBox', vb);
    }

    // ---- drawing --------------------------------------------------------------------
    let drawnEdges = 0;

    function draw(t) {
        const pos = layout(t);
        const unknowns = placeUnknowns(t, pos);
        fitView([...pos.values(), ...unknowns.values()]);
        ensureMarkers();

        const byId = new Map(t.nodes.map((n) => [n.id, n]));
        for (const n of t.nodes) drawNode(n, pos.get(n.id), n.id === t.self);
        removeMissing(nodeEls, byId, 'node', 'data-node-id');

        for (const [key, u] of unknowns) drawUnknown(key, u);
        removeMissing(unknownEls, unknowns, 'unknown', 'data-unknown-key');

        // Edges between the same two nodes are bent apart so that each stays visible.
        const anchorOf = (e) => (e.to !== null && pos.has(e.to) ? e.to : 'unknown:' + e.from + '|' + e.endpoint);
        const groups = new Map();
        const shown = t.edges.filter((e) => pos.has(e.from));
        for (const e of shown) {
            const a = e.from, b = anchorOf(e);
            const key = a < b ? a + ' ' + b : b + ' ' + a;
            if (!groups.has(key)) groups.set(key, []);
            groups.get(key).push(e);
        }
        const edgeIds = new Map();
        for (const list of groups.values()) {
            list.sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
            list.forEach((e, k) => {
                const from = pos.get(e.from);
                const toKnown = e.to !== null && pos.has(e.to);
                const to = toKnown ? pos.get(e.to) : unknowns.get(e.from + '|' + e.endpoint);
                const bend = (k - (list.length - 1) / 2) * 36;
                // Bend sideways relative to a fixed direction (lower id to higher), so
                // that edges both ways between two nodes do not fall on each other.
                const flip = e.from < anchorOf(e) ? 1 : -1;
                drawEdge(e, from, to, toKnown ? NODE_R : UNKNOWN_R, bend * flip);
                edgeIds.set(e.id, e);
            });
        }
        removeMissing(edgeEls, edgeIds, 'edge', 'data-edge-id');
        drawnEdges = edgeIds.size;

        $('empty').hidden = t.nodes.length > 0;
        showDetails();
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

    // Creates or updates the element of one node; `sig` skips unchanged ones.
    function drawNode(n, p, isSelf) {
        const state = isSelf ? 'self' : n.state;
        const sig = JSON.stringify([n, state, p.x, p.y]);
        let rec = nodeEls.get(n.id);
        if (rec && rec.sig === sig) return;
        if (!rec) {
            const el = svgEl('g', { class: 'node entering', tabindex: '0', role: 'button' }, layers.nodes);
            el.setAttribute('data-node-id', n.id);
            rec = { el, sig: '' };
            nodeEls.set(n.id, rec);
            requestAnimationFrame(() => el.classList.remove('entering'));
        }
        const el = rec.el;
        rec.sig = sig;
        el.setAttribute('data-state', state);
        el.setAttribute('transform', 'translate(' + p.x.toFixed(1) + ',' + p.y.toFixed(1) + ')');
        el.setAttribute('aria-label', 'node ' + (n.name || n.id) + ', ' + state);
        el.classList.toggle('selected', isSelected('node', n.id));
        while (el.firstChild) el.removeChild(el.firstChild);

        svgEl('circle', { r: NODE_R + 6, class: 'node-ring' }, el); // shown when selected
        svgEl('circle', { r: NODE_R, class: 'node-dot ' + state }, el);

        const lines = [];
        // A node without a name is called by its short id (once).
        lines.push({ text: n.name || shortId(n.id), cls: n.name ? 'node-name' : 'node-name node-id-name' });
        if (n.name) lines.push({ text: shortId(n.id), cls: 'node-id' });
        if (state === 'self') lines.push({ text: 'this node', cls: 'node-note' });
        else if (state !== 'alive') lines.push({ text: state, cls: 'node-note' });
        n.services.slice(0, MAX_SERVICES).forEach((s) =>
            lines.push({ text: str(s.name) + (s.type ? ' · ' + str(s.type) : ''), cls: 'node-service' }));
        if (n.services.length > MAX_SERVICES)
            lines.push({ text: '+' + (n.services.length - MAX_SERVICES) + ' more', cls: 'node-service' });
        const label = svgEl('text', { class: 'node-label', y: String(NODE_R + 18) }, el);
        lines.forEach((l, i) => {
            const span = svgEl('tspan', { x: '0', dy: i === 0 ? '0' : '1.25em', class: l.cls }, label);
            span.textContent = l.text;
        });
    }

    function drawUnknown(key, u) {
        const sig = JSON.stringify(u);
        let rec = unknownEls.get(key);
        if (rec && rec.sig === sig) return;
        if (!rec) {
            const el = svgEl('g', { class: 'unknown' }, layers.placeholders);
            el.setAttribute('data-unknown-key', key);
            rec = { el, sig: '' };
            unknownEls.set(key, rec);
        }
        const el = rec.el;
        rec.sig = sig;
        el.setAttribute('transform', 'translate(' + u.x.toFixed(1) + ',' + u.y.toFixed(1) + ')');
        while (el.firstChild) el.removeChild(el.firstChild);
        svgEl('rect', { x: -UNKNOWN_R, y: -UNKNOWN_R, width: 2 * UNKNOWN_R, height: 2 * UNKNOWN_R,
            rx: '4', class: 'unknown-box' }, el);
        svgEl('text', { y: '5', class: 'unknown-mark' }, el).textContent = '?';
        const t = svgEl('text', { y: String(UNKNOWN_R + 14), class: 'unknown-label' }, el);
        t.textContent = 'unknown';
        const title = svgEl('title', {}, el);
        title.textContent = 'a peer discovery does not know, at ' + (u.endpoint || '?');
    }

    // A quadratic curve from a to b, bent sideways by `bend`, cut short at both ends so
    // that it starts at the circle of `a` and its arrow touches the shape of `b`.
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
        return {
            d: 'M' + f(s.x) + ',' + f(s.y) + ' Q' + f(c.x) + ',' + f(c.y) + ' ' + f(e.x) + ',' + f(e.y),
            mid: { x: 0.25 * s.x + 0.5 * c.x + 0.25 * e.x, y: 0.25 * s.y + 0.5 * c.y + 0.25 * e.y },
        };
    }

    function drawEdge(e, a, b, rb, bend) {
        const g = edgeGeometry(a, b, rb, bend);
        const sig = JSON.stringify([e, g.d]);
        let rec = edgeEls.get(e.id);
        if (rec && rec.sig === sig) return;
        if (!rec) {
            const el = svgEl('g', { tabindex: '0', role: 'button' }, layers.edges);
            el.setAttribute('data-edge-id', e.id);
            rec = { el, sig: '' };
            edgeEls.set(e.id, rec);
        }
        const el = rec.el;
        rec.sig = sig;
        const active = e.state === '' || e.state === 'active';
        const colour = active ? fillClass(e.fill) : 'inactive';
        el.setAttribute('class', 'edge ' + colour + (e.drops > 0 ? ' drops' : '') +
            (isSelected('edge', e.id) ? ' selected' : ''));
        el.setAttribute('data-from', e.from);
        el.setAttribute('data-to', e.to === null ? '' : e.to);
        el.setAttribute('data-state', e.state);
        el.setAttribute('aria-label', e.type + ' connection to ' + e.endpoint + ', ' + pct(e.fill) + ' full' +
            (e.drops > 0 ? ', ' + e.drops + ' dropped' : ''));
        while (el.firstChild) el.removeChild(el.firstChild);

        if (e.drops > 0) svgEl('path', { d: g.d, class: 'edge-halo' }, el);
        svgEl('path', { d: g.d, class: 'edge-hit' }, el); // a wide invisible stroke to click
        svgEl('path', { d: g.d, class: 'edge-line ' + colour + (e.drops > 0 ? ' drops' : ''),
            'marker-end': 'url(#arrow-' + colour + ')' }, el);
        // A number on the line only when it says something: fuller than half, or drops.
        if (e.fill >= 0.5 || e.drops > 0) {
            const text = svgEl('text', { x: g.mid.x.toFixed(1), y: (g.mid.y - 6).toFixed(1), class: 'edge-label' }, el);
            text.textContent = pct(e.fill) + (e.drops > 0 ? ' · ' + e.drops + ' dropped' : '');
        }
        const title = svgEl('title', {}, el);
        title.textContent = e.type + ' → ' + (e.peer_type || '?') + '  ' + e.endpoint;
    }

    // Elements whose id is no longer in `keep` lose their test hooks at once and fade out.
    function removeMissing(map, keep, cls, attr) {
        for (const [id, rec] of map) {
            if (keep.has(id)) continue;
            map.delete(id);
            const el = rec.el;
            el.classList.remove(cls, 'selected');
            el.classList.add('leaving');
            el.removeAttribute(attr);
            el.removeAttribute('tabindex');
            setTimeout(() => el.remove(), FADE_MS);
        }
    }

    // ---- selection and the details panel -------------------------------------------
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
        return n ? (n.name || shortId(id)) + ' (' + shortId(id) + ')' : shortId(id);
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

    function showDetails() {
        const box = $('details');
        while (box.firstChild) box.removeChild(box.firstChild);
        htmlEl('h2', 'Details', box);
        if (!selected) {
            htmlEl('p', 'Click a node or a connection to see its numbers.', box, 'muted');
            return;
        }
        const dl = htmlEl('dl', null, null);
        if (selected.kind === 'node') {
            const n = topo && topo.nodes.find((x) => x.id === selected.id);
            if (!n) {
                htmlEl('p', 'Node ' + shortId(selected.id) + ' is no longer in the topology.', box, 'muted');
                return;
            }
            htmlEl('h3', 'Node ' + (n.name || shortId(n.id)), box);
            row(dl, 'id', n.id);
            row(dl, 'name', n.name);
            row(dl, 'state', n.id === topo.self ? 'self (this node)' : n.state);
            row(dl, 'addresses', list(n.addresses));
            row(dl, 'admin', n.admin ? adminLink(n.admin) : 'not announced');
            row(dl, 'services', list(n.services.map((s) =>
                str(s.name) + ' · ' + str(s.type) + ' · ' + str(s.endpoint))));
            row(dl, 'sockets', list(n.sockets.map((s) =>
                '#' + str(s.id) + ' ' + str(s.type) + ' ' +
                (Array.isArray(s.endpoints) ? s.endpoints.map(str).join(', ') : ''))));
            const conns = topo.edges.filter((e) => e.from === n.id || e.to === n.id).length;
            row(dl, 'connections', conns);
        } else {
            const e = topo && topo.edges.find((x) => x.id === selected.id);
            if (!e) {
                htmlEl('p', 'Connection ' + selected.id + ' is no longer in the topology.', box, 'muted');
                return;
            }
            htmlEl('h3', 'Connection ' + e.id, box);
            row(dl, 'from', nodeName(e.from));
            row(dl, 'to', nodeName(e.to));
            row(dl, 'socket', '#' + str(e.socket) + ' ' + e.type + (e.peer_type ? ' → ' + e.peer_type : ''));
            row(dl, 'endpoint', e.endpoint);
            row(dl, 'state', e.state);
            row(dl, 'queued / hwm', e.queued + ' / ' + e.hwm);
            row(dl, 'fill', pct(e.fill)).className = fillClass(e.fill);
            row(dl, 'drops', e.drops).className = e.drops > 0 ? 'bad' : '';
            row(dl, 'hwm hits', e.hwm_hits);
        }
        box.appendChild(dl);
    }

    // ---- start ----------------------------------------------------------------------
    window.addEventListener('hashchange', () => {
        token = readToken();
        if (token) closeEvents();
        else openEvents();
        refresh();
    });

    showStatus();
    refresh();
    openEvents();
    setInterval(refresh, POLL_MS);
})();
