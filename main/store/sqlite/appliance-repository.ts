// ApplianceRepository (../repositories.ts) on SQLite: the appliance and seal_config tables of
// ./migrations.ts, one row each (id = 1, enforced by a CHECK), and the mapping between seal_config's
// row and SealConfigRecord. The root key itself is never stored: only how it is sealed and its check value.
import type { ApplianceRepository } from '../repositories.js';
import type { SealConfigRecord } from '../records.js';
import type { Tx } from '../transaction.js';
import type { Row, SqliteDatabase } from './database.js';

function toSealConfig(r: Row): SealConfigRecord {
  return {
    mode: String(r.mode) as SealConfigRecord['mode'],
    threshold: Number(r.threshold),
    shareCount: Number(r.share_count),
    shareSetId: String(r.share_set_id),
    checkValue: r.check_value as Buffer,
    createdAt: Number(r.created_at),
  };
}

export class SqliteApplianceRepository implements ApplianceRepository {
  constructor(private readonly db: SqliteDatabase) {}

  async applianceId(tx?: Tx): Promise<string | undefined> {
    const r = await this.db.read(tx).get<{ appliance_id: string }>('SELECT appliance_id FROM appliance WHERE id = 1');
    return r?.appliance_id;
  }

  async ensureApplianceId(newId: string, nowMs: number): Promise<string> {
    return this.db.write(async (tx) => {
      const sql = this.db.sql(tx);
      await sql.run('INSERT OR IGNORE INTO appliance (id, appliance_id, created_at) VALUES (1, ?, ?)', newId, nowMs);
      const r = await sql.get<{ appliance_id: string }>('SELECT appliance_id FROM appliance WHERE id = 1');
      return r!.appliance_id;
    });
  }

  async sealConfig(tx?: Tx): Promise<SealConfigRecord | undefined> {
    const r = await this.db.read(tx).get('SELECT * FROM seal_config WHERE id = 1');
    return r ? toSealConfig(r) : undefined;
  }

  async insertSealConfig(tx: Tx, s: SealConfigRecord): Promise<boolean> {
    const r = await this.db
      .sql(tx)
      .run(
        'INSERT INTO seal_config (id, mode, threshold, share_count, share_set_id, check_value, created_at) VALUES (1, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING',
        s.mode,
        s.threshold,
        s.shareCount,
        s.shareSetId,
        s.checkValue,
        s.createdAt,
      );
    return r.changes === 1;
  }
}
