// Aliases with AWS KMS semantics (API reference: CreateAlias, UpdateAlias, DeleteAlias, ListAliases):
// one account and region each, names under alias/ but not alias/aws/, pointing at a key that is not
// pending deletion; UpdateAlias keeps the key spec and usage of the alias's current key.
import { isKmsError, KmsError, kmsErrors } from '../../common/errors.js';
import type { AliasRecord, Tx } from '../../store/index.js';
import type { CallContext, KeyDirectory, Lookup } from '../key-directory.js';
import { aliasArn, checkAliasName } from '../identifiers.js';
import { arnOf, requireNotPendingDeletion, type Key } from '../model/index.js';
import { decodeMarker, encodeMarker, paginate, type OperationDeps, type Page } from './common.js';

const aliasNotFound = (ctx: CallContext, aliasName: string) => kmsErrors.notFound(`Alias ${aliasArn(ctx.region, ctx.accountId, aliasName)} is not found.`);

/**
 * UpdateAlias and DeleteAlias name an alias that must exist. The API model lists no
 * InvalidAliasNameException for them, and Kura has no AWS managed keys, so an alias/aws/ name is one
 * that does not exist here: NotFoundException (CreateAlias alone refuses the reserved prefix).
 */
function checkExistingAliasName(ctx: CallContext, aliasName: string): void {
  if (aliasName.startsWith('alias/aws/')) throw aliasNotFound(ctx, aliasName);
  checkAliasName(aliasName);
}

/** AWS's quota "Aliases per KMS key" (KMS Developer Guide, resource quotas); not adjustable. */
export const MAX_ALIASES_PER_KEY = 50;

/** ListAliases pages at most 100 aliases: "it must be between 1 and 100" (API model), and AWS "might return fewer". */
export const MAX_ALIASES_PAGE = 100;

/**
 * The key an alias is to point at (TargetKeyId: a key ID or key ARN). CreateAlias and UpdateAlias list no
 * InvalidArnException in the API model, so an alias ARN there names no key, as an alias name does.
 */
async function resolveTarget(directory: KeyDirectory, ctx: CallContext, targetKeyId: string, lookup?: Lookup): Promise<Key> {
  try {
    return await directory.resolve(ctx, targetKeyId, false, lookup);
  } catch (e) {
    if (isKmsError(e) && e.code === 'InvalidArn') throw kmsErrors.notFound(`Invalid keyId '${targetKeyId}'`);
    throw e;
  }
}

/** LimitExceededException if `key` already has as many aliases as AWS allows a key. */
async function requireAliasRoom(deps: OperationDeps, ctx: CallContext, tx: Tx, key: Key): Promise<void> {
  const held = await deps.aliases.list(ctx.accountId, ctx.region, key.keyId, '', MAX_ALIASES_PER_KEY, tx);
  if (held.length >= MAX_ALIASES_PER_KEY) {
    throw new KmsError('LimitExceeded', `${arnOf(key)} has ${held.length} aliases, the most a KMS key may have (${MAX_ALIASES_PER_KEY}).`);
  }
}

/** A key spec's type, as UpdateAlias compares them: symmetric encryption, HMAC, or asymmetric. */
const keyClassOf = (spec: string): 'symmetric' | 'hmac' | 'asymmetric' => (spec === 'SYMMETRIC_DEFAULT' ? 'symmetric' : spec.startsWith('HMAC_') ? 'hmac' : 'asymmetric');

export class AliasOperations {
  constructor(private readonly deps: OperationDeps) {}

  aliasArnOf(a: AliasRecord): string {
    return aliasArn(a.region, a.accountId, a.aliasName);
  }

  /** An alias of the caller's account and region, and the key it points at (for the authorizer). */
  private async existing(ctx: CallContext, aliasName: string): Promise<{ alias: AliasRecord; current: Key | undefined }> {
    const alias = await this.deps.directory.readLookup().alias(ctx.accountId, ctx.region, aliasName);
    if (!alias) throw aliasNotFound(ctx, aliasName);
    return { alias, current: await this.deps.directory.findKey(alias.keyId) };
  }

  createAlias(ctx: CallContext, aliasName: string, targetKeyId: string): Promise<void> {
    const { directory, aliases } = this.deps;
    return directory.run(ctx, {
      kind: 'change',
      check: () => checkAliasName(aliasName),
      prepare: async () => ({ keys: [await resolveTarget(directory, ctx, targetKeyId)] }),
      apply: async ({ tx, lookup }) => {
        const k = await resolveTarget(directory, ctx, targetKeyId, lookup);
        requireNotPendingDeletion(k);
        if (await aliases.find(ctx.accountId, ctx.region, aliasName, tx)) {
          throw new KmsError('AlreadyExists', `An alias with the name ${aliasArn(ctx.region, ctx.accountId, aliasName)} already exists`);
        }
        await requireAliasRoom(this.deps, ctx, tx, k);
        const now = directory.now();
        await aliases.insert(tx, { accountId: ctx.accountId, region: ctx.region, aliasName, keyId: k.keyId, createdAt: now, updatedAt: now });
        return { result: undefined, keyId: k.keyId, details: { aliasName } };
      },
    });
  }

  updateAlias(ctx: CallContext, aliasName: string, targetKeyId: string): Promise<void> {
    const { directory, aliases } = this.deps;
    return directory.run(ctx, {
      kind: 'change',
      check: () => checkExistingAliasName(ctx, aliasName),
      prepare: async () => {
        const { current } = await this.existing(ctx, aliasName);
        const target = await resolveTarget(directory, ctx, targetKeyId);
        return { keys: current ? [current, target] : [target] };
      },
      apply: async ({ tx, lookup }) => {
        const alias = await aliases.find(ctx.accountId, ctx.region, aliasName, tx);
        if (!alias) throw aliasNotFound(ctx, aliasName);
        const k = await resolveTarget(directory, ctx, targetKeyId, lookup);
        requireNotPendingDeletion(k);
        const current = await lookup.key(alias.keyId);
        // AWS: the same type (symmetric, asymmetric or HMAC) and the same key usage; the spec may differ.
        if (current && (current.keyUsage !== k.keyUsage || keyClassOf(current.keySpec) !== keyClassOf(k.keySpec))) {
          throw kmsErrors.validation('The alias can only point to a key of the same type (symmetric, asymmetric or HMAC) and key usage as its current key.');
        }
        if (alias.keyId !== k.keyId) await requireAliasRoom(this.deps, ctx, tx, k);
        await aliases.retarget(tx, alias, k.keyId, directory.now());
        return { result: undefined, keyId: k.keyId, details: { aliasName } };
      },
    });
  }

  deleteAlias(ctx: CallContext, aliasName: string): Promise<void> {
    const { directory, aliases } = this.deps;
    return directory.run(ctx, {
      kind: 'change',
      check: () => checkExistingAliasName(ctx, aliasName),
      prepare: async () => {
        const { current } = await this.existing(ctx, aliasName);
        return { keys: current ? [current] : [] };
      },
      apply: async ({ tx }) => {
        const alias = await aliases.find(ctx.accountId, ctx.region, aliasName, tx);
        if (!alias) throw aliasNotFound(ctx, aliasName);
        await aliases.delete(tx, alias);
        return { result: undefined, keyId: alias.keyId, details: { aliasName } };
      },
    });
  }

  listAliases(ctx: CallContext, keyRef: string | undefined, requested = 50, marker?: string): Promise<Page<AliasRecord>> {
    const { directory, aliases } = this.deps;
    const limit = Math.min(requested, MAX_ALIASES_PAGE);
    return directory.run(ctx, {
      kind: 'read',
      keyRef,
      prepare: async () => {
        const after = decodeMarker('aliases', marker) ?? '';
        const key = keyRef === undefined ? undefined : await directory.resolve(ctx, keyRef, false);
        return { keys: key ? [key] : [], key, after };
      },
      run: async ({ key, after }) => {
        const rows = await aliases.list(ctx.accountId, ctx.region, key?.keyId ?? null, after, limit + 1);
        return paginate(rows, limit, (a) => encodeMarker('aliases', a.aliasName));
      },
    });
  }
}
