// Node KeyObjects for the families Node's crypto (OpenSSL in Node, BoringSSL in Electron) makes and uses:
// RSA, P-256/384/521 and Ed25519. The DER is first checked by the family's own strict rules (rsa.ts,
// ec.ts, ed25519.ts), then parsed by Node, and the KeyObject is checked against the spec again (type,
// modulus length, curve), so a key of the wrong size or curve is refused, whatever OpenSSL accepts.
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { OID } from './der.js';
import { ecCurveOf, ecPublicPoint } from './ec.js';
import { ed25519RawPublicKey } from './ed25519.js';
import { AsymmetricInputError } from './errors.js';
import { badPrivateKey, badPublicKey, curveOidOf, pkcs8, specInfo } from './key-common.js';
import { checkRsaKeyPair, checkRsaSpki } from './rsa.js';
import type { KeySpec, KeySpecInfo } from './specs.js';

/**
 * The SPKI of an RSA or Ed25519 private key, checked by nodePrivateKey and, since Node exports the
 * public half it was given without comparing it to the private one, checked to be one key pair: RSA's
 * numbers (Ed25519 has no public half in its private key to disagree). P-256/384/521 keys take theirs
 * from ec.ts, which derives it from the scalar.
 */
export function nodePublicKeyOf(spec: KeySpec, privateKey: Uint8Array): Buffer {
  const key = nodePrivateKey(spec, privateKey);
  if (specInfo(spec).family === 'rsa') checkRsaKeyPair(spec, privateKey);
  return createPublicKey(key).export({ type: 'spki', format: 'der' });
}

/** A Node private KeyObject for RSA, P-256/384/521 and Ed25519 specs, checked against the spec. */
export function nodePrivateKey(spec: KeySpec, der: Uint8Array): KeyObject {
  const info = specInfo(spec);
  const expectedOid = info.family === 'rsa' ? OID.rsaEncryption : info.family === 'ed25519' ? OID.ed25519 : OID.ecPublicKey;
  const parsed = pkcs8(spec, der, expectedOid);
  if (info.family === 'ecc-nist' && curveOidOf(parsed) !== ecCurveOf(spec).curve.oid) throw badPrivateKey(spec);
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: Buffer.from(der.buffer, der.byteOffset, der.byteLength), format: 'der', type: 'pkcs8' });
  } catch {
    throw badPrivateKey(spec);
  }
  checkNodeKey(spec, info, key, badPrivateKey);
  return key;
}

/** A Node public KeyObject for RSA, P-256/384/521 and Ed25519 specs, from strict SPKI DER, checked against the spec. */
export function nodePublicKey(spec: KeySpec, der: Uint8Array): KeyObject {
  const info = specInfo(spec);
  switch (info.family) {
    case 'rsa':
      checkRsaSpki(spec, der);
      break;
    case 'ecc-nist':
      ecPublicPoint(spec, der);
      break;
    case 'ed25519':
      ed25519RawPublicKey(spec, der);
      break;
    default:
      throw new AsymmetricInputError('unsupported-key-spec', `${spec} keys are not Node keys.`);
  }
  let key: KeyObject;
  try {
    // OpenSSL checks that an EC point is on the curve while decoding it.
    key = createPublicKey({ key: Buffer.from(der.buffer, der.byteOffset, der.byteLength), format: 'der', type: 'spki' });
  } catch {
    throw badPublicKey(spec);
  }
  checkNodeKey(spec, info, key, badPublicKey);
  return key;
}

function checkNodeKey(spec: KeySpec, info: Readonly<KeySpecInfo>, key: KeyObject, fail: (spec: KeySpec) => AsymmetricInputError): void {
  const details = key.asymmetricKeyDetails ?? {};
  switch (info.family) {
    case 'rsa':
      if (key.asymmetricKeyType !== 'rsa' || details.modulusLength !== info.rsaBits) throw fail(spec);
      return;
    case 'ecc-nist':
      if (key.asymmetricKeyType !== 'ec' || details.namedCurve !== ecCurveOf(spec).curve.nodeName) throw fail(spec);
      return;
    case 'ed25519':
      if (key.asymmetricKeyType !== 'ed25519') throw fail(spec);
      return;
    default:
      throw fail(spec);
  }
}
