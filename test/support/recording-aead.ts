// An Aead for tests that watch key-handle hygiene: Kura's WebAssembly AES-GCM underneath, with a
// record of every key handle it hands out (a copy of its key, for tests that check which key was used)
// and whether that handle was destroyed.
import type { Aead, AeadKey } from '../../main/crypto/aead.js';
import { wasmAead } from '../../main/crypto/wasm-aead.js';

export type RecordingAead = Aead & {
  /** One entry per importKey call, in order. */
  handles: { key: Buffer; destroyed: boolean }[];
  /** How many handles have not been destroyed yet. */
  live: () => number;
};

export function recordingAead(): RecordingAead {
  const handles: { key: Buffer; destroyed: boolean }[] = [];
  return {
    handles,
    live: () => handles.filter((h) => !h.destroyed).length,
    importKey(raw) {
      const inner = wasmAead.importKey(raw);
      const rec = { key: Buffer.from(raw), destroyed: false };
      handles.push(rec);
      const key: AeadKey = {
        seal: (iv, p, aad) => inner.seal(iv, p, aad),
        open: (iv, s, aad) => inner.open(iv, s, aad),
        destroy: () => {
          rec.destroyed = true;
          inner.destroy();
        },
      };
      return key;
    },
  };
}
