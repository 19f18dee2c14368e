// Keys: one page at a time from the appliance (keys.list with `after` and `limit`, filtered and searched
// there), so the list stays as fast at 100,000 keys as at 10; the pages already passed are remembered
// as their `after` cursors for going back. And one key's detail and the changes made on it (create,
// enable, disable, schedule and cancel deletion) — a deletion a quorum gates answers with its request.
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { ApprovalView, KeyDetailView, KeyPageView } from '../../main/console/index.js';
import { useClient } from '../client/index.js';
import { useTask } from './task.js';

export const KEYS_PAGE = 50;

export interface KeyFilters {
  search: string;
  state: string;
  origin: string;
}

export interface NewKey {
  description: string;
  keySpec: string;
  keyUsage: string;
  origin: 'AWS_KMS' | 'EXTERNAL';
}

export const useKeysStore = defineStore('keys', () => {
  const client = useClient();
  const page = ref<KeyPageView | null>(null);
  const filters = ref<KeyFilters>({ search: '', state: '', origin: '' });
  /** `after` of each page before the current one (the first page's is undefined). */
  const cursors = ref<(string | undefined)[]>([]);
  const current = ref<string | undefined>(undefined);
  const detail = ref<KeyDetailView | null>(null);
  /** The approval request the last gated change became. */
  const gated = ref<ApprovalView | null>(null);
  const listTask = useTask();
  const detailTask = useTask();
  const changeTask = useTask();
  let generation = 0;

  const firstIndex = computed(() => cursors.value.length * KEYS_PAGE + 1);

  async function fetchPage(after: string | undefined): Promise<boolean> {
    const f = filters.value;
    // A newer request wins: a slow answer to an old filter never replaces a newer one.
    const mine = ++generation;
    const out = await listTask.run(() =>
      client.run('keys.list', {
        limit: KEYS_PAGE,
        ...(after ? { after } : {}),
        ...(f.search.trim() ? { search: f.search.trim() } : {}),
        ...(f.state ? { state: f.state } : {}),
        ...(f.origin ? { origin: f.origin } : {}),
      }),
    );
    if (!out || mine !== generation) return false;
    page.value = out;
    current.value = after;
    return true;
  }

  async function first(): Promise<void> {
    cursors.value = [];
    await fetchPage(undefined);
  }

  async function next(): Promise<void> {
    const after = page.value?.next;
    if (!after) return;
    const before = current.value;
    if (await fetchPage(after)) cursors.value = [...cursors.value, before];
  }

  async function previous(): Promise<void> {
    if (cursors.value.length === 0) return;
    const back = cursors.value[cursors.value.length - 1];
    if (await fetchPage(back)) cursors.value = cursors.value.slice(0, -1);
  }

  async function show(keyId: string): Promise<void> {
    const d = await detailTask.run(() => client.run('keys.show', { keyId }));
    if (d) detail.value = d;
  }

  async function create(k: NewKey): Promise<string | undefined> {
    const made = await changeTask.run(() =>
      client.run('keys.create', {
        origin: k.origin,
        ...(k.description.trim() ? { description: k.description.trim() } : {}),
        ...(k.keySpec ? { keySpec: k.keySpec } : {}),
        ...(k.keyUsage ? { keyUsage: k.keyUsage } : {}),
      }),
    );
    return made?.KeyId;
  }

  async function setEnabled(keyId: string, enabled: boolean): Promise<void> {
    gated.value = null;
    const out = await changeTask.run(() => client.run(enabled ? 'keys.enable' : 'keys.disable', { keyId }));
    if (out) await show(keyId);
  }

  async function scheduleDeletion(keyId: string, pendingWindowInDays: number): Promise<void> {
    gated.value = null;
    const out = await changeTask.run(() => client.run('keys.scheduleDeletion', { keyId, pendingWindowInDays }));
    if (!out) return;
    if (!out.applied) gated.value = out.approvalRequest;
    await show(keyId);
  }

  async function cancelDeletion(keyId: string): Promise<void> {
    gated.value = null;
    if (await changeTask.run(() => client.run('keys.cancelDeletion', { keyId }))) await show(keyId);
  }

  return {
    page,
    filters,
    cursors,
    firstIndex,
    detail,
    gated,
    listBusy: listTask.busy,
    listError: listTask.error,
    detailError: detailTask.error,
    changeBusy: changeTask.busy,
    changeError: changeTask.error,
    first,
    next,
    previous,
    show,
    create,
    setEnabled,
    scheduleDeletion,
    cancelDeletion,
  };
});
