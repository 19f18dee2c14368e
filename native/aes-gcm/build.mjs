// Builds the constant-time AES-256-GCM core: AssemblyScript sources in assembly/ to
// build/aes_gcm.wasm (and a .wat listing for review). The output is generated, never committed;
// `npm run build:wasm` runs this, and the loader refuses to start without it.
import { mkdirSync, readdirSync, statSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.join(here, 'build', 'aes_gcm.wasm');
const listing = out.replace(/\.wasm$/, '.wat');
mkdirSync(path.dirname(out), { recursive: true });

// Up to date: the .wasm is newer than every source and this script (`--force` rebuilds anyway), and
// the .wat listing is there too (test/crypto/wasm-ct.test.ts analyses it).
const sources = [fileURLToPath(import.meta.url), path.join(here, 'asconfig.json'), ...readdirSync(path.join(here, 'assembly')).map((f) => path.join(here, 'assembly', f))];
if (!process.argv.includes('--force') && existsSync(out) && existsSync(listing) && sources.every((f) => statSync(f).mtimeMs <= statSync(out).mtimeMs)) process.exit(0);

// The flags are also in asconfig.json (for running asc by hand); they are spelled out here so the
// build does not depend on how asc merges the two.
const args = [
  path.join(here, 'assembly', 'index.ts'),
  '--config', path.join(here, 'asconfig.json'),
  '--target', 'release',
  '--outFile', out,
  '--textFile', listing,
  '--enable', 'simd',
  '-O3',
  '--noAssert',
  '--runtime', 'stub',
  '--use', 'abort=',
  // AS112 warns that a function with v128 in its signature could not be called from JavaScript;
  // that is true of the internal ones it flags (ghash.ts), and the exports take only integers.
  '--disableWarning', '112',
];

const { default: asc } = await import('assemblyscript/asc');
const { error, stderr } = await asc.main(args, { stdout: process.stdout, stderr: process.stderr });
if (error) {
  console.error(`asc failed: ${error.message}`);
  console.error(stderr.toString());
  process.exit(1);
}
console.log(`built ${path.relative(process.cwd(), out)} (${statSync(out).size} bytes)`);
