// API credentials (main/auth/credentials.ts) over a real SQLite store: AWS formats, validation of the
// account and principal, secrets sealed at rest and shown once, lookups refused while sealed, the
// secret cache dropped on seal, deletion audited, and the dev credential made once.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ACCESS_KEY_RE, DEV_CREDENTIAL_DESCRIPTION } from '../../main/auth/credentials.js';
import { kmsCode, openDomain, type Domain } from '../support/domain.js';
import { sqliteOf } from '../support/sqlite.js';

describe('CredentialService', () => {
  let d: Domain;
  beforeEach(async () => {
    d = await openDomain();
  });
  afterEach(() => d.close());

  it('makes credentials in AWS formats, mapped to the account root by default', async () => {
    const c = await d.credentials.create({ accountId: '111122223333' });
    expect(c.accessKeyId).toMatch(ACCESS_KEY_RE);
    expect(c.secretAccessKey).toMatch(/^[A-Za-z0-9+/]{40}$/);
    expect(c.principalArn).toBe('arn:aws:iam::111122223333:root');
    const found = await d.credentials.lookup(c.accessKeyId);
    expect(found).toEqual({ secret: c.secretAccessKey, identity: { accessKeyId: c.accessKeyId, accountId: '111122223333', principalArn: c.principalArn } });
  });

  it('refuses a malformed account or principal, and a principal of another account', async () => {
    expect(await kmsCode(d.credentials.create({ accountId: '12345' }))).toBe('Validation');
    expect(await kmsCode(d.credentials.create({ accountId: '111122223333', principalArn: 'user/app' }))).toBe('Validation');
    expect(await kmsCode(d.credentials.create({ accountId: '111122223333', principalArn: 'arn:aws:iam::444455556666:user/app' }))).toBe('Validation');
    expect(await d.credentials.list()).toEqual([]);
  });

  it('keeps the secret sealed at rest and never lists it', async () => {
    const c = await d.credentials.create({ accountId: '111122223333', principalArn: 'arn:aws:iam::111122223333:user/app', description: 'app' });
    const rows = await sqliteOf(d.store).all<{ secret_sealed: Buffer }>('SELECT secret_sealed FROM credentials');
    expect(rows).toHaveLength(1);
    expect(rows[0]!.secret_sealed.includes(Buffer.from(c.secretAccessKey))).toBe(false);
    const listed = await d.credentials.list();
    expect(listed).toEqual([{ accessKeyId: c.accessKeyId, accountId: '111122223333', principalArn: 'arn:aws:iam::111122223333:user/app', description: 'app', createdAt: d.clock.nowMs() }]);
    expect(JSON.stringify(listed)).not.toContain(c.secretAccessKey);
  });

  it('answers undefined for unknown or malformed access key IDs', async () => {
    expect(await d.credentials.lookup('AKIAAAAAAAAAAAAAAAAA')).toBeUndefined();
    expect(await d.credentials.lookup('not-a-key')).toBeUndefined();
  });

  it('refuses lookups while sealed, even of a cached credential, and serves them again after unseal', async () => {
    const c = await d.credentials.create({ accountId: '111122223333' });
    await d.credentials.lookup(c.accessKeyId);
    d.root.seal();
    expect(await kmsCode(d.credentials.lookup(c.accessKeyId))).toBe('Sealed');
    await d.root.initAndUnsealDev(d.rootKey);
    expect((await d.credentials.lookup(c.accessKeyId))?.secret).toBe(c.secretAccessKey);
  });

  it('deletes a credential (audited), after which it is unknown; deleting an unknown one is NotFound', async () => {
    const c = await d.credentials.create({ accountId: '111122223333' });
    await d.credentials.lookup(c.accessKeyId);
    await d.credentials.delete(c.accessKeyId);
    expect(await d.credentials.lookup(c.accessKeyId)).toBeUndefined();
    expect(await kmsCode(d.credentials.delete(c.accessKeyId))).toBe('NotFound');
    const ops = (await sqliteOf(d.store).all<{ entry: string }>('SELECT entry FROM audit_log ORDER BY seq')).map((r) => (JSON.parse(r.entry) as { operation: string }).operation);
    expect(ops).toEqual(['CreateCredential', 'DeleteCredential']);
  });

  it('a lookup that was reading the store when its credential was deleted does not bring the credential back', async () => {
    const c = await d.credentials.create({ accountId: '111122223333' });
    const rows = d.store.credentials as { find: typeof d.store.credentials.find };
    const find = rows.find.bind(rows);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    rows.find = async (id) => {
      const rec = await find(id);
      await held;
      return rec;
    };
    try {
      // A call arrives just before the operator deletes its credential; the delete commits first.
      const inFlight = d.credentials.lookup(c.accessKeyId);
      await d.credentials.delete(c.accessKeyId);
      release();
      await inFlight;
    } finally {
      rows.find = find;
    }
    expect(await d.credentials.lookup(c.accessKeyId)).toBeUndefined();
  });

  it('makes the dev credential once and returns the same one, with its secret, afterwards', async () => {
    const first = await d.credentials.ensureDevCredential('111122223333');
    const again = await d.credentials.ensureDevCredential('111122223333');
    expect(again).toEqual(first);
    expect(first.description).toBe(DEV_CREDENTIAL_DESCRIPTION);
    expect(first.principalArn).toBe('arn:aws:iam::111122223333:user/kura-dev');
    expect(await d.credentials.list()).toHaveLength(1);
  });
});
