// Every implementation of Kura's Aead port (main/crypto/aead.ts) against the same vectors: the
// WebAssembly core that serves Kura and node:crypto, the test oracle. The port takes 96-bit IVs and
// 128-bit tags, so the Wycheproof AES-256 groups of that shape run here whole, valid and forged cases
// alike; the core's other modes (any IV length, key wrap) are tested in wasm-aead.test.ts.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { AEAD_IV_BYTES, AeadAuthenticationError, type Aead } from '../../main/crypto/aead.js';
import { wasmAead } from '../../main/crypto/wasm-aead.js';
import { nodeAead } from '../support/node-aead.js';

interface GcmCase {
  tcId: number;
  key: string;
  iv: string;
  aad: string;
  msg: string;
  ct: string;
  tag: string;
  result: 'valid' | 'invalid' | 'acceptable';
}
const VECTORS = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'vectors', 'wycheproof', 'aes_gcm_test.json');
const file = JSON.parse(readFileSync(VECTORS, 'utf8')) as { testGroups: { keySize: number; ivSize: number; tagSize: number; tests: GcmCase[] }[] };
const cases = file.testGroups.filter((g) => g.keySize === 256 && g.ivSize === AEAD_IV_BYTES * 8 && g.tagSize === 128).flatMap((g) => g.tests);
const hex = (s: string) => Buffer.from(s, 'hex');

const IMPLEMENTATIONS: [string, Aead][] = [
  ['the WebAssembly core (wasmAead)', wasmAead],
  ['node:crypto (nodeAead)', nodeAead],
];

describe.each(IMPLEMENTATIONS)('Aead port: %s', (_name, aead) => {
  it('has Wycheproof AES-256-GCM cases with 96-bit IVs to run, valid and forged', () => {
    expect(cases.filter((c) => c.result === 'valid').length).toBeGreaterThan(20);
    expect(cases.filter((c) => c.result === 'invalid').length).toBeGreaterThan(10);
  });

  it('seals every valid case to its ciphertext and tag, and opens it', () => {
    for (const c of cases.filter((x) => x.result === 'valid')) {
      const key = aead.importKey(hex(c.key));
      try {
        expect(key.seal(hex(c.iv), hex(c.msg), hex(c.aad)).toString('hex'), `tcId ${c.tcId}`).toBe(c.ct + c.tag);
        expect(key.open(hex(c.iv), hex(c.ct + c.tag), hex(c.aad)).toString('hex'), `tcId ${c.tcId}`).toBe(c.msg);
      } finally {
        key.destroy();
      }
    }
  });

  it('refuses every forged case with AeadAuthenticationError and no plaintext', () => {
    for (const c of cases.filter((x) => x.result === 'invalid')) {
      const key = aead.importKey(hex(c.key));
      try {
        expect(() => key.open(hex(c.iv), hex(c.ct + c.tag), hex(c.aad)), `tcId ${c.tcId}`).toThrow(AeadAuthenticationError);
      } finally {
        key.destroy();
      }
    }
  });

  it('a destroyed key cannot be used', () => {
    const key = aead.importKey(Buffer.alloc(32, 7));
    key.destroy();
    expect(() => key.seal(Buffer.alloc(12), Buffer.from('x'), Buffer.alloc(0))).toThrow();
  });
});
