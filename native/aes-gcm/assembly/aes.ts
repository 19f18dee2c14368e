// Bitsliced AES-256 (FIPS 197) over WebAssembly SIMD, eight blocks at a time.
//
// Representation. Eight 16-byte blocks are transposed into eight v128 "bit planes": plane b holds
// bit b of every state byte, with byte lane k of the plane standing for state byte k (FIPS 197
// §3.4: byte k is row k % 4, column k / 4) and bit j of that lane standing for block j. Every AES
// step then becomes straight-line SIMD code on the planes:
//   - SubBytes is a boolean circuit (Boyar and Peralta, "A depth-16 circuit for the AES S-box",
//     2011) evaluated with v128 AND and XOR on the planes: 128 S-boxes per evaluation, no table;
//   - ShiftRows and the row rotations of MixColumns move bytes within a column or row, i.e. lanes of
//     every plane, with byte permutations by constant index vectors;
//   - multiplication by x in GF(2^8) (xtime) only renames planes and XORs plane 7 into planes
//     1, 3 and 4;
//   - AddRoundKey XORs precomputed planes (each round-key byte spread to 0x00/0xFF per bit).
// The XNOR gates of the circuit (the affine constant 0x63) are left out; since ShiftRows and
// MixColumns map a state of all-0x63 bytes to itself, the constant is folded into round keys 1..14
// instead. The inverse S-box (needed by key unwrapping, RFC 3394 §2.2.2) reuses the same circuit:
// S^-1(y) = L(S'(L(y ^ 0x63))) where S' is the circuit without its constant and L is the linear part
// of the inverse affine map; InvMixColumns is MixColumns after the sparse map (05 00 04 00).
//
// Constant time. No branch and no memory index depends on a key, plaintext or state bit: loops
// run over round numbers and fixed plane indices, memory is addressed by public pointers plus
// constants, and the only data-dependent operations are AND/XOR/NOT/shuffles-by-constant, which
// take the same time whatever their operands. The key schedule runs its SubWord through the same
// circuit. Values left in registers or on the engine's stack cannot be wiped from WebAssembly; the
// scratch memory is.

import { ST, W } from './layout';

function xor(a: v128, b: v128): v128 {
  return v128.xor(a, b);
}
function and(a: v128, b: v128): v128 {
  return v128.and(a, b);
}
// Byte permutations of the planes. i8x16.swizzle with a constant index vector compiles to a single
// byte shuffle whose index vector the engine loads once per function, where i8x16.shuffle would
// rebuild its immediate at every use.
function shiftRowsIdx(): v128 {
  return i8x16(0, 5, 10, 15, 4, 9, 14, 3, 8, 13, 2, 7, 12, 1, 6, 11);
}
function invShiftRowsIdx(): v128 {
  return i8x16(0, 13, 10, 7, 4, 1, 14, 11, 8, 5, 2, 15, 12, 9, 6, 3);
}
// rot1(a)[r][c] = a[r+1][c]: every column rotated up by one row.
function rot1Idx(): v128 {
  return i8x16(1, 2, 3, 0, 5, 6, 7, 4, 9, 10, 11, 8, 13, 14, 15, 12);
}
// rot1(shiftRows(a)) as one permutation.
function rot1ShiftRowsIdx(): v128 {
  return i8x16(5, 10, 15, 0, 9, 14, 3, 4, 13, 2, 7, 8, 1, 6, 11, 12);
}
// rot2: every column rotated by two rows.
function rot2Idx(): v128 {
  return i8x16(2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13);
}

/**
 * Transposes the eight blocks at p (128 bytes) into eight bit planes, in place; the transposition
 * is its own inverse, so the same call turns planes back into blocks. For every byte position this
 * is an 8x8 bit-matrix transpose (block index <-> bit index), done with three rounds of SWAPMOVE;
 * 64-bit shifts are safe because the masks drop the bits that cross a byte boundary.
 */
function bitslice(p: usize): void {
  let r0 = v128.load(p, 0);
  let r1 = v128.load(p, 16);
  let r2 = v128.load(p, 32);
  let r3 = v128.load(p, 48);
  let r4 = v128.load(p, 64);
  let r5 = v128.load(p, 80);
  let r6 = v128.load(p, 96);
  let r7 = v128.load(p, 112);
  const m1 = i8x16.splat(0x55);
  const m2 = i8x16.splat(0x33);
  const m4 = i8x16.splat(0x0f);
  let t: v128;
  t = and(xor(i64x2.shr_u(r0, 1), r1), m1); r1 = xor(r1, t); r0 = xor(r0, i64x2.shl(t, 1));
  t = and(xor(i64x2.shr_u(r2, 1), r3), m1); r3 = xor(r3, t); r2 = xor(r2, i64x2.shl(t, 1));
  t = and(xor(i64x2.shr_u(r4, 1), r5), m1); r5 = xor(r5, t); r4 = xor(r4, i64x2.shl(t, 1));
  t = and(xor(i64x2.shr_u(r6, 1), r7), m1); r7 = xor(r7, t); r6 = xor(r6, i64x2.shl(t, 1));
  t = and(xor(i64x2.shr_u(r0, 2), r2), m2); r2 = xor(r2, t); r0 = xor(r0, i64x2.shl(t, 2));
  t = and(xor(i64x2.shr_u(r1, 2), r3), m2); r3 = xor(r3, t); r1 = xor(r1, i64x2.shl(t, 2));
  t = and(xor(i64x2.shr_u(r4, 2), r6), m2); r6 = xor(r6, t); r4 = xor(r4, i64x2.shl(t, 2));
  t = and(xor(i64x2.shr_u(r5, 2), r7), m2); r7 = xor(r7, t); r5 = xor(r5, i64x2.shl(t, 2));
  t = and(xor(i64x2.shr_u(r0, 4), r4), m4); r4 = xor(r4, t); r0 = xor(r0, i64x2.shl(t, 4));
  t = and(xor(i64x2.shr_u(r1, 4), r5), m4); r5 = xor(r5, t); r1 = xor(r1, i64x2.shl(t, 4));
  t = and(xor(i64x2.shr_u(r2, 4), r6), m4); r6 = xor(r6, t); r2 = xor(r2, i64x2.shl(t, 4));
  t = and(xor(i64x2.shr_u(r3, 4), r7), m4); r7 = xor(r7, t); r3 = xor(r3, i64x2.shl(t, 4));
  v128.store(p, r0, 0);
  v128.store(p, r1, 16);
  v128.store(p, r2, 32);
  v128.store(p, r3, 48);
  v128.store(p, r4, 64);
  v128.store(p, r5, 80);
  v128.store(p, r6, 96);
  v128.store(p, r7, 112);
}

const SUB_ONLY = 0; // SubBytes only
const SUB_MIX = 1; // SubBytes, ShiftRows, MixColumns, AddRoundKey: rounds 1..13
const SUB_LAST = 2; // SubBytes, ShiftRows, AddRoundKey: round 14

/**
 * SubBytes without its affine constant, on the eight planes at p, in place: S'(x) = S(x) ^ 0x63,
 * followed by the rest of the round when mode says so (one function, so that a round's planes go
 * through memory once). The gate list is the published depth-16 circuit of Boyar and Peralta
 * (inputs U0..U7 are bits 7..0, outputs S0..S7 are bits 7..0); its four XNORs are plain XORs here.
 */
function subBytesRound(p: usize, k: usize, mode: i32): void {
  const U0 = v128.load(p, 112);
  const U1 = v128.load(p, 96);
  const U2 = v128.load(p, 80);
  const U3 = v128.load(p, 64);
  const U4 = v128.load(p, 48);
  const U5 = v128.load(p, 32);
  const U6 = v128.load(p, 16);
  const U7 = v128.load(p, 0);

  // Top linear layer.
  const T1 = xor(U0, U3);
  const T2 = xor(U0, U5);
  const T3 = xor(U0, U6);
  const T4 = xor(U3, U5);
  const T5 = xor(U4, U6);
  const T6 = xor(T1, T5);
  const T7 = xor(U1, U2);
  const T8 = xor(U7, T6);
  const T9 = xor(U7, T7);
  const T10 = xor(T6, T7);
  const T11 = xor(U1, U5);
  const T12 = xor(U2, U5);
  const T13 = xor(T3, T4);
  const T14 = xor(T6, T11);
  const T15 = xor(T5, T11);
  const T16 = xor(T5, T12);
  const T17 = xor(T9, T16);
  const T18 = xor(U3, U7);
  const T19 = xor(T7, T18);
  const T20 = xor(T1, T19);
  const T21 = xor(U6, U7);
  const T22 = xor(T7, T21);
  const T23 = xor(T2, T22);
  const T24 = xor(T2, T10);
  const T25 = xor(T20, T17);
  const T26 = xor(T3, T16);
  const T27 = xor(T1, T12);

  // Shared non-linear middle: inversion in GF(2^4)^2.
  const M1 = and(T13, T6);
  const M2 = and(T23, T8);
  const M3 = xor(T14, M1);
  const M4 = and(T19, U7);
  const M5 = xor(M4, M1);
  const M6 = and(T3, T16);
  const M7 = and(T22, T9);
  const M8 = xor(T26, M6);
  const M9 = and(T20, T17);
  const M10 = xor(M9, M6);
  const M11 = and(T1, T15);
  const M12 = and(T4, T27);
  const M13 = xor(M12, M11);
  const M14 = and(T2, T10);
  const M15 = xor(M14, M11);
  const M16 = xor(M3, M2);
  const M17 = xor(M5, T24);
  const M18 = xor(M8, M7);
  const M19 = xor(M10, M15);
  const M20 = xor(M16, M13);
  const M21 = xor(M17, M15);
  const M22 = xor(M18, M13);
  const M23 = xor(M19, T25);
  const M24 = xor(M22, M23);
  const M25 = and(M22, M20);
  const M26 = xor(M21, M25);
  const M27 = xor(M20, M21);
  const M28 = xor(M23, M25);
  const M29 = and(M28, M27);
  const M30 = and(M26, M24);
  const M31 = and(M20, M23);
  const M32 = and(M27, M31);
  const M33 = xor(M27, M25);
  const M34 = and(M21, M22);
  const M35 = and(M24, M34);
  const M36 = xor(M24, M25);
  const M37 = xor(M21, M29);
  const M38 = xor(M32, M33);
  const M39 = xor(M23, M30);
  const M40 = xor(M35, M36);
  const M41 = xor(M38, M40);
  const M42 = xor(M37, M39);
  const M43 = xor(M37, M38);
  const M44 = xor(M39, M40);
  const M45 = xor(M42, M41);
  const M46 = and(M44, T6);
  const M47 = and(M40, T8);
  const M48 = and(M39, U7);
  const M49 = and(M43, T16);
  const M50 = and(M38, T9);
  const M51 = and(M37, T17);
  const M52 = and(M42, T15);
  const M53 = and(M45, T27);
  const M54 = and(M41, T10);
  const M55 = and(M44, T13);
  const M56 = and(M40, T23);
  const M57 = and(M39, T19);
  const M58 = and(M43, T3);
  const M59 = and(M38, T22);
  const M60 = and(M37, T20);
  const M61 = and(M42, T1);
  const M62 = and(M45, T4);
  const M63 = and(M41, T2);

  // Bottom linear layer.
  const L0 = xor(M61, M62);
  const L1 = xor(M50, M56);
  const L2 = xor(M46, M48);
  const L3 = xor(M47, M55);
  const L4 = xor(M54, M58);
  const L5 = xor(M49, M61);
  const L6 = xor(M62, L5);
  const L7 = xor(M46, L3);
  const L8 = xor(M51, M59);
  const L9 = xor(M52, M53);
  const L10 = xor(M53, L4);
  const L11 = xor(M60, L2);
  const L12 = xor(M48, M51);
  const L13 = xor(M50, L0);
  const L14 = xor(M52, M61);
  const L15 = xor(M55, L1);
  const L16 = xor(M56, L0);
  const L17 = xor(M57, L1);
  const L18 = xor(M58, L8);
  const L19 = xor(M63, L4);
  const L20 = xor(L0, L1);
  const L21 = xor(L1, L7);
  const L22 = xor(L3, L12);
  const L23 = xor(L18, L2);
  const L24 = xor(L15, L9);
  const L25 = xor(L6, L10);
  const L26 = xor(L7, L9);
  const L27 = xor(L8, L10);
  const L28 = xor(L11, L14);
  const L29 = xor(L11, L17);

  const s7 = xor(L6, L24); // S0
  const s6 = xor(L16, L26); // S1 (XNOR in the circuit)
  const s5 = xor(L19, L28); // S2 (XNOR)
  const s4 = xor(L6, L21); // S3
  const s3 = xor(L20, L22); // S4
  const s2 = xor(L25, L29); // S5
  const s1 = xor(L13, L27); // S6 (XNOR)
  const s0 = xor(L6, L23); // S7 (XNOR)
  if (mode == SUB_MIX) {
    shiftMixAdd(p, k, s0, s1, s2, s3, s4, s5, s6, s7);
  } else if (mode == SUB_LAST) {
    shiftAdd(p, k, s0, s1, s2, s3, s4, s5, s6, s7);
  } else {
    v128.store(p, s0, 0);
    v128.store(p, s1, 16);
    v128.store(p, s2, 32);
    v128.store(p, s3, 48);
    v128.store(p, s4, 64);
    v128.store(p, s5, 80);
    v128.store(p, s6, 96);
    v128.store(p, s7, 112);
  }
}

function subBytes(p: usize): void {
  subBytesRound(p, 0, SUB_ONLY);
}

/** XORs the eight round-key planes at k into the planes at p. */
function addRoundKey(p: usize, k: usize): void {
  v128.store(p, xor(v128.load(p, 0), v128.load(k, 0)), 0);
  v128.store(p, xor(v128.load(p, 16), v128.load(k, 16)), 16);
  v128.store(p, xor(v128.load(p, 32), v128.load(k, 32)), 32);
  v128.store(p, xor(v128.load(p, 48), v128.load(k, 48)), 48);
  v128.store(p, xor(v128.load(p, 64), v128.load(k, 64)), 64);
  v128.store(p, xor(v128.load(p, 80), v128.load(k, 80)), 80);
  v128.store(p, xor(v128.load(p, 96), v128.load(k, 96)), 96);
  v128.store(p, xor(v128.load(p, 112), v128.load(k, 112)), 112);
}

/**
 * ShiftRows, MixColumns and AddRoundKey on the planes at p. With s = ShiftRows(a), r = rot1(s) and
 * t = s ^ r, MixColumns is 2*t ^ r ^ rot2(t) (row i: 2a_i ^ 3a_{i+1} ^ a_{i+2} ^ a_{i+3}).
 */
function shiftMixAdd(
  p: usize, k: usize, a0: v128, a1: v128, a2: v128, a3: v128, a4: v128, a5: v128, a6: v128, a7: v128,
): void {
  const SR = shiftRowsIdx();
  const R1SR = rot1ShiftRowsIdx();
  const R2 = rot2Idx();
  const r0 = i8x16.swizzle(a0, R1SR);
  const r1 = i8x16.swizzle(a1, R1SR);
  const r2 = i8x16.swizzle(a2, R1SR);
  const r3 = i8x16.swizzle(a3, R1SR);
  const r4 = i8x16.swizzle(a4, R1SR);
  const r5 = i8x16.swizzle(a5, R1SR);
  const r6 = i8x16.swizzle(a6, R1SR);
  const r7 = i8x16.swizzle(a7, R1SR);
  const t0 = xor(i8x16.swizzle(a0, SR), r0);
  const t1 = xor(i8x16.swizzle(a1, SR), r1);
  const t2 = xor(i8x16.swizzle(a2, SR), r2);
  const t3 = xor(i8x16.swizzle(a3, SR), r3);
  const t4 = xor(i8x16.swizzle(a4, SR), r4);
  const t5 = xor(i8x16.swizzle(a5, SR), r5);
  const t6 = xor(i8x16.swizzle(a6, SR), r6);
  const t7 = xor(i8x16.swizzle(a7, SR), r7);
  // 2*t: plane b takes plane b-1; plane 7 wraps into planes 0, 1, 3 and 4 (x^8 = x^4 + x^3 + x + 1).
  v128.store(p, xor(xor(t7, r0), xor(i8x16.swizzle(t0, R2), v128.load(k, 0))), 0);
  v128.store(p, xor(xor(xor(t0, t7), r1), xor(i8x16.swizzle(t1, R2), v128.load(k, 16))), 16);
  v128.store(p, xor(xor(t1, r2), xor(i8x16.swizzle(t2, R2), v128.load(k, 32))), 32);
  v128.store(p, xor(xor(xor(t2, t7), r3), xor(i8x16.swizzle(t3, R2), v128.load(k, 48))), 48);
  v128.store(p, xor(xor(xor(t3, t7), r4), xor(i8x16.swizzle(t4, R2), v128.load(k, 64))), 64);
  v128.store(p, xor(xor(t4, r5), xor(i8x16.swizzle(t5, R2), v128.load(k, 80))), 80);
  v128.store(p, xor(xor(t5, r6), xor(i8x16.swizzle(t6, R2), v128.load(k, 96))), 96);
  v128.store(p, xor(xor(t6, r7), xor(i8x16.swizzle(t7, R2), v128.load(k, 112))), 112);
}

/** The last round's linear part: ShiftRows and AddRoundKey. */
function shiftAdd(
  p: usize, k: usize, a0: v128, a1: v128, a2: v128, a3: v128, a4: v128, a5: v128, a6: v128, a7: v128,
): void {
  const SR = shiftRowsIdx();
  v128.store(p, xor(i8x16.swizzle(a0, SR), v128.load(k, 0)), 0);
  v128.store(p, xor(i8x16.swizzle(a1, SR), v128.load(k, 16)), 16);
  v128.store(p, xor(i8x16.swizzle(a2, SR), v128.load(k, 32)), 32);
  v128.store(p, xor(i8x16.swizzle(a3, SR), v128.load(k, 48)), 48);
  v128.store(p, xor(i8x16.swizzle(a4, SR), v128.load(k, 64)), 64);
  v128.store(p, xor(i8x16.swizzle(a5, SR), v128.load(k, 80)), 80);
  v128.store(p, xor(i8x16.swizzle(a6, SR), v128.load(k, 96)), 96);
  v128.store(p, xor(i8x16.swizzle(a7, SR), v128.load(k, 112)), 112);
}

/** Encrypts the eight blocks at p in place with the bitsliced round keys at rk (FIPS 197 §5.1). */
export function encrypt8(rk: usize, p: usize): void {
  bitslice(p);
  addRoundKey(p, rk);
  for (let r = 1; r < 14; r++) subBytesRound(p, rk + <usize>r * 128, SUB_MIX);
  subBytesRound(p, rk + 14 * 128, SUB_LAST);
  bitslice(p);
}

/**
 * L, the linear part of the inverse affine map (FIPS 197 §5.3.2): bit i of L(y) is
 * y_{i+2} ^ y_{i+5} ^ y_{i+7} (indices mod 8). Optionally applies InvShiftRows first.
 */
function invLinear(p: usize, invShift: bool): void {
  let y0 = v128.load(p, 0);
  let y1 = v128.load(p, 16);
  let y2 = v128.load(p, 32);
  let y3 = v128.load(p, 48);
  let y4 = v128.load(p, 64);
  let y5 = v128.load(p, 80);
  let y6 = v128.load(p, 96);
  let y7 = v128.load(p, 112);
  if (invShift) {
    const ISR = invShiftRowsIdx();
    y0 = i8x16.swizzle(y0, ISR);
    y1 = i8x16.swizzle(y1, ISR);
    y2 = i8x16.swizzle(y2, ISR);
    y3 = i8x16.swizzle(y3, ISR);
    y4 = i8x16.swizzle(y4, ISR);
    y5 = i8x16.swizzle(y5, ISR);
    y6 = i8x16.swizzle(y6, ISR);
    y7 = i8x16.swizzle(y7, ISR);
  }
  v128.store(p, xor(xor(y2, y5), y7), 0);
  v128.store(p, xor(xor(y3, y6), y0), 16);
  v128.store(p, xor(xor(y4, y7), y1), 32);
  v128.store(p, xor(xor(y5, y0), y2), 48);
  v128.store(p, xor(xor(y6, y1), y3), 64);
  v128.store(p, xor(xor(y7, y2), y4), 80);
  v128.store(p, xor(xor(y0, y3), y5), 96);
  v128.store(p, xor(xor(y1, y4), y6), 112);
}

/**
 * AddRoundKey then InvMixColumns on the planes at p. InvMixColumns = MixColumns after
 * w = t ^ 4*(t ^ i8x16.swizzle(t, R2)), because (0e 0b 0d 09) = (02 03 01 01) * (05 00 04 00) as circulants.
 */
function addInvMix(p: usize, k: usize): void {
  const t0 = xor(v128.load(p, 0), v128.load(k, 0));
  const t1 = xor(v128.load(p, 16), v128.load(k, 16));
  const t2 = xor(v128.load(p, 32), v128.load(k, 32));
  const t3 = xor(v128.load(p, 48), v128.load(k, 48));
  const t4 = xor(v128.load(p, 64), v128.load(k, 64));
  const t5 = xor(v128.load(p, 80), v128.load(k, 80));
  const t6 = xor(v128.load(p, 96), v128.load(k, 96));
  const t7 = xor(v128.load(p, 112), v128.load(k, 112));
  const R2 = rot2Idx();
  const u0 = xor(t0, i8x16.swizzle(t0, R2));
  const u1 = xor(t1, i8x16.swizzle(t1, R2));
  const u2 = xor(t2, i8x16.swizzle(t2, R2));
  const u3 = xor(t3, i8x16.swizzle(t3, R2));
  const u4 = xor(t4, i8x16.swizzle(t4, R2));
  const u5 = xor(t5, i8x16.swizzle(t5, R2));
  const u6 = xor(t6, i8x16.swizzle(t6, R2));
  const u7 = xor(t7, i8x16.swizzle(t7, R2));
  // w = t ^ x^2 * u
  const w0 = xor(t0, u6);
  const w1 = xor(t1, xor(u6, u7));
  const w2 = xor(t2, xor(u0, u7));
  const w3 = xor(t3, xor(u1, u6));
  const w4 = xor(t4, xor(xor(u2, u6), u7));
  const w5 = xor(t5, xor(u3, u7));
  const w6 = xor(t6, u4);
  const w7 = xor(t7, u5);
  // MixColumns(w), column only.
  const R1 = rot1Idx();
  const r0 = i8x16.swizzle(w0, R1);
  const r1 = i8x16.swizzle(w1, R1);
  const r2 = i8x16.swizzle(w2, R1);
  const r3 = i8x16.swizzle(w3, R1);
  const r4 = i8x16.swizzle(w4, R1);
  const r5 = i8x16.swizzle(w5, R1);
  const r6 = i8x16.swizzle(w6, R1);
  const r7 = i8x16.swizzle(w7, R1);
  const s0 = xor(w0, r0);
  const s1 = xor(w1, r1);
  const s2 = xor(w2, r2);
  const s3 = xor(w3, r3);
  const s4 = xor(w4, r4);
  const s5 = xor(w5, r5);
  const s6 = xor(w6, r6);
  const s7 = xor(w7, r7);
  v128.store(p, xor(xor(s7, r0), i8x16.swizzle(s0, R2)), 0);
  v128.store(p, xor(xor(xor(s0, s7), r1), i8x16.swizzle(s1, R2)), 16);
  v128.store(p, xor(xor(s1, r2), i8x16.swizzle(s2, R2)), 32);
  v128.store(p, xor(xor(xor(s2, s7), r3), i8x16.swizzle(s3, R2)), 48);
  v128.store(p, xor(xor(xor(s3, s7), r4), i8x16.swizzle(s4, R2)), 64);
  v128.store(p, xor(xor(s4, r5), i8x16.swizzle(s5, R2)), 80);
  v128.store(p, xor(xor(s5, r6), i8x16.swizzle(s6, R2)), 96);
  v128.store(p, xor(xor(s6, r7), i8x16.swizzle(s7, R2)), 112);
}

/** InvShiftRows and InvSubBytes: S^-1(y ^ 0x63) = L(S'(L(y))), the 0x63 being in the round key. */
function invShiftSub(p: usize): void {
  invLinear(p, true);
  subBytes(p);
  invLinear(p, false);
}

/** Decrypts the eight blocks at p in place (FIPS 197 §5.3, the straightforward inverse cipher). */
export function decrypt8(rk: usize, p: usize): void {
  bitslice(p);
  addRoundKey(p, rk + 14 * 128);
  invShiftSub(p);
  for (let r = 13; r >= 1; r--) {
    addInvMix(p, rk + <usize>r * 128);
    invShiftSub(p);
  }
  addRoundKey(p, rk);
  bitslice(p);
}

/** SubWord (FIPS 197 §5.2) through the bitsliced circuit, so that key expansion has no table either. */
function subWord(w: u32): u32 {
  memory.fill(ST, 0, 128);
  store<u32>(ST, w);
  bitslice(ST);
  subBytes(ST);
  bitslice(ST);
  return load<u32>(ST) ^ 0x63636363;
}

/**
 * AES-256 key expansion (FIPS 197 §5.2) of the 32 bytes at key into 15 bitsliced round keys at rk.
 * Words are kept little-endian in memory order, so RotWord is a rotation right by 8 and Rcon goes
 * into the low byte.
 */
export function expandKey(rk: usize, key: usize): void {
  for (let i: usize = 0; i < 8; i++) store<u32>(W + i * 4, load<u32>(key + i * 4));
  let rcon: u32 = 1;
  for (let i: usize = 8; i < 60; i++) {
    let temp = load<u32>(W + (i - 1) * 4);
    if ((i & 7) == 0) {
      temp = subWord(rotr<u32>(temp, 8)) ^ rcon;
      rcon <<= 1;
    } else if ((i & 7) == 4) {
      temp = subWord(temp);
    }
    store<u32>(W + i * 4, load<u32>(W + (i - 8) * 4) ^ temp);
  }
  const zero = i64x2.splat(0);
  for (let r: usize = 0; r < 15; r++) {
    const k = v128.load(W + r * 16);
    const dst = rk + r * 128;
    // Plane b: byte lanes 0xFF where bit b of the round-key byte is set (shift it to the sign bit).
    let p0 = i8x16.lt_s(i64x2.shl(k, 7), zero);
    let p1 = i8x16.lt_s(i64x2.shl(k, 6), zero);
    const p2 = i8x16.lt_s(i64x2.shl(k, 5), zero);
    const p3 = i8x16.lt_s(i64x2.shl(k, 4), zero);
    const p4 = i8x16.lt_s(i64x2.shl(k, 3), zero);
    let p5 = i8x16.lt_s(i64x2.shl(k, 2), zero);
    let p6 = i8x16.lt_s(i64x2.shl(k, 1), zero);
    const p7 = i8x16.lt_s(k, zero);
    if (r > 0) {
      // Fold SubBytes' constant 0x63 (bits 0, 1, 5, 6) into round keys 1..14.
      p0 = v128.not(p0);
      p1 = v128.not(p1);
      p5 = v128.not(p5);
      p6 = v128.not(p6);
    }
    v128.store(dst, p0, 0);
    v128.store(dst, p1, 16);
    v128.store(dst, p2, 32);
    v128.store(dst, p3, 48);
    v128.store(dst, p4, 64);
    v128.store(dst, p5, 80);
    v128.store(dst, p6, 96);
    v128.store(dst, p7, 112);
  }
  memory.fill(W, 0, 240);
  memory.fill(ST, 0, 128);
}
