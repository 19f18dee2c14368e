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
  // HSM key stores are tested against two PKCS#11 vendors: SoftHSM2 and NSS's softokn (with its tools),
  // and checked from outside with OpenSC's pkcs11-tool
  ['softhsm2', '/usr/lib/softhsm/libsofthsm2.so'],
  ['opensc', '/usr/bin/pkcs11-tool'],
  ['libnss3-tools', '/usr/bin/certutil'],
  // a misbehaving device is a PKCS#11 module the tests compile (test/support/pkcs11-shim)
  ['gcc', '/usr/bin/cc'],
  // device discovery: node-hid's prebuilt binary loads libusb at run time
  ['libusb-1.0-0', '/usr/lib/x86_64-linux-gnu/libusb-1.0.so.0'],
  // that an answered call's audit entry was synced to disk first is seen in the server's system calls
  ['strace', '/usr/bin/strace'],
  // the systemd unit in contrib/ is checked with systemd-analyze
  ['systemd', '/usr/bin/systemd-analyze'],
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
