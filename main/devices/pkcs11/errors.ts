// PKCS#11 return values (CK_RV, PKCS #11 v2.40 / v3.0 base specification, section 5.1 "Return
// values") and what each one means to Kura: the ONE table of CKR_* codes. Vendor-specific readings of
// a code in one operation (SoftHSM reports a GCM tag mismatch as CKR_GENERAL_ERROR) live in the vendor
// table (./vendors.ts), not here.
//
// pkcs11js 2.1.7 reports a failed call in two shapes: a Pkcs11Error whose `.code` is the CK_RV, and,
// for some calls (C_SetAttributeValue among them), a plain Error without `.code` whose message is
// "CKR_NAME:decimal". Both are read here, once, into a Pkcs11CallError with a typed `meaning`; nothing
// above this file looks at a message's text.
//
// Messages name the PKCS#11 function and the CKR_* name only: never a PIN, a key, or data.
import pkcs11js from 'pkcs11js';

/** What a return value means to Kura. */
export type CkrMeaning =
  | 'pin-incorrect'
  | 'pin-locked'
  | 'user-logged-in'
  | 'user-pin-not-initialized'
  | 'user-not-logged-in'
  | 'token-absent'
  | 'device-removed'
  | 'device-error'
  | 'device-memory'
  | 'session-invalid'
  | 'object-handle-invalid'
  | 'bad-ciphertext'
  | 'mechanism-invalid'
  | 'buffer-too-small'
  | 'not-supported'
  | 'operation-active'
  | 'cryptoki-state'
  | 'other';

interface CkrRow {
  name: string;
  meaning: CkrMeaning;
}

/** CK_RV → name and meaning. Codes not listed are 'other'. */
export const CKR_TABLE: ReadonlyMap<number, CkrRow> = new Map<number, CkrRow>([
  [0x02, { name: 'CKR_HOST_MEMORY', meaning: 'other' }],
  [0x05, { name: 'CKR_GENERAL_ERROR', meaning: 'other' }],
  [0x06, { name: 'CKR_FUNCTION_FAILED', meaning: 'other' }],
  [0x07, { name: 'CKR_ARGUMENTS_BAD', meaning: 'other' }],
  [0x0a, { name: 'CKR_CANT_LOCK', meaning: 'other' }],
  [0x03, { name: 'CKR_SLOT_ID_INVALID', meaning: 'token-absent' }],
  [0x30, { name: 'CKR_DEVICE_ERROR', meaning: 'device-error' }],
  // Out of room for objects, often the session objects Kura keeps (keystores/hsm/blob-keys.ts): not a
  // token that has gone away.
  [0x31, { name: 'CKR_DEVICE_MEMORY', meaning: 'device-memory' }],
  [0x32, { name: 'CKR_DEVICE_REMOVED', meaning: 'device-removed' }],
  // PKCS #11 v3.0: what a conforming v3 module answers for a GCM tag that does not verify.
  [0x35, { name: 'CKR_AEAD_DECRYPT_FAILED', meaning: 'bad-ciphertext' }],
  [0x40, { name: 'CKR_ENCRYPTED_DATA_INVALID', meaning: 'bad-ciphertext' }],
  [0x41, { name: 'CKR_ENCRYPTED_DATA_LEN_RANGE', meaning: 'bad-ciphertext' }],
  // A function the module does not offer (PKCS #11 lets it answer this to any function), and a token
  // without a random number generator: the token is fine, it cannot do that.
  [0x54, { name: 'CKR_FUNCTION_NOT_SUPPORTED', meaning: 'not-supported' }],
  [0x60, { name: 'CKR_KEY_HANDLE_INVALID', meaning: 'object-handle-invalid' }],
  [0x70, { name: 'CKR_MECHANISM_INVALID', meaning: 'mechanism-invalid' }],
  [0x71, { name: 'CKR_MECHANISM_PARAM_INVALID', meaning: 'mechanism-invalid' }],
  [0x82, { name: 'CKR_OBJECT_HANDLE_INVALID', meaning: 'object-handle-invalid' }],
  [0x90, { name: 'CKR_OPERATION_ACTIVE', meaning: 'operation-active' }],
  [0xa0, { name: 'CKR_PIN_INCORRECT', meaning: 'pin-incorrect' }],
  [0xa1, { name: 'CKR_PIN_INVALID', meaning: 'pin-incorrect' }],
  [0xa2, { name: 'CKR_PIN_LEN_RANGE', meaning: 'pin-incorrect' }],
  [0xa3, { name: 'CKR_PIN_EXPIRED', meaning: 'pin-locked' }],
  [0xa4, { name: 'CKR_PIN_LOCKED', meaning: 'pin-locked' }],
  [0xb0, { name: 'CKR_SESSION_CLOSED', meaning: 'session-invalid' }],
  [0xb3, { name: 'CKR_SESSION_HANDLE_INVALID', meaning: 'session-invalid' }],
  [0xe0, { name: 'CKR_TOKEN_NOT_PRESENT', meaning: 'token-absent' }],
  [0xe1, { name: 'CKR_TOKEN_NOT_RECOGNIZED', meaning: 'token-absent' }],
  [0x100, { name: 'CKR_USER_ALREADY_LOGGED_IN', meaning: 'user-logged-in' }],
  [0x101, { name: 'CKR_USER_NOT_LOGGED_IN', meaning: 'user-not-logged-in' }],
  [0x102, { name: 'CKR_USER_PIN_NOT_INITIALIZED', meaning: 'user-pin-not-initialized' }],
  [0x104, { name: 'CKR_USER_ANOTHER_ALREADY_LOGGED_IN', meaning: 'user-logged-in' }],
  [0x121, { name: 'CKR_RANDOM_NO_RNG', meaning: 'not-supported' }],
  [0x150, { name: 'CKR_BUFFER_TOO_SMALL', meaning: 'buffer-too-small' }],
  [0x190, { name: 'CKR_CRYPTOKI_NOT_INITIALIZED', meaning: 'cryptoki-state' }],
  [0x191, { name: 'CKR_CRYPTOKI_ALREADY_INITIALIZED', meaning: 'cryptoki-state' }],
]);

/** Meanings that say the token (or the connection to it) is gone: the store using it has failed. */
export const TOKEN_GONE: ReadonlySet<CkrMeaning> = new Set<CkrMeaning>(['token-absent', 'device-removed', 'device-error', 'session-invalid', 'cryptoki-state']);

/**
 * Return values that say a call could not be done this time, not that the token is gone: the host or
 * the token was short of memory, or the function failed without more detail (PKCS #11 v2.40 §5.1: a
 * CKR_FUNCTION_FAILED call may succeed when tried again; CKR_GENERAL_ERROR, by contrast, is a state the
 * token does not recover from, and SoftHSM's answer for a token whose files are gone).
 */
const TRANSIENT_RVS: ReadonlySet<number> = new Set([0x02, 0x06, 0x31]);

/** Whether a failure is one of TRANSIENT_RVS: the module answered, and said nothing of the token being gone. */
export const isTransient = (e: unknown): boolean => e instanceof Pkcs11CallError && e.rv !== undefined && TRANSIENT_RVS.has(e.rv);

/**
 * The name of every other CK_RV pkcs11js defines (PKCS #11 v2.40's list): a message says
 * CKR_TOKEN_WRITE_PROTECTED or CKR_FUNCTION_NOT_SUPPORTED, not a number the operator must look up.
 * Names only: what the code means to Kura is the table's, 'other' for these.
 */
const PKCS11JS_NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(pkcs11js as unknown as Record<string, unknown>).flatMap(([name, value]) => (name.startsWith('CKR_') && typeof value === 'number' ? [[value, name] as const] : [])),
);

export const ckrName = (rv: number): string => CKR_TABLE.get(rv)?.name ?? PKCS11JS_NAMES.get(rv) ?? `CKR_0x${rv.toString(16).padStart(8, '0')}`;

export const ckrMeaning = (rv: number | undefined): CkrMeaning => (rv === undefined ? 'other' : (CKR_TABLE.get(rv)?.meaning ?? 'other'));

/**
 * The CK_RV of something pkcs11js threw: `.code` when it is a Pkcs11Error, else the number of a
 * "CKR_NAME:decimal" message (pkcs11js's shape for errors it raises without a code); undefined for
 * anything else (a TypeError about an argument, say).
 */
export function ckrOf(e: unknown): number | undefined {
  if (e instanceof Pkcs11CallError) return e.rv;
  if (typeof e !== 'object' || e === null) return undefined;
  const code = (e as { code?: unknown }).code;
  // pkcs11js's NativeError sets code 0 when it found no CK_RV; 0 is CKR_OK, never a failure.
  if (typeof code === 'number' && Number.isInteger(code) && code > 0) return code;
  const message = (e as { message?: unknown }).message;
  if (typeof message !== 'string') return undefined;
  const m = /\bCKR_[A-Z0-9_]+:(\d{1,10})\b/.exec(message);
  return m ? Number(m[1]) : undefined;
}

/** A PKCS#11 call that failed: which function, its CK_RV (when there was one) and Kura's reading of it. */
export class Pkcs11CallError extends Error {
  readonly rv: number | undefined;
  readonly meaning: CkrMeaning;
  readonly fn: string;

  /** `why`: Kura's own reason, for a failure the module did not report (no CK_RV). */
  constructor(fn: string, rv: number | undefined, meaning: CkrMeaning = ckrMeaning(rv), why?: string) {
    super(rv === undefined ? `${fn} failed${why ? `: ${why}` : ''}` : `${fn} failed: ${ckrName(rv)}`);
    this.name = 'Pkcs11CallError';
    this.fn = fn;
    this.rv = rv;
    this.meaning = meaning;
  }
}

/** Wraps whatever a pkcs11js call threw into a Pkcs11CallError (its message is not kept: it is the module's). */
export function callError(fn: string, e: unknown): Pkcs11CallError {
  if (e instanceof Pkcs11CallError) return e;
  return new Pkcs11CallError(fn, ckrOf(e));
}

export const meaningOf = (e: unknown): CkrMeaning | undefined => (e instanceof Pkcs11CallError ? e.meaning : undefined);
