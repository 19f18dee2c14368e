// The KMS domain's façade: the one object the API layer depends on (DESIGN.md, "Layout": kms/index.ts).
// One method per TrentService action Kura serves, each handed to the operations of its concern
// (./operations/), every one of which runs through the key directory's unit of work (./key-directory.ts):
// authorize → approval gate → transaction → audit. Build it with ./wiring.ts.
import type { AliasRecord, TagRecord } from '../store/index.js';
import type { CallContext, OperatorCall } from './key-directory.js';
import { arnOf, type EncryptionContext, type Key, type Material } from './model/index.js';
import type { AliasOperations } from './operations/aliases.js';
import type { AsymmetricOperations } from './operations/asymmetric.js';
import type { CreateCustomKeyStoreInput, CustomKeyStoreOperations, CustomKeyStoreView, UpdateCustomKeyStoreInput } from './operations/custom-key-stores.js';
import type { HsmRegistry } from './operations/hsm-registry.js';
import type { HsmTokenKeys, TokenKeysListing } from './hsm-token-keys.js';
import type { HsmTokenConfig, HsmTokenInfo } from './custom-key-stores.js';
import type { HsmRecord, KeyFilter } from '../store/index.js';
import type { Page } from './operations/common.js';
import type { EncryptionOperations, Opened } from './operations/encryption.js';
import type { ImportKeyMaterialInput, ImportOperations } from './operations/import.js';
import type { CreateKeyInput, LifecycleOperations } from './operations/lifecycle.js';
import type { PolicyOperations } from './operations/policies.js';
import type { RotationOperations } from './operations/rotation.js';
import type { TagOperations } from './operations/tags.js';
import type { XksProxy } from './xks-proxy.js';

export type { CallContext, OperatorCall, SensitiveValue } from './key-directory.js';
export type { ApprovalGate, ApprovalRequest } from './approval-gate.js';
export { ApprovalPendingError } from './approval-gate.js';
export { loggedError, storageFailureAnswer } from './storage-failures.js';
export { storageFailureOf, type StorageFailureKind } from '../store/index.js';
export type { HsmRecord, KeyFilter } from '../store/index.js';
export type { XksCredentialView, XksKeyUsage, XksKeyView, XksProxy, XksStoreView } from './xks-proxy.js';
export type { CreateCustomKeyStoreInput, CustomKeyStoreView, UpdateCustomKeyStoreInput, XksProxySettingsInput } from './operations/custom-key-stores.js';
export type { XksClientOptions } from './external-key-stores.js';
export type { ClassifiedTokenKey, TokenKeysListing, TokenKeyUse } from './hsm-token-keys.js';
export type { ConnectedHsm, HsmConnectionErrorCode, HsmConnector, HsmTokenConfig, HsmTokenInfo } from './custom-key-stores.js';
export type { CreateKeyInput } from './operations/lifecycle.js';
export type { ImportKeyMaterialInput } from './operations/import.js';
export type { Page, TagInput } from './operations/common.js';
export { MAX_TAGS } from './operations/common.js';
export { MAX_ALIASES_PAGE, MAX_ALIASES_PER_KEY } from './operations/aliases.js';
export { DEFAULT_ROTATION_DAYS, MAX_ON_DEMAND_ROTATIONS } from './operations/rotation.js';
export { IMPORT_PARAMETERS_VALID_MS } from './operations/import.js';
export type { EncryptionContext, Key, Material } from './model/index.js';
export { KeyState, KeyUsage, Origin, SYMMETRIC_DEFAULT } from './model/index.js';

export interface KmsOperations {
  lifecycle: LifecycleOperations;
  encryption: EncryptionOperations;
  asymmetric: AsymmetricOperations;
  aliases: AliasOperations;
  tags: TagOperations;
  rotation: RotationOperations;
  policies: PolicyOperations;
  imports: ImportOperations;
  customKeyStores: CustomKeyStoreOperations;
  hsms: HsmRegistry;
  tokenKeys: HsmTokenKeys;
  xks: XksProxy;
}

export class Kms {
  constructor(private readonly ops: KmsOperations) {}

  /** Kura as an XKS proxy: its stores, credentials and keys, and the XKS routes' backend. */
  get xks(): XksProxy {
    return this.ops.xks;
  }

  arnOf(k: Pick<Key, 'region' | 'accountId' | 'keyId'>): string {
    return arnOf(k);
  }

  aliasArnOf(a: AliasRecord): string {
    return this.ops.aliases.aliasArnOf(a);
  }

  // ---- keys ---------------------------------------------------------------------------------------

  createKey(ctx: CallContext, input: CreateKeyInput): Promise<Key> {
    return this.ops.lifecycle.createKey(ctx, input);
  }

  /** The operator console's key search (lifecycle.searchKeys). */
  searchKeys(ctx: CallContext, filter: KeyFilter, after: string, limit: number): Promise<{ keys: Key[]; next: string | null; total: number }> {
    return this.ops.lifecycle.searchKeys(ctx, filter, after, limit);
  }

  keyTally(ctx: CallContext): Promise<{ byState: Record<string, number>; byOrigin: Record<string, number> }> {
    return this.ops.lifecycle.keyTally(ctx);
  }

  describeKey(ctx: CallContext, keyRef: string): Promise<Key> {
    return this.ops.lifecycle.describeKey(ctx, keyRef);
  }

  listKeys(ctx: CallContext, limit?: number, marker?: string): Promise<Page<Key>> {
    return this.ops.lifecycle.listKeys(ctx, limit, marker);
  }

  enableKey(ctx: CallContext, keyRef: string): Promise<void> {
    return this.ops.lifecycle.enableKey(ctx, keyRef);
  }

  disableKey(ctx: CallContext, keyRef: string): Promise<void> {
    return this.ops.lifecycle.disableKey(ctx, keyRef);
  }

  updateKeyDescription(ctx: CallContext, keyRef: string, description: string): Promise<void> {
    return this.ops.lifecycle.updateKeyDescription(ctx, keyRef, description);
  }

  scheduleKeyDeletion(ctx: CallContext, keyRef: string, pendingWindowDays?: number): Promise<Key> {
    return this.ops.lifecycle.scheduleKeyDeletion(ctx, keyRef, pendingWindowDays);
  }

  cancelKeyDeletion(ctx: CallContext, keyRef: string): Promise<Key> {
    return this.ops.lifecycle.cancelKeyDeletion(ctx, keyRef);
  }

  // ---- encryption ---------------------------------------------------------------------------------

  encrypt(
    ctx: CallContext,
    input: { keyId: string; plaintext: Buffer; encryptionContext?: EncryptionContext; encryptionAlgorithm?: string; dryRun?: boolean },
  ): Promise<{ key: Key; ciphertextBlob: Buffer; materialId: string; algorithm: string }> {
    return this.ops.encryption.encrypt(ctx, input);
  }

  decrypt(ctx: CallContext, input: Parameters<EncryptionOperations['decrypt']>[1]): Promise<Opened> {
    return this.ops.encryption.decrypt(ctx, input);
  }

  reEncrypt(ctx: CallContext, input: Parameters<EncryptionOperations['reEncrypt']>[1]): ReturnType<EncryptionOperations['reEncrypt']> {
    return this.ops.encryption.reEncrypt(ctx, input);
  }

  generateDataKey(ctx: CallContext, input: Parameters<EncryptionOperations['generateDataKey']>[1]): ReturnType<EncryptionOperations['generateDataKey']> {
    return this.ops.encryption.generateDataKey(ctx, input);
  }

  generateRandom(ctx: CallContext, input: { numberOfBytes?: number; customKeyStoreId?: string; recipient?: unknown }): Promise<Buffer> {
    const { customKeyStoreId } = input;
    // From an HSM's own generator when a custom key store is named (and no Recipient, which Kura does not serve).
    if (customKeyStoreId !== undefined && input.recipient === undefined) return this.ops.customKeyStores.generateRandom(ctx, { ...input, customKeyStoreId });
    return this.ops.encryption.generateRandom(ctx, input);
  }

  // ---- asymmetric, HMAC and key agreement keys ----------------------------------------------------

  sign(ctx: CallContext, input: Parameters<AsymmetricOperations['sign']>[1]): Promise<{ key: Key; signature: Buffer }> {
    return this.ops.asymmetric.sign(ctx, input);
  }

  verify(ctx: CallContext, input: Parameters<AsymmetricOperations['verify']>[1]): Promise<{ key: Key }> {
    return this.ops.asymmetric.verify(ctx, input);
  }

  getPublicKey(ctx: CallContext, keyRef: string): Promise<{ key: Key; publicKey: Buffer }> {
    return this.ops.asymmetric.getPublicKey(ctx, keyRef);
  }

  generateMac(ctx: CallContext, input: Parameters<AsymmetricOperations['generateMac']>[1]): Promise<{ key: Key; mac: Buffer }> {
    return this.ops.asymmetric.generateMac(ctx, input);
  }

  verifyMac(ctx: CallContext, input: Parameters<AsymmetricOperations['verifyMac']>[1]): Promise<{ key: Key }> {
    return this.ops.asymmetric.verifyMac(ctx, input);
  }

  deriveSharedSecret(ctx: CallContext, input: Parameters<AsymmetricOperations['deriveSharedSecret']>[1]): Promise<{ key: Key; sharedSecret: Buffer }> {
    return this.ops.asymmetric.deriveSharedSecret(ctx, input);
  }

  generateDataKeyPair(
    ctx: CallContext,
    input: Parameters<AsymmetricOperations['generateDataKeyPair']>[1],
    withPlaintext: boolean,
  ): ReturnType<AsymmetricOperations['generateDataKeyPair']> {
    return this.ops.asymmetric.generateDataKeyPair(ctx, input, withPlaintext);
  }

  // ---- aliases ------------------------------------------------------------------------------------

  createAlias(ctx: CallContext, aliasName: string, targetKeyId: string): Promise<void> {
    return this.ops.aliases.createAlias(ctx, aliasName, targetKeyId);
  }

  updateAlias(ctx: CallContext, aliasName: string, targetKeyId: string): Promise<void> {
    return this.ops.aliases.updateAlias(ctx, aliasName, targetKeyId);
  }

  deleteAlias(ctx: CallContext, aliasName: string): Promise<void> {
    return this.ops.aliases.deleteAlias(ctx, aliasName);
  }

  listAliases(ctx: CallContext, keyRef: string | undefined, limit?: number, marker?: string): Promise<Page<AliasRecord>> {
    return this.ops.aliases.listAliases(ctx, keyRef, limit, marker);
  }

  // ---- tags ---------------------------------------------------------------------------------------

  tagResource(ctx: CallContext, keyRef: string, tags: TagRecord[]): Promise<void> {
    return this.ops.tags.tagResource(ctx, keyRef, tags);
  }

  untagResource(ctx: CallContext, keyRef: string, tagKeys: string[]): Promise<void> {
    return this.ops.tags.untagResource(ctx, keyRef, tagKeys);
  }

  listResourceTags(ctx: CallContext, keyRef: string, limit?: number, marker?: string): Promise<Page<TagRecord>> {
    return this.ops.tags.listResourceTags(ctx, keyRef, limit, marker);
  }

  // ---- rotation -----------------------------------------------------------------------------------

  enableKeyRotation(ctx: CallContext, keyRef: string, periodDays?: number): Promise<void> {
    return this.ops.rotation.enableKeyRotation(ctx, keyRef, periodDays);
  }

  disableKeyRotation(ctx: CallContext, keyRef: string): Promise<void> {
    return this.ops.rotation.disableKeyRotation(ctx, keyRef);
  }

  getKeyRotationStatus(ctx: CallContext, keyRef: string): Promise<Key> {
    return this.ops.rotation.getKeyRotationStatus(ctx, keyRef);
  }

  rotateKeyOnDemand(ctx: CallContext, keyRef: string): Promise<Key> {
    return this.ops.rotation.rotateKeyOnDemand(ctx, keyRef);
  }

  listKeyRotations(
    ctx: CallContext,
    keyRef: string,
    includeKeyMaterial: string | undefined,
    limit?: number,
    marker?: string,
  ): Promise<{ key: Key; page: Page<Material> }> {
    return this.ops.rotation.listKeyRotations(ctx, keyRef, includeKeyMaterial, limit, marker);
  }

  // ---- policies -----------------------------------------------------------------------------------

  getKeyPolicy(ctx: CallContext, keyRef: string, policyName?: string): Promise<string> {
    return this.ops.policies.getKeyPolicy(ctx, keyRef, policyName);
  }

  putKeyPolicy(ctx: CallContext, keyRef: string, policy: string, policyName?: string): Promise<void> {
    return this.ops.policies.putKeyPolicy(ctx, keyRef, policy, policyName);
  }

  listKeyPolicies(ctx: CallContext, keyRef: string): Promise<string[]> {
    return this.ops.policies.listKeyPolicies(ctx, keyRef);
  }

  // ---- imported key material ----------------------------------------------------------------------

  getParametersForImport(
    ctx: CallContext,
    input: { keyId: string; wrappingAlgorithm: string; wrappingKeySpec: string },
  ): Promise<{ key: Key; importToken: Buffer; publicKey: Buffer; parametersValidTo: number }> {
    return this.ops.imports.getParametersForImport(ctx, input);
  }

  importKeyMaterial(ctx: CallContext, input: ImportKeyMaterialInput): Promise<{ key: Key; materialId: string }> {
    return this.ops.imports.importKeyMaterial(ctx, input);
  }

  deleteImportedKeyMaterial(ctx: CallContext, input: { keyId: string; keyMaterialId?: string }): Promise<{ key: Key; materialId?: string }> {
    return this.ops.imports.deleteImportedKeyMaterial(ctx, input);
  }

  // ---- custom key stores, and the HSMs behind them -----------------------------------------------------

  createCustomKeyStore(ctx: CallContext, input: CreateCustomKeyStoreInput): Promise<string> {
    return this.ops.customKeyStores.create(ctx, input);
  }

  describeCustomKeyStores(ctx: CallContext, input: { customKeyStoreId?: string; customKeyStoreName?: string; limit?: number; marker?: string }): Promise<Page<CustomKeyStoreView>> {
    return this.ops.customKeyStores.describe(ctx, input);
  }

  updateCustomKeyStore(ctx: CallContext, input: UpdateCustomKeyStoreInput): Promise<void> {
    return this.ops.customKeyStores.update(ctx, input);
  }

  connectCustomKeyStore(ctx: CallContext, id: string): Promise<void> {
    return this.ops.customKeyStores.connect(ctx, id);
  }

  disconnectCustomKeyStore(ctx: CallContext, id: string): Promise<void> {
    return this.ops.customKeyStores.disconnect(ctx, id);
  }

  deleteCustomKeyStore(ctx: CallContext, id: string): Promise<void> {
    return this.ops.customKeyStores.delete(ctx, id);
  }

  /** The HSM ID (CloudHsmClusterId) behind a key in an AWS_CLOUDHSM key store, for its KeyMetadata. */
  cloudHsmClusterIdOf(k: Pick<Key, 'customKeyStoreId'>): Promise<string | undefined> {
    return this.ops.customKeyStores.cloudHsmClusterIdOf(k.customKeyStoreId);
  }

  /** After unsealing: reconnects the custom key stores that were connected. */
  reconnectCustomKeyStores(): Promise<void> {
    return this.ops.customKeyStores.reopenConnected();
  }

  registerHsm(op: OperatorCall, config: HsmTokenConfig, checkPin?: string): Promise<{ hsm: HsmRecord; token: HsmTokenInfo }> {
    return this.ops.hsms.registerHsm(op, config, checkPin);
  }

  listHsms(): Promise<HsmRecord[]> {
    return this.ops.hsms.listHsms();
  }

  testHsm(id: string): Promise<HsmTokenInfo> {
    return this.ops.hsms.testHsm(id);
  }

  removeHsm(op: OperatorCall, id: string): Promise<void> {
    return this.ops.hsms.removeHsm(op, id);
  }

  /** The secret keys on a connected AWS_CLOUDHSM store's token, and what uses each (`kura hsm keys`). */
  listHsmTokenKeys(op: OperatorCall, customKeyStoreId: string): Promise<TokenKeysListing> {
    return this.ops.tokenKeys.list(op, customKeyStoreId);
  }

  /** The secret keys on an HSM's token, through a live login of Kura's on it (`kura hsm keys --hsm`). */
  listHsmTokenKeysOnHsm(op: OperatorCall, hsmId: string): Promise<TokenKeysListing> {
    return this.ops.tokenKeys.listOnHsm(op, hsmId);
  }
}
