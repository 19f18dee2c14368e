// Key IDs, key ARNs, alias names and alias ARNs, accepted where AWS accepts them. ARNs name the
// partition of their region (arn:aws-cn:kms:cn-north-1:…, arn:aws-us-gov:kms:us-gov-west-1:…).
import { randomUUID } from 'node:crypto';
import { KmsError } from '../common/errors.js';
import { partitionOf } from '../common/regions.js';

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ARN_RE = /^arn:(aws[a-z-]*):kms:([a-z0-9-]+):(\d{12}):(key|alias)\/(.+)$/;

export const newKeyId = (): string => randomUUID();

export const keyArn = (region: string, accountId: string, keyId: string): string => `arn:${partitionOf(region)}:kms:${region}:${accountId}:key/${keyId}`;
export const aliasArn = (region: string, accountId: string, aliasName: string): string =>
  `arn:${partitionOf(region)}:kms:${region}:${accountId}:${aliasName}`;

export type KeyRef =
  | { kind: 'key'; keyId: string; accountId?: string; region?: string; partition?: string }
  | { kind: 'alias'; aliasName: string; accountId?: string; region?: string; partition?: string };

const invalidKeyId = (raw: string) => new KmsError('NotFound', `Invalid keyId '${raw}'`);

/**
 * An alias ARN where only a key ID or key ARN is taken: AWS answers InvalidArnException, "Key Aliases are
 * not supported for this operation." (as reported from CreateGrant, and every operation that takes only a
 * key lists InvalidArnException in the API model). A bare alias name there is no key ID at all: AWS's
 * NotFoundException "Invalid keyId".
 */
export const ALIAS_ARN_REFUSED = 'Key Aliases are not supported for this operation.';

/** Parses what a caller gave as KeyId. `allowAlias` is false for operations that take only a key ID or key ARN. */
export function parseKeyRef(raw: string, allowAlias: boolean): KeyRef {
  if (raw.startsWith('arn:')) {
    const m = ARN_RE.exec(raw);
    if (!m) throw new KmsError('NotFound', `Invalid arn ${raw}`);
    const [, partition, region, accountId, type, rest] = m as unknown as [string, string, string, string, string, string];
    if (type === 'key') {
      if (!UUID_RE.test(rest)) throw invalidKeyId(raw);
      return { kind: 'key', keyId: rest, accountId, region, partition };
    }
    if (!allowAlias) throw new KmsError('InvalidArn', ALIAS_ARN_REFUSED);
    return { kind: 'alias', aliasName: `alias/${rest}`, accountId, region, partition };
  }
  if (raw.startsWith('alias/')) {
    if (!allowAlias) throw invalidKeyId(raw);
    return { kind: 'alias', aliasName: raw };
  }
  if (!UUID_RE.test(raw)) throw invalidKeyId(raw);
  return { kind: 'key', keyId: raw };
}

/**
 * The key ID a KeyId names by itself (a key ID, or the key ARN of one), without looking anything up;
 * undefined for an alias or anything malformed. What the audit log names for a key it could not resolve.
 */
export function keyIdNamedBy(raw: string): string | undefined {
  try {
    const ref = parseKeyRef(raw, true);
    return ref.kind === 'key' ? ref.keyId : undefined;
  } catch {
    return undefined;
  }
}

/** Validates an alias name for CreateAlias/UpdateAlias/DeleteAlias. */
export function checkAliasName(name: string): void {
  if (!name.startsWith('alias/') || name.length <= 'alias/'.length) {
    throw new KmsError('Validation', `Alias must start with the prefix "alias/". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html`);
  }
  if (name.startsWith('alias/aws/')) {
    throw new KmsError('InvalidAliasName', `Alias names that begin with "alias/aws/" are reserved for AWS managed keys: ${name}`);
  }
}
