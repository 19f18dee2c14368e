// What the operations of main/kms/operations share: their dependencies, AWS's DryRun answer, list
// pagination with opaque markers, the tag rules (CreateKey and TagResource), and the one shape of a
// change to a key's own row (EnableKey, PutKeyPolicy, EnableKeyRotation …).
import { KmsError } from '../../common/errors.js';
import type { AliasRepository, ImportTokenRepository, KeyRepository } from '../../store/index.js';
import type { CallContext, KeyDirectory } from '../key-directory.js';
import type { Key } from '../model/index.js';

export interface OperationDeps {
  directory: KeyDirectory;
  keys: KeyRepository;
  aliases: AliasRepository;
  importTokens: ImportTokenRepository;
}

export const MAX_TAGS = 50;

export interface TagInput {
  tagKey: string;
  tagValue: string;
}

export interface Page<T> {
  items: T[];
  nextMarker?: string;
}

export const dryRun = () => new KmsError('DryRunOperation', 'The request would have succeeded, but the DryRun option is set.');

export function encodeMarker(kind: string, value: string): string {
  return Buffer.from(JSON.stringify([kind, value]), 'utf8').toString('base64url');
}

export const invalidMarker = () =>
  new KmsError('InvalidMarker', 'The request was rejected because the marker that specifies where pagination should next begin is not valid.');

export function decodeMarker(kind: string, marker: string | undefined): string | undefined {
  if (marker === undefined) return undefined;
  try {
    const v = JSON.parse(Buffer.from(marker, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && v[0] === kind && typeof v[1] === 'string') return v[1];
  } catch {
    // fall through
  }
  throw invalidMarker();
}

export function paginate<T>(rows: T[], limit: number, markerOf: (last: T) => string): Page<T> {
  if (rows.length > limit) {
    const items = rows.slice(0, limit);
    return { items, nextMarker: markerOf(items[items.length - 1]!) };
  }
  return { items: rows };
}

/** AWS's tag rules: no reserved aws: keys, no duplicates in one request, at most 50 per key. */
export function checkTags(tags: TagInput[]): TagInput[] {
  const seen = new Set<string>();
  for (const t of tags) {
    // Reserved in any case (AWS:, Aws: …), as AWS's tagging rules have it.
    if (t.tagKey.slice(0, 4).toLowerCase() === 'aws:') throw new KmsError('Tag', `Tag keys beginning with "aws:" (in any case) are reserved for AWS use: ${t.tagKey}`);
    if (seen.has(t.tagKey)) throw new KmsError('Tag', `Duplicate tag key ${t.tagKey} in the request.`);
    seen.add(t.tagKey);
  }
  if (tags.length > MAX_TAGS) throw new KmsError('Tag', `A KMS key can have at most ${MAX_TAGS} tags.`);
  return tags;
}

/**
 * A change to one key's row: the key is resolved (ID or ARN) to prepare the call, then again inside
 * the transaction, where `change` applies its state rules to the key as it is there and returns the
 * row to write. `check` runs first, before the seal is checked (request shape).
 */
export function updateKey(deps: OperationDeps, ctx: CallContext, keyRef: string, change: (k: Key) => Key, check?: () => void): Promise<void> {
  return deps.directory.run(ctx, {
    kind: 'change',
    keyRef,
    check,
    prepare: async () => ({ keys: [await deps.directory.resolve(ctx, keyRef, false)] }),
    apply: async ({ tx, lookup }) => {
      const k = await deps.directory.resolve(ctx, keyRef, false, lookup);
      await deps.keys.update(tx, change(k));
      return { result: undefined, keyId: k.keyId };
    },
  });
}
