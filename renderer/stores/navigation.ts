// Where the console is: the route the URL's hash names, kept in step with `hashchange`, and a way to go
// elsewhere (which changes the hash, so the back button works).
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import { matchRoute } from '../routes.js';

export const useNavigationStore = defineStore('navigation', () => {
  const hash = ref(typeof location === 'undefined' ? '#/' : location.hash || '#/');
  const route = computed(() => matchRoute(hash.value));
  let listening = false;

  function listen(): void {
    if (listening || typeof window === 'undefined') return;
    listening = true;
    window.addEventListener('hashchange', () => (hash.value = location.hash || '#/'));
  }

  function go(target: string): void {
    if (typeof location !== 'undefined' && location.hash !== target) location.hash = target;
    hash.value = target;
  }

  return { hash, route, listen, go };
});
