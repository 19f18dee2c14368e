// Custodians' public keys: each operator approves quorum actions with a signature by a key of their own,
// Ed25519 (RFC 8032, "pure" Ed25519 over the statement itself) or ECDSA on P-256 with SHA-256
// (FIPS 186-5), enrolled as a PEM SubjectPublicKeyInfo (RFC 5280 section 4.1.2.7, RFC 7468 section 13:
// `-----BEGIN PUBLIC KEY-----`), which is what `openssl pkey -in key.pem -pubout` writes.
//
// Signatures are those the openssl command line makes, so that a custodian can sign on a machine that
// never touches the network and hand the signature over on a USB stick:
//   Ed25519  openssl pkeyutl -sign -inkey key.pem -rawin -in statement -out sig   (64 raw bytes)
//   P-256    openssl dgst -sha256 -sign key.pem -out sig statement               (DER ECDSA-Sig-Value)
// and, for P-256, the 64 raw bytes r || s (IEEE P1363) that WebCrypto, PKCS#11 tokens and many other
// tools make. ECDSA signatures are malleable ((r, s) and (r, n − s) both verify): an approval is
// identified by its operator and request, never by its signature bytes.
//
// A key is kept re-encoded from its public point (via JWK): the same key given with a compressed point
// or explicit curve parameters gets the same SPKI bytes, and so the same fingerprint, as the
// uncompressed named-curve form openssl writes by default.
import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { kmsErrors } from '../common/errors.js';

export type OperatorKeyAlgorithm = 'ed25519' | 'ecdsa-p256';

export interface OperatorPublicKey {
  readonly algorithm: OperatorKeyAlgorithm;
  /** The SubjectPublicKeyInfo in DER, re-encoded as the file header says. */
  readonly spki: Buffer;
  /** fingerprintOf(spki): what custodians read aloud to check an enrolment. */
  readonly fingerprint: string;
  readonly keyObject: KeyObject;
}

const WHAT_IS_WANTED = 'An operator key must be an Ed25519 or ECDSA P-256 public key in PEM (-----BEGIN PUBLIC KEY-----)';
const refuse = (given: string) => kmsErrors.validation(`${WHAT_IS_WANTED}; this is ${given}.`);

/** OpenSSL's curve names, with the NIST names custodians know them by. */
const CURVE_NAMES: Readonly<Record<string, string>> = {
  prime256v1: 'P-256',
  secp384r1: 'P-384',
  secp521r1: 'P-521',
  secp224r1: 'P-224',
  prime192v1: 'P-192',
};

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;
const BASE64_BODY = /^[A-Za-z0-9+/]*={0,2}$/;

/** Parses and checks a custodian's public key file (PEM text, or its bytes). Refuses anything else. */
export function parseOperatorPublicKey(pem: string | Uint8Array): OperatorPublicKey {
  const text = typeof pem === 'string' ? pem : Buffer.from(pem).toString('latin1');
  const blocks = [...text.matchAll(PEM_BLOCK)];
  if (/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(text)) {
    // Refused before anything else, and never echoed: this file must not leave the custodian's hands.
    throw refuse('a private key: give only its public half (openssl pkey -in key.pem -pubout -out public.pem) and keep the private key away from Kura');
  }
  if (blocks.length === 0) {
    if (/^\s*(ssh-|ecdsa-sha2-)/.test(text)) {
      throw refuse('an OpenSSH public key (convert it: ssh-keygen -e -m PKCS8 -f key.pub > key.pem)');
    }
    if (typeof pem !== 'string' && pem[0] === 0x30) {
      throw refuse('DER, not PEM (convert it: openssl pkey -pubin -inform DER -in key.der -out key.pem)');
    }
    throw refuse('not PEM (no -----BEGIN PUBLIC KEY----- block)');
  }
  if (blocks.length > 1) throw refuse(`${blocks.length} PEM blocks; give exactly one public key`);
  const [, label, body] = blocks[0]!;
  if (label === 'RSA PUBLIC KEY') throw refuse('an RSA public key (PKCS#1)');
  if (label === 'CERTIFICATE') throw refuse('a certificate (its key comes out with: openssl x509 -in cert.pem -pubkey -noout)');
  if (label !== 'PUBLIC KEY') throw refuse(`a PEM block of type "${label}"`);
  const base64 = body!.replace(/\s+/g, '');
  if (base64 === '' || !BASE64_BODY.test(base64)) throw refuse('a PUBLIC KEY block whose body is not base64');
  return operatorKeyFromSpki(Buffer.from(base64, 'base64'));
}

/** Checks a custodian's key given as DER SubjectPublicKeyInfo (as a repository keeps it). */
export function operatorKeyFromSpki(der: Uint8Array): OperatorPublicKey {
  let given: KeyObject;
  try {
    given = createPublicKey({ key: Buffer.from(der), format: 'der', type: 'spki' });
  } catch {
    throw refuse('not a valid SubjectPublicKeyInfo');
  }
  const algorithm = algorithmOf(given);
  // Re-encoded from the public point alone: see the file header.
  const keyObject = createPublicKey({ key: given.export({ format: 'jwk' }), format: 'jwk' });
  const spki = keyObject.export({ format: 'der', type: 'spki' });
  return { algorithm, spki, fingerprint: fingerprintOf(spki), keyObject };
}

function algorithmOf(key: KeyObject): OperatorKeyAlgorithm {
  const type = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails ?? {};
  if (type === 'ed25519') return 'ed25519';
  if (type === 'ec') {
    if (details.namedCurve === 'prime256v1') return 'ecdsa-p256';
    const curve = details.namedCurve ?? 'an unnamed curve';
    throw refuse(`an EC public key on ${curve}${CURVE_NAMES[curve] === undefined ? '' : ` (${CURVE_NAMES[curve]})`}`);
  }
  if (type === 'rsa' || type === 'rsa-pss') throw refuse(`an ${type === 'rsa' ? 'RSA' : 'RSA-PSS'} public key (${details.modulusLength ?? '?'} bits)`);
  if (type === 'x25519' || type === 'x448') throw refuse(`an ${type.toUpperCase()} public key (for key agreement, not signatures)`);
  throw refuse(`an ${type === undefined ? 'unknown' : type === 'ed448' ? 'Ed448' : type.toUpperCase()} public key`);
}

/**
 * SHA-256 of a DER SubjectPublicKeyInfo as lower-case hex in 16 groups of 4, e.g. `3f2a 09c1 … 7be0`:
 * short enough to read aloud and compare at an enrolment. For a key openssl wrote, the same digest as
 * `openssl pkey -pubin -in public.pem -outform DER | sha256sum`.
 */
export function fingerprintOf(spkiDer: Uint8Array): string {
  const hex = createHash('sha256').update(spkiDer).digest('hex');
  return hex.match(/.{4}/g)!.join(' ');
}

const P256_RAW_SIGNATURE_BYTES = 64;
const ED25519_SIGNATURE_BYTES = 64;

/**
 * Whether `signature` is `key`'s signature over `statement` (the bytes of an approval statement).
 * Never throws on what a custodian hands over: a malformed signature is simply not a valid one.
 */
export function verifyApprovalSignature(key: OperatorPublicKey, statement: Uint8Array, signature: Uint8Array): boolean {
  if (key.algorithm === 'ed25519') {
    return signature.length === ED25519_SIGNATURE_BYTES && verifies(null, statement, key.keyObject, signature, 'der');
  }
  // A DER signature of exactly 64 bytes is possible (short r and s), so 64 bytes are tried both ways.
  return (
    verifies('sha256', statement, key.keyObject, signature, 'der') ||
    (signature.length === P256_RAW_SIGNATURE_BYTES && verifies('sha256', statement, key.keyObject, signature, 'ieee-p1363'))
  );
}

function verifies(digest: 'sha256' | null, data: Uint8Array, key: KeyObject, signature: Uint8Array, dsaEncoding: 'der' | 'ieee-p1363'): boolean {
  try {
    return verify(digest, data, { key, dsaEncoding }, signature);
  } catch {
    return false;
  }
}
