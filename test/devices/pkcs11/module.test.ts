// Modules on the real SoftHSM2 and NSS softokn (main/devices/pkcs11/module.ts, token.ts): one shared,
// reference-counted module per library file, NSS library parameters passed whole (pkcs11js drops their
// last character; the module layer pads them), and a rescan that finds a token made after
// C_Initialize only while no session is open.
import { afterAll, describe, expect, it } from 'vitest';
import { findToken, Pkcs11Module } from '../../../main/devices/pkcs11/index.js';
import { nssDatabase, softHsm } from '../../support/tokens.js';

const env = softHsm();
const db = nssDatabase();
afterAll(() => {
  env.cleanup();
  db.cleanup();
});

describe('Pkcs11Module', () => {
  it('gives NSS its library parameters whole (a path as the last character survives pkcs11js)', async () => {
    // Ends with the directory's last character: the string pkcs11js would have cut.
    const m = await Pkcs11Module.acquire({ modulePath: db.modulePath, libraryParameters: `configdir=sql:${db.dir}` });
    try {
      expect(m.vendor.name).toBe('NSS');
      expect((await (await findToken(m, db.tokenLabel))?.describe())?.userPinInitialized).toBe(true);
      await expect(Pkcs11Module.acquire({ modulePath: db.modulePath, libraryParameters: db.libraryParameters })).rejects.toThrow(/other library parameters/);
    } finally {
      await m.release();
    }
    // Released to zero: finalized, so another configuration may initialise it.
    const again = await Pkcs11Module.acquire({ modulePath: db.modulePath, libraryParameters: db.libraryParameters });
    expect(await findToken(again, db.tokenLabel)).toBeDefined();
    await again.release();
  });

  it('shares one module per file between leases, and rescans for new tokens only while no session is open', async () => {
    env.makeToken('first');
    const a = await Pkcs11Module.acquire({ modulePath: env.modulePath });
    const b = await Pkcs11Module.acquire({ modulePath: '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so' });
    try {
      expect(a.path).toBe(b.path);
      expect(a.vendor.name).toBe('SoftHSM');
      const first = await findToken(a, ' first ');
      expect(first?.label).toBe('first');
      const session = await a.openSession(first!.slot);
      expect(b.openSessions).toBe(1);
      env.makeToken('second');
      expect(await findToken(b, 'second')).toBeUndefined();
      await a.closeSession(session);
      expect((await (await findToken(b, 'second'))?.describe())?.label).toBe('second');
      await a.release();
      // b still holds the module: it stays initialised.
      expect(await findToken(b, 'first')).toBeDefined();
    } finally {
      await a.release();
      await b.release();
    }
  });

  it('runs a software token the vendor table knows in this process, after a host process said what it is', async () => {
    const m = await Pkcs11Module.acquire({ modulePath: env.modulePath });
    try {
      expect(m.hostPid).toBeUndefined();
      expect(m.description.manufacturerId).toMatch(/^SoftHSM/);
    } finally {
      await m.release();
    }
  });

  it('leases a library one caller at a time: concurrent first leases load it once', async () => {
    const leases = await Promise.all(Array.from({ length: 5 }, () => Pkcs11Module.acquire({ modulePath: env.modulePath })));
    try {
      const t = await findToken(leases[0]!, 'first');
      const session = await leases[0]!.openSession(t!.slot);
      // One module behind every lease: each counts the session the first opened.
      expect(leases.map((l) => l.openSessions)).toEqual([1, 1, 1, 1, 1]);
      await leases[0]!.closeSession(session);
    } finally {
      for (const l of leases) await l.release();
    }
  });
});
