// @vitest-environment happy-dom
// The key store ceremony (renderer/views/KeyStoreCeremonyView.vue) against a fake appliance, in the BYOK
// and deletion ceremonies' step pattern: every key-store change offered, each one's inputs sent exactly
// as the contract takes them and a 200 straight to done with what it made; a 202 that becomes the
// approvals step, approved with a key file signed in the page and an uploaded signature, then done with
// the transcript and the new secret access key taken once (approvals.result), shown with a warning and a
// copy button, and gone — from the page and from every store — when the step is left; a token PIN sent,
// emptied from the form and never kept — a store on an HSM given its token's PIN again, a PIN the token
// refuses marked on its field; the error of each step shown with its code and message; and
// every control a real, named one under a step indicator that marks the current step.
// Why one file of this length: every case walks the same ceremony through the same fake appliance and
// helpers (open, submit, the step shown), and its steps are one flow; split, each part would repeat them.
import type { VueWrapper } from '@vue/test-utils';
import { getActivePinia } from 'pinia';
import { describe, expect, it, vi } from 'vitest';
import type { ApprovalView } from '../../main/console/index.js';
import KeyStoreCeremonyView from '../../renderer/views/KeyStoreCeremonyView.vue';
import type { KeyStoreAction } from '../../renderer/stores/keystore.js';
import { approval, custodianKey, EXTERNAL_KEY_ID, HSM_ID, hsmToken, hsmView, REQUEST_ID, STORE_ID, XKS_ACCESS_KEY_ID, xksCredential, xksKey, xksStore } from './fixtures.js';
import { chooseFile, doc, fakeClient, mountWith, refuse, settle, unnamedControls, valueOf, type FakeClient, type Handlers } from './support.js';

const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY0';
const PIN = '1234-5678-pin';
const HSM_STORE_ID = 'xks-9d1e4c2b-7f3a-4e55-8b6c-1a2b3c4d5e6f';

/** A fake appliance with one HSM, one XKS store, its credential and key; no change is gated unless a test says so. */
function appliance(over: Handlers = {}): FakeClient {
  return fakeClient({
    'hsms.list': () => ({ hsms: [hsmView(), hsmView({ hsmId: 'cluster-zyxwvutsrqp77', tokenLabel: 'backup' })] }),
    'xks.stores.list': () => ({ stores: [xksStore()] }),
    'xks.credentials.list': () => ({ credentials: [xksCredential(), xksCredential({ accessKeyId: 'KURAXKSSECONDCREDENTIAL1' })] }),
    'xks.keys.list': () => ({ keys: [xksKey(), xksKey({ externalKeyId: 'kura-xks-disabled', keyStatus: 'DISABLED' })] }),
    'hsms.add': (i) => ({ applied: true, ...hsmView({ modulePath: i.modulePath, tokenLabel: i.tokenLabel }), token: hsmToken() }),
    'hsms.remove': (i) => ({ applied: true, removed: i.hsmId }),
    'xks.stores.create': () => ({ applied: true, storeId: STORE_ID, uriPath: '/example/kms/xks/v1', accessKeyId: XKS_ACCESS_KEY_ID, secretAccessKey: SECRET }),
    'xks.stores.delete': (i) => ({ applied: true, deleted: i.storeId }),
    'xks.credentials.create': (i) => ({ applied: true, storeId: i.storeId, accessKeyId: 'KURAXKSNEWCREDENTIAL0001', secretAccessKey: SECRET }),
    'xks.credentials.delete': (i) => ({ applied: true, deleted: i.accessKeyId }),
    'xks.keys.create': () => ({ applied: true, externalKeyId: EXTERNAL_KEY_ID }),
    'xks.keys.enable': (i) => ({ applied: true, storeId: i.storeId, externalKeyId: i.externalKeyId, keyStatus: 'ENABLED' }),
    'xks.keys.disable': (i) => ({ applied: true, storeId: i.storeId, externalKeyId: i.externalKeyId, keyStatus: 'DISABLED' }),
    'xks.keys.delete': (i) => ({ applied: true, deleted: i.externalKeyId }),
    ...over,
  });
}

const byTestId = (w: VueWrapper, id: string) => w.get(`[data-testid="${id}"]`);
const has = (w: VueWrapper, id: string) => w.find(`[data-testid="${id}"]`).exists();
const current = (w: VueWrapper) => w.get('[aria-current="step"]').attributes('data-testid');
const disabled = (w: VueWrapper, id: string) => byTestId(w, id).attributes('disabled') !== undefined;
const errorShown = (w: VueWrapper) => ({ code: byTestId(w, 'error-code').text(), message: byTestId(w, 'error-message').text() });
const made = (w: VueWrapper) => byTestId(w, 'keystore-made').findAll('dt').map((dt, i) => [dt.text(), byTestId(w, 'keystore-made').findAll('dd')[i]!.text()]);
/** Everything every Pinia store holds now, as text: a secret or PIN must never be in it. */
const storesHold = () => JSON.stringify(getActivePinia()!.state.value);

async function click(w: VueWrapper, id: string): Promise<void> {
  await byTestId(w, id).trigger('click');
  await settle(w);
}

/** Mounts the ceremony, chooses `action` and goes on to its details. */
async function open(client: FakeClient, action: KeyStoreAction): Promise<VueWrapper> {
  const w = mountWith(KeyStoreCeremonyView, client);
  await settle(w);
  expect(current(w)).toBe('step-action');
  expect(disabled(w, 'keystore-next')).toBe(true);
  await byTestId(w, `keystore-action-${action}`).setValue(true);
  await click(w, 'keystore-next');
  expect(current(w)).toBe('step-details');
  return w;
}

/** Submits the details; a change that removes something is asked first, and answered yes. */
async function submit(w: VueWrapper): Promise<void> {
  const button = byTestId(w, 'keystore-submit');
  if (!button.classes('button-danger')) {
    await button.trigger('submit');
    await settle(w);
    return;
  }
  await click(w, 'keystore-submit');
  await click(w, 'keystore-submit-confirm');
}

describe('the key store ceremony', () => {
  it('offers every key-store change under a step indicator; Next waits for a choice, Back keeps it', async () => {
    const w = mountWith(KeyStoreCeremonyView, appliance());
    await settle(w);
    expect(w.get('h1').text()).toBe('Key store ceremony');
    expect(w.findAll('nav.steps li').map((li) => li.text())).toEqual(['1Choose the change', '2Details', '3Approvals', '4Done']);
    expect(w.findAll('[aria-current="step"]').length).toBe(1);
    expect(current(w)).toBe('step-action');
    expect(w.findAll('input[type="radio"]').map((r) => r.attributes('value'))).toEqual([
      'hsms.add',
      'hsms.remove',
      'xks.stores.create',
      'xks.stores.update',
      'xks.stores.delete',
      'xks.credentials.create',
      'xks.credentials.delete',
      'xks.keys.create',
      'xks.keys.enable',
      'xks.keys.disable',
      'xks.keys.delete',
    ]);
    expect(disabled(w, 'keystore-next')).toBe(true);
    expect(disabled(w, 'keystore-back')).toBe(true);
    await byTestId(w, 'keystore-action-xks.keys.create').setValue(true);
    await click(w, 'keystore-next');
    expect(current(w)).toBe('step-details');
    expect(w.get('[data-testid="step-action"]').text()).toContain('(done)');
    expect(w.get('h2').text()).toBe('Create an XKS key');
    await click(w, 'keystore-back');
    expect(current(w)).toBe('step-action');
    expect((byTestId(w, 'keystore-action-xks.keys.create').element as unknown as { checked: boolean }).checked).toBe(true);
    w.unmount();
  });

  // Each change: how its details are filled in, what the command must receive, and what done names.
  const CASES: { action: KeyStoreAction; fill: (w: VueWrapper) => Promise<void>; sent: unknown; done: string[][] }[] = [
    {
      action: 'hsms.add',
      fill: async (w) => {
        await byTestId(w, 'keystore-module-path').setValue(' /usr/lib/softhsm/libsofthsm2.so ');
        await byTestId(w, 'keystore-token-label').setValue('kura');
        await byTestId(w, 'keystore-library-parameters').setValue("configdir='sql:/etc/nss' certPrefix='' keyPrefix='' secmod='secmod.db'");
      },
      sent: { modulePath: '/usr/lib/softhsm/libsofthsm2.so', tokenLabel: 'kura', libraryParameters: "configdir='sql:/etc/nss' certPrefix='' keyPrefix='' secmod='secmod.db'" },
      done: [['HSM ID', HSM_ID]],
    },
    { action: 'hsms.remove', fill: (w) => byTestId(w, 'keystore-hsm').setValue(HSM_ID), sent: { hsmId: HSM_ID }, done: [['Removed', HSM_ID]] },
    { action: 'xks.stores.delete', fill: (w) => byTestId(w, 'keystore-store').setValue(STORE_ID), sent: { storeId: STORE_ID }, done: [['Deleted', STORE_ID]] },
    {
      action: 'xks.credentials.delete',
      fill: async (w) => {
        await byTestId(w, 'keystore-store').setValue(STORE_ID);
        await settle(w);
        await byTestId(w, 'keystore-credential').setValue(XKS_ACCESS_KEY_ID);
      },
      sent: { storeId: STORE_ID, accessKeyId: XKS_ACCESS_KEY_ID },
      done: [['Deleted', XKS_ACCESS_KEY_ID]],
    },
    {
      action: 'xks.keys.create',
      fill: async (w) => {
        await byTestId(w, 'keystore-store').setValue(STORE_ID);
        await byTestId(w, 'keystore-usage-decrypt').setValue(false);
      },
      sent: { storeId: STORE_ID, usage: ['ENCRYPT'] },
      done: [['External key ID', EXTERNAL_KEY_ID]],
    },
    // Enabling, disabling or deleting a key: the store, then one of its keys.
    ...(['enable', 'disable', 'delete'] as const).map((how) => ({
      action: `xks.keys.${how}` as const,
      fill: async (w: VueWrapper) => {
        await byTestId(w, 'keystore-store').setValue(STORE_ID);
        await settle(w);
        await byTestId(w, 'keystore-key').setValue('kura-xks-disabled');
      },
      sent: { storeId: STORE_ID, externalKeyId: 'kura-xks-disabled' },
      done:
        how === 'delete'
          ? [['Deleted', 'kura-xks-disabled']]
          : [['External key ID', 'kura-xks-disabled'], ['Key status', how === 'enable' ? 'ENABLED' : 'DISABLED'], ['XKS store ID', STORE_ID]],
    })),
  ];

  it.each(CASES)('$action: its inputs as the contract takes them, and a 200 straight to done', async ({ action, fill, sent, done }) => {
    const client = appliance();
    const w = await open(client, action);
    expect(disabled(w, 'keystore-submit')).toBe(true);
    await fill(w);
    expect(disabled(w, 'keystore-submit')).toBe(false);
    await submit(w);
    expect(client.inputsOf(action)).toEqual([sent]);
    expect(current(w)).toBe('step-done');
    expect(made(w).sort((a, b) => a[0]!.localeCompare(b[0]!))).toEqual(done);
    // Applied at once: no request, so no approvals and no transcript.
    expect(client.calls.some((c) => c.command.startsWith('approvals.'))).toBe(false);
    expect(has(w, 'keystore-transcript')).toBe(false);
    expect(has(w, 'secret-once')).toBe(false);
    await click(w, 'keystore-again');
    expect(current(w)).toBe('step-action');
    w.unmount();
  });

  it('lists what a change picks from: the HSMs, the stores, and the chosen store\'s credentials or keys', async () => {
    const client = appliance();
    let w = await open(client, 'hsms.remove');
    expect(byTestId(w, 'keystore-hsm').findAll('option').map((o) => o.text())).toEqual([
      'Choose an HSM',
      `${HSM_ID}: token kura (SoftHSM project SoftHSM v2)`,
      'cluster-zyxwvutsrqp77: token backup (SoftHSM project SoftHSM v2)',
    ]);
    // Back on the screen (after a look elsewhere), the details step reads its lists again.
    const pinia = getActivePinia()!;
    w.unmount();
    w = mountWith(KeyStoreCeremonyView, client, {}, pinia);
    await settle(w);
    expect(current(w)).toBe('step-details');
    expect(client.inputsOf('hsms.list').length).toBe(2);
    w.unmount();
    w = await open(client, 'xks.keys.disable');
    expect(has(w, 'keystore-key')).toBe(false);
    await byTestId(w, 'keystore-store').setValue(STORE_ID);
    await settle(w);
    expect(client.inputsOf('xks.keys.list')).toEqual([{ storeId: STORE_ID }]);
    expect(byTestId(w, 'keystore-key').findAll('option').map((o) => o.text())).toEqual(['Choose a key', `${EXTERNAL_KEY_ID} (ENABLED; ENCRYPT, DECRYPT)`, 'kura-xks-disabled (DISABLED; ENCRYPT, DECRYPT)']);
    w.unmount();
    // Nothing to choose from says so.
    w = await open(appliance({ 'xks.stores.list': () => ({ stores: [] }) }), 'xks.credentials.create');
    expect(byTestId(w, 'keystore-empty').text()).toBe('There is no XKS proxy store.');
    expect(disabled(w, 'keystore-submit')).toBe(true);
    w.unmount();
  });

  it('sends a PIN with the change, empties it from the form at once, and keeps it nowhere', async () => {
    const client = appliance();
    let w = await open(client, 'hsms.add');
    await byTestId(w, 'keystore-module-path').setValue('/usr/lib/softhsm/libsofthsm2.so');
    await byTestId(w, 'keystore-token-label').setValue('kura');
    await byTestId(w, 'keystore-pin').setValue(PIN);
    expect(byTestId(w, 'keystore-pin').attributes('type')).toBe('password');
    expect(storesHold()).not.toContain(PIN);
    await submit(w);
    expect(client.inputsOf('hsms.add')).toEqual([{ modulePath: '/usr/lib/softhsm/libsofthsm2.so', tokenLabel: 'kura', pin: PIN }]);
    expect(storesHold()).not.toContain(PIN);
    expect(w.html()).not.toContain(PIN);
    w.unmount();

    // A store on an HSM needs the PIN; one on the standard key store takes none, and no PIN field shows.
    w = await open(client, 'xks.stores.create');
    await byTestId(w, 'keystore-uri-prefix').setValue('/payments/eu/');
    expect(w.text()).toContain('AWS KMS calls the store at /payments/eu/kms/xks/v1');
    expect(has(w, 'keystore-pin')).toBe(false);
    await byTestId(w, 'keystore-hsm').setValue(HSM_ID);
    expect(disabled(w, 'keystore-submit')).toBe(true);
    await byTestId(w, 'keystore-pin').setValue(PIN);
    expect(disabled(w, 'keystore-submit')).toBe(false);
    // Refused: the error shows, and the PIN is emptied all the same.
    client.handlers['xks.stores.create'] = () => refuse('CustomKeyStoreInvalidState', 'The token refused the PIN: CKR_PIN_INCORRECT.', 400);
    await submit(w);
    expect(client.inputsOf('xks.stores.create')).toEqual([{ uriPathPrefix: '/payments/eu/', hsmId: HSM_ID, pin: PIN }]);
    expect(errorShown(w)).toEqual({ code: 'CustomKeyStoreInvalidState', message: 'The token refused the PIN: CKR_PIN_INCORRECT.' });
    expect(current(w)).toBe('step-details');
    expect(valueOf(byTestId(w, 'keystore-pin'))).toBe('');
    expect(disabled(w, 'keystore-submit')).toBe(true);
    expect(storesHold()).not.toContain(PIN);
    w.unmount();
  });

  it("gives a store on an HSM its token's PIN: only such stores offered, a refused PIN marked on its field, then done", async () => {
    const log = (['log', 'info', 'warn', 'error', 'debug'] as const).map((m) => vi.spyOn(console, m));
    const client = appliance({
      'xks.stores.list': () => ({ stores: [xksStore(), xksStore({ storeId: HSM_STORE_ID, uriPath: '/payments/kms/xks/v1', hsmId: HSM_ID })] }),
      'xks.stores.update': () => refuse('CloudHsmClusterInvalidConfiguration', `Logging in to the token "kura" of HSM ${HSM_ID} failed (INVALID_CREDENTIALS): check the PIN and \`kura hsm test ${HSM_ID}\`.`),
    });
    const w = await open(client, 'xks.stores.update');
    expect(byTestId(w, 'keystore-store').findAll('option').map((o) => o.text())).toEqual(['Choose a store', `${HSM_STORE_ID}: /payments/kms/xks/v1 on ${HSM_ID}`]);
    expect(byTestId(w, 'keystore-pin').attributes('type')).toBe('password');
    expect(w.get('label[for="keystore-pin"]').text()).toBe("The token's user PIN, as the token takes it now");
    expect(unnamedControls(w)).toEqual([]);
    await byTestId(w, 'keystore-store').setValue(HSM_STORE_ID);
    expect(disabled(w, 'keystore-submit')).toBe(true);
    await byTestId(w, 'keystore-pin').setValue('wrong-pin');
    expect(disabled(w, 'keystore-submit')).toBe(false);

    // The token refuses it: the PIN field is the one marked, described by the error, and focused; the PIN is emptied.
    (byTestId(w, 'keystore-submit').element as unknown as { focus(): void }).focus();
    await submit(w);
    expect(client.inputsOf('xks.stores.update')).toEqual([{ storeId: HSM_STORE_ID, pin: 'wrong-pin' }]);
    expect(current(w)).toBe('step-details');
    expect(errorShown(w).code).toBe('CloudHsmClusterInvalidConfiguration');
    const field = byTestId(w, 'keystore-pin');
    expect(field.attributes('aria-invalid')).toBe('true');
    expect(field.attributes('aria-describedby')).toBe('keystore-error keystore-pin-hint');
    expect(byTestId(w, 'keystore-store').attributes('aria-invalid')).toBeUndefined();
    await vi.waitFor(() => expect(doc().activeElement?.id).toBe('keystore-pin'));
    expect(valueOf(field)).toBe('');
    expect(disabled(w, 'keystore-submit')).toBe(true);

    // Another refusal (the store is not on an HSM after all) is about the store.
    client.handlers['xks.stores.update'] = () => refuse('ValidationException', `XKS proxy store ${HSM_STORE_ID} is not on an HSM: it has no PIN to update.`);
    await byTestId(w, 'keystore-pin').setValue('other-pin');
    await submit(w);
    expect(byTestId(w, 'keystore-store').attributes('aria-invalid')).toBe('true');
    expect(byTestId(w, 'keystore-pin').attributes('aria-invalid')).toBeUndefined();

    // The token's PIN: done, naming the store and its HSM, with focus on the result's heading.
    client.handlers['xks.stores.update'] = (i) => ({ applied: true, storeId: i.storeId, hsmId: HSM_ID });
    await byTestId(w, 'keystore-pin').setValue(PIN);
    (byTestId(w, 'keystore-submit').element as unknown as { focus(): void }).focus();
    await submit(w);
    expect(client.inputsOf('xks.stores.update').at(-1)).toEqual({ storeId: HSM_STORE_ID, pin: PIN });
    expect(current(w)).toBe('step-done');
    expect(made(w)).toEqual([['HSM ID', HSM_ID], ['XKS store ID', HSM_STORE_ID]]);
    await vi.waitFor(() => expect(doc().activeElement?.textContent).toBe("Give an XKS store its token's new PIN: done"));
    for (const secret of ['wrong-pin', 'other-pin', PIN]) {
      expect(storesHold()).not.toContain(secret);
      expect(w.html()).not.toContain(secret);
      for (const spy of log) expect(JSON.stringify(spy.mock.calls)).not.toContain(secret);
    }
    for (const spy of log) spy.mockRestore();
    w.unmount();

    // With no store on an HSM there is nothing to choose, and it says so.
    const none = await open(appliance(), 'xks.stores.update');
    expect(byTestId(none, 'keystore-empty').text()).toBe('No XKS proxy store is on an HSM.');
    expect(byTestId(none, 'keystore-store').findAll('option').map((o) => o.text())).toEqual(['Choose a store']);
    none.unmount();
  });

  it("a store's new PIN that a key-store policy gates: the approvals step, then done with the IDs its outcome names", async () => {
    const request = (over: Partial<ApprovalView> = {}) => approval({ action: 'kura:xks.stores.update', actionClass: 'key-store', parameters: `{"storeId":"${HSM_STORE_ID}"}`, ...over });
    const client = appliance({
      'xks.stores.list': () => ({ stores: [xksStore({ storeId: HSM_STORE_ID, hsmId: HSM_ID })] }),
      'xks.stores.update': () => ({ applied: false, approvalRequest: request() }),
      'approvals.show': () => request(),
      'approvals.submit': () => request({ status: 'EXECUTED', executedAt: '2025-05-01T12:06:00.000Z', outcome: `applied {"storeId":"${HSM_STORE_ID}","hsmId":"${HSM_ID}"}` }),
    });
    const w = await open(client, 'xks.stores.update');
    await byTestId(w, 'keystore-store').setValue(HSM_STORE_ID);
    await byTestId(w, 'keystore-pin').setValue(PIN);
    (byTestId(w, 'keystore-submit').element as unknown as { focus(): void }).focus();
    await submit(w);
    expect(client.inputsOf('xks.stores.update')).toEqual([{ storeId: HSM_STORE_ID, pin: PIN }]);
    expect(current(w)).toBe('step-approvals');
    expect(byTestId(w, 'keystore-request-id').text()).toBe(REQUEST_ID);
    expect(byTestId(w, 'approval-progress').text()).toContain('0 of 2 approvals');
    await vi.waitFor(() => expect(doc().activeElement?.textContent).toBe("Collect the custodians' approvals"));
    expect(storesHold()).not.toContain(PIN);
    expect(w.html()).not.toContain(PIN);
    await chooseFile(byTestId(w, 'approval-key-file'), new File([custodianKey().pem], 'alice.pem'));
    await click(w, 'approval-sign');
    expect(current(w)).toBe('step-done');
    expect(made(w)).toEqual([['HSM ID', HSM_ID], ['XKS store ID', HSM_STORE_ID]]);
    expect(byTestId(w, 'keystore-transcript').attributes('href')).toBe(`#/transcripts/${REQUEST_ID}`);
    expect(storesHold()).not.toContain(PIN);
    w.unmount();
  });

  it('a 200 that carries a secret shows it at once, with a warning and a copy button, and drops it when the step is left', async () => {
    const writeText = vi.fn(async (_text: string) => undefined);
    const nav = (globalThis as unknown as { navigator: object }).navigator;
    Object.defineProperty(nav, 'clipboard', { value: { writeText }, configurable: true });
    const client = appliance();
    const w = await open(client, 'xks.credentials.create');
    await byTestId(w, 'keystore-store').setValue(STORE_ID);
    await submit(w);
    expect(client.inputsOf('xks.credentials.create')).toEqual([{ storeId: STORE_ID }]);
    expect(current(w)).toBe('step-done');
    const shown = byTestId(w, 'secret-once');
    expect(shown.text()).toContain('Kura will not show this again');
    expect(shown.text()).toContain(SECRET);
    expect(storesHold()).not.toContain(SECRET);
    await shown.get('button[aria-label="Copy secretAccessKey"]').trigger('click');
    await settle(w);
    expect(writeText).toHaveBeenCalledWith(SECRET);
    expect(shown.text()).toContain('Copied');

    // Hidden: it is gone, and nothing brings it back; focus, which was on the gone button, is on the step's heading.
    (byTestId(w, 'secret-dismiss').element as unknown as { focus(): void }).focus();
    await click(w, 'secret-dismiss');
    await vi.waitFor(() => expect(doc().activeElement?.tagName).toBe('H2'));
    expect(w.html()).not.toContain(SECRET);
    expect(byTestId(w, 'keystore-secret-gone').text()).toContain('will not show it again');
    expect(made(w)).toEqual([['XKS store ID', STORE_ID], ['Access key ID', 'KURAXKSNEWCREDENTIAL0001']]);
    w.unmount();

    // Left without hiding it: leaving the done step drops it too.
    const again = await open(appliance(), 'xks.stores.create');
    await byTestId(again, 'keystore-uri-prefix').setValue('example');
    await submit(again);
    expect(byTestId(again, 'secret-once').text()).toContain(SECRET);
    expect(made(again)).toEqual([['XKS store ID', STORE_ID], ['URI path', '/example/kms/xks/v1'], ['Access key ID', XKS_ACCESS_KEY_ID]]);
    await click(again, 'keystore-again');
    expect(current(again)).toBe('step-action');
    expect(again.html()).not.toContain(SECRET);
    expect(storesHold()).not.toContain(SECRET);
    // …and the next change's done step does not bring it back.
    await byTestId(again, 'keystore-action-xks.keys.create').setValue(true);
    await click(again, 'keystore-next');
    await byTestId(again, 'keystore-store').setValue(STORE_ID);
    await submit(again);
    expect(current(again)).toBe('step-done');
    expect(has(again, 'secret-once')).toBe(false);
    expect(again.html()).not.toContain(SECRET);
    again.unmount();
  });

  it('a 202 → approvals (a key file signed in the page, an uploaded openssl signature) → done with the transcript, the secret taken once and gone on leaving', async () => {
    const alice = custodianKey();
    let approvals: ApprovalView['approvals'] = [];
    const request = (over: Partial<ApprovalView> = {}) =>
      approval({ action: 'kura:xks.stores.create', actionClass: 'key-store', parameters: '{"uriPathPrefix":"example"}', approvals, ...over });
    const executed = { status: 'EXECUTED', executedAt: '2025-05-01T12:06:00.000Z', outcome: `applied {"storeId":"${STORE_ID}","accessKeyId":"${XKS_ACCESS_KEY_ID}"}`, hasResult: true } as const;
    const client = appliance({
      'xks.stores.create': () => ({ applied: false, approvalRequest: request() }),
      'approvals.show': () => request(),
      'approvals.submit': ({ signature, operator }) => {
        const sig = Buffer.from(signature, 'base64');
        const who = alice.verifies(sig) ? 'alice' : operator === 'carol' && sig.length === 64 ? 'carol' : refuse('AccessDenied', 'That signature is no custodian\'s.', 403);
        approvals = [...approvals, { operator: who, fingerprint: `fp-${who}`, createdAt: '2025-05-01T12:05:00.000Z' }];
        return request(approvals.length === 2 ? executed : {});
      },
      'approvals.result': ({ id }) => ({ id, action: 'kura:xks.stores.create', result: { storeId: STORE_ID, uriPath: '/example/kms/xks/v1', accessKeyId: XKS_ACCESS_KEY_ID, secretAccessKey: SECRET } }),
    });
    const w = await open(client, 'xks.stores.create');
    await byTestId(w, 'keystore-uri-prefix').setValue('example');
    await submit(w);
    expect(client.inputsOf('xks.stores.create')).toEqual([{ uriPathPrefix: 'example' }]);

    // The approvals step: the request, with the approval panel the other ceremonies use.
    expect(current(w)).toBe('step-approvals');
    expect(byTestId(w, 'keystore-request-id').text()).toBe(REQUEST_ID);
    expect(byTestId(w, 'approval-progress').text()).toContain('0 of 2 approvals from alice, bob, carol');
    expect(w.text()).toContain('Its new secret access key is then yours, who asked, to take once.');
    // Asked: there is no going back to change it (the panel cancels it).
    expect(has(w, 'keystore-back')).toBe(false);
    expect(unnamedControls(w)).toEqual([]);
    await chooseFile(byTestId(w, 'approval-key-file'), new File([alice.pem], 'alice.pem'));
    await click(w, 'approval-sign');
    expect(byTestId(w, 'approval-notice').text()).toBe('Signed with the key file: 1 of 2 approval(s); the request is PENDING.');
    expect(current(w)).toBe('step-approvals');
    await chooseFile(byTestId(w, 'approval-signature-file'), new File([new Uint8Array(64).fill(9)], 'statement.sig'));
    await byTestId(w, 'approval-signer').setValue('carol');
    await click(w, 'approval-upload');
    expect(client.inputsOf('approvals.submit').at(-1)).toEqual({ id: REQUEST_ID, signature: Buffer.alloc(64, 9).toString('base64'), operator: 'carol' });
    expect(JSON.stringify(client.calls)).not.toContain('PRIVATE KEY');

    // Done: what it made (from the outcome, in the clear), the transcript, and the secret waiting.
    expect(current(w)).toBe('step-done');
    expect(made(w)).toEqual([['XKS store ID', STORE_ID], ['Access key ID', XKS_ACCESS_KEY_ID]]);
    expect(byTestId(w, 'keystore-transcript').attributes('href')).toBe(`#/transcripts/${REQUEST_ID}`);
    expect(w.html()).not.toContain(SECRET);
    expect(client.inputsOf('approvals.result')).toEqual([]);
    expect(unnamedControls(w)).toEqual([]);
    (byTestId(w, 'keystore-take-result').element as unknown as { focus(): void }).focus();
    await click(w, 'keystore-take-result');
    expect(client.inputsOf('approvals.result')).toEqual([{ id: REQUEST_ID }]);
    // The button that was pressed is gone: focus is on the secret's heading, where a screen reader starts reading it.
    await vi.waitFor(() => expect(doc().activeElement?.closest('[data-testid="secret-once"]')?.tagName).toBe('SECTION'));
    expect(doc().activeElement?.tagName).toBe('H3');
    expect(byTestId(w, 'secret-once').text()).toContain(SECRET);
    expect(byTestId(w, 'secret-once').text()).toContain('Kura will not show this again');
    expect(has(w, 'keystore-take-result')).toBe(false);
    expect(storesHold()).not.toContain(SECRET);

    // Leaving the ceremony drops it: back on the screen (the same stores), it has started again and shows nothing.
    const pinia = getActivePinia()!;
    w.unmount();
    expect(storesHold()).not.toContain(SECRET);
    const back = mountWith(KeyStoreCeremonyView, client, {}, pinia);
    await settle(back);
    expect(current(back)).toBe('step-action');
    expect(back.html()).not.toContain(SECRET);
    expect(client.inputsOf('approvals.result').length).toBe(1);
    back.unmount();
  });

  it('shows the error of each step with its code and message, and stays on that step', async () => {
    // Details: a list that cannot be read.
    let w = await open(appliance({ 'hsms.list': () => refuse('Sealed', 'Kura is sealed: unseal it with `kura unseal`.', 503) }), 'hsms.remove');
    expect(errorShown(w)).toEqual({ code: 'Sealed', message: 'Kura is sealed: unseal it with `kura unseal`.' });
    expect(w.get('[role="alert"]').text()).toContain('The details step failed');
    // Going back clears the step's error.
    await click(w, 'keystore-back');
    expect(has(w, 'error')).toBe(false);
    w.unmount();

    // Details: the chosen store's keys cannot be read.
    w = await open(appliance({ 'xks.keys.list': () => refuse('NotFound', `There is no XKS store ${STORE_ID}.`, 404) }), 'xks.keys.delete');
    await byTestId(w, 'keystore-store').setValue(STORE_ID);
    await settle(w);
    expect(errorShown(w)).toEqual({ code: 'NotFound', message: `There is no XKS store ${STORE_ID}.` });
    w.unmount();

    // Details: the change refused.
    w = await open(appliance({ 'xks.stores.delete': () => refuse('CustomKeyStoreHasCMKs', `XKS store ${STORE_ID} still has 1 key: delete its keys first.`, 409) }), 'xks.stores.delete');
    await byTestId(w, 'keystore-store').setValue(STORE_ID);
    await submit(w);
    expect(errorShown(w)).toEqual({ code: 'CustomKeyStoreHasCMKs', message: `XKS store ${STORE_ID} still has 1 key: delete its keys first.` });
    expect(current(w)).toBe('step-details');
    w.unmount();

    // Approvals: a signature refused (the panel's error), then the request failing or cancelled once approved.
    const gated = (submitted: () => ApprovalView) =>
      appliance({
        'xks.keys.create': () => ({ applied: false, approvalRequest: approval({ action: 'kura:xks.keys.create', actionClass: 'key-store' }) }),
        'approvals.submit': submitted,
      });
    w = await open(gated(() => refuse('AccessDenied', 'The signature is no enrolled operator\'s over approval request apr-… of this appliance.', 403)), 'xks.keys.create');
    await byTestId(w, 'keystore-store').setValue(STORE_ID);
    await submit(w);
    await chooseFile(byTestId(w, 'approval-key-file'), new File([custodianKey().pem], 'mallory.pem'));
    await click(w, 'approval-sign');
    expect(errorShown(w)).toEqual({ code: 'AccessDenied', message: 'The signature is no enrolled operator\'s over approval request apr-… of this appliance.' });
    expect(current(w)).toBe('step-approvals');
    w.unmount();
    for (const [status, outcome, code, text] of [
      ['FAILED', 'NotFound: there is no XKS store', 'KeyStoreChangeFailed', 'The approved key store change ran and failed: NotFound: there is no XKS store.'],
      ['CANCELLED', 'cancelled by alice', 'RequestCancelled', `Approval request ${REQUEST_ID} was cancelled (cancelled by alice); nothing was changed.`],
    ] as const) {
      w = await open(gated(() => approval({ status, outcome, action: 'kura:xks.keys.create', actionClass: 'key-store' })), 'xks.keys.create');
      await byTestId(w, 'keystore-store').setValue(STORE_ID);
      await submit(w);
      await chooseFile(byTestId(w, 'approval-key-file'), new File([custodianKey().pem], 'alice.pem'));
      await click(w, 'approval-sign');
      expect(errorShown(w)).toEqual({ code, message: text });
      expect(w.get('[role="alert"]').text()).toContain('The approvals step failed');
      expect(current(w)).toBe('step-approvals');
      w.unmount();
    }

    // Done: the answer was taken already (elsewhere, or by the CLI).
    w = await open(
      appliance({
        'xks.credentials.create': () => ({ applied: false, approvalRequest: approval({ action: 'kura:xks.credentials.create', actionClass: 'key-store' }) }),
        'approvals.submit': () => approval({ status: 'EXECUTED', outcome: `applied {"storeId":"${STORE_ID}","accessKeyId":"KURAXKSNEWCREDENTIAL0001"}`, hasResult: true }),
        'approvals.result': () => refuse('NotFound', `Approval request ${REQUEST_ID} has no result to take (it was taken).`, 404),
      }),
      'xks.credentials.create',
    );
    await byTestId(w, 'keystore-store').setValue(STORE_ID);
    await submit(w);
    await chooseFile(byTestId(w, 'approval-key-file'), new File([custodianKey().pem], 'alice.pem'));
    await click(w, 'approval-sign');
    expect(current(w)).toBe('step-done');
    await click(w, 'keystore-take-result');
    expect(errorShown(w)).toEqual({ code: 'NotFound', message: `Approval request ${REQUEST_ID} has no result to take (it was taken).` });
    expect(w.get('[role="alert"]').text()).toContain('The done step failed');
    expect(has(w, 'secret-once')).toBe(false);
    w.unmount();
  });

  it('has only real, named controls at every step, and moves focus to the new step\'s heading', async () => {
    const client = appliance({ 'hsms.add': () => ({ applied: false, approvalRequest: approval({ action: 'kura:hsms.add', actionClass: 'key-store' }) }), 'approvals.show': () => approval() });
    const w = mountWith(KeyStoreCeremonyView, client);
    await settle(w);
    expect(unnamedControls(w)).toEqual([]);
    await byTestId(w, 'keystore-action-hsms.add').setValue(true);
    // The radio is named by its label and described by its hint.
    expect(w.get('label[for="keystore-action-hsms.add"]').text()).toBe('Register an HSM');
    expect(byTestId(w, 'keystore-action-hsms.add').attributes('aria-describedby')).toBe('keystore-action-hsms.add-hint');
    (byTestId(w, 'keystore-next').element as unknown as { focus(): void }).focus();
    await click(w, 'keystore-next');
    expect(doc().activeElement?.tagName).toBe('H2');
    expect(doc().activeElement?.textContent).toBe('Register an HSM');
    expect(unnamedControls(w)).toEqual([]);
    await byTestId(w, 'keystore-module-path').setValue('/usr/lib/softhsm/libsofthsm2.so');
    await byTestId(w, 'keystore-token-label').setValue('kura');
    (byTestId(w, 'keystore-submit').element as unknown as { focus(): void }).focus();
    await submit(w);
    expect(current(w)).toBe('step-approvals');
    expect(doc().activeElement?.textContent).toBe("Collect the custodians' approvals");
    expect(w.findAll('[aria-current="step"]').length).toBe(1);
    expect(unnamedControls(w)).toEqual([]);
    w.unmount();
  });
});
