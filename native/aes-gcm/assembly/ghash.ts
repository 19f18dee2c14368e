// GHASH (NIST SP 800-38D §6.4) in constant time, as a GF(2)-linear map evaluated with masks.
//
// Multiplication by the fixed hash key H is linear over GF(2): X*H is the XOR, over the bits of X
// that are set, of (that basis element)*H. The core precomputes the 128 products R(j,b) = x^(8j+7-b)*H
// (bit b of byte j of a block is the coefficient of x^(8j+7-b): SP 800-38D §6.3 numbers bits from the
// leftmost bit of byte 0) and multiplies by
//   - turning every bit of X into a byte mask (0x00/0xFF) with a shift and a signed compare,
//   - ANDing the masks with the table and XORing: every one of the 128 rows is read and combined,
//     whatever X is, in the same order,
//   - folding the sixteen byte lanes together with fixed shuffles.
// The table is derived from H, but it is only ever read whole, at fixed offsets: there is no lookup
// indexed by H-derived or data-derived values, no branch on data, and no integer multiplication
// (whose timing some CPUs vary with the operands).
//
// Table layout (HTAB_BYTES = 2048): vector T[b][o] at tab + (b*16 + o)*16 holds, in byte lane j,
// byte o of R(j,b). Then for output byte o, v_o = XOR_b (mask_b AND T[b][o]) has in lane j the part
// of byte o contributed by input byte j, and the product's byte o is the XOR of v_o's sixteen lanes.
// The v_o go through the scratch area GH (wiped at the end of every GCM call).

import { BLK, GH } from './layout';

/** Builds the table at tab for the hash key h (16 bytes, as stored in memory). */
export function ghashInit(tab: usize, h: v128): void {
  // V as a 128-bit big-endian integer (hi, lo); multiplying by x is a right shift, with the reduction
  // constant R = 0xE1 || 0^120 XORed in when the bit shifted out was set (SP 800-38D §6.3, Algorithm 1).
  let hi = bswap<u64>(i64x2.extract_lane(h, 0));
  let lo = bswap<u64>(i64x2.extract_lane(h, 1));
  for (let k: u32 = 0; k < 128; k++) {
    const j = k >> 3;
    const b = 7 - (k & 7);
    const row = tab + ((<usize>b) << 8) + <usize>j;
    for (let o: u32 = 0; o < 8; o++) {
      store<u8>(row + (<usize>o << 4), <u8>(hi >> (<u64>(56 - 8 * o))));
      store<u8>(row + ((<usize>o + 8) << 4), <u8>(lo >> (<u64>(56 - 8 * o))));
    }
    const carry = (<u64>0) - (lo & 1);
    lo = (lo >> 1) | (hi << 63);
    hi = (hi >> 1) ^ (0xe100000000000000 & carry);
  }
}

// AssemblyScript's @inline is only accepted by the TypeScript parser (and so by lint) on class
// members, hence the static methods.
class Mul {
  /**
   * v_o = XOR_b (mask_b AND T[b][o]) for t = tab + 16o, stored at GH + 16o. The store also keeps
   * the engine from hoisting all 128 table loads of a block to its start (and spilling them).
   */
  @inline static row(
    t: usize, out: usize, m0: v128, m1: v128, m2: v128, m3: v128, m4: v128, m5: v128, m6: v128, m7: v128,
  ): void {
    let v = v128.and(m0, v128.load(t, 0));
    v = v128.xor(v, v128.and(m1, v128.load(t, 256)));
    v = v128.xor(v, v128.and(m2, v128.load(t, 512)));
    v = v128.xor(v, v128.and(m3, v128.load(t, 768)));
    v = v128.xor(v, v128.and(m4, v128.load(t, 1024)));
    v = v128.xor(v, v128.and(m5, v128.load(t, 1280)));
    v = v128.xor(v, v128.and(m6, v128.load(t, 1536)));
    v = v128.xor(v, v128.and(m7, v128.load(t, 1792)));
    v128.store(out, v);
  }

  /** Folds v_{4q} .. v_{4q+3} (stored at GH + 64q) to four bytes each. */
  @inline static quad(g: usize): v128 {
    const v0 = v128.load(g, 0);
    const v1 = v128.load(g, 16);
    const v2 = v128.load(g, 32);
    const v3 = v128.load(g, 48);
    // 16 lanes to 8 ([v0 lanes 0-7 ^ 8-15 | v1 ...]), then 8 to 4 with 32-bit lane selection.
    const x01 = v128.xor(
      i8x16.shuffle(v0, v1, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23),
      i8x16.shuffle(v0, v1, 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31),
    );
    const x23 = v128.xor(
      i8x16.shuffle(v2, v3, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23),
      i8x16.shuffle(v2, v3, 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31),
    );
    return v128.xor(
      i8x16.shuffle(x01, x23, 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27),
      i8x16.shuffle(x01, x23, 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31),
    );
  }

  /** a*H for the H whose table is at tab. */
  @inline static mul(tab: usize, a: v128): v128 {
    const zero = i64x2.splat(0);
    // mask_b: byte lane j is 0xFF when bit b of byte j of a is set.
    const m7 = i8x16.lt_s(a, zero);
    const m6 = i8x16.lt_s(i64x2.shl(a, 1), zero);
    const m5 = i8x16.lt_s(i64x2.shl(a, 2), zero);
    const m4 = i8x16.lt_s(i64x2.shl(a, 3), zero);
    const m3 = i8x16.lt_s(i64x2.shl(a, 4), zero);
    const m2 = i8x16.lt_s(i64x2.shl(a, 5), zero);
    const m1 = i8x16.lt_s(i64x2.shl(a, 6), zero);
    const m0 = i8x16.lt_s(i64x2.shl(a, 7), zero);
    Mul.row(tab, GH, m0, m1, m2, m3, m4, m5, m6, m7);
    Mul.row(tab + 16, GH + 16, m0, m1, m2, m3, m4, m5, m6, m7);
    Mul.row(tab + 32, GH + 32, m0, m1, m2, m3, m4, m5, m6, m7);
    Mul.row(tab + 48, GH + 48, m0, m1, m2, m3, m4, m5, m6, m7);
    Mul.row(tab + 64, GH + 64, m0, m1, m2, m3, m4, m5, m6, m7);
    Mul.row(tab + 80, GH + 80, m0, m1, m2, m3, m4, m5, m6, m7);
    Mul.row(tab + 96, GH + 96, m0, m1, m2, m3, m4, m5, m6, m7);
    Mul.row(tab + 112, GH + 112, m0, m1, m2, m3, m4, m5, m6, m7);
    Mul.row(tab + 128, GH + 128, m0, m1, m2, m3, m4, m5, m6, m7);
    Mul.row(tab + 144, GH + 144, m0, m1, m2, m3, m4, m5, m6, m7);
    Mul.row(tab + 160, GH + 160, m0, m1, m2, m3, m4, m5, m6, m7);
    Mul.row(tab + 176, GH + 176, m0, m1, m2, m3, m4, m5, m6, m7);
    Mul.row(tab + 192, GH + 192, m0, m1, m2, m3, m4, m5, m6, m7);
    Mul.row(tab + 208, GH + 208, m0, m1, m2, m3, m4, m5, m6, m7);
    Mul.row(tab + 224, GH + 224, m0, m1, m2, m3, m4, m5, m6, m7);
    Mul.row(tab + 240, GH + 240, m0, m1, m2, m3, m4, m5, m6, m7);
    const y0 = Mul.quad(GH);
    const y1 = Mul.quad(GH + 64);
    const y2 = Mul.quad(GH + 128);
    const y3 = Mul.quad(GH + 192);
    // 4 lanes per output byte to 2, then to 1; the lane order of the result is the byte order.
    const lo16 = i32x4.splat(0xffff);
    const z0 = i16x8.narrow_i32x4_u(
      v128.and(v128.xor(y0, i32x4.shr_u(y0, 16)), lo16),
      v128.and(v128.xor(y1, i32x4.shr_u(y1, 16)), lo16),
    );
    const z1 = i16x8.narrow_i32x4_u(
      v128.and(v128.xor(y2, i32x4.shr_u(y2, 16)), lo16),
      v128.and(v128.xor(y3, i32x4.shr_u(y3, 16)), lo16),
    );
    const lo8 = i16x8.splat(0xff);
    return i8x16.narrow_i16x8_u(
      v128.and(v128.xor(z0, i16x8.shr_u(z0, 8)), lo8),
      v128.and(v128.xor(z1, i16x8.shr_u(z1, 8)), lo8),
    );
  }
}

/** Returns a*H for the H whose table is at tab. */
export function gmul(tab: usize, a: v128): v128 {
  return Mul.mul(tab, a);
}

/**
 * Absorbs n bytes at p into the GHASH state y (SP 800-38D Algorithm 2), padding a final partial
 * block with zeros as GCM does for AAD and ciphertext. Callers pass whole blocks except at the end.
 */
export function ghash(tab: usize, y: v128, p: usize, n: usize): v128 {
  let i: usize = 0;
  for (; i + 16 <= n; i += 16) y = Mul.mul(tab, v128.xor(y, v128.load(p + i)));
  if (i < n) {
    v128.store(BLK, i64x2.splat(0));
    memory.copy(BLK, p + i, n - i);
    y = gmul(tab, v128.xor(y, v128.load(BLK)));
    v128.store(BLK, i64x2.splat(0));
  }
  return y;
}
