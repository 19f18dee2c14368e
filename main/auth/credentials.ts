// API credentials: access key ID + secret access key in AWS's formats, each mapped to an account and
// a principal ARN. Secrets are stored sealed under the root key (AAD = purpose + access key ID) and
// shown once, when created. Verified secrets are cached in memory while unsealed and dropped on seal.
import { KmsError, kmsErrors } from '../common/errors.js';
import type { Clock } from '../common/clock.js';
import { randomBytes } from '../crypto/bytes.js';
import type { AuditLog } from '../audit/audit-log.js';
import { encodeAad } from '../seal/at-rest.js';
import type { RootKeyHolder } from '../seal/root-key.js';
import type { CredentialRecord, Store } from '../store/index.js';

const AAD_PURPOSE = 'kura/credential-secret';
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const SECRET_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

export const ACCOUNT_RE = /^\d{12}$/;
export const PRINCIPAL_RE = /^arn:aws:(iam|sts)::\d{12}:[\w+=,.@/-]+$/;
export const ACCESS_KEY_RE = /^AKIA[A-Z2-7]{16}$/;

function randomFrom(alphabet: string, n: number): string {
  // Rejection-free because both alphabets have a power-of-two size (32 and 64).
  const bytes = randomBytes(n);
  let out = '';
  for (const b of bytes) out += alphabet[b % alphabet.length];
  return out;
}

export interface CredentialSummary {
  accessKeyId: string;
  accountId: string;
  principalArn: string;
  description: string;
  createdAt: number;
}

export interface NewCredential extends CredentialSummary {
  secretAccessKey: string;
}

export interface Identity {
  accessKeyId: string;
  accountId: string;
  principalArn: string;
}

const summary = (c: CredentialRecord): CredentialSummary => ({
  accessKeyId: c.accessKeyId,
  accountId: c.accountId,
  principalArn: c.principalArn,
  description: c.description,
  createdAt: c.createdAt,
});

export class CredentialService {
  private cache = new Map<string, { secret: string; identity: Identity }>();
  /** Moves on every delete and seal, so that a lookup that began before one does not cache its stale read. */
  private generation = 0;

  constructor(private readonly deps: { store: Store; root: RootKeyHolder; clock: Clock; audit: AuditLog }) {
    deps.root.onSeal(() => this.forget());
  }

  /** `approvalRequestId`: the approval request that runs it, which its audit entry names. */
  async create(input: { accountId: string; principalArn?: string; description?: string }, actor = 'kura:admin', approvalRequestId?: string): Promise<NewCredential> {
    if (!ACCOUNT_RE.test(input.accountId)) throw kmsErrors.validation('The account ID must be 12 digits.');
    const principalArn = input.principalArn ?? `arn:aws:iam::${input.accountId}:root`;
    if (!PRINCIPAL_RE.test(principalArn)) throw kmsErrors.validation(`'${principalArn}' is not an IAM principal ARN (arn:aws:iam::<account>:user/<name>).`);
    if (principalArn.split(':')[4] !== input.accountId) throw kmsErrors.validation('The principal ARN must be in the credential\'s account.');
    const accessKeyId = `AKIA${randomFrom(BASE32, 16)}`;
    const secretAccessKey = randomFrom(SECRET_ALPHABET, 40);
    const sealer = this.deps.root.credentialSealer();
    const record: CredentialRecord = {
      accessKeyId,
      secretSealed: sealer.seal(Buffer.from(secretAccessKey, 'utf8'), encodeAad(AAD_PURPOSE, accessKeyId)),
      accountId: input.accountId,
      principalArn,
      description: input.description ?? '',
      createdAt: this.deps.clock.nowMs(),
    };
    await this.deps.store.db.write(async (tx) => {
      await this.deps.store.credentials.insert(tx, record);
      await this.deps.audit.appendIn(tx, { principal: actor, source: 'admin', operation: 'CreateCredential', outcome: 'ok', details: { accessKeyId, principalArn, ...(approvalRequestId ? { approvalRequestId } : {}) } });
    });
    return { ...summary(record), secretAccessKey };
  }

  async list(): Promise<CredentialSummary[]> {
    return (await this.deps.store.credentials.list()).map(summary);
  }

  async delete(accessKeyId: string, actor = 'kura:admin', approvalRequestId?: string): Promise<void> {
    const removed = await this.deps.store.db.write(async (tx) => {
      const ok = await this.deps.store.credentials.delete(tx, accessKeyId);
      if (ok) await this.deps.audit.appendIn(tx, { principal: actor, source: 'admin', operation: 'DeleteCredential', outcome: 'ok', details: { accessKeyId, ...(approvalRequestId ? { approvalRequestId } : {}) } });
      return ok;
    });
    this.forget(accessKeyId);
    if (!removed) throw kmsErrors.notFound(`There is no credential with access key ID ${accessKeyId}.`);
  }

  /** The secret of a credential, for SigV4 verification; undefined when there is no such credential. */
  async lookup(accessKeyId: string): Promise<{ secret: string; identity: Identity } | undefined> {
    // Sealed (or uninitialized) comes first: no call is served then, whoever signed it.
    this.deps.root.requireUnsealed();
    const hit = this.cache.get(accessKeyId);
    if (hit) return hit;
    if (!ACCESS_KEY_RE.test(accessKeyId)) return undefined;
    const generation = this.generation;
    const rec = await this.deps.store.credentials.find(accessKeyId);
    if (!rec) return undefined;
    const raw = this.deps.root.credentialSealer().open(rec.secretSealed, encodeAad(AAD_PURPOSE, accessKeyId));
    const entry = { secret: raw.toString('utf8'), identity: { accessKeyId, accountId: rec.accountId, principalArn: rec.principalArn } };
    raw.fill(0);
    // A delete (or a seal) while the row was being read: what was read is already gone, and stays out.
    if (generation === this.generation) this.cache.set(accessKeyId, entry);
    return entry;
  }

  /** Drops one cached credential (or all), and makes every lookup still reading the store not cache what it read. */
  private forget(accessKeyId?: string): void {
    this.generation++;
    if (accessKeyId === undefined) this.cache.clear();
    else this.cache.delete(accessKeyId);
  }

  /** Dev mode: the first credential described as the dev credential, with its secret; created if missing. */
  async ensureDevCredential(accountId: string): Promise<NewCredential> {
    const existing = (await this.list()).find((c) => c.description === DEV_CREDENTIAL_DESCRIPTION);
    if (existing) {
      const found = await this.lookup(existing.accessKeyId);
      if (!found) throw new KmsError('Internal', 'The dev credential could not be read.');
      return { ...existing, secretAccessKey: found.secret };
    }
    return this.create({ accountId, principalArn: `arn:aws:iam::${accountId}:user/kura-dev`, description: DEV_CREDENTIAL_DESCRIPTION }, 'kura:dev');
  }
}

export const DEV_CREDENTIAL_DESCRIPTION = 'kura dev credential (insecure, dev mode only)';
