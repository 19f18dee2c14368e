// The session's idle clock in the console (renderer/client/activity.ts, stores/session.ts): the same
// times as the appliance's sign-in, every answered command a use except the background polls (which the
// appliance does not count either), and a refusal for want of a session no use at all.
import { describe, expect, it } from 'vitest';
import { BACKGROUND, lastUse, tracked } from '../../renderer/client/activity.js';
import { SESSION_IDLE_MS, SESSION_MAX_MS } from '../../renderer/stores/session.js';
import { SESSION_IDLE_MS as APPLIANCE_IDLE_MS, SESSION_MAX_MS as APPLIANCE_MAX_MS } from '../../main/ceremony/sign-in.js';
import { COMMANDS, isBackgroundCommand } from '../../main/console/commands.js';
import { fakeClient, refuse } from './support.js';

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
