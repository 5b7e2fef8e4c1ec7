#!/usr/bin/env node
/*
 * topology.mjs - drives Debian's Chromium (through playwright-core) over the topology
 * page of a nomid admin endpoint.  Run by tests/interop/test_topology_page.py against
 * real nodes, and by tests/browser/mock_admin.py --check against a mock.
 *
 *   node topology.mjs --url URL --screenshot PNG --nodes N [--edges M]
 *                     [--after-nodes K --after-screenshot PNG] [--timeout SEC]
 *
 * Opens URL, waits until the page shows N `.node` elements and at least M `.edge`
 * elements (and checks the test hooks and the status line), clicks a node and an edge
 * and checks the details panel, saves a screenshot and prints `screenshot PATH`.
 * With --after-nodes it then prints `ready-to-kill`, waits for one line on stdin (the
 * caller has made a node go away), waits until K `.node` elements remain without the
 * page being reloaded, and saves the second screenshot.  Prints `ok` and exits 0, or
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
        'after-nodes': { type: 'string' },
        'after-screenshot': { type: 'string' },
        timeout: { type: 'string', default: '20' },
    },
});
if (!opt.url || !opt.screenshot || !opt.nodes) {
    console.error('usage: node topology.mjs --url URL --screenshot PNG --nodes N [--edges M] ' +
        '[--after-nodes K --after-screenshot PNG] [--timeout SEC]');
    process.exit(2);
}
const wantNodes = Number(opt.nodes);
const wantEdges = Number(opt.edges);
const afterNodes = opt['after-nodes'] !== undefined ? Number(opt['after-nodes']) : null;
const timeout = Number(opt.timeout) * 1000;

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

        const res = await page.goto(opt.url, { waitUntil: 'load', timeout });
        check(res && res.ok(), `GET ${opt.url}: ${res ? res.status() : 'no response'}`);
        const firstNav = navigations;

        await waitCounts(page, wantNodes, wantEdges, 'first view');
        const s = await checkHooks(page, wantNodes);
        check(pageErrors.length === 0, 'errors in the page: ' + pageErrors.join('; '));

        // The details panel follows clicks: an edge (dispatched: thin curves are hard to
        // hit by coordinates), then the self node (a real click).
        if (s.edges.length) {
            await page.locator(`.edge[data-edge-id="${s.edges[0].id}"]`).dispatchEvent('click');
            await page.waitForFunction((id) => document.getElementById('details').textContent.includes(id),
                s.edges[0].id, { timeout: 5000 });
        }
        const selfId = s.ids[s.states.indexOf('self')];
        await page.locator(`.node[data-node-id="${selfId}"] circle.node-dot`).click({ timeout: 5000 });
        await page.waitForFunction((id) => document.getElementById('details').textContent.includes(id),
            selfId, { timeout: 5000 });

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
            check(still === mark && navigations === firstNav,
                `the page was reloaded (navigations ${navigations}, was ${firstNav}; mark ${still})`);
            check(pageErrors.length === 0, 'errors in the page: ' + pageErrors.join('; '));
            if (opt['after-screenshot']) await shoot(page, opt['after-screenshot']);
        }
        console.log('ok');
    } finally {
        await browser.close();
    }
}

try {
    await main();
    process.exit(0);
} catch (e) {
    console.log('FAIL: ' + (e instanceof Fail ? e.message : e.stack || e));
    process.exit(1);
}
