// The console keeps an operator's place across a page reload, in Chromium against a real appliance. A
// BYOK ceremony on an EXTERNAL key made with @aws-sdk/client-kms: reloaded after the import parameters,
// it resumes at the step after them (saying so, focus on the step's heading, the step indicator there)
// with the same import token — the page shows the same fingerprint and downloads the same bytes — and the
// material wrapped by openssl for them (test/support/byok-wrap.ts) imports; reloaded at the upload step,
// it asks for the file again; reloaded at the approvals step, it shows the request as the appliance has
// it; approved (alice's key file in the page, bob's openssl signature), the key is Enabled and encrypts.
// At every step, this tab's sessionStorage holds no secret: read with page.evaluate, its names are the
// session's and the ceremony's only, and no value holds the passphrase, the key material (plain or
// wrapped), a private key or a signature; nothing is in localStorage; a sign-out clears the ceremony. And
// the keys list: a search and a state filter survive a reload in the hash's query, with the filtered list.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { CreateKeyCommand, DecryptCommand, DescribeKeyCommand, EncryptCommand, type KMSClient } from '@aws-sdk/client-kms';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wrapKeyMaterial } from '../support/byok-wrap.js';
import { closeConsoleTest, kuraSucceeds, openConsolePage, signInConsole } from '../support/console-page.js';
import { opensslCustodianKey } from '../support/custodians.js';
import { kmsClient } from '../support/kms-client.js';
import { startKura, tempDataDir, type KuraProcess } from '../support/kura-process.js';

const dir = tempDataDir('kura-console-resume-');
const file = (name: string) => path.join(dir, name);
const PASSPHRASE = 'alice: a console passphrase to resume by';
const grouped = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex').match(/.{4}/g)!.join(' ');

interface PageGlobals {
  sessionStorage: { length: number; key(i: number): string | null; getItem(k: string): string | null };
  localStorage: { length: number };
  document: { activeElement: { tagName: string; textContent: string | null } | null; querySelector(s: string): unknown };
  location: { hash: string };
}

describe('the console keeps its place across a reload, in Chromium', () => {
  let kura: KuraProcess;
  let kms: KMSClient;
  let browser: Browser;
  let page: Page;
  let pageErrors: string[] = [];
  let alicePem = '';
  let bobPem = '';

  const byTestId = (id: string) => page.getByTestId(id);
  const atStep = (name: string, step: string) => byTestId(`${name}-step`).and(page.locator(`[data-step="${step}"]`)).waitFor();
  const download = async (testId: string, name: string): Promise<Buffer> => {
    const [d] = await Promise.all([page.waitForEvent('download'), byTestId(testId).click()]);
    await d.saveAs(file(name));
    return fs.readFileSync(file(name));
  };
  /** This tab's sessionStorage, name → value, and how many entries localStorage has. */
  const storage = () =>
    page.evaluate(() => {
      const g = globalThis as unknown as PageGlobals;
      const session: Record<string, string> = {};
      for (let i = 0; i < g.sessionStorage.length; i++) {
        const k = g.sessionStorage.key(i)!;
        session[k] = g.sessionStorage.getItem(k)!;
      }
      return { session, local: g.localStorage.length };
    });
  /** sessionStorage holds the session's token and, while a ceremony runs, that ceremony of alice's on `keyId` — and nothing secret. */
  const holdsNoSecret = async (keyId: string | null, secrets: string[]) => {
    const { session, local } = await storage();
    expect(local).toBe(0);
    expect(Object.keys(session).sort()).toEqual([...(keyId ? [`kura.console.ceremony.byok.alice.${keyId}`] : []), 'kura.console.session']);
    const values = Object.values(session).join('\n');
    for (const s of [PASSPHRASE, alicePem, bobPem, ...secrets]) expect(values).not.toContain(s);
    if (keyId) {
      const entry = JSON.parse(session[`kura.console.ceremony.byok.alice.${keyId}`]!) as { operator: string; data: Record<string, unknown> };
      expect(entry.operator).toBe('alice');
      expect(Object.keys(entry.data).sort()).toEqual(['algorithm', 'expires', 'keyId', 'keySpec', 'params', 'requestId', 'step', 'validTo']);
    }
  };
  const focusedHeading = () => page.evaluate(() => {
    const el = (globalThis as unknown as PageGlobals).document.activeElement;
    return el ? `${el.tagName}: ${el.textContent?.trim() ?? ''}` : '';
  });
  const reload = async () => {
    await page.reload();
    await byTestId('signed-in-as').waitFor();
  };
  const kuraOk = (...args: string[]) => kuraSucceeds(kura, ...args);

  beforeAll(async () => {
    const alice = opensslCustodianKey(dir, 'alice', '-algorithm', 'ed25519');
    const bob = opensslCustodianKey(dir, 'bob', '-algorithm', 'ed25519');
    alicePem = fs.readFileSync(alice.key, 'utf8').split('\n')[1]!;
    bobPem = fs.readFileSync(bob.key, 'utf8').split('\n')[1]!;
    kura = await startKura();
    kms = kmsClient(kura);
    for (const [name, k] of [['alice', alice], ['bob', bob]] as const) await kuraOk('operators', 'add', name, '--public-key', k.pub);
    await kuraOk('quorum', 'set', 'key-import', '--threshold', '2', '--operators', 'alice,bob');
    fs.writeFileSync(file('alice.pass'), `${PASSPHRASE}\n`, { mode: 0o600 });
    await kuraOk('operators', 'passphrase', 'alice', '--passphrase-file', file('alice.pass'));
    ({ browser, page, pageErrors } = await openConsolePage());
    await signInConsole(page, kura.url, 'alice', PASSPHRASE);
  }, 120_000);

  afterAll(() => closeConsoleTest({ browser, kms, kura, dir }));

  it('resumes a BYOK ceremony after reloads with the same import token, and imports the material wrapped for it', async () => {
    const keyId = (await kms.send(new CreateKeyCommand({ Origin: 'EXTERNAL', Description: 'resumed after a reload' }))).KeyMetadata!.KeyId!;
    await page.evaluate((h) => ((globalThis as unknown as PageGlobals).location.hash = h), `#/byok/${keyId}`);
    await atStep('byok', 'parameters');
    await byTestId('byok-algorithm').selectOption('RSAES_OAEP_SHA_256');
    await byTestId('byok-spec').selectOption('RSA_2048');
    await byTestId('byok-get-parameters').click();
    await expect.poll(() => byTestId('byok-fingerprints-verdict').textContent()).toContain('Checked');
    const token = await download('byok-download-token', 'ImportToken.bin');
    const publicKey = await download('byok-download-public-key', 'WrappingPublicKey.bin');
    const tokenFingerprint = (await byTestId('byok-token-fingerprint').textContent())!;
    expect(tokenFingerprint).toBe(grouped(token));
    await byTestId('byok-next').click();
    await atStep('byok', 'wrap');
    await holdsNoSecret(keyId, []);

    // The parameters went to the off-line machine; the page is reloaded.
    await reload();
    await atStep('byok', 'wrap');
    await expect.poll(() => byTestId('byok-resumed').textContent()).toBe('Resumed at step 3 of 6: Wrap off-line.');
    expect(await page.locator('[role="status"]').filter({ has: byTestId('byok-resumed') }).count()).toBe(1);
    expect(await byTestId('step-wrap').getAttribute('aria-current')).toBe('step');
    await expect.poll(focusedHeading).toBe('H2: Wrap the key material on the off-line machine');
    // The same parameters: the same fingerprint shown, the same bytes downloaded again.
    await byTestId('byok-back').click();
    await atStep('byok', 'parameters');
    expect(await byTestId('byok-token-fingerprint').textContent()).toBe(tokenFingerprint);
    await expect.poll(() => byTestId('byok-fingerprints-verdict').textContent()).toContain('Checked');
    expect((await download('byok-download-token', 'ImportToken-again.bin')).equals(token)).toBe(true);
    expect((await download('byok-download-public-key', 'WrappingPublicKey-again.bin')).equals(publicKey)).toBe(true);
    await byTestId('byok-next').click();
    await atStep('byok', 'wrap');

    wrapKeyMaterial(dir);
    const plaintext = fs.readFileSync(file('PlaintextKeyMaterial.bin'));
    const wrapped = fs.readFileSync(file('EncryptedKeyMaterial.bin'));
    await byTestId('byok-next').click();
    await atStep('byok', 'upload');
    await byTestId('byok-material-file').setInputFiles(file('EncryptedKeyMaterial.bin'));
    await expect.poll(() => byTestId('byok-material-chosen').textContent()).toBe('EncryptedKeyMaterial.bin, 256 bytes');
    await holdsNoSecret(keyId, [wrapped.toString('base64'), plaintext.toString('base64'), plaintext.toString('hex'), 'EncryptedKeyMaterial']);

    // A reload loses the chosen file: the page says so and asks for it again.
    await reload();
    await atStep('byok', 'upload');
    await expect.poll(() => byTestId('byok-resumed').textContent()).toContain('Resumed at step 4 of 6: Upload and import.');
    expect(await byTestId('byok-material-again').textContent()).toContain('Choose EncryptedKeyMaterial.bin again');
    expect(await byTestId('byok-import').isDisabled()).toBe(true);
    await byTestId('byok-material-file').setInputFiles(file('EncryptedKeyMaterial.bin'));
    await expect.poll(() => byTestId('byok-material-chosen').textContent()).toBe('EncryptedKeyMaterial.bin, 256 bytes');
    await byTestId('byok-import').click();
    await atStep('byok', 'approvals');
    const requestId = (await byTestId('byok-request-id').textContent())!;
    expect(requestId).toMatch(/^apr-[0-9a-f]+$/);
    await byTestId('approval-key-file').setInputFiles(file('alice.pem'));
    await byTestId('approval-sign').click();
    await expect.poll(() => byTestId('approval-notice').textContent()).toContain('1 of 2 approval(s); the request is PENDING');

    // Reloaded while it waits: the request as the appliance has it now (alice's approval in).
    await reload();
    await atStep('byok', 'approvals');
    await expect.poll(() => byTestId('byok-resumed').textContent()).toBe('Resumed at step 5 of 6: Approvals.');
    expect(await byTestId('byok-request-id').textContent()).toBe(requestId);
    await expect.poll(() => byTestId('approval-progress').textContent()).toContain('1 of 2 approvals');
    expect(await byTestId('approval-status').textContent()).toBe('PENDING');
    await holdsNoSecret(keyId, [wrapped.toString('base64'), plaintext.toString('base64')]);
    const { session } = await storage();
    expect(JSON.parse(session[`kura.console.ceremony.byok.alice.${keyId}`]!)).toMatchObject({ data: { step: 'approvals', requestId } });

    // bob signs the statement off-line; once his signature is in, the import runs: done, and forgotten.
    await download('approval-download-statement', 'statement');
    execFileSync('openssl', ['pkeyutl', '-sign', '-inkey', file('bob.pem'), '-rawin', '-in', 'statement', '-out', 'statement.sig'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    await byTestId('approval-signature-file').setInputFiles(file('statement.sig'));
    await byTestId('approval-upload').click();
    await atStep('byok', 'done');
    await expect.poll(() => byTestId('byok-final-state').textContent()).toBe('Enabled');
    await expect.poll(async () => Object.keys((await storage()).session)).toEqual(['kura.console.session']);
    await holdsNoSecret(null, [wrapped.toString('base64'), plaintext.toString('base64')]);

    // The material imported is the one wrapped for the parameters fetched before the first reload.
    const data = randomBytes(64);
    const enc = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: data }));
    expect(Buffer.from((await kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob }))).Plaintext!).equals(data)).toBe(true);
    expect((await kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata).toMatchObject({ Origin: 'EXTERNAL', KeyState: 'Enabled' });
    expect(pageErrors).toEqual([]);
  });

  it('keeps the keys list filtered across a reload, and back from a key', async () => {
    const word = `resume-filter-${randomBytes(4).toString('hex')}`;
    const enabled = (await kms.send(new CreateKeyCommand({ Description: `${word} enabled` }))).KeyMetadata!.KeyId!;
    await kms.send(new CreateKeyCommand({ Origin: 'EXTERNAL', Description: `${word} waiting` }));
    await byTestId('nav-keys').click();
    await byTestId('keys-table').waitFor();
    await byTestId('keys-search').fill(word);
    await expect.poll(() => byTestId('keys-range').textContent()).toContain('of 2 keys');
    await byTestId('keys-state').selectOption('Enabled');
    await expect.poll(() => byTestId('keys-range').textContent()).toContain('1–1 of 1 keys');
    await expect.poll(() => page.evaluate(() => (globalThis as unknown as PageGlobals).location.hash)).toBe(`#/keys?search=${word}&state=Enabled`);

    await reload();
    await expect.poll(() => byTestId('keys-range').textContent()).toContain('1–1 of 1 keys');
    expect(await byTestId('keys-search').inputValue()).toBe(word);
    expect(await byTestId('keys-state').inputValue()).toBe('Enabled');
    expect(await byTestId('keys-table').locator('tbody tr code').allTextContents()).toEqual([enabled]);

    await byTestId('keys-table').locator('tbody tr a').first().click();
    await page.getByRole('heading', { level: 1 }).filter({ hasText: enabled }).waitFor();
    await page.goBack();
    await expect.poll(() => byTestId('keys-range').textContent()).toContain('1–1 of 1 keys');
    expect(await byTestId('keys-search').inputValue()).toBe(word);
    expect(await byTestId('keys-state').inputValue()).toBe('Enabled');
    expect(pageErrors).toEqual([]);
  });

  it('forgets a ceremony in progress when the operator signs out', async () => {
    const keyId = (await kms.send(new CreateKeyCommand({ Origin: 'EXTERNAL', Description: 'forgotten on sign-out' }))).KeyMetadata!.KeyId!;
    await page.evaluate((h) => ((globalThis as unknown as PageGlobals).location.hash = h), `#/byok/${keyId}`);
    await atStep('byok', 'parameters');
    await byTestId('byok-get-parameters').click();
    await expect.poll(() => byTestId('byok-fingerprints-verdict').textContent()).toContain('Checked');
    await expect.poll(async () => Object.keys((await storage()).session)).toContain(`kura.console.ceremony.byok.alice.${keyId}`);
    await byTestId('signout').click();
    await byTestId('signin-operator').waitFor();
    expect((await storage()).session).toEqual({});
    expect(pageErrors).toEqual([]);
  });
});
