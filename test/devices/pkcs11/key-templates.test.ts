// The templates of the keys Kura makes on a token (main/devices/pkcs11/session.ts), checked on the real
// SoftHSM2 and NSS softokn: a token key cannot be given another use after it is made, neither in place
// (C_SetAttributeValue: CKA_MODIFIABLE false) nor on a copy (C_CopyObject: CKA_COPYABLE false where the
// module knows it), and a per-blob key derived on the token can do nothing but encrypt and decrypt.
// PKCS #11 leaves CKA_MODIFIABLE and CKA_COPYABLE true unless the template says otherwise, and SoftHSM
// makes a derived key that can wrap, unwrap, sign and verify unless told not to.
import pkcs11js from 'pkcs11js';
import { afterAll, describe, expect, it } from 'vitest';
import { findToken, Pkcs11Module, Pkcs11Session } from '../../../main/devices/pkcs11/index.js';
import { nssDatabase, softHsm } from '../../support/tokens.js';

const env = softHsm();
const softToken = env.makeToken('templates');
const db = nssDatabase();
afterAll(() => {
  env.cleanup();
  db.cleanup();
});

/**
 * A logged-in session on a token, and a pkcs11js handle on the same library (in this process, so it shares
 * the module's state and the login): what someone holding the PIN can do with Kura's keys.
 */
async function onToken<T>(
  config: { modulePath: string; libraryParameters?: string; label: string; pin: string },
  fn: (s: Pkcs11Session, raw: { api: pkcs11js.PKCS11; session: Buffer }) => Promise<T>,
): Promise<T> {
  const module = await Pkcs11Module.acquire({ modulePath: config.modulePath, libraryParameters: config.libraryParameters });
  const token = (await findToken(module, config.label))!;
  const handle = await module.openSession(token.slot);
  const api = new pkcs11js.PKCS11();
  api.load(module.path);
  try {
    await token.login(handle, config.pin);
    return await fn(new Pkcs11Session(token, handle), { api, session: handle });
  } finally {
    await token.logout(handle);
    await module.closeSession(handle);
    await module.release();
  }
}

const refused = (call: () => unknown): boolean => {
  try {
    call();
    return false;
  } catch {
    return true;
  }
};

const tokens = [
  { name: 'SoftHSM2', config: () => ({ modulePath: env.modulePath, label: softToken.label, pin: softToken.pin }) },
  { name: 'NSS softokn', config: () => ({ modulePath: db.modulePath, libraryParameters: db.libraryParameters, label: db.tokenLabel, pin: db.pin }) },
];

describe.each(tokens)('key templates on $name', ({ config }) => {
  it('makes a blob token key that nobody holding the PIN can turn into an encryption key', async () => {
    await onToken(config(), async (s, raw) => {
      const key = await s.generateAesKey('kura:templates', Buffer.from('00112233445566778899aabbccddeeff', 'hex'));
      expect(await s.readAttributes(key)).toMatchObject({ encrypt: false, derive: true, modifiable: false });
      expect(refused(() => raw.api.C_SetAttributeValue(raw.session, key, [{ type: pkcs11js.CKA_ENCRYPT, value: true }]))).toBe(true);
      expect((await s.readAttributes(key)).encrypt).toBe(false);
      await s.destroyObject(key);
    });
  });

  it('makes a root key sealing key whose uses cannot be widened', async () => {
    await onToken(config(), async (s, raw) => {
      const key = await s.generateSealingKey('kura-root-wrap:templates', Buffer.from('ffeeddccbbaa99887766554433221100', 'hex'));
      expect(await s.readAttributes(key)).toMatchObject({ encrypt: true, derive: false, wrap: false, modifiable: false });
      expect(refused(() => raw.api.C_SetAttributeValue(raw.session, key, [{ type: pkcs11js.CKA_DERIVE, value: true }]))).toBe(true);
      expect(refused(() => raw.api.C_SetAttributeValue(raw.session, key, [{ type: pkcs11js.CKA_WRAP, value: true }]))).toBe(true);
      await s.destroyObject(key);
    });
  });
});

describe('key templates on SoftHSM2 (which knows CKA_COPYABLE)', () => {
  it('makes token keys that cannot be copied, even unchanged', async () => {
    await onToken(tokens[0]!.config(), async (s, raw) => {
      const key = await s.generateAesKey('kura:copy', Buffer.from('0102030405060708090a0b0c0d0e0f10', 'hex'));
      const [copyable] = raw.api.C_GetAttributeValue(raw.session, key, [{ type: pkcs11js.CKA_COPYABLE }]);
      expect(copyable!.value).toEqual(Buffer.of(0));
      expect(refused(() => raw.api.C_CopyObject(raw.session, key, [{ type: pkcs11js.CKA_TOKEN, value: false }]))).toBe(true);
      await s.destroyObject(key);
    });
  });

  it('derives per-blob keys that only encrypt and decrypt, and cannot be changed', async () => {
    await onToken(tokens[0]!.config(), async (s, raw) => {
      const base = await s.generateAesKey('kura:blob', Buffer.from('1112131415161718191a1b1c1d1e1f20', 'hex'));
      const blobKey = await s.deriveBlobKey(base, Buffer.alloc(32, 7));
      expect(await s.readAttributes(blobKey)).toMatchObject({
        token: false,
        sensitive: true,
        extractable: false,
        encrypt: true,
        decrypt: true,
        derive: false,
        wrap: false,
        unwrap: false,
        sign: false,
        verify: false,
        modifiable: false,
      });
      expect(refused(() => raw.api.C_SetAttributeValue(raw.session, blobKey, [{ type: pkcs11js.CKA_WRAP, value: true }]))).toBe(true);
      await s.destroyObject(blobKey);
      await s.destroyObject(base);
    });
  });
});
