// What the loopback benchmarks (bench/kms.mjs, bench/sign.mjs) share: the --help text from a script's
// header, child servers in their own process groups (never left behind), a `kura serve --dev` to measure,
// SigV4-signed KMS calls over plain node:http keep-alive connections, the timed load loop, and tables.
import { spawn } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignatureV4 } from '@smithy/signature-v4';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const START_TIMEOUT_MS = 30_000;
const REQUEST_TIMEOUT_MS = 30_000;
const CLOCK_TICKS = 100;

/** Prints the `//` header of the script at `scriptUrl` (its usage) and exits. */
export function printHelpAndExit(scriptUrl) {
  process.stdout.write(fs.readFileSync(fileURLToPath(scriptUrl), 'utf8').split('\n').filter((l) => l.startsWith('//')).map((l) => l.slice(3)).join('\n') + '\n');
  process.exit(0);
}

/** The --seconds flag as a number in (0, 120]. */
export function secondsFlag(text) {
  const seconds = Number(text);
  if (!(seconds > 0 && seconds <= 120)) throw new Error('--seconds must be a number in (0, 120]');
  return seconds;
}

/** A progress line writer to stderr, tagged `[name]`. */
export const progressLog = (name) => (line) => process.stderr.write(`[${name}] ${line}\n`);

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

/** node:crypto SHA-256 / HMAC-SHA-256 as a @smithy Checksum: far cheaper than the pure-JS sha256-js. */
class NodeSha256 {
  constructor(secret) {
    this.secret = secret;
    this.reset();
  }
  update(data) {
    this.hash.update(data);
  }
  async digest() {
    return this.hash.digest();
  }
  reset() {
    this.hash = this.secret === undefined ? createHash('sha256') : createHmac('sha256', this.secret);
  }
}

/** A SigV4 signer for the KMS JSON API at `endpoint`, signing each request when it is sent. */
export function kmsClient(endpoint, credentials) {
  const url = new URL(endpoint);
  const signer = new SignatureV4({ service: 'kms', region: 'us-east-1', credentials, sha256: NodeSha256 });
  const port = Number(url.port);
  return {
    /** Signs now (never ahead of time) and returns node:http request options. */
    async sign(action, body) {
      const signed = await signer.sign({
        method: 'POST',
        protocol: 'http:',
        hostname: url.hostname,
        port,
        path: '/',
        query: {},
        headers: {
          host: url.host,
          'content-type': 'application/x-amz-json-1.1',
          'x-amz-target': `TrentService.${action}`,
          'content-length': String(Buffer.byteLength(body)),
        },
        body,
      });
      return { hostname: url.hostname, port, method: 'POST', path: '/', headers: signed.headers };
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
  };
}

// ---- report ------------------------------------------------------------------------------------------------

/** A plain-text table: a title row, a rule, a row per item; `left` columns are left-aligned. */
export function table(rows, columns) {
  const widths = columns.map((c) => Math.max(c.title.length, ...rows.map((r) => String(c.value(r)).length)));
  const line = (cells) => cells.map((cell, i) => (columns[i].left ? String(cell).padEnd(widths[i]) : String(cell).padStart(widths[i]))).join('  ');
  return [line(columns.map((c) => c.title)), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map((r) => line(columns.map((c) => c.value(r))))].join('\n');
}
