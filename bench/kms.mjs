// Throughput and latency of SigV4-signed KMS calls on loopback: Encrypt (4 KiB plaintext) and
// GenerateDataKey (AES_256) at 10 and 50 concurrent keep-alive connections, against
//   kura     — a real `kura serve --dev` (the compiled dist/), fresh data directory;
//   ceiling  — bench/ceiling-server.mjs: node:http + Kura's SigV4 verifier + one AES-256-GCM encryption;
//   moto     — moto_server (python), the usual local KMS stand-in, if it is installed.
// Goals: Kura ≥ 0.6 × ceiling and ≥ 5 × moto_server in req/s.
//
// Every request is signed when it is sent (@smithy/signature-v4 with node:crypto SHA-256), and sent with
// plain node:http, so the client cost is the same for the three servers. The load generator runs in this
// process and each server in its own child process; on a small machine they still share the cores.
//
// Usage: npm run bench:kms [-- --seconds N] [--json] [--servers kura,ceiling,moto] [--cpu-prof DIR]
//   --seconds N   measured seconds per point after a 1 s warm-up (default 5)
//   --json        print the raw results as JSON instead of the table
//   --servers     which servers to run (default all three)
//   --cpu-prof D  run Kura under `node --cpu-prof --cpu-prof-dir D` (the profile is written when it stops)
import { spawn } from 'node:child_process';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { SignatureV4 } from '@smithy/signature-v4';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OPERATIONS = ['Encrypt', 'GenerateDataKey'];
const CONCURRENCIES = [10, 50];
const WARMUP_MS = 1_000;
const PLAINTEXT_BYTES = 4096;
const GOAL_VS_CEILING = 0.6;
const GOAL_VS_MOTO = 5;
const START_TIMEOUT_MS = 30_000;
const REQUEST_TIMEOUT_MS = 30_000;

const { values: flags } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    json: { type: 'boolean', default: false },
    servers: { type: 'string', default: 'kura,ceiling,moto' },
    'cpu-prof': { type: 'string' },
    help: { type: 'boolean', default: false },
  },
  strict: true,
});
if (flags.help) {
  process.stdout.write(fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').filter((l) => l.startsWith('//')).map((l) => l.slice(3)).join('\n') + '\n');
  process.exit(0);
}
const SECONDS = Number(flags.seconds);
if (!(SECONDS > 0 && SECONDS <= 120)) throw new Error('--seconds must be a number in (0, 120]');
const SERVERS = flags.servers.split(',').map((s) => s.trim()).filter(Boolean);
for (const s of SERVERS) if (!['kura', 'ceiling', 'moto'].includes(s)) throw new Error(`unknown server "${s}" in --servers`);

const LOAD_AT_START = os.loadavg()[0];
const progress = (line) => process.stderr.write(`[bench:kms] ${line}\n`);

// ---- child processes --------------------------------------------------------------------------------

/** Every child we started, so that exit, an error or ^C never leaves a server behind. */
const children = new Set();
const tempDirs = new Set();

function killAllNow() {
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
process.on('exit', killAllNow);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    progress(`${signal}: stopping servers`);
    killAllNow();
    process.exit(130);
  });
}

/** Spawns a server, waits for `ready` to match its stdout (or to resolve), returns a handle. */
async function startChild(name, command, args, { env, ready }) {
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

const waitForStdout = (pattern) => (read) =>
  new Promise((resolve) => {
    const poll = () => {
      const m = pattern.exec(read());
      if (m) resolve(m);
      else setTimeout(poll, 20);
    };
    poll();
  });

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** user+system CPU seconds of a Linux process, or undefined elsewhere. */
function cpuSecondsOf(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of stat(5); fields[0] here is field 3.
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}
const CLOCK_TICKS = 100;

// ---- signing and sending ----------------------------------------------------------------------------

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

function kmsClient(endpoint, credentials) {
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

function send(agent, options, body) {
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

// ---- one measurement point --------------------------------------------------------------------------

const PLAINTEXT_B64 = randomBytes(PLAINTEXT_BYTES).toString('base64');
const bodyFor = (operation, keyId) =>
  JSON.stringify(operation === 'Encrypt' ? { KeyId: keyId, Plaintext: PLAINTEXT_B64 } : { KeyId: keyId, KeySpec: 'AES_256' });

const quantile = (sorted, q) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]);

/**
 * `concurrency` workers, each on its own keep-alive socket, send back-to-back calls: WARMUP_MS unrecorded,
 * then SECONDS recorded. Latency is from handing the signed request to node:http to the end of the
 * response body (signing excluded); req/s counts 200s over the time from the end of the warm-up until
 * the last recorded call finished.
 */
async function measure(server, client, operation, concurrency) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const body = bodyFor(operation, server.keyId);
  const latenciesMs = [];
  const errorSamples = new Map();
  let ok = 0;
  let errors = 0;
  const t0 = process.hrtime.bigint();
  const measureFrom = t0 + BigInt(WARMUP_MS) * 1_000_000n;
  const measureUntil = measureFrom + BigInt(Math.round(SECONDS * 1000)) * 1_000_000n;
  let lastEnd = measureFrom;
  let cpuClient;
  let cpuServer;
  let wallAtMark;
  const markCpu = () => {
    cpuClient = process.cpuUsage();
    cpuServer = cpuSecondsOf(server.pid);
    wallAtMark = process.hrtime.bigint();
  };
  const warmupTimer = setTimeout(markCpu, WARMUP_MS);

  const noteError = (text) => {
    errors++;
    errorSamples.set(text, (errorSamples.get(text) ?? 0) + 1);
  };

  const worker = async () => {
    while (process.hrtime.bigint() < measureUntil) {
      const options = await client.sign(operation, body);
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
  const serverCpuEnd = cpuSecondsOf(server.pid);
  agent.destroy();

  latenciesMs.sort((a, b) => a - b);
  const elapsedS = Number(lastEnd - measureFrom) / 1e9;
  return {
    server: server.name,
    operation,
    concurrency,
    seconds: elapsedS,
    ok,
    errors,
    errorSamples: Object.fromEntries(errorSamples),
    reqPerSec: elapsedS > 0 ? ok / elapsedS : 0,
    p50Ms: quantile(latenciesMs, 0.5),
    p99Ms: quantile(latenciesMs, 0.99),
    meanMs: latenciesMs.length ? latenciesMs.reduce((a, b) => a + b, 0) / latenciesMs.length : NaN,
    maxMs: latenciesMs.at(-1) ?? NaN,
    // Share of one core used during the recorded part: 100 % = one full core; the machine has os.availableParallelism().
    clientCpuPct: clientCpu ? ((clientCpu.user + clientCpu.system) / 1e6 / wallS) * 100 : undefined,
    serverCpuPct: cpuServer !== undefined && serverCpuEnd !== undefined ? ((serverCpuEnd - cpuServer) / wallS) * 100 : undefined,
  };
}

// ---- the three servers ------------------------------------------------------------------------------

async function startKura() {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-bench-'));
  tempDirs.add(dataDir);
  const nodeArgs = flags['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(flags['cpu-prof'])] : [];
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
  return { ...handle, endpoint, credentials };
}

async function startCeiling() {
  const credentials = { accessKeyId: 'AKIACEILINGBENCH0001', secretAccessKey: randomBytes(30).toString('base64') };
  const handle = await startChild('ceiling', process.execPath, [path.join(ROOT, 'bench', 'ceiling-server.mjs')], {
    env: { CEILING_ACCESS_KEY_ID: credentials.accessKeyId, CEILING_SECRET_ACCESS_KEY: credentials.secretAccessKey },
    ready: waitForStdout(/ceiling listening on (http:\/\/\S+)/),
  });
  return { ...handle, endpoint: /ceiling listening on (http:\/\/\S+)/.exec(handle.stdout())[1], credentials };
}

function motoCommand() {
  const onPath = (name) => (process.env.PATH ?? '').split(path.delimiter).some((dir) => dir && fs.existsSync(path.join(dir, name)));
  if (onPath('moto_server')) return { command: 'moto_server', args: [] };
  return { command: 'python3', args: ['-m', 'moto.server'] };
}

async function motoInstalled() {
  const probe = spawn('python3', ['-c', 'import moto, flask, werkzeug'], { stdio: 'ignore' });
  return new Promise((resolve) => {
    probe.on('error', () => resolve(false));
    probe.on('exit', (code) => resolve(code === 0));
  });
}

async function startMoto() {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const { command, args } = motoCommand();
  const answers = async () => {
    for (;;) {
      try {
        const agent = new http.Agent({ keepAlive: false });
        await send(agent, { hostname: '127.0.0.1', port, method: 'GET', path: '/moto-api/', headers: {} }, '');
        agent.destroy();
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };
  const handle = await startChild('moto', command, [...args, '-H', '127.0.0.1', '-p', String(port)], { ready: answers });
  // moto does not check signatures, but gets them anyway so that the client does the same work.
  return { ...handle, endpoint, credentials: { accessKeyId: 'AKIAMOTOBENCH0000001', secretAccessKey: 'moto-does-not-check-this' } };
}

// ---- report ------------------------------------------------------------------------------------------

const fmt = (n, digits = 1) => (n === undefined || Number.isNaN(n) ? '—' : n.toFixed(digits));

function table(rows, columns) {
  const widths = columns.map((c) => Math.max(c.title.length, ...rows.map((r) => String(c.value(r)).length)));
  const line = (cells) => cells.map((cell, i) => (columns[i].left ? String(cell).padEnd(widths[i]) : String(cell).padStart(widths[i]))).join('  ');
  return [line(columns.map((c) => c.title)), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map((r) => line(columns.map((c) => c.value(r))))].join('\n');
}

function report(results, skipped) {
  const cores = os.availableParallelism();
  const out = [];
  out.push(`KMS on loopback: ${SECONDS} s per point after ${WARMUP_MS / 1000} s warm-up; every request SigV4-signed at send time; Encrypt with ${PLAINTEXT_BYTES} B plaintext, GenerateDataKey AES_256.`);
  out.push(`Note: the load generator runs in this process and each server in its own child process, but all share the machine's ${cores} CPU core(s); the client's own CPU use is shown (100 % = one core), so absolute numbers are lower than on a dedicated client, and relative ones are what count.`);
  out.push(`Machine load average (1 min) at start ${fmt(LOAD_AT_START, 2)}, at end ${fmt(os.loadavg()[0], 2)}: anything else running on the machine skews these numbers.`);
  out.push(`Latency: from handing the signed request to node:http to the end of the response (signing excluded). Errors: any non-200 or network failure.`);
  out.push('');
  out.push(
    table(results, [
      { title: 'server', value: (r) => r.server, left: true },
      { title: 'operation', value: (r) => r.operation, left: true },
      { title: 'conc', value: (r) => r.concurrency },
      { title: 'req/s', value: (r) => fmt(r.reqPerSec, 0) },
      { title: 'p50 ms', value: (r) => fmt(r.p50Ms, 2) },
      { title: 'p99 ms', value: (r) => fmt(r.p99Ms, 2) },
      { title: 'errors', value: (r) => r.errors },
      { title: 'server cpu%', value: (r) => fmt(r.serverCpuPct, 0) },
      { title: 'client cpu%', value: (r) => fmt(r.clientCpuPct, 0) },
    ]),
  );
  for (const s of skipped) out.push(`\n${s.server}: NOT MEASURED — ${s.reason}`);

  const errored = results.filter((r) => r.errors > 0);
  if (errored.length > 0) {
    out.push('\nErrors:');
    for (const r of errored) {
      out.push(`  ${r.server} ${r.operation} c=${r.concurrency}: ${r.errors}${r.server === 'kura' ? '  ← a finding' : ''}`);
      for (const [text, count] of Object.entries(r.errorSamples).slice(0, 3)) out.push(`    ${count} × ${text}`);
    }
  }

  const find = (server, operation, concurrency) => results.find((r) => r.server === server && r.operation === operation && r.concurrency === concurrency);
  const ratioRows = [];
  for (const operation of OPERATIONS) {
    for (const concurrency of CONCURRENCIES) {
      const kura = find('kura', operation, concurrency);
      if (!kura) continue;
      const ceiling = find('ceiling', operation, concurrency);
      const moto = find('moto', operation, concurrency);
      const vsCeiling = ceiling && ceiling.reqPerSec > 0 ? kura.reqPerSec / ceiling.reqPerSec : undefined;
      const vsMoto = moto && moto.reqPerSec > 0 ? kura.reqPerSec / moto.reqPerSec : undefined;
      const verdict = (ratio, goal) => (ratio === undefined ? 'n/a' : ratio >= goal ? 'meets goal' : 'SHORT of goal');
      ratioRows.push({ operation, concurrency, vsCeiling, vsMoto, cv: verdict(vsCeiling, GOAL_VS_CEILING), mv: verdict(vsMoto, GOAL_VS_MOTO) });
    }
  }
  if (ratioRows.length > 0) {
    out.push('\nRatios (req/s):');
    out.push(
      table(ratioRows, [
        { title: 'operation', value: (r) => r.operation, left: true },
        { title: 'conc', value: (r) => r.concurrency },
        { title: 'kura/ceiling', value: (r) => fmt(r.vsCeiling, 2) },
        { title: `goal ≥ ${GOAL_VS_CEILING}`, value: (r) => r.cv, left: true },
        { title: 'kura/moto', value: (r) => fmt(r.vsMoto, 1) },
        { title: `goal ≥ ${GOAL_VS_MOTO}`, value: (r) => r.mv, left: true },
      ]),
    );
  }
  return out.join('\n');
}

// ---- main ---------------------------------------------------------------------------------------------

const STARTERS = { kura: startKura, ceiling: startCeiling, moto: startMoto };

async function main() {
  const results = [];
  const skipped = [];
  const began = Date.now();
  for (const name of SERVERS) {
    if (name === 'moto' && !(await motoInstalled())) {
      const reason = 'moto is not installed for python3 (`python3 -c "import moto"` failed); pip install "moto[server]" to compare.';
      progress(`moto: ${reason}`);
      skipped.push({ server: 'moto', reason });
      continue;
    }
    progress(`${name}: starting`);
    let server;
    try {
      server = await STARTERS[name]();
      const client = kmsClient(server.endpoint, server.credentials);
      const created = await client.call('CreateKey', { Description: 'bench:kms' });
      server.keyId = created.KeyMetadata.KeyId;
      progress(`${name}: pid ${server.pid}, ${server.endpoint}, key ${server.keyId}`);
      for (const operation of OPERATIONS) {
        for (const concurrency of CONCURRENCIES) {
          progress(`${name}: ${operation} × ${concurrency} connections (${WARMUP_MS / 1000} s warm-up + ${SECONDS} s)`);
          const r = await measure(server, client, operation, concurrency);
          progress(`${name}: ${operation} × ${concurrency}: ${fmt(r.reqPerSec, 0)} req/s, p50 ${fmt(r.p50Ms, 2)} ms, p99 ${fmt(r.p99Ms, 2)} ms, ${r.errors} errors`);
          results.push(r);
        }
      }
    } catch (e) {
      if (name === 'kura') throw e;
      const reason = `failed: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`;
      progress(`${name}: ${reason}`);
      skipped.push({ server: name, reason });
    } finally {
      if (server) {
        progress(`${name}: stopping`);
        await server.stop();
      }
    }
  }
  progress(`done in ${((Date.now() - began) / 1000).toFixed(0)} s`);
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ seconds: SECONDS, warmupMs: WARMUP_MS, plaintextBytes: PLAINTEXT_BYTES, cores: os.availableParallelism(), loadAverage: { start: LOAD_AT_START, end: os.loadavg()[0] }, results, skipped }, null, 2)}\n`);
  } else {
    process.stdout.write(`${report(results, skipped)}\n`);
  }
  if (results.some((r) => r.server === 'kura' && r.errors > 0)) process.exitCode = 1;
}

main().catch((e) => {
  process.stderr.write(`bench:kms failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  killAllNow();
  process.exit(1);
});
