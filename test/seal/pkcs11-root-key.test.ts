// Seal mode pkcs11 in the root key holder (main/seal/root-key.ts over main/seal/pkcs11-root-key-token.ts)
// with a real SoftHSM2 token made in a temporary directory: init makes a sensitive, never-extractable
// encrypt/decrypt-only key on the token (checked with pkcs11-tool) and leaves the appliance sealed; the
// PIN unseals it, also from a fresh holder (a restart); a wrong PIN, an absent token, a tampered sealed
// root key or check value are refused and change nothing; the session is logged out afterwards; an
// init that loses a race leaves no key on the token; Shamir and pkcs11 refuse each other's inputs.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { findToken, Pkcs11Module, Pkcs11Session } from '../../main/devices/pkcs11/index.js';
import { rootKeyCheckValue, RootKeyHolder } from '../../main/seal/root-key.js';
import { wasmAead } from '../../main/crypto/wasm-aead.js';
import { encodeAad } from '../../main/seal/at-rest.js';
import { kmsCode, kmsError, openDomain, tempDir, type Domain } from '../support/domain.js';
import { sqliteOf, writeSql } from '../support/sqlite.js';
import { softHsm, type SoftHsmEnv, type SoftHsmToken } from '../support/tokens.js';

let hsm: SoftHsmEnv;
let token: SoftHsmToken;
const opened: Domain[] = [];

beforeAll(() => {
  hsm = softHsm();
  token = hsm.makeToken('kura-seal');
});
afterAll(() => hsm.cleanup());
afterEach(async () => {
  for (const d of opened.splice(0)) await d.close();
});

async function domain(): Promise<Domain> {
  const d = await openDomain({ unseal: 'none' });
  opened.push(d);
  return d;
}

const settings = () => ({ modulePath: hsm.modulePath, tokenLabel: token.label });

interface TokenKey {
  label: string;
  id: string;
  usage: string;
  access: string;
}

/** The secret keys on a token as pkcs11-tool (OpenSC, another process) lists them after logging in. */
function tokenKeys(t: SoftHsmToken): TokenKey[] {
  const out = execFileSync('pkcs11-tool', ['--module', hsm.modulePath, '--token-label', t.label, '--login', '--pin', t.pin, '--list-objects', '--type', 'secrkey'], {
    env: hsm.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  }).toString();
  return out
    .split(/^Secret Key Object/m)
    .slice(1)
    .map((block) => ({
      label: /label:\s+(.*)/.exec(block)?.[1]?.trim() ?? '',
      id: /ID:\s+(\S+)/.exec(block)?.[1] ?? '',
      usage: /Usage:\s+(.*)/.exec(block)?.[1]?.trim() ?? '',
      access: /Access:\s+(.*)/.exec(block)?.[1]?.trim() ?? '',
    }));
}

const rootWrapKeys = (t: SoftHsmToken) => tokenKeys(t).filter((k) => k.label.startsWith('kura-root-wrap:'));

describe('RootKeyHolder (pkcs11)', () => {
  it('init makes a never-extractable key on the token, stores the sealed root key and leaves the appliance sealed; the PIN unseals', async () => {
    const d = await domain();
    const made = await d.root.initPkcs11({ ...settings(), pin: token.pin });
    expect(made.keyLabel).toBe(`kura-root-wrap:${d.applianceId}`);
    expect(made.keyId).toMatch(/^[0-9a-f]{32}$/);
    expect(await d.root.status()).toEqual({ state: 'sealed', mode: 'pkcs11', threshold: null, shares: null, progress: 0 });
    expect(d.root.isUnsealed).toBe(false);

    const onToken = rootWrapKeys(token).filter((k) => k.label === made.keyLabel);
    expect(onToken).toHaveLength(1);
    expect(onToken[0]!.id).toBe(made.keyId);
    expect(onToken[0]!.access).toContain('never extractable');
    expect(onToken[0]!.access).toMatch(/(^|, )sensitive/);
    expect(onToken[0]!.usage).toBe('encrypt, decrypt');

    const cfg = (await d.store.appliance.sealConfig())!;
    expect(cfg.mode).toBe('pkcs11');
    expect(cfg.pkcs11).toMatchObject({ modulePath: hsm.modulePath, tokenLabel: token.label, keyLabel: made.keyLabel });
    expect(cfg.pkcs11!.keyId.toString('hex')).toBe(made.keyId);
    expect(cfg.pkcs11!.iv).toHaveLength(12);
    expect(cfg.pkcs11!.sealedRootKey).toHaveLength(32 + 16);
    // The stored bytes are not the root key: no 32-byte window of them has the check value.
    const stored = cfg.pkcs11!.sealedRootKey;
    for (let i = 0; i + 32 <= stored.length; i++) expect(rootKeyCheckValue(stored.subarray(i, i + 32)).equals(cfg.checkValue)).toBe(false);
    const row = await sqliteOf(d.store).get<{ pkcs11: string }>('SELECT pkcs11 FROM seal_config');
    expect(row!.pkcs11).not.toContain(token.pin);

    // The unseal's audit entry (beforeUnseal) runs before the keys come back: if it fails, Kura stays sealed.
    const states: string[] = [];
    const failing = async () => {
      states.push((await d.root.status()).state);
      throw new Error('audit entry not written');
    };
    await expect(d.root.unsealWithPin(token.pin, { beforeUnseal: failing })).rejects.toThrow('audit entry not written');
    expect(states).toEqual(['sealed']);
    expect(await d.root.status()).toMatchObject({ state: 'sealed' });
    expect(await d.root.unsealWithPin(token.pin)).toEqual({ state: 'unsealed', mode: 'pkcs11', threshold: null, shares: null, progress: 0 });
    const sealer = d.root.materialSealer();
    const aad = encodeAad('test', 'a');
    expect(sealer.open(sealer.seal(Buffer.from('hello'), aad), aad).toString()).toBe('hello');
    // Unsealing again is refused: nothing would check the PIN, and nobody must be told it works.
    expect(await kmsCode(d.root.unsealWithPin('not even checked'))).toBe('InvalidState');
    expect((await d.root.status()).state).toBe('unsealed');
  });

  it('a wrong PIN is refused with AccessDenied and changes nothing; a restarted holder unseals with the right one', async () => {
    const d = await domain();
    await d.root.initPkcs11({ ...settings(), pin: token.pin });
    const before = await d.store.appliance.sealConfig();
    const e = await kmsError(d.root.unsealWithPin('7654321'));
    expect(e.code).toBe('AccessDenied');
    expect(e.message).toMatch(/refused the PIN/);
    expect(e.message).not.toContain('7654321');
    expect(await d.root.status()).toMatchObject({ state: 'sealed', mode: 'pkcs11' });
    expect(await d.store.appliance.sealConfig()).toEqual(before);
    expect((await kmsError(d.root.unsealWithPin(''))).code).toBe('Validation');

    // A restart: a new holder over the same database starts sealed.
    const restarted = new RootKeyHolder({ db: d.store.db, appliance: d.store.appliance, aead: wasmAead, clock: d.clock, applianceId: d.applianceId });
    await restarted.load();
    expect((await restarted.status()).state).toBe('sealed');
    expect((await kmsError(() => restarted.materialSealer())).code).toBe('Sealed');
    expect((await restarted.unsealWithPin(token.pin)).state).toBe('unsealed');
    restarted.seal();
  });

  it('logs out after unsealing: a new session sees no private object without logging in', async () => {
    const d = await domain();
    const made = await d.root.initPkcs11({ ...settings(), pin: token.pin });
    await d.root.unsealWithPin(token.pin);
    const module = await Pkcs11Module.acquire({ modulePath: hsm.modulePath });
    try {
      const t = (await findToken(module, token.label))!;
      const h = await module.openSession(t.slot);
      try {
        const s = new Pkcs11Session(t, h);
        expect(await s.findSecretKeys(Buffer.from(made.keyId, 'hex'))).toHaveLength(0);
        await t.login(h, token.pin);
        expect(await s.findSecretKeys(Buffer.from(made.keyId, 'hex'))).toHaveLength(1);
        // While this process is logged in to the token (as a connected HSM key store would be), the PIN
        // cannot be proved: unsealing is refused, and that login is left alone.
        d.root.seal();
        const e = await kmsError(d.root.unsealWithPin('wrong-pin'));
        expect(e.code).toBe('InvalidState');
        expect(e.message).toMatch(/logged in already/);
        expect(await s.findSecretKeys(Buffer.from(made.keyId, 'hex'))).toHaveLength(1);
        await t.logout(h);
      } finally {
        await module.closeSession(h);
      }
    } finally {
      await module.release();
    }
    expect((await d.root.unsealWithPin(token.pin)).state).toBe('unsealed');
  });

  it('a tampered sealed root key or check value is refused and the appliance stays sealed', async () => {
    const d = await domain();
    await d.root.initPkcs11({ ...settings(), pin: token.pin });
    const original = (await sqliteOf(d.store).get<{ pkcs11: string; check_value: Buffer }>('SELECT pkcs11, check_value FROM seal_config'))!;
    const json = JSON.parse(original.pkcs11) as { sealedRootKey: string };
    const sealed = Buffer.from(json.sealedRootKey, 'base64');
    sealed[3]! ^= 0x01;
    await writeSql(d.store, (sql) => sql.run('UPDATE seal_config SET pkcs11 = ?', JSON.stringify({ ...json, sealedRootKey: sealed.toString('base64') })));
    const e = await kmsError(d.root.unsealWithPin(token.pin));
    expect(e.code).toBe('InvalidState');
    expect(e.message).toMatch(/does not open this appliance's sealed root key/);
    expect(d.root.isUnsealed).toBe(false);

    const check = Buffer.from(original.check_value);
    check[0]! ^= 0x01;
    await writeSql(d.store, (sql) => sql.run('UPDATE seal_config SET pkcs11 = ?, check_value = ?', original.pkcs11, check));
    const e2 = await kmsError(d.root.unsealWithPin(token.pin));
    expect(e2.code).toBe('InvalidState');
    expect(e2.message).toMatch(/check value/);
    expect(d.root.isUnsealed).toBe(false);
  });

  it('refuses a second init, and an init that loses a race leaves no key on the token', async () => {
    const d = await domain();
    const race = await Promise.allSettled([d.root.initPkcs11({ ...settings(), pin: token.pin }), d.root.initPkcs11({ ...settings(), pin: token.pin }), d.root.initShamir(2, 3)]);
    const won = race.filter((r) => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    for (const r of race) if (r.status === 'rejected') expect((r.reason as { code?: string }).code).toBe('InvalidState');
    const mode = (await d.root.status()).mode;
    expect(rootWrapKeys(token).filter((k) => k.label === `kura-root-wrap:${d.applianceId}`)).toHaveLength(mode === 'pkcs11' ? 1 : 0);
    const again = await kmsError(d.root.initPkcs11({ ...settings(), pin: token.pin }));
    expect(again.message).toMatch(/already initialized/);
  });

  it('a Shamir init racing a pkcs11 init on the token wins the insert: the token key is destroyed again', async () => {
    const d = await domain();
    const pkcs11 = d.root.initPkcs11({ ...settings(), pin: token.pin });
    // initShamir does not wait for the token: it inserts while the pkcs11 init is generating its key.
    await d.root.initShamir(2, 3);
    expect((await kmsError(pkcs11)).message).toMatch(/already initialized/);
    expect((await d.root.status()).mode).toBe('shamir');
    expect(rootWrapKeys(token).filter((k) => k.label === `kura-root-wrap:${d.applianceId}`)).toHaveLength(0);
  });

  it('init refuses what the operator got wrong, and a wrong PIN, without writing anything', async () => {
    const d = await domain();
    const cases: [Record<string, string>, string, RegExp][] = [
      [{ tokenLabel: 'no-such-token' }, 'Validation', /No token labelled "no-such-token"/],
      [{ modulePath: 'libsofthsm2.so' }, 'Validation', /not an absolute path/],
      [{ modulePath: '/nonexistent/libx.so' }, 'Validation', /no such file/],
      [{ tokenLabel: 'x'.repeat(33) }, 'Validation', /tokenLabel/],
      [{ pin: '0000000' }, 'AccessDenied', /refused the PIN/],
    ];
    for (const [over, code, message] of cases) {
      const e = await kmsError(d.root.initPkcs11({ ...settings(), pin: token.pin, ...over }));
      expect([e.code, e.message]).toEqual([code, expect.stringMatching(message)]);
    }
    expect(await d.store.appliance.sealConfig()).toBeUndefined();
    expect(rootWrapKeys(token).filter((k) => k.label === `kura-root-wrap:${d.applianceId}`)).toHaveLength(0);
  });

  it('Shamir and pkcs11 appliances refuse each other\'s unseal inputs', async () => {
    const shamir = await domain();
    await shamir.root.initShamir(1, 1);
    expect(await kmsError(shamir.root.unsealWithPin(token.pin))).toMatchObject({ code: 'InvalidState', message: expect.stringMatching(/Shamir shares, not a PIN/) });
    const pkcs11 = await domain();
    await pkcs11.root.initPkcs11({ ...settings(), pin: token.pin });
    expect(await kmsError(pkcs11.root.submitShares(['kura-share-1-00000000-1-1-aaaa-00000000']))).toMatchObject({ code: 'InvalidState', message: expect.stringMatching(/PIN, not shares/) });
    const fresh = await domain();
    expect((await kmsError(fresh.root.unsealWithPin(token.pin))).code).toBe('NotInitialized');
  });

  it('an absent token is KeyUnavailable at unseal, and a token with the same label but another serial, or not the key, is InvalidState', async () => {
    const gone = hsm.makeToken('kura-seal-gone');
    const d = await domain();
    await d.root.initPkcs11({ modulePath: hsm.modulePath, tokenLabel: gone.label, pin: gone.pin });
    fs.rmSync(gone.dir, { recursive: true, force: true });
    const e = await kmsError(d.root.unsealWithPin(gone.pin));
    expect(e.code).toBe('KeyUnavailable');
    expect(e.message).toMatch(/No token labelled "kura-seal-gone"/);
    expect(d.root.isUnsealed).toBe(false);

    // Another token under the old label (a re-initialised token, or someone else's): another serial number.
    hsm.makeToken('kura-seal-gone', gone.pin);
    const e2 = await kmsError(d.root.unsealWithPin(gone.pin));
    expect(e2.code).toBe('InvalidState');
    expect(e2.message).toMatch(/has serial number \S+, not \S+, the one this appliance was initialised with/);
    expect(d.root.isUnsealed).toBe(false);
    // Initialised before Kura recorded the serial: the token is found by label, and its missing key refuses it.
    await writeSql(d.store, (sql) => sql.run("UPDATE seal_config SET pkcs11 = json_remove(pkcs11, '$.serialNumber')"));
    const e3 = await kmsError(d.root.unsealWithPin(gone.pin));
    expect(e3.code).toBe('InvalidState');
    expect(e3.message).toMatch(/holds no key kura-root-wrap:/);
    expect(d.root.isUnsealed).toBe(false);
  });

  it('a dev appliance directory sealed by a token is not opened in dev mode', async () => {
    const dir = tempDir('kura-seal-pkcs11-dev-');
    const first = await openDomain({ dir, unseal: 'none' });
    await first.root.initPkcs11({ ...settings(), pin: token.pin });
    await first.close({ keepFiles: true });
    await expect(openDomain({ dir })).rejects.toThrow(/sealed with a PKCS#11 token/);
    fs.rmSync(path.join(dir), { recursive: true, force: true });
  });
});
