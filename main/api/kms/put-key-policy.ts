// TrentService.PutKeyPolicy
import { str, type KmsHandler } from './handler.js';

export const putKeyPolicy: KmsHandler = async ({ keys }, ctx, input) => {
  await keys.putKeyPolicy(ctx, input.KeyId as string, input.Policy as string, str(input.PolicyName));
  return {};
};
