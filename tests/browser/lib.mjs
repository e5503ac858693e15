// Shared by the browser tests: the real qunzhu binary on port 0 over a fresh data directory
// loaded with the demo community, Debian's chromium driven by playwright-core, and a watch on
// every page's console (any error fails the test unless the step said it expects that one),
// screenshots and timings.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { scratch, waitFor } from '../e2e/lib.mjs';

export { waitFor };
export const CHROMIUM = process.env.QZ_CHROMIUM ?? '/usr/bin/chromium';

export function assertEqual(actual, expected, what) {
  if (actual !== expected) throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}
export function assert(condition, what) {
  if (!condition) throw new Error(what);
}

// `qunzhu demo` into a fresh directory, `accounts` created with the CLI ([{name, role, password}];
// none: the first start makes 'admin' and prints its password), then `qunzhu serve` on port 0.
// The demo's days end yesterday (--recent), so the Overview's last-30-days chart shows them.
// QZ_BROWSER_DEMO: more arguments for `qunzhu demo` (the page timings at 100,000 members are
// taken with QZ_BROWSER_DEMO="--members 100000 --days 90"; docs/benchmarks.md).
export async function startServer(binary, { accounts = [] } = {}) {
  const dir = scratch('qz-browser-');
  const data = path.join(dir, 'data');
  const demoArgs = (process.env.QZ_BROWSER_DEMO ?? '').split(/\s+/).filter(Boolean);
  execFileSync(binary, ['demo', '--data', data, '--recent', ...demoArgs], { stdio: 'ignore' });
  for (const a of accounts) {
    execFileSync(binary, ['user', 'create', a.name, '--role', a.role, '--data', data], { input: `${a.password}\n`, stdio: ['pipe', 'ignore', 'inherit'] });
  }
  const portFile = path.join(dir, 'port');
  const logFile = path.join(dir, 'qunzhu.log');
  const log = fs.openSync(logFile, 'w');
  const startedAt = Date.now();
  // QZ_CONSOLE: the built console to serve (default: the `console` directory beside the binary).
  const consoleDir = process.env.QZ_CONSOLE ? ['--console', process.env.QZ_CONSOLE] : [];
  const child = spawn(binary, ['serve', '--data', data, '--listen', '127.0.0.1:0', '--port-file', portFile, ...consoleDir],
    { stdio: ['ignore', log, log] });
  let exited = null;
  child.on('exit', (code, signal) => { exited = { code, signal }; });
  const serverLog = () => fs.readFileSync(logFile, 'utf8');
  const port = await waitFor('qunzhu to listen', () => {
    if (exited) throw new Error(`qunzhu exited (${JSON.stringify(exited)}): ${serverLog()}`);
    try { return Number(fs.readFileSync(portFile, 'utf8').trim()) || null; } catch { return null; }
  });
  const base = `http://127.0.0.1:${port}`;
  const token = fs.readFileSync(path.join(data, 'admin.token'), 'utf8').trim();

  // The API with the admin token: { status, body } (body parsed when JSON).
  async function api(method, p, body, contentType = 'application/json') {
    const headers = { Authorization: `Bearer ${token}` };
    if (body !== undefined) headers['Content-Type'] = contentType;
    const r = await fetch(base + p, { method, headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
    const text = await r.text();
    let parsed = text;
    if ((r.headers.get('content-type') ?? '').includes('json')) parsed = JSON.parse(text);
    return { status: r.status, body: parsed };
  }
  async function get(p) {
    const r = await api('GET', p);
    if (r.status !== 200) throw new Error(`GET ${p}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  }
  async function post(p, body) {
    const r = await api('POST', p, body);
    if (r.status !== 200 && r.status !== 201) throw new Error(`POST ${p}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  }

  return {
    dir, data, port, base, token, listenMs: Date.now() - startedAt, log: serverLog, api, get, post,
    exited: () => exited,
    async stop() {
      if (!exited) {
        child.kill('SIGTERM');
        await waitFor('qunzhu to stop', () => exited, 10000).catch(() => child.kill('SIGKILL'));
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function launchBrowser() {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`no browser at ${CHROMIUM} (apt-get install chromium; ./qz test does)`);
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: process.getuid?.() === 0 ? ['--no-sandbox'] : [] });
}

// A page whose console is watched. Chromium reports every non-2xx answer to a fetch as a console
// error ("Failed to load resource: … status of 403"): those the step expects are allowed with
// `expect(status, urlPattern)` until `clearExpected()`; asking who is signed in while signed out
// (401 on /api/v1/session) is always expected.
export async function watchedPage(browser, { locale = 'zh-CN', problems }) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, locale });
  const page = await context.newPage();
  const state = { step: 'start', expected: [] };
  const allowed = (msg) => {
    const m = /^Failed to load resource: the server responded with a status of (\d+)/.exec(msg.text());
    if (!m) return false;
    const url = msg.location().url ?? '';
    if (m[1] === '401' && /\/api\/v1\/session$/.test(url)) return true;
    return state.expected.some((e) => e.status === Number(m[1]) && e.url.test(url));
  };
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !allowed(msg)) problems.push(`console error (${state.step}): ${msg.text()} ${msg.location().url ?? ''}`);
  });
  page.on('pageerror', (e) => problems.push(`uncaught in the page (${state.step}): ${e.message}`));
  page.on('dialog', (d) => { problems.push(`a dialog opened (${state.step}): ${d.message()}`); void d.dismiss(); });
  return {
    context, page, state,
    set step(name) { state.step = name; },
    get step() { return state.step; },
    expect(status, url) { state.expected.push({ status, url }); },
    clearExpected() { state.expected = []; },
  };
}

export function timer(timings) {
  return async function timed(name, fn) {
    const t0 = performance.now();
    const result = await fn();
    timings[name] = Math.round(performance.now() - t0);
    return result;
  };
}

// Screenshots: PNG of the whole page; with QZ_SHOTS_JPEG=1, JPEG (quality 70) of the viewport,
// small enough for docs/console/ (how docs/console.md's pictures are made).
export function shooter(dir) {
  fs.mkdirSync(dir, { recursive: true });
  const jpeg = process.env.QZ_SHOTS_JPEG === '1';
  return async (page, name) => {
    await page.waitForTimeout(300); // Element Plus's transitions (menu, tags) settle
    await page.screenshot(jpeg ? { path: path.join(dir, `${name}.jpg`), type: 'jpeg', quality: 70 }
      : { path: path.join(dir, `${name}.png`), fullPage: true });
  };
}

export function writeTimings(dir, timings) {
  fs.writeFileSync(path.join(dir, 'timings.json'), `${JSON.stringify(timings, null, 2)}\n`);
}

export async function signIn(page, name, password) {
  await page.locator('input[data-test=sign-in-name]').fill(name);
  await page.locator('input[data-test=sign-in-password]').fill(password);
  await page.locator('[data-test=sign-in-submit]').click();
}

// A GET sent exactly as written (no URL normalisation); resolves to the raw response.
export function rawGet(port, target) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
    });
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk) => { text += chunk; });
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
  });
}
