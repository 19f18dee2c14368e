// Seal mode pkcs11 pins its token by serial number (main/seal/pkcs11-root-key-token.ts), on real SoftHSM2
// tokens made in a temporary directory: init records the token's serial; a token deleted and initialised
// again with the same label (softhsm2-util) is refused at unseal before the PIN is offered to it —
// pkcs11-tool, another process, finds its "user PIN count low" flag unset — and the appliance stays
// sealed; an appliance initialised before the serial was recorded still unseals by label, and keeps the
// serial of the token that proved itself by opening the root key.
import { execFileSync } from 'node:child_process';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { kmsError, openDomain, type Domain } from '../support/domain.js';
import { writeSql } from '../support/sqlite.js';
import { softHsm } from '../support/tokens.js';

// Before anything initialises SoftHSM in this process: it reads SOFTHSM2_CONF at C_Initialize.
const hsm = softHsm();
hsm.makeToken('kura-seal-swapped', '1234567');
hsm.makeToken('kura-seal-legacy', '1234567');
const opened: Domain[] = [];
afterAll(() => hsm.cleanup());
afterEach(async () => {
  for (const d of opened.splice(0)) await d.close();
});

async function domain(): Promise<Domain> {
  const d = await openDomain({ unseal: 'none' });
  opened.push(d);
  return d;
}

/** What pkcs11-tool says of the token labelled `label`: its serial number and flags. */
function tokenAsListed(label: string): { serial: string; flags: string } {
  const out = execFileSync('pkcs11-tool', ['--module', hsm.modulePath, '--list-token-slots'], { env: hsm.env, encoding: 'utf8' });
  const slot = out.split(/\n(?=Slot )/).find((s) => new RegExp(`token label\\s*: ${label}\\s*$`, 'm').test(s))!;
  return { serial: /serial num\s*: (\S+)/.exec(slot)![1]!, flags: /token flags\s*: (.*)/.exec(slot)![1]! };
}

describe('the pkcs11 seal token by serial number', () => {
  it('refuses at unseal a token re-initialised with the same label, before offering it the PIN; the appliance stays sealed', async () => {
    const d = await domain();
    await d.root.initPkcs11({ modulePath: hsm.modulePath, tokenLabel: 'kura-seal-swapped', pin: '1234567' });
    const registered = tokenAsListed('kura-seal-swapped').serial;
    expect((await d.store.appliance.sealConfig())!.pkcs11!.serialNumber).toBe(registered);

    execFileSync('softhsm2-util', ['--delete-token', '--token', 'kura-seal-swapped'], { env: hsm.env, stdio: 'pipe' });
    hsm.makeToken('kura-seal-swapped', '7777777');
    const impostor = tokenAsListed('kura-seal-swapped');
    expect(impostor.serial).not.toBe(registered);

    const e = await kmsError(d.root.unsealWithPin('1234567'));
    expect(e.code).toBe('InvalidState');
    expect(e.message).toContain(`serial number ${impostor.serial}, not ${registered}`);
    expect(e.message).toMatch(/did not offer it the PIN/);
    expect(tokenAsListed('kura-seal-swapped').flags).not.toMatch(/user PIN count low/);
    expect(await d.root.status()).toMatchObject({ state: 'sealed', mode: 'pkcs11' });
  });

  it('unseals an appliance initialised before the serial was recorded, by the label, and keeps the serial of the token that opened it', async () => {
    const d = await domain();
    await d.root.initPkcs11({ modulePath: hsm.modulePath, tokenLabel: 'kura-seal-legacy', pin: '1234567' });
    await writeSql(d.store, (sql) => sql.run("UPDATE seal_config SET pkcs11 = json_remove(pkcs11, '$.serialNumber')"));
    expect((await d.store.appliance.sealConfig())!.pkcs11!.serialNumber).toBeUndefined();
    expect((await d.root.unsealWithPin('1234567')).state).toBe('unsealed');
    const serial = tokenAsListed('kura-seal-legacy').serial;
    expect((await d.store.appliance.sealConfig())!.pkcs11!.serialNumber).toBe(serial);

    // From then on it is pinned like a new one: a token re-initialised with the label never sees the PIN.
    d.root.seal();
    execFileSync('softhsm2-util', ['--delete-token', '--token', 'kura-seal-legacy'], { env: hsm.env, stdio: 'pipe' });
    hsm.makeToken('kura-seal-legacy', '7777777');
    const e = await kmsError(d.root.unsealWithPin('1234567'));
    expect(e.code).toBe('InvalidState');
    expect(e.message).toContain(`not ${serial}`);
    expect(tokenAsListed('kura-seal-legacy').flags).not.toMatch(/user PIN count low/);
  });
});
