// The HSM key store's blob keys per epoch (main/keystores/hsm/blob-keys.ts), as logic over a fake login
// session: one header nonce per material for an epoch (a bounded count of blobs, a bounded time), one
// derivation per epoch and input however many calls ask at once, the least recently used key destroyed
// beyond the bound, a material's keys destroyed with it, and every handle forgotten when the login ends.
// On SoftHSM2 and NSS the contract suite (softhsm.test.ts, nss.test.ts) runs the store that uses it.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Pkcs11CallError, type Pkcs11Session } from '../../../main/devices/pkcs11/index.js';
import type { Handle } from 'pkcs11js';
import { BlobKeys, EPOCH_MS } from '../../../main/keystores/hsm/blob-keys.js';

const BASE_A = Buffer.from([7]);
const BASE_B = Buffer.from([8]);

function fakeLogin() {
  const destroyed: Handle[] = [];
  const login = { destroySessionKey: (h: Handle) => destroyed.push(h) } as unknown as Pkcs11Session;
  let next = 100;
  const derived: string[] = [];
  const derive = async (_login: Pkcs11Session, base: Handle, input: Buffer): Promise<Handle> => {
    derived.push(`${base.toString('hex')}:${input.toString('hex')}`);
    await new Promise((r) => setTimeout(r, 1));
    return Buffer.from([next++]);
  };
  return { login, destroyed, derived, derive };
}

describe('blob keys per epoch', () => {
  it('hands out one nonce per material for an epoch of blobs, then a fresh one', () => {
    let now = 0;
    const { login } = fakeLogin();
    const keys = new BlobKeys({ login, nowMs: () => now, epochBlobs: 3 });
    const a = [keys.nonce('aa', 32), keys.nonce('aa', 32), keys.nonce('aa', 32)];
    expect(new Set(a.map((n) => n.toString('hex'))).size).toBe(1);
    expect(a[0]).toHaveLength(32);
    const fourth = keys.nonce('aa', 32);
    expect(fourth.equals(a[0]!)).toBe(false);
    // Another material has its own epoch.
    expect(keys.nonce('bb', 32).equals(fourth)).toBe(false);
    // Time ends an epoch too.
    now += EPOCH_MS;
    expect(keys.nonce('aa', 32).equals(fourth)).toBe(false);
  });

  it('derives once per material and input, even for calls that ask at the same time', async () => {
    const { login, derived, derive } = fakeLogin();
    const keys = new BlobKeys({ login });
    const input = randomBytes(32);
    const handles = await Promise.all(Array.from({ length: 10 }, () => keys.get('aa', BASE_A, input, derive)));
    expect(new Set(handles).size).toBe(1);
    expect(derived).toHaveLength(1);
    expect(await keys.get('aa', BASE_A, input, derive)).toBe(handles[0]);
    await keys.get('aa', BASE_A, randomBytes(32), derive);
    await keys.get('bb', BASE_B, input, derive);
    expect(derived).toHaveLength(3);
    expect(keys.size).toBe(3);
  });

  it('keeps half its keys, and derives once more, when the token is out of memory for them; then stays at that size', async () => {
    const { login, destroyed, derive } = fakeLogin();
    const keys = new BlobKeys({ login });
    for (let i = 0; i < 40; i++) await keys.get('aa', BASE_A, randomBytes(32), derive);
    let full = true;
    const tight = async (l: Pkcs11Session, base: Handle, input: Buffer): Promise<Handle> => {
      if (full) {
        full = false;
        throw new Pkcs11CallError('C_DeriveKey', 0x31);
      }
      return derive(l, base, input);
    };
    const h = await keys.get('aa', BASE_A, randomBytes(32), tight);
    expect(h).toBeInstanceOf(Buffer);
    // 40 kept: 20 destroyed to make room, and the new key, beyond the new bound, pushes out one more.
    expect(destroyed).toHaveLength(21);
    expect(keys.size).toBe(20);
    for (let i = 0; i < 10; i++) await keys.get('aa', BASE_A, randomBytes(32), derive);
    expect(keys.size).toBe(20);
  });

  it('passes on a token out of memory that has few keys of Kura\'s to give back', async () => {
    const { login, derive } = fakeLogin();
    const keys = new BlobKeys({ login });
    await keys.get('aa', BASE_A, randomBytes(32), derive);
    const full = () => Promise.reject(new Pkcs11CallError('C_DeriveKey', 0x31));
    await expect(keys.get('aa', BASE_A, randomBytes(32), full)).rejects.toMatchObject({ meaning: 'device-memory' });
    expect(keys.size).toBe(1);
  });

  it('destroys the least recently used key beyond its bound', async () => {
    const { login, destroyed, derive } = fakeLogin();
    const keys = new BlobKeys({ login, maxKeys: 2 });
    const [i1, i2, i3] = [randomBytes(32), randomBytes(32), randomBytes(32)];
    const h1 = await keys.get('aa', BASE_A, i1, derive);
    const h2 = await keys.get('aa', BASE_A, i2, derive);
    await keys.get('aa', BASE_A, i1, derive); // i1 is now the most recently used
    await keys.get('aa', BASE_A, i3, derive);
    await new Promise((r) => setTimeout(r, 5));
    expect(destroyed).toEqual([h2]);
    expect(keys.size).toBe(2);
    expect(await keys.get('aa', BASE_A, i1, derive)).toBe(h1);
  });

  it('destroys a material\'s keys with it; the end of the login forgets every handle without touching the session', async () => {
    const { login, destroyed, derive, derived } = fakeLogin();
    const keys = new BlobKeys({ login });
    const ha = await keys.get('aa', BASE_A, randomBytes(32), derive);
    await keys.get('bb', BASE_B, randomBytes(32), derive);
    const nonce = keys.nonce('aa', 32);
    keys.drop('aa');
    await new Promise((r) => setTimeout(r, 5));
    expect(destroyed).toEqual([ha]);
    expect(keys.nonce('aa', 32).equals(nonce)).toBe(false);
    keys.clear();
    expect(keys.size).toBe(0);
    expect(destroyed).toEqual([ha]);
    // A failed derivation is not kept: the next call derives again.
    const failing = async () => Promise.reject(new Error('token gone'));
    const input = randomBytes(32);
    await expect(keys.get('aa', BASE_A, input, failing)).rejects.toThrow('token gone');
    await keys.get('aa', BASE_A, input, derive);
    expect(derived).toHaveLength(3);
  });

  it('a derivation overtaken by its material\'s destruction or the end of the login is not cached', async () => {
    const { login, destroyed, derive, derived } = fakeLogin();
    const keys = new BlobKeys({ login });
    const input = randomBytes(32);
    // Destroyed while its key was being derived: the key is destroyed too, and a later call derives anew.
    const inFlight = keys.get('aa', BASE_A, input, derive);
    keys.drop('aa');
    const h = await inFlight;
    await new Promise((r) => setTimeout(r, 5));
    expect(keys.size).toBe(0);
    expect(destroyed).toEqual([h]);
    // The login ended while a key was being derived: its handle is forgotten, not destroyed (it went with the session).
    const beforeEnd = keys.get('bb', BASE_B, input, derive);
    keys.clear();
    await beforeEnd;
    await new Promise((r) => setTimeout(r, 5));
    expect(keys.size).toBe(0);
    expect(destroyed).toEqual([h]);
    expect(derived).toHaveLength(2);
  });
});
