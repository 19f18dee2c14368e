// @vitest-environment happy-dom
// The console's HTTP transport (renderer/client/http.ts) against a fake fetch: each command is one POST to
// /admin/v1/commands/<name> with its input as the JSON body and the session's bearer token; the token
// comes from session.login's answer and goes with session.logout; a 202 (a gated change) is an answer;
// errors map to CommandError with the appliance's code and message, and answers Kura never sends
// (HTML, an empty body, a dropped connection) to the console's own codes — never raw JSON.
import { describe, expect, it } from 'vitest';
import { createHttpClient, memoryTokenKeeper } from '../../renderer/client/http.js';
import { CLIENT_ERROR, CommandError } from '../../renderer/client/types.js';

interface Seen {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: unknown;
}

function fakeFetch(answer: (seen: Seen) => Response | Promise<Response>) {
  const seen: Seen[] = [];
  const f = (async (url: string, init: { method: string; headers: Record<string, string>; body: string }) => {
    const s = { url, method: init.method, headers: init.headers, body: JSON.parse(init.body) as unknown };
    seen.push(s);
    return answer(s);
  }) as unknown as typeof fetch;
  return { f, seen };
}

const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

async function failure(p: Promise<unknown>): Promise<CommandError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(CommandError);
  return e as CommandError;
}

describe('the HTTP transport', () => {
  it('signs in without a token, keeps the token it is given, sends it with every command, and drops it on sign-out', async () => {
    const tokens = memoryTokenKeeper();
    const { f, seen } = fakeFetch((s) => {
      if (s.url.endsWith('/session.login')) return json(200, { token: 'tok-123', operator: 'alice', expiresAt: '2030-01-01T00:00:00.000Z' });
      if (s.url.endsWith('/session.logout')) return json(200, { signedOut: true });
      return json(200, { approvals: [] });
    });
    const client = createHttpClient({ baseUrl: 'http://127.0.0.1:7420/admin/v1/', tokens, fetch: f });
    expect(client.hasSession()).toBe(false);
    const s = await client.run('session.login', { operator: 'alice', passphrase: 'twelve characters' });
    expect(s.operator).toBe('alice');
    expect(tokens.get()).toBe('tok-123');
    expect(client.hasSession()).toBe(true);
    await client.run('approvals.list', {});
    await client.run('session.logout', {});
    expect(tokens.get()).toBeNull();
    expect(seen.map((x) => [x.method, x.url, x.headers.authorization])).toEqual([
      ['POST', 'http://127.0.0.1:7420/admin/v1/commands/session.login', undefined],
      ['POST', 'http://127.0.0.1:7420/admin/v1/commands/approvals.list', 'Bearer tok-123'],
      ['POST', 'http://127.0.0.1:7420/admin/v1/commands/session.logout', 'Bearer tok-123'],
    ]);
    expect(seen[0]!.body).toEqual({ operator: 'alice', passphrase: 'twelve characters' });
    expect(seen[0]!.headers['content-type']).toBe('application/json');
  });

  it('answers a 202 (a change that became an approval request) as the value it is', async () => {
    const request = { id: 'apr-0123456789abcdef01234567', status: 'PENDING' };
    const { f } = fakeFetch(() => json(202, { applied: false, approvalRequest: request }));
    const out = await createHttpClient({ fetch: f }).run('keys.scheduleDeletion', { keyId: 'k', pendingWindowInDays: 7 });
    expect(out).toEqual({ applied: false, approvalRequest: request });
  });

  it('maps an error answer to its code, message and status', async () => {
    const { f } = fakeFetch(() => json(409, { error: 'InvalidState', message: 'Approval request apr-… is EXECUTED: it takes no more approvals.' }));
    const e = await failure(createHttpClient({ fetch: f }).run('approvals.submit', { id: 'apr-0123456789abcdef01234567', signature: 'AAAA' }));
    expect([e.code, e.message, e.status]).toEqual(['InvalidState', 'Approval request apr-… is EXECUTED: it takes no more approvals.', 409]);
  });

  it('gives an error without a message a sentence naming the command and status', async () => {
    const { f } = fakeFetch(() => json(403, { error: 'AccessDenied' }));
    const e = await failure(createHttpClient({ fetch: f }).run('operators.list', {}));
    expect([e.code, e.message]).toEqual(['AccessDenied', 'operators.list failed (HTTP 403).']);
  });

  it('names an answer that is not Kura\'s (HTML from a proxy, an empty body, JSON without a code) BadAnswer, without echoing it', async () => {
    for (const res of [
      new Response('<html><body>Bad Gateway</body></html>', { status: 502, headers: { 'content-type': 'text/html' } }),
      new Response('', { status: 500 }),
      json(500, { oops: { nested: true } }),
    ]) {
      const { f } = fakeFetch(() => res);
      const e = await failure(createHttpClient({ fetch: f }).run('status', {}));
      expect(e.code).toBe(CLIENT_ERROR.badAnswer);
      expect(e.message).toBe(`status failed with HTTP ${res.status}, and the answer was not an error Kura sends.`);
      expect(e.message).not.toMatch(/html|oops|nested/i);
    }
    const { f } = fakeFetch(() => new Response('not json', { status: 200 }));
    expect((await failure(createHttpClient({ fetch: f }).run('status', {}))).code).toBe(CLIENT_ERROR.badAnswer);
  });

  it('names a request that got no answer Unreachable', async () => {
    const f = (async () => {
      throw new TypeError('Failed to fetch');
    }) as unknown as typeof fetch;
    const e = await failure(createHttpClient({ fetch: f }).run('dashboard', {}));
    expect([e.code, e.status]).toEqual([CLIENT_ERROR.unreachable, 0]);
    expect(e.message).toMatch(/did not answer dashboard/);
  });

  it('refuses a sign-in answer without a token, and keeps none', async () => {
    const tokens = memoryTokenKeeper();
    const { f } = fakeFetch(() => json(200, { operator: 'alice', expiresAt: 'x' }));
    const e = await failure(createHttpClient({ fetch: f, tokens }).run('session.login', { operator: 'alice', passphrase: 'p' }));
    expect(e.code).toBe(CLIENT_ERROR.badAnswer);
    expect(tokens.get()).toBeNull();
  });
});
