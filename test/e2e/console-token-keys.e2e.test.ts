// The HSMs screen lists an HSM's token keys (hsms.tokenKeys) and shows an orphan, in Chromium against a
// real `kura serve --dev` on a SoftHSM2 token: an HSM that backs an XKS proxy store, and a key labelled
// as Kura labels an XKS key that no row holds (an orphan, made with pkcs11-tool as an XKS CreateKey
// killed before its commit leaves one). Before the store's first call no login of Kura's on the token is
// live: the listing is refused with the appliance's message. Once `kura xks keys create` has connected
// the store, the listing, driven from the keyboard, names the XKS key by its store and external key ID
// and the orphan by label and CKA_ID, counts one orphan, and "Show only orphans" leaves it alone, with
// the advice that Kura removes nothing. The page logs no error.
import { randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeConsoleTest, kuraJson, openConsolePage, signInConsole } from '../support/console-page.js';
import { startKura, tempDataDir, type KuraProcess } from '../support/kura-process.js';
import { softHsm, SOFTHSM_MODULE } from '../support/tokens.js';

const soft = softHsm();
const LABEL = 'kura-console-keys';
const PIN = 'console-keys-pin';
const ORPHAN_LABEL = `kura-xks-${randomUUID()}`;
const ORPHAN_ID = 'c0ffee0123456789';

describe("the console lists an HSM's token keys and shows its orphan", () => {
  const dir = tempDataDir('kura-console-keys-');
  const dataDir = path.join(dir, 'data');
  let kura: KuraProcess | undefined;
  let browser: Browser;
  let page: Page;
  let pageErrors: string[] = [];
  let hsmId = '';
  let storeId = '';

  const cli = (...args: string[]) => kuraJson({ dataDir }, ...args);
  const byTestId = (id: string) => page.getByTestId(id);

  beforeAll(async () => {
    soft.makeToken(LABEL, PIN);
    fs.mkdirSync(dataDir);
    // A dev appliance's own operator signs in: listing token keys is no change, so no quorum is asked.
    kura = await startKura({ dataDir });
    const pinFile = path.join(dir, 'store.pin');
    fs.writeFileSync(pinFile, `${PIN}\n`, { mode: 0o600 });
    ({ hsmId } = (await cli('hsm', 'add', '--module', SOFTHSM_MODULE, '--token-label', LABEL)) as { hsmId: string });
    ({ storeId } = (await cli('xks', 'stores', 'create', '--uri-path-prefix', 'console-keys', '--hsm', hsmId, '--pin-file', pinFile)) as { storeId: string });
    execFileSync('pkcs11-tool', ['--module', SOFTHSM_MODULE, '--token-label', LABEL, '--login', '--pin', PIN, '--keygen', '--key-type', 'AES:32', '--label', ORPHAN_LABEL, '--id', ORPHAN_ID], { env: soft.env, stdio: 'pipe' });
    ({ browser, page, pageErrors } = await openConsolePage());
  }, 120_000);

  afterAll(async () => {
    await closeConsoleTest({ browser, kura, dir });
    soft.cleanup();
  });

  it('refuses while no login is live, then lists the XKS key and the orphan, and filters to the orphan', async () => {
    await signInConsole(page, kura!.url, 'dev', fs.readFileSync(path.join(dataDir, 'dev-operator.passphrase'), 'utf8').trim());
    await byTestId('nav-hsms').click();

    // From the keyboard: the HSM's "Token keys" button, Enter; focus goes to the listing's heading.
    const show = page.getByRole('button', { name: `Token keys of ${hsmId}` });
    await show.focus();
    await page.keyboard.press('Enter');
    const listing = byTestId('token-keys');
    await expect.poll(() => listing.getByTestId('error-code').textContent()).toBe('InvalidState');
    expect(await listing.getByTestId('error-message').textContent()).toContain('is live');
    expect(await page.evaluate('document.activeElement.id')).toBe('token-keys-title');

    // The store's first call logs in to the token and keeps the login.
    const externalKeyId = (await cli('xks', 'keys', 'create', '--store', storeId)).externalKeyId as string;
    const orphanRow = listing.locator('[data-testid="token-key"][data-use="orphan"]');
    await expect
      .poll(
        async () => {
          await byTestId('token-keys-reload').click();
          await page.locator('[data-testid="token-keys"][aria-busy="false"]').waitFor();
          return orphanRow.count();
        },
        { timeout: 20_000, interval: 500 },
      )
      .toBe(1);

    const cells = await orphanRow.locator('td').allTextContents();
    expect(cells[0]).toBe(ORPHAN_LABEL);
    expect(cells[1]).toBe(ORPHAN_ID);
    expect(cells[2]).toMatch(/^[0-9a-f]{64}$/);
    expect(cells[3]).toContain('Orphan');
    expect(await byTestId('token-keys-orphans').textContent()).toBe('1 orphan');
    const xksRow = listing.locator('[data-testid="token-key"][data-use="xks-key"]');
    expect(await xksRow.locator('td').nth(3).textContent()).toBe(`XKS key ${externalKeyId} of store ${storeId}`);
    expect(await listing.locator(`[data-testid="token-key"][data-use="xks-health-check"]`).count()).toBe(1);

    // Show only orphans, by the keyboard (Space on the checkbox).
    await byTestId('token-keys-only-orphans').focus();
    await page.keyboard.press('Space');
    await expect.poll(() => listing.locator('[data-testid="token-key"]').count()).toBe(1);
    expect(await listing.locator('[data-testid="token-key"] td').first().textContent()).toBe(ORPHAN_LABEL);
    expect(await byTestId('token-keys-help').textContent()).toContain('Kura removes nothing from the token');

    expect(await page.content()).not.toContain(PIN);
    expect(pageErrors).toEqual([]);
  });
});
