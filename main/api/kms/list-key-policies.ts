// TrentService.ListKeyPolicies
import type { KmsHandler } from './handler.js';

export const listKeyPolicies: KmsHandler = async ({ kms }, ctx, input) => ({
  PolicyNames: await kms.listKeyPolicies(ctx, input.KeyId as string),
  Truncated: false,
});
