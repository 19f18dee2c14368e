// Custodians and quorum end to end (issue 13): a real `kura serve --dev` process, three operators whose
// keys the openssl command line made (two Ed25519, one P-256), enrolled through the admin API; a 2-of-3
// policy for key deletion and for key import; gated calls through @aws-sdk/client-kms answer
// AccessDeniedException naming their approval request and change nothing; approvals are signatures made
// off-line with exactly the openssl commands the README gives (`openssl pkeyutl -sign -rawin` for
// Ed25519, `openssl dgst -sha256 -sign` for P-256) over the statement the appliance exports; one
// approval runs nothing, the second runs the call — once, even with two approvals racing — and what is
// refused (the same operator twice, a key that is no operator's, a flipped bit, another request's
// signature, a request already run) is refused and audited, with nothing run.
import { execFileSync } from 'node:child_process';
import { constants, createPublicKey, publicEncrypt, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  CreateCustomKeyStoreCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  EncryptCommand,
  GetParametersForImportCommand,
  ImportKeyMaterialCommand,
  ScheduleKeyDeletionCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kmsClient } from '../support/kms-client.js';
import { startKura, type KuraProcess } from '../support/kura-process.js';

interface View {
  id: string;
  status: string;
  approvals: { operator: string }[];
  statement: string;
  outcome: string | null;
}

const OPERATORS = { alice: 'ed25519', bob: 'p256', carol: 'ed25519' } as const;
type Name = keyof typeof OPERATORS;

describe('M-of-N approvals for gated KMS calls', () => {
  let kura: KuraProcess;
  let kms: KMSClient;
  let dir: string;
  const openssl = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });

  const admin = async (method: string, route: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> => {
    const token = fs.readFileSync(path.join(kura.dataDir, 'admin.token'), 'utf8').trim();
    const res = await fetch(`${kura.url}/admin/v1${route}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };
  const view = async (id: string) => (await admin('GET', `/approvals/${id}`)).json as unknown as View;
  /** The statement of a request, written to a file, signed by an operator's key as the README says. */
  const sign = async (id: string, who: Name | 'mallory'): Promise<Buffer> => {
    const statement = path.join(dir, `${id}.statement`);
    fs.writeFileSync(statement, Buffer.from((await view(id)).statement, 'base64'));
    const sig = path.join(dir, `${id}.${who}.sig`);
    if (who === 'bob') openssl(['dgst', '-sha256', '-sign', 'bob.key', '-out', sig, statement]);
    else openssl(['pkeyutl', '-sign', '-inkey', `${who}.key`, '-rawin', '-in', statement, '-out', sig]);
    return fs.readFileSync(sig);
  };
  const submit = (id: string, signature: Buffer, operator?: string) =>
    admin('POST', `/approvals/${id}/approvals`, { signature: signature.toString('base64'), ...(operator ? { operator } : {}) });
  /** The approval request an AccessDeniedException names. */
  const gated = async (send: Promise<unknown>): Promise<string> => {
    const e = await send.then(
      () => undefined,
      (x: unknown) => x as Error,
    );
    expect(e?.name).toBe('AccessDeniedException');
    const id = /approval request (apr-[0-9a-f]+)/.exec(e!.message)?.[1];
    expect(id, e!.message).toBeDefined();
    return id!;
  };
  const keyState = async (keyId: string) => (await kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata!.KeyState;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-quorum-'));
    for (const [name, kind] of Object.entries({ ...OPERATORS, mallory: 'ed25519' })) {
      if (kind === 'ed25519') openssl(['genpkey', '-algorithm', 'ed25519', '-out', `${name}.key`]);
      else openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${name}.key`]);
      openssl(['pkey', '-in', `${name}.key`, '-pubout', '-out', `${name}.pub`]);
    }
    kura = await startKura();
    kms = kmsClient(kura);
    for (const name of Object.keys(OPERATORS)) {
      const r = await admin('POST', '/operators', { name, publicKey: fs.readFileSync(path.join(dir, `${name}.pub`), 'utf8') });
      expect(r.status, JSON.stringify(r.json)).toBe(200);
    }
    for (const actionClass of ['key-deletion', 'key-import', 'key-store']) {
      const r = await admin('PUT', `/quorum/${actionClass}`, { threshold: 2, operators: ['alice', 'bob', 'carol'] });
      expect(r.status, JSON.stringify(r.json)).toBe(200);
    }
  }, 60_000);

  afterAll(async () => {
    await kura?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a gated ScheduleKeyDeletion answers AccessDeniedException naming its request; two approvals (openssl, Ed25519 and P-256) make the key PendingDeletion', async () => {
    const keyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    const id = await gated(kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 })));
    expect(await keyState(keyId)).toBe('Enabled');
    expect((await view(id)).status).toBe('PENDING');

    expect((await submit(id, await sign(id, 'alice'))).status).toBe(200);
    expect((await view(id)).status).toBe('PENDING');
    expect(await keyState(keyId)).toBe('Enabled');

    const second = await submit(id, await sign(id, 'bob'));
    expect(second.status, JSON.stringify(second.json)).toBe(200);
    const done = await view(id);
    expect(done.status, done.outcome ?? '').toBe('EXECUTED');
    expect(await keyState(keyId)).toBe('PendingDeletion');

    // A replayed or late approval is refused; nothing runs again.
    const late = await submit(id, await sign(id, 'carol'));
    expect(late.status).toBeGreaterThanOrEqual(400);
    expect((await view(id)).approvals.map((a) => a.operator)).toEqual(['alice', 'bob']);
  });

  it('refuses the same operator twice, a key that is no operator\'s, a flipped bit and another request\'s signature — each audited, nothing run', async () => {
    const keyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    const id = await gated(kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 30 })));
    const other = await gated(kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 8 })));
    const alice = await sign(id, 'alice');
    expect((await submit(id, alice)).status).toBe(200);
    expect((await submit(id, alice)).status).toBe(409);
    expect((await submit(id, await sign(id, 'mallory'))).status).toBe(403);
    const flipped = await sign(id, 'carol');
    flipped[flipped.length - 1]! ^= 1;
    expect((await submit(id, flipped)).status).toBe(403);
    expect((await submit(id, await sign(other, 'carol'))).status).toBe(403);
    expect((await view(id)).status).toBe('PENDING');
    expect(await keyState(keyId)).toBe('Enabled');
    const audit = await admin('GET', '/audit/verify');
    expect(audit.status).toBe(200);
  });

  it('2-of-3 for import: one approval runs nothing; two approvals racing after it run the import exactly once', async () => {
    const keyId = (await kms.send(new CreateKeyCommand({ Origin: 'EXTERNAL' }))).KeyMetadata!.KeyId!;
    const params = await kms.send(new GetParametersForImportCommand({ KeyId: keyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' }));
    const wrapped = publicEncrypt(
      { key: createPublicKey({ key: Buffer.from(params.PublicKey!), format: 'der', type: 'spki' }), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
      randomBytes(32),
    );
    const id = await gated(
      kms.send(new ImportKeyMaterialCommand({ KeyId: keyId, ImportToken: params.ImportToken, EncryptedKeyMaterial: wrapped, ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' })),
    );
    expect(await keyState(keyId)).toBe('PendingImport');
    expect((await submit(id, await sign(id, 'carol'))).status).toBe(200);
    expect(await keyState(keyId)).toBe('PendingImport');
    const [bob, alice] = await Promise.all([sign(id, 'bob'), sign(id, 'alice')]);
    const raced = await Promise.all([submit(id, bob), submit(id, alice)]);
    expect(raced.some((r) => r.status === 200)).toBe(true);
    const done = await view(id);
    expect(done.status, done.outcome ?? '').toBe('EXECUTED');
    expect(await keyState(keyId)).toBe('Enabled');
    expect((await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('imported') }))).CiphertextBlob).toBeDefined();
  });
  it("a gated CreateCustomKeyStore keeps the proxy's secret out of the request, its transcript and the database, and gives it back when it runs", async () => {
    const secret = randomBytes(33).toString('base64');
    const accessKeyId = 'AKIAKURAQUORUMSECRETXY';
    const id = await gated(
      kms.send(
        new CreateCustomKeyStoreCommand({
          CustomKeyStoreName: 'quorum-xks',
          CustomKeyStoreType: 'EXTERNAL_KEY_STORE',
          // No such host (.invalid): once approved, the call runs and fails at the proxy's health check.
          XksProxyUriEndpoint: 'https://xks.invalid',
          XksProxyUriPath: '/kms/xks/v1',
          XksProxyConnectivity: 'PUBLIC_ENDPOINT',
          XksProxyAuthenticationCredential: { AccessKeyId: accessKeyId, RawSecretAccessKey: secret },
        }),
      ),
    );
    const shown = await admin('GET', `/approvals/${id}`);
    expect(JSON.stringify(shown.json)).not.toContain(secret);
    expect(JSON.stringify(shown.json)).toContain('sealed beside the request');
    expect((await submit(id, await sign(id, 'alice'))).status).toBe(200);
    await submit(id, await sign(id, 'bob'));
    const done = await view(id);
    // It ran with the secret given back: refused by the proxy it cannot reach, not by the placeholder's shape.
    expect([done.status, done.outcome]).toEqual(['FAILED', expect.stringMatching(/XksProxyUriUnreachable/)]);
    const transcript = await admin('GET', `/approvals/${id}/transcript`);
    expect(transcript.status).toBe(200);
    expect(JSON.stringify(transcript.json)).not.toContain(secret);
    const files = fs.readdirSync(kura.dataDir).filter((f) => f.startsWith('kura.db'));
    for (const f of files) expect(fs.readFileSync(path.join(kura.dataDir, f)).includes(Buffer.from(secret)), f).toBe(false);
  });
});
