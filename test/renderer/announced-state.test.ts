// @vitest-environment happy-dom
// State that assistive technology must be told in words or attributes, not only by colour or by a
// silent aria-busy: a ceremony step that is working says so in a status line; the request shown beside
// the approvals list is marked aria-current; the "Create a key" toggle says whether its form is open.
import { describe, expect, it } from 'vitest';
import CeremonyFrame from '../../renderer/components/CeremonyFrame.vue';
import ApprovalsView from '../../renderer/views/ApprovalsView.vue';
import KeysView from '../../renderer/views/KeysView.vue';
import { approval } from './fixtures.js';
import { fakeClient, mountWith, settle } from './support.js';

const STEPS = [
  { id: 'key', label: 'Key' },
  { id: 'parameters', label: 'Parameters' },
];

describe('state told to assistive technology', () => {
  it('says in a status line that a ceremony step is working, and stops saying it when done', async () => {
    const w = mountWith(CeremonyFrame, fakeClient(), { name: 'byok', title: 'BYOK', steps: STEPS, current: 'parameters', busy: true, error: null });
    const status = w.get('[data-testid="byok-working"]');
    expect(status.attributes('role')).toBe('status');
    expect(status.text()).toBe('Working on the parameters step…');
    await w.setProps({ busy: false });
    expect(w.get('[data-testid="byok-working"]').text()).toBe('');
    w.unmount();
  });

  it('marks the request shown beside the approvals list with aria-current, not only by its row\'s colour', async () => {
    const shown = approval();
    const other = approval({ id: 'apr-000000000000000000000002' });
    const summary = (a: typeof shown) => ({ id: a.id, action: a.action, actionClass: a.actionClass, status: a.status, approvals: 0, threshold: a.threshold, requester: a.requester, createdAt: a.createdAt, expiresAt: a.expiresAt });
    const client = fakeClient({ 'approvals.list': () => ({ approvals: [summary(shown), summary(other)] }) as never, 'approvals.show': ({ id }) => (id === shown.id ? shown : other) });
    const w = mountWith(ApprovalsView, client, { id: shown.id });
    await settle(w);
    const links = w.findAll('[data-testid="approvals-list"] a');
    expect(links.map((a) => [a.text(), a.attributes('aria-current')])).toEqual([
      [shown.id, 'true'],
      [other.id, undefined],
    ]);
    w.unmount();
  });

  it('says whether the "Create a key" form is open', async () => {
    const w = mountWith(KeysView, fakeClient({ 'keys.list': () => ({ accountId: '111122223333', region: 'us-east-1', keys: [], next: null, total: 0 }) }));
    await settle(w);
    const toggle = () => w.get('[data-testid="keys-create-open"]');
    expect(toggle().attributes('aria-expanded')).toBe('false');
    await toggle().trigger('click');
    expect(toggle().attributes('aria-expanded')).toBe('true');
    expect(w.get(`#${toggle().attributes('aria-controls')}`).attributes('data-testid')).toBe('keys-create');
    expect(toggle().text()).toContain('Create a key');
    w.unmount();
  });
});
