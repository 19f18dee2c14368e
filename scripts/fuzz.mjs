#!/usr/bin/env node
// The fuzz soak: the same generators and checks as test/fuzz/http-targets.test.ts (request-targets,
// methods, headers, framing over raw TCP), test/fuzz/kms-bodies.test.ts (KMS bodies from the AWS
// model) and test/fuzz/admin-routes.test.ts (every admin and console route's requests), run for a
// duration instead of a case count, each against its own fresh `kura serve --dev`.
// It runs those test files under vitest with KURA_FUZZ_SECONDS, KURA_FUZZ_SEED and a case count
// too large to reach, so the soak and `npm test` cannot drift apart, then prints what each run tried:
// cases, failures by kind (with the cases that reproduce them), the largest answer and the slowest.
//
//   npm run fuzz -- [--seconds S] [--seed N] [--only http|bodies|admin]
//
//   --seconds S   how long each fuzzer runs (default 60; all run at once, on separate appliances)
//   --seed N      the seed (decimal or 0x-hex); default a new random one, printed so it can be rerun
//   --only X      run one fuzzer: http (request-targets), bodies (KMS bodies) or admin (admin routes)
//
// Exit status: 0 when no case failed, 1 otherwise. `npm run fuzz` builds dist/ first.
import { spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const FILES = { http: 'test/fuzz/http-targets.test.ts', bodies: 'test/fuzz/kms-bodies.test.ts', admin: 'test/fuzz/admin-routes.test.ts' };

function usage(message) {
  if (message) process.stderr.write(`fuzz: ${message}\n`);
  const text = fs.readFileSync(fileURLToPath(import.meta.url), 'utf8');
  process.stderr.write(
    text
      .split('\n')
      .filter((l) => l.startsWith('//'))
      .map((l) => l.slice(3))
      .join('\n') + '\n',
  );
  process.exit(message ? 2 : 0);
}

function parseArgs(argv) {
  const opts = { seconds: 60, seed: randomInt(0, 2 ** 32), only: undefined };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) usage(`${arg} needs a value`);
      return v;
    };
    if (arg === '--help' || arg === '-h') usage();
    else if (arg === '--seconds') {
      opts.seconds = Number(value());
      if (!(opts.seconds > 0 && opts.seconds <= 86_400)) usage('--seconds must be a number in (0, 86400]');
    } else if (arg === '--seed') {
      const n = Number(value());
      if (!Number.isFinite(n) || n < 0) usage('--seed must be a non-negative number (0x… allowed)');
      opts.seed = Math.trunc(n) >>> 0;
    } else if (arg === '--only') {
      opts.only = value();
      if (!(opts.only in FILES)) usage('--only is http, bodies or admin');
    } else usage(`unknown argument ${arg}`);
  }
  return opts;
}

const opts = parseArgs(process.argv.slice(2));
const files = opts.only ? [FILES[opts.only]] : Object.values(FILES);
const report = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'kura-fuzz-')), 'report.jsonl');
const seedText = `0x${opts.seed.toString(16).padStart(8, '0')}`;
process.stderr.write(`[fuzz] seed ${seedText} (${opts.seed}), ${opts.seconds} s per fuzzer: ${files.join(', ')}\n`);

const started = Date.now();
const child = spawn(process.execPath, [path.join(ROOT, 'node_modules', 'vitest', 'vitest.mjs'), 'run', ...files], {
  cwd: ROOT,
  stdio: 'inherit',
  env: {
    ...process.env,
    KURA_FUZZ_SEED: String(opts.seed),
    KURA_FUZZ_SECONDS: String(opts.seconds),
    // Far more than a run can reach: the duration bounds the soak.
    KURA_FUZZ_CASES: String(1_000_000_000),
    KURA_FUZZ_REPORT: report,
  },
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
const code = await new Promise((resolve) => child.on('exit', (c, s) => resolve(c ?? (s ? 1 : 0))));

const runs = fs.existsSync(report)
  ? fs
      .readFileSync(report, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l))
  : [];
fs.rmSync(path.dirname(report), { recursive: true, force: true });

const lines = [`\nfuzz soak, seed ${seedText} (rerun: npm run fuzz -- --seed ${opts.seed} --seconds ${opts.seconds}), ${((Date.now() - started) / 1000).toFixed(0)} s`];
for (const r of runs) {
  const rate = r.seconds ? ` (${(r.tried / r.seconds).toFixed(0)}/s)` : '';
  lines.push(`  ${r.test}: ${r.tried} cases${rate}, ${r.answered} answered, ${r.failures} failed; largest answer ${r.maxAnswerBytes} bytes, slowest ${r.maxMs} ms`);
  if (r.largest) lines.push(`    largest: ${r.largest}`);
  if (r.slowest) lines.push(`    slowest: ${r.slowest}`);
  for (const [kind, e] of Object.entries(r.kinds ?? {})) {
    lines.push(`    ${e.count} × ${kind}`);
    for (const x of e.examples.slice(0, 2)) lines.push(`        e.g. ${x.length > 300 ? `${x.slice(0, 300)}…` : x}`);
  }
  for (const n of r.notes ?? []) lines.push(`    note: ${n.length > 300 ? `${n.slice(0, 300)}…` : n}`);
}
if (runs.length === 0) lines.push('  no fuzzer reported (did the build or the appliance fail to start? see above)');
process.stdout.write(`${lines.join('\n')}\n`);
process.exit(code === 0 && runs.length > 0 && runs.every((r) => r.failures === 0) ? 0 : 1);
