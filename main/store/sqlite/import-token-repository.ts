// ImportTokenRepository (../repositories.ts) on SQLite: the import_tokens table of ./migrations.ts
// (the token kept only as its SHA-256; the wrapping key's reference in the column that version 3 named
// private_key_sealed; deleted with its key by a foreign key) and the mapping between its rows and
// ImportTokenRecord.
import type { ImportTokenRepository } from '../repositories.js';
import type { ImportTokenRecord } from '../records.js';
import type { Tx } from '../transaction.js';
import type { Row, SqliteDatabase } from './database.js';

function toImportToken(r: Row): ImportTokenRecord {
  return {
    tokenHash: r.token_hash as Buffer,
    keyId: String(r.key_id),
    wrappingAlgorithm: String(r.wrapping_algorithm),
    wrappingKeySpec: String(r.wrapping_key_spec),
    wrappingKeyRef: r.private_key_sealed as Buffer,
    createdAt: Number(r.created_at),
    expiresAt: Number(r.expires_at),
  };
}

export class SqliteImportTokenRepository implements ImportTokenRepository {
  constructor(private readonly db: SqliteDatabase) {}

  async find(tokenHash: Buffer, tx?: Tx): Promise<ImportTokenRecord | undefined> {
    const r = await this.db.read(tx).get('SELECT * FROM import_tokens WHERE token_hash = ?', tokenHash);
    return r ? toImportToken(r) : undefined;
  }

  async insert(tx: Tx, t: ImportTokenRecord): Promise<void> {
    await this.db.sql(tx).run(
      `INSERT INTO import_tokens (token_hash, key_id, wrapping_algorithm, wrapping_key_spec, private_key_sealed, created_at, expires_at)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
      t.tokenHash,
      t.keyId,
      t.wrappingAlgorithm,
      t.wrappingKeySpec,
      t.wrappingKeyRef,
      t.createdAt,
      t.expiresAt,
    );
  }

  async delete(tx: Tx, tokenHash: Buffer): Promise<void> {
    await this.db.sql(tx).run('DELETE FROM import_tokens WHERE token_hash = ?', tokenHash);
  }

  async deleteExpired(tx: Tx, nowMs: number, madeAfterMs: number = Number.MAX_SAFE_INTEGER): Promise<number> {
    return (await this.db.sql(tx).run('DELETE FROM import_tokens WHERE expires_at <= ? OR created_at > ?', nowMs, madeAfterMs)).changes;
  }
}
