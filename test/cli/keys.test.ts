// `kura keys list` follows every page of POST /admin/v1/commands/keys.list (a page holds up to 1000
// keys, more than an integration test makes): the appliance here is a stand-in that serves five keys
// two a page, and records what it was asked.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../main/cli/main.js';

const KEYS = [1, 2, 3, 4, 5].map((n) => ({
  keyId: `0000000${n}-0000-4000-8000-000000000000`,
  arn: `arn:aws:kms:us-east-1:111122223333:key/0000000${n}-0000-4000-8000-000000000000`,
  state: 'Enabled',
  origin: 'AWS_KMS',
  keySpec: 'SYMMETRIC_DEFAULT',
  keyUsage: 'ENCRYPT_DECRYPT',
  description: `key ${n}`,
  createdAt: '2026-01-01T00:00:00.000Z',
}));
const PAGE = 2;

describe('kura keys list', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    vi.restoreAllMocks();
    for (const c of cleanups.splice(0)) c();
  });

  async function standIn(): Promise<{ endpoint: string; asked: { auth: string | undefined; url: string; body: Record<string, unknown> }[] }> {
    const asked: { auth: string | undefined; url: string; body: Record<string, unknown> }[] = [];
    const server = http.createServer((req, res) => {
      let text = '';
      req.on('data', (d: Buffer) => (text += d.toString()));
      req.on('end', () => {
        const body = JSON.parse(text || '{}') as { after?: string; limit?: number };
        asked.push({ auth: req.headers.authorization, url: req.url ?? '', body });
        const from = body.after === undefined ? 0 : KEYS.findIndex((k) => k.keyId === body.after) + 1;
        const size = Math.min(PAGE, body.limit ?? 50);
        const keys = KEYS.slice(from, from + size);
        const next = from + size < KEYS.length ? keys[keys.length - 1]!.keyId : null;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ accountId: '111122223333', region: 'us-east-1', total: KEYS.length, next, keys }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => server.close());
    const prev = process.env.KURA_ADMIN_TOKEN;
    process.env.KURA_ADMIN_TOKEN = 'stand-in-token';
    cleanups.push(() => (prev === undefined ? delete process.env.KURA_ADMIN_TOKEN : (process.env.KURA_ADMIN_TOKEN = prev)));
    return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, asked };
  }

  function output(): { out: string[]; err: string[] } {
    const out: string[] = [];
    const err: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => (out.push(String(s)), true));
    vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => (err.push(String(s)), true));
    return { out, err };
  }

  it('follows `after` to the last page, with the filters on every page', async () => {
    const { endpoint, asked } = await standIn();
    const { out, err } = output();
    expect(await main(['keys', 'list', '--endpoint', endpoint, '--state', 'Enabled', '--search', 'key', '--json']), err.join('')).toBe(0);
    expect(asked.map((a) => a.body.after)).toEqual([undefined, KEYS[1]!.keyId, KEYS[3]!.keyId]);
    for (const a of asked) {
      expect(a).toMatchObject({ auth: 'Bearer stand-in-token', url: '/admin/v1/commands/keys.list', body: { state: 'Enabled', search: 'key' } });
    }
    const listed = JSON.parse(out.join('')) as { total: number; next: string | null; keys: { keyId: string }[] };
    expect(listed.keys.map((k) => k.keyId)).toEqual(KEYS.map((k) => k.keyId));
    expect(listed).toMatchObject({ total: 5, next: null });
  });

  it('--limit N asks for one page of N', async () => {
    const { endpoint, asked } = await standIn();
    const { out, err } = output();
    expect(await main(['keys', 'list', '--endpoint', endpoint, '--limit', '2']), err.join('')).toBe(0);
    expect(asked).toHaveLength(1);
    expect(asked[0]!.body).toEqual({ limit: 2 });
    const lines = out.join('').trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(new RegExp(`^${KEYS[0]!.keyId} +Enabled +AWS_KMS +SYMMETRIC_DEFAULT +ENCRYPT_DECRYPT +2026-01-01T00:00:00.000Z +key 1$`));
    expect(lines[2]).toBe(`(2 of 5; more after ${KEYS[1]!.keyId})`);
  });
});
