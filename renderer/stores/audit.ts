// The audit log: pages of entries (audit.list, newest first, `before` a sequence number), filters, the
// chain's verification (audit.verify) and an export of what is loaded as a JSON file.
import { defineStore } from 'pinia';
import { ref } from 'vue';
import type { AuditEntryView, AuditVerificationView } from '../../main/console/index.js';
import { useClient } from '../client/index.js';
import { useTask } from './task.js';

export interface AuditFilters {
  operation: string;
  principal: string;
  keyId: string;
  outcome: '' | 'ok' | 'error';
}

export const AUDIT_PAGE = 100;

export const useAuditStore = defineStore('audit', () => {
  const client = useClient();
  const entries = ref<AuditEntryView[]>([]);
  const next = ref<number | null>(null);
  const filters = ref<AuditFilters>({ operation: '', principal: '', keyId: '', outcome: '' });
  const verification = ref<AuditVerificationView | null>(null);
  const listTask = useTask();
  const verifyTask = useTask();

  function query(before?: number) {
    const f = filters.value;
    return {
      limit: AUDIT_PAGE,
      ...(before !== undefined ? { before } : {}),
      ...(f.operation.trim() ? { operation: f.operation.trim() } : {}),
      ...(f.principal.trim() ? { principal: f.principal.trim() } : {}),
      ...(f.keyId.trim() ? { keyId: f.keyId.trim() } : {}),
      ...(f.outcome ? { outcome: f.outcome } : {}),
    };
  }

  async function load(): Promise<void> {
    const page = await listTask.run(() => client.run('audit.list', query()));
    if (page) {
      entries.value = page.entries;
      next.value = page.next;
    }
  }

  async function loadMore(): Promise<void> {
    if (next.value === null) return;
    const page = await listTask.run(() => client.run('audit.list', query(next.value!)));
    if (page) {
      entries.value = [...entries.value, ...page.entries];
      next.value = page.next;
    }
  }

  async function verify(): Promise<void> {
    const v = await verifyTask.run(() => client.run('audit.verify', {}));
    if (v) verification.value = v;
  }

  return { entries, next, filters, verification, busy: listTask.busy, error: listTask.error, verifyBusy: verifyTask.busy, verifyError: verifyTask.error, load, loadMore, verify };
});
