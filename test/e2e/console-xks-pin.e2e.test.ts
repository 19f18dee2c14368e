// The console gives an XKS proxy store on an HSM its token's new PIN (xks.stores.update), in Chromium
// against a real `kura serve --dev` on SoftHSM2: the store's PIN is changed on the token with pkcs11-tool
// while Kura is stopped, so after a restart the store's health is UNAVAILABLE; in the key store ceremony
// alice is offered only the store on an HSM, a wrong PIN is refused with the PIN field marked invalid
// and focused (and emptied), and the token's PIN ends the ceremony done, after which the store's XKS
// health check is ACTIVE again. The PIN is in no page text, and the page logs no error.
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runProgram } from '../support/aws-cli.js';
import { closeConsoleTest, openConsolePage, signInConsole } from '../support/console-page.js';
import { opensslCustodianKey } from '../support/custodians.js';
import { runKura, startKura, tempDataDir, type KuraProcess } from '../support/kura-process.js';
import { softHsm, SOFTHSM_MODULE } from '../support/tokens.js';
import { xksCall, type XksStoreCredential } from '../support/xks-client.js';

const soft = softHsm();
const LABEL = 'kura-console-pin';
const PASSPHRASE = 'alice: a console passphrase';
const NEW_PIN = '7654321';
const HEALTH = { requestMetadata: { kmsOperation: 'KmsHealthCheck', kmsRequestId: 'console-pin-1' } };

describe("the console gives an XKS store on an HSM its token's new PIN", () => {
  const dir = tempDataDir('kura-console-pin-');
  const dataDir = path.join(dir, 'data');
  const file = (name: string) => path.join(dir, name);
  let kura: KuraProcess | undefined;
  let browser: Browser;
  let page: Page;
  let pageErrors: string[] = [];
  let store: XksStoreCredential & { storeId: string };
  let plainStoreId = '';

  const cli = async (...args: string[]) => {
    const r = await runKura([...args, '--data-dir', dataDir, '--json']);
    expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    return r.stdout === '' ? {} : (JSON.parse(r.stdout) as Record<string, unknown>);
  };
  const health = async () => ((await xksCall(kura!, store, '/health', HEALTH)).json as unknown as { ekmFleetDetails: { healthStatus: string }[] }).ekmFleetDetails[0]!.healthStatus;
  const byTestId = (id: string) => page.getByTestId(id);

  beforeAll(async () => {
    soft.makeToken(LABEL, '1234567');
    fs.mkdirSync(dataDir);
    const alice = opensslCustodianKey(dir, 'alice', '-algorithm', 'ed25519');
    kura = await startKura({ dataDir });
    await cli('operators', 'add', 'alice', '--public-key', alice.pub);
    fs.writeFileSync(file('alice.pass'), `${PASSPHRASE}\n`, { mode: 0o600 });
    await cli('operators', 'passphrase', 'alice', '--passphrase-file', file('alice.pass'));
    const hsmId = (await cli('hsm', 'add', '--module', SOFTHSM_MODULE, '--token-label', LABEL)).hsmId as string;
    fs.writeFileSync(file('old.pin'), '1234567\n', { mode: 0o600 });
    store = (await cli('xks', 'stores', 'create', '--uri-path-prefix', 'console-pin', '--hsm', hsmId, '--pin-file', file('old.pin'))) as unknown as typeof store;
    plainStoreId = (await cli('xks', 'stores', 'create', '--uri-path-prefix', 'console-plain')).storeId as string;
    expect(await health()).toBe('ACTIVE');

    // The token's PIN changed behind Kura's back.
    await kura.stop();
    const changed = await runProgram('pkcs11-tool', ['--module', SOFTHSM_MODULE, '--token-label', LABEL, '--login', '--pin', '1234567', '--change-pin', '--new-pin', NEW_PIN], soft.env);
    expect(changed.code, changed.stderr).toBe(0);
    kura = await startKura({ dataDir });
    expect(await health()).toBe('UNAVAILABLE');

    ({ browser, page, pageErrors } = await openConsolePage());
  }, 120_000);

  afterAll(async () => {
    await closeConsoleTest({ browser, kura, dir });
    soft.cleanup();
  });

  it('refuses a wrong PIN on its field, then takes the token\'s PIN, and the store is healthy again', async () => {
    await signInConsole(page, kura!.url, 'alice', PASSPHRASE);

    await byTestId('nav-keystore').click();
    await byTestId('keystore-action-xks.stores.update').check();
    await byTestId('keystore-next').click();
    await page.locator('[data-step="details"]').waitFor();
    const offered = byTestId('keystore-store').locator('option');
    await expect.poll(() => offered.count()).toBe(2);
    const values = await offered.evaluateAll((os) => os.map((o) => o.getAttribute('value') ?? ''));
    expect(values).toEqual(['', store.storeId]);
    expect(values).not.toContain(plainStoreId);
    await byTestId('keystore-store').selectOption(store.storeId);
    const pin = byTestId('keystore-pin');
    expect(await pin.getAttribute('type')).toBe('password');

    // A wrong PIN: refused by the token, tied to the PIN field, which has focus and is empty.
    await pin.fill('1111111');
    await byTestId('keystore-submit').click();
    await expect.poll(() => byTestId('error-code').textContent()).toBe('CloudHsmClusterInvalidConfiguration');
    expect(await byTestId('error-message').textContent()).toContain('INVALID_CREDENTIALS');
    expect(await pin.getAttribute('aria-invalid')).toBe('true');
    expect(await pin.getAttribute('aria-describedby')).toBe('keystore-error keystore-pin-hint');
    await expect.poll(() => page.evaluate('document.activeElement.id')).toBe('keystore-pin');
    expect(await pin.inputValue()).toBe('');
    expect(await health()).toBe('UNAVAILABLE');

    // The token's PIN: done, naming the store; the store answers again.
    await pin.fill(NEW_PIN);
    await byTestId('keystore-submit').click();
    await page.locator('[data-step="done"]').waitFor();
    await expect.poll(() => page.evaluate('document.activeElement.tagName')).toBe('H2');
    expect(await byTestId('keystore-made').textContent()).toContain(store.storeId);
    expect(await health()).toBe('ACTIVE');
    for (const p of ['1111111', NEW_PIN]) expect(await page.content()).not.toContain(p);
    expect(pageErrors).toEqual([]);
  });
});
