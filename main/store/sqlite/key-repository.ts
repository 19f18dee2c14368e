// KeyRepository (../repositories.ts) on SQLite: the keys, key_materials and tags tables of
// ./migrations.ts, and the mapping between their rows and KeyRecord, MaterialRecord and TagRecord.
// Materials and tags reference their key with ON DELETE CASCADE, and so do aliases and import tokens:
// deleting a key's row is the whole of KeyRepository.delete.
import type { DerivedKeyState, KeyFilter, KeyRepository } from '../repositories.js';
import type { KeyRecord, MaterialRecord, TagRecord } from '../records.js';
import type { Tx } from '../transaction.js';
import type { Row, Sql, SqliteDatabase, SqlValue } from './database.js';

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const text = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

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
    expirationModel: text(r.expiration_model),
    validTo: num(r.valid_to),
    customKeyStoreId: text(r.custom_key_store_id),
    xksKeyId: text(r.xks_key_id),
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
    rotatedAt: num(r.rotated_at),
    materialRef: refOf(r.material_ref),
    publicKey: (r.public_key as Buffer | null) ?? null,
    importState: text(r.import_state),
    validTo: num(r.valid_to),
    expirationModel: text(r.expiration_model),
    description: text(r.description),
    pendingRotation: Number(r.pending_rotation) === 1,
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
    ['xks_key_id', k.xksKeyId],
  ];
}

/** What a key never changes after CreateKey. */
const KEY_IMMUTABLE = ['account_id', 'region', 'key_usage', 'key_spec', 'origin', 'created_at', 'custom_key_store_id', 'xks_key_id'];

function materialColumns(m: MaterialRecord): Columns {
  return [
    ['key_id', m.keyId],
    ['material_id', m.materialId],
    ['created_at', m.createdAt],
    ['rotation_type', m.rotationType],
    ['rotated_at', m.rotatedAt],
    ['material_ref', m.materialRef ?? Buffer.alloc(0)],
    ['public_key', m.publicKey],
    ['import_state', m.importState],
    ['valid_to', m.validTo],
    ['expiration_model', m.expirationModel],
    ['description', m.description],
    ['pending_rotation', m.pendingRotation ? 1 : 0],
  ];
}

async function insertRow(sql: Sql, table: string, cols: Columns): Promise<void> {
  await sql.run(`INSERT INTO ${table} (${cols.map(([c]) => c).join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`, ...cols.map(([, v]) => v));
}

/** Updates every column but the key columns (which select the row) and the immutable ones. */
async function updateRow(sql: Sql, table: string, cols: Columns, keyCols: string[], immutable: string[]): Promise<void> {
  const set = cols.filter(([c]) => !keyCols.includes(c) && !immutable.includes(c));
  const where = keyCols.map((c) => cols.find(([name]) => name === c)!);
  await sql.run(
    `UPDATE ${table} SET ${set.map(([c]) => `${c} = ?`).join(', ')} WHERE ${where.map(([c]) => `${c} = ?`).join(' AND ')}`,
    ...set.map(([, v]) => v),
    ...where.map(([, v]) => v),
  );
}

/** Imported material still present whose ValidTo has come by the time given as its parameter (expiredMaterials). */
const EXPIRED_MATERIAL = "valid_to <= ? AND import_state = 'IMPORTED'";

const marks = (n: number) => Array.from({ length: n }, () => '?').join(', ');

/** A condition on a keys row, with its parameters. */
interface Condition {
  sql: string;
  params: SqlValue[];
}

/** The SQL condition of the keys a DerivedKeyState selects; none when it can select no key. Never NULL, so that its NOT is its negation. */
function derivedWhere(d: DerivedKeyState): Condition | undefined {
  if (d.from.length === 0) return undefined;
  // Unary +: the keys of a store (its index) and those with expired material (the index on valid_to) are
  // few; the indexes on state and origin, which the planner would otherwise pick, read most keys.
  const state = `+state IN (${marks(d.from.length)})`;
  if ('stores' in d) {
    if (d.stores.length === 0) return undefined;
    // IS NOT NULL: a standard key's NULL store would make the condition NULL, and its NOT NULL too (no match).
    return { sql: `(${state} AND custom_key_store_id IS NOT NULL AND custom_key_store_id IN (${marks(d.stores.length)}))`, params: [...d.from, ...d.stores] };
  }
  // Not correlated: SQLite reads the few expired materials once (the partial index on valid_to), not once a key.
  return {
    sql: `(${state} AND +origin = ? AND key_id IN (SELECT key_id FROM key_materials WHERE pending_rotation = 0 AND ${EXPIRED_MATERIAL}))`,
    params: [...d.from, d.origin, d.materialExpiredAt],
  };
}

/** The derived states that can select a key, each with its condition, in order. */
function derivedStates(ds: readonly DerivedKeyState[] | undefined): (Condition & { state: string; from: readonly string[] })[] {
  return (ds ?? []).flatMap((d) => {
    const c = derivedWhere(d);
    return c ? [{ ...c, state: d.state, from: d.from }] : [];
  });
}

/** The keys the derived state `i` selects and no earlier one does: those it gives its state. */
function onlyThis(derived: readonly Condition[], i: number): Condition {
  const before = derived.slice(0, i);
  return { sql: [...before.map((b) => `NOT ${b.sql}`), derived[i]!.sql].join(' AND '), params: [...before.flatMap((b) => b.params), ...derived[i]!.params] };
}

/**
 * The keys that read as `state`: those the first derived state that selects them gives it, and those stored
 * in it that none selects. Written as conditions on the stored state (not as a CASE compared) so that the
 * index on state still serves.
 */
function readsAs(state: string, ds: readonly DerivedKeyState[] | undefined): { derived: Condition[]; stored: Condition } {
  const derived = derivedStates(ds);
  const terms: Condition[] = [];
  derived.forEach((d, i) => {
    if (d.state === state) terms.push(onlyThis(derived, i));
  });
  // A derived state that does not take keys stored in `state` cannot take them from it.
  const takers = derived.filter((d) => d.from.includes(state));
  return { derived: terms, stored: { sql: ['state = ?', ...takers.map((d) => `NOT ${d.sql}`)].join(' AND '), params: [state, ...takers.flatMap((d) => d.params)] } };
}

/** Conditions that do not overlap, as one that holds when one of them does. */
const anyOf = (cs: Condition[]): Condition => ({ sql: `(${cs.map((c) => `(${c.sql})`).join(' OR ')})`, params: cs.flatMap((c) => c.params) });

/**
 * The SQL of a KeyFilter: a state matches the state a key reads as (a derived one instead of the stored one);
 * text is matched as a literal, case-insensitive substring of the key ID or description. The state's
 * condition is apart (`state`), as the keys given it by each derived state and those stored in it.
 */
function keyFilter(f: KeyFilter): { where: string; params: SqlValue[]; state?: { derived: Condition[]; stored: Condition } } {
  let where = '';
  const params: SqlValue[] = [];
  const state = f.state === undefined ? undefined : readsAs(f.state, f.derived);
  if (f.origin !== undefined) {
    where += ' AND origin = ?';
    params.push(f.origin);
  }
  if (f.text !== undefined && f.text !== '') {
    if ([...f.text].length >= 3) {
      // The trigram index (migration 13): the text as one quoted phrase, so nothing in it is FTS syntax.
      where += ' AND rowid IN (SELECT rowid FROM keys_text WHERE keys_text MATCH ?)';
      params.push(`"${f.text.replace(/"/g, '""')}"`);
    } else {
      // Under three characters no trigram can match: a scan, with LIKE's wildcards taken as text.
      const like = `%${f.text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      where += " AND (key_id LIKE ? ESCAPE '\\' OR description LIKE ? ESCAPE '\\')";
      params.push(like, like);
    }
  }
  return { where, params, state };
}

export class SqliteKeyRepository implements KeyRepository {
  constructor(private readonly db: SqliteDatabase) {}

  async find(keyId: string, tx?: Tx): Promise<KeyRecord | undefined> {
    const r = await this.db.read(tx).get('SELECT * FROM keys WHERE key_id = ?', keyId);
    return r ? toKey(r) : undefined;
  }

  async findByXksKeyId(customKeyStoreId: string, xksKeyId: string, tx?: Tx): Promise<KeyRecord | undefined> {
    const r = await this.db.read(tx).get('SELECT * FROM keys WHERE custom_key_store_id = ? AND xks_key_id = ?', customKeyStoreId, xksKeyId);
    return r ? toKey(r) : undefined;
  }

  async list(accountId: string, region: string, afterKeyId: string, limit: number, tx?: Tx): Promise<KeyRecord[]> {
    const rows = await this.db
      .read(tx)
      .all('SELECT * FROM keys WHERE account_id = ? AND region = ? AND key_id > ? ORDER BY key_id LIMIT ?', accountId, region, afterKeyId, limit);
    return rows.map(toKey);
  }

  async search(accountId: string, region: string, filter: KeyFilter, afterKeyId: string, limit: number, tx?: Tx): Promise<KeyRecord[]> {
    const { where, params, state } = keyFilter(filter);
    const s = state ? anyOf([...state.derived, state.stored]) : { sql: '1', params: [] };
    const rows = await this.db
      .read(tx)
      .all(`SELECT * FROM keys WHERE account_id = ? AND region = ? AND key_id > ? AND ${s.sql}${where} ORDER BY key_id LIMIT ?`, accountId, region, afterKeyId, ...s.params, ...params, limit);
    return rows.map(toKey);
  }

  async countMatching(accountId: string, region: string, filter: KeyFilter, tx?: Tx): Promise<number> {
    const { where, params, state } = keyFilter(filter);
    // The keys each derived state gives the state, and those stored in it, counted apart (they do not overlap),
    // each through its own index (unary +: see tally); an OR of them would read every key of the owner.
    const parts: Condition[] = state
      ? [
          ...state.derived.map((c) => ({ sql: `SELECT COUNT(*) FROM keys WHERE +account_id = ? AND +region = ? AND ${c.sql}${where}`, params: [accountId, region, ...c.params, ...params] })),
          { sql: `SELECT COUNT(*) FROM keys WHERE account_id = ? AND region = ? AND ${state.stored.sql}${where}`, params: [accountId, region, ...state.stored.params, ...params] },
        ]
      : [{ sql: `SELECT COUNT(*) FROM keys WHERE account_id = ? AND region = ?${where}`, params: [accountId, region, ...params] }];
    const r = await this.db.read(tx).get(`SELECT ${parts.map((p) => `(${p.sql})`).join(' + ')} AS n`, ...parts.flatMap((p) => p.params));
    return Number(r?.n ?? 0);
  }

  async tally(accountId: string, region: string, derived?: readonly DerivedKeyState[], tx?: Tx): Promise<{ byState: Record<string, number>; byOrigin: Record<string, number> }> {
    // The stored tally (the covering index on state), then each derived state moves the keys it selects
    // (those no earlier one selected) out of their stored state into its own: a count per condition, each
    // through its own index, where a CASE on every row would read all of them. One statement: one snapshot.
    const owner = 'FROM keys WHERE account_id = ? AND region = ?';
    const parts: Condition[] = [{ sql: `SELECT state, origin, COUNT(*) AS n ${owner} GROUP BY state, origin`, params: [accountId, region] }];
    // Unary +: the owner's columns lead the indexes on state and origin, which would read every key of the owner.
    const owned = 'FROM keys WHERE +account_id = ? AND +region = ?';
    const ds = derivedStates(derived);
    ds.forEach((d, i) => {
      const selected = onlyThis(ds, i);
      parts.push(
        { sql: `SELECT state, origin, -COUNT(*) AS n ${owned} AND ${selected.sql} GROUP BY state, origin`, params: [accountId, region, ...selected.params] },
        { sql: `SELECT ? AS state, origin, COUNT(*) AS n ${owned} AND ${selected.sql} GROUP BY origin`, params: [d.state, accountId, region, ...selected.params] },
      );
    });
    const rows = await this.db
      .read(tx)
      .all(`SELECT state, origin, SUM(n) AS n FROM (${parts.map((p) => p.sql).join(' UNION ALL ')}) GROUP BY state, origin HAVING SUM(n) <> 0`, ...parts.flatMap((p) => p.params));
    const byState: Record<string, number> = {};
    const byOrigin: Record<string, number> = {};
    for (const r of rows) {
      byState[String(r.state)] = (byState[String(r.state)] ?? 0) + Number(r.n);
      byOrigin[String(r.origin)] = (byOrigin[String(r.origin)] ?? 0) + Number(r.n);
    }
    return { byState, byOrigin };
  }

  async insert(tx: Tx, k: KeyRecord): Promise<void> {
    await insertRow(this.db.sql(tx), 'keys', keyColumns(k));
  }

  async update(tx: Tx, k: KeyRecord): Promise<void> {
    await updateRow(this.db.sql(tx), 'keys', keyColumns(k), ['key_id'], KEY_IMMUTABLE);
  }

  async delete(tx: Tx, keyId: string): Promise<void> {
    await this.db.sql(tx).run('DELETE FROM keys WHERE key_id = ?', keyId);
  }

  async dueForDeletion(nowMs: number, tx?: Tx): Promise<KeyRecord[]> {
    const rows = await this.db.read(tx).all("SELECT * FROM keys WHERE state = 'PendingDeletion' AND deletion_at <= ? ORDER BY deletion_at", nowMs);
    return rows.map(toKey);
  }

  async dueForRotation(nowMs: number, tx?: Tx): Promise<KeyRecord[]> {
    const rows = await this.db
      .read(tx)
      .all("SELECT * FROM keys WHERE rotation_enabled = 1 AND next_rotation_at <= ? AND state IN ('Enabled') ORDER BY next_rotation_at", nowMs);
    return rows.map(toKey);
  }

  async findMaterial(keyId: string, materialId: string, tx?: Tx): Promise<MaterialRecord | undefined> {
    const r = await this.db.read(tx).get('SELECT * FROM key_materials WHERE key_id = ? AND material_id = ?', keyId, materialId);
    return r ? toMaterial(r) : undefined;
  }

  async listMaterials(keyId: string, tx?: Tx): Promise<MaterialRecord[]> {
    const rows = await this.db.read(tx).all('SELECT * FROM key_materials WHERE key_id = ? ORDER BY created_at, rowid', keyId);
    return rows.map(toMaterial);
  }

  async countMaterials(keyId: string, rotationType: string, tx?: Tx): Promise<number> {
    const r = await this.db.read(tx).get<{ n: number }>('SELECT COUNT(*) AS n FROM key_materials WHERE key_id = ? AND rotation_type = ?', keyId, rotationType);
    return r?.n ?? 0;
  }

  async insertMaterial(tx: Tx, m: MaterialRecord): Promise<void> {
    await insertRow(this.db.sql(tx), 'key_materials', materialColumns(m));
  }

  async updateMaterial(tx: Tx, m: MaterialRecord): Promise<void> {
    await updateRow(this.db.sql(tx), 'key_materials', materialColumns(m), ['key_id', 'material_id'], []);
  }

  async expiredMaterials(nowMs: number, tx?: Tx): Promise<MaterialRecord[]> {
    const rows = await this.db.read(tx).all(`SELECT * FROM key_materials WHERE ${EXPIRED_MATERIAL} ORDER BY valid_to`, nowMs);
    return rows.map(toMaterial);
  }

  async listTags(keyId: string, afterKey = '', tx?: Tx): Promise<TagRecord[]> {
    // Seek and order in one collation (BINARY: UTF-8 bytes, so code points), which no comparison in
    // JavaScript (UTF-16 code units) would match for keys beyond U+FFFF.
    const rows = await this.db.read(tx).all('SELECT tag_key, tag_value FROM tags WHERE key_id = ? AND tag_key > ? ORDER BY tag_key', keyId, afterKey);
    return rows.map((r) => ({ tagKey: String(r.tag_key), tagValue: String(r.tag_value) }));
  }

  async countTags(keyId: string, tx?: Tx): Promise<number> {
    const r = await this.db.read(tx).get<{ n: number }>('SELECT COUNT(*) AS n FROM tags WHERE key_id = ?', keyId);
    return r?.n ?? 0;
  }

  async putTag(tx: Tx, keyId: string, t: TagRecord): Promise<void> {
    await this.db
      .sql(tx)
      .run(
        'INSERT INTO tags (key_id, tag_key, tag_value) VALUES (?, ?, ?) ON CONFLICT (key_id, tag_key) DO UPDATE SET tag_value = excluded.tag_value',
        keyId,
        t.tagKey,
        t.tagValue,
      );
  }

  async deleteTag(tx: Tx, keyId: string, tagKey: string): Promise<void> {
    await this.db.sql(tx).run('DELETE FROM tags WHERE key_id = ? AND tag_key = ?', keyId, tagKey);
  }
}
