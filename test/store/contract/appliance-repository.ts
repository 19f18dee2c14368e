// The contract of ApplianceRepository (main/store/repositories.ts), which any implementation passes:
// the appliance ID is set once (the first one set stays, whoever asks later); the seal configuration is
// stored once (a second one is refused with false and changes nothing); a pkcs11 one keeps its token
// settings and sealed root key, and takes its token's serial number once if it was stored without one.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { SealConfigRecord } from '../../../main/store/index.js';
import { freshStore, type OpenStore } from './harness.js';

const sealConfig = (over: Partial<SealConfigRecord> = {}): SealConfigRecord => ({
  mode: 'shamir',
  threshold: 3,
  shareCount: 5,
  shareSetId: 'share-set-1',
  checkValue: randomBytes(32),
  createdAt: 7,
  ...over,
});

export function applianceRepositoryContract(name: string, open: OpenStore): void {
  describe(`ApplianceRepository contract: ${name}`, () => {
    const store = freshStore(open);

    it('sets the appliance ID once: the first one stays', async () => {
      const s = store();
      expect(await s.appliance.applianceId()).toBeUndefined();
      expect(await s.appliance.ensureApplianceId('first', 1)).toBe('first');
      expect(await s.appliance.ensureApplianceId('second', 2)).toBe('first');
      expect(await s.appliance.applianceId()).toBe('first');
      const concurrent = await Promise.all([s.appliance.ensureApplianceId('third', 3), s.appliance.ensureApplianceId('fourth', 4)]);
      expect(concurrent).toEqual(['first', 'first']);
    });

    it('stores one seal configuration: a second is refused with false and changes nothing', async () => {
      const s = store();
      expect(await s.appliance.sealConfig()).toBeUndefined();
      const cfg = sealConfig();
      const seen = await s.db.write(async (tx) => {
        const inserted = await s.appliance.insertSealConfig(tx, cfg);
        return { inserted, inside: await s.appliance.sealConfig(tx), outside: await s.appliance.sealConfig() };
      });
      expect(seen).toEqual({ inserted: true, inside: cfg, outside: undefined });
      expect(await s.db.write((tx) => s.appliance.insertSealConfig(tx, sealConfig({ mode: 'dev', threshold: 1, shareCount: 1 })))).toBe(false);
      expect(await s.appliance.sealConfig()).toEqual(cfg);
    });

    it('stores a pkcs11 seal configuration with its token settings and sealed root key, byte for byte', async () => {
      const s = store();
      const cfg = sealConfig({
        mode: 'pkcs11',
        threshold: 1,
        shareCount: 1,
        shareSetId: 'pkcs11',
        pkcs11: {
          modulePath: '/usr/lib/softhsm/libsofthsm2.so',
          tokenLabel: 'kura',
          keyId: randomBytes(16),
          keyLabel: 'kura-root-wrap:appliance',
          iv: randomBytes(12),
          sealedRootKey: randomBytes(48),
        },
      });
      expect(await s.db.write((tx) => s.appliance.insertSealConfig(tx, cfg))).toBe(true);
      const back = await s.appliance.sealConfig();
      expect(back).toEqual(cfg);
      expect(back!.pkcs11).not.toHaveProperty('libraryParameters');
    });

    it('records a pkcs11 configuration\'s missing serial number once, changing nothing else', async () => {
      const s = store();
      const pkcs11 = { modulePath: '/usr/lib/softhsm/libsofthsm2.so', tokenLabel: 'kura', keyId: randomBytes(16), keyLabel: 'k', iv: randomBytes(12), sealedRootKey: randomBytes(48) };
      const cfg = sealConfig({ mode: 'pkcs11', threshold: 1, shareCount: 1, shareSetId: 'pkcs11', pkcs11 });
      await s.db.write((tx) => s.appliance.insertSealConfig(tx, cfg));
      expect(await s.db.write((tx) => s.appliance.recordPkcs11SerialNumber(tx, 'afa1a5a030cb1bcd'))).toBe(true);
      expect(await s.appliance.sealConfig()).toEqual({ ...cfg, pkcs11: { ...pkcs11, serialNumber: 'afa1a5a030cb1bcd' } });
      expect(await s.db.write((tx) => s.appliance.recordPkcs11SerialNumber(tx, '29ff68f4f3db4571'))).toBe(false);
      expect((await s.appliance.sealConfig())!.pkcs11!.serialNumber).toBe('afa1a5a030cb1bcd');
    });

    it('records no serial number in a Shamir configuration', async () => {
      const s = store();
      const cfg = sealConfig();
      await s.db.write((tx) => s.appliance.insertSealConfig(tx, cfg));
      expect(await s.db.write((tx) => s.appliance.recordPkcs11SerialNumber(tx, 'afa1a5a030cb1bcd'))).toBe(false);
      expect(await s.appliance.sealConfig()).toEqual(cfg);
    });
  });
}
