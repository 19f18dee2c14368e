// /admin/v1: the appliance's own management API, used by the `kura` CLI (and later the console).
// init, unseal and status need no token when shares are given (shares are their own authority, as with
// any sealed store). A PKCS#11 init or a PIN unseal needs the admin token: a PIN can be guessed (and a
// real token locks its user after a few wrong ones), and a PKCS#11 init loads a module. A PIN in a body
// is passed to the token and never logged, audited or kept. Everything else needs the admin token kept
// in the data directory (0600).
// Times in answers are ISO 8601 strings, never epoch milliseconds.
// POST /stop answers, then stops the appliance as SIGTERM does. POST /seal is refused (409) on a dev
// appliance: it unseals only from its key file when it starts, so sealing it would leave it sealed
// until restarted.
import type { AuditLog } from '../../audit/audit-log.js';
import type { CredentialService, CredentialSummary } from '../../auth/credentials.js';
import { KmsError, isKmsError, type KmsErrorCode } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import { constantTimeEqual } from '../../crypto/bytes.js';
import type { RootKeyHolder } from '../../seal/root-key.js';
import type { Kms } from '../../kms/index.js';
import { parseOperatorPublicKey } from '../../ceremony/operator-keys.js';
import { ACTION_CLASSES, type Quorum } from '../../ceremony/quorum.js';
import type { JsonResponse, RawRequest } from '../http.js';
import { handleHsmRoute } from './hsms.js';
import { handleQuorumRoute } from './quorum.js';
import { handleXksRoute } from './xks.js';

export interface AdminDeps {
  root: RootKeyHolder;
  credentials: CredentialService;
  audit: AuditLog;
  log: Logger;
  adminToken: string;
  applianceId: string;
  version: string;
  onUnsealed: () => Promise<void>;
  /** Asks the appliance to stop gracefully once this answer is sent; absent where nothing can stop it. */
  requestStop?: () => void;
  /** The KMS façade, for the HSM registry (/hsms) and the XKS proxy's stores (/xks). */
  kms?: Kms;
  /** Custodians, quorum policies and approval requests (/operators, /quorum, /approvals). */
  quorum?: Quorum;
  /** Plugged USB tokens, as the console shows them (main/devices/usb); absent where discovery is not wired. */
  listDevices?: () => Promise<unknown>;
}

// KmsError codes → the admin API's HTTP statuses, in one exhaustive table like the KMS one
// (api/kms/errors.ts): a new code does not compile until it is mapped here.
const ADMIN_STATUS: Record<KmsErrorCode, number> = {
  Validation: 400,
  Serialization: 400,
  UnknownOperation: 404,
  RequestTooLarge: 413,
  MissingAuthenticationToken: 401,
  IncompleteSignature: 401,
  UnrecognizedClient: 401,
  InvalidSignature: 401,
  AccessDenied: 403,
  Sealed: 503,
  NotInitialized: 409,
  Internal: 500,
  NotFound: 404,
  AlreadyExists: 409,
  Disabled: 409,
  InvalidState: 409,
  IncorrectKey: 400,
  InvalidCiphertext: 400,
  InvalidKeyUsage: 400,
  InvalidMarker: 400,
  InvalidArn: 400,
  InvalidAliasName: 400,
  InvalidGrantToken: 400,
  MalformedPolicyDocument: 400,
  Tag: 400,
  LimitExceeded: 409,
  UnsupportedOperation: 501,
  CustomKeyStoreNotFound: 404,
  DryRunOperation: 412,
  KeyUnavailable: 503,
  KmsInvalidSignature: 400,
  KmsInvalidMac: 400,
  ExpiredImportToken: 400,
  InvalidImportToken: 400,
  IncorrectKeyMaterial: 400,
  CustomKeyStoreInvalidState: 409,
  CustomKeyStoreNameInUse: 409,
  CustomKeyStoreHasCMKs: 409,
  CloudHsmClusterNotFound: 404,
  CloudHsmClusterInUse: 409,
  CloudHsmClusterNotRelated: 409,
  CloudHsmClusterInvalidConfiguration: 400,
  IncorrectTrustAnchor: 400,
  DependencyTimeout: 503,
  XksKeyNotFound: 404,
  XksKeyInvalidConfiguration: 400,
  XksKeyAlreadyInUse: 409,
  XksProxyUriInUse: 409,
  XksProxyUriUnreachable: 502,
  XksProxyIncorrectAuthenticationCredential: 502,
  XksProxyInvalidResponse: 502,
  XksProxyInvalidConfiguration: 400,
};

const json = (status: number, body: unknown): JsonResponse => ({
  status,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

/** A credential as the API shows it: createdAt in ISO 8601. */
const credentialJson = <T extends CredentialSummary>(c: T) => ({ ...c, createdAt: new Date(c.createdAt).toISOString() });

function parseBody(req: RawRequest): Record<string, unknown> {
  if (req.body.length === 0) return {};
  try {
    const v = JSON.parse(req.body.toString('utf8')) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new KmsError('Serialization', 'The request body must be a JSON object.');
}

function requireToken(deps: AdminDeps, req: RawRequest): void {
  const h = req.headers.authorization;
  const given = typeof h === 'string' && h.startsWith('Bearer ') ? h.slice(7) : '';
  if (!constantTimeEqual(Buffer.from(given), Buffer.from(deps.adminToken))) {
    throw new KmsError('AccessDenied', 'This call needs the admin token (Authorization: Bearer <token from the data directory\'s admin.token>).');
  }
}

/**
 * `operators` ([{name, publicKey}]) and `quorum` (M) of an init request: checked now, enrolled by
 * enroll() — every operator, then every action class set to M of all of them (the operators class
 * last: from then on operator and policy changes need that quorum). Undefined when init names none.
 */
function initialCustodians(quorum: Quorum, body: Record<string, unknown>): { enroll(): Promise<{ operators: { name: string; fingerprint: string }[]; threshold: number }> } | undefined {
  const { operators, quorum: threshold } = body;
  if (operators === undefined && threshold === undefined) return undefined;
  if (!Array.isArray(operators) || operators.length === 0 || typeof threshold !== 'number' || !Number.isSafeInteger(threshold) || threshold < 1 || threshold > operators.length) {
    throw new KmsError('Validation', 'init takes "operators" (a list of {name, publicKey}) and "quorum" (how many of them approve, 1 to their number) together.');
  }
  const list = operators.map((o: unknown) => {
    const e = o as Record<string, unknown>;
    if (typeof e !== 'object' || e === null || typeof e.name !== 'string' || typeof e.publicKey !== 'string') throw new KmsError('Validation', 'Each operator is {name, publicKey (PEM)}.');
    return { name: e.name, publicKey: e.publicKey, fingerprint: parseOperatorPublicKey(e.publicKey).fingerprint };
  });
  if (new Set(list.map((o) => o.name)).size !== list.length || new Set(list.map((o) => o.fingerprint)).size !== list.length) {
    throw new KmsError('Validation', 'Each operator needs a name and a public key of their own.');
  }
  return {
    async enroll() {
      const by = { operator: 'kura:init' };
      for (const o of list) await quorum.addOperator(by, o.name, o.publicKey);
      const names = list.map((o) => o.name);
      const classes = [...ACTION_CLASSES.filter((c) => c !== 'operators'), 'operators' as const];
      for (const c of classes) await quorum.setPolicy(by, c, threshold, names);
      return { operators: list.map(({ name, fingerprint }) => ({ name, fingerprint })), threshold };
    },
  };
}

export async function handleAdminRequest(deps: AdminDeps, req: RawRequest): Promise<JsonResponse> {
  const route = `${req.method} ${req.path.replace(/^\/admin\/v1/, '')}`;
  try {
    if (route === 'GET /status') {
      return json(200, { ...(await deps.root.status()), applianceId: deps.applianceId, version: deps.version });
    }
    if (route === 'POST /init') {
      const body = parseBody(req);
      // The first custodians and their quorum, checked before anything is made (so a bad key leaves the
      // appliance uninitialized) and enrolled once the root key is.
      const custodians = deps.quorum ? initialCustodians(deps.quorum, body) : undefined;
      if (body.mode === 'pkcs11') {
        requireToken(deps, req);
        const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
        const modulePath = str(body.modulePath) ?? '';
        const tokenLabel = str(body.tokenLabel) ?? '';
        const libraryParameters = str(body.libraryParameters);
        let made;
        try {
          made = await deps.root.initPkcs11({ modulePath, tokenLabel, ...(libraryParameters !== undefined ? { libraryParameters } : {}), pin: str(body.pin) ?? '' });
        } catch (e) {
          await deps.audit.append({ principal: 'kura:cli', source: 'admin', operation: 'Init', outcome: 'error', errorCode: isKmsError(e) ? e.code : 'Internal', details: { mode: 'pkcs11' } });
          throw e;
        }
        await deps.audit.append({ principal: 'kura:cli', source: 'admin', operation: 'Init', outcome: 'ok', details: { mode: 'pkcs11', modulePath, tokenLabel, keyLabel: made.keyLabel } });
        const enrolled = custodians ? await custodians.enroll() : undefined;
        return json(200, { mode: 'pkcs11', modulePath, tokenLabel, ...made, state: (await deps.root.status()).state, ...(enrolled ? { custodians: enrolled } : {}) });
      }
      if (body.mode !== undefined && body.mode !== 'shamir') throw new KmsError('Validation', 'init "mode" is "shamir" (the default) or "pkcs11".');
      const threshold = body.threshold;
      const shares = body.shares;
      if (typeof threshold !== 'number' || typeof shares !== 'number') throw new KmsError('Validation', 'init needs numbers "threshold" and "shares".');
      const texts = await deps.root.initShamir(threshold, shares);
      await deps.audit.append({ principal: 'kura:cli', source: 'admin', operation: 'Init', outcome: 'ok', details: { threshold, shares } });
      const enrolled = custodians ? await custodians.enroll() : undefined;
      return json(200, { threshold, shares: texts, ...(enrolled ? { custodians: enrolled } : {}) });
    }
    if (route === 'POST /unseal') {
      const body = parseBody(req);
      const byPin = body.pin !== undefined;
      if (byPin) requireToken(deps, req);
      const list = Array.isArray(body.shares) ? body.shares : typeof body.share === 'string' ? [body.share] : null;
      if (!byPin && (!list || !list.every((s): s is string => typeof s === 'string'))) {
        throw new KmsError('Validation', 'unseal needs "share" (a string) or "shares" (a list of strings), or "pin" for a PKCS#11-sealed appliance.');
      }
      let status;
      try {
        status = byPin ? await deps.root.unsealWithPin(body.pin) : await deps.root.submitShares(list as string[]);
      } catch (e) {
        await deps.audit.append({ principal: 'kura:cli', source: 'admin', operation: 'Unseal', outcome: 'error', errorCode: isKmsError(e) ? e.code : 'Internal' });
        throw e;
      }
      if (status.state === 'unsealed') {
        await deps.audit.append({ principal: 'kura:cli', source: 'admin', operation: 'Unseal', outcome: 'ok' });
        await deps.onUnsealed();
      }
      return json(200, status);
    }
    requireToken(deps, req);
    if (route === 'POST /seal') {
      if ((await deps.root.status()).mode === 'dev') {
        await deps.audit.append({ principal: 'kura:admin', source: 'admin', operation: 'Seal', outcome: 'error', errorCode: 'InvalidState' });
        throw new KmsError(
          'InvalidState',
          'This is a dev appliance: it unseals only from its key file when it starts, so sealing it would leave it sealed until restarted. ' +
            'Stop it with `kura stop` and restart it with `npm start` instead.',
        );
      }
      deps.root.seal();
      await deps.audit.append({ principal: 'kura:admin', source: 'admin', operation: 'Seal', outcome: 'ok' });
      return json(200, await deps.root.status());
    }
    if (route === 'POST /stop') {
      if (!deps.requestStop) throw new KmsError('InvalidState', 'This appliance cannot be stopped through the admin API.');
      await deps.audit.append({ principal: 'kura:admin', source: 'admin', operation: 'Stop', outcome: 'ok' });
      // The server finishes this answer before it closes: a graceful stop lets calls in progress end.
      deps.requestStop();
      return json(200, { stopping: true });
    }
    if (route === 'GET /credentials') return json(200, { credentials: (await deps.credentials.list()).map(credentialJson) });
    if (route === 'POST /credentials') {
      const body = parseBody(req);
      const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
      const accountId = str(body.accountId);
      if (!accountId) throw new KmsError('Validation', 'credentials need "accountId" (12 digits).');
      return json(200, credentialJson(await deps.credentials.create({ accountId, principalArn: str(body.principalArn), description: str(body.description) })));
    }
    const del = /^DELETE \/credentials\/([A-Z0-9]+)$/.exec(route);
    if (del) {
      await deps.credentials.delete(del[1]!);
      return json(200, { deleted: del[1] });
    }
    if (route === 'GET /audit/verify') return json(200, await deps.audit.verify());
    if (route === 'GET /devices' && deps.listDevices) return json(200, await deps.listDevices());
    if (deps.kms) {
      const answer = await handleHsmRoute(deps.kms, route, () => parseBody(req), json);
      if (answer) return answer;
      const xks = await handleXksRoute(deps.kms.xks, route, () => parseBody(req), json);
      if (xks) return xks;
    }
    if (deps.quorum) {
      const answer = await handleQuorumRoute(deps.quorum, route, () => parseBody(req), json);
      if (answer) return answer;
    }
    return json(404, { error: 'NotFound', message: `No admin route ${route}.` });
  } catch (err) {
    if (isKmsError(err)) return json(ADMIN_STATUS[err.code], { error: err.code, message: err.message });
    deps.log.error('admin internal error', { route: route.slice(0, 128), error: err instanceof Error ? err.name : typeof err });
    return json(500, { error: 'Internal', message: 'An internal error occurred; see the appliance log.' });
  }
}
