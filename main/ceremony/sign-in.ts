// Operators' console sign-in (issue 13): a passphrase per operator (kept as an scrypt record, ./passphrase.ts)
// exchanged for a short-lived session token, which the admin API takes in place of the admin token and
// which names the operator — the requester of what they ask, the one who may cancel it.
//
// A session lasts 15 minutes from its last use and never more than 8 hours from sign-in; signing out,
// a new passphrase and the operator's removal end it. A session is bound to the operator's record as
// its passphrase was checked (the passphrase record and key fingerprint), and each use compares the
// record now enrolled under that name: so a new passphrase also ends a sign-in that was still checking
// the old one when it was set, and a name removed and enrolled again for someone else (quorum removals
// end no sessions themselves) does not revive the old holder's session. Tokens are 32 random bytes, kept only in this
// process's memory and only as their SHA-256 (a restart signs everyone out, which a sealed restart needs
// anyway), compared by hash lookup, never by a string comparison that could leak a prefix.
//
// A wrong operator name and a wrong passphrase take the same time (a name that has no passphrase is
// checked against a stand-in record of the same cost) and answer the same words. After five wrong
// passphrases in a row a name's sign-in is refused for five minutes without being checked — any name,
// so that a lockout does not tell which names are operators.
// Signing in needs no credential, and each check is an scrypt (32 MiB, about 0.1 s) on libuv's thread
// pool, which SQLite's commits share: at most MAX_CHECKS_AT_ONCE run at once, MAX_CHECKS_WAITING more
// wait, and beyond that a sign-in is refused at once (LimitExceeded). A flood of sign-ins then costs
// the appliance two pool threads, not every commit (and with it every audited call).
// Every sign-in, refusal and passphrase change is audited (source admin), durably, whether the name is
// an operator's or not (the same cost either way); a passphrase never is. The checks' cap bounds how fast
// failures can be written. The refusals that check nothing cost nothing to send — too many at once, and
// a name still locked — so they go to the refusal log (coalesced per reason a minute): a flood of
// sign-ins to a locked name wrote one durable entry each, 2,000 a second into a log that cannot be
// pruned. The refusal that locks a name is the fifth wrong passphrase, audited in full.
//
// Lockouts, idle expiry and the 8-hour limit are durations: they are measured on the monotonic clock
// (main/common/monotonic.ts), so that a wall clock stepped back (NTP at boot, an operator's mistake)
// neither keeps a name locked nor a session alive for as long as the step. The monotonic clock stands
// still while the machine is suspended, though (CLOCK_MONOTONIC): a session left open over a night with
// the laptop's lid closed would wake up alive. So a session also ends when the wall clock says it has:
// whichever clock ends it first. A wall clock stepped forward ends sessions too, which cannot be told
// from a suspend; the operator signs in again. The times shown (a session's expiresAt, a lockout's
// "until") are wall-clock, worked out from what remains.
//
// Who may set a passphrase: the admin token's holder (at enrolment, at the appliance), or the operator
// themselves with their current one.
import { createHash, randomBytes } from 'node:crypto';
import type { AuditLog } from '../audit/audit-log.js';
import type { RefusalLog } from '../audit/refusals.js';
import type { Clock } from '../common/clock.js';
import type { Monotonic } from '../common/monotonic.js';
import { isKmsError, KmsError, kmsErrors } from '../common/errors.js';
import type { OperatorRecord, Store } from '../store/index.js';
import { hashPassphrase, verifyPassphrase, type PassphraseHash } from './passphrase.js';
import { ADMIN, type OperatorActor } from './quorum.js';

export const SESSION_IDLE_MS = 15 * 60_000;
export const SESSION_MAX_MS = 8 * 60 * 60_000;
export const MAX_FAILURES = 5;
export const LOCKOUT_MS = 5 * 60_000;
/** At most this many live sessions; signing in past it ends the oldest. */
const MAX_SESSIONS = 1_000;
/** Passphrase checks that run at once, and that may wait for them. */
export const MAX_CHECKS_AT_ONCE = 2;
export const MAX_CHECKS_WAITING = 16;
/** Names whose failures are counted at once; past it the oldest count goes. */
const MAX_FAILURE_COUNTS = 10_000;

export interface SignInDeps {
  store: Pick<Store, 'db' | 'ceremony'>;
  audit: AuditLog;
  /** For the times shown (wall-clock). */
  clock: Clock;
  /** For lockouts and session lifetimes (durations). */
  monotonic: Monotonic;
  /** Where refusals of callers nobody identified are audited, coalesced (without it, in full). */
  refusals?: RefusalLog;
}

export interface Session {
  operator: string;
  /** The digest of the operator record the passphrase was checked against (bindingOf). */
  binding: string;
  /** When it ends unless used again (idle), and never after `endsAt`: wall-clock, as of the call that returned it. */
  expiresAt: number;
  endsAt: number;
  /** How long until `endsAt`, as of the call that returned it: a duration, for a client whose clock is not this one. */
  endsInMs: number;
}

/** A session as kept: its ends on the monotonic clock, and on the wall clock (a suspend stops the other). */
interface LiveSession {
  operator: string;
  binding: string;
  idleEnd: number;
  end: number;
  wallIdleEnd: number;
  wallEnd: number;
}

/** Whether a session has ended, by either clock. */
const ended = (s: LiveSession, now: number, wallNow: number): boolean => s.idleEnd <= now || s.wallIdleEnd <= wallNow;

/** A refusal that checked no passphrase: nothing was learnt from it, so it is counted, not written in full. */
const UNCHECKED = Symbol('unchecked');
const unchecked = (e: KmsError): KmsError => Object.assign(e, { [UNCHECKED]: true });
const tooMany = () => unchecked(new KmsError('LimitExceeded', 'Too many sign-ins are being checked at once; try again in a moment.'));
const digestOf = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex');
/** What a session is bound to: the operator's key and passphrase record as enrolled. */
const bindingOf = (r: Pick<OperatorRecord, 'fingerprint' | 'passphrase'>): string => digestOf(`${r.fingerprint}\n${r.passphrase ?? ''}`);
const SIGN_IN_REFUSED = 'The operator name or the passphrase is wrong (or the operator has no console passphrase: kura operators passphrase NAME).';

export class ConsoleSignIn {
  private readonly sessions = new Map<string, LiveSession>();
  private readonly failures = new Map<string, { count: number; lockedUntil: number }>();
  private standIn: Promise<PassphraseHash> | undefined;
  private checking = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly deps: SignInDeps) {}

  /** Monotonic now: what lockouts and sessions are measured on. */
  private now(): number {
    return this.deps.monotonic.nowMs();
  }

  /** A monotonic instant as a wall-clock time, for showing. */
  private wall(mono: number, now: number): number {
    return this.deps.clock.nowMs() + (mono - now);
  }

  private view(s: LiveSession, now: number): Session {
    const endsAt = Math.min(this.wall(s.end, now), s.wallEnd);
    return { operator: s.operator, binding: s.binding, expiresAt: Math.min(this.wall(s.idleEnd, now), s.wallIdleEnd), endsAt, endsInMs: Math.max(0, endsAt - this.deps.clock.nowMs()) };
  }

  /** A passphrase's check for a name that has none: the same cost, never true. */
  private standInRecord(): Promise<PassphraseHash> {
    this.standIn ??= hashPassphrase(randomBytes(24).toString('base64'));
    return this.standIn;
  }

  /** Signs an operator in: a new session's token (shown once) and when it expires. */
  async signIn(operator: string, passphrase: string): Promise<{ token: string; session: Session }> {
    const now = this.now();
    let binding: string;
    try {
      const failed = this.failures.get(operator);
      if (failed && failed.lockedUntil > now) {
        throw unchecked(new KmsError('AccessDenied', `Too many wrong passphrases for ${operator}: sign-in is refused for ${lockoutLeft(failed.lockedUntil - now)} (until ${new Date(this.wall(failed.lockedUntil, now)).toISOString().slice(11, 19)} UTC).`));
      }
      // Refused for load before it counts as a guess (it is not one).
      if (this.checking >= MAX_CHECKS_AT_ONCE && this.waiting.length >= MAX_CHECKS_WAITING) throw tooMany();
      // Counted as a failure now, before anything is awaited, and forgiven if it succeeds: guesses sent
      // at once are counted as they arrive, so the sixth finds the name locked, however many are in flight.
      this.countFailure(operator, now);
      const record = await this.deps.store.ceremony.findOperator(operator);
      const stored = record?.passphrase ? (JSON.parse(record.passphrase) as PassphraseHash) : await this.standInRecord();
      const right = (await this.checkSlot(() => verifyPassphrase(passphrase, stored))) && record !== undefined && record.passphrase !== null;
      if (!right) throw new KmsError('AccessDenied', SIGN_IN_REFUSED);
      this.failures.delete(operator);
      binding = bindingOf(record);
    } catch (e) {
      const code = isKmsError(e) ? e.code : 'Internal';
      if (this.deps.refusals && (e as { [UNCHECKED]?: boolean })[UNCHECKED]) await this.deps.refusals.record({ source: 'admin', remote: 'console', reason: code, operation: 'ConsoleSignIn' });
      else await this.audited(operator, 'ConsoleSignIn', e);
      throw e;
    }
    const token = randomBytes(32).toString('base64url');
    const wallNow = this.deps.clock.nowMs();
    const live: LiveSession = {
      operator,
      binding,
      idleEnd: Math.min(now + SESSION_IDLE_MS, now + SESSION_MAX_MS),
      end: now + SESSION_MAX_MS,
      wallIdleEnd: Math.min(wallNow + SESSION_IDLE_MS, wallNow + SESSION_MAX_MS),
      wallEnd: wallNow + SESSION_MAX_MS,
    };
    this.prune(now);
    if (this.sessions.size >= MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value!);
    this.sessions.set(digestOf(token), live);
    await this.audited(operator, 'ConsoleSignIn');
    return { token, session: this.view(live, now) };
  }

  /**
   * The live session a token names, or undefined; an operator removed since has none. Its idle expiry
   * moves on, unless the call is a background one (`touch: false`: a poll, not the operator's doing).
   */
  async session(token: string, opts: { touch?: boolean } = {}): Promise<Session | undefined> {
    const key = digestOf(token);
    const s = this.sessions.get(key);
    const now = this.now();
    if (!s) return undefined;
    const wallNow = this.deps.clock.nowMs();
    const enrolled = ended(s, now, wallNow) ? undefined : await this.deps.store.ceremony.findOperator(s.operator);
    if (!enrolled || bindingOf(enrolled) !== s.binding) {
      this.sessions.delete(key);
      return undefined;
    }
    if (opts.touch !== false) {
      s.idleEnd = Math.min(now + SESSION_IDLE_MS, s.end);
      s.wallIdleEnd = Math.min(wallNow + SESSION_IDLE_MS, s.wallEnd);
    }
    return this.view(s, now);
  }

  /** Ends the session a token names; audited. */
  async signOut(token: string): Promise<void> {
    const key = digestOf(token);
    const s = this.sessions.get(key);
    if (!s) return;
    this.sessions.delete(key);
    await this.audited(s.operator, 'ConsoleSignOut');
  }

  /** Ends every session of an operator (removed, or a new passphrase), but the one `keep` names, if any. */
  endSessionsOf(operator: string, keep?: string): void {
    for (const [key, s] of this.sessions) if (s.operator === operator && key !== keep) this.sessions.delete(key);
  }

  /**
   * Sets an operator's console passphrase (at least 12 characters): by the admin token's holder, or by
   * the operator themselves giving their current one when they have one. Their sessions end, except,
   * when they change their own with their current one, the session they did it in (`session`, its
   * token): it has just shown the passphrase, and the console in it goes on to say the change was made.
   */
  async setPassphrase(by: OperatorActor, name: string, passphrase: string, current?: string, session?: string): Promise<void> {
    let kept: { key: string; fingerprint: string } | undefined;
    let passphraseRecord = '';
    try {
      const record = await this.deps.store.ceremony.findOperator(name);
      if (!record) throw kmsErrors.notFound(`No operator is named ${name} (kura operators list).`);
      if (by.operator !== ADMIN) {
        if (by.operator !== name) throw new KmsError('AccessDenied', `Only ${name}, or the appliance's administrator, can set ${name}'s passphrase.`);
        if (record.passphrase !== null && (current === undefined || !(await verifyPassphrase(current, JSON.parse(record.passphrase) as PassphraseHash)))) {
          throw new KmsError('AccessDenied', 'Changing your passphrase needs your current one ("currentPassphrase"), and it was not right.');
        }
        const key = session === undefined ? undefined : digestOf(session);
        if (key !== undefined && record.passphrase !== null && this.sessions.get(key)?.operator === name) kept = { key, fingerprint: record.fingerprint };
      }
      const hash = await hashPassphrase(passphrase);
      passphraseRecord = JSON.stringify(hash);
      await this.deps.store.db.write(async (tx) => {
        if (!(await this.deps.store.ceremony.setOperatorPassphrase(tx, name, passphraseRecord))) throw kmsErrors.notFound(`No operator is named ${name}.`);
        await this.deps.audit.appendIn(tx, this.event(by.operator, 'OperatorPassphraseSet', 'ok', name));
      });
    } catch (e) {
      await this.audited(by.operator, 'OperatorPassphraseSet', e, name);
      throw e;
    }
    this.endSessionsOf(name, kept?.key);
    // The kept session is bound to the new record, as a sign-in with the new passphrase would be.
    const live = kept && this.sessions.get(kept.key);
    if (kept && live) live.binding = bindingOf({ fingerprint: kept.fingerprint, passphrase: passphraseRecord });
    this.failures.delete(name);
  }

  private countFailure(operator: string, now: number): void {
    const f = this.failures.get(operator) ?? { count: 0, lockedUntil: 0 };
    f.count += 1;
    if (f.count >= MAX_FAILURES) {
      f.count = 0;
      f.lockedUntil = now + LOCKOUT_MS;
    }
    // Most recent last: the map's order is the order in which counts are forgotten.
    this.failures.delete(operator);
    if (this.failures.size >= MAX_FAILURE_COUNTS) this.failures.delete(this.failures.keys().next().value!);
    this.failures.set(operator, f);
  }

  /** Runs a passphrase check once fewer than MAX_CHECKS_AT_ONCE run; LimitExceeded when too many wait already. */
  private async checkSlot<T>(check: () => Promise<T>): Promise<T> {
    if (this.checking >= MAX_CHECKS_AT_ONCE) {
      if (this.waiting.length >= MAX_CHECKS_WAITING) throw tooMany();
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.checking++;
    }
    try {
      return await check();
    } finally {
      // The slot passes to the next in line, or is given back.
      const next = this.waiting.shift();
      if (next) next();
      else this.checking--;
    }
  }

  private prune(now: number): void {
    const wallNow = this.deps.clock.nowMs();
    for (const [key, s] of this.sessions) if (ended(s, now, wallNow)) this.sessions.delete(key);
  }

  private event(principal: string, operation: string, outcome: 'ok' | 'error', operatorName: string) {
    return { principal, source: 'admin' as const, operation, outcome, details: { operatorName: operatorName.slice(0, 64) } };
  }

  /** Audits an outcome; the entry is durable before the caller answers. */
  private async audited(principal: string, operation: string, error?: unknown, operatorName = principal): Promise<void> {
    const entry = this.event(principal.slice(0, 64), operation, error === undefined ? 'ok' : 'error', operatorName);
    await this.deps.audit.append(error === undefined ? entry : { ...entry, errorCode: isKmsError(error) ? error.code : 'Internal' });
  }
}

/** A lockout's remaining time as an operator reads it: whole minutes, or seconds in the last one. */
function lockoutLeft(ms: number): string {
  const seconds = Math.max(1, Math.ceil(ms / 1000));
  if (seconds < 60) return `${seconds} more second${seconds === 1 ? '' : 's'}`;
  const minutes = Math.ceil(seconds / 60);
  return `${minutes} more minute${minutes === 1 ? '' : 's'}`;
}
