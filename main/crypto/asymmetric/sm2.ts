// SM2 (GB/T 32918-2016, GM/T 0003-2012) on the recommended 256-bit curve: the digital signature
// (part 2, "SM2DSA"), public key encryption (part 4, "SM2PKE") and the plain ECDH that AWS's
// DeriveSharedSecret applies to SM2 keys. Ciphertexts and signatures use the ASN.1 of GM/T 0009-2012,
// which is what AWS KMS accepts and returns and what OpenSSL 3 reads and writes.
//
// Curve arithmetic is @noble/curves' (audited, constant-time scalar multiplication for secret
// scalars); the SM2 formulas on top of it and SM3 (./sm3.ts) are Kura's, checked against OpenSSL 3
// in both directions by the tests. Scalars live in JavaScript bigints, which cannot be wiped and whose
// arithmetic makes no timing promises: the same limit every JavaScript ECC implementation has.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { weierstrass } from '@noble/curves/abstract/weierstrass.js';
import { AsymmetricInputError } from './errors.js';
import { SM2_DEFAULT_DISTINGUISHING_ID } from './specs.js';
import {
  DerError,
  TAG,
  bigIntToBytes,
  bytesToBigInt,
  encodeOctetString,
  encodeSequence,
  encodeSignatureRS,
  encodeUnsignedInteger,
  expectTag,
  parseSignatureRS,
  readChildren,
  readUnsignedInteger,
  readWhole,
} from './der.js';
import { sm3 } from './sm3.js';

// GB/T 32918.5-2017 (GM/T 0003.5-2012), the recommended curve sm2p256v1.
const P = 0xfffffffeffffffffffffffffffffffffffffffff00000000ffffffffffffffffn;
const A = 0xfffffffeffffffffffffffffffffffffffffffff00000000fffffffffffffffcn;
const B = 0x28e9fa9e9d9f5e344d5a9e4bcf6509a7f39789f515ab8f92ddbcbd414d940e93n;
const N = 0xfffffffeffffffffffffffffffffffff7203df6b21c6052b53bbf40939d54123n;
const GX = 0x32c4ae2c1f1981195f9904466a39c9948fe30bbff2660be1715a4589334c74c7n;
const GY = 0xbc3736a2f4f6779c59bdcee36b692153d0a9877cc62a474002df32e52139f0a0n;

const Point = weierstrass({ p: P, n: N, h: 1n, a: A, b: B, Gx: GX, Gy: GY });
type SM2Point = InstanceType<typeof Point>;

export const SM2_SCALAR_BYTES = 32;
const DEFAULT_ID = Buffer.from(SM2_DEFAULT_DISTINGUISHING_ID, 'utf8');

const mod = (x: bigint, m: bigint): bigint => ((x % m) + m) % m;
const coordinate = (x: bigint): Buffer => bigIntToBytes(x, SM2_SCALAR_BYTES);

/** A private scalar d in [1, n-2]: SM2DSA needs 1 + d to be invertible mod n (part 1, section 6.1). */
export function sm2ScalarFromBytes(d: Uint8Array): bigint {
  if (d.length === 0 || d.length > SM2_SCALAR_BYTES) throw new AsymmetricInputError('bad-private-key', 'The SM2 private key is not a 32-byte scalar.');
  const scalar = bytesToBigInt(d);
  if (scalar < 1n || scalar > N - 2n) throw new AsymmetricInputError('bad-private-key', 'The SM2 private key is out of range.');
  return scalar;
}

/** A uniformly random scalar in [1, max]: 64 extra random bits make the reduction bias negligible (FIPS 186-5 A.2.1). */
function randomScalar(max: bigint): bigint {
  const bytes = randomBytes(SM2_SCALAR_BYTES + 8);
  const k = mod(bytesToBigInt(bytes), max) + 1n;
  bytes.fill(0);
  return k;
}

/** A fresh private scalar as 32 bytes (the caller wipes it). */
export function sm2GeneratePrivateScalar(): Buffer {
  return coordinate(randomScalar(N - 2n));
}

/** The uncompressed public point (65 bytes) of a private scalar. */
export function sm2PublicPoint(d: Uint8Array): Buffer {
  return Buffer.from(Point.BASE.multiply(sm2ScalarFromBytes(d)).toBytes(false));
}

/** Decodes and validates a public point (on the curve, not infinity; compressed or uncompressed). */
export function sm2PointFromBytes(bytes: Uint8Array): SM2Point {
  try {
    const point = Point.fromBytes(bytes);
    point.assertValidity();
    return point;
  } catch {
    throw new AsymmetricInputError('bad-public-key', 'The public key is not a point on the SM2 curve.');
  }
}

/** Z_A = SM3(ENTL_A || ID_A || a || b || x_G || y_G || x_A || y_A), part 2 section 5.5. */
export function sm2Z(publicPoint: Uint8Array, distinguishingId: Uint8Array = DEFAULT_ID): Buffer {
  const { x, y } = sm2PointFromBytes(publicPoint).toAffine();
  const bits = distinguishingId.length * 8;
  if (bits > 0xffff) throw new RangeError('distinguishing ID too long');
  const entl = Buffer.from([bits >> 8, bits & 0xff]);
  return sm3(entl, distinguishingId, coordinate(A), coordinate(B), coordinate(GX), coordinate(GY), coordinate(x), coordinate(y));
}

/** e = SM3(Z_A || M): what SM2DSA signs for a RAW message, and what a DIGEST message must be. */
export function sm2MessageDigest(publicPoint: Uint8Array, message: Uint8Array, distinguishingId?: Uint8Array): Buffer {
  return sm3(sm2Z(publicPoint, distinguishingId), message);
}

/** SM2DSA over the 32-byte e (part 2, section 6.1); DER SEQUENCE { r, s }. */
export function sm2Sign(d: Uint8Array, e: Uint8Array): Buffer {
  const da = sm2ScalarFromBytes(d);
  const ei = bytesToBigInt(e);
  const inverse = Point.Fn.inv(1n + da);
  for (;;) {
    const k = randomScalar(N - 1n);
    const x1 = Point.BASE.multiply(k).toAffine().x;
    const r = mod(ei + x1, N);
    if (r === 0n || r + k === N) continue;
    const s = mod(inverse * mod(k - r * da, N), N);
    if (s === 0n) continue;
    return encodeSignatureRS(r, s);
  }
}

/** Verifies SM2DSA (part 2, section 7.1). Any malformed or out-of-range signature is simply invalid. */
export function sm2Verify(publicPoint: Uint8Array, e: Uint8Array, signature: Uint8Array): boolean {
  const pa = sm2PointFromBytes(publicPoint);
  let r: bigint;
  let s: bigint;
  try {
    ({ r, s } = parseSignatureRS(signature));
  } catch (error) {
    if (error instanceof DerError) return false;
    throw error;
  }
  if (r < 1n || r >= N || s < 1n || s >= N) return false;
  const t = mod(r + s, N);
  if (t === 0n) return false;
  const point = Point.BASE.multiplyUnsafe(s).add(pa.multiplyUnsafe(t));
  if (point.is0()) return false;
  return mod(bytesToBigInt(e) + point.toAffine().x, N) === r;
}

/** KDF(Z, klen) of part 4 section 5.4.3: SM3(Z || ct) for ct = 1, 2, … as 32-bit big-endian, truncated. */
function kdf(z: Uint8Array, length: number): Buffer {
  const out = Buffer.alloc(length);
  const counter = Buffer.alloc(4);
  for (let ct = 1, offset = 0; offset < length; ct++, offset += 32) {
    counter.writeUInt32BE(ct >>> 0);
    const block = sm3(z, counter);
    block.copy(out, offset, 0, Math.min(32, length - offset));
    block.fill(0);
  }
  return out;
}

/** t = KDF(x2 || y2, klen), wiping the coordinates' concatenation. */
function keystream(x2: Buffer, y2: Buffer, length: number): Buffer {
  const z = Buffer.concat([x2, y2]);
  try {
    return kdf(z, length);
  } finally {
    z.fill(0);
  }
}

const allZero = (bytes: Uint8Array): boolean => bytes.reduce((acc, b) => acc | b, 0) === 0;

/** SM2PKE encryption (part 4, section 6.1), returned as GM/T 0009's SEQUENCE { x, y, C3 hash, C2 ciphertext }. */
export function sm2Encrypt(publicPoint: Uint8Array, plaintext: Uint8Array): Buffer {
  if (plaintext.length === 0) throw new AsymmetricInputError('empty-plaintext', 'SM2PKE cannot encrypt an empty plaintext.');
  const pb = sm2PointFromBytes(publicPoint);
  for (;;) {
    const k = randomScalar(N - 1n);
    const c1 = Point.BASE.multiply(k).toAffine();
    // h = 1 for this curve, so [h]P_B is P_B itself, which sm2PointFromBytes checked is not infinity.
    const shared = pb.multiply(k).toAffine();
    const x2 = coordinate(shared.x);
    const y2 = coordinate(shared.y);
    const t = keystream(x2, y2, plaintext.length);
    if (allZero(t)) {
      x2.fill(0);
      y2.fill(0);
      continue;
    }
    const c2 = Buffer.alloc(plaintext.length);
    for (let i = 0; i < plaintext.length; i++) c2[i] = plaintext[i]! ^ t[i]!;
    const c3 = sm3(x2, plaintext, y2);
    x2.fill(0);
    y2.fill(0);
    t.fill(0);
    return encodeSequence(encodeUnsignedInteger(c1.x), encodeUnsignedInteger(c1.y), encodeOctetString(c3), encodeOctetString(c2));
  }
}

const decryptFailed = (): AsymmetricInputError => new AsymmetricInputError('decrypt-failed', 'The ciphertext could not be decrypted with this SM2 key.');

/** SM2PKE decryption (part 4, section 7.1). Every failure is the same 'decrypt-failed'. */
export function sm2Decrypt(d: Uint8Array, ciphertext: Uint8Array): Buffer {
  const db = sm2ScalarFromBytes(d);
  let x1: bigint;
  let y1: bigint;
  let c3: Buffer;
  let c2: Buffer;
  try {
    const [x, y, hash, body, ...rest] = readChildren(readWhole(ciphertext, TAG.SEQUENCE).value);
    if (rest.length) throw new DerError('extra elements');
    x1 = readUnsignedInteger(x);
    y1 = readUnsignedInteger(y);
    c3 = expectTag(hash, TAG.OCTET_STRING).value;
    c2 = expectTag(body, TAG.OCTET_STRING).value;
  } catch (error) {
    if (error instanceof DerError) throw decryptFailed();
    throw error;
  }
  if (c3.length !== 32 || c2.length === 0 || x1 >= P || y1 >= P) throw decryptFailed();
  let c1: SM2Point;
  try {
    c1 = Point.fromAffine({ x: x1, y: y1 });
    c1.assertValidity();
  } catch {
    throw decryptFailed();
  }
  const shared = c1.multiply(db).toAffine();
  const x2 = coordinate(shared.x);
  const y2 = coordinate(shared.y);
  const t = keystream(x2, y2, c2.length);
  try {
    if (allZero(t)) throw decryptFailed();
    const plaintext = Buffer.alloc(c2.length);
    for (let i = 0; i < c2.length; i++) plaintext[i] = c2[i]! ^ t[i]!;
    const u = sm3(x2, plaintext, y2);
    // Compare the check hash before handing anything back, so an unauthenticated plaintext never leaves.
    if (!timingSafeEqual(u, c3)) {
      plaintext.fill(0);
      throw decryptFailed();
    }
    return plaintext;
  } finally {
    x2.fill(0);
    y2.fill(0);
    t.fill(0);
  }
}

/** The x coordinate of d·Q, 32 bytes: ECDH on the SM2 curve (cofactor 1), as DeriveSharedSecret returns it. */
export function sm2SharedSecret(d: Uint8Array, peerPoint: Uint8Array): Buffer {
  const scalar = sm2ScalarFromBytes(d);
  const shared = sm2PointFromBytes(peerPoint).multiply(scalar);
  if (shared.is0()) throw new AsymmetricInputError('bad-public-key', 'The peer public key gives no shared secret.');
  return coordinate(shared.toAffine().x);
}
