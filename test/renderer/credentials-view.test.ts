// @vitest-environment happy-dom
// The credentials screen's one-time secret: a credential made at once shows its secret access key once,
// held by the screen only — never by a Pinia store — and gone when dismissed or when the screen is left;
// a credential a quorum gates shows the approval request instead, and no secret.
import { createPinia } from 'pinia';
import { describe, expect, it } from 'vitest';
import CredentialsView from '../../renderer/views/CredentialsView.vue';
import { approval } from './fixtures.js';
import { doc, fakeClient, mountWith, settle } from './support.js';

const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const made = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', accountId: '444455556666', principalArn: 'arn:aws:iam::444455556666:root', description: '', createdAt: '2026-12-06T08:00:00.000Z', secretAccessKey: SECRET };

async function create(w: ReturnType<typeof mountWith>): Promise<void> {
  await w.get('#cred-account').setValue('444455556666');
  await w.get('form').trigger('submit');
  await settle(w);
}

describe('CredentialsView', () => {
  it('shows a new secret once, keeps it out of every store, and forgets it when the screen is left', async () => {
    const pinia = createPinia();
    const client = fakeClient({ 'credentials.list': () => ({ credentials: [] }), 'credentials.create': () => ({ applied: true, ...made }) });
    const w = mountWith(CredentialsView, client, {}, pinia);
    await settle(w);
    await create(w);
    expect(client.inputsOf('credentials.create')).toEqual([{ accountId: '444455556666' }]);
    expect(w.text()).toContain(SECRET);
    expect(JSON.stringify(pinia.state.value)).not.toContain(SECRET);
    w.unmount();
    const again = mountWith(CredentialsView, client, {}, pinia);
    await settle(again);
    expect(again.text()).not.toContain(SECRET);
    again.unmount();
  });

  it('a gated credential shows the approval request and no secret', async () => {
    const client = fakeClient({ 'credentials.list': () => ({ credentials: [] }), 'credentials.create': () => ({ applied: false, approvalRequest: approval({ action: 'kura:credentials.create', actionClass: 'credentials' }) }) });
    const w = mountWith(CredentialsView, client);
    await settle(w);
    await create(w);
    expect(w.text()).not.toContain(SECRET);
    expect(w.text()).toMatch(/approval/i);
    w.unmount();
  });

  it('deletes a credential only when asked twice: Delete asks, Keep keeps it, Yes deletes', async () => {
    const listed = { accessKeyId: made.accessKeyId, accountId: made.accountId, principalArn: made.principalArn, description: '', createdAt: made.createdAt };
    const client = fakeClient({ 'credentials.list': () => ({ credentials: [listed] }), 'credentials.delete': () => ({ applied: true, deleted: made.accessKeyId }) });
    const w = mountWith(CredentialsView, client);
    await settle(w);
    const del = w.get('[data-testid="credential-delete"]');
    expect(del.attributes('aria-label')).toBe(`Delete ${made.accessKeyId}`);
    await del.trigger('click');
    expect(client.inputsOf('credentials.delete')).toEqual([]);
    expect(w.text()).toContain(`Delete ${made.accessKeyId}? Clients that sign with it stop working.`);
    await w.get('[data-testid="credential-delete-keep"]').trigger('click');
    expect(w.find('[data-testid="credential-delete-confirm"]').exists()).toBe(false);
    await w.get('[data-testid="credential-delete"]').trigger('click');
    await w.get('[data-testid="credential-delete-confirm"]').trigger('click');
    await settle(w);
    expect(client.inputsOf('credentials.delete')).toEqual([{ accessKeyId: made.accessKeyId }]);
    w.unmount();
  });

  it('moves focus to Keep when Delete asks; Escape keeps the credential and gives focus back to Delete', async () => {
    const listed = { accessKeyId: made.accessKeyId, accountId: made.accountId, principalArn: made.principalArn, description: '', createdAt: made.createdAt };
    const client = fakeClient({ 'credentials.list': () => ({ credentials: [listed] }), 'credentials.delete': () => ({ applied: true, deleted: made.accessKeyId }) });
    const w = mountWith(CredentialsView, client);
    await settle(w);
    const focused = () => doc().activeElement?.getAttribute('data-testid');
    (w.get('[data-testid="credential-delete"]').element as unknown as { focus(): void }).focus();
    await w.get('[data-testid="credential-delete"]').trigger('click');
    await settle(w);
    expect(focused()).toBe('credential-delete-keep');
    await w.get('[data-testid="credential-delete-keep"]').trigger('keydown', { key: 'Escape' });
    await settle(w);
    expect(w.find('[data-testid="credential-delete-confirm"]').exists()).toBe(false);
    expect(focused()).toBe('credential-delete');
    expect(client.inputsOf('credentials.delete')).toEqual([]);
    w.unmount();
  });
});
