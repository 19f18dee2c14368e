// TrentService.GetKeyPolicy
import { str, type KmsHandler } from './handler.js';

export const getKeyPolicy: KmsHandler = async ({ keys }, ctx, input) => ({
  Policy: await keys.getKeyPolicy(ctx, input.KeyId as string, str(input.PolicyName)),
  PolicyName: 'default',
});
