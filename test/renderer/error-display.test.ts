// @vitest-environment happy-dom
// Every way the console shows that something failed or waits: ErrorNotice for each kind of error (the
// appliance's code and message, a key file the console refused, a ceremony that ended without running,
// an unexpected Error, a thrown non-Error) and never raw JSON; GatedNotice for a change that became an
// approval request; the ceremony's on-line warning; and the screens' own error displays — sign-in
// (which also empties the passphrase), unseal (which empties the shares), a key change refused, and an
// approval's one-time answer (forgotten when hidden or when the panel goes).
import { flushPromises } from '@vue/test-utils';
import { getActivePinia } from 'pinia';
import { describe, expect, it } from 'vitest';
import ApprovalPanel from '../../renderer/components/ApprovalPanel.vue';
import ErrorNotice from '../../renderer/components/ErrorNotice.vue';
import GatedNotice from '../../renderer/components/GatedNotice.vue';
import OfflineIndicator from '../../renderer/components/OfflineIndicator.vue';
import { CommandError } from '../../renderer/client/types.js';
import { KeyFileError } from '../../renderer/lib/key-file.js';
import { CeremonyError } from '../../renderer/stores/ceremony.js';
import { useNetworkStore } from '../../renderer/stores/network.js';
import KeyDetailView from '../../renderer/views/KeyDetailView.vue';
import SealView from '../../renderer/views/SealView.vue';
import SignInView from '../../renderer/views/SignInView.vue';
import { approval, KEY_ID, keyDetail, REQUEST_ID } from './fixtures.js';
import { fakeClient, mountWith, refuse, settle, valueOf } from './support.js';

const shown = (w: ReturnType<typeof mountWith>) => ({ code: w.get('[data-testid="error-code"]').text(), message: w.get('[data-testid="error-message"]').text() });

describe('ErrorNotice', () => {
  it.each([
    ['an appliance error', new CommandError('InvalidState', 'Approval request apr-… is EXECUTED: it takes no more approvals.', 409), 'InvalidState', 'Approval request apr-… is EXECUTED: it takes no more approvals.'],
    ['a refused key file', new KeyFileError('This is a public key: choose your private key file.'), 'KeyFile', 'This is a public key: choose your private key file.'],
    ['a ceremony that ended', new CeremonyError('RequestCancelled', 'Approval request apr-1 was cancelled.'), 'RequestCancelled', 'Approval request apr-1 was cancelled.'],
    ['an unexpected Error', new TypeError('x is undefined'), 'TypeError', 'x is undefined'],
    ['a plain Error', new Error('went wrong'), 'ConsoleError', 'went wrong'],
    ['a thrown object', { error: 'Internal', nested: { secret: 1 } }, 'ConsoleError', 'Something failed in the console; reload the page and try again.'],
  ])('shows %s by its code and message, as an alert', (_name, error, code, message) => {
    const w = mountWith(ErrorNotice, fakeClient(), { error, title: 'Not done' });
    expect(w.get('[role="alert"]').text()).toContain('Not done');
    expect(shown(w)).toEqual({ code, message });
    expect(w.text()).not.toMatch(/[{}]/);
    w.unmount();
  });

  it('shows nothing without an error', () => {
    for (const error of [null, undefined]) {
      const w = mountWith(ErrorNotice, fakeClient(), { error });
      expect(w.find('[role="alert"]').exists()).toBe(false);
      w.unmount();
    }
  });
});

describe('GatedNotice and the ceremony warning', () => {
  it('names the request a gated change became, who must approve, and links to it', () => {
    const w = mountWith(GatedNotice, fakeClient(), { request: approval({ actionClass: 'key-deletion' }) });
    expect(w.text()).toContain('needs the approval of 2 of alice, bob, carol (quorum class key-deletion)');
    expect(w.get('[data-testid="gated-link"]').attributes('href')).toBe(`#/approvals/${REQUEST_ID}`);
    w.unmount();
  });

  it('warns during a ceremony while a network interface is up, and says off-line otherwise', async () => {
    let offline = false;
    const client = fakeClient({ 'network.status': () => ({ offline, interfaces: offline ? [] : [{ name: 'eth0', address: '10.0.0.5', family: 'IPv4' }] }) });
    const w = mountWith(OfflineIndicator, client, { ceremony: true });
    const network = useNetworkStore();
    await network.poll();
    await flushPromises();
    expect(w.get('[data-testid="online-warning"]').attributes('role')).toBe('alert');
    expect(w.get('[data-testid="online-warning"]').text()).toContain('eth0 (10.0.0.5)');
    offline = true;
    await network.poll();
    await flushPromises();
    expect(w.find('[data-testid="online-warning"]').exists()).toBe(false);
    expect(w.get('[data-testid="offline-ok"]').text()).toContain('Off-line');
    w.unmount();
  });
});

describe("the screens' error displays", () => {
  it('sign-in shows a refusal with its code and message and empties the passphrase whatever the answer', async () => {
    const client = fakeClient({ 'session.login': () => refuse('AccessDenied', 'The operator name or passphrase is wrong.', 403) });
    const w = mountWith(SignInView, client);
    await w.get('[data-testid="signin-operator"]').setValue('alice');
    await w.get('[data-testid="signin-passphrase"]').setValue('not the right one!');
    await w.get('form').trigger('submit');
    await settle(w);
    expect(shown(w)).toEqual({ code: 'AccessDenied', message: 'The operator name or passphrase is wrong.' });
    expect(valueOf(w.get('[data-testid="signin-passphrase"]'))).toBe('');
    expect(client.inputsOf('session.login')).toEqual([{ operator: 'alice', passphrase: 'not the right one!' }]);
    w.unmount();
  });

  it('unseal shows a wrong share refused and empties the shares it sent', async () => {
    const client = fakeClient({
      status: () => ({ state: 'sealed', mode: 'shamir', threshold: 2, shares: 3, progress: 0, applianceId: 'app-1', version: '0.1.0' }),
      unseal: () => refuse('Validation', 'That share is not one of this appliance\'s.', 400),
    });
    const w = mountWith(SealView, client);
    await settle(w);
    expect(w.get('[data-testid="seal-state"]').text()).toBe('sealed');
    await w.get('#unseal-shares').setValue('kura-share-1-abc\n\nkura-share-2-def\n');
    await w.get('form').trigger('submit');
    await settle(w);
    expect(client.inputsOf('unseal')).toEqual([{ shares: ['kura-share-1-abc', 'kura-share-2-def'] }]);
    expect(shown(w)).toEqual({ code: 'Validation', message: 'That share is not one of this appliance\'s.' });
    expect(valueOf(w.get('#unseal-shares'))).toBe('');
    w.unmount();
  });

  it('a key change that is refused shows its error; a gated deletion shows the request it became', async () => {
    const client = fakeClient({
      'keys.show': () => keyDetail('Enabled'),
      'keys.disable': () => refuse('KMSInvalidState', `${KEY_ID} is pending import.`, 409),
      'keys.scheduleDeletion': () => ({ applied: false, approvalRequest: approval({ action: 'kms:ScheduleKeyDeletion', actionClass: 'key-deletion' }) }),
    });
    const w = mountWith(KeyDetailView, client, { keyId: KEY_ID });
    await settle(w);
    await w.get('[data-testid="key-disable"]').trigger('click');
    await settle(w);
    expect(shown(w)).toEqual({ code: 'KMSInvalidState', message: `${KEY_ID} is pending import.` });
    await w.get('[data-testid="key-schedule-deletion"]').trigger('click');
    await w.get('[data-testid="key-schedule-deletion-confirm"]').trigger('click');
    await settle(w);
    expect(client.inputsOf('keys.scheduleDeletion')).toEqual([{ keyId: KEY_ID, pendingWindowInDays: 30 }]);
    expect(w.find('[data-testid="error"]').exists()).toBe(false);
    expect(w.get('[data-testid="gated"]').text()).toContain('quorum class key-deletion');
    w.unmount();
  });

  it("an approval panel shows a refused cancel, and an executed command's answer once, with a warning, until hidden", async () => {
    const client = fakeClient({
      'approvals.show': () => approval({ status: 'EXECUTED', hasResult: true, action: 'kura:credentials.create' }),
      'approvals.result': () => ({ id: REQUEST_ID, action: 'kura:credentials.create', result: { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 's3cr3t' } }),
    });
    const w = mountWith(ApprovalPanel, client, { id: REQUEST_ID });
    await settle(w);
    expect(w.find('[data-testid="approval-cancel"]').exists()).toBe(false);
    expect(w.get('[data-testid="approval-transcript"]').attributes('href')).toBe(`#/transcripts/${REQUEST_ID}`);
    await w.get('[data-testid="approval-take-result"]').trigger('click');
    await settle(w);
    expect(w.get('[data-testid="secret-once"]').text()).toContain('Kura will not show this again');
    expect(w.get('[data-testid="secret-once"]').text()).toContain('s3cr3t');
    expect(w.find('[data-testid="approval-take-result"]').exists()).toBe(false);
    await w.get('[data-testid="secret-dismiss"]').trigger('click');
    expect(w.text()).not.toContain('s3cr3t');
    w.unmount();

    // Taken and not hidden: leaving the panel forgets it all the same.
    const leaving = mountWith(ApprovalPanel, client, { id: REQUEST_ID });
    await settle(leaving);
    await leaving.get('[data-testid="approval-take-result"]').trigger('click');
    await settle(leaving);
    expect(leaving.get('[data-testid="secret-once"]').text()).toContain('s3cr3t');
    leaving.unmount();
    expect(JSON.stringify(getActivePinia()!.state.value)).not.toContain('s3cr3t');

    const refusing = fakeClient({ 'approvals.show': () => approval(), 'approvals.cancel': () => refuse('AccessDenied', 'Only alice, who asked for it, or the administrator can cancel it.', 403) });
    const p = mountWith(ApprovalPanel, refusing, { id: REQUEST_ID });
    await settle(p);
    await p.get('[data-testid="approval-cancel"]').trigger('click');
    await p.get('[data-testid="approval-cancel-confirm"]').trigger('click');
    await settle(p);
    expect(shown(p)).toEqual({ code: 'AccessDenied', message: 'Only alice, who asked for it, or the administrator can cancel it.' });
    p.unmount();
  });

  it('a request that cannot be read says so', async () => {
    const w = mountWith(ApprovalPanel, fakeClient({ 'approvals.show': () => refuse('NotFound', `There is no approval request ${REQUEST_ID}.`, 404) }), { id: REQUEST_ID });
    await settle(w);
    expect(shown(w)).toEqual({ code: 'NotFound', message: `There is no approval request ${REQUEST_ID}.` });
    w.unmount();
  });
});
