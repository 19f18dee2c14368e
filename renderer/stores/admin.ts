// The appliance's administration screens' data: operators and quorum policies, API credentials, HSMs and
// XKS stores, and ceremony transcripts. Each change a quorum may gate answers either applied or with the
// approval request it became (`gated`), which the screen shows with its link.
import { defineStore } from 'pinia';
import { ref } from 'vue';
import type { ApprovalView, ChangeView, CredentialView, HsmView, OperatorView, PolicyView, TranscriptView, TranscriptVerificationView, XksStoreView } from '../../main/console/index.js';
import { useClient } from '../client/index.js';
import { useTask } from './task.js';

export const useAdminStore = defineStore('admin', () => {
  const client = useClient();
  const operators = ref<OperatorView[]>([]);
  const policies = ref<PolicyView[]>([]);
  const classes = ref<string[]>([]);
  const credentials = ref<CredentialView[]>([]);
  const hsms = ref<HsmView[]>([]);
  const xksStores = ref<XksStoreView[]>([]);
  const transcript = ref<TranscriptView | null>(null);
  const transcriptCheck = ref<TranscriptVerificationView | null>(null);
  /** The approval request the last gated change became. */
  const gated = ref<ApprovalView | null>(null);
  /** What the last applied change did, in a sentence. */
  const done = ref<string | null>(null);
  const load = useTask();
  const change = useTask();

  /** Runs a gated change: applied → `done` says so; otherwise `gated` is its request. */
  async function gatedChange<T extends object>(fn: () => Promise<ChangeView<T>>, said: (v: T) => string): Promise<T | undefined> {
    gated.value = null;
    done.value = null;
    const out = await change.run(fn);
    if (!out) return undefined;
    if (!out.applied) {
      gated.value = out.approvalRequest;
      return undefined;
    }
    done.value = said(out as unknown as T);
    return out as unknown as T;
  }

  async function loadOperators(): Promise<void> {
    await load.run(async () => {
      operators.value = (await client.run('operators.list', {})).operators;
      const q = await client.run('quorum.show', {});
      policies.value = q.policies;
      classes.value = q.classes;
    });
  }

  async function addOperator(name: string, publicKey: string): Promise<void> {
    if (await gatedChange(() => client.run('operators.add', { name, publicKey }), (v) => `Enrolled ${v.operator.name}: fingerprint ${v.operator.fingerprint}.`)) await loadOperators();
  }

  async function removeOperator(name: string): Promise<void> {
    if (await gatedChange(() => client.run('operators.remove', { name }), (v) => `Removed ${v.removed}.`)) await loadOperators();
  }

  async function setPolicy(actionClass: string, threshold: number, names: string[], expiryMinutes?: number): Promise<void> {
    const input = { actionClass, threshold, operators: names, ...(expiryMinutes ? { expiryMinutes } : {}) };
    if (await gatedChange(() => client.run('quorum.set', input), (v) => `${v.policy.actionClass}: ${v.policy.threshold} of ${v.policy.operators.join(', ')}.`)) await loadOperators();
  }

  /**
   * Changes the signed-in operator's own console passphrase, given their current one (a console session
   * is always an operator's; setting another's is the administrator's, with `kura operators passphrase`).
   * The appliance keeps this session and ends the operator's others. The passphrases pass through and
   * are not kept. True when it was changed.
   */
  async function changeOwnPassphrase(name: string, currentPassphrase: string, passphrase: string): Promise<boolean> {
    done.value = null;
    gated.value = null;
    const out = await change.run(() => client.run('operators.passphrase', { name, passphrase, currentPassphrase }));
    if (out) done.value = `Your console passphrase is changed. Any other console session of ${out.name}'s has ended; this one goes on.`;
    return out !== undefined;
  }

  async function loadCredentials(): Promise<void> {
    await load.run(async () => {
      credentials.value = (await client.run('credentials.list', {})).credentials;
    });
  }

  /**
   * Creates a credential; when it is made at once, answers its secret for the caller to show once — the
   * store never holds it (a gated one's secret is its requester's to take with approvals.result).
   */
  async function createCredential(accountId: string, principalArn: string, description: string): Promise<{ accessKeyId: string; secretAccessKey: string } | null> {
    const made = await gatedChange(
      () => client.run('credentials.create', { accountId, ...(principalArn ? { principalArn } : {}), ...(description ? { description } : {}) }),
      (v) => `Created ${v.accessKeyId}.`,
    );
    if (!made) return null;
    await loadCredentials();
    return { accessKeyId: made.accessKeyId, secretAccessKey: made.secretAccessKey };
  }

  async function deleteCredential(accessKeyId: string): Promise<void> {
    if (await gatedChange(() => client.run('credentials.delete', { accessKeyId }), (v) => `Deleted ${v.deleted}.`)) await loadCredentials();
  }

  async function loadHsms(): Promise<void> {
    await load.run(async () => {
      hsms.value = (await client.run('hsms.list', {})).hsms;
      xksStores.value = (await client.run('xks.stores.list', {})).stores;
    });
  }

  /**
   * Registers an HSM; the PIN (optional, to check a login) passes through and is not kept. NSS softokn
   * also needs its library parameters (which name its database directory); other modules take none.
   */
  async function addHsm(modulePath: string, tokenLabel: string, pin: string, libraryParameters = ''): Promise<void> {
    const input = { modulePath, tokenLabel, ...(libraryParameters ? { libraryParameters } : {}), ...(pin ? { pin } : {}) };
    if (await gatedChange(() => client.run('hsms.add', input), (v) => `Registered ${v.hsmId} (${v.token.label}).`)) await loadHsms();
  }

  async function removeHsm(hsmId: string): Promise<void> {
    if (await gatedChange(() => client.run('hsms.remove', { hsmId }), (v) => `Removed ${v.removed}.`)) await loadHsms();
  }

  async function testHsm(hsmId: string): Promise<void> {
    done.value = null;
    const out = await change.run(() => client.run('hsms.test', { hsmId }));
    if (out) done.value = `${out.hsmId} answers: token ${out.token.label} (${out.token.model}, serial ${out.token.serialNumber}), AES-GCM ${out.token.aesGcm ? 'yes' : 'no'}.`;
  }

  async function loadTranscript(id: string): Promise<void> {
    transcript.value = null;
    transcriptCheck.value = null;
    const t = await load.run(() => client.run('approvals.transcript', { id }));
    if (t) transcript.value = t;
  }

  async function verifyTranscript(): Promise<void> {
    const t = transcript.value;
    if (!t) return;
    const v = await change.run(() => client.run('audit.verifyTranscript', { transcript: t }));
    if (v) transcriptCheck.value = v;
  }

  return {
    operators,
    policies,
    classes,
    credentials,
    hsms,
    xksStores,
    transcript,
    transcriptCheck,
    gated,
    done,
    loadBusy: load.busy,
    loadError: load.error,
    changeBusy: change.busy,
    changeError: change.error,
    loadOperators,
    addOperator,
    removeOperator,
    setPolicy,
    changeOwnPassphrase,
    loadCredentials,
    createCredential,
    deleteCredential,
    loadHsms,
    addHsm,
    removeHsm,
    testHsm,
    loadTranscript,
    verifyTranscript,
  };
});
