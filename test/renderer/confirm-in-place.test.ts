// @vitest-environment happy-dom
// Every destructive or irreversible action is asked in place before it is sent (ConfirmInPlace, as seal,
// removing a custodian and deleting a credential already were): cancelling an approval request,
// scheduling a key's deletion (from its page — by the button or by Enter in the days field — and in the
// deletion ceremony), removing an HSM, and the key store ceremony's changes that remove something. The
// button only asks, with focus on the safe answer; Escape keeps and gives focus back; only "Yes" sends,
// and focus then goes to what it did.
import type { VueWrapper } from '@vue/test-utils';
import { describe, expect, it } from 'vitest';
import ApprovalPanel from '../../renderer/components/ApprovalPanel.vue';
import HsmsView from '../../renderer/views/HsmsView.vue';
import KeyDetailView from '../../renderer/views/KeyDetailView.vue';
import KeyStoreCeremonyView from '../../renderer/views/KeyStoreCeremonyView.vue';
import { approval, EXTERNAL_KEY_ID, HSM_ID, hsmView, KEY_ID, keyDetail, REQUEST_ID, STORE_ID, xksCredential, xksKey, xksStore, XKS_ACCESS_KEY_ID } from './fixtures.js';
import { doc, fakeClient, mountWith, settle } from './support.js';

const byTestId = (w: VueWrapper, id: string) => w.get(`[data-testid="${id}"]`);
const focused = () => doc().activeElement?.getAttribute('data-testid') ?? doc().activeElement?.tagName;
const focus = (w: VueWrapper, id: string) => (byTestId(w, id).element as unknown as { focus(): void }).focus();

/** Presses `testid` (which must only ask), checks the question and where focus is, keeps once with Escape, then asks again and answers yes. */
async function askKeepThenYes(w: VueWrapper, testid: string, question: string, sent: () => unknown[]): Promise<void> {
  focus(w, testid);
  await byTestId(w, testid).trigger('click');
  await settle(w);
  expect(sent()).toEqual([]);
  expect(byTestId(w, `${testid}-question`).attributes('role')).toBe('group');
  expect(byTestId(w, `${testid}-question`).attributes('aria-label')).toBe(question);
  expect(focused()).toBe(`${testid}-keep`);
  await byTestId(w, `${testid}-keep`).trigger('keydown', { key: 'Escape' });
  await settle(w);
  expect(w.find(`[data-testid="${testid}-question"]`).exists()).toBe(false);
  expect(focused()).toBe(testid);
  expect(sent()).toEqual([]);
  await byTestId(w, testid).trigger('click');
  await settle(w);
  await byTestId(w, `${testid}-confirm`).trigger('click');
  await settle(w);
}

describe('asked in place', () => {
  it("an approval request's cancel asks first; yes cancels it and focus goes to what it did", async () => {
    const client = fakeClient({ 'approvals.show': () => approval(), 'approvals.cancel': () => approval({ status: 'CANCELLED' }) });
    const w = mountWith(ApprovalPanel, client, { id: REQUEST_ID });
    await settle(w);
    await askKeepThenYes(w, 'approval-cancel', `Cancel request ${REQUEST_ID}?`, () => client.inputsOf('approvals.cancel'));
    expect(client.inputsOf('approvals.cancel')).toEqual([{ id: REQUEST_ID }]);
    expect(focused()).toBe('approval-notice');
    w.unmount();
  });

  it("a key's deletion asks first, from the button and from Enter in the days field; yes schedules it", async () => {
    const client = fakeClient({ 'keys.show': () => keyDetail('Enabled'), 'keys.scheduleDeletion': () => ({ applied: true, keyId: KEY_ID }) as never });
    const w = mountWith(KeyDetailView, client, { keyId: KEY_ID });
    await settle(w);
    await w.get('#key-days').setValue('9');
    // Enter in the field submits the form, whose submit button only asks.
    await w.get('#key-days').trigger('keydown', { key: 'Enter' });
    await w.get('form.inline-form').trigger('submit');
    await settle(w);
    expect(client.inputsOf('keys.scheduleDeletion')).toEqual([]);
    await askKeepThenYes(w, 'key-schedule-deletion', 'Schedule the deletion of this key in 9 days?', () => client.inputsOf('keys.scheduleDeletion'));
    expect(client.inputsOf('keys.scheduleDeletion')).toEqual([{ keyId: KEY_ID, pendingWindowInDays: 9 }]);
    w.unmount();
  });

  it('removing an HSM asks first, naming it; yes removes it and focus goes to what it did', async () => {
    let hsms = [hsmView()];
    const client = fakeClient({
      'hsms.list': () => ({ hsms }),
      'xks.stores.list': () => ({ stores: [] }),
      'devices.list': () => ({ tokens: [], problems: [], checkedAt: '2026-12-06T09:00:00.000Z' }),
      'hsms.remove': (i) => {
        hsms = [];
        return { applied: true, removed: i.hsmId };
      },
    });
    const w = mountWith(HsmsView, client);
    await settle(w);
    expect(byTestId(w, 'hsm-remove').attributes('aria-label')).toBe(`Remove ${HSM_ID}`);
    await askKeepThenYes(w, 'hsm-remove', `Remove ${HSM_ID}?`, () => client.inputsOf('hsms.remove'));
    expect(client.inputsOf('hsms.remove')).toEqual([{ hsmId: HSM_ID }]);
    expect(focused()).toBe('change-done');
    w.unmount();
  });

  it.each([
    ['hsms.remove', 'Remove the HSM?', (w: VueWrapper) => byTestId(w, 'keystore-hsm').setValue(HSM_ID)],
    ['xks.stores.delete', 'Delete the store?', (w: VueWrapper) => byTestId(w, 'keystore-store').setValue(STORE_ID)],
    [
      'xks.credentials.delete',
      'Delete the credential?',
      async (w: VueWrapper) => {
        await byTestId(w, 'keystore-store').setValue(STORE_ID);
        await settle(w);
        await byTestId(w, 'keystore-credential').setValue(XKS_ACCESS_KEY_ID);
      },
    ],
    [
      'xks.keys.delete',
      'Delete the key?',
      async (w: VueWrapper) => {
        await byTestId(w, 'keystore-store').setValue(STORE_ID);
        await settle(w);
        await byTestId(w, 'keystore-key').setValue(EXTERNAL_KEY_ID);
      },
    ],
  ] as const)('the key store ceremony asks before %s', async (action, question, fill) => {
    const client = fakeClient({
      'hsms.list': () => ({ hsms: [hsmView()] }),
      'xks.stores.list': () => ({ stores: [xksStore()] }),
      'xks.credentials.list': () => ({ credentials: [xksCredential(), xksCredential({ accessKeyId: 'KURAXKSZYXWVUTSRQPONMLKJI' })] }),
      'xks.keys.list': () => ({ keys: [xksKey()] }),
      'hsms.remove': (i) => ({ applied: true, removed: i.hsmId }),
      'xks.stores.delete': (i) => ({ applied: true, deleted: i.storeId }),
      'xks.credentials.delete': (i) => ({ applied: true, deleted: i.accessKeyId }),
      'xks.keys.delete': (i) => ({ applied: true, deleted: i.externalKeyId }),
    });
    const w = mountWith(KeyStoreCeremonyView, client);
    await settle(w);
    await byTestId(w, `keystore-action-${action}`).setValue(true);
    await byTestId(w, 'keystore-next').trigger('click');
    await settle(w);
    await fill(w);
    await settle(w);
    await askKeepThenYes(w, 'keystore-submit', question, () => client.inputsOf(action));
    expect(client.inputsOf(action)).toHaveLength(1);
    expect(w.get('[aria-current="step"]').attributes('data-testid')).toBe('step-done');
    w.unmount();
  });
});
