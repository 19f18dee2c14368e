// /admin/v1: the appliance's own management API, used by the `kura` CLI and the operator console.
// init, unseal and status need no token when shares are given (shares are their own authority, as with
// any sealed store). A PKCS#11 init or a PIN unseal needs the admin token: a PIN can be guessed (and a
// real token locks its user after a few wrong ones), and a PKCS#11 init loads a module. A PIN in a body
// is passed to the token and never logged, audited or kept. POST /sessions signs an operator in with
// their console passphrase (ceremony/sign-in.ts) and answers a session token. Everything else needs the
// admin token kept in the data directory (0600), for local scripts, or a live session's token; POST
// /stop needs the admin token. A request refused for want of either is audited in the coalesced
// refusal log (audit/refusals.ts), as the KMS endpoint's unknown signatures are.
// Every other route is an operator command of main/console: the ROUTES table names its command, whose
// input is the path's fields and the body's, checked by the contract and run by ./commands.ts.
// Times in answers are ISO 8601 strings, never epoch milliseconds.
// POST /stop answers, then stops the appliance as SIGTERM does. POST /seal is refused (409) on a dev
// appliance: it unseals only from its key file when it starts, so sealing it would leave it sealed
// until restarted.
import { KmsError, isKmsError } from '../../common/errors.js';
import { errorTrace, type Logger } from '../../common/log.js';
import { constantTimeEqual } from '../../crypto/bytes.js';
import { parseOperatorPublicKey } from '../../ceremony/operator-keys.js';
import { ACTION_CLASSES, ADMIN, type Quorum } from '../../ceremony/quorum.js';
import { storageFailureAnswer } from '../../kms/index.js';
import { isBackgroundCommand, isCommandName, parseCommandInput, type CommandName, type ConsoleAnswer } from '../../console/index.js';
import type { JsonResponse, RawRequest } from '../http.js';
import { checkJsonBounds } from '../json-bounds.js';
import { runCommand, type CommandCaller, type CommandDeps } from './commands.js';
import { ADMIN_STATUS, adminError, json, readableMessage } from './errors.js';
import { refusedHere } from './refusals.js';
import { sealAppliance, unsealAppliance } from './console-commands.js';

export interface AdminDeps extends CommandDeps {
  log: Logger;
  adminToken: string;
  /** Asks the appliance to stop gracefully once this answer is sent; absent where nothing can stop it. */
  requestStop?: () => void;
}

function parseBody(req: RawRequest): Record<string, unknown> {
  if (req.body.length === 0) return {};
  // Before JSON.parse, whose cost a crafted body sets: sign-in and unseal parse bodies from anyone.
  checkJsonBounds(req.body);
  try {
    const v = JSON.parse(req.body.toString('utf8')) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new KmsError('Serialization', 'The request body must be a JSON object.');
}

const bearerOf = (req: RawRequest): string => {
  const h = req.headers.authorization;
  return typeof h === 'string' && h.startsWith('Bearer ') ? h.slice(7) : '';
};

const isAdminToken = (deps: AdminDeps, given: string): boolean => constantTimeEqual(Buffer.from(given), Buffer.from(deps.adminToken));

async function requireToken(deps: AdminDeps, req: RawRequest): Promise<void> {
  if (!isAdminToken(deps, bearerOf(req))) {
    throw await unidentified(deps, req, new KmsError('AccessDenied', 'This call needs the admin token (Authorization: Bearer <token from the data directory\'s admin.token>).'));
  }
}

/**
 * The name a request's refusal is audited under, bounded: its command's, or its own route's (init,
 * stop, …), never the path as sent.
 */
function operationOf(req: RawRequest): string {
  const path = req.path.replace(/^\/admin\/v1/, '');
  const named = BY_NAME.exec(`${req.method} ${path}`)?.[1];
  if (named !== undefined) return isCommandName(named) ? named : 'unknown';
  const own = Object.entries(OWN_ROUTES).find(([, route]) => route === `${req.method} ${path}`)?.[0];
  return own ?? routeOf(req, path)?.route.command ?? 'unknown';
}

/**
 * A request refused before anyone was identified (no token, a wrong one, a session that ended): audited
 * as the KMS endpoint audits an unknown signature, in the coalesced refusal log (audit/refusals.ts) —
 * a guessed token costs the guesser one entry a minute, and the log no more. Answers the error.
 */
async function unidentified(deps: AdminDeps, req: RawRequest, error: KmsError): Promise<KmsError> {
  await deps.refusals?.record({ source: 'admin', remote: req.remoteAddress ?? 'unknown', reason: error.code, operation: operationOf(req) }).catch(() => undefined);
  return error;
}

/** Who calls: the admin token's holder, or an operator's live console session (POST /sessions). */
async function authenticate(deps: AdminDeps, req: RawRequest, background = false): Promise<CommandCaller> {
  const given = bearerOf(req);
  if (isAdminToken(deps, given)) return { actor: ADMIN };
  const session = given !== '' && deps.signIn ? await deps.signIn.session(given, { touch: !background }) : undefined;
  if (session) return { actor: session.operator, session: { token: given, expiresAt: session.expiresAt, endsInMs: session.endsInMs } };
  throw await unidentified(
    deps,
    req,
    new KmsError(
      'AccessDenied',
      "This call needs the admin token (Authorization: Bearer <token from the data directory's admin.token>) or a console session (POST /admin/v1/sessions); a session ends 15 minutes after its last use.",
    ),
  );
}

// The command routes: method, path (its groups are the command's path fields, in `params` order), and
// the command (main/console). A body's fields are the rest of the input; a path field may not be in it.
const SEG = '([A-Za-z0-9._~-]{1,128})';
const ACCESS_KEY_SEG = '([A-Z0-9]{1,128})';
/** A console command by name: POST /commands/NAME. */
export const BY_NAME = /^POST \/commands\/([a-zA-Z.]{1,64})$/;
export interface CommandRoute {
  method: string;
  path: RegExp;
  command: CommandName;
  params?: readonly string[];
  /** The body is this one field's value (a transcript), not the input's fields. */
  bodyAs?: string;
  /**
   * The same path with any segment where a field goes, and each field's own pattern: a path that
   * matches the shape but not `path` has a malformed field.
   */
  shape?: { path: RegExp; fields: readonly RegExp[] };
}
/** A path field's group in a route's path: `(…)`, with its quantifier inside. */
const FIELD_GROUP = /\([^)]*\)/g;
const r = (method: string, path: string, command: CommandName, params?: readonly string[]): CommandRoute => ({
  method,
  path: new RegExp(`^${path}$`),
  command,
  ...(params
    ? { params, shape: { path: new RegExp(`^${path.replace(FIELD_GROUP, '([^/]*)')}$`), fields: (path.match(FIELD_GROUP) ?? []).map((g) => new RegExp(`^${g}$`)) } }
    : {}),
});
export const ROUTES: readonly CommandRoute[] = [
  r('POST', '/sessions', 'session.login'),
  r('GET', '/session', 'session.show'),
  r('DELETE', '/session', 'session.logout'),
  r('GET', '/operators', 'operators.list'),
  r('POST', '/operators', 'operators.add'),
  r('GET', `/operators/${SEG}`, 'operators.show', ['name']),
  r('DELETE', `/operators/${SEG}`, 'operators.remove', ['name']),
  r('PUT', `/operators/${SEG}/passphrase`, 'operators.passphrase', ['name']),
  r('GET', '/quorum', 'quorum.show'),
  r('PUT', `/quorum/${SEG}`, 'quorum.set', ['actionClass']),
  r('GET', '/approvals', 'approvals.list'),
  r('GET', `/approvals/${SEG}`, 'approvals.show', ['id']),
  r('POST', `/approvals/${SEG}/approvals`, 'approvals.submit', ['id']),
  r('POST', `/approvals/${SEG}/cancel`, 'approvals.cancel', ['id']),
  r('GET', `/approvals/${SEG}/transcript`, 'approvals.transcript', ['id']),
  r('POST', `/approvals/${SEG}/result`, 'approvals.result', ['id']),
  r('GET', '/audit/verify', 'audit.verify'),
  { ...r('POST', '/audit/verify-transcript', 'audit.verifyTranscript'), bodyAs: 'transcript' },
  r('GET', '/credentials', 'credentials.list'),
  r('POST', '/credentials', 'credentials.create'),
  r('DELETE', `/credentials/${ACCESS_KEY_SEG}`, 'credentials.delete', ['accessKeyId']),
  r('GET', '/hsms', 'hsms.list'),
  r('POST', '/hsms', 'hsms.add'),
  r('POST', `/hsms/${SEG}/test`, 'hsms.test', ['hsmId']),
  r('DELETE', `/hsms/${SEG}`, 'hsms.remove', ['hsmId']),
  r('GET', `/custom-key-stores/${SEG}/token-keys`, 'hsms.keys', ['customKeyStoreId']),
  r('GET', `/hsms/${SEG}/token-keys`, 'hsms.tokenKeys', ['hsmId']),
  r('GET', '/xks/stores', 'xks.stores.list'),
  r('POST', '/xks/stores', 'xks.stores.create'),
  r('POST', `/xks/stores/${SEG}/pin`, 'xks.stores.update', ['storeId']),
  r('DELETE', `/xks/stores/${SEG}`, 'xks.stores.delete', ['storeId']),
  r('GET', `/xks/stores/${SEG}/credentials`, 'xks.credentials.list', ['storeId']),
  r('POST', `/xks/stores/${SEG}/credentials`, 'xks.credentials.create', ['storeId']),
  r('DELETE', `/xks/stores/${SEG}/credentials/${SEG}`, 'xks.credentials.delete', ['storeId', 'accessKeyId']),
  r('GET', `/xks/stores/${SEG}/keys`, 'xks.keys.list', ['storeId']),
  r('POST', `/xks/stores/${SEG}/keys`, 'xks.keys.create', ['storeId']),
  r('POST', `/xks/stores/${SEG}/keys/${SEG}/enable`, 'xks.keys.enable', ['storeId', 'externalKeyId']),
  r('POST', `/xks/stores/${SEG}/keys/${SEG}/disable`, 'xks.keys.disable', ['storeId', 'externalKeyId']),
  r('DELETE', `/xks/stores/${SEG}/keys/${SEG}`, 'xks.keys.delete', ['storeId', 'externalKeyId']),
  r('GET', '/devices', 'devices.list'),
];

/** The route a request names and its path's match; undefined when no route matches. */
function routeOf(req: RawRequest, path: string): { route: CommandRoute; match: RegExpExecArray } | undefined {
  for (const route of ROUTES) {
    if (route.method !== req.method) continue;
    const match = route.path.exec(path);
    if (match) return { route, match };
  }
  return undefined;
}

/** A route's command input: its path fields and its body's (or the body as its one field). */
function inputOf(req: RawRequest, { route, match }: { route: CommandRoute; match: RegExpExecArray }): unknown {
  if (route.bodyAs) return { [route.bodyAs]: parseBody(req) };
  // A GET or DELETE carries no body worth reading; any other method's body is the input's other fields.
  const body = req.method === 'GET' ? {} : parseBody(req);
  const params = route.params ?? [];
  const clash = params.find((p) => Object.hasOwn(body, p));
  if (clash !== undefined) throw new KmsError('Validation', `"${clash}" is in the path; the body must not give it again.`);
  params.forEach((p, i) => (body[p] = match[i + 1]));
  return body;
}

/**
 * A route's path with a field that is not one (`/operators/a%20b`, a lower-case access key ID): a
 * Validation error naming the field, rather than "no route", which sounds like a typo in the command.
 */
function malformedField(req: RawRequest, path: string): { command: CommandName; error: KmsError } | undefined {
  for (const route of ROUTES) {
    if (route.method !== req.method || !route.shape) continue;
    const loose = route.shape.path.exec(path);
    if (!loose) continue;
    const i = route.shape.fields.findIndex((field, k) => !field.test(loose[k + 1] ?? ''));
    if (i === -1) continue;
    const name = route.params![i]!;
    const accessKey = route.shape.fields[i]!.source === `^${ACCESS_KEY_SEG}$`;
    const error = new KmsError('Validation', `"${name}" in the path is not one: ${accessKey ? 'an access key ID is 1 to 128 upper-case letters and digits (AKIA…)' : '1 to 128 of A-Z, a-z, 0-9, ".", "_", "~" and "-"'}.`);
    return { command: route.command, error };
  }
  return undefined;
}

/**
 * The routes that are not a command of the ROUTES table: the appliance's lifecycle (status, init, unseal,
 * seal, stop). With ROUTES and POST /commands/NAME (one per command of main/console), they are every
 * route of /admin/v1; the handler below compares the request with these names, not with literals of its
 * own, so the tables say what it serves (test/fuzz/admin-routes.test.ts fuzzes each route they name).
 */
export const OWN_ROUTES = {
  status: 'GET /status',
  init: 'POST /init',
  unseal: 'POST /unseal',
  seal: 'POST /seal',
  stop: 'POST /stop',
} as const;

/** 202 for a change that became an approval request, 200 otherwise. */
const statusOf = (out: unknown): number => (out !== null && typeof out === 'object' && (out as { applied?: unknown }).applied === false ? 202 : 200);

const INIT_SHAMIR_FIELDS = ['mode', 'threshold', 'shares', 'operators', 'quorum'];
const INIT_PKCS11_FIELDS = ['mode', 'modulePath', 'tokenLabel', 'libraryParameters', 'pin', 'operators', 'quorum'];
const UNSEAL_FIELDS = ['share', 'shares', 'pin'];

/** Refuses a body with a field the route does not take, naming it (as the console commands' contract does). */
function onlyFields(body: Record<string, unknown>, known: readonly string[], what: string): void {
  const unknown = Object.keys(body).filter((k) => !known.includes(k));
  if (unknown.length > 0) throw new KmsError('Validation', `${what} does not take ${unknown.map((k) => `"${k.slice(0, 64)}"`).join(', ')}; it takes ${known.map((k) => `"${k}"`).join(', ')}.`);
}

/**
 * `operators` ([{name, publicKey}]) and `quorum` (M) of an init request: checked now — all that enroll()
 * could refuse, since a refusal once the root key is made would lose its shares — and enrolled by
 * enroll(): every operator, then every action class set to M of all of them (the operators class last:
 * from then on operator and policy changes need that quorum). Undefined when init names none.
 */
async function initialCustodians(quorum: Quorum, body: Record<string, unknown>): Promise<{ enroll(): Promise<{ operators: { name: string; fingerprint: string }[]; threshold: number }> } | undefined> {
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
  await quorum.checkInitialCustodians(list);
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
    if (route === OWN_ROUTES.status) {
      return json(200, { ...(await deps.root.status()), applianceId: deps.applianceId, version: deps.version });
    }
    if (route === OWN_ROUTES.init) {
      // Whoever inits chooses the custodians and, for Shamir, receives every share of the root key: a
      // local process without the data directory's admin token must not be able to take a freshly
      // started appliance before its operator does.
      await requireToken(deps, req);
      // Refused before the root key is made (a field, the state, a custodian, the counts): audited, as a
      // refusal of initPkcs11 is; once an entry for this init is written (ok, or initPkcs11's), not again.
      let audited = false;
      try {
        const body = parseBody(req);
        // Every field is checked before anything is made: a misspelt "operators" must not init without custodians.
        onlyFields(body, body.mode === 'pkcs11' ? INIT_PKCS11_FIELDS : INIT_SHAMIR_FIELDS, `init (mode ${typeof body.mode === 'string' ? body.mode : 'shamir'})`);
        // The first custodians and their quorum, checked before anything is made (so a bad key leaves the
        // appliance uninitialized) and enrolled once the root key is. Not on an initialized appliance, whose
        // enrolled operators are the business of the quorum's commands, not of init.
        if ((await deps.root.status()).state !== 'uninitialized') throw new KmsError('InvalidState', 'Kura is already initialized.');
        const custodians = deps.quorum ? await initialCustodians(deps.quorum, body) : undefined;
        if (body.mode === 'pkcs11') {
          const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
          const modulePath = str(body.modulePath) ?? '';
          const tokenLabel = str(body.tokenLabel) ?? '';
          const libraryParameters = str(body.libraryParameters);
          let made;
          try {
            made = await deps.root.initPkcs11({ modulePath, tokenLabel, ...(libraryParameters !== undefined ? { libraryParameters } : {}), pin: str(body.pin) ?? '' });
          } catch (e) {
            audited = true;
            await deps.audit.append({ principal: 'kura:cli', source: 'admin', operation: 'Init', outcome: 'error', errorCode: isKmsError(e) ? e.code : 'Internal', details: { mode: 'pkcs11' } });
            throw e;
          }
          await deps.audit.append({ principal: 'kura:cli', source: 'admin', operation: 'Init', outcome: 'ok', details: { mode: 'pkcs11', modulePath, tokenLabel, keyLabel: made.keyLabel } });
          audited = true;
          const enrolled = custodians ? await custodians.enroll() : undefined;
          return json(200, { mode: 'pkcs11', modulePath, tokenLabel, ...made, state: (await deps.root.status()).state, ...(enrolled ? { custodians: enrolled } : {}) });
        }
        if (body.mode !== undefined && body.mode !== 'shamir') throw new KmsError('Validation', 'init "mode" is "shamir" (the default) or "pkcs11".');
        const threshold = body.threshold;
        const shares = body.shares;
        if (typeof threshold !== 'number' || typeof shares !== 'number') throw new KmsError('Validation', 'init needs numbers "threshold" and "shares".');
        const texts = await deps.root.initShamir(threshold, shares);
        await deps.audit.append({ principal: 'kura:cli', source: 'admin', operation: 'Init', outcome: 'ok', details: { threshold, shares } });
        audited = true;
        const enrolled = custodians ? await custodians.enroll() : undefined;
        return json(200, { threshold, shares: texts, ...(enrolled ? { custodians: enrolled } : {}) });
      } catch (e) {
        if (!audited) await deps.audit.append({ principal: 'kura:cli', source: 'admin', operation: 'Init', outcome: 'error', errorCode: isKmsError(e) ? e.code : 'Internal' }).catch(() => undefined);
        throw e;
      }
    }
    if (route === OWN_ROUTES.unseal) {
      const body = parseBody(req);
      onlyFields(body, UNSEAL_FIELDS, 'unseal');
      if (body.share !== undefined && body.shares !== undefined) throw new KmsError('Validation', 'unseal takes "share" or "shares", not both.');
      if (Array.isArray(body.shares) && body.shares.length === 0) throw new KmsError('Validation', 'unseal "shares" lists at least one share.');
      const byPin = body.pin !== undefined;
      if (byPin) await requireToken(deps, req);
      const list = Array.isArray(body.shares) ? body.shares : typeof body.share === 'string' ? [body.share] : null;
      if (!byPin && (!list || !list.every((s): s is string => typeof s === 'string'))) {
        throw new KmsError('Validation', 'unseal needs "share" (a string) or "shares" (a list of strings), or "pin" for a PKCS#11-sealed appliance.');
      }
      if (byPin && typeof body.pin !== 'string') throw new KmsError('Validation', 'unseal "pin" is the token\'s user PIN (a string).');
      const status = await unsealAppliance({ deps }, 'kura:cli', byPin ? { pin: body.pin as string } : { shares: list as string[] }, req.remoteAddress);
      return json(200, status);
    }
    // What the console may do before sign-in (openCommand): sign in, read the seal state, unseal by shares.
    const open = route === 'POST /sessions' ? 'session.login' : /^POST \/commands\/(session\.login|status|unseal)$/.exec(route)?.[1];
    if (open !== undefined && isCommandName(open)) {
      const input = parseCommandInput(open, parseBody(req));
      if (openCommand(open, input)) return json(200, await runCommand(deps, { actor: open === 'unseal' ? 'kura:console' : ADMIN }, open, input));
      return json(200, await runCommand(deps, await authenticate(deps, req), open, input));
    }
    // The console's own polls (POST /commands/network.status, GET /devices) do not keep a session alive.
    const byName = BY_NAME.exec(route);
    const polled = byName?.[1] ?? (route === 'GET /devices' ? 'devices.list' : '');
    const caller = await authenticate(deps, req, isBackgroundCommand(polled));
    if (route === OWN_ROUTES.seal) {
      await sealAppliance({ deps }, caller.actor);
      return json(200, await deps.root.status());
    }
    if (route === OWN_ROUTES.stop) {
      await requireToken(deps, req);
      if (!deps.requestStop) throw new KmsError('InvalidState', 'This appliance cannot be stopped through the admin API.');
      await deps.audit.append({ principal: 'kura:admin', source: 'admin', operation: 'Stop', outcome: 'ok' });
      // The server finishes this answer before it closes: a graceful stop lets calls in progress end.
      deps.requestStop();
      return json(200, { stopping: true });
    }
    // From here the request names a command and its caller is known: its refusal before the command
    // runs (a body that is not JSON, an input the contract refuses, a malformed path field) is audited
    // as the command's, as the commands audit what they refuse themselves.
    // Any command by its contract name (what the browser console calls): POST /commands/NAME, the input as the body.
    if (byName) {
      const name = byName[1]!;
      if (!isCommandName(name)) throw new KmsError('UnknownOperation', `There is no console command ${name}.`);
      const input = await refusedHere({ deps, caller, name }, () => parseCommandInput(name, parseBody(req)));
      const out = await runCommand(deps, caller, name, input);
      return json(statusOf(out), out);
    }
    const path = req.path.replace(/^\/admin\/v1/, '');
    const found = routeOf(req, path);
    if (found) {
      const command = found.route.command;
      const input = await refusedHere({ deps, caller, name: command }, () => parseCommandInput(command, inputOf(req, found)));
      const out = await runCommand(deps, caller, command, input);
      return json(statusOf(out), out);
    }
    const malformed = malformedField(req, path);
    if (malformed) await refusedHere({ deps, caller, name: malformed.command }, () => Promise.reject(malformed.error));
    return adminError(404, 'NotFound', `No admin route ${route}.`);
  } catch (err) {
    if (isKmsError(err)) return adminError(ADMIN_STATUS[err.code], err.code, err.message);
    const storage = storageFailureAnswer(err);
    if (storage) {
      deps.log.error('admin storage failure', { route: route.slice(0, 128), code: storage.code });
      return json(ADMIN_STATUS.Internal, { error: storage.error.code, message: storage.error.message });
    }
    // A bug in Kura: the line says where, by type and frames (errorTrace: never the message).
    deps.log.error('admin internal error: a bug in Kura; the call was answered 500', { route: route.slice(0, 128), error: errorTrace(err) });
    return json(500, { error: 'Internal', message: 'An internal error occurred; see the appliance log.' });
  }
}

export type { ConsoleAnswer };

/**
 * The commands that need no session, on every transport: signing in (the passphrase is the authority),
 * the seal state (as GET /status), and unsealing by shares (shares are their own authority, as with
 * POST /unseal). Unsealing with a PIN needs a caller: a PIN can be guessed, and a real token locks its
 * user after a few wrong ones.
 */
function openCommand(command: CommandName, input: unknown): boolean {
  if (command === 'session.login' || command === 'status') return true;
  return command === 'unseal' && typeof input === 'object' && input !== null && (input as Record<string, unknown>).pin === undefined;
}

/**
 * Runs a console command as the operator a session token names — what the desktop app's IPC calls, with
 * the token its main process keeps for the window (the renderer never holds it). `session.login`,
 * `status` and `unseal` by shares need no token; every other command needs a live session. Errors are answered, never thrown.
 */
export async function runConsoleCommand(deps: AdminDeps, sessionToken: string | undefined, command: string, input: unknown): Promise<ConsoleAnswer> {
  try {
    if (!isCommandName(command)) throw new KmsError('UnknownOperation', `There is no console command ${command.slice(0, 64)}.`);
    // As over HTTP: an unseal by shares needs no credential, so it is the console's, not the admin token holder's.
    let caller: CommandCaller = { actor: command === 'unseal' ? 'kura:console' : ADMIN };
    if (!openCommand(command, input)) {
      const session = sessionToken && deps.signIn ? await deps.signIn.session(sessionToken, { touch: !isBackgroundCommand(command) }) : undefined;
      if (!session) throw new KmsError('AccessDenied', 'Sign in first: there is no console session, or it has ended.');
      caller = { actor: session.operator, session: { token: sessionToken!, expiresAt: session.expiresAt, endsInMs: session.endsInMs } };
    }
    // An open command's input is checked before anyone is identified; any other's, as over HTTP, is audited when refused.
    const checked = openCommand(command, input) ? parseCommandInput(command, input) : await refusedHere({ deps, caller, name: command }, () => parseCommandInput(command, input));
    const value = await runCommand(deps, caller, command, checked);
    return { ok: true, status: statusOf(value) as 200 | 202, value };
  } catch (err) {
    if (isKmsError(err)) return { ok: false, error: { code: err.code, message: readableMessage(err.message) } };
    const storage = storageFailureAnswer(err);
    if (storage) {
      deps.log.error('console command storage failure', { command: String(command).slice(0, 64), code: storage.code });
      return { ok: false, error: { code: storage.error.code, message: storage.error.message } };
    }
    deps.log.error('console command internal error: a bug in Kura; the command was answered Internal', { command: String(command).slice(0, 64), error: errorTrace(err) });
    return { ok: false, error: { code: 'Internal', message: 'An internal error occurred; see the appliance log.' } };
  }
}
