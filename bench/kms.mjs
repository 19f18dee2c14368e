// Throughput and latency of SigV4-signed KMS calls on loopback: Encrypt (4 KiB plaintext) and
// GenerateDataKey (AES_256) at 10 and 50 concurrent keep-alive connections, against
//   kura     — a real `kura serve --dev` (the compiled dist/), fresh data directory;
//   ceiling  — bench/ceiling-server.mjs: node:http + Kura's SigV4 verifier + one AES-256-GCM encryption;
//   moto     — moto_server (python), the usual local KMS stand-in, if it is installed;
//   kura-quorum — kura again, with three operators enrolled and a 2-of-3 quorum policy on every gated
//              action class (issue 13): the calls measured are not gated, so it shows what the approval
//              gate costs ungated calls (the goal: nothing measurable), beside kura in the same run.
// Goals (issue 10), same run: Encrypt 4 KiB ≥ 0.7 × ceiling at 50 connections and ≥ 0.5 × at 10, p99 ≤ 3 × the
// ceiling's p99, and ≥ 10 × moto_server, in req/s. GenerateDataKey is shown against the same goals.
//
// Every request is signed when it is sent (Kura's SigV4 signer, held to @smithy/signature-v4's output by
// test/sigv4/sign.test.ts, and cheaper on the client: bench/lib.mjs kmsClient), and sent with
// plain node:http, so the client cost is the same for the three servers. The load generator runs in this
// process and each server in its own child process; on a small machine they still share the cores.
// The three servers run side by side and are measured in turns, point by point, for several rounds; each
// figure is the median of its rounds. Measuring one server after the other let a slow minute of the
// machine land on one server only: ratios moved by ±0.15 between runs of the same code.
//
// Usage: npm run bench:kms [-- --seconds N] [--rounds R] [--json] [--servers kura,ceiling,moto,kura-quorum] [--cpu-prof DIR]
//   --seconds N   measured seconds per point and round, after a 1 s warm-up (default 3)
//   --rounds R    rounds of every point on every server; medians are reported (default 3)
//   --json        print the raw results as JSON instead of the table
//   --servers     which servers to run (default kura,ceiling,moto; add kura-quorum for the gate's cost)
//   --cpu-prof D  run Kura under `node --cpu-prof --cpu-prof-dir D` (the profile is written when it stops)
import { spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  ROOT,
  killAllNow,
  killChildrenOnExit,
  combineRounds,
  kmsClient,
  measureInTurns,
  MEASURED_COLUMNS,
  skippedAndErrorLines,
  measureCalls,
  printHelpAndExit,
  rowOf,
  progressLog,
  secondsFlag,
  send,
  startChild,
  startKura,
  table,
  waitForStdout,
} from './lib.mjs';

const OPERATIONS = ['Encrypt', 'GenerateDataKey'];
const CONCURRENCIES = [10, 50];
const WARMUP_MS = 1_000;
const PLAINTEXT_BYTES = 4096;
/** Kura / ceiling req/s, by concurrency. */
const GOAL_VS_CEILING = { 10: 0.5, 50: 0.7 };
const GOAL_VS_MOTO = 10;
/** Kura's p99 at most this many times the ceiling's. */
const GOAL_P99_VS_CEILING = 3;

const { values: flags } = parseArgs({
  options: {
    seconds: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '3' },
    json: { type: 'boolean', default: false },
    servers: { type: 'string', default: 'kura,ceiling,moto' },
    'cpu-prof': { type: 'string' },
    help: { type: 'boolean', default: false },
  },
  strict: true,
});
if (flags.help) printHelpAndExit(import.meta.url);
const SECONDS = secondsFlag(flags.seconds);
const ROUNDS = Number(flags.rounds);
if (!Number.isInteger(ROUNDS) || ROUNDS < 1 || ROUNDS > 20) throw new Error(`--rounds must be a whole number from 1 to 20, not "${flags.rounds}"`);
const SERVERS = flags.servers.split(',').map((s) => s.trim()).filter(Boolean);
for (const s of SERVERS) if (!['kura', 'ceiling', 'moto', 'kura-quorum'].includes(s)) throw new Error(`unknown server "${s}" in --servers`);

const LOAD_AT_START = os.loadavg()[0];
const progress = progressLog('bench:kms');

killChildrenOnExit((signal) => progress(`${signal}: stopping servers`));

// ---- one measurement point --------------------------------------------------------------------------

const PLAINTEXT_B64 = randomBytes(PLAINTEXT_BYTES).toString('base64');
const bodyFor = (operation, keyId) =>
  JSON.stringify(operation === 'Encrypt' ? { KeyId: keyId, Plaintext: PLAINTEXT_B64 } : { KeyId: keyId, KeySpec: 'AES_256' });

/**
 * `concurrency` workers, each on its own keep-alive socket, send back-to-back calls: WARMUP_MS unrecorded,
 * then SECONDS recorded (lib.mjs measureCalls). Latency is from handing the signed request to node:http
 * to the end of the response body (signing excluded); req/s counts 200s over the time from the end of
 * the warm-up until the last recorded call finished.
 */
async function measure(server, client, operation, concurrency) {
  const m = await measureCalls({ client, serverPid: server.pid, action: operation, body: bodyFor(operation, server.keyId), concurrency, warmupMs: WARMUP_MS, seconds: SECONDS });
  return { server: server.name, operation, concurrency, ...rowOf(m) };
}

// ---- the three servers ------------------------------------------------------------------------------

async function startCeiling() {
  const credentials = { accessKeyId: 'AKIACEILINGBENCH0001', secretAccessKey: randomBytes(30).toString('base64') };
  const handle = await startChild('ceiling', process.execPath, [path.join(ROOT, 'bench', 'ceiling-server.mjs')], {
    env: { CEILING_ACCESS_KEY_ID: credentials.accessKeyId, CEILING_SECRET_ACCESS_KEY: credentials.secretAccessKey },
    ready: waitForStdout(/ceiling listening on (http:\/\/\S+)/),
  });
  return { ...handle, endpoint: /ceiling listening on (http:\/\/\S+)/.exec(handle.stdout())[1], credentials };
}

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

function report(results, skipped) {
  const cores = os.availableParallelism();
  const out = [];
  out.push(`KMS on loopback: ${SECONDS} s per point after ${WARMUP_MS / 1000} s warm-up, ${ROUNDS} round(s) with the servers measured in turns, medians shown; every request SigV4-signed at send time; Encrypt with ${PLAINTEXT_BYTES} B plaintext, GenerateDataKey AES_256.`);
  out.push(`Note: the load generator runs in this process and each server in its own child process, but all share the machine's ${cores} CPU core(s); the client's own CPU use is shown (100 % = one core), so absolute numbers are lower than on a dedicated client, and relative ones are what count.`);
  out.push(`Machine load average (1 min) at start ${fmt(LOAD_AT_START, 2)}, at end ${fmt(os.loadavg()[0], 2)}: anything else running on the machine skews these numbers.`);
  out.push(`Latency: from handing the signed request to node:http to the end of the response (signing excluded). Errors: any non-200 or network failure.`);
  out.push('');
  out.push(
    table(results, [
      { title: 'server', value: (r) => r.server, left: true },
      { title: 'operation', value: (r) => r.operation, left: true },
      { title: 'conc', value: (r) => r.concurrency },
      ...MEASURED_COLUMNS,
    ]),
  );
  out.push(...skippedAndErrorLines(results, skipped, (r) => r.operation));

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
      const p99Ratio = ceiling && ceiling.p99Ms > 0 ? kura.p99Ms / ceiling.p99Ms : undefined;
      const verdict = (ratio, goal) => (ratio === undefined ? 'n/a' : ratio >= goal ? 'meets goal' : 'SHORT of goal');
      const goal = GOAL_VS_CEILING[concurrency];
      ratioRows.push({
        operation,
        concurrency,
        vsCeiling,
        goal,
        vsMoto,
        p99Ratio,
        cv: verdict(vsCeiling, goal),
        mv: verdict(vsMoto, GOAL_VS_MOTO),
        pv: p99Ratio === undefined ? 'n/a' : p99Ratio <= GOAL_P99_VS_CEILING ? 'meets goal' : 'SHORT of goal',
      });
    }
  }
  const gateRows = [];
  for (const operation of OPERATIONS) {
    for (const concurrency of CONCURRENCIES) {
      const kura = find('kura', operation, concurrency);
      const gated = find('kura-quorum', operation, concurrency);
      if (kura && gated && kura.reqPerSec > 0) gateRows.push({ operation, concurrency, ratio: gated.reqPerSec / kura.reqPerSec, p99: kura.p99Ms > 0 ? gated.p99Ms / kura.p99Ms : undefined });
    }
  }
  if (gateRows.length > 0) {
    out.push('\nThe approval gate on ungated calls (issue 13), same run: kura with a quorum policy on every gated class against kura without one:');
    out.push(
      table(gateRows, [
        { title: 'operation', value: (r) => r.operation, left: true },
        { title: 'conc', value: (r) => r.concurrency },
        { title: 'req/s quorum/plain', value: (r) => fmt(r.ratio, 2) },
        { title: 'p99 quorum/plain', value: (r) => fmt(r.p99, 2) },
      ]),
    );
  }
  if (ratioRows.length > 0) {
    out.push('\nRatios (req/s):');
    out.push(
      table(ratioRows, [
        { title: 'operation', value: (r) => r.operation, left: true },
        { title: 'conc', value: (r) => r.concurrency },
        { title: 'kura/ceiling', value: (r) => fmt(r.vsCeiling, 2) },
        { title: 'goal', value: (r) => `≥ ${r.goal}`, left: true },
        { title: '', value: (r) => r.cv, left: true },
        { title: 'p99 kura/ceiling', value: (r) => fmt(r.p99Ratio, 2) },
        { title: `goal ≤ ${GOAL_P99_VS_CEILING}`, value: (r) => r.pv, left: true },
        { title: 'kura/moto', value: (r) => fmt(r.vsMoto, 1) },
        { title: `goal ≥ ${GOAL_VS_MOTO}`, value: (r) => r.mv, left: true },
      ]),
    );
  }
  return out.join('\n');
}

// ---- main ---------------------------------------------------------------------------------------------

/** Kura with three operators and a 2-of-3 policy on every gated class, set through the admin API. */
async function startKuraWithQuorum() {
  const server = await startKura({ tempPrefix: 'kura-bench-quorum-' });
  const token = fs.readFileSync(path.join(server.dataDir, 'admin.token'), 'utf8').trim();
  const admin = async (method, route, body) => {
    const res = await globalThis.fetch(`${server.endpoint}/admin/v1${route}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (res.status !== 200) throw new Error(`kura-quorum: ${method} ${route} answered ${res.status}: ${await res.text()}`);
  };
  const names = ['alice', 'bob', 'carol'];
  for (const name of names) {
    const publicKey = generateKeyPairSync('ed25519').publicKey.export({ format: 'pem', type: 'spki' }).toString();
    await admin('POST', '/operators', { name, publicKey });
  }
  for (const cls of ['key-import', 'key-deletion', 'key-store', 'operators']) await admin('PUT', `/quorum/${cls}`, { threshold: 2, operators: names });
  return server;
}

const STARTERS = {
  kura: () => startKura({ tempPrefix: 'kura-bench-', cpuProfDir: flags['cpu-prof'] }),
  ceiling: startCeiling,
  moto: startMoto,
  'kura-quorum': startKuraWithQuorum,
};

async function main() {
  const began = Date.now();
  const { perRound, skipped } = await measureInTurns({
    names: SERVERS,
    required: 'kura',
    start: async (name) => {
      if (name === 'moto' && !(await motoInstalled())) throw new Error('moto is not installed for python3 (`python3 -c "import moto"` failed); pip install "moto[server]" to compare.');
      return STARTERS[name]();
    },
    prepare: async (server) => {
      server.client = kmsClient(server.endpoint, server.credentials);
      server.keyId = (await server.client.call('CreateKey', { Description: 'bench:kms' })).KeyMetadata.KeyId;
    },
    points: OPERATIONS.flatMap((operation) => CONCURRENCIES.map((concurrency) => ({ operation, concurrency, label: `${operation} × ${concurrency} connections` }))),
    rounds: ROUNDS,
    measure: (server, point) => measure(server, server.client, point.operation, point.concurrency),
    progress,
    warmupMs: WARMUP_MS,
    seconds: SECONDS,
  });
  const results = combineRounds(perRound, (r) => `${r.server}|${r.operation}|${r.concurrency}`);
  progress(`done in ${((Date.now() - began) / 1000).toFixed(0)} s`);
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ seconds: SECONDS, rounds: ROUNDS, warmupMs: WARMUP_MS, plaintextBytes: PLAINTEXT_BYTES, cores: os.availableParallelism(), loadAverage: { start: LOAD_AT_START, end: os.loadavg()[0] }, results, perRound, skipped }, null, 2)}\n`);
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
