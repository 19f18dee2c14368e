// Operators' console sign-in through the admin API's own handler (main/ceremony/sign-in.ts behind
// POST /sessions, GET and DELETE /session, PUT /operators/NAME/passphrase), over a real SQLite store
// and audit log and a clock the tests move: passphrases set by the administrator or their owner (with
// their current one), a session token that acts as its operator and only as them, a wrong name and a
// wrong passphrase refused alike, five wrong passphrases locking sign-in for five minutes, sessions
// ending when idle 15 minutes, after 8 hours, on sign-out, on a new passphrase and on removal — each
// audited, and no passphrase anywhere in the database or the log.
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AdminDeps } from '../../../main/api/admin/routes.js';
import { RefusalLog } from '../../../main/audit/refusals.js';
import { hashPassphrase } from '../../../main/ceremony/passphrase.js';
import { ConsoleSignIn, LOCKOUT_MS, MAX_CHECKS_AT_ONCE, MAX_CHECKS_WAITING, SESSION_IDLE_MS, SESSION_MAX_MS } from '../../../main/ceremony/sign-in.js';
import { adminCaller, custodian, openQuorumAdmin } from '../../support/custodians.js';
import { auditEntriesAfter, type Domain } from '../../support/domain.js';

const TOKEN = 'test-admin-token';
const ALICE_PASS = 'alice: a long enough passphrase';
const BOB_PASS = 'bob: another passphrase, also long';

let d: Domain;
let deps: AdminDeps;
const call = adminCaller(() => deps, TOKEN);

const signIn = (operator: string, passphrase: string) => call('POST', '/sessions', { operator, passphrase }, 'no-token');
async function sessionOf(operator: string, passphrase: string): Promise<string> {
  const r = await signIn(operator, passphrase);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body.token as string;
}
const auditCount = async () => Number((await call('GET', '/audit/verify')).body.entries);

beforeAll(async () => {
  ({ d, deps } = await openQuorumAdmin(TOKEN));
  for (const [name, kind] of [['alice', 'ed25519'], ['bob', 'p256'], ['carol', 'ed25519']] as const) {
    expect((await call('POST', '/operators', { name, publicKey: custodian(kind).publicPem })).status).toBe(200);
  }
});

afterAll(async () => {
  await d?.close();
});

describe('passphrases', () => {
  it('the administrator sets one (12 characters at least); the operator list shows who has one', async () => {
    const short = await call('PUT', '/operators/alice/passphrase', { passphrase: 'too short' });
    expect([short.status, short.body.error]).toEqual([400, 'Validation']);
    expect(short.body.message).toMatch(/at least 12 characters/);
    expect((await call('PUT', '/operators/nobody/passphrase', { passphrase: ALICE_PASS })).status).toBe(404);
    expect((await call('PUT', '/operators/alice/passphrase', { passphrase: ALICE_PASS, name: 'bob' })).status).toBe(400);
    const before = await auditCount();
    const r = await call('PUT', '/operators/alice/passphrase', { passphrase: ALICE_PASS });
    expect([r.status, r.body]).toEqual([200, { name: 'alice', hasPassphrase: true }]);
    expect((await call('PUT', '/operators/bob/passphrase', { passphrase: BOB_PASS })).status).toBe(200);
    const listed = (await call('GET', '/operators')).body.operators as { name: string; hasPassphrase: boolean }[];
    expect(listed.map((o) => [o.name, o.hasPassphrase])).toEqual([['alice', true], ['bob', true], ['carol', false]]);
    const entries = await auditEntriesAfter(d, before);
    expect(entries.filter((e) => e.operation === 'OperatorPassphraseSet').map((e) => [e.principal, e.outcome])).toEqual([['kura:admin', 'ok'], ['kura:admin', 'ok']]);
  });
});

describe('signing in', () => {
  it('a right passphrase gives a session that acts as its operator; GET /session names them', async () => {
    const r = await signIn('alice', ALICE_PASS);
    // An answer with a secret shown once: nothing may keep it.
    expect(r.headers).toMatchObject({ 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ token: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), operator: 'alice', expiresAt: new Date(d.clock.nowMs() + SESSION_IDLE_MS).toISOString() });
    const token = r.body.token as string;
    expect((await call('GET', '/session', undefined, token)).body).toEqual({ operator: 'alice', expiresAt: r.body.expiresAt, endsInMs: SESSION_MAX_MS });
    expect((await call('GET', '/operators', undefined, token)).status).toBe(200);
    expect((await call('GET', '/session')).body).toEqual({ operator: 'kura:admin', expiresAt: null, endsInMs: null });
  });

  it('a wrong passphrase, an unknown operator and one without a passphrase are refused alike, and audited', async () => {
    const before = await auditCount();
    const answers = await Promise.all([signIn('alice', 'not the passphrase at all'), signIn('nobody', ALICE_PASS), signIn('carol', ALICE_PASS)]);
    for (const a of answers) {
      expect([a.status, a.body.error]).toEqual([403, 'AccessDenied']);
      expect(a.body.message).toBe(answers[0]!.body.message);
    }
    expect((await signIn('alice', '')).status).toBe(400);
    const entries = await auditEntriesAfter(d, before);
    expect(entries.filter((e) => e.operation === 'ConsoleSignIn').map((e) => e.outcome)).toEqual(['error', 'error', 'error']);
  });

  it('a session acts only as its operator: not as another, not to stop the appliance', async () => {
    const token = await sessionOf('alice', ALICE_PASS);
    const asBob = await call('POST', '/operators', { name: 'dave', publicKey: custodian('ed25519').publicPem, operator: 'bob' }, token);
    expect([asBob.status, asBob.body.error]).toEqual([403, 'AccessDenied']);
    expect((await call('PUT', '/operators/bob/passphrase', { passphrase: 'alice sets bobs passphrase' }, token)).status).toBe(403);
    expect((await call('POST', '/stop', undefined, token)).status).toBe(403);
    expect((await call('GET', '/operators', undefined, 'a-made-up-token')).status).toBe(403);
  });

  it("no operator sets another's passphrase, even giving their own current one or the other's: the other's stays, and so do their sessions", async () => {
    const bobs = await sessionOf('bob', BOB_PASS);
    const alices = await sessionOf('alice', ALICE_PASS);
    const before = await auditCount();
    // Alice's own current passphrase proves she is alice, not bob; bob's (seen over his shoulder) does
    // not make her bob either; and carol, who has none yet, is not anyone's to claim.
    for (const [target, current] of [['bob', ALICE_PASS], ['bob', BOB_PASS], ['carol', undefined]] as const) {
      const r = await call('PUT', `/operators/${target}/passphrase`, { passphrase: 'alice chose this for them', ...(current ? { currentPassphrase: current } : {}) }, alices);
      expect([r.status, r.body.error], target).toEqual([403, 'AccessDenied']);
      expect(r.body.message).toBe(`Only ${target}, or the appliance's administrator, can set ${target}'s passphrase.`);
    }
    const entries = (await auditEntriesAfter(d, before)).filter((e) => e.operation === 'OperatorPassphraseSet');
    expect(entries.map((e) => [e.principal, e.outcome])).toEqual([['alice', 'error'], ['alice', 'error'], ['alice', 'error']]);
    expect((await call('GET', '/session', undefined, bobs)).body).toMatchObject({ operator: 'bob' });
    expect((await signIn('bob', 'alice chose this for them')).status).toBe(403);
    expect((await signIn('bob', BOB_PASS)).status).toBe(200);
    expect(((await call('GET', '/operators')).body.operators as { name: string; hasPassphrase: boolean }[]).find((o) => o.name === 'carol')?.hasPassphrase).toBe(false);
  });

  it('an operator changes their own passphrase with their current one; their other sessions end, the one they did it in goes on', async () => {
    const token = await sessionOf('bob', BOB_PASS);
    const elsewhere = await sessionOf('bob', BOB_PASS);
    const without = await call('PUT', '/operators/bob/passphrase', { passphrase: 'bob: the next passphrase' }, token);
    expect([without.status, without.body.error]).toEqual([403, 'AccessDenied']);
    expect((await call('PUT', '/operators/bob/passphrase', { passphrase: 'bob: the next passphrase', currentPassphrase: 'a wrong current one' }, token)).status).toBe(403);
    const r = await call('PUT', '/operators/bob/passphrase', { passphrase: 'bob: the next passphrase', currentPassphrase: BOB_PASS }, token);
    expect(r.status).toBe(200);
    expect((await call('GET', '/session', undefined, elsewhere)).status).toBe(403);
    // Kept, and bound to the new passphrase: it acts as bob still, and is used again without ending.
    expect((await call('GET', '/session', undefined, token)).body.operator).toBe('bob');
    expect((await call('GET', '/session', undefined, token)).status).toBe(200);
    expect((await signIn('bob', BOB_PASS)).status).toBe(403);
    expect((await signIn('bob', 'bob: the next passphrase')).status).toBe(200);
    // The administrator setting it ends every session of bob's, the kept one too.
    expect((await call('PUT', '/operators/bob/passphrase', { passphrase: 'bob: set for him again' })).status).toBe(200);
    expect((await call('GET', '/session', undefined, token)).status).toBe(403);
  });

  it('guesses sent at once are counted as they arrive: no more than five are checked before the lock', async () => {
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => signIn('carol', `a parallel guess ${i}`)));
    const checked = answers.filter((a) => a.body.message === answers.find((x) => !/Too many/.test(String(x.body.message)))?.body.message);
    expect(checked.length).toBeLessThanOrEqual(5);
    expect(answers.filter((a) => /Too many wrong passphrases for carol/.test(String(a.body.message))).length).toBeGreaterThanOrEqual(7);
    d.clock.advance(LOCKOUT_MS);
  });

  it('five wrong passphrases in a row lock sign-in for five minutes, even with the right one', async () => {
    for (let i = 0; i < 5; i++) expect((await signIn('alice', `wrong passphrase number ${i}`)).status).toBe(403);
    const locked = await signIn('alice', ALICE_PASS);
    expect(locked.status).toBe(403);
    expect(locked.body.message).toMatch(/^Too many wrong passphrases for alice: sign-in is refused for 5 more minutes \(until \d\d:\d\d:\d\d UTC\)\.$/);
    d.clock.advance(LOCKOUT_MS - 20_000);
    expect((await signIn('alice', ALICE_PASS)).body.message).toMatch(/refused for 20 more seconds/);
    d.clock.advance(20_000);
    expect((await signIn('alice', ALICE_PASS)).status).toBe(200);
  });
});

describe('the wall clock stepped (NTP at boot, an operator, a resumed VM)', () => {
  it('back a day: a lockout still ends after five minutes, and an idle session after fifteen', async () => {
    for (let i = 0; i < 5; i++) expect((await signIn('alice', `wrong passphrase number ${i}`)).status).toBe(403);
    d.clock.step(-24 * 3600_000);
    const locked = await signIn('alice', ALICE_PASS);
    expect(locked.body.message).toMatch(/refused for 5 more minutes \(until \d\d:\d\d:\d\d UTC\)/);
    // The time shown is the wall clock's now plus what remains, not a day ahead.
    expect(locked.body.message).toContain(`until ${new Date(d.clock.nowMs() + LOCKOUT_MS).toISOString().slice(11, 19)} UTC`);
    d.clock.advance(LOCKOUT_MS);
    const token = await sessionOf('alice', ALICE_PASS);
    d.clock.step(-24 * 3600_000);
    d.clock.advance(SESSION_IDLE_MS);
    expect((await call('GET', '/session', undefined, token)).status).toBe(403);
  });

  it('forward a minute: a session in use shows its expiry on the new wall clock', async () => {
    const token = await sessionOf('alice', ALICE_PASS);
    d.clock.advance(60_000);
    d.clock.step(60_000);
    const r = await call('GET', '/session', undefined, token);
    expect(r.status).toBe(200);
    expect(r.body.expiresAt).toBe(new Date(d.clock.nowMs() + SESSION_IDLE_MS).toISOString());
    expect((await call('DELETE', '/session', undefined, token)).status).toBe(200);
  });

  it('a night suspended (the monotonic clock stands still, the wall clock moves on) ends a session, as does a step forward', async () => {
    // CLOCK_MONOTONIC does not count a suspend: to the process it looks like the wall clock stepped.
    const token = await sessionOf('alice', ALICE_PASS);
    d.clock.advance(60_000);
    d.clock.step(10 * 3600_000);
    expect((await call('GET', '/session', undefined, token)).status).toBe(403);
    // Within the idle limit by both clocks, it lives on.
    const again = await sessionOf('alice', ALICE_PASS);
    d.clock.step(SESSION_IDLE_MS - 60_000);
    expect((await call('GET', '/session', undefined, again)).status).toBe(200);
  });
});

describe('sign-in floods', () => {
  it('passphrases are checked two at a time; past what may wait, a sign-in is refused at once, and those refusals are coalesced', async () => {
    const refusals = new RefusalLog({ audit: d.audit, clock: d.clock, monotonic: d.clock.monotonic });
    const original = deps.signIn;
    deps.signIn = new ConsoleSignIn({ store: d.store, audit: d.audit, clock: d.clock, monotonic: d.clock.monotonic, refusals });
    try {
      const before = await auditCount();
      const n = 40;
      const answers = await Promise.all(Array.from({ length: n }, (_, i) => signIn(`nobody-${i}`, 'not the passphrase of anybody')));
      const limited = answers.filter((a) => a.body.error === 'LimitExceeded');
      // All arrive within the first check's tenth of a second: at most the slots and the queue are checked.
      expect(limited.length).toBeGreaterThan(0);
      expect(limited.length).toBeLessThanOrEqual(n - MAX_CHECKS_AT_ONCE - MAX_CHECKS_WAITING);
      expect(answers.filter((a) => a.status === 403 && a.body.error === 'AccessDenied')).toHaveLength(n - limited.length);
      // Each checked sign-in is audited, as an operator's would be (the same cost: a lockout or the
      // log's timing tells no names); the refusals for too many at once are coalesced into one entry.
      const entries = (await auditEntriesAfter(d, before)).filter((e) => e.operation === 'ConsoleSignIn');
      expect(entries.filter((e) => e.errorCode === 'AccessDenied')).toHaveLength(n - limited.length);
      expect(entries.filter((e) => e.errorCode === 'LimitExceeded')).toEqual([expect.objectContaining({ principal: 'anonymous' })]);
      // Any name is locked after five wrong passphrases, as an operator's is: a lockout tells no names.
      for (let i = 0; i < 5; i++) expect((await signIn('nobody-x', `wrong ${i}`)).status).toBe(403);
      expect((await signIn('nobody-x', 'wrong again')).body.message).toMatch(/Too many wrong passphrases for nobody-x/);
      // The refusals of a locked name check nothing and cost nothing to send: a flood of them is
      // counted in the refusal log, not written one durable entry each into a log nobody can prune.
      const beforeFlood = await auditCount();
      const flood = await Promise.all(Array.from({ length: 200 }, () => signIn('nobody-x', 'yet another guess')));
      expect(flood.every((a) => a.status === 403 && /Too many wrong passphrases/.test(String(a.body.message)))).toBe(true);
      // (The refusal just before the flood opened the window: the flood is all repeats.)
      expect(await auditCount()).toBe(beforeFlood);
      d.clock.advance(LOCKOUT_MS);
      await refusals.closeExpired();
      const counted = (await auditEntriesAfter(d, beforeFlood)).filter((e) => e.errorCode === 'AccessDenied');
      expect(counted).toEqual([expect.objectContaining({ operation: 'RefusedRepeatedly', errorCode: 'AccessDenied', details: expect.objectContaining({ repeats: 200 }) })]);
    } finally {
      deps.signIn = original;
      await refusals.stop();
    }
  });
});

describe('bodies from anyone', () => {
  it('a sign-in or unseal body past the JSON bounds is refused before it is parsed', async () => {
    // A million open brackets took JSON.parse 130 ms, every other call waiting; sign-in and unseal
    // parse bodies nobody has authenticated.
    const deep = '{"operator":' + '['.repeat(200_000);
    const wide = JSON.stringify({ operator: 'alice', passphrase: 'x', filler: Array.from({ length: 20_000 }, () => 0) });
    for (const route of ['/sessions', '/unseal', '/commands/session.login']) {
      for (const body of [deep, wide]) {
        const r = await call('POST', route, body, 'no-token');
        expect([r.status, r.body.error], `${route} ${body.slice(0, 20)}`).toEqual([400, 'Serialization']);
        expect(String(r.body.message)).toMatch(/nests JSON deeper|more than \d+ JSON values/);
      }
    }
  });
});

describe('sessions end', () => {
  it('15 minutes after their last use, and 8 hours after sign-in however used', async () => {
    const idle = await sessionOf('alice', ALICE_PASS);
    d.clock.advance(SESSION_IDLE_MS - 1_000);
    expect((await call('GET', '/session', undefined, idle)).status).toBe(200);
    d.clock.advance(SESSION_IDLE_MS - 1_000);
    expect((await call('GET', '/session', undefined, idle)).status).toBe(200);
    d.clock.advance(SESSION_IDLE_MS);
    expect((await call('GET', '/session', undefined, idle)).status).toBe(403);

    const busy = await sessionOf('alice', ALICE_PASS);
    for (let t = 0; t < SESSION_MAX_MS - SESSION_IDLE_MS; t += 10 * 60_000) {
      expect((await call('GET', '/session', undefined, busy)).status).toBe(200);
      d.clock.advance(10 * 60_000);
    }
    d.clock.advance(SESSION_IDLE_MS);
    expect((await call('GET', '/session', undefined, busy)).status).toBe(403);
  });

  it('a session used every 10 minutes still ends 8 hours after sign-in: idle time never reaches past that', async () => {
    const busy = await sessionOf('alice', ALICE_PASS);
    const signedInAt = d.clock.nowMs();
    const at = (ms: number) => d.clock.advance(signedInAt + ms - d.clock.nowMs());
    for (let t = 0; t < 8 * 3600_000; t += 10 * 60_000) {
      at(t);
      expect((await call('GET', '/session', undefined, busy)).status, `${t / 60_000} min`).toBe(200);
    }
    at(SESSION_MAX_MS - 60_000);
    const last = await call('GET', '/session', undefined, busy);
    expect(last.status).toBe(200);
    // Its idle expiry was moved on to the 8-hour mark, not 15 minutes past this use; and it says how
    // long is left until that mark, so a console opened since (a reload) can warn before it.
    expect(last.body.expiresAt).toBe(new Date(signedInAt + SESSION_MAX_MS).toISOString());
    expect(last.body.endsInMs).toBe(60_000);
    // Two minutes after the last use (well within 15), but past 8 hours.
    at(SESSION_MAX_MS + 60_000);
    expect((await call('GET', '/session', undefined, busy)).status).toBe(403);
  });

  it("the console's own polls (network status, device list) do not keep an unattended session alive", async () => {
    const tab = await sessionOf('alice', ALICE_PASS);
    // An unattended tab polls every few seconds; none of it is the operator's doing.
    for (let t = 0; t < SESSION_IDLE_MS - 60_000; t += 60_000) {
      d.clock.advance(60_000);
      expect((await call('POST', '/commands/network.status', {}, tab)).status).toBe(200);
      // (This test appliance has no device discovery: 404, but past the session check, which is the point.)
      expect((await call('GET', '/devices', undefined, tab)).status).toBe(404);
    }
    d.clock.advance(60_000);
    expect((await call('POST', '/commands/network.status', {}, tab)).status).toBe(403);
    expect((await call('GET', '/session', undefined, tab)).status).toBe(403);
    // Any other call is use, and moves the expiry on.
    const used = await sessionOf('alice', ALICE_PASS);
    d.clock.advance(SESSION_IDLE_MS - 60_000);
    expect((await call('GET', '/operators', undefined, used)).status).toBe(200);
    d.clock.advance(SESSION_IDLE_MS - 60_000);
    expect((await call('GET', '/session', undefined, used)).status).toBe(200);
  });

  it('on sign-out (the admin token has none), and when the operator is removed', async () => {
    const token = await sessionOf('alice', ALICE_PASS);
    expect((await call('DELETE', '/session')).status).toBe(400);
    const before = await auditCount();
    expect((await call('DELETE', '/session', undefined, token)).body).toEqual({ signedOut: true });
    expect((await call('GET', '/session', undefined, token)).status).toBe(403);
    expect((await auditEntriesAfter(d, before)).map((e) => [e.operation, e.principal])).toContainEqual(['ConsoleSignOut', 'alice']);

    const again = await sessionOf('alice', ALICE_PASS);
    expect((await call('DELETE', '/operators/alice')).status).toBe(200);
    expect((await call('GET', '/session', undefined, again)).status).toBe(403);
  });

  it('a new passphrase ends a sign-in still checking the old one, and a name enrolled again revives no session', async () => {
    const CAROL_PASS = 'carol: a passphrase of her own';
    expect((await call('PUT', '/operators/carol/passphrase', { passphrase: CAROL_PASS })).status).toBe(200);
    const ceremony = d.store.ceremony;
    const find = ceremony.findOperator.bind(ceremony);
    let read!: () => void;
    const wasRead = new Promise<void>((resolve) => (read = resolve));
    const spy = vi.spyOn(ceremony, 'findOperator').mockImplementationOnce(async (...args) => {
      const r = await find(...args);
      read();
      return r;
    });
    const next = JSON.stringify(await hashPassphrase('carol: the passphrase after the leak'));
    const pending = signIn('carol', CAROL_PASS);
    // The sign-in has read carol's record and is checking the passphrase (an scrypt of a tenth of a
    // second) when the new one is committed (as setPassphrase commits it, its ending of sessions done).
    await wasRead;
    spy.mockRestore();
    await d.store.db.write((tx) => ceremony.setOperatorPassphrase(tx, 'carol', next));
    const late = await pending;
    expect(late.status).toBe(200);
    expect((await call('GET', '/session', undefined, late.body.token as string)).status).toBe(403);

    // Removed by a quorum (which ends no sessions itself) and enrolled again for someone else.
    expect((await call('PUT', '/operators/carol/passphrase', { passphrase: CAROL_PASS })).status).toBe(200);
    const old = await sessionOf('carol', CAROL_PASS);
    await d.store.db.write((tx) => ceremony.deleteOperator(tx, 'carol'));
    expect((await call('POST', '/operators', { name: 'carol', publicKey: custodian('p256').publicPem })).status).toBe(200);
    expect((await call('GET', '/session', undefined, old)).status).toBe(403);
  });

  it('no passphrase is in the database file or any audit entry', async () => {
    const log = JSON.stringify(await auditEntriesAfter(d, 0));
    const db = fs.readFileSync(d.file).toString('latin1') + (fs.existsSync(`${d.file}-wal`) ? fs.readFileSync(`${d.file}-wal`).toString('latin1') : '');
    for (const p of [ALICE_PASS, BOB_PASS, 'bob: the next passphrase']) {
      expect(log).not.toContain(p);
      expect(db).not.toContain(p);
    }
  });
});
