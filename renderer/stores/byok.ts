// The BYOK ceremony (DESIGN.md, "Quorum and ceremonies"; README, "Imported key material"), one step at a
// time: choose an EXTERNAL key or create one → import parameters (the wrapping public key and import
// token, as files and QR codes, with SHA-256 fingerprints read aloud — checked here against the bytes
// received) → the OpenSSL commands that wrap the material off-line → upload the wrapped material →
// imports.material, which a key-import policy turns into an approval request → approvals → done, with
// the transcript. The console only ever holds the wrapped material, never the key material itself.
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { ApprovalView, ImportParametersView, KeyDetailView, KeySummaryView } from '../../main/console/index.js';
import { useClient } from '../client/index.js';
import { fromBase64, sha256Fingerprint, toBase64 } from '../lib/bytes.js';
import type { WrappingAlgorithm, WrappingKeySpec } from '../lib/openssl.js';
import { useApprovalsStore } from './approvals.js';
import { afterApproval, useSteps } from './ceremony.js';
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
  const finalKey = ref<KeyDetailView | null>(null);
  const task = useTask();
  const { step, go } = useSteps<ByokStep>('key', task);

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
      localFingerprints.value = { publicKey: await sha256Fingerprint(fromBase64(got.publicKey)), importToken: await sha256Fingerprint(fromBase64(got.importToken)) };
      return got;
    });
    if (p) params.value = p;
  }

  function setWrapped(name: string, bytes: Uint8Array): void {
    task.clear();
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
    go('approvals');
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
  };
});
