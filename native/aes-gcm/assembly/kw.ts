// AES key wrap: KW (RFC 3394 §2.2, NIST SP 800-38F KW) and KW with padding (RFC 5649, SP 800-38F
// KWP), on the same bitsliced AES-256 as GCM. Each wrapping step is one AES block that depends on
// the previous one, so it runs as a batch of eight with one block in use; key wrap handles keys, not
// bulk data, and stays constant time that way.
//
// Unwrapping checks integrity without data-dependent branches: the 64-bit check value, the RFC 5649
// length indicator bounds and the zero padding are folded into one flag with masks, and only that
// flag decides whether anything is returned. On failure the work area is wiped before returning.

import { decrypt8, encrypt8 } from './aes';
import { RK_OFFSET, ST } from './layout';

const KW_IV: u64 = 0xa6a6a6a6a6a6a6a6; // RFC 3394 §2.2.3.1 (the same in either byte order)
const KWP_MAGIC: u32 = 0xa65959a6; // RFC 5649 §3, big-endian

/** 1 if x != 0, else 0, without a branch. */
function nonZero64(x: u64): u64 {
  return (x | ((<u64>0) - x)) >> 63;
}

/** 1 if a < b, else 0 (a, b < 2^32), without a branch. */
function less(a: u64, b: u64): u64 {
  return (a - b) >> 63;
}

/**
 * W (RFC 3394 §2.2.1, index-based form): buf holds A (8 bytes) then R[1..n]; wraps in place.
 * A and the R[i] stay as memory-order bytes; t is XORed into A as a big-endian 64-bit integer.
 */
function wrapInPlace(rk: usize, buf: usize, n: u32): void {
  let a = load<u64>(buf);
  for (let j: u32 = 0; j < 6; j++) {
    for (let i: u32 = 1; i <= n; i++) {
      const r = buf + (<usize>i << 3);
      store<u64>(ST, a);
      store<u64>(ST + 8, load<u64>(r));
      encrypt8(rk, ST);
      a = load<u64>(ST) ^ bswap<u64>(<u64>n * j + i);
      store<u64>(r, load<u64>(ST + 8));
    }
  }
  store<u64>(buf, a);
  memory.fill(ST, 0, 128);
}

/** W^-1 (RFC 3394 §2.2.2, index-based form), in place; leaves the recovered A in buf[0..8). */
function unwrapInPlace(rk: usize, buf: usize, n: u32): void {
  let a = load<u64>(buf);
  for (let j: i32 = 5; j >= 0; j--) {
    for (let i: u32 = n; i >= 1; i--) {
      const r = buf + (<usize>i << 3);
      store<u64>(ST, a ^ bswap<u64>(<u64>n * <u64>j + i));
      store<u64>(ST + 8, load<u64>(r));
      decrypt8(rk, ST);
      a = load<u64>(ST);
      store<u64>(r, load<u64>(ST + 8));
    }
  }
  store<u64>(buf, a);
  memory.fill(ST, 0, 128);
}

/** KW-AE: wraps len bytes at src (len a multiple of 8, at least 16) into len + 8 bytes at dst. */
export function kwWrap(slot: usize, src: usize, len: usize, dst: usize): void {
  if (len < 16 || (len & 7) != 0) unreachable();
  store<u64>(dst, KW_IV);
  memory.copy(dst + 8, src, len);
  wrapInPlace(slot + RK_OFFSET, dst, <u32>(len >> 3));
}

/**
 * KW-AD: unwraps len bytes at src into len - 8 bytes at dst (dst must not overlap src and needs len
 * bytes of room). Returns 1 when the integrity check passes, 0 otherwise (dst wiped).
 */
export function kwUnwrap(slot: usize, src: usize, len: usize, dst: usize): i32 {
  if (len < 24 || (len & 7) != 0) return 0;
  memory.copy(dst, src, len);
  unwrapInPlace(slot + RK_OFFSET, dst, <u32>((len >> 3) - 1));
  const bad = nonZero64(load<u64>(dst) ^ KW_IV);
  if (bad != 0) {
    memory.fill(dst, 0, len);
    return 0;
  }
  memory.copy(dst, dst + 8, len - 8);
  store<u64>(dst + len - 8, 0);
  return 1;
}

/** KWP-AE: wraps len bytes (1 <= len < 2^32) at src into the returned number of bytes at dst. */
export function kwpWrap(slot: usize, src: usize, len: usize, dst: usize): usize {
  if (len == 0) unreachable();
  const padded = (len + 7) & ~(<usize>7);
  store<u32>(dst, bswap<u32>(KWP_MAGIC));
  store<u32>(dst + 4, bswap<u32>(<u32>len));
  store<u64>(dst + padded, 0); // zero padding (the last 8-byte block, before the copy fills it)
  memory.copy(dst + 8, src, len);
  const rk = slot + RK_OFFSET;
  if (padded == 8) {
    // RFC 5649 §4.1: a single block is encrypted with AES in ECB mode.
    memory.copy(ST, dst, 16);
    encrypt8(rk, ST);
    memory.copy(dst, ST, 16);
    memory.fill(ST, 0, 128);
  } else {
    wrapInPlace(rk, dst, <u32>(padded >> 3));
  }
  return padded + 8;
}

/**
 * KWP-AD: unwraps len bytes at src into dst (no overlap, len bytes of room). Returns the key length
 * (>= 1) when the check value, length indicator and padding are all valid, or -1 (dst wiped).
 */
export function kwpUnwrap(slot: usize, src: usize, len: usize, dst: usize): i32 {
  if (len < 16 || (len & 7) != 0) return -1;
  const n = <u32>((len >> 3) - 1);
  const rk = slot + RK_OFFSET;
  memory.copy(dst, src, len);
  if (n == 1) {
    memory.copy(ST, dst, 16);
    decrypt8(rk, ST);
    memory.copy(dst, ST, 16);
    memory.fill(ST, 0, 128);
  } else {
    unwrapInPlace(rk, dst, n);
  }
  const magic = <u64>bswap<u32>(load<u32>(dst));
  const mli = <u64>bswap<u32>(load<u32>(dst + 4));
  const max = <u64>n * 8;
  // Valid iff magic matches and 8(n-1) < MLI <= 8n and every byte from MLI to 8n is zero.
  let bad = nonZero64(magic ^ <u64>KWP_MAGIC);
  bad |= less(mli, max - 7); // MLI <= 8(n-1)
  bad |= less(max, mli); // MLI > 8n
  let pad: u64 = 0;
  for (let k: u64 = 0; k < 8; k++) {
    const pos = max - 8 + k;
    const inPadding = (<u64>0) - (1 - less(pos, mli)); // all ones when pos >= MLI
    pad |= <u64>load<u8>(dst + 8 + <usize>pos) & inPadding;
  }
  bad |= nonZero64(pad);
  if (bad != 0) {
    memory.fill(dst, 0, len);
    return -1;
  }
  memory.copy(dst, dst + 8, <usize>mli);
  memory.fill(dst + <usize>mli, 0, len - <usize>mli);
  return <i32>mli;
}
