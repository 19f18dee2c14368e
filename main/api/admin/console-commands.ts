// The operator console's own commands (main/console): the appliance's state (status, seal, unseal,
// dashboard, network), its keys and the BYOK ceremony's two KMS steps, and the audit log's pages.
//
// Key commands are KMS calls: each runs through the KMS endpoint's own handler in process (runKmsCall)
// as a principal of the chosen account — `arn:aws:iam::ACCOUNT:user/kura-console/OPERATOR` — so the
// unit of work authorizes, gates and audits it exactly as it would a call of the AWS CLI. A call a quorum
// gates (ScheduleKeyDeletion, ImportKeyMaterial) answers {applied: false, approvalRequest}, and its
// approved run is the same KMS call (ceremony/quorum.ts replays it). The account and Region are the
// input's, or the dev account's on a dev appliance; a production console names them.
import { createHash } from 'node:crypto';
import os from 'node:os';
import { consolePrincipal } from '../../ceremony/quorum.js';
import { KmsError, isKmsError, kmsErrors } from '../../common/errors.js';
import { AWS_REGIONS } from '../../common/regions.js';
import { networkStatus, type ChangeView, type CommandName, type KeyMetadataView, type AuditEntryView } from '../../console/index.js';
import { ApprovalPendingError, storageFailureOf, type CallContext, type StorageFailureKind } from '../../kms/index.js';
import { runKmsCall } from '../kms/dispatch.js';
import { decodeRequest } from '../kms/model/validate.js';
import type { Handlers, Run } from './commands.js';
import { refusedHere } from './refusals.js';
import { iso, requestViewJson } from './views.js';

const DEFAULT_REGION = 'us-east-1';

/**
 * Where the console's key commands act: the input's account and Region, or the appliance's default. The
 * Region must be one SigV4 accepts (sigv4/verify.ts: the allowed regions, else Kura's AWS region table),
 * or the console would create keys in a key space no AWS client can reach, or list an empty one.
 */
function scope(r: Run, i: { accountId?: string; region?: string }): { accountId: string; region: string } {
  const accountId = i.accountId ?? r.deps.consoleAccount?.accountId;
  if (accountId === undefined) throw new KmsError('Validation', 'Name the account the keys are in, 12 digits (`kura keys … --account ID`; "accountId" in the admin API): this appliance has no default account.');
  const allowed = r.deps.allowedRegions ?? AWS_REGIONS;
  // With no Region named: the console's own, else us-east-1 — unless --regions leaves it out, when the
  // first Region served (sorted) is the one a console with no Region setting works in.
  const preferred = r.deps.consoleAccount?.region ?? DEFAULT_REGION;
  const region = i.region ?? (allowed.has(preferred) ? preferred : [...allowed].sort()[0]!);
  if (!allowed.has(region)) {
    const which = r.deps.allowedRegions ? `one this appliance serves (${[...allowed].sort().join(', ')})` : 'an AWS Region (us-east-1, eu-west-1, …)';
    // The name is echoed only once it has the shape the contract checked (main/console/commands.ts REGION).
    throw new KmsError('Validation', `"region" must be ${which}, not '${region}'.`);
  }
  return { accountId, region };
}

function callerOf(r: Run, i: { accountId?: string; region?: string }, operation: string, input: Record<string, unknown> = {}): CallContext {
  const { accountId, region } = scope(r, i);
  return { accountId, region, principal: consolePrincipal(r.caller.actor, accountId), operation, input };
}

const kms = (r: Run) => {
  if (!r.deps.kms) throw new KmsError('UnknownOperation', 'This appliance has no KMS.');
  return r.deps.kms;
};

/**
 * A KMS call as the console's operator; the wire's JSON answer. The façade audits what it serves or
 * refuses; what is refused before it (a Region not served, an input the API model refuses) is audited
 * here, as the KMS endpoint audits what it refuses before the façade.
 */
async function call(r: Run, i: { accountId?: string; region?: string }, operation: string, input: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
  const caller = await refusedHere(r, () => {
    const c = callerOf(r, i, operation, input);
    decodeRequest(operation, input);
    return c;
  });
  return runKmsCall({ kms: kms(r) }, caller);
}

/**
 * Every item of a KMS list call, its pages followed to the end: a key's detail shows its aliases, tags
 * and rotations whole, where one page would stop at 50 aliases or 100 rotations without a word. Each
 * page is a KMS call of its own, audited as the AWS CLI's pages are. A truncated page always has items
 * and its marker is after them (main/kms/operations), so this ends.
 */
async function everyPage(r: Run, i: { accountId?: string; region?: string }, operation: string, input: Record<string, unknown>, member: string): Promise<unknown[]> {
  const items: unknown[] = [];
  let marker: unknown;
  do {
    const out = await call(r, i, operation, marker === undefined ? input : { ...input, Marker: marker });
    const page = (out[member] ?? []) as unknown[];
    items.push(...page);
    marker = out.Truncated === true && page.length > 0 ? out.NextMarker : undefined;
  } while (marker !== undefined);
  return items;
}

/** A KMS call a quorum may gate: its answer, or the approval request it became. */
async function gatedCall<T extends object>(r: Run, i: { accountId?: string; region?: string }, operation: string, input: Record<string, unknown>, shown: (out: Record<string, unknown>) => T): Promise<ChangeView<T>> {
  try {
    return { applied: true, ...shown(await call(r, i, operation, input)) };
  } catch (e) {
    if (e instanceof ApprovalPendingError && r.deps.quorum) return { applied: false, approvalRequest: requestViewJson(await r.deps.quorum.showRequest(e.approvalRequestId)) };
    throw e;
  }
}

const metadataOf = async (r: Run, i: { keyId: string; accountId?: string; region?: string }): Promise<KeyMetadataView> =>
  (await call(r, i, 'DescribeKey', { KeyId: i.keyId })).KeyMetadata as KeyMetadataView;

/** SHA-256 in hex groups of four, to read aloud (as operator fingerprints are). */
const fingerprint = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex').match(/.{4}/g)!.join(' ');

const pem = (der: Buffer, label: string): string => `-----BEGIN ${label}-----\n${der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '')}\n-----END ${label}-----\n`;

/** A KMS read that a key's spec may not support (rotation of an asymmetric key): its answer, or `fallback`. */
async function orElse<T>(p: Promise<T>, fallback: T): Promise<T> {
  try {
    return await p;
  } catch (e) {
    if (isKmsError(e) && (e.code === 'UnsupportedOperation' || e.code === 'Validation' || e.code === 'InvalidState')) return fallback;
    throw e;
  }
}

/** Audit entries as the console shows them, newest first. */
async function auditPage(r: Run, q: { before?: number; limit?: number; operation?: string; principal?: string; keyId?: string; outcome?: string }): Promise<{ entries: AuditEntryView[]; next: number | null }> {
  const limit = q.limit ?? 100;
  const rows = await r.deps.audit.list({
    ...(q.before !== undefined ? { beforeSeq: q.before } : {}),
    ...(q.operation !== undefined ? { operation: q.operation } : {}),
    ...(q.principal !== undefined ? { principal: q.principal } : {}),
    ...(q.keyId !== undefined ? { keyId: q.keyId } : {}),
    ...(q.outcome !== undefined ? { outcome: q.outcome } : {}),
    limit: limit + 1,
    newest: true,
  });
  const newestFirst = rows.reverse();
  const page = newestFirst.slice(0, limit);
  return {
    entries: page.map((e) => ({
      seq: e.seq,
      time: iso(e.at),
      principal: e.principal,
      source: e.source,
      operation: e.operation,
      outcome: e.outcome,
      ...(e.keyId !== undefined ? { keyId: e.keyId } : {}),
      ...(e.errorCode !== undefined ? { errorCode: e.errorCode } : {}),
      ...(e.details !== undefined ? { details: e.details } : {}),
      hash: e.hash,
    })),
    next: newestFirst.length > limit ? page[page.length - 1]!.seq : null,
  };
}

async function statusOf(r: Run) {
  return { ...(await r.deps.root.status()), applianceId: r.deps.applianceId, version: r.deps.version };
}

/** Seals the appliance (audited); refused on an uninitialized one (nothing to seal) and on a dev appliance, which unseals only from its key file when it starts. */
export async function sealAppliance(r: Pick<Run, 'deps'>, principal: string) {
  const status = await r.deps.root.status();
  if (status.state === 'uninitialized') {
    await r.deps.audit.append({ principal, source: 'admin', operation: 'Seal', outcome: 'error', errorCode: 'NotInitialized' });
    throw new KmsError('NotInitialized', 'Kura is not initialized: there is no root key to seal. Run `kura init` first.');
  }
  if (status.mode === 'dev') {
    await r.deps.audit.append({ principal, source: 'admin', operation: 'Seal', outcome: 'error', errorCode: 'InvalidState' });
    throw new KmsError(
      'InvalidState',
      'This is a dev appliance: it unseals only from its key file when it starts, so sealing it would leave it sealed until restarted. ' +
        'Stop it with `kura stop` and restart it with `npm start` instead.',
    );
  }
  // Sealing never waits on the audit log (a full disk must not keep keys in memory); an entry that
  // cannot be written is said so, not hidden behind a generic error.
  r.deps.root.seal();
  try {
    await r.deps.audit.append({ principal, source: 'admin', operation: 'Seal', outcome: 'ok' });
  } catch (e) {
    throw kmsErrors.internal(`Kura is sealed, but the audit entry of the seal could not be written (${storageCause(e)}).`);
  }
}

/** What a failed audit write says about its cause: the storage failure's kind, never the data it carried. */
const STORAGE_CAUSES: Readonly<Record<StorageFailureKind, string>> = {
  'disk-full': 'the disk is full',
  'io-error': 'an I/O error',
  'read-only': 'the database is read-only',
  'cannot-open': 'the database cannot be opened',
  'file-gone': 'the database file was deleted or replaced',
};
const storageCause = (e: unknown): string => {
  const failure = storageFailureOf(e);
  return failure ? STORAGE_CAUSES[failure.kind] : 'a database error';
};

/**
 * Gives shares (or a PKCS#11 PIN) to a sealed appliance (audited; neither is kept); unsealed, the
 * appliance's keys come back. Shares need no credential, so a refused share is audited through the
 * refusal log (one entry per source and reason a minute, and a count): anyone who can reach the
 * listener could otherwise grow the audit log without bound. `remote` is the caller's address.
 */
export async function unsealAppliance(r: Pick<Run, 'deps'>, principal: string, by: { shares?: string[]; pin?: string }, remote = 'local') {
  // The entry of the unseal commits before the appliance unseals (UnsealOptions): an unseal that
  // cannot be audited (a full disk) leaves Kura sealed, never unsealed without a record.
  let unaudited: KmsError | undefined;
  const beforeUnseal = async () => {
    try {
      await r.deps.audit.append({ principal, source: 'admin', operation: 'Unseal', outcome: 'ok' });
    } catch (e) {
      unaudited = kmsErrors.internal(`The unseal could not be audited (${storageCause(e)}): Kura stays sealed and the ${by.pin !== undefined ? 'PIN was' : 'shares given were'} forgotten. Unseal again once its database can be written.`);
      throw unaudited;
    }
  };
  let status;
  try {
    status = by.pin !== undefined ? await r.deps.root.unsealWithPin(by.pin, { beforeUnseal }) : await r.deps.root.submitShares(by.shares ?? [], { beforeUnseal });
  } catch (e) {
    if (e === unaudited) throw e;
    const errorCode = isKmsError(e) ? e.code : 'Internal';
    if (by.pin === undefined && r.deps.refusals) await r.deps.refusals.record({ source: 'admin', remote, reason: errorCode, operation: 'Unseal' });
    else await r.deps.audit.append({ principal, source: 'admin', operation: 'Unseal', outcome: 'error', errorCode });
    throw e;
  }
  if (status.state === 'unsealed') await r.deps.onUnsealed?.();
  return status;
}

type ConsoleCommand =
  | 'status'
  | 'dashboard'
  | 'seal'
  | 'unseal'
  | 'network.status'
  | 'keys.list'
  | 'keys.show'
  | 'keys.create'
  | 'keys.enable'
  | 'keys.disable'
  | 'keys.scheduleDeletion'
  | 'keys.cancelDeletion'
  | 'imports.parameters'
  | 'imports.material'
  | 'audit.list';

export const CONSOLE_HANDLERS: Pick<Handlers, ConsoleCommand & CommandName> = {
  status: (r) => statusOf(r),
  seal: async (r) => {
    await sealAppliance(r, r.caller.actor);
    return statusOf(r);
  },
  unseal: async (r, i) => {
    if ((i.shares === undefined) === (i.pin === undefined)) throw new KmsError('Validation', 'Unsealing takes "shares" (a list of shares) or "pin" (a PKCS#11-sealed appliance), one of them.');
    await unsealAppliance(r, r.caller.actor, i);
    return statusOf(r);
  },
  'network.status': async () => networkStatus(os.networkInterfaces()),
  dashboard: async (r, i) => {
    const status = await statusOf(r);
    const unsealed = status.state === 'unsealed';
    const head = await r.deps.audit.currentHead();
    const hasScope = i.accountId !== undefined || r.deps.consoleAccount !== undefined;
    const where = hasScope ? await refusedHere(r, () => scope(r, i)) : undefined;
    const keys = unsealed && where && r.deps.kms ? { ...where, ...(await kms(r).keyTally(callerOf(r, i, 'ListKeys'))) } : null;
    const stores = unsealed && where && r.deps.kms ? await kms(r).describeCustomKeyStores(callerOf(r, i, 'DescribeCustomKeyStores'), {}) : undefined;
    const pending = r.deps.quorum ? (await r.deps.quorum.listRequestSummaries()).filter((s) => s.request.status === 'PENDING').length : 0;
    const endpoints = r.deps.endpoints?.() ?? { kms: null, console: null };
    return {
      status,
      endpoints,
      keys: keys && { accountId: keys.accountId, region: keys.region, total: Object.values(keys.byState).reduce((a, b) => a + b, 0), byState: keys.byState, byOrigin: keys.byOrigin },
      customKeyStores: (stores?.items ?? []).map((s) => ({ id: s.id, name: s.name, type: s.type, connectionState: s.connectionState })),
      pendingApprovals: pending,
      audit: { entries: head.seq, head: head.seq === 0 ? null : head.hash },
    };
  },

  'keys.list': async (r, i) => {
    const { accountId, region } = await refusedHere(r, () => scope(r, i));
    const page = await kms(r).searchKeys(
      callerOf(r, i, 'ListKeys'),
      { ...(i.state !== undefined ? { state: i.state } : {}), ...(i.origin !== undefined ? { origin: i.origin } : {}), ...(i.search !== undefined ? { text: i.search } : {}) },
      i.after ?? '',
      i.limit ?? 50,
    );
    return {
      accountId,
      region,
      total: page.total,
      next: page.next,
      keys: page.keys.map((k) => ({ keyId: k.keyId, arn: kms(r).arnOf(k), state: k.state, origin: k.origin, keySpec: k.keySpec, keyUsage: k.keyUsage, description: k.description, createdAt: iso(k.createdAt) })),
    };
  },
  'keys.show': async (r, i) => {
    const metadata = await metadataOf(r, i);
    const keyId = metadata.KeyId;
    const [aliases, tags, policy, rotation, rotations, recent] = await Promise.all([
      everyPage(r, i, 'ListAliases', { KeyId: keyId }, 'Aliases'),
      everyPage(r, i, 'ListResourceTags', { KeyId: keyId }, 'Tags'),
      call(r, i, 'GetKeyPolicy', { KeyId: keyId, PolicyName: 'default' }),
      orElse(call(r, i, 'GetKeyRotationStatus', { KeyId: keyId }), { KeyRotationEnabled: false }),
      orElse(everyPage(r, i, 'ListKeyRotations', { KeyId: keyId }, 'Rotations'), []),
      auditPage(r, { keyId, limit: 20 }),
    ]);
    return {
      metadata,
      aliases: (aliases as { AliasName: string }[]).map((a) => a.AliasName),
      tags: tags as { TagKey: string; TagValue: string }[],
      policy: String(policy.Policy ?? ''),
      rotationEnabled: rotation.KeyRotationEnabled === true,
      rotations: rotations as Record<string, unknown>[],
      recentAudit: recent.entries,
    };
  },
  'keys.create': async (r, i) => {
    const input: Record<string, unknown> = {};
    if (i.description !== undefined) input.Description = i.description;
    if (i.keySpec !== undefined) input.KeySpec = i.keySpec;
    if (i.keyUsage !== undefined) input.KeyUsage = i.keyUsage;
    if (i.origin !== undefined) input.Origin = i.origin;
    return (await call(r, i, 'CreateKey', input)).KeyMetadata as KeyMetadataView;
  },
  'keys.enable': async (r, i) => {
    await call(r, i, 'EnableKey', { KeyId: i.keyId });
    return metadataOf(r, i);
  },
  'keys.disable': async (r, i) => {
    await call(r, i, 'DisableKey', { KeyId: i.keyId });
    return metadataOf(r, i);
  },
  'keys.scheduleDeletion': (r, i) =>
    gatedCall(r, i, 'ScheduleKeyDeletion', { KeyId: i.keyId, ...(i.pendingWindowInDays !== undefined ? { PendingWindowInDays: i.pendingWindowInDays } : {}) }, (out) => ({
      keyId: String(out.KeyId),
      keyState: String(out.KeyState),
      deletionDate: iso(Number(out.DeletionDate) * 1000),
    })),
  'keys.cancelDeletion': async (r, i) => {
    await call(r, i, 'CancelKeyDeletion', { KeyId: i.keyId });
    return metadataOf(r, i);
  },
  'imports.parameters': async (r, i) => {
    const out = await call(r, i, 'GetParametersForImport', { KeyId: i.keyId, WrappingAlgorithm: i.wrappingAlgorithm, WrappingKeySpec: i.wrappingKeySpec });
    const publicKey = Buffer.from(String(out.PublicKey), 'base64');
    const token = Buffer.from(String(out.ImportToken), 'base64');
    return {
      keyId: String(out.KeyId),
      publicKey: publicKey.toString('base64'),
      publicKeyPem: pem(publicKey, 'PUBLIC KEY'),
      importToken: token.toString('base64'),
      parametersValidTo: iso(Number(out.ParametersValidTo) * 1000),
      publicKeyFingerprint: fingerprint(publicKey),
      importTokenFingerprint: fingerprint(token),
    };
  },
  'imports.material': async (r, i) => {
    const input: Record<string, unknown> = { KeyId: i.keyId, ImportToken: i.importToken, EncryptedKeyMaterial: i.encryptedKeyMaterial };
    if (i.expirationModel !== undefined) input.ExpirationModel = i.expirationModel;
    if (i.validTo !== undefined) {
      const validTo = i.validTo;
      input.ValidTo = await refusedHere(r, () => {
        const ms = Date.parse(validTo);
        if (!Number.isFinite(ms)) throw new KmsError('Validation', 'Imported key material: "validTo" is a time in ISO 8601 (2027-01-31T00:00:00Z).');
        return ms / 1000;
      });
    }
    return gatedCall(r, i, 'ImportKeyMaterial', input, (out) => ({ keyId: String(out.KeyId) }));
  },

  'audit.list': (r, i) => auditPage(r, i),
};
