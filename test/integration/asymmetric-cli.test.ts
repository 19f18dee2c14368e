// Asymmetric signing keys through the unchanged AWS CLI v2 (Debian's /usr/bin/aws 2.9.19, which needs
// --endpoint-url on every call) against a real dev-mode Kura: create-key with a key spec, sign (RAW and
// DIGEST), verify, get-public-key; the public key the CLI prints (base64 of DER SubjectPublicKeyInfo)
// is turned into files and verifies the CLI-made signatures in Debian's `openssl`. One RSA key
// (RSASSA_PSS_SHA_256) and one ECC key (ECDSA_SHA_256): algorithms the CLI's 2.9.19 model knows.
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwsCli, REGION } from '../support/aws-cli.js';

const CALL_TIMEOUT_MS = 30_000;

interface KeyMetadata {
  KeyId: string;
  Arn: string;
  KeyUsage: string;
  KeySpec: string;
  CustomerMasterKeySpec?: string;
  KeyState: string;
  SigningAlgorithms?: string[];
  EncryptionAlgorithms?: string[];
}
interface SignOut {
  KeyId: string;
  Signature: string;
  SigningAlgorithm: string;
}
interface VerifyOut {
  KeyId: string;
  SignatureValid: boolean;
  SigningAlgorithm: string;
}
interface PublicKeyOut {
  KeyId: string;
  PublicKey: string;
  KeySpec: string;
  CustomerMasterKeySpec?: string;
  KeyUsage: string;
  SigningAlgorithms?: string[];
  EncryptionAlgorithms?: string[];
}

const cli = new AwsCli('kura-asymmetric-cli-', CALL_TIMEOUT_MS);
const { awsJson, awsFail } = cli;

let fileSeq = 0;
function writeFile(bytes: Uint8Array | string, name: string): string {
  const p = path.join(cli.work, `${++fileSeq}-${name}`);
  fs.writeFileSync(p, bytes);
  return p;
}
const fileb = (bytes: Uint8Array, name = 'blob.bin') => `fileb://${writeFile(bytes, name)}`;

function openssl(args: string[]): { ok: boolean; out: string } {
  const r = spawnSync('openssl', args, { cwd: cli.work });
  return { ok: r.status === 0, out: r.stdout.toString() + r.stderr.toString() };
}
const toPem = (der: Buffer) => `-----BEGIN PUBLIC KEY-----\n${der.toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END PUBLIC KEY-----\n`;
function flipBit(b: Buffer): Buffer {
  const out = Buffer.from(b);
  const i = Math.floor(out.length / 2);
  out[i] = out[i]! ^ 0x01;
  return out;
}

beforeAll(() => cli.start());

afterAll(() => cli.stop());

const CASES = [
  {
    keySpec: 'RSA_2048',
    algorithm: 'RSASSA_PSS_SHA_256',
    signingAlgorithms: ['RSASSA_PSS_SHA_256', 'RSASSA_PSS_SHA_384', 'RSASSA_PSS_SHA_512', 'RSASSA_PKCS1_V1_5_SHA_256', 'RSASSA_PKCS1_V1_5_SHA_384', 'RSASSA_PKCS1_V1_5_SHA_512'],
    opensslOptions: ['rsa_padding_mode:pss', 'rsa_pss_saltlen:digest'],
    signatureBytes: 256,
  },
  {
    keySpec: 'ECC_NIST_P256',
    algorithm: 'ECDSA_SHA_256',
    signingAlgorithms: ['ECDSA_SHA_256'],
    opensslOptions: [] as string[],
    signatureBytes: undefined,
  },
] as const;

describe('AWS CLI: sign, verify and get-public-key with asymmetric keys', { timeout: 120_000 }, () => {
  it.each(CASES)('$keySpec with $algorithm', async ({ keySpec, algorithm, signingAlgorithms, opensslOptions, signatureBytes }) => {
    const created = (
      await awsJson<{ KeyMetadata: KeyMetadata }>(['kms', 'create-key', '--key-spec', keySpec, '--key-usage', 'SIGN_VERIFY', '--description', `cli ${keySpec}`])
    ).KeyMetadata;
    expect(created).toMatchObject({ KeySpec: keySpec, KeyUsage: 'SIGN_VERIFY', KeyState: 'Enabled', SigningAlgorithms: signingAlgorithms });
    expect(created.EncryptionAlgorithms).toBeUndefined();
    expect(created.Arn).toMatch(new RegExp(`^arn:aws:kms:${REGION}:\\d{12}:key/${created.KeyId}$`));

    // sign, RAW and DIGEST.
    const message = randomBytes(700);
    const msgFile = writeFile(message, 'message.bin');
    const signed = await awsJson<SignOut>([
      'kms', 'sign', '--key-id', created.KeyId, '--message', `fileb://${msgFile}`, '--message-type', 'RAW', '--signing-algorithm', algorithm,
    ]);
    expect(signed).toMatchObject({ KeyId: created.Arn, SigningAlgorithm: algorithm });
    const signature = Buffer.from(signed.Signature, 'base64');
    if (signatureBytes !== undefined) expect(signature.length).toBe(signatureBytes);
    const digest = createHash('sha256').update(message).digest();
    const signedDigest = await awsJson<SignOut>([
      'kms', 'sign', '--key-id', created.Arn, '--message', fileb(digest, 'digest.bin'), '--message-type', 'DIGEST', '--signing-algorithm', algorithm,
    ]);
    const digestSignature = Buffer.from(signedDigest.Signature, 'base64');

    // verify, in Kura through the CLI.
    const verified = await awsJson<VerifyOut>([
      'kms', 'verify', '--key-id', created.KeyId, '--message', `fileb://${msgFile}`, '--message-type', 'RAW',
      '--signature', fileb(signature, 'sig.bin'), '--signing-algorithm', algorithm,
    ]);
    expect(verified).toEqual({ KeyId: created.Arn, SignatureValid: true, SigningAlgorithm: algorithm });
    const verifiedDigest = await awsJson<VerifyOut>([
      'kms', 'verify', '--key-id', created.KeyId, '--message', fileb(digest, 'digest.bin'), '--message-type', 'DIGEST',
      '--signature', fileb(digestSignature, 'sig.bin'), '--signing-algorithm', algorithm,
    ]);
    expect(verifiedDigest.SignatureValid).toBe(true);
    const refused = await awsFail([
      'kms', 'verify', '--key-id', created.KeyId, '--message', `fileb://${msgFile}`, '--message-type', 'RAW',
      '--signature', fileb(flipBit(signature), 'bad-sig.bin'), '--signing-algorithm', algorithm,
    ]);
    expect(refused).toContain('KMSInvalidSignatureException');

    // get-public-key: base64 DER SubjectPublicKeyInfo, and the metadata AWS returns with it.
    const pub = await awsJson<PublicKeyOut>(['kms', 'get-public-key', '--key-id', created.KeyId]);
    expect(pub).toMatchObject({ KeyId: created.Arn, KeySpec: keySpec, KeyUsage: 'SIGN_VERIFY', SigningAlgorithms: signingAlgorithms });
    expect(pub.EncryptionAlgorithms).toBeUndefined();
    const der = Buffer.from(pub.PublicKey, 'base64');
    expect(der[0]).toBe(0x30);
    const derFile = writeFile(der, 'public.der');
    const pemFile = writeFile(toPem(der), 'public.pem');
    const text = openssl(['pkey', '-pubin', '-inform', 'DER', '-in', derFile, '-noout', '-text']);
    expect(text.ok, text.out).toBe(true);
    expect(text.out).toContain(keySpec === 'RSA_2048' ? 'Public-Key: (2048 bit)' : 'NIST CURVE: P-256');
    // Asked again, the same key (GetPublicKey must not change what it hands out).
    expect((await awsJson<PublicKeyOut>(['kms', 'get-public-key', '--key-id', created.Arn])).PublicKey).toBe(pub.PublicKey);

    // openssl verifies both CLI-made signatures over the message: `dgst` with the PEM and `pkeyutl` with the DER.
    for (const [what, sig] of [['RAW', signature], ['DIGEST', digestSignature]] as const) {
      const sigFile = writeFile(sig, `${what}.sig`);
      const dgst = openssl(['dgst', '-sha256', '-verify', pemFile, '-signature', sigFile, ...opensslOptions.flatMap((o) => ['-sigopt', o]), msgFile]);
      expect(dgst.out, what).toContain('Verified OK');
      const pkeyutl = openssl([
        'pkeyutl', '-verify', '-pubin', '-inkey', derFile, '-keyform', 'DER', '-rawin', '-in', msgFile, '-sigfile', sigFile,
        '-digest', 'sha256', ...opensslOptions.flatMap((o) => ['-pkeyopt', o]),
      ]);
      expect(pkeyutl.out, what).toContain('Signature Verified Successfully');
    }
    const badFile = writeFile(flipBit(signature), 'bad.sig');
    expect(openssl(['dgst', '-sha256', '-verify', pemFile, '-signature', badFile, ...opensslOptions.flatMap((o) => ['-sigopt', o]), msgFile]).ok).toBe(false);

    // Sign after get-public-key still works and verifies (the key is untouched by being read).
    const again = await awsJson<SignOut>([
      'kms', 'sign', '--key-id', created.KeyId, '--message', `fileb://${msgFile}`, '--message-type', 'RAW', '--signing-algorithm', algorithm,
    ]);
    const againVerified = await awsJson<VerifyOut>([
      'kms', 'verify', '--key-id', created.KeyId, '--message', `fileb://${msgFile}`, '--message-type', 'RAW',
      '--signature', fileb(Buffer.from(again.Signature, 'base64'), 'sig.bin'), '--signing-algorithm', algorithm,
    ]);
    expect(againVerified.SignatureValid).toBe(true);
  });

  it('sign with an algorithm of another spec, or a DIGEST of the wrong length, fails with the AWS error name', async () => {
    const created = (await awsJson<{ KeyMetadata: KeyMetadata }>(['kms', 'create-key', '--key-spec', 'ECC_NIST_P256', '--key-usage', 'SIGN_VERIFY'])).KeyMetadata;
    const wrongAlgorithm = await awsFail([
      'kms', 'sign', '--key-id', created.KeyId, '--message', fileb(Buffer.from('m')), '--message-type', 'RAW', '--signing-algorithm', 'ECDSA_SHA_384',
    ]);
    expect(wrongAlgorithm).toContain('InvalidKeyUsageException');
    const wrongDigest = await awsFail([
      'kms', 'sign', '--key-id', created.KeyId, '--message', fileb(randomBytes(20)), '--message-type', 'DIGEST', '--signing-algorithm', 'ECDSA_SHA_256',
    ]);
    expect(wrongDigest).toContain('ValidationException');
  });
});
