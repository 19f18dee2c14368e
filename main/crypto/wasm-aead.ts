// AES-256-GCM and AES key wrap on Kura's constant-time WebAssembly core, behind the Aead and KeyWrap
// ports. The core (native/aes-gcm, built by `npm run build:wasm`) is compiled and instantiated once,
// synchronously, when this module is imported; wasm-aead-core.ts holds everything that is not
// Node-specific (the same code runs in the browser).
//
// Calls are synchronous and copy in, compute and copy out within one turn of the event loop, so any
// number of concurrent async callers can share the keys and the core safely.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageRoot } from '../common/package-root.js';
import type { Aead, AeadKey } from './aead.js';
import type { KeyWrap, KeyWrapOptions } from './key-wrap.js';
import { createWasmAesCore, type WasmAesCore, type WasmAesGcmKey } from './wasm-aead-core.js';

export const WASM_CORE_PATH = path.join(
  packageRoot(path.dirname(fileURLToPath(import.meta.url))),
  'native',
  'aes-gcm',
  'build',
  'aes_gcm.wasm',
);

function loadCore(): WasmAesCore {
  if (!existsSync(WASM_CORE_PATH)) {
    throw new Error(`Kura's AES-256-GCM WebAssembly core is not built (${WASM_CORE_PATH} is missing): run \`npm run build:wasm\``);
  }
  return createWasmAesCore(readFileSync(WASM_CORE_PATH));
}

/** The process's one instance of the core. */
export const wasmAesCore: WasmAesCore = loadCore();

const asBuffer = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

class WasmAeadKey implements AeadKey {
  constructor(readonly key: WasmAesGcmKey) {}

  seal(iv: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Buffer {
    return asBuffer(this.key.seal(iv, plaintext, aad));
  }

  open(iv: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Buffer {
    return asBuffer(this.key.open(iv, sealed, aad));
  }

  destroy(): void {
    this.key.destroy();
  }
}

/** AES-256-GCM on the WebAssembly core. IVs of any length >= 1 byte are accepted; Kura uses 12. */
export const wasmAead: Aead = { importKey: (raw) => new WasmAeadKey(wasmAesCore.importGcmKey(raw)) };

/** AES-KW / AES-KWP on the WebAssembly core. */
export const wasmKeyWrap: KeyWrap = {
  wrapKey: (kek: Uint8Array, keyData: Uint8Array, options: KeyWrapOptions) => asBuffer(wasmAesCore.wrapKey(kek, keyData, options)),
  unwrapKey: (kek: Uint8Array, wrapped: Uint8Array, options: KeyWrapOptions) => asBuffer(wasmAesCore.unwrapKey(kek, wrapped, options)),
};

/** Test hook: the bytes of the slot behind a key from wasmAead (zero after destroy()). */
export function slotBytesForTests(key: AeadKey): Uint8Array {
  if (!(key instanceof WasmAeadKey)) throw new TypeError('not a key from wasmAead');
  return wasmAesCore.slotBytesForTests(key.key.slot);
}
