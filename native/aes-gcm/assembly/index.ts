// Kura's constant-time AES-256 core for WebAssembly (AssemblyScript, SIMD): AES-256-GCM
// (NIST SP 800-38D), AES key wrap (RFC 3394) and key wrap with padding (RFC 5649), on a bitsliced
// AES-256 (FIPS 197).
//
// How constant time is achieved (details in each file):
//   - aes.ts: AES is bitsliced over v128 bit planes, eight blocks at a time; SubBytes is a boolean
//     circuit (AND/XOR), ShiftRows/MixColumns are fixed shuffles and XORs. No S-box or T-table, so no
//     memory access depends on a secret; the key schedule uses the same circuit.
//   - ghash.ts: multiplication by H is a linear map applied with masks derived from the data bits;
//     every row of the H table is read for every block, in the same order.
//   - gcm.ts, kw.ts: branches and loop bounds depend only on lengths, pointers and round counters;
//     tag and integrity checks fold all differences into one flag before the single branch on the
//     result. GCM decryption verifies the tag before it writes any plaintext.
//   - Secrets are never used as addresses, shift amounts or loop bounds, and there is no integer
//     division or multiplication on secret data.
//
// Interface: the exports below take a key slot number and pointers into the I/O area (layout.ts).
// The loader (main/crypto/wasm-aead-core.ts) validates every length before calling; the checks
// here only guard the core's own invariants.

import { expandKey, encrypt8 } from './aes';
import { ghashInit } from './ghash';
import { open, seal } from './gcm';
import { kwpUnwrap, kwpWrap, kwUnwrap, kwWrap } from './kw';
import { HTAB_OFFSET, RK_OFFSET, SCRATCH_BASE, SCRATCH_USED, SLOT_BASE, SLOT_SIZE, ST, slotPtr } from './layout';

export const LAYOUT_SCRATCH_BASE: u32 = <u32>SCRATCH_BASE;
export const LAYOUT_SLOT_BASE: u32 = <u32>SLOT_BASE;
export const LAYOUT_SLOT_SIZE: u32 = <u32>SLOT_SIZE;

/** End of AssemblyScript's static data; the loader checks it lies below the scratch area. */
export function heapBase(): u32 {
  return <u32>__heap_base;
}

/**
 * Imports the 32-byte AES-256 key at key into slot: the bitsliced key schedule and the GHASH table
 * for H = AES_K(0^128). The caller wipes its copy of the key.
 */
export function keyImport(slot: u32, key: usize): void {
  const s = slotPtr(slot);
  expandKey(s + RK_OFFSET, key);
  memory.fill(ST, 0, 128);
  encrypt8(s + RK_OFFSET, ST);
  ghashInit(s + HTAB_OFFSET, v128.load(ST));
  memory.fill(ST, 0, 128);
}

/** Zeroizes slot: after this nothing derived from the key remains in the core's memory. */
export function keyRelease(slot: u32): void {
  memory.fill(slotPtr(slot), 0, SLOT_SIZE);
  memory.fill(SCRATCH_BASE, 0, SCRATCH_USED);
}

export function gcmSeal(
  slot: u32, iv: usize, ivLen: usize, aad: usize, aadLen: usize, src: usize, len: usize, dst: usize,
): void {
  if (ivLen == 0) unreachable();
  seal(slotPtr(slot), iv, ivLen, aad, aadLen, src, len, dst);
}

export function gcmOpen(
  slot: u32, iv: usize, ivLen: usize, aad: usize, aadLen: usize, src: usize, len: usize, tag: usize, dst: usize,
): i32 {
  if (ivLen == 0) unreachable();
  return open(slotPtr(slot), iv, ivLen, aad, aadLen, src, len, tag, dst);
}

export function keyWrap(slot: u32, src: usize, len: usize, dst: usize): void {
  kwWrap(slotPtr(slot), src, len, dst);
}

export function keyUnwrap(slot: u32, src: usize, len: usize, dst: usize): i32 {
  return kwUnwrap(slotPtr(slot), src, len, dst);
}

export function keyWrapPad(slot: u32, src: usize, len: usize, dst: usize): u32 {
  return <u32>kwpWrap(slotPtr(slot), src, len, dst);
}

export function keyUnwrapPad(slot: u32, src: usize, len: usize, dst: usize): i32 {
  return kwpUnwrap(slotPtr(slot), src, len, dst);
}
