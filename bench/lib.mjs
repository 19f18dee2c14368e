// What the loopback benchmarks (bench/kms.mjs, bench/sign.mjs, …) share: the --help text from a script's
// header, child servers in their own process groups (never left behind), a `kura serve --dev` to measure,
// SoftHSM2 tokens in a directory of their own (bench/hsm.mjs, bench/xks.mjs),
// SigV4-signed KMS calls over plain node:http keep-alive connections, the timed load loop, and tables.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { signRequest } from '../dist/sigv4/sign.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const START_TIMEOUT_MS = 30_000;
const REQUEST_TIMEOUT_MS = 30_000;
const CLOCK_TICKS = 100;

/** Prints the `//` header of the script at `scriptUrl` (its usage) and exits. */
export function printHelpAndExit(scriptUrl) {
  // The script's leading comment block: what it measures and its usage (later comments are the code's).
  const lines = fs.readFileSync(fileURLToPath(scriptUrl), 'utf8').split('\n');
  const end = lines.findIndex((l) => !l.startsWith('//'));
  process.stdout.write(`${lines.slice(0, end === -1 ? lines.length : end).map((l) => l.slice(3)).join('\n')}\n`);
  process.exit(0);
}

/** The --seconds flag as a number in (0, 120]. */
export function secondsFlag(text) {
  const seconds = Number(text);
  if (!(seconds > 0 && seconds <= 120)) throw new Error('--seconds must be a number in (0, 120]');
  return seconds;
}

/** A comma-separated list of whole numbers from `min` to `max` (--sizes, --concurrency). */
export function listFlag(name, raw, min, max) {
  const list = raw.split(',').map((v) => Number(v.trim()));
  if (list.length === 0 || list.some((n) => !Number.isInteger(n) || n < min || n > max)) throw new Error(`--${name} takes whole numbers from ${min} to ${max}, comma-separated, not "${raw}"`);
  return list;
}

/** A progress line writer to stderr, tagged `[name]`. */
export const progressLog = (name) => (line) => process.stderr.write(`[${name}] ${line}\n`);

// ---- SoftHSM2 ------------------------------------------------------------------------------------------

export const SOFTHSM_MODULE = '/usr/lib/softhsm/libsofthsm2.so';

/**
 * A SoftHSM2 token directory of our own (never a system token), as test/support/tokens.ts makes it;
 * SOFTHSM2_CONF is set in this process so that every child (Kura, `kura hsm add`, a ceiling) inherits it.
 * Removed by remove(), and by killAllNow() if the script stops first.
 */
export function softHsmDir() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-bench-softhsm-'));
  tempDirs.add(dir);
  const tokenDir = path.join(dir, 'tokens');
  fs.mkdirSync(tokenDir);
  const conf = path.join(dir, 'softhsm2.conf');
  fs.writeFileSync(conf, `directories.tokendir = ${tokenDir}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
  process.env.SOFTHSM2_CONF = conf;
  return {
    dir,
    /** A token in a free slot with a random user PIN (7–32 characters, as KeyStorePassword allows). */
    makeToken(label) {
      const pin = randomBytes(8).toString('hex');
      execFileSync('softhsm2-util', ['--init-token', '--free', '--label', label, '--pin', pin, '--so-pin', randomBytes(8).toString('hex')], { stdio: 'pipe' });
      return { label, pin };
    },
    remove: () => {
      tempDirs.delete(dir);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ---- child processes ---------------------------------------------------------------------------------

/** Every child we started, so that exit, an error or ^C never leaves a server behind. */
const children = new Set();
const tempDirs = new Set();

/** SIGKILLs every child still running and removes the temporary directories. */
export function killAllNow() {
  for (const child of children) {
    try {
      // Each child leads its own process group (detached), which also catches anything it forked.
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  children.clear();
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

/** Kills the children on exit and on SIGINT/SIGTERM/SIGHUP (after `onSignal(signal)`, e.g. a progress line). */
export function killChildrenOnExit(onSignal) {
  process.on('exit', killAllNow);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => {
      onSignal(signal);
      killAllNow();
      process.exit(130);
    });
  }
}

/** Spawns a server, waits for `ready` to match its stdout (or to resolve), returns a handle. */
export async function startChild(name, command, args, { env, ready }) {
  const proc = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  children.add(proc);
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d) => (stdout += d.toString()));
  // moto logs every request to stderr; keep only the tail for error reports.
  proc.stderr.on('data', (d) => (stderr = (stderr + d.toString()).slice(-8_000)));
  const exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve(code ?? signal)));
  const handle = {
    name,
    proc,
    pid: proc.pid,
    stdout: () => stdout,
    stderr: () => stderr,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        try {
          process.kill(-proc.pid, 'SIGTERM');
        } catch {
          /* gone */
        }
        const timer = setTimeout(() => {
          try {
            process.kill(-proc.pid, 'SIGKILL');
          } catch {
            /* gone */
          }
        }, 20_000);
        await exited;
        clearTimeout(timer);
      }
      children.delete(proc);
    },
  };
  let timer;
  try {
    await Promise.race([
      ready(() => stdout),
      exited.then((code) => {
        throw new Error(`${name} exited (${code}) before it was ready.\nstdout: ${stdout}\nstderr: ${stderr}`);
      }),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${name} not ready in ${START_TIMEOUT_MS / 1000} s.\nstdout: ${stdout}\nstderr: ${stderr}`)), START_TIMEOUT_MS);
      }),
    ]);
  } catch (e) {
    await handle.stop();
    throw e;
  } finally {
    clearTimeout(timer);
  }
  return handle;
}

/** A `ready` for startChild: resolves with the match once `pattern` matches the child's stdout. */
export const waitForStdout = (pattern) => (read) =>
  new Promise((resolve) => {
    const poll = () => {
      const m = pattern.exec(read());
      if (m) resolve(m);
      else setTimeout(poll, 20);
    };
    poll();
  });

/**
 * A real `kura serve --dev` (the compiled dist/) on a free port with a fresh data directory (named
 * `tempPrefix…`, removed when it stops); `cpuProfDir` runs it under `node --cpu-prof`. The handle
 * also carries the KMS endpoint and the dev credential Kura printed.
 */
export async function startKura({ tempPrefix, cpuProfDir }) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), tempPrefix));
  tempDirs.add(dataDir);
  const nodeArgs = cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(cpuProfDir)] : [];
  const handle = await startChild(
    'kura',
    process.execPath,
    [...nodeArgs, path.join(ROOT, 'bin', 'kura.js'), 'serve', '--dev', '--port', '0', '--data-dir', dataDir, '--log-level', 'warn'],
    { ready: waitForStdout(/KMS endpoint: (http:\/\/\S+)[\s\S]*export AWS_SECRET_ACCESS_KEY=\S+\n/) },
  );
  const out = handle.stdout();
  const endpoint = /KMS endpoint: (http:\/\/\S+)/.exec(out)[1];
  const credentials = {
    accessKeyId: /export AWS_ACCESS_KEY_ID=(\S+)/.exec(out)?.[1] ?? '',
    secretAccessKey: /export AWS_SECRET_ACCESS_KEY=(\S+)/.exec(out)?.[1] ?? '',
  };
  if (!credentials.accessKeyId || !credentials.secretAccessKey) throw new Error(`no dev credential in Kura's output:\n${out}`);
  return {
    ...handle,
    endpoint,
    credentials,
    dataDir,
    async stop() {
      await handle.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
      tempDirs.delete(dataDir);
    },
  };
}

/** user+system CPU seconds of a Linux process, or undefined elsewhere. */
export function cpuSecondsOf(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of stat(5); fields[0] here is field 3.
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

// ---- signing and sending ---------------------------------------------------------------------------------

/**
 * A SigV4 signer for the KMS JSON API at `endpoint`, signing each request when it is sent.
 *
 * It signs with Kura's own signer (dist/sigv4/sign.js, as bench:xks's client does), which
 * test/sigv4/sign.test.ts holds to the Authorization header @smithy/signature-v4 gives for the same
 * request. The load generator shares the machine's cores with the server it measures, so what it
 * spends is taken from the server: @smithy's signer (Promise-based, a Checksum object per hash) cost the
 * client about 15 % more CPU per call, and on 2 cores that came out of Kura's share. It also signs
 * x-amz-content-sha256, one header more for the server to canonicalize than the AWS SDKs send for KMS.
 */
export function kmsClient(endpoint, credentials) {
  const url = new URL(endpoint);
  const port = Number(url.port);
  return {
    /** Signs now (never ahead of time) and returns node:http request options. */
    sign(action, body) {
      const headers = signRequest({
        method: 'POST',
        host: url.host,
        path: '/',
        body,
        ...credentials,
        region: 'us-east-1',
        service: 'kms',
        nowMs: Date.now(),
        headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `TrentService.${action}` },
      });
      headers['content-length'] = String(Buffer.byteLength(body));
      return { hostname: url.hostname, port, method: 'POST', path: '/', headers };
    },
    /** One signed call outside the load loop (setup); throws on a non-200. */
    async call(action, input) {
      const body = JSON.stringify(input);
      const agent = new http.Agent({ keepAlive: false });
      const r = await send(agent, await this.sign(action, body), body);
      agent.destroy();
      if (r.status !== 200) throw new Error(`${action} at ${endpoint} answered ${r.status}: ${r.body}`);
      return JSON.parse(r.body);
    },
  };
}

/** One request over `agent`; resolves with the status and the whole body as text. */
export function send(agent, options, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ ...options, agent, timeout: REQUEST_TIMEOUT_MS }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer in ${REQUEST_TIMEOUT_MS / 1000} s`)));
    req.on('error', reject);
    req.end(body);
  });
}

// ---- one measurement point ---------------------------------------------------------------------------------

const quantile = (sorted, q) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]);

/**
 * `concurrency` workers, each on its own keep-alive socket, send back-to-back `action` calls with `body`:
 * `warmupMs` unrecorded, then `seconds` recorded. Latency is from handing the signed request to node:http
 * to the end of the response body (signing excluded); perSec counts 200s over the time from the end of
 * the warm-up until the last recorded call finished. CPU shares are of one core (100 % = one full core)
 * during the recorded part, for this process (client) and the server's `serverPid`.
 */
export async function measureCalls({ client, serverPid, action, body, concurrency, warmupMs, seconds }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const latenciesMs = [];
  const errorSamples = new Map();
  let ok = 0;
  let errors = 0;
  const t0 = process.hrtime.bigint();
  const measureFrom = t0 + BigInt(warmupMs) * 1_000_000n;
  const measureUntil = measureFrom + BigInt(Math.round(seconds * 1000)) * 1_000_000n;
  let lastEnd = measureFrom;
  let cpuClient;
  let cpuServer;
  let wallAtMark;
  const markCpu = () => {
    cpuClient = process.cpuUsage();
    cpuServer = cpuSecondsOf(serverPid);
    wallAtMark = process.hrtime.bigint();
  };
  const warmupTimer = setTimeout(markCpu, warmupMs);

  const noteError = (text) => {
    errors++;
    errorSamples.set(text, (errorSamples.get(text) ?? 0) + 1);
  };

  const worker = async () => {
    while (process.hrtime.bigint() < measureUntil) {
      const options = await client.sign(action, body);
      const start = process.hrtime.bigint();
      let status;
      let text;
      try {
        ({ status, body: text } = await send(agent, options, body));
      } catch (e) {
        status = 0;
        text = e.message;
      }
      const end = process.hrtime.bigint();
      if (start < measureFrom) continue;
      if (end > lastEnd) lastEnd = end;
      if (status === 200) {
        ok++;
        latenciesMs.push(Number(end - start) / 1e6);
      } else {
        noteError(status === 0 ? `network: ${text}` : `${status} ${text.slice(0, 160)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  clearTimeout(warmupTimer);
  const wallS = Number(process.hrtime.bigint() - (wallAtMark ?? measureFrom)) / 1e9;
  const clientCpu = cpuClient ? process.cpuUsage(cpuClient) : undefined;
  const serverCpuEnd = cpuSecondsOf(serverPid);
  agent.destroy();

  latenciesMs.sort((a, b) => a - b);
  const elapsedS = Number(lastEnd - measureFrom) / 1e9;
  return {
    seconds: elapsedS,
    ok,
    errors,
    errorSamples: Object.fromEntries(errorSamples),
    perSec: elapsedS > 0 ? ok / elapsedS : 0,
    p50Ms: quantile(latenciesMs, 0.5),
    p99Ms: quantile(latenciesMs, 0.99),
    meanMs: latenciesMs.length ? latenciesMs.reduce((a, b) => a + b, 0) / latenciesMs.length : NaN,
    maxMs: latenciesMs.at(-1) ?? NaN,
    clientCpuPct: clientCpu ? ((clientCpu.user + clientCpu.system) / 1e6 / wallS) * 100 : undefined,
    serverCpuPct: cpuServer !== undefined && serverCpuEnd !== undefined ? ((serverCpuEnd - cpuServer) / wallS) * 100 : undefined,
    // CPU the server spent per answered call: steadier than req/s when the machine's speed wanders
    // from minute to minute, since it does not count the time the server waited for a core.
    serverCpuUsPerCall: cpuServer !== undefined && serverCpuEnd !== undefined && ok + errors > 0 ? ((serverCpuEnd - cpuServer) * 1e6) / ((ok + errors) * (wallS / Math.max(elapsedS, 1e-9))) : undefined,
  };
}

// ---- report ------------------------------------------------------------------------------------------------

/** A plain-text table: a title row, a rule, a row per item; `left` columns are left-aligned. */
export function table(rows, columns) {
  const widths = columns.map((c) => Math.max(c.title.length, ...rows.map((r) => String(c.value(r)).length)));
  const line = (cells) => cells.map((cell, i) => (columns[i].left ? String(cell).padEnd(widths[i]) : String(cell).padStart(widths[i]))).join('  ');
  return [line(columns.map((c) => c.title)), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map((r) => line(columns.map((c) => c.value(r))))].join('\n');
}

/** The median of the numbers given (NaN for none). */
export const median = (xs) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length === 0 ? NaN : sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/**
 * Rounds of measureCalls-shaped rows (reqPerSec, p50Ms, p99Ms, meanMs, maxMs, cpu%, ok, errors,
 * errorSamples, seconds) into one row per group (`groupOf` names it): the medians of its rounds, errors
 * and calls summed, the largest maximum, each round's req/s kept (reqPerSecRounds). The group's other
 * fields (server, operation or size, concurrency) come from its first row.
 */
export function combineRounds(rounds, groupOf) {
  const groups = new Map();
  for (const r of rounds) {
    const k = groupOf(r);
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k).push(r);
  }
  return [...groups.values()].map((rs) => {
    const errorSamples = {};
    for (const r of rs) for (const [text, n] of Object.entries(r.errorSamples ?? {})) errorSamples[text] = (errorSamples[text] ?? 0) + n;
    const m = (key) => median(rs.map((r) => r[key]).filter((v) => v !== undefined && !Number.isNaN(v)));
    const maxima = rs.map((r) => r.maxMs).filter((v) => v !== undefined && !Number.isNaN(v));
    return {
      ...rs[0],
      rounds: rs.length,
      seconds: rs.reduce((n, r) => n + r.seconds, 0),
      ok: rs.reduce((n, r) => n + r.ok, 0),
      errors: rs.reduce((n, r) => n + r.errors, 0),
      errorSamples,
      reqPerSec: m('reqPerSec'),
      reqPerSecRounds: rs.map((r) => Math.round(r.reqPerSec)),
      p50Ms: m('p50Ms'),
      p99Ms: m('p99Ms'),
      meanMs: m('meanMs'),
      maxMs: maxima.length ? Math.max(...maxima) : NaN,
      clientCpuPct: m('clientCpuPct'),
      serverCpuPct: m('serverCpuPct'),
      serverCpuUsPerCall: m('serverCpuUsPerCall'),
    };
  });
}

/**
 * Starts the servers (`start(name)` → a handle with stop(); `prepare(server)` makes its keys), then
 * measures every point on every server in turns, for `rounds` rounds, so that a slow minute of the
 * machine is shared rather than landing on one server; stops them all at the end, or on a failure.
 * A server other than `required` that fails to start is skipped with its reason. Returns every round's
 * rows (combineRounds makes the table's) and the skipped servers.
 */
export async function measureInTurns({ names, required, start, prepare, points, rounds, measure, progress, warmupMs, seconds }) {
  const running = [];
  const skipped = [];
  const perRound = [];
  try {
    for (const name of names) {
      progress(`${name}: starting`);
      try {
        const server = await start(name);
        if (server === undefined) continue;
        running.push(server);
        server.name = name;
        await prepare(server);
        progress(`${name}: pid ${server.pid}, ${server.endpoint}, key ${server.keyId}`);
      } catch (e) {
        if (name === required) throw e;
        const reason = `failed: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`;
        progress(`${name}: ${reason}`);
        skipped.push({ server: name, reason });
      }
    }
    for (let round = 1; round <= rounds; round++) {
      for (const point of points) {
        for (const server of running) {
          progress(`round ${round}/${rounds}: ${server.name} ${point.label} (${warmupMs / 1000} s warm-up + ${seconds} s)`);
          const r = await measure(server, point);
          const f = (n, d) => (n === undefined || Number.isNaN(n) ? '—' : n.toFixed(d));
          progress(`round ${round}/${rounds}: ${server.name} ${point.label}: ${f(r.reqPerSec, 0)} req/s, p50 ${f(r.p50Ms, 2)} ms, p99 ${f(r.p99Ms, 2)} ms, ${r.errors} errors`);
          perRound.push(r);
        }
      }
    }
  } finally {
    for (const server of running) {
      progress(`${server.name}: stopping`);
      await server.stop();
    }
  }
  return { perRound, skipped };
}

/**
 * A measureCalls result as a row of the tables: calls, errors, req/s, latencies, the share of one core
 * the client and the server used during the recorded part (100 % = one full core), and the server's CPU
 * time per call.
 */
export const rowOf = (m) => ({
  seconds: m.seconds,
  ok: m.ok,
  errors: m.errors,
  errorSamples: m.errorSamples,
  reqPerSec: m.perSec,
  p50Ms: m.p50Ms,
  p99Ms: m.p99Ms,
  meanMs: m.meanMs,
  maxMs: m.maxMs,
  clientCpuPct: m.clientCpuPct,
  serverCpuPct: m.serverCpuPct,
  serverCpuUsPerCall: m.serverCpuUsPerCall,
});

const fmtNumber = (n, digits) => (n === undefined || Number.isNaN(n) ? '—' : n.toFixed(digits));

/** The measured columns of a results table (after the columns that name the point). */
export const MEASURED_COLUMNS = [
  { title: 'req/s', value: (r) => fmtNumber(r.reqPerSec, 0) },
  { title: 'rounds', value: (r) => (r.reqPerSecRounds ?? []).join(' '), left: true },
  { title: 'p50 ms', value: (r) => fmtNumber(r.p50Ms, 2) },
  { title: 'p99 ms', value: (r) => fmtNumber(r.p99Ms, 2) },
  { title: 'errors', value: (r) => r.errors },
  { title: 'server cpu%', value: (r) => fmtNumber(r.serverCpuPct, 0) },
  { title: 'server µs/call', value: (r) => fmtNumber(r.serverCpuUsPerCall, 0) },
  { title: 'client cpu%', value: (r) => fmtNumber(r.clientCpuPct, 0) },
];

/** Report lines for servers not measured and points with errors (a Kura error is a finding). `pointOf` names a row's point. */
export function skippedAndErrorLines(results, skipped, pointOf) {
  const out = [];
  for (const s of skipped) out.push(`\n${s.server}: NOT MEASURED — ${s.reason}`);
  const errored = results.filter((r) => r.errors > 0);
  if (errored.length > 0) {
    out.push('\nErrors:');
    for (const r of errored) {
      out.push(`  ${r.server} ${pointOf(r)} c=${r.concurrency}: ${r.errors}${r.server === 'kura' ? '  ← a finding' : ''}`);
      for (const [text, count] of Object.entries(r.errorSamples).slice(0, 3)) out.push(`    ${count} × ${text}`);
    }
  }
  return out;
}
