// The fuzz layer's own parts, without a server: the checks every answer goes through do flag what they
// are meant to flag (a Node stack trace, internal text, a 500, a body in neither error shape) and pass
// what they must pass (an echoed path, AWS error bodies), a seed reproduces its cases byte for byte,
// and the generators cover what the fuzz tests claim (the former crash targets, every KMS operation,
// bodies near the 1 MiB cap but under it).
import { describe, expect, it } from 'vitest';
import { BODY_CAP, allowedErrors, baseInput, generateBodyCase, operationNames, untagFlood } from '../support/fuzz-bodies.js';
import { allowedStatus, errorShapeProblem, leaksIn } from '../support/fuzz-http.js';
import { DEFAULT_FUZZ_SEED, Rng, fuzzSeed } from '../support/fuzz-rng.js';
import { CRASH_TARGETS, generateHttpCase } from '../support/fuzz-targets.js';

const STACK = `TypeError: Invalid URL
    at new URL (node:internal/url:816:29)
    at IncomingMessage.<anonymous> (file:///work/main/dist/api/server.js:59:25)
    at IncomingMessage.emit (node:events:524:28)`;

describe('the answer checks', () => {
  it('flag a stack trace, internal text and paths, but not a path the request itself sent', () => {
    expect(leaksIn(STACK, 'GET // HTTP/1.1').length).toBeGreaterThanOrEqual(4);
    expect(leaksIn('{"message":"internal error"}', '')).toHaveLength(1);
    expect(leaksIn('{"code":"ERR_INVALID_URL"}', '')).toHaveLength(1);
    expect(leaksIn('{"message":"nothing at GET /x:1/dist/a.js:3"}', 'GET /x:1/dist/a.js:3 HTTP/1.1')).toEqual([]);
    expect(leaksIn('{"__type":"ValidationException","message":"1 validation error detected: Value at \'keyId\' failed"}', '')).toEqual([]);
  });

  it('allow below 500 and the documented 503 only', () => {
    expect([200, 400, 404, 405, 413, 431, 503].every(allowedStatus)).toBe(true);
    expect([500, 501, 502, 504].some(allowedStatus)).toBe(false);
  });

  it('know the KMS, admin and XKS error shapes apart', () => {
    const kms = Buffer.from('{"__type":"NotFoundException","message":"x"}');
    expect(errorShapeProblem(kms, { 'x-amzn-errortype': 'NotFoundException' }, ['kms'])).toBeUndefined();
    expect(errorShapeProblem(kms, { 'x-amzn-errortype': 'ValidationException' }, ['kms'])).toMatch(/differs/);
    expect(errorShapeProblem(Buffer.from('{"message":"nothing here"}'), {}, ['kms'])).toMatch(/not \{"__type","message"\}/);
    expect(errorShapeProblem(Buffer.from('{"error":"AccessDenied","message":"x"}'), {}, ['kms'])).toBeDefined();
    expect(errorShapeProblem(Buffer.from('{"error":"AccessDenied","message":"x"}'), {}, ['kms', 'admin'])).toBeUndefined();
    expect(errorShapeProblem(Buffer.from('{"errorName":"InvalidUriPathException","errorMessage":"x"}'), {}, ['kms', 'xks'])).toBeUndefined();
    expect(errorShapeProblem(Buffer.from('<html>'), {}, ['kms'])).toBe('the body is not JSON');
    expect(errorShapeProblem(Buffer.alloc(0), {}, ['kms'])).toBeUndefined();
  });

  it('take only modelled and common errors, never the 500s', () => {
    const encrypt = allowedErrors('Encrypt');
    expect(encrypt.has('DisabledException')).toBe(true);
    expect(encrypt.has('ValidationException')).toBe(true);
    expect(encrypt.has('KMSInternalException')).toBe(false);
    expect(encrypt.has('KeyUnavailableException')).toBe(false);
    expect(allowedErrors('DeleteAlias').has('InvalidAliasNameException')).toBe(false);
  });
});

describe('the generators', () => {
  it('reproduce a case from its seed and index, and differ across seeds', () => {
    const a = generateHttpCase(new Rng(7, 123), 123, 7420);
    const b = generateHttpCase(new Rng(7, 123), 123, 7420);
    expect(b.bytes.equals(a.bytes)).toBe(true);
    const others = Array.from({ length: 20 }, (_, i) => generateHttpCase(new Rng(8 + i, 123), 123, 7420).bytes.toString('latin1'));
    expect(new Set(others).size).toBeGreaterThan(15);
    const body = (seed: number) => generateBodyCase(new Rng(seed, 3, 5), 'Encrypt', 5, { KeyId: 'k' }).body;
    expect(body(1).equals(body(1))).toBe(true);
  });

  it('default to a fixed seed, so that `npm test` runs the same cases every time; KURA_FUZZ_SEED names another', () => {
    const saved = process.env.KURA_FUZZ_SEED;
    try {
      delete process.env.KURA_FUZZ_SEED;
      expect(fuzzSeed()).toBe(DEFAULT_FUZZ_SEED);
      process.env.KURA_FUZZ_SEED = '0x10';
      expect(fuzzSeed()).toBe(16);
      process.env.KURA_FUZZ_SEED = '12345';
      expect(fuzzSeed()).toBe(12345);
      process.env.KURA_FUZZ_SEED = 'nope';
      expect(() => fuzzSeed()).toThrow(/KURA_FUZZ_SEED/);
    } finally {
      if (saved === undefined) delete process.env.KURA_FUZZ_SEED;
      else process.env.KURA_FUZZ_SEED = saved;
    }
  });

  it('send the former crash targets among the generated request-targets', () => {
    const targets = Array.from({ length: 3_000 }, (_, i) => generateHttpCase(new Rng(DEFAULT_FUZZ_SEED, i), i, 7420).target);
    expect(CRASH_TARGETS.filter((t) => targets.some((x) => x.includes(t))).length).toBeGreaterThanOrEqual(CRASH_TARGETS.length - 1);
    expect(targets.some((t) => t.length > 16 * 1024)).toBe(true);
    expect(targets.some((t) => /^[a-zA-Z][\w+.-]*:\/\//.test(t))).toBe(true);
  });

  it('cover all 54 operations, with huge bodies under the 1 MiB cap and one over it', () => {
    const operations = operationNames();
    expect(operations).toHaveLength(54);
    for (const op of operations) expect(() => JSON.parse(JSON.stringify(baseInput(op, { KeyId: 'k' })))).not.toThrow();
    const sizes = operations.flatMap((op, i) => Array.from({ length: 40 }, (_, r) => generateBodyCase(new Rng(DEFAULT_FUZZ_SEED, i, r + 1), op, r + 1, { KeyId: 'k' }).body.length));
    expect(sizes.some((n) => n > 800_000 && n <= BODY_CAP)).toBe(true);
    expect(sizes.some((n) => n > BODY_CAP)).toBe(true);
    const flood = untagFlood('k');
    expect(flood.length).toBeGreaterThan(900_000);
    expect(flood.length).toBeLessThan(BODY_CAP);
  });
});
