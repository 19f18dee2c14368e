// Key policies: stored and returned now; evaluated by the authorization issue. Here they are only
// checked to be a well-formed policy document of at most 32 KiB, as AWS checks on PutKeyPolicy and
// CreateKey (AWS KMS Developer Guide, "Quotas" → "Key policy document size": 32 KB, 32,768 bytes).
import { KmsError } from '../common/errors.js';

/**
 * AWS's quota on a key policy document, in bytes of its UTF-8 encoding. The API model's PolicyType
 * allows 131,072 characters, so request validation alone lets larger documents through.
 */
export const MAX_POLICY_BYTES = 32_768;

/** AWS's default key policy: the account's root principal (in the region's partition) may do everything. */
export function defaultKeyPolicy(accountId: string, partition = 'aws'): string {
  return JSON.stringify(
    {
      Version: '2012-10-17',
      Id: 'key-default-1',
      Statement: [
        {
          Sid: 'Enable IAM User Permissions',
          Effect: 'Allow',
          Principal: { AWS: `arn:${partition}:iam::${accountId}:root` },
          Action: 'kms:*',
          Resource: '*',
        },
      ],
    },
    null,
    2,
  );
}

const malformed = (why: string) => new KmsError('MalformedPolicyDocument', `The new key policy will not allow you to update the key policy in the future: ${why}`);

export function checkPolicyDocument(policy: string): void {
  // Counted in UTF-8 bytes, not UTF-16 code units: a policy of 20,000 "é" is 40,000 bytes.
  const bytes = Buffer.byteLength(policy, 'utf8');
  if (bytes > MAX_POLICY_BYTES) {
    throw new KmsError('LimitExceeded', `The key policy is ${bytes} bytes; a key policy document can be at most ${MAX_POLICY_BYTES} bytes (32 KiB) of UTF-8.`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(policy);
  } catch {
    throw new KmsError('MalformedPolicyDocument', 'The policy is not valid JSON.');
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new KmsError('MalformedPolicyDocument', 'The policy must be a JSON object.');
  const statements = (doc as Record<string, unknown>).Statement;
  const list = Array.isArray(statements) ? statements : statements && typeof statements === 'object' ? [statements] : null;
  if (!list || list.length === 0) throw new KmsError('MalformedPolicyDocument', 'The policy must have at least one Statement.');
  for (const s of list) {
    if (!s || typeof s !== 'object') throw new KmsError('MalformedPolicyDocument', 'Each Statement must be an object.');
    const st = s as Record<string, unknown>;
    if (st.Effect !== 'Allow' && st.Effect !== 'Deny') throw new KmsError('MalformedPolicyDocument', 'Each Statement needs an Effect of Allow or Deny.');
    if (st.Action === undefined && st.NotAction === undefined) throw new KmsError('MalformedPolicyDocument', 'Each Statement needs an Action.');
    if (st.Principal === undefined && st.NotPrincipal === undefined) throw malformed('a Statement has no Principal.');
  }
}
