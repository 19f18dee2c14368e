// SM3, the hash of SM2DSA and SM2PKE: GB/T 32905-2016 (GM/T 0004-2012), written from the standard.
//
// Why Kura has its own: Electron's BoringSSL has no SM3, and the npm SM3/SM2 packages take keys as
// hex strings (which cannot be wiped) and swallow decryption failures. Node's OpenSSL has SM3 and the
// tests use it as the oracle. SM3 is a Merkle–Damgård hash over 32-bit words with SHA-256's padding;
// everything below is 32-bit integer arithmetic with no data-dependent branches or table lookups.

const IV = [0x7380166f, 0x4914b2b9, 0x172442d7, 0xda8a0600, 0xa96f30bc, 0x163138aa, 0xe38dee4d, 0xb0fb0e4e];

const rotl = (x: number, n: number): number => ((x << (n & 31)) | (x >>> ((32 - (n & 31)) & 31))) >>> 0;
const P0 = (x: number): number => (x ^ rotl(x, 9) ^ rotl(x, 17)) >>> 0;
const P1 = (x: number): number => (x ^ rotl(x, 15) ^ rotl(x, 23)) >>> 0;

// T_j rotated left by j mod 32, precomputed (section 5.3.3: SS1 uses T_j <<< (j mod 32)).
const T_ROT: number[] = Array.from({ length: 64 }, (_, j) => rotl(j < 16 ? 0x79cc4519 : 0x7a879d8a, j % 32));

function compress(v: Uint32Array, block: Uint8Array, offset: number, w: Uint32Array, w1: Uint32Array): void {
  for (let j = 0; j < 16; j++) {
    const o = offset + 4 * j;
    w[j] = ((block[o]! << 24) | (block[o + 1]! << 16) | (block[o + 2]! << 8) | block[o + 3]!) >>> 0;
  }
  for (let j = 16; j < 68; j++) {
    w[j] = (P1(w[j - 16]! ^ w[j - 9]! ^ rotl(w[j - 3]!, 15)) ^ rotl(w[j - 13]!, 7) ^ w[j - 6]!) >>> 0;
  }
  for (let j = 0; j < 64; j++) w1[j] = (w[j]! ^ w[j + 4]!) >>> 0;

  let a = v[0]!;
  let b = v[1]!;
  let c = v[2]!;
  let d = v[3]!;
  let e = v[4]!;
  let f = v[5]!;
  let g = v[6]!;
  let h = v[7]!;
  for (let j = 0; j < 64; j++) {
    const a12 = rotl(a, 12);
    const ss1 = rotl((a12 + e + T_ROT[j]!) >>> 0, 7);
    const ss2 = (ss1 ^ a12) >>> 0;
    const ff = j < 16 ? a ^ b ^ c : (a & b) | (a & c) | (b & c);
    const gg = j < 16 ? e ^ f ^ g : (e & f) | (~e & g);
    const tt1 = (ff + d + ss2 + w1[j]!) >>> 0;
    const tt2 = (gg + h + ss1 + w[j]!) >>> 0;
    d = c;
    c = rotl(b, 9);
    b = a;
    a = tt1;
    h = g;
    g = rotl(f, 19);
    f = e;
    e = P0(tt2);
  }
  v[0]! ^= a;
  v[1]! ^= b;
  v[2]! ^= c;
  v[3]! ^= d;
  v[4]! ^= e;
  v[5]! ^= f;
  v[6]! ^= g;
  v[7]! ^= h;
}

/** SM3 of the concatenation of `parts` (32 bytes). */
export function sm3(...parts: Uint8Array[]): Buffer {
  const message = Buffer.concat(parts);
  const bitLength = BigInt(message.length) * 8n;
  // Padding (section 5.2): a 1 bit, zeros to 448 mod 512, then the 64-bit big-endian bit length.
  const padded = Buffer.alloc(Math.ceil((message.length + 9) / 64) * 64);
  message.copy(padded);
  padded[message.length] = 0x80;
  padded.writeBigUInt64BE(bitLength, padded.length - 8);

  const v = Uint32Array.from(IV);
  const w = new Uint32Array(68);
  const w1 = new Uint32Array(64);
  for (let offset = 0; offset < padded.length; offset += 64) compress(v, padded, offset, w, w1);

  const out = Buffer.alloc(32);
  for (let i = 0; i < 8; i++) out.writeUInt32BE(v[i]!, 4 * i);
  // The message may be secret (SM2PKE hashes the plaintext): wipe the copies made here.
  message.fill(0);
  padded.fill(0);
  w.fill(0);
  w1.fill(0);
  return out;
}
