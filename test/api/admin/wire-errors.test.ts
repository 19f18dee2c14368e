// The admin API's error messages as a person reads them (main/api/admin/errors.ts), over real HTTP to a
// real `kura serve --dev`: a message that quotes the request (a key ID, an action class, a principal
// ARN, a path, a module path) shows its control characters and bidirectional overrides escaped, never
// raw — the CLI prints it to a terminal, where ESC [ rewrites the screen and CR LF forges a line — and is
// at most MAX_MESSAGE characters, however long the quoted value. The admin fuzzer found each
// (test/fuzz/admin-routes.test.ts).
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_MESSAGE, readableMessage } from '../../../main/api/admin/errors.js';
import { startKura, type KuraProcess } from '../../support/kura-process.js';

let kura: KuraProcess;
let token = '';

beforeAll(async () => {
  kura = await startKura();
  token = fs.readFileSync(path.join(kura.dataDir, 'admin.token'), 'utf8').trim();
}, 30_000);

afterAll(async () => {
  await kura?.stop();
  if (kura) fs.rmSync(kura.dataDir, { recursive: true, force: true });
});

async function call(method: string, p: string, body?: unknown): Promise<{ status: number; error: string; message: string }> {
  const res = await fetch(`${kura.url}/admin/v1${p}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = (await res.json()) as { error: string; message: string };
  return { status: res.status, ...json };
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e]/;

describe('error messages that quote the request', () => {
  it('show a key ID\'s escape sequence and NUL escaped (the KMS NotFound message quotes it)', async () => {
    const a = await call('POST', '/commands/keys.show', { keyId: '\u001b[2J\u0000x' });
    expect([a.status, a.error]).toEqual([404, 'NotFound']);
    expect(a.message).not.toMatch(CONTROL);
    expect(a.message).toContain('\\u001b[2J\\u0000x');
  });

  it('show an action class\'s and a principal ARN\'s CR LF and bidi override escaped', async () => {
    const policy = await call('POST', '/commands/quorum.set', { actionClass: 'x\r\nKura: all good', threshold: 1, operators: ['dev'] });
    expect([policy.status, policy.error]).toEqual([400, 'Validation']);
    expect(policy.message).not.toMatch(CONTROL);
    expect(policy.message).toContain('x\\u000d\\u000aKura: all good');
    const credential = await call('POST', '/credentials', { accountId: '111122223333', principalArn: 'arn\u202eevil' });
    expect([credential.status, credential.error]).toEqual([400, 'Validation']);
    expect(credential.message).not.toMatch(CONTROL);
    expect(credential.message).toContain('arn\\u202eevil');
  });

  it('are at most MAX_MESSAGE characters, whatever length of path, key ID or module path they quote', async () => {
    const answers = [
      await call('GET', `/no-such-route/${'x'.repeat(4000)}`),
      await call('POST', '/commands/keys.show', { keyId: 'k'.repeat(2048) }),
      await call('POST', '/hsms', { modulePath: `/${'m'.repeat(4000)}.so`, tokenLabel: 'fuzz' }),
    ];
    expect(answers.map((a) => a.status)).toEqual([404, 404, 400]);
    for (const a of answers) {
      expect(a.message.length).toBeLessThanOrEqual(MAX_MESSAGE);
      expect(a.message.endsWith('…')).toBe(true);
    }
  });
});

describe('readableMessage', () => {
  it('keeps readable text, escapes lone surrogates and never cuts a character in two', () => {
    expect(readableMessage('Signing in: "operator" is an operator name.')).toBe('Signing in: "operator" is an operator name.');
    expect(readableMessage('a\ud800b\udc00c \u{1F600}')).toBe('a\\ud800b\\udc00c \u{1F600}');
    const cut = readableMessage(`${'a'.repeat(MAX_MESSAGE - 2)}\u{1F600}${'b'.repeat(10)}`);
    expect(cut).toBe(`${'a'.repeat(MAX_MESSAGE - 2)}…`);
    expect(cut.length).toBeLessThanOrEqual(MAX_MESSAGE);
  });
});
