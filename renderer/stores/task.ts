// One way to run a call from a store and keep its state for the view: `busy` while it runs, `error`
// when it failed (shown by ErrorNotice with its code and message), and the value or undefined.

import { ref, type Ref } from 'vue';

export interface Task {
  busy: Ref<boolean>;
  error: Ref<unknown>;
  run<T>(fn: () => Promise<T>): Promise<T | undefined>;
  clear(): void;
}

export function useTask(): Task {
  const busy = ref(false);
  const error = ref<unknown>(null);
  async function run<T>(fn: () => Promise<T>): Promise<T | undefined> {
    busy.value = true;
    error.value = null;
    try {
      return await fn();
    } catch (e) {
      error.value = e;
      return undefined;
    } finally {
      busy.value = false;
    }
  }
  return { busy, error, run, clear: () => (error.value = null) };
}
