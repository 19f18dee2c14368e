// TrentService.ReEncrypt
import { bool, ctxOf, str, type KmsHandler } from './handler.js';

export const reEncrypt: KmsHandler = async ({ kms }, ctx, input) => {
  const r = await kms.reEncrypt(ctx, {
    ciphertextBlob: input.CiphertextBlob as Buffer | undefined,
    sourceEncryptionContext: ctxOf(input.SourceEncryptionContext),
    sourceKeyId: str(input.SourceKeyId),
    destinationKeyId: input.DestinationKeyId as string,
    destinationEncryptionContext: ctxOf(input.DestinationEncryptionContext),
    sourceEncryptionAlgorithm: str(input.SourceEncryptionAlgorithm),
    destinationEncryptionAlgorithm: str(input.DestinationEncryptionAlgorithm),
    dryRun: bool(input.DryRun),
    dryRunModifiers: input.DryRunModifiers as string[] | undefined,
  });
  return {
    CiphertextBlob: r.ciphertextBlob,
    SourceKeyId: kms.arnOf(r.source),
    KeyId: kms.arnOf(r.destination),
    SourceEncryptionAlgorithm: r.sourceAlgorithm,
    DestinationEncryptionAlgorithm: r.destinationAlgorithm,
    SourceKeyMaterialId: r.source.keySpec === 'SYMMETRIC_DEFAULT' ? r.sourceMaterialId : undefined,
    DestinationKeyMaterialId: r.destination.keySpec === 'SYMMETRIC_DEFAULT' ? r.destinationMaterialId : undefined,
  };
};
