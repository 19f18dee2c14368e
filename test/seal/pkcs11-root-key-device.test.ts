// Seal mode pkcs11 on a device: the root key's sealing key on a token whose module Kura runs in a host
// process (main/devices/pkcs11/module-host.ts), here test/support/pkcs11-shim over a SoftHSM2 token,
// which also misbehaves on request. Init and unseal work through the host; a token that hangs or whose
// library crashes while the operator unseals gives KeyUnavailable (plug it in and try again), not a
// frozen appliance, and leaves it sealed; the next try, with the device back, unseals.
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TOKEN_CALL_DEADLINE_MS } from '../../main/devices/pkcs11/index.js';
import { kmsError, openDomain, type Domain } from '../support/domain.js';
import { buildPkcs11Shim, setShimFault, SHIM_CONTROL_ENV, SHIM_TARGET_ENV } from '../support/pkcs11-shim.js';
import { hostProcesses, waitFor } from '../support/processes.js';
import { softHsm, type SoftHsmEnv, type SoftHsmToken } from '../support/tokens.js';

let hsm: SoftHsmEnv;
let token: SoftHsmToken;
let shim: string;
let control: string;
const opened: Domain[] = [];

beforeAll(() => {
  hsm = softHsm();
  token = hsm.makeToken('kura-seal-device');
  shim = buildPkcs11Shim();
  control = path.join(path.dirname(hsm.tokenDir), 'shim-control');
  process.env[SHIM_TARGET_ENV] = hsm.modulePath;
  process.env[SHIM_CONTROL_ENV] = control;
});
afterAll(() => hsm.cleanup());
afterEach(async () => {
  setShimFault(control, null);
  for (const d of opened.splice(0)) await d.close();
  await waitFor(() => hostProcesses().length === 0);
});

async function initialised(): Promise<Domain> {
  const d = await openDomain({ unseal: 'none' });
  opened.push(d);
  await d.root.initPkcs11({ modulePath: shim, tokenLabel: token.label, pin: token.pin });
  return d;
}

describe('seal mode pkcs11 on a module in a host process', () => {
  it('inits and unseals through the host, and stops the host once done', async () => {
    const d = await initialised();
    expect((await d.root.status()).state).toBe('sealed');
    expect((await d.root.unsealWithPin(token.pin)).state).toBe('unsealed');
    await waitFor(() => hostProcesses().length === 0);
  });

  it('unseals on a write-protected token: the unseal only reads, in a read-only session', async () => {
    const d = await initialised();
    setShimFault(control, { action: 'rdonly', fn: 'C_OpenSession' });
    expect((await d.root.unsealWithPin(token.pin)).state).toBe('unsealed');
  });

  it('a token that hangs while the operator unseals: KeyUnavailable after the deadline, still sealed; unseals once it answers', async () => {
    const d = await initialised();
    setShimFault(control, { action: 'hang', fn: 'C_Decrypt' });
    const started = Date.now();
    const e = await kmsError(d.root.unsealWithPin(token.pin));
    expect(Date.now() - started).toBeGreaterThanOrEqual(TOKEN_CALL_DEADLINE_MS - 50);
    expect(e.code).toBe('KeyUnavailable');
    expect(e.message).toMatch(/did not answer/);
    expect((await d.root.status()).state).toBe('sealed');
    setShimFault(control, null);
    expect((await d.root.unsealWithPin(token.pin)).state).toBe('unsealed');
  }, TOKEN_CALL_DEADLINE_MS + 20_000);

  it('a library that crashes while the operator unseals: KeyUnavailable at once, still sealed; unseals on the next try', async () => {
    const d = await initialised();
    setShimFault(control, { action: 'crash', fn: 'C_Login' });
    const started = Date.now();
    const e = await kmsError(d.root.unsealWithPin(token.pin));
    expect(Date.now() - started).toBeLessThan(TOKEN_CALL_DEADLINE_MS);
    expect(e.code).toBe('KeyUnavailable');
    expect((await d.root.status()).state).toBe('sealed');
    setShimFault(control, null);
    expect((await d.root.unsealWithPin(token.pin)).state).toBe('unsealed');
  });
});
