// RSA signature encodings for messages that arrive already hashed (MessageType DIGEST): RFC 8017's
// EMSA-PKCS1-v1_5 (section 9.2) and EMSA-PSS (section 9.1) around a given hash value.
//
// Why Kura encodes these itself: Node signs and verifies only whole messages (EVP_DigestSign), so a
// digest the caller computed cannot go through crypto.sign without being hashed again. The RSA
// operation itself stays in OpenSSL/BoringSSL (privateEncrypt/publicDecrypt with no padding, blinded
// for the private key); only the encoding is here. RAW messages never come through this file.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { HashName } from './specs.js';

type RsaHash = Extract<HashName, 'sha256' | 'sha384' | 'sha512'>;

const HASH_BYTES: Readonly<Record<RsaHash, number>> = { sha256: 32, sha384: 48, sha512: 64 };

// DER of DigestInfo ::= SEQUENCE { AlgorithmIdentifier { id-sha*, NULL }, OCTET STRING digest } up to the
// digest itself (RFC 8017 section 9.2, note 1).
const DIGEST_INFO_PREFIX: Readonly<Record<RsaHash, Buffer>> = {
  sha256: Buffer.from('3031300d060960864801650304020105000420', 'hex'),
  sha384: Buffer.from('3041300d060960864801650304020205000430', 'hex'),
  sha512: Buffer.from('3051300d060960864801650304020305000440', 'hex'),
};

/** DigestInfo for PKCS#1 v1.5: what OpenSSL's type-1 padding wraps when asked to sign raw bytes. */
export function digestInfo(hash: RsaHash, digest: Uint8Array): Buffer {
  return Buffer.concat([DIGEST_INFO_PREFIX[hash], digest]);
}

/** EM = 0x00 || 0x01 || PS (0xff…) || 0x00 || DigestInfo, k bytes long. */
export function emsaPkcs1v15(hash: RsaHash, digest: Uint8Array, k: number): Buffer | undefined {
  const t = digestInfo(hash, digest);
  if (k < t.length + 11) return undefined;
  return Buffer.concat([Buffer.from([0x00, 0x01]), Buffer.alloc(k - t.length - 3, 0xff), Buffer.from([0x00]), t]);
}

function mgf1(hash: RsaHash, seed: Uint8Array, length: number): Buffer {
  const blocks: Buffer[] = [];
  const counter = Buffer.alloc(4);
  for (let c = 0; blocks.length * HASH_BYTES[hash] < length; c++) {
    counter.writeUInt32BE(c);
    blocks.push(createHash(hash).update(seed).update(counter).digest());
  }
  return Buffer.concat(blocks).subarray(0, length);
}

/**
 * EMSA-PSS-ENCODE with a salt as long as the hash and MGF1 over the same hash (AWS's RSASSA_PSS_*),
 * returned left-padded to k bytes so it can be fed to the raw RSA operation.
 */
export function emsaPssEncode(hash: RsaHash, mHash: Uint8Array, modulusBits: number): Buffer {
  const hLen = HASH_BYTES[hash];
  const emBits = modulusBits - 1;
  const emLen = Math.ceil(emBits / 8);
  const k = Math.ceil(modulusBits / 8);
  if (emLen < 2 * hLen + 2) throw new RangeError('modulus too short for PSS');
  const salt = randomBytes(hLen);
  const h = createHash(hash).update(Buffer.alloc(8)).update(mHash).update(salt).digest();
  const db = Buffer.alloc(emLen - hLen - 1);
  db[emLen - 2 * hLen - 2] = 0x01;
  salt.copy(db, emLen - 2 * hLen - 1);
  const mask = mgf1(hash, h, db.length);
  for (let i = 0; i < db.length; i++) db[i]! ^= mask[i]!;
  db[0]! &= 0xff >> (8 * emLen - emBits);
  return Buffer.concat([Buffer.alloc(k - emLen), db, h, Buffer.from([0xbc])]);
}

/** EMSA-PSS-VERIFY (sLen = hLen) of the k-byte result of the public RSA operation. Public data only. */
export function emsaPssVerify(hash: RsaHash, mHash: Uint8Array, decrypted: Uint8Array, modulusBits: number): boolean {
  const hLen = HASH_BYTES[hash];
  const emBits = modulusBits - 1;
  const emLen = Math.ceil(emBits / 8);
  const k = Math.ceil(modulusBits / 8);
  if (decrypted.length !== k || emLen < 2 * hLen + 2) return false;
  for (let i = 0; i < k - emLen; i++) if (decrypted[i] !== 0) return false;
  const em = Buffer.from(decrypted.subarray(k - emLen));
  if (em[emLen - 1] !== 0xbc) return false;
  const topBits = (0xff << (8 - (8 * emLen - emBits))) & 0xff;
  if (em[0]! & topBits) return false;
  const db = em.subarray(0, emLen - hLen - 1);
  const h = em.subarray(emLen - hLen - 1, emLen - 1);
  const mask = mgf1(hash, h, db.length);
  for (let i = 0; i < db.length; i++) db[i]! ^= mask[i]!;
  db[0]! &= 0xff >> (8 * emLen - emBits);
  const psEnd = emLen - 2 * hLen - 2;
  for (let i = 0; i < psEnd; i++) if (db[i] !== 0) return false;
  if (db[psEnd] !== 0x01) return false;
  const salt = db.subarray(db.length - hLen);
  const expected = createHash(hash).update(Buffer.alloc(8)).update(mHash).update(salt).digest();
  return timingSafeEqual(expected, h);
}
