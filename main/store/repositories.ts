// Repositories over the schema of migrations.ts. Reads go to the reader connection; writes take the
// WriteTx of a Database.write() job so that a service composes several changes (and its audit entry)
// into one transaction.
import type { Database, Row, SqlValue, WriteTx } from './database.js';

/** What both the reader connection and a write job's transaction offer for reading. */
type Queryable = Pick<WriteTx, 'get' | 'all'>;
import type { AliasRecord, AuditRecord, CredentialRecord, ImportTokenRecord, KeyRecord, MaterialRecord, SealConfigRecord, TagRecord } from './records.js';

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

function toKey(r: Row): KeyRecord {
  return {
    keyId: String(r.key_id),
    accountId: String(r.account_id),
    region: String(r.region),
    description: String(r.description),
    keyUsage: String(r.key_usage),
    keySpec: String(r.key_spec),
    origin: String(r.origin),
    state: String(r.state),
    createdAt: Number(r.created_at),
    deletionAt: num(r.deletion_at),
    pendingWindowDays: num(r.pending_window_days),
    rotationEnabled: Number(r.rotation_enabled) === 1,
    rotationPeriodDays: num(r.rotation_period_days),
    nextRotationAt: num(r.next_rotation_at),
    onDemandRotationStartedAt: num(r.on_demand_rotation_started_at),
    policy: String(r.policy),
    currentMaterialId: r.current_material_id === null ? null : String(r.current_material_id),
    expirationModel: r.expiration_model === null || r.expiration_model === undefined ? null : String(r.expiration_model),
    validTo: num(r.valid_to),
    customKeyStoreId: r.custom_key_store_id === null || r.custom_key_store_id === undefined ? null : String(r.custom_key_store_id),
  };
}

/** An empty reference is how the NOT NULL column says "no material" (imported material deleted or expired). */
const refOf = (v: SqlValue | undefined): Buffer | null => (Buffer.isBuffer(v) && v.length > 0 ? v : null);

function toMaterial(r: Row): MaterialRecord {
  return {
    keyId: String(r.key_id),
    materialId: String(r.material_id),
    createdAt: Number(r.created_at),
    rotationType: r.rotation_type === null ? null : String(r.rotation_type),
    materialRef: refOf(r.material_ref),
    publicKey: (r.public_key as Buffer | null) ?? null,
    importState: r.import_state === null || r.import_state === undefined ? null : String(r.import_state),
    validTo: num(r.valid_to),
    expirationModel: r.expiration_model === null || r.expiration_model === undefined ? null : String(r.expiration_model),
    description: r.description === null || r.description === undefined ? null : String(r.description),
    pendingRotation: Number(r.pending_rotation) === 1,
  };
}

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

type Columns = [column: string, value: SqlValue][];

/** Every column of a key row, once: insert and update are built from this list. */
function keyColumns(k: KeyRecord): Columns {
  return [
    ['key_id', k.keyId],
    ['account_id', k.accountId],
    ['region', k.region],
    ['description', k.description],
    ['key_usage', k.keyUsage],
    ['key_spec', k.keySpec],
    ['origin', k.origin],
    ['state', k.state],
    ['created_at', k.createdAt],
    ['deletion_at', k.deletionAt],
    ['pending_window_days', k.pendingWindowDays],
    ['rotation_enabled', k.rotationEnabled ? 1 : 0],
    ['rotation_period_days', k.rotationPeriodDays],
    ['next_rotation_at', k.nextRotationAt],
    ['on_demand_rotation_started_at', k.onDemandRotationStartedAt],
    ['policy', k.policy],
    ['current_material_id', k.currentMaterialId],
    ['expiration_model', k.expirationModel],
    ['valid_to', k.validTo],
    ['custom_key_store_id', k.customKeyStoreId],
  ];
}

/** What a key never changes after CreateKey. */
const KEY_IMMUTABLE = ['account_id', 'region', 'key_usage', 'key_spec', 'origin', 'created_at', 'custom_key_store_id'];

function materialColumns(m: MaterialRecord): Columns {
  return [
    ['key_id', m.keyId],
    ['material_id', m.materialId],
    ['created_at', m.createdAt],
    ['rotation_type', m.rotationType],
    ['material_ref', m.materialRef ?? Buffer.alloc(0)],
    ['public_key', m.publicKey],
    ['import_state', m.importState],
    ['valid_to', m.validTo],
    ['expiration_model', m.expirationModel],
    ['description', m.description],
    ['pending_rotation', m.pendingRotation ? 1 : 0],
  ];
}

async function insertRow(tx: WriteTx, table: string, cols: Columns): Promise<void> {
  await tx.run(`INSERT INTO ${table} (${cols.map(([c]) => c).join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`, ...cols.map(([, v]) => v));
}

/** Updates every column but the key columns (which select the row) and the immutable ones. */
async function updateRow(tx: WriteTx, table: string, cols: Columns, keyCols: string[], immutable: string[]): Promise<void> {
  const set = cols.filter(([c]) => !keyCols.includes(c) && !immutable.includes(c));
  const where = keyCols.map((c) => cols.find(([name]) => name === c)!);
  await tx.run(
    `UPDATE ${table} SET ${set.map(([c]) => `${c} = ?`).join(', ')} WHERE ${where.map(([c]) => `${c} = ?`).join(' AND ')}`,
    ...set.map(([, v]) => v),
    ...where.map(([, v]) => v),
  );
}

export class SqliteKeyRepository {
  constructor(private readonly db: Database) {}

  /** Reads through the reader connection, or through a write job's transaction when given one. */
  async find(keyId: string, q: Queryable = this.db): Promise<KeyRecord | undefined> {
    const r = await q.get('SELECT * FROM keys WHERE key_id = ?', keyId);
    return r ? toKey(r) : undefined;
  }

  /** Keys of one account and region in key ID order, starting after `afterKeyId`. */
  async list(accountId: string, region: string, afterKeyId: string, limit: number): Promise<KeyRecord[]> {
    const rows = await this.db.all(
      'SELECT * FROM keys WHERE account_id = ? AND region = ? AND key_id > ? ORDER BY key_id LIMIT ?',
      accountId,
      region,
      afterKeyId,
      limit,
    );
    return rows.map(toKey);
  }

  async insert(tx: WriteTx, k: KeyRecord): Promise<void> {
    await insertRow(tx, 'keys', keyColumns(k));
  }

  /** Writes every mutable column of the key. */
  async update(tx: WriteTx, k: KeyRecord): Promise<void> {
    await updateRow(tx, 'keys', keyColumns(k), ['key_id'], KEY_IMMUTABLE);
  }

  /** Deletes the key with its materials, aliases and tags (ON DELETE CASCADE). */
  async delete(tx: WriteTx, keyId: string): Promise<void> {
    await tx.run('DELETE FROM keys WHERE key_id = ?', keyId);
  }

  async dueForDeletion(nowMs: number): Promise<KeyRecord[]> {
    const rows = await this.db.all("SELECT * FROM keys WHERE state = 'PendingDeletion' AND deletion_at <= ? ORDER BY deletion_at", nowMs);
    return rows.map(toKey);
  }

  async dueForRotation(nowMs: number): Promise<KeyRecord[]> {
    const rows = await this.db.all(
      "SELECT * FROM keys WHERE rotation_enabled = 1 AND next_rotation_at <= ? AND state IN ('Enabled') ORDER BY next_rotation_at",
      nowMs,
    );
    return rows.map(toKey);
  }

  async findMaterial(keyId: string, materialId: string): Promise<MaterialRecord | undefined> {
    const r = await this.db.get('SELECT * FROM key_materials WHERE key_id = ? AND material_id = ?', keyId, materialId);
    return r ? toMaterial(r) : undefined;
  }

  async listMaterials(keyId: string): Promise<MaterialRecord[]> {
    const rows = await this.db.all('SELECT * FROM key_materials WHERE key_id = ? ORDER BY created_at, rowid', keyId);
    return rows.map(toMaterial);
  }

  async countMaterialsIn(tx: WriteTx, keyId: string, rotationType: string): Promise<number> {
    const r = await tx.get<{ n: number }>('SELECT COUNT(*) AS n FROM key_materials WHERE key_id = ? AND rotation_type = ?', keyId, rotationType);
    return r?.n ?? 0;
  }

  async insertMaterial(tx: WriteTx, m: MaterialRecord): Promise<void> {
    await insertRow(tx, 'key_materials', materialColumns(m));
  }

  /** Rewrites an imported material's mutable columns (re-import, deletion, expiry, rotation into place). */
  async updateMaterial(tx: WriteTx, m: MaterialRecord): Promise<void> {
    await updateRow(tx, 'key_materials', materialColumns(m), ['key_id', 'material_id'], []);
  }

  async listMaterialsIn(tx: WriteTx, keyId: string): Promise<MaterialRecord[]> {
    const rows = await tx.all('SELECT * FROM key_materials WHERE key_id = ? ORDER BY created_at, rowid', keyId);
    return rows.map(toMaterial);
  }

  /** Imported materials that are still present and whose ValidTo has passed. */
  async expiredMaterials(nowMs: number): Promise<MaterialRecord[]> {
    const rows = await this.db.all("SELECT * FROM key_materials WHERE valid_to <= ? AND import_state = 'IMPORTED' ORDER BY valid_to", nowMs);
    return rows.map(toMaterial);
  }

  async insertImportToken(tx: WriteTx, t: ImportTokenRecord): Promise<void> {
    await tx.run(
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

  async findImportToken(tokenHash: Buffer, q: Queryable = this.db): Promise<ImportTokenRecord | undefined> {
    const r = await q.get('SELECT * FROM import_tokens WHERE token_hash = ?', tokenHash);
    if (!r) return undefined;
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

  async deleteImportToken(tx: WriteTx, tokenHash: Buffer): Promise<void> {
    await tx.run('DELETE FROM import_tokens WHERE token_hash = ?', tokenHash);
  }

  /** Expired import tokens and their wrapping private keys go; returns how many. */
  async deleteExpiredImportTokens(tx: WriteTx, nowMs: number): Promise<number> {
    return (await tx.run('DELETE FROM import_tokens WHERE expires_at <= ?', nowMs)).changes;
  }

  async findAlias(accountId: string, region: string, aliasName: string, q: Queryable = this.db): Promise<AliasRecord | undefined> {
    const r = await q.get('SELECT * FROM aliases WHERE account_id = ? AND region = ? AND alias_name = ?', accountId, region, aliasName);
    return r ? toAlias(r) : undefined;
  }

  async listAliases(accountId: string, region: string, keyId: string | null, afterName: string, limit: number): Promise<AliasRecord[]> {
    const rows = await this.db.all(
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

  async insertAlias(tx: WriteTx, a: AliasRecord): Promise<void> {
    await tx.run(
      'INSERT INTO aliases (account_id, region, alias_name, key_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)',
      a.accountId,
      a.region,
      a.aliasName,
      a.keyId,
      a.createdAt,
      a.updatedAt,
    );
  }

  async retargetAlias(tx: WriteTx, a: AliasRecord, keyId: string, nowMs: number): Promise<void> {
    await tx.run(
      'UPDATE aliases SET key_id = ?, updated_at = ? WHERE account_id = ? AND region = ? AND alias_name = ?',
      keyId,
      nowMs,
      a.accountId,
      a.region,
      a.aliasName,
    );
  }

  async deleteAlias(tx: WriteTx, a: AliasRecord): Promise<void> {
    await tx.run('DELETE FROM aliases WHERE account_id = ? AND region = ? AND alias_name = ?', a.accountId, a.region, a.aliasName);
  }

  async listTags(keyId: string): Promise<TagRecord[]> {
    const rows = await this.db.all('SELECT tag_key, tag_value FROM tags WHERE key_id = ? ORDER BY tag_key', keyId);
    return rows.map((r) => ({ tagKey: String(r.tag_key), tagValue: String(r.tag_value) }));
  }

  async countTagsIn(tx: WriteTx, keyId: string): Promise<number> {
    const r = await tx.get<{ n: number }>('SELECT COUNT(*) AS n FROM tags WHERE key_id = ?', keyId);
    return r?.n ?? 0;
  }

  async putTag(tx: WriteTx, keyId: string, t: TagRecord): Promise<void> {
    await tx.run(
      'INSERT INTO tags (key_id, tag_key, tag_value) VALUES (?, ?, ?) ON CONFLICT (key_id, tag_key) DO UPDATE SET tag_value = excluded.tag_value',
      keyId,
      t.tagKey,
      t.tagValue,
    );
  }

  async deleteTag(tx: WriteTx, keyId: string, tagKey: string): Promise<void> {
    await tx.run('DELETE FROM tags WHERE key_id = ? AND tag_key = ?', keyId, tagKey);
  }
}

export class SqliteCredentialRepository {
  constructor(private readonly db: Database) {}

  private static toRecord(r: Row): CredentialRecord {
    return {
      accessKeyId: String(r.access_key_id),
      secretSealed: r.secret_sealed as Buffer,
      accountId: String(r.account_id),
      principalArn: String(r.principal_arn),
      description: String(r.description),
      createdAt: Number(r.created_at),
    };
  }

  async find(accessKeyId: string): Promise<CredentialRecord | undefined> {
    const r = await this.db.get('SELECT * FROM credentials WHERE access_key_id = ?', accessKeyId);
    return r ? SqliteCredentialRepository.toRecord(r) : undefined;
  }

  async list(): Promise<CredentialRecord[]> {
    const rows = await this.db.all('SELECT * FROM credentials ORDER BY created_at, access_key_id');
    return rows.map(SqliteCredentialRepository.toRecord);
  }

  async insert(tx: WriteTx, c: CredentialRecord): Promise<void> {
    await tx.run(
      'INSERT INTO credentials (access_key_id, secret_sealed, account_id, principal_arn, description, created_at) VALUES (?, ?, ?, ?, ?, ?)',
      c.accessKeyId,
      c.secretSealed,
      c.accountId,
      c.principalArn,
      c.description,
      c.createdAt,
    );
  }

  async delete(tx: WriteTx, accessKeyId: string): Promise<boolean> {
    const r = await tx.run('DELETE FROM credentials WHERE access_key_id = ?', accessKeyId);
    return r.changes > 0;
  }
}

export class SqliteApplianceRepository {
  constructor(private readonly db: Database) {}

  async applianceId(): Promise<string | undefined> {
    const r = await this.db.get<{ appliance_id: string }>('SELECT appliance_id FROM appliance WHERE id = 1');
    return r?.appliance_id;
  }

  async ensureApplianceId(newId: string, nowMs: number): Promise<string> {
    return this.db.write(async (tx) => {
      await tx.run('INSERT OR IGNORE INTO appliance (id, appliance_id, created_at) VALUES (1, ?, ?)', newId, nowMs);
      const r = await tx.get<{ appliance_id: string }>('SELECT appliance_id FROM appliance WHERE id = 1');
      return r!.appliance_id;
    });
  }

  async sealConfig(): Promise<SealConfigRecord | undefined> {
    const r = await this.db.get('SELECT * FROM seal_config WHERE id = 1');
    if (!r) return undefined;
    return {
      mode: String(r.mode) as SealConfigRecord['mode'],
      threshold: Number(r.threshold),
      shareCount: Number(r.share_count),
      shareSetId: String(r.share_set_id),
      checkValue: r.check_value as Buffer,
      createdAt: Number(r.created_at),
    };
  }

  /** Inserts the one seal configuration; false (and nothing written) if there already is one. */
  async insertSealConfig(tx: WriteTx, s: SealConfigRecord): Promise<boolean> {
    const r = await tx.run(
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

export class SqliteAuditRepository {
  constructor(private readonly db: Database) {}

  async lastIn(tx: WriteTx): Promise<{ seq: number; hash: Buffer } | undefined> {
    const r = await tx.get<{ seq: number; hash: Buffer }>('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1');
    return r ?? undefined;
  }

  async insert(tx: WriteTx, a: AuditRecord): Promise<void> {
    await tx.run('INSERT INTO audit_log (seq, at, entry, prev_hash, hash) VALUES (?, ?, ?, ?, ?)', a.seq, a.at, a.entry, a.prevHash, a.hash);
  }

  /** Inserts consecutive entries with as few statements as SQLite's parameter limit allows. */
  async insertMany(tx: WriteTx, rows: AuditRecord[]): Promise<void> {
    const PER_STATEMENT = 100;
    for (let i = 0; i < rows.length; i += PER_STATEMENT) {
      const chunk = rows.slice(i, i + PER_STATEMENT);
      const params = chunk.flatMap((a) => [a.seq, a.at, a.entry, a.prevHash, a.hash]);
      await tx.run(`INSERT INTO audit_log (seq, at, entry, prev_hash, hash) VALUES ${chunk.map(() => '(?, ?, ?, ?, ?)').join(', ')}`, ...params);
    }
  }

  /** Every entry in sequence order, a page at a time. */
  async page(afterSeq: number, limit: number): Promise<AuditRecord[]> {
    const rows = await this.db.all('SELECT * FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?', afterSeq, limit);
    return rows.map((r) => ({
      seq: Number(r.seq),
      at: Number(r.at),
      entry: String(r.entry),
      prevHash: r.prev_hash as Buffer,
      hash: r.hash as Buffer,
    }));
  }

  async count(): Promise<number> {
    const r = await this.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM audit_log');
    return r?.n ?? 0;
  }

  /** The newest entry as committed (read outside any write transaction: `kura audit head`). */
  async last(): Promise<AuditRecord | undefined> {
    const r = await this.db.get('SELECT * FROM audit_log ORDER BY seq DESC LIMIT 1');
    return r ? auditRecord(r) : undefined;
  }

  /**
   * Entries matching a filter, in sequence order: those after `afterSeq`, at or after `sinceMs`,
   * whose entry names `keyId` / `operation`; with `newest`, the last `limit` of them (else the
   * first). The filters read the canonical entry JSON with SQLite's json_extract.
   */
  async query(filter: { afterSeq?: number; sinceMs?: number; keyId?: string; operation?: string; limit?: number; newest?: boolean }): Promise<AuditRecord[]> {
    const where: string[] = [];
    const params: SqlValue[] = [];
    if (filter.afterSeq !== undefined) {
      where.push('seq > ?');
      params.push(filter.afterSeq);
    }
    if (filter.sinceMs !== undefined) {
      where.push('at >= ?');
      params.push(filter.sinceMs);
    }
    if (filter.keyId !== undefined) {
      where.push("json_extract(entry, '$.keyId') = ?");
      params.push(filter.keyId);
    }
    if (filter.operation !== undefined) {
      where.push("json_extract(entry, '$.operation') = ?");
      params.push(filter.operation);
    }
    const cond = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const limit = filter.limit ?? -1;
    const sql = filter.newest
      ? `SELECT * FROM (SELECT * FROM audit_log ${cond} ORDER BY seq DESC LIMIT ?) ORDER BY seq`
      : `SELECT * FROM audit_log ${cond} ORDER BY seq LIMIT ?`;
    const rows = await this.db.all(sql, ...params, limit);
    return rows.map(auditRecord);
  }
}

function auditRecord(r: Row): AuditRecord {
  return { seq: Number(r.seq), at: Number(r.at), entry: String(r.entry), prevHash: r.prev_hash as Buffer, hash: r.hash as Buffer };
}
