// CredentialRepository (../repositories.ts) on SQLite: the credentials table of ./migrations.ts and the
// mapping between its rows and CredentialRecord. The secret arrives sealed (main/auth) and is stored as
// it comes.
import type { CredentialRepository } from '../repositories.js';
import type { CredentialRecord } from '../records.js';
import type { Tx } from '../transaction.js';
import type { Row, SqliteDatabase } from './database.js';

function toCredential(r: Row): CredentialRecord {
  return {
    accessKeyId: String(r.access_key_id),
    secretSealed: r.secret_sealed as Buffer,
    accountId: String(r.account_id),
    principalArn: String(r.principal_arn),
    description: String(r.description),
    createdAt: Number(r.created_at),
  };
}

export class SqliteCredentialRepository implements CredentialRepository {
  constructor(private readonly db: SqliteDatabase) {}

  async find(accessKeyId: string, tx?: Tx): Promise<CredentialRecord | undefined> {
    const r = await this.db.read(tx).get('SELECT * FROM credentials WHERE access_key_id = ?', accessKeyId);
    return r ? toCredential(r) : undefined;
  }

  async list(tx?: Tx): Promise<CredentialRecord[]> {
    const rows = await this.db.read(tx).all('SELECT * FROM credentials ORDER BY created_at, access_key_id');
    return rows.map(toCredential);
  }

  async insert(tx: Tx, c: CredentialRecord): Promise<void> {
    await this.db
      .sql(tx)
      .run(
        'INSERT INTO credentials (access_key_id, secret_sealed, account_id, principal_arn, description, created_at) VALUES (?, ?, ?, ?, ?, ?)',
        c.accessKeyId,
        c.secretSealed,
        c.accountId,
        c.principalArn,
        c.description,
        c.createdAt,
      );
  }

  async delete(tx: Tx, accessKeyId: string): Promise<boolean> {
    const r = await this.db.sql(tx).run('DELETE FROM credentials WHERE access_key_id = ?', accessKeyId);
    return r.changes > 0;
  }
}
