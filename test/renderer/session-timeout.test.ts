// @vitest-environment happy-dom
// The session's idle clock in the console (renderer/client/activity.ts, stores/session.ts): the same
// times as the appliance's sign-in, every answered command a use except the background polls (which the
// appliance does not count either), and a refusal for want of a session no use at all; and the cap on a
// session's life, which a page loaded after sign-in learns from the appliance.
import { flushPromises } from '@vue/test-utils';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BACKGROUND, lastUse, tracked } from '../../renderer/client/activity.js';
import SessionTimeout from '../../renderer/components/SessionTimeout.vue';
import { SESSION_IDLE_MS, SESSION_MAX_MS, useSessionStore } from '../../renderer/stores/session.js';
import { SESSION_IDLE_MS as APPLIANCE_IDLE_MS, SESSION_MAX_MS as APPLIANCE_MAX_MS } from '../../main/ceremony/sign-in.js';
import { COMMANDS, isBackgroundCommand } from '../../main/console/commands.js';
import { fakeClient, mountWith, refuse } from './support.js';

describe('the session idle clock', () => {
  it('has the appliance\'s times', () => {
    expect(SESSION_IDLE_MS).toBe(APPLIANCE_IDLE_MS);
    expect(SESSION_MAX_MS).toBe(APPLIANCE_MAX_MS);
  });

  it('counts what the appliance counts as a use', async () => {
    const client = tracked(
      fakeClient({
        'network.status': () => ({ offline: true, interfaces: [] }),
        'devices.list': () => ({ tokens: [], problems: [], checkedAt: '2026-12-06T08:00:00.000Z' }) as never,
        'approvals.list': () => ({ approvals: [] }),
        'keys.show': () => refuse('NotFoundException', 'no such key'),
        'session.show': () => refuse('AccessDenied', 'Sign in first.', 403),
      }),
    );
    expect([...BACKGROUND].sort()).toEqual(Object.keys(COMMANDS).filter(isBackgroundCommand).sort());
    lastUse.value = 0;
    await client.run('network.status', {});
    await client.run('devices.list', {});
    expect(lastUse.value).toBe(0);
    await client.run('session.show', {}).catch(() => undefined);
    expect(lastUse.value).toBe(0);
    await client.run('approvals.list', {});
    const used = lastUse.value;
    expect(used).toBeGreaterThan(0);
    lastUse.value = 0;
    // A refusal the appliance gave as the session's (the key does not exist) was a use.
    await client.run('keys.show', { keyId: 'k' } as never).catch(() => undefined);
    expect(lastUse.value).toBeGreaterThan(0);
  });
});

describe("the session's cap", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('warns before the cap after a reload: its end comes from the appliance, not from the page', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'setInterval', 'clearInterval'] });
    // A page opened 7 h 57 min into a session (a reload): the appliance says 3 minutes are left.
    const client = fakeClient({ 'session.show': () => ({ operator: 'alice', expiresAt: '2030-01-01T00:03:00.000Z', endsInMs: 3 * 60_000 }) });
    const w = mountWith(SessionTimeout, client);
    const session = useSessionStore();
    await session.restore();
    expect(session.operator).toBe('alice');
    // Well within the 15 idle minutes, the cap is what ends it: the warning comes a minute from now.
    vi.advanceTimersByTime(59_000);
    await flushPromises();
    expect(w.find('[data-testid="session-warning"]').exists()).toBe(false);
    vi.advanceTimersByTime(2_000);
    await flushPromises();
    expect(w.find('[data-testid="session-warning"]').exists()).toBe(true);
    expect(w.get('[data-testid="session-left"]').text()).toMatch(/^1:5\d$/);
    // No use extends the cap: the warning says so and offers no "Stay signed in"; Escape puts it away…
    expect(w.get('[data-testid="session-warning"]').text()).toContain('8-hour limit');
    expect(w.find('[data-testid="session-stay"]').exists()).toBe(false);
    await w.get('[data-testid="session-dismiss"]').trigger('keydown', { key: 'Escape' });
    expect(w.find('[data-testid="session-warning"]').exists()).toBe(false);
    // …and at the end the console signs out, saying it was the limit, not idleness.
    vi.advanceTimersByTime(2 * 60_000);
    await flushPromises();
    expect(session.operator).toBeNull();
    expect(session.timedOut).toBe('cap');
    w.unmount();
  });
});
