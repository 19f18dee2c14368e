// @vitest-environment happy-dom
// The keys list (renderer/views/KeysView.vue) pages on the appliance: 50 keys a call with `after` the
// previous page's last key, previous pages from remembered cursors, filters and search sent to the
// appliance and starting again at the first page, and an answer to an older filter never replacing a
// newer one. And the hash routes name the screens the console links to.
import { flushPromises } from '@vue/test-utils';
import { describe, expect, it, vi } from 'vitest';
import type { KeyPageView } from '../../main/console/index.js';
import { matchRoute, link } from '../../renderer/routes.js';
import KeysView from '../../renderer/views/KeysView.vue';
import { keySummary } from './fixtures.js';
import { fakeClient, mountWith, settle } from './support.js';

const TOTAL = 100_000;
const idOf = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

/** A fake appliance with 100,000 keys, paged as keys.list pages them. */
function manyKeys(delay?: (input: { search?: string }) => Promise<void>) {
  return fakeClient({
    'keys.list': async (input): Promise<KeyPageView> => {
      await delay?.(input);
      const start = input.after ? Number(input.after.slice(-12)) + 1 : 0;
      const limit = input.limit ?? 50;
      const keys = Array.from({ length: Math.min(limit, TOTAL - start) }, (_, i) => keySummary({ keyId: idOf(start + i), state: 'Enabled', origin: 'AWS_KMS', description: input.search ?? '' }));
      return { accountId: '111122223333', region: 'us-east-1', keys, next: start + limit < TOTAL ? idOf(start + limit - 1) : null, total: input.search ? 1 : TOTAL };
    },
  });
}

describe('the keys list', () => {
  it('asks for one page of 50 at a time and walks forward and back by cursors', async () => {
    const client = manyKeys();
    const w = mountWith(KeysView, client);
    await settle(w);
    expect(w.findAll('[data-testid="keys-table"] tbody tr').length).toBe(50);
    expect(w.get('[data-testid="keys-range"]').text()).toContain(`1–50 of ${(100_000).toLocaleString()} keys`);
    expect(w.get('[data-testid="keys-prev"]').attributes('disabled')).toBeDefined();
    await w.get('[data-testid="keys-next"]').trigger('click');
    await settle(w);
    await w.get('[data-testid="keys-next"]').trigger('click');
    await settle(w);
    expect(w.get('[data-testid="keys-range"]').text()).toContain('101–150');
    expect(w.find('[data-testid="keys-table"] tbody tr code').text()).toBe(idOf(100));
    await w.get('[data-testid="keys-prev"]').trigger('click');
    await settle(w);
    expect(w.get('[data-testid="keys-range"]').text()).toContain('51–100');
    expect(client.inputsOf('keys.list')).toEqual([{ limit: 50 }, { limit: 50, after: idOf(49) }, { limit: 50, after: idOf(99) }, { limit: 50, after: idOf(49) }]);
    w.unmount();
  });

  it('sends filters and search to the appliance, from the first page, and ignores an answer to an older search', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      let release: (() => void) | undefined;
      const client = manyKeys(async (input) => {
        // The first search answers late, after the second.
        if (input.search === 'old') await new Promise<void>((r) => (release = r));
      });
      const w = mountWith(KeysView, client);
      await flushPromises();
      await w.get('[data-testid="keys-next"]').trigger('click');
      await flushPromises();
      await w.get('[data-testid="keys-state"]').setValue('Disabled');
      await flushPromises();
      expect(client.inputsOf('keys.list').at(-1)).toEqual({ limit: 50, state: 'Disabled' });
      await w.get('[data-testid="keys-origin"]').setValue('EXTERNAL');
      await flushPromises();
      expect(client.inputsOf('keys.list').at(-1)).toEqual({ limit: 50, state: 'Disabled', origin: 'EXTERNAL' });

      await w.get('[data-testid="keys-search"]').setValue('old');
      await vi.advanceTimersByTimeAsync(300);
      await w.get('[data-testid="keys-search"]').setValue('new');
      await vi.advanceTimersByTimeAsync(300);
      await flushPromises();
      release!();
      await flushPromises();
      expect(client.inputsOf('keys.list').map((i) => i.search).filter(Boolean)).toEqual(['old', 'new']);
      expect(w.find('[data-testid="keys-table"] tbody tr').text()).toContain('new');
      expect(w.get('[data-testid="keys-range"]').text()).toContain('1–50 of 1 keys');
      w.unmount();
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('the console routes', () => {
  it('match the links the console makes, and name anything else notFound', () => {
    expect(matchRoute(link.key('alias/a b'))).toMatchObject({ name: 'key', params: { keyId: 'alias/a b' }, query: {} });
    expect(matchRoute(link.byok('k-1'))).toMatchObject({ name: 'byok', params: { keyId: 'k-1' } });
    // A hand-typed hash that is not valid percent-encoding names no screen (and throws nothing).
    expect(matchRoute('#/keys/%E0%A4%A')).toMatchObject({ name: 'notFound', params: { path: '/keys/%E0%A4%A' } });
    expect(matchRoute(link.approval('apr-0123456789abcdef01234567'))).toMatchObject({ name: 'approval', params: { id: 'apr-0123456789abcdef01234567' } });
    expect(matchRoute(link.transcript('apr-0123456789abcdef01234567')).name).toBe('transcript');
    expect(matchRoute(link.deletion()).name).toBe('deletion');
    expect(matchRoute(link.keyStore())).toEqual({ name: 'keystore', params: {}, query: {}, path: '/ceremonies/key-store' });
    expect(matchRoute('').name).toBe('dashboard');
    expect(matchRoute('#/nothing/here')).toMatchObject({ name: 'notFound', params: { path: '/nothing/here' } });
  });
});
