// @vitest-environment happy-dom
// A refused form's error is tied to the field it is about in every form of the console, the same way
// (renderer/lib/field-errors.ts, as sign-in and the deletion ceremony first did): the field the
// appliance's message names — a quoted input field, or words of a domain rule — else the form's own
// field, is marked aria-invalid and described by the error (its hint kept), the error is shown in that
// form, and focus goes to the field. One screen's forms do not take each other's errors, and a change
// no form made (a row's Remove) marks no field.
import type { VueWrapper } from '@vue/test-utils';
import { createPinia } from 'pinia';
import { describe, expect, it } from 'vitest';
import type { Component } from 'vue';
import ApprovalPanel from '../../renderer/components/ApprovalPanel.vue';
import AuditView from '../../renderer/views/AuditView.vue';
import ByokWizardView from '../../renderer/views/ByokWizardView.vue';
import CredentialsView from '../../renderer/views/CredentialsView.vue';
import HsmsView from '../../renderer/views/HsmsView.vue';
import KeyDetailView from '../../renderer/views/KeyDetailView.vue';
import KeyStoreCeremonyView from '../../renderer/views/KeyStoreCeremonyView.vue';
import KeysView from '../../renderer/views/KeysView.vue';
import OperatorsView from '../../renderer/views/OperatorsView.vue';
import SealView from '../../renderer/views/SealView.vue';
import { approval, KEY_ID, keyDetail, REQUEST_ID } from './fixtures.js';
import { chooseFile, doc, fakeClient, mountWith, refuse, settle, type Handlers } from './support.js';

/** The ids of the controls marked invalid. */
const invalid = (w: VueWrapper) => w.findAll('[aria-invalid="true"]').map((e) => e.attributes('id'));
const focusedId = () => doc().activeElement?.id;

/** Checks that `id` alone is invalid, described by an alert that says `message` (after `hint`, if any), and has focus. */
function tiedTo(w: VueWrapper, id: string, message: string, hint?: string): void {
  expect(invalid(w)).toEqual([id]);
  const by = w.get(`[id="${id}"]`).attributes('aria-describedby')!.split(' ');
  expect(by.slice(1)).toEqual(hint ? [hint] : []);
  const notice = w.get(`[id="${by[0]}"]`);
  expect(notice.attributes('role')).toBe('alert');
  expect(notice.text()).toContain(message);
  expect(focusedId()).toBe(id);
}

async function mounted(view: Component, handlers: Handlers, props: Record<string, unknown> = {}): Promise<VueWrapper> {
  const w = mountWith(view, fakeClient(handlers), props, createPinia());
  await settle(w);
  return w;
}

const submitForm = async (w: VueWrapper, selector: string) => {
  await w.get(selector).trigger('submit');
  await settle(w);
};

describe('errors tied to fields', () => {
  it('credentials: the field the refusal quotes, in the create form', async () => {
    const w = await mounted(CredentialsView, {
      'credentials.list': () => ({ credentials: [] }),
      'credentials.create': () => refuse('Validation', 'Creating a credential: "principalArn" is an IAM principal ARN.'),
    });
    await w.get('#cred-account').setValue('444455556666');
    await w.get('#cred-principal').setValue('nope');
    await submitForm(w, 'form');
    tiedTo(w, 'cred-principal', '"principalArn" is an IAM principal ARN');
    w.unmount();
  });

  it('HSMs: a registration refused for no named field is about the module; the parameters keep their hint', async () => {
    const w = await mounted(HsmsView, {
      'hsms.list': () => ({ hsms: [] }),
      'xks.stores.list': () => ({ stores: [] }),
      'devices.list': () => ({ tokens: [], problems: [], checkedAt: '2026-12-06T09:00:00.000Z' }),
      'hsms.add': () => refuse('CustomKeyStoreInvalidState', 'The PKCS#11 module could not be loaded.', 409),
    });
    await w.get('#hsm-module').setValue('/no/such.so');
    await w.get('#hsm-label').setValue('kura');
    await submitForm(w, 'form');
    tiedTo(w, 'hsm-module', 'could not be loaded');
    expect(w.get('#hsm-library-parameters').attributes('aria-describedby')).toBe('hsm-library-parameters-hint');
    w.unmount();
  });

  it("operators: each form shows its own refusal on its own field; a row's removal marks none", async () => {
    const o = { name: 'alice', algorithm: 'ed25519', fingerprint: 'ab12', hasPassphrase: true, createdAt: '2026-12-06T08:00:00.000Z' };
    const w = await mounted(OperatorsView, {
      'operators.list': () => ({ operators: [o] }),
      'quorum.show': () => ({ policies: [], classes: ['key-import'] }),
      'operators.add': () => refuse('Validation', 'An operator key must be an Ed25519 or ECDSA P-256 public key in PEM (-----BEGIN PUBLIC KEY-----); this is text.'),
      'quorum.set': () => refuse('Validation', 'A threshold of 2 needs at least 2 distinct operators; 1 given.'),
      'operators.remove': () => refuse('AccessDenied', 'alice is named by a quorum policy.', 403),
    });
    await w.get('#op-name').setValue('bob');
    await w.get('#op-pub').setValue('not a key');
    await submitForm(w, 'form.card');
    tiedTo(w, 'op-pub', 'public key in PEM');
    expect(w.findAll('[role="alert"]')).toHaveLength(1);

    await w.get('#pol-threshold').setValue('2');
    await w.get('input[type="checkbox"]').setValue(true);
    await submitForm(w, 'form.inline-form');
    tiedTo(w, 'pol-threshold', 'A threshold of 2');
    expect(w.findAll('[role="alert"]')).toHaveLength(1);

    await w.get('[data-testid="operator-remove"]').trigger('click');
    await w.get('[data-testid="operator-remove-confirm"]').trigger('click');
    await settle(w);
    expect(invalid(w)).toEqual([]);
    expect(w.get('[role="alert"]').text()).toContain('named by a quorum policy');
    w.unmount();
  });

  it("one screen's refusal is not shown on the next screen that uses the same store", async () => {
    const pinia = createPinia();
    const client = fakeClient({
      'operators.list': () => ({ operators: [] }),
      'quorum.show': () => ({ policies: [], classes: [] }),
      'operators.add': () => refuse('AlreadyExists', 'An operator named bob is enrolled already.'),
      'credentials.list': () => ({ credentials: [] }),
    });
    const ops = mountWith(OperatorsView, client, {}, pinia);
    await settle(ops);
    await ops.get('#op-name').setValue('bob');
    await ops.get('#op-pub').setValue('a key');
    await submitForm(ops, 'form.card');
    tiedTo(ops, 'op-name', 'enrolled already');
    ops.unmount();
    const creds = mountWith(CredentialsView, client, {}, pinia);
    await settle(creds);
    expect(creds.find('[role="alert"]').exists()).toBe(false);
    creds.unmount();
  });

  it('keys: a key refused for its usage marks the usage', async () => {
    const w = await mounted(KeysView, {
      'keys.list': () => ({ accountId: '111122223333', region: 'us-east-1', keys: [], next: null, total: 0 }),
      'keys.create': () => refuse('ValidationException', 'KeyUsage SIGN_VERIFY is not valid for SYMMETRIC_DEFAULT.'),
    });
    await w.get('[data-testid="keys-create-open"]').trigger('click');
    await submitForm(w, '[data-testid="keys-create"]');
    tiedTo(w, 'new-key-usage', 'KeyUsage SIGN_VERIFY');
    w.unmount();
  });

  it("a key's deletion refused for its waiting period marks the days", async () => {
    const w = await mounted(
      KeyDetailView,
      { 'keys.show': () => keyDetail('Enabled'), 'keys.scheduleDeletion': () => refuse('ValidationException', 'PendingWindowInDays must be between 7 and 30.') },
      { keyId: KEY_ID },
    );
    await w.get('[data-testid="key-schedule-deletion"]').trigger('click');
    await w.get('[data-testid="key-schedule-deletion-confirm"]').trigger('click');
    await settle(w);
    tiedTo(w, 'key-days', 'PendingWindowInDays');
    w.unmount();
  });

  it('unseal: refused shares are marked, and focus goes back to them', async () => {
    const w = await mounted(SealView, {
      status: () => ({ state: 'sealed', mode: 'shamir', threshold: 2, shares: 3, progress: 0, applianceId: 'app-1', version: '0.1.0' }),
      unseal: () => refuse('Validation', "That share is not one of this appliance's."),
    });
    await w.get('#unseal-shares').setValue('kura-share-1-abc');
    await submitForm(w, 'form');
    tiedTo(w, 'unseal-shares', 'not one of this appliance');
    w.unmount();
  });

  it('an approval: a refused key file is marked; an uploaded signature refused for its signer marks the signer', async () => {
    const w = await mounted(ApprovalPanel, { 'approvals.show': () => approval(), 'approvals.submit': () => refuse('Validation', 'Approving a request: "operator" is not one of the approvers.') }, { id: REQUEST_ID });
    await chooseFile(w.get('[data-testid="approval-key-file"]'), new File(['-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n'], 'pub.pem'));
    await w.get('[data-testid="approval-sign"]').trigger('click');
    await settle(w);
    expect(invalid(w)).toEqual(['approval-key-file']);
    expect(focusedId()).toBe('approval-key-file');
    await chooseFile(w.get('[data-testid="approval-signature-file"]'), new File([new Uint8Array(64)], 'statement.sig'));
    await w.get('[data-testid="approval-upload"]').trigger('click');
    await settle(w);
    tiedTo(w, 'approval-signer', 'not one of the approvers');
    w.unmount();
  });

  it('the key store ceremony: a refused change marks its field; a list that failed to load marks none', async () => {
    const w = await mounted(KeyStoreCeremonyView, {
      'hsms.list': () => ({ hsms: [] }),
      'xks.stores.create': () => refuse('Validation', 'Creating an XKS store: "uriPathPrefix" is 1 to 64 letters, digits, - or _.'),
    });
    await w.get('[data-testid="keystore-action-xks.stores.create"]').setValue(true);
    await w.get('[data-testid="keystore-next"]').trigger('click');
    await settle(w);
    await w.get('#keystore-uri-prefix').setValue('a b');
    // Pressed from the keyboard: the ceremony's frame moves focus only for an operator working in it.
    (w.get('[data-testid="keystore-submit"]').element as unknown as { focus(): void }).focus();
    await submitForm(w, 'form');
    tiedTo(w, 'keystore-uri-prefix', '"uriPathPrefix" is 1 to 64', 'keystore-uri-prefix-hint');
    w.unmount();

    const failing = await mounted(KeyStoreCeremonyView, { 'hsms.list': () => refuse('Sealed', 'Kura is sealed.', 503) });
    await failing.get('[data-testid="keystore-action-hsms.remove"]').setValue(true);
    await failing.get('[data-testid="keystore-next"]').trigger('click');
    await settle(failing);
    expect(failing.get('[role="alert"]').text()).toContain('Kura is sealed.');
    expect(invalid(failing)).toEqual([]);
    failing.unmount();
  });

  it('the BYOK ceremony: a new key refused marks its description', async () => {
    const w = await mounted(ByokWizardView, {
      'keys.list': () => ({ accountId: '111122223333', region: 'us-east-1', keys: [], next: null, total: 0 }),
      'keys.create': () => refuse('ValidationException', 'Description is longer than 8192 characters.'),
    });
    await submitForm(w, 'form');
    expect(invalid(w)).toEqual(['byok-new-description']);
    expect(w.get('#byok-new-description').attributes('aria-describedby')).toBe('byok-error');
    w.unmount();
  });

  it('the audit log: a refused filter marks the field it quotes', async () => {
    const w = await mounted(AuditView, {
      'audit.list': (i) => (i.keyId ? refuse('Validation', 'Listing the audit log: "keyId" is a key ID.') : { entries: [], next: null }),
    });
    await w.get('#audit-key').setValue('x y');
    await submitForm(w, 'form');
    tiedTo(w, 'audit-key', '"keyId" is a key ID');
    w.unmount();
  });
});
