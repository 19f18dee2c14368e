// POST /admin/v1/init with the first custodians: whatever enrolling them would refuse (a name the
// operator-name rule refuses, a name or key enrolled already, an `operators` policy in place) is refused
// before the root key is made, for Shamir and PKCS#11 alike. Refused after it, the Shamir shares would
// never be handed out and the appliance would stay sealed for good. An unseal whose audit entry cannot
// be written leaves the appliance sealed; a seal is never held back by the audit log.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AdminDeps } from '../../../main/api/admin/routes.js';
import type { Quorum } from '../../../main/ceremony/quorum.js';
import type { Domain } from '../../support/domain.js';
import { adminCaller, custodian, openQuorumAdmin, type AdminCall } from '../../support/custodians.js';

const TOKEN = 'init-token';
const alice = custodian('ed25519');
const bob = custodian('p256');

describe('POST /admin/v1/init with custodians', () => {
  let d: Domain;
  let deps: AdminDeps;
  let quorum: Quorum;
  let call: AdminCall;
  beforeEach(async () => {
    ({ d, deps, quorum } = await openQuorumAdmin(TOKEN, { unseal: 'none' }));
    call = adminCaller(() => deps, TOKEN);
  });
  afterEach(() => d?.close());

  const shamir = (operators: { name: string; publicKey: string }[]) => call('POST', '/init', { threshold: 1, shares: 1, operators, quorum: 1 });
  const expectUninitialized = async () => expect((await d.root.status()).state).toBe('uninitialized');

  it('needs the admin token, for Shamir as for PKCS#11: whoever inits receives the shares', async () => {
    for (const body of [{ threshold: 1, shares: 1 }, { mode: 'pkcs11', modulePath: '/nonexistent/module.so', tokenLabel: 't', pin: '1234' }]) {
      for (const token of ['', 'not-the-token']) {
        const res = await call('POST', '/init', body, token);
        expect(res.status).toBe(403);
        expect(res.body.error).toBe('AccessDenied');
      }
    }
    await expectUninitialized();
    expect((await call('POST', '/init', { threshold: 1, shares: 1 })).status).toBe(200);
  });

  it('refuses a name the operator-name rule refuses before the root key is made', async () => {
    const res = await shamir([{ name: 'alice smith', publicKey: alice.publicPem }]);
    expect(res.status).toBe(400);
    expect(res.body.message).toMatch(/operator name/);
    await expectUninitialized();
    expect(await quorum.listOperators()).toEqual([]);
  });

  it('refuses it for a PKCS#11 init too, before any module is loaded', async () => {
    const res = await call('POST', '/init', { mode: 'pkcs11', modulePath: '/nonexistent/module.so', tokenLabel: 't', pin: '1234', operators: [{ name: '-alice', publicKey: alice.publicPem }], quorum: 1 });
    expect(res.status).toBe(400);
    expect(res.body.message).toMatch(/operator name/);
    await expectUninitialized();
  });

  it('refuses a name or a key enrolled already', async () => {
    await quorum.addOperator({ operator: 'kura:admin' }, 'alice', alice.publicPem);
    expect((await shamir([{ name: 'alice', publicKey: bob.publicPem }])).status).toBe(409);
    expect((await shamir([{ name: 'bob', publicKey: alice.publicPem }])).status).toBe(409);
    await expectUninitialized();
  });

  it('refuses custodians once an operators policy would make their enrolment approval requests', async () => {
    await quorum.addOperator({ operator: 'kura:admin' }, 'alice', alice.publicPem);
    await quorum.setPolicy({ operator: 'kura:admin' }, 'operators', 1, ['alice']);
    const res = await shamir([{ name: 'bob', publicKey: bob.publicPem }]);
    expect(res.status).toBe(409);
    expect(res.body.message).toMatch(/kura operators add/);
    await expectUninitialized();
  });

  it('enrolls valid custodians and hands out the shares', async () => {
    const res = await shamir([{ name: 'alice', publicKey: alice.publicPem }, { name: 'bob', publicKey: bob.publicPem }]);
    expect(res.status).toBe(200);
    expect(res.body.shares).toHaveLength(1);
    expect((await quorum.listOperators()).map((o) => o.name)).toEqual(['alice', 'bob']);
  });
});

describe('POST /admin/v1/init and /unseal take only their own fields', () => {
  let d: Domain;
  let deps: AdminDeps;
  let call: AdminCall;
  beforeEach(async () => {
    ({ d, deps } = await openQuorumAdmin(TOKEN, { unseal: 'none' }));
    call = adminCaller(() => deps, TOKEN);
  });
  afterEach(() => d?.close());

  it('refuses a field init does not take before anything is made: a misspelt "operators" does not init without custodians', async () => {
    for (const body of [
      { threshold: 1, shares: 1, extra: 1 },
      { threshold: 1, shares: 1, Operators: [{ name: 'alice', publicKey: alice.publicPem }], Quorum: 1 },
      { mode: 'pkcs11', modulePath: '/nonexistent/module.so', tokenLabel: 't', pin: '1234', threshold: 2, shares: 3 },
    ]) {
      const res = await call('POST', '/init', body);
      expect([res.status, res.body.error], JSON.stringify(body)).toEqual([400, 'Validation']);
      expect(res.body.message).toMatch(/does not take "(extra|Operators|threshold)"/);
      expect((await d.root.status()).state).toBe('uninitialized');
    }
  });

  it('refuses a field unseal does not take, both "share" and "shares", and an empty list', async () => {
    const made = await call('POST', '/init', { threshold: 2, shares: 3 });
    expect(made.status).toBe(200);
    const [one, two] = made.body.shares as string[];
    for (const body of [{ share: one, bogus: 1 }, { share: one, shares: [two] }, { shares: [] }]) {
      const res = await call('POST', '/unseal', body);
      expect([res.status, res.body.error], JSON.stringify(body)).toEqual([400, 'Validation']);
    }
    expect(await d.root.status()).toMatchObject({ state: 'sealed', progress: 0 });
    expect((await call('POST', '/unseal', { shares: [one, two] })).body).toMatchObject({ state: 'unsealed' });
  });
});

describe('POST /admin/v1/seal before init', () => {
  it('is refused as NotInitialized, audited so: there is no root key to seal', async () => {
    const { d, deps } = await openQuorumAdmin(TOKEN, { unseal: 'none' });
    try {
      const res = await adminCaller(() => deps, TOKEN)('POST', '/seal');
      expect(res.body.error).toBe('NotInitialized');
      expect(res.body.message).toContain('kura init');
      expect((await d.audit.list({})).at(-1)).toMatchObject({ operation: 'Seal', outcome: 'error', errorCode: 'NotInitialized' });
    } finally {
      await d.close();
    }
  });
});

describe('seal and unseal when the audit log cannot be written (a full disk)', () => {
  const diskFull = () => Object.assign(new Error('SQLITE_FULL: database or disk is full'), { code: 'SQLITE_FULL' });

  it('an unseal that cannot be audited leaves Kura sealed, its shares forgotten, and says why; it unseals once the entry can be written', async () => {
    const { d, deps } = await openQuorumAdmin(TOKEN, { unseal: 'none' });
    try {
      const call = adminCaller(() => deps, TOKEN);
      const [one, two] = (await call('POST', '/init', { threshold: 2, shares: 3 })).body.shares as string[];
      const unsealed = vi.fn(async () => undefined);
      deps.onUnsealed = unsealed;
      const append = d.audit.append.bind(d.audit);
      const spy = vi.spyOn(d.audit, 'append').mockImplementation((event) => (event.operation === 'Unseal' ? Promise.reject(diskFull()) : append(event)));
      expect((await call('POST', '/unseal', { shares: [one] })).body).toMatchObject({ state: 'sealed', progress: 1 });
      const res = await call('POST', '/unseal', { shares: [two] });
      expect(res.status).toBe(500);
      expect(res.body.message).toBe('The unseal could not be audited (the disk is full): Kura stays sealed and the shares given were forgotten. Unseal again once its database can be written.');
      expect(await d.root.status()).toMatchObject({ state: 'sealed', progress: 0 });
      expect(unsealed).not.toHaveBeenCalled();
      expect((await d.audit.list({ operation: 'Unseal' })).filter((e) => e.outcome === 'ok')).toEqual([]);

      spy.mockRestore();
      expect((await call('POST', '/unseal', { shares: [two, one] })).body).toMatchObject({ state: 'unsealed' });
      expect(unsealed).toHaveBeenCalledTimes(1);
      expect((await d.audit.list({ operation: 'Unseal' })).map((e) => e.outcome)).toEqual(['ok']);
    } finally {
      await d.close();
    }
  });

  it('a seal whose entry cannot be written still seals, and says the entry is missing', async () => {
    const { d, deps } = await openQuorumAdmin(TOKEN, { unseal: 'none' });
    try {
      const call = adminCaller(() => deps, TOKEN);
      const [one] = (await call('POST', '/init', { threshold: 1, shares: 1 })).body.shares as string[];
      expect((await call('POST', '/unseal', { shares: [one] })).body).toMatchObject({ state: 'unsealed' });
      vi.spyOn(d.audit, 'append').mockRejectedValue(diskFull());
      const res = await call('POST', '/seal');
      expect(res.status).toBe(500);
      expect(res.body.message).toBe('Kura is sealed, but the audit entry of the seal could not be written (the disk is full).');
      expect(d.root.isUnsealed).toBe(false);
    } finally {
      await d.close();
    }
  });
});
