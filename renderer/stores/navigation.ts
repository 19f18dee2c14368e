// Where the console is: the route the URL's hash names, kept in step with `hashchange`, and a way to go
// elsewhere (which changes the hash, so the back button works), or a way to change the hash's query in
// place (`replace`: a filter typed on a screen, which a reload and a copied link keep without a history
// entry per key press). The page's globals are typed here (the repository's own type check, which the
// component tests go through, has no DOM types), and absent outside a browser.
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import { matchRoute } from '../routes.js';

interface PageGlobals {
  location?: { hash: string };
  history?: { state: unknown; replaceState(state: unknown, unused: string, url: string): void };
  addEventListener?(type: 'hashchange', listener: () => void): void;
}
const page = globalThis as PageGlobals;

export const useNavigationStore = defineStore('navigation', () => {
  const hash = ref(page.location?.hash || '#/');
  const route = computed(() => matchRoute(hash.value));
  let listening = false;

  function listen(): void {
    if (listening || !page.addEventListener) return;
    listening = true;
    page.addEventListener('hashchange', () => (hash.value = page.location?.hash || '#/'));
  }

  function go(target: string): void {
    if (page.location && page.location.hash !== target) page.location.hash = target;
    hash.value = target;
  }

  /** Changes the hash without a new history entry (and without `hashchange`, which replaceState does not fire). */
  function replace(target: string): void {
    if (page.location && page.history && page.location.hash !== target) page.history.replaceState(page.history.state, '', target);
    hash.value = target;
  }

  return { hash, route, listen, go, replace };
});
