// The messages between Kura's process and a PKCS#11 module's host process (./host.ts): over the IPC
// channel of child_process.fork with `serialization: 'advanced'`, where Buffers arrive as Buffers, or over
// an Electron utility process's port, whose structured clone turns them into plain Uint8Arrays: each side
// turns those back into Buffers (withBuffers), the type pkcs11js declares and Kura's code reads (a
// handle's hex, an attribute's readUInt32LE). A request names an
// entry of the table of calls (./calls.ts); its answer carries the same id.
import type { CallName } from './calls.js';
import type { CkrMeaning } from './errors.js';

/** The host's first message: whether it could load the library. */
export type HostStarted = { started: true; pid: number } | { started: false };

export interface HostRequest {
  id: number;
  name: CallName;
  args: unknown[];
}

/** A failed call, as Pkcs11CallError's fields; `why` only for a failure that was not the module's (a bad argument). */
export interface HostFailure {
  fn: string;
  rv: number | undefined;
  meaning: CkrMeaning;
  why?: string;
}

export type HostAnswer = { id: number; value: unknown } | { id: number; error: HostFailure };

/** Where an encryption's or a decryption's data is among its arguments (session, mechanism, key, data, outBytes). */
export const DATA_ARGUMENT = 3;

/** `value` with every Uint8Array that is not a Buffer turned into a Buffer over the same memory (arrays and plain objects walked). */
export function withBuffers(value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (Array.isArray(value)) return value.map(withBuffers);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = withBuffers(v);
    return out;
  }
  return value;
}
