// The key store ceremony (README, "HSM key stores", "Kura as an XKS proxy", and the `key-store` class of
// "Custodians and quorum approvals"), in the BYOK and deletion ceremonies' step pattern: choose the
// change → its details → the command, which applies at once (200, `applied: true`) or which a key-store
// policy turns into an approval request (202) → approvals → done, with the IDs it made or removed and the
// transcript. Secrets never live in this store: a token PIN (a new store's, or the one a store on an HSM is
// given again when its token's PIN changed: xks.stores.update) goes from the form through submit() to the
// command, and a new secret access key — in a 200's answer, or taken once with approvals.result after a
// 202 — is returned to the view, which shows it once and drops it when the step is left. Where the
// ceremony is (the change, its form's IDs, paths and names but not the NSS library parameters, the
// request's ID) is kept in this tab for the signed-in operator (lib/resume.ts), so a reload resumes it
// (`resume`), its lists and request read again; the PIN, never kept, is typed again.
import { defineStore } from 'pinia';
import { computed, ref, watch } from 'vue';
import type { ApprovalView, ChangeView, HsmView, XksCredentialView, XksKeyView, XksStoreView } from '../../main/console/index.js';
import { useClient, type CommandName } from '../client/index.js';
import { forgetCeremony, loadCeremony, resumedAt, saveCeremony, type KeyStoreSnapshot } from '../lib/resume.js';
import { useApprovalsStore, type TakenResult } from './approvals.js';
import { afterApproval, endedWithoutRunning, useSteps } from './ceremony.js';
import { SESSION_MAX_MS, useSessionStore } from './session.js';
import { useTask } from './task.js';

export const KEY_STORE_STEPS = [
  { id: 'action', label: 'Choose the change' },
  { id: 'details', label: 'Details' },
  { id: 'approvals', label: 'Approvals' },
  { id: 'done', label: 'Done' },
] as const;
export type KeyStoreStep = (typeof KEY_STORE_STEPS)[number]['id'];

interface ActionSpec {
  id: CommandName;
  label: string;
  hint: string;
  /** The submit button's words. */
  submit: string;
  /** It removes something (a red button). */
  danger?: true;
  /** Its answer carries a new secret access key. */
  secret?: true;
}

/** The key store changes a `key-store` policy gates, in the order the first step offers them. */
export const KEY_STORE_ACTIONS = [
  { id: 'hsms.add', label: 'Register an HSM', hint: 'A PKCS#11 token that HSM key stores and XKS stores can keep keys on.', submit: 'Register the HSM' },
  { id: 'hsms.remove', label: 'Remove an HSM', hint: 'Its registration only; refused while a key store uses it.', submit: 'Remove the HSM', danger: true },
  { id: 'xks.stores.create', label: 'Create an XKS proxy store', hint: 'A store AWS KMS reaches as an external key store, with its first credential.', submit: 'Create the store', secret: true },
  {
    id: 'xks.stores.update',
    label: "Give an XKS store its token's new PIN",
    hint: "For a store on an HSM whose token's user PIN changed, or was refused: Kura logs in with the new one first, and a PIN the token refuses changes nothing.",
    submit: 'Give the store the PIN',
  },
  { id: 'xks.stores.delete', label: 'Delete an XKS proxy store', hint: 'Refused while keys live in it.', submit: 'Delete the store', danger: true },
  { id: 'xks.credentials.create', label: 'Create an XKS credential', hint: "Another of a store's SigV4 credentials, to rotate without downtime.", submit: 'Create the credential', secret: true },
  { id: 'xks.credentials.delete', label: 'Delete an XKS credential', hint: "A store's last credential is not deleted.", submit: 'Delete the credential', danger: true },
  { id: 'xks.keys.create', label: 'Create an XKS key', hint: 'An AES-256 external key in a store.', submit: 'Create the key' },
  { id: 'xks.keys.enable', label: 'Enable an XKS key', hint: 'AWS KMS can use it again.', submit: 'Enable the key' },
  { id: 'xks.keys.disable', label: 'Disable an XKS key', hint: 'Its calls are refused until it is enabled.', submit: 'Disable the key' },
  { id: 'xks.keys.delete', label: 'Delete an XKS key', hint: 'What it encrypted can never be decrypted again.', submit: 'Delete the key', danger: true },
] as const satisfies readonly ActionSpec[];
export type KeyStoreAction = (typeof KEY_STORE_ACTIONS)[number]['id'];

export const actionSpec = (id: KeyStoreAction | null): ActionSpec | undefined => KEY_STORE_ACTIONS.find((a) => a.id === id);

export type XksUsage = 'ENCRYPT' | 'DECRYPT';

/** The details step's fields (never the PIN, which stays in the form). */
export interface KeyStoreForm {
  modulePath: string;
  tokenLabel: string;
  libraryParameters: string;
  hsmId: string;
  uriPathPrefix: string;
  storeId: string;
  accessKeyId: string;
  externalKeyId: string;
  usage: XksUsage[];
}

const emptyForm = (): KeyStoreForm => ({
  modulePath: '',
  tokenLabel: '',
  libraryParameters: '',
  hsmId: '',
  uriPathPrefix: '',
  storeId: '',
  accessKeyId: '',
  externalKeyId: '',
  usage: ['ENCRYPT', 'DECRYPT'],
});

/** Which lists the details step offers choices from. */
export const needsHsms = (a: KeyStoreAction | null): boolean => a === 'hsms.remove' || a === 'xks.stores.create';
export const needsStore = (a: KeyStoreAction | null): boolean => a !== null && a.startsWith('xks.') && a !== 'xks.stores.create';
export const needsCredential = (a: KeyStoreAction | null): boolean => a === 'xks.credentials.delete';
/** The change picks among the stores on an HSM only (a store on the standard key store has no PIN). */
export const needsStoreOnHsm = (a: KeyStoreAction | null): boolean => a === 'xks.stores.update';
/** The change is never sent without a PIN (a new store needs one only when it names an HSM, which the view checks). */
export const needsPin = (a: KeyStoreAction | null): boolean => a === 'xks.stores.update';
export const needsKey = (a: KeyStoreAction | null): boolean => a === 'xks.keys.enable' || a === 'xks.keys.disable' || a === 'xks.keys.delete';

/** The IDs a change made or removed, as the done step names them (never a secret). */
const MADE = [
  ['hsmId', 'HSM ID'],
  ['storeId', 'XKS store ID'],
  ['uriPath', 'URI path'],
  ['accessKeyId', 'Access key ID'],
  ['externalKeyId', 'External key ID'],
  ['keyStatus', 'Key status'],
  ['removed', 'Removed'],
  ['deleted', 'Deleted'],
] as const;

export function madeBy(answer: Record<string, unknown>): [string, string][] {
  return MADE.filter(([k]) => typeof answer[k] === 'string').map(([k, label]) => [label, answer[k] as string]);
}

/** The IDs an executed request's outcome names in the clear (`applied {"storeId":"…"}`); none when it says otherwise. */
export function outcomeIds(outcome: string | null): Record<string, unknown> {
  const m = /^applied (\{.*\})$/s.exec(outcome ?? '');
  if (!m) return {};
  try {
    const v: unknown = JSON.parse(m[1]!);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

export const useKeyStoreCeremony = defineStore('keystore', () => {
  const client = useClient();
  const approvals = useApprovalsStore();
  const action = ref<KeyStoreAction | null>(null);
  const form = ref<KeyStoreForm>(emptyForm());
  const hsms = ref<HsmView[]>([]);
  const stores = ref<XksStoreView[]>([]);
  const credentials = ref<XksCredentialView[]>([]);
  const keys = ref<XksKeyView[]>([]);
  const request = ref<ApprovalView | null>(null);
  /** What the change made or removed, as label and ID. */
  const made = ref<[string, string][]>([]);
  const requestId = ref<string | null>(null);
  const task = useTask();
  const { step, go, resumed } = useSteps<KeyStoreStep>('action', task);
  const session = useSessionStore();

  /** What a reload resumes (lib/resume.ts says why each field is safe to keep), or null when there is nothing to resume. */
  const snapshot = computed<KeyStoreSnapshot | null>(() => {
    const s = step.value;
    if ((s !== 'details' && s !== 'approvals') || action.value === null || endedWithoutRunning(request.value)) return null;
    const f = form.value;
    return {
      step: s,
      action: action.value,
      form: { modulePath: f.modulePath, tokenLabel: f.tokenLabel, hsmId: f.hsmId, uriPathPrefix: f.uriPathPrefix, storeId: f.storeId, accessKeyId: f.accessKeyId, externalKeyId: f.externalKeyId, usage: [...f.usage] },
      requestId: requestId.value,
    };
  });
  let resuming = false;
  /** Keeps the ceremony as it is now in the tab, or forgets it once there is nothing to resume (lib/resume.ts). */
  function persist(now = snapshot.value): void {
    const who = session.operator;
    if (!who || resuming) return;
    if (now) saveCeremony('keystore', who, '', now, Date.now() + SESSION_MAX_MS);
    else forgetCeremony('keystore', who);
  }
  watch(snapshot, (now) => persist(now));
  /** The credential or key chosen before a reload, chosen again once the store's lists are read. */
  let pick: Pick<KeyStoreForm, 'storeId' | 'accessKeyId' | 'externalKeyId'> | null = null;

  const spec = computed(() => actionSpec(action.value));
  /** Whether the details step has what the command needs, but for the PIN, which stays in the view's form. */
  const ready = computed(() => {
    const f = form.value;
    const a = action.value;
    if (a === null) return false;
    if (a === 'hsms.add') return f.modulePath.trim() !== '' && f.tokenLabel.trim() !== '';
    if (a === 'hsms.remove') return f.hsmId !== '';
    if (a === 'xks.stores.create') return f.uriPathPrefix.trim() !== '';
    if (needsCredential(a)) return f.storeId !== '' && f.accessKeyId !== '';
    if (needsKey(a)) return f.storeId !== '' && f.externalKeyId !== '';
    return f.storeId !== '';
  });

  function start(): void {
    go('action');
    action.value = null;
    form.value = emptyForm();
    hsms.value = [];
    stores.value = [];
    credentials.value = [];
    keys.value = [];
    request.value = null;
    requestId.value = null;
    made.value = [];
  }

  /** Resumes the signed-in operator's key store ceremony after a reload: its lists and request read again. False when there is none. */
  async function resume(): Promise<boolean> {
    const kept = loadCeremony('keystore', session.operator);
    const a = KEY_STORE_ACTIONS.find((x) => x.id === kept?.data.action)?.id;
    if (!kept || !a) return false;
    const k = kept.data;
    resuming = true;
    start();
    action.value = a;
    form.value = { ...emptyForm(), ...k.form, usage: k.form.usage.filter((u): u is XksUsage => u === 'ENCRYPT' || u === 'DECRYPT'), accessKeyId: '', externalKeyId: '' };
    pick = { storeId: k.form.storeId, accessKeyId: k.form.accessKeyId, externalKeyId: k.form.externalKeyId };
    requestId.value = k.requestId;
    if (k.step === 'approvals' && k.requestId) {
      const id = k.requestId;
      const v = await task.run(async () => approvals.remember(await client.run('approvals.show', { id })));
      if (v) request.value = v;
      step.value = 'approvals';
    } else {
      step.value = 'details';
    }
    resuming = false;
    // What the resumed ceremony is now (it may have ended meanwhile: its request cancelled, say).
    persist();
    if (step.value === 'details') await loadLists();
    else if (request.value) await requestChanged(request.value);
    resumed.value = resumedAt(KEY_STORE_STEPS, step.value);
    return true;
  }

  function choose(a: KeyStoreAction): void {
    action.value = a;
  }

  /** The lists the chosen change picks from: the HSMs, the XKS stores. */
  async function loadLists(): Promise<void> {
    const a = action.value;
    await task.run(async () => {
      if (needsHsms(a)) hsms.value = (await client.run('hsms.list', {})).hsms;
      if (!needsStore(a)) return;
      const all = (await client.run('xks.stores.list', {})).stores;
      stores.value = needsStoreOnHsm(a) ? all.filter((s) => s.hsmId !== null) : all;
    });
  }

  /** The chosen store's credentials or keys, when the change picks one. */
  async function loadStoreItems(): Promise<void> {
    const a = action.value;
    const storeId = form.value.storeId;
    credentials.value = [];
    keys.value = [];
    form.value.accessKeyId = '';
    form.value.externalKeyId = '';
    if (storeId === '' || !(needsCredential(a) || needsKey(a))) return;
    await task.run(async () => {
      if (needsCredential(a)) credentials.value = (await client.run('xks.credentials.list', { storeId })).credentials;
      else keys.value = (await client.run('xks.keys.list', { storeId })).keys;
    });
    // Resumed: the credential or key chosen before the reload, if the store still has it.
    const p = pick;
    pick = null;
    if (p && p.storeId === storeId && form.value.storeId === storeId) {
      if (credentials.value.some((c) => c.accessKeyId === p.accessKeyId)) form.value.accessKeyId = p.accessKeyId;
      if (keys.value.some((k) => k.externalKeyId === p.externalKeyId)) form.value.externalKeyId = p.externalKeyId;
    }
  }
  watch(() => form.value.storeId, () => void loadStoreItems());

  async function next(): Promise<void> {
    if (step.value !== 'action' || action.value === null) return;
    go('details');
    await loadLists();
  }

  function back(): void {
    if (step.value === 'details') go('action');
  }

  /** Runs the chosen command with the form's fields; `pin` is passed through, never kept. */
  function send(a: KeyStoreAction, f: KeyStoreForm, pin: string): Promise<ChangeView<object>> {
    const storeId = f.storeId;
    switch (a) {
      case 'hsms.add':
        return client.run(a, {
          modulePath: f.modulePath.trim(),
          tokenLabel: f.tokenLabel.trim(),
          ...(f.libraryParameters.trim() ? { libraryParameters: f.libraryParameters.trim() } : {}),
          ...(pin ? { pin } : {}),
        });
      case 'hsms.remove':
        return client.run(a, { hsmId: f.hsmId });
      case 'xks.stores.create':
        return client.run(a, { uriPathPrefix: f.uriPathPrefix.trim(), ...(f.hsmId ? { hsmId: f.hsmId, ...(pin ? { pin } : {}) } : {}) });
      case 'xks.stores.update':
        return client.run(a, { storeId, pin });
      case 'xks.stores.delete':
        return client.run(a, { storeId });
      case 'xks.credentials.create':
        return client.run(a, { storeId });
      case 'xks.credentials.delete':
        return client.run(a, { storeId, accessKeyId: f.accessKeyId });
      case 'xks.keys.create':
        return client.run(a, { storeId, usage: [...f.usage] });
      case 'xks.keys.enable':
      case 'xks.keys.disable':
      case 'xks.keys.delete':
        return client.run(a, { storeId, externalKeyId: f.externalKeyId });
    }
  }

  /**
   * Asks for the change. Applied at once → done, and a new secret in the answer is returned (to be shown
   * once, not kept); gated → the approvals step with its request.
   */
  async function submit(pin = ''): Promise<TakenResult | null> {
    const a = action.value;
    if (a === null || !ready.value || (needsPin(a) && pin === '')) return null;
    const f = form.value;
    const out = await task.run(() => send(a, f, pin));
    if (!out) return null;
    if (!out.applied) {
      request.value = approvals.remember(out.approvalRequest);
      requestId.value = out.approvalRequest.id;
      go('approvals');
      return null;
    }
    const answer: Record<string, unknown> = { ...out };
    delete answer.applied;
    made.value = madeBy(answer);
    go('done');
    return typeof answer.secretAccessKey === 'string' ? { id: String(answer.storeId ?? a), action: a, result: answer } : null;
  }

  /** The approvals step saw the request change: done once it ran, or why it will not. */
  async function requestChanged(v: ApprovalView): Promise<void> {
    request.value = v;
    await afterApproval(v, task, { failedCode: 'KeyStoreChangeFailed', what: 'key store change' }, async () => {
      made.value = madeBy(outcomeIds(v.outcome));
      go('done');
    });
  }

  /** Takes the executed command's answer (its requester, once) and returns it to be shown, not kept. */
  async function takeResult(): Promise<TakenResult | null> {
    const r = request.value;
    if (!r) return null;
    const taken = await task.run(() => approvals.result(r.id));
    if (!taken) return null;
    request.value = { ...r, hasResult: false };
    return taken;
  }

  return {
    step,
    action,
    spec,
    form,
    hsms,
    stores,
    credentials,
    keys,
    request,
    made,
    ready,
    resumed,
    busy: task.busy,
    error: task.error,
    start,
    choose,
    loadLists,
    next,
    back,
    submit,
    requestChanged,
    takeResult,
    resume,
  };
});
