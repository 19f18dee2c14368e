// The messages between Kura's process and a PKCS#11 module's host process (./host.ts), over the IPC
// channel of child_process.fork with `serialization: 'advanced'` (structured clone: Buffers arrive as
// Buffers). A request names an entry of the table of calls (./calls.ts); its answer carries the same id.
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
