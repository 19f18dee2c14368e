// The BYOK ceremony (DESIGN.md, "Quorum and ceremonies"; README, "Imported key material"), one step at a
// time: choose an EXTERNAL key or create one → import parameters (the wrapping public key and import
// token, as files and QR codes, with SHA-256 fingerprints read aloud — checked here against the bytes
// received) → the OpenSSL commands that wrap the material off-line → upload the wrapped material →
// imports.material, which a key-import policy turns into an approval request → approvals → done, with
// the transcript. The console only ever holds the wrapped material, never the key material itself.
// Where the ceremony is — its key, the parameters, the request's ID; never the wrapped material — is kept
// in this tab's sessionStorage for the signed-in operator (lib/resume.ts), so a reload resumes it
// (`resume`) at its step with the same import token, until it ends or the parameters expire; the file of
// wrapped material must be chosen again, and an approval request is read again from the appliance.
import { defineStore } from 'pinia';
import { computed, ref, watch } from 'vue';
import type { ApprovalView, ImportParametersView, KeyDetailView, KeySummaryView } from '../../main/console/index.js';
import { useClient } from '../client/index.js';
import { fromBase64, sha256Fingerprint, toBase64 } from '../lib/bytes.js';
import { WRAPPING_ALGORITHMS, WRAPPING_KEY_SPECS, type WrappingAlgorithm, type WrappingKeySpec } from '../lib/openssl.js';
import { forgetCeremony, loadCeremony, resumedAt, saveCeremony, type ByokSnapshot } from '../lib/resume.js';
import { useApprovalsStore } from './approvals.js';
import { afterApproval, endedWithoutRunning, useSteps } from './ceremony.js';
import { SESSION_MAX_MS, useSessionStore } from './session.js';
import { useTask } from './task.js';

export const BYOK_STEPS = [
  { id: 'key', label: 'Choose the key' },
  { id: 'parameters', label: 'Import parameters' },
  { id: 'wrap', label: 'Wrap off-line' },
  { id: 'upload', label: 'Upload and import' },
  { id: 'approvals', label: 'Approvals' },
  { id: 'done', label: 'Done' },
] as const;
export type ByokStep = (typeof BYOK_STEPS)[number]['id'];

export interface WrappedMaterial {
  name: string;
  size: number;
  base64: string;
}

export const useByokStore = defineStore('byok', () => {
  const client = useClient();
  const approvals = useApprovalsStore();
  const candidates = ref<KeySummaryView[]>([]);
  const keyId = ref<string | null>(null);
  const algorithm = ref<WrappingAlgorithm>('RSAES_OAEP_SHA_256');
  const keySpec = ref<WrappingKeySpec>('RSA_2048');
  const params = ref<ImportParametersView | null>(null);
  /** The fingerprints of the bytes received, computed here; they must equal the appliance's. */
  const localFingerprints = ref<{ publicKey: string; importToken: string } | null>(null);
  const wrapped = ref<WrappedMaterial | null>(null);
  const expires = ref(false);
  const validTo = ref('');
  const request = ref<ApprovalView | null>(null);
  /** The request's ID, set with the step (the request itself is read again after a reload). */
  const requestId = ref<string | null>(null);
  const finalKey = ref<KeyDetailView | null>(null);
  /** The wrapped material was chosen before a reload, which a File does not survive: the upload step asks for it again. */
  const materialLost = ref(false);
  const task = useTask();
  const { step, go, resumed } = useSteps<ByokStep>('key', task);
  const session = useSessionStore();

  /** What a reload resumes (lib/resume.ts says why each field is safe to keep), or null when there is nothing to resume. */
  const snapshot = computed<ByokSnapshot | null>(() => {
    const s = step.value;
    if (s === 'key' || s === 'done' || keyId.value === null || endedWithoutRunning(request.value)) return null;
    return { step: s, keyId: keyId.value, algorithm: algorithm.value, keySpec: keySpec.value, params: params.value, expires: expires.value, validTo: validTo.value, requestId: requestId.value };
  });
  /** True while `resume` puts a kept ceremony back: its steps on the way are not where the ceremony is. */
  let resuming = false;
  /** Keeps the ceremony as it is now in the tab, or forgets it once there is nothing to resume (lib/resume.ts). */
  function persist(now = snapshot.value): void {
    const who = session.operator;
    if (!who || resuming) return;
    if (!now) return forgetCeremony('byok', who);
    // Kept while the parameters are valid (the token is useless after), and never past a session's longest life.
    const cap = Date.now() + SESSION_MAX_MS;
    const until = now.params && now.step !== 'approvals' ? Math.min(Date.parse(now.params.parametersValidTo), cap) : cap;
    saveCeremony('byok', who, now.keyId, now, until);
  }
  watch(snapshot, (now) => persist(now));

  // Compared as hex digits alone, whatever grouping or case the appliance prints them in.
  const digits = (fingerprint: string) => fingerprint.replace(/[^0-9a-f]/gi, '').toLowerCase();
  const fingerprintsMatch = computed(
    () =>
      params.value !== null &&
      localFingerprints.value !== null &&
      digits(localFingerprints.value.publicKey) === digits(params.value.publicKeyFingerprint) &&
      digits(localFingerprints.value.importToken) === digits(params.value.importTokenFingerprint),
  );

  const canNext = computed(() => {
    switch (step.value) {
      case 'key':
        return keyId.value !== null;
      case 'parameters':
        return params.value !== null && fingerprintsMatch.value;
      case 'wrap':
        return true;
      default:
        return false;
    }
  });
  const canBack = computed(() => ['parameters', 'wrap', 'upload'].includes(step.value));

  function reset(): void {
    go('key');
    materialLost.value = false;
    requestId.value = null;
    keyId.value = null;
    params.value = null;
    localFingerprints.value = null;
    wrapped.value = null;
    expires.value = false;
    validTo.value = '';
    request.value = null;
    finalKey.value = null;
  }

  /**
   * Opens the ceremony, on a given key when the URL names one and that key can take imported material
   * (origin EXTERNAL); otherwise at the first step, with the reason shown there.
   */
  async function start(forKey?: string): Promise<void> {
    reset();
    if (forKey) {
      const d = await task.run(async () => {
        const got = await client.run('keys.show', { keyId: forKey });
        if (got.metadata.Origin !== 'EXTERNAL') {
          throw Object.assign(new Error(`Key ${got.metadata.KeyId} has origin ${got.metadata.Origin}: only an EXTERNAL key takes imported material.`), { code: 'UnsupportedOperation' });
        }
        return got;
      });
      if (d) {
        keyId.value = d.metadata.KeyId;
        go('parameters');
        return;
      }
    }
    const failed = task.error.value;
    await loadCandidates();
    // The candidates' list must not hide why the named key was not opened.
    if (failed && !task.error.value) task.error.value = failed;
  }

  async function loadCandidates(): Promise<void> {
    const page = await task.run(() => client.run('keys.list', { origin: 'EXTERNAL', state: 'PendingImport', limit: 100 }));
    if (page) candidates.value = page.keys;
  }

  function choose(id: string): void {
    keyId.value = id;
  }

  async function createKey(description: string): Promise<void> {
    const made = await task.run(() => client.run('keys.create', { origin: 'EXTERNAL', ...(description.trim() ? { description: description.trim() } : {}) }));
    if (!made) return;
    keyId.value = made.KeyId;
    go('parameters');
  }

  async function fetchParameters(): Promise<void> {
    if (!keyId.value) return;
    const id = keyId.value;
    params.value = null;
    localFingerprints.value = null;
    const p = await task.run(async () => {
      const got = await client.run('imports.parameters', { keyId: id, wrappingAlgorithm: algorithm.value, wrappingKeySpec: keySpec.value });
      await checkFingerprints(got);
      return got;
    });
    if (p) params.value = p;
  }

  function setWrapped(name: string, bytes: Uint8Array): void {
    task.clear();
    materialLost.value = false;
    wrapped.value = bytes.length === 0 ? null : { name, size: bytes.length, base64: toBase64(bytes) };
  }

  /** The key as the import left it, read before the done step shows; a failed read shows there as its error. */
  async function finish(): Promise<void> {
    const id = keyId.value;
    const d = id ? await task.run(() => client.run('keys.show', { keyId: id })) : undefined;
    if (d) finalKey.value = d;
    step.value = 'done';
  }

  async function importMaterial(): Promise<void> {
    const p = params.value;
    const w = wrapped.value;
    if (!keyId.value || !p || !w) return;
    const id = keyId.value;
    const out = await task.run(() =>
      client.run('imports.material', {
        keyId: id,
        importToken: p.importToken,
        encryptedKeyMaterial: w.base64,
        ...(expires.value && validTo.value
          ? { expirationModel: 'KEY_MATERIAL_EXPIRES', validTo: new Date(validTo.value).toISOString() }
          : { expirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' }),
      }),
    );
    if (!out) return;
    if (out.applied) {
      await finish();
      return;
    }
    request.value = approvals.remember(out.approvalRequest);
    requestId.value = out.approvalRequest.id;
    go('approvals');
  }

  /** Checks the bytes of the parameters against the appliance's fingerprints (again, for parameters read back from the tab's storage). */
  async function checkFingerprints(p: ImportParametersView): Promise<void> {
    localFingerprints.value = { publicKey: await sha256Fingerprint(fromBase64(p.publicKey)), importToken: await sha256Fingerprint(fromBase64(p.importToken)) };
  }

  /**
   * Resumes the signed-in operator's ceremony after a reload, on `forKey` when the URL names a key (only
   * that key's): at its step, with its parameters (checked again against their fingerprints) and its
   * request read again from the appliance. False when there is none to resume (or it expired).
   */
  async function resume(forKey?: string): Promise<boolean> {
    const kept = loadCeremony('byok', session.operator, forKey);
    if (!kept) return false;
    resuming = true;
    const k = kept.data;
    reset();
    keyId.value = k.keyId;
    algorithm.value = (WRAPPING_ALGORITHMS as readonly string[]).includes(k.algorithm) ? (k.algorithm as WrappingAlgorithm) : algorithm.value;
    keySpec.value = (WRAPPING_KEY_SPECS as readonly string[]).includes(k.keySpec) ? (k.keySpec as WrappingKeySpec) : keySpec.value;
    params.value = k.params;
    expires.value = k.expires;
    validTo.value = k.validTo;
    requestId.value = k.requestId;
    // A step past the parameters without them (or a request) cannot be: back to the parameters.
    const at = (k.step === 'approvals' && !k.requestId) || (k.step !== 'parameters' && k.step !== 'approvals' && !k.params) ? 'parameters' : k.step;
    materialLost.value = at === 'upload';
    if (at !== 'approvals') step.value = at;
    const p = k.params;
    await task.run(async () => {
      if (p) await checkFingerprints(p);
      if (at !== 'approvals' || !k.requestId) return;
      const v = approvals.remember(await client.run('approvals.show', { id: k.requestId }));
      request.value = v;
      step.value = 'approvals';
    });
    if (at === 'approvals' && !request.value) step.value = 'approvals';
    resuming = false;
    // What the resumed ceremony is now (it may have ended meanwhile: its request cancelled, say).
    persist();
    if (at === 'approvals' && request.value) await requestChanged(request.value);
    resumed.value = resumedAt(BYOK_STEPS, step.value, materialLost.value ? 'The wrapped key material file chosen before the reload is not kept: choose it again.' : '');
    return true;
  }

  /** The approvals step saw the request change: on to done once it ran, or say why it will not. */
  async function requestChanged(v: ApprovalView): Promise<void> {
    request.value = v;
    await afterApproval(v, task, { failedCode: 'ImportFailed', what: 'import' }, finish);
  }

  function next(): void {
    const i = BYOK_STEPS.findIndex((s) => s.id === step.value);
    if (canNext.value && i < BYOK_STEPS.length - 1) go(BYOK_STEPS[i + 1]!.id);
  }

  function back(): void {
    const i = BYOK_STEPS.findIndex((s) => s.id === step.value);
    if (canBack.value && i > 0) go(BYOK_STEPS[i - 1]!.id);
  }

  return {
    step,
    candidates,
    keyId,
    algorithm,
    keySpec,
    params,
    localFingerprints,
    fingerprintsMatch,
    wrapped,
    expires,
    validTo,
    request,
    finalKey,
    materialLost,
    resumed,
    busy: task.busy,
    error: task.error,
    canNext,
    canBack,
    start,
    loadCandidates,
    choose,
    createKey,
    fetchParameters,
    setWrapped,
    importMaterial,
    requestChanged,
    next,
    back,
    reset,
    resume,
  };
});
