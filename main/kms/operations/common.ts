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

/** MarkerType's maximum length (the API model): a longer NextMarker could not be sent back. */
export const MAX_MARKER_LENGTH = 1024;

/** Base64url's alphabet, unpadded: what encodeMarker writes, and so all decodeMarker reads. */
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/**
 * A marker is base64url of the list's kind, a NUL and the position (the last item's sort key) as raw
 * UTF-8: base64url needs no escaping, so the longest legal position (a tag key of 128 code points, 512
 * bytes) gives 690 characters, within MarkerType's 1024 whatever it holds (JSON escaped a control
 * character in six). The kind keeps one operation's markers from being taken by another. Kinds are
 * ASCII without NUL.
 */
export function encodeMarker(kind: string, value: string): string {
  const marker = Buffer.concat([Buffer.from(kind, 'latin1'), Buffer.of(0), Buffer.from(value, 'utf8')]).toString('base64url');
  // Never reached by a list's sort key (see above): a longer one is a bug to surface, not a marker to hand out.
  if (marker.length > MAX_MARKER_LENGTH) throw new Error(`a ${kind} marker of ${marker.length} characters, over MarkerType's ${MAX_MARKER_LENGTH}`);
  return marker;
}

export const invalidMarker = () =>
  new KmsError('InvalidMarker', 'The request was rejected because the marker that specifies where pagination should next begin is not valid.');

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The position in a marker of this kind; InvalidMarker for anything encodeMarker did not write for this
 * kind (Buffer's base64url decoder skips what is not base64, so the text must also be exactly what it
 * would encode to).
 */
export function decodeMarker(kind: string, marker: string | undefined): string | undefined {
  if (marker === undefined) return undefined;
  if (BASE64URL.test(marker)) {
    const bytes = Buffer.from(marker, 'base64url');
    const split = bytes.indexOf(0);
    if (bytes.toString('base64url') === marker && split >= 0 && bytes.subarray(0, split).toString('latin1') === kind) {
      try {
        return utf8.decode(bytes.subarray(split + 1));
      } catch {
        // not UTF-8: not a marker of ours
      }
    }
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
