// HsmRepository (../repositories.ts) on SQLite: the hsms table of migration 5 (./migrations.ts) — the
// PKCS#11 module and token label of each HSM an operator registered, and what its token said of itself —
// and the mapping between its rows and HsmRecord. custom_key_stores.hsm_id references it, which is what
// refuses removing an HSM that a custom key store still uses.
import type { HsmRepository } from '../repositories.js';
import type { HsmRecord } from '../records.js';
import type { Tx } from '../transaction.js';
import type { Row, SqliteDatabase } from './database.js';

function toHsm(r: Row): HsmRecord {
  return {
    id: String(r.id),
    modulePath: String(r.module_path),
    tokenLabel: String(r.token_label),
    libraryParameters: r.library_parameters === null || r.library_parameters === undefined ? null : String(r.library_parameters),
    manufacturer: String(r.manufacturer),
    model: String(r.model),
    serialNumber: String(r.serial_number),
    createdAt: Number(r.created_at),
  };
}

export class SqliteHsmRepository implements HsmRepository {
  constructor(private readonly db: SqliteDatabase) {}

  async find(id: string, tx?: Tx): Promise<HsmRecord | undefined> {
    const r = await this.db.read(tx).get('SELECT * FROM hsms WHERE id = ?', id);
    return r ? toHsm(r) : undefined;
  }

  async list(tx?: Tx): Promise<HsmRecord[]> {
    return (await this.db.read(tx).all('SELECT * FROM hsms ORDER BY created_at, id')).map(toHsm);
  }

  async insert(tx: Tx, h: HsmRecord): Promise<void> {
    await this.db
      .sql(tx)
      .run(
        'INSERT INTO hsms (id, module_path, token_label, library_parameters, manufacturer, model, serial_number, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
        h.id,
        h.modulePath,
        h.tokenLabel,
        h.libraryParameters,
        h.manufacturer,
        h.model,
        h.serialNumber,
        h.createdAt,
      );
  }

  async delete(tx: Tx, id: string): Promise<boolean> {
    return (await this.db.sql(tx).run('DELETE FROM hsms WHERE id = ?', id)).changes > 0;
  }
}
