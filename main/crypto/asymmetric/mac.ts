// GenerateMac and VerifyMac: HMAC (RFC 2104, FIPS 198-1) with SHA-224/256/384/512, full-length tags
// (AWS never truncates). The key is the raw HMAC key material of an HMAC_* key spec. VerifyMac
// recomputes the tag and compares in constant time.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { AsymmetricInputError } from './errors.js';
import { specInfo } from './key-common.js';
import { MAC_ALGORITHMS, MAC_HASH, MAX_MESSAGE_BYTES, type KeySpec, type MacAlgorithm } from './specs.js';

function checkMacRequest(spec: KeySpec, key: Uint8Array, algorithm: MacAlgorithm, message: Uint8Array): void {
  const info = specInfo(spec);
  if (!(MAC_ALGORITHMS as readonly string[]).includes(algorithm) || !info.macAlgorithms.includes(algorithm)) {
    throw new AsymmetricInputError('unsupported-algorithm', `MAC algorithm ${String(algorithm)} is not valid for key spec ${spec}.`);
  }
  if (key.length === 0) throw new AsymmetricInputError('bad-private-key', `The ${spec} key material is empty.`);
  if (message.length > MAX_MESSAGE_BYTES) {
    throw new AsymmetricInputError('message-too-long', `A MAC message can be at most ${MAX_MESSAGE_BYTES} bytes.`);
  }
}

export function generateMac(spec: KeySpec, key: Uint8Array, algorithm: MacAlgorithm, message: Uint8Array): Buffer {
  checkMacRequest(spec, key, algorithm, message);
  return createHmac(MAC_HASH[algorithm].hash, key).update(message).digest();
}

/** true only for the full-length tag of this message under this key; a tag of any other length is simply false. */
export function verifyMac(spec: KeySpec, key: Uint8Array, algorithm: MacAlgorithm, message: Uint8Array, mac: Uint8Array): boolean {
  const expected = generateMac(spec, key, algorithm, message);
  try {
    return mac.length === expected.length && timingSafeEqual(expected, mac);
  } finally {
    expected.fill(0);
  }
}
