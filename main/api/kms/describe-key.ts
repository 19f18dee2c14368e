// TrentService.DescribeKey
import { keyMetadata } from './shapes.js';
import type { KmsHandler } from './handler.js';

export const describeKey: KmsHandler = async ({ kms }, ctx, input) => {
  const k = await kms.describeKey(ctx, input.KeyId as string);
  return { KeyMetadata: keyMetadata(kms, k, await kms.cloudHsmClusterIdOf(k)) };
};
