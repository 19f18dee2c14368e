// Custodians' keys and offline approvals (main/ceremony/operator-keys.ts, statement.ts) against the
// real peer custodians use: every key here is made by the openssl command line, and every signature by
// exactly the commands docs/canonical-json.md tells a custodian to run over a statement file written by
// approvalStatement():
//   openssl pkeyutl -sign -inkey key.pem -rawin -in statement -out sig     (Ed25519)
//   openssl dgst -sha256 -sign key.pem -out sig statement                 (ECDSA P-256)
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprintOf, operatorKeyFromSpki, parseOperatorPublicKey, verifyApprovalSignature, type OperatorPublicKey } from '../../main/ceremony/operator-keys.js';
import { approvalStatement } from '../../main/ceremony/statement.js';
import { validationRefusal } from './refusal.js';

let dir: string;
const file = (name: string) => path.join(dir, name);
const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });

/** A private key made by `openssl genpkey`, and its public half by `openssl pkey -pubout`. */
function opensslKey(name: string, ...genpkeyArgs: string[]): { privatePem: string; publicPem: string } {
  openssl('genpkey', ...genpkeyArgs, '-out', file(`${name}.pem`));
  openssl('pkey', '-in', file(`${name}.pem`), '-pubout', '-out', file(`${name}.pub.pem`));
  return { privatePem: file(`${name}.pem`), publicPem: readFileSync(file(`${name}.pub.pem`), 'utf8') };
}

const ED25519 = ['-algorithm', 'ed25519'];
const P256 = ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'];

function signEd25519(privatePem: string, statementFile: string): Buffer {
  openssl('pkeyutl', '-sign', '-inkey', privatePem, '-rawin', '-in', statementFile, '-out', file('ed.sig'));
  return readFileSync(file('ed.sig'));
}

function signP256(privatePem: string, statementFile: string): Buffer {
  openssl('dgst', '-sha256', '-sign', privatePem, '-out', file('p256.sig'), statementFile);
  return readFileSync(file('p256.sig'));
}

/** A DER ECDSA-Sig-Value (SEQUENCE { INTEGER r, INTEGER s }) as IEEE P1363's 64 bytes r || s. */
function derToP1363(der: Buffer): Buffer {
  expect(der[0]).toBe(0x30);
  let at = der[1]! & 0x80 ? 2 + (der[1]! & 0x7f) : 2;
  const integer = () => {
    expect(der[at]).toBe(0x02);
    const length = der[at + 1]!;
    const value = der.subarray(at + 2, at + 2 + length);
    at += 2 + length;
    const unsigned = value[0] === 0 ? value.subarray(1) : value;
    return Buffer.concat([Buffer.alloc(32 - unsigned.length), unsigned]);
  };
  return Buffer.concat([integer(), integer()]);
}

const flipBit = (b: Buffer, bit: number) => {
  const out = Buffer.from(b);
  out[bit >> 3]! ^= 1 << (bit & 7);
  return out;
};

const refusalOf = (pem: string | Uint8Array): string => validationRefusal(() => parseOperatorPublicKey(pem));

const statement = approvalStatement({
  requestId: 'apr-5e1d2c3b',
  digest: createHash('sha256').update('{"KeyId":"k"}').digest('hex'),
  action: 'ImportKeyMaterial',
  expiresAt: Date.UTC(2030, 0, 1, 12, 0, 0, 250),
  applianceId: 'kura-test',
});

let statementFile: string;
let ed: { privatePem: string; key: OperatorPublicKey };
let edOther: { privatePem: string; key: OperatorPublicKey };
let p256: { privatePem: string; key: OperatorPublicKey };
let p256Other: { privatePem: string; key: OperatorPublicKey };

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'kura-operator-keys-'));
  statementFile = file('statement');
  writeFileSync(statementFile, statement);
  const enrol = (name: string, args: string[]) => {
    const { privatePem, publicPem } = opensslKey(name, ...args);
    return { privatePem, key: parseOperatorPublicKey(publicPem) };
  };
  ed = enrol('ed', ED25519);
  edOther = enrol('ed-other', ED25519);
  p256 = enrol('p256', P256);
  p256Other = enrol('p256-other', P256);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('parseOperatorPublicKey', () => {
  it('takes the Ed25519 and P-256 public keys openssl writes, as text or bytes', () => {
    expect(ed.key.algorithm).toBe('ed25519');
    expect(p256.key.algorithm).toBe('ecdsa-p256');
    const bytes = readFileSync(file('p256.pub.pem'));
    expect(parseOperatorPublicKey(bytes).fingerprint).toBe(p256.key.fingerprint);
    // Text around the block (RFC 7468 allows explanatory text) and CRLF line ends.
    const decorated = `Custodian: Alice\r\n${readFileSync(file('ed.pub.pem'), 'utf8').replace(/\n/g, '\r\n')}`;
    expect(parseOperatorPublicKey(decorated).fingerprint).toBe(ed.key.fingerprint);
  });

  it('gives the fingerprint `openssl pkey -pubin -outform DER | sha256sum` gives, in 16 groups of 4 hex digits', () => {
    for (const name of ['ed', 'p256']) {
      const der = openssl('pkey', '-pubin', '-in', file(`${name}.pub.pem`), '-outform', 'DER');
      const key = parseOperatorPublicKey(readFileSync(file(`${name}.pub.pem`)));
      expect(key.fingerprint).toMatch(/^[0-9a-f]{4}( [0-9a-f]{4}){15}$/);
      expect(key.fingerprint.replace(/ /g, '')).toBe(createHash('sha256').update(der).digest('hex'));
      expect(key.spki.equals(der)).toBe(true);
      expect(fingerprintOf(der)).toBe(key.fingerprint);
    }
    expect(ed.key.fingerprint).not.toBe(edOther.key.fingerprint);
  });

  it('gives the same key the same fingerprint whether its point is compressed or its curve explicit', () => {
    const compressed = openssl('pkey', '-pubin', '-in', file('p256.pub.pem'), '-outform', 'DER', '-ec_conv_form', 'compressed');
    const explicit = openssl('ec', '-pubin', '-in', file('p256.pub.pem'), '-param_enc', 'explicit');
    expect(compressed.length).toBeLessThan(p256.key.spki.length);
    expect(operatorKeyFromSpki(compressed).fingerprint).toBe(p256.key.fingerprint);
    expect(parseOperatorPublicKey(explicit).fingerprint).toBe(p256.key.fingerprint);
  });

  it('refuses RSA and other curves at parse, naming what was given', () => {
    const rsa = opensslKey('rsa', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048');
    expect(refusalOf(rsa.publicPem)).toMatch(/Ed25519 or ECDSA P-256 .*; this is an RSA public key \(2048 bits\)\.$/);
    const pkcs1 = openssl('rsa', '-pubin', '-in', file('rsa.pub.pem'), '-RSAPublicKey_out');
    expect(refusalOf(pkcs1)).toMatch(/this is an RSA public key \(PKCS#1\)/);
    expect(refusalOf(opensslKey('p384', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384').publicPem)).toMatch(
      /this is an EC public key on secp384r1 \(P-384\)\.$/,
    );
    expect(refusalOf(opensslKey('k1', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:secp256k1').publicPem)).toMatch(
      /this is an EC public key on secp256k1\.$/,
    );
    expect(refusalOf(opensslKey('x25519', '-algorithm', 'x25519').publicPem)).toMatch(/this is an X25519 public key \(for key agreement/);
    expect(refusalOf(opensslKey('ed448', '-algorithm', 'ed448').publicPem)).toMatch(/this is an Ed448 public key\.$/);
  });

  it('refuses a private key without echoing it, and says how to get the public half', () => {
    for (const pem of [readFileSync(ed.privatePem, 'utf8'), readFileSync(p256.privatePem)]) {
      const message = refusalOf(pem);
      expect(message).toMatch(/this is a private key: give only its public half \(openssl pkey -in key.pem -pubout/);
      expect(message).not.toMatch(/MC4CAQ|MIG/);
    }
    // A public key file with a private key pasted after it is refused too.
    expect(refusalOf(`${readFileSync(file('ed.pub.pem'), 'utf8')}${readFileSync(ed.privatePem, 'utf8')}`)).toMatch(/a private key/);
  });

  it('refuses certificates, DER, OpenSSH keys, several keys and garbage, each with its own message', () => {
    openssl('req', '-new', '-x509', '-key', ed.privatePem, '-subj', '/CN=custodian', '-days', '1', '-out', file('cert.pem'));
    expect(refusalOf(readFileSync(file('cert.pem')))).toMatch(/this is a certificate \(its key comes out with: openssl x509/);
    expect(refusalOf(openssl('pkey', '-pubin', '-in', file('ed.pub.pem'), '-outform', 'DER'))).toMatch(/this is DER, not PEM \(convert it:/);
    expect(refusalOf('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG9vb29vb29vb29vb29vb29vb29vb29vb29vb29vb29v alice@box')).toMatch(/an OpenSSH public key/);
    const pub = readFileSync(file('ed.pub.pem'), 'utf8');
    expect(refusalOf(pub + readFileSync(file('p256.pub.pem'), 'utf8'))).toMatch(/this is 2 PEM blocks; give exactly one public key/);
    expect(refusalOf('')).toMatch(/this is not PEM \(no -----BEGIN PUBLIC KEY----- block\)/);
    expect(refusalOf('hello, Kura')).toMatch(/this is not PEM/);
    expect(refusalOf('-----BEGIN PUBLIC KEY-----\nnot*base64\n-----END PUBLIC KEY-----\n')).toMatch(/whose body is not base64/);
    expect(refusalOf('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n')).toMatch(/this is not a valid SubjectPublicKeyInfo/);
    expect(refusalOf('-----BEGIN PARAMETERS-----\nAAAA\n-----END PARAMETERS-----\n')).toMatch(/a PEM block of type "PARAMETERS"/);
    // A key truncated in transit (one line of its base64 lost).
    const lines = pub.split('\n');
    expect(refusalOf([lines[0], lines[1]!.slice(0, 40), lines.at(-2), ''].join('\n'))).toMatch(/not a valid SubjectPublicKeyInfo/);
  });
});

describe('verifyApprovalSignature with signatures made by the openssl command line', () => {
  it('statement files end with one newline, which is signed', () => {
    expect(readFileSync(statementFile, 'utf8')).toMatch(/^\{"action":"ImportKeyMaterial",.*"requestId":"apr-5e1d2c3b"\}\n$/);
    const withoutNewline = statement.subarray(0, -1);
    expect(verifyApprovalSignature(ed.key, withoutNewline, signEd25519(ed.privatePem, statementFile))).toBe(false);
  });

  it('accepts an Ed25519 signature from `openssl pkeyutl -sign -rawin`, and refuses it with any bit flipped', () => {
    const sig = signEd25519(ed.privatePem, statementFile);
    expect(sig).toHaveLength(64);
    expect(verifyApprovalSignature(ed.key, statement, sig)).toBe(true);
    for (const bit of [0, 7, 255, 256, 511]) expect(verifyApprovalSignature(ed.key, statement, flipBit(sig, bit)), `bit ${bit}`).toBe(false);
    expect(verifyApprovalSignature(ed.key, flipBit(statement, 100), sig)).toBe(false);
  });

  it('accepts a P-256 signature from `openssl dgst -sha256 -sign` (DER) and as raw r || s, and refuses it with a bit flipped', () => {
    const sig = signP256(p256.privatePem, statementFile);
    expect(sig[0]).toBe(0x30);
    expect(verifyApprovalSignature(p256.key, statement, sig)).toBe(true);
    const raw = derToP1363(sig);
    expect(raw).toHaveLength(64);
    expect(verifyApprovalSignature(p256.key, statement, raw)).toBe(true);
    // Bits inside r and inside s, in both encodings (DER: past the SEQUENCE and INTEGER headers).
    for (const bit of [8 * 8, 8 * (sig.length - 1)]) expect(verifyApprovalSignature(p256.key, statement, flipBit(sig, bit)), `DER bit ${bit}`).toBe(false);
    for (const bit of [0, 300, 511]) expect(verifyApprovalSignature(p256.key, statement, flipBit(raw, bit)), `raw bit ${bit}`).toBe(false);
    expect(verifyApprovalSignature(p256.key, flipBit(statement, 3), sig)).toBe(false);
  });

  it('refuses a signature by another key, of either algorithm', () => {
    const edSig = signEd25519(edOther.privatePem, statementFile);
    const p256Sig = signP256(p256Other.privatePem, statementFile);
    expect(verifyApprovalSignature(edOther.key, statement, edSig)).toBe(true);
    expect(verifyApprovalSignature(p256Other.key, statement, p256Sig)).toBe(true);
    expect(verifyApprovalSignature(ed.key, statement, edSig)).toBe(false);
    expect(verifyApprovalSignature(p256.key, statement, p256Sig)).toBe(false);
    expect(verifyApprovalSignature(p256.key, statement, derToP1363(p256Sig))).toBe(false);
    expect(verifyApprovalSignature(p256.key, statement, signEd25519(ed.privatePem, statementFile))).toBe(false);
    expect(verifyApprovalSignature(ed.key, statement, derToP1363(signP256(p256.privatePem, statementFile)))).toBe(false);
  });

  it('returns false, never throws, on malformed signatures', () => {
    const malformed = [Buffer.alloc(0), Buffer.from([0x30]), Buffer.alloc(64), Buffer.alloc(63, 1), Buffer.alloc(65, 0xff), Buffer.alloc(4096, 0x30), Buffer.from('3006020100020100', 'hex')];
    for (const key of [ed.key, p256.key]) {
      for (const sig of malformed) expect(verifyApprovalSignature(key, statement, sig), `${key.algorithm} ${sig.toString('hex').slice(0, 16)}`).toBe(false);
    }
  });
});
