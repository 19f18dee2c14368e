// The contract of XksRepository (main/store/repositories.ts), which any implementation passes: XKS proxy
// stores found by ID and by URI path prefix, listed oldest first; a prefix served once; a store on an HSM
// with its sealed PIN and health check key reference, byte for byte, and a new sealed PIN for it;
// credentials and keys per store; key status changes; a store deleted with its credentials but not while
// it has keys.
import { randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { HsmRecord, XksCredentialRecord, XksKeyRecord, XksStoreRecord } from '../../../main/store/index.js';
import { freshStore, type OpenStore } from './harness.js';

const storeRecord = (over: Partial<XksStoreRecord> = {}): XksStoreRecord => ({
  id: `xks-${randomUUID()}`,
  uriPathPrefix: `p${randomBytes(4).toString('hex')}`,
  hsmId: null,
  pinSealed: null,
  healthKeyRef: null,
  createdAt: 1_000,
  ...over,
});
const credentialRecord = (storeId: string, over: Partial<XksCredentialRecord> = {}): XksCredentialRecord => ({
  accessKeyId: `XKS${randomBytes(12).toString('hex').toUpperCase().replace(/[^A-Z2-7]/g, 'A').slice(0, 21)}`,
  storeId,
  secretSealed: randomBytes(60),
  createdAt: 1_000,
  ...over,
});
const keyRecord = (storeId: string, over: Partial<XksKeyRecord> = {}): XksKeyRecord => ({
  externalKeyId: `kura-xks-${randomUUID()}`,
  storeId,
  usage: ['ENCRYPT', 'DECRYPT'],
  status: 'ENABLED',
  materialId: randomBytes(32).toString('hex'),
  materialRef: randomBytes(61),
  createdAt: 1_000,
  ...over,
});

export function xksRepositoryContract(name: string, open: OpenStore): void {
  describe(`XksRepository contract: ${name}`, () => {
    const store = freshStore(open);

    it('finds stores by ID and prefix, lists them oldest first, and serves a prefix once', async () => {
      const s = store();
      const [a, b] = [storeRecord({ createdAt: 20 }), storeRecord({ createdAt: 10, uriPathPrefix: '' })];
      await s.db.write(async (tx) => {
        await s.xks.insertStore(tx, a);
        await s.xks.insertStore(tx, b);
      });
      expect(await s.xks.findStore(a.id)).toEqual(a);
      expect(await s.xks.findStoreByPrefix('')).toEqual(b);
      expect(await s.xks.findStoreByPrefix('nope')).toBeUndefined();
      expect(await s.xks.listStores()).toEqual([b, a]);
      await expect(s.db.write((tx) => s.xks.insertStore(tx, storeRecord({ uriPathPrefix: a.uriPathPrefix })))).rejects.toThrow();
    });

    it('keeps a store on an HSM with its sealed PIN and health check key reference', async () => {
      const s = store();
      const hsm: HsmRecord = { id: 'cluster-xkscontract1', modulePath: '/usr/lib/softhsm/libsofthsm2.so', tokenLabel: 'kura-xks', libraryParameters: null, manufacturer: 'SoftHSM project', model: 'SoftHSM v2', serialNumber: '0123456789abcdef', createdAt: 5 };
      const st = storeRecord({ hsmId: hsm.id, pinSealed: randomBytes(45), healthKeyRef: randomBytes(18) });
      await s.db.write(async (tx) => {
        await s.hsms.insert(tx, hsm);
        await s.xks.insertStore(tx, st);
      });
      expect(await s.xks.findStore(st.id)).toEqual(st);
      expect(await s.xks.findStoreByPrefix(st.uriPathPrefix)).toEqual(st);
      expect(await s.xks.listStores()).toEqual([st]);
      // A store names a registered HSM only.
      await expect(s.db.write((tx) => s.xks.insertStore(tx, storeRecord({ hsmId: 'cluster-notregistered', pinSealed: randomBytes(45) })))).rejects.toThrow();
    });

    it("gives a store on an HSM a new sealed PIN, and nothing else: not a store without an HSM, not another store's", async () => {
      const s = store();
      const hsm: HsmRecord = { id: 'cluster-xkscontract2', modulePath: '/usr/lib/softhsm/libsofthsm2.so', tokenLabel: 'kura-xks', libraryParameters: null, manufacturer: 'SoftHSM project', model: 'SoftHSM v2', serialNumber: '0123456789abcdef', createdAt: 5 };
      const onHsm = storeRecord({ hsmId: hsm.id, pinSealed: randomBytes(45), healthKeyRef: randomBytes(18) });
      const other = storeRecord({ hsmId: hsm.id, pinSealed: randomBytes(45), healthKeyRef: randomBytes(18) });
      const standard = storeRecord();
      await s.db.write(async (tx) => {
        await s.hsms.insert(tx, hsm);
        for (const st of [onHsm, other, standard]) await s.xks.insertStore(tx, st);
      });
      const pin = randomBytes(47);
      expect(await s.db.write((tx) => s.xks.setStorePin(tx, onHsm.id, pin))).toBe(true);
      expect(await s.xks.findStore(onHsm.id)).toEqual({ ...onHsm, pinSealed: pin });
      expect(await s.xks.findStore(other.id)).toEqual(other);
      expect(await s.db.write((tx) => s.xks.setStorePin(tx, standard.id, pin))).toBe(false);
      expect(await s.xks.findStore(standard.id)).toEqual(standard);
      expect(await s.db.write((tx) => s.xks.setStorePin(tx, 'xks-nosuch', pin))).toBe(false);
    });

    it('keeps credentials and keys per store, changes a key\'s status, and deletes them', async () => {
      const s = store();
      const st = storeRecord();
      const [c1, c2] = [credentialRecord(st.id, { createdAt: 1 }), credentialRecord(st.id, { createdAt: 2 })];
      const [k1, k2] = [keyRecord(st.id, { createdAt: 1, usage: ['ENCRYPT'] }), keyRecord(st.id, { createdAt: 2, usage: [] })];
      await s.db.write(async (tx) => {
        await s.xks.insertStore(tx, st);
        for (const c of [c1, c2]) await s.xks.insertCredential(tx, c);
        for (const k of [k1, k2]) await s.xks.insertKey(tx, k);
      });
      expect(await s.xks.findCredential(c1.accessKeyId)).toEqual(c1);
      expect(await s.xks.listCredentials(st.id)).toEqual([c1, c2]);
      expect(await s.xks.listKeys(st.id)).toEqual([k1, k2]);
      expect(await s.xks.findKey(st.id, k2.externalKeyId)).toEqual(k2);
      expect(await s.xks.findKey('xks-other', k2.externalKeyId)).toBeUndefined();
      expect(await s.db.write((tx) => s.xks.setKeyStatus(tx, st.id, k1.externalKeyId, 'DISABLED'))).toBe(true);
      expect((await s.xks.findKey(st.id, k1.externalKeyId))?.status).toBe('DISABLED');
      expect(await s.db.write((tx) => s.xks.deleteCredential(tx, c1.accessKeyId))).toBe(true);
      expect(await s.db.write((tx) => s.xks.deleteCredential(tx, c1.accessKeyId))).toBe(false);
      expect(await s.db.write((tx) => s.xks.deleteKey(tx, st.id, k1.externalKeyId))).toBe(true);
      expect((await s.xks.listKeys(st.id)).map((k) => k.externalKeyId)).toEqual([k2.externalKeyId]);
    });

    it('deletes a store with its credentials, but not while it has keys', async () => {
      const s = store();
      const st = storeRecord();
      const c = credentialRecord(st.id);
      const k = keyRecord(st.id);
      await s.db.write(async (tx) => {
        await s.xks.insertStore(tx, st);
        await s.xks.insertCredential(tx, c);
        await s.xks.insertKey(tx, k);
      });
      await expect(s.db.write((tx) => s.xks.deleteStore(tx, st.id))).rejects.toThrow();
      await s.db.write((tx) => s.xks.deleteKey(tx, st.id, k.externalKeyId));
      expect(await s.db.write((tx) => s.xks.deleteStore(tx, st.id))).toBe(true);
      expect(await s.xks.findCredential(c.accessKeyId)).toBeUndefined();
      expect(await s.db.write((tx) => s.xks.deleteStore(tx, st.id))).toBe(false);
    });
  });
}
