// TrentService.DescribeKey
import { keyMetadata } from './shapes.js';
import type { KmsHandler } from './handler.js';

export const describeKey: KmsHandler = async ({ keys }, ctx, input) => ({
  KeyMetadata: keyMetadata(keys, await keys.describeKey(ctx, input.KeyId as string)),
});
