// TrentService.PutKeyPolicy
import { str, type KmsHandler } from './handler.js';

export const putKeyPolicy: KmsHandler = async ({ kms }, ctx, input) => {
  await kms.putKeyPolicy(ctx, input.KeyId as string, input.Policy as string, str(input.PolicyName));
  return {};
};
