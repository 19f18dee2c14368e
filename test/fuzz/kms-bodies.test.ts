// Every KMS operation's JSON body under fuzzing (issue #8, finding 4 and the body side of finding 1):
// correctly signed `POST /` requests to a real `kura serve --dev` (the compiled dist/) carrying bodies
// generated from the AWS API model (fuzz-bodies.ts): per operation a valid body with real keys, then
// one mutation per case (wrong types, boundary lengths and counts, pattern and enum violations, unicode,
// invalid base64, deep nesting, huge lists and maps, broken and non-object JSON, a body over the cap).
// For every answer it proves:
//  - it came, within 10 s (a liveness bound, not a benchmark);
//  - its status is 200 or a 4xx (the appliance is unsealed, so not even a 503), never a 5xx;
//  - an error is AWS JSON 1.1: {"__type","message"} with x-amzn-errortype, and __type is one of the
//    operation's modelled errors or a common one (ValidationException, SerializationException, …);
//  - an error body is at most 8 KiB (a 990 KB UntagResource once got a 38.8 MB answer), a success
//    body at most 256 KiB, and no body carries a stack trace or internal text;
// and at the end, that the process is alive and serves a signed call. The issue's own case (UntagResource
// with 330,000 empty TagKeys) runs first, by name.
//
// Seeded (KURA_FUZZ_SEED); each operation's cases run in order on its own keys, so a run is the same
// run every time. Bounded by a case count (KURA_FUZZ_CASES, default 1,200) and a time budget
// (KURA_FUZZ_SECONDS, default 10); `npm run fuzz` runs it longer.
import { constants, createPublicKey, generateKeyPairSync, publicEncrypt, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allowedErrors, generateBodyCase, operationNames, untagFlood, type BodyCase } from '../support/fuzz-bodies.js';
import { alive, errorShapeProblem, exchangeRaw, kmsCall, kmsOk, leaksIn, show, signedKmsBytes, type RawAnswer } from '../support/fuzz-http.js';
import { Findings } from '../support/fuzz-report.js';
import { fuzzBudgetMs, fuzzCases, fuzzSeed, Rng, showSeed } from '../support/fuzz-rng.js';
import { startKura, type KuraProcess } from '../support/kura-process.js';

const SEED = fuzzSeed();
const CASES = fuzzCases(1_200);
const BUDGET_MS = fuzzBudgetMs(10);
const WORKERS = 4;
const MAX_ERROR_BYTES = 8 * 1024;
const MAX_SUCCESS_BYTES = 256 * 1024;
/** Reading stops here: a runaway answer is reported without costing the test its size. */
const READ_CAP = 512 * 1024;
const ANSWER_WITHIN_MS = 10_000;

let kura: KuraProcess;

beforeAll(async () => {
  kura = await startKura();
});

afterAll(async () => {
  await kura?.stop();
  if (kura) fs.rmSync(kura.dataDir, { recursive: true, force: true });
});

type KeyKind = 'symmetric' | 'hmac' | 'sign' | 'agree' | 'external';
const KEY_KINDS: Record<string, KeyKind> = {
  GenerateMac: 'hmac',
  VerifyMac: 'hmac',
  Sign: 'sign',
  Verify: 'sign',
  GetPublicKey: 'sign',
  DeriveSharedSecret: 'agree',
  GetParametersForImport: 'external',
  ImportKeyMaterial: 'external',
  DeleteImportedKeyMaterial: 'external',
};
const CREATE_INPUT: Record<KeyKind, Record<string, unknown>> = {
  symmetric: {},
  hmac: { KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' },
  sign: { KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' },
  agree: { KeySpec: 'ECC_NIST_P256', KeyUsage: 'KEY_AGREEMENT' },
  external: { Origin: 'EXTERNAL' },
};

/**
 * The operation's own valid values: a key of the kind it needs (its own, so that one operation's
 * cases never change another's key), and what its valid body needs besides (a ciphertext, a
 * signature, an alias, a peer public key, an import token).
 */
async function prepare(operation: string): Promise<Record<string, unknown>> {
  const kind = KEY_KINDS[operation] ?? 'symmetric';
  const created = await kmsOk(kura, 'CreateKey', { ...CREATE_INPUT[kind], Description: `fuzz ${operation}` });
  const keyId = (created.KeyMetadata as { KeyId: string }).KeyId;
  const good: Record<string, unknown> = { KeyId: keyId, TargetKeyId: keyId, SourceKeyId: keyId, DestinationKeyId: keyId };
  switch (operation) {
    case 'Decrypt':
    case 'ReEncrypt':
      good.CiphertextBlob = (await kmsOk(kura, 'Encrypt', { KeyId: keyId, Plaintext: Buffer.from('fuzz').toString('base64'), EncryptionContext: { purpose: 'fuzz' } })).CiphertextBlob;
      break;
    case 'Verify':
      good.Signature = (await kmsOk(kura, 'Sign', { KeyId: keyId, Message: Buffer.from('fuzz message').toString('base64'), SigningAlgorithm: 'ECDSA_SHA_256' })).Signature;
      break;
    case 'VerifyMac':
      good.Mac = (await kmsOk(kura, 'GenerateMac', { KeyId: keyId, Message: Buffer.from('fuzz message').toString('base64'), MacAlgorithm: 'HMAC_SHA_256' })).Mac;
      break;
    case 'DeriveSharedSecret':
      good.PublicKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
      break;
    case 'ImportKeyMaterial': {
      // 256-bit material wrapped as AWS documents for RSAES_OAEP_SHA_256 (what `openssl pkeyutl` does).
      const params = await kmsOk(kura, 'GetParametersForImport', { KeyId: keyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' });
      good.ImportToken = params.ImportToken;
      const wrappingKey = createPublicKey({ key: Buffer.from(params.PublicKey as string, 'base64'), format: 'der', type: 'spki' });
      good.EncryptedKeyMaterial = publicEncrypt({ key: wrappingKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, randomBytes(32)).toString('base64');
      break;
    }
    case 'CancelKeyDeletion':
      await kmsOk(kura, 'ScheduleKeyDeletion', { KeyId: keyId, PendingWindowInDays: 7 });
      break;
    case 'CreateAlias':
      good.AliasName = 'alias/fuzz-create';
      break;
    case 'UpdateAlias':
    case 'DeleteAlias':
      good.AliasName = `alias/fuzz-${operation}`;
      await kmsOk(kura, 'CreateAlias', { AliasName: good.AliasName, TargetKeyId: keyId });
      break;
  }
  return good;
}

/** Everything wrong with one answer (empty when it passes). */
function judge(c: BodyCase, a: RawAnswer): string[] {
  if (a.status === undefined) {
    return [a.outcome === 'timeout' ? `no answer within ${ANSWER_WITHIN_MS / 1000} s` : `no answer: ${a.outcome}${a.error ? ` (${a.error})` : ''}`];
  }
  const problems: string[] = [];
  if (a.status !== 200 && (a.status < 400 || a.status >= 500)) problems.push(`status ${a.status}`);
  const text = a.body.toString('utf8');
  for (const leak of leaksIn(text, c.body.toString('utf8'))) problems.push(`leak: ${leak}`);
  if (a.status === 200) {
    if (a.outcome === 'oversize' || a.body.length > MAX_SUCCESS_BYTES) problems.push(`success body over ${MAX_SUCCESS_BYTES} bytes`);
    return problems;
  }
  if (a.outcome === 'oversize' || a.body.length > MAX_ERROR_BYTES) {
    const size = a.headers['content-length'] ?? `over ${a.raw.length}`;
    problems.push(`error body over ${MAX_ERROR_BYTES} bytes = ${size} bytes`);
    return problems;
  }
  const shape = errorShapeProblem(a.body, a.headers, ['kms']);
  if (shape !== undefined) problems.push(`error shape: ${shape}`);
  else {
    const type = (JSON.parse(text) as { __type: string }).__type;
    if (!allowedErrors(c.operation).has(type)) problems.push(`error ${type} is not modelled for ${c.operation}`);
  }
  return problems;
}

async function send(c: BodyCase): Promise<RawAnswer> {
  const bytes = await signedKmsBytes(kura, c.operation, c.body);
  return exchangeRaw(bytes, { port: kura.port, timeoutMs: ANSWER_WITHIN_MS, maxBytes: READ_CAP });
}

function note(f: Findings, c: BodyCase, a: RawAnswer, problems: readonly string[]): void {
  const answer = a.status === undefined ? a.outcome : `${a.status} ${show(a.body, 200)}`;
  f.note(`${c.id} (${c.what}), ${c.body.length} bytes → ${answer}`, a.status !== undefined, a.body.length, a.ms, problems);
}

describe(`KMS request bodies generated from the AWS model (${showSeed(SEED)})`, () => {
  it("answers issue #8's UntagResource with 330,000 empty TagKeys in a bounded error", async () => {
    const findings = new Findings('untag-flood', SEED);
    const { KeyMetadata } = await kmsOk(kura, 'CreateKey', { Description: 'untag flood' });
    const keyId = (KeyMetadata as { KeyId: string }).KeyId;
    const c: BodyCase = { id: 'UntagResource flood', operation: 'UntagResource', what: '330,000 empty TagKeys', body: untagFlood(keyId), huge: true };
    expect(c.body.length).toBeGreaterThan(900_000);
    expect(c.body.length).toBeLessThan(1024 * 1024);
    const a = await send(c);
    note(findings, c, a, judge(c, a));
    if (a.status !== undefined) expect(a.status).toBe(400);
    findings.summarize();
    expect(findings.report()).toBe('');
    expect(alive(kura.proc)).toBe(true);
  }, 60_000);

  it(`answers ${CASES} generated bodies over all 54 operations (within ${BUDGET_MS / 1000} s) with AWS-shaped, bounded answers`, async () => {
    const findings = new Findings('kms-bodies', SEED);
    const operations = operationNames();
    expect(operations).toHaveLength(54);
    const rounds = Math.ceil(CASES / operations.length);
    const started = Date.now();
    const succeeded = new Set<string>();
    const unsupported = new Set<string>();
    let maxHugeMs = 0;
    let maxErrorBytes = 0;

    // Each worker owns every WORKERS-th operation and runs its cases in order: deterministic per key.
    const worker = async (w: number) => {
      const mine = operations.filter((_, i) => i % WORKERS === w);
      const good = new Map<string, Record<string, unknown>>();
      for (let round = 0; round < rounds; round++) {
        for (const operation of mine) {
          if (Date.now() - started >= BUDGET_MS || !alive(kura.proc)) return;
          if (!good.has(operation)) {
            try {
              good.set(operation, await prepare(operation));
            } catch (e) {
              findings.add('setup failed', `${operation}: ${(e as Error).message}`);
              good.set(operation, {});
            }
          }
          const c = generateBodyCase(new Rng(SEED, operations.indexOf(operation), round), operation, round, good.get(operation)!);
          const a = await send(c);
          if (a.status === 200) succeeded.add(operation);
          if (a.body.includes('UnsupportedOperationException')) unsupported.add(operation);
          if (a.status !== undefined && a.status !== 200) maxErrorBytes = Math.max(maxErrorBytes, Number(a.headers['content-length'] ?? a.body.length));
          if (c.huge) maxHugeMs = Math.max(maxHugeMs, a.ms);
          note(findings, c, a, judge(c, a));
        }
      }
    };
    await Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));

    if (alive(kura.proc)) {
      const legit = await kmsCall(kura, 'ListKeys', '{"Limit":1}');
      if (legit.status !== 200) findings.add('legitimate client not served', `ListKeys → ${legit.status || legit.headers.error}: ${show(legit.body)}`);
    } else findings.add('the process died', `exit ${kura.proc.exitCode ?? kura.proc.signalCode}; stderr tail: ${show(kura.stderr().slice(-400), 400)}`);
    const seconds = (Date.now() - started) / 1000;
    const never200 = operations.filter((o) => !succeeded.has(o) && !unsupported.has(o));
    findings.summarize({ seconds, budgetSeconds: BUDGET_MS / 1000, cases: CASES, operationsWith200: succeeded.size, never200, maxErrorBytes, maxHugeMs });
    console.log(
      `[fuzz] kms-bodies ${showSeed(SEED)}: ${findings.tried} bodies in ${seconds.toFixed(1)} s, ${succeeded.size} operations answered 200 at least once, ` +
        `largest error ${maxErrorBytes} bytes, slowest ${findings.maxMs} ms (huge bodies: ${maxHugeMs} ms)`,
    );
    expect(findings.report()).toBe('');
    expect(findings.tried, `${showSeed(SEED)}: too few bodies went out`).toBeGreaterThanOrEqual(Math.min(CASES, 500));
    // The valid bodies reach the handlers: the fuzzer exercises real operations, not only the validator.
    expect(succeeded.size, `operations that answered 200: ${[...succeeded].sort().join(', ')}`).toBeGreaterThanOrEqual(35);
  }, BUDGET_MS + 120_000);
});
