// The PKCS#11 calls Kura makes, as ONE table over pkcs11js. The same entries run in two places
// (./cryptoki.ts): inline in Kura's process, for the software tokens the vendor table knows, and in a
// module's host process (./host.ts) for every other module. Each entry takes and returns only values
// that survive a structured clone (numbers, strings, booleans, Buffers, arrays and plain objects of
// them), and fails only with Pkcs11CallError, naming the PKCS#11 function that failed.
//
// The calls that do a device's work (generate, derive, encrypt, decrypt) run on the binding's thread pool
// where the binding says so (`offThread`: in a host, so that calls on other sessions go on while one
// waits on the device); every other call, and all of them inline, run synchronously.
//
// An entry is one round trip to a host, so the steps that always go together are one entry: an
// operation's *Init and its single-part call, a find's Init, FindObjects and Final, a token's mechanism
// list and the flags of one mechanism in it.
//
// What the module hands back is copied into buffers of this table's own: pkcs11js returns views of the
// buffers it was given, and a decryption's output is zeroed when the call fails.
import pkcs11js from 'pkcs11js';
import type { Handle, Mechanism, PKCS11, Template } from 'pkcs11js';
import { callError, ckrOf } from './errors.js';

const CKR_CANT_LOCK = 0x0a;

/** What C_GetInfo says of a module, trimmed. */
export interface ModuleDescription {
  manufacturerId: string;
  libraryDescription: string;
  libraryVersion: string;
  cryptokiVersion: string;
}

/** What C_GetTokenInfo says of a token, trimmed; `flags` as the module reports them. */
export interface TokenInfoFields {
  label: string;
  manufacturerId: string;
  model: string;
  serialNumber: string;
  flags: number;
}

/**
 * pkcs11js passes a NULL pointer for a zero-length Buffer, which SoftHSM refuses (CKR_ARGUMENTS_BAD,
 * leaving the operation active) and which in an output position means "tell me the length". A
 * zero-length view of a non-empty buffer passes a valid pointer with length 0, which both vendors take.
 */
function pointerSafe(bytes: Uint8Array): Buffer {
  if (bytes.length === 0) return Buffer.alloc(16).subarray(0, 0);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function attempt<T>(fn: string, call: () => T): T {
  try {
    return call();
  } catch (e) {
    throw callError(fn, e);
  }
}

/** The last step of an operation: on the binding's thread pool, or here and now. */
function finish<T>(fn: string, offThread: boolean, later: () => Promise<T>, now: () => T): T | Promise<T> {
  if (!offThread) return attempt(fn, now);
  return later().catch((e: unknown) => {
    throw callError(fn, e);
  });
}

/** A module's pkcs11js binding, and whether its device work runs on the thread pool (in a host). */
export interface Binding {
  api: PKCS11;
  offThread: boolean;
}

/** The first argument of every entry is the binding; the rest cross to a host. */
export const CALLS = {
  /**
   * C_Initialize with OS locking; NSS softokn's database goes in `libraryParameters` (already padded for
   * pkcs11js). A module that cannot use the operating system's locks answers CKR_CANT_LOCK (PKCS #11
   * v2.40 §5.4): it is initialised again without CKF_OS_LOCKING_OK, which promises it one call at a
   * time, and the binding runs every call synchronously from then on (a host's one thread), never on
   * the thread pool.
   */
  initialize(binding: Binding, libraryParameters: string | null): void {
    const { api } = binding;
    const init = (flags: number) => api.C_Initialize(libraryParameters === null ? { flags } : { flags, libraryParameters });
    try {
      init(pkcs11js.CKF_OS_LOCKING_OK);
      return;
    } catch (e) {
      if (ckrOf(e) !== CKR_CANT_LOCK) throw callError('C_Initialize', e);
    }
    attempt('C_Initialize', () => init(0));
    binding.offThread = false;
  },

  /**
   * C_Finalize; whether it worked. A module whose token vanished may fail to finalize, which changes
   * nothing for Kura: it stays initialised, and its next C_Initialize says so (./module.ts).
   */
  finalize({ api }: Binding): boolean {
    try {
      api.C_Finalize();
      return true;
    } catch {
      return false;
    }
  },

  describeModule({ api }: Binding): ModuleDescription {
    const info = attempt('C_GetInfo', () => api.C_GetInfo());
    return {
      manufacturerId: info.manufacturerID.trim(),
      libraryDescription: info.libraryDescription.trim(),
      libraryVersion: `${info.libraryVersion.major}.${info.libraryVersion.minor}`,
      cryptokiVersion: `${info.cryptokiVersion.major}.${info.cryptokiVersion.minor}`,
    };
  },

  /** The slots that hold a token. */
  slots({ api }: Binding): Handle[] {
    return attempt('C_GetSlotList', () => api.C_GetSlotList(true));
  },

  tokenInfo({ api }: Binding, slot: Handle): TokenInfoFields {
    const info = attempt('C_GetTokenInfo', () => api.C_GetTokenInfo(slot));
    return { label: info.label.trim(), manufacturerId: info.manufacturerID.trim(), model: info.model.trim(), serialNumber: info.serialNumber.trim(), flags: info.flags };
  },

  /** The flags of a mechanism on a slot's token; null when the token does not list it. */
  mechanismFlags({ api }: Binding, slot: Handle, mechanism: number): number | null {
    const listed = attempt('C_GetMechanismList', () => api.C_GetMechanismList(slot));
    if (!listed.includes(mechanism)) return null;
    return attempt('C_GetMechanismInfo', () => api.C_GetMechanismInfo(slot, mechanism)).flags;
  },

  /**
   * A session: read-write, or read-only for work that makes, changes and destroys no object (a
   * write-protected token, CKF_WRITE_PROTECTED, refuses read-write sessions with
   * CKR_TOKEN_WRITE_PROTECTED; the user logs in to a read-only session as well).
   */
  openSession({ api }: Binding, slot: Handle, readOnly: boolean): Handle {
    const flags = readOnly ? pkcs11js.CKF_SERIAL_SESSION : pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION;
    return attempt('C_OpenSession', () => api.C_OpenSession(slot, flags));
  },

  /** Closes a session; one the module no longer knows (its token gone) counts as closed. */
  closeSession({ api }: Binding, session: Handle): void {
    try {
      api.C_CloseSession(session);
    } catch {
      // Already closed by the module (token removed, module finalized): nothing left to release.
    }
  },

  /**
   * Logs the user in. pkcs11js takes the PIN only as a string, which cannot be wiped; the binding copies
   * it into a native buffer it frees without wiping.
   */
  login({ api }: Binding, session: Handle, pin: string): void {
    attempt('C_Login', () => api.C_Login(session, pkcs11js.CKU_USER, pin));
  },

  logout({ api }: Binding, session: Handle): void {
    try {
      api.C_Logout(session);
    } catch {
      // Not logged in any more (token gone, sessions closed): the state asked for holds.
    }
  },

  /**
   * Whether a session is logged in as the user (C_GetSessionInfo's state: CKS_RO_USER_FUNCTIONS 1 or
   * CKS_RW_USER_FUNCTIONS 3, PKCS#11 v2.40 §5.6; pkcs11js exports no names for them).
   */
  userLoggedIn({ api }: Binding, session: Handle): boolean {
    const { state } = attempt('C_GetSessionInfo', () => api.C_GetSessionInfo(session));
    return state === 1 || state === 3;
  },

  /**
   * Up to `max` objects matching a template (C_FindObjectsInit, C_FindObjects, C_FindObjectsFinal).
   * C_FindObjectsFinal is called whatever C_FindObjects answered, and its own failure is the call's: the
   * search may still be active in the session, where the next operation would answer
   * CKR_OPERATION_ACTIVE and hide what the module said; failing, the session is closed by its pool.
   */
  findObjects({ api }: Binding, session: Handle, template: Template, max: number): Handle[] {
    attempt('C_FindObjectsInit', () => api.C_FindObjectsInit(session, template));
    let handles: Handle[];
    try {
      handles = attempt('C_FindObjects', () => api.C_FindObjects(session, max));
    } catch (e) {
      try {
        api.C_FindObjectsFinal(session);
      } catch {
        // The find failed already, and that is the error to report.
      }
      throw e;
    }
    attempt('C_FindObjectsFinal', () => api.C_FindObjectsFinal(session));
    return handles;
  },

  /** The values of attributes of an object, by type. */
  attributes({ api }: Binding, session: Handle, object: Handle, types: number[]): { type: number; value: Buffer }[] {
    const values = attempt('C_GetAttributeValue', () => api.C_GetAttributeValue(session, object, types.map((type) => ({ type }))));
    return values.map((a) => ({ type: a.type, value: Buffer.from(a.value) }));
  },

  generateRandom({ api }: Binding, session: Handle, bytes: number): Buffer {
    return Buffer.from(attempt('C_GenerateRandom', () => api.C_GenerateRandom(session, Buffer.alloc(bytes))));
  },

  destroyObject({ api }: Binding, session: Handle, object: Handle): void {
    attempt('C_DestroyObject', () => api.C_DestroyObject(session, object));
  },

  generateKey({ api, offThread }: Binding, session: Handle, mechanism: Mechanism, template: Template): Handle | Promise<Handle> {
    return finish(
      'C_GenerateKey',
      offThread,
      () => api.C_GenerateKeyAsync(session, mechanism, template),
      () => api.C_GenerateKey(session, mechanism, template),
    );
  },

  deriveKey({ api, offThread }: Binding, session: Handle, mechanism: Mechanism, base: Handle, template: Template): Handle | Promise<Handle> {
    return finish(
      'C_DeriveKey',
      offThread,
      () => api.C_DeriveKeyAsync(session, mechanism, base, template),
      () => api.C_DeriveKey(session, mechanism, base, template),
    );
  },

  /** Single-part encryption: C_EncryptInit, then C_Encrypt into an output of `outBytes`. */
  encrypt({ api, offThread }: Binding, session: Handle, mechanism: Mechanism, key: Handle, input: Uint8Array, outBytes: number): Buffer | Promise<Buffer> {
    attempt('C_EncryptInit', () => api.C_EncryptInit(session, mechanism, key));
    const out = Buffer.alloc(outBytes);
    const data = pointerSafe(input);
    const copy = (sealed: Buffer) => Buffer.from(sealed);
    return finish(
      'C_Encrypt',
      offThread,
      () => api.C_EncryptAsync(session, data, out).then(copy),
      () => copy(api.C_Encrypt(session, data, out)),
    );
  },

  /** Single-part decryption: C_DecryptInit, then C_Decrypt into an output of `outBytes` (never 0: see pointerSafe), zeroed once copied or if it fails. */
  decrypt({ api, offThread }: Binding, session: Handle, mechanism: Mechanism, key: Handle, input: Uint8Array, outBytes: number): Buffer | Promise<Buffer> {
    attempt('C_DecryptInit', () => api.C_DecryptInit(session, mechanism, key));
    const out = Buffer.alloc(Math.max(1, outBytes));
    const data = pointerSafe(input);
    const copy = (plain: Buffer) => {
      const kept = Buffer.from(plain);
      out.fill(0);
      return kept;
    };
    const wiped = (e: unknown): never => {
      out.fill(0);
      throw callError('C_Decrypt', e);
    };
    if (!offThread) {
      try {
        return copy(api.C_Decrypt(session, data, out));
      } catch (e) {
        return wiped(e);
      }
    }
    return api.C_DecryptAsync(session, data, out).then(copy, wiped);
  },
} as const;

export type CallTable = typeof CALLS;
export type CallName = keyof CallTable;
/** An entry's arguments after the binding: what crosses to a host. */
export type CallArgs<N extends CallName> = Parameters<CallTable[N]> extends [Binding, ...infer Rest] ? Rest : never;
export type CallResult<N extends CallName> = Awaited<ReturnType<CallTable[N]>>;

/** Runs an entry of the table on a binding: a value, or a promise of one for device work off the thread. */
export function runCall<N extends CallName>(binding: Binding, name: N, args: CallArgs<N>): CallResult<N> | Promise<CallResult<N>> {
  const entry = CALLS[name] as (binding: Binding, ...rest: unknown[]) => CallResult<N> | Promise<CallResult<N>>;
  return entry(binding, ...(args as unknown[]));
}
