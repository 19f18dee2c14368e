// Recipient (a Nitro Enclaves or NitroTPM attestation document) through the unchanged
// @aws-sdk/client-kms against a real dev-mode `kura serve`. A caller who sends it asks AWS KMS to encrypt
// the plaintext to the attested environment's key (CiphertextForRecipient) and to leave Plaintext empty.
// Kura verifies no attestation, so every operation whose input has Recipient in the AWS API model must
// refuse it (ValidationException) rather than answer the plaintext in the clear.
import { generateKeyPairSync } from 'node:crypto';
import {
  CreateKeyCommand,
  DecryptCommand,
  DeriveSharedSecretCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GenerateDataKeyPairCommand,
  GenerateRandomCommand,
  type KMSClient,
  type RecipientInfo,
} from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKmsModel } from '../../main/api/kms/model/validate.js';
import { kmsClient } from '../support/kms-client.js';
import { startKura, type KuraProcess } from '../support/kura-process.js';

let kura: KuraProcess;
let kms: KMSClient;
let symmetric: string;
let agreement: string;
let ciphertext: Uint8Array;

const RECIPIENT: RecipientInfo = { KeyEncryptionAlgorithm: 'RSAES_OAEP_SHA_256', AttestationDocument: Buffer.from('not an attestation document') };
const peer = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'der', type: 'spki' });

/** One call per operation whose input has Recipient: sent as given, with or without it. */
const CALLS: Record<string, (recipient: RecipientInfo | undefined) => Promise<object>> = {
  Decrypt: (Recipient) => kms.send(new DecryptCommand({ CiphertextBlob: ciphertext, Recipient })),
  GenerateDataKey: (Recipient) => kms.send(new GenerateDataKeyCommand({ KeyId: symmetric, KeySpec: 'AES_256', Recipient })),
  GenerateDataKeyPair: (Recipient) => kms.send(new GenerateDataKeyPairCommand({ KeyId: symmetric, KeyPairSpec: 'ECC_NIST_P256', Recipient })),
  GenerateRandom: (Recipient) => kms.send(new GenerateRandomCommand({ NumberOfBytes: 32, Recipient })),
  DeriveSharedSecret: (Recipient) => kms.send(new DeriveSharedSecretCommand({ KeyId: agreement, KeyAgreementAlgorithm: 'ECDH', PublicKey: peer, Recipient })),
};

beforeAll(async () => {
  kura = await startKura();
  kms = kmsClient(kura);
  symmetric = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
  agreement = (await kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'KEY_AGREEMENT' }))).KeyMetadata!.KeyId!;
  ciphertext = (await kms.send(new EncryptCommand({ KeyId: symmetric, Plaintext: Buffer.from('for an enclave only') }))).CiphertextBlob!;
});

afterAll(async () => {
  kms?.destroy();
  await kura?.stop();
});

describe('Recipient', () => {
  it('is covered here for every operation whose input has it in the AWS API model', () => {
    const model = loadKmsModel();
    const withRecipient = Object.entries(model.operations)
      .filter(([, op]) => op.input !== undefined && model.shapes[op.input.shape]?.members?.Recipient !== undefined)
      .map(([name]) => name);
    expect(withRecipient.sort()).toEqual(Object.keys(CALLS).sort());
  });

  for (const [operation, call] of Object.entries(CALLS)) {
    it(`${operation} with Recipient is ValidationException and answers no plaintext; without it, the same call succeeds`, async () => {
      const refused = await call(RECIPIENT).then(
        (out) => ({ name: 'ok', out }),
        (e: Error) => ({ name: e.name, out: undefined }),
      );
      expect(refused.out, `${operation} answered ${Object.keys(refused.out ?? {}).join(', ')}`).toBeUndefined();
      expect(refused.name).toBe('ValidationException');
      await expect(call(undefined)).resolves.toBeDefined();
    });
  }
});
