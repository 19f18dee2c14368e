// The browser the console's end-to-end tests drive: Debian's Chromium through playwright-core, headless,
// with the built console checked for first, and every error the page logs collected (a CSP violation
// or an uncaught error is a failure of the console; a refused call's "Failed to load resource" is not).
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { ROOT, runKura, type KuraProcess } from './kura-process.js';

export const CHROMIUM = '/usr/bin/chromium';

export interface ConsolePage {
  browser: Browser;
  page: Page;
  /** What the page logged as an error, or threw, so far. */
  pageErrors: string[];
}

/** Launches Chromium and opens one page (downloads accepted, 1280×900), after checking what it needs. */
export async function openConsolePage(): Promise<ConsolePage> {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium; scripts/ensure-system-deps.mjs does it when run as root).`);
  }
  if (!fs.existsSync(path.join(ROOT, 'dist', 'renderer', 'index.html'))) throw new Error('The console is not built: run npm run build.');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const pageErrors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) pageErrors.push(m.text());
  });
  page.on('pageerror', (e) => pageErrors.push(e.message));
  return { browser, page, pageErrors };
}

/** Opens the console of the appliance at `url` and signs `operator` in with `passphrase`; resolves on the dashboard. */
export async function signInConsole(page: Page, url: string, operator: string, passphrase: string): Promise<void> {
  await page.goto(`${url}/console/`);
  await page.getByTestId('signin-operator').fill(operator);
  await page.getByTestId('signin-passphrase').fill(passphrase);
  await page.getByTestId('signin-submit').click();
  await page.getByTestId('dashboard').waitFor();
}

/** Ends what a console test started, the last first: the browser, a KMS client, the appliance, the test's directory. */
export async function closeConsoleTest(parts: { browser?: Browser; kms?: { destroy(): void }; kura?: KuraProcess; dir: string }): Promise<void> {
  await parts.browser?.close();
  parts.kms?.destroy();
  await parts.kura?.stop();
  fs.rmSync(parts.dir, { recursive: true, force: true });
}

/** Runs a `kura` command on the test's appliance (its data directory, --json): the test fails unless it exits 0. */
export async function kuraSucceeds(kura: Pick<KuraProcess, 'dataDir'>, ...args: string[]): Promise<void> {
  const r = await runKura([...args, '--data-dir', kura.dataDir, '--json']);
  expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
}

/** Runs a `kura` command on the test's appliance as kuraSucceeds does, and answers its JSON output ({} for none). */
export async function kuraJson(kura: Pick<KuraProcess, 'dataDir'>, ...args: string[]): Promise<Record<string, unknown>> {
  const r = await runKura([...args, '--data-dir', kura.dataDir, '--json']);
  expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout === '' ? {} : (JSON.parse(r.stdout) as Record<string, unknown>);
}
