// An external key store whose stored XksProxyUriEndpoint is an IP address: one made before Kura refused
// them (kms/external-key-stores.ts checkXksSettings). An UpdateCustomKeyStore that does not change the
// endpoint (a new name, a rotated credential) must still be taken; setting an IP address is refused.
import { afterEach, expect, it } from 'vitest';
import { kmsError, openDomain, type Domain } from '../../support/domain.js';

let d: Domain | undefined;
afterEach(async () => {
  await d?.close();
  d = undefined;
});

const CREDENTIAL = { accessKeyId: 'XKSAAAAAAAAAAAAAAAAAAAAA', rawSecretAccessKey: 'a'.repeat(43) };

it('renames a store whose stored endpoint is an IP address (the update leaves the endpoint alone); refuses to set one', async () => {
  d = await openDomain();
  const dom = d;
  // As a store made before the rule was stored (its sealed secret is not opened by an update).
  const id = 'cks-0123456789abcdef0';
  await dom.store.db.write((tx) =>
    dom.store.customKeyStores.insert(tx, {
      id,
      accountId: '111122223333',
      region: 'us-east-1',
      name: 'xks',
      type: 'EXTERNAL_KEY_STORE',
      connectionState: 'DISCONNECTED',
      createdAt: 0,
      hsmId: null,
      config: { uriEndpoint: 'https://10.0.0.5', uriPath: '/kms/xks/v1', connectivity: 'PUBLIC_ENDPOINT', accessKeyId: CREDENTIAL.accessKeyId, secretSealed: 'not opened here', region: 'us-east-1' },
    }),
  );
  await dom.keys.updateCustomKeyStore(dom.ctx('UpdateCustomKeyStore'), { customKeyStoreId: id, newCustomKeyStoreName: 'renamed' });
  expect((await dom.store.customKeyStores.find(id))?.name).toBe('renamed');
  const refused = await kmsError(dom.keys.updateCustomKeyStore(dom.ctx('UpdateCustomKeyStore'), { customKeyStoreId: id, xksProxyUriEndpoint: 'https://10.0.0.6' }));
  expect(refused).toMatchObject({ code: 'Validation', message: expect.stringMatching(/not an IP address/) });
});
