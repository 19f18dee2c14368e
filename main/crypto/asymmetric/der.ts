// Just enough DER (ITU-T X.690) for keys and signatures: SubjectPublicKeyInfo (RFC 5280 section
// 4.1.2.7), PKCS#8 PrivateKeyInfo / OneAsymmetricKey (RFC 5208, RFC 5958), ECPrivateKey (RFC 5915),
// ECDSA-Sig-Value (RFC 3279 section 2.2.3) and the SM2 ciphertext (GM/T 0009-2012 section 7.2).
//
// The reader is strict on purpose: definite, minimal lengths; single-byte tags; minimal INTEGERs; no
// trailing bytes. A signature whose encoding is BER but not DER must not verify (Wycheproof's
// BerEncodedSignature cases), and a key that parses two ways could be two keys.
//
// Parsed values are views into the input; callers copy secret parts they keep and wipe the copies.

export class DerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DerError';
  }
}

export const TAG = {
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  SEQUENCE: 0x30,
} as const;

/** Context-specific tag number n: constructed ([n] EXPLICIT) or primitive ([n] IMPLICIT of a primitive). */
export const contextTag = (n: number, constructed: boolean): number => 0x80 | (constructed ? 0x20 : 0) | n;

export interface Tlv {
  tag: number;
  /** The contents octets (a view into the input). */
  value: Buffer;
  /** Offset just past this element. */
  end: number;
}

export function readTlv(input: Uint8Array, offset: number): Tlv {
  const buf = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  if (offset + 2 > buf.length) throw new DerError('truncated element');
  const tag = buf[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError('multi-byte tags are not used here');
  let length = buf[offset + 1]!;
  let pos = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    // 0x80 is BER's indefinite length; more than 4 length bytes cannot describe anything we accept.
    if (count === 0 || count > 4) throw new DerError('bad length');
    if (pos + count > buf.length) throw new DerError('truncated length');
    if (buf[pos] === 0) throw new DerError('non-minimal length');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + buf[pos + i]!;
    if (length < 0x80) throw new DerError('non-minimal length');
    pos += count;
  }
  if (pos + length > buf.length) throw new DerError('truncated contents');
  return { tag, value: buf.subarray(pos, pos + length), end: pos + length };
}

/** Reads the one element that makes up the whole input, with the expected tag. */
export function readWhole(input: Uint8Array, tag: number): Tlv {
  const tlv = readTlv(input, 0);
  if (tlv.tag !== tag) throw new DerError('unexpected tag');
  if (tlv.end !== input.length) throw new DerError('trailing bytes');
  return tlv;
}

/** The elements inside a constructed value, in order. */
export function readChildren(value: Uint8Array): Tlv[] {
  const out: Tlv[] = [];
  let offset = 0;
  while (offset < value.length) {
    const tlv = readTlv(value, offset);
    // Offsets of children are relative to `value`; `end` keeps that meaning.
    out.push(tlv);
    offset = tlv.end;
  }
  return out;
}

export function expectTag(tlv: Tlv | undefined, tag: number): Tlv {
  if (!tlv || tlv.tag !== tag) throw new DerError('unexpected tag');
  return tlv;
}

/** A non-negative INTEGER in minimal two's complement (X.690 section 8.3.2). */
export function readUnsignedInteger(tlv: Tlv | undefined): bigint {
  const { value } = expectTag(tlv, TAG.INTEGER);
  if (value.length === 0) throw new DerError('empty INTEGER');
  if (value[0]! & 0x80) throw new DerError('negative INTEGER');
  if (value.length > 1 && value[0] === 0 && !(value[1]! & 0x80)) throw new DerError('non-minimal INTEGER');
  return bytesToBigInt(value);
}

/** The contents of a BIT STRING that has no unused bits (keys are always whole bytes). */
export function readBitStringBytes(tlv: Tlv | undefined): Buffer {
  const { value } = expectTag(tlv, TAG.BIT_STRING);
  if (value.length === 0 || value[0] !== 0) throw new DerError('BIT STRING with unused bits');
  return value.subarray(1);
}

// ---------------------------------------------------------------------------------------------------
// Writing

export function encodeTlv(tag: number, ...contents: Uint8Array[]): Buffer {
  const body = Buffer.concat(contents);
  const n = body.length;
  let header: Buffer;
  if (n < 0x80) header = Buffer.from([tag, n]);
  else if (n < 0x100) header = Buffer.from([tag, 0x81, n]);
  else if (n < 0x10000) header = Buffer.from([tag, 0x82, n >> 8, n & 0xff]);
  else header = Buffer.from([tag, 0x83, n >> 16, (n >> 8) & 0xff, n & 0xff]);
  const out = Buffer.concat([header, body]);
  // The contents may be key material (an ECPrivateKey, a seed): wipe the intermediate copy.
  body.fill(0);
  return out;
}

export const encodeSequence = (...children: Uint8Array[]): Buffer => encodeTlv(TAG.SEQUENCE, ...children);
export const encodeOctetString = (bytes: Uint8Array): Buffer => encodeTlv(TAG.OCTET_STRING, bytes);
export const encodeBitString = (bytes: Uint8Array): Buffer => encodeTlv(TAG.BIT_STRING, Buffer.from([0]), bytes);
export const encodeNull = (): Buffer => Buffer.from([TAG.NULL, 0]);

export function encodeUnsignedInteger(value: bigint): Buffer {
  if (value < 0n) throw new RangeError('negative');
  let bytes = bigIntToBytes(value, 0);
  if (bytes.length === 0 || bytes[0]! & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  return encodeTlv(TAG.INTEGER, bytes);
}

export function encodeOid(dotted: string): Buffer {
  const arcs = dotted.split('.').map((a) => BigInt(a));
  if (arcs.length < 2) throw new RangeError('OID needs two arcs');
  const first = arcs[0]! * 40n + arcs[1]!;
  const out: number[] = [];
  for (const arc of [first, ...arcs.slice(2)]) {
    const groups: number[] = [Number(arc & 0x7fn)];
    for (let rest = arc >> 7n; rest > 0n; rest >>= 7n) groups.unshift(Number(rest & 0x7fn) | 0x80);
    out.push(...groups);
  }
  return encodeTlv(TAG.OID, Buffer.from(out));
}

export function decodeOid(tlv: Tlv | undefined): string {
  const { value } = expectTag(tlv, TAG.OID);
  if (value.length === 0) throw new DerError('empty OID');
  const arcs: bigint[] = [];
  let acc = 0n;
  let fresh = true;
  for (const byte of value) {
    if (fresh && byte === 0x80) throw new DerError('non-minimal OID arc');
    acc = (acc << 7n) | BigInt(byte & 0x7f);
    fresh = false;
    if (!(byte & 0x80)) {
      arcs.push(acc);
      acc = 0n;
      fresh = true;
    }
  }
  if (!fresh) throw new DerError('truncated OID');
  const first = arcs.shift()!;
  const head = first < 80n ? [first / 40n, first % 40n] : [2n, first - 80n];
  return [...head, ...arcs].join('.');
}

// ---------------------------------------------------------------------------------------------------
// Integers as bytes

export function bytesToBigInt(bytes: Uint8Array): bigint {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  return n;
}

/** Big-endian, left-padded with zeros to `length` bytes (0: as short as possible). */
export function bigIntToBytes(value: bigint, length: number): Buffer {
  let hex = value.toString(16);
  if (hex.length % 2) hex = '0' + hex;
  if (value === 0n) hex = '';
  const raw = Buffer.from(hex, 'hex');
  if (length === 0) return raw;
  if (raw.length > length) throw new RangeError('integer does not fit');
  return Buffer.concat([Buffer.alloc(length - raw.length), raw]);
}

// ---------------------------------------------------------------------------------------------------
// SubjectPublicKeyInfo and PKCS#8

export const OID = {
  rsaEncryption: '1.2.840.113549.1.1.1',
  ecPublicKey: '1.2.840.10045.2.1',
  prime256v1: '1.2.840.10045.3.1.7',
  secp384r1: '1.3.132.0.34',
  secp521r1: '1.3.132.0.35',
  secp256k1: '1.3.132.0.10',
  sm2: '1.2.156.10197.1.301',
  ed25519: '1.3.101.112',
  mlDsa44: '2.16.840.1.101.3.4.3.17',
  mlDsa65: '2.16.840.1.101.3.4.3.18',
  mlDsa87: '2.16.840.1.101.3.4.3.19',
} as const;

export interface AlgorithmIdentifier {
  oid: string;
  /** The parameters element, if present (a curve OID, NULL, …). */
  parameters?: Tlv;
}

function readAlgorithmIdentifier(tlv: Tlv | undefined): AlgorithmIdentifier {
  const [oid, parameters, ...rest] = readChildren(expectTag(tlv, TAG.SEQUENCE).value);
  if (rest.length) throw new DerError('AlgorithmIdentifier has extra elements');
  return parameters ? { oid: decodeOid(oid), parameters } : { oid: decodeOid(oid) };
}

/** AlgorithmIdentifier { oid, parameters } where parameters is an OID (EC curves) or absent (Ed25519, ML-DSA). */
export function encodeAlgorithmIdentifier(oid: string, parameterOid?: string): Buffer {
  return parameterOid ? encodeSequence(encodeOid(oid), encodeOid(parameterOid)) : encodeSequence(encodeOid(oid));
}

export interface SubjectPublicKeyInfo {
  algorithm: AlgorithmIdentifier;
  /** The subjectPublicKey BIT STRING's bytes (an EC point, a raw Ed25519 or ML-DSA key, an RSAPublicKey). */
  publicKey: Buffer;
}

export function parseSpki(der: Uint8Array): SubjectPublicKeyInfo {
  const [algorithm, key, ...rest] = readChildren(readWhole(der, TAG.SEQUENCE).value);
  if (rest.length) throw new DerError('SubjectPublicKeyInfo has extra elements');
  return { algorithm: readAlgorithmIdentifier(algorithm), publicKey: readBitStringBytes(key) };
}

export function encodeSpki(algorithmIdentifier: Uint8Array, publicKey: Uint8Array): Buffer {
  return encodeSequence(algorithmIdentifier, encodeBitString(publicKey));
}

export interface PrivateKeyInfo {
  algorithm: AlgorithmIdentifier;
  /** The privateKey OCTET STRING's contents (an ECPrivateKey, a CurvePrivateKey, an ML-DSA-PrivateKey). */
  privateKey: Buffer;
}

/** PrivateKeyInfo (v1) or OneAsymmetricKey (v2); attributes [0] and publicKey [1] are accepted and ignored. */
export function parsePkcs8(der: Uint8Array): PrivateKeyInfo {
  const [version, algorithm, privateKey, ...rest] = readChildren(readWhole(der, TAG.SEQUENCE).value);
  const v = readUnsignedInteger(version);
  if (v !== 0n && v !== 1n) throw new DerError('unknown PKCS#8 version');
  // [0] attributes, then [1] publicKey (RFC 5958: [1] IMPLICIT BIT STRING, so primitive 0x81).
  let i = 0;
  if (rest[i]?.tag === contextTag(0, true)) i++;
  if (rest[i]?.tag === contextTag(1, false)) i++;
  if (i !== rest.length) throw new DerError('unexpected PKCS#8 element');
  return { algorithm: readAlgorithmIdentifier(algorithm), privateKey: expectTag(privateKey, TAG.OCTET_STRING).value };
}

export function encodePkcs8(algorithmIdentifier: Uint8Array, privateKey: Uint8Array): Buffer {
  const octets = encodeOctetString(privateKey);
  try {
    return encodeSequence(encodeUnsignedInteger(0n), algorithmIdentifier, octets);
  } finally {
    octets.fill(0);
  }
}

export interface EcPrivateKey {
  /** The private scalar as stored (a view into the input). */
  d: Buffer;
  /** The embedded public point, when present. */
  publicPoint?: Buffer;
  /** The embedded curve OID, when present (it must then match the PKCS#8 algorithm's). */
  curveOid?: string;
}

/** ECPrivateKey ::= SEQUENCE { version 1, privateKey OCTET STRING, [0] parameters OPTIONAL, [1] publicKey OPTIONAL } */
export function parseEcPrivateKey(der: Uint8Array): EcPrivateKey {
  const [version, d, ...rest] = readChildren(readWhole(der, TAG.SEQUENCE).value);
  if (readUnsignedInteger(version) !== 1n) throw new DerError('ECPrivateKey version must be 1');
  const out: EcPrivateKey = { d: expectTag(d, TAG.OCTET_STRING).value };
  let next = 0;
  for (const optional of rest) {
    if (optional.tag === contextTag(0, true) && next === 0) {
      const [curve, ...more] = readChildren(optional.value);
      if (more.length) throw new DerError('ECPrivateKey parameters must be a named curve');
      out.curveOid = decodeOid(curve);
      next = 1;
    } else if (optional.tag === contextTag(1, true) && next <= 1) {
      const [point, ...more] = readChildren(optional.value);
      if (more.length) throw new DerError('ECPrivateKey publicKey has extra elements');
      out.publicPoint = readBitStringBytes(point);
      next = 2;
    } else {
      throw new DerError('unexpected ECPrivateKey element');
    }
  }
  return out;
}

/** As OpenSSL writes it inside PKCS#8: version 1, the scalar at full field length, [1] the public point, no [0]. */
export function encodeEcPrivateKey(d: Uint8Array, publicPoint: Uint8Array): Buffer {
  const scalar = encodeOctetString(d);
  try {
    return encodeSequence(encodeUnsignedInteger(1n), scalar, encodeTlv(contextTag(1, true), encodeBitString(publicPoint)));
  } finally {
    scalar.fill(0);
  }
}

// ---------------------------------------------------------------------------------------------------
// ECDSA / SM2 signatures: SEQUENCE { r INTEGER, s INTEGER }

export function parseSignatureRS(der: Uint8Array): { r: bigint; s: bigint } {
  const [r, s, ...rest] = readChildren(readWhole(der, TAG.SEQUENCE).value);
  if (rest.length) throw new DerError('signature has extra elements');
  return { r: readUnsignedInteger(r), s: readUnsignedInteger(s) };
}

export function encodeSignatureRS(r: bigint, s: bigint): Buffer {
  return encodeSequence(encodeUnsignedInteger(r), encodeUnsignedInteger(s));
}
