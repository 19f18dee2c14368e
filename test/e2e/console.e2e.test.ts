// The operator console end to end in Chromium (issue 14): a headless dev Kura started by the test serves
// the built console at /console/; custodians are enrolled with keys made by openssl and 2-of-3
// key-import and key-deletion policies set with the `kura` CLI; Debian's Chromium, driven by
// playwright-core, signs alice in and runs the whole BYOK ceremony through the UI — a new EXTERNAL key,
// the wrapping public key and import token downloaded (their SHA-256 checked against the fingerprints
// shown), the material wrapped by OpenSSL as the AWS Developer Guide (and the wizard) writes it, uploaded,
// the import turned into an approval request, approved by alice's key file signed in the page and by
// carol's `openssl pkeyutl -sign -rawin` signature over the downloaded statement — then @aws-sdk/client-kms
// encrypts and decrypts under the imported key; a deletion ceremony (bob's P-256 key file in the page,
// alice's openssl signature uploaded); the transcript printed to PDF; a key store ceremony under a 2-of-3
// key-store policy (an XKS proxy store on the standard key store, approved by alice's key file in the
// page and bob's openssl signature, its secret access key taken once in the page — it signs an XKS health
// check, and `kura approvals result` finds nothing left); keyboard and focus (the skip link first, focus
// on each new screen's h1); the audit view's chain verified. Each step leaves a screenshot in
// test-output/e2e/. The page must log no error (a CSP violation would).
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { DecryptCommand, DescribeKeyCommand, EncryptCommand, type KMSClient } from '@aws-sdk/client-kms';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PKEYUTL_WRAP_OAEP_SHA256, wrapKeyMaterial } from '../support/byok-wrap.js';
import { closeConsoleTest, openConsolePage } from '../support/console-page.js';
import { opensslCustodianKey } from '../support/custodians.js';
import { kmsClient } from '../support/kms-client.js';
import { xksCall } from '../support/xks-client.js';
import { ROOT, runKura, startKura, tempDataDir, type KuraProcess } from '../support/kura-process.js';

const SHOTS = path.join(ROOT, 'test-output', 'e2e');
const dir = tempDataDir('kura-console-e2e-');
const file = (name: string) => path.join(dir, name);
const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
const sha256Grouped = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex').match(/.{4}/g)!.join(' ');
const PASSPHRASE = 'alice: a console passphrase';
const opensslKey = (name: string, ...genpkeyArgs: string[]) => opensslCustodianKey(dir, name, ...genpkeyArgs);


describe('the operator console in Chromium', () => {
  let kura: KuraProcess;
  let kms: KMSClient;
  let browser: Browser;
  let page: Page;
  let pageErrors: string[] = [];
  let shot = 0;
  let importedKeyId = '';

  const screenshot = async (name: string) => {
    await page.screenshot({ path: path.join(SHOTS, `${String(++shot).padStart(2, '0')}-${name}.png`), fullPage: true });
  };
  const byTestId = (id: string) => page.getByTestId(id);
  /** Clicks a download button and saves what it downloads as `name` in the work directory. */
  const download = async (testId: string, name: string): Promise<Buffer> => {
    const [d] = await Promise.all([page.waitForEvent('download'), byTestId(testId).click()]);
    await d.saveAs(file(name));
    return fs.readFileSync(file(name));
  };
  const kuraOk = async (...args: string[]) => {
    const r = await runKura([...args, '--data-dir', kura.dataDir, '--json']);
    expect(r.stderr, args.join(' ')).toBe('');
    expect(r.code, args.join(' ')).toBe(0);
  };

  beforeAll(async () => {
    fs.rmSync(SHOTS, { recursive: true, force: true });
    fs.mkdirSync(SHOTS, { recursive: true });
    const alice = opensslKey('alice', '-algorithm', 'ed25519');
    const bob = opensslKey('bob', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256');
    const carol = opensslKey('carol', '-algorithm', 'ed25519');
    kura = await startKura();
    kms = kmsClient(kura);
    for (const [name, k] of [['alice', alice], ['bob', bob], ['carol', carol]] as const) await kuraOk('operators', 'add', name, '--public-key', k.pub);
    await kuraOk('quorum', 'set', 'key-import', '--threshold', '2', '--operators', 'alice,bob,carol');
    await kuraOk('quorum', 'set', 'key-deletion', '--threshold', '2', '--operators', 'alice,bob,carol');
    await kuraOk('quorum', 'set', 'key-store', '--threshold', '2', '--operators', 'alice,bob,carol');
    fs.writeFileSync(file('alice.pass'), `${PASSPHRASE}\n`, { mode: 0o600 });
    await kuraOk('operators', 'passphrase', 'alice', '--passphrase-file', file('alice.pass'));

    ({ browser, page, pageErrors } = await openConsolePage());
  }, 120_000);

  afterAll(() => closeConsoleTest({ browser, kms, kura, dir }));

  it('signs alice in with her passphrase and shows the dashboard', async () => {
    await page.goto(`${kura.url}/console/`);
    await byTestId('signin-operator').fill('alice');
    await byTestId('signin-passphrase').fill('not her passphrase');
    await byTestId('signin-submit').click();
    await expect.poll(() => byTestId('error-code').textContent()).toBe('AccessDenied');
    await screenshot('signin-refused');
    await byTestId('signin-passphrase').fill(PASSPHRASE);
    await byTestId('signin-submit').click();
    await expect.poll(() => byTestId('signed-in-as').textContent()).toContain('alice');
    await byTestId('dashboard').waitFor();
    expect(await byTestId('dash-seal-state').textContent()).toBe('unsealed');
    await screenshot('dashboard');
  });

  it('runs the BYOK ceremony through the UI: key, parameters, OpenSSL wrap, upload, two approvals, done', async () => {
    await byTestId('nav-byok').click();
    await byTestId('byok-step').and(page.locator('[data-step="key"]')).waitFor();
    await screenshot('byok-1-key');
    await byTestId('byok-new-description').fill('imported by the console e2e test');
    await byTestId('byok-create-key').click();
    await page.locator('[data-step="parameters"]').waitFor();
    importedKeyId = (await byTestId('byok-key-id').textContent())!;
    expect(importedKeyId).toMatch(/^[0-9a-f-]{36}$/);

    await byTestId('byok-algorithm').selectOption('RSAES_OAEP_SHA_256');
    await byTestId('byok-spec').selectOption('RSA_2048');
    await byTestId('byok-get-parameters').click();
    await byTestId('byok-fingerprints').waitFor();
    const publicKey = await download('byok-download-public-key', 'WrappingPublicKey.bin');
    const token = await download('byok-download-token', 'ImportToken.bin');
    // What was downloaded is what the fingerprints read aloud name.
    expect(await byTestId('byok-public-key-fingerprint').textContent()).toBe(sha256Grouped(publicKey));
    expect(await byTestId('byok-token-fingerprint').textContent()).toBe(sha256Grouped(token));
    expect(openssl('pkey', '-pubin', '-inform', 'DER', '-in', file('WrappingPublicKey.bin'), '-noout', '-text').toString()).toContain('Public-Key: (2048 bit)');
    expect(await page.locator('figure.qr svg').count()).toBe(2);
    await screenshot('byok-2-parameters');
    await byTestId('byok-next').click();

    // The wrapping machine: exactly the documented commands, which the wizard shows.
    await page.locator('[data-step="wrap"]').waitFor();
    const shown = (await page.locator('.copy-block pre').allTextContents()).map((t) => t.replace(/\\\n\s+/g, '').trim());
    expect(shown).toContain(`openssl ${PKEYUTL_WRAP_OAEP_SHA256.join(' ')}`);
    expect(shown).toContain('openssl rand -out PlaintextKeyMaterial.bin 32');
    await screenshot('byok-3-wrap');
    wrapKeyMaterial(dir);
    await byTestId('byok-next').click();

    await page.locator('[data-step="upload"]').waitFor();
    await byTestId('byok-material-file').setInputFiles(file('EncryptedKeyMaterial.bin'));
    await expect.poll(() => byTestId('byok-material-chosen').textContent()).toBe('EncryptedKeyMaterial.bin, 256 bytes');
    await screenshot('byok-4-upload');
    await byTestId('byok-import').click();

    // The key-import policy made it a request: alice signs in the page with her key file…
    await page.locator('[data-step="approvals"]').waitFor();
    const requestId = (await byTestId('byok-request-id').textContent())!;
    expect(requestId).toMatch(/^apr-[0-9a-f]{24}$/);
    await screenshot('byok-5-approvals');
    await byTestId('approval-key-file').setInputFiles(file('alice.pem'));
    await byTestId('approval-sign').click();
    await expect.poll(() => byTestId('approval-notice').textContent()).toContain('1 of 2 approval(s); the request is PENDING');
    expect(await byTestId('approval-key-file').inputValue()).toBe('');
    await screenshot('byok-6-first-approval');

    // …and carol signs the exported statement off-line with openssl; her signature is uploaded.
    await download('approval-download-statement', 'statement');
    openssl('pkeyutl', '-sign', '-inkey', file('carol.pem'), '-rawin', '-in', 'statement', '-out', 'statement.sig');
    await byTestId('approval-signature-file').setInputFiles(file('statement.sig'));
    await byTestId('approval-upload').click();
    await page.locator('[data-step="done"]').waitFor();
    await expect.poll(() => byTestId('byok-final-state').textContent()).toBe('Enabled');
    await screenshot('byok-7-done');

    // The printable transcript, printed to PDF by the browser.
    await byTestId('byok-transcript').click();
    await expect.poll(() => byTestId('transcript-status').textContent()).toContain('EXECUTED');
    await byTestId('transcript-verify').click();
    await expect.poll(() => byTestId('transcript-check').textContent()).toContain('matches the audit log');
    expect(await page.locator('[data-step-kind="approved"]').count()).toBe(2);
    await screenshot('byok-8-transcript');
    await page.emulateMedia({ media: 'print' });
    const pdf = await page.pdf({ path: path.join(SHOTS, 'byok-transcript.pdf'), format: 'A4' });
    await page.emulateMedia({ media: 'screen' });
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
  });

  it('encrypts and decrypts with @aws-sdk/client-kms under the imported key', async () => {
    const plaintext = randomBytes(100);
    const enc = await kms.send(new EncryptCommand({ KeyId: importedKeyId, Plaintext: plaintext, EncryptionContext: { purpose: 'console-e2e' } }));
    const dec = await kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { purpose: 'console-e2e' } }));
    expect(dec.KeyId).toContain(importedKeyId);
    expect(Buffer.from(dec.Plaintext!).equals(plaintext)).toBe(true);
    const meta = (await kms.send(new DescribeKeyCommand({ KeyId: importedKeyId }))).KeyMetadata!;
    expect(meta).toMatchObject({ Origin: 'EXTERNAL', KeyState: 'Enabled', ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' });
  });

  it('runs a deletion ceremony: bob signs with his P-256 key file in the page, alice uploads an openssl signature', async () => {
    await byTestId('nav-deletion').click();
    await page.locator('[data-step="key"]').waitFor();
    await byTestId('deletion-key').fill(importedKeyId);
    await screenshot('deletion-1-key');
    await byTestId('deletion-choose').click();
    await page.locator('[data-step="schedule"]').waitFor();
    await byTestId('deletion-days').fill('7');
    await screenshot('deletion-2-schedule');
    await byTestId('deletion-schedule').click();
    await byTestId('deletion-schedule-confirm').click();
    await page.locator('[data-step="approvals"]').waitFor();
    await byTestId('approval-key-file').setInputFiles(file('bob.pem'));
    await byTestId('approval-sign').click();
    await expect.poll(() => byTestId('approval-notice').textContent()).toContain('1 of 2 approval(s)');
    await screenshot('deletion-3-approvals');
    await download('approval-download-statement', 'deletion-statement');
    openssl('pkeyutl', '-sign', '-inkey', file('alice.pem'), '-rawin', '-in', 'deletion-statement', '-out', 'deletion-statement.sig');
    await byTestId('approval-signature-file').setInputFiles(file('deletion-statement.sig'));
    await byTestId('approval-signer').selectOption('alice');
    await byTestId('approval-upload').click();
    await page.locator('[data-step="done"]').waitFor();
    await expect.poll(() => byTestId('deletion-final-state').textContent()).toBe('PendingDeletion');
    await screenshot('deletion-4-done');
    const meta = (await kms.send(new DescribeKeyCommand({ KeyId: importedKeyId }))).KeyMetadata!;
    expect(meta.KeyState).toBe('PendingDeletion');
  });

  it('runs a key store ceremony: an XKS store approved in the page and by an openssl signature, its secret taken once', async () => {
    // Keyboard: a new screen takes focus to its h1; after a reload, Tab reaches "Skip to content" first,
    // which moves focus to the screen's heading and leaves the URL alone.
    await byTestId('nav-keystore').click();
    await page.locator('[data-step="action"]').waitFor();
    await expect.poll(() => page.evaluate('document.activeElement.id')).toBe('keystore-title');
    await page.reload();
    await page.locator('[data-step="action"]').waitFor();
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement.dataset.testid')).toBe('skip-link');
    await page.keyboard.press('Enter');
    expect(await page.evaluate('document.activeElement.id')).toBe('keystore-title');
    expect(new URL(page.url()).hash).toBe('#/ceremonies/key-store');
    await screenshot('keystore-1-action');

    await byTestId('keystore-action-xks.stores.create').check();
    await byTestId('keystore-next').click();
    await page.locator('[data-step="details"]').waitFor();
    await byTestId('keystore-uri-prefix').fill('console-e2e');
    await screenshot('keystore-2-details');
    await byTestId('keystore-submit').click();

    // The key-store policy made it a request: alice signs in the page with her key file…
    await page.locator('[data-step="approvals"]').waitFor();
    const requestId = (await byTestId('keystore-request-id').textContent())!;
    expect(requestId).toMatch(/^apr-[0-9a-f]{24}$/);
    await byTestId('approval-key-file').setInputFiles(file('alice.pem'));
    await byTestId('approval-sign').click();
    await expect.poll(() => byTestId('approval-notice').textContent()).toContain('1 of 2 approval(s); the request is PENDING');
    await screenshot('keystore-3-approvals');
    // …and bob signs the statement off-line with openssl (ECDSA P-256); his signature is uploaded.
    await download('approval-download-statement', 'keystore-statement');
    openssl('dgst', '-sha256', '-sign', file('bob.pem'), '-out', 'keystore-statement.sig', 'keystore-statement');
    await byTestId('approval-signature-file').setInputFiles(file('keystore-statement.sig'));
    await byTestId('approval-upload').click();

    // Done: the store it made, the transcript, and its secret access key, which alice (who asked) takes once.
    await page.locator('[data-step="done"]').waitFor();
    await expect.poll(() => page.evaluate('document.activeElement.tagName')).toBe('H2');
    const storeId = (await byTestId('keystore-made').locator('dd').first().textContent())!;
    expect(storeId).toMatch(/^xks-[0-9a-f-]{36}$/);
    expect(await byTestId('keystore-transcript').getAttribute('href')).toBe(`#/transcripts/${requestId}`);
    await screenshot('keystore-4-done');
    await byTestId('keystore-take-result').click();
    const shown = byTestId('secret-once');
    await shown.waitFor();
    expect(await shown.textContent()).toContain('Kura will not show this again');
    const value = async (label: string) => (await shown.locator('.copy-block').filter({ has: page.getByText(label, { exact: true }) }).locator('pre').textContent())!.trim();
    const cred = { uriPath: await value('uriPath'), accessKeyId: await value('accessKeyId'), secretAccessKey: await value('secretAccessKey') };
    expect(cred.uriPath).toBe('/console-e2e/kms/xks/v1');
    expect(await value('storeId')).toBe(storeId);
    expect(await shown.getByRole('button', { name: 'Copy secretAccessKey' }).count()).toBe(1);
    await screenshot('keystore-5-secret-once');

    // The secret is the store's: it signs an XKS call AWS KMS would make. And it was taken: none is left.
    const health = await xksCall(kura, cred, '/health', { requestMetadata: { kmsOperation: 'KmsHealthCheck', kmsRequestId: 'console-e2e-1' } });
    expect(health.status).toBe(200);
    const again = await runKura(['approvals', 'result', requestId, '--data-dir', kura.dataDir, '--json']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('NotFound');

    // Hidden, and gone from the page; leaving and coming back does not bring it back.
    await byTestId('secret-dismiss').click();
    expect(await page.content()).not.toContain(cred.secretAccessKey);
    await byTestId('nav-dashboard').click();
    await byTestId('nav-keystore').click();
    await page.locator('[data-step="action"]').waitFor();
    expect(await page.content()).not.toContain(cred.secretAccessKey);
  });

  it('shows the audit log with the chain verified', async () => {
    await byTestId('nav-audit').click();
    await byTestId('audit-table').waitFor();
    await expect.poll(() => page.locator('[data-testid="audit-table"] tbody tr').count()).toBeGreaterThan(5);
    await byTestId('audit-verify').click();
    await expect.poll(() => byTestId('audit-verified').textContent()).toMatch(/^Chain verified: [\d,]+ entries, head (\d+:)?[0-9a-f]{64}\.$/);
    await screenshot('audit-verified');
    expect(pageErrors).toEqual([]);
  });
});
