// Domain records → AWS response shapes. AWS PascalCase starts here.
import { algorithmsForKey, type KeySpec, type KeyUsage } from '../../crypto/asymmetric/index.js';
import type { Key, Kms } from '../../kms/index.js';
import { loadKmsModel } from './model/validate.js';

let legacySpecs: ReadonlySet<string> | undefined;
/**
 * CustomerMasterKeySpec (deprecated) has no value for the key specs added since it was (ML-DSA,
 * Ed25519 …): it is left out for those rather than answered with a value outside its enum.
 */
export const customerMasterKeySpecOf = (spec: string): string | undefined =>
  (legacySpecs ??= new Set(loadKmsModel().shapes.CustomerMasterKeySpec?.enum ?? [])).has(spec) ? spec : undefined;

/** The algorithm lists of a key, as KeyMetadata and GetPublicKey name them. */
export function keyAlgorithms(k: Key): Record<string, readonly string[] | undefined> {
  if (k.keySpec === 'SYMMETRIC_DEFAULT') return { EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'] };
  const a = algorithmsForKey(k.keySpec as KeySpec, k.keyUsage as KeyUsage);
  return {
    EncryptionAlgorithms: a.encryptionAlgorithms,
    SigningAlgorithms: a.signingAlgorithms,
    MacAlgorithms: a.macAlgorithms,
    KeyAgreementAlgorithms: a.keyAgreementAlgorithms,
  };
}

/** KeyMetadata; `cloudHsmClusterId` for a key in an AWS_CLOUDHSM key store (Kms.cloudHsmClusterIdOf). */
export function keyMetadata(kms: Kms, k: Key, cloudHsmClusterId?: string): Record<string, unknown> {
  return {
    AWSAccountId: k.accountId,
    KeyId: k.keyId,
    Arn: kms.arnOf(k),
    CreationDate: new Date(k.createdAt),
    Enabled: k.state === 'Enabled',
    Description: k.description,
    KeyUsage: k.keyUsage,
    KeyState: k.state,
    DeletionDate: k.deletionAt === null ? undefined : new Date(k.deletionAt),
    ValidTo: k.validTo === null ? undefined : new Date(k.validTo),
    ExpirationModel: k.origin === 'EXTERNAL' ? (k.expirationModel ?? undefined) : undefined,
    Origin: k.origin,
    CustomKeyStoreId: k.customKeyStoreId ?? undefined,
    CloudHsmClusterId: cloudHsmClusterId,
    XksKeyConfiguration: k.xksKeyId === null ? undefined : { Id: k.xksKeyId },
    KeyManager: 'CUSTOMER',
    CustomerMasterKeySpec: customerMasterKeySpecOf(k.keySpec),
    KeySpec: k.keySpec,
    ...keyAlgorithms(k),
    MultiRegion: false,
    // PendingDeletionWindowInDays is the model's for a multi-Region replica pending deletion only; a
    // single-Region key pending deletion shows its DeletionDate (Kura has no multi-Region keys).
    // AWS names the current material of the keys that rotate only: symmetric encryption keys of origin
    // AWS_KMS or EXTERNAL (KeyMetadata's reference), not those in a custom key store.
    CurrentKeyMaterialId: k.keySpec === 'SYMMETRIC_DEFAULT' && (k.origin === 'AWS_KMS' || k.origin === 'EXTERNAL') ? (k.currentMaterialId ?? undefined) : undefined,
  };
}

export const tagsIn = (tags: unknown): { tagKey: string; tagValue: string }[] =>
  ((tags as { TagKey: string; TagValue: string }[] | undefined) ?? []).map((t) => ({ tagKey: t.TagKey, tagValue: t.TagValue }));
