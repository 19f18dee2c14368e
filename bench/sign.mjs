// Sign throughput per key spec: Kura's Sign (and GenerateMac for HMAC_256) through the loopback KMS API,
// beside in-process signing of the same spec in this process, in one run:
//   api        — a real `kura serve --dev` (the compiled dist/), fresh data directory; SigV4-signed calls
//                (bench/lib.mjs kmsClient: Kura's signer, held to @smithy/signature-v4's output) over plain
//                node:http keep-alive connections;
//   ceiling    — the same signature computed in-process by the best library at hand: node:crypto where
//                Node has the algorithm (RSA, P-256/384/521, secp256k1, Ed25519, HMAC), @noble/post-quantum
//                for ML-DSA, and Kura's own primitive for SM2 (no maintained JavaScript SM2 signer exists);
//   primitive  — Kura's own primitive (dist/crypto/asymmetric, a pre-loaded key handle) in-process: what
//                the API costs beyond Kura's choice of crypto library.
// The bar: CloudHSM's published figures, RSA-2048 sign about 2,000/s (two-HSM cluster) and EC P-256
// 500–3,000/s, shown next to RSA_2048 and ECC_NIST_P256.
//
// Usage: npm run bench:sign [-- --seconds N] [--concurrency C] [--specs A,B] [--json]
//   --seconds N      measured seconds per point after a short warm-up (default 2)
//   --concurrency C  keep-alive connections sending back-to-back Sign calls (default 16)
//   --specs          which key specs (default all 13, names as in CreateKey)
//   --json           print the raw results as JSON instead of the table
//   --cpu-prof D     run Kura under `node --cpu-prof --cpu-prof-dir D` (the profile is written when it stops)
import { createHmac, generateKeyPairSync, randomBytes, sign as nodeSign } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { ml_dsa44, ml_dsa65, ml_dsa87 } from '@noble/post-quantum/ml-dsa.js';
import { ROOT, killAllNow, killChildrenOnExit, kmsClient, measureCalls, printHelpAndExit, progressLog, secondsFlag, startKura, table } from './lib.mjs';

const MESSAGE_BYTES = 256;
const API_WARMUP_MS = 500;
const LOCAL_WARMUP_MS = 200;

/** Each spec, the algorithm it is measured with, and the in-process ceiling's library. */
const SPECS = [
  { spec: 'RSA_2048', algorithm: 'RSASSA_PKCS1_V1_5_SHA_256', ceiling: 'node:crypto' },
  { spec: 'RSA_3072', algorithm: 'RSASSA_PKCS1_V1_5_SHA_256', ceiling: 'node:crypto' },
  { spec: 'RSA_4096', algorithm: 'RSASSA_PKCS1_V1_5_SHA_256', ceiling: 'node:crypto' },
  { spec: 'ECC_NIST_P256', algorithm: 'ECDSA_SHA_256', ceiling: 'node:crypto' },
  { spec: 'ECC_NIST_P384', algorithm: 'ECDSA_SHA_384', ceiling: 'node:crypto' },
  { spec: 'ECC_NIST_P521', algorithm: 'ECDSA_SHA_512', ceiling: 'node:crypto' },
  { spec: 'ECC_SECG_P256K1', algorithm: 'ECDSA_SHA_256', ceiling: 'node:crypto' },
  { spec: 'ECC_NIST_EDWARDS25519', algorithm: 'ED25519_SHA_512', ceiling: 'node:crypto' },
  { spec: 'ML_DSA_44', algorithm: 'ML_DSA_SHAKE_256', ceiling: '@noble/post-quantum' },
  { spec: 'ML_DSA_65', algorithm: 'ML_DSA_SHAKE_256', ceiling: '@noble/post-quantum' },
  { spec: 'ML_DSA_87', algorithm: 'ML_DSA_SHAKE_256', ceiling: '@noble/post-quantum' },
  { spec: 'SM2', algorithm: 'SM2DSA', ceiling: 'kura primitive' },
  { spec: 'HMAC_256', algorithm: 'HMAC_SHA_256', ceiling: 'node:crypto', mac: true },
];
/** CloudHSM's published sign rates (the bar to beat), per spec. */
const CLOUDHSM = {
  RSA_2048: { low: 2_000, high: 2_000, text: 'RSA-2048 ≈ 2,000/s (two-HSM cluster)' },
  ECC_NIST_P256: { low: 500, high: 3_000, text: 'EC P-256 500–3,000/s' },
};

const { values: flags } = parseArgs({
  options: {
    seconds: { type: 'string', default: '2' },
    concurrency: { type: 'string', default: '16' },
    specs: { type: 'string' },
    json: { type: 'boolean', default: false },
    'cpu-prof': { type: 'string' },
    help: { type: 'boolean', default: false },
  },
  strict: true,
});
if (flags.help) printHelpAndExit(import.meta.url);
const SECONDS = secondsFlag(flags.seconds);
const CONCURRENCY = Number(flags.concurrency);
if (!(Number.isInteger(CONCURRENCY) && CONCURRENCY >= 1 && CONCURRENCY <= 512)) throw new Error('--concurrency must be an integer in [1, 512]');
const chosen = flags.specs ? flags.specs.split(',').map((s) => s.trim()).filter(Boolean) : SPECS.map((s) => s.spec);
for (const s of chosen) if (!SPECS.some((x) => x.spec === s)) throw new Error(`unknown key spec "${s}" in --specs (one of ${SPECS.map((x) => x.spec).join(', ')})`);
const RUN = SPECS.filter((s) => chosen.includes(s.spec));

const LOAD_AT_START = os.loadavg()[0];
const progress = progressLog('bench:sign');

killChildrenOnExit((signal) => progress(`${signal}: stopping Kura`));

// ---- the API point: CONCURRENCY workers on keep-alive sockets, back-to-back calls --------------------------

async function measureApi(kura, client, action, body) {
  const m = await measureCalls({ client, serverPid: kura.pid, action, body, concurrency: CONCURRENCY, warmupMs: API_WARMUP_MS, seconds: SECONDS });
  return {
    opsPerSec: m.perSec,
    ok: m.ok,
    errors: m.errors,
    errorSamples: m.errorSamples,
    p50Ms: m.p50Ms,
    p99Ms: m.p99Ms,
    // Share of one core used during the recorded part: 100 % = one full core.
    serverCpuPct: m.serverCpuPct,
    clientCpuPct: m.clientCpuPct,
  };
}

// ---- the in-process points -----------------------------------------------------------------------------

/** Calls fn back to back: LOCAL_WARMUP_MS unrecorded, then SECONDS recorded; ops/s. */
function measureLocal(fn) {
  const warmUntil = process.hrtime.bigint() + BigInt(LOCAL_WARMUP_MS) * 1_000_000n;
  while (process.hrtime.bigint() < warmUntil) fn();
  const start = process.hrtime.bigint();
  const until = start + BigInt(Math.round(SECONDS * 1000)) * 1_000_000n;
  let n = 0;
  let now = start;
  while (now < until) {
    fn();
    n++;
    now = process.hrtime.bigint();
  }
  return n / (Number(now - start) / 1e9);
}

const NODE_EC = { ECC_NIST_P256: ['prime256v1', 'sha256'], ECC_NIST_P384: ['secp384r1', 'sha384'], ECC_NIST_P521: ['secp521r1', 'sha512'], ECC_SECG_P256K1: ['secp256k1', 'sha256'] };
const NOBLE_ML_DSA = { ML_DSA_44: ml_dsa44, ML_DSA_65: ml_dsa65, ML_DSA_87: ml_dsa87 };

/** The ceiling's signer for a spec: fresh key material, parsed once, the same message every call. */
function ceilingSigner(entry, message, kuraPrimitive) {
  const { spec } = entry;
  if (spec.startsWith('RSA_')) {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: Number(spec.slice(4)), publicExponent: 0x10001 });
    return () => nodeSign('sha256', message, privateKey);
  }
  if (NODE_EC[spec]) {
    const [curve, hash] = NODE_EC[spec];
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: curve });
    return () => nodeSign(hash, message, { key: privateKey, dsaEncoding: 'der' });
  }
  if (spec === 'ECC_NIST_EDWARDS25519') {
    const { privateKey } = generateKeyPairSync('ed25519');
    return () => nodeSign(null, message, privateKey);
  }
  if (NOBLE_ML_DSA[spec]) {
    const dsa = NOBLE_ML_DSA[spec];
    const { secretKey } = dsa.keygen(randomBytes(32));
    return () => dsa.sign(message, secretKey);
  }
  if (spec === 'HMAC_256') {
    const key = randomBytes(32);
    return () => createHmac('sha256', key).update(message).digest();
  }
  // SM2: no maintained JavaScript SM2DSA outside Kura; its own primitive is the ceiling.
  return kuraPrimitive;
}

/** Kura's primitive for a spec, in-process, with a key handle loaded once (as the key store holds it). */
function primitiveSigner(asym, entry, message) {
  const { spec, algorithm } = entry;
  const material = asym.generateKeyMaterial(spec);
  if (entry.mac) return () => asym.generateMac(spec, material.privateKey, algorithm, message);
  const handle = asym.loadPrivateKey(spec, material.privateKey);
  return () => asym.sign(spec, handle, algorithm, message, 'RAW');
}

// ---- report ----------------------------------------------------------------------------------------------

const fmt = (n, digits = 0) => (n === undefined || Number.isNaN(n) ? '—' : n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }));

function barVerdict(r) {
  const bar = CLOUDHSM[r.spec];
  if (!bar) return '';
  const verdict = r.api.opsPerSec >= bar.high ? 'beats it' : r.api.opsPerSec >= bar.low ? 'within its range' : 'BELOW it';
  return `CloudHSM ${bar.text}: ${verdict}`;
}

function report(results) {
  const cores = os.availableParallelism();
  const out = [];
  out.push(
    `Sign ops/s per key spec: API = Kura's Sign (HMAC_256: GenerateMac) over loopback, ${CONCURRENCY} keep-alive connections, SigV4-signed at send time, ${MESSAGE_BYTES}-byte RAW message; ${SECONDS} s per point after ${API_WARMUP_MS / 1000} s warm-up.`,
  );
  out.push(`ceiling = the same signature in this process by the best library at hand (one thread, key parsed once); primitive = Kura's own dist/crypto/asymmetric with a loaded key handle, in this process.`);
  out.push(
    `Machine: ${cores} core(s); the load generator (client cpu%) and Kura (kura cpu%) share them, 100 % = one core. Load average (1 min) at start ${fmt(LOAD_AT_START, 2)}, at end ${fmt(os.loadavg()[0], 2)}: anything else running skews these numbers.`,
  );
  out.push('');
  out.push(
    table(results, [
      { title: 'key spec', value: (r) => r.spec, left: true },
      { title: 'algorithm', value: (r) => r.algorithm, left: true },
      { title: 'api ops/s', value: (r) => fmt(r.api.opsPerSec) },
      { title: 'p50 ms', value: (r) => fmt(r.api.p50Ms, 2) },
      { title: 'p99 ms', value: (r) => fmt(r.api.p99Ms, 2) },
      { title: 'errors', value: (r) => r.api.errors },
      { title: 'kura cpu%', value: (r) => fmt(r.api.serverCpuPct) },
      { title: 'client cpu%', value: (r) => fmt(r.api.clientCpuPct) },
      { title: 'ceiling ops/s', value: (r) => fmt(r.ceilingOpsPerSec) },
      { title: 'ceiling by', value: (r) => r.ceilingBy, left: true },
      { title: 'api/ceiling', value: (r) => fmt(r.api.opsPerSec / r.ceilingOpsPerSec, 2) },
      { title: 'primitive ops/s', value: (r) => fmt(r.primitiveOpsPerSec) },
      { title: 'api/primitive', value: (r) => fmt(r.api.opsPerSec / r.primitiveOpsPerSec, 2) },
      { title: 'bar', value: (r) => barVerdict(r), left: true },
    ]),
  );
  const errored = results.filter((r) => r.api.errors > 0);
  if (errored.length > 0) {
    out.push('\nErrors (a finding):');
    for (const r of errored) {
      out.push(`  ${r.spec}: ${r.api.errors}`);
      for (const [text, count] of Object.entries(r.api.errorSamples).slice(0, 3)) out.push(`    ${count} × ${text}`);
    }
  }
  return out.join('\n');
}

// ---- main -----------------------------------------------------------------------------------------------

async function main() {
  const began = Date.now();
  const asym = await import(pathToFileURL(path.join(ROOT, 'dist', 'crypto', 'asymmetric', 'index.js')).href);
  const message = randomBytes(MESSAGE_BYTES);
  const messageB64 = message.toString('base64');

  progress('kura: starting');
  const kura = await startKura({ tempPrefix: 'kura-bench-sign-', cpuProfDir: flags['cpu-prof'] });
  const results = [];
  try {
    const client = kmsClient(kura.endpoint, kura.credentials);
    progress(`kura: pid ${kura.pid}, ${kura.endpoint}; creating ${RUN.length} keys`);
    const keys = await Promise.all(
      RUN.map((e) => client.call('CreateKey', { KeySpec: e.spec, KeyUsage: e.mac ? 'GENERATE_VERIFY_MAC' : 'SIGN_VERIFY', Description: `bench:sign ${e.spec}` })),
    );
    for (const [i, entry] of RUN.entries()) {
      const keyId = keys[i].KeyMetadata.KeyId;
      const action = entry.mac ? 'GenerateMac' : 'Sign';
      const body = JSON.stringify(
        entry.mac ? { KeyId: keyId, Message: messageB64, MacAlgorithm: entry.algorithm } : { KeyId: keyId, Message: messageB64, MessageType: 'RAW', SigningAlgorithm: entry.algorithm },
      );
      // One checked round trip first, so a broken spec shows as a failure, not as a fast error loop.
      const first = await client.call(action, JSON.parse(body));
      if (entry.mac) await client.call('VerifyMac', { KeyId: keyId, Message: messageB64, MacAlgorithm: entry.algorithm, Mac: first.Mac });
      else await client.call('Verify', { KeyId: keyId, Message: messageB64, MessageType: 'RAW', SigningAlgorithm: entry.algorithm, Signature: first.Signature });

      progress(`${entry.spec}: api ${action} × ${CONCURRENCY} connections (${API_WARMUP_MS / 1000} s warm-up + ${SECONDS} s)`);
      const api = await measureApi(kura, client, action, body);
      progress(`${entry.spec}: api ${fmt(api.opsPerSec)} ops/s, p50 ${fmt(api.p50Ms, 2)} ms, p99 ${fmt(api.p99Ms, 2)} ms, ${api.errors} errors`);

      const primitive = primitiveSigner(asym, entry, message);
      progress(`${entry.spec}: in-process Kura primitive (${SECONDS} s)`);
      const primitiveOpsPerSec = measureLocal(primitive);
      progress(`${entry.spec}: in-process ceiling by ${entry.ceiling} (${SECONDS} s)`);
      const ceilingOpsPerSec = entry.ceiling === 'kura primitive' ? primitiveOpsPerSec : measureLocal(ceilingSigner(entry, message, primitive));
      progress(`${entry.spec}: ceiling ${fmt(ceilingOpsPerSec)} ops/s, primitive ${fmt(primitiveOpsPerSec)} ops/s`);
      results.push({ spec: entry.spec, algorithm: entry.algorithm, api, ceilingBy: entry.ceiling, ceilingOpsPerSec, primitiveOpsPerSec });
    }
  } finally {
    progress('kura: stopping');
    await kura.stop();
  }
  progress(`done in ${((Date.now() - began) / 1000).toFixed(0)} s`);
  if (flags.json) {
    process.stdout.write(
      `${JSON.stringify({ seconds: SECONDS, concurrency: CONCURRENCY, messageBytes: MESSAGE_BYTES, cores: os.availableParallelism(), loadAverage: { start: LOAD_AT_START, end: os.loadavg()[0] }, cloudHsm: CLOUDHSM, results }, null, 2)}\n`,
    );
  } else {
    process.stdout.write(`${report(results)}\n`);
  }
  if (results.some((r) => r.api.errors > 0)) process.exitCode = 1;
}

main().catch((e) => {
  process.stderr.write(`bench:sign failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  killAllNow();
  process.exit(1);
});
