// `kura xks stores|credentials|keys` against a real `kura serve --dev` process (issue 12's operator
// commands, whose names and --json fields scripts rely on): a store and its first credential, a second
// credential for rotation, the last credential kept, keys of each --usage, disable/enable, deleting a
// store refused while keys live in it, unknown stores, and the routes' answers through the admin API.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runKura, startKura, type KuraProcess } from '../support/kura-process.js';

interface Err { error: { code: string; message: string } }

describe('kura xks', () => {
  let kura: KuraProcess;
  const xks = async (...args: string[]) => runKura(['xks', ...args, '--data-dir', kura.dataDir]);
  /** `kura xks … --json`, expected to succeed: its parsed output. */
  const ok = async <T>(...args: string[]): Promise<T> => {
    const r = await xks(...args, '--json');
    expect(r.stderr, args.join(' ')).toBe('');
    expect(r.code).toBe(0);
    return JSON.parse(r.stdout) as T;
  };
  /** `kura xks … --json`, expected to fail: the error's code. */
  const fails = async (...args: string[]): Promise<string> => {
    const r = await xks(...args, '--json');
    expect(r.code, args.join(' ')).not.toBe(0);
    expect(r.stdout).toBe('');
    return (JSON.parse(r.stderr) as Err).error.code;
  };

  beforeAll(async () => {
    kura = await startKura();
  }, 60_000);
  afterAll(async () => {
    await kura?.stop();
  });

  let storeId: string;
  let first: string;
  let second: string;

  it('stores create --json prints exactly storeId, uriPath, accessKeyId and secretAccessKey', async () => {
    const made = await ok<Record<string, string>>('stores', 'create', '--uri-path-prefix', 'tenant-a');
    expect(Object.keys(made)).toEqual(['storeId', 'uriPath', 'accessKeyId', 'secretAccessKey']);
    expect(made.uriPath).toBe('/tenant-a/kms/xks/v1');
    // AWS's formats for an XKS proxy credential: 20–30 of A–Z and 2–7; 43–64 base64 characters.
    expect(made.accessKeyId).toMatch(/^[A-Z2-7]{20,30}$/);
    expect(made.secretAccessKey).toMatch(/^[A-Za-z0-9+/=]{43,64}$/);
    storeId = made.storeId!;
    first = made.accessKeyId!;
    const stores = await ok<{ storeId: string; uriPath: string; credentials: number; keys: number; createdAt: string }[]>('stores', 'list');
    expect(stores).toEqual([expect.objectContaining({ storeId, uriPath: '/tenant-a/kms/xks/v1', hsmId: null, credentials: 1, keys: 0 })]);
    expect(new Date(stores[0]!.createdAt).toISOString()).toBe(stores[0]!.createdAt);
  });

  it('stores create in text says how to use the store with create-custom-key-store; a taken prefix, a bad one, --hsm without a PIN or on no HSM are refused', async () => {
    const r = await xks('stores', 'create', '--uri-path-prefix', 'tenant-b');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Store ID: +\S+/m);
    expect(r.stdout).toContain('/tenant-b/kms/xks/v1');
    expect(r.stdout).toContain('(shown once)');
    expect(r.stdout).toContain('--custom-key-store-type EXTERNAL_KEY_STORE');
    // Kura's own TLS listener is one way to give AWS KMS the HTTPS it needs.
    expect(r.stdout).toContain('--xks-tls-cert PEM --xks-tls-key PEM');
    expect(r.stdout).toContain('cli_follow_urlparam false');
    expect(r.stdout).toContain('--xks-proxy-uri-path /tenant-b/kms/xks/v1');
    expect(r.stdout).toMatch(/--xks-proxy-authentication-credential AccessKeyId=[A-Z2-7]{20,30},RawSecretAccessKey=\S{43,64}/);
    expect(await fails('stores', 'create', '--uri-path-prefix', 'tenant-b')).toBe('AlreadyExists');
    expect(await fails('stores', 'create', '--uri-path-prefix', 'bad prefix!')).toBe('Validation');
    // --hsm needs the token's PIN (from a file or standard input, never the command line), and a registered HSM.
    expect(await fails('stores', 'create', '--uri-path-prefix', 'tenant-c', '--hsm', 'cluster-abcdefghijk')).toBe('Usage');
    const pinFile = path.join(kura.dataDir, 'test.pin');
    fs.writeFileSync(pinFile, '1234567\n', { mode: 0o600 });
    expect(await fails('stores', 'create', '--uri-path-prefix', 'tenant-c', '--hsm', 'cluster-abcdefghijk', '--pin-file', pinFile)).toBe('CloudHsmClusterNotFound');
    expect(await fails('stores', 'create', '--uri-path-prefix', 'tenant-c', '--pin-file', pinFile)).toBe('Usage');
    expect(await fails('stores', 'create')).toBe('Usage');
    const other = (await ok<{ storeId: string; uriPath: string }[]>('stores', 'list')).find((s) => s.uriPath === '/tenant-b/kms/xks/v1')!;
    expect(await ok('stores', 'delete', other.storeId)).toEqual({ deleted: other.storeId });
  });

  it('credentials: a second one for rotation, both listed, one deleted, the last one kept', async () => {
    const made = await ok<Record<string, string>>('credentials', 'create', '--store', storeId);
    expect(Object.keys(made)).toEqual(['storeId', 'accessKeyId', 'secretAccessKey']);
    expect(made.storeId).toBe(storeId);
    second = made.accessKeyId!;
    expect(second).not.toBe(first);
    const listed = await ok<{ accessKeyId: string; storeId: string; createdAt: string }[]>('credentials', 'list', '--store', storeId);
    expect(listed.map((c) => c.accessKeyId).sort()).toEqual([first, second].sort());
    for (const c of listed) {
      expect(Object.keys(c).sort()).toEqual(['accessKeyId', 'createdAt', 'storeId']);
      expect(new Date(c.createdAt).toISOString()).toBe(c.createdAt);
    }
    expect(await ok('credentials', 'delete', '--store', storeId, first)).toEqual({ deleted: first });
    expect(await fails('credentials', 'delete', '--store', storeId, first)).toBe('NotFound');
    expect(await fails('credentials', 'delete', '--store', storeId, second)).toBe('InvalidState');
    expect((await ok<{ accessKeyId: string }[]>('credentials', 'list', '--store', storeId)).map((c) => c.accessKeyId)).toEqual([second]);
    expect(await fails('credentials', 'list')).toBe('Usage');
  });

  it('keys: each --usage, list, disable and enable, delete', async () => {
    const usages: Record<string, string[]> = { 'encrypt,decrypt': ['ENCRYPT', 'DECRYPT'], encrypt: ['ENCRYPT'], decrypt: ['DECRYPT'], none: [] };
    const ids: Record<string, string> = {};
    for (const usage of Object.keys(usages)) {
      const made = await ok<Record<string, string>>('keys', 'create', '--store', storeId, '--usage', usage);
      expect(Object.keys(made)).toEqual(['externalKeyId']);
      ids[usage] = made.externalKeyId!;
    }
    const byDefault = (await ok<{ externalKeyId: string }>('keys', 'create', '--store', storeId)).externalKeyId;
    expect(await fails('keys', 'create', '--store', storeId, '--usage', 'sign')).toBe('Usage');
    const keys = await ok<{ externalKeyId: string; storeId: string; keyUsage: string[]; keyStatus: string; createdAt: string }[]>('keys', 'list', '--store', storeId);
    expect(keys).toHaveLength(5);
    for (const [usage, expected] of Object.entries(usages)) {
      expect(keys.find((k) => k.externalKeyId === ids[usage])).toMatchObject({ storeId, keyUsage: expected, keyStatus: 'ENABLED' });
    }
    expect(keys.find((k) => k.externalKeyId === byDefault)!.keyUsage).toEqual(['ENCRYPT', 'DECRYPT']);
    expect(new Date(keys[0]!.createdAt).toISOString()).toBe(keys[0]!.createdAt);
    const id = ids.encrypt!;
    expect(await ok('keys', 'disable', '--store', storeId, id)).toEqual({ externalKeyId: id, keyStatus: 'DISABLED' });
    const status = async () => (await ok<{ externalKeyId: string; keyStatus: string }[]>('keys', 'list', '--store', storeId)).find((k) => k.externalKeyId === id)!.keyStatus;
    expect(await status()).toBe('DISABLED');
    expect(await ok('keys', 'enable', '--store', storeId, id)).toEqual({ externalKeyId: id, keyStatus: 'ENABLED' });
    expect(await status()).toBe('ENABLED');
    const text = await xks('keys', 'list', '--store', storeId);
    expect(text.stdout).toMatch(new RegExp(`^${ids.none!}\\s+ENABLED\\s+none\\s`, 'm'));
    expect(await ok('keys', 'delete', '--store', storeId, id)).toEqual({ deleted: id });
    expect(await fails('keys', 'delete', '--store', storeId, id)).toBe('NotFound');
    expect(await fails('keys', 'enable', '--store', storeId, 'no-such-key')).toBe('NotFound');
  });

  it('a store is not deleted while keys live in it, then is', async () => {
    expect(await fails('stores', 'delete', storeId)).toBe('InvalidState');
    for (const k of await ok<{ externalKeyId: string }[]>('keys', 'list', '--store', storeId)) await ok('keys', 'delete', '--store', storeId, k.externalKeyId);
    expect(await ok('stores', 'delete', storeId)).toEqual({ deleted: storeId });
    expect(await ok('stores', 'list')).toEqual([]);
  });

  it('an unknown store is NotFound everywhere', async () => {
    const none = 'no-such-store';
    expect(await fails('stores', 'delete', none)).toBe('NotFound');
    expect(await fails('credentials', 'create', '--store', none)).toBe('NotFound');
    expect(await fails('credentials', 'list', '--store', none)).toBe('NotFound');
    expect(await fails('credentials', 'delete', '--store', none, 'AAAAAAAAAAAAAAAAAAAA')).toBe('NotFound');
    expect(await fails('keys', 'create', '--store', none)).toBe('NotFound');
    expect(await fails('keys', 'list', '--store', none)).toBe('NotFound');
    expect(await fails('keys', 'disable', '--store', none, 'k')).toBe('NotFound');
    expect(await fails('keys', 'delete', '--store', none, 'k')).toBe('NotFound');
  });

  it('the admin routes need the admin token and check their bodies', async () => {
    const adminToken = fs.readFileSync(path.join(kura.dataDir, 'admin.token'), 'utf8').trim();
    const admin = (method: string, route: string, body?: unknown, token = true) =>
      fetch(`${kura.url}/admin/v1${route}`, {
        method,
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${adminToken}` } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    expect((await admin('GET', '/xks/stores', undefined, false)).status).toBe(403);
    expect((await admin('POST', '/xks/stores', { uriPathPrefix: 7 })).status).toBe(400);
    expect((await admin('POST', '/xks/stores', { uriPathPrefix: 'x', extra: true })).status).toBe(400);
    const made = (await (await admin('POST', '/xks/stores', { uriPathPrefix: 'routes' })).json()) as { storeId: string };
    for (const usage of [['SIGN'], ['ENCRYPT', 'ENCRYPT'], 'ENCRYPT']) {
      const r = await admin('POST', `/xks/stores/${made.storeId}/keys`, { usage });
      expect(r.status, JSON.stringify(usage)).toBe(400);
      expect(((await r.json()) as { error: string }).error).toBe('Validation');
    }
    expect((await admin('DELETE', `/xks/stores/${made.storeId}`)).status).toBe(200);
  });
});
