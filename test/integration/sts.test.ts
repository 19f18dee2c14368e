// sts:GetCallerIdentity on the loopback listener, through the real AWS CLIs (Debian's v2 and the newer
// v1): the answer names the credential's account and principal in the region's partition; other STS
// actions answer InvalidAction; a wrong secret answers STS's SignatureDoesNotMatch; and a region that
// is no AWS region is refused in the signature scope, for STS and KMS alike; and the Query protocol's
// GET /?Action=GetCallerIdentity is answered as STS, in its XML, as a POST is.
import { ListKeysCommand } from '@aws-sdk/client-kms';
import { signRequest } from '../../main/sigv4/sign.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwsCli, DEBIAN_AWS } from '../support/aws-cli.js';
import { errorName, kmsClient } from '../support/kms-client.js';
import { startKura } from '../support/kura-process.js';

const cli = new AwsCli('kura-sts-', 60_000);
let newer: string | undefined;

beforeAll(async () => {
  await cli.start();
  newer = await cli.findNewerAws();
});
afterAll(() => cli.stop());

interface CallerIdentity {
  Account: string;
  Arn: string;
  UserId: string;
}

describe('sts get-caller-identity', () => {
  it('answers with the dev credential account and ARN, with Debian aws v2 and the newer v1', async () => {
    for (const bin of [DEBIAN_AWS, ...(newer ? [newer] : [])]) {
      const id = await cli.awsJson<CallerIdentity>(['sts', 'get-caller-identity'], bin);
      expect(id, bin).toEqual({ Account: '111122223333', Arn: 'arn:aws:iam::111122223333:user/kura-dev', UserId: expect.stringMatching(/^AIDA[A-Z2-7]{17}$/) as string });
    }
  });

  it('names the partition of the region: aws-cn for cn-north-1, aws-us-gov for us-gov-west-1', async () => {
    const cn = await cli.awsJson<CallerIdentity>(['sts', 'get-caller-identity', '--region', 'cn-north-1']);
    expect(cn.Arn).toBe('arn:aws-cn:iam::111122223333:user/kura-dev');
    const gov = await cli.awsJson<CallerIdentity>(['sts', 'get-caller-identity', '--region', 'us-gov-west-1']);
    expect(gov.Arn).toBe('arn:aws-us-gov:iam::111122223333:user/kura-dev');
  });

  it('refuses any other STS action with InvalidAction', async () => {
    const stderr = await cli.awsFail(['sts', 'get-session-token']);
    expect(stderr).toMatch(/InvalidAction/);
    expect(stderr).toMatch(/only sts:GetCallerIdentity/);
  });

  it('answers GET /?Action=GetCallerIdentity signed for sts in XML, and refuses another action there in XML too', async () => {
    const get = async (query: string) => {
      const { kura } = cli;
      const headers = signRequest({ method: 'GET', host: new URL(kura.url).host, path: '/', query, body: '', accessKeyId: kura.accessKeyId, secretAccessKey: kura.secretAccessKey, region: 'us-east-1', service: 'sts', nowMs: Date.now() });
      const res = await fetch(`${kura.url}/?${query}`, { headers });
      return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
    };
    const ok = await get('Action=GetCallerIdentity&Version=2011-06-15');
    expect([ok.status, ok.type]).toEqual([200, 'text/xml']);
    expect(ok.body).toContain('<Arn>arn:aws:iam::111122223333:user/kura-dev</Arn>');
    expect(ok.body).toContain('<Account>111122223333</Account>');
    const other = await get('Action=GetSessionToken&Version=2011-06-15');
    expect([other.status, other.type]).toEqual([400, 'text/xml']);
    expect(other.body).toContain('<Code>InvalidAction</Code>');
  });

  it('a wrong secret is SignatureDoesNotMatch, as STS names it', async () => {
    const env = cli.envWith({ AWS_SECRET_ACCESS_KEY: 'x'.repeat(40) });
    const r = await cli.run(DEBIAN_AWS, ['--endpoint-url', cli.kura.url, 'sts', 'get-caller-identity'], env);
    expect(r.code).toBe(254);
    expect(r.stderr).toMatch(/SignatureDoesNotMatch/);
  });
});

describe('regions', () => {
  it('a region that is not an AWS region is refused in the signature scope, for KMS and STS', async () => {
    const kms = await cli.awsFail(['kms', 'list-keys', '--region', 'xx-fake-9']);
    expect(kms).toMatch(/InvalidSignatureException/);
    expect(kms).toMatch(/Credential should be scoped to a valid region, not 'xx-fake-9'/);
    const sts = await cli.awsFail(['sts', 'get-caller-identity', '--region', 'xx-fake-9']);
    expect(sts).toMatch(/SignatureDoesNotMatch/);
    expect(sts).toMatch(/valid region/);
  });

  it('a key made in cn-north-1 has an aws-cn ARN, one in us-gov-west-1 an aws-us-gov ARN', async () => {
    const cn = await cli.awsJson<{ KeyMetadata: { Arn: string } }>(['kms', 'create-key', '--region', 'cn-north-1']);
    expect(cn.KeyMetadata.Arn).toMatch(/^arn:aws-cn:kms:cn-north-1:111122223333:key\//);
    const gov = await cli.awsJson<{ KeyMetadata: { Arn: string } }>(['kms', 'create-key', '--region', 'us-gov-west-1']);
    expect(gov.KeyMetadata.Arn).toMatch(/^arn:aws-us-gov:kms:us-gov-west-1:111122223333:key\//);
  });

  it('--regions narrows the allowed regions; a region outside the list is refused like a non-AWS one', async () => {
    const kura = await startKura({ args: ['--regions', 'us-east-1,eu-west-1'] });
    try {
      expect(await errorName(kmsClient(kura, { region: 'eu-west-1' }).send(new ListKeysCommand({})))).toBe('ok');
      const refused = kmsClient(kura, { region: 'eu-west-2' }).send(new ListKeysCommand({}));
      await expect(refused).rejects.toThrow(/Credential should be scoped to a valid region, not 'eu-west-2'/);
    } finally {
      await kura.stop();
    }
  });
});
