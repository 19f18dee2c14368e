// Key material for every non-symmetric key spec, dispatched by spec to its family's module: generation,
// and the public key of a private key (also the check that imported or stored key material is what its
// spec says). The families: rsa.ts, ec.ts (P-256/384/521, secp256k1, SM2), ed25519.ts, ml-dsa.ts; the
// strict PKCS#8/SPKI parsing they share is key-common.ts, the Node KeyObjects node-keys.ts. HMAC keys
// are simple enough to live here.
//
// Formats (what AWS KMS hands out and takes in): DER SubjectPublicKeyInfo and DER PKCS#8, as each family
// module details. HMAC keys: the raw random key, as long as the digest (HMAC_224: 28 bytes … HMAC_512:
// 64 bytes), with an empty public key.
//
// Node's crypto (OpenSSL in Node, BoringSSL in Electron) makes and uses RSA, P-256/384/521 and Ed25519
// keys. secp256k1 (absent from BoringSSL), SM2 and ML-DSA go through @noble/curves, Kura's SM2 and
// @noble/post-quantum everywhere, so Node and Electron behave the same.
import { randomBytes } from 'node:crypto';
import { ecPublicKeyOf, generateNistKeyMaterial, generateNistKeyMaterialAsync, generateNobleEcKeyMaterial } from './ec.js';
import { generateEd25519KeyMaterial } from './ed25519.js';
import { AsymmetricInputError } from './errors.js';
import { badPrivateKey, specInfo, type KeyMaterial } from './key-common.js';
import { generateMlDsaKeyMaterial, mlDsaPublicKeyOf } from './ml-dsa.js';
import { nodePrivateKey, nodePublicKeyOf } from './node-keys.js';
import { generateRsaKeyMaterial, generateRsaKeyMaterialAsync } from './rsa.js';
import type { KeySpec } from './specs.js';

export type { KeyMaterial } from './key-common.js';

/** Generates key material for a spec. RSA-4096 takes about a second of CPU; see generateKeyMaterialAsync. */
export function generateKeyMaterial(spec: KeySpec): KeyMaterial {
  const info = specInfo(spec);
  switch (info.family) {
    case 'rsa':
      return generateRsaKeyMaterial(info);
    case 'ecc-nist':
      return generateNistKeyMaterial(info);
    case 'ed25519':
      return generateEd25519KeyMaterial();
    case 'hmac':
      return { privateKey: randomBytes(info.hmacKeyBytes!), publicKey: Buffer.alloc(0) };
    case 'ecc-secg':
    case 'sm2':
      return generateNobleEcKeyMaterial(spec, info.family);
    case 'ml-dsa':
      return generateMlDsaKeyMaterial(spec, info);
    default:
      throw new AsymmetricInputError('unsupported-key-spec', `Kura cannot generate ${spec} keys here.`);
  }
}

/** Like generateKeyMaterial, but RSA and EC generation run on libuv's thread pool instead of blocking the event loop. */
export async function generateKeyMaterialAsync(spec: KeySpec): Promise<KeyMaterial> {
  const info = specInfo(spec);
  switch (info.family) {
    case 'rsa':
      return generateRsaKeyMaterialAsync(info);
    case 'ecc-nist':
      return generateNistKeyMaterialAsync(info);
    default:
      return generateKeyMaterial(spec);
  }
}

/**
 * The SubjectPublicKeyInfo of a private key of this spec (empty for HMAC). Also the check that imported
 * or stored key material is what its spec says: a wrong type, size or curve, or an EC key whose embedded
 * public point is not its own, is 'bad-private-key'.
 */
export function publicKeyOf(spec: KeySpec, privateKey: Uint8Array): Buffer {
  const info = specInfo(spec);
  switch (info.family) {
    case 'rsa':
    case 'ed25519':
      return nodePublicKeyOf(spec, privateKey);
    case 'ecc-nist':
      nodePrivateKey(spec, privateKey); // Node signs with it (RAW): it must load there as well
      return ecPublicKeyOf(spec, privateKey);
    case 'ecc-secg':
    case 'sm2':
      return ecPublicKeyOf(spec, privateKey);
    case 'ml-dsa':
      return mlDsaPublicKeyOf(spec, info, privateKey);
    case 'hmac':
      if (privateKey.length === 0) throw badPrivateKey(spec);
      return Buffer.alloc(0);
  }
}
