// The admin API's routes as the fuzzer of test/fuzz/admin-routes.test.ts knows them, and the cases it
// sends each. The routes come from the code, never from a list kept here: the ROUTES table and
// OWN_ROUTES of main/api/admin/routes.ts, and POST /commands/NAME for every command of main/console's
// contract. What the fuzzer must know of a route — a valid input for it, over the appliance's fixtures —
// is a table typed by the contract's command names, so a new command does not compile until it has one,
// and a new route of OWN_ROUTES fails the test until it has one.
//
// A case is one mutation of a route's valid request: a field made the wrong type, null, missing, empty,
// huge, control characters, out of range, an array for a scalar or the reverse, deeply nested; an extra
// or a prototype-polluting key; a key given twice; a body that is not JSON or not an object; another
// content type; a body over the cap; another method; a path field that traverses, encodes a separator
// or is too long; a missing or wrong credential. Every case's input is a pure function of the route,
// the fixtures and the case's index (the generator's seed picks the variants).
import { BY_NAME, OWN_ROUTES, ROUTES } from '../../main/api/admin/routes.js';
import { COMMANDS, secretFields, type CommandName, type Field } from '../../main/console/index.js';
import type { Rng } from './fuzz-rng.js';

/** What the appliance holds for the valid inputs to name (made by the test before fuzzing). */
export interface Fixtures {
  /** An enrolled operator with a passphrase, who signs in on the sign-in routes (and may be locked out). */
  operator: string;
  operatorPassphrase: string;
  /** A public key no operator has. */
  newPublicKey: string;
  storeId: string;
  xksAccessKeyId: string;
  externalKeyId: string;
  /** A KMS key of the console's default account. */
  keyId: string;
}

export type Credential = 'admin' | 'session' | 'none';

export interface AdminRoute {
  /** "METHOD /path-pattern" or "POST /commands/NAME": how a failure names it. */
  key: string;
  method: string;
  /** The path (after /admin/v1) with these path fields' values, percent-encoded as given. */
  path: (fields: Record<string, string>) => string;
  params: readonly string[];
  command?: CommandName;
  /** The body is this field's value (audit.verifyTranscript's transcript). */
  bodyAs?: string;
  /** The credential its valid call carries: the CLI's admin token, or the console's session. */
  credential: Credential;
  /** Valid input (path fields included), or undefined: a route no valid call may reach (POST /stop). */
  valid: (fx: Fixtures) => Record<string, unknown> | undefined;
  /** The fields of its input the contract knows (what mutations aim at besides the valid input's). */
  fields: Readonly<Record<string, Field>>;
}

const NO_HSM = 'cluster-abcdefghijk';
const NO_CUSTOM_KEY_STORE = 'cks-0123456789abcdef0';
const NO_REQUEST = `apr-${'0'.repeat(24)}`;
const ACCOUNT = '111122223333';

/**
 * A valid input per command over the fixtures: typed by the contract, so a new command does not compile
 * until it has one. Each names what may run without undoing the fixtures: a removal or deletion names
 * something that does not exist (the domain's refusal is the valid call's answer), a passphrase change
 * names the sign-in operator (never the session's), sealing and unsealing a dev appliance are refused.
 */
export const VALID_INPUTS: { [C in CommandName]: (fx: Fixtures) => Record<string, unknown> } = {
  'session.login': (fx) => ({ operator: fx.operator, passphrase: fx.operatorPassphrase }),
  'session.logout': () => ({}),
  'session.show': () => ({}),
  'operators.list': () => ({}),
  'operators.show': (fx) => ({ name: fx.operator }),
  'operators.add': (fx) => ({ name: 'fuzz-new', publicKey: fx.newPublicKey }),
  'operators.remove': () => ({ name: 'nobody-at-all' }),
  'operators.passphrase': (fx) => ({ name: fx.operator, passphrase: fx.operatorPassphrase }),
  'quorum.show': () => ({}),
  'quorum.set': () => ({ actionClass: 'rekey', threshold: 1, operators: ['dev'], expiryMinutes: 60 }),
  'approvals.list': () => ({}),
  'approvals.show': () => ({ id: NO_REQUEST }),
  'approvals.submit': () => ({ id: NO_REQUEST, signature: Buffer.alloc(64, 1).toString('base64') }),
  'approvals.cancel': () => ({ id: NO_REQUEST }),
  'approvals.transcript': () => ({ id: NO_REQUEST }),
  'approvals.result': () => ({ id: NO_REQUEST }),
  'audit.verify': () => ({}),
  'audit.verifyTranscript': () => ({ transcript: { format: 'kura-transcript/v1' } }),
  'credentials.list': () => ({}),
  'credentials.create': () => ({ accountId: ACCOUNT, description: 'fuzz' }),
  'credentials.delete': () => ({ accessKeyId: 'AKIANOSUCHKEY0000000' }),
  'hsms.list': () => ({}),
  'hsms.add': () => ({ modulePath: '/nonexistent/libfuzz-pkcs11.so', tokenLabel: 'fuzz' }),
  'hsms.test': () => ({ hsmId: NO_HSM }),
  'hsms.remove': () => ({ hsmId: NO_HSM }),
  'hsms.keys': () => ({ customKeyStoreId: NO_CUSTOM_KEY_STORE }),
  'hsms.tokenKeys': () => ({ hsmId: NO_HSM }),
  'xks.stores.list': () => ({}),
  'xks.stores.create': () => ({ uriPathPrefix: '/fuzz-new' }),
  'xks.stores.update': () => ({ storeId: 'no-such-store', pin: 'fuzz-pin' }),
  'xks.stores.delete': () => ({ storeId: 'no-such-store' }),
  'xks.credentials.list': (fx) => ({ storeId: fx.storeId }),
  'xks.credentials.create': (fx) => ({ storeId: fx.storeId }),
  'xks.credentials.delete': (fx) => ({ storeId: fx.storeId, accessKeyId: 'no-such-credential' }),
  'xks.keys.list': (fx) => ({ storeId: fx.storeId }),
  'xks.keys.create': (fx) => ({ storeId: fx.storeId, usage: ['ENCRYPT', 'DECRYPT'] }),
  'xks.keys.enable': (fx) => ({ storeId: fx.storeId, externalKeyId: fx.externalKeyId }),
  'xks.keys.disable': (fx) => ({ storeId: fx.storeId, externalKeyId: fx.externalKeyId }),
  'xks.keys.delete': (fx) => ({ storeId: fx.storeId, externalKeyId: 'no-such-key' }),
  'devices.list': () => ({}),
  'network.status': () => ({}),
  'status': () => ({}),
  'dashboard': () => ({ accountId: ACCOUNT, region: 'us-east-1' }),
  'seal': () => ({}),
  'unseal': () => ({ shares: ['kura-share-not-one'] }),
  'keys.list': () => ({ accountId: ACCOUNT, region: 'us-east-1', limit: 10 }),
  'keys.show': (fx) => ({ keyId: fx.keyId }),
  'keys.create': () => ({ description: 'fuzz', keySpec: 'SYMMETRIC_DEFAULT', keyUsage: 'ENCRYPT_DECRYPT' }),
  'keys.enable': (fx) => ({ keyId: fx.keyId }),
  'keys.disable': () => ({ keyId: '00000000-0000-0000-0000-000000000000' }),
  'keys.scheduleDeletion': () => ({ keyId: '00000000-0000-0000-0000-000000000000', pendingWindowInDays: 7 }),
  'keys.cancelDeletion': (fx) => ({ keyId: fx.keyId }),
  'imports.parameters': (fx) => ({ keyId: fx.keyId, wrappingAlgorithm: 'RSAES_OAEP_SHA_256', wrappingKeySpec: 'RSA_2048' }),
  'imports.material': (fx) => ({ keyId: fx.keyId, importToken: 'AAAA', encryptedKeyMaterial: 'AAAA' }),
  'audit.list': () => ({ limit: 5, outcome: 'error' }),
};

type OwnRoute = keyof typeof OWN_ROUTES;

/** The valid body of each route of OWN_ROUTES; undefined: none may be sent (POST /stop stops the appliance). */
export const OWN_INPUTS: Record<string, ((fx: Fixtures) => Record<string, unknown>) | undefined> = {
  status: () => ({}),
  init: () => ({ threshold: 2, shares: 3 }),
  unseal: () => ({ shares: ['kura-share-not-one'] }),
  seal: () => ({}),
  stop: undefined,
} satisfies Record<OwnRoute, unknown>;

const FIELD_GROUP = /\([^)]*\)/g;

/** A route pattern's source as the path it matches: no anchors, no escaped slashes. */
const routeText = (pattern: RegExp): string => pattern.source.replace(/^\^|\$$/g, '').replace(/\\\//g, '/');

/** The route's path with path fields put where its pattern's groups are, in `params` order. */
function pathOf(pattern: RegExp, params: readonly string[]): (fields: Record<string, string>) => string {
  const source = routeText(pattern);
  return (fields) => {
    let i = 0;
    return source.replace(FIELD_GROUP, () => fields[params[i++]!] ?? '');
  };
}

/** Every route of /admin/v1, from the code's tables. Throws when the fuzzer knows no valid input for one. */
export function adminRoutes(): AdminRoute[] {
  const routes: AdminRoute[] = [];
  for (const [name, route] of Object.entries(OWN_ROUTES)) {
    if (!Object.hasOwn(OWN_INPUTS, name)) throw new Error(`the fuzzer knows no valid input for ${route} (OWN_ROUTES.${name}): add it to OWN_INPUTS`);
    const [method, path] = route.split(' ') as [string, string];
    const command = name === 'status' || name === 'seal' || name === 'unseal' ? name : undefined;
    const input = OWN_INPUTS[name];
    routes.push({
      key: route,
      method,
      path: () => path,
      params: [],
      ...(command ? { command } : {}),
      // status and unseal by shares need no credential; init and stop need the admin token.
      credential: name === 'status' || name === 'unseal' ? 'none' : 'admin',
      valid: (fx) => input?.(fx),
      fields: command ? COMMANDS[command].fields : name === 'init' ? { threshold: INIT_INTEGER, shares: INIT_INTEGER } : {},
    });
  }
  for (const route of ROUTES) {
    const params = route.params ?? [];
    routes.push({
      key: `${route.method} ${routeText(route.path)}`,
      method: route.method,
      path: pathOf(route.path, params),
      params,
      command: route.command,
      ...(route.bodyAs ? { bodyAs: route.bodyAs } : {}),
      // Signing in needs no credential; every other route takes the admin token.
      credential: route.command === 'session.login' ? 'none' : 'admin',
      valid: VALID_INPUTS[route.command],
      fields: COMMANDS[route.command].fields,
    });
  }
  for (const name of Object.keys(COMMANDS) as CommandName[]) {
    const path = `/commands/${name}`;
    if (!BY_NAME.test(`POST ${path}`)) throw new Error(`POST ${path} is not a route the admin API's BY_NAME pattern takes`);
    if (!Object.hasOwn(VALID_INPUTS, name)) throw new Error(`the fuzzer knows no valid input for ${name}: add it to VALID_INPUTS`);
    // Signing in, the status and unsealing by shares need no session (routes.ts openCommand): the console calls them without one.
    const credential = name === 'session.login' || name === 'status' || name === 'unseal' ? 'none' : 'session';
    routes.push({ key: `POST ${path}`, method: 'POST', path: () => path, params: [], command: name, credential, valid: VALID_INPUTS[name], fields: COMMANDS[name].fields });
  }
  return routes;
}

const INIT_INTEGER: Field = { kind: 'integer', min: 1, max: 255, hint: 'init counts' };

// ---- Cases ------------------------------------------------------------------------------------------------

export interface AdminCase {
  route: AdminRoute;
  /** What was mutated, for the failure message. */
  what: string;
  method: string;
  /** The path after /admin/v1, encoded. */
  path: string;
  headers: Record<string, string>;
  body: Buffer;
  /** Which credential goes in Authorization: the route's own, another, none, or a wrong one. */
  credential: Credential | 'wrong';
  /** Secret values the request carried, which no answer may echo. */
  secrets: string[];
  /** The request is the route's valid one, unchanged. */
  valid: boolean;
}

const MISSING = Symbol('missing');
const HUGE = 'x'.repeat(100_000);

const nest = (depth: number): unknown => {
  let v: unknown = 'deep';
  for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { a: v };
  return v;
};

/** The values one field is given, by kind of mistake; the generator picks among each line's variants. */
function valueMutations(field: Field | undefined, valid: unknown): [string, readonly unknown[]][] {
  const out: [string, readonly unknown[]][] = [
    ['null', [null]],
    ['missing', [MISSING]],
    ['wrong type', [true, false, 1, 0, {}, { a: 1 }]],
    ['array for scalar', [[valid], [], [null]]],
    ['empty string', ['']],
    ['huge string', [HUGE, 'é'.repeat(40_000)]],
    ['control characters', ['a\u0000b', '\u0000', '\u0001\u001f\u007f', 'line\r\nbreak', '\u001b[31mred']],
    ['unicode', ['\u202eevil', '\u{1F600}', '\ud800', '\ufeffx', 'é', 'Ａ']],
    ['path-like string', ['../../admin.token', '..', '/', '%2e%2e%2f', 'a/b']],
    ['numbers out of range', [-1, 0, 1.5, -0.5, 1e308, -1e308, 2 ** 53 + 1, Number.MAX_SAFE_INTEGER, 101, 10_081, 1_000_000]],
    ['NaN-like strings', ['NaN', 'Infinity', '-Infinity', '1', '1e3', '0x10', 'null', 'undefined', 'true']],
    ['deep nesting', [nest(40), nest(63)]],
  ];
  if (typeof valid === 'string') out.push(['valid with a twist', [`${valid} `, ` ${valid}`, valid.toUpperCase(), valid.toLowerCase(), `${valid}\u0000`, valid + valid]]);
  if (Array.isArray(valid)) out.push(['bad list', [valid[0] ?? 'x', [1], [{}], [[]], [...valid, ...valid], Array.from({ length: 5000 }, () => 'x'), Array.from({ length: 200 }, (_, i) => `op${i}`)]]);
  if (field?.kind === 'integer') out.push(['integer bounds', [field.min - 1, field.max + 1, field.min + 0.5, String(field.min)]]);
  if (field?.kind === 'string') out.push(['string bounds', ['y'.repeat(field.max + 1), 'y'.repeat(field.max)]]);
  return out;
}

/** JSON text of an object with `key` given twice, the first and the second value as given. */
const duplicated = (input: Record<string, unknown>, key: string, first: unknown, second: unknown): string => {
  const rest = Object.entries(input).filter(([k]) => k !== key);
  const parts = [`${JSON.stringify(key)}:${JSON.stringify(first)}`, ...rest.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`), `${JSON.stringify(key)}:${JSON.stringify(second)}`];
  return `{${parts.join(',')}}`;
};

/** JSON text of the input with raw members added (prototype keys JSON.stringify would not write as such). */
const withRaw = (input: Record<string, unknown>, raw: string): string => {
  const body = JSON.stringify(input);
  return body === '{}' ? `{${raw}}` : `{${raw},${body.slice(1)}`;
};

const MALFORMED: readonly (string | Buffer)[] = [
  '{',
  '{"a":}',
  '[]',
  '[{}]',
  'null',
  '1',
  '"text"',
  'true',
  "{'a':1}",
  '\ufeff{}',
  '{}garbage',
  '{"a":1}{"b":2}',
  Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]),
  '{"a":NaN}',
  '{"a":1,}',
  '{"__proto__":null}',
  ' ',
  '\u0000',
  `{"a":${'['.repeat(70)}${']'.repeat(70)}}`,
  `[${'1,'.repeat(20_000)}1]`,
];

const PATH_VALUES: readonly string[] = [
  '..',
  '.',
  '%2e%2e',
  '..%2F..%2Fadmin.token',
  'a%2Fb',
  'a%5Cb',
  'a%00b',
  '%00',
  '%',
  '%zz',
  '%C3%A9',
  '%E2%80%AE',
  'x'.repeat(129),
  'x'.repeat(4000),
  '',
  'a;b',
  'a%20b',
  '__proto__',
  'constructor',
];

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'TRACE'];

/** The methods a path is served with, by any route. */
export function methodsServed(routes: readonly AdminRoute[], path: string): Set<string> {
  const served = new Set<string>();
  for (const r of ROUTES) if (r.path.test(path)) served.add(r.method);
  for (const route of Object.values(OWN_ROUTES)) if (route.endsWith(` ${path}`)) served.add(route.split(' ')[0]!);
  if (routes.some((r) => r.key === `POST ${path}`)) served.add('POST');
  return served;
}

/**
 * The route's cases: its valid request first (when it has one), then the mutations in an order `rng`
 * shuffles, as `rng` picks each mutation's variant, so that a run cut short by its case count still
 * tries every kind of mistake on every route.
 */
export function caseList(route: AdminRoute, routes: readonly AdminRoute[], fx: Fixtures, rng: Rng): AdminCase[] {
  const input = route.valid(fx);
  const pathFields: Record<string, string> = {};
  for (const p of route.params) pathFields[p] = encodeURIComponent(String(input?.[p] ?? 'x'));
  const bodyOf = (i: Record<string, unknown>) => Object.fromEntries(Object.entries(i).filter(([k]) => !route.params.includes(k)));
  const validBody = input ? bodyOf(input) : {};
  const secretNames = route.command ? secretFields(route.command) : [];
  const secretsOf = (i: Record<string, unknown>) =>
    secretNames.flatMap((k) => (Array.isArray(i[k]) ? (i[k] as unknown[]) : [i[k]])).filter((v): v is string => typeof v === 'string' && v.length >= 8);
  const json = (b: Record<string, unknown>) => JSON.stringify(route.bodyAs ? b[route.bodyAs] : b) ?? '';
  const cases: AdminCase[] = [];
  const add = (what: string, body: string | Buffer, opts: Partial<Pick<AdminCase, 'method' | 'path' | 'headers' | 'credential' | 'valid'>> & { secrets?: string[] } = {}) =>
    cases.push({
      route,
      what,
      method: opts.method ?? route.method,
      path: opts.path ?? route.path(pathFields),
      headers: opts.headers ?? { 'content-type': 'application/json' },
      body: Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8'),
      credential: opts.credential ?? route.credential,
      secrets: opts.secrets ?? secretsOf(validBody),
      valid: opts.valid ?? false,
    });

  if (input === undefined) {
    // A route no valid call may reach: only without its credential, and with methods it does not take.
    add('no credential', '{}', { credential: 'none' });
    add('a wrong token', '{}', { credential: 'wrong' });
    add("a session, not the admin token", '{}', { credential: 'session' });
  } else {
    add('valid', json(validBody), { valid: true });
    const fieldNames = [...new Set([...Object.keys(validBody), ...Object.keys(route.fields).filter((f) => !route.params.includes(f))])];
    for (const name of fieldNames) {
      for (const [kind, variants] of valueMutations(route.fields[name], validBody[name])) {
        const value = rng.pick(variants);
        const mutated = { ...validBody };
        if (value === MISSING) delete mutated[name];
        else mutated[name] = value;
        add(`"${name}": ${kind} (${describe(value)})`, json(mutated), { secrets: [...secretsOf(validBody), ...secretsOf(mutated)] });
      }
      add(`"${name}" twice, the bad one last`, duplicated(validBody, name, validBody[name] ?? 'x', null));
      add(`"${name}" twice, the bad one first`, duplicated(validBody, name, { bad: true }, validBody[name] ?? 'x'));
    }
    if (!route.bodyAs) {
      add('an unknown field', JSON.stringify({ ...validBody, fuzzExtra: 1 }));
      add('"__proto__" polluting', withRaw(validBody, '"__proto__":{"polluted":"yes","isAdmin":true,"applied":false}'));
      add('"constructor.prototype" polluting', withRaw(validBody, '"constructor":{"prototype":{"polluted":"yes"}}'));
      add(`"${rng.pick(['toString', 'hasOwnProperty', 'valueOf', '__defineGetter__'])}" as a field`, withRaw(validBody, `"${rng.pick(['toString', 'hasOwnProperty', 'valueOf'])}":1`));
      for (const p of route.params) add(`path field "${p}" in the body too`, JSON.stringify({ ...validBody, [p]: input[p] }));
    }
    for (const body of MALFORMED) add(`malformed JSON (${describe(body)})`, body);
    add('text/plain', json(validBody), { headers: { 'content-type': 'text/plain' } });
    add('form-encoded', 'a=1&b=2', { headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    add('no content type', json(validBody), { headers: {} });
    add('a body over 1 MiB', `{"a":"${'z'.repeat(1024 * 1024)}"}`);
    if (route.credential !== 'none') {
      add('no credential', json(validBody), { credential: 'none' });
      add('a wrong token', json(validBody), { credential: 'wrong' });
    }
  }
  for (const method of METHODS) {
    const path = route.path(pathFields);
    if (!methodsServed(routes, path).has(method)) add(`method ${method}`, method === 'GET' || method === 'HEAD' ? '' : '{}', { method, credential: route.credential === 'none' ? 'admin' : route.credential });
  }
  for (const p of route.params) {
    for (const v of [rng.pick(PATH_VALUES), rng.pick(PATH_VALUES), rng.pick(PATH_VALUES)]) {
      add(`path field "${p}" = ${describe(v)}`, json(validBody), { path: route.path({ ...pathFields, [p]: v }) });
    }
  }
  const base = route.path(pathFields);
  for (const path of [`${base}/`, `/${base}`, `${base}/..`, `${base}%2F`, base.toUpperCase()]) {
    if (route.method === 'POST' && path === base.toUpperCase() && path === base) continue;
    add(`path ${describe(path)}`, json(validBody), { path });
  }
  for (let i = cases.length - 1; i > 1; i--) {
    const j = rng.int(1, i);
    [cases[i], cases[j]] = [cases[j]!, cases[i]!];
  }
  return cases;
}

/** A value as a failure message shows it: short, printable. */
export function describe(v: unknown): string {
  if (v === MISSING) return 'missing';
  if (Buffer.isBuffer(v)) return `bytes ${v.toString('hex').slice(0, 24)}`;
  const text = typeof v === 'string' ? JSON.stringify(v) : (JSON.stringify(v) ?? String(v));
  return text.length > 40 ? `${text.slice(0, 37)}… (${text.length} chars)` : text;
}
