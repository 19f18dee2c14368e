// TrentService.GetKeyPolicy
import { str, type KmsHandler } from './handler.js';

export const getKeyPolicy: KmsHandler = async ({ kms }, ctx, input) => ({
  Policy: await kms.getKeyPolicy(ctx, input.KeyId as string, str(input.PolicyName)),
  PolicyName: 'default',
});
