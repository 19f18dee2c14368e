// The SQLite schema, versioned. Each migration runs once, in order, inside one transaction with the version bump;
// a database newer than this build is refused rather than guessed at.
// Why one file of this length: the migrations are one ordered list that only grows; split, their order
// would live in two places.
import type { SqliteDatabase } from './database.js';

const MIGRATIONS: { version: number; name: string; sql: string }[] = [
  {
    version: 1,
    name: 'appliance, seal, credentials, keys, materials, aliases, tags, audit',
    sql: `
      CREATE TABLE appliance (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        appliance_id TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
      -- The root key itself is never stored: only how it is sealed and a check value that proves a
      -- recombined key is the right one.
      CREATE TABLE seal_config (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        mode TEXT NOT NULL CHECK (mode IN ('shamir', 'dev')),
        threshold INTEGER NOT NULL,
        share_count INTEGER NOT NULL,
        share_set_id TEXT NOT NULL,
        check_value BLOB NOT NULL,
        created_at INTEGER NOT NULL
      );
      CREATE TABLE credentials (
        access_key_id TEXT PRIMARY KEY,
        secret_sealed BLOB NOT NULL,
        account_id TEXT NOT NULL,
        principal_arn TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        created_at INTEGER NOT NULL
      );
      CREATE TABLE keys (
        key_id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL,
        region TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        key_usage TEXT NOT NULL,
        key_spec TEXT NOT NULL,
        origin TEXT NOT NULL,
        state TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        deletion_at INTEGER,
        pending_window_days INTEGER,
        rotation_enabled INTEGER NOT NULL DEFAULT 0,
        rotation_period_days INTEGER,
        next_rotation_at INTEGER,
        on_demand_rotation_started_at INTEGER,
        policy TEXT NOT NULL,
        current_material_id TEXT
      );
      CREATE INDEX keys_by_owner ON keys (account_id, region, key_id);
      CREATE INDEX keys_pending_deletion ON keys (deletion_at) WHERE deletion_at IS NOT NULL;
      CREATE INDEX keys_rotation_due ON keys (next_rotation_at) WHERE rotation_enabled = 1;
      CREATE TABLE key_materials (
        key_id TEXT NOT NULL REFERENCES keys (key_id) ON DELETE CASCADE,
        material_id TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        rotation_type TEXT,
        material_sealed BLOB NOT NULL,
        PRIMARY KEY (key_id, material_id)
      );
      CREATE TABLE aliases (
        account_id TEXT NOT NULL,
        region TEXT NOT NULL,
        alias_name TEXT NOT NULL,
        key_id TEXT NOT NULL REFERENCES keys (key_id) ON DELETE CASCADE,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (account_id, region, alias_name)
      );
      CREATE INDEX aliases_by_key ON aliases (key_id);
      CREATE TABLE tags (
        key_id TEXT NOT NULL REFERENCES keys (key_id) ON DELETE CASCADE,
        tag_key TEXT NOT NULL,
        tag_value TEXT NOT NULL,
        PRIMARY KEY (key_id, tag_key)
      );
      CREATE TABLE audit_log (
        seq INTEGER PRIMARY KEY,
        at INTEGER NOT NULL,
        entry TEXT NOT NULL,
        prev_hash BLOB NOT NULL,
        hash BLOB NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: 'public keys of asymmetric key material',
    sql: `
      -- DER SubjectPublicKeyInfo of an asymmetric key's material (public, so stored in the clear);
      -- NULL for symmetric and HMAC material.
      ALTER TABLE key_materials ADD COLUMN public_key BLOB
    `,
  },
  {
    version: 3,
    name: 'imported key material and import tokens',
    sql: `
      ALTER TABLE keys ADD COLUMN expiration_model TEXT;
      ALTER TABLE keys ADD COLUMN valid_to INTEGER;
      -- imported material: IMPORTED or PENDING_IMPORT (deleted or expired, material_sealed emptied)
      ALTER TABLE key_materials ADD COLUMN import_state TEXT;
      ALTER TABLE key_materials ADD COLUMN valid_to INTEGER;
      ALTER TABLE key_materials ADD COLUMN expiration_model TEXT;
      ALTER TABLE key_materials ADD COLUMN description TEXT;
      -- imported with ImportType NEW_KEY_MATERIAL, waiting for RotateKeyOnDemand to become current
      ALTER TABLE key_materials ADD COLUMN pending_rotation INTEGER NOT NULL DEFAULT 0;
      CREATE INDEX key_materials_valid_to ON key_materials (valid_to) WHERE valid_to IS NOT NULL;
      -- GetParametersForImport: the token is kept only as its SHA-256, the wrapping private key
      -- sealed under the root key; a row lives until it is used or expires
      CREATE TABLE import_tokens (
        token_hash BLOB PRIMARY KEY,
        key_id TEXT NOT NULL REFERENCES keys (key_id) ON DELETE CASCADE,
        wrapping_algorithm TEXT NOT NULL,
        wrapping_key_spec TEXT NOT NULL,
        private_key_sealed BLOB NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
      );
      CREATE INDEX import_tokens_expiry ON import_tokens (expires_at)
    `,
  },
  {
    version: 4,
    name: 'custom key stores, and material references in place of sealed material',
    sql: `
      -- Custom key stores (AWS CreateCustomKeyStore): AWS_CLOUDHSM is Kura's HSM key store (a PKCS#11
      -- token), EXTERNAL_KEY_STORE an XKS proxy. config holds the type's own settings as JSON (module
      -- path and token label; proxy URI and path …); whatever is secret in it is sealed by the key
      -- store that reads it, never stored in the clear.
      CREATE TABLE custom_key_stores (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        type TEXT NOT NULL CHECK (type IN ('AWS_CLOUDHSM', 'EXTERNAL_KEY_STORE')),
        connection_state TEXT NOT NULL DEFAULT 'DISCONNECTED'
          CHECK (connection_state IN ('CONNECTED', 'CONNECTING', 'FAILED', 'DISCONNECTED', 'DISCONNECTING')),
        created_at INTEGER NOT NULL,
        config TEXT NOT NULL DEFAULT '{}'
      );
      -- The key store a key lives in: NULL for the standard key store (every key made before this version).
      ALTER TABLE keys ADD COLUMN custom_key_store_id TEXT REFERENCES custom_key_stores (id);
      CREATE INDEX keys_by_custom_key_store ON keys (custom_key_store_id) WHERE custom_key_store_id IS NOT NULL;
      -- What a key store keeps to find a material again, opaque to everything but that store: the
      -- standard store's sealed material (so every existing row is already a valid reference, byte for
      -- byte), an HSM's token object, an external key's ID. Empty once imported material is deleted.
      ALTER TABLE key_materials RENAME COLUMN material_sealed TO material_ref
    `,
  },
  {
    version: 5,
    name: 'HSMs registered with the appliance, and the HSM behind each AWS_CLOUDHSM key store',
    sql: `
      -- An HSM as an operator registered it (\`kura hsm add\`): a PKCS#11 module and a token label (slot
      -- IDs change between plug-ins), with what the token said of itself when it was added. Its ID has
      -- the shape of a CloudHSM cluster ID, which CreateCustomKeyStore names as CloudHsmClusterId. No PIN
      -- is kept here: a custom key store keeps its own, sealed under the root key.
      CREATE TABLE hsms (
        id TEXT PRIMARY KEY,
        module_path TEXT NOT NULL,
        token_label TEXT NOT NULL,
        library_parameters TEXT,
        manufacturer TEXT NOT NULL,
        model TEXT NOT NULL,
        serial_number TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        UNIQUE (module_path, token_label)
      );
      -- One custom key store per HSM, as AWS allows one per cluster; an HSM in use cannot be removed.
      ALTER TABLE custom_key_stores ADD COLUMN hsm_id TEXT REFERENCES hsms (id);
      CREATE UNIQUE INDEX custom_key_stores_by_hsm ON custom_key_stores (hsm_id) WHERE hsm_id IS NOT NULL
    `,
  },
  {
    version: 6,
    name: 'seal mode pkcs11: the root key sealed by a key on a PKCS#11 token',
    sql: `
      -- SQLite cannot change a CHECK constraint, so seal_config is rebuilt (its documented 12-step
      -- procedure: nothing references the table, and no index, trigger or view is on it) keeping its row.
      -- pkcs11 holds, as JSON, the token (module path, label, library parameters), the CKA_ID and label of
      -- the non-extractable wrapping key on it, the IV and the root key sealed by the token: present in
      -- pkcs11 mode, and only there. The PIN is never stored.
      CREATE TABLE seal_config_v6 (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        mode TEXT NOT NULL CHECK (mode IN ('shamir', 'dev', 'pkcs11')),
        threshold INTEGER NOT NULL,
        share_count INTEGER NOT NULL,
        share_set_id TEXT NOT NULL,
        check_value BLOB NOT NULL,
        created_at INTEGER NOT NULL,
        pkcs11 TEXT,
        CHECK ((mode = 'pkcs11') = (pkcs11 IS NOT NULL))
      );
      INSERT INTO seal_config_v6 (id, mode, threshold, share_count, share_set_id, check_value, created_at)
        SELECT id, mode, threshold, share_count, share_set_id, check_value, created_at FROM seal_config;
      DROP TABLE seal_config;
      ALTER TABLE seal_config_v6 RENAME TO seal_config
    `,
  },
  {
    version: 7,
    name: 'XKS proxy stores, their credentials and their keys',
    sql: `
      -- A store Kura serves as an XKS proxy under /{uri_path_prefix}/kms/xks/v1 (AWS KMS, or any XKS
      -- client, names it as an external key store); hsm_id: the HSM its keys live on, NULL for Kura's
      -- standard key store.
      CREATE TABLE xks_stores (
        id TEXT PRIMARY KEY,
        uri_path_prefix TEXT NOT NULL UNIQUE,
        hsm_id TEXT REFERENCES hsms (id),
        created_at INTEGER NOT NULL
      );
      -- SigV4 credentials of a store (two or more live at once for rotation); secrets sealed under the root key.
      CREATE TABLE xks_credentials (
        access_key_id TEXT PRIMARY KEY,
        store_id TEXT NOT NULL REFERENCES xks_stores (id) ON DELETE CASCADE,
        secret_sealed BLOB NOT NULL,
        created_at INTEGER NOT NULL
      );
      -- A store's keys: their usage ('ENCRYPT,DECRYPT', 'ENCRYPT', 'DECRYPT' or ''), status, and the key
      -- store's reference to their material (opaque, as for KMS keys).
      CREATE TABLE xks_keys (
        external_key_id TEXT PRIMARY KEY,
        store_id TEXT NOT NULL REFERENCES xks_stores (id),
        usage TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('ENABLED', 'DISABLED')),
        material_id TEXT NOT NULL,
        material_ref BLOB NOT NULL,
        created_at INTEGER NOT NULL
      );
      CREATE INDEX xks_keys_by_store ON xks_keys (store_id)
    `,
  },
  {
    version: 8,
    name: 'XKS proxy stores on an HSM: the token PIN and the health check key',
    sql: `
      -- A store on an HSM (hsm_id not NULL) keeps the token's user PIN, sealed under the root key (the
      -- HSM's own row keeps none), and the reference of the token key its deep health check encrypts
      -- with (made once, when the store is made, so that a health check leaves nothing on the token).
      -- Both NULL for a store in the standard key store, and for every store made before this version.
      ALTER TABLE xks_stores ADD COLUMN pin_sealed BLOB;
      ALTER TABLE xks_stores ADD COLUMN health_key_ref BLOB
    `,
  },
  {
    version: 9,
    name: 'Keys in external key stores: the external key each is bound to',
    sql: `
      -- AWS's XksKeyId: the external key (behind the store's XKS proxy) a key of an EXTERNAL_KEY_STORE
      -- key store is bound to; NULL for every other key. One key per external key in a store.
      ALTER TABLE keys ADD COLUMN xks_key_id TEXT;
      CREATE UNIQUE INDEX keys_by_xks_key ON keys (custom_key_store_id, xks_key_id) WHERE xks_key_id IS NOT NULL
    `,
  },
  {
    version: 10,
    name: 'Quorum approvals: operators, quorum policies, approval requests and their approvals',
    sql: `
      -- A custodian enrolled to approve gated actions: the DER SubjectPublicKeyInfo they sign with (public,
      -- so stored in the clear), its SHA-256 fingerprint (one operator per key), and their console
      -- passphrase as an scrypt record (JSON; NULL: none set). Never a private key.
      CREATE TABLE operators (
        name TEXT PRIMARY KEY,
        algorithm TEXT NOT NULL CHECK (algorithm IN ('ed25519', 'ecdsa-p256')),
        public_key BLOB NOT NULL,
        fingerprint TEXT NOT NULL UNIQUE,
        passphrase TEXT,
        created_at INTEGER NOT NULL
      );
      -- How many of which operators (a JSON array of names, in the order given; not foreign keys, so the
      -- store does not check them) must approve an action class, and how long a request of it waits.
      CREATE TABLE quorum_policies (
        action_class TEXT PRIMARY KEY,
        threshold INTEGER NOT NULL CHECK (threshold >= 1),
        operators TEXT NOT NULL,
        expiry_ms INTEGER NOT NULL CHECK (expiry_ms > 0),
        updated_at INTEGER NOT NULL
      );
      -- A gated action: what runs (action, its canonical JSON parameters and their SHA-256), who asked,
      -- what the executor needs to run it as asked (caller, JSON, never a secret), and where it is. It
      -- moves out of PENDING by compare and set on status (one UPDATE), which is what runs it once.
      CREATE TABLE approval_requests (
        id TEXT PRIMARY KEY,
        action_class TEXT NOT NULL,
        action TEXT NOT NULL,
        parameters TEXT NOT NULL,
        digest TEXT NOT NULL,
        requester TEXT NOT NULL,
        caller TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('PENDING', 'EXECUTING', 'EXECUTED', 'FAILED', 'CANCELLED')),
        outcome TEXT,
        executed_at INTEGER
      );
      CREATE INDEX approval_requests_by_created ON approval_requests (created_at);
      -- One operator's signature over a request's statement, once per operator and request. operator is
      -- no foreign key on purpose: an operator removed later keeps their past approvals on record, with
      -- the fingerprint of the key that signed.
      CREATE TABLE approvals (
        request_id TEXT NOT NULL REFERENCES approval_requests (id),
        operator TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        signature BLOB NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (request_id, operator)
      )
    `,
  },
  {
    version: 11,
    name: 'Approval requests keep the quorum they were asked under',
    sql: `
      -- The threshold and the operators of the request's policy when it was made: a later policy change
      -- does not move a pending request's bar. NULL for requests made before this version (they follow
      -- the current policy, as they did).
      ALTER TABLE approval_requests ADD COLUMN threshold INTEGER;
      ALTER TABLE approval_requests ADD COLUMN approvers TEXT
    `,
  },
  {
    version: 12,
    name: 'Approval requests of operator commands: their sealed secrets and sealed result',
    sql: `
      -- A gated operator command (kura hsm add, kura xks …, kura credentials …) may carry a secret (a token
      -- PIN) that its parameters leave out, and may answer one (a new secret access key). Both are kept
      -- sealed under the root key (AES-256-GCM, base64), never in the clear: the secrets until the request
      -- ends, the result until its requester takes it (once). NULL: none.
      ALTER TABLE approval_requests ADD COLUMN sealed_secrets TEXT;
      ALTER TABLE approval_requests ADD COLUMN sealed_result TEXT
    `,
  },
  {
    version: 13,
    name: "The operator console's key search: indexes by state and origin, and a trigram index of key IDs and descriptions",
    sql: `
      -- A page of one account's keys in one state or of one origin, and their count, without a scan.
      CREATE INDEX keys_by_state ON keys (account_id, region, state, origin);
      CREATE INDEX keys_by_origin ON keys (account_id, region, origin, key_id);
      -- Text found anywhere in a key ID or description (3 characters or more), case-insensitively, by
      -- trigrams: an FTS5 index over the keys table's own rows (external content: nothing is stored
      -- twice), kept by the triggers below. It names rows by the keys table's rowid, which only VACUUM
      -- would renumber: Kura never runs VACUUM; whoever does must then run
      -- INSERT INTO keys_text(keys_text) VALUES('rebuild').
      CREATE VIRTUAL TABLE keys_text USING fts5(key_id, description, content='keys', content_rowid='rowid', tokenize='trigram');
      INSERT INTO keys_text(keys_text) VALUES ('rebuild');
      CREATE TRIGGER keys_text_insert AFTER INSERT ON keys BEGIN
        INSERT INTO keys_text (rowid, key_id, description) VALUES (new.rowid, new.key_id, new.description);
      END;
      CREATE TRIGGER keys_text_delete AFTER DELETE ON keys BEGIN
        INSERT INTO keys_text (keys_text, rowid, key_id, description) VALUES ('delete', old.rowid, old.key_id, old.description);
      END;
      CREATE TRIGGER keys_text_update AFTER UPDATE OF description ON keys WHEN old.description IS NOT new.description BEGIN
        INSERT INTO keys_text (keys_text, rowid, key_id, description) VALUES ('delete', old.rowid, old.key_id, old.description);
        INSERT INTO keys_text (rowid, key_id, description) VALUES (new.rowid, new.key_id, new.description);
      END
    `,
  },
  {
    version: 14,
    name: 'Audit entries are numbered from 1',
    sql: `
      -- The chain starts at entry 1, and verify walks it from there: a row numbered below would be listed
      -- but never verified. Triggers rather than a CHECK, which SQLite adds only by copying the whole
      -- table; like a CHECK, they guard against Kura's own mistakes, while verify reports such a row
      -- whoever wrote it.
      CREATE TRIGGER audit_log_seq_insert BEFORE INSERT ON audit_log WHEN new.seq < 1 BEGIN
        SELECT RAISE(ABORT, 'audit entries are numbered from 1');
      END;
      CREATE TRIGGER audit_log_seq_update BEFORE UPDATE OF seq ON audit_log WHEN new.seq < 1 BEGIN
        SELECT RAISE(ABORT, 'audit entries are numbered from 1');
      END
    `,
  },
  {
    version: 15,
    name: 'Material rotated into place keeps its creation time',
    sql: `
      -- When a rotation made the material current. RotateKeyOnDemand used to write it over created_at of
      -- material imported ahead (NEW_KEY_MATERIAL), which moved that material in ListKeyRotations' order
      -- between two pages of it; created_at now never changes. NULL for the first material, material
      -- pending rotation, and rotations made before this version (their created_at is the rotation's time).
      ALTER TABLE key_materials ADD COLUMN rotated_at INTEGER
    `,
  },
  {
    version: 16,
    name: "The audit log's searches by key and by approval request use indexes",
    sql: `
      -- A key's page of the console and kura audit list --key looked for the newest entries naming a key by
      -- walking the whole log (json_extract per row): 0.6 s at 132,000 entries, linear in a log that is
      -- never pruned, and on the reader the data plane's uncached reads share. Indexes on the very
      -- expressions the queries name (./audit-repository.ts), ending in seq so that a key's newest entries
      -- are read from the end. Entries are unchanged: nothing the hash chain covers moves.
      CREATE INDEX audit_log_key ON audit_log (json_extract(entry, '$.keyId'), seq);
      CREATE INDEX audit_log_source_key ON audit_log (json_extract(entry, '$.details.sourceKeyId'), seq);
      CREATE INDEX audit_log_request ON audit_log (json_extract(entry, '$.details.approvalRequestId'), seq)
    `,
  },
  {
    version: 17,
    name: 'Custom key stores belong to an account and a Region',
    sql: `
      -- A custom key store is a resource of one account and one Region, as in AWS: another account's
      -- caller must not find, use, rename or disconnect it, and names are unique per account and Region
      -- only. SQLite cannot drop the column's UNIQUE on name, so the table is rebuilt. keys references it:
      -- with foreign keys on, dropping it counts every key of a store as a deferred violation, which the
      -- rows inserted again into the new table (under the same name, so keys' references find it) resolve
      -- before the commit checks them.
      -- Backfill, account: the creator's, from the store's CreateCustomKeyStore entry in the audit log (its
      -- principal's ARN names the account; the log is never pruned); else the account of the store's
      -- oldest key (before this version any account could make keys in any store); else the dev account
      -- 111122223333 (DEV_ACCOUNT_ID in main/app.ts). Without the audit log, a store that another account
      -- made and has no keys yet would change hands: its owner would lose it, the dev account would get it.
      -- Region (no entry records it): that of the store's oldest key of that account, else of its oldest
      -- key, else of that account's oldest key anywhere (a Region the appliance serves), else us-east-1,
      -- where kura serve --dev puts its credential.
      PRAGMA defer_foreign_keys = ON;
      CREATE TABLE custom_key_stores_v17 AS
        WITH created AS MATERIALIZED (
          SELECT id, substr(p, instr(p, '::') + 2, 12) AS account_id, seq FROM (
            SELECT json_extract(entry, '$.details.customKeyStoreId') AS id, json_extract(entry, '$.principal') AS p, seq
            FROM audit_log
            WHERE entry LIKE '%CreateCustomKeyStore%' AND json_extract(entry, '$.operation') = 'CreateCustomKeyStore'
              AND json_extract(entry, '$.outcome') = 'ok')
          WHERE id IS NOT NULL AND substr(p, instr(p, '::') + 2, 13) GLOB '[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]:'
        ),
        owners AS (
          SELECT s.id, COALESCE(
            (SELECT c.account_id FROM created c WHERE c.id = s.id ORDER BY c.seq LIMIT 1),
            (SELECT k.account_id FROM keys k WHERE k.custom_key_store_id = s.id ORDER BY k.created_at, k.key_id LIMIT 1),
            '111122223333') AS account_id
          FROM custom_key_stores s
        )
        SELECT s.*, o.account_id AS account_id,
          COALESCE(
            (SELECT k.region FROM keys k WHERE k.custom_key_store_id = s.id AND k.account_id = o.account_id ORDER BY k.created_at, k.key_id LIMIT 1),
            (SELECT k.region FROM keys k WHERE k.custom_key_store_id = s.id ORDER BY k.created_at, k.key_id LIMIT 1),
            (SELECT k.region FROM keys k WHERE k.account_id = o.account_id ORDER BY k.created_at, k.key_id LIMIT 1),
            'us-east-1') AS region
        FROM custom_key_stores s JOIN owners o ON o.id = s.id ORDER BY s.rowid;
      DROP TABLE custom_key_stores;
      CREATE TABLE custom_key_stores (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        type TEXT NOT NULL CHECK (type IN ('AWS_CLOUDHSM', 'EXTERNAL_KEY_STORE')),
        connection_state TEXT NOT NULL DEFAULT 'DISCONNECTED'
          CHECK (connection_state IN ('CONNECTED', 'CONNECTING', 'FAILED', 'DISCONNECTED', 'DISCONNECTING')),
        created_at INTEGER NOT NULL,
        config TEXT NOT NULL DEFAULT '{}',
        hsm_id TEXT REFERENCES hsms (id),
        account_id TEXT NOT NULL,
        region TEXT NOT NULL,
        UNIQUE (account_id, region, name)
      );
      INSERT INTO custom_key_stores (id, name, type, connection_state, created_at, config, hsm_id, account_id, region)
        SELECT id, name, type, connection_state, created_at, config, hsm_id, account_id, region FROM custom_key_stores_v17 ORDER BY rowid;
      DROP TABLE custom_key_stores_v17;
      -- (Migration 5's: one custom key store per HSM, appliance-wide, as HSM registrations are.)
      CREATE UNIQUE INDEX custom_key_stores_by_hsm ON custom_key_stores (hsm_id) WHERE hsm_id IS NOT NULL
    `,
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/**
 * A migration's statements: split at each ';', but a CREATE TRIGGER runs to its END (the statements
 * of its body end in ';' too). Comments go first, so that a ';' in one cannot cut a statement.
 */
export function statementsOf(sql: string): string[] {
  const out: string[] = [];
  let pending = '';
  for (const part of sql.replace(/--[^\n]*/g, '').split(';')) {
    pending = pending === '' ? part : `${pending};${part}`;
    const stmt = pending.trim();
    if (/^CREATE\s+TRIGGER\b/i.test(stmt) && !/\bEND$/i.test(stmt)) continue;
    if (stmt !== '') out.push(stmt);
    pending = '';
  }
  if (pending.trim() !== '') out.push(pending.trim());
  return out;
}

/**
 * Brings the database to SCHEMA_VERSION. `upTo` stops at an earlier version: tests make a database as
 * an older Kura left it, then check that the later migrations keep its data.
 */
export async function migrate(db: SqliteDatabase, opts: { upTo?: number } = {}): Promise<void> {
  await db.execScript('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
  const row = await db.write((tx) => db.sql(tx).get<{ v: number | null }>('SELECT MAX(version) AS v FROM schema_version'));
  const current = row?.v ?? 0;
  if (current > SCHEMA_VERSION) {
    throw new Error(`The database is at schema version ${current}, newer than this Kura (${SCHEMA_VERSION}); upgrade Kura.`);
  }
  const target = opts.upTo ?? SCHEMA_VERSION;
  for (const m of MIGRATIONS.filter((x) => x.version > current && x.version <= target)) {
    await db.write(async (tx) => {
      const sql = db.sql(tx);
      for (const stmt of statementsOf(m.sql)) await sql.run(stmt);
      await sql.run('INSERT INTO schema_version (version) VALUES (?)', m.version);
    });
  }
}
