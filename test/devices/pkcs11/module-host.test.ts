// How a module host's start ends (main/devices/pkcs11/module-host.ts), over a launcher whose process the
// test plays, with fake timers: a host that never reports its library loaded is killed at
// HOST_START_DEADLINE_MS and fails as a token that does not answer (which connects read as
// INSUFFICIENT_CLOUDHSM_HSMS and seal mode pkcs11 as KeyUnavailable); a host that says the file is not a
// PKCS#11 library, or dies while loading it, fails as a library that cannot be used. Real hosts are
// test/keystores/hsm/device-faults.test.ts's.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Pkcs11CallError } from '../../../main/devices/pkcs11/errors.js';
import { forkHost, HOST_START_DEADLINE_MS, ModuleHost, setHostLauncher, type HostProcess } from '../../../main/devices/pkcs11/module-host.js';

interface PlayedHost extends HostProcess {
  killed: boolean;
  answer(message: unknown): void;
  exit(why: string): void;
}

function playedHost(): PlayedHost {
  let onMessage: (m: unknown) => void = () => undefined;
  let onExit: (why: string) => void = () => undefined;
  const host: PlayedHost = {
    killed: false,
    send: () => undefined,
    onMessage: (l) => void (onMessage = l),
    onExit: (l) => void (onExit = l),
    kill: () => void (host.killed = true),
    end: () => undefined,
    answer: (m) => onMessage(m),
    exit: (why) => onExit(why),
  };
  return host;
}

const failure = (p: Promise<unknown>): Promise<unknown> => p.then(() => undefined, (e: unknown) => e);

describe('a module host that is starting', () => {
  let hosts: PlayedHost[];
  beforeEach(() => {
    hosts = [];
    setHostLauncher(() => {
      const h = playedHost();
      hosts.push(h);
      return h;
    });
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
    setHostLauncher(forkHost);
  });

  it('is killed when it has not loaded its library within the start deadline, and fails as a token that does not answer', async () => {
    const started = failure(ModuleHost.start('/opt/vendor/libhang.so'));
    await vi.advanceTimersByTimeAsync(HOST_START_DEADLINE_MS - 1);
    expect(hosts[0]!.killed).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    const e = await started;
    expect(e).toBeInstanceOf(Pkcs11CallError);
    expect(e).toMatchObject({ meaning: 'token-absent', fn: 'loading /opt/vendor/libhang.so', message: expect.stringMatching(/did not load within 15 s/) });
    expect(hosts[0]!.killed).toBe(true);
  });

  it('fails as a library that cannot be used when the host says it is not a PKCS#11 module', async () => {
    const started = failure(ModuleHost.start('/opt/vendor/libnot.so'));
    hosts[0]!.answer({ started: false });
    const e = await started;
    expect(e).not.toBeInstanceOf(Pkcs11CallError);
    expect(e).toMatchObject({ message: '/opt/vendor/libnot.so cannot be used: it is not a PKCS#11 module that Kura can load.' });
  });

  it('fails as a library that cannot be used when the host dies while loading it', async () => {
    const started = failure(ModuleHost.start('/opt/vendor/libcrash.so'));
    hosts[0]!.exit('signal SIGSEGV');
    const e = await started;
    expect(e).not.toBeInstanceOf(Pkcs11CallError);
    expect((e as Error).message).toMatch(/libcrash\.so cannot be used: its host process ended \(signal SIGSEGV\)/);
  });

  it('serves once the host says it has loaded the library', async () => {
    const started = ModuleHost.start('/opt/vendor/libok.so');
    hosts[0]!.answer({ started: true, pid: 4242 });
    const host = await started;
    expect(host.stoppedBecause).toBeUndefined();
    await vi.advanceTimersByTimeAsync(HOST_START_DEADLINE_MS * 2);
    expect(hosts[0]!.killed).toBe(false);
    host.kill();
  });
});
