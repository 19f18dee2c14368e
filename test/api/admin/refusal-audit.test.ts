// Refused commands are audited (main/api/admin/refusals.ts), over real HTTP to a real `kura serve
// --dev` with its audit log on disk: once the admin API knows who asks (the admin token, a console
// session), a command refused before a service that audits could refuse it — a body that is not JSON,
// an input the contract refuses, a malformed path field, a Region not served, an input the KMS model
// refuses, an operator or credential change the quorum or the credential service refuses — is in the
// audit log once, under the command's name, with its error code; one the KMS façade refused is not
// audited twice. A request refused before anyone is identified goes to the coalesced refusal log, as
// the KMS endpoint's do. The admin fuzzer found these refusals unaudited (test/fuzz/admin-routes.test.ts).
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { custodian } from '../../support/custodians.js';
import { startKura, type KuraProcess } from '../../support/kura-process.js';

let kura: KuraProcess;
let token = '';
let session = '';

async function call(method: string, p: string, body?: unknown, bearer = token): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${kura.url}/admin/v1${p}`, {
    method,
    headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

interface Entry {
  seq: number;
  principal: string;
  source: string;
  operation: string;
  outcome: string;
  errorCode?: string;
}

/** The audit entries written since the newest one before `action`, oldest first. */
async function auditedBy(action: () => Promise<unknown>): Promise<Omit<Entry, 'seq'>[]> {
  const newest = async () => ((await call('POST', '/commands/audit.list', { limit: 500 })).json.entries as Entry[]).sort((a, b) => a.seq - b.seq);
  const before = (await newest()).at(-1)!.seq;
  await action();
  return (await newest()).filter((e) => e.seq > before).map(({ principal, source, operation, outcome, errorCode }) => ({ principal, source, operation, outcome, ...(errorCode ? { errorCode } : {}) }));
}

const refusal = (principal: string, operation: string, errorCode: string) => ({ principal, source: 'admin', operation, outcome: 'error', errorCode });

beforeAll(async () => {
  kura = await startKura();
  token = fs.readFileSync(path.join(kura.dataDir, 'admin.token'), 'utf8').trim();
  const passphrase = fs.readFileSync(path.join(kura.dataDir, 'dev-operator.passphrase'), 'utf8').trim();
  session = (await call('POST', '/sessions', { operator: 'dev', passphrase }, '')).json.token as string;
  expect((await call('POST', '/operators', { name: 'alice', publicKey: custodian('ed25519').publicPem })).status).toBe(200);
}, 30_000);

afterAll(async () => {
  await kura?.stop();
  if (kura) fs.rmSync(kura.dataDir, { recursive: true, force: true });
});

describe('a command refused before it runs', () => {
  it('is audited under its name whether its body is not JSON, the contract refuses its input, or its path field is malformed', async () => {
    const entries = await auditedBy(async () => {
      expect((await call('POST', '/operators', '{"name":')).status).toBe(400);
      expect((await call('POST', '/operators', { name: 'bob', publicKey: 'x', isAdmin: true })).status).toBe(400);
      expect((await call('DELETE', '/credentials/not-upper-case')).status).toBe(400);
      expect((await call('POST', '/commands/keys.list', { limit: 0 }, session)).status).toBe(400);
    });
    expect(entries).toEqual([
      refusal('kura:admin', 'operators.add', 'Serialization'),
      refusal('kura:admin', 'operators.add', 'Validation'),
      refusal('kura:admin', 'credentials.delete', 'Validation'),
      refusal('dev', 'keys.list', 'Validation'),
    ]);
  });

  it('is audited when the handler refuses it: a Region not served, a key spec the KMS model does not have, a time that is none, an operator who is not the caller', async () => {
    const entries = await auditedBy(async () => {
      expect((await call('POST', '/commands/keys.list', { region: 'xx-fake-1' }, session)).status).toBe(400);
      expect((await call('POST', '/commands/keys.create', { keySpec: 'NOPE' }, session)).status).toBe(400);
      const material = { keyId: '00000000-0000-0000-0000-000000000000', importToken: 'AAAA', encryptedKeyMaterial: 'AAAA', validTo: 'next Tuesday' };
      expect((await call('POST', '/commands/imports.material', material, session)).status).toBe(400);
      expect((await call('POST', '/commands/operators.remove', { name: 'alice', operator: 'alice' }, session)).status).toBe(403);
      expect((await call('POST', '/commands/session.logout', {})).status).toBe(400);
    });
    expect(entries).toEqual([
      refusal('dev', 'keys.list', 'Validation'),
      refusal('dev', 'keys.create', 'Validation'),
      refusal('dev', 'imports.material', 'Validation'),
      refusal('dev', 'operators.remove', 'AccessDenied'),
      refusal('kura:admin', 'session.logout', 'Validation'),
    ]);
  });

  it('is audited when the quorum or the credential service refuses it where they audit only what they do (or find)', async () => {
    const entries = await auditedBy(async () => {
      expect((await call('POST', '/operators', { name: 'alice', publicKey: custodian('p256').publicPem })).status).toBe(409);
      expect((await call('PUT', '/quorum/backup', { threshold: 1, operators: ['nobody'] })).status).toBe(400);
      expect((await call('POST', '/credentials', { accountId: '111122223333', principalArn: 'arn:aws:iam::444455556666:user/x' })).status).toBe(400);
      expect((await call('DELETE', '/credentials/AKIANOSUCHKEY0000000')).status).toBe(404);
      expect((await call('POST', `/approvals/apr-${'0'.repeat(24)}/cancel`, {})).status).toBe(404);
      expect((await call('POST', `/approvals/apr-${'0'.repeat(24)}/result`, {})).status).toBe(404);
    });
    expect(entries).toEqual([
      refusal('kura:admin', 'operators.add', 'AlreadyExists'),
      refusal('kura:admin', 'quorum.set', 'Validation'),
      refusal('kura:admin', 'credentials.create', 'Validation'),
      refusal('kura:admin', 'credentials.delete', 'NotFound'),
      refusal('kura:admin', 'approvals.cancel', 'NotFound'),
      refusal('kura:admin', 'approvals.result', 'NotFound'),
    ]);
  });

  it('is audited once when the KMS façade refused it (as DescribeKey), not again as the command', async () => {
    const entries = await auditedBy(async () => {
      expect((await call('POST', '/commands/keys.show', { keyId: '00000000-0000-0000-0000-000000000000' }, session)).status).toBe(404);
    });
    expect(entries).toEqual([{ principal: 'arn:aws:iam::111122223333:user/kura-console/dev', source: 'kms', operation: 'DescribeKey', outcome: 'error', errorCode: 'NotFound' }]);
  });

  it('is audited when init, with the admin token, is refused before the root key is made', async () => {
    const entries = await auditedBy(async () => {
      expect((await call('POST', '/init', '{"threshold":')).status).toBe(400);
      expect((await call('POST', '/init', { threshold: 2, shares: 3, operatorz: [] })).status).toBe(400);
      expect((await call('POST', '/init', { threshold: 2, shares: 3 })).status).toBe(409);
    });
    expect(entries).toEqual([refusal('kura:cli', 'Init', 'Serialization'), refusal('kura:cli', 'Init', 'Validation'), refusal('kura:cli', 'Init', 'InvalidState')]);
  });

  it('with no caller known (no token, a wrong one, a session that ended) is in the coalesced refusal log, once a minute', async () => {
    const entries = await auditedBy(async () => {
      expect((await call('POST', '/operators', { name: 'x' }, '')).status).toBe(403);
      expect((await call('POST', '/operators', { name: 'x' }, 'wrong')).status).toBe(403);
      expect((await call('POST', '/init', { threshold: 2, shares: 3 }, 'wrong')).status).toBe(403);
      expect((await call('POST', '/commands/keys.list', {}, 'a-session-that-ended')).status).toBe(403);
    });
    // The first of the minute from this address, for this reason; the others are counted into one entry when it ends.
    expect(entries).toEqual([{ principal: 'anonymous', source: 'admin', operation: 'operators.add', outcome: 'error', errorCode: 'AccessDenied' }]);
  });
});
