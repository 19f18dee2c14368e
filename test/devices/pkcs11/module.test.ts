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
  it('gives NSS its library parameters whole (a path as the last character survives pkcs11js)', () => {
    // Ends with the directory's last character: the string pkcs11js would have cut.
    const m = Pkcs11Module.acquire({ modulePath: db.modulePath, libraryParameters: `configdir=sql:${db.dir}` });
    try {
      expect(m.vendor.name).toBe('NSS');
      expect(findToken(m, db.tokenLabel)?.describe().userPinInitialized).toBe(true);
      expect(() => Pkcs11Module.acquire({ modulePath: db.modulePath, libraryParameters: db.libraryParameters })).toThrow(/other library parameters/);
    } finally {
      m.release();
    }
    // Released to zero: finalized, so another configuration may initialise it.
    const again = Pkcs11Module.acquire({ modulePath: db.modulePath, libraryParameters: db.libraryParameters });
    expect(findToken(again, db.tokenLabel)).toBeDefined();
    again.release();
  });

  it('shares one module per file between leases, and rescans for new tokens only while no session is open', () => {
    env.makeToken('first');
    const a = Pkcs11Module.acquire({ modulePath: env.modulePath });
    const b = Pkcs11Module.acquire({ modulePath: '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so' });
    try {
      expect(a.path).toBe(b.path);
      expect(a.vendor.name).toBe('SoftHSM');
      const first = findToken(a, ' first ');
      expect(first?.label).toBe('first');
      const session = a.openSession(first!.slot);
      expect(b.openSessions).toBe(1);
      env.makeToken('second');
      expect(findToken(b, 'second')).toBeUndefined();
      a.closeSession(session);
      expect(findToken(b, 'second')?.describe().label).toBe('second');
      a.release();
      // b still holds the module: it stays initialised.
      expect(findToken(b, 'first')).toBeDefined();
    } finally {
      a.release();
      b.release();
    }
  });
});
