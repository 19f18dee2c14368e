// The TrentService actions Kura serves, by X-Amz-Target action name.
import type { KmsHandler } from './handler.js';
import { cancelKeyDeletion } from './cancel-key-deletion.js';
import { connectCustomKeyStore } from './connect-custom-key-store.js';
import { createCustomKeyStore } from './create-custom-key-store.js';
import { deleteCustomKeyStore } from './delete-custom-key-store.js';
import { describeCustomKeyStores } from './describe-custom-key-stores.js';
import { disconnectCustomKeyStore } from './disconnect-custom-key-store.js';
import { updateCustomKeyStore } from './update-custom-key-store.js';
import { createAlias } from './create-alias.js';
import { createKey } from './create-key.js';
import { decrypt } from './decrypt.js';
import { deleteImportedKeyMaterial } from './delete-imported-key-material.js';
import { getParametersForImport } from './get-parameters-for-import.js';
import { importKeyMaterial } from './import-key-material.js';
import { deriveSharedSecret } from './derive-shared-secret.js';
import { generateDataKeyPair, generateDataKeyPairWithoutPlaintext } from './generate-data-key-pair.js';
import { generateMac } from './generate-mac.js';
import { getPublicKey } from './get-public-key.js';
import { sign } from './sign.js';
import { verify } from './verify.js';
import { verifyMac } from './verify-mac.js';
import { deleteAlias } from './delete-alias.js';
import { describeKey } from './describe-key.js';
import { disableKey } from './disable-key.js';
import { disableKeyRotation } from './disable-key-rotation.js';
import { enableKey } from './enable-key.js';
import { enableKeyRotation } from './enable-key-rotation.js';
import { encrypt } from './encrypt.js';
import { generateDataKey } from './generate-data-key.js';
import { generateDataKeyWithoutPlaintext } from './generate-data-key-without-plaintext.js';
import { generateRandom } from './generate-random.js';
import { getKeyPolicy } from './get-key-policy.js';
import { getKeyRotationStatus } from './get-key-rotation-status.js';
import { listAliases } from './list-aliases.js';
import { listKeyPolicies } from './list-key-policies.js';
import { listKeyRotations } from './list-key-rotations.js';
import { listKeys } from './list-keys.js';
import { listResourceTags } from './list-resource-tags.js';
import { putKeyPolicy } from './put-key-policy.js';
import { reEncrypt } from './re-encrypt.js';
import { rotateKeyOnDemand } from './rotate-key-on-demand.js';
import { scheduleKeyDeletion } from './schedule-key-deletion.js';
import { tagResource } from './tag-resource.js';
import { untagResource } from './untag-resource.js';
import { updateAlias } from './update-alias.js';
import { updateKeyDescription } from './update-key-description.js';

export const KMS_HANDLERS: Readonly<Record<string, KmsHandler>> = {
  CancelKeyDeletion: cancelKeyDeletion,
  ConnectCustomKeyStore: connectCustomKeyStore,
  CreateAlias: createAlias,
  CreateCustomKeyStore: createCustomKeyStore,
  CreateKey: createKey,
  Decrypt: decrypt,
  DeriveSharedSecret: deriveSharedSecret,
  DeleteAlias: deleteAlias,
  DeleteCustomKeyStore: deleteCustomKeyStore,
  DeleteImportedKeyMaterial: deleteImportedKeyMaterial,
  DescribeCustomKeyStores: describeCustomKeyStores,
  DescribeKey: describeKey,
  DisableKey: disableKey,
  DisableKeyRotation: disableKeyRotation,
  DisconnectCustomKeyStore: disconnectCustomKeyStore,
  EnableKey: enableKey,
  EnableKeyRotation: enableKeyRotation,
  Encrypt: encrypt,
  GenerateDataKey: generateDataKey,
  GenerateDataKeyPair: generateDataKeyPair,
  GenerateDataKeyPairWithoutPlaintext: generateDataKeyPairWithoutPlaintext,
  GenerateDataKeyWithoutPlaintext: generateDataKeyWithoutPlaintext,
  GenerateMac: generateMac,
  GenerateRandom: generateRandom,
  GetKeyPolicy: getKeyPolicy,
  GetKeyRotationStatus: getKeyRotationStatus,
  GetParametersForImport: getParametersForImport,
  GetPublicKey: getPublicKey,
  ImportKeyMaterial: importKeyMaterial,
  ListAliases: listAliases,
  ListKeyPolicies: listKeyPolicies,
  ListKeyRotations: listKeyRotations,
  ListKeys: listKeys,
  ListResourceTags: listResourceTags,
  PutKeyPolicy: putKeyPolicy,
  ReEncrypt: reEncrypt,
  RotateKeyOnDemand: rotateKeyOnDemand,
  ScheduleKeyDeletion: scheduleKeyDeletion,
  Sign: sign,
  TagResource: tagResource,
  UntagResource: untagResource,
  UpdateAlias: updateAlias,
  UpdateCustomKeyStore: updateCustomKeyStore,
  UpdateKeyDescription: updateKeyDescription,
  Verify: verify,
  VerifyMac: verifyMac,
};
