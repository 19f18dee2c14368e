// Where a ceremony (BYOK, deletion, key store) is, kept across a reload of the page (F5, a crashed
// renderer, the desktop window reloaded) so that it resumes at its step instead of starting again — the
// approval request a gated step made lives on in the appliance, and new BYOK import parameters would make
// the material already wrapped for the old ones useless.
//
// Kept in this tab's sessionStorage only — never localStorage: it is gone when the tab (or the desktop
// window, whose session partition is in memory: main/desktop/console-window.ts) closes, and another tab
// does not see it. One entry per ceremony and operator, named by the operator and the key it is about
// (`kura.console.ceremony.byok.alice.KEY-ID`); an entry is written only for the signed-in operator and
// read only for them, and for that key when the URL names one. It is cleared when the ceremony ends (done,
// its request cancelled or failed, started again), when its data expires (the BYOK import parameters'
// validity; otherwise the longest a session lives), and of every operator when one signs out or a session
// ends (stores/session.ts) — whatever a store does, an entry past its expiry is never resumed.
//
// What is written is what the `sanitize` functions below copy, field by field, with a check of each
// field's type: nothing else a store holds can reach the storage (they run again on what is read back, so
// an entry edited or from another version resumes nothing it should not). Each field says why it is safe
// to keep. Never written: a passphrase, a PIN, an unseal share, the session token, key material (plain or
// wrapped: a File the operator chose cannot be kept, and is asked for again), approval signatures, a
// key file, a one-time result (a new secret access key).
//
// Where sessionStorage is missing or refuses (a page whose origin has no storage, storage full or turned
// off), every function here does nothing and answers nothing: the console behaves as it did before,
// starting a ceremony again after a reload, without an error.
import type { ImportParametersView } from '../../main/console/index.js';

/** The prefix of every entry this module writes (and so clears). */
export const CEREMONY_PREFIX = 'kura.console.ceremony.';

export type CeremonyKind = 'byok' | 'deletion' | 'keystore';

/** An approval request as a ceremony keeps it: its ID only; its state is read again from the appliance on resuming. */
type RequestId = string | null;

/**
 * The BYOK import parameters as kept: the appliance's answer to imports.parameters, all of it public —
 * the key's ID; the wrapping PUBLIC key (DER in base64, and its PEM), not a secret; the import token,
 * not a secret either (AWS hands it out beside the public key, and alone it imports nothing: material
 * must be wrapped to the private key, which stays in the appliance) but sensitive, as it ties this import
 * to its wrapping key — hence per tab, cleared with the ceremony, never localStorage; when they stop being
 * valid (the entry expires then too); and the appliance's SHA-256 fingerprints of the two, public, which
 * the page checks again against the bytes it read back.
 */
export type StoredImportParameters = ImportParametersView;

export interface ByokSnapshot {
  step: 'parameters' | 'wrap' | 'upload' | 'approvals';
  /** The key's ID: an identifier, public. */
  keyId: string;
  /** The wrapping algorithm and key spec chosen: names of public algorithms. */
  algorithm: string;
  keySpec: string;
  params: StoredImportParameters | null;
  /** Whether the imported material expires, and when: the operator's choice, not a secret. */
  expires: boolean;
  validTo: string;
  /** The import's approval request (an ID, which any operator sees in the inbox). */
  requestId: RequestId;
  // Never: the wrapped key material (file name, size or bytes), asked for again after a reload.
}

export interface DeletionSnapshot {
  step: 'schedule' | 'approvals';
  /** The key's ID, and the waiting period in days: not secrets. */
  keyId: string;
  days: number;
  requestId: RequestId;
}

/** The key store ceremony's form as kept: IDs, paths and names (never the PIN, which no store holds; not the NSS library parameters either, typed again). */
export interface StoredKeyStoreForm {
  modulePath: string;
  tokenLabel: string;
  hsmId: string;
  uriPathPrefix: string;
  storeId: string;
  accessKeyId: string;
  externalKeyId: string;
  usage: string[];
}

export interface KeyStoreSnapshot {
  step: 'details' | 'approvals';
  /** The command chosen (a name such as `xks.stores.create`). */
  action: string;
  form: StoredKeyStoreForm;
  requestId: RequestId;
}

export interface Snapshots {
  byok: ByokSnapshot;
  deletion: DeletionSnapshot;
  keystore: KeyStoreSnapshot;
}

// Field checks: each sanitizer builds a new object of exactly its fields, or answers null.
type Rec = Record<string, unknown>;
const isRec = (v: unknown): v is Rec => v !== null && typeof v === 'object' && !Array.isArray(v);
const str = (v: unknown, max = 4096): string | undefined => (typeof v === 'string' && v.length <= max ? v : undefined);
const reqId = (v: unknown): RequestId | undefined => (v === null ? null : typeof v === 'string' && /^apr-[0-9a-f]{1,64}$/.test(v) ? v : undefined);
const oneOf = <T extends string>(v: unknown, values: readonly T[]): T | undefined => (values.includes(v as T) ? (v as T) : undefined);

function sanitizeParams(v: unknown): StoredImportParameters | null | undefined {
  if (v === null) return null;
  if (!isRec(v)) return undefined;
  const out = {
    keyId: str(v.keyId, 2048),
    publicKey: str(v.publicKey, 16_384),
    publicKeyPem: str(v.publicKeyPem, 16_384),
    importToken: str(v.importToken, 16_384),
    parametersValidTo: str(v.parametersValidTo, 64),
    publicKeyFingerprint: str(v.publicKeyFingerprint, 256),
    importTokenFingerprint: str(v.importTokenFingerprint, 256),
  };
  return Object.values(out).every((x) => x !== undefined) ? (out as StoredImportParameters) : undefined;
}

const SANITIZE: { [K in CeremonyKind]: (v: unknown) => Snapshots[K] | null } = {
  byok(v) {
    if (!isRec(v)) return null;
    const out = {
      step: oneOf(v.step, ['parameters', 'wrap', 'upload', 'approvals'] as const),
      keyId: str(v.keyId, 2048),
      algorithm: str(v.algorithm, 64),
      keySpec: str(v.keySpec, 64),
      params: sanitizeParams(v.params),
      expires: typeof v.expires === 'boolean' ? v.expires : undefined,
      validTo: str(v.validTo, 64),
      requestId: reqId(v.requestId),
    };
    return Object.values(out).every((x) => x !== undefined) ? (out as ByokSnapshot) : null;
  },
  deletion(v) {
    if (!isRec(v)) return null;
    const out = {
      step: oneOf(v.step, ['schedule', 'approvals'] as const),
      keyId: str(v.keyId, 2048),
      days: typeof v.days === 'number' && Number.isInteger(v.days) ? v.days : undefined,
      requestId: reqId(v.requestId),
    };
    return Object.values(out).every((x) => x !== undefined) ? (out as DeletionSnapshot) : null;
  },
  keystore(v) {
    if (!isRec(v) || !isRec(v.form)) return null;
    const f = v.form;
    const form = {
      modulePath: str(f.modulePath),
      tokenLabel: str(f.tokenLabel, 64),
      hsmId: str(f.hsmId, 256),
      uriPathPrefix: str(f.uriPathPrefix, 256),
      storeId: str(f.storeId, 256),
      accessKeyId: str(f.accessKeyId, 256),
      externalKeyId: str(f.externalKeyId, 256),
      usage: Array.isArray(f.usage) && f.usage.every((u) => u === 'ENCRYPT' || u === 'DECRYPT') ? [...(f.usage as string[])] : undefined,
    };
    const out = { step: oneOf(v.step, ['details', 'approvals'] as const), action: str(v.action, 64), form, requestId: reqId(v.requestId) };
    return Object.values(form).every((x) => x !== undefined) && out.step !== undefined && out.action !== undefined && out.requestId !== undefined
      ? (out as KeyStoreSnapshot)
      : null;
  },
};

/** What an entry holds: the ceremony's data, and whose and until when it is. */
interface Entry {
  v: 1;
  operator: string;
  subject: string;
  /** When it stops being resumed (ms since the epoch). */
  expiresAt: number;
  data: unknown;
}

interface StorageLike {
  readonly length: number;
  key(i: number): string | null;
  getItem(k: string): string | null;
  setItem(k: string, v: string): void;
  removeItem(k: string): void;
}

/** This tab's sessionStorage, or null where the page has none or may not use it (reading it can throw). */
function tabStorage(): StorageLike | null {
  try {
    const s = (globalThis as { sessionStorage?: StorageLike }).sessionStorage;
    return s && typeof s.getItem === 'function' ? s : null;
  } catch {
    return null;
  }
}

/** A name's part, with its dots encoded too: `alice` must not be a prefix of `alice.x`'s entries. */
const part = (s: string) => encodeURIComponent(s).replace(/\./g, '%2E');
const prefixOf = (kind: CeremonyKind, operator: string) => `${CEREMONY_PREFIX}${kind}.${part(operator)}.`;

/** The names of the entries this module wrote that `keep` keeps (all of them by default). */
function entries(s: StorageLike, keep: (name: string) => boolean = () => true): string[] {
  const out: string[] = [];
  for (let i = 0; i < s.length; i++) {
    const k = s.key(i);
    if (k !== null && k.startsWith(CEREMONY_PREFIX) && keep(k)) out.push(k);
  }
  return out;
}

/**
 * Keeps where `operator`'s ceremony of `kind` is, about `subject` (the key's ID; '' for the key store
 * ceremony), until `expiresAt` (ms since the epoch): only what the kind's sanitizer lets through. The
 * operator's earlier entry of that kind (another key) goes: one ceremony of a kind at a time.
 */
export function saveCeremony<K extends CeremonyKind>(kind: K, operator: string, subject: string, data: Snapshots[K], expiresAt: number): void {
  const s = tabStorage();
  const clean = SANITIZE[kind](data);
  if (!s || !operator) return;
  try {
    for (const k of entries(s, (n) => n.startsWith(prefixOf(kind, operator)))) s.removeItem(k);
    if (!clean || !(expiresAt > Date.now())) return;
    const entry: Entry = { v: 1, operator, subject, expiresAt, data: clean };
    s.setItem(prefixOf(kind, operator) + part(subject), JSON.stringify(entry));
  } catch {
    // Storage full or refused: the ceremony goes on, and a reload starts it again, as before.
  }
}

/**
 * Where `operator`'s ceremony of `kind` was, about `subject` when given (any when not): null when no one
 * is signed in, there is none, it expired (then removed) or it does not read back as this kind's data.
 */
export function loadCeremony<K extends CeremonyKind>(kind: K, operator: string | null, subject?: string): { subject: string; data: Snapshots[K] } | null {
  const s = tabStorage();
  if (!s || !operator) return null;
  try {
    const name = entries(s, (n) => n.startsWith(prefixOf(kind, operator)) && (subject === undefined || n === prefixOf(kind, operator) + part(subject)))[0];
    if (name === undefined) return null;
    const entry: unknown = JSON.parse(s.getItem(name) ?? 'null');
    const data = isRec(entry) ? SANITIZE[kind](entry.data) : null;
    if (!isRec(entry) || !data || entry.operator !== operator || typeof entry.subject !== 'string' || typeof entry.expiresAt !== 'number' || !(entry.expiresAt > Date.now())) {
      s.removeItem(name);
      return null;
    }
    return { subject: entry.subject, data };
  } catch {
    return null;
  }
}

/** Forgets `operator`'s ceremony of `kind` (it ended). */
export function forgetCeremony(kind: CeremonyKind, operator: string): void {
  const s = tabStorage();
  if (!s) return;
  try {
    for (const k of entries(s, (n) => n.startsWith(prefixOf(kind, operator)))) s.removeItem(k);
  } catch {
    // Nothing to forget where nothing could be kept.
  }
}

/** Forgets every ceremony kept in this tab, but those of `operator` when given (who just signed in): a sign-out, a session's end. */
export function forgetCeremonies(operator?: string): void {
  const s = tabStorage();
  if (!s) return;
  const mine = operator === undefined ? null : (['byok', 'deletion', 'keystore'] as const).map((k) => prefixOf(k, operator));
  try {
    for (const k of entries(s, (n) => !mine?.some((p) => n.startsWith(p)))) s.removeItem(k);
  } catch {
    // As above.
  }
}

/** What a resumed ceremony says (a status message): the step it is at, of how many. */
export function resumedAt(steps: readonly { id: string; label: string }[], step: string, more = ''): string {
  const i = steps.findIndex((s) => s.id === step);
  return `Resumed at step ${i + 1} of ${steps.length}: ${steps[i]?.label ?? step}.${more ? ` ${more}` : ''}`;
}
