// @vitest-environment happy-dom
// The hash router's query string (renderer/routes.ts): `#/keys?state=Enabled&search=…` names the keys
// screen with its filters, decoded as a browser decodes a query (`+` a space, percent-encoding), a
// hand-typed query that is not valid percent-encoding breaks nothing; the keys list's filters and page go
// into the query and come back out (stores/keys.ts fromQuery/toQuery), values the appliance would refuse
// left out; and the keys list (views/KeysView.vue) opens on the list the query names, writes the list it
// shows into the query in place (no history entry), and follows a query changed under it (back, forward).
import { createPinia } from 'pinia';
import { afterEach, describe, expect, it } from 'vitest';
import type { KeyPageView } from '../../main/console/index.js';
import { formatQuery, link, matchRoute, parseQuery } from '../../renderer/routes.js';
import { fromQuery, toQuery } from '../../renderer/stores/keys.js';
import { useNavigationStore } from '../../renderer/stores/navigation.js';
import KeysView from '../../renderer/views/KeysView.vue';
import { keySummary } from './fixtures.js';
import { fakeClient, mountWith, settle, valueOf } from './support.js';

/** The page's globals these tests use (the repository's own type check has no DOM types). */
const { location, history } = globalThis as unknown as { location: { hash: string }; history: { length: number; replaceState(s: unknown, u: string, url: string): void } };
const idOf = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

describe('the hash query', () => {
  it('is parsed apart from the path, which alone names the screen', () => {
    expect(matchRoute('#/keys?state=Enabled&search=db+keys%2Fprod')).toEqual({
      name: 'keys',
      params: {},
      query: { state: 'Enabled', search: 'db keys/prod' },
      path: '/keys',
    });
    expect(matchRoute('#/keys/k-1?x=1')).toMatchObject({ name: 'key', params: { keyId: 'k-1' }, query: { x: '1' }, path: '/keys/k-1' });
    expect(matchRoute('#/keys').query).toEqual({});
    expect(matchRoute('#/keys?').query).toEqual({});
  });

  it('keeps the first of a repeated name, takes a bare name as empty, and drops what is not valid percent-encoding', () => {
    expect(parseQuery('?a=1&a=2&b&=3&c=%E0%A4%A&d=%25')).toEqual({ a: '1', b: '', d: '%' });
    expect(parseQuery('search=a%3Db%26c')).toEqual({ search: 'a=b&c' });
    // Names an object has of its own are only names.
    expect(Object.entries(parseQuery('__proto__=x&constructor=y'))).toEqual([
      ['__proto__', 'x'],
      ['constructor', 'y'],
    ]);
    expect(matchRoute('#/keys?search=%E0%A4%A').name).toBe('keys');
  });

  it('is written with its empty values left out, and reads back as written', () => {
    expect(formatQuery({ search: '', state: 'Enabled', origin: undefined })).toBe('?state=Enabled');
    expect(formatQuery({})).toBe('');
    const q = { search: 'a b&c=d/é#?', state: 'PendingImport' };
    expect(link.keys(q)).toBe('#/keys?search=a%20b%26c%3Dd%2F%C3%A9%23%3F&state=PendingImport');
    expect(matchRoute(link.keys(q)).query).toEqual(q);
    expect(link.keys()).toBe('#/keys');
  });

  it("holds the keys list's filters and page, and leaves out what keys.list would refuse", () => {
    const q = { filters: { search: 'db', state: 'Enabled', origin: 'EXTERNAL' }, pages: [idOf(49), idOf(99)] };
    expect(fromQuery(matchRoute(link.keys(toQuery(q))).query)).toEqual(q);
    expect(fromQuery({ state: 'En abled', origin: 'external', after: `${idOf(49)},not-a-key,` })).toEqual({
      filters: { search: '', state: '', origin: '' },
      pages: [idOf(49)],
    });
    expect(fromQuery({ search: 'x'.repeat(300) }).filters.search).toHaveLength(256);
  });
});

describe('the keys list in the hash query', () => {
  afterEach(() => {
    history.replaceState(null, '', '#/');
  });

  function appliance() {
    return fakeClient({
      'keys.list': (input): KeyPageView => {
        const start = input.after ? Number(input.after.slice(-12)) + 1 : 0;
        const keys = Array.from({ length: 50 }, (_, i) => keySummary({ keyId: idOf(start + i), state: (input.state as 'Enabled') ?? 'Enabled' }));
        return { accountId: '111122223333', region: 'us-east-1', keys, next: idOf(start + 49), total: 1000 };
      },
    });
  }

  it('opens on the filters and page the query names, once', async () => {
    history.replaceState(null, '', `#/keys?search=db&state=Disabled&origin=EXTERNAL&after=${idOf(49)},${idOf(99)}`);
    const client = appliance();
    const w = mountWith(KeysView, client);
    await settle(w);
    expect(client.inputsOf('keys.list')).toEqual([{ limit: 50, after: idOf(99), search: 'db', state: 'Disabled', origin: 'EXTERNAL' }]);
    expect(valueOf(w.get('[data-testid="keys-search"]'))).toBe('db');
    expect(valueOf(w.get('[data-testid="keys-state"]'))).toBe('Disabled');
    expect(valueOf(w.get('[data-testid="keys-origin"]'))).toBe('EXTERNAL');
    expect(w.get('[data-testid="keys-range"]').text()).toContain('101–150');
    // The page before is the one the query names, not the first.
    await w.get('[data-testid="keys-prev"]').trigger('click');
    await settle(w);
    expect(client.inputsOf('keys.list').at(-1)).toEqual({ limit: 50, after: idOf(49), search: 'db', state: 'Disabled', origin: 'EXTERNAL' });
    expect(location.hash).toBe(`#/keys?search=db&state=Disabled&origin=EXTERNAL&after=${idOf(49)}`);
    w.unmount();
  });

  it('writes the list it shows into the query in place, and follows a query changed under it', async () => {
    history.replaceState(null, '', '#/keys');
    const entries = history.length;
    const client = appliance();
    const pinia = createPinia();
    const w = mountWith(KeysView, client, {}, pinia);
    useNavigationStore(pinia).listen();
    await settle(w);
    await w.get('[data-testid="keys-state"]').setValue('Enabled');
    await settle(w);
    expect(location.hash).toBe('#/keys?state=Enabled');
    await w.get('[data-testid="keys-next"]').trigger('click');
    await settle(w);
    expect(location.hash).toBe(`#/keys?state=Enabled&after=${idOf(49)}`);
    expect(history.length).toBe(entries);

    // Back or forward to another list of the same screen: the screen shows it.
    location.hash = '#/keys?origin=AWS_KMS';
    await expect.poll(() => valueOf(w.get('[data-testid="keys-origin"]'))).toBe('AWS_KMS');
    await settle(w);
    expect(client.inputsOf('keys.list').at(-1)).toEqual({ limit: 50, origin: 'AWS_KMS' });
    expect(valueOf(w.get('[data-testid="keys-state"]'))).toBe('');
    expect(valueOf(w.get('[data-testid="keys-origin"]'))).toBe('AWS_KMS');
    w.unmount();
  });
});
