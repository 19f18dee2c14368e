// AliasRepository (../repositories.ts) on SQLite: the aliases table of ./migrations.ts (primary key
// account, region, alias name; the key it points at by a foreign key that deletes the alias with its
// key) and the mapping between its rows and AliasRecord.
import type { AliasRepository } from '../repositories.js';
import type { AliasRecord } from '../records.js';
import type { Tx } from '../transaction.js';
import type { Row, SqliteDatabase } from './database.js';

function toAlias(r: Row): AliasRecord {
  return {
    accountId: String(r.account_id),
    region: String(r.region),
    aliasName: String(r.alias_name),
    keyId: String(r.key_id),
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  };
}

export class SqliteAliasRepository implements AliasRepository {
  constructor(private readonly db: SqliteDatabase) {}

  async find(accountId: string, region: string, aliasName: string, tx?: Tx): Promise<AliasRecord | undefined> {
    const r = await this.db.read(tx).get('SELECT * FROM aliases WHERE account_id = ? AND region = ? AND alias_name = ?', accountId, region, aliasName);
    return r ? toAlias(r) : undefined;
  }

  async list(accountId: string, region: string, keyId: string | null, afterName: string, limit: number, tx?: Tx): Promise<AliasRecord[]> {
    const rows = await this.db
      .read(tx)
      .all(
        'SELECT * FROM aliases WHERE account_id = ? AND region = ? AND (? IS NULL OR key_id = ?) AND alias_name > ? ORDER BY alias_name LIMIT ?',
        accountId,
        region,
        keyId,
        keyId,
        afterName,
        limit,
      );
    return rows.map(toAlias);
  }

  async insert(tx: Tx, a: AliasRecord): Promise<void> {
    await this.db
      .sql(tx)
      .run(
        'INSERT INTO aliases (account_id, region, alias_name, key_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)',
        a.accountId,
        a.region,
        a.aliasName,
        a.keyId,
        a.createdAt,
        a.updatedAt,
      );
  }

  async retarget(tx: Tx, a: AliasRecord, keyId: string, nowMs: number): Promise<void> {
    await this.db
      .sql(tx)
      .run('UPDATE aliases SET key_id = ?, updated_at = ? WHERE account_id = ? AND region = ? AND alias_name = ?', keyId, nowMs, a.accountId, a.region, a.aliasName);
  }

  async delete(tx: Tx, a: AliasRecord): Promise<void> {
    await this.db.sql(tx).run('DELETE FROM aliases WHERE account_id = ? AND region = ? AND alias_name = ?', a.accountId, a.region, a.aliasName);
  }
}
