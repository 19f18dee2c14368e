// The deletion ceremony, in the BYOK wizard's step pattern: choose the key → schedule its deletion
// (keys.scheduleDeletion, which a key-deletion policy turns into an approval request) → approvals →
// done (the key PendingDeletion, its deletion date) → the transcript.
import { defineStore } from 'pinia';
import { ref } from 'vue';
import type { ApprovalView, KeyDetailView } from '../../main/console/index.js';
import { useClient } from '../client/index.js';
import { useApprovalsStore } from './approvals.js';
import { afterApproval, useSteps } from './ceremony.js';
import { useTask } from './task.js';

export const DELETION_STEPS = [
  { id: 'key', label: 'Choose the key' },
  { id: 'schedule', label: 'Schedule the deletion' },
  { id: 'approvals', label: 'Approvals' },
  { id: 'done', label: 'Done' },
] as const;
export type DeletionStep = (typeof DELETION_STEPS)[number]['id'];

export const useDeletionStore = defineStore('deletion', () => {
  const client = useClient();
  const approvals = useApprovalsStore();
  const keyId = ref('');
  const key = ref<KeyDetailView | null>(null);
  const days = ref(30);
  const request = ref<ApprovalView | null>(null);
  const task = useTask();
  const { step, go } = useSteps<DeletionStep>('key', task);

  function start(forKey?: string): void {
    go('key');
    keyId.value = forKey ?? '';
    key.value = null;
    request.value = null;
    if (forKey) void choose();
  }

  /** Looks the key up (ID, ARN or alias) and moves on to scheduling. */
  async function choose(): Promise<void> {
    const id = keyId.value.trim();
    if (!id) return;
    const d = await task.run(() => client.run('keys.show', { keyId: id }));
    if (!d) return;
    key.value = d;
    keyId.value = d.metadata.KeyId;
    go('schedule');
  }

  /** The key as the deletion left it, read before the done step shows (so it never shows the old state). */
  async function finish(): Promise<void> {
    const d = await task.run(() => client.run('keys.show', { keyId: keyId.value }));
    if (d) key.value = d;
    step.value = 'done';
  }

  async function schedule(): Promise<void> {
    const out = await task.run(() => client.run('keys.scheduleDeletion', { keyId: keyId.value, pendingWindowInDays: days.value }));
    if (!out) return;
    if (out.applied) return finish();
    request.value = approvals.remember(out.approvalRequest);
    go('approvals');
  }

  /** The approvals step saw the request change: on to done once it ran, or say why it will not. */
  async function requestChanged(v: ApprovalView): Promise<void> {
    request.value = v;
    await afterApproval(v, task, { failedCode: 'DeletionFailed', what: 'deletion' }, finish);
  }

  function back(): void {
    if (step.value === 'schedule') go('key');
  }

  return { step, keyId, key, days, request, busy: task.busy, error: task.error, start, choose, schedule, requestChanged, back };
});
