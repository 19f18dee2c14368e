#!/usr/bin/env node
// Makes sure the system packages that Kura's tests use are present (Debian). As root it installs
// what is missing with apt-get; otherwise it names the exact command to run and fails.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

// [package, a file that proves it is installed]
const NEEDED = [
  ['awscli', '/usr/bin/aws'],
  ['sqlite3', '/usr/bin/sqlite3'],
  // the WebAssembly core is tested in a real browser (playwright-core drives Debian's chromium)
  ['chromium', '/usr/bin/chromium'],
];

const missing = NEEDED.filter(([, file]) => !fs.existsSync(file)).map(([pkg]) => pkg);
if (missing.length === 0) process.exit(0);

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
if (!isRoot) {
  console.error(`Kura's tests need these Debian packages: ${missing.join(' ')}`);
  console.error(`Install them with:  sudo apt-get update && sudo apt-get install -y ${missing.join(' ')}`);
  process.exit(1);
}
console.error(`Installing system packages for the tests: ${missing.join(' ')} …`);
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
try {
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', ...missing], { stdio: 'inherit', env });
} catch {
  console.error(`apt-get failed; install these packages by hand: ${missing.join(' ')}`);
  process.exit(1);
}
