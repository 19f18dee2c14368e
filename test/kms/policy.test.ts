// Key policy documents are limited to 32 KiB (32,768 bytes of UTF-8), as AWS KMS limits them (Developer
// Guide, "Quotas": key policy document size). CreateKey and PutKeyPolicy refuse a larger policy with
// LimitExceededException and change nothing; the API model's own limit (131,072 characters) is higher.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallContext } from '../../main/kms/index.js';
import { MAX_POLICY_BYTES } from '../../main/kms/policy.js';
import { TEST_ACCOUNT, auditEntriesAfter, kmsError, openDomain, type Domain } from '../support/domain.js';

/**
 * A valid key policy whose UTF-8 encoding is exactly `bytes` long, padded in its Id with `pad`
 * (a 1-byte or 2-byte character; an odd remainder is made up with one "a").
 */
function policyOfBytes(bytes: number, pad: 'a' | 'é' = 'a'): string {
  const make = (id: string) =>
    JSON.stringify({
      Version: '2012-10-17',
      Id: id,
      Statement: [{ Sid: 'Root', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${TEST_ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' }],
    });
  const room = bytes - Buffer.byteLength(make(''), 'utf8');
  const width = Buffer.byteLength(pad, 'utf8');
  const policy = make('a'.repeat(room % width) + pad.repeat(Math.floor(room / width)));
  expect(Buffer.byteLength(policy, 'utf8')).toBe(bytes);
  return policy;
}

describe('key policy size limit (32 KiB)', () => {
  let d: Domain;
  const ctx = (op: string, over?: Partial<CallContext>) => d.ctx(op, over);

  beforeAll(async () => {
    d = await openDomain();
  });
  afterAll(async () => {
    await d?.close();
  });

  it('is 32,768 bytes', () => {
    expect(MAX_POLICY_BYTES).toBe(32_768);
  });

  it('CreateKey accepts a policy of exactly 32,768 bytes and refuses 32,769 with LimitExceeded, creating nothing', async () => {
    const account = '123456789012';
    const c = (op: string) => ctx(op, { accountId: account, principal: `arn:aws:iam::${account}:root` });
    const fits = policyOfBytes(MAX_POLICY_BYTES);
    const k = await d.keys.createKey(c('CreateKey'), { policy: fits });
    expect(await d.keys.getKeyPolicy(c('GetKeyPolicy'), k.keyId)).toBe(fits);

    const keysBefore = (await d.keys.listKeys(c('ListKeys'))).items.map((x) => x.keyId);
    const auditBefore = await d.store.audit.count();
    for (const policy of [policyOfBytes(MAX_POLICY_BYTES + 1), policyOfBytes(MAX_POLICY_BYTES + 1, 'é'), policyOfBytes(100_000)]) {
      const call = c('CreateKey');
      const err = await kmsError(d.keys.createKey(call, { policy, description: 'must not exist' }));
      expect(err.code).toBe('LimitExceeded');
      expect(err.message).toContain(`${Buffer.byteLength(policy, 'utf8')} bytes`);
      expect(err.message).toContain('32768 bytes');
    }
    // No entry of success: only the refusals'.
    expect(await auditEntriesAfter(d, auditBefore)).toMatchObject([1, 2, 3].map(() => ({ operation: 'CreateKey', outcome: 'error', errorCode: 'LimitExceeded' })));
    expect((await d.keys.listKeys(c('ListKeys'))).items.map((x) => x.keyId)).toEqual(keysBefore);
  });

  it('PutKeyPolicy accepts exactly 32,768 bytes and refuses 32,769 with LimitExceeded, leaving the policy as it was', async () => {
    const k = await d.keys.createKey(ctx('CreateKey'), {});
    const fits = policyOfBytes(MAX_POLICY_BYTES);
    await d.keys.putKeyPolicy(ctx('PutKeyPolicy'), k.keyId, fits);
    expect(await d.keys.getKeyPolicy(ctx('GetKeyPolicy'), k.keyId)).toBe(fits);

    const auditBefore = await d.store.audit.count();
    for (const policy of [policyOfBytes(MAX_POLICY_BYTES + 1), policyOfBytes(MAX_POLICY_BYTES + 1, 'é')]) {
      const call = ctx('PutKeyPolicy');
      const err = await kmsError(d.keys.putKeyPolicy(call, k.keyId, policy));
      expect(err.code).toBe('LimitExceeded');
    }
    // No entry of success: only the refusals'.
    expect(await auditEntriesAfter(d, auditBefore)).toMatchObject([1, 2].map(() => ({ operation: 'PutKeyPolicy', outcome: 'error', errorCode: 'LimitExceeded' })));
    expect(await d.keys.getKeyPolicy(ctx('GetKeyPolicy'), k.keyId)).toBe(fits);
    expect((await d.keys.describeKey(ctx('DescribeKey'), k.keyId)).policy).toBe(fits);
  });

  it('counts UTF-8 bytes, not characters: 32,768 bytes of "é" fit, and one more byte does not, though both are far fewer characters', async () => {
    const k = await d.keys.createKey(ctx('CreateKey'), {});
    const fits = policyOfBytes(MAX_POLICY_BYTES, 'é');
    const over = policyOfBytes(MAX_POLICY_BYTES + 1, 'é');
    expect(fits.length).toBeLessThan(17_000);
    expect(over.length).toBeLessThan(17_000);
    await d.keys.putKeyPolicy(ctx('PutKeyPolicy'), k.keyId, fits);
    expect(await d.keys.getKeyPolicy(ctx('GetKeyPolicy'), k.keyId)).toBe(fits);
    expect((await kmsError(d.keys.putKeyPolicy(ctx('PutKeyPolicy'), k.keyId, over))).code).toBe('LimitExceeded');
    expect((await kmsError(d.keys.createKey(ctx('CreateKey'), { policy: over }))).code).toBe('LimitExceeded');
    expect(await d.keys.getKeyPolicy(ctx('GetKeyPolicy'), k.keyId)).toBe(fits);
  });

  it('PutKeyPolicy works on a key pending deletion, as in every key state (Developer Guide, key state table)', async () => {
    const k = await d.keys.createKey(ctx('CreateKey'), {});
    await d.keys.scheduleKeyDeletion(ctx('ScheduleKeyDeletion'), k.keyId, 7);
    // The waiting period is when someone may need kms:CancelKeyDeletion given to them.
    const policy = policyOfBytes(1_000);
    await d.keys.putKeyPolicy(ctx('PutKeyPolicy'), k.keyId, policy);
    expect(await d.keys.getKeyPolicy(ctx('GetKeyPolicy'), k.keyId)).toBe(policy);
    expect((await d.keys.describeKey(ctx('DescribeKey'), k.keyId)).state).toBe('PendingDeletion');
  });

  it('refuses what AWS refuses as a malformed policy: an unknown element or Version, a principal of no possible shape', async () => {
    const k = await d.keys.createKey(ctx('CreateKey'), {});
    const before = await d.keys.getKeyPolicy(ctx('GetKeyPolicy'), k.keyId);
    const statement = { Sid: 'Root', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${TEST_ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' };
    const doc = (over: Record<string, unknown> = {}, st: Record<string, unknown> = {}) => JSON.stringify({ Version: '2012-10-17', Statement: [{ ...statement, ...st }], ...over });
    const refused: [string, string, RegExp][] = [
      ['an unknown policy element', doc({ Bogus: 1 }), /does not know: "Bogus"/],
      ['an unknown statement element', doc({}, { Bogus: 1 }), /does not know: "Bogus"/],
      ['a Version the language does not have', doc({ Version: '2099-01-01' }), /Version is "2012-10-17"/],
      ['a principal that is no ARN, account or *', doc({}, { Principal: { AWS: 'not-an-arn' } }), /invalid principals/],
      ['one bad principal among good ones', doc({}, { Principal: { AWS: [`arn:aws:iam::${TEST_ACCOUNT}:root`, 'arn:aws:s3:::bucket'] } }), /invalid principals/],
      ['a principal kind the language does not have', doc({}, { Principal: { Robot: 'x' } }), /invalid principals/],
      ['an empty principal list', doc({}, { Principal: { AWS: [] } }), /invalid principals/],
    ];
    for (const [what, policy, message] of refused) {
      const err = await kmsError(d.keys.putKeyPolicy(ctx('PutKeyPolicy'), k.keyId, policy));
      expect([err.code, err.message], what).toEqual(['MalformedPolicyDocument', expect.stringMatching(message)]);
      expect((await kmsError(d.keys.createKey(ctx('CreateKey'), { policy }))).code, what).toBe('MalformedPolicyDocument');
    }
    expect(await d.keys.getKeyPolicy(ctx('GetKeyPolicy'), k.keyId)).toBe(before);
    // What the grammar allows is taken: everyone, an account, IAM and STS ARNs of any partition, the
    // other principal kinds, NotPrincipal, Condition, the older Version, and no Version at all.
    const taken = [
      doc({}, { Principal: '*' }),
      doc({}, { Principal: { AWS: '*' } }),
      doc({}, { Principal: { AWS: [TEST_ACCOUNT, `arn:aws-cn:iam::${TEST_ACCOUNT}:role/app`, `arn:aws-us-gov:sts::${TEST_ACCOUNT}:assumed-role/r/s`] } }),
      doc({}, { Principal: { Service: 'logs.amazonaws.com', AWS: `arn:aws:iam::${TEST_ACCOUNT}:user/a` }, Condition: { StringEquals: { 'kms:CallerAccount': TEST_ACCOUNT } } }),
      doc({ Version: '2008-10-17', Id: 'x' }, { NotResource: 'arn:aws:kms:*:*:key/none', Resource: undefined }),
      JSON.stringify({ Statement: { ...statement, Principal: undefined, NotPrincipal: { AWS: `arn:aws:iam::${TEST_ACCOUNT}:user/b` } } }),
    ];
    for (const policy of taken) await d.keys.putKeyPolicy(ctx('PutKeyPolicy'), k.keyId, policy);
  });
});
