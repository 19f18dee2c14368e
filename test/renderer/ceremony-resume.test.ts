// @vitest-environment happy-dom
// A ceremony kept across a reload (renderer/lib/resume.ts and the ceremony stores): what goes into this
// tab's sessionStorage (the step, the key's ID, the BYOK import parameters, a request's ID) and what never
// does (wrapped key material, a passphrase, a PIN, signatures, anything a sanitizer does not name), for
// whom (the signed-in operator, the key), until when (the import parameters' validity; gone once expired),
// and cleared when the ceremony ends or the operator signs out; never localStorage; no error where the page
// has no sessionStorage. And the wizards themselves, mounted again on a fresh Pinia as a reload mounts
// them: the BYOK wizard resumes at its step with the same import token (not fetched again), says so,
// focuses the step's heading and asks for the wrapped material's file again; a step with an approval
// request reads it again; the deletion and key store ceremonies resume too, the PIN never kept.
import { flushPromises, type VueWrapper } from '@vue/test-utils';
import { createPinia, type Pinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ApprovalView } from '../../main/console/index.js';
import { CEREMONY_PREFIX, forgetCeremonies, forgetCeremony, loadCeremony, saveCeremony, type ByokSnapshot } from '../../renderer/lib/resume.js';
import { useSessionStore } from '../../renderer/stores/session.js';
import ByokWizardView from '../../renderer/views/ByokWizardView.vue';
import DeletionCeremonyView from '../../renderer/views/DeletionCeremonyView.vue';
import KeyStoreCeremonyView from '../../renderer/views/KeyStoreCeremonyView.vue';
import { approval, hsmView, importParameters, KEY_ID, keyDetail, keySummary, REQUEST_ID, STORE_ID, xksStore } from './fixtures.js';
import { chooseFile, fakeClient, mountWith, settle, type FakeClient, type Handlers } from './support.js';

interface StorageLike {
  length: number;
  key(i: number): string | null;
  getItem(k: string): string | null;
  setItem(k: string, v: string): void;
  clear(): void;
}
const page = globalThis as unknown as { sessionStorage: StorageLike; localStorage: StorageLike; document: { activeElement: { tagName: string; textContent: string | null } | null } };
/** Everything in this tab's sessionStorage, as name → value. */
const stored = (): Record<string, string> => {
  const out: Record<string, string> = {};
  for (let i = 0; i < page.sessionStorage.length; i++) {
    const k = page.sessionStorage.key(i)!;
    out[k] = page.sessionStorage.getItem(k)!;
  }
  return out;
};
const ceremonyEntries = () => Object.keys(stored()).filter((k) => k.startsWith(CEREMONY_PREFIX));

const PARAMS = importParameters();
const snapshot = (over: Partial<ByokSnapshot> = {}): ByokSnapshot => ({
  step: 'wrap',
  keyId: KEY_ID,
  algorithm: 'RSAES_OAEP_SHA_256',
  keySpec: 'RSA_2048',
  params: { ...PARAMS },
  expires: false,
  validTo: '',
  requestId: null,
  ...over,
});
const LATER = Date.now() + 3_600_000;

beforeEach(() => {
  page.sessionStorage.clear();
  page.localStorage.clear();
});
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe('the ceremony kept in the tab (lib/resume.ts)', () => {
  it("keeps only the fields it names, under the operator's and the key's name, in sessionStorage only", () => {
    const leaky = {
      ...snapshot(),
      wrapped: { name: 'EncryptedKeyMaterial.bin', size: 256, base64: 'V1JBUFBFRA==' },
      passphrase: 'a passphrase',
      pin: 'pin-8642',
      signature: 'c2ln',
      params: { ...PARAMS, privateKey: 'PRIVATE' },
    } as unknown as ByokSnapshot;
    saveCeremony('byok', 'alice', KEY_ID, leaky, LATER);
    expect(Object.keys(stored())).toEqual([`${CEREMONY_PREFIX}byok.alice.${KEY_ID}`]);
    const entry = JSON.parse(Object.values(stored())[0]!) as { operator: string; subject: string; data: Record<string, unknown> };
    expect(entry.operator).toBe('alice');
    expect(entry.subject).toBe(KEY_ID);
    expect(Object.keys(entry.data).sort()).toEqual(['algorithm', 'expires', 'keyId', 'keySpec', 'params', 'requestId', 'step', 'validTo']);
    expect(Object.keys(entry.data.params as object).sort()).toEqual(['importToken', 'importTokenFingerprint', 'keyId', 'parametersValidTo', 'publicKey', 'publicKeyFingerprint', 'publicKeyPem']);
    const text = Object.values(stored()).join('\n');
    for (const secret of ['V1JBUFBFRA==', 'EncryptedKeyMaterial', 'a passphrase', 'pin-8642', 'c2ln', 'PRIVATE']) expect(text).not.toContain(secret);
    expect(page.localStorage.length).toBe(0);
    expect(loadCeremony('byok', 'alice')).toEqual({ subject: KEY_ID, data: snapshot() });
  });

  it('resumes only for the same operator and, when one is named, the same key; one ceremony of a kind at a time', () => {
    saveCeremony('byok', 'alice', KEY_ID, snapshot(), LATER);
    expect(loadCeremony('byok', 'bob')).toBeNull();
    expect(loadCeremony('byok', 'alice', 'another-key')).toBeNull();
    expect(loadCeremony('byok', 'alice', KEY_ID)?.data.keyId).toBe(KEY_ID);
    // An operator whose name starts with another's sees none of theirs.
    expect(loadCeremony('byok', 'alice.x')).toBeNull();
    saveCeremony('byok', 'alice', 'another-key', snapshot({ keyId: 'another-key' }), LATER);
    expect(ceremonyEntries()).toEqual([`${CEREMONY_PREFIX}byok.alice.another-key`]);
    forgetCeremony('byok', 'alice');
    expect(ceremonyEntries()).toEqual([]);
  });

  it('resumes nothing once expired (and removes it), nothing already expired is written, and nothing that does not read back as its kind', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2029-01-01T00:00:00Z'));
    saveCeremony('byok', 'alice', KEY_ID, snapshot(), Date.parse(PARAMS.parametersValidTo));
    expect(loadCeremony('byok', 'alice')).not.toBeNull();
    vi.setSystemTime(new Date('2030-01-02T00:00:01Z'));
    expect(loadCeremony('byok', 'alice')).toBeNull();
    expect(ceremonyEntries()).toEqual([]);
    saveCeremony('byok', 'alice', KEY_ID, snapshot(), Date.now() - 1);
    expect(ceremonyEntries()).toEqual([]);
    page.sessionStorage.setItem(`${CEREMONY_PREFIX}byok.alice.${KEY_ID}`, JSON.stringify({ v: 1, operator: 'alice', subject: KEY_ID, expiresAt: Date.now() + 1000, data: { step: 'done' } }));
    expect(loadCeremony('byok', 'alice')).toBeNull();
    expect(ceremonyEntries()).toEqual([]);
  });

  it("forgets every operator's ceremonies on a sign-out, and other operators' on a sign-in", async () => {
    const client = fakeClient({ 'session.logout': () => ({ ended: true }) as never, 'session.login': () => ({ operator: 'bob', expiresAt: '2030-01-01T00:00:00Z' }) as never, 'keys.list': () => ({ accountId: '1', region: 'r', keys: [], next: null, total: 0 }) });
    const pinia = signedIn('alice');
    const w = mountWith(ByokWizardView, client, {}, pinia);
    await settle(w);
    page.sessionStorage.setItem('kura.console.session', 'not ours to clear');
    saveCeremony('byok', 'alice', KEY_ID, snapshot(), LATER);
    saveCeremony('deletion', 'carol', KEY_ID, { step: 'schedule', keyId: KEY_ID, days: 7, requestId: null }, LATER);
    await useSessionStore(pinia).signIn('bob', 'his passphrase');
    expect(ceremonyEntries()).toEqual([]);
    saveCeremony('byok', 'bob', KEY_ID, snapshot(), LATER);
    await useSessionStore(pinia).signOut();
    expect(ceremonyEntries()).toEqual([]);
    // The passphrase went nowhere.
    expect(Object.values(stored()).join()).not.toContain('his passphrase');
    saveCeremony('byok', 'alice', KEY_ID, snapshot(), LATER);
    useSessionStore(pinia).expired();
    expect(ceremonyEntries()).toEqual([]);
    forgetCeremonies();
    expect(stored()).toEqual({ 'kura.console.session': 'not ours to clear' });
    w.unmount();
  });

  it('does nothing, and throws nothing, where the page has no sessionStorage or it refuses', () => {
    vi.stubGlobal('sessionStorage', undefined);
    saveCeremony('byok', 'alice', KEY_ID, snapshot(), LATER);
    expect(loadCeremony('byok', 'alice')).toBeNull();
    vi.unstubAllGlobals();
    const refusing = { length: 0, key: () => null, getItem: () => { throw new Error('SecurityError'); }, setItem: () => { throw new Error('QuotaExceededError'); }, removeItem: () => undefined };
    vi.stubGlobal('sessionStorage', refusing);
    expect(() => saveCeremony('byok', 'alice', KEY_ID, snapshot(), LATER)).not.toThrow();
    expect(() => forgetCeremonies()).not.toThrow();
    expect(loadCeremony('byok', 'alice')).toBeNull();
  });
});

/** A fresh Pinia with `operator` signed in, as the console has one after restoring a session on a reload. */
function signedIn(operator: string): Pinia {
  const pinia = createPinia();
  pinia.state.value.session = { operator, expiresAt: '2030-01-01T00:00:00Z', checked: true, timedOut: false, answeredAt: Date.now(), capEnd: null, busy: false, error: null };
  return pinia;
}

const current = (w: VueWrapper) => w.get('[aria-current="step"]').attributes('data-testid');
const byTestId = (w: VueWrapper, id: string) => w.get(`[data-testid="${id}"]`);
async function click(w: VueWrapper, id: string): Promise<void> {
  await byTestId(w, id).trigger('click');
  await settle(w);
}
const focused = () => page.document.activeElement;
/** The import token the wizard holds (and shows as a QR code and a download). */
const tokenOf = (w: VueWrapper): string => ((w.vm as unknown as { $pinia: Pinia }).$pinia.state.value.byok as { params: { importToken: string } }).params.importToken;

function byokAppliance(over: Handlers = {}): FakeClient {
  return fakeClient({
    'keys.list': () => ({ accountId: '111122223333', region: 'us-east-1', keys: [keySummary()], next: null, total: 1 }),
    'keys.show': () => keyDetail('PendingImport'),
    'imports.parameters': () => importParameters(),
    'imports.material': () => ({ applied: false, approvalRequest: approval() }),
    'approvals.show': () => approval(),
    ...over,
  });
}

/** Mounts the BYOK wizard for alice and walks it from the key to `upTo`. */
async function byokAt(client: FakeClient, upTo: 'wrap' | 'upload'): Promise<VueWrapper> {
  const w = mountWith(ByokWizardView, client, { keyId: KEY_ID }, signedIn('alice'));
  await settle(w);
  expect(current(w)).toBe('step-parameters');
  await click(w, 'byok-get-parameters');
  await click(w, 'byok-next');
  if (upTo === 'upload') await click(w, 'byok-next');
  return w;
}

describe('a ceremony resumed after a reload', () => {
  it('the BYOK wizard: at its step, with the same import token (not fetched again), saying so, focus on the step heading', async () => {
    const client = byokAppliance();
    const before = await byokAt(client, 'wrap');
    const token = client.inputsOf('imports.parameters').length;
    expect(token).toBe(1);
    const shownToken = tokenOf(before);
    before.unmount();

    // The reload: a new Pinia, the page opened on the wizard's URL.
    const w = mountWith(ByokWizardView, client, { keyId: KEY_ID }, signedIn('alice'));
    await settle(w);
    expect(current(w)).toBe('step-wrap');
    expect(w.get('[data-testid="step-parameters"]').text()).toContain('(done)');
    expect(byTestId(w, 'byok-resumed').text()).toBe('Resumed at step 3 of 6: Wrap off-line.');
    expect(byTestId(w, 'byok-resumed').element.parentElement?.getAttribute('role')).toBe('status');
    expect(focused()?.tagName).toBe('H2');
    expect(focused()?.textContent).toContain('Wrap the key material');
    expect(client.inputsOf('imports.parameters').length).toBe(1);
    await click(w, 'byok-back');
    expect(w.find('[data-testid="byok-resumed"]').exists()).toBe(false);
    expect(byTestId(w, 'byok-fingerprints-verdict').text()).toBe('Checked: the bytes received here match these fingerprints.');
    expect(w.findAll('figure.qr').length).toBe(2);
    expect(tokenOf(w)).toBe(shownToken);
    w.unmount();

    // Another operator in this tab, or another key in the URL, resumes nothing.
    const bob = mountWith(ByokWizardView, client, { keyId: KEY_ID }, signedIn('bob'));
    await settle(bob);
    expect(current(bob)).toBe('step-parameters');
    expect(bob.find('[data-testid="byok-resumed"]').exists()).toBe(false);
    bob.unmount();
  });

  it('the BYOK wizard at the upload step asks for the file again; the approvals step reads its request again; done forgets it', async () => {
    const client = byokAppliance();
    const w1 = await byokAt(client, 'upload');
    await chooseFile(byTestId(w1, 'byok-material-file'), new File([new Uint8Array(256).fill(7)], 'EncryptedKeyMaterial.bin'));
    await flushPromises();
    expect(w1.find('[data-testid="byok-material-chosen"]').exists()).toBe(true);
    expect(Object.values(stored()).join()).not.toContain('EncryptedKeyMaterial.bin');
    w1.unmount();

    const w2 = mountWith(ByokWizardView, client, {}, signedIn('alice'));
    await settle(w2);
    expect(current(w2)).toBe('step-upload');
    expect(byTestId(w2, 'byok-resumed').text()).toBe(
      'Resumed at step 4 of 6: Upload and import. The wrapped key material file chosen before the reload is not kept: choose it again.',
    );
    expect(byTestId(w2, 'byok-material-again').text()).toContain('Choose EncryptedKeyMaterial.bin again');
    expect(byTestId(w2, 'byok-import').attributes('disabled')).toBeDefined();
    await chooseFile(byTestId(w2, 'byok-material-file'), new File([new Uint8Array(256).fill(7)], 'EncryptedKeyMaterial.bin'));
    await flushPromises();
    await click(w2, 'byok-import');
    expect(current(w2)).toBe('step-approvals');
    // The import went with the token the page had before the reload.
    expect(client.inputsOf('imports.material')[0]!.importToken).toBe(client.inputsOf('imports.parameters').length === 1 ? (JSON.parse(Object.values(stored())[0]!) as { data: { params: { importToken: string } } }).data.params.importToken : 'fetched again');
    w2.unmount();

    // At the approvals step: the request as the appliance has it now.
    let now: ApprovalView = approval({ approvals: [{ operator: 'bob', fingerprint: 'fp-bob', createdAt: '2025-05-01T12:05:00.000Z' }] });
    client.handlers['approvals.show'] = () => now;
    const shows = client.inputsOf('approvals.show').length;
    const w3 = mountWith(ByokWizardView, client, {}, signedIn('alice'));
    await settle(w3);
    expect(current(w3)).toBe('step-approvals');
    expect(client.inputsOf('approvals.show').length).toBeGreaterThan(shows);
    expect(byTestId(w3, 'byok-request-id').text()).toBe(REQUEST_ID);
    expect(byTestId(w3, 'approval-progress').text()).toContain('1 of 2 approvals');
    expect(byTestId(w3, 'byok-resumed').text()).toBe('Resumed at step 5 of 6: Approvals.');
    w3.unmount();

    // Approved since: the reload finds it done, and forgets it.
    now = approval({ status: 'EXECUTED', outcome: 'applied', executedAt: '2025-05-01T12:06:00.000Z' });
    client.handlers['keys.show'] = () => keyDetail('Enabled');
    const w4 = mountWith(ByokWizardView, client, {}, signedIn('alice'));
    await settle(w4);
    expect(current(w4)).toBe('step-done');
    expect(byTestId(w4, 'byok-final-state').text()).toBe('Enabled');
    await flushPromises();
    expect(ceremonyEntries()).toEqual([]);
    w4.unmount();
  });

  it('the BYOK wizard forgets a ceremony whose request was cancelled, and one whose parameters expired', async () => {
    const client = byokAppliance();
    saveCeremony('byok', 'alice', KEY_ID, snapshot({ step: 'approvals', requestId: REQUEST_ID }), LATER);
    client.handlers['approvals.show'] = () => approval({ status: 'CANCELLED', outcome: 'cancelled by alice' });
    const w = mountWith(ByokWizardView, client, {}, signedIn('alice'));
    await settle(w);
    expect(byTestId(w, 'error-code').text()).toBe('RequestCancelled');
    await flushPromises();
    expect(ceremonyEntries()).toEqual([]);
    w.unmount();

    saveCeremony('byok', 'alice', KEY_ID, snapshot({ params: { ...PARAMS, parametersValidTo: new Date(Date.now() + 60_000).toISOString() } }), Date.now() + 60_000);
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 120_000);
    const w2 = mountWith(ByokWizardView, client, {}, signedIn('alice'));
    await settle(w2);
    expect(current(w2)).toBe('step-key');
    expect(w2.find('[data-testid="byok-resumed"]').exists()).toBe(false);
    w2.unmount();
  });

  it('the deletion ceremony: at its step, the key and the request read again', async () => {
    const client = fakeClient({
      'keys.show': () => keyDetail('Enabled'),
      'keys.scheduleDeletion': () => ({ applied: false, approvalRequest: approval({ action: 'kms:ScheduleKeyDeletion', actionClass: 'key-deletion' }) }),
      'approvals.show': () => approval({ action: 'kms:ScheduleKeyDeletion', actionClass: 'key-deletion' }),
    });
    const w = mountWith(DeletionCeremonyView, client, { keyId: KEY_ID }, signedIn('alice'));
    await settle(w);
    expect(current(w)).toBe('step-schedule');
    await byTestId(w, 'deletion-days').setValue(9);
    await settle(w);
    w.unmount();
    expect(JSON.parse(Object.values(stored())[0]!)).toMatchObject({ operator: 'alice', subject: KEY_ID, data: { step: 'schedule', keyId: KEY_ID, days: 9, requestId: null } });

    const w2 = mountWith(DeletionCeremonyView, client, {}, signedIn('alice'));
    await settle(w2);
    expect(current(w2)).toBe('step-schedule');
    expect((byTestId(w2, 'deletion-days').element as unknown as { value: string }).value).toBe('9');
    expect(byTestId(w2, 'deletion-resumed').text()).toBe('Resumed at step 2 of 4: Schedule the deletion.');
    expect(focused()?.textContent).toBe('Schedule the deletion');
    w2.unmount();

    saveCeremony('deletion', 'alice', KEY_ID, { step: 'approvals', keyId: KEY_ID, days: 9, requestId: REQUEST_ID }, LATER);
    const w3 = mountWith(DeletionCeremonyView, client, { keyId: KEY_ID }, signedIn('alice'));
    await settle(w3);
    expect(current(w3)).toBe('step-approvals');
    expect(byTestId(w3, 'deletion-request-id').text()).toBe(REQUEST_ID);
    expect(client.inputsOf('approvals.show')).toEqual([{ id: REQUEST_ID }]);
    w3.unmount();
  });

  it('the key store ceremony: at its details with its choices, the PIN never kept', async () => {
    const client = fakeClient({
      'hsms.list': () => ({ hsms: [hsmView()] }),
      'xks.stores.list': () => ({ stores: [xksStore({ hsmId: hsmView().hsmId })] }),
    });
    const w = mountWith(KeyStoreCeremonyView, client, {}, signedIn('alice'));
    await settle(w);
    await byTestId(w, 'keystore-action-xks.stores.update').setValue(true);
    await click(w, 'keystore-next');
    await byTestId(w, 'keystore-store').setValue(STORE_ID);
    await byTestId(w, 'keystore-pin').setValue('9876-a-token-pin');
    await settle(w);
    w.unmount();
    expect(Object.values(stored()).join()).not.toContain('9876-a-token-pin');
    expect(JSON.parse(Object.values(stored())[0]!)).toMatchObject({ data: { step: 'details', action: 'xks.stores.update', form: { storeId: STORE_ID } } });

    const w2 = mountWith(KeyStoreCeremonyView, client, {}, signedIn('alice'));
    await settle(w2);
    expect(current(w2)).toBe('step-details');
    expect((byTestId(w2, 'keystore-store').element as unknown as { value: string }).value).toBe(STORE_ID);
    expect((byTestId(w2, 'keystore-pin').element as unknown as { value: string }).value).toBe('');
    expect(byTestId(w2, 'keystore-resumed').text()).toBe('Resumed at step 2 of 4: Details.');
    w2.unmount();
  });
});
