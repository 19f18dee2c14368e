// @vitest-environment happy-dom
// The console's key-file signing (renderer/lib/key-file.ts): a custodian's PEM private key — made by
// openssl as the README tells custodians, and by node:crypto in PKCS#8 and SEC1 — signs an approval
// statement with WebCrypto in the page, and node:crypto verifies the signature with the public half, as
// Kura's quorum does (Ed25519: 64 bytes; P-256: r || s). Keys the console cannot use are refused with
// a KeyFile error that says what to give instead.
import { execFileSync } from 'node:child_process';
import { createPrivateKey, createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { KeyFileError, privateKeyDer, signWithKeyFile } from '../../renderer/lib/key-file.js';

const statement = new TextEncoder().encode('{"action":"kms:ImportKeyMaterial","applianceId":"x","digest":"ab","expiresAt":"2030-01-01T00:00:00.000Z","request":"apr-0123456789abcdef01234567"}\n');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-keyfile-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function opensslKey(name: string, ...args: string[]): string {
  const file = path.join(dir, `${name}.pem`);
  execFileSync('openssl', ['genpkey', ...args, '-out', file], { stdio: 'ignore' });
  return fs.readFileSync(file, 'utf8');
}

function verifies(pem: string, signature: Uint8Array, message = statement): boolean {
  const pub = createPublicKey(createPrivateKey(pem));
  return pub.asymmetricKeyType === 'ed25519'
    ? verify(null, message, pub, signature)
    : verify('sha256', message, { key: pub, dsaEncoding: 'ieee-p1363' }, signature);
}

async function refusal(pem: string): Promise<KeyFileError> {
  const e = await signWithKeyFile(pem, statement).then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(KeyFileError);
  expect((e as KeyFileError).code).toBe('KeyFile');
  return e as KeyFileError;
}

describe('signing an approval statement with a key file', () => {
  it('an Ed25519 key made by openssl genpkey signs 64 bytes that node:crypto verifies', async () => {
    const pem = opensslKey('ed', '-algorithm', 'ed25519');
    const { algorithm, signature } = await signWithKeyFile(pem, statement);
    expect(algorithm).toBe('ed25519');
    expect(signature.length).toBe(64);
    expect(verifies(pem, signature)).toBe(true);
    const other = new TextEncoder().encode('another statement\n');
    expect(verifies(pem, signature, other)).toBe(false);
  });

  it('a P-256 key made by openssl genpkey signs r || s (64 bytes) over SHA-256 that node:crypto verifies', async () => {
    const pem = opensslKey('p256', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256');
    const { algorithm, signature } = await signWithKeyFile(pem, statement);
    expect(algorithm).toBe('ecdsa-p256');
    expect(signature.length).toBe(64);
    expect(verifies(pem, signature)).toBe(true);
  });

  it('a SEC1 "EC PRIVATE KEY" (openssl ecparam -genkey, node:crypto sec1) is wrapped as PKCS#8 and signs', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = privateKey.export({ format: 'pem', type: 'sec1' }).toString();
    expect(pem).toContain('BEGIN EC PRIVATE KEY');
    const { signature } = await signWithKeyFile(pem, statement);
    expect(verifies(pem, signature)).toBe(true);
  });

  it('a node:crypto PKCS#8 Ed25519 key with text around the PEM block signs', async () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const pem = `alice's key, made 2025\n${privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()}\n`;
    const { signature } = await signWithKeyFile(pem, statement);
    expect(verifies(pem, signature)).toBe(true);
  });

  it('imports the key non-extractable, for signing only, and zeroes the DER it decoded once it has signed', async () => {
    const pem = opensslKey('ed2', '-algorithm', 'ed25519');
    expect(privateKeyDer(pem).some((b) => b !== 0)).toBe(true);
    const seen: { der?: Uint8Array; extractable?: boolean; usages?: string[] } = {};
    const real = crypto.subtle.importKey.bind(crypto.subtle);
    const spy = vi.spyOn(crypto.subtle, 'importKey').mockImplementation(((...args: Parameters<typeof real>) => {
      Object.assign(seen, { der: args[1], extractable: args[3], usages: args[4] });
      return real(...args);
    }) as typeof crypto.subtle.importKey);
    try {
      await signWithKeyFile(pem, statement);
    } finally {
      spy.mockRestore();
    }
    expect(seen).toMatchObject({ extractable: false, usages: ['sign'] });
    expect(seen.der!.length).toBeGreaterThan(40);
    expect(seen.der!.every((b) => b === 0)).toBe(true);
  });

  it('refuses an encrypted key, a public key, an RSA key, a P-384 key and text that is no PEM, saying what to do', async () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const encrypted = privateKey.export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: 'twelve chars or more' }).toString();
    expect((await refusal(encrypted)).message).toMatch(/encrypted.*upload the signature/s);
    expect((await refusal(createPublicKey(privateKey).export({ format: 'pem', type: 'spki' }).toString())).message).toMatch(/public key/);
    const rsa = opensslKey('rsa', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048');
    expect((await refusal(rsa)).message).toMatch(/neither Ed25519 nor ECDSA P-256/);
    const p384 = opensslKey('p384', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384');
    expect((await refusal(p384)).message).toMatch(/other than P-256/);
    expect((await refusal('hello')).message).toMatch(/not a PEM key file/);
    expect((await refusal('-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n')).message).toMatch(/PKCS#8|well-formed/);
  });
});
