// The deletion ceremony, in the BYOK wizard's step pattern: choose the key → schedule its deletion
// (keys.scheduleDeletion, which a key-deletion policy turns into an approval request) → approvals →
// done (the key PendingDeletion, its deletion date) → the transcript. Where it is (the key's ID, the
// waiting period, the request's ID) is kept in this tab for the signed-in operator (lib/resume.ts), so a
// reload resumes it (`resume`), with the key and the request read again from the appliance.
import { defineStore } from 'pinia';
import { computed, ref, watch } from 'vue';
import type { ApprovalView, KeyDetailView } from '../../main/console/index.js';
import { useClient } from '../client/index.js';
import { forgetCeremony, loadCeremony, resumedAt, saveCeremony, type DeletionSnapshot } from '../lib/resume.js';
import { useApprovalsStore } from './approvals.js';
import { afterApproval, endedWithoutRunning, useSteps } from './ceremony.js';
import { SESSION_MAX_MS, useSessionStore } from './session.js';
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
  const requestId = ref<string | null>(null);
  const task = useTask();
  const { step, go, resumed } = useSteps<DeletionStep>('key', task);
  const session = useSessionStore();

  /** What a reload resumes (lib/resume.ts says why each field is safe to keep), or null when there is nothing to resume. */
  const snapshot = computed<DeletionSnapshot | null>(() => {
    const s = step.value;
    if ((s !== 'schedule' && s !== 'approvals') || !key.value || endedWithoutRunning(request.value)) return null;
    return { step: s, keyId: key.value.metadata.KeyId, days: days.value, requestId: requestId.value };
  });
  let resuming = false;
  /** Keeps the ceremony as it is now in the tab, or forgets it once there is nothing to resume (lib/resume.ts). */
  function persist(now = snapshot.value): void {
    const who = session.operator;
    if (!who || resuming) return;
    if (now) saveCeremony('deletion', who, now.keyId, now, Date.now() + SESSION_MAX_MS);
    else forgetCeremony('deletion', who);
  }
  watch(snapshot, (now) => persist(now));

  function start(forKey?: string): void {
    go('key');
    keyId.value = forKey ?? '';
    key.value = null;
    request.value = null;
    requestId.value = null;
    if (forKey) void choose();
  }

  /**
   * Resumes the signed-in operator's deletion ceremony after a reload (of `forKey` when the URL names
   * one): the key and the request read again. False when there is none to resume.
   */
  async function resume(forKey?: string): Promise<boolean> {
    const kept = loadCeremony('deletion', session.operator, forKey);
    if (!kept) return false;
    resuming = true;
    const k = kept.data;
    start();
    keyId.value = k.keyId;
    days.value = k.days;
    requestId.value = k.requestId;
    const at = k.step === 'approvals' && k.requestId ? 'approvals' : 'schedule';
    await task.run(async () => {
      key.value = await client.run('keys.show', { keyId: k.keyId });
      if (at === 'approvals') request.value = approvals.remember(await client.run('approvals.show', { id: k.requestId! }));
    });
    // Without the key, the ceremony starts from it again (with the reason shown); the request shows its own error.
    step.value = key.value ? at : 'key';
    resuming = false;
    // What the resumed ceremony is now (it may have ended meanwhile: its request cancelled, say).
    persist();
    if (request.value) await requestChanged(request.value);
    resumed.value = resumedAt(DELETION_STEPS, step.value);
    return true;
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
    requestId.value = out.approvalRequest.id;
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

  return { step, keyId, key, days, request, resumed, busy: task.busy, error: task.error, start, choose, schedule, requestChanged, back, resume };
});
