// ApplianceRepository (../repositories.ts) on SQLite: the appliance and seal_config tables of
// ./migrations.ts, one row each (id = 1, enforced by a CHECK), and the mapping between seal_config's
// row and SealConfigRecord. The root key itself is never stored: only how it is sealed and its check value
// (in pkcs11 mode also the root key as the token sealed it, in the pkcs11 JSON column, bytes in base64).
import type { ApplianceRepository } from '../repositories.js';
import type { Pkcs11SealRecord, SealConfigRecord } from '../records.js';
import type { Tx } from '../transaction.js';
import type { Row, SqliteDatabase } from './database.js';

interface Pkcs11Json {
  modulePath: string;
  tokenLabel: string;
  libraryParameters?: string;
  serialNumber?: string;
  keyId: string;
  keyLabel: string;
  iv: string;
  sealedRootKey: string;
}

function pkcs11ToJson(p: Pkcs11SealRecord): string {
  const j: Pkcs11Json = {
    modulePath: p.modulePath,
    tokenLabel: p.tokenLabel,
    ...(p.libraryParameters !== undefined ? { libraryParameters: p.libraryParameters } : {}),
    ...(p.serialNumber !== undefined ? { serialNumber: p.serialNumber } : {}),
    keyId: p.keyId.toString('base64'),
    keyLabel: p.keyLabel,
    iv: p.iv.toString('base64'),
    sealedRootKey: p.sealedRootKey.toString('base64'),
  };
  return JSON.stringify(j);
}

function pkcs11FromJson(text: string): Pkcs11SealRecord {
  const j = JSON.parse(text) as Pkcs11Json;
  return {
    modulePath: j.modulePath,
    tokenLabel: j.tokenLabel,
    ...(j.libraryParameters !== undefined ? { libraryParameters: j.libraryParameters } : {}),
    ...(typeof j.serialNumber === 'string' ? { serialNumber: j.serialNumber } : {}),
    keyId: Buffer.from(j.keyId, 'base64'),
    keyLabel: j.keyLabel,
    iv: Buffer.from(j.iv, 'base64'),
    sealedRootKey: Buffer.from(j.sealedRootKey, 'base64'),
  };
}

function toSealConfig(r: Row): SealConfigRecord {
  return {
    mode: String(r.mode) as SealConfigRecord['mode'],
    threshold: Number(r.threshold),
    shareCount: Number(r.share_count),
    shareSetId: String(r.share_set_id),
    checkValue: r.check_value as Buffer,
    createdAt: Number(r.created_at),
    ...(typeof r.pkcs11 === 'string' ? { pkcs11: pkcs11FromJson(r.pkcs11) } : {}),
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
    // The pkcs11 column is named only when there is one, so that Shamir and dev configurations are
    // written as before (tests write them into databases an older schema made, then migrate).
    const columns = ['id', 'mode', 'threshold', 'share_count', 'share_set_id', 'check_value', 'created_at', ...(s.pkcs11 ? ['pkcs11'] : [])];
    const values = [s.mode, s.threshold, s.shareCount, s.shareSetId, s.checkValue, s.createdAt, ...(s.pkcs11 ? [pkcs11ToJson(s.pkcs11)] : [])];
    const r = await this.db
      .sql(tx)
      .run(`INSERT INTO seal_config (${columns.join(', ')}) VALUES (1, ${values.map(() => '?').join(', ')}) ON CONFLICT (id) DO NOTHING`, ...values);
    return r.changes === 1;
  }

  async recordPkcs11SerialNumber(tx: Tx, serialNumber: string): Promise<boolean> {
    const r = await this.db
      .sql(tx)
      .run("UPDATE seal_config SET pkcs11 = json_set(pkcs11, '$.serialNumber', ?) WHERE id = 1 AND pkcs11 IS NOT NULL AND json_extract(pkcs11, '$.serialNumber') IS NULL", serialNumber);
    return r.changes === 1;
  }
}
