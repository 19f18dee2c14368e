// Which key of this appliance uses each secret key on an HSM token: what `kura hsm keys` shows an
// operator (the admin API's hsms.keys and hsms.tokenKeys) and what each connect of a custom key store logs
// (./custom-key-stores.ts, reportOrphans). Kura labels what it makes on a token so that it can be told
// apart: CreateKey labels a KMS key's token key with the key's ARN (./operations/lifecycle.ts), an XKS
// proxy store on an HSM labels each key with its external key ID and its health check key
// `kura-xks-health-<store ID>` (./xks-proxy.ts). A key so labelled that no row of the database holds
// (matched by material ID, never by label alone: an operator may relabel) is an orphan — a CreateKey
// cut off between the token and the database, a deletion that could not reach the token — for the
// operator to check and remove with the vendor's tool: Kura removes nothing it did not commit. A key
// labelled otherwise is another application's, and is none of Kura's business.
//
// One login per token and process (../keystores/hsm/connect.ts): an XKS proxy store on the same HSM as a
// custom key store sees the same keys, so the listing names the stores sharing the token and gives each
// of their keys to them, not to the orphans. The token is listed before the database is read, so that a
// key a CreateKey commits during the listing is not called an orphan; one committed after it is (check
// again before removing anything).
//
// An HSM that backs XKS proxy stores only has no custom key store to list through: `kura hsm keys --hsm`
// lists an HSM's token through whichever login of Kura's is live on it — a connected custom key store's,
// or the one an XKS store on it keeps (./xks-hsm-tokens.ts, made on the store's first call) — and never
// logs in for the listing: an operator's listing must not offer a token a sealed PIN it may refuse (a
// real token locks its user PIN after a few wrong ones). With no live login, the refusal names what to
// connect.
import { KmsError } from '../common/errors.js';
import { decodeMaterialRef, materialIdOf, TOKEN_KEYS_LISTED, type TokenKey } from '../keystores/hsm/index.js';
import type { HsmRecord, Store, XksStoreRecord } from '../store/index.js';
import { keyIdNamedBy } from './identifiers.js';
import type { KeyDirectory, OperatorCall } from './key-directory.js';

/** What uses a token key: a KMS key, an XKS proxy key, an XKS store's health check, nothing (an orphan), or not Kura (another application's). */
export type TokenKeyUse =
  | { kind: 'kms-key'; keyId: string }
  | { kind: 'xks-key'; xksStoreId: string; externalKeyId: string }
  | { kind: 'xks-health-check'; xksStoreId: string }
  | { kind: 'orphan' }
  | { kind: 'not-kura' };

export interface ClassifiedTokenKey extends TokenKey {
  usedBy: TokenKeyUse;
}

export interface TokenKeysListing {
  /** The custom key store whose login listed the token; null when an XKS proxy store's did (a listing by HSM). */
  customKeyStoreId: string | null;
  hsmId: string;
  tokenLabel: string;
  /** The XKS proxy stores on the same HSM: they share the token's login, and their keys are theirs. */
  sharedWith: string[];
  keys: ClassifiedTokenKey[];
  /** The token holds more keys than one listing reads (TOKEN_KEYS_LISTED): these are the first. */
  truncated: boolean;
}

const XKS_HEALTH_LABEL = /^kura-xks-health-(xks-[0-9a-f-]{36})$/;
const XKS_KEY_LABEL = /^kura-xks-[0-9a-f-]{36}$/;

type Repos = Pick<Store, 'keys' | 'xks'>;

/**
 * What uses each key: a KMS key whose materials hold its material ID, an XKS key (of a store on `hsmId`)
 * whose material it is, a health check key of such a store, or nothing.
 */
export async function classifyTokenKeys(store: Repos, hsmId: string | null, keys: readonly TokenKey[]): Promise<ClassifiedTokenKey[]> {
  const xksStores = hsmId === null ? [] : (await store.xks.listStores()).filter((s) => s.hsmId === hsmId);
  const xksKeys = new Map<string, { storeId: string; materialId: string }>();
  for (const s of xksStores) for (const k of await store.xks.listKeys(s.id)) xksKeys.set(k.externalKeyId, { storeId: s.id, materialId: k.materialId });
  const healthChecked = new Map(xksStores.map((s) => [s.id, healthKeyMaterialId(s)]));
  const out: ClassifiedTokenKey[] = [];
  for (const k of keys) out.push({ ...k, usedBy: await useOf(store, k, xksKeys, healthChecked) });
  return out;
}

/**
 * The material ID of a store's health check key, from the reference its row keeps; undefined when that
 * reference is not one an HSM key store made (the key is then matched by its label, never called an orphan).
 */
function healthKeyMaterialId(s: XksStoreRecord): string | undefined {
  if (s.healthKeyRef === null) return undefined;
  try {
    return materialIdOf(decodeMaterialRef(s.healthKeyRef));
  } catch {
    return undefined;
  }
}

async function useOf(store: Repos, k: TokenKey, xksKeys: Map<string, { storeId: string; materialId: string }>, healthChecked: Map<string, string | undefined>): Promise<TokenKeyUse> {
  const keyId = k.label.startsWith('arn:') ? keyIdNamedBy(k.label) : undefined;
  if (keyId !== undefined) {
    return (await store.keys.listMaterials(keyId)).some((m) => m.materialId === k.materialId) ? { kind: 'kms-key', keyId } : { kind: 'orphan' };
  }
  const health = XKS_HEALTH_LABEL.exec(k.label);
  if (health) {
    // The store's own health check key, by its material ID as every other key: another key under its label is an orphan.
    const id = health[1]!;
    const materialId = healthChecked.get(id);
    const its = healthChecked.has(id) && (materialId === undefined || materialId === k.materialId);
    return its ? { kind: 'xks-health-check', xksStoreId: id } : { kind: 'orphan' };
  }
  if (XKS_KEY_LABEL.test(k.label)) {
    const x = xksKeys.get(k.label);
    return x?.materialId === k.materialId ? { kind: 'xks-key', xksStoreId: x.storeId, externalKeyId: k.label } : { kind: 'orphan' };
  }
  return { kind: 'not-kura' };
}

export interface HsmTokenKeysDeps {
  directory: KeyDirectory;
  store: Pick<Store, 'customKeyStores' | 'hsms' | 'keys' | 'xks'>;
  /** The live connections (./custom-key-stores.ts HsmConnections): a connected store's token keys. */
  connections: { isOpen(storeId: string): boolean; tokenKeys(storeId: string): Promise<{ keys: TokenKey[]; truncated: boolean }> };
  /** The XKS proxy stores' token connections (./xks-hsm-tokens.ts): a store's live login, never made here. */
  xksTokens: { liveConnection(storeId: string): Promise<{ tokenKeys?(): Promise<TokenKey[]> } | undefined>; isRefused(s: XksStoreRecord): boolean };
}

/** How a listing by HSM reads the token: a connected custom key store's login, or an XKS store's. */
type Login = { customKeyStoreId: string } | { customKeyStoreId: null; tokenKeys(): Promise<TokenKey[]> };

/** The audited listings of a token's keys (`kura hsm keys`): a connected AWS_CLOUDHSM store's, or an HSM's through any live login on it. */
export class HsmTokenKeys {
  constructor(private readonly deps: HsmTokenKeysDeps) {}

  /** Refused (audited) for a store that is not an AWS_CLOUDHSM one, or not connected now. Never a key's value. */
  list(op: OperatorCall, customKeyStoreId: string): Promise<TokenKeysListing> {
    const { store, connections } = this.deps;
    return this.deps.directory.run(op, {
      kind: 'read',
      details: { customKeyStoreId },
      prepare: async () => {
        const c = await store.customKeyStores.find(customKeyStoreId);
        if (!c) throw new KmsError('CustomKeyStoreNotFound', `Custom key store ${customKeyStoreId} does not exist.`);
        if (c.type !== 'AWS_CLOUDHSM' || c.hsmId === null) throw new KmsError('CustomKeyStoreInvalidState', `Custom key store ${customKeyStoreId} is not an AWS_CLOUDHSM key store: only those have keys on an HSM token.`);
        if (!connections.isOpen(customKeyStoreId)) {
          throw new KmsError('CustomKeyStoreInvalidState', `Custom key store ${customKeyStoreId} is not connected: connect it first (aws kms connect-custom-key-store --custom-key-store-id ${customKeyStoreId}), then list its token's keys.`);
        }
        const hsm = await store.hsms.find(c.hsmId);
        if (!hsm) throw new KmsError('CustomKeyStoreInvalidState', `Custom key store ${customKeyStoreId} names no registered HSM.`);
        return { keys: [], hsm };
      },
      run: ({ hsm }) => this.classified(hsm, customKeyStoreId, () => connections.tokenKeys(customKeyStoreId)),
    });
  }

  /**
   * The audited listing of an HSM's token keys (`kura hsm keys --hsm`), through a live login of Kura's on
   * it (see the header): its connected custom key store's, else an XKS proxy store's. Refused (audited)
   * for an HSM not registered, or one no store of Kura's holds a live login to, naming what to connect.
   */
  listOnHsm(op: OperatorCall, hsmId: string): Promise<TokenKeysListing> {
    const { store, connections } = this.deps;
    return this.deps.directory.run(op, {
      kind: 'read',
      details: { hsmId },
      prepare: async () => {
        const hsm = await store.hsms.find(hsmId);
        if (!hsm) throw new KmsError('CloudHsmClusterNotFound', `No HSM with ID ${hsmId} is registered with Kura (see \`kura hsm list\`).`);
        return { keys: [], hsm, login: await this.liveLogin(hsm) };
      },
      run: ({ hsm, login }) =>
        login.customKeyStoreId !== null
          ? this.classified(hsm, login.customKeyStoreId, () => connections.tokenKeys(login.customKeyStoreId))
          : this.classified(hsm, null, async () => {
              const keys = await login.tokenKeys();
              return { keys, truncated: keys.length >= TOKEN_KEYS_LISTED };
            }),
    });
  }

  /** A live login to the HSM's token: its custom key store's if connected, else the first XKS store's that has one; else refused, naming what to connect. */
  private async liveLogin(hsm: HsmRecord): Promise<Login> {
    const { store, connections, xksTokens } = this.deps;
    const custom = (await store.customKeyStores.list()).filter((c) => c.type === 'AWS_CLOUDHSM' && c.hsmId === hsm.id);
    const open = custom.find((c) => connections.isOpen(c.id));
    if (open) return { customKeyStoreId: open.id };
    const xksStores = (await store.xks.listStores()).filter((s) => s.hsmId === hsm.id);
    for (const s of xksStores) {
      const conn = await xksTokens.liveConnection(s.id);
      if (conn?.tokenKeys) return { customKeyStoreId: null, tokenKeys: () => conn.tokenKeys!() };
    }
    if (custom.length === 0 && xksStores.length === 0) {
      throw new KmsError('InvalidState', `No key store of Kura's is on HSM ${hsm.id} (no AWS_CLOUDHSM custom key store, no XKS proxy store): Kura holds no login to its token "${hsm.tokenLabel}" to list it through.`);
    }
    const ways = [
      ...custom.map((c) => `connect custom key store ${c.id} (aws kms connect-custom-key-store --custom-key-store-id ${c.id})`),
      ...xksStores.map((s) =>
        xksTokens.isRefused(s)
          ? `give XKS proxy store ${s.id} a PIN its token takes (kura xks stores update --store ${s.id} --pin-file FILE: the token refused its PIN), after which its next call connects it`
          : `let XKS proxy store ${s.id} connect its token: it does on its first call (AWS KMS's health check, every minute while its external key store is connected) or key change (kura xks keys create|delete --store ${s.id})`,
      ),
    ];
    throw new KmsError('InvalidState', `No login of Kura's to the token "${hsm.tokenLabel}" of HSM ${hsm.id} is live, and listing does not log in. Connect one, then list again: ${ways.join('; or ')}.`);
  }

  /** The token first, then the database (see the header). */
  private async classified(hsm: HsmRecord, customKeyStoreId: string | null, list: () => Promise<{ keys: TokenKey[]; truncated: boolean }>): Promise<TokenKeysListing> {
    const { store } = this.deps;
    const listed = await list();
    const sharedWith = (await store.xks.listStores()).filter((s) => s.hsmId === hsm.id).map((s) => s.id);
    const keys = await classifyTokenKeys(store, hsm.id, listed.keys);
    return { customKeyStoreId, hsmId: hsm.id, tokenLabel: hsm.tokenLabel, sharedWith, keys, truncated: listed.truncated };
  }
}
