// The operator command contract (DESIGN.md, main/console): every command an operator gives the
// appliance — through the admin API (`/admin/v1/…`, which the `kura` CLI and a browser console use) or
// the desktop app's IPC — named once here with the shape of its input and of its answer (./views.ts).
// Both transports validate with parseCommandInput and run the same handlers (api/admin/commands.ts), so
// a command means the same thing whichever way it arrives.
//
// Inputs are strict: a field this table does not list is refused, as is a value of the wrong type or out
// of its bounds, each with a message that names the field and what it takes. A field marked `secret`
// (a token PIN, a passphrase) is never shown, logged or audited; when a quorum gates its command it is
// left out of the parameters the approvers sign and kept sealed under the root key until the request ends.
//
// Who may run a command, and which ones a quorum policy gates, is not the contract's business: the admin
// API authenticates (admin token or an operator's session) and ceremony/quorum.ts names the gated ones.
import { KmsError } from '../common/errors.js';
import type {
  AuditEntryView,
  DashboardView,
  ImportParametersView,
  KeyDetailView,
  KeyMetadataView,
  KeyPageView,
  NetworkStatusView,
  StatusView,
  ApprovalSummaryView,
  ApprovalView,
  AuditVerificationView,
  ChangeView,
  CredentialView,
  HsmTokenKeysView,
  HsmTokenView,
  HsmView,
  NewCredentialView,
  OperatorDetailView,
  OperatorView,
  PolicyView,
  SessionInfoView,
  SessionView,
  TranscriptVerificationView,
  TranscriptView,
  XksCredentialView,
  XksKeyView,
  XksSecretView,
  XksStoreView,
} from './views.js';

/** One input field: its type, its bounds, and whether it is a secret. */
export type Field =
  | { readonly kind: 'string'; readonly optional?: true; readonly max: number; readonly pattern?: RegExp; readonly secret?: true; readonly hint: string; readonly emptyAllowed?: true }
  | { readonly kind: 'integer'; readonly optional?: true; readonly min: number; readonly max: number; readonly hint: string }
  | { readonly kind: 'strings'; readonly optional?: true; readonly maxItems: number; readonly max: number; readonly secret?: true; readonly hint: string }
  /** Distinct values out of `values` (possibly none). */
  | { readonly kind: 'subset'; readonly optional?: true; readonly values: readonly string[]; readonly hint: string }
  | { readonly kind: 'object'; readonly optional?: true; readonly hint: string };

export interface CommandSpec {
  /** What the input is, for messages ("An HSM needs …"). */
  readonly what: string;
  readonly fields: Readonly<Record<string, Field>>;
  /**
   * The console polls it on its own (the network badge, the device list): a call is not the operator's
   * doing, so it does not move the session's idle expiry — an unattended tab still signs out.
   */
  readonly background?: true;
}

/** Whether a command is one the console polls on its own (see CommandSpec.background). */
export const isBackgroundCommand = (name: string): boolean => isCommandName(name) && (COMMANDS[name] as CommandSpec).background === true;

// Shared fields.
const NAME = { kind: 'string', max: 64, pattern: /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, hint: 'an operator name' } as const;
const ON_BEHALF = { ...NAME, optional: true, hint: 'the enrolled operator who asks (with the admin token; a session is its own operator)' } as const;
const PASSPHRASE = { kind: 'string', max: 1024, secret: true, hint: 'a passphrase of at least 12 characters' } as const;
const REQUEST_ID = { kind: 'string', max: 128, pattern: /^apr-[0-9a-f]{24}$/, hint: 'an approval request ID (apr-…)' } as const;
const HSM_ID = { kind: 'string', max: 32, pattern: /^cluster-[2-7a-zA-Z]{11,16}$/, hint: 'an HSM ID (cluster-…, kura hsm list)' } as const;
const PIN = { kind: 'string', max: 256, secret: true, optional: true, hint: "the token's user PIN" } as const;
const CUSTOM_KEY_STORE_ID = { kind: 'string', max: 32, pattern: /^cks-[0-9a-f]{17}$/, hint: 'a custom key store ID (cks- and 17 hex digits)' } as const;
const STORE_ID = { kind: 'string', max: 128, pattern: /^[A-Za-z0-9._~-]{1,128}$/, hint: 'an XKS store ID (kura xks stores list)' } as const;
const ACCESS_KEY_ID = { kind: 'string', max: 128, pattern: /^[A-Z0-9]{1,128}$/, hint: 'an access key ID (AKIA…)' } as const;
const XKS_ACCESS_KEY_ID = { kind: 'string', max: 128, pattern: /^[A-Za-z0-9._~-]{1,128}$/, hint: "an XKS credential's access key ID" } as const;
const EXTERNAL_KEY_ID = { kind: 'string', max: 128, pattern: /^[A-Za-z0-9._~-]{1,128}$/, hint: 'an external key ID' } as const;
/** Standard base64 with its padding. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** The console's key commands act in one account and Region (the dev account and Region by default on a dev appliance). */
const ACCOUNT = { kind: 'string', max: 12, pattern: /^\d{12}$/, hint: 'an AWS account ID (12 digits)' } as const;
// The shape of a Region's name only (eusc-de-east-1, us-isob-east-1 included): which Regions exist is the
// appliance's to say (its allowed regions, else its AWS Region table), and the key commands check that.
const REGION = { kind: 'string', optional: true, max: 32, pattern: /^[a-z]{2,}(-[a-z]+)+-\d+$/, hint: 'an AWS Region (us-east-1)' } as const;
const KEY_ID = { kind: 'string', max: 2048, hint: 'a key ID, key ARN or alias name' } as const;
const NONE = {} as const;

/** Every command and its input. The answers are in CommandOutputs below; a command missing there does not compile. */
export const COMMANDS = {
  'session.login': { what: 'Signing in', fields: { operator: NAME, passphrase: PASSPHRASE } },
  'session.logout': { what: 'Signing out', fields: NONE },
  'session.show': { what: 'The session', fields: NONE },

  'operators.list': { what: 'Listing operators', fields: NONE },
  'operators.show': { what: 'An operator', fields: { name: NAME } },
  'operators.add': {
    what: 'A new operator',
    fields: { name: NAME, publicKey: { kind: 'string', max: 8192, hint: 'an Ed25519 or ECDSA P-256 public key in PEM' }, operator: ON_BEHALF },
  },
  'operators.remove': { what: 'Removing an operator', fields: { name: NAME, operator: ON_BEHALF } },
  'operators.passphrase': {
    what: 'A console passphrase',
    fields: { name: NAME, passphrase: PASSPHRASE, currentPassphrase: { ...PASSPHRASE, optional: true, hint: 'the passphrase set now (an operator changing their own)' } },
  },

  'quorum.show': { what: 'The quorum policies', fields: NONE },
  'quorum.set': {
    what: 'A quorum policy',
    fields: {
      actionClass: { kind: 'string', max: 32, hint: 'an action class (kura quorum show)' },
      threshold: { kind: 'integer', min: 1, max: 100, hint: 'how many operators approve (a whole number)' },
      operators: { kind: 'strings', maxItems: 100, max: 64, hint: 'a list of operator names' },
      expiryMinutes: { kind: 'integer', optional: true, min: 1, max: 10_080, hint: 'how long a request waits, in minutes (1 to 10080)' },
      operator: ON_BEHALF,
    },
  },

  'approvals.list': { what: 'Listing approval requests', fields: NONE },
  'approvals.show': { what: 'An approval request', fields: { id: REQUEST_ID } },
  'approvals.submit': {
    what: 'An approval',
    fields: {
      id: REQUEST_ID,
      signature: { kind: 'string', max: 512, pattern: BASE64, hint: "the signature's bytes in base64 (Ed25519: 64 bytes; ECDSA P-256: DER, or r || s)" },
      operator: { ...NAME, optional: true, hint: 'the operator who signed' },
    },
  },
  'approvals.cancel': { what: 'Cancelling an approval request', fields: { id: REQUEST_ID, operator: ON_BEHALF } },
  'approvals.transcript': { what: 'A ceremony transcript', fields: { id: REQUEST_ID } },
  'approvals.result': { what: "An approved command's answer", fields: { id: REQUEST_ID } },

  'audit.verify': { what: 'Verifying the audit log', fields: NONE },
  'audit.verifyTranscript': { what: 'Verifying a transcript', fields: { transcript: { kind: 'object', hint: 'a ceremony transcript (JSON)' } } },

  'credentials.list': { what: 'Listing credentials', fields: NONE },
  'credentials.create': {
    what: 'A credential',
    fields: {
      accountId: ACCOUNT,
      principalArn: { kind: 'string', optional: true, max: 2048, hint: 'the principal ARN it acts as' },
      description: { kind: 'string', optional: true, max: 256, hint: 'a description' },
    },
  },
  'credentials.delete': { what: 'Deleting a credential', fields: { accessKeyId: ACCESS_KEY_ID } },

  'hsms.list': { what: 'Listing HSMs', fields: NONE },
  'hsms.add': {
    what: 'An HSM',
    fields: {
      modulePath: { kind: 'string', max: 4096, hint: "the PKCS#11 module's path" },
      tokenLabel: { kind: 'string', max: 32, hint: "the token's label" },
      libraryParameters: { kind: 'string', optional: true, max: 4096, hint: 'NSS softokn library parameters' },
      pin: { ...PIN, hint: "the token's user PIN, only to check a login" },
    },
  },
  'hsms.test': { what: 'Testing an HSM', fields: { hsmId: HSM_ID } },
  'hsms.remove': { what: 'Removing an HSM', fields: { hsmId: HSM_ID } },
  'hsms.keys': { what: "Listing a custom key store's token keys", fields: { customKeyStoreId: CUSTOM_KEY_STORE_ID } },
  'hsms.tokenKeys': { what: "Listing an HSM's token keys", fields: { hsmId: HSM_ID } },

  'xks.stores.list': { what: 'Listing XKS stores', fields: NONE },
  'xks.stores.create': {
    what: 'An XKS store',
    fields: {
      // Empty, or "/", serves the store at /kms/xks/v1 itself, as AWS's XksProxyUriPath allows.
      uriPathPrefix: { kind: 'string', max: 128, emptyAllowed: true, hint: 'the URI path prefix AWS KMS calls (/example/prefix, or empty for /kms/xks/v1 itself)' },
      hsmId: { ...HSM_ID, optional: true },
      pin: { ...PIN, hint: "the token's user PIN (an HSM-backed store)" },
    },
  },
  'xks.stores.update': {
    what: "An XKS store's new PIN",
    fields: { storeId: STORE_ID, pin: { kind: 'string', max: 256, secret: true, hint: "the token's user PIN, as the token takes it now" } },
  },
  'xks.stores.delete': { what: 'Deleting an XKS store', fields: { storeId: STORE_ID } },
  'xks.credentials.list': { what: "Listing an XKS store's credentials", fields: { storeId: STORE_ID } },
  'xks.credentials.create': { what: 'A new XKS credential', fields: { storeId: STORE_ID } },
  'xks.credentials.delete': { what: 'Deleting an XKS credential', fields: { storeId: STORE_ID, accessKeyId: XKS_ACCESS_KEY_ID } },
  'xks.keys.list': { what: "Listing an XKS store's keys", fields: { storeId: STORE_ID } },
  'xks.keys.create': {
    what: 'An XKS key',
    fields: { storeId: STORE_ID, usage: { kind: 'subset', optional: true, values: ['ENCRYPT', 'DECRYPT'], hint: 'a list of distinct "ENCRYPT" and "DECRYPT" (empty for a key that does neither)' } },
  },
  'xks.keys.enable': { what: 'Enabling an XKS key', fields: { storeId: STORE_ID, externalKeyId: EXTERNAL_KEY_ID } },
  'xks.keys.disable': { what: 'Disabling an XKS key', fields: { storeId: STORE_ID, externalKeyId: EXTERNAL_KEY_ID } },
  'xks.keys.delete': { what: 'Deleting an XKS key', fields: { storeId: STORE_ID, externalKeyId: EXTERNAL_KEY_ID } },

  'devices.list': { what: 'Listing devices', fields: NONE, background: true },
  'network.status': { what: 'The network status', fields: NONE, background: true },

  'status': { what: 'The status', fields: NONE },
  'dashboard': { what: 'The dashboard', fields: { accountId: { ...ACCOUNT, optional: true }, region: REGION } },
  'seal': { what: 'Sealing', fields: NONE },
  'unseal': {
    what: 'Unsealing',
    fields: {
      shares: { kind: 'strings', optional: true, maxItems: 16, max: 1024, secret: true, hint: 'a list of unseal shares (kura-share-…)' },
      pin: { ...PIN, hint: "the root key token's user PIN (a PKCS#11-sealed appliance)" },
    },
  },

  'keys.list': {
    what: 'Listing keys',
    fields: {
      accountId: { ...ACCOUNT, optional: true },
      region: REGION,
      search: { kind: 'string', optional: true, max: 256, hint: 'text to find in a key ID or description' },
      state: { kind: 'string', optional: true, max: 32, pattern: /^[A-Za-z]+$/, hint: 'a key state as DescribeKey answers it (Enabled, Disabled, PendingDeletion, PendingImport, Unavailable, …)' },
      origin: { kind: 'string', optional: true, max: 32, pattern: /^[A-Z_]+$/, hint: 'an origin (AWS_KMS, EXTERNAL, AWS_CLOUDHSM, EXTERNAL_KEY_STORE)' },
      after: { kind: 'string', optional: true, max: 64, pattern: /^[0-9a-f-]{36}$/, hint: 'the key ID the previous page ended with' },
      limit: { kind: 'integer', optional: true, min: 1, max: 1000, hint: 'how many keys a page holds (1 to 1000)' },
    },
  },
  'keys.show': { what: 'A key', fields: { keyId: KEY_ID, accountId: { ...ACCOUNT, optional: true }, region: REGION } },
  'keys.create': {
    what: 'A new key',
    fields: {
      accountId: { ...ACCOUNT, optional: true },
      region: REGION,
      description: { kind: 'string', optional: true, max: 8192, hint: 'a description' },
      keySpec: { kind: 'string', optional: true, max: 32, pattern: /^[A-Z0-9_]+$/, hint: 'a key spec (SYMMETRIC_DEFAULT, RSA_2048, …)' },
      keyUsage: { kind: 'string', optional: true, max: 32, pattern: /^[A-Z_]+$/, hint: 'a key usage (ENCRYPT_DECRYPT, SIGN_VERIFY, …)' },
      origin: { kind: 'string', optional: true, max: 32, pattern: /^(AWS_KMS|EXTERNAL)$/, hint: 'AWS_KMS, or EXTERNAL for imported key material' },
    },
  },
  'keys.enable': { what: 'Enabling a key', fields: { keyId: KEY_ID, accountId: { ...ACCOUNT, optional: true }, region: REGION } },
  'keys.disable': { what: 'Disabling a key', fields: { keyId: KEY_ID, accountId: { ...ACCOUNT, optional: true }, region: REGION } },
  'keys.scheduleDeletion': {
    what: "Scheduling a key's deletion",
    fields: {
      keyId: KEY_ID,
      pendingWindowInDays: { kind: 'integer', optional: true, min: 7, max: 30, hint: 'the waiting period in days (7 to 30)' },
      accountId: { ...ACCOUNT, optional: true },
      region: REGION,
    },
  },
  'keys.cancelDeletion': { what: "Cancelling a key's deletion", fields: { keyId: KEY_ID, accountId: { ...ACCOUNT, optional: true }, region: REGION } },
  'imports.parameters': {
    what: 'Import parameters',
    fields: {
      keyId: KEY_ID,
      wrappingAlgorithm: { kind: 'string', max: 32, pattern: /^[A-Z0-9_]+$/, hint: 'a wrapping algorithm (RSAES_OAEP_SHA_256, RSA_AES_KEY_WRAP_SHA_256, …)' },
      wrappingKeySpec: { kind: 'string', max: 16, pattern: /^RSA_(2048|3072|4096)$/, hint: 'RSA_2048, RSA_3072 or RSA_4096' },
      accountId: { ...ACCOUNT, optional: true },
      region: REGION,
    },
  },
  'imports.material': {
    what: 'Imported key material',
    fields: {
      keyId: KEY_ID,
      importToken: { kind: 'string', max: 8192, pattern: BASE64, hint: 'the import token, base64' },
      encryptedKeyMaterial: { kind: 'string', max: 8192, pattern: BASE64, hint: 'the wrapped key material, base64' },
      expirationModel: { kind: 'string', optional: true, max: 32, pattern: /^KEY_MATERIAL_(EXPIRES|DOES_NOT_EXPIRE)$/, hint: 'KEY_MATERIAL_EXPIRES or KEY_MATERIAL_DOES_NOT_EXPIRE' },
      validTo: { kind: 'string', optional: true, max: 40, hint: 'when the material expires (ISO 8601)' },
      accountId: { ...ACCOUNT, optional: true },
      region: REGION,
    },
  },

  'audit.list': {
    what: 'Listing audit entries',
    fields: {
      before: { kind: 'integer', optional: true, min: 1, max: Number.MAX_SAFE_INTEGER, hint: 'the sequence number the previous page ended before' },
      limit: { kind: 'integer', optional: true, min: 1, max: 500, hint: 'how many entries a page holds (1 to 500)' },
      operation: { kind: 'string', optional: true, max: 64, hint: 'an operation name' },
      principal: { kind: 'string', optional: true, max: 2048, hint: 'a principal' },
      keyId: { kind: 'string', optional: true, max: 2048, hint: 'a key ID' },
      outcome: { kind: 'string', optional: true, max: 5, pattern: /^(ok|error)$/, hint: '"ok" or "error"' },
    },
  },
} as const satisfies Record<string, CommandSpec>;

export type CommandName = keyof typeof COMMANDS;

/**
 * The answer of a deletion. One type for all of them, not `ChangeView<{ deleted: string }>` written at
 * each: a generic `run<C>` that returns `CommandOutputs[C]` (the console's clients) is checked against the
 * intersection of every output, whose size doubles with each distinct ChangeView — past 2^16, TypeScript
 * gives up ("union type that is too complex to represent"). A new gated command reuses one where it can.
 */
type DeletedView = ChangeView<{ deleted: string }>;
type RemovedView = ChangeView<{ removed: string }>;

/** What each command answers. */
export interface CommandOutputs {
  'session.login': SessionView;
  'session.logout': { signedOut: true };
  'session.show': SessionInfoView;
  'operators.list': { operators: OperatorView[] };
  'operators.show': OperatorDetailView;
  'operators.add': ChangeView<{ operator: OperatorDetailView }>;
  'operators.remove': RemovedView;
  'operators.passphrase': { name: string; hasPassphrase: true };
  'quorum.show': { policies: PolicyView[]; classes: string[] };
  'quorum.set': ChangeView<{ policy: PolicyView }>;
  'approvals.list': { approvals: ApprovalSummaryView[] };
  'approvals.show': ApprovalView;
  'approvals.submit': ApprovalView;
  'approvals.cancel': ApprovalView;
  'approvals.transcript': TranscriptView;
  /** The answer the approved command gave when it ran (its own output type); given once. */
  'approvals.result': { id: string; action: string; result: unknown };
  'audit.verify': AuditVerificationView;
  'audit.verifyTranscript': TranscriptVerificationView;
  'credentials.list': { credentials: CredentialView[] };
  'credentials.create': ChangeView<NewCredentialView>;
  'credentials.delete': DeletedView;
  'hsms.list': { hsms: HsmView[] };
  'hsms.add': ChangeView<HsmView & { token: HsmTokenView }>;
  'hsms.test': { hsmId: string; token: HsmTokenView };
  'hsms.remove': RemovedView;
  'hsms.keys': HsmTokenKeysView;
  'hsms.tokenKeys': HsmTokenKeysView;
  'xks.stores.list': { stores: XksStoreView[] };
  'xks.stores.create': ChangeView<XksSecretView>;
  'xks.stores.update': ChangeView<{ storeId: string; hsmId: string }>;
  'xks.stores.delete': DeletedView;
  'xks.credentials.list': { credentials: XksCredentialView[] };
  'xks.credentials.create': ChangeView<XksSecretView>;
  'xks.credentials.delete': DeletedView;
  'xks.keys.list': { keys: XksKeyView[] };
  'xks.keys.create': ChangeView<{ externalKeyId: string }>;
  'xks.keys.enable': ChangeView<{ storeId: string; externalKeyId: string; keyStatus: 'ENABLED' }>;
  'xks.keys.disable': ChangeView<{ storeId: string; externalKeyId: string; keyStatus: 'DISABLED' }>;
  'xks.keys.delete': DeletedView;
  'devices.list': unknown;
  'network.status': NetworkStatusView;
  'status': StatusView;
  'dashboard': DashboardView;
  'seal': StatusView;
  'unseal': StatusView;
  'keys.list': KeyPageView;
  'keys.show': KeyDetailView;
  'keys.create': KeyMetadataView;
  'keys.enable': KeyMetadataView;
  'keys.disable': KeyMetadataView;
  'keys.scheduleDeletion': ChangeView<{ keyId: string; keyState: string; deletionDate: string }>;
  'keys.cancelDeletion': KeyMetadataView;
  'imports.parameters': ImportParametersView;
  'imports.material': ChangeView<{ keyId: string }>;
  'audit.list': { entries: AuditEntryView[]; next: number | null };
}

// Both tables name the same commands.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const SAME_COMMANDS: Same<CommandName, keyof CommandOutputs> = true;
void SAME_COMMANDS;

type FieldValue<F> = F extends { kind: 'string' }
  ? string
  : F extends { kind: 'integer' }
    ? number
    : F extends { kind: 'strings' }
      ? string[]
      : F extends { kind: 'subset'; values: readonly (infer V)[] }
        ? V[]
        : F extends { kind: 'object' }
          ? Record<string, unknown>
          : never;
type RequiredFields<S> = { -readonly [K in keyof S as S[K] extends { optional: true } ? never : K]: FieldValue<S[K]> };
type OptionalFields<S> = { -readonly [K in keyof S as S[K] extends { optional: true } ? K : never]?: FieldValue<S[K]> };
type Flatten<T> = { [K in keyof T]: T[K] };

export type CommandInput<C extends CommandName> = Flatten<RequiredFields<(typeof COMMANDS)[C]['fields']> & OptionalFields<(typeof COMMANDS)[C]['fields']>>;
export type CommandOutput<C extends CommandName> = CommandOutputs[C];

export const isCommandName = (name: string): name is CommandName => Object.hasOwn(COMMANDS, name);

/** The fields of a command that are secrets (never shown, logged, audited or signed over). */
export function secretFields(name: CommandName): string[] {
  const fields: Readonly<Record<string, Field>> = COMMANDS[name].fields;
  return Object.entries(fields)
    .filter(([, f]) => (f.kind === 'string' || f.kind === 'strings') && f.secret === true)
    .map(([k]) => k);
}

const quote = (k: string) => `"${k.slice(0, 64)}"`;

/**
 * A field's bounds in words, for the refusal that names it: what the hint alone does not say. A length
 * is named only when the value's length is what failed: "(at most 12 characters)" after 12 letters
 * refused by the pattern would send the reader looking for the wrong mistake.
 */
function boundsOf(f: Field, v: unknown): string {
  switch (f.kind) {
    case 'string':
      return f.hint.includes('characters') || typeof v !== 'string' || v.length <= f.max ? '' : ` (at most ${f.max} characters)`;
    case 'integer':
      return f.hint.includes(String(f.max)) ? '' : ` (${f.min} to ${f.max})`;
    case 'strings':
      return Array.isArray(v) && (v.length > f.maxItems || v.some((x) => typeof x === 'string' && (x.length === 0 || x.length > f.max)))
        ? ` (at most ${f.maxItems}, each of 1 to ${f.max} characters)`
        : '';
    default:
      return '';
  }
}

function checkField(spec: CommandSpec, key: string, f: Field, v: unknown): void {
  const bad = () => new KmsError('Validation', `${spec.what}: ${quote(key)} is ${f.hint}${boundsOf(f, v)}.`);
  switch (f.kind) {
    case 'string':
      if (typeof v !== 'string' || (v.length === 0 && !f.emptyAllowed) || v.length > f.max || (f.pattern && !f.pattern.test(v))) throw bad();
      return;
    case 'integer':
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < f.min || v > f.max) throw bad();
      return;
    case 'strings':
      if (!Array.isArray(v) || v.length > f.maxItems || !v.every((x) => typeof x === 'string' && x.length > 0 && x.length <= f.max)) throw bad();
      return;
    case 'subset':
      if (!Array.isArray(v) || !v.every((x) => typeof x === 'string' && f.values.includes(x)) || new Set(v).size !== v.length) throw bad();
      return;
    case 'object':
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad();
      return;
  }
}

/**
 * A command's input, checked against the contract: a JSON object with every required field, no field
 * the command does not take, and each value of its type and within its bounds. ValidationException
 * (Validation) otherwise, naming the field; the input's values are never echoed (a secret may be one).
 */
export function parseCommandInput<C extends CommandName>(name: C, raw: unknown): CommandInput<C> {
  const spec: CommandSpec = COMMANDS[name];
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new KmsError('Validation', `${spec.what} takes a JSON object.`);
  const input = raw as Record<string, unknown>;
  const known = Object.keys(spec.fields);
  const extra = Object.keys(input).find((k) => !known.includes(k));
  if (extra !== undefined) {
    throw new KmsError('Validation', `${spec.what} takes ${known.length ? known.map(quote).join(', ') : 'no fields'}, not ${quote(extra)}.`);
  }
  for (const [key, f] of Object.entries(spec.fields)) {
    const v = input[key];
    if (v === undefined) {
      if (f.optional) continue;
      throw new KmsError('Validation', `${spec.what} needs ${quote(key)}: ${f.hint}.`);
    }
    checkField(spec, key, f, v);
  }
  return input as CommandInput<C>;
}
