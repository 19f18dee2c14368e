// The root key holder (main/seal/root-key.ts) over a real SQLite store: Shamir init and unseal with
// progress, refusal of wrong, foreign, mistyped and repeated shares, dev mode, and the at-rest sealer.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AeadAuthenticationError } from '../../main/crypto/aead.js';
import { wasmAead } from '../../main/crypto/wasm-aead.js';
import { decodeShare, encodeShare } from '../../main/crypto/shamir.js';
import { AtRestSealer, encodeAad } from '../../main/seal/at-rest.js';
import { RootKeyHolder } from '../../main/seal/root-key.js';
import { KmsError } from '../../main/common/errors.js';
import { kmsCode, kmsError, openDomain, type Domain } from '../support/domain.js';
import { sqliteOf } from '../support/sqlite.js';

/** A copy of a share with one data byte changed, re-encoded so that its checksum is valid. */
function alteredShare(text: string): string {
  const s = decodeShare(text);
  const data = Buffer.from(s.data);
  data[0] = data[0]! ^ 0x5a;
  return encodeShare({ ...s, data });
}

/** The share with one character of its data replaced, as a custodian might mistype it. */
function typo(text: string): string {
  const i = text.indexOf('-', 'kura-share-1-'.length + 9) + 6; // inside the data groups
  const ch = text[i] === 'a' ? 'b' : 'a';
  return text.slice(0, i) + ch + text.slice(i + 1);
}

describe('RootKeyHolder (shamir)', () => {
  let d: Domain;
  const opened: Domain[] = [];
  beforeEach(async () => {
    d = await openDomain({ unseal: 'none' });
    opened.push(d);
  });
  afterEach(async () => {
    for (const x of opened.splice(0)) await x.close();
  });

  it('starts uninitialized and refuses shares until initialized', async () => {
    expect(await d.root.status()).toEqual({ state: 'uninitialized', mode: null, threshold: null, shares: null, progress: 0 });
    expect(await kmsCode(d.root.submitShares(['kura-share-1-00000000-1-1-aaaa-00000000']))).toBe('NotInitialized');
    expect(await kmsCode(() => d.root.materialSealer())).toBe('NotInitialized');
    expect(await kmsCode(d.keys.createKey(d.ctx('CreateKey'), {}))).toBe('NotInitialized');
    expect(await kmsCode(d.keys.listKeys(d.ctx('ListKeys')))).toBe('NotInitialized');
  });

  it('initShamir(3, 5) gives five shares and leaves the appliance sealed; three shares unseal it', async () => {
    const shares = await d.root.initShamir(3, 5);
    expect(shares).toHaveLength(5);
    expect(new Set(shares).size).toBe(5);
    for (const s of shares) expect(s).toMatch(/^kura-share-1-[0-9a-f]{8}-3-[1-5]-/);
    expect(await d.root.status()).toEqual({ state: 'sealed', mode: 'shamir', threshold: 3, shares: 5, progress: 0 });
    expect(d.root.isUnsealed).toBe(false);
    expect(await kmsCode(() => d.root.materialSealer())).toBe('Sealed');
    // The shares are not stored anywhere in the database.
    const cfg = await sqliteOf(d.store).all('SELECT * FROM seal_config');
    expect(JSON.stringify(cfg)).not.toContain(shares[0]!.slice(-20));

    expect(await d.root.submitShares([shares[0]!, shares[3]!])).toMatchObject({ state: 'sealed', progress: 2 });
    expect(d.root.isUnsealed).toBe(false);
    expect(await d.root.submitShares([shares[4]!])).toMatchObject({ state: 'unsealed', progress: 0 });
    expect(d.root.isUnsealed).toBe(true);

    // Unsealed means usable: a key can be made and used.
    const k = await d.keys.createKey(d.ctx('CreateKey'), {});
    const blob = (await d.keys.encrypt(d.ctx('Encrypt'), { keyId: k.keyId, plaintext: Buffer.from('after unseal') })).ciphertextBlob;

    // Seal, then any other three shares unseal to the same root key.
    d.root.seal();
    expect(await d.root.status()).toMatchObject({ state: 'sealed', progress: 0 });
    expect(await d.root.submitShares([shares[1]!, shares[2]!, shares[0]!])).toMatchObject({ state: 'unsealed' });
    expect((await d.keys.decrypt(d.ctx('Decrypt'), { ciphertextBlob: blob })).plaintext.toString()).toBe('after unseal');
  });

  it('lets one of many concurrent inits win; the others are told it is already initialized', async () => {
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => d.root.initShamir(2, 3)));
    const won = results.filter((r) => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    for (const r of results) {
      if (r.status === 'rejected') {
        expect(r.reason).toBeInstanceOf(KmsError);
        expect((r.reason as KmsError).code).toBe('InvalidState');
        expect((r.reason as KmsError).message).toMatch(/already initialized/);
      }
    }
    // The winner's shares are the ones that unseal.
    const shares = (won[0] as PromiseFulfilledResult<string[]>).value;
    expect(await d.root.submitShares(shares.slice(0, 2))).toMatchObject({ state: 'unsealed' });
  });

  it('once unsealed, refuses a valid share unchecked (InvalidState), its progress unchanged', async () => {
    const shares = await d.root.initShamir(2, 3);
    expect(await d.root.submitShares(shares.slice(0, 2))).toMatchObject({ state: 'unsealed', progress: 0 });
    const e = await kmsError(d.root.submitShares([shares[2]!]));
    expect([e.code, e.message]).toEqual(['InvalidState', 'Kura is unsealed already; the share was not checked.']);
    expect(await d.root.status()).toMatchObject({ state: 'unsealed', progress: 0 });
  });

  it('accepts more than the threshold at once', async () => {
    const shares = await d.root.initShamir(2, 4);
    expect(await d.root.submitShares(shares)).toMatchObject({ state: 'unsealed' });
  });

  it('refuses a valid share of another root key (another appliance) with AccessDenied and keeps the progress made', async () => {
    const shares = await d.root.initShamir(3, 5);
    const other = await openDomain({ unseal: 'none' });
    opened.push(other);
    const foreign = await other.root.initShamir(3, 5);

    expect(await d.root.submitShares([shares[0]!, shares[1]!])).toMatchObject({ progress: 2 });
    const e = await kmsError(d.root.submitShares([foreign[2]!]));
    expect(e).toBeInstanceOf(KmsError);
    expect(e.code).toBe('AccessDenied');
    expect(e.message).toMatch(/another root key/);
    // The foreign share is detectably bad on its own: the other custodians' shares still count.
    expect(await d.root.status()).toMatchObject({ state: 'sealed', progress: 2 });
    expect(await d.root.submitShares([shares[2]!])).toMatchObject({ state: 'unsealed' });
  });

  it('refuses a wrong share of the right set (caught by the check value), staying sealed with progress 0', async () => {
    const shares = await d.root.initShamir(3, 5);
    await d.root.submitShares([shares[0]!, shares[1]!]);
    const e = await kmsError(d.root.submitShares([alteredShare(shares[2]!)]));
    expect(e.code).toBe('AccessDenied');
    expect(e.message).not.toContain(shares[2]!.slice(20, 40));
    expect(d.root.isUnsealed).toBe(false);
    expect(await d.root.status()).toMatchObject({ state: 'sealed', progress: 0 });
    expect(await d.root.submitShares([shares[0]!, shares[1]!, shares[2]!])).toMatchObject({ state: 'unsealed' });
  });

  it('refuses a mistyped share as a typo', async () => {
    const shares = await d.root.initShamir(3, 5);
    await d.root.submitShares([shares[0]!]);
    const mistyped = typo(shares[1]!);
    expect(mistyped).not.toBe(shares[1]);
    const e = await kmsError(d.root.submitShares([mistyped]));
    expect(e.message).toMatch(/typo/);
    expect(d.root.isUnsealed).toBe(false);
    expect(await d.root.status()).toMatchObject({ state: 'sealed', progress: 1 });
    expect(await kmsCode(d.root.submitShares(['not a share at all']))).toBe('AccessDenied');
    // A call with a good share and a bad one is refused whole, and the earlier progress stays.
    expect(await kmsCode(d.root.submitShares([shares[1]!, 'not a share at all']))).toBe('AccessDenied');
    expect(await d.root.status()).toMatchObject({ state: 'sealed', progress: 1 });
    expect(await d.root.submitShares([shares[1]!, shares[2]!])).toMatchObject({ state: 'unsealed' });
  });

  it('refuses the same share given twice, in one call or across calls', async () => {
    const shares = await d.root.initShamir(3, 5);
    await d.root.submitShares([shares[0]!]);
    const e = await kmsError(d.root.submitShares([shares[0]!]));
    expect(e.code).toBe('AccessDenied');
    expect(e.message).toMatch(/already given/);
    expect(await kmsCode(d.root.submitShares([shares[1]!, shares[1]!]))).toBe('AccessDenied');
    // Whitespace and case changes do not make a duplicate count twice.
    await d.root.submitShares([shares[2]!]);
    expect(await kmsCode(d.root.submitShares([`  ${shares[2]!.toUpperCase()}\n`]))).toBe('AccessDenied');
    expect(d.root.isUnsealed).toBe(false);
    // Duplicates were refused without costing the progress of shares 0 and 2.
    expect(await d.root.status()).toMatchObject({ state: 'sealed', progress: 2 });
    expect(await d.root.submitShares([shares[3]!])).toMatchObject({ state: 'unsealed' });
  });

  it('runs beforeUnseal once the shares are checked and before unsealing; if it fails, stays sealed with the shares forgotten', async () => {
    const shares = await d.root.initShamir(2, 3);
    const seen: string[] = [];
    const failing = async () => {
      seen.push((await d.root.status()).state);
      throw new Error('audit entry not written');
    };
    // Below the threshold, and for a wrong set, it is not run.
    expect(await d.root.submitShares([shares[0]!], { beforeUnseal: failing })).toMatchObject({ state: 'sealed', progress: 1 });
    expect(seen).toEqual([]);
    await expect(d.root.submitShares([shares[1]!], { beforeUnseal: failing })).rejects.toThrow('audit entry not written');
    // It ran while the appliance was still sealed, and the failure left it sealed, starting over.
    expect(seen).toEqual(['sealed']);
    expect(await d.root.status()).toMatchObject({ state: 'sealed', progress: 0 });
    expect(d.root.isUnsealed).toBe(false);
    expect(await kmsCode(() => d.root.materialSealer())).toBe('Sealed');
    // Once it succeeds, the same shares unseal.
    const ok = async () => void seen.push((await d.root.status()).state);
    expect(await d.root.submitShares([shares[2]!, shares[1]!], { beforeUnseal: ok })).toMatchObject({ state: 'unsealed', progress: 0 });
    expect(seen).toEqual(['sealed', 'sealed']);
  });

  it('shares given while another set unseals leave the first set\'s keys in place and are forgotten', async () => {
    const shares = await d.root.initShamir(2, 3);
    let release!: () => void;
    let entered!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const inHook = new Promise<void>((r) => (entered = r));
    const first = d.root.submitShares([shares[0]!, shares[1]!], {
      beforeUnseal: () => {
        entered();
        return held;
      },
    });
    // A second complete set arrives while the first one's beforeUnseal runs.
    await inHook;
    const second = d.root.submitShares([shares[2]!, shares[0]!]);
    expect(await second).toMatchObject({ state: 'unsealed' });
    const sealer = d.root.materialSealer();
    release();
    expect(await first).toMatchObject({ state: 'unsealed', progress: 0 });
    expect(sealer.seal(Buffer.from('in use'), Buffer.from('aad')).length).toBeGreaterThan(0);
    // The first set did not replace the keys the second one installed (which would then outlive a seal).
    d.root.seal();
    expect(() => sealer.seal(Buffer.from('after seal'), Buffer.from('aad'))).toThrow();
  });

  it('too few shares, then seal: the pending shares are forgotten', async () => {
    const shares = await d.root.initShamir(3, 5);
    expect(await d.root.submitShares([shares[0]!, shares[1]!])).toMatchObject({ state: 'sealed', progress: 2 });
    d.root.seal();
    expect(await d.root.status()).toEqual({ state: 'sealed', mode: 'shamir', threshold: 3, shares: 5, progress: 0 });
    expect(await d.root.submitShares([shares[2]!])).toMatchObject({ state: 'sealed', progress: 1 });
  });

  it('a restarted holder (new process) needs the shares again', async () => {
    const shares = await d.root.initShamir(2, 3);
    await d.root.submitShares([shares[0]!, shares[1]!]);
    const restarted = new RootKeyHolder({ db: d.store.db, appliance: d.store.appliance, aead: wasmAead, clock: d.clock, applianceId: d.applianceId });
    await restarted.load();
    expect(await restarted.status()).toMatchObject({ state: 'sealed', progress: 0 });
    expect(await kmsCode(() => restarted.materialSealer())).toBe('Sealed');
    expect(await restarted.submitShares([shares[2]!, shares[0]!])).toMatchObject({ state: 'unsealed' });
  });

  it('refuses a second initialization with InvalidState', async () => {
    await d.root.initShamir(3, 5);
    expect(await kmsCode(d.root.initShamir(2, 3))).toBe('InvalidState');
    expect(await kmsCode(d.root.initAndUnsealDev(Buffer.alloc(32, 1)))).toBe('InvalidState');
    expect(await d.root.status()).toMatchObject({ mode: 'shamir', threshold: 3, shares: 5 });
  });

  it('refuses impossible thresholds', async () => {
    for (const [m, n] of [
      [0, 3],
      [4, 3],
      [1.5, 3],
      [2, 256],
    ] as const) {
      expect(await kmsCode(d.root.initShamir(m, n)), `${m} of ${n}`).toBe('Validation');
    }
    expect((await d.root.status()).state).toBe('uninitialized');
  });

  it('a shamir data directory cannot be opened in dev mode', async () => {
    await d.root.initShamir(3, 5);
    const e = await kmsError(d.root.initAndUnsealDev(d.rootKey));
    expect(e.code).toBe('InvalidState');
    expect(e.message).toMatch(/Shamir/i);
    expect(d.root.isUnsealed).toBe(false);
  });
});

describe('RootKeyHolder (dev)', () => {
  let d: Domain;
  beforeEach(async () => {
    d = await openDomain();
  });
  afterEach(async () => {
    await d.close();
  });

  it('initializes in dev mode, unsealed; refuses another root key; refuses shamir shares', async () => {
    expect(await d.root.status()).toEqual({ state: 'unsealed', mode: 'dev', threshold: 1, shares: 1, progress: 0 });
    d.root.seal();
    expect(await kmsCode(d.root.initAndUnsealDev(Buffer.alloc(32, 9)))).toBe('InvalidState');
    expect(d.root.isUnsealed).toBe(false);

    const other = await openDomain({ unseal: 'none' });
    try {
      const shares = await other.root.initShamir(1, 1);
      expect(await kmsCode(d.root.submitShares(shares))).toBe('InvalidState');
      expect(d.root.isUnsealed).toBe(false);
    } finally {
      await other.close();
    }
    expect(await kmsCode(d.root.initShamir(1, 1))).toBe('InvalidState');
    await d.root.initAndUnsealDev(d.rootKey);
    expect(d.root.isUnsealed).toBe(true);
  });
});

describe('AtRestSealer', () => {
  let d: Domain;
  beforeEach(async () => {
    d = await openDomain();
  });
  afterEach(async () => {
    await d.close();
  });

  it('opens a value only with the AAD it was sealed for', () => {
    const sealer = d.root.materialSealer();
    const secret = Buffer.from('material bytes');
    const sealed = sealer.seal(secret, encodeAad('kura/key-material/symmetric-default', 'key-1', 'mat-1'));
    expect(sealed.includes(secret)).toBe(false);
    expect(sealer.open(sealed, encodeAad('kura/key-material/symmetric-default', 'key-1', 'mat-1')).equals(secret)).toBe(true);
    expect(() => sealer.open(sealed, encodeAad('kura/key-material/symmetric-default', 'key-2', 'mat-1'))).toThrow(AeadAuthenticationError);
    expect(() => sealer.open(sealed, encodeAad('kura/key-material/symmetric-default', 'key-1', 'mat-2'))).toThrow(AeadAuthenticationError);
    expect(() => sealer.open(sealed, encodeAad('kura/credential-secret', 'key-1', 'mat-1'))).toThrow(AeadAuthenticationError);
    // Length prefixes: moving a boundary between parts changes the AAD.
    expect(encodeAad('p', 'ab', 'c').equals(encodeAad('p', 'a', 'bc'))).toBe(false);
  });

  it('keeps purposes apart: the credential key does not open material, and another root key opens nothing', async () => {
    const aad = encodeAad('x', 'y');
    const sealed = d.root.materialSealer().seal(Buffer.from('m'), aad);
    expect(() => d.root.credentialSealer().open(sealed, aad)).toThrow(AeadAuthenticationError);

    const other = await openDomain();
    try {
      expect(() => other.root.materialSealer().open(sealed, aad)).toThrow(AeadAuthenticationError);
    } finally {
      await other.close();
    }
    const tampered = Buffer.from(sealed);
    tampered[tampered.length - 1] = tampered[tampered.length - 1]! ^ 1;
    expect(() => d.root.materialSealer().open(tampered, aad)).toThrow(AeadAuthenticationError);
    expect(() => new AtRestSealer(wasmAead.importKey(Buffer.alloc(32))).open(Buffer.of(2, ...Buffer.alloc(40)), aad)).toThrow(/format/);
  });

  it('writes format byte 1, a fresh random IV per value, then ciphertext and tag (so equal secrets never share an IV)', () => {
    const sealer = d.root.materialSealer();
    const aad = encodeAad('kura/key-material/symmetric-default', 'key-1', 'mat-1');
    const secret = Buffer.from('same material bytes');
    const a = sealer.seal(secret, aad);
    const b = sealer.seal(secret, aad);
    // u8 version || 12-byte IV || ciphertext || 16-byte tag.
    expect(a[0]).toBe(1);
    expect(a).toHaveLength(1 + 12 + secret.length + 16);
    // GCM under one key with a repeated IV leaks the XOR of the plaintexts and lets the tag be forged:
    // every seal must draw a new IV, so two seals of the same secret differ from the IV on.
    expect(a.subarray(1, 13).equals(b.subarray(1, 13))).toBe(false);
    expect(a.subarray(13).equals(b.subarray(13))).toBe(false);
    const ivs = new Set(Array.from({ length: 32 }, () => sealer.seal(secret, aad).subarray(1, 13).toString('hex')));
    expect(ivs.size).toBe(32);
  });

  it('refuses a value too short to hold the format byte and an IV as an unknown format, before any decryption', () => {
    const sealer = d.root.materialSealer();
    const aad = encodeAad('x', 'y');
    // A truncated column value is a storage fault, not a forgery: it gets the format error, whatever
    // the AEAD would say about a 0- to 11-byte IV.
    for (const n of [0, 1, 2, 12]) {
      expect(() => sealer.open(Buffer.concat([Buffer.of(1), Buffer.alloc(n)]).subarray(0, n), aad), `${n} bytes`).toThrow(/unknown at-rest format/);
    }
  });

  it('is unavailable while sealed', async () => {
    d.root.seal();
    expect(await kmsCode(() => d.root.materialSealer())).toBe('Sealed');
    expect(await kmsCode(() => d.root.credentialSealer())).toBe('Sealed');
  });
});
