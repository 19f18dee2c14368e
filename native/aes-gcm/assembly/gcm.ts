// AES-256-GCM (NIST SP 800-38D §7) on the bitsliced AES and the masked GHASH.
//
// The counter blocks of one batch are encrypted together (eight per call of encrypt8): the first
// batch of a message carries J0 in lane 0 (its encryption masks the tag) and the first seven data
// counters, so a short message costs one AES batch. Decryption computes the tag over the
// ciphertext and compares it in constant time before a single byte of plaintext is written: the
// plaintext of a forged message never exists, not even in the I/O area.

import { encrypt8 } from './aes';
import { ghash, gmul } from './ghash';
import { GH, HTAB_OFFSET, KS, RK_OFFSET } from './layout';

/** The pre-counter block J0 (SP 800-38D §7.1 step 2). */
function preCounter(tab: usize, iv: usize, ivLen: usize): v128 {
  if (ivLen == 12) {
    // IV || 0^31 || 1
    return i32x4.replace_lane(v128.load(iv), 3, <i32>bswap<u32>(1));
  }
  // GHASH(IV || 0^(s+64) || [len(IV)]_64)
  const y = ghash(tab, i64x2.splat(0), iv, ivLen);
  return gmul(tab, v128.xor(y, i64x2.replace_lane(i64x2.splat(0), 1, <i64>bswap<u64>(<u64>ivLen * 8))));
}

/** Writes the eight counter blocks J0 with counter field c, c+1, ... c+7 (inc32: mod 2^32) at KS. */
function counters(j0: v128, c: u32): void {
  v128.store(KS, i32x4.replace_lane(j0, 3, <i32>bswap<u32>(c)), 0);
  v128.store(KS, i32x4.replace_lane(j0, 3, <i32>bswap<u32>(c + 1)), 16);
  v128.store(KS, i32x4.replace_lane(j0, 3, <i32>bswap<u32>(c + 2)), 32);
  v128.store(KS, i32x4.replace_lane(j0, 3, <i32>bswap<u32>(c + 3)), 48);
  v128.store(KS, i32x4.replace_lane(j0, 3, <i32>bswap<u32>(c + 4)), 64);
  v128.store(KS, i32x4.replace_lane(j0, 3, <i32>bswap<u32>(c + 5)), 80);
  v128.store(KS, i32x4.replace_lane(j0, 3, <i32>bswap<u32>(c + 6)), 96);
  v128.store(KS, i32x4.replace_lane(j0, 3, <i32>bswap<u32>(c + 7)), 112);
}

/** dst[i] = src[i] ^ ks[i] for n bytes; dst may equal src. */
function xorInto(dst: usize, src: usize, ks: usize, n: usize): void {
  let i: usize = 0;
  for (; i + 16 <= n; i += 16) v128.store(dst + i, v128.xor(v128.load(src + i), v128.load(ks + i)));
  for (; i < n; i++) store<u8>(dst + i, load<u8>(src + i) ^ load<u8>(ks + i));
}

/** The length block [len(A)]_64 || [len(C)]_64, lengths in bits. */
function lengths(aadLen: usize, len: usize): v128 {
  return i64x2.replace_lane(
    i64x2.splat(<i64>bswap<u64>(<u64>aadLen * 8)),
    1,
    <i64>bswap<u64>(<u64>len * 8),
  );
}

/** Wipes the keystream batch and GHASH's partial products (both derived from the key and the data). */
function wipe(): void {
  memory.fill(KS, 0, 128);
  memory.fill(GH, 0, 256);
}

/**
 * GCM-AE (SP 800-38D §7.2): encrypts len bytes at src into dst (dst may equal src) and writes the
 * 16-byte tag at dst + len.
 */
export function seal(
  slot: usize, iv: usize, ivLen: usize, aad: usize, aadLen: usize, src: usize, len: usize, dst: usize,
): void {
  const rk = slot + RK_OFFSET;
  const tab = slot + HTAB_OFFSET;
  const j0 = preCounter(tab, iv, ivLen);
  let c = bswap<u32>(<u32>i32x4.extract_lane(j0, 3));
  let y = ghash(tab, i64x2.splat(0), aad, aadLen);

  counters(j0, c);
  encrypt8(rk, KS);
  const ekj0 = v128.load(KS);
  let take = len < 112 ? len : 112;
  xorInto(dst, src, KS + 16, take);
  y = ghash(tab, y, dst, take);
  let off = take;
  c += 8;
  while (off < len) {
    counters(j0, c);
    c += 8;
    encrypt8(rk, KS);
    take = len - off < 128 ? len - off : 128;
    xorInto(dst + off, src + off, KS, take);
    y = ghash(tab, y, dst + off, take);
    off += take;
  }
  y = gmul(tab, v128.xor(y, lengths(aadLen, len)));
  v128.store(dst + len, v128.xor(y, ekj0));
  wipe();
}

/**
 * GCM-AD (SP 800-38D §7.3): verifies the 16-byte tag at tag over the ciphertext at src and, only if
 * it matches, decrypts len bytes into dst (dst may equal src). Returns 1 if authentic, 0 otherwise
 * (dst untouched).
 */
export function open(
  slot: usize, iv: usize, ivLen: usize, aad: usize, aadLen: usize, src: usize, len: usize, tag: usize, dst: usize,
): i32 {
  const rk = slot + RK_OFFSET;
  const tab = slot + HTAB_OFFSET;
  const j0 = preCounter(tab, iv, ivLen);
  let c = bswap<u32>(<u32>i32x4.extract_lane(j0, 3));
  let y = ghash(tab, i64x2.splat(0), aad, aadLen);
  y = ghash(tab, y, src, len);
  y = gmul(tab, v128.xor(y, lengths(aadLen, len)));

  counters(j0, c);
  encrypt8(rk, KS);
  // Constant-time comparison: OR of all byte differences, tested once.
  const diff = v128.xor(v128.xor(y, v128.load(KS)), v128.load(tag));
  if (v128.any_true(diff)) {
    wipe();
    return 0;
  }
  let take = len < 112 ? len : 112;
  xorInto(dst, src, KS + 16, take);
  let off = take;
  c += 8;
  while (off < len) {
    counters(j0, c);
    c += 8;
    encrypt8(rk, KS);
    take = len - off < 128 ? len - off : 128;
    xorInto(dst + off, src + off, KS, take);
    off += take;
  }
  wipe();
  return 1;
}
