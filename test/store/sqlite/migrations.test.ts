// The SQLite schema's migrations (main/store/sqlite/migrations.ts): created once and kept on reopen, a
// database from a newer Kura refused and left as it was; and migration 4 on a database that the
// previous schema version made: custom key stores, keys.custom_key_store_id, and
// key_materials.material_sealed renamed material_ref. Every row an older Kura wrote reads back
// unchanged (a key is in the standard key store; its sealed material is its reference, byte for byte;
// emptied imported material reads as no reference), and the data directory keeps working: a
// ciphertext made before the upgrade decrypts after it. Migration 6 rebuilds seal_config (mode pkcs11,
// its pkcs11 column) and keeps a Shamir or dev row of a version-5 database unchanged. Migration 10 adds
// the quorum tables (operators, quorum_policies, approval_requests, approvals) to a version-9 database
// and leaves every row already there as it was. Migration 15 gives material a rotation date of its own;
// a rotation an older Kura stored reads as dated by its creation time.
import { createCipheriv, randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { wasmAead } from '../../../main/crypto/wasm-aead.js';
import { encodeEncryptionContext } from '../../../main/kms/ciphertext.js';
import { encodeAad } from '../../../main/seal/at-rest.js';
import { RootKeyHolder } from '../../../main/seal/root-key.js';
import { openStore, type MaterialRecord, type Store } from '../../../main/store/index.js';
import { SqliteDatabase } from '../../../main/store/sqlite/database.js';
import { SCHEMA_VERSION, statementsOf } from '../../../main/store/sqlite/migrations.js';
import { ACCOUNT, approvalRecord, approvalRequestRecord, auditRecord, customKeyStoreRecord, hsmRecord, keyRecord, materialRecord, operatorRecord, quorumPolicyRecord, REGION } from '../contract/harness.js';
import { openDomain, TEST_ACCOUNT, TEST_REGION, tempDir } from '../../support/domain.js';
import { FixedClock } from '../../support/fixed-clock.js';
import { sqliteOf, writeSql } from '../../support/sqlite.js';

/** Every migration leaves its row: versions 1..SCHEMA_VERSION. */
const allVersions = Array.from({ length: SCHEMA_VERSION }, (_, i) => ({ version: i + 1 }));

/** The schema version before migration 4. */
const PREVIOUS = 3;

/** Columns as schema version 3 named them (material_sealed), written with plain SQL as that Kura did. */
async function writeVersion3Rows(s: Store, rows: { keyId: string; materialId: string; sealed: Buffer; emptiedKeyId: string; emptiedMaterialId: string }) {
  await writeSql(s, async (sql) => {
    const insertKey = (keyId: string, origin: string, state: string, current: string) =>
      sql.run(
        `INSERT INTO keys (key_id, account_id, region, description, key_usage, key_spec, origin, state, created_at, deletion_at,
           pending_window_days, rotation_enabled, rotation_period_days, next_rotation_at, on_demand_rotation_started_at, policy,
           current_material_id, expiration_model, valid_to)
         VALUES (?, ?, ?, 'from version 3', 'ENCRYPT_DECRYPT', 'SYMMETRIC_DEFAULT', ?, ?, 1000, NULL, NULL, 1, 365, 2000, NULL, '{}', ?, NULL, NULL)`,
        keyId,
        TEST_ACCOUNT,
        TEST_REGION,
        origin,
        state,
        current,
      );
    await insertKey(rows.keyId, 'AWS_KMS', 'Enabled', rows.materialId);
    await insertKey(rows.emptiedKeyId, 'EXTERNAL', 'PendingImport', rows.emptiedMaterialId);
    await sql.run(
      `INSERT INTO key_materials (key_id, material_id, created_at, rotation_type, material_sealed, public_key, import_state, valid_to,
         expiration_model, description, pending_rotation) VALUES (?, ?, 1000, NULL, ?, NULL, NULL, NULL, NULL, NULL, 0)`,
      rows.keyId,
      rows.materialId,
      rows.sealed,
    );
    // Imported material that was deleted: version 3 emptied its sealed bytes and kept the row.
    await sql.run(
      `INSERT INTO key_materials (key_id, material_id, created_at, rotation_type, material_sealed, public_key, import_state, valid_to,
         expiration_model, description, pending_rotation) VALUES (?, ?, 1500, NULL, X'', NULL, 'PENDING_IMPORT', NULL,
         'KEY_MATERIAL_DOES_NOT_EXPIRE', 'gone', 0)`,
      rows.emptiedKeyId,
      rows.emptiedMaterialId,
    );
    await sql.run("INSERT INTO aliases (account_id, region, alias_name, key_id, created_at, updated_at) VALUES (?, ?, 'alias/old', ?, 1, 2)", TEST_ACCOUNT, TEST_REGION, rows.keyId);
    await sql.run("INSERT INTO tags (key_id, tag_key, tag_value) VALUES (?, 'team', 'pay')", rows.keyId);
  });
}

/** A material row as schema versions 4 to 14 have it (no rotated_at), written with plain SQL as those Kuras did. */
function writeVersion14Material(s: Store, m: MaterialRecord): Promise<void> {
  return writeSql(s, async (sql) => {
    await sql.run(
      `INSERT INTO key_materials (key_id, material_id, created_at, rotation_type, material_ref, public_key, import_state, valid_to,
         expiration_model, description, pending_rotation) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      m.keyId,
      m.materialId,
      m.createdAt,
      m.rotationType,
      m.materialRef ?? Buffer.alloc(0),
      m.publicKey,
      m.importState,
      m.validTo,
      m.expirationModel,
      m.description,
      m.pendingRotation ? 1 : 0,
    );
  });
}

/** A version-1 ciphertext blob of the material, made with node:crypto as docs/ciphertext-format.md describes it. */
function v1Blob(keyId: string, materialId: string, material: Buffer, plaintext: Buffer): Buffer {
  const header = Buffer.concat([Buffer.of(1, 0), Buffer.from(keyId.replace(/-/g, ''), 'hex'), Buffer.from(materialId, 'hex')]);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', material, iv);
  cipher.setAAD(Buffer.concat([header, encodeEncryptionContext({})]));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([header, iv, ciphertext, cipher.getAuthTag()]);
}

/** The names of a store's tables, in name order. */
const tables = async (s: Store) =>
  (await sqliteOf(s).all<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")).map((r) => r.name);

/** File descriptors of this process that point at `file` (Linux /proc). */
function openHandlesTo(file: string): number {
  let n = 0;
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      if (fs.readlinkSync(`/proc/self/fd/${fd}`) === file) n++;
    } catch {
      // the descriptor closed while we looked
    }
  }
  return n;
}

describe('migrations', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = tempDir('kura-migrate-');
    file = path.join(dir, 'kura.db');
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('creates the schema once; opening again changes nothing and keeps the data', async () => {
    const first = await openStore(file);
    const schema = await tables(first);
    expect(schema).toEqual(expect.arrayContaining(['appliance', 'seal_config', 'credentials', 'keys', 'key_materials', 'aliases', 'tags', 'audit_log', 'schema_version']));
    const id = await first.appliance.ensureApplianceId('appliance-1', 1);
    await first.close();

    for (let i = 0; i < 2; i++) {
      const again = await openStore(file);
      try {
        expect(await tables(again)).toEqual(schema);
        expect(await sqliteOf(again).all('SELECT version FROM schema_version ORDER BY version')).toEqual(allVersions);
        expect(await again.appliance.ensureApplianceId('appliance-2', 2)).toBe(id);
      } finally {
        await again.close();
      }
    }
    expect(id).toBe('appliance-1');
  });

  it('refuses a database from a newer Kura with a clear error, and leaves it as it was', async () => {
    const s = await openStore(file);
    await writeSql(s, (sql) => sql.run('INSERT INTO schema_version (version) VALUES (?)', SCHEMA_VERSION + 98));
    expect(openHandlesTo(file)).toBeGreaterThan(0);
    await s.close();
    expect(openHandlesTo(file)).toBe(0);
    const before = fs.readFileSync(file);

    await expect(openStore(file)).rejects.toThrow(new RegExp(`schema version ${SCHEMA_VERSION + 98}.*newer than this Kura.*upgrade Kura`));
    expect(fs.readFileSync(file).equals(before)).toBe(true);

    const ro = await SqliteDatabase.open(file, { readonly: true });
    try {
      expect(await ro.all('SELECT version FROM schema_version ORDER BY version')).toEqual([...allVersions, { version: SCHEMA_VERSION + 98 }]);
    } finally {
      await ro.close();
    }
  });

  it('a refused open does not leave the database open', async () => {
    const s = await openStore(file);
    await writeSql(s, (sql) => sql.run('INSERT INTO schema_version (version) VALUES (?)', SCHEMA_VERSION + 1));
    await s.close();
    await expect(openStore(file)).rejects.toThrow(/newer than this Kura/);
    // Fail closed: both connections of the refused open are closed again, not leaked.
    expect(openHandlesTo(file)).toBe(0);
  });
});

describe('migration 4: custom key stores and material references', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = tempDir('kura-migrate4-');
    file = path.join(dir, 'kura.db');
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('an older database is left at its version until opened', async () => {
    expect(SCHEMA_VERSION).toBeGreaterThanOrEqual(4);
    const old = await openStore(file, { schemaUpTo: PREVIOUS });
    try {
      expect(await sqliteOf(old).all('SELECT version FROM schema_version ORDER BY version')).toEqual([{ version: 1 }, { version: 2 }, { version: 3 }]);
      const columns = (await sqliteOf(old).all<{ name: string }>("SELECT name FROM pragma_table_info('key_materials')")).map((c) => c.name);
      expect(columns).toContain('material_sealed');
      expect(columns).not.toContain('material_ref');
    } finally {
      await old.close();
    }
  });

  it('keeps every row a version-3 Kura wrote: keys read back in the standard key store, sealed material as its reference', async () => {
    const keyId = randomUUID();
    const emptiedKeyId = randomUUID();
    const materialId = randomBytes(32).toString('hex');
    const emptiedMaterialId = randomBytes(32).toString('hex');
    const sealed = randomBytes(61);
    const old = await openStore(file, { schemaUpTo: PREVIOUS });
    await writeVersion3Rows(old, { keyId, materialId, sealed, emptiedKeyId, emptiedMaterialId });
    const rawBefore = await sqliteOf(old).all('SELECT * FROM keys ORDER BY key_id');
    await old.close();

    const s = await openStore(file);
    try {
      expect(await sqliteOf(s).all('SELECT version FROM schema_version ORDER BY version')).toEqual(Array.from({ length: SCHEMA_VERSION }, (_, i) => ({ version: i + 1 })));
      // Every column a version-3 key had is as it was; the new ones say "standard key store", no external key.
      const rawAfter = await sqliteOf(s).all<Record<string, unknown>>('SELECT * FROM keys ORDER BY key_id');
      expect(rawAfter.map((r) => [r.custom_key_store_id, r.xks_key_id])).toEqual([
        [null, null],
        [null, null],
      ]);
      expect(rawAfter.map(({ custom_key_store_id: _, xks_key_id: __, ...rest }) => rest)).toEqual(rawBefore);

      expect(await s.keys.find(keyId)).toEqual({
        keyId,
        accountId: TEST_ACCOUNT,
        region: TEST_REGION,
        description: 'from version 3',
        keyUsage: 'ENCRYPT_DECRYPT',
        keySpec: 'SYMMETRIC_DEFAULT',
        origin: 'AWS_KMS',
        state: 'Enabled',
        createdAt: 1000,
        deletionAt: null,
        pendingWindowDays: null,
        rotationEnabled: true,
        rotationPeriodDays: 365,
        nextRotationAt: 2000,
        onDemandRotationStartedAt: null,
        policy: '{}',
        currentMaterialId: materialId,
        expirationModel: null,
        validTo: null,
        customKeyStoreId: null,
        xksKeyId: null,
      });
      const [material] = await s.keys.listMaterials(keyId);
      expect(material!.materialRef!.equals(sealed)).toBe(true);
      expect(material).toMatchObject({ materialId, createdAt: 1000, rotationType: null, publicKey: null, importState: null, pendingRotation: false });
      const [emptied] = await s.keys.listMaterials(emptiedKeyId);
      expect(emptied).toMatchObject({ materialId: emptiedMaterialId, materialRef: null, importState: 'PENDING_IMPORT', description: 'gone' });
      expect(await s.aliases.list(TEST_ACCOUNT, TEST_REGION, keyId, '', 10)).toMatchObject([{ aliasName: 'alias/old', keyId }]);
      expect(await s.keys.listTags(keyId)).toEqual([{ tagKey: 'team', tagValue: 'pay' }]);
      // The emptied reference is written back as it was read: empty, not a NULL the column refuses.
      await s.db.write((tx) => s.keys.updateMaterial(tx, { ...emptied!, description: 'still gone' }));
      expect((await sqliteOf(s).get<{ n: number }>('SELECT length(material_ref) AS n FROM key_materials WHERE key_id = ?', emptiedKeyId))!.n).toBe(0);
    } finally {
      await s.close();
    }
  });

  it('keeps a data directory working: a ciphertext made before the upgrade decrypts after it', async () => {
    const rootKey = randomBytes(32);
    const keyId = randomUUID();
    const materialId = randomBytes(32).toString('hex');
    const material = randomBytes(32);
    const old = await openStore(file, { schemaUpTo: PREVIOUS });
    const applianceId = await old.appliance.ensureApplianceId(randomUUID(), 1);
    const root = new RootKeyHolder({ db: old.db, appliance: old.appliance, aead: wasmAead, clock: { nowMs: () => 1 }, applianceId });
    await root.load();
    await root.initAndUnsealDev(rootKey);
    // Sealed exactly as the standard key store of version 3 sealed generated material.
    const sealed = root.materialSealer().seal(material, encodeAad('kura/key-material/symmetric-default', keyId, materialId));
    await writeVersion3Rows(old, { keyId, materialId, sealed, emptiedKeyId: randomUUID(), emptiedMaterialId: randomBytes(32).toString('hex') });
    root.seal();
    await old.close();
    const blob = v1Blob(keyId, materialId, material, Buffer.from('written before the upgrade'));

    const d = await openDomain({ dir, rootKey });
    try {
      const out = await d.keys.decrypt(d.ctx('Decrypt'), { ciphertextBlob: blob });
      expect(out.plaintext.toString()).toBe('written before the upgrade');
      expect(out.key).toMatchObject({ keyId, customKeyStoreId: null });
      expect((await d.keys.describeKey(d.ctx('DescribeKey'), 'alias/old')).keyId).toBe(keyId);
    } finally {
      await d.close({ keepFiles: true });
    }
  });

  it('adds the custom key store table: types and connection states as AWS names them, keys bound by a foreign key', async () => {
    const s = await openStore(file);
    try {
      const hsm = { id: 'cks-1234567890abcdef0', accountId: ACCOUNT, region: REGION, name: 'token', type: 'AWS_CLOUDHSM' as const, connectionState: 'DISCONNECTED' as const, createdAt: 5, hsmId: null, config: { tokenLabel: 'kura' } };
      await s.db.write((tx) => s.customKeyStores.insert(tx, hsm));
      expect(await s.customKeyStores.find(hsm.id)).toEqual(hsm);
      await s.db.write((tx) => s.customKeyStores.setConnectionState(tx, hsm.id, 'CONNECTED'));
      expect((await s.customKeyStores.list()).map((c) => c.connectionState)).toEqual(['CONNECTED']);
      await expect(s.db.write((tx) => s.customKeyStores.insert(tx, { ...hsm, id: 'cks-2', type: 'SOMETHING' as 'AWS_CLOUDHSM' }))).rejects.toThrow(/CHECK/);
      await expect(s.db.write((tx) => s.customKeyStores.insert(tx, { ...hsm, id: 'cks-3' }))).rejects.toThrow(/UNIQUE/);

      const key = {
        keyId: randomUUID(),
        accountId: TEST_ACCOUNT,
        region: TEST_REGION,
        description: '',
        keyUsage: 'ENCRYPT_DECRYPT',
        keySpec: 'SYMMETRIC_DEFAULT',
        origin: 'AWS_CLOUDHSM',
        state: 'Enabled',
        createdAt: 1,
        deletionAt: null,
        pendingWindowDays: null,
        rotationEnabled: false,
        rotationPeriodDays: null,
        nextRotationAt: null,
        onDemandRotationStartedAt: null,
        policy: '{}',
        currentMaterialId: null,
        expirationModel: null,
        validTo: null,
        customKeyStoreId: hsm.id,
        xksKeyId: null,
      };
      await s.db.write((tx) => s.keys.insert(tx, key));
      expect((await s.keys.find(key.keyId))!.customKeyStoreId).toBe(hsm.id);
      await expect(s.db.write((tx) => s.keys.insert(tx, { ...key, keyId: randomUUID(), customKeyStoreId: 'cks-none' }))).rejects.toThrow(/FOREIGN KEY/);
      // A key store that still holds a key cannot go.
      await expect(s.db.write((tx) => s.customKeyStores.delete(tx, hsm.id))).rejects.toThrow(/FOREIGN KEY/);
      // The key store of a key is fixed at creation: an update leaves it.
      await s.db.write((tx) => s.keys.update(tx, { ...key, customKeyStoreId: null, description: 'changed' }));
      expect(await s.keys.find(key.keyId)).toMatchObject({ customKeyStoreId: hsm.id, description: 'changed' });
    } finally {
      await s.close();
    }
  });
});

describe('migration 5: registered HSMs', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = tempDir('kura-migrate5-');
    file = path.join(dir, 'kura.db');
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('keeps the custom key stores a version-4 Kura wrote (no HSM behind them) and adds the HSM table', async () => {
    expect(SCHEMA_VERSION).toBeGreaterThanOrEqual(5);
    const old = await openStore(file, { schemaUpTo: 4 });
    await writeSql(old, (sql) => sql.run("INSERT INTO custom_key_stores (id, name, type, created_at, config) VALUES ('cks-1', 'old', 'AWS_CLOUDHSM', 7, '{\"a\":1}')"));
    await old.close();
    const s = await openStore(file);
    try {
      expect(await s.customKeyStores.find('cks-1')).toEqual({ id: 'cks-1', accountId: '111122223333', region: 'us-east-1', name: 'old', type: 'AWS_CLOUDHSM', connectionState: 'DISCONNECTED', createdAt: 7, hsmId: null, config: { a: 1 } });
      expect(await s.hsms.list()).toEqual([]);
    } finally {
      await s.close();
    }
  });
});

describe('migration 6: seal mode pkcs11 (seal_config rebuilt)', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir('kura-migrate6-');
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** The seal_config row as a version-5 Kura wrote it, with plain SQL. */
  const writeVersion5Seal = (s: Store, mode: 'shamir' | 'dev', check: Buffer) =>
    writeSql(s, (sql) =>
      sql.run(
        'INSERT INTO seal_config (id, mode, threshold, share_count, share_set_id, check_value, created_at) VALUES (1, ?, ?, ?, ?, ?, 1234)',
        mode,
        mode === 'shamir' ? 3 : 1,
        mode === 'shamir' ? 5 : 1,
        mode === 'shamir' ? '0a1b2c3d' : 'dev',
        check,
      ),
    );

  for (const mode of ['shamir', 'dev'] as const) {
    it(`keeps a ${mode} seal configuration a version-5 Kura wrote, byte for byte`, async () => {
      expect(SCHEMA_VERSION).toBeGreaterThanOrEqual(6);
      const file = path.join(dir, `${mode}.db`);
      const check = randomBytes(32);
      const old = await openStore(file, { schemaUpTo: 5 });
      await old.appliance.ensureApplianceId(`appliance-${mode}`, 1);
      await writeVersion5Seal(old, mode, check);
      const before = await sqliteOf(old).all('SELECT * FROM seal_config');
      await old.close();

      const s = await openStore(file);
      try {
        const after = await sqliteOf(s).all<Record<string, unknown>>('SELECT * FROM seal_config');
        expect(after).toEqual(before.map((r) => ({ ...r, pkcs11: null })));
        expect(await s.appliance.sealConfig()).toEqual({
          mode,
          threshold: mode === 'shamir' ? 3 : 1,
          shareCount: mode === 'shamir' ? 5 : 1,
          shareSetId: mode === 'shamir' ? '0a1b2c3d' : 'dev',
          checkValue: check,
          createdAt: 1234,
        });
        expect(await s.appliance.applianceId()).toBe(`appliance-${mode}`);
        expect(await sqliteOf(s).all('SELECT version FROM schema_version ORDER BY version')).toEqual(allVersions);
        // Still one row, and the constraint still holds it to one.
        await expect(writeVersion5Seal(s, mode, check)).rejects.toThrow(/UNIQUE|constraint/i);
        expect(await sqliteOf(s).get<{ n: number }>('SELECT COUNT(*) AS n FROM seal_config')).toEqual({ n: 1 });
      } finally {
        await s.close();
      }
    });
  }

  it('keeps a Shamir appliance working: its shares still unseal it after the upgrade', async () => {
    const file = path.join(dir, 'kura.db');
    const old = await openStore(file, { schemaUpTo: 5 });
    const applianceId = await old.appliance.ensureApplianceId(randomUUID(), 1);
    const clock = new FixedClock();
    const before = new RootKeyHolder({ db: old.db, appliance: old.appliance, aead: wasmAead, clock, applianceId });
    const shares = await before.initShamir(2, 3);
    await old.close();
    const s = await openStore(file);
    try {
      const after = new RootKeyHolder({ db: s.db, appliance: s.appliance, aead: wasmAead, clock, applianceId });
      await after.load();
      expect(await after.submitShares([shares[2]!, shares[0]!])).toMatchObject({ state: 'unsealed', mode: 'shamir', threshold: 2, shares: 3 });
      after.seal();
    } finally {
      await s.close();
    }
  });

  it('allows mode pkcs11, always with its token settings, and no other mode', async () => {
    const s = await openStore(path.join(dir, 'new.db'));
    try {
      const columns = (await sqliteOf(s).all<{ name: string }>('PRAGMA table_info(seal_config)')).map((c) => c.name);
      expect(columns).toEqual(['id', 'mode', 'threshold', 'share_count', 'share_set_id', 'check_value', 'created_at', 'pkcs11']);
      const insert = (mode: string, pkcs11: string | null) =>
        writeSql(s, (sql) =>
          sql.run("INSERT INTO seal_config (id, mode, threshold, share_count, share_set_id, check_value, created_at, pkcs11) VALUES (1, ?, 1, 1, 'x', X'00', 1, ?)", mode, pkcs11),
        );
      await expect(insert('hsm', null)).rejects.toThrow(/CHECK constraint/);
      await expect(insert('pkcs11', null)).rejects.toThrow(/CHECK constraint/);
      await expect(insert('shamir', '{}')).rejects.toThrow(/CHECK constraint/);
      const cfg = {
        mode: 'pkcs11' as const,
        threshold: 1,
        shareCount: 1,
        shareSetId: 'pkcs11',
        checkValue: randomBytes(32),
        createdAt: 9,
        pkcs11: {
          modulePath: '/usr/lib/softhsm/libsofthsm2.so',
          tokenLabel: 'kura',
          libraryParameters: "configdir='sql:/x'",
          keyId: randomBytes(16),
          keyLabel: 'kura-root-wrap:a',
          iv: randomBytes(12),
          sealedRootKey: randomBytes(48),
        },
      };
      expect(await s.db.write((tx) => s.appliance.insertSealConfig(tx, cfg))).toBe(true);
      expect(await s.appliance.sealConfig()).toEqual(cfg);
    } finally {
      await s.close();
    }
  });
});

describe('migration 8: XKS proxy stores on an HSM (sealed PIN, health check key)', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir('kura-migrate8-');
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('keeps the XKS stores a version-7 Kura wrote (in the standard key store) and adds the two columns', async () => {
    expect(SCHEMA_VERSION).toBeGreaterThanOrEqual(8);
    const file = path.join(dir, 'kura.db');
    const old = await openStore(file, { schemaUpTo: 7 });
    await writeSql(old, (sql) => sql.run("INSERT INTO xks_stores (id, uri_path_prefix, hsm_id, created_at) VALUES ('xks-old', 'tenant/old', NULL, 77)"));
    await old.close();
    const s = await openStore(file);
    try {
      expect(await s.xks.findStore('xks-old')).toEqual({ id: 'xks-old', uriPathPrefix: 'tenant/old', hsmId: null, pinSealed: null, healthKeyRef: null, createdAt: 77 });
      const columns = (await sqliteOf(s).all<{ name: string }>('PRAGMA table_info(xks_stores)')).map((c) => c.name);
      expect(columns).toEqual(['id', 'uri_path_prefix', 'hsm_id', 'created_at', 'pin_sealed', 'health_key_ref']);
    } finally {
      await s.close();
    }
  });
});

describe('migration 10: quorum approvals (operators, policies, requests, approvals)', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = tempDir('kura-migrate10-');
    file = path.join(dir, 'kura.db');
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Every row of every table but schema_version and the key search's index (migration 13: derived from keys), by table. */
  const snapshot = async (s: Store) => {
    const out: Record<string, unknown[]> = {};
    for (const t of await tables(s)) if (t !== 'schema_version' && !t.startsWith('keys_text')) out[t] = await sqliteOf(s).all(`SELECT * FROM "${t}" ORDER BY rowid`);
    return out;
  };

  it('keeps every row a version-9 Kura wrote and adds the four tables, empty', async () => {
    expect(SCHEMA_VERSION).toBeGreaterThanOrEqual(10);
    const old = await openStore(file, { schemaUpTo: 9 });
    await old.appliance.ensureApplianceId('appliance-9', 1);
    const hsm = hsmRecord();
    const cks = customKeyStoreRecord({ type: 'EXTERNAL_KEY_STORE', config: { proxy: 'https://xks.example' } });
    const key = keyRecord({ origin: 'EXTERNAL_KEY_STORE', customKeyStoreId: cks.id, xksKeyId: 'external-1' });
    await old.db.write(async (tx) => {
      await old.hsms.insert(tx, hsm);
      // (As a version-9 Kura wrote it: no account or Region yet, migration 17.)
      await sqliteOf(old).sql(tx).run('INSERT INTO custom_key_stores (id, name, type, connection_state, created_at, hsm_id, config) VALUES (?, ?, ?, ?, ?, ?, ?)', cks.id, cks.name, cks.type, cks.connectionState, cks.createdAt, cks.hsmId, JSON.stringify(cks.config));
      await old.keys.insert(tx, key);
      await old.keys.putTag(tx, key.keyId, { tagKey: 'team', tagValue: 'pay' });
      await old.aliases.insert(tx, { accountId: ACCOUNT, region: REGION, aliasName: 'alias/nine', keyId: key.keyId, createdAt: 1, updatedAt: 2 });
      await old.xks.insertStore(tx, { id: 'xks-9', uriPathPrefix: 'nine', hsmId: hsm.id, pinSealed: randomBytes(45), healthKeyRef: randomBytes(18), createdAt: 9 });
      await old.audit.insert(tx, auditRecord(1));
    });
    await writeVersion14Material(old, materialRecord(key.keyId));
    const before = await snapshot(old);
    expect(before).not.toHaveProperty('operators');
    await old.close();

    const s = await openStore(file);
    try {
      expect(await sqliteOf(s).all('SELECT version FROM schema_version ORDER BY version')).toEqual(allVersions);
      const after = await snapshot(s);
      // (rotated_at: migration 15)
      const materials = before.key_materials!.map((r) => ({ ...(r as object), rotated_at: null }));
      // (account_id and region: migration 17, the account and Region of the store's key)
      const stores = before.custom_key_stores!.map((r) => ({ ...(r as object), account_id: key.accountId, region: key.region }));
      expect(after).toEqual({ ...before, key_materials: materials, custom_key_stores: stores, operators: [], quorum_policies: [], approval_requests: [], approvals: [] });
      const columns = async (t: string) => (await sqliteOf(s).all<{ name: string }>(`SELECT name FROM pragma_table_info('${t}')`)).map((c) => c.name);
      expect(await columns('operators')).toEqual(['name', 'algorithm', 'public_key', 'fingerprint', 'passphrase', 'created_at']);
      expect(await columns('quorum_policies')).toEqual(['action_class', 'threshold', 'operators', 'expiry_ms', 'updated_at']);
      // (threshold and approvers: migration 11)
      expect(await columns('approval_requests')).toEqual(['id', 'action_class', 'action', 'parameters', 'digest', 'requester', 'caller', 'created_at', 'expires_at', 'status', 'outcome', 'executed_at', 'threshold', 'approvers', 'sealed_secrets', 'sealed_result']);
      expect(await columns('approvals')).toEqual(['request_id', 'operator', 'fingerprint', 'signature', 'created_at']);
    } finally {
      await s.close();
    }
  });

  it('refuses what no operator, policy, request or approval can be', async () => {
    const s = await openStore(file);
    try {
      await expect(s.db.write((tx) => s.ceremony.insertOperator(tx, operatorRecord({ algorithm: 'rsa-2048' })))).rejects.toThrow(/CHECK constraint/);
      await expect(s.db.write((tx) => s.ceremony.putPolicy(tx, quorumPolicyRecord({ threshold: 0 })))).rejects.toThrow(/CHECK constraint/);
      await expect(s.db.write((tx) => s.ceremony.putPolicy(tx, quorumPolicyRecord({ expiryMs: 0 })))).rejects.toThrow(/CHECK constraint/);
      await expect(s.db.write((tx) => s.ceremony.insertRequest(tx, approvalRequestRecord({ status: 'APPROVED' as 'PENDING' })))).rejects.toThrow(/CHECK constraint/);
      const r = approvalRequestRecord();
      await s.db.write((tx) => s.ceremony.insertRequest(tx, r));
      await expect(s.db.write((tx) => s.ceremony.transitionRequest(tx, r.id, ['PENDING'], 'DONE' as 'EXECUTED'))).rejects.toThrow(/CHECK constraint/);
      // An approval names a request that exists; its operator need not (one removed keeps their approvals).
      await expect(s.db.write((tx) => s.ceremony.insertApproval(tx, approvalRecord('req-none', operatorRecord())))).rejects.toThrow(/FOREIGN KEY/);
      await s.db.write((tx) => s.ceremony.insertApproval(tx, approvalRecord(r.id, operatorRecord({ name: 'never-enrolled' }))));
      expect(await s.ceremony.listApprovals(r.id)).toMatchObject([{ operator: 'never-enrolled' }]);
      expect(await sqliteOf(s).get<{ n: number }>('SELECT COUNT(*) AS n FROM operators')).toEqual({ n: 0 });
    } finally {
      await s.close();
    }
  });
});

/** A pending approval request as an older Kura wrote it: the columns of migration 10, and those of 11 when given. */
async function insertOldRequest(store: Awaited<ReturnType<typeof openStore>>, r: ReturnType<typeof approvalRequestRecord>, v11?: { threshold: number; approvers: string }): Promise<void> {
  const extra = v11 ? ', threshold, approvers' : '';
  const marks = v11 ? ', ?, ?' : '';
  await writeSql(store, (sql) =>
    sql.run(
      `INSERT INTO approval_requests (id, action_class, action, parameters, digest, requester, caller, created_at, expires_at, status${extra})
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'PENDING'${marks})`,
      ...[r.id, r.actionClass, r.action, r.parameters, r.digest, r.requester, r.caller, r.createdAt, r.expiresAt],
      ...(v11 ? [v11.threshold, v11.approvers] : []),
    ),
  );
}

describe('migration 11: approval requests keep their quorum', () => {
  it('a request a version-10 Kura made reads back with no quorum of its own (it follows the current policy)', async () => {
    const file = path.join(tempDir('kura-migration-11-'), 'kura.db');
    const old = await openStore(file, { schemaUpTo: 10 });
    const r = approvalRequestRecord();
    await insertOldRequest(old, r);
    await old.close();
    const s = await openStore(file);
    try {
      expect(await s.ceremony.findRequest(r.id)).toMatchObject({ id: r.id, threshold: null, approvers: null });
      const kept = approvalRequestRecord({ threshold: 3, approvers: ['a', 'b', 'c'] });
      await s.db.write((tx) => s.ceremony.insertRequest(tx, kept));
      expect(await s.ceremony.findRequest(kept.id)).toEqual(kept);
    } finally {
      await s.close();
    }
  });
});

describe('migration 12: approval requests of operator commands keep sealed secrets and a sealed result', () => {
  it('a request a version-11 Kura made reads back with neither; a new one keeps both, and an ended one no secrets', async () => {
    const file = path.join(tempDir('kura-migration-12-'), 'kura.db');
    const old = await openStore(file, { schemaUpTo: 11 });
    const r = approvalRequestRecord({ threshold: 2, approvers: ['a', 'b'] });
    await insertOldRequest(old, r, { threshold: 2, approvers: '["a","b"]' });
    await old.close();
    const s = await openStore(file);
    try {
      expect(await s.ceremony.findRequest(r.id)).toEqual(r);
      const kept = approvalRequestRecord({ sealedSecrets: 'c2VhbGVk' });
      await s.db.write((tx) => s.ceremony.insertRequest(tx, kept));
      expect(await s.ceremony.findRequest(kept.id)).toEqual(kept);
      await s.db.write((tx) => s.ceremony.transitionRequest(tx, kept.id, ['PENDING'], 'EXECUTING'));
      expect((await s.ceremony.findRequest(kept.id))?.sealedSecrets).toBe('c2VhbGVk');
      await s.db.write((tx) => s.ceremony.transitionRequest(tx, kept.id, ['EXECUTING'], 'EXECUTED', { outcome: 'applied', executedAt: 5, sealedResult: 'cmVzdWx0' }));
      expect(await s.ceremony.findRequest(kept.id)).toMatchObject({ status: 'EXECUTED', sealedSecrets: null, sealedResult: 'cmVzdWx0' });
    } finally {
      await s.close();
    }
  });
});

describe('migration 15: the rotation date of material', () => {
  it('reads a rotation a version-14 Kura stored with no rotation date of its own (its creation time is it), and keeps both apart from then on', async () => {
    const file = path.join(tempDir('kura-migration-15-'), 'kura.db');
    const old = await openStore(file, { schemaUpTo: 14 });
    const key = keyRecord();
    await old.db.write((tx) => old.keys.insert(tx, key));
    const rotated = materialRecord(key.keyId, { createdAt: 5_000, rotationType: 'ON_DEMAND' });
    await writeVersion14Material(old, rotated);
    await old.close();
    const s = await openStore(file);
    try {
      expect(await s.keys.findMaterial(key.keyId, rotated.materialId)).toEqual({ ...rotated, rotatedAt: null });
      const imported = materialRecord(key.keyId, { createdAt: 6_000, importState: 'IMPORTED', pendingRotation: true });
      await s.db.write((tx) => s.keys.insertMaterial(tx, imported));
      await s.db.write((tx) => s.keys.updateMaterial(tx, { ...imported, pendingRotation: false, rotationType: 'ON_DEMAND', rotatedAt: 7_000 }));
      expect(await s.keys.findMaterial(key.keyId, imported.materialId)).toMatchObject({ createdAt: 6_000, rotatedAt: 7_000 });
    } finally {
      await s.close();
    }
  });
});

describe('migration 13: the console\'s key search', () => {
  it('indexes the keys an older Kura wrote, so that they are found by text at once', async () => {
    const file = path.join(tempDir('kura-migration-13-'), 'kura.db');
    const old = await openStore(file, { schemaUpTo: 12 });
    const keys = [keyRecord({ description: 'Quarterly payroll' }), keyRecord({ description: 'archive' })];
    await old.db.write(async (tx) => {
      for (const k of keys) await old.keys.insert(tx, k);
    });
    await old.close();
    const s = await openStore(file);
    try {
      expect((await s.keys.search(ACCOUNT, REGION, { text: 'PAYROLL' }, '', 10)).map((k) => k.keyId)).toEqual([keys[0]!.keyId]);
      expect(await s.keys.countMatching(ACCOUNT, REGION, { text: 'chiv' })).toBe(1);
      const plan = await sqliteOf(s).all<{ detail: string }>("EXPLAIN QUERY PLAN SELECT COUNT(*) FROM keys WHERE account_id = '1' AND region = 'r' AND state = 'Enabled'");
      expect(plan.map((p) => p.detail).join(' ')).toMatch(/USING COVERING INDEX keys_by_state/);
    } finally {
      await s.close();
    }
  });

  it('splits a migration into statements, a trigger whole', () => {
    expect(statementsOf("CREATE TABLE a (x); -- a comment; with a semicolon\nCREATE TRIGGER t AFTER INSERT ON a BEGIN INSERT INTO b VALUES (1); INSERT INTO c VALUES (2); END; DROP TABLE z")).toEqual([
      'CREATE TABLE a (x)',
      'CREATE TRIGGER t AFTER INSERT ON a BEGIN INSERT INTO b VALUES (1); INSERT INTO c VALUES (2); END',
      'DROP TABLE z',
    ]);
  });
});

describe('migration 17: custom key stores belong to an account and a Region', () => {
  it("gives a store its creator's account (audit log), else its oldest key's, else the dev account, a Region from its keys, and keys their foreign key", async () => {
    expect(SCHEMA_VERSION).toBeGreaterThanOrEqual(17);
    const file = path.join(tempDir('kura-migration-17-'), 'kura.db');
    const old = await openStore(file, { schemaUpTo: 16 });
    const hsm = hsmRecord();
    // Before this version any account could make keys in any store: the oldest key's account wins.
    const keys = [
      keyRecord({ accountId: '555566667777', region: 'ap-south-1', createdAt: 20, origin: 'AWS_CLOUDHSM', customKeyStoreId: 'cks-keyed' }),
      keyRecord({ accountId: '444455556666', region: 'eu-west-1', createdAt: 10, origin: 'AWS_CLOUDHSM', customKeyStoreId: 'cks-keyed' }),
      // cks-shared: its creator's key is not its oldest.
      keyRecord({ accountId: '444455556666', region: 'us-west-2', createdAt: 1, origin: 'AWS_CLOUDHSM', customKeyStoreId: 'cks-shared' }),
      keyRecord({ accountId: '333344445555', region: 'sa-east-1', createdAt: 2, origin: 'AWS_CLOUDHSM', customKeyStoreId: 'cks-shared' }),
      // cks-other has no keys; its creator has one in the standard key store.
      keyRecord({ accountId: '222233334444', region: 'eu-central-1', createdAt: 3 }),
    ];
    const created = (id: string, principal: string, outcome = 'ok') => ({ operation: 'CreateCustomKeyStore', outcome, principal, source: 'kms', details: { customKeyStoreId: id } });
    await old.db.write(async (tx) => {
      await old.hsms.insert(tx, hsm);
      const sql = sqliteOf(old).sql(tx);
      await sql.run("INSERT INTO custom_key_stores (id, name, type, connection_state, created_at, hsm_id, config) VALUES ('cks-keyed', 'keyed', 'AWS_CLOUDHSM', 'CONNECTED', 5, ?, '{\"a\":1}')", hsm.id);
      await sql.run("INSERT INTO custom_key_stores (id, name, type, created_at, config) VALUES ('cks-empty', 'empty', 'EXTERNAL_KEY_STORE', 6, '{}')");
      await sql.run("INSERT INTO custom_key_stores (id, name, type, created_at, config) VALUES ('cks-other', 'other', 'EXTERNAL_KEY_STORE', 7, '{}')");
      await sql.run("INSERT INTO custom_key_stores (id, name, type, created_at, config) VALUES ('cks-shared', 'shared', 'EXTERNAL_KEY_STORE', 8, '{}')");
      for (const k of keys) await old.keys.insert(tx, k);
      // A failed call and a principal that names no account do not count.
      await old.audit.insert(tx, auditRecord(1, created('cks-empty', 'arn:aws:iam::999988887777:root', 'error')));
      await old.audit.insert(tx, auditRecord(2, created('cks-empty', 'anonymous')));
      await old.audit.insert(tx, auditRecord(3, created('cks-other', 'arn:aws:iam::222233334444:user/alice')));
      await old.audit.insert(tx, auditRecord(4, created('cks-shared', 'arn:aws:sts::333344445555:assumed-role/admin/s')));
    });
    await old.close();
    const s = await openStore(file);
    try {
      expect(await s.customKeyStores.list()).toEqual([
        { id: 'cks-keyed', accountId: '444455556666', region: 'eu-west-1', name: 'keyed', type: 'AWS_CLOUDHSM', connectionState: 'CONNECTED', createdAt: 5, hsmId: hsm.id, config: { a: 1 } },
        { id: 'cks-empty', accountId: '111122223333', region: 'us-east-1', name: 'empty', type: 'EXTERNAL_KEY_STORE', connectionState: 'DISCONNECTED', createdAt: 6, hsmId: null, config: {} },
        { id: 'cks-other', accountId: '222233334444', region: 'eu-central-1', name: 'other', type: 'EXTERNAL_KEY_STORE', connectionState: 'DISCONNECTED', createdAt: 7, hsmId: null, config: {} },
        { id: 'cks-shared', accountId: '333344445555', region: 'sa-east-1', name: 'shared', type: 'EXTERNAL_KEY_STORE', connectionState: 'DISCONNECTED', createdAt: 8, hsmId: null, config: {} },
      ]);
      expect(await sqliteOf(s).all('PRAGMA foreign_key_check')).toEqual([]);
      expect((await s.keys.find(keys[0]!.keyId))?.customKeyStoreId).toBe('cks-keyed');
      // The keys still hold their store, the HSM still backs one store only, and a name is unique per account and Region.
      await expect(s.db.write((tx) => s.customKeyStores.delete(tx, 'cks-keyed'))).rejects.toThrow(/FOREIGN KEY/);
      await expect(s.db.write((tx) => s.customKeyStores.insert(tx, customKeyStoreRecord({ hsmId: hsm.id, accountId: '999988887777' })))).rejects.toThrow(/UNIQUE/);
      await expect(s.db.write((tx) => s.customKeyStores.insert(tx, customKeyStoreRecord({ name: 'empty' })))).rejects.toThrow(/UNIQUE/);
      await s.db.write((tx) => s.customKeyStores.insert(tx, customKeyStoreRecord({ name: 'empty', accountId: '444455556666' })));
      await expect(s.db.write((tx) => s.hsms.delete(tx, hsm.id))).rejects.toThrow(/FOREIGN KEY/);
    } finally {
      await s.close();
    }
  });
});
