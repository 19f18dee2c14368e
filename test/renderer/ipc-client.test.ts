// @vitest-environment happy-dom
// The desktop transport (renderer/client/ipc.ts) over a fake `window.kura`: answers pass through as
// values, `{ok: false}` becomes a CommandError with its code and message, a bridge that throws is
// Unreachable, network pushes reach the listener, and the transport is chosen by `window.kura` being
// there.
import { afterEach, describe, expect, it } from 'vitest';
import { chooseClient } from '../../renderer/client/index.js';
import { createIpcClient, type BridgeLike } from '../../renderer/client/ipc.js';
import { CLIENT_ERROR, CommandError } from '../../renderer/client/types.js';

const g = globalThis as { kura?: unknown };

/** A `run` answering as the fake main process says (the bridge's generic type is the preload's to keep). */
const answering = (answer: (command: string) => unknown): BridgeLike['run'] => (async (command: string) => answer(command)) as unknown as BridgeLike['run'];
const ok = answering(() => ({ ok: true, status: 200, value: null }));
afterEach(() => {
  delete g.kura;
});

describe('the IPC transport', () => {
  it('passes values through, maps {ok:false} to CommandError, and remembers a sign-in without a token', async () => {
    const bridge: BridgeLike = {
      run: answering((command) =>
        command === 'session.login'
          ? { ok: true, status: 200, value: { operator: 'alice', expiresAt: '2030-01-01T00:00:00.000Z' } }
          : { ok: false, error: { code: 'AccessDenied', message: 'Sign in first: there is no console session, or it has ended.' } }),
    };
    const client = createIpcClient(bridge);
    expect(client.hasSession()).toBe(false);
    expect(await client.run('session.login', { operator: 'alice', passphrase: 'x' })).toEqual({ operator: 'alice', expiresAt: '2030-01-01T00:00:00.000Z' });
    expect(client.hasSession()).toBe(true);
    const e = await client.run('keys.list', {}).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(CommandError);
    expect([(e as CommandError).code, (e as CommandError).message]).toEqual(['AccessDenied', 'Sign in first: there is no console session, or it has ended.']);
  });

  it('calls a bridge that throws Unreachable, and one that answers nonsense BadAnswer', async () => {
    const throwing = createIpcClient({ run: answering(() => Promise.reject(new Error('channel closed'))) });
    expect(((await throwing.run('status', {}).catch((x: unknown) => x)) as CommandError).code).toBe(CLIENT_ERROR.unreachable);
    const nonsense = createIpcClient({ run: answering(() => null) });
    expect(((await nonsense.run('status', {}).catch((x: unknown) => x)) as CommandError).code).toBe(CLIENT_ERROR.badAnswer);
  });

  it('forwards network pushes and unsubscribes', () => {
    let listener: ((s: { offline: boolean; interfaces: [] }) => void) | undefined;
    const client = createIpcClient({
      run: ok,
      onNetwork: (l) => {
        listener = l as typeof listener;
        return () => (listener = undefined);
      },
    });
    const seen: boolean[] = [];
    const off = client.onNetwork!((s) => seen.push(s.offline));
    listener!({ offline: true, interfaces: [] });
    off();
    expect(seen).toEqual([true]);
    expect(listener).toBeUndefined();
  });

  it("offers the desktop's print to PDF where the bridge has it, and not otherwise", async () => {
    const asked: string[] = [];
    const client = createIpcClient({
      run: ok,
      printToPdf: async (fileName) => {
        asked.push(fileName);
        return { saved: `/home/alice/Documents/${fileName}` };
      },
    });
    expect(await client.printToPdf!('apr-1-transcript.pdf')).toEqual({ saved: '/home/alice/Documents/apr-1-transcript.pdf' });
    expect(asked).toEqual(['apr-1-transcript.pdf']);
    expect(createIpcClient({ run: ok }).printToPdf).toBeUndefined();
  });

  it('is chosen when window.kura is present; HTTP otherwise', () => {
    expect(chooseClient().transport).toBe('http');
    g.kura = { run: async () => ({ ok: true, status: 200, value: {} }) };
    expect(chooseClient().transport).toBe('ipc');
    g.kura = { notRun: true };
    expect(chooseClient().transport).toBe('http');
  });
});
