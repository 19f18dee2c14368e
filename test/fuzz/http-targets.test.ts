// The listener under attack from one unauthenticated loopback client (issue #8, finding 1): raw TCP to a
// real `kura serve --dev` (the compiled dist/), sending the request-targets that used to stop the
// process, verbatim and with every common method, then thousands of generated requests (fuzz-targets.ts:
// methods, targets, versions, header sections, framing right and wrong). For every request it proves:
//  - an answer arrived: a status line, or for a message HTTP cannot parse the 400 Node's parser answers
//    before closing (an unanswered close, reset or silence is a failure);
//  - the status is below 500 or the documented 503;
//  - the body has no stack trace or internal text, and an error body has the shape of its route (KMS
//    `{"__type","message"}`; also admin `{"error","message"}` for targets naming /admin, XKS
//    `{"errorName","errorMessage"}` for targets naming /kms/xks/);
//  - the process is alive, and a signed ListKeys succeeds periodically and at the end.
// When the process dies anyway, the requests in flight are replayed one by one on a restarted appliance
// to name the one that kills it, so one run reports every killer (up to a restart budget).
//
// Seeded (KURA_FUZZ_SEED), bounded by a case count (KURA_FUZZ_CASES, default 3,000) and a time budget
// (KURA_FUZZ_SECONDS, default 8); `npm run fuzz` runs it longer.
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alive, errorShapeProblem, exchangeRaw, kmsCall, leaksIn, show, type ErrorShape, type RawAnswer } from '../support/fuzz-http.js';
import { Findings } from '../support/fuzz-report.js';
import { fuzzBudgetMs, fuzzCases, fuzzSeed, Rng, showSeed } from '../support/fuzz-rng.js';
import { CRASH_METHODS, CRASH_TARGETS, crashCase, generateHttpCase, type HttpCase } from '../support/fuzz-targets.js';
import { startKura, type KuraProcess } from '../support/kura-process.js';

const SEED = fuzzSeed();
const CASES = fuzzCases(3_000);
const BUDGET_MS = fuzzBudgetMs(8);
const PARALLEL = 8;
/** An answer to a request-target may echo the target (16 KiB at most): anything much larger is a bug. */
const MAX_ANSWER_BYTES = 64 * 1024;
/** Restarts after a death, per test: enough to name each former crash target once. */
const MAX_RESTARTS = 10;
const LIVENESS_EVERY = 500;

let kura: KuraProcess;
let restarts = 0;
const deaths: string[] = [];

beforeAll(async () => {
  kura = await startKura();
});

afterAll(async () => {
  await kura?.stop();
  if (kura) fs.rmSync(kura.dataDir, { recursive: true, force: true });
});

/** Resolves true if the process exits within `ms` (it dies right after the request that kills it). */
function exitsWithin(ms: number): Promise<boolean> {
  if (!alive(kura.proc)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      kura.proc.off('exit', onExit);
      resolve(false);
    }, ms);
    const onExit = () => {
      clearTimeout(timer);
      resolve(true);
    };
    kura.proc.once('exit', onExit);
  });
}

/** Starts a new appliance on the same data directory after a death; false once the budget is spent. */
async function restart(why: string): Promise<boolean> {
  // The error line of the dying process (e.g. "TypeError: Invalid URL") and its input, if it printed one.
  const stderr = kura.stderr();
  const error = /(?:^|\n)\s*(\w*Error\b[^\n]*)/.exec(stderr)?.[1] ?? show(stderr.slice(-200), 200);
  const input = /input: ('[^\n]*')/.exec(stderr)?.[1];
  deaths.push(`${why}: exit ${kura.proc.exitCode ?? kura.proc.signalCode}, ${error}${input ? ` (input ${input})` : ''}`);
  if (restarts >= MAX_RESTARTS) return false;
  restarts++;
  kura = await startKura({ dataDir: kura.dataDir });
  return true;
}

/** Sends one case; a half-close that lost the answer of a slow complete request is retried without it. */
async function send(c: HttpCase): Promise<RawAnswer> {
  const head = c.method === 'HEAD';
  const first = await exchangeRaw(c.bytes, { port: kura.port, head, timeoutMs: 5_000, halfCloseAfterMs: c.complete ? 1_500 : 0, maxBytes: MAX_ANSWER_BYTES });
  if (first.outcome !== 'closed' || first.status !== undefined || !alive(kura.proc)) return first;
  return exchangeRaw(c.bytes, { port: kura.port, head, timeoutMs: 8_000, halfCloseAfterMs: 3_000, maxBytes: MAX_ANSWER_BYTES });
}

/** Everything wrong with one answer, as "kind: detail" strings (empty when it passes). */
function judge(c: HttpCase, a: RawAnswer): string[] {
  const problems: string[] = [];
  const request = c.bytes.toString('latin1');
  if (a.status === undefined) {
    const how = a.outcome === 'timeout' ? 'no answer in time' : a.outcome === 'refused' ? 'connection refused (process down?)' : `${a.outcome} without an answer${a.error ? ` (${a.error})` : ''}`;
    // Node destroys a CONNECT's socket unanswered unless the server listens for 'connect'.
    problems.push(`no answer${c.method === 'CONNECT' ? ' to CONNECT' : ''}: ${how}`);
    return problems;
  }
  if (!(a.status < 500 || a.status === 503)) problems.push(`status ${a.status}`);
  if (a.outcome === 'oversize') problems.push(`answer over ${MAX_ANSWER_BYTES} bytes`);
  const text = a.body.toString('latin1');
  for (const leak of leaksIn(text, request)) problems.push(`leak: ${leak}`);
  if (a.status >= 400) {
    // The KMS shape, unless the target names another route family (how a server reads an absolute-
    // form or unusual target is its choice, so naming one anywhere allows its shape).
    const allowed: ErrorShape[] = ['kms'];
    if (c.target.includes('/admin')) allowed.push('admin');
    if (c.target.includes('/kms/xks/')) allowed.push('xks');
    const shape = errorShapeProblem(a.body, a.headers, allowed);
    if (shape !== undefined) problems.push(`error shape: ${shape}`);
  }
  return problems;
}

/** One case into the findings: its example line names the case and shows request and answer. */
function note(f: Findings, c: HttpCase, a: RawAnswer, problems: readonly string[]): void {
  f.note(`${c.id}: ${show(c.bytes, 160)} → ${a.statusLine || a.outcome} ${show(a.body, 160)}`, a.status !== undefined, a.raw.length, a.ms, problems);
}

/** A signed ListKeys: the legitimate client that must still be served. */
async function legitimateCallProblem(): Promise<string | undefined> {
  const a = await kmsCall(kura, 'ListKeys', '{}', { timeoutMs: 10_000 });
  return a.status === 200 ? undefined : `signed ListKeys answered ${a.status || a.headers.error}: ${show(a.body)}`;
}

describe(`the listener under request-target, method and header fuzzing (${showSeed(SEED)})`, () => {
  it('answers every former crash target with every common method, and stays up', async () => {
    deaths.length = 0;
    restarts = 0;
    const findings = new Findings('crash-targets', SEED);
    outer: for (const target of CRASH_TARGETS) {
      for (const method of CRASH_METHODS) {
        const c = crashCase(target, method, kura.port);
        const a = await send(c);
        if (a.status === undefined ? await exitsWithin(150) : !alive(kura.proc)) {
          // One death per target is enough to name it; its other methods wait for a fixed server.
          note(findings, c, a, ['the process died']);
          if (!(await restart(c.id))) {
            findings.add('restart budget spent', `stopped after ${MAX_RESTARTS} restarts, at ${c.id}`);
            break outer;
          }
          continue outer;
        }
        const problems = judge(c, a);
        if (a.status !== undefined && (a.status < 400 || a.status >= 500)) problems.push(`status ${a.status}: a former crash target is not a valid request (want a 4xx)`);
        note(findings, c, a, problems);
      }
    }
    const legit = await legitimateCallProblem();
    if (legit !== undefined) findings.add('legitimate client not served', legit);
    findings.notes.push(...deaths);
    findings.summarize({ restarts });
    expect(findings.report()).toBe('');
    expect(findings.tried, 'every target with every method').toBe(CRASH_TARGETS.length * CRASH_METHODS.length);
  }, 120_000);

  it(`answers ${CASES} generated requests (within ${BUDGET_MS / 1000} s) without a 5xx, a leak or a death`, async () => {
    deaths.length = 0;
    restarts = 0;
    const findings = new Findings('http-targets', SEED);
    const started = Date.now();
    let next = 0;
    let stop = false;
    let died = false;
    // Indices of the requests that went unanswered as the process died.
    let suspects: number[] = [];

    const runPool = async () => {
      const worker = async () => {
        while (!stop && !died && next < CASES && Date.now() - started < BUDGET_MS) {
          const index = next++;
          const c = generateHttpCase(new Rng(SEED, index), index, kura.port);
          const a = await send(c);
          // Not answered: did the process die? Then this request is a suspect, judged on replay.
          if (a.status === undefined && (await exitsWithin(150))) {
            died = true;
            suspects.push(index);
            continue;
          }
          note(findings, c, a, judge(c, a));
          if (index > 0 && index % LIVENESS_EVERY === 0) {
            const legit = await legitimateCallProblem();
            if (legit !== undefined && alive(kura.proc)) findings.add('legitimate client not served', `after ${c.id}: ${legit}`);
          }
        }
      };
      await Promise.all(Array.from({ length: PARALLEL }, worker));
    };

    while (!stop) {
      await runPool();
      if (!died) break;
      // The process died with these requests in flight: replay them alone to name the killer(s).
      const inFlight = suspects;
      suspects = [];
      died = false;
      if (!(await restart(`during gen ${inFlight.join(', ')}`))) {
        findings.add('restart budget spent', `stopped after ${MAX_RESTARTS} restarts`);
        break;
      }
      for (const index of inFlight) {
        const again = generateHttpCase(new Rng(SEED, index), index, kura.port);
        const a = await send(again);
        if (a.status === undefined ? await exitsWithin(150) : !alive(kura.proc)) {
          note(findings, again, a, ['the process died']);
          if (!(await restart(`replaying ${again.id}`))) {
            findings.add('restart budget spent', `stopped after ${MAX_RESTARTS} restarts`);
            stop = true;
            break;
          }
        } else note(findings, again, a, judge(again, a));
      }
    }

    if (alive(kura.proc)) {
      const legit = await legitimateCallProblem();
      if (legit !== undefined) findings.add('legitimate client not served', `at the end: ${legit}`);
    } else findings.add('the process died', 'at the end of the run');
    const seconds = (Date.now() - started) / 1000;
    findings.notes.push(...deaths);
    findings.summarize({ restarts, seconds, budgetSeconds: BUDGET_MS / 1000, cases: CASES });
    console.log(`[fuzz] http-targets ${showSeed(SEED)}: ${findings.tried} requests in ${seconds.toFixed(1)} s, ${findings.answered} answered, max answer ${findings.maxBytes} bytes, max ${findings.maxMs} ms`);
    expect(findings.report()).toBe('');
    // The run must have been a real one: a budget that let only a handful through proves nothing.
    expect(findings.tried, `${showSeed(SEED)}: too few requests went out`).toBeGreaterThanOrEqual(Math.min(CASES, 500));
  }, BUDGET_MS + 120_000);
});
