// The operator console's speed (issue 14, "Measure"), in Debian's Chromium driven by playwright-core
// against a real `kura serve --dev` (the compiled dist/ and the built console in dist/renderer):
//   start to interactive — a page load (fresh browser context, so nothing cached) until the sign-in form
//     is usable, and, signed in, a reload until the dashboard shows its key counts (goal: under 1 s with
//     1,000 keys); timed in the page from navigation start (performance.now());
//   keys list — clicking "Next page" until the next 50 rows are in the DOM, page after page (goal: each
//     page under 100 ms at 100,000 keys), and the first page, a filter and a search likewise; beside it
//     the keys.list command alone over HTTP (the appliance's share);
//   the bundle — dist/renderer's files, raw and gzipped.
// Keys are seeded through the KMS API (CreateKey, SigV4-signed, many at once on keep-alive sockets);
// the seeding rate is printed too.
//
// Usage: npm run build && node bench/console.mjs [--keys N] [--small N] [--pages P] [--rounds R] [--concurrency C] [--json]
//   --keys N         keys for the large measurement (default 100000)
//   --small N        keys for the start-to-interactive measurement (default 1000)
//   --pages P        pages walked with Next at each size (default 20)
//   --rounds R       page loads per start-to-interactive figure; medians are reported (default 5)
//   --concurrency C  CreateKey calls in flight while seeding (default 64)
//   --json           print the raw results as JSON instead of the tables
/* global fetch, document, requestAnimationFrame -- Node's fetch; the page's DOM inside page.evaluate() callbacks, which run in Chromium */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import zlib from 'node:zlib';
import { chromium } from 'playwright-core';
import { killChildrenOnExit, kmsClient, median, printHelpAndExit, progressLog, ROOT, send, startKura, table } from './lib.mjs';

const CHROMIUM = '/usr/bin/chromium';
const CONSOLE_DIR = path.join(ROOT, 'dist', 'renderer');
const OPERATOR = 'bench';
const PASSPHRASE = 'bench: a console passphrase';

const { values: flags } = parseArgs({
  options: {
    keys: { type: 'string', default: '100000' },
    small: { type: 'string', default: '1000' },
    pages: { type: 'string', default: '20' },
    rounds: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '64' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (flags.help) printHelpAndExit(import.meta.url);
const LARGE = Number(flags.keys);
const SMALL = Number(flags.small);
const PAGES = Number(flags.pages);
const ROUNDS = Number(flags.rounds);
const CONCURRENCY = Number(flags.concurrency);
const log = progressLog('console');
killChildrenOnExit((signal) => log(`stopped by ${signal}`));

if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium`);
if (!fs.existsSync(path.join(CONSOLE_DIR, 'index.html'))) throw new Error('The console is not built: npm run build');

const ms = (x) => (Number.isFinite(x) ? x.toFixed(1) : '—');
const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] : NaN;
};

/** `count` more keys through CreateKey, CONCURRENCY at a time; returns keys per second. */
async function seed(kms, from, count) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  let next = from;
  const end = from + count;
  const started = performance.now();
  let lastLog = started;
  const worker = async () => {
    while (next < end) {
      const i = next++;
      const body = JSON.stringify({ Description: `bench key ${i}` });
      const r = await send(agent, await kms.sign('CreateKey', body), body);
      if (r.status !== 200) throw new Error(`CreateKey answered ${r.status}: ${r.body}`);
      if (performance.now() - lastLog > 5_000) {
        lastLog = performance.now();
        log(`seeded ${next - from} of ${count} keys`);
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  agent.destroy();
  return count / ((performance.now() - started) / 1000);
}

/** One console command over HTTP, as the browser console sends it; resolves with the ms it took. */
async function command(endpoint, token, name, input) {
  const t0 = performance.now();
  const res = await fetch(`${endpoint}/admin/v1/commands/${name}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(input) });
  const body = await res.json();
  if (!res.ok) throw new Error(`${name}: ${res.status} ${JSON.stringify(body)}`);
  return { ms: performance.now() - t0, body };
}

/**
 * Clicks `selector` in the page and resolves with the ms until the keys list shows rows and its range
 * line starts with `rangePrefix` ("51–", "1–1 of 1"), checked on every animation frame.
 */
async function timeInPage(page, selector, rangePrefix) {
  return page.evaluate(
    async ([sel, prefix]) => {
      const shown = () => {
        const range = document.querySelector('[data-testid="keys-range"]');
        return !!range && range.textContent.trim().startsWith(prefix) && document.querySelectorAll('[data-testid="keys-table"] tbody tr').length > 0;
      };
      const t0 = performance.now();
      document.querySelector(sel).click();
      await new Promise((resolve, reject) => {
        const tick = () => (shown() ? resolve() : performance.now() - t0 > 10_000 ? reject(new Error(`no "${prefix}" rows 10 s after clicking ${sel}`)) : requestAnimationFrame(tick));
        tick();
      });
      return performance.now() - t0;
    },
    [selector, rangePrefix],
  );
}

async function main() {
  const results = { startToInteractive: {}, keys: {}, seeding: {}, bundle: {} };
  const kura = await startKura({ tempPrefix: 'kura-bench-console-' });
  const kms = kmsClient(kura.endpoint, kura.credentials);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-bench-console-op-'));
  let browser;
  try {
    const { publicKey } = generateKeyPairSync('ed25519');
    fs.writeFileSync(path.join(work, 'bench.pub'), publicKey.export({ format: 'pem', type: 'spki' }));
    fs.writeFileSync(path.join(work, 'pass'), `${PASSPHRASE}\n`, { mode: 0o600 });
    const kuraCli = (...args) => execFileSync(process.execPath, [path.join(ROOT, 'bin', 'kura.js'), ...args, '--data-dir', kura.dataDir], { stdio: 'pipe' });
    kuraCli('operators', 'add', OPERATOR, '--public-key', path.join(work, 'bench.pub'));
    kuraCli('operators', 'passphrase', OPERATOR, '--passphrase-file', path.join(work, 'pass'));
    const token = (await command(kura.endpoint, '', 'session.login', { operator: OPERATOR, passphrase: PASSPHRASE })).body.token;

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });

    /** Start to interactive, ROUNDS times, each in a fresh context (nothing cached). */
    const startToInteractive = async (label) => {
      const signInForm = [];
      const dashboard = [];
      for (let r = 0; r < ROUNDS; r++) {
        log(`${label}: page load ${r + 1} of ${ROUNDS}`);
        const context = await browser.newContext();
        const page = await context.newPage();
        await page.goto(`${kura.endpoint}/console/`);
        await page.getByTestId('signin-operator').waitFor();
        signInForm.push(await page.evaluate(() => performance.now()));
        await page.getByTestId('signin-operator').fill(OPERATOR);
        await page.getByTestId('signin-passphrase').fill(PASSPHRASE);
        await page.getByTestId('signin-submit').click();
        await page.getByTestId('dash-keys-total').waitFor();
        // Signed in (the tab keeps the session): a reload until the dashboard shows the key counts.
        await page.reload();
        await page.getByTestId('dash-keys-total').waitFor();
        dashboard.push(await page.evaluate(() => performance.now()));
        await context.close();
      }
      results.startToInteractive[label] = { signInFormMs: median(signInForm), dashboardMs: median(dashboard), rounds: ROUNDS };
    };

    /** The keys list at this size: first page, PAGES × Next, a filter, a search; and keys.list alone. */
    const keysList = async (label, total, searchFor) => {
      // Next as often as there is a next page (the last one may be short), at most PAGES times.
      const pagesToWalk = Math.min(PAGES, Math.ceil(total / 50) - 1);
      log(`${label}: keys list`);
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(`${kura.endpoint}/console/`);
      await page.getByTestId('signin-operator').fill(OPERATOR);
      await page.getByTestId('signin-passphrase').fill(PASSPHRASE);
      await page.getByTestId('signin-submit').click();
      await page.getByTestId('dashboard').waitFor();
      const firstPage = await timeInPage(page, '[data-testid="nav-keys"]', '1–');
      const pages = [];
      for (let p = 1; p <= pagesToWalk; p++) {
        const from = (p * 50 + 1).toLocaleString('en-US');
        pages.push(await timeInPage(page, '[data-testid="keys-next"]', `${from}–`));
      }
      const prev = await timeInPage(page, '[data-testid="keys-prev"]', `${((pagesToWalk - 1) * 50 + 1).toLocaleString('en-US')}–`);
      // A filter (state Enabled: every key) and a search typed in (the 250 ms pause before it is sent is subtracted).
      const t0 = await page.evaluate(() => performance.now());
      await page.getByTestId('keys-state').selectOption('Enabled');
      await page.waitForFunction(() => document.querySelector('[data-testid="keys-range"]')?.textContent.trim().startsWith('1–'));
      const filter = (await page.evaluate(() => performance.now())) - t0;
      const t1 = await page.evaluate(() => performance.now());
      await page.getByTestId('keys-search').fill(searchFor);
      // The search names one key: done when the list says so.
      await page.waitForFunction(() => document.querySelector('[data-testid="keys-range"]')?.textContent.trim().startsWith('1–1 of 1 '));
      const search = (await page.evaluate(() => performance.now())) - t1 - 250;
      await context.close();

      const server = { first: [], deep: [], search: [], filter: [] };
      let after;
      for (let i = 0; i <= pagesToWalk; i++) {
        const r = await command(kura.endpoint, token, 'keys.list', { limit: 50, ...(after ? { after } : {}) });
        (i === 0 ? server.first : server.deep).push(r.ms);
        after = r.body.next ?? undefined;
      }
      for (let i = 0; i < 5; i++) server.search.push((await command(kura.endpoint, token, 'keys.list', { limit: 50, search: searchFor })).ms);
      for (let i = 0; i < 5; i++) server.filter.push((await command(kura.endpoint, token, 'keys.list', { limit: 50, state: 'Enabled', origin: 'AWS_KMS' })).ms);
      const dash = [];
      for (let i = 0; i < 5; i++) dash.push((await command(kura.endpoint, token, 'dashboard', {})).ms);
      results.keys[label] = {
        ui: { firstPageMs: firstPage, nextPageMedianMs: median(pages), nextPageP90Ms: quantile(pages, 0.9), nextPageMaxMs: Math.max(...pages), previousPageMs: prev, filterMs: filter, searchMs: search },
        command: { firstPageMs: median(server.first), laterPageMedianMs: median(server.deep), searchMs: median(server.search), filterMs: median(server.filter), dashboardMs: median(dash) },
      };
    };

    log(`seeding ${SMALL} keys`);
    results.seeding.small = { keys: SMALL, perSec: await seed(kms, 0, SMALL) };
    log('start to interactive');
    await startToInteractive(`${SMALL} keys`);
    await keysList(`${SMALL} keys`, SMALL, `bench key ${SMALL - 7}`);
    if (LARGE > SMALL) {
      log(`seeding ${LARGE - SMALL} more keys`);
      results.seeding.large = { keys: LARGE - SMALL, perSec: await seed(kms, SMALL, LARGE - SMALL) };
      await startToInteractive(`${LARGE} keys`);
      await keysList(`${LARGE} keys`, LARGE, `bench key ${LARGE - 7}`);
    }

    const files = [];
    const walk = (dir) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, e.name);
        if (e.isDirectory()) walk(full);
        else files.push({ file: path.relative(CONSOLE_DIR, full), bytes: fs.statSync(full).size, gzip: zlib.gzipSync(fs.readFileSync(full), { level: 9 }).length });
      }
    };
    walk(CONSOLE_DIR);
    results.bundle = { files, bytes: files.reduce((a, f) => a + f.bytes, 0), gzip: files.reduce((a, f) => a + f.gzip, 0) };
  } finally {
    await browser?.close();
    await kura.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }

  if (flags.json) {
    console.log(JSON.stringify(results, null, 2));
    return;
  }
  console.log('\nStart to interactive (median of rounds; ms from navigation start; goal: dashboard < 1000 ms at 1,000 keys)');
  console.log(table(Object.entries(results.startToInteractive).map(([size, r]) => ({ size, ...r })), [
    { title: 'keys', value: (r) => r.size, left: true },
    { title: 'sign-in form', value: (r) => ms(r.signInFormMs) },
    { title: 'signed in: dashboard', value: (r) => ms(r.dashboardMs) },
    { title: 'rounds', value: (r) => r.rounds },
  ]));
  console.log(`\nKeys list in the console (ms from the click until the rows are in the DOM; goal: each page < 100 ms at 100,000 keys; ${PAGES} pages)`);
  console.log(table(Object.entries(results.keys).map(([size, r]) => ({ size, ...r.ui })), [
    { title: 'keys', value: (r) => r.size, left: true },
    { title: 'first page', value: (r) => ms(r.firstPageMs) },
    { title: 'next p50', value: (r) => ms(r.nextPageMedianMs) },
    { title: 'next p90', value: (r) => ms(r.nextPageP90Ms) },
    { title: 'next max', value: (r) => ms(r.nextPageMaxMs) },
    { title: 'previous', value: (r) => ms(r.previousPageMs) },
    { title: 'filter', value: (r) => ms(r.filterMs) },
    { title: 'search', value: (r) => ms(r.searchMs) },
  ]));
  console.log('\nThe commands alone over HTTP (median ms)');
  console.log(table(Object.entries(results.keys).map(([size, r]) => ({ size, ...r.command })), [
    { title: 'keys', value: (r) => r.size, left: true },
    { title: 'keys.list first', value: (r) => ms(r.firstPageMs) },
    { title: 'keys.list later', value: (r) => ms(r.laterPageMedianMs) },
    { title: 'search', value: (r) => ms(r.searchMs) },
    { title: 'state+origin', value: (r) => ms(r.filterMs) },
    { title: 'dashboard', value: (r) => ms(r.dashboardMs) },
  ]));
  console.log(`\nSeeding (CreateKey, ${CONCURRENCY} in flight): ${Object.values(results.seeding).map((s) => `${s.keys} keys at ${s.perSec.toFixed(0)}/s`).join('; ')}`);
  console.log(`\nBundle (dist/renderer): ${results.bundle.bytes.toLocaleString('en-US')} bytes, ${results.bundle.gzip.toLocaleString('en-US')} gzipped`);
  console.log(table(results.bundle.files, [
    { title: 'file', value: (f) => f.file, left: true },
    { title: 'bytes', value: (f) => f.bytes.toLocaleString('en-US') },
    { title: 'gzip', value: (f) => f.gzip.toLocaleString('en-US') },
  ]));
}

await main();
