// Every route of the admin API (/admin/v1: the `kura` CLI's REST routes with the admin token, the
// console's POST /commands/NAME with an operator's session, sign-in, status, init, unseal, seal, stop)
// under fuzzing, over real HTTP to a real `kura serve --dev` (the compiled dist/) with its SQLite
// database on disk. The routes come from the code's tables (test/support/fuzz-admin.ts): a new route or
// command is fuzzed without a word here, and one the fuzzer knows no valid input for fails the test.
// Per route: the valid request, then one mutation at a time (fields, bodies, content types, methods,
// path fields, credentials). For every answer it proves:
//  - it came, and its status is below 500: a client's mistake is never the appliance's error;
//  - an error is the admin API's {"error","message"}, the message readable (no control characters,
//    bounded, no stack trace or internal text) and without the admin token, the session's token or a
//    secret of the request (a passphrase, a PIN, a share);
//  - a refused request changed nothing: the database's rows, the audit log's aside, are as before;
//  - a refused request of a route whose valid call is audited (as the run saw it, whatever the valid
//    call's answer: a deletion of something that does not exist is a refusal too), once its caller is
//    identified, is audited too;
// and at the end, that the process is alive and answers GET /status. The console's files (GET
// /console/…) are asked for with traversals and encodings besides: 4xx, never a file of the data
// directory.
//
// Seeded (KURA_FUZZ_SEED shuffles each route's cases and picks each mutation's variant). The cases run
// one at a time (a change must be the case's own), round-robin over the routes, each route's valid
// call first. Bounded by a case count (KURA_FUZZ_CASES, default 1,500 of about 6,000) and a time budget
// (KURA_FUZZ_SECONDS, default 20); `npm run fuzz -- --only admin` runs them all.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import sqlite3 from 'sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OWN_ROUTES, ROUTES } from '../../main/api/admin/routes.js';
import { COMMANDS } from '../../main/console/index.js';
import { custodian } from '../support/custodians.js';
import { adminRoutes, caseList, describe as shown, type AdminCase, type Fixtures } from '../support/fuzz-admin.js';
import { alive, errorShapeProblem, leaksIn } from '../support/fuzz-http.js';
import { Findings } from '../support/fuzz-report.js';
import { fuzzBudgetMs, fuzzCases, fuzzSeed, Rng, showSeed } from '../support/fuzz-rng.js';
import { ROOT, startKura, type KuraProcess } from '../support/kura-process.js';

const SEED = fuzzSeed();
const CASES = fuzzCases(1_500);
const BUDGET_MS = fuzzBudgetMs(20);
const MAX_MESSAGE = 2048;
/** Tables whose rows a refused request may add to: the audit log (a refusal is audited). */
const AUDIT_TABLES = new Set(['audit_log']);

let kura: KuraProcess;
let adminToken = '';
let session = '';
let devPassphrase = '';
let fx: Fixtures;
let db: sqlite3.Database;
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

interface Answer {
  status: number;
  body: string;
  json?: Record<string, unknown>;
  error?: string;
}

function request(method: string, target: string, body: Buffer, headers: Record<string, string>): Promise<Answer> {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port: kura.port, method, path: target, agent, headers: { ...headers, 'content-length': String(body.length) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: Record<string, unknown> | undefined;
        try {
          json = JSON.parse(text) as Record<string, unknown>;
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, body: text, ...(json ? { json } : {}) });
      });
      res.on('error', (e) => resolve({ status: 0, body: '', error: e.message }));
    });
    req.on('error', (e) => resolve({ status: 0, body: '', error: (e as NodeJS.ErrnoException).code ?? e.message }));
    req.end(body);
  });
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function call(method: string, p: string, input?: unknown, token = adminToken): Promise<Answer> {
  return request(method, `/admin/v1${p}`, Buffer.from(input === undefined ? '' : JSON.stringify(input)), { 'content-type': 'application/json', ...bearer(token) });
}

async function ok(method: string, p: string, input?: unknown, token = adminToken): Promise<Record<string, unknown>> {
  const a = await call(method, p, input, token);
  if (a.status !== 200) throw new Error(`${method} ${p} → ${a.status} ${a.body}`);
  return a.json!;
}

async function signIn(): Promise<void> {
  session = (await ok('POST', '/sessions', { operator: 'dev', passphrase: devPassphrase }, '')).token as string;
}

const query = <T>(sql: string): Promise<T[]> => new Promise((resolve, reject) => db.all(sql, (e, rows) => (e ? reject(e) : resolve(rows as T[]))));

let lastSnapshot: { version: number; rows: string; audit: number } | undefined;

/**
 * A digest of every row of every table but the audit log's, and the audit log's length. SQLite's
 * data_version moves when another connection commits: unmoved, nothing changed since the last one.
 */
async function snapshot(): Promise<{ rows: string; audit: number }> {
  const version = (await query<{ data_version: number }>('PRAGMA data_version'))[0]!.data_version;
  if (lastSnapshot?.version === version) return lastSnapshot;
  const tables = (await query<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'keys_text%' ORDER BY name")).map((t) => t.name);
  const hash = createHash('sha256');
  let audit = 0;
  for (const t of tables) {
    if (AUDIT_TABLES.has(t)) {
      audit = (await query<{ n: number }>(`SELECT count(*) AS n FROM "${t}"`))[0]!.n;
      continue;
    }
    hash.update(`${t}\n`);
    for (const row of await query<Record<string, unknown>>(`SELECT * FROM "${t}" ORDER BY rowid`)) hash.update(JSON.stringify(row, (_k, v: unknown) => (Buffer.isBuffer(v) ? v.toString('hex') : v)));
  }
  lastSnapshot = { version, rows: hash.digest('hex'), audit };
  return lastSnapshot;
}

beforeAll(async () => {
  kura = await startKura();
  adminToken = fs.readFileSync(path.join(kura.dataDir, 'admin.token'), 'utf8').trim();
  devPassphrase = fs.readFileSync(path.join(kura.dataDir, 'dev-operator.passphrase'), 'utf8').trim();
  await signIn();
  const operatorPassphrase = 'fuzz operator passphrase, long enough';
  await ok('POST', '/operators', { name: 'fuzz-op', publicKey: custodian('ed25519').publicPem });
  await ok('PUT', '/operators/fuzz-op/passphrase', { passphrase: operatorPassphrase });
  const store = await ok('POST', '/xks/stores', { uriPathPrefix: '/fuzz' });
  const key = await ok('POST', `/xks/stores/${store.storeId as string}/keys`, {});
  const kmsKey = await ok('POST', '/commands/keys.create', { description: 'fuzz fixture' });
  fx = {
    operator: 'fuzz-op',
    operatorPassphrase,
    newPublicKey: custodian('p256').publicPem,
    storeId: store.storeId as string,
    xksAccessKeyId: store.accessKeyId as string,
    externalKeyId: key.externalKeyId as string,
    keyId: kmsKey.keyId as string,
  };
  db = new sqlite3.Database(path.join(kura.dataDir, 'kura.db'), sqlite3.OPEN_READONLY);
}, 60_000);

afterAll(async () => {
  agent.destroy();
  await new Promise<void>((resolve) => (db ? db.close(() => resolve()) : resolve()));
  await kura?.stop();
  if (kura) fs.rmSync(kura.dataDir, { recursive: true, force: true });
});

function headersOf(c: AdminCase): Record<string, string> {
  const token = c.credential === 'admin' ? adminToken : c.credential === 'session' ? session : c.credential === 'wrong' ? `${adminToken.slice(0, -4)}wxyz` : undefined;
  return { ...c.headers, ...(token ? bearer(token) : {}) };
}

/** What is wrong with an answer, whatever the case. */
function judge(c: AdminCase, a: Answer): string[] {
  if (a.error !== undefined) return c.what === 'a body over 1 MiB' && a.status === 0 ? [] : [`no answer = ${a.error}`];
  const problems: string[] = [];
  if (a.status >= 500) problems.push(`status ${a.status}`);
  for (const leak of leaksIn(a.body, `${c.method} ${c.path} ${c.body.toString('utf8')}`)) problems.push(`leak: ${leak}`);
  for (const secret of [adminToken, session, ...c.secrets]) if (secret && a.body.includes(secret)) problems.push(`echoes a secret = ${secret.slice(0, 6)}…`);
  if (a.status < 400 || c.method === 'HEAD') return problems;
  const shape = errorShapeProblem(Buffer.from(a.body), {}, ['admin']);
  if (shape !== undefined) return [...problems, `error shape: ${shape}`];
  const message = a.json!.message as string;
  if (message.length > MAX_MESSAGE) problems.push(`message over ${MAX_MESSAGE} characters = ${message.length}`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(message)) problems.push(`message with control characters = ${JSON.stringify(message.slice(0, 80))}`);
  return problems;
}

/** Whether a refusal came before the caller was identified (no credential, a wrong one, no such route). */
const beforeIdentified = (c: AdminCase, a: Answer): boolean =>
  c.method === 'HEAD' || a.status === 413 || c.credential === 'none' || c.credential === 'wrong' || a.status === 401 || a.status === 421 || (a.status === 404 && a.json?.error === 'NotFound' && /^No admin route/.test(String(a.json.message)));

describe(`the admin API's routes under fuzzing (${showSeed(SEED)})`, () => {
  it('knows every route of the code: OWN_ROUTES, ROUTES and every command of the contract', () => {
    const routes = adminRoutes();
    const keys = routes.map((r) => r.key);
    expect(new Set(keys).size).toBe(keys.length);
    expect(routes).toHaveLength(Object.keys(OWN_ROUTES).length + ROUTES.length + Object.keys(COMMANDS).length);
    // Every literal "METHOD /path" of the handler is a route of its tables: a route the handler serves
    // by an `if` of its own, not named in OWN_ROUTES, would go unfuzzed.
    const source = fs.readFileSync(path.join(ROOT, 'main/api/admin/routes.ts'), 'utf8');
    const literals = [...source.matchAll(/'((?:GET|POST|PUT|DELETE|PATCH) \/[^']*)'/g)].map((m) => m[1]!);
    const known = new Set<string>([...Object.values(OWN_ROUTES)]);
    expect(literals.filter((l) => !known.has(l) && !l.startsWith('POST /commands/') && !ROUTES.some((r) => `${r.method} ${r.path.source}`.includes(l.split(' ')[1]!)))).toEqual([]);
  });

  it("serves the console's files and nothing else: traversals, encoded separators, NUL and overlong names are 4xx", async () => {
    const findings = new Findings('console-files', SEED);
    const secrets = ['admin.token', 'root.key', 'dev-operator.passphrase'].map((f) => fs.readFileSync(path.join(kura.dataDir, f)).toString('utf8').trim());
    const names = ['..%2F..%2Fadmin.token', '%2e%2e/%2e%2e/%2e%2e/etc/passwd', '../../package.json', '..%5C..%5Cpackage.json', 'index.html%00.js', '%', '%zz', '%C0%AE%C0%AE/', 'assets/..%2F..%2F..%2Fkura.db', 'x'.repeat(5000), '.', '..', '//etc/passwd', 'index.html/', '%2Fetc%2Fpasswd'];
    for (const name of names) {
      for (const method of ['GET', 'HEAD', 'POST', 'DELETE']) {
        const a = await request(method, `/console/${name}`, Buffer.alloc(0), {});
        const problems: string[] = [];
        if (a.error !== undefined) problems.push(`no answer = ${a.error}`);
        else if (a.status >= 500) problems.push(`status ${a.status}`);
        else if (a.status === 200 && name !== '.' && !/^index\.html/.test(name)) problems.push(`answered 200 = ${name}`);
        if (secrets.some((x) => a.body.includes(x))) problems.push('answers a secret of the data directory');
        findings.note(`${method} /console/${shown(name)} → ${a.status} ${shown(a.body)}`, a.status > 0, a.body.length, 0, problems);
      }
    }
    expect(findings.report()).toBe('');
  });

  it(`answers every route's mutated requests (within ${BUDGET_MS / 1000} s) with a 4xx in the admin error shape, changing nothing`, async () => {
    const findings = new Findings('admin-routes', SEED);
    const routes = adminRoutes();
    const started = Date.now();
    const audited = new Set<string>();
    let sent = 0;
    let before = await snapshot();
    // Round-robin over the routes, each route's cases in order (its valid call first): whatever the
    // case count or the time allows, every route gets its share.
    const lists = routes.map((route, i) => caseList(route, routes, fx, new Rng(SEED, i)));
    const rounds = Math.max(...lists.map((l) => l.length));
    outer: for (let round = 0; round < rounds; round++) {
      for (const list of lists) {
        const c = list[round];
        if (c === undefined) continue;
        if (sent >= CASES || Date.now() - started >= BUDGET_MS || !alive(kura.proc)) break outer;
        sent++;
        const a = await request(c.method, `/admin/v1${c.path}`, c.body, headersOf(c));
        const problems = judge(c, a);
        const after = await snapshot();
        if (c.valid && a.status > 0 && after.audit > before.audit) audited.add(c.route.key);
        if (a.status >= 400 || a.status === 0) {
          if (after.rows !== before.rows) problems.push('a refused request changed the database');
          if (audited.has(c.route.key) && !beforeIdentified(c, a) && after.audit === before.audit) problems.push(`refused (${a.json?.error as string}) but not audited`);
        }
        before = after;
        findings.note(`${c.route.key} [${c.what}] ${c.method} ${shown(c.path)} ${shown(c.body.toString('utf8'))} → ${a.status} ${shown(a.body)}`, a.status > 0, a.body.length, 0, problems);
        if (c.route.command === 'session.logout' && c.credential === 'session' && a.status === 200) await signIn();
      }
    }
    if (!alive(kura.proc)) findings.add('the process died', `exit ${kura.proc.exitCode ?? kura.proc.signalCode}; stderr tail: ${kura.stderr().slice(-400)}`);
    else if ((await call('GET', '/status')).status !== 200) findings.add('GET /status fails at the end', '');
    const seconds = (Date.now() - started) / 1000;
    findings.summarize({ seconds, routes: routes.length, audited: audited.size });
    console.log(`[fuzz] admin-routes ${showSeed(SEED)}: ${findings.tried} requests over ${routes.length} routes in ${seconds.toFixed(1)} s; ${audited.size} routes audit their valid call`);
    expect(findings.report()).toBe('');
    expect(findings.tried).toBeGreaterThanOrEqual(Math.min(CASES, 1000));
  }, BUDGET_MS + 60_000);
});
