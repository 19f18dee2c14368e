// Kura's SigV4 signer (main/sigv4/sign.ts) against the AWS SDKs' own (@smithy/signature-v4) for the
// same request and time, and round trips through Kura's verifier for the services Kura uses
// (kms-xks-proxy, kms): the signature the XKS client sends is the one an XKS server checks.
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { describe, expect, it } from 'vitest';
import { signRequest } from '../../main/sigv4/sign.js';
import { verifySigV4 } from '../../main/sigv4/verify.js';

const NOW = Date.UTC(2026, 11, 5, 12, 0, 0);
const KEY = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };
const body = JSON.stringify({ requestMetadata: { awsPrincipalArn: 'arn:aws:iam::111122223333:user/a', kmsOperation: 'Encrypt' }, plaintext: 'AAAA' });

describe('signRequest', () => {
  it('produces the Authorization header @smithy/signature-v4 produces', async () => {
    const ours = signRequest({
      method: 'POST',
      host: 'xks.example.com:8443',
      path: '/prefix/kms/xks/v1/keys/key%201/encrypt',
      headers: { 'Content-Type': 'application/json' },
      body,
      ...KEY,
      region: 'us-east-1',
      service: 'kms-xks-proxy',
      nowMs: NOW,
    });
    const smithy = await new SignatureV4({ service: 'kms-xks-proxy', region: 'us-east-1', credentials: KEY, sha256: Sha256 }).sign(
      {
        method: 'POST',
        protocol: 'https:',
        hostname: 'xks.example.com',
        port: 8443,
        path: '/prefix/kms/xks/v1/keys/key%201/encrypt',
        query: {},
        headers: { host: 'xks.example.com:8443', 'content-type': 'application/json', 'x-amz-content-sha256': ours['x-amz-content-sha256']! },
        body,
      },
      { signingDate: new Date(NOW) },
    );
    expect(ours.authorization).toBe(smithy.headers.authorization);
  });

  it('is accepted by verifySigV4, and a changed body or secret is not', async () => {
    const signed = (over: Partial<Parameters<typeof signRequest>[0]> = {}) =>
      signRequest({ method: 'POST', host: '127.0.0.1:7420', path: '/', body, ...KEY, region: 'eu-west-1', service: 'kms', nowMs: NOW, ...over });
    const request = (headers: Record<string, string>, b = body) => ({ method: 'POST', path: '/', query: '', headers, body: Buffer.from(b) });
    const opts = { service: 'kms', nowMs: NOW, lookupSecret: (id: string) => (id === KEY.accessKeyId ? KEY.secretAccessKey : undefined) };
    await expect(verifySigV4(request(signed()), opts)).resolves.toMatchObject({ accessKeyId: KEY.accessKeyId, region: 'eu-west-1', service: 'kms' });
    await expect(verifySigV4(request(signed(), `${body} `), opts)).rejects.toMatchObject({ code: 'InvalidSignature' });
    await expect(verifySigV4(request(signed({ secretAccessKey: 'x'.repeat(40) })), opts)).rejects.toMatchObject({ code: 'InvalidSignature' });
  });
});
