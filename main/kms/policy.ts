// Key policies: stored and returned now; evaluated by the authorization issue. Here they are only
// checked to be a well-formed policy document of at most 32 KiB, as AWS checks on PutKeyPolicy and
// CreateKey (AWS KMS Developer Guide, "Quotas" → "Key policy document size": 32 KB, 32,768 bytes):
// the grammar's elements and versions, and principals of a possible shape. A policy Kura took and AWS
// refuses would pass every test here and fail `terraform apply` there.
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

/** The policy language's versions (IAM JSON policy reference, "Version"). */
const VERSIONS = new Set(['2012-10-17', '2008-10-17']);
/** The elements a policy and a statement may have (IAM JSON policy grammar); AWS refuses any other. */
const POLICY_ELEMENTS = new Set(['Version', 'Id', 'Statement']);
const STATEMENT_ELEMENTS = new Set(['Sid', 'Effect', 'Principal', 'NotPrincipal', 'Action', 'NotAction', 'Resource', 'NotResource', 'Condition']);
const PRINCIPAL_KINDS = new Set(['AWS', 'Service', 'Federated', 'CanonicalUser']);
/**
 * What an "AWS" principal may look like: everyone, an account ID, or an IAM or STS ARN of any
 * partition. Kura cannot check that a principal exists, as AWS does, but a string of no such shape
 * is refused by AWS as an invalid principal whatever the account holds.
 */
const AWS_PRINCIPAL = /^(?:\*|\d{12}|arn:aws[a-z-]*:(?:iam|sts)::(?:\d{12}|aws|cloudfront):\S+)$/;

const invalidPrincipals = () => new KmsError('MalformedPolicyDocument', 'Policy contains a statement with one or more invalid principals.');

function checkPrincipal(p: unknown): void {
  if (p === '*') return;
  if (!p || typeof p !== 'object' || Array.isArray(p)) throw invalidPrincipals();
  for (const [kind, v] of Object.entries(p as Record<string, unknown>)) {
    if (!PRINCIPAL_KINDS.has(kind)) throw invalidPrincipals();
    const values = Array.isArray(v) ? v : [v];
    if (values.length === 0 || values.some((x) => typeof x !== 'string' || x === '')) throw invalidPrincipals();
    if (kind === 'AWS' && values.some((x) => !AWS_PRINCIPAL.test(x as string))) throw invalidPrincipals();
  }
}

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
  const top = doc as Record<string, unknown>;
  const unknown = Object.keys(top).find((k) => !POLICY_ELEMENTS.has(k));
  if (unknown !== undefined) throw new KmsError('MalformedPolicyDocument', `The policy has an element the policy language does not know: ${JSON.stringify(unknown.slice(0, 64))}.`);
  if (top.Version !== undefined && !VERSIONS.has(top.Version as string)) throw new KmsError('MalformedPolicyDocument', 'The policy\'s Version is "2012-10-17" (or the older "2008-10-17").');
  const statements = top.Statement;
  const list = Array.isArray(statements) ? statements : statements && typeof statements === 'object' ? [statements] : null;
  if (!list || list.length === 0) throw new KmsError('MalformedPolicyDocument', 'The policy must have at least one Statement.');
  for (const s of list) {
    if (!s || typeof s !== 'object') throw new KmsError('MalformedPolicyDocument', 'Each Statement must be an object.');
    const st = s as Record<string, unknown>;
    if (st.Effect !== 'Allow' && st.Effect !== 'Deny') throw new KmsError('MalformedPolicyDocument', 'Each Statement needs an Effect of Allow or Deny.');
    if (st.Action === undefined && st.NotAction === undefined) throw new KmsError('MalformedPolicyDocument', 'Each Statement needs an Action.');
    if (st.Principal === undefined && st.NotPrincipal === undefined) throw malformed('a Statement has no Principal.');
    const stray = Object.keys(st).find((k) => !STATEMENT_ELEMENTS.has(k));
    if (stray !== undefined) throw new KmsError('MalformedPolicyDocument', `A Statement has an element the policy language does not know: ${JSON.stringify(stray.slice(0, 64))}.`);
    if (st.Principal !== undefined) checkPrincipal(st.Principal);
    if (st.NotPrincipal !== undefined) checkPrincipal(st.NotPrincipal);
  }
}
