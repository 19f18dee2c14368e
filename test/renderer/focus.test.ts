// @vitest-environment happy-dom
// Keyboard and focus in the console's frame (renderer/App.vue) against a fake appliance: the first screen
// the page opens on leaves focus alone, so that the "Skip to content" link — the first thing Tab reaches —
// comes first; every later screen (a new route, signing in or out) moves focus to its <h1>
// (tabindex="-1"); the skip link moves focus to the screen's heading without changing the URL (a hash
// link would be a route); and the navigation reaches the key store ceremony.
import type { VueWrapper } from '@vue/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import App from '../../renderer/App.vue';
import { useNetworkStore } from '../../renderer/stores/network.js';
import { approval } from './fixtures.js';
import { doc, fakeClient, mountWith, refuse, settle, type FakeClient } from './support.js';

const loc = () => (globalThis as unknown as { location: { hash: string } }).location;

function appliance(signedIn: boolean): FakeClient {
  return fakeClient({
    'session.show': () => (signedIn ? { operator: 'alice', expiresAt: '2030-01-01T00:00:00.000Z', endsInMs: 8 * 3600_000 } : refuse('AccessDenied', 'The session has ended.', 403)),
    'session.login': ({ operator }) => ({ token: 't', operator, expiresAt: '2030-01-01T00:00:00.000Z' }),
    'session.logout': () => ({ signedOut: true }),
    'network.status': () => ({ offline: true, interfaces: [] }),
    dashboard: () => refuse('Sealed', 'Kura is sealed.', 503),
    'devices.list': () => [],
    'approvals.list': () => ({ approvals: [] }),
    'approvals.show': () => approval(),
  });
}

/** The focused element: its tag, id and whether it can take focus only from script. */
const focused = () => {
  const el = doc().activeElement;
  return el ? { tag: el.tagName, id: el.id, tabindex: el.getAttribute('tabindex') } : null;
};

async function go(w: VueWrapper, hash: string): Promise<void> {
  loc().hash = hash;
  await vi.waitFor(() => expect(w.find('main').exists() && doc().querySelector('#main-content') !== null).toBe(true));
  await settle(w);
}

let mounted: VueWrapper | null = null;
beforeEach(() => {
  loc().hash = '#/';
});
afterEach(() => {
  useNetworkStore().halt();
  mounted?.unmount();
  mounted = null;
});

describe('focus in the console', () => {
  it('leaves the first screen alone, then moves focus to each new screen\'s h1', async () => {
    const w = (mounted = mountWith(App, appliance(true)));
    await settle(w);
    expect(w.get('h1').text()).toBe('Dashboard');
    expect(focused()?.tag).not.toBe('H1');

    // The navigation's link to the key store ceremony, and the route it names.
    const nav = w.get('[data-testid="nav-keystore"]');
    expect(nav.attributes('href')).toBe('#/ceremonies/key-store');
    expect(nav.text()).toBe('Key store ceremony');
    await go(w, '#/ceremonies/key-store');
    await vi.waitFor(() => expect(focused()).toEqual({ tag: 'H1', id: 'keystore-title', tabindex: '-1' }));
    expect(w.get('[data-testid="nav-keystore"]').attributes('aria-current')).toBe('page');
    expect(w.get('[aria-current="step"]').attributes('data-testid')).toBe('step-action');

    await go(w, '#/approvals');
    await vi.waitFor(() => expect(focused()).toEqual({ tag: 'H1', id: 'approvals-title', tabindex: '-1' }));
    await go(w, `#/approvals/${approval().id}`);
    await vi.waitFor(() => expect(focused()).toEqual({ tag: 'H1', id: 'approvals-title', tabindex: '-1' }));
    await go(w, '#/no/such/screen');
    await vi.waitFor(() => expect(focused()).toEqual({ tag: 'H1', id: 'nf-title', tabindex: '-1' }));
  });

  it('puts "Skip to content" first; it moves focus to the screen\'s heading and leaves the route as it was', async () => {
    const w = (mounted = mountWith(App, appliance(true)));
    await settle(w);
    await go(w, '#/ceremonies/key-store');
    // Focus is elsewhere (a control in the navigation), as after a click.
    (w.get('[data-testid="nav-dashboard"]').element as unknown as { focus(): void }).focus();
    expect(focused()?.tag).toBe('A');

    const focusable = [...doc().querySelectorAll('a[href], button, input, select, textarea, summary, [tabindex]:not([tabindex="-1"])')];
    expect(focusable[0]?.getAttribute('data-testid')).toBe('skip-link');
    expect(focusable[0]?.textContent).toBe('Skip to content');

    await w.get('[data-testid="skip-link"]').trigger('click');
    await settle(w);
    expect(focused()).toEqual({ tag: 'H1', id: 'keystore-title', tabindex: '-1' });
    expect(loc().hash).toBe('#/ceremonies/key-store');
    expect(w.get('h1').text()).toBe('Key store ceremony');
  });

  it('moves focus to the dashboard\'s h1 on signing in, and to the sign-in form\'s on signing out', async () => {
    const w = (mounted = mountWith(App, appliance(false)));
    await settle(w);
    expect(w.get('h1').text()).toBe('Sign in to Kura');
    expect(focused()?.tag).not.toBe('H1');
    // The skip link works on the sign-in screen as well.
    await w.get('[data-testid="skip-link"]').trigger('click');
    expect(focused()).toEqual({ tag: 'H1', id: 'signin-title', tabindex: '-1' });

    await w.get('[data-testid="signin-operator"]').setValue('alice');
    await w.get('[data-testid="signin-passphrase"]').setValue('a console passphrase');
    await w.get('form').trigger('submit');
    await settle(w);
    await vi.waitFor(() => expect(focused()).toEqual({ tag: 'H1', id: 'dash-title', tabindex: '-1' }));

    await w.get('[data-testid="signout"]').trigger('click');
    await settle(w);
    await vi.waitFor(() => expect(focused()).toEqual({ tag: 'H1', id: 'signin-title', tabindex: '-1' }));
  });
});
