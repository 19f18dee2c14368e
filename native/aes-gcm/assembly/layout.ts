// Memory layout of the AES-256-GCM core: a fixed arena, no allocator.
//
//   0 ........ SCRATCH_BASE          AssemblyScript static data (the core declares none; heapBase()
//                                    lets the loader check that it really ends below SCRATCH_BASE)
//   SCRATCH_BASE .. +SCRATCH_SIZE    scratch owned by the core during one call: the 8-block working
//                                    state, one batch of keystream, GHASH partial sums, the key
//                                    schedule words. Every export wipes what it used before returning.
//   SLOT_BASE + i*SLOT_SIZE          key slot i (i = 0, 1, ...): what the core derives from a key
//                                    and keeps between calls. The loader decides how many slots
//                                    exist and grows the memory when it needs more.
//   after the last slot              the I/O area: the loader copies IV, AAD and data in, calls an
//                                    export with pointers into it, copies the result out and wipes
//                                    it. Nothing in it survives a call.
//
// A key slot (SLOT_SIZE bytes):
//   +0     RK: 15 bitsliced AES-256 round keys, 8 planes of 16 bytes each (1920 bytes). Plane b of
//          round key r has byte k = 0xFF when bit b of round-key byte k is set, so one XOR adds the
//          key to all 8 blocks of a batch. Round keys 1..14 are stored XOR 0x63 (see aes.ts).
//   +1920  GHASH table for H = AES_K(0^128): 8 x 16 vectors of 16 bytes (2048 bytes), see ghash.ts.
//   +3968  unused (slots are 4 KiB so that they stay aligned).

export const SCRATCH_BASE: usize = 4096;
export const SCRATCH_SIZE: usize = 4096;
export const SLOT_BASE: usize = 8192;
export const SLOT_SIZE: usize = 4096;

export const RK_OFFSET: usize = 0;
export const RK_BYTES: usize = 15 * 128;
export const HTAB_OFFSET: usize = RK_BYTES;
export const HTAB_BYTES: usize = 2048;

// Scratch sub-areas (offsets from SCRATCH_BASE are fixed; sizes in comments).
export const ST: usize = SCRATCH_BASE; // 128: eight blocks / eight bit planes being encrypted
export const KS: usize = SCRATCH_BASE + 128; // 128: one batch of keystream
export const GH: usize = SCRATCH_BASE + 256; // 256: GHASH partial products (one per output byte)
export const BLK: usize = SCRATCH_BASE + 512; // 16: a zero-padded final block
export const W: usize = SCRATCH_BASE + 768; // 240: AES-256 key schedule words
export const SCRATCH_USED: usize = 1024;

export function slotPtr(slot: u32): usize {
  return SLOT_BASE + <usize>slot * SLOT_SIZE;
}
