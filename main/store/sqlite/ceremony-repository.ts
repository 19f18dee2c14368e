// CeremonyRepository (../repositories.ts) on SQLite: the operators, quorum_policies, approval_requests and
// approvals tables of migration 10 (./migrations.ts) and the mapping between their rows and the ceremony
// records. A request changes status only by compare and set (one UPDATE … WHERE status IN (…)), so of two
// callers racing to run it exactly one sees its row change. approvals.operator is no foreign key: deleting
// an operator leaves the approvals they gave.
import type { CeremonyRepository } from '../repositories.js';
import type { ApprovalRecord, ApprovalRequestRecord, ApprovalRequestStatus, OperatorRecord, QuorumPolicyRecord } from '../records.js';
import type { Tx } from '../transaction.js';
import type { Row, SqlValue, SqliteDatabase } from './database.js';

const nullableString = (v: SqlValue | undefined): string | null => (v === null || v === undefined ? null : String(v));

const toOperator = (r: Row): OperatorRecord => ({
  name: String(r.name),
  algorithm: String(r.algorithm),
  publicKey: r.public_key as Buffer,
  fingerprint: String(r.fingerprint),
  passphrase: nullableString(r.passphrase),
  createdAt: Number(r.created_at),
});

const toPolicy = (r: Row): QuorumPolicyRecord => ({
  actionClass: String(r.action_class),
  threshold: Number(r.threshold),
  operators: JSON.parse(String(r.operators)) as string[],
  expiryMs: Number(r.expiry_ms),
  updatedAt: Number(r.updated_at),
});

const toRequest = (r: Row): ApprovalRequestRecord => ({
  id: String(r.id),
  actionClass: String(r.action_class),
  action: String(r.action),
  parameters: String(r.parameters),
  digest: String(r.digest),
  requester: String(r.requester),
  caller: String(r.caller),
  createdAt: Number(r.created_at),
  expiresAt: Number(r.expires_at),
  status: String(r.status) as ApprovalRequestStatus,
  outcome: nullableString(r.outcome),
  executedAt: r.executed_at === null || r.executed_at === undefined ? null : Number(r.executed_at),
  threshold: r.threshold === null || r.threshold === undefined ? null : Number(r.threshold),
  approvers: r.approvers === null || r.approvers === undefined ? null : (JSON.parse(String(r.approvers)) as string[]),
  sealedSecrets: nullableString(r.sealed_secrets),
  sealedResult: nullableString(r.sealed_result),
});

const toApproval = (r: Row): ApprovalRecord => ({
  requestId: String(r.request_id),
  operator: String(r.operator),
  fingerprint: String(r.fingerprint),
  signature: r.signature as Buffer,
  createdAt: Number(r.created_at),
});

export class SqliteCeremonyRepository implements CeremonyRepository {
  constructor(private readonly db: SqliteDatabase) {}

  async findOperator(name: string, tx?: Tx): Promise<OperatorRecord | undefined> {
    const r = await this.db.read(tx).get('SELECT * FROM operators WHERE name = ?', name);
    return r ? toOperator(r) : undefined;
  }

  async listOperators(tx?: Tx): Promise<OperatorRecord[]> {
    return (await this.db.read(tx).all('SELECT * FROM operators ORDER BY created_at, name')).map(toOperator);
  }

  async insertOperator(tx: Tx, o: OperatorRecord): Promise<void> {
    await this.db
      .sql(tx)
      .run('INSERT INTO operators (name, algorithm, public_key, fingerprint, passphrase, created_at) VALUES (?, ?, ?, ?, ?, ?)', o.name, o.algorithm, o.publicKey, o.fingerprint, o.passphrase, o.createdAt);
  }

  async setOperatorPassphrase(tx: Tx, name: string, passphrase: string | null): Promise<boolean> {
    return (await this.db.sql(tx).run('UPDATE operators SET passphrase = ? WHERE name = ?', passphrase, name)).changes > 0;
  }

  async deleteOperator(tx: Tx, name: string): Promise<boolean> {
    return (await this.db.sql(tx).run('DELETE FROM operators WHERE name = ?', name)).changes > 0;
  }

  async findPolicy(actionClass: string, tx?: Tx): Promise<QuorumPolicyRecord | undefined> {
    const r = await this.db.read(tx).get('SELECT * FROM quorum_policies WHERE action_class = ?', actionClass);
    return r ? toPolicy(r) : undefined;
  }

  async listPolicies(tx?: Tx): Promise<QuorumPolicyRecord[]> {
    return (await this.db.read(tx).all('SELECT * FROM quorum_policies ORDER BY action_class')).map(toPolicy);
  }

  async putPolicy(tx: Tx, p: QuorumPolicyRecord): Promise<void> {
    await this.db
      .sql(tx)
      .run(
        `INSERT INTO quorum_policies (action_class, threshold, operators, expiry_ms, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (action_class) DO UPDATE SET threshold = excluded.threshold, operators = excluded.operators,
           expiry_ms = excluded.expiry_ms, updated_at = excluded.updated_at`,
        p.actionClass,
        p.threshold,
        JSON.stringify(p.operators),
        p.expiryMs,
        p.updatedAt,
      );
  }

  async findRequest(id: string, tx?: Tx): Promise<ApprovalRequestRecord | undefined> {
    const r = await this.db.read(tx).get('SELECT * FROM approval_requests WHERE id = ?', id);
    return r ? toRequest(r) : undefined;
  }

  async listRequests(tx?: Tx): Promise<ApprovalRequestRecord[]> {
    return (await this.db.read(tx).all('SELECT * FROM approval_requests ORDER BY created_at DESC, id')).map(toRequest);
  }

  async insertRequest(tx: Tx, r: ApprovalRequestRecord): Promise<void> {
    await this.db
      .sql(tx)
      .run(
        `INSERT INTO approval_requests (id, action_class, action, parameters, digest, requester, caller, created_at, expires_at, status, outcome, executed_at, threshold, approvers, sealed_secrets, sealed_result)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        r.id,
        r.actionClass,
        r.action,
        r.parameters,
        r.digest,
        r.requester,
        r.caller,
        r.createdAt,
        r.expiresAt,
        r.status,
        r.outcome,
        r.executedAt,
        r.threshold,
        r.approvers === null ? null : JSON.stringify(r.approvers),
        r.sealedSecrets,
        r.sealedResult,
      );
  }

  async transitionRequest(
    tx: Tx,
    id: string,
    from: readonly ApprovalRequestStatus[],
    to: ApprovalRequestStatus,
    fields: { outcome?: string; executedAt?: number; sealedResult?: string } = {},
  ): Promise<boolean> {
    // One statement, so that no other writer (another job, another node sharing the database) can change
    // the status between its check and its write. A field not given keeps its value (COALESCE of NULL);
    // an empty \`from\` matches no row (SQLite takes \`IN ()\` as false). An ended request keeps no secrets.
    const placeholders = from.map(() => '?').join(', ');
    const ended = to !== 'PENDING' && to !== 'EXECUTING';
    const result = await this.db
      .sql(tx)
      .run(
        `UPDATE approval_requests SET status = ?, outcome = COALESCE(?, outcome), executed_at = COALESCE(?, executed_at),
           sealed_result = COALESCE(?, sealed_result), sealed_secrets = CASE WHEN ? THEN NULL ELSE sealed_secrets END
         WHERE id = ? AND status IN (${placeholders})`,
        to,
        fields.outcome ?? null,
        fields.executedAt ?? null,
        fields.sealedResult ?? null,
        ended ? 1 : 0,
        id,
        ...from,
      );
    return result.changes > 0;
  }

  async takeResult(tx: Tx, id: string): Promise<string | undefined> {
    const sql = this.db.sql(tx);
    const r = await sql.get('SELECT sealed_result FROM approval_requests WHERE id = ?', id);
    const sealed = nullableString(r?.sealed_result);
    if (sealed === null) return undefined;
    await sql.run('UPDATE approval_requests SET sealed_result = NULL WHERE id = ?', id);
    return sealed;
  }

  async countApprovals(tx?: Tx): Promise<Map<string, number>> {
    const rows = await this.db.read(tx).all(
      'SELECT a.request_id, COUNT(*) AS n FROM approvals a JOIN operators o ON o.name = a.operator AND o.fingerprint = a.fingerprint GROUP BY a.request_id',
    );
    return new Map(rows.map((r) => [String(r.request_id), Number(r.n)]));
  }

  async listApprovals(requestId: string, tx?: Tx): Promise<ApprovalRecord[]> {
    return (await this.db.read(tx).all('SELECT * FROM approvals WHERE request_id = ? ORDER BY created_at, operator', requestId)).map(toApproval);
  }

  async insertApproval(tx: Tx, a: ApprovalRecord): Promise<void> {
    await this.db.sql(tx).run('INSERT INTO approvals (request_id, operator, fingerprint, signature, created_at) VALUES (?, ?, ?, ?, ?)', a.requestId, a.operator, a.fingerprint, a.signature, a.createdAt);
  }
}
