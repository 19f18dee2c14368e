// Parsed keys that a caller may hold between operations.
//
// Why: OpenSSL 3 decodes a DER key in about 0.4 ms, more than an ECDSA P-256 or Ed25519 signature
// takes, so parsing the PKCS#8 on every Sign caps P-256 near 2,000 signatures/s where a parsed key
// gives 30,000. sign/verify/asymmetricEncrypt/asymmetricDecrypt/deriveSharedSecret take DER bytes (parsed
// for that call, and every copy wiped afterwards) or a handle from loadPrivateKey/loadPublicKey. This
// module keeps nothing itself: whoever loads a handle owns it, decides how long it lives, and calls
// dispose(), which wipes the JavaScript copies the handle made (DER, scalars, seeds, expanded ML-DSA
// keys) and drops its Node KeyObject, whose memory OpenSSL clears when it is collected.
//
// A handle derives what an operation needs on first use (a Node KeyObject, an EC scalar, an Ed25519
// seed, an expanded ML-DSA key) and keeps it; loadPrivateKey/loadPublicKey derive the main form up front,
// so a key that is not its spec's is refused at load time.
import type { KeyObject } from 'node:crypto';
import { AsymmetricInputError } from './errors.js';
import { ecPrivateScalar, ecPublicPoint } from './ec.js';
import { ed25519RawPublicKey, ed25519Seed } from './ed25519.js';
import { specInfo } from './key-common.js';
import { mlDsaRawPublicKey, mlDsaSecretKey } from './ml-dsa.js';
import { nodePrivateKey, nodePublicKey } from './node-keys.js';
import { sm2PublicPoint } from './sm2.js';
import type { KeySpec } from './specs.js';

export class PrivateKeyHandle {
  readonly spec: KeySpec;
  #der: Buffer;
  #disposed = false;
  #node?: KeyObject;
  #scalar?: Buffer;
  #publicPoint?: Buffer;
  #seed?: Buffer;
  #mlDsa?: Uint8Array;

  /** Copies the PKCS#8 DER (raw key for HMAC); nothing is parsed yet. Prefer loadPrivateKey. */
  constructor(spec: KeySpec, der: Uint8Array) {
    specInfo(spec);
    this.spec = spec;
    this.#der = Buffer.from(der);
  }

  #live(): Buffer {
    if (this.#disposed) throw new AsymmetricInputError('bad-private-key', 'This private key handle has been disposed.');
    return this.#der;
  }

  /** RSA, P-256/384/521, Ed25519. */
  nodeKey(): KeyObject {
    return (this.#node ??= nodePrivateKey(this.spec, this.#live()));
  }

  /** Any Weierstrass spec: the private scalar at field length. Owned by the handle: do not wipe. */
  scalar(): Buffer {
    return (this.#scalar ??= ecPrivateScalar(this.spec, this.#live()));
  }

  /** SM2: the public point, needed for Z_A. */
  sm2PublicPoint(): Buffer {
    return (this.#publicPoint ??= sm2PublicPoint(this.scalar()));
  }

  /** Ed25519: the 32-byte private key (for Ed25519ph). Owned by the handle: do not wipe. */
  ed25519Seed(): Buffer {
    return (this.#seed ??= ed25519Seed(this.spec, this.#live()));
  }

  /** ML-DSA: the expanded FIPS 204 secret key. Owned by the handle: do not wipe. */
  mlDsaSecretKey(): Uint8Array {
    return (this.#mlDsa ??= mlDsaSecretKey(this.spec, this.#live()));
  }

  /** HMAC: the raw key. */
  rawKey(): Buffer {
    return this.#live();
  }

  get disposed(): boolean {
    return this.#disposed;
  }

  /** Wipes every copy of key material this handle made and makes it unusable. Idempotent. */
  dispose(): void {
    this.#der.fill(0);
    this.#scalar?.fill(0);
    this.#seed?.fill(0);
    this.#mlDsa?.fill(0);
    this.#node = undefined;
    this.#scalar = undefined;
    this.#seed = undefined;
    this.#mlDsa = undefined;
    this.#publicPoint = undefined;
    this.#disposed = true;
  }
}

export class PublicKeyHandle {
  readonly spec: KeySpec;
  readonly der: Buffer;
  #node?: KeyObject;
  #point?: Buffer;
  #raw?: Buffer;

  /** Copies the SubjectPublicKeyInfo DER; nothing is parsed yet. Prefer loadPublicKey. */
  constructor(spec: KeySpec, der: Uint8Array) {
    specInfo(spec);
    this.spec = spec;
    this.der = Buffer.from(der);
  }

  /** RSA, P-256/384/521, Ed25519 (from strict DER, point validated). */
  nodeKey(): KeyObject {
    return (this.#node ??= nodePublicKey(this.spec, this.der));
  }

  /** Weierstrass specs: the validated public point, uncompressed. */
  point(): Buffer {
    return (this.#point ??= ecPublicPoint(this.spec, this.der));
  }

  /** Ed25519 and ML-DSA: the raw public key. */
  rawKey(): Buffer {
    if (!this.#raw) {
      this.#raw = specInfo(this.spec).family === 'ml-dsa' ? mlDsaRawPublicKey(this.spec, this.der) : ed25519RawPublicKey(this.spec, this.der);
    }
    return this.#raw;
  }
}

/** Parses and checks a private key of this spec once, for a caller that will use it many times. */
export function loadPrivateKey(spec: KeySpec, privateKey: Uint8Array): PrivateKeyHandle {
  const handle = new PrivateKeyHandle(spec, privateKey);
  try {
    switch (specInfo(spec).family) {
      case 'rsa':
      case 'ecc-nist':
      case 'ed25519':
        handle.nodeKey();
        break;
      case 'ecc-secg':
        handle.scalar();
        break;
      case 'sm2':
        handle.sm2PublicPoint();
        break;
      case 'ml-dsa':
        handle.mlDsaSecretKey();
        break;
      case 'hmac':
        if (handle.rawKey().length === 0) throw new AsymmetricInputError('bad-private-key', `The ${spec} key material is empty.`);
        break;
    }
    return handle;
  } catch (error) {
    handle.dispose();
    throw error;
  }
}

/** Parses and checks a public key (SubjectPublicKeyInfo DER) of this spec once. */
export function loadPublicKey(spec: KeySpec, publicKey: Uint8Array): PublicKeyHandle {
  const handle = new PublicKeyHandle(spec, publicKey);
  switch (specInfo(spec).family) {
    case 'rsa':
    case 'ecc-nist':
      handle.nodeKey();
      break;
    case 'ed25519':
      handle.nodeKey();
      handle.rawKey();
      break;
    case 'ecc-secg':
    case 'sm2':
      handle.point();
      break;
    case 'ml-dsa':
      handle.rawKey();
      break;
    case 'hmac':
      throw new AsymmetricInputError('bad-public-key', `${spec} keys have no public key.`);
  }
  return handle;
}

/** Runs `use` with a handle: the caller's own (checked to be of this spec), or one made for this call and disposed after it. */
export function withPrivateKey<T>(spec: KeySpec, key: Uint8Array | PrivateKeyHandle, use: (handle: PrivateKeyHandle) => T): T {
  if (key instanceof PrivateKeyHandle) {
    if (key.spec !== spec) throw new AsymmetricInputError('bad-private-key', `The private key handle is for ${key.spec}, not ${spec}.`);
    return use(key);
  }
  const handle = new PrivateKeyHandle(spec, key);
  try {
    return use(handle);
  } finally {
    handle.dispose();
  }
}

export function withPublicKey<T>(spec: KeySpec, key: Uint8Array | PublicKeyHandle, use: (handle: PublicKeyHandle) => T): T {
  if (key instanceof PublicKeyHandle) {
    if (key.spec !== spec) throw new AsymmetricInputError('bad-public-key', `The public key handle is for ${key.spec}, not ${spec}.`);
    return use(key);
  }
  return use(new PublicKeyHandle(spec, key));
}
