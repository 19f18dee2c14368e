// TrentService.ListKeyPolicies
import type { KmsHandler } from './handler.js';

export const listKeyPolicies: KmsHandler = async ({ keys }, ctx, input) => ({
  PolicyNames: await keys.listKeyPolicies(ctx, input.KeyId as string),
  Truncated: false,
});
