// PKCS#11 tokens for tests, made with the vendors' own tools in a temporary directory, never a system
// token: SoftHSM2 tokens (softhsm2-util, with a SOFTHSM2_CONF of their own) and NSS softokn databases
// (certutil), with the C_Initialize library parameters NSS needs.
//
// Both modules are process-wide: SoftHSM reads SOFTHSM2_CONF at C_Initialize, and NSS takes one
// database per process. So a test file makes its SoftHSM environment (softHsm()) before anything
// initialises the module, and uses at most one NSS database. Vitest runs each test file in a process
// of its own (pool 'forks'), which keeps files apart.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connectHsmKeyStore, type HsmKeyStore, type HsmTokenConfig } from '../../main/keystores/hsm/index.js';
import type { KeyStoreHarness } from '../keystores/contract.js';

export const SOFTHSM_MODULE = '/usr/lib/softhsm/libsofthsm2.so';
export const NSS_MODULE = '/usr/lib/x86_64-linux-gnu/libsoftokn3.so';
/** The label of an NSS database's private-key token. */
export const NSS_TOKEN_LABEL = 'NSS Certificate DB';

export interface SoftHsmToken {
  label: string;
  pin: string;
  soPin: string;
  /** The token's own directory (delete it to "pull" the token). */
  dir: string;
}

export interface SoftHsmEnv {
  modulePath: string;
  /** The SOFTHSM2_CONF file; its tokendir is `tokenDir`. */
  conf: string;
  tokenDir: string;
  /** Initialises a token in a free slot (softhsm2-util --init-token --free). */
  makeToken(label: string, pin?: string, soPin?: string): SoftHsmToken;
  /** Environment for a child process (pkcs11-tool, softhsm2-util) that should see these tokens. */
  env: NodeJS.ProcessEnv;
  cleanup(): void;
}

/**
 * A SoftHSM2 environment in a temporary directory, and SOFTHSM2_CONF pointing at it in this process
 * (restored by cleanup()). Call before the module is first initialised in this process.
 */
export function softHsm(): SoftHsmEnv {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-softhsm-'));
  const tokenDir = path.join(dir, 'tokens');
  fs.mkdirSync(tokenDir);
  const conf = path.join(dir, 'softhsm2.conf');
  fs.writeFileSync(conf, `directories.tokendir = ${tokenDir}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
  const previous = process.env.SOFTHSM2_CONF;
  process.env.SOFTHSM2_CONF = conf;
  const env = { ...process.env, SOFTHSM2_CONF: conf };
  return {
    modulePath: SOFTHSM_MODULE,
    conf,
    tokenDir,
    env,
    makeToken(label, pin = '1234567', soPin = '12345678') {
      const before = new Set(fs.readdirSync(tokenDir));
      execFileSync('softhsm2-util', ['--init-token', '--free', '--label', label, '--pin', pin, '--so-pin', soPin], { env, stdio: 'pipe' });
      const made = fs.readdirSync(tokenDir).find((d) => !before.has(d));
      if (!made) throw new Error(`softhsm2-util made no token directory for ${label}`);
      return { label, pin, soPin, dir: path.join(tokenDir, made) };
    },
    cleanup() {
      if (previous === undefined) delete process.env.SOFTHSM2_CONF;
      else process.env.SOFTHSM2_CONF = previous;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A SoftHSM2 token's secret keys, as pkcs11-tool lists them after logging in with the user PIN (straight
 * from SoftHSM2, never through Kura or a shim): label → CKA_ID (hex).
 */
export function secretKeysOn(soft: SoftHsmEnv, token: SoftHsmToken): Map<string, string> {
  const out = execFileSync('pkcs11-tool', ['--module', soft.modulePath, '--token-label', token.label, '--login', '--pin', token.pin, '--list-objects', '--type', 'secrkey'], { env: soft.env, stdio: 'pipe' }).toString();
  return new Map(out.split('Secret Key Object').slice(1).map((o) => [/label:\s+(.*)/.exec(o)![1]!.trim(), /ID:\s+([0-9a-f]+)/.exec(o)![1]!]));
}

/** A self-signed CA certificate (PEM) to give CreateCustomKeyStore as TrustAnchorCertificate. */
export function trustAnchorPem(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-ta-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', path.join(dir, 'k.pem'), '-out', path.join(dir, 'c.pem'), '-subj', '/CN=kura-hsm-test-ca', '-days', '2'], { stdio: 'ignore' });
    return fs.readFileSync(path.join(dir, 'c.pem'), 'utf8');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export interface NssDatabase {
  modulePath: string;
  dir: string;
  /** What C_Initialize needs (HsmTokenConfig.libraryParameters). */
  libraryParameters: string;
  tokenLabel: string;
  pin: string;
  cleanup(): void;
}

/** An NSS softokn database (certutil -N) whose password is the user PIN. One per test file. */
export function nssDatabase(pin = 'kura-nss-pin-1'): NssDatabase {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-nss-'));
  const pwFile = path.join(dir, 'password.txt');
  fs.writeFileSync(pwFile, `${pin}\n`, { mode: 0o600 });
  try {
    execFileSync('certutil', ['-N', '-d', `sql:${dir}`, '-f', pwFile], { stdio: 'pipe' });
  } finally {
    fs.rmSync(pwFile, { force: true });
  }
  return {
    modulePath: NSS_MODULE,
    dir,
    libraryParameters: `configdir='sql:${dir}' certPrefix='' keyPrefix='' secmod='secmod.db' flags=`,
    tokenLabel: NSS_TOKEN_LABEL,
    pin,
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * A KeyStoreHarness (test/keystores/contract.ts) over an HSM key store: seal() does what the appliance
 * does (forgetAll, then the KMS domain disconnects the store), unseal() connects again with the same
 * token and PIN; `store` is the store connected now.
 */
export async function hsmHarness(config: HsmTokenConfig & { pin: string }, opts: { sessions?: number } = {}): Promise<KeyStoreHarness & { store: HsmKeyStore }> {
  let store = await connectHsmKeyStore(config, opts);
  return {
    get store() {
      return store;
    },
    async seal() {
      store.forgetAll();
      await store.close();
    },
    async unseal() {
      store = await connectHsmKeyStore(config, opts);
    },
    close: () => store.close(),
  };
}
