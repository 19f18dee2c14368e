// A failing disk under a running appliance (main/store/sqlite/storage-failure.ts, main/kms/storage-failures.ts):
// when the database's writes fail with SQLITE_FULL, a KMS call (a change or a read, whose audit entry
// is a write too), an STS call and an admin command are answered KMSInternalException / Internal, 500,
// with a message that says the disk is full and nothing was changed, and the log names the SQLite
// code, where before they answered "see its log" and logged only the error's type ("Error").
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { handleAdminRequest, type AdminDeps } from '../../../main/api/admin/routes.js';
import type { RawRequest } from '../../../main/api/http.js';
import { handleKmsRequest, type KmsEndpointDeps } from '../../../main/api/kms/dispatch.js';
import { RefusalLog } from '../../../main/audit/refusals.js';
import { createLogger } from '../../../main/common/log.js';
import { openQuorumAdmin } from '../../support/custodians.js';
import { TEST_ACCOUNT, TEST_REGION, type Domain } from '../../support/domain.js';

const TOKEN = 'storage-token';
const DISK_FULL = 'Kura could not write to its database (disk full): nothing was changed; retry once space is freed.';
/** What node-sqlite3 rejects with when the disk is full. */
const sqliteFull = () => Object.assign(new Error('SQLITE_FULL: database or disk is full'), { errno: 13, code: 'SQLITE_FULL' });

let d: Domain;
let admin: AdminDeps;
let kmsDeps: KmsEndpointDeps;
let signer: SignatureV4;
let keyId: string;
const logLines: string[] = [];

beforeEach(async () => {
  let deps: AdminDeps;
  ({ d, deps } = await openQuorumAdmin(TOKEN));
  const log = createLogger('info', (line) => logLines.push(line));
  admin = { ...deps, log };
  kmsDeps = { kms: d.keys, credentials: d.credentials, audit: d.audit, refusals: new RefusalLog({ audit: d.audit, clock: d.clock, monotonic: d.clock.monotonic }), clock: d.clock, log };
  const credential = await d.credentials.create({ accountId: TEST_ACCOUNT });
  signer = new SignatureV4({ service: 'kms', region: TEST_REGION, credentials: { accessKeyId: credential.accessKeyId, secretAccessKey: credential.secretAccessKey }, sha256: Sha256 });
  keyId = (await d.keys.createKey(d.ctx('CreateKey'), {})).keyId;
  logLines.length = 0;
});

afterEach(async () => {
  vi.restoreAllMocks();
  await d?.close();
});

/** From now on every write of the database fails as on a full disk. */
const fillTheDisk = () => vi.spyOn(d.store.db, 'write').mockRejectedValue(sqliteFull());

async function kmsCall(operation: string, input: Record<string, unknown>) {
  const body = JSON.stringify(input);
  const signed = await signer.sign(
    { method: 'POST', protocol: 'http:', hostname: '127.0.0.1', path: '/', query: {}, headers: { host: '127.0.0.1', 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `TrentService.${operation}` }, body },
    { signingDate: new Date(d.clock.nowMs()) },
  );
  const headers = Object.fromEntries(Object.entries(signed.headers).map(([k, v]) => [k.toLowerCase(), v]));
  const res = await handleKmsRequest(kmsDeps, { method: 'POST', path: '/', query: '', headers, body: Buffer.from(body, 'utf8') } as RawRequest);
  return { status: res.status, body: JSON.parse(res.body as string) as { __type?: string; message?: string }, errorType: res.headers['x-amzn-errortype'] };
}

const logged = () => logLines.map((l) => JSON.parse(l) as Record<string, unknown>);

describe('a full disk', () => {
  it.each([
    ['a change', 'CreateKey', () => ({})],
    ['a read (its audit entry is a write)', 'Encrypt', () => ({ KeyId: keyId, Plaintext: Buffer.from('not logged').toString('base64') })],
  ])('answers %s KMSInternalException 500 saying so, and logs SQLITE_FULL', async (_what, operation, input) => {
    fillTheDisk();
    const res = await kmsCall(operation, input());
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ __type: 'KMSInternalException', message: DISK_FULL });
    expect(res.errorType).toBe('KMSInternalException');
    const lines = logged();
    expect(lines).toContainEqual(expect.objectContaining({ level: 'error', msg: 'storage failure', operation, code: 'SQLITE_FULL' }));
    expect(logLines.join('\n')).not.toContain('see its log');
    expect(logLines.join('\n')).not.toContain(Buffer.from('not logged').toString('base64'));
  });

  it('answers an admin command 500 Internal saying so, and logs SQLITE_FULL', async () => {
    fillTheDisk();
    const res = await handleAdminRequest(admin, {
      method: 'POST',
      path: '/admin/v1/credentials',
      query: '',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: Buffer.from(JSON.stringify({ accountId: TEST_ACCOUNT })),
    });
    expect(res.status).toBe(500);
    expect(JSON.parse(res.body)).toEqual({ error: 'Internal', message: DISK_FULL });
    expect(logged()).toContainEqual(expect.objectContaining({ level: 'error', msg: 'admin storage failure', code: 'SQLITE_FULL' }));
  });

  it('leaves every other unexpected error answered as internal, by its type', async () => {
    vi.spyOn(d.store.db, 'write').mockRejectedValue(Object.assign(new Error('SQLITE_CONSTRAINT: UNIQUE constraint failed'), { code: 'SQLITE_CONSTRAINT' }));
    const res = await kmsCall('CreateKey', {});
    expect(res.status).toBe(500);
    expect(res.body.message).toBe('An internal error occurred in Kura; see its log.');
  });
});
