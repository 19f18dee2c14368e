// The loader and JavaScript side of Kura's constant-time WebAssembly AES-256 core
// (native/aes-gcm): AES-256-GCM (NIST SP 800-38D, any IV length >= 1 byte, 16-byte tags), and AES
// key wrap (RFC 3394) and key wrap with padding (RFC 5649). It takes the module's bytes, so the same
// code runs in Node, Electron and the browser; main/crypto/wasm-aead.ts loads the file in Node.
//
// Memory (see native/aes-gcm/assembly/layout.ts): the core's linear memory holds a scratch area,
// then key slots (one per live key: its bitsliced key schedule and GHASH table), then one I/O area.
// Every call copies its inputs into the I/O area, runs one export, copies the result out into a fresh
// array and wipes the I/O area, so no buffer is ever shared with a caller or between calls, and no
// plaintext stays in WebAssembly memory after a call. The calls are synchronous, so concurrent async
// callers cannot interleave inside one: the single I/O area is safe without locks.
// destroy() zeroizes the key's slot; a handle that is garbage-collected without destroy() has its
// slot zeroized by a FinalizationRegistry.
//
// No node: imports here (this file is loaded in Chromium by the browser test).

import { AEAD_KEY_BYTES, AEAD_TAG_BYTES, AeadAuthenticationError } from './aead.js';
import { KEY_WRAP_KEK_BYTES, KeyWrapIntegrityError, type KeyWrapOptions } from './key-wrap.js';

// The few WebAssembly JS API types used here, declared locally: Kura's TypeScript lib setting has no
// DOM types, and declaring the global namespace would clash with builds that have them.
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmGlobal {
  readonly value: unknown;
}
/** A WebAssembly.Instance. */
export interface WasmInstance {
  readonly exports: object;
}
/** A WebAssembly.Module. */
export type WasmModule = object;
/** Bytes of a .wasm file. */
export type WasmBytes = ArrayBuffer | ArrayBufferView;
interface WasmApi {
  Module: new (bytes: WasmBytes) => WasmModule;
  Instance: new (module: WasmModule, imports: object) => WasmInstance;
  instantiate(bytes: WasmBytes, imports: object): Promise<{ instance: WasmInstance }>;
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

interface CoreExports {
  memory: WasmMemory;
  LAYOUT_SCRATCH_BASE: WasmGlobal;
  LAYOUT_SLOT_BASE: WasmGlobal;
  LAYOUT_SLOT_SIZE: WasmGlobal;
  heapBase(): number;
  keyImport(slot: number, key: number): void;
  keyRelease(slot: number): void;
  gcmSeal(slot: number, iv: number, ivLen: number, aad: number, aadLen: number, src: number, len: number, dst: number): void;
  gcmOpen(slot: number, iv: number, ivLen: number, aad: number, aadLen: number, src: number, len: number, tag: number, dst: number): number;
  keyWrap(slot: number, src: number, len: number, dst: number): void;
  keyUnwrap(slot: number, src: number, len: number, dst: number): number;
  keyWrapPad(slot: number, src: number, len: number, dst: number): number;
  keyUnwrapPad(slot: number, src: number, len: number, dst: number): number;
}

const EXPORTS: (keyof CoreExports)[] = [
  'memory', 'LAYOUT_SCRATCH_BASE', 'LAYOUT_SLOT_BASE', 'LAYOUT_SLOT_SIZE', 'heapBase', 'keyImport', 'keyRelease',
  'gcmSeal', 'gcmOpen', 'keyWrap', 'keyUnwrap', 'keyWrapPad', 'keyUnwrapPad',
];

const PAGE = 65536;
const INITIAL_SLOTS = 16;
/** Largest I/O of one call (IV + AAD + data + tag, or a key-wrap input and output): 256 MiB. */
export const MAX_IO_BYTES = 256 * 1024 * 1024;
const EMPTY = new Uint8Array(0);

const align16 = (n: number): number => (n + 15) & ~15;

function bytes(name: string, value: unknown): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${name} must be a Uint8Array`);
  return value;
}

function aesKey(raw: unknown, what: string, size: number): Uint8Array {
  const key = bytes(what, raw);
  if (key.length !== size) throw new RangeError(`${what} must be ${size} bytes (AES-256), got ${key.length}`);
  return key;
}

function gcmIv(value: unknown): Uint8Array {
  const iv = bytes('iv', value);
  if (iv.length < 1) throw new RangeError('AES-GCM IV must be at least 1 byte (12 recommended), got 0');
  return iv;
}

/** Where one call's inputs and outputs sit in the I/O area. */
interface Io {
  base: number;
  end: number;
}

/**
 * One instance of the WebAssembly core and the bookkeeping of its memory: key slots and the I/O
 * area. Create it once per process (or page) and import keys from it.
 */
export class WasmAesCore {
  readonly #x: CoreExports;
  readonly #slotBase: number;
  readonly #slotSize: number;
  #capacity = INITIAL_SLOTS;
  #next = 0;
  readonly #free: number[] = [];
  #view: Uint8Array;
  readonly #finalizer: FinalizationRegistry<number> | undefined;

  constructor(instance: WasmInstance) {
    const x = instance.exports as unknown as CoreExports;
    for (const name of EXPORTS) {
      if (!(name in x)) throw new Error(`not Kura's AES-256 core: the WebAssembly module has no export "${name}"`);
    }
    this.#x = x;
    this.#slotBase = x.LAYOUT_SLOT_BASE.value as number;
    this.#slotSize = x.LAYOUT_SLOT_SIZE.value as number;
    if (x.heapBase() > (x.LAYOUT_SCRATCH_BASE.value as number)) {
      throw new Error('AES-256 core build error: static data overlaps the scratch area (see native/aes-gcm/assembly/layout.ts)');
    }
    this.#view = new Uint8Array(x.memory.buffer);
    this.#finalizer =
      typeof FinalizationRegistry === 'function' ? new FinalizationRegistry<number>((slot) => this.#releaseSlot(slot)) : undefined;
  }

  /** The current memory; memory.grow() detaches the old buffer, so views are refreshed here. */
  #mem(): Uint8Array {
    if (this.#view.buffer !== this.#x.memory.buffer) this.#view = new Uint8Array(this.#x.memory.buffer);
    return this.#view;
  }

  #ioBase(): number {
    return this.#slotBase + this.#capacity * this.#slotSize;
  }

  /** Makes sure memory reaches `end` bytes, growing it by whole pages. */
  #reserve(end: number): void {
    const have = this.#x.memory.buffer.byteLength;
    if (end <= have) return;
    try {
      this.#x.memory.grow(Math.ceil((end - have) / PAGE));
    } catch (cause) {
      throw new RangeError(`AES-256 core: cannot grow WebAssembly memory to ${end} bytes`, { cause });
    }
  }

  /** Lays out an I/O area of `size` bytes after the slots. */
  #io(size: number): Io {
    if (size > MAX_IO_BYTES) throw new RangeError(`AES-256 core: input too large (${size} bytes of I/O, at most ${MAX_IO_BYTES})`);
    const base = this.#ioBase();
    this.#reserve(base + size);
    return { base, end: base + size };
  }

  /** Wipes the I/O area of a finished call (plaintext, keys, keystream-derived output). */
  #wipe(io: Io): void {
    this.#mem().fill(0, io.base, io.end);
  }

  #allocSlot(): number {
    const reused = this.#free.pop();
    if (reused !== undefined) return reused;
    if (this.#next === this.#capacity) {
      // More slots: the I/O area (empty between calls) moves up.
      this.#capacity *= 2;
      this.#reserve(this.#ioBase());
    }
    return this.#next++;
  }

  #releaseSlot(slot: number): void {
    this.#x.keyRelease(slot);
    this.#free.push(slot);
  }

  /** Expands a 32-byte key into a fresh slot. */
  #importKey(raw: Uint8Array): number {
    const slot = this.#allocSlot();
    const io = this.#io(32);
    try {
      this.#mem().set(raw, io.base);
      this.#x.keyImport(slot, io.base);
    } finally {
      this.#wipe(io);
    }
    return slot;
  }

  /** Imports an AES-256-GCM key; the handle keeps the key schedule in WebAssembly memory until destroy(). */
  importGcmKey(raw: Uint8Array): WasmAesGcmKey {
    const key = aesKey(raw, 'AES-256-GCM key', AEAD_KEY_BYTES);
    const handle = new WasmAesGcmKey(this, this.#importKey(key));
    this.#finalizer?.register(handle, handle.slot, handle);
    return handle;
  }

  /** @internal Called by WasmAesGcmKey.destroy(). */
  destroyKey(handle: WasmAesGcmKey, slot: number): void {
    this.#finalizer?.unregister(handle);
    this.#releaseSlot(slot);
  }

  /** @internal GCM-AE: returns ciphertext || tag. */
  gcmSeal(slot: number, iv: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
    const ivAt = 0;
    const aadAt = align16(iv.length);
    const dataAt = align16(aadAt + aad.length);
    const io = this.#io(dataAt + plaintext.length + AEAD_TAG_BYTES);
    try {
      const m = this.#mem();
      m.set(iv, io.base + ivAt);
      m.set(aad, io.base + aadAt);
      m.set(plaintext, io.base + dataAt);
      const data = io.base + dataAt;
      this.#x.gcmSeal(slot, io.base + ivAt, iv.length, io.base + aadAt, aad.length, data, plaintext.length, data);
      return this.#mem().slice(data, data + plaintext.length + AEAD_TAG_BYTES);
    } finally {
      this.#wipe(io);
    }
  }

  /** @internal GCM-AD: returns the plaintext, or undefined when the tag does not verify. */
  gcmOpen(slot: number, iv: Uint8Array, ciphertext: Uint8Array, tag: Uint8Array, aad: Uint8Array): Uint8Array | undefined {
    const aadAt = align16(iv.length);
    const dataAt = align16(aadAt + aad.length);
    const tagAt = dataAt + ciphertext.length;
    const io = this.#io(tagAt + AEAD_TAG_BYTES);
    try {
      const m = this.#mem();
      m.set(iv, io.base);
      m.set(aad, io.base + aadAt);
      m.set(ciphertext, io.base + dataAt);
      m.set(tag, io.base + tagAt);
      const data = io.base + dataAt;
      const ok = this.#x.gcmOpen(slot, io.base, iv.length, io.base + aadAt, aad.length, data, ciphertext.length, io.base + tagAt, data);
      return ok === 1 ? this.#mem().slice(data, data + ciphertext.length) : undefined;
    } finally {
      this.#wipe(io);
    }
  }

  /** Wraps keyData under a 32-byte KEK (RFC 3394 without padding, RFC 5649 with). */
  wrapKey(kek: Uint8Array, keyData: Uint8Array, options: KeyWrapOptions): Uint8Array {
    const k = aesKey(kek, 'key-encryption key', KEY_WRAP_KEK_BYTES);
    const data = bytes('keyData', keyData);
    if (options.padding) {
      if (data.length < 1) throw new RangeError('AES-KWP (RFC 5649) needs at least 1 byte of key data');
      if (data.length > 0xffffffff) throw new RangeError('AES-KWP (RFC 5649) wraps at most 2^32 - 1 bytes');
    } else if (data.length < 16 || data.length % 8 !== 0) {
      throw new RangeError(`AES-KW (RFC 3394) needs key data of at least 16 bytes in a multiple of 8, got ${data.length}`);
    }
    const slot = this.#importKey(k);
    const dstAt = align16(data.length + 8);
    const io = this.#io(dstAt + align16(data.length + 8) + 16);
    try {
      this.#mem().set(data, io.base);
      const dst = io.base + dstAt;
      let outLen = data.length + 8;
      if (options.padding) outLen = this.#x.keyWrapPad(slot, io.base, data.length, dst);
      else this.#x.keyWrap(slot, io.base, data.length, dst);
      return this.#mem().slice(dst, dst + outLen);
    } finally {
      this.#wipe(io);
      this.#releaseSlot(slot);
    }
  }

  /** Unwraps; throws KeyWrapIntegrityError when the integrity check fails. */
  unwrapKey(kek: Uint8Array, wrapped: Uint8Array, options: KeyWrapOptions): Uint8Array {
    const k = aesKey(kek, 'key-encryption key', KEY_WRAP_KEK_BYTES);
    const input = bytes('wrapped', wrapped);
    // A length that no wrapping can produce is an integrity failure, like any other damage.
    const minimum = options.padding ? 16 : 24;
    if (input.length < minimum || input.length % 8 !== 0) throw new KeyWrapIntegrityError();
    const slot = this.#importKey(k);
    const dstAt = align16(input.length);
    const io = this.#io(dstAt + align16(input.length));
    try {
      this.#mem().set(input, io.base);
      const dst = io.base + dstAt;
      let outLen: number;
      if (options.padding) outLen = this.#x.keyUnwrapPad(slot, io.base, input.length, dst);
      else outLen = this.#x.keyUnwrap(slot, io.base, input.length, dst) === 1 ? input.length - 8 : -1;
      if (outLen < 0) throw new KeyWrapIntegrityError();
      return this.#mem().slice(dst, dst + outLen);
    } finally {
      this.#wipe(io);
      this.#releaseSlot(slot);
    }
  }

  /** Where the scratch area, the slots and (for now) the I/O area are in the linear memory. */
  get layout(): { scratchBase: number; slotBase: number; slotSize: number; slotCapacity: number; ioBase: number } {
    return {
      scratchBase: this.#x.LAYOUT_SCRATCH_BASE.value as number,
      slotBase: this.#slotBase,
      slotSize: this.#slotSize,
      slotCapacity: this.#capacity,
      ioBase: this.#ioBase(),
    };
  }

  /** Test hook: a copy of the whole linear memory, to check that no plaintext is left behind. Never use it elsewhere. */
  memoryForTests(): Uint8Array {
    return this.#mem().slice();
  }

  /** Test hook: a copy of a slot's bytes, to check that destroy() zeroized it. Never use it elsewhere. */
  slotBytesForTests(slot: number): Uint8Array {
    const at = this.#slotBase + slot * this.#slotSize;
    return this.#mem().slice(at, at + this.#slotSize);
  }
}

/** An AES-256-GCM key held in the core (any IV length >= 1 byte; 12 is recommended). */
export class WasmAesGcmKey {
  #core: WasmAesCore | undefined;
  /** The key slot number (for tests that inspect the memory). */
  readonly slot: number;

  constructor(core: WasmAesCore, slot: number) {
    this.#core = core;
    this.slot = slot;
  }

  #live(): WasmAesCore {
    if (!this.#core) throw new Error('AES-GCM key used after destroy()');
    return this.#core;
  }

  /** Returns ciphertext || tag (16 bytes). */
  seal(iv: Uint8Array, plaintext: Uint8Array, aad: Uint8Array = EMPTY): Uint8Array {
    const core = this.#live();
    return core.gcmSeal(this.slot, gcmIv(iv), bytes('plaintext', plaintext), bytes('aad', aad));
  }

  /** Takes ciphertext || tag; throws AeadAuthenticationError, with no plaintext produced, when the tag does not verify. */
  open(iv: Uint8Array, sealed: Uint8Array, aad: Uint8Array = EMPTY): Uint8Array {
    const core = this.#live();
    const input = bytes('sealed', sealed);
    const checkedIv = gcmIv(iv);
    if (input.length < AEAD_TAG_BYTES) throw new AeadAuthenticationError();
    const cut = input.length - AEAD_TAG_BYTES;
    const plaintext = core.gcmOpen(this.slot, checkedIv, input.subarray(0, cut), input.subarray(cut), bytes('aad', aad));
    if (!plaintext) throw new AeadAuthenticationError();
    return plaintext;
  }

  /** Like seal(), with the tag returned separately. */
  encrypt(iv: Uint8Array, plaintext: Uint8Array, aad: Uint8Array = EMPTY): { ciphertext: Uint8Array; tag: Uint8Array } {
    const sealed = this.seal(iv, plaintext, aad);
    return { ciphertext: sealed.subarray(0, sealed.length - AEAD_TAG_BYTES), tag: sealed.subarray(sealed.length - AEAD_TAG_BYTES) };
  }

  /** Like open(), with a detached tag, which must be 16 bytes (shorter GCM tags are not supported). */
  decrypt(iv: Uint8Array, ciphertext: Uint8Array, tag: Uint8Array, aad: Uint8Array = EMPTY): Uint8Array {
    const core = this.#live();
    const t = bytes('tag', tag);
    if (t.length !== AEAD_TAG_BYTES) throw new RangeError(`AES-GCM tag must be ${AEAD_TAG_BYTES} bytes, got ${t.length}`);
    const plaintext = core.gcmOpen(this.slot, gcmIv(iv), bytes('ciphertext', ciphertext), t, bytes('aad', aad));
    if (!plaintext) throw new AeadAuthenticationError();
    return plaintext;
  }

  /** Zeroizes the key's slot; the handle is unusable afterwards. Idempotent. */
  destroy(): void {
    const core = this.#core;
    if (!core) return;
    this.#core = undefined;
    core.destroyKey(this, this.slot);
  }
}

/** Instantiates the core synchronously (Node, Electron, workers). */
export function createWasmAesCore(source: WasmModule | WasmBytes): WasmAesCore {
  const module = source instanceof wasm.Module ? source : new wasm.Module(source as WasmBytes);
  return new WasmAesCore(new wasm.Instance(module, {}));
}

/** Instantiates the core asynchronously (a browser's main thread refuses to compile large modules synchronously). */
export async function instantiateWasmAesCore(source: WasmBytes): Promise<WasmAesCore> {
  const { instance } = await wasm.instantiate(source, {});
  return new WasmAesCore(instance);
}
