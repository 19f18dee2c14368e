// Encrypt on an HSM-backed key (issue 11, "Measure"): what Kura's PKCS#11 path costs per call, beside a
// standard-store key of the same appliance and beside what the token itself can do, in one run. Encrypt
// with 4 KiB and with 32 B plaintext:
//   kura-hsm       — a real `kura serve --dev` (the compiled dist/) on a key in an AWS_CLOUDHSM custom key
//                    store backed by a SoftHSM2 token made in a temporary directory (SOFTHSM2_CONF in the
//                    appliance's environment): SigV4-signed calls over loopback at 10 and 50 keep-alive
//                    connections, the client and load loop of bench:kms (bench/lib.mjs);
//   kura-hsm-hosted — the same calls on a key of a second custom key store whose token is reached through
//                    a module Kura runs in a host process of its own, as it runs every device's
//                    (main/devices/pkcs11/module-host.ts): test/support/pkcs11-shim, a PKCS#11 module that
//                    forwards to SoftHSM2 but is not one Kura's vendor table knows. Same token work, plus
//                    the hop to the host: what a device's calls cost Kura beside a software token's;
//   kura-standard  — the same calls on a standard-store key of the same appliance;
//   ceiling-*      — pkcs11js + SoftHSM2 in a child process of its own (so it does not share the event loop
//                    with the load generator), on a second token of the same SoftHSM2 directory:
//                    ceiling-chain  the token work Kura does per blob: C_DeriveKey (CKM_AES_CBC_ENCRYPT_DATA
//                                   from a derive-only token key) + C_EncryptInit/C_Encrypt (CKM_AES_GCM)
//                                   + C_DestroyObject, with the sync calls on one thread ("sync") and with
//                                   the async calls (libuv's thread pool) at 1 and 8 in flight, one
//                                   session each (Kura's session pool holds 8);
//                    ceiling-bare   C_EncryptInit + C_Encrypt under one token key, sync and 8 in flight —
//                                   the "about 80k ops/s at 4 KiB on one thread" ceiling;
//   ceiling-http-hsm — bench/ceiling-server.mjs with its encryption on a third token and a durable SQLite row
//                    per call before the answer (./ceiling-parts.mjs): node:http + SigV4 + one token
//                    encryption + an fsync'd row, the least a KMS with keys on a token and an audit entry on
//                    the disk before each answer does; measured through the same client, in turns with Kura.
//                    Where it falls short of the 5,000 req/s goal, no server with kura-hsm's duties meets it
//                    on this machine.
// Goals (issue 11): kura-hsm ≥ 5,000 req/s at 32 B (AWS allows 1,800/s per custom key store), kura-hsm
// ≥ 0.8 × kura-standard in the same run, kura-hsm p99 < 20 ms.
//
// A benchmark, not a test: it reports and judges, it asserts nothing about time. All processes share
// the machine's cores (the client's own CPU use is shown), so relative numbers are what count.
// "µs/call" is the CPU time per call (Kura's process, or the ceiling's per operation): it moves less than
// the rate when the machine's speed wanders, so compare builds by it.
// The token and data directories are removed at the end and on ^C.
//
// Usage: npm run bench:hsm [-- --seconds N] [--rounds R] [--json] [--cpu-prof DIR] [--targets L] [--sizes L] [--concurrency L]
//   --seconds N   measured seconds per point after a 1 s warm-up (default 3)
//   --rounds R    rounds of every Kura point, the standard and the HSM key in turns; medians are reported (default 3)
//   --targets L   which to measure, comma-separated (default kura-standard,kura-hsm,kura-hsm-hosted,ceiling-http-hsm,ceiling:
//                 `ceiling` is the in-process ceiling-* rows)
//   --sizes L     plaintext sizes in bytes, comma-separated (default 4096,32; the goal is set at 32)
//   --concurrency L  connections per point, comma-separated (default 10,50)
//   --json        print the raw results as JSON instead of the table
//   --cpu-prof D  run Kura under `node --cpu-prof --cpu-prof-dir D` (the profile is written when it stops)
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import {
  ROOT,
  combineRounds,
  killAllNow,
  killChildrenOnExit,
  listFlag,
  kmsClient,
  measureCalls,
  printHelpAndExit,
  progressLog,
  rowOf,
  secondsFlag,
  softHsmDir,
  SOFTHSM_MODULE,
  startChild,
  startKura,
  table,
  waitForStdout,
} from './lib.mjs';
import { buildPkcs11Shim, SHIM_TARGET_ENV } from '../test/support/pkcs11-shim/build.mjs';
import { aesTokenKeyTemplate } from './ceiling-parts.mjs';

const TURN_TARGETS = ['kura-standard', 'kura-hsm', 'kura-hsm-hosted', 'ceiling-http-hsm'];
const { values: flags } = parseArgs({
  options: {
    seconds: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '3' },
    json: { type: 'boolean', default: false },
    'cpu-prof': { type: 'string' },
    targets: { type: 'string', default: [...TURN_TARGETS, 'ceiling'].join(',') },
    sizes: { type: 'string', default: '4096,32' },
    concurrency: { type: 'string', default: '10,50' },
    help: { type: 'boolean', default: false },
  },
  strict: true,
});
if (flags.help) printHelpAndExit(import.meta.url);
const SIZES = listFlag('sizes', flags.sizes, 1, 4096);
const CONCURRENCIES = listFlag('concurrency', flags.concurrency, 1, 500);
const TARGETS = flags.targets.split(',').map((t) => t.trim()).filter(Boolean);
for (const t of TARGETS) if (![...TURN_TARGETS, 'ceiling'].includes(t)) throw new Error(`unknown target "${t}" in --targets`);
const WARMUP_MS = 1_000;
/** In-flight async calls of the ceiling (8 = Kura's DEFAULT_SESSIONS; libuv runs 4 at a time by default). */
const CEILING_IN_FLIGHT = [1, 8];
const GOAL_HSM_REQ_PER_SEC_32B = 5_000;
const GOAL_HSM_VS_STANDARD = 0.8;
const GOAL_P99_MS = 20;
/** Set (to the child's JSON config) in the environment of this script run as the ceiling child. */
const CEILING_CHILD_ENV = 'KURA_BENCH_HSM_CEILING';

const fmt = (n, digits = 1) => (n === undefined || Number.isNaN(n) ? '—' : n.toFixed(digits));
const quantile = (sorted, q) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]);
/** CPU time per call or operation (cpuPct is of one core). */
const usPerCall = (r) => (r.perSec > 0 ? (r.cpuPct * 1e4) / r.perSec : NaN);
const sizeText = (bytes) => (bytes >= 1024 ? `${bytes / 1024} KiB` : `${bytes} B`);

/** A self-signed P-256 certificate: CreateCustomKeyStore wants a TrustAnchorCertificate, and keeps it. */
function trustAnchorPem(dir) {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', path.join(dir, 'ta-key.pem'), '-out', path.join(dir, 'ta.pem'), '-subj', '/CN=kura-bench-hsm', '-days', '1'], { stdio: 'ignore' });
  return fs.readFileSync(path.join(dir, 'ta.pem'), 'utf8');
}

// ---- Kura: one appliance, a standard key and an HSM key --------------------------------------------------

/** Registers a token with `kura hsm add` against the running appliance's data directory: the HSM ID. */
async function addHsm(dataDir, modulePath, label) {
  const { stdout } = await promisify(execFile)(process.execPath, [path.join(ROOT, 'bin', 'kura.js'), 'hsm', 'add', '--module', modulePath, '--token-label', label, '--data-dir', dataDir, '--json'], { cwd: ROOT, timeout: 60_000 });
  return JSON.parse(stdout).hsmId;
}

async function waitConnected(client, storeId) {
  const until = Date.now() + 30_000;
  for (;;) {
    const store = (await client.call('DescribeCustomKeyStores', { CustomKeyStoreId: storeId })).CustomKeyStores[0];
    if (store.ConnectionState === 'CONNECTED') return;
    if (store.ConnectionState === 'FAILED' || Date.now() > until) throw new Error(`custom key store ${storeId} is ${store.ConnectionState} (${store.ConnectionErrorCode ?? 'no error code'})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A custom key store on a token of `modulePath`, connected, and a key in it: the key's ID. */
async function hsmKey(client, dataDir, modulePath, token, trustAnchor, name) {
  const hsmId = await addHsm(dataDir, modulePath, token.label);
  const { CustomKeyStoreId: storeId } = await client.call('CreateCustomKeyStore', { CustomKeyStoreName: name, CloudHsmClusterId: hsmId, TrustAnchorCertificate: trustAnchor, KeyStorePassword: token.pin });
  await client.call('ConnectCustomKeyStore', { CustomKeyStoreId: storeId });
  await waitConnected(client, storeId);
  return (await client.call('CreateKey', { CustomKeyStoreId: storeId, Origin: 'AWS_CLOUDHSM', Description: `bench:hsm, ${name}` })).KeyMetadata.KeyId;
}

async function setUpKura(kura, tokens, shim, trustAnchor, progress) {
  const argv = kura.proc.spawnargs;
  const dataDir = argv[argv.indexOf('--data-dir') + 1];
  const client = kmsClient(kura.endpoint, kura.credentials);
  const keys = {
    'kura-hsm': await hsmKey(client, dataDir, SOFTHSM_MODULE, tokens.inProcess, trustAnchor, 'bench-hsm'),
    'kura-hsm-hosted': await hsmKey(client, dataDir, shim, tokens.hosted, trustAnchor, 'bench-hsm-hosted'),
    'kura-standard': (await client.call('CreateKey', { Description: 'bench:hsm standard' })).KeyMetadata.KeyId,
  };
  // One round trip each, so that a broken setup fails here rather than as a table of errors.
  for (const keyId of Object.values(keys)) {
    const { CiphertextBlob } = await client.call('Encrypt', { KeyId: keyId, Plaintext: Buffer.from('bench:hsm').toString('base64') });
    const { Plaintext } = await client.call('Decrypt', { CiphertextBlob });
    if (Buffer.from(Plaintext, 'base64').toString() !== 'bench:hsm') throw new Error(`Encrypt/Decrypt round trip on ${keyId} did not return the plaintext`);
  }
  progress(`kura: pid ${kura.pid}, ${kura.endpoint}, keys ${JSON.stringify(keys)}`);
  return { client, keys };
}

/** The ceiling-http-hsm: bench/ceiling-server.mjs on `token`, its rows in `dbFile`; `{ pid, client, keyId }`. */
async function startHttpCeiling(token, dbFile, progress) {
  const credentials = { accessKeyId: 'AKIACEILINGHSMBENCH1', secretAccessKey: randomBytes(30).toString('base64') };
  const handle = await startChild('ceiling-http-hsm', process.execPath, [path.join(ROOT, 'bench', 'ceiling-server.mjs')], {
    env: {
      CEILING_ACCESS_KEY_ID: credentials.accessKeyId,
      CEILING_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      CEILING_HSM: JSON.stringify({ module: SOFTHSM_MODULE, label: token.label, pin: token.pin }),
      CEILING_DB: dbFile,
    },
    ready: waitForStdout(/ceiling listening on (http:\/\/\S+)/),
  });
  const endpoint = /ceiling listening on (http:\/\/\S+)/.exec(handle.stdout())[1];
  const client = kmsClient(endpoint, credentials);
  const keyId = (await client.call('CreateKey', {})).KeyMetadata.KeyId;
  await client.call('Encrypt', { KeyId: keyId, Plaintext: Buffer.from('bench:hsm').toString('base64') });
  progress(`ceiling-http-hsm: pid ${handle.pid}, ${endpoint}`);
  return { ...handle, client, keyId };
}

/** One point on one target: `server` is what answers (its pid counts the CPU), `client` signs for it. */
async function measureKura(server, client, target, keyId, size, concurrency, seconds) {
  const body = JSON.stringify({ KeyId: keyId, Plaintext: randomBytes(size).toString('base64') });
  const m = await measureCalls({ client, serverPid: server.pid, action: 'Encrypt', body, concurrency, warmupMs: WARMUP_MS, seconds });
  // cpuPct: Kura's share of one core during the recorded part (100 % = one core), as the in-process rows have it.
  return { target, size, concurrency, ...rowOf(m), perSec: m.perSec, cpuPct: m.serverCpuPct };
}

// ---- the ceiling (the parent's side) ------------------------------------------------------------------

/** Runs this script as the ceiling child; relays its progress lines; resolves with its results. */
async function runCeiling(token, seconds, progress) {
  const config = { label: token.label, pin: token.pin, seconds, warmupMs: WARMUP_MS, sizes: SIZES, inFlight: CEILING_IN_FLIGHT };
  const child = await startChild('ceiling', process.execPath, [fileURLToPath(import.meta.url)], { env: { [CEILING_CHILD_ENV]: JSON.stringify(config) }, ready: waitForStdout(/^ready$/m) });
  progress(`ceiling: pid ${child.pid}`);
  try {
    const result = await new Promise((resolve, reject) => {
      let pending = '';
      const onLine = (line) => {
        if (line.startsWith('progress ')) progress(`ceiling: ${line.slice('progress '.length)}`);
        else if (line.startsWith('result ')) resolve(JSON.parse(line.slice('result '.length)));
      };
      const take = (text) => {
        const lines = (pending + text).split('\n');
        pending = lines.pop();
        lines.forEach(onLine);
      };
      // What arrived with (or after) `ready` before this listener: nothing can come in between.
      take(child.stdout());
      child.proc.stdout.on('data', (d) => take(d.toString()));
      child.proc.once('exit', (code, signal) => reject(new Error(`the ceiling child exited (${code ?? signal}) without a result.\nstderr: ${child.stderr()}`)));
    });
    return result;
  } finally {
    await child.stop();
  }
}

// ---- the ceiling (the child) ----------------------------------------------------------------------------

/** CKM_AES_CBC_ENCRYPT_DATA (PKCS #11 v2.40 §2.14.6): pkcs11js 2.1.7 does not export it. */
const CKM_AES_CBC_ENCRYPT_DATA = 0x1105;

/**
 * The child: logs in to its token, makes the keys Kura would (main/devices/pkcs11/session.ts: a
 * derive-only token key, per-blob session keys) plus one encrypt key for the bare ceiling, and measures
 * each point. Talks to the parent in lines on stdout: `ready`, `progress …`, `result {json}`.
 */
async function ceilingChild(config) {
  const { default: pkcs11js } = await import('pkcs11js');
  const say = (line) => process.stdout.write(`${line}\n`);
  const mod = new pkcs11js.PKCS11();
  mod.load(SOFTHSM_MODULE);
  mod.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
  const slot = mod.C_GetSlotList(true).find((s) => mod.C_GetTokenInfo(s).label.trim() === config.label);
  if (!slot) throw new Error(`no token labelled ${config.label}`);
  const openSession = () => mod.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
  const loginSession = openSession();
  mod.C_Login(loginSession, pkcs11js.CKU_USER, config.pin);

  const tokenKey = (label, usage) => mod.C_GenerateKey(loginSession, { mechanism: pkcs11js.CKM_AES_KEY_GEN }, aesTokenKeyTemplate(pkcs11js, label, usage));
  const deriveKey = tokenKey('bench-derive', 'derive');
  const encryptKey = tokenKey('bench-encrypt', 'encrypt');
  const blobKeyTemplate = [
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
    { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_AES },
    { type: pkcs11js.CKA_VALUE_LEN, value: 32 },
    { type: pkcs11js.CKA_TOKEN, value: false },
    { type: pkcs11js.CKA_SENSITIVE, value: true },
    { type: pkcs11js.CKA_EXTRACTABLE, value: false },
    { type: pkcs11js.CKA_ENCRYPT, value: true },
    { type: pkcs11js.CKA_DECRYPT, value: true },
  ];
  // Per call, as Kura does: a fresh IV and derivation input; AAD about the size of Kura's blob header.
  const aad = randomBytes(64);
  let counter = 0;
  const iv = () => {
    const b = Buffer.alloc(12);
    b.writeUInt32BE(++counter, 8);
    return b;
  };
  const deriveMech = () => {
    const data = Buffer.alloc(32);
    data.writeUInt32BE(counter, 0);
    return { mechanism: CKM_AES_CBC_ENCRYPT_DATA, parameter: { type: pkcs11js.CK_PARAMS_AES_CBC, iv: Buffer.alloc(16), data } };
  };
  const gcm = () => ({ mechanism: pkcs11js.CKM_AES_GCM, parameter: { type: pkcs11js.CK_PARAMS_GCM, iv: iv(), ivBits: 96, tagBits: 128, aad } });

  const ops = (plaintext) => ({
    chain: {
      sync(s) {
        const k = mod.C_DeriveKey(s, deriveMech(), deriveKey, blobKeyTemplate);
        try {
          mod.C_EncryptInit(s, gcm(), k);
          mod.C_Encrypt(s, plaintext, Buffer.alloc(plaintext.length + 16));
        } finally {
          mod.C_DestroyObject(s, k);
        }
      },
      async async(s) {
        const k = await mod.C_DeriveKeyAsync(s, deriveMech(), deriveKey, blobKeyTemplate);
        try {
          mod.C_EncryptInit(s, gcm(), k);
          await mod.C_EncryptAsync(s, plaintext, Buffer.alloc(plaintext.length + 16));
        } finally {
          mod.C_DestroyObject(s, k);
        }
      },
    },
    bare: {
      sync(s) {
        mod.C_EncryptInit(s, gcm(), encryptKey);
        mod.C_Encrypt(s, plaintext, Buffer.alloc(plaintext.length + 16));
      },
      async async(s) {
        mod.C_EncryptInit(s, gcm(), encryptKey);
        await mod.C_EncryptAsync(s, plaintext, Buffer.alloc(plaintext.length + 16));
      },
    },
  });

  const now = () => process.hrtime.bigint();
  const finish = (latenciesNs, startedAt, cpuAtStart, errors) => {
    const wallS = Number(now() - startedAt) / 1e9;
    const cpu = process.cpuUsage(cpuAtStart);
    const ms = Float64Array.from(latenciesNs, (n) => n / 1e6).sort();
    return { seconds: wallS, ok: ms.length, errors, perSec: ms.length / wallS, p50Ms: quantile(ms, 0.5), p99Ms: quantile(ms, 0.99), maxMs: ms.at(-1) ?? NaN, cpuPct: ((cpu.user + cpu.system) / 1e6 / wallS) * 100 };
  };

  /** One session, one thread, back to back: `warmupMs` unrecorded, then `seconds` recorded. */
  const measureSync = (op) => {
    const s = openSession();
    try {
      for (const until = now() + BigInt(config.warmupMs) * 1_000_000n; now() < until; ) op(s);
      const latencies = [];
      const cpu0 = process.cpuUsage();
      const t0 = now();
      const until = t0 + BigInt(Math.round(config.seconds * 1000)) * 1_000_000n;
      for (let t = t0; t < until; ) {
        op(s);
        const end = now();
        latencies.push(Number(end - t));
        t = end;
      }
      return finish(latencies, t0, cpu0, 0);
    } finally {
      mod.C_CloseSession(s);
    }
  };

  /** `inFlight` workers with a session each, awaiting the async calls back to back. */
  const measureAsync = async (op, inFlight) => {
    const sessions = Array.from({ length: inFlight }, openSession);
    const latencies = [];
    let errors = 0;
    let cpu0;
    let t0;
    const measureFrom = now() + BigInt(config.warmupMs) * 1_000_000n;
    const until = measureFrom + BigInt(Math.round(config.seconds * 1000)) * 1_000_000n;
    const mark = setTimeout(() => {
      cpu0 = process.cpuUsage();
      t0 = now();
    }, config.warmupMs);
    try {
      await Promise.all(
        sessions.map(async (s) => {
          while (now() < until) {
            const start = now();
            try {
              await op(s);
            } catch {
              if (start >= measureFrom) errors++;
              continue;
            }
            if (start >= measureFrom) latencies.push(Number(now() - start));
          }
        }),
      );
    } finally {
      clearTimeout(mark);
      for (const s of sessions) mod.C_CloseSession(s);
    }
    return finish(latencies, t0 ?? measureFrom, cpu0, errors);
  };

  say('ready');
  const results = [];
  for (const size of config.sizes) {
    const { chain, bare } = ops(randomBytes(size));
    const points = [
      ['ceiling-chain', 'sync', 1, () => measureSync(chain.sync)],
      ...config.inFlight.map((n) => ['ceiling-chain', 'async', n, () => measureAsync(chain.async, n)]),
      ['ceiling-bare', 'sync', 1, () => measureSync(bare.sync)],
      ['ceiling-bare', 'async', Math.max(...config.inFlight), () => measureAsync(bare.async, Math.max(...config.inFlight))],
    ];
    for (const [target, calls, concurrency, run] of points) {
      say(`progress ${target} ${calls} × ${concurrency} in flight, ${sizeText(size)} (${config.warmupMs / 1000} s warm-up + ${config.seconds} s)`);
      const r = { target, calls, size, concurrency, ...(await run()) };
      say(`progress ${target} ${calls} × ${concurrency}, ${sizeText(size)}: ${fmt(r.perSec, 0)} ops/s, p50 ${fmt(r.p50Ms, 3)} ms, p99 ${fmt(r.p99Ms, 3)} ms`);
      results.push(r);
    }
  }
  mod.C_DestroyObject(loginSession, deriveKey);
  mod.C_DestroyObject(loginSession, encryptKey);
  mod.C_Logout(loginSession);
  mod.C_CloseSession(loginSession);
  mod.C_Finalize();
  say(`result ${JSON.stringify(results)}`);
}

// ---- report ------------------------------------------------------------------------------------------------

function report(results, meta) {
  const out = [];
  out.push(`Encrypt on SoftHSM2 (${SOFTHSM_MODULE}): ${meta.seconds} s per point after ${WARMUP_MS / 1000} s warm-up; kura-* through the loopback KMS API (every request SigV4-signed at send time; the standard and the HSM key in turns for ${meta.rounds} round(s), medians shown), ceiling-* pkcs11js in a child process of its own.`);
  out.push(`ceiling-chain = C_DeriveKey(CKM_AES_CBC_ENCRYPT_DATA) + C_EncryptInit/C_Encrypt(CKM_AES_GCM) + C_DestroyObject, Kura's token work per blob; ceiling-bare = C_EncryptInit + C_Encrypt under one key. conc = connections (kura) or calls in flight (ceiling), one session each.`);
  out.push(`The load generator, Kura and the ceiling share the machine's ${meta.cores} CPU core(s); cpu% is of one core (100 % = one core): Kura's or the ceiling's process; client cpu% is this process.`);
  out.push(`Machine load average (1 min) at start ${fmt(meta.loadAverage.start, 2)}, at end ${fmt(meta.loadAverage.end, 2)}: anything else running on the machine skews these numbers.`);
  out.push(`Latency: kura from handing the signed request to node:http to the end of the response (signing excluded); ceiling per call. Errors: any non-200, network or PKCS#11 failure.`);
  out.push('');
  out.push(
    table(results, [
      { title: 'target', value: (r) => r.target, left: true },
      { title: 'calls', value: (r) => r.calls ?? 'KMS API', left: true },
      { title: 'plaintext', value: (r) => sizeText(r.size) },
      { title: 'conc', value: (r) => r.concurrency },
      { title: 'req|ops/s', value: (r) => fmt(r.perSec, 0) },
      { title: 'rounds', value: (r) => (r.reqPerSecRounds ? r.reqPerSecRounds.join(' ') : '—'), left: true },
      { title: 'p50 ms', value: (r) => fmt(r.p50Ms, 2) },
      { title: 'p99 ms', value: (r) => fmt(r.p99Ms, 2) },
      { title: 'errors', value: (r) => r.errors },
      { title: 'cpu%', value: (r) => fmt(r.cpuPct, 0) },
      // CPU per call or operation: steadier than the rate when the machine's speed wanders.
      { title: 'µs/call', value: (r) => fmt(usPerCall(r), 0) },
      { title: 'client cpu%', value: (r) => fmt(r.clientCpuPct, 0) },
    ]),
  );

  const errored = results.filter((r) => r.errors > 0);
  if (errored.length > 0) {
    out.push('\nErrors:');
    for (const r of errored) {
      out.push(`  ${r.target} ${sizeText(r.size)} c=${r.concurrency}: ${r.errors}${r.target.startsWith('kura') ? '  ← a finding' : ''}`);
      for (const [text, count] of Object.entries(r.errorSamples ?? {}).slice(0, 3)) out.push(`    ${count} × ${text}`);
    }
  }

  const find = (target, size, concurrency) => results.find((r) => r.target === target && r.size === size && r.concurrency === concurrency);
  const verdict = (ok) => (ok === undefined ? 'n/a' : ok ? 'meets goal' : 'SHORT of goal');
  const rows = [];
  for (const size of SIZES) {
    const chainCeiling = Math.max(0, ...results.filter((r) => r.target === 'ceiling-chain' && r.size === size).map((r) => r.perSec));
    for (const concurrency of CONCURRENCIES) {
      const hsm = find('kura-hsm', size, concurrency);
      if (!hsm) continue;
      const standard = find('kura-standard', size, concurrency);
      const vsStandard = standard && standard.perSec > 0 ? hsm.perSec / standard.perSec : undefined;
      const httpCeiling = find('ceiling-http-hsm', size, concurrency);
      rows.push({
        size,
        concurrency,
        hsm: hsm.perSec,
        rateVerdict: size === 32 ? verdict(hsm.perSec >= GOAL_HSM_REQ_PER_SEC_32B) : '(goal is at 32 B)',
        vsStandard,
        standardVerdict: verdict(vsStandard === undefined ? undefined : vsStandard >= GOAL_HSM_VS_STANDARD),
        p99: hsm.p99Ms,
        p99Verdict: verdict(Number.isNaN(hsm.p99Ms) ? undefined : hsm.p99Ms < GOAL_P99_MS),
        vsCeiling: chainCeiling > 0 ? hsm.perSec / chainCeiling : undefined,
        httpCeiling: httpCeiling?.perSec,
        httpCeilingVerdict: size === 32 && httpCeiling ? verdict(httpCeiling.perSec >= GOAL_HSM_REQ_PER_SEC_32B) : '—',
        vsHttpCeiling: httpCeiling && httpCeiling.perSec > 0 ? hsm.perSec / httpCeiling.perSec : undefined,
        cpuVsHttpCeiling: httpCeiling ? usPerCall(hsm) / usPerCall(httpCeiling) : undefined,
      });
    }
  }
  if (rows.length > 0) {
    out.push('\nGoals (kura-hsm, issue 11):');
    out.push(
      table(rows, [
        { title: 'plaintext', value: (r) => sizeText(r.size) },
        { title: 'conc', value: (r) => r.concurrency },
        { title: 'hsm req/s', value: (r) => fmt(r.hsm, 0) },
        { title: `goal ≥ ${GOAL_HSM_REQ_PER_SEC_32B} at 32 B`, value: (r) => r.rateVerdict, left: true },
        { title: 'hsm/standard', value: (r) => fmt(r.vsStandard, 2) },
        { title: `goal ≥ ${GOAL_HSM_VS_STANDARD}`, value: (r) => r.standardVerdict, left: true },
        { title: 'hsm p99 ms', value: (r) => fmt(r.p99, 2) },
        { title: `goal < ${GOAL_P99_MS}`, value: (r) => r.p99Verdict, left: true },
        { title: 'hsm/best chain ceiling', value: (r) => fmt(r.vsCeiling, 2) },
        { title: 'ceiling-http-hsm req/s', value: (r) => fmt(r.httpCeiling, 0) },
        { title: `its goal ≥ ${GOAL_HSM_REQ_PER_SEC_32B}`, value: (r) => r.httpCeilingVerdict, left: true },
        { title: 'hsm/ceiling-http-hsm req/s', value: (r) => fmt(r.vsHttpCeiling, 2) },
        { title: 'hsm/ceiling-http-hsm µs/call', value: (r) => fmt(r.cpuVsHttpCeiling, 2) },
      ]),
    );
  }
  const hops = [];
  for (const size of SIZES) {
    for (const concurrency of CONCURRENCIES) {
      const inProcess = find('kura-hsm', size, concurrency);
      const hosted = find('kura-hsm-hosted', size, concurrency);
      if (inProcess && hosted) hops.push({ size, concurrency, inProcess, hosted });
    }
  }
  if (hops.length > 0) {
    out.push("\nThe host hop (a device's module runs in a host process; the same SoftHSM2 token work either way):");
    out.push(
      table(hops, [
        { title: 'plaintext', value: (r) => sizeText(r.size) },
        { title: 'conc', value: (r) => r.concurrency },
        { title: 'in process req/s', value: (r) => fmt(r.inProcess.perSec, 0) },
        { title: 'hosted req/s', value: (r) => fmt(r.hosted.perSec, 0) },
        { title: 'hosted/in process', value: (r) => fmt(r.hosted.perSec / r.inProcess.perSec, 2) },
        { title: 'hosted p99 ms', value: (r) => fmt(r.hosted.p99Ms, 2) },
      ]),
    );
  }
  return out.join('\n');
}

// ---- main ---------------------------------------------------------------------------------------------

async function main() {
  const seconds = secondsFlag(flags.seconds);
  const rounds = Number(flags.rounds);
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 20) throw new Error(`--rounds must be a whole number from 1 to 20, not "${flags.rounds}"`);
  const loadAtStart = os.loadavg()[0];
  const progress = progressLog('bench:hsm');
  const began = Date.now();

  const soft = softHsmDir();
  const removeAll = () => {
    killAllNow();
    soft.remove();
  };
  process.on('exit', removeAll);
  killChildrenOnExit((signal) => {
    progress(`${signal}: stopping, removing the token directory`);
    removeAll();
  });

  const kuraTokens = { inProcess: soft.makeToken('kura-bench-hsm'), hosted: soft.makeToken('kura-bench-hosted') };
  const ceilingToken = soft.makeToken('kura-bench-ceiling');
  const httpCeilingToken = soft.makeToken('kura-bench-ceiling-http');
  const trustAnchor = trustAnchorPem(soft.dir);
  progress(`SoftHSM2 tokens "${kuraTokens.inProcess.label}", "${kuraTokens.hosted.label}" and "${ceilingToken.label}" in ${soft.dir}`);
  // The module of the hosted store: it forwards to SoftHSM2, which it finds in the environment Kura inherits.
  const shim = buildPkcs11Shim();
  process.env[SHIM_TARGET_ENV] = SOFTHSM_MODULE;

  // The ceiling first, while nothing else of ours runs.
  const results = TARGETS.includes('ceiling') ? await runCeiling(ceilingToken, seconds, progress) : [];

  const httpCeiling = await startHttpCeiling(httpCeilingToken, path.join(soft.dir, 'ceiling-calls.db'), progress);
  progress('kura: starting');
  const kura = await startKura({ tempPrefix: 'kura-bench-hsm-', cpuProfDir: flags['cpu-prof'] });
  try {
    const { client, keys } = await setUpKura(kura, kuraTokens, shim, trustAnchor, progress);
    const on = (target) => (target === 'ceiling-http-hsm' ? httpCeiling : { pid: kura.pid, client, keyId: keys[target] });
    // The two keys in turns, point by point, for several rounds; medians are reported (as bench:kms
    // does): measured once each, a slow few seconds of the machine landed on one key only and moved
    // the hsm/standard ratio by ±0.25 between runs of the same code.
    const perRound = [];
    for (let round = 1; round <= rounds; round++) {
      for (const size of SIZES) {
        for (const concurrency of CONCURRENCIES) {
          for (const target of TURN_TARGETS.filter((t) => TARGETS.includes(t))) {
            const tag = `round ${round}/${rounds}: ${target}: Encrypt ${sizeText(size)} × ${concurrency}`;
            progress(`${tag} connections (${WARMUP_MS / 1000} s warm-up + ${seconds} s)`);
            const server = on(target);
            const r = await measureKura(server, server.client, target, server.keyId, size, concurrency, seconds);
            progress(`${tag}: ${fmt(r.perSec, 0)} req/s, p50 ${fmt(r.p50Ms, 2)} ms, p99 ${fmt(r.p99Ms, 2)} ms, ${r.errors} errors`);
            perRound.push(r);
          }
        }
      }
    }
    for (const r of combineRounds(perRound, (x) => `${x.target}|${x.size}|${x.concurrency}`)) results.push({ ...r, perSec: r.reqPerSec, cpuPct: r.serverCpuPct });
  } finally {
    progress('kura: stopping');
    await kura.stop();
    await httpCeiling.stop();
  }
  soft.remove();
  progress(`done in ${((Date.now() - began) / 1000).toFixed(0)} s`);

  const meta = { seconds, rounds, warmupMs: WARMUP_MS, cores: os.availableParallelism(), loadAverage: { start: loadAtStart, end: os.loadavg()[0] } };
  if (flags.json) process.stdout.write(`${JSON.stringify({ ...meta, softhsmModule: SOFTHSM_MODULE, results }, null, 2)}\n`);
  else process.stdout.write(`${report(results, meta)}\n`);
  if (results.some((r) => r.target.startsWith('kura') && r.errors > 0)) process.exitCode = 1;
}

if (process.env[CEILING_CHILD_ENV]) {
  ceilingChild(JSON.parse(process.env[CEILING_CHILD_ENV])).catch((e) => {
    process.stderr.write(`bench:hsm ceiling failed: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  });
} else {
  main().catch((e) => {
    process.stderr.write(`bench:hsm failed: ${e instanceof Error ? e.stack : String(e)}\n`);
    killAllNow();
    process.exit(1);
  });
}
