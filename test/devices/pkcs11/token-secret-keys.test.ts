// Pkcs11Session.tokenSecretKeys against a stand-in module: what the orphan scan at a connect
// (kms/custom-key-stores.ts reportOrphans) reads of a token it shares with other programs.
import pkcs11js, { type Handle } from 'pkcs11js';
import { expect, it } from 'vitest';
import { Pkcs11CallError } from '../../../main/devices/pkcs11/errors.js';
import { Pkcs11Session } from '../../../main/devices/pkcs11/session.js';
import type { Pkcs11Token } from '../../../main/devices/pkcs11/token.js';

/** A token of three secret keys; reading the attributes of object 2 fails with `rv`. */
function sessionWhereObject2Fails(rv: number): Pkcs11Session {
  const call = (name: string, _session: unknown, object: unknown): unknown => {
    if (name === 'findObjects') return [1, 2, 3];
    if (name === 'attributes') {
      if (Number(object) === 2) throw new Pkcs11CallError('C_GetAttributeValue', rv);
      return [
        { type: pkcs11js.CKA_LABEL, value: Buffer.from(`key ${String(object)}`) },
        { type: pkcs11js.CKA_ID, value: Buffer.from([Number(object)]) },
      ];
    }
    throw new Error(`unexpected ${name}`);
  };
  const token = { module: { call: async (...args: [string, unknown, unknown]) => call(...args) } } as unknown as Pkcs11Token;
  return new Pkcs11Session(token, Buffer.from([7]) as unknown as Handle);
}

it('skips a key another program destroyed between the search and the read (CKR_OBJECT_HANDLE_INVALID), and lists the others', async () => {
  const keys = await sessionWhereObject2Fails(0x82).tokenSecretKeys(10);
  expect(keys.map((k) => k.label)).toEqual(['key 1', 'key 3']);
});

it('skips a key whose label or ID its token will not give (CKR_ATTRIBUTE_SENSITIVE, CKR_ATTRIBUTE_TYPE_INVALID)', async () => {
  for (const rv of [0x11, 0x12]) expect((await sessionWhereObject2Fails(rv).tokenSecretKeys(10)).map((k) => k.label)).toEqual(['key 1', 'key 3']);
});

it('still fails on a token that fails (CKR_DEVICE_ERROR): the connect must see it', async () => {
  await expect(sessionWhereObject2Fails(0x30).tokenSecretKeys(10)).rejects.toMatchObject({ meaning: 'device-error' });
});
