// XksRepository (../repositories.ts) on SQLite: the xks_stores, xks_credentials and xks_keys tables of
// migrations 7 and 8 (./migrations.ts) and the mapping between their rows and the XKS records. Deleting a
// store takes its credentials with it (ON DELETE CASCADE); xks_keys.store_id has no cascade, which is what
// refuses deleting a store that still has keys.
import type { XksRepository } from '../repositories.js';
import type { XksCredentialRecord, XksKeyRecord, XksStoreRecord } from '../records.js';
import type { Tx } from '../transaction.js';
import type { Row, SqliteDatabase } from './database.js';

const toStore = (r: Row): XksStoreRecord => ({
  id: String(r.id),
  uriPathPrefix: String(r.uri_path_prefix),
  hsmId: r.hsm_id === null || r.hsm_id === undefined ? null : String(r.hsm_id),
  pinSealed: (r.pin_sealed as Buffer | null | undefined) ?? null,
  healthKeyRef: (r.health_key_ref as Buffer | null | undefined) ?? null,
  createdAt: Number(r.created_at),
});

const toCredential = (r: Row): XksCredentialRecord => ({
  accessKeyId: String(r.access_key_id),
  storeId: String(r.store_id),
  secretSealed: r.secret_sealed as Buffer,
  createdAt: Number(r.created_at),
});

const toKey = (r: Row): XksKeyRecord => ({
  externalKeyId: String(r.external_key_id),
  storeId: String(r.store_id),
  usage: String(r.usage) === '' ? [] : (String(r.usage).split(',') as XksKeyRecord['usage']),
  status: String(r.status) as XksKeyRecord['status'],
  materialId: String(r.material_id),
  materialRef: r.material_ref as Buffer,
  createdAt: Number(r.created_at),
});

export class SqliteXksRepository implements XksRepository {
  constructor(private readonly db: SqliteDatabase) {}

  async findStore(id: string, tx?: Tx): Promise<XksStoreRecord | undefined> {
    const r = await this.db.read(tx).get('SELECT * FROM xks_stores WHERE id = ?', id);
    return r ? toStore(r) : undefined;
  }

  async findStoreByPrefix(uriPathPrefix: string, tx?: Tx): Promise<XksStoreRecord | undefined> {
    const r = await this.db.read(tx).get('SELECT * FROM xks_stores WHERE uri_path_prefix = ?', uriPathPrefix);
    return r ? toStore(r) : undefined;
  }

  async listStores(tx?: Tx): Promise<XksStoreRecord[]> {
    return (await this.db.read(tx).all('SELECT * FROM xks_stores ORDER BY created_at, id')).map(toStore);
  }

  async insertStore(tx: Tx, s: XksStoreRecord): Promise<void> {
    await this.db
      .sql(tx)
      .run('INSERT INTO xks_stores (id, uri_path_prefix, hsm_id, pin_sealed, health_key_ref, created_at) VALUES (?, ?, ?, ?, ?, ?)', s.id, s.uriPathPrefix, s.hsmId, s.pinSealed, s.healthKeyRef, s.createdAt);
  }

  async deleteStore(tx: Tx, id: string): Promise<boolean> {
    return (await this.db.sql(tx).run('DELETE FROM xks_stores WHERE id = ?', id)).changes > 0;
  }

  async setStorePin(tx: Tx, id: string, pinSealed: Buffer): Promise<boolean> {
    return (await this.db.sql(tx).run('UPDATE xks_stores SET pin_sealed = ? WHERE id = ? AND hsm_id IS NOT NULL', pinSealed, id)).changes > 0;
  }

  async findCredential(accessKeyId: string, tx?: Tx): Promise<XksCredentialRecord | undefined> {
    const r = await this.db.read(tx).get('SELECT * FROM xks_credentials WHERE access_key_id = ?', accessKeyId);
    return r ? toCredential(r) : undefined;
  }

  async listCredentials(storeId: string, tx?: Tx): Promise<XksCredentialRecord[]> {
    return (await this.db.read(tx).all('SELECT * FROM xks_credentials WHERE store_id = ? ORDER BY created_at, access_key_id', storeId)).map(toCredential);
  }

  async insertCredential(tx: Tx, c: XksCredentialRecord): Promise<void> {
    await this.db.sql(tx).run('INSERT INTO xks_credentials (access_key_id, store_id, secret_sealed, created_at) VALUES (?, ?, ?, ?)', c.accessKeyId, c.storeId, c.secretSealed, c.createdAt);
  }

  async deleteCredential(tx: Tx, accessKeyId: string): Promise<boolean> {
    return (await this.db.sql(tx).run('DELETE FROM xks_credentials WHERE access_key_id = ?', accessKeyId)).changes > 0;
  }

  async findKey(storeId: string, externalKeyId: string, tx?: Tx): Promise<XksKeyRecord | undefined> {
    const r = await this.db.read(tx).get('SELECT * FROM xks_keys WHERE store_id = ? AND external_key_id = ?', storeId, externalKeyId);
    return r ? toKey(r) : undefined;
  }

  async listKeys(storeId: string, tx?: Tx): Promise<XksKeyRecord[]> {
    return (await this.db.read(tx).all('SELECT * FROM xks_keys WHERE store_id = ? ORDER BY created_at, external_key_id', storeId)).map(toKey);
  }

  async insertKey(tx: Tx, k: XksKeyRecord): Promise<void> {
    await this.db
      .sql(tx)
      .run(
        'INSERT INTO xks_keys (external_key_id, store_id, usage, status, material_id, material_ref, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
        k.externalKeyId,
        k.storeId,
        k.usage.join(','),
        k.status,
        k.materialId,
        k.materialRef,
        k.createdAt,
      );
  }

  async setKeyStatus(tx: Tx, storeId: string, externalKeyId: string, status: XksKeyRecord['status']): Promise<boolean> {
    return (await this.db.sql(tx).run('UPDATE xks_keys SET status = ? WHERE store_id = ? AND external_key_id = ?', status, storeId, externalKeyId)).changes > 0;
  }

  async deleteKey(tx: Tx, storeId: string, externalKeyId: string): Promise<boolean> {
    return (await this.db.sql(tx).run('DELETE FROM xks_keys WHERE store_id = ? AND external_key_id = ?', storeId, externalKeyId)).changes > 0;
  }
}
