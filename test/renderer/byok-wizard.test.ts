// @vitest-environment happy-dom
// The BYOK ceremony wizard (renderer/views/ByokWizardView.vue) against a fake appliance: every step in
// order under the step indicator, Back and Next (and when each is refused), the fingerprints checked
// against the bytes received, the OpenSSL commands the README documents, the wrapped material sent as
// base64, a 202 that becomes the approvals step, a signature made in the page with a key file (verified
// here with node:crypto), the done step with its transcript link, an import no quorum gates, requests
// that end cancelled or failed — and an error at each step shown with its code and message; every step's
// controls real, named ones.
import { flushPromises, type VueWrapper } from '@vue/test-utils';
import { describe, expect, it } from 'vitest';
import type { ApprovalView } from '../../main/console/index.js';
import ByokWizardView from '../../renderer/views/ByokWizardView.vue';
import { approval, custodianKey, importParameters, KEY_ID, keyDetail, keySummary, REQUEST_ID } from './fixtures.js';
import { chooseFile, fakeClient, mountWith, refuse, settle, unnamedControls, valueOf, type FakeClient, type Handlers } from './support.js';

const WRAPPED = new Uint8Array(256).map((_, i) => (i * 7) & 0xff);

function appliance(over: Handlers = {}): FakeClient {
  return fakeClient({
    'keys.list': () => ({ accountId: '111122223333', region: 'us-east-1', keys: [keySummary()], next: null, total: 1 }),
    'keys.create': () => ({ ...keyDetail('PendingImport').metadata, KeyId: 'ffffeeee-1111-2222-3333-444455556666' }),
    'imports.parameters': () => importParameters(),
    'imports.material': () => ({ applied: false, approvalRequest: approval() }),
    'approvals.show': () => approval(),
    'keys.show': () => keyDetail('Enabled'),
    ...over,
  });
}

const current = (w: VueWrapper) => w.get('[aria-current="step"]').attributes('data-testid');
const byTestId = (w: VueWrapper, id: string) => w.get(`[data-testid="${id}"]`);
const errorShown = (w: VueWrapper) => ({ code: byTestId(w, 'error-code').text(), message: byTestId(w, 'error-message').text() });
const disabled = (w: VueWrapper, id: string) => byTestId(w, id).attributes('disabled') !== undefined;

async function click(w: VueWrapper, id: string): Promise<void> {
  await byTestId(w, id).trigger('click');
  await settle(w);
}

/** Mounts the wizard and walks it to `upTo`, checking each step on the way. */
async function walk(client: FakeClient, upTo: 'parameters' | 'wrap' | 'upload' | 'approvals'): Promise<VueWrapper> {
  const w = mountWith(ByokWizardView, client);
  await flushPromises();
  expect(current(w)).toBe('step-key');
  await byTestId(w, 'byok-key-choice').setValue(true);
  await click(w, 'byok-next');
  expect(current(w)).toBe('step-parameters');
  if (upTo === 'parameters') return w;
  await click(w, 'byok-get-parameters');
  await click(w, 'byok-next');
  expect(current(w)).toBe('step-wrap');
  if (upTo === 'wrap') return w;
  await click(w, 'byok-next');
  expect(current(w)).toBe('step-upload');
  if (upTo === 'upload') return w;
  await chooseFile(byTestId(w, 'byok-material-file'), new File([WRAPPED], 'EncryptedKeyMaterial.bin'));
  await flushPromises();
  await click(w, 'byok-import');
  expect(current(w)).toBe('step-approvals');
  return w;
}

describe('the BYOK ceremony wizard', () => {
  it('walks every step: key → parameters → wrap → upload → a 202 → approvals signed with a key file → done, with the transcript', async () => {
    const alice = custodianKey();
    const bob = custodianKey();
    let approvals: ApprovalView['approvals'] = [];
    const client = appliance({
      'approvals.submit': ({ signature }) => {
        const sig = Buffer.from(signature, 'base64');
        const who = alice.verifies(sig) ? 'alice' : bob.verifies(sig) ? 'bob' : refuse('AccessDenied', 'The signature is no enrolled operator\'s over approval request.', 403);
        approvals = [...approvals, { operator: who, fingerprint: `fp-${who}`, createdAt: '2025-05-01T12:05:00.000Z' }];
        return approval({ approvals, ...(approvals.length === 2 ? { status: 'EXECUTED', outcome: `applied {"keyId":"${KEY_ID}"}`, executedAt: '2025-05-01T12:06:00.000Z' } : {}) });
      },
    });
    const w = mountWith(ByokWizardView, client);
    await flushPromises();

    // 1. The key: EXTERNAL keys waiting for material are offered; Next waits for a choice.
    expect(client.inputsOf('keys.list')).toEqual([{ origin: 'EXTERNAL', state: 'PendingImport', limit: 100 }]);
    expect(current(w)).toBe('step-key');
    expect(unnamedControls(w)).toEqual([]);
    expect(w.findAll('nav.steps li').map((li) => li.text())).toEqual(['1Choose the key', '2Import parameters', '3Wrap off-line', '4Upload and import', '5Approvals', '6Done']);
    expect(disabled(w, 'byok-next')).toBe(true);
    expect(disabled(w, 'byok-back')).toBe(true);
    await byTestId(w, 'byok-key-choice').setValue(true);
    expect(disabled(w, 'byok-next')).toBe(false);
    await click(w, 'byok-next');

    // 2. Parameters: Next waits until they are fetched and their fingerprints match the bytes.
    expect(current(w)).toBe('step-parameters');
    expect(unnamedControls(w)).toEqual([]);
    expect(byTestId(w, 'byok-key-id').text()).toBe(KEY_ID);
    expect(w.get('[data-testid="step-key"]').text()).toContain('(done)');
    expect(disabled(w, 'byok-next')).toBe(true);
    // Back and forth keeps the choice.
    await click(w, 'byok-back');
    expect(current(w)).toBe('step-key');
    expect(unnamedControls(w)).toEqual([]);
    await click(w, 'byok-next');
    expect(current(w)).toBe('step-parameters');
    expect(unnamedControls(w)).toEqual([]);
    await byTestId(w, 'byok-algorithm').setValue('RSAES_OAEP_SHA_256');
    await byTestId(w, 'byok-spec').setValue('RSA_3072');
    await click(w, 'byok-get-parameters');
    expect(client.inputsOf('imports.parameters')).toEqual([{ keyId: KEY_ID, wrappingAlgorithm: 'RSAES_OAEP_SHA_256', wrappingKeySpec: 'RSA_3072' }]);
    expect(byTestId(w, 'byok-public-key-fingerprint').text()).toMatch(/^([0-9a-f]{4} ){15}[0-9a-f]{4}$/);
    expect(byTestId(w, 'byok-fingerprints').classes()).toContain('notice-ok');
    // Said in words, not only by the notice's colour.
    expect(byTestId(w, 'byok-fingerprints-verdict').text()).toBe('Checked: the bytes received here match these fingerprints.');
    expect(w.findAll('figure.qr svg path').length).toBe(2);
    expect(w.findAll('figure.qr figcaption').map((f) => f.text())).toEqual(['WrappingPublicKey.bin, base64', 'ImportToken.bin, base64']);
    expect(disabled(w, 'byok-next')).toBe(false);
    await click(w, 'byok-next');

    // 3. Wrap off-line: the documented OpenSSL commands, each with a copy button.
    expect(current(w)).toBe('step-wrap');
    expect(unnamedControls(w)).toEqual([]);
    const commands = w.findAll('.copy-block pre').map((p) => p.text());
    expect(commands[0]).toBe('openssl dgst -sha256 WrappingPublicKey.bin ImportToken.bin');
    expect(commands[1]).toBe('openssl rand -out PlaintextKeyMaterial.bin 32');
    expect(commands[2]!.replace(/\\\n\s+/g, '')).toBe(
      'openssl pkeyutl -encrypt -in PlaintextKeyMaterial.bin -out EncryptedKeyMaterial.bin -inkey WrappingPublicKey.bin -keyform DER -pubin -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256',
    );
    expect(w.findAll('.copy-block button').length).toBe(3);
    await click(w, 'byok-next');

    // 4. Upload: Import waits for a file; the material goes as base64 with the token.
    expect(current(w)).toBe('step-upload');
    expect(unnamedControls(w)).toEqual([]);
    expect(disabled(w, 'byok-import')).toBe(true);
    expect(w.find('[data-testid="byok-next"]').exists()).toBe(false);
    await chooseFile(byTestId(w, 'byok-material-file'), new File([WRAPPED], 'EncryptedKeyMaterial.bin'));
    await flushPromises();
    expect(byTestId(w, 'byok-material-chosen').text()).toBe('EncryptedKeyMaterial.bin, 256 bytes');
    await click(w, 'byok-import');
    const sent = client.inputsOf('imports.material')[0]!;
    expect(sent).toMatchObject({ keyId: KEY_ID, expirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' });
    expect(Buffer.from(sent.encryptedKeyMaterial, 'base64').equals(Buffer.from(WRAPPED))).toBe(true);
    expect(sent.importToken).toMatch(/^[A-Za-z0-9+/]+=*$/);

    // 5. The 202 became approval request apr-…: two custodians sign with key files.
    expect(current(w)).toBe('step-approvals');
    expect(unnamedControls(w)).toEqual([]);
    expect(byTestId(w, 'byok-request-id').text()).toBe(REQUEST_ID);
    expect(byTestId(w, 'approval-progress').text()).toContain('0 of 2 approvals from alice, bob, carol');
    expect(byTestId(w, 'approval-statement').text()).toContain(`"request":"${REQUEST_ID}"`);
    expect(disabled(w, 'byok-back')).toBe(true);
    await chooseFile(byTestId(w, 'approval-key-file'), new File([alice.pem], 'alice.pem'));
    await click(w, 'approval-sign');
    expect(byTestId(w, 'approval-notice').text()).toBe('Signed with the key file: 1 of 2 approval(s); the request is PENDING.');
    expect(valueOf(byTestId(w, 'approval-key-file'))).toBe('');
    await chooseFile(byTestId(w, 'approval-key-file'), new File([bob.pem], 'bob.pem'));
    await click(w, 'approval-sign');
    expect(client.inputsOf('approvals.submit').map((i) => Object.keys(i).sort())).toEqual([['id', 'signature'], ['id', 'signature']]);
    expect(JSON.stringify(client.calls)).not.toContain('PRIVATE KEY');

    // 6. Done: the key as it is now, and the transcript.
    expect(current(w)).toBe('step-done');
    expect(unnamedControls(w)).toEqual([]);
    expect(byTestId(w, 'byok-final-state').text()).toBe('Enabled');
    expect(byTestId(w, 'byok-transcript').attributes('href')).toBe(`#/transcripts/${REQUEST_ID}`);
    w.unmount();
  });

  it('creates an EXTERNAL key at the first step and goes on with it', async () => {
    const client = appliance({ 'keys.list': () => ({ accountId: '1', region: 'us-east-1', keys: [], next: null, total: 0 }) });
    const w = mountWith(ByokWizardView, client);
    await flushPromises();
    expect(w.text()).toContain('No EXTERNAL key waits for material.');
    await byTestId(w, 'byok-new-description').setValue('payments master key');
    await click(w, 'byok-create-key');
    expect(client.inputsOf('keys.create')).toEqual([{ origin: 'EXTERNAL', description: 'payments master key' }]);
    expect(current(w)).toBe('step-parameters');
    expect(byTestId(w, 'byok-key-id').text()).toBe('ffffeeee-1111-2222-3333-444455556666');
    w.unmount();
  });

  it('opens on the key the URL names, and an import no quorum gates goes straight to done', async () => {
    const client = appliance({ 'imports.material': () => ({ applied: true, keyId: KEY_ID }) });
    const w = mountWith(ByokWizardView, client, { keyId: KEY_ID });
    await flushPromises();
    expect(current(w)).toBe('step-parameters');
    await click(w, 'byok-get-parameters');
    await click(w, 'byok-next');
    await click(w, 'byok-next');
    await chooseFile(byTestId(w, 'byok-material-file'), new File([WRAPPED], 'w.bin'));
    await flushPromises();
    await click(w, 'byok-import');
    expect(current(w)).toBe('step-done');
    expect(byTestId(w, 'byok-final-state').text()).toBe('Enabled');
    expect(w.find('[data-testid="byok-transcript"]').exists()).toBe(false);
    w.unmount();
  });

  it('opens at the first step, saying why, when the URL names a key that is missing or not EXTERNAL', async () => {
    const missing = appliance({ 'keys.show': () => refuse('NotFoundException', `Key 'arn:aws:kms:us-east-1:111122223333:key/${KEY_ID}' does not exist`, 400) });
    const w = mountWith(ByokWizardView, missing, { keyId: KEY_ID });
    await flushPromises();
    expect(current(w)).toBe('step-key');
    expect(errorShown(w).code).toBe('NotFoundException');
    expect(missing.inputsOf('keys.list')).toHaveLength(1);
    expect(w.findAll('[data-testid="byok-key-choice"]')).toHaveLength(1);
    w.unmount();

    const generated = appliance({ 'keys.show': () => keyDetail('Enabled', { Origin: 'AWS_KMS' }) });
    const v = mountWith(ByokWizardView, generated, { keyId: KEY_ID });
    await flushPromises();
    expect(current(v)).toBe('step-key');
    expect(errorShown(v)).toEqual({ code: 'UnsupportedOperation', message: `Key ${KEY_ID} has origin AWS_KMS: only an EXTERNAL key takes imported material.` });
    expect(generated.inputsOf('imports.parameters')).toEqual([]);
    v.unmount();
  });

  it('refuses to go on when the fingerprints do not match the bytes received', async () => {
    const w = await walk(appliance({ 'imports.parameters': () => importParameters({ wrongFingerprint: true }) }), 'parameters');
    await click(w, 'byok-get-parameters');
    expect(byTestId(w, 'byok-fingerprints').classes()).toContain('notice-error');
    expect(byTestId(w, 'byok-fingerprints').text()).toContain('do not match');
    expect(byTestId(w, 'byok-fingerprints-verdict').text()).toMatch(/^Mismatch:/);
    expect(disabled(w, 'byok-next')).toBe(true);
    w.unmount();
  });

  it('asks before new parameters replace the ones the ceremony has (and may have carried off-line)', async () => {
    const client = appliance();
    const w = await walk(client, 'parameters');
    await click(w, 'byok-get-parameters');
    expect(client.inputsOf('imports.parameters')).toHaveLength(1);
    expect(byTestId(w, 'byok-get-parameters').text()).toBe('Get new parameters');
    await click(w, 'byok-get-parameters');
    expect(byTestId(w, 'byok-get-parameters-question').text()).toContain('will not import');
    await click(w, 'byok-get-parameters-keep');
    expect(client.inputsOf('imports.parameters')).toHaveLength(1);
    await click(w, 'byok-get-parameters');
    await click(w, 'byok-get-parameters-confirm');
    expect(client.inputsOf('imports.parameters')).toHaveLength(2);
    w.unmount();
  });

  it('shows the RSA_AES_KEY_WRAP commands for that algorithm', async () => {
    const w = await walk(appliance(), 'parameters');
    await byTestId(w, 'byok-algorithm').setValue('RSA_AES_KEY_WRAP_SHA_256');
    await click(w, 'byok-get-parameters');
    await click(w, 'byok-next');
    const text = w.findAll('.copy-block pre').map((p) => p.text()).join('\n');
    expect(text).toContain('openssl enc -id-aes256-wrap-pad');
    expect(text).toContain('-iv A65959A6');
    expect(text).toContain('cat aes-key-wrapped.bin key-material-wrapped.bin > EncryptedKeyMaterial.bin');
    w.unmount();
  });

  it('shows the error of each step with its code and message, and stays on that step', async () => {
    // The key step: creating the key fails.
    let w = mountWith(ByokWizardView, appliance({ 'keys.create': () => refuse('LimitExceeded', 'This account has 100,000 keys, the most it may.', 409) }));
    await flushPromises();
    await click(w, 'byok-create-key');
    expect(errorShown(w)).toEqual({ code: 'LimitExceeded', message: 'This account has 100,000 keys, the most it may.' });
    expect(w.get('[role="alert"]').text()).toContain('The choose the key step failed');
    expect(current(w)).toBe('step-key');
    w.unmount();

    // The key step: the list fails.
    w = mountWith(ByokWizardView, appliance({ 'keys.list': () => refuse('Sealed', 'Kura is sealed: unseal it with `kura unseal`.', 503) }));
    await flushPromises();
    expect(errorShown(w)).toEqual({ code: 'Sealed', message: 'Kura is sealed: unseal it with `kura unseal`.' });
    w.unmount();

    // Parameters.
    w = await walk(appliance({ 'imports.parameters': () => refuse('UnsupportedOperation', 'RSA_AES_KEY_WRAP_SHA_1 is not offered for HMAC keys.', 400) }), 'parameters');
    await click(w, 'byok-get-parameters');
    expect(errorShown(w)).toEqual({ code: 'UnsupportedOperation', message: 'RSA_AES_KEY_WRAP_SHA_1 is not offered for HMAC keys.' });
    expect(current(w)).toBe('step-parameters');
    expect(disabled(w, 'byok-next')).toBe(true);
    // Moving away clears the step's error.
    await click(w, 'byok-back');
    expect(w.find('[data-testid="error"]').exists()).toBe(false);
    w.unmount();

    // Upload and import.
    w = await walk(appliance({ 'imports.material': () => refuse('IncorrectKeyMaterial', 'The key material does not match the key\'s earlier material.', 400) }), 'upload');
    await chooseFile(byTestId(w, 'byok-material-file'), new File([WRAPPED], 'EncryptedKeyMaterial.bin'));
    await flushPromises();
    await click(w, 'byok-import');
    expect(errorShown(w)).toEqual({ code: 'IncorrectKeyMaterial', message: 'The key material does not match the key\'s earlier material.' });
    expect(current(w)).toBe('step-upload');
    w.unmount();

    // Approvals: a signature the appliance refuses, and a key file the console refuses before sending.
    const client = appliance({ 'approvals.submit': () => refuse('AccessDenied', 'The signature is no enrolled operator\'s over approval request apr-… of this appliance.', 403) });
    w = await walk(client, 'approvals');
    await chooseFile(byTestId(w, 'approval-key-file'), new File([custodianKey().pem], 'mallory.pem'));
    await click(w, 'approval-sign');
    expect(errorShown(w)).toEqual({ code: 'AccessDenied', message: 'The signature is no enrolled operator\'s over approval request apr-… of this appliance.' });
    await chooseFile(byTestId(w, 'approval-key-file'), new File(['-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n'], 'alice.pub'));
    await click(w, 'approval-sign');
    expect(errorShown(w).code).toBe('KeyFile');
    expect(errorShown(w).message).toMatch(/public key/);
    expect(client.inputsOf('approvals.submit').length).toBe(1);
    expect(current(w)).toBe('step-approvals');
    w.unmount();

    // Done: the key cannot be read back.
    w = await walk(appliance({ 'imports.material': () => ({ applied: true, keyId: KEY_ID }), 'keys.show': () => refuse('NotFound', `Key ${KEY_ID} does not exist.`, 404) }), 'upload');
    await chooseFile(byTestId(w, 'byok-material-file'), new File([WRAPPED], 'EncryptedKeyMaterial.bin'));
    await flushPromises();
    await click(w, 'byok-import');
    expect(current(w)).toBe('step-done');
    expect(errorShown(w)).toEqual({ code: 'NotFound', message: `Key ${KEY_ID} does not exist.` });
    w.unmount();
  });

  it('signs and sends once when "Sign and approve" is clicked twice before the key file is read', async () => {
    const client = appliance({ 'approvals.submit': () => approval({ status: 'PENDING' }) });
    const w = await walk(client, 'approvals');
    await chooseFile(byTestId(w, 'approval-key-file'), new File([custodianKey().pem], 'alice.pem'));
    const button = byTestId(w, 'approval-sign');
    // Two clicks in the same turn: the second lands while the first still reads the file.
    void button.trigger('click');
    void button.trigger('click');
    await settle(w);
    expect(client.inputsOf('approvals.submit').length).toBe(1);
    w.unmount();
  });

  it('says so when the request is cancelled or its import fails once approved', async () => {
    for (const [status, code, text] of [
      ['CANCELLED', 'RequestCancelled', 'was cancelled'],
      ['FAILED', 'ImportFailed', 'ran and failed: ExpiredImportToken'],
    ] as const) {
      const w = await walk(appliance({ 'approvals.submit': () => approval({ status, outcome: status === 'FAILED' ? 'ExpiredImportToken' : 'cancelled by alice' }) }), 'approvals');
      await chooseFile(byTestId(w, 'approval-key-file'), new File([custodianKey().pem], 'alice.pem'));
      await click(w, 'approval-sign');
      expect(errorShown(w).code).toBe(code);
      expect(errorShown(w).message).toContain(text);
      expect(current(w)).toBe('step-approvals');
      w.unmount();
    }
  });
});
