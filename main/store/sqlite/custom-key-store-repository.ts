// CustomKeyStoreRepository (../repositories.ts) on SQLite: the custom_key_stores table of migrations 4
// and 17 (./migrations.ts) — the account and Region a store belongs to, which HSM token (AWS_CLOUDHSM) or external key store proxy (EXTERNAL_KEY_STORE)
// backs a custom key store ID, its connection state, and its type's settings as JSON — and the mapping
// between its rows and CustomKeyStoreRecord. keys.custom_key_store_id references it, which is what
// refuses deleting a store that still holds a key.
import type { CustomKeyStoreRepository } from '../repositories.js';
import type { CustomKeyStoreRecord } from '../records.js';
import type { Tx } from '../transaction.js';
import type { Row, SqliteDatabase } from './database.js';

function toCustomKeyStore(r: Row): CustomKeyStoreRecord {
  return {
    id: String(r.id),
    accountId: String(r.account_id),
    region: String(r.region),
    name: String(r.name),
    type: String(r.type) as CustomKeyStoreRecord['type'],
    connectionState: String(r.connection_state) as CustomKeyStoreRecord['connectionState'],
    createdAt: Number(r.created_at),
    hsmId: r.hsm_id === null || r.hsm_id === undefined ? null : String(r.hsm_id),
    config: JSON.parse(String(r.config)) as Record<string, unknown>,
  };
}

export class SqliteCustomKeyStoreRepository implements CustomKeyStoreRepository {
  constructor(private readonly db: SqliteDatabase) {}

  async find(id: string, tx?: Tx): Promise<CustomKeyStoreRecord | undefined> {
    const r = await this.db.read(tx).get('SELECT * FROM custom_key_stores WHERE id = ?', id);
    return r ? toCustomKeyStore(r) : undefined;
  }

  async list(tx?: Tx): Promise<CustomKeyStoreRecord[]> {
    const rows = await this.db.read(tx).all('SELECT * FROM custom_key_stores ORDER BY created_at, id');
    return rows.map(toCustomKeyStore);
  }

  async listIn(scope: { accountId: string; region: string }, tx?: Tx): Promise<CustomKeyStoreRecord[]> {
    const rows = await this.db.read(tx).all('SELECT * FROM custom_key_stores WHERE account_id = ? AND region = ? ORDER BY created_at, id', scope.accountId, scope.region);
    return rows.map(toCustomKeyStore);
  }

  async insert(tx: Tx, c: CustomKeyStoreRecord): Promise<void> {
    await this.db
      .sql(tx)
      .run(
        'INSERT INTO custom_key_stores (id, account_id, region, name, type, connection_state, created_at, hsm_id, config) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
        c.id,
        c.accountId,
        c.region,
        c.name,
        c.type,
        c.connectionState,
        c.createdAt,
        c.hsmId,
        JSON.stringify(c.config),
      );
  }

  async update(tx: Tx, c: Pick<CustomKeyStoreRecord, 'id' | 'name' | 'hsmId' | 'config'>): Promise<void> {
    await this.db.sql(tx).run('UPDATE custom_key_stores SET name = ?, hsm_id = ?, config = ? WHERE id = ?', c.name, c.hsmId, JSON.stringify(c.config), c.id);
  }

  async countKeys(id: string, tx?: Tx): Promise<number> {
    const r = await this.db.read(tx).get<{ n: number }>('SELECT COUNT(*) AS n FROM keys WHERE custom_key_store_id = ?', id);
    return r?.n ?? 0;
  }

  async setConnectionState(tx: Tx, id: string, state: CustomKeyStoreRecord['connectionState']): Promise<void> {
    await this.db.sql(tx).run('UPDATE custom_key_stores SET connection_state = ? WHERE id = ?', state, id);
  }

  async delete(tx: Tx, id: string): Promise<boolean> {
    return (await this.db.sql(tx).run('DELETE FROM custom_key_stores WHERE id = ?', id)).changes > 0;
  }
}
