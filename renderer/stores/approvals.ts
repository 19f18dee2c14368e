// Approval requests: the inbox, each request as last seen, and what a custodian does with one — sign it
// with a key file in the page, upload a signature made off-line, cancel it, or (its requester) take an
// executed command's answer once. A key file is read, used for one signature and dropped
// (lib/key-file.ts); a taken result is held until the operator dismisses it or leaves the panel, then
// forgotten — or, for a ceremony, handed over and not held here at all (result()).
import { defineStore } from 'pinia';
import { ref } from 'vue';
import type { ApprovalSummaryView, ApprovalView } from '../../main/console/index.js';
import { useClient } from '../client/index.js';
import { fromBase64, toBase64 } from '../lib/bytes.js';
import { signWithKeyFile } from '../lib/key-file.js';
import { useTask } from './task.js';

export interface TakenResult {
  id: string;
  action: string;
  result: unknown;
}

export const useApprovalsStore = defineStore('approvals', () => {
  const client = useClient();
  const list = ref<ApprovalSummaryView[]>([]);
  const byId = ref<Record<string, ApprovalView>>({});
  const taken = ref<TakenResult | null>(null);
  /** What the last approval did, for the panel to say (e.g. "Signed as alice: 1 of 2"). */
  const notice = ref<string | null>(null);
  const listTask = useTask();
  const loadTask = useTask();
  const actionTask = useTask();

  const keep = (v: ApprovalView): ApprovalView => (byId.value = { ...byId.value, [v.id]: v })[v.id]!;

  async function refreshList(): Promise<void> {
    const out = await listTask.run(() => client.run('approvals.list', {}));
    if (out) list.value = out.approvals;
  }

  async function load(id: string): Promise<ApprovalView | undefined> {
    const v = await loadTask.run(() => client.run('approvals.show', { id }));
    return v ? keep(v) : undefined;
  }

  /** Puts a request the caller already has (a gated change's answer) in the store. */
  const remember = (v: ApprovalView): ApprovalView => keep(v);

  function said(v: ApprovalView, how: string): ApprovalView {
    notice.value = `${how}: ${v.approvals.length} of ${v.threshold} approval(s); the request is ${v.status}.`;
    return keep(v);
  }

  async function submitSignature(id: string, signature: Uint8Array, operator?: string): Promise<ApprovalView | undefined> {
    notice.value = null;
    const v = await actionTask.run(() => client.run('approvals.submit', { id, signature: toBase64(signature), ...(operator ? { operator } : {}) }));
    return v ? said(v, `Signature accepted${operator ? ` for ${operator}` : ''}`) : undefined;
  }

  /** Signs the request's statement with the private key in `pem` (never sent) and submits the signature. */
  async function signWithKey(id: string, pem: string): Promise<ApprovalView | undefined> {
    notice.value = null;
    const v = await actionTask.run(async () => {
      const current = byId.value[id] ?? (await client.run('approvals.show', { id }));
      const { signature } = await signWithKeyFile(pem, fromBase64(current.statement));
      return client.run('approvals.submit', { id, signature: toBase64(signature) });
    });
    return v ? said(v, 'Signed with the key file') : undefined;
  }

  async function cancel(id: string): Promise<ApprovalView | undefined> {
    notice.value = null;
    const v = await actionTask.run(() => client.run('approvals.cancel', { id }));
    return v ? said(v, 'Cancelled') : undefined;
  }

  /**
   * An executed command's answer, which the appliance gives its requester once: returned, not kept here
   * (a ceremony shows it and drops it); the request is marked as having none left. Throws as the command does.
   */
  async function result(id: string): Promise<TakenResult> {
    const r = await client.run('approvals.result', { id });
    const v = byId.value[id];
    if (v) keep({ ...v, hasResult: false });
    return r;
  }

  /** Takes the answer for the approval panel, which shows it until the operator hides it or leaves. */
  async function takeResult(id: string): Promise<void> {
    const r = await actionTask.run(() => result(id));
    if (r) taken.value = r;
  }

  const forgetResult = (): void => {
    taken.value = null;
  };

  return {
    list,
    byId,
    taken,
    notice,
    listBusy: listTask.busy,
    listError: listTask.error,
    loadError: loadTask.error,
    actionBusy: actionTask.busy,
    actionError: actionTask.error,
    clearActionError: actionTask.clear,
    refreshList,
    load,
    remember,
    submitSignature,
    signWithKey,
    cancel,
    result,
    takeResult,
    forgetResult,
  };
});
