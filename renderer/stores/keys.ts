// Keys: one page at a time from the appliance (keys.list with `after` and `limit`, filtered and searched
// there), so the list stays as fast at 100,000 keys as at 10; the pages already passed are remembered
// as their `after` cursors for going back. The filters and the page are also the hash's query
// (`#/keys?state=Enabled&search=db&after=ID,ID`: `pageQuery`, read back by `fromQuery` and `open`), so a
// reload, the back button and a copied link keep them. And one key's detail and the changes made on it (create,
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

/** What the keys list's hash query holds: the filters, and the cursors of the pages up to the one shown. */
export interface KeysQuery {
  filters: KeyFilters;
  /** `after` of each page after the first up to the current one (empty: the first page). */
  pages: string[];
}

/** A page's cursor is a key ID (keys.list's `after`); anything else in a hand-made link is left out. */
const CURSOR = /^[0-9a-f-]{36}$/;
/** The values a filter may take (keys.list's own patterns), so a hand-made link cannot send what the appliance refuses. */
const FILTER_VALUE = { state: /^[A-Za-z]{1,32}$/, origin: /^[A-Z_]{1,32}$/ } as const;

/** The keys list's filters and page as a hash query names them; what it does not name is empty. */
export function fromQuery(query: Record<string, string>): KeysQuery {
  const pick = (name: 'state' | 'origin') => (FILTER_VALUE[name].test(query[name] ?? '') ? query[name]! : '');
  return {
    filters: { search: (query.search ?? '').slice(0, 256), state: pick('state'), origin: pick('origin') },
    pages: (query.after ?? '').split(',').filter((c) => CURSOR.test(c)),
  };
}

/** The hash query of the keys list's filters and page (the inverse of fromQuery). */
export function toQuery(q: KeysQuery): Record<string, string> {
  return { search: q.filters.search, state: q.filters.state, origin: q.filters.origin, after: q.pages.join(',') };
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
  /** The filters of the latest page asked for, as sent: a filter set back to what was asked asks nothing more. */
  const asked = ref<string | null>(null);
  /** The filters of the page shown, as they were sent. */
  const shownFilters = ref<KeyFilters>({ search: '', state: '', origin: '' });
  const sentFilters = (f: KeyFilters) => JSON.stringify({ search: f.search.trim(), state: f.state, origin: f.origin });

  const firstIndex = computed(() => cursors.value.length * KEYS_PAGE + 1);

  async function fetchPage(after: string | undefined): Promise<boolean> {
    // A copy: the form's v-model changes the filters in place while the page loads.
    const f = { ...filters.value };
    // A newer request wins: a slow answer to an old filter never replaces a newer one.
    const mine = ++generation;
    asked.value = sentFilters(f);
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
    shownFilters.value = { search: f.search.trim(), state: f.state, origin: f.origin };
    current.value = after;
    return true;
  }

  /** The filters and page shown now, as the hash query keeps them (what was shown, not what is typed but not yet asked). */
  const shown = computed<KeysQuery>(() => ({
    filters: { ...shownFilters.value },
    pages: [...cursors.value, current.value].filter((c): c is string => typeof c === 'string'),
  }));

  /** Whether `f` is what the latest page was asked with. */
  const askedFor = (f: KeyFilters): boolean => asked.value === sentFilters(f);

  /** Opens the list on the filters and page a hash query names (the first page when its cursors are not all there). */
  async function open(q: KeysQuery): Promise<void> {
    filters.value = { ...q.filters };
    const at = q.pages.at(-1);
    if (await fetchPage(at)) cursors.value = at === undefined ? [] : [undefined, ...q.pages.slice(0, -1)];
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
    shown,
    askedFor,
    open,
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
