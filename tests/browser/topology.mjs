#!/usr/bin/env node
/*
 * topology.mjs - drives Debian's Chromium (through playwright-core) over the topology
 * page of a nomid admin endpoint.  Run by tests/interop/test_topology_page.py against
 * real nodes, and by tests/browser/mock_admin.py --check against a mock.
 *
 *   node topology.mjs --url URL --screenshot PNG --nodes N [--edges M]
 *                     [--hosts ADDR=N,ADDR=N...] [--msg-rate R[:K]] [--history-of ID]
 *                     [--unencrypted none|ID,ID...]
 *                     [--after-nodes K --after-screenshot PNG [--after-unencrypted none|ID,...]]
 *                     [--timeout SEC]
 *
 * Opens URL, waits until the page shows N `.node` elements and at least M `.edge`
 * elements (and checks the test hooks, the status line, and that every node is called
 * by a name or its host's address, never by `-` or a bare id).  With --hosts, checks
 * that the page draws exactly those host boxes, each titled with its address and
 * holding (in the DOM and on the screen) that many nodes.  Clicks an edge and checks
 * the details panel; with --msg-rate, waits until at least K (default 1) edges show a
 * rate within -40 %/+50 % of R msg/s on their label.  With --unencrypted, checks the
 * marks of unencrypted connections: `none` (a fleet without keys) wants no edge marked
 * and no legend entry; a list of edge ids (a fleet with keys) wants exactly those edges
 * marked (class, dashed stripe, "unencrypted" on the label and in the details), every
 * other edge unmarked (its details naming CURVE), the legend entry shown and the count
 * in the status line.  Clicks the self node (or node ID),
 * waits until its details show a history of at least 3 samples with traffic in it,
 * saves a screenshot and prints `screenshot PATH`.
 * With --after-nodes it then prints `ready-to-kill`, waits for one line on stdin (the
 * caller has made a node go away), waits until K `.node` elements remain without the
 * page being reloaded, checks the marks of unencrypted connections again as
 * --after-unencrypted says, and saves the second screenshot.  Prints `ok` and exits 0, or
 * `FAIL: why` with what the page showed and exits 1.
 */
import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';

import { chromium } from 'playwright-core';

const CHROMIUM = process.env.NOMID_CHROMIUM || '/usr/bin/chromium';

const { values: opt } = parseArgs({
    options: {
        url: { type: 'string' },
        screenshot: { type: 'string' },
        nodes: { type: 'string' },
        edges: { type: 'string', default: '0' },
        hosts: { type: 'string' },
        'msg-rate': { type: 'string' },
        'history-of': { type: 'string' },
        unencrypted: { type: 'string' },
        'after-unencrypted': { type: 'string' },
        'after-nodes': { type: 'string' },
        'after-screenshot': { type: 'string' },
        timeout: { type: 'string', default: '20' },
    },
});
if (!opt.url || !opt.screenshot || !opt.nodes) {
    console.error('usage: node topology.mjs --url URL --screenshot PNG --nodes N [--edges M] ' +
        '[--hosts ADDR=N,...] [--msg-rate R[:K]] [--history-of ID] [--unencrypted none|ID,...] ' +
        '[--after-nodes K --after-screenshot PNG] [--timeout SEC]');
    process.exit(2);
}
const wantNodes = Number(opt.nodes);
const wantEdges = Number(opt.edges);
const afterNodes = opt['after-nodes'] !== undefined ? Number(opt['after-nodes']) : null;
const timeout = Number(opt.timeout) * 1000;
const wantHosts = opt.hosts ? new Map(opt.hosts.split(',').map((h) => {
    const [addr, n] = h.split('=');
    return [addr, Number(n)];
})) : null;
const [wantRate, wantRateEdges] = opt['msg-rate'] ? opt['msg-rate'].split(':').map(Number).concat([1]) : [null, 0];
// Edge ids an --unencrypted option lists (none: []), or null when not given.
const idList = (v) => v === undefined ? null : v === 'none' ? [] : v.split(',').filter(Boolean);
const wantPlain = idList(opt.unencrypted);
const afterPlain = idList(opt['after-unencrypted']);
const HISTORY_SAMPLES = 3;

class Fail extends Error {}

function check(cond, msg) {
    if (!cond) throw new Fail(msg);
}

// What the page shows, for failure messages.
async function snapshot(page) {
    try {
        return await page.evaluate(() => ({
            status: document.getElementById('status')?.textContent,
            detail: document.getElementById('status-detail')?.textContent,
            nodes: [...document.querySelectorAll('.node')].map((e) =>
                e.getAttribute('data-node-id') + '/' + e.getAttribute('data-state')),
            edges: [...document.querySelectorAll('.edge')].map((e) =>
                e.getAttribute('data-from') + '->' + e.getAttribute('data-to')),
        }));
    } catch (e) {
        return { error: String(e) };
    }
}

async function waitCounts(page, nodes, minEdges, what) {
    try {
        await page.waitForFunction(([n, m]) =>
            document.querySelectorAll('.node').length === n &&
            document.querySelectorAll('.edge').length >= m, [nodes, minEdges], { timeout });
    } catch (e) {
        throw new Fail(`${what}: no ${nodes} nodes and >= ${minEdges} edges within ${timeout / 1000} s; ` +
            `the page shows ${JSON.stringify(await snapshot(page))}`);
    }
}

// The DOM hooks the tests rely on, and the status line.
async function checkHooks(page, nodes) {
    const s = await page.evaluate(() => {
        const nodeEls = [...document.querySelectorAll('.node')];
        return {
            ids: nodeEls.map((e) => e.getAttribute('data-node-id')),
            states: nodeEls.map((e) => e.getAttribute('data-state')),
            edges: [...document.querySelectorAll('.edge')].map((e) => ({
                id: e.getAttribute('data-edge-id'), from: e.getAttribute('data-from'),
                to: e.getAttribute('data-to') })),
            status: document.getElementById('status').textContent,
        };
    });
    for (const id of s.ids) check(/^[0-9a-f]{32}$/.test(id), `node id ${JSON.stringify(id)} is not 32 hex digits`);
    check(new Set(s.ids).size === s.ids.length, `duplicate node ids ${s.ids}`);
    check(s.states.every((x) => x), `a node without data-state: ${s.states}`);
    check(s.states.filter((x) => x === 'self').length === 1, `not exactly one self node: ${s.states}`);
    for (const e of s.edges) {
        check(e.id, `an edge without data-edge-id: ${JSON.stringify(e)}`);
        check(s.ids.includes(e.from), `edge ${e.id} from ${e.from}, not a drawn node`);
        check(e.to === '' || s.ids.includes(e.to), `edge ${e.id} to ${e.to}, not a drawn node`);
    }
    const re = new RegExp(`^${nodes} nodes?, ${s.edges.length} edges?$`);
    check(re.test(s.status), `status line ${JSON.stringify(s.status)}, want "${nodes} nodes, ${s.edges.length} edges"`);
    return s;
}

// Every node is called by its name or its host's address: never `-`, nothing, or a
// bare id.
async function checkLabels(page) {
    const labels = await page.evaluate(() => [...document.querySelectorAll('.node')].map((e) => ({
        id: e.getAttribute('data-node-id'), name: e.querySelector('.node-name')?.textContent ?? null })));
    for (const l of labels) {
        check(l.name !== null && !['', '-', '—'].includes(l.name.trim()),
            `node ${l.id} is labelled ${JSON.stringify(l.name)}`);
        check(!/^[0-9a-f]{4,}$/.test(l.name) || !l.id.startsWith(l.name),
            `node ${l.id} is labelled by a bare id ${JSON.stringify(l.name)}`);
    }
}

// The host boxes: exactly the wanted ones, each titled with its address, each holding
// its nodes in the DOM (inside .host-members[data-host]) and on the screen (every node's
// circle inside the box).
async function checkHosts(page) {
    const got = await page.evaluate(() => {
        const inside = (r, b) => r.left >= b.left && r.right <= b.right && r.top >= b.top && r.bottom <= b.bottom;
        return [...document.querySelectorAll('.host[data-host]')].map((h) => {
            const key = h.getAttribute('data-host');
            const box = h.querySelector('.host-box').getBoundingClientRect();
            const members = document.querySelector(`.host-members[data-host="${CSS.escape(key)}"]`);
            const nodes = members ? [...members.querySelectorAll('.node')] : [];
            return {
                key, title: h.querySelector('.host-title')?.textContent ?? '',
                nodes: nodes.length,
                outside: nodes.filter((n) => !inside(n.querySelector('.node-dot').getBoundingClientRect(), box))
                    .map((n) => n.getAttribute('data-node-id')),
            };
        }).filter((h) => h.nodes > 0);
    });
    const desc = JSON.stringify(got.map((h) => h.key + '=' + h.nodes));
    check(got.length === wantHosts.size, `host boxes ${desc}, want ${opt.hosts}`);
    for (const h of got) {
        check(wantHosts.get(h.key) === h.nodes, `host boxes ${desc}, want ${opt.hosts}`);
        check(h.title.includes(h.key), `host ${h.key} is titled ${JSON.stringify(h.title)}`);
        check(h.outside.length === 0, `nodes ${h.outside} are drawn outside their host box ${h.key}`);
    }
}

// Edges' msg/s from their test hooks, and their labels (visible or not).
async function edgeRates(page) {
    return page.evaluate(() => [...document.querySelectorAll('.edge[data-msg-rate]')].map((e) => {
        const label = e.querySelector('.edge-label');
        return {
            id: e.getAttribute('data-edge-id'), rate: Number(e.getAttribute('data-msg-rate')),
            bytes: Number(e.getAttribute('data-byte-rate')),
            label: label ? [...label.querySelectorAll('tspan')].map((t) => t.textContent).join(' / ') : '',
            visible: !!label && label.getBoundingClientRect().width > 0,
        };
    }));
}

async function waitRates(page) {
    const lo = wantRate * 0.6, hi = wantRate * 1.5;
    try {
        await page.waitForFunction(([lo, hi, k]) =>
            [...document.querySelectorAll('.edge[data-msg-rate]')].filter((e) => {
                const r = Number(e.getAttribute('data-msg-rate'));
                const label = e.querySelector('.edge-label');
                return r >= lo && r <= hi && label && label.getBoundingClientRect().width > 0 &&
                    /msg\/s/.test(label.textContent);
            }).length >= k, [lo, hi, wantRateEdges], { timeout });
    } catch (e) {
        throw new Fail(`no ${wantRateEdges} edges showing ${lo.toFixed(1)}..${hi.toFixed(1)} msg/s on a visible label within ` +
            `${timeout / 1000} s; the edges show ${JSON.stringify(await edgeRates(page))}`);
    }
    const good = (await edgeRates(page)).filter((r) => r.rate >= lo && r.rate <= hi);
    for (const r of good) check(r.bytes > 0, `edge ${r.id} shows ${r.rate} msg/s but ${r.bytes} bytes/s`);
    console.log('rates ' + good.map((r) => r.label).join(' | '));
}

// The details of the selected node show its history: sparklines of at least
// HISTORY_SAMPLES samples, the msg/s one not flat at zero.
async function waitHistory(page, id) {
    try {
        await page.waitForFunction(([id, n]) => {
            const d = document.getElementById('details');
            const sp = d.querySelector('svg.spark[data-series="msgs"]');
            const line = sp && sp.querySelector('polyline');
            if (!d.textContent.includes(id) || !line || Number(sp.getAttribute('data-samples')) < n) return false;
            const ys = line.getAttribute('points').trim().split(/\s+/).map((p) => Number(p.split(',')[1]));
            return ys.length >= n && Math.min(...ys) < Number(sp.viewBox.baseVal.height) - 3;
        }, [id, HISTORY_SAMPLES], { timeout });
    } catch (e) {
        const d = await page.evaluate(() => document.getElementById('details').textContent);
        throw new Fail(`the details of ${id} show no history of ${HISTORY_SAMPLES} samples with traffic ` +
            `within ${timeout / 1000} s; they show ${JSON.stringify(d)}`);
    }
    const series = await page.evaluate(() => [...document.querySelectorAll('#details svg.spark')]
        .map((s) => s.getAttribute('data-series')));
    for (const want of ['msgs', 'bytes', 'fill', 'drops'])
        check(series.includes(want), `no ${want} sparkline in the details (${series})`);
}

// What the page shows of one edge: its marks and the words on its label.
async function edgeMarks(page) {
    return page.evaluate(() => [...document.querySelectorAll('.edge')].map((e) => ({
        id: e.getAttribute('data-edge-id'), mechanism: e.getAttribute('data-mechanism'),
        marked: e.classList.contains('unencrypted'), stripe: !!e.querySelector('.edge-plain'),
        label: e.querySelector('.edge-label')?.textContent ?? '',
    })));
}

// The details panel of edge `id`, clicked open.
async function edgeDetails(page, id) {
    await page.locator(`.edge[data-edge-id="${id}"]`).dispatchEvent('click');
    await page.waitForFunction((id) => document.getElementById('details').textContent.includes(id), id,
        { timeout: 5000 });
    return page.evaluate(() => {
        const dts = [...document.querySelectorAll('#details dt')];
        const dt = dts.find((d) => d.textContent === 'security');
        return dt ? dt.nextElementSibling.textContent : null;
    });
}

// Unencrypted connections are marked as `wantPlain` (edge ids) says, and only those.
async function checkUnencrypted(page, wantPlain) {
    const want = new Set(wantPlain);
    try {
        await page.waitForFunction((want) => {
            const got = [...document.querySelectorAll('.edge.unencrypted')].map((e) => e.getAttribute('data-edge-id'));
            return got.length === want.length && want.every((id) => got.includes(id));
        }, wantPlain, { timeout });
    } catch (e) {
        throw new Fail(`edges marked unencrypted: want ${JSON.stringify(wantPlain)}; the edges show ` +
            JSON.stringify(await edgeMarks(page)));
    }
    const marks = await edgeMarks(page);
    for (const m of marks) {
        const bad = want.has(m.id);
        check(m.stripe === bad, `edge ${m.id} (${m.mechanism}) ${bad ? 'has no' : 'has a'} dashed stripe: ${JSON.stringify(m)}`);
        check(/unencrypted/.test(m.label) === bad,
            `edge ${m.id} (${m.mechanism}) is labelled ${JSON.stringify(m.label)}, want ${bad ? '' : 'no '}"unencrypted"`);
        if (bad) check(m.mechanism !== 'CURVE', `edge ${m.id} over CURVE is marked unencrypted`);
    }
    const legend = await page.evaluate(() => {
        const li = document.getElementById('legend-unencrypted');
        return li ? { shown: li.getBoundingClientRect().height > 0, text: li.textContent } : null;
    });
    check(legend !== null, 'no #legend-unencrypted in the legend');
    check(legend.shown === want.size > 0, `the legend entry ${JSON.stringify(legend.text)} is ` +
        `${legend.shown ? 'shown' : 'hidden'} in a fleet ${want.size ? 'with' : 'without'} keys`);
    const detail = await page.evaluate(() => document.getElementById('status-detail').textContent);
    check(/unencrypted/.test(detail) === want.size > 0, `status detail ${JSON.stringify(detail)}`);
    if (want.size) {
        check(detail.includes(want.size + ' connection'), `status detail ${JSON.stringify(detail)} does not count ` +
            `${want.size} unencrypted connections`);
        const marked = marks.find((m) => want.has(m.id));
        const text = await edgeDetails(page, marked.id);
        check(/^unencrypted \((NULL|PLAIN)\)/.test(text ?? ''), `the details of ${marked.id} say security ${JSON.stringify(text)}`);
        const curve = marks.find((m) => m.mechanism === 'CURVE');
        check(curve, `no edge over CURVE to check: ${JSON.stringify(marks)}`);
        const curveText = await edgeDetails(page, curve.id);
        check(curveText === 'CURVE', `the details of ${curve.id} say security ${JSON.stringify(curveText)}, want "CURVE"`);
    }
    console.log('unencrypted ' + (want.size ? [...want].join(',') : 'none') + ' of ' + marks.length + ' edges');
}

async function shoot(page, path) {
    mkdirSync(dirname(path), { recursive: true });
    await page.waitForTimeout(500); // let fades finish
    await page.screenshot({ path });
    console.log('screenshot ' + path);
}

async function main() {
    const browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ['--no-sandbox', '--headless=new'],
        timeout,
    });
    try {
        const page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
        const pageErrors = [];
        let navigations = 0;
        page.on('pageerror', (e) => pageErrors.push(String(e)));
        page.on('console', (m) => {
            if (m.type() === 'error') console.log('console error: ' + m.text());
        });
        page.on('framenavigated', (f) => {
            if (f === page.mainFrame()) navigations++;
        });

        try {
            await drive(page, pageErrors, () => navigations);
        } catch (e) {
            // What the page looked like when it went wrong, next to the screenshot.
            await shoot(page, opt.screenshot.replace(/(\.png)?$/, '-fail.png')).catch(() => {});
            throw e;
        }
    } finally {
        await browser.close();
    }
}

// The checks, in order, on an open page.
async function drive(page, pageErrors, navigationCount) {
    const res = await page.goto(opt.url, { waitUntil: 'load', timeout });
    check(res && res.ok(), `GET ${opt.url}: ${res ? res.status() : 'no response'}`);
    const firstNav = navigationCount();

    await waitCounts(page, wantNodes, wantEdges, 'first view');
    const s = await checkHooks(page, wantNodes);
    await checkLabels(page);
    if (wantHosts) await checkHosts(page);
    check(pageErrors.length === 0, 'errors in the page: ' + pageErrors.join('; '));

    // The details panel follows clicks: an edge (dispatched: thin curves are hard to
    // hit by coordinates), then the self node (a real click).
    if (s.edges.length) {
        await page.locator(`.edge[data-edge-id="${s.edges[0].id}"]`).dispatchEvent('click');
        await page.waitForFunction((id) => document.getElementById('details').textContent.includes(id),
            s.edges[0].id, { timeout: 5000 });
    }
    if (wantRate !== null) await waitRates(page);
    if (wantPlain !== null) await checkUnencrypted(page, wantPlain);
    const selfId = s.ids[s.states.indexOf('self')];
    await page.locator(`.node[data-node-id="${selfId}"] circle.node-dot`).click({ timeout: 5000 });
    await page.waitForFunction((id) => document.getElementById('details').textContent.includes(id),
        selfId, { timeout: 5000 });
    const historyOf = opt['history-of'] || selfId;
    if (historyOf !== selfId)
        await page.locator(`.node[data-node-id="${historyOf}"]`).dispatchEvent('click');
    await waitHistory(page, historyOf);
    check(pageErrors.length === 0, 'errors in the page: ' + pageErrors.join('; '));

    // A mark in the page's memory: a reload would lose it.
    const mark = await page.evaluate(() => (window.__nomidMark = 'm' + Math.random()));
    await shoot(page, opt.screenshot);

    if (afterNodes !== null) {
        console.log('ready-to-kill');
        const rl = createInterface({ input: process.stdin });
        const [what] = await Promise.race([once(rl, 'line').then(() => ['line']),
            once(rl, 'close').then(() => ['close'])]);
        rl.close();
        check(what === 'line', 'stdin closed before the go-ahead line');

        await waitCounts(page, afterNodes, 0, 'after the node went away');
        await checkHooks(page, afterNodes);
        const still = await page.evaluate(() => window.__nomidMark);
        check(still === mark && navigationCount() === firstNav,
            `the page was reloaded (navigations ${navigationCount()}, was ${firstNav}; mark ${still})`);
        if (afterPlain !== null) await checkUnencrypted(page, afterPlain);
        check(pageErrors.length === 0, 'errors in the page: ' + pageErrors.join('; '));
        if (opt['after-screenshot']) await shoot(page, opt['after-screenshot']);
    }
    console.log('ok');
}

try {
    await main();
    process.exit(0);
} catch (e) {
    console.log('FAIL: ' + (e instanceof Fail ? e.message : e.stack || e));
    process.exit(1);
}
