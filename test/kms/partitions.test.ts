// ARNs carry the partition of their region: keys and aliases made in cn-north-1 are arn:aws-cn:…,
// in us-gov-west-1 arn:aws-us-gov:…; an ARN whose partition does not match its region is not found;
// the default key policy names the root principal in the same partition.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { keyArn, aliasArn } from '../../main/kms/identifiers.js';
import { kmsCode, openDomain, type Domain } from '../support/domain.js';

describe('partitions', () => {
  let d: Domain;
  beforeEach(async () => {
    d = await openDomain();
  });
  afterEach(() => d.close());

  it('builds ARNs in the partition of the region', () => {
    expect(keyArn('us-east-1', '111122223333', 'k')).toBe('arn:aws:kms:us-east-1:111122223333:key/k');
    expect(keyArn('cn-north-1', '111122223333', 'k')).toBe('arn:aws-cn:kms:cn-north-1:111122223333:key/k');
    expect(aliasArn('us-gov-west-1', '111122223333', 'alias/a')).toBe('arn:aws-us-gov:kms:us-gov-west-1:111122223333:alias/a');
  });

  it('a key made in cn-north-1 is resolved by its aws-cn ARN, not by an aws one', async () => {
    const ctx = d.ctx('CreateKey', { region: 'cn-north-1' });
    const k = await d.keys.createKey(ctx, {});
    const arn = d.keys.arnOf(k);
    expect(arn).toMatch(/^arn:aws-cn:kms:cn-north-1:/);
    expect((await d.keys.describeKey(d.ctx('DescribeKey', { region: 'cn-north-1' }), arn)).keyId).toBe(k.keyId);
    expect(await kmsCode(d.keys.describeKey(d.ctx('DescribeKey', { region: 'cn-north-1' }), arn.replace('arn:aws-cn:', 'arn:aws:')))).toBe('NotFound');
    expect(JSON.parse(k.policy)).toMatchObject({ Statement: [{ Principal: { AWS: 'arn:aws-cn:iam::111122223333:root' } }] });
  });
});
