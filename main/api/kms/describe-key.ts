// TrentService.DescribeKey
import { keyMetadata } from './shapes.js';
import type { KmsHandler } from './handler.js';

export const describeKey: KmsHandler = async ({ kms }, ctx, input) => ({
  KeyMetadata: keyMetadata(kms, await kms.describeKey(ctx, input.KeyId as string)),
});
