// The custom key store rows of migration 4: which HSM token (AWS_CLOUDHSM) or external key store proxy
// (EXTERNAL_KEY_STORE) backs a custom key store ID, its connection state, and its type's settings as
// JSON. Reads go to the reader connection (or a write job's transaction); writes take the WriteTx.
import type { Database, Row, WriteTx } from './database.js';
import type { CustomKeyStoreRecord } from './records.js';

/** What both the reader connection and a write job's transaction offer for reading. */
type Queryable = Pick<WriteTx, 'get' | 'all'>;

export class SqliteCustomKeyStoreRepository {
  constructor(private readonly db: Database) {}

  private static toRecord(r: Row): CustomKeyStoreRecord {
    return {
      id: String(r.id),
      name: String(r.name),
      type: String(r.type) as CustomKeyStoreRecord['type'],
      connectionState: String(r.connection_state) as CustomKeyStoreRecord['connectionState'],
      createdAt: Number(r.created_at),
      config: JSON.parse(String(r.config)) as Record<string, unknown>,
    };
  }

  async find(id: string, q: Queryable = this.db): Promise<CustomKeyStoreRecord | undefined> {
    const r = await q.get('SELECT * FROM custom_key_stores WHERE id = ?', id);
    return r ? SqliteCustomKeyStoreRepository.toRecord(r) : undefined;
  }

  async list(): Promise<CustomKeyStoreRecord[]> {
    const rows = await this.db.all('SELECT * FROM custom_key_stores ORDER BY created_at, id');
    return rows.map(SqliteCustomKeyStoreRepository.toRecord);
  }

  async insert(tx: WriteTx, c: CustomKeyStoreRecord): Promise<void> {
    await tx.run(
      'INSERT INTO custom_key_stores (id, name, type, connection_state, created_at, config) VALUES (?, ?, ?, ?, ?, ?)',
      c.id,
      c.name,
      c.type,
      c.connectionState,
      c.createdAt,
      JSON.stringify(c.config),
    );
  }

  async setConnectionState(tx: WriteTx, id: string, state: CustomKeyStoreRecord['connectionState']): Promise<void> {
    await tx.run('UPDATE custom_key_stores SET connection_state = ? WHERE id = ?', state, id);
  }

  /** Refused by the foreign key while a key still lives in the store (AWS: delete its keys first). */
  async delete(tx: WriteTx, id: string): Promise<boolean> {
    return (await tx.run('DELETE FROM custom_key_stores WHERE id = ?', id)).changes > 0;
  }
}
