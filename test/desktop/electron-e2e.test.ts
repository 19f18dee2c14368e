// The desktop app in a real Electron, driven by Playwright's `_electron`: the built app (dist/desktop,
// dist/renderer) on a dev appliance in a scratch data directory, an operator enrolled with the `kura`
// command, then sign-in and the BYOK wizard's first screen through the window — with the Chromium sandbox
// on, as the app runs for an operator (Playwright turns it off unless asked).
//
// It runs only where an Electron binary can be had (ELECTRON_PATH, or `npm install --no-save electron`
// on a machine that can download from GitHub); elsewhere — these build machines among them — it is
// skipped, and it is not counted as passing. docs/desktop.md says so.
//
// The console's test IDs it uses (signin-operator, signin-passphrase, signin-submit, nav-byok, byok-step)
// are the renderer's (renderer/App.vue, renderer/views/ByokWizardView.vue).
import { generateKeyPairSync } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { _electron, type ElectronApplication, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KURA_BIN, ROOT, tempDataDir } from '../support/kura-process.js';

/** The Electron binary, as scripts/desktop.mjs finds it, or undefined. */
function electronBinary(): string | undefined {
  if (process.env.ELECTRON_PATH) return fs.existsSync(process.env.ELECTRON_PATH) ? process.env.ELECTRON_PATH : undefined;
  try {
    const binary: unknown = createRequire(path.join(ROOT, 'package.json'))('electron');
    return typeof binary === 'string' && fs.existsSync(binary) ? binary : undefined;
  } catch {
    return undefined;
  }
}

const ELECTRON = electronBinary();
const ENTRY = path.join(ROOT, 'dist', 'desktop', 'main.js');

/** Runs `kura …` against the appliance of `dataDir`; fails the test on a non-zero exit. */
function kura(dataDir: string, args: string[], input?: string): string {
  const r = spawnSync(process.execPath, [KURA_BIN, ...args, '--data-dir', dataDir], { cwd: ROOT, input, encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) throw new Error(`kura ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

async function waitFor(check: () => boolean, what: string, ms = 30_000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.skipIf(ELECTRON === undefined)('the desktop app in Electron (skipped where no Electron binary can be had: see docs/desktop.md)', () => {
  const dir = tempDataDir('kura-electron-e2e-');
  const dataDir = path.join(dir, 'data');
  let app: ElectronApplication;
  let page: Page;

  beforeAll(async () => {
    for (const f of [ENTRY, path.join(ROOT, 'dist', 'desktop', 'preload.cjs'), path.join(ROOT, 'dist', 'renderer', 'index.html')]) {
      if (!fs.existsSync(f)) throw new Error(`${f} is missing: run npm run build`);
    }
    app = await _electron.launch({
      executablePath: ELECTRON!,
      args: [ENTRY, '--dev', '--data-dir', dataDir, '--port', '0'],
      cwd: dir,
      chromiumSandbox: true,
      env: { ...(process.env as Record<string, string>), KURA_LOG_LEVEL: 'warn' },
    });
    page = await app.firstWindow();
    // The appliance announces itself in its runtime file once it listens; the kura command finds it there.
    await waitFor(() => fs.existsSync(path.join(dataDir, 'kura.runtime.json')), "the appliance's runtime file");
    const { publicKey } = generateKeyPairSync('ed25519');
    const pem = path.join(dir, 'alice.pem');
    fs.writeFileSync(pem, publicKey.export({ format: 'pem', type: 'spki' }));
    kura(dataDir, ['operators', 'add', 'alice', '--public-key', pem]);
    kura(dataDir, ['operators', 'passphrase', 'alice', '--passphrase-stdin'], 'correct horse battery staple\n');
  });

  afterAll(async () => {
    await app?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('gives the page window.kura and nothing of Node', async () => {
    // (The page's globals through globalThis: test code is compiled without the DOM library.)
    const seen = await page.evaluate(() => {
      const w = globalThis as unknown as Record<string, unknown> & { kura?: Record<string, unknown> };
      return { keys: Object.keys(w.kura ?? {}).sort(), platform: w.kura?.platform, require: typeof w.require, process: typeof w.process };
    });
    expect(seen).toEqual({ keys: ['onNetwork', 'platform', 'run'], platform: 'desktop', require: 'undefined', process: 'undefined' });
  });

  it('shows the console on its own origin, kura://console, from which no file can be read', async () => {
    expect(page.url()).toMatch(/^kura:\/\/console\/index\.html(#.*)?$/);
    const read = await page.evaluate(async () => {
      try {
        const r = await fetch('file:///etc/hostname');
        return `read: ${r.status}`;
      } catch {
        return 'refused';
      }
    });
    expect(read).toBe('refused');
  });

  it('signs an operator in and opens the BYOK wizard', async () => {
    await page.getByTestId('signin-operator').fill('alice');
    await page.getByTestId('signin-passphrase').fill('correct horse battery staple');
    await page.getByTestId('signin-submit').click();
    await page.getByTestId('nav-byok').click();
    await page.getByTestId('byok-step').waitFor({ state: 'visible', timeout: 15_000 });
    // The session token stays in the main process: the page keeps none (over HTTP it would be in sessionStorage).
    const stored = await page.evaluate(() => {
      const w = globalThis as unknown as { localStorage: object; sessionStorage: object };
      return [...Object.keys(w.localStorage), ...Object.keys(w.sessionStorage)];
    });
    expect(stored).not.toContain('kura.console.session');
  });
});
