// Keys on an HSM token that no row of Kura's database refers to, on a real SoftHSM2 token and real SQLite
// on disk (main/kms/custom-key-stores.ts, reportOrphans): CreateKey generates on the token before it
// commits, and a key's deletion commits before it destroys on the token, so a commit that fails, a
// process killed in between (test/integration/hsm-orphans.test.ts) or a token out of reach can leave a
// key on the token that nothing names. A failed commit is discarded (the caller is told nothing changed,
// and a retry works); what stays is the operator's to remove (as AWS leaves orphaned keys in a CloudHSM
// cluster), so a connect logs each one by its label (the ARN CreateKey gave it) and CKA_ID, and never a
// key some KMS key still uses or another application's key. A token that fails during that scan fails
// the connect, as one that fails during the login does.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, expect, it } from 'vitest';
import { DAY_MS } from '../../main/common/clock.js';
import { createLogger } from '../../main/common/log.js';
import { connectHsmKeyStore, probeHsmToken } from '../../main/keystores/hsm/index.js';
import { ORPHANS_NAMED } from '../../main/kms/custom-key-stores.js';
import { storageFailureAnswer } from '../../main/kms/storage-failures.js';
import { kmsError, openDomain, type Domain } from '../support/domain.js';
import { setShimFault, shimOver } from '../support/pkcs11-shim.js';
import { secretKeysOn, softHsm, trustAnchorPem } from '../support/tokens.js';

const env = softHsm();
// The same tokens behind the fault shim, for the connect whose scan meets a device error.
const { shim, control } = shimOver(env.modulePath, path.join(env.tokenDir, '..', 'shim-control'));
afterAll(() => env.cleanup());
const trustAnchor = trustAnchorPem();

let d: Domain;
let storeId: string;
let token: ReturnType<typeof env.makeToken>;
const logLines: string[] = [];

beforeEach(async () => {
  token = env.makeToken(`kura-orphans-${Date.now() % 100000}`, '7654321');
  logLines.length = 0;
  const log = createLogger('info', (l) => logLines.push(l));
  d = await openDomain({ log, hsmConnector: { probe: probeHsmToken, connect: (c) => connectHsmKeyStore(c, { log }) } });
  const { hsm } = await d.keys.registerHsm({ operator: 'kura:admin', operation: 'RegisterHsm' }, { modulePath: env.modulePath, tokenLabel: token.label });
  storeId = await d.keys.createCustomKeyStore(d.ctx('CreateCustomKeyStore'), { customKeyStoreName: 'orphans', cloudHsmClusterId: hsm.id, trustAnchorCertificate: trustAnchor, keyStorePassword: token.pin });
  await d.keys.connectCustomKeyStore(d.ctx('ConnectCustomKeyStore'), storeId);
});
afterEach(() => d.close());

const tool = (...args: string[]) => execFileSync('pkcs11-tool', ['--module', env.modulePath, '--token-label', token.label, '--login', '--pin', token.pin, ...args], { env: env.env, stdio: 'pipe' }).toString();
const onToken = () => secretKeysOn(env, token);
const createKey = () => d.keys.createKey(d.ctx('CreateKey'), { customKeyStoreId: storeId, origin: 'AWS_CLOUDHSM' });
const logged = () => logLines.map((l) => JSON.parse(l) as Record<string, unknown>);
const orphanLines = () => logged().filter((l) => l.msg === 'HSM token key that no KMS key of this appliance uses');

it('a CreateKey whose commit fails on an I/O error destroys the key it generated on the token, says nothing changed, and a retry works', async () => {
  const kept = await createKey();
  // The database's files made immutable under the running store: its next write fails (EPERM, SQLITE_IOERR).
  const files = ['kura.db', 'kura.db-wal'].map((f) => path.join(d.dir, f));
  for (const f of files) execFileSync('chattr', ['+i', f]);
  let failed: unknown;
  try {
    failed = await createKey().then(() => undefined, (e: unknown) => e);
  } finally {
    for (const f of files) execFileSync('chattr', ['-i', f]);
  }
  // What every transport answers for it: KMSInternalException (which SDKs retry), saying nothing was changed.
  expect(storageFailureAnswer(failed)).toMatchObject({ code: 'SQLITE_IOERR', error: { code: 'Internal', message: expect.stringContaining('nothing was changed; retry') } });
  expect([...onToken().keys()]).toEqual([d.keys.arnOf(kept)]);
  const retried = await createKey();
  expect([...onToken().keys()].sort()).toEqual([d.keys.arnOf(kept), d.keys.arnOf(retried)].sort());
});

it('a CreateKey whose commit fails (the database file gone) destroys the key it generated on the token', async () => {
  const kept = await createKey();
  for (const f of ['kura.db', 'kura.db-wal', 'kura.db-shm']) fs.rmSync(path.join(d.dir, f), { force: true });
  const failed = await createKey().then(() => undefined, (e: unknown) => e);
  expect((failed as Error).name).toBe('DatabaseFileGoneError');
  expect([...onToken().keys()]).toEqual([d.keys.arnOf(kept)]);
});

it('a connect logs, by label and CKA_ID, each key left on the token that no KMS key uses, and no other', async () => {
  const live = await createKey();
  const doomed = await createKey();
  // Another application's key on the same token is not Kura's to report.
  tool('--keygen', '--key-type', 'AES:32', '--label', 'another-application', '--id', 'abcd');
  await d.keys.scheduleKeyDeletion(d.ctx('ScheduleKeyDeletion'), doomed.keyId, 7);
  const doomedId = onToken().get(d.keys.arnOf(doomed))!;
  // Deleted while its store is disconnected: the key goes, its material stays on the token (as AWS does).
  await d.keys.disconnectCustomKeyStore(d.ctx('DisconnectCustomKeyStore'), storeId);
  d.clock.advance(8 * DAY_MS);
  expect((await d.jobs.runDue()).deleted).toEqual([doomed.keyId]);
  expect(onToken().get(d.keys.arnOf(doomed))).toBe(doomedId);
  expect(orphanLines()).toEqual([]);

  await d.keys.connectCustomKeyStore(d.ctx('ConnectCustomKeyStore'), storeId);
  expect(orphanLines()).toEqual([expect.objectContaining({ level: 'warn', customKeyStoreId: storeId, label: d.keys.arnOf(doomed), ckaId: doomedId })]);
  expect(logLines.join('\n')).not.toContain(d.keys.arnOf(live));
  // The live key works, and the connect is CONNECTED as ever.
  const { ciphertextBlob } = await d.keys.encrypt(d.ctx('Encrypt'), { keyId: live.keyId, plaintext: Buffer.from('still here') });
  expect((await d.keys.decrypt(d.ctx('Decrypt'), { ciphertextBlob })).plaintext.toString()).toBe('still here');
});

it('a connect names the first ORPHANS_NAMED such keys, one line each, and counts the rest in one line (a token another appliance shares)', async () => {
  await d.keys.disconnectCustomKeyStore(d.ctx('DisconnectCustomKeyStore'), storeId);
  // Keys labelled as another appliance's CreateKey labels them: ARNs of key IDs this one does not have.
  const count = ORPHANS_NAMED + 3;
  for (let i = 0; i < count; i++) {
    tool('--keygen', '--key-type', 'AES:32', '--label', `arn:aws:kms:us-east-1:111122223333:key/${randomUUID()}`, '--id', (0x1000 + i).toString(16));
  }
  await d.keys.connectCustomKeyStore(d.ctx('ConnectCustomKeyStore'), storeId);
  expect(orphanLines()).toHaveLength(ORPHANS_NAMED);
  expect(logged().filter((l) => String(l.msg).startsWith('HSM token keys that no KMS key of this appliance uses: more'))).toEqual([
    expect.objectContaining({ level: 'warn', customKeyStoreId: storeId, found: count, named: ORPHANS_NAMED }),
  ]);
}, 60_000);

it('a connect whose token fails during the scan is FAILED, stored so, not CONNECTED on a dead connection', async () => {
  const faulty = env.makeToken(`kura-faulty-${Date.now() % 100000}`, '7654321');
  const { hsm } = await d.keys.registerHsm({ operator: 'kura:admin', operation: 'RegisterHsm' }, { modulePath: shim, tokenLabel: faulty.label });
  const id = await d.keys.createCustomKeyStore(d.ctx('CreateCustomKeyStore'), { customKeyStoreName: 'faulty', cloudHsmClusterId: hsm.id, trustAnchorCertificate: trustAnchor, keyStorePassword: faulty.pin });
  setShimFault(control, { action: 'fail', fn: 'C_FindObjectsInit' });
  try {
    await d.keys.connectCustomKeyStore(d.ctx('ConnectCustomKeyStore'), id);
  } finally {
    setShimFault(control, null);
  }
  const [view] = (await d.keys.describeCustomKeyStores(d.ctx('DescribeCustomKeyStores'), { customKeyStoreId: id })).items;
  expect(view).toMatchObject({ connectionState: 'FAILED', connectionErrorCode: 'INTERNAL_ERROR' });
  expect((await d.store.customKeyStores.find(id))?.connectionState).toBe('FAILED');
  // As after any failure: disconnect, then connect again.
  await d.keys.disconnectCustomKeyStore(d.ctx('DisconnectCustomKeyStore'), id);
  await d.keys.connectCustomKeyStore(d.ctx('ConnectCustomKeyStore'), id);
  expect((await d.store.customKeyStores.find(id))?.connectionState).toBe('CONNECTED');
});

it("a deletion whose C_DestroyObject fails after the commit: the key is gone, its label logged, and the next connect names it with its CKA_ID", async () => {
  const faulty = env.makeToken(`kura-destroy-${Date.now() % 100000}`, '7654321');
  const { hsm } = await d.keys.registerHsm({ operator: 'kura:admin', operation: 'RegisterHsm' }, { modulePath: shim, tokenLabel: faulty.label });
  const id = await d.keys.createCustomKeyStore(d.ctx('CreateCustomKeyStore'), { customKeyStoreName: 'destroy', cloudHsmClusterId: hsm.id, trustAnchorCertificate: trustAnchor, keyStorePassword: faulty.pin });
  await d.keys.connectCustomKeyStore(d.ctx('ConnectCustomKeyStore'), id);
  const doomed = await d.keys.createKey(d.ctx('CreateKey'), { customKeyStoreId: id, origin: 'AWS_CLOUDHSM' });
  await d.keys.scheduleKeyDeletion(d.ctx('ScheduleKeyDeletion'), doomed.keyId, 7);
  d.clock.advance(8 * DAY_MS);
  setShimFault(control, { action: 'fail', fn: 'C_DestroyObject', rv: 0x6 });
  try {
    expect((await d.jobs.runDue()).deleted).toEqual([doomed.keyId]);
  } finally {
    setShimFault(control, null);
  }
  expect(await d.store.keys.find(doomed.keyId)).toBeUndefined();
  const ckaId = secretKeysOn(env, faulty).get(d.keys.arnOf(doomed));
  expect(ckaId).toMatch(/^[0-9a-f]{32}$/);
  expect(logged()).toContainEqual(expect.objectContaining({ msg: 'a deleted key left its material on its custom key store', label: d.keys.arnOf(doomed) }));
  await d.keys.disconnectCustomKeyStore(d.ctx('DisconnectCustomKeyStore'), id);
  await d.keys.connectCustomKeyStore(d.ctx('ConnectCustomKeyStore'), id);
  expect(orphanLines()).toEqual([expect.objectContaining({ customKeyStoreId: id, label: d.keys.arnOf(doomed), ckaId })]);
});

it('a key whose token object is gone is unusable and says so (KMSInvalidStateException naming the CKA_ID), its state unchanged, after a reconnect too', async () => {
  const key = await createKey();
  const { ciphertextBlob } = await d.keys.encrypt(d.ctx('Encrypt'), { keyId: key.keyId, plaintext: Buffer.from('sealed before') });
  const ckaId = onToken().get(d.keys.arnOf(key))!;
  tool('--delete-object', '--type', 'secrkey', '--id', ckaId);
  // A fresh connection looks every key up again (a connected one does within PRESENCE_CHECK_MS).
  await d.keys.disconnectCustomKeyStore(d.ctx('DisconnectCustomKeyStore'), storeId);
  await d.keys.connectCustomKeyStore(d.ctx('ConnectCustomKeyStore'), storeId);
  for (const call of [d.keys.encrypt(d.ctx('Encrypt'), { keyId: key.keyId, plaintext: Buffer.from('after') }), d.keys.decrypt(d.ctx('Decrypt'), { ciphertextBlob })]) {
    expect(await kmsError(call)).toMatchObject({ code: 'InvalidState', message: expect.stringContaining(`is not on the HSM token "${token.label}" (CKA_ID ${ckaId})`) });
  }
  expect((await d.keys.describeKey(d.ctx('DescribeKey'), key.keyId)).state).toBe('Enabled');
  expect(orphanLines()).toEqual([]);
});
