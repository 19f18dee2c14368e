// TrentService.GetParametersForImport
import type { KmsHandler } from './handler.js';

export const getParametersForImport: KmsHandler = async ({ kms }, ctx, input) => {
  const r = await kms.getParametersForImport(ctx, {
    keyId: input.KeyId as string,
    wrappingAlgorithm: input.WrappingAlgorithm as string,
    wrappingKeySpec: input.WrappingKeySpec as string,
  });
  return { KeyId: kms.arnOf(r.key), ImportToken: r.importToken, PublicKey: r.publicKey, ParametersValidTo: new Date(r.parametersValidTo) };
};
